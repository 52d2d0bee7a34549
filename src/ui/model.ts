/*
 * The live view's model (pure): rows with rates from two consecutive
 * snapshots.  Rates are counter deltas over the measured period between
 * the two reads (monotonic clock); a site new in this period counts from 0.
 * Counters only grow, so nothing is ever reset or deleted in the kernel.
 */
import { featuresOffLine } from '../model/features';
import type { Site, Snapshot } from '../model/snapshot';
import { stackFrames } from '../model/site';
import type { Shrinker } from '../model/shrinkers';
import { formatSymbol } from '../sys/kallsyms';
import { cacheLabel } from '../sys/slabaliases';
import { sumContexts } from '../abi/layout';
import type { MemInfo } from '../sys/meminfo';
import { memoryVerdict, Verdict } from '../model/memreport';
import type { CgroupRow } from '../model/details';
import { SORTS, Split, SPLITS, UiState, View } from './state';

export const HISTORY_SAMPLES = 60;

/*
 * One row of the sites view.  A row stores only its site and the counter
 * deltas of the period; the rates and ratios are computed when read (a sort
 * reads one column): a refresh with thousands of busy sites builds one small
 * object per site, without a boxed double per rate.
 */
/* Live figures at a mark (b) or in a saved report (--baseline FILE). */
export interface Live {
  liveObjects: number;
  liveBytes: number;
}

/*
 * The baseline growth is measured from.  A mark in this session knows each
 * site by its number; a saved report by function, module and cache (as
 * diff matches them), its figure given to the first row of that key.
 */
export interface Baseline {
  /* "since 21:58:03", "since before.json" */
  label: string;
  byId: Map<number, Live> | null;
  byKey: Map<string, Live> | null;
}

export const siteKeyOf = (s: Pick<Site, 'function' | 'module' | 'cache'>) => `${s.function}\0${s.module ?? ''}\0${s.cache}`;

/* A mark now: every row's live figures (as shown: the estimates). */
export function markBaseline(m: UiModel, label: string): Baseline {
  return { label, byId: new Map(m.sites.map((r) => [r.key, { liveObjects: r.liveObjects, liveBytes: r.liveBytes }])), byKey: null };
}

/* A saved report's sites, summed by function, module and cache. */
export function reportBaseline(sites: (Pick<Site, 'function' | 'module' | 'cache'> & Live & Partial<Pick<Site, 'liveObjectsEstimate' | 'liveBytesEstimate'>>)[], label: string): Baseline {
  const byKey = new Map<string, Live>();
  for (const s of sites) {
    const k = siteKeyOf(s);
    const b = byKey.get(k) ?? { liveObjects: 0, liveBytes: 0 };
    b.liveObjects += s.liveObjectsEstimate ?? s.liveObjects;
    b.liveBytes += s.liveBytesEstimate ?? s.liveBytes;
    byKey.set(k, b);
  }
  return { label, byId: null, byKey };
}

export class SiteRow {
  constructor(
    readonly site: Site,
    /* Allocations, and frees (seen or retired), in the period. */
    readonly dAllocs: number,
    readonly dFrees: number,
    /* The period, shared by every row of a model. */
    readonly period: { readonly dtMs: number },
    /* With a baseline: the site's live figures then (null: it had none; undefined: no baseline). */
    readonly base?: Live | null,
  ) {}

  /* Growth since the baseline: a site new since then grows by all it holds. */
  get growthBytes(): number {
    return this.liveBytes - (this.base?.liveBytes ?? 0);
  }
  get growthObjects(): number {
    return this.liveObjects - (this.base?.liveObjects ?? 0);
  }

