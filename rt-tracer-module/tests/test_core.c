// SPDX-License-Identifier: GPL-2.0
/*
 * Host unit tests of the core (rtt_core.h, rtt_core.c): replay synthetic
 * scheduler event sequences through the functions the module's probes
 * call, and check exact numbers.
 */
#include <stdio.h>
#include <stdlib.h>
#include "../rtt_core.h"

static int passed, failed, cur_failed;
static struct rtt_core core;	/* big: not on the stack */
static struct rtt_core core2;
static struct rtt_win_store wstore;	/* what the module's pool hands out */
static struct rtt_report report;

/* The sysfs text of a core, as the module formats a slot's report. */
static size_t format(const struct rtt_core *c, char *buf, size_t size)
{
	rtt_core_report(c, &report);
	return rtt_core_format(&report, buf, size);
}

#define CHECK(cond) do {						\
	if (!(cond)) {							\
		printf("    %s:%d: CHECK(%s) failed\n", __FILE__,	\
		       __LINE__, #cond);				\
		cur_failed = 1;						\
	}								\
} while (0)

#define CHECK_EQ(a, b) do {						\
	unsigned long long _a = (a), _b = (b);				\
	if (_a != _b) {							\
		printf("    %s:%d: %s == %llu, expected %s == %llu\n",	\
		       __FILE__, __LINE__, #a, _a, #b, _b);		\
		cur_failed = 1;						\
	}								\
} while (0)

static void run(const char *name, void (*fn)(void))
{
	cur_failed = 0;
	fn();
	printf("%s %s\n", cur_failed ? "FAIL" : "ok  ", name);
	if (cur_failed)
		failed++;
	else
		passed++;
}

/* A task for events; its name lives in a 16-byte buffer, as a task's does */
static struct rtt_who W(int pid, const char *comm, int prio)
{
	static char names[64][RTT_COMM_LEN];
	static unsigned int next;
	char *name = names[next++ % 64];
	struct rtt_who w;

	memset(&w, 0, sizeof(w));
	w.pid = pid;
	w.prio = prio;
	w.policy = prio < 100 ? 1 : 0;
	memset(name, 0, RTT_COMM_LEN);
	memcpy(name, comm, strnlen(comm, RTT_COMM_LEN - 1));
	w.comm = name;
	return w;
}

/* The CPUs' switch logs, as the module keeps them per CPU. */
#define TEST_CPUS 4
static struct rtt_cpulog logs[TEST_CPUS];

struct rtt_cpulog *rtt_cpulog_of(s32 cpu)
{
	return cpu >= 0 && cpu < TEST_CPUS ? &logs[cpu] : NULL;
}


/* The tracked task itself, as an event names it. */
static const struct rtt_who *me(const struct rtt_core *c)
{
	static struct rtt_who w;

	w.pid = c->info.pid;
	w.prio = c->info.prio;
	w.policy = c->info.policy;
	w.comm = c->info.comm;
	return &w;
}

/*
 * A context switch on cpu as the module's probe handles it: into the CPU's
 * log first, then to the tracked task if it is one of the two.
 */
static void sw(struct rtt_core *c, u64 t, int cpu, const struct rtt_who *prev,
	       u8 prev_state, const struct rtt_who *next)
{
	rtt_cpulog_switch(&logs[cpu], t, prev, prev_state, next);
	if (next->pid == c->info.pid)
		rtt_core_switch_in(c, t, cpu);
	else if (prev->pid == c->info.pid)
		rtt_core_switch_out(c, t, cpu, prev_state);
}

static struct rtt_core *fresh(struct rtt_core *c, int pid, unsigned int flags)
{
	memset(logs, 0, sizeof(logs));
	rtt_core_init(c);
	c->info.pid = pid;
	c->info.tgid = pid;
	c->info.kind = RTT_TRACK_PID;
	c->info.flags = flags;
	c->info.prio = 49;
	c->info.policy = 1;
	memcpy(c->info.comm, "ctrl_loop", 10);
	return c;
}

static struct rtt_who waker, hog, other, idle;

static void setup_whos(void)
{
	waker = W(10, "waker", 120);
	hog = W(456, "hog", 109);
	other = W(457, "other", 120);
	idle = W(0, "swapper/0", 120);
}

/* ---- tests ---- */

/*
 * A task that never sleeps on a timer (an IRQ thread, a server) keeps one
 * relief interval open for ever; its latency worst cases still get their
 * events.
 */
static void t_events_without_timer_sleeps(void)
{
	struct rtt_core *c = fresh(&core, 123, RTT_F_TRACE);
	struct rtt_worst *w = &c->worst[RTT_METRIC_LATENCY];
	u64 t = 1000;
	int i;

	for (i = 0; i < 40; i++) {
		rtt_core_wakeup(c, t, 0, &waker, 0);
		sw(c, t + 10, 0, &waker, RTT_STATE_PREEMPTED, &hog);
		/* the last latency is the longest */
		t += i == 39 ? 500 : 100;
		sw(c, t, 0, &hog, RTT_STATE_PREEMPTED, me(c));
		sw(c, t + 50, 0, me(c), RTT_STATE_SLEEP_IO, &idle);
		t += 1000;
	}
	CHECK_EQ(c->m[RTT_METRIC_RELIEF].count, 0);
	CHECK_EQ(c->m[RTT_METRIC_LATENCY].count, 40);
	CHECK_EQ(w->value_ns, 500);
	CHECK_EQ(w->nr_events, 3);	/* wakeup, hog in, self in */
	CHECK_EQ(w->events[0].type, RTT_EV_WAKEUP);
	CHECK_EQ(w->events[0].t_ns, 0);
	CHECK_EQ(w->events[1].pid, 456);
	CHECK_EQ(w->events[2].pid, 123);
	CHECK_EQ(w->events[2].t_ns, 500);
	CHECK_EQ(w->events_dropped, 0);
}

/*
 * Priority inversion without PI: the task sleeps on a lock held by low,
 * med preempts low. Whoever runs on the task's CPU during the lock sleep
 * is charged to the relief interval (not to the later latency).
 */
static void t_lock_sleep_culprits(void)
{
	struct rtt_core *c = fresh(&core, 123, 0);
	struct rtt_who low = W(600, "low", 89), med = W(601, "med", 79);
	struct rtt_worst *w = &c->worst[RTT_METRIC_RELIEF];

	rtt_core_wakeup(c, 0, 1, &waker, 0);
	sw(c, 10, 1, &idle, 0, me(c));
	sw(c, 100, 1, me(c), RTT_STATE_SLEEP_LOCK, &low);
	CHECK(rtt_core_watched(c));
	sw(c, 200, 1, &low, RTT_STATE_PREEMPTED, &med);
	sw(c, 5200, 1, &med, RTT_STATE_SLEEP_TIMER, &low);
	rtt_core_wakeup(c, 5400, 1, &low, 0);	/* low unlocks */
	sw(c, 5450, 1, &low, RTT_STATE_PREEMPTED, me(c));
	sw(c, 5500, 1, me(c), RTT_STATE_SLEEP_TIMER, &idle);
	CHECK(!rtt_core_watched(c));
	CHECK_EQ(c->m[RTT_METRIC_RELIEF].count, 1);
	CHECK_EQ(c->m[RTT_METRIC_RELIEF].max_ns, 5500);
	CHECK_EQ(c->m[RTT_METRIC_RELIEF].worst.sleep_ns[RTT_STATE_SLEEP_LOCK - 1], 5300);
	CHECK_EQ(w->nr_culprits, 2);
	CHECK_EQ(w->culprits[0].pid, 601);
	CHECK_EQ(w->culprits[0].ns, 5000);
	CHECK_EQ(w->culprits[1].pid, 600);
	CHECK_EQ(w->culprits[1].ns, 100 + 200 + 50);
	/* the second latency (5400 -> 5450) holds low's last 50 ns only */
	CHECK_EQ(c->m[RTT_METRIC_LATENCY].last_ns, 50);
	CHECK_EQ(c->m[RTT_METRIC_LATENCY].max_ns, 50);
	CHECK_EQ(c->worst[RTT_METRIC_LATENCY].culprits[0].pid, 600);
	CHECK_EQ(c->worst[RTT_METRIC_LATENCY].culprits[0].ns, 50);

	/* an I/O sleep is not watched: nobody is charged while it lasts */
	rtt_core_wakeup(c, 10000, 1, &waker, 0);
	sw(c, 10000, 1, &idle, 0, me(c));
	sw(c, 10100, 1, me(c), RTT_STATE_SLEEP_IO, &med);
	CHECK(!rtt_core_watched(c));
	rtt_core_wakeup(c, 20000, 1, &waker, 0);
	sw(c, 20000, 1, &med, RTT_STATE_PREEMPTED, me(c));
	sw(c, 20100, 1, me(c), RTT_STATE_SLEEP_TIMER, &idle);
	CHECK_EQ(c->m[RTT_METRIC_RELIEF].count, 2);
	CHECK_EQ(c->m[RTT_METRIC_RELIEF].max_ns, 10100);
	CHECK_EQ(w->nr_culprits, 0);
}

static void t_latency_culprits(void)
{
	struct rtt_core *c = fresh(&core, 123, 0);
	struct rtt_worst *w = &c->worst[RTT_METRIC_LATENCY];

	rtt_core_wakeup(c, 1000, 0, &waker, 0);
	CHECK(rtt_core_watched(c));
	CHECK_EQ(c->cpu, 0);
	sw(c, 1500, 0, &hog, RTT_STATE_PREEMPTED, &other);
	sw(c, 5000, 0, &other, RTT_STATE_SLEEP_OTHER, me(c));
	CHECK_EQ(c->m[RTT_METRIC_LATENCY].count, 1);
	CHECK_EQ(c->m[RTT_METRIC_LATENCY].max_ns, 4000);
	CHECK_EQ(c->m[RTT_METRIC_LATENCY].min_ns, 4000);
	CHECK_EQ(c->m[RTT_METRIC_LATENCY].last_ns, 4000);
	CHECK_EQ(c->m[RTT_METRIC_LATENCY].worst.waiting_ns, 4000);
	CHECK_EQ(c->m[RTT_METRIC_LATENCY].worst.running_ns, 0);
	CHECK(c->notify & RTT_N_WORST(RTT_METRIC_LATENCY));
	CHECK_EQ(w->nr_culprits, 2);
	CHECK_EQ(w->culprits[0].pid, 457);
	CHECK_EQ(w->culprits[0].ns, 3500);
	CHECK(!strcmp(w->culprits[0].comm, "other"));
	CHECK_EQ(w->culprits[1].pid, 456);
	CHECK_EQ(w->culprits[1].ns, 500);
	CHECK_EQ(w->culprits[1].prio, 109);
	CHECK_EQ(w->nr_events, 0);	/* no trace flag: no events */
}

