/* SPDX-License-Identifier: GPL-2.0 */
/*
 * per-task state machine and statistics of rt_tracer.
 *
 * Kernel independent: the module feeds it scheduler events (already
 * filtered to tracked tasks and watched CPUs, with timestamps and a
 * description of the other tasks involved) under the task slot's lock; the
 * host unit tests feed it synthetic sequences. Nothing here allocates,
 * sleeps or loops more than a small constant number of times.
 */
#ifndef _RTT_CORE_H
#define _RTT_CORE_H

#include "rtt_compat.h"
#include <linux/rt_tracer.h>

/* Culprit candidates followed while explaining; the top RTT_CULPRITS are kept. */
#define RTT_CUL_CAND	8
/* Switches kept per CPU; a power of two (explanations look back this far). */
#define RTT_LOG_LEN	256
/* A task's own recent events (wakeups, migrations, hard IRQs); power of two. */
#define RTT_OWN_LEN	16
/* CPUs a task's recent time is remembered on (migrations); power of two. */
#define RTT_SPANS	8

/*
 * A task as an event sees it. comm points at the task's own name, valid
 * only during the call: the core copies it when it keeps it.
 */
struct rtt_who {
	s32 pid;
	s16 prio;
	u8 policy;
	bool hardirq;		/* a waker: interrupted by the hard IRQ that woke */
	const char *comm;	/* RTT_COMM_LEN bytes */
};

/* A task kept across events (it may be gone when the copy is used). */
struct rtt_who_saved {
	s32 pid;
	s16 prio;
	u8 policy;
	bool hardirq;
	char comm[RTT_COMM_LEN];
};

/*
 * A switch as a CPU logs it: laid out so the probe writes it with a few
 * aligned stores (the names in pairs); read back as a struct rtt_event.
 */
struct rtt_logent {
	u64 t_ns;			/* absolute */
	char next_comm[RTT_COMM_LEN];
	char prev_comm[RTT_COMM_LEN];
	s32 next_pid;
	s32 prev_pid;
	s16 next_prio;
	s16 prev_prio;
	u8 next_policy;
	u8 prev_policy;
	u8 prev_state;			/* enum rtt_state */
	u8 pad[9];
};

/*
 * The context switches of one CPU while a tracked task is watched there,
 * written once per switch by that CPU only, whoever is tracked: the tasks'
 * explanations (events, who ran instead) are derived from it only when a
 * value is a new worst. Switch i is ev[i % RTT_LOG_LEN]. Entry i is
 * complete once seq > i, and overwritten from when seq reaches
 * i + RTT_LOG_LEN.
 */
struct rtt_cpulog {
	u64 seq;			/* switches written */
	struct rtt_logent ev[RTT_LOG_LEN];
};

static __always_inline struct rtt_logent *rtt_cpulog_next(struct rtt_cpulog *l)
{
	return &l->ev[l->seq & (RTT_LOG_LEN - 1)];
}

static __always_inline void rtt_cpulog_commit(struct rtt_cpulog *l)
{
	/* the entry is complete before seq says so (rtt_cpulog_read()) */
	smp_store_release(&l->seq, l->seq + 1);
	/* and seq moves on before the next entry overwrites an old one */
	smp_wmb();
}

/* The log of a CPU (the module's per-CPU logs, the tests' own); NULL if none */
struct rtt_cpulog *rtt_cpulog_of(s32 cpu);

/*
 * One of a task's own events (wakeup, migration, hard IRQ) as kept: laid
 * out for a few aligned stores, read back as a struct rtt_event. Its
 * subject (pid, prio, policy) is the task itself where self says so (the
 * task's name is filled in when read); else an IRQ number, without name.
 */
struct rtt_ownent {
	u64 t_ns;			/* absolute */
	char other_comm[RTT_COMM_LEN];
	s32 other_pid;
	s32 pid;
	s16 other_prio;
	s16 prio;
	u16 type;			/* enum rtt_event_type */
	u16 cpu;
	u8 other_policy;
	u8 policy;
	u8 flags;			/* RTT_EVF_* */
	u8 self;
	u8 pad[20];			/* 64 bytes: indexed by a shift */
};

/* From time t (log position seq), the task was on cpu. */
struct rtt_span {
	s32 cpu;
	u64 t;
	u64 seq;
};

