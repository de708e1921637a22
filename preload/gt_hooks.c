/* SPDX-License-Identifier: MIT */
/*
 * gt_hooks.c — the pthread functions CPython's GIL is built on.
 *
 * Every call first asks "is this a GIL object?" (gt_gil_find_*: one range
 * compare when it is not) and otherwise forwards untouched. For GIL objects
 * a small per-thread state machine follows take_gil/drop_gil (the sequence is
 * the same from 3.6 to 3.14; docs/design.md walks through it):
 *
 *   take_gil:  lock(M) [timedwait(C,M)...] lock(SM)=ACQUIRE signal(SC) unlock(SM) unlock(M)
 *   drop_gil:  lock(M) signal(C)=RELEASE unlock(M) [lock(SM) wait(SC,SM) unlock(SM)]=forced
 *
 * Timestamps are taken only at release, acquire, the first timed wait of a
 * take and a timed wait that ran out — while the GIL's mutex is held, so the
 * shared per-GIL counters need no lock of ours. Nothing here allocates,
 * blocks or changes errno; a thread's first event claims a preallocated ring.
 *
 * What each hook may do: call the real function, read/write thread-local
 * state and the GIL table, read the clock, write its own ring. The init,
 * destroy and first-event paths may additionally take the registration spin
 * flag, start the writer thread or make a syscall (once per GIL / thread).
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
#define GT_SLOW __attribute__((noinline, cold))

__thread struct gt_tls gt_tls __attribute__((tls_model("initial-exec")));

/* Set when a GIL was found from its condvar alone (no init sequence) and its
 * switch objects still have to be learnt from a pthread_cond_wait. */
static _Atomic int need_switch_objects;

static inline uint32_t my_tid(void)
{
	if (unlikely(!gt_tls.tid))
		gt_tls.tid = (uint32_t)syscall(SYS_gettid);
	return gt_tls.tid;
}

/* ---- recording ---------------------------------------------------------- */

static GT_SLOW struct gt_slot *claim_slot(void)
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

