// SPDX-License-Identifier: GPL-2.0
/*
 * pingpong: two processes bounce one byte over two pipes N times; prints the
 * mean round trip (CLOCK_MONOTONIC). Every round trip is two wakeups and
 * four context switches, so the benchmark uses it to measure the tracer's
 * per-event overhead (tracked vs untracked).
 */
#include "rt_common.h"	/* first: it defines _GNU_SOURCE */
#include <sys/wait.h>
#include <linux/rtt_window.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: pingpong [options]\n"
		"Pipe ping-pong between two processes (ping, pong).\n"
		"  -n N        round trips (default 10000)\n"
		"  -w N        warm-up round trips, not timed (default 100)\n"
		"  -p RTPRIO   SCHED_FIFO priority of both, 0 = SCHED_OTHER (default 0)\n"
		"  -c CPU      pin both to this CPU (default: no pinning)\n"
		"  -s MS       sleep before starting (time to start tracking; default 0)\n"
		"  -W US       each of ping's round trips a budget window of US (rt_tracer)\n"
		"  -h, --help  this text\n"
		"Summary: pingpong: summary round_trips=N total_ns=.. ns_per_round_trip=..\n");
}

/*
 * Called at both ends of the timed window: an address a profiler can stop
 * at (scripts/profile counts guest instructions between the two calls).
 */
__attribute__((noinline)) void pingpong_window_edge(void)
{
	__asm__ volatile("" ::: "memory");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = { { "help", no_argument, NULL, 'h' }, { 0 } };
	long n = 10000, warm = 100, rtprio = 0, cpu = -1, start_ms = 0, win_us = 0;
	int a[2], b[2], c;
	uint64_t t0 = 0, t1;
	char x = 0;
	pid_t child;

	rt_init("pingpong", 1);
	while ((c = getopt_long(argc, argv, "n:w:p:c:s:W:h", lo, NULL)) != -1) {
		switch (c) {
		case 'n': n = arg_num(optarg, "round trips", 1, 1000000000); break;
		case 'w': warm = arg_num(optarg, "warm-up", 0, 1000000000); break;
		case 'p': rtprio = arg_num(optarg, "priority", 0, 99); break;
		case 'c': cpu = arg_num(optarg, "cpu", 0, 4095); break;
		case 's': start_ms = arg_num(optarg, "start delay", 0, 600000); break;
		case 'W': win_us = arg_num(optarg, "window budget", 1, 100000000); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (pipe(a) || pipe(b))
		die("pipe: %s", strerror(errno));
	pin_cpu((int)cpu);
	set_fifo((int)rtprio);	/* both processes: fork inherits it */

	child = fork();
	if (child < 0)
		die("fork: %s", strerror(errno));
	if (child == 0) {
		set_name("pong");
		close(a[1]);	/* else it never sees EOF */
		close(b[0]);
		announce("pong", (int)rtprio, (int)cpu);
		while (read(a[0], &x, 1) == 1)
			if (write(b[1], &x, 1) != 1)
				break;
		_exit(0);
	}
	set_name("ping");
	announce("ping", (int)rtprio, (int)cpu);
	close(a[0]);
	close(b[1]);
	if (start_ms)
		sleep_us((uint64_t)start_ms * 1000);
	for (long i = 0; i < warm + n; i++) {
		if (i == warm) {
			pingpong_window_edge();
			t0 = now_ns();
		}
		if (win_us && rtt_window_start((uint64_t)win_us * 1000))
			die("window start: %s", strerror(errno));
		if (write(a[1], &x, 1) != 1 || read(b[0], &x, 1) != 1)
			die("pipe I/O: %s", strerror(errno));
		if (win_us && rtt_window_stop() < 0)
			die("window stop: %s", strerror(errno));
	}
	t1 = now_ns();
	pingpong_window_edge();
	close(a[1]);	/* EOF ends pong */
	waitpid(child, NULL, 0);
	printf("pingpong: summary round_trips=%ld total_ns=%" PRIu64
	       " ns_per_round_trip=%" PRIu64 "\n", n, t1 - t0, (t1 - t0) / (uint64_t)n);
	return 0;
}
