/* SPDX-License-Identifier: MIT */
/*
 * gt_pool.c — the preallocated rings every traced thread writes into.
 *
 * One MAP_NORESERVE mapping holds all rings, reserved when the tracer starts,
 * so a thread's first event never allocates: the kernel supplies pages on
 * first touch, and the writer gives them back (MADV_DONTNEED) when a thread
 * exits, so resident memory follows the live threads, not the run length.
 */
#include "gt_ring.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

struct gt_pool gt_pool;

int gt_pool_init(unsigned nslots, unsigned ring_events)
{
	size_t slots_bytes = (size_t)nslots * sizeof(struct gt_slot);
	size_t ring_bytes = (size_t)ring_events * sizeof(struct gt_event);
	void *slots = mmap(NULL, slots_bytes, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (slots == MAP_FAILED)
		return -errno;
	void *storage = mmap(NULL, ring_bytes * nslots, PROT_READ | PROT_WRITE,
			     MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (storage == MAP_FAILED) {
		int err = errno;
		munmap(slots, slots_bytes);
		return -err;
	}
	gt_pool.slots = slots;
	gt_pool.storage = storage;
	gt_pool.nslots = nslots;
	gt_pool.mask = ring_events - 1;
	gt_pool.wake_mask = ring_events / 4 - 1;
	for (unsigned i = 0; i < nslots; i++)
		gt_pool.slots[i].ev = gt_pool.storage + (size_t)i * ring_events;
	atomic_store(&gt_pool.high, 0);
	return 0;
}

void gt_pool_reset(void)
{
	for (unsigned i = 0; i < gt_pool.nslots; i++) {
		struct gt_slot *s = &gt_pool.slots[i];
		atomic_store(&s->head, 0);
		atomic_store(&s->tail, 0);
		atomic_store(&s->dropped, 0);
		s->tail_seen = 0;
		atomic_store(&s->state, GT_SLOT_FREE);
	}
	atomic_store(&gt_pool.high, 0);
	atomic_store(&gt_pool.no_slot_events, 0);
}

struct gt_slot *gt_pool_claim(uint32_t tid)
{
	for (uint32_t i = 0; i < gt_pool.nslots; i++) {
		struct gt_slot *s = &gt_pool.slots[i];
		uint32_t expected = GT_SLOT_FREE;
		if (atomic_load_explicit(&s->state, memory_order_relaxed) != GT_SLOT_FREE ||
		    !atomic_compare_exchange_strong(&s->state, &expected, GT_SLOT_ACTIVE))
			continue;
		/* The writer reset head/tail before freeing the slot. */
		s->tid = tid;
		s->tail_seen = 0;
		s->exit_name[0] = 0;
		uint32_t high = atomic_load(&gt_pool.high);
		while (high < i + 1 && !atomic_compare_exchange_weak(&gt_pool.high, &high, i + 1))
			;
		return s;
	}
	return NULL;
}

void gt_pool_release(struct gt_slot *s)
{
	size_t ring_bytes = ((size_t)gt_pool.mask + 1) * sizeof(struct gt_event);
	madvise(s->ev, ring_bytes, MADV_DONTNEED);
	atomic_store_explicit(&s->head, 0, memory_order_relaxed);
	atomic_store_explicit(&s->tail, 0, memory_order_relaxed);
	atomic_store_explicit(&s->dropped, 0, memory_order_relaxed);
	/* Pairs with the CAS in gt_pool_claim(): a new owner sees the reset. */
	atomic_store_explicit(&s->state, GT_SLOT_FREE, memory_order_release);
}
