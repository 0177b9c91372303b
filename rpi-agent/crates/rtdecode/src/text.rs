//! The readable view: console lines, violations (repeats coalesced), worst
//! cases told as a story, a table of tasks and the link's health.

use std::collections::{BTreeMap, HashSet};
use std::io::{self, Write};
use std::time::{Duration, Instant, SystemTime};

use rt_protocol::{log2_bucket_bounds, Event, Message, MetricStats, Violation, WindowOverrun};

use crate::findings::{self, Finding, Verdict};
use crate::state::{SnapshotKind, State, TaskEntry, TaskKey};
use crate::{fmt, json, Printer, Record};

/// How often, at most, a summary line of repeated violations of one
/// (task, metric) is printed.
pub const COALESCE_WINDOW: Duration = Duration::from_secs(1);
/// How often, at most, a heartbeat brings the table of tasks (the end of the
/// input always does, if anything changed since the last one).
pub const TABLE_EVERY: Duration = Duration::from_secs(5);
/// Width of a histogram bar.
const BAR: usize = 40;

/// What paces the summaries of repeated violations and the tables.
pub enum Pace {
    /// Live sources: wall time since this instant (call `tick` when idle).
    Wall(Instant),
    /// Capture replay: the stream's own clock (the agent's timestamps), so a
    /// replay reads like the live view did and does not depend on decode speed.
    Stream,
    /// A clock the caller sets with [`TextPrinter::set_clock`] (tests).
    Manual,
}

/// Violations of one (task, metric): the first and every new worst one are
/// printed in full, the others counted here and printed as one summary line
/// at most every [`COALESCE_WINDOW`], before any other output, and at the end.
struct Repeats {
    /// Largest value printed in full so far.
    max_full_ns: u64,
    /// Pace clock (ns) when the last line of this pair was printed.
    printed_at: u64,
    /// The cumulative counter and agent time of the last violation a
    /// printed line accounted for.
    shown_count: u64,
    shown_t_ns: u64,
    /// Aggregated since that line.
    frames: u64,
    last_count: u64,
    last_t_ns: u64,
    worst_ns: u64,
}

/// "0.3 s", "12.0 s"; below 0.1 s in ms.
fn span_text(ns: u64) -> String {
    if ns < 100_000_000 {
        format!("{} ms", ns / 1_000_000)
    } else {
        format!("{:.1} s", ns as f64 / 1e9)
    }
}

pub struct TextPrinter<W: Write> {
    out: W,
    pace: Pace,
    clock_ns: u64,
    window_ns: u64,
    table_every_ns: u64,
    repeats: BTreeMap<(TaskKey, u8), Repeats>,
    unknown_seen: HashSet<u16>,
    /// Snapshots came since the last table.
    table_dirty: bool,
    last_table_at: Option<u64>,
    /// Health of the last link line printed (not printed again unchanged).
    last_link: Option<Health>,
    /// Print each task's log2 histograms after the table.
    pub hist: bool,
    /// ANSI colours (a terminal that wants them; see [`Styles`]).
    pub color: bool,
    /// The findings block was printed (it is printed once, at the end).
    findings_done: bool,
    /// Per (task, window tag): the longest overrun printed in full; shorter
    /// ones are counted in the table's VIOL column only.
    windows_shown: BTreeMap<(TaskKey, u64), u64>,
}

impl<W: Write> TextPrinter<W> {
    pub fn new(out: W, pace: Pace) -> Self {
        TextPrinter {
            out,
            pace,
            clock_ns: 0,
            window_ns: COALESCE_WINDOW.as_nanos() as u64,
            table_every_ns: TABLE_EVERY.as_nanos() as u64,
            repeats: BTreeMap::new(),
            unknown_seen: HashSet::new(),
            table_dirty: false,
            last_table_at: None,
            last_link: None,
            hist: false,
            color: false,
            findings_done: false,
            windows_shown: BTreeMap::new(),
        }
    }

    pub fn into_inner(self) -> W {
        self.out
    }

    /// Set the clock of a `Pace::Manual` printer (ns, any origin, not decreasing).
    pub fn set_clock(&mut self, ns: u64) {
        self.clock_ns = self.clock_ns.max(ns);
    }

    fn now(&self, st: &State) -> u64 {
        match &self.pace {
            Pace::Wall(t0) => t0.elapsed().as_nanos().try_into().unwrap_or(u64::MAX),
            Pace::Stream => st.agent_ns,
            Pace::Manual => self.clock_ns,
        }
    }

    /// Summaries that are due, or (`all`) every pending one.
    fn summaries(&mut self, st: &State, all: bool) -> io::Result<()> {
        let now = self.now(st);
        for (key, r) in self.repeats.iter_mut() {
            if r.frames == 0 || !(all || now.saturating_sub(r.printed_at) >= self.window_ns) {
                continue;
            }
            // The cumulative counter is exact (it includes violations the agent
            // could not send); fall back to the frames seen if it went backwards.
            let n = match r.last_count.checked_sub(r.shown_count) {
                Some(d) if d >= r.frames => d,
                _ => r.frames,
            };
            let (who, bound) = match st.violations.get(key) {
                Some(t) => (format!("{}[{}]", t.task.comm, t.task.pid), t.bound_ns),
                None => (format!("?[{}]", key.0.pid), 0),
            };
            writeln!(
                self.out,
                "  {who} {}: +{n} violation{} in {} ({} in all), worst {} (bound {})",
                fmt::metric_name(key.1),
                if n == 1 { "" } else { "s" },
                span_text(r.last_t_ns.saturating_sub(r.shown_t_ns)),
                r.last_count,
                fmt::dur(r.worst_ns),
                fmt::dur(bound)
            )?;
            r.shown_count = r.last_count;
            r.shown_t_ns = r.last_t_ns;
            r.frames = 0;
            r.worst_ns = 0;
            r.printed_at = now;
        }
        Ok(())
    }

    fn violation(&mut self, v: &Violation, st: &State) -> io::Result<()> {
        let now = self.now(st);
        let key = (TaskKey::of(&v.task), v.metric);
        if let Some(r) = self.repeats.get_mut(&key) {
            if v.value_ns <= r.max_full_ns {
                r.frames += 1;
                r.last_count = v.violations;
                r.last_t_ns = v.t_ns;
                r.worst_ns = r.worst_ns.max(v.value_ns);
                return self.summaries(st, false);
            }
        }
        // The first one, or a new worst: in full, after what is pending.
        self.summaries(st, true)?;
        self.repeats.insert(
            key,
            Repeats {
                max_full_ns: v.value_ns,
                printed_at: now,
                shown_count: v.violations,
                shown_t_ns: v.t_ns,
                frames: 0,
                last_count: v.violations,
                last_t_ns: v.t_ns,
                worst_ns: 0,
            },
        );
        let mark = self.styles().bad.render("!! VIOLATION");
        writeln!(
            self.out,
            "{mark} {}: {} {} > bound {} (violation #{}): {}",
            fmt::who(&v.task),
            fmt::metric_name(v.metric),
            fmt::dur(v.value_ns),
            fmt::dur(v.bound_ns),
            v.violations,
            fmt::breakdown(&v.breakdown)
        )?;
        self.summaries(st, false)
    }

