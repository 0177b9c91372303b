# The opt-in Buildroot tier of scripts/check (--buildroot): the external
# tree checked against a real Buildroot checkout, offline, and what of the
# image this machine can build with Buildroot's own machinery or the very
# commands its package infrastructures run. Sourced after common.sh.
#   BUILDROOT=/path/to/buildroot scripts/check --buildroot
# shellcheck shell=bash

BR_WORK="$RT_BUILD/buildroot"
BR_OUT="$BR_WORK/out"
BR_DL="$BR_WORK/dl"
BR_DEFCONFIG="$RT_ROOT/configs/rpi4_rt_tracer_defconfig"
# Debian's kernel source, the stand-in for the Pi kernel tarball (which
# cannot be downloaded here) when checking the kernel fragment.
BR_LINUX_TARBALL=${BR_LINUX_TARBALL:-/usr/src/linux-source-6.12.tar.xz}

br_require() {
	[ -n "${BUILDROOT:-}" ] || { echo "BUILDROOT is not set (BUILDROOT=/path scripts/check --buildroot)"; return 1; }
	if [ ! -f "$BUILDROOT/Makefile" ] || [ ! -x "$BUILDROOT/utils/check-package" ]; then
		echo "BUILDROOT=$BUILDROOT is not a Buildroot checkout"
		return 1
	fi
}

br_make() { make -C "$BUILDROOT" O="$1" BR2_DL_DIR="$BR_DL" "${@:2}"; }

# Host tar older than 1.35 (Debian 12 has 1.34) makes Buildroot build
# host-tar first, whose source cannot be downloaded here. For the offline
# steps only, extract with the host's tar.
br_tar_override() {
	local v
	v=$(tar --version | sed -n '1s/.* \([0-9]*\.[0-9]*\).*/\1/p')
	if [ "$(printf '%s\n' "$v" 1.35 | sort -V | head -n1)" != 1.35 ]; then
		echo "BR2_TAR_HOST_DEPENDENCY= TAR=tar"
	fi
}

# Every line of the defconfig is in .config: Kconfig silently drops unknown
# symbols and symbols whose dependencies are not met.
br_defconfig() {
	br_require || return 1
	rm -rf "$BR_OUT"
	mkdir -p "$BR_DL"
	br_make "$BR_OUT" BR2_EXTERNAL="$RT_ROOT" rpi4_rt_tracer_defconfig || return 1
	local line lost=0
	while IFS= read -r line; do
		[ -n "$line" ] || continue
		grep -qxF -- "$line" "$BR_OUT/.config" || { echo "dropped from .config: $line"; lost=1; }
	done <"$BR_DEFCONFIG"
	[ $lost = 0 ] || return 1
	grep -qx "BR2_EXTERNAL_RT_TRACER_PATH=\"$RT_ROOT\"" "$BR_OUT/.config" || return 1
	# savedefconfig writes to BR2_DEFCONFIG: never over the external one.
	br_make "$BR_OUT" savedefconfig BR2_DEFCONFIG="$BR_WORK/saved_defconfig" || return 1
	echo "Buildroot $(br_make "$BR_OUT" -s print-version): $(grep -c . "$BR_DEFCONFIG") defconfig lines, all in .config"
	echo "lines savedefconfig would drop as defaults:"
	grep -vxF -f "$BR_WORK/saved_defconfig" "$BR_DEFCONFIG" || echo "  (none)"
}

