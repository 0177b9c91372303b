/* SPDX-License-Identifier: GPL-2.0 */
/*
 * tracefs events of rt_tracer: rt_tracer:rtt_violation and
 * rt_tracer:rtt_worst (instantiated in rtt_main.c).
 */
#undef TRACE_SYSTEM
#define TRACE_SYSTEM rt_tracer

#if !defined(_RTT_TRACE_H) || defined(TRACE_HEADER_MULTI_READ)
#define _RTT_TRACE_H

#include <linux/tracepoint.h>
#include <linux/rt_tracer.h>

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

#endif /* _RTT_TRACE_H */

#undef TRACE_INCLUDE_PATH
#define TRACE_INCLUDE_PATH .
#undef TRACE_INCLUDE_FILE
#define TRACE_INCLUDE_FILE rtt_trace
#include <trace/define_trace.h>
