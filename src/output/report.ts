/*
 * The document `record` and `snapshot` produce, as JSON (stable, versioned:
 * see README "JSON output") and as a text table. Pure.
 */
import { Snapshot, Site, SortKey, sortSites } from '../model/snapshot';
import { bytes, count, table } from './format';
import { formatSymbol } from '../sys/kallsyms';
import { ByContext, CONTEXTS, sumContexts } from '../abi/layout';

export interface ReportMeta {
  kind: 'record' | 'snapshot';
  kernel: string;
  hostname: string;
  command?: string[];
  exitCode?: number | null;
  signal?: string | null;
}

export interface ReportOptions {
  sort: SortKey;
  /* Number of sites to include; 0 = all. */
  top: number;
}

export interface ReportDocument {
  tool: 'kmemtop';
  schemaVersion: number;
  kind: ReportMeta['kind'];
  kernel: string;
  hostname: string;
  command?: string[];
  exitCode?: number | null;
  signal?: string | null;
  window: Snapshot['window'];
  contextSource: Snapshot['contextSource'];
  sort: SortKey;
  totals: Snapshot['totals'];
  lost: Snapshot['lost'];
  accuracy: Snapshot['accuracy'];
  caches: Snapshot['caches'];
  counters: Snapshot['counters'];
  programs: Snapshot['programs'];
  recursion: Snapshot['recursion'];
  maps: Snapshot['maps'];
  sitesShown: number;
  sites: Site[];
}

export function toDocument(snap: Snapshot, meta: ReportMeta, opts: ReportOptions): ReportDocument {
  const sorted = sortSites(snap.sites, opts.sort);
  const sites = opts.top > 0 ? sorted.slice(0, opts.top) : sorted;
  const doc: ReportDocument = {
    tool: 'kmemtop',
    schemaVersion: snap.schemaVersion,
    kind: meta.kind,
    kernel: meta.kernel,
    hostname: meta.hostname,
    window: snap.window,
    contextSource: snap.contextSource,
    sort: opts.sort,
    totals: snap.totals,
    lost: snap.lost,
    accuracy: snap.accuracy,
    caches: snap.caches,
    counters: snap.counters,
    programs: snap.programs,
    recursion: snap.recursion,
    maps: snap.maps,
    sitesShown: sites.length,
    sites,
  };
  if (meta.command) {
    doc.command = meta.command;
    doc.exitCode = meta.exitCode ?? null;
    doc.signal = meta.signal ?? null;
  }
  return doc;
}

export function renderJson(doc: ReportDocument): string {
  return JSON.stringify(doc, null, 2) + '\n';
}

export const siteLabel: (s: Site) => string = formatSymbol;

/* Frees in softirq, hardirq or NMI context, as a share of all frees (0..1). */
export function interruptShare(b: ByContext): number {
  const all = sumContexts(b);
  return all === 0 ? 0 : (b.softirq + b.hardirq + b.nmi) / all;
}

function contextLine(label: string, b: ByContext, source: ReportDocument['contextSource']): string {
  if (source === 'unknown') return `${label} by context: unknown on this kernel (${count(b.unknown)})`;
  const parts = CONTEXTS.filter((c) => c.key !== 'unknown' || b.unknown > 0).map((c) => `${CONTEXT_LABELS[c.key]} ${count(b[c.key])}`);
  return `${label} by context: ${parts.join(', ')}`;
}

export const CONTEXT_LABELS: Record<keyof ByContext, string> = {
  task: 'task',
  taskBh: 'task-bh',
  softirq: 'softirq',
  hardirq: 'hardirq',
  nmi: 'nmi',
  unknown: 'unknown',
};

