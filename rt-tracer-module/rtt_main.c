// SPDX-License-Identifier: GPL-2.0
/*
 * rt_tracer - per-task scheduling latency, response and control-loop time
 * of real-time tasks on PREEMPT_RT, from stock tracepoints.
 *
 * This file: the tracepoint probes, the task table and the control plane.
 *
 * Concurrency (PREEMPT_RT):
 *  - Probes run with preemption disabled, the sched_* ones mostly under a
 *    run-queue raw lock. They take only spinning locks (raw spinlocks, and
 *    the slots' test-and-set locks), never allocate, never sleep, never
 *    wake anybody up directly (irq_work does that).
 *  - "Is this task tracked" is a lockless lookup in an open-addressing
 *    hash table keyed by task_struct pointer. Writers (control plane,
 *    sched_process_fork/exit probes) serialize on rtt_tbl_lock; removal
 *    leaves a tombstone; the table is rebuilt into a spare copy from process
 *    context and swapped after an RCU grace period (probes are RCU-sched
 *    readers). A task is removed at sched_process_exit, before its
 *    task_struct can be freed and reused.
 *  - Each slot has a lock for its state machine (rtt_slot_lock(): a
 *    test-and-set spinlock with interrupts off): a wakeup on one CPU can
 *    race with a migration, an exit or a reader on another. The switch
 *    probe leaves a task's switch-in to its next event (see
 *    rtt_slot_catch_up()).
 *  - Each CPU has a small watch list of the tracked tasks queued on it;
 *    sched_switch on a CPU with an empty list costs one per-CPU load.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/moduleparam.h>
#include <linux/sched.h>
#include <linux/sched/task.h>
#include <linux/sched/task_stack.h>
#include <linux/sched/signal.h>
#include <linux/tracepoint.h>
#include <linux/irq.h>
#include <linux/irqdesc.h>
#include <linux/interrupt.h>
#include <linux/irq_work.h>
#include <linux/workqueue.h>
#include <linux/percpu.h>
#include <linux/vmalloc.h>
#include <linux/slab.h>
#include <linux/hash.h>
#include <linux/log2.h>
#include <linux/pid.h>
#include <linux/wait.h>
#include <linux/timekeeping.h>
#include <linux/compat.h>
#include <linux/unistd.h>
#include <uapi/linux/audit.h>
#include <asm/syscall.h>
#ifdef CONFIG_ARM64
#include <asm/arch_timer.h>
#include <clocksource/arm_arch_timer.h>
#endif

#include "rtt_internal.h"

#define CREATE_TRACE_POINTS
#include "rtt_trace.h"

unsigned int rtt_capacity = 64;
module_param_named(capacity, rtt_capacity, uint, 0444);
MODULE_PARM_DESC(capacity, "tasks tracked at most (1..4096, default 64)");

struct rtt_slot *rtt_slots;
DEFINE_MUTEX(rtt_ctl_mutex);		/* control plane, slot allocation */
size_t rtt_memory_bytes;
atomic_t rtt_nr_live = ATOMIC_INIT(0);	/* ACTIVE slots: probes' gate */
static atomic_t rtt_nr_irq = ATOMIC_INIT(0);	/* ACTIVE IRQ threads */
bool rtt_have_irq_tp;
bool rtt_have_irqh_tp;

/* ---- hash table ---- */

#define RTT_TOMB ((struct rtt_slot *)1UL)

static DEFINE_RAW_SPINLOCK(rtt_tbl_lock);	/* table writers, free list */
static struct rtt_slot **rtt_tbl;		/* published table */
static struct rtt_slot **rtt_tbl_spare;
static unsigned int rtt_tbl_bits;
static unsigned int rtt_tbl_tombs;
static unsigned long rtt_tbl_changes;		/* inserts and removals */
static struct rtt_slot *rtt_free_list;
static struct rtt_slot *rtt_retired;		/* rtt_ctl_mutex: to recycle */
static unsigned long rtt_fork_overflow;

/*
 * A multiplicative hash of the task pointer (hash_ptr() on 64-bit), from
 * values set at load: every wakeup looks a task up.
 */
static u64 rtt_hash_mult __read_mostly = GOLDEN_RATIO_64;
static u32 rtt_hash_shift __read_mostly, rtt_tbl_mask __read_mostly;

static __always_inline u32 rtt_hash(const struct task_struct *p)
{
	return ((u64)(unsigned long)p * rtt_hash_mult) >> rtt_hash_shift;
}

/* Lockless; callers run with preemption disabled or hold rtt_tbl_lock. */
static __always_inline struct rtt_slot *rtt_lookup(struct task_struct *p)
{
	struct rtt_slot **tbl = READ_ONCE(rtt_tbl);
	u32 mask = rtt_tbl_mask;
	u32 i = rtt_hash(p), n;
	struct rtt_slot *s;

	for (n = 0; n <= mask; n++, i = (i + 1) & mask) {
		s = READ_ONCE(tbl[i]);
		if (!s)
			return NULL;
		if (s != RTT_TOMB && READ_ONCE(s->task) == p)
			return s;
	}
	return NULL;
}

/* rtt_tbl_lock held (or tbl not published); s->task not in tbl */
static void rtt_tbl_insert(struct rtt_slot **tbl, struct rtt_slot *s)
{
	u32 mask = rtt_tbl_mask;
	u32 i = rtt_hash(s->task), n;

	for (n = 0; n <= mask; n++, i = (i + 1) & mask) {
		if (!tbl[i] || tbl[i] == RTT_TOMB) {
			if (tbl == rtt_tbl) {
				rtt_tbl_changes++;
				if (tbl[i] == RTT_TOMB)
					rtt_tbl_tombs--;
			}
			/* publish s->task before lockless readers see s */
			smp_store_release(&tbl[i], s);
			return;
		}
	}
	WARN_ON_ONCE(1);	/* cannot happen: size >= 4 * capacity */
}

/* rtt_tbl_lock held, s->task set: s out of the published table */
static void rtt_tbl_remove(struct rtt_slot *s)
{
	u32 mask = rtt_tbl_mask;
	u32 i = rtt_hash(s->task), n;

	for (n = 0; n <= mask && rtt_tbl[i]; n++, i = (i + 1) & mask) {
		if (rtt_tbl[i] == s) {
			WRITE_ONCE(rtt_tbl[i], RTT_TOMB);
			rtt_tbl_tombs++;
			rtt_tbl_changes++;
			return;
		}
	}
}

/*
 * rtt_ctl_mutex held: drop tombstones so lookups stay short. The spare
 * table is filled without the table lock (its interrupts-off time stays
 * constant whatever the capacity) and published only if no insert or
 * removal came meanwhile; else the next call tries again.
 */
static void rtt_tbl_rebuild(void)
{
	struct rtt_slot **old;
	unsigned long flags, changes;
	unsigned int i, tries;

	if (rtt_tbl_tombs < (1U << rtt_tbl_bits) / 4)
		return;
	for (tries = 0; tries < 3; tries++) {
		rtt_raw_lock(&rtt_tbl_lock, flags);
		changes = rtt_tbl_changes;
		rtt_raw_unlock(&rtt_tbl_lock, flags);
		memset(rtt_tbl_spare, 0, sizeof(*rtt_tbl) << rtt_tbl_bits);
		for (i = 0; i < rtt_capacity; i++) {
			struct rtt_slot *s = &rtt_slots[i];

			/* stable while no table writer runs (checked below) */
			if (READ_ONCE(s->life) == RTT_LIFE_ACTIVE &&
			    READ_ONCE(s->task))
				rtt_tbl_insert(rtt_tbl_spare, s);
		}
		rtt_raw_lock(&rtt_tbl_lock, flags);
		if (changes == rtt_tbl_changes) {
			old = rtt_tbl;
			WRITE_ONCE(rtt_tbl, rtt_tbl_spare);
			rtt_tbl_tombs = 0;
			rtt_raw_unlock(&rtt_tbl_lock, flags);
			synchronize_rcu();	/* no probe walks the old table */
			rtt_tbl_spare = old;
			return;
		}
		rtt_raw_unlock(&rtt_tbl_lock, flags);
	}
}

static void rtt_probes_sync(void);
static struct rtt_window *rtt_win_detach(struct rtt_slot *s);
static void rtt_win_release(struct rtt_window *w);
static void rtt_wst_put(struct rtt_win_store *st);
static void rtt_log_exits(void);
static void rtt_log_exit(struct rtt_slot *s);

/*
 * Housekeeping the probes cannot do (it sleeps or prints), asked for
 * through irq_work: log the summaries of exited tasks, drop tombstones,
 * and unregister the probes when the last tracked task has exited.
 */
static void rtt_house_fn(struct work_struct *w)
{
	mutex_lock(&rtt_ctl_mutex);
	rtt_log_exits();
	rtt_tbl_rebuild();
	rtt_probes_sync();
	mutex_unlock(&rtt_ctl_mutex);
}

static DECLARE_WORK(rtt_house_work, rtt_house_fn);

static void rtt_house_kick(struct irq_work *w)
{
	schedule_work(&rtt_house_work);
}

static struct irq_work rtt_house_iw;

/* ---- watch lists and switch logs ---- */

/*
 * Each CPU watches the tracked tasks queued on it (and those asleep on a
 * lock there inside an interval). An entry is claimed with cmpxchg on
 * s[i], then published in mask; the switch probe walks the bits of mask
 * only, and logs every switch of the CPU while mask is not empty. A task
 * that goes to sleep stays on the list (sleepers) until a switch it takes
 * no part in: one that sleeps and wakes on the same CPU, as most do, then
 * never leaves and rejoins.
 */
struct rtt_watch {
	unsigned long mask;
	unsigned long sleepers;		/* this CPU's probe only */
	struct rtt_slot *cur;		/* of the task it switched in last */
	struct rtt_slot *out;		/* of the task it switched out last */
	struct rtt_cpulog *log;
	struct rtt_slot *s[RTT_WATCH];
};

static DEFINE_PER_CPU(struct rtt_watch, rtt_watch);
static atomic_long_t rtt_watch_overflow = ATOMIC_LONG_INIT(0);
static struct rtt_cpulog *rtt_logs;	/* nr_cpu_ids of them */

struct rtt_cpulog *rtt_cpulog_of(s32 cpu)
{
	return (unsigned int)cpu < nr_cpu_ids ? &rtt_logs[cpu] : NULL;
}

/* s->lock held: move s from the watch list it is on to want's (-1: none) */
static noinline void rtt_move_watch(struct rtt_slot *s, int want)
{
	struct rtt_core *c = &s->core;
	struct rtt_watch *w;
	int i;

	if (s->w_cpu >= 0) {
		w = per_cpu_ptr(&rtt_watch, s->w_cpu);
		clear_bit(s->w_idx, &w->mask);
		WRITE_ONCE(w->s[s->w_idx], NULL);
		s->w_cpu = -1;
		s->w_idx = -1;
		WRITE_ONCE(s->w_bit, 0);
	}
	if (want < 0)
		return;
	w = per_cpu_ptr(&rtt_watch, want);
	for (i = 0; i < RTT_WATCH; i++) {
		if (!READ_ONCE(w->s[i]) && !cmpxchg(&w->s[i], NULL, s)) {
			s->w_cpu = want;
			s->w_idx = i;
			WRITE_ONCE(s->w_bit, BIT(i));
			set_bit(i, &w->mask);
			return;
		}
	}
	/* too many tracked tasks queued on one CPU: lose this interval */
	atomic_long_inc(&rtt_watch_overflow);
	rtt_core_lose_intervals(c);
}

