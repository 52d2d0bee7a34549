/* The diff document, as JSON and as a text table (pure). */
import type { DiffRow, DiffTotals } from '../model/diff';
import type { ReportDocument } from './report';
import { bytes, count, table } from './format';
import { formatSymbol } from '../sys/kallsyms';

export interface DiffSide {
  file: string;
  kernel: string;
  hostname: string;
  time: string;
  /* Sites the report left out (--top): the diff cannot see them. */
  sitesMissing: number;
}

export interface DiffDocument {
  tool: 'kmemtop';
  schemaVersion: number;
  kind: 'diff';
  before: DiffSide;
  after: DiffSide;
  totals: DiffTotals;
  rows: DiffRow[];
}

export function side(file: string, d: ReportDocument): DiffSide {
  return { file, kernel: d.kernel, hostname: d.hostname, time: d.window.end, sitesMissing: Math.max(0, d.totals.sites - d.sites.length) };
}

function signed(n: number, fmt: (x: number) => string): string {
  return n > 0 ? `+${fmt(n)}` : n < 0 ? `-${fmt(-n)}` : '0';
}

export function renderDiffText(doc: DiffDocument): string {
  const lines = [
    `kmemtop diff: ${doc.before.file} (${doc.before.time}, Linux ${doc.before.kernel}) -> ${doc.after.file} (${doc.after.time}, Linux ${doc.after.kernel})`,
    `live bytes ${signed(doc.totals.liveBytesDelta, bytes)}, live objects ${signed(doc.totals.liveObjectsDelta, count)}, ` +
      `allocations ${signed(doc.totals.allocsDelta, count)}; grew ${bytes(doc.totals.growthBytes)}`,
  ];
  for (const s of [doc.before, doc.after]) {
    if (s.sitesMissing) lines.push(`warning: ${s.file} leaves out ${count(s.sitesMissing)} sites (written with --top): write it with --top 0`);
  }
  lines.push('');
  lines.push(
    ...table(
      ['LIVE BYTES', 'LIVE OBJS', 'ALLOCS', 'STATUS', 'CACHE', 'SITE'],
      doc.rows.map((r) => [
        signed(r.liveBytesDelta, bytes),
        signed(r.liveObjectsDelta, count),
        signed(r.allocsDelta, count),
        r.status,
        r.cache,
        formatSymbol({ function: r.function, offset: 0, module: r.module }).replace('+0x0', ''),
      ]),
      [true, true, true, false, false, false],
    ),
  );
  return lines.join('\n') + '\n';
}

export function renderDiffJson(doc: DiffDocument): string {
  return JSON.stringify(doc, null, 2) + '\n';
}
