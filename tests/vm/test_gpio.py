"""The GPIO IRQ loop of issue 12 without the agent: gpio_loopback.ko (line N
drives line N+1) and irq_button_demo.ko on its line 17, stimulated by
workloads/gpio_pulse on line 16 through the GPIO character device v2."""
import re

import pytest

import rtt

DEMO = "/sys/kernel/irq_button_demo"
LOAD = "modprobe gpio_loopback && modprobe irq_button_demo chip=gpio-loopback line=17"


@pytest.fixture(scope="module", autouse=True)
def _built():
    rtt.build_for(rtt.ARCH)


def _chipdev():
    # gpiochip0 is the virt machine's PL061: find the loopback by label
    return "gpio-loopback"


def test_load_unload_loop():
    run = rtt.run_guest("gpio-loop", f"""
for i in $(seq 20); do
  {LOAD} edge=both || echo "@@@ error load $i"
  modprobe -r irq_button_demo || echo "@@@ error rmmod demo $i"
  modprobe -r gpio_loopback || echo "@@@ error rmmod loopback $i"
done
echo "@@@ begin dmesg"; dmesg; echo "@@@ end dmesg"
""")
    run.assert_ok()


def _demo_lines(run):
    """The demo's kernel messages of one failed insmod, one per init call.
    BusyBox insmod calls init_module() again when finit_module() fails, so
    one insmod runs the module's init twice: each call must log exactly one
    line, the same one."""
    lines = [re.sub(r"^\[[ .0-9]*\] ", "", ln)
             for ln in run.section("dmesg").splitlines() if "irq_button_demo" in ln]
    assert len(lines) in (1, 2), run.describe()
    return sorted(set(lines))


BAD = [
    ("chip=nosuch", "No such device", "no GPIO chip labelled nosuch"),
    ("chip=gpio-loopback line=32", "Invalid argument", "line 32 out of range"),
    ("chip=gpio-loopback edge=sideways", "Invalid argument", "edge=sideways"),
    ("chip=gpio-loopback work_us=100001", "Invalid argument", "work_us=100001"),
]


@pytest.mark.parametrize("opts,errno,msg", BAD)
def test_bad_param(opts, errno, msg):
    run = rtt.run_guest("gpio-bad-" + re.sub(r"\W", "_", opts), f"""
modprobe gpio_loopback
dmesg -c > /dev/null
insmod /lib/modules/$(uname -r)/extra/irq_button_demo.ko {opts} 2>&1 && echo "@@@ error loaded"
echo "@@@ begin dmesg"; dmesg; echo "@@@ end dmesg"
""")
    assert errno in run.stdout, run.describe()
    lines = _demo_lines(run)
    assert len(lines) == 1 and msg in lines[0], run.describe()


def test_busy_line():
    run = rtt.run_guest("gpio-busy", f"""
modprobe gpio_loopback
gpio_pulse -c {_chipdev()} -l 17 -n 0 -H 3000 & P=$!
sleep 1
dmesg -c > /dev/null
insmod /lib/modules/$(uname -r)/extra/irq_button_demo.ko chip=gpio-loopback 2>&1 && echo "@@@ error loaded"
wait $P
echo "@@@ begin dmesg"; dmesg; echo "@@@ end dmesg"
""")
    assert "Device or resource busy" in run.stdout, run.describe()
    lines = _demo_lines(run)
    assert len(lines) == 1 and "busy" in lines[0], run.describe()


