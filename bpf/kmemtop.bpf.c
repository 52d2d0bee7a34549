// SPDX-License-Identifier: GPL-2.0
/*
 * kmemtop.bpf.c - per-call-site slab accounting, aggregated in the kernel.
 *
 * Programs are tp_btf: called directly from the tracepoint (no perf-event
 * dispatch) and guarded per program, so a free in an interrupt that lands
 * while an allocation program runs on the same CPU is still seen.  A run
 * skipped by that guard is counted by the kernel in
 * bpf_prog_info.recursion_misses, which the host reads and reports.
 *
 * Every map is preallocated (hash maps are by default): a map that allocated
 * inside a kmalloc/kfree hook would recurse into the allocator.  The host
 * sizes the maps between open and load.
 *
 * Tracepoint argument lists are those of Linux 6.2+ (kmem_cache_alloc and
 * kmem_cache_free carry the struct kmem_cache since commit 2c1d697fb8ba
 * "mm/slab_common: drop kmem_alloc & avoid dereferencing fields when not
 * using", Linux 6.2).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "kmemtop.h"

#define ZERO_SIZE_PTR 16
#define E2BIG 7
#define ENOMEM 12
#define EEXIST 17

char LICENSE[] SEC("license") = "GPL";

/* Object address -> the site that allocated it and its size. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1 << 20);
	__type(key, __u64);
	__type(value, struct live_alloc);
} live SEC(".maps");

/* Call site (and cache) -> counters, per CPU. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 16384);
	__type(key, struct site_key);
	__type(value, struct site_stats);
} sites SEC(".maps");

/* struct kmem_cache pointer -> name and sizes, filled when a site is new. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct cache_info);
} caches SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, KMEMTOP_LOST_MAX);
	__type(key, __u32);
	__type(value, __u64);
} lost SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, KMEMTOP_CNT_MAX);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

static const struct site_stats zero_stats;

static __always_inline void bump(void *map, __u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(map, &idx);

	if (v)
		__sync_fetch_and_add(v, 1);
}

/* Find the site's counters, creating them (and the cache's name) on first use. */
static __always_inline struct site_stats *
site_get(const struct site_key *key, const struct kmem_cache *s)
{
	struct site_stats *st;
	long err;

	st = bpf_map_lookup_elem(&sites, key);
	if (st)
		return st;
	err = bpf_map_update_elem(&sites, key, &zero_stats, BPF_NOEXIST);
	if (err && err != -EEXIST) {
		bump(&lost, KMEMTOP_LOST_SITES_FULL);
		return NULL;
	}
	if (!err && s) {
		struct cache_info info = {};
		__u64 ck = key->cache;

		bpf_probe_read_kernel_str(info.name, sizeof(info.name), s->name);
		info.object_size = s->object_size;
		info.size = s->size;
		bpf_map_update_elem(&caches, &ck, &info, BPF_NOEXIST);
	}
	st = bpf_map_lookup_elem(&sites, key);
	if (!st)
		bump(&lost, KMEMTOP_LOST_SITES_FULL);
	return st;
}

/*
 * An allocation returned an address that is still in the live map: the old
 * object was freed by a path that fires no free tracepoint (bulk frees,
 * per-CPU caches) or by a run the recursion guard skipped.  Retire it
 * against its own site, and count it.
 */
static __always_inline void retire_unseen(__u64 ptr, const struct live_alloc *nv)
{
	struct live_alloc *old, copy;
	struct site_stats *st;

	old = bpf_map_lookup_elem(&live, &ptr);
	if (!old) {
		/* Freed meanwhile on another CPU: just insert. */
		if (bpf_map_update_elem(&live, &ptr, nv, BPF_NOEXIST))
			bump(&lost, KMEMTOP_LOST_LIVE_UPDATE);
		return;
	}
	copy = *old;
	if (bpf_map_update_elem(&live, &ptr, nv, BPF_EXIST)) {
		bump(&lost, KMEMTOP_LOST_LIVE_UPDATE);
		return;
	}
	bump(&lost, KMEMTOP_LOST_FREE_UNSEEN);
	st = bpf_map_lookup_elem(&sites, &copy.site);
	if (!st) {
		bump(&lost, KMEMTOP_LOST_SITE_MISSING);
		return;
	}
	__sync_fetch_and_add(&st->frees_unseen, 1);
	__sync_fetch_and_add(&st->unseen_bytes, copy.bytes_alloc);
}

