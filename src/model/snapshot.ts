/*
 * The snapshot model: pure functions from a RawSnapshot (what the maps
 * held) to what kmemtop reports.  No I/O here; the symbolizer is passed in.
 */
import { KernelFeature, kernelFeatures } from './features';
import type { RawPageFailure, RawSnapshot, ProgramStats, RecursionAccount, SweepInfo } from '../collect/raw';
import type { Symbol } from '../sys/kallsyms';
import { addContexts, ByContext, CacheInfo, CounterKey, FULL_SITE_KEY, LostKey, KMALLOC_SIZE_MASK, KMALLOC_TYPE_SHIFT, KMALLOC_TYPES, PAGE_SITE, PAGE_TYPES, PageType, PERCPU_SITE, VMALLOC_SITE, SiteStats, sumContexts, zeroContexts } from '../abi/layout';
import { boundSites, CacheCorrection, reconcile } from './reconcile';
import type { Resolver, Site } from './site';
import { cgroupRows, CgroupRow, taskRows, TaskRow, withDetails } from './details';
import { withAges } from './ages';
import { decodeGfp, GfpBits, gfpHint } from './gfp';
import { formatSymbol } from '../sys/kallsyms';
import { pageCheck, PageCheckRow } from './pagecheck';
export type { Resolver, Site };
import { Reclaim, reclaimSummary, Shrinker, shrinkerRows } from './shrinkers';
import type { SlabNames } from '../sys/slabaliases';

export const SCHEMA_VERSION = 1;

export interface Totals {
  /* Live figures less the per-cache phantom corrections (see reconcile.ts). */
  liveObjectsCorrected: number;
  liveBytesCorrected: number;
  phantomObjects: number;
  phantomBytes: number;
  allocsByContext: ByContext;
  freesByContext: ByContext;
  sites: number;
  allocs: number;
  frees: number;
  freesUnseen: number;
  bytesRequested: number;
  bytesAllocated: number;
  liveObjects: number;
  liveBytes: number;
}

export interface Accuracy {
  approximate: boolean;
  /*
   * Live objects may be off by at most this many (over or under): the
   * losses counted, plus every tracked live object of a site whose figure
   * is an upper bound (any of them may be phantom).
   */
  maxLiveObjectsError: number;
  /* Tracked live objects proven dead: above what their caches hold (/proc/slabinfo). */
  phantomObjects: number;
  /* Sites whose live figures are upper bounds (their cache holds fewer objects than tracked). */
  upperBoundSites: number;
  /* Sites whose live figures are lower bounds (some of their allocations could not be tracked: live table full). */
  lowerBoundSites: number;
  /* false when /proc/slabinfo could not be read: no tracked figure was checked against what its cache holds (no upper bounds found). */
  slabinfoRead?: boolean;
  /* Whether dead objects whose slab is gone were swept before this read (see sweep.ts). */
  sweep: 'on' | 'off';
  reasons: string[];
}

