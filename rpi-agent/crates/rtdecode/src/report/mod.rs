//! `rtdecode report`: the stream as one self-contained HTML page. The
//! findings first (verdict, how often, how far over, the cause sentence),
//! then per task and metric its statistics (min / mean / P99≤ / max, bound,
//! violations), its log2 histogram, its violations over time and each of
//! its worst cases as a timeline of the CPUs involved with its breakdown as
//! a stacked bar; budget windows per tag likewise, their overrun records
//! as worst cases. Charts are SVG (plotters), inline in the page and, on
//! request, each in its own file; the page is written with maud.
//!
//! [`ReportPrinter`] is a [`Printer`]: it keeps the worst-case records and
//! the violation frames as they come and, at the end, the final state; the
//! [`Report`] it leaves renders into a [`Rendered`] page and charts.

mod html;

pub mod charts;
pub mod timeline;

use std::collections::{BTreeMap, BTreeSet};
use std::io::{self, IsTerminal, Read, Write};
use std::time::{Duration, Instant, SystemTime};

use rt_protocol::{Message, MetricStats, TaskInfo, Worst, WINDOW_METRIC};
use thiserror::Error;

use crate::findings::{self, Finding};
use crate::state::{State, TaskKey};
use crate::{fmt, Clock, Decoder, Printer, Record};

pub use charts::ViolationPoint;
pub use html::MAX_DRAWN;

#[derive(Debug, Error)]
pub enum ReportError {
    #[error(
        "drawing the chart {chart}: {reason} (this is a bug in rtdecode; please report it with the capture; \
         `rtdecode --json` of the same capture still shows everything)"
    )]
    Chart { chart: String, reason: String },
}

/// One chart of the report: its element id (also its file name, with
/// `.svg`), what it shows, and the SVG document.
#[derive(Debug, Clone)]
pub struct Chart {
    pub id: String,
    pub title: String,
    pub svg: String,
}

impl Chart {
    pub fn file_name(&self) -> String {
        format!("{}.svg", self.id)
    }
}

/// What a rendered report holds (for the message after writing it).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    pub findings: usize,
    pub violated: usize,
    pub histograms: usize,
    pub violation_charts: usize,
    /// Worst cases drawn (timeline and breakdown).
    pub worst_cases: usize,
    /// Smaller worst cases past `MAX_DRAWN` per task and metric, listed only.
    pub worst_undrawn: usize,
}

/// The page and its charts.
#[derive(Debug, Clone)]
pub struct Rendered {
    pub html: String,
    pub charts: Vec<Chart>,
    pub summary: Summary,
}

/// Everything the report shows, as of the end of the stream.
#[derive(Debug, Clone)]
pub struct Report {
    /// Where the stream came from (as given on the command line).
    pub source: String,
    /// Host time at the end of the stream.
    pub generated: SystemTime,
    pub state: State,
    /// Every worst-case record, in the order they came.
    pub worst: Vec<Worst>,
    /// Every violation frame per task and metric, in the order they came.
    pub violations: BTreeMap<(TaskKey, u8), Vec<ViolationPoint>>,
    /// Every budget window overrun record (as a worst case of
    /// `WINDOW_METRIC`) with its tag, in the order they came.
    pub window_worst: Vec<(u64, Worst)>,
    /// Every overrun frame per task and window tag (its cumulative count).
    pub overruns: BTreeMap<(TaskKey, u64), Vec<ViolationPoint>>,
}

/// One task and metric of the report.
pub(crate) struct Series<'a> {
    pub id: String,
    pub key: TaskKey,
    pub task: TaskInfo,
    pub metric: u8,
    /// A budget window's tag (`metric` is then `WINDOW_METRIC`).
    pub tag: Option<u64>,
    /// The latest snapshot's statistics, if a snapshot carried the metric
    /// (a window's: its latest window statistics).
    pub stats: Option<&'a MetricStats>,
    pub finding: Option<&'a Finding>,
    /// Its worst-case records: the arrival number (1-based) and the record,
    /// the largest first.
    pub worst: Vec<(usize, &'a Worst)>,
    pub violations: &'a [ViolationPoint],
}

