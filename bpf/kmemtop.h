/* SPDX-License-Identifier: GPL-2.0 */
/*
 * kmemtop.h - the one contract between the BPF programs and the host.
 *
 * Every struct and enum that crosses the kernel boundary lives here, with
 * fixed-width fields, explicit padding and no bitfields.  The TypeScript
 * decoders in src/abi/layout.ts mirror these definitions; test/abi.test.ts
 * reads the compiled object's BTF and fails if the two disagree.
 */
#ifndef KMEMTOP_H
#define KMEMTOP_H

#define KMEMTOP_CACHE_NAME_LEN 32
#define KMEMTOP_LIVE_WAYS 8  /* two 64-byte cache lines per bucket (a full bucket is then rare) */
#define KMEMTOP_SELF_MAX 8   /* kmemtop processes whose own allocations are left out (self_tgids) */
#define KMEMTOP_AGE_BUCKETS 4 /* live objects by age: < 10 s, < 1 min, < 10 min, older (site_ages) */
#define KMEMTOP_PAGE_FN_RANGES 32 /* --pages: text ranges of the page allocator's own functions */
#define KMEMTOP_PAGE_STACK 16     /* --pages: frames looked at for a page allocation's call site */
/* --pages: site_key.cache of a page site: this flag, and the allocation's order (never a kmalloc size). */
#define KMEMTOP_PAGE_SITE (1U << 31)
/* A page site's key: KMEMTOP_PAGE_SITE | migrate type (this enum) << 8 | order. */
enum kmemtop_page_type {
	KMEMTOP_PAGE_UNMOVABLE = 0,
	KMEMTOP_PAGE_RECLAIMABLE = 1,
	KMEMTOP_PAGE_OTHER_TYPE = 2,  /* high-atomic reserves, CMA, isolated */
	KMEMTOP_PAGE_TYPES,
};
/* --pages: site_key.cache of a percpu site: this flag, and the bytes one allocation takes on all CPUs. */
#define KMEMTOP_PERCPU_SITE (1U << 30)
/* --pages: site_key.cache of a vmalloc site: this flag, and the vmap area's size in pages (its guard page included). */
#define KMEMTOP_VMALLOC_SITE (1U << 29)
/*
 * A kmalloc site's key.cache: the allocated size (below 1 << 24), and for a
 * kmalloc a slab cache serves (up to KMEMTOP_KMALLOC_MAX_CACHE_SIZE) the
 * type of kmalloc cache the kernel picks from the call's GFP flags
 * (kmalloc_type() in include/linux/slab.h) << KMEMTOP_KMALLOC_TYPE_SHIFT.
 */
#define KMEMTOP_KMALLOC_TYPE_SHIFT 24
#define KMEMTOP_KMALLOC_SIZE_MASK ((1U << KMEMTOP_KMALLOC_TYPE_SHIFT) - 1)
#define KMEMTOP_KMALLOC_MAX_CACHE_SIZE 8192  /* KMALLOC_MAX_CACHE_SIZE (two pages); above it, pages */
enum kmemtop_kmalloc_type {
	KMEMTOP_KMALLOC_NORMAL = 0,   /* kmalloc-N */
	KMEMTOP_KMALLOC_RECLAIM = 1,  /* kmalloc-rcl-N: __GFP_RECLAIMABLE */
	KMEMTOP_KMALLOC_DMA = 2,      /* dma-kmalloc-N: __GFP_DMA */
	KMEMTOP_KMALLOC_CGROUP = 3,   /* kmalloc-cg-N: __GFP_ACCOUNT */
};

/* Context of an event, from preempt_count (see event_context() in kmemtop.bpf.c). */
enum kmemtop_context {
	KMEMTOP_CTX_TASK = 0,     /* process context */
	KMEMTOP_CTX_TASK_BH = 1,  /* process context with bottom halves disabled */
	KMEMTOP_CTX_SOFTIRQ = 2,  /* serving a softirq */
	KMEMTOP_CTX_HARDIRQ = 3,  /* hard interrupt */
	KMEMTOP_CTX_NMI = 4,      /* non-maskable interrupt */
	KMEMTOP_CTX_UNKNOWN = 5,  /* context could not be read on this kernel */
	KMEMTOP_CTX_MAX = 6,
};

