//! `rtdecode export --perfetto`: every worst case and violation of a stream
//! as a Perfetto trace (the protobuf trace format, TrackEvent packets) that
//! ui.perfetto.dev and Perfetto's trace processor open.
//!
//! Why TrackEvent and not ftrace-event packets: a worst case is a window of
//! a few milliseconds known in full (the switches on the task's CPU while it
//! was queued there), and windows lie seconds apart. Perfetto builds its
//! ftrace scheduling tracks from a continuous stream of switches, a CPU's
//! slice lasting until that CPU's next switch, so the task running at the
//! end of one window would appear to run until the next window, and who ran
//! before a window's first switch could not be said at all. With TrackEvent
//! each slice ends where the record's knowledge ends.
//!
//! What the trace holds:
//! - one track per CPU seen ("CPU 1"): slices of the task that ran, between
//!   two consecutive switches on that CPU (the second switching out the task
//!   the first switched in), named "comm pid", culprits flagged;
//! - per tracked task a thread track, and under it one track per metric:
//!   each worst case as a slice "worst latency 10.7 ms" (its value, bound,
//!   breakdown, culprits and cause as arguments), the task's states inside
//!   it (waiting, running, sleeping on a timer / lock / I/O) as nested
//!   slices, its wakeups and migrations as instants; every violation as an
//!   instant at the time it ended, its breakdown as arguments.
//!
//! Times are the agent's CLOCK_MONOTONIC in ns, written as the trace's
//! default clock. The message structs are written by hand after Perfetto's
//! published protos (protos/perfetto/trace/trace.proto, trace_packet.proto,
//! track_event/track_descriptor.proto, track_event.proto,
//! debug_annotation.proto), only the fields used, with prost's derive: no
//! protoc at build time.

use std::collections::BTreeMap;
use std::io::{self, Write};
use std::time::SystemTime;

use prost::Message as _;
use rt_protocol::{event, event_flag, state, Breakdown, Event, Message, TaskInfo, Violation, Worst};

use crate::state::{who_ran_on_cpus, Ran, State, TaskKey};
use crate::{findings, fmt, Printer, Record};

/// The few Perfetto messages used, field numbers as in Perfetto's protos.
pub mod proto {
    #[derive(Clone, PartialEq, prost::Message)]
    pub struct Trace {
        #[prost(message, repeated, tag = "1")]
        pub packet: Vec<TracePacket>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct TracePacket {
        #[prost(uint64, optional, tag = "8")]
        pub timestamp: Option<u64>,
        #[prost(uint32, optional, tag = "10")]
        pub trusted_packet_sequence_id: Option<u32>,
        #[prost(message, optional, tag = "11")]
        pub track_event: Option<TrackEvent>,
        #[prost(uint32, optional, tag = "13")]
        pub sequence_flags: Option<u32>,
        #[prost(message, optional, tag = "60")]
        pub track_descriptor: Option<TrackDescriptor>,
    }

    /// TracePacket.SequenceFlags.SEQ_INCREMENTAL_STATE_CLEARED.
    pub const SEQ_INCREMENTAL_STATE_CLEARED: u32 = 1;

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct TrackDescriptor {
        #[prost(uint64, optional, tag = "1")]
        pub uuid: Option<u64>,
        #[prost(string, optional, tag = "2")]
        pub name: Option<String>,
        #[prost(message, optional, tag = "3")]
        pub process: Option<ProcessDescriptor>,
        #[prost(message, optional, tag = "4")]
        pub thread: Option<ThreadDescriptor>,
        #[prost(uint64, optional, tag = "5")]
        pub parent_uuid: Option<u64>,
        /// TrackDescriptor.ChildTracksOrdering.
        #[prost(int32, optional, tag = "11")]
        pub child_ordering: Option<i32>,
        #[prost(int32, optional, tag = "12")]
        pub sibling_order_rank: Option<i32>,
    }

