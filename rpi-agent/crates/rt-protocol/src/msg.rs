//! Message payloads. Each one is postcard-encoded into an [`crate::Envelope`]
//! whose `kind` says which struct it is.
//!
//! Compatibility rules (see docs/protocol.md):
//! - a new message is a new `kind` (older decoders skip and count it);
//! - a new field is only ever appended at the end of a payload struct, with a
//!   minor version bump; decoders ignore trailing payload bytes they do not know;
//! - enumerations coming from the kernel (metric, event type, state, policy)
//!   travel as raw integers so that new values never make a payload undecodable.

use heapless::{String, Vec};
use serde::{Deserialize, Serialize};

/// Wire protocol version. Major: incompatible change; minor: additions only.
pub const PROTOCOL_MAJOR: u16 = 1;
pub const PROTOCOL_MINOR: u16 = 4;

pub const COMM_LEN: usize = 16;
/// Log2 histogram buckets (bucket i: [2^(i-1), 2^i) ns; 0: 0 ns; last: open).
pub const LOG2_BUCKETS: usize = 32;
pub const LIN_BUCKETS: usize = 32;
/// Room for metrics in one snapshot (the module has 5 today; headroom for more).
pub const MAX_METRICS: usize = 8;
/// Room for worst-case events (the module keeps 24 today).
pub const MAX_EVENTS: usize = 32;
/// Room for culprits (the module keeps 4 today).
pub const MAX_CULPRITS: usize = 8;

/// A task's `comm` (kernel TASK_COMM_LEN is 16 incl. NUL, so 15 bytes fit).
pub type Comm = String<COMM_LEN>;

/// Message kinds (the `kind` field of the envelope). Never reuse a number.
pub mod kind {
    pub const HELLO: u16 = 1;
    pub const HEARTBEAT: u16 = 2;
    pub const TASK: u16 = 3;
    pub const IRQ: u16 = 4;
    pub const EXIT: u16 = 5;
    pub const VIOLATION: u16 = 6;
    pub const WORST: u16 = 7;
    pub const DROPPED: u16 = 8;
    pub const NOTICE: u16 = 9;
    /// 1.3: one GPIO stimulus pulse.
    pub const GPIO_PULSE: u16 = 10;
    /// 1.3: GPIO stimulus pulses of an interval, summarised.
    pub const GPIO_SUMMARY: u16 = 11;
    /// 1.4: a budget window over its budget, at its deadline or its stop.
    pub const WINDOW: u16 = 12;
    /// 1.4: a task's budget windows of one tag, after its snapshot.
    pub const WINDOW_STATS: u16 = 13;

    /// The minor version (of major 1) that brought `kind`; None: a kind
    /// this version does not know.
    pub const fn since_minor(kind: u16) -> Option<u16> {
        match kind {
            HELLO..=NOTICE => Some(0),
            GPIO_PULSE | GPIO_SUMMARY => Some(3),
            WINDOW | WINDOW_STATS => Some(4),
            _ => None,
        }
    }
}

/// Metric ids, equal to `enum rtt_metric`.
pub mod metric {
    pub const LATENCY: u8 = 0;
    pub const RESPONSE: u8 = 1;
    pub const RELIEF: u8 = 2;
    pub const IRQ_DELAY: u8 = 3;
    pub const IRQ: u8 = 4;
    pub const COUNT: u8 = 5;

    /// Lower-case names used by text, JSON and the config files, in id order:
    /// the `RTT_METRICS` list of rt_tracer.h (tests/metric_names.rs checks it).
    pub const NAMES: [&str; COUNT as usize] = ["latency", "response", "relief", "irq_delay", "irq"];

    pub fn name(m: u8) -> Option<&'static str> {
        NAMES.get(usize::from(m)).copied()
    }

    pub fn from_name(s: &str) -> Option<u8> {
        (0..COUNT).find(|m| name(*m) == Some(s))
    }
}

/// Event types, equal to `enum rtt_event_type`.
/// Bits of `Worst::event_flags`.
pub mod event_flag {
    /// A wakeup from hard interrupt context: `other_*` is the interrupted task.
    pub const HARDIRQ: u8 = 0x01;
}

