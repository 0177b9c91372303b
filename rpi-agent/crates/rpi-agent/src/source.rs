//! Where module records come from: `/dev/rt_tracer` (read() + ioctls) or a
//! replay file of raw concatenated records.

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;
use std::path::{Path, PathBuf};

use rt_uapi::{
    ioctl, parse_record, Record, RecordError, RttBound, RttInfo, RttLinHist, RttTrack, RttWindowBind, RTT_REC_MAX_SIZE,
};

/// read() buffer: many records per call.
pub const READ_BUF: usize = 64 * 1024;

#[derive(Debug, Default, Clone, Copy)]
pub struct SourceStats {
    pub records_read: u64,
    pub records_unknown: u64,
    pub records_bad: u64,
}

/// Record parser over a byte buffer that keeps partial records for the next read.
pub struct Parser {
    buf: Box<[u8]>,
    fill: usize,
    pub stats: SourceStats,
    /// The latest malformed record not yet reported (see [`Parser::take_bad`]).
    last_bad: Option<RecordError>,
}

impl Default for Parser {
    fn default() -> Self {
        Self::new()
    }
}

impl Parser {
    pub fn new() -> Self {
        Parser {
            buf: vec![0u8; READ_BUF + RTT_REC_MAX_SIZE].into_boxed_slice(),
            fill: 0,
            stats: SourceStats::default(),
            last_bad: None,
        }
    }

    /// What was wrong with the latest malformed record since the last call.
    pub fn take_bad(&mut self) -> Option<RecordError> {
        self.last_bad.take()
    }

    /// Space to read into.
    pub fn spare(&mut self) -> &mut [u8] {
        &mut self.buf[self.fill..]
    }

    /// `n` bytes were read into `spare()`; hand out every complete record.
    pub fn commit(&mut self, n: usize, f: &mut dyn FnMut(&Record)) {
        self.fill += n;
        let mut at = 0;
        while at < self.fill {
            match parse_record(&self.buf[at..self.fill]) {
                Ok((rec, size)) => {
                    self.stats.records_read += 1;
                    if let Record::Unknown(_) = rec {
                        self.stats.records_unknown += 1;
                    } else {
                        f(&rec);
                    }
                    at += size;
                }
                Err(RecordError::Incomplete) => break,
                Err(e @ RecordError::TooShort { size, .. }) => {
                    // Its end is known: skip it, the records after it are fine.
                    self.stats.records_bad += 1;
                    self.last_bad = Some(e);
                    at += usize::from(size);
                }
                Err(e @ RecordError::BadSize { .. }) => {
                    // Cannot find the next record boundary: drop what is buffered.
                    self.stats.records_bad += 1;
                    self.last_bad = Some(e);
                    at = self.fill;
                }
            }
        }
        self.buf.copy_within(at..self.fill, 0);
        self.fill -= at;
        if self.fill == self.buf.len() {
            // A "record" larger than the buffer: impossible for a sane stream.
            self.stats.records_bad += 1;
            self.fill = 0;
        }
    }

    /// Bytes left over that do not form a complete record.
    pub fn leftover(&self) -> usize {
        self.fill
    }
}

/// Why /dev/rt_tracer cannot be used, with what to do about it.
#[derive(Debug, thiserror::Error)]
pub enum OpenError {
    /// Not there (module not loaded): wait and retry.
    #[error("cannot open {}: {}: is rt_tracer.ko loaded? (modprobe rt_tracer)", path.display(), why)]
    Absent { path: PathBuf, why: &'static str },
    #[error("{} is busy: another program reads it (one reader at a time); stop it", path.display())]
    Busy { path: PathBuf },
    #[error("cannot open {}: permission denied: run rpi-agent as root", path.display())]
    Permission { path: PathBuf },
    #[error("cannot open {}: {source}", path.display())]
    Open { path: PathBuf, source: std::io::Error },
    #[error("RTT_IOC_INFO on {} failed: {source}: is it the rt_tracer device? (check --device)", path.display())]
    NotRtTracer { path: PathBuf, source: std::io::Error },
    #[error(
        "rt_tracer.ko speaks UAPI {module_major}.{module_minor}, rpi-agent {}.{}: install a matching module and agent",
        rt_uapi::RTT_UAPI_MAJOR,
        rt_uapi::RTT_UAPI_MINOR
    )]
    Incompatible { module_major: u32, module_minor: u32 },
}