export interface Snapshot {
  schemaVersion: number;
  contextSource: RawSnapshot['contextSource'];
  window: { start: string; end: string; durationMs: number };
  totals: Totals;
  lost: Record<LostKey, number> & { recursionMisses: number };
  counters: Record<CounterKey, number>;
  accuracy: Accuracy;
  /* null: every object tracked, every figure exact (up to the losses counted). */
  sampling: Sampling | null;
  /* Per slab cache: tracked live objects against /proc/slabinfo; null when unreadable. */
  caches: CacheCorrection[] | null;
  programs: ProgramStats[];
  recursion: RecursionAccount[];
  maps: RawSnapshot['maps'];
  sites: Site[];
  /* --by-cgroup: totals per memory cgroup of the allocating tasks (null without it), and the hierarchy the paths are in. */
  cgroups: CgroupRow[] | null;
  /* --by-task: totals per allocating process (null without it). */
  tasks: TaskRow[] | null;
  memcgHierarchy: string | null;
  /* --pages: the pages the slab allocator took and gave back while tracing (not in the sites: their objects are); null without --pages. */
  slabPages: { allocs: number; frees: number; livePages: number; liveBytes: number } | null;
  /* --pages: the pages vmalloc allocated for its areas while tracing (the vmalloc sites count the areas); null without --pages. */
  vmallocPages: Snapshot['slabPages'];
  /* --pages: failed page allocations by call site, order and flags (most first); null without --pages. */
  pageFailures: PageFailure[] | null;
  /* --pages: traced figures against /proc/meminfo's growth since tracing began (null: not traced, or unknown). */
  pageCheck: PageCheckRow[] | null;
  /* --older N: the live figures are those of objects live for at least N seconds; null: all live objects. */
  olderThan: number | null;
  /* Why sites carry no ages (no sweep on this kernel), or null. */
  agesUnavailable: string | null;
  /* Shrinkers and reclaim; null (with the reason) when not traced. */
  shrinkers: Shrinker[] | null;
  reclaim: Reclaim | null;
  reclaimUnavailable: string | null;
  /* The sweep of live entries whose slab is gone: on, or why not. */
  sweep: SweepInfo;
  /* What this kernel allows (model/features.ts). */
  kernelFeatures: KernelFeature[];
}


/* Largest kmalloc served by a slab cache (KMALLOC_MAX_CACHE_SIZE, 2 pages); above it, pages. */
export const KMALLOC_MAX_CACHE_SIZE = 8192;

/* The row of allocations at call sites the site map had no room for (bpf/kmemtop.h). */
export const SITES_FULL_ROW = '(sites map full)';

export function isFullSiteKey(key: { callSite: bigint; cache: bigint }): boolean {
  return key.callSite === 0n && key.cache === FULL_SITE_KEY;
}

/* "(sites map full)": counted like any site, but its objects differ in size (bytes_req sums their allocated bytes). */
function fullSite(idx: number, s: SiteStats): Site {
  const allocs = sumContexts(s.allocs);
  const frees = sumContexts(s.frees);
  const liveObjects = allocs - s.untrackedAllocs - frees - s.freesUnseen;
  const objectSize = allocs ? Math.round(s.bytesReq / allocs) : 0;
  return {
    id: idx,
    function: SITES_FULL_ROW,
    offset: 0,
    module: null,
    allocator: 'slab',
    kind: 'cache',
    cache: '(mixed)',
    objectSize,
    allocs,
    frees,
    freesUnseen: s.freesUnseen,
    untrackedAllocs: s.untrackedAllocs,
    failedAllocs: s.failedAllocs,
    bytesRequested: s.bytesReq,
    bytesAllocated: s.bytesReq,
    liveObjects,
    liveBytes: liveObjects * objectSize,
    liveObjectsUpperBound: false,
    liveObjectsLowerBound: s.untrackedAllocs > 0,
    liveObjectsEstimate: liveObjects,
    liveBytesEstimate: liveObjects * objectSize,
    mixedSizes: true,
    cacheAliases: [],
    cacheReclaimable: false,
    allocsByContext: s.allocs,
    freesByContext: s.frees,
  };
}

/*
 * Name of a kmalloc's cache, as the kernel names it: the size class
 * (kmalloc-96, kmalloc-2k) and the type the kernel picked from the call's
 * flags (kmalloc-cg-2k, kmalloc-rcl-96, dma-kmalloc-8; KMALLOC_TYPES).
 */
const kmallocNames = new Map<number, string>();
export function kmallocCacheName(size: number, type = 0): string {
  const k = size * 4 + type;
  let name = kmallocNames.get(k);
  if (name === undefined) {
    if (size > KMALLOC_MAX_CACHE_SIZE) name = 'kmalloc-large';
    else name = `${KMALLOC_TYPES[type]?.prefix ?? 'kmalloc-'}${size >= 1024 && size % 1024 === 0 ? `${size / 1024}k` : size}`;
    kmallocNames.set(k, name);
  }
  return name;
}

