//! The readable view of a recorded capture (case 1 of scripts/demo, the
//! emulated appliance's UART), byte for byte. After a deliberate change of
//! the view: `RTDECODE_BLESS=1 cargo test -p rtdecode --test golden`, and
//! read the diff.

use rtdecode::Options;

const CAPTURE: &[u8] = include_bytes!("data/demo-case1.bin");

fn text(hist: bool) -> String {
    let out = rtdecode::decode_capture(CAPTURE, Options { json: false, hist }, Vec::new()).unwrap();
    String::from_utf8(out).unwrap()
}

#[test]
fn the_demo_capture_reads_as_recorded() {
    let got = text(false);
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/data/demo-case1.txt");
    if std::env::var_os("RTDECODE_BLESS").is_some() {
        std::fs::write(path, &got).unwrap();
    }
    let want = std::fs::read_to_string(path).unwrap_or_default();
    if got != want {
        let line = got.lines().zip(want.lines()).position(|(a, b)| a != b);
        panic!("the view differs from {path} from line {line:?} on (RTDECODE_BLESS=1 to accept):\n{got}");
    }
}

/// ns of "518 us", "16.8 ms", "-" (None).
fn ns(cell: &str) -> Option<f64> {
    let (v, unit) = cell.split_once(' ')?;
    let mult = match unit {
        "ns" => 1.0,
        "us" => 1e3,
        "ms" => 1e6,
        "s" => 1e9,
        _ => return None,
    };
    Some(v.parse::<f64>().ok()? * mult)
}

#[test]
fn the_demo_tables_are_in_line_and_p99_stays_below_max() {
    let t = text(false);
    let lines: Vec<&str> = t.lines().collect();
    let heads: Vec<usize> = (0..lines.len()).filter(|&i| lines[i].contains("PID COMM")).collect();
    assert!(heads.len() >= 2, "{t}");
    let mut irq_rows = 0;
    for &h in &heads {
        let head = lines[h];
        let width = head.chars().count();
        // Right-aligned columns end where their header ends and start after
        // the column before.
        let end = |name: &str| {
            head.find(name)
                .map(|b| head[..b].chars().count() + name.chars().count())
                .unwrap()
        };
        let (mean_end, p99_end, max_end) = (end("MEAN"), end("P99≤"), end("MAX"));
        for row in lines[h + 1..].iter().take_while(|l| !l.starts_with("-- ")) {
            if row.contains("no samples yet") {
                continue;
            }
            irq_rows += usize::from(row.contains("[irq "));
            assert_eq!(row.chars().count(), width, "out of line:\n{head}\n{row}");
            let cell = |from: usize, to: usize| row.chars().skip(from + 1).take(to - from - 1).collect::<String>();
            let (p99, max) = (cell(mean_end, p99_end), cell(p99_end, max_end));
            let (p99, max) = (ns(p99.trim()), ns(max.trim()));
            // "-" in both while a metric has a bound but no sample yet.
            assert_eq!(p99.is_some(), max.is_some(), "{head}\n{row}");
            assert!(p99 <= max, "P99 above MAX:\n{head}\n{row}");
        }
    }
    assert!(irq_rows > 0, "the capture has an IRQ thread row:\n{t}");
}

#[test]
fn the_demo_capture_ends_with_one_table_and_one_link_line() {
    let t = text(false);
    let last_table = t.rfind("PID COMM").unwrap();
    let tail = &t[last_table..];
    assert_eq!(tail.matches("-- link:").count(), 1, "{tail}");
    // The last table is complete: every task ctrl_loop case 1 tracked.
    assert!(tail.contains("ctrl_loop†"), "{tail}");
    // Nothing is printed twice in a row.
    let lines: Vec<&str> = t.lines().collect();
    for w in lines.windows(2) {
        assert!(
            !(w[0] == w[1] && w[0].starts_with("-- link:")),
            "link line twice:\n{}",
            w[0]
        );
    }
}

#[test]
fn hist_shows_each_task_metric_histogram_with_its_table() {
    let t = text(true);
    let tables = t.matches("PID COMM").count();
    let titles = t
        .lines()
        .filter(|l| l.starts_with("  ctrl_loop[") && l.contains("] latency ("))
        .count();
    assert_eq!(titles, tables, "{t}");
    // Every bar row: [lo, hi) count |bar| with the bar 40 wide.
    let bars: Vec<&str> = t.lines().filter(|l| l.starts_with("    [")).collect();
    assert!(!bars.is_empty());
    for b in bars {
        let bar = b.split_once('|').map(|(_, r)| r).unwrap();
        assert_eq!(bar.chars().count(), 41, "{b}");
        assert!(bar.ends_with('|'), "{b}");
    }
}

#[test]
fn the_case_banners_come_through_as_console_lines_of_their_own() {
    let t = text(false);
    let lines: Vec<&str> = t.lines().collect();
    let banner = lines
        .iter()
        .position(|l| l.contains("### case 1/5: misconfigured priorities"))
        .expect("case 1 banner");
    assert!(lines[banner].starts_with("console| "), "{}", lines[banner]);
    assert_eq!(
        lines[banner + 1],
        "console| ctrl_loop (FIFO 50, 2 ms period) shares CPU 1 with prio_hog, set to FIFO 60 by mistake."
    );
    // Every line of the view starts as one of its kinds: nothing ran into another.
    let kinds = ["console| ", "!! ", "** ", "     +", "  ", "-- ", "== "];
    for l in &lines {
        assert!(
            kinds.iter().any(|k| l.starts_with(k)),
            "a line that ran into another: {l}"
        );
        assert!(
            !l[1..].contains("** new worst") && !l[1..].contains("!! VIOLATION"),
            "{l}"
        );
    }
}
