################################################################################
#
# rt-tracer-workloads
#
################################################################################

RT_TRACER_WORKLOADS_SITE = $(BR2_EXTERNAL_RT_TRACER_PATH)
RT_TRACER_WORKLOADS_SITE_METHOD = local
RT_TRACER_WORKLOADS_LICENSE = GPL-2.0
# Only workloads/ and the module's UAPI header (and in-guest test) it
# includes, not the whole tree.
RT_TRACER_WORKLOADS_OVERRIDE_SRCDIR_RSYNC_EXCLUSIONS = \
	--include /workloads/*** \
	--include /rt-tracer-module/ \
	--include /rt-tracer-module/include/*** \
	--include /rt-tracer-module/tests/ \
	--include /rt-tracer-module/tests/guest/*** \
	--exclude '*'

RT_TRACER_WORKLOADS_MAKE_OPTS = \
	CC="$(TARGET_CC)" \
	STATIC= \
	OUT=$(@D)/bin

define RT_TRACER_WORKLOADS_BUILD_CMDS
	$(TARGET_MAKE_ENV) $(MAKE) -C $(@D)/workloads \
		$(RT_TRACER_WORKLOADS_MAKE_OPTS)
endef

define RT_TRACER_WORKLOADS_INSTALL_TARGET_CMDS
	$(TARGET_MAKE_ENV) $(MAKE) -C $(@D)/workloads \
		$(RT_TRACER_WORKLOADS_MAKE_OPTS) DESTDIR=$(TARGET_DIR) install
endef

$(eval $(generic-package))