/*
 * s->lock held: s on the watch list of the CPU it is queued on while
 * watched; asleep, it may stay on that CPU's list (see struct rtt_watch).
 */
static __always_inline void rtt_sync_watch(struct rtt_slot *s)
{
	const struct rtt_core *c = &s->core;
	int want = -1;

	/* the common case: where it should be already */
	if (likely(s->w_cpu == c->cpu && s->life == RTT_LIFE_ACTIVE))
		return;
	if (s->life == RTT_LIFE_ACTIVE && (unsigned int)c->cpu < nr_cpu_ids &&
	    (s->w_cpu == c->cpu || rtt_core_watched(c)))
		want = c->cpu;
	if (unlikely(want != s->w_cpu))
		rtt_move_watch(s, want);
}

/*
 * The tracked task's own priority is its configured one (normal_prio):
 * p->prio is raised while it holds a PI lock that a higher task waits on,
 * and a report would then show a priority nobody set. Other tasks in
 * events and culprits show p->prio, boosts included (that explains them).
 * Refreshed when it is reported (a new worst, a violation, a read, its
 * exit), not on every event.
 */
static void rtt_refresh(struct rtt_slot *s, struct task_struct *p)
{
	s->core.info.prio = p->normal_prio;
	s->core.info.policy = p->policy;
	rtt_comm_copy(s->core.info.comm, p->comm);
}

/* s->lock held: rtt_refresh() while s tracks a live task */
static void rtt_refresh_live(struct rtt_slot *s)
{
	if (s->life == RTT_LIFE_ACTIVE && s->task)
		rtt_refresh(s, s->task);
}

/* ---- clock ---- */

/*
 * The probes' clock: global across CPUs and monotonic, in ns. On arm64 the
 * virtual counter read in place, scaled as ticks * ns_per_tick with the
 * fraction in 64 bits (a multiply, a high multiply and an add): the
 * kernel's arch_timer_read_counter() is an indirect call and
 * ktime_get_mono_fast_ns() five times the cost, on a path that reads the
 * clock on every event. Where the virtual counter is not the kernel's
 * (see rtt_clock_init()) the probes read the kernel's. Elsewhere
 * ktime_get_mono_fast_ns(). Reports that promise CLOCK_MONOTONIC
 * (worst_at_ns, record times) read that clock themselves.
 */
#ifdef CONFIG_ARM64
static u64 rtt_clk_ns, rtt_clk_frac;	/* ns per tick: ns + frac / 2^64 */
static DEFINE_STATIC_KEY_FALSE(rtt_clk_kernel);

static __always_inline u64 rtt_cntvct(void)
{
	u64 cnt;

	asm volatile("isb\n\tmrs %0, cntvct_el0" : "=r" (cnt));
	return cnt;
}

static __always_inline u64 rtt_now(void)
{
	u64 cnt;

	if (static_branch_unlikely(&rtt_clk_kernel))
		cnt = arch_timer_read_counter();
	else
		cnt = rtt_cntvct();
	return cnt * rtt_clk_ns + mul_u64_u64_shr(cnt, rtt_clk_frac, 64);
}

/*
 * Does a CPU read its counter through an erratum workaround? The per-CPU
 * pointer exists only in kernels built with such workarounds (Debian's;
 * not a small allnoconfig one such as scripts/build-kernel's).
 */
static bool rtt_clk_erratum(void)
{
#if IS_ENABLED(CONFIG_ARM_ARCH_TIMER_OOL_WORKAROUND)
	int cpu;

	for_each_possible_cpu(cpu)
		if (per_cpu(timer_unstable_counter_workaround, cpu))
			return true;
#endif
	return false;
}

/* Is the virtual counter, read in place, the one the kernel reads? */
static bool rtt_cntvct_usable(void)
{
	u64 pfr0 = read_sysreg_s(SYS_ID_AA64PFR0_EL1), before, k, after;

	if (rtt_clk_erratum())
		return false;	/* reads need an erratum workaround */
	/*
	 * A host at EL1 with EL2 below it (nVHE): KVM gives the virtual
	 * counter a guest's offset from vcpu_load to vcpu_put, and the host
	 * keeps running (and switching tasks) in between.
	 */
	if (IS_ENABLED(CONFIG_KVM) && !is_kernel_in_hyp_mode() &&
	    cpuid_feature_extract_unsigned_field(pfr0,
						 ID_AA64PFR0_EL1_EL2_SHIFT))
		return false;
	/* the kernel may read the physical counter: it must agree */
	before = rtt_cntvct();
	k = arch_timer_read_counter();
	after = rtt_cntvct();
	return before <= k && k <= after;
}

static int rtt_clock_init(void)
{
	u64 rate = arch_timer_get_cntfrq(), rem, hi;

	if (!rate || rate > U32_MAX)
		return -ENODEV;
	rtt_clk_ns = div64_u64_rem(NSEC_PER_SEC, rate, &rem);
	/* rem * 2^64 / rate in two 32-bit steps (rem < rate < 2^32) */
	hi = div64_u64_rem(rem << 32, rate, &rem);
	rtt_clk_frac = hi << 32 | div64_u64(rem << 32, rate);
	if (!rtt_cntvct_usable()) {
		static_branch_enable(&rtt_clk_kernel);
		pr_info("clock: the kernel's counter read\n");
	}
	return 0;
}
#else
static __always_inline u64 rtt_now(void)
{
	return ktime_get_mono_fast_ns();
}

static int rtt_clock_init(void)
{
	return 0;
}
#endif

/* ---- interrupts-off sections, measured (RTT_IRQOFF_STATS) ---- */

#ifdef RTT_IRQOFF_STATS
static DEFINE_PER_CPU(u64, rtt_irqoff_t0);
static LLIST_HEAD(rtt_irqoff_sites);

void rtt_irqoff_begin(unsigned long flags)
{
	if (!irqs_disabled_flags(flags))	/* outermost only */
		this_cpu_write(rtt_irqoff_t0, rtt_now());
}

void rtt_irqoff_end(unsigned long flags, struct rtt_irqoff_site *site)
{
	u64 d;

	if (irqs_disabled_flags(flags))
		return;
	d = rtt_now() - this_cpu_read(rtt_irqoff_t0);
	if (!READ_ONCE(site->linked) && !cmpxchg(&site->linked, 0, 1))
		llist_add(&site->node, &rtt_irqoff_sites);
	/* a measurement: a rare lost update between CPUs does no harm */
	WRITE_ONCE(site->count, site->count + 1);
	if (d > READ_ONCE(site->max_ns))
		WRITE_ONCE(site->max_ns, d);
}

/* at unload: one line per place, the longest first */
void rtt_irqoff_report(void)
{
	struct rtt_irqoff_site *s, *best;
	struct llist_node *n;
	u64 done = U64_MAX;

	for (;;) {
		best = NULL;
		llist_for_each(n, rtt_irqoff_sites.first) {
			s = llist_entry(n, struct rtt_irqoff_site, node);
			if (s->max_ns < done && (!best || s->max_ns > best->max_ns))
				best = s;
		}
		if (!best)
			break;
		pr_info("irqoff max_ns=%llu count=%llu at %s:%d\n",
			best->max_ns, best->count, kbasename(best->file),
			best->line);
		done = best->max_ns;
	}
}
#endif

/* ---- notices to the reader ---- */

static DEFINE_RAW_SPINLOCK(rtt_ring_lock);
static struct rtt_notice *rtt_ring;
static u32 rtt_ring_head, rtt_ring_tail;	/* head: next to read */
/* notices before this one are stale but for exit records (rtt_ring_flush) */
static u32 rtt_ring_fresh;
static u64 rtt_drop_viol, rtt_drop_worst, rtt_drop_exit;
atomic_t rtt_reader_open = ATOMIC_INIT(0);
DECLARE_WAIT_QUEUE_HEAD(rtt_read_wq);
static struct irq_work rtt_wake_work;

static void rtt_wake_fn(struct irq_work *w)
{
	wake_up_interruptible(&rtt_read_wq);
}

/* any context: false when the queue is full */
static bool rtt_ring_push(const struct rtt_notice *n)
{
	unsigned long flags;
	bool ok = false;

	rtt_raw_lock(&rtt_ring_lock, flags);
	if (rtt_ring_tail - rtt_ring_head < RTT_RING) {
		rtt_ring[rtt_ring_tail % RTT_RING] = *n;
		rtt_ring_tail++;
		ok = true;
	} else if (n->type == RTT_REC_VIOLATION) {
		rtt_drop_viol++;
	} else if (n->type == RTT_REC_WORST) {
		rtt_drop_worst++;
	} else if (n->type == RTT_REC_WINDOW) {
		rtt_drop_viol++;	/* an overrun is a violation */
	} else {
		rtt_drop_exit++;
	}
	rtt_raw_unlock(&rtt_ring_lock, flags);
	if (ok)
		irq_work_queue(&rtt_wake_work);
	return ok;
}

bool rtt_ring_pop(struct rtt_notice *n)
{
	unsigned long flags;
	bool ok = false;

	rtt_raw_lock(&rtt_ring_lock, flags);
	if (rtt_ring_head != rtt_ring_tail) {
		*n = rtt_ring[rtt_ring_head % RTT_RING];
		/* a flushed notice: type 0, which the reader skips */
		if ((s32)(rtt_ring_fresh - rtt_ring_head) > 0 &&
		    n->type != RTT_REC_TASK)
			n->type = 0;
		rtt_ring_head++;
		ok = true;
	}
	rtt_raw_unlock(&rtt_ring_lock, flags);
	return ok;
}

bool rtt_ring_empty(void)
{
	return READ_ONCE(rtt_ring_head) == READ_ONCE(rtt_ring_tail) &&
	       !READ_ONCE(rtt_drop_viol) && !READ_ONCE(rtt_drop_worst) &&
	       !READ_ONCE(rtt_drop_exit);
}

void rtt_ring_take_dropped(u64 *viol, u64 *worst, u64 *exits)
{
	unsigned long flags;

	rtt_raw_lock(&rtt_ring_lock, flags);
	*viol = rtt_drop_viol;
	*worst = rtt_drop_worst;
	*exits = rtt_drop_exit;
	rtt_drop_viol = 0;
	rtt_drop_worst = 0;
	rtt_drop_exit = 0;
	rtt_raw_unlock(&rtt_ring_lock, flags);
}

/* Forget queued violation/worst notices (a new reader starts fresh). */
void rtt_ring_flush(void)
{
	unsigned long flags;

	/* marked, not compacted: constant time with interrupts off */
	rtt_raw_lock(&rtt_ring_lock, flags);
	rtt_ring_fresh = rtt_ring_tail;
	rtt_drop_viol = 0;
	rtt_drop_worst = 0;
	rtt_raw_unlock(&rtt_ring_lock, flags);
}

/*
 * CLOCK_MONOTONIC of core time t, a little in the past: values may be
 * reported after they ended (a latency when the task leaves its CPU).
 */
