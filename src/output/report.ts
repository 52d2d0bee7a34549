/*
 * The document `record` and `snapshot` produce, as JSON (stable, versioned:
 * see README "JSON output") and as a text table. Pure.
 */
import { LIVE_LOSSES, LiveLossKey, Snapshot, Site, SITES_FULL_ROW, SLABINFO_UNREADABLE, SortKey, sortSites } from '../model/snapshot';
import { stackFrames } from '../model/site';
import { byContext, bytes, CONTEXT_LABELS, count, duration, printable, table } from './format';
import type { Renderer } from './formats';
import { renderFolded } from './folded';
import { formatSymbol } from '../sys/kallsyms';
import { cacheLabel } from '../sys/slabaliases';
import { ByContext, sumContexts } from '../abi/layout';
import type { ReclaimKind } from '../model/shrinkers';
import { featuresLine } from '../model/features';

/* The running session a snapshot read (absent: the report traced its own window). */
export interface SessionInfo {
  startedAt: string;
  startedByPid: number;
  sampleOneIn: number;
  /* The tracing flags it was started with, as given on the command line (--stacks=16, --by-task, ...). */
  flags: string[];
}

export interface ReportMeta {
  kind: 'record' | 'snapshot';
  kernel: string;
  hostname: string;
  session?: SessionInfo;
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
  /* A snapshot of a running session: which one (absent: its own window). */
  session?: SessionInfo;
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
  sampling: Snapshot['sampling'];
  caches: Snapshot['caches'];
  counters: Snapshot['counters'];
  programs: Snapshot['programs'];
  recursion: Snapshot['recursion'];
  maps: Snapshot['maps'];
  shrinkers: Snapshot['shrinkers'];
  reclaim: Snapshot['reclaim'];
  reclaimUnavailable: Snapshot['reclaimUnavailable'];
  sweep: Snapshot['sweep'];
  /* What this kernel allows: each feature on, or off with what it needs (absent in reports of older versions). */
  kernelFeatures?: Snapshot['kernelFeatures'];
  sitesShown: number;
  sites: Site[];
  /* --pages: the slab allocator's own pages (not in the sites); null without --pages. */
  slabPages: Snapshot['slabPages'];
  vmallocPages: Snapshot['vmallocPages'];
  /* --pages: traced figures against /proc/meminfo's growth since tracing began. */
  pageCheck?: Snapshot['pageCheck'];
  /* --pages: failed page allocations; null without --pages. */
  pageFailures: Snapshot['pageFailures'];
  /* --older N: only objects live for at least N seconds are counted live (null: all). */
  olderThan: Snapshot['olderThan'];
  /* --by-cgroup / --by-task: totals per memory cgroup / process (the first --top of them); null when not recorded. */
  cgroups: Snapshot['cgroups'];
  tasks: Snapshot['tasks'];
  memcgHierarchy: Snapshot['memcgHierarchy'];
}

