/* SPDX-License-Identifier: MIT */
/*
 * test_gil_sm.c — the GIL state machine (model/gt_gil_sm.h), driven by
 * synthetic call sequences: no Python, no threads, no clock. Each scenario
 * is the order in which CPython's take_gil/drop_gil make their pthread
 * calls, and the check is the exact list of events, written one per line as
 * "KIND tTID @TS peer=P count=C seq=S arg=A flags".
 */
#include <stdio.h>
#include <string.h>

#include "gt_gil_sm.h"
#include "unittest.h"

static char out[8192];
static size_t out_len;

static const char *const kind_name[GT_EV_KIND_MAX] = {
	"NONE", "WAIT", "ACQUIRE", "RELEASE", "FORCED", "DROP_REQUEST", "THREAD_EXIT",
	"ABANDON", "CONTENDED_SINCE", "STACK",
};


static inline void gt_sm_emit(struct gt_sm_thread *t, __u32 kind, __u32 gil, __u32 flags,
			      __u64 ts, __u32 peer, __u32 count, __u32 seq, __u32 arg)
{
	out_len += (size_t)snprintf(out + out_len, sizeof(out) - out_len,
				    "%s t%u @%llu g%u peer=%u count=%u seq=%u arg=%u%s%s%s%s\n",
				    kind_name[kind], t->tid, (unsigned long long)ts, gil, peer,
				    count, seq, arg, flags & GT_F_WAITED ? " waited" : "",
				    flags & GT_F_CONTENTION_END ? " contention-end" : "",
				    flags & GT_F_FLOW_IN ? " flow-in" : "",
				    flags & GT_F_DROP_PENDING ? " drop-pending" : "");
}

/* The events emitted since the last call, then forgotten. */
static const char *events(void)
{
	static char copy[sizeof(out)];
	memcpy(copy, out, out_len + 1);
	out_len = 0;
	out[0] = 0;
	return copy;
}

static struct gt_sm_gil gil;
static struct gt_sm_thread a, b, c;
enum { K = 3 }; /* any slot: events carry it */

static void reset(void)
{
	gil = (struct gt_sm_gil){0};
	a = (struct gt_sm_thread){.tid = 101};
	b = (struct gt_sm_thread){.tid = 102};
	c = (struct gt_sm_thread){.tid = 103};
	events();
}

/* A thread taking and dropping the GIL for syscalls with nobody waiting:
 * the recorders' hot path, which relies on gt_sm_acquire_is_plain(). */
static void uncontended(void)
{
	reset();
	CHECK(!gt_sm_acquire_is_plain(&gil, &a, K)); /* first acquire: no last holder */
	gt_sm_acquire(&gil, &a, K, 1000);
	gt_sm_release(&gil, &a, K, 2000, 5000);
	CHECK_STR(events(), "ACQUIRE t101 @1000 g3 peer=0 count=0 seq=0 arg=0\n"
			    "RELEASE t101 @2000 g3 peer=0 count=0 seq=1 arg=5000\n");
	CHECK(gt_sm_acquire_is_plain(&gil, &a, K));
	gt_sm_acquire(&gil, &a, K, 3000);
	gt_sm_release(&gil, &a, K, 4000, 5000);
	CHECK_STR(events(), "ACQUIRE t101 @3000 g3 peer=101 count=0 seq=1 arg=0\n"
			    "RELEASE t101 @4000 g3 peer=0 count=0 seq=2 arg=5000\n");
	CHECK_U64(gil.switches, 1);
	CHECK(!gt_sm_acquire_is_plain(&gil, &b, K)); /* another thread: a switch */
}

/* B waits while A holds the GIL; A drops it voluntarily (a syscall): no
 * drop request, a flow from A's release to B's acquire. */
