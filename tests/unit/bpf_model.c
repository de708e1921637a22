/* SPDX-License-Identifier: MIT */
/*
 * bpf_model.c — the GIL model's headers build for the BPF target.
 *
 * The eBPF recorder will run model/gt_gil_sm.h inside the kernel; this file
 * is what it will need from the headers, compiled with clang -target bpf by
 * the model_bpf test: no libc, types from vmlinux.h (here the few lines of it
 * the model uses), the state machine with an emit of its own.
 */
#define __VMLINUX_H__
typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;

#include "gt_gil_sm.h"

static struct gt_event last;

static inline void gt_sm_emit(struct gt_sm_thread *t, __u32 kind, __u32 gil, __u32 flags,
			      __u64 ts, __u32 peer, __u32 count, __u32 seq, __u32 arg)
{
	last = (struct gt_event){ts, t->tid, peer, count, seq, arg, (__u8)kind, (__u8)gil,
				 (__u16)flags};
}

static struct gt_sm_gil gil;
static struct gt_sm_thread thread;

__attribute__((section("uprobe"), used)) int model(void *ctx)
{
	(void)ctx;
	gt_sm_wait(&gil, &thread, 0, 1, 5000);
	gt_sm_wait_timed_out(&gil, &thread, 0, 2, GT_SM_NO_RD);
	gt_sm_acquire(&gil, &thread, 0, 3, GT_SM_NO_RD);
	gt_sm_release(&gil, &thread, 0, 4, 5000, GT_SM_NO_RD);
	gt_sm_handshake(&thread, 0);
	gt_sm_abandon(&gil, &thread, 0, 5);
	const __u32 name[4] = {0};
	gt_sm_thread_exit(&thread, 6, name);
	return (int)last.ts;
}

char LICENSE[] __attribute__((section("license"), used)) = "GPL";