/* A text address range [start, end). */
struct kmemtop_range {
	__u64 start;
	__u64 end;
};

/*
 * Run-time configuration, set by the host between open and load (section
 * .rodata.config, so the verifier sees constants).
 */
/*
 * --pages: the page allocator's functions (and the tracepoint's own
 * frames), [start, end) text addresses from kallsyms; a page allocation's
 * call site is the first stack frame outside them.  vmalloc's functions
 * likewise (a vmap area's call site is the first frame after them).  Kept
 * out of kmemtop_config, in writable data (.data.ranges): the verifier
 * knows the values of read-only data, and comparing a frame against known
 * addresses splits its states at every range (over 500,000 instructions
 * verified for the page allocation program).
 */
struct kmemtop_fn_ranges {
	__u32 nr_page_fns;
	__u32 nr_vmalloc_fns;
	struct kmemtop_range page_fns[KMEMTOP_PAGE_FN_RANGES];
	struct kmemtop_range vmalloc_fns[KMEMTOP_PAGE_FN_RANGES];
};

struct kmemtop_config {
	__u32 live_buckets_mask;    /* live table buckets - 1 (a power of two minus one) */
	__u32 max_sites;            /* capacity of the site index (index 0 is never used) */
	__u32 site_cache_mask;      /* per-CPU site cache entries per context - 1 */
	__u32 task_tree;            /* 1: count only task-context allocations by the processes in task_tree */
	/*
	 * &runqueues - &__preempt_count within the per-CPU section (from the
	 * kernel's BTF): this CPU's preempt_count lies that far below this
	 * CPU's runqueue.  0: unknown, every event's context is "unknown".
	 */
	__u64 preempt_count_delta;
	/*
	 * Track 1 object in this many (chosen by a hash of its address, so its
	 * free is recognised without a lookup); 0 or 1: every object.  Counts
	 * of allocations (per site) and of free events stay exact.
	 */
	__u32 sample_one_in;
	/* 1: the *_nested free programs are attached: the primaries record what they handled. */
	__u32 catch_nested;
	/* max_entries of live_overflow: a failed spill is "live full" only when it holds that many. */
	__u32 overflow_max;
	/*
	 * 1: allocations made in task context by a process listed in
	 * self_tgids (kmemtop itself: loading programs and maps, reading
	 * them) are counted, not tracked (--include-self: 0).
	 */
	__u32 exclude_self;
	/* 1: record each allocation's kernel stack (--stacks; stack_traces sized by the host). */
	__u32 stacks;
	/* 1: attribute each allocation to the memory cgroup of the allocating task (--by-cgroup). */
	__u32 by_cgroup;
	/* 1: attribute each allocation to the allocating process (--by-task). */
	__u32 by_task;
	/* The kernel's CONFIG_HZ (host: the kernel's config): stamps from jiffies (bpf/stamp.h); 0: unknown. */
	__u32 hz;
	/*
	 * 1: the kernel has the kfunc bpf_rdonly_cast (Linux 6.2+): an event's
	 * context is read with a plain load; 0: with bpf_probe_read_kernel.
	 */
	__u32 rdonly_cast;
	/*
	 * The GFP bits by which the kernel serves a kmalloc from its DMA,
	 * reclaimable or memory-cgroup kmalloc caches (0: this kernel has no
	 * such caches, see kmalloc_type()), from the kernel's BTF and the
	 * caches it has.
	 */
	__u32 gfp_dma;
	__u32 gfp_reclaimable;
	__u32 gfp_account;
	__u32 pad0;
};

