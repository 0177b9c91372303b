"""IRQ metrics on a real device IRQ of the appliance: irq_delay (hard IRQ
entry -> switch-in of the IRQ thread) and irq (the thread's activation).

/dev/hvc3 is a virtio console sink: writing to it raises virtio0-virtqueues
(the IRQ of the whole virtio-serial device, also used by the consoles that
carry the scenario's stdout: nothing is printed while an IRQ window is
measured). The IRQ is routed to CPU 1 (/proc/irq/N/smp_affinity; its IRQ
thread, SCHED_FIFO 50, follows), the writer and a SCHED_OTHER background
load run on CPU 0. One boot, two phases, each with its own tracefs record
(irq_handler_entry of N, sched_wakeup/sched_switch of the thread) and
/proc/interrupts before and after:
- quiet: nothing else on CPU 1, irq_delay stays small;
- hog: prio_hog at SCHED_FIFO 60 (above the IRQ thread) bursts on CPU 1
  while the writer keeps the IRQ busy: irq_delay grows to (nearly) a burst
  and names prio_hog.
Under --icount (see test_classic) so guest time counts instructions.

RTT_KERNEL=patched (scripts/check --slow, step patched-kernel) boots the
kernel with the irq_thread tracepoints (kernel-patches/linux/0001): the
module then times irq_delay to the threaded handler's entry and irq as each
handler run, and tracefs records irq_thread_handler_entry/exit too, the
oracle of that mode (oracle_irq_handler).
"""
import re
from typing import NamedTuple

import pytest

import rtt

HANDLER = rtt.IRQ_HANDLER_TP  # the module uses the irq_thread events
US = 1000
MS = 1000 * US
BURST, SLEEP, HOG_MS = 3000, 7000, 1200          # us, us, ms
BOUND = 1 * MS                                    # irq_delay SLO
IRQ_BOUND = 500 * US                              # irq (handling) SLO
LIN_STEP = 125 * US                               # irq_delay linear histogram, BOUND = 8 steps
QUIET_WRITES = 300


def _handler_events(on):
    if not HANDLER:
        return ""
    return "\n".join(f"""echo "irq == $N" > $T/events/irq_thread/{ev}/filter
echo {on} > $T/events/irq_thread/{ev}/enable""" for ev in
                     ("irq_thread_handler_entry", "irq_thread_handler_exit"))


def _phase(name, hog):
    start_hog = (f"prio_hog -c 1 -p 60 -B {BURST} -S {SLEEP} -d {HOG_MS} -s 20 > /tmp/hog.out & H=$!"
                 if hog else "")
    writer = ("while kill -0 $H 2>/dev/null; do taskset -c 0 dd if=/dev/zero of=/dev/hvc3 bs=4k count=20 2>/dev/null; done"
              if hog else f"taskset -c 0 dd if=/dev/zero of=/dev/hvc3 bs=4k count={QUIET_WRITES} 2>/dev/null")
    # The hog phase records prio_hog's switches too: when it had CPU 1;
    # the quiet one every switch on CPU 1 (few): when only idle had it.
    hog_switches = ('echo "prev_pid == $P || next_pid == $P || prev_comm == \\"prio_hog\\" || '
                    'next_comm == \\"prio_hog\\"" > $T/events/sched/sched_switch/filter' if hog else "")
    return f"""
trace_pids {"" if hog else "-c 1 "}$P
{hog_switches}
echo "irq == $N" > $T/events/irq/irq_handler_entry/filter
echo 1 > $T/events/irq/irq_handler_entry/enable
{_handler_events(1)}
ctl add_irq $N
ctl set_slo_irq_delay_bound "$P {BOUND}"
ctl set_slo_irq_handling_bound "$P {IRQ_BOUND}"
ctl set_linear_hist "$P irq_delay 0 {LIN_STEP}"
echo rtt_added > $T/trace_marker
i0=$(grep "^ *$N:" /proc/interrupts)
{start_hog}
{writer}
i1=$(grep "^ *$N:" /proc/interrupts)
echo 0 > $T/tracing_on
cat $S/tasks > /tmp/tasks_{name}
echo 0 > $T/events/irq/irq_handler_entry/enable
{_handler_events(0)}
{"wait $H" if hog else ""}
echo "irqs_{name}_before: $i0"
echo "irqs_{name}_after: $i1"
section tasks_{name} cat /tmp/tasks_{name}
section trace_{name} cat $T/trace
{"section hog cat /tmp/hog.out" if hog else ""}
ctl reset 1
"""


