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
 * (The protocol is the same from 3.6 to 3.14; docs/design.md walks through
 * it.) Unlocks and every other mutex and condvar call are not ours to look
 * at: pthread_mutex_unlock is not even hooked.
 *
 * Timestamps are taken only at release, acquire, the first timed wait of a
 * take and a timed wait that ran out — while the GIL's mutex is held, so the
 * shared per-GIL counters need no lock of ours. Nothing here allocates,
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
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "gt_clock.h"
#include "gt_gil.h"
#include "gt_log.h"
#include "gt_python.h"
#include "gt_real.h"
#include "gt_ring.h"
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
	gt_tls.tid = (uint32_t)syscall(SYS_gettid);
	return gt_tls.tid;
}

static inline uint32_t my_tid(void)
{
	uint32_t tid = gt_tls.tid;
	return likely(tid) ? tid : first_tid();
}

/* ---- recording ---------------------------------------------------------- */

/* Writes and publishes an event: four 8-byte stores in gt_event's layout
 * (little-endian); the last word is arg, kind, gil and flags. */
static inline __attribute__((always_inline)) void put_event(struct gt_event *e, uint64_t ts,
							      uint32_t peer, uint32_t count,
							      uint32_t seq, uint64_t last)
{
	uint64_t *w = (uint64_t *)e;
	w[0] = ts;
	w[1] = gt_tls.tid | (uint64_t)peer << 32;
	w[2] = count | (uint64_t)seq << 32;
	w[3] = last;
	gt_ring_commit(e);
}

static inline __attribute__((always_inline)) void record(uint8_t kind, unsigned k, uint32_t flags,
							   uint64_t ts, uint32_t peer,
							   uint32_t count, uint32_t seq,
							   uint32_t arg)
{
	struct gt_event *e = gt_ring_next();
	if (unlikely(!e))
		return;
	put_event(e, ts, peer, count, seq,
		  arg | (uint64_t)kind << 32 | (uint64_t)(k & 0xff) << 40 | (uint64_t)flags << 48);
}

/* An ACQUIRE or ABANDON that ends a contention episode: first say when the
 * episode began. */
static void record_episode_start(unsigned k, uint64_t since)
{
	record(GT_EV_CONTENDED_SINCE, k, 0, since, 0, 0, 0, 0);
}

/* A timestamp for an event of GIL g, taken with g's mutex held: strictly
 * after the previous one, so one GIL's holds never touch or overlap even if
 * two CPUs' TSCs disagree by a few cycles. */
static inline uint64_t gil_order(struct gt_gil *g, uint64_t t)
{
	uint64_t min = g->last_ts + GT_CLOCK_MIN_GAP;
	if (unlikely(t < min))
		t = min;
	g->last_ts = t;
	return t;
}

static inline uint64_t gil_now(struct gt_gil *g) { return gil_order(g, gt_clock_now()); }

/* The switch interval the waiter is about to wait for, in µs. */
static uint32_t interval_us(const struct gt_gil *g, const struct timespec *abstime)
{
	if (g->base) /* struct _gil_runtime_state.interval, µs */
		return (uint32_t)*(const unsigned long *)g->base;
	/* Unknown layout (3.6): the deadline was now + interval on the
	 * condvar's clock; round away the microseconds spent getting here. */
	struct timespec now;
	if (!abstime || clock_gettime(g->clock, &now))
		return 0;
	int64_t ns = (abstime->tv_sec - now.tv_sec) * 1000000000LL + (abstime->tv_nsec - now.tv_nsec);
	return ns > 0 ? (uint32_t)((ns / 1000 + 5) / 10 * 10) : 0;
}

/* ---- events ------------------------------------------------------------- */

static GT_RARE void on_wait(struct gt_gil *g, unsigned k, const struct timespec *abstime)
{
	uint64_t ts = gil_now(g);
	uint32_t waiters = ++g->waiters;
	if (waiters == 1)
		g->contended_since = ts;
	gt_tls.gstate = k | GT_TS_WAITED;
	gt_tls.timeouts = 0;
	record(GT_EV_WAIT, k, 0, ts, g->holder, waiters, 0, interval_us(g, abstime));
}

/* The acquiring thread had waited: it leaves the waiters. Returns the flags
 * that adds to its ACQUIRE. */
static GT_GIL_PATH uint32_t leave_waiters(struct gt_gil *g, unsigned k)
{
	if (g->waiters)
		g->waiters--;
	if (g->waiters)
		return GT_F_WAITED;
	record_episode_start(k, g->contended_since);
	return GT_F_WAITED | GT_F_CONTENTION_END;
}

