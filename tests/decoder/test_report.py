"""rtdecode report, rendered by headless Chromium with the network off.

The page of a demo capture (rpi-agent/crates/rtdecode/tests/data, see its
README) is opened from disk by Chromium (Debian's chromium package,
installed by scripts/setup) with every connection sent to a proxy that
does not exist and every host name unresolvable: what it renders needs
nothing from outside. From the DOM Chromium built (--dump-dom) the test
checks the findings, every chart (svg elements with ids, the same as the
--svg files), every worst case's timeline and breakdown, and that the
numbers shown equal rtdecode --json of the same capture. A screenshot of
the rendered page is kept as build/report-screenshot.png.

No Chromium is a failure, not a skip: the report's rendering would then go
unchecked.
"""
import json
import shutil
import subprocess
from collections import defaultdict
from html.parser import HTMLParser
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
AGENT = REPO / "rpi-agent"
RTDECODE = AGENT / "target" / "debug" / "rtdecode"
DATA = AGENT / "crates" / "rtdecode" / "tests" / "data"
BUILD = REPO / "build"
VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@pytest.fixture(scope="module", autouse=True)
def build():
    p = subprocess.run(["cargo", "build", "--quiet", "--locked", "-p", "rtdecode"], cwd=AGENT,
                       capture_output=True, text=True)
    assert p.returncode == 0, f"building rtdecode failed:\n{p.stderr}"


def chromium():
    for name in ("chromium", "chromium-browser"):
        path = shutil.which(name)
        if path:
            return path
    pytest.fail("chromium is not installed: apt-get install -y chromium chromium-driver "
                "(scripts/setup does); the report's rendering cannot be checked without it")


