"""Budget windows through the tools around the module, in the emulated
appliance: RTT_IOC_WINDOW_BIND's contract (win_loop -m bind: the struct's
refusals, EPERM without CAP_SYS_ADMIN, then every spec error and
ENOSPC), the Rust crate rtt-window (its example rtt_window_loop: within and
over budget, nesting, misuse), and on the appliance as shipped the
`rtt-bind` tool and the agent binding windows by function name
(`--window`), streamed to the host and decoded by rtdecode (window_stats,
window_overrun, a finding per window tag)."""
import errno
import re

import pytest

import rtt
from test_e2e import appliance_capture, build_host_and_agent, of_type

WT = "/usr/bin/win_target"
MS, US = 1_000_000, 1_000


def offsets() -> dict:
    return rtt.elf_function_offsets(rtt.BUILD_OUT / "bin" / "win_target")


def bind_lines(off: dict) -> list[tuple[int, str]]:
    """(errno, spec): what RTT_IOC_WINDOW_BIND must answer, in order."""
    a0, a1 = off["step_a_begin"], off["step_a_end"]
    size = (rtt.BUILD_OUT / "bin" / "win_target").stat().st_size
    good = f"p {WT}:{a0:#x} {a1:#x} budget=1000000"
    lines = [
        (0, good),
        (errno.EEXIST, good),
        (errno.ENOENT, "p /nonexistent:0x10 0x20 budget=1000"),
        (errno.ERANGE, f"p {WT}:{size:#x} {a1:#x} budget=1000"),
        (errno.EINVAL, f"p {WT}:{a0:#x}"),
        (errno.EINVAL, f"p {WT}:{a0:#x} {a1:#x} budget=0"),
        (errno.EINVAL, f"p {WT}:{a1:#x} {a1:#x} budget=1000"),
        (errno.EINVAL, "p /sys:0x0 0x4 budget=1000"),
        (errno.EINVAL, f"q {WT}:{a0:#x} {a1:#x} budget=1000"),
        (errno.ENAMETOOLONG, "p /" + "d" * 130 + ":0x10 0x20 budget=1000"),
        (errno.ENOENT, f"-p {WT}:{a1:#x}"),
        (0, f"-p {WT}:{a0:#x}"),
    ]
    # RTT_MAX_BINDINGS (16) of distinct START points, then one more
    starts = sorted(v for k, v in off.items() if v not in (a0, a1))[:17]
    lines += [(0, f"p {WT}:{s:#x} {a1:#x} budget=1000000") for s in starts[:16]]
    lines.append((errno.ENOSPC, f"p {WT}:{starts[16]:#x} {a1:#x} budget=1000000"))
    lines += [(0, f"-p {WT}:{s:#x}") for s in starts[:16]]
    return lines


WITHIN = dict(n=5, budget_us=20_000, work_us=500, sleep_us=0)
OVER = dict(n=3, budget_us=10_000, work_us=200, sleep_us=30_000)


@pytest.fixture(scope="module")
def tools_run():
    build_host_and_agent()
    lines = "\n".join(f"{e} {spec}" for e, spec in bind_lines(offsets())) + "\n"
    w, o = WITHIN, OVER
    run = rtt.run_guest("window_tools", f"""
load_module
win_loop -m bind < /extra/bind.txt > /tmp/bind.out 2>&1
echo "bind status=$?"
section bind cat /tmp/bind.out
section windows-after-bind cat $S/windows
rtt_window_loop {w['n']} {w['budget_us']} {w['work_us']} {w['sleep_us']} > /tmp/rw1.out 2>&1
echo "rw1 status=$?"
rtt_window_loop {o['n']} {o['budget_us']} {o['work_us']} {o['sleep_us']} > /tmp/rw2.out 2>&1
echo "rw2 status=$?"
section rw1 cat /tmp/rw1.out
section rw2 cat /tmp/rw2.out
section tasks cat $S/tasks
section counters sh -c "cat $S/windows_in_use $S/timers_armed"
section dmesg dmesg
""", files={"bind.txt": lines}, timeout=200)
    run.assert_ok()
    return run


def test_bind_ioctl_contract(tools_run):
    """The struct's size and flags, a spec without its NUL, another ioctl
    size, no CAP_SYS_ADMIN: refused; then each spec with its errno
    (EEXIST, ENOENT, ERANGE, EINVAL for a malformed line, budget 0,
    START == STOP, a directory, an unknown verb; ENAMETOOLONG), 16
    bindings and ENOSPC for the 17th, all unbound again; one kernel log
    line per refusal."""
    out = tools_run.section("bind")
    assert "bind status=0" in tools_run.stdout, out
    checks = re.findall(r"^win_loop: check (\S+) (ok|FAIL.*)$", out, re.M)
    assert checks and all(r == "ok" for _, r in checks), checks
    assert {c for c, _ in checks} >= {"bind_size_field", "bind_flags", "bind_no_nul", "bind_ioctl_size",
                                      "bind_eperm"}, checks
    want = bind_lines(offsets())
    got = [(int(m[1]), m[2]) for m in re.finditer(r"^win_loop: bind \d+ errno=(\d+) spec=(.*)$", out, re.M)]
    assert got == want, [(g, w) for g, w in zip(got, want) if g != w]
    assert tools_run.section("windows-after-bind") == "", tools_run.section("windows-after-bind")
    # (another ioctl size is the window ioctls' own refusal, logged as such)
    refused = sum(1 for e, _ in want if e) + 4
    logged = re.findall(r"rt_tracer: windows: (.*)", tools_run.section("dmesg"))
    assert len(logged) == refused, logged
    assert any("needs CAP_SYS_ADMIN" in x for x in logged) and any("already bound" in x for x in logged), logged


