// SPDX-License-Identifier: GPL-2.0
/*
 * reclaim.bpf.c - what each shrinker was asked to free and what it freed,
 * reclaim stalls, kswapd wake-ups and OOM kills.
 *
 * These events are rare next to allocations, so plain hash maps and atomic
 * adds do.  raw_tp programs: the arguments arrive as plain integers, fields
 * are read with CO-RE probe reads.  A shrinker is keyed by its struct
 * shrinker pointer and NUMA node; the vmscan tracepoints carry no name, so
 * the host names it by its scan function (and for superblock shrinkers,
 * by the file system and device read here).
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "kmemtop.h"

char LICENSE[] SEC("license") = "GPL";

const volatile struct kmemtop_reclaim_config reclaim_config SEC(".rodata.config") = {};
const volatile enum kmemtop_reclaim kmemtop_abi_reclaim = KMEMTOP_RECLAIM_MAX;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct kmemtop_shrinker_key);
	__type(value, struct kmemtop_shrinker_stats);
} shrinkers SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct kmemtop_shrinker_info);
} shrinker_infos SEC(".maps");

/* A call in progress, by thread: when it started and what it was asked. */
struct shrink_call {
	struct kmemtop_shrinker_key key;
	__u64 start_ns;
	__u64 total_scan;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, __u32);
	__type(value, struct shrink_call);
} shrink_calls SEC(".maps");

/* Reclaim in progress, by thread and kind: start time. */
struct reclaim_call_key {
	__u32 tid;
	__u32 kind;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, struct reclaim_call_key);
	__type(value, __u64);
} reclaim_calls SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct kmemtop_reclaim_state);
} reclaim SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, KMEMTOP_OOM_RING);
	__type(key, __u32);
	__type(value, struct kmemtop_oom_victim);
} oom_victims SEC(".maps");

static __always_inline struct kmemtop_reclaim_state *state(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&reclaim, &zero);
}

static __always_inline void count_lost(void)
{
	struct kmemtop_reclaim_state *r = state();

	if (r)
		__sync_fetch_and_add(&r->lost, 1);
}

/* Raise *p to v: two compare-and-exchange tries, enough for these rare events. */
static __always_inline void atomic_max(__u64 *p, __u64 v)
{
	__u64 old = *p;

	if (v <= old || __sync_val_compare_and_swap(p, old, v) == old)
		return;
	old = *p;
	if (v > old)
		__sync_val_compare_and_swap(p, old, v);
}

/*
 * An mm's resident pages before Linux 6.2: a struct of atomic counters
 * (struct mm_rss_stat), since then an array of percpu_counters (CO-RE
 * flavors; the branch the running kernel lacks is never taken).
 */
struct mm_rss_stat___old {
	atomic_long_t count[NR_MM_COUNTERS];
} __attribute__((preserve_access_index));

struct mm_struct___old_rss {
	struct mm_rss_stat___old rss_stat;
} __attribute__((preserve_access_index));

/* The superblock before Linux 6.7: its shrinker embedded, not pointed to (a CO-RE flavor of struct super_block). */
struct super_block___embedded_shrinker {
	struct shrinker s_shrink;
} __attribute__((preserve_access_index));

/* First sight of a shrinker: remember its functions and superblock. */
static __noinline void shrinker_learn(__u64 sh)
{
	const struct shrinker *shrinker = (const struct shrinker *)sh;
	struct kmemtop_shrinker_info info = {};

	if (bpf_map_lookup_elem(&shrinker_infos, &sh))
		return;
	info.scan_objects = (__u64)BPF_CORE_READ(shrinker, scan_objects);
	info.count_objects = (__u64)BPF_CORE_READ(shrinker, count_objects);
	if (reclaim_config.super_cache_scan && info.scan_objects == reclaim_config.super_cache_scan) {
		/*
		 * super_cache_scan's superblock (fs/super.c): the shrinker's
		 * private_data since Linux 6.7 made shrinkers separate objects;
		 * before, the shrinker is embedded in it (super_block.s_shrink).
		 */
		const struct super_block *sb;

		if (bpf_core_field_exists(struct shrinker, private_data))
			sb = BPF_CORE_READ(shrinker, private_data);
		else if (bpf_core_field_exists(struct super_block___embedded_shrinker, s_shrink))
			sb = (const struct super_block *)(sh - bpf_core_field_offset(struct super_block___embedded_shrinker, s_shrink));
		else
			sb = NULL;

		if (sb) {
			bpf_probe_read_kernel_str(info.fs_type, sizeof(info.fs_type), BPF_CORE_READ(sb, s_type, name));
			bpf_probe_read_kernel_str(info.sb_id, sizeof(info.sb_id), &sb->s_id);
		}
	}
	bpf_map_update_elem(&shrinker_infos, &sh, &info, BPF_NOEXIST);
}

