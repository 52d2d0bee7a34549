/* The diff document, as JSON and as a text table (pure). */
import { DiffRow, DiffTotals, GATE_LOSSES } from '../model/diff';
import type { LiveLossKey } from '../model/snapshot';
import { lostLine, ReportDocument } from './report';
import { bytes, count, printable, table } from './format';
import type { Renderer } from './formats';
import { formatSymbol } from '../sys/kallsyms';
import { cacheLabel } from '../sys/slabaliases';

export interface DiffSide {
  file: string;
  kernel: string;
  hostname: string;
  time: string;
  /* Sites the report left out (--top): the diff cannot see them. */
  sitesMissing: number;
  /* The report's losses by cause (model/diff.ts GATE_LOSSES; absent in reports of older versions: 0). */
  losses: Record<LiveLossKey, number>;
  /* How far the report's live figures can be trusted (reports of older versions: null). */
  accuracy: {
    approximate: boolean;
    phantomObjects: number;
    upperBoundSites: number;
    maxLiveObjectsError: number;
    sweep: 'on' | 'off' | 'unknown';
  } | null;
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
  const acc = d.accuracy as Partial<ReportDocument['accuracy']> | undefined;
  return {
    file,
    kernel: d.kernel,
    hostname: d.hostname,
    time: d.window.end,
    sitesMissing: Math.max(0, d.totals.sites - d.sites.length),
    losses: Object.fromEntries(GATE_LOSSES.map((k) => [k, (d.lost as Partial<Record<string, number>> | undefined)?.[k] ?? 0])) as DiffSide['losses'],
    accuracy: acc
      ? {
          approximate: acc.approximate === true,
          phantomObjects: acc.phantomObjects ?? d.totals.phantomObjects ?? 0,
          upperBoundSites: acc.upperBoundSites ?? 0,
          maxLiveObjectsError: acc.maxLiveObjectsError ?? 0,
          sweep: acc.sweep ?? 'unknown',
        }
      : null,
  };
}

function accuracyText(s: DiffSide): string {
  const a = s.accuracy;
  const lost = lostLine(s.losses);
  if (!a) return `${s.file}: accuracy not recorded${lost !== 'lost events: none' ? `; ${lost}` : ''}`;
  const parts = [
    a.phantomObjects ? `${count(a.phantomObjects)} phantom objects (${count(a.upperBoundSites)} sites are upper bounds)` : 'no phantom objects',
    a.maxLiveObjectsError ? `off by at most ${count(a.maxLiveObjectsError)} objects` : 'exact',
    `sweep ${a.sweep}`,
  ];
  if (lost !== 'lost events: none') parts.push(lost);
  return `${s.file}: ${parts.join('; ')}`;
}

/* --by-stack: the callers after the site, the first few (the JSON has them all). */
const STACK_FRAMES_SHOWN = 6;
function stackText(stack: string[] | undefined): string {
  if (!stack) return '';
  const shown = stack.slice(0, STACK_FRAMES_SHOWN).join(' <- ');
  return ` <- ${shown || '(no caller frames)'}${stack.length > STACK_FRAMES_SHOWN ? ' <- ...' : ''}`;
}

function signed(n: number, fmt: (x: number) => string): string {
  return n > 0 ? `+${fmt(n)}` : n < 0 ? `-${fmt(-n)}` : '0';
}

export function renderDiffText(doc: DiffDocument): string {
  const header = [
    `kmemtop diff: ${doc.before.file} (${doc.before.time}, Linux ${doc.before.kernel}) -> ${doc.after.file} (${doc.after.time}, Linux ${doc.after.kernel})`,
    `live bytes ${signed(doc.totals.liveBytesDelta, bytes)}, live objects ${signed(doc.totals.liveObjectsDelta, count)}, ` +
      `allocations ${signed(doc.totals.allocsDelta, count)}; grew ${bytes(doc.totals.growthBytes)} for certain` +
      (doc.totals.reclaimableGrowthBytes ? `, ${bytes(doc.totals.reclaimableGrowthBytes)} in reclaimable caches (dentries, inodes: freed under pressure)` : '') +
      (doc.totals.uncertainGrowthBytes ? `, ${bytes(doc.totals.uncertainGrowthBytes)} more within phantom bounds (uncertain)` : ''),
    `accuracy: ${accuracyText(doc.before)}`,
    `          ${accuracyText(doc.after)}`,
  ];
  const lines = header.map(printable);
  for (const s of [doc.before, doc.after]) {
    if (s.sitesMissing) lines.push(printable(`warning: ${s.file} leaves out ${count(s.sitesMissing)} sites (written with --top): write it with --top 0`));
  }
  lines.push('');
  const rows = table(
    ['LIVE BYTES', 'LIVE OBJS', 'ALLOCS', 'STATUS', 'CACHE', 'SITE'],
    doc.rows.map((r) => [
      signed(r.liveBytesDelta, bytes),
      signed(r.liveObjectsDelta, count),
      signed(r.allocsDelta, count),
      r.status === 'changed' && r.reclaimable && r.liveObjectsDelta > 0 ? 'reclaimable' : r.status,
      cacheLabel(r.cache, r.function, r.cacheAliases, r.stack),
      formatSymbol({ function: r.function, offset: 0, module: r.module }).replace('+0x0', '') + stackText(r.stack),
    ]),
    [true, true, true, false, false, false],
  );
  /* A loop, not push(...rows): a diff of every site can hold hundreds of thousands. */
  for (const row of rows) lines.push(row);
  return lines.join('\n') + '\n';
}

export function renderDiffJson(doc: DiffDocument): string {
  return JSON.stringify(doc, null, 2) + '\n';
}

/* The diff document in each format (output/formats.ts). */
export const diffRenderer: Renderer<DiffDocument> = { text: renderDiffText, json: renderDiffJson };
