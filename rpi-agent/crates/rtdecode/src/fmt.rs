//! Human wording: durations, priorities, breakdowns, worst-case stories.

use rt_protocol::{
    event, event_flag, metric, sched_label, state, win_state, window_what, Breakdown, Culprit, Event, TaskInfo,
    WindowOverrun, Worst,
};

/// 850 ns, 1059 us, 12.3 ms, 2.5 s.
pub fn dur(ns: u64) -> String {
    if ns < 1_000 {
        format!("{ns} ns")
    } else if ns < 10_000_000 {
        format!("{} us", (ns + 500) / 1_000)
    } else if ns < 10_000_000_000 {
        format!("{:.1} ms", ns as f64 / 1e6)
    } else {
        format!("{:.1} s", ns as f64 / 1e9)
    }
}

/// "FIFO 80", "OTHER nice 0".
pub fn sched(policy: u8, prio: i16) -> String {
    let (name, p) = sched_label(policy, prio);
    match name {
        "OTHER" | "BATCH" | "IDLE" => format!("{name} nice {p}"),
        "DEADLINE" => name.to_string(),
        _ => format!("{name} {p}"),
    }
}

pub fn metric_name(m: u8) -> String {
    if m == rt_protocol::WINDOW_METRIC {
        return "window".into();
    }
    metric::name(m)
        .map(str::to_string)
        .unwrap_or_else(|| format!("metric{m}"))
}

/// "cyclic (pid 1234, FIFO 80)"; IRQ threads mention their IRQ.
pub fn who(t: &TaskInfo) -> String {
    let irq = if t.irq >= 0 {
        format!(", irq {}", t.irq)
    } else {
        String::new()
    };
    format!("{} (pid {}, {}{irq})", t.comm, t.pid, sched(t.policy, t.prio))
}

/// "running 1000 us + waiting 59 us + sleeping on a timer 3 us" (zero parts left out).
pub fn breakdown(b: &Breakdown) -> String {
    let parts = [
        ("running", b.running_ns),
        ("waiting", b.waiting_ns),
        ("sleeping on a timer", b.sleep_timer_ns),
        ("blocked on a lock", b.sleep_lock_ns),
        ("blocked on I/O", b.sleep_io_ns),
        ("sleeping (other)", b.sleep_other_ns),
    ];
    let s: Vec<String> = parts
        .iter()
        .filter(|(_, v)| *v != 0)
        .map(|(n, v)| format!("{n} {}", dur(*v)))
        .collect();
    if s.is_empty() {
        "no breakdown".into()
    } else {
        s.join(" + ")
    }
}

/// The whole story of a worst case in one sentence.
pub fn explain_worst(w: &Worst) -> String {
    let m = metric_name(w.metric);
    let mut s = format!("{m} {} = {}", dur(w.value_ns), breakdown(&w.breakdown));
    s.push_str(&ran_instead(&w.culprits));
    s
}

/// A budget window's tag: hex, as a binding's tag is its START offset.
pub fn window_tag(tag: u64) -> String {
    format!("window {tag:#x}")
}

/// What a task was doing at an instant (`win_state::*`).
pub fn win_state_text(st: u8) -> &'static str {
    match st {
        win_state::RUNNING => "running",
        win_state::WAITING => "waiting for the CPU",
        win_state::SLEEP_TIMER => "sleeping on a timer",
        win_state::SLEEP_LOCK => "blocked on a lock",
        win_state::SLEEP_IO => "blocked on I/O",
        win_state::SLEEP_OTHER => "sleeping (other)",
        _ => "in an unknown state",
    }
}

/// The story of a budget window's overrun in one sentence.
pub fn explain_window(w: &WindowOverrun) -> String {
    let head = if w.what == window_what::DEADLINE {
        format!(
            "{} at its deadline ({} budget), still open, {} then: {} so far",
            window_tag(w.tag),
            dur(w.budget_ns),
            win_state_text(w.state),
            dur(w.duration_ns)
        )
    } else {
        format!(
            "{} stopped after {} ({} budget)",
            window_tag(w.tag),
            dur(w.duration_ns),
            dur(w.budget_ns)
        )
    };
    format!("{head} = {}{}", breakdown(&w.breakdown), ran_instead(&w.culprits))
}

