//! rtt-bind: budget windows on unmodified binaries by function name.
//!
//!   rtt-bind add /usr/bin/app:control_step control_done 500us
//!   rtt-bind add --print --as /usr/bin/app ./build/app:control_step control_done 500us
//!   rtt-bind del /usr/bin/app:control_step
//!   rtt-bind list
//!   rtt-bind resolve /usr/bin/app:control_step control_done+0x8
//!
//! The module takes ELF file offsets (/sys/kernel/rt_tracer/windows,
//! RTT_IOC_WINDOW_BIND); this resolves names to them, on the target or,
//! with --print, on the host from the same binary.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use rpi_agent::duration::{parse_duration_ns, DurationError};
use rt_uapi::{ioctl, RttWindowBind};
use rtt_elf::{Binding, Elf, ElfError, Point, PointError};
use thiserror::Error;

const WINDOWS: &str = "/sys/kernel/rt_tracer/windows";

#[derive(Parser, Debug)]
#[command(version, about = "Bind rt_tracer budget windows to functions of unmodified binaries")]
struct Cli {
    /// Module device for the bind ioctl.
    #[arg(long, value_name = "PATH", default_value = "/dev/rt_tracer", global = true)]
    device: PathBuf,
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Subcommand, Debug)]
enum Cmd {
    /// Bind a window: from START to STOP in PATH, at most BUDGET
    /// (250us, 1.5ms, 2s; a bare number is ns).
    Add {
        /// PATH:START (a function, function+OFFSET or a file offset)
        target: String,
        /// STOP, in the same file
        stop: String,
        budget: String,
        /// Print the module's line instead of binding (e.g. on the host).
        #[arg(long)]
        print: bool,
        /// The path the target system knows the binary by, when the file
        /// read here is a copy (with --print).
        #[arg(long = "as", value_name = "PATH")]
        as_path: Option<String>,
    },
    /// Remove the window bound at PATH:START.
    Del { target: String },
    /// The bindings and what their probes did.
    List,
    /// Print the file offset of each point of PATH.
    Resolve {
        /// PATH:POINT
        target: String,
        /// More points of the same file.
        points: Vec<String>,
    },
}

