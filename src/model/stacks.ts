/*
 * --stacks (pure): the allocation stacks of each site, as the kernel
 * counted them per (site, stack), symbolized and trimmed to start at the
 * call site (the allocator's own frames above it dropped).
 */
import { formatSymbol } from '../sys/kallsyms';
import type { OtherStacks, Resolver, SiteStack } from './site';

export const STACKS_PER_SITE = 5;

/* The frames from the call site outwards; all of them when the call site is not among them. */
export function trimToCaller(ips: bigint[], callSite: bigint): bigint[] {
  const at = ips.indexOf(callSite);
  return at < 0 ? ips : ips.slice(at);
}

/*
 * Symbolized frames of a stack from a call site, kept per frames array: the
 * collector hands back the same array for a stack on every read, so the
 * live view symbolizes each stack once, not once per refresh.
 */
const symbolized = new WeakMap<bigint[], Map<bigint, string[]>>();

function framesOf(ips: bigint[] | undefined, callSite: bigint, resolve: Resolver): string[] {
  if (!ips) return [];
  let bySite = symbolized.get(ips);
  if (!bySite) symbolized.set(ips, (bySite = new Map()));
  let out = bySite.get(callSite);
  if (!out) {
    out = trimToCaller(ips, callSite).map((ip) => {
      const sym = resolve(ip);
      return sym ? formatSymbol(sym) : '[unknown]';
    });
    bySite.set(callSite, out);
  }
  return out;
}

/* One stack's counts within a site (the details of the site with that stack, summed). */
export interface StackCounts {
  stack: number;
  allocs: number;
  frees: number;
}

/*
 * One site's stacks, the top ones by live bytes (then allocations), the
 * rest summed.  scale: the sampling rate (1 object in scale tracked), by
 * which counts of tracked objects are multiplied.
 */
export function siteStacks(
  callSite: bigint,
  objectSize: number,
  pairs: StackCounts[],
  frames: Map<number, bigint[]>,
  resolve: Resolver,
  top = STACKS_PER_SITE,
  scale = 1,
): { stacks: SiteStack[]; otherStacks: OtherStacks | null } {
  const all = pairs.map((p) => {
    const liveObjects = Math.max(0, p.allocs - p.frees) * scale;
    return {
      frames: framesOf(frames.get(p.stack), callSite, resolve),
      allocs: p.allocs * scale,
      frees: p.frees * scale,
      liveObjects,
      liveBytes: liveObjects * objectSize,
    };
  });
  all.sort((a, b) => b.liveBytes - a.liveBytes || b.allocs - a.allocs || a.frames.join(';').localeCompare(b.frames.join(';')));
  const rest = all.slice(top);
  const otherStacks = rest.length
    ? rest.reduce(
        (o, s) => ({ stacks: o.stacks + 1, allocs: o.allocs + s.allocs, frees: o.frees + s.frees, liveObjects: o.liveObjects + s.liveObjects, liveBytes: o.liveBytes + s.liveBytes }),
        { stacks: 0, allocs: 0, frees: 0, liveObjects: 0, liveBytes: 0 },
      )
    : null;
  return { stacks: all.slice(0, top), otherStacks };
}
