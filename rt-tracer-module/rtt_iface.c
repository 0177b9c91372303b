// SPDX-License-Identifier: GPL-2.0
/*
 * rt_tracer interfaces: /sys/kernel/rt_tracer/ and /dev/rt_tracer.
 *
 * /dev/rt_tracer: any number of openers may use the ioctls; one file at a
 * time may be open for reading (a second gets EBUSY), because the record
 * stream (violation/worst/exit notices, snapshots) is consumed by reading.
 * read() returns whole records only; a buffer smaller than the next record
 * gets EMSGSIZE and the record stays queued. Every open file may start
 * budget windows; it is readable (EPOLLIN) while overruns of the windows
 * it started are not yet taken (RTT_IOC_WINDOW_OVERRUNS).
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/module.h>
#include <linux/kobject.h>
#include <linux/sysfs.h>
#include <linux/miscdevice.h>
#include <linux/fs.h>
#include <linux/poll.h>
#include <linux/uaccess.h>
#include <linux/slab.h>
#include <linux/vmalloc.h>
#include <linux/bitmap.h>
#include <linux/ctype.h>
#include <linux/capability.h>
#include <linux/string.h>
#include <linux/timekeeping.h>

#include "rtt_internal.h"

/*
 * The record and argument sizes user space relies on (the Rust mirror in
 * rpi-agent/crates/rt-uapi asserts the same numbers): a layout change
 * fails the build here, not a reader in the field.
 */
static_assert(sizeof(struct rtt_breakdown) == 48);
static_assert(sizeof(struct rtt_event) == 64);
static_assert(sizeof(struct rtt_culprit) == 32);
static_assert(sizeof(struct rtt_metric_stats) == 656);
static_assert(sizeof(struct rtt_task_info) == 48);
static_assert(sizeof(struct rtt_rec_hdr) == 16);
static_assert(sizeof(struct rtt_rec_task) == 3352);
static_assert(sizeof(struct rtt_rec_violation) == 144);
static_assert(sizeof(struct rtt_rec_worst) == 1816);
static_assert(sizeof(struct rtt_rec_dropped) == 40);
static_assert(sizeof(struct rtt_track) == 16);
static_assert(sizeof(struct rtt_bound) == 16);
static_assert(sizeof(struct rtt_lin_hist) == 24);
static_assert(sizeof(struct rtt_info) == 24);
static_assert(sizeof(struct rtt_rec_window) == 1856);
static_assert(sizeof(struct rtt_rec_window_stats) == 880);
static_assert(sizeof(struct rtt_window_start) == 32);
static_assert(sizeof(struct rtt_window_result) == 96);
static_assert(sizeof(struct rtt_window_bind) == 264);

/* ---- sysfs ---- */

#define RTT_MAX_WRITE	96	/* longest accepted verb line */
#define RTT_MAX_TOK	4

static struct kobject *rtt_kobj;
static struct rtt_report *rtt_text_report;	/* formatting scratch */

/*
 * Snapshots of the `tasks` text, one per open file reading it (see
 * rtt_tasks_read()). More concurrent readers than this: the least recently
 * used one loses its snapshot and sees an early end of file.
 */
#define RTT_TEXT_READERS	4

struct rtt_text {
	const struct file *f;	/* reader; NULL: free */
	char *buf;
	size_t len, cap;
	u64 used;		/* rtt_text_clock at its last read */
};

static DEFINE_MUTEX(rtt_text_mutex);	/* the snapshots */
static struct rtt_text rtt_texts[RTT_TEXT_READERS];
static u64 rtt_text_clock;

static void rtt_text_drop(struct rtt_text *t)
{
	kvfree(t->buf);
	memset(t, 0, sizeof(*t));
}

static int rtt_split(const char *buf, size_t count, char *copy, char **tok)
{
	char *p = copy, *t;
	int n = 0;

	if (count >= RTT_MAX_WRITE)
		return -E2BIG;
	memcpy(copy, buf, count);
	copy[count] = '\0';
	while ((t = strsep(&p, " \t\n")) != NULL) {
		if (!*t)
			continue;
		if (n == RTT_MAX_TOK)
			return -EINVAL;
		tok[n++] = t;
	}
	return n;
}

static const char *rtt_errstr(int err)
{
	switch (err) {
	case -E2BIG: return "input too long";
	case -EINVAL: return "malformed input";
	case -ERANGE: return "number out of range";
	case -ESRCH: return "no such process";
	case -EEXIST: return "already tracked";
	case -ENOENT: return "not tracked";
	case -ENOSPC: return "capacity reached (module parameter capacity)";
	case -ENXIO: return "IRQ has no handler thread";
	case -ENAMETOOLONG: return "path too long";
	default: return "failed";
	}
}

static ssize_t rtt_fail(const char *verb, int err)
{
	pr_warn_ratelimited("%s: %s (%d)\n", verb, rtt_errstr(err), err);
	return err;
}

static int rtt_parse_id(const char *s, s32 *v)
{
	int ret = kstrtos32(s, 10, v);

	if (ret)
		return ret;
	return *v < 0 ? -EINVAL : 0;
}

