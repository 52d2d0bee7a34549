// SPDX-License-Identifier: GPL-2.0
/*
 * loadgen: known kernel allocation patterns for kmemtop's tests and
 * benchmarks.  Each mode does one thing and prints what it did.
 *
 *   loadgen eventfd-churn N   open and close N eventfds, one at a time
 *   loadgen eventfd-hold N    open N eventfds, print "ready", hold them
 *                             until stdin reaches EOF, then exit
 *   loadgen bench-eventfd N   N x eventfd()+close(); prints "ns_per_iter X"
 *   loadgen udp-flood N       send N 64-byte datagrams over loopback UDP to
 *                             a socket of its own with a tiny receive
 *                             buffer, in bursts: most are dropped by the
 *                             receive softirq (freed there), the rest read
 *   loadgen udp-stream N      the same with the default receive buffer:
 *                             every datagram is received and read
 *   loadgen spawn N           fork+exec /bin/true N times, one at a time
 *   loadgen anon N            allocate and touch N MiB of anonymous memory,
 *                             print "ready", hold it until stdin reaches EOF
 *   loadgen netns N           create and destroy N network namespaces
 *   loadgen epoll-churn N     N x (epoll_create1, eventfd, add it, close both)
 *   loadgen files-hold N      open N files (/dev/null), print "ready", hold
 *                             them until stdin reaches EOF
 *   loadgen unix-hold N       create N UNIX stream sockets (unconnected),
 *                             print "ready", hold them until stdin EOF
 *   loadgen memfd-hold N      create N memfds (shmem inodes), print "ready",
 *                             hold them until stdin EOF
 *   loadgen pipes-hold N      create N pipes and fill each (64 KiB: its pipe
 *                             buffer pages), print "ready", hold until EOF
 *   loadgen sparse-touch N    map N MiB and touch one byte per 2 MiB (a page
 *                             table page each), print "ready", hold until EOF
 *   loadgen dentries N        look up N names that do not exist in a new
 *                             private directory (N negative dentries, no file
 *                             descriptors), print "ready", hold until EOF,
 *                             then remove the directory (which drops them)
 *
 * With LOADGEN_WAIT=1 in the environment, a mode first prints "waiting" and
 * reads one line from stdin before it starts (a test can then snapshot
 * after the process and its pipes exist, but before its allocations).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <fcntl.h>
#include <sched.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
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

static void die(const char *what)
{
	fprintf(stderr, "loadgen: %s: %s\n", what, strerror(errno));
	exit(1);
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

static void room_for(long n);
static int hold_until_eof(long n);

static int eventfd_hold(long n)
{
	room_for(n);
	for (long i = 0; i < n; i++)
		new_eventfd();
	return hold_until_eof(n);
}

/* Raise the open-file limit for n more descriptors. */
static void room_for(long n)
{
	struct rlimit rl = { .rlim_cur = n + 64, .rlim_max = n + 64 };

	if (setrlimit(RLIMIT_NOFILE, &rl)) {
		fprintf(stderr, "loadgen: setrlimit(%ld): %s\n", n + 64, strerror(errno));
		exit(1);
	}
}

/* Print "ready N", then hold whatever was opened until stdin reaches EOF. */
static int hold_until_eof(long n)
{
	char buf[64];

	printf("ready %ld\n", n);
	fflush(stdout);
	while (read(0, buf, sizeof(buf)) > 0)
		;
	return 0;
}

static int epoll_churn(long n)
{
	for (long i = 0; i < n; i++) {
		int ep = epoll_create1(EPOLL_CLOEXEC), fd = new_eventfd();
		struct epoll_event ev = { .events = EPOLLIN };

		if (ep < 0 || epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev))
			die("epoll");
		close(fd);
		close(ep);
	}
	printf("epoll-churn %ld\n", n);
	return 0;
}

static int files_hold(long n)
{
	room_for(n);
	for (long i = 0; i < n; i++)
		if (open("/dev/null", O_RDONLY | O_CLOEXEC) < 0)
			die("open /dev/null");
	return hold_until_eof(n);
}

