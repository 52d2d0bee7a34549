/*
 * Before and after (pure): two kmemtop reports, per site the change in live
 * bytes, live objects and allocations.  Sites match by symbol -- function,
 * module and cache -- not by address or offset, so reports from two boots
 * or two kernels (before and after a patch) compare; the sites of one
 * function with one cache are summed on each side first.
 */
import { LIVE_LOSSES, LiveLossKey, Site, Snapshot, totalsOf } from './snapshot';
import { CacheCorrection, slabGroup } from './reconcile';

export interface DiffRow {
  function: string;
  module: string | null;
  cache: string;
  /* Other caches SLUB merged into cache (from either report). */
  cacheAliases: string[];
  /* A cache the shrinkers free (dentries, inodes): its growth counts apart (DiffTotals.reclaimableGrowthBytes). */
  reclaimable: boolean;
  /*
   * uncertain: live objects grew, but by no more than the dead objects its
   * cache could hide in one of the reports (phantomBoundObjects): the
   * growth may be nothing but phantoms.
   */
  status: 'new' | 'gone' | 'changed' | 'uncertain' | 'same';
  /*
   * --by-stack: the callers past the call site (function names, innermost
   * first; offsets dropped so builds compare), or ["(other stacks)"] for
   * what the report did not list by stack.  Absent without --by-stack.
   */
  stack?: string[];
  liveBytesBefore: number;
  liveBytesAfter: number;
  liveBytesDelta: number;
  liveObjectsDelta: number;
  allocsDelta: number;
  /* Dead objects the row's cache could hide (see phantomByGroup): the larger of the two reports'. */
  phantomBoundObjects: number;
  /* Live bytes certainly gained: the growth beyond phantomBoundObjects (0 unless it grew past it). */
  certainGrowthBytes: number;
}

