"""Host-only checks of the shared helpers (no VM): the tasks parser, the
invariants and the tracefs oracle must themselves be able to fail."""
import pytest

import rtt

SAMPLE = """\
task pid=170 tgid=170 comm=ctrl_loop kind=pid irq=-1 prio=49 policy=fifo flags=trace,exited
  latency count=300 min_ns=2976 mean_ns=209546 max_ns=4822224 bound_ns=0 violations=0 last_ns=2976
    worst running_ns=0 waiting_ns=4822224 sleep_timer_ns=0 sleep_lock_ns=0 sleep_io_ns=0 sleep_other_ns=0
    culprits 171:prio_hog:39:4819216 0:swapper/1:120:3008
    log2 2048-4096:247 4096-8192:6 65536-131072:2 262144-524288:4 524288-1048576:17 1048576-2097152:20 2097152-4194304:1 4194304-8388608:3
  response count=2 min_ns=111568 mean_ns=200000 max_ns=300000 bound_ns=250000 violations=1 last_ns=227248
    worst running_ns=100000 waiting_ns=200000 sleep_timer_ns=0 sleep_lock_ns=0 sleep_io_ns=0 sleep_other_ns=0
    culprits -
    log2 65536-131072:1 262144-524288:1
    linear lo_ns=0 step_ns=100000 under=0 over=0 100000-200000:1 300000-400000:1
  relief count=0 min_ns=0 mean_ns=0 max_ns=0 bound_ns=0 violations=0 last_ns=0
    worst running_ns=0 waiting_ns=0 sleep_timer_ns=0 sleep_lock_ns=0 sleep_io_ns=0 sleep_other_ns=0
    culprits -
    log2 -

task pid=72 tgid=72 comm=irq/16-virtio0- kind=irq irq=16 prio=49 policy=fifo flags=irq_thread
""" + "".join(f"""  {m} count=0 min_ns=0 mean_ns=0 max_ns=0 bound_ns=0 violations=0 last_ns=0
    worst running_ns=0 waiting_ns=0 sleep_timer_ns=0 sleep_lock_ns=0 sleep_io_ns=0 sleep_other_ns=0
    culprits -
    log2 -
""" for m in rtt.METRICS)


def test_parse_sample():
    ts = rtt.parse_tasks(SAMPLE)
    assert [t.pid for t in ts] == [170, 72]
    t = rtt.find_task(ts, 170)
    assert (t.comm, t.kind, t.prio, t.policy, t.flags) == ("ctrl_loop", "pid", 49, "fifo",
                                                           {"trace", "exited"})
    assert t.latency.count == 300 and t.latency.max_ns == 4822224
    assert t.latency.top_culprit == rtt.Culprit(171, "prio_hog", 39, 4819216)
    assert t.latency.log2[-1] == (4194304, 8388608, 3)
    assert t.response.linear["buckets"] == [(100000, 200000, 1), (300000, 400000, 1)]
    assert t.relief.culprits == [] and t.relief.log2 == []
    assert rtt.find_task(ts, 72).irq == 16
    assert rtt.invariant_problems(t) == []


WINDOWS = """\
  windows open=1 depth=2 tags_dropped=0
  window tag=7 count=2 min_ns=400000 mean_ns=450000 max_ns=500000 budget_ns=1000000 overruns=1 last_ns=400000 abandoned=3
    worst running_ns=100000 waiting_ns=400000 sleep_timer_ns=0 sleep_lock_ns=0 sleep_io_ns=0 sleep_other_ns=0
    culprits 171:prio_hog:39:400000
    log2 262144-524288:2
"""
WIN_SAMPLE = SAMPLE.replace("\ntask pid=72", WINDOWS + "\ntask pid=72")


def test_parse_windows():
    t = rtt.find_task(rtt.parse_tasks(WIN_SAMPLE), 170)
    assert t.win_state == dict(open=1, depth=2, tags_dropped=0)
    w = t.windows[7]
    assert (w.count, w.max_ns, w.budget_ns, w.overruns, w.abandoned) == (2, 500000, 1000000, 1, 3)
    assert w.top_culprit.pid == 171 and w.worst_sum == 500000 and w.log2 == [(262144, 524288, 2)]
    assert t.latency.count == 300 and not rtt.find_task(rtt.parse_tasks(WIN_SAMPLE), 72).windows


@pytest.mark.parametrize("bad", [
    WIN_SAMPLE.replace("  windows open=1 depth=2 tags_dropped=0\n", ""),    # window before windows
    WIN_SAMPLE.replace(WINDOWS, WINDOWS + WINDOWS.split("\n", 1)[1]),        # repeated tag
    WIN_SAMPLE.replace(" abandoned=3", ""),                                    # short window line
])
def test_parser_rejects_malformed_windows(bad):
    with pytest.raises(rtt.FormatError):
        rtt.parse_tasks(bad)


