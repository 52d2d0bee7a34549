// SPDX-License-Identifier: GPL-2.0
/*
 * kmemtop.bpf.c - per-call-site slab accounting, aggregated in the kernel.
 *
 * Programs are tp_btf or raw_tp: called directly from the tracepoint (no
 * perf-event dispatch, no tracefs needed) and guarded per program, so a free in an interrupt that lands
 * while an allocation program runs on the same CPU is still seen.  A run
 * skipped by that guard is counted by the kernel in
 * bpf_prog_info.recursion_misses, which the host reads and reports.
 *
 * The per-event path takes no lock and allocates nothing: the live table is
 * an array of buckets claimed with compare-and-exchange, site counters are a
 * per-CPU array indexed by a site number found through a per-CPU cache.  Hash
 * maps (preallocated) are touched only when a site is new or a bucket is
 * full.  Every map is sized by the host between open and load.
 *
 * Tracepoint argument lists are those of the kernels kmemtop is tested on,
 * Linux 6.1 and later (kmem_cache_alloc carries the struct kmem_cache since
 * commit 2c1d697fb8ba "mm/slab_common: drop kmem_alloc & avoid
 * dereferencing fields when not using"; Debian 12's 6.1 has it).  Only the
 * arguments every one of them has in the same place are read.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "kmemtop.h"
#include "live_maps.h"
#include "stamp.h"

#define ZERO_SIZE_PTR 16
#define E2BIG 7
#define ENOMEM 12
#define EEXIST 17
#define GOLDEN 0x9E3779B97F4A7C15ULL
#define GOLDEN2 0xC2B2AE3D27D4EB4FULL  /* a second, independent multiplier: sampling */
#define WRITE_ONCE(x, v) (*(volatile typeof(x) *)&(x) = (v))
#define READ_ONCE_U64(x) (*(volatile __u64 *)&(x))

char LICENSE[] SEC("license") = "GPL";

const volatile struct kmemtop_config kmemtop_config SEC(".rodata.config") = {
	.live_buckets_mask = (1 << 17) - 1,
	.max_sites = 16384,
	.site_cache_mask = 1023,
};

/* Anchors that put the ABI enums into the object's BTF for test/abi.test.ts. */
const volatile enum kmemtop_lost_cause kmemtop_abi_lost = KMEMTOP_LOST_MAX;
const volatile enum kmemtop_counter kmemtop_abi_counter = KMEMTOP_CNT_MAX;
const volatile enum kmemtop_context kmemtop_abi_context = KMEMTOP_CTX_MAX;
const volatile enum kmemtop_page_type kmemtop_abi_page_type = KMEMTOP_PAGE_TYPES;
const volatile enum kmemtop_kmalloc_type kmemtop_abi_kmalloc_type = KMEMTOP_KMALLOC_CGROUP;

/*
 * Inlined by the verifier (a register move): reads memory as a BTF type,
 * untrusted.  Linux 6.2+; weak, and called only where the host found it in
 * the kernel's BTF (kmemtop_config.rdonly_cast): on older kernels libbpf
 * leaves the call unresolved and the verifier removes it as dead code.
 */
extern void *bpf_rdonly_cast(const void *obj, __u32 btf_id) __ksym __weak;
/*
 * Add to a per-CPU counter that events of several contexts share: an
 * interrupt's program can land between the load and the store of a plain
 * add on this CPU, so these are atomic.
 */
#define PCPU_ADD(x, v) __sync_fetch_and_add(&(x), (v))
/* Atomic only where several programs write (see on_alloc). */
#define SITE_ADD(atomic, x, v) do { if (atomic) PCPU_ADD(x, v); else (x) += (v); } while (0)

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16384);
	__type(key, struct site_key);
	__type(value, __u32);
} site_ids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, struct site_cache_entry);
} site_cache SEC(".maps");

/* struct kmem_cache pointer -> name and sizes, filled when a site is new. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, __u64);
	__type(value, struct cache_info);
} caches SEC(".maps");

/* --stacks: the kernel stacks of allocations (value size and entries set by the host). */
struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, 8 * sizeof(__u64));
} stack_traces SEC(".maps");

/* Details (kmemtop.h): key -> index, and index -> key; the counters are detail_stats (live_maps.h). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, struct detail_key);
	__type(value, __u32);
} detail_ids SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct detail_info);
} detail_keys SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, KMEMTOP_CNT_MAX * KMEMTOP_COUNTER_SETS);
	__type(key, __u32);
	__type(value, __u64);
} counters SEC(".maps");

static __always_inline void bump_idx(void *map, __u32 idx)
{
	__u64 *v = bpf_map_lookup_elem(map, &idx);

	if (v)
		PCPU_ADD(*v, 1);
}

static __always_inline void bump_lost(enum kmemtop_lost_cause cause)
{
	bump_idx(&lost, cause);
}

static __always_inline void bump_counter(enum kmemtop_counter c)
{
	bump_idx(&counters, c);
}

/*
 * A counter in the own set of a free primary program (which: 0 kfree, 1
 * kmem_cache_free; see KMEMTOP_COUNTER_SETS): no other program writes it,
 * and a program never runs nested in itself on one CPU, so a plain add.
 */
static __always_inline void bump_own_counter(enum kmemtop_counter c, __u32 which)
{
	__u32 idx = c + KMEMTOP_CNT_MAX * (1 + (which & 1));
	__u64 *v = bpf_map_lookup_elem(&counters, &idx);

	if (v)
		*v += 1;
}

static __always_inline struct kmemtop_state *global_state(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&state, &zero);
}

static __always_inline struct site_stats *stats_of(__u32 idx)
{
	return bpf_map_lookup_elem(&site_stats, &idx);
}

/* ---- context ----------------------------------------------------------- */

/* preempt_count layout (include/linux/preempt.h). */
#define SOFTIRQ_OFFSET 0x100
#define SOFTIRQ_MASK 0xff00
#define HARDIRQ_MASK 0xf0000
#define NMI_MASK 0xf00000

/*
 * The context this event runs in, from this CPU's preempt_count.  On x86
 * __preempt_count is a per-CPU variable that is not in kallsyms (no
 * KALLSYMS_ALL), so it cannot be a ksym; but the current task's runqueue is
 * this CPU's `runqueues`, and the two per-CPU variables lie a fixed distance
 * apart (the host reads it from the kernel's BTF).  The loads are
 * exception-protected (untrusted pointers): no helper call.
 */