/* Header lines: window, totals, losses.  Shared by every text view. */
export function headerLines(
  doc: Pick<ReportDocument, 'window' | 'totals' | 'lost' | 'accuracy' | 'counters' | 'contextSource'>,
): string[] {
  const t = doc.totals;
  const l = doc.lost;
  const lines = [
    `traced ${(doc.window.durationMs / 1000).toFixed(2)} s: ${count(t.allocs)} allocations, ${count(t.frees)} frees, ` +
      `${count(t.liveObjects)} live objects (${bytes(t.liveBytes)}) at ${count(t.sites)} call sites`,
  ];
  const losses: [string, number][] = [
    ['recursion misses', l.recursionMisses],
    ['sites map full', l.sitesFull],
    ['live map full', l.liveFull],
    ['live map update failed', l.liveUpdateFailed],
    ['site missing', l.siteMissing],
  ];
  lines.push(contextLine('frees', t.freesByContext, doc.contextSource));
  const nonZero = losses.filter(([, n]) => n > 0);
  lines.push(
    nonZero.length === 0
      ? 'lost events: none'
      : `lost events: ${nonZero.map(([w, n]) => `${w} ${count(n)}`).join(', ')}`,
  );
  if (doc.accuracy.approximate) {
    lines.push(`live figures are approximate: off by at most ${count(doc.accuracy.maxLiveObjectsError)} objects`);
  }
  lines.push(
    `frees of objects allocated before tracing: ${count(l.untrackedFrees)}; ` +
      `retired by address reuse (free never seen): ${count(l.freesUnseen)}; kfree(NULL): ${count(doc.counters.nullFrees)}`,
  );
  if (t.phantomObjects > 0) {
    lines.push(
      `phantom: ${count(t.phantomObjects)} tracked live objects (${bytes(t.phantomBytes)}) exceed what their caches hold ` +
        `(/proc/slabinfo): corrected live ${count(t.liveObjectsCorrected)} objects (${bytes(t.liveBytesCorrected)})`,
    );
  }
  return lines;
}

export function siteRows(sites: Site[]): string[] {
  const header = ['LIVE BYTES', 'LIVE OBJS', 'ALLOCS', 'FREES', 'IRQ%', 'REQ BYTES', 'ALLOC BYTES', 'CACHE', 'CALL SITE'];
  const rows = sites.map((s) => [
    bytes(s.liveBytes),
    count(s.liveObjects),
    count(s.allocs),
    count(s.frees + s.freesUnseen),
    s.frees ? `${Math.round(100 * interruptShare(s.freesByContext))}` : '-',
    bytes(s.bytesRequested),
    bytes(s.bytesAllocated),
    s.cache,
    siteLabel(s),
  ]);
  return table(header, rows, [true, true, true, true, true, true, true, false, false]);
}

export function renderText(doc: ReportDocument): string {
  const lines: string[] = [];
  const what = doc.kind === 'record' && doc.command ? `kmemtop record: ${doc.command.join(' ')}` : 'kmemtop snapshot';
  lines.push(`${what}  (${doc.hostname}, Linux ${doc.kernel})`);
  if (doc.kind === 'record') {
    lines.push(doc.signal ? `command killed by ${doc.signal}` : `command exited with code ${doc.exitCode}`);
  }
  lines.push(...headerLines(doc));
  lines.push('');
  lines.push(...siteRows(doc.sites));
  if (doc.sitesShown < doc.totals.sites) {
    lines.push(`(${doc.totals.sites - doc.sitesShown} more call sites; --top 0 shows all)`);
  }
  const phantom = (doc.caches ?? []).filter((c) => c.phantomObjects > 0);
  if (phantom.length) {
    lines.push('', 'Corrections: tracked live objects above what the cache holds (/proc/slabinfo active objects)');
    lines.push(
      ...table(
        ['CACHE', 'TRACKED LIVE', 'SLAB ACTIVE', 'PHANTOM', 'PHANTOM BYTES'],
        phantom.map((c) => [c.cache, count(c.trackedLiveObjects), count(c.slabActiveObjects), count(c.phantomObjects), bytes(c.phantomBytes)]),
        [false, true, true, true, true],
      ),
    );
  }
  return lines.join('\n') + '\n';
}
