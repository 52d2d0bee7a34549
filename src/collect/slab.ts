/*
 * The allocation collector: bpf/kmemtop.bpf.c (slab allocations and frees
 * per call site, the live table).  It sizes and configures the object,
 * and reads what its maps hold as plain data (collect/raw.ts).
 */
import { dumpMap, forgetMap, perCpuValueSize, possibleCpus } from '../bpf/map';
import { BpfError, BpfMap } from '../bpf/object';
import { raw } from '../bpf/libbpf';
import { hasTracepoint } from '../bpf/btf';
import { kernelFacts, kernelKmallocGfp } from '../sys/features';
import { CORE_TRACEPOINTS } from '../abi/kernel';
import {
  CACHE_INFO,
  CacheInfo,
  COUNTERS,
  CounterKey,
  countLiveSlots,
  CTX_MAX,
  decodeCacheInfo,
  decodeSiteKey,
  decodeSomeSiteStats,
  decodeState,
  encodeConfig,
  KMEMTOP_STATE,
  KmemtopState,
  LIVE_BUCKET,
  LIVE_WAYS,
  LOST_CAUSES,
  LostKey,
  readU64,
  decodeDetailInfo,
  decodeSiteAge,
  PAGE_FAIL_KEY,
  SITE_AGE,
  SiteAge,
  DETAIL_INFO,
  DETAIL_STATS,
  DetailInfo,
  SITE_KEY,
  SITE_STATS,
  SiteKey,
  sumPerCpuU64,
  PAGE_FN_RANGES,
  encodeFnRanges,
  decodeTaskName,
  TASK_NAME,
} from '../abi/layout';
import { btfPath } from '../sys/preflight';
import { Kallsyms } from '../sys/kallsyms';
import { KmemtopError } from '../errors';
import * as log from '../log';
import { DEFAULTS } from '../config';
import { LoadedObject, ObjectSpec, objectPath, ProgramRef } from './lifecycle';
import { CgroupPaths } from '../sys/cgroups';
import { kernelHz } from '../sys/kconfig';
import type { MapUsage, RawDetail, RawDetails, RawPageFailure, RawSite } from './raw';

export const SLAB: ObjectSpec = {
  path: objectPath('kmemtop.bpf.o'),
  maps: [
    'live',
    'live_overflow',
    'site_ids',
    'site_keys',
    'site_stats',
    'site_cache',
    'caches',
    'state',
    'lost',
    'counters',
    'free_handled',
    'preempt_count_addr',
    'self_tgids',
    'stack_traces',
    'detail_ids',
    'detail_keys',
    'detail_stats',
    'live_details',
    'site_ages',
    'page_stack_buf',
    'page_failures',
    'task_names',
  ],
};

export interface SlabOptions {
  /* Live objects the live table is sized for (at most half full at that count). */
  maxLive: number;
  /* Capacity of the site index. */
  maxSites: number;
  maxCaches: number;
  /* Attach the *_nested free programs (--catch-nested). */
  catchNested: boolean;
  /* Classify each event's context (task, softirq, ...); off: all "unknown". */
  classifyContext: boolean;
  /* Count only task-context allocations of the processes added with addTask(). */
  taskTree: boolean;
  /* Track 1 object in this many (chosen by address hash); 1: every object. */
  sampleOneIn: number;
  /* Track kmemtop's own allocations too (collect/self.ts). */
  includeSelf: boolean;
  /* --stacks: frames kept per allocation stack (0: no stacks), and how many distinct stacks the maps hold. */
  stackDepth: number;
  maxStacks: number;
  /* --by-cgroup, --by-task: attribute allocations to the allocating task's memory cgroup, process. */
  byCgroup: boolean;
  byTask: boolean;
  /* Distinct (site, stack, cgroup, process) details counted. */
  maxDetails: number;
  /* --pages: track the page allocator's unmovable and reclaimable allocations per call site too. */
  pages: boolean;
}

/*
 * The page allocator's own functions, and the tracepoint's frames above
 * them: a page allocation's call site is the first frame of its stack
 * outside these (the wrappers callers use: alloc_pages, __get_free_pages,
 * folio_alloc, ...; the allocator's inner functions when inlined
 * differently; the BPF trampoline of the tracepoint).
 */
