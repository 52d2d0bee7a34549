// SPDX-License-Identifier: GPL-2.0
/*
 * linebench: what the hardware charges for the memory traffic of an exact
 * live table, measured directly (issue 20: which part of kmemtop's cost
 * across CPUs is the machine's).  Needs two CPUs.
 *
 *   linebench pingpong N   two threads on CPUs 0 and 1 hand one cache line
 *                          back and forth N times: ns per transfer of a
 *                          line written by the other CPU
 *   linebench handoff MB   the pattern of an object allocated on one CPU
 *                          and freed on the other: CPU 0 writes 16-byte
 *                          slots in random lines of an MB-sized table (as
 *                          allocations claim live-table slots), then CPU 1
 *                          (or CPU 0 again, for comparison) reads and clears
 *                          them (as the frees do); ns per slot, both ways,
 *                          frees overlapping in a batch and one at a time
 *   linebench chase MB     dependent loads over random lines of an MB-sized
 *                          buffer on 4 KiB pages (as a BPF map is: vmalloc):
 *                          ns per load that misses the caches and the TLB
 *   linebench chase-huge MB the same on 2 MiB pages (MADV_HUGEPAGE): the
 *                          cache miss alone; the difference is the TLB's
 */
#define _GNU_SOURCE
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/mman.h>

#define LINE 64

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set)) {
		perror("linebench: sched_setaffinity");
		exit(1);
	}
}

static uint64_t rng = 88172645463325252ULL;

