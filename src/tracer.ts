/*
 * The collector: loads bpf/kmemtop.bpf.c's object, sizes its maps, attaches
 * its programs and reads everything they aggregated as a RawSnapshot (plain
 * data with raw addresses, which only the model turns into symbols).
 */
import * as path from 'path';
import { BpfError, BpfLink, BpfMap, BpfObject, recentLibbpfLog } from './bpf/object';
import { dumpMap, perCpuValueSize, possibleCpus } from './bpf/map';
import { progStats } from './bpf/proginfo';
import {
  CACHE_INFO,
  COUNTERS,
  CounterKey,
  decodeCacheInfo,
  decodeSiteKey,
  decodeSiteStatsPerCpu,
  LOST_CAUSES,
  LostKey,
  SITE_KEY,
  SITE_STATS,
  SiteKey,
  SiteStats,
  CacheInfo,
  sumPerCpuU64,
} from './abi/layout';
import { checkBtf, checkObject, checkPrivileges, explainBpfFailure } from './sys/preflight';
import * as log from './log';

export const DEFAULT_OBJECT = path.resolve(__dirname, '..', 'build', 'kmemtop.bpf.o');

export interface TracerOptions {
  objectPath?: string;
  /* Capacity of the live-object map (entries, preallocated: ~80 bytes each). */
  maxLive?: number;
  /* Capacity of the per-call-site map. */
  maxSites?: number;
  maxCaches?: number;
}

export const DEFAULTS = { maxLive: 1 << 20, maxSites: 16384, maxCaches: 4096 };

export interface RawSite {
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
  maps: { sites: MapUsage; caches: MapUsage; live: { maxEntries: number } };
}

function monotonicMs(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}

export class Tracer {
  private obj: BpfObject | null;
  private readonly links: BpfLink[] = [];
  private readonly nrCpus = possibleCpus();
  private readonly opts: Required<Omit<TracerOptions, 'objectPath'>>;
  /* When tracing began (programs attached). */
  startedMonotonicMs = 0;
  startedAt = new Date(0);

  private constructor(obj: BpfObject, opts: TracerOptions) {
    this.obj = obj;
    this.opts = {
      maxLive: opts.maxLive ?? DEFAULTS.maxLive,
      maxSites: opts.maxSites ?? DEFAULTS.maxSites,
      maxCaches: opts.maxCaches ?? DEFAULTS.maxCaches,
    };
  }

  /*
   * Open, configure, load and attach.  On any failure everything already
   * done is undone and a one-line KmemtopError is thrown.
   */
  static start(opts: TracerOptions = {}): Tracer {
    const objectPath = opts.objectPath ?? DEFAULT_OBJECT;
    checkPrivileges();
    checkBtf();
    checkObject(objectPath);

    /* Open the object: parse ELF, nothing in the kernel yet. */
    const obj = BpfObject.open(objectPath);
    const tracer = new Tracer(obj, opts);
    try {
      /* Configure map sizes before load: maps are preallocated. */
      obj.map('live').setMaxEntries(tracer.opts.maxLive);
      obj.map('sites').setMaxEntries(tracer.opts.maxSites);
      obj.map('caches').setMaxEntries(tracer.opts.maxCaches);
      /* Load & verify BPF programs. */
      try {
        obj.load();
      } catch (e) {
        if (e instanceof BpfError) throw explainBpfFailure(e, 'load', recentLibbpfLog());
        throw e;
      }
      /* Attach: tracing starts here. */
      for (const prog of obj.programs()) {
        try {
          tracer.links.push(obj.attach(prog));
        } catch (e) {
          if (e instanceof BpfError) throw explainBpfFailure(e, 'attach', recentLibbpfLog(), prog.sectionName);
          throw e;
        }
      }
      tracer.startedMonotonicMs = monotonicMs();
      tracer.startedAt = new Date();
      log.debug(`attached ${tracer.links.length} programs; live map ${tracer.opts.maxLive} entries`);
      return tracer;
    } catch (e) {
      tracer.close();
      throw e;
    }
  }

  private get object(): BpfObject {
    if (!this.obj) throw new Error('tracer is closed');
    return this.obj;
  }

  /* Stop tracing now (detach) but keep the maps readable. */
  detach(): void {
    for (const l of this.links.splice(0)) l.destroy();
  }

  /* Read everything the programs aggregated so far. Counters only grow: nothing is reset. */
  read(): RawSnapshot {
    const obj = this.object;
    const sitesMap = obj.map('sites');
    const sitesVal = perCpuValueSize(SITE_STATS.size, this.nrCpus);
    const sd = dumpMap(sitesMap.fd, SITE_KEY.size, sitesVal, sitesMap.maxEntries);
    const sites: RawSite[] = [];
    for (let i = 0; i < sd.count; i++) {
      sites.push({
        key: decodeSiteKey(sd.keys, i * SITE_KEY.size),
        stats: decodeSiteStatsPerCpu(sd.values, i * sitesVal, this.nrCpus),
      });
    }

    const cachesMap = obj.map('caches');
    const cd = dumpMap(cachesMap.fd, 8, CACHE_INFO.size, cachesMap.maxEntries);
    const caches = new Map<bigint, CacheInfo>();
    for (let i = 0; i < cd.count; i++) {
      caches.set(cd.keys.readBigUInt64LE(i * 8), decodeCacheInfo(cd.values, i * CACHE_INFO.size));
    }

    return {
      monotonicMs: monotonicMs(),
      wallTime: new Date(),
      sites,
      caches,
      lost: this.readPerCpuArray(obj.map('lost'), LOST_CAUSES) as Record<LostKey, number>,
      counters: this.readPerCpuArray(obj.map('counters'), COUNTERS) as Record<CounterKey, number>,
      programs: obj.programs().map((p) => {
        const s = progStats(p.fd);
        return {
          name: p.name,
          tracepoint: p.sectionName.replace(/^[^/]*\//, ''),
          recursionMisses: s.recursionMisses,
          runCount: s.runCount,
          runTimeNs: s.runTimeNs,
        };
      }),
      maps: {
        sites: { entries: sd.count, maxEntries: sitesMap.maxEntries },
        caches: { entries: cd.count, maxEntries: cachesMap.maxEntries },
        live: { maxEntries: obj.map('live').maxEntries },
      },
    };
  }

  private readPerCpuArray(map: BpfMap, names: readonly { key: string }[]): Record<string, number> {
    const valSize = perCpuValueSize(8, this.nrCpus);
    const d = dumpMap(map.fd, 4, valSize, map.maxEntries);
    const out: Record<string, number> = {};
    for (const n of names) out[n.key] = 0;
    for (let i = 0; i < d.count; i++) {
      const idx = d.keys.readUInt32LE(i * 4);
      if (idx < names.length) out[names[idx].key] = sumPerCpuU64(d.values.subarray(i * valSize), this.nrCpus);
    }
    return out;
  }

  /* Detach everything and free the object. Safe to call twice. */
  close(): void {
    this.detach();
    if (this.obj) {
      this.obj.close();
      this.obj = null;
    }
  }
}
