//! Module records (rt-uapi) -> protocol messages (rt-protocol).

use rt_protocol as p;
use rt_uapi as u;

pub fn task_info(t: &u::RttTaskInfo) -> p::TaskInfo {
    p::TaskInfo {
        pid: t.pid,
        tgid: t.tgid,
        track_kind: t.kind.min(255) as u8,
        irq: t.irq,
        flags: t.flags,
        prio: t.prio,
        policy: t.policy,
        comm: p::comm_from_bytes(&t.comm),
        start_ns: t.start_ns,
    }
}

pub fn breakdown(b: &u::RttBreakdown) -> p::Breakdown {
    p::Breakdown {
        running_ns: b.running_ns,
        waiting_ns: b.waiting_ns,
        sleep_timer_ns: b.sleep_ns[0],
        sleep_lock_ns: b.sleep_ns[1],
        sleep_io_ns: b.sleep_ns[2],
        sleep_other_ns: b.sleep_ns[3],
    }
}

fn sparse<const N: usize>(h: &[u64]) -> heapless::Vec<p::Bucket, N> {
    let mut out = heapless::Vec::new();
    for (i, &c) in h.iter().enumerate().filter(|(_, c)| **c != 0) {
        // Capacity equals the bucket count: cannot overflow.
        let _ = out.push(p::Bucket { idx: i as u8, count: c });
    }
    out
}

fn metric_stats(id: u8, m: &u::RttMetricStats) -> p::MetricStats {
    p::MetricStats {
        metric: id,
        count: m.count,
        min_ns: m.min_ns,
        max_ns: m.max_ns,
        sum_ns: m.sum_ns,
        bound_ns: m.bound_ns,
        violations: m.violations,
        last_ns: m.last_ns,
        log2: sparse(&m.log2_hist),
        lin: (m.lin_step_ns != 0).then(|| p::LinHist {
            lo_ns: m.lin_lo_ns,
            step_ns: m.lin_step_ns,
            under: m.lin_under,
            over: m.lin_over,
            buckets: sparse(&m.lin_hist),
        }),
        worst: breakdown(&m.worst),
        worst_at_ns: m.worst_at_ns,
    }
}

/// Message kind for a task record: EXIT for a final record, IRQ for IRQ threads.
pub fn snapshot_kind(t: &u::RttTaskInfo) -> u16 {
    if t.flags & u::RTT_F_EXITED != 0 {
        p::kind::EXIT
    } else if t.irq != -1 || t.flags & u::RTT_F_IRQ_THREAD != 0 {
        p::kind::IRQ
    } else {
        p::kind::TASK
    }
}

/// Metrics with a sample, a bound, a violation or a histogram are sent;
/// the others are all-zero by definition.
pub fn snapshot(r: &u::RttRecTask) -> p::Message {
    let mut metrics = heapless::Vec::new();
    for (i, m) in r.m.iter().enumerate() {
        if m.count != 0 || m.bound_ns != 0 || m.violations != 0 || m.lin_step_ns != 0 {
            let _ = metrics.push(metric_stats(i as u8, m));
        }
    }
    let s = p::TaskSnapshot {
        t_ns: r.hdr.t_ns,
        task: task_info(&r.task),
        events_dropped: r.events_dropped,
        metrics,
    };
    match snapshot_kind(&r.task) {
        p::kind::EXIT => p::Message::Exit(s),
        p::kind::IRQ => p::Message::Irq(s),
        _ => p::Message::Task(s),
    }
}

pub fn violation(r: &u::RttRecViolation) -> p::Message {
    p::Message::Violation(p::Violation {
        t_ns: r.hdr.t_ns,
        task: task_info(&r.task),
        metric: r.metric.min(255) as u8,
        value_ns: r.value_ns,
        bound_ns: r.bound_ns,
        violations: r.violations,
        breakdown: breakdown(&r.breakdown),
    })
}

