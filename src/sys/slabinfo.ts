/*
 * /proc/slabinfo: how many objects each slab cache holds.  A cache cannot
 * have more live objects than slabinfo's active objects (SLUB counts the
 * objects sitting in per-CPU slabs as active too, so it is an upper bound),
 * which makes it a check on tracked live objects that missed their free.
 */
import * as fs from 'fs';

export interface SlabCache {
  name: string;
  activeObjects: number;
  totalObjects: number;
  objectSize: number;
  /* Memory of its slabs: slabs x pages per slab x 4 KiB (0 when slabinfo does not say). */
  memoryBytes: number;
}

const PAGE_SIZE = 4096;

/* Parse the text of /proc/slabinfo (version 2.1). Pure. */
export function parseSlabinfo(text: string): Map<string, SlabCache> {
  const out = new Map<string, SlabCache>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('slabinfo') || line.startsWith('#')) continue;
    const f = line.split(/\s+/);
    if (f.length < 4) continue;
    const [name, active, total, size] = f;
    const n = [active, total, size].map(Number);
    if (n.some((x) => !Number.isFinite(x))) continue;
    /* "... : slabdata <active_slabs> <num_slabs> <sharedavail>", pages per slab is field 5. */
    const sd = f.indexOf('slabdata');
    const pagesPerSlab = Number(f[5]);
    const slabs = sd > 0 ? Number(f[sd + 2]) : NaN;
    const memoryBytes = Number.isFinite(pagesPerSlab) && Number.isFinite(slabs) ? slabs * pagesPerSlab * PAGE_SIZE : 0;
    out.set(name, { name, activeObjects: n[0], totalObjects: n[1], objectSize: n[2], memoryBytes });
  }
  return out;
}

/* The slab caches now, or null when /proc/slabinfo cannot be read or names no cache (garbage, a private mount). */
export function readSlabinfo(path = '/proc/slabinfo'): Map<string, SlabCache> | null {
  try {
    const caches = parseSlabinfo(fs.readFileSync(path, 'utf8'));
    return caches.size ? caches : null;
  } catch {
    return null;
  }
}