/// `WindowOverrun::what`, equal to `enum rtt_window_what`.
pub mod window_what {
    /// The deadline fired; the window was still open.
    pub const DEADLINE: u8 = 1;
    /// The stop of a window that overran (its final duration).
    pub const STOP: u8 = 2;

    pub fn name(w: u8) -> &'static str {
        match w {
            DEADLINE => "deadline",
            STOP => "stop",
            _ => "unknown",
        }
    }
}

/// Where a task's time is going at an instant (`WindowOverrun::state`),
/// equal to `enum rtt_win_state`: the `Breakdown` field it adds to.
pub mod win_state {
    pub const RUNNING: u8 = 0;
    pub const WAITING: u8 = 1;
    pub const SLEEP_TIMER: u8 = 2;
    pub const SLEEP_LOCK: u8 = 3;
    pub const SLEEP_IO: u8 = 4;
    pub const SLEEP_OTHER: u8 = 5;

    pub fn name(s: u8) -> &'static str {
        match s {
            RUNNING => "running",
            WAITING => "waiting",
            SLEEP_TIMER => "sleep_timer",
            SLEEP_LOCK => "sleep_lock",
            SLEEP_IO => "sleep_io",
            SLEEP_OTHER => "sleep_other",
            _ => "unknown",
        }
    }
}

pub mod event {
    pub const WAKEUP: u8 = 1;
    pub const SWITCH: u8 = 2;
    pub const MIGRATE: u8 = 3;
    pub const IRQ_ENTRY: u8 = 4;
    pub const IRQ_EXIT: u8 = 5;

    pub fn name(t: u8) -> &'static str {
        match t {
            WAKEUP => "wakeup",
            SWITCH => "switch",
            MIGRATE => "migrate",
            IRQ_ENTRY => "irq_entry",
            IRQ_EXIT => "irq_exit",
            _ => "unknown",
        }
    }
}

/// Task states, equal to `enum rtt_state`.
pub mod state {
    pub const PREEMPTED: u8 = 0;
    pub const SLEEP_TIMER: u8 = 1;
    pub const SLEEP_LOCK: u8 = 2;
    pub const SLEEP_IO: u8 = 3;
    pub const SLEEP_OTHER: u8 = 4;
    pub const DEAD: u8 = 5;

    pub fn name(s: u8) -> &'static str {
        match s {
            PREEMPTED => "preempted",
            SLEEP_TIMER => "sleep_timer",
            SLEEP_LOCK => "sleep_lock",
            SLEEP_IO => "sleep_io",
            SLEEP_OTHER => "sleep_other",
            DEAD => "dead",
            _ => "unknown",
        }
    }
}

/// How a task came to be tracked, equal to `enum rtt_track_kind`.
pub mod track {
    pub const PID: u8 = 1;
    pub const TGID: u8 = 2;
    pub const IRQ: u8 = 3;
}

/// Task flags, equal to `RTT_F_*`.
pub mod flags {
    pub const TRACE: u32 = 1 << 0;
    pub const EXITED: u32 = 1 << 1;
    pub const IRQ_THREAD: u32 = 1 << 2;
}

