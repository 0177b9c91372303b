//! `--json`: one object per line, each a typed struct below. The schema
//! (docs/rtdecode.schema.json) is generated from these types ([`schema`]);
//! a test keeps the committed file equal to it.
//!
//! Every line has `type` (one per line kind, one per wire kind) and
//! `host_time` (RFC 3339 UTC, when rtdecode handled it); the first line of a
//! run is `schema_version`.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::time::SystemTime;

use rt_protocol::{
    event, event_flag, log2_bucket_bounds, metric, state, Breakdown, Culprit, Damage, Event, FrameError, Heartbeat,
    Hello, LinHist, MetricStats, Notice, TaskInfo, TaskSnapshot, Violation, WindowOverrun, WindowStats, Worst,
    PROTOCOL_MAJOR, PROTOCOL_MINOR,
};
use schemars::JsonSchema;
use serde::Serialize;

use crate::state::{SnapshotKind, State};
use crate::{findings, fmt, Printer, Record};

/// Version of this JSON format: the major changes when a field is removed,
/// renamed or changes meaning, the minor when fields or line types are added.
pub const SCHEMA_VERSION: &str = "2.4";

/// A `type` tag with one value: a unit enum serializes as its name, and its
/// schema is that one string.
macro_rules! tag {
    ($name:ident, $value:literal) => {
        #[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, JsonSchema)]
        pub enum $name {
            #[default]
            #[serde(rename = $value)]
            Tag,
        }
    };
}

tag!(SchemaVersionTag, "schema_version");
tag!(ConsoleTag, "console");
tag!(HelloTag, "hello");
tag!(HeartbeatTag, "heartbeat");
tag!(ViolationTag, "violation");
tag!(WorstTag, "worst");
tag!(DroppedTag, "dropped");
tag!(NoticeTag, "notice");
tag!(LinkTag, "link");
tag!(UnknownTag, "unknown");
tag!(IncompatibleTag, "incompatible");
tag!(DamagedTag, "damaged");
tag!(GpioPulseTag, "gpio_pulse");
tag!(GpioSummaryTag, "gpio_summary");
tag!(FindingTag, "finding");
tag!(WindowOverrunTag, "window_overrun");
tag!(WindowStatsTag, "window_stats");

/// When rtdecode handled the line: RFC 3339, UTC, microseconds. For a
/// capture file that is the time of decoding, not of capture.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(transparent)]
#[schemars(extend("format" = "date-time"))]
pub struct HostTime(pub String);

/// First line of every run.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SchemaVersionLine {
    #[serde(rename = "type")]
    pub tag: SchemaVersionTag,
    pub host_time: HostTime,
    /// `major.minor` of this format (see SCHEMA_VERSION).
    pub schema_version: String,
    pub rtdecode_version: String,
    /// Wire protocol this rtdecode reads, `major.minor`.
    pub protocol: String,
}

/// One console line, without its line end.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ConsoleLine {
    #[serde(rename = "type")]
    pub tag: ConsoleTag,
    pub host_time: HostTime,
    pub text: String,
    /// No line end yet: text shown because the line went idle (a shell
    /// prompt) or the input ended.
    pub partial: bool,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HelloLine {
    #[serde(rename = "type")]
    pub tag: HelloTag,
    pub host_time: HostTime,
    pub seq: u32,
    /// `proto_major.proto_minor`.
    pub protocol: String,
    pub proto_major: u16,
    pub proto_minor: u16,
    pub agent_version: String,
    pub kernel_release: String,
    /// 0.0: the module is not loaded.
    pub uapi_major: u32,
    pub uapi_minor: u32,
    pub board: String,
    /// 0: the agent writes to a file.
    pub baud: u32,
    pub module_flags: u32,
    /// (2.2) What IRQ metrics are measured from: "handler tracepoints
    /// (exact)" or "derived from IRQ thread scheduling"; null: neither flag.
    pub irq_timing: Option<String>,
}

/// (2.2) One GPIO stimulus pulse (wire kind 10). Times are the agent's
/// CLOCK_MONOTONIC ns; intervals are null without readback.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GpioPulseLine {
    #[serde(rename = "type")]
    pub tag: GpioPulseTag,
    pub host_time: HostTime,
    pub seq: u32,
    /// The pulse's number since the stimulus started.
    pub pulse: u64,
    pub t_stimulus: u64,
    pub t_hard: u64,
    pub t_thread: u64,
    pub t_done: u64,
    /// No readback from irq_button_demo (t_hard, t_thread, t_done are 0).
    pub no_readback: bool,
    /// The edge came later than its deadline by more than 1 ms.
    pub late: bool,
    /// Deadlines passed without a pulse right after this one.
    pub skipped: u64,
    pub stimulus_to_hard_ns: Option<u64>,
    pub hard_to_thread_ns: Option<u64>,
    pub thread_to_done_ns: Option<u64>,
    pub stimulus_to_done_ns: Option<u64>,
}

/// min / mean / max of an interval, ns.
#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SpanJson {
    pub min_ns: u64,
    pub mean_ns: u64,
    pub max_ns: u64,
}

/// (2.2) GPIO stimulus pulses summarised (wire kind 11): at rates above
/// 50 Hz, or when the agent fell behind. Spans are null when no pulse had
/// readback.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GpioSummaryLine {
    #[serde(rename = "type")]
    pub tag: GpioSummaryTag,
    pub host_time: HostTime,
    pub seq: u32,
    pub t_ns: u64,
    pub count: u64,
    pub late: u64,
    pub skipped: u64,
    pub no_readback: u64,
    pub stimulus_to_hard: Option<SpanJson>,
    pub hard_to_thread: Option<SpanJson>,
    pub thread_to_done: Option<SpanJson>,
    pub stimulus_to_done: Option<SpanJson>,
}

