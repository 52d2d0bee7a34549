/*
 * /proc/meminfo: slab against LRU memory (the verdict on it is
 * memoryVerdict() in model/memreport.ts).
 */
import * as fs from 'fs';

export interface MemInfo {
  totalKb: number;
  slabReclaimableKb: number;
  slabUnreclaimableKb: number;
  lruAnonKb: number;
  lruFileKb: number;
  /* The rest of the kernel's own accounting (0 when a kernel lacks the line). */
  freeKb?: number;
  unevictableKb?: number;
  kernelStackKb?: number;
  /* PageTables + SecPageTables */
  pageTablesKb?: number;
  vmallocUsedKb?: number;
  percpuKb?: number;
  /* KReclaimable less SReclaimable: other reclaimable kernel memory */
  kernelOtherReclaimableKb?: number;
  hugetlbKb?: number;
  zswapKb?: number;
  balloonKb?: number;
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
    freeKb: get('MemFree'),
    unevictableKb: get('Unevictable'),
    kernelStackKb: get('KernelStack'),
    pageTablesKb: get('PageTables') + get('SecPageTables'),
    vmallocUsedKb: get('VmallocUsed'),
    percpuKb: get('Percpu'),
    kernelOtherReclaimableKb: Math.max(0, get('KReclaimable') - get('SReclaimable')),
    hugetlbKb: get('Hugetlb'),
    zswapKb: get('Zswap'),
    balloonKb: get('Balloon'),
  };
}

export function readMeminfo(path = '/proc/meminfo'): MemInfo | null {
  try {
    return parseMeminfo(fs.readFileSync(path, 'utf8'));
  } catch {
    return null;
  }
}
