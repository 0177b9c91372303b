//! The agent binary asked for the Raspberry Pi stimulus backend on a machine
//! that is not a Pi (or in a build without it): the user reads exactly one
//! line about it, on stderr and in a Notice frame, and the agent goes on
//! streaming and exits cleanly.

use std::process::Command;

fn is_a_pi() -> bool {
    std::fs::read_to_string("/proc/device-tree/model").is_ok_and(|m| m.contains("Raspberry Pi"))
}

#[test]
fn rpi_backend_elsewhere_is_one_clear_line() {
    if is_a_pi() {
        eprintln!("a Raspberry Pi: this test is for other machines; not driving GPIO17 from a test");
        return;
    }
    let dir = std::env::temp_dir().join(format!("rpi-agent-stimcli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let frames = dir.join("frames.bin");
    let out = Command::new(env!("CARGO_BIN_EXE_rpi-agent"))
        .args([
            "--no-config",
            "--device",
            "/nonexistent/rt_tracer",
            "--duration",
            "300ms",
        ])
        .args(["--stimulus-backend", "rpi", "--output"])
        .arg(&frames)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let lines: Vec<&str> = stderr.lines().filter(|l| l.contains("stimulus")).collect();
    let want = if cfg!(feature = "rpi") {
        "rpi-agent: stimulus: backend \"rpi\" needs a Raspberry Pi \
         (rpi-pal: Unknown Raspberry Pi model); use backend = \"cdev\" here"
    } else {
        "rpi-agent: stimulus: this rpi-agent has no \"rpi\" backend \
         (built without cargo feature `rpi`): use backend = \"cdev\""
    };
    assert_eq!(lines, [want], "{stderr}");

    // The same line reaches the host as an error notice, and streaming went on.
    let bytes = std::fs::read(&frames).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let mut dec = Box::new(rt_protocol::StreamDecoder::new());
    let (mut notices, mut heartbeats) = (Vec::new(), 0);
    dec.feed(&bytes, &mut |i| {
        if let rt_protocol::Item::Message { msg, .. } = i {
            match msg {
                rt_protocol::Message::Notice(n) if n.level == rt_protocol::NoticeLevel::Error => {
                    notices.push(n.text.to_string())
                }
                rt_protocol::Message::Heartbeat(_) => heartbeats += 1,
                _ => {}
            }
        }
    });
    let stim: Vec<&String> = notices.iter().filter(|n| n.contains("stimulus")).collect();
    assert_eq!(stim, [&want["rpi-agent: ".len()..]], "{notices:?}");
    assert!(heartbeats >= 1, "the final heartbeat is missing");
}
