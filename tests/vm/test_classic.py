"""The classic real-time failures, one boot each, and the tracefs oracle.

Every scenario runs its tasks pinned to CPU 1 with a SCHED_OTHER background
load on CPU 0, under `vm-run --icount` (2 CPUs): guest time then counts
instructions, so a host that is busy with other work cannot stretch an
interval (without it, stalls of the QEMU thread of 10-160 ms show up as
latency and name whatever task was current as the culprit).

Each test checks the module's numbers against what the workload itself
measured (its summary line) and against the scenario's design, and that the
worst case names the real culprit.
"""
import pytest

import rtt

US = 1000
MS = 1000 * US


def tracked(run, pid):
    return rtt.tracked(run.tasks(), pid)


near = rtt.near


def near_self_count(count, self_count):
    """Counts the workload took itself from getrusage(RUSAGE_THREAD) voluntary
    switches: on PREEMPT_RT these also include blocking on sleeping locks
    inside a syscall, so they are a yardstick within a few percent only
    (seen: 250 switches for 246 sleeps that tracefs recorded). The exact
    count check is the tracefs one."""
    return abs(count - self_count) <= 1 + self_count * 5 // 100


def agrees_with_tracefs(run, section, t):
    """Independent oracle: sched_wakeup/sched_switch of the tracked pid
    recorded by tracefs in the same run (trace clock "mono", the module's
    clock too); wakeup -> switch-in intervals computed from them alone
    (rtt.oracle_latencies), compared by rtt.oracle_agreement_problems (its
    docstring states the tolerances and why)."""
    evs = rtt.parse_trace_events(run.section(section))
    assert evs, "tracefs recorded nothing"
    ora = rtt.oracle_latencies(evs, t.pid)
    probs = rtt.oracle_agreement_problems(t.latency, ora)
    assert not probs, "\n".join(probs) + "\n" + t.text
    return ora


def reliefs_agree(run, section, t):
    """The module's relief against rtt.oracle_response_relief() on the
    same run's trace (sched events + trace_sleeps), with the tolerances of
    rtt.oracle_agreement_problems()."""
    _, ora, _ = rtt.oracle_response_relief(rtt.parse_trace_events(run.section(section)), t.pid)
    assert ora, "tracefs saw no relief interval"
    probs = rtt.oracle_agreement_problems(t.relief, ora)
    assert not probs, "\n".join(probs) + "\n" + t.text
    return ora


# ------------------------------------------------ misconfigured priorities

HOG = rtt.HOG


@pytest.fixture(scope="module")
def hog_run():
    return rtt.hog_scenario("misconfigured_priorities")


def test_misconfigured_priorities(hog_run):
    rtt.assert_hog_case(hog_run)


def test_oracle_latency_agrees_with_tracefs(hog_run):
    """See agrees_with_tracefs(); every scenario below checks it too."""
    pid = rtt.announced(hog_run.section("out"))["ctrl_loop"]
    ora = agrees_with_tracefs(hog_run, "trace", tracked(hog_run, pid))
    # The scenario is not trivial for the oracle either.
    assert len(ora) >= 100 and max(ora) >= HOG["burst"] * US - HOG["period"] * US


# ------------------------------------------------ hidden blocking call

HB = rtt.HB


def test_hidden_blocking(hb_run):
    h, run = HB, hb_run
    out = run.section("out")
    s, ids = rtt.summaries(out)["hidden_block"], rtt.announced(out)
    t = tracked(run, ids["hidden_block"])
    assert s["blocks"] == h["cycles"] // h["every"]
    agrees_with_tracefs(run, "trace", t)
    # Latency and response: every wakeup (timer and pipe); relief: one per
    # timer sleep (as the loop counted them itself).
    assert near(t.response.count, t.latency.count, 1), t.text
    assert near_self_count(t.relief.count, s["timer_sleeps"]), (s, t.text)
    assert t.latency.count >= t.relief.count + s["blocks"] - 1, (s, t.text)
    # Relief holds the hidden block, spent asleep in I/O (read on a pipe).
    rel = t.relief
    assert rel.max_ns >= h["delay"] * US, t.text
    io = rel.worst["sleep_io_ns"]
    assert io >= h["delay"] * US, t.text
    # The worst interval holds at least the loop's own worst block, and its
    # I/O sleep is no longer than that block. (They need not be equal: the
    # worst relief can be another block plus a guest-time jump of QEMU's
    # round-robin vCPUs under --icount, seen once: io 3.1 ms in a relief
    # interval of 4.6+ ms while the longest block was 4.6 ms.)
    tol = 200 * US + s["block_max_ns"] // 20
    assert rel.max_ns >= s["block_max_ns"] - tol, (s, t.text)
    assert io <= s["block_max_ns"] + tol, (s, t.text)
    # Asleep in I/O is the largest part of the worst interval. (A few us of
    # sleep_lock are real: the pipe's mutex is a sleeping lock on
    # PREEMPT_RT, shared with the helper. Running may hold a guest-time
    # jump: seen 2.08 ms "running" beside 3.08 ms of I/O.)
    assert rtt.largest_part(rel.worst) == "sleep_io_ns", t.text
    # ...while latency and response (which end before the block) stay short.
    assert t.response.max_ns < h["delay"] * US, t.text
    assert t.latency.max_ns < h["delay"] * US, t.text


