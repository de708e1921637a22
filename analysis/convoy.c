/* SPDX-License-Identifier: MIT */
/* convoy.c — see convoy.h and docs/metrics.md#convoy. */
#include "convoy.h"

static void close_run(struct gt_convoy_state *c, const struct gt_convoy_opts *o, uint32_t pid,
		      uint32_t tid, gt_convoy_emit emit, void *ctx)
{
	if (c->n && c->n >= o->run) {
		struct gt_convoy_episode ep = {pid, tid, c->culprit, c->n, c->delay, c->start, c->end};
		emit(ctx, &ep);
	}
	c->n = 0;
	c->culprit = 0;
	c->delay = c->start = c->end = 0;
}

void gt_convoy_hold(struct gt_convoy_state *c, const struct gt_convoy_opts *o, uint32_t pid,
		    uint32_t tid, uint64_t ts, uint64_t dur, int voluntary, uint64_t interval_ns,
		    gt_convoy_emit emit, void *ctx)
{
	/* A hold of a whole switch interval: the thread is computing, not
	 * waiting on I/O, and whatever run there was is over. (Coming back
	 * without a wait, when the GIL happened to be free, is not: a convoy's
	 * victim often makes several quick calls between two long waits.) */
	if (dur >= interval_ns)
		close_run(c, o, pid, tid, emit, ctx);
	c->last_release = voluntary ? ts + dur : 0;
}

void gt_convoy_wait(struct gt_convoy_state *c, const struct gt_convoy_opts *o, uint32_t pid,
		    uint32_t tid, uint64_t ts, uint64_t dur, uint64_t for_gil, uint32_t holder,
		    uint64_t interval_ns, gt_convoy_emit emit, void *ctx)
{
	int after_short_release = c->last_release && ts >= c->last_release &&
				  (double)(ts - c->last_release) <= o->io * (double)interval_ns;
	int delayed = after_short_release && holder && holder != tid &&
		      (double)for_gil >= o->delay * (double)interval_ns;
	if (!delayed) {
		/* A wait after a forced release is ordinary turn-taking; a short
		 * one after a blocking call means the GIL came back in time. */
		close_run(c, o, pid, tid, emit, ctx);
		return;
	}
	if (c->n && c->culprit != holder)
		close_run(c, o, pid, tid, emit, ctx);
	if (!c->n)
		c->start = ts;
	c->culprit = holder;
	c->n++;
	c->delay += for_gil;
	c->end = ts + dur;
}

void gt_convoy_end(struct gt_convoy_state *c, const struct gt_convoy_opts *o, uint32_t pid,
		   uint32_t tid, gt_convoy_emit emit, void *ctx)
{
	close_run(c, o, pid, tid, emit, ctx);
}
