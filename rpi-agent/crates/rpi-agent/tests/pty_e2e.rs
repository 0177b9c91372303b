//! End to end over a real pseudo-terminal link: `rpi-agent --replay FILE
//! --port <pty A slave>` writes frames through the real termios path; the
//! test copies pty A's master side to pty B's master side; `rtdecode --json
//! <pty B slave>` decodes them. Module records are generated from the Rust
//! mirror of the UAPI structs.
#![allow(clippy::field_reassign_with_default)] // records are built field by field, like the C code does

use std::io::{Read, Write};
use std::os::fd::{FromRawFd, OwnedFd};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rt_uapi::*;
use serde_json::Value;
use zerocopy::IntoBytes;

fn comm(s: &str) -> [u8; 16] {
    let mut c = [0u8; 16];
    c[..s.len()].copy_from_slice(s.as_bytes());
    c
}

fn hdr(type_: u16, size: usize, seq: u32) -> RttRecHdr {
    RttRecHdr {
        type_,
        size: size as u16,
        seq,
        t_ns: 1_000_000 * u64::from(seq),
    }
}

fn task(pid: i32, name: &str, prio: i16, policy: u8, irq: i32, flags: u32) -> RttTaskInfo {
    RttTaskInfo {
        pid,
        tgid: pid,
        kind: if irq >= 0 { RTT_TRACK_IRQ } else { RTT_TRACK_PID },
        irq,
        flags,
        prio,
        policy,
        pad: 0,
        comm: comm(name),
        start_ns: 42,
    }
}

fn metric(samples: &[u64], bound: u64) -> RttMetricStats {
    let mut m = RttMetricStats {
        min_ns: u64::MAX,
        bound_ns: bound,
        ..Default::default()
    };
    for &s in samples {
        m.count += 1;
        m.min_ns = m.min_ns.min(s);
        m.max_ns = m.max_ns.max(s);
        m.sum_ns += s;
        m.last_ns = s;
        if bound != 0 && s > bound {
            m.violations += 1;
        }
        let b = if s == 0 { 0 } else { (64 - s.leading_zeros()) as usize };
        m.log2_hist[b.min(RTT_LOG2_BUCKETS - 1)] += 1;
    }
    m
}

/// The records a module would return: snapshots (task, IRQ thread, exited
/// task), a violation, a worst case with culprit and events, drop counts, and
/// a record type from the future.
pub fn replay_records() -> Vec<u8> {
    let mut out = Vec::new();
    let mut seq = 0;
    let mut next = || {
        seq += 1;
        seq
    };
    let mut t = RttRecTask::default();
    t.hdr = hdr(RTT_REC_TASK, size_of::<RttRecTask>(), next());
    t.task = task(1234, "cyclic", 19, 1, -1, RTT_F_TRACE);
    t.m[RTT_METRIC_LATENCY as usize] = metric(&[5_000, 7_000, 9_000, 80_000], 50_000);
    t.m[RTT_METRIC_RESPONSE as usize] = metric(&[100_000, 1_059_000], 0);
    t.m[RTT_METRIC_RESPONSE as usize].worst.running_ns = 1_000_000;
    t.m[RTT_METRIC_RESPONSE as usize].worst.waiting_ns = 59_000;
    out.extend_from_slice(t.as_bytes());

    let mut irq = RttRecTask::default();
    irq.hdr = hdr(RTT_REC_TASK, size_of::<RttRecTask>(), next());
    irq.task = task(77, "irq/42-eth0", 49, 1, 42, RTT_F_IRQ_THREAD);
    irq.m[RTT_METRIC_IRQ_DELAY as usize] = metric(&[3_000, 4_000], 0);
    irq.m[RTT_METRIC_IRQ as usize] = metric(&[10_000], 0);
    out.extend_from_slice(irq.as_bytes());

    let mut v = RttRecViolation::default();
    v.hdr = hdr(RTT_REC_VIOLATION, size_of::<RttRecViolation>(), next());
    v.task = t.task;
    v.metric = RTT_METRIC_LATENCY;
    v.value_ns = 80_000;
    v.bound_ns = 50_000;
    v.violations = 1;
    v.breakdown.waiting_ns = 80_000;
    out.extend_from_slice(v.as_bytes());

    // A record type this agent does not know: skipped by its size.
    let mut unknown = hdr(77, 24, next()).as_bytes().to_vec();
    unknown.extend_from_slice(&[0xab; 8]);
    out.extend_from_slice(&unknown);

    let mut w = RttRecWorst::default();
    w.hdr = hdr(RTT_REC_WORST, size_of::<RttRecWorst>(), next());
    w.task = t.task;
    w.metric = RTT_METRIC_RESPONSE;
    w.value_ns = 1_059_000;
    w.breakdown.running_ns = 1_000_000;
    w.breakdown.waiting_ns = 59_000;
    w.culprits[0] = RttCulprit {
        pid: 456,
        prio: 9,
        policy: 1,
        pad: 0,
        ns: 59_000,
        comm: comm("hog"),
    };
    w.nr_culprits = 1;
    w.nr_events = 2;
    w.events[0] = RttEvent {
        t_ns: 0,
        type_: 1,
        cpu: 1,
        pid: 1234,
        other_pid: 0,
        prio: 19,
        other_prio: 120,
        policy: 1,
        comm: comm("cyclic"),
        other_comm: comm("swapper/1"),
        ..Default::default()
    };
    w.events[1] = RttEvent {
        t_ns: 59_000,
        type_: 2,
        cpu: 1,
        pid: 1234,
        other_pid: 456,
        prio: 19,
        other_prio: 9,
        policy: 1,
        other_policy: 1,
        prev_state: 0,
        comm: comm("cyclic"),
        other_comm: comm("hog"),
        ..Default::default()
    };
    out.extend_from_slice(w.as_bytes());

    let mut d = RttRecDropped::default();
    d.hdr = hdr(RTT_REC_DROPPED, size_of::<RttRecDropped>(), next());
    d.violations = 3;
    out.extend_from_slice(d.as_bytes());

    let mut e = RttRecTask::default();
    e.hdr = hdr(RTT_REC_TASK, size_of::<RttRecTask>(), next());
    e.task = task(999, "short", 120, 0, -1, RTT_F_EXITED);
    e.m[RTT_METRIC_LATENCY as usize] = metric(&[2_000], 0);
    out.extend_from_slice(e.as_bytes());
    out
}