/*
 * --task-tree: the processes (tgids) whose allocations count: the command
 * and its descendants, added as they fork (and left behind when they exit).
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, __u8);
} task_tree SEC(".maps");

SEC("tp_btf/sched_process_fork")
int BPF_PROG(kmemtop__task_fork, struct task_struct *parent, struct task_struct *child)
{
	__u32 ptgid = parent->tgid, ctgid = child->tgid;
	__u8 one = 1;

	if (ptgid != ctgid && bpf_map_lookup_elem(&task_tree, &ptgid))
		bpf_map_update_elem(&task_tree, &ctgid, &one, BPF_ANY);
	return 0;
}

/*
 * Only the task is read: the tracepoint's second argument (group_dead)
 * is recent, and Linux 6.12 rejects a program that reads it.  do_exit()
 * counts the thread down in signal->live before the tracepoint fires, so
 * 0 there means the whole process is gone.
 */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(kmemtop__task_exit, struct task_struct *task)
{
	__u32 tgid = task->tgid;

	if (!task->signal->live.counter)
		bpf_map_delete_elem(&task_tree, &tgid);
	return 0;
}

/*
 * kmemtop's own processes (tgids; 0 = free slot), written by the host: the
 * tracer before it attaches, and every process that reads a session.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct kmemtop_self);
} self_tgids SEC(".maps");

/* Is this a task-context allocation by kmemtop itself?  (An array lookup is inlined: a few loads.) */
static __always_inline bool by_self(__u32 ctx)
{
	struct kmemtop_self *self;
	__u32 tgid, zero = 0;
	int i;

	if (ctx != KMEMTOP_CTX_TASK && ctx != KMEMTOP_CTX_TASK_BH)
		return false;
	self = bpf_map_lookup_elem(&self_tgids, &zero);
	if (!self)
		return false;
	tgid = bpf_get_current_pid_tgid() >> 32;
#pragma unroll
	for (i = 0; i < KMEMTOP_SELF_MAX; i++) {
		if (self->tgid[i] == tgid)
			return true;
	}
	return false;
}

static __always_inline bool in_task_tree(__u32 ctx)
{
	__u32 tgid;

	if (ctx != KMEMTOP_CTX_TASK && ctx != KMEMTOP_CTX_TASK_BH)
		return false;
	tgid = bpf_get_current_pid_tgid() >> 32;
	return bpf_map_lookup_elem(&task_tree, &tgid) != NULL;
}

/* This CPU's &__preempt_count, found once per CPU (it never moves). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} preempt_count_addr SEC(".maps");

static __always_inline __u32 event_context(void)
{
	struct refcount_struct *pc;
	struct task_struct *t;
	__u32 zero = 0;
	__u64 *addr;
	struct rq *rq;
	int cnt;

	/* The runqueue back-pointer exists with CONFIG_FAIR_GROUP_SCHED only. */
	if (!kmemtop_config.preempt_count_delta || !bpf_core_field_exists(struct cfs_rq, rq))
		return KMEMTOP_CTX_UNKNOWN;
	addr = bpf_map_lookup_elem(&preempt_count_addr, &zero);
	if (!addr)
		return KMEMTOP_CTX_UNKNOWN;
	if (!*addr) {
		t = bpf_get_current_task_btf();
		rq = t->se.cfs_rq->rq;
		if (!rq)
			return KMEMTOP_CTX_UNKNOWN;
		*addr = (__u64)rq - kmemtop_config.preempt_count_delta;
	}
	if (kmemtop_config.rdonly_cast) {
		pc = bpf_rdonly_cast((void *)*addr, bpf_core_type_id_kernel(struct refcount_struct));
		cnt = pc->refs.counter;
	} else if (bpf_probe_read_kernel(&cnt, sizeof(cnt), (void *)*addr)) {
		return KMEMTOP_CTX_UNKNOWN;
	}
	if (cnt & NMI_MASK)
		return KMEMTOP_CTX_NMI;
	if (cnt & HARDIRQ_MASK)
		return KMEMTOP_CTX_HARDIRQ;
	if (cnt & SOFTIRQ_OFFSET)
		return KMEMTOP_CTX_SOFTIRQ;
	if (cnt & SOFTIRQ_MASK)
		return KMEMTOP_CTX_TASK_BH;
	return KMEMTOP_CTX_TASK;
}

/* ---- sites ------------------------------------------------------------- */

/* The index of "(sites map full)" (kmemtop.h): the last one. */
static __always_inline __u32 full_site(void)
{
	return kmemtop_config.max_sites - 1;
}

/* An allocation at a call site that found no index: counted as lost (how many) and on the full site. */
static __noinline __u32 site_full(void)
{
	__u32 idx = full_site();
	struct site_key *slot;

	bump_lost(KMEMTOP_LOST_SITES_FULL);
	slot = bpf_map_lookup_elem(&site_keys, &idx);
	if (!slot)
		return 0;
	if (slot->cache != KMEMTOP_FULL_SITE_KEY) {
		slot->call_site = 0;
		slot->cache = KMEMTOP_FULL_SITE_KEY;
	}
	return idx;
}

/* The bytes one allocation of a site key takes (the full site sums them: its objects differ in size). */
static __always_inline __u64 key_bytes(__u64 cache)
{
	if (cache >> 32)
		return BPF_CORE_READ((const struct kmem_cache *)cache, size);
	if (cache & KMEMTOP_PAGE_SITE)
		return 4096ULL << (cache & 0xff);
	if (cache & KMEMTOP_PERCPU_SITE)
		return cache & (KMEMTOP_PERCPU_SITE - 1);
	if (cache & KMEMTOP_VMALLOC_SITE)
		return (cache & (KMEMTOP_VMALLOC_SITE - 1)) * 4096ULL;
	return cache & KMEMTOP_KMALLOC_SIZE_MASK;
}

/* A new site: take the next index, publish its key, name its cache. */
static __noinline __u32 site_create(const struct site_key *key)
{
	const struct kmem_cache *s = (const struct kmem_cache *)key->cache;
	struct kmemtop_state *g = global_state();
	struct site_key *slot;
	__u32 idx, *existing;

	if (!g)
		return 0;
	/* Full: no more indexes taken (so next_site never wraps), the allocation counted on the last one. */
	if (*(volatile __u32 *)&g->next_site >= full_site())
		return site_full();
	idx = __sync_fetch_and_add(&g->next_site, 1) + 1;
	if (idx >= full_site())
		return site_full();
	slot = bpf_map_lookup_elem(&site_keys, &idx);
	if (!slot)
		return 0;
	*slot = *key;
	if (bpf_map_update_elem(&site_ids, key, &idx, BPF_NOEXIST)) {
		/* Another CPU created it first: give this index up (all-zero key). */
		slot->call_site = 0;
		slot->cache = 0;
		existing = bpf_map_lookup_elem(&site_ids, key);
		return existing ? *existing : 0;
	}
	if (key->cache >> 32) {  /* a kmem_cache pointer, not a kmalloc size */
		struct cache_info info = {};
		__u64 ck = key->cache;

		bpf_probe_read_kernel_str(info.name, sizeof(info.name), BPF_CORE_READ(s, name));
		info.object_size = BPF_CORE_READ(s, object_size);
		info.size = BPF_CORE_READ(s, size);
		bpf_map_update_elem(&caches, &ck, &info, BPF_NOEXIST);
	}
	return idx;
}

