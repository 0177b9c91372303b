//! Budget windows of `rt_tracer.ko` from Rust, one line each:
//!
//! ```no_run
//! use std::time::Duration;
//! # fn step() {}
//! let w = rtt_window::start(Duration::from_micros(500))?; // this section: 500 us at most
//! step();
//! let outcome = w.stop()?;                                 // Ok(outcome) also when over
//! if outcome.over_budget {
//!     eprintln!("step took {:?}, waited {:?} for the CPU", outcome.duration, outcome.waiting);
//! }
//! # Ok::<(), rtt_window::WindowError>(())
//! ```
//!
//! A window belongs to the thread that starts it (tracked by the module
//! from its first START on). Its deadline is reported by the module at
//! start + budget, from a hard-IRQ timer, whether or not the stop ever
//! comes (the record stream, `rt_tracer:window_overrun` in tracefs, and
//! [`Windows::overruns`] / readability of the file). Nesting: a start
//! inside an open window only counts a level, and only the outermost stop
//! closes it and is judged (`rt_tracer.h`, RTT_IOC_WINDOW_START). The
//! [`Window`] guard stops on drop too, so an early return or a `?` still
//! closes the section.
//!
//! The process-wide functions ([`start`], [`start_tagged`]) use one file
//! opened on first use, write-only (the one reader of the record stream,
//! the agent, stays free), as the C helper `<linux/rtt_window.h>` does;
//! [`Windows`] gives a file of your own, e.g. to poll it for overruns.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::fd::{AsFd, AsRawFd, BorrowedFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use rt_uapi::{ioctl, RttWindowResult, RttWindowStart, RTT_WINDOW_MAX_DEPTH, RTT_WINF_DEADLINE, RTT_WINF_OVERRUN};
use thiserror::Error;

pub const DEVICE: &str = "/dev/rt_tracer";

#[derive(Debug, Error)]
pub enum WindowError {
    #[error("{path}: {source} (is rt_tracer loaded? `modprobe rt_tracer`; opening it needs root)")]
    Open { path: PathBuf, source: io::Error },
    #[error("a budget must be more than 0 ns and less than 2^62 ns, got {0:?}")]
    Budget(Duration),
    #[error("windows nest {RTT_WINDOW_MAX_DEPTH} deep at most: a stop is missing before this start")]
    TooDeep,
    #[error("no window is open in this thread (each thread stops its own windows)")]
    NotOpen,
    #[error("no free window: rt_tracer's max_windows are open (modprobe rt_tracer max_windows=N), or its task capacity is used up")]
    NoCapacity,
    #[error(
        "rt_tracer refused the window ioctl (EINVAL): is the module of another UAPI version than this crate's {}.{}?",
        rt_uapi::RTT_UAPI_MAJOR,
        rt_uapi::RTT_UAPI_MINOR
    )]
    Refused,
    #[error("window ioctl: {0}")]
    Io(io::Error),
}

impl WindowError {
    fn from_errno(e: io::Error) -> Self {
        match e.raw_os_error() {
            Some(libc::E2BIG) => WindowError::TooDeep,
            Some(libc::ENOENT) => WindowError::NotOpen,
            Some(libc::ENOSPC) => WindowError::NoCapacity,
            Some(libc::EINVAL) => WindowError::Refused,
            _ => WindowError::Io(e),
        }
    }
}

/// What a stop says about the window.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Outcome {
    /// The duration passed the budget (the module reported it).
    pub over_budget: bool,
    /// Its deadline fired while it was open (reported then, before this stop).
    pub deadline_reported: bool,
    /// Levels still open: > 0 after an inner stop (then `duration` is so far).
    pub depth: u32,
    pub tag: u64,
    pub budget: Duration,
    /// CLOCK_MONOTONIC of the start, in ns.
    pub start_ns: u64,
    pub duration: Duration,
    /// Where the time went (sums to `duration`).
    pub running: Duration,
    /// Runnable, waiting for a CPU.
    pub waiting: Duration,
    pub sleep_timer: Duration,
    pub sleep_lock: Duration,
    pub sleep_io: Duration,
    pub sleep_other: Duration,
}