struct Pty {
    master: std::fs::File,
    _slave: OwnedFd,
    path: PathBuf,
}

fn pty() -> Pty {
    let r = nix::pty::openpty(None, None).expect("openpty");
    // Raw mode from the start, so nothing is echoed or translated before the
    // programs under test set their own (raw) termios.
    let mut t = nix::sys::termios::tcgetattr(r.slave).expect("tcgetattr");
    nix::sys::termios::cfmakeraw(&mut t);
    nix::sys::termios::tcsetattr(r.slave, nix::sys::termios::SetArg::TCSANOW, &t).expect("tcsetattr");
    let path = nix::unistd::ttyname(r.slave).expect("ttyname");
    // SAFETY: openpty returned two fresh descriptors that nothing else owns.
    let (master, slave) = unsafe { (std::fs::File::from_raw_fd(r.master), OwnedFd::from_raw_fd(r.slave)) };
    Pty {
        master,
        _slave: slave,
        path,
    }
}

fn sibling_binary(name: &str) -> PathBuf {
    let agent = PathBuf::from(env!("CARGO_BIN_EXE_rpi-agent"));
    let dir = agent.parent().unwrap().to_path_buf();
    let p = dir.join(name);
    if !p.exists() {
        let release = dir.file_name().is_some_and(|d| d == "release");
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let mut c = Command::new(cargo);
        c.args(["build", "-q", "-p", name]);
        if release {
            c.arg("--release");
        }
        assert!(c.status().expect("cargo build").success(), "building {name}");
    }
    p
}

fn read_json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

fn run_agent(replay: &Path, port: &Path) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_rpi-agent"))
        .args(["--no-config", "--heartbeat-interval", "100ms", "--replay"])
        .arg(replay)
        .arg("--port")
        .arg(port)
        .output()
        .expect("run rpi-agent")
}