def _loop_lines(out):
    return [dict(kv.split("=") for kv in m[1].split())
            for m in re.finditer(r"^rtt_window_loop: i=\d+ (.*)$", out, re.M)]


def test_rust_crate_within_and_over(tools_run):
    """rtt-window's windows: within budget, stop says so; asleep past the
    budget, stop says over with the deadline reported and the time asleep
    on a timer; the module's statistics of the tag agree."""
    r1, r2 = tools_run.section("rw1"), tools_run.section("rw2")
    assert "rw1 status=0" in tools_run.stdout and "rw2 status=0" in tools_run.stdout, r1 + r2
    within, over = _loop_lines(r1), _loop_lines(r2)
    assert len(within) == WITHIN["n"] and len(over) == OVER["n"], (r1, r2)
    for x in within:
        assert (x["over"], x["deadline"], x["depth"]) == ("0", "0", "0"), x
        assert int(x["running_ns"]) >= WITHIN["work_us"] * US // 2, x
    for x in over:
        assert (x["over"], x["deadline"]) == ("1", "1"), x
        d = int(x["duration_ns"])
        assert d >= OVER["sleep_us"] * US and int(x["sleep_timer_ns"]) > d // 2, x
    tasks = tools_run.tasks("tasks")
    for out, case, n_over in ((r1, WITHIN, 0), (r2, OVER, OVER["n"])):
        t = rtt.tracked(tasks, rtt.announced(out)["rtt_window_loop"])
        w = t.windows[0x77]
        # plus the own-file windows of the misuse part, tag 0
        assert (w.count, w.overruns, w.budget_ns) == (case["n"], n_over, case["budget_us"] * US), t.text
    assert tools_run.section("counters").split() == ["0", "0"], tools_run.section("counters")


def test_rust_crate_nesting_and_misuse(tools_run):
    """Nesting counts levels (inner stop: depth 1), the 9th level is
    TooDeep, a stop without a window and one from another thread are
    NotOpen, a zero budget never reaches the kernel, an overrun on the
    crate's own file is counted by overruns()."""
    out = tools_run.section("rw1")
    assert "rtt_window_loop: inner depth=1 over=0" in out, out
    assert "rtt_window_loop: outer depth=0 over=0" in out, out
    assert "stop without start: no window is open in this thread" in out, out
    assert "nested 8 deep, then: windows nest 8 deep at most" in out, out
    assert "stop from another thread: no window is open in this thread" in out, out
    assert "zero budget: a budget must be more than 0 ns" in out, out
    assert "own overrun over=1 deadline=1 taken=1" in out, out
    assert "rtt_window_loop: done" in out, out


# ------------------------------------------------ the appliance as shipped

AGENT_BUDGETS = dict(step_a=10 * MS, step_b=2 * MS)
WT_N = 8
APPLIANCE = rf"""
[ -r /etc/default/rpi-agent ] && . /etc/default/rpi-agent
/etc/init.d/S50rpi-agent stop
i=0
while pidof rpi-agent >/dev/null && [ $i -lt 50 ]; do usleep 100000; i=$((i + 1)); done
pidof rpi-agent >/dev/null && {{ echo "@@@ error rpi-agent did not stop"; exit 3; }}
B={WT}
sec() {{ _n=$1; shift; echo "@@@ begin $_n"; "$@" 2>&1; echo "rc=$?"; echo "@@@ end $_n"; }}
sec resolve rtt-bind resolve $B:step_a_begin step_a_end step_b_begin step_b_end
sec add rtt-bind add $B:step_b_begin step_b_end 2ms
sec dup rtt-bind add $B:step_b_begin step_b_end 2ms
sec nosym rtt-bind add $B:step_b_bgin step_b_end 2ms
win_target -n {WT_N} -a 200 -b 6000 -P 2000 > /tmp/t1.out
sec list1 rtt-bind list
sec del rtt-bind del $B:step_b_begin
sec list2 rtt-bind list
rpi-agent --config /etc/rpi-agent.toml $RPI_AGENT_OPTS \
	--window "$B:step_a_begin,step_a_end,{AGENT_BUDGETS['step_a'] // US}us" \
	--window "$B:step_b_begin,step_b_end,{AGENT_BUDGETS['step_b'] // US}us" \
	>> /tmp/agent.log 2>&1 &
A=$!
i=0
while [ "$(grep -c . /sys/kernel/rt_tracer/windows)" -lt 2 ] && [ $i -lt 100 ]; do usleep 100000; i=$((i + 1)); done
sec list3 rtt-bind list
win_target -n {WT_N} -a 200 -b 6000 -P 2000 > /tmp/t2.out
sleep 3
kill -TERM $A; wait $A
sec list4 rtt-bind list
sec agent cat /tmp/agent.log
sec t2 cat /tmp/t2.out
"""


