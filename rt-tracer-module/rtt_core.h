/* SPDX-License-Identifier: GPL-2.0 */
/*
 * per-task state machine and statistics of rt_tracer: the model.
 *
 * Kernel independent. The module's probes only forward scheduler events
 * to it (already filtered to tracked tasks and watched CPUs, with
 * timestamps and a description of the other tasks involved) under the
 * task slot's lock; the host unit tests (tests/) call exactly the same
 * functions with synthetic sequences. The per-event functions are defined
 * here, inline, so that they cost no call in the probes; what is rare (a
 * new worst case explained, a move to another CPU, text) is in
 * rtt_core.c. Nothing here allocates, sleeps or loops more than a small
 * constant number of times.
 *
 * Contract of the event functions (rtt_core_wakeup() ... rtt_core_exit()):
 *  - the caller serializes them per core (the module: the slot lock), and
 *    feeds nothing after rtt_core_exit();
 *  - a switch-in may be left to apply later (rtt_core_switch_in_lazy()):
 *    every other event function, and rtt_core_catch_up(), applies it
 *    first, so each sees the task where it is;
 *  - what a call asks its caller to report accumulates in notify until the
 *    caller takes it (rtt_core_take_notify()).
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
#define RTT_N_WINDOW		BIT(17)	/* an overrun to report: c->wst->wn */

/* Budget windows: START tags a task keeps statistics for. */
#define RTT_WIN_TAGS	4

/* The statistics of the windows of one START tag. */
struct rtt_win_stats {
	bool used;
	u64 tag;
	u64 abandoned;			/* open when the task exited or left */
	/*
	 * count .. log2_hist: the stopped windows' durations; bound_ns: the
	 * budget of the last START; violations: its overruns, reported at the
	 * deadline or, stopped over budget before it, at the STOP (also those
	 * that never stopped).
	 */
	struct rtt_metric_stats st;
	struct rtt_worst worst;		/* of max_ns, explained */
};

/*
 * The window open on a task (one at a time: nested STARTs count levels);
 * whether one is, is the core's (the per-event paths look at it).
 */
struct rtt_win {
	bool deadline_hit;		/* the overrun was reported at it */
	bool overrun;			/* reported (deadline or STOP) */
	u8 depth;			/* levels open, 1 .. RTT_WINDOW_MAX_DEPTH */
	s8 stats;			/* its tag's stats[], -1: none free */
	u64 t0;				/* the core's clock */
	u64 start_mono;			/* CLOCK_MONOTONIC, the caller's */
	u64 budget_ns;
	u64 tag;
	u64 own0;			/* nr_own at the START */
	struct rtt_breakdown acc0;	/* acc at the START */
};

/* An overrun to report (RTT_N_WINDOW), with rep[what - 1] its explanation. */
struct rtt_win_notice {
	u32 what;			/* enum rtt_window_what */
	u32 state;			/* enum rtt_win_state */
	u32 depth;
	u64 tag;
	u64 budget_ns;
	u64 start_mono;
	u64 duration_ns;
	u64 late_ns;
	u64 overruns;
	u64 end;			/* the core's clock */
	u64 mono;			/* the report's time, the caller's clock */
	u32 seq;			/* rep_seq[what - 1] of it */
	struct rtt_breakdown bd;
};

/*
 * The large per-task part of budget windows: the reports' explanations and
 * each tag's statistics. Kept out of the core so that memory follows the
 * tasks that use windows, not the capacity: the caller hands one to a
 * core before its first START (rtt_core_set_win_store()), and takes it
 * back when the core is done with (rtt_core_take_win_store()).
 */
