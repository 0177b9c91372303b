// SPDX-License-Identifier: GPL-2.0
/*
 * per-task state machine and statistics of rt_tracer.
 *
 * Model. A tracked task is SLEEPING, WAITING (runnable, not on a CPU) or
 * RUNNING. A wakeup from sleep opens a "wake sub-interval" (latency ends
 * at the next switch-in, response at the first voluntary switch-out) and,
 * when none is open, a "relief interval", which only ends when the task
 * goes to sleep on a timer (its intermediate lock/IO sleeps are counted in
 * its breakdown). Every nanosecond between the start and the end of an
 * interval is given to exactly one state, so a breakdown always sums to
 * the interval. Timestamps that go backwards (clocks of two CPUs, events
 * observed out of order) are clamped to the last state change.
 *
 * All functions run in O(RTT_CUL_CAND + RTT_TRACE_EVENTS) at worst.
 */
#include "rtt_core.h"

static const char * const rtt_metric_names[RTT_NR_METRICS] = {
	"latency", "response", "relief", "irq_delay", "irq",
};

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

unsigned int rtt_log2_bucket(u64 v)
{
	unsigned int b = rtt_fls64(v);	/* v in [2^(b-1), 2^b) */

	return b < RTT_LOG2_BUCKETS ? b : RTT_LOG2_BUCKETS - 1;
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
}

void rtt_core_clear_stats(struct rtt_core *c)
{
	u32 m;

	for (m = 0; m < RTT_NR_METRICS; m++) {
		rtt_stats_init(&c->m[m]);
		memset(&c->worst[m], 0, sizeof(c->worst[m]));
	}
	c->events_dropped = 0;
}

void rtt_core_set_bound(struct rtt_core *c, u32 metric, u64 bound_ns)
{
	if (metric < RTT_NR_METRICS)
		c->m[metric].bound_ns = bound_ns;
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
	st = &c->m[metric];
	st->lin_lo_ns = lo_ns;
	st->lin_step_ns = step_ns;
	st->lin_under = 0;
	st->lin_over = 0;
	memset(st->lin_hist, 0, sizeof(st->lin_hist));
	return 0;
}

/* A task's name, always terminated (it may be renamed while copied). */
static __always_inline void rtt_comm_copy(char *dst, const char *src)
{
	memcpy(dst, src, RTT_COMM_LEN);
	dst[RTT_COMM_LEN - 1] = '\0';
}

/* ---- culprits ---- */

static __always_inline void rtt_cand_charge(const struct rtt_core *c,
					    struct rtt_cand *e, u64 ns)
{
	e->ns_iv += ns;
	if (c->wake_open)
		e->ns_wake += ns;
}

/* Charge ns of the task's time to w, who ran instead (relief interval open). */
static noinline void rtt_cul_add_slow(struct rtt_core *c,
				      const struct rtt_who *w, u64 ns)
{
	struct rtt_culprit_set *cs = &c->cul;
	struct rtt_cand *e;
	u32 i, min = 0;

	for (i = 0; i < cs->nr; i++) {
		e = &cs->c[i];
		if (e->pid == w->pid)
			goto found;
		if (e->ns_iv < cs->c[min].ns_iv)
			min = i;
	}
	if (cs->nr < RTT_CUL_CAND) {
		e = &cs->c[cs->nr++];
	} else {
		/* full: the smallest candidate makes room if smaller */
		e = &cs->c[min];
		if (e->ns_iv >= ns)
			return;
	}
	e->pid = w->pid;
	e->ns_iv = 0;
	e->ns_wake = 0;
	rtt_comm_copy(e->comm, w->comm);
found:
	cs->last = e - cs->c;
	e->prio = w->prio;
	e->policy = w->policy;
	rtt_cand_charge(c, e, ns);
}

/* Mostly the same task as last time (the one the task takes turns with). */
static __always_inline void rtt_cul_add(struct rtt_core *c,
					const struct rtt_who *w, u64 ns)
{
	struct rtt_cand *e = &c->cul.c[c->cul.last];

	if (c->cul.last < c->cul.nr && e->pid == w->pid &&
	    e->prio == w->prio && e->policy == w->policy) {
		rtt_cand_charge(c, e, ns);
		return;
	}
	rtt_cul_add_slow(c, w, ns);
}