static u64 rtt_mono_of(u64 t, u64 mono_now, u64 now)
{
	u64 ago = now > t ? now - t : 0;

	return mono_now > ago ? mono_now - ago : 0;
}

static const char rtt_nobody[RTT_COMM_LEN] = "-";

/* s->lock held: a window's overrun to tracefs and the reader (n: its slot) */
static void rtt_notify_window(struct rtt_slot *s, struct rtt_notice *n)
{
	const struct rtt_core *c = &s->core;
	const struct rtt_win_notice *wn;
	const struct rtt_worst *rep;
	bool cul;

	if (WARN_ON_ONCE(!c->wst))
		return;
	wn = &c->wst->wn;
	rep = &c->wst->rep[wn->what - 1];
	cul = rep->nr_culprits;

	trace_window_overrun(c->info.pid, c->info.comm, wn,
			     cul ? rep->culprits[0].pid : -1,
			     cul ? rep->culprits[0].comm : rtt_nobody);
	if (!atomic_read(&rtt_reader_open))
		return;
	n->type = RTT_REC_WINDOW;
	n->metric = wn->what;
	n->t_ns = wn->mono;
	n->value = wn->duration_ns;
	n->bound = wn->budget_ns;
	n->violations = wn->overruns;
	n->bd = wn->bd;
	n->tag = wn->tag;
	n->start_ns = wn->start_mono;
	n->late_ns = wn->late_ns;
	n->state = wn->state;
	n->depth = wn->depth;
	n->win_seq = wn->seq;
	n->nr_culprits = min_t(u32, rep->nr_culprits, RTT_CULPRITS);
	memcpy(n->culprits, rep->culprits, sizeof(n->culprits));
	rtt_ring_push(n);
}

/* s->lock held: report what the last core call asked for */
static noinline void rtt_notify_slow(struct rtt_slot *s)
{
	struct rtt_core *c = &s->core;
	u64 mono_now = ktime_get_mono_fast_ns(), now = rtt_now();
	u32 what = rtt_core_take_notify(c), m;
	struct rtt_notice n;

	rtt_refresh_live(s);	/* what it is called now */
	memset(&n, 0, sizeof(n));
	n.slot = s - rtt_slots;
	n.gen = s->gen;
	n.t_ns = mono_now;
	for (m = 0; m < RTT_NR_METRICS; m++) {
		if (!(what & (RTT_N_VIOLATION(m) | RTT_N_WORST(m))))
			continue;
		n.t_ns = rtt_mono_of(c->n_end[m], mono_now, now);
		if (what & RTT_N_VIOLATION(m)) {
			trace_rtt_violation(c->info.pid, c->info.comm, m,
					    c->n_value[m], c->m[m].bound_ns,
					    c->m[m].violations);
			if (atomic_read(&rtt_reader_open)) {
				n.type = RTT_REC_VIOLATION;
				n.metric = m;
				n.value = c->n_value[m];
				n.bound = c->m[m].bound_ns;
				n.violations = c->m[m].violations;
				n.bd = c->n_bd[m];
				rtt_ring_push(&n);
			}
		}
		if (what & RTT_N_WORST(m)) {
			c->m[m].worst_at_ns = n.t_ns;	/* CLOCK_MONOTONIC */
			trace_rtt_worst(c->info.pid, c->info.comm, m,
					c->n_value[m], c->worst[m].nr_events);
			if (atomic_read(&rtt_reader_open) &&
			    !(s->worst_queued & (1U << m))) {
				n.type = RTT_REC_WORST;
				n.metric = m;
				n.value = c->n_value[m];
				if (rtt_ring_push(&n))
					s->worst_queued |= 1U << m;
			}
		}
	}
	if (what & RTT_N_WINDOW)
		rtt_notify_window(s, &n);
	if (what & RTT_N_EXIT) {
		n.type = RTT_REC_TASK;
		n.metric = 0;
		n.t_ns = mono_now;
		rtt_ring_push(&n);
	}
}

static __always_inline void rtt_notify(struct rtt_slot *s)
{
	if (unlikely(s->core.notify))
		rtt_notify_slow(s);
}

/*
 * Switch-ins are applied late: the switch probe does not take the lock of
 * the task it switches in (rtt_core_switch_in_lazy()); the task's next
 * event, under the lock, applies it first. Whoever holds the lock for
 * another reason (a reader, the control plane, the reaper) applies it
 * with rtt_slot_catch_up(). A slot is reused only when no probe can still
 * be leaving a switch-in for the task it tracked before
 * (rtt_slots_recycle()).
 */

/* s->lock held: the core up to date, and what that recorded reported */
static void rtt_slot_catch_up(struct rtt_slot *s)
{
	if (s->task) {
		rtt_core_catch_up(&s->core);
		rtt_notify(s);
	}
}

/* Sleepers on this CPU's list that took no part in its last switch leave. */
static noinline void rtt_reap(struct rtt_watch *w, unsigned long r, int cpu)
{
	unsigned int i;

	for_each_set_bit(i, &r, RTT_WATCH) {
		struct rtt_slot *s = READ_ONCE(w->s[i]);

		w->sleepers &= ~BIT(i);
		if (!s)
			continue;
		rtt_slot_lock_irqoff(s);
		rtt_slot_catch_up(s);
		if (s->w_cpu == cpu && s->w_idx == i &&
		    (s->life != RTT_LIFE_ACTIVE || !rtt_core_watched(&s->core)))
			rtt_move_watch(s, -1);
		rtt_slot_unlock_irqoff(s);
	}
}

/* ---- probes ---- */

/* comm is read in place: racy against a rename, good enough for a report */
static __always_inline void rtt_who(struct task_struct *p, struct rtt_who *w)
{
	w->pid = p->pid;
	w->prio = p->prio;
	w->policy = p->policy;
	w->hardirq = false;
	w->comm = p->comm;
}

/*
 * The sleep cause of a blocking syscall, by number: one load on the switch
 * path. 0: none of these (RTT_STATE_SLEEP_OTHER).
 */
#define RTT_NR_SYS	512
static const u8 rtt_sys_cause[RTT_NR_SYS] = {
#ifdef __NR_nanosleep
	[__NR_nanosleep] = RTT_STATE_SLEEP_TIMER,
#endif
	[__NR_clock_nanosleep] = RTT_STATE_SLEEP_TIMER,
	[__NR_futex] = RTT_STATE_SLEEP_LOCK,
#ifdef __NR_futex_waitv
	[__NR_futex_waitv] = RTT_STATE_SLEEP_LOCK,
#endif
#ifdef __NR_futex_wait
	[__NR_futex_wait] = RTT_STATE_SLEEP_LOCK,
#endif
	[__NR_read] = RTT_STATE_SLEEP_IO,
	[__NR_write] = RTT_STATE_SLEEP_IO,
	[__NR_pread64] = RTT_STATE_SLEEP_IO,
	[__NR_pwrite64] = RTT_STATE_SLEEP_IO,
	[__NR_readv] = RTT_STATE_SLEEP_IO,
	[__NR_writev] = RTT_STATE_SLEEP_IO,
	[__NR_preadv] = RTT_STATE_SLEEP_IO,
	[__NR_pwritev] = RTT_STATE_SLEEP_IO,
	[__NR_preadv2] = RTT_STATE_SLEEP_IO,
	[__NR_pwritev2] = RTT_STATE_SLEEP_IO,
	[__NR_ioctl] = RTT_STATE_SLEEP_IO,
	[__NR_fsync] = RTT_STATE_SLEEP_IO,
	[__NR_fdatasync] = RTT_STATE_SLEEP_IO,
#ifdef __NR_poll
	[__NR_poll] = RTT_STATE_SLEEP_IO,
#endif
	[__NR_ppoll] = RTT_STATE_SLEEP_IO,
#ifdef __NR_select
	[__NR_select] = RTT_STATE_SLEEP_IO,
#endif
	[__NR_pselect6] = RTT_STATE_SLEEP_IO,
#ifdef __NR_epoll_wait
	[__NR_epoll_wait] = RTT_STATE_SLEEP_IO,
#endif
	[__NR_epoll_pwait] = RTT_STATE_SLEEP_IO,
	[__NR_epoll_pwait2] = RTT_STATE_SLEEP_IO,
	[__NR_recvfrom] = RTT_STATE_SLEEP_IO,
	[__NR_recvmsg] = RTT_STATE_SLEEP_IO,
	[__NR_sendto] = RTT_STATE_SLEEP_IO,
	[__NR_sendmsg] = RTT_STATE_SLEEP_IO,
};

/* The sleep cause of the native syscall p is in (-1 outside one). */
static __always_inline u8 rtt_sys_sleep(struct task_struct *p)
{
	unsigned long nr = syscall_get_nr(p, task_pt_regs(p));
	u8 cause = nr < RTT_NR_SYS ? rtt_sys_cause[nr] : 0;

	return cause ? cause : RTT_STATE_SLEEP_OTHER;
}

/* p runs 32-bit syscalls, numbered differently (in_compat_syscall() of p) */
static bool rtt_task_compat(struct task_struct *p)
{
#if defined(CONFIG_ARM64)
	return syscall_get_arch(p) != AUDIT_ARCH_AARCH64;
#elif defined(CONFIG_X86_64)
	return syscall_get_arch(p) != AUDIT_ARCH_X86_64;
#else
	return false;
#endif
}

/*
 * Why prev leaves the CPU. prev is current. Voluntary only when the
 * scheduler really blocks it: not a preemption, a non-running state, and
 * not turned back to running by a pending signal. The cause is the
 * syscall prev is in (no per-syscall hook). On PREEMPT_RT a sleeping
 * spinlock/rwlock waits in TASK_RTLOCK_WAIT; mutexes and rt_mutexes inside
 * a syscall count for that syscall (e.g. io for a read).
 */
static u8 rtt_classify(struct task_struct *prev, bool preempt,
		       unsigned int prev_state)
{
	if (preempt || !prev_state || READ_ONCE(prev->__state) == TASK_RUNNING)
		return RTT_STATE_PREEMPTED;
	if (prev_state & TASK_DEAD)
		return RTT_STATE_DEAD;
	if (prev_state & TASK_RTLOCK_WAIT)
		return RTT_STATE_SLEEP_LOCK;
	if (prev->flags & PF_KTHREAD)
		return RTT_STATE_SLEEP_OTHER;
	if (in_compat_syscall())	/* different numbers; not classified */
		return RTT_STATE_SLEEP_OTHER;
	return rtt_sys_sleep(prev);
}

/*
 * The sleep a task still executing on its CPU (p->on_cpu) was on its way
 * into when it was woken, as rtt_classify() would have said at its
 * switch-out: its syscall. p may run on another CPU; its syscall number
 * stays put while it is in the kernel. A waiter of an rt_mutex (PREEMPT_RT
 * spinlocks, mutexes, PI futexes; its TASK_RTLOCK_WAIT state is gone by
 * now) spins while the owner runs, and the owner's unlock wakes it there:
 * a lock handed over, not a sleep (RTT_ONCPU_HANDOFF). Rare: out of the
 * wakeup probe's way.
 */
