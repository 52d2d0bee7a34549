/*
 * The metrics `kmemtop serve` exports (pure): a snapshot as metric families
 * in Prometheus style (base units, _total for counters).  Cardinality is
 * bounded and counters never go backwards (SeriesBook): each scrape
 * promotes the top N sites by live bytes to series of their own, and a
 * promoted site keeps its series for the life of the process (its counters
 * count from its promotion; what it had before stays in function="other",
 * which sums every site never promoted and so only grows); past
 * --max-series no site is promoted and kmemtop_series_capped says so.
 * Gauges (live bytes, objects) move freely.  The accuracy of the live
 * figures is exported too, not hidden.
 */
import type { Snapshot } from '../model/snapshot';
import { sortSites } from '../model/sort';
import { offWhy } from '../model/features';

export type Labels = Record<string, string>;

export interface Family {
  /* Counters are named with _total here (prom-client writes them as given in both formats). */
  name: string;
  help: string;
  type: 'gauge' | 'counter';
  labelNames: string[];
  samples: { labels: Labels; value: number }[];
}

/* What the daemon knows of itself. */
export interface SelfStats {
  residentBytes: number;
  /* V8 heap in use (what a leak in the JavaScript would grow), and memory outside it (Buffers). */
  heapUsedBytes?: number;
  externalBytes?: number;
  /* Scrapes served so far. */
  scrapes: number;
  /* The machine's slab now (/proc/meminfo), for alerts on unreclaimable kernel memory; absent when unreadable. */
  memory?: { slabReclaimableBytes: number; slabUnreclaimableBytes: number } | null;
}

export const DEFAULT_TOP_SITES = 200;
export const DEFAULT_MAX_SERIES = 1000;
export const DEFAULT_TOP_CGROUPS = 50;
export const OTHER = 'other';

const SITE_LABELS = ['function', 'cache', 'module'];

/* One dimension's promotions (sites, cgroups): what the exporter remembers of it between scrapes. */
class Promotions {
  /* Promoted keys, with their counters at promotion (what stays in "other"). */
  readonly promoted = new Map<string, number[]>();
  otherBase: number[] = [];
  /* Something would have been promoted but the cap was reached. */
  capped = false;
  /* "other" was exported: it stays, even when it holds nothing. */
  otherShown = false;
  /* Scrapes so far: what is promoted at the first starts with all its counts (nothing was exported yet). */
  scrapes = 0;
}

/*
 * What the exporter remembers between scrapes so that counters only go up:
 * per dimension, the keys promoted to series of their own with their
 * counters at promotion, and every counter series' last value (an estimate
 * under sampling may dip: it is held).  One per process.
 */
export class SeriesBook {
  private readonly dims = new Map<string, Promotions>();
  private readonly last = new Map<string, number>();

  constructor(readonly maxSeries = DEFAULT_MAX_SERIES) {}

  dim(name: string): Promotions {
    let d = this.dims.get(name);
    if (!d) this.dims.set(name, (d = new Promotions()));
    return d;
  }

  /* Site series promoted so far, and whether the cap stopped one. */
  get promoted(): number {
    return this.dim('site').promoted.size;
  }
  get capped(): boolean {
    return this.dim('site').capped;
  }

  /* A counter series' value: never below what it was. */
  monotonic(family: string, key: string, v: number): number {
    const k = `${family}\0${key}`;
    const out = Math.max(this.last.get(k) ?? 0, v);
    this.last.set(k, out);
    return out;
  }
}

/* One series of a promoted dimension: its labels, gauge values, counter values. */
interface Row {
  labels: Labels;
  gauges: number[];
  counters: number[];
}

/*
 * Items ranked (most first) as rows: the first n are promoted (while the
 * cap allows) and keep a row of their own from then on, counting from their
 * promotion; the rest, and what promoted ones had before, sum into one
 * "other" row.  Gauges of items sharing a key add up (max for flags: the
 * caller's merge).
 */
