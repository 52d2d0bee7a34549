// SPDX-License-Identifier: GPL-2.0
/*
 * sweep.bpf.c - retire live entries whose slab is gone.
 *
 * Some frees fire no tracepoint (kmem_cache_free_bulk, kfree_bulk, the
 * sheaf and NAPI-cache paths), so their objects stay in the live table as
 * phantoms until the address is handed out again.  An object is certainly
 * dead when its address is no longer in a slab page, or lies in a slab of
 * another cache than the one it was allocated from.  This program walks
 * kmemtop.bpf.c's live table (array buckets, then the overflow hash), asks
 * the kernel which cache each address belongs to now (the kfunc
 * bpf_get_kmem_cache, Linux 6.13+) and retires the entries that cannot be
 * live: counted against their site as frees unseen, and as the loss cause
 * "slab gone".
 *
 * Never a live object: an object not freed stays in a slab page of its
 * cache.  kmalloc sites are keyed by size class, not cache (the tracepoint
 * names none), so for them "another cache" means a cache of another size;
 * large kmallocs (pages, no slab) are never checked.  Run by the host from
 * user space (BPF_PROG_TEST_RUN), off the per-event path.
 *
 * The maps are kmemtop.bpf.c's own (the host reuses their fds before
 * load): both objects take their definitions from live_maps.h.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include "kmemtop.h"
#include "live_maps.h"
#include "stamp.h"

char LICENSE[] SEC("license") = "GPL";

extern struct kmem_cache *bpf_get_kmem_cache(__u64 addr) __ksym;

/* Can the object at ptr, allocated at site, still be live? */
static __always_inline bool still_possible(__u64 ptr, __u32 site)
{
	struct site_key *key = bpf_map_lookup_elem(&site_keys, &site);
	struct kmem_cache *s;
	__u64 want;

	if (!key || !key->call_site)
		return true;  /* nothing to compare with: keep it */
	want = key->cache;
	if (!(want >> 32)) {
		if (want & (KMEMTOP_PAGE_SITE | KMEMTOP_PERCPU_SITE | KMEMTOP_VMALLOC_SITE))
			return true;  /* pages, percpu, vmalloc (and the full site): no slab to check */
		want &= KMEMTOP_KMALLOC_SIZE_MASK;  /* a kmalloc size (its cache type aside) */
		if (want > KMEMTOP_KMALLOC_MAX_CACHE_SIZE)
			return true;  /* a large kmalloc: pages, not a slab */
	}
	s = bpf_get_kmem_cache(ptr);
	if (!s)
		return false;  /* no longer a slab page */
	if (want >> 32)
		return (__u64)s == want;
	return s->size == want || s->object_size == want;
}

static __always_inline void retire(__u32 site, __u32 detail, struct kmemtop_sweep_stats *out)
{
	struct site_stats *st = bpf_map_lookup_elem(&site_stats, &site);
	struct detail_stats *ds;
	__u32 cause = KMEMTOP_LOST_SLAB_GONE;
	__u64 *n;

	/* --stacks/--by-*: the object's detail loses it too. */
	ds = detail ? bpf_map_lookup_elem(&detail_stats, &detail) : NULL;
	if (ds)
		__sync_fetch_and_add(&ds->frees, 1);

	/* Atomic: a tracepoint program interrupting this one on the CPU adds to the same counters. */
	if (st)
		__sync_fetch_and_add(&st->frees_unseen, 1);
	n = bpf_map_lookup_elem(&lost, &cause);
	if (n)
		__sync_fetch_and_add(n, 1);
	out->retired++;
}

/*
 * One bucket of the live table.  A slot is retired only as it was looked
 * at: its site is taken first (compare-and-exchange), then its address.  A
 * free or an allocation at the same address racing with this changes one of
 * them, and the slot is left to it (counted as raced).
 */
/* Age limits of the buckets of struct site_age, seconds (the last bucket: older). */
#define AGE_1 10
#define AGE_2 60
#define AGE_3 600

/* A live object of site allocated at stamp: counted by age (sweep.older_than and sweep.now set). */
static __always_inline void count_age(__u32 site, __u32 stamp, struct kmemtop_sweep_stats *out)
{
	struct site_age *a = bpf_map_lookup_elem(&site_ages, &site);
	__u32 age, b;

	if (!a || !stamp)
		return;
	age = out->now > stamp ? out->now - stamp : 0;
	b = age < AGE_1 ? 0 : age < AGE_2 ? 1 : age < AGE_3 ? 2 : 3;
	a->count[b & (KMEMTOP_AGE_BUCKETS - 1)]++;
	if (age >= out->older_than)
		a->older++;
	if (!a->oldest || stamp < a->oldest)
		a->oldest = stamp;
}

