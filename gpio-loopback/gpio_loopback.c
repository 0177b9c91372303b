// SPDX-License-Identifier: GPL-2.0
/*
 * gpio_loopback - a gpiochip whose output line N is wired to input line N+1
 *
 * A test fixture for IRQ latency work without hardware: driving line N
 * changes the level of line N+1 and, when line N+1 has its interrupt
 * enabled for that edge, raises a real Linux IRQ from hard IRQ context
 * (an IRQ_WORK_INIT_HARD irq_work), as a GPIO controller's parent IRQ
 * would. Flow handler, hard handler and irq_handler_entry thus run as on
 * hardware, and a threaded handler gets a real IRQ thread.
 *
 * Each line counts its pending edges up to LOOPBACK_MAX_PENDING; edges
 * beyond that are counted in the "dropped" attribute of the platform
 * device, never lost silently.
 */

#include <linux/bitmap.h>
#include <linux/device.h>
#include <linux/gpio/driver.h>
#include <linux/interrupt.h>
#include <linux/irq.h>
#include <linux/irq_work.h>
#include <linux/irqdomain.h>
#include <linux/module.h>
#include <linux/platform_device.h>
#include <linux/slab.h>
#include <linux/spinlock.h>

/* ---------------------------------------------------------------------
 * Parameters and state
 */

#define LOOPBACK_MAX_LINES	64
#define LOOPBACK_MAX_PENDING	16

static unsigned int ngpio = 32;
module_param(ngpio, uint, 0444);
MODULE_PARM_DESC(ngpio, "number of lines (2.." __stringify(LOOPBACK_MAX_LINES) ", default 32)");

/**
 * struct loopback_line - one line's state, all under loopback.lock
 * @output: line is an output
 * @level: current level (driven value for outputs, wire for inputs)
 * @masked: its IRQ is masked
 * @type: IRQ_TYPE_EDGE_* it triggers on (0: none)
 * @pending: edges waiting for the irq_work, at most LOOPBACK_MAX_PENDING
 */
struct loopback_line {
	bool output;
	bool level;
	bool masked;
	unsigned int type;
	unsigned int pending;
};

/**
 * struct loopback - the chip
 * @gc: the gpiochip
 * @lock: raw, as it is taken in hard IRQ context on PREEMPT_RT too
 * @work: raises the pending edges in hard IRQ context
 * @lines: per-line state
 * @names: line names "GPIO<n>"
 * @name_ptrs: gc.names, pointing into @names
 * @raised: edges delivered to the IRQ domain
 * @dropped: edges lost because a line already had the maximum pending
 */
struct loopback {
	struct gpio_chip gc;
	raw_spinlock_t lock;
	struct irq_work work;
	struct loopback_line lines[LOOPBACK_MAX_LINES];
	/*
	 * Room for any unsigned int: under KASAN and UBSAN gcc cannot see that
	 * the index stays below LOOPBACK_MAX_LINES (W=1 format-truncation).
	 */
	char names[LOOPBACK_MAX_LINES][sizeof("GPIO4294967295")];
	const char *name_ptrs[LOOPBACK_MAX_LINES];
	u64 raised;
	u64 dropped;
};

static struct platform_device *loopback_pdev;
static struct loopback *loopback;

/* ---------------------------------------------------------------------
 * Wire and IRQ delivery
 */

/**
 * loopback_drive - set output @off to @value and propagate it to @off + 1
 * @lb: the chip
 * @off: output line
 * @value: new level
 *
 * Called with lb->lock held. An edge on the wire is queued when the
 * receiving line is an input with its IRQ unmasked for that edge.
 */