/*
 * Site index of key: per-CPU cache first, then the site_ids hash, then
 * create.  The cache has one part per context: events of one context never
 * nest on one CPU, so no interrupt can rewrite an entry while it is read.
 */
static __always_inline __u32 site_idx(const struct site_key *key, __u32 ctx)
{
	__u32 h = ((((key->call_site ^ (key->cache >> 6)) * GOLDEN) >> 40) & kmemtop_config.site_cache_mask) +
		  ctx * (kmemtop_config.site_cache_mask + 1);
	struct site_cache_entry *ce = bpf_map_lookup_elem(&site_cache, &h);
	__u32 idx, *found;

	if (ce && ce->key.call_site == key->call_site && ce->key.cache == key->cache)
		return ce->idx;
	found = bpf_map_lookup_elem(&site_ids, key);
	idx = found ? *found : site_create(key);
	if (idx && idx != full_site() && ce) {  /* not the full site: each of its events is counted lost */
		ce->key = *key;
		ce->idx = idx;
	}
	return idx;
}

/* ---- sampling ---------------------------------------------------------- */

/*
 * Is ptr one of the objects tracked?  With sample_one_in N > 1, a uniform
 * 32-bit hash of the address below 2^32 / N: 1 in N, decided the same way
 * at allocation and at free, so an untracked free needs no lookup at all.
 */
static __always_inline bool sampled(__u64 ptr)
{
	__u64 n = kmemtop_config.sample_one_in;

	if (n <= 1)
		return true;
	return ((((ptr * GOLDEN2) >> 32) * n) >> 32) == 0;
}

/* ---- live table -------------------------------------------------------- */

static __always_inline __u32 bucket_idx(__u64 ptr)
{
#ifdef KMEMTOP_BENCH_PAGE_HASH
	/*
	 * A measurement build (scripts/bench-overhead pagehash): the objects of
	 * one 4 KiB page in one block of 256 consecutive buckets (16 bytes of
	 * address to a bucket), the block chosen by a hash of the page; objects
	 * allocated one after another from a slab then touch neighbouring
	 * buckets (the same pages of the table, TLB and prefetcher).
	 */
	return ((((ptr >> 12) * GOLDEN) >> 32) << 8 | ((ptr >> 4) & 0xff)) & kmemtop_config.live_buckets_mask;
#else
	return ((ptr * GOLDEN) >> 32) & kmemtop_config.live_buckets_mask;
#endif
}

/* The allocation stamp: seconds since boot (stamp.h). */
static __always_inline __u32 now_seconds(void)
{
#ifdef KMEMTOP_NO_AGE  /* a build for measuring what the stamps cost (scripts/bench-overhead noage) */
	return 0;
#else
	return stamp_seconds(kmemtop_config.hz);
#endif
}

/* ---- details (--stacks, --by-cgroup, --by-task) ------------------------ */

static __always_inline bool details_on(void)
{
	return kmemtop_config.stacks || kmemtop_config.by_cgroup || kmemtop_config.by_task;
}

/* The detail index of slot w of bucket b (0: none, or details off: live_details is then not touched). */
static __always_inline __u32 slot_detail(__u32 b, int w)
{
	struct live_detail *d;

	if (!details_on())
		return 0;
	d = bpf_map_lookup_elem(&live_details, &b);
	return d ? d->detail[w & (KMEMTOP_LIVE_WAYS - 1)] : 0;
}

static __always_inline void set_slot_detail(__u32 b, int w, __u32 detail)
{
	struct live_detail *d;

	if (!details_on())
		return;
	d = bpf_map_lookup_elem(&live_details, &b);
	if (d)
		d->detail[w & (KMEMTOP_LIVE_WAYS - 1)] = detail;
}

/*
 * The memory cgroup of the current task: the kernfs id of its cgroup in the
 * hierarchy that holds the memory controller (v1 or v2), which is that
 * directory's inode number; the host finds the path.  0: no memory
 * controller.  Plain loads through the task's BTF pointers (RCU-protected
 * in a tracepoint program): no helper call.
 */
static __always_inline __u64 memcg_of_current(void)
{
	int id = bpf_core_enum_value(enum cgroup_subsys_id, memory_cgrp_id);
	struct task_struct *t = bpf_get_current_task_btf();
	struct cgroup_subsys_state *css;

	if (id < 0 || id >= CGROUP_SUBSYS_COUNT)
		return 0;
	css = t->cgroups->subsys[id];
	if (!css)
		return 0;
	return css->cgroup->kn->id;
}

/*
 * --by-task: each process's name as it is now, by tgid: written when it
 * forks (the child starts with its parent's name) and when it execs (the
 * name a user knows it by); a detail's own comm is the name when its first
 * allocation was made, which for a process that then exec'd is its
 * parent's (the host prefers this one).
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct task_name);
} task_names SEC(".maps");

static __always_inline void name_task(struct task_struct *t)
{
	struct task_name n = {};
	__u32 tgid = t->tgid;

	bpf_probe_read_kernel_str(n.comm, sizeof(n.comm), t->comm);
	bpf_map_update_elem(&task_names, &tgid, &n, BPF_ANY);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(kmemtop__name_exec, struct task_struct *p)
{
	name_task(p);
	return 0;
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(kmemtop__name_fork, struct task_struct *parent, struct task_struct *child)
{
	if (parent->tgid != child->tgid)
		name_task(child);
	return 0;
}

/* A new detail: take the next index, publish its key (and the thread's name). */
static __noinline __u32 detail_create(const struct detail_key *key)
{
	struct kmemtop_state *g = global_state();
	struct detail_info *slot;
	__u32 idx, *existing;

	if (!g)
		return 0;
	idx = __sync_fetch_and_add(&g->next_detail, 1) + 1;
	slot = bpf_map_lookup_elem(&detail_keys, &idx);
	if (!slot) {  /* index full */
		bump_lost(KMEMTOP_LOST_DETAIL);
		return 0;
	}
	slot->key = *key;
	bpf_get_current_comm(slot->comm, sizeof(slot->comm));
	if (bpf_map_update_elem(&detail_ids, key, &idx, BPF_NOEXIST)) {
		/* Another CPU created it first (or the hash is full): give this index up. */
		__builtin_memset(&slot->key, 0, sizeof(slot->key));
		existing = bpf_map_lookup_elem(&detail_ids, key);
		if (!existing)
			bump_lost(KMEMTOP_LOST_DETAIL);
		return existing ? *existing : 0;
	}
	return idx;
}

/*
 * Who made this allocation of site: its detail index (0 when not recorded:
 * counted lost; the site's own figures stay exact), with the allocation
 * counted.  A failed stack id is never taken for a stack: the detail is then
 * "no stack", and the failure is counted.  In interrupt context the current
 * task is whoever was interrupted: no cgroup and no process then.
 */
