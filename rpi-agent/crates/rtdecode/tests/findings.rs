//! Findings on captures of the case studies, recorded from the emulated
//! appliance's console UART (tests/data/README.md says how): each case's
//! verdict names the cause and the culprit the case is built around, and
//! the findings block of the text view is pinned (golden files).
//! After a deliberate change: `RTDECODE_BLESS=1 cargo test -p rtdecode
//! --test findings`, and read the diff.

use rtdecode::Options;
use serde_json::Value;

fn capture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/data/{name}.bin", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn findings(name: &str) -> Vec<Value> {
    let opts = Options {
        json: true,
        hist: false,
    };
    let out = rtdecode::decode_capture(&capture(name), opts, Vec::new()).unwrap();
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .filter(|v| v["type"] == "finding")
        .collect()
}

/// The findings of tasks whose comm starts with `comm`, for `metric`, in
/// the order the tasks started.
fn of<'a>(f: &'a [Value], comm: &str, metric: &str) -> Vec<&'a Value> {
    let mut v: Vec<&Value> = f
        .iter()
        .filter(|x| x["task"]["comm"].as_str().is_some_and(|c| c.starts_with(comm)) && x["metric"] == metric)
        .collect();
    v.sort_by_key(|x| x["task"]["start_ns"].as_u64());
    v
}

/// The one finding of `comm`'s `metric`: verdict, cause key, culprit comm.
fn verdict(f: &[Value], comm: &str, metric: &str) -> (String, String, String) {
    let v = of(f, comm, metric);
    assert_eq!(v.len(), 1, "one {comm} {metric} finding expected: {v:?}");
    triple(v[0])
}

fn triple(x: &Value) -> (String, String, String) {
    let s = |v: &Value| v.as_str().unwrap_or("-").to_string();
    (
        s(&x["verdict"]),
        s(&x["cause"]["key"]),
        s(&x["cause"]["culprit"]["comm"]),
    )
}

fn t(a: &str, b: &str, c: &str) -> (String, String, String) {
    (a.into(), b.into(), c.into())
}

#[test]
fn case1_misconfigured_priorities_blames_the_higher_priority_hog() {
    let f = findings("demo-case1");
    assert_eq!(
        verdict(&f, "ctrl_loop", "latency"),
        t("violated", "preempted_by_higher_prio", "prio_hog")
    );
    let lat = of(&f, "ctrl_loop", "latency")[0];
    assert_eq!(lat["cause"]["culprit"]["sched"], "FIFO 60");
    assert_eq!(lat["violations"], 124);
    assert_eq!(lat["count"], 993);
    let (worst, bound) = (lat["worst_ns"].as_u64().unwrap(), lat["bound_ns"].as_u64().unwrap());
    assert_eq!(lat["excess_ns"].as_u64(), Some(worst - bound));
}

#[test]
fn case2_hidden_blocking_is_io_answered_by_the_helper() {
    let f = findings("demo-case2");
    assert_eq!(verdict(&f, "hidden_block", "relief"), t("violated", "io", "hb_helper"));
    // The loop's own latency is fine: the time is asleep in read(), not waiting.
    assert_eq!(verdict(&f, "hidden_block", "latency").0, "met");
}

#[test]
fn case3_priority_inversion_then_inheritance() {
    let f = findings("demo-case3");
    let high = of(&f, "pi_high", "relief");
    assert_eq!(high.len(), 2, "two runs, each its own pi_high: {high:?}");
    // A plain mutex: pi_med runs while pi_low holds the lock pi_high needs.
    assert_eq!(triple(high[0]), t("violated", "priority_inversion", "pi_med"));
    assert_eq!(high[0]["cause"]["lock_holder"]["comm"], "pi_low");
    // Priority inheritance: pi_high waits for pi_low's critical section only.
    assert_eq!(triple(high[1]), t("met", "blocked_on_lock", "pi_low"));
    assert_eq!(high[1]["cause"]["lock_holder"]["comm"], "pi_low");
}