impl Outcome {
    fn from_result(r: &RttWindowResult, over: bool) -> Outcome {
        let ns = Duration::from_nanos;
        let b = &r.breakdown;
        Outcome {
            over_budget: over || r.flags & RTT_WINF_OVERRUN != 0,
            deadline_reported: r.flags & RTT_WINF_DEADLINE != 0,
            depth: r.depth,
            tag: r.tag,
            budget: ns(r.budget_ns),
            start_ns: r.start_ns,
            duration: ns(r.duration_ns),
            running: ns(b.running_ns),
            waiting: ns(b.waiting_ns),
            sleep_timer: ns(b.sleep_ns[0]),
            sleep_lock: ns(b.sleep_ns[1]),
            sleep_io: ns(b.sleep_ns[2]),
            sleep_other: ns(b.sleep_ns[3]),
        }
    }
}

/// A file of `/dev/rt_tracer` to start windows on. Readable (poll) while
/// overruns of its windows are not yet taken with [`Windows::overruns`].
#[derive(Debug)]
pub struct Windows {
    file: File,
}

impl Windows {
    /// `/dev/rt_tracer`, write-only.
    pub fn open() -> Result<Windows, WindowError> {
        Self::open_path(Path::new(DEVICE))
    }

    pub fn open_path(path: &Path) -> Result<Windows, WindowError> {
        OpenOptions::new()
            .write(true)
            .custom_flags(libc::O_CLOEXEC)
            .open(path)
            .map(|file| Windows { file })
            .map_err(|source| WindowError::Open {
                path: path.to_path_buf(),
                source,
            })
    }

    /// Opens a window of `budget` for the calling thread, tag 0.
    pub fn start(&self, budget: Duration) -> Result<Window<'_>, WindowError> {
        self.start_tagged(budget, 0)
    }

    /// Opens a window with a tag of yours (statistics are kept per tag).
    pub fn start_tagged(&self, budget: Duration, tag: u64) -> Result<Window<'_>, WindowError> {
        let budget_ns = u64::try_from(budget.as_nanos()).unwrap_or(u64::MAX);
        if budget_ns == 0 || budget_ns > 1 << 62 {
            return Err(WindowError::Budget(budget));
        }
        let ws = RttWindowStart {
            size: std::mem::size_of::<RttWindowStart>() as u32,
            flags: 0,
            budget_ns,
            tag,
            reserved: 0,
        };
        // SAFETY: the request number carries RttWindowStart's size; the
        // kernel reads exactly that struct from a live reference.
        let r = unsafe {
            libc::ioctl(
                self.file.as_raw_fd(),
                ioctl::WINDOW_START as _,
                &ws as *const RttWindowStart,
            )
        };
        if r < 0 {
            return Err(WindowError::from_errno(io::Error::last_os_error()));
        }
        Ok(Window {
            owner: self,
            done: false,
        })
    }

    /// Stops the calling thread's innermost window level: `Ok` within and
    /// over budget alike (see [`Outcome::over_budget`]).
    pub fn stop(&self) -> Result<Outcome, WindowError> {
        let mut res = RttWindowResult {
            size: std::mem::size_of::<RttWindowResult>() as u32,
            ..Default::default()
        };
        // SAFETY: as in start_tagged; the kernel writes the struct back.
        let r = unsafe {
            libc::ioctl(
                self.file.as_raw_fd(),
                ioctl::WINDOW_STOP as _,
                &mut res as *mut RttWindowResult,
            )
        };
        if r < 0 {
            let e = io::Error::last_os_error();
            if e.raw_os_error() == Some(libc::EOVERFLOW) {
                return Ok(Outcome::from_result(&res, true));
            }
            return Err(WindowError::from_errno(e));
        }
        Ok(Outcome::from_result(&res, false))
    }

    /// The overruns reported (deadlines fired) for windows started on this
    /// file since the last call; the file stops being readable.
    pub fn overruns(&self) -> Result<u64, WindowError> {
        let mut n = 0u64;
        // SAFETY: the request number carries u64's size.
        let r = unsafe { libc::ioctl(self.file.as_raw_fd(), ioctl::WINDOW_OVERRUNS as _, &mut n as *mut u64) };
        if r < 0 {
            return Err(WindowError::from_errno(io::Error::last_os_error()));
        }
        Ok(n)
    }
}

