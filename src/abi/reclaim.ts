/*
 * Decoders for the structs of bpf/kmemtop.h that bpf/reclaim.bpf.c shares
 * with the host (shrinkers, reclaim, OOM victims).  Checked against the
 * object's BTF by test/abi.test.ts, like layout.ts.
 */
import { cString, defineStruct, readU64, StructLayout } from './struct';

export const FS_NAME_LEN = 16;
export const SB_ID_LEN = 32;
export const COMM_LEN = 16;
export const OOM_RING = 32;

export const RECLAIM_CONFIG = defineStruct('kmemtop_reclaim_config', [{ c: 'super_cache_scan', type: 'u64' }]);

export const SHRINKER_KEY = defineStruct('kmemtop_shrinker_key', [
  { c: 'shrinker', type: 'u64' },
  { c: 'nid', type: 'u32' },
  { c: 'pad', type: 'u32' },
]);

export const SHRINKER_STATS_FIELDS = [
  'calls',
  'ended',
  'objects_sum',
  'objects_last',
  'requested',
  'scanned',
  'freed',
  'deferred_in',
  'deferred_last',
  'time_ns',
  'max_time_ns',
  'last_call_ns',
] as const;
export type ShrinkerStats = Record<(typeof SHRINKER_STATS_FIELDS)[number], number>;
export const SHRINKER_STATS = defineStruct(
  'kmemtop_shrinker_stats',
  SHRINKER_STATS_FIELDS.map((c) => ({ c, type: 'u64' as const })),
);

export const SHRINKER_INFO = defineStruct('kmemtop_shrinker_info', [
  { c: 'scan_objects', type: 'u64' },
  { c: 'count_objects', type: 'u64' },
  { c: 'fs_type', type: { char: FS_NAME_LEN } },
  { c: 'sb_id', type: { char: SB_ID_LEN } },
]);

export const RECLAIM_KIND_FIELDS = ['count', 'ended', 'stall_ns', 'max_stall_ns', 'reclaimed'] as const;
export type ReclaimKindStats = Record<(typeof RECLAIM_KIND_FIELDS)[number], number>;
export const RECLAIM_KIND = defineStruct(
  'kmemtop_reclaim_kind',
  RECLAIM_KIND_FIELDS.map((c) => ({ c, type: 'u64' as const })),
);

/* enum kmemtop_reclaim: index -> JSON key. */
export const RECLAIM_KINDS = [
  { c: 'KMEMTOP_RECLAIM_DIRECT', key: 'direct' },
  { c: 'KMEMTOP_RECLAIM_MEMCG', key: 'memcg' },
  { c: 'KMEMTOP_RECLAIM_NODE', key: 'node' },
] as const;
export type ReclaimKindKey = (typeof RECLAIM_KINDS)[number]['key'];

export const RECLAIM_STATE = defineStruct('kmemtop_reclaim_state', [
  { c: 'kind', type: { array: RECLAIM_KIND, n: RECLAIM_KINDS.length } },
  { c: 'kswapd_wakeups', type: 'u64' },
  { c: 'kswapd_runs', type: 'u64' },
  { c: 'oom_kills', type: 'u64' },
  { c: 'lost', type: 'u64' },
]);

export const RECLAIM_REQUEST = defineStruct('kmemtop_reclaim_request', [
  { c: 'time_ns', type: 'u64' },
  { c: 'order', type: 'u32' },
  { c: 'gfp', type: 'u32' },
  { c: 'kind', type: 'u32' },
  { c: 'pid', type: 'u32' },
  { c: 'comm', type: { char: COMM_LEN } },
]);

export const COMPACTION = defineStruct('kmemtop_compaction', [
  { c: 'time_ns', type: 'u64' },
  { c: 'pid', type: 'u32' },
  { c: 'order', type: 'u32' },
  { c: 'tries', type: 'u32' },
  { c: 'zone_runs', type: 'u32' },
  { c: 'zone_successes', type: 'u32' },
  { c: 'zones_deferred', type: 'u32' },
  { c: 'last_result', type: 'u32' } /* __s32, read signed */,
  { c: 'pad', type: 'u32' },
]);

export const OOM_VICTIM = defineStruct('kmemtop_oom_victim', [
  { c: 'time_ns', type: 'u64' },
  { c: 'pid', type: 'u32' },
  { c: 'uid', type: 'u32' },
  { c: 'comm', type: { char: COMM_LEN } },
  { c: 'memcg', type: 'u64' },
  { c: 'rss_pages', type: 'u64' },
  { c: 'request', type: RECLAIM_REQUEST },
  { c: 'compaction', type: COMPACTION },
]);

function decodeU64Fields<T extends string>(layout: StructLayout, fields: readonly T[], buf: Buffer, off: number): Record<T, number> {
  const out = {} as Record<T, number>;
  for (const f of fields) out[f] = readU64(buf, off + layout.offsetOf(f));
  return out;
}

export function encodeReclaimConfig(superCacheScan: bigint): Buffer {
  const b = Buffer.alloc(RECLAIM_CONFIG.size);
  b.writeBigUInt64LE(superCacheScan, RECLAIM_CONFIG.offsetOf('super_cache_scan'));
  return b;
}