impl OpenError {
    /// The module is not (yet) loaded: worth retrying soon.
    pub fn is_absent(&self) -> bool {
        matches!(self, OpenError::Absent { .. })
    }
}

/// A replay file that cannot be read.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    #[error("cannot open replay file {}: {source}", path.display())]
    Open { path: PathBuf, source: std::io::Error },
    #[error("cannot read replay file {}: {source}", path.display())]
    Read { path: PathBuf, source: std::io::Error },
}

/// /dev/rt_tracer: the open file and its ioctls.
pub struct Ctl {
    pub path: PathBuf,
    file: Option<File>,
    pub info: RttInfo,
}

/// The device plus the parser of what read() returns (separate fields so
/// records can be handled, with ioctls, while the parser is borrowed).
pub struct Device {
    pub ctl: Ctl,
    pub parser: Parser,
}

fn errno(e: &std::io::Error) -> i32 {
    e.raw_os_error().unwrap_or(0)
}

impl Device {
    pub fn new(path: &Path) -> Self {
        Device {
            ctl: Ctl {
                path: path.to_path_buf(),
                file: None,
                info: RttInfo::default(),
            },
            parser: Parser::new(),
        }
    }

    pub fn open(&mut self) -> Result<RttInfo, OpenError> {
        let info = self.ctl.open()?;
        self.parser = Parser::new();
        Ok(info)
    }

    /// Read everything available (non-blocking). Err: the device went away.
    pub fn read_available(&mut self, f: &mut dyn FnMut(&Ctl, &Record)) -> std::io::Result<()> {
        let Device { ctl, parser } = self;
        loop {
            let Some(mut file) = ctl.file.as_ref() else {
                return Ok(());
            };
            match file.read(parser.spare()) {
                Ok(0) => return Ok(()),
                Ok(n) => parser.commit(n, &mut |r| f(ctl, r)),
                Err(e) if e.kind() == ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == ErrorKind::Interrupted => continue,
                Err(e) => return Err(e),
            }
        }
    }
}

impl Ctl {
    pub fn is_open(&self) -> bool {
        self.file.is_some()
    }

    pub fn fd(&self) -> Option<RawFd> {
        self.file.as_ref().map(|f| f.as_raw_fd())
    }

    fn open(&mut self) -> Result<RttInfo, OpenError> {
        let f = std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
            .open(&self.path)
            .map_err(|e| {
                let path = self.path.clone();
                match errno(&e) {
                    libc::ENOENT => OpenError::Absent {
                        path,
                        why: "no such file",
                    },
                    // The node exists, the driver behind it does not (unloaded).
                    libc::ENODEV | libc::ENXIO => OpenError::Absent {
                        path,
                        why: "no such device",
                    },
                    libc::EBUSY => OpenError::Busy { path },
                    libc::EACCES | libc::EPERM => OpenError::Permission { path },
                    _ => OpenError::Open { path, source: e },
                }
            })?;
        let mut info = RttInfo::default();
        // SAFETY: RTT_IOC_INFO writes exactly one struct rtt_info (size checked
        // against the C header by rt-uapi's tests) into `info`, which outlives the call.
        let r = unsafe { libc::ioctl(f.as_raw_fd(), ioctl::INFO as _, &mut info as *mut RttInfo) };
        if r < 0 {
            return Err(OpenError::NotRtTracer {
                path: self.path.clone(),
                source: std::io::Error::last_os_error(),
            });
        }
        if info.uapi_major != rt_uapi::RTT_UAPI_MAJOR {
            return Err(OpenError::Incompatible {
                module_major: info.uapi_major,
                module_minor: info.uapi_minor,
            });
        }
        self.info = info;
        self.file = Some(f);
        Ok(info)
    }

    pub fn close(&mut self) {
        self.file = None;
    }

