/* SPDX-License-Identifier: MIT */
/*
 * metrics_store.c — where the metrics live: the thread and GIL tables (a
 * hash index over the threads while the trace is read), growing arrays.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

void gt_metrics_init(struct gt_metrics *m)
{
	memset(m, 0, sizeof(*m));
	m->convoy_opts = (struct gt_convoy_opts)GT_CONVOY_DEFAULTS;
}

void gt_metrics_free(struct gt_metrics *m)
{
	for (size_t i = 0; i < m->nthreads; i++)
		free(m->threads[i].wait_hist);
	free(m->threads);
	free(m->index);
	for (size_t i = 0; i < m->ngils; i++)
		free(m->gils[i].interps);
	free(m->gils);
	free(m->procs);
	free(m->convoys);
	free(m->episodes);
	free(m->gil_method);
	memset(m, 0, sizeof(*m));
}

int gt_metrics_reserve(void **arr, size_t *cap, size_t n, size_t size)
{
	if (n < *cap)
		return 0;
	size_t c = *cap ? *cap * 2 : 8;
	void *bigger = realloc(*arr, c * size);
	if (!bigger)
		return -1;
	*arr = bigger;
	*cap = c;
	return 0;
}

static uint64_t key_hash(uint32_t pid, uint32_t tid)
{
	uint64_t x = ((uint64_t)pid << 32) | tid;
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	return x ^ (x >> 33);
}

static int reindex(struct gt_metrics *m, size_t cap)
{
	uint32_t *idx = calloc(cap, sizeof(*idx));
	if (!idx)
		return -1;
	for (size_t i = 0; i < m->nthreads; i++) {
		size_t j = key_hash(m->threads[i].pid, m->threads[i].tid) & (cap - 1);
		while (idx[j])
			j = (j + 1) & (cap - 1);
		idx[j] = (uint32_t)i + 1;
	}
	free(m->index);
	m->index = idx;
	m->index_cap = cap;
	return 0;
}

struct gt_thread_stats *gt_metrics_thread_of(struct gt_metrics *m, uint32_t pid, uint32_t tid)
{
	if (m->last_thread) {
		struct gt_thread_stats *t = &m->threads[m->last_thread - 1];
		if (t->pid == pid && t->tid == tid)
			return t;
	}
	if (m->index_cap) {
		size_t j = key_hash(pid, tid) & (m->index_cap - 1);
		for (; m->index[j]; j = (j + 1) & (m->index_cap - 1)) {
			struct gt_thread_stats *t = &m->threads[m->index[j] - 1];
			if (t->pid == pid && t->tid == tid) {
				m->last_thread = m->index[j];
				return t;
			}
		}
	}
	if (m->nthreads == m->threads_cap) {
		size_t cap = m->threads_cap ? m->threads_cap * 2 : 16;
		struct gt_thread_stats *bigger = realloc(m->threads, cap * sizeof(*bigger));
		if (!bigger) {
			m->oom = 1;
			return NULL;
		}
		m->threads = bigger;
		m->threads_cap = cap;
	}
	struct gt_thread_stats *t = &m->threads[m->nthreads++];
	memset(t, 0, sizeof(*t));
	t->pid = pid;
	t->tid = tid;
	t->interval_gil = -1;
	if (m->nthreads * 2 > m->index_cap) {
		/* Rebuilding the index inserts the new thread too. */
		if (reindex(m, m->index_cap ? m->index_cap * 2 : 64))
			m->oom = 1;
		return t;
	}
	size_t j = key_hash(pid, tid) & (m->index_cap - 1);
	while (m->index[j])
		j = (j + 1) & (m->index_cap - 1);
	m->index[j] = (uint32_t)m->nthreads;
	return t;
}

struct gt_gil_stats *gt_metrics_gil(struct gt_metrics *m, uint32_t pid, unsigned slot)
{
	for (size_t i = 0; i < m->ngils; i++)
		if (m->gils[i].pid == pid && m->gils[i].slot == slot)
			return &m->gils[i];
	if (m->ngils == m->gils_cap) {
		size_t cap = m->gils_cap ? m->gils_cap * 2 : 4;
		struct gt_gil_stats *bigger = realloc(m->gils, cap * sizeof(*bigger));
		if (!bigger) {
			m->oom = 1;
			return NULL;
		}
		m->gils = bigger;
		m->gils_cap = cap;
	}
	struct gt_gil_stats *g = &m->gils[m->ngils++];
	memset(g, 0, sizeof(*g));
	g->pid = pid;
	g->slot = slot;
	g->interp_id = -1; /* until a GIL record says */
	return g;
}

const struct gt_thread_stats *gt_metrics_thread(const struct gt_metrics *m, uint32_t tid)
{
	for (size_t i = 0; i < m->nthreads; i++)
		if (m->threads[i].tid == tid)
			return &m->threads[i];
	return NULL;
}

int gt_metrics_layout_known(const struct gt_metrics *m)
{
	int major = 0, minor = 0;
	if (!m->gil_method || !m->ngils ||
	    sscanf(m->python_version, "%d.%d", &major, &minor) != 2 || (major == 3 && minor < 7))
		return -1;
	/* The words writer/gt_drain_proc.c gives GT_ID_RUNTIME,
	 * GT_ID_DEBUG_OFFSETS and GT_ID_MISMATCH: a row the live interpreter
	 * contradicted is neither known nor missing. */
	if (strstr(m->gil_method, "LAYOUT MISMATCH"))
		return -1;
	return strstr(m->gil_method, "_PyRuntime offsets") || strstr(m->gil_method, "_Py_DebugOffsets");
}

void gt_metrics_gil_interp(struct gt_metrics *m, struct gt_gil_stats *g, int64_t id)
{
	size_t at = 0;
	if (id < 0)
		return;
	while (at < g->ninterps && g->interps[at] < id)
		at++;
	if (at < g->ninterps && g->interps[at] == id)
		return;
	if (gt_metrics_reserve((void **)&g->interps, &g->interps_cap, g->ninterps,
			       sizeof(*g->interps))) {
		m->oom = 1;
		return;
	}
	memmove(g->interps + at + 1, g->interps + at, (g->ninterps - at) * sizeof(*g->interps));
	g->interps[at] = id;
	g->ninterps++;
}
