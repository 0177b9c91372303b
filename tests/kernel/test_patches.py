"""kernel-patches/linux/*.patch: form (git format-patch, Signed-off-by,
Upstream:) and that each applies cleanly to Debian's linux-source-6.12, with
`git apply --check` and `patch -p1 --dry-run`, as Buildroot applies them.

Only the files the patches touch are extracted from the tarball, once per
source version, into $RT_CACHE/kernel/patch-check/<version>/."""

import os
import re
import subprocess
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PATCHES = sorted((ROOT / "kernel-patches" / "linux").glob("*.patch"))
TARBALL = Path("/usr/src/linux-source-6.12.tar.xz")
CACHE = Path(os.environ.get("RT_CACHE", "/var/cache/rt-tracer"))


def touched(patch):
    """Paths an existing file of the tree must provide (not new files)."""
    paths = set()
    for m in re.finditer(r"^--- a/(\S+)$", patch.read_text(), re.M):
        paths.add(m.group(1))
    return sorted(paths)


def src_version():
    return subprocess.run(
        ["dpkg-query", "-W", "-f", "${Version}", "linux-source-6.12"],
        check=True, capture_output=True, text=True).stdout


@pytest.fixture(scope="module")
def tree():
    if not TARBALL.exists():
        pytest.fail(f"{TARBALL} missing: run scripts/setup")
    wanted = sorted({p for patch in PATCHES for p in touched(patch)})
    top = "linux-source-6.12"
    dest = CACHE / "kernel" / "patch-check" / src_version()
    if not all((dest / p).exists() for p in wanted):
        dest.mkdir(parents=True, exist_ok=True)
        subprocess.run(["tar", "-xJf", str(TARBALL), "-C", str(dest),
                        "--strip-components=1"] + [f"{top}/{p}" for p in wanted],
                       check=True)
    return dest


def test_there_are_patches():
    assert PATCHES, "kernel-patches/linux/ has no patch"


@pytest.mark.parametrize("patch", PATCHES, ids=lambda p: p.name)
def test_patch_form(patch):
    text = patch.read_text()
    head, _, _ = text.partition("\n---\n")
    assert re.match(r"From [0-9a-f]{40} ", text), "not git format-patch output"
    assert re.search(r"^From: .+ <.+>$", head, re.M)
    assert re.search(r"^Date: ", head, re.M)
    assert re.search(r"^Subject: \[PATCH\] ", head, re.M)
    assert re.search(r"^Signed-off-by: rt-tracer developers <.+>$", head, re.M)
    # Buildroot's patch policy: the upstream status of every patch.
    assert re.search(r"^Upstream: \S", head, re.M)


@pytest.mark.parametrize("patch", PATCHES, ids=lambda p: p.name)
def test_git_apply_check(tree, patch):
    r = subprocess.run(["git", "apply", "--check", "-v", str(patch)],
                       cwd=tree, capture_output=True, text=True)
    assert r.returncode == 0, r.stderr


@pytest.mark.parametrize("patch", PATCHES, ids=lambda p: p.name)
def test_patch_dry_run(tree, patch):
    r = subprocess.run(["patch", "-p1", "--dry-run", "-F0", "-i", str(patch)],
                       cwd=tree, capture_output=True, text=True)
    assert r.returncode == 0, r.stdout + r.stderr
    assert "offset" not in r.stdout and "fuzz" not in r.stdout, r.stdout


def test_tracepoint_names():
    """The event names are a contract with rt_tracer.ko."""
    text = "".join(p.read_text() for p in PATCHES)
    assert "#define TRACE_SYSTEM irq_thread" in text
    assert "TRACE_EVENT(irq_thread_handler_entry," in text
    assert "TRACE_EVENT(irq_thread_handler_exit," in text
    assert "TP_PROTO(int irq, struct irqaction *action)," in text
    assert "TP_PROTO(int irq, struct irqaction *action, irqreturn_t ret)," in text
