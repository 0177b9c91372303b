//! The stream folded into state: what a printer (or any other user of the
//! library) needs to know about the system at this point of the stream,
//! independent of how it is shown.

use std::collections::{BTreeMap, BTreeSet};

use rt_protocol::{
    event, kind, pulse_flags, window_what, Dropped, Event, Heartbeat, Hello, Message, Stats, TaskInfo, TaskSnapshot,
    Violation, WindowOverrun, WindowStats, Worst,
};

/// A task is its pid and start time: pids are reused, (pid, start_ns) is not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskKey {
    pub pid: i32,
    pub start_ns: u64,
}

impl TaskKey {
    pub fn of(t: &TaskInfo) -> Self {
        TaskKey {
            pid: t.pid,
            start_ns: t.start_ns,
        }
    }
}

/// Which wire kind a snapshot came as.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SnapshotKind {
    Task,
    Irq,
    Exit,
}

impl SnapshotKind {
    pub fn of(msg: &Message) -> Option<Self> {
        match msg.kind() {
            kind::TASK => Some(SnapshotKind::Task),
            kind::IRQ => Some(SnapshotKind::Irq),
            kind::EXIT => Some(SnapshotKind::Exit),
            _ => None,
        }
    }
}

/// The latest snapshot of a task.
#[derive(Debug, Clone)]
pub struct TaskEntry {
    pub kind: SnapshotKind,
    pub snap: TaskSnapshot,
}

/// Violations of one (task, metric), all coalesced.
#[derive(Debug, Clone)]
pub struct ViolationTally {
    /// The task as the latest violation named it (threads rename themselves
    /// after they start, so the first name may be the parent's).
    pub task: TaskInfo,
    pub metric: u8,
    /// Violation frames received.
    pub frames: u64,
    /// The agent's cumulative, exact count (includes violations it could not send).
    pub violations: u64,
    pub worst_ns: u64,
    pub bound_ns: u64,
    pub first_t_ns: u64,
    pub last_t_ns: u64,
    pub last_ns: u64,
}

/// A budget window tag of a task: its latest statistics and overruns.
#[derive(Debug, Clone, Default)]
pub struct WindowEntry {
    /// The latest statistics (None until the first snapshot after an overrun).
    pub stats: Option<WindowStats>,
    /// Overrun frames received (deadline and stop records).
    pub overrun_frames: u64,
    /// The module's cumulative, exact overrun count, as last seen.
    pub overruns: u64,
    /// The longest overrun received: the one that explains the worst.
    pub worst: Option<WindowOverrun>,
    /// The latest deadline record (the state of a window that may never stop).
    pub last_deadline: Option<WindowOverrun>,
}

impl WindowEntry {
    /// The task as the latest message named it.
    pub fn task(&self) -> Option<&TaskInfo> {
        self.stats
            .as_ref()
            .map(|s| &s.task)
            .or(self.worst.as_ref().map(|w| &w.task))
    }

    /// Overruns: the module's count (statistics or overrun records, the larger).
    pub fn overrun_count(&self) -> u64 {
        let st = self.stats.as_ref().map_or(0, |s| s.stats.violations);
        st.max(self.overruns)
    }
}

/// Everything the stream said so far.
#[derive(Debug, Default, Clone)]
pub struct State {
    pub hello: Option<Hello>,
    pub heartbeat: Option<Heartbeat>,
    /// The receiver's counters, as of the record being handled.
    pub rx: Stats,
    pub tasks: BTreeMap<TaskKey, TaskEntry>,
    pub violations: BTreeMap<(TaskKey, u8), ViolationTally>,
    /// The largest worst-case record of each (task, metric): the one that
    /// explains its max (the agent sends one per new worst).
    pub worst: BTreeMap<(TaskKey, u8), Worst>,
    /// Sum of every Dropped message.
    pub dropped: Dropped,
    pub unknown_kinds: BTreeSet<u16>,
    /// The incompatible major.minor announced, while it lasts.
    pub incompatible: Option<(u16, u16)>,
    /// Latest agent CLOCK_MONOTONIC seen in any message (0: none yet).
    pub agent_ns: u64,
    /// GPIO stimulus pulses of the run (per-pulse and summarised).
    pub gpio: GpioTally,
    /// Budget windows per (task, tag).
    pub windows: BTreeMap<(TaskKey, u64), WindowEntry>,
}

/// Per-run tally of GPIO stimulus pulses: stimulus→done over those with readback.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct GpioTally {
    pub count: u64,
    pub late: u64,
    pub skipped: u64,
    pub no_readback: u64,
    /// Pulses with readback, in min/sum/max.
    pub measured: u64,
    pub min_ns: u64,
    pub sum_ns: u64,
    pub max_ns: u64,
}