    /// ChildTracksOrdering.EXPLICIT: by sibling_order_rank.
    pub const ORDER_EXPLICIT: i32 = 3;

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ProcessDescriptor {
        #[prost(int32, optional, tag = "1")]
        pub pid: Option<i32>,
        #[prost(string, optional, tag = "6")]
        pub process_name: Option<String>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct ThreadDescriptor {
        #[prost(int32, optional, tag = "1")]
        pub pid: Option<i32>,
        #[prost(int32, optional, tag = "2")]
        pub tid: Option<i32>,
        #[prost(string, optional, tag = "5")]
        pub thread_name: Option<String>,
    }

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct TrackEvent {
        #[prost(message, repeated, tag = "4")]
        pub debug_annotations: Vec<DebugAnnotation>,
        /// TrackEvent.Type.
        #[prost(int32, optional, tag = "9")]
        pub r#type: Option<i32>,
        #[prost(uint64, optional, tag = "11")]
        pub track_uuid: Option<u64>,
        #[prost(string, repeated, tag = "22")]
        pub categories: Vec<String>,
        #[prost(string, optional, tag = "23")]
        pub name: Option<String>,
    }

    pub const TYPE_SLICE_BEGIN: i32 = 1;
    pub const TYPE_SLICE_END: i32 = 2;
    pub const TYPE_INSTANT: i32 = 3;

    #[derive(Clone, PartialEq, prost::Message)]
    pub struct DebugAnnotation {
        #[prost(uint64, optional, tag = "3")]
        pub uint_value: Option<u64>,
        #[prost(int64, optional, tag = "4")]
        pub int_value: Option<i64>,
        #[prost(string, optional, tag = "6")]
        pub string_value: Option<String>,
        #[prost(string, optional, tag = "10")]
        pub name: Option<String>,
    }
}

use proto::{DebugAnnotation, TracePacket, TrackDescriptor, TrackEvent};

/// Our one packet sequence.
const SEQ: u32 = 1;
/// Track uuids: CPUs, then 512 per task (its thread track, then a child
/// track per metric number, 0-255).
const CPU_UUID: u64 = 1 << 32;
const TASK_UUID: u64 = 2 << 32;

fn arg_u(name: &str, v: u64) -> DebugAnnotation {
    DebugAnnotation {
        name: Some(name.into()),
        uint_value: Some(v),
        ..Default::default()
    }
}

fn arg_s(name: &str, v: impl Into<String>) -> DebugAnnotation {
    DebugAnnotation {
        name: Some(name.into()),
        string_value: Some(v.into()),
        ..Default::default()
    }
}

fn breakdown_args(b: &Breakdown) -> Vec<DebugAnnotation> {
    vec![
        arg_u("running_ns", b.running_ns),
        arg_u("waiting_ns", b.waiting_ns),
        arg_u("sleep_timer_ns", b.sleep_timer_ns),
        arg_u("sleep_lock_ns", b.sleep_lock_ns),
        arg_u("sleep_io_ns", b.sleep_io_ns),
        arg_u("sleep_other_ns", b.sleep_other_ns),
    ]
}

/// One timed event, sortable so that slices nest: at one time, ends first
/// (inner before outer), then begins (outer before inner), then instants
/// (inside what begins there).
struct Timed {
    ts: u64,
    rank: (u8, i8),
    /// Order of creation: keeps equal keys stable.
    n: usize,
    ev: TrackEvent,
}

/// The slices of the worst cases and the violations, turned into a trace.
#[derive(Default)]
pub struct Builder {
    worst: Vec<Worst>,
    violations: Vec<Violation>,
}

/// What a trace holds, for the message rtdecode prints when it wrote one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    pub worst: usize,
    pub violations: usize,
    pub cpus: usize,
    pub tasks: usize,
}

impl Builder {
    pub fn add(&mut self, msg: &Message) {
        match msg {
            Message::Worst(w) => self.worst.push(w.clone()),
            Message::Violation(v) => self.violations.push(v.clone()),
            _ => {}
        }
    }

