/*
 * /proc/meminfo: slab against LRU memory, and the plain verdict kmemtop
 * shows in its header ("slab dominates: look in the kernel").
 */
import * as fs from 'fs';

export interface MemInfo {
  totalKb: number;
  slabReclaimableKb: number;
  slabUnreclaimableKb: number;
  lruAnonKb: number;
  lruFileKb: number;
}

/* Parse the text of /proc/meminfo. Pure. */
export function parseMeminfo(text: string): MemInfo {
  const v = new Map<string, number>();
  for (const line of text.split('\n')) {
    const m = /^([\w()]+):\s+(\d+)/.exec(line);
    if (m) v.set(m[1], Number(m[2]));
  }
  const get = (k: string) => v.get(k) ?? 0;
  return {
    totalKb: get('MemTotal'),
    slabReclaimableKb: get('SReclaimable'),
    slabUnreclaimableKb: get('SUnreclaim'),
    lruAnonKb: get('Active(anon)') + get('Inactive(anon)'),
    lruFileKb: get('Active(file)') + get('Inactive(file)'),
  };
}

export function readMeminfo(path = '/proc/meminfo'): MemInfo | null {
  try {
    return parseMeminfo(fs.readFileSync(path, 'utf8'));
  } catch {
    return null;
  }
}

export interface Verdict {
  slabKb: number;
  lruKb: number;
  /* Share of slab + LRU that the larger of the two holds, 0..1. */
  share: number;
  text: string;
}

/* Which dominates, slab (kernel objects) or LRU (user and page cache memory). Pure. */
export function verdict(m: MemInfo): Verdict {
  const slabKb = m.slabReclaimableKb + m.slabUnreclaimableKb;
  const lruKb = m.lruAnonKb + m.lruFileKb;
  const both = slabKb + lruKb;
  if (both === 0) return { slabKb, lruKb, share: 0, text: 'no slab or LRU memory reported' };
  const slab = slabKb > lruKb;
  const share = (slab ? slabKb : lruKb) / both;
  const pct = Math.round(100 * share);
  return {
    slabKb,
    lruKb,
    share,
    text: slab ? `slab dominates (${pct}%): look in the kernel` : `LRU dominates (${pct}%): likely user space`,
  };
}
