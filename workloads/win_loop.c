// SPDX-License-Identifier: GPL-2.0
/*
 * win_loop: a control loop instrumented with rt_tracer budget windows
 * (rtt_window.h), each iteration one window that, by mode, stays within
 * its budget or overruns it while
 *   busy     running (computing past the budget)
 *   preempt  preempted: a higher-priority FIFO task (win_hog) on its CPU
 *            runs a burst inside the window
 *   sleep    asleep on a timer (clock_nanosleep past the budget)
 *   lock     blocked on a pthread mutex another thread (win_holder) keeps
 *   hang     never stopping: it deadlocks on its own mutex after its START
 *            (kill it)
 *   exit     exiting with its window open
 *   closefd  closing its file with the window open, then blocking for ever
 * and two modes that check the ioctl contract itself:
 *   errors   every refusal and its errno, nesting, STOP from another
 *            thread, EPOLLIN at the deadline (lines "check NAME ok|FAIL")
 *   enospc   more threads with windows than max_windows (load the module
 *            with max_windows=1)
 *   wtasks   more threads with window statistics than window_tasks (load
 *            the module with window_tasks=1)
 *   bind     RTT_IOC_WINDOW_BIND: the struct's refusals and EPERM without
 *            CAP_SYS_ADMIN, then one spec per stdin line "ERRNO SPEC",
 *            each expected to fail with ERRNO (0: to succeed)
 * With -R a reader thread prints the module's RTT_REC_WINDOW records and,
 * after the windows, a snapshot's RTT_REC_WINDOW_STATS ones ("wstats").
 *
 * A warm-up window (tag 99) comes first, untimed: it makes the task
 * tracked. Output: "win_loop: result ..." per window, "win_loop: record ..." per
 * record, "win_loop: summary ..." at the end.
 */
#include "rt_common.h"	/* first: _GNU_SOURCE */
#include <poll.h>
#include <semaphore.h>
#include <sys/wait.h>
#include <linux/rtt_window.h>

static long budget_us = 1000, work_us = 200, over_us = 0, iters = 10;
static long rtprio = 50, cpu = 1, start_ms = 0;
static const char *mode = "busy";
static pthread_mutex_t mtx = PTHREAD_MUTEX_INITIALIZER;
static sem_t go_hog, go_holder;
static volatile int hog_done, held, win_open, stop_threads, reader_ok;
static int reader_fd = -1;
static int fails;

static void usage(FILE *f)
{
	fprintf(f,
		"usage: win_loop [options]\n"
		"A loop of budget windows that overrun on purpose.\n"
		"  -m MODE     busy|preempt|sleep|lock|hang|exit|errors|enospc|wtasks|bind\n"
		"              (default busy)\n"
		"  -b US       budget per window (default 1000)\n"
		"  -w US       work per window within budget (default 200)\n"
		"  -o US       extra time past the budget, by the mode's cause (default 0)\n"
		"  -n N        windows (default 10); every odd one overruns when -o is set\n"
		"  -p RTPRIO   the loop's SCHED_FIFO priority (default 50)\n"
		"  -c CPU      its CPU (default 1)\n"
		"  -s MS       delay before the first window (default 0)\n"
		"  -R          print the module's window records (reader thread)\n"
		"  -T          print /sys/kernel/rt_tracer/tasks before exiting\n"
		"  -h, --help  this text\n");
}

static void print_result(long i, int ret, const struct rtt_window_result *r)
{
	const struct rtt_breakdown *b = &r->breakdown;

	printf("win_loop: result mode=%s i=%ld ret=%d tag=%llu budget_ns=%llu duration_ns=%llu flags=%u depth=%u start_ns=%llu running_ns=%llu waiting_ns=%llu sleep_timer_ns=%llu sleep_lock_ns=%llu sleep_io_ns=%llu sleep_other_ns=%llu\n",
	       mode, i, ret, (unsigned long long)r->tag,
	       (unsigned long long)r->budget_ns,
	       (unsigned long long)r->duration_ns, r->flags, r->depth,
	       (unsigned long long)r->start_ns,
	       (unsigned long long)b->running_ns,
	       (unsigned long long)b->waiting_ns,
	       (unsigned long long)b->sleep_ns[0],
	       (unsigned long long)b->sleep_ns[1],
	       (unsigned long long)b->sleep_ns[2],
	       (unsigned long long)b->sleep_ns[3]);
}

