/* SPDX-License-Identifier: MIT */
/* metrics.c — see metrics.h and docs/metrics.md: the reader's callbacks
 * (what each slice, counter and record adds) and the final pass. */
#include "metrics.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gt_encoder.h"

const double gt_hold_bucket_edges[GT_HOLD_BUCKETS + 1] = {0, 0.1, 0.5, 1, 2, 1e300};

/* CPython's default, for a GIL whose interval the trace does not say. */
#define DEFAULT_INTERVAL_NS 5000000ull

/* The interval in force for a slice of thread t on GIL g: what t's own
 * sequence said last for that GIL (counters precede the slices they apply
 * to on the same sequence, so this is in time order), else g's. */
static uint64_t interval_ns(const struct gt_gil_stats *g, const struct gt_thread_stats *t)
{
	if (t && g && t->interval_gil == (int)g->slot && t->interval_us)
		return (uint64_t)t->interval_us * 1000u;
	return gt_metrics_interval_ns(g);
}

static void held_by_interval(struct gt_gil_stats *g, uint64_t interval_ns, uint64_t dur)
{
	uint32_t us = (uint32_t)(interval_ns / 1000u);
	for (int i = 0; i < GT_INTERVALS_KEPT; i++) {
		if (g->by_interval[i].us == us || !g->by_interval[i].us) {
			g->by_interval[i].us = us;
			g->by_interval[i].held_ns += dur;
			return;
		}
	}
	g->held_other_interval_ns += dur;
}

uint32_t gt_metrics_main_interval_us(const struct gt_gil_stats *g, double *other_share)
{
	int best = 0;
	uint64_t total = g->held_other_interval_ns;
	for (int i = 0; i < GT_INTERVALS_KEPT; i++) {
		total += g->by_interval[i].held_ns;
		if (g->by_interval[i].held_ns > g->by_interval[best].held_ns)
			best = i;
	}
	if (!g->by_interval[best].us) {
		*other_share = 0;
		return g->interval_us;
	}
	*other_share = total ? 1.0 - (double)g->by_interval[best].held_ns / (double)total : 0;
	return g->by_interval[best].us;
}

uint64_t gt_metrics_interval_ns(const struct gt_gil_stats *g)
{
	return g && g->interval_us ? (uint64_t)g->interval_us * 1000u : DEFAULT_INTERVAL_NS;
}

/* Grows *arr (of *cap elements of size) to hold n + 1. */
static void on_episode(void *ctx, const struct gt_convoy_episode *ep)
{
	struct gt_metrics *m = ctx;
	struct gt_convoy_pair *p = NULL;
	for (size_t i = 0; i < m->nconvoys && !p; i++)
		if (m->convoys[i].pid == ep->pid && m->convoys[i].victim == ep->victim &&
		    m->convoys[i].culprit == ep->culprit)
			p = &m->convoys[i];
	if (!p) {
		if (gt_metrics_reserve((void **)&m->convoys, &m->convoys_cap, m->nconvoys, sizeof(*p))) {
			m->oom = 1;
			return;
		}
		p = &m->convoys[m->nconvoys++];
		*p = (struct gt_convoy_pair){ep->pid, ep->victim, ep->culprit, 0, 0, 0};
	}
	p->episodes++;
	p->delayed += ep->delayed;
	p->delay_ns += ep->delay_ns;
	if (!m->keep_episodes)
		return;
	if (gt_metrics_reserve((void **)&m->episodes, &m->episodes_cap, m->nepisodes, sizeof(*ep))) {
		m->oom = 1;
		return;
	}
	m->episodes[m->nepisodes++] = *ep;
}

static void seen(struct gt_thread_stats *t, uint64_t ts, uint64_t end)
{
	if (!t->first_ts || ts < t->first_ts)
		t->first_ts = ts;
	if (end > t->last_ts)
		t->last_ts = end;
}

