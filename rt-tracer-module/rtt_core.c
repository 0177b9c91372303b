// SPDX-License-Identifier: GPL-2.0
/*
 * per-task state machine and statistics of rt_tracer.
 *
 * Model. A tracked task is SLEEPING, WAITING (runnable, not on a CPU) or
 * RUNNING. A wakeup from sleep opens a "wake sub-interval" (latency ends
 * at the next switch-in, response at the first voluntary switch-out) and,
 * when none is open, a "relief interval", which only ends when the task
 * goes to sleep on a timer (its intermediate lock/IO sleeps are counted in
 * its breakdown). A wakeup of a task still on its CPU on its way to sleep
 * ends a sleep of length 0 there and opens them afresh
 * (rtt_core_wakeup_awake()). Every nanosecond between the start and the
 * end of an interval is given to exactly one state, so a breakdown always
 * sums to the interval. Timestamps that go backwards (clocks of two CPUs, events
 * observed out of order) are clamped to the last state change.
 *
 * IRQ threads. Without the threaded handler's tracepoints (stock kernel),
 * irq_delay is hard IRQ entry -> the thread's switch-in and irq is that
 * switch-in -> its next voluntary switch-out (one activation, whatever
 * number of handler runs it holds). With them (irq_handler_tp: the kernel
 * has kernel-patches/linux/0001, irq_thread_handler_entry/exit), both are
 * exact and per handler run: irq_delay = the first hard IRQ entry not yet
 * served -> the next handler entry; irq = handler entry -> handler exit,
 * wall time, so a preemption inside the handler is in it (its breakdown
 * says waiting). Several handler runs in one activation are one irq
 * sample each; a run with no hard IRQ pending since the last run (it was
 * coalesced into a run already counted, or came before tracking) gives an
 * irq sample and no irq_delay one. Hard IRQs that come while one is
 * pending are served by the same handler run: one irq_delay sample, from
 * the first. Only the handler's own code is in irq; the thread's
 * bookkeeping around it (irq_thread() loop, finalize) is in neither.
 *
 * The per-event functions run in constant time. Explaining a new worst
 * case replays the interval from the task's own recent events and the
 * logs of the CPUs it was on: O(RTT_SPANS * RTT_LOG_LEN) at worst, once
 * per new worst case.
 */
#include "rtt_core.h"

static void rtt_rare_update(struct rtt_core *c, u32 m);
static void rtt_rare_update_all(struct rtt_core *c);

