//! `rtdecode serve` as a Prometheus scrape target sees it: the real binary
//! reads two devices over TCP (this test's listeners, each serving one
//! recorded capture), and /metrics, fetched over HTTP, says what `--json`
//! says of the same capture. One device's link then drops (the connection
//! closes and nothing listens any more): it is marked down and keeps its
//! values; when it listens again, rtdecode reconnects by itself and the
//! link is up again, its link counters adding up over both connections.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use serde_json::Value;

const CASE1: &[u8] = include_bytes!("data/demo-case1.bin");
const CASE3: &[u8] = include_bytes!("data/demo-case3.bin");

type Labels = BTreeMap<String, String>;

/// (name, labels, value) of each sample line of a text exposition.
fn samples(text: &str) -> Vec<(String, Labels, f64)> {
    let mut out = Vec::new();
    for line in text.lines().filter(|l| !l.starts_with('#') && !l.is_empty()) {
        let (series, v) = line.rsplit_once(' ').expect("a sample line has a value");
        let (name, labels) = match series.split_once('{') {
            Some((n, rest)) => (n, rest.strip_suffix('}').expect("labels end with }")),
            None => (series, ""),
        };
        let mut l = Labels::new();
        for pair in labels.split("\",").filter(|p| !p.is_empty()) {
            let (k, v) = pair.split_once("=\"").expect("label=\"value\"");
            l.insert(k.into(), v.trim_end_matches('"').into());
        }
        out.push((name.into(), l, v.parse().expect("a number")));
    }
    out
}

struct Scrape(Vec<(String, Labels, f64)>, String);

impl Scrape {
    /// The value of the one series of `name` whose labels include `want`.
    fn get(&self, name: &str, want: &[(&str, &str)]) -> Option<f64> {
        let hits: Vec<f64> = self
            .0
            .iter()
            .filter(|(n, l, _)| n == name && want.iter().all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v)))
            .map(|s| s.2)
            .collect();
        assert!(hits.len() <= 1, "{name} {want:?} is not one series:\n{}", self.1);
        hits.first().copied()
    }

    fn must(&self, name: &str, want: &[(&str, &str)]) -> f64 {
        self.get(name, want)
            .unwrap_or_else(|| panic!("no {name} {want:?} in\n{}", self.1))
    }
}

/// GET /metrics as Prometheus asks for it: (content type, body). HTTP/1.0,
/// so that the body is not chunked (Prometheus's own client reads both).
fn get_metrics(addr: SocketAddr) -> (String, String) {
    let mut s = TcpStream::connect(addr).expect("rtdecode serve listens");
    s.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
    write!(
        s,
        "GET /metrics HTTP/1.0\r\nHost: {addr}\r\nAccept: application/openmetrics-text;version=1.0.0,\
         text/plain;version=0.0.4;q=0.5\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut resp = String::new();
    s.read_to_string(&mut resp).expect("a response");
    let (head, body) = resp.split_once("\r\n\r\n").expect("headers end");
    assert!(head.starts_with("HTTP/1.0 200 "), "{head}");
    let ctype = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Type: "))
        .unwrap_or_default()
        .to_string();
    (ctype, body.to_string())
}

fn scrape(addr: SocketAddr) -> Scrape {
    let (ctype, body) = get_metrics(addr);
    assert!(ctype.starts_with("application/openmetrics-text"), "{ctype}");
    assert!(body.ends_with("# EOF\n"), "not a whole OpenMetrics exposition:\n{body}");
    Scrape(samples(&body), body)
}

/// Scrape until `ok` holds (rtdecode works at its own pace), at most 30 s.
fn scrape_until(addr: SocketAddr, what: &str, ok: impl Fn(&Scrape) -> bool) -> Scrape {
    let t0 = Instant::now();
    loop {
        let s = scrape(addr);
        if ok(&s) {
            return s;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(30),
            "{what}: not within 30 s:\n{}",
            s.1
        );
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// A device on `listener`: serves `bytes` to one connection, then keeps it
/// open until told to close it.
fn device(listener: TcpListener, bytes: &'static [u8]) -> (mpsc::Sender<()>, JoinHandle<()>) {
    let (tx, rx) = mpsc::channel::<()>();
    let h = std::thread::spawn(move || {
        let (mut c, _) = listener.accept().expect("rtdecode connects");
        c.write_all(bytes).expect("rtdecode reads");
        let _ = rx.recv();
        // Dropping both: the connection closes and nothing listens any more.
    });
    (tx, h)
}

/// `rtdecode --json` of the capture: its finding lines by (comm, metric), and
/// the frames of the final link line.
fn expected(capture: &[u8]) -> (BTreeMap<(String, String), Value>, u64, Vec<Value>) {
    let out = rtdecode::decode_capture(
        capture,
        rtdecode::Options {
            json: true,
            hist: false,
        },
        Vec::new(),
    )
    .expect("the capture decodes");
    let lines: Vec<Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut findings = BTreeMap::new();
    for f in lines.iter().filter(|l| l["type"] == "finding") {
        let comm = f["task"]["comm"].as_str().unwrap().to_string();
        let pid = f["task"]["pid"].to_string();
        findings.insert(
            (format!("{comm}[{pid}]"), f["metric"].as_str().unwrap().to_string()),
            f.clone(),
        );
    }
    let link = lines
        .iter()
        .rev()
        .find(|l| l["type"] == "link")
        .expect("a final link line");
    (findings, link["frames"].as_u64().unwrap(), lines)
}

struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts `rtdecode serve` on a free port: the child and its /metrics address.
fn serve(sources: &[String]) -> (Serve, SocketAddr) {
    let mut child = Command::new(env!("CARGO_BIN_EXE_rtdecode"))
        .args([
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--max-backoff",
            "0.3",
            "--duration",
            "120",
        ])
        .args(sources)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("rtdecode runs");
    let stderr = child.stderr.take().unwrap();
    let child = Serve(child);
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            eprintln!("{line}");
            if let Some(rest) = line.split_once("http://").map(|x| x.1) {
                let _ = tx.send(rest.split('/').next().unwrap_or_default().to_string());
            }
        }
    });
    let addr = rx
        .recv_timeout(Duration::from_secs(30))
        .expect("rtdecode serve says where it listens");
    (child, addr.parse().expect("HOST:PORT"))
}

