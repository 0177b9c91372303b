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
#define RTT_UAPI_MINOR		4	/* 1: rtt_event.flags; 2: nr_culprits;
					 * 3: budget windows (RTT_IOC_WINDOW_*,
					 * RTT_REC_WINDOW); 4: window statistics
					 * (RTT_REC_WINDOW_STATS), bindings by
					 * ioctl (RTT_IOC_WINDOW_BIND)
					 */

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
	RTT_REC_WINDOW,		/* a budget window over budget (UAPI 1.3) */
	RTT_REC_WINDOW_STATS,	/* a task's windows of one tag (UAPI 1.4) */
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

/*
 * Where a task's time is going at an instant: the rtt_breakdown field (as
 * __u64[]) it is added to.
 */
enum rtt_win_state {
	RTT_WS_RUNNING = 0,
	RTT_WS_WAITING,		/* runnable, not on a CPU */
	RTT_WS_SLEEP_TIMER,	/* sleep_ns[i]: RTT_WS_SLEEP_TIMER + i */
	RTT_WS_SLEEP_LOCK,
	RTT_WS_SLEEP_IO,
	RTT_WS_SLEEP_OTHER,
};

/* rtt_rec_window.what: when the record was made */
enum rtt_window_what {
	RTT_WIN_DEADLINE = 1,	/* the deadline fired, the window still open */
	RTT_WIN_STOP,		/* the STOP of a window that overran */
};

/*
 * A budget window over its budget (UAPI 1.3). One RTT_WIN_DEADLINE record
 * when its deadline timer fires while it is open (hdr.t_ns: when the timer
 * ran, start_ns + budget_ns + timer_late_ns), and one RTT_WIN_STOP record
 * when it is stopped (hdr.t_ns: the STOP), with the
 * final duration. culprits and events explain the record's interval, start
 * to hdr.t_ns (events only for a task tracked with RTT_F_TRACE, and only
 * while the reader keeps up: a later record of the same kind of the same
 * task replaces them, nr_events is then 0); a window stopped over budget
 * before its timer fired has only the STOP record.
 */
struct rtt_rec_window {
	struct rtt_rec_hdr hdr;
	struct rtt_task_info task;
	__u64 tag;		/* the START's user tag */
	__u64 budget_ns;
	__u64 start_ns;		/* CLOCK_MONOTONIC of the START */
	__u64 duration_ns;	/* start to the deadline's handling, or STOP */
	__u64 timer_late_ns;	/* DEADLINE: timer run - its expiry time */
	__u64 overruns;		/* of this task and tag, cumulative */
	__u64 events_dropped;
	__u32 what;		/* enum rtt_window_what */
	__u32 state;		/* enum rtt_win_state at hdr.t_ns */
	__u32 depth;		/* nest depth then */
	__u32 nr_culprits;
	__u32 nr_events;
	__u32 pad;
	struct rtt_breakdown breakdown;		/* sums to duration_ns */
	struct rtt_culprit culprits[RTT_CULPRITS];
	struct rtt_event events[RTT_TRACE_EVENTS];
};

/*
 * The windows of one START tag of a task (UAPI 1.4; a binding's tag is its
 * START offset): one record per tag in use, right after each RTT_REC_TASK
 * of a task that started windows (hdr.t_ns: the TASK record's). In st,
 * count .. log2_hist are the stopped windows' durations, bound_ns the
 * budget of the last START, violations the overruns (also of windows that
 * never stopped), worst and worst_at_ns the longest window's breakdown
 * and end; culprits are the tasks that ran instead during that one.
 */
