/* SPDX-License-Identifier: GPL-2.0 */
/* The kernel's function attributes and branch hints, for the host build. */
#ifndef _RTT_HOST_ATTRS_H
#define _RTT_HOST_ATTRS_H

#ifndef __always_inline
#define __always_inline inline __attribute__((__always_inline__))
#endif
#define noinline __attribute__((__noinline__))
#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#endif /* _RTT_HOST_ATTRS_H */