    fn message(&mut self, msg: &Message, st: &State) -> io::Result<()> {
        match msg {
            Message::Violation(v) => return self.violation(v, st),
            // Routine: they change the table, print nothing now.
            Message::Task(_) | Message::Irq(_) | Message::WindowStats(_) => {
                self.table_dirty = true;
                return self.summaries(st, false);
            }
            Message::Heartbeat(_) => return self.heartbeat(st),
            _ => self.summaries(st, true)?,
        }
        match msg {
            Message::Hello(h) => {
                let module = if h.uapi_major == 0 {
                    "not loaded".to_string()
                } else {
                    format!("UAPI {}.{}", h.uapi_major, h.uapi_minor)
                };
                let irq = match crate::state::irq_timing(h.module_flags) {
                    Some(t) => format!(" / IRQ timing: {t}"),
                    None => String::new(),
                };
                writeln!(
                    self.out,
                    "== rpi-agent {} (protocol {}.{}) on {} / kernel {} / module {} / {} baud{}",
                    h.agent_version, h.proto_major, h.proto_minor, h.board, h.kernel_release, module, h.baud, irq
                )
            }
            Message::GpioPulse(g) => writeln!(self.out, "{}", gpio_pulse_line(g)),
            Message::GpioSummary(g) => writeln!(self.out, "{}", gpio_summary_line(g)),
            Message::Exit(s) => {
                self.table_dirty = true;
                writeln!(self.out, "-- exited: {}", fmt::who(&s.task))?;
                // Its verdicts are final now: a case ends with its findings.
                let f = findings::of_task(st, TaskKey::of(&s.task));
                let rows = findings_rows(&f, self.styles());
                self.out.write_all(rows.as_bytes())
            }
            Message::Worst(w) => {
                let mark = self.styles().warn.render("** new worst");
                writeln!(
                    self.out,
                    "{mark} {} of {}: {}",
                    fmt::metric_name(w.metric),
                    fmt::who(&w.task),
                    fmt::explain_worst(w)
                )?;
                self.events(&w.events, |i| w.event_flags_of(i), w.events_dropped)
            }
            Message::Window(w) => self.window_overrun(w),
            Message::Dropped(d) => writeln!(
                self.out,
                "!! module dropped records for a slow reader: {} violations, {} worst cases, {} exits",
                d.violations, d.worst, d.exits
            ),
            Message::Notice(n) => writeln!(self.out, "-- agent: {}", n.text),
            Message::Violation(_)
            | Message::Task(_)
            | Message::Irq(_)
            | Message::Heartbeat(_)
            | Message::WindowStats(_) => Ok(()),
        }
    }

    /// A budget window's overrun: in full the first time and whenever it
    /// is the longest of its task and tag so far, with its events.
    fn window_overrun(&mut self, w: &WindowOverrun) -> io::Result<()> {
        let key = (TaskKey::of(&w.task), w.tag);
        if self.windows_shown.get(&key).is_some_and(|d| w.duration_ns <= *d) {
            return Ok(());
        }
        self.windows_shown.insert(key, w.duration_ns);
        let mark = self.styles().bad.render("!! WINDOW OVERRUN");
        writeln!(
            self.out,
            "{mark} {}: {} (overrun #{})",
            fmt::who(&w.task),
            fmt::explain_window(w),
            w.overruns
        )?;
        self.events(
            &w.events,
            |i| w.event_flags.get(i).copied().unwrap_or(0),
            w.events_dropped,
        )
    }

    fn events(&mut self, events: &[Event], flags: impl Fn(usize) -> u8, dropped: u64) -> io::Result<()> {
        for (i, e) in events.iter().enumerate() {
            writeln!(
                self.out,
                "     +{:>9}  cpu{:<2} {}",
                fmt::dur(e.t_ns),
                e.cpu,
                fmt::event_text(e, flags(i))
            )?;
        }
        if dropped > 0 {
            writeln!(self.out, "     ({dropped} more events not kept)")?;
        }
        Ok(())
    }

    /// A heartbeat: the table (if it changed, at most every TABLE_EVERY) with
    /// the link line; else the link line alone if its health changed.
    fn heartbeat(&mut self, st: &State) -> io::Result<()> {
        self.summaries(st, true)?;
        let now = self.now(st);
        let table_due = self.table_dirty
            && match self.last_table_at {
                None => true,
                Some(t) => now.saturating_sub(t) >= self.table_every_ns,
            };
        if table_due {
            self.table(st)?;
            self.last_table_at = Some(now);
            return self.link(st, true);
        }
        self.link(st, false)
    }

    /// The link line; unless `always`, only when its health (errors, losses,
    /// skips) changed since the last one: frame and byte counts always grow.
    fn link(&mut self, st: &State, always: bool) -> io::Result<()> {
        let health = health(st);
        if always || self.last_link != Some(health) {
            writeln!(self.out, "{}", link_line(st))?;
            self.last_link = Some(health);
        }
        Ok(())
    }

    fn styles(&self) -> Styles {
        Styles::new(self.color)
    }

    /// The findings block, once: a verdict per task and metric, violated
    /// first with the cause of the worst case, then the others compactly.
    pub fn findings(&mut self, st: &State) -> io::Result<()> {
        if std::mem::replace(&mut self.findings_done, true) {
            return Ok(());
        }
        let f = findings::all(st);
        if f.is_empty() {
            return Ok(());
        }
        let n = |v| f.iter().filter(|x| x.verdict == v).count();
        let mut head = format!(
            "== findings: {} violated, {} met",
            n(Verdict::Violated),
            n(Verdict::Met)
        );
        for (k, what) in [
            (n(Verdict::NoBound), "without a bound"),
            (n(Verdict::NoSamples), "without samples"),
        ] {
            if k > 0 {
                head.push_str(&format!(", {k} {what}"));
            }
        }
        let styles = self.styles();
        writeln!(self.out, "{}", styles.head.render(&head))?;
        self.out.write_all(findings_rows(&f, styles).as_bytes())
    }

    /// The table of tracked tasks (and their histograms with `hist`), and
    /// the run's GPIO stimulus tally.
    pub fn table(&mut self, st: &State) -> io::Result<()> {
        self.table_dirty = false;
        if st.gpio.count > 0 {
            writeln!(self.out, "{}", gpio_tally_line(&st.gpio))?;
        }
        if st.tasks.is_empty() {
            return Ok(());
        }
        let t = table(st);
        self.out.write_all(t.as_bytes())?;
        if self.hist {
            for e in st.tasks.values() {
                for m in e.snap.metrics.iter().filter(|m| m.count > 0) {
                    let title = format!(
                        "{}[{}] {}",
                        e.snap.task.comm,
                        e.snap.task.pid,
                        fmt::metric_name(m.metric)
                    );
                    self.out.write_all(histogram(&title, m).as_bytes())?;
                }
            }
        }
        Ok(())
    }
}

/// The view's colours. All plain when off, so text for a file or a pipe
/// has no escape sequences.
#[derive(Debug, Clone, Copy)]
pub struct Styles {
    pub bad: Paint,
    pub good: Paint,
    pub warn: Paint,
    pub dim: Paint,
    pub head: Paint,
    pub value: Paint,
}

/// One style, or none.
#[derive(Debug, Clone, Copy)]
pub struct Paint(Option<anstyle::Style>);