#define RTT_METRIC_NAME(suffix, name) \
	[RTT_METRIC_##suffix] = #name,
static const char * const rtt_metric_names[RTT_NR_METRICS] = {
	RTT_METRICS(RTT_METRIC_NAME)
};
#undef RTT_METRIC_NAME

const char *rtt_metric_name(u32 metric)
{
	return metric < RTT_NR_METRICS ? rtt_metric_names[metric] : "?";
}

int rtt_metric_parse(const char *s)
{
	u32 i;

	for (i = 0; i < RTT_NR_METRICS; i++)
		if (!strcmp(s, rtt_metric_names[i]))
			return i;
	return -1;
}

const char *rtt_policy_name(u32 policy)
{
	switch (policy) {
	case 0: return "normal";
	case 1: return "fifo";
	case 2: return "rr";
	case 3: return "batch";
	case 5: return "idle";
	case 6: return "deadline";
	default: return "unknown";
	}
}

const char *rtt_kind_name(u32 kind)
{
	switch (kind) {
	case RTT_TRACK_PID: return "pid";
	case RTT_TRACK_TGID: return "tgid";
	case RTT_TRACK_IRQ: return "irq";
	default: return "?";
	}
}


static void rtt_stats_init(struct rtt_metric_stats *st)
{
	u64 bound = st->bound_ns, lo = st->lin_lo_ns, step = st->lin_step_ns;

	memset(st, 0, sizeof(*st));
	st->min_ns = U64_MAX;
	st->bound_ns = bound;
	st->lin_lo_ns = lo;
	st->lin_step_ns = step;
}

void rtt_core_init(struct rtt_core *c)
{
	u32 m;

	memset(c, 0, sizeof(*c));
	for (m = 0; m < RTT_NR_METRICS; m++)
		rtt_stats_init(&c->m[m]);
	c->cpu = -1;
	c->info.irq = -1;
	rtt_set_rs(c, RTT_RS_UNKNOWN, 0);
	rtt_rare_update_all(c);
}

void rtt_core_clear_stats(struct rtt_core *c)
{
	u32 m;

	for (m = 0; m < RTT_NR_METRICS; m++) {
		rtt_stats_init(&c->m[m]);
		memset(&c->worst[m], 0, sizeof(c->worst[m]));
	}
	c->events_dropped = 0;
	for (m = 0; c->wst && m < RTT_WIN_TAGS; m++) {
		struct rtt_win_stats *ws = &c->wst->stats[m];

		ws->abandoned = 0;
		ws->st.bound_ns = 0;
		rtt_stats_init(&ws->st);
		memset(&ws->worst, 0, sizeof(ws->worst));
	}
	c->win_tags_dropped = 0;
	rtt_rare_update_all(c);
}

void rtt_core_set_bound(struct rtt_core *c, u32 metric, u64 bound_ns)
{
	rtt_core_catch_up(c);
	if (metric < RTT_NR_METRICS) {
		c->m[metric].bound_ns = bound_ns;
		rtt_rare_update(c, metric);
	}
}

int rtt_core_set_lin(struct rtt_core *c, u32 metric, u64 lo_ns, u64 step_ns)
{
	struct rtt_metric_stats *st;

	if (metric >= RTT_NR_METRICS)
		return -1;
	/* the last bucket's upper edge must not overflow */
	if (step_ns && (step_ns > U64_MAX / (RTT_LIN_BUCKETS + 1) ||
			lo_ns > U64_MAX - step_ns * RTT_LIN_BUCKETS))
		return -1;
	rtt_core_catch_up(c);
	st = &c->m[metric];
	st->lin_lo_ns = lo_ns;
	st->lin_step_ns = step_ns;
	st->lin_under = 0;
	st->lin_over = 0;
	memset(st->lin_hist, 0, sizeof(st->lin_hist));
	rtt_rare_update(c, metric);
	return 0;
}

void rtt_core_get_settings(const struct rtt_core *c,
			   struct rtt_settings set[RTT_NR_METRICS])
{
	u32 m;

	for (m = 0; m < RTT_NR_METRICS; m++) {
		set[m].bound_ns = c->m[m].bound_ns;
		set[m].lin_lo_ns = c->m[m].lin_lo_ns;
		set[m].lin_step_ns = c->m[m].lin_step_ns;
	}
}

/* The settings as they were valid for another core (no checks needed). */
void rtt_core_apply_settings(struct rtt_core *c,
			     const struct rtt_settings set[RTT_NR_METRICS])
{
	u32 m;

	for (m = 0; m < RTT_NR_METRICS; m++) {
		c->m[m].bound_ns = set[m].bound_ns;
		c->m[m].lin_lo_ns = set[m].lin_lo_ns;
		c->m[m].lin_step_ns = set[m].lin_step_ns;
	}
	rtt_rare_update_all(c);
}

void rtt_core_report_head(const struct rtt_core *c, struct rtt_report *r)
{
	r->info = c->info;
	r->irq_handler_tp = c->irq_handler_tp;
	r->events_dropped = c->events_dropped;
}

void rtt_core_report_metric(const struct rtt_core *c, u32 m,
			    struct rtt_report *r)
{
	const struct rtt_worst *w = &c->worst[m];

	r->m[m] = c->m[m];
	r->nr_culprits[m] = w->nr_culprits < RTT_CULPRITS ? w->nr_culprits :
			    RTT_CULPRITS;
	memcpy(r->culprits[m], w->culprits, sizeof(r->culprits[m]));
}

void rtt_core_report_win_head(const struct rtt_core *c, struct rtt_report *r)
{
	r->win_used = c->win_used && c->wst;
	r->win_open = c->win_open;
	r->win_depth = c->win_open ? c->wst->win.depth : 0;
	r->win_tags_dropped = c->win_tags_dropped;
}

void rtt_core_report_win(const struct rtt_core *c, u32 i, struct rtt_report *r)
{
	const struct rtt_win_stats *ws;
	struct rtt_win_report *o = &r->win[i];

	if (!c->wst) {
		memset(o, 0, sizeof(*o));
		return;
	}
	ws = &c->wst->stats[i];

	o->used = ws->used;
	o->tag = ws->tag;
	o->abandoned = ws->abandoned;
	o->st = ws->st;
	o->nr_culprits = ws->worst.nr_culprits < RTT_CULPRITS ?
			 ws->worst.nr_culprits : RTT_CULPRITS;
	memcpy(o->culprits, ws->worst.culprits, sizeof(o->culprits));
}

void rtt_core_report(const struct rtt_core *c, struct rtt_report *r)
{
	u32 m;

	rtt_core_report_head(c, r);
	for (m = 0; m < RTT_NR_METRICS; m++)
		rtt_core_report_metric(c, m, r);
	rtt_core_report_win_head(c, r);
	for (m = 0; m < RTT_WIN_TAGS; m++)
		rtt_core_report_win(c, m, r);
}


/* ---- events ---- */

static const char rtt_no_comm[RTT_COMM_LEN];

/* a power of two: an entry's address is a shift away from its index */
_Static_assert(sizeof(struct rtt_logent) == 64, "log entry size");
_Static_assert(sizeof(struct rtt_ownent) == 64, "own event size");


/* Switch i of cpu's log l, if it is still there (false: overwritten). */
static bool rtt_cpulog_read(const struct rtt_cpulog *l, s32 cpu, u64 i,
			    struct rtt_event *out)
{
	struct rtt_logent e = l->ev[i & (RTT_LOG_LEN - 1)];

	/* the copy before the check: pairs with rtt_cpulog_commit() */
	smp_rmb();
	if (i + RTT_LOG_LEN <= READ_ONCE(l->seq))
		return false;	/* the writer may have been at it */
	memset(out, 0, sizeof(*out));
	out->t_ns = e.t_ns;
	out->type = RTT_EV_SWITCH;
	out->cpu = (u16)cpu;
	out->prev_state = e.prev_state;
	out->pid = e.next_pid;
	out->prio = e.next_prio;
	out->policy = e.next_policy;
	memcpy(out->comm, e.next_comm, RTT_COMM_LEN);
	out->comm[RTT_COMM_LEN - 1] = '\0';
	out->other_pid = e.prev_pid;
	out->other_prio = e.prev_prio;
	out->other_policy = e.prev_policy;
	memcpy(out->other_comm, e.prev_comm, RTT_COMM_LEN);
	out->other_comm[RTT_COMM_LEN - 1] = '\0';
	return true;
}


/* Own event i of the task as an event (it is still there: i in range). */
static void rtt_own_read(const struct rtt_core *c, u64 i, struct rtt_event *out)
{
	const struct rtt_ownent *e = &c->own[i & (RTT_OWN_LEN - 1)];

	memset(out, 0, sizeof(*out));
	out->t_ns = e->t_ns;
	out->type = e->type;
	out->cpu = e->cpu;
	out->flags = e->flags;
	out->other_pid = e->other_pid;
	out->other_prio = e->other_prio;
	out->other_policy = e->other_policy;
	memcpy(out->other_comm, e->other_comm, RTT_COMM_LEN);
	out->other_comm[RTT_COMM_LEN - 1] = '\0';
	if (e->self) {
		out->pid = c->info.pid;
		out->prio = c->info.prio;
		out->policy = c->info.policy;
		memcpy(out->comm, c->info.comm, RTT_COMM_LEN);
	} else {
		out->pid = e->pid;
		out->prio = e->prio;
		out->policy = e->policy;
	}
}


static void rtt_saved(const struct rtt_who_saved *src, struct rtt_who *w)
{
	w->pid = src->pid;
	w->prio = src->prio;
	w->policy = src->policy;
	w->hardirq = src->hardirq;
	w->comm = src->comm;
}

/* The task is on cpu from now on: where its next switches are logged. */
void rtt_core_span_push(struct rtt_core *c, u64 now, s32 cpu)
{
	struct rtt_span *sp = &c->spans[c->nr_spans++ & (RTT_SPANS - 1)];
	struct rtt_cpulog *l = rtt_cpulog_of(cpu);
	/* pairs with rtt_cpulog_commit(): switches before it are complete */
	u64 seq = l ? smp_load_acquire(&l->seq) : 0;

	sp->cpu = cpu;
	sp->t = now;
	/* a switch being logged there right now may carry an earlier time */
	sp->seq = seq ? seq - 1 : 0;
	c->cpu = cpu;
}


/* ---- explanations ---- */

/* A task that ran instead, and for how long. */
struct rtt_cand {
	s32 pid;
	s16 prio;
	u8 policy;
	u64 ns;
	char comm[RTT_COMM_LEN];
};

struct rtt_cul_set {
	u32 nr;
	struct rtt_cand c[RTT_CUL_CAND];
};

/* Charge ns of the task's time to whoever ran instead (pid, prio, ...). */
static void rtt_cul_add(struct rtt_cul_set *cs, const struct rtt_event *e,
			u64 ns)
{
	struct rtt_cand *x;
	u32 i, min = 0;

	for (i = 0; i < cs->nr; i++) {
		x = &cs->c[i];
		if (x->pid == e->other_pid)
			goto found;
		if (x->ns < cs->c[min].ns)
			min = i;
	}
	if (cs->nr < RTT_CUL_CAND) {
		x = &cs->c[cs->nr++];
	} else {
		/* full: the smallest candidate makes room if smaller */
		x = &cs->c[min];
		if (x->ns >= ns)
			return;
	}
	x->pid = e->other_pid;
	x->ns = 0;
	memcpy(x->comm, e->other_comm, RTT_COMM_LEN);
found:
	x->prio = e->other_prio;
	x->policy = e->other_policy;
	x->ns += ns;
}

/* The top RTT_CULPRITS candidates, longest first; returns how many. */
static u32 rtt_cul_top(const struct rtt_cul_set *cs, struct rtt_culprit *out)
{
	bool used[RTT_CUL_CAND] = { false };
	u32 n, i, best;
	u64 best_ns;

	for (n = 0; n < RTT_CULPRITS; n++) {
		best = RTT_CUL_CAND;
		best_ns = 0;
		for (i = 0; i < cs->nr; i++) {
			if (!used[i] && cs->c[i].ns > best_ns) {
				best = i;
				best_ns = cs->c[i].ns;
			}
		}
		if (best == RTT_CUL_CAND)
			break;
		used[best] = true;
		out[n].pid = cs->c[best].pid;
		out[n].prio = cs->c[best].prio;
		out[n].policy = cs->c[best].policy;
		out[n].pad = 0;
		out[n].ns = best_ns;
		memcpy(out[n].comm, cs->c[best].comm, RTT_COMM_LEN);
	}
	for (i = n; i < RTT_CULPRITS; i++)
		memset(&out[i], 0, sizeof(out[i]));
	return n;
}

/*
 * An interval replayed from the task's own events and the logs of the
 * CPUs it was on, in time order, following where the task was: the time
 * it waited for its CPU, or slept on a lock there, is charged to whoever
 * ran on that CPU meanwhile (the lock holder, or whoever kept the holder
 * from running: a priority inversion); the idle task is nobody's fault.
 * The events kept are the task's own and the switches on its CPU while it
 * was runnable or asleep on a lock.
 */
struct rtt_walk {
	const struct rtt_core *c;
	u64 t0, t1;
	u8 rs;				/* the task's state, replayed */
	u8 cause;
	u8 rs_lost;			/* what it is where the past is lost */
	u64 t_mark;			/* replayed up to here */
	u64 owed;			/* chargeable time since the last switch */
	bool trace;
	u32 nr_ev;
	u64 dropped;
	struct rtt_event *ev;		/* RTT_TRACE_EVENTS */
	struct rtt_cul_set cul;
	/* who the last switch replayed put on the task's CPU (as other_*) */
	bool have_cur;
	struct rtt_event cur;
};

static void rtt_walk_to(struct rtt_walk *x, u64 t)
{
	if (t < x->t_mark)
		t = x->t_mark;
	if (x->rs == RTT_RS_WAITING ||
	    (x->rs == RTT_RS_SLEEPING && x->cause == RTT_STATE_SLEEP_LOCK))
		x->owed += t - x->t_mark;
	x->t_mark = t;
}

static void rtt_walk_keep(struct rtt_walk *x, const struct rtt_event *e)
{
	struct rtt_event *o;

	if (!x->trace)
		return;
	if (x->nr_ev >= RTT_TRACE_EVENTS) {
		x->dropped++;
		return;
	}
	o = &x->ev[x->nr_ev++];
	*o = *e;
	o->t_ns = e->t_ns > x->t0 ? e->t_ns - x->t0 : 0;
}

static void rtt_walk_switch(struct rtt_walk *x, const struct rtt_event *e)
{
	s32 self = x->c->info.pid;
	bool seen = x->rs != RTT_RS_SLEEPING ||
		    x->cause == RTT_STATE_SLEEP_LOCK;

	rtt_walk_to(x, e->t_ns);
	/* the task switched out here ran since the last switch */
	if (x->owed && e->other_pid != self && e->other_pid != 0)
		rtt_cul_add(&x->cul, e, x->owed);
	x->owed = 0;
	if (seen || e->pid == self || e->other_pid == self)
		rtt_walk_keep(x, e);
	x->have_cur = true;
	x->cur.other_pid = e->pid;
	x->cur.other_prio = e->prio;
	x->cur.other_policy = e->policy;
	memcpy(x->cur.other_comm, e->comm, RTT_COMM_LEN);
	if (e->pid == self) {
		x->rs = RTT_RS_RUNNING;
	} else if (e->other_pid == self) {
		x->rs = e->prev_state == RTT_STATE_PREEMPTED ?
			RTT_RS_WAITING : RTT_RS_SLEEPING;
		x->cause = e->prev_state > RTT_STATE_SLEEP_OTHER ?
			   RTT_STATE_SLEEP_OTHER : e->prev_state;
	}
}

static void rtt_walk_own(struct rtt_walk *x, const struct rtt_event *e)
{
	rtt_walk_to(x, e->t_ns);
	if (e->type == RTT_EV_WAKEUP &&
	    (x->rs == RTT_RS_SLEEPING || x->rs == RTT_RS_UNKNOWN)) {
		x->rs = RTT_RS_WAITING;
	} else if (e->type == RTT_EV_MIGRATE) {
		x->owed = 0;	/* who ran on the old CPU is not known */
		x->have_cur = false;
	}
	rtt_walk_keep(x, e);
}

/* Own events from index *i up to (not including) time t. */
static void rtt_walk_own_until(struct rtt_walk *x, u64 *i, u64 t)
{
	const struct rtt_core *c = x->c;

	struct rtt_event e;

	for (; *i < c->nr_own; (*i)++) {
		if (c->own[*i & (RTT_OWN_LEN - 1)].t_ns >= t)
			return;
		rtt_own_read(c, *i, &e);
		rtt_walk_own(x, &e);
	}
}

/* The switches logged on span k's CPU within the span and the window. */
static void rtt_walk_span(struct rtt_walk *x, u32 k, u64 *own)
{
	const struct rtt_core *c = x->c;
	const struct rtt_span *sp = &c->spans[k & (RTT_SPANS - 1)];
	u64 end = k + 1 < c->nr_spans ?
		  c->spans[(k + 1) & (RTT_SPANS - 1)].t : U64_MAX;
	u64 from = sp->t > x->t0 ? sp->t : x->t0, hi, lo, i;
	const struct rtt_cpulog *l = rtt_cpulog_of(sp->cpu);
	struct rtt_event e;
	bool lost = false;

	if (!l || end < x->t0 || sp->t > x->t1)
		return;
	/* pairs with rtt_cpulog_commit(): entries below hi are complete */
	hi = smp_load_acquire(&l->seq);
	/* the oldest slot is the one the writer fills next */
	lo = hi >= RTT_LOG_LEN ? hi - RTT_LOG_LEN + 1 : 0;
	if (lo < sp->seq)
		lo = sp->seq;
	/* back to the first switch of the window (the log is in time order) */
	for (i = hi; i > lo; i--) {
		if (!rtt_cpulog_read(l, sp->cpu, i - 1, &e)) {
			lost = true;	/* overwritten while we looked */
			break;
		}
		if (e.t_ns < from)
			break;
	}
	if (lost || (i == lo && lo > sp->seq)) {
		x->dropped++;	/* the log no longer goes back that far */
		lost = true;
	}
	for (; i < hi; i++) {
		if (!rtt_cpulog_read(l, sp->cpu, i, &e)) {
			x->dropped++;
			lost = true;
			continue;
		}
		if (e.t_ns < from)
			continue;
		if (e.t_ns >= end || e.t_ns > x->t1)
			break;
		rtt_walk_own_until(x, own, e.t_ns);
		if (lost) {
			/*
			 * Who ran before the first switch left, and since
			 * when, and what the task did meanwhile: not known.
			 */
			rtt_walk_to(x, e.t_ns);
			x->owed = 0;
			x->rs = x->rs_lost;
			lost = false;
		}
		rtt_walk_switch(x, &e);
	}
}

/*
 * Culprits and events of the window [t0, t1] that began with own event
 * own_from, in state rs; the result goes to w. rs_lost: the state where
 * the logs no longer reach back (RTT_RS_UNKNOWN: nobody is charged until
 * the task's next switch or wakeup tells).
 */
static void rtt_walk(const struct rtt_core *c, struct rtt_worst *w, u64 t0,
		     u64 t1, u64 own_from, u8 rs, u8 rs_lost)
{
	struct rtt_walk x = {
		.c = c, .t0 = t0, .t1 = t1, .rs = rs, .rs_lost = rs_lost,
		.cause = RTT_STATE_SLEEP_OTHER, .t_mark = t0,
		.trace = c->info.flags & RTT_F_TRACE, .ev = w->events,
	};
	u64 own = own_from;
	u32 k = c->nr_spans > RTT_SPANS ? c->nr_spans - RTT_SPANS : 0;

	if (c->nr_own > RTT_OWN_LEN && own < c->nr_own - RTT_OWN_LEN) {
		/* its first own events are gone (an IRQ storm): and its wakeup */
		x.dropped += c->nr_own - RTT_OWN_LEN - own;
		own = c->nr_own - RTT_OWN_LEN;
		x.rs = rs_lost;
	}
	if (k && c->spans[k & (RTT_SPANS - 1)].t > t0) {
		x.dropped++;	/* it was on more CPUs than remembered */
		x.rs = rs_lost;
	}
	for (; k < c->nr_spans; k++)
		rtt_walk_span(&x, k, &own);
	rtt_walk_own_until(&x, &own, U64_MAX);
	/*
	 * An interval that ends while the task waits (a window's deadline):
	 * whoever is on its CPU then is charged up to the end.
	 */
	rtt_walk_to(&x, t1);
	if (x.owed && x.have_cur && x.cur.other_pid != c->info.pid &&
	    x.cur.other_pid != 0)
		rtt_cul_add(&x.cul, &x.cur, x.owed);
	w->nr_culprits = rtt_cul_top(&x.cul, w->culprits);
	w->nr_events = x.nr_ev;
	w->events_dropped = x.trace ? x.dropped : 0;
}

/* ---- statistics ---- */

static u64 rtt_bd_sum(const struct rtt_breakdown *bd)
{
	u64 s = bd->running_ns + bd->waiting_ns;
	u32 i;

	for (i = 0; i < RTT_NR_SLEEP_CAUSES; i++)
		s += bd->sleep_ns[i];
	return s;
}

/* The breakdown is 6 u64: running, waiting, sleep_ns[cause - 1]. */
_Static_assert(sizeof(struct rtt_breakdown) ==
	       (2 + RTT_NR_SLEEP_CAUSES) * sizeof(u64), "breakdown layout");
#define RTT_BD_N	(2 + RTT_NR_SLEEP_CAUSES)

/* The time in each state since the snapshot from (an interval's start). */
static void rtt_bd_since(const struct rtt_core *c,
			 const struct rtt_breakdown *from,
			 struct rtt_breakdown *bd)
{
	const u64 *a = (const u64 *)&c->acc, *f = (const u64 *)from;
	u64 *o = (u64 *)bd;
	u32 i;

	for (i = 0; i < RTT_BD_N; i++)
		o[i] = a[i] - f[i];
}


/*
 * Breakdown, culprits and events of a value v of metric m from src that is
 * a new worst or a violation (rare: the common path only counts it).
 */
static noinline void rtt_explain(struct rtt_core *c, u32 m, u64 v,
				 enum rtt_src src, bool worst)
{
	struct rtt_breakdown *bd = &c->n_bd[m];
	struct rtt_worst *w = &c->worst[m];
	u64 t0 = 0, own = c->nr_own;
	u8 rs = RTT_RS_WAITING;

	memset(bd, 0, sizeof(*bd));
	switch (src) {
	case RTT_SRC_WAKE:
		/* 0: also a latency that kept its CPU (it ran meanwhile) */
		if (v)
			rtt_bd_since(c, &c->acc_wake, bd);
		t0 = c->t_wake;
		own = c->own_wake;
		break;
	case RTT_SRC_IV:
		rtt_bd_since(c, &c->acc_iv, bd);
		t0 = c->t_iv;
		own = c->own_iv;
		break;
	case RTT_SRC_IRQ_DELAY:
		if (c->irq_handler_tp) {
			/*
			 * Hard IRQ -> handler entry. Before its wakeup in the
			 * hard IRQ the thread was going to run this handler:
			 * its sleep then counts as waiting.
			 */
			u32 i;

			rtt_bd_since(c, &c->acc_irqd, bd);
			for (i = 0; i < RTT_NR_SLEEP_CAUSES; i++) {
				bd->waiting_ns += bd->sleep_ns[i];
				bd->sleep_ns[i] = 0;
			}
			t0 = c->t_irq;
			own = c->own_irq;
			rs = c->rs_irq;
			break;
		}
		/*
		 * Hard IRQ entry -> thread switch-in. Before the thread's
		 * wakeup (inside the hard IRQ handler) the time is counted as
		 * waiting; after it, as the wake sub-interval says.
		 */
		if (c->wake_open && c->t_irq <= c->t_wake) {
			rtt_bd_since(c, &c->acc_wake, bd);
			bd->waiting_ns += c->t_wake - c->t_irq;
		} else {
			bd->waiting_ns = v;
		}
		t0 = c->t_irq;
		own = c->own_irq;
		rs = c->rs_irq;
		break;
	case RTT_SRC_IRQ:
		rtt_bd_since(c, &c->acc_irq, bd);
		t0 = c->t_irq_run;
		own = c->own_irq_run;
		rs = RTT_RS_RUNNING;
		break;
	}
	c->n_value[m] = v;
	c->n_end[m] = t0 + v;
	if (!worst)
		return;
	c->m[m].worst = *bd;
	w->value_ns = v;
	w->bd = *bd;
	/*
	 * A latency is waiting from start to end, whatever the logs lost; an
	 * IRQ delay is, from the thread's wakeup inside the hard IRQ on.
	 */
	rtt_walk(c, w, t0, t0 + v, own, rs,
		 src == RTT_SRC_IRQ_DELAY || m == RTT_METRIC_LATENCY ?
		 RTT_RS_WAITING : RTT_RS_UNKNOWN);
	c->events_dropped += w->events_dropped;
}

static void rtt_lin_add(struct rtt_metric_stats *st, u64 v)
{
	u64 idx;

	if (v < st->lin_lo_ns) {
		st->lin_under++;
		return;
	}
	idx = rtt_div64(v - st->lin_lo_ns, st->lin_step_ns);
	if (idx >= RTT_LIN_BUCKETS)
		st->lin_over++;
	else
		st->lin_hist[idx]++;
}

/*
 * Where values of metric m stop being only counted: from a new worst (or
 * the first value) and from a violation of the bound on; every value while
 * the linear histogram is on.
 */
static void rtt_rare_update(struct rtt_core *c, u32 m)
{
	const struct rtt_metric_stats *st = &c->m[m];
	u64 from = st->max_ns < U64_MAX ? st->max_ns + 1 : U64_MAX;

	if (st->bound_ns && st->bound_ns < from)
		from = st->bound_ns + 1;
	if (!st->count || st->lin_step_ns)
		from = 0;
	c->rare_from[m] = from;
}

static void rtt_rare_update_all(struct rtt_core *c)
{
	u32 m;

	for (m = 0; m < RTT_NR_METRICS; m++)
		rtt_rare_update(c, m);
}

/* The value is more than a count: see rtt_rare_update(). */
void rtt_core_record_rare(struct rtt_core *c, u32 m, u64 v, enum rtt_src src)
{
	struct rtt_metric_stats *st = &c->m[m];
	bool worst, viol;

	if (st->lin_step_ns)
		rtt_lin_add(st, v);
	worst = st->count == 1 || v > st->max_ns;
	viol = st->bound_ns && v > st->bound_ns;
	if (worst) {
		st->max_ns = v;
		c->notify |= RTT_N_WORST(m);
	}
	if (viol) {
		st->violations++;
		c->notify |= RTT_N_VIOLATION(m);
	}
	rtt_rare_update(c, m);
	if (worst || viol)
		rtt_explain(c, m, v, src, worst);
}



/* ---- events: the rare parts ---- */

/* At its switch-out: the wakeup that was observed first ends this sleep. */
void rtt_core_pending_wakeup(struct rtt_core *c, u64 now)
{
	struct rtt_who waker;
	u64 t = c->t_pending > now ? c->t_pending : now;

	rtt_saved(&c->pending_waker, &waker);
	c->wake_pending = false;
	rtt_wakeup_at(c, t, c->pending_cpu, waker.pid >= 0 ? &waker : NULL,
		      0);
}

/*
 * A wakeup of a task that is not asleep as far as the core knows (the
 * rare part of rtt_wakeup_at()).
 */
void rtt_core_wakeup_awake(struct rtt_core *c, u64 now, s32 cpu,
			   struct rtt_who w, u8 on_cpu)
{
	const struct rtt_who *waker = w.pid >= 0 ? &w : NULL;

	if (on_cpu && on_cpu != RTT_ONCPU_HANDOFF &&
	    (c->rs == RTT_RS_RUNNING || c->rs == RTT_RS_UNKNOWN)) {
		/*
		 * Still on its CPU on its way to sleep (the scheduler will
		 * keep it running): a sleep of length 0 ends here. What it
		 * ends, as a switch-out into that sleep would: response,
		 * and relief for a timer sleep. A new activation begins; it
		 * stays running, so its latency ends at its next switch-in
		 * if it is preempted first, else at the sleep after that
		 * (0: rtt_core_kept_cpu()).
		 */
		if (c->rs == RTT_RS_UNKNOWN) {
			rtt_set_rs(c, RTT_RS_RUNNING, 0);
			c->t_state = now;
		}
		now = rtt_account(c, now);
		rtt_set_cpu(c, now, cpu);
		if (c->wake_open && !c->resp_done) {
			if (!c->lat_done)
				rtt_core_kept_cpu(c);
			rtt_record(c, RTT_METRIC_RESPONSE, now - c->t_wake,
				   RTT_SRC_WAKE);
		}
		if (on_cpu == RTT_STATE_SLEEP_TIMER && c->iv_open) {
			rtt_record(c, RTT_METRIC_RELIEF, now - c->t_iv,
				   RTT_SRC_IV);
			c->iv_open = false;
		}
		rtt_open_activation(c, now);
		c->wake_pending = false;
		rtt_own_add(c, now, RTT_EV_WAKEUP, cpu, NULL, waker);
		return;
	}
	/*
	 * Queued (preempted on its way to sleep), handed a lock on its CPU,
	 * or executing still while the core has it queued: it never slept,
	 * not an activation.
	 */
	if (c->rs == RTT_RS_UNKNOWN) {
		rtt_set_rs(c, RTT_RS_RUNNING, 0);	/* on_cpu: executing */
		c->t_state = now;
		rtt_set_cpu(c, now, cpu);
	}
	if (c->rs == RTT_RS_RUNNING && !on_cpu) {
		/*
		 * We still think it runs but the scheduler says it is off the
		 * CPU: its switch-out has not been observed yet. Keep the
		 * wakeup until it is.
		 */
		c->wake_pending = true;
		c->t_pending = now;
		c->pending_cpu = cpu;
		if (waker)
			rtt_save(&c->pending_waker, waker);
		else
			c->pending_waker.pid = -1;
	}
	rtt_own_add(c, now, RTT_EV_WAKEUP, cpu, NULL, waker);
}

/*
 * An activation that began while the task was on its CPU ends (it sleeps
 * again) without having left the CPU: its latency is 0.
 */
void rtt_core_kept_cpu(struct rtt_core *c)
{
	c->lat_done = true;
	rtt_record(c, RTT_METRIC_LATENCY, 0, RTT_SRC_WAKE);
}

void rtt_core_apply_switch_in(struct rtt_core *c)
{
	u64 t = READ_ONCE(c->t_in);

	WRITE_ONCE(c->t_in, 0);
	rtt_switch_in_at(c, t, c->cpu);
}

void rtt_core_migrate(struct rtt_core *c, u64 now, s32 from, s32 to)
{
	struct rtt_who dst = { .pid = to, .prio = -1, .comm = rtt_no_comm };

	rtt_core_catch_up(c);
	rtt_own_add(c, now, RTT_EV_MIGRATE, from, NULL, &dst);
	rtt_set_cpu(c, now, to);
}

void rtt_core_exit(struct rtt_core *c, u64 now)
{
	if (c->rs == RTT_RS_DEAD)
		return;
	rtt_core_catch_up(c);
	now = rtt_account(c, now);
	rtt_core_window_abandon(c);
	rtt_set_rs(c, RTT_RS_DEAD, 0);
	c->iv_open = false;
	c->wake_open = false;
	c->irq_pending = false;
	c->irq_running = false;
	c->irqh_pending = false;
	c->irqh_running = false;
	c->wake_pending = false;
	c->info.flags |= RTT_F_EXITED;
	c->exit_ns = now;
	c->cpu = -1;
	c->notify |= RTT_N_EXIT;
}

void rtt_core_lose_intervals(struct rtt_core *c)
{
	rtt_set_rs(c, RTT_RS_UNKNOWN, 0);
	c->iv_open = false;
	c->wake_open = false;
}

void rtt_core_irq_entry(struct rtt_core *c, u64 now, s32 cpu, s32 irq)
{
	struct rtt_who w = { .pid = irq, .prio = -1, .comm = rtt_no_comm };

	rtt_core_catch_up(c);
	if (c->irq_handler_tp) {
		/* served by the next handler entry, as every one until then */
		if (!c->irqh_pending) {
			now = rtt_account(c, now);
			c->irqh_pending = true;
			c->t_irq = now;
			c->rs_irq = c->rs;
			c->own_irq = c->nr_own;
			c->acc_irqd = c->acc;
		}
	} else if (!c->irq_pending && !c->irq_running) {
		/*
		 * While the thread is in an activation (running, or preempted
		 * in it), the handler runs again in that activation: not a
		 * new delay.
		 */
		c->irq_pending = true;
		c->t_irq = now;
		c->rs_irq = c->rs;
		c->own_irq = c->nr_own;
	}
	rtt_own_add(c, now, RTT_EV_IRQ_ENTRY, cpu, &w, NULL);
}

void rtt_core_irq_exit(struct rtt_core *c, u64 now, s32 cpu, s32 irq)
{
	struct rtt_who w = { .pid = irq, .prio = -1, .comm = rtt_no_comm };

	rtt_core_catch_up(c);
	rtt_own_add(c, now, RTT_EV_IRQ_EXIT, cpu, &w, NULL);
}

void rtt_core_irq_handler_entry(struct rtt_core *c, u64 now)
{
	if (!c->irq_handler_tp)
		return;
	rtt_core_catch_up(c);
	now = rtt_account(c, now);
	if (c->irqh_pending) {
		c->irqh_pending = false;
		rtt_record(c, RTT_METRIC_IRQ_DELAY,
			   now > c->t_irq ? now - c->t_irq : 0,
			   RTT_SRC_IRQ_DELAY);
	}
	c->irqh_running = true;
	c->t_irq_run = now;
	c->acc_irq = c->acc;
	c->own_irq_run = c->nr_own;
}

void rtt_core_irq_handler_exit(struct rtt_core *c, u64 now)
{
	if (!c->irq_handler_tp)
		return;
	rtt_core_catch_up(c);
	/* an exit without its entry: tracked, or hooked, in the handler */
	if (!c->irqh_running)
		return;
	now = rtt_account(c, now);
	c->irqh_running = false;
	rtt_record(c, RTT_METRIC_IRQ, now - c->t_irq_run, RTT_SRC_IRQ);
}

/* ---- budget windows ---- */

/*
 * A window is an interval like the metrics' ones: its breakdown is the
 * difference of acc since the START, its explanation the same replay of
 * the task's own events and its CPUs' logs (rtt_walk()), done when it is
 * reported (an overrun, a new worst), never per event.
 */

u32 rtt_core_win_state(const struct rtt_core *c)
{
	return c->acc_idx;	/* RTT_ACC_* is the breakdown field, as RTT_WS_* */
}

/* RTT_ACC_* index the breakdown as u64[]: RTT_WS_* must index it alike */
_Static_assert(offsetof(struct rtt_breakdown, running_ns) ==
	       RTT_WS_RUNNING * sizeof(u64) &&
	       offsetof(struct rtt_breakdown, waiting_ns) ==
	       RTT_WS_WAITING * sizeof(u64) &&
	       offsetof(struct rtt_breakdown, sleep_ns) ==
	       RTT_WS_SLEEP_TIMER * sizeof(u64) &&
	       RTT_ACC_SLEEP(RTT_STATE_SLEEP_TIMER) == RTT_WS_SLEEP_TIMER &&
	       RTT_ACC_SLEEP(RTT_STATE_SLEEP_OTHER) == RTT_WS_SLEEP_OTHER,
	       "window states are breakdown fields");

/* The statistics of tag: its entry, a new one, or -1 when all are taken. */
static s8 rtt_win_stats_of(struct rtt_core *c, u64 tag)
{
	struct rtt_win_stats *ws = c->wst->stats;
	s8 i, free = -1;

	for (i = 0; i < RTT_WIN_TAGS; i++) {
		if (ws[i].used && ws[i].tag == tag)
			return i;
		if (!ws[i].used && free < 0)
			free = i;
	}
	if (free >= 0) {
		ws[free].used = true;
		ws[free].tag = tag;
	}
	return free;
}

int rtt_core_window_start(struct rtt_core *c, u64 now, u64 start_mono, s32 cpu,
			  u64 budget_ns, u64 tag)
{
	struct rtt_win *w;

	if (!c->wst)
		return RTT_WIN_NO_STORE;
	w = &c->wst->win;
	rtt_core_catch_up(c);
	if (c->win_open) {
		if (w->depth >= RTT_WINDOW_MAX_DEPTH)
			return RTT_WIN_TOO_DEEP;
		w->depth++;
		return RTT_WIN_NESTED;
	}
	/* it is executing this: running on cpu, whatever was seen before */
	if (c->rs != RTT_RS_RUNNING) {
		rtt_account(c, now);
		rtt_set_rs(c, RTT_RS_RUNNING, 0);
	}
	now = rtt_account(c, now);
	rtt_set_cpu(c, now, cpu);
	memset(w, 0, sizeof(*w));
	c->win_open = true;
	w->depth = 1;
	w->t0 = now;
	w->start_mono = start_mono;
	w->budget_ns = budget_ns;
	w->tag = tag;
	w->own0 = c->nr_own;
	w->acc0 = c->acc;
	w->stats = rtt_win_stats_of(c, tag);
	if (w->stats < 0)
		c->win_tags_dropped++;
	else
		c->wst->stats[w->stats].st.bound_ns = budget_ns;
	c->win_used = true;
	return RTT_WIN_OPENED;
}

/* The window so far, up to now (accounted): duration and breakdown. */
static u64 rtt_win_so_far(struct rtt_core *c, u64 now, struct rtt_breakdown *bd)
{
	now = rtt_account(c, now);
	rtt_bd_since(c, &c->wst->win.acc0, bd);
	return now - c->wst->win.t0;
}

/* An overrun of the open window, reported (what: enum rtt_window_what). */
static void rtt_win_report(struct rtt_core *c, u64 now, u64 mono, u32 what,
			   u64 late_ns)
{
	struct rtt_win *w = &c->wst->win;
	struct rtt_win_notice *n = &c->wst->wn;
	struct rtt_worst *rep;
	u64 over = 0;

	n->duration_ns = rtt_win_so_far(c, now, &n->bd);
	if (!w->overrun) {
		w->overrun = true;
		over = 1;
	}
	if (w->stats >= 0) {
		c->wst->stats[w->stats].st.violations += over;
		n->overruns = c->wst->stats[w->stats].st.violations;
	} else {
		n->overruns = 0;
	}
	n->what = what;
	n->state = rtt_core_win_state(c);
	n->depth = w->depth;
	n->tag = w->tag;
	n->budget_ns = w->budget_ns;
	n->start_mono = w->start_mono;
	n->late_ns = late_ns;
	n->mono = mono;
	n->end = w->t0 + n->duration_ns;
	n->seq = ++c->wst->rep_seq[what - 1];
	rep = &c->wst->rep[what - 1];
	rep->value_ns = n->duration_ns;
	rep->bd = n->bd;
	rtt_walk(c, rep, w->t0, n->end, w->own0, RTT_RS_RUNNING,
		 RTT_RS_UNKNOWN);
	c->events_dropped += rep->events_dropped;
	c->notify |= RTT_N_WINDOW;
}

bool rtt_core_window_deadline(struct rtt_core *c, u64 now, u64 mono,
			      u64 late_ns)
{
	rtt_core_catch_up(c);
	if (!c->win_open || c->wst->win.deadline_hit || c->wst->win.overrun)
		return false;
	c->wst->win.deadline_hit = true;
	rtt_win_report(c, now, mono, RTT_WIN_DEADLINE, late_ns);
	return true;
}

/* A stopped window's duration in its tag's statistics. */
static void rtt_win_record(struct rtt_core *c, u64 v, u64 mono,
			   const struct rtt_breakdown *bd)
{
	struct rtt_win *w = &c->wst->win;
	struct rtt_win_stats *ws;
	struct rtt_metric_stats *st;

	if (w->stats < 0)
		return;
	ws = &c->wst->stats[w->stats];
	st = &ws->st;
	st->count++;
	st->sum_ns += v;
	st->last_ns = v;
	if (v < st->min_ns)
		st->min_ns = v;
	st->log2_hist[rtt_log2_bucket(v)]++;
	if (st->count > 1 && v <= st->max_ns)
		return;
	st->max_ns = v;
	st->worst = *bd;
	st->worst_at_ns = mono;
	ws->worst.value_ns = v;
	ws->worst.bd = *bd;
	rtt_walk(c, &ws->worst, w->t0, w->t0 + v, w->own0, RTT_RS_RUNNING,
		 RTT_RS_UNKNOWN);
	c->events_dropped += ws->worst.events_dropped;
}

int rtt_core_window_stop(struct rtt_core *c, u64 now, u64 mono,
			 struct rtt_window_result *res)
{
	struct rtt_win *w;
	u64 v;

	rtt_core_catch_up(c);
	if (!c->win_open)
		return RTT_WIN_NONE;
	w = &c->wst->win;
	w->depth--;
	v = rtt_win_so_far(c, now, &res->breakdown);
	res->tag = w->tag;
	res->budget_ns = w->budget_ns;
	res->start_ns = w->start_mono;
	res->duration_ns = v;
	res->depth = w->depth;
	res->pad = 0;
	res->flags = (w->overrun || v > w->budget_ns ? RTT_WINF_OVERRUN : 0) |
		     (w->deadline_hit ? RTT_WINF_DEADLINE : 0);
	if (w->depth)
		return RTT_WIN_INNER;
	rtt_win_record(c, v, mono, &res->breakdown);
	if (v > w->budget_ns || w->overrun) {
		rtt_win_report(c, now, mono, RTT_WIN_STOP, 0);
		c->win_open = false;
		return RTT_WIN_OVER;
	}
	c->win_open = false;
	return RTT_WIN_CLOSED;
}

bool rtt_core_window_abandon(struct rtt_core *c)
{
	if (!c->win_open)
		return false;
	if (c->wst->win.stats >= 0)
		c->wst->stats[c->wst->win.stats].abandoned++;
	c->win_open = false;
	return true;
}

void rtt_core_set_win_store(struct rtt_core *c, struct rtt_win_store *st)
{
	u32 i;

	memset(st, 0, sizeof(*st));
	for (i = 0; i < RTT_WIN_TAGS; i++)
		rtt_stats_init(&st->stats[i].st);
	c->wst = st;
}

struct rtt_win_store *rtt_core_take_win_store(struct rtt_core *c)
{
	struct rtt_win_store *st = c->wst;

	rtt_core_window_abandon(c);
	c->wst = NULL;
	c->win_used = false;
	c->win_tags_dropped = 0;
	return st;
}

/* ---- text ---- */

struct rtt_out {
	char *buf;
	size_t size;
	size_t len;
	bool full;
};

#ifdef __KERNEL__
__printf(2, 3)
#endif
static void rtt_out(struct rtt_out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->full)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, o->size - o->len, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= o->size - o->len - 4) {
		o->full = true;
		o->buf[o->len] = '\0';
		n = snprintf(o->buf + o->len, o->size - o->len, "...\n");
	}
	o->len += n;
}

