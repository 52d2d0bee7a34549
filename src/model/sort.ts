/* Ranking call sites (pure). */
import type { Site } from './site';

/*
 * The sort keys of call sites, one vocabulary for the reports (record,
 * snapshot) and the live view: totals, and the live view's rates.  Over a
 * report's window a rate ranks as its count does.
 */
export const SORT_KEYS = [
  'liveBytes',
  'liveObjects',
  'allocs',
  'frees',
  'bytesAllocated',
  'bytesRequested',
  'allocsPerSec',
  'freesPerSec',
  'bytesPerSec',
  'avgSize',
  'fragmentation',
] as const;
export type SortKey = (typeof SORT_KEYS)[number];

/*
 * What a sort key ranks by: live figures by their estimates (the tracked
 * figure less the site's share of its cache's phantom objects; equal to it
 * when the cache agrees with slabinfo), so a phantom never ranks first.
 */
export function rankValue(s: Site, key: SortKey): number {
  switch (key) {
    case 'liveBytes':
      return s.liveBytesEstimate;
    case 'liveObjects':
      return s.liveObjectsEstimate;
    case 'allocsPerSec':
      return s.allocs;
    case 'freesPerSec':
      return s.frees + s.freesUnseen;
    case 'bytesPerSec':
      return s.bytesAllocated;
    case 'avgSize':
      return s.allocs ? s.bytesRequested / s.allocs : 0;
    case 'fragmentation':
      return s.bytesAllocated ? 1 - s.bytesRequested / s.bytesAllocated : 0;
    default:
      return s[key];
  }
}

/* Sorted copy, largest first (ties by the tracked live bytes, then name, so output is stable). */
export function sortSites(sites: Site[], key: SortKey): Site[] {
  return sites
    .slice()
    .sort((a, b) => rankValue(b, key) - rankValue(a, key) || b.liveBytes - a.liveBytes || a.function.localeCompare(b.function) || a.offset - b.offset);
}
