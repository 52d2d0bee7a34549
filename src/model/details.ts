/*
 * --stacks/--by-cgroup/--by-task (pure): each site's allocations split by
 * who made them, from the kernel's details (a count per site, stack, memory
 * cgroup and process), and the same totals per cgroup and per process over
 * all sites.  Live = allocations - frees, scaled by the sampling rate, as
 * for the site itself; where the site's live figure is an upper bound
 * (phantom objects), so are the figures split from it.
 */
import type { RawDetail, RawDetails } from '../collect/raw';
import type { Counts, Resolver, Site, SiteCgroup, SiteTask } from './site';
import { siteStacks, StackCounts, STACKS_PER_SITE } from './stacks';

/* Rows kept per site for each split; the rest are summed into one "other" entry. */
export const GROUPS_PER_SITE = 5;

/* Totals of one cgroup or process over all sites. */
interface GroupTotals extends Counts {
  /* Sites with allocations from it. */
  sites: number;
  /* The site with the most live bytes from it. */
  topSite: string | null;
  /* Some of its live objects belong to sites whose live figures are upper bounds. */
  liveUpperBound: boolean;
}

export interface CgroupRow extends GroupTotals {
  path: string;
}

export interface TaskRow extends GroupTotals {
  tgid: number;
  comm: string;
}

export const INTERRUPT = '(interrupt context)';

export function cgroupLabel(d: RawDetail): string {
  if (d.cgroup === 0n) return INTERRUPT;
  return d.cgroupPath ?? '(removed cgroup)';
}

function counts(allocs: number, frees: number, objectSize: number, scale: number): Counts {
  const liveObjects = Math.max(0, allocs - frees) * scale;
  return { allocs: allocs * scale, frees: frees * scale, liveObjects, liveBytes: liveObjects * objectSize };
}

/* Sum details by a key; each group keeps its first detail (for names). */
function groupBy<K>(details: RawDetail[], key: (d: RawDetail) => K): Map<K, { first: RawDetail; allocs: number; frees: number }> {
  const out = new Map<K, { first: RawDetail; allocs: number; frees: number }>();
  for (const d of details) {
    const k = key(d);
    const g = out.get(k);
    if (g) {
      g.allocs += d.allocs;
      g.frees += d.frees;
    } else out.set(k, { first: d, allocs: d.allocs, frees: d.frees });
  }
  return out;
}

const byLive = (a: Counts, b: Counts) => b.liveBytes - a.liveBytes || b.allocs - a.allocs;

/* The top rows, and the rest summed (null when there is no rest). */
function topAndRest<T extends Counts, N extends string>(rows: T[], top: number, countKey: N): { top: T[]; other: (Counts & Record<N, number>) | null } {
  const rest = rows.slice(top);
  if (!rest.length) return { top: rows, other: null };
  const other = { [countKey]: rest.length, allocs: 0, frees: 0, liveObjects: 0, liveBytes: 0 } as Counts & Record<N, number>;
  for (const r of rest) {
    other.allocs += r.allocs;
    other.frees += r.frees;
    other.liveObjects += r.liveObjects;
    other.liveBytes += r.liveBytes;
  }
  return { top: rows.slice(0, top), other };
}

function bySite(details: RawDetail[]): Map<number, RawDetail[]> {
  const out = new Map<number, RawDetail[]>();
  for (const d of details) {
    const l = out.get(d.site);
    if (l) l.push(d);
    else out.set(d.site, [d]);
  }
  return out;
}

/* One site's splits: stacks (with --stacks), cgroups (--by-cgroup), processes (--by-task). */
function splitSite(s: Site, callSite: bigint, ds: RawDetail[], raw: RawDetails, resolve: Resolver, scale: number): Partial<Site> {
  const out: Partial<Site> = {};
  if (raw.stackDepth > 0) {
    const stacks: StackCounts[] = [...groupBy(ds, (d) => d.stack)].map(([stack, g]) => ({ stack, allocs: g.allocs, frees: g.frees }));
    Object.assign(out, siteStacks(callSite, s.objectSize, stacks, raw.frames, resolve, STACKS_PER_SITE, scale));
  }
  if (raw.byCgroup) {
    const rows: SiteCgroup[] = [...groupBy(ds, (d) => d.cgroup)].map(([, g]) => ({ path: cgroupLabel(g.first), ...counts(g.allocs, g.frees, s.objectSize, scale) }));
    rows.sort((a, b) => byLive(a, b) || a.path.localeCompare(b.path));
    const { top, other } = topAndRest(rows, GROUPS_PER_SITE, 'cgroups');
    out.cgroups = top;
    out.otherCgroups = other;
  }
  if (raw.byTask) {
    const rows: SiteTask[] = [...groupBy(ds, (d) => d.tgid)].map(([tgid, g]) => ({
      tgid,
      comm: tgid ? g.first.comm : INTERRUPT,
      ...counts(g.allocs, g.frees, s.objectSize, scale),
    }));
    rows.sort((a, b) => byLive(a, b) || a.tgid - b.tgid);
    const { top, other } = topAndRest(rows, GROUPS_PER_SITE, 'tasks');
    out.tasks = top;
    out.otherTasks = other;
  }
  return out;
}