static __always_inline __u32 detail_alloc(void *ctx, __u32 site, __u32 ectx)
{
	struct detail_key key = { .site = site };
	struct detail_stats *st;
	__u32 idx, *found;
	long id;

	if (!details_on())
		return 0;
	if (kmemtop_config.stacks) {
		id = bpf_get_stackid(ctx, &stack_traces, 0);
		if (id < 0)
			bump_lost(KMEMTOP_LOST_STACK);
		else
			key.stack = (__u32)id + 1;
	}
	if (ectx == KMEMTOP_CTX_TASK || ectx == KMEMTOP_CTX_TASK_BH) {
		if (kmemtop_config.by_cgroup)
			key.cgroup = memcg_of_current();
		if (kmemtop_config.by_task)
			key.tgid = bpf_get_current_pid_tgid() >> 32;
	}
	found = bpf_map_lookup_elem(&detail_ids, &key);
	idx = found ? *found : detail_create(&key);
	st = idx ? bpf_map_lookup_elem(&detail_stats, &idx) : NULL;
	if (!st)
		return 0;
	__sync_fetch_and_add(&st->allocs, 1);
	return idx;
}

/* The object allocated with this detail is gone: freed, or retired. */
static __always_inline void detail_free(__u32 detail)
{
	struct detail_stats *st;

	if (!detail)
		return;
	st = bpf_map_lookup_elem(&detail_stats, &detail);
	if (st)
		__sync_fetch_and_add(&st->frees, 1);
}

/*
 * The address was handed out again while still live: its free was never
 * seen (a bulk or per-CPU-cache free path without a tracepoint, or a skipped
 * run).  Retire the old allocation against its own site, and count it.
 */
static __always_inline void retire_unseen(__u32 site, __u32 detail)
{
	struct site_stats *st;

	bump_lost(KMEMTOP_LOST_FREE_UNSEEN);
	detail_free(detail);
	st = site ? stats_of(site) : NULL;
	if (!st) {
		bump_lost(KMEMTOP_LOST_SITE_MISSING);
		return;
	}
	PCPU_ADD(st->frees_unseen, 1);
}

/* Track ptr as live for site; false when it could not be tracked. */
static __always_inline __attribute__((unused)) bool live_insert(__u64 ptr, __u32 site, __u32 detail)
{
	__u32 b = bucket_idx(ptr);
	struct live_bucket *bk = bpf_map_lookup_elem(&live, &b);
	struct kmemtop_state *g;
	struct live_value *ov, nv = {};
	struct live_slot *sl;
	int w, empty = -1;
	__u32 old, old_detail;
	long err;

	if (!bk) {
		bump_lost(KMEMTOP_LOST_LIVE_UPDATE);
		return false;
	}
	/*
	 * One pass: is the address still live (its free was missed: replace
	 * it), and which slot is the first empty one?
	 */
#pragma unroll
	for (w = 0; w < KMEMTOP_LIVE_WAYS; w++) {
		__u64 p;

		sl = &bk->slot[w];
		p = sl->ptr;
		if (p == ptr) {
			old = sl->site;
			old_detail = slot_detail(b, w);
			sl->site = site;
			set_slot_detail(b, w, detail);
			sl->stamp = now_seconds();
			retire_unseen(old, old_detail);
			return true;
		}
		if (!p && empty < 0)
			empty = w;
	}
	g = global_state();
	if (g && g->overflow_entries) {
		ov = bpf_map_lookup_elem(&live_overflow, &ptr);
		if (ov) {
			old = ov->site;
			old_detail = ov->detail;
			ov->site = site;
			ov->detail = detail;
			ov->stamp = now_seconds();
			retire_unseen(old, old_detail);
			return true;
		}
	}
	/* Claim the empty slot; if another CPU took it meanwhile, any other. */
	if (empty >= 0) {
		sl = &bk->slot[empty & (KMEMTOP_LIVE_WAYS - 1)];
		if (__sync_val_compare_and_swap(&sl->ptr, 0, ptr) == 0) {
			sl->stamp = now_seconds();
			set_slot_detail(b, empty, detail);
			sl->site = site;
			return true;
		}
#pragma unroll
		for (w = 0; w < KMEMTOP_LIVE_WAYS; w++) {
			sl = &bk->slot[w];
			if (sl->ptr == 0 && __sync_val_compare_and_swap(&sl->ptr, 0, ptr) == 0) {
				sl->stamp = now_seconds();
				set_slot_detail(b, w, detail);
				sl->site = site;
				return true;
			}
		}
	}
	/* Bucket full: spill into the overflow hash. */
	nv.site = site;
	nv.detail = detail;
	nv.stamp = now_seconds();
	err = bpf_map_update_elem(&live_overflow, &ptr, &nv, BPF_NOEXIST);
	if (err) {
		/*
		 * -E2BIG is also what a preallocated hash returns when its
		 * free list cannot be taken at that moment (seen here with
		 * the map nearly empty): "full" only when it really is.
		 */
		bool full = (err == -E2BIG || err == -ENOMEM) && g && g->overflow_entries >= kmemtop_config.overflow_max;

		bump_lost(full ? KMEMTOP_LOST_LIVE_FULL : KMEMTOP_LOST_LIVE_UPDATE);
		return false;
	}
	bump_counter(KMEMTOP_CNT_OVERFLOW_INSERTS);
	if (g)
		__sync_fetch_and_add(&g->overflow_entries, 1);
	return true;
}

/*
 * Stop tracking ptr; returns its site, or 0 when it was not tracked (or its
 * site was not yet written: *missing is set then).
 */
static __always_inline __u32 live_remove(__u64 ptr, bool *tracked, __u32 *detail)
{
	__u32 b = bucket_idx(ptr);
	struct live_bucket *bk = bpf_map_lookup_elem(&live, &b);
	struct kmemtop_state *g;
	struct live_value *ov;
	__u32 site;
	int w;

	*tracked = false;
	*detail = 0;
	if (!bk)
		return 0;
#pragma unroll
	for (w = 0; w < KMEMTOP_LIVE_WAYS; w++) {
		struct live_slot *sl = &bk->slot[w];

		if (sl->ptr == ptr) {
			site = sl->site;
			*detail = slot_detail(b, w);
			/*
			 * Only this object's free writes a slot holding its
			 * address (claims start from 0, reuse rewrites only the
			 * site), so a plain store releases it.  The site goes
			 * first: the next claimant writes its own after taking
			 * the slot, and a free of its object in between must
			 * read 0 (counted as site missing), not this site.
			 */
			WRITE_ONCE(sl->site, 0);
			WRITE_ONCE(sl->ptr, 0);
			*tracked = true;
			return site;
		}
	}
	g = global_state();
	if (!g || !g->overflow_entries)
		return 0;
	ov = bpf_map_lookup_elem(&live_overflow, &ptr);
	if (!ov)
		return 0;
	site = ov->site;
	*detail = ov->detail;
	if (bpf_map_delete_elem(&live_overflow, &ptr))
		return 0;
	__sync_fetch_and_add(&g->overflow_entries, -1);
	*tracked = true;
	return site;
}

