//! Symbol names to ELF file offsets, for rt_tracer's uprobe window bindings.
//!
//! `/sys/kernel/rt_tracer/windows` and `RTT_IOC_WINDOW_BIND` take file
//! offsets ("p PATH:0x1c30 0x1c44 budget=NS"), as the kernel's uprobes do;
//! people think in functions. A point is a symbol (`control_step`), a
//! symbol plus an offset (`control_step+0x10`) or an offset already
//! (`0x1c30`); it is resolved through the symbol tables (`.symtab`, then
//! `.dynsym`) and the PT_LOAD segment that holds it. A point outside every
//! executable segment is refused here, where the error can name the
//! symbol, rather than by the kernel.

use std::fmt;
use std::path::{Path, PathBuf};

use object::elf::PF_X;
use object::{Object, ObjectSegment, ObjectSymbol, SegmentFlags, SymbolKind};
use thiserror::Error;

#[derive(Debug, Error)]
pub enum ElfError {
    #[error("{path}: {source} (give the binary's path as the target system sees it)")]
    Read { path: PathBuf, source: std::io::Error },
    #[error("{path}: not an ELF file ({reason}): bindings need an executable or shared library")]
    NotElf { path: PathBuf, reason: String },
    #[error("{path}: no function `{name}` in its symbol tables{hint}")]
    NoSymbol { path: PathBuf, name: String, hint: Hint },
    #[error(
        "{path}: `{name}` names {n} functions (at {addrs}): local functions of several files; \
         give the file offset instead",
        n = .addrs.len(), addrs = .addrs.iter().map(|a| format!("{a:#x}")).collect::<Vec<_>>().join(", ")
    )]
    Ambiguous {
        path: PathBuf,
        name: String,
        addrs: Vec<u64>,
    },
    #[error("{path}: {what} is outside its {size}-byte function `{name}`")]
    BeyondSymbol {
        path: PathBuf,
        what: String,
        name: String,
        size: u64,
    },
    #[error("{path}: {what} is in no executable segment (uprobes go on code)")]
    NotCode { path: PathBuf, what: String },
}

/// Names close to a missing one, for its error message.
#[derive(Debug, Default)]
pub struct Hint(Vec<String>);

impl fmt::Display for Hint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.0.as_slice() {
            [] => write!(f, " (is it stripped? `nm -D` lists what is left)"),
            names => write!(f, " (similar: {})", names.join(", ")),
        }
    }
}

#[derive(Debug, Error, PartialEq, Eq)]
pub enum PointError {
    #[error("empty point: give a symbol, symbol+OFFSET or a file offset such as 0x1c30")]
    Empty,
    #[error("`{0}`: the offset after `+` is not a number (decimal or 0x hex)")]
    BadPlus(String),
}

/// Where a probe goes, as written by the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Point {
    /// A file offset already.
    Offset(u64),
    /// A function, plus bytes into it.
    Symbol { name: String, plus: u64 },
}

fn number(s: &str) -> Option<u64> {
    match s.strip_prefix("0x").or_else(|| s.strip_prefix("0X")) {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None if s.bytes().all(|b| b.is_ascii_digit()) => s.parse().ok(),
        None => None,
    }
}

impl Point {
    /// `0x1c30`, `7216`, `step`, `step+0x10`.
    pub fn parse(s: &str) -> Result<Point, PointError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(PointError::Empty);
        }
        if let Some(n) = number(s) {
            return Ok(Point::Offset(n));
        }
        match s.rsplit_once('+') {
            Some((name, plus)) if !name.is_empty() && !plus.is_empty() => match number(plus) {
                Some(plus) => Ok(Point::Symbol {
                    name: name.to_string(),
                    plus,
                }),
                None => Err(PointError::BadPlus(s.to_string())),
            },
            _ => Ok(Point::Symbol {
                name: s.to_string(),
                plus: 0,
            }),
        }
    }
}

impl fmt::Display for Point {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Point::Offset(o) => write!(f, "{o:#x}"),
            Point::Symbol { name, plus: 0 } => write!(f, "{name}"),
            Point::Symbol { name, plus } => write!(f, "{name}+{plus:#x}"),
        }
    }
}

/// An ELF file read once, to resolve any number of points.
pub struct Elf {
    path: PathBuf,
    data: Vec<u8>,
}

impl Elf {
    pub fn open(path: &Path) -> Result<Elf, ElfError> {
        let data = std::fs::read(path).map_err(|source| ElfError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        let elf = Elf {
            path: path.to_path_buf(),
            data,
        };
        elf.parse()?;
        Ok(elf)
    }

    fn parse(&self) -> Result<object::File<'_>, ElfError> {
        let not_elf = |reason: String| ElfError::NotElf {
            path: self.path.clone(),
            reason,
        };
        let file = object::File::parse(&*self.data).map_err(|e| not_elf(e.to_string()))?;
        if file.format() != object::BinaryFormat::Elf {
            return Err(not_elf(format!("{:?}", file.format())));
        }
        Ok(file)
    }

