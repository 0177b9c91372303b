################################################################################
#
# rt-tracer-module
#
################################################################################

RT_TRACER_MODULE_SITE = $(BR2_EXTERNAL_RT_TRACER_PATH)/rt-tracer-module
RT_TRACER_MODULE_SITE_METHOD = local
RT_TRACER_MODULE_LICENSE = GPL-2.0
# Kbuild adds -Werror: with W=1 every extra warning fails the build.
RT_TRACER_MODULE_MODULE_MAKE_OPTS = W=1
# The host unit tests of the core are not part of the target build.
RT_TRACER_MODULE_OVERRIDE_SRCDIR_RSYNC_EXCLUSIONS = --exclude /tests

# The UAPI headers for applications built against the module: rt_tracer.h
# and rtt_window.h (budget windows in one line).
RT_TRACER_MODULE_INSTALL_STAGING = YES
define RT_TRACER_MODULE_INSTALL_STAGING_CMDS
	$(INSTALL) -D -m 0644 $(@D)/include/uapi/linux/rt_tracer.h \
		$(STAGING_DIR)/usr/include/linux/rt_tracer.h
	$(INSTALL) -D -m 0644 $(@D)/include/uapi/linux/rtt_window.h \
		$(STAGING_DIR)/usr/include/linux/rtt_window.h
endef

$(eval $(kernel-module))
$(eval $(generic-package))