#ifdef KMEMTOP_BENCH_CPU_SHARD
/*
 * A measurement build (scripts/bench-overhead cpushard), two CPUs only, not
 * exact: what a live table whose lines never leave the allocating CPU would
 * cost.  Each CPU has its own shard of buckets; a free looks in its own
 * CPU's shard, and when the object is not there logs it for the other CPU,
 * which applies the other CPU's log every SHARD_DRAIN_EVERY allocations.
 * Not handled: an address reused before its logged free is applied (counted
 * as a missed free), the log overwritten before it is read, more than two
 * CPUs, nested contexts appending to one log.
 */
#define SHARD_BUCKETS (1 << 15)
#define SHARD_LOG 2048
#define SHARD_DRAIN_EVERY 16

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, SHARD_BUCKETS);
	__type(key, __u32);
	__type(value, struct live_bucket);
} shard SEC(".maps");

struct shard_log {
	__u64 head;  /* written by the owning CPU only */
	__u64 ptr[SHARD_LOG];
	__u8 ctx[SHARD_LOG];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct shard_log);
} shard_log SEC(".maps");

struct shard_cursor {
	__u64 tail;    /* how far this CPU has applied the other CPU's log */
	__u32 allocs;  /* allocations since the last drain */
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct shard_cursor);
} shard_cursor SEC(".maps");

static __always_inline __u32 shard_idx(__u64 ptr)
{
	return ((ptr * GOLDEN) >> 32) & (SHARD_BUCKETS - 1);
}

static __always_inline bool shard_insert(__u64 ptr, __u32 site)
{
	__u32 b = shard_idx(ptr);
	struct live_bucket *bk = bpf_map_lookup_elem(&shard, &b);
	int w;

	if (!bk)
		return false;
#pragma unroll
	for (w = 0; w < KMEMTOP_LIVE_WAYS; w++) {
		struct live_slot *sl = &bk->slot[w];

		if (sl->ptr == ptr) {
			__u32 old = sl->site;

			sl->site = site;
			sl->stamp = now_seconds();
			retire_unseen(old, 0);
			return true;
		}
	}
#pragma unroll
	for (w = 0; w < KMEMTOP_LIVE_WAYS; w++) {
		struct live_slot *sl = &bk->slot[w];

		if (sl->ptr == 0 && __sync_val_compare_and_swap(&sl->ptr, 0, ptr) == 0) {
			sl->stamp = now_seconds();
			sl->site = site;
			return true;
		}
	}
	bump_lost(KMEMTOP_LOST_LIVE_FULL);
	return false;
}

/* Remove ptr from this CPU's shard and count its free; false when it is not there. */
static __always_inline bool shard_remove(__u64 ptr, __u32 ctx)
{
	__u32 b = shard_idx(ptr), site;
	struct live_bucket *bk = bpf_map_lookup_elem(&shard, &b);
	struct site_stats *st;
	int w;

	if (!bk)
		return false;
#pragma unroll
	for (w = 0; w < KMEMTOP_LIVE_WAYS; w++) {
		struct live_slot *sl = &bk->slot[w];

		if (sl->ptr == ptr) {
			site = sl->site;
			WRITE_ONCE(sl->site, 0);
			WRITE_ONCE(sl->ptr, 0);
			st = site ? stats_of(site) : NULL;
			if (ctx >= KMEMTOP_CTX_MAX)
				ctx = KMEMTOP_CTX_UNKNOWN;
			if (st)
				PCPU_ADD(st->frees[ctx], 1);
			return true;
		}
	}
	return false;
}

struct shard_drain {
	struct shard_log *log;
	__u64 tail;
};

static long shard_apply(__u64 i, void *data)
{
	struct shard_drain *d = data;
	struct shard_log *log = d->log;
	__u32 at = (d->tail + i) & (SHARD_LOG - 1);

	if (!log)
		return 1;
	if (!shard_remove(log->ptr[at], log->ctx[at]))
		bump_lost(KMEMTOP_LOST_UNTRACKED_FREE);
	return 0;
}

/* Apply the other CPU's logged frees of objects this CPU allocated. */
static __always_inline void shard_drain(void)
{
	__u32 zero = 0, other = bpf_get_smp_processor_id() ^ 1;
	struct shard_cursor *c = bpf_map_lookup_elem(&shard_cursor, &zero);
	struct shard_drain d = {};
	__u64 head, n;

	if (!c || ++c->allocs < SHARD_DRAIN_EVERY)
		return;
	c->allocs = 0;
	d.log = bpf_map_lookup_percpu_elem(&shard_log, &zero, other);
	if (!d.log)
		return;
	head = READ_ONCE_U64(d.log->head);
	n = head - c->tail;
	if (n > SHARD_LOG) {
		bump_lost(KMEMTOP_LOST_UNTRACKED_FREE);
		c->tail = head - SHARD_LOG;
		n = SHARD_LOG;
	}
	d.tail = c->tail;
	bpf_loop(n, shard_apply, &d, 0);
	c->tail = head;
}

static __always_inline void shard_free(__u64 ptr, __u32 ctx)
{
	struct shard_log *log;
	__u32 zero = 0, at;

	if (shard_remove(ptr, ctx))
		return;
	log = bpf_map_lookup_elem(&shard_log, &zero);
	if (!log)
		return;
	at = log->head & (SHARD_LOG - 1);
	log->ptr[at] = ptr;
	log->ctx[at] = ctx;
	WRITE_ONCE(log->head, log->head + 1);
}
#endif

/* ---- events ------------------------------------------------------------ */

/*
 * An allocation at call_site.  kmalloc: key is (call site, size class),
 * requested bytes counted; kmem_cache_alloc: key is (call site, cache).
 */
