//! Prometheus / OpenMetrics exposition of one or more devices' streams
//! (`rtdecode serve`, README "Prometheus: rtdecode serve").
//!
//! A [`Device`] is what one source (a serial port, a socket, a capture)
//! said so far, kept across reconnections: its own [`State`] (every message
//! of every connection applied to it, so a link that drops keeps its last
//! values), whether its link is up, and the receiver counters summed over
//! its connections. [`Sink`] is the [`Printer`] a connection's [`Decoder`]
//! feeds; [`render`] writes the exposition of a set of devices, in the
//! OpenMetrics or the Prometheus (0.0.4) text format, with the
//! `prometheus-client` crate's encoders.
//!
//! The scalar values per task and metric (count, violations, worst, bound)
//! are those of [`findings`], so `/metrics` says what `rtdecode --json`'s
//! `finding` lines say for the same stream.
//!
//! [`Decoder`]: crate::Decoder

use std::collections::BTreeMap;
use std::io;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric, NoLabelSet};
use prometheus_client::metrics::counter::ConstCounter;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Registry, Unit};
use rt_protocol::{log2_bucket_bounds, Stats, LOG2_BUCKETS};

use crate::findings;
use crate::fmt::metric_name;
use crate::state::{SnapshotKind, State, TaskKey};
use crate::{Printer, Record};

/// What one source said so far, across all its connections.
#[derive(Debug, Clone)]
pub struct Device {
    /// The `device` label.
    pub name: String,
    /// The source as given (`tcp:HOST:PORT`, a path...).
    pub source: String,
    /// A connection is open (a capture: while it is being read).
    pub up: bool,
    /// Connections opened (a capture: 1).
    pub connects: u64,
    /// Every message of every connection, applied in order.
    pub state: State,
    /// Receiver counters of the connections that ended.
    rx_done: Stats,
    /// Receiver counters of the open connection.
    rx_open: Stats,
    /// Host time of the latest good frame.
    pub last_frame: Option<SystemTime>,
}

impl Device {
    pub fn new(name: &str, source: &str) -> Self {
        Device {
            name: name.into(),
            source: source.into(),
            up: false,
            connects: 0,
            state: State::default(),
            rx_done: Stats::default(),
            rx_open: Stats::default(),
            last_frame: None,
        }
    }

    /// A connection opened: its receiver counters start from zero.
    pub fn connected(&mut self) {
        self.up = true;
        self.connects += 1;
        self.rx_open = Stats::default();
    }

    /// The connection ended (EOF, an error, or the end of a capture): the
    /// values stay, the link is down.
    pub fn disconnected(&mut self) {
        self.up = false;
        self.rx_done = add_stats(&self.rx_done, &self.rx_open);
        self.rx_open = Stats::default();
    }

    /// Receiver counters over every connection, the open one included.
    pub fn rx(&self) -> Stats {
        add_stats(&self.rx_done, &self.rx_open)
    }
}

fn add_stats(a: &Stats, b: &Stats) -> Stats {
    Stats {
        frames: a.frames.saturating_add(b.frames),
        bytes: a.bytes.saturating_add(b.bytes),
        console_bytes: a.console_bytes.saturating_add(b.console_bytes),
        crc_errors: a.crc_errors.saturating_add(b.crc_errors),
        framing_errors: a.framing_errors.saturating_add(b.framing_errors),
        decode_errors: a.decode_errors.saturating_add(b.decode_errors),
        unknown_kinds: a.unknown_kinds.saturating_add(b.unknown_kinds),
        incompatible: a.incompatible.saturating_add(b.incompatible),
        resyncs: a.resyncs.saturating_add(b.resyncs),
        discarded_bytes: a.discarded_bytes.saturating_add(b.discarded_bytes),
        lost_frames: a.lost_frames.saturating_add(b.lost_frames),
        seq_resets: a.seq_resets.saturating_add(b.seq_resets),
        onlcr_frames: a.onlcr_frames.saturating_add(b.onlcr_frames),
    }
}

/// A device shared between its decoder thread and the HTTP server.
pub type SharedDevice = Arc<Mutex<Device>>;

/// The device, even if a thread panicked while holding it (its values are
/// plain data, still worth showing).
pub fn lock(d: &SharedDevice) -> MutexGuard<'_, Device> {
    d.lock().unwrap_or_else(|e| e.into_inner())
}

/// The printer of one connection: folds its records into the device.
pub struct Sink {
    dev: SharedDevice,
}

impl Sink {
    pub fn new(dev: SharedDevice) -> Self {
        Sink { dev }
    }
}