br_check_package() {
	br_require || return 1
	local files=()
	mapfile -t files < <(cd "$RT_ROOT" && ls external.desc external.mk Config.in configs/* \
		package/*/* board/rpi4-rt-tracer/rootfs-overlay/etc/init.d/* kernel-patches/linux/*)
	[ ${#files[@]} -gt 5 ] || return 1
	local out
	out=$(cd "$RT_ROOT" && "$BUILDROOT/utils/check-package" -b "${files[@]}" 2>&1) || { echo "$out"; return 1; }
	echo "$out"
	echo "$out" | grep -qx '0 warnings generated'
}

# make show-info: our packages, with the dependencies they must have.
br_show_info() {
	br_require || return 1
	[ -f "$BR_OUT/.config" ] || br_defconfig >/dev/null || return 1
	br_make "$BR_OUT" -s show-info >"$BR_WORK/show-info.json" || return 1
	python3 - "$BR_WORK/show-info.json" <<'PY'
import json, sys
info = json.load(open(sys.argv[1]))
want = {
    "rt-tracer-module": {"linux", "toolchain"},
    "rpi-agent": {"host-rt-tracer-crates", "host-rustc", "toolchain"},
    "host-rtdecode": {"host-rt-tracer-crates", "host-rustc"},
    "rt-tracer-workloads": {"toolchain"},
    "host-rt-tracer-crates": set(),
}
bad = 0
for pkg, deps in want.items():
    if pkg not in info:
        print(f"{pkg}: not in show-info"); bad = 1; continue
    have = set(info[pkg].get("dependencies", []))
    print(f"{pkg}: {info[pkg]['type']}, depends on {', '.join(sorted(have))}")
    if not deps <= have:
        print(f"  missing: {', '.join(sorted(deps - have))}"); bad = 1
for k in ("linux", "rpi-firmware", "kmod"):
    if k not in info:
        print(f"{k}: not in show-info"); bad = 1
sys.exit(bad)
PY
}

# host-rt-tracer-crates built by Buildroot, offline: its downloads are
# seeded from cargo's own cache (cargo fetch --locked, the network step),
# then Buildroot checks every hash and lays out the cargo directory source.
br_crates() {
	br_require || return 1
	[ -f "$BR_OUT/.config" ] || br_defconfig >/dev/null || return 1
	(cd "$RT_ROOT/rpi-agent" && cargo fetch --locked --quiet) || return 1
	local cache n
	cache=$(find "${CARGO_HOME:-$HOME/.cargo}"/registry/cache -maxdepth 1 -name 'index.crates.io-*' | sort | head -n1)
	mkdir -p "$BR_DL/rt-tracer-crates"
	n=0
	while read -r f; do
		cp -n "$cache/$f" "$BR_DL/rt-tracer-crates/" || return 1
		n=$((n + 1))
	done < <(sed -n 's/^sha256 *[0-9a-f]* *//p' "$RT_ROOT/package/rt-tracer-crates/rt-tracer-crates.hash")
	echo "seeded $n crates from $cache"
	# shellcheck disable=SC2046 # words by design
	br_make "$BR_OUT" $(br_tar_override) host-rt-tracer-crates-dirclean host-rt-tracer-crates || return 1
	n=$(find "$BR_OUT/host/share/rt-tracer/vendor" -name .cargo-checksum.json | wc -l)
	echo "vendor directory: $n crates"
	[ "$n" -gt 50 ]
}

# What package/pkg-cargo.mk runs for rpi-agent (target) and host-rtdecode:
# the same rsync exclusions, environment and cargo commands, with an empty
# CARGO_HOME and the vendor directory br_crates made. Stand-ins: the
# rustup toolchain for host-rust-bin, Debian's cross gcc for Buildroot's.
br_cargo_offline() {
	br_require || return 1
	local vendor="$BR_OUT/host/share/rt-tracer/vendor" src="$BR_WORK/cargo-src" home="$BR_WORK/cargo-home"
	[ -d "$vendor" ] || br_crates || return 1
	rm -rf "$src" "$home" "$BR_WORK/target" "$BR_WORK/host"
	mkdir -p "$home"
	rsync -a --exclude /target --exclude /fuzz --exclude /.cargo "$RT_ROOT/rpi-agent/" "$src/"
	local vopts=(--config 'source.crates-io.replace-with="rt-tracer-vendor"'
		--config "source.rt-tracer-vendor.directory=\"$vendor\"")
	local env_t=(CARGO_HOME="$home" __CARGO_TEST_CHANNEL_OVERRIDE_DO_NOT_USE_THIS=nightly
		CARGO_UNSTABLE_HOST_CONFIG=true CARGO_UNSTABLE_TARGET_APPLIES_TO_HOST=true
		CARGO_TARGET_APPLIES_TO_HOST=false CARGO_BUILD_TARGET=aarch64-unknown-linux-gnu
		CARGO_TARGET_AARCH64_UNKNOWN_LINUX_GNU_LINKER=aarch64-linux-gnu-gcc
		CARGO_PROFILE_RELEASE_INCREMENTAL=false CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16
		CARGO_PROFILE_RELEASE_OPT_LEVEL=2 CARGO_PROFILE_RELEASE_LTO=false
		CARGO_PROFILE_RELEASE_DEBUG=0)
	# RPI_AGENT_CARGO_FEATURES of package/rpi-agent/rpi-agent.mk.
	local feat=(--features rpi)
	(cd "$src/crates/rpi-agent" &&
		env "${env_t[@]}" cargo build --offline --release --manifest-path Cargo.toml --locked "${vopts[@]}" "${feat[@]}" &&
		env "${env_t[@]}" cargo install --offline --root "$BR_WORK/target/usr/" --bins --path ./ \
			--no-track --force --locked -Z target-applies-to-host "${vopts[@]}" "${feat[@]}") || return 1
	(cd "$src/crates/rtdecode" &&
		env CARGO_HOME="$home" cargo build --offline --release --manifest-path Cargo.toml --locked "${vopts[@]}" &&
		env CARGO_HOME="$home" cargo install --offline --root "$BR_WORK/host" --bins --path ./ \
			--no-track --force --locked "${vopts[@]}") || return 1
	file "$BR_WORK/target/usr/bin/rpi-agent" | tee /dev/stderr | grep -q 'ARM aarch64' || return 1
	file "$BR_WORK/target/usr/bin/rtt-bind" | tee /dev/stderr | grep -q 'ARM aarch64' || return 1
	"$BR_WORK/host/bin/rtdecode" --help >/dev/null || return 1
	[ -z "$(ls -A "$home/registry" 2>/dev/null)" ] || { echo "cargo used the registry"; return 1; }
	echo "rpi-agent and rtt-bind (aarch64) and rtdecode (host) built offline from the vendor directory"
}

# The module and the workloads with the commands the kernel-module
# infrastructure and our .mk run, against the arm64 RT headers we have
# (the Pi kernel cannot be built here).
br_kmod() {
	local hdr copy="$BR_WORK/rt-tracer-module" wl="$BR_WORK/workloads"
	hdr=$(kernel_headers aarch64)
	[ -f "$hdr/Makefile" ] || { echo "no arm64 headers at $hdr: run scripts/setup"; return 1; }
	rm -rf "$copy" "$wl"
	rsync -a --exclude /tests "$RT_ROOT/rt-tracer-module/" "$copy/"
	make -C "$hdr" ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- KCFLAGS=-Wno-attribute-alias \
		WERROR=0 W=1 PWD="$copy" M="$copy" modules >"$BR_WORK/kmod.log" 2>&1 ||
		{ cat "$BR_WORK/kmod.log"; return 1; }
	cat "$BR_WORK/kmod.log"
	! grep -E 'warning:' "$BR_WORK/kmod.log" || return 1
	file "$copy/rt_tracer.ko" | grep -q 'ARM aarch64' || return 1
	rsync -a --include /workloads/'***' --include /rt-tracer-module/ --include /rt-tracer-module/include/'***' \
		--include /rt-tracer-module/tests/ --include /rt-tracer-module/tests/guest/'***' --exclude '*' \
		"$RT_ROOT/" "$wl/"
	make -C "$wl/workloads" CC=aarch64-linux-gnu-gcc STATIC= OUT="$wl/bin" DESTDIR="$wl/target" install || return 1
	ls "$wl/target/usr/bin"
	file "$wl/target/usr/bin/ctrl_loop" | grep -q 'ARM aarch64.*dynamically linked'
}

# The kernel fragment merged by Buildroot's linux package onto Debian's
# linux-source-6.12 arm64 defconfig (stand-in for the Pi tarball): its
# .stamp_dotconfig target with LINUX_OVERRIDE_SRCDIR. Kconfig only asks the
# cross compiler what it supports, so Debian's cross gcc stands in for the
# Bootlin toolchain (TARGET_CROSS), which is not built (the linux package's
# kconfig dependencies are emptied: flex and bison come from the host).
# Every fragment line must survive olddefconfig. Our kernel patches are
# applied to the same source.
br_kernel_config() {
	br_require || return 1
	[ -f "$BR_LINUX_TARBALL" ] || { echo "no $BR_LINUX_TARBALL: apt-get install linux-source-6.12"; return 1; }
	if ! command -v bison >/dev/null || ! command -v flex >/dev/null; then
		echo "needs the host's bison and flex"
		return 1
	fi
	local src="$BR_WORK/linux-src" out="$BR_WORK/out-kconfig" cfg="$BR_WORK/kconfig_defconfig" p
	if [ ! -f "$src/.extracted" ]; then
		rm -rf "$src"
		mkdir -p "$src"
		tar -xJf "$BR_LINUX_TARBALL" -C "$src" --strip-components=1 || return 1
		touch "$src/.extracted"
	fi
	local n=0
	for p in "$RT_ROOT"/kernel-patches/linux/*.patch; do
		[ -e "$p" ] || continue
		patch -d "$src" -p1 --dry-run -s <"$p" || { echo "does not apply: $p"; return 1; }
		n=$((n + 1))
	done
	echo "kernel patches in kernel-patches/linux: $n, all apply to $(basename "$BR_LINUX_TARBALL")"
	sed 's/^BR2_LINUX_KERNEL_DEFCONFIG=.*/BR2_LINUX_KERNEL_USE_ARCH_DEFAULT_CONFIG=y/' "$BR_DEFCONFIG" >"$cfg"
	grep -qx 'BR2_LINUX_KERNEL_USE_ARCH_DEFAULT_CONFIG=y' "$cfg" || return 1
	rm -rf "$out"
	br_make "$out" BR2_EXTERNAL="$RT_ROOT" BR2_DEFCONFIG="$cfg" defconfig >/dev/null || return 1
	# shellcheck disable=SC2046 # words by design
	br_make "$out" $(br_tar_override) LINUX_OVERRIDE_SRCDIR="$src" \
		LINUX_KCONFIG_DEPENDENCIES= TARGET_CROSS=aarch64-linux-gnu- \
		"$out/build/linux-custom/.stamp_dotconfig" || return 1
	local kc="$out/build/linux-custom/.config" line lost=0 sym
	[ -f "$kc" ] || return 1
	while IFS= read -r line; do
		case $line in
		CONFIG_*=*) grep -qxF -- "$line" "$kc" || { echo "lost: $line (now: $(grep -E "^(# )?${line%%=*}[= ]" "$kc" || echo absent))"; lost=1; } ;;
		'# CONFIG_'*' is not set')
			sym=${line#\# }
			sym=${sym%% *}
			! grep -q "^$sym=" "$kc" || { echo "lost: $line"; lost=1; }
			;;
		esac
	done <"$RT_ROOT/board/rpi4-rt-tracer/linux-rt.fragment"
	[ $lost = 0 ] || return 1
	echo "every option of linux-rt.fragment survives olddefconfig on $(basename "$BR_LINUX_TARBALL") (arm64 defconfig):"
	grep -E '^CONFIG_(PREEMPT_RT|EXPERT|HIGH_RES_TIMERS|FTRACE|KPROBES|UPROBES|GPIO_CDEV|TRACEPOINTS)=' "$kc"
}