/*
 * A call site: call_site is the return address the kmem tracepoint reports.
 * cache is the struct kmem_cache pointer for kmem_cache_alloc sites, and for
 * kmalloc sites the allocated size (the kmalloc size class, or the page
 * allocation's size for large kmallocs): always below 2^32, never a kernel
 * address.  The host symbolizes call_site, resolves cache pointers through
 * the caches map, and prints no address.
 * Sites are numbered from 1 in order of first use; site_keys[idx] holds the
 * key (all zero for an index lost to a creation race).
 */
struct site_key {
	__u64 call_site;
	__u64 cache;
};

/*
 * The last site index (max_sites - 1) is "(sites map full)": every
 * allocation at a call site that found no free index is counted there, so
 * totals stay whole.  Its key: call_site 0, cache KMEMTOP_FULL_SITE_KEY; its
 * objects differ in size, so its bytes_req sums their allocated bytes.
 */
#define KMEMTOP_FULL_SITE_KEY 0xffffffffULL

/*
 * Per-site counters, one copy per CPU (site_stats[idx], summed by the host).
 * All updates are atomic adds, so a program nesting in an interrupt over
 * another on the same CPU cannot lose an increment.
 *
 * Every object of a site has the same allocated size (the cache's size, or
 * the kmalloc size class, which is part of the key), so the kernel counts
 * objects and the host derives the bytes: allocated = allocs * size, live
 * bytes = live objects * size.  Only requested bytes vary per kmalloc call.
 *
 * Conservation (checked by the host and the tests):
 *   live objects = sum(allocs) - untracked_allocs - sum(frees) - frees_unseen
 */
struct site_stats {
	__u64 allocs[KMEMTOP_CTX_MAX];  /* successful allocations, by context */
	__u64 frees[KMEMTOP_CTX_MAX];   /* frees of this site's objects seen by a free tracepoint, by the free's context */
	__u64 bytes_req;                /* kmalloc sites: sum of requested bytes (cache sites: 0, it is allocs * object_size) */
	__u64 untracked_allocs;         /* allocations that could not enter the live table */
	__u64 frees_unseen;             /* objects retired without a free event (address handed out again) */
	__u64 failed_allocs;            /* allocation attempts that returned NULL */
	__u64 sampled_allocs;           /* sampling on: allocations chosen for tracking (live = this - frees - ...) */
};

/*
 * The live table: an array of buckets, each KMEMTOP_LIVE_WAYS slots, indexed
 * by a hash of the object's address.  A slot is claimed by a compare-and-
 * exchange of ptr from 0, and released by its free (only the object's free
 * writes a slot holding its address).  No locks on the per-event path.  A
 * full bucket spills into the live_overflow hash map.
 */
struct live_slot {
	__u64 ptr;    /* object address; 0 = empty */
	__u32 site;   /* site index; 0 while the claiming CPU has not written it yet */
	__u32 stamp;  /* when the object was allocated: seconds since boot (jiffies, bpf/stamp.h), for the sweep's ages */
};

struct live_bucket {
	struct live_slot slot[KMEMTOP_LIVE_WAYS];
};

/* Value of live_overflow (key: the object's address, a __u64). */
struct live_value {
	__u32 site;
	__u32 detail; /* as in struct live_detail */
	__u32 stamp;  /* as in struct live_slot */
	__u32 pad;
};

/*
 * --stacks/--by-cgroup/--by-task: each slot's detail index (detail_stats;
 * 0 = none), element b of live_details for bucket b of live; written by the
 * allocation that claims (or reuses) the slot, read by its free and the
 * sweep.  Kept apart from the buckets: without details nothing touches it
 * (the map then has one element), and an allocation writes one line, not
 * two (the allocation time, which every allocation writes, is in the slot).
 */
struct live_detail {
	__u32 detail[KMEMTOP_LIVE_WAYS];
};

/*
 * What the sweep found per site among the live objects it kept
 * (site_ages[idx], rewritten by every sweep): live objects by age, how many
 * are older than the run's older_than, and the oldest one's stamp.
 */
struct site_age {
	__u64 count[KMEMTOP_AGE_BUCKETS];
	__u64 older;
	__u32 oldest;  /* stamp (seconds since boot) of the oldest; 0: none */
	__u32 pad;
};