impl Paint {
    pub fn render(&self, s: &str) -> String {
        match self.0 {
            Some(st) => format!("{}{s}{}", st.render(), st.render_reset()),
            None => s.to_string(),
        }
    }
}

impl Styles {
    pub fn new(color: bool) -> Self {
        use anstyle::{AnsiColor, Style};
        let p = |s: Style| Paint(color.then_some(s));
        Styles {
            bad: p(Style::new().bold().fg_color(Some(AnsiColor::Red.into()))),
            good: p(Style::new().fg_color(Some(AnsiColor::Green.into()))),
            warn: p(Style::new().bold().fg_color(Some(AnsiColor::Yellow.into()))),
            dim: p(Style::new().dimmed()),
            head: p(Style::new().bold()),
            value: p(Style::new().bold()),
        }
    }
}

/// "54×", "1.3×".
fn ratio_text(r: f64) -> String {
    if r >= 10.0 {
        format!("{r:.0}×")
    } else {
        format!("{r:.1}×")
    }
}

/// " (40 samples)"; nothing while no snapshot counted them yet (the worst
/// came in a worst-case record).
fn samples(n: u64) -> String {
    if n > 0 {
        format!(" ({n} sample{})", if n == 1 { "" } else { "s" })
    } else {
        String::new()
    }
}

/// One line per finding, its columns (verdict, task, metric) in line:
/// violated ones with how often, how far over and the cause; the others
/// compactly.
pub fn findings_rows(f: &[Finding], styles: Styles) -> String {
    let label = |v: Verdict| match v {
        Verdict::Violated => "VIOLATED",
        Verdict::Met => "met",
        Verdict::NoBound => "no bound",
        Verdict::NoSamples => "no data",
    };
    let name = |x: &Finding| format!("{}[{}]", x.task.comm, x.task.pid);
    let wl = f.iter().map(|x| label(x.verdict).len()).max().unwrap_or(0);
    let wn = f.iter().map(|x| name(x).chars().count()).max().unwrap_or(0);
    let wm = f.iter().map(|x| x.metric_label().len()).max().unwrap_or(0);
    let mut out = String::new();
    for x in f {
        let l = format!("{:<wl$}", label(x.verdict));
        let l = match x.verdict {
            Verdict::Violated => styles.bad.render(&l),
            Verdict::Met => styles.good.render(&l),
            _ => styles.dim.render(&l),
        };
        let who = name(x);
        let pad = " ".repeat(wn.saturating_sub(who.chars().count()));
        let metric = format!("{:<wm$}", x.metric_label());
        let worst = x.worst_ns.map(fmt::dur).unwrap_or_default();
        let rest = match x.verdict {
            Verdict::Violated => {
                let how_often = if x.count > 0 {
                    format!("{}/{} over {}", x.violations, x.count, fmt::dur(x.bound_ns))
                } else {
                    format!("{} over {}", x.violations, fmt::dur(x.bound_ns))
                };
                let over = match (x.excess_ns(), x.worst_to_bound()) {
                    (Some(e), Some(r)) => format!(" (+{}, {})", fmt::dur(e), ratio_text(r)),
                    _ => String::new(),
                };
                let cause = x.sentence().map(|s| format!(": {s}")).unwrap_or_default();
                format!("{how_often}, worst {}{over}{cause}", styles.value.render(&worst))
            }
            Verdict::Met => format!("worst {worst} ≤ {}{}", fmt::dur(x.bound_ns), samples(x.count)),
            Verdict::NoBound => format!("worst {worst}{}", samples(x.count)),
            Verdict::NoSamples => format!("no samples (bound {})", fmt::dur(x.bound_ns)),
        };
        out.push_str(&format!("  {l} {who}{pad} {metric} {rest}\n"));
    }
    out
}

fn pulse_flags_text(flags: u8, skipped: u64) -> String {
    let mut t = String::new();
    if flags & rt_protocol::pulse_flags::LATE != 0 {
        t.push_str(" (late)");
    }
    if skipped > 0 {
        t.push_str(&format!(" ({skipped} deadlines skipped)"));
    }
    t
}

/// `GPIO pulse #12: stimulus→hard IRQ 41 us, →thread 85 us, handler 210 us, total 336 us`.
pub fn gpio_pulse_line(g: &rt_protocol::GpioPulse) -> String {
    let extra = pulse_flags_text(g.flags, g.skipped);
    if g.flags & rt_protocol::pulse_flags::NO_READBACK != 0 {
        return format!(
            "GPIO pulse #{}: no readback (irq_button_demo absent, or no IRQ within the wait){extra}",
            g.seq
        );
    }
    format!(
        "GPIO pulse #{}: stimulus→hard IRQ {}, →thread {}, handler {}, total {}{extra}",
        g.seq,
        fmt::dur(g.t_hard.saturating_sub(g.t_stimulus)),
        fmt::dur(g.t_thread.saturating_sub(g.t_hard)),
        fmt::dur(g.t_done.saturating_sub(g.t_thread)),
        fmt::dur(g.t_done.saturating_sub(g.t_stimulus)),
    )
}

fn span3(s: &rt_protocol::Span) -> String {
    format!("{}/{}/{}", fmt::dur(s.min_ns), fmt::dur(s.mean_ns), fmt::dur(s.max_ns))
}

/// One line per summarised interval, min/mean/max.
pub fn gpio_summary_line(g: &rt_protocol::GpioSummary) -> String {
    let mut head = format!("GPIO pulses: {}", g.count);
    for (n, what) in [
        (g.late, "late"),
        (g.skipped, "skipped"),
        (g.no_readback, "without readback"),
    ] {
        if n > 0 {
            head.push_str(&format!(", {n} {what}"));
        }
    }
    if g.count == g.no_readback {
        return format!("{head}; no readback");
    }
    format!(
        "{head}; min/mean/max stimulus→hard IRQ {}, →thread {}, handler {}, total {}",
        span3(&g.stim_to_hard),
        span3(&g.hard_to_thread),
        span3(&g.thread_to_done),
        span3(&g.stim_to_done)
    )
}

/// The run's tally, under the table.
pub fn gpio_tally_line(t: &crate::state::GpioTally) -> String {
    let mut s = format!("GPIO stimulus: {} pulses", t.count);
    for (n, what) in [
        (t.late, "late"),
        (t.skipped, "skipped"),
        (t.no_readback, "without readback"),
    ] {
        if n > 0 {
            s.push_str(&format!(", {n} {what}"));
        }
    }
    match t.mean_ns() {
        Some(mean) => s.push_str(&format!(
            "; stimulus→done min {} mean {} max {}",
            fmt::dur(t.min_ns),
            fmt::dur(mean),
            fmt::dur(t.max_ns)
        )),
        None => s.push_str("; none measured"),
    }
    s
}

/// What makes a link line worth printing again.
type Health = [u64; 9];

fn health(st: &State) -> Health {
    let s = &st.rx;
    let (write_errors, module) = st
        .heartbeat
        .as_ref()
        .map_or((0, u64::MAX), |h| (h.write_errors, u64::from(h.module_state)));
    [
        s.crc_errors,
        s.framing_errors,
        s.resyncs,
        s.lost_frames,
        s.unknown_kinds,
        s.decode_errors,
        st.agent_skipped(),
        write_errors,
        module,
    ]
}

