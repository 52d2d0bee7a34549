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
#define KMEMTOP_LIVE_WAYS 8

/*
 * Run-time configuration, set by the host between open and load (section
 * .rodata.config, so the verifier sees constants).
 */
struct kmemtop_config {
	__u32 live_buckets_mask;  /* live table buckets - 1 (a power of two minus one) */
	__u32 max_sites;          /* capacity of the site index (index 0 is never used) */
	__u32 site_cache_mask;    /* per-CPU site cache entries - 1 */
	__u32 pad;
};

/*
 * A call site: call_site is the return address the kmem tracepoint reports;
 * cache is the struct kmem_cache pointer for kmem_cache_alloc sites and 0 for
 * kmalloc sites.  Both are raw kernel addresses: the host symbolizes
 * call_site and resolves cache through the caches map, and prints neither.
 * Sites are numbered from 1 in order of first use; site_keys[idx] holds the
 * key (all zero for an index lost to a creation race).
 */
struct site_key {
	__u64 call_site;
	__u64 cache;
};

/*
 * Per-site counters, one copy per CPU (site_stats[idx], summed by the host).
 * All updates are atomic adds, so a program nesting in an interrupt over
 * another on the same CPU cannot lose an increment.
 *
 * Byte fields are counted for kmalloc sites only.  A cache site's objects
 * all have the cache's sizes, so its byte fields stay 0 in the kernel and
 * the host derives them (bytes_req = allocs * object_size, bytes_alloc =
 * allocs * size, freed_bytes = frees * size, ...): two atomics fewer per
 * event on the hottest path.
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
	__u64 untracked_allocs; /* allocations that could not enter the live table */
	__u64 untracked_bytes;  /* their allocated bytes */
	__u64 frees_unseen;     /* allocations retired without a free event (address reused) */
	__u64 unseen_bytes;     /* their allocated bytes */
	__u64 failed_allocs;    /* allocation attempts that returned NULL */
};

/*
 * The live table: an array of buckets, each KMEMTOP_LIVE_WAYS slots, indexed
 * by a hash of the object's address.  A slot is claimed by a compare-and-
 * exchange of ptr from 0 and released by one back to 0: no locks on the
 * per-event path.  A full bucket spills into the live_overflow hash map.
 */
struct live_slot {
	__u64 ptr;          /* object address; 0 = empty */
	__u32 site;         /* site index; 0 while the claiming CPU has not written it yet */
	__u32 bytes_alloc;  /* allocated bytes (kmalloc sites); 0 for cache sites */
};

struct live_bucket {
	struct live_slot slot[KMEMTOP_LIVE_WAYS];
};

/* Value of live_overflow (key: the object's address, a __u64). */
struct live_value {
	__u32 site;
	__u32 bytes_alloc;
};

/* Per-CPU direct-mapped cache of site_key -> site index, in front of site_ids. */
struct site_cache_entry {
	struct site_key key;
	__u32 idx;
	__u32 pad;
};

/* Global state, element 0 of the state array. */
struct kmemtop_state {
	__u64 next_site;         /* last site index handed out */
	__u64 overflow_entries;  /* entries in live_overflow now */
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
	KMEMTOP_LOST_MAX = 6,
};

/* Counters that are not losses, index into the per-CPU array map "counters". */
enum kmemtop_counter {
	KMEMTOP_CNT_NULL_FREES = 0,      /* kfree(NULL) / kfree(ZERO_SIZE_PTR): nothing to free */
	KMEMTOP_CNT_ZERO_ALLOCS = 1,     /* kmalloc(0): ZERO_SIZE_PTR, nothing allocated */
	KMEMTOP_CNT_OVERFLOW_INSERTS = 2,/* allocations that spilled into live_overflow */
	KMEMTOP_CNT_MAX = 3,
};

#endif /* KMEMTOP_H */
