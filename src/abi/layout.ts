/*
 * Decoders for the structs of bpf/kmemtop.h, declared once as layout tables.
 * test/abi.test.ts compares these tables with the BTF of the compiled BPF
 * object, so a field added on one side only fails the build's tests.
 *
 * Counters are decoded as JavaScript numbers (exact up to 2^53); kernel
 * addresses stay BigInt.
 */
import { cString, defineStruct, readU64 } from './struct';
export { readU64 };
export type { StructLayout } from './struct';

export const CACHE_NAME_LEN = 32;

export const SITE_KEY = defineStruct('site_key', [
  { c: 'call_site', type: 'u64' },
  { c: 'cache', type: 'u64' },
]);

/* enum kmemtop_context: index -> JSON key. */
export const CONTEXTS = [
  { c: 'KMEMTOP_CTX_TASK', key: 'task' },
  { c: 'KMEMTOP_CTX_TASK_BH', key: 'taskBh' },
  { c: 'KMEMTOP_CTX_SOFTIRQ', key: 'softirq' },
  { c: 'KMEMTOP_CTX_HARDIRQ', key: 'hardirq' },
  { c: 'KMEMTOP_CTX_NMI', key: 'nmi' },
  { c: 'KMEMTOP_CTX_UNKNOWN', key: 'unknown' },
] as const;
export const CTX_MAX = CONTEXTS.length;
export type ContextKey = (typeof CONTEXTS)[number]['key'];
export type ByContext = Record<ContextKey, number>;

export const SITE_STATS = defineStruct('site_stats', [
  { c: 'allocs', type: { array: 'u64', n: CTX_MAX } },
  { c: 'frees', type: { array: 'u64', n: CTX_MAX } },
  { c: 'bytes_req', type: 'u64' },
  { c: 'untracked_allocs', type: 'u64' },
  { c: 'frees_unseen', type: 'u64' },
  { c: 'failed_allocs', type: 'u64' },
  { c: 'sampled_allocs', type: 'u64' },
]);

export interface SiteStats {
  allocs: ByContext;
  frees: ByContext;
  bytesReq: number;
  untrackedAllocs: number;
  freesUnseen: number;
  failedAllocs: number;
  /* Sampling on: allocations chosen for tracking (0 otherwise). */
  sampledAllocs: number;
}

const CONTEXT_KEYS = CONTEXTS.map((c) => c.key);

export function zeroContexts(): ByContext {
  return { task: 0, taskBh: 0, softirq: 0, hardirq: 0, nmi: 0, unknown: 0 };
}

/* to += from, context by context. */
export function addContexts(to: ByContext, from: ByContext): void {
  for (const k of CONTEXT_KEYS) to[k] += from[k];
}

export function sumContexts(b: ByContext): number {
  return b.task + b.taskBh + b.softirq + b.hardirq + b.nmi + b.unknown;
}

export const LIVE_WAYS = 8;

export const PAGE_FN_RANGES = 32;
/* site_key.cache of a page site: this flag | migrate type (PAGE_TYPES) << 8 | the order. */
export const PAGE_SITE = 0x8000_0000n;
/* enum kmemtop_page_type: a page site's migrate type, as kmemtop codes it. */
export const PAGE_TYPES = [
  { c: 'KMEMTOP_PAGE_UNMOVABLE', key: 'unmovable' },
  { c: 'KMEMTOP_PAGE_RECLAIMABLE', key: 'reclaimable' },
  { c: 'KMEMTOP_PAGE_OTHER_TYPE', key: 'other' },
] as const;
export type PageType = (typeof PAGE_TYPES)[number]['key'];
/* site_key.cache of a percpu site: this flag | the bytes on all CPUs. */
export const PERCPU_SITE = 0x4000_0000n;
/* site_key.cache of a vmalloc site: this flag | the area's size in pages. */
export const VMALLOC_SITE = 0x2000_0000n;
/* The key of "(sites map full)", the last site index: call_site 0 and this cache (bpf/kmemtop.h). */
export const FULL_SITE_KEY = 0xffff_ffffn;
/* A kmalloc site's key.cache: the size | its kmalloc cache type (KMALLOC_TYPES) << KMALLOC_TYPE_SHIFT (bpf/kmemtop.h). */
export const KMALLOC_TYPE_SHIFT = 24n;
export const KMALLOC_SIZE_MASK = (1n << KMALLOC_TYPE_SHIFT) - 1n;
/* enum kmemtop_kmalloc_type, and the prefix of the kernel's cache names for each ("kmalloc-cg-" + "2k"). */
export const KMALLOC_TYPES = [
  { c: 'KMEMTOP_KMALLOC_NORMAL', prefix: 'kmalloc-' },
  { c: 'KMEMTOP_KMALLOC_RECLAIM', prefix: 'kmalloc-rcl-' },
  { c: 'KMEMTOP_KMALLOC_DMA', prefix: 'dma-kmalloc-' },
  { c: 'KMEMTOP_KMALLOC_CGROUP', prefix: 'kmalloc-cg-' },
] as const;