/*
 * The top RTT_CULPRITS candidates by their time in the wake sub-interval
 * (wake) or the relief interval, longest first; returns how many.
 */
static u32 rtt_cul_top(const struct rtt_culprit_set *cs, bool wake,
		       struct rtt_culprit *out)
{
	bool used[RTT_CUL_CAND] = { false };
	u64 ns, best_ns;
	u32 n, i, best;

	for (n = 0; n < RTT_CULPRITS; n++) {
		best = RTT_CUL_CAND;
		best_ns = 0;
		for (i = 0; i < cs->nr; i++) {
			ns = wake ? cs->c[i].ns_wake : cs->c[i].ns_iv;
			if (!used[i] && ns > best_ns) {
				best = i;
				best_ns = ns;
			}
		}
		if (best == RTT_CUL_CAND)
			break;
		used[best] = true;
		out[n].pid = cs->c[best].pid;
		out[n].prio = cs->c[best].prio;
		out[n].policy = cs->c[best].policy;
		out[n].reserved = 0;
		out[n].ns = best_ns;
		memcpy(out[n].comm, cs->c[best].comm, RTT_COMM_LEN);
	}
	for (i = n; i < RTT_CULPRITS; i++)
		memset(&out[i], 0, sizeof(out[i]));
	return n;
}

/* ---- events ---- */

static const char rtt_no_comm[RTT_COMM_LEN];

static __always_inline void rtt_ev_who(const struct rtt_who *w, s32 *pid,
				       s16 *prio, u8 *policy, char *comm)
{
	if (!w) {
		*pid = -1;
		*prio = -1;
		*policy = 0;
		memset(comm, 0, RTT_COMM_LEN);
		return;
	}
	*pid = w->pid;
	*prio = w->prio;
	*policy = w->policy;
	rtt_comm_copy(comm, w->comm);
}

static __always_inline void rtt_ev_add(struct rtt_core *c, u64 now, u16 type,
				       s32 cpu, const struct rtt_who *who,
				       const struct rtt_who *other, u8 state)
{
	struct rtt_event *e;

	if (!c->iv_open || !(c->info.flags & RTT_F_TRACE))
		return;
	if (unlikely(c->nr_ev >= RTT_TRACE_EVENTS)) {
		c->ev_dropped_iv++;
		c->events_dropped++;
		return;
	}
	e = &c->ev[c->nr_ev++];
	e->t_ns = now > c->t_iv ? now - c->t_iv : 0;
	e->type = type;
	e->cpu = (u16)cpu;
	rtt_ev_who(who, &e->pid, &e->prio, &e->policy, e->comm);
	rtt_ev_who(other, &e->other_pid, &e->other_prio, &e->other_policy,
		   e->other_comm);
	e->prev_state = state;
	e->reserved = 0;
	e->pad = 0;
}

static __always_inline void rtt_self(const struct rtt_core *c,
				     struct rtt_who *w)
{
	w->pid = c->info.pid;
	w->prio = c->info.prio;
	w->policy = c->info.policy;
	w->comm = c->info.comm;
}

static void rtt_save(struct rtt_who_saved *dst, const struct rtt_who *w)
{
	dst->pid = w->pid;
	dst->prio = w->prio;
	dst->policy = w->policy;
	rtt_comm_copy(dst->comm, w->comm);
}

/*
 * Who runs on the task's CPU now, while it sleeps on a lock (charged when
 * it wakes up or the CPU switches again); unknown: as if idle, nobody.
 */
static void rtt_set_cur(struct rtt_core *c, const struct rtt_who *next)
{
	if (next)
		rtt_save(&c->cpu_cur, next);
	else
		c->cpu_cur.pid = 0;
}

