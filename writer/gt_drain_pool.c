/* SPDX-License-Identifier: MIT */
/*
 * gt_drain_pool.c — the consumer's side of a pool (see gt_drain.h): the
 * encoder state of every ring slot, and giving slots and process entries
 * back once nothing can write into them any more.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "gt_drain.h"

int gt_drain_pool_init(struct gt_drain_pool *p, const struct gt_shm *v)
{
	p->v = *v;
	p->seq_ids = 1;
	p->threads = calloc(v->hdr->nslots ? v->hdr->nslots : 1, sizeof(*p->threads));
	return p->threads ? 0 : -ENOMEM;
}

void gt_drain_pool_free(struct gt_drain_pool *p)
{
	free(p->threads);
	p->threads = NULL;
}

void gt_drain_release_ring(struct gt_event *ring, uint32_t ring_events)
{
	size_t bytes = (size_t)ring_events * sizeof(struct gt_event);
	/* Shared memory (a memfd) keeps its pages unless they are removed;
	 * private memory takes DONTNEED. */
	if (madvise(ring, bytes, MADV_REMOVE))
		madvise(ring, bytes, MADV_DONTNEED);
}

void gt_drain_pool_free_slot(struct gt_drain_pool *p, uint32_t i)
{
	struct gt_slot *s = &p->v.slots[i];
	memset(&p->threads[i], 0, sizeof(p->threads[i]));
	gt_drain_release_ring(gt_shm_ring(&p->v, i), p->v.mask + 1);
	atomic_store_explicit(&s->head, 0, memory_order_relaxed);
	atomic_store_explicit(&s->tail, 0, memory_order_relaxed);
	atomic_store_explicit(&s->dropped, 0, memory_order_relaxed);
	/* Release: pairs with the claiming CAS; a new owner sees the reset. */
	atomic_store_explicit(&s->state, GT_SLOT_FREE, memory_order_release);
}

void gt_drain_pool_release_proc(struct gt_drain_pool *p, uint32_t proc)
{
	uint32_t high = atomic_load_explicit(&p->v.hdr->high, memory_order_acquire);
	for (uint32_t i = 0; i < high; i++) {
		struct gt_slot *s = &p->v.slots[i];
		uint32_t st = atomic_load_explicit(&s->state, memory_order_acquire);
		if ((st == GT_SLOT_ACTIVE || st == GT_SLOT_EXITED) && s->proc == proc)
			gt_drain_pool_free_slot(p, i);
	}
	struct gt_shm_proc *e = &p->v.procs[proc];
	memset((char *)e + sizeof(e->state), 0, sizeof(*e) - sizeof(e->state));
	/* Release: a recorder claiming the entry sees it cleared. */
	atomic_store_explicit(&e->state, GT_PROC_FREE, memory_order_release);
}