static void t_response_relief_breakdown(void)
{
	struct rtt_core *c = fresh(&core, 123, 0);
	struct rtt_breakdown *bd;

	rtt_core_wakeup(c, 1000, 0, &waker, 0);
	sw(c, 5000, 0, &idle, RTT_STATE_PREEMPTED, me(c));
	sw(c, 6000, 0, me(c), RTT_STATE_PREEMPTED, &hog);
	CHECK(rtt_core_watched(c));
	sw(c, 8000, 0, &hog, RTT_STATE_PREEMPTED, me(c));
	CHECK_EQ(c->m[RTT_METRIC_LATENCY].count, 1);	/* not again */
	sw(c, 9000, 0, me(c), RTT_STATE_SLEEP_IO, &idle);
	CHECK(!rtt_core_watched(c));
	CHECK_EQ(c->m[RTT_METRIC_RESPONSE].count, 1);
	CHECK_EQ(c->m[RTT_METRIC_RESPONSE].max_ns, 8000);
	bd = &c->m[RTT_METRIC_RESPONSE].worst;
	CHECK_EQ(bd->running_ns, 2000);
	CHECK_EQ(bd->waiting_ns, 6000);
	CHECK_EQ(c->m[RTT_METRIC_RELIEF].count, 0);	/* IO: still open */
	/* idle ran from the wakeup to the switch-in (nobody's fault), then hog */
	CHECK_EQ(c->worst[RTT_METRIC_RESPONSE].nr_culprits, 1);
	CHECK_EQ(c->worst[RTT_METRIC_RESPONSE].culprits[0].pid, 456);
	CHECK_EQ(c->worst[RTT_METRIC_RESPONSE].culprits[0].ns, 2000);

	rtt_core_wakeup(c, 12000, 1, &waker, 0);
	sw(c, 12500, 1, &idle, RTT_STATE_PREEMPTED, me(c));
	CHECK_EQ(c->m[RTT_METRIC_LATENCY].count, 2);
	CHECK_EQ(c->m[RTT_METRIC_LATENCY].last_ns, 500);
	CHECK_EQ(c->m[RTT_METRIC_LATENCY].min_ns, 500);
	CHECK_EQ(c->m[RTT_METRIC_LATENCY].max_ns, 4000);
	sw(c, 13000, 1, me(c), RTT_STATE_SLEEP_TIMER, &idle);
	CHECK_EQ(c->m[RTT_METRIC_RESPONSE].count, 2);
	CHECK_EQ(c->m[RTT_METRIC_RESPONSE].last_ns, 1000);
	CHECK_EQ(c->m[RTT_METRIC_RELIEF].count, 1);
	CHECK_EQ(c->m[RTT_METRIC_RELIEF].max_ns, 12000);
	bd = &c->m[RTT_METRIC_RELIEF].worst;
	CHECK_EQ(bd->running_ns, 2500);
	CHECK_EQ(bd->waiting_ns, 6500);
	CHECK_EQ(bd->sleep_ns[RTT_STATE_SLEEP_IO - 1], 3000);
	CHECK_EQ(rtt_breakdown_sum(bd), 12000);
	CHECK_EQ(c->m[RTT_METRIC_LATENCY].sum_ns, 4500);
	/* next cycle opens a new relief interval */
	rtt_core_wakeup(c, 20000, 1, &waker, 0);
	sw(c, 20100, 1, &idle, RTT_STATE_PREEMPTED, me(c));
	sw(c, 20300, 1, me(c), RTT_STATE_SLEEP_TIMER, &idle);
	CHECK_EQ(c->m[RTT_METRIC_RELIEF].count, 2);
	CHECK_EQ(c->m[RTT_METRIC_RELIEF].last_ns, 300);
}

static void t_lock_sleep_in_relief(void)
{
	struct rtt_core *c = fresh(&core, 5, 0);
	struct rtt_breakdown *bd;

	rtt_core_wakeup(c, 0, 0, &waker, 0);
	sw(c, 100, 0, &idle, 0, me(c));
	sw(c, 300, 0, me(c), RTT_STATE_SLEEP_LOCK, &idle);
	rtt_core_wakeup(c, 1300, 0, &waker, 0);
	sw(c, 1350, 0, &idle, 0, me(c));
	sw(c, 1400, 0, me(c), RTT_STATE_SLEEP_OTHER, &idle);
	rtt_core_wakeup(c, 1500, 0, &waker, 0);
	sw(c, 1510, 0, &idle, 0, me(c));
	sw(c, 2000, 0, me(c), RTT_STATE_SLEEP_TIMER, &idle);
	bd = &c->m[RTT_METRIC_RELIEF].worst;
	CHECK_EQ(c->m[RTT_METRIC_RELIEF].max_ns, 2000);
	CHECK_EQ(bd->sleep_ns[RTT_STATE_SLEEP_LOCK - 1], 1000);
	CHECK_EQ(bd->sleep_ns[RTT_STATE_SLEEP_OTHER - 1], 100);
	CHECK_EQ(bd->waiting_ns, 100 + 50 + 10);
	CHECK_EQ(bd->running_ns, 200 + 50 + 490);
	CHECK_EQ(rtt_breakdown_sum(bd), 2000);
	CHECK_EQ(c->m[RTT_METRIC_LATENCY].count, 3);
	CHECK_EQ(c->m[RTT_METRIC_RESPONSE].count, 3);
	CHECK_EQ(c->m[RTT_METRIC_RESPONSE].max_ns, 500);
	CHECK_EQ(c->m[RTT_METRIC_RESPONSE].min_ns, 100);
}

static void t_histograms(void)
{
	struct rtt_core *c = fresh(&core, 7, 0);
	struct rtt_metric_stats *st = &c->m[RTT_METRIC_LATENCY];
	static const u64 v[] = { 0, 1, 2, 3, 1000, 1999, 2000, 40000, 150,
				 (1ull << 40) };
	u64 t = 1000000;
	u32 i;

	CHECK(rtt_core_set_lin(c, RTT_METRIC_LATENCY, 200, 1000) == 0);
	for (i = 0; i < ARRAY_SIZE(v); i++) {
		rtt_core_wakeup(c, t, 0, &waker, 0);
		sw(c, t + v[i], 0, &idle, 0, me(c));
		t += v[i] + 10;
		sw(c, t, 0, me(c), RTT_STATE_SLEEP_TIMER, &idle);
		t += 100;
	}
	CHECK_EQ(st->count, ARRAY_SIZE(v));
	CHECK_EQ(st->log2_hist[0], 1);		/* 0 */
	CHECK_EQ(st->log2_hist[1], 1);		/* 1 */
	CHECK_EQ(st->log2_hist[2], 2);		/* 2, 3 */
	CHECK_EQ(st->log2_hist[8], 1);		/* 150: [128, 256) */
	CHECK_EQ(st->log2_hist[10], 1);		/* 1000: [512, 1024) */
	CHECK_EQ(st->log2_hist[11], 2);		/* 1999, 2000 */
	CHECK_EQ(st->log2_hist[16], 1);		/* 40000 */
	CHECK_EQ(st->log2_hist[31], 1);		/* 2^40: open bucket */
	CHECK_EQ(st->lin_under, 5);		/* 0 1 2 3 150 */
	CHECK_EQ(st->lin_hist[0], 1);		/* 1000 in [200, 1200) */
	CHECK_EQ(st->lin_hist[1], 2);		/* 1999, 2000 */
	CHECK_EQ(st->lin_hist[31], 0);
	CHECK_EQ(st->lin_over, 2);		/* 40000 (idx 39), 2^40 */
	CHECK_EQ(st->min_ns, 0);
	CHECK_EQ(st->max_ns, 1ull << 40);
	CHECK(rtt_core_set_lin(c, 9, 0, 1) == -1);
	CHECK(rtt_core_set_lin(c, 0, ~0ull - 10, 1) == -1);
	CHECK(rtt_core_set_lin(c, 0, 0, ~0ull / 2) == -1);
	CHECK(rtt_core_set_lin(c, 0, 0, 0) == 0);	/* disable */
	CHECK_EQ(st->lin_under, 0);
	CHECK_EQ(rtt_log2_bucket(~0ull), 31);
}

static void t_bounds(void)
{
	struct rtt_core *c = fresh(&core, 8, 0);
	static const u64 v[] = { 2000, 4000, 3000, 5000, 1000 };
	u32 i, nviol = 0, nworst = 0;
	u64 t = 0;

	rtt_core_set_bound(c, RTT_METRIC_LATENCY, 3000);
	for (i = 0; i < ARRAY_SIZE(v); i++) {
		u32 n;

		rtt_core_wakeup(c, t, 0, &waker, 0);
		sw(c, t + v[i], 0, &idle, 0, me(c));
		n = rtt_core_take_notify(c);
		if (n & RTT_N_VIOLATION(RTT_METRIC_LATENCY)) {
			nviol++;
			CHECK(c->n_value[0] > 3000);
			CHECK_EQ(rtt_breakdown_sum(&c->n_bd[0]), c->n_value[0]);
		}
		if (n & RTT_N_WORST(RTT_METRIC_LATENCY))
			nworst++;
		t += v[i] + 1;
		sw(c, t, 0, me(c), RTT_STATE_SLEEP_TIMER, &idle);
		t += 10;
	}
	CHECK_EQ(c->m[0].violations, 2);
	CHECK_EQ(nviol, 2);
	CHECK_EQ(nworst, 3);		/* 2000, 4000, 5000 */
	CHECK_EQ(c->m[0].bound_ns, 3000);
	CHECK_EQ(c->m[0].sum_ns, 15000);
}

