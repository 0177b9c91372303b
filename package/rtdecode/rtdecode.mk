################################################################################
#
# rtdecode
#
################################################################################

RTDECODE_SITE = $(BR2_EXTERNAL_RT_TRACER_PATH)/rpi-agent
RTDECODE_SITE_METHOD = local
# The workspace root is virtual: build and install only the decoder member.
RTDECODE_SUBDIR = crates/rtdecode
RTDECODE_LICENSE = GPL-2.0 or MIT
HOST_RTDECODE_OVERRIDE_SRCDIR_RSYNC_EXCLUSIONS = $(RT_TRACER_CARGO_RSYNC_EXCLUSIONS)
HOST_RTDECODE_DEPENDENCIES = host-rt-tracer-crates
HOST_RTDECODE_CARGO_BUILD_OPTS = $(RT_TRACER_CARGO_VENDOR_OPTS)
HOST_RTDECODE_CARGO_INSTALL_OPTS = $(RT_TRACER_CARGO_VENDOR_OPTS)

$(eval $(host-cargo-package))
