/* SPDX-License-Identifier: GPL-2.0 */
/*
 * the few kernel types and helpers the kernel-independent core
 * (rtt_core.c) uses, so that it builds both in the module and in the host
 * unit tests (tests/).
 */
#ifndef _RTT_COMPAT_H
#define _RTT_COMPAT_H

#ifdef __KERNEL__
#include <linux/types.h>
#include <linux/string.h>
#include <linux/kernel.h>
#include <linux/limits.h>
#include <linux/math64.h>
#include <linux/bitops.h>
#include <linux/bits.h>
#include <linux/compiler.h>
#include <asm/barrier.h>

static inline u64 rtt_div64(u64 a, u64 b)
{
	return div64_u64(a, b);
}

static inline unsigned int rtt_fls64(u64 v)
{
#ifdef CONFIG_ARM64
	u64 z;

	/* clz is defined for 0 (64) on arm64: no test needed */
	asm("clz %0, %1" : "=r" (z) : "r" (v));
	return 64 - z;
#else
	return fls64(v);
#endif
}

#else /* host unit tests */
#include <stdint.h>
#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <stdio.h>
#include <stdarg.h>
#include <linux/types.h>

typedef uint8_t u8;
typedef uint16_t u16;
typedef uint32_t u32;
typedef uint64_t u64;
typedef int8_t s8;
typedef int16_t s16;
typedef int32_t s32;
typedef int64_t s64;

#ifndef U64_MAX
#define U64_MAX UINT64_MAX
#endif
#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))
#define BIT(n) (1UL << (n))
#include "host_attrs.h"	/* tests/: likely(), noinline, barriers */

static inline u64 rtt_div64(u64 a, u64 b)
{
	return a / b;
}

static inline unsigned int rtt_fls64(u64 v)
{
	return v ? 64 - __builtin_clzll(v) : 0;
}

#endif /* __KERNEL__ */

#endif /* _RTT_COMPAT_H */
