/*
 * What kmemtop's BPF objects need of a kernel: the tracepoints they attach
 * to, and the facts about the running kernel that decide which of their
 * parts can run (read by sys/features.ts, judged by model/features.ts).
 */

/* Facts read from the kernel (its BTF), all that the features below depend on. */
export interface KernelFacts {
  /* uname release, e.g. 6.12.118+deb13-cloud-amd64. */
  release: string;
  /* Kfuncs present. */
  kfuncs: { rdonlyCast: boolean; getKmemCache: boolean };
  /* Tracepoints present (raw_tp/tp_btf: typedef btf_trace_NAME), by name. */
  tracepoints: Record<string, boolean>;
  /* &runqueues - &__preempt_count in the per-CPU section; 0: unknown. */
  preemptCountDelta: number;
  /* struct cfs_rq has its back-pointer to the runqueue (CONFIG_FAIR_GROUP_SCHED). */
  cfsRqHasRq: boolean;
}

/* The tracepoints each optional part needs (the core four slab tracepoints are not optional). */
export const FEATURE_TRACEPOINTS = {
  vmalloc: ['alloc_vmap_area', 'free_vmap_area_noflush'],
  percpu: ['percpu_alloc_percpu', 'percpu_free_percpu'],
  pages: ['mm_page_alloc', 'mm_page_free'],
  shrinkers: ['mm_shrink_slab_start', 'mm_shrink_slab_end'],
  oom: ['mark_victim'],
  compaction: ['mm_compaction_end'],
} as const;

export const CORE_TRACEPOINTS = ['kmalloc', 'kfree', 'kmem_cache_alloc', 'kmem_cache_free'] as const;

export function allTracepoints(): string[] {
  return [...CORE_TRACEPOINTS, ...Object.values(FEATURE_TRACEPOINTS).flat()];
}
