//! Turns decoder items into output: a readable live view or JSON lines.

use std::collections::{BTreeMap, HashSet};
use std::io::{self, Write};
use std::time::{Duration, Instant};

use rt_protocol::{
    kind, metric, Heartbeat, Item, Message, Stats, TaskSnapshot, Violation, PROTOCOL_MAJOR, PROTOCOL_MINOR,
};

use crate::{fmt, json};

/// How often, at most, the readable view prints a summary line of repeated
/// violations of one (task, metric).
pub const COALESCE_WINDOW: Duration = Duration::from_secs(1);

/// What paces the summaries of repeated violations (readable view only).
pub enum Pace {
    /// Live sources: wall time since this instant (call [`View::tick`] when idle).
    Wall(Instant),
    /// Capture replay: the stream's own clock (the violations' `t_ns`), so a
    /// replay reads like the live view did and does not depend on decode speed.
    Stream,
    /// A clock the caller sets with [`View::set_clock`] (tests).
    Manual,
}

/// Violations of one (task, metric) in the readable view: the first and every
/// new worst one are printed in full, the others are counted here and printed
/// as one summary line at most every [`COALESCE_WINDOW`], before any other
/// output, and at the end.
struct Repeats {
    /// "ctrl_loop[173]"
    who: String,
    metric: u8,
    bound_ns: u64,
    /// Largest value printed in full so far.
    max_full_ns: u64,
    /// Clock (ns, see `Pace`) when the last line of this pair was printed.
    printed_at: u64,
    /// Cumulative violation counter and agent time of the last violation
    /// accounted for by a printed line.
    shown_count: u64,
    shown_t_ns: u64,
    /// Aggregated since that line.
    frames: u64,
    last_count: u64,
    last_t_ns: u64,
    worst_ns: u64,
}

impl Repeats {
    fn summary(&mut self) -> Option<String> {
        if self.frames == 0 {
            return None;
        }
        // The cumulative counter is exact (it includes violations the agent
        // could not send); fall back to the frames seen if it went backwards.
        let n = match self.last_count.checked_sub(self.shown_count) {
            Some(d) if d >= self.frames => d,
            _ => self.frames,
        };
        let span = self.last_t_ns.saturating_sub(self.shown_t_ns);
        let line = format!(
            "  {} {}: +{} violation{} in {} ({} in all), worst {} (bound {})",
            self.who,
            fmt::metric_name(self.metric),
            n,
            if n == 1 { "" } else { "s" },
            span_text(span),
            self.last_count,
            fmt::dur(self.worst_ns),
            fmt::dur(self.bound_ns)
        );
        self.shown_count = self.last_count;
        self.shown_t_ns = self.last_t_ns;
        self.frames = 0;
        self.worst_ns = 0;
        Some(line)
    }
}

/// "0.3 s", "12.0 s"; below 0.1 s in ms.
fn span_text(ns: u64) -> String {
    if ns < 100_000_000 {
        format!("{} ms", ns / 1_000_000)
    } else {
        format!("{:.1} s", ns as f64 / 1e9)
    }
}

pub struct View<W: Write> {
    out: W,
    json: bool,
    pace: Pace,
    /// Latest clock value (ns) for `Pace::Stream` and `Pace::Manual`.
    clock_ns: u64,
    window_ns: u64,
    /// Per (pid, start_ns, metric), in a stable order.
    repeats: BTreeMap<(i32, u64, u8), Repeats>,
    line: Vec<u8>,
    /// Latest snapshot per (pid, start_ns), with its kind.
    tasks: BTreeMap<(i32, u64), (u16, TaskSnapshot)>,
    last_hb: Option<Heartbeat>,
    unknown_seen: HashSet<u16>,
    table_dirty: bool,
    table_shown: bool,
    link_due: bool,
}

impl<W: Write> View<W> {
    /// A view paced by the stream's clock (see [`Pace`]).
    pub fn new(out: W, json: bool) -> Self {
        Self::with_pace(out, json, Pace::Stream)
    }

    pub fn with_pace(out: W, json: bool, pace: Pace) -> Self {
        View {
            out,
            json,
            pace,
            clock_ns: 0,
            window_ns: COALESCE_WINDOW.as_nanos() as u64,
            repeats: BTreeMap::new(),
            line: Vec::new(),
            tasks: BTreeMap::new(),
            last_hb: None,
            unknown_seen: HashSet::new(),
            table_dirty: false,
            table_shown: false,
            link_due: false,
        }
    }