@pytest.fixture(scope="module")
def irq_run():
    run = rtt.run_guest("irq_virtio", f"""
load_module
echo "irq_thread_events: $(ls $T/events/irq_thread 2>/dev/null | tr '\\n' ' ')"
echo "load_line: $(dmesg | grep 'rt_tracer: loaded:' | tail -n 1)"
N=$(sed -n 's/^ *\\([0-9]*\\):.* virtio0-virtqueues$/\\1/p' /proc/interrupts)
P=$(grep -l "^irq/$N-" /proc/[0-9]*/comm | cut -d/ -f3)
echo "irq=$N thread=$P"
echo 2 > /proc/irq/$N/smp_affinity || echo "@@@ error smp_affinity of $N not writable"
usleep 100000
echo "affinity=$(cat /proc/irq/$N/effective_affinity_list) thread_cpus=$(sed -n 's/^Cpus_allowed_list:\\t//p' /proc/$P/status)"
bg_load 8000
{_phase("quiet", False)}
{_phase("hog", True)}
finish
""", icount=True, timeout=150)
    run.assert_ok()
    return run


def ids(run):
    m = re.search(r"^irq=(\d+) thread=(\d+)$", run.stdout, re.M)
    assert m, run.describe()
    return int(m[1]), int(m[2])


def irq_count_delta(run, phase, irq):
    """Hard IRQs of irq over the phase's window, all CPUs (/proc/interrupts)."""
    def total(which):
        line = re.search(rf"^irqs_{phase}_{which}: (.*)$", run.stdout, re.M)[1]
        f = line.split()
        assert f[0] == f"{irq}:", line
        return sum(int(x) for x in f[1:3])      # 2 CPUs
    return total("after") - total("before")


class Oracle(NamedTuple):
    """What oracle_irq / oracle_irq_handler computed from tracefs."""
    delays: list          # irq_delay intervals
    runs: list            # irq intervals (activations, or handler runs)
    entries: int          # irq_handler_entry events of the IRQ
    unmeasured: int       # entries that opened no interval
    # Handler mode: entries that may have come between the module's probe
    # and ftrace's of the handler entry that follows them at once (see
    # oracle_irq_handler): each may be one more irq_delay in the module.
    delays_between: int = 0
    # ...and the runs whose exit record follows such an entry at once: the
    # module may have closed them before it (and before any guest-time jump
    # that came with it).
    runs_between: frozenset = frozenset()
    delay_spans: tuple = ()   # (start, end) of each of delays, tracefs ns


def oracle_irq(evs, irq, pid):
    """irq_delay and irq intervals of the IRQ thread from tracefs alone, by
    the module README's definitions:
    - irq_delay: an irq_handler_entry(irq) opens one unless one is open or
      the thread is in an activation, running or preempted in it (then the
      activation handles it: not measured, see rtt_main.c above
      rtt_probe_irq_entry); the thread's next switch-in closes it.
    - irq: "the thread's whole activation": from the switch-in that ends
      an irq_delay, when the thread was asleep, to its next switch-out in a
      sleeping state (not R/R+); preemptions inside are part of it."""
    spid, sirq = str(pid), str(irq)
    pending = None
    running = False
    act_start = None
    delays, acts, spans = [], [], []
    entries = unmeasured = 0
    for e in evs:
        if e.name == "irq_handler_entry" and e.f.get("irq") == sirq:
            entries += 1
            if pending is None and not running and act_start is None:
                pending = e.t_ns
            else:
                unmeasured += 1
        elif e.name == "sched_switch" and e.f.get("next_pid") == spid:
            running = True
            if pending is not None:
                delays.append(e.t_ns - pending)
                spans.append((pending, e.t_ns))
                pending = None
                if act_start is None:
                    act_start = e.t_ns
        elif e.name == "sched_switch" and e.f.get("prev_pid") == spid:
            running = False
            if not e.f.get("prev_state", "").startswith("R") and act_start is not None:
                acts.append(e.t_ns - act_start)
                act_start = None
    return Oracle(delays, acts, entries, unmeasured, delay_spans=tuple(spans))


