/* SPDX-License-Identifier: MIT */
/* summary.c — see summary.h; metric definitions in docs/metrics.md. */
#include "summary.h"
#include "summary_internal.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format.h"
#include "gt_event.h" /* GT_MAX_GILS */

/* When a finding is worth a line (docs/metrics.md#verdicts). */
#define CONTENTION_FINDING 0.5 /* contended at least half the time */
#define STARVED_INTERVALS 3.0  /* a thread's typical (median) wait, in intervals */
#define STARVED_WAITS 5        /* ... over at least this many waits */
#define TURN_TAKER_WAIT 0.05   /* a thread waiting 5% of the run takes turns */
#define STARVED_PEERS 2.0      /* ... and (with contention) twice the typical wait */
#define BUSY_FINDING 0.10      /* a tenth of all waiting was waiting for a CPU */
#define BUSY_WALL 0.01         /* ... and that was 1% of the wall time: a few
				* waits of microseconds say nothing of the machine */

static double ratio(double a, double b) { return b > 0 ? a / b : 0.0; }
static double secs(uint64_t ns) { return (double)ns / 1e9; }

const char *gt_thread_label(const struct gt_metrics *m, uint32_t tid, char *buf, size_t n)
{
	const struct gt_thread_stats *t = gt_metrics_thread(m, tid);
	if (!t || !t->name[0]) {
		snprintf(buf, n, "tid %u", tid);
		return buf;
	}
	/* Threads often share a name (every thread of a Python before 3.14 is
	 * "python3.x" to the OS): then the tid tells them apart. */
	int shared = 0;
	for (size_t i = 0; i < m->nthreads && !shared; i++)
		shared = &m->threads[i] != t && !strcmp(m->threads[i].name, t->name);
	if (shared)
		snprintf(buf, n, "%s (tid %u)", t->name, tid);
	else
		snprintf(buf, n, "%s", t->name);
	return buf;
}

