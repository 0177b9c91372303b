"""Tests of scripts/vm-run itself: status propagation, streams, timeout,
--extra, --uart and the kernel-log check, against real QEMU guests."""
import os
import subprocess
import time
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VM_RUN = ROOT / "scripts" / "vm-run"


def vm_run(*args, timeout=180):
    return subprocess.run([str(VM_RUN), *args], capture_output=True, text=True,
                          errors="replace", timeout=timeout)


@pytest.fixture(scope="session", autouse=True)
def built():
    """Build once; every test below boots with --no-build."""
    r = vm_run("--bare", "--timeout", "120", "--", "true", timeout=1800)
    assert r.returncode == 0, r.stderr


def test_exit_status_and_streams_propagate():
    r = vm_run("--bare", "--no-build", "--", "echo out-line; echo err-line >&2; exit 7")
    assert r.returncode == 7
    assert r.stdout.splitlines() == ["out-line"]
    assert "err-line" in r.stderr.splitlines()


def test_nonexistent_command_fails():
    r = vm_run("--bare", "--no-build", "--", "no-such-command-xyz")
    assert r.returncode == 127
    assert "not found" in r.stderr


def test_appliance_boots_rt_kernel_with_tracer_loaded():
    r = vm_run("--no-build", "--", "cat /sys/kernel/realtime; lsmod; test -d /sys/kernel/rt_tracer")
    assert r.returncode == 0, r.stderr
    lines = r.stdout.splitlines()
    assert lines[0] == "1"
    assert any(line.split()[0] == "rt_tracer" for line in lines[1:] if line.strip())


def test_bare_starts_nothing():
    r = vm_run("--bare", "--no-build", "--", "lsmod; pidof rpi-agent || echo no-agent")
    assert r.returncode == 0
    assert "rt_tracer" not in r.stdout
    assert "no-agent" in r.stdout


def test_extra_dir_appears_in_guest(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / "data.txt").write_text("payload 42\n")
    r = vm_run("--bare", "--no-build", "--extra", str(tmp_path), "--", "cat /extra/sub/data.txt")
    assert r.returncode == 0
    assert r.stdout == "payload 42\n"


def test_extra_must_be_a_directory(tmp_path):
    r = vm_run("--bare", "--no-build", "--extra", str(tmp_path / "missing"), "--", "true")
    assert r.returncode == 2
    assert "not a directory" in r.stderr


def test_uart_capture_holds_kernel_log_and_guest_bytes(tmp_path):
    uart = tmp_path / "uart.bin"
    r = vm_run("--bare", "--no-build", "--uart", str(uart), "--",
               "printf 'marker-\\001\\377-end' > /dev/ttyAMA0")
    assert r.returncode == 0
    data = uart.read_bytes()
    # Kernel log (loglevel=5 keeps boot notices off the console) and the
    # guest's raw bytes, in order: marker before the power-down message.
    assert b"marker-\x01\xff-end" in data
    assert data.index(b"marker-\x01\xff-end") < data.index(b"reboot: Power down")


def test_timeout_kills_hung_guest():
    t0 = time.monotonic()
    r = vm_run("--bare", "--no-build", "--timeout", "6", "--", "sleep 600")
    assert r.returncode == 124
    assert "did not finish within 6s" in r.stderr
    assert time.monotonic() - t0 < 30


def test_kernel_check_catches_warnings():
    cmd = "echo 'WARNING: CPU: 0 PID: 1 at injected by test' > /dev/kmsg"
    assert vm_run("--bare", "--no-build", "--", cmd).returncode == 0
    r = vm_run("--bare", "--no-build", "--kernel-check", "--", cmd)
    assert r.returncode == 125
    assert "injected by test" in r.stderr


def test_bad_usage():
    r = vm_run("--frobnicate", "--", "true")
    assert r.returncode == 2
    assert "unknown option" in r.stderr
    assert vm_run("--bare").returncode == 2


def test_built_kernel_flavours_need_their_build(tmp_path):
    """--kernel patched and debug boot what scripts/build-kernel built: with
    nothing built (an empty cache) vm-run refuses, naming the build, rather
    than booting some other kernel."""
    env = dict(os.environ, RT_CACHE=str(tmp_path))
    for kernel, variant in (("patched", "virt-rt"), ("debug", "debug")):
        for arch in ("aarch64", "x86_64"):
            r = subprocess.run([str(VM_RUN), "--arch", arch, "--kernel", kernel, "--no-build", "--", "true"],
                               capture_output=True, text=True, env=env, timeout=60)
            assert r.returncode == 1, r.stderr
            assert f"the {kernel} kernel is not built: run scripts/build-kernel --arch {arch} " \
                f"--variant {variant}" in r.stderr
    assert vm_run("--kernel", "bogus", "--", "true").returncode == 2


def test_x86_64_guest():
    r = vm_run("--arch", "x86_64", "--bare", "--timeout", "120", "--",
               "uname -m; cat /sys/kernel/realtime", timeout=1800)
    assert r.returncode == 0, r.stderr
    assert r.stdout.split() == ["x86_64", "1"]
