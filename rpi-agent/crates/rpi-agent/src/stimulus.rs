//! GPIO stimulus (issue 12): the agent drives a GPIO line with pulses at a
//! fixed rate, timestamps each rising edge and reads back from the
//! `irq_button_demo` module when its hard IRQ, its thread and its handler ran.
//!
//! Runs in its own thread at the agent's normal priority (SCHED_OTHER):
//! pulses are paced on absolute CLOCK_MONOTONIC deadlines (no drift), and
//! results go to the main loop over a bounded channel that is never waited
//! on; when the main loop is behind, pulses are folded into a summary
//! instead.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::sync::Arc;

/// Default demo module sysfs directory (readback).
pub const DEFAULT_DEMO: &str = "/sys/kernel/irq_button_demo";
/// Highest rate accepted: above it the readback and a SCHED_OTHER thread
/// cannot keep up anyway.
pub const MAX_RATE_HZ: f64 = 10_000.0;
/// A pulse whose rising edge is later than its deadline by more than this is
/// counted late (a SCHED_OTHER thread on a loaded system wakes ~100 us late).
pub const LATE_TOLERANCE_NS: u64 = 1_000_000;
/// Results the channel holds before the thread summarises instead.
pub const CHANNEL_DEPTH: usize = 256;
/// Periods shorter than this (rates above 50 Hz) are reported as one summary
/// per SUMMARY_INTERVAL_NS: a pulse frame is ~40 bytes, and 50 of them a
/// second already take a sixth of a 115200-baud link's budget.
pub const PER_PULSE_MIN_PERIOD_NS: u64 = 20_000_000;
pub const SUMMARY_INTERVAL_NS: u64 = 1_000_000_000;

/// How the line is driven.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// GPIO character device (v2 uAPI), any Linux board and the emulated appliance.
    Cdev,
    /// Raspberry Pi GPIO registers through rpi-pal (`rpi` cargo feature).
    Rpi,
}

impl Backend {
    pub fn parse(s: &str) -> Result<Backend, StimulusError> {
        match s.trim() {
            "cdev" => Ok(Backend::Cdev),
            // "rppal": the name of the API rpi-pal keeps, as the design says it.
            "rpi" | "rppal" => Ok(Backend::Rpi),
            other => Err(StimulusError::Backend(other.into())),
        }
    }
}

/// The Raspberry Pi's default stimulus pin: the demo module's IRQ line.
pub const RPI_DEFAULT_PIN: u8 = 17;

/// The 40-pin header pin of a BCM GPIO number (None: not on the header).
pub fn header_pin(bcm: u8) -> Option<u8> {
    // Index: BCM number 0..=27.
    const PINS: [u8; 28] = [
        27, 28, 3, 5, 7, 29, 31, 26, 24, 21, 19, 23, 32, 33, 8, 10, 36, 11, 12, 35, 38, 40, 15, 16, 18, 22, 37, 13,
    ];
    PINS.get(usize::from(bcm)).copied()
}

/// The BCM GPIO number the `rpi` backend drives for `line` (`17`, `GPIO17`).
pub fn rpi_pin(line: &LineSel) -> Result<u8, StimulusError> {
    let n = match line {
        LineSel::Offset(n) => Some(*n),
        LineSel::Name(name) => name
            .strip_prefix("GPIO")
            .or_else(|| name.strip_prefix("gpio"))
            .and_then(|d| d.parse::<u32>().ok()),
    };
    let text = match line {
        LineSel::Offset(n) => n.to_string(),
        LineSel::Name(name) => name.clone(),
    };
    let n = n.ok_or_else(|| StimulusError::RpiLine(text.clone()))?;
    let bcm = u8::try_from(n)
        .ok()
        .filter(|b| header_pin(*b).is_some())
        .ok_or(StimulusError::RpiLine(text))?;
    // The console UART the agent streams on (config.txt, cmdline.txt).
    if bcm == 14 || bcm == 15 {
        return Err(StimulusError::RpiConsolePin(bcm));
    }
    Ok(bcm)
}

/// The line, as configured: an offset on the chip or a line name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LineSel {
    Offset(u32),
    Name(String),
}

impl LineSel {
    pub fn parse(s: &str) -> LineSel {
        match s.trim().parse::<u32>() {
            Ok(n) => LineSel::Offset(n),
            Err(_) => LineSel::Name(s.trim().to_string()),
        }
    }

    /// The offset of this line among `names` (the chip's line names, by offset).
    pub fn resolve(&self, chip: &str, names: &[String]) -> Result<u32, StimulusError> {
        match self {
            LineSel::Offset(n) if (*n as usize) < names.len() => Ok(*n),
            LineSel::Offset(n) => Err(StimulusError::LineOffset {
                chip: chip.into(),
                offset: *n,
                lines: names.len(),
            }),
            LineSel::Name(name) => {
                names
                    .iter()
                    .position(|n| n == name)
                    .map(|i| i as u32)
                    .ok_or_else(|| StimulusError::LineName {
                        chip: chip.into(),
                        name: name.clone(),
                        examples: names.iter().take(4).cloned().collect::<Vec<_>>().join(", "),
                    })
            }
        }
    }
}

