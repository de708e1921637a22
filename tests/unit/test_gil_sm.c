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
	"ABANDON", "CONTENDED_SINCE", "STACK", "CPU_WAIT", "SCHED",
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
	gt_sm_acquire(&gil, &a, K, 1000, GT_SM_NO_RD);
	gt_sm_release(&gil, &a, K, 2000, 5000, GT_SM_NO_RD);
	CHECK_STR(events(), "ACQUIRE t101 @1000 g3 peer=0 count=0 seq=0 arg=0\n"
			    "RELEASE t101 @2000 g3 peer=0 count=0 seq=1 arg=5000\n");
	CHECK(gt_sm_acquire_is_plain(&gil, &a, K));
	gt_sm_acquire(&gil, &a, K, 3000, GT_SM_NO_RD);
	gt_sm_release(&gil, &a, K, 4000, 5000, GT_SM_NO_RD);
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
	gt_sm_acquire(&gil, &a, K, 1000, GT_SM_NO_RD);
	CHECK(gt_sm_wait_begins(&b, K));
	gt_sm_wait(&gil, &b, K, 1100, 5000);
	gt_sm_release(&gil, &a, K, 1500, 5000, GT_SM_NO_RD);
	CHECK(!gt_sm_acquire_is_plain(&gil, &b, K));
	gt_sm_acquire(&gil, &b, K, 1600, GT_SM_NO_RD);
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
	gt_sm_acquire(&gil, &a, K, 1000, GT_SM_NO_RD);
	gt_sm_wait(&gil, &b, K, 1100, 5000);
	gt_sm_wait_timed_out(&gil, &b, K, 6100, GT_SM_NO_RD);
	CHECK(!gt_sm_wait_begins(&b, K)); /* take_gil waits again: the same wait */
	gt_sm_wait(&gil, &b, K, 6101, 5000);
	gt_sm_release(&gil, &a, K, 6200, 5000, GT_SM_NO_RD);
	gt_sm_handshake(&a, K);
	gt_sm_acquire(&gil, &b, K, 6300, GT_SM_NO_RD);
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
	gt_sm_acquire(&gil, &a, K, 1000, GT_SM_NO_RD);
	gt_sm_wait(&gil, &b, K, 1100, 5000);
	gt_sm_wait_timed_out(&gil, &b, K, 6100, GT_SM_NO_RD);
	gt_sm_release(&gil, &a, K, 6200, 5000, GT_SM_NO_RD);
	gt_sm_acquire(&gil, &b, K, 6300, GT_SM_NO_RD);
	gt_sm_release(&gil, &b, K, 6400, 5000, GT_SM_NO_RD);
	gt_sm_acquire(&gil, &b, K, 6500, GT_SM_NO_RD);
	gt_sm_handshake(&a, K);
	const char *ev = events();
	CHECK(strstr(ev, "RELEASE t101 @6200 g3 peer=0 count=1 seq=1 arg=5000 drop-pending\n"
			 "CONTENDED_SINCE t102 @1100") != NULL);
	CHECK(strstr(ev, "ACQUIRE t102 @6500 g3 peer=102 count=0 seq=2 arg=0\n"
			 "FORCED t101 @0 g3 peer=0 count=0 seq=0 arg=0\n") != NULL);
	/* A timed wait that runs out after the GIL changed hands is no drop
	 * request (CPython checks switch_number). */
	gt_sm_wait(&gil, &c, K, 7000, 5000);
	gt_sm_release(&gil, &b, K, 7100, 5000, GT_SM_NO_RD);
	gt_sm_acquire(&gil, &a, K, 7200, GT_SM_NO_RD);
	gt_sm_wait_timed_out(&gil, &c, K, 12000, GT_SM_NO_RD);
	CHECK(strstr(events(), "DROP_REQUEST") == NULL);
	CHECK_U64(c.timeouts, 1);
}

/* Two waiters: the first acquire does not end the contention episode; C
 * abandons its take during finalisation and ends it. */
