/* SPDX-License-Identifier: MIT */
/*
 * metrics_procs.c — the processes of a trace: `giltrace run` writes every
 * process of a run into one trace, each with its own descriptor (name,
 * command line) and its own start and end records. Kept here per process;
 * the trace-wide fields of gt_metrics are derived from them.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

struct gt_proc_stats *gt_metrics_proc_of(struct gt_metrics *m, uint32_t pid)
{
	for (size_t i = 0; i < m->nprocs; i++)
		if (m->procs[i].pid == pid)
			return &m->procs[i];
	if (gt_metrics_reserve((void **)&m->procs, &m->procs_cap, m->nprocs, sizeof(*m->procs))) {
		m->oom = 1;
		return NULL;
	}
	struct gt_proc_stats *p = &m->procs[m->nprocs++];
	memset(p, 0, sizeof(*p));
	p->pid = pid;
	return p;
}

const struct gt_proc_stats *gt_metrics_proc(const struct gt_metrics *m, uint32_t pid)
{
	for (size_t i = 0; i < m->nprocs; i++)
		if (m->procs[i].pid == pid)
			return &m->procs[i];
	return NULL;
}

static void copy(char *dst, size_t n, const char *src)
{
	if (src && *src)
		snprintf(dst, n, "%s", src);
}

void gt_metrics_on_process(void *ctx, const struct gt_rd_process *pr)
{
	struct gt_proc_stats *p = gt_metrics_proc_of(ctx, pr->pid);
	if (!p)
		return;
	/* An exec()ed image of the same pid describes itself again: the
	 * last word names it. */
	copy(p->name, sizeof(p->name), pr->name);
	copy(p->cmdline, sizeof(p->cmdline), pr->cmdline);
}

void gt_metrics_proc_meta(struct gt_metrics *m, const struct gt_rd_meta *md)
{
	struct gt_proc_stats *p = gt_metrics_proc_of(m, md->pid);
	if (!p)
		return;
	copy(p->python_version, sizeof(p->python_version), md->python_version);
	if (md->final) {
		p->has_end = 1;
		p->end_ns = md->ts > p->end_ns ? md->ts : p->end_ns;
		/* An exec()ed image has records of its own: they add up. */
		p->events += md->events;
		p->events_dropped += md->events_dropped;
		p->gils_untraced += md->gils_untraced;
		p->images_ended++;
		/* Of several images, the one that could not split says why. */
		if (md->cpu_split && (!p->cpu_split[0] || !strcmp(p->cpu_split, "on")))
			copy(p->cpu_split, sizeof(p->cpu_split), md->cpu_split);
	} else {
		p->has_start = 1;
		p->images++;
		if (md->run_start)
			p->run_start_ns = md->run_start;
		if (!p->start_ns || md->ts < p->start_ns)
			p->start_ns = md->ts;
	}
}

/* Are the trace's waits split into waiting for the GIL and for a CPU?
 * Only if every process that says anything says "on", one does, and every
 * wait carries its run delays; else the note says why not. */
static void split_or_not(struct gt_metrics *m)
{
	int on = 0;
	m->split = 0;
	m->split_note[0] = 0;
	for (size_t i = 0; i < m->nprocs; i++) {
		const char *w = m->procs[i].cpu_split;
		if (!strcmp(w, "on")) {
			on = 1;
		} else if (w[0]) {
			snprintf(m->split_note, sizeof(m->split_note), "%s", w);
			return;
		}
	}
	if (!on && !m->all_waits.n)
		m->split = 1; /* nothing to split */
	else if (!on)
		snprintf(m->split_note, sizeof(m->split_note),
			 "not recorded (a trace of an older giltrace)");
	else if (m->waits_unsplit)
		snprintf(m->split_note, sizeof(m->split_note),
			 "%llu waits lack their run delays (events were dropped)",
			 (unsigned long long)m->waits_unsplit);
	else
		m->split = 1;
}

void gt_metrics_finish_procs(struct gt_metrics *m)
{
	m->events = m->events_dropped = m->gils_untraced = 0;
	int all_ended = m->nprocs > 0, versions_differ = 0;
	for (size_t i = 0; i < m->nprocs; i++) {
		struct gt_proc_stats *p = &m->procs[i];
		m->events += p->events;
		m->events_dropped += p->events_dropped;
		m->gils_untraced += p->gils_untraced;
		if (!p->images || p->images_ended < p->images)
			all_ended = 0;
		if (!p->end_ns || p->end_ns < p->start_ns)
			p->end_ns = m->end_ns;
		p->wall_ns = p->end_ns > p->start_ns ? p->end_ns - p->start_ns : 0;
		if (p->python_version[0] && m->procs[0].python_version[0] &&
		    strcmp(p->python_version, m->procs[0].python_version))
			versions_differ = 1;
	}
	/* Complete only if every process image finished its part. */
	m->has_end = all_ended;
	split_or_not(m);
	if (versions_differ)
		snprintf(m->python_version, sizeof(m->python_version), "several versions");
}
