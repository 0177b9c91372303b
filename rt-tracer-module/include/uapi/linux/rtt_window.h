/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * rtt_window.h: budget windows of rt_tracer in one line each, for user
 * space (header only, next to rt_tracer.h).
 *
 *	rtt_window_start(500000);		// this section: 500 us at most
 *	...
 *	if (rtt_window_stop() == 1)		// over budget
 *		...
 *
 * The window belongs to the calling thread (tracked by rt_tracer from its
 * first START on); its deadline is reported by the module when it passes,
 * whether or not the STOP comes. Nesting, results and errors: see
 * RTT_IOC_WINDOW_START in rt_tracer.h.
 *
 * /dev/rt_tracer is opened once (write-only: the one reader of the record
 * stream stays free), on first use, per file that includes this header.
 */
#ifndef _UAPI_LINUX_RTT_WINDOW_H
#define _UAPI_LINUX_RTT_WINDOW_H

#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>
#include <linux/rt_tracer.h>

#ifndef RTT_WINDOW_DEVICE
#define RTT_WINDOW_DEVICE "/dev/rt_tracer"
#endif

/* The file windows are started on: >= 0, or -1 with errno set. */
static inline int rtt_window_fd(void)
{
	static int rtt_fd = -1;
	int fd = __atomic_load_n(&rtt_fd, __ATOMIC_ACQUIRE);
	int none = -1;

	if (fd >= 0)
		return fd;
	fd = open(RTT_WINDOW_DEVICE, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	/* another thread may have opened it meanwhile: keep one */
	if (!__atomic_compare_exchange_n(&rtt_fd, &none, fd, 0,
					 __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		close(fd);
		fd = none;
	}
	return fd;
}

/* Open a window of budget_ns with a tag of the caller's: 0, or -1, errno. */
static inline int rtt_window_start_tag(unsigned long long budget_ns,
				       unsigned long long tag)
{
	struct rtt_window_start ws;
	int fd = rtt_window_fd();

	if (fd < 0)
		return -1;
	memset(&ws, 0, sizeof(ws));
	ws.size = sizeof(ws);
	ws.budget_ns = budget_ns;
	ws.tag = tag;
	return ioctl(fd, RTT_IOC_WINDOW_START, &ws) ? -1 : 0;
}

static inline int rtt_window_start(unsigned long long budget_ns)
{
	return rtt_window_start_tag(budget_ns, 0);
}

/*
 * Close a level of the window: 0 within budget (or an inner level), 1 over
 * budget, -1 with errno (ENOENT: this thread has no window open). res, if
 * not NULL, gets the result (for 0 and 1).
 */
static inline int rtt_window_stop_result(struct rtt_window_result *res)
{
	struct rtt_window_result r;
	int fd = rtt_window_fd();

	if (fd < 0)
		return -1;
	if (!res)
		res = &r;
	memset(res, 0, sizeof(*res));
	res->size = sizeof(*res);
	if (!ioctl(fd, RTT_IOC_WINDOW_STOP, res))
		return 0;
	return errno == EOVERFLOW ? 1 : -1;
}

static inline int rtt_window_stop(void)
{
	return rtt_window_stop_result(NULL);
}

#endif /* _UAPI_LINUX_RTT_WINDOW_H */
