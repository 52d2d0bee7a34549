/*
 * `kmemtop report` (and the reports `watch --on-oom` writes), pure: the
 * summary an OOM investigation wants first -- which memory dominates, the
 * biggest slab caches, the call sites holding and gaining the most, what
 * the shrinkers were asked and freed, fragmentation -- from /proc files and,
 * when traced, a snapshot.
 */
import type { MemInfo } from '../sys/meminfo';
import type { SlabCache } from '../sys/slabinfo';
import type { ZoneFree } from '../sys/procmm';
import type { Site, Snapshot } from './snapshot';
import type { PreHistory } from './prehistory';
import type { Shrinker, OomVictim } from './shrinkers';
import { formatSymbol } from '../sys/kallsyms';

export const TOP = 10;
/* The orders that matter: order-0 pages up to a 4 MiB block (order 10). */
export const MAX_ORDER = 10;

/*
 * Where MemTotal goes, by the kernel's own accounting (/proc/meminfo): free,
 * user (LRU and unevictable), hugetlb, and the kernel's parts -- slab, stacks,
 * page tables, vmalloc, percpu, other reclaimable, zswap, balloon -- and what
 * no line names: MemTotal less all of these (pages taken straight from the
 * page allocator by drivers and subsystems, among them what kmemtop's own
 * maps do not get from vmalloc).  Negative when lines overlap.
 */
export interface KernelMemory {
  totalBytes: number;
  freeBytes: number;
  userBytes: number;
  hugetlbBytes: number;
  /* The kernel's named parts, largest first. */
  parts: { name: string; bytes: number }[];
  unaccountedBytes: number;
  /* Named parts plus what is unaccounted (when positive). */
  kernelBytes: number;
}

export function kernelMemory(m: MemInfo): KernelMemory {
  const k = (kb: number | undefined) => (kb ?? 0) * 1024;
  const parts = [
    { name: 'slab unreclaimable', bytes: k(m.slabUnreclaimableKb) },
    { name: 'slab reclaimable', bytes: k(m.slabReclaimableKb) },
    { name: 'vmalloc', bytes: k(m.vmallocUsedKb) },
    { name: 'page tables', bytes: k(m.pageTablesKb) },
    { name: 'kernel stacks', bytes: k(m.kernelStackKb) },
    { name: 'percpu', bytes: k(m.percpuKb) },
    { name: 'other reclaimable', bytes: k(m.kernelOtherReclaimableKb) },
    { name: 'zswap', bytes: k(m.zswapKb) },
    { name: 'balloon', bytes: k(m.balloonKb) },
  ].sort((a, b) => b.bytes - a.bytes || a.name.localeCompare(b.name));
  const named = parts.reduce((n, p) => n + p.bytes, 0);
  const userBytes = k(m.lruAnonKb) + k(m.lruFileKb) + k(m.unevictableKb);
  const freeBytes = k(m.freeKb);
  const hugetlbBytes = k(m.hugetlbKb);
  const totalBytes = k(m.totalKb);
  const unaccountedBytes = totalBytes ? totalBytes - freeBytes - userBytes - hugetlbBytes - named : 0;
  return { totalBytes, freeBytes, userBytes, hugetlbBytes, parts, unaccountedBytes, kernelBytes: named + Math.max(0, unaccountedBytes) };
}

export interface Verdict {
  dominant: 'slab' | 'unreclaimable slab' | 'lru' | 'kernel';
  /* Share of kernel + user memory (free left out), 0..1, of what dominates. */
  share: number;
  text: string;
  slabReclaimableKb: number;
  slabUnreclaimableKb: number;
  lruAnonKb: number;
  lruFileKb: number;
}

/*
 * Which memory dominates: all the kernel's (slab, vmalloc, page tables,
 * stacks, percpu, ... and what no line names) against user memory (LRU);
 * free memory is left out of the shares.  Where the kernel's largest part is
 * slab, the verdict says slab (and unreclaimable slab when that alone
 * outweighs user memory).
 */