/* The worst case of one metric, with its explanation. */
struct rtt_worst {
	u64 value_ns;
	u64 events_dropped;
	u32 nr_events;
	u32 nr_culprits;
	struct rtt_breakdown bd;
	struct rtt_culprit culprits[RTT_CULPRITS];
	struct rtt_event events[RTT_TRACE_EVENTS];
};

/* Where the core believes the task is. */
enum rtt_run_state {
	RTT_RS_UNKNOWN = 0,	/* not seen since it was added */
	RTT_RS_SLEEPING,
	RTT_RS_WAITING,		/* runnable, not on a CPU */
	RTT_RS_RUNNING,
	RTT_RS_DEAD,
};

/* What a core call asks its caller to report (rtt_core.notify). */
#define RTT_N_VIOLATION(m)	BIT(m)
#define RTT_N_WORST(m)		BIT(8 + (m))
#define RTT_N_EXIT		BIT(16)

/*
 * Fields in the order the per-event paths use them: the state machine
 * first, so the probes reach it with short offsets; the large, rarely
 * written parts (reports, worst cases) last.
 */
struct rtt_core {
	/* state machine */
	u8 rs;				/* enum rtt_run_state */
	u8 sleep_cause;			/* enum rtt_state while sleeping */
	u8 acc_idx;			/* acc (as u64[]) the current state adds to */
	u8 rs_irq;			/* rs when the pending hard IRQ came */
	bool iv_open;			/* relief interval since t_iv */
	bool wake_open;			/* latency/response since t_wake */
	bool lat_done;
	bool resp_done;
	bool irq_pending;		/* hard IRQ seen, thread not yet in */
	bool irq_running;		/* IRQ thread handling since t_irq_run */
	bool wake_pending;		/* wakeup seen before the switch-out */
	s32 cpu;			/* CPU it is on or queued on; -1 */
	u32 notify;			/* RTT_N_* of the last call (below) */
	u64 t_state;			/* last state change */
	u64 t_iv;
	u64 t_wake;
	u64 t_irq;
	u64 t_irq_run;
	u64 t_pending;
	/*
	 * A value v of metric m needs more than counting (a new worst, a
	 * violation, a linear histogram) when v >= rare_from[m]
	 * (rtt_rare_update()).
	 */
	u64 rare_from[RTT_NR_METRICS];
	u64 own_iv;			/* nr_own when each interval began */
	u64 own_wake;
	u64 own_irq;
	u64 own_irq_run;
	s32 pending_cpu;
	/*
	 * Time in each state since the slot was set up, and its value when
	 * each open interval began: an interval's breakdown is the
	 * difference, computed only when it is reported.
	 */
	struct rtt_breakdown acc;
	struct rtt_breakdown acc_iv;
	struct rtt_breakdown acc_wake;
	struct rtt_breakdown acc_irq;
	/* where it was lately (spans[nr_spans % RTT_SPANS] is the next) */
	u32 nr_spans;
	struct rtt_span spans[RTT_SPANS];
	/*
	 * Its own events, own[nr_own % RTT_OWN_LEN] the next.
	 */
	u64 nr_own;
	struct rtt_ownent own[RTT_OWN_LEN];

	struct rtt_metric_stats m[RTT_NR_METRICS];
	struct rtt_task_info info;
	u64 events_dropped;		/* all intervals, all time */
	u64 exit_ns;
	struct rtt_who_saved pending_waker;

	/*
	 * Output of the last call: RTT_N_* in notify and, for the metrics it
	 * names, the value, when it ended (the core's clock) and its
	 * breakdown. The caller stamps m[].worst_at_ns (CLOCK_MONOTONIC: the
	 * core's clock need not be) for RTT_N_WORST.
	 */
	u64 n_value[RTT_NR_METRICS];
	u64 n_end[RTT_NR_METRICS];
	struct rtt_breakdown n_bd[RTT_NR_METRICS];
	struct rtt_worst worst[RTT_NR_METRICS];
};

/* Where, in a breakdown seen as u64[], the time in each state goes. */
#define RTT_ACC_RUNNING	0
#define RTT_ACC_WAITING	1
#define RTT_ACC_SLEEP(cause)	(1 + (cause))

