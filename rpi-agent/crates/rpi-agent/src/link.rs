//! The output link: a serial port (serialport crate, 8N1, no flow control) or
//! a file; a token bucket sized from the baud rate; reopen after write errors.

use std::fs::File;
use std::io::Write;
use std::time::{Duration, Instant};

use nix::sys::termios::{self, OutputFlags, SetArg, Termios};

use crate::config::{Sink, TtyMode};
use crate::log;

const REOPEN_EVERY: Duration = Duration::from_secs(1);

/// Why the output link cannot be opened (retried every REOPEN_EVERY).
#[derive(Debug, thiserror::Error)]
pub enum LinkError {
    #[error("cannot open serial port {port}: {source} (check --port and permissions)")]
    Serial { port: String, source: serialport::Error },
    #[error("cannot set up serial port {port}: {source} (is it a tty?)")]
    Termios { port: String, source: std::io::Error },
    #[error("cannot open output {}: {source}", path.display())]
    Output {
        path: std::path::PathBuf,
        source: std::io::Error,
    },
}
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

/// Open the serial port for frames (8N1, no flow control). A port of its own
/// is made raw. A console shared with a shell keeps its line discipline as
/// found (echo, line editing, signals, CR LF on output): frames need only the
/// speed and 8N1, and the decoder undoes ONLCR (docs/protocol.md, "Sharing
/// the console"); it is not opened exclusively either.
fn open_serial(port: &str, baud: u32, mode: TtyMode) -> Result<Box<dyn serialport::SerialPort>, LinkError> {
    let shared = match mode {
        TtyMode::Shared => true,
        TtyMode::Raw => false,
        TtyMode::Auto => is_active_console(port),
    };
    let termios_err = |source: std::io::Error| LinkError::Termios {
        port: port.into(),
        source,
    };
    // The settings as found, read before serialport makes the port raw.
    let found = if shared {
        Some(read_termios(port).map_err(termios_err)?)
    } else {
        None
    };
    let p = serialport::new(port, baud)
        .data_bits(serialport::DataBits::Eight)
        .parity(serialport::Parity::None)
        .stop_bits(serialport::StopBits::One)
        .flow_control(serialport::FlowControl::None)
        .timeout(WRITE_TIMEOUT)
        .exclusive(!shared)
        .open_native()
        .map_err(|source| LinkError::Serial {
            port: port.into(),
            source,
        })?;
    if let Some(found) = found {
        use std::os::fd::AsRawFd;
        let fd = p.as_raw_fd();
        let link = termios::tcgetattr(fd).map_err(|e| termios_err(e.into()))?;
        termios::tcsetattr(fd, SetArg::TCSANOW, &shared_termios(&found, &link)).map_err(|e| termios_err(e.into()))?;
    }
    Ok(Box::new(p))
}

fn read_termios(port: &str) -> std::io::Result<Termios> {
    use std::os::unix::fs::OpenOptionsExt;
    let f = File::options()
        .read(true)
        .custom_flags(nix::libc::O_NOCTTY | nix::libc::O_NONBLOCK)
        .open(port)?;
    termios::tcgetattr(std::os::fd::AsRawFd::as_raw_fd(&f)).map_err(std::io::Error::from)
}

/// `link` (what serialport set: speed, 8N1, CLOCAL, CREAD, raw) with the
/// line discipline of `found` put back: input and local flags and control
/// characters as they were; output processing as it was, less the
/// conversions that cannot be undone on the host (ONLCR can, and is).
pub fn shared_termios(found: &Termios, link: &Termios) -> Termios {
    let mut t = link.clone();
    t.input_flags = found.input_flags;
    t.local_flags = found.local_flags;
    t.control_chars = found.control_chars;
    let mut o = found.output_flags;
    o.remove(
        OutputFlags::OLCUC
            | OutputFlags::OCRNL
            | OutputFlags::ONOCR
            | OutputFlags::ONLRET
            | OutputFlags::OFILL
            | OutputFlags::OFDEL
            | OutputFlags::TABDLY,
    );
    t.output_flags = o;
    t
}

/// Whether `port` is (a link to) a kernel console listed in
/// /sys/class/tty/console/active, or /dev/console itself.
fn is_active_console(port: &str) -> bool {
    let active = std::fs::read_to_string("/sys/class/tty/console/active").unwrap_or_default();
    let real = std::fs::canonicalize(port).unwrap_or_else(|_| port.into());
    console_listed(&real, &active)
}

fn console_listed(real: &std::path::Path, active: &str) -> bool {
    if real == std::path::Path::new("/dev/console") {
        return true;
    }
    let name = real.file_name().and_then(|n| n.to_str()).unwrap_or("");
    !name.is_empty() && active.split_whitespace().any(|c| c == name)
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

    fn open(&mut self) -> Result<Out, LinkError> {
        match &self.sink {
            Sink::Serial { port, baud, tty } => open_serial(port, *baud, *tty).map(Out::Serial),
            Sink::File { path, .. } if path.as_os_str() == "-" => Ok(Out::Stdout),
            Sink::File { path, .. } => {
                let f = if self.opened_once {
                    File::options().append(true).open(path)
                } else {
                    File::create(path)
                };
                f.map(Out::File).map_err(|source| LinkError::Output {
                    path: path.clone(),
                    source,
                })
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

#[cfg(test)]
mod tests {
    use super::*;
    use nix::sys::termios::{InputFlags, LocalFlags, SpecialCharacterIndices};
    use std::path::Path;

    #[test]
    fn consoles_are_recognised() {
        assert!(console_listed(Path::new("/dev/ttyAMA0"), "ttyAMA0\n"));
        assert!(console_listed(Path::new("/dev/ttyS0"), "tty0 ttyS0\n"));
        assert!(console_listed(Path::new("/dev/console"), ""));
        assert!(!console_listed(Path::new("/dev/ttyUSB0"), "ttyAMA0\n"));
        assert!(!console_listed(Path::new("/dev/ttyS1"), "ttyS10\n"));
        assert!(!console_listed(Path::new("/tmp/x"), ""));
    }

    #[test]
    fn shared_keeps_the_line_discipline_and_only_invertible_output() {
        let pty = nix::pty::openpty(None, None).expect("openpty");
        let mut found = termios::tcgetattr(pty.slave).expect("tcgetattr");
        found.input_flags |= InputFlags::ICRNL | InputFlags::IXON;
        found.local_flags |= LocalFlags::ICANON | LocalFlags::ECHO | LocalFlags::ISIG;
        found.output_flags |= OutputFlags::OPOST | OutputFlags::ONLCR | OutputFlags::OCRNL | OutputFlags::XTABS;
        found.control_chars[SpecialCharacterIndices::VINTR as usize] = 3;
        let mut link = found.clone();
        termios::cfmakeraw(&mut link);
        let t = shared_termios(&found, &link);
        assert_eq!(t.input_flags, found.input_flags);
        assert_eq!(t.local_flags, found.local_flags);
        assert_eq!(t.control_chars, found.control_chars);
        assert!(t.output_flags.contains(OutputFlags::OPOST | OutputFlags::ONLCR));
        assert!(!t.output_flags.intersects(OutputFlags::OCRNL | OutputFlags::TABDLY));
        assert_eq!(t.control_flags, link.control_flags);
        let _ = nix::unistd::close(pty.master);
        let _ = nix::unistd::close(pty.slave);
    }
}