  /* The site's number in this session. */
  get key(): number {
    return this.site.id;
  }
  get cache(): string {
    return this.site.cache;
  }
  /* The cache as shown: the merged alias that matches the function, or the cache (with "+" when others are merged into it). */
  get cacheLabel(): string {
    /* Most caches have no aliases: no stack frames gathered for them (this runs per row, per refresh). */
    return this.site.cacheAliases.length ? cacheLabel(this.site.cache, this.site.function, this.site.cacheAliases, stackFrames(this.site)) : this.site.cache;
  }
  get module(): string {
    return this.site.module ?? '';
  }
  /*
   * Live figures as shown and ranked: the estimates, which leave out the
   * site's share of its cache's phantom objects (equal to the tracked
   * figures unless liveUpperBound).
   */
  get liveBytes(): number {
    return this.site.liveBytesEstimate;
  }
  get liveObjects(): number {
    return this.site.liveObjectsEstimate;
  }
  /* The tracked live figure is an upper bound: the cache holds fewer objects than tracked. */
  /* "(sites map full)": objects of many sizes, live bytes from their average. */
  get mixedSizes(): boolean {
    return this.site.mixedSizes ?? false;
  }
  get liveUpperBound(): boolean {
    return this.site.liveObjectsUpperBound;
  }
  /* Some allocations could not be tracked (live table full): the figure is a lower bound. */
  get liveLowerBound(): boolean {
    return this.site.liveObjectsLowerBound ?? false;
  }
  get allocs(): number {
    return this.site.allocs;
  }
  /* Frees seen and retired, over the session (the report's sort keys, too). */
  get frees(): number {
    return this.site.frees + this.site.freesUnseen;
  }
  get bytesAllocated(): number {
    return this.site.bytesAllocated;
  }
  get bytesRequested(): number {
    return this.site.bytesRequested;
  }
  get allocsPerSec(): number {
    return perSec(this.dAllocs, this.period.dtMs);
  }
  get freesPerSec(): number {
    return perSec(this.dFrees, this.period.dtMs);
  }
  get bytesPerSec(): number {
    return perSec(this.dAllocs * this.site.objectSize, this.period.dtMs);
  }
  /* Requested bytes per allocation. */
  get avgSize(): number {
    return this.site.allocs ? this.site.bytesRequested / this.site.allocs : 0;
  }
  /* 1 - requested / allocated, 0..1. */
  get fragmentation(): number {
    return this.site.bytesAllocated ? 1 - this.site.bytesRequested / this.site.bytesAllocated : 0;
  }
}

export interface CacheRow {
  key: string;
  cache: string;
  liveBytes: number;
  liveObjects: number;
  allocsPerSec: number;
  freesPerSec: number;
  sites: number;
  slabActive: number | null;
  phantomObjects: number;
}

/* --by-cgroup: one memory cgroup's totals over all sites, with its allocation rate. */
export interface CgroupViewRow extends CgroupRow {
  key: string;
  allocsPerSec: number;
}

export interface ShrinkerRow extends Shrinker {
  key: string;
  unfreed: number;
}

export interface Header {
  /* What is off on this kernel, with what it needs (model/features.ts); null when everything is on. */
  featuresOff: string | null;
  tracingMs: number;
  liveBytes: number;
  liveObjects: number;
  allocsPerSec: number;
  freesPerSec: number;
  /* Share of this period's frees in softirq, hardirq or NMI context, 0..1; null without frees or contexts. */
  irqFreeShare: number | null;
  lost: { label: string; count: number }[];
  approximateBy: number;
  phantomObjects: number;
  /* Sites whose tracked live figures are upper bounds (their caches hold fewer objects). */
  upperBoundSites: number;
  memory: Verdict | null;
  contextSource: Snapshot['contextSource'];
  /* Sampling on: 1 object in this many tracked, live and free figures are estimates; null: all tracked. */
  sampleOneIn: number | null;
  /* --pages: failed page allocations so far, and the largest order among them; null without --pages. */
  pageFailures: { count: number; maxOrder: number } | null;
}

export interface UiModel {
  header: Header;
  /* The baseline the growth columns count from; null: none. */
  baseline: Baseline | null;
  sites: SiteRow[];
  caches: CacheRow[];
  shrinkers: ShrinkerRow[] | null;
  reclaimUnavailable: string | null;
  /* null: not recorded (no --by-cgroup). */
  cgroups: CgroupViewRow[] | null;
  memcgHierarchy: string | null;
  /* --older N: live figures count only objects live at least N seconds. */
  olderThan: number | null;
  /* kmemtop replay: the frame shown ("05:10:35 UTC, frame 12 of 240"); absent live. */
  replayAt?: string;
}

/* The call site without its module, as the site column shows it. */
/* The splits this site has (recorded with --stacks, --by-cgroup, --by-task), in the order c walks them. */
export function siteSplits(s: Site): Split[] {
  return SPLITS.filter((k) => s[k] !== undefined);
}

export function siteLabelShort(s: Site): string {
  return formatSymbol({ function: s.function, offset: s.offset, module: null });
}

/*
 * Per-site live bytes over the session (for the detail pane's sparkline):
 * a ring of HISTORY_SAMPLES per site number.  Sites never go away within a
 * session (counters only grow), so nothing is pruned.
 */
