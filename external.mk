# The rt-tracer Buildroot external tree.

# Where host-rt-tracer-crates installs the rpi-agent workspace's crates,
# and the cargo options that make a build use them instead of crates.io.
RT_TRACER_CARGO_VENDOR_DIR = $(HOST_DIR)/share/rt-tracer/vendor
RT_TRACER_CARGO_VENDOR_OPTS = \
	--config 'source.crates-io.replace-with="rt-tracer-vendor"' \
	--config 'source.rt-tracer-vendor.directory="$(RT_TRACER_CARGO_VENDOR_DIR)"'
# Not copied into the build directories of the workspace's packages: build
# outputs, the fuzz crate, and the developer's .cargo/config.toml (Debian's
# cross linker, static CRT); Buildroot sets the linker itself.
RT_TRACER_CARGO_RSYNC_EXCLUSIONS = \
	--exclude /target --exclude /fuzz --exclude /.cargo

include $(sort $(wildcard $(BR2_EXTERNAL_RT_TRACER_PATH)/package/*/*.mk))
