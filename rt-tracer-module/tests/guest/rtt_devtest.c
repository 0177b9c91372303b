// SPDX-License-Identifier: GPL-2.0
/*
 * In-guest test of /dev/rt_tracer (static binary, run with the module
 * loaded): ioctls, bad input, read()/poll() records, snapshot, exit
 * record, TGID tracking of later threads.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <linux/rt_tracer.h>

static int fails;

#define EXPECT(cond, ...) do {						\
	if (!(cond)) {							\
		printf("FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);	\
		printf(__VA_ARGS__);					\
		printf(" (errno %d %s)\n", errno, strerror(errno));	\
		fails++;						\
	}								\
} while (0)

unsigned long rtt_sink;	/* keeps the busy loop */

static void periodic(int period_us, int loops)
{
	struct timespec t;
	unsigned long x = 0;
	int i, j;

	clock_gettime(CLOCK_MONOTONIC, &t);
	for (i = 0; loops < 0 || i < loops; i++) {
		for (j = 0; j < 2000; j++)
			x += j ^ (x >> 3);
		rtt_sink = x;
		t.tv_nsec += period_us * 1000L;
		while (t.tv_nsec >= 1000000000L) {
			t.tv_nsec -= 1000000000L;
			t.tv_sec++;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL);
	}
}

static void pin_fifo(int cpu, int prio)
{
	struct sched_param sp = { .sched_priority = prio };
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
	sched_setscheduler(0, SCHED_FIFO, &sp);
}

/* A higher-priority burst on CPU 0: a later, larger latency for the worst */
static void hog_burst(int ms)
{
	pid_t pid = fork();

	if (pid == 0) {
		struct timespec t0, t;

		pin_fifo(0, 70);
		clock_gettime(CLOCK_MONOTONIC, &t0);
		do
			clock_gettime(CLOCK_MONOTONIC, &t);
		while ((t.tv_sec - t0.tv_sec) * 1000000000LL +
		       t.tv_nsec - t0.tv_nsec < ms * 1000000LL);
		_exit(0);
	}
	waitpid(pid, NULL, 0);
}

static void *thread_fn(void *arg)
{
	periodic(2000, 200);
	return arg;
}

static pid_t spawn_periodic(int threads_after_ms)
{
	pid_t pid = fork();

	if (pid == 0) {
		pthread_t th[3];
		int i;

		pin_fifo(0, 50);
		if (threads_after_ms) {
			usleep(threads_after_ms * 1000);
			for (i = 0; i < 3; i++)
				pthread_create(&th[i], NULL, thread_fn, NULL);
		}
		periodic(1000, -1);
		_exit(0);
	}
	return pid;
}

static int xioctl(int fd, unsigned long cmd, void *arg)
{
	return ioctl(fd, cmd, arg) ? -errno : 0;
}

/* (value, end time) of a latency record: pairs worst records with violations */
struct ended {
	unsigned long long value_ns, t_ns;
};

#define MAX_ENDED 8192

struct counts {
	int task, viol, worst, dropped, other, exited;
	struct rtt_rec_task last_task;
	struct rtt_rec_worst last_worst;
	int nr_viol_lat, nr_worst_lat;
	struct ended viol_lat[MAX_ENDED], worst_lat[64];
};

static void note_ended(struct ended *a, int *n, int max,
		       unsigned long long value, unsigned long long t)
{
	if (*n < max) {
		a[*n].value_ns = value;
		a[*n].t_ns = t;
		(*n)++;
	}
}

/*
 * With a 1 ns latency bound every latency is a violation record stamped
 * with its end time; a worst record must carry the end time of the value
 * it holds, i.e. the violation record of the same value. Returns how many
 * worst records could be paired (a violation record may have been dropped).
 */
static int check_worst_times(const struct counts *c)
{
	int i, j, paired = 0;

	for (i = 0; i < c->nr_worst_lat; i++) {
		const struct ended *w = &c->worst_lat[i];
		int same_value = 0, same_time = 0;

		for (j = 0; j < c->nr_viol_lat; j++) {
			if (c->viol_lat[j].value_ns != w->value_ns)
				continue;
			same_value = 1;
			if (c->viol_lat[j].t_ns == w->t_ns)
				same_time = 1;
		}
		if (!same_value)
			continue;
		paired++;
		printf("worst latency %llu ns at %llu: %s\n", w->value_ns,
		       w->t_ns, same_time ? "its violation's time" :
		       "NOT its violation's time");
		EXPECT(same_time, "worst record time %llu is not when %llu ns ended",
		       w->t_ns, w->value_ns);
	}
	return paired;
}

