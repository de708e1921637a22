/* SPDX-License-Identifier: MIT */
/*
 * gt_gil_sm.h — what a pthread call on a GIL object means: the one state
 * machine every recorder runs.
 *
 * CPython's GIL (3.6 to 3.15, see docs/design.md) is a mutex M, a condvar C,
 * a switch mutex SM and a switch condvar SC. A recorder sees these calls and
 * hands each to one function here:
 *
 *   take_gil locks SM while holding M        gt_sm_acquire()
 *   drop_gil signals C                       gt_sm_release()
 *   drop_gil locks SM without M (forced)     gt_sm_handshake()
 *   take_gil's timed wait on C begins        gt_sm_wait(), gt_sm_cpu_begin()
 *   ... returns (timeout or signal)          gt_sm_cpu_woke()
 *   ... and runs out                         gt_sm_wait_timed_out()
 *   a waiter leaves take_gil without the GIL gt_sm_abandon()
 *   a thread exits                           gt_sm_thread_exit()
 *   fork(): the child's only thread          gt_sm_fork_child()
 *
 * The functions turn the call, the calling thread's state and the GIL's
 * state into struct gt_events (model/gt_event.h says what each field
 * means), passed one at a time to gt_sm_emit(), which the including file
 * defines: the preload library writes them into the thread's ring, the unit
 * test into an array, the eBPF program into its ring buffer. Everything is
 * static inline, so each recorder gets one specialised copy with its emit
 * and clock inlined: the "nobody waits" acquire and release compile to a
 * few loads and stores, which is the preload library's hot path.
 *
 * The state itself is in model/gt_gil_state.h (recorders embed it in
 * their own tables). Concurrency: every function that touches a struct gt_sm_gil is called by
 * a thread holding that GIL's mutex M (CPython's take/drop code holds it
 * around exactly these calls), except gt_sm_abandon(), whose caller takes M
 * itself. That lock is what keeps holder, waiter count and sequence numbers
 * consistent without one of ours. The thread state is the thread's own.
 *
 * No libc here (the header must also build for the BPF target): timestamps
 * come in as arguments, read by the caller from its clock.
 *
 * CPU waits. On a busy machine a thread waiting for the GIL also waits for
 * a CPU: after each wake-up, and while the holder it waits for is itself
 * preempted. The kernel counts each thread's run delay (ns spent runnable
 * but not running, /proc/<tid>/schedstat's second field); a recorder that
 * reads it passes it in as rd (GT_SM_NO_RD: not read), and the events say
 * how much of each wait was the waiter's own wait for a CPU and how much
 * its holders' (docs/metrics.md, "CPU waits"). Only contended edges read
 * it: a wait's start (its own and its holder's), each wake-up, the first
 * drop request of a hold (the holder's), an acquire that others wait
 * behind, a release with waiters; the recorder asks the gt_sm_*_needs_rd()
 * predicates.
 *
 * Which of a holder's delays keep a waiter waiting: a forced switch comes
 * when the waiter's timed wait runs out, on the wall clock, whether the
 * holder ran meanwhile or not; only once the drop request is made does a
 * holder without a CPU keep it waiting. A hold that ends without one
 * (a voluntary release) is delayed by all of it. So each hold adds to
 * preempt_acc its delay from its first drop request, or else from when it
 * got a waiter, to its release; a wait's share is how much the sum grew
 * while it lasted, less what the hold it began in had counted before it
 * began (known exactly once that hold's drop request is made; before, a
 * wait counts from the next drop request, which is exact unless the hold
 * then ends voluntarily with an earlier waiter: see docs/metrics.md).
 * The whole delay of a hold while anyone waited is said with its release,
 * for the GIL's "holder not running" share.
 */
#ifndef GT_GIL_SM_H
#define GT_GIL_SM_H

#include "gt_event.h"
#include "gt_gil_state.h"

/* The acquire and release are inlined even where the compiler would rather
 * call them: the preload library's fast paths rely on it (gt_hooks.c). */
#define GT_SM_ALWAYS_INLINE static inline __attribute__((always_inline))

/* Defined by the including file: record one event of thread t. */
static inline void gt_sm_emit(struct gt_sm_thread *t, __u32 kind, __u32 gil, __u32 flags,
			      __u64 ts, __u32 peer, __u32 count, __u32 seq, __u32 arg);

/* Smallest tick difference that is still >= 1 ns after conversion. */
#define GT_SM_MIN_GAP 8

/* A timestamp for an event of GIL g, taken with g's mutex held: strictly
 * after the previous one, so one GIL's holds never touch or overlap even if
 * two CPUs' clocks disagree by a few ticks. */
