//! rtdecode [--baud N] [--json] [--record FILE] [--duration SECS] SOURCE

use std::fs::File;
use std::io::{self, Read, Write};
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use clap::Parser;
use rt_protocol::StreamDecoder;
use rtdecode::{
    source,
    view::{Pace, View},
};

/// Decode the rpi-agent stream: console text passes through, frames become a
/// live view (or JSON lines with --json).
#[derive(Parser, Debug)]
#[command(
    version,
    after_help = "SOURCE: a serial device (/dev/ttyUSB0), a capture file, `-` (stdin), \
unix:PATH or tcp:HOST:PORT (e.g. a QEMU serial socket).\nA capture file ends at EOF; a live source runs \
until Ctrl-C or --duration."
)]
struct Cli {
    /// Serial speed when SOURCE is a serial device.
    #[arg(long, default_value_t = 115_200)]
    baud: u32,
    /// One JSON object per line instead of the readable view.
    #[arg(long)]
    json: bool,
    /// Also keep the raw bytes in FILE (replay later with `rtdecode FILE`).
    #[arg(long, value_name = "FILE")]
    record: Option<std::path::PathBuf>,
    /// Stop after this many seconds (live sources).
    #[arg(long, value_name = "SECS")]
    duration: Option<f64>,
    /// Where the stream comes from.
    source: String,
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

fn run(cli: Cli) -> Result<(), String> {
    let src = source::open(&cli.source, cli.baud)?;
    let mut record = match &cli.record {
        Some(p) => Some(File::create(p).map_err(|e| format!("cannot create {}: {e}", p.display()))?),
        None => None,
    };
    install_signals();
    let deadline = cli
        .duration
        .map(|s| Instant::now() + Duration::from_secs_f64(s.max(0.0)));

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

    let stdout = io::stdout();
    // Live sources pace the summaries of repeated violations by wall time; a
    // capture replays at the pace of its own timestamps.
    let pace = if src.live {
        Pace::Wall(Instant::now())
    } else {
        Pace::Stream
    };
    let mut view = View::with_pace(io::BufWriter::new(stdout.lock()), cli.json, pace);
    let mut dec = Box::new(StreamDecoder::new());
    let out_err = |e: io::Error| format!("writing output: {e}");
    let mut end_error = None;
    loop {
        if STOP.load(Ordering::SeqCst) || deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
        match rx.recv_timeout(Duration::from_millis(100)) {
            Ok(Chunk::Data(d)) => {
                if let Some(f) = &mut record {
                    f.write_all(&d).map_err(|e| format!("writing the record file: {e}"))?;
                }
                match rtdecode::feed(&mut dec, &mut view, &d) {
                    Err(e) if e.kind() == io::ErrorKind::BrokenPipe => return Ok(()),
                    r => r.map_err(out_err)?,
                }
                if src.live {
                    view.tick().map_err(out_err)?;
                    view.flush_console().map_err(out_err)?;
                }
            }
            Ok(Chunk::End(e)) => {
                end_error = e;
                break;
            }
            Err(mpsc::RecvTimeoutError::Timeout) => {
                // Idle: show pending console text (a prompt) now.
                dec.flush_console(&mut |item: rt_protocol::Item<'_>| {
                    let _ = view.item(item);
                });
                view.tick().map_err(out_err)?;
                view.flush_console().map_err(out_err)?;
            }
            Err(mpsc::RecvTimeoutError::Disconnected) => break,
        }
    }
    rtdecode::finish(&mut dec, &mut view).map_err(out_err)?;
    if let Some(f) = &mut record {
        let _ = f.flush();
    }
    if let Some(e) = end_error {
        if src.live {
            eprintln!("rtdecode: {} closed: {e}", src.name);
        } else {
            return Err(format!("reading {}: {e}", src.name));
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