@pytest.mark.parametrize("bad", [
    "task pid=1 tgid=1 comm=x kind=pid irq=-1 prio=49 policy=fifo\n",         # no flags
    SAMPLE.replace("    culprits -\n", "    culprits 1:x\n", 1),              # bad culprit
    SAMPLE.replace("log2 -", "log2 5:1", 1),                                   # bad bucket
    SAMPLE.replace("  relief", "  relief2", 1),                                # unknown metric
    SAMPLE + "  junk\n",                                                       # stray line
    SAMPLE.replace("    worst running_ns=0 waiting_ns=4822224", "    worst running_ns=0", 1),
])
def test_parser_rejects_malformed(bad):
    with pytest.raises(rtt.FormatError):
        rtt.parse_tasks(bad)


@pytest.mark.parametrize("edit, problem", [
    (("count=300", "count=301"), "log2 histogram holds 300"),
    (("waiting_ns=4822224", "waiting_ns=4000000"), "sums to"),
    (("mean_ns=209546", "mean_ns=9209546"), "min <= mean <= max"),
    (("violations=1", "violations=0"), "no violation"),
    (("171:prio_hog:39:4819216", "171:prio_hog:39:5819216"), "more than"),
    (("worst running_ns=100000 waiting_ns=200000 sleep_timer_ns=0 sleep_lock_ns=0",
      "worst running_ns=100000 waiting_ns=100000 sleep_timer_ns=0 sleep_lock_ns=100000"),
     "contains sleep"),
])
def test_invariants_catch(edit, problem):
    t = rtt.parse_tasks(SAMPLE.replace(*edit, 1))[0]
    probs = rtt.invariant_problems(t)
    assert any(problem in p for p in probs), probs


TRACE = """\
# tracer: nop
     ktimers/1-31      [001] d..2.    10.000000: sched_switch: prev_comm=ktimers/1 prev_pid=31 prev_prio=98 prev_state=S ==> next_comm=ctrl_loop next_pid=7 next_prio=49
       ctrl_loop-7     [001] d..2.    10.000100: sched_switch: prev_comm=ctrl_loop prev_pid=7 prev_prio=49 prev_state=S ==> next_comm=swapper/1 next_pid=0 next_prio=120
          <idle>-0     [001] d.h3.    10.001000: sched_wakeup: comm=ctrl_loop pid=7 prio=49 target_cpu=001
          <idle>-0     [001] d..2.    10.001004: sched_switch: prev_comm=swapper/1 prev_pid=0 prev_prio=120 prev_state=R ==> next_comm=ctrl_loop next_pid=7 next_prio=49
       ctrl_loop-7     [001] d..2.    10.001050: sched_switch: prev_comm=ctrl_loop prev_pid=7 prev_prio=49 prev_state=R+ ==> next_comm=prio_hog next_pid=8 next_prio=39
       prio_hog-8      [001] d.h3.    10.001060: sched_wakeup: comm=ctrl_loop pid=7 prio=49 target_cpu=001
        prio_hog-8     [001] d..2.    10.003050: sched_switch: prev_comm=prio_hog prev_pid=8 prev_prio=39 prev_state=S ==> next_comm=ctrl_loop next_pid=7 next_prio=49
"""


def test_oracle():
    evs = rtt.parse_trace_events(TRACE)
    assert len(evs) == 7
    # the wakeup while preempted (runnable) opens nothing; the first one is 4 us
    assert rtt.oracle_latencies(evs, 7) == [4000]


# ctrl_loop (7) runs; its timer wakes it there (it is entering
# clock_nanosleep), hi (8) woken by the same tick preempts it, it runs again
# 27.5 ms after that wakeup (issue 10). Then a wakeup while it runs that it
# sleeps after without leaving the CPU (0), and a lock handed over while it
# spins in an rt_mutex wait (no activation).
TRACE_ON_CPU = """\
          <idle>-0     [001] d..2.    20.000000: sched_switch: prev_comm=swapper/1 prev_pid=0 prev_prio=120 prev_state=R ==> next_comm=ctrl_loop next_pid=7 next_prio=19
       ctrl_loop-7     [001] .....    20.000010: sys_clock_nanosleep(which_clock: 1, flags: 1, rqtp: 0, rmtp: 0)
       ctrl_loop-7     [001] d.h3.    20.001000: sched_wakeup: comm=ctrl_loop pid=7 prio=19 target_cpu=001
       ctrl_loop-7     [001] d..2.    20.001108: sched_switch: prev_comm=ctrl_loop prev_pid=7 prev_prio=19 prev_state=R+ ==> next_comm=hi next_pid=8 next_prio=9
              hi-8     [001] d..2.    20.028500: sched_switch: prev_comm=hi prev_pid=8 prev_prio=9 prev_state=S ==> next_comm=ctrl_loop next_pid=7 next_prio=19
       ctrl_loop-7     [001] .....    20.028510: sys_clock_nanosleep -> 0x0
       ctrl_loop-7     [001] .....    20.028600: sys_clock_nanosleep(which_clock: 1, flags: 1, rqtp: 0, rmtp: 0)
       ctrl_loop-7     [001] d.h3.    20.029000: sched_wakeup: comm=ctrl_loop pid=7 prio=19 target_cpu=001
       ctrl_loop-7     [001] .....    20.029010: sys_clock_nanosleep -> 0x0
       ctrl_loop-7     [001] .....    20.029300: contention_begin: 0xffff000012345678 (flags=RT)
           other-9     [000] d..2.    20.029400: sched_wakeup: comm=ctrl_loop pid=7 prio=19 target_cpu=001
       ctrl_loop-7     [001] .....    20.029410: contention_end: 0xffff000012345678 (ret=0)
       ctrl_loop-7     [001] .....    20.029500: sys_clock_nanosleep(which_clock: 1, flags: 1, rqtp: 0, rmtp: 0)
       ctrl_loop-7     [001] d..2.    20.029600: sched_switch: prev_comm=ctrl_loop prev_pid=7 prev_prio=19 prev_state=S ==> next_comm=swapper/1 next_pid=0 next_prio=120
"""


