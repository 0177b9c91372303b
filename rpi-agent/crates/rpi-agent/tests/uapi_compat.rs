//! The agent binary across UAPI minors: records of a 1.1 module (WORST
//! without nr_culprits), of 1.2, of a future minor (longer records) and of
//! unknown or malformed kinds, replayed into a file and decoded with
//! rt-protocol. Nothing valid is lost; what is skipped is counted and said.
#![allow(clippy::field_reassign_with_default)] // records are built field by field, like the C code does

use std::process::Command;

use rt_protocol as p;
use rt_uapi::*;
use zerocopy::IntoBytes;

fn culprit(pid: i32, ns: u64) -> RttCulprit {
    RttCulprit {
        pid,
        ns,
        comm: *b"hog\0\0\0\0\0\0\0\0\0\0\0\0\0",
        ..Default::default()
    }
}

/// A WORST record of `size` bytes (cut or extended from the 1.2 struct)
/// with `value_ns` as its tag.
fn worst(value_ns: u64, culprits: &[RttCulprit], nr: u32, size: usize) -> Vec<u8> {
    let mut w = RttRecWorst::default();
    w.hdr.type_ = RTT_REC_WORST;
    w.hdr.size = size as u16;
    w.task.pid = 1234;
    w.metric = RTT_METRIC_LATENCY;
    w.value_ns = value_ns;
    w.culprits[..culprits.len()].copy_from_slice(culprits);
    w.nr_culprits = nr;
    let mut b = w.as_bytes().to_vec();
    b.resize(size, 0x5a);
    b
}

fn records() -> Vec<u8> {
    let mut out = Vec::new();
    // 1.1: two non-empty entries, no count.
    out.extend(worst(
        11,
        &[culprit(456, 59_000), culprit(0, 20)],
        0,
        c_size::REC_WORST_V1_1,
    ));
    // 1.2: the count says 1; the second entry is stale.
    out.extend(worst(
        12,
        &[culprit(456, 59_000), culprit(789, 1)],
        1,
        c_size::REC_WORST,
    ));
    // A future minor: 32 more bytes at the end, read by the known prefix.
    out.extend(worst(
        13,
        &[culprit(1, 3), culprit(2, 2), culprit(3, 1)],
        3,
        c_size::REC_WORST + 32,
    ));
    // An unknown type, then a WORST too short for any version: both skipped.
    let mut unknown = RttRecHdr {
        type_: 99,
        size: 40,
        seq: 0,
        t_ns: 0,
    }
    .as_bytes()
    .to_vec();
    unknown.resize(40, 0xab);
    out.extend(unknown);
    out.extend(worst(14, &[], 0, 200));
    let mut d = RttRecDropped::default();
    d.hdr.type_ = RTT_REC_DROPPED;
    d.hdr.size = c_size::REC_DROPPED as u16;
    d.violations = 3;
    out.extend_from_slice(d.as_bytes());
    out
}

#[test]
fn records_of_older_and_newer_minors_all_arrive() {
    let dir = std::env::temp_dir().join(format!("rt-uapi-compat-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (input, output) = (dir.join("records.bin"), dir.join("frames.bin"));
    std::fs::write(&input, records()).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_rpi-agent"))
        .args(["--no-config", "--replay"])
        .arg(&input)
        .arg("--output")
        .arg(&output)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");

    let bytes = std::fs::read(&output).unwrap();
    let _ = std::fs::remove_dir_all(&dir);
    let mut dec = Box::new(p::StreamDecoder::new());
    let (mut worst, mut dropped, mut warnings, mut hb) = (Vec::new(), 0, Vec::new(), None);
    dec.feed(&bytes, &mut |i| {
        let p::Item::Message { msg, .. } = i else { return };
        match msg {
            p::Message::Worst(w) => {
                let pids: Vec<i32> = w.culprits.iter().map(|c| c.pid).collect();
                worst.push((w.value_ns, pids));
            }
            p::Message::Dropped(d) => dropped += d.violations,
            p::Message::Notice(n) if n.level == p::NoticeLevel::Warning => warnings.push(n.text.to_string()),
            p::Message::Heartbeat(h) => hb = Some(h.clone()),
            _ => {}
        }
    });
    assert_eq!(dec.stats().crc_errors, 0);
    assert_eq!(
        worst,
        [(11, vec![456, 0]), (12, vec![456]), (13, vec![1, 2, 3])],
        "{stderr}"
    );
    assert_eq!(dropped, 3);
    let hb = hb.expect("a final heartbeat");
    assert_eq!((hb.records_read, hb.records_unknown, hb.records_bad), (5, 1, 1));
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].starts_with("malformed record from the module: record of type 3 has 200 bytes"),
        "{warnings:?}"
    );
}