/// (2.2) The run's GPIO stimulus tally, in `link` lines.
#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct GpioTallyJson {
    pub count: u64,
    pub late: u64,
    pub skipped: u64,
    pub no_readback: u64,
    /// stimulus→done over the pulses with readback; null when none had it.
    pub stimulus_to_done: Option<SpanJson>,
}

/// The agent's own counters, as a heartbeat carries them.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct AgentCounters {
    pub uptime_ms: u64,
    pub frames_sent: u64,
    pub bytes_sent: u64,
    pub snapshots_skipped: u64,
    pub violations_skipped: u64,
    pub worst_skipped: u64,
    pub write_errors: u64,
    pub reopens: u64,
    pub records_read: u64,
    pub records_unknown: u64,
    pub records_bad: u64,
    /// 0 absent, 1 present, 2 replay.
    pub module_state: u8,
    pub tracked: u32,
    /// Link budget in bytes/s; 0: unlimited.
    pub budget_bps: u32,
    /// The agent's own messages not queued (urgent queue full); 0 from
    /// agents before protocol 1.2.
    pub other_skipped: u64,
}

impl From<&Heartbeat> for AgentCounters {
    fn from(h: &Heartbeat) -> Self {
        AgentCounters {
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
            other_skipped: h.other_skipped,
        }
    }
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct HeartbeatLine {
    #[serde(rename = "type")]
    pub tag: HeartbeatTag,
    pub host_time: HostTime,
    pub seq: u32,
    /// Agent CLOCK_MONOTONIC.
    pub t_ns: u64,
    pub agent: AgentCounters,
}

/// A task as the wire names it, with its scheduling in words.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct TaskJson {
    pub pid: i32,
    pub tgid: i32,
    pub comm: String,
    /// -1 unless an IRQ thread.
    pub irq: i32,
    /// Kernel prio: 0-99 RT, 100-139 normal.
    pub prio: i16,
    /// SCHED_* number.
    pub policy: u8,
    /// As `chrt` shows it: "FIFO 80", "OTHER nice 0".
    pub sched: String,
    /// RTT_F_*: 1 TRACE, 2 EXITED, 4 IRQ_THREAD.
    pub flags: u32,
    /// 1 pid, 2 tgid, 3 irq.
    pub track_kind: u8,
    /// (pid, start_ns) is unique.
    pub start_ns: u64,
}

impl From<&TaskInfo> for TaskJson {
    fn from(t: &TaskInfo) -> Self {
        TaskJson {
            pid: t.pid,
            tgid: t.tgid,
            comm: t.comm.to_string(),
            irq: t.irq,
            prio: t.prio,
            policy: t.policy,
            sched: fmt::sched(t.policy, t.prio),
            flags: t.flags,
            track_kind: t.track_kind,
            start_ns: t.start_ns,
        }
    }
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BreakdownJson {
    pub running_ns: u64,
    pub waiting_ns: u64,
    /// Sum of the four sleep_* parts.
    pub sleeping_ns: u64,
    pub sleep_timer_ns: u64,
    pub sleep_lock_ns: u64,
    pub sleep_io_ns: u64,
    pub sleep_other_ns: u64,
}

impl From<&Breakdown> for BreakdownJson {
    fn from(b: &Breakdown) -> Self {
        BreakdownJson {
            running_ns: b.running_ns,
            waiting_ns: b.waiting_ns,
            sleeping_ns: b
                .sleep_timer_ns
                .saturating_add(b.sleep_lock_ns)
                .saturating_add(b.sleep_io_ns)
                .saturating_add(b.sleep_other_ns),
            sleep_timer_ns: b.sleep_timer_ns,
            sleep_lock_ns: b.sleep_lock_ns,
            sleep_io_ns: b.sleep_io_ns,
            sleep_other_ns: b.sleep_other_ns,
        }
    }
}

/// One non-empty histogram bucket: `[lo_ns, hi_ns)`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct BucketJson {
    pub lo_ns: u64,
    /// `null` for the open last log2 bucket.
    pub hi_ns: Option<u64>,
    pub count: u64,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LinHistJson {
    pub lo_ns: u64,
    pub step_ns: u64,
    /// Samples below `lo_ns` and beyond the last bucket.
    pub under: u64,
    pub over: u64,
    pub hist: Vec<BucketJson>,
}

impl From<&LinHist> for LinHistJson {
    fn from(l: &LinHist) -> Self {
        let hist = l
            .buckets
            .iter()
            .map(|b| {
                let lo = l.lo_ns.saturating_add(l.step_ns.saturating_mul(u64::from(b.idx)));
                BucketJson {
                    lo_ns: lo,
                    hi_ns: Some(lo.saturating_add(l.step_ns)),
                    count: b.count,
                }
            })
            .collect();
        LinHistJson {
            lo_ns: l.lo_ns,
            step_ns: l.step_ns,
            under: l.under,
            over: l.over,
            hist,
        }
    }
}

/// Where a percentile lies: the log2 bucket holding it, clamped to the
/// observed min and max (`lo_ns <= p <= hi_ns`). Not an interpolated value.
#[derive(Debug, Clone, Copy, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct RangeJson {
    pub lo_ns: u64,
    pub hi_ns: u64,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Percentiles {
    pub p50: Option<RangeJson>,
    pub p90: Option<RangeJson>,
    pub p99: Option<RangeJson>,
    pub p999: Option<RangeJson>,
}

/// One metric of a task. min/max/mean and the percentiles are `null` while
/// `count` is 0.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct MetricJson {
    pub count: u64,
    pub min_ns: Option<u64>,
    pub max_ns: Option<u64>,
    pub mean_ns: Option<u64>,
    pub percentiles: Percentiles,
    /// SLO bound; 0: none.
    pub bound_ns: u64,
    /// Cumulative, exact.
    pub violations: u64,
    pub last_ns: u64,
    /// Log2 histogram, non-empty buckets ascending: bucket i holds [2^(i-1), 2^i) ns.
    pub hist: Vec<BucketJson>,
    /// Present when the module keeps a linear histogram for this metric.
    pub lin_hist: Option<LinHistJson>,
    /// Where the time of `max_ns` went.
    pub worst: BreakdownJson,
    /// CLOCK_MONOTONIC when the worst ended.
    pub worst_at_ns: u64,
}