static GT_GIL_PATH void on_acquire(struct gt_gil *g, unsigned k)
{
	uint64_t ts = gil_now(g);
	uint32_t me = my_tid();
	uint32_t st = gt_tls.gstate;
	uint32_t flags = 0, timeouts = 0;
	gt_tls.gstate = k;
	if (st == (k | GT_TS_WAITED)) {
		flags = leave_waiters(g, k);
		timeouts = gt_tls.timeouts;
	}
	if (g->flow_open) {
		flags |= GT_F_FLOW_IN;
		g->flow_open = 0;
	}
	/* CPython resets the drop request once the GIL is taken. */
	g->drop_requested = 0;
	if (g->last_holder != me) {
		g->switches++;
		g->last_holder = me;
	}
	g->holder = me;
	if (g->check_interp)
		gt_gil_check_interp(g);
	record(GT_EV_ACQUIRE, k, flags, ts, g->last_releaser, g->waiters, g->release_seq, timeouts);
}

static GT_GIL_PATH void on_release(struct gt_gil *g, unsigned k)
{
	uint64_t ts = gil_now(g);
	/* drop_gil does the FORCE_SWITCHING handshake exactly when a drop
	 * request is pending, which we know now; the handshake itself may
	 * come much later if this thread is preempted right after unlocking. */
	uint32_t flags = g->drop_requested ? GT_F_DROP_PENDING : 0;
	uint32_t seq = ++g->release_seq;
	uint32_t waiters = g->waiters;
	g->flow_open = waiters > 0;
	g->holder = 0;
	g->last_releaser = my_tid();
	gt_tls.gstate = k | GT_TS_RELEASED;
	record(GT_EV_RELEASE, k, flags, ts, 0, waiters, seq, 0);
	/* The writer was stopped for a fork() in this process: restart it.
	 * Rare, and only the thread holding the GIL's mutex waits. */
	if (unlikely(!atomic_load_explicit(&gt_writer_running, memory_order_relaxed)))
		gt_writer_start();
}

/* The two events that must be cheap: a thread releasing the GIL for a
 * syscall and taking it back with nobody waiting — millions per second in
 * an I/O-heavy program. They are on_acquire()/on_release() for the case
 * where none of their conditions holds, written as leaf code (no call but
 * the tail call to the real function) on lines this thread already owns:
 * the GIL's dynamic state, its TLS and its ring. Anything else goes the
 * general way. */

/* Is there a ring entry free without the slow path? That also says the
 * thread's id is known and the clock is the TSC (gt_ring_slow() keeps the
 * cursor at the limit otherwise). */
static inline int plain_event_possible(void) { return likely(gt_tls.cur != gt_tls.lim); }

/* gil_now() for the plain path: the TSC, no call. */
static inline uint64_t plain_now(struct gt_gil *g) { return gil_order(g, gt_clock_tsc()); }

static inline void put_plain(uint64_t ts, uint32_t peer, uint32_t count, uint32_t seq,
			     uint64_t kind_gil_flags)
{
	put_event(gt_tls.cur, ts, peer, count, seq, kind_gil_flags);
}

#define KIND_GIL(kind, k) ((uint64_t)(kind) << 32 | (uint64_t)((k) & 0xff) << 40)

/* Acquire: no wait to end, no flow to terminate, the same holder as last
 * time. (A GIL's first acquire, which may have an interpreter to check, has
 * no last holder, so it never gets here.) */
static inline int plain_acquire(struct gt_gil *g, unsigned k)
{
	uint32_t me = gt_tls.tid;
	if (unlikely(!plain_event_possible() || gt_tls.gstate == (k | GT_TS_WAITED) ||
		     g->flow_open || g->last_holder != me))
		return 0;
	uint64_t ts = plain_now(g);
	g->drop_requested = 0;
	g->holder = me;
	gt_tls.gstate = k;
	put_plain(ts, g->last_releaser, g->waiters, g->release_seq, KIND_GIL(GT_EV_ACQUIRE, k));
	return 1;
}

static inline int plain_release(struct gt_gil *g, unsigned k)
{
	if (unlikely(!plain_event_possible() ||
		     !atomic_load_explicit(&gt_writer_running, memory_order_relaxed)))
		return 0;
	uint64_t ts = plain_now(g);
	uint64_t flags = g->drop_requested ? GT_F_DROP_PENDING : 0;
	uint32_t seq = ++g->release_seq;
	uint32_t waiters = g->waiters;
	g->flow_open = waiters > 0;
	g->holder = 0;
	g->last_releaser = gt_tls.tid;
	gt_tls.gstate = k | GT_TS_RELEASED;
	put_plain(ts, 0, waiters, seq, KIND_GIL(GT_EV_RELEASE, k) | flags << 48);
	return 1;
}

/* A waiter leaves without the GIL: only a thread exiting from take_gil
 * during finalisation does. The waiter count is protected by the GIL's
 * mutex, which it no longer holds, so take it (briefly, as CPython does). */