/* comm without characters that would break the line format */
static void rtt_comm_clean(const char *in, char *out)
{
	u32 i;

	for (i = 0; i < RTT_COMM_LEN - 1 && in[i]; i++)
		out[i] = (in[i] <= ' ' || in[i] > '~') ? '_' : in[i];
	out[i] = '\0';
	if (!i) {
		out[0] = '?';
		out[1] = '\0';
	}
}

/* The worst, culprits and log2 lines of a metric or a window tag. */
static void rtt_format_detail(struct rtt_out *o,
			      const struct rtt_metric_stats *st,
			      const struct rtt_culprit *cul, u32 nr_cul)
{
	const struct rtt_breakdown *bd = &st->worst;
	char comm[RTT_COMM_LEN];
	bool any = false;
	u32 i;

	rtt_out(o,
		"    worst running_ns=%llu waiting_ns=%llu sleep_timer_ns=%llu sleep_lock_ns=%llu sleep_io_ns=%llu sleep_other_ns=%llu\n",
		(unsigned long long)bd->running_ns, (unsigned long long)bd->waiting_ns,
		(unsigned long long)bd->sleep_ns[0], (unsigned long long)bd->sleep_ns[1],
		(unsigned long long)bd->sleep_ns[2], (unsigned long long)bd->sleep_ns[3]);
	rtt_out(o, "    culprits");
	for (i = 0; i < nr_cul; i++) {
		rtt_comm_clean(cul[i].comm, comm);
		rtt_out(o, " %d:%s:%d:%llu", cul[i].pid, comm, cul[i].prio,
			(unsigned long long)cul[i].ns);
	}
	rtt_out(o, "%s\n", nr_cul ? "" : " -");
	rtt_out(o, "    log2");
	for (i = 0; i < RTT_LOG2_BUCKETS; i++) {
		if (!st->log2_hist[i])
			continue;
		any = true;
		if (i == 0)
			rtt_out(o, " 0-1:%llu", (unsigned long long)st->log2_hist[i]);
		else if (i == RTT_LOG2_BUCKETS - 1)
			rtt_out(o, " %llu-inf:%llu", 1ull << (i - 1),
				(unsigned long long)st->log2_hist[i]);
		else
			rtt_out(o, " %llu-%llu:%llu", 1ull << (i - 1), 1ull << i,
				(unsigned long long)st->log2_hist[i]);
	}
	rtt_out(o, "%s\n", any ? "" : " -");
}