static __always_inline void on_alloc(void *pctx, __u64 call_site, __u64 ptr, __u64 cache_or_size, __u32 bytes_req)
{
	struct site_key key = { .call_site = call_site, .cache = cache_or_size };
	struct site_stats *st;
	__u32 idx, ctx, detail;
	bool full;

	if (ptr == ZERO_SIZE_PTR) {
		bump_counter(KMEMTOP_CNT_ZERO_ALLOCS);
		return;
	}
	ctx = event_context();
	if (ctx >= KMEMTOP_CTX_MAX)  /* for the verifier */
		ctx = KMEMTOP_CTX_UNKNOWN;
	if (kmemtop_config.task_tree && !in_task_tree(ctx))
		return;
	if (kmemtop_config.exclude_self && by_self(ctx)) {
		bump_counter(KMEMTOP_CNT_SELF_ALLOCS);
		return;
	}
	idx = site_idx(&key, ctx);
	st = idx ? stats_of(idx) : NULL;
	if (!st)
		return;
	/*
	 * Plain adds: these counters are per CPU, and only this program writes
	 * them (a site is a kmalloc site or a cache site, never both), which
	 * the kernel never runs nested in itself on one CPU.  The full site is
	 * every program's: an interrupt's program may land between the load and
	 * the store there, so its counters not kept per context take atomic
	 * adds (allocs[ctx] does not: one context never nests in itself).
	 */
	full = idx == full_site();
	if (!ptr) {
		SITE_ADD(full, st->failed_allocs, 1);
		return;
	}
	st->allocs[ctx] += 1;
	if (full)
		PCPU_ADD(st->bytes_req, key_bytes(cache_or_size));
	else if (bytes_req)
		st->bytes_req += bytes_req;
	if (kmemtop_config.sample_one_in > 1) {
		if (!sampled(ptr))
			return;
		SITE_ADD(full, st->sampled_allocs, 1);
	}
	detail = detail_alloc(pctx, idx, ctx);
#ifdef KMEMTOP_BENCH_CPU_SHARD
	shard_drain();
	if (!shard_insert(ptr, idx)) {
#else
	if (!live_insert(ptr, idx, detail)) {
#endif
		SITE_ADD(full, st->untracked_allocs, 1);
		detail_free(detail);
	}
}

/*
 * A free with nothing to look up: kfree(NULL), or an object not sampled.
 * Counted here: in the program's own counter set (own, which: a primary
 * program), or atomically in the shared one.
 */
static __always_inline bool free_untracked(__u64 ptr, bool own, __u32 which)
{
	enum kmemtop_counter c;

	if (ptr <= ZERO_SIZE_PTR)
		c = KMEMTOP_CNT_NULL_FREES;
	else if (!sampled(ptr))
		c = KMEMTOP_CNT_UNSAMPLED_FREES;
	else
		return false;
	if (own)
		bump_own_counter(c, which);
	else
		bump_counter(c);
	return true;
}

static __always_inline __attribute__((unused)) void free_now(__u64 ptr, __u32 ctx)
{
	struct site_stats *st;
	bool tracked;
	__u32 site, detail;

	site = live_remove(ptr, &tracked, &detail);
	if (!tracked) {
		bump_lost(KMEMTOP_LOST_UNTRACKED_FREE);
		return;
	}
	st = site ? stats_of(site) : NULL;
	if (!st) {
		bump_lost(KMEMTOP_LOST_SITE_MISSING);
		return;
	}
	if (ctx >= KMEMTOP_CTX_MAX)  /* for the verifier */
		ctx = KMEMTOP_CTX_UNKNOWN;
	/* Frees of one site come from both free programs, but never two of one context at once on a CPU. */
	st->frees[ctx] += 1;
	detail_free(detail);
}

#ifdef KMEMTOP_BENCH_FREE_BATCH
/*
 * A measurement build (scripts/bench-overhead freebatch), not exact: frees
 * are logged per CPU and applied FREE_BATCH at a time, so that their
 * live-table lookups overlap instead of each waiting for a cache line the
 * allocating CPU holds.  An address reused before its logged free is applied
 * is not handled (its slot is counted as a missed free), and the host's
 * reads do not apply what is pending: for what batching would buy only.
 */
#define FREE_BATCH 64
struct free_log {
	__u32 n;
	__u32 pad;
	__u64 ptr[FREE_BATCH];
	__u32 ctx[FREE_BATCH];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct free_log);
} free_log SEC(".maps");

struct free_log_ref {
	struct free_log *log;
};

static long apply_logged(__u64 i, void *data)
{
	struct free_log *log = ((struct free_log_ref *)data)->log;

	if (!log || i >= FREE_BATCH)
		return 1;
	free_now(log->ptr[i], log->ctx[i]);
	return 0;
}
#endif

static __always_inline void on_free(__u64 ptr, __u32 ctx)
{
#ifdef KMEMTOP_BENCH_FREE_SKIP  /* a measurement build: what a free's live-table work costs (scripts/bench-overhead freeskip); not exact */
	return;
#elif defined(KMEMTOP_BENCH_CPU_SHARD)
	shard_free(ptr, ctx);
#elif defined(KMEMTOP_BENCH_FREE_BATCH)
	struct free_log *log;
	__u32 zero = 0, n;

	log = bpf_map_lookup_elem(&free_log, &zero);
	if (!log)
		return;
	n = log->n;
	if (n >= FREE_BATCH)
		n = 0;
	log->ptr[n] = ptr;
	log->ctx[n] = ctx;
	log->n = n + 1;
	if (n + 1 == FREE_BATCH) {
		struct free_log_ref ref = { .log = log };

		bpf_loop(FREE_BATCH, apply_logged, &ref, 0);
		log->n = 0;
	}
#else
	free_now(ptr, ctx);
#endif
}

/*
 * The slab tracepoints are raw_tp, not tp_btf: a tp_btf program may not
 * read a `const void *` argument on Linux 6.12 and before ("func 'kmalloc'
 * arg1 type UNKNOWN is not a struct"), and the verifier types a struct
 * pointer argument as a trusted pointer whose value cannot be hashed.
 * raw_tp hands every argument over as a plain integer.  Both go through the
 * same dispatch (bpf_trace_run) with the same per-program recursion guard.
 */
/* A kmalloc site's key.cache: the size, and the kmalloc cache type the kernel picks from the flags (kmalloc_type()). */
static __always_inline __u64 kmalloc_key(__u64 bytes_alloc, __u32 gfp)
{
	__u64 type;

	if (bytes_alloc > KMEMTOP_KMALLOC_MAX_CACHE_SIZE)
		return bytes_alloc;  /* pages, whatever the flags */
	if (gfp & kmemtop_config.gfp_dma)
		type = KMEMTOP_KMALLOC_DMA;
	else if (gfp & kmemtop_config.gfp_reclaimable)
		type = KMEMTOP_KMALLOC_RECLAIM;
	else if (gfp & kmemtop_config.gfp_account)
		type = KMEMTOP_KMALLOC_CGROUP;
	else
		type = KMEMTOP_KMALLOC_NORMAL;
	return bytes_alloc | type << KMEMTOP_KMALLOC_TYPE_SHIFT;
}

SEC("raw_tp/kmalloc")
int BPF_PROG(kmemtop__kmalloc, unsigned long call_site, __u64 ptr,
	     size_t bytes_req, size_t bytes_alloc, gfp_t gfp_flags, int node)
{
	on_alloc(ctx, call_site, ptr, kmalloc_key(bytes_alloc, gfp_flags), bytes_req);
	return 0;
}

