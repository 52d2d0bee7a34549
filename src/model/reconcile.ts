/*
 * Reconciliation against /proc/slabinfo (pure).  Sites are grouped by the
 * slab cache their objects live in; a group's tracked live objects above the
 * cache's active objects are provably phantom (allocations whose free no
 * tracepoint reported and whose address was not handed out again yet).  The
 * excess cannot be pinned to one site, so it is reported per cache as a
 * correction and subtracted from the corrected totals; site rows keep what
 * was traced.
 *
 * kmalloc sites are grouped by size class: kmalloc-N covers kmalloc-N,
 * kmalloc-cg-N, kmalloc-rcl-N, dma-kmalloc-N and kmalloc-rnd-*-N, since a
 * kmalloc tracepoint does not say which of them served the call.  Bound and
 * tracked figures are read a few milliseconds apart; the error that leaves
 * is that of the objects allocated or freed in between.
 */
import type { Site } from './site';
import type { SlabCache } from '../sys/slabinfo';

export interface CacheCorrection {
  cache: string;
  objectSize: number;
  trackedLiveObjects: number;
  slabActiveObjects: number;
  slabTotalObjects: number;
  /* Tracked live objects above what the cache holds: phantom, subtracted. */
  phantomObjects: number;
  phantomBytes: number;
}

const groups = new Map<string, string>();

/* The slabinfo group a cache or kmalloc size-class name belongs to (memoized: names repeat). */
export function slabGroup(name: string): string {
  let g = groups.get(name);
  if (g === undefined) {
    const m = /^(?:dma-)?kmalloc-(?:cg-|rcl-|rnd-\d+-)?(\d+k?)$/.exec(name);
    g = m ? `kmalloc-${m[1]}` : name;
    groups.set(name, g);
  }
  return g;
}

/* The slabinfo group of a site's objects, or null for pages (large kmallocs). */
function siteGroup(s: Pick<Site, 'kind' | 'cache'>): string | null {
  return s.kind === 'kmalloc' && s.cache === 'kmalloc-large' ? null : slabGroup(s.cache);
}

export function reconcile(sites: Site[], slabs: Map<string, SlabCache>): CacheCorrection[] {
  const bound = new Map<string, { active: number; total: number }>();
  for (const s of slabs.values()) {
    const g = slabGroup(s.name);
    const b = bound.get(g) ?? { active: 0, total: 0 };
    b.active += s.activeObjects;
    b.total += s.totalObjects;
    bound.set(g, b);
  }
  const tracked = new Map<string, { live: number; size: number }>();
  for (const s of sites) {
    const g = siteGroup(s);
    if (g === null) continue; /* pages, not a slab */
    const t = tracked.get(g) ?? { live: 0, size: s.objectSize };
    t.live += s.liveObjects;
    tracked.set(g, t);
  }
  const out: CacheCorrection[] = [];
  for (const [cache, t] of tracked) {
    const b = bound.get(cache);
    if (!b) continue;
    const phantom = Math.max(0, t.live - b.active);
    out.push({
      cache,
      objectSize: t.size,
      trackedLiveObjects: t.live,
      slabActiveObjects: b.active,
      slabTotalObjects: b.total,
      phantomObjects: phantom,
      phantomBytes: phantom * t.size,
    });
  }
  return out.sort((a, b) => b.phantomObjects - a.phantomObjects || b.trackedLiveObjects - a.trackedLiveObjects);
}

/*
 * Per-site bounds (pure).  In a cache whose tracked live objects exceed
 * what it holds, no site's live figure can be trusted: each is an upper
 * bound (liveObjectsUpperBound).  Its estimate takes the cache's phantom
 * objects away from its sites in proportion to their tracked live objects
 * (largest remainders, so the estimates of a cache sum to its tracked live
 * objects less its phantom).  Sites of other caches are returned as they
 * are (same objects).
 */
export function boundSites(sites: Site[], corrections: CacheCorrection[]): Site[] {
  const phantom = new Map<string, CacheCorrection>();
  for (const c of corrections) if (c.phantomObjects > 0) phantom.set(c.cache, c);
  if (phantom.size === 0) return sites;
  const members = new Map<string, number[]>();
  sites.forEach((s, i) => {
    const g = siteGroup(s);
    if (g === null || !phantom.has(g)) return;
    const m = members.get(g) ?? [];
    m.push(i);
    members.set(g, m);
  });
  const out = sites.slice();
  for (const [g, idx] of members) {
    const c = phantom.get(g)!;
    const weights = idx.map((i) => Math.max(0, sites[i].liveObjects));
    const total = weights.reduce((a, b) => a + b, 0);
    const take = Math.min(c.phantomObjects, total);
    const shares = weights.map((w) => (total ? Math.floor((take * w) / total) : 0));
    let left = take - shares.reduce((a, b) => a + b, 0);
    const byRemainder = weights.map((w, k) => [total ? (take * w) / total - shares[k] : 0, k]).sort((a, b) => b[0] - a[0]);
    for (const [, k] of byRemainder) {
      if (left <= 0) break;
      if (shares[k] < weights[k]) {
        shares[k]++;
        left--;
      }
    }
    idx.forEach((i, k) => {
      const s = sites[i];
      const estimate = Math.max(0, s.liveObjects) - shares[k];
      out[i] = { ...s, liveObjectsUpperBound: true, liveObjectsEstimate: estimate, liveBytesEstimate: estimate * s.objectSize };
    });
  }
  return out;
}
