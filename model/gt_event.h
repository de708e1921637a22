/* SPDX-License-Identifier: MIT */
/*
 * gt_event.h — the one GIL event record.
 *
 * Both recorders produce it: the LD_PRELOAD interposer writes it into
 * per-thread rings, the eBPF mode into a BPF ring buffer. The encoder turns a
 * thread's events, in order, into Perfetto packets. Everything a metric needs
 * across threads (holder, waiter count, flow sequence, contention episode) is
 * computed when the event is recorded, under the GIL's own mutex, so that a
 * thread's stream can be encoded without looking at any other thread's.
 */
#ifndef GT_EVENT_H
#define GT_EVENT_H

#include "gt_types.h"

enum gt_event_kind {
	GT_EV_NONE = 0,
	/* First timed wait of a take: the thread starts waiting for the GIL.
	 * peer = holder tid (0 if unknown), count = waiters including this
	 * one, arg = switch interval in µs (0 if unknown). */
	GT_EV_WAIT = 1,
	/* The thread took the GIL. peer = thread that released it last (0 if
	 * none), count = waiters left, arg = timed waits that ran out during
	 * this take, seq = release sequence number this acquire follows.
	 * Flags: GT_F_WAITED, GT_F_CONTENTION_END (a GT_EV_CONTENDED_SINCE
	 * precedes it), GT_F_FLOW_IN. */
	GT_EV_ACQUIRE = 2,
	/* The thread released the GIL. count = waiters at that moment,
	 * seq = this release's sequence number (flow id when count > 0),
	 * arg = the switch interval in force, in µs (0 if unknown).
	 * GT_F_DROP_PENDING: a drop request was pending, so CPython makes this
	 * a forced switch. */
	GT_EV_RELEASE = 3,
	/* The thread performed CPython's FORCE_SWITCHING handshake after its
	 * last release: that release was forced. No ts. (Usually already known
	 * from GT_F_DROP_PENDING; this confirms it.) */
	GT_EV_FORCED = 4,
	/* This waiter's timed wait ran out while the GIL stayed with the same
	 * holder: CPython sets the drop request. peer = holder tid. */
	GT_EV_DROP_REQUEST = 5,
	/* The thread is exiting (its last release, if any, ended its hold).
	 * peer, count, seq and arg hold its name then: 16 bytes, NUL-padded
	 * (all zero if unknown). After it, the thread's ring may carry
	 * another thread's events (tid says whose). */
	GT_EV_THREAD_EXIT = 6,
	/* The thread left take_gil without the GIL after waiting (a daemon
	 * thread told to exit during finalisation). count = waiters left,
	 * arg = timed waits that ran out. May have GT_F_CONTENTION_END. */
	GT_EV_ABANDON = 7,
	/* Companion of the next event (an ACQUIRE or ABANDON with
	 * GT_F_CONTENTION_END): ts = when the contention episode it ends began,
	 * i.e. when the GIL's waiter count went from 0 to 1. */
	GT_EV_CONTENDED_SINCE = 8,
	/* Companion of the previous event: arg = the id of the stack captured
	 * with it. Reserved for stack capture; not written yet. */
	GT_EV_STACK = 9,
	/* A waiting thread is back on a CPU after a wake-up (its timed wait
	 * returned: timeout or signal): ts = then; count | seq << 32 = the
	 * nanoseconds it spent runnable but not running since the wait began
	 * or since its last GT_EV_CPU_WAIT (the kernel's run_delay). That
	 * time almost always is the wake-up's own wait for a CPU, which ends
	 * just before ts. Written only when it is above zero. */
	GT_EV_CPU_WAIT = 10,
	/* Companion of the next event, written when the kernel's run delays
	 * are known (model/gt_gil_sm.h, "CPU waits"). No ts.
	 *  - before an ACQUIRE or ABANDON with GT_F_WAITED: count | seq << 32 =
	 *    ns the thread was runnable but not running during the wait (its
	 *    CPU_WAITs summed); peer | arg << 32 = ns the GIL's holders were
	 *    runnable but not running during the wait (all ones: unknown);
	 *  - before a RELEASE with waiters: count | seq << 32 = ns the thread
	 *    was runnable but not running while it held the GIL with a
	 *    waiter. */
	GT_EV_SCHED = 11,
	GT_EV_KIND_MAX
};

enum gt_event_flag {
	GT_F_WAITED = 1u << 0,
	GT_F_CONTENTION_END = 1u << 1,
	/* ACQUIRE: the release it follows had waiters, so it started a flow
	 * (id from seq) that this acquire terminates. */
	GT_F_FLOW_IN = 1u << 2,
	/* RELEASE: a drop request was pending (the release is forced). */
	GT_F_DROP_PENDING = 1u << 3,
};

/* 32 bytes, two to a cache line: recording one is two 16-byte stores, and
 * the cache line the writer thread last read is taken back half as often.
 * Rare extra data (a contention episode's start, a stack) travels in a
 * companion record rather than in every event. Field meanings depend on
 * kind (see enum gt_event_kind); unused fields are zero. */
struct gt_event {
	__u64 ts;    /* recorder clock (TSC ticks or CLOCK_BOOTTIME ns) */
	__u32 tid;   /* OS thread id the event belongs to */
	__u32 peer;  /* another thread's tid, see kind */
	__u32 count; /* waiter count, see kind */
	__u32 seq;   /* release sequence number, see kind */
	__u32 arg;   /* kind-specific small value */
	__u8 kind;   /* enum gt_event_kind */
	__u8 gil;    /* GIL slot */
	__u16 flags; /* enum gt_event_flag */
};

_Static_assert(sizeof(struct gt_event) == 32, "gt_event must stay 32 bytes");

#define GT_MAX_GILS 64

#endif