export function toDocument(snap: Snapshot, meta: ReportMeta, opts: ReportOptions): ReportDocument {
  const sorted = sortSites(snap.sites, opts.sort);
  const sites = opts.top > 0 ? sorted.slice(0, opts.top) : sorted;
  const doc: ReportDocument = {
    tool: 'kmemtop',
    schemaVersion: snap.schemaVersion,
    kind: meta.kind,
    ...(meta.session ? { session: meta.session } : {}),
    kernel: meta.kernel,
    hostname: meta.hostname,
    window: snap.window,
    contextSource: snap.contextSource,
    sort: opts.sort,
    totals: snap.totals,
    lost: snap.lost,
    accuracy: snap.accuracy,
    sampling: snap.sampling,
    caches: snap.caches,
    counters: snap.counters,
    programs: snap.programs,
    recursion: snap.recursion,
    maps: snap.maps,
    shrinkers: snap.shrinkers,
    reclaim: snap.reclaim,
    reclaimUnavailable: snap.reclaimUnavailable,
    sweep: snap.sweep,
    kernelFeatures: snap.kernelFeatures,
    sitesShown: sites.length,
    sites,
    olderThan: snap.olderThan,
    slabPages: snap.slabPages,
    vmallocPages: snap.vmallocPages,
    pageCheck: snap.pageCheck,
    pageFailures: snap.pageFailures,
    cgroups: snap.cgroups && (opts.top > 0 ? snap.cgroups.slice(0, opts.top) : snap.cgroups),
    tasks: snap.tasks && (opts.top > 0 ? snap.tasks.slice(0, opts.top) : snap.tasks),
    memcgHierarchy: snap.memcgHierarchy,
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
  return `${label} by context: ${byContext(b, count)}`;
}

export { CONTEXT_LABELS };

/* The losses that make live figures approximate, labelled as every text view names them. */
export function lossCounts(l: Pick<ReportDocument['lost'], LiveLossKey>): [string, number][] {
  return LIVE_LOSSES.map((x) => [x.label, l[x.key]]);
}

/* "lost events: none", or each loss with its count. */
export function lostLine(l: Parameters<typeof lossCounts>[0]): string {
  const nonZero = lossCounts(l).filter(([, n]) => n > 0);
  return nonZero.length === 0 ? 'lost events: none' : `lost events: ${nonZero.map(([w, n]) => `${w} ${count(n)}`).join(', ')}`;
}

/* Header lines: window, totals, losses.  Shared by every text view. */
export function headerLines(
  doc: Pick<ReportDocument, 'window' | 'totals' | 'lost' | 'accuracy' | 'counters' | 'contextSource'> & Partial<Pick<ReportDocument, 'sampling'>>,
): string[] {
  const t = doc.totals;
  const l = doc.lost;
  const sampling = doc.sampling ?? null;
  /* Estimates under sampling carry a "~". */
  const est = sampling ? '~' : '';
  const lines = [
    `traced ${(doc.window.durationMs / 1000).toFixed(2)} s: ${count(t.allocs)} allocations, ${est}${count(t.frees)} frees, ` +
      `${est}${count(t.liveObjects)} live objects (${est}${bytes(t.liveBytes)}) at ${count(t.sites)} call sites`,
  ];
  if (sampling) {
    lines.push(
      `sampling: 1 object in ${count(sampling.oneIn)} tracked; frees and live figures (~) are estimates, ` +
        `allocations exact; free events seen: ${count(sampling.freeEvents)} (exact)`,
    );
  }
  lines.push(contextLine('frees', t.freesByContext, doc.contextSource));
  const nonZero = lossCounts(l).filter(([, n]) => n > 0);
  const acc = doc.accuracy;
  const bounded = (acc.upperBoundSites ?? 0) > 0;
  lines.push(
    nonZero.length === 0
      ? `lost events: none${bounded ? ' (but see the upper bounds below)' : ''}`
      : `lost events: ${nonZero.map(([w, n]) => `${w} ${count(n)}`).join(', ')}`,
  );
  if (bounded) {
    lines.push(
      `upper bounds: ${count(acc.upperBoundSites)} sites (marked <=) are in caches that hold fewer objects than tracked ` +
        `(/proc/slabinfo): at least ${count(acc.phantomObjects)} of their tracked live objects are dead; EST LIVE takes them away`,
    );
  }
  if ((acc.lowerBoundSites ?? 0) > 0) {
    lines.push(
      `lower bounds: ${count(acc.lowerBoundSites)} sites (marked >=) had allocations the live table could not take ` +
        `(${count(l.liveFull)} lost as live table full): their live figures leave those out; a larger --max-live tracks them`,
    );
  }
  if (acc.slabinfoRead === false) lines.push(`phantom check off: ${SLABINFO_UNREADABLE}`);
  if (acc.maxLiveObjectsError > 0) {
    lines.push(`live figures are approximate: off by at most ${count(acc.maxLiveObjectsError)}${acc.slabinfoRead === false ? ' known' : ''} objects`);
  }
  const features = (doc as Partial<ReportDocument>).kernelFeatures;
  const sweep = (doc as Partial<ReportDocument>).sweep;
  if (features?.length) lines.push(featuresLine(features));
  else if (sweep && !sweep.available) lines.push(sweep.reason ?? 'no sweep');
  if ('maps' in doc && doc.maps) {
    const m = (doc as ReportDocument).maps;
    lines.push(
      `kmemtop's maps: ${bytes(m.kernelBytes)} of kernel memory; call sites ${count(m.sites.entries)} of ${count(m.sites.maxEntries)}, ` +
        `live table ${count(m.live.slots)} slots (--max-live), overflow ${count(m.live.overflowEntries)} of ${count(m.live.overflowMaxEntries)}`,
    );
  }
  lines.push(
    `frees of untracked objects (allocated before tracing, or kmemtop's own): ${count(l.untrackedFrees)}; ` +
      `retired by address reuse (free never seen): ${count(l.freesUnseen)}; ` +
      `retired by the sweep (slab gone): ${count(l.slabGone ?? 0)}; kfree(NULL): ${count(doc.counters.nullFrees)}`,
  );
  if (doc.counters.selfAllocs) lines.push(`kmemtop's own allocations, left out: ${count(doc.counters.selfAllocs)} (--include-self tracks them)`);
  if (t.phantomObjects > 0) {
    lines.push(
      `phantom: ${count(t.phantomObjects)} tracked live objects (${bytes(t.phantomBytes)}) exceed what their caches hold ` +
        `(/proc/slabinfo): corrected live ${count(t.liveObjectsCorrected)} objects (${bytes(t.liveBytesCorrected)})`,
    );
  }
  return lines;
}

/*
 * A site's tracked live figure, marked "<=" when it is an upper bound,
 * ">=" when a lower bound (allocations the live table could not take), "<>"
 * when both (it may be off either way).
 */
export function bounded(s: Pick<Site, 'liveObjectsUpperBound'> & Partial<Pick<Site, 'liveObjectsLowerBound'>>, text: string): string {
  const mark = s.liveObjectsUpperBound ? (s.liveObjectsLowerBound ? '<>' : '<=') : s.liveObjectsLowerBound ? '>=' : '';
  return mark + text;
}

/*
 * estimated: sampling was on, the live and free columns are estimates (~).
 * An EST LIVE column (the estimate without the cache's phantom objects)
 * appears when some site's live figure is an upper bound.
 */
export function siteRows(sites: Site[], estimated = false): string[] {
  const e = estimated ? '~' : '';
  const withEst = sites.some((s) => s.liveObjectsUpperBound);
  /* The oldest live object's age, where the sweep counted ages. */
  const withAge = sites.some((s) => s.age);
  const header = [
    `${e}LIVE BYTES`,
    `${e}LIVE OBJS`,
    ...(withEst ? ['EST LIVE'] : []),
    ...(withAge ? ['OLDEST'] : []),
    'ALLOCS',
    `${e}FREES`,
    'IRQ%',
    'REQ BYTES',
    'ALLOC BYTES',
    'CACHE',
    'CALL SITE',
  ];
  const rows = sites.map((s) => [
    bounded(s, (s.mixedSizes ? '~' : '') + bytes(s.liveBytes)),
    bounded(s, count(s.liveObjects)),
    ...(withEst ? [s.liveObjectsUpperBound ? `~${bytes(s.liveBytesEstimate)}` : bytes(s.liveBytesEstimate)] : []),
    ...(withAge ? [s.age ? ageText(s.age.oldestSeconds) : '-'] : []),
    count(s.allocs),
    count(s.frees + s.freesUnseen),
    s.frees ? `${Math.round(100 * interruptShare(s.freesByContext))}` : '-',
    bytes(s.bytesRequested),
    bytes(s.bytesAllocated),
    cacheLabel(s.cache, s.function, s.cacheAliases, stackFrames(s)),
    siteLabel(s),
  ]);
  return table(header, rows, [true, true, ...(withEst ? [true] : []), ...(withAge ? [true] : []), true, true, true, true, true, false, false]);
}

/* 42 -> "42s", 600 -> "10m", 7200 -> "2.0h" */
export function ageText(seconds: number): string {
  if (seconds < 120) return `${seconds}s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)}m`;
  return `${(seconds / 3600).toFixed(1)}h`;
}


/* Shrinkers (those called), then reclaim stalls, kswapd and OOM kills. */
export function reclaimLines(doc: Pick<ReportDocument, 'shrinkers' | 'reclaim' | 'reclaimUnavailable'>, topShrinkers = 15): string[] {
  if (!doc.reclaim || !doc.shrinkers) return [`shrinkers and reclaim: ${doc.reclaimUnavailable ?? 'not traced'}`];
  const r = doc.reclaim;
  const lines: string[] = [];
  const called = doc.shrinkers.filter((s) => s.calls > 0);
  if (called.length === 0) {
    lines.push('shrinkers: none called');
  } else {
    lines.push('Shrinkers: asked to scan vs freed (objects)');
    lines.push(
      ...table(
        ['CALLS', 'IN CACHE', 'ASKED', 'SCANNED', 'FREED', 'FREED%', 'TIME', 'NS/FREED', 'DEFERRED', 'SHRINKER'],
        called.slice(0, topShrinkers).map((s) => [
          count(s.calls),
          count(s.objects),
          count(s.requested),
          count(s.scanned),
          count(s.freed),
          s.requested ? `${Math.round((100 * s.freed) / s.requested)}` : '-',
          duration(s.timeNs),
          s.nsPerFreed === null ? '-' : count(s.nsPerFreed),
          count(s.deferred),
          s.name + (s.freesLittle ? '  <- asked much, freed little' : ''),
        ]),
        [true, true, true, true, true, true, true, true, true, false],
      ),
    );
    if (called.length > topShrinkers) lines.push(`(${called.length - topShrinkers} more shrinkers called)`);
  }
  const kind = (name: string, k: ReclaimKind) =>
    k.count === 0 ? `${name} reclaim: none` : `${name} reclaim: ${count(k.count)}, stalled ${duration(k.stallNs)} (longest ${duration(k.maxStallNs)}), reclaimed ${count(k.reclaimedPages)} pages`;
  lines.push(kind('direct', r.direct), kind('memcg', r.memcg));
  if (r.node.count) lines.push(kind('node', r.node));
  lines.push(`kswapd: woken ${count(r.kswapdWakeups)} times, ran ${count(r.kswapdRuns)} times`);
  lines.push(
    r.oomKills === 0
      ? 'OOM kills: none'
      : `OOM kills: ${count(r.oomKills)}: ` +
        r.oomVictims.map((v) => `${printable(v.comm)} (pid ${v.pid}) at ${v.time}${v.memcg?.path ? printable(` in memory cgroup ${v.memcg.path}`) : ''}`).join('; '),
  );
  if (r.lost) lines.push(`reclaim events lost: ${count(r.lost)}`);
  return lines;
}

/* "read the session started at T by pid N (1 object in 64 tracked; --stacks=16)": what a snapshot of a session covers. */
export function sessionLine(s: SessionInfo): string {
  const how = [s.sampleOneIn > 1 ? `1 object in ${s.sampleOneIn} tracked` : 'every object tracked', ...s.flags].join('; ');
  return `read the session started at ${s.startedAt} by pid ${s.startedByPid} (${how}): figures since then`;
}

export function renderText(doc: ReportDocument): string {
  const lines: string[] = [];
  const what = doc.kind === 'record' && doc.command ? `kmemtop record: ${doc.command.join(' ')}` : 'kmemtop snapshot';
  lines.push(printable(`${what}  (${doc.hostname}, Linux ${doc.kernel})`));
  if (doc.kind === 'record') {
    lines.push(doc.signal ? `command killed by ${doc.signal}` : `command exited with code ${doc.exitCode}`);
  }
  if (doc.session) lines.push(sessionLine(doc.session));
  lines.push(...headerLines(doc));
  if (doc.olderThan) lines.push(`--older ${doc.olderThan}: live figures count only objects live for at least ${ageText(doc.olderThan)} (allocations and frees: the whole window)`);
  const timed = doc.programs.filter((p) => p.runCount > 0);
  if (timed.length) {
    lines.push(
      'in-kernel cost per event (bpf_stats run_time_ns / run_cnt, clock reads included): ' +
        timed.map((p) => `${p.name.replace(/^kmemtop__/, '')} ${(p.runTimeNs / p.runCount).toFixed(1)} ns (${count(p.runCount)} runs)`).join(', '),
    );
  }
  lines.push('');
  /* A loop, not push(...rows): a report of every site can hold hundreds of thousands. */
  if (doc.sites.length === 0) lines.push('(no call sites)');
  else {
    for (const row of siteRows(doc.sites, doc.sampling !== null && doc.sampling !== undefined)) lines.push(row);
    lines.push('IRQ%: share of the site\'s frees made in softirq, hardirq or NMI context (-: none freed)');
    if (doc.sites.some((s) => s.mixedSizes)) {
      lines.push(`${SITES_FULL_ROW}: allocations at call sites the site map had no room for (a larger --max-sites names them); ~: live bytes from their average size, REQ BYTES what was allocated`);
    }
  }
  if (doc.sitesShown < doc.totals.sites) {
    lines.push(`(${doc.totals.sites - doc.sitesShown} more call sites; --top 0 shows all)`);
  }
  if (doc.slabPages) {
    const p = doc.slabPages;
    lines.push(
      `slab's own pages while tracing (--pages; not in the sites above, whose objects they hold): ${count(p.allocs)} allocated, ${count(p.frees)} freed, ` +
        `${p.livePages >= 0 ? '+' : ''}${count(p.livePages)} pages (${bytes(p.liveBytes)}) kept`,
    );
  }
  if (doc.vmallocPages) {
    const p = doc.vmallocPages;
    lines.push(`vmalloc's pages while tracing (--pages; its areas are the vmalloc sites above): ${count(p.allocs)} allocated, ${count(p.frees)} freed, ${count(p.livePages)} pages (${bytes(p.liveBytes)}) kept`);
  }
  if (doc.pageCheck) lines.push(...pageCheckLines(doc.pageCheck));
  if (doc.pageFailures) {
    const n = doc.pageFailures.reduce((s, f) => s + f.count, 0);
    lines.push(n ? `failed page allocations (--pages): ${count(n)}` : 'failed page allocations (--pages): none');
    for (const f of doc.pageFailures.slice(0, 10)) {
      lines.push(printable(`  ${count(f.count)} x order ${f.order} ${f.gfp} at ${f.site}${f.hint ? `: ${f.hint}` : ''}`));
    }
  }
  lines.push(...groupLines(doc));
  lines.push('', ...reclaimLines(doc));
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

/* --pages: the traced figures next to /proc/meminfo's growth over the same time. */
export function pageCheckLines(rows: NonNullable<Snapshot['pageCheck']>): string[] {
  const signed = (n: number) => `${n < 0 ? '-' : '+'}${bytes(Math.abs(n))}`;
  return [
    'checked against /proc/meminfo (growth since tracing began; traced: allocated since then and still live, older pages freed meanwhile not subtracted):',
    ...table(
      ['KIND', 'TRACED', 'MEMINFO', 'LINE', 'DIFFERENCE'],
      rows.map((r) => [r.what, `${r.estimate ? '~' : ''}${signed(r.tracedBytes)}`, signed(r.meminfoGrowthBytes), r.meminfoLine, signed(r.tracedBytes - r.meminfoGrowthBytes)]),
      [false, true, true, false, true],
    ).map((l) => `  ${l}`),
  ];
}

/* --by-cgroup, --by-task: the totals per memory cgroup and per process. */
export function groupLines(doc: Pick<ReportDocument, 'cgroups' | 'tasks' | 'memcgHierarchy'>): string[] {
  const lines: string[] = [];
  const live = (r: { liveBytes: number; liveUpperBound: boolean }) => `${r.liveUpperBound ? '<=' : ''}${bytes(r.liveBytes)}`;
  const objs = (r: { liveObjects: number; liveUpperBound: boolean }) => `${r.liveUpperBound ? '<=' : ''}${count(r.liveObjects)}`;
  if (doc.cgroups) {
    lines.push('', `By memory cgroup of the allocating task (${doc.memcgHierarchy ?? 'no memory controller found: every allocation is "(removed cgroup)"'})`);
    lines.push(
      ...table(
        ['CGROUP', 'LIVE', 'LIVE OBJS', 'ALLOCS', 'SITES', 'TOP SITE'],
        doc.cgroups.map((c) => [printable(c.path), live(c), objs(c), count(c.allocs), count(c.sites), printable(c.topSite ?? '-')]),
        [false, true, true, true, true, false],
      ),
    );
  }
  if (doc.tasks) {
    lines.push('', 'By allocating process (name when first seen allocating)');
    lines.push(
      ...table(
        ['PID', 'COMMAND', 'LIVE', 'LIVE OBJS', 'ALLOCS', 'SITES', 'TOP SITE'],
        doc.tasks.map((t) => [t.tgid ? String(t.tgid) : '-', printable(t.comm), live(t), objs(t), count(t.allocs), count(t.sites), printable(t.topSite ?? '-')]),
        [true, false, true, true, true, true, false],
      ),
    );
  }
  return lines;
}

/* The record/snapshot document in each format (output/formats.ts). */
export const reportRenderer: Renderer<ReportDocument> = { text: renderText, json: renderJson, folded: renderFolded };
