/* SPDX-License-Identifier: MIT */
/*
 * gt_gil.h — the GILs of this process and how they were identified.
 *
 * Hooked calls compare their mutex or condvar against this table, so the
 * lookup is a single range check for the common "not a GIL object" case and
 * a short scan otherwise. The identity part is written once before it is
 * published; the dynamic part is written only by a thread holding that GIL's
 * own mutex, which is what makes holder, waiter count and sequence numbers
 * consistent without any lock of ours.
 */
#ifndef GT_GIL_H
#define GT_GIL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>

#include "gt_event.h"
#include "gt_gil_state.h"
#include "gt_shm.h" /* enum gt_gil_method */

/* Read by every hooked call on a possible GIL object while another thread
 * may register or forget a GIL: atomics, loaded relaxed (plain loads on
 * x86). A slot's objects are stored before gt_ngils is released past it. */
struct gt_gil_id {
	_Atomic(void *) cond, mutex, switch_cond, switch_mutex;
};

struct gt_gil {
	/* Identity, written before the GIL is published. */
	uintptr_t base;      /* struct _gil_runtime_state, 0 if layout unknown */
	uintptr_t interp;    /* PyInterpreterState holding it (3.12+), or 0 */
	int64_t interp_id;   /* -1 if unknown */
	uint32_t method;     /* enum gt_gil_method bits */
	int clock;           /* clock of the condvar's timed waits */
	uint32_t interval_us; /* switch interval when registered, 0 if unknown */
	uint32_t check_interp; /* confirm interp->ceval.gil at the first acquire
				* (set only while last_holder is 0) */
	/* Dynamic, written only while holding the GIL's mutex; on its own
	 * cache line, which only the GIL's holder and waiters touch. */
	_Alignas(64) struct gt_sm_gil sm;
};

extern struct gt_gil_id gt_gil_ids[GT_MAX_GILS];
extern struct gt_gil gt_gils[GT_MAX_GILS];
extern _Atomic unsigned gt_ngils;
/* Address ranges [lo, lo + span) holding every GIL's switch mutex, and every
 * GIL's condvar: the only objects whose calls giltrace looks at. A call on
 * anything else costs one subtraction and one compare. Ranges only grow;
 * widen() in gt_gil.c stores span before the release store of lo. */
extern _Atomic uintptr_t gt_sm_lo, gt_sm_span, gt_cond_lo, gt_cond_span;

/* Is p in [lo, lo + span)? lo first, with acquire (pairs with widen()'s
 * release store of lo): a reader that sees a lowered lo sees the span that
 * goes with it, and one that sees the old lo sees an old or a grown span,
 * either of which covers every GIL it can meet. */
static inline int gt_gil_in_range(const void *p, _Atomic uintptr_t *lo, _Atomic uintptr_t *span)
{
	uintptr_t l = atomic_load_explicit(lo, memory_order_acquire);
	return (uintptr_t)p - l < atomic_load_explicit(span, memory_order_relaxed);
}

/* Is p a GIL's switch mutex? Sets *k to the GIL's slot. */
static inline int gt_gil_find_switch_mutex(const void *p, unsigned *k)
{
	if (__builtin_expect(!gt_gil_in_range(p, &gt_sm_lo, &gt_sm_span), 1))
		return 0;
	unsigned n = atomic_load_explicit(&gt_ngils, memory_order_acquire);
	for (unsigned i = 0; i < n; i++) {
		if (atomic_load_explicit(&gt_gil_ids[i].switch_mutex, memory_order_relaxed) == p) {
			*k = i;
			return 1;
		}
	}
	return 0;
}

/* Is p a GIL's condvar (not its switch condvar)? */
static inline int gt_gil_find_cond(const void *p, unsigned *k)
{
	if (__builtin_expect(!gt_gil_in_range(p, &gt_cond_lo, &gt_cond_span), 1))
		return 0;
	unsigned n = atomic_load_explicit(&gt_ngils, memory_order_acquire);
	for (unsigned i = 0; i < n; i++) {
		if (atomic_load_explicit(&gt_gil_ids[i].cond, memory_order_relaxed) == p) {
			*k = i;
			return 1;
		}
	}
	return 0;
}

/* GIL k's mutex M, or NULL once the GIL is gone. */
static inline pthread_mutex_t *gt_gil_mutex(unsigned k)
{
	return atomic_load_explicit(&gt_gil_ids[k].mutex, memory_order_relaxed);
}

/* Adds a GIL (always in a new slot: see gt_gil.c); returns its slot, or -1
 * when the table is full (said once, and counted in the trace). */
int gt_gil_register(void *cond, void *mutex, void *switch_cond, void *switch_mutex,
		    uint32_t method, int clock);
/* A GIL object is being destroyed: stop matching that GIL. Cheap when
 * obj is no GIL's. */
void gt_gil_forget(const void *obj);
/* This process's entry now exists: publish the GILs registered so far. */
void gt_gil_publish_all(void);
/* Every GIL gone (forked child before the interpreter re-creates it). */
void gt_gil_reset(void);
/* First acquire of a 3.12+ GIL: check interp->ceval.gil (under the mutex). */
void gt_gil_check_interp(struct gt_gil *g);

#endif
