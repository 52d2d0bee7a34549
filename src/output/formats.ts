/*
 * Output formats: every document kmemtop writes has one renderer per
 * format, chosen by --format (--json is its alias).  The next formats
 * (folded stacks, pprof, OpenMetrics) are added here and in the renderers.
 */
export const FORMATS = ['text', 'json'] as const;
export type Format = (typeof FORMATS)[number];

export type Renderer<D> = Record<Format, (doc: D) => string>;

export function renderAs<D>(renderer: Renderer<D>, doc: D, format: Format): string {
  return renderer[format](doc);
}