static void rtt_format_metric(struct rtt_out *o, const struct rtt_report *r,
			      u32 m)
{
	const struct rtt_metric_stats *st = &r->m[m];
	u32 i;

	rtt_out(o,
		"  %s count=%llu min_ns=%llu mean_ns=%llu max_ns=%llu bound_ns=%llu violations=%llu last_ns=%llu\n",
		rtt_metric_name(m), (unsigned long long)st->count,
		(unsigned long long)(st->count ? st->min_ns : 0),
		(unsigned long long)(st->count ? rtt_div64(st->sum_ns, st->count) : 0),
		(unsigned long long)st->max_ns, (unsigned long long)st->bound_ns,
		(unsigned long long)st->violations, (unsigned long long)st->last_ns);
	rtt_format_detail(o, st, r->culprits[m], r->nr_culprits[m]);
	if (!st->lin_step_ns)
		return;
	rtt_out(o, "    linear lo_ns=%llu step_ns=%llu under=%llu over=%llu",
		(unsigned long long)st->lin_lo_ns, (unsigned long long)st->lin_step_ns,
		(unsigned long long)st->lin_under, (unsigned long long)st->lin_over);
	for (i = 0; i < RTT_LIN_BUCKETS; i++) {
		u64 lo = st->lin_lo_ns + st->lin_step_ns * i;

		if (st->lin_hist[i])
			rtt_out(o, " %llu-%llu:%llu", (unsigned long long)lo,
				(unsigned long long)(lo + st->lin_step_ns),
				(unsigned long long)st->lin_hist[i]);
	}
	rtt_out(o, "\n");
}

