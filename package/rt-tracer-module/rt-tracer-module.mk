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

$(eval $(kernel-module))
$(eval $(generic-package))
