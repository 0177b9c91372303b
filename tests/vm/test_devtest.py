"""The character device's contract, from a C program in the guest
(rt-tracer-module/tests/guest/rtt_devtest.c, built with the workloads):
ioctls and their refusals, read()/poll() record framing, snapshot, exit
records and slot collection, TGID tracking of later threads, and worst
records stamped with their own worst's end time.
"""
import re

import pytest

import rtt

FAIL_LINE = re.compile(r"^FAIL (\S+): (.*)$", re.M)
WORST_TIME = re.compile(r"^worst latency (\d+) ns at (\d+): (.*)$", re.M)


@pytest.fixture(scope="module")
def devtest_run():
    run = rtt.run_guest("devtest", """
load_module
rtt_devtest > /tmp/devtest.out 2>&1
echo "devtest status=$?"
section devtest cat /tmp/devtest.out
section dmesg dmesg
rmmod rt_tracer || echo "@@@ error rmmod after devtest"
""", timeout=240)
    run.assert_ok()
    return run


def test_devtest_chardev_contract(devtest_run):
    out = devtest_run.section("devtest")
    fails = [f"{m[1]}: {m[2]}" for m in FAIL_LINE.finditer(out)
             if "worst record time" not in m[2]]
    assert not fails, "\n".join(fails) + "\n" + out
    assert re.search(r"^records: task \d+ viol \d+ worst [1-9]", out, re.M), out
    assert re.search(r"^snapshot pid \d+ latency count \d+", out, re.M), out


def test_devtest_worst_record_time(devtest_run):
    """A worst record's header time is when the value it carries ended: the
    time of the violation record of the same value (every latency violates
    its 1 ns bound). A burst of a higher-priority task after the first
    samples makes the worst at read time newer than the first notice."""
    out = devtest_run.section("devtest")
    seen = WORST_TIME.findall(out)
    assert seen, "no worst latency record could be paired with its violation\n" + out
    wrong = [f"{v} ns at {t}" for v, t, verdict in seen if verdict != "its violation's time"]
    assert not wrong, "worst records stamped with another value's time: " + ", ".join(wrong) + "\n" + out
    # The burst (5 ms at FIFO 70 on the task's CPU) is what the worst holds.
    assert max(int(v) for v, _, _ in seen) >= 4_000_000, out


def test_devtest_passes(devtest_run):
    out = devtest_run.section("devtest")
    assert "devtest status=0" in devtest_run.stdout, out
    assert "devtest: PASS (0 failures)" in out, out