/* ---- the record reader ---- */

static const char *what_name(unsigned int w)
{
	return w == RTT_WIN_DEADLINE ? "deadline" : w == RTT_WIN_STOP ? "stop" : "?";
}

static void *reader(void *arg)
{
	static unsigned char buf[1 << 16];
	int fd = open("/dev/rt_tracer", O_RDONLY);

	(void)arg;
	if (fd < 0) {
		printf("win_loop: reader cannot open /dev/rt_tracer: %s\n", strerror(errno));
		return NULL;
	}
	printf("win_loop: reader ready\n");
	reader_fd = fd;
	reader_ok = 1;
	for (;;) {
		ssize_t n = read(fd, buf, sizeof(buf)), off = 0;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		while (off + (ssize_t)sizeof(struct rtt_rec_hdr) <= n) {
			struct rtt_rec_hdr *h = (struct rtt_rec_hdr *)(buf + off);
			struct rtt_rec_window r;
			struct rtt_rec_window_stats ws;
			char cul[160] = "";
			unsigned int i;

			if (h->size < sizeof(*h) || off + h->size > n)
				break;
			if (h->type == RTT_REC_WINDOW && h->size >= sizeof(r)) {
				memcpy(&r, h, sizeof(r));
				for (i = 0; i < r.nr_culprits && i < RTT_CULPRITS; i++)
					snprintf(cul + strlen(cul), sizeof(cul) - strlen(cul),
						 "%s%d:%.15s:%llu", i ? "," : "", r.culprits[i].pid,
						 r.culprits[i].comm,
						 (unsigned long long)r.culprits[i].ns);
				printf("win_loop: record what=%s pid=%d tag=%llu t_ns=%llu start_ns=%llu budget_ns=%llu duration_ns=%llu late_ns=%llu state=%u depth=%u overruns=%llu running_ns=%llu waiting_ns=%llu sleep_timer_ns=%llu sleep_lock_ns=%llu sleep_io_ns=%llu sleep_other_ns=%llu nr_events=%u culprits=%s\n",
				       what_name(r.what), r.task.pid,
				       (unsigned long long)r.tag,
				       (unsigned long long)r.hdr.t_ns,
				       (unsigned long long)r.start_ns,
				       (unsigned long long)r.budget_ns,
				       (unsigned long long)r.duration_ns,
				       (unsigned long long)r.timer_late_ns,
				       r.state, r.depth,
				       (unsigned long long)r.overruns,
				       (unsigned long long)r.breakdown.running_ns,
				       (unsigned long long)r.breakdown.waiting_ns,
				       (unsigned long long)r.breakdown.sleep_ns[0],
				       (unsigned long long)r.breakdown.sleep_ns[1],
				       (unsigned long long)r.breakdown.sleep_ns[2],
				       (unsigned long long)r.breakdown.sleep_ns[3],
				       r.nr_events, cul[0] ? cul : "-");
			}
			if (h->type == RTT_REC_WINDOW_STATS && h->size >= sizeof(ws)) {
				memcpy(&ws, h, sizeof(ws));
				printf("win_loop: wstats pid=%d tag=%llu t_ns=%llu count=%llu min_ns=%llu max_ns=%llu sum_ns=%llu budget_ns=%llu overruns=%llu abandoned=%llu tags_dropped=%llu depth=%u nr_culprits=%u\n",
				       ws.task.pid, (unsigned long long)ws.tag,
				       (unsigned long long)ws.hdr.t_ns,
				       (unsigned long long)ws.st.count,
				       (unsigned long long)ws.st.min_ns,
				       (unsigned long long)ws.st.max_ns,
				       (unsigned long long)ws.st.sum_ns,
				       (unsigned long long)ws.st.bound_ns,
				       (unsigned long long)ws.st.violations,
				       (unsigned long long)ws.abandoned,
				       (unsigned long long)ws.tags_dropped,
				       ws.depth, ws.nr_culprits);
			}
			off += h->size;
		}
	}
	return NULL;
}

