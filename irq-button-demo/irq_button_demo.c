// SPDX-License-Identifier: GPL-2.0
/*
 * irq_button_demo - a threaded GPIO IRQ handler with measurable timing
 *
 * Requests one GPIO line (by chip label and offset, never by global
 * number) as an input, and a threaded IRQ on its edges. The hard handler
 * timestamps the edge; the IRQ thread applies a software debounce and
 * busy-works for work_us, so that its delay (hard IRQ -> thread) and its
 * handling time can be traced by rt_tracer and read in
 * /sys/kernel/irq_button_demo/.
 */

#include <linux/gpio/consumer.h>
#include <linux/gpio/driver.h>
#include <linux/gpio/machine.h>
#include <linux/interrupt.h>
#include <linux/kobject.h>
#include <linux/ktime.h>
#include <linux/module.h>
#include <linux/spinlock.h>
#include <linux/string.h>
#include <linux/sysfs.h>

/* ---------------------------------------------------------------------
 * Parameters
 */

#define DEMO_MAX_WORK_US	100000

static char *chip = "pinctrl-bcm2711";
module_param(chip, charp, 0444);
MODULE_PARM_DESC(chip, "GPIO chip label (default pinctrl-bcm2711)");

static unsigned int line = 17;
module_param(line, uint, 0444);
MODULE_PARM_DESC(line, "line offset in the chip (default 17)");

static char *edge = "rising";
module_param(edge, charp, 0444);
MODULE_PARM_DESC(edge, "rising (default), falling or both");

static unsigned int debounce_us;
module_param(debounce_us, uint, 0444);
MODULE_PARM_DESC(debounce_us, "drop edges closer than this to the last accepted one (us)");

static unsigned int work_us;
module_param(work_us, uint, 0444);
MODULE_PARM_DESC(work_us, "busy work in the IRQ thread (us, <= 100000)");

/* ---------------------------------------------------------------------
 * State
 */

/**
 * struct demo_stats - counters and the last run, under demo.lock
 * @hard_count: hard handler runs
 * @thread_count: thread runs that did the work (debounced ones excluded)
 * @debounced: thread runs dropped by the debounce
 * @merged: edges handled by a thread run that an earlier edge had woken
 *	(edge IRQ wakeups of a pending thread coalesce, as on real hardware)
 * @empty: thread runs that found no new edge (their edge was merged into
 *	the run before)
 * @wakeups: thread runs that began with a wakeup (genirq runs the thread
 *	again without sleeping when an edge came during its run)
 * @seen: @hard_count as the last thread run found it
 * @hard_ns: time of the latest hard IRQ
 * @accepted_ns: hard IRQ time of the last accepted edge (debounce base)
 * @last_hard_ns: hard IRQ time of the last completed run
 * @last_start_ns: its thread start
 * @last_done_ns: its end of work
 */
struct demo_stats {
	u64 hard_count;
	u64 thread_count;
	u64 debounced;
	u64 merged;
	u64 empty;
	u64 wakeups;
	u64 seen;
	u64 hard_ns;
	u64 accepted_ns;
	u64 last_hard_ns;
	u64 last_start_ns;
	u64 last_done_ns;
};

/**
 * struct demo - the module's single instance
 * @lock: raw: taken by the hard handler, also on PREEMPT_RT
 * @stats: see struct demo_stats
 * @nvcsw: the IRQ thread's voluntary switches at its last run (under @lock;
 *	thread bookkeeping, not a statistic: reset leaves it)
 * @gdev: the chip's device, referenced while the line is held
 * @owner: the chip's module, pinned while the line is held
 * @desc: the requested line
 * @irq: its Linux IRQ number
 * @trigger: IRQF_TRIGGER_* from @edge
 * @kobj: /sys/kernel/irq_button_demo
 */
struct demo {
	raw_spinlock_t lock;
	struct demo_stats stats;
	unsigned long nvcsw;
	struct gpio_device *gdev;
	struct module *owner;
	struct gpio_desc *desc;
	int irq;
	unsigned long trigger;
	struct kobject *kobj;
};

static struct demo demo = {
	.lock = __RAW_SPIN_LOCK_UNLOCKED(demo.lock),
};

/* ---------------------------------------------------------------------
 * IRQ handlers
 */