SEC("raw_tp/kmem_cache_alloc")
int BPF_PROG(kmemtop__kmem_cache_alloc, unsigned long call_site, const void *ptr,
	     __u64 cache, gfp_t gfp_flags, int node)
{
	on_alloc(ctx, call_site, (__u64)ptr, cache, 0);
	return 0;
}

/*
 * Frees nest: a softirq run at the end of an interrupt that arrived while a
 * free program ran on this CPU frees its own objects, and the kernel skips
 * those runs of the same program (recursion_misses).  Each object skipped
 * would look live until its address is reused.  With catch_nested
 * (--catch-nested; by default the skips are only counted, from the kernel's
 * recursion_misses) each free tracepoint has
 * a second program, attached after the first, that handles exactly the
 * events the first did not: the first records, per CPU and per context, the
 * address it is handling; the second consumes that record and acts only
 * when it does not match.  Events of one context never nest on one CPU, so
 * the per-context record cannot be overwritten by a nested event, and no
 * window at the start or end of the first program is left uncovered.  The
 * record is the address with its low bit flipped, so that a consumed record
 * (0) never matches, not even kfree(NULL).  The host reports primary misses
 * minus nested catches as the loss.
 */
enum free_prog { FREE_KFREE = 0, FREE_CACHE = 1, FREE_MAX = 2 };

struct free_handled {
	__u64 ptr[KMEMTOP_CTX_MAX];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, FREE_MAX);
	__type(key, __u32);
	__type(value, struct free_handled);
} free_handled SEC(".maps");

static __always_inline void free_primary(__u64 ptr, __u32 which)
{
	struct free_handled *h;
	__u32 ctx;

	/* Nobody to tell what was handled: kfree(NULL) and an unsampled object need no context. */
	if (!kmemtop_config.catch_nested && free_untracked(ptr, true, which))
		return;
	ctx = event_context();
	if (ctx >= KMEMTOP_CTX_MAX)
		ctx = KMEMTOP_CTX_UNKNOWN;
	if (kmemtop_config.catch_nested) {
		h = bpf_map_lookup_elem(&free_handled, &which);
		if (h)
			h->ptr[ctx] = ptr ^ 1;
		if (free_untracked(ptr, true, which))
			return;
	}
	on_free(ptr, ctx);
}

/*
 * The second program runs for every free, so it must be cheap: rather than
 * computing this event's context, it looks for the record in every context
 * slot (one cache line).  Another context's slot cannot hold this address:
 * an object is freed once, and a record is consumed by the event it names.
 */
static __always_inline void free_nested(__u64 ptr, __u32 which, enum kmemtop_counter caught)
{
	struct free_handled *h = bpf_map_lookup_elem(&free_handled, &which);
	__u64 rec = ptr ^ 1;
	__u32 ctx;
	int c;

	if (!h)
		return;
#pragma unroll
	for (c = 0; c < KMEMTOP_CTX_MAX; c++) {
		if (h->ptr[c] == rec) {
			h->ptr[c] = 0;  /* the first program handled it */
			return;
		}
	}
	bump_counter(caught);
	if (free_untracked(ptr, false, 0))
		return;
	ctx = event_context();
	if (ctx >= KMEMTOP_CTX_MAX)
		ctx = KMEMTOP_CTX_UNKNOWN;
	on_free(ptr, ctx);
}

SEC("raw_tp/kfree")
int BPF_PROG(kmemtop__kfree, unsigned long call_site, __u64 ptr)
{
	free_primary(ptr, FREE_KFREE);
	return 0;
}

SEC("raw_tp/kfree")
int BPF_PROG(kmemtop__kfree_nested, unsigned long call_site, __u64 ptr)
{
	free_nested(ptr, FREE_KFREE, KMEMTOP_CNT_NESTED_KFREE);
	return 0;
}

/* Only the first two arguments are read: the third is the cache (6.2+) or its name (6.1). */
SEC("raw_tp/kmem_cache_free")
int BPF_PROG(kmemtop__kmem_cache_free, unsigned long call_site, __u64 ptr)
{
	free_primary(ptr, FREE_CACHE);
	return 0;
}

SEC("raw_tp/kmem_cache_free")
int BPF_PROG(kmemtop__kmem_cache_free_nested, unsigned long call_site, __u64 ptr)
{
	free_nested(ptr, FREE_CACHE, KMEMTOP_CNT_NESTED_CACHE_FREE);
	return 0;
}

/* ---- the page allocator (--pages) -------------------------------------- */

/*
 * Page allocations carry no call site: it is the first frame of the
 * allocation's stack after the page allocator's functions (the host
 * lists their text ranges in the config).  A page site's key is that frame
 * and KMEMTOP_PAGE_SITE | order; the struct page pointer is the live
 * table's key (never equal to a slab object's address: another region).
 * Movable allocations -- user memory, page cache, which live and die by the
 * million and are the LRU's -- are counted, not tracked.
 */
struct page_stack {
	__u64 ip[KMEMTOP_PAGE_STACK];
};

/* Per CPU and context (events of one context never nest on one CPU). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, KMEMTOP_CTX_MAX);
	__type(key, __u32);
	__type(value, struct page_stack);
} page_stack_buf SEC(".maps");

/* Written by the host before load; writable data, so the verifier does not know them (kmemtop.h). */
struct kmemtop_fn_ranges kmemtop_fn_ranges SEC(".data.ranges");

/* which: 0 the page allocator's functions, 1 vmalloc's. */
static __always_inline bool in_page_allocator(__u64 ip, int which)
{
	const struct kmemtop_range *r = which ? kmemtop_fn_ranges.vmalloc_fns : kmemtop_fn_ranges.page_fns;
	__u32 i, n = which ? kmemtop_fn_ranges.nr_vmalloc_fns : kmemtop_fn_ranges.nr_page_fns;

	for (i = 0; i < KMEMTOP_PAGE_FN_RANGES; i++) {
		if (i >= n)
			break;
		if (ip >= r[i].start && ip < r[i].end)
			return true;
	}
	return false;
}

/*
 * The frame walk of page_call_site(), one frame per bpf_loop step: the
 * verifier checks the step once, where a loop in the program itself made
 * it walk every frame times every range (over 500,000 instructions
 * verified for the page allocation program).
 */
struct frame_walk {
	struct page_stack *st;
	__u64 frames;
	__u64 site;
	__u32 which;
	__u32 seen;
};

static long frame_step(__u64 i, struct frame_walk *w)
{
	__u64 ip;

	if (i >= w->frames || i >= KMEMTOP_PAGE_STACK || !w->st)
		return 1;
	ip = w->st->ip[i & (KMEMTOP_PAGE_STACK - 1)];
	if (in_page_allocator(ip, w->which)) {
		w->seen = 1;
		return 0;
	}
	if (!w->seen)
		return 0;
	w->site = ip;
	return 1;
}