static void contended_wait(void)
{
	reset();
	gt_sm_acquire(&gil, &a, K, 1000);
	CHECK(gt_sm_wait_begins(&b, K));
	gt_sm_wait(&gil, &b, K, 1100, 5000);
	gt_sm_release(&gil, &a, K, 1500, 5000);
	CHECK(!gt_sm_acquire_is_plain(&gil, &b, K));
	gt_sm_acquire(&gil, &b, K, 1600);
	CHECK_STR(events(), "ACQUIRE t101 @1000 g3 peer=0 count=0 seq=0 arg=0\n"
			    "WAIT t102 @1100 g3 peer=101 count=1 seq=0 arg=5000\n"
			    "RELEASE t101 @1500 g3 peer=0 count=1 seq=1 arg=5000\n"
			    "CONTENDED_SINCE t102 @1100 g3 peer=0 count=0 seq=0 arg=0\n"
			    "ACQUIRE t102 @1600 g3 peer=101 count=0 seq=1 arg=0 waited "
			    "contention-end flow-in\n");
	CHECK_U64(gil.holder, 102);
	CHECK(!gil.flow_open);
}

/* B's timed wait runs out with A still holding: the drop request; A's
 * next release is forced and it does the handshake; B takes the GIL. */
static void forced_switch(void)
{
	reset();
	gt_sm_acquire(&gil, &a, K, 1000);
	gt_sm_wait(&gil, &b, K, 1100, 5000);
	gt_sm_wait_timed_out(&gil, &b, K, 6100);
	CHECK(!gt_sm_wait_begins(&b, K)); /* take_gil waits again: the same wait */
	gt_sm_wait(&gil, &b, K, 6101, 5000);
	gt_sm_release(&gil, &a, K, 6200, 5000);
	gt_sm_handshake(&a, K);
	gt_sm_acquire(&gil, &b, K, 6300);
	gt_sm_handshake(&a, K); /* a second handshake: nothing more to say */
	CHECK_STR(events(), "ACQUIRE t101 @1000 g3 peer=0 count=0 seq=0 arg=0\n"
			    "WAIT t102 @1100 g3 peer=101 count=1 seq=0 arg=5000\n"
			    "DROP_REQUEST t102 @6100 g3 peer=101 count=1 seq=0 arg=0\n"
			    "RELEASE t101 @6200 g3 peer=0 count=1 seq=1 arg=5000 drop-pending\n"
			    "FORCED t101 @0 g3 peer=0 count=0 seq=0 arg=0\n"
			    "CONTENDED_SINCE t102 @1100 g3 peer=0 count=0 seq=0 arg=0\n"
			    "ACQUIRE t102 @6300 g3 peer=101 count=0 seq=1 arg=1 waited "
			    "contention-end flow-in\n");
	CHECK(!gil.drop_requested); /* reset by the acquire, as CPython does */
}

/* A is preempted right after its forced release: B takes the GIL, drops
 * it, takes it again before A's handshake runs. The release was forced all
 * the same, and the late FORCED still names it (A's last GIL event). */
static void late_handshake(void)
{
	reset();
	gt_sm_acquire(&gil, &a, K, 1000);
	gt_sm_wait(&gil, &b, K, 1100, 5000);
	gt_sm_wait_timed_out(&gil, &b, K, 6100);
	gt_sm_release(&gil, &a, K, 6200, 5000);
	gt_sm_acquire(&gil, &b, K, 6300);
	gt_sm_release(&gil, &b, K, 6400, 5000);
	gt_sm_acquire(&gil, &b, K, 6500);
	gt_sm_handshake(&a, K);
	const char *ev = events();
	CHECK(strstr(ev, "RELEASE t101 @6200 g3 peer=0 count=1 seq=1 arg=5000 drop-pending\n"
			 "CONTENDED_SINCE t102 @1100") != NULL);
	CHECK(strstr(ev, "ACQUIRE t102 @6500 g3 peer=102 count=0 seq=2 arg=0\n"
			 "FORCED t101 @0 g3 peer=0 count=0 seq=0 arg=0\n") != NULL);
	/* A timed wait that runs out after the GIL changed hands is no drop
	 * request (CPython checks switch_number). */
	gt_sm_wait(&gil, &c, K, 7000, 5000);
	gt_sm_release(&gil, &b, K, 7100, 5000);
	gt_sm_acquire(&gil, &a, K, 7200);
	gt_sm_wait_timed_out(&gil, &c, K, 12000);
	CHECK(strstr(events(), "DROP_REQUEST") == NULL);
	CHECK_U64(c.timeouts, 1);
}

