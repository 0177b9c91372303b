// SPDX-License-Identifier: GPL-2.0
/*
 * overrun: a control loop whose compute ends just as its deadline comes,
 * so that the deadline's timer expires while the loop is still on its CPU
 * on its way into clock_nanosleep (it has set its sleeping state, it has
 * not left the CPU): the kernel then wakes it in its own context and it
 * returns without sleeping. Issue 10's case, made to happen on purpose.
 *
 * All threads SCHED_FIFO on one CPU, one time base: deadline i is
 * D(i) = start + i * period.
 *  - loop (-p, default 80) sleeps to D(i) - period/2 (an ordinary sleep),
 *    burns until D(i) - lead(i), then sleeps to D(i). lead(i) sweeps l..L
 *    ns in steps of S, so that some calls reach the kernel just before D(i)
 *    (seen under QEMU -icount, aarch64: 2.0-2.4 us, 3.2-3.6 us after a
 *    change of this program: it moves with the code); after one
 *    pass it sweeps the leads that did, +-64 ns, in steps of 8 ns.
 *  - hi (-q, default 90) sleeps to D(i) for even i and burns B us: woken
 *    by the same timer interrupt, it preempts the loop on its way in (the
 *    loop's latency for that period is hi's burst).
 *  - lo (-r, default 70) sleeps to D(i) for odd i and burns b us: woken by
 *    the same interrupt, it does not preempt: the loop keeps its CPU.
 * Their timers make the interrupt come at D(i) exactly: the loop's own,
 * armed after its deadline, would be clamped to the clock event device's
 * minimum delta and fire after it has left the CPU.
 *
 * The loop tells from its own switch counts (getrusage) how each call to
 * D(i) ended: "kept" (no switch at all: woken before it slept, not
 * preempted), "preempted" (no voluntary switch but an involuntary one),
 * else it slept. Every call of clock_nanosleep ends with one wakeup.
 */
#include "rt_common.h"
#include <pthread.h>

static long cycles = 400, period_us = 1000, lead_min, lead_max = 8000, lead_step = 32;
static long hi_burn_us = 200, lo_burn_us = 20;
static int cpu = 1;
static uint64_t t_start;

static void usage(FILE *f)
{
	fprintf(f,
		"usage: overrun [options]\n"
		"A SCHED_FIFO loop woken by its deadline's timer while still on its CPU.\n"
		"  -n CYCLES   cycles (default 400); the loop sleeps twice per cycle\n"
		"  -P US       period in microseconds (default 1000)\n"
		"  -l NS       smallest lead: how long before D(i) it calls (default 0)\n"
		"  -L NS       largest lead (default 8000)\n"
		"  -S NS       lead step from one cycle to the next (default 32); after\n"
		"              one pass, the leads that hit +-64 ns in steps of 8\n"
		"  -p RTPRIO   the loop's priority (default 80)\n"
		"  -q RTPRIO   hi's priority (default 90), woken at D(i) for even i\n"
		"  -r RTPRIO   lo's priority (default 70), woken at D(i) for odd i\n"
		"  -B US       hi's burst (default 200)\n"
		"  -b US       lo's burst (default 20)\n"
		"  -c CPU      the CPU of all three (default 1)\n"
		"  -s MS       delay before the first deadline (default 300)\n"
		"  -v          one line per call woken before it slept: lead and outcome\n"
		"  -h, --help  this text\n"
		"Summary: overrun: summary cycles=N calls=N kept=N preempted=N slept=N\n"
		"  hi_max_ns=.. hit_lo_ns=.. hit_hi_ns=..\n"
		"  (calls: clock_nanosleep calls of the loop, = its wakeups; hit_*: the\n"
		"  range of leads that woke it on its CPU)\n");
}

static struct timespec deadline(long i, int64_t off_ns)
{
	struct timespec t = { 0 };

	ts_add_ns(&t, t_start + (uint64_t)i * period_us * NSEC_PER_USEC + off_ns);
	return t;
}

static void switches(long *vol, long *invol)
{
	struct rusage ru;

	getrusage(RUSAGE_THREAD, &ru);
	*vol = ru.ru_nvcsw;
	*invol = ru.ru_nivcsw;
}

struct peer {
	const char *name;
	int rtprio, parity;
	long burn_us;
	uint64_t burst_max;
};

