/* SPDX-License-Identifier: MIT */
/*
 * gt_ring.c — the rings every traced thread writes into (see gt_ring.h).
 *
 * One MAP_NORESERVE mapping holds all rings, reserved when the library
 * loads, so a thread's first event never allocates: the kernel supplies
 * pages on first touch, and the writer gives them back when a thread exits,
 * so resident memory follows the live threads, not the run length.
 */
#define _GNU_SOURCE
#include "gt_ring.h"

#include <errno.h>
#include <linux/futex.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <sys/prctl.h>

#include "gt_clock.h"
#include "gt_log.h"
#include "gt_tracer.h"

struct gt_pool gt_pool;

/* ---- the mapping -------------------------------------------------------- */


static void lay_out(unsigned nslots, unsigned ring_events)
{
	struct gt_shm_hdr *h = gt_pool.base;
	/* Fresh memory is zero: every slot FREE, every count 0. */
	h->nslots = nslots;
	h->ring_events = ring_events;
	h->pid = (uint32_t)getpid();
	h->size = gt_pool.size;
	h->version = GT_SHM_VERSION;
	gt_shm_view(&gt_pool.v, gt_pool.base);
	gt_pool.qmask = ring_events / 4 - 1;
	atomic_thread_fence(memory_order_release);
	h->magic = GT_SHM_MAGIC; /* the writer maps everything once it sees this */
	gt_ring_wake_writer();
}

int gt_pool_init(unsigned nslots, unsigned ring_events, int fd)
{
	size_t size = gt_shm_size(nslots, ring_events);
	void *base;
	if (fd >= 0) {
		if (ftruncate(fd, (off_t)size))
			return -errno;
		base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, fd, 0);
	} else {
		base = mmap(NULL, size, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	}
	if (base == MAP_FAILED)
		return -errno;
	gt_pool.base = base;
	gt_pool.size = size;
	gt_pool.shared = fd >= 0;
	lay_out(nslots, ring_events);
	return 0;
}

int gt_pool_reset(void)
{
	struct gt_shm_hdr *h = gt_pool.v.hdr;
	unsigned nslots = h->nslots, ring_events = h->ring_events;
	if (gt_pool.shared) {
		/* The parent's threads still write into the shared rings and
		 * the giltrace process still drains them: leave them alone. */
		munmap(gt_pool.base, gt_pool.size);
		memset(&gt_pool, 0, sizeof(gt_pool));
		return gt_pool_init(nslots, ring_events, -1);
	}
	/* Our private copy: give back what the parent's threads used. */
	madvise(gt_pool.base, gt_pool.size, MADV_DONTNEED);
	lay_out(nslots, ring_events);
	return 0;
}

void gt_ring_forget_thread(void)
{
	gt_tls.cur = gt_tls.lim = NULL;
	gt_tls.head = 0;
	gt_tls.nudged = 0;
	gt_tls.headp = NULL;
	gt_tls.ring = 0;
	gt_tls.no_slot = 0;
}

/* ---- the slow path ------------------------------------------------------ */

void gt_ring_wake_writer(void)
{
	struct gt_shm_hdr *h = gt_pool.v.hdr;
	if (atomic_load_explicit(&h->sleeping, memory_order_relaxed)) {
		atomic_fetch_add(&h->wake, 1);
		/* Not FUTEX_PRIVATE: the writer may be another process. */
		syscall(SYS_futex, (uint32_t *)&h->wake, FUTEX_WAKE, 1, NULL, NULL, 0);
	}
}

static int claim(void)
{
	static atomic_flag warned = ATOMIC_FLAG_INIT;
	struct gt_shm_hdr *h = gt_pool.v.hdr;
	for (uint32_t i = 0; i < h->nslots; i++) {
		struct gt_slot *s = &gt_pool.v.slots[i];
		uint32_t expected = GT_SLOT_FREE;
		if (atomic_load_explicit(&s->state, memory_order_relaxed) != GT_SLOT_FREE ||
		    !atomic_compare_exchange_strong(&s->state, &expected, GT_SLOT_ACTIVE))
			continue;
		/* The writer reset head and tail before freeing the slot. */
		if (!gt_tls.tid)
			gt_tls.tid = (uint32_t)syscall(SYS_gettid);
		s->tid = gt_tls.tid;
		s->exit_name[0] = 0;
		uint32_t high = atomic_load(&h->high);
		while (high < i + 1 && !atomic_compare_exchange_weak(&h->high, &high, i + 1))
			;
		gt_tls.ring = i + 1;
		gt_tls.head = 0;
		gt_tls.headp = &s->head;
		gt_tracer_bind_thread((void *)(uintptr_t)gt_tls.ring);
		return 1;
	}
	gt_tls.no_slot = 1;
	if (!atomic_flag_test_and_set(&warned))
		gt_log_error("more than %u threads at once: events of further threads are "
			     "dropped (raise GILTRACE_MAX_THREADS)",
			     h->nslots);
	return 0;
}

struct gt_event *gt_ring_slow(void)
{
	struct gt_shm_hdr *h = gt_pool.v.hdr;
	if (__builtin_expect(!gt_tls.ring, 0)) {
		int saved = errno;
		if (gt_tls.no_slot == GT_NO_SLOT_EXITED)
			return NULL; /* a hook after this thread's exit was recorded */
		int ok = !gt_tls.no_slot && claim();
		errno = saved;
		if (!ok) {
			atomic_fetch_add_explicit(&h->no_slot_events, 1, memory_order_relaxed);
			return NULL;
		}
	}
	uint32_t i = gt_tls.ring - 1;
	struct gt_slot *s = &gt_pool.v.slots[i];
	uint64_t head = gt_tls.head;
	if (head && !(head & gt_pool.qmask) && gt_tls.nudged != head) {
		/* Another quarter of the ring is full. Once: while the ring is
		 * full, every event comes here with the same head. */
		gt_tls.nudged = head;
		gt_ring_wake_writer();
	}
	uint64_t tail = atomic_load_explicit(&s->tail, memory_order_acquire);
	uint64_t stop = (head | gt_pool.qmask) + 1; /* next quarter boundary */
	uint64_t full = tail + gt_pool.v.mask + 1;
	if (full < stop)
		stop = full;
	struct gt_event *e = gt_shm_ring(&gt_pool.v, i) + (head & gt_pool.v.mask);
	gt_tls.cur = e;
	gt_tls.lim = e + (stop - head);
	/* The hooks' plain paths read the TSC themselves: without a TSC, every
	 * event comes through here and takes the general path. */
	if (!gt_clock_use_tsc)
		gt_tls.lim = e + 1;
	if (stop == head) {
		/* Full: lose this event. cur == lim, so the next one looks again. */
		gt_tls.lim = e;
		atomic_store_explicit(&s->dropped,
				      atomic_load_explicit(&s->dropped, memory_order_relaxed) + 1,
				      memory_order_relaxed);
		return NULL;
	}
	return e;
}

void gt_ring_thread_exit(void)
{
	if (!gt_tls.ring)
		return;
	struct gt_slot *s = &gt_pool.v.slots[gt_tls.ring - 1];
	gt_ring_forget_thread();
	gt_tls.no_slot = GT_NO_SLOT_EXITED;
	prctl(PR_GET_NAME, s->exit_name, 0, 0, 0);
	/* Release: the writer that sees EXITED sees every event before. */
	atomic_store_explicit(&s->state, GT_SLOT_EXITED, memory_order_release);
}