@pytest.mark.parametrize("edge,n,want", [("both", 200, 200), ("rising", 200, 100)])
def test_counts_exact(edge, n, want):
    run = rtt.run_guest(f"gpio-counts-{edge}", f"""
{LOAD} edge={edge} work_us=200
gpio_pulse -c {_chipdev()} -l 16 -n {n} -P 2000
sleep 1
echo "@@@ begin demo"
for f in hard_count thread_count debounced merged empty wakeups last_delay_ns last_handler_ns; do
  echo "$f $(cat {DEMO}/$f)"; done
echo "@@@ end demo"
""")
    run.assert_ok()
    v = dict(ln.split() for ln in run.section("demo").splitlines())
    assert int(v["hard_count"]) == want, run.describe()
    assert int(v["thread_count"]) + int(v["debounced"]) + int(v["merged"]) == want, \
        run.describe()
    assert int(v["last_handler_ns"]) >= 200 * 1000, run.describe()
    assert int(v["last_delay_ns"]) > 0, run.describe()


def _demo_values(run, name="demo"):
    return {k: int(v) for k, v in (ln.split() for ln in run.section(name).splitlines())}


DUMP = f"""
echo "@@@ begin demo"
for f in hard_count thread_count debounced merged empty wakeups last_delay_ns last_handler_ns; do
  echo "$f $(cat {DEMO}/$f)"; done
echo "raised $(cat /sys/devices/platform/gpio-loopback/raised)"
echo "dropped $(cat /sys/devices/platform/gpio-loopback/dropped)"
echo "@@@ end demo"
"""


def test_work_us_tracks():
    """last_handler_ns follows work_us when it is changed at run time."""
    run = rtt.run_guest("gpio-work", f"""
{LOAD} edge=rising work_us=300
gpio_pulse -c gpio-loopback -l 16 -n 20 -P 5000
echo "h1 $(cat {DEMO}/last_handler_ns)"
echo 3000 > {DEMO}/work_us
gpio_pulse -c gpio-loopback -l 16 -n 20 -P 10000
sleep 1
echo "h2 $(cat {DEMO}/last_handler_ns)"
echo "pulse $(cat {DEMO}/last_pulse)"
echo "counts $(cat {DEMO}/hard_count) $(cat {DEMO}/thread_count) $(cat {DEMO}/merged)"
echo 1 > {DEMO}/reset
echo "after_reset $(cat {DEMO}/hard_count) $(cat {DEMO}/thread_count)"
""")
    run.assert_ok()
    h1 = int(re.search(r"^h1 (\d+)", run.stdout, re.M)[1])
    h2 = int(re.search(r"^h2 (\d+)", run.stdout, re.M)[1])
    assert 300_000 <= h1 < 3_000_000 <= h2, run.describe()
    seq, hard, start, done = map(int, re.search(r"^pulse (.*)$", run.stdout, re.M)[1].split())
    hard_n, thread_n, merged = map(int, re.search(r"^counts (.*)$", run.stdout, re.M)[1].split())
    # last_pulse's SEQ is the thread's run count; edges merged into a run
    # (host jitter) have none of their own.
    assert hard_n == 20 and thread_n + merged == 20, run.describe()
    assert seq == thread_n and 0 < hard <= start <= done, run.describe()
    assert re.search(r"^after_reset 0 0$", run.stdout, re.M), run.describe()


NPULSE = 20
WORK_US = 500


def _tracer_run(name, hog):
    # The hard IRQ runs where gpio_pulse drives line 16 (CPU 0: the
    # loopback raises it there, as a GPIO bank IRQ routed to CPU 0); the
    # IRQ thread is pinned to CPU 1, with prio_hog at FIFO 60 there if hog.
    # Under --icount guest time jumps at most rtt.JUMP_MAX_NS (round-robin
    # vCPUs) and never by host load: bursts well above that make the hog,
    # not a jump, the worst delay.
    hog_cmd = "prio_hog -c 1 -p 60 -B 6000 -S 4000 -d 3000 -s 20 > /tmp/hog.out & H=$!" if hog else ""
    return rtt.run_guest(name, f"""
load_module
{LOAD} edge=rising work_us={WORK_US}
N=$(cat {DEMO}/irq)
P=$(grep -l "^irq/$N-" /proc/[0-9]*/comm | cut -d/ -f3)
echo "irq=$N thread=$P"
taskset -p 2 $P > /dev/null || echo "@@@ error taskset irq thread"
ctl add_irq $N
{hog_cmd}
taskset -c 0 gpio_pulse -c gpio-loopback -l 16 -n {2 * NPULSE} -P 50000
{"wait $H" if hog else ""}
sleep 1
section tasks cat $S/tasks
{DUMP}
section dmesg dmesg
""", icount=True, timeout=int(200 * rtt.timeout_scale()))