static int unix_hold(long n)
{
	room_for(n);
	for (long i = 0; i < n; i++)
		if (socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0) < 0)
			die("socket(AF_UNIX)");
	return hold_until_eof(n);
}

static int memfd_hold(long n)
{
	room_for(n);
	for (long i = 0; i < n; i++)
		if (memfd_create("kmemtop-loadgen", MFD_CLOEXEC) < 0)
			die("memfd_create");
	return hold_until_eof(n);
}

static int pipes_hold(long n)
{
	static char buf[4096];

	room_for(2 * n);
	for (long i = 0; i < n; i++) {
		int p[2];

		if (pipe2(p, O_CLOEXEC | O_NONBLOCK))
			die("pipe2");
		while (write(p[1], buf, sizeof(buf)) > 0)
			;
		if (errno != EAGAIN)
			die("write to pipe");
	}
	return hold_until_eof(n);
}

static int sparse_touch(long mib)
{
	size_t len = (size_t)mib << 20;
	char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);

	if (p == MAP_FAILED)
		die("mmap");
	for (size_t off = 0; off < len; off += 2 << 20)
		p[off] = 1;
	return hold_until_eof(mib / 2);
}

static int dentries(long n)
{
	char dir[] = "/tmp/loadgen-dentries-XXXXXX", name[64];
	struct stat st;
	int rc;

	if (!mkdtemp(dir))
		die("mkdtemp");
	for (long i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "%s/%lx", dir, i);
		if (stat(name, &st) == 0 || errno != ENOENT)
			die("stat of a name that should not exist");
	}
	rc = hold_until_eof(n);
	if (rmdir(dir))
		die("rmdir");
	return rc;
}

static int bench_eventfd(long n)
{
	double t0 = now_ns();

	for (long i = 0; i < n; i++)
		close(new_eventfd());
	printf("ns_per_iter %.1f\n", (now_ns() - t0) / n);
	return 0;
}


