/*
 * GFP bits as a kernel has them (pure): from its BTF (enum ___GFP_*_BIT,
 * read by sys/features.ts), or the fixed layout of kernels before it; and
 * which of them pick the kmalloc caches (the kmalloc program's config).
 */

export type GfpBits = Map<string, number>;

/*
 * Kernels before 6.4 (Debian 12's 6.1) have no enum ___GFP_*_BIT: their
 * bits were #defines (include/linux/gfp_types.h), not in BTF, and did not
 * move from 4.x until __GFP_ATOMIC was dropped in 6.4.  Used only for those
 * kernels (sys/features.ts); 6.4 to 6.8 have neither, and get no names.
 */
export const LEGACY_GFP_BITS: GfpBits = new Map(
  [
    'DMA', 'HIGHMEM', 'DMA32', 'MOVABLE', 'RECLAIMABLE', 'HIGH', 'IO', 'FS', 'ZERO', 'ATOMIC', 'DIRECT_RECLAIM', 'KSWAPD_RECLAIM',
    'WRITE', 'NOWARN', 'RETRY_MAYFAIL', 'NOFAIL', 'NORETRY', 'MEMALLOC', 'COMP', 'NOMEMALLOC', 'HARDWALL', 'THISNODE', 'ACCOUNT', 'ZEROTAGS',
  ].map((n, i) => [`___GFP_${n}_BIT`, i]),
);

/*
 * The GFP bits by which the kernel serves a kmalloc from its DMA,
 * reclaimable or memory-cgroup kmalloc caches (kmalloc_type(): DMA first,
 * then reclaimable, then accounted), each 0 when the kernel has no such
 * caches (no ZONE_DMA, SLUB_TINY, no memcg or cgroup.memory=nokmem): which
 * it has is read from its cache names (dma-kmalloc-8, kmalloc-rcl-8,
 * kmalloc-cg-8).  Pure.
 */
export function kmallocGfp(bits: GfpBits, cacheNames: Iterable<string>): { dma: number; reclaimable: number; account: number } {
  const names = flagNames(bits);
  const have = { dma: false, reclaimable: false, account: false };
  for (const n of cacheNames) {
    if (n.startsWith('dma-kmalloc-')) have.dma = true;
    else if (n.startsWith('kmalloc-rcl-')) have.reclaimable = true;
    else if (n.startsWith('kmalloc-cg-')) have.account = true;
  }
  return {
    dma: have.dma ? (names.get('__GFP_DMA') ?? 0) : 0,
    reclaimable: have.reclaimable ? (names.get('__GFP_RECLAIMABLE') ?? 0) : 0,
    account: have.account ? (names.get('__GFP_ACCOUNT') ?? 0) : 0,
  };
}

/* ___GFP_IO_BIT -> __GFP_IO */
export function flagNames(bits: GfpBits): Map<string, number> {
  const out = new Map<string, number>();
  for (const [name, bit] of bits) {
    const m = /^___GFP_(\w+)_BIT$/.exec(name);
    if (m && m[1] !== 'LAST' && m[1] !== 'UNUSED' && bit >= 0 && bit < 31) out.set(`__GFP_${m[1]}`, 2 ** bit);
  }
  return out;
}