static void rtt_saved(const struct rtt_who_saved *src, struct rtt_who *w)
{
	w->pid = src->pid;
	w->prio = src->prio;
	w->policy = src->policy;
	w->comm = src->comm;
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

/* Which interval a measured value covers (its explanation). */
enum rtt_src {
	RTT_SRC_WAKE,		/* latency, response */
	RTT_SRC_IV,		/* relief */
	RTT_SRC_IRQ_DELAY,
	RTT_SRC_IRQ,
};

/*
 * Breakdown, culprits and events of a value of metric m from src that is a
 * new worst or a violation (rare: the common path only counts it).
 */
static noinline void rtt_explain(struct rtt_core *c, u32 m, u64 v,
				 enum rtt_src src, bool worst)
{
	struct rtt_breakdown *bd = &c->n_bd[m];
	struct rtt_worst *w = &c->worst[m];
	u64 ev_base = 0, dropped = 0;
	u32 i, n, ev_from = c->nr_ev;
	bool cul = false, wake = false;

	memset(bd, 0, sizeof(*bd));
	switch (src) {
	case RTT_SRC_WAKE:
		rtt_bd_since(c, &c->acc_wake, bd);
		cul = wake = true;
		ev_from = c->ev_wake_idx;
		ev_base = c->t_wake - c->t_iv;
		dropped = c->ev_dropped_iv - c->ev_dropped_wake;
		break;
	case RTT_SRC_IV:
		rtt_bd_since(c, &c->acc_iv, bd);
		cul = true;
		ev_from = 0;
		dropped = c->ev_dropped_iv;
		break;
	case RTT_SRC_IRQ_DELAY:
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
		cul = wake = c->wake_open;
		ev_from = c->wake_open ? c->ev_wake_idx : 0;
		if (c->iv_open && c->t_irq > c->t_iv)
			ev_base = c->t_irq - c->t_iv;
		dropped = c->ev_dropped_iv - c->ev_dropped_wake;
		break;
	case RTT_SRC_IRQ:
		rtt_bd_since(c, &c->acc_irq, bd);
		break;
	}
	c->n_value[m] = v;
	if (!worst)
		return;
	c->m[m].worst = *bd;
	w->value_ns = v;
	w->bd = *bd;
	w->nr_culprits = cul ? rtt_cul_top(&c->cul, wake, w->culprits) : 0;
	if (!cul)
		memset(w->culprits, 0, sizeof(w->culprits));
	n = 0;
	for (i = ev_from; i < c->nr_ev && n < RTT_TRACE_EVENTS; i++) {
		w->events[n] = c->ev[i];
		w->events[n].t_ns = c->ev[i].t_ns > ev_base ?
				    c->ev[i].t_ns - ev_base : 0;
		n++;
	}
	w->nr_events = n;
	w->events_dropped = dropped;
}

static noinline void rtt_lin_add(struct rtt_metric_stats *st, u64 v)
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

/* One measured value v of metric m, over the interval src says. */
static __always_inline void rtt_record(struct rtt_core *c, u32 m, u64 v,
				       enum rtt_src src)
{
	struct rtt_metric_stats *st = &c->m[m];
	bool worst, viol;

	st->count++;
	st->sum_ns += v;
	st->last_ns = v;
	if (v < st->min_ns)
		st->min_ns = v;
	st->log2_hist[rtt_log2_bucket(v)]++;
	if (unlikely(st->lin_step_ns))
		rtt_lin_add(st, v);
	worst = st->count == 1 || v > st->max_ns;
	viol = st->bound_ns && v > st->bound_ns;
	if (likely(!worst && !viol))
		return;
	if (worst) {
		st->max_ns = v;
		c->notify |= RTT_N_WORST(m);
	}
	if (viol) {
		st->violations++;
		c->notify |= RTT_N_VIOLATION(m);
	}
	rtt_explain(c, m, v, src, worst);
}

/* Index, in a breakdown seen as u64[], of the task's current state. */
static __always_inline unsigned int rtt_bd_idx(const struct rtt_core *c)
{
	switch (c->rs) {
	case RTT_RS_RUNNING:
		return 0;
	case RTT_RS_WAITING:
		return 1;
	case RTT_RS_SLEEPING:
		return 1 + c->sleep_cause;
	default:
		return 1 + RTT_STATE_SLEEP_OTHER;
	}
}

/*
 * Give the time since the last state change to the current state. Returns
 * now clamped so that time never goes backwards.
 */
static __always_inline u64 rtt_account(struct rtt_core *c, u64 now)
{
	if (now < c->t_state)
		now = c->t_state;
	((u64 *)&c->acc)[rtt_bd_idx(c)] += now - c->t_state;
	c->t_state = now;
	return now;
}

/*
 * Charge whoever ran on the task's CPU since the last mark while the task
 * waited for that CPU or slept on a lock there (the lock holder, or whoever
 * kept the holder from running: a priority inversion). The idle task is
 * nobody's fault: its time (the CPU leaving idle) shows as waiting only.
 */
static __always_inline void rtt_charge(struct rtt_core *c, u64 now,
				       const struct rtt_who *ran)
{
	if (c->iv_open && ran->pid != c->info.pid && ran->pid != 0 &&
	    now > c->t_cpu_mark &&
	    (c->rs == RTT_RS_WAITING ||
	     (c->rs == RTT_RS_SLEEPING &&
	      c->sleep_cause == RTT_STATE_SLEEP_LOCK)))
		rtt_cul_add(c, ran, now - c->t_cpu_mark);
	if (now > c->t_cpu_mark)
		c->t_cpu_mark = now;
}

/* ---- events in ---- */

RTT_HOT void rtt_core_wakeup(struct rtt_core *c, u64 now, s32 cpu,
		     const struct rtt_who *waker, bool on_cpu)
{
	struct rtt_who self;
	u32 i;

	c->notify = 0;
	if (c->rs == RTT_RS_DEAD)
		return;
	rtt_self(c, &self);
	if (on_cpu || c->rs == RTT_RS_WAITING || c->rs == RTT_RS_RUNNING) {
		/*
		 * The task is on a run queue already: a wakeup racing with its
		 * own way to sleep, which the scheduler turns into "keep
		 * running". Not a new activation.
		 */
		if (c->rs == RTT_RS_UNKNOWN) {
			c->rs = on_cpu ? RTT_RS_RUNNING : RTT_RS_WAITING;
			c->t_state = now;
			c->t_cpu_mark = now;
			c->cpu = cpu;
		}
		if (c->rs == RTT_RS_RUNNING && !on_cpu) {
			/*
			 * We still think it runs but the scheduler says it is
			 * off the CPU: its switch-out has not been observed
			 * yet. Keep the wakeup until it is.
			 */
			c->wake_pending = true;
			c->t_pending = now;
			c->pending_cpu = cpu;
			if (waker)
				rtt_save(&c->pending_waker, waker);
			else
				c->pending_waker.pid = -1;
		}
		rtt_ev_add(c, now, RTT_EV_WAKEUP, cpu, &self, waker, 0);
		return;
	}
	now = rtt_account(c, now);	/* the sleep that ends here */
	if (c->rs == RTT_RS_SLEEPING &&
	    c->sleep_cause == RTT_STATE_SLEEP_LOCK) {
		struct rtt_who cur;

		/* who runs on its CPU now ran since the last switch there */
		rtt_saved(&c->cpu_cur, &cur);
		rtt_charge(c, now, &cur);
	}
	if (!c->iv_open) {
		c->iv_open = true;
		c->t_iv = now;
		c->acc_iv = c->acc;
		c->cul.nr = 0;
		c->nr_ev = 0;
		c->ev_dropped_iv = 0;
	}
	if (c->nr_ev > RTT_TRACE_EVENTS / 2) {
		/*
		 * A long relief interval (a task that never sleeps on a timer
		 * keeps one open for ever): its older events make room for
		 * this wakeup's, which explain latency and response.
		 */
		c->ev_dropped_iv += c->nr_ev;
		c->events_dropped += c->nr_ev;
		c->nr_ev = 0;
	}
	c->wake_open = true;
	c->lat_done = false;
	c->resp_done = false;
	c->t_wake = now;
	c->acc_wake = c->acc;
	for (i = 0; i < c->cul.nr; i++)
		c->cul.c[i].ns_wake = 0;
	c->ev_wake_idx = c->nr_ev;
	c->ev_dropped_wake = c->ev_dropped_iv;
	c->t_cpu_mark = now;
	c->rs = RTT_RS_WAITING;
	c->cpu = cpu;
	rtt_ev_add(c, now, RTT_EV_WAKEUP, cpu, &self, waker, 0);
}

RTT_HOT void rtt_core_switch_in(struct rtt_core *c, u64 now, s32 cpu,
			const struct rtt_who *prev, u8 prev_state)
{
	struct rtt_who self;

	c->notify = 0;
	if (c->rs == RTT_RS_DEAD)
		return;
	if (now < c->t_state)
		now = c->t_state;
	rtt_charge(c, now, prev);
	now = rtt_account(c, now);
	rtt_self(c, &self);
	rtt_ev_add(c, now, RTT_EV_SWITCH, cpu, &self, prev, prev_state);
	c->rs = RTT_RS_RUNNING;
	c->cpu = cpu;
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
	}
}