/// Scheduling policy name and the priority a user would type (`chrt -f 80`):
/// `("FIFO", 80)`, `("OTHER", nice)`. `prio` is the kernel's (0-99 RT, 100-139 normal).
pub fn sched_label(policy: u8, prio: i16) -> (&'static str, i32) {
    let prio = i32::from(prio);
    match policy {
        1 => ("FIFO", 99 - prio),
        2 => ("RR", 99 - prio),
        6 => ("DEADLINE", 0),
        0 => ("OTHER", prio - 120),
        3 => ("BATCH", prio - 120),
        5 => ("IDLE", prio - 120),
        _ => ("POLICY?", prio),
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Hello {
    pub proto_major: u16,
    pub proto_minor: u16,
    pub agent_version: String<24>,
    /// `uname -r` of the target.
    pub kernel_release: String<64>,
    /// UAPI version reported by RTT_IOC_INFO; 0.0 while the module is absent.
    pub uapi_major: u32,
    pub uapi_minor: u32,
    /// Board model (/proc/device-tree/model or DMI product name).
    pub board: String<48>,
    /// Configured link speed (bits/s); 0 for a file.
    pub baud: u32,
    /// RTT_INFO_* flags of the module.
    pub module_flags: u32,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct TaskInfo {
    pub pid: i32,
    pub tgid: i32,
    /// `track::*` it was added by.
    pub track_kind: u8,
    /// -1 unless an IRQ thread.
    pub irq: i32,
    /// `flags::*`.
    pub flags: u32,
    pub prio: i16,
    pub policy: u8,
    pub comm: Comm,
    /// Task start time; (pid, start_ns) is unique.
    pub start_ns: u64,
}

/// Where the time of one measured interval went.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Breakdown {
    pub running_ns: u64,
    pub waiting_ns: u64,
    pub sleep_timer_ns: u64,
    pub sleep_lock_ns: u64,
    pub sleep_io_ns: u64,
    pub sleep_other_ns: u64,
}

/// One non-empty histogram bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Bucket {
    pub idx: u8,
    pub count: u64,
}

/// Sparse histogram: only non-empty buckets, ascending `idx`.
pub type Hist = Vec<Bucket, LOG2_BUCKETS>;

/// Bounds of log2 bucket `idx` in ns, `[lo, hi)`; `hi == None` for the open last bucket.
pub fn log2_bucket_bounds(idx: u8) -> (u64, Option<u64>) {
    let i = u32::from(idx);
    if i == 0 {
        return (0, Some(1));
    }
    let lo = 1u64 << (i - 1).min(63);
    if i as usize >= LOG2_BUCKETS - 1 {
        (lo, None)
    } else {
        (lo, Some(1u64 << i.min(63)))
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct LinHist {
    pub lo_ns: u64,
    pub step_ns: u64,
    pub under: u64,
    pub over: u64,
    pub buckets: Vec<Bucket, LIN_BUCKETS>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct MetricStats {
    /// `metric::*`.
    pub metric: u8,
    pub count: u64,
    /// u64::MAX while count == 0.
    pub min_ns: u64,
    pub max_ns: u64,
    pub sum_ns: u64,
    /// SLO; 0: none.
    pub bound_ns: u64,
    /// Cumulative, exact.
    pub violations: u64,
    pub last_ns: u64,
    pub log2: Hist,
    /// Present when the module's linear histogram is enabled.
    pub lin: Option<LinHist>,
    /// Breakdown of `max_ns`.
    pub worst: Breakdown,
    /// CLOCK_MONOTONIC of the worst's end.
    pub worst_at_ns: u64,
}

impl MetricStats {
    pub fn mean_ns(&self) -> Option<u64> {
        (self.count > 0).then(|| self.sum_ns / self.count)
    }

    /// Where quantile `q` (0..=1) lies, from the log2 histogram: the bounds
    /// `(lo, hi)` (inclusive) of the bucket holding the q-th sample, clamped
    /// to the observed `[min_ns, max_ns]`. A log2 bucket spans a factor of 2,
    /// so this is a range, not a value; `hi` never exceeds `max_ns`.
    pub fn quantile_range_ns(&self, q: f64) -> Option<(u64, u64)> {
        if self.count == 0 {
            return None;
        }
        let total: u64 = self.log2.iter().map(|b| b.count).sum();
        if total == 0 {
            return None;
        }
        let target = (libm_ceil(q.clamp(0.0, 1.0) * total as f64) as u64).max(1);
        let min = if self.min_ns == u64::MAX {
            0
        } else {
            self.min_ns.min(self.max_ns)
        };
        let mut acc = 0u64;
        for b in self.log2.iter() {
            acc = acc.saturating_add(b.count);
            if acc >= target {
                let (lo, hi) = log2_bucket_bounds(b.idx);
                let hi = hi.map_or(self.max_ns, |h| h.saturating_sub(1)).min(self.max_ns);
                // A histogram that disagrees with min/max (it should not)
                // still gives lo <= hi <= max.
                return Some((lo.max(min).min(hi), hi));
            }
        }
        Some((self.max_ns, self.max_ns))
    }

    /// The upper end of [`Self::quantile_range_ns`]: a value the quantile
    /// does not exceed (never above `max_ns`).
    pub fn quantile_ns(&self, q: f64) -> Option<u64> {
        self.quantile_range_ns(q).map(|(_, hi)| hi)
    }
}

fn libm_ceil(x: f64) -> f64 {
    let t = x as u64 as f64;
    if t < x {
        t + 1.0
    } else {
        t
    }
}

/// Periodic snapshot of one tracked task (kinds TASK, IRQ for IRQ threads, and
/// EXIT for the final record of an exited task).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct TaskSnapshot {
    /// CLOCK_MONOTONIC when the module produced it.
    pub t_ns: u64,
    pub task: TaskInfo,
    /// Worst-case events that did not fit.
    pub events_dropped: u64,
    /// Metrics with any sample, bound or violation; others are all-zero.
    pub metrics: Vec<MetricStats, MAX_METRICS>,
}

impl TaskSnapshot {
    pub fn metric(&self, m: u8) -> Option<&MetricStats> {
        self.metrics.iter().find(|s| s.metric == m)
    }
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Violation {
    pub t_ns: u64,
    pub task: TaskInfo,
    pub metric: u8,
    pub value_ns: u64,
    pub bound_ns: u64,
    /// Cumulative, exact.
    pub violations: u64,
    pub breakdown: Breakdown,
}

/// A task that ran on the tracked task's CPU while it waited.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Culprit {
    pub pid: i32,
    pub prio: i16,
    pub policy: u8,
    pub ns: u64,
    pub comm: Comm,
}

/// One scheduler event behind a worst case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Event {
    /// Since the start of the interval.
    pub t_ns: u64,
    /// `event::*`.
    pub kind: u8,
    pub cpu: u16,
    pub pid: i32,
    pub other_pid: i32,
    pub prio: i16,
    pub other_prio: i16,
    pub policy: u8,
    pub other_policy: u8,
    /// `state::*` (switch only).
    pub prev_state: u8,
    pub comm: Comm,
    pub other_comm: Comm,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Worst {
    pub t_ns: u64,
    pub task: TaskInfo,
    pub metric: u8,
    pub value_ns: u64,
    pub bound_ns: u64,
    /// Interval events beyond what was kept.
    pub events_dropped: u64,
    pub breakdown: Breakdown,
    /// Longest first.
    pub culprits: Vec<Culprit, MAX_CULPRITS>,
    pub events: Vec<Event, MAX_EVENTS>,
    /// `event_flag::*` of `events[i]` (1.1; empty from a 1.0 agent).
    pub event_flags: Vec<u8, MAX_EVENTS>,
}

impl Worst {
    /// The `event_flag::*` of event i (0 where the agent sent none).
    pub fn event_flags_of(&self, i: usize) -> u8 {
        self.event_flags.get(i).copied().unwrap_or(0)
    }
}

/// `Worst` as protocol 1.0 sent it (no `event_flags`).
#[derive(Deserialize)]
struct WorstV1_0 {
    t_ns: u64,
    task: TaskInfo,
    metric: u8,
    value_ns: u64,
    bound_ns: u64,
    events_dropped: u64,
    breakdown: Breakdown,
    culprits: Vec<Culprit, MAX_CULPRITS>,
    events: Vec<Event, MAX_EVENTS>,
}

impl From<WorstV1_0> for Worst {
    fn from(w: WorstV1_0) -> Self {
        Worst {
            t_ns: w.t_ns,
            task: w.task,
            metric: w.metric,
            value_ns: w.value_ns,
            bound_ns: w.bound_ns,
            events_dropped: w.events_dropped,
            breakdown: w.breakdown,
            culprits: w.culprits,
            events: w.events,
            event_flags: Vec::new(),
        }
    }
}

/// Detail records the module could not deliver (slow reader).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Dropped {
    pub t_ns: u64,
    pub violations: u64,
    pub worst: u64,
    pub exits: u64,
}

/// `GpioPulse::flags` bits.
pub mod pulse_flags {
    /// No readback: the demo module's sysfs is absent, or its `last_pulse`
    /// did not advance in time; t_hard, t_thread, t_done are 0.
    pub const NO_READBACK: u8 = 0x01;
    /// The rising edge came later than its deadline by more than the
    /// agent's tolerance (1 ms).
    pub const LATE: u8 = 0x02;
}

/// One pulse of the GPIO stimulus (1.3). Times are the agent's
/// CLOCK_MONOTONIC ns: the rising edge as the agent set it, and, read back
/// from `irq_button_demo`, its hard IRQ, IRQ thread start and handler end.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct GpioPulse {
    pub seq: u64,
    pub t_stimulus: u64,
    pub t_hard: u64,
    pub t_thread: u64,
    pub t_done: u64,
    pub flags: u8,
    /// Deadlines passed without a pulse right after this one.
    pub skipped: u64,
}

/// min / mean / max of one interval, ns (all 0 when nothing was measured).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Span {
    pub min_ns: u64,
    pub mean_ns: u64,
    pub max_ns: u64,
}

