/*
 * SLUB merges caches of the same size and flags, and the kmem tracepoints
 * name the cache merged into: UNIX sockets appear as signal_cache, TCP
 * fclone skbs as pool_workqueue.  /sys/kernel/slab says which caches share
 * a slab: each merged cache's name is a symlink to the same directory (a
 * unique ":0001152"-style name).  Reading it needs no privilege; nothing
 * is followed, only the links are read.
 */
import * as fs from 'fs';
import * as path from 'path';

export interface SlabEntry {
  name: string;
  /* The directory a symlink names (basename), or null for a directory. */
  target: string | null;
}

/*
 * Pure: for each cache name, the other names of its slab (sorted; the
 * unique ":..." directory names left out).  Caches no one merged into are
 * absent.
 */
export function aliasMap(entries: SlabEntry[]): Map<string, string[]> {
  const groups = new Map<string, string[]>();
  for (const e of entries) {
    const dir = e.target ?? e.name;
    if (e.name.startsWith(':')) continue;
    const g = groups.get(dir) ?? [];
    g.push(e.name);
    groups.set(dir, g);
  }
  const out = new Map<string, string[]>();
  for (const names of groups.values()) {
    if (names.length < 2) continue;
    names.sort();
    for (const n of names) out.set(n, names.filter((x) => x !== n));
  }
  return out;
}

/* /sys/kernel/slab as entries, or null when it cannot be read (no SLUB sysfs). */
export function readSlabEntries(dir = '/sys/kernel/slab'): SlabEntry[] | null {
  try {
    return fs.readdirSync(dir, { withFileTypes: true }).map((d) => ({
      name: d.name,
      target: d.isSymbolicLink() ? path.basename(fs.readlinkSync(path.join(dir, d.name))) : null,
    }));
  } catch {
    return null;
  }
}

export interface SlabNames {
  /* Other names of each cache's slab (aliasMap). */
  aliases: Map<string, string[]>;
  /*
   * Caches whose objects the shrinkers free under memory pressure
   * (SLAB_RECLAIM_ACCOUNT: dentries, inodes, ...): their growth is cache,
   * not a leak, until proven otherwise.  By every name of the slab.
   */
  reclaimable: Set<string>;
}

/* Pure: every name whose slab directory has reclaim_account 1. */
export function reclaimableNames(entries: SlabEntry[], reclaimDirs: Set<string>): Set<string> {
  const out = new Set<string>();
  for (const e of entries) if (!e.name.startsWith(':') && reclaimDirs.has(e.target ?? e.name)) out.add(e.name);
  return out;
}

export function readSlabNames(dir = '/sys/kernel/slab'): SlabNames | null {
  const entries = readSlabEntries(dir);
  if (!entries) return null;
  const reclaimDirs = new Set<string>();
  for (const e of entries) {
    if (e.target !== null) continue;
    try {
      if (fs.readFileSync(path.join(dir, e.name, 'reclaim_account'), 'utf8').trim() === '1') reclaimDirs.add(e.name);
    } catch {
      /* unreadable: counted as not reclaimable */
    }
  }
  return { aliases: aliasMap(entries), reclaimable: reclaimableNames(entries, reclaimDirs) };
}

/* Words of a name, for matching a cache alias to a function: "damon_split_region_at" -> damon, split, region, at. */
function words(name: string): string[] {
  return name
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((w) => w && !/^\d+$/.test(w));
}

/* Words that say nothing about which alias a function allocates from. */
const GENERIC = new Set(['cache', 'caches', 'kmem', 'struct', 'slab', 'node', 'obj', 'objs']);

/*
 * Pure: the alias of cache a site's function most likely allocates from --
 * every distinctive word of the alias appears in the function's name
 * (damon_region for damon_split_region_at) -- or null.
 */
export function matchingAlias(fn: string, aliases: string[]): string | null {
  const fw = new Set(words(fn));
  let best: string | null = null;
  let bestScore = 0;
  for (const a of aliases) {
    const aw = words(a).filter((w) => !GENERIC.has(w));
    if (aw.length === 0 || !aw.every((w) => fw.has(w) || fw.has(`${w}s`))) continue;
    if (aw.length > bestScore) {
      best = a;
      bestScore = aw.length;
    }
  }
  return best;
}

/*
 * Pure: how a site's cache is shown in text and the live view: the cache
 * itself when nothing merged into it; the name (the cache's or an alias's)
 * that matches the function, else one that matches a frame of its stacks
 * (--stacks: sk_prot_alloc's caller unix_create1 names UNIX), innermost
 * first; else the group, never one name of it: "signal_cache|UNIX|+1" (the
 * cache the kernel names, one alias, how many more; all of them are in JSON
 * and the detail pane; boot with slab_nomerge to see them apart).
 */
export function cacheLabel(cache: string, fn: string, aliases: string[] | undefined, frames: readonly string[] = []): string {
  if (!aliases || aliases.length === 0) return cache;
  const names = [cache, ...aliases];
  for (const f of [fn, ...frames]) {
    const m = matchingAlias(f, names);
    if (m) return m;
  }
  return aliases.length === 1 ? `${cache}|${aliases[0]}` : `${cache}|${aliases[0]}|+${aliases.length - 1}`;
}
