/* SPDX-License-Identifier: MIT */
/*
 * convoy.h — finding convoys in a thread's GIL history (docs/metrics.md#convoy).
 *
 * A convoy: a thread that gives the GIL up for a short blocking call (I/O,
 * a sleep, a lock) and, each time it comes back, has to wait about a switch
 * interval or more while another thread holds the GIL — that thread never
 * lets go voluntarily, so every re-acquisition waits for a forced switch. An
 * episode is a run of at least `run` such delayed re-acquisitions with the
 * same holder (the culprit), with no wait in between that was not delayed
 * and no hold of a whole switch interval (the thread computing). The detector sees one thread's hold and
 * wait slices in their order and keeps only that thread's current run.
 */
#ifndef CONVOY_H
#define CONVOY_H

#include <stddef.h>
#include <stdint.h>

struct gt_convoy_opts {
	double delay; /* a re-acquisition is delayed if its wait >= delay x interval */
	double io;    /* ... and it follows a voluntary release by <= io x interval */
	unsigned run; /* delayed re-acquisitions in a row that make an episode */
};

#define GT_CONVOY_DEFAULTS {0.5, 1.0, 3}

/* One thread's state. Zero-initialised. */
struct gt_convoy_state {
	uint64_t last_release; /* end of its last hold if that was voluntary, else 0 */
	uint32_t culprit;      /* the current run: holder, length, time */
	uint32_t n;
	uint64_t delay, start, end;
};

/* An episode, as the detector hands it out. */
struct gt_convoy_episode {
	uint32_t pid, victim, culprit;
	uint32_t delayed;  /* delayed re-acquisitions */
	uint64_t delay_ns; /* their waits (without their CPU waits), summed */
	uint64_t ts, end;  /* first wait's start, last wait's end */
};

typedef void (*gt_convoy_emit)(void *ctx, const struct gt_convoy_episode *ep);

/* The thread's hold [ts, ts+dur) ended; voluntary says how. */
void gt_convoy_hold(struct gt_convoy_state *c, const struct gt_convoy_opts *o, uint32_t pid,
		    uint32_t tid, uint64_t ts, uint64_t dur, int voluntary, uint64_t interval_ns,
		    gt_convoy_emit emit, void *ctx);
/* The thread waited [ts, ts+dur) while holder held the GIL, for_gil of it
 * for the GIL itself (its CPU waits left out, docs/metrics.md: a thread
 * kept off the CPU by other work is not in a convoy); interval_ns is that
 * GIL's switch interval. */
void gt_convoy_wait(struct gt_convoy_state *c, const struct gt_convoy_opts *o, uint32_t pid,
		    uint32_t tid, uint64_t ts, uint64_t dur, uint64_t for_gil, uint32_t holder,
		    uint64_t interval_ns, gt_convoy_emit emit, void *ctx);
/* End of the trace: a run still going counts if long enough. */
void gt_convoy_end(struct gt_convoy_state *c, const struct gt_convoy_opts *o, uint32_t pid,
		   uint32_t tid, gt_convoy_emit emit, void *ctx);

#endif
