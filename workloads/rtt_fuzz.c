// SPDX-License-Identifier: GPL-2.0
/*
 * rtt_fuzz: robustness driver for the rt_tracer module. For N iterations
 * (seeded, reproducible) it writes random and malformed text to every file in
 * /sys/kernel/rt_tracer/, reads them at odd offsets and sizes, and issues
 * random and malformed ioctls and reads on /dev/rt_tracer: unknown numbers,
 * wrong sizes and directions, garbage structs, NULL, unmapped, read-only and
 * page-straddling pointers. It only counts the results (ok or errno). Then it
 * checks that the module still works: reset, info, add a sleeping child by
 * ioctl and by sysfs, see it measured in a snapshot and in `tasks`, delete.
 * Exit status: 0 when the check passes, 1 otherwise.
 */
#include "rt_common.h"	/* first: it defines _GNU_SOURCE */
#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <linux/rt_tracer.h>

#define MAX_FILES 64
#define NR_CLASSES 4
static const char *class_name[NR_CLASSES] = { "sysfs_write", "sysfs_read", "ioctl_open", "dev_read" };
static unsigned long ok_count[NR_CLASSES], err_count[NR_CLASSES][256], anomalies;

static const char *sysdir = "/sys/kernel/rt_tracer", *devpath = "/dev/rt_tracer";
static char *files[MAX_FILES];
static int nfiles, verbose;
static uint64_t rng;
static pid_t child;
static char *page;	/* page 0: writable, page 1: PROT_NONE, page 2: read-only */
static long psz;

static uint64_t rnd(void)
{
	/* xorshift64*: small, seedable, good enough for fuzzing */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 2685821657736338717ull;
}

static uint64_t below(uint64_t n)
{
	return n ? rnd() % n : 0;
}

static void count(int cls, long ret, int err)
{
	if (ret >= 0)
		ok_count[cls]++;
	else
		err_count[cls][err > 0 && err < 256 ? err : 0]++;
}

/* A number a careless parser would trip over. */
static void interesting(char *buf, size_t len)
{
	static const char *const lit[] = {
		"0", "1", "-1", "-0", "+1", "2147483647", "2147483648", "-2147483648",
		"4294967295", "4294967296", "9223372036854775807", "18446744073709551615",
		"18446744073709551616", "99999999999999999999999999", "0x10", "010",
		"1e9", "nan", "", " ", "\t", "trace", "TRACE", "latency", "4194304",
	};

	switch (below(6)) {
	case 0: snprintf(buf, len, "%d", (int)child); break;
	case 1: snprintf(buf, len, "%d", (int)getpid()); break;
	case 2: snprintf(buf, len, "%d", (int)below(5)); break;
	case 3: snprintf(buf, len, "%lld", (long long)rnd()); break;
	default: snprintf(buf, len, "%s", lit[below(sizeof(lit) / sizeof(lit[0]))]); break;
	}
}

/* Text for a control file: mostly near-valid field lists, some garbage. */
static size_t gen_text(char *buf, size_t cap)
{
	size_t n = 0;

	switch (below(8)) {
	case 0:	/* raw random bytes, NULs included */
		n = below(cap < 300 ? cap : 300);
		for (size_t i = 0; i < n; i++)
			buf[i] = (char)rnd();
		return n;
	case 1:	/* longer than a sysfs page */
		n = cap;
		memset(buf, '1', n);
		return n;
	default: {	/* 0..5 fields, odd separators */
		int fields = (int)below(6);
		static const char *const sep[] = { " ", "  ", "\t", ",", "\n", "" };

		for (int f = 0; f < fields && n < cap - 64; f++) {
			if (f)
				n += (size_t)snprintf(buf + n, cap - n, "%s", sep[below(6)]);
			interesting(buf + n, cap - n);
			n += strlen(buf + n);
		}
		if (below(2) && n < cap)
			buf[n++] = '\n';
		return n;
	}
	}
}

/* A pointer argument: valid, NULL, unmapped, kernel, read-only or straddling. */
static void *gen_ptr(size_t want, int *valid)
{
	*valid = 0;
	switch (below(8)) {
	case 0: return NULL;
	case 1: return (void *)(uintptr_t)1;
	case 2: return (void *)(uintptr_t)-1;
	case 3: return (void *)(uintptr_t)0xffff800000000000ull;
	case 4: return page + psz;			/* PROT_NONE */
	case 5: return page + 2 * psz;			/* read-only */
	case 6: return page + psz - (want > 1 ? want / 2 : 1);	/* straddles */
	default:
		*valid = 1;
		return page + below(psz / 2);
	}
}

