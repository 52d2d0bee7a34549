/*
 * The facts about the running kernel that decide what kmemtop can do
 * (abi/kernel.ts): read from its BTF once per process.
 */
import * as os from 'os';
import { enumByPrefix, hasFunction, hasMember, hasTracepoint, preemptCountDelta } from '../bpf/btf';
import { GfpBits, kmallocGfp, LEGACY_GFP_BITS } from '../abi/gfp';
import { readSlabEntries } from './slabaliases';
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

/* Linux major.minor of a uname release ("6.1.0-57-cloud-amd64" -> [6, 1]); [0, 0] when unreadable. */
export function releaseVersion(release: string): [number, number] {
  const m = /^(\d+)\.(\d+)/.exec(release);
  return m ? [Number(m[1]), Number(m[2])] : [0, 0];
}

let gfpCached: GfpBits | null = null;

/* The kernel's GFP bit positions: enum ___GFP_*_BIT from its BTF (6.9+), the fixed #define layout before 6.4, else none. */
export function kernelGfpBits(btf = btfPath()): GfpBits {
  if (gfpCached) return gfpCached;
  const bits = enumByPrefix(btf, '___GFP_');
  const [major, minor] = releaseVersion(os.release());
  gfpCached = bits.size ? bits : major * 1000 + minor < 6004 ? LEGACY_GFP_BITS : new Map();
  return gfpCached;
}

/* What the kmalloc program needs to name each kmalloc's cache as the kernel picks it (kmalloc-cg-2k). */
export function kernelKmallocGfp(): { dma: number; reclaimable: number; account: number } {
  return kmallocGfp(kernelGfpBits(), (readSlabEntries() ?? []).map((e) => e.name));
}
