/* SPDX-License-Identifier: GPL-2.0 */
/*
 * what the module's files share.
 */
#ifndef _RTT_INTERNAL_H
#define _RTT_INTERNAL_H

#include <linux/types.h>
#include <linux/spinlock.h>
#include <linux/mutex.h>
#include <linux/sched.h>
#include <linux/llist.h>
#include <linux/hrtimer.h>
#include <linux/irq_work.h>
#include <linux/wait.h>
#include "rtt_core.h"

/* Tracked tasks queued on one CPU the sched_switch probe of that CPU checks */
#define RTT_WATCH	32
/* Small notices from the probes to the /dev/rt_tracer reader */
#define RTT_RING	256

enum rtt_life {
	RTT_LIFE_FREE = 0,
	RTT_LIFE_ACTIVE,	/* tracked, in the hash table */
	RTT_LIFE_EXITED,	/* final record kept until collected */
};

struct rtt_slot {
	u32 lock;			/* all below: rtt_slot_lock(); 1: held */
	struct task_struct *task;	/* identity while ACTIVE, else NULL */
	u32 gen;			/* +1 each time the slot is reused */
	u8 life;			/* enum rtt_life */
	u8 worst_queued;		/* metrics with an undelivered WORST */
	s16 w_cpu;			/* watch list it is on, -1 */
	s16 w_idx;
	unsigned long w_bit;		/* BIT(w_idx), 0 while on no list */
	/* EXITED, its summary not yet logged: set by the exit probe */
	bool exit_unlogged;
	struct rtt_window *win;		/* the open window's deadline, or NULL */
	u32 win_src;			/* who opened it: 0 ioctl, else a binding */
	struct rtt_slot *next_free;	/* free or retired list */
	struct rtt_core core;
};

/*
 * s->lock held: does s track the live task p? task is set (and life
 * ACTIVE) from the moment s starts tracking a task until it exits or is
 * released, both changed together under the lock: an exited task's core
 * is never fed another event.
 */
static __always_inline bool rtt_slot_tracks(const struct rtt_slot *s,
					    const struct task_struct *p)
{
	return s->task == p;
}

/*
 * The slot lock: a test-and-set spinlock, taken with interrupts off. The
 * scheduler probes take it on every event of a tracked task, where
 * raw_spin_lock()'s call and preemption-count bookkeeping cost a quarter
 * of the probe, and where even the queued spinlock's compare-and-swap
 * (arch_spin_lock(); 11 instructions on a CPU without LSE atomics, as the
 * Pi 4's Cortex-A72) costs twice an exchange (scripts/profile: 6 fewer
 * instructions per event). Kernel tracing code (the wakeup latency tracer,
 * the ring buffer) keeps its own locks off the generic paths for the same
 * reason. Fairness does not matter here: the probes meet only readers,
 * IRQ probes and the control plane on a slot, rarely, and every holder
 * keeps it for a bounded, short time. It spins on PREEMPT_RT too.
 */
static __always_inline void rtt_slot_lock_irqoff(struct rtt_slot *s)
{
	/* acquire: the holder's critical section stays after it */
	while (unlikely(xchg_acquire(&s->lock, 1)))
		while (READ_ONCE(s->lock))
			cpu_relax();
}

static __always_inline void rtt_slot_unlock_irqoff(struct rtt_slot *s)
{
	/* release: the critical section is complete before it is free */
	smp_store_release(&s->lock, 0);
}

/*
 * Every section of the module that turns interrupts off goes through
 * rtt_irq_save()/rtt_irq_restore(). Built with RTT_IRQOFF_STATS=1
 * (scripts/irqoff), they measure each outermost section with the probes'
 * clock and keep the longest per place (file and line), printed at
 * unload: the interrupt latency the module adds. Otherwise they are
 * local_irq_save()/local_irq_restore().
 */
#ifdef RTT_IRQOFF_STATS
struct rtt_irqoff_site {
	const char *file;
	int line;
	int linked;
	u64 count;
	u64 max_ns;
	struct llist_node node;
};

void rtt_irqoff_begin(unsigned long flags);
void rtt_irqoff_end(unsigned long flags, struct rtt_irqoff_site *site);
void rtt_irqoff_report(void);

#define rtt_irq_save(flags)						\
	do {								\
		local_irq_save(flags);					\
		rtt_irqoff_begin(flags);				\
	} while (0)
#define rtt_irq_restore(flags)						\
	do {								\
		static struct rtt_irqoff_site __rtt_site = {		\
			.file = __FILE__, .line = __LINE__,		\
		};							\
		rtt_irqoff_end(flags, &__rtt_site);			\
		local_irq_restore(flags);				\
	} while (0)
#else
#define rtt_irq_save(flags)		local_irq_save(flags)
#define rtt_irq_restore(flags)		local_irq_restore(flags)
static inline void rtt_irqoff_report(void)
{
}
#endif

/* the slot lock with interrupts saved (macros: each caller a place) */
#define rtt_slot_lock(s, flags)						\
	do {								\
		rtt_irq_save(*(flags));					\
		rtt_slot_lock_irqoff(s);				\
	} while (0)
