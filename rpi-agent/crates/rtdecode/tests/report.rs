//! `rtdecode report` on the captures of the case studies (tests/data): the
//! page holds every finding with its sentence, one histogram per task and
//! metric with samples, a violations chart per task and metric with
//! violation frames, and every worst case's timeline and breakdown; the
//! numbers it shows (its `data-*` attributes, and the text) equal
//! `--json` of the same capture. A damaged capture still gives a report
//! of everything around the damage.

use std::collections::{BTreeMap, BTreeSet};

use rtdecode::report::{render_capture, Rendered};
use rtdecode::Options;
use serde_json::Value;

const CASES: [&str; 6] = [
    "demo-case1",
    "demo-case2",
    "demo-case3",
    "demo-case4",
    "demo-case5",
    "demo-case6",
];

fn capture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/data/{name}.bin", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn json(bytes: &[u8]) -> Vec<Value> {
    let opts = Options {
        json: true,
        hist: false,
    };
    let out = rtdecode::decode_capture(bytes, opts, Vec::new()).unwrap();
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str::<Value>(l).unwrap())
        .collect()
}

fn page(bytes: &[u8]) -> Rendered {
    render_capture(bytes, "capture.bin").unwrap()
}

/// Text as maud escapes it.
fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// An element's start tag: its attributes, and where it is in the page.
#[derive(Debug, Clone)]
struct Tag {
    at: usize,
    attrs: BTreeMap<String, String>,
}

impl Tag {
    fn get(&self, k: &str) -> Option<&str> {
        self.attrs.get(k).map(String::as_str)
    }

    fn num(&self, k: &str) -> Option<u64> {
        self.get(k)
            .map(|v| v.parse().unwrap_or_else(|_| panic!("{k}={v} is no number")))
    }

    fn class(&self) -> &str {
        self.get("class").unwrap_or("")
    }

    /// (pid, start_ns, metric), as every element about a task and metric has.
    fn series(&self) -> (u64, u64, String) {
        (
            self.num("data-pid").unwrap(),
            self.num("data-start-ns").unwrap(),
            self.get("data-metric").unwrap().to_string(),
        )
    }
}

/// Every start tag `<name ...>` of the page (attributes `k="v"` or bare).
fn tags(html: &str, name: &str) -> Vec<Tag> {
    let open = format!("<{name}");
    let mut out = Vec::new();
    let mut from = 0;
    while let Some(i) = html[from..].find(&open) {
        let at = from + i;
        let rest = &html[at + open.len()..];
        from = at + open.len();
        if !rest.starts_with([' ', '>']) {
            continue;
        }
        let end = rest.find('>').unwrap();
        let mut attrs = BTreeMap::new();
        let mut s = rest[..end].trim();
        while !s.is_empty() {
            let k_end = s.find(['=', ' ']).unwrap_or(s.len());
            let k = s[..k_end].to_string();
            if s[k_end..].starts_with("=\"") {
                let v = &s[k_end + 2..];
                let q = v.find('"').unwrap();
                attrs.insert(k, v[..q].replace("&quot;", "\"").replace("&amp;", "&"));
                s = v[q + 1..].trim_start();
            } else {
                attrs.insert(k, String::new());
                s = s[k_end..].trim_start();
            }
        }
        out.push(Tag { at, attrs });
    }
    out
}

fn of_type<'a>(lines: &'a [Value], t: &str) -> Vec<&'a Value> {
    lines.iter().filter(|l| l["type"] == t).collect()
}

fn key(v: &Value) -> (u64, u64) {
    (
        v["task"]["pid"].as_u64().unwrap(),
        v["task"]["start_ns"].as_u64().unwrap(),
    )
}