static void t_worst_events_dropped(void)
{
	struct rtt_core *c = fresh(&core, 9, RTT_F_TRACE);
	struct rtt_worst *w = &c->worst[RTT_METRIC_LATENCY];
	struct rtt_who a = W(500, "a", 10), b = W(501, "b", 20);
	u32 i;

	/* first interval: small */
	rtt_core_wakeup(c, 100, 0, &waker, 0);
	sw(c, 200, 0, &idle, 0, me(c));
	sw(c, 300, 0, me(c), RTT_STATE_SLEEP_TIMER, &idle);
	CHECK_EQ(w->nr_events, 2);
	CHECK_EQ(w->events[0].type, RTT_EV_WAKEUP);
	CHECK_EQ(w->events[0].other_pid, 10);
	CHECK_EQ(w->events[1].type, RTT_EV_SWITCH);
	CHECK_EQ(w->events[1].t_ns, 100);
	CHECK_EQ(w->events[1].pid, 9);
	/* second: 30 switches between a and b while it waits */
	rtt_core_wakeup(c, 1000, 0, &waker, 0);
	for (i = 0; i < 30; i++)
		sw(c, 1000 + 100 * (i + 1), 0, i & 1 ? &b : &a,
		   RTT_STATE_PREEMPTED, i & 1 ? &a : &b);
	rtt_core_migrate(c, 4050, 0, 1);
	sw(c, 4060, 0, &a, 0, &b);	/* other CPU now */
	sw(c, 4100, 1, &idle, 0, me(c));
	CHECK_EQ(c->m[0].max_ns, 3100);
	CHECK_EQ(w->value_ns, 3100);
	CHECK_EQ(w->nr_events, RTT_TRACE_EVENTS);
	/* wakeup + 30 switches + migrate + switch-in = 33 */
	CHECK_EQ(w->events_dropped, 33 - RTT_TRACE_EVENTS);
	CHECK_EQ(c->events_dropped, 33 - RTT_TRACE_EVENTS);
	CHECK_EQ(w->events[0].type, RTT_EV_WAKEUP);
	CHECK_EQ(w->events[1].other_pid, 500);
	CHECK_EQ(w->events[1].pid, 501);
	CHECK_EQ(w->events[1].other_prio, 10);
	CHECK_EQ(w->events[1].t_ns, 100);
	/* culprits: a ran 15 x 100 + 50 (until migrate) ... */
	CHECK_EQ(w->nr_culprits, 2);	/* not idle on CPU 1 (50 ns) */
	CHECK_EQ(w->culprits[0].pid, 500);
	CHECK_EQ(w->culprits[0].ns, 1500);
	CHECK_EQ(w->culprits[1].pid, 501);
	CHECK_EQ(w->culprits[1].ns, 1500);
	CHECK_EQ(w->bd.waiting_ns, 3100);
}

/*
 * A wait longer than a CPU's log reaches back: what is gone is not
 * explained (events_dropped says so), what is left still is, and the
 * breakdown stays exact. The log is shared: the other tasks' switches
 * count against it whatever is tracked.
 */
/*
 * The module leaves a task's switch-in to its next event
 * (rtt_core_switch_in_lazy()), which applies it first: in one pass with
 * the switch-out that follows, or before any other event. Random but
 * possible sequences (a task switches out only where it runs, in only
 * where it does not), one core switched in at once, one lazily as the
 * module does: the same statistics and breakdowns.
 */
static struct rtt_core lazy_core;

static void t_lazy_switch_in(void)
{
	struct rtt_core *a = fresh(&core, 40, 0), *b = &lazy_core;
	struct rtt_who x = W(41, "x", 100);
	u64 t = 0, seed = 777;
	int run_cpu = -1;		/* where the task runs; -1: nowhere */
	u32 i, m, lazy = 0;

	*b = *a;
	rtt_core_set_bound(a, RTT_METRIC_LATENCY, 3000);
	rtt_core_set_bound(b, RTT_METRIC_LATENCY, 3000);
	for (i = 0; i < 100000; i++) {
		u32 r, cpu;
		u8 why;

		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		r = (u32)(seed >> 33);
		t += r % 2000;
		cpu = (r >> 12) % 2;
		switch (r % 6) {
		case 0:
			/* on its CPU: on its way into a sleep, or a lock */
			why = run_cpu < 0 ? 0 : (r >> 4) % 5 ?
			      (r >> 4) % 5 : RTT_ONCPU_HANDOFF;
			rtt_core_wakeup(a, t, cpu, &waker, why);
			rtt_core_wakeup(b, t, cpu, &waker, why);
			break;
		case 1:
		case 2:
			if (run_cpu >= 0) {
				why = (r >> 4) % 5;
				rtt_core_switch_out(a, t, run_cpu, why);
				rtt_core_switch_out(b, t, run_cpu, why);
				run_cpu = -1;
				break;
			}
			/* mostly where it was queued */
			if (a->cpu >= 0 && (r >> 16) % 8)
				cpu = a->cpu;
			rtt_core_switch_in(a, t, cpu);
			if (rtt_core_switch_in_lazy(b, t, cpu))
				lazy++;
			else
				rtt_core_switch_in(b, t, cpu);
			run_cpu = cpu;
			break;
		case 3:
			if (run_cpu >= 0)
				break;
			rtt_core_migrate(a, t, a->cpu, cpu);
			rtt_core_migrate(b, t, b->cpu, cpu);
			break;
		case 4:
			rtt_core_irq_entry(a, t, cpu, 3);
			rtt_core_irq_entry(b, t, cpu, 3);
			break;
		default:
			if ((int)cpu != run_cpu)
				rtt_cpulog_switch(&logs[cpu], t, &x, 0, &hog);
			break;
		}
	}
	rtt_core_catch_up(b);
	for (m = 0; m < RTT_NR_METRICS; m++) {
		a->m[m].worst_at_ns = 0;
		b->m[m].worst_at_ns = 0;
		CHECK(!memcmp(&a->m[m], &b->m[m], sizeof(a->m[m])));
		CHECK_EQ(a->worst[m].value_ns, b->worst[m].value_ns);
	}
	CHECK(!memcmp(&a->acc, &b->acc, sizeof(a->acc)));
	CHECK_EQ(a->rs, b->rs);
	CHECK_EQ(a->t_state, b->t_state);
	CHECK_EQ(b->t_in, 0);
	CHECK(lazy > 10000);
	CHECK(a->m[RTT_METRIC_LATENCY].count > 1000);
	CHECK(a->m[RTT_METRIC_LATENCY].violations > 10);
	CHECK(a->m[RTT_METRIC_RELIEF].count > 100);
}

static void t_log_overrun(void)
{
	struct rtt_core *c = fresh(&core, 14, RTT_F_TRACE);
	struct rtt_worst *w = &c->worst[RTT_METRIC_LATENCY];
	struct rtt_who a = W(700, "a", 110), b = W(701, "b", 110);
	u64 t = 1000;
	u32 i;

	rtt_core_wakeup(c, t, 2, &waker, 0);
	for (i = 0; i < RTT_LOG_LEN + 50; i++) {
		t += 10;
		sw(c, t, 2, i & 1 ? &b : &a, RTT_STATE_PREEMPTED, i & 1 ? &a : &b);
	}
	sw(c, t + 5, 2, &a, RTT_STATE_SLEEP_IO, me(c));
	CHECK_EQ(w->value_ns, t + 5 - 1000);
	CHECK_EQ(w->bd.waiting_ns, t + 5 - 1000);
	/*
	 * the last RTT_LOG_LEN - 1 switches (the oldest slot is the one the
	 * writer fills next), the self switch-in included; who ran before the
	 * oldest one kept is not charged (since when is unknown)
	 */
	CHECK_EQ(w->nr_culprits, 2);
	CHECK_EQ(w->culprits[0].ns + w->culprits[1].ns,
		 (RTT_LOG_LEN - 3) * 10 + 5);
	CHECK_EQ(w->nr_events, RTT_TRACE_EVENTS);
	CHECK(w->events[0].type == RTT_EV_WAKEUP);
	CHECK(w->events[1].type == RTT_EV_SWITCH);
	CHECK(w->events[1].t_ns > 50 * 10);	/* the early ones are gone */
	CHECK(w->events_dropped > RTT_LOG_LEN - RTT_TRACE_EVENTS);
	CHECK_EQ(c->events_dropped, w->events_dropped);
}

/* More own events in an interval than kept: the oldest are counted lost. */
static void t_own_overrun(void)
{
	struct rtt_core *c = fresh(&core, 15, RTT_F_TRACE);
	struct rtt_worst *w = &c->worst[RTT_METRIC_LATENCY];
	u32 i;

	rtt_core_wakeup(c, 100, 0, &waker, 0);
	for (i = 0; i < RTT_OWN_LEN + 4; i++)	/* woken again and again */
		rtt_core_wakeup(c, 200 + i, 0, &waker, 0);
	sw(c, 1000, 0, &idle, 0, me(c));
	CHECK_EQ(w->value_ns, 900);
	CHECK_EQ(w->nr_events, RTT_OWN_LEN + 1);
	CHECK_EQ(w->events_dropped, 5);
	CHECK_EQ(w->events[0].t_ns, 104);	/* own event 5 of 0..20: at 204 */
	CHECK_EQ(w->events[0].pid, 15);
	CHECK(!strcmp(w->events[0].comm, "ctrl_loop"));
	CHECK_EQ(w->events[RTT_OWN_LEN].pid, 15);	/* switch-in */
}

static void t_culprit_overflow(void)
{
	struct rtt_core *c = fresh(&core, 11, 0);
	struct rtt_worst *w = &c->worst[RTT_METRIC_LATENCY];
	struct rtt_who x;
	u64 t = 0, lens[12] = { 5, 1, 7, 2, 90, 3, 4, 80, 6, 70, 60, 8 };
	u32 i;

	rtt_core_wakeup(c, t, 0, &waker, 0);
	for (i = 0; i < 12; i++) {
		t += lens[i];
		x = W(600 + i, "x", 120);
		sw(c, t, 0, &x, 0, &idle);
	}
	sw(c, t + 1, 0, &idle, 0, me(c));
	CHECK_EQ(w->nr_culprits, RTT_CULPRITS);
	CHECK_EQ(w->culprits[0].ns, 90);
	CHECK_EQ(w->culprits[1].ns, 80);
	CHECK_EQ(w->culprits[2].ns, 70);
	CHECK_EQ(w->culprits[3].ns, 60);
	CHECK_EQ(w->culprits[3].pid, 610);
}

/* Wakeup on CPU A observed after the switch-out on CPU B, with an earlier
 * timestamp (the two CPUs' clocks): clamped, no negative interval.
 */
static void t_race_wakeup_after_switch_out_skew(void)
{
	struct rtt_core *c = fresh(&core, 12, 0);

	/* every relief violates: n_bd then holds its breakdown */
	rtt_core_set_bound(c, RTT_METRIC_RELIEF, 1);
	rtt_core_wakeup(c, 0, 1, &waker, 0);
	sw(c, 10, 1, &idle, 0, me(c));
	sw(c, 10000, 1, me(c), RTT_STATE_SLEEP_TIMER, &idle);
	rtt_core_wakeup(c, 9990, 1, &waker, 0);	/* skewed */
	CHECK_EQ(c->t_wake, 10000);
	sw(c, 10500, 1, &idle, 0, me(c));
	CHECK_EQ(c->m[0].last_ns, 500);
	sw(c, 10400, 1, me(c), RTT_STATE_SLEEP_TIMER, &idle);
	CHECK_EQ(c->m[RTT_METRIC_RESPONSE].last_ns, 500);
	CHECK_EQ(c->m[RTT_METRIC_RELIEF].last_ns, 500);
	CHECK(c->notify & RTT_N_VIOLATION(RTT_METRIC_RELIEF));
	CHECK_EQ(rtt_breakdown_sum(&c->n_bd[RTT_METRIC_RELIEF]), 500);
}