export const PAGE_ALLOCATOR_FNS =
  /^(__alloc_pages|alloc_pages|__alloc_frozen_pages|alloc_frozen_pages|__folio_alloc|folio_alloc|folio_alloc_mpol|__get_free_pages|get_free_pages|get_zeroed_page|get_page_from_freelist|alloc_pages_mpol|alloc_pages_exact|alloc_pages_exact_nid|__alloc_pages_slowpath|__alloc_pages_direct_compact|__alloc_pages_direct_reclaim|alloc_pages_nolock|alloc_frozen_pages_nolock|vma_alloc_folio|alloc_pages_bulk|alloc_pages_bulk_mempolicy|bpf_trace_run\d|__bpf_trace_mm_page_alloc|__traceiter_mm_page_alloc)(_noprof)?(\.constprop\.\d+|\.isra\.\d+)?$/;

/* Are any details (stacks, cgroups, processes) recorded? */
export function detailsOn(o: SlabOptions): boolean {
  return o.stackDepth > 0 || o.byCgroup || o.byTask;
}

export function slabOptions(o: Partial<SlabOptions>): SlabOptions {
  return {
    maxLive: o.maxLive ?? DEFAULTS.maxLive,
    maxSites: o.maxSites ?? DEFAULTS.maxSites,
    maxCaches: o.maxCaches ?? DEFAULTS.maxCaches,
    catchNested: o.catchNested ?? false,
    classifyContext: o.classifyContext ?? true,
    taskTree: o.taskTree ?? false,
    sampleOneIn: Math.max(1, o.sampleOneIn ?? 1),
    includeSelf: o.includeSelf ?? false,
    stackDepth: Math.min(MAX_STACK_DEPTH, Math.max(0, o.stackDepth ?? 0)),
    maxStacks: o.maxStacks ?? DEFAULTS.maxStacks,
    byCgroup: o.byCgroup ?? false,
    byTask: o.byTask ?? false,
    maxDetails: o.maxDetails ?? DEFAULTS.maxDetails,
    pages: o.pages ?? false,
  };
}

/*
 * vmalloc's own functions (and the tracepoint's frames): a vmap area's call
 * site is the first frame after them -- kvmalloc's callers, not kvmalloc.
 */
export const VMALLOC_FNS =
  /^(alloc_vmap_area|__get_vm_area_node|__get_vm_area_caller|get_vm_area|get_vm_area_caller|__vmalloc_node_range|__vmalloc_node|__vmalloc|vmalloc|vzalloc|vmalloc_user|vmalloc_node|vzalloc_node|vmalloc_huge|vmalloc_huge_node|vmalloc_32|vmalloc_32_user|__kvmalloc_node|kvmalloc_node|kvrealloc|vmap|vm_map_ram|bpf_trace_run\d|__bpf_trace_alloc_vmap_area|__traceiter_alloc_vmap_area)(_noprof)?(\.constprop\.\d+|\.isra\.\d+)?$/;

function vmallocRanges(syms: Kallsyms): { start: bigint; end: bigint }[] {
  return syms.ranges(VMALLOC_FNS).slice(0, PAGE_FN_RANGES);
}

/* The text ranges of PAGE_ALLOCATOR_FNS on this kernel (one error line when kallsyms hides them). */
function pageAllocatorRanges(syms: Kallsyms): { start: bigint; end: bigint }[] {
  const r = syms.ranges(PAGE_ALLOCATOR_FNS);
  if (!r.some((x) => /^__alloc_pages|^__alloc_frozen_pages/.test(x.name))) {
    throw new KmemtopError('kmemtop: --pages: the page allocator is not in /proc/kallsyms (kptr_restrict?): cannot tell its callers');
  }
  if (r.length > PAGE_FN_RANGES) log.debug(`--pages: ${r.length} allocator functions, the first ${PAGE_FN_RANGES} used`);
  return r.slice(0, PAGE_FN_RANGES);
}

function pageRanges(): { pageFns: { start: bigint; end: bigint }[]; vmallocFns: { start: bigint; end: bigint }[] } {
  const syms = Kallsyms.load();
  return { pageFns: pageAllocatorRanges(syms), vmallocFns: vmallocRanges(syms) };
}

/* The kernel's limit on stack frames (PERF_MAX_STACK_DEPTH). */
export const MAX_STACK_DEPTH = 127;

const SITE_CACHE_ENTRIES = 1024;

/* --by-task: processes whose current name is kept (a preallocated hash: ~1.5 MiB). */
const TASK_NAMES = 16384;