static noinline u8 rtt_going_to(struct task_struct *p)
{
#ifdef CONFIG_RT_MUTEXES
	if (READ_ONCE(p->pi_blocked_on))
		return RTT_ONCPU_HANDOFF;
#endif
	if (p->flags & PF_KTHREAD)
		return RTT_STATE_SLEEP_OTHER;
	if (rtt_task_compat(p))
		return RTT_STATE_SLEEP_OTHER;
	return rtt_sys_sleep(p);
}

/* The tracked task p is switched out on this CPU (s->lock free). */
static __always_inline void rtt_switch_out_task(struct rtt_watch *w,
						struct rtt_slot *s,
						struct task_struct *p,
						u64 now, int cpu, u8 why)
{
	rtt_slot_lock_irqoff(s);
	if (likely(rtt_slot_tracks(s, p))) {
		rtt_core_switch_out(&s->core, now, cpu, why);
		/* it is on this CPU's list (found there) unless moved since */
		if (unlikely(s->w_cpu != cpu))
			rtt_sync_watch(s);
		/* asleep, it stays listed until the reaper looks */
		if (s->w_cpu == cpu)
			w->sleepers |= s->w_bit;
		rtt_notify(s);
	}
	rtt_slot_unlock_irqoff(s);
}

/*
 * The tracked task p is switched in on this CPU: left to its next event,
 * unless p is not where its slot says (a move the probes missed).
 */
static __always_inline void rtt_switch_in_task(struct rtt_slot *s,
					       struct task_struct *p,
					       u64 now, int cpu)
{
	if (likely(rtt_core_switch_in_lazy(&s->core, now, cpu)))
		return;
	rtt_slot_lock_irqoff(s);
	if (likely(rtt_slot_tracks(s, p))) {
		rtt_core_switch_in(&s->core, now, cpu);
		rtt_sync_watch(s);
		rtt_notify(s);
	}
	rtt_slot_unlock_irqoff(s);
}

/* The slot of task t on watch list w (entries in mask only), or NULL. */
static __always_inline struct rtt_slot *rtt_watch_find(struct rtt_watch *w,
							 unsigned long mask,
							 struct task_struct *t,
							 unsigned long *part)
{
	while (mask) {
		unsigned int i = __ffs(mask);
		struct rtt_slot *s = READ_ONCE(w->s[i]);

		mask &= mask - 1;
		if (s && READ_ONCE(s->task) == t) {
			*part |= BIT(i);
			return s;
		}
	}
	return NULL;
}

/* The bit of s on the watch list it was on (a hint: read without its lock) */
static __always_inline unsigned long rtt_watch_bit(const struct rtt_slot *s)
{
	return READ_ONCE(s->w_bit);
}

static __always_inline void rtt_switch_watched(struct rtt_watch *w,
					       unsigned long mask, bool preempt,
					       struct task_struct *prev,
					       struct task_struct *next,
					       unsigned int prev_state)
{
	struct rtt_slot *sp = w->cur, *sn = w->out;
	struct rtt_who wprev, wnext;
	int cpu = smp_processor_id();
	unsigned long part = 0;
	u64 now = rtt_now();
	u8 why;

	/*
	 * Hints before the search: prev is whom this CPU switched in last,
	 * and next is often whom it switched out last (tasks taking turns).
	 * A hint counts only if its slot still tracks the task. part (the
	 * slots in this switch) only spares sleepers from the reaper, which
	 * checks again under the slot's lock: a stale bit does no harm.
	 */
	if (sp && READ_ONCE(sp->task) == prev)
		part = rtt_watch_bit(sp);
	else
		sp = rtt_watch_find(w, mask, prev, &part);
	if (sn && READ_ONCE(sn->task) == next)
		part |= rtt_watch_bit(sn);
	else
		sn = rtt_watch_find(w, mask, next, &part);
	w->cur = sn;
	w->out = sp;
	why = rtt_classify(prev, preempt, prev_state);
	rtt_who(prev, &wprev);
	rtt_who(next, &wnext);
	rtt_cpulog_switch(w->log, now, &wprev, why, &wnext);
	if (sp)
		rtt_switch_out_task(w, sp, prev, now, cpu, why);
	if (sn)
		rtt_switch_in_task(sn, next, now, cpu);
	if (unlikely(w->sleepers & ~part))
		rtt_reap(w, w->sleepers & ~part, cpu);
}

static notrace void rtt_probe_switch(void *data, bool preempt,
				     struct task_struct *prev,
				     struct task_struct *next,
				     unsigned int prev_state)
{
	struct rtt_watch *w = this_cpu_ptr(&rtt_watch);
	unsigned long mask = READ_ONCE(w->mask);

	if (likely(!mask))
		return;
	rtt_switch_watched(w, mask, preempt, prev, next, prev_state);
}

static notrace void rtt_probe_wakeup(void *data, struct task_struct *p)
{
	struct rtt_slot *s;
	struct rtt_who waker;
	unsigned long flags;
	u8 on_cpu;

	if (likely(!atomic_read(&rtt_nr_live)))
		return;
	/*
	 * Often the task this CPU switched out last (tasks taking turns): a
	 * hint, good if its slot still tracks p.
	 */
	s = READ_ONCE(this_cpu_ptr(&rtt_watch)->out);
	if (!s || READ_ONCE(s->task) != p) {
		s = rtt_lookup(p);
		if (!s)
			return;
	}
	rtt_who(current, &waker);
	/*
	 * A hard IRQ handler or an hrtimer expiring in hard IRQ context (an
	 * RT task's nanosleep on PREEMPT_RT): current was only interrupted.
	 */
	waker.hardirq = in_hardirq();
#ifdef CONFIG_SMP
	on_cpu = READ_ONCE(p->on_cpu);
#else
	on_cpu = p == current;
#endif
	/* still executing on its way to sleep: into which sleep */
	if (unlikely(on_cpu))
		on_cpu = rtt_going_to(p);
	rtt_slot_lock(s, &flags);
	if (rtt_slot_tracks(s, p)) {
		rtt_core_wakeup(&s->core, rtt_now(), task_cpu(p), &waker,
				on_cpu);
		rtt_sync_watch(s);
		rtt_notify(s);
	}
	rtt_slot_unlock(s, flags);
}

static notrace void rtt_probe_migrate(void *data, struct task_struct *p,
				      int dest)
{
	struct rtt_slot *s;
	unsigned long flags;

	if (likely(!atomic_read(&rtt_nr_live)))
		return;
	s = rtt_lookup(p);
	if (!s)
		return;
	rtt_slot_lock(s, &flags);
	if (rtt_slot_tracks(s, p)) {
		rtt_core_migrate(&s->core, rtt_now(), task_cpu(p), dest);
		rtt_sync_watch(s);
	}
	rtt_slot_unlock(s, flags);
}

/* One line per task for the kernel log. */
static void rtt_log_summary(const char *why, const struct rtt_report *r)
{
	const struct rtt_metric_stats *m = r->m;
	const struct rtt_task_info *t = &r->info;

	pr_info("%s pid=%d tgid=%d comm=%s lat_count=%llu lat_max_ns=%llu lat_viol=%llu resp_count=%llu resp_max_ns=%llu resp_viol=%llu relief_count=%llu relief_max_ns=%llu relief_viol=%llu events_dropped=%llu\n",
		why, t->pid, t->tgid, t->comm,
		m[0].count, m[0].max_ns, m[0].violations,
		m[1].count, m[1].max_ns, m[1].violations,
		m[2].count, m[2].max_ns, m[2].violations, r->events_dropped);
}

/*
 * The exit probe only marks the slot (exit_unlogged) and kicks the
 * housekeeping work, which logs the summary (rtt_log_exits()): no printk
 * on the exit path of a tracked task.
 */
static notrace void rtt_probe_exit(void *data, struct task_struct *p)
{
	struct rtt_window *w;
	struct rtt_slot *s;
	unsigned long flags;

	if (likely(!atomic_read(&rtt_nr_live)))
		return;
	s = rtt_lookup(p);
	if (!s)
		return;
	rtt_raw_lock(&rtt_tbl_lock, flags);
	if (READ_ONCE(s->task) != p) {
		rtt_raw_unlock(&rtt_tbl_lock, flags);
		return;
	}
	rtt_tbl_remove(s);
	atomic_dec(&rtt_nr_live);
	rtt_slot_lock_irqoff(s);
	if (s->core.info.flags & RTT_F_IRQ_THREAD)
		atomic_dec(&rtt_nr_irq);
	rtt_refresh(s, p);
	rtt_core_exit(&s->core, rtt_now());
	w = rtt_win_detach(s);
	s->life = RTT_LIFE_EXITED;
	WRITE_ONCE(s->exit_unlogged, true);
	s->task = NULL;
	rtt_sync_watch(s);
	rtt_notify(s);
	rtt_slot_unlock_irqoff(s);
	rtt_raw_unlock(&rtt_tbl_lock, flags);
	/* a deadline timer of its window is done with before the task is */
	rtt_win_release(w);
	irq_work_queue(&rtt_house_iw);
}

/* rtt_tbl_lock held: a free slot, or NULL */
static struct rtt_slot *rtt_slot_get(void)
{
	struct rtt_slot *s = rtt_free_list;

	if (s)
		rtt_free_list = s->next_free;
	return s;
}

/*
 * rtt_tbl_lock held, s taken from the free list (initialized): make p
 * tracked. Fails with -ESRCH when p is already exiting (its exit probe may
 * have run before it was in the table).
 */
static int rtt_slot_track(struct rtt_slot *s, struct task_struct *p, u32 kind,
			  u32 flags, s32 irq,
			  const struct rtt_settings *inherit)
{
	struct rtt_task_info *t = &s->core.info;

	if (p->flags & PF_EXITING)
		return -ESRCH;
	rtt_slot_lock_irqoff(s);
	s->task = p;
	s->gen++;
	s->worst_queued = 0;
	t->pid = p->pid;
	t->tgid = p->tgid;
	t->kind = kind;
	t->irq = irq;
	t->flags = flags;
	t->start_ns = p->start_time;
	rtt_refresh(s, p);
	if (inherit)
		rtt_core_apply_settings(&s->core, inherit);
	s->core.irq_handler_tp = (flags & RTT_F_IRQ_THREAD) && rtt_have_irqh_tp;
	s->life = RTT_LIFE_ACTIVE;
	rtt_slot_unlock_irqoff(s);
	rtt_tbl_insert(rtt_tbl, s);
	atomic_inc(&rtt_nr_live);
	if (flags & RTT_F_IRQ_THREAD)
		atomic_inc(&rtt_nr_irq);
	return 0;
}

static notrace void rtt_probe_fork(void *data, struct task_struct *parent,
				   struct task_struct *child)
{
	struct rtt_settings set[RTT_NR_METRICS];
	struct rtt_slot *ps, *s;
	unsigned long flags;
	u32 tflags;