#[test]
fn two_tcp_devices_their_findings_and_a_link_that_drops_and_returns() {
    let la = TcpListener::bind("127.0.0.1:0").unwrap();
    let lb = TcpListener::bind("127.0.0.1:0").unwrap();
    let (a_addr, b_addr) = (la.local_addr().unwrap(), lb.local_addr().unwrap());
    let (close_a, a) = device(la, CASE1);
    let (_keep_b, _b) = device(lb, CASE3);
    let (_child, http) = serve(&[format!("pi-a=tcp:{a_addr}"), format!("pi-b=tcp:{b_addr}")]);

    let (f1, frames1, json1) = expected(CASE1);
    let (f3, frames3, _) = expected(CASE3);
    let frames = |s: &Scrape, d: &str| s.get("rt_tracer_link_frames_total", &[("device", d)]);
    let s = scrape_until(http, "both captures read", |s| {
        frames(s, "pi-a") == Some(frames1 as f64) && frames(s, "pi-b") == Some(frames3 as f64)
    });
    assert_eq!(s.must("rt_tracer_link_up", &[("device", "pi-a")]), 1.0);
    assert_eq!(s.must("rt_tracer_link_up", &[("device", "pi-b")]), 1.0);
    assert_eq!(s.must("rt_tracer_link_connects_total", &[("device", "pi-a")]), 1.0);
    assert_eq!(s.must("rt_tracer_link_crc_errors_total", &[("device", "pi-a")]), 0.0);
    assert_eq!(s.must("rt_tracer_link_lost_frames_total", &[("device", "pi-b")]), 0.0);
    let src = format!("tcp:{a_addr}");
    assert_eq!(
        s.must(
            "rt_tracer_device_info",
            &[("device", "pi-a"), ("source", &src), ("board", "linux,dummy-virt")]
        ),
        1.0
    );

    // Every finding of each capture, as /metrics has it: its device, task,
    // pid and metric labels; samples, violations, max and bound.
    let check = |s: &Scrape, dev: &str, findings: &BTreeMap<(String, String), Value>| {
        assert!(findings.len() > 5);
        for f in findings.values() {
            let pid = f["task"]["pid"].to_string();
            let l = [
                ("device", dev),
                ("task", f["task"]["comm"].as_str().unwrap()),
                ("pid", pid.as_str()),
                ("metric", f["metric"].as_str().unwrap()),
            ];
            let n = |k: &str| f[k].as_u64().unwrap() as f64;
            assert_eq!(s.must("rt_tracer_samples_total", &l), n("count"), "{l:?}");
            assert_eq!(s.must("rt_tracer_violations_total", &l), n("violations"), "{l:?}");
            assert_eq!(s.must("rt_tracer_bound_seconds", &l), n("bound_ns") / 1e9, "{l:?}");
            match f["worst_ns"].as_u64() {
                Some(w) => assert_eq!(s.must("rt_tracer_max_seconds", &l), w as f64 / 1e9, "{l:?}"),
                None => assert_eq!(s.get("rt_tracer_max_seconds", &l), None, "{l:?}"),
            }
        }
    };
    check(&s, "pi-a", &f1);
    check(&s, "pi-b", &f3);
    let pi_high = &f3[&("pi_high[180]".to_string(), "relief".to_string())];
    assert_eq!(pi_high["violations"], 38);

    // ctrl_loop's latency histogram: the buckets of its last snapshot
    // (JSON `hist`, [lo, hi) ns), cumulative at le = hi - 1 ns.
    let last = json1
        .iter()
        .rev()
        .find(|l| l["task"]["comm"] == "ctrl_loop" && l.get("metrics").is_some())
        .expect("a ctrl_loop snapshot");
    let lat = &last["metrics"]["latency"];
    let hist = lat["hist"].as_array().unwrap();
    let l = [
        ("device", "pi-a"),
        ("task", "ctrl_loop"),
        ("pid", "173"),
        ("metric", "latency"),
    ];
    let buckets: Vec<(f64, f64)> =
        s.0.iter()
            .filter(|(n, lb, _)| {
                n == "rt_tracer_duration_seconds_bucket"
                    && l.iter().all(|(k, v)| lb.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|(_, lb, v)| (lb["le"].parse::<f64>().expect("le is a number or +Inf"), *v))
            .collect();
    assert_eq!(buckets.len(), 32, "every log2 bucket, always");
    assert_eq!(buckets[31].0, f64::INFINITY);
    let mut cumulative = 0;
    for b in hist {
        cumulative += b["count"].as_u64().unwrap();
        let le = (b["hi_ns"].as_u64().unwrap() - 1) as f64 / 1e9;
        let at = buckets
            .iter()
            .find(|x| x.0 == le)
            .unwrap_or_else(|| panic!("no le {le}: {buckets:?}"));
        assert_eq!(at.1, cumulative as f64, "le {le}");
    }
    let count = lat["count"].as_u64().unwrap() as f64;
    assert_eq!(cumulative as f64, count);
    let mut inf = l.to_vec();
    inf.push(("le", "+Inf"));
    assert_eq!(s.must("rt_tracer_duration_seconds_bucket", &inf), count);
    assert_eq!(s.must("rt_tracer_duration_seconds_count", &l), count);
    let sum = s.must("rt_tracer_duration_seconds_sum", &l);
    let mean = lat["mean_ns"].as_u64().unwrap() as f64;
    assert!((sum / count * 1e9 - mean).abs() < 1.0, "sum {sum} vs mean {mean} ns");

    // The link of device a drops: down, values kept; b unaffected.
    close_a.send(()).unwrap();
    a.join().unwrap();
    let s = scrape_until(http, "a marked down", |s| {
        s.get("rt_tracer_link_up", &[("device", "pi-a")]) == Some(0.0)
    });
    assert_eq!(s.must("rt_tracer_link_up", &[("device", "pi-b")]), 1.0);
    check(&s, "pi-a", &f1);
    assert_eq!(frames(&s, "pi-a"), Some(frames1 as f64));

    // It listens again (the same port): rtdecode reconnects by itself.
    let la = TcpListener::bind(a_addr).expect("the port again");
    let (_close_a, _a) = device(la, CASE1);
    let s = scrape_until(http, "a up again with the capture read twice", |s| {
        s.get("rt_tracer_link_up", &[("device", "pi-a")]) == Some(1.0)
            && frames(s, "pi-a") == Some(2.0 * frames1 as f64)
    });
    assert_eq!(s.must("rt_tracer_link_connects_total", &[("device", "pi-a")]), 2.0);
    assert_eq!(s.must("rt_tracer_link_seq_resets_total", &[("device", "pi-a")]), 0.0);
    check(&s, "pi-a", &f1);
    check(&s, "pi-b", &f3);
}

#[test]
fn a_capture_file_is_read_once_and_stays_down() {
    let dir = std::env::temp_dir().join(format!("rtdecode-serve-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("case1.bin");
    std::fs::write(&path, CASE1).unwrap();
    let (_child, http) = serve(&[format!("replay={}", path.display())]);
    let (f1, frames1, _) = expected(CASE1);
    let s = scrape_until(http, "the capture read", |s| {
        s.get("rt_tracer_link_frames_total", &[("device", "replay")]) == Some(frames1 as f64)
    });
    assert_eq!(s.must("rt_tracer_link_up", &[("device", "replay")]), 0.0);
    assert_eq!(s.must("rt_tracer_link_connects_total", &[("device", "replay")]), 1.0);
    let ctrl = &f1[&("ctrl_loop[173]".to_string(), "latency".to_string())];
    let l = [
        ("device", "replay"),
        ("task", "ctrl_loop"),
        ("pid", "173"),
        ("metric", "latency"),
    ];
    assert_eq!(
        s.must("rt_tracer_violations_total", &l),
        ctrl["violations"].as_u64().unwrap() as f64
    );
    // A plain client gets the Prometheus text format.
    let mut c = TcpStream::connect(http).unwrap();
    write!(c, "GET /metrics HTTP/1.0\r\n\r\n").unwrap();
    let mut resp = String::new();
    c.read_to_string(&mut resp).unwrap();
    assert!(resp.contains("Content-Type: text/plain; version=0.0.4"), "{resp}");
    assert!(resp.contains("# TYPE rt_tracer_violations_total counter"));
    assert!(!resp.contains("# EOF"));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_silent_socket_is_reopened_after_stale() {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    // The capture, then silence on an open connection (a peer gone without
    // closing); the listener stays, so the reconnection gets through.
    let (_hold, _d) = device(l, CASE1);
    let (_child, http) = serve(&["--stale".into(), "1".into(), format!("quiet=tcp:{addr}")]);
    let (_, frames1, _) = expected(CASE1);
    let s = scrape_until(http, "reconnected after --stale", |s| {
        s.get("rt_tracer_link_connects_total", &[("device", "quiet")]) >= Some(2.0)
    });
    // The second connection brought nothing: the values are the first's.
    assert_eq!(
        s.must("rt_tracer_link_frames_total", &[("device", "quiet")]),
        frames1 as f64
    );
    let l = [
        ("device", "quiet"),
        ("task", "ctrl_loop"),
        ("pid", "173"),
        ("metric", "latency"),
    ];
    assert_eq!(s.must("rt_tracer_violations_total", &l), 124.0);
}

/// A FIFO stands for a serial device here (the same reopen loop, without
/// hardware): each writer is one connection of the device.
#[test]
fn a_fifo_source_is_reopened_for_each_writer() {
    let dir = std::env::temp_dir().join(format!("rtdecode-serve-fifo-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let fifo = dir.join("ttyFAKE");
    let _ = std::fs::remove_file(&fifo);
    nix::unistd::mkfifo(&fifo, nix::sys::stat::Mode::from_bits_truncate(0o600)).expect("mkfifo");
    let (_child, http) = serve(&[format!("tty={}", fifo.display())]);
    let (_, frames1, _) = expected(CASE1);
    let frames = |s: &Scrape| s.get("rt_tracer_link_frames_total", &[("device", "tty")]);
    let up = |s: &Scrape| s.get("rt_tracer_link_up", &[("device", "tty")]);

    // Opening for writing waits for rtdecode to open it for reading.
    let mut w = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
    w.write_all(CASE1).unwrap();
    scrape_until(http, "the first writer's capture", |s| {
        frames(s) == Some(frames1 as f64) && up(s) == Some(1.0)
    });
    drop(w);
    let s = scrape_until(http, "down once the writer left", |s| up(s) == Some(0.0));
    assert_eq!(frames(&s), Some(frames1 as f64));

    let mut w = std::fs::OpenOptions::new().write(true).open(&fifo).unwrap();
    w.write_all(CASE1).unwrap();
    let s = scrape_until(http, "up again with a second writer", |s| {
        frames(s) == Some(2.0 * frames1 as f64) && up(s) == Some(1.0)
    });
    assert_eq!(s.must("rt_tracer_link_connects_total", &[("device", "tty")]), 2.0);
    drop(w);
    let _ = std::fs::remove_dir_all(&dir);
}