def oracle_irq_handler(evs, irq):
    """The same from tracefs with the irq_thread events (patched kernel), by
    rtt_core.c's definitions of that mode:
    - irq_delay: an irq_handler_entry(irq) opens one unless one is open
      (then it is served by the same handler run: not measured); the next
      irq_thread_handler_entry(irq) closes it.
    - irq: irq_thread_handler_entry(irq) -> irq_thread_handler_exit(irq),
      every handler run.
    Two observers of one tracepoint call, the module's probe (registered
    first, so called first) and ftrace's, run a few instructions apart with
    interrupts on: a hard IRQ can come between them. Its irq_handler_entry
    is then the CPU's event right before the irq_thread record, within a
    kernel path: tracefs puts it before the handler entry or exit, the
    module after it. At an entry with an irq_delay already open, tracefs
    has it served by that run and the module by the next one (seen: 6 in
    5729 runs under prio_hog); at an exit the module's run ends before it,
    and before the guest-time jump that the IRQ's delivery often comes with
    (seen: 4 runs of 0.6-1.5 ms in tracefs, a few us in the module). Such
    entries are counted (delays_between, runs_between), not guessed."""
    sirq = str(irq)
    pending = start = None
    delays, runs, spans = [], [], []
    entries = unmeasured = between = 0
    runs_between = set()
    prev = {}                     # cpu -> the CPU's previous event
    near = rtt.kernel_path_ns(10 * US)
    last_unmeasured = False       # the last entry came with one open

    def right_after_entry(e):
        p = prev.get(e.cpu)
        return (p is not None and p.name == "irq_handler_entry" and p.f.get("irq") == sirq
                and e.t_ns - p.t_ns <= near)

    for e in evs:
        if e.f.get("irq") == sirq:
            if e.name == "irq_handler_entry":
                entries += 1
                last_unmeasured = pending is not None
                if pending is None:
                    pending = e.t_ns
                else:
                    unmeasured += 1
            elif e.name == "irq_thread_handler_entry":
                if pending is not None:
                    delays.append(e.t_ns - pending)
                    spans.append((pending, e.t_ns))
                    pending = None
                    if right_after_entry(e) and last_unmeasured:
                        between += 1
                start = e.t_ns
            elif e.name == "irq_thread_handler_exit" and start is not None:
                if right_after_entry(e):
                    runs_between.add(len(runs))
                runs.append(e.t_ns - start)
                start = None
        prev[e.cpu] = e
    return Oracle(delays, runs, entries, unmeasured, between, frozenset(runs_between),
                  tuple(spans))


def phase_events(run, name):
    return rtt.events_after_marker(rtt.parse_trace_events(run.section(f"trace_{name}")), "rtt_added")


def phase(run, name, derived=False):
    """The task, the oracle of the module's mode (derived=True: the derived
    one whatever the kernel) and the hard IRQs of the window."""
    irq, pid = ids(run)
    t = rtt.find_task(rtt.parse_tasks(run.section(f"tasks_{name}")), pid)
    probs = rtt.invariant_problems(t)
    assert not probs, "\n".join(probs) + "\n" + t.text
    evs = phase_events(run, name)
    ora = oracle_irq_handler(evs, irq) if HANDLER and not derived else oracle_irq(evs, irq, pid)
    return t, ora, irq_count_delta(run, name, irq)


