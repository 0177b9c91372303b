//! Findings: per task and metric, a verdict (met / violated: how often, how
//! far over the bound, the worst value) and the dominant cause of the worst
//! case in one sentence, derived from what the stream already carries — the
//! breakdown, the culprits and the events of the worst-case record, or the
//! snapshot's breakdown of its max when no record reached the host. Every
//! printer uses these (the text view's findings block, `--json` `finding`
//! lines).
//!
//! Causes are classified from data only, never from task names: which part
//! of the breakdown dominates, then who ran on the task's CPU meanwhile and
//! at which priority, who woke it after a lock or I/O sleep (the task that
//! released the lock, or answered), and which hard IRQs came in between.

use std::collections::BTreeSet;

use rt_protocol::{
    event, event_flag, metric, state, Breakdown, Culprit, Event, MetricStats, TaskInfo, WindowOverrun, Worst,
    WINDOW_METRIC,
};
use schemars::JsonSchema;
use serde::Serialize;

use crate::fmt;
use crate::state::{SnapshotKind, State, TaskKey, WindowEntry};

/// Whether a metric met its bound.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// At least one sample over the bound.
    Violated,
    /// Every sample within the bound.
    Met,
    /// Samples, but no bound to judge them by.
    NoBound,
    /// A bound, but no sample yet.
    NoSamples,
}

impl Verdict {
    pub fn key(self) -> &'static str {
        match self {
            Verdict::Violated => "violated",
            Verdict::Met => "met",
            Verdict::NoBound => "no_bound",
            Verdict::NoSamples => "no_samples",
        }
    }
}

/// The dominant cause of a worst case. The JSON keys (`key()`) are stable:
/// new causes get new keys, a key never changes meaning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum CauseKind {
    /// Waiting for its CPU while a task of higher (RT) priority ran there.
    PreemptedByHigherPrio,
    /// Waiting for its CPU while a task of the same or lower priority kept
    /// it (same FIFO priority, a section that cannot be preempted, fair
    /// sharing between normal tasks).
    CpuHeld,
    /// Asleep on a lock whose holder was kept from running by a task of
    /// priority between the holder's and its own.
    PriorityInversion,
    /// Asleep on a lock (holder named when its release is in the events).
    BlockedOnLock,
    /// Asleep in I/O (read, write, poll, ioctl...) inside the interval.
    Io,
    /// Asleep on a timer inside the interval (its own sleep).
    SleepTimer,
    /// Asleep for another reason (a kernel wait not classified as lock or I/O).
    SleepOther,
    /// Waiting while its CPU served hard interrupts, no task ran instead.
    IrqInterference,
    /// Waiting for a CPU that stayed idle: no task ran instead.
    IdleCpu,
    /// Running itself: its own work exceeded the budget.
    OwnWork,
    /// Not enough in the stream to tell.
    Unknown,
}

impl CauseKind {
    pub const ALL: [CauseKind; 11] = [
        CauseKind::PreemptedByHigherPrio,
        CauseKind::CpuHeld,
        CauseKind::PriorityInversion,
        CauseKind::BlockedOnLock,
        CauseKind::Io,
        CauseKind::SleepTimer,
        CauseKind::SleepOther,
        CauseKind::IrqInterference,
        CauseKind::IdleCpu,
        CauseKind::OwnWork,
        CauseKind::Unknown,
    ];

    /// The stable key, as in JSON.
    pub fn key(self) -> &'static str {
        match self {
            CauseKind::PreemptedByHigherPrio => "preempted_by_higher_prio",
            CauseKind::CpuHeld => "cpu_held",
            CauseKind::PriorityInversion => "priority_inversion",
            CauseKind::BlockedOnLock => "blocked_on_lock",
            CauseKind::Io => "io",
            CauseKind::SleepTimer => "sleep_timer",
            CauseKind::SleepOther => "sleep_other",
            CauseKind::IrqInterference => "irq_interference",
            CauseKind::IdleCpu => "idle_cpu",
            CauseKind::OwnWork => "own_work",
            CauseKind::Unknown => "unknown",
        }
    }
}

/// The part of a breakdown that dominates.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    Running,
    Waiting,
    SleepTimer,
    SleepLock,
    SleepIo,
    SleepOther,
}

impl Part {
    /// The largest part (the first of equal ones), `None` for an empty breakdown.
    pub fn dominant(b: &Breakdown) -> Option<(Part, u64)> {
        let parts = [
            (Part::Running, b.running_ns),
            (Part::Waiting, b.waiting_ns),
            (Part::SleepTimer, b.sleep_timer_ns),
            (Part::SleepLock, b.sleep_lock_ns),
            (Part::SleepIo, b.sleep_io_ns),
            (Part::SleepOther, b.sleep_other_ns),
        ];
        let mut best: Option<(Part, u64)> = None;
        for (p, v) in parts {
            if v > 0 && best.is_none_or(|(_, b)| v > b) {
                best = Some((p, v));
            }
        }
        best
    }

    /// The `prev_state` of a switch-out that starts this kind of sleep.
    fn sleep_state(self) -> Option<u8> {
        match self {
            Part::SleepTimer => Some(state::SLEEP_TIMER),
            Part::SleepLock => Some(state::SLEEP_LOCK),
            Part::SleepIo => Some(state::SLEEP_IO),
            Part::SleepOther => Some(state::SLEEP_OTHER),
            Part::Running | Part::Waiting => None,
        }
    }
}

/// Another task a cause names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    pub pid: i32,
    pub comm: String,
    pub prio: i16,
    pub policy: u8,
    /// Time it ran on the tracked task's CPU meanwhile (it was a culprit).
    pub ran_ns: Option<u64>,
}

impl Peer {
    fn of_culprit(c: &Culprit) -> Self {
        Peer {
            pid: c.pid,
            comm: c.comm.to_string(),
            prio: c.prio,
            policy: c.policy,
            ran_ns: Some(c.ns),
        }
    }

    /// "prio_hog (pid 172, FIFO 60)".
    pub fn who(&self) -> String {
        format!(
            "{} (pid {}, {})",
            self.comm,
            self.pid,
            fmt::sched(self.policy, self.prio)
        )
    }
}