/* Two waiters: the first acquire does not end the contention episode; C
 * abandons its take during finalisation and ends it. */
static void abandoned_take(void)
{
	reset();
	gt_sm_acquire(&gil, &a, K, 1000);
	gt_sm_wait(&gil, &b, K, 1100, 5000);
	gt_sm_wait(&gil, &c, K, 1200, 5000);
	gt_sm_release(&gil, &a, K, 1300, 5000);
	gt_sm_acquire(&gil, &b, K, 1400);
	unsigned k = 99;
	CHECK(gt_sm_waiting(&c, &k));
	CHECK_U64(k, K);
	CHECK(!gt_sm_waiting(&b, &k));
	/* C's wait began before B's switch: its time-out requests no drop. */
	gt_sm_wait_timed_out(&gil, &c, K, 6200);
	gt_sm_abandon(&gil, &c, K, 6300);
	CHECK(!gt_sm_waiting(&c, &k));
	CHECK_STR(events(), "ACQUIRE t101 @1000 g3 peer=0 count=0 seq=0 arg=0\n"
			    "WAIT t102 @1100 g3 peer=101 count=1 seq=0 arg=5000\n"
			    "WAIT t103 @1200 g3 peer=101 count=2 seq=0 arg=5000\n"
			    "RELEASE t101 @1300 g3 peer=0 count=2 seq=1 arg=5000\n"
			    "ACQUIRE t102 @1400 g3 peer=101 count=1 seq=1 arg=0 waited flow-in\n"
			    "CONTENDED_SINCE t103 @1100 g3 peer=0 count=0 seq=0 arg=0\n"
			    "ABANDON t103 @6300 g3 peer=0 count=0 seq=0 arg=1 contention-end\n");
	CHECK_U64(gil.waiters, 0);
	const __u32 name[4] = {0x6b726f77, 0x7265, 0, 0}; /* "worker" */
	gt_sm_thread_exit(&c, 6400, name);
	CHECK_STR(events(), "THREAD_EXIT t103 @6400 g0 peer=1802661751 count=29285 seq=0 arg=0\n");
}

/* fork() in A right after a release: the child's only thread has a new tid
 * and no GIL history; the interpreter re-creates the GIL (the recorder
 * starts its state over), and a switch-mutex lock is not a handshake. */
static void fork_child(void)
{
	reset();
	gt_sm_acquire(&gil, &a, K, 1000);
	gt_sm_wait(&gil, &b, K, 1100, 5000);
	gt_sm_wait_timed_out(&gil, &b, K, 6100);
	gt_sm_release(&gil, &a, K, 6200, 5000);
	events();
	struct gt_sm_thread child = a;
	gt_sm_fork_child(&child);
	child.tid = 201;
	struct gt_sm_gil child_gil = {0};
	gt_sm_handshake(&child, K);
	CHECK(!gt_sm_waiting(&child, &(unsigned){0}));
	gt_sm_acquire(&child_gil, &child, K, 7000);
	CHECK_STR(events(), "ACQUIRE t201 @7000 g3 peer=0 count=0 seq=0 arg=0\n");
}

/* Two CPUs whose clocks disagree: a GIL's events still strictly follow one
 * another. */
static void ordered_timestamps(void)
{
	reset();
	gt_sm_acquire(&gil, &a, K, 1000);
	gt_sm_release(&gil, &a, K, 990, 5000);
	gt_sm_acquire(&gil, &b, K, 1000);
	CHECK_STR(events(), "ACQUIRE t101 @1000 g3 peer=0 count=0 seq=0 arg=0\n"
			    "RELEASE t101 @1008 g3 peer=0 count=0 seq=1 arg=5000\n"
			    "ACQUIRE t102 @1016 g3 peer=101 count=0 seq=1 arg=0\n");
}

int main(void)
{
	uncontended();
	contended_wait();
	forced_switch();
	late_handshake();
	abandoned_take();
	fork_child();
	ordered_timestamps();
	return unittest_result("test_gil_sm");
}
