/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * rt_tracer user-space ABI: ioctls on /dev/rt_tracer and the binary records
 * read() returns. Shared by the module, its host unit tests and (mirrored
 * field by field, with size checks) the Rust agent.
 *
 * Compatibility: RTT_UAPI_MAJOR changes when a layout below changes;
 * RTT_UAPI_MINOR when something is only added (a new record type or ioctl).
 * Readers skip record types they do not know, using rtt_rec_hdr.size.
 */
#ifndef _UAPI_LINUX_RT_TRACER_H
#define _UAPI_LINUX_RT_TRACER_H

#include <linux/ioctl.h>
#include <linux/types.h>

#define RTT_UAPI_MAJOR		1
#define RTT_UAPI_MINOR		2	/* 1: rtt_event.flags; 2: nr_culprits */

#define RTT_COMM_LEN		16
#define RTT_LOG2_BUCKETS	32	/* bucket i: [2^(i-1), 2^i) ns; 0: 0 ns; last: open */
#define RTT_LIN_BUCKETS		32
#define RTT_TRACE_EVENTS	24	/* events kept per worst case */
#define RTT_CULPRITS		4	/* tasks that ran instead, longest first */

/*
 * What a tracked task is measured for: the one list of metrics, in wire
 * order, X(SUFFIX, name) for RTT_METRIC_SUFFIX and its name in text, trace
 * events and JSON (the Rust crates are checked against this list). An X
 * may take (suffix, ...) when it needs only the suffix.
 *   latency    wakeup -> switch-in
 *   response   wakeup -> first voluntary switch-out
 *   relief     wakeup -> next sleep on a timer (control-loop time)
 *   irq_delay  hard-IRQ entry -> IRQ thread handler start
 *   irq        IRQ thread handler execution
 */
#define RTT_METRICS(X)			\
	X(LATENCY, latency)		\
	X(RESPONSE, response)		\
	X(RELIEF, relief)		\
	X(IRQ_DELAY, irq_delay)		\
	X(IRQ, irq)

#define RTT_METRIC_ENUM(suffix, ...)	RTT_METRIC_##suffix,
enum rtt_metric {
	RTT_METRICS(RTT_METRIC_ENUM)
	RTT_NR_METRICS,
};
#undef RTT_METRIC_ENUM

/* Why a task left the CPU, classified from its own syscall at switch-out. */
enum rtt_state {
	RTT_STATE_PREEMPTED = 0,	/* still runnable */
	RTT_STATE_SLEEP_TIMER,		/* nanosleep, clock_nanosleep */
	RTT_STATE_SLEEP_LOCK,		/* futex, rt_mutex, PREEMPT_RT spinlock */
	RTT_STATE_SLEEP_IO,		/* read, write, poll, ioctl, ... */
	RTT_STATE_SLEEP_OTHER,
	RTT_STATE_DEAD,
	RTT_NR_STATES,
};

#define RTT_NR_SLEEP_CAUSES	4	/* RTT_STATE_SLEEP_TIMER .. _OTHER */

/* Where the time of one measured interval went. */
struct rtt_breakdown {
	__u64 running_ns;
	__u64 waiting_ns;			/* runnable, not on a CPU */
	__u64 sleep_ns[RTT_NR_SLEEP_CAUSES];	/* indexed by state - 1 */
};

enum rtt_event_type {
	RTT_EV_WAKEUP = 1,	/* pid woken by other_pid (the waker) on cpu */
	RTT_EV_SWITCH,		/* other_pid switched out (prev_state), pid in */
	RTT_EV_MIGRATE,		/* pid moved from cpu to other_pid (a CPU) */
	RTT_EV_IRQ_ENTRY,	/* hard IRQ pid (the IRQ number) on cpu */
	RTT_EV_IRQ_EXIT,
};

/*
 * rtt_event.flags. HARDIRQ: a wakeup from hard interrupt context (a hard
 * IRQ handler, an hrtimer expiring in hard IRQ context such as an RT
 * task's clock_nanosleep): other_* is the task that was interrupted, not
 * the one that woke it.
 */
