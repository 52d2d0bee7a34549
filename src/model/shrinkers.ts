/*
 * Shrinkers and reclaim, as reported (pure).  A shrinker is named by the
 * symbol of its scan function (the vmscan tracepoints carry no name and this
 * kernel has no CONFIG_SHRINKER_DEBUG names), plus file system and device
 * for superblock shrinkers; never by address.
 */
import { decodeGfp, gfpHint } from './gfp';
import type { MemcgFigures } from '../sys/cgroups';
import type { RawReclaim, RawShrinker } from '../collect/raw';
import type { Resolver } from './site';
import type { ReclaimKindKey, ReclaimKindStats } from '../abi/reclaim';
import { formatSymbol } from '../sys/kallsyms';

/* Flag a shrinker asked at least this many objects that freed less than this share of them. */
export const STUBBORN_MIN_REQUESTED = 1000;
export const STUBBORN_MAX_FREED_SHARE = 0.1;

export interface ShrinkerNode {
  node: number;
  calls: number;
  requested: number;
  freed: number;
}

export interface Shrinker {
  /* e.g. "super_cache_scan (ext4 vda)", "deferred_split_scan" */
  name: string;
  scanFunction: string | null;
  superblock: { fsType: string; id: string } | null;
  calls: number;
  /* Objects in its cache at the start of the last call (count_objects). */
  objects: number;
  /* Objects it was asked to scan, summed over calls. */
  requested: number;
  scanned: number;
  freed: number;
  /* Deferred work carried in at the start of calls, and left after the last one. */
  deferredIn: number;
  deferred: number;
  timeNs: number;
  maxTimeNs: number;
  /* null when it freed nothing */
  nsPerFreed: number | null;
  lastCall: string | null;
  /* Asked for at least STUBBORN_MIN_REQUESTED objects, freed under STUBBORN_MAX_FREED_SHARE of them. */
  freesLittle: boolean;
  nodes: ShrinkerNode[];
}

export interface ReclaimKind {
  count: number;
  stallNs: number;
  maxStallNs: number;
  reclaimedPages: number;
}

export interface OomVictim {
  pid: number;
  comm: string;
  uid: number;
  time: string;
  /* Its memory cgroup: the path ("/" the root; null when unknown), and its figures read when the report was made (null when gone). */
  memcg?: { path: string | null; figures: MemcgFigures | null } | null;
  /* Its resident pages at the kill (file + anon + shmem), bytes, approximate. */
  rssBytes?: number;
  /* The allocation the kill served, as far as known: the last reclaim entered on the CPU of the kill, within a second before it. */
  request?: { order: number; gfp: string; hint: string; kind: string; pid: number; comm: string } | null;
  /* Direct compaction by that request's task for its order, in the second before the kill; null: none seen. */
  compaction?: OomCompaction | null;
}

export interface OomCompaction {
  /* try_to_compact_pages calls */
  tries: number;
  /* zones compacted, how many of them formed a free block of the order, zones skipped as deferred */
  zoneRuns: number;
  zoneSuccesses: number;
  zonesDeferred: number;
  /* the last zone run's result, as the kernel names it without COMPACT_ ("complete", "partial_skipped"); null: no zone ran */
  lastResult: string | null;
}

/* Name of an enum compact_result value from the kernel's own enum. */
export function compactResultName(value: number, results: Map<string, number>): string | null {
  if (value < 0) return null;
  for (const [name, v] of results) if (v === value) return name.replace(/^COMPACT_/, '').toLowerCase();
  return `result ${value}`;
}

export interface Reclaim {
  direct: ReclaimKind;
  memcg: ReclaimKind;
  node: ReclaimKind;
  kswapdWakeups: number;
  kswapdRuns: number;
  oomKills: number;
  oomVictims: OomVictim[];
  /* start/end pairs that could not be recorded */
  lost: number;
}

/* Wall time of a bpf_ktime_get_ns() stamp, given ktime and wall time now. */
export function wallTime(ktimeNs: number, ktimeNowNs: number, now: Date): string {
  return new Date(now.getTime() - (ktimeNowNs - ktimeNs) / 1e6).toISOString();
}