impl AsFd for Windows {
    fn as_fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }
}

impl AsRawFd for Windows {
    fn as_raw_fd(&self) -> RawFd {
        self.file.as_raw_fd()
    }
}

/// An open window level; [`Window::stop`] closes it, dropping it too (the
/// outcome then is lost: stop it to see it).
#[must_use = "a window is stopped when this is dropped: keep it for the section's length"]
#[derive(Debug)]
pub struct Window<'a> {
    owner: &'a Windows,
    done: bool,
}

impl Window<'_> {
    pub fn stop(mut self) -> Result<Outcome, WindowError> {
        self.done = true;
        self.owner.stop()
    }
}

impl Drop for Window<'_> {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.owner.stop();
        }
    }
}

static SHARED: OnceLock<Windows> = OnceLock::new();

fn shared() -> Result<&'static Windows, WindowError> {
    if let Some(w) = SHARED.get() {
        return Ok(w);
    }
    let w = Windows::open()?;
    // another thread may have opened one meanwhile: keep the first
    Ok(SHARED.get_or_init(|| w))
}

/// [`Windows::start`] on the process's shared file.
pub fn start(budget: Duration) -> Result<Window<'static>, WindowError> {
    shared()?.start(budget)
}

/// [`Windows::start_tagged`] on the process's shared file.
pub fn start_tagged(budget: Duration, tag: u64) -> Result<Window<'static>, WindowError> {
    shared()?.start_tagged(budget, tag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zero_or_huge_budget_is_refused_before_the_kernel() {
        // /dev/null takes the place of the device: the budget check comes first
        let w = Windows::open_path(Path::new("/dev/null")).unwrap();
        assert!(matches!(w.start(Duration::ZERO), Err(WindowError::Budget(_))));
        assert!(matches!(
            w.start(Duration::from_secs(u64::MAX)),
            Err(WindowError::Budget(_))
        ));
        // and an ioctl /dev/null does not know is an error, not a window
        assert!(matches!(w.start(Duration::from_micros(1)), Err(WindowError::Io(_))));
    }

    #[test]
    fn a_missing_device_says_what_to_do() {
        let e = Windows::open_path(Path::new("/nonexistent/rt_tracer"))
            .unwrap_err()
            .to_string();
        assert!(e.contains("modprobe rt_tracer"), "{e}");
    }

    #[test]
    fn outcomes_read_the_result() {
        let mut r = RttWindowResult {
            flags: RTT_WINF_OVERRUN | RTT_WINF_DEADLINE,
            tag: 7,
            budget_ns: 1000,
            duration_ns: 1500,
            depth: 0,
            ..Default::default()
        };
        r.breakdown.running_ns = 500;
        r.breakdown.waiting_ns = 600;
        r.breakdown.sleep_ns = [100, 200, 50, 50];
        let o = Outcome::from_result(&r, true);
        assert!(o.over_budget && o.deadline_reported);
        assert_eq!(
            (o.tag, o.duration, o.waiting),
            (7, Duration::from_nanos(1500), Duration::from_nanos(600))
        );
        assert_eq!(
            (o.sleep_timer, o.sleep_lock, o.sleep_io, o.sleep_other).1,
            Duration::from_nanos(200)
        );
        assert_eq!(
            o.running + o.waiting + o.sleep_timer + o.sleep_lock + o.sleep_io + o.sleep_other,
            o.duration
        );
    }
}