static __always_inline void on_alloc(__u64 call_site, __u64 ptr, __u64 bytes_req,
				     __u64 bytes_alloc, const struct kmem_cache *s)
{
	struct site_key key = { .call_site = call_site, .cache = (__u64)s };
	struct live_alloc la;
	struct site_stats *st;
	long err;

	if (ptr == ZERO_SIZE_PTR) {
		bump(&counters, KMEMTOP_CNT_ZERO_ALLOCS);
		return;
	}
	st = site_get(&key, s);
	if (!st)
		return;
	if (!ptr) {
		__sync_fetch_and_add(&st->failed_allocs, 1);
		return;
	}
	__sync_fetch_and_add(&st->allocs, 1);
	__sync_fetch_and_add(&st->bytes_req, bytes_req);
	__sync_fetch_and_add(&st->bytes_alloc, bytes_alloc);

	la.site = key;
	la.bytes_req = bytes_req;
	la.bytes_alloc = bytes_alloc;
	err = bpf_map_update_elem(&live, &ptr, &la, BPF_NOEXIST);
	if (!err)
		return;
	if (err == -EEXIST) {
		retire_unseen(ptr, &la);
		return;
	}
	bump(&lost, (err == -E2BIG || err == -ENOMEM) ? KMEMTOP_LOST_LIVE_FULL
						       : KMEMTOP_LOST_LIVE_UPDATE);
	__sync_fetch_and_add(&st->untracked_allocs, 1);
	__sync_fetch_and_add(&st->untracked_bytes, bytes_alloc);
}

static __always_inline void on_free(__u64 ptr)
{
	struct live_alloc *la, copy;
	struct site_stats *st;

	if (ptr <= ZERO_SIZE_PTR) {
		bump(&counters, KMEMTOP_CNT_NULL_FREES);
		return;
	}
	la = bpf_map_lookup_elem(&live, &ptr);
	if (!la) {
		bump(&lost, KMEMTOP_LOST_UNTRACKED_FREE);
		return;
	}
	copy = *la;
	/* Whoever deletes the entry owns the free: no double count on a race. */
	if (bpf_map_delete_elem(&live, &ptr))
		return;
	st = bpf_map_lookup_elem(&sites, &copy.site);
	if (!st) {
		bump(&lost, KMEMTOP_LOST_SITE_MISSING);
		return;
	}
	__sync_fetch_and_add(&st->frees, 1);
	__sync_fetch_and_add(&st->freed_bytes, copy.bytes_alloc);
}

SEC("tp_btf/kmalloc")
int BPF_PROG(kmemtop__kmalloc, unsigned long call_site, const void *ptr,
	     size_t bytes_req, size_t bytes_alloc, gfp_t gfp_flags, int node)
{
	on_alloc(call_site, (__u64)ptr, bytes_req, bytes_alloc, NULL);
	return 0;
}

SEC("tp_btf/kmem_cache_alloc")
int BPF_PROG(kmemtop__kmem_cache_alloc, unsigned long call_site, const void *ptr,
	     struct kmem_cache *s, gfp_t gfp_flags, int node)
{
	on_alloc(call_site, (__u64)ptr, s->object_size, s->size, s);
	return 0;
}

SEC("tp_btf/kfree")
int BPF_PROG(kmemtop__kfree, unsigned long call_site, const void *ptr)
{
	on_free((__u64)ptr);
	return 0;
}

SEC("tp_btf/kmem_cache_free")
int BPF_PROG(kmemtop__kmem_cache_free, unsigned long call_site, const void *ptr,
	     const struct kmem_cache *s)
{
	on_free((__u64)ptr);
	return 0;
}