/* Live table geometry for a number of live objects: buckets of LIVE_WAYS slots, half full at most. */
export function liveGeometry(maxLive: number): { buckets: number; overflow: number } {
  const wanted = Math.ceil((2 * maxLive) / LIVE_WAYS);
  let buckets = 1;
  while (buckets < wanted) buckets *= 2;
  return { buckets, overflow: Math.max(1024, Math.ceil(maxLive / 16)) };
}

const CALL_SITE_OFF = SITE_KEY.offsetOf('call_site');

/* What one read of the site maps gives. */
export interface SlabRead {
  sites: RawSite[];
  caches: Map<bigint, CacheInfo>;
  lost: Record<LostKey, number>;
  counters: Record<CounterKey, number>;
  maps: { sites: MapUsage; caches: MapUsage; live: { buckets: number; slots: number; overflowMaxEntries: number; overflowEntries: number } };
}

export class SlabCollector {
  private readonly nrCpus = possibleCpus();
  /*
   * Site keys by index, decoded once per session: a published key never
   * changes.  An index given up in a creation race is zeroed again, so a
   * key is reused only while its slot still holds a call site.
   */
  private readonly keys = new Map<number, SiteKey>();
  /*
   * The last read's site_stats bytes and sites, by position (see
   * readSites()).  The bytes are that read's dump itself: reads alternate
   * between two result buffers, so the previous one stays valid.
   */
  private lastStats: Buffer | null = null;
  private statsSlot: 0 | 1 = 0;
  private lastSites: (RawSite | undefined)[] = [];

  private constructor(
    private readonly o: LoadedObject,
    readonly opts: SlabOptions,
    /* Non-zero when event contexts can be read (see event_context() in the BPF code). */
    readonly preemptCountDelta: number,
  ) {}

  /* Open, configure (map sizes: maps are preallocated; the read-only config) and load; attach() starts tracing. */
  static load(options: Partial<SlabOptions>, spec = SLAB): SlabCollector {
    const opts = slabOptions(options);
    const o = LoadedObject.open(spec);
    try {
      const geo = liveGeometry(opts.maxLive);
      o.map('live').setMaxEntries(geo.buckets);
      o.map('live_overflow').setMaxEntries(geo.overflow);
      /* Detail indices per slot only with details: else one element, never touched (8 MiB less at the defaults). */
      o.map('live_details').setMaxEntries(detailsOn(opts) ? geo.buckets : 1);
      o.map('site_ages').setMaxEntries(opts.maxSites);
      for (const m of ['site_ids', 'site_keys', 'site_stats']) o.map(m).setMaxEntries(opts.maxSites);
      o.map('site_cache').setMaxEntries(SITE_CACHE_ENTRIES * CTX_MAX);
      o.map('caches').setMaxEntries(opts.maxCaches);
      if (opts.stackDepth > 0) {
        o.map('stack_traces').setMaxEntries(opts.maxStacks);
        o.map('stack_traces').setValueSize(8 * opts.stackDepth);
      }
      if (detailsOn(opts)) for (const m of ['detail_ids', 'detail_keys', 'detail_stats']) o.map(m).setMaxEntries(opts.maxDetails);
      /* --by-task: processes named as they are now (after exec); a full map leaves the name at the first allocation. */
      if (opts.byTask) o.map('task_names').setMaxEntries(TASK_NAMES);
      for (const p of o.object.programs()) {
        if (!opts.catchNested && p.name.endsWith('_nested')) p.autoload = false;
        if (!opts.taskTree && /^kmemtop__task_/.test(p.name)) p.autoload = false;
        if (!opts.byTask && /^kmemtop__name_/.test(p.name)) p.autoload = false;
        if (!opts.pages && /^kmemtop__(page|percpu|vmap)_/.test(p.name)) p.autoload = false;
      }
      const facts = kernelFacts();
      const skipped = o.skipMissingTracepoints((tp) => facts.tracepoints[tp] ?? hasTracepoint(btfPath(), tp));
      const core = skipped.filter((tp) => (CORE_TRACEPOINTS as readonly string[]).includes(tp));
      if (core.length) throw new KmemtopError(`kmemtop: this kernel has no tracepoint ${core.join(', ')} usable by raw_tp programs: kmemtop needs the kmem tracepoints of Linux 6.1 or later`);
      if (skipped.length) log.debug(`not on this kernel, not traced: ${skipped.join(', ')}`);
      const delta = opts.classifyContext && facts.cfsRqHasRq ? facts.preemptCountDelta : 0;
      o.map('.rodata.config').setInitialValue(
        encodeConfig({
          liveBucketsMask: geo.buckets - 1,
          maxSites: opts.maxSites,
          siteCacheMask: SITE_CACHE_ENTRIES - 1,
          preemptCountDelta: delta,
          taskTree: opts.taskTree,
          sampleOneIn: opts.sampleOneIn,
          catchNested: opts.catchNested,
          overflowMax: geo.overflow,
          excludeSelf: !opts.includeSelf,
          stacks: opts.stackDepth > 0,
          byCgroup: opts.byCgroup,
          byTask: opts.byTask,
          hz: kernelHz(),
          rdonlyCast: facts.kfuncs.rdonlyCast,
          kmallocGfp: kernelKmallocGfp(),
        }),
      );
      if (opts.pages) o.map('.data.ranges').setInitialValue(encodeFnRanges(pageRanges()));
      o.load();
      return new SlabCollector(o, opts, delta);
    } catch (e) {
      o.close();
      throw e;
    }
  }

