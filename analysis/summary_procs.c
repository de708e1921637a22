/* SPDX-License-Identifier: MIT */
/*
 * summary_procs.c — a trace's processes, summarised: each one's threads,
 * waits and main GIL, most waited-for first (see summary.h). A trace
 * written by the preload library alone has one process; `giltrace run`
 * writes every process of a run into one trace.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "summary_internal.h"

static int most_waited(const void *x, const void *y)
{
	const struct gt_proc_summary *a = x, *b = y;
	if (a->wait_ns != b->wait_ns)
		return a->wait_ns < b->wait_ns ? 1 : -1;
	return a->pid < b->pid ? -1 : a->pid > b->pid;
}

static struct gt_proc_summary *find(struct gt_summary *s, uint32_t pid)
{
	for (size_t i = 0; i < s->nprocs; i++)
		if (s->procs[i].pid == pid)
			return &s->procs[i];
	return NULL;
}

int gt_summary_procs(const struct gt_metrics *m, struct gt_summary *s)
{
	/* Every pid that has a record, a GIL or a thread. */
	size_t cap = m->nprocs + m->ngils + m->nthreads + 1;
	s->procs = calloc(cap, sizeof(*s->procs));
	if (!s->procs)
		return -1;
	for (size_t i = 0; i < m->nprocs; i++)
		s->procs[s->nprocs++] = (struct gt_proc_summary){.pid = m->procs[i].pid,
								 .p = &m->procs[i]};
	for (size_t i = 0; i < m->ngils; i++)
		if (!find(s, m->gils[i].pid))
			s->procs[s->nprocs++].pid = m->gils[i].pid;
	for (size_t i = 0; i < m->nthreads; i++) {
		struct gt_proc_summary *ps = find(s, m->threads[i].pid);
		if (!ps) {
			ps = &s->procs[s->nprocs++];
			ps->pid = m->threads[i].pid;
		}
		ps->nthreads++;
		ps->wait_ns += m->threads[i].wait_ns;
		ps->hold_ns += m->threads[i].hold_ns;
	}
	/* s->gils is sorted main GILs first: a process's first is its main. */
	for (size_t i = 0; i < s->ngils; i++) {
		struct gt_proc_summary *ps = find(s, s->gils[i].g->pid);
		if (ps && !ps->gil)
			ps->gil = &s->gils[i];
	}
	for (size_t i = 0; i < s->nprocs; i++) {
		struct gt_proc_summary *ps = &s->procs[i];
		ps->wall_s = ps->p && ps->p->wall_ns ? (double)ps->p->wall_ns / 1e9 : s->wall_s;
	}
	/* Processes that never took a GIL (a shell in between) are left out. */
	size_t n = 0;
	for (size_t i = 0; i < s->nprocs; i++)
		if (s->procs[i].gil || s->procs[i].nthreads)
			s->procs[n++] = s->procs[i];
	s->nprocs = n;
	/* The gil pointers stay valid: only s->procs moves. */
	qsort(s->procs, s->nprocs, sizeof(*s->procs), most_waited);
	return 0;
}

double gt_summary_proc_wall(const struct gt_metrics *m, uint32_t pid, double whole)
{
	const struct gt_proc_stats *p = gt_metrics_proc(m, pid);
	return p && p->wall_ns ? (double)p->wall_ns / 1e9 : whole;
}

const char *gt_proc_label(const struct gt_proc_summary *p, char *buf, size_t n)
{
	const char *cmd = p->p ? p->p->cmdline : "";
	if (*cmd) {
		/* Each word that is a path ("/usr/bin/python3", "./app.py")
		 * by its last part. */
		size_t len = 0;
		for (const char *w = cmd; *w && len + 1 < n;) {
			const char *end = strchr(w, ' ');
			size_t wl = end ? (size_t)(end - w) : strlen(w);
			const char *from = w;
			if (w[0] == '/' || (w[0] == '.' && w[1] == '/'))
				for (const char *q = w; q < w + wl; q++)
					if (*q == '/')
						from = q + 1;
			int k = snprintf(buf + len, n - len, "%s%.*s", len ? " " : "",
					 (int)(w + wl - from), from);
			if (k < 0)
				break;
			len += (size_t)k < n - len ? (size_t)k : n - len - 1;
			w = end ? end + 1 : w + wl;
		}
	} else {
		snprintf(buf, n, "%s", p->p && p->p->name[0] ? p->p->name : "?");
	}
	/* `python -c 'many\nlines'`: one line in a table. */
	for (char *c = buf; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = ' ';
	return buf;
}
