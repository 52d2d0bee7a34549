/* The vocabulary of the text outputs and the live view: sizes, counts, durations, contexts. Pure. */
import { ContextKey, CONTEXTS } from '../abi/layout';

export function bytes(n: number): string {
  if (!Number.isFinite(n)) return '?';
  const sign = n < 0 ? '-' : '';
  let v = Math.abs(n);
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB', 'EiB'];
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return sign + (u === 0 ? `${v}${units[0]}` : `${v.toFixed(v < 10 ? 1 : 0)}${units[u]}`);
}

/*
 * A duration given in nanoseconds: "1.25 s", "12 ms", "0.48 ms";
 * compact (the live view's narrow columns): "1.3s", "12ms".
 */
export function duration(ns: number, compact = false): string {
  if (!Number.isFinite(ns)) return '?';
  const sep = compact ? '' : ' ';
  if (ns >= 1e9) return `${(ns / 1e9).toFixed(compact ? 1 : 2)}${sep}s`;
  return `${(ns / 1e6).toFixed(ns < 1e7 ? 2 : 0)}${sep}ms`;
}

/* How each event context is named in text (the JSON keys are CONTEXTS' keys). */
export const CONTEXT_LABELS: Record<ContextKey, string> = {
  task: 'task',
  taskBh: 'task-bh',
  softirq: 'softirq',
  hardirq: 'hardirq',
  nmi: 'nmi',
  unknown: 'unknown',
};

/* Counts by context, as text: "task 12, softirq 3" ("unknown" only when some are). */
export function byContext(b: Record<ContextKey, number>, fmt: (n: number) => string): string {
  return CONTEXTS.filter((c) => c.key !== 'unknown' || b.unknown > 0)
    .map((c) => `${CONTEXT_LABELS[c.key]} ${fmt(b[c.key])}`)
    .join(', ');
}

export function count(n: number): string {
  return Number.isFinite(n) ? n.toLocaleString('en-US') : '?';
}

/*
 * Text from outside (names read from a report file, a task's comm) made safe
 * for a terminal: control characters (C0, DEL, C1: ESC and CSI/OSC openers
 * among them) become \xNN, so no byte of a crafted name reaches the
 * terminal as a control sequence.  Pure.
 */
export function printable(s: string): string {
  return /[\u0000-\u001f\u007f-\u009f]/.test(s)
    ? s.replace(/[\u0000-\u001f\u007f-\u009f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)
    : s;
}

export function pad(s: string, width: number, right = true): string {
  if (s.length >= width) return s;
  return right ? s.padStart(width) : s.padEnd(width);
}

/* Render rows as aligned columns; `align` says per column whether to right-align.  Cells are made printable. */
export function table(header: string[], rawRows: string[][], align: boolean[]): string[] {
  const rows = rawRows.map((r) => r.map(printable));
  /* A loop, not Math.max(...rows): hundreds of thousands of rows overflow the call stack. */
  const widths = header.map((h) => h.length);
  for (const r of rows) for (let i = 0; i < widths.length; i++) if (r[i].length > widths[i]) widths[i] = r[i].length;
  const line = (cells: string[]) =>
    cells
      .map((c, i) => (i === cells.length - 1 && !align[i] ? c : pad(c, widths[i], align[i])))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)];
}