/*
 * A site's key.cache: below 2^32 it is a kmalloc site's allocated size,
 * otherwise a struct kmem_cache pointer (see struct site_key).
 */
export function isKmallocKey(cache: bigint): boolean {
  return cache < 0x1_0000_0000n && (cache & (PAGE_SITE | PERCPU_SITE | VMALLOC_SITE)) === 0n;
}

/* A vmalloc site (--pages): the key's cache is VMALLOC_SITE | the area's pages. */
export function isVmallocKey(cache: bigint): boolean {
  return cache < 0x1_0000_0000n && (cache & (PAGE_SITE | PERCPU_SITE)) === 0n && (cache & VMALLOC_SITE) !== 0n;
}

/* A percpu site (--pages): the key's cache is PERCPU_SITE | the bytes on all CPUs. */
export function isPercpuKey(cache: bigint): boolean {
  return cache < 0x1_0000_0000n && (cache & PAGE_SITE) === 0n && (cache & PERCPU_SITE) !== 0n;
}

/* A page site (--pages): the key's cache is PAGE_SITE | order. */
export function isPageKey(cache: bigint): boolean {
  return cache < 0x1_0000_0000n && (cache & PAGE_SITE) !== 0n;
}

export const PAGE_SIZE = 4096;

/*
 * Page sites whose call site is the slab allocator itself (a new slab, a
 * large kmalloc): their pages hold objects the slab sites count already, so
 * they are summed apart (Snapshot.slabPages), never in the sites.
 */
/* Page sites inside vmalloc: the pages of its areas, which the vmalloc sites count already (Snapshot.vmallocPages). */
export const VMALLOC_PAGE_FNS = /^(__vmalloc_node_range|__vmalloc_area_node|vm_area_alloc_pages|__vmalloc_node)(_noprof)?(\.constprop\.\d+|\.isra\.\d+)?$/;

export const SLAB_PAGE_FNS = /^(allocate_slab|new_slab|___slab_alloc|__slab_alloc|alloc_slab_page|___kmalloc_large_node|__kmalloc_large_node|__kmalloc_large_node_noprof|kmalloc_large|kmalloc_large_node|__kmalloc_large_noprof|__kmalloc_large_node_noprof)(\.constprop\.\d+|\.isra\.\d+)?$/;

/*
 * One site of the model.  The kernel counts objects; bytes follow from the
 * object size (every object of a site has the same one, see struct site_stats).
 */
