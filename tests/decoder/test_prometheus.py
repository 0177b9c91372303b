"""rtdecode serve, scraped by a real Prometheus.

Two devices are replayed over TCP (this test's listeners, each serving one
recorded capture and keeping the connection open, as a live device would);
`rtdecode serve` reads both; a Prometheus server (Debian's package,
installed by scripts/setup, started here on loopback with its own config and
a temporary TSDB, never the Debian service) scrapes it every second. The
values are read back through Prometheus's HTTP query API and compared with
`rtdecode --json` of the same captures: violations, max and samples of known
tasks and metrics, a cumulative bucket, a histogram_quantile against the
JSON percentile's bucket, and rt_tracer_link_up as one device's link drops
and returns. The shipped examples are checked too: docs/prometheus's
scrape config and rules with promtool, /metrics with `promtool check
metrics` (Prometheus's own lint), and every query of the Grafana
dashboard evaluated by this Prometheus, each returning series.
"""
import json
import re
import shutil
import socket
import subprocess
import threading
import time
import urllib.parse
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
AGENT = REPO / "rpi-agent"
RTDECODE = AGENT / "target" / "debug" / "rtdecode"
DATA = AGENT / "crates" / "rtdecode" / "tests" / "data"
EXAMPLES = REPO / "docs" / "prometheus"
WAIT = 60  # seconds for any one condition (Prometheus scrapes every 1 s)


@pytest.fixture(scope="module", autouse=True)
def build():
    p = subprocess.run(["cargo", "build", "--quiet", "--locked", "-p", "rtdecode"], cwd=AGENT,
                       capture_output=True, text=True)
    assert p.returncode == 0, f"building rtdecode failed:\n{p.stderr}"


def prometheus_binary():
    path = shutil.which("prometheus") or "/usr/bin/prometheus"
    if not Path(path).is_file():
        # Not a skip: scripts/check must not pass without the real server.
        pytest.fail("prometheus is not installed: run scripts/setup (Debian package prometheus)")
    return path


def promtool(*args, stdin=None):
    tool = Path(prometheus_binary()).with_name("promtool")
    assert tool.is_file(), f"{tool} is missing (Debian's prometheus package ships it)"
    return subprocess.run([str(tool), *args], input=stdin, capture_output=True, text=True, timeout=60)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Device:
    """A TCP listener that serves a capture to one connection and keeps it open."""

    def __init__(self, capture, port=0):
        self.bytes = capture.read_bytes()
        self.listener = socket.socket()
        self.listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.listener.bind(("127.0.0.1", port))
        self.listener.listen(1)
        self.port = self.listener.getsockname()[1]
        self.conn = None
        self.served = threading.Event()
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self):
        try:
            self.conn, _ = self.listener.accept()
        except OSError:
            return  # closed before anyone connected
        self.conn.sendall(self.bytes)
        self.served.set()

    def close(self):
        """The link drops: the connection closes and nothing listens any more."""
        if self.conn is not None:
            self.conn.close()
        try:
            self.listener.shutdown(socket.SHUT_RDWR)  # wakes an accept() still waiting
        except OSError:
            pass
        self.listener.close()
        self.thread.join(5)


