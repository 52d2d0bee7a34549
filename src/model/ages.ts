/*
 * Object age (pure): how long each site's live objects have been live, from
 * the sweep's count per site (collect: RawAges), and --older N, which keeps
 * only the objects live for at least N seconds -- leaks stay, churn goes
 * (what memleak's --older does; model/older.ts).  Counts are of tracked objects, scaled by
 * the sampling rate like every live figure.
 */
import { AGE_LIMITS } from '../abi/layout';
import type { RawAges } from '../collect/raw';
import type { Site, SiteAges } from './site';

export { AGE_LIMITS };

/* Each site with its ages (sites the sweep found no live object of get none). */
export function withAges(sites: Site[], ages: RawAges | null, scale: number): Site[] {
  if (!ages) return sites;
  return sites.map((s) => {
    const a = ages.bySite.get(s.id);
    if (!a) return s;
    const age: SiteAges = {
      oldestSeconds: Math.max(0, ages.now - a.oldest),
      under10s: a.count[0] * scale,
      under1m: a.count[1] * scale,
      under10m: a.count[2] * scale,
      older: a.count[3] * scale,
      ...(ages.olderThan > 0 ? { olderThanObjects: a.older * scale } : {}),
    };
    return { ...s, age };
  });
}