#[test]
fn every_finding_with_its_numbers_and_its_sentence_in_the_json_order() {
    for name in CASES {
        let bytes = capture(name);
        let lines = json(&bytes);
        let found = of_type(&lines, "finding");
        let p = page(&bytes);
        let rows: Vec<Tag> = tags(&p.html, "tr")
            .into_iter()
            .filter(|t| t.get("data-verdict").is_some())
            .collect();
        assert_eq!(rows.len(), found.len(), "{name}: one row per finding");
        for (row, f) in rows.iter().zip(&found) {
            let (pid, start) = key(f);
            assert_eq!(
                row.series(),
                (pid, start, f["metric"].as_str().unwrap().to_string()),
                "{name}"
            );
            assert_eq!(row.get("data-verdict"), f["verdict"].as_str(), "{name} {row:?}");
            assert_eq!(row.num("data-count"), f["count"].as_u64(), "{name} {row:?}");
            assert_eq!(row.num("data-violations"), f["violations"].as_u64(), "{name} {row:?}");
            assert_eq!(row.num("data-bound-ns"), f["bound_ns"].as_u64(), "{name} {row:?}");
            assert_eq!(row.num("data-worst-ns"), f["worst_ns"].as_u64(), "{name} {row:?}");
            assert_eq!(row.num("data-excess-ns"), f["excess_ns"].as_u64(), "{name} {row:?}");
            assert_eq!(row.get("data-cause"), f["cause"]["key"].as_str(), "{name} {row:?}");
            // The row shows the sentence, the worst value and the counts.
            let end = p.html[row.at..].find("</tr>").unwrap();
            let text = &p.html[row.at..row.at + end];
            if let Some(s) = f["cause"]["sentence"].as_str() {
                assert!(text.contains(&escape(s)), "{name}: {s} not in {text}");
            }
            if let Some(w) = f["worst_ns"].as_u64() {
                assert!(text.contains(&rtdecode::fmt::dur(w)), "{name}: {text}");
            }
            let v = f["violations"].as_u64().unwrap();
            assert!(
                text.contains(&format!(">{v}/")) || text.contains(&format!(">{v}<")),
                "{name}: {text}"
            );
        }
        assert_eq!(p.summary.findings, found.len());
    }
}

/// The latest snapshot of each task, as --json gives it.
fn snapshots(lines: &[Value]) -> BTreeMap<(u64, u64), &Value> {
    let mut m = BTreeMap::new();
    for l in lines
        .iter()
        .filter(|l| matches!(l["type"].as_str(), Some("task" | "irq" | "exit")))
    {
        m.insert(key(l), l);
    }
    m
}

/// The section id of each task and metric.
fn sections(html: &str) -> BTreeMap<(u64, u64, String), String> {
    tags(html, "section")
        .into_iter()
        .filter(|t| t.class() == "series")
        .map(|t| (t.series(), t.get("id").unwrap().to_string()))
        .collect()
}

