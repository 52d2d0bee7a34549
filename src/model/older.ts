/* --older N (pure): a snapshot of only the objects live for at least N seconds (model/ages.ts counts them). */
import type { Site } from './site';
import { Snapshot, totalsOf } from './snapshot';

/*
 * --older N: only the objects live for at least N seconds -- each site's live
 * figures become those objects (never more than before), and the sites
 * without any are left out; the totals follow.  Allocation and free counts
 * stay the whole window's.
 */
export function olderOnly(snap: Snapshot, seconds: number): Snapshot {
  const sites: Site[] = [];
  for (const s of snap.sites) {
    const n = Math.min(s.liveObjects, s.age?.olderThanObjects ?? 0);
    if (n <= 0) continue;
    sites.push({
      ...s,
      liveObjects: n,
      liveBytes: n * s.objectSize,
      liveObjectsEstimate: Math.min(s.liveObjectsEstimate, n),
      liveBytesEstimate: Math.min(s.liveBytesEstimate, n * s.objectSize),
    });
  }
  return { ...snap, sites, totals: totalsOf(sites, snap.caches ?? []), olderThan: seconds };
}

/* The one line said when --older cannot apply (no object ages on this kernel). */
export function olderIgnored(seconds: number, why: string | null): string {
  return `--older ${seconds} ignored: ${why ?? 'no object ages'}; live figures count every live object`;
}