/** demo_hard - timestamp the edge, wake the thread */
static irqreturn_t demo_hard(int irq, void *data)
{
	u64 now = ktime_get_ns();

	raw_spin_lock(&demo.lock);
	demo.stats.hard_count++;
	demo.stats.hard_ns = now;
	raw_spin_unlock(&demo.lock);
	return IRQ_WAKE_THREAD;
}

/**
 * demo_thread - account the edges, debounce, busy-work for work_us
 * @irq: the line's Linux IRQ
 * @data: unused (one instance)
 *
 * Every hard IRQ is accounted exactly once: as the edge of a run (done or
 * debounced) or as merged into one, so that hard_count == thread_count +
 * debounced + merged whenever the line is quiet.
 */
static irqreturn_t demo_thread(int irq, void *data)
{
	u64 start = ktime_get_ns(), hard, end, done, edges;
	unsigned long flags;

	raw_spin_lock_irqsave(&demo.lock, flags);
	/* Only sleeping switches count in nvcsw: it moved iff we slept. */
	if (current->nvcsw != demo.nvcsw)
		demo.stats.wakeups++;
	demo.nvcsw = current->nvcsw;
	edges = demo.stats.hard_count - demo.stats.seen;
	if (!edges) {
		demo.stats.empty++;
		raw_spin_unlock_irqrestore(&demo.lock, flags);
		return IRQ_HANDLED;
	}
	demo.stats.seen = demo.stats.hard_count;
	demo.stats.merged += edges - 1;
	hard = demo.stats.hard_ns;
	if (debounce_us && demo.stats.thread_count &&
	    hard - demo.stats.accepted_ns < (u64)debounce_us * NSEC_PER_USEC) {
		demo.stats.debounced++;
		raw_spin_unlock_irqrestore(&demo.lock, flags);
		return IRQ_HANDLED;
	}
	demo.stats.accepted_ns = hard;
	raw_spin_unlock_irqrestore(&demo.lock, flags);

	/* Real CPU work, so that preemption of the thread shows in its time. */
	end = start + (u64)READ_ONCE(work_us) * NSEC_PER_USEC;
	do {
		done = ktime_get_ns();
		cpu_relax();
	} while (done < end);

	raw_spin_lock_irqsave(&demo.lock, flags);
	demo.stats.thread_count++;
	demo.stats.last_hard_ns = hard;
	demo.stats.last_start_ns = start;
	demo.stats.last_done_ns = done;
	raw_spin_unlock_irqrestore(&demo.lock, flags);
	return IRQ_HANDLED;
}

/* ---------------------------------------------------------------------
 * sysfs: /sys/kernel/irq_button_demo/
 */

/** demo_snapshot - a consistent copy of the stats */
static void demo_snapshot(struct demo_stats *s)
{
	unsigned long flags;

	raw_spin_lock_irqsave(&demo.lock, flags);
	*s = demo.stats;
	raw_spin_unlock_irqrestore(&demo.lock, flags);
}

#define DEMO_STAT_ATTR(_name, _expr)					\
static ssize_t _name##_show(struct kobject *k, struct kobj_attribute *a, \
			    char *buf)					\
{									\
	struct demo_stats s;						\
									\
	demo_snapshot(&s);						\
	return sysfs_emit(buf, "%llu\n", (unsigned long long)(_expr));	\
}									\
static struct kobj_attribute _name##_attr = __ATTR_RO(_name)

DEMO_STAT_ATTR(hard_count, s.hard_count);
DEMO_STAT_ATTR(thread_count, s.thread_count);
DEMO_STAT_ATTR(debounced, s.debounced);
DEMO_STAT_ATTR(merged, s.merged);
DEMO_STAT_ATTR(empty, s.empty);
DEMO_STAT_ATTR(wakeups, s.wakeups);
DEMO_STAT_ATTR(last_delay_ns, s.last_start_ns - s.last_hard_ns);
DEMO_STAT_ATTR(last_handler_ns, s.last_done_ns - s.last_start_ns);

/** last_pulse_show - "SEQ HARD_NS THREAD_START_NS DONE_NS" of the last run */
static ssize_t last_pulse_show(struct kobject *k, struct kobj_attribute *a,
			       char *buf)
{
	struct demo_stats s;

	demo_snapshot(&s);
	return sysfs_emit(buf, "%llu %llu %llu %llu\n", s.thread_count,
			  s.last_hard_ns, s.last_start_ns, s.last_done_ns);
}
static struct kobj_attribute last_pulse_attr = __ATTR_RO(last_pulse);

