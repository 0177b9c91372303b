//! rtdecode: host side of the rt-tracer serial link (docs/protocol.md,
//! docs/rtdecode.md).
//!
//! Three layers, each usable alone:
//! - decoding: [`Decoder`] pulls items from rt-protocol's `StreamDecoder`
//!   (each frame decoded once), joins console text into lines and hands out
//!   [`Record`]s;
//! - state: [`state::State`], the stream folded into tasks with their
//!   latest stats, violations coalesced per task and metric, link counters;
//! - printers over `std::io::Write`: [`text::TextPrinter`] (the readable
//!   view) and [`json::JsonPrinter`] (JSON lines, schema in
//!   docs/rtdecode.schema.json);
//! - [`report::ReportPrinter`]: keeps the worst cases and violation frames,
//!   and at the end renders `rtdecode report`'s HTML page and SVG charts.
//!
//! Where the bytes come from (serial port, pty, file, socket) is the binary's
//! business (`src/main.rs`, `src/source.rs`).

pub mod findings;
pub mod fmt;
pub mod json;
pub mod perfetto;
pub mod prom;
pub mod report;
pub mod state;
pub mod text;

use std::io;
use std::time::SystemTime;

use rt_protocol::{Damage, Item, Message, StreamDecoder};

use state::State;

/// Longest console line kept in one piece; longer ones are cut.
pub const MAX_LINE: usize = 4096;

/// What the stream says, one thing at a time.
#[derive(Debug)]
pub enum Record<'a> {
    /// One console line without its line end; `partial`: no line end yet
    /// (the line went idle, or the input ended).
    Console {
        text: &'a str,
        partial: bool,
    },
    Message {
        seq: u32,
        msg: &'a Message,
    },
    /// A good frame of a kind this rtdecode does not know (skipped).
    Unknown {
        seq: u32,
        kind: u16,
    },
    /// The agent speaks another major version: frames are not decoded.
    Incompatible {
        major: u16,
        minor: u16,
    },
    /// Bytes that were neither text nor a good frame.
    Damaged {
        damage: Damage,
        bytes: usize,
    },
    /// Link health as of now (JSON printers print it at the end).
    Link {
        final_: bool,
    },
}

/// Shows records. `st` already includes the record (a printer of a task
/// snapshot finds it in `st.tasks`); `now` is the host time it was handled.
pub trait Printer {
    fn record(&mut self, r: &Record<'_>, st: &State, now: SystemTime) -> io::Result<()>;
    /// The source is idle: a chance to print what is due by time.
    fn tick(&mut self, _st: &State, _now: SystemTime) -> io::Result<()> {
        Ok(())
    }
    /// End of input: summaries, then flush.
    fn finish(&mut self, st: &State, now: SystemTime) -> io::Result<()>;
    fn flush(&mut self) -> io::Result<()>;
}

/// Host clock of the records (a fixed one makes output reproducible).
pub type Clock = Box<dyn FnMut() -> SystemTime + Send>;

/// Bytes in, records out to a printer, state kept.
pub struct Decoder {
    stream: Box<StreamDecoder>,
    /// The console line being assembled: text around frames joins up, as on a terminal.
    line: Vec<u8>,
    state: State,
    clock: Clock,
}

impl Default for Decoder {
    fn default() -> Self {
        Self::new()
    }
}

impl Decoder {
    pub fn new() -> Self {
        Self::with_clock(Box::new(SystemTime::now))
    }

    pub fn with_clock(clock: Clock) -> Self {
        Decoder {
            stream: Box::new(StreamDecoder::new()),
            line: Vec::new(),
            state: State::default(),
            clock,
        }
    }

    pub fn state(&self) -> &State {
        &self.state
    }

    /// Decode `bytes`, every record to `p`. Stops at the first output error;
    /// the state keeps everything decoded before it.
    pub fn feed(&mut self, bytes: &[u8], p: &mut dyn Printer) -> io::Result<()> {
        let mut rest = bytes;
        while let Some((item, stats)) = self.stream.next_with_stats(&mut rest) {
            self.state.rx = *stats;
            match item {
                Item::Console(text) => {
                    for &b in text {
                        self.line.push(b);
                        if b == b'\n' || self.line.len() >= MAX_LINE {
                            Self::console(&mut self.line, false, &self.state, &mut self.clock, p)?;
                        }
                    }
                }
                Item::Message { seq, msg } => {
                    self.state.apply(msg);
                    p.record(&Record::Message { seq, msg }, &self.state, (self.clock)())?;
                }
                Item::Unknown { seq, kind } => {
                    self.state.unknown_kinds.insert(kind);
                    p.record(&Record::Unknown { seq, kind }, &self.state, (self.clock)())?;
                }
                Item::Incompatible { major, minor } => {
                    self.state.incompatible = Some((major, minor));
                    p.record(&Record::Incompatible { major, minor }, &self.state, (self.clock)())?;
                }
                Item::Damaged { damage, bytes } => {
                    p.record(&Record::Damaged { damage, bytes }, &self.state, (self.clock)())?;
                }
            }
        }
        Ok(())
    }

    fn console(
        line: &mut Vec<u8>,
        partial: bool,
        st: &State,
        clock: &mut Clock,
        p: &mut dyn Printer,
    ) -> io::Result<()> {
        let raw = std::mem::take(line);
        let text = String::from_utf8_lossy(&raw);
        let text = text.trim_end_matches(['\n', '\r']);
        if text.is_empty() && partial {
            return Ok(());
        }
        p.record(&Record::Console { text, partial }, st, clock())
    }

    /// The source is idle: show pending console text (a prompt) and what is due.
    pub fn idle(&mut self, p: &mut dyn Printer) -> io::Result<()> {
        self.stream.idle();
        self.feed(&[], p)?;
        if !self.line.is_empty() {
            Self::console(&mut self.line, true, &self.state, &mut self.clock, p)?;
        }
        p.tick(&self.state, (self.clock)())?;
        p.flush()
    }

    /// End of input: what is pending, then the printer's summaries.
    pub fn finish(&mut self, p: &mut dyn Printer) -> io::Result<()> {
        self.stream.end();
        self.feed(&[], p)?;
        if !self.line.is_empty() {
            Self::console(&mut self.line, true, &self.state, &mut self.clock, p)?;
        }
        self.state.rx = *self.stream.stats();
        p.finish(&self.state, (self.clock)())
    }
}

/// Output options of [`decode_capture`].
#[derive(Debug, Clone, Copy, Default)]
pub struct Options {
    pub json: bool,
    /// Text view: each task's log2 histograms with the tables.
    pub hist: bool,
}

/// Decode a complete capture into `out` (text or JSON lines). The host clock
/// is fixed at the UNIX epoch, so the output is reproducible (tests, goldens).
pub fn decode_capture<W: io::Write>(bytes: &[u8], opts: Options, out: W) -> io::Result<W> {
    let clock: Clock = Box::new(|| SystemTime::UNIX_EPOCH);
    let mut dec = Decoder::with_clock(clock);
    if opts.json {
        let mut p = json::JsonPrinter::new(out);
        dec.feed(bytes, &mut p)?;
        dec.finish(&mut p)?;
        Ok(p.into_inner())
    } else {
        let mut p = text::TextPrinter::new(out, text::Pace::Stream);
        p.hist = opts.hist;
        dec.feed(bytes, &mut p)?;
        dec.finish(&mut p)?;
        Ok(p.into_inner())
    }
}