function promote<T>(
  d: Promotions,
  cap: number,
  ranked: T[],
  n: number,
  keyOf: (t: T) => string,
  labelsOf: (t: T) => Labels,
  otherLabels: Labels,
  values: (t: T) => { gauges: number[]; counters: number[] },
  mergeGauge: (a: number, b: number, i: number) => number = (a, b) => a + b,
): Row[] {
  for (let i = 0; i < Math.min(n, ranked.length); i++) {
    const k = keyOf(ranked[i]);
    if (d.promoted.has(k)) continue;
    if (d.promoted.size >= cap) {
      d.capped = true;
      break;
    }
    d.promoted.set(k, []);
  }
  const rows = new Map<string, Row>();
  let other: Row | null = null;
  const add = (r: Row, v: { gauges: number[]; counters: number[] }) => {
    v.gauges.forEach((x, i) => (r.gauges[i] = r.gauges[i] === undefined ? x : mergeGauge(r.gauges[i], x, i)));
    v.counters.forEach((x, i) => (r.counters[i] = (r.counters[i] ?? 0) + x));
  };
  for (const t of ranked) {
    const k = keyOf(t);
    const v = values(t);
    let r: Row;
    if (d.promoted.has(k)) {
      r = rows.get(k) ?? { labels: labelsOf(t), gauges: [], counters: [] };
      rows.set(k, r);
    } else {
      r = other ??= { labels: otherLabels, gauges: [], counters: [] };
    }
    add(r, v);
  }
  const first = d.scrapes++ === 0;
  for (const [k, base] of d.promoted) {
    if (base.length) continue;
    const c = rows.get(k)?.counters ?? [];
    const b = first ? c.map(() => 0) : [...c];
    base.push(...b);
    b.forEach((x, i) => (d.otherBase[i] = (d.otherBase[i] ?? 0) + x));
  }
  const out: Row[] = [];
  for (const [k, r] of rows) out.push({ ...r, counters: r.counters.map((x, i) => x - (d.promoted.get(k)![i] ?? 0)) });
  const base = d.otherBase;
  if (other || base.some((x) => x !== 0) || d.otherShown) {
    const o = other ?? { labels: otherLabels, gauges: [], counters: [] };
    const width = Math.max(o.counters.length, base.length);
    o.counters = Array.from({ length: width }, (_, i) => (o.counters[i] ?? 0) + (base[i] ?? 0));
    d.otherShown = true;
    out.push(o);
  }
  return out;
}

function family(name: string, type: Family['type'], help: string, labelNames: string[] = []): Family {
  return { name, help, type, labelNames, samples: [] };
}

/*
 * The families of one snapshot.  Every family is present on every scrape
 * (maybe without samples), so the set of names is stable.  book: the
 * promotions so far (updated here); one per process.
 */