/// Where the evidence for a cause came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Evidence {
    /// The worst-case record of this max: breakdown, culprits, events.
    Record,
    /// Only the snapshot's breakdown of the max (its worst-case record did
    /// not reach the host: skipped by the agent, dropped by the module, or
    /// sent before this capture began).
    BreakdownOnly,
}

/// The dominant cause of one worst case.
#[derive(Debug, Clone, PartialEq)]
pub struct Cause {
    pub kind: CauseKind,
    pub metric: u8,
    /// The tracked task's kernel prio (what "higher" is measured against).
    pub task_prio: i16,
    /// The dominant part of the breakdown and its length.
    pub part: Option<Part>,
    pub part_ns: u64,
    /// The whole value the breakdown explains.
    pub value_ns: u64,
    /// The task the cause blames: the one that ran instead, the medium task
    /// of an inversion, the lock holder, the task that answered the I/O.
    pub culprit: Option<Peer>,
    /// The lock's holder, when its release is in the events (the task that
    /// woke it after the lock sleep).
    pub lock_holder: Option<Peer>,
    /// How the lock holder went to sleep during the wait, if it did there
    /// (a `state::*` of its switch-out).
    pub holder_slept: Option<u8>,
    /// The task's CPU during the worst case (from its events).
    pub cpu: Option<u16>,
    /// Hard IRQ numbers entered on that CPU during the interval.
    pub hard_irqs: Vec<i32>,
    pub evidence: Evidence,
    /// Interval events the module could not keep (the record is partial).
    pub events_dropped: u64,
}

/// The verdict and cause of one (task, metric).
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    pub task: TaskInfo,
    pub key: TaskKey,
    /// The task has exited (its final record came).
    pub exited: bool,
    pub metric: u8,
    /// A budget window's tag (`metric` is then `WINDOW_METRIC`).
    pub window_tag: Option<u64>,
    pub verdict: Verdict,
    pub count: u64,
    /// Cumulative, exact (the module's count).
    pub violations: u64,
    /// 0: none.
    pub bound_ns: u64,
    /// `None` while there is no sample.
    pub worst_ns: Option<u64>,
    pub cause: Option<Cause>,
}

impl Finding {
    /// "latency", "window 0x7".
    pub fn metric_label(&self) -> String {
        match self.window_tag {
            Some(t) => fmt::window_tag(t),
            None => fmt::metric_name(self.metric),
        }
    }

    /// How far the worst is over the bound.
    pub fn excess_ns(&self) -> Option<u64> {
        let w = self.worst_ns?;
        (self.bound_ns > 0 && w > self.bound_ns).then(|| w - self.bound_ns)
    }

    /// Worst / bound.
    pub fn worst_to_bound(&self) -> Option<f64> {
        let w = self.worst_ns?;
        (self.bound_ns > 0).then(|| w as f64 / self.bound_ns as f64)
    }

    /// The cause in one sentence (`None` without a sample).
    pub fn sentence(&self) -> Option<String> {
        self.cause.as_ref().map(Cause::sentence)
    }
}

/// Prio numbers are the kernel's: lower is more important; 0-99 are RT.
fn is_rt(prio: i16) -> bool {
    (0..100).contains(&prio)
}

/// The CPU the tracked task was on: where it was switched in, else woken.
fn task_cpu(pid: i32, events: &[Event]) -> Option<u16> {
    events
        .iter()
        .rev()
        .find(|e| e.kind == event::SWITCH && e.pid == pid)
        .or_else(|| events.iter().find(|e| e.kind == event::WAKEUP && e.pid == pid))
        .map(|e| e.cpu)
}

/// The task that woke `pid` after its longest sleep of `kind` (the lock's
/// releaser, the I/O's answer): a wakeup from a task, not from hard IRQ.
fn waker_after_sleep(w: &Worst, pid: i32, kind: u8) -> Option<Peer> {
    let ev = &w.events;
    let mut best: Option<(u64, Peer)> = None;
    for (i, out) in ev.iter().enumerate() {
        if !(out.kind == event::SWITCH && out.other_pid == pid && out.prev_state == kind) {
            continue;
        }
        let wake = ev[i + 1..]
            .iter()
            .enumerate()
            .find(|(_, e)| e.kind == event::WAKEUP && e.pid == pid);
        let Some((j, wake)) = wake else { continue };
        if w.event_flags_of(i + 1 + j) & event_flag::HARDIRQ != 0 {
            continue;
        }
        let slept = wake.t_ns.saturating_sub(out.t_ns);
        if best.as_ref().is_none_or(|(b, _)| slept > *b) {
            let ran_ns = w.culprits.iter().find(|c| c.pid == wake.other_pid).map(|c| c.ns);
            best = Some((
                slept,
                Peer {
                    pid: wake.other_pid,
                    comm: wake.other_comm.to_string(),
                    prio: wake.other_prio,
                    policy: wake.other_policy,
                    ran_ns,
                },
            ));
        }
    }
    best.map(|(_, p)| p)
}

/// The sleep state of `pid`'s first voluntary switch-out in the events.
fn blocked_state(events: &[Event], pid: i32) -> Option<u8> {
    events
        .iter()
        .find(|e| e.kind == event::SWITCH && e.other_pid == pid && e.prev_state != state::PREEMPTED)
        .map(|e| e.prev_state)
}

/// Hard IRQs entered on `cpu` during the interval, in order, each number
/// once; not `own`, the IRQ whose thread is tracked (it opens irq_delay).
fn hard_irqs(events: &[Event], cpu: Option<u16>, own: i32) -> Vec<i32> {
    let mut irqs = Vec::new();
    for e in events.iter().filter(|e| e.kind == event::IRQ_ENTRY && e.pid != own) {
        if cpu.is_none_or(|c| c == e.cpu) && !irqs.contains(&e.pid) {
            irqs.push(e.pid);
        }
    }
    irqs
}

/// The CPU was idle while the task waited: it was woken interrupting the
/// idle task, or switched in from it, and nobody else ran.
fn idle_while_waiting(pid: i32, events: &[Event]) -> bool {
    let from_idle = |e: &Event| e.other_pid == 0 && e.other_comm.starts_with("swapper");
    let into = events.iter().rev().find(|e| e.kind == event::SWITCH && e.pid == pid);
    into.is_some_and(from_idle)
}