/*
 * Details (--stacks, --by-cgroup, --by-task): a site's allocations split by
 * who made them.  A detail is a (site, stack, memory cgroup, process) tuple
 * with the dimensions not asked for left 0; details are numbered from 1 in
 * order of first use like sites (detail_ids: key -> index; detail_keys[idx]:
 * the key, all zero for an index lost to a creation race).  The live slot
 * keeps the index, so a free (or retirement) finds its counters without a
 * hash lookup: live = allocs - frees.
 */
struct detail_key {
	__u32 site;
	__u32 stack;    /* stack id + 1 in stack_traces; 0: none (no --stacks, or the stack was not recorded) */
	__u64 cgroup;   /* kernfs id (inode number) of the allocating task's memory cgroup; 0: none or interrupt context */
	__u32 tgid;     /* allocating process; 0: none or interrupt context */
	__u32 pad;
};

/* Value of detail_keys: the key, and the allocating thread's name when the detail was created. */
struct detail_info {
	struct detail_key key;
	char comm[16];
};

/* --by-task: a process's current name (kmemtop.bpf.c task_names, by tgid). */
struct task_name {
	char comm[16];
};

struct detail_stats {
	__u64 allocs;  /* allocations with this detail */
	__u64 frees;   /* of those, freed or retired since */
};

/* --pages: a failed page allocation (key of page_failures; value: how many). */
struct page_fail_key {
	__u64 call_site;  /* the first frame after the allocator; 0 when not found */
	__u32 order;
	__u32 gfp;        /* gfp_t as the tracepoint gives it (bit positions: the kernel's enum ___GFP_*_BIT) */
};

/* Per-CPU direct-mapped cache of site_key -> site index, in front of site_ids. */
struct site_cache_entry {
	struct site_key key;
	__u32 idx;
	__u32 pad;
};

/* kmemtop's own processes (element 0 of self_tgids): tgids, 0 = a free slot. */
struct kmemtop_self {
	__u32 tgid[KMEMTOP_SELF_MAX];
};

/* Global state, element 0 of the state array. */
struct kmemtop_state {
	__u64 next_site;         /* last site index handed out */
	__u64 overflow_entries;  /* entries in live_overflow now */
	__u64 next_detail;       /* last detail index handed out */
};

/* Value of the caches map (key: the struct kmem_cache pointer, a __u64). */
struct cache_info {
	char name[KMEMTOP_CACHE_NAME_LEN];
	__u32 object_size;  /* kmem_cache->object_size: what callers asked for */
	__u32 size;         /* kmem_cache->size: what each object occupies */
};

/*
 * Events the programs saw but could not account for, by cause.  Index into
 * the per-CPU array map "lost".  Keep KMEMTOP_LOST_MAX last.
 */
enum kmemtop_lost_cause {
	KMEMTOP_LOST_SITES_FULL = 0,     /* new call site, site index full: event not counted */
	KMEMTOP_LOST_LIVE_FULL = 1,      /* allocation counted but not tracked: bucket and overflow full */
	KMEMTOP_LOST_LIVE_UPDATE = 2,    /* live table update failed for another reason */
	KMEMTOP_LOST_UNTRACKED_FREE = 3, /* free of an address not in the live table (allocated before tracing, or untracked) */
	KMEMTOP_LOST_SITE_MISSING = 4,   /* free of a live entry whose site was not yet written (alloc/free race) */
	KMEMTOP_LOST_FREE_UNSEEN = 5,    /* address handed out again while still live: its free was never seen */
	KMEMTOP_LOST_SLAB_GONE = 6,      /* retired by the sweep: its address is no longer in a slab of its cache (sweep.bpf.c) */
	KMEMTOP_LOST_STACK = 7,          /* --stacks: an allocation's stack not recorded (its stack map bucket held another stack, or the map was full); counted under "no stack" */
	KMEMTOP_LOST_DETAIL = 8,         /* --stacks/--by-*: an allocation not attributed (detail index full); its site's figures stay exact */
	KMEMTOP_LOST_PAGE_SITE = 9,      /* --pages: a page allocation whose call site was not found (no stack, or every frame in the allocator): not counted */
	KMEMTOP_LOST_MAX = 10,
};