#[test]
fn one_histogram_per_task_and_metric_with_samples_and_its_statistics() {
    for name in CASES {
        let bytes = capture(name);
        let lines = json(&bytes);
        let p = page(&bytes);
        let ids = sections(&p.html);
        let stats: BTreeMap<(u64, u64, String), Tag> = tags(&p.html, "table")
            .into_iter()
            .filter(|t| t.class() == "stats")
            .map(|t| (t.series(), t))
            .collect();
        let mut with_samples = 0;
        for ((pid, start), snap) in snapshots(&lines) {
            for (metric, m) in snap["metrics"].as_object().unwrap() {
                let k = (pid, start, metric.clone());
                let count = m["count"].as_u64().unwrap();
                if count == 0 && m["bound_ns"].as_u64() == Some(0) {
                    continue;
                }
                let id = ids.get(&k).unwrap_or_else(|| panic!("{name}: no section for {k:?}"));
                let hist = format!("<svg id=\"hist-{id}\"");
                assert_eq!(p.html.contains(&hist), count > 0, "{name} {k:?}: histogram iff samples");
                let t = &stats[&k];
                assert_eq!(t.num("data-count"), Some(count), "{name} {k:?}");
                assert_eq!(t.num("data-min-ns"), m["min_ns"].as_u64(), "{name} {k:?}");
                assert_eq!(t.num("data-mean-ns"), m["mean_ns"].as_u64(), "{name} {k:?}");
                assert_eq!(t.num("data-max-ns"), m["max_ns"].as_u64(), "{name} {k:?}");
                assert_eq!(
                    t.num("data-p99-lo-ns"),
                    m["percentiles"]["p99"]["lo_ns"].as_u64(),
                    "{name}"
                );
                assert_eq!(
                    t.num("data-p99-hi-ns"),
                    m["percentiles"]["p99"]["hi_ns"].as_u64(),
                    "{name}"
                );
                assert_eq!(t.num("data-bound-ns"), m["bound_ns"].as_u64(), "{name} {k:?}");
                assert_eq!(t.num("data-violations"), m["violations"].as_u64(), "{name} {k:?}");
                if count > 0 {
                    with_samples += 1;
                    // The table shows P99≤ as the bucket's upper end, and the bucket.
                    let end = p.html[t.at..].find("</table>").unwrap();
                    let text = &p.html[t.at..t.at + end];
                    let hi = m["percentiles"]["p99"]["hi_ns"].as_u64().unwrap();
                    let lo = m["percentiles"]["p99"]["lo_ns"].as_u64().unwrap();
                    let shown = format!(
                        "{}<br><small>bucket {} – {}</small>",
                        rtdecode::fmt::dur(hi),
                        rtdecode::fmt::dur(lo),
                        rtdecode::fmt::dur(hi)
                    );
                    assert!(text.contains(&shown), "{name} {k:?}: {text}");
                    let samples: u64 = m["hist"]
                        .as_array()
                        .unwrap()
                        .iter()
                        .map(|b| b["count"].as_u64().unwrap())
                        .sum();
                    let fig = tags(&p.html[t.at..], "figure").into_iter().next().unwrap();
                    assert_eq!(fig.class(), "hist");
                    assert_eq!(fig.num("data-samples"), Some(samples), "{name} {k:?}");
                }
            }
        }
        let figures = tags(&p.html, "figure")
            .into_iter()
            .filter(|t| t.class() == "hist")
            .count();
        assert_eq!(figures, with_samples, "{name}");
        assert_eq!(p.summary.histograms, with_samples, "{name}");
        assert!(with_samples > 0, "{name}");
    }
}

#[test]
fn every_worst_case_has_its_timeline_and_breakdown() {
    for name in CASES {
        let bytes = capture(name);
        let lines = json(&bytes);
        let worst = of_type(&lines, "worst");
        let p = page(&bytes);
        let arts: Vec<Tag> = tags(&p.html, "article")
            .into_iter()
            .filter(|t| t.class() == "worst")
            .collect();
        assert_eq!(arts.len(), worst.len(), "{name}: one block per worst-case record");
        let shown: BTreeSet<(u64, u64, String, u64, u64)> = arts
            .iter()
            .map(|a| {
                let (pid, start, m) = a.series();
                (
                    pid,
                    start,
                    m,
                    a.num("data-value-ns").unwrap(),
                    a.num("data-t-ns").unwrap(),
                )
            })
            .collect();
        for w in &worst {
            let (pid, start) = key(w);
            let k = (
                pid,
                start,
                w["metric"].as_str().unwrap().to_string(),
                w["value_ns"].as_u64().unwrap(),
                w["t_ns"].as_u64().unwrap(),
            );
            assert!(shown.contains(&k), "{name}: worst case {k:?} not shown");
        }
        let charts: BTreeSet<&str> = p.charts.iter().map(|c| c.id.as_str()).collect();
        for a in &arts {
            for attr in ["data-timeline", "data-breakdown"] {
                let id = a.get(attr).unwrap();
                assert!(p.html.contains(&format!("<svg id=\"{id}\"")), "{name}: {id}");
                assert!(charts.contains(id), "{name}: {id}");
            }
            // The timeline has the task's lane and one per CPU its events name.
            let tl = p
                .charts
                .iter()
                .find(|c| c.id == a.get("data-timeline").unwrap())
                .unwrap();
            assert!(tl.svg.contains("CPU ") || a.num("data-events") == Some(0), "{name}");
        }
        assert_eq!(p.summary.worst_cases, worst.len());
    }
}