impl GpioTally {
    fn add(&mut self, n: u64, min: u64, sum: u64, max: u64) {
        if n == 0 {
            return;
        }
        self.min_ns = if self.measured == 0 { min } else { self.min_ns.min(min) };
        self.max_ns = self.max_ns.max(max);
        self.sum_ns = self.sum_ns.saturating_add(sum);
        self.measured += n;
    }
    pub fn mean_ns(&self) -> Option<u64> {
        (self.measured > 0).then(|| self.sum_ns / self.measured)
    }
}

/// What the target's IRQ metrics are measured from (Hello `module_flags`).
pub fn irq_timing(module_flags: u32) -> Option<&'static str> {
    if module_flags & rt_uapi::RTT_INFO_IRQ_HANDLER_TRACEPOINTS != 0 {
        Some("handler tracepoints (exact)")
    } else if module_flags & rt_uapi::RTT_INFO_IRQ_TRACEPOINTS != 0 {
        Some("derived from IRQ thread scheduling")
    } else {
        None
    }
}

impl State {
    pub fn apply(&mut self, msg: &Message) {
        match msg {
            Message::Hello(h) => {
                self.hello = Some(h.clone());
                self.incompatible = None;
            }
            Message::Heartbeat(h) => {
                self.agent_ns = self.agent_ns.max(h.t_ns);
                self.heartbeat = Some(h.clone());
            }
            Message::Task(s) | Message::Irq(s) | Message::Exit(s) => {
                self.agent_ns = self.agent_ns.max(s.t_ns);
                let kind = SnapshotKind::of(msg).unwrap_or(SnapshotKind::Task);
                self.tasks
                    .insert(TaskKey::of(&s.task), TaskEntry { kind, snap: s.clone() });
            }
            Message::Violation(v) => self.violation(v),
            Message::Worst(w) => {
                self.agent_ns = self.agent_ns.max(w.t_ns);
                let slot = self.worst.entry((TaskKey::of(&w.task), w.metric));
                match slot {
                    std::collections::btree_map::Entry::Occupied(mut o) => {
                        // A later record of the same size is the fresher story.
                        if w.value_ns >= o.get().value_ns {
                            o.insert(w.clone());
                        }
                    }
                    std::collections::btree_map::Entry::Vacant(v) => {
                        v.insert(w.clone());
                    }
                }
            }
            Message::Dropped(d) => {
                self.agent_ns = self.agent_ns.max(d.t_ns);
                self.dropped.t_ns = d.t_ns;
                self.dropped.violations = self.dropped.violations.saturating_add(d.violations);
                self.dropped.worst = self.dropped.worst.saturating_add(d.worst);
                self.dropped.exits = self.dropped.exits.saturating_add(d.exits);
            }
            Message::Notice(_) => {}
            Message::GpioPulse(g) => {
                let tl = &mut self.gpio;
                tl.count += 1;
                tl.skipped += g.skipped;
                tl.late += u64::from(g.flags & pulse_flags::LATE != 0);
                if g.flags & pulse_flags::NO_READBACK != 0 {
                    tl.no_readback += 1;
                } else {
                    let d = g.t_done.saturating_sub(g.t_stimulus);
                    tl.add(1, d, d, d);
                }
            }
            Message::GpioSummary(g) => {
                self.agent_ns = self.agent_ns.max(g.t_ns);
                let tl = &mut self.gpio;
                tl.count += g.count;
                tl.late += g.late;
                tl.skipped += g.skipped;
                tl.no_readback += g.no_readback;
                let n = g.count.saturating_sub(g.no_readback);
                let s = &g.stim_to_done;
                tl.add(n, s.min_ns, s.mean_ns.saturating_mul(n), s.max_ns);
            }
            Message::Window(w) => {
                self.agent_ns = self.agent_ns.max(w.t_ns);
                let e = self.windows.entry((TaskKey::of(&w.task), w.tag)).or_default();
                e.overrun_frames += 1;
                // Cumulative: a frame that arrives late must not lower it.
                e.overruns = e.overruns.max(w.overruns);
                if !matches!(&e.worst, Some(o) if w.duration_ns < o.duration_ns) {
                    e.worst = Some(w.clone());
                }
                if w.what == window_what::DEADLINE {
                    e.last_deadline = Some(w.clone());
                }
            }
            Message::WindowStats(w) => {
                self.agent_ns = self.agent_ns.max(w.t_ns);
                let e = self.windows.entry((TaskKey::of(&w.task), w.tag)).or_default();
                e.stats = Some(w.clone());
            }
        }
    }

