//! `rtdecode serve --listen ADDR [NAME=]SOURCE...`: one decoder thread per
//! source folds its stream into a shared [`Device`]; an HTTP server renders
//! `/metrics` from them (`rtdecode::prom`). Live sources (tcp:, unix:,
//! serial devices, FIFOs) are reopened with a backoff when their link drops;
//! a capture file is read once and its link stays down after its end.

use std::io::{self, Read};
use std::net::{TcpStream, ToSocketAddrs};
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::UnixStream;
use std::sync::atomic::Ordering;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use rtdecode::prom::{self, Device, Format, SharedDevice, Sink};
use rtdecode::Decoder;
use thiserror::Error;

use crate::source::{self, SourceError};

/// First wait before reconnecting; doubled after each failed attempt.
const BACKOFF_START: Duration = Duration::from_millis(250);
/// How long one TCP connection attempt may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Socket reads return this often, to notice a stale link.
const READ_TICK: Duration = Duration::from_millis(500);

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// Where to serve /metrics (HOST:PORT; port 0 picks a free one, printed on stderr).
    #[arg(long, value_name = "ADDR", default_value = "127.0.0.1:9464")]
    listen: String,
    /// Serial speed of serial-device sources.
    #[arg(long, default_value_t = 115_200)]
    baud: u32,
    /// Longest wait between two reconnection attempts of a live source.
    #[arg(long, value_name = "SECS", default_value_t = 10.0)]
    max_backoff: f64,
    /// Close and reopen a tcp: or unix: source that sent no byte for this
    /// long (a peer that vanished without closing); 0: never. The agent
    /// sends a heartbeat every 5 s by default.
    #[arg(long, value_name = "SECS", default_value_t = 0.0)]
    stale: f64,
    /// Stop after this many seconds (also Ctrl-C, SIGTERM).
    #[arg(long, value_name = "SECS")]
    duration: Option<f64>,
    /// The sources, each a serial device, a capture file, `-`, unix:PATH or
    /// tcp:HOST:PORT, optionally named NAME=SOURCE (the `device` label;
    /// default: the source as given).
    #[arg(required = true, value_name = "[NAME=]SOURCE")]
    sources: Vec<String>,
}

#[derive(Debug, Error)]
pub enum ServeError {
    #[error(
        "cannot serve on {addr}: {reason} (give a free HOST:PORT to --listen, e.g. 127.0.0.1:9464, or port 0 for any)"
    )]
    Listen { addr: String, reason: String },
    #[error("two sources are named {0:?}: give each a NAME=SOURCE of its own")]
    DuplicateName(String),
    #[error("`-` (stdin) can be only one of the sources")]
    StdinTwice,
    #[error(transparent)]
    Source(#[from] SourceError),
    #[error("--max-backoff and --stale take seconds, not {0}")]
    BadSeconds(f64),
}

/// How a source is (re)opened.
#[derive(Debug, Clone)]
enum Kind {
    Tcp(String),
    Unix(String),
    /// Read once: a capture file, or stdin.
    Once(String),
    /// A serial device or FIFO, reopened after it ends.
    Device(String),
}

impl Kind {
    fn of(spec: &str) -> Result<Kind, SourceError> {
        if let Some(a) = spec.strip_prefix("tcp:") {
            return Ok(Kind::Tcp(a.into()));
        }
        if let Some(p) = spec.strip_prefix("unix:") {
            return Ok(Kind::Unix(p.into()));
        }
        if spec == "-" {
            return Ok(Kind::Once(spec.into()));
        }
        match std::fs::metadata(spec) {
            Ok(m) if m.file_type().is_file() => Ok(Kind::Once(spec.into())),
            Ok(m) if m.file_type().is_char_device() || m.file_type().is_fifo() || m.file_type().is_socket() => {
                Ok(Kind::Device(spec.into()))
            }
            Ok(_) => Err(SourceError::Open {
                path: spec.into(),
                source: io::Error::other("not a file, device or FIFO"),
            }),
            // A serial adapter that is not plugged in yet.
            Err(_) if spec.starts_with("/dev/") => Ok(Kind::Device(spec.into())),
            Err(source) => Err(SourceError::Open {
                path: spec.into(),
                source,
            }),
        }
    }
}

/// `NAME=SOURCE` when what precedes the first `=` is a name (letters,
/// digits, `_`, `-`, `.`), else the source as given names itself.
fn split_name(arg: &str) -> (&str, &str) {
    if let Some((name, spec)) = arg.split_once('=') {
        let is_name = !name.is_empty()
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'));
        if is_name && !spec.is_empty() {
            return (name, spec);
        }
    }
    (arg, arg)
}

