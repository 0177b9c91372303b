//! rtdecode [--baud N] [--json | --hist] [--color WHEN] [--schema] [--record FILE] [--duration SECS] SOURCE
//! rtdecode export --perfetto -o FILE [--baud N] [--duration SECS] SOURCE
//! rtdecode serve [--listen ADDR] [--baud N] [--max-backoff SECS] [--stale SECS] [NAME=]SOURCE...
//! rtdecode report -o FILE.html [--svg DIR] [--baud N] [--duration SECS] SOURCE
//!
//! The thin binary over the library: it opens the source, feeds the bytes to
//! a `Decoder` and a printer, and stops on EOF, Ctrl-C or --duration.

mod serve;
mod source;

use std::fs::File;
use std::io::{self, Read, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use clap::Parser;
use rtdecode::json::JsonPrinter;
use rtdecode::perfetto::PerfettoPrinter;
use rtdecode::text::{Pace, TextPrinter};
use rtdecode::{Decoder, Printer};
use thiserror::Error;

/// Decode the rpi-agent stream: console text passes through, frames become a
/// live view (or JSON lines with --json).
#[derive(Parser, Debug)]
#[command(
    version,
    after_help = "SOURCE: a serial device (/dev/ttyUSB0), a capture file, `-` (stdin), \
unix:PATH or tcp:HOST:PORT (e.g. a QEMU serial socket).\nA capture file ends at EOF; a live source runs \
until Ctrl-C or --duration.\nThe table's P99≤ is the upper end of the log2 bucket holding the 99th \
percentile, clamped to MAX: the 99th percentile is at most that (--json gives the bucket as a range)."
)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
struct Cli {
    #[command(subcommand)]
    cmd: Option<Cmd>,
    /// Serial speed when SOURCE is a serial device.
    #[arg(long, default_value_t = 115_200)]
    baud: u32,
    /// One JSON object per line instead of the readable view (schema: --schema).
    #[arg(long, conflicts_with = "hist")]
    json: bool,
    /// With each table, every task's log2 histograms (as bpftrace/runqlat).
    #[arg(long)]
    hist: bool,
    /// Print the JSON Schema of --json lines and exit.
    #[arg(long, conflicts_with_all = ["json", "hist", "record", "source"])]
    schema: bool,
    /// Also keep the raw bytes in FILE (replay later with `rtdecode FILE`).
    #[arg(long, value_name = "FILE")]
    record: Option<PathBuf>,
    /// Stop after this many seconds (live sources).
    #[arg(long, value_name = "SECS")]
    duration: Option<f64>,
    /// Colours in the readable view: auto (when stdout is a terminal and
    /// NO_COLOR is not set), always, never.
    #[arg(long, value_name = "WHEN", default_value = "auto")]
    color: ColorWhen,
    /// Where the stream comes from.
    #[arg(required_unless_present = "schema")]
    source: Option<String>,
}

#[derive(clap::Subcommand, Debug)]
enum Cmd {
    /// Write every worst case and violation of SOURCE as a Perfetto trace
    /// (protobuf; open it in ui.perfetto.dev or Perfetto's trace processor):
    /// a track per CPU with the tasks that ran, per tracked task and metric
    /// its worst cases with the task's states and wakeups, and each
    /// violation as an instant with its breakdown.
    Export(ExportArgs),
    /// Serve /metrics (Prometheus / OpenMetrics text) for one or more live
    /// sources at once: per device, task and metric the counts, violations,
    /// max and bound, and the log2 histograms as Prometheus histograms; a
    /// source whose link drops keeps its values, is marked down
    /// (rt_tracer_link_up 0) and is reconnected.
    Serve(serve::ServeArgs),
    /// Write one self-contained HTML page of SOURCE (no network needed to
    /// open it): the findings, then per task and metric its statistics,
    /// log2 histogram and violations over time, and each worst case as a
    /// timeline of the CPUs involved with its breakdown.
    Report(ReportArgs),
}

