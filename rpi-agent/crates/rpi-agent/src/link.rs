//! The output link: a serial port (serialport crate, 8N1, no flow control) or
//! a file; a token bucket sized from the baud rate; reopen after write errors.

use std::fs::File;
use std::io::Write;
use std::time::{Duration, Instant};

use crate::config::Sink;
use crate::log;

const REOPEN_EVERY: Duration = Duration::from_secs(1);
const WRITE_TIMEOUT: Duration = Duration::from_secs(2);

enum Out {
    Closed,
    Serial(Box<dyn serialport::SerialPort>),
    File(File),
    Stdout,
}

#[derive(Debug, Default, Clone, Copy)]
pub struct LinkStats {
    pub frames_sent: u64,
    pub bytes_sent: u64,
    pub write_errors: u64,
    pub reopens: u64,
}

/// Bytes-per-second budget with a burst allowance of one large frame.
pub struct Budget {
    rate: Option<f64>,
    cap: f64,
    tokens: f64,
    last: Instant,
}

impl Budget {
    pub fn new(bytes_per_s: Option<u32>, burst: usize, now: Instant) -> Self {
        let cap = bytes_per_s.map(|r| (r as f64 / 4.0).max(burst as f64)).unwrap_or(0.0);
        Budget {
            rate: bytes_per_s.map(|r| r.max(1) as f64),
            cap,
            tokens: cap,
            last: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        if let Some(r) = self.rate {
            let dt = now.saturating_duration_since(self.last).as_secs_f64();
            self.tokens = (self.tokens + dt * r).min(self.cap);
        }
        self.last = now;
    }

    /// None if `n` bytes may go now, else how long to wait.
    pub fn wait_for(&mut self, n: usize, now: Instant) -> Option<Duration> {
        let r = self.rate?;
        self.refill(now);
        let n = (n as f64).min(self.cap);
        if self.tokens >= n {
            None
        } else {
            Some(Duration::from_secs_f64((n - self.tokens) / r).max(Duration::from_millis(1)))
        }
    }

    pub fn spend(&mut self, n: usize) {
        if self.rate.is_some() {
            self.tokens -= n as f64;
        }
    }
}

pub struct Link {
    sink: Sink,
    out: Out,
    next_open: Instant,
    opened_once: bool,
    logged_fail: bool,
    pub stats: LinkStats,
}

impl Link {
    pub fn new(sink: Sink) -> Self {
        Link {
            sink,
            out: Out::Closed,
            next_open: Instant::now(),
            opened_once: false,
            logged_fail: false,
            stats: LinkStats::default(),
        }
    }

    fn open(&mut self) -> Result<Out, String> {
        match &self.sink {
            Sink::Serial { port, baud } => serialport::new(port.as_str(), *baud)
                .data_bits(serialport::DataBits::Eight)
                .parity(serialport::Parity::None)
                .stop_bits(serialport::StopBits::One)
                .flow_control(serialport::FlowControl::None)
                .timeout(WRITE_TIMEOUT)
                .open()
                .map(Out::Serial)
                .map_err(|e| format!("cannot open serial port {port}: {e} (check --port and permissions)")),
            Sink::File { path, .. } if path.as_os_str() == "-" => Ok(Out::Stdout),
            Sink::File { path, .. } => {
                let f = if self.opened_once {
                    File::options().append(true).open(path)
                } else {
                    File::create(path)
                };
                f.map(Out::File)
                    .map_err(|e| format!("cannot open output {}: {e}", path.display()))
            }
        }
    }

    /// True if a frame can be written now (opens or reopens when due).
    pub fn ready(&mut self, now: Instant) -> bool {
        if !matches!(self.out, Out::Closed) {
            return true;
        }
        if now < self.next_open {
            return false;
        }
        match self.open() {
            Ok(o) => {
                if self.opened_once {
                    self.stats.reopens += 1;
                    log(format_args!("output link reopened"));
                }
                self.opened_once = true;
                self.logged_fail = false;
                self.out = o;
                true
            }
            Err(e) => {
                if !self.logged_fail {
                    log(format_args!("{e}; retrying every {}s", REOPEN_EVERY.as_secs()));
                    self.logged_fail = true;
                }
                self.next_open = now + REOPEN_EVERY;
                false
            }
        }
    }

    /// When the link, if closed, will be tried again.
    pub fn next_open(&self) -> Option<Instant> {
        matches!(self.out, Out::Closed).then_some(self.next_open)
    }

    /// Write one whole frame. On error the link is closed and reopened later.
    pub fn write_frame(&mut self, bytes: &[u8], now: Instant) -> bool {
        let r = match &mut self.out {
            Out::Closed => return false,
            Out::Serial(p) => p.write_all(bytes),
            Out::File(f) => f.write_all(bytes),
            Out::Stdout => {
                let mut o = std::io::stdout().lock();
                o.write_all(bytes).and_then(|_| o.flush())
            }
        };
        match r {
            Ok(()) => {
                self.stats.frames_sent += 1;
                self.stats.bytes_sent += bytes.len() as u64;
                true
            }
            Err(e) => {
                self.stats.write_errors += 1;
                log(format_args!("write to the output link failed: {e}; reopening"));
                self.out = Out::Closed;
                self.next_open = now + REOPEN_EVERY;
                false
            }
        }
    }

    pub fn flush(&mut self) {
        match &mut self.out {
            Out::Serial(p) => {
                let _ = p.flush();
            }
            Out::File(f) => {
                let _ = f.flush();
                let _ = f.sync_data();
            }
            Out::Stdout => {
                let _ = std::io::stdout().flush();
            }
            Out::Closed => {}
        }
    }
}