/* ---- helpers of the overrun causes ---- */

/*
 * FIFO rtprio + 10 on the loop's CPU: let go (sem_post), it preempts the
 * loop at once and burns over_us.
 */
static void *hog(void *arg)
{
	(void)arg;
	set_name("win_hog");
	announce("win_hog", (int)rtprio + 10, (int)cpu);
	for (;;) {
		while (sem_wait(&go_hog))
			;
		if (stop_threads)
			break;
		busy_us((uint64_t)over_us);
		__atomic_store_n(&hog_done, 1, __ATOMIC_RELEASE);
	}
	return NULL;
}

/*
 * FIFO rtprio - 1 on the other CPU: let go, it takes the mutex and keeps
 * it from the window's START for budget_us + over_us (counted from the
 * START, not from taking it: how long the loop takes to notice and start
 * depends on the kernel, and would eat into the overrun).
 */
static void *holder(void *arg)
{
	(void)arg;
	set_name("win_holder");
	announce("win_holder", (int)rtprio - 1, cpu ? 0 : 1);
	for (;;) {
		while (sem_wait(&go_holder))
			;
		if (stop_threads)
			break;
		pthread_mutex_lock(&mtx);
		__atomic_store_n(&held, 1, __ATOMIC_RELEASE);
		while (!__atomic_load_n(&win_open, __ATOMIC_ACQUIRE))
			;
		busy_us((uint64_t)budget_us + (uint64_t)over_us);
		pthread_mutex_unlock(&mtx);
	}
	return NULL;
}

static pthread_t start_thread(void *(*fn)(void *), int prio, int on)
{
	pthread_attr_t a;
	pthread_t t;

	rt_attr(&a, prio, on);
	if (pthread_create(&t, &a, fn, NULL))
		die("pthread_create: %s", strerror(errno));
	return t;
}

/*
 * One window: the work, or (over) the overrun's cause from its start on, so
 * that the deadline falls inside the cause.
 */
static void one_window(long i, int over)
{
	struct rtt_window_result r;
	int ret;

	if (over && !strcmp(mode, "lock")) {
		/* the holder has the mutex before the window begins */
		held = 0;
		win_open = 0;
		sem_post(&go_holder);
		while (!__atomic_load_n(&held, __ATOMIC_ACQUIRE))
			sleep_us(20);
	}
	if (rtt_window_start_tag((uint64_t)budget_us * NSEC_PER_USEC, (uint64_t)over))
		die("window start: %s", strerror(errno));
	if (over && !strcmp(mode, "lock"))
		__atomic_store_n(&win_open, 1, __ATOMIC_RELEASE);
	if (!over)
		busy_us((uint64_t)work_us);
	if (over) {
		if (!strcmp(mode, "busy")) {
			busy_us((uint64_t)budget_us + (uint64_t)over_us);
		} else if (!strcmp(mode, "preempt")) {
			/* it preempts us here, we run on once it is done */
			hog_done = 0;
			sem_post(&go_hog);
			while (!__atomic_load_n(&hog_done, __ATOMIC_ACQUIRE))
				;
		} else if (!strcmp(mode, "sleep")) {
			sleep_us((uint64_t)budget_us + (uint64_t)over_us);
		} else if (!strcmp(mode, "lock")) {
			pthread_mutex_lock(&mtx);
			pthread_mutex_unlock(&mtx);
		}
	}
	ret = rtt_window_stop_result(&r);
	if (ret < 0)
		die("window stop: %s", strerror(errno));
	print_result(i, ret, &r);
}

/* ---- the contract ---- */

#define CHECK(name, cond, ...) do {					\
	if (cond) {							\
		printf("win_loop: check %s ok\n", name);		\
	} else {							\
		fails++;						\
		printf("win_loop: check %s FAIL: ", name);		\
		printf(__VA_ARGS__);					\
		printf("\n");						\
	}								\
} while (0)

static int ioctl_errno(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? errno : 0;
}

