//! `rtdecode report` as a program: progress on a terminal only, and a live
//! source (stdin kept open) stopped by --duration or SIGINT still writes
//! its page with everything read.

use std::fs::File;
use std::io::{ErrorKind, Read, Write};
use std::os::fd::FromRawFd;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const CAPTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/demo-case1.bin");

fn scratch(tag: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("rtdecode-report-live-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn progress_shows_on_a_terminal_and_is_cleared() {
    let d = scratch("pty");
    let html = d.join("r.html");
    let pty = nix::pty::openpty(None, None).expect("openpty");
    // SAFETY: openpty returned two fresh descriptors; each is owned once here.
    let (mut master, slave) = unsafe { (File::from_raw_fd(pty.master), File::from_raw_fd(pty.slave)) };
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_rtdecode"));
    cmd.args(["report", CAPTURE, "-o"])
        .arg(&html)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::from(slave));
    let mut child = cmd.spawn().expect("rtdecode runs");
    drop(cmd);
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match master.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            Err(_) => break,
        }
    }
    assert!(child.wait().unwrap().success());
    let err = String::from_utf8_lossy(&out);
    let size = std::fs::metadata(CAPTURE).unwrap().len().div_ceil(1_000);
    // The first read shows the line at once (16 KB chunks), the end clears it.
    assert!(err.contains("\rrtdecode: report: read 17 KB of "), "{err:?}");
    assert!(err.contains(&format!(" of {size} KB (")), "{err:?}");
    assert!(err.contains("\r\x1b[K"), "the line is cleared: {err:?}");
    assert!(err.contains("rtdecode: wrote "), "{err:?}");
    let _ = std::fs::remove_dir_all(&d);
}

/// rtdecode report on stdin, kept open; `stop` ends it. The page it wrote.
fn live(args: &[&str], stop: impl FnOnce(u32)) -> String {
    let d = scratch(&format!("live{}", args.len()));
    let html = d.join("r.html");
    let mut c = Command::new(env!("CARGO_BIN_EXE_rtdecode"))
        .arg("report")
        .args(args)
        .arg("-o")
        .arg(&html)
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rtdecode runs");
    c.stdin
        .as_mut()
        .unwrap()
        .write_all(&std::fs::read(CAPTURE).unwrap())
        .unwrap();
    stop(c.id());
    let t0 = Instant::now();
    while c.try_wait().unwrap().is_none() {
        assert!(t0.elapsed() < Duration::from_secs(30), "rtdecode did not stop");
        std::thread::sleep(Duration::from_millis(50));
    }
    let out = c.wait_with_output().unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains("wrote "), "{err}");
    let page = std::fs::read_to_string(&html).unwrap();
    let _ = std::fs::remove_dir_all(&d);
    page
}

fn assert_complete(page: &str) {
    assert!(
        page.contains("Findings: 5 violated"),
        "{}",
        &page[..page.len().min(3000)]
    );
    assert!(page.contains("<svg id=\"timeline-ctrl_loop-173-latency-"));
    assert!(page.trim_end().ends_with("</html>"));
}

#[test]
fn duration_ends_a_live_report_with_everything_read() {
    assert_complete(&live(&["--duration", "1"], |_| {}));
}

#[test]
fn ctrl_c_ends_a_live_report_with_everything_read() {
    let page = live(&[], |pid| {
        std::thread::sleep(Duration::from_millis(1500));
        nix::sys::signal::kill(nix::unistd::Pid::from_raw(pid as i32), nix::sys::signal::Signal::SIGINT).unwrap();
    });
    assert_complete(&page);
}
