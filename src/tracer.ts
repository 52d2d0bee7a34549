/*
 * The collector: loads bpf/kmemtop.bpf.c's object, sizes its maps, attaches
 * its programs and reads everything they aggregated as a RawSnapshot (plain
 * data with raw addresses, which only the model turns into symbols).
 */
import * as path from 'path';
import { BpfError, BpfLink, BpfMap, BpfObject, recentLibbpfLog } from './bpf/object';
import { dumpMap, forgetMap, perCpuValueSize, possibleCpus } from './bpf/map';
import { progStats } from './bpf/proginfo';
import {
  CACHE_INFO,
  COUNTERS,
  CTX_MAX,
  CounterKey,
  decodeCacheInfo,
  decodeSiteKey,
  decodeSomeSiteStats,
  decodeState,
  encodeConfig,
  countLiveSlots,
  KMEMTOP_STATE,
  LIVE_BUCKET,
  LIVE_WAYS,
  LOST_CAUSES,
  LostKey,
  SITE_KEY,
  SITE_STATS,
  SiteKey,
  SiteStats,
  CacheInfo,
  sumPerCpuU64,
} from './abi/layout';
import { btfPath, explainBpfFailure, preflight } from './sys/preflight';
import { preemptCountDelta } from './bpf/btf';
import { makePinDirs, PIN_DIR, SessionMeta, writeMeta } from './session';
import { objGet } from './bpf/object';
import { raw } from './bpf/libbpf';
import { RawReclaim, ReclaimCollector } from './reclaim';
import { KmemtopError } from './errors';
import { readSlabinfo, SlabCache } from './sys/slabinfo';
import { readSlabNames, SlabNames } from './sys/slabaliases';
import * as log from './log';
import { DEFAULTS } from './config';
import { Sweeper, SweepInfo } from './sweep';
import { registerSelf, unregisterSelf } from './self';

export const DEFAULT_OBJECT = path.resolve(__dirname, '..', 'build', 'kmemtop.bpf.o');

export interface TracerOptions {
  objectPath?: string;
  /* Live objects the live table is sized for (at most half full at that count). */
  maxLive?: number;
  /* Capacity of the site index. */
  maxSites?: number;
  maxCaches?: number;
  /*
   * Attach the *_nested free programs that catch the frees the kernel's
   * recursion protection makes the primary programs skip (default off: --catch-nested).
   */
  catchNested?: boolean;
  /* Classify each event's context (task, softirq, ...); off: all "unknown". */
  classifyContext?: boolean;
  /* Also trace shrinkers, reclaim and OOM kills (reclaim.bpf.c). */
  reclaim?: boolean;
  /* Pin maps, programs and links here (a session that outlives the process: see session.ts). */
  pinDir?: string;
  /* Count only task-context allocations of the processes added with addTask() and their descendants. */
  taskTree?: boolean;
  /* Track 1 object in this many (chosen by address hash); 1: every object. */
  sampleOneIn?: number;
  /* Run the program bodies with local interrupts off where the kernel allows it (default off: measured no faster). */
  irqOff?: boolean;
  /* Have the kernel measure the programs' run time (bpf_stats) while tracing. */
  bpfStats?: boolean;
  /* Track kmemtop's own allocations too (default: counted, not tracked; see self.ts). */
  includeSelf?: boolean;
}

const SITE_CACHE_ENTRIES = 1024;

/* Live table geometry for a number of live objects: buckets of LIVE_WAYS slots, half full at most. */
export function liveGeometry(maxLive: number): { buckets: number; overflow: number } {
  const wanted = Math.ceil((2 * maxLive) / LIVE_WAYS);
  let buckets = 1;
  while (buckets < wanted) buckets *= 2;
  return { buckets, overflow: Math.max(1024, Math.ceil(maxLive / 16)) };
}


const CALL_SITE_OFF = SITE_KEY.offsetOf('call_site');