function nameOf(r: RawShrinker, resolve: Resolver): { name: string; scanFunction: string | null; superblock: Shrinker['superblock'] } {
  const sym = r.info ? resolve(r.info.scanObjects) : null;
  const scanFunction = sym ? formatSymbol(sym) : null;
  const superblock = r.info && r.info.fsType ? { fsType: r.info.fsType, id: r.info.sbId } : null;
  const base = sym ? sym.function : '[unknown shrinker]';
  return { name: superblock ? `${base} (${superblock.fsType} ${superblock.id})` : base, scanFunction, superblock };
}

/* One row per shrinker (struct shrinker), its NUMA nodes summed; most freed first. */
export function shrinkerRows(raw: RawReclaim, resolve: Resolver, now: Date): Shrinker[] {
  const byShrinker = new Map<bigint, RawShrinker[]>();
  for (const r of raw.shrinkers) byShrinker.set(r.shrinker, [...(byShrinker.get(r.shrinker) ?? []), r]);
  const rows: Shrinker[] = [];
  for (const parts of byShrinker.values()) {
    const sum = (f: keyof RawShrinker['stats']) => parts.reduce((n, p) => n + p.stats[f], 0);
    const last = parts.reduce((a, b) => (b.stats.last_call_ns > a.stats.last_call_ns ? b : a));
    const freed = sum('freed');
    const requested = sum('requested');
    const timeNs = sum('time_ns');
    rows.push({
      ...nameOf(parts[0], resolve),
      calls: sum('calls'),
      objects: last.stats.objects_last,
      requested,
      scanned: sum('scanned'),
      freed,
      deferredIn: sum('deferred_in'),
      deferred: last.stats.deferred_last,
      timeNs,
      maxTimeNs: Math.max(...parts.map((p) => p.stats.max_time_ns)),
      nsPerFreed: freed > 0 ? Math.round(timeNs / freed) : null,
      lastCall: last.stats.last_call_ns ? wallTime(last.stats.last_call_ns, raw.ktimeNowNs, now) : null,
      freesLittle: requested >= STUBBORN_MIN_REQUESTED && freed < STUBBORN_MAX_FREED_SHARE * requested,
      nodes: parts
        .map((p) => ({ node: p.nid, calls: p.stats.calls, requested: p.stats.requested, freed: p.stats.freed }))
        .sort((a, b) => a.node - b.node),
    });
  }
  return rows.sort((a, b) => b.freed - a.freed || b.requested - a.requested || a.name.localeCompare(b.name));
}

/* Shrinkers asked much and freeing little, worst first (largest unfreed request). */
export function stubbornShrinkers(rows: Shrinker[]): Shrinker[] {
  return rows.filter((r) => r.freesLittle).sort((a, b) => b.requested - b.freed - (a.requested - a.freed));
}

function kind(k: ReclaimKindStats): ReclaimKind {
  return { count: k.count, stallNs: k.stall_ns, maxStallNs: k.max_stall_ns, reclaimedPages: k.reclaimed };
}

export function reclaimSummary(raw: RawReclaim, now: Date): Reclaim {
  const k = raw.state.kinds as Record<ReclaimKindKey, ReclaimKindStats>;
  return {
    direct: kind(k.direct),
    memcg: kind(k.memcg),
    node: kind(k.node),
    kswapdWakeups: raw.state.kswapdWakeups,
    kswapdRuns: raw.state.kswapdRuns,
    oomKills: raw.state.oomKills,
    oomVictims: raw.oomVictims.map((v) => ({
      pid: v.pid,
      comm: v.comm,
      uid: v.uid,
      time: wallTime(v.timeNs, raw.ktimeNowNs, now),
      memcg: v.memcg ? { path: v.memcgPath, figures: v.memcgFigures } : null,
      rssBytes: v.rssPages * 4096,
      request: v.request
        ? { ...v.request, gfp: decodeGfp(v.request.gfp, raw.gfpBits), hint: gfpHint(v.request.gfp, v.request.order, raw.gfpBits) }
        : null,
      compaction: v.compaction ? { ...v.compaction, lastResult: compactResultName(v.compaction.lastResult, raw.compactResults) } : null,
    })),
    lost: raw.state.lost,
  };
}
