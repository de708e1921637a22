/* SPDX-License-Identifier: MIT */
/*
 * gt_hooks.c — the pthread functions CPython's GIL is built on.
 *
 * Only three calls matter, and each first asks "is this a GIL object?"
 * (one range compare when it is not) and otherwise forwards untouched:
 *
 *   pthread_mutex_lock(switch mutex)   holding the GIL mutex: ACQUIRE (take_gil);
 *                                      otherwise: the forced-switch handshake
 *   pthread_cond_signal(GIL condvar)   RELEASE (only drop_gil signals it)
 *   pthread_cond_timedwait(GIL condvar) WAIT; a timeout with the same holder
 *                                      and no switch meanwhile: DROP_REQUEST
 *
 * (The protocol is the same from 3.6 to 3.15; docs/design.md walks through
 * it.) Unlocks and every other mutex and condvar call are not ours to look
 * at: pthread_mutex_unlock is not even hooked.
 *
 * What each call means is model/gt_gil_sm.h's business: the hooks only
 * find the GIL, read the clock and hand the call to the state machine, whose
 * events gt_sm_emit() below writes into the thread's ring. All of it runs
 * with the GIL's mutex held, so the shared per-GIL counters need no lock of
 * ours. Nothing here allocates,
 * blocks or changes errno; a thread's first event claims a preallocated ring.
 *
 * What each hook may do: call the real function, read/write thread-local
 * state and the GIL table, read the clock, write its own ring. The init,
 * destroy and first-event paths may additionally take the registration spin
 * flag or make a syscall (once per GIL / thread); a release right after a
 * fork() restarts the writer thread.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "gt_clock.h"
#include "gt_gil.h"
#include "gt_gil_sm.h"
#include "gt_log.h"
#include "gt_python.h"
#include "gt_real.h"
#include "gt_ring.h"
#include "gt_sched.h"
#include "gt_tls.h"
#include "gt_tracer.h"
#include "gt_writer.h"

#define likely(x) __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)
#define GT_EXPORT __attribute__((visibility("default")))
/* Out of line so that the "not a GIL object" fast path stays a few
 * instructions; not cold: for GIL objects this is the hot path. */
#define GT_GIL_PATH __attribute__((noinline))
/* Rare: once per thread, per GIL, or only without an init sequence. */
#define GT_RARE __attribute__((noinline, cold))

__thread struct gt_tls gt_tls __attribute__((tls_model("initial-exec")));

static GT_RARE uint32_t first_tid(void)
{
	gt_tls.sm.tid = (uint32_t)syscall(SYS_gettid);
	return gt_tls.sm.tid;
}

static inline uint32_t my_tid(void)
{
	uint32_t tid = gt_tls.sm.tid;
	return likely(tid) ? tid : first_tid();
}

/* ---- recording ---------------------------------------------------------- */

/* The state machine's output: an event into this thread's ring, as four
 * 8-byte stores in gt_event's layout (little-endian; the last word is arg,
 * kind, gil and flags), then published. A full ring drops it (counted). */
static inline __attribute__((always_inline)) void
gt_sm_emit(struct gt_sm_thread *t, __u32 kind, __u32 gil, __u32 flags, __u64 ts, __u32 peer,
	   __u32 count, __u32 seq, __u32 arg)
{
	struct gt_event *e = gt_ring_next();
	if (unlikely(!e))
		return;
	uint64_t *w = (uint64_t *)e;
	w[0] = ts;
	w[1] = t->tid | (uint64_t)peer << 32; /* a thread's first event sets tid */
	w[2] = count | (uint64_t)seq << 32;
	w[3] = arg | (uint64_t)kind << 32 | (uint64_t)(gil & 0xff) << 40 | (uint64_t)flags << 48;
	gt_ring_commit(e);
}

/* The switch interval in force, in µs, if the GIL's layout is known:
 * struct _gil_runtime_state.interval, which sys.setswitchinterval() sets and
 * take_gil reads at each wait (on the cache line drop_gil just wrote). */
static inline uint32_t interval_in_force(const struct gt_gil *g)
{
	return g->base ? gt_cpy_interval_us(
				 ((const volatile struct gt_cpy_gil_mirror *)g->base)->interval)
		       : 0;
}

/* The switch interval the waiter is about to wait for, in µs. */
static uint32_t interval_us(const struct gt_gil *g, const struct timespec *abstime)
{
	if (g->base)
		return interval_in_force(g);
	/* Unknown layout (3.6): the deadline was now + interval on the
	 * condvar's clock; round away the microseconds spent getting here. */
	struct timespec now;
	if (!abstime || clock_gettime(g->clock, &now))
		return 0;
	int64_t ns = (abstime->tv_sec - now.tv_sec) * 1000000000LL + (abstime->tv_nsec - now.tv_nsec);
	return ns > 0 ? (uint32_t)((ns / 1000 + 5) / 10 * 10) : 0;
}

