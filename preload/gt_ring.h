/* SPDX-License-Identifier: MIT */
/*
 * gt_ring.h — recording into this thread's ring (the producer side).
 *
 * The rings live in a gt_shm mapping (common/gt_shm.h) that a writer drains.
 * A thread keeps a cursor into its ring in TLS: recording an event is a
 * compare of the cursor with a limit, the stores of the event, and the
 * release store of the new head count that publishes it (a plain mov on
 * x86). Everything else — the thread's first event claiming a ring, the
 * wrap-around, a full ring (the event is dropped and counted: the program
 * never waits), waking the writer every quarter ring — happens when the
 * cursor reaches the limit, out of line.
 */
#ifndef GT_RING_H
#define GT_RING_H

#include <stdatomic.h>
#include <stdint.h>

#include "gt_shm.h"
#include "gt_tls.h"

struct gt_pool {
	struct gt_shm v;  /* the mapping this process records into */
	void *base;       /* its address and size */
	size_t size;
	uint32_t qmask;   /* ring_events / 4 - 1: the writer is nudged each quarter */
	int shared;       /* a session's pool, drained by `giltrace run` */
	int proc;         /* this process's entry, -1 until it traces */
};

extern struct gt_pool gt_pool;

/* Claims a ring, wraps, or finds the ring full; returns where the event
 * goes, or NULL if it is lost (counted). */
struct gt_event *gt_ring_slow(void);

static inline struct gt_event *gt_ring_next(void)
{
	struct gt_event *e = gt_tls.cur;
	if (__builtin_expect(e == gt_tls.lim, 0))
		e = gt_ring_slow();
	return e;
}

/* Publishes the event gt_ring_next() returned. Pairs with the acquire load
 * of head in the writer's drain loop. */
static inline void gt_ring_commit(struct gt_event *e)
{
	gt_tls.cur = e + 1;
	atomic_store_explicit(gt_tls.headp, ++gt_tls.head, memory_order_release);
}

/* Does this thread's ring hold more than half a ring of undrained events? */
static inline int gt_ring_half_full(void)
{
	if (!gt_tls.ring)
		return 0;
	struct gt_slot *s = &gt_pool.v.slots[gt_tls.ring - 1];
	return gt_tls.head - atomic_load_explicit(&s->tail, memory_order_relaxed) >
	       (gt_pool.v.mask + 1) / 2;
}

/* Wakes the writer if it sleeps (it may be another process): a ring is
 * filling. Best effort, see common/gt_wake.h. */
void gt_ring_wake_writer(void);
/* Wakes it whatever it is doing: something it must not miss changed. */
void gt_ring_kick_writer(void);

/* The calling thread exits: no more events from it (the writer drains and
 * frees its ring). */
void gt_ring_thread_exit(void);

/* Pool management (gt_ring.c). A private pool: anonymous memory for this
 * process alone. 0 or -errno. */
int gt_pool_init(unsigned nslots, unsigned ring_events);
/* Joins the session pool of `giltrace run` (process pid, descriptor fd in
 * it, the run's id): maps it from /proc/<pid>/fd/<fd> and keeps no
 * descriptor. 0, -ESRCH if that run is over, or -errno. */
int gt_pool_join(int pid, int fd, uint64_t id);
/* In a forked child: forget the parent's rings. A session's pool stays
 * mapped (the child records into it as a process of its own); a private
 * one is emptied. */
void gt_pool_reset(void);
/* Tracing starts: claims this process's entry (flags: enum gt_proc_flags)
 * and returns it for the caller to fill in and publish, or NULL if every
 * entry is taken (said once). */
struct gt_shm_proc *gt_pool_claim_proc(uint32_t flags);
/* This process's entry, or NULL before it traces. */
static inline struct gt_shm_proc *gt_pool_proc(void)
{
	return gt_pool.proc >= 0 ? &gt_pool.v.procs[gt_pool.proc] : NULL;
}
/* Forget this thread's ring without touching it (forked child). */
void gt_ring_forget_thread(void);

#endif