impl Series<'_> {
    /// "latency", "window 0x40".
    pub fn metric_label(&self) -> String {
        match self.tag {
            Some(t) => fmt::window_tag(t),
            None => fmt::metric_name(self.metric),
        }
    }

    pub fn label(&self) -> String {
        format!("{}[{}] {}", self.task.comm, self.task.pid, self.metric_label())
    }

    /// What its violations are called: a window's are overruns.
    pub fn violations_word(&self) -> &'static str {
        if self.tag.is_some() {
            "overruns"
        } else {
            "violations"
        }
    }

    pub fn hist_id(&self) -> String {
        format!("hist-{}", self.id)
    }

    pub fn violations_id(&self) -> String {
        format!("violations-{}", self.id)
    }

    pub fn worst_id(&self, n: usize) -> String {
        format!("worst-{}-{n}", self.id)
    }

    pub fn timeline_id(&self, n: usize) -> String {
        format!("timeline-{}-{n}", self.id)
    }

    pub fn breakdown_id(&self, n: usize) -> String {
        format!("breakdown-{}-{n}", self.id)
    }
}

/// A comm as part of an id: letters, digits and `_` kept, the rest `-`.
pub fn slug(s: &str) -> String {
    s.chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '_' { c } else { '-' })
        .collect()
}

impl Report {
    /// The tasks of the report with their latest names.
    fn tasks(&self) -> BTreeMap<TaskKey, TaskInfo> {
        let mut tasks: BTreeMap<TaskKey, TaskInfo> = BTreeMap::new();
        for w in &self.worst {
            tasks.insert(TaskKey::of(&w.task), w.task.clone());
        }
        for t in self.state.violations.values() {
            tasks.insert(TaskKey::of(&t.task), t.task.clone());
        }
        for (_, w) in &self.window_worst {
            tasks.insert(TaskKey::of(&w.task), w.task.clone());
        }
        for ((k, _), e) in &self.state.windows {
            if let Some(t) = e.task() {
                tasks.insert(*k, t.clone());
            }
        }
        for (k, e) in &self.state.tasks {
            tasks.insert(*k, e.snap.task.clone());
        }
        tasks
    }

    /// The id of each task: `comm-pid`, and `-start_ns` when the pid was
    /// reused by another task of the report.
    fn task_ids(tasks: &BTreeMap<TaskKey, TaskInfo>) -> BTreeMap<TaskKey, String> {
        let mut pids: BTreeMap<i32, usize> = BTreeMap::new();
        for k in tasks.keys() {
            *pids.entry(k.pid).or_default() += 1;
        }
        tasks
            .iter()
            .map(|(k, t)| {
                let base = format!("{}-{}", slug(&t.comm), t.pid);
                let id = if pids[&k.pid] > 1 {
                    format!("{base}-{}", k.start_ns)
                } else {
                    base
                };
                (*k, id)
            })
            .collect()
    }