/* Each site with its splits (new objects for those sites; the others get empty splits). */
export function withDetails(sites: Site[], raw: RawDetails | null, callSites: Map<number, bigint>, resolve: Resolver, scale: number): Site[] {
  if (!raw) return sites;
  const per = bySite(raw.details);
  return sites.map((s) => ({ ...s, ...splitSite(s, callSites.get(s.id) ?? 0n, per.get(s.id) ?? [], raw, resolve, scale) }));
}

/* Totals over all sites by a key: live bytes need each detail's site (its object size). */
function totalsBy<K>(
  sites: Site[],
  raw: RawDetails,
  scale: number,
  key: (d: RawDetail) => K,
): Map<K, { first: RawDetail; c: Counts; sites: Set<number>; top: { site: Site; bytes: number } | null; upper: boolean }> {
  const siteOf = new Map(sites.map((s) => [s.id, s]));
  const out = new Map<K, { first: RawDetail; c: Counts; sites: Set<number>; top: { site: Site; bytes: number } | null; upper: boolean }>();
  /* Live bytes per (key, site), so a site's top-ness is judged on its whole share. */
  const perSite = new Map<K, Map<number, number>>();
  for (const d of raw.details) {
    const s = siteOf.get(d.site);
    if (!s) continue;
    const k = key(d);
    const c = counts(d.allocs, d.frees, s.objectSize, scale);
    let g = out.get(k);
    if (!g) out.set(k, (g = { first: d, c: { allocs: 0, frees: 0, liveObjects: 0, liveBytes: 0 }, sites: new Set(), top: null, upper: false }));
    g.c.allocs += c.allocs;
    g.c.frees += c.frees;
    g.c.liveObjects += c.liveObjects;
    g.c.liveBytes += c.liveBytes;
    g.sites.add(d.site);
    if (c.liveObjects && s.liveObjectsUpperBound) g.upper = true;
    let m = perSite.get(k);
    if (!m) perSite.set(k, (m = new Map()));
    const bytes = (m.get(d.site) ?? 0) + c.liveBytes;
    m.set(d.site, bytes);
    if (bytes > 0 && (!g.top || bytes > g.top.bytes)) g.top = { site: s, bytes };
  }
  return out;
}

const siteName = (s: Site) => `${s.function}${s.module ? ` [${s.module}]` : ''} (${s.cache})`;

/* --by-cgroup: totals per memory cgroup over all sites, most live bytes first. */
export function cgroupRows(sites: Site[], raw: RawDetails | null, scale: number): CgroupRow[] | null {
  if (!raw?.byCgroup) return null;
  const rows: CgroupRow[] = [...totalsBy(sites, raw, scale, (d) => d.cgroup)].map(([, g]) => ({
    path: cgroupLabel(g.first),
    ...g.c,
    sites: g.sites.size,
    topSite: g.top ? siteName(g.top.site) : null,
    liveUpperBound: g.upper,
  }));
  return rows.sort((a, b) => byLive(a, b) || a.path.localeCompare(b.path));
}

/* --by-task: totals per process over all sites, most live bytes first. */
export function taskRows(sites: Site[], raw: RawDetails | null, scale: number): TaskRow[] | null {
  if (!raw?.byTask) return null;
  const rows: TaskRow[] = [...totalsBy(sites, raw, scale, (d) => d.tgid)].map(([tgid, g]) => ({
    tgid,
    comm: tgid ? g.first.comm : INTERRUPT,
    ...g.c,
    sites: g.sites.size,
    topSite: g.top ? siteName(g.top.site) : null,
    liveUpperBound: g.upper,
  }));
  return rows.sort((a, b) => byLive(a, b) || a.tgid - b.tgid);
}
