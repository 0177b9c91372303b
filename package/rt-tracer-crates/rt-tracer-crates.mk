################################################################################
#
# rt-tracer-crates
#
################################################################################

# The crates.io dependencies of the rpi-agent/ workspace, for its local
# cargo packages (rpi-agent, host-rtdecode). Buildroot vendors cargo
# dependencies only in the download post-process of a package it
# downloads; a local package is never downloaded. This package downloads
# each crate that rpi-agent/Cargo.lock pins, as an ordinary (hash-checked)
# download, and lays them out as a cargo directory source. So "make source"
# fetches everything and the build itself needs no network.
RT_TRACER_CRATES_SITE = https://static.crates.io/crates
HOST_RT_TRACER_CRATES_SOURCE =
HOST_RT_TRACER_CRATES_LICENSE = vendored crates: see each crate's Cargo.toml
include $(BR2_EXTERNAL_RT_TRACER_PATH)/package/rt-tracer-crates/crates.inc

# A cargo directory source: one directory per crate, each with the
# checksum of its .crate file (the one Cargo.lock records, which the
# download step has verified).
define HOST_RT_TRACER_CRATES_EXTRACT_CMDS
	mkdir -p $(@D)/vendor
	for c in $(notdir $(HOST_RT_TRACER_CRATES_EXTRA_DOWNLOADS)); do \
		$(TAR) -xzf $(HOST_RT_TRACER_CRATES_DL_DIR)/$$c -C $(@D)/vendor || exit 1; \
		sum=`sha256sum $(HOST_RT_TRACER_CRATES_DL_DIR)/$$c | cut -d' ' -f1`; \
		printf '{"files":{},"package":"%s"}' $$sum \
			> $(@D)/vendor/$${c%.crate}/.cargo-checksum.json || exit 1; \
	done
endef

define HOST_RT_TRACER_CRATES_INSTALL_CMDS
	rm -rf $(RT_TRACER_CARGO_VENDOR_DIR)
	mkdir -p $(RT_TRACER_CARGO_VENDOR_DIR)
	cp -a $(@D)/vendor/. $(RT_TRACER_CARGO_VENDOR_DIR)/
endef

$(eval $(host-generic-package))