SEC("raw_tp/mm_shrink_slab_start")
int BPF_PROG(kmemtop__shrink_start, __u64 shrinker, struct shrink_control *sc, long nr_objects_to_shrink,
	     unsigned long cache_items, __u64 delta, unsigned long total_scan, int priority)
{
	struct shrink_call call = {};
	struct kmemtop_shrinker_stats *st, zero = {};
	__u32 tid = (__u32)bpf_get_current_pid_tgid();

	call.key.shrinker = shrinker;
	call.key.nid = BPF_CORE_READ(sc, nid);
	call.start_ns = bpf_ktime_get_ns();
	call.total_scan = total_scan;
	shrinker_learn(shrinker);
	st = bpf_map_lookup_elem(&shrinkers, &call.key);
	if (!st) {
		bpf_map_update_elem(&shrinkers, &call.key, &zero, BPF_NOEXIST);
		st = bpf_map_lookup_elem(&shrinkers, &call.key);
		if (!st) {
			count_lost();
			return 0;
		}
	}
	__sync_fetch_and_add(&st->calls, 1);
	__sync_fetch_and_add(&st->objects_sum, cache_items);
	st->objects_last = cache_items;
	__sync_fetch_and_add(&st->requested, total_scan);
	__sync_fetch_and_add(&st->deferred_in, nr_objects_to_shrink);
	st->last_call_ns = call.start_ns;
	if (bpf_map_update_elem(&shrink_calls, &tid, &call, BPF_ANY))
		count_lost();
	return 0;
}

SEC("raw_tp/mm_shrink_slab_end")
int BPF_PROG(kmemtop__shrink_end, __u64 shrinker, int nid, int shrinker_retval, long unused_scan_cnt,
	     long new_scan_cnt, long total_scan)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	struct shrink_call *call = bpf_map_lookup_elem(&shrink_calls, &tid);
	struct kmemtop_shrinker_stats *st;
	__u64 dt;

	if (!call || call->key.shrinker != shrinker)
		return 0;
	st = bpf_map_lookup_elem(&shrinkers, &call->key);
	if (st) {
		dt = bpf_ktime_get_ns() - call->start_ns;
		__sync_fetch_and_add(&st->ended, 1);
		if (shrinker_retval > 0)
			__sync_fetch_and_add(&st->freed, shrinker_retval);
		if (total_scan >= 0 && (__u64)total_scan <= call->total_scan)
			__sync_fetch_and_add(&st->scanned, call->total_scan - total_scan);
		st->deferred_last = new_scan_cnt;
		__sync_fetch_and_add(&st->time_ns, dt);
		atomic_max(&st->max_time_ns, dt);
	}
	bpf_map_delete_elem(&shrink_calls, &tid);
	return 0;
}

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct kmemtop_reclaim_request);
} last_request SEC(".maps");

static __always_inline void reclaim_begin(__u32 kind, int order, gfp_t gfp)
{
	struct reclaim_call_key key = { .tid = (__u32)bpf_get_current_pid_tgid(), .kind = kind };
	struct kmemtop_reclaim_state *r = state();
	__u64 now = bpf_ktime_get_ns();
	struct kmemtop_reclaim_request *q;
	__u32 zero = 0;

	if (!r || kind >= KMEMTOP_RECLAIM_MAX)
		return;
	q = bpf_map_lookup_elem(&last_request, &zero);
	if (q && kind != KMEMTOP_RECLAIM_NODE) {
		q->time_ns = now;
		q->order = order;
		q->gfp = gfp;
		q->kind = kind;
		q->pid = bpf_get_current_pid_tgid() >> 32;
		bpf_get_current_comm(q->comm, sizeof(q->comm));
	}
	__sync_fetch_and_add(&r->kind[kind].count, 1);
	if (bpf_map_update_elem(&reclaim_calls, &key, &now, BPF_ANY))
		__sync_fetch_and_add(&r->lost, 1);
}