/// "-- link: 587 frames (51 through a CR LF conversion), 0 CRC errors, ..."
pub fn link_line(st: &State) -> String {
    let s = &st.rx;
    let agent = match &st.heartbeat {
        Some(h) => format!(
            " | agent: sent {} frames / {} bytes, skipped {} snapshots {} violations {} worst{}, \
             {} write errors, module {}",
            h.frames_sent,
            h.bytes_sent,
            h.snapshots_skipped,
            h.violations_skipped,
            h.worst_skipped,
            match h.other_skipped {
                0 => String::new(),
                n => format!(" {n} own messages"),
            },
            h.write_errors,
            match h.module_state {
                0 => "absent",
                1 => "present",
                2 => "replay",
                _ => "?",
            }
        ),
        None => String::new(),
    };
    // Frames that came through a tty with ONLCR on (docs/protocol.md).
    let onlcr = if s.onlcr_frames > 0 {
        format!(" ({} through a CR LF conversion)", s.onlcr_frames)
    } else {
        String::new()
    };
    format!(
        "-- link: {} frames{onlcr}, {} CRC errors, {} resyncs, {} lost, {} unknown{agent}",
        s.frames, s.crc_errors, s.resyncs, s.lost_frames, s.unknown_kinds
    )
}

fn comm_cell(e: &TaskEntry) -> String {
    let t = &e.snap.task;
    let mut c = t.comm.to_string();
    if t.irq >= 0 {
        c.push_str(&format!(" [irq {}]", t.irq));
    }
    if e.kind == SnapshotKind::Exit {
        c.push('†');
    }
    c
}

/// The table as text, columns as wide as their widest cell. P99 comes from
/// log2 buckets: the column shows the upper end of the bucket that holds it,
/// clamped to MAX ("P99≤": the 99th percentile is at most this).
pub fn table(st: &State) -> String {
    const HEAD: [&str; 11] = [
        "PID", "COMM", "SCHED", "METRIC", "COUNT", "MIN", "MEAN", "P99≤", "MAX", "BOUND", "VIOL",
    ];
    // Left-aligned columns; the others are numbers, right-aligned.
    const LEFT: [bool; 11] = [false, true, true, true, false, false, false, false, false, false, false];
    let d = |v: Option<u64>| v.map(fmt::dur).unwrap_or_else(|| "-".into());
    let mut rows: Vec<Vec<String>> = Vec::new();
    for e in st.tasks.values() {
        let s = &e.snap;
        let lead = [
            s.task.pid.to_string(),
            comm_cell(e),
            fmt::sched(s.task.policy, s.task.prio),
        ];
        let mut any = false;
        for m in s.metrics.iter().filter(|m| m.count > 0 || m.bound_ns > 0) {
            any = true;
            let has = m.count > 0;
            let mut r = lead.to_vec();
            r.extend([
                fmt::metric_name(m.metric),
                m.count.to_string(),
                d(has.then_some(m.min_ns)),
                d(m.mean_ns()),
                d(m.quantile_ns(0.99)),
                d(has.then_some(m.max_ns)),
                d((m.bound_ns > 0).then_some(m.bound_ns)),
                m.violations.to_string(),
            ]);
            rows.push(r);
        }
        let key = TaskKey::of(&s.task);
        for ((_, tag), w) in st.windows.range((key, 0)..=(key, u64::MAX)) {
            any = true;
            let m = w.stats.as_ref().map(|x| &x.stats);
            let has = m.is_some_and(|m| m.count > 0);
            let budget = m
                .map(|m| m.bound_ns)
                .filter(|b| *b > 0)
                .or(w.worst.as_ref().map(|o| o.budget_ns));
            let mut r = lead.to_vec();
            r.extend([
                fmt::window_tag(*tag),
                m.map_or(0, |m| m.count).to_string(),
                d(m.filter(|_| has).map(|m| m.min_ns)),
                d(m.and_then(|m| m.mean_ns())),
                d(m.and_then(|m| m.quantile_ns(0.99))),
                d(m.filter(|_| has).map(|m| m.max_ns)),
                d(budget),
                w.overrun_count().to_string(),
            ]);
            rows.push(r);
        }
        if !any {
            let mut r = lead.to_vec();
            r.push("(no samples yet)".into());
            rows.push(r);
        }
    }
    let mut width: Vec<usize> = HEAD.iter().map(|h| h.chars().count()).collect();
    for r in rows.iter().filter(|r| r.len() == HEAD.len()) {
        for (w, c) in width.iter_mut().zip(r) {
            *w = (*w).max(c.chars().count());
        }
    }
    for r in rows.iter().filter(|r| r.len() < HEAD.len()) {
        for (w, c) in width.iter_mut().zip(r).take(3) {
            *w = (*w).max(c.chars().count());
        }
    }
    let fmt_row = |cells: &[String]| {
        let mut line = String::from("  ");
        for (i, c) in cells.iter().enumerate() {
            let pad = width[i].saturating_sub(c.chars().count());
            let last = i + 1 == cells.len();
            if i > 0 {
                line.push(' ');
            }
            if LEFT[i] || (last && cells.len() < HEAD.len()) {
                line.push_str(c);
                if !last {
                    line.push_str(&" ".repeat(pad));
                }
            } else {
                line.push_str(&" ".repeat(pad));
                line.push_str(c);
            }
        }
        line.push('\n');
        line
    };
    let mut out = fmt_row(&HEAD.map(String::from));
    for r in &rows {
        out.push_str(&fmt_row(r));
    }
    out
}

/// A log2 histogram as bpftrace/runqlat draw one: every bucket from the
/// lowest to the highest non-empty one, `[lo, hi)` in ns, count, bar.
pub fn histogram(title: &str, m: &MetricStats) -> String {
    let mut out = format!("  {title} ({} samples, ns):\n", m.count);
    let (Some(first), Some(last)) = (m.log2.first(), m.log2.last()) else {
        return out;
    };
    let max = m.log2.iter().map(|b| b.count).max().unwrap_or(1).max(1);
    let rows: Vec<(String, String, u64)> = (first.idx..=last.idx)
        .map(|idx| {
            let (lo, hi) = log2_bucket_bounds(idx);
            let n = m.log2.iter().find(|b| b.idx == idx).map_or(0, |b| b.count);
            (lo.to_string(), hi.map_or("inf".into(), |h| h.to_string()), n)
        })
        .collect();
    let wl = rows.iter().map(|r| r.0.len()).max().unwrap_or(1);
    let wh = rows.iter().map(|r| r.1.len()).max().unwrap_or(1);
    let wc = rows.iter().map(|r| r.2.to_string().len()).max().unwrap_or(1);
    for (lo, hi, n) in rows {
        // A non-empty bucket always gets at least one @.
        let len = ((n as u128 * BAR as u128).div_ceil(max as u128)) as usize;
        out.push_str(&format!(
            "    [{lo:>wl$}, {hi:>wh$}) {n:>wc$} |{:<BAR$}|\n",
            "@".repeat(len)
        ));
    }
    out
}

