//! docs/rtdecode.schema.json is what the types generate, and real output
//! validates against it.

use std::path::PathBuf;

use rt_protocol::*;
use rtdecode::Options;

fn schema_path() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../../docs/rtdecode.schema.json")
}

/// `RTDECODE_BLESS=1 cargo test -p rtdecode --test schema` rewrites the file.
#[test]
fn committed_schema_is_what_the_types_generate() {
    let generated = rtdecode::json::schema();
    let path = schema_path();
    if std::env::var_os("RTDECODE_BLESS").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "{} differs from the types (RTDECODE_BLESS=1 cargo test -p rtdecode --test schema regenerates it)",
        path.display()
    );
}

fn validator() -> jsonschema::Validator {
    let text = std::fs::read_to_string(schema_path()).expect("docs/rtdecode.schema.json");
    let schema: serde_json::Value = serde_json::from_str(&text).expect("the schema is JSON");
    jsonschema::validator_for(&schema).expect("the schema is a valid JSON Schema")
}

/// Problems of each line that does not validate (empty: all valid).
fn invalid_lines(v: &jsonschema::Validator, out: &str) -> Vec<String> {
    out.lines()
        .enumerate()
        .filter_map(|(i, l)| {
            let value: serde_json::Value = serde_json::from_str(l).expect("each line is JSON");
            let errs: Vec<String> = v.iter_errors(&value).map(|e| e.to_string()).collect();
            (!errs.is_empty()).then(|| format!("line {}: {l}\n  {}", i + 1, errs.join("\n  ")))
        })
        .collect()
}

fn json_of(bytes: &[u8]) -> String {
    let out = rtdecode::decode_capture(
        bytes,
        Options {
            json: true,
            hist: false,
        },
        Vec::new(),
    )
    .unwrap();
    String::from_utf8(out).unwrap()
}

fn wire(seq: u32, m: &Message) -> Vec<u8> {
    let mut enc = Box::new(FrameEncoder::new());
    let mut out = vec![0u8; MAX_WIRE];
    let n = enc.encode(seq, m, &mut out).unwrap();
    out.truncate(n);
    out
}

