//! Rust mirror of `rt-tracer-module/include/uapi/linux/rt_tracer.h`, field by
//! field. Sizes are asserted at compile time against the C sizes (checked by
//! `tests/c_layout.rs`, which compiles the header with the host C compiler).
//! Records are parsed from byte buffers with `zerocopy` (no unsafe here).
#![no_std]

use zerocopy::{FromBytes, Immutable, IntoBytes, KnownLayout};

pub const RTT_UAPI_MAJOR: u32 = 1;
/// 1: `RttEvent::flags`; 2: `RttRecWorst::nr_culprits`; 3: budget windows
/// (`ioctl::WINDOW_*`, `RttRecWindow`); 4: `RttRecWindowStats`,
/// `ioctl::WINDOW_BIND`.
pub const RTT_UAPI_MINOR: u32 = 4;

pub const RTT_COMM_LEN: usize = 16;
pub const RTT_LOG2_BUCKETS: usize = 32;
pub const RTT_LIN_BUCKETS: usize = 32;
pub const RTT_TRACE_EVENTS: usize = 24;
pub const RTT_CULPRITS: usize = 4;
pub const RTT_NR_METRICS: usize = 5;
pub const RTT_NR_SLEEP_CAUSES: usize = 4;

/// `RttEvent::flags`: a wakeup from hard interrupt context (a hard IRQ
/// handler, an hrtimer such as an RT task's nanosleep): `other_*` is the
/// task that was interrupted, not the one that woke it.
pub const RTT_EVF_HARDIRQ: u8 = 0x01;

pub const RTT_METRIC_LATENCY: u32 = 0;
pub const RTT_METRIC_RESPONSE: u32 = 1;
pub const RTT_METRIC_RELIEF: u32 = 2;
pub const RTT_METRIC_IRQ_DELAY: u32 = 3;
pub const RTT_METRIC_IRQ: u32 = 4;

pub const RTT_TRACK_PID: u32 = 1;
pub const RTT_TRACK_TGID: u32 = 2;
pub const RTT_TRACK_IRQ: u32 = 3;

pub const RTT_F_TRACE: u32 = 1 << 0;
pub const RTT_F_EXITED: u32 = 1 << 1;
pub const RTT_F_IRQ_THREAD: u32 = 1 << 2;

pub const RTT_REC_TASK: u16 = 1;
pub const RTT_REC_VIOLATION: u16 = 2;
pub const RTT_REC_WORST: u16 = 3;
pub const RTT_REC_DROPPED: u16 = 4;
/// A budget window over budget (UAPI 1.3).
pub const RTT_REC_WINDOW: u16 = 5;
/// 1.4: the windows of one START tag of a task, after its `RttRecTask`.
pub const RTT_REC_WINDOW_STATS: u16 = 6;

/// `RttRecWindow::what`
pub const RTT_WIN_DEADLINE: u32 = 1;
pub const RTT_WIN_STOP: u32 = 2;

/// `RttRecWindow::state`: the breakdown field the task's time goes to.
pub const RTT_WS_RUNNING: u32 = 0;
pub const RTT_WS_WAITING: u32 = 1;
pub const RTT_WS_SLEEP_TIMER: u32 = 2;
pub const RTT_WS_SLEEP_LOCK: u32 = 3;
pub const RTT_WS_SLEEP_IO: u32 = 4;
pub const RTT_WS_SLEEP_OTHER: u32 = 5;

pub const RTT_WINDOW_MAX_DEPTH: u32 = 8;
/// `RttWindowResult::flags`
pub const RTT_WINF_OVERRUN: u32 = 1 << 0;
pub const RTT_WINF_DEADLINE: u32 = 1 << 1;