    /// Every task and metric with a sample, a bound, a violation or a
    /// worst-case record, then its budget windows per tag, in task order
    /// then metric order.
    pub(crate) fn series<'a>(&'a self, found: &'a [Finding]) -> Vec<Series<'a>> {
        let tasks = self.tasks();
        let ids = Self::task_ids(&tasks);
        let mut keys: BTreeSet<(TaskKey, u8, Option<u64>)> = BTreeSet::new();
        for (k, e) in &self.state.tasks {
            for m in e.snap.metrics.iter().filter(|m| m.count > 0 || m.bound_ns > 0) {
                keys.insert((*k, m.metric, None));
            }
        }
        keys.extend(self.state.violations.keys().map(|(k, m)| (*k, *m, None)));
        keys.extend(self.worst.iter().map(|w| (TaskKey::of(&w.task), w.metric, None)));
        keys.extend(self.state.windows.keys().map(|(k, t)| (*k, WINDOW_METRIC, Some(*t))));
        keys.extend(
            self.window_worst
                .iter()
                .map(|(t, w)| (TaskKey::of(&w.task), WINDOW_METRIC, Some(*t))),
        );
        keys.into_iter()
            .map(|(key, metric, tag)| {
                let task = tasks.get(&key).cloned().unwrap_or_default();
                let records: Vec<&Worst> = match tag {
                    None => self
                        .worst
                        .iter()
                        .filter(|w| TaskKey::of(&w.task) == key && w.metric == metric)
                        .collect(),
                    Some(t) => self
                        .window_worst
                        .iter()
                        .filter(|(wt, w)| *wt == t && TaskKey::of(&w.task) == key)
                        .map(|(_, w)| w)
                        .collect(),
                };
                let mut worst: Vec<(usize, &Worst)> =
                    records.into_iter().enumerate().map(|(i, w)| (i + 1, w)).collect();
                // The largest first; of equal ones the later (as the state keeps it).
                worst.sort_by(|a, b| b.1.value_ns.cmp(&a.1.value_ns).then(b.0.cmp(&a.0)));
                let tid = ids.get(&key).cloned().unwrap_or_else(|| format!("task-{}", key.pid));
                let (stats, violations) = match tag {
                    None => (
                        self.state.tasks.get(&key).and_then(|e| e.snap.metric(metric)),
                        self.violations.get(&(key, metric)),
                    ),
                    Some(t) => (
                        self.state
                            .windows
                            .get(&(key, t))
                            .and_then(|e| e.stats.as_ref())
                            .map(|s| &s.stats),
                        self.overruns.get(&(key, t)),
                    ),
                };
                let label = match tag {
                    Some(t) => fmt::window_tag(t),
                    None => fmt::metric_name(metric),
                };
                Series {
                    id: format!("{tid}-{}", slug(&label)),
                    key,
                    task,
                    metric,
                    tag,
                    stats,
                    finding: found
                        .iter()
                        .find(|f| f.key == key && f.metric == metric && f.window_tag == tag),
                    worst,
                    violations: violations.map_or(&[], Vec::as_slice),
                }
            })
            .collect()
    }

    /// The page and its charts.
    pub fn render(&self) -> Result<Rendered, ReportError> {
        html::render(self)
    }
}

/// Keeps what the report needs as the stream goes: every worst-case
/// record, every violation frame (time, cumulative count, value). At the
/// end `report` holds the [`Report`].
pub struct ReportPrinter {
    source: String,
    worst: Vec<Worst>,
    violations: BTreeMap<(TaskKey, u8), Vec<ViolationPoint>>,
    window_worst: Vec<(u64, Worst)>,
    overruns: BTreeMap<(TaskKey, u64), Vec<ViolationPoint>>,
    pub report: Option<Report>,
}

impl ReportPrinter {
    pub fn new(source: impl Into<String>) -> Self {
        ReportPrinter {
            source: source.into(),
            worst: Vec::new(),
            violations: BTreeMap::new(),
            window_worst: Vec::new(),
            overruns: BTreeMap::new(),
            report: None,
        }
    }
}

impl Printer for ReportPrinter {
    fn record(&mut self, r: &Record<'_>, _st: &State, _now: SystemTime) -> io::Result<()> {
        match r {
            Record::Message {
                msg: Message::Worst(w), ..
            } => self.worst.push(w.clone()),
            Record::Message {
                msg: Message::Violation(v),
                ..
            } => self
                .violations
                .entry((TaskKey::of(&v.task), v.metric))
                .or_default()
                .push(ViolationPoint {
                    t_ns: v.t_ns,
                    violations: v.violations,
                    value_ns: v.value_ns,
                }),
            Record::Message {
                msg: Message::Window(w),
                ..
            } => {
                self.window_worst.push((w.tag, crate::findings::overrun_as_worst(w)));
                self.overruns
                    .entry((TaskKey::of(&w.task), w.tag))
                    .or_default()
                    .push(ViolationPoint {
                        t_ns: w.t_ns,
                        violations: w.overruns,
                        value_ns: w.duration_ns,
                    });
            }
            _ => {}
        }
        Ok(())
    }

    fn finish(&mut self, st: &State, now: SystemTime) -> io::Result<()> {
        self.report = Some(Report {
            source: self.source.clone(),
            generated: now,
            state: st.clone(),
            worst: self.worst.clone(),
            violations: self.violations.clone(),
            window_worst: self.window_worst.clone(),
            overruns: self.overruns.clone(),
        });
        Ok(())
    }