/* A waiter leaves without the GIL: only a thread exiting from take_gil
 * during finalisation does. The waiter count is protected by the GIL's
 * mutex, which it no longer holds, so take it (briefly, as CPython does). */
void gt_hooks_thread_exit(void)
{
	unsigned k;
	if (!gt_sm_waiting(&gt_tls.sm, &k) || !gt_tracing())
		return;
	pthread_mutex_t *m = gt_gil_mutex(k);
	if (!m)
		return; /* the GIL is gone */
	int own = m->__data.__owner == (int)my_tid();
	if (!own && gt_real.mutex_lock(m))
		return;
	gt_sm_abandon(&gt_gils[k].sm, &gt_tls.sm, k, gt_clock_now());
	if (!own)
		gt_real.mutex_unlock(m);
}

/* The thread exits: its last event, with its name (the writer may look
 * for it in /proc too late). */
void gt_hooks_record_exit(void)
{
	if (!gt_tracing())
		return;
	union {
		char comm[16];
		__u32 w[4];
	} name = {{0}};
	prctl(PR_GET_NAME, name.comm, 0, 0, 0);
	gt_sm_thread_exit(&gt_tls.sm, gt_clock_now(), name.w);
}

/* ---- the hooks ---------------------------------------------------------- */

/* The writer thread was stopped for a fork() (gt_writer_fork_prepare()):
 * start it again from the first hook that runs without a GIL mutex held by
 * this thread, so that other threads never wait for the GIL while a thread
 * is created. */
static GT_RARE void restart_writer_outside_gil(void)
{
	unsigned n = atomic_load_explicit(&gt_ngils, memory_order_acquire);
	uint32_t me = my_tid();
	for (unsigned k = 0; k < n; k++) {
		const pthread_mutex_t *m = gt_gil_mutex(k);
		if (m && m->__data.__owner == (int)me)
			return;
	}
	int saved = errno;
	gt_writer_start();
	errno = saved;
}

static inline void restart_writer_if_due(void)
{
	if (unlikely(atomic_load_explicit(&gt_writer_restart_due, memory_order_relaxed)))
		restart_writer_outside_gil();
}

/* The hot path: an event that needs nothing out of line. The ring has room
 * (which also says the thread's id is known and the clock is the TSC:
 * gt_ring_slow() keeps the cursor at the limit otherwise), and the state
 * machine's "plain" test holds. The state machine is then inlined into a
 * leaf: the compiler drops its other branches, and no call is left but the
 * tail call to the real function. Anything else goes the general way, with
 * the same state machine. */
static inline int ring_has_room(void) { return likely(gt_tls.cur != gt_tls.lim); }

/* take_gil locks the switch mutex holding the GIL's mutex (the acquire);
 * drop_gil locks it without (the handshake of a forced switch). glibc
 * records the owner's tid in every locked mutex, including when a condvar
 * wait re-takes it. The acquire is recorded just before the lock rather
 * than after it: the GIL's mutex, which we hold, already makes it ours (the
 * switch mutex is only ever held for a moment by the previous holder's
 * handshake), and the real lock becomes a tail call. A plain mutex lock
 * fails only on a corrupted mutex. */
static GT_GIL_PATH int switch_mutex_lock_general(pthread_mutex_t *m, unsigned k)
{
	if (gt_tracing()) {
		const pthread_mutex_t *gil_mutex = gt_gil_mutex(k);
		struct gt_gil *g = &gt_gils[k];
		if (gil_mutex && gil_mutex->__data.__owner == (int)my_tid()) {
			uint64_t now = gt_clock_now();
			uint64_t rd = gt_sched_on && gt_sm_acquire_needs_rd(&g->sm, &gt_tls.sm, k)
					      ? gt_sched_self()
					      : GT_SM_NO_RD;
			gt_sm_acquire(&g->sm, &gt_tls.sm, k, now, rd);
			if (g->check_interp)
				gt_gil_check_interp(g);
		} else {
			gt_sm_handshake(&gt_tls.sm, k);
			restart_writer_if_due(); /* drop_gil let M go */
		}
	}
	return gt_real.mutex_lock(m);
}