impl Printer for Sink {
    fn record(&mut self, r: &Record<'_>, st: &State, now: SystemTime) -> io::Result<()> {
        let mut d = lock(&self.dev);
        d.rx_open = st.rx;
        match r {
            Record::Message { msg, .. } => {
                d.state.apply(msg);
                d.last_frame = Some(now);
            }
            Record::Unknown { kind, .. } => {
                d.state.unknown_kinds.insert(*kind);
                d.last_frame = Some(now);
            }
            Record::Incompatible { major, minor } => d.state.incompatible = Some((*major, *minor)),
            Record::Console { .. } | Record::Damaged { .. } | Record::Link { .. } => {}
        }
        Ok(())
    }

    fn finish(&mut self, st: &State, _now: SystemTime) -> io::Result<()> {
        lock(&self.dev).rx_open = st.rx;
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// Exposition formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// OpenMetrics 1.0 text (ends with `# EOF`).
    OpenMetrics,
    /// The Prometheus text format 0.0.4 (what a plain `curl` gets).
    Prometheus,
}

impl Format {
    /// OpenMetrics when the scraper asks for it (Prometheus does, first),
    /// the Prometheus text format otherwise.
    pub fn negotiate(accept: Option<&str>) -> Self {
        match accept {
            Some(a) if a.contains("application/openmetrics-text") => Format::OpenMetrics,
            _ => Format::Prometheus,
        }
    }

    pub fn content_type(self) -> &'static str {
        match self {
            Format::OpenMetrics => "application/openmetrics-text; version=1.0.0; charset=utf-8",
            Format::Prometheus => prometheus_client::encoding::prometheus_text::CONTENT_TYPE,
        }
    }
}

/// The inclusive upper bound, in seconds, of each log2 bucket but the open
/// last one: bucket i holds [2^(i-1), 2^i) ns, and samples are whole
/// nanoseconds, so it holds exactly [2^(i-1), 2^i - 1] ns and Prometheus's
/// `le` (inclusive) is 2^i - 1 ns: no sample is counted in a wrong bucket.
/// Bucket 0 (0 ns) has `le` 0.
pub fn bucket_le_seconds(idx: u8) -> Option<f64> {
    let (_, hi) = log2_bucket_bounds(idx);
    hi.map(|hi| (hi - 1) as f64 / 1e9)
}

/// sum_ns and the count of every log2 bucket, in order.
type Log2 = (u64, [u64; LOG2_BUCKETS]);

/// One task and metric, as exposed.
#[derive(Debug, Clone)]
struct Row {
    task: String,
    pid: i32,
    metric: String,
    /// A budget window's tag (`metric` is "window").
    tag: Option<u64>,
    exited: bool,
    start_ns: u64,
    count: u64,
    violations: u64,
    bound_ns: u64,
    worst_ns: Option<u64>,
    min_ns: Option<u64>,
    last_ns: Option<u64>,
    /// The latest snapshot's histogram, when it has samples.
    hist: Option<Log2>,
    /// A budget window's: windows open when the task exited or was untracked.
    abandoned: Option<u64>,
}

/// One device as exposed: copied under its lock, encoded after.
#[derive(Debug, Clone)]
struct View {
    name: String,
    source: String,
    up: bool,
    connects: u64,
    rx: Stats,
    last_frame_s: Option<f64>,
    hello: Option<(String, String, String, String)>,
    heartbeat: Option<rt_protocol::Heartbeat>,
    dropped: rt_protocol::Dropped,
    rows: Vec<Row>,
}