/* Wakeup (CPU A) observed before the switch-out (CPU B) it ends. */
static void t_race_wakeup_before_switch_out(void)
{
	struct rtt_core *c = fresh(&core, 13, 0);

	rtt_core_wakeup(c, 0, 1, &waker, 0);
	sw(c, 10, 1, &idle, 0, me(c));
	sw(c, 100, 1, me(c), RTT_STATE_SLEEP_TIMER, &idle);
	rtt_core_wakeup(c, 200, 1, &waker, 0);
	sw(c, 300, 1, &idle, 0, me(c));
	CHECK_EQ(c->rs, RTT_RS_RUNNING);
	/* wakeup seen first, task not on a CPU any more */
	rtt_core_wakeup(c, 1000, 1, &waker, 0);
	CHECK_EQ(c->m[0].count, 2);
	CHECK(c->wake_pending);
	sw(c, 990, 1, me(c), RTT_STATE_SLEEP_TIMER, &idle);
	CHECK_EQ(c->m[RTT_METRIC_RELIEF].count, 2);
	CHECK_EQ(c->m[RTT_METRIC_RELIEF].last_ns, 790);
	CHECK_EQ(c->rs, RTT_RS_WAITING);		/* the pending wakeup */
	CHECK_EQ(c->t_wake, 1000);
	sw(c, 1200, 1, &idle, 0, me(c));
	CHECK_EQ(c->m[0].count, 3);
	CHECK_EQ(c->m[0].last_ns, 200);
	/*
	 * genuine "wakeup while still running" (on its way into a timer
	 * sleep): a new activation, preempted before it sleeps: latency to
	 * its switch-in (t_overrun_preempted has the details)
	 */
	rtt_core_wakeup(c, 1300, 1, &waker, RTT_STATE_SLEEP_TIMER);
	CHECK(!c->wake_pending);
	CHECK_EQ(c->m[RTT_METRIC_RESPONSE].last_ns, 300);
	sw(c, 1400, 1, me(c), RTT_STATE_PREEMPTED, &hog);
	sw(c, 1500, 1, &hog, 0, me(c));
	CHECK_EQ(c->m[0].count, 4);
	CHECK_EQ(c->m[0].last_ns, 200);
	/* pending wakeup then preemption: dropped */
	rtt_core_wakeup(c, 1600, 1, &waker, 0);
	sw(c, 1700, 1, me(c), RTT_STATE_PREEMPTED, &hog);
	CHECK(!c->wake_pending);
	sw(c, 1800, 1, &hog, 0, me(c));
	CHECK_EQ(c->m[0].count, 4);
	/* a wakeup of a task preempted on its way to sleep: it never slept */
	sw(c, 1900, 1, me(c), RTT_STATE_PREEMPTED, &hog);
	rtt_core_wakeup(c, 2000, 1, &waker, 0);
	sw(c, 2100, 1, &hog, 0, me(c));
	CHECK_EQ(c->m[0].count, 4);
	CHECK_EQ(c->m[RTT_METRIC_RESPONSE].count, 3);
}

/*
 * A control loop that overruns (issue 10): its timer fires while it is
 * still on its CPU on its way into clock_nanosleep, and a higher task
 * woken by the same tick preempts it before it gets back to user space.
 * The period begins at that wakeup: its latency runs to the switch-in
 * (as ftrace's wakeup -> switch-in pairing and cyclictest's lateness
 * say), and the previous activation's response and relief end there.
 */
static void t_overrun_preempted(void)
{
	struct rtt_core *c = fresh(&core, 30, RTT_F_TRACE);
	struct rtt_who hi = W(31, "hi", 9);
	const struct rtt_worst *w = &c->worst[RTT_METRIC_LATENCY];

	rtt_core_wakeup(c, 0, 1, &waker, 0);
	sw(c, 10, 1, &idle, 0, me(c));
	/* its timer, in hard IRQ context, while it runs */
	rtt_core_wakeup(c, 1000, 1, &waker, RTT_STATE_SLEEP_TIMER);
	CHECK_EQ(c->rs, RTT_RS_RUNNING);
	CHECK_EQ(c->m[RTT_METRIC_RESPONSE].count, 1);
	CHECK_EQ(c->m[RTT_METRIC_RESPONSE].last_ns, 1000);
	CHECK_EQ(c->m[RTT_METRIC_RELIEF].count, 1);
	CHECK_EQ(c->m[RTT_METRIC_RELIEF].last_ns, 1000);
	sw(c, 1108, 1, me(c), RTT_STATE_PREEMPTED, &hi);
	sw(c, 28500, 1, &hi, RTT_STATE_SLEEP_TIMER, me(c));
	CHECK_EQ(c->m[0].count, 2);
	CHECK_EQ(c->m[0].max_ns, 27500);
	/* it ran 108 ns of it (on its way), then waited for hi */
	CHECK_EQ(c->m[0].worst.running_ns, 108);
	CHECK_EQ(c->m[0].worst.waiting_ns, 27392);
	CHECK_EQ(w->nr_culprits, 1);
	CHECK_EQ(w->culprits[0].pid, 31);
	CHECK_EQ(w->culprits[0].ns, 27392);
	/* its own wakeup, the preemption, its switch-in */
	CHECK_EQ(w->nr_events, 3);
	CHECK_EQ(w->events[0].type, RTT_EV_WAKEUP);
	sw(c, 29000, 1, me(c), RTT_STATE_SLEEP_TIMER, &idle);
	CHECK_EQ(c->m[RTT_METRIC_RESPONSE].count, 2);
	CHECK_EQ(c->m[RTT_METRIC_RESPONSE].last_ns, 28000);
	CHECK_EQ(c->m[RTT_METRIC_RELIEF].count, 2);
	CHECK_EQ(c->m[RTT_METRIC_RELIEF].last_ns, 28000);
	CHECK_EQ(c->m[0].count, 2);
}

/*
 * Woken on its CPU and not preempted: the scheduler keeps it running,
 * latency 0 (recorded when it next sleeps), with an empty breakdown. Two
 * such wakeups in a row (it overran a whole period): one activation each.
 * A zero-length sleep on a lock ends response but not relief; a lock
 * handed over while it spins for it on its CPU is no sleep at all.
 */
static void t_overrun_kept_cpu(void)
{
	struct rtt_core *c = fresh(&core, 32, 0);

	rtt_core_wakeup(c, 0, 0, &waker, 0);
	sw(c, 100, 0, &idle, 0, me(c));
	rtt_core_wakeup(c, 1000, 0, &waker, RTT_STATE_SLEEP_TIMER);
	CHECK_EQ(c->m[0].count, 1);
	rtt_core_wakeup(c, 2000, 0, &waker, RTT_STATE_SLEEP_TIMER);
	CHECK_EQ(c->m[0].count, 2);
	CHECK_EQ(c->m[0].min_ns, 0);
	CHECK_EQ(c->m[RTT_METRIC_RESPONSE].count, 2);
	CHECK_EQ(c->m[RTT_METRIC_RESPONSE].last_ns, 1000);
	CHECK_EQ(c->m[RTT_METRIC_RELIEF].count, 2);
	CHECK_EQ(c->m[RTT_METRIC_RELIEF].last_ns, 1000);
	/* a futex wakeup on its way into the wait */
	rtt_core_wakeup(c, 2500, 0, &waker, RTT_STATE_SLEEP_LOCK);
	CHECK_EQ(c->m[RTT_METRIC_RESPONSE].count, 3);
	CHECK_EQ(c->m[RTT_METRIC_RESPONSE].last_ns, 500);
	CHECK_EQ(c->m[RTT_METRIC_RELIEF].count, 2);
	sw(c, 3000, 0, me(c), RTT_STATE_SLEEP_TIMER, &idle);
	CHECK_EQ(c->m[0].count, 4);
	CHECK_EQ(c->m[0].last_ns, 0);
	CHECK_EQ(c->m[0].max_ns, 100);
	CHECK_EQ(c->m[RTT_METRIC_RESPONSE].count, 4);
	CHECK_EQ(c->m[RTT_METRIC_RESPONSE].last_ns, 500);
	CHECK_EQ(c->m[RTT_METRIC_RELIEF].count, 3);
	CHECK_EQ(c->m[RTT_METRIC_RELIEF].last_ns, 1000);
	CHECK_EQ(c->rs, RTT_RS_SLEEPING);
	/* a lock handed over while it spins for it: it never slept */
	rtt_core_wakeup(c, 3100, 0, &waker, 0);
	sw(c, 3200, 0, &idle, 0, me(c));
	CHECK_EQ(c->m[0].count, 5);
	rtt_core_wakeup(c, 3300, 0, &waker, RTT_ONCPU_HANDOFF);
	CHECK_EQ(c->rs, RTT_RS_RUNNING);
	CHECK(!c->wake_pending);
	sw(c, 3500, 0, me(c), RTT_STATE_SLEEP_TIMER, &idle);
	CHECK_EQ(c->m[0].count, 5);
	CHECK_EQ(c->m[RTT_METRIC_RESPONSE].count, 5);
	CHECK_EQ(c->m[RTT_METRIC_RESPONSE].last_ns, 400);
	/* a first latency of 0 is a worst case: empty breakdown */
	c = fresh(&core, 33, 0);
	rtt_core_wakeup(c, 0, 0, &waker, RTT_STATE_SLEEP_TIMER);
	sw(c, 700, 0, me(c), RTT_STATE_SLEEP_TIMER, &idle);
	CHECK_EQ(c->m[0].count, 1);
	CHECK_EQ(c->m[0].max_ns, 0);
	CHECK_EQ(rtt_breakdown_sum(&c->m[0].worst), 0);
	CHECK_EQ(c->m[RTT_METRIC_RESPONSE].max_ns, 700);
	CHECK_EQ(c->m[RTT_METRIC_RESPONSE].worst.running_ns, 700);
}

static void t_unknown_start(void)
{
	struct rtt_core *c = fresh(&core, 14, 0);

	/* added while running: switches are not seen until a wakeup */
	rtt_core_wakeup(c, 50, 0, &waker, RTT_STATE_SLEEP_TIMER);
	CHECK_EQ(c->rs, RTT_RS_RUNNING);
	sw(c, 100, 0, me(c), RTT_STATE_SLEEP_TIMER, &idle);
	/* that wakeup began an activation: it kept its CPU */
	CHECK_EQ(c->m[0].count, 1);
	CHECK_EQ(c->m[0].last_ns, 0);
	CHECK_EQ(c->m[RTT_METRIC_RESPONSE].last_ns, 50);
	CHECK_EQ(c->m[RTT_METRIC_RELIEF].last_ns, 50);
	rtt_core_wakeup(c, 200, 0, &waker, 0);
	sw(c, 250, 0, &idle, 0, me(c));
	CHECK_EQ(c->m[0].count, 2);
	CHECK_EQ(c->m[0].last_ns, 50);
	/* added while queued: from its next wakeup */
	c = fresh(&core, 14, 0);
	sw(c, 300, 0, me(c), RTT_STATE_SLEEP_TIMER, &idle);
	CHECK_EQ(c->m[RTT_METRIC_RESPONSE].count, 0);
	rtt_core_wakeup(c, 400, 0, &waker, 0);
	sw(c, 450, 0, &idle, 0, me(c));
	CHECK_EQ(c->m[0].count, 1);
}