static int udp_flood(long n, int drop)
{
	struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t len = sizeof(addr);
	char buf[64] = "kmemtop";
	long sent = 0, received = 0;
	int rx, tx, small = 1;

	rx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	tx = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (rx < 0 || tx < 0)
		die("socket");
	/* The kernel raises this to its minimum: a handful of datagrams. */
	if (drop && setsockopt(rx, SOL_SOCKET, SO_RCVBUF, &small, sizeof(small)))
		die("setsockopt");
	if (bind(rx, (struct sockaddr *)&addr, sizeof(addr)) || getsockname(rx, (struct sockaddr *)&addr, &len))
		die("bind");
	if (connect(tx, (struct sockaddr *)&addr, sizeof(addr)))
		die("connect");
	while (sent < n) {
		/* A burst (the receive queue overflows), then drain. */
		for (int i = 0; i < 64 && sent < n; i++, sent++)
			if (send(tx, buf, sizeof(buf), 0) != sizeof(buf))
				die("send");
		while (recv(rx, buf, sizeof(buf), MSG_DONTWAIT) > 0)
			received++;
	}
	while (received < sent && recv(rx, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		received++;
	close(tx);
	close(rx);
	printf("%s sent %ld received %ld\n", drop ? "udp-flood" : "udp-stream", sent, received);
	return 0;
}

/* Fork a child that runs child() and exits with its value; return its exit status (-1: killed). */
static int run_child(int (*child)(void))
{
	pid_t pid = fork();
	int status;

	if (pid < 0)
		die("fork");
	if (pid == 0)
		_exit(child());
	if (waitpid(pid, &status, 0) < 0)
		die("waitpid");
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int exec_true(void)
{
	execl("/bin/true", "true", (char *)NULL);
	return 127;
}

static int spawn(long n)
{
	for (long i = 0; i < n; i++)
		run_child(exec_true);
	printf("spawn %ld\n", n);
	return 0;
}

static int anon(long mib)
{
	size_t len = (size_t)mib << 20;
	char *p = malloc(len), buf[64];

	if (!p)
		die("malloc");
	for (size_t off = 0; off < len; off += 4096)
		p[off] = 1;
	printf("ready %ld\n", mib);
	fflush(stdout);
	while (read(0, buf, sizeof(buf)) > 0)
		;
	free(p);
	return 0;
}

/*
 * bench-unix: a one-byte ping-pong over an AF_UNIX stream socket pair
 * between this process and a child; every message is an sk_buff allocated
 * by the sender and freed by the receiver.  Prints ns per round trip.
 */
static int bench_unix(long n)
{
	int sv[2];
	char c = 'k';
	pid_t pid;
	double t0;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv))
		die("socketpair");
	pid = fork();
	if (pid < 0)
		die("fork");
	if (pid == 0) {
		close(sv[0]);
		for (long i = 0; i < n; i++) {
			if (read(sv[1], &c, 1) != 1 || write(sv[1], &c, 1) != 1)
				_exit(1);
		}
		_exit(0);
	}
	close(sv[1]);
	t0 = now_ns();
	for (long i = 0; i < n; i++) {
		if (write(sv[0], &c, 1) != 1 || read(sv[0], &c, 1) != 1)
			die("ping-pong");
	}
	printf("ns_per_iter %.1f\n", (now_ns() - t0) / n);
	close(sv[0]);
	waitpid(pid, NULL, 0);
	return 0;
}

/* A new network namespace, which dies with the child that made it. */
static int new_netns(void)
{
	return unshare(CLONE_NEWNET) ? 1 : 0;
}

static int netns(long n)
{
	for (long i = 0; i < n; i++) {
		if (run_child(new_netns)) {
			fprintf(stderr, "loadgen: unshare(CLONE_NEWNET) failed\n");
			return 1;
		}
	}
	printf("netns %ld\n", n);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: loadgen eventfd-churn|eventfd-hold|bench-eventfd|bench-unix|udp-flood|udp-stream|spawn|netns|anon|epoll-churn|files-hold|unix-hold|memfd-hold|pipes-hold|sparse-touch|dentries N\n");
		return 2;
	}
	long n = parse_count(argv[2]);

	if (getenv("LOADGEN_WAIT") && !strcmp(getenv("LOADGEN_WAIT"), "1")) {
		char c;

		printf("waiting\n");
		fflush(stdout);
		while (read(0, &c, 1) == 1 && c != '\n')
			;
	}

	if (!strcmp(argv[1], "eventfd-churn"))
		return eventfd_churn(n);
	if (!strcmp(argv[1], "eventfd-hold"))
		return eventfd_hold(n);
	if (!strcmp(argv[1], "bench-eventfd"))
		return bench_eventfd(n);
	if (!strcmp(argv[1], "udp-flood"))
		return udp_flood(n, 1);
	if (!strcmp(argv[1], "udp-stream"))
		return udp_flood(n, 0);
	if (!strcmp(argv[1], "spawn"))
		return spawn(n);
	if (!strcmp(argv[1], "netns"))
		return netns(n);
	if (!strcmp(argv[1], "bench-unix"))
		return bench_unix(n);
	if (!strcmp(argv[1], "anon"))
		return anon(n);
	if (!strcmp(argv[1], "epoll-churn"))
		return epoll_churn(n);
	if (!strcmp(argv[1], "files-hold"))
		return files_hold(n);
	if (!strcmp(argv[1], "unix-hold"))
		return unix_hold(n);
	if (!strcmp(argv[1], "memfd-hold"))
		return memfd_hold(n);
	if (!strcmp(argv[1], "pipes-hold"))
		return pipes_hold(n);
	if (!strcmp(argv[1], "sparse-touch"))
		return sparse_touch(n);
	if (!strcmp(argv[1], "dentries"))
		return dentries(n);
	fprintf(stderr, "loadgen: unknown mode '%s'\n", argv[1]);
	return 2;
}