static int stop_errno(int fd)
{
	struct rtt_window_result r = { .size = sizeof(r) };

	return ioctl_errno(fd, RTT_IOC_WINDOW_STOP, &r);
}

static int other_thread_errno;

static void *other_stop(void *arg)
{
	(void)arg;
	other_thread_errno = stop_errno(rtt_window_fd());
	return NULL;
}

struct big_start {
	struct rtt_window_start ws;
	uint64_t more;
};

static void errors(void)
{
	struct rtt_window_start ws = { .size = sizeof(ws), .budget_ns = 1000000 };
	struct rtt_window_result r = { .size = sizeof(r) };
	struct big_start big = { .ws = ws };
	int fd = rtt_window_fd(), e, i, ret;
	struct pollfd p;
	uint64_t n, t0, t1;
	pthread_t t;

	if (fd < 0)
		die("open /dev/rt_tracer: %s", strerror(errno));
	CHECK("stop_without_start", (e = stop_errno(fd)) == ENOENT, "errno %d", e);
	ws.budget_ns = 0;
	CHECK("budget_zero", (e = ioctl_errno(fd, RTT_IOC_WINDOW_START, &ws)) == EINVAL, "errno %d", e);
	ws.budget_ns = 1000000;
	ws.flags = 1;
	CHECK("flags", (e = ioctl_errno(fd, RTT_IOC_WINDOW_START, &ws)) == EINVAL, "errno %d", e);
	ws.flags = 0;
	ws.reserved = 1;
	CHECK("reserved", (e = ioctl_errno(fd, RTT_IOC_WINDOW_START, &ws)) == EINVAL, "errno %d", e);
	ws.reserved = 0;
	ws.size = sizeof(ws) + 8;
	CHECK("start_size_field", (e = ioctl_errno(fd, RTT_IOC_WINDOW_START, &ws)) == EINVAL, "errno %d", e);
	ws.size = sizeof(ws);
	big.ws.size = sizeof(big);
	CHECK("start_ioctl_size",
	      (e = ioctl_errno(fd, _IOW(RTT_IOC_MAGIC, 7, struct big_start), &big)) == EINVAL,
	      "errno %d", e);
	r.size = sizeof(r) - 8;
	CHECK("stop_size_field", (e = ioctl_errno(fd, RTT_IOC_WINDOW_STOP, &r)) == EINVAL, "errno %d", e);
	CHECK("stop_ioctl_size",
	      (e = ioctl_errno(fd, _IOWR(RTT_IOC_MAGIC, 8, struct rtt_window_start), &ws)) == EINVAL,
	      "errno %d", e);
	ws.budget_ns = ~0ull;
	CHECK("budget_too_long", (e = ioctl_errno(fd, RTT_IOC_WINDOW_START, &ws)) == EINVAL, "errno %d", e);
	/* none of these opened a window */
	CHECK("refusals_open_nothing", (e = stop_errno(fd)) == ENOENT, "errno %d", e);

	/* nesting: the maximum depth, then E2BIG; only the outermost closes */
	ws.budget_ns = 60 * NSEC_PER_SEC;
	ws.tag = 77;
	for (i = 0; i < RTT_WINDOW_MAX_DEPTH; i++)
		if ((e = ioctl_errno(fd, RTT_IOC_WINDOW_START, &ws)))
			break;
	CHECK("nest_to_max", i == RTT_WINDOW_MAX_DEPTH, "level %d: errno %d", i + 1, e);
	CHECK("nest_past_max", (e = ioctl_errno(fd, RTT_IOC_WINDOW_START, &ws)) == E2BIG, "errno %d", e);
	/* another thread has no window: its STOP fails, ours stays open */
	pthread_create(&t, NULL, other_stop, NULL);
	pthread_join(t, NULL);
	CHECK("stop_other_thread", other_thread_errno == ENOENT, "errno %d", other_thread_errno);
	for (i = RTT_WINDOW_MAX_DEPTH - 1; i > 0; i--) {
		r.size = sizeof(r);
		ret = ioctl(fd, RTT_IOC_WINDOW_STOP, &r);
		if (ret || (int)r.depth != i || r.tag != 77)
			break;
	}
	CHECK("nest_inner_stops", i == 0, "at depth %d: ret %d depth %u tag %llu", i, ret, r.depth,
	      (unsigned long long)r.tag);
	r.size = sizeof(r);
	ret = ioctl(fd, RTT_IOC_WINDOW_STOP, &r);
	CHECK("nest_outer_stop", !ret && r.depth == 0 && r.duration_ns > 0 && r.duration_ns < ws.budget_ns,
	      "ret %d depth %u duration %llu", ret, r.depth, (unsigned long long)r.duration_ns);
	CHECK("nest_closed", (e = stop_errno(fd)) == ENOENT, "errno %d", e);

	/* the file is readable at the deadline, with the window still open */
	p.fd = fd;
	p.events = POLLIN;
	CHECK("poll_idle", poll(&p, 1, 0) == 0, "revents %#x", p.revents);
	ws.budget_ns = 20000000;
	ws.tag = 5;
	t0 = now_ns();
	CHECK("start_ok", (e = ioctl_errno(fd, RTT_IOC_WINDOW_START, &ws)) == 0, "errno %d", e);
	ret = poll(&p, 1, 5000);
	t1 = now_ns();
	CHECK("poll_at_deadline", ret == 1 && (p.revents & POLLIN) && t1 - t0 >= ws.budget_ns,
	      "poll %d revents %#x after %llu ns", ret, p.revents, (unsigned long long)(t1 - t0));
	printf("win_loop: poll woke after_ns=%llu budget_ns=%llu\n", (unsigned long long)(t1 - t0),
	       (unsigned long long)ws.budget_ns);
	r.size = sizeof(r);
	ret = ioctl(fd, RTT_IOC_WINDOW_STOP, &r);
	e = ret ? errno : 0;
	CHECK("stop_over_budget", ret == -1 && e == EOVERFLOW &&
	      r.flags == (RTT_WINF_OVERRUN | RTT_WINF_DEADLINE) && r.duration_ns > ws.budget_ns &&
	      r.tag == 5, "ret %d errno %d flags %u duration %llu", ret, e, r.flags,
	      (unsigned long long)r.duration_ns);
	CHECK("overruns_taken", !ioctl(fd, RTT_IOC_WINDOW_OVERRUNS, &n) && n == 1,
	      "n %llu", (unsigned long long)n);
	CHECK("poll_cleared", poll(&p, 1, 0) == 0, "revents %#x", p.revents);
	/* the helper: within budget 0, over budget 1 */
	CHECK("helper_within", rtt_window_start(100000000) == 0 && rtt_window_stop() == 0,
	      "errno %d", errno);
	ret = rtt_window_start(1000);
	busy_us(2000);
	CHECK("helper_over", ret == 0 && rtt_window_stop() == 1, "errno %d", errno);
	CHECK("helper_no_window", rtt_window_stop() == -1 && errno == ENOENT, "errno %d", errno);
}

