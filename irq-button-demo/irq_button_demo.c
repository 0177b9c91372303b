// SPDX-License-Identifier: GPL-2.0
/*
 * irq_button_demo - a threaded GPIO IRQ handler measured by rt_tracer
 *
 * The hard handler timestamps the edge and wakes the IRQ thread; the thread
 * debounces in software, busy-works work_us and records when it started and
 * finished. /sys/kernel/irq_button_demo/ exposes counts and the last run;
 * its file names are a contract with rpi-agent.
 */
#include <linux/module.h>
#include <linux/gpio/consumer.h>
#include <linux/gpio/driver.h>
#include <linux/gpio/machine.h>
#include <linux/interrupt.h>
#include <linux/kobject.h>
#include <linux/sysfs.h>
#include <linux/ktime.h>
#include <linux/delay.h>
#include <linux/seqlock.h>

#define DEMO_WORK_MAX_US 100000

static char *chip = "pinctrl-bcm2711";
module_param(chip, charp, 0444);
MODULE_PARM_DESC(chip, "GPIO chip label (default pinctrl-bcm2711)");
static unsigned int line = 17;
module_param(line, uint, 0444);
MODULE_PARM_DESC(line, "line offset on the chip (default 17)");
static char *edge = "rising";
module_param(edge, charp, 0444);
MODULE_PARM_DESC(edge, "rising, falling or both");
static unsigned int debounce_us;
module_param(debounce_us, uint, 0444);
MODULE_PARM_DESC(debounce_us, "drop edges closer than this to the last one");
static unsigned int work_us;
module_param(work_us, uint, 0444);
MODULE_PARM_DESC(work_us, "busy work in the IRQ thread, us (<= 100000)");

/* ---- state ---- */

static struct gpio_desc *desc;
static int irq = -1;
static struct kobject *demo_kobj;
static unsigned int cur_work_us;
static struct module *chip_owner;

/* written by the hard handler and the thread; IRQF_ONESHOT serialises them */
static u64 hard_ns;
static u64 last_accepted_ns;
static atomic64_t hard_count, thread_count, debounced;

/* the last completed run, read by sysfs without tearing */
static DEFINE_RAW_SPINLOCK(last_lock);
static seqcount_raw_spinlock_t last_seq =
	SEQCNT_RAW_SPINLOCK_ZERO(last_seq, &last_lock);
static struct {
	u64 seq, hard, start, done;
} last;

/* ---- IRQ handlers ---- */

/* demo_hard - stamp the edge in hard IRQ context, defer the rest */
static irqreturn_t demo_hard(int irq_nr, void *data)
{
	WRITE_ONCE(hard_ns, ktime_get_ns());
	atomic64_inc(&hard_count);
	return IRQ_WAKE_THREAD;
}

/* demo_thread - debounce, spin work_us of real CPU work, publish the run */
static irqreturn_t demo_thread(int irq_nr, void *data)
{
	u64 start = ktime_get_ns(), hard = READ_ONCE(hard_ns), end, done;
	unsigned long flags;
	u64 seq;

	if (debounce_us && last_accepted_ns &&
	    hard - last_accepted_ns < (u64)debounce_us * NSEC_PER_USEC) {
		atomic64_inc(&debounced);
		return IRQ_HANDLED;
	}
	last_accepted_ns = hard;
	/* a ktime spin, not a sleep: the work must occupy the CPU */
	end = start + (u64)READ_ONCE(cur_work_us) * NSEC_PER_USEC;
	while (ktime_get_ns() < end)
		cpu_relax();
	done = ktime_get_ns();
	seq = atomic64_inc_return(&thread_count);
	raw_spin_lock_irqsave(&last_lock, flags);
	write_seqcount_begin(&last_seq);
	last.seq = seq;
	last.hard = hard;
	last.start = start;
	last.done = done;
	write_seqcount_end(&last_seq);
	raw_spin_unlock_irqrestore(&last_lock, flags);
	return IRQ_HANDLED;
}

