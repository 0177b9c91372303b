// SPDX-License-Identifier: GPL-2.0
/*
 * thread_churn: creates N short-lived threads, J alive at a time, each
 * sleeping K times for U us before exiting. With the process tracked by TGID
 * the tracer must pick up every new thread while it has room, drop exited
 * ones, and degrade gracefully (no crash, no leak) when J exceeds its
 * capacity. Threads are named cw<index> (cw0 .. cw999).
 */
#include "rt_common.h"

static long sleeps = 5, sleep_len_us = 1000;

static void *worker(void *arg)
{
	char name[16];

	snprintf(name, sizeof(name), "cw%ld", (long)(intptr_t)arg);
	set_name(name);
	for (long i = 0; i < sleeps; i++)
		sleep_us((uint64_t)sleep_len_us);
	return NULL;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: thread_churn [options]\n"
		"Creates many short-lived threads (names cw0, cw1, ...).\n"
		"  -n N        threads in total (default 1000)\n"
		"  -j J        threads alive at a time (default 100)\n"
		"  -k K        sleeps per thread (default 5)\n"
		"  -u US       length of each sleep in microseconds (default 1000)\n"
		"  -p RTPRIO   SCHED_FIFO priority of the threads, 0 = SCHED_OTHER (default 0)\n"
		"  -c CPU      pin everything to this CPU (default: no pinning)\n"
		"  -s MS       delay before the first thread (default 0)\n"
		"  -H MS       keep the main thread alive this long at the end (default 0)\n"
		"  -h, --help  this text\n"
		"Summary: thread_churn: summary created=N failed=N elapsed_ns=..\n");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = { { "help", no_argument, NULL, 'h' }, { 0 } };
	long n = 1000, jobs = 100, rtprio = 0, cpu = -1, start_ms = 0, hold_ms = 0;
	long created = 0, failed = 0;
	pthread_attr_t attr;
	pthread_t *th;
	uint64_t t0;
	int c;

	rt_init("thread_churn", 0);
	while ((c = getopt_long(argc, argv, "n:j:k:u:p:c:s:H:h", lo, NULL)) != -1) {
		switch (c) {
		case 'n': n = arg_num(optarg, "threads", 1, 10000000); break;
		case 'j': jobs = arg_num(optarg, "jobs", 1, 10000); break;
		case 'k': sleeps = arg_num(optarg, "sleeps", 0, 1000000); break;
		case 'u': sleep_len_us = arg_num(optarg, "sleep", 0, 10000000); break;
		case 'p': rtprio = arg_num(optarg, "priority", 0, 99); break;
		case 'c': cpu = arg_num(optarg, "cpu", 0, 4095); break;
		case 's': start_ms = arg_num(optarg, "start delay", 0, 600000); break;
		case 'H': hold_ms = arg_num(optarg, "hold", 0, 600000); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	set_name("churn");
	pin_cpu((int)cpu);
	announce("churn", 0, (int)cpu);
	th = calloc((size_t)jobs, sizeof(*th));
	if (!th)
		die("out of memory");
	rt_attr(&attr, (int)rtprio, -1);
	pthread_attr_setstacksize(&attr, 64 * 1024);	/* 1000 x 8 MiB is too much */
	if (start_ms)
		sleep_us((uint64_t)start_ms * 1000);

	t0 = now_ns();
	for (long base = 0; base < n; base += jobs) {
		long batch = n - base < jobs ? n - base : jobs;

		for (long i = 0; i < batch; i++) {
			if (pthread_create(&th[i], &attr, worker, (void *)(intptr_t)(base + i))) {
				th[i] = 0;
				failed++;
			} else {
				created++;
			}
		}
		for (long i = 0; i < batch; i++)
			if (th[i])
				pthread_join(th[i], NULL);
	}
	printf("thread_churn: summary created=%ld failed=%ld elapsed_ns=%" PRIu64 "\n",
	       created, failed, now_ns() - t0);
	if (hold_ms)
		sleep_us((uint64_t)hold_ms * 1000);
	return failed ? 1 : 0;
}