export function metricFamilies(snap: Snapshot, top: number, self: SelfStats, book: SeriesBook = new SeriesBook(), topCgroups = DEFAULT_TOP_CGROUPS): Family[] {
  const out: Family[] = [];
  const add = (f: Family) => (out.push(f), f);
  const push = (fams: Family[], rows: Row[]) => {
    for (const r of rows) {
      const values = [...r.gauges, ...r.counters];
      fams.forEach((f, i) => f.samples.push({ labels: r.labels, value: Math.max(0, values[i] ?? 0) }));
    }
  };

  /* Sites: promoted ones (the top N by live bytes, estimates, at any scrape) with their own series, the rest as "other". */
  const live = add(family('kmemtop_site_live_bytes', 'gauge', 'Bytes of the objects allocated at the call site and not freed (tracked; an upper bound where kmemtop_site_live_upper_bound is 1)', SITE_LABELS));
  const liveObj = add(family('kmemtop_site_live_objects', 'gauge', 'Objects allocated at the call site and not freed (tracked)', SITE_LABELS));
  const liveEst = add(family('kmemtop_site_live_bytes_estimate', 'gauge', "Live bytes less the site's share of its cache's phantom objects (equal to kmemtop_site_live_bytes unless an upper bound)", SITE_LABELS));
  const upper = add(family('kmemtop_site_live_upper_bound', 'gauge', "1: the site's cache holds fewer objects than tracked, so its live figures are upper bounds", SITE_LABELS));
  const allocs = add(family('kmemtop_site_allocations_total', 'counter', 'Allocations at the call site since its series began (function="other": every site without a series of its own, and what promoted sites had before)', SITE_LABELS));
  const frees = add(family('kmemtop_site_frees_total', 'counter', "Frees of the call site's objects seen by a free tracepoint, since its series began", SITE_LABELS));
  const unseen = add(family('kmemtop_site_frees_unseen_total', 'counter', "The call site's objects retired without a free event (address reused, or slab gone), since its series began", SITE_LABELS));
  const allocated = add(family('kmemtop_site_allocated_bytes_total', 'counter', 'Bytes handed out at the call site (object size times allocations), since its series began', SITE_LABELS));
  const sorted = sortSites(snap.sites, 'liveBytes');
  const siteRows = promote(
    book.dim('site'),
    book.maxSeries,
    sorted,
    top > 0 ? top : sorted.length,
    (s) => `${s.function}\0${s.cache}\0${s.module ?? ''}`,
    (s) => ({ function: s.function, cache: s.cache, module: s.module ?? '' }),
    { function: OTHER, cache: '', module: '' },
    (s) => ({ gauges: [s.liveBytes, s.liveObjects, s.liveBytesEstimate, s.liveObjectsUpperBound ? 1 : 0], counters: [s.allocs, s.frees, s.freesUnseen, s.bytesAllocated] }),
    (a, b, i) => (i === 3 ? Math.max(a, b) : a + b),
  );
  push([live, liveObj, liveEst, upper, allocs, frees, unseen, allocated], siteRows);
  add(family('kmemtop_series_capped', 'gauge', '1: a call site (or cgroup) would have been given series of its own but --max-series were given already; it counts in "other"')).samples.push({
    labels: {},
    value: book.capped || book.dim('cgroup').capped ? 1 : 0,
  });

  /* --by-cgroup: the top cgroups by live bytes, by the same rule. */
  const cgLive = add(family('kmemtop_cgroup_live_bytes', 'gauge', 'Live bytes allocated by tasks of the memory cgroup (--by-cgroup; cgroup="other": the rest)', ['cgroup']));
  const cgLiveObj = add(family('kmemtop_cgroup_live_objects', 'gauge', 'Live objects allocated by tasks of the memory cgroup (--by-cgroup)', ['cgroup']));
  const cgAllocs = add(family('kmemtop_cgroup_allocations_total', 'counter', 'Allocations by tasks of the memory cgroup since its series began (--by-cgroup)', ['cgroup']));
  if (snap.cgroups) {
    const ranked = [...snap.cgroups].sort((a, b) => b.liveBytes - a.liveBytes || a.path.localeCompare(b.path));
    const rows = promote(
      book.dim('cgroup'),
      book.maxSeries,
      ranked,
      topCgroups > 0 ? topCgroups : ranked.length,
      (c) => c.path,
      (c) => ({ cgroup: c.path }),
      { cgroup: OTHER },
      (c) => ({ gauges: [c.liveBytes, c.liveObjects], counters: [c.allocs] }),
    );
    push([cgLive, cgLiveObj, cgAllocs], rows);
  }

  add(family('kmemtop_sites', 'gauge', 'Call sites seen (all, not only those exported)')).samples.push({ labels: {}, value: snap.totals.sites });
  add(family('kmemtop_sites_exported', 'gauge', 'Call sites (by function, cache and module) with series of their own (the rest are summed as function="other")')).samples.push({ labels: {}, value: book.promoted });

  /* Caches: tracked against /proc/slabinfo. */
  const cTracked = add(family('kmemtop_cache_tracked_live_objects', 'gauge', 'Objects tracked as live in the slab cache (all its sites)', ['cache']));
  const cActive = add(family('kmemtop_cache_active_objects', 'gauge', 'Active objects of the slab cache (/proc/slabinfo)', ['cache']));
  const cPhantom = add(family('kmemtop_cache_phantom_objects', 'gauge', 'Tracked live objects above what the cache holds: their frees were never seen', ['cache']));
  for (const c of snap.caches ?? []) {
    cTracked.samples.push({ labels: { cache: c.cache }, value: c.trackedLiveObjects });
    cActive.samples.push({ labels: { cache: c.cache }, value: c.slabActiveObjects });
    cPhantom.samples.push({ labels: { cache: c.cache }, value: c.phantomObjects });
  }

  /* Shrinkers: asked vs freed. */
  const shCalls = add(family('kmemtop_shrinker_calls_total', 'counter', 'Calls of the shrinker (mm_shrink_slab_start)', ['shrinker']));
  const shAsked = add(family('kmemtop_shrinker_requested_objects_total', 'counter', 'Objects the shrinker was asked to scan', ['shrinker']));
  const shFreed = add(family('kmemtop_shrinker_freed_objects_total', 'counter', 'Objects the shrinker freed', ['shrinker']));
  const shTime = add(family('kmemtop_shrinker_seconds_total', 'counter', 'Time spent in the shrinker', ['shrinker']));
  const byName = new Map<string, number[]>();
  for (const s of snap.shrinkers ?? []) {
    const v = byName.get(s.name) ?? [0, 0, 0, 0];
    v[0] += s.calls;
    v[1] += s.requested;
    v[2] += s.freed;
    v[3] += s.timeNs / 1e9;
    byName.set(s.name, v);
  }
  for (const [name, v] of byName) [shCalls, shAsked, shFreed, shTime].forEach((f, i) => f.samples.push({ labels: { shrinker: name }, value: v[i] }));

  /* Reclaim and OOM kills. */
  const rCount = add(family('kmemtop_reclaim_total', 'counter', 'Reclaim runs by kind (direct, memcg, node)', ['kind']));
  const rStall = add(family('kmemtop_reclaim_stall_seconds_total', 'counter', 'Time allocating tasks stalled in reclaim, by kind', ['kind']));
  const rPages = add(family('kmemtop_reclaimed_pages_total', 'counter', 'Pages reclaimed, by kind', ['kind']));
  const oom = add(family('kmemtop_oom_kills_total', 'counter', 'OOM kills (oom:mark_victim)'));
  const kswapd = add(family('kmemtop_kswapd_wakeups_total', 'counter', 'Requests to wake kswapd'));
  if (snap.reclaim) {
    for (const kind of ['direct', 'memcg', 'node'] as const) {
      const k = snap.reclaim[kind];
      rCount.samples.push({ labels: { kind }, value: k.count });
      rStall.samples.push({ labels: { kind }, value: k.stallNs / 1e9 });
      rPages.samples.push({ labels: { kind }, value: k.reclaimedPages });
    }
    oom.samples.push({ labels: {}, value: snap.reclaim.oomKills });
    kswapd.samples.push({ labels: {}, value: snap.reclaim.kswapdWakeups });
  }

  /* The machine's slab (/proc/meminfo): what the alert rules compare the sites' growth with. */
  const slab = add(family('kmemtop_memory_slab_bytes', 'gauge', 'Slab memory of the machine by kind (/proc/meminfo SReclaimable, SUnreclaim)', ['kind']));
  if (self.memory) {
    slab.samples.push({ labels: { kind: 'reclaimable' }, value: self.memory.slabReclaimableBytes });
    slab.samples.push({ labels: { kind: 'unreclaimable' }, value: self.memory.slabUnreclaimableBytes });
  }

  /* Accuracy: what the live figures may be off by, and why. */
  const lost = add(family('kmemtop_lost_events_total', 'counter', 'Events kmemtop saw but could not account for, or lost, by cause (see docs/json.md lost.*)', ['cause']));
  for (const [cause, v] of Object.entries(snap.lost)) lost.samples.push({ labels: { cause }, value: v });
  add(family('kmemtop_phantom_objects', 'gauge', 'Tracked live objects that are provably dead (their caches hold fewer)')).samples.push({ labels: {}, value: snap.totals.phantomObjects });
  add(family('kmemtop_upper_bound_sites', 'gauge', 'Sites whose live figures are upper bounds')).samples.push({ labels: {}, value: snap.accuracy.upperBoundSites });
  add(family('kmemtop_max_live_objects_error', 'gauge', 'The live object figures are off by at most this many objects')).samples.push({ labels: {}, value: snap.accuracy.maxLiveObjectsError });
  add(family('kmemtop_sampling_one_in', 'gauge', '1 object in this many is tracked (1: every object); live and free figures are estimates above 1')).samples.push({
    labels: {},
    value: snap.sampling?.oneIn ?? 1,
  });

  /* What this kernel allows: 1 on, 0 off (the report's "kernel features" line says what an off one needs). */
  const feature = add(family('kmemtop_kernel_feature', 'gauge', 'Whether a kernel-dependent feature is on (1) or off on this kernel (0); needs: what an off feature needs', ['feature', 'needs']));
  for (const f of snap.kernelFeatures ?? []) feature.samples.push({ labels: { feature: f.name, needs: f.on ? '' : offWhy(f) }, value: f.on ? 1 : 0 });

  /* kmemtop's own cost. */
  const runs = add(family('kmemtop_program_runs_total', 'counter', "Runs of kmemtop's BPF programs (with kernel.bpf_stats_enabled=1)", ['program']));
  const runTime = add(family('kmemtop_program_run_seconds_total', 'counter', "Time kmemtop's BPF programs ran (with kernel.bpf_stats_enabled=1)", ['program']));
  for (const p of snap.programs) {
    runs.samples.push({ labels: { program: p.name }, value: p.runCount });
    runTime.samples.push({ labels: { program: p.name }, value: p.runTimeNs / 1e9 });
  }
  add(family('kmemtop_maps_kernel_bytes', 'gauge', "Kernel memory of kmemtop's BPF maps")).samples.push({ labels: {}, value: snap.maps.kernelBytes });
  add(family('kmemtop_host_resident_bytes', 'gauge', 'Resident memory of the kmemtop serve process')).samples.push({ labels: {}, value: self.residentBytes });
  add(family('kmemtop_host_heap_used_bytes', 'gauge', 'V8 heap in use in the kmemtop serve process')).samples.push({ labels: {}, value: self.heapUsedBytes ?? 0 });
  add(family('kmemtop_host_external_bytes', 'gauge', "Memory of the serve process's Buffers (map reads), outside V8's heap")).samples.push({ labels: {}, value: self.externalBytes ?? 0 });
  add(family('kmemtop_scrapes_total', 'counter', 'Scrapes of /metrics served')).samples.push({ labels: {}, value: self.scrapes });
  add(family('kmemtop_session_start_time_seconds', 'gauge', 'When the tracing session started (Unix time)')).samples.push({
    labels: {},
    value: Date.parse(snap.window.start) / 1000,
  });
  /* Counters never go backwards while this process lives (a series that dips, an estimate under sampling or a shrinker gone, is held). */
  for (const f of out) {
    if (f.type !== 'counter') continue;
    for (const x of f.samples) x.value = book.monotonic(f.name, f.labelNames.map((l) => x.labels[l] ?? '').join('\0'), x.value);
  }
  return out;
}
