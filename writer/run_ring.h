/* SPDX-License-Identifier: MIT */
/*
 * run_ring.h — `giltrace run --keep DURATION / --max-size SIZE`: a trace
 * that keeps only the last part of a long run (a service traced all day).
 *
 * The trace is written in parts, each into an unlinked temporary file
 * beside -o (nothing to clean up, whatever happens to giltrace). At a cut
 * the writer starts a new part (writer/gt_drain.h, gt_drain_cut()); each
 * part but the first has a head: what the part needs to begin a trace on
 * its own (descriptors, a start record saying when recording began, each
 * thread's sequence state and the slices it had open). Parts that the
 * limits no longer need are dropped as the run goes; at the end the trace
 * is the first kept part's head followed by the kept parts, written to -o.
 *
 * A cut comes every quarter of the duration kept, or when the newest part
 * has a quarter of the size allowed, so the trace covers between the
 * duration asked for and a quarter more, and does not outgrow the size
 * unless its newest part alone does (said). A full disk makes the oldest
 * parts go early (said) rather than lose the trace.
 */
#ifndef RUN_RING_H
#define RUN_RING_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "run_output.h"

struct run_ring_part {
	int head_fd, body_fd;     /* unlinked temporary files (-1: none) */
	uint64_t start_ns;        /* the cut that began it (BOOTTIME) */
	uint64_t head_bytes, body_bytes;
	uint64_t id;              /* parts are numbered from 0 as they begin */
};

struct run_ring {
	uint64_t keep_ns;         /* the duration to keep, 0: any */
	uint64_t max_bytes;       /* the size not to outgrow, 0: any */
	uint64_t part_ns, part_bytes; /* when the newest part is full */
	struct run_ring_part *parts; /* oldest first */
	size_t n, cap;
	size_t cur;               /* the part whose body is written */
	int to_head;              /* writes go to the newest part's head */
	int error;                /* errno of a failed write, sticky */
	char dir[PATH_MAX];       /* where the parts are */
	uint64_t run_start_ns;    /* when the first part began */
	uint64_t dropped_parts;   /* = the first kept part's id */
	int said;                 /* a failed cut was said */
	int said_full;            /* a full disk was said */
	uint64_t retry_ns;        /* after a failed cut: no other before */
};

/* The smallest size and duration accepted: a part must hold more than the
 * heads that repeat in each. */
#define RUN_RING_MIN_BYTES (1024 * 1024)
#define RUN_RING_MIN_NS 4000000000ull

/* Prepares the ring for output o (its parts go beside it, or in $TMPDIR
 * for a FIFO or a device) and creates the first part. 0, or -1 after
 * saying why. */
int run_ring_init(struct run_ring *r, const struct run_output *o, uint64_t keep_ns,
		  uint64_t max_bytes, uint64_t now_ns);
/* The encoders' sink while the ring is on (a struct run_ring *). */
int run_ring_write(void *ctx, const void *data, size_t len);
/* The part written now, and whether one is kept (after run_ring_emit(),
 * in the trace): a process whose last bytes went into a part not kept is
 * not in the trace. */
uint64_t run_ring_part_now(const struct run_ring *r);
int run_ring_kept(const struct run_ring *r, uint64_t part);
/* Bytes the trace would have if it ended now. */
uint64_t run_ring_size(const struct run_ring *r);
/* Is the newest part full? */
int run_ring_due(const struct run_ring *r, uint64_t now_ns);
/* A cut: run_ring_cut_begin() makes the new part (-1, said once, if it
 * cannot: the cut does not happen and is tried again a second later);
 * writes still go to the old part's body while every drain closes it
 * (GT_CUT_CLOSE), to the new part's head after run_ring_cut_head(), and to
 * its body after run_ring_cut_end(), which also drops the parts no longer
 * needed. */
int run_ring_cut_begin(struct run_ring *r, uint64_t now_ns);
void run_ring_cut_head(struct run_ring *r);
void run_ring_cut_end(struct run_ring *r, uint64_t now_ns);
/* The end at end_ns: the kept parts into sink s (-o), each closed once
 * copied. 0, or an errno (of reading the parts back, or s's: then s->error
 * is set too). */
int run_ring_emit(struct run_ring *r, struct run_sink *s, uint64_t end_ns);
void run_ring_free(struct run_ring *r);

#endif