static void on_thread(void *ctx, const struct gt_rd_thread *th)
{
	struct gt_thread_stats *t = gt_metrics_thread_of(ctx, th->pid, th->tid);
	if (t && th->name && th->name[0])
		snprintf(t->name, sizeof(t->name), "%s", th->name);
	if (t && th->os_name)
		snprintf(t->os_name, sizeof(t->os_name), "%s", th->os_name);
}

static void on_gil(void *ctx, const struct gt_rd_gil *g)
{
	struct gt_gil_stats *s = gt_metrics_gil(ctx, g->pid, g->slot);
	if (s && g->interp_id >= 0) { /* a GIL record, not just its track */
		s->interp_id = g->interp_id;
		gt_metrics_gil_interp(ctx, s, g->interp_id);
	}
}

static void on_interp(void *ctx, const struct gt_rd_gil *g)
{
	struct gt_gil_stats *s = gt_metrics_gil(ctx, g->pid, g->slot);
	if (s)
		gt_metrics_gil_interp(ctx, s, g->interp_id);
}

/* A wait's CPU waits (docs/metrics.md, "CPU waits"): its own run delay
 * and its holders' that kept it waiting, which the recorder measured
 * apart and never overlap but in a rare case said there; what is left is
 * its wait for the GIL, returned. A wait cut off by the trace's end, or
 * ended by an exit, has none and counts whole. */
static uint64_t cpu_waits(struct gt_metrics *m, struct gt_thread_stats *t, struct gt_gil_stats *g,
		      const struct gt_rd_slice *s)
{
	uint64_t own = s->has_cpu_wait ? s->cpu_wait : 0;
	uint64_t held = s->has_holder_cpu_wait ? s->holder_cpu_wait : 0;
	if (own > s->dur)
		own = s->dur;
	if (held > s->dur - own)
		held = s->dur - own;
	uint64_t rest = s->dur - own - held;
	if (!s->has_cpu_wait && !s->open && !s->ended)
		m->waits_unsplit++;
	t->wait_cpu_ns += own;
	t->wait_held_ns += held;
	t->wait_excl_ns += rest;
	m->wait_excl_sq_ns2 += (double)rest * (double)rest;
	gt_time_hist_add(&m->wait_excl_time, rest);
	if (g)
		g->wait_excl_ns += rest;
	return rest;
}

