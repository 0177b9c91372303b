//! A worst case's events as lanes: the tracked task's states, and per CPU
//! the tasks that ran there, with wakeups, migrations and hard IRQs. The
//! rules are those of the Perfetto export (`src/perfetto.rs`; who ran on a
//! CPU is one function for both, `state::who_ran_on_cpus`), in times
//! relative to the start of the interval (0 ..= `value_ns`).

use std::collections::BTreeMap;

use rt_protocol::{event, event_flag, state, Event, Worst, WINDOW_METRIC};

// Who ran on a CPU is the library's, shared with the Perfetto export.
use crate::state::who_ran_on_cpus;
pub use crate::state::Ran;

/// What the tracked task was doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TaskState {
    /// Woken, not yet on its CPU.
    Waiting,
    /// Switched out while runnable.
    Preempted,
    Running,
    SleepTimer,
    SleepLock,
    SleepIo,
    SleepOther,
    /// Past the module's event log (`events_dropped` > 0).
    NotKept,
}

impl TaskState {
    pub const ALL: [TaskState; 8] = [
        TaskState::Running,
        TaskState::Waiting,
        TaskState::Preempted,
        TaskState::SleepTimer,
        TaskState::SleepLock,
        TaskState::SleepIo,
        TaskState::SleepOther,
        TaskState::NotKept,
    ];

    pub fn label(self) -> &'static str {
        match self {
            TaskState::Waiting => "waiting",
            TaskState::Preempted => "waiting (preempted)",
            TaskState::Running => "running",
            TaskState::SleepTimer => "sleeping on a timer",
            TaskState::SleepLock => "sleeping on a lock",
            TaskState::SleepIo => "sleeping in I/O",
            TaskState::SleepOther => "sleeping (other)",
            TaskState::NotKept => "(events not kept)",
        }
    }

    /// The state a switch-out leaves the task in; `None`: it exited.
    fn after_switch_out(prev_state: u8) -> Option<TaskState> {
        match prev_state {
            state::PREEMPTED => Some(TaskState::Preempted),
            state::SLEEP_TIMER => Some(TaskState::SleepTimer),
            state::SLEEP_LOCK => Some(TaskState::SleepLock),
            state::SLEEP_IO => Some(TaskState::SleepIo),
            state::SLEEP_OTHER => Some(TaskState::SleepOther),
            _ => None,
        }
    }
}

/// One state of the tracked task, `[start_ns, end_ns)`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Segment {
    pub start_ns: u64,
    pub end_ns: u64,
    pub state: TaskState,
}

/// Something that happened at one time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mark {
    /// The tracked task was woken; `text`: by whom.
    Wakeup { t_ns: u64, cpu: u16, text: String },
    /// The tracked task moved to CPU `to`.
    Migrate { t_ns: u64, to: i32 },
    /// A hard IRQ entered on `cpu`.
    Irq { t_ns: u64, cpu: u16, irq: i32 },
}

impl Mark {
    pub fn t_ns(&self) -> u64 {
        match self {
            Mark::Wakeup { t_ns, .. } | Mark::Migrate { t_ns, .. } | Mark::Irq { t_ns, .. } => *t_ns,
        }
    }
}

/// The lanes of one worst case.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Timeline {
    /// The interval's length (the worst value).
    pub len_ns: u64,
    pub states: Vec<Segment>,
    /// Every CPU an event names, with who ran there (maybe nobody known).
    pub cpus: BTreeMap<u16, Vec<Ran>>,
    pub marks: Vec<Mark>,
}

impl Timeline {
    /// The lanes of worst case `w`.
    pub fn of(w: &Worst) -> Timeline {
        let len = w.value_ns;
        let pid = w.task.pid;
        let at = |e: &Event| e.t_ns.min(len);
        let mut tl = Timeline {
            len_ns: len,
            ..Default::default()
        };
        for e in &w.events {
            tl.cpus.entry(e.cpu).or_default();
        }

        // The task's own states: a scheduler metric's interval opens at
        // its wakeup (waiting), a budget window's at its START (running).
        let first = if w.metric == WINDOW_METRIC {
            TaskState::Running
        } else {
            TaskState::Waiting
        };
        let mut cur = (0u64, first);
        let mut open = true;
        for (i, e) in w.events.iter().enumerate() {
            let t = at(e);
            let mut next: Option<Option<TaskState>> = None;
            match e.kind {
                event::SWITCH if e.pid == pid => next = Some(Some(TaskState::Running)),
                event::SWITCH if e.other_pid == pid => next = Some(TaskState::after_switch_out(e.prev_state)),
                event::WAKEUP if e.pid == pid => {
                    let text = if w.event_flags_of(i) & event_flag::HARDIRQ != 0 {
                        format!("woken in hard IRQ (interrupting {} {})", e.other_comm, e.other_pid)
                    } else {
                        format!("woken by {} {}", e.other_comm, e.other_pid)
                    };
                    tl.marks.push(Mark::Wakeup {
                        t_ns: t,
                        cpu: e.cpu,
                        text,
                    });
                    // The wakeup that opens the interval is its start.
                    if t > 0 {
                        next = Some(Some(TaskState::Waiting));
                    }
                }
                event::MIGRATE if e.pid == pid => tl.marks.push(Mark::Migrate {
                    t_ns: t,
                    to: e.other_pid,
                }),
                event::IRQ_ENTRY => tl.marks.push(Mark::Irq {
                    t_ns: t,
                    cpu: e.cpu,
                    irq: e.pid,
                }),
                _ => {}
            }
            if let Some(n) = next {
                if open {
                    tl.segment(cur.0, t, cur.1);
                }
                open = n.is_some();
                if let Some(s) = n {
                    cur = (t, s);
                }
            }
        }
        if open {
            let last = w.events.last().map_or(0, at);
            let until = if w.events_dropped > 0 { last } else { len };
            tl.segment(cur.0, until, cur.1);
            if w.events_dropped > 0 {
                tl.segment(until, len, TaskState::NotKept);
            }
        }
        // Who ran on each CPU: a budget window opens with the task on its
        // CPU; times as the states', clamped to the interval.
        who_ran_on_cpus(w, w.metric == WINDOW_METRIC, |t| t.min(len), &mut tl.cpus);
        tl
    }

