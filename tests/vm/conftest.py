"""VM suite setup: build the module and the workloads once per session with
the harness's own build functions (scripts/lib/build.sh); every boot then runs
`vm-run --no-build`. RTT_ARCH=x86_64 selects the other guest (default aarch64).
RTT_VM_NO_BUILD=1 skips the build (use what build/<arch>/ holds)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import rtt  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def built():
    if os.environ.get("RTT_VM_NO_BUILD") == "1":
        return
    script = (f'. "{rtt.REPO}/scripts/lib/common.sh" && . "{rtt.REPO}/scripts/lib/build.sh" && '
              f"build_modules {rtt.ARCH} && build_workloads {rtt.ARCH}")
    p = subprocess.run(["bash", "-c", script], capture_output=True, text=True, cwd=rtt.REPO)
    assert p.returncode == 0, f"building the module/workloads failed:\n{p.stdout}\n{p.stderr}"
