/* SPDX-License-Identifier: MIT */
/* gt_drain.c — turns a process's rings into its trace (see gt_drain.h). */
#define _GNU_SOURCE
#include "gt_drain.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gt_clock.h"
#include "gt_drain_internal.h"

/* A release is settled as voluntary once this much time passed without the
 * handshake that would make it forced (which follows within microseconds). */
#define SETTLE_NS 50000000ull
#define DISK_FLUSH_NS 1000000000ull
#define NAME_REFRESH_NS 1000000000ull

/* ---- helpers ------------------------------------------------------------ */


static uint64_t to_ns(const struct gt_drain *d, uint64_t ticks)
{
	return d->use_tsc ? gt_clock_to_ns(ticks) : ticks;
}

/* Now, on the trace's clock. */
static uint64_t now_ns(const struct gt_drain *d)
{
	return d->use_tsc ? gt_clock_to_ns(gt_clock_tsc()) : gt_clock_boottime_ns();
}

static int my_slot(const struct gt_drain *d, uint32_t i, uint32_t *state)
{
	const struct gt_slot *s = &d->pool->v.slots[i];
	/* Acquire: a slot seen ACTIVE has its owner set, one seen EXITED has
	 * all of its events published. */
	*state = atomic_load_explicit(&s->state, memory_order_acquire);
	return (*state == GT_SLOT_ACTIVE || *state == GT_SLOT_EXITED) && s->proc == d->proc;
}

uint64_t gt_drain_dropped(const struct gt_drain *d)
{
	uint64_t n = d->dropped + atomic_load(&gt_drain_entry(d)->no_slot_events);
	uint32_t high = atomic_load(&d->pool->v.hdr->high);
	for (uint32_t i = 0, st; i < high; i++)
		if (my_slot(d, i, &st))
			n += atomic_load_explicit(&d->pool->v.slots[i].dropped, memory_order_relaxed);
	return n;
}

/* Is what the encoder holds to be handed to the sink yet? A forked child's
 * trace waits until it is clearly more than a preexec_fn. */
static int may_write(const struct gt_drain *d, uint64_t now_ns)
{
	return !d->lazy || d->enc.bytes_out || d->nthreads > 1 ||
	       now_ns >= d->start_ns + DISK_FLUSH_NS;
}

int gt_drain_open(struct gt_drain *d, struct gt_drain_pool *pool, uint32_t proc,
		  enum gt_recorder recorder, struct gt_enc_sink sink, int keep_preamble)
{
	const struct gt_shm_proc *e = &pool->v.procs[proc];
	memset(d, 0, sizeof(*d));
	d->pool = pool;
	d->proc = proc;
	d->recorder = recorder;
	d->pid = e->pid;
	d->use_tsc = e->use_tsc;
	d->lazy = !!(e->flags & GT_PROC_FORKED);
	struct gt_enc_options opt = {
		.compress_level = pool->v.hdr->compress,
		.chunk_size = 256 * 1024,
		.monotonic_offset = e->monotonic_offset,
		.seq_ids = &pool->seq_ids,
		.keep_preamble = keep_preamble,
	};
	if (gt_enc_init(&d->enc, &opt, sink, d->pid))
		return -ENOMEM;
	d->open = 1;
	/* The session starts when tracing did (the clock anchor), not when
	 * the writer first ran. */
	d->start_ns = e->anchor_ns;
	gt_drain_start_trace(d, d->start_ns);
	gt_drain_write_meta(d, d->start_ns, 0, 0);
	/* Nothing reaches the sink yet (the caller may be a hook, and the
	 * file is opened where it is written): the first cycle flushes. */
	d->last_disk_ns = 0;
	return 0;
}

/* ---- one cycle ---------------------------------------------------------- */