impl From<&MetricStats> for MetricJson {
    fn from(m: &MetricStats) -> Self {
        let has = m.count > 0;
        let range = |q| m.quantile_range_ns(q).map(|(lo_ns, hi_ns)| RangeJson { lo_ns, hi_ns });
        MetricJson {
            count: m.count,
            min_ns: has.then_some(m.min_ns),
            max_ns: has.then_some(m.max_ns),
            mean_ns: m.mean_ns(),
            percentiles: Percentiles {
                p50: range(0.5),
                p90: range(0.9),
                p99: range(0.99),
                p999: range(0.999),
            },
            bound_ns: m.bound_ns,
            violations: m.violations,
            last_ns: m.last_ns,
            hist: m
                .log2
                .iter()
                .map(|b| {
                    let (lo_ns, hi_ns) = log2_bucket_bounds(b.idx);
                    BucketJson {
                        lo_ns,
                        hi_ns,
                        count: b.count,
                    }
                })
                .collect(),
            lin_hist: m.lin.as_ref().map(LinHistJson::from),
            worst: (&m.worst).into(),
            worst_at_ns: m.worst_at_ns,
        }
    }
}

/// Snapshot kinds: `task` (3), `irq` (4, an IRQ thread), `exit` (5, the
/// final record of a task that exited).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum SnapshotTag {
    Task,
    Irq,
    Exit,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct SnapshotLine {
    #[serde(rename = "type")]
    pub tag: SnapshotTag,
    pub host_time: HostTime,
    pub seq: u32,
    /// CLOCK_MONOTONIC when the module produced it.
    pub t_ns: u64,
    pub task: TaskJson,
    /// Worst-case events that did not fit.
    pub events_dropped: u64,
    /// Every metric this rtdecode knows, by name, plus any other the agent
    /// sent (as `metricN`).
    pub metrics: BTreeMap<String, MetricJson>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct ViolationLine {
    #[serde(rename = "type")]
    pub tag: ViolationTag,
    pub host_time: HostTime,
    pub seq: u32,
    pub t_ns: u64,
    pub task: TaskJson,
    pub metric: String,
    pub value_ns: u64,
    pub bound_ns: u64,
    /// Cumulative, exact.
    pub violations: u64,
    pub breakdown: BreakdownJson,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CulpritJson {
    pub pid: i32,
    pub comm: String,
    pub prio: i16,
    pub policy: u8,
    pub sched: String,
    /// Time it ran on the tracked task's CPU while that waited.
    pub ns: u64,
}

impl From<&Culprit> for CulpritJson {
    fn from(c: &Culprit) -> Self {
        CulpritJson {
            pid: c.pid,
            comm: c.comm.to_string(),
            prio: c.prio,
            policy: c.policy,
            sched: fmt::sched(c.policy, c.prio),
            ns: c.ns,
        }
    }
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct EventJson {
    /// Since the start of the interval.
    pub t_ns: u64,
    pub cpu: u16,
    /// wakeup, switch, migrate, irq_entry, irq_exit (unknown: newer module).
    pub event: String,
    pub pid: i32,
    pub comm: String,
    pub prio: i16,
    pub policy: u8,
    pub sched: String,
    pub other_pid: i32,
    pub other_comm: String,
    pub other_prio: i16,
    pub other_policy: u8,
    /// Switch only: preempted, sleep_timer, sleep_lock, sleep_io, sleep_other, dead.
    pub prev_state: String,
    /// A wakeup from hard IRQ context: `other_*` is the interrupted task, not a waker.
    pub hardirq: bool,
    pub text: String,
}

impl EventJson {
    fn new(e: &Event, flags: u8) -> Self {
        EventJson {
            t_ns: e.t_ns,
            cpu: e.cpu,
            event: event::name(e.kind).to_string(),
            pid: e.pid,
            comm: e.comm.to_string(),
            prio: e.prio,
            policy: e.policy,
            sched: fmt::sched(e.policy, e.prio),
            other_pid: e.other_pid,
            other_comm: e.other_comm.to_string(),
            other_prio: e.other_prio,
            other_policy: e.other_policy,
            prev_state: state::name(e.prev_state).to_string(),
            hardirq: flags & event_flag::HARDIRQ != 0,
            text: fmt::event_text(e, flags),
        }
    }
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WorstLine {
    #[serde(rename = "type")]
    pub tag: WorstTag,
    pub host_time: HostTime,
    pub seq: u32,
    pub t_ns: u64,
    pub task: TaskJson,
    pub metric: String,
    pub value_ns: u64,
    pub bound_ns: u64,
    pub breakdown: BreakdownJson,
    /// The story in one sentence.
    pub explanation: String,
    /// Longest first.
    pub culprits: Vec<CulpritJson>,
    pub events: Vec<EventJson>,
    /// Interval events beyond what was kept.
    pub events_dropped: u64,
}

/// When a window overrun was reported.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum WindowAt {
    /// Its deadline fired while it was open (it may never stop).
    Deadline,
    /// It stopped over budget: the final duration.
    Stop,
    /// A value a newer module sent.
    Unknown,
}

/// (2.4) A budget window over its budget (wire kind 12): at its deadline,
/// and at its stop. The breakdown, culprits and events explain
/// `start_ns` .. `t_ns`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WindowOverrunLine {
    #[serde(rename = "type")]
    pub tag: WindowOverrunTag,
    pub host_time: HostTime,
    pub seq: u32,
    /// CLOCK_MONOTONIC of the report: start + budget + timer_late_ns at
    /// the deadline, the STOP at a stop.
    pub t_ns: u64,
    pub task: TaskJson,
    /// The START's tag (a uprobe binding's: its START offset).
    pub window_tag: u64,
    pub at: WindowAt,
    /// What the task was doing at `t_ns`: running, waiting, sleep_timer,
    /// sleep_lock, sleep_io, sleep_other.
    pub state: String,
    /// Nest depth then.
    pub depth: u8,
    pub budget_ns: u64,
    pub start_ns: u64,
    pub duration_ns: u64,
    /// duration_ns - budget_ns.
    pub excess_ns: u64,
    /// How late the deadline timer ran (deadline only, else 0).
    pub timer_late_ns: u64,
    /// Of this task and tag, cumulative, exact.
    pub overruns: u64,
    pub breakdown: BreakdownJson,
    /// The story in one sentence.
    pub explanation: String,
    /// Longest first.
    pub culprits: Vec<CulpritJson>,
    pub events: Vec<EventJson>,
    pub events_dropped: u64,
}

/// (2.4) A task's budget windows of one tag (wire kind 13), after each of
/// its snapshots. In `stats`: the stopped windows' durations, `bound_ns`
/// the last START's budget, `violations` the overruns (also of windows
/// that never stopped), `worst` the longest one's breakdown.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct WindowStatsLine {
    #[serde(rename = "type")]
    pub tag: WindowStatsTag,
    pub host_time: HostTime,
    pub seq: u32,
    pub t_ns: u64,
    pub task: TaskJson,
    pub window_tag: u64,
    /// Windows open when the task exited or stopped being tracked.
    pub abandoned: u64,
    /// The task's windows of tags beyond those the module keeps.
    pub tags_dropped: u64,
    /// The task's window open now: its nest depth; 0: none.
    pub open_depth: u8,
    pub stats: MetricJson,
    /// Tasks that ran instead during the longest window, longest first.
    pub culprits: Vec<CulpritJson>,
}

/// Module records lost to a slow reader (this message's counts, not a total).
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DroppedLine {
    #[serde(rename = "type")]
    pub tag: DroppedTag,
    pub host_time: HostTime,
    pub seq: u32,
    pub t_ns: u64,
    pub violations: u64,
    pub worst: u64,
    pub exits: u64,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NoticeLine {
    #[serde(rename = "type")]
    pub tag: NoticeTag,
    pub host_time: HostTime,
    pub seq: u32,
    /// 0 info, 1 warning, 2 error.
    pub level: u8,
    pub text: String,
}

/// Link health: the receiver's counters, and the agent's as of its last
/// heartbeat. After every heartbeat and once at the end (`final`).
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct LinkLine {
    #[serde(rename = "type")]
    pub tag: LinkTag,
    pub host_time: HostTime,
    #[serde(rename = "final")]
    pub final_: bool,
    pub frames: u64,
    pub crc_errors: u64,
    pub framing_errors: u64,
    pub resyncs: u64,
    /// Frames missing by sequence number.
    pub lost: u64,
    pub decode_errors: u64,
    /// Frames of kinds this rtdecode does not know.
    pub unknown: u64,
    /// Sum of the agent's skipped counters.
    pub skipped: u64,
    pub bytes: u64,
    pub console_bytes: u64,
    /// Frames recovered by undoing a tty's CR LF conversion (also in `frames`).
    pub onlcr_frames: u64,
    /// `null` until a heartbeat came.
    pub agent: Option<AgentCounters>,
    /// (2.2) GPIO stimulus pulses so far; `null` when there were none.
    pub gpio: Option<GpioTallyJson>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct UnknownLine {
    #[serde(rename = "type")]
    pub tag: UnknownTag,
    pub host_time: HostTime,
    pub seq: u32,
    pub kind: u16,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct IncompatibleLine {
    #[serde(rename = "type")]
    pub tag: IncompatibleTag,
    pub host_time: HostTime,
    pub major: u16,
    pub minor: u16,
    pub message: String,
}

/// A stretch of the stream that was neither text nor a good frame (counted
/// in the link line too).
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct DamagedLine {
    #[serde(rename = "type")]
    pub tag: DamagedTag,
    pub host_time: HostTime,
    /// crc, cobs, too_short, format, envelope (CRC fine, payload not
    /// decodable), garbage, overlong.
    pub damage: String,
    pub bytes: u64,
}

/// Another task a finding's cause names.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct PeerJson {
    pub pid: i32,
    pub comm: String,
    pub prio: i16,
    pub policy: u8,
    pub sched: String,
    /// Time it ran on the tracked task's CPU meanwhile; null: it was not
    /// among the culprits.
    pub ran_ns: Option<u64>,
}

impl From<&findings::Peer> for PeerJson {
    fn from(p: &findings::Peer) -> Self {
        PeerJson {
            pid: p.pid,
            comm: p.comm.clone(),
            prio: p.prio,
            policy: p.policy,
            sched: fmt::sched(p.policy, p.prio),
            ran_ns: p.ran_ns,
        }
    }
}

/// (2.3) The dominant cause of a worst case.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct CauseJson {
    /// Stable key of the cause (never renamed; new causes get new keys).
    pub key: findings::CauseKind,
    /// The dominant part of the breakdown; null when it was all zero.
    pub part: Option<findings::Part>,
    pub part_ns: u64,
    /// The task the cause blames: the one that ran instead, the medium
    /// task of an inversion, the lock holder, the task that answered the I/O.
    pub culprit: Option<PeerJson>,
    /// The lock's holder, when its release is in the events.
    pub lock_holder: Option<PeerJson>,
    /// The tracked task's CPU in the worst case (from its events).
    pub cpu: Option<u16>,
    /// Hard IRQs that came on that CPU during the interval (not the IRQ
    /// thread's own).
    pub hard_irqs: Vec<i32>,
    /// record: the worst-case record of this value; breakdown_only: only
    /// the snapshot's breakdown of the max reached the host.
    pub evidence: findings::Evidence,
    pub events_dropped: u64,
    /// The cause in one sentence.
    pub sentence: String,
}

/// (2.3) The verdict of one task and metric, at the end of the run (one
/// line per task and metric with a sample or a bound, before the final
/// `link`).
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct FindingLine {
    #[serde(rename = "type")]
    pub tag: FindingTag,
    pub host_time: HostTime,
    pub task: TaskJson,
    /// The task's final record came.
    pub exited: bool,
    /// A metric's name, or "window" for a budget window's tag.
    pub metric: String,
    /// (2.4) The budget window's tag when `metric` is "window", else null.
    pub window_tag: Option<u64>,
    pub verdict: findings::Verdict,
    /// Samples in the latest snapshot (0 when none described the task).
    pub count: u64,
    /// Cumulative, exact.
    pub violations: u64,
    /// 0: none.
    pub bound_ns: u64,
    /// The worst value; null without a sample.
    pub worst_ns: Option<u64>,
    /// worst_ns - bound_ns when over the bound, else null.
    pub excess_ns: Option<u64>,
    /// worst_ns / bound_ns; null without a bound or a sample.
    pub worst_to_bound: Option<f64>,
    /// null without a sample.
    pub cause: Option<CauseJson>,
}

pub fn finding(f: &findings::Finding, host_time: HostTime) -> FindingLine {
    FindingLine {
        tag: FindingTag::Tag,
        host_time,
        task: (&f.task).into(),
        exited: f.exited,
        metric: fmt::metric_name(f.metric),
        window_tag: f.window_tag,
        verdict: f.verdict,
        count: f.count,
        violations: f.violations,
        bound_ns: f.bound_ns,
        worst_ns: f.worst_ns,
        excess_ns: f.excess_ns(),
        worst_to_bound: f.worst_to_bound(),
        cause: f.cause.as_ref().map(|c| CauseJson {
            key: c.kind,
            part: c.part,
            part_ns: c.part_ns,
            culprit: c.culprit.as_ref().map(PeerJson::from),
            lock_holder: c.lock_holder.as_ref().map(PeerJson::from),
            cpu: c.cpu,
            hard_irqs: c.hard_irqs.clone(),
            evidence: c.evidence,
            events_dropped: c.events_dropped,
            sentence: c.sentence(),
        }),
    }
}

/// Any line of `rtdecode --json`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(untagged)]
#[schemars(title = "rtdecode --json line")]
pub enum Line {
    SchemaVersion(SchemaVersionLine),
    Console(ConsoleLine),
    Hello(HelloLine),
    Heartbeat(HeartbeatLine),
    Snapshot(SnapshotLine),
    Violation(ViolationLine),
    Worst(WorstLine),
    Dropped(DroppedLine),
    Notice(NoticeLine),
    Link(LinkLine),
    Unknown(UnknownLine),
    Incompatible(IncompatibleLine),
    Damaged(DamagedLine),
    GpioPulse(GpioPulseLine),
    GpioSummary(GpioSummaryLine),
    Finding(FindingLine),
    WindowOverrun(WindowOverrunLine),
    WindowStats(WindowStatsLine),
}

/// The JSON Schema of one line, as committed in docs/rtdecode.schema.json.
pub fn schema() -> String {
    let s = schemars::schema_for!(Line);
    let mut text = serde_json::to_string_pretty(&s).unwrap_or_default();
    text.push('\n');
    text
}

/// RFC 3339 UTC with microseconds ("2026-12-01T22:47:12.123456Z").
pub fn rfc3339(t: SystemTime) -> HostTime {
    let d = t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    let secs = d.as_secs();
    let (days, rem) = (secs / 86_400, secs % 86_400);
    // Civil date from days since 1970-01-01 (proleptic Gregorian), by eras
    // of 400 years (146097 days).
    let z = days as i64 + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    HostTime(format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
        rem / 3600,
        rem / 60 % 60,
        rem % 60,
        d.subsec_micros()
    ))
}

fn damage_name(d: &Damage) -> &'static str {
    match d {
        Damage::Frame(FrameError::Crc) => "crc",
        Damage::Frame(FrameError::Cobs) => "cobs",
        Damage::Frame(FrameError::TooShort) => "too_short",
        Damage::Frame(FrameError::Format(_)) => "format",
        Damage::Frame(FrameError::Envelope) => "envelope",
        Damage::Garbage => "garbage",
        Damage::Overlong => "overlong",
    }
}

