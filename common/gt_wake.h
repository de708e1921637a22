/* SPDX-License-Identifier: MIT */
/*
 * gt_wake.h — the writer's wake-up, both sides of it, in one place.
 *
 * A pool's header holds a futex word (wake) and a flag (sleeping). The
 * writer (a thread of the traced process, or `giltrace run`: the word is
 * shared across processes, so the futex calls are not FUTEX_PRIVATE)
 * samples wake before a pass over the rings, then sleeps with a timeout
 * unless wake has moved since. Recorders have two ways to wake it:
 *
 *  - gt_wake_nudge(): a ring is filling. Cheap enough for the recording
 *    path's slow branch: only a syscall if the writer says it sleeps. The
 *    flag is read relaxed, so a nudge can miss a writer that is just about
 *    to sleep; it then wakes at its timeout (GILTRACE_FLUSH_MS) instead,
 *    and a quarter of a ring is room enough for that.
 *  - gt_wake_kick(): something the writer must not sleep through (a process
 *    finished, exec()ed, a message). Always bumps the word, so the writer's
 *    FUTEX_WAIT, which compares it with the value sampled before its pass,
 *    returns at once if the kick came after that sample.
 *
 * Both keep errno: they are called from the program's own pthread calls.
 */
#ifndef GT_WAKE_H
#define GT_WAKE_H

#include <errno.h>
#include <linux/futex.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "gt_shm.h"

static inline void gt_wake_kick(struct gt_shm_hdr *h)
{
	int saved = errno;
	atomic_fetch_add(&h->wake, 1);
	syscall(SYS_futex, (uint32_t *)&h->wake, FUTEX_WAKE, 1, NULL, NULL, 0);
	errno = saved;
}

static inline void gt_wake_nudge(struct gt_shm_hdr *h)
{
	if (atomic_load_explicit(&h->sleeping, memory_order_relaxed))
		gt_wake_kick(h);
}

/* The writer: the value to pass to gt_wake_sleep(), taken before a pass. */
static inline uint32_t gt_wake_sample(const struct gt_shm_hdr *h)
{
	return atomic_load(&h->wake);
}

/* The writer sleeps until kicked (or nudged) after sample, or ms pass. */
static inline void gt_wake_sleep(struct gt_shm_hdr *h, uint32_t sample, unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	atomic_store(&h->sleeping, 1);
	syscall(SYS_futex, (uint32_t *)&h->wake, FUTEX_WAIT, sample, &ts, NULL, 0);
	atomic_store(&h->sleeping, 0);
}

#endif
