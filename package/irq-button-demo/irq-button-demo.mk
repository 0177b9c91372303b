################################################################################
#
# irq-button-demo
#
################################################################################

IRQ_BUTTON_DEMO_SITE = $(BR2_EXTERNAL_RT_TRACER_PATH)/irq-button-demo
IRQ_BUTTON_DEMO_SITE_METHOD = local
IRQ_BUTTON_DEMO_LICENSE = GPL-2.0
# Kbuild adds -Werror: with W=1 every extra warning fails the build.
IRQ_BUTTON_DEMO_MODULE_MAKE_OPTS = W=1

$(eval $(kernel-module))
$(eval $(generic-package))