static inline __u64 gt_sm_order(struct gt_sm_gil *g, __u64 now)
{
	__u64 min = g->last_ts + GT_SM_MIN_GAP;
	if (__builtin_expect(now < min, 0))
		now = min;
	g->last_ts = now;
	return now;
}

/* Does a timed wait on GIL k begin a wait (rather than continue one that
 * timed out)? Only then does gt_sm_wait() need its interval. */
static inline int gt_sm_wait_begins(const struct gt_sm_thread *t, unsigned k)
{
	return t->gstate != (k | GT_TS_WAITED);
}

/* take_gil is about to wait on the GIL's condvar. interval_us: the switch
 * interval it will wait for (0 if unknown). */
static inline void gt_sm_wait(struct gt_sm_gil *g, struct gt_sm_thread *t, unsigned k, __u64 now,
			      __u32 interval_us)
{
	if (gt_sm_wait_begins(t, k)) {
		__u64 ts = gt_sm_order(g, now);
		__u32 waiters = ++g->waiters;
		if (waiters == 1)
			g->contended_since = ts;
		t->gstate = k | GT_TS_WAITED;
		t->timeouts = 0;
		t->rd0 = t->rd_seen = t->rd_mark = GT_SM_NO_RD; /* gt_sm_cpu_begin() */
		gt_sm_emit(t, GT_EV_WAIT, k, 0, ts, g->holder, waiters, 0, interval_us);
	}
	t->seen_switch = g->switches;
}

/* A wait began (gt_sm_wait_begins() was true): the waiter's run delay and
 * its holder's (GT_SM_NO_RD: not read). See "CPU waits" above. */
static inline void gt_sm_cpu_begin(struct gt_sm_gil *g, struct gt_sm_thread *t, __u64 rd,
				   __u64 rd_holder)
{
	t->rd0 = t->rd_seen = rd;
	t->rd_mark = GT_SM_NO_RD;
	if (rd == GT_SM_NO_RD)
		return;
	if (!g->holder) { /* nobody's delay to count before the next hold */
		t->rd_mark = g->preempt_acc;
		return;
	}
	if (rd_holder == GT_SM_NO_RD)
		return;
	if (!g->hold_rd_ok) {
		g->hold_rd0 = rd_holder;
		g->hold_rd_ok = 1;
	}
	t->rd_mark = g->preempt_acc;
	if (g->hold_q_ok && rd_holder > g->hold_rdq)
		t->rd_mark += rd_holder - g->hold_rdq;
}

/* The waiter's timed wait returned (M held again): it is on a CPU, and its
 * run delay rd says how long it waited for one since it last looked. */
static inline void gt_sm_cpu_woke(struct gt_sm_gil *g, struct gt_sm_thread *t, unsigned k,
				  __u64 now, __u64 rd)
{
	if (t->rd_seen == GT_SM_NO_RD || rd == GT_SM_NO_RD || rd <= t->rd_seen)
		return;
	__u64 d = rd - t->rd_seen;
	t->rd_seen = rd;
	gt_sm_emit(t, GT_EV_CPU_WAIT, k, 0, gt_sm_order(g, now), 0, (__u32)d, (__u32)(d >> 32), 0);
}

/* Does a timed wait that ran out need the holder's run delay? When it makes
 * the first drop request of a hold whose delays are being counted. */
static inline int gt_sm_timeout_needs_rd(const struct gt_sm_gil *g, const struct gt_sm_thread *t)
{
	return g->holder && g->switches == t->seen_switch && g->hold_rd_ok && !g->hold_q_ok;
}

/* The timed wait ran out (M is held again). CPython sets the drop request
 * exactly when the GIL is held and has not changed hands during the wait.
 * rd_holder: the holder's run delay, if gt_sm_timeout_needs_rd(). */
static inline void gt_sm_wait_timed_out(struct gt_sm_gil *g, struct gt_sm_thread *t, unsigned k,
					__u64 now, __u64 rd_holder)
{
	t->timeouts++;
	if (g->holder && g->switches == t->seen_switch) {
		g->drop_requested = 1;
		if (g->hold_rd_ok && !g->hold_q_ok && rd_holder != GT_SM_NO_RD) {
			g->hold_rdq = rd_holder;
			g->hold_q_ok = 1;
		}
		gt_sm_emit(t, GT_EV_DROP_REQUEST, k, 0, gt_sm_order(g, now), g->holder, g->waiters,
			   0, 0);
	}
}

/* A waiter stops waiting (it took the GIL or gave up): it leaves the
 * waiters, and if it was the last, the contention episode's start is said
 * first. Returns the flags that adds to its event. */