/// GPIO stimulus pulses summarised (1.3): sent instead of `GpioPulse` at
/// rates above 50 Hz (one per second) and when the agent fell behind.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct GpioSummary {
    pub t_ns: u64,
    /// Pulses sent in the interval.
    pub count: u64,
    pub late: u64,
    pub skipped: u64,
    /// Pulses without readback (not in the spans).
    pub no_readback: u64,
    pub stim_to_hard: Span,
    pub hard_to_thread: Span,
    pub thread_to_done: Span,
    pub stim_to_done: Span,
}

/// Module presence as seen by the agent.
pub mod module_state {
    pub const ABSENT: u8 = 0;
    pub const PRESENT: u8 = 1;
    pub const REPLAY: u8 = 2;
}

/// Link and agent health, sent periodically.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Heartbeat {
    /// Agent CLOCK_MONOTONIC.
    pub t_ns: u64,
    pub uptime_ms: u64,
    /// Frames and bytes written to the link so far (this one excluded).
    pub frames_sent: u64,
    pub bytes_sent: u64,
    /// Routine snapshots superseded by a newer one before they could be sent.
    pub snapshots_skipped: u64,
    /// Violation records not forwarded (queue full); counts stay exact in snapshots.
    pub violations_skipped: u64,
    /// Worst-case records superseded or not forwarded.
    pub worst_skipped: u64,
    pub write_errors: u64,
    pub reopens: u64,
    pub records_read: u64,
    /// Module records of a type this agent does not know.
    pub records_unknown: u64,
    /// Module records that were malformed.
    pub records_bad: u64,
    /// `module_state::*`.
    pub module_state: u8,
    pub tracked: u32,
    /// Link budget in bytes per second; 0: unlimited.
    pub budget_bps: u32,
    /// The agent's own messages (Hello, Notice, Heartbeat, Dropped) not
    /// queued because the urgent queue was full (protocol 1.2).
    pub other_skipped: u64,
}

