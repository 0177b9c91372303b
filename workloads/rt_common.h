/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the rt-tracer workloads: clocks, busy work, scheduling
 * policy, CPU pinning, naming and argument parsing. Header-only so that each
 * workload stays one self-contained static binary.
 */
#ifndef RT_COMMON_H
#define RT_COMMON_H

#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define NSEC_PER_SEC 1000000000ull
#define NSEC_PER_USEC 1000ull

static const char *prog_name = "workload";

static inline __attribute__((format(printf, 1, 2), noreturn)) void
die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog_name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(1);
}

static inline uint64_t ts_ns(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * NSEC_PER_SEC + (uint64_t)ts->tv_nsec;
}

static inline uint64_t clock_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return ts_ns(&ts);
}

static inline uint64_t now_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

static inline void ts_add_ns(struct timespec *ts, uint64_t ns)
{
	ns += (uint64_t)ts->tv_nsec;
	ts->tv_sec += (time_t)(ns / NSEC_PER_SEC);
	ts->tv_nsec = (long)(ns % NSEC_PER_SEC);
}

/* Absolute CLOCK_MONOTONIC sleep: the periodic tasks must not drift. */
static inline void sleep_until(const struct timespec *t)
{
	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, t, NULL) == EINTR)
		;
}

static inline void sleep_us(uint64_t us)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	ts_add_ns(&t, us * NSEC_PER_USEC);
	sleep_until(&t);
}

/*
 * Burn `us` microseconds of this thread's own CPU time. CPU time rather than
 * wall time: a burst that gets preempted still does all of its work, which
 * is what makes an inversion or a hog last as long as configured.
 */
static inline void busy_us(uint64_t us)
{
	uint64_t end = clock_ns(CLOCK_THREAD_CPUTIME_ID) + us * NSEC_PER_USEC;
	volatile unsigned long sink = 0;

	while (clock_ns(CLOCK_THREAD_CPUTIME_ID) < end)
		for (int i = 0; i < 200; i++)
			sink += (unsigned long)i;
}

static inline pid_t gettid_(void)
{
	return (pid_t)syscall(SYS_gettid);
}

/* The calling thread only (Linux semantics of pid 0). rtprio 0: SCHED_OTHER. */
static inline void set_fifo(int rtprio)
{
	struct sched_param sp = { .sched_priority = rtprio };

	if (sched_setscheduler(0, rtprio ? SCHED_FIFO : SCHED_OTHER, &sp))
		die("sched_setscheduler(%s %d): %s", rtprio ? "FIFO" : "OTHER",
		    rtprio, strerror(errno));
}

/* Pin the calling thread (and threads it creates later); cpu < 0: no pin. */
static inline void pin_cpu(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		die("sched_setaffinity(cpu %d): %s", cpu, strerror(errno));
}

/* Thread attributes for an explicitly scheduled, optionally pinned thread. */
static inline void rt_attr(pthread_attr_t *a, int rtprio, int cpu)
{
	struct sched_param sp = { .sched_priority = rtprio };
	cpu_set_t set;

	pthread_attr_init(a);
	pthread_attr_setinheritsched(a, PTHREAD_EXPLICIT_SCHED);
	pthread_attr_setschedpolicy(a, rtprio ? SCHED_FIFO : SCHED_OTHER);
	pthread_attr_setschedparam(a, &sp);
	if (cpu >= 0) {
		CPU_ZERO(&set);
		CPU_SET(cpu, &set);
		pthread_attr_setaffinity_np(a, sizeof(set), &set);
	}
}

static inline void set_name(const char *name)
{
	prctl(PR_SET_NAME, name, 0, 0, 0);
}

/*
 * One line per task so that test scripts can find the ids to track:
 *   PROG: task name=NAME pid=PID tid=TID policy=fifo rtprio=50 cpu=1
 */
static inline void announce(const char *name, int rtprio, int cpu)
{
	printf("%s: task name=%s pid=%d tid=%d policy=%s rtprio=%d cpu=%d\n",
	       prog_name, name, getpid(), gettid_(), rtprio ? "fifo" : "other",
	       rtprio, cpu);
}

/* Line-buffered output (scripts read it while we run) and no page faults. */
static inline void rt_init(const char *prog, int lock_memory)
{
	prog_name = prog;
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (lock_memory && mlockall(MCL_CURRENT | MCL_FUTURE))
		fprintf(stderr, "%s: mlockall: %s (continuing)\n", prog,
			strerror(errno));
}

static inline long arg_num(const char *s, const char *what, long lo, long hi)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 0);
	if (errno || end == s || *end || v < lo || v > hi)
		die("bad %s '%s' (expected %ld..%ld)", what, s, lo, hi);
	return v;
}

static inline const char *arg_name(const char *s)
{
	if (!*s || strlen(s) > 15)
		die("bad name '%s' (1..15 characters)", s);
	return s;
}

/*
 * Voluntary context switches of the calling thread so far: each one is a
 * sleep, hence one wakeup for the tracer to count. A sleep whose deadline
 * passes while it is being set up can return without switching (woken
 * while still on its CPU): the tracer counts that wakeup as a sleep of
 * length 0, this count does not.
 */
static inline long vol_switches(void)
{
	struct rusage ru;

	getrusage(RUSAGE_THREAD, &ru);
	return ru.ru_nvcsw;
}

/* Running min/max/mean of nanosecond samples. */
struct stat_ns {
	uint64_t n, min, max, sum;
};

static inline void stat_add(struct stat_ns *s, uint64_t v)
{
	if (!s->n || v < s->min)
		s->min = v;
	if (v > s->max)
		s->max = v;
	s->sum += v;
	s->n++;
}

static inline uint64_t stat_mean(const struct stat_ns *s)
{
	return s->n ? s->sum / s->n : 0;
}

#endif /* RT_COMMON_H */
