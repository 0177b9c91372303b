//! `--json`: one object per line (format in docs/protocol.md, "rtdecode --json").

use rt_protocol::{
    kind, log2_bucket_bounds, metric, Breakdown, Dropped, Event, Heartbeat, Hello, MetricStats, Notice, Stats,
    TaskInfo, TaskSnapshot, Violation, Worst,
};
use serde_json::{json, Map, Value};

use crate::fmt;

pub fn console(text: &str) -> Value {
    json!({"type": "console", "text": text})
}

pub fn hello(h: &Hello) -> Value {
    json!({
        "type": "hello",
        "protocol": format!("{}.{}", h.proto_major, h.proto_minor),
        "proto_major": h.proto_major,
        "proto_minor": h.proto_minor,
        "agent_version": h.agent_version.as_str(),
        "kernel_release": h.kernel_release.as_str(),
        "uapi_major": h.uapi_major,
        "uapi_minor": h.uapi_minor,
        "board": h.board.as_str(),
        "baud": h.baud,
        "module_flags": h.module_flags,
    })
}

pub fn breakdown(b: &Breakdown) -> Value {
    let sleeping = b
        .sleep_timer_ns
        .saturating_add(b.sleep_lock_ns)
        .saturating_add(b.sleep_io_ns)
        .saturating_add(b.sleep_other_ns);
    json!({
        "running_ns": b.running_ns,
        "waiting_ns": b.waiting_ns,
        "sleeping_ns": sleeping,
        "sleep_timer_ns": b.sleep_timer_ns,
        "sleep_lock_ns": b.sleep_lock_ns,
        "sleep_io_ns": b.sleep_io_ns,
        "sleep_other_ns": b.sleep_other_ns,
    })
}

fn task_fields(o: &mut Map<String, Value>, t: &TaskInfo) {
    o.insert("pid".into(), t.pid.into());
    o.insert("tgid".into(), t.tgid.into());
    o.insert("comm".into(), t.comm.as_str().into());
    o.insert("irq".into(), t.irq.into());
    o.insert("prio".into(), t.prio.into());
    o.insert("policy".into(), t.policy.into());
    o.insert("sched".into(), fmt::sched(t.policy, t.prio).into());
    o.insert("flags".into(), t.flags.into());
    o.insert("track_kind".into(), t.track_kind.into());
    o.insert("start_ns".into(), t.start_ns.into());
}

fn opt(v: Option<u64>) -> Value {
    v.map(Value::from).unwrap_or(Value::Null)
}

pub fn metric_stats(m: &MetricStats) -> Value {
    let nonempty = m.count > 0;
    let hist: Vec<Value> = m
        .log2
        .iter()
        .map(|b| {
            let (lo, hi) = log2_bucket_bounds(b.idx);
            json!([lo, opt(hi), b.count])
        })
        .collect();
    let mut o = json!({
        "count": m.count,
        "min_ns": opt(nonempty.then_some(m.min_ns)),
        "max_ns": opt(nonempty.then_some(m.max_ns)),
        "mean_ns": opt(m.mean_ns()),
        "p99_ns": opt(m.quantile_ns(0.99)),
        "bound_ns": m.bound_ns,
        "violations": m.violations,
        "last_ns": m.last_ns,
        "hist": hist,
        "worst": breakdown(&m.worst),
        "worst_at_ns": m.worst_at_ns,
    });
    if let Some(l) = &m.lin {
        let buckets: Vec<Value> = l
            .buckets
            .iter()
            .map(|b| {
                let lo = l.lo_ns.saturating_add(l.step_ns.saturating_mul(u64::from(b.idx)));
                json!([lo, lo.saturating_add(l.step_ns), b.count])
            })
            .collect();
        o["lin_hist"] =
            json!({"lo_ns": l.lo_ns, "step_ns": l.step_ns, "under": l.under, "over": l.over, "hist": buckets});
    }
    o
}

fn empty_metric() -> MetricStats {
    MetricStats {
        min_ns: u64::MAX,
        ..Default::default()
    }
}

/// TASK, IRQ and EXIT snapshots all print as `"type":"task"`, told apart by
/// `"kind"` ("task", "irq", "exit") and `"exited"`.
pub fn task(k: u16, s: &TaskSnapshot) -> Value {
    let mut o = Map::new();
    o.insert("type".into(), "task".into());
    o.insert(
        "kind".into(),
        match k {
            kind::IRQ => "irq",
            kind::EXIT => "exit",
            _ => "task",
        }
        .into(),
    );
    task_fields(&mut o, &s.task);
    o.insert("exited".into(), (k == kind::EXIT).into());
    o.insert("t_ns".into(), s.t_ns.into());
    o.insert("events_dropped".into(), s.events_dropped.into());
    let mut metrics = Map::new();
    for m in 0..metric::COUNT {
        let st = s.metric(m).cloned().unwrap_or_else(empty_metric);
        metrics.insert(fmt::metric_name(m), metric_stats(&st));
    }
    for st in s.metrics.iter().filter(|st| st.metric >= metric::COUNT) {
        metrics.insert(fmt::metric_name(st.metric), metric_stats(st));
    }
    o.insert("metrics".into(), metrics.into());
    o.into()
}

