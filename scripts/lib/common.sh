# Shared helpers for the developer entry points in scripts/. Sourced, not run.
# shellcheck shell=bash

RT_ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
# Downloads and extracted guest pieces live outside the work tree so that a
# fresh clone (as CI uses) reuses them.
RT_CACHE=${RT_CACHE:-/var/cache/rt-tracer}
RT_BUILD=${RT_BUILD:-$RT_ROOT/build}
# The guest kernel flavour: stock (Debian's RT kernel, the default), patched
# (scripts/build-kernel: linux-source-6.12 + kernel-patches/linux) or debug
# (the same with scripts/lib/kernel/debug.config: lockdep, KASAN, ...).
# vm-run --kernel sets it; the functions below follow it.
RT_KERNEL=${RT_KERNEL:-stock}
# True for a flavour scripts/build-kernel builds (not Debian's).
built_kernel() { [ "$RT_KERNEL" = patched ] || [ "$RT_KERNEL" = debug ]; }
# built_kernel_dir ARCH: its cache directory (scripts/build-kernel).
built_kernel_dir() { patched_kernel_dir "$1" "$(flavour_variant "$RT_KERNEL")"; }

log() { printf '\033[1m==>\033[0m %s\n' "$*" >&2; }
die() {
	printf 'error: %s\n' "$*" >&2
	exit 1
}

# meta_dep META PATTERN: the dependency of META's bookworm-backports
# candidate that matches PATTERN (e.g. the versioned kernel image).
meta_dep() {
	apt-cache depends -t bookworm-backports "$1" 2>/dev/null |
		sed -n 's/^ *Depends: //p' | sed 's/:arm64$//' | grep -m1 "^$2"
}

kernel_version() {
	[ -f "$RT_CACHE/kver" ] || die "the RT kernel is not set up: run scripts/setup"
	cat "$RT_CACHE/kver"
}

# Paths of the guest pieces for ARCH (aarch64 or x86_64), of flavour
# RT_KERNEL.
guest_kernel() {
	local kver
	if built_kernel; then
		echo "$(built_kernel_dir "$1")/build/$(kernel_image_path "$1")"
		return
	fi
	kver=$(kernel_version)
	case $1 in
	aarch64) echo "$RT_CACHE/arm64-$kver/root/boot/vmlinuz-$kver-rt-arm64" ;;
	x86_64) echo "/boot/vmlinuz-$kver-rt-amd64" ;;
	esac
}
# The KDIR our out-of-tree modules are built against.
kernel_headers() {
	local kver
	if built_kernel; then
		echo "$(built_kernel_dir "$1")/build"
		return
	fi
	kver=$(kernel_version)
	case $1 in
	aarch64) echo "/usr/src/linux-headers-$kver-rt-arm64" ;;
	x86_64) echo "/usr/src/linux-headers-$kver-rt-amd64" ;;
	esac
}
# The guest kernel's release (uname -r: /lib/modules/<it> in the guest).
kernel_release() {
	if built_kernel; then
		cat "$(built_kernel_dir "$1")/kernelrelease"
		return
	fi
	echo "$(kernel_version)-rt-$([ "$1" = aarch64 ] && echo arm64 || echo amd64)"
}
# Where the guest's modules and binaries are built: one tree per flavour,
# so a patched or debug build never overwrites the stock one.
build_out() {
	if built_kernel; then
		echo "$RT_BUILD/$1-$RT_KERNEL"
	else
		echo "$RT_BUILD/$1"
	fi
}
guest_busybox() {
	case $1 in
	aarch64) echo "$RT_CACHE/arm64-$(kernel_version)/root/bin/busybox" ;;
	x86_64) echo "/bin/busybox" ;;
	esac
}
rust_target() {
	case $1 in
	aarch64) echo aarch64-unknown-linux-gnu ;;
	x86_64) echo x86_64-unknown-linux-gnu ;;
	esac
}
cross_cc() {
	case $1 in
	aarch64) echo aarch64-linux-gnu-gcc ;;
	x86_64) echo gcc ;;
	esac
}
checkpatch() { echo "$RT_CACHE/checkpatch/scripts/checkpatch.pl"; }

# True when every piece setup provides is present (cheap: no apt calls).
setup_complete() {
	# what setup installs: the stock pieces, whatever flavour is selected
	local a f RT_KERNEL=stock
	[ -f "$RT_CACHE/kver" ] || return 1
	for a in aarch64 x86_64; do
		for f in "$(guest_kernel $a)" "$(kernel_headers $a)/Makefile" "$(guest_busybox $a)"; do
			[ -e "$f" ] || return 1
		done
	done
	command -v qemu-system-aarch64 >/dev/null &&
		command -v qemu-system-x86_64 >/dev/null &&
		command -v aarch64-linux-gnu-gcc >/dev/null &&
		command -v cpio >/dev/null &&
		command -v shellcheck >/dev/null &&
		command -v prometheus >/dev/null &&
		python3 -m pytest --version >/dev/null 2>&1 &&
		python3 -m pyflakes --version >/dev/null 2>&1 &&
		python3 -c 'import jsonschema' 2>/dev/null &&
		python3 -c 'import kconfiglib' 2>/dev/null &&
		command -v rsync >/dev/null &&
		[ -f /usr/src/linux-source-6.12.tar.xz ] &&
		command -v bison >/dev/null && command -v flex >/dev/null &&
		[ -x "$(checkpatch)" ] &&
		rustup target list --installed 2>/dev/null | grep -qx aarch64-unknown-linux-gnu
}

# Guest shell functions for the ping-pong runs of scripts/bench and
# scripts/profile. track_pingpong FILE TAG waits until the pingpong writing
# FILE has announced both ends, then tracks both with traces; an add that
# fails prints "ADD_FAILED TAG PID" (the caller must not report that run).
guest_pingpong_helpers() {
	cat <<'GUEST'
pp_pids() { sed -n 's/.* pid=\([0-9]*\) tid=.*/\1/p' "$1"; }
track_pingpong() {
	while :; do
		c=$(grep -c 'task name=' "$1" 2>/dev/null)
		[ "${c:-0}" -ge 2 ] && break
		sleep 0.05
	done
	for p in $(pp_pids "$1"); do
		echo "$p trace" > /sys/kernel/rt_tracer/add_pid || echo "ADD_FAILED $2 $p"
	done
}
GUEST
}

# shellcheck source=lib/kernel.sh
. "$RT_ROOT/scripts/lib/kernel.sh"