void gt_hooks_thread_exit(void)
{
	if (!(gt_tls.gstate & GT_TS_WAITED) || !gt_tracing())
		return;
	unsigned k = gt_tls.gstate & GT_TS_GIL_MASK;
	pthread_mutex_t *m = gt_gil_ids[k].mutex;
	struct gt_gil *g = &gt_gils[k];
	if (!m)
		return; /* the GIL is gone */
	int own = m->__data.__owner == (int)my_tid();
	if (!own && gt_real.mutex_lock(m))
		return;
	uint64_t ts = gil_now(g);
	uint32_t flags = 0;
	if (g->waiters)
		g->waiters--;
	if (!g->waiters) {
		flags = GT_F_CONTENTION_END;
		record_episode_start(k, g->contended_since);
	}
	record(GT_EV_ABANDON, k, flags, ts, 0, g->waiters, 0, gt_tls.timeouts);
	gt_tls.gstate = k;
	if (!own)
		gt_real.mutex_unlock(m);
}

/* The thread exits: its last event. */
void gt_hooks_record_exit(void)
{
	if (gt_tracing())
		record(GT_EV_THREAD_EXIT, 0, 0, gt_clock_now(), 0, 0, 0, 0);
}

/* ---- the hooks ---------------------------------------------------------- */

/* drop_gil locked the switch mutex after a release: the release was
 * forced. */
static GT_RARE void handshake(unsigned k)
{
	if (gt_tls.gstate == (k | GT_TS_RELEASED)) {
		record(GT_EV_FORCED, k, 0, 0, 0, 0, 0, 0);
		gt_tls.gstate = k;
	}
}

/* take_gil locks the switch mutex holding the GIL's mutex (the acquire);
 * drop_gil locks it without (the handshake of a forced switch). glibc
 * records the owner's tid in every locked mutex, including when a condvar
 * wait re-takes it. */
static GT_GIL_PATH int switch_mutex_lock_general(pthread_mutex_t *m, unsigned k)
{
	if (gt_tracing()) {
		const pthread_mutex_t *gil_mutex = gt_gil_ids[k].mutex;
		if (gil_mutex && gil_mutex->__data.__owner == (int)my_tid())
			on_acquire(&gt_gils[k], k);
		else
			handshake(k);
	}
	return gt_real.mutex_lock(m);
}

/* The acquire is recorded just before the lock rather than after it: the
 * GIL's mutex, which we hold, already makes it ours (the switch mutex is
 * only ever held for a moment by the previous holder's handshake), and the
 * real lock becomes a tail call. A plain mutex lock fails only on a
 * corrupted mutex. */
static GT_GIL_PATH int switch_mutex_lock(pthread_mutex_t *m, unsigned k)
{
	const pthread_mutex_t *gil_mutex = gt_gil_ids[k].mutex;
	if (likely(gt_tracing() && gil_mutex && gil_mutex->__data.__owner == (int)gt_tls.tid) &&
	    plain_acquire(&gt_gils[k], k))
		return gt_real.mutex_lock(m);
	return switch_mutex_lock_general(m, k);
}

GT_EXPORT int pthread_mutex_lock(pthread_mutex_t *m)
{
	unsigned k;
	if (likely(!gt_gil_find_switch_mutex(m, &k)))
		return gt_real.mutex_lock(m);
	return switch_mutex_lock(m, k);
}

/* Only drop_gil signals the GIL's condvar: locked is 0 by now. */
static GT_GIL_PATH int gil_signal_general(pthread_cond_t *c, unsigned k)
{
	if (gt_tracing())
		on_release(&gt_gils[k], k);
	return gt_real.cond_signal(c);
}

static GT_GIL_PATH int gil_signal(pthread_cond_t *c, unsigned k)
{
	if (likely(gt_tracing()) && plain_release(&gt_gils[k], k))
		return gt_real.cond_signal(c);
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
	if (gt_tls.gstate != (k | GT_TS_WAITED))
		on_wait(g, k, abstime);
	gt_tls.seen_switch = g->switches;
	int rc = gt_real.cond_timedwait(c, m, abstime);
	/* glibc re-took M before returning, so g is stable again. CPython
	 * sets the drop request exactly when this is true. */
	if (rc == ETIMEDOUT) {
		gt_tls.timeouts++;
		if (g->holder && g->switches == gt_tls.seen_switch) {
			g->drop_requested = 1;
			record(GT_EV_DROP_REQUEST, k, 0, gil_now(g), g->holder, g->waiters, 0, 0);
		}
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
	char *base = (char *)c - GT_GIL_COND_OFF;
	if (gt_py.minor >= 7 && (char *)m == base + GT_GIL_MUTEX_OFF &&
	    gt_gil_register(c, m, base + GT_GIL_SWITCH_COND_OFF, base + GT_GIL_SWITCH_MUTEX_OFF,
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