/// Stimulus configuration, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct StimulusConfig {
    pub backend: Backend,
    /// Chip label (e.g. `gpio-loopback`) or path (`/dev/gpiochip0`); cdev only.
    pub chip: String,
    pub line: LineSel,
    pub period_ns: u64,
    /// Pulses to send; 0: until the agent stops.
    pub count: u64,
    pub width_ns: u64,
    /// Demo module sysfs directory for readback.
    pub demo: PathBuf,
}

/// What is wrong with the stimulus, said so that it can be fixed.
#[derive(Debug, thiserror::Error)]
pub enum StimulusError {
    #[error("stimulus: unknown backend `{0}` (use \"cdev\", or \"rpi\" on a Raspberry Pi)")]
    Backend(String),
    #[error("stimulus: rate must be > 0 and <= {max} Hz, got `{0}` (e.g. rate = 100)", max = MAX_RATE_HZ)]
    Rate(String),
    #[error("stimulus: period must be >= 100us, got {0} ns (e.g. period = \"10ms\")")]
    Period(u64),
    #[error("stimulus: give rate or period, not both")]
    RateAndPeriod,
    #[error("stimulus: needs a line (e.g. line = \"GPIO16\" or line = 16)")]
    NoLine,
    #[error("stimulus: pulse width {width_ns} ns must be > 0 and shorter than the period {period_ns} ns")]
    Width { width_ns: u64, period_ns: u64 },
    #[error("stimulus: no GPIO chip `{chip}` (give a label from /sys/bus/gpio/devices/*/label or a /dev/gpiochipN path): {detail}")]
    Chip { chip: String, detail: String },
    #[error("stimulus: chip `{chip}` has no line named `{name}` (its lines are named e.g. {examples}); use a name or an offset")]
    LineName {
        chip: String,
        name: String,
        examples: String,
    },
    #[error("stimulus: chip `{chip}` has {lines} lines, no offset {offset}")]
    LineOffset { chip: String, offset: u32, lines: usize },
    #[error("stimulus: cannot drive {what}: {detail} (is the line in use? see gpioinfo)")]
    Request { what: String, detail: String },
    #[cfg(not(feature = "rpi"))]
    #[error(
        "stimulus: this rpi-agent has no \"rpi\" backend (built without cargo feature `rpi`): use backend = \"cdev\""
    )]
    NoRpiFeature,
    #[error("stimulus: backend \"rpi\" takes a BCM GPIO number on the header, 0-27 (e.g. line = 17 or \"GPIO17\"), got `{0}`")]
    RpiLine(String),
    #[error("stimulus: GPIO{0} (header pin {pin}) carries the console UART the agent streams on: use another pin, e.g. 17", pin = header_pin(*.0).unwrap_or(0))]
    RpiConsolePin(u8),
    /// Not a Raspberry Pi (rpi-pal: `Error::UnknownModel`).
    #[cfg(feature = "rpi")]
    #[error("stimulus: backend \"rpi\" needs a Raspberry Pi (rpi-pal: {0}); use backend = \"cdev\" here")]
    NotAPi(String),
    #[cfg(feature = "rpi")]
    #[error("stimulus: backend \"rpi\": permission denied on {0}; run rpi-agent as root")]
    RpiPermission(String),
    #[cfg(feature = "rpi")]
    #[error(
        "stimulus: backend \"rpi\" cannot open the Pi's GPIO: {0} (is /dev/gpiomem there? else try backend = \"cdev\")"
    )]
    RpiOpen(String),
    #[error("stimulus: cannot set the line: {0}")]
    Set(String),
}

/// Parse a rate in Hz (`100`, `2.5`) into a period in ns.
pub fn rate_to_period_ns(text: &str) -> Result<u64, StimulusError> {
    let hz: f64 = text.trim().parse().map_err(|_| StimulusError::Rate(text.into()))?;
    if !(hz > 0.0 && hz <= MAX_RATE_HZ) {
        return Err(StimulusError::Rate(text.into()));
    }
    Ok((1e9 / hz).round() as u64)
}

impl StimulusConfig {
    /// Check what belongs together; the chip and line are checked on open.
    pub fn validate(self) -> Result<StimulusConfig, StimulusError> {
        if self.backend == Backend::Rpi {
            rpi_pin(&self.line)?;
        }
        if self.period_ns < 100_000 {
            return Err(StimulusError::Period(self.period_ns));
        }
        if self.width_ns == 0 || self.width_ns >= self.period_ns {
            return Err(StimulusError::Width {
                width_ns: self.width_ns,
                period_ns: self.period_ns,
            });
        }
        Ok(self)
    }
}