static GT_GIL_PATH int switch_mutex_lock(pthread_mutex_t *m, unsigned k)
{
	const pthread_mutex_t *gil_mutex = gt_gil_mutex(k);
	struct gt_gil *g = &gt_gils[k];
	/* The clock first: the compiler treats reading it as a side effect,
	 * and would not carry what the tests below established past it. */
	uint64_t now = gt_clock_tsc();
	/* check_interp is set only while a GIL has no last holder, so it
	 * never passes the plain test. */
	if (likely(gt_tracing() && gil_mutex && gil_mutex->__data.__owner == (int)gt_tls.sm.tid &&
		   ring_has_room() && gt_sm_acquire_is_plain(&g->sm, &gt_tls.sm, k))) {
		gt_sm_acquire(&g->sm, &gt_tls.sm, k, now, GT_SM_NO_RD);
		return gt_real.mutex_lock(m);
	}
	return switch_mutex_lock_general(m, k);
}

GT_EXPORT int pthread_mutex_lock(pthread_mutex_t *m)
{
	unsigned k;
	if (likely(!gt_gil_find_switch_mutex(m, &k))) {
		restart_writer_if_due();
		return gt_real.mutex_lock(m);
	}
	return switch_mutex_lock(m, k);
}

/* Only drop_gil signals the GIL's condvar: locked is 0 by now. */
static GT_GIL_PATH int gil_signal_general(pthread_cond_t *c, unsigned k)
{
	if (gt_tracing()) {
		struct gt_gil *g = &gt_gils[k];
		my_tid();
		uint64_t now = gt_clock_now();
		uint64_t rd = gt_sm_release_needs_rd(&g->sm) ? gt_sched_self() : GT_SM_NO_RD;
		gt_sm_release(&g->sm, &gt_tls.sm, k, now, interval_in_force(g), rd);
		/* The writer was stopped for a fork() and no hook without the
		 * GIL has started it since (CPython on Linux rarely locks other
		 * mutexes): start it here, with M held, rather than let the
		 * ring overflow. */
		if (atomic_load_explicit(&gt_writer_restart_due, memory_order_relaxed) &&
		    gt_ring_half_full()) {
			int saved = errno;
			gt_writer_start();
			errno = saved;
		}
	}
	return gt_real.cond_signal(c);
}

static GT_GIL_PATH int gil_signal(pthread_cond_t *c, unsigned k)
{
	uint64_t now = gt_clock_tsc(); /* first: see switch_mutex_lock() */
	/* ring_has_room() last: an atomic load after it would make the
	 * compiler test the ring again in gt_sm_emit(). A release to a
	 * waiter takes the general path (a flow, and the run delay). */
	if (likely(gt_tracing() &&
		   !atomic_load_explicit(&gt_writer_restart_due, memory_order_relaxed) &&
		   gt_sm_release_is_plain(&gt_gils[k].sm) && ring_has_room())) {
		gt_sm_release(&gt_gils[k].sm, &gt_tls.sm, k, now, interval_in_force(&gt_gils[k]),
			      GT_SM_NO_RD);
		return gt_real.cond_signal(c);
	}
	return gil_signal_general(c, k);
}

GT_EXPORT int pthread_cond_signal(pthread_cond_t *c)
{
	unsigned k;
	if (likely(!gt_gil_find_cond(c, &k)))
		return gt_real.cond_signal(c);
	return gil_signal(c, k);
}

static GT_GIL_PATH int gil_timedwait(pthread_cond_t *c, pthread_mutex_t *m,
				     const struct timespec *abstime, unsigned k)
{
	struct gt_gil *g = &gt_gils[k];
	my_tid();
	int begins = gt_sm_wait_begins(&gt_tls.sm, k);
	uint32_t interval = begins ? interval_us(g, abstime) : 0;
	gt_sm_wait(&g->sm, &gt_tls.sm, k, gt_clock_now(), interval);
	/* The wait's CPU waits: its own run delay now and at each wake-up,
	 * its holder's now (model/gt_gil_sm.h, "CPU waits"). */
	if (begins && gt_sched_on) {
		uint64_t rd = gt_sched_self();
		gt_sm_cpu_begin(&g->sm, &gt_tls.sm, rd,
				g->sm.holder && rd != GT_SM_NO_RD ? gt_sched_thread(g->sm.holder)
								  : GT_SM_NO_RD);
	} else if (begins) {
		gt_sched_unsplit_wait();
	}
	int rc = gt_real.cond_timedwait(c, m, abstime);
	/* glibc re-took M before returning, so g is stable again. */
	if (gt_tls.sm.rd_seen != GT_SM_NO_RD && gt_sched_on)
		gt_sm_cpu_woke(&g->sm, &gt_tls.sm, k, gt_clock_now(), gt_sched_self());
	if (rc == ETIMEDOUT) {
		uint64_t now = gt_clock_now();
		gt_sm_wait_timed_out(&g->sm, &gt_tls.sm, k, now,
				     gt_sched_on && gt_sm_timeout_needs_rd(&g->sm, &gt_tls.sm)
					     ? gt_sched_thread(g->sm.holder)
					     : GT_SM_NO_RD);
	}
	return rc;
}