/// `Heartbeat` as protocol 1.0 and 1.1 sent it (no `other_skipped`).
#[derive(Deserialize)]
struct HeartbeatV1_1 {
    t_ns: u64,
    uptime_ms: u64,
    frames_sent: u64,
    bytes_sent: u64,
    snapshots_skipped: u64,
    violations_skipped: u64,
    worst_skipped: u64,
    write_errors: u64,
    reopens: u64,
    records_read: u64,
    records_unknown: u64,
    records_bad: u64,
    module_state: u8,
    tracked: u32,
    budget_bps: u32,
}

impl From<HeartbeatV1_1> for Heartbeat {
    fn from(h: HeartbeatV1_1) -> Self {
        Heartbeat {
            t_ns: h.t_ns,
            uptime_ms: h.uptime_ms,
            frames_sent: h.frames_sent,
            bytes_sent: h.bytes_sent,
            snapshots_skipped: h.snapshots_skipped,
            violations_skipped: h.violations_skipped,
            worst_skipped: h.worst_skipped,
            write_errors: h.write_errors,
            reopens: h.reopens,
            records_read: h.records_read,
            records_unknown: h.records_unknown,
            records_bad: h.records_bad,
            module_state: h.module_state,
            tracked: h.tracked,
            budget_bps: h.budget_bps,
            other_skipped: 0,
        }
    }
}