def test_oracle_on_cpu_wakeups():
    evs = rtt.parse_trace_events(TRACE_ON_CPU)
    assert rtt.oracle_latencies(evs, 7) == [27_500_000, 0]
    responses, reliefs, timer_sleeps = rtt.oracle_response_relief(evs, 7)
    # the first activation's start is before the trace: the second and
    # third end at the wakeup of the next, and at the sleep (not at the
    # lock handed over)
    assert responses == [28_000_000, 600_000]
    assert reliefs == [28_000_000, 600_000]
    assert timer_sleeps == 1


def test_kernel_problems():
    log = "[1.0] ok\n[2.0] WARNING: CPU: 1 PID: 5 at foo\n[3] rcu: INFO: rcu_preempt detected stalls on CPUs\n"
    assert len(rtt.kernel_problems(log)) == 2
    assert rtt.kernel_problems("[0.1] hrtimer: interrupt took 19920720 ns\n") == []


def test_kernel_problems_debug_reports():
    """The debug kernel's reports that say neither BUG: nor WARNING:; its
    boot lines (lowercase kasan:/kfence:) are not problems."""
    bad = ["[5.1] UBSAN: shift-out-of-bounds in rtt_main.c:10:5",
           "[5.2] ODEBUG: free active (active state 0) object: 00000000 object type: hrtimer hint: f",
           "[5.3] kernel BUG at mm/slub.c:400!"]
    ok = ["[0.0] kasan: KernelAddressSanitizer initialized (generic)",
          "[0.0] kfence: initialized - using 2097152 bytes for 255 objects",
          "[0.1] kmemleak: Kernel memory leak detector initialized (mem pool available: 15000)"]
    assert rtt.kernel_problems("\n".join(bad + ok)) == bad


KMEMLEAK = """unreferenced object 0xffff000004a1c000 (size 64):
  comm "modprobe", pid 99, jiffies 4294893000
  hex dump (first 32 bytes):
    00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00  ................
  backtrace (crc 5d1a3b2c):
    [<ffff8000802a1b2c>] kmemleak_alloc+0x4c/0x60
    [<ffff8000802a0000>] __kmalloc_noprof+0x1e0/0x3c0
    [<ffff80007a0b1234>] rtt_iface_init+0x44/0x200 [rt_tracer]
    [<ffff800080012345>] do_one_initcall+0x80/0x1c0
unreferenced object 0xffff000004a1d000 (size 32):
  comm "swapper/0", pid 1, jiffies 4294892000
  backtrace (crc 11111111):
    [<ffff8000802a1b2c>] kmemleak_alloc+0x4c/0x60
    [<ffff800080012345>] kernel_init+0x80/0x1c0
"""


def test_kmemleak_ours():
    """Only leaks with a frame in one of our modules count."""
    ours = rtt.kmemleak_ours(KMEMLEAK)
    assert len(ours) == 1 and "rtt_iface_init" in ours[0]
    assert rtt.kmemleak_ours(KMEMLEAK.replace("[rt_tracer]", "[virtio_console]")) == []
    assert len(rtt.kmemleak_ours(KMEMLEAK.replace("[rt_tracer]", "[gpio_loopback]"))) == 1


def _metric(count, mean, mx):
    return rtt.Metric("irq", count, 0, mean, mx, 0, 0, 0)


@pytest.mark.parametrize("ora, mx, ok", [
    ([48000, 81000, 160000], 160944, True),            # the max is one of them
    ([48000, 81000, 195000], 160944, True),            # the longest holds a jump
    ([48000, 81000, 120000], 160944, False),           # the module's max is nowhere
    ([48000, 170000, 180000, 195000], 160944, False),  # three above: not jumps
])
def test_oracle_agreement_max(ora, mx, ok):
    m = _metric(len(ora), sum(ora) // len(ora), mx)
    probs = rtt.oracle_agreement_problems(m, ora)
    assert (not probs) == ok, probs


def test_largest_part():
    assert rtt.largest_part({"running_ns": 1, "sleep_io_ns": 3, "waiting_ns": 2}) == "sleep_io_ns"
    assert rtt.largest_part({"running_ns": 3, "sleep_io_ns": 3}) is None
