//! Byte sources of the binary: serial device, capture file, stdin, unix
//! socket, TCP. (The library does not read anything itself.)

use std::fs::File;
use std::io::{self, Read};
use std::net::TcpStream;
use std::os::unix::fs::FileTypeExt;
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

use thiserror::Error;

#[derive(Debug, Error)]
pub enum SourceError {
    #[error("cannot open {path}: {source} (give a serial device, a capture file, `-`, unix:PATH or tcp:HOST:PORT)")]
    Open { path: PathBuf, source: io::Error },
    #[error("cannot connect to unix socket {path}: {source} (is QEMU running with -serial unix:{path},server?)")]
    Unix { path: String, source: io::Error },
    #[error("cannot connect to {addr}: {source} (is something listening there?)")]
    Tcp { addr: String, source: io::Error },
}

pub struct Source {
    pub reader: Box<dyn Read + Send>,
    /// A live source runs until interrupted or --duration; a capture ends at EOF.
    pub live: bool,
    pub name: String,
}

/// Reads a serial port, turning read timeouts into "no data yet".
struct Serial(Box<dyn serialport::SerialPort>);

impl Read for Serial {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        loop {
            match self.0.read(buf) {
                Err(e) if e.kind() == io::ErrorKind::TimedOut => continue,
                r => return r,
            }
        }
    }
}

pub fn open(spec: &str, baud: u32) -> Result<Source, SourceError> {
    if spec == "-" {
        return Ok(Source {
            reader: Box::new(io::stdin()),
            live: true,
            name: "stdin".into(),
        });
    }
    if let Some(path) = spec.strip_prefix("unix:") {
        let s = UnixStream::connect(path).map_err(|source| SourceError::Unix {
            path: path.into(),
            source,
        })?;
        return Ok(Source {
            reader: Box::new(s),
            live: true,
            name: spec.into(),
        });
    }
    if let Some(addr) = spec.strip_prefix("tcp:") {
        let s = TcpStream::connect(addr).map_err(|source| SourceError::Tcp {
            addr: addr.into(),
            source,
        })?;
        return Ok(Source {
            reader: Box::new(s),
            live: true,
            name: spec.into(),
        });
    }
    let open_err = |source| SourceError::Open {
        path: spec.into(),
        source,
    };
    let meta = std::fs::metadata(spec).map_err(open_err)?;
    let ft = meta.file_type();
    if ft.is_char_device() {
        let port = serialport::new(spec, baud)
            .data_bits(serialport::DataBits::Eight)
            .parity(serialport::Parity::None)
            .stop_bits(serialport::StopBits::One)
            .flow_control(serialport::FlowControl::None)
            .timeout(Duration::from_millis(200))
            .open();
        return match port {
            Ok(p) => Ok(Source {
                reader: Box::new(Serial(p)),
                live: true,
                name: spec.into(),
            }),
            // A character device that is not a tty: read it as it is.
            Err(_) => Ok(Source {
                reader: Box::new(File::open(spec).map_err(open_err)?),
                live: true,
                name: spec.into(),
            }),
        };
    }
    let live = ft.is_fifo() || ft.is_socket();
    let f = File::open(spec).map_err(open_err)?;
    Ok(Source {
        reader: Box::new(f),
        live,
        name: spec.into(),
    })
}