/// Classify the worst case of `metric` of `task` from what is known of it.
/// `record`: the worst-case record of that value, if it reached the host.
pub fn classify(task: &TaskInfo, metric: u8, b: &Breakdown, value_ns: u64, record: Option<&Worst>) -> Cause {
    let (part, part_ns) = match Part::dominant(b) {
        Some((p, v)) => (Some(p), v),
        None => (None, 0),
    };
    let (culprits, events): (&[Culprit], &[Event]) = match record {
        Some(w) => (&w.culprits, &w.events),
        None => (&[], &[]),
    };
    let cpu = task_cpu(task.pid, events);
    let irqs = hard_irqs(events, cpu, task.irq);
    let mut c = Cause {
        kind: CauseKind::Unknown,
        metric,
        task_prio: task.prio,
        part,
        part_ns,
        value_ns,
        culprit: None,
        lock_holder: None,
        holder_slept: None,
        cpu,
        hard_irqs: irqs.clone(),
        evidence: if record.is_some() {
            Evidence::Record
        } else {
            Evidence::BreakdownOnly
        },
        events_dropped: record.map_or(0, |w| w.events_dropped),
    };
    let top = culprits.iter().max_by_key(|c| c.ns);
    c.kind = match part {
        None => CauseKind::Unknown,
        Some(Part::Running) => CauseKind::OwnWork,
        Some(Part::Waiting) => {
            let culprit_ns: u64 = culprits.iter().map(|c| c.ns).sum();
            match top {
                // Whoever ran covers a good part of the wait: it is the cause.
                Some(t) if culprit_ns.saturating_mul(2) >= part_ns => {
                    c.culprit = Some(Peer::of_culprit(t));
                    if is_rt(t.prio) && t.prio < task.prio {
                        CauseKind::PreemptedByHigherPrio
                    } else {
                        CauseKind::CpuHeld
                    }
                }
                _ if !irqs.is_empty() => CauseKind::IrqInterference,
                _ if record.is_some() && idle_while_waiting(task.pid, events) => CauseKind::IdleCpu,
                Some(t) => {
                    c.culprit = Some(Peer::of_culprit(t));
                    if is_rt(t.prio) && t.prio < task.prio {
                        CauseKind::PreemptedByHigherPrio
                    } else {
                        CauseKind::CpuHeld
                    }
                }
                None => CauseKind::Unknown,
            }
        }
        Some(Part::SleepLock) => {
            let holder = record.and_then(|w| waker_after_sleep(w, task.pid, state::SLEEP_LOCK));
            // A task that ran while it slept on the lock, other than the
            // holder, more important than the holder and less than the task:
            // it kept the holder from releasing the lock.
            // It must have taken a good part of the wait (a kernel thread
            // running a few microseconds is no inversion).
            let medium = holder.as_ref().and_then(|h| {
                culprits
                    .iter()
                    .filter(|x| x.pid != h.pid && x.prio < h.prio && x.prio > task.prio)
                    .filter(|x| x.ns.saturating_mul(4) >= part_ns)
                    .max_by_key(|x| x.ns)
            });
            c.holder_slept = holder
                .as_ref()
                .and_then(|h| record.and_then(|w| blocked_state(&w.events, h.pid)));
            match (holder, medium) {
                (Some(h), Some(m)) => {
                    c.culprit = Some(Peer::of_culprit(m));
                    c.lock_holder = Some(h);
                    CauseKind::PriorityInversion
                }
                (Some(h), None) => {
                    c.culprit = Some(h.clone());
                    c.lock_holder = Some(h);
                    CauseKind::BlockedOnLock
                }
                (None, _) => {
                    // Holder unknown: name who ran meanwhile, no more.
                    c.culprit = top.map(Peer::of_culprit);
                    CauseKind::BlockedOnLock
                }
            }
        }
        Some(p @ (Part::SleepIo | Part::SleepTimer | Part::SleepOther)) => {
            if let (Some(w), Some(st)) = (record, p.sleep_state()) {
                c.culprit = waker_after_sleep(w, task.pid, st);
            }
            match p {
                Part::SleepIo => CauseKind::Io,
                Part::SleepTimer => CauseKind::SleepTimer,
                _ => CauseKind::SleepOther,
            }
        }
    };
    c
}

impl Cause {
    fn cpu_name(&self) -> String {
        self.cpu.map_or("its CPU".into(), |c| format!("cpu{c}"))
    }

    fn irq_list(&self) -> String {
        let n: Vec<String> = self.hard_irqs.iter().map(|i| i.to_string()).collect();
        format!("hard IRQ{} {}", if n.len() == 1 { "" } else { "s" }, n.join(", "))
    }

