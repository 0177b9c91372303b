// SPDX-License-Identifier: GPL-2.0
/*
 * hidden_block: a periodic control loop that, every Nth cycle, makes a
 * blocking call hidden in its work: it asks a helper thread for data over a
 * pipe and read()s the answer, which the helper (a SCHED_OTHER "slow
 * device") only writes D us later. The loop's own latency stays good; its
 * relief time (wakeup -> next timer sleep) grows by D and the time is spent
 * asleep in I/O (read), not waiting for a CPU. A pipe rather than
 * write+fsync: the guest's root file system is in RAM, where fsync never
 * blocks.
 */
#include "rt_common.h"

static int req_pipe[2], resp_pipe[2];
static long delay_us = 3000;

/* The slow "device": answers each request D us late. */
static void *helper(void *arg)
{
	char b;

	(void)arg;
	set_name("hb_helper");
	announce("hb_helper", 0, -1);
	while (read(req_pipe[0], &b, 1) == 1) {
		sleep_us((uint64_t)delay_us);
		if (write(resp_pipe[1], &b, 1) != 1)
			break;
	}
	return NULL;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: hidden_block [options]\n"
		"Periodic SCHED_FIFO loop that blocks in read() every Nth cycle.\n"
		"  -n CYCLES   number of cycles (default 200)\n"
		"  -P US       period in microseconds (default 2000)\n"
		"  -C US       CPU time per cycle in microseconds (default 100)\n"
		"  -E N        block every Nth cycle (default 10)\n"
		"  -D US       the helper answers this late (default 3000)\n"
		"  -p RTPRIO   SCHED_FIFO priority of the loop, 0 = SCHED_OTHER (default 50)\n"
		"  -c CPU      pin the process to this CPU (default: no pinning)\n"
		"  -s MS       delay before the first deadline (default: one period)\n"
		"  -h, --help  this text\n"
		"Summary: hidden_block: summary cycles=N sleeps=N timer_sleeps=N overruns=N blocks=N\n"
		"         block_max_ns=.. late_max_ns=..  (sleeps: voluntary context switches)\n");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = { { "help", no_argument, NULL, 'h' }, { 0 } };
	long cycles = 200, period_us = 2000, compute_us = 100, every = 10;
	long rtprio = 50, cpu = -1, start_ms = -1, overruns = 0;
	struct stat_ns late = { 0 }, blk = { 0 };
	struct timespec next;
	long sw0, timer_sleeps = 0;
	pthread_attr_t attr;
	pthread_t th;
	int c, err;

	rt_init("hidden_block", 1);
	while ((c = getopt_long(argc, argv, "n:P:C:E:D:p:c:s:h", lo, NULL)) != -1) {
		switch (c) {
		case 'n': cycles = arg_num(optarg, "cycles", 1, 100000000); break;
		case 'P': period_us = arg_num(optarg, "period", 10, 10000000); break;
		case 'C': compute_us = arg_num(optarg, "compute", 0, 10000000); break;
		case 'E': every = arg_num(optarg, "every", 1, 100000000); break;
		case 'D': delay_us = arg_num(optarg, "delay", 0, 10000000); break;
		case 'p': rtprio = arg_num(optarg, "priority", 0, 99); break;
		case 'c': cpu = arg_num(optarg, "cpu", 0, 4095); break;
		case 's': start_ms = arg_num(optarg, "start delay", 0, 600000); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}

	set_name("hidden_block");
	pin_cpu((int)cpu);	/* before creating the helper: it inherits it */
	if (pipe(req_pipe) || pipe(resp_pipe))
		die("pipe: %s", strerror(errno));
	rt_attr(&attr, 0, -1);
	err = pthread_create(&th, &attr, helper, NULL);
	if (err)
		die("pthread_create: %s", strerror(err));
	set_fifo((int)rtprio);
	announce("hidden_block", (int)rtprio, (int)cpu);

	sw0 = vol_switches();
	clock_gettime(CLOCK_MONOTONIC, &next);
	ts_add_ns(&next, start_ms >= 0 ? (uint64_t)start_ms * 1000000 :
					 (uint64_t)period_us * NSEC_PER_USEC);
	for (long i = 0; i < cycles; i++) {
		long sw = vol_switches();
		uint64_t now;

		sleep_until(&next);
		timer_sleeps += vol_switches() != sw;
		stat_add(&late, now_ns() - ts_ns(&next));
		busy_us((uint64_t)compute_us / 2);
		if (i % every == every - 1) {
			/* The hidden blocking call. */
			uint64_t t0 = now_ns();
			char b = 'x';

			if (write(req_pipe[1], &b, 1) != 1 || read(resp_pipe[0], &b, 1) != 1)
				die("pipe I/O: %s", strerror(errno));
			stat_add(&blk, now_ns() - t0);
		}
		busy_us((uint64_t)compute_us - (uint64_t)compute_us / 2);
		ts_add_ns(&next, (uint64_t)period_us * NSEC_PER_USEC);
		now = now_ns();
		while (ts_ns(&next) <= now) {
			ts_add_ns(&next, (uint64_t)period_us * NSEC_PER_USEC);
			overruns++;
		}
	}
	sw0 = vol_switches() - sw0;
	close(req_pipe[1]);	/* EOF ends the helper */
	pthread_join(th, NULL);
	printf("hidden_block: summary cycles=%ld sleeps=%ld timer_sleeps=%ld overruns=%ld blocks=%"
	       PRIu64 " block_max_ns=%" PRIu64 " late_max_ns=%" PRIu64 "\n",
	       cycles, sw0, timer_sleeps, overruns, blk.n, blk.max, late.max);
	return 0;
}