    pub fn into_inner(self) -> W {
        self.out
    }

    /// Set the clock of a `Pace::Manual` view (ns, any origin, not decreasing).
    pub fn set_clock(&mut self, ns: u64) {
        self.clock_ns = self.clock_ns.max(ns);
    }

    fn now(&self) -> u64 {
        match &self.pace {
            Pace::Wall(t0) => t0.elapsed().as_nanos().try_into().unwrap_or(u64::MAX),
            Pace::Stream | Pace::Manual => self.clock_ns,
        }
    }

    /// Print the summaries of repeated violations that are due (live sources
    /// call this when idle, so a summary does not wait for the next frame).
    pub fn tick(&mut self) -> io::Result<()> {
        if self.json {
            return Ok(());
        }
        let now = self.now();
        let window = self.window_ns;
        let mut lines = Vec::new();
        for r in self.repeats.values_mut() {
            if r.frames > 0 && now.saturating_sub(r.printed_at) >= window {
                lines.extend(r.summary());
                r.printed_at = now;
            }
        }
        for l in lines {
            writeln!(self.out, "{l}")?;
        }
        Ok(())
    }

    /// Every pending summary, now: called before any other line is printed,
    /// so the view stays in the order things happened, and at the end.
    fn flush_repeats(&mut self) -> io::Result<()> {
        if self.json {
            return Ok(());
        }
        let now = self.now();
        let mut lines = Vec::new();
        for r in self.repeats.values_mut() {
            if let Some(l) = r.summary() {
                lines.push(l);
                r.printed_at = now;
            }
        }
        for l in lines {
            writeln!(self.out, "{l}")?;
        }
        Ok(())
    }

    fn violation(&mut self, v: &Violation) -> io::Result<()> {
        if matches!(self.pace, Pace::Stream) {
            self.clock_ns = self.clock_ns.max(v.t_ns);
        }
        let now = self.now();
        let key = (v.task.pid, v.task.start_ns, v.metric);
        if let Some(r) = self.repeats.get_mut(&key) {
            if v.value_ns <= r.max_full_ns {
                r.frames += 1;
                r.last_count = v.violations;
                r.last_t_ns = v.t_ns;
                r.worst_ns = r.worst_ns.max(v.value_ns);
                r.bound_ns = v.bound_ns;
                return self.tick();
            }
        }
        // The first one, or a new worst: in full, after what is pending.
        self.flush_repeats()?;
        let r = self.repeats.entry(key).or_insert_with(|| Repeats {
            who: format!("{}[{}]", v.task.comm, v.task.pid),
            metric: v.metric,
            bound_ns: 0,
            max_full_ns: 0,
            printed_at: 0,
            shown_count: 0,
            shown_t_ns: 0,
            frames: 0,
            last_count: 0,
            last_t_ns: 0,
            worst_ns: 0,
        });
        r.max_full_ns = v.value_ns;
        r.bound_ns = v.bound_ns;
        r.printed_at = now;
        r.shown_count = v.violations;
        r.shown_t_ns = v.t_ns;
        r.last_count = v.violations;
        r.last_t_ns = v.t_ns;
        writeln!(
            self.out,
            "!! VIOLATION {}: {} {} > bound {} (violation #{}): {}",
            fmt::who(&v.task),
            fmt::metric_name(v.metric),
            fmt::dur(v.value_ns),
            fmt::dur(v.bound_ns),
            v.violations,
            fmt::breakdown(&v.breakdown)
        )?;
        self.tick()
    }

    fn emit(&mut self, v: serde_json::Value) -> io::Result<()> {
        writeln!(self.out, "{v}")
    }

    fn console_line(&mut self, partial: bool) -> io::Result<()> {
        let raw = std::mem::take(&mut self.line);
        let text = String::from_utf8_lossy(&raw);
        let text = text.trim_end_matches(['\n', '\r']);
        if text.is_empty() && partial {
            return Ok(());
        }
        if self.json {
            self.emit(json::console(text))
        } else {
            self.flush_repeats()?;
            writeln!(self.out, "console| {text}")
        }
    }

    /// Console text without a newline yet (called when the source is idle or ends).
    pub fn flush_console(&mut self) -> io::Result<()> {
        if !self.line.is_empty() {
            self.console_line(true)?;
        }
        self.out.flush()
    }

