/*
 * The tracer: the collectors composed (allocations, reclaim, the sweep,
 * kmemtop's own process left out) and read together as one RawSnapshot.
 *   Tracer.start(opts)        load and attach (and pin, for a session)
 *   Tracer.openSession(meta)  read a session another process started
 *   withTracer(opts, fn)      start, run fn, always close
 *   withSession(meta, fn)     open the session, run fn, always close
 */
import * as path from 'path';
import { BpfError, objGet } from '../bpf/object';
import { raw } from '../bpf/libbpf';
import { btfPath, preflight } from '../sys/preflight';
import { readSlabinfo, SlabCache } from '../sys/slabinfo';
import { MemInfo, readMeminfo } from '../sys/meminfo';
import { readSlabNames, SlabNames } from '../sys/slabaliases';
import { PIN_DIR, SessionMeta, writeMeta } from '../session';
import { KmemtopError } from '../errors';
import * as log from '../log';
import { SLAB, SlabCollector, SlabOptions } from './slab';
import { kernelFacts, kernelGfpBits } from '../sys/features';
import { ReclaimCollector } from './reclaim';
import { Sweeper } from './sweep';
import { registerSelf, unregisterSelf } from './self';
import { programStats, recursionAccounts, RecursionSample, sampleOf, sampleRecursion } from './recursion';
import type { RawSnapshot, SweepInfo } from './raw';

export interface TracerOptions extends Partial<SlabOptions> {
  /* Also trace shrinkers, reclaim and OOM kills (reclaim.bpf.c). */
  reclaim?: boolean;
  /* Pin maps, programs and links here (a session that outlives the process: see session.ts). */
  pinDir?: string;
  /* Have the kernel measure the programs' run time (bpf_stats) while tracing. */
  bpfStats?: boolean;
  /* --older SECONDS: count per site the live objects at least this old (the sweep does). */
  olderThan?: number;
}

export interface ReadOptions {
  /* Reuse a /proc/slabinfo read that recent (the live view's refreshes); 0: read it afresh. */
  slabinfoMaxAgeMs?: number;
  /* Sweep first unless the last sweep is that recent (0: always, as every report does). */
  sweepMaxAgeMs?: number;
  /* false: no sweep at all (measurements). */
  sweep?: boolean;
}

function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

/* The slabinfo read when the window ended (detach), used by every later read. */
interface Frozen {
  slabs: Map<string, SlabCache> | null;
  meminfo: MemInfo | null;
}

export class Tracer {
  private reclaim: ReclaimCollector | null = null;
  private reclaimUnavailable: string | null = null;
  private sweeper: Sweeper | null = null;
  private sweepUnavailable: string | null = null;
  /* The self_tgids map this process is listed in (collect/self.ts), -1: none; owned: opened here. */
  private selfFd = -1;
  private selfFdOwned = false;
  /* The programs read for statistics: our own, or those pinned by the session we read. */
  private pinnedProgs: { name: string; tracepoint: string; fd: number }[] | null = null;
  /* The fd that keeps the kernel's bpf_stats on (-1: off). */
  private statsFd = -1;
  /* Recursion counters taken when detaching. */
  private recursionEnd: RecursionSample | null = null;
  private frozen: Frozen | null = null;
  private slabsCache: { at: number; slabs: Map<string, SlabCache> | null } | null = null;
  private namesCache: { at: number; names: SlabNames | null } | null = null;
  private kernelBytesOnce: number | null = null;
  /* When tracing began (programs attached). */
  startedMonotonicMs = 0;
  startedAt = new Date(0);
  /* /proc/meminfo when tracing began (--pages checks its figures against the growth since). */
  private meminfoAtStart: MemInfo | null = null;

  private constructor(private readonly slab: SlabCollector) {}

