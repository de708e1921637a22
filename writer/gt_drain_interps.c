/* SPDX-License-Identifier: MIT */
/*
 * gt_drain_interps.c — which interpreters run under which GIL.
 *
 * A subinterpreter made with its own GIL (3.12+) is seen when its GIL is:
 * the GIL record carries its id. One made with the legacy configuration
 * shares the main interpreter's GIL and creates nothing the hooks could
 * see, so the writer reads the process's list of interpreters
 * (_PyRuntime.interpreters, model/gt_cpython.h) and says once per
 * interpreter, in an "interpreter" record, whose GIL it runs under.
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

#include "gt_drain_internal.h"

#define INTERPS_POLL_NS 100000000ull
#define INTERPS_SOON_NS (GT_DRAIN_SOON_MS * 1000000ull)

/* Was id said before? If not, remembers it (sorted) and returns 0; -1 if
 * there is no memory to remember it (it is said again next time). */
static int said(struct gt_drain *d, int64_t id)
{
	size_t lo = 0, hi = d->ninterps;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (d->interps[mid] == id)
			return 1;
		if (d->interps[mid] < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (d->ninterps == d->interps_cap) {
		size_t cap = d->interps_cap ? d->interps_cap * 2 : 8;
		int64_t *bigger = realloc(d->interps, cap * sizeof(*bigger));
		if (!bigger)
			return -1;
		d->interps = bigger;
		d->interps_cap = cap;
	}
	for (size_t i = d->ninterps; i > lo; i--)
		d->interps[i] = d->interps[i - 1];
	d->interps[lo] = id;
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
		int slot = slot_of(d, list, n, i);
		if (slot >= 0 && !said(d, list[i].id))
			gt_enc_interp(&d->enc, now_ns, list[i].id, (unsigned)slot);
	}
	return n > 1;
}