fn culprit(c: &u::RttCulprit) -> p::Culprit {
    p::Culprit {
        pid: c.pid,
        prio: c.prio,
        policy: c.policy,
        ns: c.ns,
        comm: p::comm_from_bytes(&c.comm),
    }
}

fn culprits<'a>(used: impl Iterator<Item = &'a u::RttCulprit>) -> heapless::Vec<p::Culprit, { p::MAX_CULPRITS }> {
    // At most RTT_CULPRITS (4) into room for MAX_CULPRITS (8): cannot fail.
    used.map(culprit).take(p::MAX_CULPRITS).collect()
}

/// The first `nr` events with their flags, and `dropped` plus those that
/// did not fit.
#[allow(clippy::type_complexity)]
fn events(
    evs: &[u::RttEvent],
    nr: u32,
    mut dropped: u64,
) -> (
    heapless::Vec<p::Event, { p::MAX_EVENTS }>,
    heapless::Vec<u8, { p::MAX_EVENTS }>,
    u64,
) {
    let n = (nr as usize).min(evs.len());
    let mut events = heapless::Vec::new();
    let mut event_flags = heapless::Vec::new();
    for e in &evs[..n] {
        let ev = p::Event {
            t_ns: e.t_ns,
            kind: e.type_.min(255) as u8,
            cpu: e.cpu,
            pid: e.pid,
            other_pid: e.other_pid,
            prio: e.prio,
            other_prio: e.other_prio,
            policy: e.policy,
            other_policy: e.other_policy,
            prev_state: e.prev_state,
            comm: p::comm_from_bytes(&e.comm),
            other_comm: p::comm_from_bytes(&e.other_comm),
        };
        if events.push(ev).is_err() {
            dropped += 1;
        } else {
            // the same capacity as events: cannot fail where that did not
            let hardirq = e.flags & u::RTT_EVF_HARDIRQ != 0;
            let _ = event_flags.push(if hardirq { p::event_flag::HARDIRQ } else { 0 });
        }
    }
    (events, event_flags, dropped)
}

pub fn worst(r: &u::RttRecWorst) -> p::Message {
    // nr_culprits from a 1.2 module; the non-empty entries from a 1.1 one.
    let culprits = culprits(r.used_culprits());
    let (events, event_flags, dropped) = events(&r.events, r.nr_events, r.events_dropped);
    p::Message::Worst(p::Worst {
        t_ns: r.hdr.t_ns,
        task: task_info(&r.task),
        metric: r.metric.min(255) as u8,
        value_ns: r.value_ns,
        bound_ns: r.bound_ns,
        events_dropped: dropped,
        breakdown: breakdown(&r.breakdown),
        culprits,
        events,
        event_flags,
    })
}

pub fn window(r: &u::RttRecWindow) -> p::Message {
    let n = (r.nr_culprits as usize).min(u::RTT_CULPRITS);
    let (events, event_flags, dropped) = events(&r.events, r.nr_events, r.events_dropped);
    p::Message::Window(p::WindowOverrun {
        t_ns: r.hdr.t_ns,
        task: task_info(&r.task),
        tag: r.tag,
        what: r.what.min(255) as u8,
        state: r.state.min(255) as u8,
        depth: r.depth.min(255) as u8,
        budget_ns: r.budget_ns,
        start_ns: r.start_ns,
        duration_ns: r.duration_ns,
        timer_late_ns: r.timer_late_ns,
        overruns: r.overruns,
        events_dropped: dropped,
        breakdown: breakdown(&r.breakdown),
        culprits: culprits(r.culprits[..n].iter()),
        events,
        event_flags,
    })
}

pub fn window_stats(r: &u::RttRecWindowStats) -> p::Message {
    let n = (r.nr_culprits as usize).min(u::RTT_CULPRITS);
    p::Message::WindowStats(p::WindowStats {
        t_ns: r.hdr.t_ns,
        task: task_info(&r.task),
        tag: r.tag,
        abandoned: r.abandoned,
        tags_dropped: r.tags_dropped,
        depth: r.depth.min(255) as u8,
        stats: metric_stats(p::WINDOW_METRIC, &r.st),
        culprits: culprits(r.culprits[..n].iter()),
    })
}