static inline void record(uint8_t kind, unsigned k, uint16_t flags, uint64_t ts, uint64_t t0,
			  uint32_t peer, uint32_t count, uint32_t seq, uint32_t arg)
{
	struct gt_slot *s = likely(gt_tls.has_slot) ? gt_tls.slot : claim_slot();
	if (unlikely(!s)) {
		atomic_fetch_add_explicit(&gt_pool.no_slot_events, 1, memory_order_relaxed);
		return;
	}
	struct gt_event *e = gt_ring_reserve(s);
	if (unlikely(!e))
		return;
	e->ts = ts;
	e->t0 = t0;
	e->tid = gt_tls.tid;
	e->peer = peer;
	e->count = count;
	e->seq = seq;
	e->arg = arg;
	e->stack_id = 0;
	e->kind = kind;
	e->gil = (uint8_t)k;
	e->flags = flags;
	e->reserved = 0;
	gt_ring_commit(s);
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

static void on_wait(struct gt_gil *g, unsigned k, const struct timespec *abstime)
{
	uint64_t ts = gil_now(g);
	uint32_t waiters = ++g->waiters;
	if (waiters == 1)
		g->contended_since = ts;
	gt_tls.waited = 1;
	record(GT_EV_WAIT, k, 0, ts, 0, g->holder, waiters, 0, interval_us(g, abstime));
}

static inline void on_acquire(struct gt_gil *g, unsigned k)
{
	uint64_t ts = gil_now(g);
	uint32_t me = my_tid();
	uint16_t flags = 0;
	uint64_t t0 = 0;
	if (gt_tls.waited) {
		flags |= GT_F_WAITED;
		if (g->waiters)
			g->waiters--;
		if (!g->waiters) {
			flags |= GT_F_CONTENTION_END;
			t0 = g->contended_since;
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
	record(GT_EV_ACQUIRE, k, flags, ts, t0, g->last_releaser, g->waiters, g->release_seq,
	       gt_tls.timeouts);
	gt_tls.phase = GT_PH_TAKEN;
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
	g->last_releaser = my_tid();
	record(GT_EV_RELEASE, k, flags, ts, 0, 0, g->waiters, g->release_seq, 0);
	gt_tls.phase = GT_PH_RELEASED;
}

/* The thread leaves take_gil without the GIL after waiting (3.9+ daemon
 * threads during finalisation). */
static void on_abandon(struct gt_gil *g, unsigned k)
{
	uint64_t ts = gil_now(g);
	uint16_t flags = 0;
	uint64_t t0 = 0;
	if (g->waiters)
		g->waiters--;
	if (!g->waiters) {
		flags = GT_F_CONTENTION_END;
		t0 = g->contended_since;
	}
	record(GT_EV_ABANDON, k, flags, ts, t0, 0, g->waiters, 0, gt_tls.timeouts);
}

/* ---- mutexes ------------------------------------------------------------ */

static GT_SLOW int gil_mutex_lock(pthread_mutex_t *m, unsigned k, int sw)
{
	if (!gt_tracing() || gt_tls.busy)
		return gt_real.mutex_lock(m);
	struct gt_gil *g = &gt_gils[k];
	if (!sw) {
		int rc = gt_real.mutex_lock(m);
		if (rc)
			return rc;
		/* With M held, holder is stable: only its holder drops it. */
		gt_tls.gil = (uint8_t)k;
		if (g->holder && g->holder == my_tid()) {
			gt_tls.phase = GT_PH_DROP;
		} else {
			gt_tls.phase = GT_PH_TAKE;
			gt_tls.waited = 0;
			gt_tls.timeouts = 0;
		}
		return 0;
	}
	if (gt_tls.gil == k && gt_tls.phase == GT_PH_TAKE) {
		int rc = gt_real.mutex_lock(m);
		if (!rc)
			on_acquire(g, k);
		return rc;
	}
	if (gt_tls.gil == k && gt_tls.phase == GT_PH_AFTER_DROP) {
		/* drop_gil saw a drop request: FORCE_SWITCHING handshake. */
		record(GT_EV_FORCED, k, 0, 0, 0, 0, 0, 0, 0);
		gt_tls.phase = GT_PH_IDLE;
	}
	return gt_real.mutex_lock(m);
}

static GT_SLOW int gil_mutex_unlock(pthread_mutex_t *m, unsigned k, int sw)
{
	if (!gt_tracing() || gt_tls.busy || gt_tls.gil != k)
		return gt_real.mutex_unlock(m);
	if (sw) {
		if (gt_tls.phase == GT_PH_AFTER_DROP)
			gt_tls.phase = GT_PH_IDLE;
		return gt_real.mutex_unlock(m);
	}
	switch (gt_tls.phase) {
	case GT_PH_TAKE:
		/* No acquire: either a bare lock/unlock (3.13+ pending calls)
		 * or a waiter leaving to exit. */
		if (gt_tls.waited)
			on_abandon(&gt_gils[k], k);
		gt_tls.phase = GT_PH_IDLE;
		break;
	case GT_PH_RELEASED: {
		int rc = gt_real.mutex_unlock(m);
		gt_tls.phase = GT_PH_AFTER_DROP;
		/* The writer was stopped for a fork() in this process:
		 * restart it now that this thread holds no GIL lock. */
		if (unlikely(!atomic_load_explicit(&gt_writer_running, memory_order_relaxed)))
			gt_writer_start();
		return rc;
	}
	case GT_PH_TAKEN:
	case GT_PH_DROP:
		gt_tls.phase = GT_PH_IDLE;
		break;
	default:
		break;
	}
	return gt_real.mutex_unlock(m);
}

GT_EXPORT int pthread_mutex_lock(pthread_mutex_t *m)
{
	unsigned k;
	int sw;
	if (likely(!gt_gil_find_mutex(m, &k, &sw)))
		return gt_real.mutex_lock(m);
	return gil_mutex_lock(m, k, sw);
}

GT_EXPORT int pthread_mutex_unlock(pthread_mutex_t *m)
{
	unsigned k;
	int sw;
	if (likely(!gt_gil_find_mutex(m, &k, &sw)))
		return gt_real.mutex_unlock(m);
	return gil_mutex_unlock(m, k, sw);
}

/* ---- condition variables ------------------------------------------------ */

GT_EXPORT int pthread_cond_signal(pthread_cond_t *c)
{
	unsigned k;
	int sw;
	if (likely(!gt_gil_find_cond(c, &k, &sw)))
		return gt_real.cond_signal(c);
	/* Only drop_gil signals the GIL's condvar: locked is 0 by now. */
	if (!sw && gt_tracing() && !gt_tls.busy) {
		gt_tls.gil = (uint8_t)k;
		on_release(&gt_gils[k], k);
	}
	return gt_real.cond_signal(c);
}

static GT_SLOW int gil_timedwait(pthread_cond_t *c, pthread_mutex_t *m,
				 const struct timespec *abstime, unsigned k)
{
	struct gt_gil *g = &gt_gils[k];
	if (gt_tls.phase != GT_PH_TAKE || gt_tls.gil != k) {
		/* Tracing started while this thread was inside take_gil. */
		gt_tls.gil = (uint8_t)k;
		gt_tls.phase = GT_PH_TAKE;
		gt_tls.waited = 0;
		gt_tls.timeouts = 0;
	}
	if (!gt_tls.waited)
		on_wait(g, k, abstime);
	gt_tls.seen_switch = g->switches;
	int rc = gt_real.cond_timedwait(c, m, abstime);
	/* glibc re-took M before returning, so g is stable again. CPython
	 * sets the drop request exactly when this is true. */
	if (rc == ETIMEDOUT) {
		gt_tls.timeouts++;
		if (g->holder && g->switches == gt_tls.seen_switch) {
			g->drop_requested = 1;
			record(GT_EV_DROP_REQUEST, k, 0, gil_now(g), 0, g->holder, g->waiters, 0, 0);
		}
	}
	return rc;
}

/* No GIL known yet, but the interpreter itself waits with a timeout: that is
 * take_gil (the only timed condvar wait in CPython's own code). */
static GT_SLOW void learn_from_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
	int saved = errno;
	void *sc = NULL, *sm = NULL;
	if (gt_py.minor >= 7) {
		sc = (char *)c + (GT_GIL_SWITCH_COND_OFF - GT_GIL_COND_OFF);
		sm = (char *)c + (GT_GIL_SWITCH_MUTEX_OFF - GT_GIL_COND_OFF);
		if ((char *)m != (char *)c + (GT_GIL_MUTEX_OFF - GT_GIL_COND_OFF))
			sc = sm = NULL;
	}
	if (gt_gil_register(c, m, sc, sm, GT_ID_CALLER, -1) >= 0) {
		if (!sc)
			atomic_store(&need_switch_objects, 1);
		gt_tracer_start();
	}
	errno = saved;
}

GT_EXPORT int pthread_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m,
				     const struct timespec *abstime)
{
	unsigned k;
	int sw;
	if (likely(!gt_gil_find_cond(c, &k, &sw))) {
		if (unlikely(gt_proc.eligible && !atomic_load(&gt_ngils) && !gt_tls.busy) &&
		    atomic_load(&gt_state) == GT_OFF &&
		    gt_python_is_caller(__builtin_return_address(0))) {
			learn_from_wait(c, m);
			if (gt_gil_find_cond(c, &k, &sw) && gt_tracing())
				return gil_timedwait(c, m, abstime, k);
		}
		return gt_real.cond_timedwait(c, m, abstime);
	}
	if (sw || !gt_tracing() || gt_tls.busy)
		return gt_real.cond_timedwait(c, m, abstime);
	return gil_timedwait(c, m, abstime, k);
}

GT_EXPORT int pthread_cond_wait(pthread_cond_t *c, pthread_mutex_t *m)
{
	/* drop_gil's untimed wait on switch_cond: nothing to record, but it
	 * names the switch objects when the GIL was found without them (3.6
	 * found from a timed wait). */
	if (unlikely(atomic_load_explicit(&need_switch_objects, memory_order_relaxed)) &&
	    !gt_tls.busy && gt_python_is_caller(__builtin_return_address(0))) {
		unsigned n = atomic_load(&gt_ngils);
		for (unsigned i = 0; i < n; i++) {
			if (!gt_gil_ids[i].switch_cond && gt_gil_ids[i].mutex != (void *)m) {
				gt_gil_register(gt_gil_ids[i].cond, gt_gil_ids[i].mutex, c, m,
						gt_gils[i].method, gt_gils[i].clock);
				atomic_store(&need_switch_objects, 0);
			}
		}
	}
	return gt_real.cond_wait(c, m);
}

/* ---- creation and destruction ------------------------------------------- */

/* create_gil: mutex_init(M), mutex_init(SM), cond_init(C), cond_init(SC),
 * all from the interpreter's code, in this order, in one thread. */
static GT_SLOW void init_mutex_seen(void *m)
{
	if (gt_tls.init_n == 1) {
		gt_tls.init_obj[1] = m;
		gt_tls.init_n = 2;
	} else {
		gt_tls.init_obj[0] = m;
		gt_tls.init_n = 1;
	}
}

static GT_SLOW void init_cond_seen(void *c, const pthread_condattr_t *attr)
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
	unsigned k;
	int sw;
	if (unlikely(gt_gil_find_mutex(m, &k, &sw)))
		gt_gil_forget(m);
	return gt_real.mutex_destroy(m);
}

GT_EXPORT int pthread_cond_destroy(pthread_cond_t *c)
{
	unsigned k;
	int sw;
	if (unlikely(gt_gil_find_cond(c, &k, &sw)))
		gt_gil_forget(c);
	return gt_real.cond_destroy(c);
}