/* "ID" or "ID trace" */
static ssize_t rtt_add_store(const char *verb, u32 kind, const char *buf,
			     size_t count)
{
	char copy[RTT_MAX_WRITE], *tok[RTT_MAX_TOK];
	u32 flags = 0;
	int n, ret;
	s32 id;

	n = rtt_split(buf, count, copy, tok);
	if (n < 1 || n > 2)
		return rtt_fail(verb, n < 0 ? n : -EINVAL);
	ret = rtt_parse_id(tok[0], &id);
	if (ret)
		return rtt_fail(verb, ret);
	if (n == 2) {
		if (strcmp(tok[1], "trace"))
			return rtt_fail(verb, -EINVAL);
		flags |= RTT_F_TRACE;
	}
	if (kind != RTT_TRACK_IRQ && id == 0)
		return rtt_fail(verb, -EINVAL);
	ret = rtt_ctl_add(kind, id, flags);
	return ret ? rtt_fail(verb, ret) : count;
}

static ssize_t add_pid_store(struct kobject *k, struct kobj_attribute *a,
			     const char *buf, size_t count)
{
	return rtt_add_store("add_pid", RTT_TRACK_PID, buf, count);
}

static ssize_t add_tgid_store(struct kobject *k, struct kobj_attribute *a,
			      const char *buf, size_t count)
{
	return rtt_add_store("add_tgid", RTT_TRACK_TGID, buf, count);
}

static ssize_t add_irq_store(struct kobject *k, struct kobj_attribute *a,
			     const char *buf, size_t count)
{
	return rtt_add_store("add_irq", RTT_TRACK_IRQ, buf, count);
}

static ssize_t del_pid_store(struct kobject *k, struct kobj_attribute *a,
			     const char *buf, size_t count)
{
	char copy[RTT_MAX_WRITE], *tok[RTT_MAX_TOK];
	int n, ret;
	s32 pid;

	n = rtt_split(buf, count, copy, tok);
	if (n != 1)
		return rtt_fail("del_pid", n < 0 ? n : -EINVAL);
	ret = rtt_parse_id(tok[0], &pid);
	if (!ret && !pid)
		ret = -EINVAL;
	if (!ret)
		ret = rtt_ctl_del(RTT_TRACK_PID, pid);
	return ret ? rtt_fail("del_pid", ret) : count;
}

/* "PID NS" */
static ssize_t rtt_bound_store(const char *verb, u32 metric, const char *buf,
			       size_t count)
{
	char copy[RTT_MAX_WRITE], *tok[RTT_MAX_TOK];
	int n, ret;
	s32 pid;
	u64 ns;

	n = rtt_split(buf, count, copy, tok);
	if (n != 2)
		return rtt_fail(verb, n < 0 ? n : -EINVAL);
	ret = rtt_parse_id(tok[0], &pid);
	if (!ret && !pid)
		ret = -EINVAL;
	if (!ret)
		ret = kstrtou64(tok[1], 10, &ns);
	if (!ret)
		ret = rtt_ctl_bound(pid, metric, ns);
	return ret ? rtt_fail(verb, ret) : count;
}

