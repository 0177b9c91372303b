// SPDX-License-Identifier: GPL-2.0
/*
 * gpio_pulse: the tests' GPIO stimulus (BusyBox has no gpioset). Requests
 * line L of a GPIO chip as an output through the GPIO character device v2
 * and toggles it N times, one edge per period (absolute clock_nanosleep, so
 * a late edge does not shift the following ones). With -w it also requests
 * line L+1 for edge events and prints each one's kernel timestamp.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <linux/gpio.h>

static void usage(FILE *f)
{
	fprintf(f,
		"usage: gpio_pulse [options]\n"
		"  -c CHIP     GPIO chip: /dev path or label (default gpio-loopback)\n"
		"  -l LINE     line offset to drive (default 16)\n"
		"  -n N        number of edges (default 200)\n"
		"  -P US       period between edges in us, 0 = as fast as possible (default 1000)\n"
		"  -d MS       run for this long instead of N edges (0 = use -n)\n"
		"  -w          watch LINE+1 for edge events and print their timestamps\n"
		"  -H MS       hold the line requested this long after the edges\n"
		"Summary: gpio_pulse: edges=N events=M\n");
}

static int request(int chip, unsigned int off, uint64_t flags, int *fd)
{
	struct gpio_v2_line_request req;

	memset(&req, 0, sizeof(req));
	req.offsets[0] = off;
	req.num_lines = 1;
	req.config.flags = flags;
	req.event_buffer_size = 1024;
	strcpy(req.consumer, "gpio_pulse");
	if (ioctl(chip, GPIO_V2_GET_LINE_IOCTL, &req) < 0)
		return -errno;
	*fd = req.fd;
	return 0;
}

static long drain(int fd, int print)
{
	struct gpio_v2_line_event ev[64];
	long n = 0;
	ssize_t r;
	struct pollfd p = { .fd = fd, .events = POLLIN };

	while (poll(&p, 1, 0) > 0 && (r = read(fd, ev, sizeof(ev))) > 0) {
		for (size_t i = 0; i < (size_t)r / sizeof(ev[0]); i++, n++)
			if (print)
				printf("event %s %llu\n",
				       ev[i].id == GPIO_V2_LINE_EVENT_RISING_EDGE ?
				       "rising" : "falling",
				       (unsigned long long)ev[i].timestamp_ns);
	}
	return n;
}

/* open_chip - a /dev path, or the first /dev/gpiochipN whose label is @name */
static int open_chip(const char *name)
{
	struct gpiochip_info info;
	char path[32];
	int fd;

	if (name[0] == '/')
		return open(name, O_RDWR);
	for (int i = 0; i < 16; i++) {
		snprintf(path, sizeof(path), "/dev/gpiochip%d", i);
		fd = open(path, O_RDWR);
		if (fd < 0)
			continue;
		if (!ioctl(fd, GPIO_GET_CHIPINFO_IOCTL, &info) &&
		    !strcmp(info.label, name))
			return fd;
		close(fd);
	}
	errno = ENODEV;
	return -1;
}

int main(int argc, char **argv)
{
	const char *dev = "gpio-loopback";
	long line = 16, n = 200, period_us = 1000, dur_ms = 0, hold_ms = 0;
	long edges = 0, events = 0;
	int watch = 0, chip, out, in = -1, c, r;
	struct gpio_v2_line_values v = { .mask = 1 };
	struct timespec t, end;

	if (argc > 1 && !strcmp(argv[1], "--help")) {
		usage(stdout);
		return 0;
	}
	while ((c = getopt(argc, argv, "c:l:n:P:d:wH:h")) != -1) {
		switch (c) {
		case 'c': dev = optarg; break;
		case 'l': line = atol(optarg); break;
		case 'n': n = atol(optarg); break;
		case 'P': period_us = atol(optarg); break;
		case 'd': dur_ms = atol(optarg); break;
		case 'w': watch = 1; break;
		case 'H': hold_ms = atol(optarg); break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	chip = open_chip(dev);
	if (chip < 0) {
		perror(dev);
		return 1;
	}
	r = request(chip, line, GPIO_V2_LINE_FLAG_OUTPUT, &out);
	if (r) {
		fprintf(stderr, "gpio_pulse: line %ld: %s\n", line, strerror(-r));
		return 1;
	}
	if (watch) {
		r = request(chip, line + 1, GPIO_V2_LINE_FLAG_INPUT |
			    GPIO_V2_LINE_FLAG_EDGE_RISING |
			    GPIO_V2_LINE_FLAG_EDGE_FALLING, &in);
		if (r) {
			fprintf(stderr, "gpio_pulse: line %ld: %s\n", line + 1,
				strerror(-r));
			return 1;
		}
	}
	clock_gettime(CLOCK_MONOTONIC, &t);
	end = t;
	end.tv_sec += dur_ms / 1000;
	end.tv_nsec += (dur_ms % 1000) * 1000000;
	if (end.tv_nsec >= 1000000000) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000;
	}
	for (;;) {
		if (dur_ms) {
			struct timespec now;

			clock_gettime(CLOCK_MONOTONIC, &now);
			if (now.tv_sec > end.tv_sec ||
			    (now.tv_sec == end.tv_sec && now.tv_nsec >= end.tv_nsec))
				break;
		} else if (edges >= n) {
			break;
		}
		v.bits = (edges + 1) & 1;	/* the line starts low: 1st edge rises */
		if (ioctl(out, GPIO_V2_LINE_SET_VALUES_IOCTL, &v) < 0) {
			perror("GPIO_V2_LINE_SET_VALUES_IOCTL");
			return 1;
		}
		edges++;
		if (in >= 0)
			events += drain(in, 1);
		if (period_us) {
			t.tv_nsec += period_us * 1000;
			while (t.tv_nsec >= 1000000000) {
				t.tv_sec++;
				t.tv_nsec -= 1000000000;
			}
			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &t, NULL);
		}
	}
	if (in >= 0) {
		usleep(100000);
		events += drain(in, 1);
	}
	if (hold_ms)
		usleep(hold_ms * 1000);
	printf("gpio_pulse: edges=%ld events=%ld\n", edges, events);
	return 0;
}
