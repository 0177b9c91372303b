// SPDX-License-Identifier: GPL-2.0
/*
 * rt_tracer budget windows on unmodified binaries: uprobe bindings.
 *
 * A binding (PATH, START offset, STOP offset, budget) puts a uprobe at
 * each of the two file offsets; the START probe opens a window of the
 * budget for the task that hits it, tagged with the START offset, the STOP
 * probe stops it: exactly what RTT_IOC_WINDOW_START/STOP do for a task
 * that calls them (rtt_window_start()/rtt_window_stop()). The handlers run
 * in the task, in process context (uprobes call them on the way back to
 * user space, under RCU tasks trace, which may sleep).
 *
 * Control: /sys/kernel/rt_tracer/windows (rtt_iface.c), under
 * rtt_bind_mutex, never rtt_ctl_mutex: a handler may take that one (the
 * first START of an untracked task tracks it), and unregistering waits
 * for running handlers.
 */
#define pr_fmt(fmt) KBUILD_MODNAME ": " fmt

#include <linux/fs.h>
#include <linux/namei.h>
#include <linux/path.h>
#include <linux/slab.h>
#include <linux/uprobes.h>
#include <linux/list.h>
#include <linux/mutex.h>
#include <linux/sysfs.h>

#include "rtt_internal.h"

struct rtt_binding {
	struct list_head node;
	struct path path;		/* held: uprobe_register() needs it */
	char *name;			/* PATH as given */
	u32 id;				/* the windows' src, never 0 */
	u64 start, stop, budget_ns;
	struct uprobe *up_start, *up_stop;
	struct uprobe_consumer uc_start, uc_stop;
	atomic64_t starts;		/* windows opened (or nested) */
	atomic64_t stops;		/* windows stopped (or a level of one) */
	atomic64_t refused;		/* START refused (ENOSPC, E2BIG, ...) */
	atomic64_t unmatched;		/* STOP without a window open */
};

static LIST_HEAD(rtt_bindings);
static DEFINE_MUTEX(rtt_bind_mutex);
static unsigned int rtt_nr_bindings;
static u32 rtt_bind_ids;		/* rtt_bind_mutex */

static int rtt_bind_start_fn(struct uprobe_consumer *uc, struct pt_regs *regs)
{
	struct rtt_binding *b = container_of(uc, struct rtt_binding, uc_start);

	if (rtt_window_start(NULL, b->budget_ns, b->start, b->id))
		atomic64_inc(&b->refused);
	else
		atomic64_inc(&b->starts);
	return 0;
}

static int rtt_bind_stop_fn(struct uprobe_consumer *uc, struct pt_regs *regs)
{
	struct rtt_binding *b = container_of(uc, struct rtt_binding, uc_stop);
	struct rtt_window_result res;

	if (rtt_window_stop(&res) == -ENOENT)
		atomic64_inc(&b->unmatched);
	else
		atomic64_inc(&b->stops);
	return 0;
}

/* rtt_bind_mutex held: the binding of inode at start, or NULL */
static struct rtt_binding *rtt_bind_find(struct inode *inode, u64 start)
{
	struct rtt_binding *b;

	list_for_each_entry(b, &rtt_bindings, node)
		if (d_inode(b->path.dentry) == inode && b->start == start)
			return b;
	return NULL;
}

/* no lock needed: b is not (or no longer) listed */
static void rtt_bind_free(struct rtt_binding *b)
{
	if (b->up_start && !IS_ERR(b->up_start))
		uprobe_unregister_nosync(b->up_start, &b->uc_start);
	if (b->up_stop && !IS_ERR(b->up_stop))
		uprobe_unregister_nosync(b->up_stop, &b->uc_stop);
	/* no handler of b runs after this */
	uprobe_unregister_sync();
	if (b->id)
		rtt_windows_drop_src(b->id);
	path_put(&b->path);
	kfree(b->name);
	kfree(b);
}

static int rtt_bind_add(const char *name, u64 start, u64 stop, u64 budget_ns)
{
	struct rtt_binding *b;
	struct inode *inode;
	loff_t size;
	int ret;

	if (!budget_ns || start == stop)
		return -EINVAL;
	b = kzalloc(sizeof(*b), GFP_KERNEL);
	if (!b)
		return -ENOMEM;
	b->name = kstrdup(name, GFP_KERNEL);
	if (!b->name) {
		kfree(b);
		return -ENOMEM;
	}
	ret = kern_path(name, LOOKUP_FOLLOW, &b->path);
	if (ret) {
		kfree(b->name);
		kfree(b);
		return ret;
	}
	b->start = start;
	b->stop = stop;
	b->budget_ns = budget_ns;
	b->uc_start.handler = rtt_bind_start_fn;
	b->uc_stop.handler = rtt_bind_stop_fn;
	inode = d_inode(b->path.dentry);
	mutex_lock(&rtt_bind_mutex);
	size = i_size_read(inode);
	if (!S_ISREG(inode->i_mode))
		ret = -EINVAL;
	else if (start >= size || stop >= size)
		ret = -ERANGE;
	else if (rtt_bind_find(inode, start))
		ret = -EEXIST;
	else if (rtt_nr_bindings >= RTT_MAX_BINDINGS)
		ret = -ENOSPC;
	if (!ret) {
		b->up_start = uprobe_register(inode, start, 0, &b->uc_start);
		ret = PTR_ERR_OR_ZERO(b->up_start);
	}
	if (!ret) {
		b->up_stop = uprobe_register(inode, stop, 0, &b->uc_stop);
		ret = PTR_ERR_OR_ZERO(b->up_stop);
	}
	if (!ret) {
		if (!++rtt_bind_ids)
			rtt_bind_ids = 1;	/* 0 is the ioctls' */
		b->id = rtt_bind_ids;
		list_add_tail(&b->node, &rtt_bindings);
		rtt_nr_bindings++;
	}
	mutex_unlock(&rtt_bind_mutex);
	if (ret)
		rtt_bind_free(b);
	return ret;
}

