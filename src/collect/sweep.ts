/*
 * The sweep: bpf/sweep.bpf.c, run against the allocation tracer's own maps,
 * retires live entries whose slab is gone (objects freed by a path that
 * fires no tracepoint).  It is a syscall program run on demand from here:
 * before every report, and every few seconds in the live view.  Kernels
 * without the kfunc bpf_get_kmem_cache (before Linux 6.13) get no sweep, and
 * every report says so (sweepSupport).
 */
import { BpfError } from '../bpf/object';
import { hasFunction } from '../bpf/btf';
import { decodeSweepStats, encodeSweepStats } from '../abi/layout';
import * as log from '../log';
import { kernelHz } from '../sys/kconfig';
import { LoadedObject, ObjectSpec, objectPath } from './lifecycle';
import type { SweepInfo, SweepRun } from './raw';

/* The allocation collector's maps the sweep reads and writes (reused from it, not its own). */
export const SWEEP: ObjectSpec = {
  path: objectPath('sweep.bpf.o'),
  maps: ['live', 'live_overflow', 'site_keys', 'site_stats', 'state', 'lost', 'detail_stats', 'live_details', 'site_ages'],
};

export const SWEEP_KFUNC = 'bpf_get_kmem_cache';

/* Pure: the sweep's availability on a kernel with or without the kfunc. */
export function sweepSupport(kernelHasKfunc: boolean): { available: boolean; reason: string | null } {
  if (kernelHasKfunc) return { available: true, reason: null };
  return {
    available: false,
    reason: `no sweep: this kernel lacks ${SWEEP_KFUNC} (Linux 6.13+), so objects freed without a tracepoint count as live until their address is reused`,
  };
}

export class Sweeper {
  private runs = 0;
  private last: SweepRun | null = null;
  private lastAtMs = -Infinity;
  private closed = false;
  /* Count per site the live objects at least this many seconds old (--older; 0: all). */
  olderThan = 0;

  private constructor(private readonly o: LoadedObject) {}

  /*
   * Open and load the sweep over the maps mapFd names (the tracer's, or a
   * session's pins).  Returns the sweeper, or the reason there is none.
   */
  static open(btfPath: string, mapFd: (name: string) => number, spec = SWEEP): Sweeper | string {
    const support = sweepSupport(hasFunction(btfPath, SWEEP_KFUNC));
    if (!support.available) return support.reason!;
    const o = LoadedObject.open(spec);
    try {
      for (const name of spec.maps) o.map(name).reuse(mapFd(name));
      o.object.load();
      return new Sweeper(o);
    } catch (e) {
      o.close();
      if (e instanceof BpfError) {
        log.debug(`sweep: ${e.message}`);
        return `no sweep: loading it failed (${e.message})`;
      }
      throw e;
    }
  }

  /* Sweep now, unless the last sweep is younger than maxAgeMs. */
  run(maxAgeMs = 0): SweepRun | null {
    if (this.closed) throw new Error('sweeper is closed');
    const now = performance.now();
    if (now - this.lastAtMs < maxAgeMs) return null;
    const out = this.o.object.program('kmemtop__sweep').run(encodeSweepStats(this.olderThan, kernelHz()));
    const stats = decodeSweepStats(out.ctx);
    this.lastAtMs = performance.now();
    this.runs++;
    this.last = { ...stats, durationMs: this.lastAtMs - now };
    return this.last;
  }

  /* The sweep program, loaded by this process. */
  programs(): { name: string; tracepoint: string; fd: number }[] {
    return this.o.programs();
  }

  info(): SweepInfo {
    return { available: true, reason: null, runs: this.runs, last: this.last };
  }

  close(): void {
    this.o.close();
    this.closed = true;
  }
}