struct rtt_win_store {
	struct rtt_win win;		/* valid while the core's win_open */
	struct rtt_win_notice wn;
	/*
	 * The explanation of the last report of each kind (wn.what - 1), and
	 * how many of that kind were made (a reader matches its notice).
	 */
	struct rtt_worst rep[2];
	u32 rep_seq[2];
	struct rtt_win_stats stats[RTT_WIN_TAGS];
};

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
	/*
	 * IRQ metrics from the threaded handler's tracepoints (irq_thread
	 * events of kernel-patches/linux/0001) instead of derived from the
	 * thread's scheduling: set by the caller when tracked.
	 */
	bool irq_handler_tp;
	bool irqh_pending;		/* hard IRQ seen, no handler entry yet */
	bool irqh_running;		/* in the handler since t_irq_run */
	s32 cpu;			/* CPU it is on or queued on; -1 */
	u32 notify;			/* RTT_N_* not yet taken (below) */
	/*
	 * A switch-in left to apply (its time; 0: none): written without the
	 * lock by the CPU switching the task in, applied by its next event.
	 */
	u64 t_in;
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
	struct rtt_breakdown acc_irqd;	/* at the hard IRQ (irq_handler_tp) */
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
	 * Output not yet taken: RTT_N_* in notify and, for the metrics it
	 * names, the value, when it ended (the core's clock) and its
	 * breakdown. The caller stamps m[].worst_at_ns (CLOCK_MONOTONIC: the
	 * core's clock need not be) for RTT_N_WORST.
	 */
	u64 n_value[RTT_NR_METRICS];
	u64 n_end[RTT_NR_METRICS];
	struct rtt_breakdown n_bd[RTT_NR_METRICS];
	struct rtt_worst worst[RTT_NR_METRICS];

	/* budget windows (rtt_core_window_*()): rare, last */
	bool win_open;			/* a window is open: wst->win */
	bool win_used;			/* a window was ever started */
	u64 win_tags_dropped;		/* windows of tags beyond RTT_WIN_TAGS */
	struct rtt_win_store *wst;	/* NULL: none handed over (yet) */
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

/* Which interval a measured value covers (its explanation). */
enum rtt_src {
	RTT_SRC_WAKE,		/* latency, response */
	RTT_SRC_IV,		/* relief */
	RTT_SRC_IRQ_DELAY,
	RTT_SRC_IRQ,
};

/* Set up a slot for a newly tracked task (info filled by the caller after). */
void rtt_core_init(struct rtt_core *c);
/* Forget the measurements, keep identity and settings (bounds, linear). */
void rtt_core_clear_stats(struct rtt_core *c);

/* The rare parts of the event functions below (rtt_core.c). */
void rtt_core_span_push(struct rtt_core *c, u64 now, s32 cpu);
void rtt_core_record_rare(struct rtt_core *c, u32 m, u64 v, enum rtt_src src);
void rtt_core_pending_wakeup(struct rtt_core *c, u64 now);
/*
 * waker by value (pid -1: unknown): passing the probe's own copy by
 * address would make it escape, and the probe pay a stack protector.
 */
void rtt_core_wakeup_awake(struct rtt_core *c, u64 now, s32 cpu,
			   struct rtt_who waker, u8 on_cpu);
void rtt_core_kept_cpu(struct rtt_core *c);
void rtt_core_apply_switch_in(struct rtt_core *c);

/* v in bucket i: [2^(i-1), 2^i); 0 in 0; the last bucket is open. */
static __always_inline unsigned int rtt_log2_bucket(u64 v)
{
	unsigned int b = rtt_fls64(v);

	return b < RTT_LOG2_BUCKETS ? b : RTT_LOG2_BUCKETS - 1;
}

/* A task's name, always terminated (it may be renamed while copied). */
static __always_inline void rtt_comm_copy(char *dst, const char *src)
{
	memcpy(dst, src, RTT_COMM_LEN);
	dst[RTT_COMM_LEN - 1] = '\0';
}

/*
 * Log a switch on the CPU of l (the caller is that CPU, or serializes the
 * log). Every switch on a CPU where a tracked task is watched goes there
 * first: the tasks that ran instead are read from it.
 */
static __always_inline void rtt_cpulog_switch(struct rtt_cpulog *l, u64 now,
					      const struct rtt_who *prev,
					      u8 prev_state,
					      const struct rtt_who *next)
{
	struct rtt_logent *e = rtt_cpulog_next(l);

	e->t_ns = now;
	memcpy(e->next_comm, next->comm, RTT_COMM_LEN);
	memcpy(e->prev_comm, prev->comm, RTT_COMM_LEN);
	e->next_pid = next->pid;
	e->prev_pid = prev->pid;
	e->next_prio = next->prio;
	e->prev_prio = prev->prio;
	e->next_policy = next->policy;
	e->prev_policy = prev->policy;
	e->prev_state = prev_state;
	rtt_cpulog_commit(l);
}

/*
 * One of the task's own events (absolute time; kept whatever the flags).
 * who NULL: the task itself.
 */
static __always_inline void rtt_own_add(struct rtt_core *c, u64 now, u16 type,
					s32 cpu, const struct rtt_who *who,
					const struct rtt_who *other)
{
	struct rtt_ownent *e = &c->own[c->nr_own++ & (RTT_OWN_LEN - 1)];

	e->t_ns = now;
	if (other) {
		memcpy(e->other_comm, other->comm, RTT_COMM_LEN);
		e->other_pid = other->pid;
		e->other_prio = other->prio;
		e->other_policy = other->policy;
		e->flags = other->hardirq ? RTT_EVF_HARDIRQ : 0;
	} else {
		memset(e->other_comm, 0, RTT_COMM_LEN);
		e->other_pid = -1;
		e->other_prio = -1;
		e->other_policy = 0;
		e->flags = 0;
	}
	/* the task itself: its pid, prio, policy, name are filled in when read */
	e->self = !who;
	if (who) {
		e->pid = who->pid;
		e->prio = who->prio;
		e->policy = who->policy;
	}
	e->type = type;
	e->cpu = (u16)cpu;
}

/* inline: a task description passed by address stays in registers */
static __always_inline void rtt_save(struct rtt_who_saved *dst,
				     const struct rtt_who *w)
{
	dst->pid = w->pid;
	dst->prio = w->prio;
	dst->policy = w->policy;
	dst->hardirq = w->hardirq;
	rtt_comm_copy(dst->comm, w->comm);
}

static __always_inline void rtt_set_cpu(struct rtt_core *c, u64 now, s32 cpu)
{
	if (unlikely(cpu != c->cpu))
		rtt_core_span_push(c, now, cpu);
}

/* One measured value v of metric m, over the interval src says. */
static __always_inline void rtt_record(struct rtt_core *c, u32 m, u64 v,
				       enum rtt_src src)
{
	struct rtt_metric_stats *st = &c->m[m];

	st->count++;
	st->sum_ns += v;
	st->last_ns = v;
	if (v < st->min_ns)
		st->min_ns = v;
	st->log2_hist[rtt_log2_bucket(v)]++;
	if (unlikely(v >= c->rare_from[m]))
		rtt_core_record_rare(c, m, v, src);
}

/*
 * Give the time since the last state change to the current state. Returns
 * now clamped so that time never goes backwards.
 */
static __always_inline u64 rtt_account(struct rtt_core *c, u64 now)
{
	if (now < c->t_state)
		now = c->t_state;
	((u64 *)&c->acc)[c->acc_idx] += now - c->t_state;
	c->t_state = now;
	return now;
}

/*
 * Apply a switch-in left by rtt_core_switch_in_lazy(), if any: before
 * anything else that looks at the task (the event functions do).
 */
static __always_inline void rtt_core_catch_up(struct rtt_core *c)
{
	if (unlikely(READ_ONCE(c->t_in)))
		rtt_core_apply_switch_in(c);
}

/* ---- events ---- */

/*
 * now is a global monotonic ns clock; cpu is the CPU the event is about
 * (the task's target CPU for a wakeup).
 */

/*
 * An activation begins at now: the wake sub-interval, and a relief
 * interval unless one is open.
 */
static __always_inline void rtt_open_activation(struct rtt_core *c, u64 now)
{
	if (!c->iv_open) {
		c->iv_open = true;
		c->t_iv = now;
		c->acc_iv = c->acc;
		c->own_iv = c->nr_own;
	}
	c->wake_open = true;
	c->lat_done = false;
	c->resp_done = false;
	c->t_wake = now;
	c->acc_wake = c->acc;
	c->own_wake = c->nr_own;
}

/* rtt_core_wakeup()'s on_cpu for a lock handed over on its CPU */
#define RTT_ONCPU_HANDOFF	0xff

/*
 * The body of rtt_core_wakeup(), after the catch-up. The common case, a
 * task the core has asleep (or not seen yet, and not executing), is
 * inline; a task that is on its CPU or queued is rtt_core_wakeup_awake().
 */
static __always_inline void rtt_wakeup_at(struct rtt_core *c, u64 now,
					  s32 cpu, const struct rtt_who *waker,
					  u8 on_cpu)
{
	if (unlikely(c->rs != RTT_RS_SLEEPING &&
		     (c->rs != RTT_RS_UNKNOWN || on_cpu))) {
		struct rtt_who none = { .pid = -1 };

		rtt_core_wakeup_awake(c, now, cpu, waker ? *waker : none,
				      on_cpu);
		return;
	}
	now = rtt_account(c, now);	/* the sleep that ends here */
	rtt_set_cpu(c, now, cpu);
	rtt_open_activation(c, now);
	rtt_set_rs(c, RTT_RS_WAITING, 0);
	rtt_own_add(c, now, RTT_EV_WAKEUP, cpu, NULL, waker);
}

/*
 * The task is woken by waker (NULL: unknown). on_cpu: 0, or the task is
 * still executing on its CPU, on its way into a sleep of that cause
 * (RTT_STATE_SLEEP_*: its syscall): it set its sleeping state but has not
 * left the CPU. That wakeup ends a sleep of length 0: the activation in
 * progress ends there (response; relief too for a timer sleep) and a new
 * one begins, whose latency ends at the task's next switch-in if it is
 * preempted before it next sleeps, else is 0 (it kept its CPU).
 * RTT_ONCPU_HANDOFF: executing, and handed a lock it was waiting for on
 * its CPU (an rt_mutex waiter spinning while the owner ran): it was not
 * going to sleep of its own, not an activation.
 */
static __always_inline void rtt_core_wakeup(struct rtt_core *c, u64 now,
					    s32 cpu,
					    const struct rtt_who *waker,
					    u8 on_cpu)
{
	rtt_core_catch_up(c);
	rtt_wakeup_at(c, now, cpu, waker, on_cpu);
}

/* Running from now on (accounted up to now): what a switch-in ends. */
static __always_inline void rtt_in_at(struct rtt_core *c, u64 now)
{
	rtt_set_rs(c, RTT_RS_RUNNING, 0);
	c->wake_pending = false;
	if (c->wake_open && !c->lat_done) {
		c->lat_done = true;
		rtt_record(c, RTT_METRIC_LATENCY, now - c->t_wake,
			   RTT_SRC_WAKE);
	}
	if (unlikely(c->irq_pending)) {
		rtt_record(c, RTT_METRIC_IRQ_DELAY,
			   now > c->t_irq ? now - c->t_irq : 0,
			   RTT_SRC_IRQ_DELAY);
		c->irq_pending = false;
		c->irq_running = true;
		c->t_irq_run = now;
		c->acc_irq = c->acc;
		c->own_irq_run = c->nr_own;
	}
}

/* Off its CPU from now on (accounted up to now): what a switch-out ends. */
static __always_inline void rtt_out_at(struct rtt_core *c, u64 now, u8 why)
{
	if (why == RTT_STATE_PREEMPTED) {
		rtt_set_rs(c, RTT_RS_WAITING, 0);
		c->wake_pending = false;
		return;
	}
	if (why > RTT_STATE_SLEEP_OTHER)
		why = RTT_STATE_SLEEP_OTHER;	/* dying: exit comes next */
	if (unlikely(c->irq_running)) {
		c->irq_running = false;
		/* an IRQ that came while the thread ran was handled by it */
		if (c->irq_pending && c->t_irq >= c->t_irq_run)
			c->irq_pending = false;
		rtt_record(c, RTT_METRIC_IRQ, now - c->t_irq_run,
			   RTT_SRC_IRQ);
	}
	if (c->wake_open && !c->resp_done) {
		c->resp_done = true;
		/* woken on its CPU, it kept it until this sleep */
		if (unlikely(!c->lat_done))
			rtt_core_kept_cpu(c);
		rtt_record(c, RTT_METRIC_RESPONSE, now - c->t_wake,
			   RTT_SRC_WAKE);
	}
	c->wake_open = false;
	if (why == RTT_STATE_SLEEP_TIMER && c->iv_open) {
		rtt_record(c, RTT_METRIC_RELIEF, now - c->t_iv,
			   RTT_SRC_IV);
		c->iv_open = false;
	}
	rtt_set_rs(c, RTT_RS_SLEEPING, why);
	if (unlikely(c->wake_pending))
		rtt_core_pending_wakeup(c, now);
}

/* The body of a switch-in, after the catch-up. */
static __always_inline void rtt_switch_in_at(struct rtt_core *c, u64 now,
					     s32 cpu)
{
	now = rtt_account(c, now);
	rtt_set_cpu(c, now, cpu);
	rtt_in_at(c, now);
}

/*
 * The task itself is switched in on cpu. The switches of a CPU where a
 * tracked task is watched go to that CPU's log first (rtt_cpulog_switch()).
 */
static __always_inline void rtt_core_switch_in(struct rtt_core *c, u64 now,
					       s32 cpu)
{
	rtt_core_catch_up(c);
	rtt_switch_in_at(c, now, cpu);
}

/*
 * The same, left to apply later: recorded without the core's lock by the
 * CPU switching the task in, applied by the task's next event (mostly its
 * switch-out on the same CPU, in one pass with it). A latency is then
 * recorded, with the same value, when the task leaves its CPU or is read.
 * False: cpu is not where the core has the task (a move it did not see):
 * call rtt_core_switch_in() instead, under the lock.
 */
static __always_inline bool rtt_core_switch_in_lazy(struct rtt_core *c,
						    u64 now, s32 cpu)
{
	if (unlikely(READ_ONCE(c->cpu) != cpu))
		return false;
	WRITE_ONCE(c->t_in, now);
	return true;
}

/*
 * The task itself is switched out on cpu (why: enum rtt_state, PREEMPTED:
 * still runnable), after the switch-in left pending, if any, in one pass.
 */
static __always_inline void rtt_core_switch_out(struct rtt_core *c, u64 now,
						s32 cpu, u8 why)
{
	/* nobody else writes it now: the task is leaving this CPU */
	u64 t_in = READ_ONCE(c->t_in);

	if (t_in) {
		WRITE_ONCE(c->t_in, 0);
		t_in = rtt_account(c, t_in);
		rtt_set_cpu(c, t_in, cpu);
		rtt_in_at(c, t_in);
		/*
		 * rtt_account() with what is known here (running since t_in):
		 * it would reload acc_idx and t_state after the records, 5
		 * more instructions per switch (scripts/profile).
		 */
		if (now < t_in)
			now = t_in;
		c->acc.running_ns += now - t_in;
		c->t_state = now;
	} else {
		now = rtt_account(c, now);
		rtt_set_cpu(c, now, cpu);
	}
	rtt_out_at(c, now, why);
}

/* The task moves from one CPU to another (it is not running). */
void rtt_core_migrate(struct rtt_core *c, u64 now, s32 from, s32 to);
/* The task exits: its final record (RTT_N_EXIT, once). */
void rtt_core_exit(struct rtt_core *c, u64 now);
/* Hard IRQ entry/exit of the IRQ this (IRQ thread) task serves. */
void rtt_core_irq_entry(struct rtt_core *c, u64 now, s32 cpu, s32 irq);
void rtt_core_irq_exit(struct rtt_core *c, u64 now, s32 cpu, s32 irq);
/*
 * Threaded handler entry/exit of that IRQ, in the task (irq_thread
 * tracepoints); only with irq_handler_tp set, otherwise ignored.
 */
void rtt_core_irq_handler_entry(struct rtt_core *c, u64 now);
void rtt_core_irq_handler_exit(struct rtt_core *c, u64 now);

/*
 * An interval the caller could not follow (it lost the task's switches):
 * forget what is open; the next wakeup starts afresh.
 */
void rtt_core_lose_intervals(struct rtt_core *c);

/* What the calls since the last take ask to report (RTT_N_*); cleared. */
static __always_inline u32 rtt_core_take_notify(struct rtt_core *c)
{
	u32 n = c->notify;

	c->notify = 0;
	return n;
}
/*
 * Must the switches on the task's CPU be watched? While it is on a run
 * queue, and while it sleeps on a lock inside a measured interval (whoever
 * runs on its CPU then is charged: the holder, or who preempts the holder).
 */
static inline bool rtt_core_watched(const struct rtt_core *c)
{
	return c->rs == RTT_RS_WAITING || c->rs == RTT_RS_RUNNING ||
	       (c->rs == RTT_RS_SLEEPING &&
		c->sleep_cause == RTT_STATE_SLEEP_LOCK &&
		(c->iv_open || c->win_open));
}

/*
 * Budget windows of the task (the module: the task itself, from its
 * ioctls, and the window's deadline timer). All return at once.
 *
 * rtt_core_window_start(): the task, running on cpu, opens a window at
 * now (start_mono: CLOCK_MONOTONIC then) or, one open, a nested level.
 * Returns RTT_WIN_OPENED (arm its deadline at now + budget_ns),
 * RTT_WIN_NESTED, RTT_WIN_TOO_DEEP or RTT_WIN_NO_STORE (no store handed
 * over; for both, nothing changed).
 */
#define RTT_WIN_OPENED		0
#define RTT_WIN_NESTED		1
#define RTT_WIN_TOO_DEEP	(-1)
#define RTT_WIN_NO_STORE	(-2)
int rtt_core_window_start(struct rtt_core *c, u64 now, u64 start_mono, s32 cpu,
			  u64 budget_ns, u64 tag);

/*
 * rtt_core_window_stop(): a level closes at now; res filled (res->size
 * left to the caller). Returns RTT_WIN_NONE (no window open: res
 * untouched), RTT_WIN_INNER (an inner level: res is the window so far),
 * RTT_WIN_CLOSED or RTT_WIN_OVER (closed, over its budget). mono: now as
 * CLOCK_MONOTONIC (the worst's time).
 */
#define RTT_WIN_NONE		(-1)
#define RTT_WIN_INNER		0
#define RTT_WIN_CLOSED		1
#define RTT_WIN_OVER		2
int rtt_core_window_stop(struct rtt_core *c, u64 now, u64 mono,
			 struct rtt_window_result *res);

/*
 * The window's deadline timer ran at now (mono: its CLOCK_MONOTONIC run
 * time), late_ns after its expiry: the overrun is reported (RTT_N_WINDOW)
 * unless the window closed meanwhile. Returns whether it was.
 */
bool rtt_core_window_deadline(struct rtt_core *c, u64 now, u64 mono,
			      u64 late_ns);

/*
 * The task stops being tracked, or exits, with a window open: it is
 * dropped (counted as abandoned). Returns whether one was open.
 */
bool rtt_core_window_abandon(struct rtt_core *c);

/*
 * The windows' storage: st (any content) is set up and the core's from
 * now on; the core must have none. rtt_core_take_win_store() takes it
 * back (an open window abandoned first) and returns it, or NULL: the
 * core then reports no windows, and refuses STARTs until it is given one.
 */
void rtt_core_set_win_store(struct rtt_core *c, struct rtt_win_store *st);
struct rtt_win_store *rtt_core_take_win_store(struct rtt_core *c);

/* enum rtt_win_state of the task as the core has it */
u32 rtt_core_win_state(const struct rtt_core *c);

/*
 * Settings. The event functions' pending switch-in is applied first.
 * rtt_core_set_lin() returns 0, or -1 for a range whose buckets overflow.
 */
void rtt_core_set_bound(struct rtt_core *c, u32 metric, u64 bound_ns);
int rtt_core_set_lin(struct rtt_core *c, u32 metric, u64 lo_ns, u64 step_ns);

/* What a new thread of a tracked process inherits, per metric. */
struct rtt_settings {
	u64 bound_ns;
	u64 lin_lo_ns;
	u64 lin_step_ns;
};

void rtt_core_get_settings(const struct rtt_core *c,
			   struct rtt_settings set[RTT_NR_METRICS]);
void rtt_core_apply_settings(struct rtt_core *c,
			     const struct rtt_settings set[RTT_NR_METRICS]);

/*
 * What readers show of a task: copied out of a live core in small pieces
 * (the identity, then one metric at a time), so that no single copy
 * holds the core's lock for long. Each piece is consistent in itself.
 */
struct rtt_report {
	struct rtt_task_info info;
	bool irq_handler_tp;		/* irq metrics from the handler */
	u64 events_dropped;
	struct rtt_metric_stats m[RTT_NR_METRICS];
	u32 nr_culprits[RTT_NR_METRICS];
	struct rtt_culprit culprits[RTT_NR_METRICS][RTT_CULPRITS];
	/* windows */
	bool win_used;
	bool win_open;
	u8 win_depth;
	u64 win_tags_dropped;
	struct rtt_win_report {
		bool used;
		u64 tag;
		u64 abandoned;
		struct rtt_metric_stats st;
		u32 nr_culprits;
		struct rtt_culprit culprits[RTT_CULPRITS];
	} win[RTT_WIN_TAGS];
};

void rtt_core_report_head(const struct rtt_core *c, struct rtt_report *r);
void rtt_core_report_metric(const struct rtt_core *c, u32 m,
			    struct rtt_report *r);
/* The windows' part: their state, then tag i's statistics. */
void rtt_core_report_win_head(const struct rtt_core *c, struct rtt_report *r);
void rtt_core_report_win(const struct rtt_core *c, u32 i, struct rtt_report *r);
/* All of it at once (a core nobody else uses: the tests, a copy). */
void rtt_core_report(const struct rtt_core *c, struct rtt_report *r);

/* Helpers shared with the module and the tests. */
const char *rtt_metric_name(u32 metric);
int rtt_metric_parse(const char *s);
const char *rtt_policy_name(u32 policy);
const char *rtt_kind_name(u32 kind);

/*
 * The text of one task in the sysfs `tasks` file (see the README of the
 * module for the format), without the blank separator line. Returns the
 * length written (always < size; truncated output ends in "...\n").
 */
size_t rtt_core_format(const struct rtt_report *r, char *buf, size_t size);
u64 rtt_breakdown_sum(const struct rtt_breakdown *bd);

/* Upper bound of rtt_core_format()'s output. */
#define RTT_FORMAT_MAX	24576

#endif /* _RTT_CORE_H */
