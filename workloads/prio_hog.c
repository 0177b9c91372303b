// SPDX-License-Identifier: GPL-2.0
/*
 * prio_hog: the "misconfigured priorities" culprit. A SCHED_FIFO task at a
 * higher priority than the control loop, pinned to the same CPU, burning
 * bursts of B us of CPU time separated by S us of sleep. Every control-loop
 * wakeup that falls into a burst waits for the rest of it.
 * With -p 0 -S 0 it is a plain SCHED_OTHER CPU load (the tests' background
 * load on the other CPU).
 */
#include "rt_common.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: prio_hog [options]\n"
		"CPU hog running bursts at a (too) high SCHED_FIFO priority.\n"
		"  -B US       CPU time per burst in microseconds (default 5000)\n"
		"  -S US       sleep between bursts in microseconds, 0 = none (default 15000)\n"
		"  -d MS       run for this long (default 1000)\n"
		"  -p RTPRIO   SCHED_FIFO priority 1..99, 0 = SCHED_OTHER (default 60)\n"
		"  -c CPU      pin to this CPU (default: no pinning)\n"
		"  -s MS       delay before the first burst (default 0)\n"
		"  -N NAME     task name (default prio_hog)\n"
		"  -h, --help  this text\n"
		"Summary: prio_hog: summary bursts=N burst_max_ns=.. (wall time of the longest burst)\n");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = { { "help", no_argument, NULL, 'h' }, { 0 } };
	long burst_us = 5000, sleep_us_ = 15000, dur_ms = 1000, rtprio = 60;
	long cpu = -1, start_ms = 0, bursts = 0;
	const char *name = "prio_hog";
	struct stat_ns wall = { 0 };
	uint64_t end;
	int c;

	rt_init("prio_hog", 1);
	while ((c = getopt_long(argc, argv, "B:S:d:p:c:s:N:h", lo, NULL)) != -1) {
		switch (c) {
		case 'B': burst_us = arg_num(optarg, "burst", 1, 10000000); break;
		case 'S': sleep_us_ = arg_num(optarg, "sleep", 0, 10000000); break;
		case 'd': dur_ms = arg_num(optarg, "duration", 1, 3600000); break;
		case 'p': rtprio = arg_num(optarg, "priority", 0, 99); break;
		case 'c': cpu = arg_num(optarg, "cpu", 0, 4095); break;
		case 's': start_ms = arg_num(optarg, "start delay", 0, 600000); break;
		case 'N': name = arg_name(optarg); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}

	set_name(name);
	pin_cpu((int)cpu);
	set_fifo((int)rtprio);
	announce(name, (int)rtprio, (int)cpu);

	if (start_ms)
		sleep_us((uint64_t)start_ms * 1000);
	end = now_ns() + (uint64_t)dur_ms * 1000000;
	while (now_ns() < end) {
		uint64_t t0 = now_ns();

		busy_us((uint64_t)burst_us);
		stat_add(&wall, now_ns() - t0);
		bursts++;
		if (sleep_us_)
			sleep_us((uint64_t)sleep_us_);
	}
	printf("prio_hog: summary name=%s bursts=%ld burst_min_ns=%" PRIu64
	       " burst_max_ns=%" PRIu64 "\n", name, bursts, wall.min, wall.max);
	return 0;
}
