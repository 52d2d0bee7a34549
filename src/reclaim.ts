/*
 * The reclaim collector: loads bpf/reclaim.bpf.c (shrinkers, reclaim stalls,
 * kswapd, OOM kills) and reads it as plain data.  Optional: a kernel without
 * these tracepoints still gets the allocation view, with the reason.
 */
import * as fs from 'fs';
import * as path from 'path';
import { BpfError, BpfLink, BpfObject, objGet, recentLibbpfLog } from './bpf/object';
import { dumpMap } from './bpf/map';
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
  ReclaimState,
  SHRINKER_INFO,
  SHRINKER_KEY,
  SHRINKER_STATS,
  ShrinkerInfo,
  ShrinkerStats,
} from './abi/layout';
import { findSymbolAddress } from './sys/kallsyms';
import { explainBpfFailure } from './sys/preflight';
import { makePinDirs } from './session';

export const RECLAIM_OBJECT = path.resolve(__dirname, '..', 'build', 'reclaim.bpf.o');

export interface RawShrinker {
  shrinker: bigint;
  nid: number;
  stats: ShrinkerStats;
  info: ShrinkerInfo | null;
}

export interface RawReclaim {
  shrinkers: RawShrinker[];
  state: ReclaimState;
  /* Newest last; at most OOM_RING. */
  oomVictims: OomVictimRaw[];
  /* bpf_ktime_get_ns() now, to turn event times into wall times. */
  ktimeNowNs: number;
}

function ktimeNowNs(): number {
  /* CLOCK_MONOTONIC, as bpf_ktime_get_ns(). */
  return Number(process.hrtime.bigint());
}

export class ReclaimCollector {
  private obj: BpfObject | null;
  private readonly links: BpfLink[] = [];

  private constructor(obj: BpfObject) {
    this.obj = obj;
  }

  /* Load and attach; throws a KmemtopError that says why not. */
  static start(objectPath = RECLAIM_OBJECT): ReclaimCollector {
    const obj = BpfObject.open(objectPath);
    const c = new ReclaimCollector(obj);
    try {
      let superCacheScan = 0n;
      try {
        superCacheScan = findSymbolAddress(fs.readFileSync('/proc/kallsyms', 'utf8'), 'super_cache_scan') ?? 0n;
      } catch {
        superCacheScan = 0n; /* superblock shrinkers are then named by function only */
      }
      obj.map('.rodata.config').setInitialValue(encodeReclaimConfig(superCacheScan));
      try {
        obj.load();
      } catch (e) {
        if (e instanceof BpfError) throw explainBpfFailure(e, 'load', recentLibbpfLog());
        throw e;
      }
      for (const p of obj.programs()) {
        try {
          c.links.push(obj.attach(p));
        } catch (e) {
          if (e instanceof BpfError) throw explainBpfFailure(e, 'attach', recentLibbpfLog(), p.sectionName);
          throw e;
        }
      }
      return c;
    } catch (e) {
      c.close();
      throw e;
    }
  }

  static readonly MAPS = ['shrinkers', 'shrinker_infos', 'reclaim', 'oom_victims', 'shrink_calls', 'reclaim_calls'];

  /* Read the reclaim maps of a running session (see Tracer.openSession). */
  static openSession(dir: string, objectPath = RECLAIM_OBJECT): ReclaimCollector {
    const obj = BpfObject.open(objectPath);
    const c = new ReclaimCollector(obj);
    try {
      for (const name of ReclaimCollector.MAPS) obj.map(name).reuse(objGet(path.join(dir, 'maps', name)));
      for (const p of obj.programs()) p.autoload = false;
      obj.load();
      return c;
    } catch (e) {
      c.close();
      throw e;
    }
  }

  /* Pin maps, programs and links under dir; returns the programs. */
  pinAll(dir: string): { name: string; tracepoint: string }[] {
    const obj = this.object;
    makePinDirs(dir);
    for (const name of ReclaimCollector.MAPS) obj.map(name).pin(path.join(dir, 'maps', name));
    for (const p of obj.programs()) p.pin(path.join(dir, 'progs', p.name));
    for (const l of this.links) l.pin(path.join(dir, 'links', l.program));
    return obj.programs().map((p) => ({ name: p.name, tracepoint: p.sectionName.replace(/^[^/]*\//, '') }));
  }

  private get object(): BpfObject {
    if (!this.obj) throw new Error('reclaim collector is closed');
    return this.obj;
  }

  read(): RawReclaim {
    const obj = this.object;
    const infos = new Map<bigint, ShrinkerInfo>();
    const im = obj.map('shrinker_infos');
    const id = dumpMap(im.fd, 8, SHRINKER_INFO.size, im.maxEntries);
    for (let i = 0; i < id.count; i++) infos.set(id.keys.readBigUInt64LE(i * 8), decodeShrinkerInfo(id.values, i * SHRINKER_INFO.size));

    const sm = obj.map('shrinkers');
    const sd = dumpMap(sm.fd, SHRINKER_KEY.size, SHRINKER_STATS.size, sm.maxEntries);
    const shrinkers: RawShrinker[] = [];
    for (let i = 0; i < sd.count; i++) {
      const key = decodeShrinkerKey(sd.keys, i * SHRINKER_KEY.size);
      shrinkers.push({ ...key, stats: decodeShrinkerStats(sd.values, i * SHRINKER_STATS.size), info: infos.get(key.shrinker) ?? null });
    }

    const st = decodeReclaimState(dumpMap(obj.map('reclaim').fd, 4, RECLAIM_STATE.size, 1).values);
    const vd = dumpMap(obj.map('oom_victims').fd, 4, OOM_VICTIM.size, OOM_RING);
    const oomVictims: OomVictimRaw[] = [];
    for (let i = 0; i < vd.count; i++) {
      const v = decodeOomVictim(vd.values, i * OOM_VICTIM.size);
      if (v.timeNs > 0) oomVictims.push(v);
    }
    oomVictims.sort((a, b) => a.timeNs - b.timeNs);
    return { shrinkers, state: st, oomVictims, ktimeNowNs: ktimeNowNs() };
  }

  kernelBytes(): number {
    return ReclaimCollector.MAPS.reduce((n, m) => n + this.object.map(m).kernelBytes, 0);
  }

  /* OOM kills seen so far: one small map read, cheap enough to poll. */
  oomKills(): number {
    return decodeReclaimState(dumpMap(this.object.map('reclaim').fd, 4, RECLAIM_STATE.size, 1).values).oomKills;
  }

  detach(): void {
    for (const l of this.links.splice(0)) l.destroy();
  }

  close(): void {
    this.detach();
    if (this.obj) {
      this.obj.close();
      this.obj = null;
    }
  }
}
