"""VM suite setup: build the module and the workloads once per session with
the harness's own build functions (scripts/lib/build.sh); every boot then runs
`vm-run --no-build`. RTT_ARCH=x86_64 selects the other guest (default aarch64).
RTT_VM_NO_BUILD=1 skips the build (use what build/<arch>/ holds)."""
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))
import rtt  # noqa: E402


@pytest.fixture(scope="session", autouse=True)
def built():
    rtt.build_for(rtt.ARCH)


@pytest.fixture(scope="session")
def hb_run():
    """The hidden-blocking boot, shared by test_classic and test_oracle."""
    return rtt.hidden_block_scenario("hidden_blocking")