export function memoryVerdict(m: MemInfo): Verdict {
  const km = kernelMemory(m);
  const kernel = km.kernelBytes / 1024;
  const slab = m.slabReclaimableKb + m.slabUnreclaimableKb;
  const lru = m.lruAnonKb + m.lruFileKb + (m.unevictableKb ?? 0);
  const both = Math.max(1, kernel + lru);
  const pct = (x: number) => Math.round((100 * x) / both);
  const base = { slabReclaimableKb: m.slabReclaimableKb, slabUnreclaimableKb: m.slabUnreclaimableKb, lruAnonKb: m.lruAnonKb, lruFileKb: m.lruFileKb };
  if (m.slabUnreclaimableKb > lru) {
    return { ...base, dominant: 'unreclaimable slab', share: m.slabUnreclaimableKb / both, text: `unreclaimable slab ${pct(m.slabUnreclaimableKb)}%: look in the kernel` };
  }
  if (kernel > lru) {
    const biggest = km.unaccountedBytes > (km.parts[0]?.bytes ?? 0) ? { name: 'unaccounted', bytes: km.unaccountedBytes } : km.parts[0];
    if (slab > lru && biggest.name.startsWith('slab')) return { ...base, dominant: 'slab', share: slab / both, text: `slab dominates (${pct(slab)}%): look in the kernel` };
    return {
      ...base,
      dominant: 'kernel',
      share: kernel / both,
      text: `kernel memory dominates (${pct(kernel)}%, most in ${biggest.name}): look in the kernel`,
    };
  }
  return { ...base, dominant: 'lru', share: lru / both, text: `LRU dominates (${pct(lru)}%): almost certainly user space` };
}

export interface SlabCacheRow {
  name: string;
  activeObjects: number;
  objectSize: number;
  memoryBytes: number;
}

export function topCaches(slabs: Map<string, SlabCache>, n = TOP): SlabCacheRow[] {
  return [...slabs.values()]
    .map((s) => ({ name: s.name, activeObjects: s.activeObjects, objectSize: s.objectSize, memoryBytes: s.memoryBytes || s.totalObjects * s.objectSize }))
    .sort((a, b) => b.memoryBytes - a.memoryBytes || a.name.localeCompare(b.name))
    .slice(0, n);
}

export interface ZoneFragmentation {
  node: number;
  zone: string;
  freePages: number;
  freeBlocks: number[];
  /* Largest order with a free block, -1 when none. */
  highestFreeOrder: number;
}

export interface Fragmentation {
  zones: ZoneFragmentation[];
  /* For each order 0..MAX_ORDER: could one request of that order be served from free blocks now (no reclaim, no compaction)? */
  servable: { order: number; bytes: number; servable: boolean }[];
  compactStall: number;
  compactFail: number;
  compactSuccess: number;
  allocStall: number;
  oomKill: number;
}

export function fragmentation(zones: ZoneFree[], vmstat: Map<string, number>): Fragmentation {
  const zs = zones.map((z) => {
    let highest = -1;
    z.freeBlocks.forEach((n, o) => {
      if (n > 0) highest = o;
    });
    return { node: z.node, zone: z.zone, freeBlocks: z.freeBlocks, freePages: z.freeBlocks.reduce((n, c, o) => n + c * 2 ** o, 0), highestFreeOrder: highest };
  });
  const top = Math.max(-1, ...zs.map((z) => z.highestFreeOrder));
  const sum = (prefix: string) => [...vmstat.entries()].filter(([k]) => k.startsWith(prefix)).reduce((n, [, v]) => n + v, 0);
  return {
    zones: zs,
    servable: Array.from({ length: MAX_ORDER + 1 }, (_, order) => ({ order, bytes: 4096 * 2 ** order, servable: top >= order })),
    compactStall: vmstat.get('compact_stall') ?? 0,
    compactFail: vmstat.get('compact_fail') ?? 0,
    compactSuccess: vmstat.get('compact_success') ?? 0,
    allocStall: sum('allocstall_'),
    oomKill: vmstat.get('oom_kill') ?? 0,
  };
}

export interface SiteLine {
  site: string;
  cache: string;
  liveBytes: number;
  liveObjects: number;
  /* The site's cache holds fewer objects than tracked: its figures above are estimates under an upper bound. */
  upperBound: boolean;
  /* Live bytes gained per second over the period (the report's growth). */
  growthBytesPerSec: number;
}