    /// The trace, and what it holds. `st`: the stream's final state (the
    /// tasks' latest names).
    pub fn build(&self, st: &State) -> (proto::Trace, Summary) {
        let mut b = Build::default();
        let mut tasks: BTreeMap<TaskKey, TaskInfo> = BTreeMap::new();
        for w in &self.worst {
            tasks.insert(TaskKey::of(&w.task), w.task.clone());
        }
        for v in &self.violations {
            tasks.insert(TaskKey::of(&v.task), v.task.clone());
        }
        // The latest name of each task (threads rename themselves).
        for (k, t) in tasks.iter_mut() {
            if let Some(e) = st.tasks.get(k) {
                *t = e.snap.task.clone();
            }
        }
        let index: BTreeMap<TaskKey, u64> = tasks.keys().enumerate().map(|(i, k)| (*k, i as u64)).collect();
        let mut ws: Vec<&Worst> = self.worst.iter().collect();
        ws.sort_by_key(|w| w.t_ns);
        let mut metric_tracks: BTreeMap<(u64, u8), ()> = BTreeMap::new();
        for w in &ws {
            let ti = index[&TaskKey::of(&w.task)];
            metric_tracks.insert((ti, w.metric), ());
            b.worst(w, metric_uuid(ti, w.metric));
        }
        for v in &self.violations {
            let ti = index[&TaskKey::of(&v.task)];
            metric_tracks.insert((ti, v.metric), ());
            b.violation(v, metric_uuid(ti, v.metric));
        }
        b.cpu_slices();

        let mut packets = Vec::new();
        let mut desc = |d: TrackDescriptor| {
            packets.push(TracePacket {
                trusted_packet_sequence_id: Some(SEQ),
                track_descriptor: Some(d),
                ..Default::default()
            })
        };
        for &cpu in b.ran.keys() {
            desc(TrackDescriptor {
                uuid: Some(CPU_UUID + u64::from(cpu)),
                name: Some(format!("CPU {cpu}")),
                sibling_order_rank: Some(i32::from(cpu)),
                ..Default::default()
            });
        }
        for (k, t) in &tasks {
            let ti = index[k];
            desc(TrackDescriptor {
                uuid: Some(thread_uuid(ti)),
                thread: Some(proto::ThreadDescriptor {
                    pid: Some(t.tgid),
                    tid: Some(t.pid),
                    thread_name: Some(t.comm.to_string()),
                }),
                child_ordering: Some(proto::ORDER_EXPLICIT),
                ..Default::default()
            });
            for (&(_, m), _) in metric_tracks.range((ti, 0)..=(ti, u8::MAX)) {
                desc(TrackDescriptor {
                    uuid: Some(metric_uuid(ti, m)),
                    parent_uuid: Some(thread_uuid(ti)),
                    name: Some(format!("{}[{}] {}", t.comm, t.pid, fmt::metric_name(m))),
                    sibling_order_rank: Some(i32::from(m)),
                    ..Default::default()
                });
            }
        }
        if let Some(first) = packets.first_mut() {
            first.sequence_flags = Some(proto::SEQ_INCREMENTAL_STATE_CLEARED);
        }
        b.events.sort_by_key(|t| (t.ts, t.rank, t.n));
        for t in b.events {
            packets.push(TracePacket {
                timestamp: Some(t.ts),
                trusted_packet_sequence_id: Some(SEQ),
                track_event: Some(t.ev),
                ..Default::default()
            });
        }
        let summary = Summary {
            worst: self.worst.len(),
            violations: self.violations.len(),
            cpus: b.ran.len(),
            tasks: tasks.len(),
        };
        (proto::Trace { packet: packets }, summary)
    }
}

fn thread_uuid(task_index: u64) -> u64 {
    TASK_UUID + task_index * 512
}

fn metric_uuid(task_index: u64, metric: u8) -> u64 {
    thread_uuid(task_index) + 1 + u64::from(metric)
}

#[derive(Default)]
struct Build {
    events: Vec<Timed>,
    /// Per CPU, who ran when (merged over every window).
    ran: BTreeMap<u16, Vec<Ran>>,
}

/// A task's state inside a worst case, as a slice name.
fn state_name(s: u8) -> &'static str {
    match s {
        state::PREEMPTED => "waiting (preempted)",
        state::SLEEP_TIMER => "sleeping on a timer",
        state::SLEEP_LOCK => "sleeping on a lock",
        state::SLEEP_IO => "sleeping in I/O",
        state::SLEEP_OTHER => "sleeping",
        _ => "exited",
    }
}