/** chip_show - the chip label the line belongs to */
static ssize_t chip_show(struct kobject *k, struct kobj_attribute *a,
			 char *buf)
{
	return sysfs_emit(buf, "%s\n", chip);
}
static struct kobj_attribute chip_attr = __ATTR_RO(chip);

/** line_show - the line offset */
static ssize_t line_show(struct kobject *k, struct kobj_attribute *a,
			 char *buf)
{
	return sysfs_emit(buf, "%u\n", line);
}
static struct kobj_attribute line_attr = __ATTR_RO(line);

/** irq_show - the Linux IRQ number */
static ssize_t irq_show(struct kobject *k, struct kobj_attribute *a, char *buf)
{
	return sysfs_emit(buf, "%d\n", demo.irq);
}
static struct kobj_attribute irq_attr = __ATTR_RO(irq);

/** edge_show - rising, falling or both */
static ssize_t edge_show(struct kobject *k, struct kobj_attribute *a,
			 char *buf)
{
	return sysfs_emit(buf, "%s\n", edge);
}
static struct kobj_attribute edge_attr = __ATTR_RO(edge);

/** debounce_us_show - the debounce interval */
static ssize_t debounce_us_show(struct kobject *k, struct kobj_attribute *a,
				char *buf)
{
	return sysfs_emit(buf, "%u\n", debounce_us);
}
static struct kobj_attribute debounce_us_attr = __ATTR_RO(debounce_us);

/** work_us_show - the thread's busy work */
static ssize_t work_us_show(struct kobject *k, struct kobj_attribute *a,
			    char *buf)
{
	return sysfs_emit(buf, "%u\n", READ_ONCE(work_us));
}

/** work_us_store - change the busy work; takes effect at the next edge */
static ssize_t work_us_store(struct kobject *k, struct kobj_attribute *a,
			     const char *buf, size_t count)
{
	unsigned int v;

	if (kstrtouint(buf, 0, &v) || v > DEMO_MAX_WORK_US)
		return -EINVAL;
	WRITE_ONCE(work_us, v);
	return count;
}
static struct kobj_attribute work_us_attr = __ATTR_RW(work_us);

/** reset_store - "1" zeroes counts and last values */
static ssize_t reset_store(struct kobject *k, struct kobj_attribute *a,
			   const char *buf, size_t count)
{
	unsigned long flags;
	bool v;

	if (kstrtobool(buf, &v) || !v)
		return -EINVAL;
	raw_spin_lock_irqsave(&demo.lock, flags);
	memset(&demo.stats, 0, sizeof(demo.stats));
	raw_spin_unlock_irqrestore(&demo.lock, flags);
	return count;
}
static struct kobj_attribute reset_attr = __ATTR_WO(reset);

static struct attribute *demo_attrs[] = {
	&chip_attr.attr, &line_attr.attr, &irq_attr.attr, &edge_attr.attr,
	&debounce_us_attr.attr, &hard_count_attr.attr,
	&thread_count_attr.attr, &debounced_attr.attr, &merged_attr.attr,
	&empty_attr.attr, &wakeups_attr.attr,
	&last_delay_ns_attr.attr, &last_handler_ns_attr.attr,
	&last_pulse_attr.attr, &work_us_attr.attr, &reset_attr.attr,
	NULL,
};

static const struct attribute_group demo_group = {
	.attrs = demo_attrs,
};

/* ---------------------------------------------------------------------
 * Module load and unload
 */

/** demo_parse_edge - IRQF_TRIGGER_* for @edge, 0 if unknown */
static unsigned long demo_parse_edge(const char *s)
{
	if (sysfs_streq(s, "rising"))
		return IRQF_TRIGGER_RISING;
	if (sysfs_streq(s, "falling"))
		return IRQF_TRIGGER_FALLING;
	if (sysfs_streq(s, "both"))
		return IRQF_TRIGGER_RISING | IRQF_TRIGGER_FALLING;
	return 0;
}