def offline_chromium(tmp_path, *args):
    """Chromium, headless, its own profile, no way out to the network."""
    cmd = [chromium(), "--headless", "--disable-gpu", "--no-sandbox", "--no-first-run",
           f"--user-data-dir={tmp_path / 'profile'}",
           "--proxy-server=127.0.0.1:9", "--host-resolver-rules=MAP * ~NOTFOUND",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--disable-default-apps", "--disable-extensions", *args]
    p = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, f"chromium failed:\n{p.stderr[-3000:]}"
    return p.stdout


def report(name, tmp_path):
    out = tmp_path / f"{name}.html"
    svg = tmp_path / f"{name}-svg"
    p = subprocess.run([str(RTDECODE), "report", str(DATA / f"{name}.bin"), "-o", str(out), "--svg", str(svg)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert f"wrote {out}" in p.stderr
    return out, svg


def json_lines(name):
    p = subprocess.run([str(RTDECODE), "--json", str(DATA / f"{name}.bin")], capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return [json.loads(line) for line in p.stdout.splitlines()]


def dur(ns):
    """rtdecode's durations (src/fmt.rs): 850 ns, 1059 us, 12.3 ms, 2.5 s."""
    if ns < 1_000:
        return f"{ns} ns"
    if ns < 10_000_000:
        return f"{(ns + 500) // 1_000} us"
    if ns < 10_000_000_000:
        return f"{ns / 1e6:.1f} ms"
    return f"{ns / 1e9:.1f} s"


class Element:
    def __init__(self, tag, attrs):
        self.tag = tag
        self.attrs = dict(attrs)
        self.text = []
        self.children = []

    def get(self, k):
        return self.attrs.get(k)

    def num(self, k):
        v = self.attrs.get(k)
        return None if v is None else int(v)

    def classes(self):
        return (self.attrs.get("class") or "").split()

    def series(self):
        return (self.num("data-pid"), self.num("data-start-ns"), self.get("data-metric"))

    def all_text(self):
        return " ".join(" ".join(self.text).split())

    def walk(self):
        yield self
        for c in self.children:
            yield from c.walk()


class Dom(HTMLParser):
    """The DOM Chromium serialized, as a tree of elements with their text."""

    def __init__(self, html):
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", [])
        self.stack = [self.root]
        self.feed(html)
        self.close()
        self.elements = list(self.root.walk())

    def handle_starttag(self, tag, attrs):
        e = Element(tag, attrs)
        self.stack[-1].children.append(e)
        if tag not in VOID:
            self.stack.append(e)

    def handle_startendtag(self, tag, attrs):
        self.stack[-1].children.append(Element(tag, attrs))

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data):
        for e in self.stack:
            e.text.append(data)

    def find(self, tag, cls=None):
        return [e for e in self.elements if e.tag == tag and (cls is None or cls in e.classes())]


def key(o):
    return (o["task"]["pid"], o["task"]["start_ns"])


def latest_snapshots(lines):
    snaps = {}
    for o in lines:
        if o["type"] in ("task", "irq", "exit"):
            snaps[key(o)] = o
    return snaps


CASES = ["demo-case1", "demo-case3"]
_rendered = {}


def rendered(name, tmp_path_factory):
    """The page of capture `name` rendered by Chromium (once per module):
    its DOM, its --svg directory, --json of the capture, its screenshot
    (build/report-screenshot.png for case 3, the inversion; the others
    with their name)."""
    if name not in _rendered:
        tmp = tmp_path_factory.mktemp(name)
        html, svg = report(name, tmp)
        dom_text = offline_chromium(tmp, "--dump-dom", html.as_uri())
        BUILD.mkdir(exist_ok=True)
        shot = BUILD / ("report-screenshot.png" if name == "demo-case3" else f"report-screenshot-{name}.png")
        shot.unlink(missing_ok=True)
        offline_chromium(tmp, "--hide-scrollbars", "--window-size=1280,2400", f"--screenshot={shot}",
                         html.as_uri())
        _rendered[name] = {"dom": Dom(dom_text), "svg": svg, "lines": json_lines(name), "shot": shot,
                           "html": html.read_text()}
    return _rendered[name]


@pytest.fixture(scope="module", params=CASES)
def case(request, tmp_path_factory):
    return rendered(request.param, tmp_path_factory)


@pytest.fixture(scope="module")
def case3(tmp_path_factory):
    return rendered("demo-case3", tmp_path_factory)


def test_the_page_renders_offline_and_a_screenshot_is_kept(case):
    shot = case["shot"]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    assert len(data) > 20_000, f"the screenshot is suspiciously small ({len(data)} bytes): an empty page?"
    dom = case["dom"]
    assert dom.find("title") and "rt-tracer report" in dom.find("title")[0].all_text()
    # Nothing the page could fetch: no scripts, links, images or frames.
    for tag in ("script", "link", "img", "iframe", "object", "embed"):
        assert not dom.find(tag), f"<{tag}> in the rendered page"
    assert "http://" not in case["html"].replace('xmlns="http://www.w3.org/2000/svg"', "")


def test_findings_match_json(case):
    dom, lines = case["dom"], case["lines"]
    found = [o for o in lines if o["type"] == "finding"]
    section = [e for e in dom.elements if e.get("id") == "findings"]
    assert len(section) == 1
    rows = [e for e in section[0].walk() if e.tag == "tr" and e.get("data-verdict")]
    assert len(rows) == len(found)
    for row, f in zip(rows, found):
        assert row.series() == (f["task"]["pid"], f["task"]["start_ns"], f["metric"])
        assert row.get("data-verdict") == f["verdict"]
        assert row.num("data-count") == f["count"]
        assert row.num("data-violations") == f["violations"]
        assert row.num("data-bound-ns") == f["bound_ns"]
        assert row.num("data-worst-ns") == f["worst_ns"]
        text = row.all_text()
        if f["cause"]:
            assert " ".join(f["cause"]["sentence"].split()) in text, text
        if f["worst_ns"] is not None:
            assert dur(f["worst_ns"]) in text, text
        if f["verdict"] == "violated" and f["count"]:
            assert f"{f['violations']}/{f['count']}" in text, text
        if f["excess_ns"] is not None:
            assert f"+{dur(f['excess_ns'])}" in text, text
    head = section[0].children[0].all_text()
    n = defaultdict(int)
    for f in found:
        n[f["verdict"]] += 1
    assert f"{n['violated']} violated, {n['met']} met" in head, head


def test_every_chart_is_an_svg_with_an_id_and_a_file(case):
    dom, svg_dir = case["dom"], case["svg"]
    ids = {e.get("id") for e in dom.find("svg") if e.get("id")}
    files = {p.stem for p in svg_dir.glob("*.svg")}
    assert ids and ids == files
    # Each file is the chart the page shows.
    for p in svg_dir.glob("*.svg"):
        assert p.read_text().startswith(f'<svg id="{p.stem}"')


def test_histograms_and_statistics_match_json(case):
    dom, lines = case["dom"], case["lines"]
    ids = {e.get("id") for e in dom.find("svg") if e.get("id")}
    sections = {e.series(): e for e in dom.find("section", "series")}
    stats = {e.series(): e for e in dom.find("table", "stats")}
    hists = 0
    for (pid, start), snap in latest_snapshots(lines).items():
        for metric, m in snap["metrics"].items():
            if m["count"] == 0 and m["bound_ns"] == 0:
                continue
            k = (pid, start, metric)
            sec = sections[k]
            assert (f"hist-{sec.get('id')}" in ids) == (m["count"] > 0), k
            t = stats[k]
            assert t.num("data-count") == m["count"]
            assert t.num("data-max-ns") == m["max_ns"] and t.num("data-min-ns") == m["min_ns"]
            assert t.num("data-mean-ns") == m["mean_ns"] and t.num("data-bound-ns") == m["bound_ns"]
            assert t.num("data-violations") == m["violations"]
            if m["count"]:
                hists += 1
                p99 = m["percentiles"]["p99"]
                assert (t.num("data-p99-lo-ns"), t.num("data-p99-hi-ns")) == (p99["lo_ns"], p99["hi_ns"])
                text = t.all_text()
                for v in (m["min_ns"], m["mean_ns"], m["max_ns"]):
                    assert dur(v) in text, (k, text)
                # Shown as the text view's P99≤: the bucket's upper end, then the bucket.
                assert f"{dur(p99['hi_ns'])} bucket {dur(p99['lo_ns'])} – {dur(p99['hi_ns'])}" in text, text
                fig = [e for e in sec.walk() if e.tag == "figure" and "hist" in e.classes()]
                assert fig and fig[0].num("data-samples") == sum(b["count"] for b in m["hist"])
    assert hists == len(dom.find("figure", "hist")) and hists > 0


def test_every_worst_case_has_its_timeline_and_breakdown(case):
    dom, lines = case["dom"], case["lines"]
    ids = {e.get("id") for e in dom.find("svg") if e.get("id")}
    worst = [o for o in lines if o["type"] == "worst"]
    arts = dom.find("article", "worst")
    assert len(arts) == len(worst)
    shown = {(a.series(), a.num("data-value-ns"), a.num("data-t-ns")) for a in arts}
    for w in worst:
        assert ((w["task"]["pid"], w["task"]["start_ns"], w["metric"]), w["value_ns"], w["t_ns"]) in shown
    for a in arts:
        assert a.get("data-timeline") in ids and a.get("data-breakdown") in ids
        svgs = [e for e in a.walk() if e.tag == "svg" and e.get("id") == a.get("data-timeline")]
        assert len(svgs) == 1
        # The lanes: the task's, then one per CPU its events name.
        labels = " ".join(e.all_text() for e in svgs[0].walk() if e.tag == "text")
        w = next(w for w in worst if (w["task"]["pid"], w["value_ns"], w["t_ns"]) ==
                 (a.num("data-pid"), a.num("data-value-ns"), a.num("data-t-ns")))
        for cpu in {e["cpu"] for e in w["events"]}:
            assert f"CPU {cpu}" in labels, labels
        assert f"{w['task']['comm']}[{w['task']['pid']}]" in labels


def test_case3_inversion_shows_its_culprit_in_the_timeline(case3):
    """pi_high's relief: the medium task ran while it slept on the lock, so
    its slice on the CPU is drawn in the culprit colour and named."""
    dom, lines = case3["dom"], case3["lines"]
    f = next(o for o in lines if o["type"] == "finding" and o["task"]["comm"] == "pi_high"
             and o["metric"] == "relief" and o["verdict"] == "violated")
    arts = [a for a in dom.find("article", "worst")
            if a.series() == (f["task"]["pid"], f["task"]["start_ns"], "relief")
            and a.num("data-value-ns") == f["worst_ns"]]
    assert len(arts) == 1
    assert arts[0].get("data-cause") == "priority_inversion"
    tl = [e for e in arts[0].walk() if e.tag == "svg"][0]
    med = f["cause"]["culprit"]
    assert any(e.tag == "text" and e.all_text().startswith(f"{med['comm']} {med['pid']}") for e in tl.walk())
    red = "fill=\"#D7263D\""
    assert red.lower() in case3["html"].lower()


def test_violations_over_time_match_json(case):
    dom, lines = case["dom"], case["lines"]
    frames = defaultdict(list)
    for o in lines:
        if o["type"] == "violation":
            frames[(o["task"]["pid"], o["task"]["start_ns"], o["metric"])].append(o)
    sections = {e.series(): e for e in dom.find("section", "series")}
    assert len(dom.find("figure", "violations")) == len(frames)
    for k, vs in frames.items():
        fig = [e for e in sections[k].walk() if e.tag == "figure" and "violations" in e.classes()]
        assert len(fig) == 1
        assert fig[0].num("data-frames") == len(vs)
        assert fig[0].num("data-violations") == max(v["violations"] for v in vs)