pub fn violation(v: &Violation) -> Value {
    let mut o = Map::new();
    o.insert("type".into(), "violation".into());
    task_fields(&mut o, &v.task);
    o.insert("metric".into(), fmt::metric_name(v.metric).into());
    o.insert("value_ns".into(), v.value_ns.into());
    o.insert("bound_ns".into(), v.bound_ns.into());
    o.insert("violations".into(), v.violations.into());
    o.insert("t_ns".into(), v.t_ns.into());
    o.insert("breakdown".into(), breakdown(&v.breakdown));
    o.into()
}

fn event(e: &Event, flags: u8) -> Value {
    json!({
        "t_ns": e.t_ns,
        "cpu": e.cpu,
        "event": rt_protocol::event::name(e.kind),
        "pid": e.pid,
        "comm": e.comm.as_str(),
        "prio": e.prio,
        "policy": e.policy,
        "sched": fmt::sched(e.policy, e.prio),
        "other_pid": e.other_pid,
        "other_comm": e.other_comm.as_str(),
        "other_prio": e.other_prio,
        "other_policy": e.other_policy,
        "prev_state": rt_protocol::state::name(e.prev_state),
        "hardirq": flags & rt_protocol::event_flag::HARDIRQ != 0,
        "text": fmt::event_text(e, flags),
    })
}

pub fn worst(w: &Worst) -> Value {
    let mut o = Map::new();
    o.insert("type".into(), "worst".into());
    task_fields(&mut o, &w.task);
    o.insert("metric".into(), fmt::metric_name(w.metric).into());
    o.insert("value_ns".into(), w.value_ns.into());
    o.insert("bound_ns".into(), w.bound_ns.into());
    o.insert("t_ns".into(), w.t_ns.into());
    o.insert("breakdown".into(), breakdown(&w.breakdown));
    let events: Vec<Value> = w
        .events
        .iter()
        .enumerate()
        .map(|(i, e)| event(e, w.event_flags_of(i)))
        .collect();
    o.insert("events".into(), events.into());
    o.insert("events_dropped".into(), w.events_dropped.into());
    o.insert(
        "culprits".into(),
        w.culprits
            .iter()
            .map(|c| {
                json!({"pid": c.pid, "comm": c.comm.as_str(), "prio": c.prio, "policy": c.policy,
                       "sched": fmt::sched(c.policy, c.prio), "ns": c.ns})
            })
            .collect::<Vec<_>>()
            .into(),
    );
    o.insert("explanation".into(), fmt::explain_worst(w).into());
    o.into()
}

pub fn dropped(d: &Dropped) -> Value {
    json!({"type": "dropped", "t_ns": d.t_ns, "violations": d.violations, "worst": d.worst, "exits": d.exits})
}

pub fn notice(n: &Notice) -> Value {
    json!({"type": "notice", "level": n.level, "text": n.text.as_str()})
}

/// Receiver counters plus, once a heartbeat arrived, the agent's own.
pub fn link(s: &Stats, hb: Option<&Heartbeat>, final_: bool) -> Value {
    let skipped = hb
        .map(|h| h.snapshots_skipped + h.violations_skipped + h.worst_skipped)
        .unwrap_or(0);
    let mut o = json!({
        "type": "link",
        "frames": s.frames,
        "crc_errors": s.crc_errors,
        "framing_errors": s.framing_errors,
        "resyncs": s.resyncs,
        "lost": s.lost_frames,
        "decode_errors": s.decode_errors,
        "unknown": s.unknown_kinds,
        "skipped": skipped,
        "bytes": s.bytes,
        "console_bytes": s.console_bytes,
        "onlcr_frames": s.onlcr_frames,
        "final": final_,
    });
    if let Some(h) = hb {
        o["agent"] = json!({
            "uptime_ms": h.uptime_ms,
            "frames_sent": h.frames_sent,
            "bytes_sent": h.bytes_sent,
            "snapshots_skipped": h.snapshots_skipped,
            "violations_skipped": h.violations_skipped,
            "worst_skipped": h.worst_skipped,
            "write_errors": h.write_errors,
            "reopens": h.reopens,
            "records_read": h.records_read,
            "records_unknown": h.records_unknown,
            "records_bad": h.records_bad,
            "module_state": h.module_state,
            "tracked": h.tracked,
            "budget_bps": h.budget_bps,
        });
    }
    o
}
