// SPDX-License-Identifier: GPL-2.0
/*
 * gpio_loopback - a gpiochip whose output line N is wired to input line N+1
 *
 * For the emulated appliance: it stands in for a jumper wire between two
 * GPIO header pins, so the IRQ path of a GPIO button can be tested without
 * a Pi. Each level change of line N+1 caused by driving line N is queued in
 * a per-line ring of LB_RING edges and raised from a hard irq_work, so the
 * flow handler and the hard handler run in hard IRQ context as they would
 * for a real GPIO controller. Edges beyond the ring's bound are counted in
 * /sys/kernel/debug/gpio_loopback/dropped and not raised.
 */
#include <linux/module.h>
#include <linux/platform_device.h>
#include <linux/gpio/driver.h>
#include <linux/irq.h>
#include <linux/irq_work.h>
#include <linux/debugfs.h>
#include <linux/spinlock.h>
#include <linux/slab.h>

#define LB_MAX_LINES	64
#define LB_RING		16

static unsigned int ngpio = 32;
module_param(ngpio, uint, 0444);
MODULE_PARM_DESC(ngpio, "number of lines (2..64, default 32)");

/* ---- state ---- */

struct lb_line {
	u8 ring[LB_RING];	/* queued edges: IRQ_TYPE_EDGE_RISING/FALLING */
	u8 head, count;
	bool out, level, masked;
	unsigned int type;	/* IRQ_TYPE_* set by irq_set_type */
};

struct lb_chip {
	struct gpio_chip gc;
	raw_spinlock_t lock;	/* taken in hard IRQ context */
	struct irq_work work;
	struct lb_line line[LB_MAX_LINES];
	u64 dropped;
	u64 raised;
	const char *names[LB_MAX_LINES];
	char namebuf[LB_MAX_LINES][8];
};

static struct platform_device *lb_pdev;
static struct lb_chip *lb;
static struct dentry *lb_dir;

/* ---- the wire ---- */

/*
 * lb_drive - set the level of line @off, queue the follow edge on @off + 1
 * Called with lb->lock held. The edge is queued even if no IRQ is enabled
 * yet; lb_work() filters by the trigger type at raise time, like a latch.
 */
static bool lb_drive(struct lb_chip *c, unsigned int off, bool v)
{
	struct lb_line *n;

	if (c->line[off].level == v)
		return false;
	c->line[off].level = v;
	if (off + 1 >= c->gc.ngpio)
		return false;
	n = &c->line[off + 1];
	n->level = v;
	if (n->out || !n->type || n->masked)
		return false;
	if (n->count == LB_RING) {
		c->dropped++;
		return false;
	}
	n->ring[(n->head + n->count) % LB_RING] =
		v ? IRQ_TYPE_EDGE_RISING : IRQ_TYPE_EDGE_FALLING;
	n->count++;
	return true;
}

/*
 * lb_work - hard irq_work: raise every queued edge that matches its trigger
 * Runs in hard IRQ context (IRQ_WORK_INIT_HARD), so on PREEMPT_RT the GPIO
 * IRQ's flow handler and hard handler run there too.
 */
static void lb_work(struct irq_work *w)
{
	struct lb_chip *c = container_of(w, struct lb_chip, work);
	unsigned int off;
	bool again;

	do {
		again = false;
		for (off = 0; off < c->gc.ngpio; off++) {
			struct lb_line *l = &c->line[off];
			u8 e = 0;

			raw_spin_lock(&c->lock);
			if (l->count) {
				e = l->ring[l->head];
				l->head = (l->head + 1) % LB_RING;
				l->count--;
				again |= l->count != 0;
			}
			raw_spin_unlock(&c->lock);
			if (e & l->type) {
				c->raised++;
				generic_handle_domain_irq(c->gc.irq.domain, off);
			}
		}
	} while (again);
}

/* ---- gpio_chip ops ---- */

static int lb_get(struct gpio_chip *gc, unsigned int off)
{
	struct lb_chip *c = gpiochip_get_data(gc);

	return READ_ONCE(c->line[off].level);
}

static int lb_get_direction(struct gpio_chip *gc, unsigned int off)
{
	struct lb_chip *c = gpiochip_get_data(gc);

	return c->line[off].out ? GPIO_LINE_DIRECTION_OUT :
				  GPIO_LINE_DIRECTION_IN;
}

static void lb_set(struct gpio_chip *gc, unsigned int off, int v)
{
	struct lb_chip *c = gpiochip_get_data(gc);
	unsigned long flags;
	bool q;

	raw_spin_lock_irqsave(&c->lock, flags);
	q = lb_drive(c, off, !!v);
	raw_spin_unlock_irqrestore(&c->lock, flags);
	if (q)
		irq_work_queue(&c->work);
}

static void lb_set_multiple(struct gpio_chip *gc, unsigned long *mask,
			    unsigned long *bits)
{
	struct lb_chip *c = gpiochip_get_data(gc);
	unsigned long flags;
	unsigned int off;
	bool q = false;

	raw_spin_lock_irqsave(&c->lock, flags);
	for_each_set_bit(off, mask, gc->ngpio)
		q |= lb_drive(c, off, test_bit(off, bits));
	raw_spin_unlock_irqrestore(&c->lock, flags);
	if (q)
		irq_work_queue(&c->work);
}

