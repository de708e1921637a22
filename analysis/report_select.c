/* SPDX-License-Identifier: MIT */
/*
 * report_select.c — a report (or a CI gate) of some of a trace's processes:
 * `giltrace report/check --process PID|NAME`.
 *
 * A trace of `giltrace run` holds every process of the run; a service's CI
 * gate cares about its workers, not about the shell script that started
 * them. The trace is read twice: once for its process descriptors (which
 * pids the selection names), then into the metrics through a filter that
 * passes on only those pids' threads, GILs, slices, counters and records,
 * so every number is computed as if the trace held nothing else.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report.h"

struct pids {
	uint32_t *v;
	size_t n, cap;
	int oom;
};

static int has(const struct pids *p, uint32_t pid)
{
	for (size_t i = 0; i < p->n; i++)
		if (p->v[i] == pid)
			return 1;
	return 0;
}

static void add(struct pids *p, uint32_t pid)
{
	if (has(p, pid))
		return;
	if (p->n == p->cap) {
		size_t cap = p->cap ? 2 * p->cap : 16;
		uint32_t *v = realloc(p->v, cap * sizeof(*v));
		if (!v) {
			p->oom = 1;
			return;
		}
		p->v = v;
		p->cap = cap;
	}
	p->v[p->n++] = pid;
}

/* Is `which` the process's name, or a word of its command line, or the
 * last part of such a word's path? */
static int names(const struct gt_rd_process *pr, const char *which)
{
	if (pr->name && !strcmp(pr->name, which))
		return 1;
	size_t wl = strlen(which);
	for (const char *w = pr->cmdline; w && *w;) {
		size_t n = strcspn(w, " ");
		const char *base = w;
		for (const char *c = w; c < w + n; c++)
			if (*c == '/')
				base = c + 1;
		if ((n == wl && !memcmp(w, which, wl)) ||
		    ((size_t)(w + n - base) == wl && !memcmp(base, which, wl)))
			return 1;
		w += n + (w[n] == ' ');
	}
	return 0;
}

struct finding {
	const char *which;
	uint32_t pid; /* which is a pid */
	struct pids found;
};

static void find_process(void *ctx, const struct gt_rd_process *pr)
{
	struct finding *f = ctx;
	if (f->pid ? pr->pid == f->pid : names(pr, f->which))
		add(&f->found, pr->pid);
}

/* ---- the filter ---------------------------------------------------------- */

struct filter {
	struct gt_rd_callbacks in;
	const struct pids *pids;
	uint64_t first_ts, last_ts; /* of what was passed on */
	uint64_t open;              /* slices of theirs left open */
};

static void seen(struct filter *f, uint64_t ts, uint64_t end)
{
	if (ts && (!f->first_ts || ts < f->first_ts))
		f->first_ts = ts;
	if (end > f->last_ts)
		f->last_ts = end;
}

static void f_thread(void *ctx, const struct gt_rd_thread *t)
{
	struct filter *f = ctx;
	if (has(f->pids, t->pid) && f->in.thread)
		f->in.thread(f->in.ctx, t);
}

static void f_gil(void *ctx, const struct gt_rd_gil *g)
{
	struct filter *f = ctx;
	if (has(f->pids, g->pid) && f->in.gil)
		f->in.gil(f->in.ctx, g);
}

static void f_interp(void *ctx, const struct gt_rd_gil *g)
{
	struct filter *f = ctx;
	if (has(f->pids, g->pid) && f->in.interp)
		f->in.interp(f->in.ctx, g);
}

static void f_slice(void *ctx, const struct gt_rd_slice *s)
{
	struct filter *f = ctx;
	if (!has(f->pids, s->pid))
		return;
	struct gt_rd_slice mine = *s;
	/* A slice still open when the trace ends (its process was killed)
	 * comes last, closed at the trace's last event: it ends at these
	 * processes' last one instead. */
	if (s->open && f->last_ts && s->ts + s->dur > f->last_ts)
		mine.dur = f->last_ts > s->ts ? f->last_ts - s->ts : 0;
	seen(f, mine.ts, mine.ts + mine.dur);
	f->open += s->open;
	if (f->in.slice)
		f->in.slice(f->in.ctx, &mine);
}

static void f_counter(void *ctx, const struct gt_rd_counter *c)
{
	struct filter *f = ctx;
	if (!has(f->pids, c->pid))
		return;
	seen(f, c->ts, c->ts);
	if (f->in.counter)
		f->in.counter(f->in.ctx, c);
}

static void f_meta(void *ctx, const struct gt_rd_meta *m)
{
	struct filter *f = ctx;
	if (!m->window && !has(f->pids, m->pid))
		return; /* the run's window record is everyone's */
	if (!m->window)
		seen(f, m->ts, m->ts);
	if (f->in.meta)
		f->in.meta(f->in.ctx, m);
}

static void f_process(void *ctx, const struct gt_rd_process *p)
{
	struct filter *f = ctx;
	if (has(f->pids, p->pid) && f->in.process)
		f->in.process(f->in.ctx, p);
}

int gt_report_load_processes(const char *path, struct gt_metrics *m,
			     const struct gt_convoy_opts *convoy, int keep_episodes,
			     const char *which, char *err, size_t errlen)
{
	if (!which)
		return gt_report_load(path, m, convoy, keep_episodes, err, errlen);
	gt_metrics_init(m); /* the caller frees it whatever happens */
	struct finding fd = {.which = which};
	char *end;
	unsigned long pid = strtoul(which, &end, 10);
	if (*which >= '0' && *which <= '9' && !*end && pid && pid <= UINT32_MAX)
		fd.pid = (uint32_t)pid;
	struct gt_rd_callbacks look = {.ctx = &fd, .process = find_process};
	struct gt_rd_summary sum;
	int rc = gt_read_trace(path, &look, &sum, err, errlen);
	if (!rc && fd.found.oom) {
		snprintf(err, errlen, "out of memory reading %s", path);
		rc = -1;
	} else if (!rc && !fd.found.n) {
		snprintf(err, errlen, "no process %s%s in the trace", fd.pid ? "" : "named ", which);
		rc = -1;
	}
	if (rc) {
		free(fd.found.v);
		return -1;
	}
	if (convoy)
		m->convoy_opts = *convoy;
	m->keep_episodes = keep_episodes;
	struct filter f = {.in = gt_metrics_callbacks(m), .pids = &fd.found};
	struct gt_rd_callbacks cb = {&f,      f_thread, f_gil,   f_slice,
				     f_counter, f_meta,   f_process, f_interp};
	rc = gt_read_trace(path, &cb, &sum, err, errlen);
	free(fd.found.v);
	if (rc)
		return -1;
	/* The trace's first and last events may be other processes', and so
	 * may slices left open. */
	sum.first_ts = f.first_ts;
	sum.last_ts = f.last_ts;
	sum.open_slices = f.open;
	gt_metrics_finish(m, &sum);
	if (m->oom) {
		snprintf(err, errlen, "out of memory reading %s", path);
		return -1;
	}
	return 0;
}