static inline __u32 gt_sm_leave_waiters(struct gt_sm_gil *g, struct gt_sm_thread *t, unsigned k)
{
	if (g->waiters)
		g->waiters--;
	if (g->waiters)
		return GT_F_WAITED;
	gt_sm_emit(t, GT_EV_CONTENDED_SINCE, k, 0, g->contended_since, 0, 0, 0, 0);
	return GT_F_WAITED | GT_F_CONTENTION_END;
}

/* Would gt_sm_acquire() emit just the ACQUIRE, with no flag: no wait ends,
 * no flow ends, the same holder as last time? That is a thread taking the
 * GIL back after a syscall with nobody waiting, millions of times a second
 * in an I/O-bound program. A recorder may test this first and call
 * gt_sm_acquire() in a leaf path where the compiler, knowing it, drops the
 * other branches: the fast path comes from the same code. */
static inline int gt_sm_acquire_is_plain(const struct gt_sm_gil *g, const struct gt_sm_thread *t,
					 unsigned k)
{
	/* (Nobody waits then, since a waiter keeps flow_open set; saying so
	 * lets the compiler drop the CPU-wait bookkeeping too.) */
	return t->gstate != (k | GT_TS_WAITED) && !g->flow_open && g->last_holder == t->tid &&
	       !g->waiters;
}

/* Is a release the plain one: nobody waits? Then it is a few stores, and a
 * recorder may take it in a leaf path as gt_sm_acquire_is_plain() says. */
static inline int gt_sm_release_is_plain(const struct gt_sm_gil *g)
{
	return !g->waiters;
}

/* The wait that ends now: its CPU waits, as a GT_EV_SCHED companion
 * of the event that ends it (see "CPU waits" above). Holds that ended during it are all in
 * preempt_acc by now. */
GT_SM_ALWAYS_INLINE void gt_sm_cpu_wait_ends(const struct gt_sm_gil *g, struct gt_sm_thread *t,
					     unsigned k)
{
	if (t->rd0 == GT_SM_NO_RD || t->rd_seen < t->rd0)
		return;
	__u64 held = t->rd_mark == GT_SM_NO_RD || g->preempt_acc < t->rd_mark
			     ? GT_SM_NO_RD
			     : g->preempt_acc - t->rd_mark;
	__u64 own = t->rd_seen - t->rd0;
	gt_sm_emit(t, GT_EV_SCHED, k, 0, 0, (__u32)held, (__u32)own, (__u32)(own >> 32),
		   (__u32)(held >> 32));
	t->rd0 = GT_SM_NO_RD;
}

/* Does an acquire need the thread's run delay? When others wait behind it
 * and it did not wait itself (its last wake-up's reading serves then): its
 * hold has a waiter from the start. */
static inline int gt_sm_acquire_needs_rd(const struct gt_sm_gil *g, const struct gt_sm_thread *t,
					 unsigned k)
{
	return g->waiters && t->gstate != (k | GT_TS_WAITED);
}

/* take_gil locked the switch mutex holding M: the thread has the GIL.
 * rd: its run delay, if gt_sm_acquire_needs_rd() (else GT_SM_NO_RD). */
GT_SM_ALWAYS_INLINE void gt_sm_acquire(struct gt_sm_gil *g, struct gt_sm_thread *t, unsigned k,
				       __u64 now, __u64 rd)
{
	__u64 ts = gt_sm_order(g, now);
	__u32 me = t->tid;
	__u32 flags = 0, timeouts = 0;
	if (__builtin_expect(t->gstate == (k | GT_TS_WAITED), 0)) {
		flags = gt_sm_leave_waiters(g, t, k);
		timeouts = t->timeouts;
	}
	t->gstate = k;
	if (__builtin_expect(g->flow_open, 0)) {
		flags |= GT_F_FLOW_IN;
		g->flow_open = 0;
	}
	/* CPython resets the drop request once the GIL is taken. */
	g->drop_requested = 0;
	if (__builtin_expect(g->last_holder != me, 0)) {
		g->switches++;
		g->last_holder = me;
	}
	g->holder = me;
	if (__builtin_expect(flags & GT_F_WAITED, 0)) {
		gt_sm_cpu_wait_ends(g, t, k);
		rd = t->rd_seen;
	}
	gt_sm_emit(t, GT_EV_ACQUIRE, k, flags, ts, g->last_releaser, g->waiters, g->release_seq,
		   timeouts);
	/* The holder's run delay from here, if someone waits already. (With
	 * nobody waiting hold_rd_ok is 0 already: it is set only while a
	 * thread waits, and cleared by the release or abandon that leaves
	 * none; so the plain acquire writes nothing more.) */
	if (__builtin_expect(g->waiters != 0, 0)) {
		g->hold_rd_ok = rd != GT_SM_NO_RD;
		g->hold_rd0 = rd;
		g->hold_q_ok = 0;
	}
}

