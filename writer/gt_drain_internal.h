/* SPDX-License-Identifier: MIT */
/*
 * gt_drain_internal.h — what the drain's files (gt_drain.c, gt_drain_proc.c,
 * gt_drain_names.c, gt_drain_interps.c) share.
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
/* The thread's OS name is os_name: its track is named after it unless it
 * has a Python name. */
void gt_drain_set_os_name(struct gt_drain *d, struct gt_drain_thread *w, const char *os_name,
			  uint64_t ts);
/* Looks up the Python names of the process's threads, when it is time to
 * (gt_drain_names.c). 1 if a thread waits for its name: come back within
 * GT_DRAIN_SOON_MS. */
int gt_drain_poll_names(struct gt_drain *d, uint64_t now_ns);
/* A read_mem (model/gt_cpython.h) of the process's memory, ctx the drain:
 * process_vm_readv, which fails instead of faulting on memory freed
 * meanwhile. */
int gt_drain_read_mem(void *ctx, uint64_t addr, void *buf, size_t len);
/* Reads the process's list of interpreters, when it is time to
 * (gt_drain_interps.c), and says in the trace under which GIL each new one
 * runs. 1 if it has subinterpreters: come back within GT_DRAIN_SOON_MS. */
int gt_drain_poll_interps(struct gt_drain *d, uint64_t now_ns);
/* The process's start record (final 0; run_start: where the recording
 * began, for a kept part) or end record (final 1), at ts. */
void gt_drain_write_meta(struct gt_drain *d, uint64_t ts, int final, uint64_t run_start);
/* "GIL 0 (interp 0): ...; GIL 1 ..." for every GIL of the process. */
void gt_drain_describe_gils(const struct gt_drain *d, char *out, size_t size);

#endif