def test_irq_source(irq_run):
    """The module uses the irq_thread tracepoints exactly when the kernel has
    them: tracefs's events/irq_thread, the load line and the task's flags."""
    ev = re.search(r"^irq_thread_events: (.*)$", irq_run.stdout, re.M)[1].split()
    line = re.search(r"^load_line: (.*)$", irq_run.stdout, re.M)[1]
    t, _, _ = phase(irq_run, "quiet")
    if HANDLER:
        assert {"irq_thread_handler_entry", "irq_thread_handler_exit"} <= set(ev), ev
        assert "irq_source=handler" in line, line
        assert "irq_handler" in t.flags, t.text
    else:
        assert ev == [], ev
        assert "irq_source=derived" in line, line
        assert "irq_handler" not in t.flags, t.text


@pytest.mark.skipif(not HANDLER, reason="needs RTT_KERNEL=patched or debug")
@pytest.mark.parametrize("name", ["quiet", "hog"])
def test_irq_handler_oracle(irq_run, name):
    """Patched kernel: irq (each handler run) against tracefs's
    irq_thread_handler_entry/exit: count +-1, max within the tolerances of
    rtt.oracle_agreement_problems; and at least as tight as the derived
    activation (tracefs's sched_switch intervals of the same window): the
    mean handler time is not above the mean activation."""
    t, ora, _ = phase(irq_run, name)
    irqm = t.metrics["irq"]
    assert ora.runs, "tracefs saw no handler run"
    # (a run whose exit an IRQ came right before is a jump the module may
    # not have: see oracle_irq_handler)
    probs = rtt.oracle_agreement_problems(irqm, ora.runs, module_jump=True,
                                          jumps=2 + len(ora.runs_between))
    assert not probs, "\n".join(probs) + "\n" + t.text
    acts = phase(irq_run, name, derived=True)[1].runs
    assert acts, "tracefs saw no activation"
    assert irqm.mean_ns <= sum(acts) / len(acts), (irqm.mean_ns, sum(acts) / len(acts), t.text)


def test_irq_thread_record(irq_run):
    irq, pid = ids(irq_run)
    assert re.search(r"^affinity=1 thread_cpus=1$", irq_run.stdout, re.M), irq_run.describe()
    t, _, _ = phase(irq_run, "quiet")
    assert (t.kind, t.irq, t.policy, t.prio) == ("irq", irq, "fifo", 99 - 50), t.text
    assert t.comm.startswith(f"irq/{irq}-virtio0") and "irq_thread" in t.flags, t.text
    assert (t.irq_delay.bound_ns, t.metrics["irq"].bound_ns) == (BOUND, IRQ_BOUND), t.text


@pytest.mark.parametrize("name", ["quiet", "hog"])
def test_irq_counts(irq_run, name):
    """irq_delay count vs the hard IRQs /proc/interrupts counted in the same
    window. Every measured irq_delay starts at an IRQ of the window, so
    count <= delta (+1: an entry just before i0 is measured at a switch-in
    after it). Fewer is by design: an entry while the thread is already
    pending or running is handled in the same run and not measured (see
    rtt_main.c above rtt_probe_irq_entry); tracefs tells how many those
    were, so count >= delta - unmeasured - 2 (an entry on each side of the
    window). And the irq count is one per measured irq_delay (every
    activation ends in a sleep), +-1 for the activation running when the
    tasks file was read."""
    t, ora, delta = phase(irq_run, name)
    runs, entries, unmeasured = ora.runs, ora.entries, ora.unmeasured
    d = t.irq_delay
    assert delta >= 100, f"only {delta} IRQs of the device in the window"
    # tracefs saw the same IRQs as /proc/interrupts (it ran a little longer).
    assert delta <= entries <= delta + 3, (delta, entries)
    assert d.count <= delta + 1, (delta, d.count, t.text)
    assert d.count >= delta - unmeasured - 2, (delta, unmeasured, d.count, t.text)
    # Not a trivial window: most IRQs open an irq_delay.
    assert d.count >= delta // 4, (delta, unmeasured, t.text)
    if HANDLER:
        # One irq per handler run (tracefs's), +-1 around the window.
        assert abs(t.metrics["irq"].count - len(runs)) <= 1, (len(runs), t.text)
    else:
        # Each activation starts at a switch-in that ends an irq_delay.
        assert t.metrics["irq"].count <= d.count + 1, t.text


