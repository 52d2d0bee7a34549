/*
 * Output formats: every document kmemtop writes has a renderer per format
 * it supports, chosen by --format (--json is its alias).  The next formats
 * (pprof, OpenMetrics) are added here and in the renderers.
 */
import { KmemtopError } from '../errors';

export const FORMATS = ['text', 'json', 'folded'] as const;
export type Format = (typeof FORMATS)[number];

/* What a folded-stack line is weighted by: live bytes (default), allocations, or allocated bytes. */
export const WEIGHTS = ['liveBytes', 'allocs', 'bytes'] as const;
export type Weight = (typeof WEIGHTS)[number];

export interface RenderOptions {
  weight: Weight;
}

export type Renderer<D> = Partial<Record<Format, (doc: D, opts: RenderOptions) => string>>;

/* The document in the format asked for; a format the document has no renderer for is a usage error. */
export function renderAs<D>(renderer: Renderer<D>, doc: D, format: Format, opts: RenderOptions = { weight: 'liveBytes' }): string {
  const r = renderer[format];
  if (!r) {
    const has = (Object.keys(renderer) as Format[]).join(', ');
    throw new KmemtopError(`kmemtop: --format ${format} is not available here (this command writes ${has})`, 2);
  }
  return r(doc, opts);
}