static int lb_direction_input(struct gpio_chip *gc, unsigned int off)
{
	struct lb_chip *c = gpiochip_get_data(gc);
	unsigned long flags;

	raw_spin_lock_irqsave(&c->lock, flags);
	c->line[off].out = false;
	raw_spin_unlock_irqrestore(&c->lock, flags);
	return 0;
}

static int lb_direction_output(struct gpio_chip *gc, unsigned int off, int v)
{
	struct lb_chip *c = gpiochip_get_data(gc);
	unsigned long flags;

	raw_spin_lock_irqsave(&c->lock, flags);
	c->line[off].out = true;
	raw_spin_unlock_irqrestore(&c->lock, flags);
	lb_set(gc, off, v);
	return 0;
}

/* ---- irq_chip ---- */

static void lb_irq_mask(struct irq_data *d)
{
	struct gpio_chip *gc = irq_data_get_irq_chip_data(d);
	struct lb_chip *c = gpiochip_get_data(gc);

	c->line[irqd_to_hwirq(d)].masked = true;
	gpiochip_disable_irq(gc, irqd_to_hwirq(d));
}

static void lb_irq_unmask(struct irq_data *d)
{
	struct gpio_chip *gc = irq_data_get_irq_chip_data(d);
	struct lb_chip *c = gpiochip_get_data(gc);

	gpiochip_enable_irq(gc, irqd_to_hwirq(d));
	c->line[irqd_to_hwirq(d)].masked = false;
}

static int lb_irq_set_type(struct irq_data *d, unsigned int type)
{
	struct gpio_chip *gc = irq_data_get_irq_chip_data(d);
	struct lb_chip *c = gpiochip_get_data(gc);

	type &= IRQ_TYPE_SENSE_MASK;
	/* a wire has no level latch: only edges are supported */
	if (type & ~IRQ_TYPE_EDGE_BOTH)
		return -EINVAL;
	c->line[irqd_to_hwirq(d)].type = type;
	return 0;
}

static const struct irq_chip lb_irq_chip = {
	.name = "gpio-loopback",
	.irq_mask = lb_irq_mask,
	.irq_unmask = lb_irq_unmask,
	.irq_set_type = lb_irq_set_type,
	.flags = IRQCHIP_IMMUTABLE | IRQCHIP_SKIP_SET_WAKE,
	GPIOCHIP_IRQ_RESOURCE_HELPERS,
};

/* ---- load / unload ---- */

static int lb_dropped_get(void *data, u64 *val)
{
	*val = READ_ONCE(lb->dropped);
	return 0;
}
DEFINE_DEBUGFS_ATTRIBUTE(lb_dropped_fops, lb_dropped_get, NULL, "%llu\n");

static int __init lb_init(void)
{
	struct gpio_irq_chip *girq;
	unsigned int i;
	int ret;

	if (ngpio < 2 || ngpio > LB_MAX_LINES) {
		pr_err("gpio_loopback: ngpio=%u out of range 2..%d\n",
		       ngpio, LB_MAX_LINES);
		return -EINVAL;
	}
	lb = kzalloc(sizeof(*lb), GFP_KERNEL);
	if (!lb)
		return -ENOMEM;
	raw_spin_lock_init(&lb->lock);
	lb->work = IRQ_WORK_INIT_HARD(lb_work);
	for (i = 0; i < ngpio; i++) {
		snprintf(lb->namebuf[i], sizeof(lb->namebuf[i]), "GPIO%u", i);
		lb->names[i] = lb->namebuf[i];
		lb->line[i].masked = true;
	}
	lb_pdev = platform_device_register_simple("gpio-loopback", -1, NULL, 0);
	if (IS_ERR(lb_pdev)) {
		ret = PTR_ERR(lb_pdev);
		goto free;
	}
	lb->gc.label = "gpio-loopback";
	lb->gc.parent = &lb_pdev->dev;
	lb->gc.owner = THIS_MODULE;
	lb->gc.base = -1;
	lb->gc.ngpio = ngpio;
	lb->gc.names = lb->names;
	lb->gc.can_sleep = false;
	lb->gc.get = lb_get;
	lb->gc.set = lb_set;
	lb->gc.set_multiple = lb_set_multiple;
	lb->gc.get_direction = lb_get_direction;
	lb->gc.direction_input = lb_direction_input;
	lb->gc.direction_output = lb_direction_output;
	girq = &lb->gc.irq;
	gpio_irq_chip_set_chip(girq, &lb_irq_chip);
	girq->handler = handle_simple_irq;
	girq->default_type = IRQ_TYPE_NONE;
	ret = gpiochip_add_data(&lb->gc, lb);
	if (ret)
		goto unreg;
	lb_dir = debugfs_create_dir("gpio_loopback", NULL);
	debugfs_create_file_unsafe("dropped", 0444, lb_dir, NULL,
				   &lb_dropped_fops);
	return 0;
unreg:
	platform_device_unregister(lb_pdev);
free:
	kfree(lb);
	return ret;
}

static void __exit lb_exit(void)
{
	debugfs_remove_recursive(lb_dir);
	gpiochip_remove(&lb->gc);
	/* no more lb_set() can queue: wait for a pending raise to finish */
	irq_work_sync(&lb->work);
	platform_device_unregister(lb_pdev);
	kfree(lb);
}

module_init(lb_init);
module_exit(lb_exit);
MODULE_DESCRIPTION("GPIO loopback chip: output line N drives input line N+1");
MODULE_LICENSE("GPL");