/// "; while it waited, hog (pid 456, FIFO 90) ran 59 us"; empty without culprits.
fn ran_instead(culprits: &[Culprit]) -> String {
    let mut s = String::new();
    if !culprits.is_empty() {
        let c: Vec<String> = culprits
            .iter()
            .map(|c| {
                format!(
                    "{} (pid {}, {}) ran {}",
                    c.comm,
                    c.pid,
                    sched(c.policy, c.prio),
                    dur(c.ns)
                )
            })
            .collect();
        s.push_str(&format!("; while it waited, {}", c.join(", ")));
    }
    s
}

fn ev_who(comm: &str, pid: i32, policy: u8, prio: i16) -> String {
    format!("{comm} (pid {pid}, {})", sched(policy, prio))
}

/// One event in words (`flags`: its `event_flag::*`).
pub fn event_text(e: &Event, flags: u8) -> String {
    match e.kind {
        event::WAKEUP if flags & event_flag::HARDIRQ != 0 => format!(
            "{} woken by a hard IRQ (which interrupted {}, pid {}, on the CPU that took it)",
            ev_who(&e.comm, e.pid, e.policy, e.prio),
            e.other_comm,
            e.other_pid
        ),
        event::WAKEUP => format!(
            "{} woken by {} (pid {})",
            ev_who(&e.comm, e.pid, e.policy, e.prio),
            e.other_comm,
            e.other_pid
        ),
        event::SWITCH => format!(
            "switch: {} out ({}), {} in",
            ev_who(&e.other_comm, e.other_pid, e.other_policy, e.other_prio),
            state::name(e.prev_state),
            ev_who(&e.comm, e.pid, e.policy, e.prio)
        ),
        event::MIGRATE => format!(
            "{} migrated to cpu{}",
            ev_who(&e.comm, e.pid, e.policy, e.prio),
            e.other_pid
        ),
        event::IRQ_ENTRY => format!("hard IRQ {} entry", e.pid),
        event::IRQ_EXIT => format!("hard IRQ {} exit", e.pid),
        k => format!("event {k} pid {} other {}", e.pid, e.other_pid),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rt_protocol::{bounded_str, Culprit};

    #[test]
    fn worst_story() {
        let mut w = Worst {
            metric: metric::RESPONSE,
            value_ns: 1_059_000,
            breakdown: Breakdown {
                running_ns: 1_000_000,
                waiting_ns: 59_000,
                ..Default::default()
            },
            ..Default::default()
        };
        w.culprits
            .push(Culprit {
                pid: 456,
                prio: 9,
                policy: 1,
                ns: 59_000,
                comm: bounded_str("hog"),
            })
            .unwrap();
        assert_eq!(
            explain_worst(&w),
            "response 1059 us = running 1000 us + waiting 59 us; while it waited, hog (pid 456, FIFO 90) ran 59 us"
        );
        assert_eq!(dur(850), "850 ns");
        assert_eq!(dur(12_345_678), "12.3 ms");
        assert_eq!(sched(0, 120), "OTHER nice 0");
    }

    #[test]
    fn wakeup_from_hard_irq_names_no_waker() {
        let e = Event {
            kind: event::WAKEUP,
            pid: 300,
            prio: 9,
            policy: 1,
            other_pid: 77,
            comm: bounded_str("cyclic"),
            other_comm: bounded_str("bash"),
            ..Default::default()
        };
        assert_eq!(event_text(&e, 0), "cyclic (pid 300, FIFO 90) woken by bash (pid 77)");
        assert_eq!(
            event_text(&e, event_flag::HARDIRQ),
            "cyclic (pid 300, FIFO 90) woken by a hard IRQ (which interrupted bash, pid 77, on the CPU that took it)"
        );
    }
}