export const KMEMTOP_RANGE = defineStruct('kmemtop_range', [
  { c: 'start', type: 'u64' },
  { c: 'end', type: 'u64' },
]);

export const KMEMTOP_CONFIG = defineStruct('kmemtop_config', [
  { c: 'live_buckets_mask', type: 'u32' },
  { c: 'max_sites', type: 'u32' },
  { c: 'site_cache_mask', type: 'u32' },
  { c: 'task_tree', type: 'u32' },
  { c: 'preempt_count_delta', type: 'u64' },
  { c: 'sample_one_in', type: 'u32' },
  { c: 'catch_nested', type: 'u32' },
  { c: 'overflow_max', type: 'u32' },
  { c: 'exclude_self', type: 'u32' },
  { c: 'stacks', type: 'u32' },
  { c: 'by_cgroup', type: 'u32' },
  { c: 'by_task', type: 'u32' },
  { c: 'hz', type: 'u32' },
  { c: 'rdonly_cast', type: 'u32' },
  { c: 'gfp_dma', type: 'u32' },
  { c: 'gfp_reclaimable', type: 'u32' },
  { c: 'gfp_account', type: 'u32' },
  { c: 'pad0', type: 'u32' },
]);

/* --pages: the allocators' text ranges (bpf/kmemtop.h: writable data, so the verifier does not know them). */
export const KMEMTOP_FN_RANGES = defineStruct('kmemtop_fn_ranges', [
  { c: 'nr_page_fns', type: 'u32' },
  { c: 'nr_vmalloc_fns', type: 'u32' },
  { c: 'page_fns', type: { array: KMEMTOP_RANGE, n: PAGE_FN_RANGES } },
  { c: 'vmalloc_fns', type: { array: KMEMTOP_RANGE, n: PAGE_FN_RANGES } },
]);

export interface FnRanges {
  pageFns: { start: bigint; end: bigint }[];
  vmallocFns: { start: bigint; end: bigint }[];
}

export function encodeFnRanges(r: FnRanges): Buffer {
  const b = Buffer.alloc(KMEMTOP_FN_RANGES.size);
  for (const [ranges, count, field] of [
    [r.pageFns, 'nr_page_fns', 'page_fns'],
    [r.vmallocFns, 'nr_vmalloc_fns', 'vmalloc_fns'],
  ] as const) {
    const fns = ranges.slice(0, PAGE_FN_RANGES);
    b.writeUInt32LE(fns.length, KMEMTOP_FN_RANGES.offsetOf(count));
    fns.forEach((x, i) => {
      const off = KMEMTOP_FN_RANGES.offsetOf(field) + i * KMEMTOP_RANGE.size;
      b.writeBigUInt64LE(x.start, off + KMEMTOP_RANGE.offsetOf('start'));
      b.writeBigUInt64LE(x.end, off + KMEMTOP_RANGE.offsetOf('end'));
    });
  }
  return b;
}

export const SELF_MAX = 8;

export const KMEMTOP_SELF = defineStruct('kmemtop_self', [{ c: 'tgid', type: { array: 'u32', n: SELF_MAX } }]);

