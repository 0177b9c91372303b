// SPDX-License-Identifier: GPL-2.0
/*
 * win_target: a loop with no rt-tracer code in it, for budget windows
 * bound to it from outside (uprobes at its functions' file offsets, see
 * /sys/kernel/rt_tracer/windows). Each iteration runs two steps, each
 * between a begin and an end function (the binding points):
 *   step_a_begin(); busy A us; step_a_end();
 *   step_b_begin(); busy B us; step_b_end();
 * then sleeps P us. -s delays the first iteration (time to bind).
 * Output: "win_target: summary iterations=N" at the end.
 */
#include "rt_common.h"

/* distinct bodies: identical functions could be folded into one */
static volatile unsigned long hits_a_begin, hits_a_end, hits_b_begin, hits_b_end;

__attribute__((noinline, used)) void step_a_begin(void)
{
	hits_a_begin++;
}

__attribute__((noinline, used)) void step_a_end(void)
{
	hits_a_end += 2;
}

__attribute__((noinline, used)) void step_b_begin(void)
{
	hits_b_begin += 3;
}

__attribute__((noinline, used)) void step_b_end(void)
{
	hits_b_end += 4;
}

int main(int argc, char **argv)
{
	long n = 10, a_us = 200, b_us = 200, period_us = 2000, start_ms = 0, i;
	int c;

	rt_init("win_target", 0);
	while ((c = getopt(argc, argv, "n:a:b:P:s:")) != -1) {
		switch (c) {
		case 'n': n = arg_num(optarg, "iterations", 1, 10000000); break;
		case 'a': a_us = arg_num(optarg, "step a", 0, 10000000); break;
		case 'b': b_us = arg_num(optarg, "step b", 0, 10000000); break;
		case 'P': period_us = arg_num(optarg, "period", 0, 10000000); break;
		case 's': start_ms = arg_num(optarg, "start delay", 0, 600000); break;
		default:
			fprintf(stderr, "usage: win_target [-n N] [-a US] [-b US] [-P US] [-s MS]\n");
			return 2;
		}
	}
	announce("win_target", 0, -1);
	if (start_ms)
		sleep_us((uint64_t)start_ms * 1000);
	for (i = 0; i < n; i++) {
		step_a_begin();
		busy_us((uint64_t)a_us);
		step_a_end();
		step_b_begin();
		busy_us((uint64_t)b_us);
		step_b_end();
		sleep_us((uint64_t)period_us);
	}
	printf("win_target: summary iterations=%ld\n", n);
	return 0;
}
