/*
 * The sweep: bpf/sweep.bpf.c, run against the allocation tracer's own maps,
 * retires live entries whose slab is gone (objects freed by a path that
 * fires no tracepoint).  It is a syscall program run on demand from here:
 * before every report, and every few seconds in the live view.  Kernels
 * without the kfunc bpf_get_kmem_cache (before Linux 6.13) get no sweep, and
 * every report says so (sweepSupport).
 */
import * as path from 'path';
import { BpfError, BpfObject } from './bpf/object';
import { hasFunction } from './bpf/btf';
import { SWEEP_STATS, decodeSweepStats } from './abi/layout';
import * as log from './log';

export const SWEEP_OBJECT = path.resolve(__dirname, '..', 'build', 'sweep.bpf.o');

/* The allocation tracer's maps the sweep reads and writes. */
export const SWEEP_MAPS = ['live', 'live_overflow', 'site_keys', 'site_stats', 'state', 'lost'] as const;

export const SWEEP_KFUNC = 'bpf_get_kmem_cache';

export interface SweepRun {
  /* Live entries looked at, retired (slab gone), and retirements given up to a racing free or allocation. */
  examined: number;
  retired: number;
  raced: number;
  durationMs: number;
}

/* Whether live entries are swept, and if not, why: what reports print. */
export interface SweepInfo {
  available: boolean;
  /* null when available; otherwise one line for reports. */
  reason: string | null;
  runs: number;
  last: SweepRun | null;
}

/* Pure: the sweep's availability on a kernel with or without the kfunc. */
export function sweepSupport(kernelHasKfunc: boolean): { available: boolean; reason: string | null } {
  if (kernelHasKfunc) return { available: true, reason: null };
  return {
    available: false,
    reason: `no sweep: this kernel lacks ${SWEEP_KFUNC} (Linux 6.13+), so objects freed without a tracepoint count as live until their address is reused`,
  };
}

export class Sweeper {
  private obj: BpfObject | null;
  private runs = 0;
  private last: SweepRun | null = null;
  private lastAtMs = -Infinity;

  private constructor(obj: BpfObject) {
    this.obj = obj;
  }

  /*
   * Open and load the sweep over the maps mapFd names (the tracer's, or a
   * session's pins).  Returns the sweeper, or the reason there is none.
   */
  static open(btfPath: string, mapFd: (name: string) => number, objectPath = SWEEP_OBJECT): Sweeper | string {
    const support = sweepSupport(hasFunction(btfPath, SWEEP_KFUNC));
    if (!support.available) return support.reason!;
    const obj = BpfObject.open(objectPath);
    try {
      for (const name of SWEEP_MAPS) obj.map(name).reuse(mapFd(name));
      obj.load();
      return new Sweeper(obj);
    } catch (e) {
      obj.close();
      if (e instanceof BpfError) {
        log.debug(`sweep: ${e.message}`);
        return `no sweep: loading it failed (${e.message})`;
      }
      throw e;
    }
  }

  /* Sweep now, unless the last sweep is younger than maxAgeMs. */
  run(maxAgeMs = 0): SweepRun | null {
    if (!this.obj) throw new Error('sweeper is closed');
    const now = performance.now();
    if (now - this.lastAtMs < maxAgeMs) return null;
    const out = this.obj.program('kmemtop__sweep').run(Buffer.alloc(SWEEP_STATS.size));
    const stats = decodeSweepStats(out.ctx);
    this.lastAtMs = performance.now();
    this.runs++;
    this.last = { ...stats, durationMs: this.lastAtMs - now };
    return this.last;
  }

  info(): SweepInfo {
    return { available: true, reason: null, runs: this.runs, last: this.last };
  }

  close(): void {
    this.obj?.close();
    this.obj = null;
  }
}