RTT_HOT void rtt_core_switch_out(struct rtt_core *c, u64 now, s32 cpu, u8 why,
			 const struct rtt_who *next)
{
	struct rtt_who self;

	c->notify = 0;
	if (c->rs == RTT_RS_DEAD)
		return;
	now = rtt_account(c, now);
	rtt_self(c, &self);
	c->cpu = cpu;
	if (why == RTT_STATE_PREEMPTED) {
		rtt_ev_add(c, now, RTT_EV_SWITCH, cpu, next, &self, why);
		c->rs = RTT_RS_WAITING;
		c->t_cpu_mark = now;
		c->wake_pending = false;
		return;
	}
	if (why > RTT_STATE_SLEEP_OTHER)
		why = RTT_STATE_SLEEP_OTHER;	/* dying: exit comes next */
	rtt_ev_add(c, now, RTT_EV_SWITCH, cpu, next, &self, why);
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
		rtt_record(c, RTT_METRIC_RESPONSE, now - c->t_wake,
			   RTT_SRC_WAKE);
	}
	c->wake_open = false;
	if (why == RTT_STATE_SLEEP_TIMER && c->iv_open) {
		rtt_record(c, RTT_METRIC_RELIEF, now - c->t_iv,
			   RTT_SRC_IV);
		c->iv_open = false;
	}
	c->rs = RTT_RS_SLEEPING;
	c->sleep_cause = why;
	c->t_cpu_mark = now;
	if (why == RTT_STATE_SLEEP_LOCK)
		rtt_set_cur(c, next);
	if (unlikely(c->wake_pending)) {
		/* the wakeup that was observed first belongs to this sleep */
		struct rtt_who waker;
		u32 notify = c->notify;
		u64 t = c->t_pending > now ? c->t_pending : now;

		rtt_saved(&c->pending_waker, &waker);
		c->wake_pending = false;
		rtt_core_wakeup(c, t, c->pending_cpu,
				waker.pid >= 0 ? &waker : NULL, false);
		c->notify |= notify;
	}
}