static void on_slice(void *ctx, const struct gt_rd_slice *s)
{
	struct gt_metrics *m = ctx;
	struct gt_thread_stats *t = s->tid ? gt_metrics_thread_of(m, s->pid, s->tid) : NULL;
	struct gt_gil_stats *g = s->gil >= 0 ? gt_metrics_gil(m, s->pid, (unsigned)s->gil) : NULL;
	uint64_t end = s->ts + s->dur;

	if (t && s->open)
		t->open++;
	switch (s->kind) {
	case GT_RD_WAIT:
		if (!t)
			break;
		seen(t, s->ts, end);
		t->wait_ns += s->dur;
		t->waits++;
		t->timeouts += s->timeouts;
		if (s->dur > t->wait_max)
			t->wait_max = s->dur;
		if (!t->wait_hist && !(t->wait_hist = calloc(1, sizeof(*t->wait_hist))))
			m->oom = 1;
		if (t->wait_hist)
			gt_hist_add(t->wait_hist, s->dur);
		gt_hist_add(&m->all_waits, s->dur);
		gt_time_hist_add(&m->wait_time, s->dur);
		m->wait_sq_ns2 += (double)s->dur * (double)s->dur;
		if (g)
			g->wait_ns += s->dur;
		/* A convoy is a wait for the GIL: measured without CPU waits. */
		uint64_t for_gil = cpu_waits(m, t, g, s);
		if (!s->open)
			gt_convoy_wait(&t->convoy, &m->convoy_opts, t->pid, t->tid, s->ts, s->dur,
				       for_gil, s->holder_tid, interval_ns(g, t), on_episode, m);
		break;
	case GT_RD_HOLD:
		if (!t)
			break;
		seen(t, s->ts, end);
		t->hold_ns += s->dur;
		t->holds++;
		switch (s->ended) {
		case GT_END_FORCED:
			t->forced++;
			m->forced++;
			break;
		case GT_END_VOLUNTARY:
			m->voluntary++;
			break;
		case GT_END_THREAD_EXIT:
			m->thread_exits++;
			break;
		case GT_END_PROCESS_EXIT:
			m->process_exits++;
			break;
		default:
			break;
		}
		gt_convoy_hold(&t->convoy, &m->convoy_opts, t->pid, t->tid, s->ts, s->dur,
			       s->ended == GT_END_VOLUNTARY, interval_ns(g, t), on_episode, m);
		break;
	case GT_RD_HOLDER: {
		if (!g)
			break;
		g->held_ns += s->dur;
		g->holds++;
		if (s->has_cpu_wait)
			g->holder_off_ns += s->cpu_wait < s->dur ? s->cpu_wait : s->dur;
		if (s->prev_holder)
			g->switches++;
		gt_hist_add(&g->hold_hist, s->dur);
		uint64_t in_force = interval_ns(g, t);
		held_by_interval(g, in_force, s->dur);
		double intervals = (double)s->dur / (double)in_force;
		int b = 0;
		while (b + 1 < GT_HOLD_BUCKETS && intervals >= gt_hold_bucket_edges[b + 1])
			b++;
		g->bucket_holds[b]++;
		g->bucket_ns[b] += s->dur;
		if (!g->first_ts || s->ts < g->first_ts)
			g->first_ts = s->ts;
		if (end > g->last_ts)
			g->last_ts = end;
		break;
	}
	case GT_RD_CONTENDED:
		if (g)
			g->contended_ns += s->dur;
		break;
	case GT_RD_DROP_REQUEST:
		if (g)
			g->drop_requests++;
		if (s->requested_by) {
			struct gt_thread_stats *w = gt_metrics_thread_of(m, s->pid, s->requested_by);
			if (w)
				w->drop_requests++;
		}
		break;
	}
}

/* A switch interval said on a thread's sequence applies to that thread's
 * later slices; one on the metadata sequence (tid 0) is the GIL's declared
 * interval. Never "the last one in the file" for everything: threads'
 * packets are interleaved in the file out of time order. */
static void on_counter(void *ctx, const struct gt_rd_counter *c)
{
	struct gt_metrics *m = ctx;
	if (!c->is_interval || c->gil < 0 || c->value <= 0 || c->value > UINT32_MAX)
		return;
	if (!c->tid) {
		struct gt_gil_stats *g = gt_metrics_gil(m, c->pid, (unsigned)c->gil);
		if (g)
			g->interval_us = (uint32_t)c->value;
		return;
	}
	struct gt_thread_stats *t = gt_metrics_thread_of(m, c->pid, c->tid);
	if (t) {
		t->interval_gil = c->gil;
		t->interval_us = (uint32_t)c->value;
	}
}

static void copy(char *dst, size_t n, const char *src)
{
	if (src)
		snprintf(dst, n, "%s", src);
}

/* The trace is the last part, from ts, of a recording begun at run_start. */
static void window(struct gt_metrics *m, uint64_t ts, uint64_t run_start)
{
	if (!m->run_start_ns || run_start < m->run_start_ns)
		m->run_start_ns = run_start;
	if (ts > m->window_ns)
		m->window_ns = ts;
}

