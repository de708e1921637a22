/* SPDX-License-Identifier: MIT */
/*
 * gt_drain_interps.c — which interpreters run under which GIL.
 *
 * A subinterpreter made with its own GIL (3.12+) is seen when its GIL is:
 * the GIL record carries its id. One made with the legacy configuration
 * shares the main interpreter's GIL and creates nothing the hooks could
 * see, so the writer reads the process's list of interpreters
 * (_PyRuntime.interpreters, model/gt_cpython.h) and says once for each
 * interpreter that runs under another's GIL, in an "interpreter" record,
 * which GIL that is.
 *
 * The list is read every INTERPS_POLL_NS, at once when the process has a
 * new thread (subinterpreters usually come with one), and every
 * GT_DRAIN_SOON_MS while there are subinterpreters. An interpreter that
 * lives and dies between two readings is not seen: docs/trace-format.md
 * says so.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "gt_drain_internal.h"

#define INTERPS_POLL_NS 100000000ull
#define INTERPS_SOON_NS (GT_DRAIN_SOON_MS * 1000000ull)

/* Was interpreter id said to run under slot before? If not, remembers
 * it and returns 0; -1 if there is no memory to remember it (then it is not
 * said now either, but at a later reading). Keyed by both: an embedding
 * program that finalizes and initializes Python again starts its ids at 0
 * again, under a new main GIL. */
static int said(struct gt_drain *d, int64_t id, unsigned slot)
{
	size_t at = 0;
	while (at < d->ninterps && (d->interps[at].id < id ||
				    (d->interps[at].id == id && d->interps[at].slot < slot)))
		at++;
	if (at < d->ninterps && d->interps[at].id == id && d->interps[at].slot == slot)
		return 1;
	if (d->ninterps == d->interps_cap) {
		size_t cap = d->interps_cap ? d->interps_cap * 2 : 8;
		struct gt_drain_interp *bigger = realloc(d->interps, cap * sizeof(*bigger));
		if (!bigger)
			return -1;
		d->interps = bigger;
		d->interps_cap = cap;
	}
	memmove(d->interps + at + 1, d->interps + at, (d->ninterps - at) * sizeof(*d->interps));
	d->interps[at] = (struct gt_drain_interp){id, slot};
	d->ninterps++;
	return 0;
}

/* The slot of the GIL interpreter i runs under: the GIL at that address
 * whose owner (the listed interpreter it is embedded in) has the slot's
 * interpreter id. A GIL freed with its interpreter and another made at the
 * same address are two slots, and the new one may not be declared yet: -1
 * then (and for a GIL not traced), and the list is asked again later. */
static int slot_of(const struct gt_drain *d, const struct gt_cpy_interp *list, int n, int i)
{
	const struct gt_shm_proc *e = gt_drain_entry(d);
	uint64_t base = list[i].gil;
	int owner = -1;
	for (int j = 0; j < n && owner < 0; j++)
		if (list[j].addr + e->interps.gil == base)
			owner = j;
	if (!base || owner < 0)
		return -1;
	for (unsigned k = d->gils_declared; k-- > 0;)
		if (e->gils[k].base == base && e->gils[k].interp_id == list[owner].id)
			return (int)k;
	return -1;
}

int gt_drain_poll_interps(struct gt_drain *d, uint64_t now_ns)
{
	const struct gt_shm_proc *e = gt_drain_entry(d);
	if (d->interps_off || !e->interps.head || !d->gils_declared)
		return 0;
	int subs = d->walk_n > 1;
	uint64_t pace = subs ? INTERPS_SOON_NS : INTERPS_POLL_NS;
	if (d->interps_ns && now_ns < d->interps_ns + pace && d->nthreads == d->interps_threads)
		return subs;
	d->interps_ns = now_ns;
	d->interps_threads = d->nthreads;
	struct gt_cpy_mem mem = {gt_drain_read_mem, d};
	int saved = errno;
	errno = 0;
	int n = gt_cpy_interps(&mem, &e->interps, d->walk, (int)d->walk_cap);
	if (n > (int)d->walk_cap) { /* more than ever before: room, and again */
		struct gt_cpy_interp *bigger = realloc(d->walk, (size_t)n * 2 * sizeof(*bigger));
		if (bigger) {
			d->walk = bigger;
			d->walk_cap = (size_t)n * 2;
		}
		n = gt_cpy_interps(&mem, &e->interps, d->walk, (int)d->walk_cap);
	}
	if (n < 0 && errno == EPERM)
		d->interps_off = 1; /* not allowed to read it (ptrace rules) */
	errno = saved;
	d->walk_n = n;
	if (n > (int)d->walk_cap) /* no memory for it now: next time */
		return 1;
	const struct gt_cpy_interp *list = d->walk;
	for (int i = 0; i < n; i++) {
		/* An interpreter under its own GIL: its GIL record says it. */
		if (list[i].gil == list[i].addr + e->interps.gil)
			continue;
		int slot = slot_of(d, list, n, i);
		if (slot >= 0 && !said(d, list[i].id, (unsigned)slot))
			gt_enc_interp(&d->enc, now_ns, list[i].id, (unsigned)slot);
	}
	return n > 1;
}