    pub fn item(&mut self, item: Item<'_>) -> io::Result<()> {
        match item {
            Item::Console(text) => {
                for &b in text {
                    self.line.push(b);
                    if b == b'\n' || self.line.len() >= 4096 {
                        self.console_line(false)?;
                    }
                }
                Ok(())
            }
            Item::Message {
                msg: Message::Violation(v),
                ..
            } if !self.json => self.violation(v),
            Item::Message { msg, .. } => {
                if !self.json && !matches!(msg, Message::Heartbeat(_) | Message::Task(_) | Message::Irq(_)) {
                    self.flush_repeats()?;
                }
                self.message(msg)
            }
            Item::Unknown { kind, seq } => {
                if self.json {
                    self.emit(serde_json::json!({"type": "unknown", "kind": kind, "seq": seq}))
                } else if self.unknown_seen.insert(kind) {
                    self.flush_repeats()?;
                    writeln!(
                        self.out,
                        "-- skipping messages of unknown kind {kind} (newer agent; counted in link stats)"
                    )
                } else {
                    Ok(())
                }
            }
            Item::Incompatible { major, minor } => {
                let text = format!(
                    "agent speaks protocol {major}.{minor}, this rtdecode reads {PROTOCOL_MAJOR}.x \
                     (up to {PROTOCOL_MAJOR}.{PROTOCOL_MINOR}): frames are not decoded, console text \
                     still is; use a matching rtdecode"
                );
                if self.json {
                    self.emit(
                        serde_json::json!({"type": "incompatible", "major": major, "minor": minor, "message": text}),
                    )
                } else {
                    self.flush_repeats()?;
                    writeln!(self.out, "!! {text}")
                }
            }
            Item::Damaged { .. } => Ok(()),
        }
    }

    fn message(&mut self, msg: &Message) -> io::Result<()> {
        match msg {
            Message::Hello(h) => {
                if self.json {
                    return self.emit(json::hello(h));
                }
                let module = if h.uapi_major == 0 {
                    "not loaded".to_string()
                } else {
                    format!("UAPI {}.{}", h.uapi_major, h.uapi_minor)
                };
                writeln!(
                    self.out,
                    "== rpi-agent {} (protocol {}.{}) on {} / kernel {} / module {} / {} baud",
                    h.agent_version, h.proto_major, h.proto_minor, h.board, h.kernel_release, module, h.baud
                )
            }
            Message::Task(s) | Message::Irq(s) | Message::Exit(s) => {
                let k = msg.kind();
                if self.json {
                    self.emit(json::task(k, s))?;
                } else if k == kind::EXIT {
                    writeln!(self.out, "-- exited: {}", fmt::who(&s.task))?;
                    self.table_dirty = true;
                } else {
                    self.table_dirty = true;
                }
                self.tasks.insert((s.task.pid, s.task.start_ns), (k, s.clone()));
                Ok(())
            }
            Message::Violation(v) => {
                if self.json {
                    return self.emit(json::violation(v));
                }
                self.violation(v)
            }
            Message::Worst(w) => {
                if self.json {
                    return self.emit(json::worst(w));
                }
                writeln!(
                    self.out,
                    "** new worst {} of {}: {}",
                    fmt::metric_name(w.metric),
                    fmt::who(&w.task),
                    fmt::explain_worst(w)
                )?;
                for (i, e) in w.events.iter().enumerate() {
                    writeln!(
                        self.out,
                        "     +{:>9}  cpu{:<2} {}",
                        fmt::dur(e.t_ns),
                        e.cpu,
                        fmt::event_text(e, w.event_flags_of(i))
                    )?;
                }
                if w.events_dropped > 0 {
                    writeln!(self.out, "     ({} more events not kept)", w.events_dropped)?;
                }
                Ok(())
            }
            Message::Dropped(d) => {
                if self.json {
                    return self.emit(json::dropped(d));
                }
                writeln!(
                    self.out,
                    "!! module dropped records for a slow reader: {} violations, {} worst cases, {} exits",
                    d.violations, d.worst, d.exits
                )
            }
            Message::Notice(n) => {
                if self.json {
                    return self.emit(json::notice(n));
                }
                writeln!(self.out, "-- agent: {}", n.text)
            }
            Message::Heartbeat(h) => {
                // Printed by link_due() once the decoder's counters can be read.
                self.last_hb = Some(h.clone());
                self.link_due = true;
                Ok(())
            }
        }
    }