/// Agent log line (e.g. "waiting for /dev/rt_tracer").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct Notice {
    pub level: NoticeLevel,
    pub text: String<120>,
}

/// How serious a [`Notice`] is. On the wire it is the u8 it always was
/// (0 info, 1 warning, 2 error); a value this version does not know (a
/// newer agent's) decodes as `Other` and encodes back unchanged. Levels
/// compare by their number (`Other(1)` is `Warning`).
#[derive(Debug, Clone, Copy, Default)]
pub enum NoticeLevel {
    #[default]
    Info,
    Warning,
    Error,
    /// Any other value (from a newer agent): 3 and up.
    Other(u8),
}

impl NoticeLevel {
    pub const fn from_u8(v: u8) -> Self {
        match v {
            0 => NoticeLevel::Info,
            1 => NoticeLevel::Warning,
            2 => NoticeLevel::Error,
            v => NoticeLevel::Other(v),
        }
    }

    pub const fn as_u8(self) -> u8 {
        match self {
            NoticeLevel::Info => 0,
            NoticeLevel::Warning => 1,
            NoticeLevel::Error => 2,
            NoticeLevel::Other(v) => v,
        }
    }

    /// Lower-case name for text output; None for a level this version does not know.
    pub const fn name(self) -> Option<&'static str> {
        match NoticeLevel::from_u8(self.as_u8()) {
            NoticeLevel::Info => Some("info"),
            NoticeLevel::Warning => Some("warning"),
            NoticeLevel::Error => Some("error"),
            NoticeLevel::Other(_) => None,
        }
    }
}

impl PartialEq for NoticeLevel {
    fn eq(&self, other: &Self) -> bool {
        self.as_u8() == other.as_u8()
    }
}

impl Eq for NoticeLevel {}

impl core::hash::Hash for NoticeLevel {
    fn hash<H: core::hash::Hasher>(&self, h: &mut H) {
        self.as_u8().hash(h)
    }
}

impl From<u8> for NoticeLevel {
    fn from(v: u8) -> Self {
        NoticeLevel::from_u8(v)
    }
}

impl From<NoticeLevel> for u8 {
    fn from(l: NoticeLevel) -> u8 {
        l.as_u8()
    }
}

// By hand, not derived: a derived enum would travel as a variant index and
// reject unknown values; this is the plain u8 of protocol 1.0.
impl Serialize for NoticeLevel {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u8(self.as_u8())
    }
}

impl<'de> Deserialize<'de> for NoticeLevel {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        u8::deserialize(d).map(NoticeLevel::from_u8)
    }
}

#[cfg(test)]
mod notice_level_tests {
    use super::*;

    #[test]
    fn travels_as_the_u8_and_keeps_unknown_values() {
        let mut buf = [0u8; 160];
        for v in 0..=255u8 {
            let n = Notice {
                level: NoticeLevel::from_u8(v),
                text: bounded_str("x"),
            };
            let bytes = postcard::to_slice(&n, &mut buf).unwrap();
            // level as one raw byte, then the string: what protocol 1.0 sent.
            assert_eq!(bytes, &[v, 1, b'x']);
            let back: Notice = postcard::from_bytes(bytes).unwrap();
            assert_eq!(back.level.as_u8(), v);
            assert_eq!(back, n);
        }
        assert_eq!(NoticeLevel::from_u8(1), NoticeLevel::Warning);
        assert_eq!(NoticeLevel::from_u8(9), NoticeLevel::Other(9));
        assert_eq!(NoticeLevel::Error.name(), Some("error"));
        assert_eq!(NoticeLevel::Other(9).name(), None);
        // A non-canonical Other is the level its number is.
        assert_eq!(NoticeLevel::Other(1).name(), Some("warning"));
        assert_eq!(NoticeLevel::Other(1), NoticeLevel::Warning);
        assert_ne!(NoticeLevel::Other(3), NoticeLevel::Other(4));
    }
}