export function decodeSelf(buf: Buffer): number[] {
  return Array.from({ length: SELF_MAX }, (_, i) => buf.readUInt32LE(i * 4));
}

export function encodeSelf(tgids: number[]): Buffer {
  const b = Buffer.alloc(KMEMTOP_SELF.size);
  tgids.slice(0, SELF_MAX).forEach((t, i) => b.writeUInt32LE(t, i * 4));
  return b;
}

export const LIVE_SLOT = defineStruct('live_slot', [
  { c: 'ptr', type: 'u64' },
  { c: 'site', type: 'u32' },
  { c: 'stamp', type: 'u32' },
]);

export const LIVE_BUCKET = defineStruct('live_bucket', [{ c: 'slot', type: { array: LIVE_SLOT, n: LIVE_WAYS } }]);

export const LIVE_VALUE = defineStruct('live_value', [
  { c: 'site', type: 'u32' },
  { c: 'detail', type: 'u32' },
  { c: 'stamp', type: 'u32' },
  { c: 'pad', type: 'u32' },
]);

/* --stacks/--by-cgroup/--by-task: a site's allocations by (stack, memory cgroup, process). */
export const DETAIL_KEY = defineStruct('detail_key', [
  { c: 'site', type: 'u32' },
  { c: 'stack', type: 'u32' },
  { c: 'cgroup', type: 'u64' },
  { c: 'tgid', type: 'u32' },
  { c: 'pad', type: 'u32' },
]);

export const COMM_LEN = 16;

export const DETAIL_INFO = defineStruct('detail_info', [
  { c: 'key', type: DETAIL_KEY },
  { c: 'comm', type: { char: COMM_LEN } },
]);

/* --by-task: a process's current name (kmemtop.h struct task_name). */
export const TASK_NAME = defineStruct('task_name', [{ c: 'comm', type: { char: COMM_LEN } }]);

export function decodeTaskName(buf: Buffer, off: number): string {
  return cString(buf, off + TASK_NAME.offsetOf('comm'), COMM_LEN);
}

export const DETAIL_STATS = defineStruct('detail_stats', [
  { c: 'allocs', type: 'u64' },
  { c: 'frees', type: 'u64' },
]);

export interface DetailInfo {
  site: number;
  /* stack_traces id + 1; 0: none */
  stack: number;
  /* kernfs id of the memory cgroup; 0n: none (not asked, or interrupt context) */
  cgroup: bigint;
  /* 0: none */
  tgid: number;
  comm: string;
}

export function decodeDetailInfo(buf: Buffer, off = 0): DetailInfo {
  const k = off + DETAIL_INFO.offsetOf('key');
  return {
    site: buf.readUInt32LE(k + DETAIL_KEY.offsetOf('site')),
    stack: buf.readUInt32LE(k + DETAIL_KEY.offsetOf('stack')),
    cgroup: buf.readBigUInt64LE(k + DETAIL_KEY.offsetOf('cgroup')),
    tgid: buf.readUInt32LE(k + DETAIL_KEY.offsetOf('tgid')),
    comm: cString(buf, off + DETAIL_INFO.offsetOf('comm'), COMM_LEN),
  };
}

export const PAGE_FAIL_KEY = defineStruct('page_fail_key', [
  { c: 'call_site', type: 'u64' },
  { c: 'order', type: 'u32' },
  { c: 'gfp', type: 'u32' },
]);

export const SITE_CACHE_ENTRY = defineStruct('site_cache_entry', [
  { c: 'key', type: SITE_KEY },
  { c: 'idx', type: 'u32' },
  { c: 'pad', type: 'u32' },
]);

export const KMEMTOP_STATE = defineStruct('kmemtop_state', [
  { c: 'next_site', type: 'u64' },
  { c: 'overflow_entries', type: 'u64' },
  { c: 'next_detail', type: 'u64' },
]);