static void on_meta(void *ctx, const struct gt_rd_meta *md)
{
	struct gt_metrics *m = ctx;
	if (md->window) {
		if (md->run_start)
			window(m, md->ts, md->run_start);
		return;
	}
	copy(m->python_version, sizeof(m->python_version), md->python_version);
	if (md->gil_method) {
		char *method = strdup(md->gil_method);
		if (method) { /* out of memory: the report just does not say it */
			free(m->gil_method);
			m->gil_method = method;
		}
	}
	copy(m->recorder, sizeof(m->recorder), md->recorder);
	copy(m->giltrace_version, sizeof(m->giltrace_version), md->giltrace_version);
	copy(m->clock, sizeof(m->clock), md->clock);
	gt_metrics_proc_meta(m, md);
	if (md->final) {
		m->has_end = 1;
		if (md->ts > m->end_ns)
			m->end_ns = md->ts;
	} else {
		m->has_start = 1;
		if (!m->start_ns || md->ts < m->start_ns)
			m->start_ns = md->ts;
		if (md->run_start)
			window(m, md->ts, md->run_start);
	}
}

struct gt_rd_callbacks gt_metrics_callbacks(struct gt_metrics *m)
{
	struct gt_rd_callbacks cb = {m,	 on_thread, on_gil, on_slice, on_counter,
				     on_meta, gt_metrics_on_process, on_interp};
	return cb;
}

static int by_wait_desc(const void *a, const void *b)
{
	const struct gt_thread_stats *x = a, *y = b;
	if (x->wait_ns != y->wait_ns)
		return x->wait_ns < y->wait_ns ? 1 : -1;
	if (x->hold_ns != y->hold_ns)
		return x->hold_ns < y->hold_ns ? 1 : -1;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

static int by_delay_desc(const void *a, const void *b)
{
	const struct gt_convoy_pair *x = a, *y = b;
	if (x->delay_ns != y->delay_ns)
		return x->delay_ns < y->delay_ns ? 1 : -1;
	return x->victim < y->victim ? -1 : x->victim > y->victim;
}

static int by_time(const void *a, const void *b)
{
	const struct gt_convoy_episode *x = a, *y = b;
	return x->ts < y->ts ? -1 : x->ts > y->ts;
}

void gt_metrics_finish(struct gt_metrics *m, const struct gt_rd_summary *sum)
{
	m->annotated = sum->annotated;
	for (size_t i = 0; i < m->nthreads; i++)
		gt_convoy_end(&m->threads[i].convoy, &m->convoy_opts, m->threads[i].pid,
			      m->threads[i].tid, on_episode, m);
	if (m->nconvoys)
		qsort(m->convoys, m->nconvoys, sizeof(*m->convoys), by_delay_desc);
	if (m->nepisodes)
		qsort(m->episodes, m->nepisodes, sizeof(*m->episodes), by_time);
	if (!m->start_ns || (sum->first_ts && sum->first_ts < m->start_ns))
		m->start_ns = sum->first_ts;
	/* A window: what came before it (the descriptors said again at its
	 * head keep their first timestamps) is not in it. */
	if (m->window_ns && m->start_ns < m->window_ns)
		m->start_ns = m->window_ns;
	if (!m->has_end || sum->last_ts > m->end_ns)
		m->end_ns = sum->last_ts > m->end_ns ? sum->last_ts : m->end_ns;
	m->wall_ns = m->end_ns > m->start_ns ? m->end_ns - m->start_ns : 0;
	gt_metrics_finish_procs(m);
	m->open_slices = sum->open_slices;
	m->unmatched_ends = sum->unmatched_ends;
	/* Threads that never touched the GIL (descriptor only) are dropped. */
	size_t n = 0;
	for (size_t i = 0; i < m->nthreads; i++) {
		if (m->threads[i].waits || m->threads[i].holds)
			m->threads[n++] = m->threads[i];
		else
			free(m->threads[i].wait_hist);
	}
	m->nthreads = n;
	if (m->nthreads)
		qsort(m->threads, m->nthreads, sizeof(*m->threads), by_wait_desc);
	free(m->index); /* order changed; lookups are over */
	m->index = NULL;
	m->index_cap = 0;
	m->last_thread = 0;
}