export interface SitesSection {
  source: 'session' | 'duration' | 'watch';
  windowMs: number;
  topLive: SiteLine[];
  fastestGrowing: SiteLine[];
}

/*
 * Top sites by live bytes, and by growth between prev and cur over periodMs
 * (without prev: live bytes over periodMs, all of it gained in the window).
 */
export function sitesSection(cur: Snapshot, prev: Snapshot | null, periodMs: number, source: SitesSection['source']): SitesSection {
  const before = new Map<string, Site>();
  for (const s of prev?.sites ?? []) before.set(`${formatSymbol(s)}|${s.cache}`, s);
  const lines = cur.sites.map((s) => {
    const p = before.get(`${formatSymbol(s)}|${s.cache}`);
    /* Estimates: a phantom object is neither held nor gained (see boundSites). */
    const est = (x: Site) => (x.liveObjectsUpperBound ? x.liveBytesEstimate : x.liveBytes);
    const gained = est(s) - (prev ? (p ? est(p) : 0) : 0);
    return {
      site: formatSymbol(s),
      cache: s.cache,
      liveBytes: est(s),
      liveObjects: s.liveObjectsUpperBound ? s.liveObjectsEstimate : s.liveObjects,
      upperBound: s.liveObjectsUpperBound ?? false,
      growthBytesPerSec: periodMs > 0 ? (gained * 1000) / periodMs : 0,
    };
  });
  return {
    source,
    windowMs: cur.window.durationMs,
    topLive: [...lines].sort((a, b) => b.liveBytes - a.liveBytes).slice(0, TOP),
    fastestGrowing: lines
      .filter((l) => l.growthBytesPerSec > 0)
      .sort((a, b) => b.growthBytesPerSec - a.growthBytesPerSec)
      .slice(0, TOP),
  };
}

export interface ShrinkerSection {
  /* Most asked first. */
  top: Pick<Shrinker, 'name' | 'calls' | 'requested' | 'freed' | 'timeNs' | 'freesLittle'>[];
  freesLittle: string[];
}

/* What each shrinker did since an earlier read: counts minus those of prev (matched by name). */
export function shrinkerDelta(cur: Shrinker[], prev: Shrinker[] | null): Shrinker[] {
  if (!prev) return cur;
  const before = new Map(prev.map((p) => [p.name, p]));
  return cur.map((c) => {
    const p = before.get(c.name);
    if (!p) return c;
    const requested = c.requested - p.requested;
    const freed = c.freed - p.freed;
    return { ...c, calls: c.calls - p.calls, requested, freed, scanned: c.scanned - p.scanned, timeNs: c.timeNs - p.timeNs, freesLittle: requested >= 1000 && freed < 0.1 * requested };
  });
}

export function shrinkerSection(rows: Shrinker[]): ShrinkerSection {
  const called = rows.filter((r) => r.calls > 0).sort((a, b) => b.requested - a.requested);
  return {
    top: called.slice(0, TOP).map(({ name, calls, requested, freed, timeNs, freesLittle }) => ({ name, calls, requested, freed, timeNs, freesLittle })),
    freesLittle: called.filter((r) => r.freesLittle).map((r) => r.name),
  };
}

export interface MemoryReport {
  tool: 'kmemtop';
  schemaVersion: number;
  kind: 'report';
  kernel: string;
  hostname: string;
  time: string;
  verdict: Verdict | null;
  /* Where MemTotal goes (/proc/meminfo, read with the verdict); null when unreadable. */
  memory: KernelMemory | null;
  topCaches: SlabCacheRow[];
  /* Why topCaches is empty (e.g. /proc/slabinfo is root-only), or null. */
  topCachesUnavailable?: string | null;
  sites: SitesSection | null;
  sitesUnavailable: string | null;
  shrinkers: ShrinkerSection | null;
  oomVictim: OomVictim | null;
  fragmentation: Fragmentation | null;
  lost: Snapshot['lost'] | null;
  accuracy: Snapshot['accuracy'] | null;
  /* watch --on-oom: what grew in the minutes before the kill (absent elsewhere). */
  preHistory?: PreHistory | null;
}