/* The budget windows of a task that ever started one. */
static void rtt_format_windows(struct rtt_out *o, const struct rtt_report *r)
{
	u32 i;

	rtt_out(o, "  windows open=%u depth=%u tags_dropped=%llu\n",
		r->win_open ? 1 : 0, r->win_depth,
		(unsigned long long)r->win_tags_dropped);
	for (i = 0; i < RTT_WIN_TAGS; i++) {
		const struct rtt_win_report *w = &r->win[i];
		const struct rtt_metric_stats *st = &w->st;

		if (!w->used)
			continue;
		rtt_out(o,
			"  window tag=%llu count=%llu min_ns=%llu mean_ns=%llu max_ns=%llu budget_ns=%llu overruns=%llu last_ns=%llu abandoned=%llu\n",
			(unsigned long long)w->tag, (unsigned long long)st->count,
			(unsigned long long)(st->count ? st->min_ns : 0),
			(unsigned long long)(st->count ?
					     rtt_div64(st->sum_ns, st->count) : 0),
			(unsigned long long)st->max_ns,
			(unsigned long long)st->bound_ns,
			(unsigned long long)st->violations,
			(unsigned long long)st->last_ns,
			(unsigned long long)w->abandoned);
		rtt_format_detail(o, st, w->culprits, w->nr_culprits);
	}
}

