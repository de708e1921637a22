/* SPDX-License-Identifier: MIT */
/*
 * gt_gil.c — registering GILs and cross-checking how they were found.
 *
 * The primary evidence is behavioural (create_gil's four init calls, or a
 * timed wait, made from the interpreter's own code); the layout module
 * (model/gt_cpython.h) then predicts where that GIL should be and records
 * whether it agrees. Prediction never overrides observation: a build with an unknown
 * layout is still traced, only less confirmed.
 */
#include "gt_gil.h"

#include <stdio.h>
#include <string.h>

#include "gt_drain.h"
#include "gt_log.h"
#include "gt_python.h"
#include "gt_ring.h"

struct gt_gil_id gt_gil_ids[GT_MAX_GILS];
struct gt_gil gt_gils[GT_MAX_GILS];
_Atomic unsigned gt_ngils;
/* Empty ranges: no pointer matches until a GIL is registered. */
_Atomic uintptr_t gt_sm_lo = UINTPTR_MAX, gt_sm_span, gt_cond_lo = UINTPTR_MAX, gt_cond_span;

static atomic_flag reg_lock = ATOMIC_FLAG_INIT;
static int untraced_said; /* the cap was reported (under reg_lock) */

/* A GIL's identity, for the writer (which may be another process). Before
 * this process has its entry (the first GIL is registered just before
 * tracing starts), gt_gil_publish_all() does it. */
static void publish(unsigned k)
{
	struct gt_shm_proc *p = gt_pool_proc();
	if (!p)
		return;
	p->gils[k] = (struct gt_shm_gil){gt_gils[k].method, gt_gils[k].interval_us,
					 gt_gils[k].interp_id, gt_gils[k].base};
	unsigned n = atomic_load_explicit(&p->ngils, memory_order_relaxed);
	if (k >= n) /* release: pairs with the writer's acquire */
		atomic_store_explicit(&p->ngils, k + 1, memory_order_release);
}

void gt_gil_publish_all(void)
{
	while (atomic_flag_test_and_set_explicit(&reg_lock, memory_order_acquire))
		;
	unsigned n = atomic_load_explicit(&gt_ngils, memory_order_acquire);
	for (unsigned k = 0; k < n; k++)
		publish(k);
	atomic_flag_clear_explicit(&reg_lock, memory_order_release);
}

/* Ranges only ever grow, and only here (under reg_lock). Hooks on other
 * threads read them meanwhile (gt_gil_in_range()): span first, so that with
 * the old lo the range still covers everything it did, then lo with release,
 * so that a reader seeing the new lo sees the new span. */
static void widen(_Atomic uintptr_t *lo, _Atomic uintptr_t *span, const void *p)
{
	uintptr_t a = (uintptr_t)p;
	uintptr_t l = atomic_load_explicit(lo, memory_order_relaxed);
	uintptr_t s = atomic_load_explicit(span, memory_order_relaxed);
	uintptr_t hi = s ? l + s : 0;
	if (a < l)
		l = a;
	if (a + 1 > hi)
		hi = a + 1;
	atomic_store_explicit(span, hi - l, memory_order_relaxed);
	atomic_store_explicit(lo, l, memory_order_release);
}

static void set_id(struct gt_gil_id *id, void *cond, void *mutex, void *sc, void *sm)
{
	atomic_store_explicit(&id->cond, cond, memory_order_relaxed);
	atomic_store_explicit(&id->mutex, mutex, memory_order_relaxed);
	atomic_store_explicit(&id->switch_cond, sc, memory_order_relaxed);
	atomic_store_explicit(&id->switch_mutex, sm, memory_order_relaxed);
}

/* What the layout module (model/gt_cpython.h) says of a GIL whose objects
 * were seen at these addresses. */
static void cross_check(struct gt_gil *g, void *cond, void *mutex, void *sc, void *sm)
{
	struct gt_cpy_gil c;
	gt_cpy_identify(&gt_py_mem, &gt_py.build, gt_py.have_layout ? &gt_py.layout : NULL,
			(uintptr_t)cond, (uintptr_t)mutex, (uintptr_t)sc, (uintptr_t)sm, &c);
	g->method |= c.method;
	g->base = (uintptr_t)c.base;
	g->interp = (uintptr_t)c.interp;
	g->interp_id = c.interp_id;
	g->interval_us = c.interval_us;
	g->check_interp = c.interp != 0;
}