static void print_worst(const struct rtt_rec_worst *w)
{
	static const char * const ev[] = { "?", "wakeup", "switch",
					   "migrate", "irq_entry", "irq_exit" };
	unsigned int i;

	printf("worst metric %u value %llu ns: running %llu waiting %llu sleep %llu/%llu/%llu/%llu, %u events (%llu dropped)\n",
	       w->metric, (unsigned long long)w->value_ns,
	       (unsigned long long)w->breakdown.running_ns,
	       (unsigned long long)w->breakdown.waiting_ns,
	       (unsigned long long)w->breakdown.sleep_ns[0],
	       (unsigned long long)w->breakdown.sleep_ns[1],
	       (unsigned long long)w->breakdown.sleep_ns[2],
	       (unsigned long long)w->breakdown.sleep_ns[3],
	       w->nr_events, (unsigned long long)w->events_dropped);
	for (i = 0; i < RTT_CULPRITS && w->culprits[i].ns; i++)
		printf("  culprit %d %.16s prio %d: %llu ns\n",
		       w->culprits[i].pid, w->culprits[i].comm,
		       w->culprits[i].prio,
		       (unsigned long long)w->culprits[i].ns);
	for (i = 0; i < w->nr_events && i < RTT_TRACE_EVENTS; i++) {
		const struct rtt_event *e = &w->events[i];

		printf("  +%9llu cpu%u %-9s %d %.16s (%d) other %d %.16s (%d) state %u\n",
		       (unsigned long long)e->t_ns, e->cpu,
		       e->type < 6 ? ev[e->type] : "?", e->pid, e->comm,
		       e->prio, e->other_pid, e->other_comm, e->other_prio,
		       e->prev_state);
	}
}

static int drain(int fd, struct counts *c, int wait_ms)
{
	static char buf[65536];
	struct pollfd p = { .fd = fd, .events = POLLIN };
	struct timespec t0, t1;
	int total = 0;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		clock_gettime(CLOCK_MONOTONIC, &t1);
		if (t1.tv_sec - t0.tv_sec > 2)
			break;	/* a steady stream: enough */
		ssize_t n = read(fd, buf, sizeof(buf));
		char *q = buf;

		if (n < 0 && errno == EAGAIN) {
			if (poll(&p, 1, wait_ms) <= 0)
				break;
			continue;
		}
		EXPECT(n > 0, "read %zd", n);
		if (n <= 0)
			break;
		while (q < buf + n) {
			struct rtt_rec_hdr *h = (void *)q;

			EXPECT(h->size >= sizeof(*h) && q + h->size <= buf + n,
			       "record size %u", h->size);
			if (h->size < sizeof(*h))
				return total;
			switch (h->type) {
			case RTT_REC_TASK:
				EXPECT(h->size == sizeof(struct rtt_rec_task), "task size");
				c->task++;
				memcpy(&c->last_task, q, sizeof(c->last_task));
				if (c->last_task.task.flags & RTT_F_EXITED)
					c->exited++;
				break;
			case RTT_REC_VIOLATION:
				EXPECT(h->size == sizeof(struct rtt_rec_violation), "viol size");
				c->viol++;
				if (((struct rtt_rec_violation *)q)->metric ==
				    RTT_METRIC_LATENCY)
					note_ended(c->viol_lat, &c->nr_viol_lat,
						   MAX_ENDED,
						   ((struct rtt_rec_violation *)q)->value_ns,
						   h->t_ns);
				break;
			case RTT_REC_WORST: {
				struct rtt_rec_worst *w = (void *)q;

				EXPECT(h->size == sizeof(*w), "worst size");
				EXPECT(w->nr_events <= RTT_TRACE_EVENTS, "nr_events");
				c->worst++;
				if (w->metric == RTT_METRIC_LATENCY) {
					memcpy(&c->last_worst, w, sizeof(*w));
					note_ended(c->worst_lat, &c->nr_worst_lat,
						   64, w->value_ns, h->t_ns);
				}
				break;
			}
			case RTT_REC_DROPPED:
				c->dropped++;
				break;
			default:
				c->other++;
			}
			q += h->size;
			total++;
		}
	}
	return total;
}