export interface DiffTotals {
  liveBytesDelta: number;
  liveObjectsDelta: number;
  allocsDelta: number;
  /*
   * Live bytes the sites that grew certainly gained (growth beyond their
   * caches' phantom objects), in caches the shrinkers do not free: what
   * --fail-on-growth compares (with --include-reclaimable, the next too).
   */
  growthBytes: number;
  /* The same in reclaimable caches (dentries, inodes: they grow as caches do). */
  reclaimableGrowthBytes: number;
  /* Live-byte growth that phantoms may explain (uncertain rows, and the part of other rows within the bound). */
  uncertainGrowthBytes: number;
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

/* What diff reads of a site (reports of older versions lack the optional fields). */
export type DiffSite = Pick<Site, 'function' | 'module' | 'cache' | 'liveBytes' | 'liveObjects' | 'allocs'> &
  Partial<Pick<Site, 'objectSize' | 'cacheAliases' | 'kind' | 'cacheReclaimable' | 'stacks'>> & {
    /* Set by stackSites(): the stack this entry stands for. */
    stack?: string[];
  };

export const OTHER_STACKS = '(other stacks)';

/* "func+0x1a/0x40 [mod]" -> "func [mod]": a frame as it compares across builds. */
export function frameName(frame: string): string {
  return frame.replace(/\+0x[0-9a-f]+(\/0x[0-9a-f]+)?/i, '');
}

/* Does every site of a report with live objects or allocations carry stacks (it was written with --stacks)? */
export function hasStacks(sites: DiffSite[]): boolean {
  return sites.some((s) => s.stacks !== undefined);
}

/*
 * --by-stack: each site as one entry per listed stack (callers past the call
 * site), and one "(other stacks)" entry for the rest of the site's figures
 * (stacks past the report's top ones, allocations whose stack was not
 * recorded), so the entries of a site add up to the site.
 */
export function stackSites(sites: DiffSite[]): DiffSite[] {
  const out: DiffSite[] = [];
  for (const s of sites) {
    let liveBytes = s.liveBytes;
    let liveObjects = s.liveObjects;
    let allocs = s.allocs;
    for (const st of s.stacks ?? []) {
      out.push({ ...s, stacks: undefined, stack: st.frames.slice(1).map(frameName), liveBytes: st.liveBytes, liveObjects: st.liveObjects, allocs: st.allocs });
      liveBytes -= st.liveBytes;
      liveObjects -= st.liveObjects;
      allocs -= st.allocs;
    }
    if (liveBytes || liveObjects || allocs || !s.stacks?.length) out.push({ ...s, stacks: undefined, stack: [OTHER_STACKS], liveBytes, liveObjects, allocs });
  }
  return out;
}

/*
 * The most dead objects each cache (slabinfo group) could hide among its
 * tracked live ones, from a report's caches[]: the phantom proven (tracked
 * above active), or, where more, its free slots -- where the dead objects
 * the sweep cannot retire lie (their slab is still the cache's) -- but
 * never more than it tracks.  For diffSites.
 */
export type PhantomByGroup = Map<string, number>;

export function phantomByGroup(
  caches: Pick<CacheCorrection, 'cache' | 'phantomObjects' | 'trackedLiveObjects' | 'slabActiveObjects' | 'slabTotalObjects'>[] | null | undefined,
): PhantomByGroup {
  return new Map(
    (caches ?? []).map((c) => {
      const free = Math.max(0, (c.slabTotalObjects ?? 0) - (c.slabActiveObjects ?? 0));
      return [c.cache, Math.min(Math.max(0, c.trackedLiveObjects ?? 0), Math.max(c.phantomObjects ?? 0, free))];
    }),
  );
}

type Agg = {
  function: string;
  module: string | null;
  cache: string;
  aliases: Set<string>;
  reclaimable: boolean;
  liveBytes: number;
  liveObjects: number;
  allocs: number;
  objectSize: number;
  stack?: string[];
};

function aggregate(sites: DiffSite[]): Map<string, Agg> {
  const out = new Map<string, Agg>();
  for (const s of sites) {
    const key = `${s.function}\0${s.module ?? ''}\0${s.cache}${s.stack ? `\0${s.stack.join(';')}` : ''}`;
    const a = out.get(key) ?? {
      function: s.function,
      module: s.module,
      cache: s.cache,
      aliases: new Set<string>(),
      reclaimable: false,
      liveBytes: 0,
      liveObjects: 0,
      allocs: 0,
      objectSize: s.objectSize ?? 0,
      stack: s.stack,
    };
    a.liveBytes += s.liveBytes;
    a.liveObjects += s.liveObjects;
    a.allocs += s.allocs;
    for (const x of s.cacheAliases ?? []) a.aliases.add(x);
    if (s.cacheReclaimable) a.reclaimable = true;
    if (!a.objectSize && s.liveObjects) a.objectSize = s.liveBytes / s.liveObjects;
    out.set(key, a);
  }
  return out;
}

/*
 * Rows sorted by growth (largest certain live-byte increase first, then the
 * uncertain ones), and totals.  phantomBefore/After: each report's phantom
 * objects per cache; a row's growth within them is uncertain, not growth.
 */
export function diffSites(
  before: DiffSite[],
  after: DiffSite[],
  phantomBefore: PhantomByGroup = new Map(),
  phantomAfter: PhantomByGroup = new Map(),
): { rows: DiffRow[]; totals: DiffTotals } {
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
    const group = base.cache === 'kmalloc-large' ? null : slabGroup(base.cache);
    const bound = group === null ? 0 : Math.max(phantomBefore.get(group) ?? 0, phantomAfter.get(group) ?? 0);
    const size = base.objectSize || (liveObjectsDelta ? liveBytesDelta / liveObjectsDelta : 0);
    const certainObjects = Math.max(0, liveObjectsDelta - bound);
    const certainGrowthBytes = liveBytesDelta > 0 ? Math.min(liveBytesDelta, Math.round(certainObjects * size)) : 0;
    const grewWithinBound = liveObjectsDelta > 0 && certainObjects === 0;
    rows.push({
      function: base.function,
      module: base.module,
      cache: base.cache,
      cacheAliases: [...new Set([...(x?.aliases ?? []), ...(y?.aliases ?? [])])].sort(),
      reclaimable: (x?.reclaimable ?? false) || (y?.reclaimable ?? false),
      status: !x ? (grewWithinBound ? 'uncertain' : 'new') : !y ? 'gone' : grewWithinBound ? 'uncertain' : liveBytesDelta || liveObjectsDelta || allocsDelta ? 'changed' : 'same',
      liveBytesBefore: x?.liveBytes ?? 0,
      liveBytesAfter: y?.liveBytes ?? 0,
      liveBytesDelta,
      liveObjectsDelta,
      allocsDelta,
      phantomBoundObjects: bound,
      certainGrowthBytes,
      ...(base.stack ? { stack: base.stack } : {}),
    });
  }
  rows.sort(
    (p, q) =>
      q.certainGrowthBytes - p.certainGrowthBytes ||
      q.liveBytesDelta - p.liveBytesDelta ||
      q.liveObjectsDelta - p.liveObjectsDelta ||
      p.function.localeCompare(q.function) ||
      p.cache.localeCompare(q.cache) ||
      (p.stack ?? []).join(';').localeCompare((q.stack ?? []).join(';')),
  );
  const totals: DiffTotals = { liveBytesDelta: 0, liveObjectsDelta: 0, allocsDelta: 0, growthBytes: 0, reclaimableGrowthBytes: 0, uncertainGrowthBytes: 0 };
  for (const r of rows) {
    totals.liveBytesDelta += r.liveBytesDelta;
    totals.liveObjectsDelta += r.liveObjectsDelta;
    totals.allocsDelta += r.allocsDelta;
    if (r.reclaimable) totals.reclaimableGrowthBytes += r.certainGrowthBytes;
    else totals.growthBytes += r.certainGrowthBytes;
    if (r.liveBytesDelta > 0) totals.uncertainGrowthBytes += r.liveBytesDelta - r.certainGrowthBytes;
  }
  return { rows, totals };
}

