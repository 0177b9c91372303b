//! rpi-agent: reads the rt_tracer module's records and streams them as
//! rt-protocol frames over a serial line (see docs/protocol.md).

mod config;
mod convert;
mod framer;
mod link;
mod outbox;
mod source;
mod stimulus;
mod sysinfo;
mod tracker;
mod windows;

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use clap::Parser as _;
use rt_protocol as p;
use rt_uapi::Record;

use config::{Cli, Config};
use framer::Framer;
use link::{Budget, Link};
use outbox::Outbox;
use source::{Ctl, Device, Replay, SourceStats};
use tracker::Tracker;

pub fn log(args: std::fmt::Arguments<'_>) {
    eprintln!("rpi-agent: {args}");
}

/// Why the agent stops with a failure (everything else it reports and retries).
#[derive(Debug, thiserror::Error)]
enum AgentError {
    #[error(transparent)]
    Config(#[from] config::ConfigError),
    #[error(transparent)]
    Replay(#[from] source::ReplayError),
    #[error("cannot install the {signal} handler: {source}")]
    Signal {
        signal: nix::sys::signal::Signal,
        source: nix::Error,
    },
    #[error("--cpu {cpu}: {source} (CPUs 0..{})", nix::sched::CpuSet::count())]
    CpuNumber { cpu: usize, source: nix::Error },
    #[error("cannot pin to CPU {cpu}: {source} (is it online? see /sys/devices/system/cpu/online)")]
    Pin { cpu: usize, source: nix::Error },
    #[error("poll: {0}")]
    Poll(nix::Error),
}

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

fn install_signals() -> Result<(), AgentError> {
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
    // No SA_RESTART: poll() returns EINTR and the loop sees STOP at once.
    let act = SigAction::new(SigHandler::Handler(on_signal), SaFlags::empty(), SigSet::empty());
    for s in [Signal::SIGTERM, Signal::SIGINT] {
        // SAFETY: the handler only stores to an atomic (async-signal-safe).
        unsafe { sigaction(s, &act) }.map_err(|source| AgentError::Signal { signal: s, source })?;
    }
    // A vanished reader of --output - must not kill us.
    // SAFETY: ignoring a signal installs no code.
    unsafe { nix::sys::signal::signal(Signal::SIGPIPE, SigHandler::SigIgn) }.map_err(|source| AgentError::Signal {
        signal: Signal::SIGPIPE,
        source,
    })?;
    Ok(())
}

fn set_affinity(cpu: usize) -> Result<(), AgentError> {
    let mut set = nix::sched::CpuSet::new();
    set.set(cpu).map_err(|source| AgentError::CpuNumber { cpu, source })?;
    nix::sched::sched_setaffinity(nix::unistd::Pid::from_raw(0), &set).map_err(|source| AgentError::Pin { cpu, source })
}

enum Input {
    Device(Box<Device>),
    Replay(Box<Replay>),
}

struct Agent {
    cfg: Config,
    link: Link,
    budget: Budget,
    outbox: Outbox,
    tracker: Tracker,
    windows: windows::Windows,
    input: Input,
    framer: Framer,
    started: Instant,
    payload: Box<[u8]>,
    module_present: bool,
    /// The last problem opening the device that was reported.
    open_problem: Option<String>,
    next_open: Instant,
    next_snapshot: Instant,
    next_heartbeat: Instant,
    next_hello: Instant,
    next_scan: Instant,
    next_bad_report: Option<Instant>,
    next_encode_report: Option<Instant>,
    /// Payloads the framer could not turn into a frame.
    frame_errors: u64,
    hello: p::Hello,
    stim: Option<stimulus::Handle>,
}

/// How often the main loop takes the stimulus thread's results.
const STIMULUS_DRAIN: Duration = Duration::from_millis(20);

/// Repeated problems are reported (as notices) at most this often; counters
/// in the heartbeat hold the exact numbers.
const REPORT_EVERY: Duration = Duration::from_secs(10);

impl Agent {
    fn new(cfg: Config) -> Result<Self, AgentError> {
        let now = Instant::now();
        let input = match &cfg.replay {
            Some(path) => Input::Replay(Box::new(Replay::open(path)?)),
            None => Input::Device(Box::new(Device::new(&cfg.device))),
        };
        // A replay file holds records of the mirror's UAPI version.
        let replay_uapi = if cfg.replay.is_some() {
            (rt_uapi::RTT_UAPI_MAJOR, rt_uapi::RTT_UAPI_MINOR)
        } else {
            (0, 0)
        };
        let hello = p::Hello {
            proto_major: p::PROTOCOL_MAJOR,
            proto_minor: p::PROTOCOL_MINOR,
            agent_version: p::bounded_str(env!("CARGO_PKG_VERSION")),
            kernel_release: p::bounded_str(&sysinfo::kernel_release()),
            uapi_major: replay_uapi.0,
            uapi_minor: replay_uapi.1,
            board: p::bounded_str(cfg.board.as_deref().unwrap_or(&sysinfo::board())),
            baud: cfg.sink.baud(),
            module_flags: 0,
        };
        Ok(Agent {
            link: Link::new(cfg.sink.clone()),
            budget: Budget::new(cfg.sink.budget_bps(), p::MAX_WIRE, now),
            outbox: Outbox::new(),
            tracker: Tracker::new(cfg.targets.clone()),
            windows: windows::Windows::new(cfg.windows.clone()),
            input,
            framer: Framer::new(),
            started: now,
            payload: vec![0u8; p::MAX_PAYLOAD].into_boxed_slice(),
            module_present: false,
            open_problem: None,
            next_open: now,
            next_snapshot: now + cfg.snapshot_interval,
            next_heartbeat: now + cfg.heartbeat_interval,
            next_hello: now + cfg.hello_interval,
            next_scan: now + cfg.proc_scan_interval,
            next_bad_report: None,
            next_encode_report: None,
            frame_errors: 0,
            hello,
            stim: None,
            cfg,
        })
    }

    /// Tell the user about malformed module records (counted in
    /// records_bad), at most once per REPORT_EVERY.
    fn report_bad_records(&mut self, now: Instant) {
        let bad = match &mut self.input {
            Input::Device(d) => d.parser.take_bad(),
            Input::Replay(r) => r.parser.take_bad(),
        };
        let Some(e) = bad else { return };
        if self.next_bad_report.is_some_and(|t| now < t) {
            return;
        }
        self.next_bad_report = Some(now + REPORT_EVERY);
        let msg = format!(
            "malformed record from the module: {e} ({} so far, in records_bad); do rt_tracer.ko and rpi-agent match?",
            self.source_stats().records_bad
        );
        self.notice(p::NoticeLevel::Warning, &msg);
    }

    fn source_stats(&self) -> SourceStats {
        match &self.input {
            Input::Device(d) => d.parser.stats,
            Input::Replay(r) => r.parser.stats,
        }
    }

    fn notice(&mut self, level: p::NoticeLevel, text: &str) {
        log(format_args!("{text}"));
        let msg = p::Message::Notice(p::Notice {
            level,
            text: p::bounded_str(text),
        });
        if let Err(e) = self.outbox.push_urgent(&msg) {
            // Counted by the outbox; the log line above is the report.
            log(format_args!("{e}"));
        }
    }

    /// Queue a message of the agent's own; a failure is counted by the
    /// outbox and an encoding failure reported by pump().
    fn queue(&mut self, msg: &p::Message) {
        let _ = self.outbox.push_urgent(msg);
    }

    /// A message that could not be encoded is lost: say so in an error
    /// notice (at most once per REPORT_EVERY; write_errors has the count).
    fn report_encode_error(&mut self, what: &str, now: Instant) {
        if self.next_encode_report.is_some_and(|t| now < t) {
            return;
        }
        self.next_encode_report = Some(now + REPORT_EVERY);
        let total = self.outbox.stats.encode_errors + self.frame_errors;
        // Kept under the 120 bytes of a Notice.
        let msg = format!("{what}; lost ({total} so far, in write_errors)");
        self.notice(p::NoticeLevel::Error, &msg);
    }

    fn heartbeat(&self) -> p::Message {
        let src = self.source_stats();
        let ob = self.outbox.stats;
        let ls = self.link.stats;
        p::Message::Heartbeat(p::Heartbeat {
            t_ns: sysinfo::monotonic_ns(),
            uptime_ms: self.started.elapsed().as_millis() as u64,
            frames_sent: ls.frames_sent,
            bytes_sent: ls.bytes_sent,
            snapshots_skipped: ob.snapshots_skipped,
            violations_skipped: ob.violations_skipped,
            worst_skipped: ob.worst_skipped,
            // Frames that never reached the link: the link failed or the
            // message could not be encoded (each reported in a notice).
            write_errors: ls.write_errors + ob.encode_errors + self.frame_errors,
            reopens: ls.reopens,
            records_read: src.records_read,
            records_unknown: src.records_unknown,
            records_bad: src.records_bad,
            module_state: match (&self.input, self.module_present) {
                (Input::Replay(_), _) => p::module_state::REPLAY,
                (_, true) => p::module_state::PRESENT,
                _ => p::module_state::ABSENT,
            },
            tracked: match &self.input {
                Input::Device(d) if self.module_present => d.ctl.info.nr_tracked,
                _ => 0,
            },
            budget_bps: self.cfg.sink.budget_bps().unwrap_or(0),
            other_skipped: ob.other_skipped,
        })
    }

    fn handle(outbox: &mut Outbox, tracker: &mut Tracker, dev: Option<&Ctl>, rec: &Record) {
        match rec {
            Record::Task(r) => {
                if let Some(d) = dev {
                    tracker.on_snapshot(d, r);
                }
                // Failures are counted and kept by the outbox (reported by pump()).
                let _ = outbox.push_snapshot(&convert::snapshot(r));
            }
            Record::Violation(r) => {
                let _ = outbox.push_urgent(&convert::violation(r));
            }
            Record::Worst(r) => {
                let _ = outbox.push_urgent(&convert::worst(r));
            }
            Record::Dropped(r) => {
                let _ = outbox.push_urgent(&convert::dropped(r));
            }
            Record::Window(r) => {
                let _ = outbox.push_urgent(&convert::window(r));
            }
            Record::WindowStats(r) => {
                let _ = outbox.push_snapshot(&convert::window_stats(r));
            }
            Record::Unknown(_) => {}
        }
    }

    /// Read what the device has (non-blocking).
    fn read_device(&mut self) {
        let Input::Device(dev) = &mut self.input else { return };
        let (outbox, tracker) = (&mut self.outbox, &mut self.tracker);
        let r = dev.read_available(&mut |ctl, rec| Self::handle(outbox, tracker, Some(ctl), rec));
        if let Err(e) = r {
            self.module_present = false;
            dev.ctl.close();
            let msg = format!("{} went away ({e}); waiting for it again", self.cfg.device.display());
            self.open_problem = None;
            self.notice(p::NoticeLevel::Warning, &msg);
        }
    }

    fn try_open(&mut self, now: Instant) {
        let Input::Device(dev) = &mut self.input else { return };
        if dev.ctl.is_open() || now < self.next_open {
            return;
        }
        match dev.open() {
            Ok(info) => {
                self.module_present = true;
                self.open_problem = None;
                self.hello.uapi_major = info.uapi_major;
                self.hello.uapi_minor = info.uapi_minor;
                self.hello.module_flags = info.flags;
                self.tracker.on_open(&dev.ctl);
                self.windows.on_open(&dev.ctl);
                if let Err(e) = dev.ctl.snapshot() {
                    log(format_args!(
                        "RTT_IOC_SNAPSHOT failed: {e}; the first snapshot comes with the next round"
                    ));
                }
                self.queue(&p::Message::Hello(self.hello.clone()));
                let msg = format!(
                    "{} open: UAPI {}.{}, {} tracked of {}",
                    self.cfg.device.display(),
                    info.uapi_major,
                    info.uapi_minor,
                    info.nr_tracked,
                    info.capacity
                );
                self.notice(p::NoticeLevel::Info, &msg);
                self.next_snapshot = now + self.cfg.snapshot_interval;
            }
            Err(e) => {
                // Not loaded yet: try again soon; unusable: slowly. Said once
                // per distinct problem, not at every retry.
                let (retry, level, msg) = if e.is_absent() {
                    (1, p::NoticeLevel::Warning, format!("{e}; waiting for it"))
                } else {
                    (5, p::NoticeLevel::Error, format!("{e}; retrying"))
                };
                self.next_open = now + Duration::from_secs(retry);
                if self.open_problem.as_deref() != Some(msg.as_str()) {
                    self.notice(level, &msg);
                    self.open_problem = Some(msg);
                }
            }
        }
    }

    /// Send what the budget allows. Returns when the next frame may go.
    fn pump(&mut self, now: Instant) -> Option<Instant> {
        if let Some(e) = self.outbox.take_encode_error() {
            self.report_encode_error(&e.to_string(), now);
        }
        loop {
            let n = self.outbox.peek_len()?;
            if !self.link.ready(now) {
                return self.link.next_open();
            }
            // Frame size bound: payload + envelope + CRC + COBS overhead.
            let est = n + n / 254 + 20;
            if let Some(wait) = self.budget.wait_for(est, now) {
                return Some(now + wait);
            }
            let (kind, len) = self.outbox.pop(&mut self.payload)?;
            match self.framer.encode(kind, &self.payload[..len]) {
                Ok(frame) => {
                    self.budget.spend(frame.len());
                    self.link.write_frame(frame, now);
                }
                Err(e) => {
                    self.frame_errors += 1;
                    let what = format!("{} frame ({len} B) could not be encoded: {e}", outbox::kind_name(kind));
                    self.report_encode_error(&what, now);
                }
            }
        }
    }

    fn timers(&mut self, now: Instant) {
        if now >= self.next_heartbeat {
            let hb = self.heartbeat();
            self.queue(&hb);
            self.next_heartbeat = now + self.cfg.heartbeat_interval;
        }
        if now >= self.next_hello {
            self.queue(&p::Message::Hello(self.hello.clone()));
            self.next_hello = now + self.cfg.hello_interval;
        }
        if let Input::Device(dev) = &self.input {
            let dev = &dev.ctl;
            if dev.is_open() && now >= self.next_snapshot {
                if let Err(e) = dev.snapshot() {
                    log(format_args!("RTT_IOC_SNAPSHOT failed: {e}"));
                }
                self.outbox.new_round();
                self.next_snapshot = now + self.cfg.snapshot_interval;
            }
            if dev.is_open() && now >= self.next_scan {
                self.tracker.scan(dev);
                self.next_scan = now + self.cfg.proc_scan_interval;
            }
        }
    }

    fn run(&mut self) -> Result<(), AgentError> {
        let deadline = self.cfg.duration.map(|d| self.started + d);
        self.queue(&p::Message::Hello(self.hello.clone()));
        if let Some(sc) = self.cfg.stimulus.clone() {
            // A stimulus that cannot start is the user's to fix: say so, and
            // go on streaming the rest.
            match stimulus::Handle::start(sc) {
                Ok(h) => self.stim = Some(h),
                Err(e) => self.notice(p::NoticeLevel::Error, &e.to_string()),
            }
        }
        loop {
            let now = Instant::now();
            if STOP.load(Ordering::SeqCst) || deadline.is_some_and(|d| now >= d) {
                return self.shutdown();
            }
            self.try_open(now);
            self.timers(now);
            if let Input::Replay(r) = &mut self.input {
                // Read on while the urgent queue has room (back-pressure).
                if !r.eof && self.outbox.urgent_free() > 4 * p::MAX_PAYLOAD {
                    let (outbox, tracker) = (&mut self.outbox, &mut self.tracker);
                    r.read_some(&mut |rec| Self::handle(outbox, tracker, None, rec))?;
                }
                if r.eof && self.outbox.is_empty() {
                    return self.shutdown();
                }
            }
            self.report_bad_records(now);
            self.stimulus_events();
            let next_send = self.pump(now);

            let mut wake = self.next_heartbeat.min(self.next_hello);
            if let Input::Device(d) = &self.input {
                wake = wake.min(if d.ctl.is_open() {
                    self.next_snapshot.min(self.next_scan)
                } else {
                    self.next_open
                });
            }
            if let Some(t) = next_send {
                wake = wake.min(t);
            }
            if let Some(d) = deadline {
                wake = wake.min(d);
            }
            if self.stim.is_some() {
                // Pulse results wait in the channel at most this long.
                wake = wake.min(now + STIMULUS_DRAIN);
            }
            let replay_busy =
                matches!(&self.input, Input::Replay(r) if !r.eof && self.outbox.urgent_free() > 4 * p::MAX_PAYLOAD);
            let timeout = if replay_busy {
                Duration::ZERO
            } else {
                wake.saturating_duration_since(Instant::now())
                    .min(Duration::from_secs(1))
            };
            let fd = match &self.input {
                Input::Device(d) => d.ctl.fd(),
                Input::Replay(_) => None,
            };
            // A negative fd is ignored by poll(): then it is just a sleep.
            let mut fds = [nix::poll::PollFd::new(fd.unwrap_or(-1), nix::poll::PollFlags::POLLIN)];
            let ms = timeout.as_millis().min(i32::MAX as u128) as i32;
            let ms = if ms == 0 && !timeout.is_zero() { 1 } else { ms };
            match nix::poll::poll(&mut fds, ms) {
                Ok(_) | Err(nix::errno::Errno::EINTR) => {}
                Err(e) => return Err(AgentError::Poll(e)),
            }
            let readable = fd.is_some() && fds[0].revents().is_some_and(|r| !r.is_empty());
            if readable {
                self.read_device();
            }
        }
    }

    /// Turn the stimulus thread's results into messages (never blocks).
    fn stimulus_events(&mut self) {
        let Some(h) = &self.stim else { return };
        let events: Vec<stimulus::Event> = h.rx.try_iter().collect();
        for ev in events {
            match ev {
                stimulus::Event::Started { what, readback } => {
                    let rb = if readback {
                        "readback from the demo module"
                    } else {
                        "no readback (demo module sysfs absent)"
                    };
                    self.notice(p::NoticeLevel::Info, &format!("stimulus: driving {what}, {rb}"));
                }
                stimulus::Event::Pulse { pulse, skipped } => self.queue(&convert::pulse(&pulse, skipped)),
                stimulus::Event::Summary(s) => self.queue(&convert::pulse_summary(&s, sysinfo::monotonic_ns())),
                stimulus::Event::Stopped(err) => {
                    match err {
                        Some(e) => self.notice(p::NoticeLevel::Error, &e),
                        None => self.notice(p::NoticeLevel::Info, "stimulus: done"),
                    }
                    self.stim = None;
                    return;
                }
            }
        }
    }

    /// SIGTERM/SIGINT/--duration/end of replay: final snapshot, drain, exit 0.
    fn shutdown(&mut self) -> Result<(), AgentError> {
        if let Some(mut h) = self.stim.take() {
            h.stop();
        }
        if let Input::Device(dev) = &self.input {
            if dev.ctl.is_open() && dev.ctl.snapshot().is_ok() {
                // The records are queued synchronously by the ioctl.
                self.read_device();
            }
        }
        if let Input::Device(dev) = &self.input {
            self.windows.unbind_all(&dev.ctl);
        }
        let hb = self.heartbeat();
        self.queue(&hb);
        let limit = Instant::now() + Duration::from_secs(5);
        while !self.outbox.is_empty() {
            let now = Instant::now();
            if now >= limit {
                log(format_args!("could not flush everything within 5s"));
                break;
            }
            match self.pump(now) {
                Some(t) => std::thread::sleep(t.saturating_duration_since(now).min(Duration::from_millis(100))),
                None => break,
            }
        }
        self.link.flush();
        log(format_args!(
            "stopped: {} frames, {} bytes sent",
            self.link.stats.frames_sent, self.link.stats.bytes_sent
        ));
        Ok(())
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = (|| {
        let cfg = Config::load(&cli)?;
        install_signals()?;
        if let Some(cpu) = cfg.cpu {
            set_affinity(cpu)?;
        }
        if cfg.targets.is_empty() && cfg.replay.is_none() {
            log(format_args!(
                "no targets configured; streaming whatever the module already tracks"
            ));
        }
        Agent::new(cfg)?.run()
    })();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            log(format_args!("error: {e}"));
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rt_uapi as u;
    use zerocopy::IntoBytes;

    /// A violation, then a worst case with a full trace (its frame is about
    /// 1.5 KB), then a dropped-records count.
    fn records() -> Vec<u8> {
        let mut v = u::RttRecViolation::default();
        v.hdr.type_ = u::RTT_REC_VIOLATION;
        v.hdr.size = core::mem::size_of::<u::RttRecViolation>() as u16;
        v.task.pid = 1234;
        v.value_ns = 80_000;
        v.bound_ns = 50_000;
        let mut w = u::RttRecWorst::default();
        w.hdr.type_ = u::RTT_REC_WORST;
        w.hdr.size = core::mem::size_of::<u::RttRecWorst>() as u16;
        w.task.pid = 1234;
        w.nr_events = u::RTT_TRACE_EVENTS as u32;
        for (i, e) in w.events.iter_mut().enumerate() {
            e.t_ns = 1_000_000 + i as u64;
            e.type_ = 2;
            e.comm = *b"a_long_comm_15c\0";
            e.other_comm = *b"another_comm_15\0";
        }
        let mut d = u::RttRecDropped::default();
        d.hdr.type_ = u::RTT_REC_DROPPED;
        d.hdr.size = core::mem::size_of::<u::RttRecDropped>() as u16;
        d.violations = 3;
        let mut out = v.as_bytes().to_vec();
        out.extend_from_slice(w.as_bytes());
        out.extend_from_slice(d.as_bytes());
        out
    }

    /// An agent replaying `records()` into a file, adjusted by `setup`;
    /// returns every message it wrote.
    fn replay(name: &str, setup: impl FnOnce(&mut Agent)) -> Vec<p::Message> {
        let dir = std::env::temp_dir().join(format!("rpi-agent-{name}-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let (input, output) = (dir.join("records.bin"), dir.join("frames.bin"));
        std::fs::write(&input, records()).unwrap();
        let cli = Cli::parse_from([
            "rpi-agent".as_ref(),
            "--no-config".as_ref(),
            "--replay".as_ref(),
            input.as_os_str(),
            "--output".as_ref(),
            output.as_os_str(),
        ]);
        let mut agent = Agent::new(Config::from_toml(&cli, "").unwrap()).unwrap();
        setup(&mut agent);
        agent.run().unwrap();
        let bytes = std::fs::read(&output).unwrap();
        let _ = std::fs::remove_dir_all(&dir);
        let mut dec = Box::new(p::StreamDecoder::new());
        let mut msgs = Vec::new();
        dec.feed(&bytes, &mut |i| {
            if let p::Item::Message { msg, .. } = i {
                msgs.push(msg.clone())
            }
        });
        assert_eq!(dec.stats().crc_errors, 0);
        msgs
    }

    fn errors(msgs: &[p::Message]) -> Vec<String> {
        msgs.iter()
            .filter_map(|m| match m {
                p::Message::Notice(n) if n.level == p::NoticeLevel::Error => Some(n.text.to_string()),
                _ => None,
            })
            .collect()
    }

    fn last_heartbeat(msgs: &[p::Message]) -> p::Heartbeat {
        msgs.iter()
            .rev()
            .find_map(|m| match m {
                p::Message::Heartbeat(h) => Some(h.clone()),
                _ => None,
            })
            .expect("a heartbeat")
    }

    #[test]
    fn everything_replayed_arrives() {
        let msgs = replay("ok", |_| {});
        let kinds: Vec<u16> = msgs.iter().map(|m| m.kind()).collect();
        for k in [
            p::kind::HELLO,
            p::kind::VIOLATION,
            p::kind::WORST,
            p::kind::DROPPED,
            p::kind::HEARTBEAT,
        ] {
            assert!(kinds.contains(&k), "kind {k} missing: {kinds:?}");
        }
        assert_eq!(errors(&msgs), Vec::<String>::new());
        assert_eq!(last_heartbeat(&msgs).write_errors, 0);
    }

    /// A frame that cannot be encoded (here: larger than the wire buffer)
    /// is counted in the heartbeat and reported in an error notice; the
    /// frames around it still go out.
    #[test]
    fn a_frame_that_fails_to_encode_is_counted_and_reported() {
        let msgs = replay("frame", |a| a.framer = Framer::with_wire_len(600));
        let kinds: Vec<u16> = msgs.iter().map(|m| m.kind()).collect();
        assert!(!kinds.contains(&p::kind::WORST), "{kinds:?}");
        assert!(kinds.contains(&p::kind::VIOLATION), "{kinds:?}");
        assert!(kinds.contains(&p::kind::DROPPED), "{kinds:?}");
        let errs = errors(&msgs);
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(
            errs[0].contains("worst") && errs[0].contains("could not be encoded"),
            "{errs:?}"
        );
        assert_eq!(last_heartbeat(&msgs).write_errors, 1);
    }

    /// The same when the message cannot even be queued: its payload does not
    /// fit the outbox's encoding buffer.
    #[test]
    fn a_payload_that_fails_to_encode_is_counted_and_reported() {
        let msgs = replay("payload", |a| a.outbox = Outbox::with_payload_limit(600));
        let kinds: Vec<u16> = msgs.iter().map(|m| m.kind()).collect();
        assert!(!kinds.contains(&p::kind::WORST), "{kinds:?}");
        assert!(kinds.contains(&p::kind::DROPPED), "{kinds:?}");
        let errs = errors(&msgs);
        assert_eq!(errs.len(), 1, "{errs:?}");
        assert!(
            errs[0].contains("worst") && errs[0].contains("could not be encoded"),
            "{errs:?}"
        );
        let hb = last_heartbeat(&msgs);
        assert_eq!(hb.write_errors, 1);
        // Not a queue overflow: the skipped counters mean that.
        assert_eq!(hb.worst_skipped, 0);
    }
}