# ------------------------------------------------ priority inversion

PI = dict(iters=25, period=20000, low=2000, med=5000)


@pytest.fixture(scope="module")
def inversion_run():
    p = PI
    cmd = f"prio_inv -n {p['iters']} -P {p['period']} -L {p['low']} -M {p['med']} -p 10,20,30 -c 1 -s {rtt.setup_ms(300)}"
    run = rtt.run_guest("priority_inversion", f"""
load_module
bg_load 1500
for mode in plain pi; do
	opt=""; [ $mode = pi ] && opt=--pi
	{cmd} $opt > /tmp/$mode.out &
	p=$!
	h=$(tid_of /tmp/$mode.out pi_high)
	trace_pids $h
	ctl add_pid "$h trace"
	wait $p
	echo 0 > $T/tracing_on
	section $mode cat /tmp/$mode.out
	section trace_$mode cat $T/trace
	section tasks_$mode cat $S/tasks
	ctl reset 1
done
finish
""", icount=True)
    run.assert_ok()
    return run


def _inversion(run, mode):
    out = run.section(mode)
    ids, s = rtt.announced(out), rtt.summaries(out)["prio_inv"]
    t = rtt.find_task(rtt.parse_tasks(run.section(f"tasks_{mode}")), ids["pi_high"])
    probs = rtt.invariant_problems(t)
    assert not probs, "\n".join(probs) + "\n" + t.text
    assert (t.comm, t.prio) == ("pi_high", 99 - 30), t.text
    assert near(t.relief.count, s["iterations"], 1), t.text
    agrees_with_tracefs(run, f"trace_{mode}", t)
    assert near(t.response.count, t.latency.count, 1), t.text
    # pi_high preempts pi_low at once, and blocks on the mutex straight away.
    assert t.latency.max_ns < PI["low"] * US, t.text
    assert t.response.max_ns < PI["low"] * US, t.text
    rel = t.relief
    lock = rel.worst["sleep_lock_ns"]
    # relief = wait for the mutex (+ a little running): agrees with the
    # high thread's own measurement of its wait (+ at most one guest-time
    # jump of QEMU's round-robin vCPUs outside that wait, seen up to 1.9 ms).
    tol = 300 * US + s["high_wait_max_ns"] // 20
    assert s["high_wait_max_ns"] - tol <= rel.max_ns <= s["high_wait_max_ns"] + tol + 2 * MS, (s, t.text)
    # Spent in the lock path: asleep on it, or (PI futex, seen ~1.9 ms)
    # running in the kernel's rt_mutex slow path.
    others = {k: v for k, v in rel.worst.items() if k != "sleep_lock_ns"}
    assert lock + others["running_ns"] > sum(others.values()) - others["running_ns"], t.text
    if mode == "plain":
        assert rtt.largest_part(rel.worst) == "sleep_lock_ns", t.text
    return t, ids, s


def test_priority_inversion_without_pi(inversion_run):
    t, ids, s = _inversion(inversion_run, "plain")
    assert s["pi"] == 0
    rel = t.relief
    # Unbounded: the wait includes the whole medium burst (3L/4 + M by design).
    assert rel.max_ns >= PI["med"] * US, t.text
    assert rel.worst["sleep_lock_ns"] >= PI["med"] * US, t.text
    top = rel.top_culprit
    assert top and (top.pid, top.comm, top.prio) == (ids["pi_med"], "pi_med", 99 - 20), t.text
    assert top.ns >= 0.9 * PI["med"] * US, t.text
    low = rel.culprit(ids["pi_low"])
    assert low and low.ns < top.ns, t.text


