/*
 * The metrics `kmemtop serve` exports (pure): a snapshot as metric families
 * in Prometheus style (base units, _total for counters).  Cardinality is
 * bounded: the top N sites by live bytes get their own series, the rest are
 * summed into one function="other" series, so a site that drops out of the
 * top N stops being exported while the totals stay whole.  The accuracy of
 * the live figures is exported too, not hidden.
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
}

export const DEFAULT_TOP_SITES = 200;
export const OTHER = 'other';

const SITE_LABELS = ['function', 'cache', 'module'];

function family(name: string, type: Family['type'], help: string, labelNames: string[] = []): Family {
  return { name, help, type, labelNames, samples: [] };
}

/*
 * The families of one snapshot.  Every family is present on every scrape
 * (maybe without samples), so the set of names is stable.
 */
export function metricFamilies(snap: Snapshot, top: number, self: SelfStats): Family[] {
  const out: Family[] = [];
  const add = (f: Family) => (out.push(f), f);

  /* Sites: the top N by live bytes (the estimates: phantom objects left out), the rest as "other". */
  const live = add(family('kmemtop_site_live_bytes', 'gauge', 'Bytes of the objects allocated at the call site and not freed (tracked; an upper bound where kmemtop_site_live_upper_bound is 1)', SITE_LABELS));
  const liveObj = add(family('kmemtop_site_live_objects', 'gauge', 'Objects allocated at the call site and not freed (tracked)', SITE_LABELS));
  const liveEst = add(family('kmemtop_site_live_bytes_estimate', 'gauge', "Live bytes less the site's share of its cache's phantom objects (equal to kmemtop_site_live_bytes unless an upper bound)", SITE_LABELS));
  const upper = add(family('kmemtop_site_live_upper_bound', 'gauge', "1: the site's cache holds fewer objects than tracked, so its live figures are upper bounds", SITE_LABELS));
  const allocs = add(family('kmemtop_site_allocations_total', 'counter', 'Allocations at the call site since the session started', SITE_LABELS));
  const frees = add(family('kmemtop_site_frees_total', 'counter', "Frees of the call site's objects seen by a free tracepoint", SITE_LABELS));
  const unseen = add(family('kmemtop_site_frees_unseen_total', 'counter', "The call site's objects retired without a free event (address reused, or slab gone)", SITE_LABELS));
  const allocated = add(family('kmemtop_site_allocated_bytes_total', 'counter', 'Bytes handed out at the call site (object size times allocations)', SITE_LABELS));
  const sorted = sortSites(snap.sites, 'liveBytes');
  const n = top > 0 ? top : sorted.length;
  const bucket = new Map<string, { labels: Labels; v: number[] }>();
  for (let i = 0; i < sorted.length; i++) {
    const s = sorted[i];
    const labels = i < n ? { function: s.function, cache: s.cache, module: s.module ?? '' } : { function: OTHER, cache: '', module: '' };
    const key = `${labels.function}\0${labels.cache}\0${labels.module}`;
    let b = bucket.get(key);
    if (!b) bucket.set(key, (b = { labels, v: [0, 0, 0, 0, 0, 0, 0, 0] }));
    b.v[0] += s.liveBytes;
    b.v[1] += s.liveObjects;
    b.v[2] += s.liveBytesEstimate;
    b.v[3] = Math.max(b.v[3], s.liveObjectsUpperBound ? 1 : 0);
    b.v[4] += s.allocs;
    b.v[5] += s.frees;
    b.v[6] += s.freesUnseen;
    b.v[7] += s.bytesAllocated;
  }
  const siteFams = [live, liveObj, liveEst, upper, allocs, frees, unseen, allocated];
  for (const b of bucket.values()) siteFams.forEach((f, i) => f.samples.push({ labels: b.labels, value: Math.max(0, b.v[i]) }));
  add(family('kmemtop_sites', 'gauge', 'Call sites seen (all, not only those exported)')).samples.push({ labels: {}, value: snap.totals.sites });
  add(family('kmemtop_sites_exported', 'gauge', 'Call sites exported with their own series (the rest are summed as function="other")')).samples.push({ labels: {}, value: Math.min(n, sorted.length) });

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
  return out;
}