static void t_exit_record(void)
{
	struct rtt_core *c = fresh(&core, 15, 0);

	rtt_core_wakeup(c, 0, 0, &waker, 0);
	sw(c, 10, 0, &idle, 0, me(c));
	rtt_core_exit(c, 50);
	CHECK(rtt_core_take_notify(c) & RTT_N_EXIT);
	CHECK(c->info.flags & RTT_F_EXITED);
	CHECK_EQ(c->exit_ns, 50);
	CHECK(!rtt_core_watched(c));
	CHECK_EQ(c->m[0].count, 1);
	CHECK_EQ(c->m[RTT_METRIC_RESPONSE].count, 0);
	rtt_core_exit(c, 80);
	CHECK_EQ(rtt_core_take_notify(c), 0);	/* only once */
	CHECK_EQ(c->exit_ns, 50);
}

/* Same pid, another process (start time differs): separate records. */
static void t_pid_reuse(void)
{
	struct rtt_core *a = fresh(&core, 16, 0), *b = fresh(&core2, 16, 0);
	char buf[RTT_FORMAT_MAX];

	a->info.start_ns = 111;
	b->info.start_ns = 222;
	rtt_core_wakeup(a, 0, 0, &waker, 0);
	sw(a, 700, 0, &idle, 0, me(a));
	rtt_core_exit(a, 800);
	rtt_core_wakeup(b, 1000, 0, &waker, 0);
	sw(b, 1030, 0, &idle, 0, me(b));
	CHECK_EQ(a->m[0].max_ns, 700);
	CHECK_EQ(b->m[0].max_ns, 30);
	CHECK_EQ(b->m[0].count, 1);
	CHECK(!(b->info.flags & RTT_F_EXITED));
	format(a, buf, sizeof(buf));
	CHECK(strstr(buf, "flags=exited\n"));
	format(b, buf, sizeof(buf));
	CHECK(strstr(buf, "flags=-\n"));
}

/*
 * An IRQ thread preempted in the middle of an activation: IRQs that come
 * meanwhile (or while it runs) are handled in that activation; irq spans
 * the whole activation, preemption included.
 */
static void t_irq_preempted_activation(void)
{
	struct rtt_core *c = fresh(&core, 20, 0);

	c->info.flags |= RTT_F_IRQ_THREAD;
	c->info.irq = 33;
	struct rtt_who in_irq = hog;	/* hog was interrupted by the IRQ */

	in_irq.hardirq = true;
	c->info.flags |= RTT_F_TRACE;
	rtt_core_irq_entry(c, 100, 0, 33);
	rtt_core_wakeup(c, 110, 0, &in_irq, 0);
	sw(c, 200, 0, &hog, 0, me(c));
	rtt_core_irq_entry(c, 250, 0, 33);		/* while it runs */
	sw(c, 300, 0, me(c), RTT_STATE_PREEMPTED, &hog);
	rtt_core_irq_entry(c, 400, 0, 33);		/* while preempted */
	sw(c, 1300, 0, &hog, RTT_STATE_PREEMPTED, me(c));
	sw(c, 1400, 0, me(c), RTT_STATE_SLEEP_OTHER, &idle);
	CHECK_EQ(c->m[RTT_METRIC_IRQ_DELAY].count, 1);
	CHECK_EQ(c->m[RTT_METRIC_IRQ_DELAY].max_ns, 100);
	CHECK_EQ(c->m[RTT_METRIC_IRQ].count, 1);
	CHECK_EQ(c->m[RTT_METRIC_IRQ].max_ns, 1200);
	CHECK_EQ(c->m[RTT_METRIC_IRQ].worst.running_ns, 200);
	CHECK_EQ(c->m[RTT_METRIC_IRQ].worst.waiting_ns, 1000);
	CHECK(!c->irq_pending);
	/* the next IRQ after the sleep is a new activation */
	rtt_core_irq_entry(c, 2000, 0, 33);
	rtt_core_wakeup(c, 2010, 0, &hog, 0);
	sw(c, 2050, 0, &idle, 0, me(c));
	CHECK_EQ(c->m[RTT_METRIC_IRQ_DELAY].count, 2);
	CHECK_EQ(c->m[RTT_METRIC_IRQ_DELAY].last_ns, 50);
}

/*
 * With the threaded handler's tracepoints: irq_delay ends at the handler
 * entry, irq is the handler run (preemption inside it included), one
 * sample per run, several runs per activation.
 */
static void t_irq_handler(void)
{
	struct rtt_core *c = fresh(&core, 20, RTT_F_TRACE);
	struct rtt_who in_irq = hog;	/* hog was interrupted by the IRQ */
	const struct rtt_metric_stats *d = &c->m[RTT_METRIC_IRQ_DELAY];
	const struct rtt_metric_stats *h = &c->m[RTT_METRIC_IRQ];
	char buf[RTT_FORMAT_MAX];

	c->info.flags |= RTT_F_IRQ_THREAD;
	c->info.kind = RTT_TRACK_IRQ;
	c->info.irq = 33;
	c->irq_handler_tp = true;
	in_irq.hardirq = true;
	/* an exit without its entry (tracked mid-handler) counts nothing */
	rtt_core_irq_handler_exit(c, 50);
	CHECK_EQ(h->count, 0);
	rtt_core_irq_entry(c, 100, 0, 33);
	rtt_core_wakeup(c, 110, 0, &in_irq, 0);
	rtt_core_irq_exit(c, 120, 0, 33);
	sw(c, 200, 0, &hog, 0, me(c));
	/* the switch-in no longer ends the delay: the handler entry does */
	CHECK_EQ(d->count, 0);
	CHECK(!c->irq_pending && !c->irq_running);
	rtt_core_irq_handler_entry(c, 230);
	CHECK_EQ(d->count, 1);
	CHECK_EQ(d->max_ns, 130);
	CHECK_EQ(d->worst.waiting_ns, 100);	/* its sleep before the wakeup too */
	CHECK_EQ(d->worst.running_ns, 30);	/* the thread's own way in */
	CHECK_EQ(rtt_breakdown_sum(&d->worst), 130);
	CHECK_EQ(c->worst[RTT_METRIC_IRQ_DELAY].nr_culprits, 1);
	CHECK_EQ(c->worst[RTT_METRIC_IRQ_DELAY].culprits[0].pid, 456);
	CHECK_EQ(c->worst[RTT_METRIC_IRQ_DELAY].culprits[0].ns, 90);
	/* preempted inside the handler: in irq, as waiting */
	sw(c, 300, 0, me(c), RTT_STATE_PREEMPTED, &hog);
	sw(c, 1300, 0, &hog, RTT_STATE_PREEMPTED, me(c));
	rtt_core_irq_handler_exit(c, 1350);
	CHECK_EQ(h->count, 1);
	CHECK_EQ(h->max_ns, 1120);
	CHECK_EQ(h->worst.running_ns, 120);
	CHECK_EQ(h->worst.waiting_ns, 1000);
	CHECK_EQ(rtt_breakdown_sum(&h->worst), 1120);
	CHECK_EQ(c->worst[RTT_METRIC_IRQ].culprits[0].pid, 456);
	CHECK_EQ(c->worst[RTT_METRIC_IRQ].culprits[0].ns, 1000);
	/* a second run in the same activation: its own samples */
	rtt_core_irq_entry(c, 1400, 0, 33);
	rtt_core_irq_exit(c, 1405, 0, 33);
	rtt_core_irq_handler_entry(c, 1420);
	rtt_core_irq_handler_exit(c, 1500);
	CHECK_EQ(d->count, 2);
	CHECK_EQ(d->last_ns, 20);
	CHECK_EQ(h->count, 2);
	CHECK_EQ(h->last_ns, 80);
	sw(c, 1600, 0, me(c), RTT_STATE_SLEEP_OTHER, &idle);
	/* the switch-out ends no derived irq sample either */
	CHECK_EQ(h->count, 2);
	/* a run with no hard IRQ pending: irq only */
	rtt_core_wakeup(c, 2000, 0, &hog, 0);
	sw(c, 2010, 0, &idle, 0, me(c));
	rtt_core_irq_handler_entry(c, 2020);
	rtt_core_irq_handler_exit(c, 2030);
	CHECK_EQ(d->count, 2);
	CHECK_EQ(h->count, 3);
	CHECK_EQ(h->last_ns, 10);
	/* two hard IRQs before a run: one delay, from the first */
	rtt_core_irq_entry(c, 3000, 0, 33);
	rtt_core_irq_entry(c, 3050, 0, 33);
	rtt_core_irq_handler_entry(c, 3100);
	rtt_core_irq_handler_exit(c, 3101);
	CHECK_EQ(d->count, 3);
	CHECK_EQ(d->last_ns, 100);
	CHECK_EQ(h->count, 4);
	sw(c, 3200, 0, me(c), RTT_STATE_SLEEP_OTHER, &idle);
	format(c, buf, sizeof(buf));
	CHECK(strstr(buf, "  irq_delay count=3 "));
	CHECK(strstr(buf, "  irq count=4 "));
	CHECK(strstr(buf, "flags=trace,irq_thread,irq_handler\n"));
	/* without the setting the handler events are ignored */
	c = fresh(&core, 20, 0);
	c->info.flags |= RTT_F_IRQ_THREAD;
	rtt_core_irq_handler_entry(c, 100);
	rtt_core_irq_handler_exit(c, 200);
	CHECK_EQ(c->m[RTT_METRIC_IRQ].count, 0);
}