/// The notice level as its wire number (levels a newer agent adds included).
fn notice_level(n: &Notice) -> u8 {
    u8::from(n.level)
}

/// Every known metric (all-zero when not sent), then any unknown one.
fn metrics(s: &TaskSnapshot) -> BTreeMap<String, MetricJson> {
    let empty = MetricStats {
        min_ns: u64::MAX,
        ..Default::default()
    };
    let mut out = BTreeMap::new();
    for m in 0..metric::COUNT {
        let st = s.metric(m).unwrap_or(&empty);
        out.insert(fmt::metric_name(m), st.into());
    }
    for st in s.metrics.iter().filter(|st| st.metric >= metric::COUNT) {
        out.insert(fmt::metric_name(st.metric), st.into());
    }
    out
}

pub fn incompatible_text(major: u16, minor: u16) -> String {
    format!(
        "agent speaks protocol {major}.{minor}, this rtdecode reads {PROTOCOL_MAJOR}.x (up to \
         {PROTOCOL_MAJOR}.{PROTOCOL_MINOR}): frames are not decoded, console text still is; use a matching rtdecode"
    )
}

/// The line for one record (`None`: nothing to print for it).
pub fn line(r: &Record<'_>, st: &State, host_time: HostTime) -> Option<Line> {
    use rt_protocol::Message as M;
    Some(match r {
        Record::Console { text, partial } => Line::Console(ConsoleLine {
            tag: ConsoleTag::Tag,
            host_time,
            text: text.to_string(),
            partial: *partial,
        }),
        Record::Message { seq, msg } => {
            let seq = *seq;
            match msg {
                M::Hello(h) => Line::Hello(hello(seq, h, host_time)),
                M::Heartbeat(h) => Line::Heartbeat(HeartbeatLine {
                    tag: HeartbeatTag::Tag,
                    host_time,
                    seq,
                    t_ns: h.t_ns,
                    agent: h.into(),
                }),
                M::Task(s) | M::Irq(s) | M::Exit(s) => Line::Snapshot(SnapshotLine {
                    tag: match SnapshotKind::of(msg) {
                        Some(SnapshotKind::Irq) => SnapshotTag::Irq,
                        Some(SnapshotKind::Exit) => SnapshotTag::Exit,
                        _ => SnapshotTag::Task,
                    },
                    host_time,
                    seq,
                    t_ns: s.t_ns,
                    task: (&s.task).into(),
                    events_dropped: s.events_dropped,
                    metrics: metrics(s),
                }),
                M::Violation(v) => Line::Violation(violation(seq, v, host_time)),
                M::Worst(w) => Line::Worst(worst(seq, w, host_time)),
                M::Dropped(d) => Line::Dropped(DroppedLine {
                    tag: DroppedTag::Tag,
                    host_time,
                    seq,
                    t_ns: d.t_ns,
                    violations: d.violations,
                    worst: d.worst,
                    exits: d.exits,
                }),
                M::Notice(n) => Line::Notice(NoticeLine {
                    tag: NoticeTag::Tag,
                    host_time,
                    seq,
                    level: notice_level(n),
                    text: n.text.to_string(),
                }),
                M::GpioPulse(g) => Line::GpioPulse(gpio_pulse(seq, g, host_time)),
                M::GpioSummary(g) => Line::GpioSummary(gpio_summary(seq, g, host_time)),
                M::Window(w) => Line::WindowOverrun(window_overrun(seq, w, host_time)),
                M::WindowStats(w) => Line::WindowStats(window_stats(seq, w, host_time)),
            }
        }
        Record::Unknown { seq, kind } => Line::Unknown(UnknownLine {
            tag: UnknownTag::Tag,
            host_time,
            seq: *seq,
            kind: *kind,
        }),
        Record::Incompatible { major, minor } => Line::Incompatible(IncompatibleLine {
            tag: IncompatibleTag::Tag,
            host_time,
            major: *major,
            minor: *minor,
            message: incompatible_text(*major, *minor),
        }),
        Record::Damaged { damage, bytes } => Line::Damaged(DamagedLine {
            tag: DamagedTag::Tag,
            host_time,
            damage: damage_name(damage).into(),
            bytes: *bytes as u64,
        }),
        Record::Link { final_ } => Line::Link(link(st, *final_, host_time)),
    })
}

