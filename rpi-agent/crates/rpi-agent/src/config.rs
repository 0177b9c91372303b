//! Configuration: `/etc/rpi-agent.toml` merged with command-line flags.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use clap::Parser;
use rpi_agent::duration::{parse_duration_ns, DurationError};
use rt_protocol::metric;
use rtt_elf::Point;
use serde::Deserialize;

use crate::stimulus::{
    rate_to_period_ns, Backend, LineSel, StimulusConfig, StimulusError, DEFAULT_DEMO, RPI_DEFAULT_PIN,
};

/// What is wrong with the configuration, said so that it can be fixed.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error(transparent)]
    Duration(#[from] DurationError),
    #[error("unknown metric `{0}` (use latency, response, relief, irq_delay or irq)")]
    Metric(String),
    #[error("{what} must be a number, got `{text}`")]
    Number { what: &'static str, text: String },
    #[error("--track `{spec}`: {source}")]
    TrackSpec { spec: String, source: Box<ConfigError> },
    #[error("names more than one of pid, tgid, name, irq (one per target)")]
    TwoSelectors,
    #[error("needs one of pid=, tgid=, name=, irq=")]
    NoSelector,
    #[error("[[track]] number {number}: {source}")]
    FileTrack { number: usize, source: Box<ConfigError> },
    #[error("needs exactly one of pid, tgid, name, irq")]
    FileSelectors,
    #[error("--bound `{0}`: expected METRIC=DURATION, e.g. latency=100us")]
    Bound(String),
    #[error("--window `{spec}`: {why} (expected PATH:START,STOP,BUDGET, e.g. /usr/bin/app:step_begin,step_end,500us)")]
    WindowSpec { spec: String, why: String },
    #[error("[[window]] number {number}: {why}")]
    FileWindow { number: usize, why: String },
    #[error(transparent)]
    Stimulus(#[from] crate::stimulus::StimulusError),
    #[error("baud must be > 0 (e.g. --baud 115200)")]
    ZeroBaud,
    #[error("cannot read config {}: {source} (check the path, or use --no-config)", path.display())]
    Read { path: PathBuf, source: std::io::Error },
    #[error("config {}: {source}", path.display())]
    Parse {
        path: PathBuf,
        source: Box<toml::de::Error>,
    },
}

pub const DEFAULT_CONFIG: &str = "/etc/rpi-agent.toml";
pub const DEFAULT_DEVICE: &str = "/dev/rt_tracer";
pub const DEFAULT_PORT: &str = "/dev/ttyAMA0";
pub const DEFAULT_BAUD: u32 = 115_200;

/// Streams rt_tracer measurements from /dev/rt_tracer over a serial line as
/// rt-protocol frames (decode them on the host with `rtdecode`).
#[derive(Parser, Debug, Default)]
#[command(version, after_help = AFTER_HELP)]
pub struct Cli {
    /// Configuration file (missing default file: built-in defaults).
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Ignore the configuration file.
    #[arg(long)]
    pub no_config: bool,
    /// Module device.
    #[arg(long, value_name = "PATH")]
    pub device: Option<PathBuf>,
    /// Read module records from a file of raw concatenated records instead of
    /// the device (host tests); exits 0 when everything was sent.
    #[arg(long, value_name = "FILE")]
    pub replay: Option<PathBuf>,
    /// Serial device the frames are written to (115200 8N1 by default).
    #[arg(long, value_name = "DEV")]
    pub port: Option<String>,
    /// Write frames to a file (or `-` for stdout) instead of a serial device.
    #[arg(long, value_name = "FILE", conflicts_with = "port")]
    pub output: Option<PathBuf>,
    /// How the serial port's termios is set: `raw` (a port of its own),
    /// `shared` (a console with a shell: only speed and 8N1 are set, the line
    /// discipline stays as found), `auto` (shared if the port is an active
    /// kernel console, else raw). See docs/protocol.md, "Sharing the console".
    #[arg(long, value_enum, value_name = "MODE")]
    pub tty_mode: Option<TtyMode>,
    /// Link speed in bit/s; sets the bandwidth budget (default 115200 for a
    /// serial port, unlimited for --output unless given).
    #[arg(long)]
    pub baud: Option<u32>,
    /// Track a task by PID.
    #[arg(long, value_name = "PID")]
    pub pid: Vec<i32>,
    /// Track every thread of a process by TGID.
    #[arg(long, value_name = "TGID")]
    pub tgid: Vec<i32>,
    /// Track processes by name (comm, or basename of argv[0]); attaches when
    /// one starts and again after restarts.
    #[arg(long, value_name = "NAME")]
    pub name: Vec<String>,
    /// Track the thread of an IRQ, by number or by name in /proc/interrupts.
    #[arg(long, value_name = "N|NAME")]
    pub irq: Vec<String>,
    /// Keep worst-case event traces for the targets given on the command line.
    #[arg(long)]
    pub trace: bool,
    /// SLO bound for the targets given on the command line: METRIC=DURATION,
    /// e.g. latency=100us (metrics: latency response relief irq_delay irq).
    #[arg(long, value_name = "METRIC=DUR")]
    pub bound: Vec<String>,
    /// A target with its own options, e.g.
    /// `name=cyclictest,trace,latency=100us,response=1ms` or `irq=eth0,irq_delay=50us`.
    #[arg(long, value_name = "SPEC")]
    pub track: Vec<String>,
    /// A budget window bound to a binary through uprobes, kept while the
    /// agent runs: PATH:START,STOP,BUDGET, the points function names
    /// (symbol or symbol+OFFSET) or ELF file offsets, e.g.
    /// `/usr/bin/app:control_step,control_done,500us`.
    #[arg(long, value_name = "SPEC")]
    pub window: Vec<String>,
    /// Period of RTT_IOC_SNAPSHOT (e.g. 1s, 500ms).
    #[arg(long, value_name = "DUR")]
    pub snapshot_interval: Option<String>,
    /// Period of the link heartbeat.
    #[arg(long, value_name = "DUR")]
    pub heartbeat_interval: Option<String>,
    /// Pin the agent to this CPU (keep it off the CPUs under test).
    #[arg(long, value_name = "N")]
    pub cpu: Option<usize>,
    /// GPIO stimulus: drive this line (offset or name, e.g. GPIO16; for
    /// backend rpi a BCM number, default 17). Any --stimulus-* flag turns
    /// the stimulus on (see [stimulus] in the config file).
    #[arg(long, value_name = "LINE")]
    pub stimulus_line: Option<String>,
    /// Stimulus backend: cdev (GPIO character device, default) or rpi
    /// (Raspberry Pi registers via rpi-pal; needs cargo feature `rpi`).
    #[arg(long, value_name = "NAME")]
    pub stimulus_backend: Option<String>,
    /// Stimulus GPIO chip: label (gpio-loopback) or path (/dev/gpiochip0).
    #[arg(long, value_name = "CHIP")]
    pub stimulus_chip: Option<String>,
    /// Stimulus rate in Hz (default 10).
    #[arg(long, value_name = "HZ", conflicts_with = "stimulus_period")]
    pub stimulus_rate: Option<String>,
    /// Stimulus period instead of a rate (e.g. 10ms).
    #[arg(long, value_name = "DUR")]
    pub stimulus_period: Option<String>,
    /// Number of pulses (0: until the agent stops).
    #[arg(long, value_name = "N")]
    pub stimulus_count: Option<u64>,
    /// Pulse width (default 100us).
    #[arg(long, value_name = "DUR")]
    pub stimulus_width: Option<String>,
    /// Stop after this long (flushes and exits 0 as on SIGTERM).
    #[arg(long, value_name = "DUR")]
    pub duration: Option<String>,
}

const AFTER_HELP: &str = "\
Durations: 250ns, 100us, 1.5ms, 2s (a bare number is ns).
Example: rpi-agent --name cyclictest --trace --bound latency=100us --cpu 0
Config file format: see docs/protocol.md (\"Agent configuration\").";

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Selector {
    Pid(i32),
    Tgid(i32),
    Name(String),
    IrqNum(u32),
    IrqName(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    pub sel: Selector,
    pub trace: bool,
    /// Bound per metric (ns); None: leave as is.
    pub bounds: [Option<u64>; metric::COUNT as usize],
    /// Linear histogram (lo_ns, step_ns) per metric.
    pub lin: [Option<(u64, u64)>; metric::COUNT as usize],
}

impl Target {
    pub fn new(sel: Selector) -> Self {
        Target {
            sel,
            trace: false,
            bounds: [None; metric::COUNT as usize],
            lin: [None; metric::COUNT as usize],
        }
    }
}

/// See `Cli::tty_mode`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TtyMode {
    #[default]
    Auto,
    Shared,
    Raw,
}

#[derive(Debug, Clone)]
pub enum Sink {
    Serial { port: String, baud: u32, tty: TtyMode },
    File { path: PathBuf, baud: Option<u32> },
}

impl Sink {
    /// Bytes per second the link carries (8N1: 10 bits per byte); None: unlimited.
    pub fn budget_bps(&self) -> Option<u32> {
        match self {
            Sink::Serial { baud, .. } => Some(baud / 10),
            Sink::File { baud, .. } => baud.map(|b| b / 10),
        }
    }
    pub fn baud(&self) -> u32 {
        match self {
            Sink::Serial { baud, .. } => *baud,
            Sink::File { baud, .. } => baud.unwrap_or(0),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Config {
    pub device: PathBuf,
    pub replay: Option<PathBuf>,
    pub sink: Sink,
    pub targets: Vec<Target>,
    pub windows: Vec<WindowSpec>,
    pub snapshot_interval: Duration,
    pub heartbeat_interval: Duration,
    pub hello_interval: Duration,
    pub proc_scan_interval: Duration,
    pub cpu: Option<usize>,
    pub duration: Option<Duration>,
    pub board: Option<String>,
    pub stimulus: Option<StimulusConfig>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct FileConfig {
    device: Option<PathBuf>,
    port: Option<String>,
    output: Option<PathBuf>,
    baud: Option<u32>,
    tty_mode: Option<TtyMode>,
    snapshot_interval: Option<DurationVal>,
    heartbeat_interval: Option<DurationVal>,
    hello_interval: Option<DurationVal>,
    proc_scan_interval: Option<DurationVal>,
    cpu: Option<usize>,
    /// Overrides the board name sent in Hello.
    board: Option<String>,
    #[serde(default)]
    track: Vec<TrackToml>,
    #[serde(default)]
    window: Vec<WindowToml>,
    stimulus: Option<StimulusToml>,
}

/// `[[window]]`: a uprobe binding of the module's budget windows.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct WindowToml {
    path: String,
    start: NumOrText,
    stop: NumOrText,
    budget: DurationVal,
}

/// A window binding as configured: its points are resolved in the ELF
/// file when it is bound (the binary may change while the agent runs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WindowSpec {
    pub path: String,
    pub start: Point,
    pub stop: Point,
    pub budget_ns: u64,
}

fn window_point(v: &NumOrText) -> Result<Point, String> {
    match v {
        NumOrText::Num(n) if *n >= 0.0 && n.fract() == 0.0 => Ok(Point::Offset(*n as u64)),
        NumOrText::Num(n) => Err(format!("{n} is not a file offset")),
        NumOrText::Text(t) => Point::parse(t).map_err(|e| e.to_string()),
    }
}

fn window_budget(ns: u64) -> Result<u64, String> {
    match ns {
        0 => Err("the budget must be more than 0".into()),
        n => Ok(n),
    }
}

fn file_window(w: &WindowToml) -> Result<WindowSpec, String> {
    if !w.path.starts_with('/') {
        return Err(format!(
            "path `{}` must be absolute (as the module resolves it)",
            w.path
        ));
    }
    Ok(WindowSpec {
        path: w.path.clone(),
        start: window_point(&w.start)?,
        stop: window_point(&w.stop)?,
        budget_ns: window_budget(w.budget.ns().map_err(|e| e.to_string())?)?,
    })
}

/// `PATH:START,STOP,BUDGET` -> WindowSpec.
pub fn parse_window_spec(spec: &str) -> Result<WindowSpec, ConfigError> {
    let err = |why: String| ConfigError::WindowSpec { spec: spec.into(), why };
    let parts: Vec<&str> = spec.split(',').map(str::trim).collect();
    let [target, stop, budget] = parts.as_slice() else {
        return Err(err(format!("{} comma-separated parts, not 3", parts.len())));
    };
    let (path, start) = target
        .rsplit_once(':')
        .ok_or_else(|| err("no `:` between PATH and START".into()))?;
    file_window(&WindowToml {
        path: path.into(),
        start: NumOrText::Text(start.into()),
        stop: NumOrText::Text((*stop).into()),
        budget: DurationVal::Text((*budget).into()),
    })
    .map_err(err)
}

#[derive(Debug, Deserialize, Clone)]
#[serde(untagged)]
enum NumOrText {
    Num(f64),
    Text(String),
}

impl NumOrText {
    fn text(&self) -> String {
        match self {
            NumOrText::Num(n) => n.to_string(),
            NumOrText::Text(s) => s.clone(),
        }
    }
}

/// `[stimulus]`: present means on (see rpi-agent.example.toml).
#[derive(Debug, Deserialize, Clone, Default)]
#[serde(deny_unknown_fields)]
struct StimulusToml {
    backend: Option<String>,
    chip: Option<String>,
    line: Option<NumOrText>,
    rate: Option<NumOrText>,
    period: Option<DurationVal>,
    count: Option<u64>,
    width: Option<DurationVal>,
    demo_sysfs: Option<PathBuf>,
}

pub const DEFAULT_STIMULUS_CHIP: &str = "gpio-loopback";
pub const DEFAULT_STIMULUS_RATE_HZ: u64 = 10;
pub const DEFAULT_STIMULUS_WIDTH_NS: u64 = 100_000;

/// File table and flags -> stimulus config; None when neither turns it on.
fn stimulus_config(cli: &Cli, file: Option<&StimulusToml>) -> Result<Option<StimulusConfig>, ConfigError> {
    // Any --stimulus-* flag turns it on: a flag that did nothing would
    // leave the user guessing.
    let flags = [
        cli.stimulus_line.is_some(),
        cli.stimulus_backend.is_some(),
        cli.stimulus_chip.is_some(),
        cli.stimulus_rate.is_some(),
        cli.stimulus_period.is_some(),
        cli.stimulus_count.is_some(),
        cli.stimulus_width.is_some(),
    ];
    if file.is_none() && !flags.contains(&true) {
        return Ok(None);
    }
    let f = file.cloned().unwrap_or_default();
    let backend = match cli.stimulus_backend.as_ref().or(f.backend.as_ref()) {
        Some(b) => Backend::parse(b)?,
        None => Backend::Cdev,
    };
    let line = match (&cli.stimulus_line, &f.line) {
        (Some(l), _) => LineSel::parse(l),
        (None, Some(l)) => LineSel::parse(&l.text()),
        // The Pi's default: GPIO17, the demo module's own line.
        (None, None) if backend == Backend::Rpi => LineSel::Offset(RPI_DEFAULT_PIN.into()),
        (None, None) => return Err(StimulusError::NoLine.into()),
    };
    let period_ns = match (&cli.stimulus_rate, &cli.stimulus_period, &f.rate, &f.period) {
        (Some(r), _, _, _) => rate_to_period_ns(r)?,
        (None, Some(p), _, _) => parse_duration_ns(p)?,
        (None, None, Some(_), Some(_)) => return Err(StimulusError::RateAndPeriod.into()),
        (None, None, Some(r), None) => rate_to_period_ns(&r.text())?,
        (None, None, None, Some(p)) => p.ns()?,
        (None, None, None, None) => 1_000_000_000 / DEFAULT_STIMULUS_RATE_HZ,
    };
    let width_ns = match (&cli.stimulus_width, &f.width) {
        (Some(w), _) => parse_duration_ns(w)?,
        (None, Some(w)) => w.ns()?,
        (None, None) => DEFAULT_STIMULUS_WIDTH_NS,
    };
    let cfg = StimulusConfig {
        backend,
        chip: cli
            .stimulus_chip
            .clone()
            .or(f.chip)
            .unwrap_or_else(|| DEFAULT_STIMULUS_CHIP.into()),
        line,
        period_ns,
        count: cli.stimulus_count.or(f.count).unwrap_or(0),
        width_ns,
        demo: f.demo_sysfs.unwrap_or_else(|| DEFAULT_DEMO.into()),
    };
    Ok(Some(cfg.validate()?))
}

#[derive(Debug, Deserialize, Clone)]
#[serde(untagged)]
enum DurationVal {
    Ns(u64),
    Text(String),
}

impl DurationVal {
    fn ns(&self) -> Result<u64, ConfigError> {
        match self {
            DurationVal::Ns(n) => Ok(*n),
            DurationVal::Text(s) => Ok(parse_duration_ns(s)?),
        }
    }
}

#[derive(Debug, Deserialize, Clone)]
#[serde(untagged)]
enum IrqVal {
    Num(u32),
    Name(String),
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct LinToml {
    lo: DurationVal,
    step: DurationVal,
}

#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
struct TrackToml {
    pid: Option<i32>,
    tgid: Option<i32>,
    name: Option<String>,
    irq: Option<IrqVal>,
    #[serde(default)]
    trace: bool,
    #[serde(default)]
    bounds: BTreeMap<String, DurationVal>,
    #[serde(default)]
    lin_hist: BTreeMap<String, LinToml>,
}

fn metric_id(name: &str) -> Result<u8, ConfigError> {
    metric::from_name(name.trim()).ok_or_else(|| ConfigError::Metric(name.into()))
}

fn irq_selector(s: &str) -> Selector {
    match s.trim().parse::<u32>() {
        Ok(n) => Selector::IrqNum(n),
        Err(_) => Selector::IrqName(s.trim().to_string()),
    }
}

fn num<T: std::str::FromStr>(what: &'static str, v: &str) -> Result<T, ConfigError> {
    v.trim()
        .parse()
        .map_err(|_| ConfigError::Number { what, text: v.into() })
}

/// `name=cyclictest,trace,latency=100us` -> Target.
pub fn parse_track_spec(spec: &str) -> Result<Target, ConfigError> {
    track_spec(spec).map_err(|e| ConfigError::TrackSpec {
        spec: spec.into(),
        source: Box::new(e),
    })
}

fn track_spec(spec: &str) -> Result<Target, ConfigError> {
    let mut sel = None;
    let mut trace = false;
    let mut bounds = [None; metric::COUNT as usize];
    for part in spec.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let (k, v) = part.split_once('=').unwrap_or((part, ""));
        let s = match k {
            "pid" => Some(Selector::Pid(num("pid", v)?)),
            "tgid" => Some(Selector::Tgid(num("tgid", v)?)),
            "name" => Some(Selector::Name(v.to_string())),
            "irq" if sel.is_none() => Some(irq_selector(v)),
            "trace" => {
                trace = true;
                None
            }
            m => {
                let id = metric_id(m)?;
                bounds[id as usize] = Some(parse_duration_ns(v)?);
                None
            }
        };
        if let Some(s) = s {
            if sel.replace(s).is_some() {
                return Err(ConfigError::TwoSelectors);
            }
        }
    }
    let sel = sel.ok_or(ConfigError::NoSelector)?;
    let mut t = Target::new(sel);
    t.trace = trace;
    t.bounds = bounds;
    Ok(t)
}

fn file_target(t: &TrackToml) -> Result<Target, ConfigError> {
    let mut sels = Vec::new();
    if let Some(p) = t.pid {
        sels.push(Selector::Pid(p));
    }
    if let Some(p) = t.tgid {
        sels.push(Selector::Tgid(p));
    }
    if let Some(n) = &t.name {
        sels.push(Selector::Name(n.clone()));
    }
    match &t.irq {
        Some(IrqVal::Num(n)) => sels.push(Selector::IrqNum(*n)),
        Some(IrqVal::Name(n)) => sels.push(irq_selector(n)),
        None => {}
    }
    if sels.len() != 1 {
        return Err(ConfigError::FileSelectors);
    }
    let mut target = Target::new(sels.remove(0));
    target.trace = t.trace;
    for (m, d) in &t.bounds {
        target.bounds[metric_id(m)? as usize] = Some(d.ns()?);
    }
    for (m, l) in &t.lin_hist {
        target.lin[metric_id(m)? as usize] = Some((l.lo.ns()?, l.step.ns()?));
    }
    Ok(target)
}

fn dur(v: &Option<DurationVal>, cli: &Option<String>, default: Duration) -> Result<Duration, ConfigError> {
    let ns = match (cli, v) {
        (Some(s), _) => parse_duration_ns(s)?,
        (None, Some(v)) => v.ns()?,
        (None, None) => return Ok(default),
    };
    Ok(Duration::from_nanos(ns.max(1_000_000)))
}

impl Config {
    pub fn load(cli: &Cli) -> Result<Config, ConfigError> {
        let file = if cli.no_config {
            FileConfig::default()
        } else {
            let (path, explicit) = match &cli.config {
                Some(p) => (p.clone(), true),
                None => (PathBuf::from(DEFAULT_CONFIG), false),
            };
            read_file_config(&path, explicit)?
        };
        Self::merge(cli, file)
    }

    /// Parse a config file's text.
    #[cfg(test)]
    pub fn from_toml(cli: &Cli, text: &str) -> Result<Config, ConfigError> {
        let file: FileConfig = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: "(text)".into(),
            source: Box::new(e),
        })?;
        Self::merge(cli, file)
    }

    fn merge(cli: &Cli, file: FileConfig) -> Result<Config, ConfigError> {
        let mut targets = Vec::new();
        for (i, t) in file.track.iter().enumerate() {
            targets.push(file_target(t).map_err(|e| ConfigError::FileTrack {
                number: i + 1,
                source: Box::new(e),
            })?);
        }
        let mut cli_bounds = [None; metric::COUNT as usize];
        for b in &cli.bound {
            let (m, d) = b.split_once('=').ok_or_else(|| ConfigError::Bound(b.clone()))?;
            cli_bounds[metric_id(m)? as usize] = Some(parse_duration_ns(d)?);
        }
        let cli_sels = cli
            .pid
            .iter()
            .map(|p| Selector::Pid(*p))
            .chain(cli.tgid.iter().map(|p| Selector::Tgid(*p)))
            .chain(cli.name.iter().map(|n| Selector::Name(n.clone())))
            .chain(cli.irq.iter().map(|i| irq_selector(i)));
        for sel in cli_sels {
            let mut t = Target::new(sel);
            t.trace = cli.trace;
            t.bounds = cli_bounds;
            targets.push(t);
        }
        for spec in &cli.track {
            targets.push(parse_track_spec(spec)?);
        }
        let mut windows = Vec::new();
        for (i, w) in file.window.iter().enumerate() {
            windows.push(file_window(w).map_err(|why| ConfigError::FileWindow { number: i + 1, why })?);
        }
        for spec in &cli.window {
            windows.push(parse_window_spec(spec)?);
        }

        let baud = cli.baud.or(file.baud);
        let tty = cli.tty_mode.or(file.tty_mode).unwrap_or_default();
        let sink = if let Some(path) = &cli.output {
            Sink::File {
                path: path.clone(),
                baud: cli.baud,
            }
        } else if let Some(port) = &cli.port {
            Sink::Serial {
                port: port.clone(),
                baud: baud.unwrap_or(DEFAULT_BAUD),
                tty,
            }
        } else if let Some(path) = &file.output {
            Sink::File {
                path: path.clone(),
                baud,
            }
        } else {
            Sink::Serial {
                port: file.port.clone().unwrap_or_else(|| DEFAULT_PORT.into()),
                baud: baud.unwrap_or(DEFAULT_BAUD),
                tty,
            }
        };
        if sink.baud() == 0 && matches!(sink, Sink::Serial { .. }) {
            return Err(ConfigError::ZeroBaud);
        }
        let duration = match &cli.duration {
            Some(d) => Some(Duration::from_nanos(parse_duration_ns(d)?)),
            None => None,
        };
        let stimulus = stimulus_config(cli, file.stimulus.as_ref())?;
        Ok(Config {
            stimulus,
            device: cli
                .device
                .clone()
                .or(file.device)
                .unwrap_or_else(|| DEFAULT_DEVICE.into()),
            replay: cli.replay.clone(),
            sink,
            targets,
            windows,
            snapshot_interval: dur(&file.snapshot_interval, &cli.snapshot_interval, Duration::from_secs(1))?,
            heartbeat_interval: dur(
                &file.heartbeat_interval,
                &cli.heartbeat_interval,
                Duration::from_secs(5),
            )?,
            hello_interval: dur(&file.hello_interval, &None, Duration::from_secs(60))?,
            proc_scan_interval: dur(&file.proc_scan_interval, &None, Duration::from_secs(1))?,
            cpu: cli.cpu.or(file.cpu),
            duration,
            board: file.board,
        })
    }
}

fn read_file_config(path: &Path, explicit: bool) -> Result<FileConfig, ConfigError> {
    match std::fs::read_to_string(path) {
        Ok(text) => toml::from_str(&text).map_err(|e| ConfigError::Parse {
            path: path.into(),
            source: Box::new(e),
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !explicit => Ok(FileConfig::default()),
        Err(source) => Err(ConfigError::Read {
            path: path.into(),
            source,
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_say_what_to_fix() {
        let e = |r: Result<Config, ConfigError>| r.map(|_| ()).unwrap_err().to_string();
        let cli = Cli::parse_from(["rpi-agent", "--track", "name=a,latncy=1ms"]);
        assert_eq!(
            e(Config::from_toml(&cli, "")),
            "--track `name=a,latncy=1ms`: unknown metric `latncy` (use latency, response, relief, irq_delay or irq)"
        );
        let cli = Cli::parse_from(["rpi-agent", "--track", "pid=1,name=b"]);
        assert_eq!(
            e(Config::from_toml(&cli, "")),
            "--track `pid=1,name=b`: names more than one of pid, tgid, name, irq (one per target)"
        );
        let cli = Cli::parse_from(["rpi-agent", "--track", "pid=x"]);
        assert_eq!(
            e(Config::from_toml(&cli, "")),
            "--track `pid=x`: pid must be a number, got `x`"
        );
        let cli = Cli::parse_from(["rpi-agent", "--bound", "latency"]);
        assert_eq!(
            e(Config::from_toml(&cli, "")),
            "--bound `latency`: expected METRIC=DURATION, e.g. latency=100us"
        );
        let text = "[[track]]\nname = \"a\"\n[[track]]\nname = \"b\"\nbounds = { latency = \"3h\" }\n";
        assert_eq!(
            e(Config::from_toml(&Cli::default(), text)),
            "[[track]] number 2: unknown unit `h` in duration `3h` (use ns, us, ms or s)"
        );
        let cli = Cli::parse_from(["rpi-agent", "--config", "/nonexistent/rpi-agent.toml"]);
        let msg = e(Config::load(&cli));
        assert!(
            msg.starts_with("cannot read config /nonexistent/rpi-agent.toml: ") && msg.ends_with("--no-config)"),
            "{msg}"
        );
    }

    #[test]
    fn example_config_parses() {
        let text = include_str!("../rpi-agent.example.toml");
        let c = Config::from_toml(&Cli::default(), text).unwrap();
        assert_eq!(c.targets.len(), 4);
        assert_eq!(c.targets[0].sel, Selector::Name("cyclictest".into()));
        assert!(c.targets[0].trace);
        assert_eq!(c.targets[0].bounds[metric::LATENCY as usize], Some(100_000));
        assert_eq!(c.targets[0].lin[metric::LATENCY as usize], Some((0, 5_000)));
        assert_eq!(c.targets[3].sel, Selector::IrqName("eth0".into()));
        assert!(
            matches!(c.sink, Sink::Serial { ref port, baud: 115200, tty: TtyMode::Auto } if port == "/dev/ttyAMA0")
        );
        assert_eq!(c.cpu, Some(0));
        assert_eq!(c.windows.len(), 1);
        assert_eq!(
            (c.windows[0].path.as_str(), c.windows[0].budget_ns),
            ("/usr/bin/ctrl_app", 500_000)
        );
        let st = c.stimulus.expect("the example's [stimulus]");
        assert_eq!((st.backend, st.chip.as_str()), (Backend::Cdev, "gpio-loopback"));
        assert_eq!(st.line, LineSel::Name("GPIO16".into()));
        assert_eq!((st.period_ns, st.count, st.width_ns), (100_000_000, 0, 100_000));
        assert_eq!(st.demo, PathBuf::from(DEFAULT_DEMO));
    }

    #[test]
    fn cli_targets_and_specs() {
        let cli = Cli::parse_from([
            "rpi-agent",
            "--name",
            "hog",
            "--pid",
            "12",
            "--trace",
            "--bound",
            "response=1ms",
            "--track",
            "irq=33,irq_delay=50us",
            "--output",
            "/tmp/x",
        ]);
        let c = Config::from_toml(&cli, "").unwrap();
        assert_eq!(c.targets.len(), 3);
        assert_eq!(c.targets[0].sel, Selector::Pid(12));
        assert_eq!(c.targets[1].bounds[metric::RESPONSE as usize], Some(1_000_000));
        assert_eq!(c.targets[2].sel, Selector::IrqNum(33));
        assert_eq!(c.targets[2].bounds[metric::IRQ_DELAY as usize], Some(50_000));
        assert!(matches!(c.sink, Sink::File { baud: None, .. }));
        assert!(parse_track_spec("latency=1ms").is_err());
        assert!(Config::from_toml(&cli, "[[track]]\nname = \"a\"\npid = 3\n").is_err());
        assert!(Config::from_toml(&cli, "bogus = 1\n").is_err());
    }
}

#[cfg(test)]
mod stimulus_tests {
    use super::*;

    fn load(text: &str) -> Result<Config, ConfigError> {
        Config::from_toml(&Cli::default(), text)
    }

    #[test]
    fn stimulus_off_unless_configured() {
        assert!(load("").unwrap().stimulus.is_none());
    }

    #[test]
    fn stimulus_table_and_flags() {
        let c = load("[stimulus]\nline = \"GPIO16\"\nrate = 100\ncount = 50\nwidth = \"200us\"\n")
            .unwrap()
            .stimulus
            .unwrap();
        assert_eq!(c.backend, Backend::Cdev);
        assert_eq!(c.chip, "gpio-loopback");
        assert_eq!(c.line, LineSel::Name("GPIO16".into()));
        assert_eq!((c.period_ns, c.count, c.width_ns), (10_000_000, 50, 200_000));
        assert_eq!(c.demo, PathBuf::from(DEFAULT_DEMO));
        let c = load("[stimulus]\nline = 16\nperiod = \"5ms\"\nchip = \"/dev/gpiochip1\"\n")
            .unwrap()
            .stimulus
            .unwrap();
        assert_eq!(
            (c.line.clone(), c.period_ns, c.count),
            (LineSel::Offset(16), 5_000_000, 0)
        );
        // A flag alone turns it on and overrides the file.
        let cli = Cli {
            stimulus_line: Some("GPIO27".into()),
            stimulus_rate: Some("1000".into()),
            stimulus_backend: Some("rppal".into()),
            ..Cli::default()
        };
        let c = Config::from_toml(&cli, "").unwrap().stimulus.unwrap();
        assert_eq!((c.backend, c.period_ns), (Backend::Rpi, 1_000_000));
    }

    #[test]
    fn stimulus_backend_selection() {
        // The Pi backend drives GPIO17 unless told otherwise; chip is cdev's.
        let c = load("[stimulus]\nbackend = \"rpi\"\n").unwrap().stimulus.unwrap();
        assert_eq!((c.backend, c.line), (Backend::Rpi, LineSel::Offset(17)));
        let c = load("[stimulus]\nbackend = \"rpi\"\nline = \"GPIO27\"\n")
            .unwrap()
            .stimulus
            .unwrap();
        assert_eq!((c.backend, c.line), (Backend::Rpi, LineSel::Name("GPIO27".into())));
        // The flag overrides the file, both ways.
        let file = "[stimulus]\nbackend = \"rpi\"\nline = 27\n";
        let cli = Cli::parse_from(["rpi-agent", "--stimulus-backend", "cdev"]);
        let c = Config::from_toml(&cli, file).unwrap().stimulus.unwrap();
        assert_eq!((c.backend, c.line), (Backend::Cdev, LineSel::Offset(27)));
        let cli = Cli::parse_from(["rpi-agent", "--stimulus-backend", "rpi"]);
        let c = Config::from_toml(&cli, "[stimulus]\nline = 16\n")
            .unwrap()
            .stimulus
            .unwrap();
        assert_eq!(c.backend, Backend::Rpi);
        // A flag alone turns the stimulus on: none is silently ignored.
        let c = Config::from_toml(&cli, "").unwrap().stimulus.unwrap();
        assert_eq!((c.backend, c.line), (Backend::Rpi, LineSel::Offset(17)));
        let cli = Cli::parse_from(["rpi-agent", "--stimulus-rate", "5"]);
        let e = Config::from_toml(&cli, "").map(|_| ()).unwrap_err().to_string();
        assert!(e.contains("needs a line"), "{e}");
    }

    #[test]
    fn stimulus_bad_config_says_what_to_do() {
        let cases = [
            (
                "[stimulus]\nline = 16\nbackend = \"sysfs\"\n",
                "unknown backend `sysfs`",
            ),
            ("[stimulus]\nline = 16\nrate = 0\n", "rate must be > 0"),
            ("[stimulus]\nline = 16\nrate = \"fast\"\n", "rate must be > 0"),
            ("[stimulus]\nrate = 10\n", "needs a line"),
            (
                "[stimulus]\nline = 16\nrate = 10\nperiod = \"1ms\"\n",
                "rate or period, not both",
            ),
            (
                "[stimulus]\nline = 16\nrate = 1000\nwidth = \"2ms\"\n",
                "shorter than the period",
            ),
            ("[stimulus]\nline = 16\nspeed = 3\n", "unknown field `speed`"),
            (
                "[stimulus]\nbackend = \"rpi\"\nline = \"GPIO14\"\n",
                "GPIO14 (header pin 8) carries the console UART",
            ),
            (
                "[stimulus]\nbackend = \"rpi\"\nline = 28\n",
                "BCM GPIO number on the header, 0-27",
            ),
        ];
        for (text, want) in cases {
            let e = load(text).unwrap_err().to_string();
            assert!(e.contains(want), "{text:?}: {e}");
        }
    }

    #[test]
    fn windows_from_the_file_and_the_command_line() {
        let cli = Cli::parse_from(["rpi-agent", "--window", "/usr/bin/a:b:step,step_done+0x4,2ms"]);
        let text = "[[window]]\npath = \"/usr/bin/app\"\nstart = \"control_step\"\nstop = 0x1c44\nbudget = \"500us\"\n";
        let c = Config::from_toml(&cli, text).unwrap();
        let sym = |n: &str, plus| Point::Symbol { name: n.into(), plus };
        assert_eq!(
            c.windows,
            vec![
                WindowSpec {
                    path: "/usr/bin/app".into(),
                    start: sym("control_step", 0),
                    stop: Point::Offset(0x1c44),
                    budget_ns: 500_000
                },
                WindowSpec {
                    path: "/usr/bin/a:b".into(),
                    start: sym("step", 0),
                    stop: sym("step_done", 4),
                    budget_ns: 2_000_000
                },
            ]
        );
        let bad = |spec: &str| {
            Config::load(&Cli::parse_from(["rpi-agent", "--no-config", "--window", spec]))
                .unwrap_err()
                .to_string()
        };
        assert!(
            bad("/a:s,t").contains("2 comma-separated parts, not 3"),
            "{}",
            bad("/a:s,t")
        );
        assert!(bad("/a:s,t,0").contains("the budget must be more than 0"));
        assert!(bad("/a:s,t,3h").contains("unknown unit `h`"));
        assert!(bad("app:s,t,1ms").contains("must be absolute"));
        assert!(bad("/a:s,t+x,1ms").contains("the offset after `+`"));
        let e = Config::from_toml(
            &Cli::default(),
            "[[window]]\npath = \"/a\"\nstart = \"s\"\nstop = \"t\"\n",
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("budget"), "{e}");
        let e = Config::from_toml(
            &Cli::default(),
            "[[window]]\npath = \"/a\"\nstart = -1\nstop = \"t\"\nbudget = 5\n",
        )
        .unwrap_err()
        .to_string();
        assert_eq!(e, "[[window]] number 1: -1 is not a file offset");
    }
}
