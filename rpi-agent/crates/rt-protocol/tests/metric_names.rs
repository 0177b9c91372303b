//! The metric list exists once, in the kernel's UAPI header
//! (`#define RTT_METRICS(X) X(LATENCY, latency) ...`): the protocol crate's
//! ids and names must follow it, in order.

use rt_protocol::metric;

/// `(SUFFIX, name)` pairs of the `RTT_METRICS` X-macro, in order.
fn header_metrics() -> Vec<(String, String)> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../rt-tracer-module/include/uapi/linux/rt_tracer.h"
    );
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("reading {path}: {e}"));
    let start = text
        .find("#define RTT_METRICS(X)")
        .unwrap_or_else(|| panic!("no `#define RTT_METRICS(X)` in {path}"));
    // The macro runs to the first line that does not end in a backslash.
    let mut body = String::new();
    for line in text[start..].lines() {
        let (content, more) = match line.trim_end().strip_suffix('\\') {
            Some(c) => (c, true),
            None => (line, false),
        };
        body.push_str(content);
        body.push(' ');
        if !more {
            break;
        }
    }
    let body = &body["#define RTT_METRICS(X)".len()..];
    let mut out = Vec::new();
    for item in body.split("X(").skip(1) {
        let args = item.split(')').next().unwrap_or_default();
        let mut parts = args.split(',').map(str::trim);
        match (parts.next(), parts.next(), parts.next()) {
            (Some(suffix), Some(name), None) if !suffix.is_empty() && !name.is_empty() => {
                out.push((suffix.to_string(), name.to_string()))
            }
            _ => panic!("cannot read RTT_METRICS entry `X({args})` in {path}"),
        }
    }
    // Nothing but X(...) entries and blanks may make up the macro.
    let rest: String = body
        .split("X(")
        .map(|s| s.split_once(')').map_or(s, |(_, r)| r))
        .collect();
    assert!(rest.trim().is_empty(), "unexpected text in RTT_METRICS: {rest:?}");
    out
}

#[test]
fn metric_names_and_order_follow_the_uapi_header() {
    let header = header_metrics();
    assert!(header.len() >= 5, "RTT_METRICS looks truncated: {header:?}");
    let names: Vec<&str> = header.iter().map(|(_, n)| n.as_str()).collect();
    assert_eq!(metric::NAMES.as_slice(), names.as_slice(), "rt-protocol metric::NAMES");
    assert_eq!(usize::from(metric::COUNT), header.len());
    for (id, (suffix, name)) in header.iter().enumerate() {
        let id = id as u8;
        assert_eq!(metric::name(id), Some(name.as_str()));
        assert_eq!(metric::from_name(name), Some(id));
        // The enum constant is RTT_METRIC_<SUFFIX>, the name its lower case.
        assert_eq!(suffix.to_ascii_lowercase(), *name, "X({suffix}, {name})");
    }
    let consts = [
        ("LATENCY", metric::LATENCY),
        ("RESPONSE", metric::RESPONSE),
        ("RELIEF", metric::RELIEF),
        ("IRQ_DELAY", metric::IRQ_DELAY),
        ("IRQ", metric::IRQ),
    ];
    for (suffix, value) in consts {
        let pos = header.iter().position(|(s, _)| s == suffix);
        assert_eq!(pos, Some(usize::from(value)), "metric::{suffix}");
    }
    assert_eq!(metric::name(metric::COUNT), None);
}

#[test]
fn metric_count_equals_the_uapi_crate() {
    assert_eq!(usize::from(metric::COUNT), rt_uapi::RTT_NR_METRICS);
    assert_eq!(u32::from(metric::LATENCY), rt_uapi::RTT_METRIC_LATENCY);
    assert_eq!(u32::from(metric::IRQ), rt_uapi::RTT_METRIC_IRQ);
}