/* Counters that are not losses, index into the per-CPU array map "counters". */
enum kmemtop_counter {
	KMEMTOP_CNT_NULL_FREES = 0,      /* kfree(NULL) / kfree(ZERO_SIZE_PTR): nothing to free */
	KMEMTOP_CNT_ZERO_ALLOCS = 1,     /* kmalloc(0): ZERO_SIZE_PTR, nothing allocated */
	KMEMTOP_CNT_OVERFLOW_INSERTS = 2,/* allocations that spilled into live_overflow */
	KMEMTOP_CNT_NESTED_KFREE = 3,    /* kfree events the primary program missed (nested), caught by the second */
	KMEMTOP_CNT_NESTED_CACHE_FREE = 4, /* same for kmem_cache_free */
	KMEMTOP_CNT_UNSAMPLED_FREES = 5, /* sampling on: free events of objects not chosen for tracking */
	KMEMTOP_CNT_SELF_ALLOCS = 6,     /* allocations by kmemtop's own processes, left out (exclude_self) */
	KMEMTOP_CNT_PAGE_FREES_OTHER = 7, /* --pages: frees of pages not tracked (user pages, movable, allocated before tracing) */
	KMEMTOP_CNT_PAGE_MOVABLE = 8,    /* --pages: movable page allocations (user memory, page cache), not tracked */
	KMEMTOP_CNT_MAX = 9,
};

/*
 * The counters map holds KMEMTOP_COUNTER_SETS copies of the counters
 * (index = set * KMEMTOP_CNT_MAX + counter): set 0 for every writer that
 * needs atomic adds; set 1 for the kfree primary program, set 2 for the
 * kmem_cache_free one, each the only writer of its set, so plain adds.  The
 * host sums the sets.
 */
#define KMEMTOP_COUNTER_SETS 3

/* What one run of sweep.bpf.c did (its context: filled in and copied back to the host). */
struct kmemtop_sweep_stats {
	__u64 examined;  /* live entries looked at */
	__u64 retired;   /* of those, retired: their slab is gone */
	__u64 raced;     /* retirements given up: a free or allocation changed the entry meanwhile */
	__u32 older_than; /* in: count per site the live objects at least this many seconds old */
	__u32 now;        /* out: the clock the ages were taken against (seconds since boot) */
	__u32 hz;         /* in: as kmemtop_config.hz (the same clock as the stamps) */
	__u32 pad;
};

/* ---- reclaim.bpf.c: shrinkers, reclaim, OOM kills ------------------------ */

#define KMEMTOP_FS_NAME_LEN 16
#define KMEMTOP_SB_ID_LEN 32
#define KMEMTOP_COMM_LEN 16
#define KMEMTOP_OOM_RING 32

struct kmemtop_reclaim_config {
	__u64 super_cache_scan;  /* address of super_cache_scan (from kallsyms), 0 if unknown */
};

/* A shrinker on one NUMA node. */
struct kmemtop_shrinker_key {
	__u64 shrinker;  /* struct shrinker pointer: never printed */
	__s32 nid;
	__u32 pad;
};

/*
 * What one shrinker was asked and did (mm_shrink_slab_start/end).  Counts
 * are summed over calls; objects_last and deferred_last are of the last call.
 */
struct kmemtop_shrinker_stats {
	__u64 calls;           /* calls that started */
	__u64 ended;           /* calls that ended (time and freed are over these) */
	__u64 objects_sum;     /* objects in the cache at start (count_objects), summed */
	__u64 objects_last;
	__u64 requested;       /* objects it was asked to scan (total_scan at start), summed */
	__u64 scanned;         /* of those, scanned (total_scan at start - at end) */
	__u64 freed;           /* objects freed (scan_objects' returns) */
	__u64 deferred_in;     /* deferred work taken over at start (nr) */
	__u64 deferred_last;   /* deferred work left at the end of the last call */
	__u64 time_ns;         /* start -> end of the same call, summed */
	__u64 max_time_ns;
	__u64 last_call_ns;    /* bpf_ktime_get_ns() of the last start */
};

