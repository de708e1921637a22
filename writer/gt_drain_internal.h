/* SPDX-License-Identifier: MIT */
/*
 * gt_drain_internal.h — what gt_drain.c and gt_drain_proc.c share.
 */
#ifndef GT_DRAIN_INTERNAL_H
#define GT_DRAIN_INTERNAL_H

#include "gt_drain.h"

static inline struct gt_shm_proc *gt_drain_entry(const struct gt_drain *d)
{
	return &d->pool->v.procs[d->proc];
}

/* Thread tid's name from /proc ("" if gone). */
void gt_drain_read_comm(const struct gt_drain *d, uint32_t tid, char out[16]);
/* The process descriptor: its name and whole command line. */
void gt_drain_start_trace(struct gt_drain *d, uint64_t ts);
/* "GIL 0 (interp 0): ...; GIL 1 ..." for every GIL of the process. */
void gt_drain_describe_gils(const struct gt_drain *d, char *out, size_t size);

#endif