static void add(struct gt_summary *s, const char *anchor, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void add(struct gt_summary *s, const char *anchor, const char *fmt, ...)
{
	if (gt_metrics_reserve((void **)&s->findings, &s->findings_cap, s->nfindings,
			       sizeof(*s->findings))) {
		s->oom = 1;
		return;
	}
	struct gt_finding *f = &s->findings[s->nfindings++];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(f->text, sizeof(f->text), fmt, ap);
	va_end(ap);
	f->anchor = anchor;
}

static const struct gt_thread_summary *thread_summary(const struct gt_summary *s, size_t n,
						      uint32_t tid)
{
	for (size_t i = 0; i < n; i++)
		if (s->threads[i].t->tid == tid)
			return &s->threads[i];
	return NULL;
}

static int by_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* The median of the median waits of process pid's threads that waited
 * often enough to be judged. */
static double typical_wait(const struct gt_summary *s, size_t n, uint32_t pid)
{
	double *w = malloc((n ? n : 1) * sizeof(*w));
	size_t k = 0;
	for (size_t i = 0; w && i < n; i++)
		if (s->threads[i].t->pid == pid && s->threads[i].t->waits >= STARVED_WAITS)
			w[k++] = s->threads[i].wait_p50_s;
	double typical = 0;
	if (k) {
		qsort(w, k, sizeof(*w), by_double);
		typical = k % 2 ? w[k / 2] : (w[k / 2 - 1] + w[k / 2]) / 2;
	}
	free(w);
	return typical;
}

/* Contention and starvation, within one process (each has its own GIL).
 * With several processes each line says which. */
static void process_findings(const struct gt_metrics *m, struct gt_summary *s,
			     const struct gt_proc_summary *ps)
{
	char who[128] = "", a[GT_THREAD_LABEL_MAX], d[32], p[16];
	if (s->nprocs > 1)
		snprintf(who, sizeof(who), "process %u%s%s%s: ", ps->pid,
			 ps->p && ps->p->name[0] ? " (" : "", ps->p ? ps->p->name : "",
			 ps->p && ps->p->name[0] ? ")" : "");
	const struct gt_gil_summary *g = ps->gil;
	/* Turn-taking needs two threads that each both hold and wait for a
	 * real share of the process's life (one thread waiting alone is a
	 * convoy or a starved thread, said above or below). */
	size_t holders = 0;
	for (size_t i = 0; i < m->nthreads; i++)
		holders += m->threads[i].pid == ps->pid && m->threads[i].holds > 0 &&
			   secs(m->threads[i].wait_ns) >= TURN_TAKER_WAIT * ps->wall_s;
	int contention_said = g && g->contention_ratio >= CONTENTION_FINDING && holders >= 2;
	if (contention_said) {
		gt_fmt_percent(p, sizeof(p), g->contention_ratio);
		add(s, "contention",
		    "%sthe GIL was contended %s of the time, %.2f threads waiting on average: %zu "
		    "threads take turns running Python instead of running in parallel: contention",
		    who, p, g->mean_waiters, holders);
	}
	/* Among threads taking turns each waits (N-1) intervals: the
	 * contention verdict says so; starved is then only who waits twice as
	 * long as the typical thread (docs/metrics.md#starvation). */
	double typical = contention_said ? typical_wait(s, m->nthreads, ps->pid) : 0;
	double interval = g && g->interval_s > 0 ? g->interval_s : 0.005;
	for (size_t i = 0; i < m->nthreads; i++) {
		const struct gt_thread_summary *t = &s->threads[i];
		if (t->t->pid != ps->pid || t->t->waits < STARVED_WAITS ||
		    t->wait_p50_s < STARVED_INTERVALS * interval || t->wait_p50_s < STARVED_PEERS * typical)
			continue;
		gt_fmt_duration(d, sizeof(d), (uint64_t)(t->wait_p50_s * 1e9));
		add(s, "starvation",
		    "%sthread %s typically waited %s for the GIL (median of %llu waits), %.0f "
		    "switch intervals: starved",
		    who, gt_thread_label(m, t->t->tid, a, sizeof(a)), d,
		    (unsigned long long)t->t->waits, t->wait_p50_s / interval);
	}
}

static void findings(const struct gt_metrics *m, struct gt_summary *s)
{
	char a[GT_THREAD_LABEL_MAX], b[GT_THREAD_LABEL_MAX], d[32], p[16];
	for (size_t i = 0; i < m->nconvoys && i < 3; i++) {
		const struct gt_convoy_pair *c = &m->convoys[i];
		const struct gt_thread_summary *v = thread_summary(s, m->nthreads, c->victim);
		gt_fmt_percent(p, sizeof(p), v ? v->wait_ratio : 0);
		gt_fmt_duration(d, sizeof(d), c->delay_ns);
		add(s, "convoy",
		    "thread %s waited %s of its life for the GIL; %llu times it came back from a "
		    "blocking call and waited for %s (%s in all): convoy",
		    gt_thread_label(m, c->victim, a, sizeof(a)), p, (unsigned long long)c->delayed,
		    gt_thread_label(m, c->culprit, b, sizeof(b)), d);
	}
	for (size_t i = 0; i < s->nprocs; i++)
		process_findings(m, s, &s->procs[i]);
	if (s->split && s->cpu_wait_share >= BUSY_FINDING &&
	    s->wait_cpu_s + s->wait_held_s >= BUSY_WALL * s->wall_s) {
		char own[16], held[16];
		double own_part = ratio(s->wait_cpu_s, s->wait_cpu_s + s->wait_held_s);
		gt_fmt_percent(p, sizeof(p), s->cpu_wait_share);
		gt_fmt_percent(own, sizeof(own), s->cpu_wait_share * own_part);
		gt_fmt_percent(held, sizeof(held), s->cpu_wait_share * (1 - own_part));
		add(s, "busy",
		    "%s of GIL waiting was waiting for a CPU (%s the waiters', %s their holders' "
		    "without one): the machine was busy; the numbers without CPU waits exclude it",
		    p, own, held);
	}
	/* The end records count the whole recording, kept part or not. */
	if (m->events_dropped)
		add(s, "dropped",
		    "%llu events were dropped while recording%s: the numbers above are lower bounds",
		    (unsigned long long)m->events_dropped,
		    m->run_start_ns ? " (over the whole recording, not only the part kept)" : "");
	if (m->gils_untraced)
		add(s, "dropped",
		    "%llu GILs were created after a process's first %d and not traced: their "
		    "threads' holds and waits are missing",
		    (unsigned long long)m->gils_untraced, GT_MAX_GILS);
	if (!m->has_end)
		add(s, "incomplete",
		    "the trace has no end record (the program was killed?): %llu slices were cut off",
		    (unsigned long long)m->open_slices);
}

static int main_gil_first(const void *x, const void *y)
{
	const struct gt_gil_summary *a = x, *b = y;
	int ma = gt_gil_is_main(a->g), mb = gt_gil_is_main(b->g);
	if (ma != mb)
		return mb - ma;
	/* Several processes: the most contended main GIL is the headline. */
	if (a->g->pid != b->g->pid && ma && a->g->contended_ns != b->g->contended_ns)
		return a->g->contended_ns < b->g->contended_ns ? 1 : -1;
	if (a->g->pid != b->g->pid)
		return a->g->pid < b->g->pid ? -1 : 1;
	return a->g->slot < b->g->slot ? -1 : a->g->slot > b->g->slot;
}

/* CPU waits over all threads (docs/metrics.md, "CPU waits"). */
static void cpu_waits(const struct gt_metrics *m, struct gt_summary *s)
{
	uint64_t wait = 0, own = 0, held = 0, excl = 0;
	for (size_t i = 0; i < m->nthreads; i++) {
		wait += m->threads[i].wait_ns;
		own += m->threads[i].wait_cpu_ns;
		held += m->threads[i].wait_held_ns;
		excl += m->threads[i].wait_excl_ns;
	}
	s->split = m->split;
	s->split_note = m->split_note;
	s->wait_cpu_s = secs(own);
	s->wait_held_s = secs(held);
	s->cpu_wait_share = ratio(secs(own + held), secs(wait));
	s->wait_weighted_mean_excl_s = excl ? m->wait_excl_sq_ns2 / (double)excl / 1e9 : 0;
	s->wait_weighted_median_excl_s = secs(gt_time_hist_quantile(&m->wait_excl_time, 0.5));
}

int gt_summarize(const struct gt_metrics *m, struct gt_summary *s)
{
	memset(s, 0, sizeof(*s));
	double wall = secs(m->wall_ns);
	s->wall_s = wall;
	s->complete = m->has_end;
	s->ngils = m->ngils;
	s->gils = calloc(m->ngils ? m->ngils : 1, sizeof(*s->gils));
	s->threads = calloc(m->nthreads ? m->nthreads : 1, sizeof(*s->threads));
	if (!s->gils || !s->threads) {
		gt_summary_free(s);
		return -1;
	}
	for (size_t i = 0; i < m->ngils; i++) {
		const struct gt_gil_stats *g = &m->gils[i];
		struct gt_gil_summary *gs = &s->gils[i];
		gs->g = g;
		/* Of its own process's life: a worker that lived a second of a
		 * ten-second run is not 90% idle. */
		double pw = gt_summary_proc_wall(m, g->pid, wall);
		gs->held_ratio = ratio(secs(g->held_ns), pw);
		gs->contention_ratio = ratio(secs(g->contended_ns), pw);
		gs->mean_waiters = ratio(secs(g->wait_ns), pw);
		/* Without CPU waits, per second of the program's own time: the
		 * wall time less the time the holder had no CPU while others
		 * waited, when no thread of it could run Python. */
		uint64_t busy = g->holder_off_ns < g->contended_ns ? g->holder_off_ns : g->contended_ns;
		double own = pw - secs(busy) > 0 ? pw - secs(busy) : pw;
		gs->contention_ratio_excl = ratio(secs(g->contended_ns - busy), own);
		gs->mean_waiters_excl = ratio(secs(g->wait_excl_ns), own);
		gs->holder_off_share = ratio(secs(busy), secs(g->contended_ns));
		gs->switches_per_s = ratio((double)g->switches, pw);
		gs->interval_s = gt_metrics_main_interval_us(g, &gs->interval_other_share) / 1e6;
		gs->hold_p50_s = secs(gt_hist_quantile(&g->hold_hist, 0.5));
		gs->hold_p99_s = secs(gt_hist_quantile(&g->hold_hist, 0.99));
		gs->hold_max_s = secs(g->hold_hist.max);
		s->drop_requests += g->drop_requests;
	}
	if (m->ngils)
		qsort(s->gils, m->ngils, sizeof(*s->gils), main_gil_first);
	if (m->ngils) {
		const struct gt_gil_summary *g = &s->gils[0];
		s->gil_held_ratio = g->held_ratio;
		s->contention_ratio = g->contention_ratio;
		s->mean_waiters = g->mean_waiters;
		s->switches_per_s = g->switches_per_s;
		s->switch_interval_s = g->interval_s;
		s->contention_ratio_excl = g->contention_ratio_excl;
		s->mean_waiters_excl = g->mean_waiters_excl;
	}
	cpu_waits(m, s);
	s->forced_per_s = ratio((double)m->forced, wall);
	uint64_t delay = 0;
	for (size_t i = 0; i < m->nconvoys; i++)
		delay += m->convoys[i].delay_ns;
	s->convoy_delay_s = secs(delay);
	s->convoy_delay_ratio = ratio(s->convoy_delay_s, wall);
	uint64_t wait_ns = 0;
	for (size_t i = 0; i < m->nthreads; i++)
		wait_ns += m->threads[i].wait_ns;
	s->wait_mean_s = m->all_waits.n ? secs(wait_ns) / (double)m->all_waits.n : 0;
	s->wait_weighted_mean_s = wait_ns ? m->wait_sq_ns2 / (double)wait_ns / 1e9 : 0;
	s->wait_weighted_median_s = secs(gt_time_hist_quantile(&m->wait_time, 0.5));
	s->wait_p50_s = secs(gt_hist_quantile(&m->all_waits, 0.5));
	s->wait_p90_s = secs(gt_hist_quantile(&m->all_waits, 0.9));
	s->wait_p99_s = secs(gt_hist_quantile(&m->all_waits, 0.99));
	s->wait_max_s = secs(m->all_waits.max);
	for (size_t i = 0; i < m->nthreads; i++) {
		const struct gt_thread_stats *t = &m->threads[i];
		struct gt_thread_summary *ts = &s->threads[i];
		ts->t = t;
		ts->life_s = secs(t->last_ts > t->first_ts ? t->last_ts - t->first_ts : 0);
		ts->wait_ratio = ratio(secs(t->wait_ns), ts->life_s);
		if (t->wait_hist) {
			ts->wait_p50_s = secs(gt_hist_quantile(t->wait_hist, 0.5));
			ts->wait_p90_s = secs(gt_hist_quantile(t->wait_hist, 0.9));
			ts->wait_p99_s = secs(gt_hist_quantile(t->wait_hist, 0.99));
		}
		ts->wait_max_s = secs(t->wait_max);
	}
	if (gt_summary_procs(m, s)) {
		gt_summary_free(s);
		return -1;
	}
	findings(m, s);
	if (s->oom) { /* never a report that silently lacks a verdict */
		gt_summary_free(s);
		return -1;
	}
	return 0;
}

void gt_summary_free(struct gt_summary *s)
{
	free(s->gils);
	free(s->procs);
	free(s->threads);
	free(s->findings);
	s->findings = NULL;
	s->nfindings = s->findings_cap = 0;
	s->procs = NULL;
	s->gils = NULL;
	s->threads = NULL;
}