/// A GPIO output the stimulus drives.
pub trait Stimulus: Send {
    /// Drive the line high (true) or low.
    fn set(&mut self, high: bool) -> Result<(), StimulusError>;
    /// What is driven, for messages (`gpio-loopback GPIO16`).
    fn describe(&self) -> String;
}

/// GPIO character device backend (`gpiocdev`, uAPI v2).
pub struct Cdev {
    req: gpiocdev::Request,
    offset: u32,
    what: String,
}

/// `/dev/gpiochipN` for a label or a path.
fn find_chip(chip: &str) -> Result<PathBuf, StimulusError> {
    let err = |detail: String| StimulusError::Chip {
        chip: chip.into(),
        detail,
    };
    if chip.starts_with('/') {
        return gpiocdev::chip::is_chip(chip).map_err(|e| err(e.to_string()));
    }
    let chips = gpiocdev::chip::chips().map_err(|e| err(e.to_string()))?;
    let mut labels = Vec::new();
    for path in chips {
        if let Ok(info) = gpiocdev::Chip::from_path(&path).and_then(|c| c.info()) {
            if info.label == chip {
                return Ok(path);
            }
            labels.push(info.label);
        }
    }
    Err(err(format!("chips present: {}", labels.join(", "))))
}

impl Cdev {
    pub fn open(cfg: &StimulusConfig) -> Result<Cdev, StimulusError> {
        let path = find_chip(&cfg.chip)?;
        let chip = gpiocdev::Chip::from_path(&path).map_err(|e| StimulusError::Chip {
            chip: cfg.chip.clone(),
            detail: e.to_string(),
        })?;
        let info = chip.info().map_err(|e| StimulusError::Chip {
            chip: cfg.chip.clone(),
            detail: e.to_string(),
        })?;
        let names: Vec<String> = (0..info.num_lines)
            .map(|o| chip.line_info(o).map(|l| l.name).unwrap_or_default())
            .collect();
        let offset = cfg.line.resolve(&cfg.chip, &names)?;
        let what = format!("{} line {} ({})", cfg.chip, offset, names[offset as usize]);
        let req = gpiocdev::Request::builder()
            .on_chip(&path)
            .with_consumer("rpi-agent stimulus")
            .with_line(offset)
            .as_output(gpiocdev::line::Value::Inactive)
            .request()
            .map_err(|e| StimulusError::Request {
                what: what.clone(),
                detail: e.to_string(),
            })?;
        Ok(Cdev { req, offset, what })
    }
}

impl Stimulus for Cdev {
    fn set(&mut self, high: bool) -> Result<(), StimulusError> {
        let v = if high {
            gpiocdev::line::Value::Active
        } else {
            gpiocdev::line::Value::Inactive
        };
        self.req
            .set_value(self.offset, v)
            .map(|_| ())
            .map_err(|e| StimulusError::Set(e.to_string()))
    }
    fn describe(&self) -> String {
        self.what.clone()
    }
}

/// What went wrong in rpi-pal, as the user can fix it.
#[cfg(feature = "rpi")]
pub fn rpi_error(e: rpi_pal::gpio::Error) -> StimulusError {
    use rpi_pal::gpio::Error as E;
    match e {
        E::UnknownModel => StimulusError::NotAPi(e.to_string()),
        E::PermissionDenied(path) => StimulusError::RpiPermission(path),
        other => StimulusError::RpiOpen(other.to_string()),
    }
}

/// Raspberry Pi backend: rpi-pal drives the pin through the memory-mapped
/// GPIO registers (`/dev/gpiomem`), outside gpiolib, so it can drive GPIO17
/// while the demo module holds that line as its IRQ input.
#[cfg(feature = "rpi")]
pub mod rpi {
    use super::{header_pin, rpi_error, rpi_pin, Stimulus, StimulusConfig, StimulusError};

    pub struct Rpi {
        pin: rpi_pal::gpio::OutputPin,
        what: String,
    }

    impl Rpi {
        pub fn open(cfg: &StimulusConfig) -> Result<Rpi, StimulusError> {
            let bcm = rpi_pin(&cfg.line)?;
            let gpio = rpi_pal::gpio::Gpio::new().map_err(rpi_error)?;
            // Dropped, the pin goes back to the mode it had (rpi-pal's reset on drop).
            let pin = gpio.get(bcm).map_err(rpi_error)?.into_output_low();
            let what = format!("GPIO{bcm} (header pin {}) via rpi-pal", header_pin(bcm).unwrap_or(0));
            Ok(Rpi { pin, what })
        }
    }

    impl Stimulus for Rpi {
        fn set(&mut self, high: bool) -> Result<(), StimulusError> {
            // A register write: cannot fail once the pin is ours.
            if high {
                self.pin.set_high();
            } else {
                self.pin.set_low();
            }
            Ok(())
        }
        fn describe(&self) -> String {
            self.what.clone()
        }
    }
}

