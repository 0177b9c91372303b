"""A control loop that overruns, then is preempted (issue 10): its
deadline's timer expires while it is still on its CPU on its way into
clock_nanosleep, and a higher task woken by the same interrupt preempts it
before it gets back to user space.

workloads/overrun.c makes it happen on purpose, on CPU 1 under --icount
(guest time counts instructions; CPU 0 stays idle, so CPU 1's timing
repeats): the loop (FIFO 80) sleeps twice per cycle, once ordinarily and
once to a deadline D(i) it calls just before (a lead swept over 0-8 us,
then over the leads that hit: seen 2.0-2.4 us, then 3.2-3.6 us on aarch64);
overrun_hi (FIFO 90) is woken at D(i) for even i and burns 200 us (it
preempts the loop), overrun_lo (FIFO 70) at D(i) for odd i (the loop keeps
its CPU). The loop counts from getrusage how each call ended: "preempted"
(woken before it slept, then preempted), "kept" (woken before it slept,
kept its CPU), else it slept.

The rule (module README, "Metrics"): such a wakeup ends a sleep of length
0, so each clock_nanosleep call is one activation: latency/response counts
equal the calls; its latency runs to the next switch-in when the task is
preempted before it sleeps again (a "preempted" call: about hi's burst),
else it is 0 ("kept"). Checked against rtt.oracle_latencies() and
rtt.oracle_response_relief() on the same run's tracefs record (sched
events, the loop's clock_nanosleep entries/exits and rt_mutex waits),
which apply the same rule, with rtt.oracle_agreement_problems()'
tolerances. The loop starts 1 s after launch: tracing and tracking are
set up by then, so the counts cover every call.
"""
import pytest

import rtt

US = 1000
OV = dict(cycles=600, period=1000, burst=200)


@pytest.fixture(scope="module")
def ov_run():
    o = OV
    run = rtt.run_guest("overrun", f"""
load_module
overrun -n {o['cycles']} -P {o['period']} -B {o['burst']} -c 1 -s 1000 > /tmp/ov.out &
p=$!
trace_pids -c 1 $p
trace_sleeps $p
trace_locks $p
ctl add_pid "$p trace"
echo rtt_added > $T/trace_marker
wait $p
echo 0 > $T/tracing_on
section out cat /tmp/ov.out
section trace cat $T/trace
finish
""", icount=True, timeout=150)
    run.assert_ok()
    return run


def _setup(run):
    out = run.section("out")
    s, ids = rtt.summaries(out)["overrun"], rtt.announced(out)
    t = rtt.tracked(run.tasks(), ids["overrun"])
    evs = rtt.events_after_marker(rtt.parse_trace_events(run.section("trace")), "rtt_added")
    return t, s, ids, evs


def on_cpu_wakeups(evs, pid):
    """[(t_ns, how)] of the sched_wakeups of pid while it ran (switched in,
    not out since), how = the prev_state of its next switch-out, "" if none."""
    spid, running, found = str(pid), False, []
    for e in evs:
        if e.name == "sched_wakeup" and e.f.get("pid") == spid and running:
            found.append([e.t_ns, ""])
        elif e.name == "sched_switch" and e.f.get("next_pid") == spid:
            running = True
        elif e.name == "sched_switch" and e.f.get("prev_pid") == spid:
            running = False
            for w in found:
                w[1] = w[1] or e.f.get("prev_state", "?")
    return found


# The loop classifies its own wakeups (kept the CPU, preempted) by timing
# built for Debian's kernel (1 ms period, 200 us bursts). On the debug
# kernel the case no longer happens as designed: 2 preempted of 600, not
# >= 20, and the loop's "kept" (597) is not the count of on-CPU wakeups,
# where the module (628) still agreed with tracefs (630). Sweeping 16 times
# longer leads there does not restore it: the loop's syscalls then fill
# half of each period, and it counts hi's preemptions before its call as
# preempted wakeups (49 against tracefs's 37).
SELF_MODEL = pytest.mark.skipif(
    rtt.DEBUG, reason="debug kernel: the workload's own kept/preempted classification needs "
    "Debian's kernel timing; the tracefs comparisons below still run")


@SELF_MODEL
def test_overrun_happens(ov_run):
    """The case is there, in the loop's own counts and in tracefs: wakeups
    of the loop while it was on its CPU, some followed by a preemption
    (R/R+), some by its next sleep (it kept the CPU)."""
    t, s, ids, evs = _setup(ov_run)
    assert s["calls"] == 2 * (s["cycles"] - 1), s
    assert s["preempted"] >= 20 and s["kept"] >= 20, s
    found = on_cpu_wakeups(evs, t.pid)
    pre = [w for w in found if w[1].startswith("R")]
    assert abs(len(pre) - s["preempted"]) <= 1, (len(pre), s)
    assert abs(len(found) - s["preempted"] - s["kept"]) <= 1, (len(found), s)