#[test]
fn the_demo_capture_validates_and_has_every_appliance_line_type() {
    let out = json_of(include_bytes!("data/demo-case1.bin"));
    let v = validator();
    let bad = invalid_lines(&v, &out);
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    let types: std::collections::BTreeSet<String> = out
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["type"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    for t in [
        "schema_version",
        "console",
        "hello",
        "heartbeat",
        "task",
        "irq",
        "exit",
        "violation",
        "worst",
        "notice",
        "link",
        "finding",
    ] {
        assert!(types.contains(t), "no {t} line in {types:?}");
    }
}

#[test]
fn every_case_capture_validates_with_its_findings() {
    let v = validator();
    for n in 2..=7 {
        let path = format!("{}/tests/data/demo-case{n}.bin", env!("CARGO_MANIFEST_DIR"));
        let out = json_of(&std::fs::read(&path).unwrap());
        let bad = invalid_lines(&v, &out);
        assert!(bad.is_empty(), "{path}:\n{}", bad.join("\n"));
        assert!(out.contains(r#"{"type":"finding","#), "{path}: no finding line");
    }
}

#[test]
fn synthetic_lines_of_every_other_kind_validate() {
    let mut s = wire(
        0,
        &Message::Hello(Hello {
            proto_major: PROTOCOL_MAJOR,
            ..Default::default()
        }),
    );
    s.extend(wire(
        1,
        &Message::Dropped(Dropped {
            t_ns: 1,
            violations: 2,
            worst: 3,
            exits: 4,
        }),
    ));
    let mut lin = MetricStats {
        metric: metric::LATENCY,
        count: 1,
        min_ns: 5,
        max_ns: 5,
        ..Default::default()
    };
    lin.lin = Some(LinHist {
        lo_ns: 0,
        step_ns: 10,
        ..Default::default()
    });
    lin.lin
        .as_mut()
        .unwrap()
        .buckets
        .push(Bucket { idx: 0, count: 1 })
        .unwrap();
    lin.log2.push(Bucket { idx: 31, count: 1 }).unwrap();
    let mut snap = TaskSnapshot::default();
    snap.metrics.push(lin).unwrap();
    snap.metrics
        .push(MetricStats {
            metric: 7,
            min_ns: u64::MAX,
            ..Default::default()
        })
        .unwrap();
    s.extend(wire(2, &Message::Task(snap)));
    // The GPIO stimulus (1.3): a pulse with readback, one without, a summary.
    let pulse = GpioPulse {
        seq: 1,
        t_stimulus: 10,
        t_hard: 20,
        t_thread: 30,
        t_done: 40,
        flags: pulse_flags::LATE,
        skipped: 1,
    };
    s.extend(wire(6, &Message::GpioPulse(pulse.clone())));
    s.extend(wire(
        7,
        &Message::GpioPulse(GpioPulse {
            flags: pulse_flags::NO_READBACK,
            ..pulse
        }),
    ));
    s.extend(wire(
        8,
        &Message::GpioSummary(GpioSummary {
            count: 3,
            no_readback: 1,
            ..Default::default()
        }),
    ));
    s.extend(wire(9, &Message::Heartbeat(Heartbeat::default())));
    // Unknown kind, damaged frame, incompatible major.
    let mut body = vec![0u8; 9000];
    let mut raw = vec![0u8; MAX_WIRE];
    let n = encode_raw(&mut body, 3, 99, &[1, 2, 3], &mut raw).unwrap();
    s.extend(&raw[..n]);
    let mut bad = wire(4, &Message::Dropped(Dropped::default()));
    bad[3] ^= 0x40;
    s.extend(bad);
    s.extend(wire(
        5,
        &Message::Hello(Hello {
            proto_major: PROTOCOL_MAJOR + 1,
            ..Default::default()
        }),
    ));
    s.extend_from_slice(b"# ");
    let out = json_of(&s);
    let v = validator();
    let bad = invalid_lines(&v, &out);
    assert!(bad.is_empty(), "{}", bad.join("\n"));
    assert!(
        out.contains(r#""gpio":{"count":5,"#),
        "no GPIO tally in a link line:\n{out}"
    );
    for t in [
        "dropped",
        "unknown",
        "damaged",
        "incompatible",
        "gpio_pulse",
        "gpio_summary",
    ] {
        assert!(out.contains(&format!("{{\"type\":\"{t}\"")), "no {t} line:\n{out}");
    }
}

#[test]
fn the_schema_rejects_lines_that_break_it() {
    let v = validator();
    let ok = r#"{"type":"console","host_time":"2026-01-01T00:00:00.000000Z","text":"x","partial":false}"#;
    assert!(invalid_lines(&v, ok).is_empty());
    for broken in [
        r#"{"type":"console","host_time":"2026-01-01T00:00:00.000000Z","text":"x"}"#,
        r#"{"type":"console","host_time":"2026-01-01T00:00:00.000000Z","text":"x","partial":false,"extra":1}"#,
        r#"{"type":"consol","host_time":"2026-01-01T00:00:00.000000Z","text":"x","partial":false}"#,
        r#"{"type":"dropped","host_time":"t","seq":1,"t_ns":-1,"violations":0,"worst":0,"exits":0}"#,
    ] {
        assert!(!invalid_lines(&v, broken).is_empty(), "accepted: {broken}");
    }
    // A finding's cause key is one of the known ones.
    let out = json_of(include_bytes!("data/demo-case1.bin"));
    let finding = out.lines().find(|l| l.contains(r#""type":"finding""#)).unwrap();
    assert!(invalid_lines(&v, finding).is_empty());
    for broken in [
        finding.replace(r#""key":"preempted_by_higher_prio""#, r#""key":"bad_luck""#),
        finding.replace(r#""verdict":"violated""#, r#""verdict":"so-so""#),
    ] {
        assert_ne!(broken, finding);
        assert!(!invalid_lines(&v, &broken).is_empty(), "accepted: {broken}");
    }
}