/// A budget window over its budget (1.4): one at its deadline while it is
/// still open (`what` DEADLINE; `t_ns` = start + budget + the timer's own
/// lateness), one at its stop (`what` STOP, the final duration). The
/// breakdown, culprits and events explain `start_ns` .. `t_ns`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct WindowOverrun {
    pub t_ns: u64,
    pub task: TaskInfo,
    /// The START's tag (a uprobe binding's: its START offset).
    pub tag: u64,
    /// `window_what::*`.
    pub what: u8,
    /// `win_state::*`: the task's state at `t_ns`.
    pub state: u8,
    /// Nest depth then.
    pub depth: u8,
    pub budget_ns: u64,
    /// CLOCK_MONOTONIC of the START.
    pub start_ns: u64,
    pub duration_ns: u64,
    /// DEADLINE: how late the deadline timer ran.
    pub timer_late_ns: u64,
    /// Of this task and tag, cumulative.
    pub overruns: u64,
    pub events_dropped: u64,
    pub breakdown: Breakdown,
    pub culprits: Vec<Culprit, MAX_CULPRITS>,
    pub events: Vec<Event, MAX_EVENTS>,
    /// `event_flag::*` of `events[i]`.
    pub event_flags: Vec<u8, MAX_EVENTS>,
}

/// A task's budget windows of one tag (1.4), sent after each snapshot of a
/// task that started windows. In `stats`: the stopped windows' durations
/// (count .. histograms), `bound_ns` the last START's budget, `violations`
/// the overruns (also of windows that never stopped), `worst` the
/// breakdown of the longest; `stats.metric` is [`WINDOW_METRIC`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, Default)]
pub struct WindowStats {
    pub t_ns: u64,
    pub task: TaskInfo,
    pub tag: u64,
    /// Windows open when the task exited or stopped being tracked.
    pub abandoned: u64,
    /// The task's windows of tags beyond those the module keeps.
    pub tags_dropped: u64,
    /// The task's window open now: its nest depth; 0: none.
    pub depth: u8,
    pub stats: MetricStats,
    /// Tasks that ran instead during the longest window, longest first.
    pub culprits: Vec<Culprit, MAX_CULPRITS>,
}

/// `MetricStats::metric` of window statistics: not a scheduler metric.
pub const WINDOW_METRIC: u8 = 0xff;

/// Every message this version knows.
#[allow(clippy::large_enum_variant)]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    Hello(Hello),
    Heartbeat(Heartbeat),
    Task(TaskSnapshot),
    Irq(TaskSnapshot),
    Exit(TaskSnapshot),
    Violation(Violation),
    Worst(Worst),
    Dropped(Dropped),
    Notice(Notice),
    GpioPulse(GpioPulse),
    GpioSummary(GpioSummary),
    Window(WindowOverrun),
    WindowStats(WindowStats),
}

impl Message {
    pub fn kind(&self) -> u16 {
        match self {
            Message::Hello(_) => kind::HELLO,
            Message::Heartbeat(_) => kind::HEARTBEAT,
            Message::Task(_) => kind::TASK,
            Message::Irq(_) => kind::IRQ,
            Message::Exit(_) => kind::EXIT,
            Message::Violation(_) => kind::VIOLATION,
            Message::Worst(_) => kind::WORST,
            Message::Dropped(_) => kind::DROPPED,
            Message::Notice(_) => kind::NOTICE,
            Message::GpioPulse(_) => kind::GPIO_PULSE,
            Message::GpioSummary(_) => kind::GPIO_SUMMARY,
            Message::Window(_) => kind::WINDOW,
            Message::WindowStats(_) => kind::WINDOW_STATS,
        }
    }