    fn violation(&mut self, v: &Violation) {
        self.agent_ns = self.agent_ns.max(v.t_ns);
        let t = self
            .violations
            .entry((TaskKey::of(&v.task), v.metric))
            .or_insert_with(|| ViolationTally {
                task: v.task.clone(),
                metric: v.metric,
                frames: 0,
                violations: 0,
                worst_ns: 0,
                bound_ns: v.bound_ns,
                first_t_ns: v.t_ns,
                last_t_ns: v.t_ns,
                last_ns: v.value_ns,
            });
        t.task = v.task.clone();
        t.frames += 1;
        // The counter is cumulative; a frame that arrives late must not lower it.
        t.violations = t.violations.max(v.violations);
        t.worst_ns = t.worst_ns.max(v.value_ns);
        t.bound_ns = v.bound_ns;
        t.last_t_ns = v.t_ns;
        t.last_ns = v.value_ns;
    }

    /// Skipped records the agent reported in its last heartbeat.
    pub fn agent_skipped(&self) -> u64 {
        self.heartbeat
            .as_ref()
            .map(|h| {
                h.snapshots_skipped
                    .saturating_add(h.violations_skipped)
                    .saturating_add(h.worst_skipped)
                    .saturating_add(h.other_skipped)
            })
            .unwrap_or(0)
    }
}

/// A task that ran on a CPU, `[start_ns, end_ns)`, as a worst case's
/// switches show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ran {
    pub start_ns: u64,
    pub end_ns: u64,
    pub pid: i32,
    pub comm: String,
    pub prio: i16,
    pub policy: u8,
    /// One of the record's culprits (ran while the tracked task waited).
    pub culprit: bool,
    /// The tracked task itself.
    pub tracked: bool,
}

impl Ran {
    /// The idle task (pid 0, "swapper/N").
    pub fn idle(&self) -> bool {
        self.pid == 0
    }
}

/// Who ran on each CPU during worst case `w`, merged into `cpus` (one task
/// at a time per CPU, kept by start). One function for the report's timeline and the Perfetto
/// export, so that their CPU lanes cannot disagree.
///
/// Between two consecutive switches on a CPU: the task the first switched
/// in, when the second switches that task out (else a switch was not
/// logged in between: nothing is known). Before the first: the task it
/// switches out, from the wakeup that interrupted (or was done by) it on
/// that CPU; with `opens_running` (a budget window, which opens at its
/// START with the tracked task on its CPU), the tracked task itself from
/// the start when the first switch takes it off. After the last: nothing.
///
/// `at` maps an event time (ns since the interval began) to the caller's
/// clock; slices empty on that clock are left out. A CPU gets an entry in
/// `cpus` only when something ran there.
pub fn who_ran_on_cpus(w: &Worst, opens_running: bool, at: impl Fn(u64) -> u64, cpus: &mut BTreeMap<u16, Vec<Ran>>) {
    let culprit = |p: i32| w.culprits.iter().any(|c| c.pid == p);
    let mut by_cpu: BTreeMap<u16, Vec<&Event>> = BTreeMap::new();
    for e in w.events.iter().filter(|e| e.kind == event::SWITCH) {
        by_cpu.entry(e.cpu).or_default().push(e);
    }
    let wake = w.events.iter().find(|e| e.kind == event::WAKEUP && e.pid == w.task.pid);
    for (cpu, sw) in by_cpu {
        let mut add = |s: u64, e: u64, pid: i32, comm: &str, prio: i16, policy: u8| {
            if e > s {
                let r = Ran {
                    start_ns: s,
                    end_ns: e,
                    pid,
                    comm: comm.to_string(),
                    prio,
                    policy,
                    culprit: culprit(pid),
                    tracked: pid == w.task.pid,
                };
                merge_ran(cpus.entry(cpu).or_default(), r);
            }
        };
        if let Some(first) = sw.first() {
            if opens_running && first.other_pid == w.task.pid {
                add(
                    at(0),
                    at(first.t_ns),
                    first.other_pid,
                    &first.other_comm,
                    first.other_prio,
                    first.other_policy,
                );
            }
        }
        if let (Some(first), Some(wk)) = (sw.first(), wake) {
            if wk.cpu == cpu && wk.other_pid == first.other_pid {
                add(
                    at(wk.t_ns),
                    at(first.t_ns),
                    first.other_pid,
                    &first.other_comm,
                    first.other_prio,
                    first.other_policy,
                );
            }
        }
        for pair in sw.windows(2) {
            let (a, b) = (pair[0], pair[1]);
            if b.other_pid == a.pid {
                add(at(a.t_ns), at(b.t_ns), a.pid, &a.comm, a.prio, a.policy);
            }
        }
    }
}

