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
  /*
   * Its memory cgroup: the path ("/" the root; null when unknown), and its
   * figures (null when gone): at the kill, from the kernel's own OOM report
   * when it was a memory cgroup OOM and the log had it ("kill"), else read
   * when the report was made ("after": without the victim's memory).
   */
  memcg?: { path: string | null; figures: MemcgFigures | null; figuresWhen?: 'kill' | 'after'; oom?: boolean } | null;
  /* Its resident pages at the kill (file + anon + shmem), bytes, approximate. */
  rssBytes?: number;
  /*
   * The allocation the kill served: from the kernel's own OOM report
   * (source "kernel": its gfp_mask and order, as dmesg says), else inferred
   * from the last reclaim entered on the CPU of the kill within a second
   * before it (source "reclaim": memcg reclaim reports GFP_HIGHUSER_MOVABLE
   * whatever the charge's flags, so those are the reclaim's, not the request's).
   */
  request?: { order: number; gfp: string; gfpMask?: number; hint: string; kind: string; pid: number | null; comm: string; source?: 'kernel' | 'reclaim' } | null;
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

/*
 * The cgroup figures: for a memory cgroup OOM, the kernel's at the kill, of
 * the cgroup whose limit was hit (the victim's or a parent of it); else the
 * victim's cgroup read after the kill.
 */
function memcgOf(v: RawReclaim['oomVictims'][number]): NonNullable<OomVictim['memcg']> {
  const k = v.kernelReport?.memcg;
  const oom = v.kernelReport ? v.kernelReport.constraint === 'CONSTRAINT_MEMCG' : undefined;
  if (k) {
    const { usageBytes, limitBytes, kmemBytes, anonBytes, fileBytes } = k;
    return { path: k.path ?? v.memcgPath, figures: { usageBytes, limitBytes, kmemBytes, anonBytes, fileBytes }, figuresWhen: 'kill', oom };
  }
  return { path: v.memcgPath, figures: v.memcgFigures, figuresWhen: 'after', oom };
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
      memcg: v.memcg ? memcgOf(v) : null,
      rssBytes: v.rssPages * 4096,
      request: v.kernelReport
        ? {
            order: v.kernelReport.order,
            gfp: v.kernelReport.gfpText.replace(/^0x[0-9a-f]+\((.*)\)$/, '$1'),
            gfpMask: v.kernelReport.gfpMask,
            hint: gfpHint(v.kernelReport.gfpMask, v.kernelReport.order, raw.gfpBits),
            kind: v.kernelReport.constraint === 'CONSTRAINT_MEMCG' ? 'memcg' : v.request?.kind ?? 'direct',
            pid: v.request && v.request.comm === v.kernelReport.requester ? v.request.pid : null,
            comm: v.kernelReport.requester,
            source: 'kernel' as const,
          }
        : v.request
          ? { ...v.request, gfp: decodeGfp(v.request.gfp, raw.gfpBits), gfpMask: v.request.gfp, hint: gfpHint(v.request.gfp, v.request.order, raw.gfpBits), source: 'reclaim' as const }
          : null,
      compaction: v.compaction ? { ...v.compaction, lastResult: compactResultName(v.compaction.lastResult, raw.compactResults) } : null,
    })),
    lost: raw.state.lost,
  };
}