static __always_inline long sweep_bucket(struct bpf_map *map, __u32 *idx, struct live_bucket *bk, struct kmemtop_sweep_stats *out)
{
	/* Without details live_details has one element (never written): no bucket finds one but the first, all zero. */
	struct live_detail *details = bpf_map_lookup_elem(&live_details, idx);
	int w;

	for (w = 0; w < KMEMTOP_LIVE_WAYS; w++) {
		struct live_slot *sl = &bk->slot[w];
		__u64 p = sl->ptr;
		__u32 site = sl->site;
		__u32 detail = details ? details->detail[w] : 0;

		if (!p || !site)
			continue;
		out->examined++;
		if (still_possible(p, site)) {
			count_age(site, sl->stamp, out);
			continue;
		}
		if (__sync_val_compare_and_swap(&sl->site, site, 0) != site ||
		    __sync_val_compare_and_swap(&sl->ptr, p, 0) != p) {
			out->raced++;
			continue;
		}
		/* An allocation at p slipped in between the two: give its slot back. */
		if (sl->site && __sync_val_compare_and_swap(&sl->ptr, 0, p) != 0)
			out->raced++;
		retire(site, detail, out);
	}
	return 0;
}

/* One entry of the overflow hash (allocations whose bucket was full). */
static __always_inline long sweep_spilled(struct bpf_map *map, __u64 *key, struct live_value *ov, struct kmemtop_sweep_stats *out)
{
	struct kmemtop_state *g;
	__u64 ptr = *key;
	__u32 site = ov->site, detail = ov->detail, zero = 0;

	if (!site)
		return 0;
	out->examined++;
	if (still_possible(ptr, site)) {
		count_age(site, ov->stamp, out);
		return 0;
	}
	if (__sync_val_compare_and_swap(&ov->site, site, 0) != site || bpf_map_delete_elem(&live_overflow, &ptr)) {
		out->raced++;
		return 0;
	}
	g = bpf_map_lookup_elem(&state, &zero);
	if (g)
		__sync_fetch_and_add(&g->overflow_entries, -1);
	retire(site, detail, out);
	return 0;
}

/* Zero one site's ages (bpf_loop callback; the index is the site). */
static long zero_ages(__u64 i, void *unused)
{
	__u32 site = i;
	struct site_age *a = bpf_map_lookup_elem(&site_ages, &site);

	if (a)
		__builtin_memset(a, 0, sizeof(*a));
	return 0;
}

/*
 * The running counters of a sweep live in a map value, not on the stack:
 * the verifier tracks every stack slot of the caller as a constant per path
 * through the callbacks, and with counters there it explores each count as a
 * new state (1M instructions on some 6.18 builds); a map value's contents
 * are not tracked.  Per CPU: the test run keeps the program on one CPU
 * (migration disabled), so two readers sweeping at once on two CPUs do not
 * mix their counts.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct kmemtop_sweep_stats);
} sweep_run SEC(".maps");

/* The callbacks' context: only a pointer (to sweep_run's value) on the stack. */
struct sweep_ctx {
	struct kmemtop_sweep_stats *run;
};

static long sweep_bucket_cb(struct bpf_map *map, __u32 *idx, struct live_bucket *bk, struct sweep_ctx *c)
{
	return c->run ? sweep_bucket(map, idx, bk, c->run) : 1;
}

static long sweep_spilled_cb(struct bpf_map *map, __u64 *key, struct live_value *ov, struct sweep_ctx *c)
{
	return c->run ? sweep_spilled(map, key, ov, c->run) : 1;
}

/*
 * A syscall program, run by the host with BPF_PROG_TEST_RUN (iterator
 * programs, the tracing type, fail to load with EPERM on the kernels this
 * was built on, like fentry).  The context is the host's struct
 * kmemtop_sweep_stats, copied back when the run ends.
 */
SEC("syscall")
int kmemtop__sweep(struct kmemtop_sweep_stats *out)
{
	struct kmemtop_state *g;
	struct sweep_ctx c;
	__u32 zero = 0;

	c.run = bpf_map_lookup_elem(&sweep_run, &zero);
	if (!c.run)
		return 0;
	__builtin_memset(c.run, 0, sizeof(*c.run));
	c.run->older_than = out->older_than;
	c.run->now = stamp_seconds(out->hz);
	g = bpf_map_lookup_elem(&state, &zero);
	if (g)
		bpf_loop(g->next_site < (1 << 22) ? (__u32)g->next_site + 1 : 1 << 22, zero_ages, NULL, 0);
	bpf_for_each_map_elem(&live, sweep_bucket_cb, &c, 0);
	g = bpf_map_lookup_elem(&state, &zero);
	if (g && g->overflow_entries)
		bpf_for_each_map_elem(&live_overflow, sweep_spilled_cb, &c, 0);
	out->examined = c.run->examined;
	out->retired = c.run->retired;
	out->raced = c.run->raced;
	out->now = c.run->now;
	return 0;
}