static void abandoned_take(void)
{
	reset();
	gt_sm_acquire(&gil, &a, K, 1000, GT_SM_NO_RD);
	gt_sm_wait(&gil, &b, K, 1100, 5000);
	gt_sm_wait(&gil, &c, K, 1200, 5000);
	gt_sm_release(&gil, &a, K, 1300, 5000, GT_SM_NO_RD);
	gt_sm_acquire(&gil, &b, K, 1400, GT_SM_NO_RD);
	unsigned k = 99;
	CHECK(gt_sm_waiting(&c, &k));
	CHECK_U64(k, K);
	CHECK(!gt_sm_waiting(&b, &k));
	/* C's wait began before B's switch: its time-out requests no drop. */
	gt_sm_wait_timed_out(&gil, &c, K, 6200, GT_SM_NO_RD);
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
	gt_sm_acquire(&gil, &a, K, 1000, GT_SM_NO_RD);
	gt_sm_wait(&gil, &b, K, 1100, 5000);
	gt_sm_wait_timed_out(&gil, &b, K, 6100, GT_SM_NO_RD);
	gt_sm_release(&gil, &a, K, 6200, 5000, GT_SM_NO_RD);
	events();
	struct gt_sm_thread child = a;
	gt_sm_fork_child(&child);
	child.tid = 201;
	struct gt_sm_gil child_gil = {0};
	gt_sm_handshake(&child, K);
	CHECK(!gt_sm_waiting(&child, &(unsigned){0}));
	gt_sm_acquire(&child_gil, &child, K, 7000, GT_SM_NO_RD);
	CHECK_STR(events(), "ACQUIRE t201 @7000 g3 peer=0 count=0 seq=0 arg=0\n");
}

/* Two CPUs whose clocks disagree: a GIL's events still strictly follow one
 * another. */
static void ordered_timestamps(void)
{
	reset();
	gt_sm_acquire(&gil, &a, K, 1000, GT_SM_NO_RD);
	gt_sm_release(&gil, &a, K, 990, 5000, GT_SM_NO_RD);
	gt_sm_acquire(&gil, &b, K, 1000, GT_SM_NO_RD);
	CHECK_STR(events(), "ACQUIRE t101 @1000 g3 peer=0 count=0 seq=0 arg=0\n"
			    "RELEASE t101 @1008 g3 peer=0 count=0 seq=1 arg=5000\n"
			    "ACQUIRE t102 @1016 g3 peer=101 count=0 seq=1 arg=0\n");
}

/* CPU waits, by hand (run delays in ns as a recorder would read them).
 * A holds; B starts waiting (A's run delay 2000 then); A is preempted for
 * 400 ns, which does not delay B: B's timed wait runs out on the wall
 * clock all the same. B waits 300 ns for a CPU, makes the drop request
 * (A's delay 2400); A is preempted 300 ns more before it releases: that
 * kept B waiting. B waits 200 ns for a CPU after the signal and takes the
 * GIL: 500 ns its own CPU wait, 300 ns its holder's; A's hold had 700 ns
 * of delay in all while B waited. */