export function toSite(
  raw: RawSnapshot['sites'][number],
  sym: Symbol | null,
  cache: CacheInfo | null,
  sampleOneIn = 1,
  names: SlabNames | null = null,
): Site {
  const s: SiteStats = sampleOneIn > 1 ? estimateSampled(raw.stats, sampleOneIn) : raw.stats;
  if (isFullSiteKey(raw.key)) return fullSite(raw.idx, s);
  const page = isPageKey(raw.key.cache);
  const percpu = isPercpuKey(raw.key.cache);
  const vmalloc = isVmallocKey(raw.key.cache);
  const order = page ? Number(raw.key.cache & 0xffn) : 0;
  const pageType: PageType | undefined = page ? (PAGE_TYPES[Number((raw.key.cache >> 8n) & 0xffn)]?.key ?? 'other') : undefined;
  const kmalloc = isKmallocKey(raw.key.cache);
  const size = page ? PAGE_SIZE << order : vmalloc ? Number(raw.key.cache & (VMALLOC_SITE - 1n)) * PAGE_SIZE : percpu ? Number(raw.key.cache & (PERCPU_SITE - 1n)) : kmalloc ? Number(raw.key.cache & KMALLOC_SIZE_MASK) : (cache?.size ?? 0);
  const allocs = sumContexts(s.allocs);
  const frees = sumContexts(s.frees);
  const liveObjects = allocs - s.untrackedAllocs - frees - s.freesUnseen;
  const cacheName = page ? `page-order-${order}${pageType === 'unmovable' ? '' : `-${pageType}`}` : percpu ? 'percpu' : vmalloc ? 'vmalloc' : kmalloc ? kmallocCacheName(size, Number(raw.key.cache >> KMALLOC_TYPE_SHIFT)) : (cache?.name ?? '[unknown cache]');
  return {
    id: raw.idx,
    function: sym ? sym.function : '[unknown]',
    offset: sym ? sym.offset : 0,
    module: sym ? sym.module : null,
    allocator: page ? 'page' : percpu ? 'percpu' : vmalloc ? 'vmalloc' : 'slab',
    ...(page ? { order, pageType } : {}),
    kind: page ? 'page' : percpu ? 'percpu' : vmalloc ? 'vmalloc' : kmalloc ? 'kmalloc' : 'cache',
    cache: cacheName,
    objectSize: size,
    allocs,
    frees,
    freesUnseen: s.freesUnseen,
    untrackedAllocs: s.untrackedAllocs,
    failedAllocs: s.failedAllocs,
    bytesRequested: page || percpu || vmalloc ? allocs * size : kmalloc ? s.bytesReq : allocs * (cache?.objectSize ?? 0),
    bytesAllocated: allocs * size,
    liveObjects,
    liveBytes: liveObjects * size,
    liveObjectsUpperBound: false,
    liveObjectsLowerBound: s.untrackedAllocs > 0,
    liveObjectsEstimate: liveObjects,
    liveBytesEstimate: liveObjects * size,
    cacheAliases: names?.aliases.get(cacheName) ?? [],
    cacheReclaimable: !kmalloc && !page && !percpu && !vmalloc && (names?.reclaimable.has(cacheName) ?? false),
    allocsByContext: s.allocs,
    freesByContext: s.frees,
  };
}

/* total split over the contexts in proportion to weights (all in unknown when every weight is 0); sums to total. */
export function apportion(total: number, weights: ByContext): ByContext {
  const sum = sumContexts(weights);
  const out = zeroContexts();
  if (sum === 0) {
    out.unknown = total;
    return out;
  }
  let given = 0;
  let largest: keyof ByContext = 'task';
  for (const k of Object.keys(out) as (keyof ByContext)[]) {
    out[k] = Math.floor((total * weights[k]) / sum);
    given += out[k];
    if (weights[k] > weights[largest]) largest = k;
  }
  out[largest] += total - given;
  return out;
}

/*
 * Sampling (1 object in n tracked, chosen by address): the site's counters
 * as estimates for all its objects.  Allocations (and their bytes, by
 * context) were counted for every object and stay exact.  Live objects are
 * the tracked objects still live, times n: a live object is one address, and
 * addresses are sampled uniformly.  Frees are not estimated from the
 * tracked frees times n: a churning site hands out the same few addresses
 * again and again, so its tracked frees are all or nothing; instead what
 * was allocated and is neither live nor untracked is gone, split between
 * frees and retirements (and frees between contexts) as the tracked ones
 * were.  So allocs = untracked + frees + freesUnseen + live still holds.
 */
export function estimateSampled(s: SiteStats, n: number): SiteStats {
  const allocs = sumContexts(s.allocs);
  const trackedFrees = sumContexts(s.frees);
  const live = Math.min(Math.max(0, n * (s.sampledAllocs - s.untrackedAllocs - trackedFrees - s.freesUnseen)), allocs);
  const untracked = Math.min(n * s.untrackedAllocs, allocs - live);
  const gone = allocs - live - untracked;
  const trackedGone = trackedFrees + s.freesUnseen;
  const unseen = trackedGone ? Math.round((gone * s.freesUnseen) / trackedGone) : 0;
  return {
    ...s,
    frees: apportion(gone - unseen, s.frees),
    freesUnseen: unseen,
    untrackedAllocs: untracked,
    sampledAllocs: s.sampledAllocs,
  };
}