export interface RawSite {
  /* The kernel's site index: stable for the whole tracing session. */
  idx: number;
  key: SiteKey;
  stats: SiteStats;
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
 * caught (null without one).  A tracepoint calls its programs in attach
 * order, so the *_nested program is attached right after its primary (a
 * primary miss in between is a real, counted loss).  At the end the counts
 * are taken, then the primaries are detached before the nested programs:
 * alone, a nested program handles every event, so nothing is lost while the
 * primaries go, and what it handles then is not counted as a catch.
 */
export interface RecursionAccount {
  program: string;
  tracepoint: string;
  misses: number;
  caught: number | null;
}

/* Counter of the events a free tracepoint's *_nested program caught. */
export const NESTED_CAUGHT: Record<string, CounterKey> = {
  kfree: 'nestedKfreeCaught',
  kmem_cache_free: 'nestedCacheFreeCaught',
};

interface RecursionSample {
  caught: Record<string, number>;
  misses: Record<string, number>;
}

export interface MapUsage {
  entries: number;
  maxEntries: number;
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
  /* The sweep of live entries whose slab is gone (sweep.ts): run before this read, or why there is none. */
  sweep: SweepInfo;
}

function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

export class Tracer {
  private obj: BpfObject | null;
  private readonly links: BpfLink[] = [];
  private readonly nrCpus = possibleCpus();
  private readonly opts: Required<Omit<TracerOptions, 'objectPath'>>;
  private reclaim: ReclaimCollector | null = null;
  private reclaimUnavailable: string | null = null;
  private sweeper: Sweeper | null = null;
  private sweepUnavailable: string | null = null;
  /* Recursion counters taken when detaching. */
  private recursionEnd: RecursionSample | null = null;
  /* Non-zero when event contexts can be read (see event_context() in the BPF code). */
  private preemptCountDelta = 0;
  /* The fd that keeps the kernel's bpf_stats on (-1: off). */
  private statsFd = -1;
  /* When tracing began (programs attached). */
  startedMonotonicMs = 0;
  startedAt = new Date(0);

  private constructor(obj: BpfObject, opts: TracerOptions) {
    this.obj = obj;
    this.opts = {
      maxLive: opts.maxLive ?? DEFAULTS.maxLive,
      maxSites: opts.maxSites ?? DEFAULTS.maxSites,
      maxCaches: opts.maxCaches ?? DEFAULTS.maxCaches,
      catchNested: opts.catchNested ?? false,
      classifyContext: opts.classifyContext ?? true,
      reclaim: opts.reclaim ?? true,
      pinDir: opts.pinDir ?? '',
      taskTree: opts.taskTree ?? false,
      sampleOneIn: Math.max(1, opts.sampleOneIn ?? 1),
      irqOff: opts.irqOff ?? false,
      bpfStats: opts.bpfStats ?? false,
      includeSelf: opts.includeSelf ?? false,
    };
  }

  /* The programs read for statistics: our own, or those pinned by the session we read. */
  private pinnedProgs: { name: string; tracepoint: string; fd: number }[] | null = null;