#define RTT_EVF_HARDIRQ		0x01

/* One scheduler event behind a worst case. prio is the kernel's (0-99 RT,
 * 100-139 normal, as sched_switch prints it).
 */
struct rtt_event {
	__u64 t_ns;		/* since the start of the interval */
	__u16 type;		/* enum rtt_event_type */
	__u16 cpu;
	__s32 pid;
	__s32 other_pid;
	__s16 prio;
	__s16 other_prio;
	__u8 policy;		/* SCHED_* of pid */
	__u8 other_policy;
	__u8 prev_state;	/* enum rtt_state, RTT_EV_SWITCH only */
	__u8 flags;		/* RTT_EVF_* (0 before UAPI 1.1) */
	char comm[RTT_COMM_LEN];
	char other_comm[RTT_COMM_LEN];
	__u32 pad;		/* padding (every "pad" field: 0) */
};

/* A task that ran on the tracked task's CPU while it waited. */
struct rtt_culprit {
	__s32 pid;
	__s16 prio;
	__u8 policy;
	__u8 pad;
	__u64 ns;
	char comm[RTT_COMM_LEN];
};

struct rtt_metric_stats {
	__u64 count;
	__u64 min_ns;			/* U64_MAX while count == 0 */
	__u64 max_ns;
	__u64 sum_ns;
	__u64 bound_ns;			/* SLO; 0: none */
	__u64 violations;
	__u64 last_ns;
	__u64 lin_lo_ns;		/* linear histogram; step 0: disabled */
	__u64 lin_step_ns;
	__u64 lin_under;
	__u64 lin_over;
	__u64 log2_hist[RTT_LOG2_BUCKETS];
	__u64 lin_hist[RTT_LIN_BUCKETS];
	struct rtt_breakdown worst;	/* breakdown of max_ns */
	__u64 worst_at_ns;		/* CLOCK_MONOTONIC of the worst's end */
};

enum rtt_track_kind {
	RTT_TRACK_PID = 1,
	RTT_TRACK_TGID,		/* every thread of a process, later ones too */
	RTT_TRACK_IRQ,		/* the IRQ thread of an IRQ number */
};

#define RTT_F_TRACE		(1u << 0)	/* keep worst-case events */
#define RTT_F_EXITED		(1u << 1)	/* final record of an exited task */
#define RTT_F_IRQ_THREAD	(1u << 2)

struct rtt_task_info {
	__s32 pid;
	__s32 tgid;
	__u32 kind;		/* enum rtt_track_kind it was added by */
	__s32 irq;		/* -1 unless an IRQ thread */
	__u32 flags;		/* RTT_F_* */
	__s16 prio;
	__u8 policy;
	__u8 pad;
	char comm[RTT_COMM_LEN];
	__u64 start_ns;		/* task start time: (pid, start_ns) is unique */
};

/* --- records returned by read(), each starting with this header --- */

enum rtt_rec_type {
	RTT_REC_TASK = 1,	/* snapshot (or final record, RTT_F_EXITED) */
	RTT_REC_VIOLATION,
	RTT_REC_WORST,		/* a new worst case with its events */
	RTT_REC_DROPPED,	/* detail records lost to a slow reader */
};

/*
 * A record of a type the reader knows may be longer than the struct it
 * knows (fields added at the end in a later minor version): read the
 * known prefix, skip to size.
 */
struct rtt_rec_hdr {
	__u16 type;		/* enum rtt_rec_type */
	__u16 size;		/* whole record, header included */
	__u32 seq;		/* per open file, +1 per record */
	__u64 t_ns;		/* CLOCK_MONOTONIC: see each record */
};

/* hdr.t_ns: when the snapshot was taken (an exited task: its exit) */
struct rtt_rec_task {
	struct rtt_rec_hdr hdr;
	struct rtt_task_info task;
	__u64 events_dropped;	/* worst-case events that did not fit */
	struct rtt_metric_stats m[RTT_NR_METRICS];
};

