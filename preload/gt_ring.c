/* SPDX-License-Identifier: MIT */
/*
 * gt_ring.c — the rings every traced thread writes into (see gt_ring.h).
 *
 * One MAP_NORESERVE mapping (a pool, common/gt_shm.h) holds all rings,
 * reserved or joined when the library loads, so a thread's first event
 * never allocates: the kernel supplies pages on first touch, and the writer
 * gives them back when a thread exits, so resident memory follows the live
 * threads, not the run length.
 */
#define _GNU_SOURCE
#include "gt_ring.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "gt_clock.h"
#include "gt_config.h"
#include "gt_log.h"
#include "gt_python.h"
#include "gt_tracer.h"
#include "gt_wake.h"

struct gt_pool gt_pool;

/* ---- the mapping -------------------------------------------------------- */

static void use(void *base, size_t size, int shared)
{
	gt_pool.base = base;
	gt_pool.size = size;
	gt_pool.shared = shared;
	gt_pool.proc = -1;
	gt_shm_view(&gt_pool.v, base);
	gt_pool.qmask = gt_pool.v.hdr->ring_events / 4 - 1;
}

int gt_pool_init(unsigned nslots, unsigned ring_events)
{
	struct rlimit rl;
	if (!getrlimit(RLIMIT_AS, &rl) && rl.rlim_cur != RLIM_INFINITY) {
		uint32_t s = nslots, r = ring_events;
		if (gt_shm_fit(1, &s, &r, gt_shm_budget(rl.rlim_cur)))
			gt_log_error("an address-space limit (ulimit -v) leaves room for %u threads' "
				     "rings of %u events",
				     s, r);
		nslots = s, ring_events = r;
	}
	size_t size = gt_shm_size(1, nslots, ring_events);
	void *base = mmap(NULL, size, PROT_READ | PROT_WRITE,
			  MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (base == MAP_FAILED)
		return -errno;
	gt_shm_lay_out(base, 1, nslots, ring_events, gt_cfg.compress, gt_cfg.flush_ms);
	use(base, size, 0);
	return 0;
}

/* The session's memfd, reopened through giltrace's own descriptor table:
 * nothing of giltrace's is ever inherited by the program, so a program that
 * closes or reuses every descriptor cannot touch it, and a process that
 * giltrace did not start directly (a fork()ed or exec()ed descendant) can
 * still join. Needs the same user as giltrace (ptrace read access). */
int gt_pool_join(int pid, int fd, uint64_t id)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/fd/%d", pid, fd);
	int mfd = open(path, O_RDWR | O_CLOEXEC);
	if (mfd < 0)
		return errno == ENOENT ? -ESRCH : -errno; /* that giltrace is gone */
	struct stat st;
	long page = sysconf(_SC_PAGESIZE);
	int rc = -EINVAL;
	void *head = MAP_FAILED, *base = MAP_FAILED;
	if (fstat(mfd, &st) || st.st_size < page)
		goto out;
	head = mmap(NULL, (size_t)page, PROT_READ, MAP_SHARED, mfd, 0);
	if (head == MAP_FAILED)
		goto out;
	size_t size = ((const struct gt_shm_hdr *)head)->size;
	if (!gt_shm_valid(head, (size_t)st.st_size))
		goto out;
	if (((const struct gt_shm_hdr *)head)->session != id) {
		rc = -ESRCH; /* another run's, under a reused pid */
		goto out;
	}
	base = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, mfd, 0);
	if (base == MAP_FAILED) {
		rc = -errno;
		goto out;
	}
	use(base, size, 1);
	/* giltrace tells "no CPython ran" from "CPython made no GIL" by this. */
	atomic_fetch_add(&gt_pool.v.hdr->pythons, 1);
	rc = 0;
out:
	if (head != MAP_FAILED)
		munmap(head, (size_t)page);
	close(mfd);
	return rc;
}

void gt_pool_reset(void)
{
	if (gt_pool.shared) {
		/* The parent's threads still write into their rings and giltrace
		 * still drains them: the child claims an entry of its own. */
		gt_pool.proc = -1;
		return;
	}
	/* Our private copy: give back what the parent's threads used. */
	struct gt_shm_hdr *h = gt_pool.v.hdr;
	unsigned nslots = h->nslots, ring_events = h->ring_events;
	madvise(gt_pool.base, gt_pool.size, MADV_DONTNEED);
	gt_shm_lay_out(gt_pool.base, 1, nslots, ring_events, gt_cfg.compress, gt_cfg.flush_ms);
	use(gt_pool.base, gt_pool.size, 0);
}