    fn ioctl_ptr<T>(&self, req: u32, arg: &T) -> std::io::Result<()> {
        let Some(f) = &self.file else {
            return Err(std::io::Error::from(ErrorKind::NotConnected));
        };
        // SAFETY: `req` is one of the _IOW numbers of rt_tracer.h whose size
        // equals size_of::<T>() (tested against the C header); the module only
        // reads *arg, which lives across the call.
        let r = unsafe { libc::ioctl(f.as_raw_fd(), req as _, arg as *const T) };
        if r < 0 {
            Err(std::io::Error::last_os_error())
        } else {
            Ok(())
        }
    }

    pub fn add(&self, t: &RttTrack) -> std::io::Result<()> {
        self.ioctl_ptr(ioctl::ADD, t)
    }

    pub fn set_bound(&self, b: &RttBound) -> std::io::Result<()> {
        self.ioctl_ptr(ioctl::SET_BOUND, b)
    }

    pub fn set_lin_hist(&self, l: &RttLinHist) -> std::io::Result<()> {
        self.ioctl_ptr(ioctl::SET_LIN_HIST, l)
    }

    /// A window binding's spec ("p ..." or "-p ..."), RTT_IOC_WINDOW_BIND.
    pub fn bind(&self, spec: &str) -> std::io::Result<()> {
        let arg = RttWindowBind::new(spec).ok_or_else(|| std::io::Error::from_raw_os_error(libc::E2BIG))?;
        self.ioctl_ptr(ioctl::WINDOW_BIND, &arg)
    }

    /// Queue one task record per tracked task into our read() stream.
    pub fn snapshot(&self) -> std::io::Result<()> {
        let Some(f) = &self.file else {
            return Err(std::io::Error::from(ErrorKind::NotConnected));
        };
        // SAFETY: RTT_IOC_SNAPSHOT takes no argument.
        let r = unsafe { libc::ioctl(f.as_raw_fd(), ioctl::SNAPSHOT as _, 0usize) };
        if r < 0 {
            Err(std::io::Error::last_os_error())
        } else {
            Ok(())
        }
    }
}

/// A file of raw concatenated records (what read() on the device returns).
pub struct Replay {
    path: PathBuf,
    file: File,
    pub parser: Parser,
    pub eof: bool,
}

impl Replay {
    pub fn open(path: &Path) -> Result<Self, ReplayError> {
        let file = File::open(path).map_err(|source| ReplayError::Open {
            path: path.into(),
            source,
        })?;
        Ok(Replay {
            path: path.into(),
            file,
            parser: Parser::new(),
            eof: false,
        })
    }