#[derive(Debug, Error)]
enum BindError {
    #[error("`{0}`: expected PATH:POINT, e.g. /usr/bin/app:control_step")]
    Target(String),
    #[error(transparent)]
    Point(#[from] PointError),
    #[error(transparent)]
    Elf(#[from] ElfError),
    #[error(transparent)]
    Budget(#[from] DurationError),
    #[error("budget `{0}`: a window's budget must be more than 0")]
    ZeroBudget(String),
    #[error("{path}: {source} (is rt_tracer loaded? `modprobe rt_tracer`; binding needs root)")]
    Device { path: PathBuf, source: std::io::Error },
    #[error("the module refused `{spec}`: {source}{hint} (its kernel log line says more: dmesg)")]
    Refused {
        spec: String,
        source: std::io::Error,
        hint: &'static str,
    },
    #[error("{WINDOWS}: {0} (is rt_tracer loaded?)")]
    List(std::io::Error),
    #[error("the spec `{0}` is longer than the module takes (255 bytes)")]
    TooLong(String),
}

fn split_target(t: &str) -> Result<(&str, Point), BindError> {
    match t.rsplit_once(':') {
        Some((path, point)) if !path.is_empty() => Ok((path, Point::parse(point)?)),
        _ => Err(BindError::Target(t.to_string())),
    }
}

/// The agent's duration syntax (one parser for both binaries), and more
/// than 0: the module takes no window without a budget.
fn budget_ns(s: &str) -> Result<u64, BindError> {
    match parse_duration_ns(s)? {
        0 => Err(BindError::ZeroBudget(s.into())),
        n => Ok(n),
    }
}

fn hint(errno: Option<i32>) -> &'static str {
    match errno {
        Some(libc::EEXIST) => " (PATH:START is bound already: `rtt-bind del` it first)",
        Some(libc::ENOENT) => " (no such file on this system, or not bound)",
        Some(libc::ERANGE) => " (an offset beyond the file)",
        Some(libc::EINVAL) => " (START == STOP, not a regular file, or an offset uprobes cannot take)",
        Some(libc::ENOSPC) => " (all 16 bindings are in use: `rtt-bind list`)",
        Some(libc::EPERM) => " (needs CAP_SYS_ADMIN)",
        Some(libc::ENOTTY) => {
            " (the module predates bindings by ioctl, UAPI 1.4: write the line to /sys/kernel/rt_tracer/windows)"
        }
        _ => "",
    }
}

fn send(device: &Path, spec: &str) -> Result<(), BindError> {
    use std::os::fd::AsRawFd;
    let arg = RttWindowBind::new(spec).ok_or_else(|| BindError::TooLong(spec.to_string()))?;
    let f = std::fs::OpenOptions::new()
        .write(true)
        .open(device)
        .map_err(|source| BindError::Device {
            path: device.to_path_buf(),
            source,
        })?;
    // SAFETY: WINDOW_BIND's number carries RttWindowBind's size; the
    // module only reads the struct, which lives across the call.
    let r = unsafe { libc::ioctl(f.as_raw_fd(), ioctl::WINDOW_BIND as _, &arg as *const RttWindowBind) };
    if r < 0 {
        let source = std::io::Error::last_os_error();
        return Err(BindError::Refused {
            spec: spec.to_string(),
            hint: hint(source.raw_os_error()),
            source,
        });
    }
    Ok(())
}

fn run(cli: Cli) -> Result<(), BindError> {
    match cli.cmd {
        Cmd::Add {
            target,
            stop,
            budget,
            print,
            as_path,
        } => {
            let (path, start) = split_target(&target)?;
            let mut b = Binding::resolve(path, &start, &Point::parse(&stop)?, budget_ns(&budget)?)?;
            if let Some(p) = as_path {
                b.path = p;
            }
            if print {
                println!("{}", b.bind_spec());
            } else {
                send(&cli.device, &b.bind_spec())?;
                println!("bound: {}", b.bind_spec());
            }
        }
        Cmd::Del { target } => {
            let (path, start) = split_target(&target)?;
            let off = match start {
                Point::Offset(o) => o,
                p => Elf::open(Path::new(path))?.file_offset(&p)?,
            };
            let spec = format!("-p {path}:{off:#x}");
            send(&cli.device, &spec)?;
            println!("unbound: {path}:{off:#x}");
        }
        Cmd::List => print!("{}", std::fs::read_to_string(WINDOWS).map_err(BindError::List)?),
        Cmd::Resolve { target, points } => {
            let (path, first) = split_target(&target)?;
            let elf = Elf::open(Path::new(path))?;
            let mut all = vec![first];
            for p in &points {
                all.push(Point::parse(p)?);
            }
            for p in &all {
                println!("{path}:{p} {:#x}", elf.file_offset(p)?);
            }
        }
    }
    Ok(())
}

fn main() -> ExitCode {
    match run(Cli::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("rtt-bind: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn budgets_are_durations_above_zero() {
        assert_eq!(budget_ns("500us").ok(), Some(500_000));
        assert_eq!(budget_ns("250").ok(), Some(250));
        let err = |s: &str| budget_ns(s).map(|_| ()).err().map(|e| e.to_string());
        assert_eq!(
            err("fast").as_deref(),
            Some("`fast` is not a duration (examples: 250ns, 100us, 1.5ms, 2s; a bare number is ns)")
        );
        assert_eq!(
            err("3h").as_deref(),
            Some("unknown unit `h` in duration `3h` (use ns, us, ms or s)")
        );
        assert_eq!(
            err("0ms").as_deref(),
            Some("budget `0ms`: a window's budget must be more than 0")
        );
    }
}