static void loopback_drive(struct loopback *lb, unsigned int off, bool value)
{
	struct loopback_line *in;
	unsigned int edge;

	lb->lines[off].level = value;
	if (off + 1 >= lb->gc.ngpio)
		return;
	in = &lb->lines[off + 1];
	if (in->output || in->level == value)
		return;
	in->level = value;
	edge = value ? IRQ_TYPE_EDGE_RISING : IRQ_TYPE_EDGE_FALLING;
	if (in->masked || !(in->type & edge))
		return;
	if (in->pending >= LOOPBACK_MAX_PENDING) {
		lb->dropped++;
		return;
	}
	in->pending++;
	irq_work_queue(&lb->work);
}

/**
 * loopback_irq_work - deliver pending edges, in hard IRQ context
 * @work: lb->work
 *
 * The lock is dropped around generic_handle_domain_irq(): the handlers
 * it runs may drive lines of this chip again.
 */
static void loopback_irq_work(struct irq_work *work)
{
	struct loopback *lb = container_of(work, struct loopback, work);
	unsigned int off;
	bool again;

	do {
		again = false;
		for (off = 0; off < lb->gc.ngpio; off++) {
			unsigned long flags;
			bool fire = false;

			raw_spin_lock_irqsave(&lb->lock, flags);
			if (lb->lines[off].pending) {
				lb->lines[off].pending--;
				lb->raised++;
				fire = true;
				again |= lb->lines[off].pending != 0;
			}
			raw_spin_unlock_irqrestore(&lb->lock, flags);
			if (fire)
				generic_handle_domain_irq(lb->gc.irq.domain, off);
		}
	} while (again);
}

/* ---------------------------------------------------------------------
 * gpio_chip operations
 */

/** loopback_get_direction - GPIO_LINE_DIRECTION_OUT or _IN */
static int loopback_get_direction(struct gpio_chip *gc, unsigned int off)
{
	struct loopback *lb = gpiochip_get_data(gc);

	return lb->lines[off].output ? GPIO_LINE_DIRECTION_OUT :
				       GPIO_LINE_DIRECTION_IN;
}

/** loopback_direction_input - stop driving; the level stays the wire's */
static int loopback_direction_input(struct gpio_chip *gc, unsigned int off)
{
	struct loopback *lb = gpiochip_get_data(gc);
	unsigned long flags;

	raw_spin_lock_irqsave(&lb->lock, flags);
	lb->lines[off].output = false;
	/* An input follows its wire: the level of output off - 1, if any. */
	if (off > 0 && lb->lines[off - 1].output)
		lb->lines[off].level = lb->lines[off - 1].level;
	raw_spin_unlock_irqrestore(&lb->lock, flags);
	return 0;
}

/** loopback_direction_output - drive @value on @off */
static int loopback_direction_output(struct gpio_chip *gc, unsigned int off,
				     int value)
{
	struct loopback *lb = gpiochip_get_data(gc);
	unsigned long flags;

	raw_spin_lock_irqsave(&lb->lock, flags);
	lb->lines[off].output = true;
	loopback_drive(lb, off, !!value);
	raw_spin_unlock_irqrestore(&lb->lock, flags);
	return 0;
}

/** loopback_get - the level of @off */
static int loopback_get(struct gpio_chip *gc, unsigned int off)
{
	struct loopback *lb = gpiochip_get_data(gc);

	return READ_ONCE(lb->lines[off].level);
}

/** loopback_get_multiple - the levels of the lines in @mask */
static int loopback_get_multiple(struct gpio_chip *gc, unsigned long *mask,
				 unsigned long *bits)
{
	struct loopback *lb = gpiochip_get_data(gc);
	unsigned int off;

	for_each_set_bit(off, mask, gc->ngpio)
		__assign_bit(off, bits, READ_ONCE(lb->lines[off].level));
	return 0;
}

/** loopback_set - drive @value on output @off */
static void loopback_set(struct gpio_chip *gc, unsigned int off, int value)
{
	struct loopback *lb = gpiochip_get_data(gc);
	unsigned long flags;

	raw_spin_lock_irqsave(&lb->lock, flags);
	if (lb->lines[off].output)
		loopback_drive(lb, off, !!value);
	raw_spin_unlock_irqrestore(&lb->lock, flags);
}

