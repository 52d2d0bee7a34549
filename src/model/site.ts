/*
 * One call site as the model reports it, and how addresses become
 * symbols: the types the model's modules share (snapshot.ts builds them).
 */
import type { ByContext } from '../abi/layout';
import type { Symbol } from '../sys/kallsyms';

export interface Site {
  /* Site number within this tracing session (the kernel's index): not comparable across sessions. */
  id: number;
  function: string;
  offset: number;
  module: string | null;
  /* kmalloc (keyed by size class) or kmem_cache_alloc (keyed by cache). */
  kind: 'kmalloc' | 'cache';
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
  liveObjectsEstimate: number;
  liveBytesEstimate: number;
  /* Other caches SLUB merged into this site's cache (/sys/kernel/slab), for naming. */
  cacheAliases: string[];
  /* The cache's objects are freed by shrinkers under pressure (dentries, inodes: SLAB_RECLAIM_ACCOUNT). */
  cacheReclaimable: boolean;
  allocsByContext: ByContext;
  freesByContext: ByContext;
  /* --stacks: the top allocation stacks (innermost frame first) and what the others add up to. */
  stacks?: SiteStack[];
  otherStacks?: OtherStacks | null;
}

export type Resolver = (ip: bigint) => Symbol | null;

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