    /// Serialize the payload (without envelope).
    pub fn encode_payload<'a>(&self, buf: &'a mut [u8]) -> Result<&'a mut [u8], postcard::Error> {
        match self {
            Message::Hello(m) => postcard::to_slice(m, buf),
            Message::Heartbeat(m) => postcard::to_slice(m, buf),
            Message::Task(m) | Message::Irq(m) | Message::Exit(m) => postcard::to_slice(m, buf),
            Message::Violation(m) => postcard::to_slice(m, buf),
            Message::Worst(m) => postcard::to_slice(m, buf),
            Message::Dropped(m) => postcard::to_slice(m, buf),
            Message::Notice(m) => postcard::to_slice(m, buf),
            Message::GpioPulse(m) => postcard::to_slice(m, buf),
            Message::GpioSummary(m) => postcard::to_slice(m, buf),
            Message::Window(m) => postcard::to_slice(m, buf),
            Message::WindowStats(m) => postcard::to_slice(m, buf),
        }
    }

    /// Decode a payload of a known kind. `Ok(None)`: a kind this version does
    /// not know (skip it). Trailing bytes (fields added by a newer minor) are ignored.
    pub fn decode_payload(kind: u16, payload: &[u8]) -> Result<Option<Message>, postcard::Error> {
        fn take<'a, T: Deserialize<'a>>(p: &'a [u8]) -> Result<T, postcard::Error> {
            postcard::take_from_bytes(p).map(|(v, _rest)| v)
        }
        Ok(Some(match kind {
            kind::HELLO => Message::Hello(take(payload)?),
            kind::HEARTBEAT => Message::Heartbeat(match take(payload) {
                Ok(h) => h,
                // a 1.0 or 1.1 agent: the payload ends before other_skipped
                Err(postcard::Error::DeserializeUnexpectedEnd) => take::<HeartbeatV1_1>(payload)?.into(),
                Err(e) => return Err(e),
            }),
            kind::TASK => Message::Task(take(payload)?),
            kind::IRQ => Message::Irq(take(payload)?),
            kind::EXIT => Message::Exit(take(payload)?),
            kind::VIOLATION => Message::Violation(take(payload)?),
            kind::WORST => Message::Worst(match take(payload) {
                Ok(w) => w,
                // a 1.0 agent: the payload ends before event_flags
                Err(postcard::Error::DeserializeUnexpectedEnd) => take::<WorstV1_0>(payload)?.into(),
                Err(e) => return Err(e),
            }),
            kind::DROPPED => Message::Dropped(take(payload)?),
            kind::NOTICE => Message::Notice(take(payload)?),
            kind::GPIO_PULSE => Message::GpioPulse(take(payload)?),
            kind::GPIO_SUMMARY => Message::GpioSummary(take(payload)?),
            kind::WINDOW => Message::Window(take(payload)?),
            kind::WINDOW_STATS => Message::WindowStats(take(payload)?),
            _ => return Ok(None),
        }))
    }
}

/// Copy `s` into a bounded string. Too long, it is cut at a char boundary
/// and ends in `…` (when N has room for it), so a reader sees that text is
/// missing rather than a sentence that stops.
pub fn bounded_str<const N: usize>(s: &str) -> String<N> {
    const MARK: char = '…';
    let mut out = String::new();
    if s.len() <= N {
        // fits: push_str cannot fail
        let _ = out.push_str(s);
        return out;
    }
    let room = N.saturating_sub(if N >= 2 * MARK.len_utf8() { MARK.len_utf8() } else { 0 });
    for c in s.chars() {
        if out.len() + c.len_utf8() > room {
            break;
        }
        let _ = out.push(c);
    }
    if room < N {
        let _ = out.push(MARK);
    }
    out
}

/// A kernel `char comm[16]` (NUL-terminated, maybe not UTF-8) as a [`Comm`].
pub fn comm_from_bytes(b: &[u8]) -> Comm {
    let end = b.iter().position(|&c| c == 0).unwrap_or(b.len());
    let mut out = Comm::new();
    for chunk in b[..end].utf8_chunks() {
        for c in chunk.valid().chars() {
            if out.push(c).is_err() {
                return out;
            }
        }
        if !chunk.invalid().is_empty() && out.push('?').is_err() {
            return out;
        }
    }
    out
}

#[cfg(test)]
mod bounded_str_tests {
    use super::*;

    #[test]
    fn fits_unchanged_and_a_cut_is_marked() {
        assert_eq!(bounded_str::<8>("exactly8").as_str(), "exactly8");
        let cut: String<120> = bounded_str(&"word ".repeat(40));
        assert_eq!(cut.len(), 120);
        assert!(cut.ends_with('…') && cut.starts_with("word word"), "{cut}");
        // never inside a multi-byte char, with or without room for the mark
        let cut: String<10> = bounded_str("ääääääää");
        assert_eq!(cut.as_str(), "äää…");
        let tiny: String<3> = bounded_str("abcd");
        assert_eq!(tiny.as_str(), "abc");
    }
}