    /// After each feed(): the table and link health, if a heartbeat came.
    pub fn link_due(&mut self, stats: &Stats) -> io::Result<()> {
        if !std::mem::take(&mut self.link_due) {
            return Ok(());
        }
        if self.json {
            let v = json::link(stats, self.last_hb.as_ref(), false);
            return self.emit(v);
        }
        self.flush_repeats()?;
        if self.table_dirty {
            self.table()?;
        }
        self.link_line(stats)
    }

    fn link_line(&mut self, s: &Stats) -> io::Result<()> {
        let agent = match &self.last_hb {
            Some(h) => format!(
                " | agent: sent {} frames / {} bytes, skipped {} snapshots {} violations {} worst, \
                 {} write errors, module {}",
                h.frames_sent,
                h.bytes_sent,
                h.snapshots_skipped,
                h.violations_skipped,
                h.worst_skipped,
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
        writeln!(
            self.out,
            "-- link: {} frames{onlcr}, {} CRC errors, {} resyncs, {} lost, {} unknown{agent}",
            s.frames, s.crc_errors, s.resyncs, s.lost_frames, s.unknown_kinds
        )
    }

    /// The table of tracked tasks.
    pub fn table(&mut self) -> io::Result<()> {
        self.table_dirty = false;
        self.table_shown = true;
        if self.tasks.is_empty() {
            return Ok(());
        }
        writeln!(
            self.out,
            "{:>7} {:<22} {:<13} {:<9} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9} {:>6}",
            "PID", "COMM", "SCHED", "METRIC", "COUNT", "MIN", "MEAN", "P99", "MAX", "BOUND", "VIOL"
        )?;
        let rows: Vec<String> = self
            .tasks
            .values()
            .flat_map(|(k, s)| {
                let comm = if *k == kind::EXIT {
                    format!("{}†", s.task.comm)
                } else if s.task.irq >= 0 {
                    format!("{} [irq {}]", s.task.comm, s.task.irq)
                } else {
                    s.task.comm.to_string()
                };
                let sched = fmt::sched(s.task.policy, s.task.prio);
                let pid = s.task.pid;
                let mut rows = Vec::new();
                for m in s.metrics.iter().filter(|m| m.count > 0 || m.bound_ns > 0) {
                    let d = |v: Option<u64>| v.map(fmt::dur).unwrap_or_else(|| "-".into());
                    let has = m.count > 0;
                    rows.push(format!(
                        "{:>7} {:<22} {:<13} {:<9} {:>8} {:>9} {:>9} {:>9} {:>9} {:>9} {:>6}",
                        pid,
                        comm,
                        sched,
                        metric::name(m.metric).unwrap_or("?"),
                        m.count,
                        d(has.then_some(m.min_ns)),
                        d(m.mean_ns()),
                        d(m.quantile_ns(0.99)),
                        d(has.then_some(m.max_ns)),
                        d((m.bound_ns > 0).then_some(m.bound_ns)),
                        m.violations
                    ));
                }
                if rows.is_empty() {
                    rows.push(format!("{pid:>7} {comm:<22} {sched:<13} (no samples yet)"));
                }
                rows
            })
            .collect();
        for r in rows {
            writeln!(self.out, "{r}")?;
        }
        Ok(())
    }

    /// End of input (or interrupted): pending text, the table, the link summary.
    pub fn finish(&mut self, stats: &Stats) -> io::Result<()> {
        self.flush_console()?;
        self.flush_repeats()?;
        if self.json {
            let v = json::link(stats, self.last_hb.as_ref(), true);
            self.emit(v)?;
        } else {
            if self.table_dirty || !self.table_shown {
                self.table()?;
            }
            self.link_line(stats)?;
        }
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rt_protocol::{bounded_str, Notice, TaskInfo};

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

    fn feed<W: Write>(v: &mut View<W>, msgs: &[Message]) {
        for (seq, m) in msgs.iter().enumerate() {
            v.item(Item::Message {
                seq: seq as u32,
                msg: m,
            })
            .unwrap();
        }
    }

    fn text(v: View<Vec<u8>>) -> String {
        String::from_utf8(v.into_inner()).unwrap()
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
        let mut v = View::new(Vec::new(), false);
        // First one 5 ms, then 49 smaller ones 10 ms apart (0.49 s).
        let mut msgs = vec![viol(1, metric::LATENCY, 1_000 * MS, 5 * MS, 1)];
        for i in 1..50 {
            msgs.push(viol(1, metric::LATENCY, (1_000 + 10 * i) * MS, MS + i * 1_000, 1 + i));
        }
        feed(&mut v, &msgs);
        v.finish(&Stats::default()).unwrap();
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
        let mut v = View::new(Vec::new(), false);
        // 5 s of violations, one every 20 ms, never a new worst.
        let mut msgs = vec![viol(1, metric::LATENCY, 0, 9 * MS, 1)];
        for i in 1..=250u64 {
            msgs.push(viol(1, metric::LATENCY, i * 20 * MS, MS, 1 + i));
        }
        feed(&mut v, &msgs);
        v.finish(&Stats::default()).unwrap();
        let t = text(v);
        assert_eq!(full_lines(&t), 1, "{t}");
        let s = summaries(&t);
        assert!((5..=6).contains(&s.len()), "{} summaries:\n{t}", s.len());
        assert_eq!(s.iter().map(|l| plus(l)).sum::<u64>(), 250, "{t}");
        assert!(s.last().unwrap().contains("(251 in all)"), "{t}");
    }

    #[test]
    fn new_worst_prints_in_full_after_the_pending_summary() {
        let mut v = View::new(Vec::new(), false);
        feed(
            &mut v,
            &[
                viol(1, metric::LATENCY, 0, 3 * MS, 1),
                viol(1, metric::LATENCY, 10 * MS, 2 * MS, 2),
                viol(1, metric::LATENCY, 20 * MS, 2 * MS, 3),
                viol(1, metric::LATENCY, 30 * MS, 7 * MS, 4),
            ],
        );
        v.finish(&Stats::default()).unwrap();
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
        let mut v = View::new(Vec::new(), false);
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
        let mut v = View::new(Vec::new(), false);
        feed(
            &mut v,
            &[
                viol(1, metric::LATENCY, 0, 3 * MS, 1),
                viol(1, metric::LATENCY, MS, MS, 2),
            ],
        );
        v.item(Item::Console(b"### case 2\n")).unwrap();
        let t = text(v);
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines.len(), 3, "{t}");
        assert!(lines[1].starts_with("  ctrl_loop[1] latency: +1 violation"), "{t}");
        assert_eq!(lines[2], "console| ### case 2");
    }

    #[test]
    fn the_exact_counter_counts_violations_the_agent_skipped() {
        let mut v = View::new(Vec::new(), false);
        feed(
            &mut v,
            &[
                viol(1, metric::LATENCY, 0, 3 * MS, 10),
                viol(1, metric::LATENCY, MS, MS, 30),
            ],
        );
        v.finish(&Stats::default()).unwrap();
        let t = text(v);
        assert!(
            t.contains("  ctrl_loop[1] latency: +20 violations in 1 ms (30 in all)"),
            "{t}"
        );
    }

    #[test]
    fn wall_pace_summary_is_due_after_the_window_when_idle() {
        let mut v = View::with_pace(Vec::new(), false, Pace::Manual);
        v.set_clock(0);
        feed(&mut v, &[viol(1, metric::LATENCY, 0, 3 * MS, 1)]);
        v.set_clock(100 * MS);
        feed(&mut v, &[viol(1, metric::LATENCY, MS, MS, 2)]);
        v.set_clock(900 * MS);
        v.tick().unwrap();
        assert!(summaries(&String::from_utf8_lossy(&v.out)).is_empty());
        v.set_clock(1_001 * MS);
        v.tick().unwrap();
        let t = String::from_utf8_lossy(&v.out).into_owned();
        assert_eq!(summaries(&t).len(), 1, "{t}");
        // Nothing pending: later ticks print nothing.
        v.set_clock(5_000 * MS);
        v.tick().unwrap();
        assert_eq!(summaries(&String::from_utf8_lossy(&v.out)).len(), 1);
    }

    #[test]
    fn json_keeps_one_object_per_violation() {
        let mut v = View::new(Vec::new(), true);
        let msgs: Vec<Message> = (0..20u64)
            .map(|i| viol(1, metric::LATENCY, i * MS, MS, i + 1))
            .collect();
        feed(&mut v, &msgs);
        v.finish(&Stats::default()).unwrap();
        let t = text(v);
        let objs: Vec<serde_json::Value> = t.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
        let viols: Vec<_> = objs.iter().filter(|o| o["type"] == "violation").collect();
        assert_eq!(viols.len(), 20);
        assert_eq!(viols[19]["violations"], 20);
        assert!(!t.contains("violations in"));
    }
}
