/* SPDX-License-Identifier: MIT */
/*
 * gt_types.h — the fixed-width types of the GIL model's headers.
 *
 * The model (events, state machine, trace schema) is compiled into the
 * preload library, the tools and, later, an eBPF program. A BPF program gets
 * its types from vmlinux.h and cannot include libc's <stdint.h> (it pulls in
 * glibc's 32-bit stubs, and both define the same names), so the model uses
 * the kernel's __u8 ... __u64: from vmlinux.h there, from the kernel's UAPI
 * header <linux/types.h> everywhere else. __u64 is unsigned long long while
 * uint64_t is unsigned long on x86-64: values convert freely, pointers do
 * not, which is why the model's structures are only ever used by value or
 * through pointers of their own type.
 */
#ifndef GT_TYPES_H
#define GT_TYPES_H

#ifndef __VMLINUX_H__
#include <linux/types.h>
#endif

#endif