/* The task is now in state rs (sleeping: for cause, kept in sleep_cause). */
static __always_inline void rtt_set_rs(struct rtt_core *c, u8 rs, u8 cause)
{
	c->rs = rs;
	if (rs == RTT_RS_RUNNING) {
		c->acc_idx = RTT_ACC_RUNNING;
	} else if (rs == RTT_RS_WAITING) {
		c->acc_idx = RTT_ACC_WAITING;
	} else if (rs == RTT_RS_SLEEPING) {
		c->sleep_cause = cause;
		c->acc_idx = RTT_ACC_SLEEP(cause);
	} else {
		c->acc_idx = RTT_ACC_SLEEP(RTT_STATE_SLEEP_OTHER);
	}
}

/* Set up a slot for a newly tracked task (info filled by the caller after). */
void rtt_core_init(struct rtt_core *c);
/* Forget the measurements, keep identity and settings (bounds, linear). */
void rtt_core_clear_stats(struct rtt_core *c);

/*
 * Events. now is a global monotonic ns clock; cpu is the CPU the event is
 * about (the task's target CPU for a wakeup).
 * on_cpu: the task is currently executing (a wakeup of a task that has not
 * finished going to sleep, which the scheduler turns into "keep running").
 */
void rtt_core_wakeup(struct rtt_core *c, u64 now, s32 cpu,
		     const struct rtt_who *waker, bool on_cpu);
/*
 * The task itself is switched in / out on cpu (why: enum rtt_state,
 * PREEMPTED: still runnable). Every switch on a CPU where a tracked task
 * is watched goes to that CPU's log first (rtt_cpulog_switch()): the tasks
 * that ran instead are read from there.
 */
void rtt_core_switch_in(struct rtt_core *c, u64 now, s32 cpu);
void rtt_core_switch_out(struct rtt_core *c, u64 now, s32 cpu, u8 why);
/* Both, in one pass: switched in at t_in and out at now on cpu. */
void rtt_core_switch_in_out(struct rtt_core *c, u64 t_in, u64 now, s32 cpu,
			    u8 why);
void rtt_core_migrate(struct rtt_core *c, u64 now, s32 from, s32 to);
void rtt_core_exit(struct rtt_core *c, u64 now);
/* Hard IRQ entry/exit of the IRQ this (IRQ thread) task serves. */
void rtt_core_irq_entry(struct rtt_core *c, u64 now, s32 cpu, s32 irq);
void rtt_core_irq_exit(struct rtt_core *c, u64 now, s32 cpu, s32 irq);

/* Log a switch on cpu (the caller is that CPU, or serializes the log). */
void rtt_cpulog_switch(struct rtt_cpulog *l, u64 now,
		       const struct rtt_who *prev, u8 prev_state,
		       const struct rtt_who *next);

/*
 * Must the switches on the task's CPU be watched? While it is on a run
 * queue, and while it sleeps on a lock inside a measured interval (whoever
 * runs on its CPU then is charged: the holder, or who preempts the holder).
 */
static inline bool rtt_core_watched(const struct rtt_core *c)
{
	return c->rs == RTT_RS_WAITING || c->rs == RTT_RS_RUNNING ||
	       (c->rs == RTT_RS_SLEEPING &&
		c->sleep_cause == RTT_STATE_SLEEP_LOCK && c->iv_open);
}

/*
 * Settings; return 0 or a negative errno-like -1 for bad arguments. Whoever
 * writes m[].bound_ns or the linear histogram's settings otherwise calls
 * rtt_core_settings_changed() after.
 */
void rtt_core_set_bound(struct rtt_core *c, u32 metric, u64 bound_ns);
int rtt_core_set_lin(struct rtt_core *c, u32 metric, u64 lo_ns, u64 step_ns);
void rtt_core_settings_changed(struct rtt_core *c);

/* Helpers shared with the module and the tests. */
unsigned int rtt_log2_bucket(u64 v);
const char *rtt_metric_name(u32 metric);
int rtt_metric_parse(const char *s);
const char *rtt_policy_name(u32 policy);
const char *rtt_kind_name(u32 kind);

/*
 * The text of one task in the sysfs `tasks` file (see the README of the
 * module for the format), without the blank separator line. Returns the
 * length written (always < size; truncated output ends in "...\n").
 */
size_t rtt_core_format(const struct rtt_core *c, char *buf, size_t size);
u64 rtt_breakdown_sum(const struct rtt_breakdown *bd);

/* Upper bound of rtt_core_format()'s output. */
#define RTT_FORMAT_MAX	24576

#endif /* _RTT_CORE_H */