@pytest.mark.parametrize("name", ["quiet", "hog"])
def test_irq_delay_oracle_agrees_with_tracefs(irq_run, name):
    """irq_delay from tracefs (oracle_irq) vs the module, with the
    tolerances of rtt.oracle_agreement_problems: count +-1 around the
    marker; the max one of tracefs's intervals within 5 us + 0.5%; at most
    2 tracefs intervals above it (icount guest-time jumps: seen, 638 us
    between the ftrace irq_handler_entry event and the sched_wakeup of the
    same hard IRQ on an idle vCPU, a jump the module's probe, called after
    the ftrace event, does not see; and the other way round, module_jump:
    the module's max above every tracefs interval, seen 80 us vs 47 us)."""
    t, ora, _ = phase(irq_run, name)
    probs = rtt.oracle_agreement_problems(t.irq_delay, ora.delays, module_jump=True,
                                          module_extra=ora.delays_between)
    assert not probs, "\n".join(probs) + "\n" + t.text


def test_irq_handling_oracle_quiet(irq_run):
    """irq (the thread's activation) from tracefs vs the module, same
    tolerances. Nothing preempts the thread here."""
    t, ora, _ = phase(irq_run, "quiet")
    probs = rtt.oracle_agreement_problems(t.metrics["irq"], ora.runs, module_jump=True,
                                          jumps=2 + len(ora.runs_between))
    assert not probs, "\n".join(probs) + "\n" + t.text


def test_irq_handling_oracle_hog(irq_run):
    """As above while prio_hog preempts the thread mid-activation: irq must
    still be the whole activation (README: "irq is the thread's whole
    activation"), preemption included. The sharpest check is the number
    of long activations (>= 2^19 ns, i.e. preempted by a burst): the
    module's log2 histogram against tracefs's, +-2 (icount jumps). Seen in
    3 runs: tracefs 8, 15, 9; the module 1, 4, 4 (exactly what tracefs
    gives when the irq interval restarts at the switch-in that ends an
    irq_delay opened during the preemption)."""
    t, ora, _ = phase(irq_run, "hog")
    acts = ora.runs
    irqm = t.metrics["irq"]
    long_mod = sum(n for lo, _, n in irqm.log2 if lo >= 1 << 19)
    long_ora = sum(1 for v in acts if v >= 1 << 19)
    # (patched kernel: handler runs, rarely preempted by a burst; those that
    # an IRQ ended in tracefs may be short in the module: oracle_irq_handler)
    long_sure = sum(1 for i, v in enumerate(acts) if v >= 1 << 19 and i not in ora.runs_between)
    assert HANDLER or long_ora >= 1, "tracefs saw no preempted activation (seen: 2 to 15 per run)"
    assert long_sure - 2 <= long_mod <= long_ora + 2, \
        f"activations >= 2^19 ns: module {long_mod}, tracefs {long_ora} ({long_sure} sure)\n{t.text}"
    probs = rtt.oracle_agreement_problems(irqm, acts, module_jump=True,
                                          jumps=2 + len(ora.runs_between))
    assert not probs, "\n".join(probs) + "\n" + t.text
    # Every activation starts with one irq_delay; the extra irq_delays are
    # entries that came while the thread was preempted.
    assert HANDLER or irqm.count <= t.irq_delay.count, t.text


def idle_only(evs, span):
    """Whether tracefs saw only the idle task current on CPU 1 in span
    (False when who ran there is not known yet)."""
    try:
        return set(rtt.oracle_cpu_occupancy(evs, 1, *span)) == {0}
    except rtt.FormatError:
        return False