fn hello(seq: u32, h: &Hello, host_time: HostTime) -> HelloLine {
    HelloLine {
        tag: HelloTag::Tag,
        host_time,
        seq,
        protocol: format!("{}.{}", h.proto_major, h.proto_minor),
        proto_major: h.proto_major,
        proto_minor: h.proto_minor,
        agent_version: h.agent_version.to_string(),
        kernel_release: h.kernel_release.to_string(),
        uapi_major: h.uapi_major,
        uapi_minor: h.uapi_minor,
        board: h.board.to_string(),
        baud: h.baud,
        module_flags: h.module_flags,
        irq_timing: crate::state::irq_timing(h.module_flags).map(str::to_string),
    }
}

fn violation(seq: u32, v: &Violation, host_time: HostTime) -> ViolationLine {
    ViolationLine {
        tag: ViolationTag::Tag,
        host_time,
        seq,
        t_ns: v.t_ns,
        task: (&v.task).into(),
        metric: fmt::metric_name(v.metric),
        value_ns: v.value_ns,
        bound_ns: v.bound_ns,
        violations: v.violations,
        breakdown: (&v.breakdown).into(),
    }
}

fn worst(seq: u32, w: &Worst, host_time: HostTime) -> WorstLine {
    WorstLine {
        tag: WorstTag::Tag,
        host_time,
        seq,
        t_ns: w.t_ns,
        task: (&w.task).into(),
        metric: fmt::metric_name(w.metric),
        value_ns: w.value_ns,
        bound_ns: w.bound_ns,
        breakdown: (&w.breakdown).into(),
        explanation: fmt::explain_worst(w),
        culprits: w.culprits.iter().map(CulpritJson::from).collect(),
        events: events_json(&w.events, |i| w.event_flags_of(i)),
        events_dropped: w.events_dropped,
    }
}

