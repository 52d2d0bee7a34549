/*
 * The snapshot model: pure functions from a RawSnapshot (what the maps
 * held) to what kmemtop reports.  No I/O here; the symbolizer is passed in.
 */
import type { RawSnapshot, ProgramStats } from '../tracer';
import type { Symbol } from '../sys/kallsyms';
import type { LostKey, CounterKey, CacheInfo, SiteStats } from '../abi/layout';

export const SCHEMA_VERSION = 1;

export interface Site {
  function: string;
  offset: number;
  module: string | null;
  /* Slab cache name for kmem_cache_alloc sites; null for kmalloc sites. */
  cache: string | null;
  allocs: number;
  frees: number;
  freesUnseen: number;
  untrackedAllocs: number;
  failedAllocs: number;
  bytesRequested: number;
  bytesAllocated: number;
  liveObjects: number;
  liveBytes: number;
}

export interface Totals {
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
  /* Live objects may be off by at most this many (over or under). */
  maxLiveObjectsError: number;
  reasons: string[];
}

export interface Snapshot {
  schemaVersion: number;
  window: { start: string; end: string; durationMs: number };
  totals: Totals;
  lost: Record<LostKey, number> & { recursionMisses: number };
  counters: Record<CounterKey, number>;
  accuracy: Accuracy;
  programs: ProgramStats[];
  maps: RawSnapshot['maps'];
  sites: Site[];
}

export type Resolver = (ip: bigint) => Symbol | null;

export interface SiteBytes {
  requested: number;
  allocated: number;
  freed: number;
  untracked: number;
  unseen: number;
}

/*
 * Byte sums of a site.  kmalloc sites count bytes in the kernel; a cache
 * site's objects all have the cache's sizes, so the kernel counts objects
 * only and the bytes follow from the cache (see struct site_stats).
 */
export function siteBytes(s: SiteStats, cache: CacheInfo | null): SiteBytes {
  if (!cache) {
    return { requested: s.bytes_req, allocated: s.bytes_alloc, freed: s.freed_bytes, untracked: s.untracked_bytes, unseen: s.unseen_bytes };
  }
  return {
    requested: s.allocs * cache.objectSize,
    allocated: s.allocs * cache.size,
    freed: s.frees * cache.size,
    untracked: s.untracked_allocs * cache.size,
    unseen: s.frees_unseen * cache.size,
  };
}

/* One site of the model. cache: the site's slab cache, null for kmalloc sites. */
export function toSite(raw: RawSnapshot['sites'][number], sym: Symbol | null, cache: CacheInfo | null): Site {
  const s = raw.stats;
  const isCacheSite = raw.key.cache !== 0n;
  const b = siteBytes(s, isCacheSite ? (cache ?? { name: '[unknown cache]', objectSize: 0, size: 0 }) : null);
  return {
    function: sym ? sym.function : '[unknown]',
    offset: sym ? sym.offset : 0,
    module: sym ? sym.module : null,
    cache: isCacheSite ? (cache?.name ?? '[unknown cache]') : null,
    allocs: s.allocs,
    frees: s.frees,
    freesUnseen: s.frees_unseen,
    untrackedAllocs: s.untracked_allocs,
    failedAllocs: s.failed_allocs,
    bytesRequested: b.requested,
    bytesAllocated: b.allocated,
    liveObjects: s.allocs - s.untracked_allocs - s.frees - s.frees_unseen,
    liveBytes: b.allocated - b.untracked - b.freed - b.unseen,
  };
}

export function totalsOf(sites: Site[]): Totals {
  const t: Totals = { sites: sites.length, allocs: 0, frees: 0, freesUnseen: 0, bytesRequested: 0, bytesAllocated: 0, liveObjects: 0, liveBytes: 0 };
  for (const s of sites) {
    t.allocs += s.allocs;
    t.frees += s.frees;
    t.freesUnseen += s.freesUnseen;
    t.bytesRequested += s.bytesRequested;
    t.bytesAllocated += s.bytesAllocated;
    t.liveObjects += s.liveObjects;
    t.liveBytes += s.liveBytes;
  }
  return t;
}

/*
 * How far the live figures can be from the truth, from what the programs
 * counted as lost and what the kernel counted as skipped runs.
 *  - a skipped free run leaves an object looking live (over-count by one);
 *  - a skipped allocation run, a full sites map: an allocation never counted;
 *  - a full live map: an allocation counted but excluded from live figures.
 * Address reuse (freesUnseen) corrects an over-count and is reported, but is
 * itself exact about the object it retires.
 */
export function accuracyOf(lost: Snapshot['lost']): Accuracy {
  const reasons: string[] = [];
  const add = (n: number, what: string) => {
    if (n > 0) reasons.push(`${n} ${what}`);
    return n;
  };
  const bound =
    add(lost.recursionMisses, 'program runs skipped by recursion protection') +
    add(lost.sitesFull, 'allocations not counted (sites map full)') +
    add(lost.liveFull, 'allocations not tracked (live map full)') +
    add(lost.liveUpdateFailed, 'live map updates failed') +
    add(lost.siteMissing, 'frees whose site entry was missing');
  return { approximate: bound > 0, maxLiveObjectsError: bound, reasons };
}

export function buildSnapshot(raw: RawSnapshot, start: { wallTime: Date; monotonicMs: number }, resolve: Resolver): Snapshot {
  const sites = raw.sites.map((r) => toSite(r, resolve(r.key.callSite), raw.caches.get(r.key.cache) ?? null));
  const recursionMisses = raw.programs.reduce((n, p) => n + p.recursionMisses, 0);
  const lost = { ...raw.lost, recursionMisses };
  return {
    schemaVersion: SCHEMA_VERSION,
    window: {
      start: start.wallTime.toISOString(),
      end: raw.wallTime.toISOString(),
      durationMs: Math.max(0, Math.round(raw.monotonicMs - start.monotonicMs)),
    },
    totals: totalsOf(sites),
    lost,
    counters: raw.counters,
    accuracy: accuracyOf(lost),
    programs: raw.programs,
    maps: raw.maps,
    sites,
  };
}

export const SORT_KEYS = ['liveBytes', 'liveObjects', 'allocs', 'frees', 'bytesAllocated', 'bytesRequested'] as const;
export type SortKey = (typeof SORT_KEYS)[number];

/* Sorted copy, largest first (ties by name, so output is stable). */
export function sortSites(sites: Site[], key: SortKey): Site[] {
  return sites.slice().sort((a, b) => b[key] - a[key] || a.function.localeCompare(b.function) || a.offset - b.offset);
}