    /// The cause in one sentence: what the time went to, with the task that
    /// took it, then the diagnosis after a colon.
    pub fn sentence(&self) -> String {
        let d = fmt::dur(self.part_ns);
        let irq_thread = matches!(self.metric, metric::IRQ_DELAY | metric::IRQ);
        let cpu = self.cpu_name();
        let culprit = self.culprit.as_ref().map(Peer::who);
        let unnamed = "a task the record does not name".to_string();
        // The subject: who waited or slept (an IRQ thread speaks of itself as one).
        let waited = match self.metric {
            metric::IRQ_DELAY => format!("the IRQ thread waited {d} for {cpu} after its hard IRQ"),
            metric::IRQ => format!("the handler waited {d} for {cpu}"),
            _ => format!("waiting {d} for {cpu}"),
        };
        let partial = match (self.evidence, self.events_dropped) {
            (Evidence::BreakdownOnly, _) => " (its worst-case record did not reach the host)",
            (Evidence::Record, n) if n > 0 => " (the module's log did not reach back over the whole interval)",
            _ => "",
        };
        let same_cpu = if irq_thread {
            "a higher-priority task on the IRQ thread's CPU"
        } else {
            "a higher-priority task on the same CPU"
        };
        match self.kind {
            CauseKind::PreemptedByHigherPrio => {
                format!("{waited} while {} ran: {same_cpu}", culprit.unwrap_or(unnamed))
            }
            CauseKind::CpuHeld => {
                let why = match &self.culprit {
                    Some(c) if !is_rt(c.prio) && !is_rt(self.task_prio) => {
                        "CPU sharing between normal (SCHED_OTHER) tasks"
                    }
                    _ => {
                        "a task of no higher priority kept the CPU (a priority-inheritance boost, \
                         equal FIFO priority, or a section that cannot be preempted)"
                    }
                };
                format!("{waited} while {} ran: {why}", culprit.unwrap_or(unnamed))
            }
            CauseKind::PriorityInversion => {
                let holder = self.lock_holder.as_ref().map(Peer::who).unwrap_or_default();
                format!(
                    "sleeping {d} on a lock held by {holder} while {} ran: priority inversion \
                     (the lock holder was kept from running; priority inheritance would bound it)",
                    culprit.unwrap_or(unnamed)
                )
            }
            CauseKind::BlockedOnLock => match (&self.lock_holder, &self.culprit) {
                // The holder ran most of the wait: its critical section is long.
                (Some(h), _) if h.ran_ns.unwrap_or(0).saturating_mul(2) >= self.part_ns => format!(
                    "sleeping {d} on a lock held by {}, which ran {} on {cpu} meanwhile: \
                     the critical section is long",
                    h.who(),
                    fmt::dur(h.ran_ns.unwrap_or(0))
                ),
                (Some(h), _) => {
                    let ran = match h.ran_ns {
                        Some(ns) => format!("ran only {} on {cpu} meanwhile", fmt::dur(ns)),
                        None => format!("did not run on {cpu} meanwhile"),
                    };
                    let slept = match self.holder_slept {
                        Some(state::SLEEP_TIMER) => " (it went to sleep on a timer holding it)",
                        Some(state::SLEEP_LOCK) => " (it went to sleep on another lock holding it)",
                        Some(state::SLEEP_IO) => " (it went to sleep in I/O holding it)",
                        Some(_) => " (it went to sleep holding it)",
                        None => "",
                    };
                    format!(
                        "sleeping {d} on a lock held by {}, which {ran}{slept}: \
                         the holder blocks (or runs elsewhere) with the lock held",
                        h.who()
                    )
                }
                (None, Some(c)) => format!(
                    "sleeping {d} on a lock (its holder is not in the record) while {} ran on {cpu}{partial}",
                    c.who()
                ),
                (None, None) => format!("sleeping {d} on a lock (its holder is not in the record){partial}"),
            },
            CauseKind::Io => {
                let lead = if self.metric == metric::RELIEF {
                    format!("blocked {d} in I/O inside its cycle")
                } else {
                    format!("blocked {d} in I/O")
                };
                match &culprit {
                    Some(c) => format!("{lead} until {c} answered: a blocking call in the time-critical path"),
                    None => format!("{lead}: a blocking call in the time-critical path{partial}"),
                }
            }
            CauseKind::SleepTimer => {
                format!("sleeping {d} on a timer inside the interval: its own sleep (nanosleep) is part of the time")
            }
            CauseKind::SleepOther => match &culprit {
                Some(c) => format!("sleeping {d} (a kernel wait, not a lock or I/O) until {c} woke it"),
                None => format!("sleeping {d} (a kernel wait, not a lock or I/O){partial}"),
            },
            CauseKind::IrqInterference => format!(
                "{waited} while {} came in and no task ran instead: interrupt load on that CPU",
                self.irq_list()
            ),
            CauseKind::IdleCpu => {
                format!("{waited}, which stayed idle: no task ran instead (time in the kernel or in leaving idle)")
            }
            CauseKind::OwnWork => match self.metric {
                metric::IRQ => format!("the handler ran {d} itself: its own work exceeded the budget"),
                metric::IRQ_DELAY => format!("running {d} before the handler: the thread's own work"),
                metric::RELIEF => format!("running {d} itself: the loop's own work exceeded its budget"),
                // Woken while still on its CPU (the activation before overran),
                // then preempted: the module counts that running in latency.
                metric::LATENCY => format!(
                    "running {d} when woken (still busy from its previous activation, then preempted): \
                     its own work overran the period"
                ),
                _ => format!("running {d} itself: its own work exceeded the budget"),
            },
            CauseKind::Unknown => match self.part {
                Some(Part::Waiting) => {
                    format!("{waited}; who ran instead is not known{partial}")
                }
                _ => format!("no breakdown of the worst case{partial}"),
            },
        }
    }
}

fn finding(st: &State, key: TaskKey, task: &TaskInfo, exited: bool, m: &MetricStats) -> Finding {
    let tally = st.violations.get(&(key, m.metric));
    let record = st.worst.get(&(key, m.metric));
    let has = m.count > 0;
    let bound_ns = if m.bound_ns > 0 {
        m.bound_ns
    } else {
        tally.map_or(0, |t| t.bound_ns)
    };
    let worst_ns = [
        has.then_some(m.max_ns),
        record.map(|w| w.value_ns),
        tally.map(|t| t.worst_ns),
    ]
    .into_iter()
    .flatten()
    .max();
    let violations = m.violations.max(tally.map_or(0, |t| t.violations));
    let verdict = match worst_ns {
        None => Verdict::NoSamples,
        Some(_) if bound_ns == 0 => Verdict::NoBound,
        Some(w) if violations > 0 || w > bound_ns => Verdict::Violated,
        Some(_) => Verdict::Met,
    };
    let cause = worst_ns.map(|w| match record.filter(|r| r.value_ns >= w) {
        Some(r) => classify(task, m.metric, &r.breakdown, r.value_ns, Some(r)),
        None => classify(task, m.metric, &m.worst, w, None),
    });
    Finding {
        task: task.clone(),
        key,
        exited,
        metric: m.metric,
        window_tag: None,
        verdict,
        count: m.count,
        violations,
        bound_ns,
        worst_ns,
        cause,
    }
}

/// An overrun record as the worst case it is (its duration the value, its
/// budget the bound), so that the causes of scheduler metrics' worst cases
/// explain windows too, and the report draws it as one.
pub fn overrun_as_worst(w: &WindowOverrun) -> Worst {
    Worst {
        t_ns: w.t_ns,
        task: w.task.clone(),
        metric: WINDOW_METRIC,
        value_ns: w.duration_ns,
        bound_ns: w.budget_ns,
        events_dropped: w.events_dropped,
        breakdown: w.breakdown,
        culprits: w.culprits.clone(),
        events: w.events.clone(),
        event_flags: w.event_flags.clone(),
    }
}