static void fuzz_sysfs(void)
{
	char path[512], buf[8192];
	int f = (int)below((uint64_t)nfiles), fd, valid;
	long ret;

	snprintf(path, sizeof(path), "%s/%s", sysdir, files[f]);
	if (below(4) == 0) {	/* read at odd offsets and sizes */
		fd = open(path, O_RDONLY);
		if (fd < 0) {
			count(1, -1, errno);
			return;
		}
		size_t len = below(3) ? below(sizeof(buf)) : 1;
		void *p = below(8) ? buf : gen_ptr(len, &valid);

		ret = pread(fd, p, len, (off_t)(below(3) ? 0 : below(10000)));
		count(1, ret, errno);
		if (ret > (long)len)
			anomalies++;
		close(fd);
		return;
	}
	fd = open(path, O_WRONLY);
	if (fd < 0) {
		count(0, -1, errno);
		return;
	}
	size_t n = gen_text(buf, below(10) ? 256 : 5000);
	void *p = below(16) ? buf : gen_ptr(n, &valid);

	if (verbose)
		fprintf(stderr, "write %s len=%zu\n", files[f], n);
	ret = write(fd, p, n);
	count(0, ret, errno);
	if (ret > (long)n)
		anomalies++;
	close(fd);
}

static unsigned long gen_cmd(void)
{
	static const unsigned long valid[] = {
		RTT_IOC_INFO, RTT_IOC_ADD, RTT_IOC_DEL, RTT_IOC_SET_BOUND,
		RTT_IOC_SET_LIN_HIST, RTT_IOC_RESET, RTT_IOC_SNAPSHOT,
	};
	unsigned long c = valid[below(7)];

	switch (below(6)) {
	case 0: return c;
	case 1: return (c & ~(unsigned long)_IOC_SIZEMASK << _IOC_SIZESHIFT) |
		       ((unsigned long)below(64) << _IOC_SIZESHIFT);	/* wrong size */
	case 2: return c ^ ((unsigned long)(1 + below(3)) << _IOC_DIRSHIFT);	/* wrong dir */
	case 3: return _IOC(below(4), RTT_IOC_MAGIC, 7 + below(249), below(64));	/* unknown nr */
	case 4: return _IOC(_IOC_DIR(c), below(256), _IOC_NR(c), _IOC_SIZE(c));	/* magic */
	default: return (unsigned long)(uint32_t)rnd();
	}
}

/* Fill a buffer with a plausible, but probably wrong, argument struct. */
static void gen_struct(unsigned char *b, size_t len)
{
	static const int kinds[] = { 0, RTT_TRACK_PID, RTT_TRACK_TGID, RTT_TRACK_IRQ, 4, -1 };
	char num[64];

	for (size_t i = 0; i < len; i++)
		b[i] = (unsigned char)rnd();
	if (below(2) && len >= 16) {	/* rtt_track / rtt_bound / rtt_lin_hist-ish */
		struct rtt_track *t = (void *)b;

		interesting(num, sizeof(num));
		t->kind = (uint32_t)kinds[below(6)];
		t->id = below(2) ? (int32_t)strtol(num, NULL, 0) : (int32_t)child;
		t->flags = below(2) ? RTT_F_TRACE : (uint32_t)rnd();
		t->reserved = below(2) ? 0 : (uint32_t)rnd();
		if (below(2)) {
			struct rtt_bound *bd = (void *)b;

			bd->metric = (uint32_t)below(RTT_NR_METRICS + 2);
		}
	}
}

static void fuzz_ioctl(int fd)
{
	unsigned long cmd = gen_cmd();
	size_t len = _IOC_SIZE(cmd) ? _IOC_SIZE(cmd) : 32;
	int valid;
	unsigned char *p = gen_ptr(len, &valid);
	long ret;

	if (valid)
		gen_struct(p, len < (size_t)psz / 2 ? len : (size_t)psz / 2);
	if (verbose)
		fprintf(stderr, "ioctl %#lx %p\n", cmd, (void *)p);
	ret = ioctl(fd, cmd, p);
	count(2, ret, errno);
}

static void fuzz_read(int fd)
{
	static const size_t sizes[] = {
		0, 1, sizeof(struct rtt_rec_hdr) - 1, sizeof(struct rtt_rec_hdr),
		RTT_REC_MAX_SIZE - 1, RTT_REC_MAX_SIZE, 65536,
	};
	static char buf[65536];
	size_t len = sizes[below(7)];
	int valid;
	void *p = below(3) ? buf : gen_ptr(len, &valid);
	long ret;

	if (below(8) == 0) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };

		count(3, poll(&pfd, 1, 0), errno);
		return;
	}
	ret = read(fd, p, len);
	count(3, ret, errno);
	if (ret > (long)len)
		anomalies++;
	if (ret > 0 && p == buf && (size_t)ret < sizeof(struct rtt_rec_hdr))
		anomalies++;	/* records are never split */
}