	if (likely(!atomic_read(&rtt_nr_live)))
		return;
	if (child->tgid != parent->tgid)
		return;		/* a new process, not a thread */
	/* lockless first: threads created anywhere take no global lock */
	ps = rtt_lookup(parent);
	if (!ps || READ_ONCE(ps->core.info.kind) != RTT_TRACK_TGID)
		return;
	rtt_raw_lock(&rtt_tbl_lock, flags);
	/* again, under the lock: the parent may have exited or been deleted */
	if (READ_ONCE(ps->task) != parent ||
	    ps->core.info.kind != RTT_TRACK_TGID || rtt_lookup(child)) {
		rtt_raw_unlock(&rtt_tbl_lock, flags);
		return;
	}
	s = rtt_slot_get();
	if (!s) {
		rtt_fork_overflow++;
		rtt_raw_unlock(&rtt_tbl_lock, flags);
		pr_warn_ratelimited("capacity %u reached: new thread %d of tgid %d not tracked\n",
				    rtt_capacity, child->pid, child->tgid);
		return;
	}
	/* settings of the parent (one slot lock at a time) */
	rtt_slot_lock_irqoff(ps);
	rtt_core_get_settings(&ps->core, set);
	tflags = ps->core.info.flags & RTT_F_TRACE;
	rtt_slot_unlock_irqoff(ps);
	if (rtt_slot_track(s, child, RTT_TRACK_TGID, tflags, -1, set)) {
		s->next_free = rtt_free_list;
		rtt_free_list = s;
	}
	rtt_raw_unlock(&rtt_tbl_lock, flags);
}

static void rtt_irq_event(int irq, struct irqaction *action, bool entry)
{
	struct rtt_slot *s;
	struct task_struct *t;
	unsigned long flags;

	if (likely(!atomic_read(&rtt_nr_irq)) || !action)
		return;
	t = READ_ONCE(action->thread);
	if (!t)
		return;
	s = rtt_lookup(t);
	if (!s)
		return;
	rtt_slot_lock(s, &flags);
	if (rtt_slot_tracks(s, t) && s->core.info.irq == irq) {
		if (entry)
			rtt_core_irq_entry(&s->core, rtt_now(),
					   smp_processor_id(), irq);
		else
			rtt_core_irq_exit(&s->core, rtt_now(),
					  smp_processor_id(), irq);
	}
	rtt_slot_unlock(s, flags);
}

/*
 * IRQ metrics, on PREEMPT_RT where every device IRQ is threaded (the model
 * is rtt_core.c's; this glue only forwards events):
 *  irq_delay = irq_handler_entry(N) -> the IRQ thread's switch-in, or
 *    with the irq_thread tracepoints (kernel-patches/linux/0001) -> its
 *    irq_thread_handler_entry. Exact between those two tracepoints; the
 *    hardware-to-entry time is not seen.
 *  irq = thread switch-in -> its next voluntary switch-out (derived: the
 *    thread's own overhead and every handler run of the activation), or
 *    irq_thread_handler_entry -> _exit, each handler run exactly.
 */
static notrace void rtt_probe_irq_entry(void *data, int irq,
					struct irqaction *action)
{
	rtt_irq_event(irq, action, true);
}

static notrace void rtt_probe_irq_exit(void *data, int irq,
				       struct irqaction *action, int ret)
{
	rtt_irq_event(irq, action, false);
}

/* In the IRQ thread itself, around action->thread_fn. */
static void rtt_irqh_event(int irq, bool entry)
{
	struct task_struct *t = current;
	struct rtt_slot *s;
	unsigned long flags;

	if (likely(!atomic_read(&rtt_nr_irq)))
		return;
	s = rtt_lookup(t);
	if (!s)
		return;
	rtt_slot_lock(s, &flags);
	if (rtt_slot_tracks(s, t) && s->core.info.irq == irq) {
		if (entry)
			rtt_core_irq_handler_entry(&s->core, rtt_now());
		else
			rtt_core_irq_handler_exit(&s->core, rtt_now());
	}
	rtt_slot_unlock(s, flags);
}

static notrace void rtt_probe_irqh_entry(void *data, int irq,
					 struct irqaction *action)
{
	rtt_irqh_event(irq, true);
}

static notrace void rtt_probe_irqh_exit(void *data, int irq,
					struct irqaction *action, int ret)
{
	rtt_irqh_event(irq, false);
}

struct rtt_tp {
	const char *name;
	void *probe;
	struct tracepoint *tp;
	const char *missing;	/* NULL: required; else what it costs */
	bool registered;
};

/* rtt_tps[]: required ones, then irq_handler_*, then irq_thread_handler_* */
#define RTT_TP_IRQ	6
#define RTT_TP_IRQH	8

static struct rtt_tp rtt_tps[] = {
	{ "sched_wakeup", rtt_probe_wakeup },
	{ "sched_wakeup_new", rtt_probe_wakeup },
	{ "sched_switch", rtt_probe_switch },
	{ "sched_migrate_task", rtt_probe_migrate },
	{ "sched_process_exit", rtt_probe_exit },
	{ "sched_process_fork", rtt_probe_fork },
	{ "irq_handler_entry", rtt_probe_irq_entry, NULL, "IRQ metrics off" },
	{ "irq_handler_exit", rtt_probe_irq_exit, NULL, "IRQ metrics off" },
	{ "irq_thread_handler_entry", rtt_probe_irqh_entry, NULL,
	  "IRQ metrics derived from the IRQ thread's scheduling" },
	{ "irq_thread_handler_exit", rtt_probe_irqh_exit, NULL,
	  "IRQ metrics derived from the IRQ thread's scheduling" },
};

static void rtt_find_tp(struct tracepoint *tp, void *priv)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(rtt_tps); i++)
		if (!rtt_tps[i].tp && !strcmp(tp->name, rtt_tps[i].name))
			rtt_tps[i].tp = tp;
}

/*
 * The probes are registered only while something is tracked: with nothing
 * tracked the module costs nothing on the scheduler's paths (the
 * tracepoints stay disabled unless someone else uses them).
 */
static bool rtt_probes_on;	/* rtt_ctl_mutex */

/*
 * Called before other probes of the same tracepoints (ftrace, BPF), so
 * their cost never lands between an event and its timestamp, whichever
 * was registered first.
 */
#define RTT_TP_PRIO	(TRACEPOINT_DEFAULT_PRIO + 1)

static void rtt_unregister_probes(void)
{
	unsigned int i;

	for (i = 0; i < ARRAY_SIZE(rtt_tps); i++) {
		if (rtt_tps[i].registered)
			tracepoint_probe_unregister(rtt_tps[i].tp,
						    rtt_tps[i].probe, NULL);
		rtt_tps[i].registered = false;
	}
	tracepoint_synchronize_unregister();
	rtt_probes_on = false;
}

static int rtt_register_probes(void)
{
	unsigned int i;
	int ret;

	for (i = 0; i < ARRAY_SIZE(rtt_tps); i++) {
		if (!rtt_tps[i].tp)
			continue;	/* optional, reported at load */
		ret = tracepoint_probe_register_prio(rtt_tps[i].tp,
						     rtt_tps[i].probe, NULL,
						     RTT_TP_PRIO);
		if (ret) {
			pr_err("cannot register on %s: %d\n",
			       rtt_tps[i].name, ret);
			rtt_unregister_probes();
			return ret;
		}
		rtt_tps[i].registered = true;
	}
	rtt_probes_on = true;
	return 0;
}

/* rtt_ctl_mutex held: probes on exactly while a task is tracked */
static void rtt_probes_sync(void)
{
	if (!atomic_read(&rtt_nr_live) && rtt_probes_on)
		rtt_unregister_probes();
}

/* at load: every tracepoint the module needs is there */
static int rtt_find_probes(void)
{
	unsigned int i;

	for_each_kernel_tracepoint(rtt_find_tp, NULL);
	for (i = 0; i < ARRAY_SIZE(rtt_tps); i++) {
		if (rtt_tps[i].tp)
			continue;
		if (!rtt_tps[i].missing) {
			pr_err("tracepoint %s not found\n", rtt_tps[i].name);
			return -ENOENT;
		}
		/* the irq_thread ones exist only in a patched kernel */
		if (i < RTT_TP_IRQH)
			pr_warn("tracepoint %s not found, %s\n",
				rtt_tps[i].name, rtt_tps[i].missing);
	}
	rtt_have_irq_tp = rtt_tps[RTT_TP_IRQ].tp && rtt_tps[RTT_TP_IRQ + 1].tp;
	/* both, or neither: a run is timed between the two */
	rtt_have_irqh_tp = rtt_have_irq_tp && rtt_tps[RTT_TP_IRQH].tp &&
			   rtt_tps[RTT_TP_IRQH + 1].tp;
	if (!rtt_have_irqh_tp) {
		rtt_tps[RTT_TP_IRQH].tp = NULL;
		rtt_tps[RTT_TP_IRQH + 1].tp = NULL;
	}
	return 0;
}

/* ---- control plane ---- */

/*
 * rtt_ctl_mutex held: s (reported, if its exit was not yet) stops tracking
 * and waits on the retired list for rtt_slots_recycle(). Returns whether
 * s tracked a live task.
 */
static bool rtt_slot_retire(struct rtt_slot *s)
{
	struct rtt_win_store *st;
	struct rtt_window *w;
	unsigned long flags;
	bool live;

	lockdep_assert_held(&rtt_ctl_mutex);
	if (READ_ONCE(s->life) == RTT_LIFE_FREE)
		return false;
	if (READ_ONCE(s->exit_unlogged))
		rtt_log_exit(s);
	rtt_raw_lock(&rtt_tbl_lock, flags);
	if (s->life == RTT_LIFE_FREE) {
		rtt_raw_unlock(&rtt_tbl_lock, flags);
		return false;
	}
	live = s->life == RTT_LIFE_ACTIVE;
	if (live) {
		rtt_tbl_remove(s);
		atomic_dec(&rtt_nr_live);
		if (s->core.info.flags & RTT_F_IRQ_THREAD)
			atomic_dec(&rtt_nr_irq);
	}
	rtt_slot_lock_irqoff(s);
	rtt_core_window_abandon(&s->core);
	w = rtt_win_detach(s);
	/* with life FREE in the same section: no reader sees it after */
	st = rtt_core_take_win_store(&s->core);
	s->life = RTT_LIFE_FREE;
	s->task = NULL;
	s->worst_queued = 0;
	s->exit_unlogged = false;
	rtt_sync_watch(s);
	rtt_slot_unlock_irqoff(s);
	rtt_raw_unlock(&rtt_tbl_lock, flags);
	rtt_win_release(w);
	rtt_wst_put(st);
	rtt_iface_forget(s);
	s->next_free = rtt_retired;
	rtt_retired = s;
	return live;
}

/*
 * rtt_ctl_mutex held: the retired slots reinitialized and free again.
 * after_live: some tracked a live task. Those wait a grace period first:
 * a switch probe may have found one for its task just before and still be
 * about to leave it a switch-in, which must not reach the next task. The
 * large core is reset outside any lock: a FREE slot is only ever looked
 * at under its lock by code that checks life or task first.
 */
static void rtt_slots_recycle(bool after_live)
{
	unsigned long flags;
	struct rtt_slot *s;

	lockdep_assert_held(&rtt_ctl_mutex);
	if (after_live)
		synchronize_rcu();
	while ((s = rtt_retired)) {
		rtt_retired = s->next_free;
		WARN_ON_ONCE(s->core.wst);	/* rtt_slot_retire() took it */
		rtt_core_init(&s->core);
		rtt_raw_lock(&rtt_tbl_lock, flags);
		s->next_free = rtt_free_list;
		rtt_free_list = s;
		rtt_raw_unlock(&rtt_tbl_lock, flags);
	}
}