/*
 * Sampling, when on: 1 object in oneIn was tracked, so every per-site and
 * total figure of frees and live objects is an estimate (see
 * estimateSampled); counts of allocations are exact, and so is freeEvents,
 * every free event seen (tracked object or not; NULL frees excluded).
 */
export interface Sampling {
  oneIn: number;
  freeEvents: number;
}

export function samplingOf(raw: RawSnapshot): Sampling | null {
  if (!(raw.sampleOneIn > 1)) return null;
  const trackedFrees = raw.sites.reduce((n, r) => n + sumContexts(r.stats.frees), 0);
  return { oneIn: raw.sampleOneIn, freeEvents: trackedFrees + raw.counters.unsampledFrees + raw.lost.untrackedFrees };
}


export function totalsOf(sites: Site[], corrections: CacheCorrection[] = []): Totals {
  const t: Totals = {
    sites: sites.length,
    allocs: 0,
    frees: 0,
    freesUnseen: 0,
    bytesRequested: 0,
    bytesAllocated: 0,
    liveObjects: 0,
    liveBytes: 0,
    allocsByContext: zeroContexts(),
    freesByContext: zeroContexts(),
    liveObjectsCorrected: 0,
    liveBytesCorrected: 0,
    phantomObjects: 0,
    phantomBytes: 0,
  };
  const a = t.allocsByContext;
  const f = t.freesByContext;
  for (const s of sites) {
    addContexts(a, s.allocsByContext);
    addContexts(f, s.freesByContext);
    t.allocs += s.allocs;
    t.frees += s.frees;
    t.freesUnseen += s.freesUnseen;
    t.bytesRequested += s.bytesRequested;
    t.bytesAllocated += s.bytesAllocated;
    t.liveObjects += s.liveObjects;
    t.liveBytes += s.liveBytes;
  }
  for (const c of corrections) {
    t.phantomObjects += c.phantomObjects;
    t.phantomBytes += c.phantomBytes;
  }
  t.liveObjectsCorrected = t.liveObjects - t.phantomObjects;
  t.liveBytesCorrected = t.liveBytes - t.phantomBytes;
  return t;
}

/*
 * How far the live figures can be from the truth, from what the programs
 * counted as lost, what the kernel counted as skipped runs, and what the
 * caches hold:
 *  - a skipped free run leaves an object looking live (over-count by one);
 *  - a skipped allocation run, a full sites map: an allocation never counted;
 *  - a full live map: an allocation counted but excluded from live figures;
 *  - a cache holding fewer objects than tracked (phantom): its sites' live
 *    figures are upper bounds, any of their objects may be dead.
 * Address reuse and the sweep (freesUnseen, slabGone) correct over-counts
 * and are reported, but are exact about the objects they retire.
 */
/*
 * The losses that make live figures approximate (and a gate's growth
 * uncertain): the one table of them, with the label the text views print
 * and the reason accuracy gives.
 */
export const LIVE_LOSSES = [
  { key: 'recursionMisses', label: 'recursion misses', reason: 'events skipped by recursion protection and not caught' },
  { key: 'sitesFull', label: 'sites map full', reason: 'allocations at call sites not named (sites map full: counted on its row, sizes averaged)' },
  { key: 'liveFull', label: 'live map full', reason: 'allocations not tracked (live map full)' },
  { key: 'liveUpdateFailed', label: 'live map update failed', reason: 'live map updates failed' },
  { key: 'siteMissing', label: 'site missing', reason: 'frees whose site entry was missing' },
] as const;
export type LiveLossKey = (typeof LIVE_LOSSES)[number]['key'];

/* Without /proc/slabinfo the phantom check is off: said, not silent. */
export const SLABINFO_UNREADABLE = '/proc/slabinfo unreadable: tracked live objects were not checked against what their caches hold (phantoms cannot be told)';

function withSlabinfo(a: Accuracy, read: boolean): Accuracy {
  return read ? { ...a, slabinfoRead: true } : { ...a, slabinfoRead: false, approximate: true, reasons: [...a.reasons, SLABINFO_UNREADABLE] };
}