static uint64_t next_rand(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

/* ---- pingpong ---------------------------------------------------------- */

static struct {
	volatile long turn;
	char pad[LINE - sizeof(long)];
} __attribute__((aligned(LINE))) shared;

static long rounds;

static void *ponger(void *arg)
{
	(void)arg;
	pin(1);
	for (long i = 0; i < rounds; i++) {
		while (shared.turn != 2 * i + 1)
			;
		shared.turn = 2 * i + 2;
	}
	return NULL;
}

static int pingpong(long n)
{
	pthread_t t;
	double t0;

	rounds = n;
	pin(0);
	pthread_create(&t, NULL, ponger, NULL);
	t0 = now_ns();
	for (long i = 0; i < n; i++) {
		while (shared.turn != 2 * i)
			;
		shared.turn = 2 * i + 1;
	}
	while (shared.turn != 2 * n)
		;
	printf("pingpong: %.1f ns per line transfer between CPU 0 and CPU 1 (%ld round trips)\n", (now_ns() - t0) / (2.0 * n), n);
	pthread_join(t, NULL);
	return 0;
}

/* ---- handoff ----------------------------------------------------------- */

#define BATCH 256       /* objects in flight between the two CPUs */
#define BATCHES 20000

struct slot {
	uint64_t ptr;
	uint32_t site;
	uint32_t detail;
};

static struct slot *table;
static size_t nslots;
static size_t idx[BATCH];
static volatile int phase; /* 2k+1: batch k written, 2k+2: batch k freed */
/* One free at a time, as per-event frees are (the kernel's own work between them leaves no overlap): lfence after each. */
static int serial;

static inline void one_at_a_time(void)
{
#if defined(__x86_64__) || defined(__i386__)
	if (serial)
		__builtin_ia32_lfence();
#endif
}
static int free_cpu;
static double free_ns;

/* Read and clear the batch's slots, as frees do (one at a time when serial). */
static void free_slots(void)
{
	for (int i = 0; i < BATCH; i++) {
		struct slot *s = &table[idx[i]];

		if (s->ptr == (uint64_t)i + 1) {
			__atomic_store_n(&s->site, 0, __ATOMIC_RELAXED);
			__atomic_store_n(&s->ptr, 0, __ATOMIC_RELAXED);
		}
		one_at_a_time();
	}
}

static void *freer(void *arg)
{
	(void)arg;
	pin(free_cpu);
	for (int b = 0; b < BATCHES; b++) {
		while (phase != 2 * b + 1)
			;
		double t0 = now_ns();
		free_slots();
		free_ns += now_ns() - t0;
		phase = 2 * b + 2;
	}
	return NULL;
}

/* Frees on the allocating CPU: one thread, write a batch then free it. */
static void handoff_same(void)
{
	free_ns = 0;
	for (int b = 0; b < BATCHES; b++) {
		for (int i = 0; i < BATCH; i++) {
			idx[i] = next_rand() % nslots;
			table[idx[i]].ptr = (uint64_t)i + 1;
			table[idx[i]].site = 7;
		}
		double t0 = now_ns();
		free_slots();
		free_ns += now_ns() - t0;
	}
}

/* Frees on the other CPU: CPU 0 writes a batch, CPU 1 frees it. */
static void handoff_run(int cpu)
{
	pthread_t t;

	free_cpu = cpu;
	free_ns = 0;
	phase = 0;
	pthread_create(&t, NULL, freer, NULL);
	for (int b = 0; b < BATCHES; b++) {
		while (phase != 2 * b)
			;
		for (int i = 0; i < BATCH; i++) {
			idx[i] = next_rand() % nslots;
			table[idx[i]].ptr = (uint64_t)i + 1;
			table[idx[i]].site = 7;
		}
		phase = 2 * b + 1;
	}
	pthread_join(t, NULL);
}

static int handoff(long mb)
{
	nslots = ((size_t)mb << 20) / sizeof(struct slot);
	table = aligned_alloc(LINE, nslots * sizeof(struct slot));
	if (!table) {
		perror("linebench: table");
		return 1;
	}
	memset(table, 0, nslots * sizeof(struct slot));
	pin(0);
	for (serial = 0; serial < 2; serial++) {
		handoff_same();
		double same = free_ns / ((double)BATCH * BATCHES);
		handoff_run(1);
		double cross = free_ns / ((double)BATCH * BATCHES);
		handoff_same();
		same = (same + free_ns / ((double)BATCH * BATCHES)) / 2;
		printf("handoff %ld MiB table, %s: %.1f ns per slot freed on the allocating CPU, %.1f ns on the other CPU: %.1f ns per free for the transfer\n",
		       mb, serial ? "one free at a time (as per event)" : "frees in a batch (overlapping)", same, cross, cross - same);
	}
	return 0;
}

/* ---- chase ------------------------------------------------------------- */

static int chase(long mb, int huge)
{
	size_t n = ((size_t)mb << 20) / LINE;
	size_t *next = aligned_alloc(2 << 20, n * LINE);
	size_t *perm = malloc(n * sizeof(size_t));
	size_t p = 0;
	long steps = 20000000;
	double t0;

	if (!next || !perm) {
		perror("linebench: buffer");
		return 1;
	}
	/* Before the first touch: the pages are chosen when they are faulted in. */
	if (madvise(next, n * LINE, huge ? MADV_HUGEPAGE : MADV_NOHUGEPAGE)) {
		perror("linebench: madvise");
		return 1;
	}
	for (size_t i = 0; i < n; i++)
		perm[i] = i;
	for (size_t i = n - 1; i > 0; i--) {
		size_t j = next_rand() % (i + 1), x = perm[i];

		perm[i] = perm[j];
		perm[j] = x;
	}
	for (size_t i = 0; i < n; i++)
		next[perm[i] * (LINE / sizeof(size_t))] = perm[(i + 1) % n] * (LINE / sizeof(size_t));
	pin(0);
	t0 = now_ns();
	for (long i = 0; i < steps; i++)
		p = next[p];
	printf("chase %ld MiB on %s pages: %.1f ns per dependent load (%zu)\n", mb, huge ? "2 MiB" : "4 KiB", (now_ns() - t0) / steps, p % 2);
	return 0;
}

int main(int argc, char **argv)
{
	long n = argc == 3 ? atol(argv[2]) : 0;

	if (argc != 3 || n <= 0) {
		fprintf(stderr, "usage: linebench pingpong N | handoff MB | chase MB | chase-huge MB\n");
		return 2;
	}
	if (!strcmp(argv[1], "pingpong"))
		return pingpong(n);
	if (!strcmp(argv[1], "handoff"))
		return handoff(n);
	if (!strcmp(argv[1], "chase"))
		return chase(n, 0);
	if (!strcmp(argv[1], "chase-huge"))
		return chase(n, 1);
	fprintf(stderr, "linebench: unknown mode '%s'\n", argv[1]);
	return 2;
}