export interface Config {
  liveBucketsMask: number;
  maxSites: number;
  siteCacheMask: number;
  /* Signed byte distance; 0 = unknown. */
  preemptCountDelta: number;
  taskTree?: boolean;
  /* Track 1 object in this many (0 or 1: all). */
  sampleOneIn?: number;
  /* The *_nested free programs are attached. */
  catchNested?: boolean;
  /* max_entries of live_overflow. */
  overflowMax?: number;
  /* Leave out the allocations of the processes in self_tgids (kmemtop's own). */
  excludeSelf?: boolean;
  /* Record each allocation's kernel stack (--stacks). */
  stacks?: boolean;
  /* Attribute allocations to the allocating task's memory cgroup (--by-cgroup), process (--by-task). */
  byCgroup?: boolean;
  byTask?: boolean;
  /* The kernel's CONFIG_HZ: allocation stamps from jiffies; 0 or absent: from the monotonic clock. */
  hz?: number;
  /* The kernel has the kfunc bpf_rdonly_cast (6.2+): contexts read by a plain load, else by a probe read. */
  rdonlyCast?: boolean;
  /* The GFP bits that send a kmalloc to the kernel's DMA, reclaimable and memory-cgroup kmalloc caches (model/gfp.ts kmallocGfp). */
  kmallocGfp?: { dma: number; reclaimable: number; account: number };
}

export function encodeConfig(c: Config): Buffer {
  const b = Buffer.alloc(KMEMTOP_CONFIG.size);
  b.writeUInt32LE(c.liveBucketsMask, KMEMTOP_CONFIG.offsetOf('live_buckets_mask'));
  b.writeUInt32LE(c.maxSites, KMEMTOP_CONFIG.offsetOf('max_sites'));
  b.writeUInt32LE(c.siteCacheMask, KMEMTOP_CONFIG.offsetOf('site_cache_mask'));
  b.writeUInt32LE(c.taskTree ? 1 : 0, KMEMTOP_CONFIG.offsetOf('task_tree'));
  b.writeBigUInt64LE(BigInt.asUintN(64, BigInt(c.preemptCountDelta)), KMEMTOP_CONFIG.offsetOf('preempt_count_delta'));
  b.writeUInt32LE(c.sampleOneIn ?? 0, KMEMTOP_CONFIG.offsetOf('sample_one_in'));
  b.writeUInt32LE(c.catchNested ? 1 : 0, KMEMTOP_CONFIG.offsetOf('catch_nested'));
  b.writeUInt32LE(c.overflowMax ?? 0, KMEMTOP_CONFIG.offsetOf('overflow_max'));
  b.writeUInt32LE(c.excludeSelf ? 1 : 0, KMEMTOP_CONFIG.offsetOf('exclude_self'));
  b.writeUInt32LE(c.stacks ? 1 : 0, KMEMTOP_CONFIG.offsetOf('stacks'));
  b.writeUInt32LE(c.byCgroup ? 1 : 0, KMEMTOP_CONFIG.offsetOf('by_cgroup'));
  b.writeUInt32LE(c.byTask ? 1 : 0, KMEMTOP_CONFIG.offsetOf('by_task'));
  b.writeUInt32LE(c.hz ?? 0, KMEMTOP_CONFIG.offsetOf('hz'));
  b.writeUInt32LE(c.rdonlyCast ? 1 : 0, KMEMTOP_CONFIG.offsetOf('rdonly_cast'));
  b.writeUInt32LE(c.kmallocGfp?.dma ?? 0, KMEMTOP_CONFIG.offsetOf('gfp_dma'));
  b.writeUInt32LE(c.kmallocGfp?.reclaimable ?? 0, KMEMTOP_CONFIG.offsetOf('gfp_reclaimable'));
  b.writeUInt32LE(c.kmallocGfp?.account ?? 0, KMEMTOP_CONFIG.offsetOf('gfp_account'));
  return b;
}

export interface KmemtopState {
  nextSite: number;
  overflowEntries: number;
  nextDetail: number;
}

export function decodeState(buf: Buffer, off = 0): KmemtopState {
  return {
    nextSite: readU64(buf, off + KMEMTOP_STATE.offsetOf('next_site')),
    overflowEntries: readU64(buf, off + KMEMTOP_STATE.offsetOf('overflow_entries')),
    nextDetail: readU64(buf, off + KMEMTOP_STATE.offsetOf('next_detail')),
  };
}