static __always_inline __u64 page_call_site(void *ctx, __u32 ectx, int which)
{
	struct frame_walk w = { .which = which };
	long n;

	w.st = bpf_map_lookup_elem(&page_stack_buf, &ectx);
	if (!w.st)
		return 0;
	n = bpf_get_stack(ctx, w.st->ip, sizeof(w.st->ip), 0);
	if (n <= 0)
		return 0;
	/*
	 * The stack starts in this program and the tracepoint's trampoline,
	 * then the allocator: the site is the first frame after the
	 * allocator's frames.
	 */
	w.frames = n / sizeof(__u64);
	bpf_loop(KMEMTOP_PAGE_STACK, frame_step, &w, 0);
	return w.site;
}

/* Failed page allocations, by call site, order and flags (movable ones too: a failure matters whatever it was for). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct page_fail_key);
	__type(value, __u64);
} page_failures SEC(".maps");

static __always_inline void page_failed(__u64 site, __u32 order, __u32 gfp)
{
	struct page_fail_key key = { .call_site = site, .order = order, .gfp = gfp };
	__u64 one = 1, *n;

	n = bpf_map_lookup_elem(&page_failures, &key);
	if (n)
		__sync_fetch_and_add(n, 1);
	else if (bpf_map_update_elem(&page_failures, &key, &one, BPF_NOEXIST))
		bump_lost(KMEMTOP_LOST_PAGE_SITE);
}

SEC("raw_tp/mm_page_alloc")
int BPF_PROG(kmemtop__page_alloc, __u64 page, unsigned int order, gfp_t gfp_flags, int migratetype)
{
	bool movable = migratetype == bpf_core_enum_value(enum migratetype, MIGRATE_MOVABLE);
	__u64 site;
	__u32 ectx;

	if (movable && page) {
		bump_counter(KMEMTOP_CNT_PAGE_MOVABLE);
		return 0;
	}
	/* One stack walk per event (the verifier explores it once): for what is tracked, and for failures. */
	ectx = event_context();
	if (ectx >= KMEMTOP_CTX_MAX)
		ectx = KMEMTOP_CTX_UNKNOWN;
	site = page_call_site(ctx, ectx, 0);
	if (!page)
		page_failed(site, order, gfp_flags);
	if (movable)
		return 0;
	if (!site) {
		bump_lost(KMEMTOP_LOST_PAGE_SITE);
		return 0;
	}
	{
		/* The key's migrate type: kmemtop's own codes (KMEMTOP_PAGE_*), from the kernel's enum values. */
		__u32 mt = migratetype == bpf_core_enum_value(enum migratetype, MIGRATE_UNMOVABLE) ? KMEMTOP_PAGE_UNMOVABLE :
			   migratetype == bpf_core_enum_value(enum migratetype, MIGRATE_RECLAIMABLE) ? KMEMTOP_PAGE_RECLAIMABLE :
			   KMEMTOP_PAGE_OTHER_TYPE;

		on_alloc(ctx, site, page, KMEMTOP_PAGE_SITE | (mt << 8) | (order & 0xff), 0);
	}
	return 0;
}

/* A page's free: attributed when it was tracked; else (user pages, pages older than tracing) only counted. */
static __always_inline void page_free(__u64 page)
{
	struct site_stats *st;
	bool tracked;
	__u32 site, detail, ctx;

	if (!page || !sampled(page))
		return;
	site = live_remove(page, &tracked, &detail);
	if (!tracked) {
		bump_counter(KMEMTOP_CNT_PAGE_FREES_OTHER);
		return;
	}
	st = site ? stats_of(site) : NULL;
	if (!st) {
		bump_lost(KMEMTOP_LOST_SITE_MISSING);
		return;
	}
	ctx = event_context();
	if (ctx >= KMEMTOP_CTX_MAX)
		ctx = KMEMTOP_CTX_UNKNOWN;
	__sync_fetch_and_add(&st->frees[ctx], 1);
	detail_free(detail);
}

SEC("raw_tp/mm_page_free")
int BPF_PROG(kmemtop__page_free, __u64 page, unsigned int order)
{
	page_free(page);
	return 0;
}

SEC("raw_tp/mm_page_free_batched")
int BPF_PROG(kmemtop__page_free_batched, __u64 page)
{
	page_free(page);
	return 0;
}

/* ---- percpu allocations (--pages) --------------------------------------- */

/*
 * The percpu allocator names its caller; a site is (call site,
 * KMEMTOP_PERCPU_SITE | the bytes an allocation takes on all possible CPUs),
 * the __percpu pointer the live table's key (its own address range).
 */
SEC("raw_tp/percpu_alloc_percpu")
int BPF_PROG(kmemtop__percpu_alloc, unsigned long call_site, bool reserved, bool is_atomic, size_t size, size_t align,
	     void *base_addr, int off, __u64 ptr, size_t bytes_alloc, gfp_t gfp_flags)
{
	on_alloc(ctx, call_site, ptr, KMEMTOP_PERCPU_SITE | (bytes_alloc & (KMEMTOP_PERCPU_SITE - 1)), 0);
	return 0;
}

SEC("raw_tp/percpu_free_percpu")
int BPF_PROG(kmemtop__percpu_free, void *base_addr, int off, __u64 ptr)
{
	page_free(ptr);
	return 0;
}

/* ---- vmalloc (--pages) ----------------------------------------------------- */

/*
 * vmalloc is tracked by its areas (vmap areas also map what vmalloc did not
 * allocate: vmap, ioremap); the pages vmalloc allocates for them show as
 * page sites inside vmalloc, which the host keeps apart (vmallocPages).  A
 * vmap area's call site is the first frame after vmalloc's functions; the
 * area's address is the live table's key.  vfree releases the area at free_vmap_area_noflush
 * (its address is reused only after the lazy purge).
 */
SEC("raw_tp/alloc_vmap_area")
int BPF_PROG(kmemtop__vmap_alloc, __u64 addr, __u64 size, __u64 align, __u64 vstart, __u64 vend, int failed)
{
	__u64 site;
	__u32 ectx;

	if (failed)
		return 0;
	ectx = event_context();
	if (ectx >= KMEMTOP_CTX_MAX)
		ectx = KMEMTOP_CTX_UNKNOWN;
	site = page_call_site(ctx, ectx, 1);
	if (!site) {
		bump_lost(KMEMTOP_LOST_PAGE_SITE);
		return 0;
	}
	on_alloc(ctx, site, addr, KMEMTOP_VMALLOC_SITE | ((size >> 12) & (KMEMTOP_VMALLOC_SITE - 1)), 0);
	return 0;
}

SEC("raw_tp/free_vmap_area_noflush")
int BPF_PROG(kmemtop__vmap_free, __u64 va_start, __u64 nr_lazy, __u64 nr_lazy_max)
{
	page_free(va_start);
	return 0;
}