static int rtt_bind_del(const char *name, u64 start)
{
	struct rtt_binding *b = NULL;
	struct path path;
	int ret;

	ret = kern_path(name, LOOKUP_FOLLOW, &path);
	if (ret)
		return ret;
	mutex_lock(&rtt_bind_mutex);
	b = rtt_bind_find(d_inode(path.dentry), start);
	if (b) {
		list_del(&b->node);
		rtt_nr_bindings--;
	}
	mutex_unlock(&rtt_bind_mutex);
	path_put(&path);
	if (!b)
		return -ENOENT;
	rtt_bind_free(b);
	return 0;
}

/* "PATH:OFFSET" split at its last ':' (PATH may hold some) */
static int rtt_bind_target(char *s, char **name, u64 *off)
{
	char *colon = strrchr(s, ':');

	if (!colon || colon == s)
		return -EINVAL;
	*colon = '\0';
	*name = s;
	return kstrtou64(colon + 1, 0, off);
}

/*
 * "p PATH:START STOP budget=NS" binds, "-p PATH:START" unbinds (offsets
 * in the ELF file, decimal or 0x hex).
 */
int rtt_bind_write(char *line)
{
	char *tok[5], *p = line, *t, *name;
	u64 start, stop, budget;
	int n = 0, ret;

	while ((t = strsep(&p, " \t\n")) != NULL) {
		if (!*t)
			continue;
		if (n == ARRAY_SIZE(tok))
			return -EINVAL;
		tok[n++] = t;
	}
	if (n == 2 && !strcmp(tok[0], "-p")) {
		ret = rtt_bind_target(tok[1], &name, &start);
		return ret ? ret : rtt_bind_del(name, start);
	}
	if (n != 4 || strcmp(tok[0], "p") || strncmp(tok[3], "budget=", 7))
		return -EINVAL;
	ret = rtt_bind_target(tok[1], &name, &start);
	if (!ret)
		ret = kstrtou64(tok[2], 0, &stop);
	if (!ret)
		ret = kstrtou64(tok[3] + 7, 10, &budget);
	if (ret)
		return ret;
	if (strlen(name) > RTT_BIND_PATH_MAX)
		return -ENAMETOOLONG;
	return rtt_bind_add(name, start, stop, budget);
}

/* What a refused spec was, for its one log line. */
const char *rtt_bind_errstr(int err)
{
	switch (err) {
	case -E2BIG: return "line too long";
	case -EINVAL: return "malformed, budget 0, START == STOP, not a regular file or an offset that cannot be probed";
	case -ERANGE: return "offset beyond the file";
	case -EEXIST: return "PATH:START already bound";
	case -ENOENT: return "no such file, or not bound";
	case -ENOSPC: return "all bindings in use";
	case -ENAMETOOLONG: return "path too long";
	case -EPERM: return "binding needs CAP_SYS_ADMIN";
	default: return "failed";
	}
}

/* The bindings, one line each, in the syntax that makes them, and counts. */
ssize_t rtt_bind_show(char *buf)
{
	struct rtt_binding *b;
	int len = 0;

	mutex_lock(&rtt_bind_mutex);
	list_for_each_entry(b, &rtt_bindings, node)
		len += sysfs_emit_at(buf, len,
				     "p %s:0x%llx 0x%llx budget=%llu starts=%lld stops=%lld refused=%lld unmatched=%lld\n",
				     b->name, b->start, b->stop, b->budget_ns,
				     atomic64_read(&b->starts),
				     atomic64_read(&b->stops),
				     atomic64_read(&b->refused),
				     atomic64_read(&b->unmatched));
	mutex_unlock(&rtt_bind_mutex);
	return len;
}

/* At unload, before the windows end: no handler runs after it. */
void rtt_bind_exit(void)
{
	struct rtt_binding *b, *tmp;
	LIST_HEAD(gone);

	mutex_lock(&rtt_bind_mutex);
	list_splice_init(&rtt_bindings, &gone);
	rtt_nr_bindings = 0;
	mutex_unlock(&rtt_bind_mutex);
	list_for_each_entry_safe(b, tmp, &gone, node)
		rtt_bind_free(b);
}