/*
 * Losses that can hide growth (allocations never tracked) or fake it (frees
 * never seen), counted in objects: the report's lost.* of these causes.
 */
export const GATE_LOSSES: readonly LiveLossKey[] = LIVE_LOSSES.map((x) => x.key);

export type GateVerdict = 'pass' | 'fail' | 'inconclusive';

/*
 * A --fail-on-growth gate that knows its error: it fails only when the
 * growth exceeds the threshold even at the error's most, passes only when it
 * stays within it even at the error's most, and is inconclusive otherwise.
 */
export function gateVerdict(grewBytes: number, thresholdBytes: number, errorBytes: number): GateVerdict {
  if (grewBytes - errorBytes > thresholdBytes) return 'fail';
  if (grewBytes + errorBytes <= thresholdBytes) return 'pass';
  return 'inconclusive';
}

/*
 * Bytes the diff of two reports may be off by through their losses: the
 * objects lost in the window between them (the later report's losses less
 * the earlier's when both read one session; else both reports' own), each
 * as large as the largest object either report shows (an upper bound).
 */
export function lossErrorBytes(
  before: { losses: number; sessionStartedAt: string | null; sites: Pick<Site, 'liveBytes' | 'liveObjects'>[] },
  after: { losses: number; sessionStartedAt: string | null; sites: Pick<Site, 'liveBytes' | 'liveObjects'>[] },
): { objects: number; objectBytes: number; bytes: number } {
  const sameSession = before.sessionStartedAt !== null && before.sessionStartedAt === after.sessionStartedAt;
  const objects = sameSession ? Math.max(0, after.losses - before.losses) : before.losses + after.losses;
  let objectBytes = 0;
  for (const s of [...before.sites, ...after.sites]) {
    const o = s as Pick<Site, 'liveBytes' | 'liveObjects'> & { objectSize?: number };
    const size = o.objectSize ?? (s.liveObjects > 0 ? s.liveBytes / s.liveObjects : 0);
    if (size > objectBytes) objectBytes = size;
  }
  return { objects, objectBytes, bytes: Math.ceil(objects * objectBytes) };
}
