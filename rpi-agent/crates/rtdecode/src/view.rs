//! Turns decoder items into output: a readable live view or JSON lines.

use std::collections::{BTreeMap, HashSet};
use std::io::{self, Write};

use rt_protocol::{kind, metric, Heartbeat, Item, Message, Stats, TaskSnapshot, PROTOCOL_MAJOR, PROTOCOL_MINOR};

use crate::{fmt, json};

pub struct View<W: Write> {
    out: W,
    json: bool,
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
    pub fn new(out: W, json: bool) -> Self {
        View {
            out,
            json,
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
            Item::Message { msg, .. } => self.message(msg),
            Item::Unknown { kind, seq } => {
                if self.json {
                    self.emit(serde_json::json!({"type": "unknown", "kind": kind, "seq": seq}))
                } else if self.unknown_seen.insert(kind) {
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
                writeln!(
                    self.out,
                    "!! VIOLATION {}: {} {} > bound {} (violation #{}): {}",
                    fmt::who(&v.task),
                    fmt::metric_name(v.metric),
                    fmt::dur(v.value_ns),
                    fmt::dur(v.bound_ns),
                    v.violations,
                    fmt::breakdown(&v.breakdown)
                )
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
                for e in &w.events {
                    writeln!(
                        self.out,
                        "     +{:>9}  cpu{:<2} {}",
                        fmt::dur(e.t_ns),
                        e.cpu,
                        fmt::event_text(e)
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
        writeln!(
            self.out,
            "-- link: {} frames, {} CRC errors, {} resyncs, {} lost, {} unknown{agent}",
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