/// Open the configured backend.
pub fn open(cfg: &StimulusConfig) -> Result<Box<dyn Stimulus>, StimulusError> {
    match cfg.backend {
        Backend::Cdev => Ok(Box::new(Cdev::open(cfg)?)),
        #[cfg(feature = "rpi")]
        Backend::Rpi => Ok(Box::new(rpi::Rpi::open(cfg)?)),
        #[cfg(not(feature = "rpi"))]
        Backend::Rpi => Err(StimulusError::NoRpiFeature),
    }
}

/// The time source of the pacer, injectable for tests.
pub trait Clock {
    /// CLOCK_MONOTONIC ns.
    fn now_ns(&mut self) -> u64;
    /// Sleep until the absolute CLOCK_MONOTONIC time `t_ns`.
    fn sleep_until(&mut self, t_ns: u64);
}

/// The real clock: absolute clock_nanosleep, so sleeps never accumulate drift.
pub struct Monotonic;

impl Clock for Monotonic {
    fn now_ns(&mut self) -> u64 {
        crate::sysinfo::monotonic_ns()
    }
    fn sleep_until(&mut self, t_ns: u64) {
        let ts = libc::timespec {
            tv_sec: (t_ns / 1_000_000_000) as libc::time_t,
            tv_nsec: (t_ns % 1_000_000_000) as libc::c_long,
        };
        // Restart on EINTR: the deadline is absolute, so retrying is exact.
        // SAFETY: ts is a valid timespec; a null remainder is allowed with TIMER_ABSTIME.
        while unsafe { libc::clock_nanosleep(libc::CLOCK_MONOTONIC, libc::TIMER_ABSTIME, &ts, std::ptr::null_mut()) }
            == libc::EINTR
        {}
    }
}

/// Deadlines on a fixed grid: pulse i is due at start + i·period.
#[derive(Debug, Clone)]
pub struct Pacer {
    start_ns: u64,
    period_ns: u64,
    next: u64,
    pub tolerance_ns: u64,
}

/// How one pulse kept its deadline.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Timing {
    /// Rising edge later than deadline + tolerance.
    pub late: bool,
    /// Deadlines passed without a pulse before the next one.
    pub skipped: u64,
}

impl Pacer {
    pub fn new(start_ns: u64, period_ns: u64) -> Pacer {
        Pacer {
            start_ns,
            period_ns,
            next: 0,
            tolerance_ns: LATE_TOLERANCE_NS,
        }
    }

    pub fn deadline(&self) -> u64 {
        self.start_ns + self.next * self.period_ns
    }

    /// The pulse due at `deadline()` had its edge at `edge_ns`; `now_ns` is
    /// when its work (width, readback) ended. Deadlines already past at
    /// `now_ns` are skipped, not caught up in a burst.
    pub fn done(&mut self, edge_ns: u64, now_ns: u64) -> Timing {
        let late = edge_ns > self.deadline() + self.tolerance_ns;
        self.next += 1;
        let mut skipped = 0;
        if now_ns > self.deadline() {
            // First grid point after now.
            let idx = (now_ns - self.start_ns) / self.period_ns + 1;
            skipped = idx - self.next;
            self.next = idx;
        }
        Timing { late, skipped }
    }
}

/// One pulse's timestamps (CLOCK_MONOTONIC ns); hard/thread/done are 0
/// without readback.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Pulse {
    pub seq: u64,
    pub t_stimulus: u64,
    pub t_hard: u64,
    pub t_thread: u64,
    pub t_done: u64,
    pub flags: u8,
}

/// Pulse flags (also on the wire, see rt-protocol `pulse_flags`).
pub mod flags {
    /// No readback: demo sysfs absent or SEQ did not advance in time.
    pub const NO_READBACK: u8 = 0x01;
    /// Edge later than its deadline + tolerance.
    pub const LATE: u8 = 0x02;
}

/// What the thread sends the main loop.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// Opened and started: what is driven, whether readback is possible.
    Started {
        what: String,
        readback: bool,
    },
    Pulse {
        pulse: Pulse,
        skipped: u64,
    },
    /// Pulses summarised: a high rate, or the channel had no room.
    Summary(Summary),
    /// The thread stopped (count reached, or an error).
    Stopped(Option<String>),
}

/// Running statistics of a set of pulses.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Summary {
    pub count: u64,
    pub late: u64,
    pub skipped: u64,
    pub no_readback: u64,
    /// min/sum/max per interval: stimulus→hard, hard→thread, thread→done, stimulus→done.
    pub min: [u64; 4],
    pub sum: [u64; 4],
    pub max: [u64; 4],
}