/** demo_get_line - find the chip, request the line as an input */
static int demo_get_line(void)
{
	struct gpio_chip *gc;
	int ret;

	demo.gdev = gpio_device_find_by_label(chip);
	if (!demo.gdev) {
		pr_err("irq_button_demo: no GPIO chip labelled %s\n", chip);
		return -ENODEV;
	}
	gc = gpio_device_get_chip(demo.gdev);
	if (!gc || line >= gc->ngpio) {
		pr_err("irq_button_demo: line %u out of range for %s\n", line,
		       chip);
		ret = -EINVAL;
		goto err_put;
	}
	/*
	 * gpiochip_request_own_desc() is what 6.12 exports for requesting a
	 * line by chip and offset; unlike gpiod_request() it does not pin
	 * the chip's module, so pin it here.
	 */
	demo.owner = gc->owner;
	if (!try_module_get(demo.owner)) {
		pr_err("irq_button_demo: GPIO chip %s is going away\n", chip);
		ret = -ENODEV;
		goto err_put;
	}
	demo.desc = gpiochip_request_own_desc(gc, line, "irq_button_demo",
					      GPIO_LOOKUP_FLAGS_DEFAULT,
					      GPIOD_IN);
	if (IS_ERR(demo.desc)) {
		ret = PTR_ERR(demo.desc);
		demo.desc = NULL;
		pr_err("irq_button_demo: %s line %u: %s (%d)\n", chip, line,
		       ret == -EBUSY ? "busy" : "request failed", ret);
		goto err_mod;
	}
	return 0;

err_mod:
	module_put(demo.owner);
err_put:
	gpio_device_put(demo.gdev);
	return ret;
}

/** demo_put_line - release what demo_get_line() took */
static void demo_put_line(void)
{
	gpiochip_free_own_desc(demo.desc);
	module_put(demo.owner);
	gpio_device_put(demo.gdev);
}

/** demo_init - validate parameters, request line and IRQ, create sysfs */
static int __init demo_init(void)
{
	int ret;

	demo.trigger = demo_parse_edge(edge);
	if (!demo.trigger) {
		pr_err("irq_button_demo: edge=%s: not rising, falling or both\n",
		       edge);
		return -EINVAL;
	}
	if (work_us > DEMO_MAX_WORK_US) {
		pr_err("irq_button_demo: work_us=%u above %u\n", work_us,
		       DEMO_MAX_WORK_US);
		return -EINVAL;
	}
	ret = demo_get_line();
	if (ret)
		return ret;

	demo.irq = gpiod_to_irq(demo.desc);
	if (demo.irq < 0) {
		ret = demo.irq;
		pr_err("irq_button_demo: %s line %u has no IRQ (%d)\n", chip,
		       line, ret);
		goto err_line;
	}
	ret = request_threaded_irq(demo.irq, demo_hard, demo_thread,
				   IRQF_ONESHOT | demo.trigger,
				   "irq_button_demo", &demo);
	if (ret) {
		pr_err("irq_button_demo: IRQ %d: request failed (%d)\n",
		       demo.irq, ret);
		goto err_line;
	}
	demo.kobj = kobject_create_and_add("irq_button_demo", kernel_kobj);
	if (!demo.kobj) {
		ret = -ENOMEM;
		pr_err("irq_button_demo: no memory for sysfs\n");
		goto err_irq;
	}
	ret = sysfs_create_group(demo.kobj, &demo_group);
	if (ret) {
		pr_err("irq_button_demo: sysfs group failed (%d)\n", ret);
		goto err_kobj;
	}
	pr_info("irq_button_demo: %s line %u, IRQ %d, edge %s\n", chip, line,
		demo.irq, edge);
	return 0;

err_kobj:
	kobject_put(demo.kobj);
err_irq:
	free_irq(demo.irq, &demo);
err_line:
	demo_put_line();
	return ret;
}

/** demo_exit - sysfs first (readers), then the IRQ, then the line */
static void __exit demo_exit(void)
{
	sysfs_remove_group(demo.kobj, &demo_group);
	kobject_put(demo.kobj);
	/* free_irq() waits for the hard handler and the thread to finish. */
	free_irq(demo.irq, &demo);
	demo_put_line();
}

module_init(demo_init);
module_exit(demo_exit);

MODULE_DESCRIPTION("Threaded GPIO IRQ handler with timing in sysfs");
MODULE_LICENSE("GPL");