impl<W: Write> Printer for TextPrinter<W> {
    fn record(&mut self, r: &Record<'_>, st: &State, _now: SystemTime) -> io::Result<()> {
        if let Pace::Stream = self.pace {
            self.clock_ns = st.agent_ns;
        }
        match r {
            Record::Console { text, .. } => {
                self.summaries(st, true)?;
                writeln!(self.out, "console| {text}")
            }
            Record::Message { msg, .. } => self.message(msg, st),
            Record::Unknown { kind, .. } => {
                if self.unknown_seen.insert(*kind) {
                    self.summaries(st, true)?;
                    writeln!(
                        self.out,
                        "-- skipping messages of unknown kind {kind} (newer agent; counted in link stats)"
                    )?;
                }
                Ok(())
            }
            Record::Incompatible { major, minor } => {
                self.summaries(st, true)?;
                writeln!(self.out, "!! {}", json::incompatible_text(*major, *minor))
            }
            // Counted in the link line.
            Record::Damaged { .. } | Record::Link { .. } => Ok(()),
        }
    }

    fn tick(&mut self, st: &State, _now: SystemTime) -> io::Result<()> {
        self.summaries(st, false)
    }

    /// Pending summaries, the table if it changed since the last one, and the
    /// link line: exactly once each.
    fn finish(&mut self, st: &State, _now: SystemTime) -> io::Result<()> {
        self.summaries(st, true)?;
        let table = self.table_dirty || self.last_table_at.is_none();
        if table {
            self.table(st)?;
            self.last_table_at = Some(self.now(st));
        }
        self.link(st, table)?;
        self.findings(st)?;
        self.out.flush()
    }

    fn flush(&mut self) -> io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rt_protocol::{bounded_str, metric, Bucket, Heartbeat, Notice, TaskInfo, TaskSnapshot};

    /// A printer and the state it reads, fed as the Decoder would.
    struct T {
        p: TextPrinter<Vec<u8>>,
        st: State,
    }

    impl T {
        fn new() -> Self {
            Self::with(Pace::Stream)
        }
        fn with(pace: Pace) -> Self {
            T {
                p: TextPrinter::new(Vec::new(), pace),
                st: State::default(),
            }
        }
        fn item(&mut self, r: Record<'_>) -> io::Result<()> {
            if let Record::Message { msg, .. } = &r {
                self.st.apply(msg);
            }
            self.p.record(&r, &self.st, SystemTime::UNIX_EPOCH)
        }
        fn tick(&mut self) -> io::Result<()> {
            self.p.tick(&self.st, SystemTime::UNIX_EPOCH)
        }
        fn finish(&mut self) -> io::Result<()> {
            self.p.finish(&self.st, SystemTime::UNIX_EPOCH)
        }
        fn out(&self) -> String {
            String::from_utf8_lossy(&self.p.out).into_owned()
        }
    }

    const MS: u64 = 1_000_000;

    fn viol(pid: i32, metric: u8, t_ns: u64, value_ns: u64, count: u64) -> Message {
        Message::Violation(Violation {
            t_ns,
            task: TaskInfo {
                pid,
                tgid: pid,
                irq: -1,
                prio: 49,
                policy: 1,
                comm: bounded_str(if pid == 1 { "ctrl_loop" } else { "other" }),
                start_ns: 42,
                ..Default::default()
            },
            metric,
            value_ns,
            bound_ns: 200_000,
            violations: count,
            ..Default::default()
        })
    }

    fn feed(v: &mut T, msgs: &[Message]) {
        for (seq, m) in msgs.iter().enumerate() {
            v.item(Record::Message {
                seq: seq as u32,
                msg: m,
            })
            .unwrap();
        }
    }

    fn text(v: T) -> String {
        v.out()
    }

    fn full_lines(t: &str) -> usize {
        t.lines().filter(|l| l.starts_with("!! VIOLATION")).count()
    }

    fn summaries(t: &str) -> Vec<&str> {
        t.lines()
            .filter(|l| l.contains(" violations in ") || l.contains(" violation in "))
            .collect()
    }

    /// "+N violations" of a summary line.
    fn plus(l: &str) -> u64 {
        let s = &l[l.find('+').unwrap() + 1..];
        s[..s.find(' ').unwrap()].parse().unwrap()
    }

    #[test]
    fn repeats_within_a_window_become_one_summary() {
        let mut v = T::new();
        // First one 5 ms, then 49 smaller ones 10 ms apart (0.49 s).
        let mut msgs = vec![viol(1, metric::LATENCY, 1_000 * MS, 5 * MS, 1)];
        for i in 1..50 {
            msgs.push(viol(1, metric::LATENCY, (1_000 + 10 * i) * MS, MS + i * 1_000, 1 + i));
        }
        feed(&mut v, &msgs);
        v.finish().unwrap();
        let t = text(v);
        assert_eq!(full_lines(&t), 1, "{t}");
        let s = summaries(&t);
        assert_eq!(s.len(), 1, "{t}");
        assert_eq!(
            s[0],
            "  ctrl_loop[1] latency: +49 violations in 0.5 s (50 in all), worst 1049 us (bound 200 us)"
        );
        assert!(t.lines().count() < 10, "{t}");
    }

    #[test]
    fn at_most_one_summary_per_window_and_nothing_lost() {
        let mut v = T::new();
        // 5 s of violations, one every 20 ms, never a new worst.
        let mut msgs = vec![viol(1, metric::LATENCY, 0, 9 * MS, 1)];
        for i in 1..=250u64 {
            msgs.push(viol(1, metric::LATENCY, i * 20 * MS, MS, 1 + i));
        }
        feed(&mut v, &msgs);
        v.finish().unwrap();
        let t = text(v);
        assert_eq!(full_lines(&t), 1, "{t}");
        let s = summaries(&t);
        assert!((5..=6).contains(&s.len()), "{} summaries:\n{t}", s.len());
        assert_eq!(s.iter().map(|l| plus(l)).sum::<u64>(), 250, "{t}");
        assert!(s.last().unwrap().contains("(251 in all)"), "{t}");
    }

    #[test]
    fn new_worst_prints_in_full_after_the_pending_summary() {
        let mut v = T::new();
        feed(
            &mut v,
            &[
                viol(1, metric::LATENCY, 0, 3 * MS, 1),
                viol(1, metric::LATENCY, 10 * MS, 2 * MS, 2),
                viol(1, metric::LATENCY, 20 * MS, 2 * MS, 3),
                viol(1, metric::LATENCY, 30 * MS, 7 * MS, 4),
            ],
        );
        v.finish().unwrap();
        let t = text(v);
        let lines: Vec<&str> = t.lines().collect();
        assert!(lines[0].contains("latency 3000 us") && lines[0].contains("#1"), "{t}");
        assert!(
            lines[1].starts_with("  ctrl_loop[1] latency: +2 violations in 20 ms"),
            "{t}"
        );
        assert!(lines[2].contains("latency 7000 us") && lines[2].contains("#4"), "{t}");
        assert_eq!(summaries(&t).len(), 1, "{t}");
    }

