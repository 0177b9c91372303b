"""rtdecode export --perfetto, read back with Perfetto's own protos.

The PyPI perfetto package ships Perfetto's published trace protos compiled
for Python (perfetto.protos.perfetto.trace.perfetto_trace_pb2); its trace
processor would download a prebuilt binary, which this machine cannot, so
the trace is parsed with those protos and checked the way the trace
processor would build its tracks: every event on a described track, slices
properly nested per track, one track per CPU seen, and the slices of known
worst cases equal to what their events say.

The captures are the case studies' (rpi-agent/crates/rtdecode/tests/data,
see its README); the expected values come from rtdecode --json of the same
capture.
"""
import json
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest
from perfetto.protos.perfetto.trace import perfetto_trace_pb2 as pb

REPO = Path(__file__).resolve().parents[2]
AGENT = REPO / "rpi-agent"
RTDECODE = AGENT / "target" / "debug" / "rtdecode"
DATA = AGENT / "crates" / "rtdecode" / "tests" / "data"
BEGIN, END, INSTANT = (pb.TrackEvent.TYPE_SLICE_BEGIN, pb.TrackEvent.TYPE_SLICE_END,
                       pb.TrackEvent.TYPE_INSTANT)


@pytest.fixture(scope="module", autouse=True)
def build():
    p = subprocess.run(["cargo", "build", "--quiet", "--locked", "-p", "rtdecode"], cwd=AGENT,
                       capture_output=True, text=True)
    assert p.returncode == 0, f"building rtdecode failed:\n{p.stderr}"