/* hdr.t_ns: when the violating value ended */
struct rtt_rec_violation {
	struct rtt_rec_hdr hdr;
	struct rtt_task_info task;
	__u32 metric;
	__u32 pad;
	__u64 value_ns;
	__u64 bound_ns;
	__u64 violations;	/* cumulative, exact */
	struct rtt_breakdown breakdown;
};

/*
 * hdr.t_ns: when this worst value ended (the metric's worst_at_ns). Worst
 * records are coalesced: one per task and metric is queued at a time and
 * carries the worst when it is read.
 */
struct rtt_rec_worst {
	struct rtt_rec_hdr hdr;
	struct rtt_task_info task;
	__u32 metric;
	__u32 nr_events;
	__u64 value_ns;
	__u64 bound_ns;
	__u64 events_dropped;	/* interval events beyond RTT_TRACE_EVENTS */
	struct rtt_breakdown breakdown;
	struct rtt_culprit culprits[RTT_CULPRITS];
	struct rtt_event events[RTT_TRACE_EVENTS];
	/* UAPI 1.2 */
	__u32 nr_culprits;	/* culprits[] entries in use */
	__u32 pad;
};

struct rtt_rec_dropped {
	struct rtt_rec_hdr hdr;
	__u64 violations;	/* violation records not delivered */
	__u64 worst;
	__u64 exits;
};

#define RTT_REC_MAX_SIZE	sizeof(struct rtt_rec_task)

/* --- ioctls; every argument is checked against its exact size --- */

struct rtt_track {
	__u32 kind;		/* enum rtt_track_kind */
	__s32 id;		/* pid, tgid or IRQ number */
	__u32 flags;		/* RTT_F_TRACE */
	__u32 reserved;		/* must be 0 (an input: a future option) */
};

struct rtt_bound {
	__s32 pid;
	__u32 metric;		/* enum rtt_metric */
	__u64 bound_ns;		/* 0 clears */
};

struct rtt_lin_hist {
	__s32 pid;
	__u32 metric;
	__u64 lo_ns;
	__u64 step_ns;		/* 0 disables */
};

struct rtt_info {
	__u32 uapi_major;
	__u32 uapi_minor;
	__u32 capacity;
	__u32 nr_tracked;
	__u32 flags;		/* RTT_INFO_* */
	__u32 pad;
};

#define RTT_INFO_IRQ_TRACEPOINTS (1u << 0)	/* irq_handler_entry/exit hooked:
						 * irq_delay and irq measured
						 */
/*
 * irq_thread_handler_entry/exit hooked too (a kernel with rt-tracer's
 * kernel-patches/linux/0001): irq_delay ends at the threaded handler's
 * entry and irq is each handler run, exactly.
 */
#define RTT_INFO_IRQ_HANDLER_TRACEPOINTS (1u << 1)

#define RTT_IOC_MAGIC		0xb7
#define RTT_IOC_INFO		_IOR(RTT_IOC_MAGIC, 0, struct rtt_info)
#define RTT_IOC_ADD		_IOW(RTT_IOC_MAGIC, 1, struct rtt_track)
#define RTT_IOC_DEL		_IOW(RTT_IOC_MAGIC, 2, struct rtt_track)
#define RTT_IOC_SET_BOUND	_IOW(RTT_IOC_MAGIC, 3, struct rtt_bound)
#define RTT_IOC_SET_LIN_HIST	_IOW(RTT_IOC_MAGIC, 4, struct rtt_lin_hist)
#define RTT_IOC_RESET		_IO(RTT_IOC_MAGIC, 5)
/* Queue one RTT_REC_TASK per tracked task into this file's read() stream. */
#define RTT_IOC_SNAPSHOT	_IO(RTT_IOC_MAGIC, 6)

#endif /* _UAPI_LINUX_RT_TRACER_H */
