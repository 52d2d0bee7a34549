/*
 * What grew in the minutes before an OOM kill (pure): per call site and per
 * slab cache, live bytes gained over the last 1, 5 and 15 minutes, from the
 * snapshots watch --on-oom keeps in memory (timeline/format.ts FrameRing).
 * Live bytes are the estimates (a phantom object is neither held nor gained).
 */
import type { Snapshot } from './snapshot';
import type { Site } from './site';
import { formatSymbol } from '../sys/kallsyms';

export const PRE_HISTORY_MINUTES = [1, 5, 15] as const;
const TOP = 10;

export interface GrowthRow {
  /* The call site ("do_eventfd+0x34") or the cache. */
  what: string;
  cache: string;
  /* Live bytes gained over each window of PRE_HISTORY_MINUTES; null: the history does not reach that far. */
  grewBytes: (number | null)[];
  liveBytes: number;
}

export interface PreHistory {
  minutes: number[];
  /* How far back the history reaches (ms before the kill). */
  spanMs: number;
  sites: GrowthRow[];
  caches: GrowthRow[];
  /* The timeline written beside the report, or null. */
  timeline: string | null;
}

const est = (s: Site) => (s.liveObjectsUpperBound ? s.liveBytesEstimate : s.liveBytes);

/*
 * now: the snapshot at the kill; at(ms): the snapshot of the history that
 * many ms before it (the nearest at or before that time), or null when the
 * history does not reach that far.
 */
export function preHistory(now: Snapshot, past: (msBefore: number) => Snapshot | null, spanMs: number, timeline: string | null = null): PreHistory {
  const minutes = [...PRE_HISTORY_MINUTES];
  const then = minutes.map((m) => (m * 60_000 <= spanMs + 5000 ? past(m * 60_000) : null));
  const bySite = (snap: Snapshot) => {
    const out = new Map<string, number>();
    for (const s of snap.sites) out.set(`${formatSymbol(s)}\0${s.cache}`, (out.get(`${formatSymbol(s)}\0${s.cache}`) ?? 0) + est(s));
    return out;
  };
  const byCache = (snap: Snapshot) => {
    const out = new Map<string, number>();
    for (const s of snap.sites) out.set(s.cache, (out.get(s.cache) ?? 0) + est(s));
    return out;
  };
  const rows = (of: (s: Snapshot) => Map<string, number>, label: (k: string) => { what: string; cache: string }): GrowthRow[] => {
    const cur = of(now);
    const olds = then.map((t) => (t ? of(t) : null));
    const out: GrowthRow[] = [];
    for (const [k, v] of cur) {
      const grew = olds.map((o) => (o ? v - (o.get(k) ?? 0) : null));
      out.push({ ...label(k), grewBytes: grew, liveBytes: v });
    }
    /* Ranked by the longest window the history reaches. */
    const w = then.map((t) => t !== null).lastIndexOf(true);
    return w < 0 ? [] : out.filter((r) => (r.grewBytes[w] ?? 0) > 0).sort((a, b) => (b.grewBytes[w] ?? 0) - (a.grewBytes[w] ?? 0)).slice(0, TOP);
  };
  return {
    minutes,
    spanMs,
    sites: rows(bySite, (k) => {
      const [what, cache] = k.split('\0');
      return { what, cache };
    }),
    caches: rows(byCache, (k) => ({ what: k, cache: k })),
    timeline,
  };
}
