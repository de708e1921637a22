/* SPDX-License-Identifier: MIT */
/*
 * gt_drain_names.c — what the drain calls each thread: its Python name
 * (threading.Thread.name, read from the process's memory with
 * model/gt_cpy_names.h) when it can be read, else its OS name.
 *
 * Reading another process's memory needs no help from it: the writer uses
 * process_vm_readv, the traced process's own pid when the writer is a thread
 * of it. A thread is looked up often while it has no Python name yet (it is
 * in threading._active only once its run() is about to start), then once a
 * second for renames; the OS name is kept beside it for the trace.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/uio.h>

#include "gt_cpy_names.h"
#include "gt_drain_internal.h"

_Static_assert(GT_CPY_NAME_MAX <= GT_THREAD_NAME_MAX, "a Python name fits a track name");

/* How often threads are looked up. A thread is in threading._active only
 * once its run() is about to start, and many live for milliseconds (a pool
 * that forks, a thread per request): while one is young and has no Python
 * name yet it is looked for every NAMES_SOON_NS, and only it (a few reads);
 * everyone is read again every NAMES_REFRESH_NS (renames). Until threading
 * is found, sys.modules (which may be long) is searched every
 * NAMES_SEARCH_SOON_NS while a thread waits for a name, else once a second. */
#define NAMES_SOON_NS 10000000ull
#define NAMES_YOUNG_NS 2000000000ull
#define NAMES_REFRESH_NS 250000000ull
#define NAMES_SEARCH_SOON_NS 100000000ull
#define NAMES_SEARCH_NS 1000000000ull

int gt_drain_read_mem(void *ctx, uint64_t addr, void *buf, size_t len)
{
	const struct gt_drain *d = ctx;
	struct iovec local = {buf, len}, remote = {(void *)(uintptr_t)addr, len};
	return process_vm_readv((pid_t)d->pid, &local, 1, &remote, 1, 0) == (ssize_t)len ? 0 : -1;
}

void gt_drain_set_os_name(struct gt_drain *d, struct gt_drain_thread *w, const char *os_name,
			  uint64_t ts)
{
	gt_enc_thread_rename(&d->enc, &w->th, w->py_name[0] ? w->py_name : os_name, os_name, ts);
}

struct found {
	struct gt_drain *d;
	uint64_t ts;
};

static void one_name(void *ctx, uint64_t ident, const char *name)
{
	struct found *f = ctx;
	struct gt_drain *d = f->d;
	uint32_t high = atomic_load_explicit(&d->pool->v.hdr->high, memory_order_acquire);
	for (uint32_t i = 0; i < high; i++) {
		const struct gt_slot *s = &d->pool->v.slots[i];
		struct gt_drain_thread *w = &d->pool->threads[i];
		uint32_t state = atomic_load_explicit(&s->state, memory_order_acquire);
		if (state != GT_SLOT_ACTIVE || s->proc != d->proc || s->ident != ident ||
		    s->tid != w->th.tid || !w->th.started || w->exited)
			continue;
		if (strcmp(w->py_name, name)) {
			snprintf(w->py_name, sizeof(w->py_name), "%s", name);
			gt_enc_thread_rename(&d->enc, &w->th, w->py_name, NULL, f->ts);
		}
	}
}

/* Is the thread of slot i one whose Python name is still to be found? 1 if
 * so; 2 for a slot just claimed, whose first event is not drained yet: its
 * thread is as young as can be. */
static int unnamed(const struct gt_drain *d, uint32_t i, uint64_t young_since)
{
	const struct gt_slot *s = &d->pool->v.slots[i];
	const struct gt_drain_thread *w = &d->pool->threads[i];
	if (s->proc != d->proc ||
	    atomic_load_explicit(&s->state, memory_order_relaxed) != GT_SLOT_ACTIVE)
		return 0;
	if (!w->th.started || w->th.tid != s->tid)
		return 2;
	return !w->exited && !w->py_name[0] && w->th.first_ts >= young_since;
}

struct young {
	const struct gt_drain *d;
	uint64_t since;
};

/* The filter of a quick look: only young threads without a name. */
static int want_young(void *ctx, uint64_t ident)
{
	const struct young *y = ctx;
	uint32_t high = atomic_load_explicit(&y->d->pool->v.hdr->high, memory_order_acquire);
	for (uint32_t i = 0; i < high; i++)
		if (y->d->pool->v.slots[i].ident == ident && unnamed(y->d, i, y->since))
			return 1;
	return 0;
}

struct both {
	struct young y;
	struct found f;
};

static int want_young_both(void *ctx, uint64_t ident)
{
	return want_young(&((struct both *)ctx)->y, ident);
}

static void one_name_both(void *ctx, uint64_t ident, const char *name)
{
	one_name(&((struct both *)ctx)->f, ident, name);
}

int gt_drain_poll_names(struct gt_drain *d, uint64_t now_ns)
{
	const struct gt_shm_proc *e = gt_drain_entry(d);
	uint64_t slot = atomic_load_explicit(&e->py_modules_slot, memory_order_relaxed);
	if (d->names_off || !slot || !gt_cpy_names_supported((int)e->py_minor))
		return 0;
	struct both b = {{d, now_ns > NAMES_YOUNG_NS ? now_ns - NAMES_YOUNG_NS : 0}, {d, now_ns}};
	int waiting = 0, starting = 0;
	uint32_t high = atomic_load_explicit(&d->pool->v.hdr->high, memory_order_acquire);
	for (uint32_t i = 0; i < high && !starting; i++) {
		int u = unnamed(d, i, b.y.since);
		waiting |= u != 0;
		starting |= u == 2;
	}
	/* A process that never ran a second thread needs no names (its main
	 * thread may not even have an interpreter yet; a forked child's has,
	 * and is MainThread or the thread that forked); a second may be
	 * starting. */
	if (d->nthreads < (d->lazy ? 1 : 2))
		return d->nthreads && starting;
	/* Everyone now and then; in between, often, only the young unnamed. */
	uint64_t pace = d->names.active ? NAMES_REFRESH_NS
			: waiting       ? NAMES_SEARCH_SOON_NS
					: NAMES_SEARCH_NS;
	int all = !d->names_ns || now_ns >= d->names_ns + pace;
	int quick = d->names.active && waiting && now_ns >= d->names_quick_ns + NAMES_SOON_NS;
	if (!all && !quick)
		return waiting;
	d->names_quick_ns = now_ns;
	if (all)
		d->names_ns = now_ns;
	d->names.minor = (int)e->py_minor;
	d->names.modules_slot = slot;
	struct gt_cpy_mem mem = {gt_drain_read_mem, d};
	int saved = errno;
	errno = 0;
	if (gt_cpy_thread_names(&d->names, &mem, all ? NULL : want_young_both, one_name_both, &b) <
		    0 &&
	    errno == EPERM)
		d->names_off = 1; /* not allowed to read it (ptrace rules): OS names */
	errno = saved;
	return waiting;
}