    #[test]
    fn pairs_are_separate_and_other_output_flushes_first() {
        let mut v = T::new();
        feed(
            &mut v,
            &[
                viol(1, metric::LATENCY, 0, 3 * MS, 1),
                viol(1, metric::RESPONSE, 0, 3 * MS, 1),
                viol(2, metric::LATENCY, 0, 3 * MS, 1),
                viol(1, metric::LATENCY, MS, MS, 2),
                viol(1, metric::RESPONSE, MS, MS, 2),
                viol(2, metric::LATENCY, MS, MS, 2),
                Message::Notice(Notice {
                    level: rt_protocol::NoticeLevel::Info,
                    text: bounded_str("hello"),
                }),
            ],
        );
        let t = text(v);
        assert_eq!(full_lines(&t), 3, "{t}");
        let s = summaries(&t);
        assert_eq!(s.len(), 3, "{t}");
        assert!(
            s.iter()
                .any(|l| l.starts_with("  ctrl_loop[1] latency: +1 violation in")),
            "{t}"
        );
        assert!(
            s.iter()
                .any(|l| l.starts_with("  ctrl_loop[1] response: +1 violation in")),
            "{t}"
        );
        assert!(
            s.iter().any(|l| l.starts_with("  other[2] latency: +1 violation in")),
            "{t}"
        );
        assert_eq!(t.lines().last(), Some("-- agent: hello"), "{t}");
    }