/* The first event of a thread in slot i: its sequence starts. */
static void start_thread(struct gt_drain *d, struct gt_drain_thread *w, const struct gt_slot *s,
			 uint32_t tid, uint64_t first_ns, uint64_t now_ns)
{
	char name[16];
	gt_drain_read_comm(d, tid, name);
	if (!name[0] && s->tid == tid && s->exit_name[0])
		memcpy(name, s->exit_name, sizeof(name));
	gt_enc_thread_start(&d->enc, &w->th, tid, name, first_ns);
	w->name_checked_ns = now_ns;
	w->py_name[0] = 0;
	w->exited = 0;
	d->nthreads++;
}

/* A thread's last event names it (16 bytes in peer..arg). */
static void exit_name(struct gt_drain *d, struct gt_drain_thread *w, const struct gt_event *ev,
		      uint64_t ts)
{
	char name[17];
	memcpy(name, &ev->peer, 16);
	name[16] = 0;
	if (name[0])
		gt_drain_set_os_name(d, w, name, ts);
}

/* The slot's thread has exited and everything it wrote is drained: give
 * the slot back, unless a new thread of the process took it meanwhile (it
 * writes after the exited one's events; the next cycle drains those). */
static void finish_slot(struct gt_drain *d, uint32_t i, uint64_t tail, uint64_t now_ns)
{
	struct gt_slot *s = &d->pool->v.slots[i];
	struct gt_drain_thread *w = &d->pool->threads[i];
	if (w->th.started && !w->exited) { /* its exit event was lost */
		if (s->exit_name[0] && s->tid == w->th.tid)
			gt_drain_set_os_name(d, w, s->exit_name, w->th.last_ts);
		gt_enc_thread_end(&d->enc, &w->th,
				  w->th.last_ts > now_ns ? w->th.last_ts : now_ns,
				  GT_END_THREAD_EXIT);
		w->exited = 1;
	}
	/* CLAIMING keeps recorders away while we look and reset. */
	uint32_t expected = GT_SLOT_EXITED;
	if (!atomic_compare_exchange_strong(&s->state, &expected, GT_SLOT_CLAIMING))
		return; /* taken by a new thread */
	if (atomic_load_explicit(&s->head, memory_order_acquire) != tail) {
		/* Taken, written and exited again since we looked. */
		atomic_store_explicit(&s->state, GT_SLOT_EXITED, memory_order_release);
		return;
	}
	d->dropped += atomic_load(&s->dropped);
	gt_drain_pool_free_slot(d->pool, i);
}

/* Returns the number of events drained; those after until (ns, 0: none)
 * stay in the ring. */
static uint64_t drain_slot(struct gt_drain *d, uint32_t i, uint64_t now_ns, int final,
			   uint64_t until)
{
	uint32_t state;
	if (!my_slot(d, i, &state))
		return 0;
	struct gt_slot *s = &d->pool->v.slots[i];
	struct gt_drain_thread *w = &d->pool->threads[i];
	const struct gt_event *ring = gt_shm_ring(&d->pool->v, i);
	uint32_t mask = d->pool->v.mask;
	uint64_t head = atomic_load_explicit(&s->head, memory_order_acquire);
	uint64_t tail = atomic_load_explicit(&s->tail, memory_order_relaxed);
	uint64_t first = tail;
	for (; tail < head; tail++) {
		const struct gt_event *ev = &ring[tail & mask];
		uint64_t ts = to_ns(d, ev->ts);
		if (until && ts > until)
			break;
		/* Threads share a ring one after the other (claim() in
		 * preload/gt_ring.c): a new one starts after its predecessor's
		 * exit, or at the first event with another thread id. */
		if (!w->th.started || w->exited || ev->tid != w->th.tid) {
			if (w->th.started && !w->exited)
				gt_enc_thread_end(&d->enc, &w->th, w->th.last_ts, GT_END_THREAD_EXIT);
			start_thread(d, w, s, ev->tid, ts, now_ns);
		}
		if (ev->kind == GT_EV_THREAD_EXIT) {
			exit_name(d, w, ev, ts);
			w->exited = 1;
		}
		gt_enc_event(&d->enc, &w->th, ev, ts);
		d->events++;
	}
	/* Release: the producer may reuse these entries now. */
	atomic_store_explicit(&s->tail, tail, memory_order_release);
	uint64_t drained = tail - first;
	if (!w->th.started || tail < head)
		return drained;

	if (w->th.pending && (final || now_ns > w->th.pending_ts + SETTLE_NS))
		gt_enc_thread_settle(&d->enc, &w->th);
	if (state == GT_SLOT_EXITED) {
		finish_slot(d, i, tail, now_ns);
		return drained;
	}
	/* Names change (threading workers often name themselves right after
	 * they start): look again now and then, and one last time at the end
	 * for threads still running then (the recorder leaves their names in
	 * exit_name when the process ends, for a writer that comes too late to
	 * read /proc). */
	if (!w->exited && (final || now_ns > w->name_checked_ns + NAME_REFRESH_NS)) {
		char name[16];
		gt_drain_read_comm(d, w->th.tid, name);
		if (!name[0] && final && s->exit_name[0] && s->tid == w->th.tid)
			memcpy(name, s->exit_name, sizeof(name));
		if (name[0])
			gt_drain_set_os_name(d, w, name, now_ns);
		w->name_checked_ns = now_ns;
	}
	return drained;
}