fn secs(s: f64) -> Result<Duration, ServeError> {
    Duration::try_from_secs_f64(s).map_err(|_| ServeError::BadSeconds(s))
}

fn stopped() -> bool {
    crate::STOP.load(Ordering::SeqCst)
}

pub fn run(a: &ServeArgs) -> Result<(), ServeError> {
    let max_backoff = secs(a.max_backoff)?.max(BACKOFF_START);
    let stale = secs(a.stale)?;
    let mut devices: Vec<(SharedDevice, Kind)> = Vec::new();
    for arg in &a.sources {
        let (name, spec) = split_name(arg);
        if devices.iter().any(|(d, _)| prom::lock(d).name == name) {
            return Err(ServeError::DuplicateName(name.into()));
        }
        let kind = Kind::of(spec)?;
        if spec == "-" && devices.iter().any(|(d, _)| prom::lock(d).source == "-") {
            return Err(ServeError::StdinTwice);
        }
        devices.push((Arc::new(Mutex::new(Device::new(name, spec))), kind));
    }
    let server = tiny_http::Server::http(&a.listen).map_err(|e| ServeError::Listen {
        addr: a.listen.clone(),
        reason: e.to_string(),
    })?;
    crate::install_signals();
    let shown = server
        .server_addr()
        .to_ip()
        .map_or_else(|| a.listen.clone(), |s| s.to_string());
    eprintln!(
        "rtdecode serve: http://{shown}/metrics, {} source(s): {}",
        devices.len(),
        devices
            .iter()
            .map(|(d, _)| prom::lock(d).name.clone())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let conn = Conn {
        baud: a.baud,
        max_backoff,
        stale,
    };
    for (dev, kind) in &devices {
        let (dev, kind) = (dev.clone(), kind.clone());
        std::thread::spawn(move || conn.source_loop(&dev, &kind));
    }
    let shared: Vec<SharedDevice> = devices.into_iter().map(|(d, _)| d).collect();
    let deadline = a.duration.map(|s| Instant::now() + Duration::from_secs_f64(s.max(0.0)));
    loop {
        if stopped() || deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        match server.recv_timeout(Duration::from_millis(200)) {
            Ok(Some(req)) => respond(req, &shared),
            Ok(None) => {}
            Err(e) => eprintln!("rtdecode serve: accepting a request: {e}"),
        }
    }
    Ok(())
}

fn respond(req: tiny_http::Request, devices: &[SharedDevice]) {
    use tiny_http::{Header, Method, Response};
    let header = |k: &str, v: &str| Header::from_bytes(k.as_bytes(), v.as_bytes()).ok();
    let path = req.url().split('?').next().unwrap_or("").to_string();
    if !matches!(req.method(), Method::Get | Method::Head) {
        let _ = req.respond(Response::from_string("only GET and HEAD\n").with_status_code(405));
        return;
    }
    let r = match path.as_str() {
        "/metrics" => {
            let accept = req
                .headers()
                .iter()
                .find(|h| h.field.equiv("Accept"))
                .map(|h| h.value.as_str().to_string());
            let fmt = Format::negotiate(accept.as_deref());
            let mut r = Response::from_string(prom::render(devices, fmt));
            if let Some(h) = header("Content-Type", fmt.content_type()) {
                r.add_header(h);
            }
            r
        }
        "/" => {
            let mut r = Response::from_string(
                "<html><body><h1>rtdecode serve</h1><p><a href=\"/metrics\">/metrics</a></p></body></html>\n",
            );
            if let Some(h) = header("Content-Type", "text/html; charset=utf-8") {
                r.add_header(h);
            }
            r
        }
        _ => Response::from_string("not found: try /metrics\n").with_status_code(404),
    };
    let _ = req.respond(r);
}

#[derive(Debug, Clone, Copy)]
struct Conn {
    baud: u32,
    max_backoff: Duration,
    stale: Duration,
}

/// A reader and whether it returns every READ_TICK (a socket with a timeout).
type Opened = (Box<dyn Read + Send>, bool);

impl Conn {
    fn open(&self, kind: &Kind) -> Result<Opened, SourceError> {
        match kind {
            Kind::Tcp(addr) => {
                let err = |source| SourceError::Tcp {
                    addr: addr.clone(),
                    source,
                };
                let mut last = io::Error::new(io::ErrorKind::NotFound, "the name resolves to no address");
                for sa in addr.to_socket_addrs().map_err(err)? {
                    match TcpStream::connect_timeout(&sa, CONNECT_TIMEOUT) {
                        Ok(s) => {
                            s.set_read_timeout(Some(READ_TICK)).map_err(err)?;
                            return Ok((Box::new(s), true));
                        }
                        Err(e) => last = e,
                    }
                }
                Err(err(last))
            }
            Kind::Unix(path) => {
                let err = |source| SourceError::Unix {
                    path: path.clone(),
                    source,
                };
                let s = UnixStream::connect(path).map_err(err)?;
                s.set_read_timeout(Some(READ_TICK)).map_err(err)?;
                Ok((Box::new(s), true))
            }
            Kind::Once(spec) | Kind::Device(spec) => Ok((source::open(spec, self.baud)?.reader, false)),
        }
    }

    /// Open, read to the end, reopen after a backoff; a capture once.
    fn source_loop(self, dev: &SharedDevice, kind: &Kind) {
        let name = prom::lock(dev).name.clone();
        let once = matches!(kind, Kind::Once(_));
        let mut backoff = BACKOFF_START;
        let mut failing = false;
        while !stopped() {
            match self.open(kind) {
                Ok((reader, ticks)) => {
                    prom::lock(dev).connected();
                    eprintln!("rtdecode serve: {name}: link up");
                    failing = false;
                    let (got, why) = self.read_all(reader, ticks, dev);
                    prom::lock(dev).disconnected();
                    if once {
                        eprintln!("rtdecode serve: {name}: {why}; its values stay (link_up 0)");
                        return;
                    }
                    eprintln!("rtdecode serve: {name}: link down ({why}); reconnecting, the values stay meanwhile");
                    if got {
                        backoff = BACKOFF_START;
                    }
                }
                Err(e) => {
                    if once {
                        eprintln!("rtdecode serve: {name}: {e}");
                        return;
                    }
                    if !failing {
                        eprintln!(
                            "rtdecode serve: {name}: {e}; retrying (at most every {:.1} s)",
                            self.max_backoff.as_secs_f64()
                        );
                        failing = true;
                    }
                }
            }
            std::thread::sleep(backoff);
            backoff = (backoff * 2).min(self.max_backoff);
        }
    }

    /// Feed one connection to the device until it ends: whether any byte
    /// came, and why it ended.
    fn read_all(&self, mut reader: Box<dyn Read + Send>, ticks: bool, dev: &SharedDevice) -> (bool, String) {
        let mut dec = Decoder::new();
        let mut sink = Sink::new(dev.clone());
        let mut buf = vec![0u8; 16 * 1024];
        let mut got = false;
        let mut last = Instant::now();
        let why = loop {
            match reader.read(&mut buf) {
                Ok(0) => break "end of stream".to_string(),
                Ok(n) => {
                    got = true;
                    last = Instant::now();
                    // The sink does not fail: it only updates the device.
                    let _ = dec.feed(&buf[..n], &mut sink);
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) if ticks && matches!(e.kind(), io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut) => {
                    if !self.stale.is_zero() && last.elapsed() >= self.stale {
                        break format!("nothing received for {:.1} s (--stale)", self.stale.as_secs_f64());
                    }
                }
                Err(e) => break format!("read error: {e}"),
            }
        };
        let _ = dec.finish(&mut sink);
        (got, why)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_come_from_name_equals_source_or_the_source_itself() {
        assert_eq!(split_name("pi4=tcp:10.0.0.2:5000"), ("pi4", "tcp:10.0.0.2:5000"));
        assert_eq!(split_name("cm4.lab-1=/dev/ttyUSB0"), ("cm4.lab-1", "/dev/ttyUSB0"));
        assert_eq!(
            split_name("tcp:127.0.0.1:5000"),
            ("tcp:127.0.0.1:5000", "tcp:127.0.0.1:5000")
        );
        // A path with an `=` is not a name.
        assert_eq!(split_name("./a=b.bin"), ("./a=b.bin", "./a=b.bin"));
        assert_eq!(split_name("=x"), ("=x", "=x"));
        assert_eq!(split_name("pi="), ("pi=", "pi="));
    }

    #[test]
    fn kinds() {
        assert!(matches!(Kind::of("tcp:h:1"), Ok(Kind::Tcp(a)) if a == "h:1"));
        assert!(matches!(Kind::of("unix:/x"), Ok(Kind::Unix(p)) if p == "/x"));
        assert!(matches!(Kind::of("-"), Ok(Kind::Once(_))));
        assert!(matches!(Kind::of("/dev/ttyUSB-not-plugged"), Ok(Kind::Device(_))));
        assert!(matches!(Kind::of("/dev/null"), Ok(Kind::Device(_))));
        assert!(matches!(Kind::of("no-such-capture.bin"), Err(SourceError::Open { .. })));
    }
}