pub fn dropped(r: &u::RttRecDropped) -> p::Message {
    p::Message::Dropped(p::Dropped {
        t_ns: r.hdr.t_ns,
        violations: r.violations,
        worst: r.worst,
        exits: r.exits,
    })
}

// Every module array fits its message's bounded vector.
const _: () = {
    assert!(u::RTT_CULPRITS <= p::MAX_CULPRITS);
    assert!(u::RTT_TRACE_EVENTS <= p::MAX_EVENTS);
    assert!(u::RTT_NR_METRICS <= p::MAX_METRICS);
};

/// A stimulus pulse as its wire message.
pub fn pulse(x: &crate::stimulus::Pulse, skipped: u64) -> p::Message {
    p::Message::GpioPulse(p::GpioPulse {
        seq: x.seq,
        t_stimulus: x.t_stimulus,
        t_hard: x.t_hard,
        t_thread: x.t_thread,
        t_done: x.t_done,
        flags: x.flags,
        skipped,
    })
}

/// Summarised stimulus pulses as their wire message.
pub fn pulse_summary(s: &crate::stimulus::Summary, t_ns: u64) -> p::Message {
    let measured = s.count - s.no_readback;
    let span = |i: usize| match s.sum[i].checked_div(measured) {
        None => p::Span::default(),
        Some(mean_ns) => p::Span {
            min_ns: s.min[i],
            mean_ns,
            max_ns: s.max[i],
        },
    };
    p::Message::GpioSummary(p::GpioSummary {
        t_ns,
        count: s.count,
        late: s.late,
        skipped: s.skipped,
        no_readback: s.no_readback,
        stim_to_hard: span(0),
        hard_to_thread: span(1),
        thread_to_done: span(2),
        stim_to_done: span(3),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use zerocopy::IntoBytes;

    fn culprit(pid: i32, ns: u64) -> u::RttCulprit {
        u::RttCulprit {
            pid,
            ns,
            comm: *b"hog\0\0\0\0\0\0\0\0\0\0\0\0\0",
            ..Default::default()
        }
    }

    fn culprits_of(bytes: &[u8]) -> Vec<(i32, u64)> {
        let (u::Record::Worst(r), _) = u::parse_record(bytes).expect("a record") else {
            panic!("not a worst record");
        };
        let p::Message::Worst(w) = worst(&r) else {
            panic!("not a Worst message");
        };
        w.culprits.iter().map(|c| (c.pid, c.ns)).collect()
    }

    #[test]
    fn worst_sends_the_culprits_the_module_counted() {
        let mut r = u::RttRecWorst::default();
        r.hdr.type_ = u::RTT_REC_WORST;
        r.hdr.size = core::mem::size_of::<u::RttRecWorst>() as u16;
        // In use: the idle task, which ran 0 ns in this interval's rounding.
        r.culprits[0] = culprit(0, 0);
        r.culprits[1] = culprit(456, 59_000);
        // Not in use (nr_culprits = 2): must not be sent.
        r.culprits[2] = culprit(789, 1);
        r.nr_culprits = 2;
        assert_eq!(culprits_of(r.as_bytes()), [(0, 0), (456, 59_000)]);
    }

    #[test]
    fn worst_of_a_1_1_module_infers_the_culprits() {
        let mut r = u::RttRecWorst::default();
        r.hdr.type_ = u::RTT_REC_WORST;
        r.hdr.size = u::c_size::REC_WORST_V1_1 as u16;
        r.culprits[0] = culprit(456, 59_000);
        r.culprits[1] = culprit(0, 20);
        let bytes = &r.as_bytes()[..u::c_size::REC_WORST_V1_1];
        assert_eq!(culprits_of(bytes), [(456, 59_000), (0, 20)]);
    }
}