export class History {
  /* Float32: a sparkline needs no more precision, and 10k sites x 60 samples stay at 2.4 MB. */
  private readonly rings = new Map<number, Float32Array>();
  private count = 0;

  add(rows: SiteRow[]): void {
    const slot = this.count % HISTORY_SAMPLES;
    for (const r of rows) {
      let ring = this.rings.get(r.key);
      if (!ring) {
        ring = new Float32Array(HISTORY_SAMPLES).fill(NaN);
        this.rings.set(r.key, ring);
      }
      ring[slot] = r.liveBytes;
    }
    this.count++;
  }

  /* Oldest first; only the samples taken since the site appeared. */
  get(key: number): number[] {
    const ring = this.rings.get(key);
    if (!ring) return [];
    const out: number[] = [];
    const n = Math.min(this.count, HISTORY_SAMPLES);
    for (let i = this.count - n; i < this.count; i++) {
      const v = ring[i % HISTORY_SAMPLES];
      if (!Number.isNaN(v)) out.push(v);
    }
    return out;
  }
}

function perSec(delta: number, dtMs: number): number {
  return dtMs > 0 ? (delta * 1000) / dtMs : 0;
}

/*
 * prevModel (optional): the model built from prev.  A site whose Site is the
 * very object it was in prev (its counters did not move) and whose row then
 * showed no activity keeps that row: with thousands of idle sites, a refresh
 * builds rows only for the busy ones.
 */
export function buildUiModel(
  cur: Snapshot,
  prev: Snapshot | null,
  dtMs: number,
  mem: MemInfo | null,
  prevModel: UiModel | null = null,
  baseline: Baseline | null = null,
): UiModel {
  /* By site number, sized once (thousands of sites: no growing arrays every refresh). */
  let ids = 0;
  for (const s of cur.sites) ids = Math.max(ids, s.id + 1);
  const before = new Array<Site | undefined>(ids);
  if (prev) for (const s of prev.sites) before[s.id] = s;
  const rowsBefore = new Array<SiteRow | undefined>(ids);
  /* Rows are kept only under the same baseline (their growth counts from it). */
  if (prevModel && prevModel.baseline === baseline) for (const r of prevModel.sites) rowsBefore[r.key] = r;
  const period = { dtMs };
  const keyTaken = new Set<string>();
  const baseOf = (s: Site): Live | null | undefined => {
    if (!baseline) return undefined;
    if (baseline.byId) return baseline.byId.get(s.id) ?? null;
    const k = siteKeyOf(s);
    if (keyTaken.has(k)) return null;
    keyTaken.add(k);
    return baseline.byKey?.get(k) ?? null;
  };
  const sites: SiteRow[] = cur.sites.map((s) => {
    const key = s.id;
    const p = before[key];
    const kept = rowsBefore[key];
    const base = baseOf(s);
    if (kept && p === s && kept.site === s && kept.dAllocs === 0 && kept.dFrees === 0 && kept.base === base) return kept;
    const dAllocs = s.allocs - (p?.allocs ?? 0);
    const dFrees = s.frees + s.freesUnseen - ((p?.frees ?? 0) + (p?.freesUnseen ?? 0));
    return new SiteRow(s, dAllocs, dFrees, period, base);
  });

  const caches = new Map<string, CacheRow>();
  for (const r of sites) {
    const c = caches.get(r.cache) ?? {
      key: r.cache,
      cache: r.cache,
      liveBytes: 0,
      liveObjects: 0,
      allocsPerSec: 0,
      freesPerSec: 0,
      sites: 0,
      slabActive: null,
      phantomObjects: 0,
    };
    c.liveBytes += r.site.liveBytes;
    c.liveObjects += r.site.liveObjects;
    c.allocsPerSec += r.allocsPerSec;
    c.freesPerSec += r.freesPerSec;
    c.sites++;
    caches.set(r.cache, c);
  }
  for (const corr of cur.caches ?? []) {
    const c = caches.get(corr.cache);
    if (c) {
      c.slabActive = corr.slabActiveObjects;
      c.phantomObjects = corr.phantomObjects;
    }
  }

  const t = cur.totals;
  const pt = prev?.totals;
  const dFreesCtx = { ...t.freesByContext };
  if (pt) for (const k of Object.keys(dFreesCtx) as (keyof typeof dFreesCtx)[]) dFreesCtx[k] -= pt.freesByContext[k];
  const dFreesAll = sumContexts(dFreesCtx);
  const l = cur.lost;
  return {
    header: {
      featuresOff: featuresOffLine(cur.kernelFeatures ?? []),
      tracingMs: cur.window.durationMs,
      liveBytes: t.liveBytes,
      liveObjects: t.liveObjects,
      allocsPerSec: perSec(t.allocs - (pt?.allocs ?? 0), dtMs),
      freesPerSec: perSec(t.frees + t.freesUnseen - ((pt?.frees ?? 0) + (pt?.freesUnseen ?? 0)), dtMs),
      irqFreeShare:
        cur.contextSource === 'unknown' || dFreesAll === 0 ? null : (dFreesCtx.softirq + dFreesCtx.hardirq + dFreesCtx.nmi) / dFreesAll,
      lost: [
        { label: 'recursion', count: l.recursionMisses },
        { label: 'sites full', count: l.sitesFull },
        { label: 'live full', count: l.liveFull },
        { label: 'update failed', count: l.liveUpdateFailed },
        { label: 'site missing', count: l.siteMissing },
      ].filter((x) => x.count > 0),
      approximateBy: cur.accuracy.maxLiveObjectsError,
      phantomObjects: t.phantomObjects,
      upperBoundSites: cur.accuracy.upperBoundSites ?? 0,
      memory: mem ? memoryVerdict(mem) : null,
      contextSource: cur.contextSource,
      sampleOneIn: cur.sampling ? cur.sampling.oneIn : null,
      pageFailures: cur.pageFailures
        ? { count: cur.pageFailures.reduce((n, f) => n + f.count, 0), maxOrder: cur.pageFailures.reduce((n, f) => Math.max(n, f.order), 0) }
        : null,
    },
    baseline,
    sites,
    caches: [...caches.values()],
    shrinkers: cur.shrinkers ? cur.shrinkers.map((s) => ({ ...s, key: s.name, unfreed: s.requested - s.freed })) : null,
    reclaimUnavailable: cur.reclaimUnavailable,
    cgroups: cgroupViewRows(cur, prev, dtMs),
    memcgHierarchy: cur.memcgHierarchy,
    olderThan: cur.olderThan,
  };
}