/* ---- sysfs ---- */

/* demo_last - a consistent copy of the last run */
static void demo_last(u64 *v)
{
	unsigned int s;

	do {
		s = read_seqcount_begin(&last_seq);
		v[0] = last.seq;
		v[1] = last.hard;
		v[2] = last.start;
		v[3] = last.done;
	} while (read_seqcount_retry(&last_seq, s));
}

static ssize_t show(struct kobject *k, struct kobj_attribute *a, char *buf)
{
	const char *n = a->attr.name;
	u64 v[4];

	demo_last(v);
	if (!strcmp(n, "chip"))
		return sysfs_emit(buf, "%s\n", chip);
	if (!strcmp(n, "line"))
		return sysfs_emit(buf, "%u\n", line);
	if (!strcmp(n, "irq"))
		return sysfs_emit(buf, "%d\n", irq);
	if (!strcmp(n, "edge"))
		return sysfs_emit(buf, "%s\n", edge);
	if (!strcmp(n, "debounce_us"))
		return sysfs_emit(buf, "%u\n", debounce_us);
	if (!strcmp(n, "work_us"))
		return sysfs_emit(buf, "%u\n", READ_ONCE(cur_work_us));
	if (!strcmp(n, "hard_count"))
		return sysfs_emit(buf, "%lld\n", atomic64_read(&hard_count));
	if (!strcmp(n, "thread_count"))
		return sysfs_emit(buf, "%lld\n", atomic64_read(&thread_count));
	if (!strcmp(n, "debounced"))
		return sysfs_emit(buf, "%lld\n", atomic64_read(&debounced));
	if (!strcmp(n, "last_delay_ns"))
		return sysfs_emit(buf, "%llu\n", v[0] ? v[2] - v[1] : 0);
	if (!strcmp(n, "last_handler_ns"))
		return sysfs_emit(buf, "%llu\n", v[0] ? v[3] - v[2] : 0);
	return sysfs_emit(buf, "%llu %llu %llu %llu\n", v[0], v[1], v[2], v[3]);
}

static ssize_t store(struct kobject *k, struct kobj_attribute *a,
		     const char *buf, size_t len)
{
	unsigned int v;
	unsigned long flags;

	if (kstrtouint(buf, 0, &v))
		return -EINVAL;
	if (!strcmp(a->attr.name, "work_us")) {
		if (v > DEMO_WORK_MAX_US)
			return -EINVAL;
		WRITE_ONCE(cur_work_us, v);
		return len;
	}
	if (v != 1)
		return -EINVAL;
	/* keep the IRQ quiet so counts and the last run reset together */
	disable_irq(irq);
	atomic64_set(&hard_count, 0);
	atomic64_set(&thread_count, 0);
	atomic64_set(&debounced, 0);
	last_accepted_ns = 0;
	raw_spin_lock_irqsave(&last_lock, flags);
	write_seqcount_begin(&last_seq);
	memset(&last, 0, sizeof(last));
	write_seqcount_end(&last_seq);
	raw_spin_unlock_irqrestore(&last_lock, flags);
	enable_irq(irq);
	return len;
}

#define RO(n) static struct kobj_attribute n##_attr = __ATTR(n, 0444, show, NULL)
RO(chip); RO(line); RO(irq); RO(edge); RO(debounce_us); RO(hard_count);
RO(thread_count); RO(debounced); RO(last_delay_ns); RO(last_handler_ns);
RO(last_pulse);
static struct kobj_attribute work_us_attr = __ATTR(work_us, 0644, show, store);
static struct kobj_attribute reset_attr = __ATTR(reset, 0200, NULL, store);