  /* The maps of a session pinned under dir, with the options it was started with. */
  static reopen(dir: string, options: Partial<SlabOptions>, delta: number, spec = SLAB): SlabCollector {
    return new SlabCollector(LoadedObject.reopen(spec, dir), slabOptions(options), delta);
  }

  attach(): void {
    this.o.attach();
  }

  pin(dir: string): ProgramRef[] {
    return this.o.pin(dir);
  }

  /* The programs loaded here (none for a reader of a session). */
  programs(): (ProgramRef & { fd: number })[] {
    return this.o.programs();
  }

  mapFd(name: string): number {
    return this.o.map(name).fd;
  }

  /* --task-tree: count this process (and, as they fork, its descendants). */
  addTask(tgid: number): void {
    const key = Buffer.alloc(4);
    key.writeUInt32LE(tgid);
    const err = raw.bpf_map_update_elem(this.mapFd('task_tree'), key, Buffer.from([1]), 0n);
    if (err) throw new BpfError(`add task ${tgid}`, -err);
  }

  readState(): KmemtopState {
    return decodeState(dumpMap(this.mapFd('state'), 4, KMEMTOP_STATE.size, 1).values);
  }

  private siteKey(idx: number, buf: Buffer, off: number): SiteKey {
    const known = this.keys.get(idx);
    const callSiteOff = off + CALL_SITE_OFF;
    if (known && (buf.readUInt32LE(callSiteOff) | buf.readUInt32LE(callSiteOff + 4)) !== 0) return known;
    const key = decodeSiteKey(buf, off);
    if (key.callSite !== 0n) this.keys.set(idx, key);
    else this.keys.delete(idx);
    return key;
  }

