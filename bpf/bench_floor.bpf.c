// SPDX-License-Identifier: GPL-2.0
/*
 * bench_floor.bpf.c - empty programs on the four slab tracepoints, for
 * scripts/bench-overhead: the cost of running any program there at all
 * (the dispatch floor), against which kmemtop's own work is measured.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "GPL";

SEC("raw_tp/kmalloc")
int BPF_PROG(kmemtop__floor_kmalloc) { return 0; }

SEC("raw_tp/kmem_cache_alloc")
int BPF_PROG(kmemtop__floor_cache_alloc) { return 0; }

SEC("raw_tp/kfree")
int BPF_PROG(kmemtop__floor_kfree) { return 0; }

SEC("raw_tp/kmem_cache_free")
int BPF_PROG(kmemtop__floor_cache_free) { return 0; }