fn view(d: &Device) -> View {
    let st = &d.state;
    // One series per (task, pid, metric, tag): a pid reused by a task of
    // the same name keeps the later task's values.
    let mut rows: BTreeMap<(String, i32, String, Option<u64>), Row> = BTreeMap::new();
    for f in findings::all(st) {
        let key = TaskKey::of(&f.task);
        let snap = st.tasks.get(&key);
        // A budget window's statistics are the window entry's; a scheduler
        // metric's, the latest snapshot's.
        let m = match f.window_tag {
            Some(tag) => st
                .windows
                .get(&(key, tag))
                .and_then(|e| e.stats.as_ref())
                .map(|w| &w.stats),
            None => snap.and_then(|e| e.snap.metrics.iter().find(|m| m.metric == f.metric)),
        };
        let has = m.filter(|m| m.count > 0);
        let hist = has.map(|m| {
            let mut b = [0u64; LOG2_BUCKETS];
            for x in &m.log2 {
                let i = usize::from(x.idx).min(LOG2_BUCKETS - 1);
                b[i] = b[i].saturating_add(x.count);
            }
            (m.sum_ns, b)
        });
        let abandoned = f
            .window_tag
            .and_then(|tag| st.windows.get(&(key, tag)))
            .and_then(|e| e.stats.as_ref())
            .map(|w| w.abandoned);
        let row = Row {
            task: f.task.comm.as_str().to_string(),
            pid: f.task.pid,
            metric: metric_name(f.metric),
            tag: f.window_tag,
            exited: f.exited || snap.is_some_and(|e| e.kind == SnapshotKind::Exit),
            start_ns: key.start_ns,
            count: f.count,
            violations: f.violations,
            bound_ns: f.bound_ns,
            worst_ns: f.worst_ns,
            min_ns: has.map(|m| m.min_ns),
            last_ns: has.map(|m| m.last_ns),
            hist,
            abandoned,
        };
        let k = (row.task.clone(), row.pid, row.metric.clone(), row.tag);
        match rows.get(&k) {
            Some(old) if old.start_ns > row.start_ns => {}
            _ => {
                rows.insert(k, row);
            }
        }
    }
    View {
        name: d.name.clone(),
        source: d.source.clone(),
        up: d.up,
        connects: d.connects,
        rx: d.rx(),
        last_frame_s: d
            .last_frame
            .and_then(|t| t.duration_since(SystemTime::UNIX_EPOCH).ok())
            .map(|t| t.as_secs_f64()),
        hello: st.hello.as_ref().map(|h| {
            (
                h.board.as_str().to_string(),
                h.agent_version.as_str().to_string(),
                h.kernel_release.as_str().to_string(),
                format!("{}.{}", h.proto_major, h.proto_minor),
            )
        }),
        heartbeat: st.heartbeat.clone(),
        dropped: st.dropped.clone(),
        rows: rows.into_values().collect(),
    }
}