static void t_irq(void)
{
	struct rtt_core *c = fresh(&core, 20, RTT_F_TRACE);
	struct rtt_who in_irq = hog;	/* hog was interrupted by the IRQ */
	struct rtt_breakdown *bd;
	u32 i;
	char buf[RTT_FORMAT_MAX];

	c->info.flags |= RTT_F_IRQ_THREAD;
	c->info.kind = RTT_TRACK_IRQ;
	c->info.irq = 33;
	in_irq.hardirq = true;
	rtt_core_irq_entry(c, 100, 0, 33);
	rtt_core_wakeup(c, 110, 0, &in_irq, 0);
	rtt_core_irq_exit(c, 120, 0, 33);
	sw(c, 200, 0, &hog, 0, me(c));
	CHECK_EQ(c->m[RTT_METRIC_IRQ_DELAY].count, 1);
	CHECK_EQ(c->m[RTT_METRIC_IRQ_DELAY].max_ns, 100);
	bd = &c->m[RTT_METRIC_IRQ_DELAY].worst;
	CHECK_EQ(bd->waiting_ns, 100);
	CHECK_EQ(c->m[RTT_METRIC_LATENCY].max_ns, 90);
	/* the wakeup says it came from the hard IRQ, not from hog */
	CHECK_EQ(c->worst[RTT_METRIC_LATENCY].events[0].type, RTT_EV_WAKEUP);
	CHECK_EQ(c->worst[RTT_METRIC_LATENCY].events[0].flags, RTT_EVF_HARDIRQ);
	CHECK_EQ(c->worst[RTT_METRIC_IRQ_DELAY].events[0].type, RTT_EV_IRQ_ENTRY);
	CHECK_EQ(c->worst[RTT_METRIC_IRQ_DELAY].events[1].flags, RTT_EVF_HARDIRQ);
	CHECK_EQ(c->worst[RTT_METRIC_IRQ_DELAY].events[2].type, RTT_EV_IRQ_EXIT);
	CHECK_EQ(c->worst[RTT_METRIC_IRQ_DELAY].events[3].flags, 0);
	/* who kept the CPU from the thread explains the delay too */
	CHECK_EQ(c->worst[RTT_METRIC_IRQ_DELAY].nr_culprits, 1);
	CHECK_EQ(c->worst[RTT_METRIC_IRQ_DELAY].culprits[0].pid, 456);
	CHECK_EQ(c->worst[RTT_METRIC_IRQ_DELAY].culprits[0].ns, 90);
	sw(c, 300, 0, me(c), RTT_STATE_PREEMPTED, &hog);
	sw(c, 350, 0, &hog, 0, me(c));
	sw(c, 500, 0, me(c), RTT_STATE_SLEEP_OTHER, &idle);
	CHECK_EQ(c->m[RTT_METRIC_IRQ].count, 1);
	CHECK_EQ(c->m[RTT_METRIC_IRQ].max_ns, 300);
	CHECK_EQ(c->m[RTT_METRIC_IRQ].worst.running_ns, 250);
	/* an IRQ while the thread runs is handled in that run */
	rtt_core_irq_entry(c, 1000, 0, 33);
	rtt_core_wakeup(c, 1001, 0, &hog, 0);
	sw(c, 1050, 0, &hog, 0, me(c));
	rtt_core_irq_entry(c, 1060, 0, 33);
	sw(c, 1100, 0, me(c), RTT_STATE_SLEEP_OTHER, &idle);
	CHECK_EQ(c->m[RTT_METRIC_IRQ_DELAY].count, 2);
	CHECK(!c->irq_pending);
	/* an IRQ storm while it waits: the wakeup left its own events */
	rtt_core_irq_entry(c, 2000, 0, 33);
	rtt_core_wakeup(c, 2001, 0, &hog, 0);
	for (i = 0; i < RTT_OWN_LEN; i++) {
		rtt_core_irq_entry(c, 2100 + 2 * i, 0, 33);
		rtt_core_irq_exit(c, 2101 + 2 * i, 0, 33);
	}
	sw(c, 9000, 0, &hog, 0, me(c));
	CHECK_EQ(c->worst[RTT_METRIC_IRQ_DELAY].value_ns, 7000);
	CHECK_EQ(c->worst[RTT_METRIC_IRQ_DELAY].culprits[0].pid, 456);
	CHECK(c->worst[RTT_METRIC_IRQ_DELAY].culprits[0].ns >= 9000 - 2100 - 2);
	sw(c, 9100, 0, me(c), RTT_STATE_SLEEP_OTHER, &idle);
	format(c, buf, sizeof(buf));
	CHECK(strstr(buf, "  irq_delay count=3 "));
	CHECK(strstr(buf, "  irq count=3 "));
	CHECK(strstr(buf, "flags=trace,irq_thread"));
}

static void t_format_exact(void)
{
	struct rtt_core *c = fresh(&core, 123, RTT_F_TRACE);
	char buf[RTT_FORMAT_MAX];
	size_t n;
	static const char *expect =
"task pid=123 tgid=123 comm=ctrl_loop kind=pid irq=-1 prio=49 policy=fifo flags=trace\n"
"  latency count=2 min_ns=3000 mean_ns=3500 max_ns=4000 bound_ns=3500 violations=1 last_ns=3000\n"
"    worst running_ns=0 waiting_ns=4000 sleep_timer_ns=0 sleep_lock_ns=0 sleep_io_ns=0 sleep_other_ns=0\n"
"    culprits 456:hog:109:4000\n"
"    log2 2048-4096:2\n"
"    linear lo_ns=0 step_ns=1000 under=0 over=0 3000-4000:1 4000-5000:1\n"
"  response count=2 min_ns=3500 mean_ns=4250 max_ns=5000 bound_ns=0 violations=0 last_ns=3500\n"
"    worst running_ns=1000 waiting_ns=4000 sleep_timer_ns=0 sleep_lock_ns=0 sleep_io_ns=0 sleep_other_ns=0\n"
"    culprits 456:hog:109:4000\n"
"    log2 2048-4096:1 4096-8192:1\n"
"  relief count=1 min_ns=9500 mean_ns=9500 max_ns=9500 bound_ns=0 violations=0 last_ns=9500\n"
"    worst running_ns=1500 waiting_ns=7000 sleep_timer_ns=0 sleep_lock_ns=0 sleep_io_ns=1000 sleep_other_ns=0\n"
"    culprits 456:hog:109:4000 457:other:120:2000\n"
"    log2 8192-16384:1\n";

	rtt_core_set_bound(c, 0, 3500);
	rtt_core_set_lin(c, 0, 0, 1000);
	rtt_core_wakeup(c, 0, 0, &waker, 0);
	sw(c, 4000, 0, &hog, 0, me(c));
	sw(c, 5000, 0, me(c), RTT_STATE_SLEEP_IO, &idle);
	rtt_core_wakeup(c, 6000, 0, &waker, 0);
	sw(c, 7000, 0, &idle, 0, &other);
	sw(c, 9000, 0, &other, 0, me(c));
	sw(c, 9500, 0, me(c), RTT_STATE_SLEEP_TIMER, &idle);
	n = format(c, buf, sizeof(buf));
	CHECK_EQ(n, strlen(buf));
	CHECK(!strcmp(buf, expect));
	if (cur_failed)
		printf("%s", buf);
}

static void t_format_empty_and_truncated(void)
{
	struct rtt_core *c = fresh(&core, 1, 0);
	char buf[RTT_FORMAT_MAX], small[64];
	u32 m;

	format(c, buf, sizeof(buf));
	CHECK(strstr(buf, "  latency count=0 min_ns=0 mean_ns=0 max_ns=0 "));
	CHECK(strstr(buf, "    culprits -\n    log2 -\n"));
	CHECK(!strstr(buf, "linear"));
	CHECK(!strstr(buf, "irq_delay"));
	/* worst case text size fits RTT_FORMAT_MAX */
	c->info.flags = RTT_F_IRQ_THREAD | RTT_F_TRACE | RTT_F_EXITED;
	for (m = 0; m < RTT_NR_METRICS; m++) {
		u32 i;

		c->m[m].count = ~0ull;
		c->m[m].sum_ns = ~0ull;
		c->m[m].min_ns = ~0ull;
		c->m[m].max_ns = ~0ull;
		c->m[m].lin_lo_ns = ~0ull / 2;
		c->m[m].lin_step_ns = ~0ull / 128;
		for (i = 0; i < RTT_LOG2_BUCKETS; i++)
			c->m[m].log2_hist[i] = ~0ull;
		for (i = 0; i < RTT_LIN_BUCKETS; i++)
			c->m[m].lin_hist[i] = ~0ull;
		c->worst[m].nr_culprits = RTT_CULPRITS;
		for (i = 0; i < RTT_CULPRITS; i++) {
			c->worst[m].culprits[i].pid = -2000000000;
			c->worst[m].culprits[i].ns = ~0ull;
			memset(c->worst[m].culprits[i].comm, 'x', 15);
		}
	}
	CHECK(format(c, buf, sizeof(buf)) < RTT_FORMAT_MAX - 4);
	CHECK(!strstr(buf, "..."));
	CHECK_EQ(format(c, small, sizeof(small)), strlen(small));
	CHECK(strlen(small) < sizeof(small));
}

/* Deterministic random event soup: breakdowns always sum to the value. */
static void t_random_invariants(void)
{
	struct rtt_core *c = fresh(&core, 30, RTT_F_TRACE);
	struct rtt_who x = W(31, "x", 100);
	u64 t = 0, seed = 12345, nrec = 0;
	u32 i, m;

	for (i = 0; i < 200000; i++) {
		u32 r, n;

		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		r = (u32)(seed >> 33);
		/* mostly forward, sometimes a little backwards */
		t += (r % 7 == 0) ? 0 : (r % 1000);
		if (r % 13 == 0 && t > 50)
			t -= 50;
		switch (r % 8) {
		case 0:
			rtt_core_wakeup(c, t, r % 2, &waker, (r >> 8) & 1);
			break;
		case 1:
		case 2:
			sw(c, t, c->cpu < 0 ? 0 : c->cpu, &x, 0, me(c));
			break;
		case 3:
			sw(c, t, c->cpu < 0 ? 0 : c->cpu, me(c), (r >> 4) % 5, &x);
			break;
		case 4:
			sw(c, t, r % 2, &x, 0, &hog);
			break;
		case 5:
			rtt_core_migrate(c, t, c->cpu, r % 2);
			break;
		case 6:
			rtt_core_irq_entry(c, t, 0, 3);
			break;
		default:
			sw(c, t, r % 2, &hog, 1, me(c));
			break;
		}
		n = rtt_core_take_notify(c);
		for (m = 0; m < RTT_NR_METRICS; m++) {
			if (!(n & (RTT_N_WORST(m) | RTT_N_VIOLATION(m))))
				continue;
			nrec++;
			if (rtt_breakdown_sum(&c->n_bd[m]) != c->n_value[m]) {
				printf("    step %u metric %u: sum %llu != %llu\n",
				       i, m,
				       (unsigned long long)
				       rtt_breakdown_sum(&c->n_bd[m]),
				       (unsigned long long)c->n_value[m]);
				cur_failed = 1;
				return;
			}
		}
		for (m = 0; m < RTT_NR_METRICS; m++)
			CHECK(c->worst[m].nr_events <= RTT_TRACE_EVENTS);
	}
	for (m = 0; m < RTT_NR_METRICS; m++) {
		struct rtt_metric_stats *st = &c->m[m];
		u64 sum = 0;
		u32 b;

		for (b = 0; b < RTT_LOG2_BUCKETS; b++)
			sum += st->log2_hist[b];
		CHECK_EQ(sum, st->count);
		if (st->count)
			CHECK(st->min_ns <= st->max_ns);
		CHECK_EQ(rtt_breakdown_sum(&st->worst), st->max_ns);
	}
	CHECK(c->m[0].count > 1000);
	CHECK(c->m[RTT_METRIC_RELIEF].count > 100);
	CHECK(nrec > 0);
}