export function accuracyOf(
  lost: Snapshot['lost'],
  sampling: Sampling | null = null,
  sites: (Pick<Site, 'liveObjects' | 'liveObjectsUpperBound'> & Partial<Pick<Site, 'liveObjectsLowerBound'>>)[] = [],
  phantomObjects = 0,
  sweep: Pick<SweepInfo, 'available' | 'reason'> = { available: true, reason: null },
): Accuracy {
  const reasons: string[] = [];
  if (sampling) reasons.push(`live figures estimated from 1 object in ${sampling.oneIn}`);
  const add = (n: number, what: string) => {
    if (n > 0) reasons.push(`${n} ${what}`);
    return n;
  };
  const losses = LIVE_LOSSES.reduce((n, x) => n + add(lost[x.key], x.reason), 0);
  let upperBoundSites = 0;
  let inDoubt = 0;
  const lowerBoundSites = sites.filter((s) => s.liveObjectsLowerBound).length;
  for (const s of sites) {
    if (!s.liveObjectsUpperBound) continue;
    upperBoundSites++;
    inDoubt += Math.max(0, s.liveObjects);
  }
  if (upperBoundSites) {
    reasons.push(`${phantomObjects} tracked live objects are dead (their caches hold fewer): the live figures of ${upperBoundSites} sites are upper bounds`);
  }
  if (!sweep.available && sweep.reason) reasons.push(sweep.reason);
  return {
    approximate: losses > 0 || sampling !== null || upperBoundSites > 0,
    maxLiveObjectsError: losses + inDoubt,
    phantomObjects,
    upperBoundSites,
    lowerBoundSites,
    sweep: sweep.available ? 'on' : 'off',
    reasons,
  };
}

/*
 * Events lost to the kernel's recursion protection: every skipped run of a
 * program without a *_nested backup, and the skipped runs of a free program
 * its *_nested program did not catch (see RecursionAccount).
 */
export function eventsLostToRecursion(accounts: RecursionAccount[]): number {
  return accounts.reduce((n, a) => n + Math.max(0, a.misses - (a.caught ?? 0)), 0);
}

/* Site of each RawSite object already seen, per sampling rate (inputs are never mutated: same object, same Site). */
const siteMemo = new Map<number, WeakMap<RawSnapshot['sites'][number], Site>>();

export interface PageFailure {
  /* The call site (the first frame after the allocator); "[unknown]" when not found. */
  site: string;
  order: number;
  /* Decoded ("GFP_KERNEL|__GFP_NOWARN"), and as the kernel gave it. */
  gfp: string;
  gfpFlags: number;
  count: number;
  /* What the flags and order say (no direct reclaim, allowed to fail, high order). */
  hint: string;
}

function pageFailures(raw: RawPageFailure[], bits: GfpBits, resolve: Resolver): PageFailure[] {
  return raw
    .map((f) => {
      const sym = f.callSite ? resolve(f.callSite) : null;
      return { site: sym ? formatSymbol(sym) : '[unknown]', order: f.order, gfp: decodeGfp(f.gfp, bits), gfpFlags: f.gfp, count: f.count, hint: gfpHint(f.gfp, f.order, bits) };
    })
    .sort((a, b) => b.count - a.count || b.order - a.order || a.site.localeCompare(b.site));
}

function slabPagesOf(sites: Site[]): NonNullable<Snapshot['slabPages']> {
  const o = { allocs: 0, frees: 0, livePages: 0, liveBytes: 0 };
  for (const s of sites) {
    o.allocs += s.allocs;
    o.frees += s.frees + s.freesUnseen;
    o.livePages += s.liveObjects << (s.order ?? 0);
    o.liveBytes += s.liveBytes;
  }
  return o;
}