/// Add `r` to a CPU's list (kept by start): the same task over an
/// overlapping time is one slice; a different task over it contradicts
/// what is there, so the later one is left out.
fn merge_ran(list: &mut Vec<Ran>, r: Ran) {
    for x in list.iter_mut() {
        if r.start_ns < x.end_ns && x.start_ns < r.end_ns {
            if x.pid == r.pid {
                x.start_ns = x.start_ns.min(r.start_ns);
                x.end_ns = x.end_ns.max(r.end_ns);
                x.culprit |= r.culprit;
                x.tracked |= r.tracked;
            }
            return;
        }
    }
    list.push(r);
    list.sort_by_key(|x| x.start_ns);
}

#[cfg(test)]
mod tests {
    use super::*;
    use rt_protocol::{bounded_str, metric};

    fn viol(comm: &str, t_ns: u64, value_ns: u64, count: u64) -> Message {
        Message::Violation(Violation {
            t_ns,
            task: TaskInfo {
                pid: 180,
                start_ns: 7,
                comm: bounded_str(comm),
                ..Default::default()
            },
            metric: metric::LATENCY,
            value_ns,
            bound_ns: 200,
            violations: count,
            ..Default::default()
        })
    }

    #[test]
    fn violations_coalesce_per_task_and_metric_with_the_latest_name() {
        let mut s = State::default();
        s.apply(&viol("prio_inv", 10, 900, 1));
        s.apply(&viol("pi_med", 20, 500, 5));
        s.apply(&viol("pi_med", 15, 700, 3)); // late frame: the count stays 5
        assert_eq!(s.violations.len(), 1);
        let t = s.violations.values().next().unwrap();
        assert_eq!(t.task.comm.as_str(), "pi_med");
        assert_eq!((t.frames, t.violations, t.worst_ns), (3, 5, 900));
        assert_eq!((t.first_t_ns, t.last_ns), (10, 700));
        assert_eq!(s.agent_ns, 20);
    }

    #[test]
    fn snapshots_keep_the_latest_per_task_and_their_kind() {
        let mut s = State::default();
        let snap = |t_ns, start_ns| TaskSnapshot {
            t_ns,
            task: TaskInfo {
                pid: 5,
                start_ns,
                ..Default::default()
            },
            ..Default::default()
        };
        s.apply(&Message::Task(snap(1, 1)));
        s.apply(&Message::Exit(snap(2, 1)));
        s.apply(&Message::Irq(snap(3, 2))); // the pid reused by another task
        assert_eq!(s.tasks.len(), 2);
        let first = &s.tasks[&TaskKey { pid: 5, start_ns: 1 }];
        assert_eq!((first.kind, first.snap.t_ns), (SnapshotKind::Exit, 2));
        assert_eq!(s.tasks[&TaskKey { pid: 5, start_ns: 2 }].kind, SnapshotKind::Irq);
    }

    fn ran(start_ns: u64, end_ns: u64, pid: i32) -> Ran {
        Ran {
            start_ns,
            end_ns,
            pid,
            comm: format!("t{pid}"),
            prio: 120,
            policy: 0,
            culprit: false,
            tracked: false,
        }
    }

    #[test]
    fn a_cpu_keeps_one_task_at_a_time() {
        let mut l = Vec::new();
        merge_ran(&mut l, ran(10, 20, 1));
        merge_ran(&mut l, ran(15, 30, 1)); // the same task, known longer: one slice
        merge_ran(&mut l, ran(25, 40, 2)); // another task over it: left out
        merge_ran(&mut l, ran(0, 5, 3));
        let got: Vec<(u64, u64, i32)> = l.iter().map(|r| (r.start_ns, r.end_ns, r.pid)).collect();
        assert_eq!(got, [(0, 5, 3), (10, 30, 1)]);
    }

    #[test]
    fn who_ran_needs_both_switches_and_keeps_to_the_callers_clock() {
        let sw = |t_ns, pid, other_pid| Event {
            t_ns,
            kind: event::SWITCH,
            cpu: 2,
            pid,
            other_pid,
            ..Default::default()
        };
        let mut w = Worst::default();
        for e in [sw(10, 1, 0), sw(20, 2, 3), sw(30, 4, 2), sw(40, 5, 4)] {
            w.events.push(e).unwrap();
        }
        let mut cpus = BTreeMap::new();
        // Clamped to 35: pid 1's switch-out is missing (nothing known of
        // it), 4's slice is cut at the end, 5's never ends.
        who_ran_on_cpus(&w, false, |t| t.min(35), &mut cpus);
        let got: Vec<(u64, u64, i32)> = cpus[&2].iter().map(|r| (r.start_ns, r.end_ns, r.pid)).collect();
        assert_eq!(got, [(20, 30, 2), (30, 35, 4)]);
    }
}
