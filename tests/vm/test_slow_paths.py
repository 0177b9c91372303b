"""The module's own slow paths stay off the system's fast ones (issue 10):

- the fork probe takes no lock for threads nobody asked to track, however
  many are created while something is tracked: shown by the module built
  with RTT_IRQOFF_STATS=y (as scripts/irqoff builds it), which counts every
  interrupts-off section by place, and so every take of the table lock;
- an exiting tracked task does not print its summary itself: the kernel
  log's line is written by the housekeeping work, shown by the printk
  console trace event, which records the task that printed.
"""
import re

import pytest

import rtt

IRQOFF_BUILD = rtt.REPO / "build" / "irqoff"
MAIN_C = rtt.REPO / "rt-tracer-module" / "rtt_main.c"
SITE_RE = re.compile(r"irqoff max_ns=(\d+) count=(\d+) at (\S+):(\d+)$", re.M)


def function_lines(path, name: str) -> range:
    """The lines of C function name in path (its signature to its closing brace)."""
    lines = path.read_text().splitlines()
    start = next(i for i, ln in enumerate(lines, 1) if re.match(rf"static .*\b{name}\(", ln))
    end = next(i for i, ln in enumerate(lines[start:], start + 1) if ln == "}")
    return range(start, end + 1)


@pytest.fixture(scope="module")
def irqoff_run():
    rtt.build_for(rtt.ARCH, build=IRQOFF_BUILD, RTT_IRQOFF_STATS="y")
    run = rtt.run_guest("fork_probe_locks", """
# 1: a task is tracked by pid; another process creates 200 threads.
load_module
sleep 100 & Z=$!
ctl add_pid "$Z"
thread_churn -n 200 -j 8 -k 1 -u 200 > /tmp/ch1.out
section churn_untracked cat /tmp/ch1.out
kill $Z
rmmod rt_tracer || echo "@@@ error rmmod"
section sites_untracked sh -c "dmesg | grep 'irqoff max_ns=' | sed 's/.*rt_tracer: //'"
dmesg -c > /dev/null
# 2: that process is tracked by tgid: its threads are added (fewer: each
# keeps its record after it exits, and capacity is 64).
load_module
thread_churn -n 40 -j 8 -k 1 -u 200 -s 200 > /tmp/ch2.out & C=$!
ctl add_tgid "$C"
wait $C
section churn_tracked cat /tmp/ch2.out
section tasks_tracked cat $S/tasks
rmmod rt_tracer || echo "@@@ error rmmod"
section sites_tracked sh -c "dmesg | grep 'irqoff max_ns=' | sed 's/.*rt_tracer: //'"
""", build=IRQOFF_BUILD, timeout=240)
    run.assert_ok()
    return run


def fork_probe_sites(text: str) -> list[tuple[int, int]]:
    """(line, count) of the interrupts-off places inside rtt_probe_fork()."""
    fork = function_lines(MAIN_C, "rtt_probe_fork")
    return [(int(m[4]), int(m[2])) for m in SITE_RE.finditer(text)
            if m[3] == MAIN_C.name and int(m[4]) in fork]


def test_fork_probe_takes_no_lock_for_untracked_threads(irqoff_run):
    run = irqoff_run
    s = rtt.summaries(run.section("churn_untracked"))["thread_churn"]
    assert s["created"] == 200 and s["failed"] == 0, s
    sites = run.section("sites_untracked")
    assert SITE_RE.search(sites), f"no irqoff report: not the RTT_IRQOFF_STATS build?\n{sites}"
    assert not fork_probe_sites(sites), f"the fork probe took the table lock for untracked threads\n{sites}"


def test_fork_probe_locks_for_tracked_threads(irqoff_run):
    """The instrument sees the fork probe's lock when it must be taken."""
    run = irqoff_run
    churn = rtt.announced(run.section("churn_tracked"))["churn"]
    workers = [t for t in run.tasks("tasks_tracked") if t.tgid == churn and t.pid != churn]
    assert len(workers) == 40, len(workers)
    sites = fork_probe_sites(run.section("sites_tracked"))
    assert sum(n for _, n in sites) >= 40, (sites, run.section("sites_tracked"))


@pytest.fixture(scope="module")
def exit_run():
    run = rtt.run_guest("exit_summary_printer", """
load_module
T=/sys/kernel/tracing
echo 0 > $T/tracing_on
echo 1 > $T/events/printk/console/enable
echo > $T/trace
echo 1 > $T/tracing_on
echo "shell_pid=$$"
echo "rtt control line" > /dev/kmsg
thread_churn -n 12 -j 4 -k 2 -u 1000 -s 200 > /tmp/ch.out & C=$!
ctl add_tgid "$C"
wait $C
sleep 1
echo 0 > $T/tracing_on
section churn cat /tmp/ch.out
section tasks cat $S/tasks
section trace cat $T/trace
""", timeout=180)
    run.assert_ok()
    return run


def test_exit_summary_is_not_printed_by_the_exiting_task(exit_run):
    run = exit_run
    churn = rtt.announced(run.section("churn"))["churn"]
    mine = [t for t in run.tasks() if t.tgid == churn]
    assert len(mine) == 13 and all("exited" in t.flags for t in mine), [t.text for t in mine]
    trace = run.section("trace")
    # The event records the task that printed, not one that flushed the
    # console later: the shell's own /dev/kmsg line is the shell's.
    shell = int(re.search(r"^shell_pid=(\d+)$", run.stdout, re.M)[1])
    ctl = re.search(r"^\s*(\S+)-(\d+)\s+\[\d+\].*console: rtt control line$", trace, re.M)
    assert ctl and int(ctl[2]) == shell, (shell, trace[-3000:])
    printed = {}
    for m in re.finditer(r"^\s*(\S+)-(\d+)\s+\[\d+\].*console: rt_tracer: exit pid=(\d+) ", trace, re.M):
        printed[int(m[3])] = (m[1], int(m[2]))
    assert sorted(printed) == sorted(t.pid for t in mine), (printed, trace[-3000:])
    for pid, (comm, by) in printed.items():
        assert by != pid, f"the exit summary of {pid} was printed by the exiting task ({comm}-{by})"