RTT_HOT void rtt_core_other_switch(struct rtt_core *c, u64 now, s32 cpu,
			   const struct rtt_who *prev, u8 prev_state,
			   const struct rtt_who *next)
{
	c->notify = 0;
	if (c->rs == RTT_RS_DEAD || cpu != c->cpu)
		return;
	rtt_charge(c, now, prev);
	if (c->rs == RTT_RS_SLEEPING)	/* on a lock: see rtt_core_wakeup() */
		rtt_set_cur(c, next);
	rtt_ev_add(c, now, RTT_EV_SWITCH, cpu, next, prev, prev_state);
}

void rtt_core_migrate(struct rtt_core *c, u64 now, s32 from, s32 to)
{
	struct rtt_who self, dst = { .pid = to, .prio = -1,
				     .comm = rtt_no_comm };

	c->notify = 0;
	if (c->rs == RTT_RS_DEAD)
		return;
	rtt_self(c, &self);
	rtt_ev_add(c, now, RTT_EV_MIGRATE, from, &self, &dst, 0);
	c->cpu = to;
	if (now > c->t_cpu_mark)
		c->t_cpu_mark = now;
}

void rtt_core_exit(struct rtt_core *c, u64 now)
{
	c->notify = 0;
	if (c->rs == RTT_RS_DEAD)
		return;
	now = rtt_account(c, now);
	c->rs = RTT_RS_DEAD;
	c->iv_open = false;
	c->wake_open = false;
	c->irq_pending = false;
	c->irq_running = false;
	c->wake_pending = false;
	c->info.flags |= RTT_F_EXITED;
	c->exit_ns = now;
	c->cpu = -1;
	c->notify = RTT_N_EXIT;
}