static __always_inline void reclaim_end(__u32 kind, unsigned long nr_reclaimed)
{
	struct reclaim_call_key key = { .tid = (__u32)bpf_get_current_pid_tgid(), .kind = kind };
	struct kmemtop_reclaim_state *r = state();
	__u64 *start, dt;

	if (!r || kind >= KMEMTOP_RECLAIM_MAX)
		return;
	start = bpf_map_lookup_elem(&reclaim_calls, &key);
	if (!start)
		return;
	dt = bpf_ktime_get_ns() - *start;
	bpf_map_delete_elem(&reclaim_calls, &key);
	__sync_fetch_and_add(&r->kind[kind].ended, 1);
	__sync_fetch_and_add(&r->kind[kind].stall_ns, dt);
	__sync_fetch_and_add(&r->kind[kind].reclaimed, nr_reclaimed);
	atomic_max(&r->kind[kind].max_stall_ns, dt);
}

SEC("raw_tp/mm_vmscan_direct_reclaim_begin")
int BPF_PROG(kmemtop__direct_begin, int order, gfp_t gfp)
{
	reclaim_begin(KMEMTOP_RECLAIM_DIRECT, order, gfp);
	return 0;
}

SEC("raw_tp/mm_vmscan_direct_reclaim_end")
int BPF_PROG(kmemtop__direct_end, unsigned long nr_reclaimed)
{
	reclaim_end(KMEMTOP_RECLAIM_DIRECT, nr_reclaimed);
	return 0;
}

SEC("raw_tp/mm_vmscan_memcg_reclaim_begin")
int BPF_PROG(kmemtop__memcg_begin, int order, gfp_t gfp)
{
	reclaim_begin(KMEMTOP_RECLAIM_MEMCG, order, gfp);
	return 0;
}

SEC("raw_tp/mm_vmscan_memcg_reclaim_end")
int BPF_PROG(kmemtop__memcg_end, unsigned long nr_reclaimed)
{
	reclaim_end(KMEMTOP_RECLAIM_MEMCG, nr_reclaimed);
	return 0;
}

SEC("raw_tp/mm_vmscan_node_reclaim_begin")
int BPF_PROG(kmemtop__node_begin, int nid, int order, gfp_t gfp)
{
	reclaim_begin(KMEMTOP_RECLAIM_NODE, order, gfp);
	return 0;
}

SEC("raw_tp/mm_vmscan_node_reclaim_end")
int BPF_PROG(kmemtop__node_end, unsigned long nr_reclaimed)
{
	reclaim_end(KMEMTOP_RECLAIM_NODE, nr_reclaimed);
	return 0;
}

SEC("raw_tp/mm_vmscan_wakeup_kswapd")
int BPF_PROG(kmemtop__wakeup_kswapd, int nid, int zid, int order, gfp_t gfp)
{
	struct kmemtop_reclaim_state *r = state();

	if (r)
		__sync_fetch_and_add(&r->kswapd_wakeups, 1);
	return 0;
}

SEC("raw_tp/mm_vmscan_kswapd_wake")
int BPF_PROG(kmemtop__kswapd_wake, int nid, int zid, int order)
{
	struct kmemtop_reclaim_state *r = state();

	if (r)
		__sync_fetch_and_add(&r->kswapd_runs, 1);
	return 0;
}

/*
 * Direct compaction, per request: a high-order allocation compacts before
 * and after reclaim; the OOM report says whether it was tried and what it
 * did.  kcompactd and manual compaction run as other tasks or with order
 * -1, and are left out by the task and order check.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct kmemtop_compaction);
} last_compaction SEC(".maps");

#define COMPACTION_WINDOW_NS 1000000000ULL

/* This CPU's compaction record if it is the current task's, for order, and recent; else NULL. */
static __always_inline struct kmemtop_compaction *compaction_of_current(int order, __u64 now)
{
	struct kmemtop_compaction *c;
	__u32 zero = 0;

	c = bpf_map_lookup_elem(&last_compaction, &zero);
	if (!c || c->pid != bpf_get_current_pid_tgid() >> 32 || c->order != (__u32)order || now - c->time_ns > COMPACTION_WINDOW_NS)
		return NULL;
	return c;
}

SEC("raw_tp/mm_compaction_try_to_compact_pages")
int BPF_PROG(kmemtop__compact_try, int order, gfp_t gfp, int prio)
{
	__u64 now = bpf_ktime_get_ns();
	struct kmemtop_compaction *c = compaction_of_current(order, now);
	__u32 zero = 0;

	if (!c) {
		c = bpf_map_lookup_elem(&last_compaction, &zero);
		if (!c)
			return 0;
		__builtin_memset(c, 0, sizeof(*c));
		c->pid = bpf_get_current_pid_tgid() >> 32;
		c->order = order;
		c->last_result = -1;
	}
	c->tries++;
	c->time_ns = now;
	return 0;
}

