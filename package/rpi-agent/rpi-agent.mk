################################################################################
#
# rpi-agent
#
################################################################################

RPI_AGENT_SITE = $(BR2_EXTERNAL_RT_TRACER_PATH)/rpi-agent
RPI_AGENT_SITE_METHOD = local
# The workspace root is virtual: build and install only the agent member.
RPI_AGENT_SUBDIR = crates/rpi-agent
RPI_AGENT_LICENSE = GPL-2.0 or MIT
RPI_AGENT_OVERRIDE_SRCDIR_RSYNC_EXCLUSIONS = $(RT_TRACER_CARGO_RSYNC_EXCLUSIONS)
RPI_AGENT_DEPENDENCIES = host-rt-tracer-crates
# The Pi's own stimulus backend (rpi-pal); cargo install builds again, so
# both steps need the feature.
RPI_AGENT_CARGO_FEATURES = --features rpi
RPI_AGENT_CARGO_BUILD_OPTS = $(RT_TRACER_CARGO_VENDOR_OPTS) $(RPI_AGENT_CARGO_FEATURES)
RPI_AGENT_CARGO_INSTALL_OPTS = $(RT_TRACER_CARGO_VENDOR_OPTS) $(RPI_AGENT_CARGO_FEATURES)

$(eval $(cargo-package))