def test_irq_delay_quiet_is_small(irq_run):
    t, ora, _ = phase(irq_run, "quiet")
    d = t.irq_delay
    # Nothing above the IRQ thread on CPU 1: entry -> wakeup -> switch-in,
    # measured 5-50 us under icount; far below a hog burst. Slow samples
    # (250 us or more, from the linear histogram's 125 us steps; 1 ms on
    # the debug kernel, where an IRQ that comes during a handler run waits
    # for the rest of that run, which the checkers lengthen: seen 7 of
    # 250 us - 1.5 ms) are icount guest-time jumps on the idle vCPU (seen:
    # 1.49 ms in 595, no culprit). Those tracefs shows with only the idle
    # task on CPU 1 are jumps for sure (seen: 3 in one run on a loaded
    # host); up to 2 more may be jumps it places otherwise.
    lin = d.linear
    slow_at = rtt.kernel_path_ns(250 * US)
    slow_buckets = [(lo, n) for lo, _, n in lin["buckets"] if lo >= slow_at]
    slow = lin["over"] + sum(n for _, n in slow_buckets)
    evs = phase_events(irq_run, "quiet")
    jumps = sum(1 for a, b in ora.delay_spans if b - a >= slow_at and idle_only(evs, (a, b)))
    # (debug kernel: a run several times longer in wall time, so more of
    # QEMU's round-robin turns; seen 3)
    assert slow <= jumps + (4 if rtt.DEBUG else 2), (f"{jumps} idle-only in tracefs", t.text)
    # The idle task is charged to nobody: a worst case tracefs shows idle
    # only names no culprit.
    worst = min(ora.delay_spans, key=lambda sp: abs(sp[1] - sp[0] - d.max_ns))
    if d.max_ns >= slow_at and idle_only(evs, worst):
        assert not d.culprits, (worst, t.text)
    assert d.violations <= slow, t.text
    # The mean of the other samples is the path's. The slow ones are taken
    # out at their buckets' lower edges (the least they add), those above
    # the linear range at its end. (The path itself is longer on the debug
    # kernel: kernel_path_ns; the oracle tests hold the module to tracefs
    # there as here.)
    lin_end = lin["lo_ns"] + rtt.RTT_LIN_BUCKETS * lin["step_ns"]
    slow_ns = sum(lo * n for lo, n in slow_buckets) + lin["over"] * lin_end
    rest_mean = (d.mean_ns * d.count - slow_ns) / (d.count - slow)
    assert rest_mean < rtt.kernel_path_ns(20 * US), (rest_mean, t.text)
    # The activations too, but for the same jumps (seen: one of 667 us, all
    # of it "running", in 438): at most 2 above the bound.
    irqm = t.metrics["irq"]
    assert irqm.violations <= (4 if rtt.DEBUG else 2), t.text
    assert irqm.mean_ns < rtt.kernel_path_ns(50 * US), t.text


def worst_interval_on_cpu(run, name, ora, max_ns, pid):
    """The tracefs irq_delay interval that is the module's worst (max_ns),
    how far its length is from max_ns, and how long pid was current on
    CPU 1 in it (rtt.oracle_pid_on_cpu). A guest-time jump between the
    module's probe and ftrace's at an edge makes the two lengths differ by
    that jump, at most rtt.JUMP_MAX_NS (then what the module charged
    differs from tracefs's time by no more than that)."""
    span = min(ora.delay_spans, key=lambda s: abs(s[1] - s[0] - max_ns))
    edge = abs(span[1] - span[0] - max_ns)
    edge = 0 if edge <= 5 * US + max_ns // 200 else edge
    assert edge <= rtt.JUMP_MAX_NS, f"no tracefs interval near {max_ns} ns: nearest {span}"
    return span, edge, rtt.oracle_pid_on_cpu(phase_events(run, name), 1, pid, *span)