/* rtt_ctl_mutex held: s stops tracking and is free again */
void rtt_slot_release(struct rtt_slot *s)
{
	rtt_slots_recycle(rtt_slot_retire(s));
}

/*
 * What readers show of slot s, copied under its lock in pieces (the
 * identity, then each metric), so interrupts are off only for a short
 * copy each time. false: s is FREE, or was reused while being read.
 */
bool rtt_slot_report(struct rtt_slot *s, struct rtt_report *r, u32 *gen,
		     u8 *life)
{
	unsigned long flags;
	u32 g, m;
	bool ok;

	rtt_slot_lock(s, &flags);
	rtt_slot_catch_up(s);
	rtt_refresh_live(s);
	ok = s->life != RTT_LIFE_FREE;
	g = s->gen;
	if (life)
		*life = s->life;
	if (ok)
		rtt_core_report_head(&s->core, r);
	rtt_slot_unlock(s, flags);
	for (m = 0; ok && m < RTT_NR_METRICS; m++) {
		rtt_slot_lock(s, &flags);
		ok = s->gen == g && s->life != RTT_LIFE_FREE;
		if (ok)
			rtt_core_report_metric(&s->core, m, r);
		rtt_slot_unlock(s, flags);
	}
	if (ok) {
		rtt_slot_lock(s, &flags);
		ok = s->gen == g && s->life != RTT_LIFE_FREE;
		if (ok)
			rtt_core_report_win_head(&s->core, r);
		rtt_slot_unlock(s, flags);
	}
	for (m = 0; ok && r->win_used && m < RTT_WIN_TAGS; m++) {
		rtt_slot_lock(s, &flags);
		ok = s->gen == g && s->life != RTT_LIFE_FREE;
		if (ok)
			rtt_core_report_win(&s->core, m, r);
		rtt_slot_unlock(s, flags);
	}
	if (gen)
		*gen = g;
	return ok;
}

/* rtt_ctl_mutex held: the kernel log's line for an exited task, once */
static void rtt_log_exit(struct rtt_slot *s)
{
	struct rtt_report *r = kmalloc(sizeof(*r), GFP_KERNEL);
	u8 life;

	lockdep_assert_held(&rtt_ctl_mutex);
	WRITE_ONCE(s->exit_unlogged, false);
	if (r && rtt_slot_report(s, r, NULL, &life) && life == RTT_LIFE_EXITED)
		rtt_log_summary("exit", r);
	kfree(r);
}

/* rtt_ctl_mutex held: every exit not yet in the kernel log */
static void rtt_log_exits(void)
{
	unsigned int i;

	for (i = 0; i < rtt_capacity; i++)
		if (READ_ONCE(rtt_slots[i].exit_unlogged))
			rtt_log_exit(&rtt_slots[i]);
}

/* rtt_ctl_mutex held: the oldest exited record, to make room */
static struct rtt_slot *rtt_oldest_exited(void)
{
	struct rtt_slot *best = NULL;
	unsigned int i;

	for (i = 0; i < rtt_capacity; i++) {
		struct rtt_slot *s = &rtt_slots[i];

		if (s->life == RTT_LIFE_EXITED &&
		    (!best || s->core.exit_ns < best->core.exit_ns))
			best = s;
	}
	return best;
}

/* rtt_ctl_mutex held */
static int rtt_track_one(struct task_struct *p, u32 kind, u32 flags, s32 irq)
{
	struct rtt_slot *s;
	unsigned long irqf;
	int ret;

	for (;;) {
		rtt_raw_lock(&rtt_tbl_lock, irqf);
		if (rtt_lookup(p)) {
			rtt_raw_unlock(&rtt_tbl_lock, irqf);
			return -EEXIST;
		}
		s = rtt_slot_get();
		if (s)
			break;
		rtt_raw_unlock(&rtt_tbl_lock, irqf);
		s = rtt_oldest_exited();
		if (!s)
			return -ENOSPC;
		rtt_slot_release(s);
	}
	ret = rtt_slot_track(s, p, kind, flags, irq, NULL);
	if (ret) {
		s->next_free = rtt_free_list;
		rtt_free_list = s;
	}
	rtt_raw_unlock(&rtt_tbl_lock, irqf);
	return ret;
}

static struct task_struct *rtt_irq_thread(int irq)
{
	struct task_struct *t = NULL;
	struct irqaction *a;
	struct irq_data *d;
	struct irq_desc *desc;
	unsigned long flags;

	d = irq_get_irq_data(irq);
	if (!d)
		return ERR_PTR(-EINVAL);
	desc = irq_data_to_desc(d);
	rtt_raw_lock(&desc->lock, flags);
	for (a = desc->action; a; a = a->next) {
		if (a->thread) {
			t = a->thread;
			get_task_struct(t);
			break;
		}
	}
	rtt_raw_unlock(&desc->lock, flags);
	return t ? t : ERR_PTR(-ENXIO);
}

static struct task_struct *rtt_get_task(s32 pid)
{
	struct task_struct *p;

	rcu_read_lock();
	p = pid_task(find_vpid(pid), PIDTYPE_PID);
	if (p)
		get_task_struct(p);
	rcu_read_unlock();
	return p;
}

int rtt_ctl_add(u32 kind, s32 id, u32 flags)
{
	struct task_struct *p, *t;
	int ret = 0, n = 0;

	if (id < 0 || (flags & ~RTT_F_TRACE))
		return -EINVAL;
	mutex_lock(&rtt_ctl_mutex);
	rtt_tbl_rebuild();
	/* before the task is in the table: no event of it is missed */
	ret = rtt_probes_on ? 0 : rtt_register_probes();
	if (ret) {
		mutex_unlock(&rtt_ctl_mutex);
		return ret;
	}
	switch (kind) {
	case RTT_TRACK_PID:
		p = rtt_get_task(id);
		if (!p) {
			ret = -ESRCH;
			break;
		}
		ret = rtt_track_one(p, kind, flags, -1);
		put_task_struct(p);
		break;
	case RTT_TRACK_TGID:
		p = rtt_get_task(id);
		if (!p || p->tgid != id) {
			ret = -ESRCH;
			if (p)
				put_task_struct(p);
			break;
		}
		rcu_read_lock();
		for_each_thread(p, t) {
			ret = rtt_track_one(t, kind, flags, -1);
			if (ret == -EEXIST || ret == -ESRCH)
				ret = 0;	/* already tracked / exiting */
			if (ret)
				break;
			n++;
		}
		rcu_read_unlock();
		put_task_struct(p);
		if (!ret && !n)
			ret = -EEXIST;
		break;
	case RTT_TRACK_IRQ:
		p = rtt_irq_thread(id);
		if (IS_ERR(p)) {
			ret = PTR_ERR(p);
			break;
		}
		ret = rtt_track_one(p, kind, flags | RTT_F_IRQ_THREAD, id);
		put_task_struct(p);
		break;
	default:
		ret = -EINVAL;
	}
	rtt_probes_sync();
	mutex_unlock(&rtt_ctl_mutex);
	return ret;
}

/* rtt_ctl_mutex held: the slot of pid, an ACTIVE one first */
static struct rtt_slot *rtt_find_pid(s32 pid)
{
	struct rtt_slot *found = NULL;
	unsigned int i;

	for (i = 0; i < rtt_capacity; i++) {
		struct rtt_slot *s = &rtt_slots[i];

		if (s->life == RTT_LIFE_FREE || s->core.info.pid != pid)
			continue;
		if (s->life == RTT_LIFE_ACTIVE)
			return s;
		found = s;
	}
	return found;
}

/* Stop tracking: kind PID: that pid; TGID: every thread; IRQ: its thread. */
int rtt_ctl_del(u32 kind, s32 id)
{
	struct rtt_report *r;
	struct rtt_slot *s;
	bool live = false;
	unsigned int i;
	int n = 0;

	r = kmalloc(sizeof(*r), GFP_KERNEL);
	mutex_lock(&rtt_ctl_mutex);
	for (i = 0; i < rtt_capacity; i++) {
		s = &rtt_slots[i];
		if (kind == RTT_TRACK_PID)
			s = rtt_find_pid(id);
		else if (s->life == RTT_LIFE_FREE ||
			 (kind == RTT_TRACK_TGID && s->core.info.tgid != id) ||
			 (kind == RTT_TRACK_IRQ && s->core.info.irq != id))
			continue;
		if (!s)
			break;
		if (r && rtt_slot_report(s, r, NULL, NULL))
			rtt_log_summary("del", r);
		live |= rtt_slot_retire(s);
		n++;
		if (kind == RTT_TRACK_PID)
			break;
	}
	if (n)
		rtt_slots_recycle(live);
	rtt_probes_sync();
	mutex_unlock(&rtt_ctl_mutex);
	kfree(r);
	return n ? 0 : -ENOENT;
}

int rtt_ctl_bound(s32 pid, u32 metric, u64 bound_ns)
{
	struct rtt_slot *s;
	unsigned long flags;

	if (metric >= RTT_NR_METRICS)
		return -EINVAL;
	mutex_lock(&rtt_ctl_mutex);
	s = rtt_find_pid(pid);
	if (s) {
		rtt_slot_lock(s, &flags);
		rtt_slot_catch_up(s);
		rtt_core_set_bound(&s->core, metric, bound_ns);
		rtt_slot_unlock(s, flags);
	}
	mutex_unlock(&rtt_ctl_mutex);
	return s ? 0 : -ENOENT;
}

int rtt_ctl_lin(s32 pid, u32 metric, u64 lo_ns, u64 step_ns)
{
	struct rtt_slot *s;
	unsigned long flags;
	int ret = -ENOENT;

	if (metric >= RTT_NR_METRICS)
		return -EINVAL;
	mutex_lock(&rtt_ctl_mutex);
	s = rtt_find_pid(pid);
	if (s) {
		rtt_slot_lock(s, &flags);
		rtt_slot_catch_up(s);
		ret = rtt_core_set_lin(&s->core, metric, lo_ns, step_ns) ?
		      -ERANGE : 0;
		rtt_slot_unlock(s, flags);
	}
	mutex_unlock(&rtt_ctl_mutex);
	return ret;
}

void rtt_ctl_reset(void)
{
	bool live = false;
	unsigned int i;

	mutex_lock(&rtt_ctl_mutex);
	for (i = 0; i < rtt_capacity; i++)
		live |= rtt_slot_retire(&rtt_slots[i]);
	rtt_slots_recycle(live);
	rtt_tbl_rebuild();
	rtt_probes_sync();
	mutex_unlock(&rtt_ctl_mutex);
}

/* ---- budget windows ---- */

/*
 * A window's model is the core's (rtt_core_window_*(), under the slot
 * lock); here its deadline: an hrtimer in hard IRQ context (it fires on
 * PREEMPT_RT however loaded the system is), from a pool set up at load.
 * A slot's open window holds one (s->win); whoever ends the window (its
 * STOP, the task's exit, untracking, unload) detaches it under the slot
 * lock, then cancels the timer without that lock (the callback takes it)
 * and returns it to the pool: no timer of a window outlives it, and a
 * callback that raced with the end finds s->win changed and does nothing.
 */
unsigned int rtt_max_windows = 64;
module_param_named(max_windows, rtt_max_windows, uint, 0444);
MODULE_PARM_DESC(max_windows, "budget windows open at once at most (1..4096, default 64)");