def export(name, tmp_path):
    out = tmp_path / f"{name}.trace"
    p = subprocess.run([str(RTDECODE), "export", "--perfetto", str(DATA / f"{name}.bin"), "-o", str(out)],
                       capture_output=True, text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    assert f"wrote {out}" in p.stderr
    trace = pb.Trace()
    trace.ParseFromString(out.read_bytes())
    return trace


def json_lines(name):
    p = subprocess.run([str(RTDECODE), "--json", str(DATA / f"{name}.bin")], capture_output=True,
                       text=True, timeout=120)
    assert p.returncode == 0, p.stderr
    return [json.loads(line) for line in p.stdout.splitlines()]


class Trace:
    """Tracks and slices as the trace processor would see them."""

    def __init__(self, t):
        self.tracks = {}
        self.events = []
        for pkt in t.packet:
            if pkt.HasField("track_descriptor"):
                d = pkt.track_descriptor
                assert d.uuid not in self.tracks, f"track {d.uuid} described twice"
                self.tracks[d.uuid] = d
            elif pkt.HasField("track_event"):
                assert pkt.HasField("timestamp")
                self.events.append((pkt.timestamp, pkt.track_event))
            else:
                raise AssertionError(f"a packet with neither a track nor an event: {pkt}")
        # Slices per track, from properly nested begin/end pairs in order.
        self.slices = defaultdict(list)   # uuid -> [(start, end, name, depth, args)]
        self.instants = defaultdict(list)  # uuid -> [(ts, name, args)]
        stacks = defaultdict(list)
        last = {}
        for ts, ev in self.events:
            u = ev.track_uuid
            assert u in self.tracks, f"event on an undescribed track {u}: {ev}"
            assert ts >= last.get(u, 0), f"track {u} goes back in time at {ts}"
            last[u] = ts
            args = {a.name: (a.string_value if a.HasField("string_value") else a.uint_value)
                    for a in ev.debug_annotations}
            if ev.type == BEGIN:
                stacks[u].append((ts, ev.name, args))
            elif ev.type == END:
                assert stacks[u], f"slice end without a begin on track {u} at {ts}"
                s, name, a = stacks[u].pop()
                self.slices[u].append((s, ts, name, len(stacks[u]), a))
            elif ev.type == INSTANT:
                self.instants[u].append((ts, ev.name, args))
            else:
                raise AssertionError(f"unexpected event type {ev.type}")
        open_ = {u: s for u, s in stacks.items() if s}
        assert not open_, f"slices never ended: {open_}"

    def named(self, name):
        found = [u for u, d in self.tracks.items() if d.name == name]
        assert len(found) == 1, f"one track named {name!r} expected, found {len(found)}"
        return found[0]

    def cpus(self):
        return {int(d.name.split()[1]) for d in self.tracks.values() if d.name.startswith("CPU ")}


def worst_of(lines, comm, metric):
    """The largest worst-case line of comm's metric (the first task of that
    name, by start time)."""
    ws = [o for o in lines if o["type"] == "worst" and o["task"]["comm"] == comm and o["metric"] == metric]
    assert ws, f"no worst case of {comm} {metric}"
    first = min(w["task"]["start_ns"] for w in ws)
    return max((w for w in ws if w["task"]["start_ns"] == first), key=lambda w: w["value_ns"])


def expected_cpu_slices(w):
    """Who ran on which CPU in worst case w, from its events: between two
    consecutive switches on a CPU when the second switches out the task the
    first switched in; before the first, the task it switches out, from the
    wakeup that interrupted (or was done by) it on that CPU."""
    start = w["t_ns"] - w["value_ns"]
    out = set()
    by_cpu = defaultdict(list)
    for e in w["events"]:
        if e["event"] == "switch":
            by_cpu[e["cpu"]].append(e)
    wake = next((e for e in w["events"] if e["event"] == "wakeup" and e["pid"] == w["task"]["pid"]), None)
    for cpu, sw in by_cpu.items():
        if wake and wake["cpu"] == cpu and wake["other_pid"] == sw[0]["other_pid"] and sw[0]["t_ns"] > wake["t_ns"]:
            out.add((cpu, start + wake["t_ns"], start + sw[0]["t_ns"], f"{sw[0]['other_comm']} {sw[0]['other_pid']}"))
        for a, b in zip(sw, sw[1:]):
            if b["other_pid"] == a["pid"] and b["t_ns"] > a["t_ns"]:
                out.add((cpu, start + a["t_ns"], start + b["t_ns"], f"{a['comm']} {a['pid']}"))
    return out


def check_cpu_slices(tr, w):
    exp = expected_cpu_slices(w)
    assert exp, f"the worst case has no CPU slices to check: {w['explanation']}"
    for cpu, s, e, name in exp:
        track = tr.named(f"CPU {cpu}")
        have = tr.slices[track]
        # Exactly this slice, or the same task over a longer stretch that
        # another window of the same time knew more of.
        assert any(n == name and hs <= s and he >= e for hs, he, n, _, _ in have), \
            f"CPU {cpu}: no slice {name} [{s}, {e}] in {sorted(x[:3] for x in have)[:20]}"
        # Nothing on the CPU contradicts it.
        clash = [x[:3] for x in have if x[2] != name and x[0] < e and s < x[1]]
        assert not clash, f"CPU {cpu}: {clash} overlap {name} [{s}, {e}]"


@pytest.mark.parametrize("name", [f"demo-case{n}" for n in range(1, 7)])
def test_the_trace_parses_with_one_track_per_cpu_seen(name, tmp_path):
    tr = Trace(export(name, tmp_path))
    lines = json_lines(name)
    worst = [o for o in lines if o["type"] == "worst"]
    seen = {e["cpu"] for w in worst for e in w["events"]}
    assert tr.cpus() == seen, f"CPU tracks {tr.cpus()}, CPUs in the worst cases {seen}"
    # Every worst case is a slice on its task's metric track, every
    # violation an instant.
    starts = sorted(s for u, sl in tr.slices.items() for s, _, n, _, _ in sl if n.startswith("worst "))
    want = sorted({w["t_ns"] - w["value_ns"] for w in worst})
    assert sorted(set(starts)) == want
    viol = [i for v in tr.instants.values() for i in v if i[1].startswith("violation: ")]
    assert len(viol) == len([o for o in lines if o["type"] == "violation"])


def test_case1_worst_latency_matches_its_events(tmp_path):
    tr = Trace(export("demo-case1", tmp_path))
    w = worst_of(json_lines("demo-case1"), "ctrl_loop", "latency")
    start, end = w["t_ns"] - w["value_ns"], w["t_ns"]
    track = tr.named(f"ctrl_loop[{w['task']['pid']}] latency")
    top = [x for x in tr.slices[track] if x[0] == start and x[3] == 0]
    assert len(top) == 1, top
    s, e, name, _, args = top[0]
    assert (e, name) == (end, "worst latency 10.7 ms")
    assert args["value_ns"] == w["value_ns"] and args["waiting_ns"] == w["breakdown"]["waiting_ns"]
    assert args["cause"] == "preempted_by_higher_prio"
    assert args["culprit0"].startswith("prio_hog (pid 172, FIFO 60) ran")
    # Inside it: waiting from the wakeup to the switch-in, nothing else.
    inner = [(x[0], x[1], x[2]) for x in tr.slices[track] if start <= x[0] < end and x[3] == 1]
    assert inner == [(start, end, "waiting")]
    # The wakeup (in hard IRQ, interrupting prio_hog) as an instant at the start.
    assert (start, "woken in hard IRQ (interrupting prio_hog 172)") in [i[:2] for i in tr.instants[track]]
    # CPU 1: prio_hog ran the whole wait, flagged as the culprit.
    check_cpu_slices(tr, w)
    cpu1 = tr.named("CPU 1")
    hog = [x for x in tr.slices[cpu1] if x[2] == "prio_hog 172" and x[0] <= start and x[1] >= end]
    assert hog and "culprit" in hog[0][4], hog


def test_case3_inversion_window_matches_its_events(tmp_path):
    """The plain mutex's pi_high relief: pi_low runs, pi_med preempts it,
    pi_low finishes and wakes pi_high; each run is a slice on CPU 1, and
    pi_high's own states nest in its worst case."""
    tr = Trace(export("demo-case3", tmp_path))
    w = worst_of(json_lines("demo-case3"), "pi_high", "relief")
    check_cpu_slices(tr, w)
    names = {n for _, _, _, n in expected_cpu_slices(w)}
    assert any(n.startswith("pi_med ") for n in names) and any(n.startswith("pi_low ") for n in names), names
    start, end = w["t_ns"] - w["value_ns"], w["t_ns"]
    track = tr.named(f"pi_high[{w['task']['pid']}] relief")
    states = [x[2] for x in sorted(tr.slices[track]) if start <= x[0] < end and x[3] == 1]
    assert "sleeping on a lock" in states and states[-1] == "running", states
    # The states cover the worst case without gaps or overlaps.
    spans = sorted((x[0], x[1]) for x in tr.slices[track] if start <= x[0] < end and x[3] == 1)
    assert spans[0][0] == start and spans[-1][1] == end
    assert all(a[1] == b[0] for a, b in zip(spans, spans[1:])), spans