static void cpu_waits(void)
{
	reset();
	gt_sm_acquire(&gil, &a, K, 1000, GT_SM_NO_RD);
	gt_sm_wait(&gil, &b, K, 1100, 5000);
	CHECK(!gil.hold_rd_ok);
	gt_sm_cpu_begin(&gil, &b, 500, 2000);
	gt_sm_cpu_woke(&gil, &b, K, 6100, 800);
	CHECK(gt_sm_timeout_needs_rd(&gil, &b));
	gt_sm_wait_timed_out(&gil, &b, K, 6100, 2400);
	gt_sm_wait(&gil, &b, K, 6101, 5000); /* the wait goes on: not a new begin */
	CHECK(gt_sm_release_needs_rd(&gil));
	gt_sm_release(&gil, &a, K, 6200, 5000, 2700);
	gt_sm_cpu_woke(&gil, &b, K, 6300, 1000);
	CHECK(!gt_sm_acquire_needs_rd(&gil, &b, K)); /* its wake-up's reading serves */
	gt_sm_acquire(&gil, &b, K, 6300, GT_SM_NO_RD);
	CHECK_STR(events(), "ACQUIRE t101 @1000 g3 peer=0 count=0 seq=0 arg=0\n"
			    "WAIT t102 @1100 g3 peer=101 count=1 seq=0 arg=5000\n"
			    "CPU_WAIT t102 @6100 g3 peer=0 count=300 seq=0 arg=0\n"
			    "DROP_REQUEST t102 @6108 g3 peer=101 count=1 seq=0 arg=0\n"
			    "SCHED t101 @0 g3 peer=0 count=700 seq=0 arg=0\n"
			    "RELEASE t101 @6200 g3 peer=0 count=1 seq=1 arg=5000 drop-pending\n"
			    "CPU_WAIT t102 @6300 g3 peer=0 count=200 seq=0 arg=0\n"
			    "CONTENDED_SINCE t102 @1100 g3 peer=0 count=0 seq=0 arg=0\n"
			    "SCHED t102 @0 g3 peer=300 count=500 seq=0 arg=0\n"
			    "ACQUIRE t102 @6308 g3 peer=101 count=0 seq=1 arg=1 waited "
			    "contention-end flow-in\n");
	CHECK(!gil.hold_rd_ok && !gil.hold_q_ok && gil.preempt_acc == 300);

	/* Two waiters behind B: C from B's delay 1100, A from 1400. C's drop
	 * request finds B at 1500, B releases at 1600: 100 ns kept both
	 * waiting. C's hold, with A behind it, ends voluntarily: all of its
	 * 400 ns delay kept A waiting. */
	gt_sm_wait(&gil, &c, K, 7000, 5000);
	gt_sm_cpu_begin(&gil, &c, 0, 1100);
	gt_sm_wait(&gil, &a, K, 7500, 5000);
	gt_sm_cpu_begin(&gil, &a, 2700, 1400);
	gt_sm_cpu_woke(&gil, &c, K, 12000, 0); /* no delay: no event */
	gt_sm_wait_timed_out(&gil, &c, K, 12000, 1500);
	gt_sm_wait(&gil, &c, K, 12001, 5000);
	gt_sm_release(&gil, &b, K, 12100, 5000, 1600);
	gt_sm_cpu_woke(&gil, &c, K, 12200, 50);
	gt_sm_acquire(&gil, &c, K, 12200, GT_SM_NO_RD);
	CHECK(gil.hold_rd_ok && gil.hold_rd0 == 50); /* A still waits behind C */
	gt_sm_cpu_woke(&gil, &a, K, 12500, 2700);
	CHECK(!gt_sm_timeout_needs_rd(&gil, &a)); /* the GIL changed hands */
	gt_sm_wait_timed_out(&gil, &a, K, 12500, GT_SM_NO_RD);
	gt_sm_wait(&gil, &a, K, 12501, 5000);
	gt_sm_release(&gil, &c, K, 14000, 5000, 450);
	gt_sm_cpu_woke(&gil, &a, K, 14100, 2700);
	gt_sm_acquire(&gil, &a, K, 14100, GT_SM_NO_RD);
	CHECK_STR(events(), "WAIT t103 @7000 g3 peer=102 count=1 seq=0 arg=5000\n"
			    "WAIT t101 @7500 g3 peer=102 count=2 seq=0 arg=5000\n"
			    "DROP_REQUEST t103 @12000 g3 peer=102 count=2 seq=0 arg=0\n"
			    "SCHED t102 @0 g3 peer=0 count=500 seq=0 arg=0\n"
			    "RELEASE t102 @12100 g3 peer=0 count=2 seq=2 arg=5000 drop-pending\n"
			    "CPU_WAIT t103 @12200 g3 peer=0 count=50 seq=0 arg=0\n"
			    "SCHED t103 @0 g3 peer=100 count=50 seq=0 arg=0\n"
			    "ACQUIRE t103 @12208 g3 peer=102 count=1 seq=2 arg=1 waited flow-in\n"
			    "SCHED t103 @0 g3 peer=0 count=400 seq=0 arg=0\n"
			    "RELEASE t103 @14000 g3 peer=0 count=1 seq=3 arg=5000\n"
			    "CONTENDED_SINCE t101 @7000 g3 peer=0 count=0 seq=0 arg=0\n"
			    "SCHED t101 @0 g3 peer=500 count=0 seq=0 arg=0\n"
			    "ACQUIRE t101 @14100 g3 peer=103 count=0 seq=3 arg=1 waited "
			    "contention-end flow-in\n");
	CHECK(!gil.hold_rd_ok && gil.preempt_acc == 800);
}

/* No run delay known (the split is off): no CPU_WAIT, no SCHED. */
static void cpu_waits_off(void)
{
	reset();
	gt_sm_acquire(&gil, &a, K, 1000, GT_SM_NO_RD);
	gt_sm_wait(&gil, &b, K, 1100, 5000);
	CHECK(!gt_sm_release_needs_rd(&gil));
	gt_sm_release(&gil, &a, K, 6200, 5000, GT_SM_NO_RD);
	gt_sm_cpu_woke(&gil, &b, K, 6300, 1000);
	gt_sm_acquire(&gil, &b, K, 6300, GT_SM_NO_RD);
	CHECK(!strstr(events(), "SCHED"));
}

int main(void)
{
	cpu_waits();
	cpu_waits_off();
	uncontended();
	contended_wait();
	forced_switch();
	late_handshake();
	abandoned_take();
	fork_child();
	ordered_timestamps();
	return unittest_result("test_gil_sm");
}