impl Summary {
    pub fn add(&mut self, p: &Pulse, skipped: u64) {
        if self.count == 0 {
            self.min = [u64::MAX; 4];
        }
        self.count += 1;
        self.skipped += skipped;
        if p.flags & flags::LATE != 0 {
            self.late += 1;
        }
        if p.flags & flags::NO_READBACK != 0 {
            self.no_readback += 1;
            return;
        }
        let d = intervals(p);
        for (i, v) in d.into_iter().enumerate() {
            self.min[i] = self.min[i].min(v);
            self.max[i] = self.max[i].max(v);
            self.sum[i] += v;
        }
    }
}

/// stimulus→hard, hard→thread, thread→done, stimulus→done (ns, saturating).
pub fn intervals(p: &Pulse) -> [u64; 4] {
    [
        p.t_hard.saturating_sub(p.t_stimulus),
        p.t_thread.saturating_sub(p.t_hard),
        p.t_done.saturating_sub(p.t_thread),
        p.t_done.saturating_sub(p.t_stimulus),
    ]
}

/// Parse `last_pulse`: `SEQ HARD_NS THREAD_START_NS DONE_NS`.
pub fn parse_last_pulse(text: &str) -> Option<[u64; 4]> {
    let mut it = text.split_whitespace().map(|w| w.parse::<u64>().ok());
    let v = [it.next()??, it.next()??, it.next()??, it.next()??];
    Some(v)
}

/// Reads the demo module's `last_pulse`.
pub struct Readback {
    path: PathBuf,
}

impl Readback {
    /// None when the demo directory is absent (no readback, flagged per pulse).
    pub fn new(dir: &Path) -> Option<Readback> {
        dir.is_dir().then(|| Readback {
            path: dir.join("last_pulse"),
        })
    }
    pub fn read(&self) -> Option<[u64; 4]> {
        parse_last_pulse(&std::fs::read_to_string(&self.path).ok()?)
    }
}

/// The pulse loop, generic over clock and output so tests can drive it.
pub struct Runner<C: Clock> {
    pub clock: C,
    pub out: Box<dyn Stimulus>,
    pub readback: Option<Readback>,
    pub cfg: StimulusConfig,
}

impl<C: Clock> Runner<C> {
    /// Send pulses until `count` or `stop`; never blocks on `tx`.
    pub fn run(mut self, tx: &mpsc::SyncSender<Event>, stop: &AtomicBool) -> Option<String> {
        let mut pacer = Pacer::new(self.clock.now_ns() + self.cfg.period_ns, self.cfg.period_ns);
        let mut last_seq = self.readback.as_ref().and_then(|r| r.read()).map(|v| v[0]);
        let mut pending = Summary::default();
        let per_pulse = self.cfg.period_ns >= PER_PULSE_MIN_PERIOD_NS;
        let mut interval_end = self.clock.now_ns() + SUMMARY_INTERVAL_NS;
        let mut seq = 0u64;
        // Wait for the readback at most half a period (and at most 50 ms), so
        // the next deadline is not missed because of it.
        let wait_ns = (self.cfg.period_ns / 2).min(50_000_000);
        while !stop.load(Ordering::Relaxed) && (self.cfg.count == 0 || seq < self.cfg.count) {
            self.clock.sleep_until(pacer.deadline());
            // Stamped before the set: a loopback (or a fast pin) raises the
            // IRQ inside the ioctl, before it returns.
            let edge = self.clock.now_ns();
            if let Err(e) = self.out.set(true) {
                return Some(e.to_string());
            }
            self.clock.sleep_until(edge + self.cfg.width_ns);
            if let Err(e) = self.out.set(false) {
                return Some(e.to_string());
            }
            let mut pulse = Pulse {
                seq,
                t_stimulus: edge,
                ..Pulse::default()
            };
            pulse.flags = flags::NO_READBACK;
            if let Some(rb) = &self.readback {
                let until = edge + wait_ns.max(self.cfg.width_ns);
                loop {
                    if let Some(v) = rb.read() {
                        if Some(v[0]) != last_seq && v[1] >= edge {
                            last_seq = Some(v[0]);
                            pulse.t_hard = v[1];
                            pulse.t_thread = v[2];
                            pulse.t_done = v[3];
                            pulse.flags = 0;
                            break;
                        }
                    }
                    let now = self.clock.now_ns();
                    if now >= until {
                        break;
                    }
                    self.clock.sleep_until((now + 100_000).min(until));
                }
            }
            let t = pacer.done(edge, self.clock.now_ns());
            if t.late {
                pulse.flags |= flags::LATE;
            }
            seq += 1;
            let last = stop.load(Ordering::Relaxed) || (self.cfg.count != 0 && seq >= self.cfg.count);
            if !per_pulse {
                pending.add(&pulse, t.skipped);
                let now = self.clock.now_ns();
                if now >= interval_end || last {
                    interval_end = now + SUMMARY_INTERVAL_NS;
                    match tx.try_send(Event::Summary(pending)) {
                        Ok(()) => pending = Summary::default(),
                        // Kept and sent with the next interval.
                        Err(mpsc::TrySendError::Full(_)) => {}
                        Err(mpsc::TrySendError::Disconnected(_)) => return None,
                    }
                }
                continue;
            }
            // Summarised pulses go first, so the main loop sees them in order.
            if pending.count > 0 {
                match tx.try_send(Event::Summary(pending)) {
                    Ok(()) => pending = Summary::default(),
                    Err(mpsc::TrySendError::Full(_)) => {
                        pending.add(&pulse, t.skipped);
                        continue;
                    }
                    Err(mpsc::TrySendError::Disconnected(_)) => return None,
                }
            }
            match tx.try_send(Event::Pulse {
                pulse,
                skipped: t.skipped,
            }) {
                Ok(()) => {}
                Err(mpsc::TrySendError::Full(_)) => pending.add(&pulse, t.skipped),
                Err(mpsc::TrySendError::Disconnected(_)) => return None,
            }
        }
        if pending.count > 0 {
            let _ = tx.try_send(Event::Summary(pending));
        }
        None
    }
}