pub const RTT_INFO_IRQ_TRACEPOINTS: u32 = 1 << 0;
/// irq_delay ends at, and irq measures, the threaded handler itself (the
/// kernel patch's tracepoints); without it IRQ handling is derived from the
/// IRQ thread's scheduling events.
pub const RTT_INFO_IRQ_HANDLER_TRACEPOINTS: u32 = 1 << 1;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct RttBreakdown {
    pub running_ns: u64,
    pub waiting_ns: u64,
    pub sleep_ns: [u64; RTT_NR_SLEEP_CAUSES],
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct RttEvent {
    pub t_ns: u64,
    pub type_: u16,
    pub cpu: u16,
    pub pid: i32,
    pub other_pid: i32,
    pub prio: i16,
    pub other_prio: i16,
    pub policy: u8,
    pub other_policy: u8,
    pub prev_state: u8,
    /// `RTT_EVF_*` (0 from a UAPI 1.0 module).
    pub flags: u8,
    pub comm: [u8; RTT_COMM_LEN],
    pub other_comm: [u8; RTT_COMM_LEN],
    pub pad: u32,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct RttCulprit {
    pub pid: i32,
    pub prio: i16,
    pub policy: u8,
    pub pad: u8,
    pub ns: u64,
    pub comm: [u8; RTT_COMM_LEN],
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct RttMetricStats {
    pub count: u64,
    pub min_ns: u64,
    pub max_ns: u64,
    pub sum_ns: u64,
    pub bound_ns: u64,
    pub violations: u64,
    pub last_ns: u64,
    pub lin_lo_ns: u64,
    pub lin_step_ns: u64,
    pub lin_under: u64,
    pub lin_over: u64,
    pub log2_hist: [u64; RTT_LOG2_BUCKETS],
    pub lin_hist: [u64; RTT_LIN_BUCKETS],
    pub worst: RttBreakdown,
    pub worst_at_ns: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct RttTaskInfo {
    pub pid: i32,
    pub tgid: i32,
    pub kind: u32,
    pub irq: i32,
    pub flags: u32,
    pub prio: i16,
    pub policy: u8,
    pub pad: u8,
    pub comm: [u8; RTT_COMM_LEN],
    pub start_ns: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct RttRecHdr {
    pub type_: u16,
    pub size: u16,
    pub seq: u32,
    pub t_ns: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct RttRecTask {
    pub hdr: RttRecHdr,
    pub task: RttTaskInfo,
    pub events_dropped: u64,
    pub m: [RttMetricStats; RTT_NR_METRICS],
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct RttRecViolation {
    pub hdr: RttRecHdr,
    pub task: RttTaskInfo,
    pub metric: u32,
    pub pad: u32,
    pub value_ns: u64,
    pub bound_ns: u64,
    pub violations: u64,
    pub breakdown: RttBreakdown,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct RttRecWorst {
    pub hdr: RttRecHdr,
    pub task: RttTaskInfo,
    pub metric: u32,
    pub nr_events: u32,
    pub value_ns: u64,
    pub bound_ns: u64,
    pub events_dropped: u64,
    pub breakdown: RttBreakdown,
    pub culprits: [RttCulprit; RTT_CULPRITS],
    pub events: [RttEvent; RTT_TRACE_EVENTS],
    /// UAPI 1.2: `culprits[]` entries in use. Absent from a 1.1 record: use
    /// [`RttRecWorst::culprits_in_use`], which knows.
    pub nr_culprits: u32,
    pub pad: u32,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct RttRecDropped {
    pub hdr: RttRecHdr,
    pub violations: u64,
    pub worst: u64,
    pub exits: u64,
}

#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct RttRecWindow {
    pub hdr: RttRecHdr,
    pub task: RttTaskInfo,
    pub tag: u64,
    pub budget_ns: u64,
    pub start_ns: u64,
    pub duration_ns: u64,
    pub timer_late_ns: u64,
    pub overruns: u64,
    pub events_dropped: u64,
    pub what: u32,
    pub state: u32,
    pub depth: u32,
    pub nr_culprits: u32,
    pub nr_events: u32,
    pub pad: u32,
    pub breakdown: RttBreakdown,
    pub culprits: [RttCulprit; RTT_CULPRITS],
    pub events: [RttEvent; RTT_TRACE_EVENTS],
}

/// The windows of one START tag of a task (a binding's tag: its START
/// offset). In `st`: the stopped windows' durations, the last budget as
/// `bound_ns`, the overruns as `violations`, the longest one's breakdown.
#[derive(Debug, Clone, Copy, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct RttRecWindowStats {
    pub hdr: RttRecHdr,
    pub task: RttTaskInfo,
    pub tag: u64,
    pub abandoned: u64,
    pub tags_dropped: u64,
    /// The task's window open now: its depth; 0: none.
    pub depth: u32,
    pub nr_culprits: u32,
    pub st: RttMetricStats,
    pub culprits: [RttCulprit; RTT_CULPRITS],
}

pub const RTT_REC_MAX_SIZE: usize = core::mem::size_of::<RttRecTask>();

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct RttTrack {
    pub kind: u32,
    pub id: i32,
    pub flags: u32,
    pub reserved: u32,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct RttBound {
    pub pid: i32,
    pub metric: u32,
    pub bound_ns: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct RttLinHist {
    pub pid: i32,
    pub metric: u32,
    pub lo_ns: u64,
    pub step_ns: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct RttInfo {
    pub uapi_major: u32,
    pub uapi_minor: u32,
    pub capacity: u32,
    pub nr_tracked: u32,
    pub flags: u32,
    pub pad: u32,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct RttWindowStart {
    /// `size_of::<RttWindowStart>()`
    pub size: u32,
    pub flags: u32,
    pub budget_ns: u64,
    pub tag: u64,
    pub reserved: u64,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct RttWindowResult {
    /// in: `size_of::<RttWindowResult>()`
    pub size: u32,
    pub flags: u32,
    pub tag: u64,
    pub budget_ns: u64,
    pub start_ns: u64,
    pub duration_ns: u64,
    pub depth: u32,
    pub pad: u32,
    pub breakdown: RttBreakdown,
}

/// uprobe bindings (UAPI 1.4): at most this many at once.
pub const RTT_MAX_BINDINGS: u32 = 16;
/// A binding's PATH, in bytes, at most.
pub const RTT_BIND_PATH_MAX: u32 = 120;
/// `RttWindowBind::spec`, its NUL included.
pub const RTT_BIND_SPEC_MAX: usize = 256;

/// `ioctl::WINDOW_BIND`'s argument: one line of
/// `/sys/kernel/rt_tracer/windows`'s syntax, NUL-terminated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, FromBytes, IntoBytes, KnownLayout, Immutable)]
#[repr(C)]
pub struct RttWindowBind {
    /// `size_of::<RttWindowBind>()`
    pub size: u32,
    pub flags: u32,
    pub spec: [u8; RTT_BIND_SPEC_MAX],
}

impl RttWindowBind {
    /// `spec` ("p PATH:START STOP budget=NS" or "-p PATH:START") as the
    /// ioctl takes it; None when it does not fit or holds a NUL.
    pub fn new(spec: &str) -> Option<Self> {
        let b = spec.as_bytes();
        if b.len() >= RTT_BIND_SPEC_MAX || b.contains(&0) {
            return None;
        }
        let mut w = RttWindowBind {
            size: core::mem::size_of::<RttWindowBind>() as u32,
            flags: 0,
            spec: [0; RTT_BIND_SPEC_MAX],
        };
        w.spec[..b.len()].copy_from_slice(b);
        Some(w)
    }
}

/// C sizes (x86_64 and aarch64 agree: only fixed-width types, natural alignment).
pub mod c_size {
    pub const BREAKDOWN: usize = 48;
    pub const EVENT: usize = 64;
    pub const CULPRIT: usize = 32;
    pub const METRIC_STATS: usize = 656;
    pub const TASK_INFO: usize = 48;
    pub const REC_HDR: usize = 16;
    pub const REC_TASK: usize = 3352;
    pub const REC_VIOLATION: usize = 144;
    pub const REC_WORST: usize = 1816;
    /// `rtt_rec_worst` of UAPI 1.0 and 1.1 (before `nr_culprits`).
    pub const REC_WORST_V1_1: usize = 1808;
    pub const REC_DROPPED: usize = 40;
    pub const TRACK: usize = 16;
    pub const BOUND: usize = 16;
    pub const LIN_HIST: usize = 24;
    pub const INFO: usize = 24;
    pub const REC_WINDOW: usize = 1856;
    pub const REC_WINDOW_STATS: usize = 880;
    pub const WINDOW_START: usize = 32;
    pub const WINDOW_RESULT: usize = 96;
    pub const WINDOW_BIND: usize = 264;
}

const _: () = {
    use core::mem::size_of;
    assert!(size_of::<RttBreakdown>() == c_size::BREAKDOWN);
    assert!(size_of::<RttEvent>() == c_size::EVENT);
    assert!(size_of::<RttCulprit>() == c_size::CULPRIT);
    assert!(size_of::<RttMetricStats>() == c_size::METRIC_STATS);
    assert!(size_of::<RttTaskInfo>() == c_size::TASK_INFO);
    assert!(size_of::<RttRecHdr>() == c_size::REC_HDR);
    assert!(size_of::<RttRecTask>() == c_size::REC_TASK);
    assert!(size_of::<RttRecViolation>() == c_size::REC_VIOLATION);
    assert!(size_of::<RttRecWorst>() == c_size::REC_WORST);
    assert!(size_of::<RttRecDropped>() == c_size::REC_DROPPED);
    assert!(size_of::<RttTrack>() == c_size::TRACK);
    assert!(size_of::<RttBound>() == c_size::BOUND);
    assert!(size_of::<RttLinHist>() == c_size::LIN_HIST);
    assert!(size_of::<RttInfo>() == c_size::INFO);
    assert!(size_of::<RttRecWindow>() == c_size::REC_WINDOW);
    assert!(size_of::<RttRecWindowStats>() == c_size::REC_WINDOW_STATS);
    assert!(size_of::<RttWindowStart>() == c_size::WINDOW_START);
    assert!(size_of::<RttWindowResult>() == c_size::WINDOW_RESULT);
    assert!(size_of::<RttWindowBind>() == c_size::WINDOW_BIND);
    // nr_culprits is what 1.2 appended to the 1.1 record.
    assert!(RttRecWorst::NR_CULPRITS_END == c_size::REC_WORST_V1_1 + 4);
};

/// ioctl request numbers, computed like the kernel's `_IO*` macros
/// (asm-generic encoding, used by x86 and arm64).
pub mod ioctl {
    use super::*;
    pub const MAGIC: u32 = 0xb7;
    const NRSHIFT: u32 = 0;
    const TYPESHIFT: u32 = 8;
    const SIZESHIFT: u32 = 16;
    const DIRSHIFT: u32 = 30;
    const NONE: u32 = 0;
    const WRITE: u32 = 1;
    const READ: u32 = 2;

    const fn ioc(dir: u32, nr: u32, size: usize) -> u32 {
        (dir << DIRSHIFT) | (MAGIC << TYPESHIFT) | (nr << NRSHIFT) | ((size as u32) << SIZESHIFT)
    }

    pub const INFO: u32 = ioc(READ, 0, core::mem::size_of::<RttInfo>());
    pub const ADD: u32 = ioc(WRITE, 1, core::mem::size_of::<RttTrack>());
    pub const DEL: u32 = ioc(WRITE, 2, core::mem::size_of::<RttTrack>());
    pub const SET_BOUND: u32 = ioc(WRITE, 3, core::mem::size_of::<RttBound>());
    pub const SET_LIN_HIST: u32 = ioc(WRITE, 4, core::mem::size_of::<RttLinHist>());
    pub const RESET: u32 = ioc(NONE, 5, 0);
    pub const SNAPSHOT: u32 = ioc(NONE, 6, 0);
    pub const WINDOW_START: u32 = ioc(WRITE, 7, core::mem::size_of::<RttWindowStart>());
    pub const WINDOW_STOP: u32 = ioc(READ | WRITE, 8, core::mem::size_of::<RttWindowResult>());
    pub const WINDOW_OVERRUNS: u32 = ioc(READ, 9, core::mem::size_of::<u64>());
    pub const WINDOW_BIND: u32 = ioc(WRITE, 10, core::mem::size_of::<RttWindowBind>());
}

impl RttRecWorst {
    /// A WORST record at least this long carries `nr_culprits` (UAPI 1.2).
    pub const NR_CULPRITS_END: usize = core::mem::offset_of!(RttRecWorst, nr_culprits) + 4;

    /// The `culprits[]` entries in use: the first `nr_culprits` when the
    /// record has the field; from a 1.1 module (shorter record), the
    /// non-empty entries, as a 1.1 reader did.
    pub fn used_culprits(&self) -> impl Iterator<Item = &RttCulprit> {
        let has_count = usize::from(self.hdr.size) >= Self::NR_CULPRITS_END;
        let n = if has_count {
            (self.nr_culprits as usize).min(RTT_CULPRITS)
        } else {
            RTT_CULPRITS
        };
        self.culprits[..n]
            .iter()
            .filter(move |c| has_count || c.pid != 0 || c.ns != 0)
    }
}

/// The smallest record of a known type that a module of this major version
/// sends (its size in the first minor that had it); None: a type this mirror
/// does not know.
pub fn min_record_size(type_: u16) -> Option<usize> {
    use core::mem::size_of;
    Some(match type_ {
        RTT_REC_TASK => size_of::<RttRecTask>(),
        RTT_REC_VIOLATION => size_of::<RttRecViolation>(),
        RTT_REC_WORST => c_size::REC_WORST_V1_1,
        RTT_REC_DROPPED => size_of::<RttRecDropped>(),
        RTT_REC_WINDOW => size_of::<RttRecWindow>(),
        RTT_REC_WINDOW_STATS => size_of::<RttRecWindowStats>(),
        _ => return None,
    })
}

/// One record out of a read() buffer.
#[derive(Debug, Clone, Copy)]
#[allow(clippy::large_enum_variant)]
pub enum Record {
    Task(RttRecTask),
    Violation(RttRecViolation),
    Worst(RttRecWorst),
    Dropped(RttRecDropped),
    Window(RttRecWindow),
    WindowStats(RttRecWindowStats),
    /// A type this mirror does not know (skipped using hdr.size).
    Unknown(RttRecHdr),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RecordError {
    /// Fewer bytes left than a header, or than hdr.size: wait for more.
    Incomplete,
    /// hdr.size smaller than a header: where the next record starts is unknown.
    BadSize { type_: u16, size: u16 },
    /// A known type shorter than its oldest version: skip `size` bytes, the
    /// next record starts there.
    TooShort { type_: u16, size: u16, min: usize },
}

impl core::fmt::Display for RecordError {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            RecordError::Incomplete => f.write_str("incomplete record"),
            RecordError::BadSize { type_, size } => write!(
                f,
                "record of type {type_} claims {size} bytes, less than its header: the rest of the buffer is unreadable"
            ),
            RecordError::TooShort { type_, size, min } => {
                write!(
                    f,
                    "record of type {type_} has {size} bytes, at least {min} expected: skipped"
                )
            }
        }
    }
}

/// A record's bytes as `T`: a longer record (a newer minor appended fields)
/// by its known prefix, a shorter one (an older minor) with the missing
/// fields zero. Copied out: read() buffers need not be aligned for u64.
fn read_known<T: FromBytes + IntoBytes>(rec: &[u8]) -> T {
    let mut v = T::new_zeroed();
    let dst = v.as_mut_bytes();
    let n = rec.len().min(dst.len());
    dst[..n].copy_from_slice(&rec[..n]);
    v
}

/// Split the first record off `buf`: `(record, bytes consumed)`.
///
/// Records of unknown type are returned as [`Record::Unknown`] and skipped by
/// hdr.size. A known type is read by the prefix this mirror knows when it is
/// longer (a newer minor), and with the fields it lacks zero when it is an
/// older minor's shorter version (never shorter than [`min_record_size`]).
pub fn parse_record(buf: &[u8]) -> Result<(Record, usize), RecordError> {
    let (hdr, _) = RttRecHdr::read_from_prefix(buf).map_err(|_| RecordError::Incomplete)?;
    let size = usize::from(hdr.size);
    if size < core::mem::size_of::<RttRecHdr>() {
        return Err(RecordError::BadSize {
            type_: hdr.type_,
            size: hdr.size,
        });
    }
    if buf.len() < size {
        return Err(RecordError::Incomplete);
    }
    let rec = &buf[..size];
    let Some(min) = min_record_size(hdr.type_) else {
        return Ok((Record::Unknown(hdr), size));
    };
    if size < min {
        return Err(RecordError::TooShort {
            type_: hdr.type_,
            size: hdr.size,
            min,
        });
    }
    let r = match hdr.type_ {
        RTT_REC_TASK => Record::Task(read_known(rec)),
        RTT_REC_VIOLATION => Record::Violation(read_known(rec)),
        RTT_REC_WORST => Record::Worst(read_known(rec)),
        RTT_REC_DROPPED => Record::Dropped(read_known(rec)),
        RTT_REC_WINDOW => Record::Window(read_known(rec)),
        RTT_REC_WINDOW_STATS => Record::WindowStats(read_known(rec)),
        _ => Record::Unknown(hdr),
    };
    Ok((r, size))
}