type Labels = Vec<(&'static str, String)>;

fn dev_labels(v: &View) -> Labels {
    vec![("device", v.name.clone())]
}

/// `tag` only on a budget window's series (`0x40`, as the text view says).
fn row_labels(v: &View, r: &Row) -> Labels {
    let mut l = vec![
        ("device", v.name.clone()),
        ("task", r.task.clone()),
        ("pid", r.pid.to_string()),
        ("metric", r.metric.clone()),
    ];
    if let Some(t) = r.tag {
        l.push(("tag", format!("{t:#x}")));
    }
    l
}

#[derive(Debug)]
struct Exposition(Vec<View>);

type FmtResult = Result<(), std::fmt::Error>;

fn ns_s(ns: u64) -> f64 {
    ns as f64 / 1e9
}

impl Exposition {
    /// One gauge family: a series per item that has a value.
    fn gauges<T>(
        &self,
        enc: &mut DescriptorEncoder,
        name: &str,
        help: &str,
        unit: Option<&Unit>,
        items: impl Iterator<Item = T>,
        value: impl Fn(&T) -> Option<(Labels, f64)>,
    ) -> FmtResult {
        let series: Vec<(Labels, f64)> = items.filter_map(|t| value(&t)).collect();
        if series.is_empty() {
            return Ok(());
        }
        let mut m = enc.encode_descriptor(name, help, unit, MetricType::Gauge)?;
        for (l, v) in series {
            ConstGauge::new(v).encode(m.encode_family(&l)?)?;
        }
        Ok(())
    }

    /// One counter family (`_total`).
    fn counters<T>(
        &self,
        enc: &mut DescriptorEncoder,
        name: &str,
        help: &str,
        items: impl Iterator<Item = T>,
        value: impl Fn(&T) -> Option<(Labels, u64)>,
    ) -> FmtResult {
        let series: Vec<(Labels, u64)> = items.filter_map(|t| value(&t)).collect();
        if series.is_empty() {
            return Ok(());
        }
        let mut m = enc.encode_descriptor(name, help, None, MetricType::Counter)?;
        for (l, v) in series {
            ConstCounter::new(v).encode(m.encode_family(&l)?)?;
        }
        Ok(())
    }

    fn rows(&self) -> impl Iterator<Item = (&View, &Row)> {
        self.0.iter().flat_map(|v| v.rows.iter().map(move |r| (v, r)))
    }

    fn devices(&self, enc: &mut DescriptorEncoder) -> FmtResult {
        let devs = || self.0.iter();
        self.gauges(
            enc,
            "rt_tracer_link_up",
            "1 while the device's source is connected (a capture: while it is read), 0 once it dropped; \
             its other series keep their last values",
            None,
            devs(),
            |v| Some((dev_labels(v), f64::from(u8::from(v.up)))),
        )?;
        let info: Vec<Labels> = devs()
            .map(|v| {
                let (board, agent, kernel, proto) = v.hello.clone().unwrap_or_default();
                vec![
                    ("device", v.name.clone()),
                    ("source", v.source.clone()),
                    ("board", board),
                    ("agent_version", agent),
                    ("kernel_release", kernel),
                    ("protocol", proto),
                ]
            })
            .collect();
        if !info.is_empty() {
            let mut m = enc.encode_descriptor(
                "rt_tracer_device",
                "The device's source and what its agent's latest Hello said (empty before one)",
                None,
                MetricType::Info,
            )?;
            for l in info {
                m.encode_info(&l)?;
            }
        }
        self.counters(
            enc,
            "rt_tracer_link_connects",
            "Connections to the device's source opened",
            devs(),
            |v| Some((dev_labels(v), v.connects)),
        )?;
        type Rx = (&'static str, &'static str, fn(&Stats) -> u64);
        let rx: [Rx; 10] = [
            ("rt_tracer_link_frames", "Frames received that passed the CRC", |s| {
                s.frames
            }),
            (
                "rt_tracer_link_bytes",
                "Bytes received (frames and console text)",
                |s| s.bytes,
            ),
            (
                "rt_tracer_link_crc_errors",
                "Frames whose CRC did not match (damaged on the line)",
                |s| s.crc_errors,
            ),
            (
                "rt_tracer_link_framing_errors",
                "Stretches that were neither console text nor a valid frame",
                |s| s.framing_errors,
            ),
            (
                "rt_tracer_link_decode_errors",
                "Frames with a good CRC whose payload did not decode",
                |s| s.decode_errors,
            ),
            (
                "rt_tracer_link_lost_frames",
                "Frames missing according to the sequence numbers (lost on the way)",
                |s| s.lost_frames,
            ),
            ("rt_tracer_link_resyncs", "Damaged stretches dropped", |s| s.resyncs),
            (
                "rt_tracer_link_unknown_frames",
                "Frames of a kind this rtdecode does not know",
                |s| s.unknown_kinds,
            ),
            (
                "rt_tracer_link_seq_resets",
                "Sequence restarts (the agent restarted)",
                |s| s.seq_resets,
            ),
            (
                "rt_tracer_link_incompatible_frames",
                "Frames not decoded because the agent speaks another protocol major version (update rtdecode)",
                |s| s.incompatible,
            ),
        ];
        for (name, help, f) in rx {
            self.counters(enc, name, help, devs(), |v| Some((dev_labels(v), f(&v.rx))))?;
        }
        self.gauges(
            enc,
            "rt_tracer_link_last_frame_timestamp",
            "Host time (UNIX) of the latest good frame",
            Some(&Unit::Seconds),
            devs(),
            |v| v.last_frame_s.map(|t| (dev_labels(v), t)),
        )?;
        self.agent(enc)
    }

    fn agent(&self, enc: &mut DescriptorEncoder) -> FmtResult {
        let devs = || self.0.iter();
        self.gauges(
            enc,
            "rt_tracer_agent_uptime",
            "The agent's uptime in its latest heartbeat",
            Some(&Unit::Seconds),
            devs(),
            |v| {
                v.heartbeat
                    .as_ref()
                    .map(|h| (dev_labels(v), h.uptime_ms as f64 / 1000.0))
            },
        )?;
        self.gauges(
            enc,
            "rt_tracer_agent_tracked_tasks",
            "Tasks the module tracks, in the agent's latest heartbeat",
            None,
            devs(),
            |v| v.heartbeat.as_ref().map(|h| (dev_labels(v), f64::from(h.tracked))),
        )?;
        let kinds = |v: &View| -> Vec<(Labels, u64)> {
            let Some(h) = &v.heartbeat else {
                return Vec::new();
            };
            [
                ("snapshots", h.snapshots_skipped),
                ("violations", h.violations_skipped),
                ("worst", h.worst_skipped),
                ("other", h.other_skipped),
            ]
            .into_iter()
            .map(|(k, n)| (vec![("device", v.name.clone()), ("kind", k.to_string())], n))
            .collect()
        };
        self.counters(
            enc,
            "rt_tracer_agent_skipped",
            "Records the agent did not send (link budget, queue full), per kind, from its latest heartbeat \
             (resets when the agent restarts)",
            devs().flat_map(kinds),
            |x| Some(x.clone()),
        )?;
        let dropped = |v: &View| -> Vec<(Labels, u64)> {
            let d = &v.dropped;
            [("violations", d.violations), ("worst", d.worst), ("exits", d.exits)]
                .into_iter()
                .map(|(k, n)| (vec![("device", v.name.clone()), ("kind", k.to_string())], n))
                .collect()
        };
        self.counters(
            enc,
            "rt_tracer_module_dropped",
            "Module records lost to a slow reader (the agent's Dropped messages), per kind",
            devs().flat_map(dropped),
            |x| Some(x.clone()),
        )
    }

    fn tasks(&self, enc: &mut DescriptorEncoder) -> FmtResult {
        self.counters(
            enc,
            "rt_tracer_samples",
            "Samples of the task's metric (the latest snapshot's count; a budget window: windows stopped)",
            self.rows(),
            |(v, r)| Some((row_labels(v, r), r.count)),
        )?;
        self.counters(
            enc,
            "rt_tracer_violations",
            "Samples over the bound (the module's exact cumulative count; a budget window: its overruns)",
            self.rows(),
            |(v, r)| Some((row_labels(v, r), r.violations)),
        )?;
        self.gauges(
            enc,
            "rt_tracer_max",
            "The worst sample (snapshot max, worst-case record or violation, whichever is largest)",
            Some(&Unit::Seconds),
            self.rows(),
            |(v, r)| r.worst_ns.map(|w| (row_labels(v, r), ns_s(w))),
        )?;
        self.gauges(
            enc,
            "rt_tracer_min",
            "The smallest sample",
            Some(&Unit::Seconds),
            self.rows(),
            |(v, r)| r.min_ns.map(|w| (row_labels(v, r), ns_s(w))),
        )?;
        self.gauges(
            enc,
            "rt_tracer_last",
            "The latest sample",
            Some(&Unit::Seconds),
            self.rows(),
            |(v, r)| r.last_ns.map(|w| (row_labels(v, r), ns_s(w))),
        )?;
        self.gauges(
            enc,
            "rt_tracer_bound",
            "The metric's bound (only where one is set)",
            Some(&Unit::Seconds),
            self.rows(),
            |(v, r)| (r.bound_ns > 0).then(|| (row_labels(v, r), ns_s(r.bound_ns))),
        )?;
        self.counters(
            enc,
            "rt_tracer_window_abandoned",
            "Budget windows of the tag still open when the task exited or stopped being tracked",
            self.rows(),
            |(v, r)| r.abandoned.map(|n| (row_labels(v, r), n)),
        )?;
        // A task's exited flag: one series per task, not per metric.
        let mut tasks: BTreeMap<(&str, &str, i32), bool> = BTreeMap::new();
        for (v, r) in self.rows() {
            tasks.insert((&v.name, &r.task, r.pid), r.exited);
        }
        self.gauges(
            enc,
            "rt_tracer_task_exited",
            "1 once the task exited (its values are final)",
            None,
            tasks.into_iter(),
            |((d, t, p), e)| {
                Some((
                    vec![
                        ("device", d.to_string()),
                        ("task", t.to_string()),
                        ("pid", p.to_string()),
                    ],
                    f64::from(u8::from(*e)),
                ))
            },
        )?;
        self.histograms(enc)
    }

    fn histograms(&self, enc: &mut DescriptorEncoder) -> FmtResult {
        let hists: Vec<(Labels, &Row, &Log2)> = self
            .rows()
            .filter_map(|(v, r)| r.hist.as_ref().map(|h| (row_labels(v, r), r, h)))
            .collect();
        if hists.is_empty() {
            return Ok(());
        }
        let mut m = enc.encode_descriptor(
            "rt_tracer_duration",
            "The module's log2 histogram of the task's metric: bucket i, [2^(i-1), 2^i) ns, is le = (2^i - 1) ns",
            Some(&Unit::Seconds),
            MetricType::Histogram,
        )?;
        for (l, r, (sum_ns, counts)) in hists {
            let in_buckets: u64 = counts.iter().fold(0u64, |a, c| a.saturating_add(*c));
            // The +Inf bucket must equal _count: the open last bucket takes
            // whatever the count has beyond the buckets sent.
            let count = r.count.max(in_buckets);
            let mut buckets: Vec<(f64, u64)> = (0..LOG2_BUCKETS)
                .map(|i| {
                    let idx = u8::try_from(i).unwrap_or(u8::MAX);
                    (bucket_le_seconds(idx).unwrap_or(f64::INFINITY), counts[i])
                })
                .collect();
            if let Some(last) = buckets.last_mut() {
                last.1 = last.1.saturating_add(count - in_buckets);
            }
            m.encode_family(&l)?
                .encode_histogram::<NoLabelSet>(ns_s(*sum_ns), count, &buckets, None)?;
        }
        Ok(())
    }
}

impl Collector for Exposition {
    fn encode(&self, mut enc: DescriptorEncoder) -> FmtResult {
        self.devices(&mut enc)?;
        self.tasks(&mut enc)
    }
}

/// The exposition of `devices` as of now, each copied under its lock.
pub fn render(devices: &[SharedDevice], format: Format) -> String {
    let views = devices.iter().map(|d| view(&lock(d))).collect();
    render_views(views, format)
}

fn render_views(views: Vec<View>, format: Format) -> String {
    let mut reg = Registry::default();
    reg.register_collector(Box::new(Exposition(views)));
    let mut out = String::new();
    // Writing into a String cannot fail; an encoder error would be a bug in
    // the labels, and then what was written so far is still served.
    let _ = match format {
        Format::OpenMetrics => prometheus_client::encoding::text::encode(&mut out, &reg),
        Format::Prometheus => prometheus_client::encoding::prometheus_text::encode(&mut out, &reg),
    };
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Decoder;

    const CASE1: &[u8] = include_bytes!("../tests/data/demo-case1.bin");

    fn device(bytes: &[u8]) -> SharedDevice {
        let dev = Arc::new(Mutex::new(Device::new("pi", "case1.bin")));
        let mut dec = Decoder::new();
        let mut sink = Sink::new(dev.clone());
        lock(&dev).connected();
        dec.feed(bytes, &mut sink).unwrap();
        dec.finish(&mut sink).unwrap();
        lock(&dev).disconnected();
        dev
    }

    fn value(text: &str, prefix: &str) -> f64 {
        let line = text
            .lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix} in\n{text}"));
        line.rsplit(' ').next().unwrap().parse().unwrap()
    }

    #[test]
    fn bucket_bounds_are_inclusive_whole_nanoseconds() {
        assert_eq!(bucket_le_seconds(0), Some(0.0));
        assert_eq!(bucket_le_seconds(1), Some(1e-9)); // [1, 2) ns holds 1 ns
        assert_eq!(bucket_le_seconds(2), Some(3e-9));
        assert_eq!(bucket_le_seconds(11), Some(2047e-9));
        assert_eq!(bucket_le_seconds(30), Some(((1u64 << 30) - 1) as f64 / 1e9));
        assert_eq!(bucket_le_seconds(31), None);
    }

    #[test]
    fn case1_exposes_the_findings_and_a_cumulative_histogram() {
        let dev = device(CASE1);
        let om = render(std::slice::from_ref(&dev), Format::OpenMetrics);
        assert!(om.ends_with("# EOF\n"), "{om}");
        let st = lock(&dev).state.clone();
        let f = findings::all(&st)
            .into_iter()
            .find(|f| f.task.comm.as_str() == "ctrl_loop" && f.metric == rt_protocol::metric::LATENCY)
            .expect("ctrl_loop latency finding");
        let l = format!(
            "{{device=\"pi\",task=\"ctrl_loop\",pid=\"{}\",metric=\"latency\"}}",
            f.task.pid
        );
        assert!(f.violations > 0);
        assert_eq!(
            value(&om, &format!("rt_tracer_violations_total{l}")),
            f.violations as f64
        );
        assert_eq!(value(&om, &format!("rt_tracer_samples_total{l}")), f.count as f64);
        let worst = f.worst_ns.unwrap() as f64 / 1e9;
        assert!((value(&om, &format!("rt_tracer_max_seconds{l}")) - worst).abs() < 1e-12);
        assert!((value(&om, &format!("rt_tracer_bound_seconds{l}")) - 200e-6).abs() < 1e-12);
        assert_eq!(value(&om, "rt_tracer_link_up{device=\"pi\"}"), 0.0);
        assert_eq!(value(&om, "rt_tracer_link_connects_total{device=\"pi\"}"), 1.0);
        let frames = lock(&dev).rx().frames;
        assert!(frames > 500);
        assert_eq!(value(&om, "rt_tracer_link_frames_total{device=\"pi\"}"), frames as f64);
        assert!(om.contains("board=\"linux,dummy-virt\""), "{om}");

        // The histogram: cumulative, 32 buckets, +Inf = _count = samples,
        // and each bucket's increment is that log2 bucket's count.
        let key = TaskKey::of(&f.task);
        let m = st.tasks[&key]
            .snap
            .metrics
            .iter()
            .find(|m| m.metric == f.metric)
            .unwrap()
            .clone();
        let pid = f.task.pid.to_string();
        let want = [
            ("device", "pi"),
            ("task", "ctrl_loop"),
            ("pid", pid.as_str()),
            ("metric", "latency"),
        ];
        let buckets: Vec<(String, f64)> = samples(&om)
            .into_iter()
            .filter(|(n, l, _)| {
                n == "rt_tracer_duration_seconds_bucket"
                    && want.iter().all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|(_, l, v)| (l["le"].clone(), v))
            .collect();
        assert_eq!(buckets.len(), LOG2_BUCKETS, "{om}");
        assert_eq!(buckets[11].0, "0.000002047");
        assert_eq!(buckets[LOG2_BUCKETS - 1], ("+Inf".to_string(), m.count as f64));
        let cum: Vec<f64> = buckets.iter().map(|b| b.1).collect();
        assert!(cum.windows(2).all(|w| w[0] <= w[1]), "{cum:?}");
        for b in &m.log2 {
            let i = usize::from(b.idx);
            let below = if i == 0 { 0.0 } else { cum[i - 1] };
            assert_eq!(cum[i] - below, b.count as f64, "bucket {i}");
        }
        let sum = value(&om, &format!("rt_tracer_duration_seconds_sum{l}"));
        assert!((sum - m.sum_ns as f64 / 1e9).abs() < 1e-12);
        assert_eq!(
            value(&om, &format!("rt_tracer_duration_seconds_count{l}")),
            m.count as f64
        );
    }

    /// (name, labels, value) of each sample line.
    fn samples(text: &str) -> Vec<(String, BTreeMap<String, String>, f64)> {
        text.lines()
            .filter(|l| !l.starts_with('#') && !l.is_empty())
            .map(|line| {
                let (series, v) = line.rsplit_once(' ').unwrap();
                let (name, labels) = match series.split_once('{') {
                    Some((n, rest)) => (n, rest.trim_end_matches('}')),
                    None => (series, ""),
                };
                let labels = labels
                    .split("\",")
                    .filter(|p| !p.is_empty())
                    .map(|p| {
                        let (k, v) = p.split_once("=\"").unwrap();
                        (k.to_string(), v.trim_end_matches('"').to_string())
                    })
                    .collect();
                (name.to_string(), labels, v.parse().unwrap())
            })
            .collect()
    }

    #[test]
    fn prometheus_text_is_the_same_without_eof_and_link_counters_add_up() {
        let dev = device(CASE1);
        let frames_once = lock(&dev).rx().frames;
        // A second connection replays the stream: counters add up, the
        // values stay those of the stream.
        {
            let mut dec = Decoder::new();
            let mut sink = Sink::new(dev.clone());
            lock(&dev).connected();
            dec.feed(CASE1, &mut sink).unwrap();
            assert!(lock(&dev).up);
        }
        let text = render(std::slice::from_ref(&dev), Format::Prometheus);
        assert!(!text.contains("# EOF"));
        assert!(text.contains("# TYPE rt_tracer_violations_total counter"), "{text}");
        assert_eq!(value(&text, "rt_tracer_link_up{device=\"pi\"}"), 1.0);
        assert_eq!(value(&text, "rt_tracer_link_connects_total{device=\"pi\"}"), 2.0);
        assert_eq!(
            value(&text, "rt_tracer_link_frames_total{device=\"pi\"}"),
            (2 * frames_once) as f64
        );
    }

    /// A task with a latency metric and budget windows of two tags, one
    /// of which overran, as frames.
    fn window_stream() -> Vec<u8> {
        use rt_protocol::{
            bounded_str, metric, window_what, Bucket, FrameEncoder, Message, MetricStats, TaskInfo, TaskSnapshot,
            WindowOverrun, WindowStats, MAX_WIRE, WINDOW_METRIC,
        };
        let task = TaskInfo {
            pid: 300,
            tgid: 300,
            comm: bounded_str("win_loop"),
            start_ns: 9,
            ..Default::default()
        };
        let stats = |m: u8, n: u64, max: u64, bound: u64, viol: u64| MetricStats {
            metric: m,
            count: n,
            min_ns: 1000,
            max_ns: max,
            sum_ns: n * 2000,
            bound_ns: bound,
            violations: viol,
            last_ns: 1500,
            log2: [Bucket { idx: 10, count: n - 1 }, Bucket { idx: 23, count: 1 }]
                .into_iter()
                .collect(),
            ..Default::default()
        };
        let msgs = [
            Message::Task(TaskSnapshot {
                t_ns: 1,
                task: task.clone(),
                metrics: [stats(metric::LATENCY, 50, 4_000_000, 200_000, 3)]
                    .into_iter()
                    .collect(),
                ..Default::default()
            }),
            Message::Window(WindowOverrun {
                t_ns: 2,
                task: task.clone(),
                tag: 0x40,
                what: window_what::STOP,
                budget_ns: 3_000_000,
                duration_ns: 5_000_000,
                overruns: 2,
                ..Default::default()
            }),
            Message::WindowStats(WindowStats {
                t_ns: 3,
                task: task.clone(),
                tag: 0x40,
                abandoned: 1,
                stats: stats(WINDOW_METRIC, 10, 5_000_000, 3_000_000, 2),
                ..Default::default()
            }),
            Message::WindowStats(WindowStats {
                t_ns: 3,
                task,
                tag: 0x80,
                stats: stats(WINDOW_METRIC, 5, 6_000_000, 0, 0),
                ..Default::default()
            }),
        ];
        let mut enc = FrameEncoder::new();
        let mut out = Vec::new();
        let mut buf = vec![0u8; MAX_WIRE];
        for (seq, m) in msgs.iter().enumerate() {
            let n = enc.encode(seq as u32, m, &mut buf).unwrap();
            out.extend_from_slice(&buf[..n]);
        }
        out
    }

    #[test]
    fn budget_windows_are_metric_window_with_a_tag_label() {
        let dev = device(&window_stream());
        let om = render(std::slice::from_ref(&dev), Format::OpenMetrics);
        let base = "device=\"pi\",task=\"win_loop\",pid=\"300\"";
        let w40 = format!("{{{base},metric=\"window\",tag=\"0x40\"}}");
        let w80 = format!("{{{base},metric=\"window\",tag=\"0x80\"}}");
        let lat = format!("{{{base},metric=\"latency\"}}");
        assert_eq!(value(&om, &format!("rt_tracer_samples_total{w40}")), 10.0);
        assert_eq!(value(&om, &format!("rt_tracer_violations_total{w40}")), 2.0);
        assert_eq!(value(&om, &format!("rt_tracer_max_seconds{w40}")), 0.005);
        assert_eq!(value(&om, &format!("rt_tracer_bound_seconds{w40}")), 0.003);
        assert_eq!(value(&om, &format!("rt_tracer_window_abandoned_total{w40}")), 1.0);
        assert_eq!(value(&om, &format!("rt_tracer_samples_total{w80}")), 5.0);
        assert_eq!(value(&om, &format!("rt_tracer_max_seconds{w80}")), 0.006);
        assert!(
            !om.contains(&format!("rt_tracer_bound_seconds{w80}")),
            "no budget, no bound"
        );
        assert_eq!(value(&om, &format!("rt_tracer_violations_total{lat}")), 3.0);
        // The scheduler metric has no tag label.
        assert!(!om
            .lines()
            .any(|l| l.contains("metric=\"latency\"") && l.contains("tag=")));
        // The window's own histogram: 9 in [512, 1024) ns, 1 in [4194304, 8388608).
        let buckets: Vec<(String, f64)> = samples(&om)
            .into_iter()
            .filter(|(n, l, _)| {
                n == "rt_tracer_duration_seconds_bucket" && l.get("tag").map(String::as_str) == Some("0x40")
            })
            .map(|(_, l, v)| (l["le"].clone(), v))
            .collect();
        assert_eq!(buckets.len(), LOG2_BUCKETS);
        assert_eq!(buckets[9].1, 0.0);
        assert_eq!(buckets[10], ("0.000001023".to_string(), 9.0));
        assert_eq!(buckets[22].1, 9.0);
        assert_eq!(buckets[23], ("0.008388607".to_string(), 10.0));
        assert_eq!(value(&om, &format!("rt_tracer_duration_seconds_count{w40}")), 10.0);
        // No series twice (Prometheus rejects a scrape that has one).
        let mut seen = std::collections::BTreeSet::new();
        for l in om.lines().filter(|l| !l.starts_with('#')) {
            let series = l.rsplit_once(' ').unwrap().0;
            assert!(seen.insert(series.to_string()), "{series} twice");
        }
    }

    #[test]
    fn negotiation_follows_the_accept_header() {
        let prom = "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1";
        assert_eq!(Format::negotiate(Some(prom)), Format::OpenMetrics);
        assert_eq!(Format::negotiate(Some("*/*")), Format::Prometheus);
        assert_eq!(Format::negotiate(None), Format::Prometheus);
    }
}