#[test]
fn violations_over_time_per_task_and_metric_with_violation_frames() {
    for name in CASES {
        let bytes = capture(name);
        let lines = json(&bytes);
        let mut frames: BTreeMap<(u64, u64, String), Vec<&Value>> = BTreeMap::new();
        for v in of_type(&lines, "violation") {
            let (pid, start) = key(v);
            frames
                .entry((pid, start, v["metric"].as_str().unwrap().to_string()))
                .or_default()
                .push(v);
        }
        let p = page(&bytes);
        let ids = sections(&p.html);
        let figs: Vec<Tag> = tags(&p.html, "figure")
            .into_iter()
            .filter(|t| t.class() == "violations")
            .collect();
        assert_eq!(figs.len(), frames.len(), "{name}");
        for (k, vs) in &frames {
            let id = &ids[k];
            let at = p.html.find(&format!("<svg id=\"violations-{id}\"")).unwrap();
            let fig = figs.iter().rfind(|f| f.at < at).unwrap();
            assert_eq!(fig.num("data-frames"), Some(vs.len() as u64), "{name} {k:?}");
            let last = vs.iter().map(|v| v["violations"].as_u64().unwrap()).max();
            assert_eq!(fig.num("data-violations"), last, "{name} {k:?}");
        }
    }
}

#[test]
fn charts_have_unique_plain_ids_and_are_inline() {
    for name in CASES {
        let p = page(&capture(name));
        let mut seen = BTreeSet::new();
        for c in &p.charts {
            assert!(seen.insert(c.id.clone()), "{name}: {} twice", c.id);
            assert!(
                c.id.chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || ch == '-' || ch == '_'),
                "{name}: {}",
                c.id
            );
            assert_eq!(c.file_name(), format!("{}.svg", c.id));
            assert!(c.svg.starts_with(&format!("<svg id=\"{}\"", c.id)));
            assert!(p.html.contains(&c.svg), "{name}: {} not inline", c.id);
        }
    }
}

#[test]
fn the_page_needs_nothing_from_outside() {
    let p = page(&capture("demo-case3"));
    let outside = p.html.replace("xmlns=\"http://www.w3.org/2000/svg\"", "");
    for bad in ["http://", "https://", "<script", "<link", " src=", "@import", "url("] {
        assert!(!outside.contains(bad), "{bad} in the page");
    }
    assert!(p.html.contains("Content-Security-Policy"));
}

#[test]
fn damaged_input_keeps_what_was_collected() {
    let good = capture("demo-case3");
    let mut bad = good.clone();
    // Flip bytes in two stretches (frames there fail their CRC) and cut the end mid-frame.
    for i in [good.len() / 3, good.len() * 2 / 3] {
        for b in &mut bad[i..i + 300] {
            *b ^= 0x5a;
        }
    }
    bad.truncate(good.len() - 777);
    let lines = json(&bad);
    let found = of_type(&lines, "finding");
    assert!(found.len() > 10, "{}", found.len());
    let p = page(&bad);
    assert!(p.html.contains("id=\"damage\""), "the damage is said");
    let rows = tags(&p.html, "tr")
        .into_iter()
        .filter(|t| t.get("data-verdict").is_some())
        .count();
    assert_eq!(rows, found.len());
    for f in &found {
        if let Some(s) = f["cause"]["sentence"].as_str() {
            assert!(p.html.contains(&escape(s)), "{s}");
        }
    }
    assert_eq!(p.summary.worst_cases, of_type(&lines, "worst").len());
    assert!(p.summary.worst_cases > 30);
}