#[test]
fn agent_to_rtdecode_over_pty() {
    let dir = std::env::temp_dir().join(format!("rt-e2e-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let replay = dir.join("records.bin");
    std::fs::write(&replay, replay_records()).unwrap();

    let a = pty();
    let b = pty();
    let rtdecode = sibling_binary("rtdecode");
    let capture = dir.join("capture.bin");
    let mut dec = Command::new(&rtdecode)
        .args(["--json", "--duration", "30", "--record"])
        .arg(&capture)
        .arg(&b.path)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn rtdecode");

    // Link: A master -> B master, plus kernel-style console text in between.
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = stop.clone();
    let mut a_master = a.master.try_clone().unwrap();
    let mut b_master = b.master.try_clone().unwrap();
    let pump = std::thread::spawn(move || {
        use std::os::fd::AsRawFd;
        let mut buf = [0u8; 4096];
        b_master.write_all(b"[    1.234567] rt_tracer: loaded\n").unwrap();
        while !stop2.load(Ordering::SeqCst) {
            let mut fds = [nix::poll::PollFd::new(
                a_master.as_raw_fd(),
                nix::poll::PollFlags::POLLIN,
            )];
            if nix::poll::poll(&mut fds, 50).unwrap_or(0) > 0 {
                match a_master.read(&mut buf) {
                    Ok(n) if n > 0 => b_master.write_all(&buf[..n]).unwrap(),
                    _ => break,
                }
            }
        }
        b_master.write_all(b"root@rpi:~# ").unwrap();
    });
    std::thread::sleep(Duration::from_millis(300));

    let agent = run_agent(&replay, &a.path);
    assert!(
        agent.status.success(),
        "rpi-agent failed: {}",
        String::from_utf8_lossy(&agent.stderr)
    );
    std::thread::sleep(Duration::from_millis(500));
    stop.store(true, Ordering::SeqCst);
    pump.join().unwrap();
    std::thread::sleep(Duration::from_millis(500));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(dec.id() as i32),
        nix::sys::signal::Signal::SIGINT,
    )
    .unwrap();
    let t0 = Instant::now();
    let status = loop {
        if let Some(s) = dec.try_wait().unwrap() {
            break s;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "rtdecode did not stop on SIGINT"
        );
        std::thread::sleep(Duration::from_millis(20));
    };
    let mut out = String::new();
    dec.stdout.take().unwrap().read_to_string(&mut out).unwrap();
    let mut err = String::new();
    dec.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert!(status.success(), "rtdecode failed: {err}");

    let lines = read_json_lines(&out);
    check_decoded(&lines);
    assert!(lines
        .iter()
        .any(|l| l["type"] == "console" && l["text"] == "[    1.234567] rt_tracer: loaded"));
    assert!(
        lines
            .iter()
            .any(|l| l["type"] == "console" && l["text"] == "root@rpi:~# "),
        "{out}"
    );

    // The recorded bytes replay to the same frames.
    let again = Command::new(&rtdecode).arg("--json").arg(&capture).output().unwrap();
    assert!(again.status.success());
    check_decoded(&read_json_lines(&String::from_utf8_lossy(&again.stdout)));
    if let Ok(keep) = std::env::var("RT_E2E_KEEP_CAPTURE") {
        std::fs::copy(&capture, keep).unwrap();
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn check_decoded(lines: &[Value]) {
    let of = |t: &str| lines.iter().filter(move |l| l["type"] == t).collect::<Vec<_>>();
    // rtdecode --json: the schema version first, a host timestamp on every line.
    assert_eq!(lines[0]["type"], "schema_version");
    assert!(lines
        .iter()
        .all(|l| l["host_time"].as_str().is_some_and(|t| t.ends_with('Z'))));
    let hello = &of("hello")[0];
    assert_eq!(hello["proto_major"], 1);

    let tasks = of("task");
    let cyc = tasks.iter().find(|t| t["task"]["pid"] == 1234).expect("task 1234");
    assert_eq!(cyc["task"]["comm"], "cyclic");
    assert_eq!(cyc["task"]["sched"], "FIFO 80");
    let lat = &cyc["metrics"]["latency"];
    assert_eq!(lat["count"], 4);
    assert_eq!(lat["min_ns"], 5_000);
    assert_eq!(lat["max_ns"], 80_000);
    assert_eq!(lat["mean_ns"], 25_250);
    assert_eq!(lat["bound_ns"], 50_000);
    assert_eq!(lat["violations"], 1);
    assert_eq!(lat["hist"].as_array().unwrap().len(), 3);
    assert!(lat["percentiles"]["p99"]["hi_ns"].as_u64().unwrap() <= 80_000);
    for m in ["latency", "response", "relief", "irq_delay", "irq"] {
        assert!(cyc["metrics"][m].is_object(), "metric {m}");
    }
    // Each wire kind has its own type.
    let irq = of("irq");
    let irq = irq.iter().find(|t| t["task"]["pid"] == 77).expect("irq thread");
    assert_eq!(irq["task"]["irq"], 42);
    assert_eq!(irq["metrics"]["irq_delay"]["count"], 2);
    assert!(of("exit").iter().any(|t| t["task"]["pid"] == 999), "exited task");
    assert!(!tasks.iter().any(|t| t["task"]["pid"] == 77 || t["task"]["pid"] == 999));

    let v = &of("violation")[0];
    assert_eq!(v["task"]["pid"], 1234);
    assert_eq!(v["metric"], "latency");
    assert_eq!(v["value_ns"], 80_000);
    assert_eq!(v["bound_ns"], 50_000);
    assert_eq!(v["breakdown"]["waiting_ns"], 80_000);

    let w = &of("worst")[0];
    assert_eq!(w["metric"], "response");
    assert_eq!(w["value_ns"], 1_059_000);
    assert_eq!(w["culprits"][0]["comm"], "hog");
    assert_eq!(w["culprits"][0]["sched"], "FIFO 90");
    assert_eq!(w["events"].as_array().unwrap().len(), 2);
    assert_eq!(w["events"][0]["event"], "wakeup");
    assert_eq!(
        w["explanation"],
        "response 1059 us = running 1000 us + waiting 59 us; while it waited, hog (pid 456, FIFO 90) ran 59 us"
    );
    assert_eq!(of("dropped")[0]["violations"], 3);

    let hb = of("heartbeat");
    assert!(!hb.is_empty() && hb.iter().all(|h| h["agent"]["module_state"] == 2));
    let link = of("link");
    let last = link.last().unwrap();
    assert_eq!(last["final"], true);
    assert_eq!(last["crc_errors"], 0);
    assert_eq!(last["lost"], 0);
    assert_eq!(last["agent"]["records_unknown"], 1);
    assert_eq!(last["agent"]["module_state"], 2);
}

/// No module: the agent says it waits (once), keeps the link alive with
/// heartbeats, and on SIGTERM flushes and exits 0.
#[test]
fn waits_for_module_and_stops_cleanly_on_sigterm() {
    let dir = std::env::temp_dir().join(format!("rt-wait-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = dir.join("frames.bin");
    let mut agent = Command::new(env!("CARGO_BIN_EXE_rpi-agent"))
        .args(["--no-config", "--device"])
        .arg(dir.join("rt_tracer"))
        .args(["--heartbeat-interval", "100ms", "--name", "cyclictest", "--output"])
        .arg(&out)
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_millis(1500));
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(agent.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = agent.wait().unwrap();
    let mut err = String::new();
    agent.stderr.take().unwrap().read_to_string(&mut err).unwrap();
    assert!(status.success(), "{err}");
    assert_eq!(err.matches("(modprobe rt_tracer)").count(), 1, "{err}");

    let bytes = std::fs::read(&out).unwrap();
    let mut dec = Box::new(rt_protocol::StreamDecoder::new());
    let mut notices = Vec::new();
    let mut heartbeats = 0;
    dec.feed(&bytes, &mut |i| match i {
        rt_protocol::Item::Message {
            msg: rt_protocol::Message::Notice(n),
            ..
        } => notices.push(n.text.to_string()),
        rt_protocol::Item::Message {
            msg: rt_protocol::Message::Heartbeat(h),
            ..
        } => {
            assert_eq!(h.module_state, rt_protocol::module_state::ABSENT);
            heartbeats += 1;
        }
        _ => {}
    });
    assert!(
        notices
            .iter()
            .any(|n| n.contains("waiting for") && n.contains("modprobe rt_tracer")),
        "{notices:?}"
    );
    assert!(heartbeats >= 5, "{heartbeats}");
    assert_eq!(dec.stats().resyncs, 0);
    let _ = std::fs::remove_dir_all(&dir);
}

/// The replay records plus enough violations that some frames hold an LF
/// byte (sequence number 10 is one).
fn many_records() -> Vec<u8> {
    let mut out = replay_records();
    for i in 0..16u32 {
        let mut v = RttRecViolation::default();
        v.hdr = hdr(RTT_REC_VIOLATION, size_of::<RttRecViolation>(), 100 + i);
        v.task = task(1234, "cyclic", 19, 1, -1, RTT_F_TRACE);
        v.metric = RTT_METRIC_LATENCY;
        v.value_ns = 60_000 + u64::from(i);
        v.bound_ns = 50_000;
        v.violations = 2 + u64::from(i);
        out.extend_from_slice(v.as_bytes());
    }
    out
}

/// The agent on a pty whose slave is set up like a console with a shell
/// (sane: echo, line editing, signals, OPOST|ONLCR). Returns the bytes that
/// came out of the master, the slave's termios afterwards, and the agent's stderr.
fn agent_on_console_pty(mode: &str) -> (Vec<u8>, nix::sys::termios::Termios, String) {
    use nix::sys::termios::{tcgetattr, tcsetattr, InputFlags, LocalFlags, OutputFlags, SetArg};
    use std::os::fd::AsRawFd;
    let dir = std::env::temp_dir().join(format!("rt-tty-{}-{mode}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let replay = dir.join("records.bin");
    std::fs::write(&replay, many_records()).unwrap();

    let p = pty();
    let slave = p._slave.as_raw_fd();
    let mut t = tcgetattr(slave).unwrap();
    t.input_flags |= InputFlags::ICRNL | InputFlags::IXON;
    t.output_flags |= OutputFlags::OPOST | OutputFlags::ONLCR;
    t.local_flags |= LocalFlags::ICANON | LocalFlags::ECHO | LocalFlags::ISIG | LocalFlags::IEXTEN;
    tcsetattr(slave, SetArg::TCSANOW, &t).unwrap();

    let mut master = p.master.try_clone().unwrap();
    let reader = std::thread::spawn(move || {
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut quiet = 0;
        while Instant::now() < deadline && quiet < 10 {
            let mut fds = [nix::poll::PollFd::new(master.as_raw_fd(), nix::poll::PollFlags::POLLIN)];
            if nix::poll::poll(&mut fds, 100).unwrap_or(0) > 0 {
                match master.read(&mut buf) {
                    Ok(n) if n > 0 => {
                        got.extend_from_slice(&buf[..n]);
                        quiet = 0;
                    }
                    _ => break,
                }
            } else if got.is_empty() {
                continue;
            } else {
                quiet += 1;
            }
        }
        got
    });
    let out = Command::new(env!("CARGO_BIN_EXE_rpi-agent"))
        .args([
            "--no-config",
            "--heartbeat-interval",
            "100ms",
            "--tty-mode",
            mode,
            "--replay",
        ])
        .arg(&replay)
        .arg("--port")
        .arg(&p.path)
        .output()
        .expect("run rpi-agent");
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let got = reader.join().unwrap();
    let after = tcgetattr(slave).unwrap();
    (got, after, String::from_utf8_lossy(&out.stderr).into_owned())
}

fn decode(bytes: &[u8]) -> (usize, rt_protocol::Stats) {
    let mut dec = Box::new(rt_protocol::StreamDecoder::new());
    let mut n = 0;
    let mut f = |i: rt_protocol::Item<'_>| {
        if matches!(i, rt_protocol::Item::Message { .. } | rt_protocol::Item::Unknown { .. }) {
            n += 1;
        }
    };
    dec.feed(bytes, &mut f);
    dec.finish(&mut f);
    (n, *dec.stats())
}

/// "rpi-agent: stopped: 23 frames, ..." -> 23
fn frames_sent(stderr: &str) -> usize {
    let s = &stderr[stderr.find("stopped: ").expect("no 'stopped:' line") + 9..];
    s[..s.find(' ').unwrap()].parse().unwrap()
}

#[test]
fn shared_console_keeps_the_shells_settings_and_frames_survive_onlcr() {
    use nix::sys::termios::{InputFlags, LocalFlags, OutputFlags};
    let (got, after, stderr) = agent_on_console_pty("shared");
    // The shell's console still works as a terminal.
    assert!(
        after.output_flags.contains(OutputFlags::OPOST | OutputFlags::ONLCR),
        "{after:?}"
    );
    assert!(
        after
            .local_flags
            .contains(LocalFlags::ICANON | LocalFlags::ECHO | LocalFlags::ISIG),
        "{after:?}"
    );
    assert!(after.input_flags.contains(InputFlags::ICRNL), "{after:?}");
    // Frames went through ONLCR (some held an LF) and all decode.
    assert!(
        got.windows(2).any(|w| w == b"\r\n"),
        "no LF was converted: the test proves nothing"
    );
    let (n, stats) = decode(&got);
    assert_eq!(n, frames_sent(&stderr), "{stats:?}\n{stderr}");
    assert_eq!(stats.crc_errors + stats.framing_errors, 0, "{stats:?}");
    assert!(stats.onlcr_frames > 0, "{stats:?}");
}

#[test]
fn own_port_is_made_raw() {
    use nix::sys::termios::{LocalFlags, OutputFlags};
    let (got, after, stderr) = agent_on_console_pty("raw");
    assert!(!after.output_flags.contains(OutputFlags::OPOST), "{after:?}");
    assert!(
        !after.local_flags.intersects(LocalFlags::ICANON | LocalFlags::ECHO),
        "{after:?}"
    );
    let (n, stats) = decode(&got);
    assert_eq!(n, frames_sent(&stderr), "{stats:?}\n{stderr}");
    assert_eq!((stats.crc_errors, stats.onlcr_frames), (0, 0), "{stats:?}");
}
