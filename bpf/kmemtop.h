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

/*
 * Key of the per-call-site aggregate.  call_site is the return address the
 * kmem tracepoint reports; cache is the struct kmem_cache pointer for
 * kmem_cache_alloc sites and 0 for kmalloc sites.  Both are raw kernel
 * addresses: the host symbolizes call_site and resolves cache through the
 * caches map, and never prints either.
 */
struct site_key {
	__u64 call_site;
	__u64 cache;
};

/*
 * Per-call-site counters, one copy per CPU (summed by the host).  All
 * updates are atomic adds, so a free program nesting in an interrupt over
 * another program on the same CPU cannot lose an increment.
 *
 * Conservation (checked by the host and the tests):
 *   live objects = allocs - untracked_allocs - frees - frees_unseen
 *   live bytes   = bytes_alloc - untracked_bytes - freed_bytes - unseen_bytes
 */
struct site_stats {
	__u64 allocs;           /* successful allocations seen */
	__u64 frees;            /* frees of this site's allocations seen by a free tracepoint */
	__u64 bytes_req;        /* sum of requested bytes over allocs */
	__u64 bytes_alloc;      /* sum of allocated bytes over allocs */
	__u64 freed_bytes;      /* allocated bytes of the frees above */
	__u64 untracked_allocs; /* allocations that could not enter the live map */
	__u64 untracked_bytes;  /* their allocated bytes */
	__u64 frees_unseen;     /* allocations retired without a free event (address reused) */
	__u64 unseen_bytes;     /* their allocated bytes */
	__u64 failed_allocs;    /* allocation attempts that returned NULL */
};

/* Value of the live map (key: the object's address, a __u64). */
struct live_alloc {
	struct site_key site;
	__u32 bytes_req;
	__u32 bytes_alloc;
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
	KMEMTOP_LOST_SITES_FULL = 0,     /* new call site, sites map full: event not counted */
	KMEMTOP_LOST_LIVE_FULL = 1,      /* allocation counted but not tracked: live map full */
	KMEMTOP_LOST_LIVE_UPDATE = 2,    /* live map update failed for another reason */
	KMEMTOP_LOST_UNTRACKED_FREE = 3, /* free of an address not in the live map (allocated before tracing, or untracked) */
	KMEMTOP_LOST_SITE_MISSING = 4,   /* live entry whose site entry vanished (should never happen) */
	KMEMTOP_LOST_FREE_UNSEEN = 5,    /* address handed out again while still live: its free was never seen */
	KMEMTOP_LOST_MAX = 6,
};

/* Counters that are not losses, index into the per-CPU array map "counters". */
enum kmemtop_counter {
	KMEMTOP_CNT_NULL_FREES = 0,      /* kfree(NULL) / kfree(ZERO_SIZE_PTR): nothing to free */
	KMEMTOP_CNT_ZERO_ALLOCS = 1,     /* kmalloc(0): ZERO_SIZE_PTR, nothing allocated */
	KMEMTOP_CNT_MAX = 2,
};

#endif /* KMEMTOP_H */
