/* SPDX-License-Identifier: MIT */
/*
 * gt_gil_state.h — the state the GIL state machine (gt_gil_sm.h) keeps: one
 * per GIL, one per thread. Recorders embed these in their own tables (the
 * preload library in its GIL table and thread-local storage, the eBPF
 * program in maps); only gt_gil_sm.h changes them.
 */
#ifndef GT_GIL_STATE_H
#define GT_GIL_STATE_H

#include "gt_types.h"

/* A run delay not read (or not readable): see gt_gil_sm.h, "CPU waits". */
#define GT_SM_NO_RD (~(__u64)0)

/* A GIL's dynamic state. */
struct gt_sm_gil {
	__u32 holder;         /* tid, 0 = free or unknown */
	__u32 last_holder;
	__u32 last_releaser;
	__u32 waiters;
	__u32 switches;       /* like CPython's switch_number */
	__u32 release_seq;
	__u32 flow_open;      /* the last release had waiters */
	__u32 drop_requested; /* a waiter asked the holder to drop it */
	__u64 last_ts;        /* newest timestamp given to this GIL's events */
	__u64 contended_since;
	/* CPU waits (gt_gil_sm.h): the holder's run delay when its hold got a
	 * waiter (valid if hold_rd_ok) and when it got the first drop
	 * request (valid if hold_q_ok); the holders' delays that kept waiters
	 * waiting, summed over every hold (preempt_acc). */
	__u64 hold_rd0, hold_rdq;
	__u64 preempt_acc;
	__u32 hold_rd_ok, hold_q_ok;
};

/* gt_sm_thread.gstate: the GIL slot of this thread's last GIL event, and: */
#define GT_TS_GIL_MASK 0xffu
#define GT_TS_WAITED (1u << 8)   /* has waited for that GIL since its last acquire */
#define GT_TS_RELEASED (1u << 9) /* its last GIL event was a release: a
				  * switch-mutex lock without the GIL mutex
				  * now is the forced-switch handshake */

/* A thread's state between two of its calls. */
struct gt_sm_thread {
	__u32 tid;
	__u32 gstate;      /* GT_TS_* */
	__u32 timeouts;    /* timed waits that ran out in this wait */
	__u32 seen_switch; /* GIL switch count when the last wait began */
	/* CPU waits of the current wait (GT_SM_NO_RD: not known): its own run
	 * delay when it began and at its last wake-up, and where the GIL's
	 * preempt_acc stood for it when it began. */
	__u64 rd0, rd_seen, rd_mark;
};

#endif