struct rtt_rec_window_stats {
	struct rtt_rec_hdr hdr;
	struct rtt_task_info task;
	__u64 tag;
	__u64 abandoned;	/* open when the task exited or stopped being tracked */
	__u64 tags_dropped;	/* the task's windows of tags beyond those kept */
	__u32 depth;		/* the task's window open now: its depth, 0: none */
	__u32 nr_culprits;
	struct rtt_metric_stats st;
	struct rtt_culprit culprits[RTT_CULPRITS];
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

/*
 * Budget windows (UAPI 1.3): a section of the calling task's code with a
 * deadline. RTT_IOC_WINDOW_START opens one for the calling task (tracked
 * from then on if it was not: as RTT_IOC_ADD of its pid); its deadline
 * timer fires at start + budget_ns, even if STOP never comes, and reports
 * the overrun then (RTT_REC_WINDOW, the tracefs event
 * rt_tracer:window_overrun, EPOLLIN on the file that started it).
 * RTT_IOC_WINDOW_STOP, from the same task, closes it and fills struct
 * rtt_window_result: returns 0 within budget, -1 with errno EOVERFLOW
 * over budget (the result filled all the same).
 *
 * Nesting: a START while the task has a window open only counts a level
 * (its budget and tag are not used); each STOP takes one level off, and
 * only the STOP of the outermost START closes the window (an inner STOP
 * returns 0 and fills the result so far, depth >= 1). At most
 * RTT_WINDOW_MAX_DEPTH levels.
 *
 * Both structs start with their own size, and the ioctl numbers carry it
 * too: either one not this header's gets EINVAL. Errors: EINVAL (size,
 * flags, reserved not 0, budget 0), E2BIG (START past the maximum depth),
 * ENOENT (STOP while the calling task has no window open: never started,
 * or started by another thread), ENOSPC (no free window: module
 * parameter max_windows; or no free task slot: capacity).
 */
#define RTT_WINDOW_MAX_DEPTH	8

struct rtt_window_start {
	__u32 size;		/* sizeof(struct rtt_window_start) */
	__u32 flags;		/* 0 */
	__u64 budget_ns;	/* > 0 */
	__u64 tag;		/* the user's, reported with the window */
	__u64 reserved;		/* 0 */
};

/* rtt_window_result.flags */
#define RTT_WINF_OVERRUN	(1u << 0)	/* over budget */
#define RTT_WINF_DEADLINE	(1u << 1)	/* its deadline was reported */

struct rtt_window_result {
	__u32 size;		/* in: sizeof(struct rtt_window_result) */
	__u32 flags;		/* out: RTT_WINF_* */
	__u64 tag;
	__u64 budget_ns;
	__u64 start_ns;		/* CLOCK_MONOTONIC of the START */
	__u64 duration_ns;	/* final (inner STOP: so far) */
	__u32 depth;		/* levels still open (0: the window closed) */
	__u32 pad;
	struct rtt_breakdown breakdown;	/* sums to duration_ns */
};

#define RTT_IOC_WINDOW_START	_IOW(RTT_IOC_MAGIC, 7, struct rtt_window_start)
#define RTT_IOC_WINDOW_STOP	_IOWR(RTT_IOC_MAGIC, 8, struct rtt_window_result)
/*
 * The overruns reported (deadlines fired) for windows this file started
 * since the last call; the file is readable (EPOLLIN) while it is not 0.
 */
#define RTT_IOC_WINDOW_OVERRUNS	_IOR(RTT_IOC_MAGIC, 9, __u64)

/*
 * uprobe bindings (UAPI 1.4), as written to /sys/kernel/rt_tracer/windows:
 * spec is one NUL-terminated line, "p PATH:START STOP budget=NS" (bind;
 * START, STOP: ELF file offsets) or "-p PATH:START" (unbind). Needs
 * CAP_SYS_ADMIN (EPERM). Errors: EINVAL (size, flags, a malformed line,
 * budget 0, START == STOP, not a regular file, an offset that cannot be
 * probed), E2BIG (no NUL in spec), EEXIST (PATH:START bound), ENOENT (no
 * such file; unbinding what is not bound), ERANGE (an offset beyond the
 * file), ENOSPC (RTT_MAX_BINDINGS bound), ENAMETOOLONG (PATH over
 * RTT_BIND_PATH_MAX bytes). Reading the sysfs file lists the bindings.
 */
#define RTT_MAX_BINDINGS	16
#define RTT_BIND_PATH_MAX	120
#define RTT_BIND_SPEC_MAX	256

struct rtt_window_bind {
	__u32 size;		/* sizeof(struct rtt_window_bind) */
	__u32 flags;		/* 0 */
	char spec[RTT_BIND_SPEC_MAX];
};

#define RTT_IOC_WINDOW_BIND	_IOW(RTT_IOC_MAGIC, 10, struct rtt_window_bind)

#endif /* _UAPI_LINUX_RT_TRACER_H */