function cgroupViewRows(cur: Snapshot, prev: Snapshot | null, dtMs: number): CgroupViewRow[] | null {
  if (!cur.cgroups) return null;
  const before = new Map((prev?.cgroups ?? []).map((c) => [c.path, c.allocs]));
  return cur.cgroups.map((c) => ({ ...c, key: c.path, allocsPerSec: perSec(c.allocs - (before.get(c.path) ?? 0), dtMs) }));
}

type AnyRow = SiteRow | CacheRow | ShrinkerRow | CgroupViewRow;

function matches(r: AnyRow, filter: string): boolean {
  if (!filter) return true;
  const f = filter.toLowerCase();
  const text = 'site' in r ? `${r.site.function} ${r.cache} ${r.module}` : 'cache' in r ? r.cache : 'path' in r ? `${r.path} ${r.topSite ?? ''}` : r.name;
  return text.toLowerCase().includes(f);
}

/* viewRows() results per model: a key press and the paint that follows share one sort. */
const rowsMemo = new WeakMap<UiModel, Map<string, AnyRow[]>>();

/* The current view's rows: filtered, sorted by the view's sort column (largest first unless reversed). */
export function viewRows(m: UiModel, s: UiState): AnyRow[] {
  const memoKey = `${s.view}\0${s.sort[s.view]}\0${s.reverse}\0${s.filter}`;
  let memo = rowsMemo.get(m);
  if (!memo) rowsMemo.set(m, (memo = new Map()));
  const hit = memo.get(memoKey);
  if (hit) return hit;
  const rows = computeViewRows(m, s);
  memo.set(memoKey, rows);
  return rows;
}

function computeViewRows(m: UiModel, s: UiState): AnyRow[] {
  const rows: AnyRow[] = s.view === 'sites' ? m.sites : s.view === 'caches' ? m.caches : s.view === 'cgroups' ? (m.cgroups ?? []) : (m.shrinkers ?? []);
  const key = s.sort[s.view];
  const value = (r: AnyRow) => (r as unknown as Record<string, number>)[key] ?? 0;
  const tie = (a: AnyRow, b: AnyRow) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0);
  const sorted = rows.filter((r) => matches(r, s.filter)).sort((a, b) => value(b) - value(a) || tie(a, b));
  return s.reverse ? sorted.reverse() : sorted;
}

export function sortLabel(view: View, key: string): string {
  return SORTS[view].includes(key) ? key : SORTS[view][0];
}
