/*
 * Before and after (pure): two kmemtop reports, per site the change in live
 * bytes, live objects and allocations.  Sites match by symbol -- function,
 * module and cache -- not by address or offset, so reports from two boots
 * or two kernels (before and after a patch) compare; the sites of one
 * function with one cache are summed on each side first.
 */
import { Site, Snapshot, totalsOf } from './snapshot';

export interface DiffRow {
  function: string;
  module: string | null;
  cache: string;
  status: 'new' | 'gone' | 'changed' | 'same';
  liveBytesBefore: number;
  liveBytesAfter: number;
  liveBytesDelta: number;
  liveObjectsDelta: number;
  allocsDelta: number;
}

export interface DiffTotals {
  liveBytesDelta: number;
  liveObjectsDelta: number;
  allocsDelta: number;
  /* Sum of the positive live-byte changes: what grew. */
  growthBytes: number;
}

export interface SiteFilter {
  module?: string;
  match?: RegExp;
}

/* Keep the sites in one module and/or whose function matches. */
export function filterSites<T extends Pick<Site, 'function' | 'module'>>(sites: T[], f: SiteFilter): T[] {
  return sites.filter((s) => (f.module === undefined || s.module === f.module) && (f.match === undefined || f.match.test(s.function)));
}

/*
 * Focus on one module or on matching functions: the sites and totals are
 * those of the focus (phantom corrections are per cache, not per site, and
 * are left out then).
 */
export function focus(snap: Snapshot, f: SiteFilter): Snapshot {
  if (f.module === undefined && f.match === undefined) return snap;
  const sites = filterSites(snap.sites, f);
  return { ...snap, sites, totals: totalsOf(sites) };
}

type Agg = { function: string; module: string | null; cache: string; liveBytes: number; liveObjects: number; allocs: number };

function aggregate(sites: Pick<Site, 'function' | 'module' | 'cache' | 'liveBytes' | 'liveObjects' | 'allocs'>[]): Map<string, Agg> {
  const out = new Map<string, Agg>();
  for (const s of sites) {
    const key = `${s.function}\0${s.module ?? ''}\0${s.cache}`;
    const a = out.get(key) ?? { function: s.function, module: s.module, cache: s.cache, liveBytes: 0, liveObjects: 0, allocs: 0 };
    a.liveBytes += s.liveBytes;
    a.liveObjects += s.liveObjects;
    a.allocs += s.allocs;
    out.set(key, a);
  }
  return out;
}

/* Rows sorted by growth (largest live-byte increase first), and totals. */
export function diffSites(before: Parameters<typeof aggregate>[0], after: Parameters<typeof aggregate>[0]): { rows: DiffRow[]; totals: DiffTotals } {
  const a = aggregate(before);
  const b = aggregate(after);
  const rows: DiffRow[] = [];
  for (const key of new Set([...a.keys(), ...b.keys()])) {
    const x = a.get(key);
    const y = b.get(key);
    const base = (y ?? x)!;
    const liveBytesDelta = (y?.liveBytes ?? 0) - (x?.liveBytes ?? 0);
    const liveObjectsDelta = (y?.liveObjects ?? 0) - (x?.liveObjects ?? 0);
    const allocsDelta = (y?.allocs ?? 0) - (x?.allocs ?? 0);
    rows.push({
      function: base.function,
      module: base.module,
      cache: base.cache,
      status: !x ? 'new' : !y ? 'gone' : liveBytesDelta || liveObjectsDelta || allocsDelta ? 'changed' : 'same',
      liveBytesBefore: x?.liveBytes ?? 0,
      liveBytesAfter: y?.liveBytes ?? 0,
      liveBytesDelta,
      liveObjectsDelta,
      allocsDelta,
    });
  }
  rows.sort(
    (p, q) =>
      q.liveBytesDelta - p.liveBytesDelta ||
      q.liveObjectsDelta - p.liveObjectsDelta ||
      p.function.localeCompare(q.function) ||
      p.cache.localeCompare(q.cache),
  );
  const totals: DiffTotals = { liveBytesDelta: 0, liveObjectsDelta: 0, allocsDelta: 0, growthBytes: 0 };
  for (const r of rows) {
    totals.liveBytesDelta += r.liveBytesDelta;
    totals.liveObjectsDelta += r.liveObjectsDelta;
    totals.allocsDelta += r.allocsDelta;
    if (r.liveBytesDelta > 0) totals.growthBytes += r.liveBytesDelta;
  }
  return { rows, totals };
}