def _runs(v):
    """The IRQ thread's runs as rt_tracer counts them: each handler call with
    the irq_thread tracepoints (our kernels), else each activation."""
    return v["thread_count"] + v["debounced"] + v["empty"] if rtt.IRQ_HANDLER_TP \
        else v["wakeups"]


def _irq_task(run):
    pid = int(re.search(r"thread=(\d+)", run.stdout)[1])
    t = rtt.find_task(rtt.parse_tasks(run.section("tasks")), pid)
    return pid, t


def test_rt_tracer_counts():
    """One activation per thread run: rt_tracer's irq_delay and irq counts
    equal the demo's runs, min <= mean <= max, the handling covers work_us."""
    run = _tracer_run("gpio-rtt", hog=False)
    run.assert_ok()
    v = _demo_values(run)
    assert v["hard_count"] == v["thread_count"] + v["merged"] == NPULSE, run.describe()
    _, t = _irq_task(run)
    d, h = t.irq_delay, t.metrics["irq"]
    assert d.count == h.count == _runs(v), t.text
    for m in (d, h):
        assert 0 <= m.min_ns <= m.mean_ns <= m.max_ns, t.text
    assert h.mean_ns >= WORK_US * 1000, t.text
    assert not rtt.kernel_problems(run.section("dmesg")), run.section("dmesg")


def test_rt_tracer_hog_is_culprit():
    """prio_hog (FIFO 60) on the IRQ thread's CPU delays it: the worst
    irq_delay names prio_hog first."""
    run = _tracer_run("gpio-rtt-hog", hog=True)
    run.assert_ok()
    _, t = _irq_task(run)
    d = t.irq_delay
    v = _demo_values(run)
    assert d.count == _runs(v), t.text
    assert v["hard_count"] == v["thread_count"] + v["merged"] == NPULSE, run.describe()
    assert d.top_culprit is not None and d.top_culprit.comm == "prio_hog", t.text
    assert d.max_ns >= 500_000, t.text


def test_storm():
    """gpio_pulse as fast as it can for 10 s: every edge is raised or counted
    as dropped, every raise reaches the hard handler, and every hard IRQ is
    handled by the thread, in a run of its own or merged into one."""
    run = rtt.run_guest("gpio-storm", f"""
{LOAD} edge=both
gpio_pulse -c gpio-loopback -l 16 -P 0 -d 10000 > /tmp/pulse.out
sleep 1
cat /tmp/pulse.out
{DUMP}
gpio_pulse -c gpio-loopback -l 16 -P 0 -d 6000 > /dev/null & G=$!
sleep 3
modprobe -r irq_button_demo || echo "@@@ error rmmod during storm"
wait $G
modprobe -r gpio_loopback || echo "@@@ error rmmod loopback"
section dmesg dmesg
""", timeout=int(240 * rtt.timeout_scale()))
    run.assert_ok()
    edges = int(re.search(r"gpio_pulse: edges=(\d+)", run.stdout)[1])
    v = _demo_values(run)
    assert edges > 1000, run.describe()
    assert edges == v["raised"] + v["dropped"], run.describe()
    assert v["hard_count"] == v["raised"], run.describe()
    assert v["thread_count"] > 0, run.describe()
    assert v["thread_count"] + v["debounced"] + v["merged"] == v["hard_count"], run.describe()
    assert not rtt.kernel_problems(run.section("dmesg")), run.section("dmesg")