    /// Read one buffer's worth of records.
    pub fn read_some(&mut self, f: &mut dyn FnMut(&Record)) -> Result<(), ReplayError> {
        if self.eof {
            return Ok(());
        }
        let spare = self.parser.spare();
        let n = spare.len().min(READ_BUF / 4);
        match self.file.read(&mut spare[..n]) {
            Ok(0) => {
                self.eof = true;
                if self.parser.leftover() != 0 {
                    self.parser.stats.records_bad += 1;
                }
                Ok(())
            }
            Ok(n) => {
                self.parser.commit(n, f);
                Ok(())
            }
            Err(e) if e.kind() == ErrorKind::Interrupted => Ok(()),
            Err(source) => Err(ReplayError::Read {
                path: self.path.clone(),
                source,
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rt_uapi::*;
    use zerocopy::IntoBytes;

    #[test]
    fn parser_handles_split_unknown_and_bad_records() {
        let mut d = RttRecDropped::default();
        d.hdr.type_ = RTT_REC_DROPPED;
        d.hdr.size = core::mem::size_of::<RttRecDropped>() as u16;
        d.violations = 3;
        let mut bytes = d.as_bytes().to_vec();
        // unknown record type 99 of 24 bytes
        let mut u = RttRecHdr {
            type_: 99,
            size: 24,
            seq: 1,
            t_ns: 0,
        }
        .as_bytes()
        .to_vec();
        u.extend_from_slice(&[0xee; 8]);
        bytes.extend_from_slice(&u);
        bytes.extend_from_slice(d.as_bytes());
        let mut p = Parser::new();
        let mut got = 0;
        for chunk in bytes.chunks(7) {
            p.spare()[..chunk.len()].copy_from_slice(chunk);
            p.commit(chunk.len(), &mut |r| {
                if let Record::Dropped(x) = r {
                    assert_eq!(x.violations, 3);
                    got += 1;
                }
            });
        }
        assert_eq!(got, 2);
        assert_eq!(p.stats.records_read, 3);
        assert_eq!(p.stats.records_unknown, 1);
        assert_eq!(p.leftover(), 0);
        // size smaller than a header
        let bad = RttRecHdr {
            type_: 1,
            size: 4,
            seq: 0,
            t_ns: 0,
        };
        p.spare()[..16].copy_from_slice(bad.as_bytes());
        p.commit(16, &mut |_| panic!("no record"));
        assert_eq!(p.stats.records_bad, 1);
    }

    #[test]
    fn parser_skips_a_short_record_and_reads_a_1_1_worst() {
        let mut d = RttRecDropped::default();
        d.hdr.type_ = RTT_REC_DROPPED;
        d.hdr.size = core::mem::size_of::<RttRecDropped>() as u16;
        d.violations = 5;
        // A WORST far too short for any UAPI version, then a 1.1 WORST (1808
        // bytes, no nr_culprits), then a DROPPED record.
        let mut short = RttRecHdr {
            type_: RTT_REC_WORST,
            size: 100,
            seq: 1,
            t_ns: 0,
        }
        .as_bytes()
        .to_vec();
        short.resize(100, 0x55);
        let mut w = RttRecWorst::default();
        w.hdr.type_ = RTT_REC_WORST;
        w.hdr.size = c_size::REC_WORST_V1_1 as u16;
        w.value_ns = 77;
        w.culprits[0].pid = 9;
        w.culprits[0].ns = 3;
        let mut bytes = short;
        bytes.extend_from_slice(&w.as_bytes()[..c_size::REC_WORST_V1_1]);
        bytes.extend_from_slice(d.as_bytes());

        let mut p = Parser::new();
        let (mut worst, mut drops) = (Vec::new(), 0);
        for chunk in bytes.chunks(333) {
            p.spare()[..chunk.len()].copy_from_slice(chunk);
            p.commit(chunk.len(), &mut |r| match r {
                Record::Worst(w) => worst.push((w.value_ns, w.used_culprits().count())),
                Record::Dropped(x) => drops += x.violations,
                _ => panic!("unexpected {r:?}"),
            });
        }
        assert_eq!(worst, [(77, 1)]);
        assert_eq!(drops, 5);
        assert_eq!(p.stats.records_bad, 1);
        assert_eq!(p.stats.records_read, 2);
        assert!(matches!(p.take_bad(), Some(RecordError::TooShort { size: 100, .. })));
        assert_eq!(p.take_bad(), None);
        assert_eq!(p.leftover(), 0);
    }

    #[test]
    fn open_errors_say_what_to_do() {
        let dir = std::env::temp_dir().join(format!("rt-open-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let mut d = Device::new(&dir.join("rt_tracer"));
        let e = d.open().unwrap_err();
        assert!(e.is_absent());
        assert_eq!(
            e.to_string(),
            format!(
                "cannot open {}: no such file: is rt_tracer.ko loaded? (modprobe rt_tracer)",
                dir.join("rt_tracer").display()
            )
        );
        // A file that is not the device: RTT_IOC_INFO fails.
        let f = dir.join("plain");
        std::fs::write(&f, b"").unwrap();
        let e = Device::new(&f).open().unwrap_err();
        assert!(!e.is_absent());
        assert!(matches!(e, OpenError::NotRtTracer { .. }), "{e}");
        assert!(
            e.to_string().ends_with("is it the rt_tracer device? (check --device)"),
            "{e}"
        );
        let e = OpenError::Incompatible {
            module_major: 2,
            module_minor: 0,
        };
        assert_eq!(
            e.to_string(),
            format!(
                "rt_tracer.ko speaks UAPI 2.0, rpi-agent 1.{}: install a matching module and agent",
                RTT_UAPI_MINOR
            )
        );
        let e = Replay::open(&dir.join("none.bin")).err().unwrap();
        assert!(e.to_string().starts_with("cannot open replay file "), "{e}");
        let _ = std::fs::remove_dir_all(&dir);
    }
}