    fn segment(&mut self, start_ns: u64, end_ns: u64, state: TaskState) {
        if end_ns > start_ns {
            self.states.push(Segment {
                start_ns,
                end_ns,
                state,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rt_protocol::{bounded_str, metric, Breakdown, Culprit, TaskInfo};

    fn ev(kind: u8, t_ns: u64, pid: i32, comm: &str, other_pid: i32, other_comm: &str, prev_state: u8) -> Event {
        Event {
            t_ns,
            kind,
            cpu: 1,
            pid,
            comm: bounded_str(comm),
            other_pid,
            other_comm: bounded_str(other_comm),
            prev_state,
            ..Default::default()
        }
    }

    /// ctrl_loop woken in hard IRQ while prio_hog ran, switched in after 3 ms.
    fn preempted() -> Worst {
        let mut w = Worst {
            t_ns: 5_000_000,
            task: TaskInfo {
                pid: 173,
                comm: bounded_str("ctrl_loop"),
                ..Default::default()
            },
            metric: metric::LATENCY,
            value_ns: 3_000_000,
            breakdown: Breakdown {
                waiting_ns: 3_000_000,
                ..Default::default()
            },
            ..Default::default()
        };
        w.culprits
            .push(Culprit {
                pid: 172,
                ns: 3_000_000,
                comm: bounded_str("prio_hog"),
                ..Default::default()
            })
            .unwrap();
        w.events
            .push(ev(event::WAKEUP, 0, 173, "ctrl_loop", 172, "prio_hog", 0))
            .unwrap();
        w.event_flags.push(event_flag::HARDIRQ).unwrap();
        w.events.push(ev(event::IRQ_ENTRY, 1_000, 17, "", 0, "", 0)).unwrap();
        w.event_flags.push(0).unwrap();
        w.events
            .push(ev(event::SWITCH, 3_000_000, 173, "ctrl_loop", 172, "prio_hog", 0))
            .unwrap();
        w.event_flags.push(0).unwrap();
        w
    }

    #[test]
    fn the_task_waits_while_the_culprit_runs_on_its_cpu() {
        let tl = Timeline::of(&preempted());
        assert_eq!(
            tl.states,
            [Segment {
                start_ns: 0,
                end_ns: 3_000_000,
                state: TaskState::Waiting
            }]
        );
        let cpu1 = &tl.cpus[&1];
        assert_eq!(cpu1.len(), 1);
        assert_eq!((cpu1[0].pid, cpu1[0].culprit, cpu1[0].end_ns), (172, true, 3_000_000));
        assert_eq!(
            tl.marks,
            [
                Mark::Wakeup {
                    t_ns: 0,
                    cpu: 1,
                    text: "woken in hard IRQ (interrupting prio_hog 172)".into()
                },
                Mark::Irq {
                    t_ns: 1_000,
                    cpu: 1,
                    irq: 17
                }
            ]
        );
    }

    #[test]
    fn a_budget_window_opens_running_on_its_cpu() {
        let mut w = Worst {
            task: TaskInfo {
                pid: 200,
                comm: bounded_str("win_loop"),
                ..Default::default()
            },
            metric: WINDOW_METRIC,
            value_ns: 5_000,
            ..Default::default()
        };
        w.events
            .push(ev(event::SWITCH, 1_000, 199, "hog", 200, "win_loop", state::PREEMPTED))
            .unwrap();
        w.events
            .push(ev(event::SWITCH, 5_000, 200, "win_loop", 199, "hog", state::PREEMPTED))
            .unwrap();
        let tl = Timeline::of(&w);
        let states: Vec<(u64, u64, TaskState)> = tl.states.iter().map(|s| (s.start_ns, s.end_ns, s.state)).collect();
        assert_eq!(
            states,
            [(0, 1_000, TaskState::Running), (1_000, 5_000, TaskState::Preempted)]
        );
        let ran: Vec<(u64, u64, i32, bool)> = tl.cpus[&1]
            .iter()
            .map(|r| (r.start_ns, r.end_ns, r.pid, r.tracked))
            .collect();
        assert_eq!(ran, [(0, 1_000, 200, true), (1_000, 5_000, 199, false)]);
    }

    #[test]
    fn events_not_kept_end_the_known_states() {
        let mut w = preempted();
        w.events.pop();
        w.event_flags.pop();
        w.events_dropped = 4;
        let tl = Timeline::of(&w);
        let states: Vec<(u64, u64, TaskState)> = tl.states.iter().map(|s| (s.start_ns, s.end_ns, s.state)).collect();
        assert_eq!(
            states,
            [(0, 1_000, TaskState::Waiting), (1_000, 3_000_000, TaskState::NotKept)]
        );
    }
}