static struct rtt_window *rtt_windows;
static struct rtt_window *rtt_win_free;
static unsigned int rtt_win_used;
/* pools (windows, stores), owners, wfile counts */
static DEFINE_RAW_SPINLOCK(rtt_win_lock);

/*
 * The windows' statistics and reports of a task (struct rtt_win_store)
 * come from a pool of window_tasks, taken at its first START: a task that
 * never starts a window costs none of it. The record keeps it after the
 * task exits (its window statistics stay readable in `tasks`) until the
 * slot is retired (DEL, reset, a reader collecting the exit record, slot
 * reuse) or, the pool empty, a START takes it (rtt_wst_reclaim()).
 */
unsigned int rtt_window_tasks = 2;
module_param_named(window_tasks, rtt_window_tasks, uint, 0444);
MODULE_PARM_DESC(window_tasks, "tasks with budget window statistics at once at most (1..capacity, default 2)");

struct rtt_wstore {
	struct rtt_win_store st;
	struct rtt_wstore *next_free;
};

static struct rtt_wstore *rtt_wstores;
static struct rtt_wstore *rtt_wst_free;
static unsigned int rtt_wst_used;

unsigned int rtt_window_tasks_in_use(void)
{
	return READ_ONCE(rtt_wst_used);
}

/* Any context: a store from the pool, or NULL */
static struct rtt_win_store *rtt_wst_pop(void)
{
	struct rtt_wstore *ws;
	unsigned long flags;

	rtt_raw_lock(&rtt_win_lock, flags);
	ws = rtt_wst_free;
	if (ws) {
		rtt_wst_free = ws->next_free;
		WRITE_ONCE(rtt_wst_used, rtt_wst_used + 1);
	}
	rtt_raw_unlock(&rtt_win_lock, flags);
	return ws ? &ws->st : NULL;
}

/* Any context: st (reachable from no core any more; NULL: none) back */
static void rtt_wst_put(struct rtt_win_store *st)
{
	struct rtt_wstore *ws;
	unsigned long flags;

	if (!st)
		return;
	ws = container_of(st, struct rtt_wstore, st);
	rtt_raw_lock(&rtt_win_lock, flags);
	ws->next_free = rtt_wst_free;
	rtt_wst_free = ws;
	WRITE_ONCE(rtt_wst_used, rtt_wst_used - 1);
	rtt_raw_unlock(&rtt_win_lock, flags);
}

/*
 * rtt_ctl_mutex held: the store of the oldest exited record that has one,
 * taken from it (its windows no longer shown), else that of a task already
 * exiting, or NULL. Under the mutex an EXITED slot stays EXITED and nothing
 * else gives or takes its store.
 */
static struct rtt_win_store *rtt_wst_reclaim(void)
{
	struct rtt_slot *best = NULL;
	struct rtt_win_store *st = NULL;
	unsigned long flags;
	unsigned int i;

	lockdep_assert_held(&rtt_ctl_mutex);
	for (i = 0; i < rtt_capacity; i++) {
		struct rtt_slot *s = &rtt_slots[i];

		if (READ_ONCE(s->life) == RTT_LIFE_EXITED && s->core.wst &&
		    (!best || s->core.exit_ns < best->core.exit_ns))
			best = s;
	}
	if (best) {
		rtt_slot_lock(best, &flags);
		st = rtt_core_take_win_store(&best->core);
		rtt_slot_unlock(best, flags);
		return st;
	}
	/*
	 * A thread's joiner runs once its exit has cleared its tid, before
	 * the exit probe: exiting, it starts no window again. Its task_struct
	 * stays valid while the slot lock keeps the exit probe out.
	 */
	for (i = 0; !st && i < rtt_capacity; i++) {
		struct rtt_slot *s = &rtt_slots[i];

		rtt_slot_lock(s, &flags);
		if (s->task && s->core.wst && (s->task->flags & PF_EXITING))
			st = rtt_core_take_win_store(&s->core);
		rtt_slot_unlock(s, flags);
	}
	return st;
}

/* Process context, no lock held: a store for a task's first START */
static struct rtt_win_store *rtt_wst_get(void)
{
	struct rtt_win_store *st = rtt_wst_pop();

	if (st)
		return st;
	mutex_lock(&rtt_ctl_mutex);
	st = rtt_wst_reclaim();
	mutex_unlock(&rtt_ctl_mutex);
	if (!st)
		pr_info_ratelimited("START refused (ENOSPC): all window_tasks=%u stores in use by tracked tasks\n",
				    rtt_window_tasks);
	return st;
}

/* A deadline is start + budget in CLOCK_MONOTONIC's ktime: bounded. */
#define RTT_WIN_BUDGET_MAX	((u64)KTIME_MAX / 2)

unsigned int rtt_windows_in_use(void)
{
	return READ_ONCE(rtt_win_used);
}

/* The pool's timers that are queued or running: 0 with no window open. */
unsigned int rtt_timers_armed(void)
{
	unsigned int i, n = 0;

	for (i = 0; i < rtt_max_windows; i++)
		n += hrtimer_active(&rtt_windows[i].timer);
	return n;
}

/* interrupts off: a window for the file wf, or NULL */
static struct rtt_window *rtt_win_get(struct rtt_wfile *wf)
{
	struct rtt_window *w;

	raw_spin_lock(&rtt_win_lock);
	w = rtt_win_free;
	if (w) {
		rtt_win_free = w->next_free;
		w->owner = wf;
		WRITE_ONCE(rtt_win_used, rtt_win_used + 1);
	}
	raw_spin_unlock(&rtt_win_lock);
	return w;
}

/* s->lock held: the window's deadline off the slot (release it after) */
static struct rtt_window *rtt_win_detach(struct rtt_slot *s)
{
	struct rtt_window *w = s->win;

	s->win = NULL;
	return w;
}

/*
 * Any context but the window's own timer, no slot lock held: w's timer
 * cancelled (waiting for its callback if it runs), w free again.
 */
static void rtt_win_release(struct rtt_window *w)
{
	unsigned long flags;

	if (!w)
		return;
	hrtimer_cancel(&w->timer);
	rtt_raw_lock(&rtt_win_lock, flags);
	w->s = NULL;
	w->owner = NULL;
	w->next_free = rtt_win_free;
	rtt_win_free = w;
	WRITE_ONCE(rtt_win_used, rtt_win_used - 1);
	rtt_raw_unlock(&rtt_win_lock, flags);
}

/* Hard IRQ context: the deadline of w's window. */
static enum hrtimer_restart rtt_win_fire(struct hrtimer *t)
{
	struct rtt_window *w = container_of(t, struct rtt_window, timer);
	struct rtt_slot *s = READ_ONCE(w->s);
	ktime_t ran = hrtimer_cb_get_time(t);
	ktime_t late = ktime_sub(ran, hrtimer_get_expires(t));
	struct rtt_wfile *wf;
	unsigned long flags;
	bool fired = false;

	if (!s)
		return HRTIMER_NORESTART;
	rtt_slot_lock(s, &flags);
	if (s->win == w && s->task) {
		fired = rtt_core_window_deadline(&s->core, rtt_now(),
						 ktime_to_ns(ran),
						 max_t(s64, ktime_to_ns(late), 0));
		rtt_sync_watch(s);
		rtt_notify(s);
	}
	rtt_slot_unlock(s, flags);
	if (!fired)
		return HRTIMER_NORESTART;
	rtt_raw_lock(&rtt_win_lock, flags);
	wf = w->owner;
	if (wf) {
		wf->overruns++;
		/* wake_up() takes a spinlock_t, a sleeping lock on RT */
		irq_work_queue(&wf->iw);
	}
	rtt_raw_unlock(&rtt_win_lock, flags);
	return HRTIMER_NORESTART;
}

/*
 * The calling task opens a window (or a nested level) of budget_ns,
 * started from the file wf (NULL: none) by src (0: an ioctl, else a uprobe
 * binding's id). Not tracked yet, it is tracked first, as an RTT_IOC_ADD
 * of its pid would.
 */
int rtt_window_start(struct rtt_wfile *wf, u64 budget_ns, u64 tag, u32 src)
{
	struct task_struct *p = current;
	struct rtt_win_store *st = NULL;
	struct rtt_window *w = NULL;
	unsigned long flags;
	struct rtt_slot *s;
	int ret, tries;
	u64 now, mono;

	if (!budget_ns || budget_ns > RTT_WIN_BUDGET_MAX)
		return -EINVAL;
	for (tries = 0;; tries++) {
		/* interrupts off: a lookup may not sleep, nor the slot lock */
		rtt_irq_save(flags);
		s = rtt_lookup(p);
		if (s) {
			rtt_slot_lock_irqoff(s);
			if (rtt_slot_tracks(s, p) && (s->core.wst || st))
				break;
			if (rtt_slot_tracks(s, p)) {
				/* the first START: a store, which may sleep */
				rtt_slot_unlock_irqoff(s);
				rtt_irq_restore(flags);
				st = rtt_wst_get();
				if (!st)
					return -ENOSPC;
				continue;
			}
			rtt_slot_unlock_irqoff(s);
		}
		rtt_irq_restore(flags);
		if (tries) {
			rtt_wst_put(st);
			return -ESRCH;	/* untracked again meanwhile */
		}
		ret = rtt_ctl_add(RTT_TRACK_PID, p->pid, 0);
		if (ret && ret != -EEXIST)
			return ret;
	}
	if (!s->core.wst) {
		rtt_core_set_win_store(&s->core, st);
		st = NULL;
	}
	rtt_slot_catch_up(s);
	if (!s->core.win_open) {
		w = rtt_win_get(wf);
		if (!w) {
			rtt_slot_unlock(s, flags);
			rtt_wst_put(st);
			return -ENOSPC;
		}
	}
	/* its clock first: a deadline's duration is at least its budget */
	now = rtt_now();
	mono = ktime_get_ns();
	ret = rtt_core_window_start(&s->core, now, mono, smp_processor_id(),
				    budget_ns, tag);
	if (ret == RTT_WIN_OPENED) {
		w->s = s;
		s->win = w;
		s->win_src = src;
		hrtimer_start(&w->timer, ns_to_ktime(mono + budget_ns),
			      HRTIMER_MODE_ABS_HARD);
	}
	rtt_sync_watch(s);
	rtt_notify(s);
	rtt_slot_unlock(s, flags);
	rtt_wst_put(st);	/* another START of the task gave it one */
	return ret == RTT_WIN_TOO_DEEP ? -E2BIG : 0;
}

/*
 * The calling task stops a level of its window: 0, -EOVERFLOW (closed
 * over budget; res filled as for 0), -ENOENT (no window open).
 */
int rtt_window_stop(struct rtt_window_result *res)
{
	struct task_struct *p = current;
	struct rtt_window *w = NULL;
	int ret = RTT_WIN_NONE;
	unsigned long flags;
	struct rtt_slot *s;

	rtt_irq_save(flags);
	s = rtt_lookup(p);
	if (s) {
		rtt_slot_lock_irqoff(s);
		if (rtt_slot_tracks(s, p)) {
			rtt_slot_catch_up(s);
			ret = rtt_core_window_stop(&s->core, rtt_now(),
						   ktime_get_ns(), res);
			if (ret == RTT_WIN_CLOSED || ret == RTT_WIN_OVER)
				w = rtt_win_detach(s);
			rtt_sync_watch(s);
			rtt_notify(s);
		}
		rtt_slot_unlock_irqoff(s);
	}
	rtt_irq_restore(flags);
	rtt_win_release(w);
	switch (ret) {
	case RTT_WIN_NONE:
		return -ENOENT;
	case RTT_WIN_OVER:
		return -EOVERFLOW;
	default:
		return 0;
	}
}

