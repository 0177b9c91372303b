//! Colours of the readable view, with the real binary: on a pseudo-terminal
//! ANSI colours, into a pipe none, with NO_COLOR none; `--color` overrides.
//! The console text's own escape sequences (the demo's banners) pass through
//! either way, so only rtdecode's own lines are checked.

use std::fs::File;
use std::io::{ErrorKind, Read};
use std::os::fd::FromRawFd;
use std::process::{Command, Stdio};

const CAPTURE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/demo-case1.bin");

fn rtdecode(args: &[&str], env: &[(&str, &str)]) -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_rtdecode"));
    c.args(args).arg(CAPTURE).stdin(Stdio::null()).stderr(Stdio::inherit());
    // A colour-capable terminal, no colour settings from the caller's environment.
    for v in ["NO_COLOR", "CLICOLOR", "CLICOLOR_FORCE", "CI"] {
        c.env_remove(v);
    }
    c.env("TERM", "xterm-256color");
    for (k, v) in env {
        c.env(k, v);
    }
    c
}

/// Its stdout on the slave side of a fresh pty, read from the master.
fn on_pty(args: &[&str], env: &[(&str, &str)]) -> String {
    let pty = nix::pty::openpty(None, None).expect("openpty");
    // SAFETY: openpty returned two fresh descriptors; each is owned once here.
    let (mut master, slave) = unsafe { (File::from_raw_fd(pty.master), File::from_raw_fd(pty.slave)) };
    let mut cmd = rtdecode(args, env);
    cmd.stdout(Stdio::from(slave));
    let mut child = cmd.spawn().expect("rtdecode runs");
    // The parent's copy of the slave must go, or the master never sees the end.
    drop(cmd);
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match master.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == ErrorKind::Interrupted => {}
            // EIO: every slave descriptor is closed (the child exited).
            Err(_) => break,
        }
    }
    assert!(child.wait().unwrap().success());
    // The tty turned each LF into CR LF.
    String::from_utf8_lossy(&out).replace("\r\n", "\n")
}

fn on_pipe(args: &[&str], env: &[(&str, &str)]) -> String {
    let out = rtdecode(args, env).output().expect("rtdecode runs");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// rtdecode's own lines (not the console's) that hold an escape sequence.
fn coloured(text: &str) -> Vec<&str> {
    text.lines()
        .filter(|l| !l.starts_with("console| ") && l.contains('\x1b'))
        .collect()
}

fn findings_line(text: &str, task: &str) -> String {
    text.lines()
        .find(|l| l.contains(task) && l.contains("VIOLATED"))
        .unwrap_or_else(|| panic!("no violated finding of {task}:\n{text}"))
        .to_string()
}

#[test]
fn a_terminal_gets_colours() {
    let t = on_pty(&[], &[]);
    let l = findings_line(&t, "ctrl_loop[173] latency");
    // The verdict in bold red, then reset.
    assert!(l.starts_with("  \x1b[1m\x1b[31mVIOLATED\x1b[0m "), "{l:?}");
    assert!(
        t.lines().any(|l| l.starts_with("\x1b[1m\x1b[31m!! VIOLATION\x1b[0m ")),
        "{t}"
    );
    assert!(t.contains("\x1b[1m== findings: "), "{t}");
}

#[test]
fn a_pipe_gets_none() {
    let t = on_pipe(&[], &[]);
    assert!(coloured(&t).is_empty(), "{:?}", coloured(&t));
    assert!(findings_line(&t, "ctrl_loop[173] latency").starts_with("  VIOLATED "));
}

#[test]
fn no_color_is_respected_on_a_terminal() {
    let t = on_pty(&[], &[("NO_COLOR", "1")]);
    assert!(coloured(&t).is_empty(), "{:?}", coloured(&t));
    assert!(findings_line(&t, "ctrl_loop[173] latency").starts_with("  VIOLATED "));
}

#[test]
fn the_color_option_overrides_the_guess() {
    assert!(coloured(&on_pty(&["--color", "never"], &[])).is_empty());
    assert!(!coloured(&on_pipe(&["--color", "always"], &[])).is_empty());
}
