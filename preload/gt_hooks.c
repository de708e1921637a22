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

static inline uint32_t my_tid(void)
{
	if (unlikely(!gt_tls.tid))
		gt_tls.tid = (uint32_t)syscall(SYS_gettid);
	return gt_tls.tid;
}

/* ---- recording ---------------------------------------------------------- */

static GT_RARE struct gt_slot *claim_slot(void)
{
	static atomic_flag warned = ATOMIC_FLAG_INIT;
	if (gt_tls.no_slot)
		return NULL;
	int saved = errno;
	struct gt_slot *s = gt_pool_claim(my_tid());
	if (!s) {
		gt_tls.no_slot = 1;
		if (!atomic_flag_test_and_set(&warned))
			gt_log_error("more than %u threads at once: events of further threads are "
				     "dropped (raise GILTRACE_MAX_THREADS)",
				     gt_pool.nslots);
	} else {
		gt_tls.slot = s;
		gt_tls.has_slot = 1;
		gt_tracer_bind_thread(s);
	}
	errno = saved;
	return s;
}

static inline void record(uint8_t kind, unsigned k, uint16_t flags, uint64_t ts, uint32_t peer,
			  uint32_t count, uint32_t seq, uint32_t arg)
{
	struct gt_slot *s = likely(gt_tls.has_slot) ? gt_tls.slot : claim_slot();
	if (unlikely(!s)) {
		atomic_fetch_add_explicit(&gt_pool.no_slot_events, 1, memory_order_relaxed);
		return;
	}
	struct gt_event *e = gt_ring_reserve(s);
	if (unlikely(!e))
		return;
	*e = (struct gt_event){ts, gt_tls.tid, peer, count, seq, arg, kind, (uint8_t)k, flags};
	gt_ring_commit(s);
}

/* An ACQUIRE or ABANDON that ends a contention episode: first say when the
 * episode began. */
static inline void record_episode_start(unsigned k, uint64_t since)
{
	record(GT_EV_CONTENDED_SINCE, k, 0, since, 0, 0, 0, 0);
}

/* A timestamp for an event of GIL g, taken with g's mutex held: strictly
 * after the previous one, so one GIL's holds never touch or overlap even if
 * two CPUs' TSCs disagree by a few cycles. */
static inline uint64_t gil_now(struct gt_gil *g)
{
	uint64_t t = gt_clock_now();
	if (unlikely(t < g->last_ts + GT_CLOCK_MIN_GAP))
		t = g->last_ts + GT_CLOCK_MIN_GAP;
	g->last_ts = t;
	return t;
}

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

static void on_wait(struct gt_gil *g, unsigned k, const struct timespec *abstime)
{
	uint64_t ts = gil_now(g);
	uint32_t waiters = ++g->waiters;
	if (waiters == 1)
		g->contended_since = ts;
	gt_tls.waited = 1;
	gt_tls.gil = (uint8_t)k;
	gt_tls.timeouts = 0;
	record(GT_EV_WAIT, k, 0, ts, g->holder, waiters, 0, interval_us(g, abstime));
}