/// The running stimulus thread.
pub struct Handle {
    pub rx: mpsc::Receiver<Event>,
    stop: Arc<AtomicBool>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Handle {
    /// Open the backend (errors here are the user's to fix) and start the thread.
    pub fn start(cfg: StimulusConfig) -> Result<Handle, StimulusError> {
        let out = open(&cfg)?;
        let readback = Readback::new(&cfg.demo);
        let (tx, rx) = mpsc::sync_channel(CHANNEL_DEPTH);
        let stop = Arc::new(AtomicBool::new(false));
        let stop2 = stop.clone();
        let _ = tx.try_send(Event::Started {
            what: out.describe(),
            readback: readback.is_some(),
        });
        let thread = std::thread::Builder::new()
            .name("stimulus".into())
            .spawn(move || {
                // The agent may run with an RT policy; the stimulus must not
                // compete with the tasks under test.
                let param = libc::sched_param { sched_priority: 0 };
                // SAFETY: plain syscall on the calling thread (pid 0).
                unsafe { libc::sched_setscheduler(0, libc::SCHED_OTHER, &param) };
                let runner = Runner {
                    clock: Monotonic,
                    out,
                    readback,
                    cfg,
                };
                let err = runner.run(&tx, &stop2);
                // Blocks only while the main loop is running and draining.
                let _ = tx.send(Event::Stopped(err));
            })
            .map_err(|e| StimulusError::Set(e.to_string()))?;
        Ok(Handle {
            rx,
            stop,
            thread: Some(thread),
        })
    }

    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            // Drain while it ends, so its last send cannot wait on us; it
            // ends within one period plus the readback wait.
            while !t.is_finished() {
                while self.rx.try_recv().is_ok() {}
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            let _ = t.join();
        }
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    #[test]
    fn pacer_keeps_grid_without_drift() {
        let mut p = Pacer::new(1_000, 100);
        for i in 0..1000u64 {
            assert_eq!(p.deadline(), 1_000 + i * 100);
            // Always 7 ns late, work takes 30 ns: no drift accumulates.
            let t = p.done(p.deadline() + 7, p.deadline() + 30);
            assert_eq!(
                t,
                Timing {
                    late: false,
                    skipped: 0
                }
            );
        }
    }

    #[test]
    fn pacer_counts_late_and_skipped() {
        let mut p = Pacer::new(0, 1_000_000);
        p.tolerance_ns = 10_000;
        // Edge 20 us late: late, nothing skipped.
        assert_eq!(p.done(20_000, 30_000), Timing { late: true, skipped: 0 });
        // Pulse 1 due at 1 ms; its work ends at 3.5 ms: 2 ms and 3 ms skipped.
        assert_eq!(p.deadline(), 1_000_000);
        let t = p.done(1_000_000, 3_500_000);
        assert_eq!(
            t,
            Timing {
                late: false,
                skipped: 2
            }
        );
        assert_eq!(p.deadline(), 4_000_000);
    }

    struct FakeClock {
        now: u64,
        sleeps: Arc<Mutex<Vec<u64>>>,
        /// Extra delay on each wake-up.
        jitter: u64,
    }
    impl Clock for FakeClock {
        fn now_ns(&mut self) -> u64 {
            self.now
        }
        fn sleep_until(&mut self, t: u64) {
            self.sleeps.lock().unwrap().push(t);
            self.now = self.now.max(t) + self.jitter;
        }
    }

    struct FakeOut(Arc<Mutex<Vec<bool>>>);
    impl Stimulus for FakeOut {
        fn set(&mut self, high: bool) -> Result<(), StimulusError> {
            self.0.lock().unwrap().push(high);
            Ok(())
        }
        fn describe(&self) -> String {
            "fake".into()
        }
    }

    fn cfg(count: u64, period_ns: u64) -> StimulusConfig {
        StimulusConfig {
            backend: Backend::Cdev,
            chip: "gpio-loopback".into(),
            line: LineSel::Name("GPIO16".into()),
            period_ns,
            count,
            width_ns: 100_000,
            demo: "/nonexistent".into(),
        }
    }

    #[test]
    fn runner_paces_on_absolute_deadlines_and_summarises_when_full() {
        let sleeps = Arc::new(Mutex::new(Vec::new()));
        let edges = Arc::new(Mutex::new(Vec::new()));
        let runner = Runner {
            clock: FakeClock {
                now: 5_000,
                sleeps: sleeps.clone(),
                jitter: 3,
            },
            out: Box::new(FakeOut(edges.clone())),
            readback: None,
            cfg: cfg(10, 20_000_000),
        };
        let (tx, rx) = mpsc::sync_channel(4);
        let stop = AtomicBool::new(false);
        assert_eq!(runner.run(&tx, &stop), None);
        let deadlines: Vec<u64> = sleeps.lock().unwrap().iter().step_by(2).copied().collect();
        let want: Vec<u64> = (1..=10).map(|i| 5_000 + i * 20_000_000).collect();
        assert_eq!(deadlines, want);
        assert_eq!(edges.lock().unwrap().len(), 20);
        let events: Vec<Event> = rx.try_iter().collect();
        // 4 pulses fit, the other 6 are summarised (and that summary finds no
        // room at the end either, since nothing drains the channel).
        assert_eq!(events.len(), 4);
        for (i, e) in events.iter().enumerate() {
            let Event::Pulse { pulse, skipped } = e else {
                panic!("{e:?}")
            };
            assert_eq!(pulse.seq, i as u64);
            assert_eq!(pulse.t_stimulus, 5_000 + (i as u64 + 1) * 20_000_000 + 3);
            assert_eq!(pulse.flags, flags::NO_READBACK);
            assert_eq!(*skipped, 0);
        }
    }

    #[test]
    fn high_rates_are_summarised_per_interval() {
        let runner = Runner {
            clock: FakeClock {
                now: 0,
                sleeps: Arc::new(Mutex::new(Vec::new())),
                jitter: 0,
            },
            out: Box::new(FakeOut(Arc::new(Mutex::new(Vec::new())))),
            readback: None,
            cfg: cfg(2500, 1_000_000),
        };
        let (tx, rx) = mpsc::sync_channel(16);
        assert_eq!(runner.run(&tx, &AtomicBool::new(false)), None);
        // 1 kHz for 2.5 s: summaries at ~1 s, ~2 s and the rest at the end.
        let counts: Vec<u64> = rx
            .try_iter()
            .map(|e| match e {
                Event::Summary(s) => s.count,
                e => panic!("{e:?}"),
            })
            .collect();
        assert_eq!(counts.iter().sum::<u64>(), 2500);
        assert_eq!(counts.len(), 3, "{counts:?}");
    }

    #[test]
    fn summary_and_intervals() {
        let p = Pulse {
            seq: 1,
            t_stimulus: 100,
            t_hard: 141,
            t_thread: 226,
            t_done: 436,
            flags: 0,
        };
        assert_eq!(intervals(&p), [41, 85, 210, 336]);
        let mut s = Summary::default();
        s.add(&p, 0);
        s.add(
            &Pulse {
                flags: flags::NO_READBACK | flags::LATE,
                ..p
            },
            2,
        );
        assert_eq!((s.count, s.late, s.skipped, s.no_readback), (2, 1, 2, 1));
        assert_eq!(s.min, [41, 85, 210, 336]);
        assert_eq!(s.sum, s.max);
    }

    #[test]
    fn last_pulse_parses() {
        assert_eq!(parse_last_pulse("12 100 200 300\n"), Some([12, 100, 200, 300]));
        assert_eq!(parse_last_pulse("12 100 200"), None);
        assert_eq!(parse_last_pulse("x 1 2 3"), None);
    }

    #[test]
    fn line_names_resolve_or_say_what_exists() {
        let names: Vec<String> = (0..32).map(|i| format!("GPIO{i}")).collect();
        assert_eq!(LineSel::parse("GPIO16").resolve("gpio-loopback", &names).unwrap(), 16);
        assert_eq!(LineSel::parse("16").resolve("gpio-loopback", &names).unwrap(), 16);
        let e = LineSel::parse("GPIO99")
            .resolve("gpio-loopback", &names)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("no line named `GPIO99`") && e.contains("GPIO0, GPIO1"),
            "{e}"
        );
        let e = LineSel::parse("40")
            .resolve("gpio-loopback", &names)
            .unwrap_err()
            .to_string();
        assert!(e.contains("32 lines"), "{e}");
    }