/// The finding of a task's budget windows of one tag.
fn window_finding(key: TaskKey, tag: u64, e: &WindowEntry, exited: bool) -> Option<Finding> {
    let task = e.task()?.clone();
    let stats = e.stats.as_ref().map(|s| &s.stats);
    let count = stats.map_or(0, |s| s.count);
    let bound_ns = stats
        .map(|s| s.bound_ns)
        .filter(|b| *b > 0)
        .or(e.worst.as_ref().map(|w| w.budget_ns))
        .unwrap_or(0);
    let record = e.worst.as_ref().map(overrun_as_worst);
    let worst_ns = [
        stats.filter(|s| s.count > 0).map(|s| s.max_ns),
        record.as_ref().map(|w| w.value_ns),
    ]
    .into_iter()
    .flatten()
    .max();
    let violations = e.overrun_count();
    let verdict = match worst_ns {
        None => Verdict::NoSamples,
        Some(_) if bound_ns == 0 => Verdict::NoBound,
        Some(w) if violations > 0 || w > bound_ns => Verdict::Violated,
        Some(_) => Verdict::Met,
    };
    let cause = worst_ns.map(|w| match record.as_ref().filter(|r| r.value_ns >= w) {
        Some(r) => classify(&task, WINDOW_METRIC, &r.breakdown, r.value_ns, Some(r)),
        None => classify(
            &task,
            WINDOW_METRIC,
            &stats.map(|s| s.worst).unwrap_or_default(),
            w,
            None,
        ),
    });
    Some(Finding {
        task,
        key,
        exited,
        metric: WINDOW_METRIC,
        window_tag: Some(tag),
        verdict,
        count,
        violations,
        bound_ns,
        worst_ns,
        cause,
    })
}

/// The findings of a task's budget windows, one per tag.
fn window_findings(st: &State, key: TaskKey, exited: bool) -> impl Iterator<Item = Finding> + '_ {
    st.windows
        .range((key, 0)..=(key, u64::MAX))
        .filter_map(move |((_, tag), e)| window_finding(key, *tag, e, exited))
}

/// The findings of one task: one per metric with a sample or a bound, then
/// one per budget window tag.
pub fn of_task(st: &State, key: TaskKey) -> Vec<Finding> {
    let Some(e) = st.tasks.get(&key) else {
        return Vec::new();
    };
    let exited = e.kind == SnapshotKind::Exit;
    let mut seen: Vec<u8> = Vec::new();
    let mut out: Vec<Finding> = e
        .snap
        .metrics
        .iter()
        .filter(|m| m.count > 0 || m.bound_ns > 0)
        .map(|m| {
            seen.push(m.metric);
            finding(st, key, &e.snap.task, exited, m)
        })
        .collect();
    // Violations of a metric the latest snapshot does not carry.
    for ((k, metric), t) in st.violations.range((key, 0)..=(key, u8::MAX)) {
        if *k == key && !seen.contains(metric) {
            let m = MetricStats {
                metric: *metric,
                min_ns: u64::MAX,
                bound_ns: t.bound_ns,
                ..Default::default()
            };
            out.push(finding(st, key, &e.snap.task, exited, &m));
        }
    }
    out.extend(window_findings(st, key, exited));
    out
}