#[test]
fn case4_a_background_task_that_blocks_holding_the_lock() {
    let f = findings("demo-case4");
    assert_eq!(
        verdict(&f, "bb_rt", "relief"),
        t("violated", "blocked_on_lock", "bb_bg")
    );
    let r = of(&f, "bb_rt", "relief")[0];
    assert_eq!(r["cause"]["lock_holder"]["comm"], "bb_bg");
    assert_eq!(r["cause"]["lock_holder"]["sched"], "OTHER nice 0");
}

#[test]
fn case5_a_device_irq_thread_kept_from_its_cpu() {
    let f = findings("demo-case5");
    assert_eq!(
        verdict(&f, "irq/17-virtio0", "irq_delay"),
        t("violated", "preempted_by_higher_prio", "prio_hog")
    );
}

#[test]
fn case6_the_gpio_irq_thread_shares_its_cpu_with_the_hog() {
    let f = findings("demo-case6");
    let d = of(&f, "irq/", "irq_delay");
    let d: Vec<&&Value> = d
        .iter()
        .filter(|x| x["task"]["comm"].as_str().unwrap().contains("irq_butt"))
        .collect();
    assert_eq!(d.len(), 1, "{d:?}");
    assert_eq!(triple(d[0]), t("violated", "preempted_by_higher_prio", "prio_hog"));
    // Its handler (300 us of work per edge) meets its 2 ms budget.
    let h = of(&f, "irq/", "irq");
    assert!(
        h.iter()
            .any(|x| x["task"]["comm"].as_str().unwrap().contains("irq_butt") && x["verdict"] == "met"),
        "{h:?}"
    );
}

#[test]
fn case7_a_budget_window_blocked_on_a_lock() {
    let f = findings("demo-case7");
    let w: Vec<&Value> = of(&f, "win_loop", "window")
        .into_iter()
        .filter(|x| x["window_tag"] == 1)
        .collect();
    assert_eq!(w.len(), 1, "{w:?}");
    assert_eq!(triple(w[0]), t("violated", "blocked_on_lock", "win_holder"));
    assert_eq!(w[0]["cause"]["lock_holder"]["comm"], "win_holder");
    assert_eq!(w[0]["cause"]["part"], "sleep_lock");
    // the cycles within budget (tag 0) are met
    let ok: Vec<&Value> = of(&f, "win_loop", "window")
        .into_iter()
        .filter(|x| x["window_tag"] == 0)
        .collect();
    assert_eq!(ok.len(), 1, "{ok:?}");
    assert_eq!(ok[0]["verdict"], "met");
}

/// The text view's findings block: from its header to the end.
fn block(name: &str) -> String {
    let opts = Options {
        json: false,
        hist: false,
    };
    let out = rtdecode::decode_capture(&capture(name), opts, Vec::new()).unwrap();
    let text = String::from_utf8(out).unwrap();
    let at = text.rfind("\n== findings").map_or(0, |i| i + 1);
    text[at..].to_string()
}

#[test]
fn the_findings_blocks_read_as_recorded() {
    let mut differ = Vec::new();
    for n in 1..=7 {
        let name = format!("demo-case{n}");
        let got = block(&name);
        assert!(got.starts_with("== findings: "), "{name}: no findings block:\n{got}");
        // Violated lines come first, then the others.
        let labels: Vec<bool> = got.lines().skip(1).map(|l| l.starts_with("  VIOLATED ")).collect();
        assert!(
            labels.windows(2).all(|w| w[0] || !w[1]),
            "{name}: violated not first:\n{got}"
        );
        let path = format!("{}/tests/data/{name}.findings.txt", env!("CARGO_MANIFEST_DIR"));
        if std::env::var_os("RTDECODE_BLESS").is_some() {
            std::fs::write(&path, &got).unwrap();
        }
        let want = std::fs::read_to_string(&path).unwrap_or_default();
        if got != want {
            differ.push(format!("{path} (RTDECODE_BLESS=1 to accept):\n{got}"));
        }
    }
    assert!(differ.is_empty(), "findings differ from\n{}", differ.join("\n"));
}