  private progList(): { name: string; tracepoint: string; fd: number }[] {
    if (this.pinnedProgs) return this.pinnedProgs;
    return this.object
      .programs()
      .filter((p) => p.autoload)
      .map((p) => ({ name: p.name, tracepoint: p.sectionName.replace(/^[^/]*\//, ''), fd: p.fd }));
  }

  /* The maps the host reads (and a session pins). */
  static readonly MAPS = [
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
  ];

  /* The self_tgids map this process is listed in (see self.ts), -1: none. */
  private selfFd = -1;
  private selfFdOwned = false;

  /*
   * Read a session started by another process (kmemtop start): reuse its
   * pinned maps, load no program, read program statistics through the pins.
   */
  static openSession(meta: SessionMeta, pinDir = PIN_DIR, objectPath = DEFAULT_OBJECT): Tracer {
    preflight(objectPath);
    const obj = BpfObject.open(objectPath);
    const tracer = new Tracer(obj, {
      maxLive: meta.maxLive,
      maxSites: meta.maxSites,
      maxCaches: meta.maxCaches,
      catchNested: meta.catchNested,
      sampleOneIn: meta.sampleOneIn ?? 1,
    });
    try {
      /* First of all: what this reader allocates from here on is its own, not the machine's. */
      tracer.selfFd = objGet(path.join(pinDir, 'maps', 'self_tgids'));
      tracer.selfFdOwned = true;
      registerSelf(tracer.selfFd);
      for (const name of Tracer.MAPS) obj.map(name).reuse(objGet(path.join(pinDir, 'maps', name)));
      for (const p of obj.programs()) p.autoload = false;
      obj.load();
      tracer.openSweeper();
      tracer.pinnedProgs = meta.programs.map((p) => ({ ...p, fd: objGet(path.join(pinDir, 'progs', p.name)) }));
      tracer.preemptCountDelta = meta.preemptCountDelta;
      tracer.startedAt = new Date(meta.startedAt);
      tracer.startedMonotonicMs = meta.startedMonotonicMs;
      tracer.reclaimUnavailable = meta.reclaimUnavailable;
      if (meta.reclaimPrograms.length) tracer.reclaim = ReclaimCollector.openSession(path.join(pinDir, 'reclaim'));
      return tracer;
    } catch (e) {
      tracer.close();
      if (e instanceof BpfError) throw new KmemtopError(`kmemtop: cannot read the running session (${e.message}): kmemtop stop clears it`);
      throw e;
    }
  }

  /* Pin everything under dir and describe the session (for start). */
  private pinAll(dir: string): SessionMeta {
    const obj = this.object;
    makePinDirs(dir);
    for (const name of Tracer.MAPS) obj.map(name).pin(path.join(dir, 'maps', name));
    const progs = this.progList();
    for (const p of obj.programs().filter((x) => x.autoload)) p.pin(path.join(dir, 'progs', p.name));
    for (const l of this.links) l.pin(path.join(dir, 'links', l.program));
    const reclaimPrograms = this.reclaim ? this.reclaim.pinAll(path.join(dir, 'reclaim')) : [];
    return {
      version: 1,
      state: 'running',
      pid: process.pid,
      startedAt: this.startedAt.toISOString(),
      startedMonotonicMs: this.startedMonotonicMs,
      maxLive: this.opts.maxLive,
      maxSites: this.opts.maxSites,
      maxCaches: this.opts.maxCaches,
      catchNested: this.opts.catchNested,
      sampleOneIn: this.opts.sampleOneIn,
      preemptCountDelta: this.preemptCountDelta,
      programs: progs.map(({ name, tracepoint }) => ({ name, tracepoint })),
      reclaimPrograms,
      reclaimUnavailable: this.reclaimUnavailable,
    };
  }

  /*
   * Open, configure, load and attach.  On any failure everything already
   * done is undone and a one-line KmemtopError is thrown.
   */
  static start(opts: TracerOptions = {}): Tracer {
    const objectPath = opts.objectPath ?? DEFAULT_OBJECT;
    preflight(objectPath);

    /* Open the object: parse ELF, nothing in the kernel yet. */
    const obj = BpfObject.open(objectPath);
    const tracer = new Tracer(obj, opts);
    try {
      /* Configure before load: map sizes (maps are preallocated) and the read-only config. */
      const geo = liveGeometry(tracer.opts.maxLive);
      obj.map('live').setMaxEntries(geo.buckets);
      obj.map('live_overflow').setMaxEntries(geo.overflow);
      for (const m of ['site_ids', 'site_keys', 'site_stats']) obj.map(m).setMaxEntries(tracer.opts.maxSites);
      obj.map('site_cache').setMaxEntries(SITE_CACHE_ENTRIES * CTX_MAX);
      obj.map('caches').setMaxEntries(tracer.opts.maxCaches);
      for (const p of obj.programs()) {
        if (!tracer.opts.catchNested && p.name.endsWith('_nested')) p.autoload = false;
        if (!tracer.opts.taskTree && /^kmemtop__task_/.test(p.name)) p.autoload = false;
      }
      tracer.preemptCountDelta = tracer.opts.classifyContext ? preemptCountDelta(btfPath()) : 0;
      obj.map('.rodata.config').setInitialValue(
        encodeConfig({
          liveBucketsMask: geo.buckets - 1,
          maxSites: tracer.opts.maxSites,
          siteCacheMask: SITE_CACHE_ENTRIES - 1,
          preemptCountDelta: tracer.preemptCountDelta,
          taskTree: tracer.opts.taskTree,
          sampleOneIn: tracer.opts.sampleOneIn,
          irqOff: tracer.opts.irqOff,
          catchNested: tracer.opts.catchNested,
          overflowMax: geo.overflow,
          excludeSelf: !tracer.opts.includeSelf,
        }),
      );
      /* Load & verify BPF programs. */
      try {
        obj.load();
      } catch (e) {
        if (e instanceof BpfError) throw explainBpfFailure(e, 'load', recentLibbpfLog());
        throw e;
      }
      tracer.openSweeper();
      if (!tracer.opts.includeSelf) {
        tracer.selfFd = obj.map('self_tgids').fd;
        registerSelf(tracer.selfFd);
      }
      if (tracer.opts.bpfStats) {
        tracer.statsFd = raw.bpf_enable_stats(0);
        if (tracer.statsFd < 0) throw new KmemtopError(`kmemtop: cannot enable bpf_stats (errno ${-tracer.statsFd})`);
      }
      /* Attach: tracing starts here; each *_nested program right after its primary (see RecursionAccount). */
      for (const prog of obj.programs().filter((p) => p.autoload)) {
        try {
          tracer.links.push(obj.attach(prog));
        } catch (e) {
          if (e instanceof BpfError) throw explainBpfFailure(e, 'attach', recentLibbpfLog(), prog.sectionName);
          throw e;
        }
      }
      if (tracer.opts.reclaim) {
        try {
          tracer.reclaim = ReclaimCollector.start();
        } catch (e) {
          if (!(e instanceof KmemtopError)) throw e;
          tracer.reclaimUnavailable = e.message.replace(/^kmemtop: /, '');
          log.warn(`no shrinker and reclaim data: ${tracer.reclaimUnavailable}`);
        }
      } else {
        tracer.reclaimUnavailable = 'not traced (reclaim off)';
      }
      tracer.startedMonotonicMs = monotonicMs();
      tracer.startedAt = new Date();
      if (tracer.opts.pinDir) writeMeta(tracer.pinAll(tracer.opts.pinDir));
      raw.malloc_trim(0);
      log.debug(`attached ${tracer.links.length} programs; live table for ${tracer.opts.maxLive} objects`);
      return tracer;
    } catch (e) {
      tracer.close();
      throw e;
    }
  }

  /* The sweep over this tracer's maps, or the reason there is none (said in every report). */
  private openSweeper(): void {
    const obj = this.object;
    const s = Sweeper.open(btfPath(), (name) => obj.map(name).fd);
    if (typeof s === 'string') this.sweepUnavailable = s;
    else this.sweeper = s;
  }

  private sweepInfo(): SweepInfo {
    if (this.sweeper) return this.sweeper.info();
    return { available: false, reason: this.sweepUnavailable ?? 'no sweep', runs: 0, last: null };
  }

  /* The fd of one of the object's maps (for benchmarks and tests that fill or inspect them). */
  mapFd(name: string): number {
    return this.object.map(name).fd;
  }

  /* OOM kills since tracing began; null when reclaim is not traced. */
  oomKills(): number | null {
    return this.reclaim ? this.reclaim.oomKills() : null;
  }

  get reclaimProblem(): string | null {
    return this.reclaimUnavailable;
  }

  /* --task-tree: count this process (and, as they fork, its descendants). */
  addTask(tgid: number): void {
    const key = Buffer.alloc(4);
    key.writeUInt32LE(tgid);
    const err = raw.bpf_map_update_elem(this.object.map('task_tree').fd, key, Buffer.from([1]), 0n);
    if (err) throw new BpfError(`add task ${tgid}`, -err);
  }

  /* When tracing began, as buildSnapshot() takes it. */
  get window(): { wallTime: Date; monotonicMs: number } {
    return { wallTime: this.startedAt, monotonicMs: this.startedMonotonicMs };
  }

  private get object(): BpfObject {
    if (!this.obj) throw new Error('tracer is closed');
    return this.obj;
  }

  /*
   * Caught counters first, then misses: a skipped run caught in between
   * counts as a loss, never the other way round.
   */
  private sampleRecursion(): RecursionSample {
    const counters = this.readPerCpuArray(this.object.map('counters'), COUNTERS) as Record<CounterKey, number>;
    const caught = Object.fromEntries(Object.entries(NESTED_CAUGHT).map(([tp, key]) => [tp, counters[key]]));
    const misses = Object.fromEntries(this.progList().map((p) => [p.name, progStats(p.fd).recursionMisses]));
    return { caught, misses };
  }

  private recursionAccounts(programs: ProgramStats[]): RecursionAccount[] {
    const end = this.recursionEnd ?? this.sampleRecursion();
    const names = new Set(programs.map((p) => p.name));
    return programs
      .filter((p) => !p.name.endsWith('_nested'))
      .map((p) => {
        const nested = names.has(`${p.name}_nested`) && NESTED_CAUGHT[p.tracepoint] !== undefined;
        if (!nested) return { program: p.name, tracepoint: p.tracepoint, misses: p.recursionMisses, caught: null };
        return { program: p.name, tracepoint: p.tracepoint, misses: end.misses[p.name], caught: end.caught[p.tracepoint] };
      });
  }

  /* Stop tracing now (detach) but keep the maps readable. */
  detach(): void {
    this.reclaim?.detach();
    const attached = this.links.length > 0 && this.obj !== null;
    if (attached) this.recursionEnd = this.sampleRecursion();
    /* Primaries first, then the *_nested programs (see RecursionAccount). */
    const links = this.links.splice(0);
    for (const l of links.filter((x) => !x.program.endsWith('_nested'))) l.destroy();
    for (const l of links.filter((x) => x.program.endsWith('_nested'))) l.destroy();
    /*
     * The window ends here: slabinfo and one last sweep now, and the maps
     * stay as they are for every later read (no sweep then, the same
     * slabinfo), so the report describes this moment.
     */
    if (attached) {
      this.frozen = { slabs: readSlabinfo() };
      this.sweeper?.run(0);
    }
  }

  /* Set by detach(): what later reads use instead of a fresh slabinfo and a sweep. */
  private frozen: { slabs: Map<string, SlabCache> | null } | null = null;

  private readState() {
    const d = dumpMap(this.object.map('state').fd, 4, KMEMTOP_STATE.size, 1);
    return decodeState(d.values);
  }

  /*
   * Site keys by index, decoded once per session: a published key never
   * changes.  An index given up in a creation race is zeroed again, so a
   * key is reused only while its slot still holds a call site.
   */
  private readonly keys = new Map<number, SiteKey>();
  /*
   * The last read's site_stats bytes and sites, by position (see read()).
   * The bytes are that read's dump itself: reads alternate between two
   * result buffers, so the previous one stays valid without a copy.
   */
  private lastStats: Buffer | null = null;
  private statsSlot: 0 | 1 = 0;
  private lastSites: (RawSite | undefined)[] = [];

  private siteKey(idx: number, buf: Buffer, off: number): SiteKey {
    const known = this.keys.get(idx);
    const callSiteOff = off + CALL_SITE_OFF;
    if (known && (buf.readUInt32LE(callSiteOff) | buf.readUInt32LE(callSiteOff + 4)) !== 0) return known;
    const key = decodeSiteKey(buf, off);
    if (key.callSite !== 0n) this.keys.set(idx, key);
    else this.keys.delete(idx);
    return key;
  }

  /*
   * Kernel memory of all the maps: fixed once they are created
   * (preallocated), so read from fdinfo once, not on every refresh.
   */
  private kernelBytesOnce: number | null = null;

  private mapsKernelBytes(): number {
    const obj = this.object;
    this.kernelBytesOnce ??= Tracer.MAPS.reduce((n, m) => n + obj.map(m).kernelBytes, 0) + (this.reclaim?.kernelBytes() ?? 0);
    return this.kernelBytesOnce;
  }

  private slabsCache: { at: number; slabs: Map<string, SlabCache> | null } | null = null;

  /*
   * Read everything the programs aggregated so far. Counters only grow:
   * nothing is reset.  slabinfoMaxAgeMs: reuse a /proc/slabinfo read that
   * recent (the live view's refreshes), 0 to always read it afresh;
   * sweepMaxAgeMs: sweep first unless the last sweep is that recent (0:
   * always, as every report does); sweep false: not at all (measurements).
   */
  read(opts: { slabinfoMaxAgeMs?: number; sweepMaxAgeMs?: number; sweep?: boolean } = {}): RawSnapshot {
    const obj = this.object;
    /*
     * slabinfo first, then the sweep, then the maps: a slab freed in
     * between has its objects swept, so no cache's tracked objects exceed
     * the room slabinfo gave it (with the reverse order, objects freed
     * without a tracepoint meanwhile would).
     */
    const slabs = this.frozen ? this.frozen.slabs : this.slabinfo(opts.slabinfoMaxAgeMs ?? 0);
    if (opts.sweep !== false && !this.frozen) this.sweeper?.run(opts.sweepMaxAgeMs ?? 0);
    const state = this.readState();
    const maxSites = this.opts.maxSites;
    /* Sites are numbered 1..next_site; read only that prefix of the arrays. */
    const n = Math.min(state.nextSite + 1, maxSites);
    const kd = dumpMap(obj.map('site_keys').fd, 4, SITE_KEY.size, n);
    const statsVal = perCpuValueSize(SITE_STATS.size, this.nrCpus);
    this.statsSlot = this.statsSlot === 0 ? 1 : 0;
    const sd = dumpMap(obj.map('site_stats').fd, 4, statsVal, n, this.statsSlot);
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

    const cachesMap = obj.map('caches');
    const cd = dumpMap(cachesMap.fd, 8, CACHE_INFO.size, cachesMap.maxEntries);
    const caches = new Map<bigint, CacheInfo>();
    for (let i = 0; i < cd.count; i++) {
      caches.set(cd.keys.readBigUInt64LE(i * 8), decodeCacheInfo(cd.values, i * CACHE_INFO.size));
    }

    const live = obj.map('live');
    const programs = this.progList().map((p) => {
      const st = progStats(p.fd);
      return { name: p.name, tracepoint: p.tracepoint, recursionMisses: st.recursionMisses, runCount: st.runCount, runTimeNs: st.runTimeNs };
    });
    return {
      monotonicMs: monotonicMs(),
      wallTime: new Date(),
      sites,
      caches,
      lost: this.readPerCpuArray(obj.map('lost'), LOST_CAUSES) as Record<LostKey, number>,
      counters: this.readPerCpuArray(obj.map('counters'), COUNTERS) as Record<CounterKey, number>,
      programs,
      recursion: this.recursionAccounts(programs),
      reclaim: this.reclaim ? this.reclaim.read() : null,
      reclaimUnavailable: this.reclaimUnavailable,
      sweep: this.sweepInfo(),
      contextSource: this.preemptCountDelta ? 'preempt_count' : 'unknown',
      sampleOneIn: this.opts.sampleOneIn,
      slabs,
      slabNames: this.slabNames(),
      maps: {
        sites: { entries: sites.length, maxEntries: maxSites - 1 },
        caches: { entries: cd.count, maxEntries: cachesMap.maxEntries },
        kernelBytes: this.mapsKernelBytes(),
        live: {
          buckets: live.maxEntries,
          slots: live.maxEntries * LIVE_WAYS,
          overflowMaxEntries: obj.map('live_overflow').maxEntries,
          overflowEntries: state.overflowEntries,
        },
      },
    };
  }

  /* Merges change only when a cache is created: read once a minute at most. */
  private namesCache: { at: number; names: SlabNames | null } | null = null;

  private slabNames(): SlabNames | null {
    const now = monotonicMs();
    if (!this.namesCache || now - this.namesCache.at > 60_000) this.namesCache = { at: now, names: readSlabNames() };
    return this.namesCache.names;
  }

  private slabinfo(maxAgeMs: number): Map<string, SlabCache> | null {
    const now = monotonicMs();
    if (!this.slabsCache || now - this.slabsCache.at > maxAgeMs) this.slabsCache = { at: now, slabs: readSlabinfo() };
    return this.slabsCache.slabs;
  }

  /*
   * Objects tracked as live right now: occupied slots of the live table plus
   * overflow entries.  Reads the whole table (tens of MB at the default
   * size): for checks and status, not for every refresh.
   */
  liveEntries(): number {
    const live = this.object.map('live');
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

  /*
   * Detach everything and free the object. Safe to call twice.  Pinned
   * links stay attached (a session: kmemtop stop removes the pins).
   */
  close(): void {
    this.detach();
    if (this.selfFd >= 0) {
      try {
        unregisterSelf(this.selfFd);
      } catch (e) {
        log.debug(`self_tgids: ${(e as Error).message}`);
      }
      if (this.selfFdOwned) raw.close(this.selfFd);
      this.selfFd = -1;
    }
    this.reclaim?.close();
    this.reclaim = null;
    this.sweeper?.close();
    this.sweeper = null;
    for (const p of this.pinnedProgs?.splice(0) ?? []) raw.close(p.fd);
    if (this.statsFd >= 0) raw.close(this.statsFd);
    this.statsFd = -1;
    if (this.obj) {
      for (const m of ['live', 'live_overflow', 'site_ids', 'site_keys', 'site_stats', 'caches', 'state', 'lost', 'counters']) forgetMap(this.obj.map(m).fd);
      this.obj.close();
      this.obj = null;
    }
  }
}