SEC("raw_tp/mm_compaction_end")
int BPF_PROG(kmemtop__compact_end, struct compact_control *cc, unsigned long zone_start, unsigned long zone_end, bool sync, int status)
{
	__u64 now = bpf_ktime_get_ns();
	struct kmemtop_compaction *c = compaction_of_current(BPF_CORE_READ(cc, order), now);

	if (!c)
		return 0;
	c->zone_runs++;
	if (status == bpf_core_enum_value(enum compact_result, COMPACT_SUCCESS))
		c->zone_successes++;
	c->last_result = status;
	c->time_ns = now;
	return 0;
}

SEC("raw_tp/mm_compaction_deferred")
int BPF_PROG(kmemtop__compact_deferred, struct zone *zone, int order)
{
	__u64 now = bpf_ktime_get_ns();
	struct kmemtop_compaction *c = compaction_of_current(order, now);

	if (c) {
		c->zones_deferred++;
		c->time_ns = now;
	}
	return 0;
}

SEC("raw_tp/mark_victim")
int BPF_PROG(kmemtop__oom_victim, struct task_struct *task, uid_t uid)
{
	struct kmemtop_reclaim_state *r = state();
	struct kmemtop_oom_victim *v;
	__u32 slot;

	if (!r)
		return 0;
	slot = (__u32)(__sync_fetch_and_add(&r->oom_kills, 1) % KMEMTOP_OOM_RING);
	v = bpf_map_lookup_elem(&oom_victims, &slot);
	if (!v)
		return 0;
	v->time_ns = bpf_ktime_get_ns();
	v->pid = BPF_CORE_READ(task, pid);
	v->uid = uid;
	bpf_probe_read_kernel_str(v->comm, sizeof(v->comm), &task->comm);
	/* Its memory cgroup (as kmemtop.bpf.c names the allocating task's) and resident pages. */
	{
		int id = bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id);
		struct cgroup_subsys_state *css = NULL;

		if (id >= 0 && id < CGROUP_SUBSYS_COUNT)
			css = BPF_CORE_READ(task, cgroups, subsys[id]);
		v->memcg = css ? BPF_CORE_READ(css, cgroup, kn, id) : 0;
	}
	{
		struct mm_struct *mm = BPF_CORE_READ(task, mm);
		__s64 pages = 0;

		if (mm && bpf_core_type_exists(struct mm_rss_stat___old)) {
			struct mm_struct___old_rss *old = (void *)mm;

			pages += BPF_CORE_READ(old, rss_stat.count[MM_FILEPAGES].counter);
			pages += BPF_CORE_READ(old, rss_stat.count[MM_ANONPAGES].counter);
			pages += BPF_CORE_READ(old, rss_stat.count[MM_SHMEMPAGES].counter);
		} else if (mm) {
			pages += BPF_CORE_READ(mm, rss_stat[MM_FILEPAGES].count);
			pages += BPF_CORE_READ(mm, rss_stat[MM_ANONPAGES].count);
			pages += BPF_CORE_READ(mm, rss_stat[MM_SHMEMPAGES].count);
		}
		v->rss_pages = pages > 0 ? pages : 0;
	}
	/* What the kill was serving: the last reclaim entered on this CPU, if recent. */
	{
		struct kmemtop_reclaim_request *q;
		__u32 zero = 0;

		q = bpf_map_lookup_elem(&last_request, &zero);
		if (q && q->time_ns && v->time_ns - q->time_ns < 1000000000ULL)
			v->request = *q;
		else
			__builtin_memset(&v->request, 0, sizeof(v->request));
	}
	/* The compaction that request's task did for its order, if recent. */
	{
		struct kmemtop_compaction *c;
		__u32 zero = 0;

		c = bpf_map_lookup_elem(&last_compaction, &zero);
		if (c && c->time_ns && v->request.time_ns && c->pid == v->request.pid && c->order == v->request.order &&
		    v->time_ns - c->time_ns < COMPACTION_WINDOW_NS)
			v->compaction = *c;
		else
			__builtin_memset(&v->compaction, 0, sizeof(v->compaction));
	}
	return 0;
}