/** loopback_set_multiple - drive the lines in @mask at once */
static void loopback_set_multiple(struct gpio_chip *gc, unsigned long *mask,
				  unsigned long *bits)
{
	struct loopback *lb = gpiochip_get_data(gc);
	unsigned long flags;
	unsigned int off;

	raw_spin_lock_irqsave(&lb->lock, flags);
	for_each_set_bit(off, mask, gc->ngpio)
		if (lb->lines[off].output)
			loopback_drive(lb, off, test_bit(off, bits));
	raw_spin_unlock_irqrestore(&lb->lock, flags);
}

/* ---------------------------------------------------------------------
 * irq_chip
 */

/** loopback_irq_mask - no more edges latched on this line */
static void loopback_irq_mask(struct irq_data *d)
{
	struct gpio_chip *gc = irq_data_get_irq_chip_data(d);
	struct loopback *lb = gpiochip_get_data(gc);
	irq_hw_number_t hw = irqd_to_hwirq(d);

	raw_spin_lock(&lb->lock);
	lb->lines[hw].masked = true;
	raw_spin_unlock(&lb->lock);
	gpiochip_disable_irq(gc, hw);
}

/** loopback_irq_unmask - edges are latched again */
static void loopback_irq_unmask(struct irq_data *d)
{
	struct gpio_chip *gc = irq_data_get_irq_chip_data(d);
	struct loopback *lb = gpiochip_get_data(gc);
	irq_hw_number_t hw = irqd_to_hwirq(d);

	gpiochip_enable_irq(gc, hw);
	raw_spin_lock(&lb->lock);
	lb->lines[hw].masked = false;
	raw_spin_unlock(&lb->lock);
}

/** loopback_irq_ack - edge latches clear on delivery: nothing to do */
static void loopback_irq_ack(struct irq_data *d)
{
}

/** loopback_irq_set_type - edges only, as a GPIO edge detector */
static int loopback_irq_set_type(struct irq_data *d, unsigned int type)
{
	struct gpio_chip *gc = irq_data_get_irq_chip_data(d);
	struct loopback *lb = gpiochip_get_data(gc);

	if (type & ~IRQ_TYPE_EDGE_BOTH)
		return -EINVAL;
	raw_spin_lock(&lb->lock);
	lb->lines[irqd_to_hwirq(d)].type = type;
	raw_spin_unlock(&lb->lock);
	irq_set_handler_locked(d, type ? handle_edge_irq : handle_bad_irq);
	return 0;
}

static const struct irq_chip loopback_irq_chip = {
	.name = "gpio-loopback",
	.irq_ack = loopback_irq_ack,
	.irq_mask = loopback_irq_mask,
	.irq_unmask = loopback_irq_unmask,
	.irq_set_type = loopback_irq_set_type,
	.flags = IRQCHIP_IMMUTABLE | IRQCHIP_SKIP_SET_WAKE,
	GPIOCHIP_IRQ_RESOURCE_HELPERS,
};

/* ---------------------------------------------------------------------
 * sysfs: /sys/devices/platform/gpio-loopback/{raised,dropped}
 */

/** raised_show - edges delivered to the IRQ domain */
static ssize_t raised_show(struct device *dev, struct device_attribute *attr,
			   char *buf)
{
	unsigned long flags;
	u64 v;

	raw_spin_lock_irqsave(&loopback->lock, flags);
	v = loopback->raised;
	raw_spin_unlock_irqrestore(&loopback->lock, flags);
	return sysfs_emit(buf, "%llu\n", v);
}
static DEVICE_ATTR_RO(raised);

/** dropped_show - edges lost to a full pending counter */
static ssize_t dropped_show(struct device *dev, struct device_attribute *attr,
			    char *buf)
{
	unsigned long flags;
	u64 v;

	raw_spin_lock_irqsave(&loopback->lock, flags);
	v = loopback->dropped;
	raw_spin_unlock_irqrestore(&loopback->lock, flags);
	return sysfs_emit(buf, "%llu\n", v);
}
static DEVICE_ATTR_RO(dropped);