/* Occupied slots of a run of live buckets (ptr != 0). */
export function countLiveSlots(buckets: Buffer, count: number): number {
  let n = 0;
  const ptrOff = LIVE_SLOT.offsetOf('ptr');
  for (let b = 0; b < count; b++) {
    for (let w = 0; w < LIVE_WAYS; w++) {
      const off = b * LIVE_BUCKET.size + w * LIVE_SLOT.size + ptrOff;
      if (buckets.readUInt32LE(off) !== 0 || buckets.readUInt32LE(off + 4) !== 0) n++;
    }
  }
  return n;
}

export const CACHE_INFO = defineStruct('cache_info', [
  { c: 'name', type: { char: CACHE_NAME_LEN } },
  { c: 'object_size', type: 'u32' },
  { c: 'size', type: 'u32' },
]);

/* enum kmemtop_lost_cause: index -> JSON key. */
export const LOST_CAUSES = [
  { c: 'KMEMTOP_LOST_SITES_FULL', key: 'sitesFull' },
  { c: 'KMEMTOP_LOST_LIVE_FULL', key: 'liveFull' },
  { c: 'KMEMTOP_LOST_LIVE_UPDATE', key: 'liveUpdateFailed' },
  { c: 'KMEMTOP_LOST_UNTRACKED_FREE', key: 'untrackedFrees' },
  { c: 'KMEMTOP_LOST_SITE_MISSING', key: 'siteMissing' },
  { c: 'KMEMTOP_LOST_FREE_UNSEEN', key: 'freesUnseen' },
  { c: 'KMEMTOP_LOST_SLAB_GONE', key: 'slabGone' },
  { c: 'KMEMTOP_LOST_STACK', key: 'stacksLost' },
  { c: 'KMEMTOP_LOST_DETAIL', key: 'detailsLost' },
  { c: 'KMEMTOP_LOST_PAGE_SITE', key: 'pageSitesLost' },
] as const;
export const LOST_MAX = LOST_CAUSES.length;
export type LostKey = (typeof LOST_CAUSES)[number]['key'];

/* What one run of the sweep did (sweep.bpf.c's context). */
export const SWEEP_STATS = defineStruct('kmemtop_sweep_stats', [
  { c: 'examined', type: 'u64' },
  { c: 'retired', type: 'u64' },
  { c: 'raced', type: 'u64' },
  { c: 'older_than', type: 'u32' },
  { c: 'now', type: 'u32' },
  { c: 'hz', type: 'u32' },
  { c: 'pad', type: 'u32' },
]);

/* The sweep's context as the host hands it over: count objects at least olderThan seconds old; the stamps' clock (hz as in the config). */
export function encodeSweepStats(olderThan: number, hz = 0): Buffer {
  const b = Buffer.alloc(SWEEP_STATS.size);
  b.writeUInt32LE(Math.max(0, Math.min(0xffffffff, Math.floor(olderThan))), SWEEP_STATS.offsetOf('older_than'));
  b.writeUInt32LE(hz, SWEEP_STATS.offsetOf('hz'));
  return b;
}

export function decodeSweepStats(buf: Buffer): { examined: number; retired: number; raced: number; now: number } {
  return {
    examined: readU64(buf, SWEEP_STATS.offsetOf('examined')),
    retired: readU64(buf, SWEEP_STATS.offsetOf('retired')),
    raced: readU64(buf, SWEEP_STATS.offsetOf('raced')),
    now: buf.readUInt32LE(SWEEP_STATS.offsetOf('now')),
  };
}

export const AGE_BUCKETS = 4;
/* Upper limits of the age buckets, seconds (the last: older). */
export const AGE_LIMITS = [10, 60, 600] as const;

export const LIVE_DETAIL = defineStruct('live_detail', [{ c: 'detail', type: { array: 'u32', n: LIVE_WAYS } }]);