#[derive(clap::Args, Debug)]
struct ReportArgs {
    /// Where to write the HTML page.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: PathBuf,
    /// Also write each chart as its own SVG file into DIR (created if
    /// missing), named as the chart's id in the page.
    #[arg(long, value_name = "DIR")]
    svg: Option<PathBuf>,
    /// Serial speed when SOURCE is a serial device.
    #[arg(long, default_value_t = 115_200)]
    baud: u32,
    /// Stop after this many seconds (live sources; also Ctrl-C).
    #[arg(long, value_name = "SECS")]
    duration: Option<f64>,
    /// Where the stream comes from (as for rtdecode itself).
    source: String,
}

#[derive(clap::Args, Debug)]
struct ExportArgs {
    /// The Perfetto trace format (protobuf TrackEvent packets).
    #[arg(long, required = true)]
    perfetto: bool,
    /// Where to write the trace.
    #[arg(short = 'o', long = "output", value_name = "FILE")]
    output: PathBuf,
    /// Serial speed when SOURCE is a serial device.
    #[arg(long, default_value_t = 115_200)]
    baud: u32,
    /// Stop after this many seconds (live sources; also Ctrl-C).
    #[arg(long, value_name = "SECS")]
    duration: Option<f64>,
    /// Where the stream comes from (as for rtdecode itself).
    source: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum ColorWhen {
    Auto,
    Always,
    Never,
}

impl ColorWhen {
    /// Auto follows anstream's reading of the terminal and the environment
    /// (NO_COLOR, CLICOLOR, CLICOLOR_FORCE, TERM).
    fn on(self) -> bool {
        match self {
            ColorWhen::Always => true,
            ColorWhen::Never => false,
            ColorWhen::Auto => !matches!(
                anstream::AutoStream::choice(&io::stdout()),
                anstream::ColorChoice::Never
            ),
        }
    }
}

#[derive(Debug, Error)]
enum Error {
    #[error(transparent)]
    Source(#[from] source::SourceError),
    #[error("cannot create the record file {path}: {source} (check the directory exists and is writable)")]
    RecordCreate { path: PathBuf, source: io::Error },
    #[error("writing the record file {path}: {source} (is the disk full?); the output so far is complete")]
    RecordWrite { path: PathBuf, source: io::Error },
    #[error("writing output: {0}")]
    Output(io::Error),
    #[error("cannot create the trace file {path}: {source} (check the directory exists and is writable)")]
    ExportCreate { path: PathBuf, source: io::Error },
    #[error("writing the trace file {path}: {source} (is the disk full?); the file is incomplete")]
    ExportWrite { path: PathBuf, source: io::Error },
    #[error("reading {name}: {source}; what was read before is decoded above")]
    Read { name: String, source: io::Error },
    #[error(transparent)]
    Serve(#[from] serve::ServeError),
    #[error("cannot create the report {path}: {source} (check the directory exists and is writable)")]
    ReportCreate { path: PathBuf, source: io::Error },
    #[error("writing the report {path}: {source} (is the disk full?); the file is incomplete")]
    ReportWrite { path: PathBuf, source: io::Error },
    #[error("cannot create the chart directory {path}: {source} (give --svg a directory that can be created)")]
    ReportSvgDir { path: PathBuf, source: io::Error },
    #[error("cannot write the chart {path}: {source} (check that --svg names a writable directory)")]
    ReportSvg { path: PathBuf, source: io::Error },
    #[error(transparent)]
    Report(#[from] rtdecode::report::ReportError),
    #[error("reading {name}: {source}; the report holds what was read before")]
    ReportRead { name: String, source: io::Error },
}

static STOP: AtomicBool = AtomicBool::new(false);

extern "C" fn on_signal(_: nix::libc::c_int) {
    STOP.store(true, Ordering::SeqCst);
}

fn install_signals() {
    use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
    let act = SigAction::new(SigHandler::Handler(on_signal), SaFlags::empty(), SigSet::empty());
    for s in [Signal::SIGINT, Signal::SIGTERM] {
        // SAFETY: the handler only stores to an atomic (async-signal-safe).
        let _ = unsafe { sigaction(s, &act) };
    }
}

enum Chunk {
    Data(Vec<u8>),
    End(Option<io::Error>),
}

/// A broken pipe (`rtdecode ... | head`) is a normal way to stop.
fn output(e: io::Error) -> Result<(), Error> {
    if e.kind() == io::ErrorKind::BrokenPipe {
        Ok(())
    } else {
        Err(Error::Output(e))
    }
}

fn run(cli: Cli) -> Result<(), Error> {
    if let Some(Cmd::Serve(a)) = &cli.cmd {
        return Ok(serve::run(a)?);
    }
    if let Some(Cmd::Report(a)) = cli.cmd {
        return report(a);
    }
    if let Some(Cmd::Export(a)) = cli.cmd {
        return export(a);
    }
    if cli.schema {
        return io::stdout()
            .write_all(rtdecode::json::schema().as_bytes())
            .or_else(output);
    }
    let spec = cli.source.as_deref().unwrap_or("-");
    let src = source::open(spec, cli.baud)?;
    let record = match &cli.record {
        Some(p) => Some((
            File::create(p).map_err(|source| Error::RecordCreate {
                path: p.clone(),
                source,
            })?,
            p.clone(),
        )),
        None => None,
    };
    let stdout = io::stdout();
    let out = io::BufWriter::new(stdout.lock());
    let mut printer: Box<dyn Printer> = if cli.json {
        Box::new(JsonPrinter::new(out))
    } else {
        // Live sources pace the summaries by wall time; a capture by its own
        // timestamps.
        let pace = if src.live {
            Pace::Wall(Instant::now())
        } else {
            Pace::Stream
        };
        let mut p = TextPrinter::new(out, pace);
        p.hist = cli.hist;
        p.color = cli.color.on();
        Box::new(p)
    };
    pump(src, printer.as_mut(), cli.duration, record)
}

/// `rtdecode export --perfetto SOURCE -o FILE`.
fn export(a: ExportArgs) -> Result<(), Error> {
    let src = source::open(&a.source, a.baud)?;
    let file = File::create(&a.output).map_err(|source| Error::ExportCreate {
        path: a.output.clone(),
        source,
    })?;
    let mut p = PerfettoPrinter::new(io::BufWriter::new(file));
    pump(src, &mut p, a.duration, None).map_err(|e| match e {
        Error::Output(source) => Error::ExportWrite {
            path: a.output.clone(),
            source,
        },
        e => e,
    })?;
    if let Some(s) = p.summary {
        eprintln!(
            "rtdecode: wrote {}: {} worst cases and {} violations of {} tasks on {} CPUs \
             (open it in ui.perfetto.dev or Perfetto's trace processor)",
            a.output.display(),
            s.worst,
            s.violations,
            s.tasks,
            s.cpus
        );
    }
    Ok(())
}

/// `rtdecode report SOURCE -o FILE [--svg DIR]`. The files are created
/// first (a bad path fails before a long replay); the page is written at
/// the end of the input, also when reading failed midway (what was read
/// is in it).
fn report(a: ReportArgs) -> Result<(), Error> {
    let mut src = source::open(&a.source, a.baud)?;
    if let Some(dir) = &a.svg {
        std::fs::create_dir_all(dir).map_err(|source| Error::ReportSvgDir {
            path: dir.clone(),
            source,
        })?;
    }
    let mut file = File::create(&a.output).map_err(|source| Error::ReportCreate {
        path: a.output.clone(),
        source,
    })?;
    // Progress on a terminal: bytes read of the file's size.
    let total = std::fs::metadata(&a.source)
        .ok()
        .filter(|m| m.is_file())
        .map(|m| m.len());
    src.reader = Box::new(rtdecode::report::Progress::new(src.reader, total));
    let name = src.name.clone();
    let mut p = rtdecode::report::ReportPrinter::new(a.source.clone());
    let pumped = pump(src, &mut p, a.duration, None);
    if let Some(r) = p.report.take() {
        let page = r.render()?;
        let write = |f: &mut File| {
            f.write_all(page.html.as_bytes())?;
            f.flush()
        };
        write(&mut file).map_err(|source| Error::ReportWrite {
            path: a.output.clone(),
            source,
        })?;
        if let Some(dir) = &a.svg {
            for c in &page.charts {
                let path = dir.join(c.file_name());
                std::fs::write(&path, &c.svg).map_err(|source| Error::ReportSvg { path, source })?;
            }
        }
        let s = page.summary;
        eprintln!(
            "rtdecode: wrote {}: {} findings ({} violated), {} histograms, {} violation charts, {} worst cases{}{}",
            a.output.display(),
            s.findings,
            s.violated,
            s.histograms,
            s.violation_charts,
            s.worst_cases,
            if s.worst_undrawn > 0 {
                format!(" drawn ({} smaller ones listed only)", s.worst_undrawn)
            } else {
                String::new()
            },
            a.svg
                .as_ref()
                .map(|d| format!("; {} charts in {}", page.charts.len(), d.display()))
                .unwrap_or_default()
        );
    }
    pumped.map_err(|e| match e {
        Error::Read { source, .. } => Error::ReportRead { name, source },
        e => e,
    })
}

/// Feed `src` to `printer` until its end, Ctrl-C or `duration`, keeping the
/// raw bytes in `record` if given; then the printer's end.
fn pump(
    src: source::Source,
    printer: &mut dyn Printer,
    duration: Option<f64>,
    mut record: Option<(File, PathBuf)>,
) -> Result<(), Error> {
    install_signals();
    let deadline = duration.map(|s| Instant::now() + Duration::from_secs_f64(s.max(0.0)));

    // A reader thread keeps the main loop free to notice Ctrl-C, --duration
    // and idle periods (to show a shell prompt that has no newline yet).
    let (tx, rx) = mpsc::sync_channel::<Chunk>(64);
    let mut reader = src.reader;
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 16 * 1024];
        loop {
            match reader.read(&mut buf) {
                Ok(0) => {
                    let _ = tx.send(Chunk::End(None));
                    return;
                }
                Ok(n) => {
                    if tx.send(Chunk::Data(buf[..n].to_vec())).is_err() {
                        return;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let _ = tx.send(Chunk::End(Some(e)));
                    return;
                }
            }
        }
    });

    let mut dec = Decoder::new();
    let mut end_error = None;
    let mut record_error = None;
    loop {
        if STOP.load(Ordering::SeqCst) || deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(Chunk::Data(d)) => {
                if let Some((f, p)) = &mut record {
                    // Keep decoding (nothing is lost on screen); report at the end.
                    if let Err(source) = f.write_all(&d) {
                        record_error = Some(Error::RecordWrite {
                            path: p.clone(),
                            source,
                        });
                        record = None;
                    }
                }
                if let Err(e) = dec.feed(&d, printer) {
                    return output(e);
                }
                if src.live {
                    if let Err(e) = printer.tick(dec.state(), std::time::SystemTime::now()) {
                        return output(e);
                    }
                    printer.flush().or_else(output)?;
                }
            }
            Ok(Chunk::End(e)) => {
                end_error = e;
                break;
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                // Idle: show pending console text (a prompt) now.
                if let Err(e) = dec.idle(printer) {
                    return output(e);
                }
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    if let Err(e) = dec.finish(printer) {
        return output(e);
    }
    if let Some((f, _)) = &mut record {
        let _ = f.flush();
    }
    if let Some(e) = record_error {
        return Err(e);
    }
    if let Some(source) = end_error {
        if src.live {
            eprintln!("rtdecode: {} closed: {source}", src.name);
        } else {
            return Err(Error::Read { name: src.name, source });
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match run(cli) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rtdecode: {e}");
            ExitCode::FAILURE
        }
    }
}