int gt_gil_register(void *cond, void *mutex, void *switch_cond, void *switch_mutex,
		    uint32_t method, int clock)
{
	while (atomic_flag_test_and_set_explicit(&reg_lock, memory_order_acquire))
		;
	int k = -1;
	unsigned n = atomic_load_explicit(&gt_ngils, memory_order_relaxed);
	/* A GIL created where an earlier one was is a new GIL: CPython frees
	 * a subinterpreter's GIL with its interpreter without destroying the
	 * pthread objects, and the next interpreter often lands at the same
	 * address. It gets a slot of its own (its tracks, its interpreter's
	 * label); the old slot stops matching, and its events already in the
	 * rings keep their meaning. Slots are never reused within a process
	 * image (a forked child starts over). */
	for (unsigned i = 0; i < n; i++)
		if (atomic_load_explicit(&gt_gil_ids[i].cond, memory_order_relaxed) == cond) {
			gt_log_debug("GIL %u replaced by a new GIL at the same address", i);
			set_id(&gt_gil_ids[i], NULL, NULL, NULL, NULL);
		}
	if (n < GT_MAX_GILS) {
		k = (int)n;
	} else {
		struct gt_shm_proc *p = gt_pool_proc();
		if (p)
			atomic_fetch_add_explicit(&p->gils_untraced, 1, memory_order_relaxed);
		if (!untraced_said) {
			untraced_said = 1;
			gt_log_error("more than %d GILs in this process: GILs created after the "
				     "%dth are not traced (their count is in the trace)",
				     GT_MAX_GILS, GT_MAX_GILS);
		}
	}
	if (k >= 0) {
		struct gt_gil *g = &gt_gils[k];
		memset(g, 0, sizeof(*g));
		g->interp_id = -1;
		g->method = method;
		g->clock = clock;
		cross_check(g, cond, mutex, switch_cond, switch_mutex);
		set_id(&gt_gil_ids[k], cond, mutex, switch_cond, switch_mutex);
		widen(&gt_cond_lo, &gt_cond_span, cond);
		widen(&gt_sm_lo, &gt_sm_span, switch_mutex);
		publish((unsigned)k);
		/* publish: pairs with the acquire in find */
		atomic_store_explicit(&gt_ngils, n + 1, memory_order_release);
		char how[GT_METHOD_TEXT_MAX];
		gt_drain_describe_method(g->method, how, sizeof(how));
		gt_log_debug("GIL %d: cond %p mutex %p switch %p/%p interp %lld: %s", k, cond,
			     mutex, switch_cond, switch_mutex, (long long)g->interp_id, how);
	}
	atomic_flag_clear_explicit(&reg_lock, memory_order_release);
	return k;
}

void gt_gil_forget(const void *obj)
{
	unsigned n = atomic_load_explicit(&gt_ngils, memory_order_acquire);
	for (unsigned i = 0; i < n; i++) {
		struct gt_gil_id *id = &gt_gil_ids[i];
		if (obj && (atomic_load(&id->cond) == obj || atomic_load(&id->mutex) == obj ||
			    atomic_load(&id->switch_cond) == obj ||
			    atomic_load(&id->switch_mutex) == obj)) {
			gt_log_debug("GIL %u destroyed", i);
			/* The memory may be reused for another lock: stop
			 * matching it. The slot stays, so its events and tracks
			 * keep their meaning. */
			set_id(id, NULL, NULL, NULL, NULL);
		}
	}
}

void gt_gil_reset(void)
{
	atomic_store(&gt_ngils, 0);
	untraced_said = 0;
	/* A forked child's only thread: nothing reads these concurrently. */
	for (unsigned i = 0; i < GT_MAX_GILS; i++)
		set_id(&gt_gil_ids[i], NULL, NULL, NULL, NULL);
	atomic_store(&gt_sm_lo, UINTPTR_MAX);
	atomic_store(&gt_cond_lo, UINTPTR_MAX);
	atomic_store(&gt_sm_span, 0);
	atomic_store(&gt_cond_span, 0);
}

void gt_gil_check_interp(struct gt_gil *g)
{
	g->check_interp = 0;
	struct gt_cpy_gil c = {.base = g->base, .interp = g->interp, .interp_id = g->interp_id};
	g->method |= gt_cpy_check_interp(&gt_py_mem, gt_py.have_layout ? &gt_py.layout : NULL, &c);
	publish((unsigned)(g - gt_gils));
}