static inline void on_acquire(struct gt_gil *g, unsigned k)
{
	uint64_t ts = gil_now(g);
	uint32_t me = gt_tls.tid;
	uint16_t flags = 0;
	if (gt_tls.waited && gt_tls.gil == k) {
		flags |= GT_F_WAITED;
		if (g->waiters)
			g->waiters--;
		if (!g->waiters) {
			flags |= GT_F_CONTENTION_END;
			record_episode_start(k, g->contended_since);
		}
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
	if (unlikely(g->check_interp))
		gt_gil_check_interp(g);
	record(GT_EV_ACQUIRE, k, flags, ts, g->last_releaser, g->waiters, g->release_seq,
	       gt_tls.timeouts);
	gt_tls.gil = (uint8_t)k;
	gt_tls.waited = 0;
	gt_tls.released = 0;
}

static inline void on_release(struct gt_gil *g, unsigned k)
{
	uint64_t ts = gil_now(g);
	/* drop_gil does the FORCE_SWITCHING handshake exactly when a drop
	 * request is pending, which we know now; the handshake itself may
	 * come much later if this thread is preempted right after unlocking. */
	uint16_t flags = g->drop_requested ? GT_F_DROP_PENDING : 0;
	g->release_seq++;
	g->flow_open = g->waiters > 0;
	g->holder = 0;
	g->last_releaser = gt_tls.tid;
	record(GT_EV_RELEASE, k, flags, ts, 0, g->waiters, g->release_seq, 0);
	gt_tls.gil = (uint8_t)k;
	gt_tls.released = 1;
	gt_tls.waited = 0;
}

/* A waiter leaves without the GIL: only a thread exiting from take_gil
 * during finalisation does. The waiter count is protected by the GIL's
 * mutex, which it no longer holds, so take it (briefly, as CPython does). */
void gt_hooks_thread_exit(void)
{
	if (!gt_tls.waited || !gt_tracing())
		return;
	unsigned k = gt_tls.gil;
	pthread_mutex_t *m = gt_gil_ids[k].mutex;
	struct gt_gil *g = &gt_gils[k];
	if (!m)
		return; /* the GIL is gone */
	int own = m->__data.__owner == (int)my_tid();
	if (!own && gt_real.mutex_lock(m))
		return;
	uint64_t ts = gil_now(g);
	uint16_t flags = 0;
	if (g->waiters)
		g->waiters--;
	if (!g->waiters) {
		flags = GT_F_CONTENTION_END;
		record_episode_start(k, g->contended_since);
	}
	record(GT_EV_ABANDON, k, flags, ts, 0, g->waiters, 0, gt_tls.timeouts);
	gt_tls.waited = 0;
	if (!own)
		gt_real.mutex_unlock(m);
}

/* ---- the hooks ---------------------------------------------------------- */

/* take_gil locks the switch mutex holding the GIL's mutex (the acquire);
 * drop_gil locks it without (the handshake of a forced switch). glibc
 * records the owner's tid in every locked mutex, including when a condvar
 * wait re-takes it. */
static GT_GIL_PATH int switch_mutex_lock(pthread_mutex_t *m, unsigned k)
{
	if (!gt_tracing())
		return gt_real.mutex_lock(m);
	const pthread_mutex_t *gil_mutex = gt_gil_ids[k].mutex;
	if (likely(gil_mutex && gil_mutex->__data.__owner == (int)my_tid())) {
		int rc = gt_real.mutex_lock(m);
		if (likely(!rc))
			on_acquire(&gt_gils[k], k);
		return rc;
	}
	if (gt_tls.released && gt_tls.gil == k) {
		record(GT_EV_FORCED, k, 0, 0, 0, 0, 0, 0);
		gt_tls.released = 0;
	}
	return gt_real.mutex_lock(m);
}

GT_EXPORT int pthread_mutex_lock(pthread_mutex_t *m)
{
	unsigned k;
	if (likely(!gt_gil_find_switch_mutex(m, &k)))
		return gt_real.mutex_lock(m);
	return switch_mutex_lock(m, k);
}

/* Only drop_gil signals the GIL's condvar: locked is 0 by now. */
static GT_GIL_PATH int gil_signal(pthread_cond_t *c, unsigned k)
{
	if (gt_tracing()) {
		my_tid();
		on_release(&gt_gils[k], k);
		/* The writer was stopped for a fork() in this process: restart
		 * it. Rare, and only the thread holding the GIL's mutex waits. */
		if (unlikely(!atomic_load_explicit(&gt_writer_running, memory_order_relaxed)))
			gt_writer_start();
	}
	return gt_real.cond_signal(c);
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
	if (!gt_tls.waited || gt_tls.gil != k)
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