static void t_names(void)
{
	CHECK_EQ(rtt_metric_parse("relief"), RTT_METRIC_RELIEF);
	CHECK_EQ(rtt_metric_parse("irq"), RTT_METRIC_IRQ);
	CHECK(rtt_metric_parse("bogus") < 0);
	CHECK(!strcmp(rtt_policy_name(6), "deadline"));
	CHECK(!strcmp(rtt_kind_name(RTT_TRACK_TGID), "tgid"));
	/* UAPI layouts: no implicit padding */
	CHECK_EQ(sizeof(struct rtt_event), 64);
	CHECK_EQ(sizeof(struct rtt_culprit), 32);
	CHECK_EQ(sizeof(struct rtt_task_info), 48);
	CHECK_EQ(sizeof(struct rtt_rec_hdr), 16);
	CHECK_EQ(sizeof(struct rtt_rec_worst),
		 16 + 48 + 8 + 24 + 48 + 4 * 32 + RTT_TRACE_EVENTS * 64 + 8);
	/* every metric named, in enum order, from the UAPI's one list */
	CHECK(!strcmp(rtt_metric_name(RTT_METRIC_LATENCY), "latency"));
	CHECK(!strcmp(rtt_metric_name(RTT_METRIC_IRQ_DELAY), "irq_delay"));
	CHECK(!strcmp(rtt_metric_name(RTT_NR_METRICS), "?"));
	CHECK_EQ(sizeof(struct rtt_metric_stats),
		 8 * (11 + RTT_LOG2_BUCKETS + RTT_LIN_BUCKETS + 6 + 1));
	CHECK(RTT_REC_MAX_SIZE < 65536);
}


/* ---- budget windows ---- */

/* The task running on cpu 1 from t (switched in there). */
static struct rtt_core *win_task(u64 t)
{
	struct rtt_core *c = fresh(&core, 123, RTT_F_TRACE);

	/* not zeroed: the core sets it up */
	memset(&wstore, 0xa5, sizeof(wstore));
	rtt_core_set_win_store(c, &wstore);
	rtt_core_wakeup(c, t, 1, &waker, 0);
	sw(c, t, 1, &idle, 0, me(c));
	return c;
}

static u64 bd_field(const struct rtt_breakdown *bd, u32 ws)
{
	return ((const u64 *)bd)[ws];
}

/* Within budget: counted, nothing to report; the breakdown sums to it. */
static void t_window_within_budget(void)
{
	struct rtt_core *c = win_task(100);
	struct rtt_window_result res;
	struct rtt_win_stats *ws;

	CHECK_EQ(rtt_core_window_start(c, 1000, 5000, 1, 10000, 7),
		 RTT_WIN_OPENED);
	sw(c, 2000, 1, me(c), RTT_STATE_SLEEP_TIMER, &idle);
	CHECK(!rtt_core_watched(c));
	rtt_core_wakeup(c, 6000, 1, &waker, 0);
	sw(c, 6500, 1, &idle, 0, me(c));
	memset(&res, 0xff, sizeof(res));
	CHECK_EQ(rtt_core_window_stop(c, 8000, 12000, &res), RTT_WIN_CLOSED);
	CHECK_EQ(res.duration_ns, 7000);
	CHECK_EQ(res.tag, 7);
	CHECK_EQ(res.budget_ns, 10000);
	CHECK_EQ(res.start_ns, 5000);
	CHECK_EQ(res.depth, 0);
	CHECK_EQ(res.flags, 0);
	CHECK_EQ(res.breakdown.running_ns, 1000 + 1500);
	CHECK_EQ(res.breakdown.sleep_ns[0], 4000);
	CHECK_EQ(res.breakdown.waiting_ns, 500);
	CHECK_EQ(rtt_breakdown_sum(&res.breakdown), 7000);
	CHECK(!(rtt_core_take_notify(c) & RTT_N_WINDOW));
	/* the deadline timer, had it not been cancelled in time: nothing */
	CHECK(!rtt_core_window_deadline(c, 11000, 11000, 0));
	CHECK(!(rtt_core_take_notify(c) & RTT_N_WINDOW));
	ws = &c->wst->stats[0];
	CHECK(ws->used);
	CHECK_EQ(ws->tag, 7);
	CHECK_EQ(ws->st.count, 1);
	CHECK_EQ(ws->st.max_ns, 7000);
	CHECK_EQ(ws->st.min_ns, 7000);
	CHECK_EQ(ws->st.violations, 0);
	CHECK_EQ(ws->st.bound_ns, 10000);
	CHECK_EQ(ws->st.worst_at_ns, 12000);
	CHECK_EQ(ws->st.log2_hist[rtt_log2_bucket(7000)], 1);
	CHECK_EQ(ws->worst.value_ns, 7000);
	/* own events kept: the wakeup inside it */
	CHECK(ws->worst.nr_events >= 1);
	/* no second STOP */
	CHECK_EQ(rtt_core_window_stop(c, 9000, 13000, &res), RTT_WIN_NONE);
}

/*
 * Preempted past the deadline: reported at it, waiting dominant, the
 * preempting task the culprit; the STOP later completes it, one overrun.
 */
static void t_window_deadline_preempted(void)
{
	struct rtt_core *c = win_task(100);
	struct rtt_win_notice *n = &c->wst->wn;
	struct rtt_window_result res;

	CHECK_EQ(rtt_core_window_start(c, 1000, 1000, 1, 10000, 1),
		 RTT_WIN_OPENED);
	sw(c, 3000, 1, me(c), RTT_STATE_PREEMPTED, &hog);
	CHECK(rtt_core_watched(c));
	CHECK(rtt_core_window_deadline(c, 11050, 11050, 50));
	CHECK(rtt_core_take_notify(c) & RTT_N_WINDOW);
	CHECK_EQ(n->what, RTT_WIN_DEADLINE);
	CHECK_EQ(n->state, RTT_WS_WAITING);
	CHECK_EQ(n->duration_ns, 10050);
	CHECK_EQ(n->late_ns, 50);
	CHECK_EQ(n->mono, 11050);
	CHECK_EQ(n->bd.running_ns, 2000);
	CHECK_EQ(n->bd.waiting_ns, 8050);
	CHECK_EQ(n->overruns, 1);
	CHECK_EQ(n->tag, 1);
	CHECK_EQ(c->wst->rep[0].nr_culprits, 1);
	CHECK_EQ(c->wst->rep[0].culprits[0].pid, hog.pid);
	CHECK_EQ(c->wst->rep[0].culprits[0].ns, 8050);
	/* once only */
	CHECK(!rtt_core_window_deadline(c, 12000, 12000, 0));
	sw(c, 20000, 1, &hog, RTT_STATE_SLEEP_TIMER, me(c));
	CHECK_EQ(rtt_core_window_stop(c, 21000, 21000, &res), RTT_WIN_OVER);
	CHECK(rtt_core_take_notify(c) & RTT_N_WINDOW);
	CHECK_EQ(n->what, RTT_WIN_STOP);
	CHECK_EQ(n->duration_ns, 20000);
	CHECK_EQ(n->overruns, 1);
	CHECK_EQ(res.flags, RTT_WINF_OVERRUN | RTT_WINF_DEADLINE);
	CHECK_EQ(res.duration_ns, 20000);
	CHECK_EQ(res.breakdown.waiting_ns, 17000);
	CHECK_EQ(c->wst->rep[1].culprits[0].pid, hog.pid);
	CHECK_EQ(c->wst->rep[1].culprits[0].ns, 17000);
	/* the deadline's stays for a reader of its record */
	CHECK_EQ(c->wst->rep[0].culprits[0].ns, 8050);
	CHECK_EQ(c->wst->rep_seq[0], 1);
	CHECK_EQ(c->wst->rep_seq[1], 1);
	CHECK_EQ(c->wst->stats[0].st.violations, 1);
	CHECK_EQ(c->wst->stats[0].st.count, 1);
	CHECK_EQ(c->wst->stats[0].worst.culprits[0].pid, hog.pid);
}

/* Asleep on a lock at the deadline: that state, the holder charged. */
static void t_window_deadline_lock(void)
{
	struct rtt_core *c = win_task(100);
	struct rtt_who holder = W(700, "holder", 120);

	rtt_core_window_start(c, 1000, 1000, 1, 5000, 2);
	sw(c, 1500, 1, me(c), RTT_STATE_SLEEP_LOCK, &holder);
	/* a lock sleep in a window is watched: who runs meanwhile counts */
	CHECK(rtt_core_watched(c));
	sw(c, 4000, 1, &holder, RTT_STATE_PREEMPTED, &hog);
	CHECK(rtt_core_window_deadline(c, 6000, 6000, 0));
	CHECK_EQ(c->wst->wn.state, RTT_WS_SLEEP_LOCK);
	CHECK_EQ(c->wst->wn.bd.sleep_ns[RTT_STATE_SLEEP_LOCK - 1], 4500);
	CHECK_EQ(bd_field(&c->wst->wn.bd, RTT_WS_RUNNING), 500);
	/* the holder, and who keeps it from running up to the deadline */
	CHECK_EQ(c->wst->rep[0].nr_culprits, 2);
	CHECK_EQ(c->wst->rep[0].culprits[0].pid, 700);
	CHECK_EQ(c->wst->rep[0].culprits[0].ns, 2500);
	CHECK_EQ(c->wst->rep[0].culprits[1].pid, hog.pid);
	CHECK_EQ(c->wst->rep[0].culprits[1].ns, 2000);
}

/* Over budget, stopped before the timer ran: reported at the STOP. */
static void t_window_over_before_timer(void)
{
	struct rtt_core *c = win_task(100);
	struct rtt_window_result res;

	rtt_core_window_start(c, 1000, 1000, 1, 5000, 3);
	CHECK_EQ(rtt_core_window_stop(c, 6001, 6001, &res), RTT_WIN_OVER);
	CHECK_EQ(res.flags, RTT_WINF_OVERRUN);
	CHECK(rtt_core_take_notify(c) & RTT_N_WINDOW);
	CHECK_EQ(c->wst->wn.what, RTT_WIN_STOP);
	CHECK_EQ(c->wst->wn.state, RTT_WS_RUNNING);
	CHECK_EQ(c->wst->wn.bd.running_ns, 5001);
	CHECK_EQ(c->wst->stats[0].st.violations, 1);
	/* the timer, run late: the window is gone */
	CHECK(!rtt_core_window_deadline(c, 6100, 6100, 100));
	/* exactly at budget is within it */
	rtt_core_window_start(c, 10000, 10000, 1, 5000, 3);
	CHECK_EQ(rtt_core_window_stop(c, 15000, 15000, &res), RTT_WIN_CLOSED);
	CHECK_EQ(c->wst->stats[0].st.violations, 1);
	CHECK_EQ(c->wst->stats[0].st.count, 2);
}