fn events_json(events: &[Event], flags: impl Fn(usize) -> u8) -> Vec<EventJson> {
    events
        .iter()
        .enumerate()
        .map(|(i, e)| EventJson::new(e, flags(i)))
        .collect()
}

fn window_overrun(seq: u32, w: &WindowOverrun, host_time: HostTime) -> WindowOverrunLine {
    WindowOverrunLine {
        tag: WindowOverrunTag::Tag,
        host_time,
        seq,
        t_ns: w.t_ns,
        task: (&w.task).into(),
        window_tag: w.tag,
        at: match w.what {
            rt_protocol::window_what::DEADLINE => WindowAt::Deadline,
            rt_protocol::window_what::STOP => WindowAt::Stop,
            _ => WindowAt::Unknown,
        },
        state: rt_protocol::win_state::name(w.state).to_string(),
        depth: w.depth,
        budget_ns: w.budget_ns,
        start_ns: w.start_ns,
        duration_ns: w.duration_ns,
        excess_ns: w.duration_ns.saturating_sub(w.budget_ns),
        timer_late_ns: w.timer_late_ns,
        overruns: w.overruns,
        breakdown: (&w.breakdown).into(),
        explanation: fmt::explain_window(w),
        culprits: w.culprits.iter().map(CulpritJson::from).collect(),
        events: events_json(&w.events, |i| w.event_flags.get(i).copied().unwrap_or(0)),
        events_dropped: w.events_dropped,
    }
}

