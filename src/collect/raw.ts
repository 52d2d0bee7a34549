/*
 * What the collectors hand the model: plain data read from the maps, with
 * raw addresses (only the model turns them into symbols).  Nothing here
 * does I/O; src/model imports these types and nothing else of collect/.
 */
import type { KernelFacts } from '../abi/kernel';
import type { MemInfo } from '../sys/meminfo';
import type { CacheInfo, CounterKey, LostKey, SiteAge, SiteKey, SiteStats } from '../abi/layout';
import type { OomVictimRaw, ReclaimState, ShrinkerInfo, ShrinkerStats } from '../abi/reclaim';
import type { SlabCache } from '../sys/slabinfo';
import type { MemcgFigures } from '../sys/cgroups';
import type { KernelOomReport } from '../sys/oomlog';
import type { SlabNames } from '../sys/slabaliases';

export interface RawSite {
  /* The kernel's site index: stable for the whole tracing session. */
  idx: number;
  key: SiteKey;
  stats: SiteStats;
}

/*
 * --stacks/--by-cgroup/--by-task: one detail's counts (a site's allocations
 * by one stack, memory cgroup and process; a dimension not recorded is 0).
 */
export interface RawDetail {
  site: number;
  /* stack_traces id + 1; 0: none */
  stack: number;
  /* kernfs id of the memory cgroup, 0n: none (not asked, or interrupt context) */
  cgroup: bigint;
  /* Its path in the memory controller's hierarchy ("/" the root); null: unknown (removed since) or none. */
  cgroupPath: string | null;
  /* 0: none */
  tgid: number;
  /* The allocating thread's name when the detail was first seen. */
  comm: string;
  allocs: number;
  frees: number;
}

/* The details, what they record, and the frames (return addresses, innermost first) of each stack they name. */
export interface RawDetails {
  /* Frames kept per stack; 0: no stacks. */
  stackDepth: number;
  byCgroup: boolean;
  byTask: boolean;
  /* The memory controller's hierarchy: "v1 /sys/fs/cgroup/memory"-like; null without --by-cgroup or without a memory controller. */
  memcgHierarchy: string | null;
  details: RawDetail[];
  frames: Map<number, bigint[]>;
}

export interface ProgramStats {
  name: string;
  tracepoint: string;
  recursionMisses: number;
  runCount: number;
  runTimeNs: number;
}

/*
 * Recursion accounting of one program (the ones that are not *_nested):
 * runs the kernel skipped, and of those, how many its *_nested program
 * caught (null without one).  See collect/recursion.ts.
 */
export interface RecursionAccount {
  program: string;
  tracepoint: string;
  misses: number;
  caught: number | null;
}

export interface MapUsage {
  entries: number;
  maxEntries: number;
}

export interface RawShrinker {
  shrinker: bigint;
  nid: number;
  stats: ShrinkerStats;
  info: ShrinkerInfo | null;
}

export interface RawReclaim {
  shrinkers: RawShrinker[];
  state: ReclaimState;
  /* Newest last; at most OOM_RING; with their memory cgroup's path and figures as read now. */
  /* kernelReport: the kernel's own report of the kill, from its log (null: not found, or the log unreadable). */
  oomVictims: (OomVictimRaw & { memcgPath: string | null; memcgFigures: MemcgFigures | null; kernelReport: KernelOomReport | null })[];
  /* The kernel's GFP bit positions (to name a request's flags). */
  gfpBits: Map<string, number>;
  /* The kernel's enum compact_result (COMPACT_SUCCESS -> 8 ...), to name a compaction's result. */
  compactResults: Map<string, number>;
  /* bpf_ktime_get_ns() now, to turn event times into wall times. */
  ktimeNowNs: number;
}

export interface SweepRun {
  /* Live entries looked at, retired (slab gone), and retirements given up to a racing free or allocation. */
  examined: number;
  retired: number;
  raced: number;
  durationMs: number;
  /* Seconds since boot the ages were taken against. */
  now: number;
}

/* Whether live entries are swept, and if not, why: what reports print. */
export interface SweepInfo {
  available: boolean;
  /* null when available; otherwise one line for reports. */
  reason: string | null;
  runs: number;
  last: SweepRun | null;
}

export interface RawSnapshot {
  /* CLOCK_MONOTONIC-like host time of the read, ms. */
  monotonicMs: number;
  wallTime: Date;
  sites: RawSite[];
  caches: Map<bigint, CacheInfo>;
  lost: Record<LostKey, number>;
  counters: Record<CounterKey, number>;
  programs: ProgramStats[];
  maps: {
    sites: MapUsage;
    caches: MapUsage;
    live: { buckets: number; slots: number; overflowMaxEntries: number; overflowEntries: number };
    /* Kernel memory of all of kmemtop's maps (allocation and reclaim objects), bytes. */
    kernelBytes: number;
  };
  /* How event contexts are known: from preempt_count, or not at all ("unknown"). */
  contextSource: 'preempt_count' | 'unknown';
  /* 1 object in this many was tracked (1: all); live figures are estimates above 1. */
  sampleOneIn: number;
  /* /proc/slabinfo read right before the sweep and the maps (null when unreadable). */
  slabs: Map<string, SlabCache> | null;
  /* Names SLUB merged into each cache, and the reclaimable caches (/sys/kernel/slab; null when unreadable). */
  slabNames: SlabNames | null;
  recursion: RecursionAccount[];
  /* Shrinkers, reclaim and OOM kills; null with the reason when not traced. */
  reclaim: RawReclaim | null;
  reclaimUnavailable: string | null;
  /* The sweep of live entries whose slab is gone (collect/sweep.ts): run before this read, or why there is none. */
  sweep: SweepInfo;
  /* What this kernel offers (abi/kernel.ts): the model tells from it which features are on. */
  kernelFacts: KernelFacts;
  /* --stacks/--by-cgroup/--by-task: allocations per site by stack, cgroup, process; null when none recorded. */
  details: RawDetails | null;
  /* Live objects per site by age, from the last sweep (site index -> ages); null without a sweep. */
  ages: RawAges | null;
  /* --pages: the page allocator's allocations are traced too. */
  pages?: boolean;
  /* --pages: failed page allocations by call site, order and flags, and the kernel's GFP bit positions to name them; null without --pages. */
  pageFailures?: { failures: RawPageFailure[]; gfpBits: Map<string, number> } | null;
  /* --pages: /proc/meminfo when tracing began and now (null: not read, or a session of an older version). */
  meminfo?: { start: MemInfo; now: MemInfo | null } | null;
}

export interface RawPageFailure {
  /* 0n: not found in the stack */
  callSite: bigint;
  order: number;
  gfp: number;
  count: number;
}

export interface RawAges {
  /* The sweep's clock (seconds since boot) and its threshold (--older; 0: none). */
  now: number;
  olderThan: number;
  bySite: Map<number, SiteAge>;
}
