/* SPDX-License-Identifier: MIT */
/*
 * gt_ring.h — per-thread event rings (single producer, single consumer).
 *
 * The producer is the traced thread, the consumer the writer thread. head and
 * tail live on separate cache lines; the producer re-reads tail only when its
 * cached copy says the ring is full, so in steady state a recorded event costs
 * a few stores and one release store of head (a plain mov on x86). A full ring
 * drops the event and counts it: the program is never made to wait.
 */
#ifndef GT_RING_H
#define GT_RING_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "gt_event.h"

enum gt_slot_state {
	GT_SLOT_FREE = 0, /* available */
	GT_SLOT_ACTIVE,   /* owned by a live thread */
	GT_SLOT_EXITED,   /* its thread has exited; the writer drains and frees */
};

struct gt_slot {
	/* Producer's line. */
	_Alignas(64) _Atomic uint64_t head; /* events published */
	uint64_t tail_seen;                 /* producer's copy of tail */
	_Atomic uint64_t dropped;           /* events lost to a full ring */
	/* Consumer's line. */
	_Alignas(64) _Atomic uint64_t tail; /* events consumed */
	/* Control, changes once per thread. */
	_Alignas(64) _Atomic uint32_t state;
	uint32_t tid;
	char exit_name[16]; /* the thread's name when it exited */
	struct gt_event *ev;
};

struct gt_pool {
	struct gt_slot *slots;
	struct gt_event *storage;
	uint32_t nslots;
	uint32_t mask;        /* ring_events - 1 */
	uint32_t wake_mask;   /* nudge the writer every (wake_mask + 1) events */
	_Atomic uint32_t high; /* slots ever used: the writer scans [0, high) */
	_Atomic uint64_t no_slot_events; /* events of threads that found no ring */
};

extern struct gt_pool gt_pool;

/* Wakes the writer if it sleeps (gt_writer.c). */
void gt_writer_nudge(void);

/* Returns the next free event in s's ring, or NULL (and counts a drop). */
static inline struct gt_event *gt_ring_reserve(struct gt_slot *s)
{
	uint64_t h = atomic_load_explicit(&s->head, memory_order_relaxed);
	if (__builtin_expect(h - s->tail_seen > gt_pool.mask, 0)) {
		s->tail_seen = atomic_load_explicit(&s->tail, memory_order_acquire);
		if (h - s->tail_seen > gt_pool.mask) {
			atomic_store_explicit(&s->dropped,
					      atomic_load_explicit(&s->dropped, memory_order_relaxed) + 1,
					      memory_order_relaxed);
			return NULL;
		}
	}
	/* PREFETCH */ __builtin_prefetch(&s->ev[(h + 16) & gt_pool.mask], 1, 3);
	return &s->ev[h & gt_pool.mask];
}

/* Publishes the event gt_ring_reserve() returned. Pairs with the acquire
 * load of head in the writer's drain loop. */
static inline void gt_ring_commit(struct gt_slot *s)
{
	uint64_t h = atomic_load_explicit(&s->head, memory_order_relaxed) + 1;
	atomic_store_explicit(&s->head, h, memory_order_release);
	if (__builtin_expect((h & gt_pool.wake_mask) == 0, 0))
		gt_writer_nudge();
}

/* Pool management (gt_pool.c). */
int gt_pool_init(unsigned nslots, unsigned ring_events);
void gt_pool_reset(void); /* in a forked child: every slot free again */
struct gt_slot *gt_pool_claim(uint32_t tid);
void gt_pool_release(struct gt_slot *s); /* writer, after draining an exited slot */

#endif
