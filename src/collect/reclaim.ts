/*
 * The reclaim collector: bpf/reclaim.bpf.c (shrinkers, reclaim stalls,
 * kswapd, OOM kills), read as plain data.  Optional: a kernel without these
 * tracepoints still gets the allocation view, with the reason.
 */
import * as fs from 'fs';
import { dumpMap } from '../bpf/map';
import {
  decodeOomVictim,
  decodeReclaimState,
  decodeShrinkerInfo,
  decodeShrinkerKey,
  decodeShrinkerStats,
  encodeReclaimConfig,
  OOM_RING,
  OOM_VICTIM,
  OomVictimRaw,
  RECLAIM_STATE,
  SHRINKER_INFO,
  SHRINKER_KEY,
  SHRINKER_STATS,
  ShrinkerInfo,
} from '../abi/reclaim';
import { findSymbolAddress } from '../sys/kallsyms';
import { LoadedObject, ObjectSpec, objectPath, ProgramRef } from './lifecycle';
import { CgroupPaths, readMemcgFigures } from '../sys/cgroups';
import { enumNamed, hasFunction, hasTracepoint } from '../bpf/btf';
import { kernelGfpBits } from '../sys/features';
import { KernelLog } from '../sys/kmsg';
import { reportFor } from '../sys/oomlog';
import { btfPath } from '../sys/preflight';
import type { RawReclaim, RawShrinker } from './raw';

export const RECLAIM: ObjectSpec = {
  path: objectPath('reclaim.bpf.o'),
  maps: ['shrinkers', 'shrinker_infos', 'reclaim', 'oom_victims', 'shrink_calls', 'reclaim_calls'],
};

const COMPACTION_PROGRAMS = ['kmemtop__compact_try', 'kmemtop__compact_end', 'kmemtop__compact_deferred'];

/* CLOCK_MONOTONIC, as bpf_ktime_get_ns(). */
function ktimeNowNs(): number {
  return Number(process.hrtime.bigint());
}

export class ReclaimCollector {
  private constructor(private readonly o: LoadedObject) {}

  /* Open, configure, load and attach; throws a KmemtopError that says why not. */
  static start(spec = RECLAIM): ReclaimCollector {
    const o = LoadedObject.open(spec);
    try {
      let superCacheScan = 0n;
      try {
        superCacheScan = findSymbolAddress(fs.readFileSync('/proc/kallsyms', 'utf8'), 'super_cache_scan') ?? 0n;
      } catch {
        superCacheScan = 0n; /* superblock shrinkers are then named by function only */
      }
      o.map('.rodata.config').setInitialValue(encodeReclaimConfig(superCacheScan));
      /* A kernel without compaction (CONFIG_COMPACTION off) has none of its tracepoints: nothing to record. */
      if (!hasFunction(btfPath(), 'try_to_compact_pages')) for (const p of COMPACTION_PROGRAMS) o.object.program(p).autoload = false;
      /* Any other tracepoint this kernel lacks: its program stays out (model/features.ts says what is off). */
      o.skipMissingTracepoints((tp) => hasTracepoint(btfPath(), tp));
      o.load();
      o.attach();
      return new ReclaimCollector(o);
    } catch (e) {
      o.close();
      throw e;
    }
  }

  /* Read the reclaim maps of a running session. */
  static reopen(dir: string, spec = RECLAIM): ReclaimCollector {
    return new ReclaimCollector(LoadedObject.reopen(spec, dir));
  }

  /* The programs loaded here (none for a reader of a session). */
  programs(): (ProgramRef & { fd: number })[] {
    return this.o.programs();
  }

  pin(dir: string): ProgramRef[] {
    return this.o.pin(dir);
  }

  read(): RawReclaim {
    const infos = new Map<bigint, ShrinkerInfo>();
    const im = this.o.map('shrinker_infos');
    const id = dumpMap(im.fd, 8, SHRINKER_INFO.size, im.maxEntries);
    for (let i = 0; i < id.count; i++) infos.set(id.keys.readBigUInt64LE(i * 8), decodeShrinkerInfo(id.values, i * SHRINKER_INFO.size));

    const sm = this.o.map('shrinkers');
    const sd = dumpMap(sm.fd, SHRINKER_KEY.size, SHRINKER_STATS.size, sm.maxEntries);
    const shrinkers: RawShrinker[] = [];
    for (let i = 0; i < sd.count; i++) {
      const key = decodeShrinkerKey(sd.keys, i * SHRINKER_KEY.size);
      shrinkers.push({ ...key, stats: decodeShrinkerStats(sd.values, i * SHRINKER_STATS.size), info: infos.get(key.shrinker) ?? null });
    }

    const st = decodeReclaimState(dumpMap(this.o.map('reclaim').fd, 4, RECLAIM_STATE.size, 1).values);
    const vd = dumpMap(this.o.map('oom_victims').fd, 4, OOM_VICTIM.size, OOM_RING);
    const oomVictims: OomVictimRaw[] = [];
    for (let i = 0; i < vd.count; i++) {
      const v = decodeOomVictim(vd.values, i * OOM_VICTIM.size);
      if (v.timeNs > 0) oomVictims.push(v);
    }
    oomVictims.sort((a, b) => a.timeNs - b.timeNs);
    if (oomVictims.length) {
      this.cgroups ??= new CgroupPaths();
      this.kernelLog ??= new KernelLog();
    }
    const reports = this.kernelLog ? this.kernelLog.oomReports() : [];
    const victims = oomVictims.map((v) => {
      const memcgPath = this.cgroups ? this.cgroups.pathOf(v.memcg, ++this.reads) : null;
      const mount = this.cgroups?.mount;
      return { ...v, memcgPath, memcgFigures: memcgPath && mount ? readMemcgFigures(mount, memcgPath) : null, kernelReport: reportFor(reports, v.pid, v.timeNs) };
    });
    this.gfpBits ??= oomVictims.length ? kernelGfpBits() : null;
    this.compactResults ??= oomVictims.length ? enumNamed(btfPath(), 'compact_result') : null;
    return {
      shrinkers,
      state: st,
      oomVictims: victims,
      gfpBits: this.gfpBits ?? new Map(),
      compactResults: this.compactResults ?? new Map(),
      ktimeNowNs: ktimeNowNs(),
    };
  }

  private cgroups: CgroupPaths | null = null;
  /* The kernel's log, opened at the first OOM kill: its own report of each. */
  private kernelLog: KernelLog | null = null;
  private reads = 0;
  private gfpBits: Map<string, number> | null = null;
  private compactResults: Map<string, number> | null = null;

  kernelBytes(): number {
    return this.o.kernelBytes();
  }

  /* OOM kills seen so far: one small map read, cheap enough to poll. */
  oomKills(): number {
    return decodeReclaimState(dumpMap(this.o.map('reclaim').fd, 4, RECLAIM_STATE.size, 1).values).oomKills;
  }

  detach(): void {
    this.o.detach();
  }

  close(): void {
    this.kernelLog?.close();
    this.o.close();
  }
}