@pytest.fixture(scope="module")
def appliance():
    return appliance_capture("window-tools", APPLIANCE, timeout=120, host_timeout=180)


def sec(run, name):
    m = re.search(rf"^@@@ begin {name}\n(.*?)^@@@ end {name}$", run["stdout"], re.S | re.M)
    assert m, f"no section {name} {run['where']}"
    return m[1]


def test_rtt_bind_tool(appliance):
    """rtt-bind on the target: names resolve to the file offsets the ELF
    gives, a window binds by name and counts its probes, a duplicate and a
    misspelt function are refused with what to do, del unbinds."""
    assert appliance["status"] == 0, appliance["where"]
    off = offsets()
    res = sec(appliance, "resolve")
    for f in ("step_a_begin", "step_a_end", "step_b_begin", "step_b_end"):
        assert f"{WT}:{f} {off[f]:#x}" in res, res
    assert f"bound: p {WT}:{off['step_b_begin']:#x} {off['step_b_end']:#x} budget=2000000\nrc=0" in \
        sec(appliance, "add"), sec(appliance, "add")
    dup = sec(appliance, "dup")
    assert "File exists" in dup and "rtt-bind del" in dup and "rc=1" in dup, dup
    nosym = sec(appliance, "nosym")
    assert "no function `step_b_bgin`" in nosym and "rc=1" in nosym, nosym
    lst = sec(appliance, "list1")
    assert f":{off['step_b_begin']:#x} " in lst and f"starts={WT_N} stops={WT_N} " in lst, lst
    assert "rc=0" in sec(appliance, "del") and sec(appliance, "list2") == "rc=0\n", sec(appliance, "list2")


def test_agent_binds_by_name_and_unbinds_at_exit(appliance):
    """The agent's --window: both bound while it runs, with their budgets;
    none left after it stopped."""
    off = offsets()
    lst = sec(appliance, "list3")
    for f, b in AGENT_BUDGETS.items():
        assert f"{WT}:{off[f + '_begin']:#x} {off[f + '_end']:#x} budget={b} " in lst, lst
    assert sec(appliance, "list4") == "rc=0\n", sec(appliance, "list4")
    log = sec(appliance, "agent")
    assert log.count("window bound:") == 2 and log.count("window unbound:") == 2, log


def test_windows_reach_the_host(appliance):
    """Through the agent's frames: per binding a window_stats line of
    win_target with its START offset as tag (every window counted, step b
    over its 2 ms each time), window_overrun lines for step b at deadline
    and stop, and a violated finding for it that explains its longest."""
    off = offsets()
    objs = appliance["objs"]
    pid = rtt.announced(sec(appliance, "t2"))["win_target"]
    stats = {}
    for o in of_type(objs, "window_stats"):
        if o["task"]["pid"] == pid:
            stats[o["window_tag"]] = o["stats"]      # the last one wins
    a, b = stats.get(off["step_a_begin"]), stats.get(off["step_b_begin"])
    assert a and b, f"{stats.keys()} {appliance['where']}"
    assert (b["count"], b["violations"], b["bound_ns"]) == (WT_N, WT_N, AGENT_BUDGETS["step_b"]), b
    assert a["count"] == WT_N and a["violations"] <= 1 and a["bound_ns"] == AGENT_BUDGETS["step_a"], a
    ovr = [o for o in of_type(objs, "window_overrun")
           if o["task"]["pid"] == pid and o["window_tag"] == off["step_b_begin"]]
    assert {o["at"] for o in ovr} == {"deadline", "stop"}, ovr
    for o in ovr:
        assert o["duration_ns"] > o["budget_ns"] == AGENT_BUDGETS["step_b"], o
    f = [o for o in of_type(objs, "finding")
         if o["metric"] == "window" and o["task"]["pid"] == pid and o["window_tag"] == off["step_b_begin"]]
    assert len(f) == 1 and f[0]["verdict"] == "violated" and f[0]["violations"] == WT_N, f
    # its cause is the longest overrun's: win_target (SCHED_OTHER) runs
    # its 6 ms, or waits while another task (the agent itself, say) has
    # the CPU; whichever dominates, the finding says it and names who ran
    longest = max(ovr, key=lambda o: o["duration_ns"])
    assert f[0]["worst_ns"] == longest["duration_ns"], (f[0], longest)
    parts = {k: v for k, v in longest["breakdown"].items() if k != "sleeping_ns"}   # (their sum)
    part = max(parts, key=lambda k: parts[k]).removesuffix("_ns")
    cause = f[0]["cause"]
    assert cause["part"] == part, (cause, longest["breakdown"])
    if part == "running":
        assert cause["key"] == "own_work", cause
    else:
        assert part == "waiting" and cause["key"] in ("cpu_held", "preempted_by_higher_prio"), cause
        assert cause["culprit"]["comm"] == longest["culprits"][0]["comm"], (cause, longest["culprits"])
