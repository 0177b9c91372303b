//! rtdecode on a capture mixing boot log, shell text, good and damaged frames.
use rt_protocol::*;
use rtdecode::Options;

const JSON: Options = Options {
    json: true,
    hist: false,
};
const TEXT: Options = Options {
    json: false,
    hist: false,
};

/// Each line of `out` validates against docs/rtdecode.schema.json.
fn assert_schema_valid(out: &str) {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../../docs/rtdecode.schema.json");
    let schema: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let v = jsonschema::validator_for(&schema).unwrap();
    for l in out.lines() {
        let value: serde_json::Value = serde_json::from_str(l).unwrap();
        let errs: Vec<String> = v.iter_errors(&value).map(|e| e.to_string()).collect();
        assert!(errs.is_empty(), "{l}: {errs:?}");
    }
}

fn frame(seq: u32, m: &Message) -> Vec<u8> {
    let mut enc = Box::new(FrameEncoder::new());
    let mut out = vec![0u8; MAX_WIRE];
    let n = enc.encode(seq, m, &mut out).unwrap();
    out.truncate(n);
    out
}

fn violation() -> Message {
    Message::Violation(Violation {
        task: TaskInfo {
            pid: 7,
            tgid: 7,
            irq: -1,
            prio: 9,
            policy: 1,
            comm: bounded_str("ctl"),
            ..Default::default()
        },
        metric: metric::LATENCY,
        value_ns: 120_000,
        bound_ns: 100_000,
        violations: 5,
        ..Default::default()
    })
}

fn hello(major: u16) -> Message {
    Message::Hello(Hello {
        proto_major: major,
        proto_minor: 0,
        board: bounded_str("qemu"),
        ..Default::default()
    })
}

#[test]
fn mixed_console_and_frames() {
    let mut s = b"[    0.000000] Booting Linux on physical CPU 0x0\r\n".to_vec();
    s.extend(frame(0, &hello(PROTOCOL_MAJOR)));
    s.extend_from_slice(b"Welcome to Buildroot\r\nbuildroot login: ");
    let mut bad = frame(1, &violation());
    let mid = bad.len() / 2;
    bad[mid] ^= 0x40;
    s.extend(bad);
    s.extend(frame(2, &violation()));
    s.extend_from_slice(b"# ");
    let out = rtdecode::decode_capture(&s, JSON, Vec::new()).unwrap();
    let out = String::from_utf8(out).unwrap();
    assert_schema_valid(&out);
    let lines: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let texts: Vec<&str> = lines
        .iter()
        .filter(|l| l["type"] == "console")
        .map(|l| l["text"].as_str().unwrap())
        .collect();
    assert_eq!(
        texts,
        // Frames are invisible in the text: text around them joins up as on a terminal.
        vec![
            "[    0.000000] Booting Linux on physical CPU 0x0",
            "Welcome to Buildroot",
            "buildroot login: # "
        ]
    );
    let v: Vec<_> = lines.iter().filter(|l| l["type"] == "violation").collect();
    assert_eq!(v.len(), 1);
    assert_eq!(v[0]["task"]["sched"], "FIFO 90");
    assert_eq!(v[0]["violations"], 5);
    let link = lines.last().unwrap();
    assert_eq!(link["type"], "link");
    assert_eq!(link["resyncs"], 1);
    assert_eq!(
        link["crc_errors"].as_u64().unwrap() + link["framing_errors"].as_u64().unwrap(),
        1
    );
    assert_eq!(link["frames"], 2);
    assert_eq!(link["final"], true);
    // The damaged frame is its own line, and the run starts with the schema version.
    assert_eq!(lines[0]["type"], "schema_version");
    assert_eq!(lines.iter().filter(|l| l["type"] == "damaged").count(), 1);
    assert_eq!(link["lost"], 1);

    // The readable view says the same in words.
    let text = String::from_utf8(rtdecode::decode_capture(&s, TEXT, Vec::new()).unwrap()).unwrap();
    assert!(text.contains("console| Welcome to Buildroot"), "{text}");
    assert!(
        text.contains("!! VIOLATION ctl (pid 7, FIFO 90): latency 120 us > bound 100 us (violation #5)"),
        "{text}"
    );
    assert!(text.contains("1 resyncs"), "{text}");
}

#[test]
fn incompatible_major_keeps_console() {
    let mut s = frame(0, &hello(PROTOCOL_MAJOR + 1));
    s.extend(frame(1, &violation()));
    s.extend_from_slice(b"still here\n");
    let text = String::from_utf8(rtdecode::decode_capture(&s, TEXT, Vec::new()).unwrap()).unwrap();
    assert!(
        text.contains(&format!("agent speaks protocol {}.0", PROTOCOL_MAJOR + 1)),
        "{text}"
    );
    assert!(text.contains("console| still here"), "{text}");
    assert!(!text.contains("VIOLATION"), "{text}");
}

#[test]
fn replay_coalesces_repeats_and_flushes_them_at_eof() {
    let mut s = frame(0, &hello(PROTOCOL_MAJOR));
    for i in 0..30u32 {
        let mut m = violation();
        if let Message::Violation(v) = &mut m {
            v.t_ns = 1_000_000_000 + u64::from(i) * 10_000_000;
            v.violations = 5 + u64::from(i);
            v.value_ns = if i == 0 { 900_000 } else { 120_000 };
        }
        s.extend(frame(i + 1, &m));
    }
    let text = String::from_utf8(rtdecode::decode_capture(&s, TEXT, Vec::new()).unwrap()).unwrap();
    assert_eq!(text.matches("!! VIOLATION").count(), 1, "{text}");
    assert!(
        text.contains("  ctl[7] latency: +29 violations in 0.3 s (34 in all), worst 120 us (bound 100 us)"),
        "{text}"
    );
    // The summary comes before the final table and link line.
    let sum = text.find("+29 violations").unwrap();
    assert!(sum < text.find("-- link:").unwrap(), "{text}");
    // JSON still has every one.
    let json = String::from_utf8(rtdecode::decode_capture(&s, JSON, Vec::new()).unwrap()).unwrap();
    assert_eq!(json.matches("\"type\":\"violation\"").count(), 30);
    assert_schema_valid(&json);
}
