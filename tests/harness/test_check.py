"""scripts/check itself: a component that goes missing fails its step.

The check scripts are copied into an otherwise empty tree, so every
component the steps below test is missing there; each step must say FAIL,
and its log must name what is missing, instead of passing by skipping.
"""
import re
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
STEPS = {
    # step: what its log must mention
    "rust-fuzz-smoke": "fuzz-smoke.sh",
    "module-checkpatch": "rt-tracer-module",
    "module-core-unit": "rt-tracer-module/tests",
    "vm-scenarios": "tests/vm",
    "decoder-tests": "tests/decoder",
}


def test_missing_components_fail_their_steps(tmp_path):
    shutil.copytree(ROOT / "scripts", tmp_path / "scripts")
    # scripts/check --only runs setup too; setup needs only the machine.
    args = [str(tmp_path / "scripts" / "check")]
    for s in STEPS:
        args += ["--only", s]
    r = subprocess.run(args, capture_output=True, text=True, errors="replace", timeout=600)
    out = r.stdout + r.stderr
    assert r.returncode != 0, out
    assert re.search(rf"^1 passed, {len(STEPS)} failed$", r.stdout, re.M), out
    for step, missing in STEPS.items():
        assert re.search(rf"^{re.escape(step)}\s+FAIL", r.stderr, re.M), f"{step} did not fail\n{out}"
        log = (tmp_path / "build" / "check" / f"{step}.log").read_text(errors="replace")
        assert missing in log, f"{step}'s log does not name {missing}\n{log}"