static void declare_gils(struct gt_drain *d)
{
	const struct gt_shm_proc *e = gt_drain_entry(d);
	unsigned n = atomic_load_explicit(&e->ngils, memory_order_acquire);
	for (; d->gils_declared < n; d->gils_declared++)
		gt_enc_gil(&d->enc, d->start_ns, d->gils_declared, e->gils[d->gils_declared].interp_id,
			   e->gils[d->gils_declared].interval_us);
}

static int cycle(struct gt_drain *d, int final, uint64_t until)
{
	uint64_t now = now_ns(d);
	declare_gils(d);
	uint32_t high = atomic_load_explicit(&d->pool->v.hdr->high, memory_order_acquire);
	int busy = 0;
	for (uint32_t i = 0; i < high; i++)
		if (drain_slot(d, i, now, final, until) > d->pool->v.mask / 8)
			busy = 1;
	if (!final && gt_drain_poll_names(d, now) && !busy)
		busy = GT_DRAIN_SOON;
	if (!final && gt_drain_poll_interps(d, now) && !busy)
		busy = GT_DRAIN_SOON;
	if ((!d->last_disk_ns || now > d->last_disk_ns + DISK_FLUSH_NS) && may_write(d, now)) {
		gt_enc_flush(&d->enc);
		d->last_disk_ns = now;
	}
	return busy;
}

int gt_drain_cycle(struct gt_drain *d) { return cycle(d, 0, 0); }

/* Closes every thread the process still has open at end_ns (or later, if
 * a thread's last event is later). */
static uint64_t end_threads(struct gt_drain *d, uint64_t end_ns)
{
	uint32_t high = atomic_load(&d->pool->v.hdr->high);
	for (uint32_t i = 0, st; i < high; i++) {
		struct gt_enc_thread *th = &d->pool->threads[i].th;
		if (my_slot(d, i, &st) && th->started && end_ns < th->last_ts)
			end_ns = th->last_ts;
	}
	for (uint32_t i = 0, st; i < high; i++) {
		struct gt_enc_thread *th = &d->pool->threads[i].th;
		if (!my_slot(d, i, &st) || !th->started || d->pool->threads[i].exited)
			continue;
		if (th->pending)
			gt_enc_thread_settle(&d->enc, th);
		gt_enc_thread_end(&d->enc, th, end_ns, GT_END_PROCESS_EXIT);
	}
	return end_ns;
}

