"""The module on the Debian 6.12 PREEMPT_RT kernel for amd64 (issue 3: test
on arm64 and amd64), whatever RTT_ARCH is: every boot here is
`vm-run --arch x86_64`, 2 CPUs.

- misconfigured priorities (test_classic's hog scenario): counts, the worst
  latency explained (waiting, prio_hog the top culprit), the tracefs oracle;
- TGID tracking (threads created later) and the exit path (flags=exited,
  the final summary in the kernel log), plus the x86_64 syscall numbers of
  the sleep-cause classification (hidden_block: the hidden block is I/O);
- a clean kernel log after each boot (rtt.kernel_problems via assert_ok).
"""
import re

import pytest

import rtt

ARCH = "x86_64"
US = 1000
MS = 1000 * US


@pytest.fixture(scope="module", autouse=True)
def built_x86_64():
    """conftest builds for RTT_ARCH only; these boots need the x86_64 build."""
    if rtt.ARCH != ARCH:
        rtt.build_for(ARCH)


tracked = rtt.tracked
near = rtt.near
HOG = rtt.HOG


@pytest.fixture(scope="module")
def hog_run():
    return rtt.hog_scenario("amd64_misconfigured_priorities", arch=ARCH)


def test_amd64_guest_is_amd64(hog_run):
    # Debian's kernel names its flavour; scripts/build-kernel's do not
    flavour = r"-rt-amd64" if rtt.KERNEL == "stock" else ""
    assert re.search(rf"^guest=6\.1[2-9]\S*{flavour} x86_64$", hog_run.stdout, re.M), hog_run.describe()


def test_amd64_misconfigured_priorities(hog_run):
    rtt.assert_hog_case(hog_run)


def test_amd64_oracle_latency_agrees_with_tracefs(hog_run):
    pid = rtt.announced(hog_run.section("out"))["ctrl_loop"]
    t = tracked(hog_run.tasks(), pid)
    # The x86_64 guest is still busy with boot work (cryptomgr self-tests)
    # at this point: add_pid can come several cycles after tracing starts
    # (seen: 5 wakeups before it). The oracle starts at the marker written
    # once add_pid returned.
    evs = rtt.events_after_marker(rtt.parse_trace_events(hog_run.section("trace")), "rtt_added")
    ora = rtt.oracle_latencies(evs, pid)
    probs = rtt.oracle_agreement_problems(t.latency, ora)
    assert not probs, "\n".join(probs) + "\n" + t.text
    assert len(ora) >= 100 and max(ora) >= HOG["burst"] * US - HOG["period"] * US, ora


# ------------------------------------------------ TGID tracking, exit path, sleep causes

CH = dict(threads=12, jobs=4, sleeps=3, sleep_us=2000)
HB = dict(cycles=60, period=2000, compute=100, every=10, delay=3000)


@pytest.fixture(scope="module")
def tgid_run():
    c, h = CH, HB
    run = rtt.run_guest("amd64_tgid_exit", f"""
load_module
bg_load 1000
# the threads start 300 ms after the process: all of them are added at fork
thread_churn -n {c['threads']} -j {c['jobs']} -k {c['sleeps']} -u {c['sleep_us']} -c 1 -s 300 -H 100 > /tmp/ch.out & C=$!
ctl add_tgid "$C"
wait $C
echo "churn_status=$?"
section churn cat /tmp/ch.out
section tasks_churn cat $S/tasks
ctl reset 1
hidden_block -n {h['cycles']} -P {h['period']} -C {h['compute']} -E {h['every']} -D {h['delay']} -c 1 -p 50 -s 100 > /tmp/hb.out & p=$!
ctl add_pid "$p"
wait $p
section hb cat /tmp/hb.out
section tasks_hb cat $S/tasks
finish
""", icount=True, arch=ARCH, timeout=120)
    run.assert_ok()
    return run


def test_amd64_tgid_tracking_and_exit(tgid_run):
    run, c = tgid_run, CH
    assert "churn_status=0" in run.stdout, run.describe()
    s = rtt.summaries(run.section("churn"))["thread_churn"]
    assert s["created"] == c["threads"] and s["failed"] == 0, s
    churn = rtt.announced(run.section("churn"))["churn"]
    tasks = run.tasks("tasks_churn")
    for t in tasks:
        probs = rtt.invariant_problems(t)
        assert not probs, "\n".join(probs) + "\n" + t.text
    mine = [t for t in tasks if t.tgid == churn]
    assert not [t for t in tasks if t.tgid != churn], "tasks of another process tracked"
    workers = [t for t in mine if t.pid != churn]
    # Every thread was created after add_tgid: all of them are there, under
    # the process's kind, exited, with their own counts.
    assert len(workers) == c["threads"], [t.text for t in mine]
    assert sorted(t.comm for t in workers) == sorted(f"cw{i}" for i in range(c["threads"]))
    for t in mine:
        assert t.kind == "tgid" and "exited" in t.flags, t.text
    for t in workers:
        # start (sched_wakeup_new) + one wakeup per timer sleep, + a few
        # from sleeping locks (PREEMPT_RT: mmap lock, rtmutexes while a
        # thread starts; seen: one, with 2.2 ms of sleep_lock; on the debug
        # kernel, whose checkers hold those locks longer, three); relief
        # ends at each of the K timer sleeps, exactly.
        lock_wakeups = 6 if rtt.DEBUG else 2
        assert c["sleeps"] + 1 <= t.latency.count <= c["sleeps"] + 1 + lock_wakeups, t.text
        assert t.relief.count == c["sleeps"], t.text
        # Every activation ends in a voluntary switch-out but the last,
        # which ends in exit (not a response).
        assert t.response.count == t.latency.count - 1, t.text
    # The exit path: one final summary per thread in the kernel log, with the
    # counts of the record.
    dmesg = run.section("dmesg")
    for t in mine:
        m = re.search(rf"exit pid={t.pid} tgid={churn} comm=(\S+) lat_count=(\d+) lat_max_ns=(\d+)"
                      rf".* relief_count=(\d+)", dmesg)
        assert m, f"no final summary of {t.pid} in dmesg\n{t.text}"
        assert (m[1], int(m[2]), int(m[3]), int(m[4])) == \
            (t.comm, t.latency.count, t.latency.max_ns, t.relief.count), (m[0], t.text)


def test_amd64_sleep_causes(tgid_run):
    """The sleep cause comes from the task's own syscall number at
    switch-out: on x86_64 the numbers differ from arm64 (read 0, not 63;
    clock_nanosleep 230, not 115). hidden_block's hidden read() is I/O and
    its timer sleeps end relief."""
    run, h = tgid_run, HB
    out = run.section("hb")
    s, ids = rtt.summaries(out)["hidden_block"], rtt.announced(out)
    assert s["blocks"] == h["cycles"] // h["every"], s
    t = tracked(run.tasks("tasks_hb"), ids["hidden_block"])
    assert abs(t.relief.count - s["timer_sleeps"]) <= 1 + s["timer_sleeps"] // 20, (s, t.text)
    assert t.latency.count >= t.relief.count + s["blocks"] - 1, (s, t.text)
    rel = t.relief
    io = rel.worst["sleep_io_ns"]
    assert io >= h["delay"] * US, t.text
    # the largest part (no fixed fraction: a guest-time jump can sit in
    # its running part, seen on aarch64: 2.08 ms beside 3.08 ms of I/O)
    assert rtt.largest_part(rel.worst) == "sleep_io_ns", t.text
    assert rel.worst["sleep_other_ns"] == 0, t.text
    assert t.response.max_ns < h["delay"] * US, t.text