    #[test]
    fn console_text_flushes_pending_summaries_first() {
        let mut v = T::new();
        feed(
            &mut v,
            &[
                viol(1, metric::LATENCY, 0, 3 * MS, 1),
                viol(1, metric::LATENCY, MS, MS, 2),
            ],
        );
        v.item(Record::Console {
            text: "### case 2",
            partial: false,
        })
        .unwrap();
        let t = text(v);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 3, "{t}");
        assert!(lines[1].starts_with("  ctrl_loop[1] latency: +1 violation"), "{t}");
        assert_eq!(lines[2], "console| ### case 2");
    }

    #[test]
    fn the_exact_counter_counts_violations_the_agent_skipped() {
        let mut v = T::new();
        feed(
            &mut v,
            &[
                viol(1, metric::LATENCY, 0, 3 * MS, 10),
                viol(1, metric::LATENCY, MS, MS, 30),
            ],
        );
        v.finish().unwrap();
        let t = text(v);
        assert!(
            t.contains("  ctrl_loop[1] latency: +20 violations in 1 ms (30 in all)"),
            "{t}"
        );
    }

    #[test]
    fn wall_pace_summary_is_due_after_the_window_when_idle() {
        let mut v = T::with(Pace::Manual);
        v.p.set_clock(0);
        feed(&mut v, &[viol(1, metric::LATENCY, 0, 3 * MS, 1)]);
        v.p.set_clock(100 * MS);
        feed(&mut v, &[viol(1, metric::LATENCY, MS, MS, 2)]);
        v.p.set_clock(900 * MS);
        v.tick().unwrap();
        assert!(summaries(&v.out()).is_empty());
        v.p.set_clock(1_001 * MS);
        v.tick().unwrap();
        let t = v.out();
        assert_eq!(summaries(&t).len(), 1, "{t}");
        // Nothing pending: later ticks print nothing.
        v.p.set_clock(5_000 * MS);
        v.tick().unwrap();
        assert_eq!(summaries(&v.out()).len(), 1);
    }

    fn snapshot(pid: i32, comm: &str, irq: i32, t_ns: u64, metrics: &[MetricStats]) -> TaskSnapshot {
        let mut s = TaskSnapshot {
            t_ns,
            task: TaskInfo {
                pid,
                tgid: pid,
                irq,
                prio: 49,
                policy: 1,
                comm: bounded_str(comm),
                start_ns: 1,
                ..Default::default()
            },
            ..Default::default()
        };
        for m in metrics {
            s.metrics.push(m.clone()).unwrap();
        }
        s
    }

    /// The README's demo row: 99 % of samples below 4.2 ms but the 99th in
    /// the [4.2 ms, 8.4 ms) bucket, max 8387 us.
    fn latency(count: u64, max_ns: u64) -> MetricStats {
        let mut m = MetricStats {
            metric: metric::LATENCY,
            count,
            min_ns: 18_000,
            max_ns,
            sum_ns: count * 351_000,
            bound_ns: 200_000,
            violations: 3,
            ..Default::default()
        };
        m.log2
            .push(Bucket {
                idx: 15,
                count: count - 2,
            })
            .unwrap();
        m.log2.push(Bucket { idx: 23, count: 2 }).unwrap();
        m
    }

    fn heartbeat(t_ns: u64) -> Message {
        Message::Heartbeat(Heartbeat {
            t_ns,
            ..Default::default()
        })
    }

    /// Rows of the printed tables: the lines after each header line.
    fn table_rows(t: &str) -> Vec<&str> {
        t.lines()
            .filter(|l| l.starts_with("  ") && l.trim_start().as_bytes()[0].is_ascii_digit())
            .collect()
    }

    /// A task whose window of tag 0x40 overran at its deadline while a
    /// FIFO 90 hog held its CPU, then stopped late.
    fn window_case() -> Vec<Message> {
        use rt_protocol::{win_state, window_what, Culprit, WindowOverrun, WindowStats, WINDOW_METRIC};
        let task = snapshot(173, "ctrl_loop", -1, 1, &[latency(100, 8_387_000)]).task;
        let hog = Culprit {
            pid: 200,
            prio: 9,
            policy: 1,
            ns: 2_600_000,
            comm: bounded_str("prio_hog"),
        };
        let overrun = |what, t_ns, duration_ns, overruns| {
            Message::Window(WindowOverrun {
                t_ns,
                task: task.clone(),
                tag: 0x40,
                what,
                state: win_state::WAITING,
                depth: 1,
                budget_ns: 3_000_000,
                start_ns: 10_000_000,
                duration_ns,
                timer_late_ns: 20_000,
                overruns,
                breakdown: rt_protocol::Breakdown {
                    running_ns: 400_000,
                    waiting_ns: duration_ns - 400_000,
                    ..Default::default()
                },
                culprits: [hog.clone()].into_iter().collect(),
                ..Default::default()
            })
        };
        let mut stats = latency(10, 5_000_000);
        stats.metric = WINDOW_METRIC;
        stats.bound_ns = 3_000_000;
        stats.violations = 1;
        vec![
            Message::Task(snapshot(173, "ctrl_loop", -1, 1, &[latency(100, 8_387_000)])),
            overrun(window_what::DEADLINE, 13_020_000, 3_020_000, 1),
            overrun(window_what::STOP, 15_000_000, 5_000_000, 1),
            // shorter than the one printed: counted, not printed
            overrun(window_what::DEADLINE, 33_020_000, 3_020_000, 2),
            Message::WindowStats(WindowStats {
                t_ns: 40_000_000,
                task: task.clone(),
                tag: 0x40,
                stats,
                culprits: [hog].into_iter().collect(),
                ..Default::default()
            }),
        ]
    }

    #[test]
    fn window_overruns_print_once_per_new_longest_and_rows_join_the_table() {
        let mut v = T::new();
        feed(&mut v, &window_case());
        v.p.table(&v.st).unwrap();
        v.finish().unwrap();
        let t = v.out();
        let lines: Vec<&str> = t.lines().filter(|l| l.starts_with("!! WINDOW OVERRUN")).collect();
        assert_eq!(lines.len(), 2, "{t}");
        assert!(
            lines[0].contains("window 0x40 at its deadline (3000 us budget), still open, waiting for the CPU then"),
            "{t}"
        );
        assert!(lines[0].contains("prio_hog (pid 200, FIFO 90) ran 2600 us"), "{t}");
        assert!(
            lines[1].contains("window 0x40 stopped after 5000 us (3000 us budget)"),
            "{t}"
        );
        let row = table_rows(&t)
            .into_iter()
            .find(|r| r.contains("window 0x40"))
            .expect("a window row");
        // COUNT MIN MEAN P99 MAX BUDGET OVERRUNS
        assert!(row.contains(" 10 ") && row.contains("5000 us 3000 us"), "{row}");
        assert!(row.trim_end().ends_with(" 2"), "{row}");
        // The findings name the window, its overruns and the hog.
        let f = t
            .lines()
            .find(|l| l.contains("window 0x40") && l.contains("worst"))
            .expect("finding");
        assert!(
            f.starts_with("  VIOLATED ctrl_loop[173] window 0x40 2/10 over 3000 us, worst 5000 us"),
            "{f}"
        );
        assert!(
            f.contains("prio_hog (pid 200, FIFO 90) ran: a higher-priority task on the same CPU"),
            "{f}"
        );
    }

    #[test]
    fn p99_is_never_printed_above_max() {
        let mut v = T::new();
        feed(
            &mut v,
            &[Message::Task(snapshot(
                173,
                "ctrl_loop",
                -1,
                1,
                &[latency(100, 8_387_000)],
            ))],
        );
        v.finish().unwrap();
        let t = v.out();
        let head = t.lines().find(|l| l.contains("PID")).unwrap();
        assert!(head.contains("P99≤"), "{t}");
        let row = table_rows(&t)[0];
        let cells: Vec<&str> = row.split("  ").map(str::trim).filter(|c| !c.is_empty()).collect();
        // ... MEAN, P99≤, MAX, BOUND: the percentile is clamped to the observed max.
        assert!(row.contains(" 8387 us 8387 us "), "{row}");
        assert!(!row.contains("8389"), "{row} {cells:?}");
    }

    #[test]
    fn an_irq_thread_row_keeps_the_columns_in_line() {
        let mut v = T::new();
        feed(
            &mut v,
            &[
                Message::Irq(snapshot(74, "irq/17-virtio0-", 17, 1, &[latency(10, 500_000)])),
                Message::Task(snapshot(173, "ctrl_loop", -1, 1, &[latency(100, 8_387_000)])),
                Message::Exit(snapshot(175, "a_long_name_15c", -1, 1, &[latency(5, 9_000)])),
            ],
        );
        v.finish().unwrap();
        let t = v.out();
        let head = t.lines().find(|l| l.contains("PID")).unwrap().to_string();
        let rows = table_rows(&t);
        assert_eq!(rows.len(), 3, "{t}");
        // Every column ends where its header does (right-aligned numbers) or
        // starts where it does (left-aligned text), in every row.
        let col = |l: &str, from: usize| l.chars().skip(from).collect::<String>();
        let at = |name: &str| {
            head.chars()
                .collect::<String>()
                .find(name)
                .map(|b| head[..b].chars().count())
                .unwrap()
        };
        for r in &rows {
            assert_eq!(r.chars().count(), head.chars().count(), "{t}");
            assert!(col(r, at("SCHED")).starts_with("FIFO 50"), "{t}");
            assert!(col(r, at("METRIC")).starts_with("latency"), "{t}");
            assert!(r.ends_with("    3"), "{t}");
        }
        assert!(rows[0].contains("irq/17-virtio0- [irq 17]"), "{t}");
        assert!(rows[2].contains("a_long_name_15c†"), "{t}");
    }

    #[test]
    fn the_end_prints_the_table_and_the_link_line_once() {
        let mut v = T::new();
        let snap = |t| Message::Task(snapshot(173, "ctrl_loop", -1, t, &[latency(100, 8_387_000)]));
        let exit = |t| Message::Exit(snapshot(173, "ctrl_loop", -1, t, &[latency(100, 8_387_000)]));
        // A heartbeat with its table, then as the agent stops: a final
        // snapshot and heartbeat right away, then console text, then EOF.
        feed(
            &mut v,
            &[
                snap(1_000 * MS),
                heartbeat(1_000 * MS),
                exit(1_001 * MS),
                heartbeat(1_002 * MS),
            ],
        );
        v.item(Record::Console {
            text: "reboot: Power down",
            partial: false,
        })
        .unwrap();
        v.finish().unwrap();
        let t = v.out();
        assert_eq!(t.matches("PID COMM").count(), 2, "{t}");
        assert_eq!(t.matches("-- link:").count(), 2, "{t}");
        // The last table is the final one (the exited task) and the last line is its link line.
        let last_table = t.rfind("PID COMM").unwrap();
        assert!(t[last_table..].contains("ctrl_loop†"), "{t}");
        // Then the findings block, once, as the very end.
        let tail: Vec<&str> = t[last_table..].lines().collect();
        assert!(tail[2].starts_with("-- link:"), "{t}");
        assert_eq!(tail[3], "== findings: 1 violated, 0 met", "{t}");
        assert_eq!(tail.len(), 5, "{t}");
        assert_eq!(t.matches("== findings").count(), 1, "{t}");
        // The exit came with the task's verdict (a case ends with its findings).
        let exit = t.find("-- exited: ").unwrap();
        assert!(
            t[exit..]
                .lines()
                .nth(1)
                .unwrap()
                .starts_with("  VIOLATED ctrl_loop[173] latency 3/100 over 200 us"),
            "{t}"
        );
        assert!(t.find("Power down").unwrap() < last_table, "{t}");

        // Nothing changed after the last heartbeat's table: EOF adds nothing.
        let mut v = T::new();
        feed(&mut v, &[snap(1_000 * MS), heartbeat(1_000 * MS)]);
        v.finish().unwrap();
        let t = v.out();
        assert_eq!(
            (t.matches("PID COMM").count(), t.matches("-- link:").count()),
            (1, 1),
            "{t}"
        );
    }

    #[test]
    fn heartbeats_bring_the_table_at_most_every_table_every() {
        let mut v = T::new();
        let snap = |t| Message::Task(snapshot(173, "ctrl_loop", -1, t, &[latency(100, 8_387_000)]));
        let mut msgs = Vec::new();
        for s in 0..20u64 {
            msgs.push(snap(s * 1_000 * MS));
            msgs.push(heartbeat(s * 1_000 * MS));
        }
        feed(&mut v, &msgs);
        let t = v.out();
        // 20 s of heartbeats every second: one table every 5 s.
        assert_eq!(t.matches("PID COMM").count(), 4, "{t}");
        assert_eq!(t.matches("-- link:").count(), 4, "{t}");
    }

    #[test]
    fn a_link_line_comes_with_a_heartbeat_when_health_changed() {
        let mut v = T::new();
        feed(&mut v, &[heartbeat(0)]);
        v.st.rx.crc_errors = 1;
        feed(&mut v, &[heartbeat(MS)]);
        feed(&mut v, &[heartbeat(2 * MS)]);
        let t = v.out();
        assert_eq!(t.matches("-- link:").count(), 2, "{t}");
        assert!(t.lines().nth(1).unwrap().contains("1 CRC errors"), "{t}");
    }

    #[test]
    fn own_messages_the_agent_could_not_queue_are_shown() {
        let mut v = T::new();
        feed(&mut v, &[heartbeat(0)]);
        feed(
            &mut v,
            &[Message::Heartbeat(Heartbeat {
                t_ns: MS,
                other_skipped: 3,
                ..Default::default()
            })],
        );
        let t = v.out();
        let links: Vec<&str> = t.lines().filter(|l| l.starts_with("-- link:")).collect();
        assert_eq!(links.len(), 2, "{t}");
        assert!(!links[0].contains("own messages"), "{t}");
        assert!(
            links[1].contains("skipped 0 snapshots 0 violations 0 worst 3 own messages,"),
            "{t}"
        );
    }

    #[test]
    fn every_line_of_the_view_is_its_own_line() {
        // Console text, then a worst case: separate lines, whatever came first.
        let mut v = T::new();
        v.item(Record::Console {
            text: "ctrl_loop shares CPU 1 by mistake.",
            partial: false,
        })
        .unwrap();
        feed(&mut v, &[viol(1, metric::LATENCY, 0, 3 * MS, 1)]);
        v.item(Record::Console {
            text: "# ",
            partial: true,
        })
        .unwrap();
        feed(&mut v, &[viol(1, metric::LATENCY, 0, 9 * MS, 2)]);
        let t = v.out();
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "console| ctrl_loop shares CPU 1 by mistake.");
        assert!(lines[1].starts_with("!! VIOLATION "), "{t}");
        assert_eq!(lines[2], "console| # ");
        assert!(lines[3].starts_with("!! VIOLATION "), "{t}");
        assert!(t.ends_with('\n'));
    }

    #[test]
    fn hist_draws_every_bucket_between_the_first_and_the_last() {
        let mut m = latency(100, 8_387_000);
        m.log2[0].count = 40;
        m.log2.push(Bucket { idx: 31, count: 1 }).unwrap();
        let h = histogram("ctrl_loop[173] latency", &m);
        let lines: Vec<&str> = h.lines().collect();
        assert_eq!(lines[0], "  ctrl_loop[173] latency (100 samples, ns):");
        assert_eq!(lines.len(), 1 + (31 - 15 + 1), "{h}");
        assert_eq!(
            lines[1],
            format!("    [     16384,      32768) 40 |{}|", "@".repeat(40))
        );
        assert_eq!(
            lines[2],
            format!("    [     32768,      65536)  0 |{}|", " ".repeat(40))
        );
        // 2 of 40: 2 @; the open last bucket.
        assert_eq!(
            lines[9],
            format!("    [   4194304,    8388608)  2 |@@{}|", " ".repeat(38))
        );
        assert_eq!(
            lines[17],
            format!("    [1073741824,        inf)  1 |@{}|", " ".repeat(39))
        );
    }

    #[test]
    fn hist_comes_with_the_table_on_request() {
        let mut v = T::new();
        v.p.hist = true;
        feed(
            &mut v,
            &[Message::Task(snapshot(
                173,
                "ctrl_loop",
                -1,
                1,
                &[latency(100, 8_387_000)],
            ))],
        );
        v.finish().unwrap();
        let t = v.out();
        assert!(
            t.contains("  ctrl_loop[173] latency (100 samples, ns):\n    [  16384,   32768) 98 |"),
            "{t}"
        );
    }

    fn pulse(seq: u64, flags: u8, skipped: u64) -> rt_protocol::GpioPulse {
        rt_protocol::GpioPulse {
            seq,
            t_stimulus: 10 * MS,
            t_hard: 10 * MS + 41_000,
            t_thread: 10 * MS + 126_000,
            t_done: 10 * MS + 336_000,
            flags,
            skipped,
        }
    }

    #[test]
    fn gpio_pulse_lines_give_each_interval_and_say_what_went_wrong() {
        use rt_protocol::pulse_flags::{LATE, NO_READBACK};
        assert_eq!(
            gpio_pulse_line(&pulse(12, 0, 0)),
            "GPIO pulse #12: stimulus→hard IRQ 41 us, →thread 85 us, handler 210 us, total 336 us"
        );
        assert_eq!(
            gpio_pulse_line(&pulse(13, LATE, 2)),
            "GPIO pulse #13: stimulus→hard IRQ 41 us, →thread 85 us, handler 210 us, total 336 us \
             (late) (2 deadlines skipped)"
        );
        // Without readback the (zero) times mean nothing: none is shown.
        let g = rt_protocol::GpioPulse {
            t_hard: 0,
            t_thread: 0,
            t_done: 0,
            ..pulse(14, NO_READBACK | LATE, 0)
        };
        assert_eq!(
            gpio_pulse_line(&g),
            "GPIO pulse #14: no readback (irq_button_demo absent, or no IRQ within the wait) (late)"
        );
    }

    fn summary(count: u64, no_readback: u64) -> rt_protocol::GpioSummary {
        let span = |min_ns, mean_ns, max_ns| rt_protocol::Span {
            min_ns,
            mean_ns,
            max_ns,
        };
        rt_protocol::GpioSummary {
            t_ns: 2_000 * MS,
            count,
            late: 1,
            skipped: 0,
            no_readback,
            stim_to_hard: span(40_000, 41_000, 90_000),
            hard_to_thread: span(80_000, 85_000, 700_000),
            thread_to_done: span(200_000, 210_000, 260_000),
            stim_to_done: span(320_000, 336_000, 1_050_000),
        }
    }

    #[test]
    fn gpio_summary_lines_give_min_mean_max() {
        assert_eq!(
            gpio_summary_line(&summary(1000, 2)),
            "GPIO pulses: 1000, 1 late, 2 without readback; min/mean/max \
             stimulus→hard IRQ 40 us/41 us/90 us, →thread 80 us/85 us/700 us, \
             handler 200 us/210 us/260 us, total 320 us/336 us/1050 us"
        );
        assert_eq!(
            gpio_summary_line(&summary(5, 5)),
            "GPIO pulses: 5, 1 late, 5 without readback; no readback"
        );
    }

    #[test]
    fn the_view_shows_pulses_and_the_run_tally_under_the_table() {
        let mut v = T::new();
        // Two pulses (336 us and 536 us), a summary of 1000 (2 without
        // readback, mean 336 us over the other 998).
        let slow = rt_protocol::GpioPulse {
            t_done: 10 * MS + 536_000,
            ..pulse(1, 0, 1)
        };
        feed(
            &mut v,
            &[
                Message::GpioPulse(pulse(0, 0, 0)),
                Message::GpioPulse(slow),
                Message::GpioSummary(summary(1000, 2)),
            ],
        );
        v.finish().unwrap();
        let out = text(v);
        let lines: Vec<&str> = out.lines().collect();
        assert!(
            lines[0].starts_with("GPIO pulse #0: ") && lines[0].ends_with("total 336 us"),
            "{out}"
        );
        assert!(
            lines[1].starts_with("GPIO pulse #1: ") && lines[1].ends_with("total 536 us (1 deadlines skipped)"),
            "{out}"
        );
        assert!(
            lines[2].starts_with("GPIO pulses: 1000, 1 late, 2 without readback;"),
            "{out}"
        );
        // mean = (336 + 536 + 998 * 336) us / 1000 = 336.2 us
        let tally: Vec<&&str> = lines.iter().filter(|l| l.starts_with("GPIO stimulus:")).collect();
        assert_eq!(
            tally,
            [&"GPIO stimulus: 1002 pulses, 1 late, 1 skipped, 2 without readback; \
               stimulus→done min 320 us mean 336 us max 1050 us"],
            "{out}"
        );
    }
}
