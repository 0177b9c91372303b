//! Offsets resolved from binaries the host's C compiler builds, checked
//! against binutils' objdump (`-F`: each function's file offset), an
//! independent reader; PIE and static non-PIE lay code out differently.

use std::path::{Path, PathBuf};
use std::process::Command;

use rtt_elf::{Binding, Elf, ElfError, Point};

const SRC: &str = r#"
#include <stdio.h>
__attribute__((noinline, used)) void step_begin(void) { __asm__ volatile(""); }
__attribute__((noinline, used)) void step_end(void) { __asm__ volatile("" ::: "memory"); }
static __attribute__((noinline, used)) int helper(int x) { return x * 3 + 1; }
int table[4] = {1, 2, 3, 4};
int main(int argc, char **argv) { step_begin(); printf("%d\n", helper(argc)); step_end(); return 0; }
"#;

fn build(name: &str, flags: &[&str]) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("rtt-elf");
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("prog.c");
    std::fs::write(&src, SRC).unwrap();
    let out = dir.join(name);
    let st = Command::new("cc")
        .args(flags)
        .arg("-O2")
        .arg("-o")
        .arg(&out)
        .arg(&src)
        .status()
        .expect("cc (the host C compiler) must be installed");
    assert!(st.success(), "cc {flags:?} failed");
    out
}

/// objdump's file offset of function `name`.
fn objdump_offset(bin: &Path, name: &str) -> u64 {
    let out = Command::new("objdump")
        .arg("-d")
        .arg("-F")
        .arg(bin)
        .output()
        .expect("objdump (binutils) must be installed");
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    let tag = format!("<{name}> (File Offset: 0x");
    let line = text
        .lines()
        .find(|l| !l.starts_with(char::is_whitespace) && l.contains(&tag) && l.ends_with("):"))
        .unwrap_or_else(|| panic!("objdump shows no {name}"));
    let hex = &line[line.find(&tag).unwrap() + tag.len()..];
    u64::from_str_radix(hex.trim_end_matches("):"), 16).unwrap()
}

fn sym(name: &str) -> Point {
    Point::parse(name).unwrap()
}

#[test]
fn offsets_equal_objdumps_in_pie_and_static_binaries() {
    for (name, flags) in [("pie", &["-pie", "-fPIE"][..]), ("static", &["-static", "-no-pie"][..])] {
        let bin = build(name, flags);
        let elf = Elf::open(&bin).unwrap();
        for f in ["step_begin", "step_end", "helper", "main"] {
            assert_eq!(
                elf.file_offset(&sym(f)).unwrap(),
                objdump_offset(&bin, f),
                "{name}: {f}"
            );
        }
        let begin = objdump_offset(&bin, "step_begin");
        assert_eq!(
            elf.file_offset(&sym("main+0x4")).unwrap(),
            objdump_offset(&bin, "main") + 4
        );
        // an offset that is code passes as it is
        assert_eq!(elf.file_offset(&Point::Offset(begin)).unwrap(), begin);
        let b = Binding::resolve(bin.to_str().unwrap(), &sym("step_begin"), &sym("step_end"), 500_000).unwrap();
        assert_eq!(
            b.bind_spec(),
            format!(
                "p {}:{:#x} {:#x} budget=500000",
                bin.display(),
                begin,
                objdump_offset(&bin, "step_end")
            )
        );
    }
}

#[test]
fn bad_points_say_what_is_wrong() {
    let bin = build("pie-errors", &["-pie", "-fPIE"]);
    let elf = Elf::open(&bin).unwrap();
    let e = elf.file_offset(&sym("step_begn")).unwrap_err();
    assert!(matches!(e, ElfError::NoSymbol { .. }), "{e}");
    let e = elf.file_offset(&sym("step")).unwrap_err().to_string();
    assert!(
        e.contains("no function `step`") && e.contains("similar: ") && e.contains("step_begin"),
        "{e}"
    );
    // data, not code
    let e = elf.file_offset(&sym("table")).unwrap_err();
    assert!(matches!(e, ElfError::NoSymbol { .. }), "{e}");
    // past the function's end
    let e = elf.file_offset(&sym("helper+0x10000")).unwrap_err();
    assert!(matches!(e, ElfError::BeyondSymbol { .. }), "{e}");
    // the ELF header is no code segment's... unless the first PT_LOAD is
    // executable: the last byte of a huge offset never is
    let e = elf.file_offset(&Point::Offset(1 << 40)).unwrap_err();
    assert!(matches!(e, ElfError::NotCode { .. }), "{e}");
    let text = bin.with_extension("txt");
    std::fs::write(&text, "not an ELF").unwrap();
    let e = Elf::open(&text).err().unwrap();
    assert!(matches!(e, ElfError::NotElf { .. }), "{e}");
    let e = Elf::open(Path::new("/nonexistent/app")).err().unwrap().to_string();
    assert!(
        e.contains("/nonexistent/app") && e.contains("as the target system sees it"),
        "{e}"
    );
    // stripped: nothing left to resolve, and the error says so
    let stripped = bin.with_extension("stripped");
    assert!(Command::new("strip")
        .arg("-o")
        .arg(&stripped)
        .arg(&bin)
        .status()
        .unwrap()
        .success());
    let e = Elf::open(&stripped)
        .unwrap()
        .file_offset(&sym("step_begin"))
        .unwrap_err()
        .to_string();
    assert!(e.contains("stripped"), "{e}");
}