/// Every task's findings: violated first (furthest over the bound first),
/// then met, then those without a bound or a sample, each in task order.
pub fn all(st: &State) -> Vec<Finding> {
    let mut out: Vec<Finding> = st.tasks.keys().flat_map(|k| of_task(st, *k)).collect();
    // Violations of tasks no snapshot described (the capture began late).
    for ((key, metric), t) in &st.violations {
        if st.tasks.contains_key(key) {
            continue;
        }
        let record = st.worst.get(&(*key, *metric));
        let worst = t.worst_ns.max(record.map_or(0, |w| w.value_ns));
        let cause = match record.filter(|r| r.value_ns >= worst) {
            Some(r) => classify(&t.task, *metric, &r.breakdown, r.value_ns, Some(r)),
            None => classify(&t.task, *metric, &Breakdown::default(), worst, None),
        };
        out.push(Finding {
            task: t.task.clone(),
            key: *key,
            exited: false,
            metric: *metric,
            window_tag: None,
            verdict: Verdict::Violated,
            count: 0,
            violations: t.violations,
            bound_ns: t.bound_ns,
            worst_ns: Some(worst),
            cause: Some(cause),
        });
    }
    // Windows of tasks no snapshot described.
    let orphans: BTreeSet<TaskKey> = st
        .windows
        .keys()
        .map(|(k, _)| *k)
        .filter(|k| !st.tasks.contains_key(k))
        .collect();
    for k in orphans {
        out.extend(window_findings(st, k, false));
    }
    // Stable: task order within each verdict; violations by how far over.
    out.sort_by(|a, b| {
        a.verdict.cmp(&b.verdict).then_with(|| {
            if a.verdict == Verdict::Violated {
                let r = |f: &Finding| f.worst_to_bound().unwrap_or(0.0);
                r(b).total_cmp(&r(a))
            } else {
                std::cmp::Ordering::Equal
            }
        })
    });
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rt_protocol::{bounded_str, Culprit, Message, TaskSnapshot, Violation};

    const US: u64 = 1_000;
    const MS: u64 = 1_000_000;

    fn task(pid: i32, comm: &str, prio: i16) -> TaskInfo {
        TaskInfo {
            pid,
            tgid: pid,
            irq: -1,
            prio,
            policy: 1,
            comm: bounded_str(comm),
            start_ns: 1,
            ..Default::default()
        }
    }

    fn culprit(pid: i32, comm: &str, prio: i16, policy: u8, ns: u64) -> Culprit {
        Culprit {
            pid,
            prio,
            policy,
            ns,
            comm: bounded_str(comm),
        }
    }

    /// An event; `pid`/`comm` the task it is about (woken, switched in),
    /// `other` the waker, interrupted or switched-out task.
    fn ev(kind: u8, t_ns: u64, cpu: u16, who: (i32, &str, i16), other: (i32, &str, i16), prev_state: u8) -> Event {
        Event {
            t_ns,
            kind,
            cpu,
            pid: who.0,
            comm: bounded_str(who.1),
            prio: who.2,
            policy: if who.2 < 100 { 1 } else { 0 },
            other_pid: other.0,
            other_comm: bounded_str(other.1),
            other_prio: other.2,
            other_policy: if other.2 < 100 { 1 } else { 0 },
            prev_state,
        }
    }

    fn worst(t: &TaskInfo, metric: u8, b: Breakdown, culprits: &[Culprit], events: &[(Event, u8)]) -> Worst {
        let mut w = Worst {
            t_ns: 10 * MS,
            task: t.clone(),
            metric,
            value_ns: b.running_ns
                + b.waiting_ns
                + b.sleep_timer_ns
                + b.sleep_lock_ns
                + b.sleep_io_ns
                + b.sleep_other_ns,
            bound_ns: 200 * US,
            breakdown: b,
            ..Default::default()
        };
        for c in culprits {
            w.culprits.push(c.clone()).unwrap();
        }
        for (e, f) in events {
            w.events.push(e.clone()).unwrap();
            w.event_flags.push(*f).unwrap();
        }
        w
    }

    fn cause_of(w: &Worst) -> Cause {
        classify(&w.task, w.metric, &w.breakdown, w.value_ns, Some(w))
    }

    const HARD: u8 = event_flag::HARDIRQ;
    const CTRL: (i32, &str, i16) = (173, "ctrl_loop", 49);
    const IDLE: (i32, &str, i16) = (0, "swapper/1", 120);

    #[test]
    fn waiting_while_a_higher_rt_priority_task_ran() {
        let t = task(173, "ctrl_loop", 49);
        let hog = (172, "prio_hog", 39);
        let w = worst(
            &t,
            metric::LATENCY,
            Breakdown {
                waiting_ns: 3_800 * US,
                ..Default::default()
            },
            &[culprit(172, "prio_hog", 39, 1, 3_800 * US)],
            &[
                (ev(event::WAKEUP, 0, 1, CTRL, hog, 0), HARD),
                (ev(event::SWITCH, 3_800 * US, 1, CTRL, hog, state::SLEEP_TIMER), 0),
            ],
        );
        let c = cause_of(&w);
        assert_eq!(c.kind, CauseKind::PreemptedByHigherPrio);
        assert_eq!(c.culprit.as_ref().map(|p| p.comm.as_str()), Some("prio_hog"));
        assert_eq!(
            c.sentence(),
            "waiting 3800 us for cpu1 while prio_hog (pid 172, FIFO 60) ran: a higher-priority task on the same CPU"
        );
    }

    #[test]
    fn waiting_while_an_equal_or_lower_priority_task_ran() {
        let t = task(173, "ctrl_loop", 49);
        let w = worst(
            &t,
            metric::LATENCY,
            Breakdown {
                waiting_ns: 900 * US,
                ..Default::default()
            },
            &[culprit(50, "other_rt", 49, 1, 900 * US)],
            &[],
        );
        let c = cause_of(&w);
        assert_eq!(c.kind, CauseKind::CpuHeld);
        assert_eq!(c.culprit.unwrap().comm, "other_rt");
        // A normal task is never "higher priority", whatever its nice.
        let t = task(9, "normal", 130);
        let w = worst(
            &t,
            metric::LATENCY,
            Breakdown {
                waiting_ns: 900 * US,
                ..Default::default()
            },
            &[culprit(50, "nice_m5", 115, 0, 900 * US)],
            &[],
        );
        assert_eq!(cause_of(&w).kind, CauseKind::CpuHeld);
    }

    fn inversion(with_medium: bool) -> Worst {
        let t = task(180, "pi_high", 69);
        let high = (180, "pi_high", 69);
        let low = (178, "pi_low", 89);
        let med = (179, "pi_med", 79);
        let mut culprits = vec![culprit(178, "pi_low", 89, 1, 1_500 * US)];
        let mut events = vec![(ev(event::SWITCH, 100 * US, 1, low, high, state::SLEEP_LOCK), 0)];
        if with_medium {
            culprits.insert(0, culprit(179, "pi_med", 79, 1, 5_000 * US));
            events.push((ev(event::SWITCH, 600 * US, 1, med, low, state::PREEMPTED), 0));
            events.push((ev(event::SWITCH, 5_600 * US, 1, low, med, state::SLEEP_TIMER), 0));
        }
        let end = if with_medium { 6_600 } else { 1_600 } * US;
        events.push((ev(event::WAKEUP, end, 1, high, low, 0), 0));
        events.push((ev(event::SWITCH, end, 1, high, low, state::PREEMPTED), 0));
        worst(
            &t,
            metric::RESPONSE,
            Breakdown {
                running_ns: 100 * US,
                sleep_lock_ns: end - 100 * US,
                ..Default::default()
            },
            &culprits,
            &events,
        )
    }

    #[test]
    fn a_medium_task_running_while_the_holder_keeps_the_lock_is_an_inversion() {
        let c = cause_of(&inversion(true));
        assert_eq!(c.kind, CauseKind::PriorityInversion);
        assert_eq!(c.culprit.as_ref().unwrap().comm, "pi_med");
        assert_eq!(c.lock_holder.as_ref().unwrap().comm, "pi_low");
        assert_eq!(
            c.sentence(),
            "sleeping 6500 us on a lock held by pi_low (pid 178, FIFO 10) while pi_med (pid 179, FIFO 20) ran: \
             priority inversion (the lock holder was kept from running; priority inheritance would bound it)"
        );
    }

    #[test]
    fn a_lock_whose_holder_ran_is_a_long_critical_section() {
        let c = cause_of(&inversion(false));
        assert_eq!(c.kind, CauseKind::BlockedOnLock);
        assert_eq!(c.culprit.as_ref().unwrap().comm, "pi_low");
        assert!(
            c.sentence()
                .starts_with("sleeping 1500 us on a lock held by pi_low (pid 178, FIFO 10), which ran 1500 us on cpu1"),
            "{}",
            c.sentence()
        );
    }

    #[test]
    fn a_kernel_thread_running_a_few_microseconds_is_no_inversion() {
        let t = task(190, "bb_rt", 49);
        let rt = (190, "bb_rt", 49);
        let bg = (191, "bb_bg", 120);
        let w = worst(
            &t,
            metric::RELIEF,
            Breakdown {
                running_ns: 100 * US,
                sleep_lock_ns: 4_100 * US,
                ..Default::default()
            },
            &[
                culprit(191, "bb_bg", 120, 0, 1_000 * US),
                culprit(31, "ktimers/1", 98, 1, 7 * US),
            ],
            &[
                (ev(event::SWITCH, 100 * US, 1, bg, rt, state::SLEEP_LOCK), 0),
                (ev(event::SWITCH, 1_100 * US, 1, IDLE, bg, state::SLEEP_TIMER), 0),
                (ev(event::WAKEUP, 4_200 * US, 1, rt, bg, 0), 0),
            ],
        );
        let c = cause_of(&w);
        assert_eq!(c.kind, CauseKind::BlockedOnLock);
        assert_eq!(c.culprit.as_ref().unwrap().comm, "bb_bg");
        assert_eq!(
            c.sentence(),
            "sleeping 4100 us on a lock held by bb_bg (pid 191, OTHER nice 0), which ran only 1000 us on cpu1 \
             meanwhile (it went to sleep on a timer holding it): the holder blocks (or runs elsewhere) with the lock held"
        );
    }

    #[test]
    fn a_lock_holder_that_sleeps_holding_it_is_named_and_said_not_to_run() {
        let t = task(190, "bb_rt", 49);
        let rt = (190, "bb_rt", 49);
        let bg = (191, "bb_bg", 120);
        let w = worst(
            &t,
            metric::RESPONSE,
            Breakdown {
                running_ns: 100 * US,
                sleep_lock_ns: 2_900 * US,
                ..Default::default()
            },
            &[],
            &[
                (ev(event::SWITCH, 100 * US, 1, IDLE, rt, state::SLEEP_LOCK), 0),
                (ev(event::WAKEUP, 3_000 * US, 1, rt, bg, 0), 0),
            ],
        );
        let c = cause_of(&w);
        assert_eq!(c.kind, CauseKind::BlockedOnLock);
        assert_eq!(c.culprit.as_ref().unwrap().comm, "bb_bg");
        assert!(
            c.sentence().contains("which did not run on cpu1 meanwhile"),
            "{}",
            c.sentence()
        );
    }

    #[test]
    fn a_lock_without_its_release_in_the_record_names_no_holder() {
        let t = task(190, "bb_rt", 49);
        let w = worst(
            &t,
            metric::RESPONSE,
            Breakdown {
                sleep_lock_ns: 2_900 * US,
                ..Default::default()
            },
            &[culprit(5, "someone", 89, 1, 400 * US)],
            &[],
        );
        let c = cause_of(&w);
        assert_eq!((c.kind, c.lock_holder.is_none()), (CauseKind::BlockedOnLock, true));
        assert_eq!(
            c.sentence(),
            "sleeping 2900 us on a lock (its holder is not in the record) while someone (pid 5, FIFO 10) ran on its CPU"
        );
    }

    #[test]
    fn io_names_the_task_that_answered() {
        let t = task(174, "hidden_block", 49);
        let me = (174, "hidden_block", 49);
        let helper = (175, "hb_helper", 120);
        let w = worst(
            &t,
            metric::RELIEF,
            Breakdown {
                running_ns: 200 * US,
                sleep_io_ns: 3_100 * US,
                ..Default::default()
            },
            &[],
            &[
                (ev(event::SWITCH, 200 * US, 1, IDLE, me, state::SLEEP_IO), 0),
                (ev(event::WAKEUP, 3_300 * US, 1, me, helper, 0), 0),
            ],
        );
        let c = cause_of(&w);
        assert_eq!(c.kind, CauseKind::Io);
        assert_eq!(c.culprit.as_ref().unwrap().comm, "hb_helper");
        assert_eq!(
            c.sentence(),
            "blocked 3100 us in I/O inside its cycle until hb_helper (pid 175, OTHER nice 0) answered: \
             a blocking call in the time-critical path"
        );
    }

    #[test]
    fn a_timer_sleep_and_another_sleep() {
        let t = task(1, "t", 49);
        let b = Breakdown {
            sleep_timer_ns: 2 * MS,
            running_ns: MS,
            ..Default::default()
        };
        assert_eq!(
            classify(&t, metric::RESPONSE, &b, 3 * MS, None).kind,
            CauseKind::SleepTimer
        );
        let b = Breakdown {
            sleep_other_ns: 2 * MS,
            ..Default::default()
        };
        let c = classify(&t, metric::RESPONSE, &b, 2 * MS, None);
        assert_eq!(c.kind, CauseKind::SleepOther);
        assert!(
            c.sentence().ends_with("(its worst-case record did not reach the host)"),
            "{}",
            c.sentence()
        );
    }

    #[test]
    fn waiting_through_hard_irqs_with_nobody_running_is_irq_interference() {
        let t = task(173, "ctrl_loop", 49);
        let irq = |k, t_ns| {
            (
                Event {
                    kind: k,
                    t_ns,
                    cpu: 1,
                    pid: 11,
                    ..Default::default()
                },
                0,
            )
        };
        let w = worst(
            &t,
            metric::LATENCY,
            Breakdown {
                waiting_ns: 600 * US,
                ..Default::default()
            },
            &[],
            &[
                (ev(event::WAKEUP, 0, 1, CTRL, IDLE, 0), HARD),
                irq(event::IRQ_ENTRY, 10 * US),
                irq(event::IRQ_EXIT, 500 * US),
                (ev(event::SWITCH, 600 * US, 1, CTRL, IDLE, state::PREEMPTED), 0),
            ],
        );
        let c = cause_of(&w);
        assert_eq!((c.kind, c.hard_irqs.clone()), (CauseKind::IrqInterference, vec![11]));
        assert_eq!(
            c.sentence(),
            "waiting 600 us for cpu1 while hard IRQ 11 came in and no task ran instead: interrupt load on that CPU"
        );
    }

    #[test]
    fn waiting_on_an_idle_cpu() {
        let t = task(173, "ctrl_loop", 49);
        let w = worst(
            &t,
            metric::LATENCY,
            Breakdown {
                waiting_ns: 497 * US,
                ..Default::default()
            },
            &[],
            &[
                (ev(event::WAKEUP, 0, 1, CTRL, IDLE, 0), HARD),
                (ev(event::SWITCH, 497 * US, 1, CTRL, IDLE, state::PREEMPTED), 0),
            ],
        );
        assert_eq!(cause_of(&w).kind, CauseKind::IdleCpu);
        // Without the record nothing says who ran: unknown, and said so.
        let c = classify(&t, metric::LATENCY, &w.breakdown, w.value_ns, None);
        assert_eq!(c.kind, CauseKind::Unknown);
        assert_eq!(
            c.sentence(),
            "waiting 497 us for its CPU; who ran instead is not known (its worst-case record did not reach the host)"
        );
    }

    #[test]
    fn running_is_own_work_with_the_metric_s_own_words() {
        let t = task(179, "pi_med", 79);
        let b = Breakdown {
            running_ns: 5_100 * US,
            waiting_ns: 10 * US,
            ..Default::default()
        };
        let c = classify(&t, metric::RESPONSE, &b, 5_110 * US, None);
        assert_eq!(c.kind, CauseKind::OwnWork);
        assert_eq!(c.sentence(), "running 5100 us itself: its own work exceeded the budget");
        let c = classify(&t, metric::IRQ, &b, 5_110 * US, None);
        assert_eq!(
            c.sentence(),
            "the handler ran 5100 us itself: its own work exceeded the budget"
        );
        let c = classify(&t, metric::RELIEF, &b, 5_110 * US, None);
        assert_eq!(
            c.sentence(),
            "running 5100 us itself: the loop's own work exceeded its budget"
        );
    }

    #[test]
    fn irq_delay_speaks_of_the_irq_thread() {
        let mut t = task(73, "irq/17-virtio0-", 49);
        t.irq = 17;
        let w = worst(
            &t,
            metric::IRQ_DELAY,
            Breakdown {
                waiting_ns: 2 * MS,
                ..Default::default()
            },
            &[culprit(172, "prio_hog", 39, 1, 2 * MS)],
            &[(
                ev(
                    event::SWITCH,
                    2 * MS,
                    0,
                    (73, "irq/17-virtio0-", 49),
                    (172, "prio_hog", 39),
                    0,
                ),
                0,
            )],
        );
        assert_eq!(
            cause_of(&w).sentence(),
            "the IRQ thread waited 2000 us for cpu0 after its hard IRQ while prio_hog (pid 172, FIFO 60) ran: \
             a higher-priority task on the IRQ thread's CPU"
        );
    }

    #[test]
    fn every_cause_has_its_own_stable_key() {
        let keys: std::collections::HashSet<&str> = CauseKind::ALL.iter().map(|k| k.key()).collect();
        assert_eq!(keys.len(), CauseKind::ALL.len());
        for k in CauseKind::ALL {
            assert_eq!(serde_json::to_value(k).unwrap(), k.key());
        }
    }

    fn snap(t: &TaskInfo, metrics: &[MetricStats]) -> Message {
        let mut s = TaskSnapshot {
            t_ns: 20 * MS,
            task: t.clone(),
            ..Default::default()
        };
        for m in metrics {
            s.metrics.push(m.clone()).unwrap();
        }
        Message::Exit(s)
    }

    fn stats(metric: u8, count: u64, max_ns: u64, bound_ns: u64, violations: u64, worst: Breakdown) -> MetricStats {
        MetricStats {
            metric,
            count,
            min_ns: 10 * US,
            max_ns,
            sum_ns: count * 100 * US,
            bound_ns,
            violations,
            worst,
            ..Default::default()
        }
    }

    #[test]
    fn verdicts_from_the_state_violated_first() {
        let t = task(173, "ctrl_loop", 49);
        let u = task(174, "quiet", 49);
        let wait = Breakdown {
            waiting_ns: 3 * MS,
            ..Default::default()
        };
        let w = worst(
            &t,
            metric::LATENCY,
            wait,
            &[culprit(172, "prio_hog", 39, 1, 3 * MS)],
            &[],
        );
        let mut st = State::default();
        st.apply(&snap(
            &u,
            &[
                stats(metric::LATENCY, 50, 150 * US, 200 * US, 0, Breakdown::default()),
                stats(metric::RELIEF, 50, 150 * US, 0, 0, Breakdown::default()),
                stats(metric::RESPONSE, 0, 0, 1_000 * US, 0, Breakdown::default()),
            ],
        ));
        st.apply(&Message::Worst(w.clone()));
        st.apply(&snap(&t, &[stats(metric::LATENCY, 1000, 3 * MS, 200 * US, 12, wait)]));
        let f = all(&st);
        let v: Vec<(&str, &str, Verdict)> = f
            .iter()
            .map(|f| (f.task.comm.as_str(), metric::name(f.metric).unwrap(), f.verdict))
            .collect();
        assert_eq!(
            v,
            [
                ("ctrl_loop", "latency", Verdict::Violated),
                ("quiet", "latency", Verdict::Met),
                ("quiet", "relief", Verdict::NoBound),
                ("quiet", "response", Verdict::NoSamples),
            ]
        );
        let top = &f[0];
        assert_eq!((top.violations, top.count, top.worst_ns), (12, 1000, Some(3 * MS)));
        assert_eq!(top.excess_ns(), Some(2_800 * US));
        assert_eq!(top.worst_to_bound(), Some(15.0));
        let c = top.cause.as_ref().unwrap();
        assert_eq!(
            (c.kind, c.evidence),
            (CauseKind::PreemptedByHigherPrio, Evidence::Record)
        );
        assert!(top.exited);

        // A larger max than any record: the snapshot's breakdown, said so.
        let mut st2 = st.clone();
        st2.apply(&snap(&t, &[stats(metric::LATENCY, 1001, 4 * MS, 200 * US, 13, wait)]));
        let c = all(&st2)[0].cause.clone().unwrap();
        assert_eq!((c.kind, c.evidence), (CauseKind::Unknown, Evidence::BreakdownOnly));

        // Violations of a task no snapshot described still give a finding.
        let mut st3 = State::default();
        st3.apply(&Message::Violation(Violation {
            task: t.clone(),
            metric: metric::RESPONSE,
            value_ns: 2 * MS,
            bound_ns: MS,
            violations: 3,
            ..Default::default()
        }));
        let f = all(&st3);
        assert_eq!(f.len(), 1);
        assert_eq!(
            (f[0].verdict, f[0].violations, f[0].worst_ns),
            (Verdict::Violated, 3, Some(2 * MS))
        );
    }
}