fn window_stats(seq: u32, w: &WindowStats, host_time: HostTime) -> WindowStatsLine {
    WindowStatsLine {
        tag: WindowStatsTag::Tag,
        host_time,
        seq,
        t_ns: w.t_ns,
        task: (&w.task).into(),
        window_tag: w.tag,
        abandoned: w.abandoned,
        tags_dropped: w.tags_dropped,
        open_depth: w.depth,
        stats: (&w.stats).into(),
        culprits: w.culprits.iter().map(CulpritJson::from).collect(),
    }
}

fn link(st: &State, final_: bool, host_time: HostTime) -> LinkLine {
    let s = &st.rx;
    LinkLine {
        tag: LinkTag::Tag,
        host_time,
        final_,
        frames: s.frames,
        crc_errors: s.crc_errors,
        framing_errors: s.framing_errors,
        resyncs: s.resyncs,
        lost: s.lost_frames,
        decode_errors: s.decode_errors,
        unknown: s.unknown_kinds,
        skipped: st.agent_skipped(),
        bytes: s.bytes,
        console_bytes: s.console_bytes,
        onlcr_frames: s.onlcr_frames,
        agent: st.heartbeat.as_ref().map(AgentCounters::from),
        gpio: (st.gpio.count > 0).then(|| GpioTallyJson {
            count: st.gpio.count,
            late: st.gpio.late,
            skipped: st.gpio.skipped,
            no_readback: st.gpio.no_readback,
            stimulus_to_done: st.gpio.mean_ns().map(|mean_ns| SpanJson {
                min_ns: st.gpio.min_ns,
                mean_ns,
                max_ns: st.gpio.max_ns,
            }),
        }),
    }
}

fn gpio_pulse(seq: u32, g: &rt_protocol::GpioPulse, host_time: HostTime) -> GpioPulseLine {
    use rt_protocol::pulse_flags as f;
    let rb = g.flags & f::NO_READBACK == 0;
    let d = |a: u64, b: u64| rb.then(|| b.saturating_sub(a));
    GpioPulseLine {
        tag: GpioPulseTag::Tag,
        host_time,
        seq,
        pulse: g.seq,
        t_stimulus: g.t_stimulus,
        t_hard: g.t_hard,
        t_thread: g.t_thread,
        t_done: g.t_done,
        no_readback: !rb,
        late: g.flags & f::LATE != 0,
        skipped: g.skipped,
        stimulus_to_hard_ns: d(g.t_stimulus, g.t_hard),
        hard_to_thread_ns: d(g.t_hard, g.t_thread),
        thread_to_done_ns: d(g.t_thread, g.t_done),
        stimulus_to_done_ns: d(g.t_stimulus, g.t_done),
    }
}

fn gpio_summary(seq: u32, g: &rt_protocol::GpioSummary, host_time: HostTime) -> GpioSummaryLine {
    let measured = g.count > g.no_readback;
    let span = |s: &rt_protocol::Span| {
        measured.then_some(SpanJson {
            min_ns: s.min_ns,
            mean_ns: s.mean_ns,
            max_ns: s.max_ns,
        })
    };
    GpioSummaryLine {
        tag: GpioSummaryTag::Tag,
        host_time,
        seq,
        t_ns: g.t_ns,
        count: g.count,
        late: g.late,
        skipped: g.skipped,
        no_readback: g.no_readback,
        stimulus_to_hard: span(&g.stim_to_hard),
        hard_to_thread: span(&g.hard_to_thread),
        thread_to_done: span(&g.thread_to_done),
        stimulus_to_done: span(&g.stim_to_done),
    }
}

/// JSON lines to any writer.
pub struct JsonPrinter<W: Write> {
    out: W,
    started: bool,
}

impl<W: Write> JsonPrinter<W> {
    pub fn new(out: W) -> Self {
        JsonPrinter { out, started: false }
    }

    pub fn into_inner(self) -> W {
        self.out
    }

    fn write(&mut self, l: &Line) -> io::Result<()> {
        serde_json::to_writer(&mut self.out, l)?;
        self.out.write_all(b"\n")
    }

    fn start(&mut self, now: SystemTime) -> io::Result<()> {
        if std::mem::replace(&mut self.started, true) {
            return Ok(());
        }
        self.write(&Line::SchemaVersion(SchemaVersionLine {
            tag: SchemaVersionTag::Tag,
            host_time: rfc3339(now),
            schema_version: SCHEMA_VERSION.into(),
            rtdecode_version: env!("CARGO_PKG_VERSION").into(),
            protocol: format!("{PROTOCOL_MAJOR}.{PROTOCOL_MINOR}"),
        }))
    }
}

impl<W: Write> Printer for JsonPrinter<W> {
    fn record(&mut self, r: &Record<'_>, st: &State, now: SystemTime) -> io::Result<()> {
        self.start(now)?;
        if let Some(l) = line(r, st, rfc3339(now)) {
            self.write(&l)?;
        }
        // After each heartbeat, the link as the receiver sees it.
        if let Record::Message {
            msg: rt_protocol::Message::Heartbeat(_),
            ..
        } = r
        {
            self.write(&Line::Link(link(st, false, rfc3339(now))))?;
        }
        Ok(())
    }

