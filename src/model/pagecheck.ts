/*
 * --pages against the kernel's own accounting: what the traced page,
 * slab-page and vmalloc figures say grew since tracing began, next to what
 * /proc/meminfo's matching line grew by over the same time.  Pure.
 *
 * Traced live figures count what was allocated since tracing began and is
 * still held; pages allocated before and freed since are not subtracted
 * (their allocation was never seen).  So a traced figure is the growth when
 * the machine freed no older memory of that kind, and above it by what it
 * did free; below it only when something allocates those pages without
 * the events traced (the check's point).
 */
import type { MemInfo } from '../sys/meminfo';

/* Page sites that allocate page tables (x86 and generic names across recent kernels). */
export const PAGE_TABLE_FNS = /^(pte_alloc_one|__pte_alloc|__pmd_alloc|__pud_alloc|__p4d_alloc|pgd_alloc|pagetable_alloc|pmd_alloc_one|pud_alloc_one|p4d_alloc_one)/;

export interface PageCheckRow {
  what: 'slab pages' | 'vmalloc' | 'page tables';
  meminfoLine: string;
  /* Allocated since tracing began and still live, bytes (an estimate under sampling). */
  tracedBytes: number;
  /* The meminfo line now less at the start, bytes (may be negative). */
  meminfoGrowthBytes: number;
  /* tracedBytes was scaled from a sample. */
  estimate: boolean;
}

interface Input {
  sites: { allocator: string; function: string; liveBytes: number }[];
  slabPages: { liveBytes: number } | null;
  sampleOneIn: number;
}

export function pageCheck(snap: Input, start: MemInfo, now: MemInfo): PageCheckRow[] {
  const kb = (f: (m: MemInfo) => number | undefined) => ((f(now) ?? 0) - (f(start) ?? 0)) * 1024;
  const sum = (pred: (s: Input['sites'][number]) => boolean) => snap.sites.filter(pred).reduce((n, s) => n + s.liveBytes, 0);
  const estimate = snap.sampleOneIn > 1;
  return [
    {
      what: 'slab pages',
      meminfoLine: 'Slab',
      tracedBytes: snap.slabPages?.liveBytes ?? 0,
      meminfoGrowthBytes: kb((m) => m.slabReclaimableKb + m.slabUnreclaimableKb),
      estimate,
    },
    { what: 'vmalloc', meminfoLine: 'VmallocUsed', tracedBytes: sum((s) => s.allocator === 'vmalloc'), meminfoGrowthBytes: kb((m) => m.vmallocUsedKb), estimate },
    {
      what: 'page tables',
      meminfoLine: 'PageTables',
      tracedBytes: sum((s) => s.allocator === 'page' && PAGE_TABLE_FNS.test(s.function)),
      meminfoGrowthBytes: kb((m) => m.pageTablesKb),
      estimate,
    },
  ];
}