/* hi or lo: wake at D(i) for i of its parity, burn, sleep again */
static void *peer_main(void *arg)
{
	struct peer *p = arg;

	set_name(p->name);
	announce(p->name, p->rtprio, cpu);
	for (long i = p->parity; i < cycles; i += 2) {
		struct timespec d = deadline(i, 0);
		uint64_t t0;

		sleep_until(&d);
		t0 = now_ns();
		busy_us((uint64_t)p->burn_us);
		if (now_ns() - t0 > p->burst_max)
			p->burst_max = now_ns() - t0;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct option lo_opts[] = { { "help", no_argument, NULL, 'h' }, { 0 } };
	struct peer hi = { "overrun_hi", 90, 0, 0, 0 }, lo = { "overrun_lo", 70, 1, 0, 0 };
	long rtprio = 80, start_ms = 300, calls = 0, kept = 0, preempted = 0, slept = 0;
	long hit_lo = -1, hit_hi = -1, sw_lo, sw_span, sw_step, pass_end;
	pthread_t th_hi, th_lo;
	pthread_attr_t a;
	int c, verbose = 0;

	rt_init("overrun", 1);
	while ((c = getopt_long(argc, argv, "n:P:l:L:S:p:q:r:B:b:c:s:vh", lo_opts, NULL)) != -1) {
		switch (c) {
		case 'n': cycles = arg_num(optarg, "cycles", 1, 10000000); break;
		case 'P': period_us = arg_num(optarg, "period", 100, 1000000); break;
		case 'l': lead_min = arg_num(optarg, "lead", 0, 100000); break;
		case 'L': lead_max = arg_num(optarg, "lead", 0, 100000); break;
		case 'S': lead_step = arg_num(optarg, "lead step", 1, 100000); break;
		case 'p': rtprio = arg_num(optarg, "priority", 1, 99); break;
		case 'q': hi.rtprio = (int)arg_num(optarg, "hi priority", 1, 99); break;
		case 'r': lo.rtprio = (int)arg_num(optarg, "lo priority", 1, 99); break;
		case 'B': hi_burn_us = arg_num(optarg, "hi burst", 0, 1000000); break;
		case 'b': lo_burn_us = arg_num(optarg, "lo burst", 0, 1000000); break;
		case 'c': cpu = (int)arg_num(optarg, "cpu", 0, 4095); break;
		case 's': start_ms = arg_num(optarg, "start delay", 0, 600000); break;
		case 'v': verbose = 1; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	if (lead_min > lead_max)
		die("-l is above -L");
	if (hi_burn_us + lo_burn_us >= period_us / 2)
		die("the bursts must fit in half a period");
	hi.burn_us = hi_burn_us;
	lo.burn_us = lo_burn_us;

	set_name("overrun");
	pin_cpu(cpu);
	set_fifo((int)rtprio);
	announce("overrun", (int)rtprio, cpu);
	t_start = now_ns() + (uint64_t)start_ms * 1000000;
	rt_attr(&a, hi.rtprio, cpu);
	if (pthread_create(&th_hi, &a, peer_main, &hi))
		die("pthread_create: %s", strerror(errno));
	rt_attr(&a, lo.rtprio, cpu);
	if (pthread_create(&th_lo, &a, peer_main, &lo))
		die("pthread_create: %s", strerror(errno));

	sw_lo = lead_min;
	sw_span = lead_max - lead_min + 1;
	sw_step = lead_step;
	pass_end = 1 + (sw_span + lead_step - 1) / lead_step;
	for (long i = 1; i < cycles; i++) {
		struct timespec mid = deadline(i, -(int64_t)period_us * 500), d = deadline(i, 0);
		uint64_t lead, call_at;
		long v0, n0, v1, n1;

		if (i == pass_end && hit_lo >= 0) {
			/* one pass done: sweep the leads that hit, finely */
			sw_lo = hit_lo > 64 ? hit_lo - 64 : 0;
			sw_span = hit_hi + 64 - sw_lo + 1;
			sw_step = 8;
		}
		lead = (uint64_t)(sw_lo + (i * sw_step) % sw_span);
		call_at = ts_ns(&d) - lead;

		sleep_until(&mid);
		calls++;
		/* the compute: until just before the deadline */
		while (now_ns() < call_at)
			;
		switches(&v0, &n0);
		sleep_until(&d);
		calls++;
		switches(&v1, &n1);
		/* (getrusage itself never switches: only the sleep can) */
		if (v1 == v0 && n1 == n0)
			kept++;
		else if (v1 == v0)
			preempted++;
		else
			slept++;
		if (v1 == v0 && (hit_lo < 0 || (long)lead < hit_lo))
			hit_lo = (long)lead;
		if (v1 == v0 && (long)lead > hit_hi)
			hit_hi = (long)lead;
		if (verbose && v1 == v0)
			printf("overrun: call cycle=%ld lead_ns=%" PRIu64 " %s\n", i, lead,
			       n1 == n0 ? "kept" : "preempted");
	}
	pthread_join(th_hi, NULL);
	pthread_join(th_lo, NULL);
	printf("overrun: summary cycles=%ld calls=%ld kept=%ld preempted=%ld slept=%ld"
	       " hi_max_ns=%" PRIu64 " hit_lo_ns=%ld hit_hi_ns=%ld\n",
	       cycles, calls, kept, preempted, slept, hi.burst_max, hit_lo, hit_hi);
	return 0;
}