  /* Everything the programs aggregated so far.  Counters only grow: nothing is reset. */
  read(): SlabRead {
    const state = this.readState();
    const maxSites = this.opts.maxSites;
    /* Sites are numbered 1..next_site; read only that prefix of the arrays. */
    const n = Math.min(state.nextSite + 1, maxSites);
    const kd = dumpMap(this.mapFd('site_keys'), 4, SITE_KEY.size, n);
    const statsVal = perCpuValueSize(SITE_STATS.size, this.nrCpus);
    this.statsSlot = this.statsSlot === 0 ? 1 : 0;
    const sd = dumpMap(this.mapFd('site_stats'), 4, statsVal, n, this.statsSlot);
    const sites: RawSite[] = [];
    const count = Math.min(kd.count, sd.count);
    /*
     * A site whose counters did not move since the last read is the same
     * RawSite object as then (most of thousands of sites are idle in any
     * second): nothing decoded again, and the model reuses what it built.
     */
    const before = this.lastStats;
    const prevSites = this.lastSites;
    const nextSites = new Array<RawSite | undefined>(count);
    const changed: number[] = [];
    for (let i = 0; i < count; i++) {
      const off = i * statsVal;
      const prev = prevSites[i];
      if (!(prev && before && off + statsVal <= before.length && sd.values.compare(before, off, off + statsVal, off, off + statsVal) === 0)) changed.push(i);
    }
    const stats = decodeSomeSiteStats(sd.values, changed, this.nrCpus);
    let c = 0;
    for (let i = 0; i < count; i++) {
      const idx = kd.keys.readUInt32LE(i * 4);
      if (idx !== sd.keys.readUInt32LE(i * 4)) throw new Error('site_keys and site_stats read out of step');
      const key = this.siteKey(idx, kd.values, i * SITE_KEY.size);
      const site = changed[c] === i ? { idx, key, stats: stats[c++] } : prevSites[i]!;
      nextSites[i] = site.key === key ? site : { idx, key, stats: site.stats };
      /* Index 0 is unused; an all-zero key is an index given up in a creation race. */
      if (key.callSite === 0n && key.cache === 0n) continue;
      sites.push(nextSites[i]!);
    }
    this.lastSites = nextSites;
    this.lastStats = sd.values.subarray(0, count * statsVal);

    const cachesMap = this.o.map('caches');
    const cd = dumpMap(cachesMap.fd, 8, CACHE_INFO.size, cachesMap.maxEntries);
    const caches = new Map<bigint, CacheInfo>();
    for (let i = 0; i < cd.count; i++) caches.set(cd.keys.readBigUInt64LE(i * 8), decodeCacheInfo(cd.values, i * CACHE_INFO.size));
    const live = this.o.map('live');
    return {
      sites,
      caches,
      lost: this.readPerCpuArray(this.o.map('lost'), LOST_CAUSES) as Record<LostKey, number>,
      counters: this.counters(),
      maps: {
        /* Index 0 is unused, the last one is "(sites map full)". */
        sites: { entries: sites.filter((x) => x.idx !== maxSites - 1).length, maxEntries: maxSites - 2 },
        caches: { entries: cd.count, maxEntries: cachesMap.maxEntries },
        live: {
          buckets: live.maxEntries,
          slots: live.maxEntries * LIVE_WAYS,
          overflowMaxEntries: this.o.map('live_overflow').maxEntries,
          overflowEntries: state.overflowEntries,
        },
      },
    };
  }

  /* Frames by stack id + 1, kept: a stack map entry never changes while the session lasts. */
  private readonly frames = new Map<number, bigint[]>();
  /* Detail keys by index: a published key never changes (an index lost to a creation race never counts an allocation). */
  private readonly detailKeys = new Map<number, DetailInfo>();
  private cgroups: CgroupPaths | null = null;
  private reads = 0;

  /* --stacks/--by-cgroup/--by-task: every detail's counts, and the frames of the stacks they name; null without them. */
  readDetails(): RawDetails | null {
    const o = this.opts;
    if (!detailsOn(o)) return null;
    this.reads++;
    if (o.byCgroup && !this.cgroups) this.cgroups = new CgroupPaths();
    const n = Math.min(this.readState().nextDetail + 1, o.maxDetails);
    if (n > this.detailKeys.size + 1) {
      const kd = dumpMap(this.mapFd('detail_keys'), 4, DETAIL_INFO.size, n);
      for (let i = 0; i < kd.count; i++) {
        const idx = kd.keys.readUInt32LE(i * 4);
        const info = decodeDetailInfo(kd.values, i * DETAIL_INFO.size);
        if (info.site && !this.detailKeys.has(idx)) this.detailKeys.set(idx, info);
      }
    }
    const sd = dumpMap(this.mapFd('detail_stats'), 4, DETAIL_STATS.size, n);
    const names = o.byTask ? this.taskNames() : null;
    const details: RawDetail[] = [];
    const traces = o.stackDepth > 0 ? this.mapFd('stack_traces') : -1;
    const key = Buffer.alloc(4);
    const value = Buffer.alloc(8 * Math.max(1, o.stackDepth));
    for (let i = 0; i < sd.count; i++) {
      const allocs = readU64(sd.values, i * DETAIL_STATS.size + DETAIL_STATS.offsetOf('allocs'));
      if (!allocs) continue;
      const info = this.detailKeys.get(sd.keys.readUInt32LE(i * 4));
      if (!info) continue; /* published after the keys were read: next time */
      details.push({
        ...info,
        /* The process's name now (after an exec), where known; else its name at the detail's first allocation. */
        comm: (info.tgid && names?.get(info.tgid)) || info.comm,
        cgroupPath: this.cgroups ? this.cgroups.pathOf(info.cgroup, this.reads) : null,
        allocs,
        frees: readU64(sd.values, i * DETAIL_STATS.size + DETAIL_STATS.offsetOf('frees')),
      });
      if (info.stack && !this.frames.has(info.stack)) {
        key.writeUInt32LE(info.stack - 1);
        if (raw.bpf_map_lookup_elem(traces, key, value) === 0) {
          const ips: bigint[] = [];
          for (let f = 0; f < o.stackDepth; f++) {
            const ip = value.readBigUInt64LE(f * 8);
            if (ip === 0n) break;
            ips.push(ip);
          }
          this.frames.set(info.stack, ips);
        }
      }
    }
    const m = this.cgroups?.mount;
    return {
      stackDepth: o.stackDepth,
      byCgroup: o.byCgroup,
      byTask: o.byTask,
      memcgHierarchy: m ? `cgroup v${m.version} ${m.dir}` : null,
      details,
      frames: this.frames,
    };
  }

