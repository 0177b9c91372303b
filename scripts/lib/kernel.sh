# The project-built kernels of the emulated appliance (scripts/build-kernel):
# where they are built and what their cache key is. Sourced after common.sh.
# shellcheck shell=bash

KERNEL_SRC_PKG=linux-source-6.12
# shellcheck disable=SC2034 # used by scripts/build-kernel
KERNEL_SRC_TARBALL=/usr/src/linux-source-6.12.tar.xz
KERNEL_PATCHES="$RT_ROOT/kernel-patches/linux"
KERNEL_FRAGMENTS="$RT_ROOT/scripts/lib/kernel"

kernel_src_version() {
	dpkg-query -W -f '${Version}' "$KERNEL_SRC_PKG" 2>/dev/null ||
		die "$KERNEL_SRC_PKG is not installed: run scripts/setup"
}

# The kernel's name for a guest arch (ARCH=, the cache directory's prefix).
kernel_arch() {
	case $1 in
	aarch64) echo arm64 ;;
	x86_64) echo x86_64 ;;
	*) die "no project-built kernel for arch '$1' (aarch64 or x86_64)" ;;
	esac
}

# kernel_make_args ARCH: what make needs to build for that guest.
kernel_make_args() {
	case $1 in
	aarch64) echo ARCH=arm64 CROSS_COMPILE=aarch64-linux-gnu- ;;
	x86_64) echo ARCH=x86_64 ;;
	esac
}

# kernel_image ARCH: the boot image's target and path under build/.
kernel_image_target() {
	case $1 in
	aarch64) echo Image ;;
	x86_64) echo bzImage ;;
	esac
}
kernel_image_path() {
	case $1 in
	aarch64) echo arch/arm64/boot/Image ;;
	x86_64) echo arch/x86/boot/bzImage ;;
	esac
}

# kernel_fragments ARCH VARIANT: the fragments merged for that build, in
# order: the machine (ARCH.config), the appliance base (virt-rt.config),
# then the variant's own (e.g. debug.config). Every variant is the base
# plus its additions, so a variant cannot drift from what the base boots.
kernel_fragments() {
	local arch=$1 variant=$2
	echo "$KERNEL_FRAGMENTS/$arch.config"
	echo "$KERNEL_FRAGMENTS/virt-rt.config"
	[ "$variant" = virt-rt ] || echo "$KERNEL_FRAGMENTS/$variant.config"
}

# kernel_key ARCH VARIANT: source version + hash of what shapes the build
# (our patches, the merged fragments, the build script and this file). A
# change to any of them gives a new key, so a new build; an old one stays
# cached.
kernel_key() {
	local arch=$1 variant=$2 h frags
	mapfile -t frags < <(kernel_fragments "$arch" "$variant")
	h=$(cat "$KERNEL_PATCHES"/*.patch "${frags[@]}" \
		"$RT_ROOT/scripts/build-kernel" "${BASH_SOURCE[0]}" | sha256sum | cut -c1-12)
	echo "$(kernel_src_version)-$variant-$h"
}

# patched_kernel_dir ARCH [VARIANT]: the cache directory of that build: src/
# (patched source), build/ (the O= directory, a KDIR for out-of-tree
# modules), build.log, and "done" once the build has finished.
patched_kernel_dir() {
	local arch=$1 variant=${2:-virt-rt}
	echo "$RT_CACHE/kernel/$(kernel_arch "$arch")-$(kernel_key "$arch" "$variant")"
}

# The build variant of a guest kernel flavour (RT_KERNEL) that is built
# here: patched is the base, debug the checkers' variant.
flavour_variant() {
	case $1 in
	patched) echo virt-rt ;;
	debug) echo debug ;;
	*) die "kernel flavour '$1' is not built by scripts/build-kernel" ;;
	esac
}
