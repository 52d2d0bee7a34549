/*
 * What kmemtop can do on the running kernel: each feature that depends on
 * the kernel, whether it is on, and what it needs where it is off.  Pure:
 * the facts come from the kernel's BTF (sys/features.ts, abi/kernel.ts); every report,
 * `status`, the live view's header and /metrics show the same list.
 */
import { FEATURE_TRACEPOINTS, KernelFacts } from '../abi/kernel';

export interface KernelFeature {
  /* Short name, as reports print it: "sweep", "object ages", ... */
  name: string;
  on: boolean;
  /* Where off for want of something: what the kernel lacks, with the Linux version that has it ("Linux 6.13: bpf_get_kmem_cache"). */
  needs: string | null;
  /* Where off for another reason (a program that did not load here): why. */
  why?: string | null;
  /* Where on, a note on how (e.g. contexts read with a probe read before 6.2). */
  note?: string | null;
}

const missing = (f: KernelFacts, tps: readonly string[]): string[] => tps.filter((t) => !f.tracepoints[t]);

function needsTracepoints(f: KernelFacts, tps: readonly string[], since: string | null): string | null {
  const m = missing(f, tps);
  if (!m.length) return null;
  return `${since ? `Linux ${since}: ` : ''}tracepoint${m.length > 1 ? 's' : ''} ${m.join(', ')}`;
}

/*
 * The features, given the facts and whether the sweep loaded (it can fail
 * for another reason than a missing kfunc: then that reason).
 */
export function kernelFeatures(
  f: KernelFacts,
  sweep: { available: boolean; reason: string | null },
  /* Why the reclaim programs (shrinkers, OOM kills, compaction) are not traced; null: they are. */
  reclaimUnavailable: string | null = null,
): KernelFeature[] {
  const sweepNeeds = f.kfuncs.getKmemCache ? null : 'Linux 6.13: bpf_get_kmem_cache';
  const sweepWhy = sweepNeeds || sweep.available ? null : (sweep.reason ?? 'the sweep did not load').replace(/^no sweep: /, '');
  const contextsOn = f.preemptCountDelta !== 0 && f.cfsRqHasRq;
  const contextsNeeds = contextsOn
    ? null
    : f.preemptCountDelta === 0
      ? '__preempt_count and runqueues in the kernel BTF (x86)'
      : 'CONFIG_FAIR_GROUP_SCHED (struct cfs_rq.rq)';
  const one = (name: string, needs: string | null, note: string | null = null, why: string | null = null): KernelFeature => ({
    name,
    on: needs === null && why === null,
    needs,
    why,
    note,
  });
  const reclaim = (name: string, tps: readonly string[]) => {
    const needs = needsTracepoints(f, tps, null);
    return one(name, needs, null, needs ? null : reclaimUnavailable);
  };
  return [
    one('sweep', sweepNeeds, null, sweepWhy),
    one('object ages', sweepNeeds, null, sweepWhy),
    one('contexts', contextsNeeds, contextsOn && !f.kfuncs.rdonlyCast ? 'read with bpf_probe_read_kernel (bpf_rdonly_cast: Linux 6.2)' : null),
    one('page sites', needsTracepoints(f, FEATURE_TRACEPOINTS.pages, null)),
    one('percpu sites', needsTracepoints(f, FEATURE_TRACEPOINTS.percpu, null)),
    one('vmalloc sites', needsTracepoints(f, FEATURE_TRACEPOINTS.vmalloc, '6.3')),
    reclaim('shrinkers', FEATURE_TRACEPOINTS.shrinkers),
    reclaim('OOM kills', FEATURE_TRACEPOINTS.oom),
    reclaim('compaction', FEATURE_TRACEPOINTS.compaction),
  ];
}

/* One line: "kernel features: sweep: on; ...; vmalloc sites: off (needs Linux 6.3: tracepoints ...)". */
export function featuresLine(features: readonly KernelFeature[]): string {
  return `kernel features: ${features.map((x) => `${x.name}: ${x.on ? 'on' : `off (${offWhy(x)})`}`).join('; ')}`;
}

/* Why a feature is off, as the lines print it. */
export function offWhy(x: KernelFeature): string {
  return x.needs ? `needs ${x.needs}` : (x.why ?? 'unavailable');
}

/* Only what is off, or null when everything is on (the live view's header is short of room). */
export function featuresOffLine(features: readonly KernelFeature[]): string | null {
  const off = features.filter((x) => !x.on);
  if (!off.length) return null;
  return `off on this kernel: ${off.map((x) => `${x.name} (${offWhy(x)})`).join('; ')}`;
}
