"""Proof that the debug kernel tier catches what it exists for (issue 13).

Each module of bugs/ has one deliberate bug. They are built here, against
the debug kernel, into a temporary directory and handed to one guest each
through /extra: never installed, never part of the appliance. Each gets its
own boot, because a lockdep report turns lockdep off for the rest of the
boot. The test fails unless the right checker reports the bug and names
the module in the report.
"""
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

import pytest

import rtt

BUGS = Path(__file__).resolve().parent / "bugs"

# module -> (what the checker prints, the line the module prints once its
# buggy path ran). The first report of each kind is enough.
CAUGHT = {
    # DEBUG_ATOMIC_SLEEP (rt_spin_lock might sleep) or lockdep's wait-type
    # check (PROVE_RAW_LOCK_NESTING: spinlock_t under the raw rq lock)
    "rtt_bug_sleep_in_probe": (
        r"BUG: sleeping function called from invalid context|\[ BUG: Invalid wait context \]",
        r"rtt_bug_sleep_in_probe: took a spinlock_t in [1-9]\d* sched_switch probes"),
    "rtt_bug_lock_order": (
        r"WARNING: possible circular locking dependency detected",
        r"rtt_bug_lock_order: took a/b in both orders \(2\)"),
    # lib/debugobjects.c debug_print_object(): hrtimer's descriptor is
    # named "hrtimer", its hint is the timer's function
    "rtt_bug_armed_free": (
        r"ODEBUG: free active \(active state \d+\) object: \S+ object type: hrtimer hint: bug_fn",
        r"rtt_bug_armed_free: freed an armed hrtimer"),
    # KASAN; or KFENCE when its sampling (one allocation per 100 ms) took
    # this one: seen once in six boots, and just as much a catch
    "rtt_bug_uaf": (
        r"BUG: KASAN: slab-use-after-free in bug_init|BUG: KFENCE: use-after-free read in bug_init",
        r"rtt_bug_uaf: read -?\d+ from freed memory"),
}


@pytest.fixture(scope="module")
def bug_modules():
    """The bug modules built against the debug kernel, W=1, -Werror
    (their Kbuild): {name: .ko bytes}."""
    with tempfile.TemporaryDirectory(prefix="rtt-bugs-") as tmp:
        src = Path(tmp) / "bugs"
        shutil.copytree(BUGS, src)
        script = (f'. "{rtt.REPO}/scripts/lib/common.sh" && '
                  f'read -ra a <<<"$(kernel_make_args {rtt.ARCH})" && '
                  f'make -C "$(kernel_headers {rtt.ARCH})" "${{a[@]}}" M="{src}" W=1 modules')
        p = subprocess.run(["bash", "-c", script], capture_output=True, text=True,
                           env=dict(rtt.os.environ, RT_KERNEL="debug"))
        assert p.returncode == 0, f"building the bug modules failed:\n{p.stdout}\n{p.stderr}"
        assert "warning:" not in p.stdout + p.stderr, p.stdout + p.stderr
        kos = {name: (src / f"{name}.ko").read_bytes() for name in CAUGHT}
    assert set(kos) == {f.stem for f in BUGS.glob("*.c")}, "a bug module without a CAUGHT entry"
    return kos


@pytest.mark.parametrize("name", sorted(CAUGHT))
def test_debug_kernel_catches(bug_modules, name):
    report, done = CAUGHT[name]
    run = rtt.run_guest(f"bug_{name}", f"""
echo "guest=$(uname -r)"
insmod /extra/{name}.ko
echo "@@@ insmod rc=$?"
sleep 1
section dmesg dmesg
""", files={f"{name}.ko": bug_modules[name]}, timeout=120, kernel_check=False)
    assert run.status == 0, run.describe()
    assert "@@@ insmod rc=0" in run.stdout, run.describe()
    klog = run.uart + "\n" + run.section("dmesg")
    assert re.search(done, klog), f"{name}'s buggy path did not run\n{run.describe()}"
    m = re.search(report, klog)
    assert m, f"the debug kernel did not report {name}: no /{report}/\n{run.describe(120)}"
    # The report is about the module: its backtrace or lock names name it.
    after = klog[m.start():m.start() + 6000]
    assert f"[{name}]" in after, f"the report does not name {name}\n{after}"
    # and the harness's own check sees it as a problem
    assert rtt.kernel_problems(after), after