static void *enospc_thread(void *arg)
{
	int *e = arg;

	*e = rtt_window_start(60 * NSEC_PER_SEC) ? errno : 0;
	return NULL;
}

/* max_windows=1: one window open, a second task's START is refused */
static void enospc(void)
{
	pthread_t t;
	int e = -1;

	CHECK("first_window", rtt_window_start(60 * NSEC_PER_SEC) == 0, "errno %d", errno);
	pthread_create(&t, NULL, enospc_thread, &e);
	pthread_join(t, NULL);
	CHECK("second_window_enospc", e == ENOSPC, "errno %d", e);
	CHECK("first_still_open", rtt_window_stop() == 0, "errno %d", errno);
	pthread_create(&t, NULL, enospc_thread, &e);
	pthread_join(t, NULL);
	CHECK("slot_free_again", e == 0, "errno %d", e);
}

/*
 * window_tasks=1: the first task to START keeps the store while tracked,
 * windows closed or not; a second task's START is refused, the first's
 * go on.
 */
static void wtasks(void)
{
	pthread_t t;
	int e = -1;

	CHECK("first_task", rtt_window_start(60 * NSEC_PER_SEC) == 0 &&
	      rtt_window_stop() == 0, "errno %d", errno);
	pthread_create(&t, NULL, enospc_thread, &e);
	pthread_join(t, NULL);
	CHECK("second_task_enospc", e == ENOSPC, "errno %d", e);
	CHECK("first_task_again", rtt_window_start(60 * NSEC_PER_SEC) == 0 &&
	      rtt_window_stop() == 0, "errno %d", errno);
}