size_t rtt_core_format(const struct rtt_report *r, char *buf, size_t size)
{
	struct rtt_out o = { .buf = buf, .size = size };
	const struct rtt_task_info *t = &r->info;
	char comm[RTT_COMM_LEN], flags[40];
	u32 m, nm;

	if (size < 8) {
		if (size)
			buf[0] = '\0';
		return 0;
	}
	buf[0] = '\0';
	flags[0] = '\0';
	if (t->flags & RTT_F_TRACE)
		strcat(flags, ",trace");
	if (t->flags & RTT_F_EXITED)
		strcat(flags, ",exited");
	if (t->flags & RTT_F_IRQ_THREAD)
		strcat(flags, r->irq_handler_tp ? ",irq_thread,irq_handler" :
						  ",irq_thread");
	rtt_comm_clean(t->comm, comm);
	rtt_out(&o,
		"task pid=%d tgid=%d comm=%s kind=%s irq=%d prio=%d policy=%s flags=%s\n",
		t->pid, t->tgid, comm, rtt_kind_name(t->kind), t->irq,
		t->prio, rtt_policy_name(t->policy),
		flags[0] ? flags + 1 : "-");
	nm = (t->flags & RTT_F_IRQ_THREAD) ? RTT_NR_METRICS :
					     RTT_METRIC_RELIEF + 1;
	for (m = 0; m < nm; m++)
		rtt_format_metric(&o, r, m);
	if (r->win_used)
		rtt_format_windows(&o, r);
	return o.len;
}

/* Exported for the tests: the breakdown of every interval sums to it. */
u64 rtt_breakdown_sum(const struct rtt_breakdown *bd)
{
	return rtt_bd_sum(bd);
}
