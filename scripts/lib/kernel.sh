# The patched kernel of the emulated appliance (scripts/build-kernel):
# where it is built and what its cache key is. Sourced after common.sh.
# shellcheck shell=bash

KERNEL_SRC_PKG=linux-source-6.12
KERNEL_SRC_TARBALL=/usr/src/linux-source-6.12.tar.xz
KERNEL_PATCHES="$RT_ROOT/kernel-patches/linux"
KERNEL_FRAGMENTS="$RT_ROOT/scripts/lib/kernel"

kernel_src_version() {
	dpkg-query -W -f '${Version}' "$KERNEL_SRC_PKG" 2>/dev/null ||
		die "$KERNEL_SRC_PKG is not installed: run scripts/setup"
}

# kernel_key VARIANT: source version + hash of what shapes the build (our
# patches, the variant's fragment, the build script and this file). A change
# to any of them gives a new key, so a new build; an old one stays cached.
kernel_key() {
	local variant=$1 h
	h=$(cat "$KERNEL_PATCHES"/*.patch "$KERNEL_FRAGMENTS/$variant.config" \
		"$RT_ROOT/scripts/build-kernel" "${BASH_SOURCE[0]}" | sha256sum | cut -c1-12)
	echo "$(kernel_src_version)-$variant-$h"
}

# patched_kernel_dir ARCH [VARIANT]: the cache directory of that build: src/
# (patched source), build/ (the O= directory, a KDIR for out-of-tree
# modules), build.log, and "done" once the build has finished.
patched_kernel_dir() {
	local arch=$1 variant=${2:-virt-rt}
	case $arch in
	aarch64) ;;
	*) die "the patched kernel is built for aarch64 only" ;;
	esac
	echo "$RT_CACHE/kernel/arm64-$(kernel_key "$variant")"
}