impl Build {
    fn push(&mut self, ts: u64, rank: (u8, i8), ev: TrackEvent) {
        let n = self.events.len();
        self.events.push(Timed { ts, rank, n, ev });
    }

    fn begin(&mut self, ts: u64, depth: i8, track: u64, name: String, args: Vec<DebugAnnotation>, cat: &str) {
        let ev = TrackEvent {
            debug_annotations: args,
            r#type: Some(proto::TYPE_SLICE_BEGIN),
            track_uuid: Some(track),
            categories: vec![cat.into()],
            name: Some(name),
        };
        self.push(ts, (1, depth), ev);
    }

    fn end(&mut self, ts: u64, depth: i8, track: u64) {
        let ev = TrackEvent {
            r#type: Some(proto::TYPE_SLICE_END),
            track_uuid: Some(track),
            ..Default::default()
        };
        self.push(ts, (0, -depth), ev);
    }

    /// A slice over `(s, e)`, none when empty.
    fn slice(
        &mut self,
        (s, e): (u64, u64),
        depth: i8,
        track: u64,
        name: String,
        args: Vec<DebugAnnotation>,
        cat: &str,
    ) {
        if e > s {
            self.begin(s, depth, track, name, args, cat);
            self.end(e, depth, track);
        }
    }

    fn instant(&mut self, ts: u64, track: u64, name: String, args: Vec<DebugAnnotation>, cat: &str) {
        let ev = TrackEvent {
            debug_annotations: args,
            r#type: Some(proto::TYPE_INSTANT),
            track_uuid: Some(track),
            categories: vec![cat.into()],
            name: Some(name),
        };
        self.push(ts, (2, 0), ev);
    }