    #[test]
    fn rpi_pins_are_bcm_numbers_on_the_header() {
        assert_eq!(rpi_pin(&LineSel::parse("17")).unwrap(), 17);
        assert_eq!(rpi_pin(&LineSel::parse("GPIO27")).unwrap(), 27);
        assert_eq!(rpi_pin(&LineSel::parse("gpio4")).unwrap(), 4);
        // The wiring the README documents.
        assert_eq!((header_pin(17), header_pin(27)), (Some(11), Some(13)));
        assert_eq!(
            (header_pin(2), header_pin(21), header_pin(28)),
            (Some(3), Some(40), None)
        );
        for bad in ["28", "GPIO40", "SDA1", "GPIOx", "300"] {
            let e = rpi_pin(&LineSel::parse(bad)).unwrap_err().to_string();
            assert!(e.contains("BCM GPIO number on the header") && e.contains(bad), "{e}");
        }
        let e = rpi_pin(&LineSel::parse("GPIO14")).unwrap_err().to_string();
        assert!(e.contains("GPIO14 (header pin 8) carries the console UART"), "{e}");
        assert!(matches!(
            rpi_pin(&LineSel::Offset(15)),
            Err(StimulusError::RpiConsolePin(15))
        ));
    }

    fn rpi_cfg() -> StimulusConfig {
        StimulusConfig {
            backend: Backend::Rpi,
            line: LineSel::Offset(17),
            ..cfg(1, 10_000_000)
        }
    }

