//! A live source ends with one findings block whatever stops it: the end of
//! its input, --duration, or Ctrl-C (SIGINT). The binary reads a capture on
//! its stdin, a live source, kept open so that only the stop ends it.

use std::io::{Read, Write};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const CAPTURE: &[u8] = include_bytes!("data/demo-case1.bin");

fn start(args: &[&str]) -> Child {
    let mut c = Command::new(env!("CARGO_BIN_EXE_rtdecode"))
        .args(args)
        .arg("-")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("rtdecode runs");
    c.stdin.as_mut().unwrap().write_all(CAPTURE).unwrap();
    c
}

/// Its whole stdout once it exited by itself within `limit` (read meanwhile,
/// so that a full pipe does not hold it up).
fn wait_out(mut c: Child, limit: Duration) -> String {
    let mut stdout = c.stdout.take().unwrap();
    let reader = std::thread::spawn(move || {
        let mut out = String::new();
        stdout.read_to_string(&mut out).map(|_| out)
    });
    let t0 = Instant::now();
    while c.try_wait().unwrap().is_none() {
        assert!(t0.elapsed() < limit, "rtdecode did not stop within {limit:?}");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(c.wait().unwrap().success());
    reader.join().unwrap().unwrap()
}

fn assert_one_block_at_the_end(out: &str) {
    assert_eq!(out.matches("== findings: ").count(), 1, "{out}");
    let block = &out[out.find("== findings: ").unwrap()..];
    let after: Vec<&str> = block.lines().skip(1).filter(|l| !l.starts_with("  ")).collect();
    assert!(after.is_empty(), "the block is not the end: {after:?}");
    assert!(
        block
            .lines()
            .any(|l| l.starts_with("  VIOLATED ctrl_loop[173] ") && l.contains(" latency ")),
        "{block}"
    );
}

#[test]
fn duration_ends_with_the_findings() {
    let c = start(&["--duration", "1"]);
    // stdin stays open: only --duration stops it.
    let out = wait_out(c, Duration::from_secs(30));
    assert_one_block_at_the_end(&out);
}

#[test]
fn ctrl_c_ends_with_the_findings() {
    let c = start(&[]);
    // Give it the time to read what is there, then interrupt it.
    std::thread::sleep(Duration::from_millis(500));
    let pid = nix::unistd::Pid::from_raw(c.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    let out = wait_out(c, Duration::from_secs(30));
    assert_one_block_at_the_end(&out);
}

#[test]
fn json_ends_with_finding_lines_then_the_final_link() {
    let c = start(&["--json", "--duration", "1"]);
    let out = wait_out(c, Duration::from_secs(30));
    let types: Vec<String> = out
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    let first = types.iter().position(|t| t == "finding").expect("finding lines");
    let n = types.iter().filter(|t| *t == "finding").count();
    // Consecutive, then the final link as the last line.
    assert!(types[first..first + n].iter().all(|t| t == "finding"), "{types:?}");
    assert_eq!(&types[first + n..], ["link"], "{types:?}");
}