int main(void)
{
	struct rtt_info info;
	struct rtt_track tr = { .kind = RTT_TRACK_PID, .flags = RTT_F_TRACE };
	struct rtt_bound b = { 0 };
	struct rtt_lin_hist lh = { 0 };
	static struct counts c;
	char small[8];
	pid_t child, child2;
	int fd, fd2, r;
	unsigned int base;

	setvbuf(stdout, NULL, _IOLBF, 0);

	fd = open("/dev/rt_tracer", O_RDWR | O_NONBLOCK);
	EXPECT(fd >= 0, "open");
	if (fd < 0)
		return 1;
	r = xioctl(fd, RTT_IOC_INFO, &info);
	EXPECT(!r && info.uapi_major == RTT_UAPI_MAJOR, "info %d", r);
	base = info.nr_tracked;	/* tracked by others */
	printf("info: uapi %u.%u capacity %u tracked %u flags %#x\n",
	       info.uapi_major, info.uapi_minor, info.capacity,
	       info.nr_tracked, info.flags);
	fd2 = open("/dev/rt_tracer", O_RDONLY);
	EXPECT(fd2 < 0 && errno == EBUSY, "second reader");
	fd2 = open("/dev/rt_tracer", O_WRONLY);
	EXPECT(fd2 >= 0, "control-only open");
	EXPECT(xioctl(fd2, RTT_IOC_INFO, &info) == 0, "info on control fd");
	EXPECT(read(fd2, small, sizeof(small)) < 0, "read on control fd");
	close(fd2);

	/* bad ioctls */
	EXPECT(xioctl(fd, _IOW(RTT_IOC_MAGIC, 1, int), &r) == -ENOTTY, "size");
	EXPECT(xioctl(fd, _IO(RTT_IOC_MAGIC, 99), NULL) == -ENOTTY, "unknown");
	EXPECT(xioctl(fd, RTT_IOC_ADD, (void *)8) == -EFAULT, "efault");
	tr.id = 999999;
	EXPECT(xioctl(fd, RTT_IOC_ADD, &tr) == -ESRCH, "esrch");
	tr.id = getpid();
	tr.reserved = 1;
	EXPECT(xioctl(fd, RTT_IOC_ADD, &tr) == -EINVAL, "reserved");
	tr.reserved = 0;
	tr.kind = 77;
	EXPECT(xioctl(fd, RTT_IOC_ADD, &tr) == -EINVAL, "kind");
	tr.kind = RTT_TRACK_PID;
	tr.id = -5;
	EXPECT(xioctl(fd, RTT_IOC_ADD, &tr) == -EINVAL, "negative");
	tr.id = 4242;
	EXPECT(xioctl(fd, RTT_IOC_DEL, &tr) == -ENOENT, "del untracked");

	/* a periodic task with a 1 ns latency bound: every wakeup violates */
	child = spawn_periodic(0);
	usleep(20000);
	kill(child, SIGSTOP);	/* no sample before the bound is set */
	tr.id = child;
	EXPECT(xioctl(fd, RTT_IOC_ADD, &tr) == 0, "add");
	EXPECT(xioctl(fd, RTT_IOC_ADD, &tr) == -EEXIST, "double add");
	b.pid = child;
	b.metric = RTT_METRIC_LATENCY;
	b.bound_ns = 1;
	EXPECT(xioctl(fd, RTT_IOC_SET_BOUND, &b) == 0, "bound");
	b.metric = 9;
	EXPECT(xioctl(fd, RTT_IOC_SET_BOUND, &b) == -EINVAL, "bound metric");
	lh.pid = child;
	lh.metric = RTT_METRIC_RELIEF;
	lh.lo_ns = 0;
	lh.step_ns = 50000;
	EXPECT(xioctl(fd, RTT_IOC_SET_LIN_HIST, &lh) == 0, "lin");
	lh.lo_ns = ~0ull;
	EXPECT(xioctl(fd, RTT_IOC_SET_LIN_HIST, &lh) == -ERANGE, "lin range");
	/*
	 * Unread for ~105 ms: the first new worsts coalesce into one queued
	 * worst record, and the ~105 violations stay well inside the notice
	 * ring (RTT_RING), so the worst's own violation is delivered too.
	 */
	kill(child, SIGCONT);
	usleep(50000);
	hog_burst(5);
	usleep(50000);
	errno = 0;
	EXPECT(read(fd, small, sizeof(small)) < 0 && errno == EMSGSIZE,
	       "small buffer");
	drain(fd, &c, 100);
	printf("records: task %d viol %d worst %d dropped %d\n", c.task,
	       c.viol, c.worst, c.dropped);
	EXPECT(c.viol > 50, "violations %d", c.viol);
	EXPECT(c.worst >= 1, "worst %d", c.worst);
	if (c.worst)
		print_worst(&c.last_worst);
	r = check_worst_times(&c);
	printf("worst records paired with their violation: %d of %d\n", r,
	       c.nr_worst_lat);
	EXPECT(r >= 1, "no worst latency record to check (%d dropped records)",
	       c.dropped);
	EXPECT(c.other == 0, "unknown records");
	memset(&c, 0, sizeof(c));
	EXPECT(xioctl(fd, RTT_IOC_SNAPSHOT, NULL) == 0, "snapshot");
	drain(fd, &c, 50);
	EXPECT(c.task >= 1, "snapshot records %d", c.task);
	if (c.task) {
		struct rtt_metric_stats *m = c.last_task.m;

		printf("snapshot pid %d latency count %llu max %llu viol %llu relief count %llu lin_step %llu\n",
		       c.last_task.task.pid,
		       (unsigned long long)m[0].count,
		       (unsigned long long)m[0].max_ns,
		       (unsigned long long)m[0].violations,
		       (unsigned long long)m[2].count,
		       (unsigned long long)m[2].lin_step_ns);
		EXPECT(m[0].count > 100, "latency count");
		/*
		 * All violate but the latencies of 0: after SIGCONT and the
		 * hog burst the loop calls clock_nanosleep with deadlines
		 * already past, and the timer (1 us later) often wakes it
		 * while it is still on its CPU, where it stays.
		 */
		EXPECT(m[0].violations == m[0].count - m[0].log2_hist[0],
		       "all violate but the 0s (%llu)",
		       (unsigned long long)m[0].log2_hist[0]);
		EXPECT(m[2].count > 100, "relief count");
		EXPECT(m[2].lin_step_ns == 50000, "lin");
	}
	/* exit: final record, then the slot is collected */
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	memset(&c, 0, sizeof(c));
	drain(fd, &c, 300);
	EXPECT(c.exited == 1, "exit records %d", c.exited);
	EXPECT(xioctl(fd, RTT_IOC_INFO, &info) == 0 && info.nr_tracked == base,
	       "collected, tracked %u", info.nr_tracked);

	/* TGID: threads created after the add are tracked too */
	child2 = spawn_periodic(100);
	usleep(20000);
	tr.kind = RTT_TRACK_TGID;
	tr.id = child2;
	EXPECT(xioctl(fd, RTT_IOC_ADD, &tr) == 0, "add tgid");
	usleep(300000);
	EXPECT(xioctl(fd, RTT_IOC_INFO, &info) == 0 && info.nr_tracked == base + 4,
	       "tgid threads tracked %u", info.nr_tracked);
	usleep(500000);	/* the 3 threads end */
	memset(&c, 0, sizeof(c));
	drain(fd, &c, 100);
	EXPECT(c.exited == 3, "thread exits %d", c.exited);
	EXPECT(xioctl(fd, RTT_IOC_DEL, &tr) == 0, "del tgid");
	EXPECT(xioctl(fd, RTT_IOC_DEL, &tr) == -ENOENT, "del tgid again");
	kill(child2, SIGKILL);
	waitpid(child2, NULL, 0);
	if (!base)
		EXPECT(xioctl(fd, RTT_IOC_RESET, NULL) == 0, "reset");
	close(fd);
	printf("devtest: %s (%d failures)\n", fails ? "FAIL" : "PASS", fails);
	return fails ? 1 : 0;
}