static void rtt_wfile_wake(struct irq_work *iw)
{
	wake_up_interruptible(&container_of(iw, struct rtt_wfile, iw)->wq);
}

void rtt_wfile_init(struct rtt_wfile *wf)
{
	init_waitqueue_head(&wf->wq);
	init_irq_work(&wf->iw, rtt_wfile_wake);
}

/*
 * The file is being closed: its windows stay open (they belong to their
 * tasks) but report to nobody from now on.
 */
void rtt_wfile_release(struct rtt_wfile *wf)
{
	unsigned long flags;
	unsigned int i;

	/* one window at a time: interrupts-off time independent of the pool */
	for (i = 0; i < rtt_max_windows; i++) {
		rtt_raw_lock(&rtt_win_lock, flags);
		if (rtt_windows[i].owner == wf)
			rtt_windows[i].owner = NULL;
		rtt_raw_unlock(&rtt_win_lock, flags);
	}
	irq_work_sync(&wf->iw);
}

/* The overruns reported to wf since the last call (it is then not ready). */
u64 rtt_wfile_take(struct rtt_wfile *wf)
{
	unsigned long flags;
	u64 n;

	rtt_raw_lock(&rtt_win_lock, flags);
	n = wf->overruns - wf->seen;
	wf->seen = wf->overruns;
	rtt_raw_unlock(&rtt_win_lock, flags);
	return n;
}

bool rtt_wfile_ready(struct rtt_wfile *wf)
{
	return READ_ONCE(wf->overruns) != READ_ONCE(wf->seen);
}

static int rtt_windows_init(void)
{
	unsigned int i;

	if (rtt_max_windows < 1 || rtt_max_windows > 4096) {
		pr_err("max_windows must be 1..4096, not %u\n", rtt_max_windows);
		return -EINVAL;
	}
	rtt_windows = vzalloc(array_size(rtt_max_windows, sizeof(*rtt_windows)));
	if (!rtt_windows)
		return -ENOMEM;
	for (i = rtt_max_windows; i-- > 0;) {
		struct rtt_window *w = &rtt_windows[i];

		hrtimer_init(&w->timer, CLOCK_MONOTONIC, HRTIMER_MODE_ABS_HARD);
		w->timer.function = rtt_win_fire;
		w->next_free = rtt_win_free;
		rtt_win_free = w;
	}
	rtt_memory_bytes += array_size(rtt_max_windows, sizeof(*rtt_windows));
	if (rtt_window_tasks < 1 || rtt_window_tasks > rtt_capacity) {
		pr_err("window_tasks must be 1..capacity (%u), not %u\n",
		       rtt_capacity, rtt_window_tasks);
		return -EINVAL;
	}
	rtt_wstores = vzalloc(array_size(rtt_window_tasks,
					 sizeof(*rtt_wstores)));
	if (!rtt_wstores)
		return -ENOMEM;
	for (i = rtt_window_tasks; i-- > 0;) {
		rtt_wstores[i].next_free = rtt_wst_free;
		rtt_wst_free = &rtt_wstores[i];
	}
	rtt_memory_bytes += array_size(rtt_window_tasks, sizeof(*rtt_wstores));
	return 0;
}

/*
 * A binding goes (its probes unregistered): the windows it opened end
 * with it, abandoned, else they would wait for a STOP that cannot come
 * and hold every later window of their tasks as a nested level.
 */
void rtt_windows_drop_src(u32 src)
{
	struct rtt_window *w;
	unsigned long flags;
	unsigned int i;

	for (i = 0; i < rtt_capacity; i++) {
		struct rtt_slot *s = &rtt_slots[i];

		w = NULL;
		rtt_slot_lock(s, &flags);
		if (s->win && s->win_src == src) {
			rtt_core_window_abandon(&s->core);
			w = rtt_win_detach(s);
		}
		rtt_slot_unlock(s, flags);
		rtt_win_release(w);
	}
}

/*
 * At unload (no file open, so no START can come): every window still open
 * (of tasks that closed their file) is dropped and its timer cancelled.
 */
static void rtt_windows_end(void)
{
	struct rtt_window *w;
	unsigned long flags;
	unsigned int i;

	for (i = 0; i < rtt_capacity; i++) {
		struct rtt_slot *s = &rtt_slots[i];

		rtt_slot_lock(s, &flags);
		rtt_core_window_abandon(&s->core);
		w = rtt_win_detach(s);
		rtt_slot_unlock(s, flags);
		rtt_win_release(w);
	}
	WARN_ON_ONCE(rtt_win_used || rtt_timers_armed());
}

/* ---- module ---- */

static void rtt_free_all(void)
{
	vfree(rtt_slots);
	vfree(rtt_tbl);
	vfree(rtt_tbl_spare);
	vfree(rtt_ring);
	vfree(rtt_logs);
	vfree(rtt_windows);
	rtt_windows = NULL;
	rtt_win_free = NULL;
	vfree(rtt_wstores);
	rtt_wstores = NULL;
	rtt_wst_free = NULL;
	rtt_wst_used = 0;
	rtt_logs = NULL;
	rtt_slots = NULL;
	rtt_tbl = NULL;
	rtt_tbl_spare = NULL;
	rtt_ring = NULL;
}

static int __init rtt_init(void)
{
	size_t tbl_bytes;
	unsigned int i;
	int ret;

	if (rtt_capacity < 1 || rtt_capacity > 4096) {
		pr_err("capacity must be 1..4096, not %u\n", rtt_capacity);
		return -EINVAL;
	}
	rtt_tbl_bits = max(4, ilog2(roundup_pow_of_two(rtt_capacity * 4)));
	rtt_hash_shift = 64 - rtt_tbl_bits;
	rtt_tbl_mask = (1U << rtt_tbl_bits) - 1;
	tbl_bytes = sizeof(*rtt_tbl) << rtt_tbl_bits;
	rtt_slots = vzalloc(array_size(rtt_capacity, sizeof(*rtt_slots)));
	rtt_tbl = vzalloc(tbl_bytes);
	rtt_tbl_spare = vzalloc(tbl_bytes);
	rtt_ring = vzalloc(array_size(RTT_RING, sizeof(*rtt_ring)));
	rtt_logs = vzalloc(array_size(nr_cpu_ids, sizeof(*rtt_logs)));
	if (!rtt_slots || !rtt_tbl || !rtt_tbl_spare || !rtt_ring || !rtt_logs) {
		rtt_free_all();
		return -ENOMEM;
	}
	mutex_lock(&rtt_ctl_mutex);
	for (i = rtt_capacity; i-- > 0;) {
		struct rtt_slot *s = &rtt_slots[i];

		s->w_cpu = -1;
		s->w_idx = -1;
		s->next_free = rtt_retired;
		rtt_retired = s;
	}
	rtt_slots_recycle(false);
	mutex_unlock(&rtt_ctl_mutex);
	for_each_possible_cpu(i)
		per_cpu_ptr(&rtt_watch, i)->log = &rtt_logs[i];
	init_irq_work(&rtt_wake_work, rtt_wake_fn);
	init_irq_work(&rtt_house_iw, rtt_house_kick);
	rtt_memory_bytes = array_size(rtt_capacity, sizeof(*rtt_slots)) +
			   2 * tbl_bytes +
			   array_size(RTT_RING, sizeof(*rtt_ring)) +
			   num_possible_cpus() * sizeof(struct rtt_watch) +
			   array_size(nr_cpu_ids, sizeof(*rtt_logs));
	ret = rtt_windows_init();
	if (ret)
		goto fail_free;
	ret = rtt_clock_init();
	if (ret) {
		pr_err("no usable clock (arch timer rate 0)\n");
		goto fail_free;
	}
	ret = rtt_find_probes();
	if (ret)
		goto fail_free;
	ret = rtt_iface_init();
	if (ret)
		goto fail_free;
	rtt_memory_bytes += rtt_iface_memory();
	pr_info("loaded: capacity=%u max_windows=%u window_tasks=%u memory_bytes=%zu (slot %zu bytes, window store %zu) irq_tracepoints=%s irq_source=%s\n",
		rtt_capacity, rtt_max_windows, rtt_window_tasks,
		rtt_memory_bytes, sizeof(struct rtt_slot),
		sizeof(struct rtt_wstore),
		rtt_have_irq_tp ? "yes" : "no",
		rtt_have_irqh_tp ? "handler" : "derived");
	return 0;
fail_free:
	rtt_free_all();
	return ret;
}

/*
 * rtt_ctl_mutex held, the probes unregistered: nothing clears a slot's task
 * at its exit any more, so a tracked task_struct may be freed at any time
 * (seen under KASAN: a thread that exited during the unregister, read by
 * the unload report). The slots forget their tasks, the last switch-ins
 * applied first; the reports show the identity as last refreshed.
 */
static void rtt_forget_tasks(void)
{
	unsigned long flags;
	unsigned int i;

	lockdep_assert_held(&rtt_ctl_mutex);
	for (i = 0; i < rtt_capacity; i++) {
		struct rtt_slot *s = &rtt_slots[i];

		rtt_slot_lock(s, &flags);
		rtt_slot_catch_up(s);
		s->task = NULL;
		rtt_slot_unlock(s, flags);
	}
}

static void __exit rtt_exit(void)
{
	struct rtt_report *r;
	unsigned int i;
	u32 gen;
	u8 life;

	rtt_iface_exit();		/* no more control or readers */
	rtt_bind_exit();		/* no START or STOP from a uprobe */
	mutex_lock(&rtt_ctl_mutex);
	/* no deadline timer left: they take slot locks and report */
	rtt_windows_end();
	rtt_unregister_probes();	/* + tracepoint_synchronize_unregister */
	rtt_forget_tasks();
	mutex_unlock(&rtt_ctl_mutex);
	irq_work_sync(&rtt_wake_work);
	irq_work_sync(&rtt_house_iw);
	cancel_work_sync(&rtt_house_work);
	r = kmalloc(sizeof(*r), GFP_KERNEL);
	for (i = 0; r && i < rtt_capacity; i++)
		if (rtt_slot_report(&rtt_slots[i], r, &gen, &life))
			rtt_log_summary(life == RTT_LIFE_EXITED ?
					"unload exited" : "unload", r);
	kfree(r);
	if (rtt_fork_overflow || atomic_long_read(&rtt_watch_overflow))
		pr_info("threads not tracked for capacity: %lu, intervals lost to full watch lists: %ld\n",
			rtt_fork_overflow,
			atomic_long_read(&rtt_watch_overflow));
	rtt_irqoff_report();
	rtt_free_all();
	pr_info("unloaded\n");
}

module_init(rtt_init);
module_exit(rtt_exit);
MODULE_LICENSE("GPL");
MODULE_DESCRIPTION("Per-task real-time latency, response and control-loop time tracer");
