/*
 * GFP flags as the kernel's own trace output names them (pure): the first
 * composite that all its bits are set for (GFP_KERNEL, GFP_ATOMIC, ...),
 * then the remaining single flags.  Bit positions differ between kernels
 * and configurations, so they come from the kernel's BTF (enum
 * ___GFP_*_BIT, read by the collector), never from a table here.
 */

import { flagNames, GfpBits } from '../abi/gfp';

export { GfpBits, kmallocGfp, LEGACY_GFP_BITS } from '../abi/gfp';

/* Composites in the order the kernel's show_gfp_flags tries them (include/trace/events/mmflags.h). */
const COMPOSITES: [string, string[]][] = [
  ['GFP_HIGHUSER_MOVABLE', ['DIRECT_RECLAIM', 'KSWAPD_RECLAIM', 'IO', 'FS', 'HARDWALL', 'HIGHMEM', 'MOVABLE']],
  ['GFP_HIGHUSER', ['DIRECT_RECLAIM', 'KSWAPD_RECLAIM', 'IO', 'FS', 'HARDWALL', 'HIGHMEM']],
  ['GFP_USER', ['DIRECT_RECLAIM', 'KSWAPD_RECLAIM', 'IO', 'FS', 'HARDWALL']],
  ['GFP_KERNEL_ACCOUNT', ['DIRECT_RECLAIM', 'KSWAPD_RECLAIM', 'IO', 'FS', 'ACCOUNT']],
  ['GFP_KERNEL', ['DIRECT_RECLAIM', 'KSWAPD_RECLAIM', 'IO', 'FS']],
  ['GFP_NOFS', ['DIRECT_RECLAIM', 'KSWAPD_RECLAIM', 'IO']],
  ['GFP_ATOMIC', ['HIGH', 'ATOMIC', 'KSWAPD_RECLAIM']], /* before 6.4, with __GFP_ATOMIC */
  ['GFP_ATOMIC', ['HIGH', 'KSWAPD_RECLAIM']],
  ['GFP_NOIO', ['DIRECT_RECLAIM', 'KSWAPD_RECLAIM']],
  ['GFP_NOWAIT', ['KSWAPD_RECLAIM']],
];

/* "GFP_KERNEL|__GFP_COMP|__GFP_NOWARN", "0" for none; bits the kernel names nothing for as hex. */
export function decodeGfp(flags: number, bits: GfpBits): string {
  const names = flagNames(bits);
  const bit = (n: string) => names.get(`__GFP_${n}`) ?? 0;
  let rest = flags >>> 0;
  const parts: string[] = [];
  for (const [name, members] of COMPOSITES) {
    if (members.some((m) => !bit(m))) continue;
    const mask = members.reduce((n, m) => n | bit(m), 0) >>> 0;
    if ((rest & mask) === mask) {
      parts.push(name);
      rest = (rest & ~mask) >>> 0;
      break;
    }
  }
  for (const [name, value] of [...names].sort((a, b) => a[1] - b[1])) {
    if (rest & value) {
      parts.push(name);
      rest = (rest & ~value) >>> 0;
    }
  }
  if (rest) parts.push(`0x${rest.toString(16)}`);
  return parts.length ? parts.join('|') : '0';
}

/*
 * What a failed request's flags and order say about why (the questions an
 * OOM investigation asks first): could it reclaim at all, was it allowed to
 * fail, is it high order (compaction's business).
 */
export function gfpHint(flags: number, order: number, bits: GfpBits): string {
  const names = flagNames(bits);
  const has = (n: string) => ((flags >>> 0) & (names.get(`__GFP_${n}`) ?? 0)) !== 0;
  const hints: string[] = [];
  if (!has('DIRECT_RECLAIM')) hints.push('no direct reclaim: shrinkers could not help');
  if (has('NORETRY') || has('NOWARN')) hints.push('allowed to fail (a fallback follows)');
  if (order > 3) hints.push(`order ${order}: high order, compaction's business`);
  return hints.join('; ');
}