void rtt_core_irq_entry(struct rtt_core *c, u64 now, s32 cpu, s32 irq)
{
	struct rtt_who w = { .pid = irq, .prio = -1, .comm = rtt_no_comm };

	c->notify = 0;
	if (c->rs == RTT_RS_DEAD)
		return;
	rtt_ev_add(c, now, RTT_EV_IRQ_ENTRY, cpu, &w, NULL, 0);
	/*
	 * While the thread is in an activation (running, or preempted in
	 * it), the handler runs again in that activation: not a new delay.
	 */
	if (!c->irq_pending && !c->irq_running) {
		c->irq_pending = true;
		c->t_irq = now;
	}
}

void rtt_core_irq_exit(struct rtt_core *c, u64 now, s32 cpu, s32 irq)
{
	struct rtt_who w = { .pid = irq, .prio = -1, .comm = rtt_no_comm };

	c->notify = 0;
	if (c->rs != RTT_RS_DEAD)
		rtt_ev_add(c, now, RTT_EV_IRQ_EXIT, cpu, &w, NULL, 0);
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

static void rtt_format_metric(struct rtt_out *o, const struct rtt_core *c,
			      u32 m)
{
	const struct rtt_metric_stats *st = &c->m[m];
	const struct rtt_worst *w = &c->worst[m];
	const struct rtt_breakdown *bd = &st->worst;
	char comm[RTT_COMM_LEN];
	bool any = false;
	u32 i;

	rtt_out(o,
		"  %s count=%llu min_ns=%llu mean_ns=%llu max_ns=%llu bound_ns=%llu violations=%llu last_ns=%llu\n",
		rtt_metric_name(m), (unsigned long long)st->count,
		(unsigned long long)(st->count ? st->min_ns : 0),
		(unsigned long long)(st->count ? rtt_div64(st->sum_ns, st->count) : 0),
		(unsigned long long)st->max_ns, (unsigned long long)st->bound_ns,
		(unsigned long long)st->violations, (unsigned long long)st->last_ns);
	rtt_out(o,
		"    worst running_ns=%llu waiting_ns=%llu sleep_timer_ns=%llu sleep_lock_ns=%llu sleep_io_ns=%llu sleep_other_ns=%llu\n",
		(unsigned long long)bd->running_ns, (unsigned long long)bd->waiting_ns,
		(unsigned long long)bd->sleep_ns[0], (unsigned long long)bd->sleep_ns[1],
		(unsigned long long)bd->sleep_ns[2], (unsigned long long)bd->sleep_ns[3]);
	rtt_out(o, "    culprits");
	for (i = 0; i < w->nr_culprits && i < RTT_CULPRITS; i++) {
		rtt_comm_clean(w->culprits[i].comm, comm);
		rtt_out(o, " %d:%s:%d:%llu", w->culprits[i].pid, comm,
			w->culprits[i].prio, (unsigned long long)w->culprits[i].ns);
	}
	rtt_out(o, "%s\n", w->nr_culprits ? "" : " -");
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

size_t rtt_core_format(const struct rtt_core *c, char *buf, size_t size)
{
	struct rtt_out o = { .buf = buf, .size = size };
	const struct rtt_task_info *t = &c->info;
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
		strcat(flags, ",irq_thread");
	rtt_comm_clean(t->comm, comm);
	rtt_out(&o,
		"task pid=%d tgid=%d comm=%s kind=%s irq=%d prio=%d policy=%s flags=%s\n",
		t->pid, t->tgid, comm, rtt_kind_name(t->kind), t->irq,
		t->prio, rtt_policy_name(t->policy),
		flags[0] ? flags + 1 : "-");
	nm = (t->flags & RTT_F_IRQ_THREAD) ? RTT_NR_METRICS :
					     RTT_METRIC_RELIEF + 1;
	for (m = 0; m < nm; m++)
		rtt_format_metric(&o, c, m);
	return o.len;
}

/* Exported for the tests: the breakdown of every interval sums to it. */
u64 rtt_breakdown_sum(const struct rtt_breakdown *bd)
{
	return rtt_bd_sum(bd);
}