#define RTT_BOUND_ATTR(name, metric)					\
static ssize_t name##_store(struct kobject *k,				\
			    struct kobj_attribute *a,			\
			    const char *buf, size_t count)		\
{									\
	return rtt_bound_store(#name, metric, buf, count);		\
}									\
static struct kobj_attribute rtt_attr_##name = __ATTR_WO(name)

RTT_BOUND_ATTR(set_slo_latency_bound, RTT_METRIC_LATENCY);
RTT_BOUND_ATTR(set_slo_response_bound, RTT_METRIC_RESPONSE);
RTT_BOUND_ATTR(set_slo_response_relief_bound, RTT_METRIC_RELIEF);
RTT_BOUND_ATTR(set_slo_irq_handling_bound, RTT_METRIC_IRQ);
RTT_BOUND_ATTR(set_slo_irq_delay_bound, RTT_METRIC_IRQ_DELAY);

/* "PID METRIC LO_NS STEP_NS" */
static ssize_t set_linear_hist_store(struct kobject *k,
				     struct kobj_attribute *a,
				     const char *buf, size_t count)
{
	char copy[RTT_MAX_WRITE], *tok[RTT_MAX_TOK];
	int n, ret, metric;
	u64 lo, step;
	s32 pid;

	n = rtt_split(buf, count, copy, tok);
	if (n != 4)
		return rtt_fail("set_linear_hist", n < 0 ? n : -EINVAL);
	ret = rtt_parse_id(tok[0], &pid);
	if (!ret && !pid)
		ret = -EINVAL;
	metric = rtt_metric_parse(tok[1]);
	if (!ret && metric < 0)
		ret = -EINVAL;
	if (!ret)
		ret = kstrtou64(tok[2], 10, &lo);
	if (!ret)
		ret = kstrtou64(tok[3], 10, &step);
	if (!ret)
		ret = rtt_ctl_lin(pid, metric, lo, step);
	return ret ? rtt_fail("set_linear_hist", ret) : count;
}

static ssize_t reset_store(struct kobject *k, struct kobj_attribute *a,
			   const char *buf, size_t count)
{
	char copy[RTT_MAX_WRITE], *tok[RTT_MAX_TOK];
	int n;

	n = rtt_split(buf, count, copy, tok);
	if (n != 1 || strcmp(tok[0], "1"))
		return rtt_fail("reset", n < 0 ? n : -EINVAL);
	rtt_ctl_reset();
	return count;
}

static ssize_t capacity_show(struct kobject *k, struct kobj_attribute *a,
			     char *buf)
{
	return sysfs_emit(buf, "%u\n", rtt_capacity);
}

static ssize_t memory_bytes_show(struct kobject *k, struct kobj_attribute *a,
				 char *buf)
{
	return sysfs_emit(buf, "%zu\n", rtt_memory_bytes);
}

static ssize_t max_windows_show(struct kobject *k, struct kobj_attribute *a,
				char *buf)
{
	return sysfs_emit(buf, "%u\n", rtt_max_windows);
}

static ssize_t windows_in_use_show(struct kobject *k, struct kobj_attribute *a,
				   char *buf)
{
	return sysfs_emit(buf, "%u\n", rtt_windows_in_use());
}

static ssize_t timers_armed_show(struct kobject *k, struct kobj_attribute *a,
				 char *buf)
{
	return sysfs_emit(buf, "%u\n", rtt_timers_armed());
}

static ssize_t window_tasks_show(struct kobject *k, struct kobj_attribute *a,
				 char *buf)
{
	return sysfs_emit(buf, "%u\n", rtt_window_tasks);
}

static ssize_t window_tasks_in_use_show(struct kobject *k,
					struct kobj_attribute *a, char *buf)
{
	return sysfs_emit(buf, "%u\n", rtt_window_tasks_in_use());
}

/*
 * A binding's spec (sysfs or ioctl), refused with one log line each: only
 * root gets this far (the sysfs file is 0644, the ioctl needs
 * CAP_SYS_ADMIN), so not rate limited: every refusal is in the log.
 */
static int rtt_bind_spec(char *line)
{
	int ret = rtt_bind_write(line);

	if (ret && ret != -ENOMEM)
		pr_warn("windows: %s (%d)\n", rtt_bind_errstr(ret), ret);
	return ret;
}

/* uprobe bindings: "p PATH:START STOP budget=NS", "-p PATH:START" */
static ssize_t windows_store(struct kobject *k, struct kobj_attribute *a,
			     const char *buf, size_t count)
{
	char *line;
	int ret;

	if (count >= RTT_BIND_SPEC_MAX) {
		pr_warn("windows: %s (%d)\n", rtt_bind_errstr(-E2BIG), -E2BIG);
		return -E2BIG;
	}
	line = kmemdup_nul(buf, count, GFP_KERNEL);
	if (!line)
		return -ENOMEM;
	ret = rtt_bind_spec(line);
	kfree(line);
	return ret ? ret : count;
}

static ssize_t windows_show(struct kobject *k, struct kobj_attribute *a,
			    char *buf)
{
	return rtt_bind_show(buf);
}

static struct kobj_attribute rtt_attr_windows = __ATTR_RW(windows);
static struct kobj_attribute rtt_attr_max_windows = __ATTR_RO(max_windows);
static struct kobj_attribute rtt_attr_windows_in_use = __ATTR_RO(windows_in_use);
static struct kobj_attribute rtt_attr_timers_armed = __ATTR_RO(timers_armed);
static struct kobj_attribute rtt_attr_window_tasks = __ATTR_RO(window_tasks);
static struct kobj_attribute rtt_attr_window_tasks_in_use =
	__ATTR_RO(window_tasks_in_use);
static struct kobj_attribute rtt_attr_add_pid = __ATTR_WO(add_pid);
static struct kobj_attribute rtt_attr_add_tgid = __ATTR_WO(add_tgid);
static struct kobj_attribute rtt_attr_add_irq = __ATTR_WO(add_irq);
static struct kobj_attribute rtt_attr_del_pid = __ATTR_WO(del_pid);
static struct kobj_attribute rtt_attr_set_linear_hist =
	__ATTR_WO(set_linear_hist);
static struct kobj_attribute rtt_attr_reset = __ATTR_WO(reset);
static struct kobj_attribute rtt_attr_capacity = __ATTR_RO(capacity);
static struct kobj_attribute rtt_attr_memory_bytes = __ATTR_RO(memory_bytes);

/* rtt_text_mutex held: append one task's text to t */
static int rtt_text_append(struct rtt_text *t, const char *s, size_t n)
{
	size_t cap = t->cap;
	char *p;

	if (t->len + n > cap) {
		while (t->len + n > cap)
			cap = cap ? 2 * cap : 16384;
		p = kvmalloc(cap, GFP_KERNEL);
		if (!p)
			return -ENOMEM;
		if (t->buf)
			memcpy(p, t->buf, t->len);
		kvfree(t->buf);
		t->buf = p;
		t->cap = cap;
	}
	memcpy(t->buf + t->len, s, n);
	t->len += n;
	return 0;
}

/* rtt_text_mutex held: format every record into t (emptied first) */
static int rtt_text_build(struct rtt_text *t)
{
	unsigned int i, n = 0;
	size_t len;
	char *tmp;
	int ret = 0;

	t->len = 0;
	tmp = kvmalloc(RTT_FORMAT_MAX, GFP_KERNEL);
	if (!tmp)
		return -ENOMEM;
	mutex_lock(&rtt_ctl_mutex);
	for (i = 0; i < rtt_capacity && !ret; i++) {
		if (!rtt_slot_report(&rtt_slots[i], rtt_text_report, NULL, NULL))
			continue;
		len = rtt_core_format(rtt_text_report, tmp + 1,
				      RTT_FORMAT_MAX - 1);
		tmp[0] = '\n';	/* blank line between tasks */
		ret = n++ ? rtt_text_append(t, tmp, len + 1) :
			    rtt_text_append(t, tmp + 1, len);
	}
	mutex_unlock(&rtt_ctl_mutex);
	kvfree(tmp);
	return ret;
}

/* rtt_text_mutex held: the snapshot of f, or NULL */
static struct rtt_text *rtt_text_of(const struct file *f)
{
	unsigned int i;

	for (i = 0; i < RTT_TEXT_READERS; i++)
		if (rtt_texts[i].f == f)
			return &rtt_texts[i];
	return NULL;
}

/* rtt_text_mutex held: a free snapshot, else the least recently used */
static struct rtt_text *rtt_text_take(const struct file *f)
{
	struct rtt_text *t = rtt_text_of(f);
	unsigned int i;

	if (!t)
		t = rtt_text_of(NULL);
	if (!t) {
		t = &rtt_texts[0];
		for (i = 1; i < RTT_TEXT_READERS; i++)
			if (rtt_texts[i].used < t->used)
				t = &rtt_texts[i];
	}
	if (t->f != f)
		rtt_text_drop(t);
	t->f = f;
	return t;
}

/*
 * `tasks` is bigger than a page and read in several calls. A read from
 * offset 0 formats a snapshot for that open file; the following offsets
 * are served from it, so each reader sees one consistent text whatever
 * other readers and the tracked tasks do meanwhile. The snapshot goes at
 * end of file; reads past it (cat reads twice there) return 0, never the
 * tail of a newer, longer text.
 */
static ssize_t rtt_tasks_read(struct file *f, struct kobject *k,
			      struct bin_attribute *a, char *buf, loff_t off,
			      size_t count)
{
	struct rtt_text *t;
	ssize_t ret = 0;

	mutex_lock(&rtt_text_mutex);
	if (off == 0) {
		t = rtt_text_take(f);
		ret = rtt_text_build(t);
		if (ret) {
			rtt_text_drop(t);
			goto out;
		}
	} else {
		t = rtt_text_of(f);
		if (!t)
			goto out;
	}
	t->used = ++rtt_text_clock;
	if (off >= t->len) {
		rtt_text_drop(t);
		goto out;
	}
	ret = min_t(size_t, count, t->len - off);
	memcpy(buf, t->buf + off, ret);
out:
	mutex_unlock(&rtt_text_mutex);
	return ret;
}

static struct bin_attribute rtt_attr_tasks = {
	.attr = { .name = "tasks", .mode = 0444 },
	.size = 0,
	.read = rtt_tasks_read,
};

static struct attribute *rtt_attrs[] = {
	&rtt_attr_add_pid.attr,
	&rtt_attr_add_tgid.attr,
	&rtt_attr_add_irq.attr,
	&rtt_attr_del_pid.attr,
	&rtt_attr_set_slo_latency_bound.attr,
	&rtt_attr_set_slo_response_bound.attr,
	&rtt_attr_set_slo_response_relief_bound.attr,
	&rtt_attr_set_slo_irq_handling_bound.attr,
	&rtt_attr_set_slo_irq_delay_bound.attr,
	&rtt_attr_set_linear_hist.attr,
	&rtt_attr_reset.attr,
	&rtt_attr_capacity.attr,
	&rtt_attr_memory_bytes.attr,
	&rtt_attr_windows.attr,
	&rtt_attr_max_windows.attr,
	&rtt_attr_windows_in_use.attr,
	&rtt_attr_timers_armed.attr,
	&rtt_attr_window_tasks.attr,
	&rtt_attr_window_tasks_in_use.attr,
	NULL,
};

static struct bin_attribute *rtt_bin_attrs[] = {
	&rtt_attr_tasks,
	NULL,
};

static const struct attribute_group rtt_group = {
	.attrs = rtt_attrs,
	.bin_attrs = rtt_bin_attrs,
};

/* ---- /dev/rt_tracer ---- */

static DEFINE_MUTEX(rtt_read_mutex);	/* the reader's state below */
static struct file *rtt_reader;
static u32 rtt_seq;
static unsigned long *rtt_snap_bits;	/* slots to snapshot */
static u32 *rtt_snap_gen;
static void *rtt_rec;			/* staged record */
static size_t rtt_rec_size;		/* 0: none staged */
static struct rtt_report *rtt_rec_report;	/* a slot, for TASK */
/* what a WORST or VIOLATION record needs of a slot */
static struct rtt_task_info rtt_rec_info;
static struct rtt_worst *rtt_rec_worst;
static u64 rtt_rec_bound, rtt_rec_worst_at;
/* the WINDOW_STATS records still owed for rtt_rec_report's TASK record */
static u32 rtt_rec_win_next = RTT_WIN_TAGS;
static u64 rtt_rec_task_at;

void rtt_iface_forget(struct rtt_slot *s)
{
	if (rtt_snap_bits)
		clear_bit(s - rtt_slots, rtt_snap_bits);
}

size_t rtt_iface_memory(void)
{
	return 2 * sizeof(struct rtt_report) + sizeof(struct rtt_worst) +
	       RTT_REC_MAX_SIZE +
	       BITS_TO_LONGS(rtt_capacity) * sizeof(long) +
	       rtt_capacity * sizeof(u32);
}

static bool rtt_have_data(void)
{
	return READ_ONCE(rtt_rec_size) ||
	       READ_ONCE(rtt_rec_win_next) < RTT_WIN_TAGS || !rtt_ring_empty() ||
	       find_first_bit(rtt_snap_bits, rtt_capacity) < rtt_capacity;
}

static void rtt_hdr(struct rtt_rec_hdr *h, u16 type, u16 size, u64 t)
{
	h->type = type;
	h->size = size;
	h->seq = rtt_seq++;
	h->t_ns = t;
}

/* rtt_read_mutex held: rtt_rec_report holds the slot */
static size_t rtt_make_task(u64 t)
{
	struct rtt_rec_task *r = rtt_rec;

	memset(r, 0, sizeof(*r));
	rtt_hdr(&r->hdr, RTT_REC_TASK, sizeof(*r), t);
	r->task = rtt_rec_report->info;
	r->events_dropped = rtt_rec_report->events_dropped;
	memcpy(r->m, rtt_rec_report->m, sizeof(r->m));
	rtt_rec_task_at = t;
	WRITE_ONCE(rtt_rec_win_next,
		   rtt_rec_report->win_used ? 0 : RTT_WIN_TAGS);
	return sizeof(*r);
}

/* rtt_read_mutex held: tag i of the task of the last TASK record */
static size_t rtt_make_window_stats(u32 i)
{
	const struct rtt_win_report *w = &rtt_rec_report->win[i];
	struct rtt_rec_window_stats *r = rtt_rec;

	memset(r, 0, sizeof(*r));
	rtt_hdr(&r->hdr, RTT_REC_WINDOW_STATS, sizeof(*r), rtt_rec_task_at);
	r->task = rtt_rec_report->info;
	r->tag = w->tag;
	r->abandoned = w->abandoned;
	r->tags_dropped = rtt_rec_report->win_tags_dropped;
	r->depth = rtt_rec_report->win_open ? rtt_rec_report->win_depth : 0;
	r->nr_culprits = w->nr_culprits;
	r->st = w->st;
	memcpy(r->culprits, w->culprits, sizeof(r->culprits));
	return sizeof(*r);
}

/* rtt_read_mutex held: rtt_rec_info holds the task */
static size_t rtt_make_violation(const struct rtt_notice *n)
{
	struct rtt_rec_violation *r = rtt_rec;

	memset(r, 0, sizeof(*r));
	rtt_hdr(&r->hdr, RTT_REC_VIOLATION, sizeof(*r), n->t_ns);
	r->task = rtt_rec_info;
	r->metric = n->metric;
	r->value_ns = n->value;
	r->bound_ns = n->bound;
	r->violations = n->violations;
	r->breakdown = n->bd;
	return sizeof(*r);
}

/*
 * rtt_read_mutex held: rtt_rec_info and rtt_rec_worst hold the task and
 * its worst case as it is now, maybe newer than the notice that queued
 * it: the record's time is that worst's own.
 */
static size_t rtt_make_worst(const struct rtt_notice *n)
{
	const struct rtt_worst *w = rtt_rec_worst;
	struct rtt_rec_worst *r = rtt_rec;

	memset(r, 0, sizeof(*r));
	rtt_hdr(&r->hdr, RTT_REC_WORST, sizeof(*r), rtt_rec_worst_at);
	r->task = rtt_rec_info;
	r->metric = n->metric;
	r->nr_events = min_t(u32, w->nr_events, RTT_TRACE_EVENTS);
	r->value_ns = w->value_ns;
	r->bound_ns = rtt_rec_bound;
	r->events_dropped = w->events_dropped;
	r->breakdown = w->bd;
	r->nr_culprits = min_t(u32, w->nr_culprits, RTT_CULPRITS);
	memcpy(r->culprits, w->culprits, sizeof(r->culprits));
	memcpy(r->events, w->events, r->nr_events * sizeof(r->events[0]));
	return sizeof(*r);
}

/*
 * rtt_read_mutex held: rtt_rec_info holds the task, rtt_rec_worst the
 * events of the notice's report if still the core's (explained; a later
 * report of the same kind replaced them otherwise: none).
 */
static size_t rtt_make_window(const struct rtt_notice *n, bool explained)
{
	const struct rtt_worst *w = rtt_rec_worst;
	struct rtt_rec_window *r = rtt_rec;

	memset(r, 0, sizeof(*r));
	rtt_hdr(&r->hdr, RTT_REC_WINDOW, sizeof(*r), n->t_ns);
	r->task = rtt_rec_info;
	r->tag = n->tag;
	r->budget_ns = n->bound;
	r->start_ns = n->start_ns;
	r->duration_ns = n->value;
	r->timer_late_ns = n->late_ns;
	r->overruns = n->violations;
	r->what = n->metric;
	r->state = n->state;
	r->depth = n->depth;
	r->breakdown = n->bd;
	r->nr_culprits = n->nr_culprits;
	memcpy(r->culprits, n->culprits, sizeof(r->culprits));
	if (explained) {
		r->events_dropped = w->events_dropped;
		r->nr_events = min_t(u32, w->nr_events, RTT_TRACE_EVENTS);
		memcpy(r->events, w->events,
		       r->nr_events * sizeof(r->events[0]));
	}
	return sizeof(*r);
}

/* rtt_read_mutex held: stage the next record; 0 when there is none */
static size_t rtt_stage(void)
{
	struct rtt_notice n;
	unsigned long i;
	u64 v, w, e;
	u32 gen;
	u8 life;

	while (rtt_rec_win_next < RTT_WIN_TAGS) {
		i = rtt_rec_win_next;
		WRITE_ONCE(rtt_rec_win_next, i + 1);
		if (rtt_rec_report->win[i].used)
			return rtt_make_window_stats(i);
	}
	rtt_ring_take_dropped(&v, &w, &e);
	if (v || w || e) {
		struct rtt_rec_dropped *r = rtt_rec;

		memset(r, 0, sizeof(*r));
		rtt_hdr(&r->hdr, RTT_REC_DROPPED, sizeof(*r),
			ktime_get_ns());
		r->violations = v;
		r->worst = w;
		r->exits = e;
		return sizeof(*r);
	}
	while ((i = find_first_bit(rtt_snap_bits, rtt_capacity)) <
	       rtt_capacity) {
		clear_bit(i, rtt_snap_bits);
		if (rtt_slot_report(&rtt_slots[i], rtt_rec_report, &gen, NULL) &&
		    gen == rtt_snap_gen[i])
			return rtt_make_task(ktime_get_ns());
	}
	while (rtt_ring_pop(&n)) {
		struct rtt_slot *s;
		unsigned long flags;
		bool explained;

		/* type 0: flushed when this reader opened */
		if (!n.type || n.slot >= rtt_capacity ||
		    n.metric >= RTT_NR_METRICS)
			continue;
		s = &rtt_slots[n.slot];
		if (n.type == RTT_REC_WINDOW) {
			if (n.metric != RTT_WIN_DEADLINE && n.metric != RTT_WIN_STOP)
				continue;
			rtt_slot_lock(s, &flags);
			gen = s->gen;
			life = s->life;
			rtt_rec_info = s->core.info;
			/* a later report of the same kind replaced it: none */
			explained = s->core.wst &&
				    s->core.wst->rep_seq[n.metric - 1] == n.win_seq;
			if (explained)
				*rtt_rec_worst = s->core.wst->rep[n.metric - 1];
			rtt_slot_unlock(s, flags);
			if (life == RTT_LIFE_FREE || gen != n.gen)
				continue;
			return rtt_make_window(&n, explained);
		}
		if (n.type == RTT_REC_WORST) {
			rtt_slot_lock(s, &flags);
			if (s->gen == n.gen)
				s->worst_queued &= ~(1U << n.metric);
			rtt_slot_unlock(s, flags);
		}
		if (n.type == RTT_REC_VIOLATION || n.type == RTT_REC_WORST) {
			/* only what the record needs: short with irqs off */
			rtt_slot_lock(s, &flags);
			gen = s->gen;
			life = s->life;
			rtt_rec_info = s->core.info;
			if (n.type == RTT_REC_WORST) {
				*rtt_rec_worst = s->core.worst[n.metric];
				rtt_rec_bound = s->core.m[n.metric].bound_ns;
				rtt_rec_worst_at =
					s->core.m[n.metric].worst_at_ns;
			}
			rtt_slot_unlock(s, flags);
			if (life == RTT_LIFE_FREE || gen != n.gen)
				continue;	/* slot reused since */
		} else if (!rtt_slot_report(s, rtt_rec_report, &gen, &life) ||
			   gen != n.gen) {
			continue;
		}
		switch (n.type) {
		case RTT_REC_VIOLATION:
			return rtt_make_violation(&n);
		case RTT_REC_WORST:
			return rtt_make_worst(&n);
		case RTT_REC_TASK:
			if (life != RTT_LIFE_EXITED)
				continue;
			/* delivered: the final record is collected */
			mutex_lock(&rtt_ctl_mutex);
			if (s->gen == n.gen && s->life == RTT_LIFE_EXITED)
				rtt_slot_release(s);
			mutex_unlock(&rtt_ctl_mutex);
			return rtt_make_task(n.t_ns);
		}
	}
	return 0;
}

static ssize_t rtt_dev_read(struct file *f, char __user *ubuf, size_t count,
			    loff_t *ppos)
{
	size_t done = 0;
	ssize_t ret = 0;

	if (f != READ_ONCE(rtt_reader))
		return -EBADF;
	mutex_lock(&rtt_read_mutex);
	for (;;) {
		if (!rtt_rec_size)
			rtt_rec_size = rtt_stage();
		if (!rtt_rec_size) {
			if (done)
				break;
			if (f->f_flags & O_NONBLOCK) {
				ret = -EAGAIN;
				break;
			}
			mutex_unlock(&rtt_read_mutex);
			if (wait_event_interruptible(rtt_read_wq,
						     rtt_have_data()))
				return -ERESTARTSYS;
			mutex_lock(&rtt_read_mutex);
			continue;
		}
		if (rtt_rec_size > count - done) {
			if (!done)
				ret = -EMSGSIZE;
			break;
		}
		if (copy_to_user(ubuf + done, rtt_rec, rtt_rec_size)) {
			ret = -EFAULT;
			break;
		}
		done += rtt_rec_size;
		rtt_rec_size = 0;
	}
	mutex_unlock(&rtt_read_mutex);
	return done ? done : ret;
}

static __poll_t rtt_dev_poll(struct file *f, poll_table *wait)
{
	struct rtt_wfile *wf = f->private_data;
	bool reader = f == READ_ONCE(rtt_reader);
	__poll_t mask = 0;

	poll_wait(f, &wf->wq, wait);
	if (reader)
		poll_wait(f, &rtt_read_wq, wait);
	if (rtt_wfile_ready(wf) || (reader && rtt_have_data()))
		mask |= EPOLLIN | EPOLLRDNORM;
	return mask;
}

/* WORST notices were flushed: let new ones be queued */
static void rtt_clear_worst_queued(void)
{
	unsigned long flags;
	unsigned int i;

	for (i = 0; i < rtt_capacity; i++) {
		rtt_slot_lock(&rtt_slots[i], &flags);
		rtt_slots[i].worst_queued = 0;
		rtt_slot_unlock(&rtt_slots[i], flags);
	}
}

static int rtt_dev_open(struct inode *inode, struct file *f)
{
	struct rtt_wfile *wf = kzalloc(sizeof(*wf), GFP_KERNEL);

	if (!wf)
		return -ENOMEM;
	rtt_wfile_init(wf);
	f->private_data = wf;
	if (!(f->f_mode & FMODE_READ))
		return 0;	/* control only */
	if (atomic_cmpxchg(&rtt_reader_open, 0, 1)) {
		kfree(wf);
		return -EBUSY;
	}
	mutex_lock(&rtt_read_mutex);
	rtt_seq = 0;
	rtt_rec_size = 0;
	WRITE_ONCE(rtt_rec_win_next, RTT_WIN_TAGS);
	bitmap_zero(rtt_snap_bits, rtt_capacity);
	rtt_ring_flush();
	rtt_clear_worst_queued();
	WRITE_ONCE(rtt_reader, f);
	mutex_unlock(&rtt_read_mutex);
	return 0;
}

static int rtt_dev_release(struct inode *inode, struct file *f)
{
	struct rtt_wfile *wf = f->private_data;

	rtt_wfile_release(wf);
	kfree(wf);
	if (f != READ_ONCE(rtt_reader))
		return 0;
	mutex_lock(&rtt_read_mutex);
	WRITE_ONCE(rtt_reader, NULL);
	rtt_rec_size = 0;
	mutex_unlock(&rtt_read_mutex);
	atomic_set(&rtt_reader_open, 0);
	return 0;
}

static long rtt_dev_snapshot(struct file *f)
{
	unsigned int i;
	u32 gen;
	u8 life;

	if (f != READ_ONCE(rtt_reader))
		return -EBADF;
	mutex_lock(&rtt_read_mutex);
	mutex_lock(&rtt_ctl_mutex);
	for (i = 0; i < rtt_capacity; i++) {
		struct rtt_slot *s = &rtt_slots[i];
		unsigned long flags;

		rtt_slot_lock(s, &flags);
		gen = s->gen;
		life = s->life;
		rtt_slot_unlock(s, flags);
		if (life == RTT_LIFE_FREE)
			continue;
		rtt_snap_gen[i] = gen;
		set_bit(i, rtt_snap_bits);
	}
	mutex_unlock(&rtt_ctl_mutex);
	mutex_unlock(&rtt_read_mutex);
	wake_up_interruptible(&rtt_read_wq);
	return 0;
}

/* RTT_IOC_WINDOW_BIND: the sysfs file's syntax, the same checks */
static long rtt_dev_bind(void __user *uarg)
{
	struct rtt_window_bind *wb;
	int ret;

	if (!capable(CAP_SYS_ADMIN)) {
		pr_warn_ratelimited("windows: %s (%d)\n",
				    rtt_bind_errstr(-EPERM), -EPERM);
		return -EPERM;
	}
	wb = memdup_user(uarg, sizeof(*wb));
	if (IS_ERR(wb))
		return PTR_ERR(wb);
	if (wb->size != sizeof(*wb) || wb->flags)
		ret = -EINVAL;
	else if (!memchr(wb->spec, '\0', sizeof(wb->spec)))
		ret = -E2BIG;
	else
		ret = 0;
	if (ret)
		pr_warn("windows: %s (%d)\n", ret == -E2BIG ?
			rtt_bind_errstr(ret) : "bad struct size or flags", ret);
	else
		ret = rtt_bind_spec(wb->spec);
	kfree(wb);
	return ret;
}

/* The window ioctls: their number carries the size, the struct too. */
static long rtt_dev_window(struct file *f, unsigned int cmd, void __user *uarg)
{
	struct rtt_window_result res;
	struct rtt_window_start ws;
	u64 n;
	int ret;

	if (cmd == RTT_IOC_WINDOW_START) {
		if (copy_from_user(&ws, uarg, sizeof(ws)))
			return -EFAULT;
		if (ws.size != sizeof(ws) || ws.flags || ws.reserved ||
		    !ws.budget_ns)
			return -EINVAL;
		return rtt_window_start(f->private_data, ws.budget_ns, ws.tag, 0);
	}
	if (cmd == RTT_IOC_WINDOW_STOP) {
		if (copy_from_user(&res.size, uarg, sizeof(res.size)))
			return -EFAULT;
		if (res.size != sizeof(res))
			return -EINVAL;
		memset(&res, 0, sizeof(res));
		res.size = sizeof(res);
		ret = rtt_window_stop(&res);
		if ((!ret || ret == -EOVERFLOW) &&
		    copy_to_user(uarg, &res, sizeof(res)))
			return -EFAULT;
		return ret;
	}
	if (cmd == RTT_IOC_WINDOW_OVERRUNS) {
		n = rtt_wfile_take(f->private_data);
		return copy_to_user(uarg, &n, sizeof(n)) ? -EFAULT : 0;
	}
	if (cmd == RTT_IOC_WINDOW_BIND)
		return rtt_dev_bind(uarg);
	/* a window ioctl of another struct size (another header) */
	pr_warn_ratelimited("ioctl: window command 0x%x with argument size %u, expected the UAPI %u.%u size\n",
			    cmd, _IOC_SIZE(cmd), RTT_UAPI_MAJOR, RTT_UAPI_MINOR);
	return -EINVAL;
}

static bool rtt_is_window_ioctl(unsigned int cmd)
{
	return _IOC_TYPE(cmd) == RTT_IOC_MAGIC &&
	       _IOC_NR(cmd) >= _IOC_NR(RTT_IOC_WINDOW_START) &&
	       _IOC_NR(cmd) <= _IOC_NR(RTT_IOC_WINDOW_BIND);
}

static long rtt_dev_ioctl(struct file *f, unsigned int cmd, unsigned long arg)
{
	void __user *uarg = (void __user *)arg;
	struct rtt_lin_hist lh;
	struct rtt_info info;
	struct rtt_track tr;
	struct rtt_bound b;
	unsigned int i;
	int ret;

	if (rtt_is_window_ioctl(cmd))
		return rtt_dev_window(f, cmd, uarg);
	switch (cmd) {
	case RTT_IOC_INFO:
		memset(&info, 0, sizeof(info));
		info.uapi_major = RTT_UAPI_MAJOR;
		info.uapi_minor = RTT_UAPI_MINOR;
		info.capacity = rtt_capacity;
		info.nr_tracked = 0;
		for (i = 0; i < rtt_capacity; i++)
			if (READ_ONCE(rtt_slots[i].life) != RTT_LIFE_FREE)
				info.nr_tracked++;
		if (rtt_have_irq_tp)
			info.flags |= RTT_INFO_IRQ_TRACEPOINTS;
		if (rtt_have_irqh_tp)
			info.flags |= RTT_INFO_IRQ_HANDLER_TRACEPOINTS;
		return copy_to_user(uarg, &info, sizeof(info)) ? -EFAULT : 0;
	case RTT_IOC_ADD:
	case RTT_IOC_DEL:
		if (copy_from_user(&tr, uarg, sizeof(tr)))
			return -EFAULT;
		if (tr.reserved || tr.id < 0 || (tr.flags & ~RTT_F_TRACE) ||
		    tr.kind < RTT_TRACK_PID || tr.kind > RTT_TRACK_IRQ)
			return rtt_fail("ioctl", -EINVAL);
		if (cmd == RTT_IOC_ADD)
			ret = rtt_ctl_add(tr.kind, tr.id, tr.flags);
		else
			ret = rtt_ctl_del(tr.kind, tr.id);
		/* Re-adding is how a restarted agent re-attaches: no log. */
		if (ret == -EEXIST)
			return ret;
		return ret ? rtt_fail("ioctl", ret) : 0;
	case RTT_IOC_SET_BOUND:
		if (copy_from_user(&b, uarg, sizeof(b)))
			return -EFAULT;
		if (b.pid <= 0 || b.metric >= RTT_NR_METRICS)
			return rtt_fail("ioctl", -EINVAL);
		ret = rtt_ctl_bound(b.pid, b.metric, b.bound_ns);
		return ret ? rtt_fail("ioctl", ret) : 0;
	case RTT_IOC_SET_LIN_HIST:
		if (copy_from_user(&lh, uarg, sizeof(lh)))
			return -EFAULT;
		if (lh.pid <= 0 || lh.metric >= RTT_NR_METRICS)
			return rtt_fail("ioctl", -EINVAL);
		ret = rtt_ctl_lin(lh.pid, lh.metric, lh.lo_ns, lh.step_ns);
		return ret ? rtt_fail("ioctl", ret) : 0;
	case RTT_IOC_RESET:
		rtt_ctl_reset();
		return 0;
	case RTT_IOC_SNAPSHOT:
		return rtt_dev_snapshot(f);
	default:
		pr_warn_ratelimited("ioctl: unknown command 0x%x\n", cmd);
		return -ENOTTY;
	}
}

static const struct file_operations rtt_fops = {
	.owner = THIS_MODULE,
	.open = rtt_dev_open,
	.release = rtt_dev_release,
	.read = rtt_dev_read,
	.poll = rtt_dev_poll,
	.unlocked_ioctl = rtt_dev_ioctl,
	.compat_ioctl = compat_ptr_ioctl,
	.llseek = noop_llseek,
};

static struct miscdevice rtt_misc = {
	.minor = MISC_DYNAMIC_MINOR,
	.name = "rt_tracer",
	.fops = &rtt_fops,
	.mode = 0600,
};

static void rtt_iface_free(void)
{
	unsigned int i;

	kfree(rtt_rec);
	bitmap_free(rtt_snap_bits);
	kfree(rtt_snap_gen);
	vfree(rtt_rec_report);
	vfree(rtt_rec_worst);
	vfree(rtt_text_report);
	for (i = 0; i < RTT_TEXT_READERS; i++)
		rtt_text_drop(&rtt_texts[i]);
	rtt_rec = NULL;
	rtt_snap_bits = NULL;
	rtt_snap_gen = NULL;
	rtt_rec_report = NULL;
	rtt_rec_worst = NULL;
	rtt_text_report = NULL;
}

int rtt_iface_init(void)
{
	int ret;

	rtt_rec = kzalloc(RTT_REC_MAX_SIZE, GFP_KERNEL);
	rtt_snap_bits = bitmap_zalloc(rtt_capacity, GFP_KERNEL);
	rtt_snap_gen = kcalloc(rtt_capacity, sizeof(u32), GFP_KERNEL);
	rtt_rec_report = vzalloc(sizeof(*rtt_rec_report));
	rtt_rec_worst = vzalloc(sizeof(*rtt_rec_worst));
	rtt_text_report = vzalloc(sizeof(*rtt_text_report));
	if (!rtt_rec || !rtt_snap_bits || !rtt_snap_gen || !rtt_rec_report ||
	    !rtt_rec_worst || !rtt_text_report) {
		ret = -ENOMEM;
		goto fail;
	}
	rtt_kobj = kobject_create_and_add("rt_tracer", kernel_kobj);
	if (!rtt_kobj) {
		ret = -ENOMEM;
		goto fail;
	}
	ret = sysfs_create_group(rtt_kobj, &rtt_group);
	if (ret)
		goto fail_kobj;
	ret = misc_register(&rtt_misc);
	if (ret)
		goto fail_group;
	return 0;
fail_group:
	sysfs_remove_group(rtt_kobj, &rtt_group);
fail_kobj:
	kobject_put(rtt_kobj);
fail:
	rtt_iface_free();
	return ret;
}

void rtt_iface_exit(void)
{
	misc_deregister(&rtt_misc);
	sysfs_remove_group(rtt_kobj, &rtt_group);
	kobject_put(rtt_kobj);
	rtt_iface_free();
}