static void list_files(void)
{
	DIR *d = opendir(sysdir);
	struct dirent *e;

	if (!d)
		die("%s: %s", sysdir, strerror(errno));
	while ((e = readdir(d)) && nfiles < MAX_FILES)
		if (e->d_name[0] != '.')
			files[nfiles++] = strdup(e->d_name);
	closedir(d);
	if (!nfiles)
		die("%s is empty", sysdir);
}

/* ---- the check afterwards ---- */

static int failures;

#define CHECK(cond, ...) do {						\
	if (!(cond)) {							\
		printf("rtt_fuzz: verify FAILED: " __VA_ARGS__);	\
		printf(" (%s)\n", strerror(errno));			\
		failures++;						\
	}								\
} while (0)

static int sysfs_write(const char *file, const char *text)
{
	char path[512];
	int fd, ret;

	snprintf(path, sizeof(path), "%s/%s", sysdir, file);
	fd = open(path, O_WRONLY);
	if (fd < 0)
		return -1;
	ret = write(fd, text, strlen(text)) == (ssize_t)strlen(text) ? 0 : -1;
	close(fd);
	return ret;
}

/* Does `tasks` list pid? */
static int tasks_has(pid_t pid)
{
	char path[512], line[512], want[32];
	int found = 0;
	FILE *f;

	snprintf(path, sizeof(path), "%s/tasks", sysdir);
	snprintf(want, sizeof(want), "task pid=%d ", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (!strncmp(line, want, strlen(want)))
			found = 1;
	fclose(f);
	return found;
}

/* Latency count of pid in a fresh snapshot, -1 if absent. */
static long snapshot_count(int fd, pid_t pid)
{
	static unsigned char buf[65536];
	long cnt = -1;
	ssize_t n;

	while (read(fd, buf, sizeof(buf)) > 0)	/* drain what the fuzzing queued */
		;
	if (ioctl(fd, RTT_IOC_SNAPSHOT))
		return -2;
	for (int tries = 0; tries < 100; tries++) {
		n = read(fd, buf, sizeof(buf));
		if (n < 0 && errno == EAGAIN) {
			if (cnt >= 0)
				break;
			sleep_us(10000);
			continue;
		}
		if (n <= 0)
			break;
		for (ssize_t off = 0; off + (ssize_t)sizeof(struct rtt_rec_hdr) <= n;) {
			struct rtt_rec_hdr *h = (void *)(buf + off);

			if (h->size < sizeof(*h) || off + h->size > n)
				return -3;	/* malformed stream */
			if (h->type == RTT_REC_TASK && h->size >= sizeof(struct rtt_rec_task)) {
				struct rtt_rec_task *t = (void *)h;

				if (t->task.pid == pid)
					cnt = (long)t->m[RTT_METRIC_LATENCY].count;
			}
			off += h->size;
		}
	}
	return cnt;
}

static void verify(int fd)
{
	struct rtt_info info = { 0 };
	struct rtt_track tr = { .kind = RTT_TRACK_PID, .id = child, .flags = RTT_F_TRACE };
	char text[64];
	long cnt;

	CHECK(ioctl(fd, RTT_IOC_RESET) == 0, "RESET");
	CHECK(ioctl(fd, RTT_IOC_INFO, &info) == 0, "INFO");
	CHECK(info.uapi_major == RTT_UAPI_MAJOR, "uapi_major %u", info.uapi_major);
	CHECK(info.capacity > 0 && info.nr_tracked == 0, "capacity %u nr_tracked %u after reset",
	      info.capacity, info.nr_tracked);
	CHECK(ioctl(fd, RTT_IOC_ADD, &tr) == 0, "ADD child %d", (int)child);
	sleep_us(500000);	/* the child sleeps 2 ms at a time: <= 250 wakeups */
	cnt = snapshot_count(fd, child);
	/* A slow emulated guest on a busy host may manage far fewer. */
	CHECK(cnt >= 10 && cnt <= 260, "snapshot latency count of child = %ld, expected 10..260", cnt);
	CHECK(tasks_has(child) == 1, "tasks does not list child %d", (int)child);
	CHECK(ioctl(fd, RTT_IOC_DEL, &tr) == 0, "DEL child");
	CHECK(tasks_has(child) == 0, "tasks still lists child %d after DEL", (int)child);
	snprintf(text, sizeof(text), "%d trace\n", (int)child);
	CHECK(sysfs_write("add_pid", text) == 0, "sysfs add_pid '%d trace'", (int)child);
	sleep_us(50000);
	CHECK(tasks_has(child) == 1, "tasks does not list child after sysfs add_pid");
	snprintf(text, sizeof(text), "%d\n", (int)child);
	CHECK(sysfs_write("del_pid", text) == 0, "sysfs del_pid");
	CHECK(tasks_has(child) == 0, "tasks still lists child after sysfs del_pid");
	CHECK(ioctl(fd, RTT_IOC_INFO, &info) == 0 && info.nr_tracked == 0,
	      "nr_tracked %u at the end", info.nr_tracked);
}

static int open_dev(int i)
{
	int fd = open(devpath, (i ? O_WRONLY : O_RDONLY) | O_NONBLOCK);

	if (fd < 0)
		die("open %s for %s: %s", devpath, i ? "ioctls" : "reading", strerror(errno));
	return fd;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: rtt_fuzz [options]\n"
		"Random and malformed sysfs writes and ioctls against rt_tracer, then a\n"
		"functional check. Exit 0 when the module still works.\n"
		"  -n N        iterations (default 20000)\n"
		"  -S SEED     random seed (default 1)\n"
		"  -d PATH     device (default /dev/rt_tracer)\n"
		"  -D DIR      sysfs directory (default /sys/kernel/rt_tracer)\n"
		"  -v          log every operation to stderr\n"
		"  -h, --help  this text\n");
}