  /* --by-task: the current name of every process seen forking or exec'ing since tracing began, by tgid. */
  private taskNames(): Map<number, string> {
    const m = this.o.map('task_names');
    const d = dumpMap(m.fd, 4, TASK_NAME.size, m.maxEntries);
    const out = new Map<number, string>();
    for (let i = 0; i < d.count; i++) out.set(d.keys.readUInt32LE(i * 4), decodeTaskName(d.values, i * TASK_NAME.size));
    return out;
  }

  /* Live objects per site by age, as the last sweep left them (sites 1..next_site). */
  readAges(): Map<number, SiteAge> {
    const n = Math.min(this.readState().nextSite + 1, this.opts.maxSites);
    const d = dumpMap(this.mapFd('site_ages'), 4, SITE_AGE.size, n);
    const out = new Map<number, SiteAge>();
    for (let i = 0; i < d.count; i++) {
      const a = decodeSiteAge(d.values, i * SITE_AGE.size);
      if (a.oldest) out.set(d.keys.readUInt32LE(i * 4), a);
    }
    return out;
  }

  /* --pages: the failed page allocations so far. */
  readPageFailures(): RawPageFailure[] {
    const m = this.o.map('page_failures');
    const d = dumpMap(m.fd, PAGE_FAIL_KEY.size, 8, m.maxEntries);
    const out: RawPageFailure[] = [];
    for (let i = 0; i < d.count; i++) {
      const k = i * PAGE_FAIL_KEY.size;
      out.push({
        callSite: d.keys.readBigUInt64LE(k + PAGE_FAIL_KEY.offsetOf('call_site')),
        order: d.keys.readUInt32LE(k + PAGE_FAIL_KEY.offsetOf('order')),
        gfp: d.keys.readUInt32LE(k + PAGE_FAIL_KEY.offsetOf('gfp')),
        count: readU64(d.values, i * 8),
      });
    }
    return out;
  }

  counters(): Record<CounterKey, number> {
    return this.readPerCpuArray(this.o.map('counters'), COUNTERS) as Record<CounterKey, number>;
  }

  /*
   * Objects tracked as live right now: occupied slots of the live table plus
   * overflow entries.  Reads the whole table (tens of MB at the default
   * size): for checks and status, not for every refresh.
   */
  liveEntries(): number {
    const live = this.o.map('live');
    const d = dumpMap(live.fd, 4, LIVE_BUCKET.size, live.maxEntries);
    return countLiveSlots(d.values, d.count) + this.readState().overflowEntries;
  }

  /*
   * A per-CPU array of __u64 counters, summed over CPUs, by name.  A map
   * with several sets of them (counters: see KMEMTOP_COUNTER_SETS) is
   * summed over the sets too.
   */
  private readPerCpuArray(map: BpfMap, names: readonly { key: string }[]): Record<string, number> {
    const valSize = perCpuValueSize(8, this.nrCpus);
    const d = dumpMap(map.fd, 4, valSize, map.maxEntries);
    const out: Record<string, number> = {};
    for (const n of names) out[n.key] = 0;
    for (let i = 0; i < d.count; i++) {
      const idx = d.keys.readUInt32LE(i * 4);
      out[names[idx % names.length].key] += sumPerCpuU64(d.values.subarray(i * valSize), this.nrCpus);
    }
    return out;
  }

  kernelBytes(): number {
    return this.o.kernelBytes();
  }

  detach(): void {
    this.o.detach();
  }

  get attached(): boolean {
    return this.o.attached;
  }

  private closed = false;

  /* Detach and free; the result buffers kept for its maps go too.  Safe twice. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const m of ['live', 'live_overflow', 'site_ids', 'site_keys', 'site_stats', 'caches', 'state', 'lost', 'counters']) forgetMap(this.mapFd(m));
    this.o.close();
  }
}