    fn finish(&mut self, st: &State, now: SystemTime) -> io::Result<()> {
        self.start(now)?;
        for f in findings::all(st) {
            self.write(&Line::Finding(finding(&f, rfc3339(now))))?;
        }
        self.record(&Record::Link { final_: true }, st, now)?;
        self.out.flush()
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rt_protocol::{pulse_flags, GpioPulse, GpioSummary, Message, Span};
    use std::time::Duration;

    fn json(r: &Record<'_>, st: &State) -> serde_json::Value {
        let l = line(r, st, rfc3339(SystemTime::UNIX_EPOCH)).expect("a line");
        serde_json::to_value(&l).unwrap()
    }

    fn pulse(flags: u8) -> GpioPulse {
        GpioPulse {
            seq: 3,
            t_stimulus: 1_000_000,
            t_hard: 1_041_000,
            t_thread: 1_126_000,
            t_done: 1_336_000,
            flags,
            skipped: 2,
        }
    }

    #[test]
    fn gpio_pulse_lines_have_the_intervals_or_null_without_readback() {
        let st = State::default();
        let m = Message::GpioPulse(pulse(pulse_flags::LATE));
        assert_eq!(
            json(&Record::Message { seq: 9, msg: &m }, &st),
            serde_json::json!({
                "type": "gpio_pulse", "host_time": "1970-01-01T00:00:00.000000Z", "seq": 9,
                "pulse": 3, "t_stimulus": 1_000_000u64, "t_hard": 1_041_000u64,
                "t_thread": 1_126_000u64, "t_done": 1_336_000u64,
                "no_readback": false, "late": true, "skipped": 2,
                "stimulus_to_hard_ns": 41_000, "hard_to_thread_ns": 85_000,
                "thread_to_done_ns": 210_000, "stimulus_to_done_ns": 336_000,
            })
        );
        let m = Message::GpioPulse(GpioPulse {
            t_hard: 0,
            t_thread: 0,
            t_done: 0,
            ..pulse(pulse_flags::NO_READBACK)
        });
        let v = json(&Record::Message { seq: 9, msg: &m }, &st);
        assert_eq!(
            (v["no_readback"].as_bool(), v["late"].as_bool()),
            (Some(true), Some(false))
        );
        for k in [
            "stimulus_to_hard_ns",
            "hard_to_thread_ns",
            "thread_to_done_ns",
            "stimulus_to_done_ns",
        ] {
            assert!(v[k].is_null(), "{k}: {v}");
        }
    }

    fn summary(count: u64, no_readback: u64) -> GpioSummary {
        let span = |min_ns, mean_ns, max_ns| Span {
            min_ns,
            mean_ns,
            max_ns,
        };
        GpioSummary {
            t_ns: 2_000_000_000,
            count,
            late: 1,
            skipped: 4,
            no_readback,
            stim_to_hard: span(40, 41, 90),
            hard_to_thread: span(80, 85, 700),
            thread_to_done: span(200, 210, 260),
            stim_to_done: span(320, 336, 1050),
        }
    }

    #[test]
    fn gpio_summary_lines_and_the_link_tally() {
        let mut st = State::default();
        let m = Message::GpioSummary(summary(1000, 2));
        st.apply(&m);
        assert_eq!(
            json(&Record::Message { seq: 10, msg: &m }, &st),
            serde_json::json!({
                "type": "gpio_summary", "host_time": "1970-01-01T00:00:00.000000Z", "seq": 10,
                "t_ns": 2_000_000_000u64, "count": 1000, "late": 1, "skipped": 4, "no_readback": 2,
                "stimulus_to_hard": {"min_ns": 40, "mean_ns": 41, "max_ns": 90},
                "hard_to_thread": {"min_ns": 80, "mean_ns": 85, "max_ns": 700},
                "thread_to_done": {"min_ns": 200, "mean_ns": 210, "max_ns": 260},
                "stimulus_to_done": {"min_ns": 320, "mean_ns": 336, "max_ns": 1050},
            })
        );
        // Every pulse without readback: the spans mean nothing, so null.
        let m = Message::GpioSummary(summary(5, 5));
        st.apply(&m);
        let v = json(&Record::Message { seq: 11, msg: &m }, &st);
        for k in [
            "stimulus_to_hard",
            "hard_to_thread",
            "thread_to_done",
            "stimulus_to_done",
        ] {
            assert!(v[k].is_null(), "{k}: {v}");
        }
        // The link line sums both; its span covers the 998 measured pulses only.
        let v = json(&Record::Link { final_: true }, &st);
        assert_eq!(
            v["gpio"],
            serde_json::json!({
                "count": 1005, "late": 2, "skipped": 8, "no_readback": 7,
                "stimulus_to_done": {"min_ns": 320, "mean_ns": 336, "max_ns": 1050},
            })
        );
        assert!(json(&Record::Link { final_: true }, &State::default())["gpio"].is_null());
    }

    #[test]
    fn rfc3339_dates() {
        let at =
            |s: u64, us: u64| rfc3339(SystemTime::UNIX_EPOCH + Duration::from_secs(s) + Duration::from_micros(us)).0;
        assert_eq!(at(0, 0), "1970-01-01T00:00:00.000000Z");
        assert_eq!(at(951_782_400, 5), "2000-02-29T00:00:00.000005Z");
        assert_eq!(at(1_796_082_432, 123_456), "2026-11-30T23:47:12.123456Z");
        assert_eq!(at(4_107_542_399, 999_999), "2100-02-28T23:59:59.999999Z");
    }
}
