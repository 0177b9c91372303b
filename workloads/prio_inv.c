// SPDX-License-Identifier: GPL-2.0
/*
 * prio_inv: classic priority inversion on one CPU. Three SCHED_FIFO threads
 * share a mutex; each iteration k starts at base = T0 + k * period:
 *   pi_low   wakes at base,        locks, works L us (CPU time), unlocks
 *   pi_high  wakes at base + L/4,  locks (blocks: pi_low holds it), unlocks
 *   pi_med   wakes at base + L/2,  works M us, never touches the mutex
 * With a plain mutex pi_med preempts the lock holder, so pi_high waits about
 * 3L/4 + M: its wait is set by an unrelated task (the culprit, pi_med).
 * With --pi (PTHREAD_PRIO_INHERIT) pi_low runs at pi_high's priority while
 * it holds the lock, and pi_high waits about 3L/4 only.
 * All threads must share a CPU (-c) for the inversion to happen.
 */
#include "rt_common.h"

static pthread_mutex_t lock;
static struct timespec t0;
static long iters = 50, period_us = 20000, low_us = 2000, med_us = 5000;
static int prio[3] = { 10, 20, 30 };	/* low, medium, high */
static long cpu = -1;
static struct stat_ns high_wait;
static long high_sleeps;

static void at(long k, uint64_t offset_us)
{
	struct timespec t = t0;

	ts_add_ns(&t, ((uint64_t)k * (uint64_t)period_us + offset_us) * NSEC_PER_USEC);
	sleep_until(&t);
}

static void *low(void *arg)
{
	(void)arg;
	set_name("pi_low");
	announce("pi_low", prio[0], (int)cpu);
	for (long k = 0; k < iters; k++) {
		at(k, 0);
		pthread_mutex_lock(&lock);
		busy_us((uint64_t)low_us);
		pthread_mutex_unlock(&lock);
	}
	return NULL;
}

static void *med(void *arg)
{
	(void)arg;
	set_name("pi_med");
	announce("pi_med", prio[1], (int)cpu);
	for (long k = 0; k < iters; k++) {
		at(k, (uint64_t)low_us / 2);
		busy_us((uint64_t)med_us);
	}
	return NULL;
}

static void *high(void *arg)
{
	(void)arg;
	set_name("pi_high");
	announce("pi_high", prio[2], (int)cpu);
	high_sleeps = vol_switches();
	for (long k = 0; k < iters; k++) {
		uint64_t t;

		at(k, (uint64_t)low_us / 4);
		t = now_ns();
		pthread_mutex_lock(&lock);
		stat_add(&high_wait, now_ns() - t);
		pthread_mutex_unlock(&lock);
	}
	high_sleeps = vol_switches() - high_sleeps;
	return NULL;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: prio_inv [options]\n"
		"Priority inversion: low holds a mutex, medium preempts it, high waits.\n"
		"  --pi          use a PTHREAD_PRIO_INHERIT mutex (default: plain mutex)\n"
		"  -n ITER       iterations (default 50)\n"
		"  -P US         iteration period in microseconds (default 20000)\n"
		"  -L US         low thread's work under the lock (default 2000)\n"
		"  -M US         medium thread's burst (default 5000)\n"
		"  -p L,M,H      SCHED_FIFO priorities (default 10,20,30)\n"
		"  -c CPU        pin all threads to this CPU (default: no pinning)\n"
		"  -s MS         delay before the first iteration (default 200)\n"
		"  -h, --help    this text\n"
		"Summary: prio_inv: summary pi=0|1 iterations=N high_sleeps=N high_wait_min_ns=..\n"
		"         high_wait_max_ns=.. high_wait_mean_ns=..  (sleeps: voluntary switches of pi_high)\n");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "help", no_argument, NULL, 'h' },
		{ "pi", no_argument, NULL, 'I' },
		{ 0 }
	};
	void *(*fn[3])(void *) = { low, med, high };
	long start_ms = 200;
	pthread_mutexattr_t ma;
	pthread_attr_t attr;
	pthread_t th[3];
	int c, use_pi = 0;

	rt_init("prio_inv", 1);
	while ((c = getopt_long(argc, argv, "n:P:L:M:p:c:s:h", lo, NULL)) != -1) {
		switch (c) {
		case 'I': use_pi = 1; break;
		case 'n': iters = arg_num(optarg, "iterations", 1, 10000000); break;
		case 'P': period_us = arg_num(optarg, "period", 100, 10000000); break;
		case 'L': low_us = arg_num(optarg, "low work", 4, 10000000); break;
		case 'M': med_us = arg_num(optarg, "medium burst", 1, 10000000); break;
		case 'p':
			if (sscanf(optarg, "%d,%d,%d", &prio[0], &prio[1], &prio[2]) != 3 ||
			    prio[0] < 1 || prio[0] >= prio[1] || prio[1] >= prio[2] || prio[2] > 99)
				die("bad priorities '%s' (want L<M<H in 1..99)", optarg);
			break;
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

	set_name("prio_inv");
	announce("prio_inv", 0, (int)cpu);
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_setprotocol(&ma, use_pi ? PTHREAD_PRIO_INHERIT : PTHREAD_PRIO_NONE);
	pthread_mutex_init(&lock, &ma);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	ts_add_ns(&t0, (uint64_t)start_ms * 1000000);
	for (int i = 0; i < 3; i++) {
		int err;

		rt_attr(&attr, prio[i], (int)cpu);
		err = pthread_create(&th[i], &attr, fn[i], NULL);
		if (err)
			die("pthread_create: %s", strerror(err));
		pthread_attr_destroy(&attr);
	}
	for (int i = 0; i < 3; i++)
		pthread_join(th[i], NULL);
	printf("prio_inv: summary pi=%d iterations=%ld high_sleeps=%ld high_wait_min_ns=%" PRIu64
	       " high_wait_max_ns=%" PRIu64 " high_wait_mean_ns=%" PRIu64 "\n",
	       use_pi, iters, high_sleeps, high_wait.min, high_wait.max, stat_mean(&high_wait));
	return 0;
}
