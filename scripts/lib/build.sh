# Builds what the emulated appliance boots: the kernel modules, the workloads
# and the agent, for one guest arch. Sourced after common.sh.
# shellcheck shell=bash

# run_logged LOG CMD...: run quietly; on failure show the log's tail.
run_logged() {
	local logf=$1
	shift
	if ! "$@" >>"$logf" 2>&1; then
		tail -n 40 "$logf" >&2
		die "build step failed: $* (full log: $logf)"
	fi
}

# build_kmod ARCH SRC_DIR KO_NAME: out-of-tree module from a per-arch copy of
# SRC_DIR (Kbuild writes objects next to the sources).
build_kmod() {
	local arch=$1 src=$2 ko=$3 out copy
	out=$(build_out "$arch")
	copy="$out/$(basename "$src")"
	mkdir -p "$copy"
	# cp -a keeps mtimes, so make rebuilds only what changed.
	(cd "$src" && find . -name '*.[ch]' -o -name 'Kbuild' -o -name 'Makefile') |
		while read -r f; do
			if [ ! -e "$copy/$f" ] || ! cmp -s "$src/$f" "$copy/$f"; then
				mkdir -p "$copy/$(dirname "$f")"
				cp -a "$src/$f" "$copy/$f"
			fi
		done
	# Debian's header trees name their arch and compiler; an O= build dir
	# (the patched and debug kernels) does not.
	local kargs=()
	if built_kernel; then read -ra kargs <<<"$(kernel_make_args "$arch")"; fi
	run_logged "$out/build.log" make -C "$(kernel_headers "$arch")" "${kargs[@]}" M="$copy" W=1 modules
	cp -a "$copy/$ko" "$out/$ko"
}

build_modules() {
	local arch=$1
	mkdir -p "$(build_out "$arch")"
	: >"$(build_out "$arch")/build.log"
	if built_kernel && [ ! -f "$(built_kernel_dir "$arch")/done" ]; then
		die "the $RT_KERNEL kernel is not built: run scripts/build-kernel --arch $arch --variant $(flavour_variant "$RT_KERNEL")"
	fi
	build_kmod "$arch" "$RT_ROOT/rt-tracer-module" rt_tracer.ko
	build_kmod "$arch" "$RT_ROOT/gpio-loopback" gpio_loopback.ko
	build_kmod "$arch" "$RT_ROOT/irq-button-demo" irq_button_demo.ko
}

build_workloads() {
	local arch=$1
	local out
	out=$(build_out "$arch")
	mkdir -p "$out/bin"
	run_logged "$out/build.log" \
		make -C "$RT_ROOT/workloads" ARCH="$arch" OUT="$out/bin"
}

# Cargo reads rpi-agent/.cargo/config.toml (cross linker, static CRT) only
# when run from inside the workspace.
in_agent_dir() { (cd "$RT_ROOT/rpi-agent" && "$@"); }

build_agent() {
	local arch=$1 target out
	target=$(rust_target "$arch")
	out=$(build_out "$arch")
	mkdir -p "$out/bin"
	# Static binaries run in the BusyBox initramfs as on the Pi.
	local -x CARGO_TARGET_X86_64_UNKNOWN_LINUX_GNU_RUSTFLAGS="-C target-feature=+crt-static"
	run_logged "$out/build.log" \
		in_agent_dir cargo build --quiet --release --target "$target" -p rpi-agent
	# rtt-window's example: the crate's own control loop, for the VM tests
	run_logged "$out/build.log" \
		in_agent_dir cargo build --quiet --release --target "$target" -p rtt-window \
		--example rtt_window_loop
	cp -a "$RT_ROOT/rpi-agent/target/$target/release/rpi-agent" \
		"$RT_ROOT/rpi-agent/target/$target/release/rtt-bind" \
		"$RT_ROOT/rpi-agent/target/$target/release/examples/rtt_window_loop" "$out/bin/"
}

build_all() {
	local arch=$1
	log "building for $arch, $RT_KERNEL kernel (module, workloads, agent)"
	build_modules "$arch"
	build_workloads "$arch"
	build_agent "$arch"
}