    fn flush(&mut self) -> io::Result<()> {
        Ok(())
    }
}

/// The report of a complete capture, the host clock fixed at the UNIX
/// epoch (reproducible: tests).
pub fn render_capture(bytes: &[u8], source: &str) -> Result<Rendered, ReportError> {
    let clock: Clock = Box::new(|| SystemTime::UNIX_EPOCH);
    let mut dec = Decoder::with_clock(clock);
    let mut p = ReportPrinter::new(source);
    // The printer never fails: the io::Results are always Ok.
    let _ = dec.feed(bytes, &mut p);
    let _ = dec.finish(&mut p);
    let report = p.report.unwrap_or_else(|| Report {
        source: source.into(),
        generated: SystemTime::UNIX_EPOCH,
        state: dec.state().clone(),
        worst: Vec::new(),
        violations: BTreeMap::new(),
        window_worst: Vec::new(),
        overruns: BTreeMap::new(),
    });
    report.render()
}

/// Findings as the report orders them (the library's order).
pub(crate) fn findings_of(st: &State) -> Vec<Finding> {
    findings::all(st)
}

/// Counts the bytes read through it and shows "read X of Y (Z%)" on
/// stderr, rewriting one line at most every `every` (4 times a second by
/// default), when stderr is a terminal; nothing otherwise. The line is
/// cleared at the end of the input.
pub struct Progress<R> {
    inner: R,
    read: u64,
    total: Option<u64>,
    every: Duration,
    last: Option<Instant>,
    shown: bool,
    on: bool,
}

impl<R: Read> Progress<R> {
    /// `total`: the size of the input when known (a file).
    pub fn new(inner: R, total: Option<u64>) -> Self {
        Progress {
            inner,
            read: 0,
            total,
            every: Duration::from_millis(250),
            last: None,
            shown: false,
            on: io::stderr().is_terminal(),
        }
    }

    /// The line as it would be shown now.
    pub fn line(&self) -> String {
        let size = |b: u64| {
            if b < 1_000_000 {
                format!("{} KB", b.div_ceil(1_000))
            } else {
                format!("{:.1} MB", b as f64 / 1e6)
            }
        };
        match self.total {
            Some(t) if t > 0 => format!(
                "rtdecode: report: read {} of {} ({:.0}%)",
                size(self.read),
                size(t),
                self.read as f64 * 100.0 / t as f64
            ),
            _ => format!("rtdecode: report: read {}", size(self.read)),
        }
    }

    fn show(&mut self, end: bool) {
        if !self.on {
            return;
        }
        let due = self.last.is_none_or(|l| l.elapsed() >= self.every);
        let mut err = io::stderr().lock();
        if end {
            if self.shown {
                let _ = write!(err, "\r\x1b[K");
            }
        } else if due {
            let _ = write!(err, "\r{}\x1b[K", self.line());
            self.shown = true;
            self.last = Some(Instant::now());
        }
        let _ = err.flush();
    }
}

impl<R: Read> Read for Progress<R> {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.read += n as u64;
        self.show(n == 0);
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slugs_keep_ids_plain() {
        assert_eq!(slug("irq/17-virtio0-"), "irq-17-virtio0-");
        assert_eq!(slug("pi_high"), "pi_high");
        assert_eq!(slug("a b<c>"), "a-b-c-");
    }

    #[test]
    fn progress_counts_and_says_how_far() {
        let data = vec![7u8; 3_000_000];
        let mut p = Progress::new(data.as_slice(), Some(6_000_000));
        let mut sink = Vec::new();
        io::copy(&mut p, &mut sink).unwrap();
        assert_eq!(sink.len(), 3_000_000);
        assert_eq!(p.line(), "rtdecode: report: read 3.0 MB of 6.0 MB (50%)");
        let mut q = Progress::new(&data[..35_483], None);
        io::copy(&mut q, &mut sink).unwrap();
        assert_eq!(q.line(), "rtdecode: report: read 36 KB");
    }
}
