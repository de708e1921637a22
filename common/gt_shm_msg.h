/* SPDX-License-Identifier: MIT */
/*
 * gt_shm_msg.h — messages from recorders to the person running giltrace.
 *
 * Under `giltrace run`, a traced process never writes to its own stderr
 * (that stream is the program's): it appends its message to the pool's
 * header and the giltrace process prints it. Appending is lock-free and
 * allocation-free (a message can come from a signal handler or a forked
 * child): reserve space with one fetch_add, write the record, then publish
 * its length with a release store. The reader takes records in order and
 * stops at the first one not yet published.
 */
#ifndef GT_SHM_MSG_H
#define GT_SHM_MSG_H

#include <string.h>

#include "gt_shm.h"

static inline uint32_t gt_shm_msg_size(uint32_t len)
{
	return ((uint32_t)sizeof(struct gt_shm_msg) + len + 7u) & ~7u;
}

/* Appends text (len >= 1 bytes); 0, or -1 if the area is full (counted in
 * msg_lost, which the reader reports). */
static inline int gt_shm_msg_put(struct gt_shm_hdr *h, uint32_t pid, const char *text, uint32_t len)
{
	if (!len || len > GT_SHM_MSG_BYTES / 2)
		return -1;
	uint32_t need = gt_shm_msg_size(len);
	uint32_t at = atomic_fetch_add_explicit(&h->msg_end, need, memory_order_relaxed);
	if (at > GT_SHM_MSG_BYTES - need) {
		atomic_fetch_add_explicit(&h->msg_lost, 1, memory_order_relaxed);
		return -1;
	}
	struct gt_shm_msg *m = (struct gt_shm_msg *)(void *)(h->msgs + at);
	m->pid = pid;
	memcpy(m->text, text, len);
	/* Release: pairs with the acquire in gt_shm_msg_next(). */
	atomic_store_explicit(&m->ready, len, memory_order_release);
	return 0;
}

/* The message at *cursor if it is complete (advancing *cursor past it), or
 * NULL. *len is its length. */
static inline const struct gt_shm_msg *gt_shm_msg_next(const struct gt_shm_hdr *h,
							uint32_t *cursor, uint32_t *len)
{
	uint32_t end = atomic_load_explicit(&h->msg_end, memory_order_relaxed);
	uint32_t at = *cursor;
	if (end > GT_SHM_MSG_BYTES)
		end = GT_SHM_MSG_BYTES;
	if (at >= end || end - at < sizeof(struct gt_shm_msg))
		return NULL;
	const struct gt_shm_msg *m = (const struct gt_shm_msg *)(const void *)(h->msgs + at);
	uint32_t n = atomic_load_explicit(&m->ready, memory_order_acquire);
	if (!n || gt_shm_msg_size(n) > end - at)
		return NULL;
	*cursor = at + gt_shm_msg_size(n);
	*len = n;
	return m;
}

#endif