struct gt_shm_proc *gt_pool_claim_proc(uint32_t flags)
{
	struct gt_shm_hdr *h = gt_pool.v.hdr;
	for (uint32_t i = 0; i < h->nprocs; i++) {
		struct gt_shm_proc *e = &gt_pool.v.procs[i];
		uint32_t expected = GT_PROC_FREE;
		if (atomic_load_explicit(&e->state, memory_order_relaxed) != GT_PROC_FREE ||
		    !atomic_compare_exchange_strong(&e->state, &expected, GT_PROC_CLAIMED))
			continue;
		/* The writer cleared the entry before freeing it. */
		e->pid = (uint32_t)gt_proc.pid;
		e->flags = flags;
		e->map_base = (uint64_t)(uintptr_t)gt_pool.base;
		uint32_t high = atomic_load(&h->proc_high);
		while (high < i + 1 && !atomic_compare_exchange_weak(&h->proc_high, &high, i + 1))
			;
		gt_pool.proc = (int)i;
		return e;
	}
	atomic_fetch_add(&h->procs_refused, 1);
	gt_log_error("more than %u traced process%s at once: this one is not traced "
		     "(see GILTRACE_MAX_PROCESSES)",
		     h->nprocs, h->nprocs == 1 ? "" : "es");
	return NULL;
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

void gt_ring_wake_writer(void) { gt_wake_nudge(gt_pool.v.hdr); }

void gt_ring_kick_writer(void) { gt_wake_kick(gt_pool.v.hdr); }

/* Takes slot i, whose state was `from` (CAS'd to CLAIMING by the caller). */
static int take(uint32_t i)
{
	struct gt_shm_hdr *h = gt_pool.v.hdr;
	struct gt_slot *s = &gt_pool.v.slots[i];
	if (!gt_tls.sm.tid)
		gt_tls.sm.tid = (uint32_t)syscall(SYS_gettid);
	s->tid = gt_tls.sm.tid;
	s->proc = (uint32_t)gt_pool.proc;
	s->exit_name[0] = 0;
	s->ident = (uint64_t)pthread_self();
	/* A thread starting is the first moment the interpreter surely exists
	 * (the main thread's first GIL may come before it does): tell the
	 * writer where sys.modules is, once. */
	struct gt_shm_proc *e = gt_pool_proc();
	if (e && !atomic_load_explicit(&e->py_modules_slot, memory_order_relaxed))
		atomic_store_explicit(&e->py_modules_slot, gt_python_modules_slot(),
				      memory_order_relaxed);
	/* Release: a writer that sees ACTIVE sees the owner. */
	atomic_store_explicit(&s->state, GT_SLOT_ACTIVE, memory_order_release);
	uint32_t high = atomic_load(&h->high);
	while (high < i + 1 && !atomic_compare_exchange_weak(&h->high, &high, i + 1))
		;
	gt_tls.ring = i + 1;
	/* A free slot was reset by the writer (head 0); a reused one goes on
	 * after its last thread's events. */
	gt_tls.head = atomic_load_explicit(&s->head, memory_order_relaxed);
	gt_tls.headp = &s->head;
	gt_tracer_bind_thread((void *)(uintptr_t)gt_tls.ring);
	/* A new thread: the writer looks for its Python name while it is
	 * young (many threads live for milliseconds), so it should know now. */
	gt_wake_nudge(h);
	return 1;
}

/* A ring for this thread: a free one, or else one of this process's whose
 * thread has exited, even if the writer has not drained it yet. Its events
 * and the exited thread's share the ring, one after the other (the exited
 * thread's last event says so, and every event carries its thread's id):
 * a burst of short-lived threads never waits for the writer and never finds
 * every ring taken by threads that are gone. */
static int claim(void)
{
	static atomic_flag warned = ATOMIC_FLAG_INIT;
	struct gt_shm_hdr *h = gt_pool.v.hdr;
	if (gt_pool.proc < 0)
		return 0; /* no entry: this process does not trace */
	for (uint32_t i = 0; i < h->nslots; i++) {
		struct gt_slot *s = &gt_pool.v.slots[i];
		uint32_t expected = GT_SLOT_FREE;
		if (atomic_load_explicit(&s->state, memory_order_relaxed) == GT_SLOT_FREE &&
		    atomic_compare_exchange_strong(&s->state, &expected, GT_SLOT_CLAIMING))
			return take(i);
	}
	uint32_t high = atomic_load(&h->high);
	for (uint32_t i = 0; i < high; i++) {
		struct gt_slot *s = &gt_pool.v.slots[i];
		uint32_t expected = GT_SLOT_EXITED;
		/* Acquire: the exited owner's proc is the one it wrote. */
		if (atomic_load_explicit(&s->state, memory_order_acquire) == GT_SLOT_EXITED &&
		    s->proc == (uint32_t)gt_pool.proc &&
		    atomic_compare_exchange_strong(&s->state, &expected, GT_SLOT_CLAIMING))
			return take(i);
	}
	gt_tls.no_slot = 1;
	if (!atomic_flag_test_and_set(&warned))
		gt_log_error("more than %u thread%s at once: events of further threads are "
			     "dropped (raise GILTRACE_MAX_THREADS)",
			     h->nslots, h->nslots == 1 ? "" : "s");
	return 0;
}

struct gt_event *gt_ring_slow(void)
{
	if (__builtin_expect(!gt_tls.ring, 0)) {
		int saved = errno;
		if (gt_tls.no_slot == GT_NO_SLOT_EXITED)
			return NULL; /* a hook after this thread's exit was recorded */
		int ok = !gt_tls.no_slot && claim();
		errno = saved;
		if (!ok) {
			struct gt_shm_proc *p = gt_pool_proc();
			if (p)
				atomic_fetch_add_explicit(&p->no_slot_events, 1, memory_order_relaxed);
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
	/* Only the writer frees the slot. When slots run short (bursts of
	 * short-lived threads), have it do so now rather than at its next
	 * period; otherwise leave it asleep: a syscall here makes every thread's
	 * exit slower, and CPython 3.12+ warns at fork() about threads that are
	 * joined but not yet gone. */
	struct gt_shm_hdr *h = gt_pool.v.hdr;
	if (atomic_load_explicit(&h->high, memory_order_relaxed) >= h->nslots - h->nslots / 4)
		gt_ring_wake_writer();
}