/* drop_gil signals C: the thread no longer has the GIL. interval_us: the
 * switch interval in force (0 if unknown), which says how long a hold may
 * last before a waiter forces a switch; it travels with the hold because
 * programs change it (sys.setswitchinterval) while running. drop_gil does the
 * FORCE_SWITCHING handshake exactly when a drop request is pending, which is
 * known now; the handshake itself may come much later if the thread is
 * preempted right after unlocking. */
/* Does a release need the holder's run delay? When its hold had a waiter
 * and the delay then is known. */
static inline int gt_sm_release_needs_rd(const struct gt_sm_gil *g)
{
	return g->waiters && g->hold_rd_ok;
}

/* rd: the releasing thread's run delay, if gt_sm_release_needs_rd(). */
GT_SM_ALWAYS_INLINE void gt_sm_release(struct gt_sm_gil *g, struct gt_sm_thread *t, unsigned k,
				       __u64 now, __u32 interval_us, __u64 rd)
{
	__u64 ts = gt_sm_order(g, now);
	__u32 flags = g->drop_requested ? GT_F_DROP_PENDING : 0;
	__u32 seq = ++g->release_seq;
	__u32 waiters = g->waiters;
	g->flow_open = waiters > 0;
	g->holder = 0;
	g->last_releaser = t->tid;
	t->gstate = k | GT_TS_RELEASED;
	if (__builtin_expect(waiters != 0, 0)) {
		if (g->hold_rd_ok && rd != GT_SM_NO_RD && rd >= g->hold_rd0) {
			__u64 d = rd - g->hold_rd0;
			__u64 from = g->hold_q_ok && g->hold_rdq <= rd ? g->hold_rdq : g->hold_rd0;
			g->preempt_acc += rd - from;
			gt_sm_emit(t, GT_EV_SCHED, k, 0, 0, 0, (__u32)d, (__u32)(d >> 32), 0);
		}
		g->hold_rd_ok = g->hold_q_ok = 0;
	}
	gt_sm_emit(t, GT_EV_RELEASE, k, flags, ts, 0, waiters, seq, interval_us);
}

/* drop_gil locked the switch mutex without M: if this thread's last GIL
 * event was releasing GIL k, that release was forced. */
static inline void gt_sm_handshake(struct gt_sm_thread *t, unsigned k)
{
	if (t->gstate == (k | GT_TS_RELEASED)) {
		gt_sm_emit(t, GT_EV_FORCED, k, 0, 0, 0, 0, 0, 0);
		t->gstate = k;
	}
}

/* Is the thread in the middle of waiting for a GIL (which one: *k)? */
static inline int gt_sm_waiting(const struct gt_sm_thread *t, unsigned *k)
{
	*k = t->gstate & GT_TS_GIL_MASK;
	return (t->gstate & GT_TS_WAITED) != 0;
}

/* The waiting thread leaves take_gil without the GIL (a daemon thread told
 * to exit during finalisation). The caller holds M. */
static inline void gt_sm_abandon(struct gt_sm_gil *g, struct gt_sm_thread *t, unsigned k,
				 __u64 now)
{
	__u64 ts = gt_sm_order(g, now);
	__u32 flags = gt_sm_leave_waiters(g, t, k) & GT_F_CONTENTION_END;
	gt_sm_cpu_wait_ends(g, t, k);
	gt_sm_emit(t, GT_EV_ABANDON, k, flags, ts, 0, g->waiters, 0, t->timeouts);
	if (!g->waiters)
		g->hold_rd_ok = g->hold_q_ok = 0;
	t->gstate = k;
}

/* The thread exits: its last event, carrying its name at that moment
 * (16 bytes, NUL-padded, as the kernel's comm; zeros if unknown). */
static inline void gt_sm_thread_exit(struct gt_sm_thread *t, __u64 now, const __u32 name[4])
{
	gt_sm_emit(t, GT_EV_THREAD_EXIT, 0, 0, now, name[0], name[1], name[2], name[3]);
}

/* In the child of fork(): the only thread left starts over (its tid
 * changed, and it holds no GIL of the child's yet: the interpreter
 * re-creates the GIL, whose state the recorder then resets). */
static inline void gt_sm_fork_child(struct gt_sm_thread *t)
{
	*t = (struct gt_sm_thread){0};
}

#endif
