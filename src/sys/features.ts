/*
 * The facts about the running kernel that decide what kmemtop can do
 * (abi/kernel.ts): read from its BTF once per process.
 */
import * as os from 'os';
import { hasFunction, hasMember, hasTracepoint, preemptCountDelta } from '../bpf/btf';
import { allTracepoints, KernelFacts } from '../abi/kernel';
import { btfPath } from './preflight';

let cached: KernelFacts | null = null;

export function kernelFacts(btf = btfPath()): KernelFacts {
  if (cached) return cached;
  cached = {
    release: os.release(),
    kfuncs: { rdonlyCast: hasFunction(btf, 'bpf_rdonly_cast'), getKmemCache: hasFunction(btf, 'bpf_get_kmem_cache') },
    tracepoints: Object.fromEntries(allTracepoints().map((t) => [t, hasTracepoint(btf, t)])),
    preemptCountDelta: preemptCountDelta(btf),
    cfsRqHasRq: hasMember(btf, 'cfs_rq', 'rq'),
  };
  return cached;
}