    /// The file offset of `p`, checked to be code.
    pub fn file_offset(&self, p: &Point) -> Result<u64, ElfError> {
        let file = self.parse()?;
        let (addr, what) = match p {
            Point::Offset(off) => {
                let code = code_segments(&file).any(|s| (s.off..s.off + s.filesz).contains(off));
                return match code {
                    true => Ok(*off),
                    false => Err(ElfError::NotCode {
                        path: self.path.clone(),
                        what: format!("offset {off:#x}"),
                    }),
                };
            }
            Point::Symbol { name, plus } => {
                let (addr, size) = self.symbol(&file, name)?;
                if *plus > 0 && size > 0 && *plus >= size {
                    return Err(ElfError::BeyondSymbol {
                        path: self.path.clone(),
                        what: p.to_string(),
                        name: name.clone(),
                        size,
                    });
                }
                (addr + plus, p.to_string())
            }
        };
        let off = code_segments(&file)
            .find(|s| (s.addr..s.addr + s.filesz).contains(&addr))
            .map(|s| addr - s.addr + s.off);
        off.ok_or(ElfError::NotCode {
            path: self.path.clone(),
            what: format!("{what} (address {addr:#x})"),
        })
    }

    /// (address, size) of the one function called `name`.
    fn symbol(&self, file: &object::File<'_>, name: &str) -> Result<(u64, u64), ElfError> {
        let mut found: Vec<(u64, u64)> = Vec::new();
        let mut similar: Vec<String> = Vec::new();
        for sym in file.symbols().chain(file.dynamic_symbols()) {
            if sym.kind() != SymbolKind::Text || !sym.is_definition() {
                continue;
            }
            let Ok(n) = sym.name() else { continue };
            if n == name {
                if !found.iter().any(|(a, _)| *a == sym.address()) {
                    found.push((sym.address(), sym.size()));
                }
            } else if n.contains(name) && similar.len() < 5 && !similar.iter().any(|s| s == n) {
                similar.push(n.to_string());
            }
        }
        match found.as_slice() {
            [one] => Ok(*one),
            [] => Err(ElfError::NoSymbol {
                path: self.path.clone(),
                name: name.to_string(),
                hint: Hint(similar),
            }),
            many => Err(ElfError::Ambiguous {
                path: self.path.clone(),
                name: name.to_string(),
                addrs: many.iter().map(|(a, _)| *a).collect(),
            }),
        }
    }
}

struct CodeSegment {
    addr: u64,
    off: u64,
    filesz: u64,
}

fn code_segments<'a>(file: &'a object::File<'_>) -> impl Iterator<Item = CodeSegment> + 'a {
    file.segments().filter_map(|s| match s.flags() {
        SegmentFlags::Elf { p_flags } if p_flags & PF_X != 0 => {
            let (off, filesz) = s.file_range();
            Some(CodeSegment {
                addr: s.address(),
                off,
                filesz,
            })
        }
        _ => None,
    })
}

/// A window binding with its points resolved: what the module takes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Binding {
    pub path: String,
    pub start: u64,
    pub stop: u64,
    pub budget_ns: u64,
}

impl Binding {
    /// Resolves `start` and `stop` in the ELF file at `path`.
    pub fn resolve(path: &str, start: &Point, stop: &Point, budget_ns: u64) -> Result<Binding, ElfError> {
        let elf = Elf::open(Path::new(path))?;
        Ok(Binding {
            path: path.to_string(),
            start: elf.file_offset(start)?,
            stop: elf.file_offset(stop)?,
            budget_ns,
        })
    }

    /// "p PATH:START STOP budget=NS"
    pub fn bind_spec(&self) -> String {
        format!(
            "p {}:{:#x} {:#x} budget={}",
            self.path, self.start, self.stop, self.budget_ns
        )
    }

    /// "-p PATH:START"
    pub fn unbind_spec(&self) -> String {
        format!("-p {}:{:#x}", self.path, self.start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn points_parse() {
        assert_eq!(Point::parse("0x1c30"), Ok(Point::Offset(0x1c30)));
        assert_eq!(Point::parse("7216"), Ok(Point::Offset(7216)));
        assert_eq!(
            Point::parse("step_a_begin"),
            Ok(Point::Symbol {
                name: "step_a_begin".into(),
                plus: 0
            })
        );
        assert_eq!(
            Point::parse("loop+0x10"),
            Ok(Point::Symbol {
                name: "loop".into(),
                plus: 16
            })
        );
        assert_eq!(Point::parse(" "), Err(PointError::Empty));
        assert_eq!(Point::parse("loop+x"), Err(PointError::BadPlus("loop+x".into())));
        // C++ operators and versioned names stay names
        assert!(matches!(Point::parse("operator+"), Ok(Point::Symbol { .. })));
        assert_eq!(Point::parse("loop+0x10").unwrap().to_string(), "loop+0x10");
    }

    #[test]
    fn specs_are_the_modules_syntax() {
        let b = Binding {
            path: "/usr/bin/app".into(),
            start: 0x1c30,
            stop: 0x1c44,
            budget_ns: 500_000,
        };
        assert_eq!(b.bind_spec(), "p /usr/bin/app:0x1c30 0x1c44 budget=500000");
        assert_eq!(b.unbind_spec(), "-p /usr/bin/app:0x1c30");
    }
}