/* How to name a shrinker: its functions, and its superblock when it has one. */
struct kmemtop_shrinker_info {
	__u64 scan_objects;  /* function address: symbolized by the host */
	__u64 count_objects;
	char fs_type[KMEMTOP_FS_NAME_LEN];  /* superblock shrinkers: file system type */
	char sb_id[KMEMTOP_SB_ID_LEN];      /* and its s_id (device) */
};

/* Reclaim of one kind (direct, memcg, node): calls, stall time, pages reclaimed. */
struct kmemtop_reclaim_kind {
	__u64 count;
	__u64 ended;
	__u64 stall_ns;
	__u64 max_stall_ns;
	__u64 reclaimed;  /* pages */
};

enum kmemtop_reclaim {
	KMEMTOP_RECLAIM_DIRECT = 0,
	KMEMTOP_RECLAIM_MEMCG = 1,
	KMEMTOP_RECLAIM_NODE = 2,
	KMEMTOP_RECLAIM_MAX = 3,
};

struct kmemtop_reclaim_state {
	struct kmemtop_reclaim_kind kind[KMEMTOP_RECLAIM_MAX];
	__u64 kswapd_wakeups;  /* mm_vmscan_wakeup_kswapd: someone asked kswapd to run */
	__u64 kswapd_runs;     /* mm_vmscan_kswapd_wake: kswapd woke to reclaim */
	__u64 oom_kills;       /* oom:mark_victim */
	__u64 lost;            /* start/end pairs that could not be recorded (map full) */
};

/* One OOM victim; a ring of KMEMTOP_OOM_RING, slot = (oom_kills - 1) % ring. */
/*
 * The last reclaim an allocation entered on a CPU (direct or memcg; written
 * at reclaim begin): what the OOM killer that follows on that CPU was
 * serving.  Element 0 of the per-CPU array last_request.
 */
struct kmemtop_reclaim_request {
	__u64 time_ns;
	__u32 order;
	__u32 gfp;    /* gfp_t (bit positions: the kernel's enum ___GFP_*_BIT) */
	__u32 kind;   /* enum kmemtop_reclaim */
	__u32 pid;
	char comm[KMEMTOP_COMM_LEN];
};

/*
 * Direct compaction done for one request (one task, one order), within a
 * second of its last event: try_to_compact_pages calls, the zones it
 * compacted (mm_compaction_end) and how, the zones it skipped as deferred.
 */
struct kmemtop_compaction {
	__u64 time_ns;     /* last event (0: none) */
	__u32 pid;
	__u32 order;
	__u32 tries;       /* try_to_compact_pages calls */
	__u32 zone_runs;   /* compact_zone runs that ended */
	__u32 zone_successes; /* of those, ended COMPACT_SUCCESS (a free block of the order formed) */
	__u32 zones_deferred; /* zones skipped: compaction deferred after earlier failures */
	__s32 last_result; /* enum compact_result of the last run (-1: none) */
	__u32 pad;
};

struct kmemtop_oom_victim {
	__u64 time_ns;  /* bpf_ktime_get_ns() */
	__u32 pid;
	__u32 uid;
	char comm[KMEMTOP_COMM_LEN];
	__u64 memcg;      /* kernfs id of the victim's memory cgroup (0: none) */
	__u64 rss_pages;  /* the victim's file + anon + shmem pages (its mm's counters, approximate per CPU batches) */
	/* The last reclaim entered on the CPU the kill ran on, if within a second before it (time_ns 0: none). */
	struct kmemtop_reclaim_request request;
	/* Direct compaction by the request's task for its order, if within a second before the kill (time_ns 0: none). */
	struct kmemtop_compaction compaction;
};

#endif /* KMEMTOP_H */