@SELF_MODEL
def test_overrun_counts_every_period(ov_run):
    """One activation per clock_nanosleep call, woken on its CPU or not
    (tracking starts during the first call): relief ends at each timer
    sleep, the first opened by the first call's wakeup; latency and
    response have up to 2 more, the sleeps of the joins at the end."""
    t, s, ids, evs = _setup(ov_run)
    for m in (t.latency, t.response):
        assert s["calls"] - 1 <= m.count <= s["calls"] + 2, (s, t.text)
    assert t.relief.count == s["calls"] - 1, (s, t.text)
    # the calls that kept the CPU: latency 0
    assert t.latency.min_ns == 0, t.text
    zero = sum(n for lo, hi, n in t.latency.log2 if lo == 0)
    assert abs(zero - s["kept"]) <= 1, (s, t.text)


def test_overrun_latency_agrees_with_tracefs(ov_run):
    """Latency against the oracle (same rule), on any kernel: the counts and
    max with rtt.oracle_agreement_problems' tolerances, the long ones bucket
    by bucket, and the worst one explained as tracefs shows that window on
    CPU 1: its top culprit is the task that ran there most, charged what it
    ran."""
    t, s, ids, evs = _setup(ov_run)
    ora = rtt.oracle_latencies(evs, t.pid)
    probs = rtt.oracle_agreement_problems(t.latency, ora)
    assert not probs, "\n".join(probs) + "\n" + t.text
    lat = t.latency
    # The module's log2 buckets from 64 us up hold as many as the oracle
    # finds there (main's module: 2 of the oracle's 38, seen).
    big = sum(n for lo, hi, n in lat.log2 if lo >= 65536)
    assert abs(big - sum(1 for v in ora if v >= 65536)) <= 1, t.text
    t0, t1 = min(rtt.oracle_latency_windows(evs, t.pid), key=lambda w: abs(w[1] - w[0] - lat.max_ns))
    assert rtt.near(t1 - t0, lat.max_ns, 5 * US + lat.max_ns // 200), t.text
    occ = rtt.oracle_cpu_occupancy(evs, 1, t0, t1)
    others = {pid: ns for pid, ns in occ.items() if pid not in (0, t.pid)}
    top = lat.top_culprit
    assert top and others and top.pid == max(others, key=others.get), (occ, t.text)
    assert rtt.near(top.ns, others[top.pid], 10 * US + lat.max_ns // 200), (occ, t.text)


@SELF_MODEL
def test_overrun_worst_latency_is_a_preemption(ov_run):
    """The worst latency is a preempted period: about hi's burst, all of
    it charged to overrun_hi, and each period the loop counted as
    preempted is a latency of about a burst."""
    t, s, ids, evs = _setup(ov_run)
    ora = rtt.oracle_latencies(evs, t.pid)
    lat = t.latency
    assert OV["burst"] * US <= lat.max_ns <= s["hi_max_ns"] + 100 * US, (s, t.text)
    top = lat.top_culprit
    assert top and top.pid == ids["overrun_hi"], t.text
    assert top.ns >= 0.95 * OV["burst"] * US, t.text
    # it ran a little on its way (from the wakeup to the preemption)
    assert lat.worst["running_ns"] < 50 * US, t.text
    assert sum(1 for v in ora if v >= OV["burst"] * US) >= s["preempted"] - 1, s
    big = sum(n for lo, hi, n in lat.log2 if lo >= 65536)
    assert big >= s["preempted"] - 1, (s, t.text)


def test_overrun_response_relief_agree_with_tracefs(ov_run):
    """Response and relief end at the wakeup that found the loop still on
    its CPU (a sleep of length 0): the oracle, by the same rule, agrees.
    The worst of each is explained as tracefs shows that window on CPU 1:
    the loop's running is its time there, and what overrun_hi is charged
    is the time it ran there. (How many of hi's bursts fall into
    one activation is the workload's timing, not the module's: seen 1 in
    most runs, 4 in one.)"""
    t, s, ids, evs = _setup(ov_run)
    ends = {}
    responses, reliefs, _ = rtt.oracle_response_relief(evs, t.pid, ends)
    for m, ora in ((t.response, responses), (t.relief, reliefs)):
        probs = rtt.oracle_agreement_problems(m, ora)
        assert not probs, "\n".join(probs) + "\n" + t.text
        t_end, v = min(ends[m.name], key=lambda e: abs(e[1] - m.max_ns))
        occ = rtt.oracle_cpu_occupancy(evs, 1, t_end - v, t_end)
        # its running is its own time on CPU 1 there (about half a period
        # of compute, as designed; seen once: 751 us, all of it on CPU 1)
        assert rtt.near(m.worst["running_ns"], occ.get(t.pid, 0), 10 * US + v // 100), (occ, t.text)
        hi_ran = occ.get(ids["overrun_hi"], 0)
        hi = m.culprit(ids["overrun_hi"])
        if hi_ran < 10 * US:
            assert hi is None or hi.ns < 10 * US, (occ, t.text)
            continue
        assert hi and rtt.near(hi.ns, hi_ran, 10 * US + hi_ran // 100), (occ, t.text)
        assert m.top_culprit.pid == ids["overrun_hi"], (occ, t.text)
