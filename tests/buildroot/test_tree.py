"""The Buildroot external tree at the repository root, checked without a
Buildroot checkout: its Kconfig files parse with a real Kconfig parser
(kconfiglib) with every symbol they use defined, each package has the
files Buildroot needs, the crates list matches Cargo.lock, and the
defconfig points at files that exist. scripts/check --buildroot checks
the tree against a real Buildroot."""
import re
import subprocess
from pathlib import Path

import kconfiglib
import pytest

ROOT = Path(__file__).resolve().parents[2]
PKG = ROOT / "package"
DEFCONFIG = ROOT / "configs" / "rpi4_rt_tracer_defconfig"
OVERLAY = ROOT / "board" / "rpi4-rt-tracer" / "rootfs-overlay"

# The Buildroot symbols our Config.in files depend on or select, as
# Buildroot defines them (package/rustc/Config.in.host, linux/Config.in,
# toolchain/Config.in). Any other symbol must be one of ours.
BUILDROOT_SYMBOLS = """
config BR2_LINUX_KERNEL
	bool
config BR2_TOOLCHAIN_HAS_THREADS
	bool
config BR2_PACKAGE_HOST_RUSTC_ARCH_SUPPORTS
	bool
config BR2_PACKAGE_HOST_RUSTC_TARGET_ARCH_SUPPORTS
	bool
config BR2_PACKAGE_HOST_RUSTC
	bool
"""

PACKAGES = sorted(p.name for p in PKG.iterdir() if p.is_dir())


def mk_var(pkg, var):
    """Value of VAR (e.g. SITE_METHOD) in package PKG's .mk, or None."""
    text = (PKG / pkg / f"{pkg}.mk").read_text()
    name = pkg.upper().replace("-", "_")
    m = re.search(rf"^(?:HOST_)?{name}_{var}\s*=\s*(.*)$", text, re.M)
    return m.group(1).strip() if m else None


@pytest.fixture(scope="module")
def kconf(tmp_path_factory, monkeypatch_module):
    top = tmp_path_factory.mktemp("kconfig") / "Kconfig"
    top.write_text(BUILDROOT_SYMBOLS + f'\nsource "{ROOT}/Config.in"\n')
    monkeypatch_module.setenv("BR2_EXTERNAL_RT_TRACER_PATH", str(ROOT))
    return kconfiglib.Kconfig(str(top), warn_to_stderr=False)


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def test_external_desc():
    desc = dict(line.split(":", 1) for line in
                (ROOT / "external.desc").read_text().splitlines() if line)
    assert desc["name"].strip() == "RT_TRACER"
    assert re.fullmatch(r"[A-Za-z0-9_]+", desc["name"].strip())
    assert desc["desc"].strip()


def test_config_in_parses_without_warnings(kconf):
    assert kconf.warnings == []


def test_every_symbol_is_defined(kconf):
    # (kconfiglib's own MODULES symbol is not one Buildroot has.)
    undefined = sorted(s.name for s in kconf.syms.values()
                       if not s.nodes and s is not kconf.modules)
    assert undefined == []


def test_every_package_is_in_the_menu(kconf):
    files = {Path(f).resolve() for f in kconf.kconfig_filenames}
    for pkg in PACKAGES:
        cfgs = [PKG / pkg / n for n in ("Config.in", "Config.in.host")
                if (PKG / pkg / n).exists()]
        if pkg == "rt-tracer-crates":
            # A host package other packages depend on, never selected by
            # the user (as Buildroot's own dependency-only host packages).
            assert cfgs == []
            continue
        assert cfgs, f"{pkg} has no Config.in"
        for c in cfgs:
            assert c.resolve() in files, f"{c} is not sourced from Config.in"


@pytest.mark.parametrize("pkg", PACKAGES)
def test_package_files(pkg):
    assert (PKG / pkg / f"{pkg}.mk").is_file()
    method = mk_var(pkg, "SITE_METHOD")
    if method == "local":
        site = mk_var(pkg, "SITE")
        assert site.startswith("$(BR2_EXTERNAL_RT_TRACER_PATH)")
        path = ROOT / site.removeprefix("$(BR2_EXTERNAL_RT_TRACER_PATH)").lstrip("/")
        assert path.is_dir(), f"{pkg}: {site} does not exist"
    else:
        assert (PKG / pkg / f"{pkg}.hash").is_file(), f"{pkg} downloads but has no .hash"


def test_defconfig_symbols_of_ours_exist(kconf):
    for line in DEFCONFIG.read_text().splitlines():
        m = re.match(r"(BR2_PACKAGE_(?:HOST_)?(?:RT_TRACER|RPI_AGENT|RTDECODE)\w*)=", line)
        if m:
            assert m.group(1) in kconf.syms and kconf.syms[m.group(1)].nodes, line


def test_defconfig_paths_exist():
    paths = re.findall(r"\$\(BR2_EXTERNAL_RT_TRACER_PATH\)/([^\s\"]+)", DEFCONFIG.read_text())
    assert paths
    for p in paths:
        assert (ROOT / p).exists(), p


def test_overlay_has_no_inittab():
    # Buildroot generates /etc/inittab with the serial getty line.
    assert not (OVERLAY / "etc" / "inittab").exists()


def test_crates_match_cargo_lock():
    r = subprocess.run([str(ROOT / "scripts" / "br-crates"), "--check"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    inc = (PKG / "rt-tracer-crates" / "crates.inc").read_text()
    downloads = sorted(Path(c).name for c in re.findall(r"\S+\.crate", inc))
    hashed = sorted(line.split()[2] for line in
                    (PKG / "rt-tracer-crates" / "rt-tracer-crates.hash").read_text().splitlines()
                    if line.startswith("sha256"))
    assert downloads == hashed and len(downloads) > 50


def test_pi_agent_is_built_with_its_gpio_backend():
    # cargo install builds again: a feature only in BUILD_OPTS would be lost.
    assert mk_var("rpi-agent", "CARGO_FEATURES") == "--features rpi"
    for var in ("CARGO_BUILD_OPTS", "CARGO_INSTALL_OPTS"):
        assert "$(RPI_AGENT_CARGO_FEATURES)" in mk_var("rpi-agent", var).split(), var
    toml = (ROOT / "rpi-agent" / "crates" / "rpi-agent" / "Cargo.toml").read_text()
    assert re.search(r'^rpi = \["dep:rpi-pal"\]$', toml, re.M)
    # The offline stand-in of the Buildroot tier and CI's aarch64 build do the same.
    br = (ROOT / "scripts" / "lib" / "buildroot.sh").read_text()
    assert "local feat=(--features rpi)" in br and br.count('"${feat[@]}"') == 2
    check = (ROOT / "scripts" / "check").read_text()
    assert re.search(r"agent-build-aarch64 .*\n.*-p rpi-agent --features rpi$", check, re.M)


def test_kernel_tarball_has_our_hash():
    m = re.search(r'^BR2_LINUX_KERNEL_CUSTOM_TARBALL_LOCATION=".*/([^/"]+)"$',
                  DEFCONFIG.read_text(), re.M)
    assert m
    hashes = (ROOT / "kernel-patches" / "linux" / "linux.hash").read_text().split()
    assert m.group(1) in hashes
    assert re.fullmatch(r"[0-9a-f]{64}", hashes[hashes.index(m.group(1)) - 1])