export const SITE_AGE = defineStruct('site_age', [
  { c: 'count', type: { array: 'u64', n: AGE_BUCKETS } },
  { c: 'older', type: 'u64' },
  { c: 'oldest', type: 'u32' },
  { c: 'pad', type: 'u32' },
]);

export interface SiteAge {
  /* Live objects by age: < 10 s, < 1 min, < 10 min, older. */
  count: number[];
  /* Of those, at least the sweep's older_than seconds old. */
  older: number;
  /* Seconds since boot of the oldest; 0: none. */
  oldest: number;
}

export function decodeSiteAge(buf: Buffer, off = 0): SiteAge {
  const c = off + SITE_AGE.offsetOf('count');
  return {
    count: Array.from({ length: AGE_BUCKETS }, (_, i) => readU64(buf, c + 8 * i)),
    older: readU64(buf, off + SITE_AGE.offsetOf('older')),
    oldest: buf.readUInt32LE(off + SITE_AGE.offsetOf('oldest')),
  };
}

/* enum kmemtop_counter: index -> JSON key. */
export const COUNTERS = [
  { c: 'KMEMTOP_CNT_NULL_FREES', key: 'nullFrees' },
  { c: 'KMEMTOP_CNT_ZERO_ALLOCS', key: 'zeroSizeAllocs' },
  { c: 'KMEMTOP_CNT_OVERFLOW_INSERTS', key: 'overflowInserts' },
  { c: 'KMEMTOP_CNT_NESTED_KFREE', key: 'nestedKfreeCaught' },
  { c: 'KMEMTOP_CNT_NESTED_CACHE_FREE', key: 'nestedCacheFreeCaught' },
  { c: 'KMEMTOP_CNT_UNSAMPLED_FREES', key: 'unsampledFrees' },
  { c: 'KMEMTOP_CNT_SELF_ALLOCS', key: 'selfAllocs' },
  { c: 'KMEMTOP_CNT_PAGE_FREES_OTHER', key: 'pageFreesUntracked' },
  { c: 'KMEMTOP_CNT_PAGE_MOVABLE', key: 'pageMovableAllocs' },
] as const;
export const COUNTERS_MAX = COUNTERS.length;
export type CounterKey = (typeof COUNTERS)[number]['key'];


export interface SiteKey {
  callSite: bigint;
  cache: bigint;
}

export function decodeSiteKey(buf: Buffer, off = 0): SiteKey {
  return {
    callSite: buf.readBigUInt64LE(off + SITE_KEY.offsetOf('call_site')),
    cache: buf.readBigUInt64LE(off + SITE_KEY.offsetOf('cache')),
  };
}

/*
 * Sum a per-CPU site_stats value: nrCpus copies, each 8-byte aligned, as
 * bpf_map_lookup_batch returns them.
 */
const STATS_STRIDE = Math.ceil(SITE_STATS.size / 8) * 8;
const STATS_OFF = {
  allocs: SITE_STATS.offsetOf('allocs'),
  frees: SITE_STATS.offsetOf('frees'),
  bytesReq: SITE_STATS.offsetOf('bytes_req'),
  untracked: SITE_STATS.offsetOf('untracked_allocs'),
  unseen: SITE_STATS.offsetOf('frees_unseen'),
  failed: SITE_STATS.offsetOf('failed_allocs'),
  sampled: SITE_STATS.offsetOf('sampled_allocs'),
};

/* buf as 32-bit words (a copy only when its offset is not 4-aligned). */
function words(buf: Buffer): Uint32Array {
  if (buf.byteOffset % 4 === 0) return new Uint32Array(buf.buffer, buf.byteOffset, buf.length >>> 2);
  const copy = new Uint8Array(buf.length);
  copy.set(buf);
  return new Uint32Array(copy.buffer, 0, buf.length >>> 2);
}

/*
 * Decode one per-CPU site_stats value at byte offset off of buf, summing the
 * CPUs' copies.  Reads 32-bit words of a typed view, not Buffer methods:
 * the live view decodes every site on every refresh (10k sites: ~1 ms).
 */