export function decodeShrinkerKey(buf: Buffer, off = 0): { shrinker: bigint; nid: number } {
  return { shrinker: buf.readBigUInt64LE(off + SHRINKER_KEY.offsetOf('shrinker')), nid: buf.readInt32LE(off + SHRINKER_KEY.offsetOf('nid')) };
}

export function decodeShrinkerStats(buf: Buffer, off = 0): ShrinkerStats {
  return decodeU64Fields(SHRINKER_STATS, SHRINKER_STATS_FIELDS, buf, off);
}

export interface ShrinkerInfo {
  scanObjects: bigint;
  countObjects: bigint;
  fsType: string;
  sbId: string;
}

export function decodeShrinkerInfo(buf: Buffer, off = 0): ShrinkerInfo {
  return {
    scanObjects: buf.readBigUInt64LE(off + SHRINKER_INFO.offsetOf('scan_objects')),
    countObjects: buf.readBigUInt64LE(off + SHRINKER_INFO.offsetOf('count_objects')),
    fsType: cString(buf, off + SHRINKER_INFO.offsetOf('fs_type'), FS_NAME_LEN),
    sbId: cString(buf, off + SHRINKER_INFO.offsetOf('sb_id'), SB_ID_LEN),
  };
}

export interface ReclaimState {
  kinds: Record<ReclaimKindKey, ReclaimKindStats>;
  kswapdWakeups: number;
  kswapdRuns: number;
  oomKills: number;
  lost: number;
}

export function decodeReclaimState(buf: Buffer, off = 0): ReclaimState {
  const base = off + RECLAIM_STATE.offsetOf('kind');
  const kinds = {} as Record<ReclaimKindKey, ReclaimKindStats>;
  RECLAIM_KINDS.forEach((k, i) => (kinds[k.key] = decodeU64Fields(RECLAIM_KIND, RECLAIM_KIND_FIELDS, buf, base + i * RECLAIM_KIND.size)));
  return {
    kinds,
    kswapdWakeups: readU64(buf, off + RECLAIM_STATE.offsetOf('kswapd_wakeups')),
    kswapdRuns: readU64(buf, off + RECLAIM_STATE.offsetOf('kswapd_runs')),
    oomKills: readU64(buf, off + RECLAIM_STATE.offsetOf('oom_kills')),
    lost: readU64(buf, off + RECLAIM_STATE.offsetOf('lost')),
  };
}

export interface OomVictimRaw {
  timeNs: number;
  pid: number;
  uid: number;
  comm: string;
  /* kernfs id of its memory cgroup; 0n: none */
  memcg: bigint;
  rssPages: number;
  /* The last reclaim entered on the CPU of the kill, within a second before it; null: none. */
  request: { order: number; gfp: number; kind: string; pid: number; comm: string } | null;
  /* Direct compaction by that request's task for its order, within a second before the kill; null: none seen. */
  compaction: CompactionRaw | null;
}

export interface CompactionRaw {
  tries: number;
  zoneRuns: number;
  zoneSuccesses: number;
  zonesDeferred: number;
  /* enum compact_result of the last zone run; -1: none ran */
  lastResult: number;
}

export function decodeOomVictim(buf: Buffer, off = 0): OomVictimRaw {
  return {
    timeNs: readU64(buf, off + OOM_VICTIM.offsetOf('time_ns')),
    pid: buf.readUInt32LE(off + OOM_VICTIM.offsetOf('pid')),
    uid: buf.readUInt32LE(off + OOM_VICTIM.offsetOf('uid')),
    comm: cString(buf, off + OOM_VICTIM.offsetOf('comm'), COMM_LEN),
    memcg: buf.readBigUInt64LE(off + OOM_VICTIM.offsetOf('memcg')),
    rssPages: readU64(buf, off + OOM_VICTIM.offsetOf('rss_pages')),
    request: decodeRequest(buf, off + OOM_VICTIM.offsetOf('request')),
    compaction: decodeCompaction(buf, off + OOM_VICTIM.offsetOf('compaction')),
  };
}

function decodeCompaction(buf: Buffer, off: number): CompactionRaw | null {
  if (readU64(buf, off + COMPACTION.offsetOf('time_ns')) === 0) return null;
  const u32 = (f: string) => buf.readUInt32LE(off + COMPACTION.offsetOf(f));
  return {
    tries: u32('tries'),
    zoneRuns: u32('zone_runs'),
    zoneSuccesses: u32('zone_successes'),
    zonesDeferred: u32('zones_deferred'),
    lastResult: buf.readInt32LE(off + COMPACTION.offsetOf('last_result')),
  };
}

function decodeRequest(buf: Buffer, off: number): OomVictimRaw['request'] {
  if (readU64(buf, off + RECLAIM_REQUEST.offsetOf('time_ns')) === 0) return null;
  const kind = buf.readUInt32LE(off + RECLAIM_REQUEST.offsetOf('kind'));
  return {
    order: buf.readUInt32LE(off + RECLAIM_REQUEST.offsetOf('order')),
    gfp: buf.readUInt32LE(off + RECLAIM_REQUEST.offsetOf('gfp')),
    kind: RECLAIM_KINDS[kind]?.key ?? `kind ${kind}`,
    pid: buf.readUInt32LE(off + RECLAIM_REQUEST.offsetOf('pid')),
    comm: cString(buf, off + RECLAIM_REQUEST.offsetOf('comm'), COMM_LEN),
  };
}