static struct attribute *loopback_attrs[] = {
	&dev_attr_raised.attr,
	&dev_attr_dropped.attr,
	NULL,
};

static const struct attribute_group loopback_group = {
	.attrs = loopback_attrs,
};

/* ---------------------------------------------------------------------
 * Module load and unload
 */

/** loopback_init - create the platform device and register the chip */
static int __init loopback_init(void)
{
	struct gpio_irq_chip *girq;
	struct loopback *lb;
	unsigned int i;
	int ret;

	if (ngpio < 2 || ngpio > LOOPBACK_MAX_LINES) {
		pr_err("gpio_loopback: ngpio=%u out of range 2..%u\n", ngpio,
		       LOOPBACK_MAX_LINES);
		return -EINVAL;
	}
	lb = kzalloc(sizeof(*lb), GFP_KERNEL);
	if (!lb)
		return -ENOMEM;
	raw_spin_lock_init(&lb->lock);
	lb->work = IRQ_WORK_INIT_HARD(loopback_irq_work);
	for (i = 0; i < ngpio; i++) {
		snprintf(lb->names[i], sizeof(lb->names[i]), "GPIO%u", i);
		lb->name_ptrs[i] = lb->names[i];
		lb->lines[i].masked = true;
	}

	loopback_pdev = platform_device_register_simple("gpio-loopback",
							PLATFORM_DEVID_NONE,
							NULL, 0);
	if (IS_ERR(loopback_pdev)) {
		ret = PTR_ERR(loopback_pdev);
		goto err_free;
	}

	lb->gc.label = "gpio-loopback";
	lb->gc.parent = &loopback_pdev->dev;
	lb->gc.owner = THIS_MODULE;
	lb->gc.base = -1;
	lb->gc.ngpio = ngpio;
	lb->gc.names = lb->name_ptrs;
	lb->gc.can_sleep = false;
	lb->gc.get_direction = loopback_get_direction;
	lb->gc.direction_input = loopback_direction_input;
	lb->gc.direction_output = loopback_direction_output;
	lb->gc.get = loopback_get;
	lb->gc.get_multiple = loopback_get_multiple;
	lb->gc.set = loopback_set;
	lb->gc.set_multiple = loopback_set_multiple;

	girq = &lb->gc.irq;
	gpio_irq_chip_set_chip(girq, &loopback_irq_chip);
	girq->handler = handle_bad_irq;
	girq->default_type = IRQ_TYPE_NONE;

	loopback = lb;
	ret = gpiochip_add_data(&lb->gc, lb);
	if (ret)
		goto err_pdev;
	ret = sysfs_create_group(&loopback_pdev->dev.kobj, &loopback_group);
	if (ret)
		goto err_chip;
	return 0;

err_chip:
	gpiochip_remove(&lb->gc);
err_pdev:
	platform_device_unregister(loopback_pdev);
err_free:
	loopback = NULL;
	kfree(lb);
	pr_err("gpio_loopback: registration failed: %d\n", ret);
	return ret;
}

/** loopback_exit - unregister; pending edges are delivered or dropped first */
static void __exit loopback_exit(void)
{
	struct loopback *lb = loopback;

	sysfs_remove_group(&loopback_pdev->dev.kobj, &loopback_group);
	/*
	 * Requested lines and IRQs hold a reference on this module, so none
	 * is left: nothing queues the work again. Edges already queued are
	 * delivered before the IRQ domain goes away with the chip.
	 */
	irq_work_sync(&lb->work);
	gpiochip_remove(&lb->gc);
	platform_device_unregister(loopback_pdev);
	kfree(lb);
}

module_init(loopback_init);
module_exit(loopback_exit);

MODULE_DESCRIPTION("GPIO chip with output line N wired to input line N+1");
MODULE_LICENSE("GPL");