#define rtt_slot_unlock(s, flags)					\
	do {								\
		rtt_slot_unlock_irqoff(s);				\
		rtt_irq_restore(flags);					\
	} while (0)

/* a raw spinlock with interrupts saved, the same way */
#define rtt_raw_lock(lock, flags)					\
	do {								\
		rtt_irq_save(flags);					\
		raw_spin_lock(lock);					\
	} while (0)
#define rtt_raw_unlock(lock, flags)					\
	do {								\
		raw_spin_unlock(lock);					\
		rtt_irq_restore(flags);					\
	} while (0)

struct rtt_notice {
	u16 type;			/* enum rtt_rec_type */
	u16 metric;			/* RTT_REC_WINDOW: enum rtt_window_what */
	u32 slot;
	u32 gen;
	u32 reserved;
	u64 t_ns;
	u64 value;
	u64 bound;
	u64 violations;
	struct rtt_breakdown bd;
	/* RTT_REC_WINDOW */
	u64 tag;
	u64 start_ns;
	u64 late_ns;
	u32 state;
	u32 depth;
	u32 win_seq;			/* the core's win_rep_seq[what - 1] then */
	/* who ran instead (events: the core's, if still that report's) */
	u32 nr_culprits;
	struct rtt_culprit culprits[RTT_CULPRITS];
};

/*
 * An open file of /dev/rt_tracer (private_data): what the windows it
 * started report to it. overruns/seen and the owner pointers of the
 * windows: rtt_win_lock.
 */
struct rtt_wfile {
	u64 overruns;			/* deadlines reported */
	u64 seen;			/* taken by RTT_IOC_WINDOW_OVERRUNS */
	wait_queue_head_t wq;
	struct irq_work iw;		/* wakes wq (not from the hrtimer) */
};

/*
 * The deadline of an open window, preallocated (module parameter
 * max_windows). Taken by a START, returned after its timer is cancelled.
 */
struct rtt_window {
	struct hrtimer timer;		/* HRTIMER_MODE_ABS_HARD */
	struct rtt_slot *s;		/* whose, set while taken */
	struct rtt_wfile *owner;	/* rtt_win_lock; NULL: closed file */
	struct rtt_window *next_free;
};

extern unsigned int rtt_capacity;
extern struct rtt_slot *rtt_slots;
extern struct mutex rtt_ctl_mutex;
extern size_t rtt_memory_bytes;
extern atomic_t rtt_nr_live;
extern bool rtt_have_irq_tp;
extern bool rtt_have_irqh_tp;	/* irq_thread_handler_entry/exit too */

/* control plane (process context, take rtt_ctl_mutex themselves) */
int rtt_ctl_add(u32 kind, s32 id, u32 flags);
int rtt_ctl_del(u32 kind, s32 id);
int rtt_ctl_bound(s32 pid, u32 metric, u64 bound_ns);
int rtt_ctl_lin(s32 pid, u32 metric, u64 lo_ns, u64 step_ns);
void rtt_ctl_reset(void);
/* free a slot; rtt_ctl_mutex held */
void rtt_slot_release(struct rtt_slot *s);
/* what readers show of a slot, copied in short pieces; false if FREE */
bool rtt_slot_report(struct rtt_slot *s, struct rtt_report *r, u32 *gen,
		     u8 *life);

/* budget windows (rtt_main.c) */
extern unsigned int rtt_max_windows;
extern unsigned int rtt_window_tasks;
int rtt_window_start(struct rtt_wfile *wf, u64 budget_ns, u64 tag, u32 src);
void rtt_windows_drop_src(u32 src);
int rtt_window_stop(struct rtt_window_result *res);
void rtt_wfile_init(struct rtt_wfile *wf);
void rtt_wfile_release(struct rtt_wfile *wf);
u64 rtt_wfile_take(struct rtt_wfile *wf);
bool rtt_wfile_ready(struct rtt_wfile *wf);
unsigned int rtt_windows_in_use(void);
unsigned int rtt_timers_armed(void);
unsigned int rtt_window_tasks_in_use(void);

/* uprobe bindings of windows (rtt_bind.c); limits in the UAPI header */
int rtt_bind_write(char *line);
const char *rtt_bind_errstr(int err);
ssize_t rtt_bind_show(char *buf);
void rtt_bind_exit(void);

/* the notice queue */
bool rtt_ring_pop(struct rtt_notice *n);
bool rtt_ring_empty(void);
void rtt_ring_take_dropped(u64 *viol, u64 *worst, u64 *exits);
void rtt_ring_flush(void);
extern atomic_t rtt_reader_open;
extern wait_queue_head_t rtt_read_wq;

/* interfaces (rtt_iface.c) */
int rtt_iface_init(void);
void rtt_iface_exit(void);
void rtt_iface_forget(struct rtt_slot *s);
size_t rtt_iface_memory(void);

#endif /* _RTT_INTERNAL_H */