def test_irq_delay_hog_is_explained(irq_run):
    t, ora, _ = phase(irq_run, "hog")
    hog_pid = rtt.announced(irq_run.section("hog"))["prio_hog"]
    d = t.irq_delay
    # An IRQ that comes at the start of a burst waits for all of it; the
    # writer keeps the IRQ busy, so one does, within a few writes.
    assert d.max_ns >= 0.8 * BURST * US, t.text
    # ...and little more than the longest burst (as prio_hog measured it).
    # Not exactly: under --icount guest time can jump while a vCPU waits
    # for its QEMU round-robin turn (see test_classic); seen here: 4.58 ms
    # with a 3.84 ms longest burst, 1.57 ms of it on the idle vCPU between
    # the thread's wakeup (need-resched set) and the switch away from idle.
    hog = rtt.summaries(irq_run.section("hog"))["prio_hog"]
    assert d.max_ns <= hog["burst_max_ns"] + 2 * MS + rtt.WORKLOAD_KERNEL_NS, (hog, t.text)
    # The worst case is spent waiting for the CPU, and the task that had it
    # is prio_hog, for (nearly) a whole burst: it is the top culprit. (The
    # idle task is never charged, so a jump on the idle vCPU stays
    # unexplained waiting.) With the handler tracepoints an IRQ can come
    # while the thread runs a handler: the rest of that run is the thread's
    # own running, at most its longest run (on the debug kernel, whose
    # checkers lengthen the handler, seen: 0.79 ms of 5.0 ms).
    own = min(d.worst["running_ns"], t.metrics["irq"].max_ns) if HANDLER else 0
    assert d.worst["waiting_ns"] >= 0.95 * (d.max_ns - own), t.text
    top = d.top_culprit
    assert top and (top.pid, top.comm, top.prio) == (hog_pid, "prio_hog", 99 - 60), t.text
    assert top.ns >= 0.9 * BURST * US, t.text
    assert top.ns >= 0.5 * d.max_ns, t.text
    # What prio_hog is charged is the time tracefs saw it current on CPU 1
    # in that interval (not its own burst: a guest-time jump between its
    # last clock read and its sleep keeps it on the CPU longer; seen: 4.70
    # ms on the CPU, 4.20 ms its longest burst).
    span, edge, ran = worst_interval_on_cpu(irq_run, "hog", ora, d.max_ns, hog_pid)
    assert abs(top.ns - ran) <= 10 * US + d.max_ns // 200 + edge, \
        (span, f"edge {edge} ns", f"prio_hog on CPU 1: {ran} ns", t.text)
    # Nobody else comes close, except that a guest-time jump while another
    # task held the CPU (the IPI that preempts it waits for its vCPU's
    # turn) charges that task once, up to a jump (seen: khvcd, 1.5 ms).
    others = [c for c in d.culprits[1:] if c.ns >= 0.1 * top.ns]
    assert len(others) <= 1 and all(c.ns <= rtt.JUMP_MAX_NS for c in others), t.text


def test_irq_violations_against_bound(irq_run):
    """violations = samples above the bound: the linear histogram (step
    BOUND/8, so the bound is a bucket edge) counts them independently of
    the violation counter, and tracefs's intervals give them too (+-2:
    intervals within 5 us + 0.5% of the bound, and the icount jumps)."""
    t, ora, _ = phase(irq_run, "hog")
    delays = ora.delays
    d = t.irq_delay
    lin = d.linear
    assert lin and (lin["lo_ns"], lin["step_ns"]) == (0, LIN_STEP), t.text
    above = lin["over"] + sum(n for lo, _, n in lin["buckets"] if lo >= BOUND)
    assert d.violations == above, t.text
    assert d.violations >= 1, t.text
    # Not everything violates: between bursts the thread runs at once.
    assert d.violations < d.count // 2, t.text
    above_ora = sum(1 for v in delays if v > BOUND)
    assert abs(d.violations - above_ora) <= 2, (above_ora, t.text)
    # The irq (handling) bound: activations the hog preempted last a burst.
    # Checked against the log2 histogram (independent of the violation
    # counter): the samples in buckets at or above 2^19 ns exceed the
    # 500 us bound, those below 2^18 do not.
    irqm = t.metrics["irq"]
    sure = sum(n for lo, _, n in irqm.log2 if lo >= 1 << 19)
    maybe = sum(n for lo, _, n in irqm.log2 if lo >= 1 << 18)
    assert 1 <= sure <= irqm.violations <= maybe, t.text