    fn worst(&mut self, w: &Worst, track: u64) {
        let start = w.t_ns.saturating_sub(w.value_ns);
        let end = w.t_ns;
        let pid = w.task.pid;
        let cause = findings::classify(&w.task, w.metric, &w.breakdown, w.value_ns, Some(w));
        let mut args = vec![
            arg_u("value_ns", w.value_ns),
            arg_u("bound_ns", w.bound_ns),
            arg_u("events_dropped", w.events_dropped),
            arg_s("cause", cause.kind.key()),
            arg_s("explanation", cause.sentence()),
        ];
        args.extend(breakdown_args(&w.breakdown));
        for (i, c) in w.culprits.iter().enumerate() {
            args.push(arg_s(
                &format!("culprit{i}"),
                format!(
                    "{} (pid {}, {}) ran {}",
                    c.comm,
                    c.pid,
                    fmt::sched(c.policy, c.prio),
                    fmt::dur(c.ns)
                ),
            ));
        }
        let name = format!("worst {} {}", fmt::metric_name(w.metric), fmt::dur(w.value_ns));
        self.slice((start, end), 0, track, name, args, "worst");
        // Every CPU an event names gets its track, with slices or not.
        for e in &w.events {
            self.ran.entry(e.cpu).or_default();
        }

        // The task's own states, from its events (absolute times).
        let at = |e: &Event| start.saturating_add(e.t_ns).min(end);
        let mut cur: (u64, &'static str) = (start, "waiting");
        let mut open = true;
        for (i, e) in w.events.iter().enumerate() {
            let t = at(e);
            let mut next: Option<&'static str> = None;
            match e.kind {
                event::SWITCH if e.pid == pid => next = Some("running"),
                event::SWITCH if e.other_pid == pid => next = Some(state_name(e.prev_state)),
                event::WAKEUP if e.pid == pid => {
                    let how = if w.event_flags_of(i) & event_flag::HARDIRQ != 0 {
                        format!("woken in hard IRQ (interrupting {} {})", e.other_comm, e.other_pid)
                    } else {
                        format!("woken by {} {}", e.other_comm, e.other_pid)
                    };
                    self.instant(t, track, how, vec![arg_u("cpu", u64::from(e.cpu))], "wakeup");
                    // The wakeup that opens the interval is its start.
                    if t > start {
                        next = Some("waiting");
                    }
                }
                event::MIGRATE if e.pid == pid => {
                    self.instant(t, track, format!("migrated to CPU {}", e.other_pid), vec![], "migrate");
                }
                event::IRQ_ENTRY => {
                    self.instant(
                        t,
                        CPU_UUID + u64::from(e.cpu),
                        format!("hard IRQ {}", e.pid),
                        vec![],
                        "irq",
                    );
                }
                _ => {}
            }
            if let Some(n) = next {
                if open {
                    self.slice((cur.0, t), 1, track, cur.1.into(), vec![], "state");
                }
                open = n != "exited";
                cur = (t, n);
            }
        }
        if open {
            let last = w.events.last().map_or(start, at);
            let until = if w.events_dropped > 0 { last } else { end };
            self.slice((cur.0, until), 1, track, cur.1.into(), vec![], "state");
            if w.events_dropped > 0 {
                self.slice((until, end), 1, track, "(events not kept)".into(), vec![], "state");
            }
        }
        // Who ran on each CPU, in absolute times. The trace's worst cases
        // are the agent's scheduler metrics: none opens at a budget
        // window's START.
        who_ran_on_cpus(w, false, |t| start.saturating_add(t), &mut self.ran);
    }

    fn violation(&mut self, v: &Violation, track: u64) {
        let mut args = vec![
            arg_u("value_ns", v.value_ns),
            arg_u("bound_ns", v.bound_ns),
            arg_u("violations", v.violations),
            arg_s("breakdown", fmt::breakdown(&v.breakdown)),
        ];
        args.extend(breakdown_args(&v.breakdown));
        let name = format!(
            "violation: {} {} > {}",
            fmt::metric_name(v.metric),
            fmt::dur(v.value_ns),
            fmt::dur(v.bound_ns)
        );
        self.instant(v.t_ns, track, name, args, "violation");
    }

    fn cpu_slices(&mut self) {
        let ran = std::mem::take(&mut self.ran);
        for (cpu, rs) in &ran {
            for r in rs {
                let mut args = vec![
                    arg_u("pid", r.pid.max(0) as u64),
                    arg_s("sched", fmt::sched(r.policy, r.prio)),
                ];
                let cat = if r.culprit {
                    args.push(arg_s("culprit", "ran while the tracked task waited"));
                    "culprit"
                } else if r.tracked {
                    "tracked"
                } else {
                    "sched"
                };
                self.slice(
                    (r.start_ns, r.end_ns),
                    0,
                    CPU_UUID + u64::from(*cpu),
                    format!("{} {}", r.comm, r.pid),
                    args,
                    cat,
                );
            }
        }
        self.ran = ran;
    }
}

/// A printer that prints nothing: it keeps the worst cases and violations
/// and writes the trace to `out` at the end.
pub struct PerfettoPrinter<W: Write> {
    out: W,
    builder: Builder,
    /// What the written trace holds (after `finish`).
    pub summary: Option<Summary>,
}

impl<W: Write> PerfettoPrinter<W> {
    pub fn new(out: W) -> Self {
        PerfettoPrinter {
            out,
            builder: Builder::default(),
            summary: None,
        }
    }

    pub fn into_inner(self) -> W {
        self.out
    }
}

impl<W: Write> Printer for PerfettoPrinter<W> {
    fn record(&mut self, r: &Record<'_>, _st: &State, _now: SystemTime) -> io::Result<()> {
        if let Record::Message { msg, .. } = r {
            self.builder.add(msg);
        }
        Ok(())
    }