def json_lines(name):
    p = subprocess.run([str(RTDECODE), "--json", str(DATA / f"{name}.bin")], capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return [json.loads(line) for line in p.stdout.splitlines()]


def finding(lines, comm, pid, metric):
    hits = [f for f in lines if f["type"] == "finding" and f["task"]["comm"] == comm
            and f["task"]["pid"] == pid and f["metric"] == metric]
    assert len(hits) == 1, hits
    return hits[0]


class Prometheus:
    def __init__(self, tmp_path, target):
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        cfg = tmp_path / "prometheus.yml"
        cfg.write_text(
            "global:\n  scrape_interval: 1s\n  scrape_timeout: 1s\n"
            "scrape_configs:\n  - job_name: rtdecode\n"
            f"    static_configs:\n      - targets: ['{target}']\n")
        self.log = (tmp_path / "prometheus.log").open("w")
        self.proc = subprocess.Popen(
            [prometheus_binary(), f"--config.file={cfg}", f"--storage.tsdb.path={tmp_path / 'tsdb'}",
             f"--web.listen-address=127.0.0.1:{self.port}"],
            stdout=self.log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
        self.log_path = tmp_path / "prometheus.log"

    def get(self, path, **params):
        url = f"{self.base}{path}?{urllib.parse.urlencode(params)}"
        with urllib.request.urlopen(url, timeout=10) as r:
            body = json.load(r)
        assert body["status"] == "success", body
        return body["data"]

    def query(self, q):
        """The instant vector of `q`: [(labels, float value)]."""
        data = self.get("/api/v1/query", query=q)
        assert data["resultType"] == "vector", data
        return [(r["metric"], float(r["value"][1])) for r in data["result"]]

    def value(self, q):
        v = self.query(q)
        assert len(v) == 1, f"{q}: {v}"
        return v[0][1]

    def until(self, what, cond):
        t0 = time.monotonic()
        last = None
        while time.monotonic() - t0 < WAIT:
            if self.proc.poll() is not None:
                raise AssertionError(f"prometheus exited:\n{self.log_path.read_text()}")
            try:
                last = cond()
                if last is True:
                    return
            except (OSError, AssertionError) as e:  # not up yet, or no sample yet
                last = e
            time.sleep(0.5)
        raise AssertionError(f"{what}: not within {WAIT} s (last: {last})\n{self.log_path.read_text()[-3000:]}")

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(20)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


@pytest.fixture
def setup(tmp_path):
    a = Device(DATA / "demo-case1.bin")
    b = Device(DATA / "demo-case3.bin")
    prometheus_binary()
    serve = subprocess.Popen(
        [str(RTDECODE), "serve", "--listen", "127.0.0.1:0", "--max-backoff", "0.5",
         f"pi-a=tcp:127.0.0.1:{a.port}", f"pi-b=tcp:127.0.0.1:{b.port}"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, text=True)
    line = serve.stderr.readline()
    assert "http://" in line, line
    target = line.split("http://", 1)[1].split("/", 1)[0]
    # Keep reading its log so that it never blocks on a full pipe.
    log = []
    threading.Thread(target=lambda: log.extend(serve.stderr), daemon=True).start()
    prom = Prometheus(tmp_path, target)
    devices = {"a": a, "b": b}
    try:
        yield prom, devices, log, target
    finally:
        prom.stop()
        serve.terminate()
        serve.wait(20)
        for d in devices.values():
            d.close()


def test_prometheus_scrapes_what_json_says(setup):
    prom, devices, log, target = setup
    case1, case3 = json_lines("demo-case1"), json_lines("demo-case3")
    frames1 = [x for x in case1 if x["type"] == "link"][-1]["frames"]
    frames3 = [x for x in case3 if x["type"] == "link"][-1]["frames"]

    def both_read():
        return (prom.value('rt_tracer_link_frames_total{device="pi-a"}') == frames1
                and prom.value('rt_tracer_link_frames_total{device="pi-b"}') == frames3)
    prom.until("both captures scraped", both_read)

    # The target parsed cleanly (a malformed exposition makes it down).
    targets = prom.get("/api/v1/targets")["activeTargets"]
    assert [(t["health"], t["lastError"]) for t in targets] == [("up", "")], targets
    assert prom.value('up{job="rtdecode"}') == 1
    assert prom.value('rt_tracer_link_up{device="pi-a"}') == 1
    assert prom.value('rt_tracer_link_up{device="pi-b"}') == 1
    assert prom.value('rt_tracer_device_info{device="pi-a",board="linux,dummy-virt"}') == 1

    # Case 1: ctrl_loop's latency; case 3: pi_high's relief (priority inversion).
    for dev, lines, comm, pid, metric in (("pi-a", case1, "ctrl_loop", 173, "latency"),
                                         ("pi-a", case1, "ctrl_loop", 173, "response"),
                                         ("pi-b", case3, "pi_high", 180, "relief"),
                                         ("pi-b", case3, "pi_med", 183, "latency")):
        f = finding(lines, comm, pid, metric)
        sel = f'device="{dev}",task="{comm}",pid="{pid}",metric="{metric}"'
        assert f["violations"] > 0
        assert prom.value(f"rt_tracer_violations_total{{{sel}}}") == f["violations"], sel
        assert prom.value(f"rt_tracer_samples_total{{{sel}}}") == f["count"], sel
        assert prom.value(f"rt_tracer_max_seconds{{{sel}}}") == pytest.approx(f["worst_ns"] / 1e9, abs=1e-12)
        assert prom.value(f"rt_tracer_bound_seconds{{{sel}}}") == pytest.approx(f["bound_ns"] / 1e9, abs=1e-12)
        # Violations over the bound, as PromQL sees it.
        over = prom.value(f"rt_tracer_max_seconds{{{sel}}} - rt_tracer_bound_seconds{{{sel}}}")
        assert over == pytest.approx((f["worst_ns"] - f["bound_ns"]) / 1e9, abs=1e-9)

    # ctrl_loop's latency histogram against its last snapshot in --json.
    snap = [x for x in case1 if x.get("metrics") and x["task"]["comm"] == "ctrl_loop"][-1]
    lat = snap["metrics"]["latency"]
    sel = 'device="pi-a",task="ctrl_loop",pid="173",metric="latency"'
    buckets = {float(m["le"]): v for m, v in prom.query(f"rt_tracer_duration_seconds_bucket{{{sel}}}")}
    assert len(buckets) == 32
    assert buckets[float("inf")] == lat["count"]
    assert prom.value(f"rt_tracer_duration_seconds_count{{{sel}}}") == lat["count"]
    cumulative = 0
    for b in lat["hist"]:
        cumulative += b["count"]
        assert buckets[(b["hi_ns"] - 1) / 1e9] == cumulative, b
    mean = prom.value(f"rt_tracer_duration_seconds_sum{{{sel}}} / rt_tracer_duration_seconds_count{{{sel}}}")
    assert mean * 1e9 == pytest.approx(lat["mean_ns"], abs=1)
    # Each quantile lies in the bucket --json gives for that percentile:
    # log2 bucket i, [2^(i-1), 2^i) ns (--json clamps it to [min, max]), is
    # (2^(i-1) - 1, 2^i - 1] ns for Prometheus, which interpolates inside it.
    for q, key in ((0.5, "p50"), (0.9, "p90"), (0.99, "p99")):
        est = prom.value(f"histogram_quantile({q}, rt_tracer_duration_seconds_bucket{{{sel}}})") * 1e9
        rng = lat["percentiles"][key]
        i = rng["lo_ns"].bit_length()
        assert (rng["hi_ns"] - 1).bit_length() == i, rng
        assert (1 << (i - 1)) - 1 - 1e-6 <= est <= (1 << i) - 1 + 1e-6, (key, est, rng)

    # Device a's link drops: Prometheus sees it down, its values kept.
    devices["a"].close()
    prom.until("pi-a down", lambda: prom.value('rt_tracer_link_up{device="pi-a"}') == 0)
    assert prom.value('rt_tracer_link_up{device="pi-b"}') == 1
    f = finding(case1, "ctrl_loop", 173, "latency")
    assert prom.value(f"rt_tracer_violations_total{{{sel}}}") == f["violations"]

    # It returns on the same port: rtdecode reconnects, Prometheus sees it up.
    devices["a"] = Device(DATA / "demo-case1.bin", port=int(devices["a"].port))

    def back():
        return (prom.value('rt_tracer_link_up{device="pi-a"}') == 1
                and prom.value('rt_tracer_link_connects_total{device="pi-a"}') == 2
                and prom.value('rt_tracer_link_frames_total{device="pi-a"}') == 2 * frames1)
    prom.until("pi-a up again", back)
    # Counters only grew: no reset for rate() to see.
    assert prom.value('resets(rt_tracer_link_frames_total{device="pi-a"}[5m])') == 0
    assert any("pi-a: link down" in line for line in log), log

    # Prometheus's own lint of the exposition (the 0.0.4 text a plain GET gets).
    with urllib.request.urlopen(f"http://{target}/metrics", timeout=10) as r:
        assert r.headers["Content-Type"].startswith("text/plain; version=0.0.4")
        text = r.read().decode()
    lint = promtool("check", "metrics", stdin=text)
    assert lint.returncode == 0 and not lint.stdout.strip() and not lint.stderr.strip(), lint

    # Every query of the shipped Grafana dashboard, with its variables at
    # "All", returns series from this Prometheus.
    dash = json.loads((EXAMPLES / "grafana-dashboard.json").read_text())
    exprs = [t["expr"] for p in dash["panels"] for t in p["targets"]]
    assert len(exprs) >= 6
    for v in dash["templating"]["list"]:
        if v["type"] == "query":
            m = re.fullmatch(r"label_values\((.*), (\w+)\)", v["query"]["query"])
            assert m, v
            exprs.append(m.group(1))
    panel_types = {p["type"] for p in dash["panels"]}
    assert {"heatmap", "state-timeline", "timeseries"} <= panel_types
    for e in exprs:
        q = e.replace("$__rate_interval", "1m")
        for var in ("$device", "$task", "$metric"):
            q = q.replace(var, ".*")
        assert "$" not in q, q
        assert prom.query(q), f"no series for {q}"


def test_the_example_scrape_config_and_rules_are_valid():
    p = promtool("check", "config", str(EXAMPLES / "prometheus.yml"))
    assert p.returncode == 0, p.stdout + p.stderr
    assert "rt-tracer-rules.yml" in p.stdout and "SUCCESS: 3 rules found" in p.stdout, p.stdout