int main(int argc, char **argv)
{
	static const struct option lo[] = { { "help", no_argument, NULL, 'h' }, { 0 } };
	long iters = 20000;
	unsigned long long seed = 1;
	int fds[4], c;

	rt_init("rtt_fuzz", 0);
	while ((c = getopt_long(argc, argv, "n:S:d:D:vh", lo, NULL)) != -1) {
		switch (c) {
		case 'n': iters = arg_num(optarg, "iterations", 0, 1000000000); break;
		case 'S': seed = strtoull(optarg, NULL, 0); break;
		case 'd': devpath = optarg; break;
		case 'D': sysdir = optarg; break;
		case 'v': verbose = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	rng = seed * 0x9e3779b97f4a7c15ull + 1;
	set_name("rtt_fuzz");
	announce("rtt_fuzz", 0, -1);

	/* A child that sleeps and wakes all the time: something real to track. */
	child = fork();
	if (child == 0) {
		set_name("fz_child");
		for (;;)
			sleep_us(2000);
	}
	if (child < 0)
		die("fork: %s", strerror(errno));

	psz = sysconf(_SC_PAGESIZE);
	page = mmap(NULL, 3 * (size_t)psz, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (page == MAP_FAILED)
		die("mmap: %s", strerror(errno));
	mprotect(page + psz, (size_t)psz, PROT_NONE);
	mprotect(page + 2 * psz, (size_t)psz, PROT_READ);
	list_files();
	/* fds[0] reads (the module allows one reader at a time), the rest only ioctl. */
	for (int i = 0; i < 4; i++)
		fds[i] = open_dev(i);
	printf("rtt_fuzz: seed=%llu iterations=%ld files=%d child=%d\n", seed, iters, nfiles,
	       (int)child);

	for (long i = 0; i < iters; i++) {
		int fd = fds[below(4)];

		switch (below(10)) {
		case 0: case 1: case 2: case 3: fuzz_sysfs(); break;
		case 4: case 5: case 6: fuzz_ioctl(fd); break;
		case 7: case 8: fuzz_read(fds[0]); break;
		default: {	/* reopen: exercises open/release with state queued */
			int k = (int)below(4);

			close(fds[k]);
			/* a second reader must be refused while fds[0] is open */
			if (k) {
				int r = open(devpath, O_RDONLY | O_NONBLOCK);

				count(2, r, errno);
				if (r >= 0) {
					anomalies++;
					close(r);
				}
			}
			fds[k] = open_dev(k);
		}
		}
		if ((i + 1) % 5000 == 0)
			printf("rtt_fuzz: progress %ld\n", i + 1);
	}

	for (int cls = 0; cls < NR_CLASSES; cls++) {
		printf("rtt_fuzz: result %s ok=%lu", class_name[cls], ok_count[cls]);
		for (int e = 0; e < 256; e++)
			if (err_count[cls][e])
				printf(" %s=%lu", e ? strerrorname_np(e) : "other", err_count[cls][e]);
		printf("\n");
	}
	verify(fds[0]);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
	printf("rtt_fuzz: summary anomalies=%lu verify=%s\n", anomalies,
	       failures ? "FAILED" : "ok");
	return failures || anomalies ? 1 : 0;
}