/* Nesting: levels counted up to the maximum, only the outermost closes. */
static void t_window_nesting(void)
{
	struct rtt_core *c = win_task(100);
	struct rtt_window_result res;
	int i;

	CHECK_EQ(rtt_core_window_stop(c, 500, 500, &res), RTT_WIN_NONE);
	CHECK_EQ(rtt_core_window_start(c, 1000, 1000, 1, 100000, 9),
		 RTT_WIN_OPENED);
	for (i = 1; i < RTT_WINDOW_MAX_DEPTH; i++)
		CHECK_EQ(rtt_core_window_start(c, 1000 + i, 1000 + i, 1, 5, 99),
			 RTT_WIN_NESTED);
	CHECK_EQ(c->wst->win.depth, RTT_WINDOW_MAX_DEPTH);
	CHECK_EQ(rtt_core_window_start(c, 2000, 2000, 1, 5, 99),
		 RTT_WIN_TOO_DEEP);
	CHECK_EQ(c->wst->win.depth, RTT_WINDOW_MAX_DEPTH);
	for (i = RTT_WINDOW_MAX_DEPTH - 1; i > 0; i--) {
		CHECK_EQ(rtt_core_window_stop(c, 3000, 3000, &res),
			 RTT_WIN_INNER);
		CHECK_EQ(res.depth, i);
		/* the outer window's: the inner STARTs' budget, tag unused */
		CHECK_EQ(res.tag, 9);
		CHECK_EQ(res.budget_ns, 100000);
		CHECK_EQ(res.duration_ns, 2000);
	}
	CHECK_EQ(c->wst->stats[0].st.count, 0);
	CHECK_EQ(rtt_core_window_stop(c, 4000, 4000, &res), RTT_WIN_CLOSED);
	CHECK_EQ(res.depth, 0);
	CHECK_EQ(res.duration_ns, 3000);
	CHECK_EQ(c->wst->stats[0].st.count, 1);
	CHECK(!c->wst->stats[1].used);	/* tag 99 never opened a window */
	CHECK_EQ(rtt_core_window_stop(c, 5000, 5000, &res), RTT_WIN_NONE);
}

/* Tags: statistics per tag, up to RTT_WIN_TAGS; exit abandons. */
static void t_window_tags_exit(void)
{
	struct rtt_core *c = win_task(100);
	struct rtt_window_result res;
	char buf[RTT_FORMAT_MAX];
	u64 t = 1000;
	int i;

	for (i = 0; i < RTT_WIN_TAGS + 1; i++, t += 1000) {
		rtt_core_window_start(c, t, t, 1, 100000, 100 + i);
		rtt_core_window_stop(c, t + 100 + i, t + 100 + i, &res);
	}
	for (i = 0; i < RTT_WIN_TAGS; i++) {
		CHECK_EQ(c->wst->stats[i].tag, 100 + i);
		CHECK_EQ(c->wst->stats[i].st.count, 1);
		CHECK_EQ(c->wst->stats[i].st.max_ns, 100 + i);
	}
	CHECK_EQ(c->win_tags_dropped, 1);
	rtt_core_window_start(c, t, t, 1, 100000, 101);
	CHECK(c->win_open);
	format(c, buf, sizeof(buf));
	CHECK(strstr(buf, "  windows open=1 depth=1 tags_dropped=1\n"));
	CHECK(strstr(buf, "  window tag=101 count=1 min_ns=101 mean_ns=101 max_ns=101 budget_ns=100000 overruns=0 last_ns=101 abandoned=0\n"));
	rtt_core_exit(c, t + 50);
	CHECK(!c->win_open);
	CHECK_EQ(c->wst->stats[1].abandoned, 1);
	CHECK(!rtt_core_window_deadline(c, t + 200000, t + 200000, 0));
	CHECK_EQ(rtt_core_window_stop(c, t + 300000, t, &res), RTT_WIN_NONE);
	format(c, buf, sizeof(buf));
	CHECK(strstr(buf, "  windows open=0 depth=0 tags_dropped=1\n"));
	CHECK(strstr(buf, " abandoned=1\n"));
	/* a task that never started one shows no windows */
	c = fresh(&core2, 5, 0);
	format(c, buf, sizeof(buf));
	CHECK(!strstr(buf, "window"));
}

/* Started while the core had the task asleep or unseen: running from it. */
static void t_window_unknown_start(void)
{
	struct rtt_core *c = fresh(&core, 123, 0);
	struct rtt_window_result res;

	rtt_core_set_win_store(c, &wstore);
	rtt_core_window_start(c, 1000, 1000, 0, 5000, 0);
	CHECK_EQ(c->rs, RTT_RS_RUNNING);
	CHECK_EQ(c->cpu, 0);
	CHECK(rtt_core_watched(c));
	CHECK_EQ(rtt_core_window_stop(c, 2000, 2000, &res), RTT_WIN_CLOSED);
	CHECK_EQ(res.breakdown.running_ns, 1000);
	CHECK(rtt_core_window_abandon(c) == false);
}

/*
 * No store: START refused, nothing changed, the events counted as ever;
 * the store taken back drops an open window (abandoned) and its report.
 */
static void t_window_no_store(void)
{
	struct rtt_core *c = fresh(&core, 123, RTT_F_TRACE);
	struct rtt_core *ref = fresh(&core2, 123, RTT_F_TRACE);
	struct rtt_window_result res;
	struct rtt_report *r1 = malloc(sizeof(*r1)), *r2 = malloc(sizeof(*r2));
	char buf[RTT_FORMAT_MAX], buf2[RTT_FORMAT_MAX];
	u8 rs = c->rs;
	int i;

	CHECK(!c->wst);
	CHECK_EQ(rtt_core_window_start(c, 1000, 1000, 1, 5000, 1),
		 RTT_WIN_NO_STORE);
	CHECK(!c->win_open && !c->win_used);
	CHECK_EQ(c->rs, rs);
	CHECK_EQ(c->acc.running_ns, 0);
	CHECK_EQ(rtt_core_window_stop(c, 2000, 2000, &res), RTT_WIN_NONE);
	CHECK(!rtt_core_window_deadline(c, 7000, 7000, 0));
	CHECK(!rtt_core_window_abandon(c));
	CHECK_EQ(rtt_core_take_notify(c), 0);
	CHECK(!rtt_core_take_win_store(c));
	/* the same events on c and on a core that never saw a START */
	for (i = 0; i < 20; i++) {
		struct rtt_core *x;
		u64 t = 10000 + i * 1000;
		int k;

		for (k = 0; k < 2; k++) {
			x = k ? ref : c;
			rtt_core_wakeup(x, t, 1, &waker, 0);
			sw(x, t + 100, 1, &idle, 0, me(x));
			sw(x, t + 400, 1, me(x), RTT_STATE_SLEEP_TIMER, &idle);
		}
	}
	rtt_core_exit(c, 40000);
	rtt_core_exit(ref, 40000);
	CHECK_EQ(rtt_core_take_notify(c), rtt_core_take_notify(ref));
	CHECK(r1 && r2);
	memset(r1, 0, sizeof(*r1));
	memset(r2, 0, sizeof(*r2));
	rtt_core_report(c, r1);
	rtt_core_report(ref, r2);
	CHECK(!r1->win_used);
	CHECK_EQ(r1->m[0].count, 20);
	CHECK(!memcmp(r1, r2, sizeof(*r1)));
	rtt_core_format(r1, buf, sizeof(buf));
	rtt_core_format(r2, buf2, sizeof(buf2));
	CHECK(!strcmp(buf, buf2));
	CHECK(!strstr(buf, "window"));
	free(r1);
	free(r2);

	/* a store taken back with a window open: abandoned, then refused */
	c = win_task(100);
	CHECK_EQ(rtt_core_window_start(c, 1000, 1000, 1, 5000, 4),
		 RTT_WIN_OPENED);
	CHECK(rtt_core_take_win_store(c) == &wstore);
	CHECK_EQ(wstore.stats[0].abandoned, 1);
	CHECK(!c->win_open && !c->wst);
	CHECK(!rtt_core_window_deadline(c, 7000, 7000, 0));
	CHECK_EQ(rtt_core_window_stop(c, 8000, 8000, &res), RTT_WIN_NONE);
	CHECK_EQ(rtt_core_window_start(c, 9000, 9000, 1, 5000, 4),
		 RTT_WIN_NO_STORE);
	rtt_core_clear_stats(c);
	format(c, buf, sizeof(buf));
	CHECK(!strstr(buf, "window"));
	/* handed one again (any content): a fresh one */
	memset(&wstore, 0x5a, sizeof(wstore));
	rtt_core_set_win_store(c, &wstore);
	CHECK_EQ(rtt_core_window_start(c, 10000, 10000, 1, 5000, 4),
		 RTT_WIN_OPENED);
	CHECK_EQ(rtt_core_window_stop(c, 11000, 11000, &res), RTT_WIN_CLOSED);
	CHECK_EQ(wstore.stats[0].st.count, 1);
	CHECK_EQ(wstore.stats[0].st.min_ns, 1000);
	CHECK_EQ(wstore.stats[0].abandoned, 0);
	CHECK(!wstore.stats[1].used);
}

int main(void)
{
	setup_whos();
	run("latency_culprits", t_latency_culprits);
	run("events_without_timer_sleeps", t_events_without_timer_sleeps);
	run("lock_sleep_culprits", t_lock_sleep_culprits);
	run("response_relief_breakdown", t_response_relief_breakdown);
	run("lock_sleep_in_relief", t_lock_sleep_in_relief);
	run("histograms", t_histograms);
	run("bounds", t_bounds);
	run("worst_events_dropped", t_worst_events_dropped);
	run("culprit_overflow", t_culprit_overflow);
	run("lazy_switch_in", t_lazy_switch_in);
	run("log_overrun", t_log_overrun);
	run("own_overrun", t_own_overrun);
	run("race_wakeup_after_switch_out_skew",
	    t_race_wakeup_after_switch_out_skew);
	run("race_wakeup_before_switch_out", t_race_wakeup_before_switch_out);
	run("overrun_preempted", t_overrun_preempted);
	run("overrun_kept_cpu", t_overrun_kept_cpu);
	run("unknown_start", t_unknown_start);
	run("exit_record", t_exit_record);
	run("pid_reuse", t_pid_reuse);
	run("irq", t_irq);
	run("irq_preempted_activation", t_irq_preempted_activation);
	run("irq_handler", t_irq_handler);
	run("format_exact", t_format_exact);
	run("format_empty_and_truncated", t_format_empty_and_truncated);
	run("random_invariants", t_random_invariants);
	run("names", t_names);
	run("window_within_budget", t_window_within_budget);
	run("window_deadline_preempted", t_window_deadline_preempted);
	run("window_deadline_lock", t_window_deadline_lock);
	run("window_over_before_timer", t_window_over_before_timer);
	run("window_nesting", t_window_nesting);
	run("window_tags_exit", t_window_tags_exit);
	run("window_unknown_start", t_window_unknown_start);
	run("window_no_store", t_window_no_store);
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
