// SPDX-License-Identifier: GPL-2.0
/*
 * ctrl_loop: a periodic real-time control loop, the task most scenarios
 * track. Each cycle sleeps until an absolute deadline (clock_nanosleep,
 * TIMER_ABSTIME), then burns C us of CPU time. A cycle that overruns skips
 * the missed deadlines, as real control loops do, so every cycle is exactly
 * one timer sleep and one wakeup: the tracer's counts must equal "cycles".
 * It measures its own lateness (return from the sleep minus the deadline), a
 * value the tracer's latency can be checked against: latency <= lateness.
 */
#include "rt_common.h"

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ctrl_loop [options]\n"
		"Periodic SCHED_FIFO control loop (absolute-time clock_nanosleep).\n"
		"  -n CYCLES   number of cycles (default 1000)\n"
		"  -P US       period in microseconds (default 1000)\n"
		"  -C US       CPU time burnt per cycle in microseconds (default 100)\n"
		"  -p RTPRIO   SCHED_FIFO priority 1..99, 0 = SCHED_OTHER (default 50)\n"
		"  -c CPU      pin to this CPU (default: no pinning)\n"
		"  -s MS       delay before the first deadline (default: one period)\n"
		"  -N NAME     task name (default ctrl_loop)\n"
		"  -h, --help  this text\n"
		"Prints its pid and, at the end, a summary line:\n"
		"  ctrl_loop: summary cycles=N sleeps=N overruns=N late_min_ns=.. late_mean_ns=.. late_max_ns=..\n"
		"(sleeps: voluntary context switches; a deadline that passes while the\n"
		"sleep is set up can return without one, woken on the CPU: the tracer\n"
		"counts that wakeup too, as a sleep of length 0)\n");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = { { "help", no_argument, NULL, 'h' }, { 0 } };
	long cycles = 1000, period_us = 1000, compute_us = 100, rtprio = 50;
	long cpu = -1, start_ms = -1, overruns = 0;
	const char *name = "ctrl_loop";
	struct stat_ns late = { 0 };
	struct timespec next;
	long sw0;
	int c;

	rt_init("ctrl_loop", 1);
	while ((c = getopt_long(argc, argv, "n:P:C:p:c:s:N:h", lo, NULL)) != -1) {
		switch (c) {
		case 'n': cycles = arg_num(optarg, "cycles", 1, 100000000); break;
		case 'P': period_us = arg_num(optarg, "period", 10, 10000000); break;
		case 'C': compute_us = arg_num(optarg, "compute", 0, 10000000); break;
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

	sw0 = vol_switches();
	clock_gettime(CLOCK_MONOTONIC, &next);
	ts_add_ns(&next, start_ms >= 0 ? (uint64_t)start_ms * 1000000 :
					 (uint64_t)period_us * NSEC_PER_USEC);
	for (long i = 0; i < cycles; i++) {
		uint64_t now;

		sleep_until(&next);
		stat_add(&late, now_ns() - ts_ns(&next));
		busy_us((uint64_t)compute_us);
		ts_add_ns(&next, (uint64_t)period_us * NSEC_PER_USEC);
		/* Skip missed deadlines: a past deadline would not sleep at all. */
		now = now_ns();
		while (ts_ns(&next) <= now) {
			ts_add_ns(&next, (uint64_t)period_us * NSEC_PER_USEC);
			overruns++;
		}
	}
	sw0 = vol_switches() - sw0;
	printf("ctrl_loop: summary cycles=%ld sleeps=%ld overruns=%ld late_min_ns=%" PRIu64
	       " late_mean_ns=%" PRIu64 " late_max_ns=%" PRIu64 "\n",
	       cycles, sw0, overruns, late.min, stat_mean(&late), late.max);
	return 0;
}