def test_priority_inversion_with_pi(inversion_run):
    t, ids, s = _inversion(inversion_run, "pi")
    assert s["pi"] == 1
    rel = t.relief
    # Bounded: below the medium burst. (By design 3L/4; measured 2.8-3.5 ms
    # under --icount, pi_high's own wait agreeing: the PI futex slow path
    # itself runs ~1-2 ms in the emulated guest.)
    assert rel.max_ns < PI["med"] * US, t.text
    top = rel.top_culprit
    assert top and top.pid == ids["pi_low"], t.text
    med = rel.culprit(ids["pi_med"])
    assert med is None or med.ns < 0.1 * PI["med"] * US, t.text


# ------------------------------------------------ background task that blocks

BB = dict(cycles=60, period=10000, compute=100, work=1000, block=3000, gap=6300)


def test_background_task_blocks():
    b = BB
    run = rtt.run_guest("background_blocks", f"""
load_module
bg_load 1000
bg_block -n {b['cycles']} -P {b['period']} -C {b['compute']} -W {b['work']} -S {b['block']} -G {b['gap']} -c 1 -p 50 -s {rtt.setup_ms(100)} > /tmp/bb.out &
p=$!
trace_pids $p
trace_sleeps $p
ctl add_pid "$p trace"
wait $p
echo 0 > $T/tracing_on
section out cat /tmp/bb.out
section trace cat $T/trace
finish
""", icount=True)
    run.assert_ok()
    out = run.section("out")
    s, ids = rtt.summaries(out)["bg_block"], rtt.announced(out)
    t = tracked(run, ids["bb_rt"])
    assert (t.comm, t.prio) == ("bb_rt", 49), t.text
    # Every cycle's wait + work fits in the period (no deadline passes), so
    # every cycle but the last (which exits) ends in a timer sleep: about
    # cycles - 1 relief intervals (those before add_pid are not seen: the
    # exact count is the tracefs oracle's).
    assert s["lock_wait_max_ns"] + 1 * MS < b["period"] * US, s
    assert s["cycles"] - 4 <= t.relief.count <= s["cycles"] - 1, (s, t.text)
    agrees_with_tracefs(run, "trace", t)
    reliefs_agree(run, "trace", t)
    rel = t.relief
    # bb_bg's phase sweeps across bb_rt's wakeups (period 10.3 ms vs 10 ms):
    # some wakeup lands in its blocking call, which holds the lock for S.
    assert rel.max_ns >= b["block"] * US, t.text
    # ...and is the wait plus a little running: not much more than the
    # longest wait the task saw itself (+ the compute time, a latency, and
    # one guest-time jump of QEMU's round-robin vCPUs, seen up to 1.57 ms).
    # Not equal to it: that longest wait may be in the first cycle, before
    # add_pid (seen: 5.66 ms in the workload's count, 4.73 ms the module's).
    assert rel.max_ns <= s["lock_wait_max_ns"] + 300 * US + 2 * MS, (s, t.text)
    assert rtt.largest_part(rel.worst) == "sleep_lock_ns", t.text
    assert rel.worst["sleep_io_ns"] == 0, t.text
    # The task that kept it from its work is the background one. (While
    # bb_bg sleeps with the lock held the CPU is idle: the idle task, pid 0,
    # may be listed too, but it is nobody's fault.) It always runs in the
    # lock wait, if only to unlock. When the worst wait began in bb_bg's
    # blocking phase (the CPU idle nearly all of it; a guest-time jump can
    # make that one the longest, seen: 4.19 ms with 23 us of CPU time in it)
    # the few microseconds the timer threads ran may outrank it; otherwise it
    # is the top culprit.
    busy = [c for c in rel.culprits if c.pid != 0]
    assert any((c.pid, c.comm) == (ids["bb_bg"], "bb_bg") for c in busy), t.text
    if sum(c.ns for c in busy) > rel.worst["sleep_lock_ns"] // 10:
        assert (busy[0].pid, busy[0].comm) == (ids["bb_bg"], "bb_bg"), t.text
    # Its latency is not the problem: it gets the CPU at once.
    assert t.latency.max_ns < b["block"] * US, t.text