/// A fresh directory under the system's temporary one.
fn scratch(tag: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("rtdecode-report-{tag}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

#[test]
fn the_binary_writes_the_page_and_each_chart_as_a_file() {
    let d = scratch("bin");
    let html = d.join("report.html");
    let svg = d.join("charts");
    let src = format!("{}/tests/data/demo-case1.bin", env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rtdecode"))
        .args(["report", &src, "-o"])
        .arg(&html)
        .arg("--svg")
        .arg(&svg)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{err}");
    assert!(err.contains(&format!("wrote {}", html.display())), "{err}");
    // Not a terminal: no progress line.
    assert!(!err.contains("read 0."), "{err}");
    let written = std::fs::read_to_string(&html).unwrap();
    let ids: BTreeSet<String> = tags(&written, "svg")
        .iter()
        .filter_map(|t| t.get("id").map(str::to_string))
        .collect();
    let files: BTreeSet<String> = std::fs::read_dir(&svg)
        .unwrap()
        .map(|e| {
            e.unwrap()
                .file_name()
                .to_string_lossy()
                .trim_end_matches(".svg")
                .to_string()
        })
        .collect();
    assert!(!ids.is_empty());
    assert_eq!(ids, files, "one file per chart, named as its id");
    // The same charts as the library renders.
    let lib = page(&capture("demo-case1"));
    for c in &lib.charts {
        assert_eq!(std::fs::read_to_string(svg.join(c.file_name())).unwrap(), c.svg);
    }
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn an_unwritable_page_fails_before_reading_and_says_what_to_do() {
    let src = format!("{}/tests/data/demo-case1.bin", env!("CARGO_MANIFEST_DIR"));
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rtdecode"))
        .args(["report", &src, "-o", "/nonexistent/dir/report.html"])
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("cannot create the report /nonexistent/dir/report.html")
            && err.contains("check the directory exists"),
        "{err}"
    );
    // The chart directory is made first: a bad one leaves no empty page behind.
    let d = scratch("svgdir");
    let page = d.join("r.html");
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_rtdecode"))
        .args(["report", &src, "--svg", "/proc/no/such/dir", "-o"])
        .arg(&page)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        err.contains("cannot create the chart directory /proc/no/such/dir"),
        "{err}"
    );
    assert!(!page.exists());
    let _ = std::fs::remove_dir_all(&d);
}

#[test]
fn a_long_run_draws_the_largest_worst_cases_and_lists_the_rest() {
    // Case 3 twenty times over: the same tasks, each replay's worst cases again.
    let bytes: Vec<u8> = (0..20).flat_map(|_| capture("demo-case3")).collect();
    let lines = json(&bytes);
    let worst = of_type(&lines, "worst");
    let p = page(&bytes);
    let arts: Vec<Tag> = tags(&p.html, "article")
        .into_iter()
        .filter(|t| t.class() == "worst")
        .collect();
    let listed: Vec<Tag> = tags(&p.html, "tr")
        .into_iter()
        .filter(|t| t.class() == "undrawn")
        .collect();
    assert_eq!(arts.len() + listed.len(), worst.len(), "every record drawn or listed");
    assert!(!listed.is_empty());
    assert_eq!(
        (p.summary.worst_cases, p.summary.worst_undrawn),
        (arts.len(), listed.len())
    );
    let mut per: BTreeMap<(u64, u64, String), Vec<u64>> = BTreeMap::new();
    for a in &arts {
        per.entry(a.series()).or_default().push(a.num("data-value-ns").unwrap());
    }
    for l in &listed {
        let drawn = &per[&l.series()];
        assert_eq!(drawn.len(), rtdecode::report::MAX_DRAWN);
        // The drawn ones are the largest.
        assert!(drawn.iter().all(|v| *v >= l.num("data-value-ns").unwrap()));
    }
}

#[test]
fn no_demo_capture_has_more_worst_cases_than_are_drawn() {
    for name in CASES {
        assert_eq!(page(&capture(name)).summary.worst_undrawn, 0, "{name}");
    }
}

/// One frame of `m`, as the agent sends it.
fn frame(seq: u32, m: &rt_protocol::Message) -> Vec<u8> {
    let mut enc = Box::new(rt_protocol::FrameEncoder::new());
    let mut out = vec![0u8; rt_protocol::MAX_WIRE];
    let n = enc.encode(seq, m, &mut out).unwrap();
    out.truncate(n);
    out
}

#[test]
fn budget_windows_have_their_findings_histograms_overruns_and_timelines() {
    use rt_protocol::*;
    let task = TaskInfo {
        pid: 200,
        tgid: 200,
        irq: -1,
        prio: 49,
        policy: 1,
        comm: bounded_str("win_loop"),
        start_ns: 5,
        ..Default::default()
    };
    let hog = (199, "hog");
    let ev = |kind: u8, t_ns: u64, pid: i32, comm: &str, other: (i32, &str), prev_state: u8| Event {
        t_ns,
        kind,
        cpu: 1,
        pid,
        comm: bounded_str(comm),
        prio: 49,
        policy: 1,
        other_pid: other.0,
        other_comm: bounded_str(other.1),
        other_prio: 39,
        other_policy: 1,
        prev_state,
    };
    let overrun = |t_ns: u64, duration_ns: u64, overruns: u64| {
        let mut w = WindowOverrun {
            t_ns,
            task: task.clone(),
            tag: 0x40,
            what: window_what::STOP,
            budget_ns: 3_000_000,
            start_ns: t_ns - duration_ns,
            duration_ns,
            overruns,
            breakdown: Breakdown {
                running_ns: 1_000_000,
                waiting_ns: duration_ns - 1_000_000,
                ..Default::default()
            },
            ..Default::default()
        };
        w.culprits
            .push(Culprit {
                pid: hog.0,
                prio: 39,
                policy: 1,
                ns: duration_ns - 1_000_000,
                comm: bounded_str(hog.1),
            })
            .unwrap();
        // Running, preempted by the hog, back at the end.
        w.events
            .push(ev(
                event::SWITCH,
                1_000_000,
                hog.0,
                hog.1,
                (200, "win_loop"),
                state::PREEMPTED,
            ))
            .unwrap();
        w.events
            .push(ev(event::SWITCH, duration_ns, 200, "win_loop", hog, state::PREEMPTED))
            .unwrap();
        w.event_flags.push(0).unwrap();
        w.event_flags.push(0).unwrap();
        Message::Window(w)
    };
    let mut stats = MetricStats {
        metric: WINDOW_METRIC,
        count: 4,
        min_ns: 1_000_000,
        max_ns: 6_000_000,
        sum_ns: 12_000_000,
        bound_ns: 3_000_000,
        violations: 2,
        ..Default::default()
    };
    stats.log2.push(Bucket { idx: 20, count: 2 }).unwrap();
    stats.log2.push(Bucket { idx: 23, count: 2 }).unwrap();
    let ws = Message::WindowStats(WindowStats {
        t_ns: 9_000_000_000,
        task: task.clone(),
        tag: 0x40,
        stats,
        ..Default::default()
    });
    let snap = Message::Task(TaskSnapshot {
        t_ns: 9_000_000_000,
        task: task.clone(),
        ..Default::default()
    });
    let mut bytes = Vec::new();
    for (i, m) in [
        overrun(5_000_000_000, 4_000_000, 1),
        overrun(7_000_000_000, 6_000_000, 2),
        snap,
        ws,
    ]
    .iter()
    .enumerate()
    {
        bytes.extend(frame(i as u32, m));
    }
    let lines = json(&bytes);
    let found: Vec<&Value> = of_type(&lines, "finding")
        .into_iter()
        .filter(|f| f["metric"] == "window")
        .collect();
    assert_eq!(found.len(), 1, "{lines:?}");
    let f = found[0];
    assert_eq!(
        (f["window_tag"].as_u64(), f["verdict"].as_str()),
        (Some(0x40), Some("violated"))
    );
    let p = page(&bytes);
    let row = tags(&p.html, "tr")
        .into_iter()
        .find(|t| t.get("data-window-tag") == Some("64"))
        .expect("a findings row of the window");
    assert_eq!(row.get("data-metric"), Some("window"));
    assert_eq!(row.num("data-worst-ns"), f["worst_ns"].as_u64());
    assert_eq!(row.num("data-violations"), f["violations"].as_u64());
    assert_eq!(row.get("data-cause"), f["cause"]["key"].as_str());
    assert!(p.html.contains(&escape(f["cause"]["sentence"].as_str().unwrap())));
    assert!(p.html.contains(">window 0x40<"), "the metric column names the tag");
    let id = "win_loop-200-window-0x40";
    for chart in [
        format!("hist-{id}"),
        format!("violations-{id}"),
        format!("timeline-{id}-1"),
        format!("timeline-{id}-2"),
        format!("breakdown-{id}-2"),
    ] {
        assert!(p.html.contains(&format!("<svg id=\"{chart}\"")), "{chart}");
    }
    let t = tags(&p.html, "table")
        .into_iter()
        .find(|t| t.class() == "stats" && t.get("data-window-tag") == Some("64"))
        .unwrap();
    assert_eq!((t.num("data-count"), t.num("data-max-ns")), (Some(4), Some(6_000_000)));
    assert_eq!(t.num("data-violations"), Some(2));
    // The longest overrun first; its timeline has the hog in the culprit colour.
    let arts: Vec<Tag> = tags(&p.html, "article")
        .into_iter()
        .filter(|t| t.get("data-window-tag") == Some("64"))
        .collect();
    assert_eq!(arts.len(), 2);
    assert_eq!(arts[0].num("data-value-ns"), Some(6_000_000));
    let tl = p.charts.iter().find(|c| c.id == format!("timeline-{id}-2")).unwrap();
    assert!(tl.svg.contains("hog 199 ("), "{}", tl.svg);
    // The window opens with the task running (its START), then preempted.
    let texts: Vec<&str> = tl.svg.split("\n").map(str::trim).collect();
    let running = texts.iter().position(|t| *t == "running");
    let preempted = texts.iter().position(|t| *t == "waiting (preempted)");
    assert!(matches!((running, preempted), (Some(a), Some(b)) if a < b), "{texts:?}");
    assert!(tl.svg.to_ascii_uppercase().contains("#D7263D"));
    let fig = tags(&p.html, "figure")
        .into_iter()
        .find(|t| t.class() == "violations")
        .unwrap();
    assert_eq!((fig.num("data-frames"), fig.num("data-violations")), (Some(2), Some(2)));
}

/// Case 7 of the demo (a real capture, under --icount): win_loop's windows
/// of tags 0 (within), 1 (blocked on win_holder's lock, every one over)
/// and 0x63 (the warm-up), each with its statistics as `--json`'s last
/// window_stats line has them, and every overrun record drawn or listed.
#[test]
fn case7_budget_windows_of_a_real_capture() {
    let bytes = capture("demo-case7");
    let lines = json(&bytes);
    let p = page(&bytes);
    let mut last: BTreeMap<u64, &Value> = BTreeMap::new();
    for w in of_type(&lines, "window_stats") {
        last.insert(w["window_tag"].as_u64().unwrap(), w);
    }
    assert_eq!(last.keys().copied().collect::<Vec<_>>(), vec![0, 1, 0x63]);
    let stats: Vec<Tag> = tags(&p.html, "table")
        .into_iter()
        .filter(|t| t.class() == "stats" && t.get("data-window-tag").is_some())
        .collect();
    assert_eq!(stats.len(), last.len());
    for t in &stats {
        let w = last[&t.num("data-window-tag").unwrap()]["stats"].clone();
        assert_eq!(t.num("data-count"), w["count"].as_u64(), "{w}");
        assert_eq!(t.num("data-max-ns"), w["max_ns"].as_u64(), "{w}");
        assert_eq!(t.num("data-violations"), w["violations"].as_u64(), "{w}");
        assert_eq!(t.num("data-bound-ns"), w["bound_ns"].as_u64(), "{w}");
    }
    let row = tags(&p.html, "tr")
        .into_iter()
        .find(|t| t.get("data-window-tag") == Some("1") && t.get("data-verdict").is_some())
        .expect("the findings row of window 0x1");
    assert_eq!(row.get("data-verdict"), Some("violated"));
    assert_eq!(row.get("data-cause"), Some("blocked_on_lock"));
    let overruns = of_type(&lines, "window_overrun");
    assert!(overruns.iter().all(|o| o["window_tag"] == 1) && overruns.len() == 20);
    let drawn = tags(&p.html, "article")
        .into_iter()
        .filter(|t| t.get("data-window-tag") == Some("1"))
        .count();
    let listed = tags(&p.html, "tr")
        .into_iter()
        .filter(|t| t.class() == "undrawn" && t.get("data-window-tag") == Some("1"))
        .count();
    assert_eq!(drawn, rtdecode::report::MAX_DRAWN);
    assert_eq!(drawn + listed, overruns.len());
    // the longest overrun is drawn: its value is the finding's worst
    let worst = of_type(&lines, "finding")
        .into_iter()
        .find(|f| f["metric"] == "window" && f["window_tag"] == 1)
        .unwrap()["worst_ns"]
        .as_u64();
    assert!(tags(&p.html, "article")
        .iter()
        .any(|t| t.get("data-window-tag") == Some("1") && t.num("data-value-ns") == worst));
}