/* No GIL known yet, but the interpreter itself waits with a timeout: that is
 * take_gil (the only timed condvar wait in CPython's own code). The other
 * objects follow from the 3.7+ layout; 3.6 lays its statics out freely, so
 * this fallback does not apply there. */
static GT_RARE void learn_from_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
	int saved = errno;
	char *base = (char *)c - GT_CPY_GIL_COND;
	if (gt_py.minor >= 7 && (char *)m == base + GT_CPY_GIL_MUTEX &&
	    gt_gil_register(c, m, base + GT_CPY_GIL_SWITCH_COND, base + GT_CPY_GIL_SWITCH_MUTEX,
			    GT_ID_CALLER, -1) >= 0)
		gt_tracer_start();
	errno = saved;
}

GT_EXPORT int pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m,
				     const struct timespec *abstime)
{
	unsigned k;
	if (likely(!gt_gil_find_cond(c, &k))) {
		if (unlikely(gt_proc.eligible && !atomic_load(&gt_ngils) && !gt_tls.busy) &&
		    atomic_load(&gt_state) == GT_OFF &&
		    gt_python_is_caller(__builtin_return_address(0))) {
			learn_from_wait(c, m);
			if (gt_gil_find_cond(c, &k) && gt_tracing())
				return gil_timedwait(c, m, abstime, k);
		}
		restart_writer_if_due();
		return gt_real.cond_timedwait(c, m, abstime);
	}
	if (!gt_tracing())
		return gt_real.cond_timedwait(c, m, abstime);
	return gil_timedwait(c, m, abstime, k);
}

/* ---- creation and destruction ------------------------------------------- */

/* create_gil: mutex_init(M), mutex_init(SM), cond_init(C), cond_init(SC),
 * all from the interpreter's code, in this order, in one thread. */
static GT_RARE void init_mutex_seen(void *m)
{
	if (gt_tls.init_n == 1) {
		gt_tls.init_obj[1] = m;
		gt_tls.init_n = 2;
	} else {
		gt_tls.init_obj[0] = m;
		gt_tls.init_n = 1;
	}
}

static GT_RARE void init_cond_seen(void *c, const pthread_condattr_t *attr)
{
	if (gt_tls.init_n == 2) {
		clockid_t clock = CLOCK_REALTIME;
		if (attr)
			pthread_condattr_getclock(attr, &clock);
		gt_tls.init_obj[2] = c;
		gt_tls.init_clock = (uint8_t)clock;
		gt_tls.init_n = 3;
		return;
	}
	if (gt_tls.init_n == 3) {
		int saved = errno;
		gt_tls.init_n = 0;
		if (gt_gil_register(gt_tls.init_obj[2], gt_tls.init_obj[0], c, gt_tls.init_obj[1],
				    GT_ID_INIT_SEQUENCE, gt_tls.init_clock) >= 0)
			gt_tracer_start();
		errno = saved;
		return;
	}
	gt_tls.init_n = 0;
}

GT_EXPORT int pthread_mutex_init(pthread_mutex_t *m, const pthread_mutexattr_t *attr)
{
	if (unlikely(gt_proc.eligible) && !gt_tls.busy &&
	    gt_python_is_caller(__builtin_return_address(0)))
		init_mutex_seen(m);
	return gt_real.mutex_init(m, attr);
}

GT_EXPORT int pthread_cond_init(pthread_cond_t *c, const pthread_condattr_t *attr)
{
	if (unlikely(gt_proc.eligible) && !gt_tls.busy &&
	    gt_python_is_caller(__builtin_return_address(0)))
		init_cond_seen(c, attr);
	return gt_real.cond_init(c, attr);
}

GT_EXPORT int pthread_mutex_destroy(pthread_mutex_t *m)
{
	if (unlikely(atomic_load_explicit(&gt_ngils, memory_order_relaxed)))
		gt_gil_forget(m);
	return gt_real.mutex_destroy(m);
}

GT_EXPORT int pthread_cond_destroy(pthread_cond_t *c)
{
	if (unlikely(atomic_load_explicit(&gt_ngils, memory_order_relaxed)))
		gt_gil_forget(c);
	return gt_real.cond_destroy(c);
}
