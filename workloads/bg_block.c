// SPDX-License-Identifier: GPL-2.0
/*
 * bg_block: a background task that blocks while holding something the
 * real-time task needs. Two processes share a mutex (process-shared, in a
 * MAP_SHARED page):
 *   bb_rt  SCHED_FIFO periodic loop; each cycle locks the mutex briefly
 *   bb_bg  SCHED_OTHER "logger": locks, works W us, then blocks S us in
 *          nanosleep (think: slow I/O) *with the lock held*, unlocks, rests
 * When bb_rt wakes inside bb_bg's critical section it sleeps on the lock
 * until bb_bg's blocking call returns: priority does not help, the
 * background task's blocking delays the RT task. bb_bg's period is not a
 * multiple of bb_rt's, so the wakeups sweep across its critical section.
 */
#include "rt_common.h"	/* first: it defines _GNU_SOURCE */
#include <signal.h>
#include <sys/wait.h>

struct shared {
	pthread_mutex_t lock;
	volatile int stop;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: bg_block [options]\n"
		"RT loop (bb_rt) delayed by a background process (bb_bg) that blocks\n"
		"while holding a shared mutex.\n"
		"  -n CYCLES   RT cycles (default 100)\n"
		"  -P US       RT period in microseconds (default 10000)\n"
		"  -C US       RT CPU time per cycle, under the lock (default 100)\n"
		"  -W US       background work under the lock (default 1000)\n"
		"  -S US       background blocking under the lock (default 3000)\n"
		"  -G US       background rest without the lock (default 6300)\n"
		"  -p RTPRIO   SCHED_FIFO priority of bb_rt (default 50)\n"
		"  -c CPU      pin both processes to this CPU (default: no pinning)\n"
		"  -s MS       delay before the first RT deadline (default 200)\n"
		"  -h, --help  this text\n"
		"Summary: bg_block: summary cycles=N sleeps=N lock_wait_max_ns=.. lock_wait_mean_ns=..\n"
		"         late_max_ns=..  (sleeps: voluntary context switches of bb_rt)\n");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = { { "help", no_argument, NULL, 'h' }, { 0 } };
	long cycles = 100, period_us = 10000, compute_us = 100, work_us = 1000;
	long block_us = 3000, gap_us = 6300, rtprio = 50, cpu = -1, start_ms = 200;
	struct stat_ns late = { 0 }, wait = { 0 };
	pthread_mutexattr_t ma;
	struct timespec next;
	struct shared *sh;
	pid_t child;
	long sw0;
	int c;

	rt_init("bg_block", 1);
	while ((c = getopt_long(argc, argv, "n:P:C:W:S:G:p:c:s:h", lo, NULL)) != -1) {
		switch (c) {
		case 'n': cycles = arg_num(optarg, "cycles", 1, 100000000); break;
		case 'P': period_us = arg_num(optarg, "period", 10, 10000000); break;
		case 'C': compute_us = arg_num(optarg, "compute", 0, 10000000); break;
		case 'W': work_us = arg_num(optarg, "work", 0, 10000000); break;
		case 'S': block_us = arg_num(optarg, "block", 0, 10000000); break;
		case 'G': gap_us = arg_num(optarg, "gap", 1, 10000000); break;
		case 'p': rtprio = arg_num(optarg, "priority", 1, 99); break;
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

	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setpshared(&ma, PTHREAD_PROCESS_SHARED);
	pthread_mutex_init(&sh->lock, &ma);
	pin_cpu((int)cpu);

	child = fork();
	if (child < 0)
		die("fork: %s", strerror(errno));
	if (child == 0) {
		set_name("bb_bg");
		announce("bb_bg", 0, (int)cpu);
		while (!sh->stop) {
			pthread_mutex_lock(&sh->lock);
			busy_us((uint64_t)work_us);
			sleep_us((uint64_t)block_us);	/* blocks, lock held */
			pthread_mutex_unlock(&sh->lock);
			sleep_us((uint64_t)gap_us);
		}
		_exit(0);
	}

	set_name("bb_rt");
	set_fifo((int)rtprio);
	announce("bb_rt", (int)rtprio, (int)cpu);
	sw0 = vol_switches();
	clock_gettime(CLOCK_MONOTONIC, &next);
	ts_add_ns(&next, (uint64_t)start_ms * 1000000);
	for (long i = 0; i < cycles; i++) {
		uint64_t t, now;

		sleep_until(&next);
		t = now_ns();
		stat_add(&late, t - ts_ns(&next));
		pthread_mutex_lock(&sh->lock);
		stat_add(&wait, now_ns() - t);
		busy_us((uint64_t)compute_us);
		pthread_mutex_unlock(&sh->lock);
		ts_add_ns(&next, (uint64_t)period_us * NSEC_PER_USEC);
		now = now_ns();
		while (ts_ns(&next) <= now)
			ts_add_ns(&next, (uint64_t)period_us * NSEC_PER_USEC);
	}
	sw0 = vol_switches() - sw0;
	sh->stop = 1;
	waitpid(child, NULL, 0);
	printf("bg_block: summary cycles=%ld sleeps=%ld lock_wait_max_ns=%" PRIu64
	       " lock_wait_mean_ns=%" PRIu64 " late_max_ns=%" PRIu64 "\n",
	       cycles, sw0, wait.max, stat_mean(&wait), late.max);
	return 0;
}