static struct attribute *demo_attrs[] = {
	&chip_attr.attr, &line_attr.attr, &irq_attr.attr, &edge_attr.attr,
	&debounce_us_attr.attr, &hard_count_attr.attr,
	&thread_count_attr.attr, &debounced_attr.attr,
	&last_delay_ns_attr.attr, &last_handler_ns_attr.attr,
	&last_pulse_attr.attr, &work_us_attr.attr, &reset_attr.attr, NULL,
};
ATTRIBUTE_GROUPS(demo);

/* ---- load / unload ---- */

static int __init demo_init(void)
{
	struct gpio_device *gdev;
	struct gpio_chip *gc;
	unsigned long flags;
	int ret;

	if (!strcmp(edge, "rising")) {
		flags = IRQF_TRIGGER_RISING;
	} else if (!strcmp(edge, "falling")) {
		flags = IRQF_TRIGGER_FALLING;
	} else if (!strcmp(edge, "both")) {
		flags = IRQF_TRIGGER_RISING | IRQF_TRIGGER_FALLING;
	} else {
		pr_err("irq_button_demo: edge=%s: not rising, falling or both\n",
		       edge);
		return -EINVAL;
	}
	if (work_us > DEMO_WORK_MAX_US) {
		pr_err("irq_button_demo: work_us=%u above %d\n", work_us,
		       DEMO_WORK_MAX_US);
		return -EINVAL;
	}
	cur_work_us = work_us;
	gdev = gpio_device_find_by_label(chip);
	if (!gdev) {
		pr_err("irq_button_demo: no GPIO chip labelled %s\n", chip);
		return -ENODEV;
	}
	gc = gpio_device_get_chip(gdev);
	if (!gc || line >= gc->ngpio) {
		pr_err("irq_button_demo: line %u not on %s\n", line, chip);
		ret = -EINVAL;
		goto put;
	}
	/* the chip's driver must outlive our descriptor and IRQ */
	if (!try_module_get(gc->owner)) {
		pr_err("irq_button_demo: %s is going away\n", chip);
		ret = -ENODEV;
		goto put;
	}
	chip_owner = gc->owner;
	desc = gpiochip_request_own_desc(gc, line, "irq_button_demo",
					 GPIO_LOOKUP_FLAGS_DEFAULT, GPIOD_IN);
	if (IS_ERR(desc)) {
		ret = PTR_ERR(desc);
		pr_err("irq_button_demo: %s line %u: cannot request (%d)\n",
		       chip, line, ret);
		goto put_mod;
	}
	irq = gpiod_to_irq(desc);
	if (irq < 0) {
		ret = irq;
		pr_err("irq_button_demo: %s line %u: no IRQ (%d)\n", chip,
		       line, ret);
		goto free_desc;
	}
	ret = request_threaded_irq(irq, demo_hard, demo_thread,
				   IRQF_ONESHOT | flags, "irq_button_demo",
				   &desc);
	if (ret) {
		pr_err("irq_button_demo: IRQ %d: request failed (%d)\n", irq,
		       ret);
		goto free_desc;
	}
	demo_kobj = kobject_create_and_add("irq_button_demo", kernel_kobj);
	if (!demo_kobj) {
		ret = -ENOMEM;
		goto free_irq;
	}
	ret = sysfs_create_groups(demo_kobj, demo_groups);
	if (ret)
		goto put_kobj;
	gpio_device_put(gdev);
	return 0;
put_kobj:
	kobject_put(demo_kobj);
free_irq:
	free_irq(irq, &desc);
free_desc:
	gpiochip_free_own_desc(desc);
put_mod:
	module_put(chip_owner);
put:
	gpio_device_put(gdev);
	return ret;
}

static void __exit demo_exit(void)
{
	kobject_put(demo_kobj);
	/* waits for a running thread handler before the descriptor goes */
	free_irq(irq, &desc);
	gpiochip_free_own_desc(desc);
	module_put(chip_owner);
}

module_init(demo_init);
module_exit(demo_exit);
MODULE_DESCRIPTION("Threaded GPIO IRQ handler for rt_tracer's IRQ metrics");
MODULE_LICENSE("GPL");