export function buildSnapshot(raw: RawSnapshot, start: { wallTime: Date; monotonicMs: number }, resolve: Resolver): Snapshot {
  let memo = siteMemo.get(raw.sampleOneIn);
  if (!memo) siteMemo.set(raw.sampleOneIn, (memo = new WeakMap()));
  let tracked = raw.sites.map((r) => {
    /* The collector hands back the same RawSite object for a site whose counters did not move: reuse its Site. */
    const known = memo.get(r);
    if (known) return known;
    const site = toSite(r, resolve(r.key.callSite), raw.caches.get(r.key.cache) ?? null, raw.sampleOneIn, raw.slabNames);
    memo.set(r, site);
    return site;
  });
  /* --pages: the slab allocator's own pages are summed apart (their objects are the slab sites'). */
  const slabPageSites = raw.pages ? tracked.filter((s) => s.allocator === 'page' && SLAB_PAGE_FNS.test(s.function)) : [];
  const vmallocPageSites = raw.pages ? tracked.filter((s) => s.allocator === 'page' && VMALLOC_PAGE_FNS.test(s.function)) : [];
  if (slabPageSites.length || vmallocPageSites.length) {
    const out = new Set([...slabPageSites, ...vmallocPageSites]);
    tracked = tracked.filter((s) => !out.has(s));
  }
  const slabPages = raw.pages ? slabPagesOf(slabPageSites) : null;
  const caches = raw.slabs ? reconcile(tracked, raw.slabs) : null;
  const callSites = new Map(raw.sites.map((r) => [r.idx, r.key.callSite]));
  const sites = withAges(withDetails(boundSites(tracked, caches ?? []), raw.details, callSites, resolve, raw.sampleOneIn), raw.ages, raw.sampleOneIn);
  const lost = { ...raw.lost, recursionMisses: eventsLostToRecursion(raw.recursion) };
  const sampling = samplingOf(raw);
  const totals = totalsOf(sites, caches ?? []);
  return {
    schemaVersion: SCHEMA_VERSION,
    contextSource: raw.contextSource,
    window: {
      start: start.wallTime.toISOString(),
      end: raw.wallTime.toISOString(),
      durationMs: Math.max(0, Math.round(raw.monotonicMs - start.monotonicMs)),
    },
    totals,
    lost,
    counters: raw.counters,
    accuracy: withSlabinfo(accuracyOf(lost, sampling, sites, totals.phantomObjects, raw.sweep), raw.slabs !== null),
    sampling,
    caches,
    programs: raw.programs,
    recursion: raw.recursion,
    maps: raw.maps,
    sites,
    cgroups: cgroupRows(sites, raw.details, raw.sampleOneIn),
    tasks: taskRows(sites, raw.details, raw.sampleOneIn),
    memcgHierarchy: raw.details?.memcgHierarchy ?? null,
    olderThan: null,
    slabPages,
    vmallocPages: raw.pages ? slabPagesOf(vmallocPageSites) : null,
    pageFailures: raw.pageFailures ? pageFailures(raw.pageFailures.failures, raw.pageFailures.gfpBits, resolve) : null,
    pageCheck:
      raw.pages && raw.meminfo?.now
        ? pageCheck({ sites: tracked, slabPages, sampleOneIn: raw.sampleOneIn }, raw.meminfo.start, raw.meminfo.now)
        : null,
    agesUnavailable: raw.ages ? null : raw.sweep.available ? 'no sweep has run yet' : 'no object ages: they are counted by the sweep, which this kernel lacks',
    shrinkers: raw.reclaim ? shrinkerRows(raw.reclaim, resolve, raw.wallTime) : null,
    reclaim: raw.reclaim ? reclaimSummary(raw.reclaim, raw.wallTime) : null,
    reclaimUnavailable: raw.reclaimUnavailable,
    sweep: raw.sweep,
    kernelFeatures: kernelFeatures(raw.kernelFacts, raw.sweep, raw.reclaimUnavailable),
  };
}

export { SORT_KEYS, rankValue, sortSites } from './sort';
export type { SortKey } from './sort';
