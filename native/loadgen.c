// SPDX-License-Identifier: GPL-2.0
/*
 * loadgen: known kernel allocation patterns for kmemtop's tests and
 * benchmarks.  Each mode does one thing and prints what it did.
 *
 *   loadgen eventfd-churn N   open and close N eventfds, one at a time
 *   loadgen eventfd-hold N    open N eventfds, print "ready", hold them
 *                             until stdin reaches EOF, then exit
 *   loadgen bench-eventfd N   N x eventfd()+close(); prints "ns_per_iter X"
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

static long parse_count(const char *s)
{
	char *end;
	long n = strtol(s, &end, 10);

	if (*s == '\0' || *end != '\0' || n <= 0) {
		fprintf(stderr, "loadgen: bad count '%s'\n", s);
		exit(2);
	}
	return n;
}

static int new_eventfd(void)
{
	int fd = eventfd(0, EFD_CLOEXEC);

	if (fd < 0) {
		fprintf(stderr, "loadgen: eventfd: %s\n", strerror(errno));
		exit(1);
	}
	return fd;
}

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static int eventfd_churn(long n)
{
	for (long i = 0; i < n; i++)
		close(new_eventfd());
	printf("eventfd-churn %ld\n", n);
	return 0;
}

static int eventfd_hold(long n)
{
	struct rlimit rl = { .rlim_cur = n + 64, .rlim_max = n + 64 };
	char buf[64];

	if (setrlimit(RLIMIT_NOFILE, &rl)) {
		fprintf(stderr, "loadgen: setrlimit(%ld): %s\n", n + 64, strerror(errno));
		return 1;
	}
	for (long i = 0; i < n; i++)
		new_eventfd();
	printf("ready %ld\n", n);
	fflush(stdout);
	while (read(0, buf, sizeof(buf)) > 0)
		;
	return 0;
}

static int bench_eventfd(long n)
{
	double t0 = now_ns();

	for (long i = 0; i < n; i++)
		close(new_eventfd());
	printf("ns_per_iter %.1f\n", (now_ns() - t0) / n);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: loadgen eventfd-churn|eventfd-hold|bench-eventfd N\n");
		return 2;
	}
	long n = parse_count(argv[2]);

	if (!strcmp(argv[1], "eventfd-churn"))
		return eventfd_churn(n);
	if (!strcmp(argv[1], "eventfd-hold"))
		return eventfd_hold(n);
	if (!strcmp(argv[1], "bench-eventfd"))
		return bench_eventfd(n);
	fprintf(stderr, "loadgen: unknown mode '%s'\n", argv[1]);
	return 2;
}