    fn finish(&mut self, st: &State, _now: SystemTime) -> io::Result<()> {
        let (trace, summary) = self.builder.build(st);
        self.out.write_all(&trace.encode_to_vec())?;
        self.summary = Some(summary);
        self.out.flush()
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rt_protocol::{bounded_str, metric, Culprit};

    #[test]
    fn every_metric_number_has_its_own_track() {
        let mut b = Builder::default();
        for metric in [0u8, 14, 15, 255] {
            b.add(&Message::Violation(Violation {
                t_ns: 10,
                metric,
                ..Default::default()
            }));
        }
        let (trace, _) = b.build(&State::default());
        let uuids: Vec<u64> = trace
            .packet
            .iter()
            .filter_map(|p| p.track_descriptor.as_ref().and_then(|d| d.uuid))
            .collect();
        let unique: std::collections::BTreeSet<u64> = uuids.iter().copied().collect();
        // The thread track and four metric tracks, none shared.
        assert_eq!((uuids.len(), unique.len()), (5, 5), "{uuids:?}");
    }

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

    #[test]
    fn a_worst_case_becomes_cpu_and_task_slices_that_decode_again() {
        let mut w = Worst {
            t_ns: 5_000_000,
            task: TaskInfo {
                pid: 173,
                tgid: 173,
                comm: bounded_str("ctrl_loop"),
                prio: 49,
                policy: 1,
                start_ns: 7,
                ..Default::default()
            },
            metric: metric::LATENCY,
            value_ns: 3_000_000,
            bound_ns: 200_000,
            breakdown: Breakdown {
                waiting_ns: 3_000_000,
                ..Default::default()
            },
            ..Default::default()
        };
        w.culprits
            .push(Culprit {
                pid: 172,
                prio: 39,
                policy: 1,
                ns: 3_000_000,
                comm: bounded_str("prio_hog"),
            })
            .unwrap();
        w.events
            .push(ev(event::WAKEUP, 0, 173, "ctrl_loop", 172, "prio_hog", 0))
            .unwrap();
        w.event_flags.push(event_flag::HARDIRQ).unwrap();
        w.events
            .push(ev(
                event::SWITCH,
                3_000_000,
                173,
                "ctrl_loop",
                172,
                "prio_hog",
                state::PREEMPTED,
            ))
            .unwrap();
        w.event_flags.push(0).unwrap();
        let mut b = Builder::default();
        b.add(&Message::Worst(w));
        let (trace, summary) = b.build(&State::default());
        assert_eq!(
            summary,
            Summary {
                worst: 1,
                violations: 0,
                cpus: 1,
                tasks: 1
            }
        );
        let bytes = trace.encode_to_vec();
        let back = proto::Trace::decode(bytes.as_slice()).unwrap();
        assert_eq!(back, trace);
        let names: Vec<(Option<u64>, i32, String)> = back
            .packet
            .iter()
            .filter_map(|p| {
                p.track_event
                    .as_ref()
                    .map(|e| (p.timestamp, e.r#type.unwrap_or(0), e.name.clone().unwrap_or_default()))
            })
            .collect();
        let t0 = 2_000_000;
        assert_eq!(
            names,
            [
                (Some(t0), proto::TYPE_SLICE_BEGIN, "worst latency 3000 us".into()),
                (Some(t0), proto::TYPE_SLICE_BEGIN, "prio_hog 172".into()),
                (Some(t0), proto::TYPE_SLICE_BEGIN, "waiting".into()),
                (
                    Some(t0),
                    proto::TYPE_INSTANT,
                    "woken in hard IRQ (interrupting prio_hog 172)".into()
                ),
                (Some(5_000_000), proto::TYPE_SLICE_END, String::new()),
                (Some(5_000_000), proto::TYPE_SLICE_END, String::new()),
                (Some(5_000_000), proto::TYPE_SLICE_END, String::new()),
            ]
        );
        let tracks: Vec<String> = back
            .packet
            .iter()
            .filter_map(|p| p.track_descriptor.as_ref().and_then(|d| d.name.clone()))
            .collect();
        assert_eq!(tracks, ["CPU 1", "ctrl_loop[173] latency"]);
    }
}