void gt_drain_close(struct gt_drain *d, uint64_t end_ticks, enum gt_drain_end how,
		    int may_free, struct gt_drain_result *r)
{
	memset(r, 0, sizeof(*r));
	if (!d->open)
		return;
	cycle(d, 1, 0);
	r->events = d->events;
	r->dropped = gt_drain_dropped(d);
	r->threads = d->nthreads;
	if (how == GT_DRAIN_EXEC && d->lazy && !d->enc.bytes_out && d->nthreads <= 1) {
		/* A forked child that only ran a moment before exec()ing another
		 * program: subprocess's preexec_fn, not something to trace. */
		r->discarded = 1;
	} else {
		uint64_t end_ns = end_threads(d, to_ns(d, end_ticks));
		gt_drain_write_meta(d, end_ns, 1, 0);
		gt_enc_flush(&d->enc);
		r->error = d->enc.error < 0 ? -d->enc.error : d->enc.error;
	}
	/* The slots of threads still running stay the process's: they may
	 * record a little more before it is gone. Their encoder state goes. */
	uint32_t high = atomic_load(&d->pool->v.hdr->high);
	for (uint32_t i = 0, st; i < high; i++)
		if (my_slot(d, i, &st))
			memset(&d->pool->threads[i], 0, sizeof(d->pool->threads[i]));
	d->open = 0;
	/* A signal handler must not free(): the process is about to end. */
	if (may_free) {
		gt_enc_free(&d->enc);
		free(d->interps);
		free(d->walk);
		d->interps = NULL;
		d->walk = NULL;
		d->ninterps = d->interps_cap = d->walk_cap = 0;
	}
}

void gt_drain_cut(struct gt_drain *d, enum gt_drain_cut phase, uint64_t run_start)
{
	if (!d->open)
		return;
	if (phase == GT_CUT_CLOSE) {
		/* The cut, on the clock of the process's events: what they
		 * recorded up to it goes before it, the rest stays in the rings
		 * for after it. */
		d->cut_ns = now_ns(d);
		cycle(d, 0, d->cut_ns);
		d->cut_skip = !may_write(d, d->cut_ns);
	}
	if (d->cut_skip) /* all of it is still in its chunk: it goes on there */
		return;
	uint64_t ts = d->cut_ns;
	if (phase == GT_CUT_HEAD) {
		gt_enc_preamble(&d->enc);
		gt_drain_write_meta(d, ts, 0, run_start);
	}
	uint32_t high = atomic_load(&d->pool->v.hdr->high);
	for (uint32_t i = 0, st; i < high; i++) {
		struct gt_drain_thread *w = &d->pool->threads[i];
		if (!my_slot(d, i, &st) || !w->th.started || w->exited)
			continue;
		if (phase == GT_CUT_CLOSE)
			gt_enc_thread_settle(&d->enc, &w->th); /* its END goes before */
		else if (phase == GT_CUT_HEAD)
			gt_enc_thread_resume(&d->enc, &w->th, ts);
		else
			gt_enc_thread_restate(&d->enc, &w->th, ts);
	}
	if (phase == GT_CUT_CLOSE)
		gt_enc_cut_flows(&d->enc);
	if (phase != GT_CUT_OPEN)
		gt_enc_flush(&d->enc);
	d->last_disk_ns = ts;
}

int gt_drain_flush(struct gt_drain *d)
{
	if (!d->open)
		return 1;
	cycle(d, 0, 0);
	if (!may_write(d, now_ns(d)))
		return 1;
	return gt_enc_flush(&d->enc);
}

int gt_drain_write_tail(struct gt_drain *d, uint64_t end_ticks)
{
	if (!d->open)
		return 0;
	size_t n = d->pool->v.hdr->nslots;
	struct gt_drain_thread *saved = malloc(n * sizeof(*saved));
	if (!saved)
		return -ENOMEM;
	memcpy(saved, d->pool->threads, n * sizeof(*saved));
	struct gt_drain before = *d; /* the encoder's state, by value */
	uint64_t end_ns = end_threads(d, to_ns(d, end_ticks));
	gt_drain_write_meta(d, end_ns, 1, 0);
	int rc = gt_enc_flush(&d->enc);
	/* Undo: the encoder's chunk is empty again, its buffers unchanged in
	 * meaning (libdeflate keeps no state between chunks). */
	memcpy(d->pool->threads, saved, n * sizeof(*saved));
	free(saved);
	*d = before;
	return rc;
}

void gt_drain_forget(struct gt_drain *d)
{
	if (d->open)
		gt_enc_free(&d->enc);
	free(d->interps);
	free(d->walk);
	memset(d, 0, sizeof(*d));
}