  /*
   * Open, configure, load and attach.  On any failure everything already
   * done is undone and a one-line KmemtopError is thrown.
   */
  static start(opts: TracerOptions = {}): Tracer {
    preflight(SLAB.path);
    const tracer = new Tracer(SlabCollector.load(opts));
    try {
      tracer.openSweeper();
      tracer.setOlderThan(opts.olderThan ?? 0);
      if (!tracer.slab.opts.includeSelf) {
        tracer.selfFd = tracer.slab.mapFd('self_tgids');
        registerSelf(tracer.selfFd);
      }
      if (opts.bpfStats) {
        tracer.statsFd = raw.bpf_enable_stats(0);
        if (tracer.statsFd < 0) throw new KmemtopError(`kmemtop: cannot enable bpf_stats (errno ${-tracer.statsFd})`);
      }
      /* Attach: tracing starts here; each *_nested program right after its primary (collect/recursion.ts). */
      tracer.slab.attach();
      if (opts.reclaim ?? true) {
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
      tracer.meminfoAtStart = readMeminfo();
      if (opts.pinDir) writeMeta(tracer.pin(opts.pinDir));
      raw.malloc_trim(0);
      log.debug(`attached; live table for ${tracer.slab.opts.maxLive} objects`);
      return tracer;
    } catch (e) {
      tracer.close();
      throw e;
    }
  }

  /*
   * Read a session started by another process (kmemtop start): reuse its
   * pinned maps, load no program, read program statistics through the pins.
   */
  static openSession(meta: SessionMeta, pinDir = PIN_DIR): Tracer {
    preflight(SLAB.path);
    /* First of all: what this reader allocates from here on is its own, not the machine's. */
    let selfFd = -1;
    let tracer: Tracer | null = null;
    try {
      selfFd = objGet(path.join(pinDir, 'maps', 'self_tgids'));
      registerSelf(selfFd);
      const slab = SlabCollector.reopen(
        pinDir,
        {
          maxLive: meta.maxLive,
          maxSites: meta.maxSites,
          maxCaches: meta.maxCaches,
          catchNested: meta.catchNested,
          sampleOneIn: meta.sampleOneIn ?? 1,
          stackDepth: meta.stackDepth ?? 0,
          byCgroup: meta.byCgroup ?? false,
          byTask: meta.byTask ?? false,
          pages: meta.pages ?? false,
        },
        meta.preemptCountDelta,
      );
      tracer = new Tracer(slab);
      tracer.selfFd = selfFd;
      tracer.selfFdOwned = true;
      tracer.openSweeper();
      tracer.pinnedProgs = meta.programs.map((p) => ({ ...p, fd: objGet(path.join(pinDir, 'progs', p.name)) }));
      tracer.startedAt = new Date(meta.startedAt);
      tracer.startedMonotonicMs = meta.startedMonotonicMs;
      tracer.meminfoAtStart = meta.meminfoAtStart ?? null;
      tracer.reclaimUnavailable = meta.reclaimUnavailable;
      if (meta.reclaimPrograms.length) tracer.reclaim = ReclaimCollector.reopen(path.join(pinDir, 'reclaim'));
      return tracer;
    } catch (e) {
      if (tracer) tracer.close();
      else if (selfFd >= 0) {
        unregisterSelf(selfFd);
        raw.close(selfFd);
      }
      if (e instanceof BpfError) throw new KmemtopError(`kmemtop: cannot read the running session (${e.message}): kmemtop stop clears it`);
      throw e;
    }
  }

  /* Pin everything under dir and describe the session (for start). */
  private pin(dir: string): SessionMeta {
    const programs = this.slab.pin(dir);
    const reclaimPrograms = this.reclaim ? this.reclaim.pin(path.join(dir, 'reclaim')) : [];
    const o = this.slab.opts;
    return {
      version: 1,
      state: 'running',
      pid: process.pid,
      startedAt: this.startedAt.toISOString(),
      startedMonotonicMs: this.startedMonotonicMs,
      meminfoAtStart: this.meminfoAtStart ?? undefined,
      maxLive: o.maxLive,
      maxSites: o.maxSites,
      maxCaches: o.maxCaches,
      catchNested: o.catchNested,
      sampleOneIn: o.sampleOneIn,
      stackDepth: o.stackDepth,
      byCgroup: o.byCgroup,
      byTask: o.byTask,
      pages: o.pages,
      preemptCountDelta: this.slab.preemptCountDelta,
      programs,
      reclaimPrograms,
      reclaimUnavailable: this.reclaimUnavailable,
    };
  }

  /* --older: the sweeps count per site the live objects at least this many seconds old. */
  setOlderThan(seconds: number): void {
    if (this.sweeper) this.sweeper.olderThan = seconds;
  }

  /* The sweep over this tracer's maps, or the reason there is none (said in every report). */
  private openSweeper(): void {
    const s = Sweeper.open(btfPath(), (name) => this.slab.mapFd(name));
    if (typeof s === 'string') this.sweepUnavailable = s;
    else this.sweeper = s;
  }

  private sweepInfo(): SweepInfo {
    if (this.sweeper) return this.sweeper.info();
    return { available: false, reason: this.sweepUnavailable ?? 'no sweep', runs: 0, last: null };
  }

  /* Every program this process loaded (allocations, reclaim, sweep), with its fd: what the verifier accepted. */
  loadedPrograms(): { name: string; fd: number }[] {
    return [...this.slab.programs(), ...(this.reclaim?.programs() ?? []), ...(this.sweeper?.programs() ?? [])].map(({ name, fd }) => ({ name, fd }));
  }

  private programs(): { name: string; tracepoint: string; fd: number }[] {
    return this.pinnedProgs ?? this.slab.programs();
  }

  /* OOM kills since tracing began; null when reclaim is not traced. */
  oomKills(): number | null {
    return this.reclaim ? this.reclaim.oomKills() : null;
  }

  get reclaimProblem(): string | null {
    return this.reclaimUnavailable;
  }

  /* The fd of one of the allocation maps, for tools that inspect or fill them (scripts/bench-host). */
  mapFd(name: string): number {
    return this.slab.mapFd(name);
  }

  /* --task-tree: count this process (and, as they fork, its descendants). */
  addTask(tgid: number): void {
    this.slab.addTask(tgid);
  }

  /* When tracing began, as buildSnapshot() takes it. */
  get window(): { wallTime: Date; monotonicMs: number } {
    return { wallTime: this.startedAt, monotonicMs: this.startedMonotonicMs };
  }

  /* Stop tracing now but keep the maps readable. */
  detach(): void {
    this.reclaim?.detach();
    const attached = this.slab.attached;
    if (attached) this.recursionEnd = sampleRecursion(() => this.slab.counters(), this.programs());
    this.slab.detach();
    /*
     * The window ends here: slabinfo and one last sweep now, and the maps
     * stay as they are for every later read (no sweep then, the same
     * slabinfo), so the report describes this moment.
     */
    if (attached) {
      this.frozen = { slabs: readSlabinfo(), meminfo: readMeminfo() };
      this.sweeper?.run(0);
    }
  }

  /* Read everything the programs aggregated so far.  Counters only grow: nothing is reset. */
  read(opts: ReadOptions = {}): RawSnapshot {
    /*
     * slabinfo first, then the sweep, then the maps: a slab freed in
     * between has its objects swept, so no cache's tracked objects exceed
     * the room slabinfo gave it (with the reverse order, objects freed
     * without a tracepoint meanwhile would).
     */
    const slabs = this.frozen ? this.frozen.slabs : this.slabinfo(opts.slabinfoMaxAgeMs ?? 0);
    if (opts.sweep !== false && !this.frozen) this.sweeper?.run(opts.sweepMaxAgeMs ?? 0);
    const s = this.slab.read();
    const programs = programStats(this.programs());
    return {
      monotonicMs: monotonicMs(),
      wallTime: new Date(),
      sites: s.sites,
      caches: s.caches,
      lost: s.lost,
      counters: s.counters,
      programs,
      /* The counters (slab.read) were read before the programs' misses, as sampleRecursion orders them. */
      recursion: recursionAccounts(programs, this.recursionEnd ?? sampleOf(s.counters, programs)),
      reclaim: this.reclaim ? this.reclaim.read() : null,
      reclaimUnavailable: this.reclaimUnavailable,
      sweep: this.sweepInfo(),
      kernelFacts: kernelFacts(),
      contextSource: this.slab.preemptCountDelta ? 'preempt_count' : 'unknown',
      sampleOneIn: this.slab.opts.sampleOneIn,
      slabs,
      slabNames: this.slabNames(),
      details: this.slab.readDetails(),
      ages: this.readAges(),
      pages: this.slab.opts.pages,
      pageFailures: this.slab.opts.pages ? { failures: this.slab.readPageFailures(), gfpBits: this.gfpBits() } : null,
      meminfo: this.slab.opts.pages && this.meminfoAtStart ? { start: this.meminfoAtStart, now: this.frozen ? this.frozen.meminfo : readMeminfo() } : null,
      maps: { ...s.maps, kernelBytes: this.kernelBytes() },
    };
  }

  /* The kernel's GFP bit positions (enum ___GFP_*_BIT in its BTF), read once. */
  private gfpBitsOnce: Map<string, number> | null = null;
  private gfpBits(): Map<string, number> {
    this.gfpBitsOnce ??= kernelGfpBits();
    return this.gfpBitsOnce;
  }

  /* The ages the last sweep counted; null before any sweep, or without one. */
  private readAges(): RawSnapshot['ages'] {
    const last = this.sweeper?.info().last;
    if (!this.sweeper || !last) return null;
    return { now: last.now, olderThan: this.sweeper.olderThan, bySite: this.slab.readAges() };
  }

  /* Objects tracked as live right now (reads the whole live table: for checks and status). */
  liveEntries(): number {
    return this.slab.liveEntries();
  }

  /* Kernel memory of all the maps: fixed once created (preallocated), so read once. */
  private kernelBytes(): number {
    this.kernelBytesOnce ??= this.slab.kernelBytes() + (this.reclaim?.kernelBytes() ?? 0);
    return this.kernelBytesOnce;
  }

  /* Merges change only when a cache is created: read once a minute at most. */
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
   * Detach everything and free the objects. Safe to call twice.  Pinned
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
    this.slab.close();
  }
}

/* Everything that can be checked before loading, in the order a user should fix it (one line each). */
export function preflightTracer(): void {
  preflight(SLAB.path);
}

/* Start a tracer, run fn with it, and close it however fn ends (also on process exit). */
export async function withTracer<T>(opts: TracerOptions, fn: (t: Tracer) => Promise<T> | T): Promise<T> {
  const tracer = Tracer.start(opts);
  const closeOnExit = () => tracer.close();
  process.once('exit', closeOnExit);
  try {
    return await fn(tracer);
  } finally {
    tracer.close();
    process.removeListener('exit', closeOnExit);
  }
}

/* Open the running session's maps, run fn with them, and close (the session itself keeps running). */
export async function withSession<T>(meta: SessionMeta, fn: (t: Tracer) => Promise<T> | T): Promise<T> {
  const tracer = Tracer.openSession(meta);
  try {
    return await fn(tracer);
  } finally {
    tracer.close();
  }
}
