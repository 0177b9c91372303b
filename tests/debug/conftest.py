"""The debug tier's own tests (scripts/check --debug): they boot the debug
kernel (scripts/build-kernel --variant debug) whatever else is selected,
with the VM harness of tests/vm (rtt.py)."""
import os
import sys
from pathlib import Path

import pytest

# rtt reads RTT_KERNEL when imported: these tests mean the debug kernel.
if os.environ.setdefault("RTT_KERNEL", "debug") != "debug":
    raise pytest.UsageError(f"tests/debug runs on the debug kernel, not RTT_KERNEL={os.environ['RTT_KERNEL']}")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "vm"))
import rtt  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def built():
    """Our modules and the workloads, against the debug kernel (vm-run
    --no-build boots what build/ARCH-debug holds)."""
    rtt.build_for(rtt.ARCH)
