/* SPDX-License-Identifier: GPL-2.0 */
/*
 * stamp.h - the clock of the live slots' allocation stamps, shared by
 * kmemtop.bpf.c (which writes them) and sweep.bpf.c (which ages them).
 *
 * Seconds since boot from jiffies: bpf_jiffies64() is inlined by the
 * verifier on 64-bit (a load of jiffies_64), where bpf_ktime_get_ns() is a
 * clocksource read per allocation (kvm-clock here; docs/overhead.md has
 * what it cost).  Jiffies advance every tick (1/CONFIG_HZ s; an idle CPU
 * catches up on interrupt entry), far finer than the stamp's one second.
 * The host reads CONFIG_HZ from the kernel's config and hands it to both
 * objects (kmemtop_config.hz, kmemtop_sweep_stats.hz); where it is not
 * known (0) both use the monotonic clock.  Either way the two ends use one
 * clock, so ages are right.
 */
#ifndef KMEMTOP_STAMP_H
#define KMEMTOP_STAMP_H

static __always_inline __u32 stamp_seconds(__u32 hz)
{
#ifdef KMEMTOP_BENCH_KTIME_STAMP  /* a measurement build: the clock read this replaced (scripts/bench-overhead ktime) */
	hz = 0;
#endif
	if (hz) {
		/* jiffies_64 starts at INITIAL_JIFFIES, (unsigned int)(-300 * HZ) on 64-bit. */
		__u64 initial = (__u32)(-300 * (__s64)hz);

		return (bpf_jiffies64() - initial) / hz;
	}
	return bpf_ktime_get_ns() / 1000000000ULL;
}

#endif /* KMEMTOP_STAMP_H */