struct big_bind {
	struct rtt_window_bind wb;
	uint64_t more;
};

static int bind_errno(int fd, const char *spec)
{
	struct rtt_window_bind wb = { .size = sizeof(wb) };

	snprintf(wb.spec, sizeof(wb.spec), "%s", spec);
	return ioctl_errno(fd, RTT_IOC_WINDOW_BIND, &wb);
}

/* RTT_IOC_WINDOW_BIND without CAP_SYS_ADMIN: a child that gave up root */
static int bind_unprivileged_errno(int fd)
{
	int st, e;
	pid_t pid = fork();

	if (pid < 0)
		die("fork: %s", strerror(errno));
	if (!pid) {
		if (setgid(65534) || setuid(65534))
			_exit(100);
		e = bind_errno(fd, "-p /bin/sh:0x0");
		_exit(e > 99 ? 99 : e);
	}
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static void bind_checks(void)
{
	struct rtt_window_bind wb = { .size = sizeof(wb) };
	struct big_bind big = { .wb = wb };
	char line[RTT_BIND_SPEC_MAX + 16], *spec;
	int fd = rtt_window_fd(), e, want, n = 0;

	if (fd < 0)
		die("open /dev/rt_tracer: %s", strerror(errno));
	snprintf(wb.spec, sizeof(wb.spec), "-p /bin/sh:0x0");
	wb.size = sizeof(wb) - 1;
	CHECK("bind_size_field", (e = ioctl_errno(fd, RTT_IOC_WINDOW_BIND, &wb)) == EINVAL, "errno %d", e);
	wb.size = sizeof(wb);
	wb.flags = 1;
	CHECK("bind_flags", (e = ioctl_errno(fd, RTT_IOC_WINDOW_BIND, &wb)) == EINVAL, "errno %d", e);
	wb.flags = 0;
	memset(wb.spec, 'x', sizeof(wb.spec));
	CHECK("bind_no_nul", (e = ioctl_errno(fd, RTT_IOC_WINDOW_BIND, &wb)) == E2BIG, "errno %d", e);
	big.wb.size = sizeof(big);
	CHECK("bind_ioctl_size",
	      (e = ioctl_errno(fd, _IOW(RTT_IOC_MAGIC, 10, struct big_bind), &big)) == EINVAL,
	      "errno %d", e);
	CHECK("bind_eperm", (e = bind_unprivileged_errno(fd)) == EPERM, "errno %d", e);
	while (fgets(line, sizeof(line), stdin)) {
		line[strcspn(line, "\n")] = '\0';
		want = (int)strtol(line, &spec, 10);
		if (spec == line || *spec != ' ')
			die("bind: bad input line '%s' (ERRNO SPEC)", line);
		spec++;
		e = bind_errno(fd, spec);
		printf("win_loop: bind %d errno=%d spec=%s\n", ++n, e, spec);
		if (e != want) {
			fails++;
			printf("win_loop: check bind_line_%d FAIL: errno %d, expected %d\n", n, e, want);
		}
	}
	printf("win_loop: bind lines=%d\n", n);
}

/* The tasks file while this process still runs (its records are there). */
static void print_tasks(void)
{
	char line[512];
	FILE *f = fopen("/sys/kernel/rt_tracer/tasks", "r");

	if (!f) {
		printf("win_loop: cannot read the tasks file: %s\n", strerror(errno));
		return;
	}
	printf("win_loop: tasks begin\n");
	while (fgets(line, sizeof(line), f))
		fputs(line, stdout);
	printf("win_loop: tasks end\n");
	fclose(f);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = { { "help", no_argument, NULL, 'h' }, { 0 } };
	pthread_t aux = 0;
	int c, read_records = 0, tasks = 0;
	long i, over_n = 0;

	rt_init("win_loop", 1);
	while ((c = getopt_long(argc, argv, "m:b:w:o:n:p:c:s:RTh", lo, NULL)) != -1) {
		switch (c) {
		case 'm': mode = optarg; break;
		case 'b': budget_us = arg_num(optarg, "budget", 1, 100000000); break;
		case 'w': work_us = arg_num(optarg, "work", 0, 100000000); break;
		case 'o': over_us = arg_num(optarg, "overrun", 0, 100000000); break;
		case 'n': iters = arg_num(optarg, "windows", 1, 1000000); break;
		case 'p': rtprio = arg_num(optarg, "priority", 1, 89); break;
		case 'c': cpu = arg_num(optarg, "cpu", 0, 4095); break;
		case 's': start_ms = arg_num(optarg, "start delay", 0, 600000); break;
		case 'R': read_records = 1; break;
		case 'T': tasks = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	sem_init(&go_hog, 0, 0);
	sem_init(&go_holder, 0, 0);
	if (read_records) {
		start_thread(reader, 0, cpu ? 0 : 1);
		while (!reader_ok)
			sleep_us(1000);
	}
	if (!strcmp(mode, "errors") || !strcmp(mode, "enospc") ||
	    !strcmp(mode, "wtasks") || !strcmp(mode, "bind")) {
		set_name("win_check");
		announce("win_check", 0, -1);
		if (!strcmp(mode, "errors"))
			errors();
		else if (!strcmp(mode, "bind"))
			bind_checks();
		else if (!strcmp(mode, "wtasks"))
			wtasks();
		else
			enospc();
		printf("win_loop: summary mode=%s fails=%d\n", mode, fails);
		return fails ? 1 : 0;
	}
	if (!strcmp(mode, "preempt"))
		aux = start_thread(hog, (int)rtprio + 10, (int)cpu);
	else if (!strcmp(mode, "lock"))
		aux = start_thread(holder, (int)rtprio - 1, cpu ? 0 : 1);
	set_name("win_loop");
	pin_cpu((int)cpu);
	set_fifo((int)rtprio);
	announce("win_loop", (int)rtprio, (int)cpu);
	if (start_ms)
		sleep_us((uint64_t)start_ms * 1000);
	if (!strcmp(mode, "hang") || !strcmp(mode, "exit") || !strcmp(mode, "closefd")) {
		if (rtt_window_start_tag((uint64_t)budget_us * NSEC_PER_USEC, 1))
			die("window start: %s", strerror(errno));
		if (!strcmp(mode, "closefd"))
			close(rtt_window_fd());
		printf("win_loop: started mode=%s\n", mode);
		if (!strcmp(mode, "exit"))
			return 0;
		if (!strcmp(mode, "hang")) {
			/* a default mutex taken twice: a deadlock, never woken */
			pthread_mutex_lock(&mtx);
			pthread_mutex_lock(&mtx);
		}
		for (;;)
			pause();
	}
	/* tracked from here on (the first START), then the windows proper */
	if (rtt_window_start_tag(NSEC_PER_SEC, 99) || rtt_window_stop() < 0)
		die("warm-up window: %s", strerror(errno));
	sleep_us((uint64_t)budget_us);
	for (i = 0; i < iters; i++) {
		int over = over_us && (i & 1);

		one_window(i, over);
		over_n += over;
		sleep_us((uint64_t)budget_us);
	}
	stop_threads = 1;
	sem_post(&go_hog);
	sem_post(&go_holder);
	if (aux)
		pthread_join(aux, NULL);
	if (read_records) {
		/* the task's TASK record and its WINDOW_STATS ones follow */
		if (ioctl(reader_fd, RTT_IOC_SNAPSHOT) < 0)
			printf("win_loop: snapshot: %s\n", strerror(errno));
		sleep_us(200000);	/* the reader prints the last records */
	}
	if (tasks)
		print_tasks();
	printf("win_loop: summary mode=%s windows=%ld over=%ld\n", mode, iters, over_n);
	return 0;
}
