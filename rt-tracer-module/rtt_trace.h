/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tracefs events of rt_tracer: rt_tracer:rtt_violation,
 * rt_tracer:rtt_worst and rt_tracer:window_overrun (instantiated in
 * rtt_main.c).
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM rt_tracer

#if !defined(_RTT_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _RTT_TRACE_H

#include <linux/tracepoint.h>
#include <linux/rt_tracer.h>
#include "rtt_core.h"

/* metric numbers resolved in the events' format files, names from the UAPI */
#define RTT_TP_METRIC_ENUM(suffix, ...) TRACE_DEFINE_ENUM(RTT_METRIC_##suffix);
RTT_METRICS(RTT_TP_METRIC_ENUM)
TRACE_DEFINE_ENUM(RTT_NR_METRICS);

#define RTT_TP_METRIC_SYM(suffix, name) { RTT_METRIC_##suffix, #name },
#define rtt_show_metric(m)						\
	__print_symbolic(m, RTT_METRICS(RTT_TP_METRIC_SYM)		\
			 { RTT_NR_METRICS, "?" })

TRACE_EVENT(rtt_violation,

	TP_PROTO(int pid, const char *comm, unsigned int metric, u64 value_ns,
		 u64 bound_ns, u64 violations),

	TP_ARGS(pid, comm, metric, value_ns, bound_ns, violations),

	TP_STRUCT__entry(
		__field(int, pid)
		__array(char, comm, 16)
		__field(unsigned int, metric)
		__field(u64, value_ns)
		__field(u64, bound_ns)
		__field(u64, violations)
	),

	TP_fast_assign(
		__entry->pid = pid;
		memcpy(__entry->comm, comm, 16);
		__entry->metric = metric;
		__entry->value_ns = value_ns;
		__entry->bound_ns = bound_ns;
		__entry->violations = violations;
	),

	TP_printk("pid=%d comm=%s metric=%s value_ns=%llu bound_ns=%llu violations=%llu",
		  __entry->pid, __entry->comm, rtt_show_metric(__entry->metric),
		  __entry->value_ns, __entry->bound_ns, __entry->violations)
);

TRACE_EVENT(rtt_worst,

	TP_PROTO(int pid, const char *comm, unsigned int metric, u64 value_ns,
		 unsigned int nr_events),

	TP_ARGS(pid, comm, metric, value_ns, nr_events),

	TP_STRUCT__entry(
		__field(int, pid)
		__array(char, comm, 16)
		__field(unsigned int, metric)
		__field(u64, value_ns)
		__field(unsigned int, nr_events)
	),

	TP_fast_assign(
		__entry->pid = pid;
		memcpy(__entry->comm, comm, 16);
		__entry->metric = metric;
		__entry->value_ns = value_ns;
		__entry->nr_events = nr_events;
	),

	TP_printk("pid=%d comm=%s metric=%s value_ns=%llu nr_events=%u",
		  __entry->pid, __entry->comm, rtt_show_metric(__entry->metric),
		  __entry->value_ns, __entry->nr_events)
);

TRACE_DEFINE_ENUM(RTT_WIN_DEADLINE);
TRACE_DEFINE_ENUM(RTT_WIN_STOP);
TRACE_DEFINE_ENUM(RTT_WS_RUNNING);
TRACE_DEFINE_ENUM(RTT_WS_WAITING);
TRACE_DEFINE_ENUM(RTT_WS_SLEEP_TIMER);
TRACE_DEFINE_ENUM(RTT_WS_SLEEP_LOCK);
TRACE_DEFINE_ENUM(RTT_WS_SLEEP_IO);
TRACE_DEFINE_ENUM(RTT_WS_SLEEP_OTHER);

/*
 * A budget window over budget: at its deadline (at=deadline, the window
 * still open: duration and breakdown so far) and at its STOP (at=stop,
 * final). culprit: who ran most instead of the task (-1: nobody).
 */
TRACE_EVENT(window_overrun,

	TP_PROTO(int pid, const char *comm, const struct rtt_win_notice *n,
		 int culprit_pid, const char *culprit_comm),

	TP_ARGS(pid, comm, n, culprit_pid, culprit_comm),

	TP_STRUCT__entry(
		__field(int, pid)
		__array(char, comm, 16)
		__field(u64, tag)
		__field(unsigned int, at)
		__field(unsigned int, state)
		__field(unsigned int, depth)
		__field(u64, budget_ns)
		__field(u64, duration_ns)
		__field(u64, late_ns)
		__field(u64, running_ns)
		__field(u64, waiting_ns)
		__field(u64, sleep_timer_ns)
		__field(u64, sleep_lock_ns)
		__field(u64, sleep_io_ns)
		__field(u64, sleep_other_ns)
		__field(int, culprit_pid)
		__array(char, culprit_comm, 16)
	),

	TP_fast_assign(
		__entry->pid = pid;
		memcpy(__entry->comm, comm, 16);
		__entry->tag = n->tag;
		__entry->at = n->what;
		__entry->state = n->state;
		__entry->depth = n->depth;
		__entry->budget_ns = n->budget_ns;
		__entry->duration_ns = n->duration_ns;
		__entry->late_ns = n->late_ns;
		__entry->running_ns = n->bd.running_ns;
		__entry->waiting_ns = n->bd.waiting_ns;
		__entry->sleep_timer_ns = n->bd.sleep_ns[0];
		__entry->sleep_lock_ns = n->bd.sleep_ns[1];
		__entry->sleep_io_ns = n->bd.sleep_ns[2];
		__entry->sleep_other_ns = n->bd.sleep_ns[3];
		__entry->culprit_pid = culprit_pid;
		memcpy(__entry->culprit_comm, culprit_comm, 16);
	),

	TP_printk("pid=%d comm=%s tag=%llu at=%s state=%s depth=%u budget_ns=%llu duration_ns=%llu late_ns=%llu running_ns=%llu waiting_ns=%llu sleep_timer_ns=%llu sleep_lock_ns=%llu sleep_io_ns=%llu sleep_other_ns=%llu culprit=%d:%s",
		  __entry->pid, __entry->comm, __entry->tag,
		  __print_symbolic(__entry->at, { RTT_WIN_DEADLINE, "deadline" },
				   { RTT_WIN_STOP, "stop" }),
		  __print_symbolic(__entry->state,
				   { RTT_WS_RUNNING, "running" },
				   { RTT_WS_WAITING, "waiting" },
				   { RTT_WS_SLEEP_TIMER, "sleep_timer" },
				   { RTT_WS_SLEEP_LOCK, "sleep_lock" },
				   { RTT_WS_SLEEP_IO, "sleep_io" },
				   { RTT_WS_SLEEP_OTHER, "sleep_other" }),
		  __entry->depth, __entry->budget_ns, __entry->duration_ns,
		  __entry->late_ns, __entry->running_ns, __entry->waiting_ns,
		  __entry->sleep_timer_ns, __entry->sleep_lock_ns,
		  __entry->sleep_io_ns, __entry->sleep_other_ns,
		  __entry->culprit_pid, __entry->culprit_comm)
);

#endif /* _RTT_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE rtt_trace
#include <trace/define_trace.h>