export function decodeSiteStatsPerCpu(buf: Buffer, off: number, nrCpus: number, view: Uint32Array = words(buf)): SiteStats {
  const base = off >>> 2;
  /* No closures: this runs for every changed site of every refresh, and allocates only what it returns. */
  return {
    allocs: sumContexts6(view, base, STATS_OFF.allocs, nrCpus),
    frees: sumContexts6(view, base, STATS_OFF.frees, nrCpus),
    bytesReq: sumWords(view, base, STATS_OFF.bytesReq, nrCpus),
    untrackedAllocs: sumWords(view, base, STATS_OFF.untracked, nrCpus),
    freesUnseen: sumWords(view, base, STATS_OFF.unseen, nrCpus),
    failedAllocs: sumWords(view, base, STATS_OFF.failed, nrCpus),
    sampledAllocs: sumWords(view, base, STATS_OFF.sampled, nrCpus),
  };
}

/* The six per-context u64 counters from byte offset fieldOff, each summed over the CPUs. */
function sumContexts6(view: Uint32Array, base: number, fieldOff: number, nrCpus: number): ByContext {
  return {
    task: sumWords(view, base, fieldOff, nrCpus),
    taskBh: sumWords(view, base, fieldOff + 8, nrCpus),
    softirq: sumWords(view, base, fieldOff + 16, nrCpus),
    hardirq: sumWords(view, base, fieldOff + 24, nrCpus),
    nmi: sumWords(view, base, fieldOff + 32, nrCpus),
    unknown: sumWords(view, base, fieldOff + 40, nrCpus),
  };
}

/* The u64 field at byte offset fieldOff of a per-CPU site_stats value starting at word base, summed over the CPUs. */
function sumWords(view: Uint32Array, base: number, fieldOff: number, nrCpus: number): number {
  const stride = STATS_STRIDE >>> 2;
  let n = 0;
  for (let cpu = 0, w = base + (fieldOff >>> 2); cpu < nrCpus; cpu++, w += stride) n += view[w] + view[w + 1] * 0x1_0000_0000;
  return smallInt(n);
}

/*
 * n, as V8 stores it without a heap box when it fits a small integer: a sum
 * of 32-bit halves is a double to the compiler, and a double stored in an
 * object costs a 16-byte box (17 per decoded site, every refresh).
 */
export function smallInt(n: number): number {
  return n < 0x8000_0000 ? n | 0 : n;
}

/* The values at the given entry positions of a site_stats dump, decoded (one typed view for all). */
export function decodeSomeSiteStats(values: Buffer, positions: number[], nrCpus: number): SiteStats[] {
  const view = words(values);
  const size = STATS_STRIDE * nrCpus;
  return positions.map((i) => decodeSiteStatsPerCpu(values, i * size, nrCpus, view));
}

export interface CacheInfo {
  name: string;
  objectSize: number;
  size: number;
}


export function decodeCacheInfo(buf: Buffer, off = 0): CacheInfo {
  return {
    name: cString(buf, off + CACHE_INFO.offsetOf('name'), CACHE_NAME_LEN),
    objectSize: buf.readUInt32LE(off + CACHE_INFO.offsetOf('object_size')),
    size: buf.readUInt32LE(off + CACHE_INFO.offsetOf('size')),
  };
}

/* Sum a per-CPU array of __u64 (one value per index) into one number per index. */
export function sumPerCpuU64(values: Buffer, nrCpus: number): number {
  let sum = 0;
  for (let cpu = 0; cpu < nrCpus; cpu++) sum += readU64(values, cpu * 8);
  return sum;
}

/*
 * struct bpf_prog_info (include/uapi/linux/bpf.h): only the fields kmemtop
 * reads.  The kernel accepts a shorter info_len than its own struct, so this
 * prefix is enough; test/abi.test.ts checks the offsets against the system's
 * linux/bpf.h.
 */
export const BPF_PROG_INFO = {
  size: 232,
  offsets: {
    id: 4,
    name: 64,
    run_time_ns: 192,
    run_cnt: 200,
    recursion_misses: 208,
    verified_insns: 216,
  },
} as const;