    /// The real rpi-pal on this (non-Pi) machine: Gpio::new() fails and the
    /// user reads one line that says what to use instead.
    #[cfg(feature = "rpi")]
    #[test]
    fn rpi_backend_on_a_non_pi_says_use_cdev_in_one_line() {
        if rpi_pal::system::DeviceInfo::new().is_ok() {
            eprintln!("a Raspberry Pi: this test is for other machines; not driving GPIO17 from a unit test");
            return;
        }
        let Err(e) = Handle::start(rpi_cfg()) else {
            panic!("the rpi backend started on a machine that is not a Pi")
        };
        assert!(matches!(e, StimulusError::NotAPi(_)), "{e:?}");
        let msg = e.to_string();
        assert_eq!(
            msg,
            "stimulus: backend \"rpi\" needs a Raspberry Pi \
             (rpi-pal: Unknown Raspberry Pi model); use backend = \"cdev\" here"
        );
        // Whole in a Notice (120 bytes), so the host sees all of it too.
        assert!(msg.len() <= 120, "{} bytes", msg.len());
    }

    #[cfg(feature = "rpi")]
    #[test]
    fn rpi_errors_say_what_to_do() {
        use rpi_pal::gpio::Error as E;
        let e = rpi_error(E::PermissionDenied("/dev/gpiomem".into())).to_string();
        assert!(
            e.contains("permission denied on /dev/gpiomem; run rpi-agent as root"),
            "{e}"
        );
        let io = std::io::Error::from_raw_os_error(libc::ENOENT);
        let e = rpi_error(E::Io(io)).to_string();
        assert!(
            e.contains("cannot open the Pi's GPIO") && e.contains("backend = \"cdev\""),
            "{e}"
        );
        assert!(matches!(rpi_error(E::UnknownModel), StimulusError::NotAPi(_)));
    }

    #[cfg(not(feature = "rpi"))]
    #[test]
    fn rpi_backend_without_the_feature_says_use_cdev() {
        let Err(e) = Handle::start(rpi_cfg()) else {
            panic!("the rpi backend started without the rpi feature")
        };
        assert!(matches!(e, StimulusError::NoRpiFeature), "{e:?}");
        assert!(e.to_string().contains("use backend = \"cdev\""), "{e}");
    }

    #[test]
    fn rpi_config_is_checked_before_any_hardware() {
        let bad = StimulusConfig {
            line: LineSel::parse("GPIO15"),
            ..rpi_cfg()
        };
        assert!(matches!(bad.validate(), Err(StimulusError::RpiConsolePin(15))));
        // A line name is the cdev backend's business: not checked for it here.
        let cdev = StimulusConfig {
            line: LineSel::parse("GPIO99"),
            ..cfg(1, 10_000_000)
        };
        assert!(cdev.validate().is_ok());
    }

    #[test]
    fn rate_and_backend_errors_are_clear() {
        assert_eq!(rate_to_period_ns("100").unwrap(), 10_000_000);
        for bad in ["0", "-5", "fast", "20000"] {
            let e = rate_to_period_ns(bad).unwrap_err().to_string();
            assert!(e.contains("rate must be > 0"), "{e}");
        }
        assert_eq!(Backend::parse("rpi").unwrap(), Backend::Rpi);
        assert_eq!(Backend::parse(" rppal ").unwrap(), Backend::Rpi);
        assert_eq!(Backend::parse("cdev").unwrap(), Backend::Cdev);
        let e = Backend::parse("wiringpi").unwrap_err().to_string();
        assert!(e.contains("unknown backend `wiringpi`") && e.contains("cdev"), "{e}");
    }
}
