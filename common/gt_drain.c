/* SPDX-License-Identifier: MIT */
/* gt_drain.c — turns a process's rings into its trace file (see gt_drain.h). */
#define _GNU_SOURCE
#include "gt_drain.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "gt_clock.h"

/* A release is settled as voluntary once this much time passed without the
 * handshake that would make it forced (which follows within microseconds). */
#define SETTLE_NS 50000000ull
#define DISK_FLUSH_NS 1000000000ull
#define NAME_REFRESH_NS 1000000000ull

struct gt_drain_thread {
	struct gt_enc_thread th;
	uint64_t name_checked_ns;
};

/* ---- output ------------------------------------------------------------- */

static int sink_write(void *ctx, const void *data, size_t len)
{
	struct gt_drain *d = ctx;
	const char *p = data;
	while (len) {
		ssize_t n = write(d->fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			d->write_errno = n < 0 ? errno : EIO;
			return -d->write_errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads a small /proc file of the traced process; "" if it is gone. */
static ssize_t read_proc(const struct gt_drain *d, const char *what, char *out, size_t size)
{
	char path[96];
	snprintf(path, sizeof(path), "/proc/%u/%s", d->v.hdr->pid, what);
	out[0] = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, out, size - 1);
	close(fd);
	if (n < 0)
		n = 0;
	out[n] = 0;
	return n;
}

static void read_comm(const struct gt_drain *d, uint32_t tid, char out[16])
{
	char what[48];
	snprintf(what, sizeof(what), "task/%u/comm", tid);
	read_proc(d, what, out, 16);
	char *nl = strchr(out, '\n');
	if (nl)
		*nl = 0;
}

static void start_trace(struct gt_drain *d, uint64_t ts)
{
	char name[16], cmdline[4096];
	const char *argv[64];
	int argc = 0;

	read_comm(d, d->v.hdr->pid, name);
	ssize_t n = read_proc(d, "cmdline", cmdline, sizeof(cmdline));
	for (char *p = cmdline; p < cmdline + n && argc < 64; p += strlen(p) + 1)
		argv[argc++] = p;
	gt_enc_process(&d->enc, ts, name, argv, argc);
}

void gt_drain_describe_method(uint32_t method, char *out, unsigned long size)
{
	static const struct {
		uint32_t bit;
		const char *words;
	} parts[] = {
		{GT_ID_INIT_SEQUENCE, "create_gil init sequence from the interpreter"},
		{GT_ID_CALLER, "timed wait from the interpreter"},
		{GT_ID_STRUCT, "struct layout"},
		{GT_ID_RUNTIME, "_PyRuntime offsets"},
		{GT_ID_DEBUG_OFFSETS, "_Py_DebugOffsets"},
		{GT_ID_INTERP, "interp->ceval.gil"},
		{GT_ID_MISMATCH, "LAYOUT MISMATCH (observed objects used)"},
	};
	size_t n = 0;
	out[0] = 0;
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		if (!(method & parts[i].bit))
			continue;
		int w = snprintf(out + n, size - n, "%s%s", n ? " + " : "", parts[i].words);
		if (w < 0 || (size_t)w >= size - n)
			break;
		n += (size_t)w;
	}
}

static void describe_gils(const struct gt_drain *d, char *out, size_t size)
{
	const struct gt_shm_hdr *h = d->v.hdr;
	unsigned n = atomic_load_explicit(&h->ngils, memory_order_acquire);
	size_t len = 0;
	out[0] = 0;
	for (unsigned i = 0; i < n && len < size; i++) {
		char how[256];
		gt_drain_describe_method(h->gils[i].method, how, sizeof(how));
		int w = snprintf(out + len, size - len, "%sGIL %u (interp %lld): %s", i ? "; " : "",
				 i, (long long)h->gils[i].interp_id, how);
		if (w < 0)
			break;
		len += (size_t)w;
	}
}

static uint64_t dropped_total(const struct gt_drain *d)
{
	uint64_t n = d->dropped + atomic_load(&d->v.hdr->no_slot_events);
	uint32_t high = atomic_load(&d->v.hdr->high);
	for (uint32_t i = 0; i < high; i++)
		n += atomic_load_explicit(&d->v.slots[i].dropped, memory_order_relaxed);
	return n;
}

static void write_meta(struct gt_drain *d, uint64_t ts, int final)
{
	char method[1024], version[sizeof(d->v.hdr->python_version)];
	describe_gils(d, method, sizeof(method));
	memcpy(version, d->v.hdr->python_version, sizeof(version));
	version[sizeof(version) - 1] = 0;
	struct gt_enc_meta m = {
		.python_version = version,
		.gil_method = method,
		.recorder = "preload",
		.clock = d->v.hdr->use_tsc ? "tsc" : "boottime",
		.events = d->events,
		.events_dropped = final ? dropped_total(d) : 0,
		.threads = d->nthreads,
		.final = final,
	};
	gt_enc_meta(&d->enc, ts, &m);
}

int gt_drain_open(struct gt_drain *d, const struct gt_shm *v, int fd)
{
	memset(d, 0, sizeof(*d));
	d->v = *v;
	d->fd = fd;
	d->threads = calloc(v->hdr->nslots, sizeof(*d->threads));
	struct gt_enc_options opt = {
		.compress_level = v->hdr->compress,
		.chunk_size = 256 * 1024,
		.monotonic_offset = v->hdr->monotonic_offset,
	};
	struct gt_enc_sink sink = {sink_write, d};
	if (!d->threads || gt_enc_init(&d->enc, &opt, sink, v->hdr->pid)) {
		free(d->threads);
		close(fd);
		memset(d, 0, sizeof(*d));
		d->fd = -1;
		return -ENOMEM;
	}
	/* The session starts when tracing did (the clock anchor), not when
	 * the writer first ran. */
	d->start_ns = v->hdr->anchor_ns;
	start_trace(d, d->start_ns);
	write_meta(d, d->start_ns, 0);
	gt_enc_flush(&d->enc);
	d->last_disk_ns = d->start_ns;
	return 0;
}

int gt_drain_calibrate(struct gt_drain *d, uint64_t min_ns)
{
	if (!d->calibrated)
		d->calibrated = gt_clock_calibrate(min_ns);
	else
		gt_clock_calibrate(min_ns); /* refines about once a second */
	return d->calibrated;
}

/* ---- one cycle ---------------------------------------------------------- */

void gt_drain_release_ring(struct gt_event *ring, uint32_t ring_events)
{
	size_t bytes = (size_t)ring_events * sizeof(struct gt_event);
	/* Shared memory (a memfd) keeps its pages unless they are removed;
	 * private memory takes DONTNEED. */
	if (madvise(ring, bytes, MADV_REMOVE))
		madvise(ring, bytes, MADV_DONTNEED);
}

static void finish_slot(struct gt_drain *d, uint32_t i, uint64_t now_ns)
{
	struct gt_slot *s = &d->v.slots[i];
	struct gt_drain_thread *w = &d->threads[i];
	if (s->exit_name[0])
		gt_enc_thread_rename(&d->enc, &w->th, s->exit_name, w->th.last_ts);
	gt_enc_thread_end(&d->enc, &w->th, w->th.last_ts > now_ns ? w->th.last_ts : now_ns,
			  GT_END_THREAD_EXIT);
	d->dropped += atomic_load(&s->dropped);
	memset(w, 0, sizeof(*w));
	gt_drain_release_ring(gt_shm_ring(&d->v, i), d->v.mask + 1);
	atomic_store_explicit(&s->head, 0, memory_order_relaxed);
	atomic_store_explicit(&s->tail, 0, memory_order_relaxed);
	atomic_store_explicit(&s->dropped, 0, memory_order_relaxed);
	/* Pairs with the claiming CAS: a new owner sees the reset. */
	atomic_store_explicit(&s->state, GT_SLOT_FREE, memory_order_release);
}

/* Returns the number of events drained. */
static uint64_t drain_slot(struct gt_drain *d, uint32_t i, uint64_t now_ns, int final)
{
	struct gt_slot *s = &d->v.slots[i];
	struct gt_drain_thread *w = &d->threads[i];
	/* Acquire: a slot seen EXITED has all of its events published. */
	uint32_t state = atomic_load_explicit(&s->state, memory_order_acquire);
	if (state == GT_SLOT_FREE)
		return 0;
	const struct gt_event *ring = gt_shm_ring(&d->v, i);
	uint64_t head = atomic_load_explicit(&s->head, memory_order_acquire);
	uint64_t tail = atomic_load_explicit(&s->tail, memory_order_relaxed);
	if (!w->th.started) {
		char name[16];
		uint64_t first = tail < head ? gt_clock_to_ns(ring[tail & d->v.mask].ts) : now_ns;
		read_comm(d, s->tid, name);
		if (!name[0] && s->exit_name[0])
			memcpy(name, s->exit_name, sizeof(name));
		gt_enc_thread_start(&d->enc, &w->th, s->tid, name, first);
		w->name_checked_ns = now_ns;
		d->nthreads++;
	}
	uint64_t drained = head - tail;
	for (; tail < head; tail++) {
		const struct gt_event *ev = &ring[tail & d->v.mask];
		gt_enc_event(&d->enc, &w->th, ev, gt_clock_to_ns(ev->ts));
		d->events++;
	}
	/* Release: the producer may reuse these entries now. */
	atomic_store_explicit(&s->tail, tail, memory_order_release);

	if (w->th.pending && (final || now_ns > w->th.pending_ts + SETTLE_NS))
		gt_enc_thread_settle(&d->enc, &w->th);
	if (state == GT_SLOT_EXITED) {
		finish_slot(d, i, now_ns);
		return drained;
	}
	/* Names change (threading workers often name themselves right after
	 * they start): look again now and then, and one last time at the end
	 * for threads still running then (the recorder leaves their names in
	 * exit_name when the process ends, for a writer that comes too late to
	 * read /proc). */
	if (final || now_ns > w->name_checked_ns + NAME_REFRESH_NS) {
		char name[16];
		read_comm(d, s->tid, name);
		if (!name[0] && final && s->exit_name[0])
			memcpy(name, s->exit_name, sizeof(name));
		if (name[0])
			gt_enc_thread_rename(&d->enc, &w->th, name, now_ns);
		w->name_checked_ns = now_ns;
	}
	return drained;
}

static void declare_gils(struct gt_drain *d)
{
	const struct gt_shm_hdr *h = d->v.hdr;
	unsigned n = atomic_load_explicit(&h->ngils, memory_order_acquire);
	for (; d->gils_declared < n; d->gils_declared++)
		gt_enc_gil(&d->enc, d->start_ns, d->gils_declared, h->gils[d->gils_declared].interp_id,
			   h->gils[d->gils_declared].interval_us);
}

static int cycle(struct gt_drain *d, int final)
{
	uint64_t now_ns = gt_clock_to_ns(gt_clock_now());
	declare_gils(d);
	uint32_t high = atomic_load_explicit(&d->v.hdr->high, memory_order_acquire);
	int busy = 0;
	for (uint32_t i = 0; i < high; i++)
		if (drain_slot(d, i, now_ns, final) > d->v.mask / 8)
			busy = 1;
	if (now_ns > d->last_disk_ns + DISK_FLUSH_NS) {
		gt_enc_flush(&d->enc);
		d->last_disk_ns = now_ns;
	}
	return busy;
}

int gt_drain_cycle(struct gt_drain *d) { return cycle(d, 0); }

void gt_drain_close(struct gt_drain *d, uint64_t end_ticks, struct gt_drain_result *r)
{
	/* A very short run: measure the rate over at least 2 ms. */
	while (!gt_drain_calibrate(d, 2000000))
		;
	cycle(d, 1);
	uint64_t end_ns = gt_clock_to_ns(end_ticks);
	uint32_t high = atomic_load(&d->v.hdr->high);
	for (uint32_t i = 0; i < high; i++) {
		struct gt_enc_thread *th = &d->threads[i].th;
		if (!th->started)
			continue;
		if (end_ns < th->last_ts)
			end_ns = th->last_ts;
		gt_enc_thread_end(&d->enc, th, end_ns, GT_END_PROCESS_EXIT);
	}
	write_meta(d, end_ns, 1);
	gt_enc_flush(&d->enc);
	r->events = d->events;
	r->dropped = dropped_total(d);
	r->threads = d->nthreads;
	r->error = d->write_errno ? d->write_errno : d->enc.error ? EIO : 0;
	if (d->fd >= 0 && close(d->fd) && !r->error)
		r->error = errno;
	d->fd = -1;
	/* Nothing is freed: this may run in a signal handler, where free()
	 * could deadlock, and the process is about to end anyway. */
}

void gt_drain_forget(struct gt_drain *d)
{
	if (d->fd >= 0)
		close(d->fd);
	if (d->threads) {
		gt_enc_free(&d->enc);
		free(d->threads);
	}
	memset(d, 0, sizeof(*d));
	d->fd = -1;
}
