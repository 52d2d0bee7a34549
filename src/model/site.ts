/*
 * One call site as the model reports it, and how addresses become
 * symbols: the types the model's modules share (snapshot.ts builds them).
 */
import type { ByContext, PageType } from '../abi/layout';
import type { Symbol } from '../sys/kallsyms';

export interface Site {
  /* Site number within this tracing session (the kernel's index): not comparable across sessions. */
  id: number;
  function: string;
  offset: number;
  module: string | null;
  /* Which allocator: slab (kmalloc, kmem_cache_alloc) or the page allocator (--pages). */
  allocator: 'slab' | 'page' | 'percpu' | 'vmalloc';
  /* Page sites: the allocation's order (2^order pages each), and its migrate type (movable pages are counted, not tracked). */
  order?: number;
  pageType?: PageType;
  /* kmalloc (keyed by size class), kmem_cache_alloc (keyed by cache), or pages (keyed by order). */
  kind: 'kmalloc' | 'cache' | 'page' | 'percpu' | 'vmalloc';
  /* The slab cache (cache sites) or kmalloc size class ("kmalloc-192", "kmalloc-large"). */
  cache: string;
  /* Bytes each object occupies (the cache's size or the kmalloc size class). */
  objectSize: number;
  allocs: number;
  frees: number;
  freesUnseen: number;
  untrackedAllocs: number;
  failedAllocs: number;
  bytesRequested: number;
  bytesAllocated: number;
  liveObjects: number;
  liveBytes: number;
  /*
   * true: the site's cache holds fewer objects than are tracked live in it
   * (/proc/slabinfo), so liveObjects/liveBytes are upper bounds, and the
   * estimates below take the cache's phantom objects away (reconcile.ts,
   * boundSites).  false: the estimates equal the tracked figures.
   */
  liveObjectsUpperBound: boolean;
  /*
   * Some of the site's allocations could not be tracked (the live table was
   * full: untrackedAllocs > 0), so its live figures count none of them: a
   * lower bound.
   */
  liveObjectsLowerBound: boolean;
  liveObjectsEstimate: number;
  liveBytesEstimate: number;
  /*
   * The "(sites map full)" row: allocations at call sites that found no
   * free index, of many sizes, so objectSize is their average, liveBytes an
   * estimate (live objects x that average) and bytesRequested is what was
   * allocated (the requests are not known).  Absent on every other row.
   */
  mixedSizes?: boolean;
  /* Other caches SLUB merged into this site's cache (/sys/kernel/slab), for naming. */
  cacheAliases: string[];
  /* The cache's objects are freed by shrinkers under pressure (dentries, inodes: SLAB_RECLAIM_ACCOUNT). */
  cacheReclaimable: boolean;
  allocsByContext: ByContext;
  freesByContext: ByContext;
  /* --stacks: the top allocation stacks (innermost frame first) and what the others add up to. */
  stacks?: SiteStack[];
  otherStacks?: OtherStacks | null;
  /* --by-cgroup: the top memory cgroups of the allocating tasks, and what the others add up to. */
  cgroups?: SiteCgroup[];
  otherCgroups?: (Counts & { cgroups: number }) | null;
  /* --by-task: the top allocating processes, and what the others add up to. */
  tasks?: SiteTask[];
  otherTasks?: (Counts & { tasks: number }) | null;
  /* How long its live objects have been live (from the sweep; absent without one). */
  age?: SiteAges;
}

export type Resolver = (ip: bigint) => Symbol | null;

/* --stacks: every frame of a site's stacks, the top stack's first (to name the cache alias its callers allocate from). */
export function stackFrames(s: { stacks?: SiteStack[] }): string[] {
  return (s.stacks ?? []).flatMap((x) => x.frames);
}

/* --stacks: one allocation stack of a site. */
export interface SiteStack {
  /* Innermost first: the call site's function, then its callers. */
  frames: string[];
  allocs: number;
  frees: number;
  liveObjects: number;
  liveBytes: number;
}

/* What the stacks past the top ones add up to. */
export interface OtherStacks {
  stacks: number;
  allocs: number;
  frees: number;
  liveObjects: number;
  liveBytes: number;
}

/* What a site's split (a stack, cgroup or process) counts; live = allocs - frees. */
export interface Counts {
  allocs: number;
  frees: number;
  liveObjects: number;
  liveBytes: number;
}

/* --by-cgroup: the allocations of a site by the tasks of one memory cgroup. */
export interface SiteCgroup extends Counts {
  /* Path in the memory controller's hierarchy ("/" the root); "(interrupt context)" or "(removed cgroup)". */
  path: string;
}

/* --by-task: the allocations of a site by one process. */
export interface SiteTask extends Counts {
  /* 0 with comm "(interrupt context)": allocations made in interrupt context (no task to name). */
  tgid: number;
  comm: string;
}

/* How long a site's live objects have been live (the sweep counts them: model/ages.ts). */
export interface SiteAges {
  /* How long the oldest live object has been live, seconds. */
  oldestSeconds: number;
  /* Live objects by age. */
  under10s: number;
  under1m: number;
  under10m: number;
  older: number;
  /* --older N: of them, those live for at least N seconds. */
  olderThanObjects?: number;
}
