/* SPDX-License-Identifier: MIT */
/* report.c — loading a trace and the text report (see report.h). */
#include "report.h"

#include <string.h>

#include "format.h"

int gt_report_load(const char *path, struct gt_metrics *m, const struct gt_convoy_opts *convoy,
		   int keep_episodes, char *err, size_t errlen)
{
	struct gt_rd_summary sum;
	gt_metrics_init(m);
	if (convoy)
		m->convoy_opts = *convoy;
	m->keep_episodes = keep_episodes;
	struct gt_rd_callbacks cb = gt_metrics_callbacks(m);
	if (gt_read_trace(path, &cb, &sum, err, errlen))
		return -1;
	gt_metrics_finish(m, &sum);
	if (m->oom) {
		snprintf(err, errlen, "out of memory reading %s", path);
		return -1;
	}
	return 0;
}

/* The widest a thread's name gets in a table (the JSON has it whole). */
#define NAME_COLUMN_MAX 32

/* Pads s on the right (right = 0) or left (right = 1) to width columns. */
static void cell(FILE *out, const char *s, size_t width, int right)
{
	size_t w = gt_fmt_width(s);
	if (right)
		for (; w < width; w++)
			fputc(' ', out);
	fputs(s, out);
	if (!right)
		for (; w < width; w++)
			fputc(' ', out);
}

/* One table row; a column of width 0 is left out. */
static void row(FILE *out, char c[][GT_THREAD_LABEL_MAX], const size_t *width, int n,
		int left_cols)
{
	fputs("  ", out);
	for (int k = 0, first = 1; k < n; k++) {
		if (!width[k])
			continue;
		if (!first)
			fputc(' ', out);
		first = 0;
		cell(out, c[k], width[k], k >= left_cols);
	}
	fputc('\n', out);
}

static void dur(char *buf, size_t n, double seconds)
{
	gt_fmt_duration(buf, n, (uint64_t)(seconds * 1e9 + 0.5));
}

/* The GIL's lines, under a heading when there is more than one GIL. */
static void gil_lines(FILE *out, const struct gt_summary *s, const struct gt_gil_summary *g)
{
	char held[16], cont[16], interval[64];
	gt_fmt_percent(held, sizeof(held), g->held_ratio);
	gt_fmt_percent(cont, sizeof(cont), g->contention_ratio);
	if (g->interval_s > 0) {
		dur(interval, sizeof(interval), g->interval_s);
		if (g->interval_other_share >= 0.0005) { /* what "0.1%" rounds from */
			char share[16];
			size_t n = strlen(interval);
			gt_fmt_percent(share, sizeof(share), g->interval_other_share);
			snprintf(interval + n, sizeof(interval) - n, " (others during %s of the held time)",
				 share);
		}
	} else
		snprintf(interval, sizeof(interval), "unknown");
	if (s->nprocs > 1)
		fprintf(out, "  the most contended GIL, process %u's%s:\n", g->g->pid,
			g->g->interp_id > 0 ? " (a subinterpreter's)" : "");
	else if (s->ngils > 1 && g->g->interp_id >= 0)
		fprintf(out, "  GIL of interpreter %lld:\n", (long long)g->g->interp_id);
	else if (s->ngils > 1)
		fprintf(out, "  GIL %u (interpreter unknown):\n", g->g->slot);
	if (g->g->ninterps > 1) {
		/* Subinterpreters of the legacy configuration share it. */
		char ids[160];
		size_t n = 0, i = 0, k = g->g->ninterps;
		for (; i < k && n < sizeof(ids) - 40; i++)
			n += (size_t)snprintf(ids + n, sizeof(ids) - n, "%s%lld",
					      !i ? "" : i + 1 == k ? " and " : ", ",
					      (long long)g->g->interps[i]);
		if (i < k) /* a line, not a list of hundreds */
			snprintf(ids + n, sizeof(ids) - n, " and %zu more", k - i);
		fprintf(out, "  shared: interpreters %s run under this GIL\n", ids);
	}
	fprintf(out, "  GIL held %s of the time, contended (a thread waiting) %s, %.2f threads "
		     "waiting on average\n",
		held, cont, g->mean_waiters);
	if (s->split && g->g->wait_ns) {
		char excl[16], off[16];
		gt_fmt_percent(excl, sizeof(excl), g->contention_ratio_excl);
		gt_fmt_percent(off, sizeof(off), g->holder_off_share);
		fprintf(out, "  without CPU waits: contended %s, %.2f threads waiting on average "
			     "(the holder had no CPU %s of the contended time)\n",
			excl, g->mean_waiters_excl, off);
	}
	fprintf(out, "  %.0f switches/s, switch interval %s, %llu drop requests\n",
		g->switches_per_s, interval, (unsigned long long)g->g->drop_requests);
	/* How long holds last, in switch intervals: the shape of the workload. */
	uint64_t holds = 0, held_ns = 0;
	for (int b = 0; b < GT_HOLD_BUCKETS; b++)
		holds += g->g->bucket_holds[b], held_ns += g->g->bucket_ns[b];
	if (!holds)
		return;
	static const char *const names[GT_HOLD_BUCKETS] = {"<0.1", "0.1-0.5", "0.5-1", "1-2",
							   ">=2"};
	int most = 0;
	for (int b = 1; b < GT_HOLD_BUCKETS; b++)
		if (g->g->bucket_ns[b] > g->g->bucket_ns[most])
			most = b;
	fputs("  hold lengths in switch intervals:", out);
	for (int b = 0; b < GT_HOLD_BUCKETS; b++) {
		fprintf(out, "%s %s x%llu", b ? "," : "", names[b],
			(unsigned long long)g->g->bucket_holds[b]);
		if (b == most && held_ns) {
			char p[16];
			gt_fmt_percent(p, sizeof(p), (double)g->g->bucket_ns[b] / (double)held_ns);
			fprintf(out, " (%s of held time)", p);
		}
	}
	fputc('\n', out);
}

/* How much of the waiting was waiting for a CPU, or why that is not known. */
static void cpu_wait_line(FILE *out, const struct gt_metrics *m, const struct gt_summary *s)
{
	uint64_t wait = 0;
	for (size_t i = 0; i < m->nthreads; i++)
		wait += m->threads[i].wait_ns;
	if (!wait)
		return;
	if (!s->split) {
		fprintf(out, "  GIL waits are not split into waiting for the GIL and for a CPU: %s\n",
			s->split_note);
		return;
	}
	char all[32], own[32], held[32], w[32];
	gt_fmt_percent(all, sizeof(all), s->cpu_wait_share);
	dur(own, sizeof(own), s->wait_cpu_s);
	dur(held, sizeof(held), s->wait_held_s);
	gt_fmt_duration(w, sizeof(w), wait);
	fprintf(out, "  of %s of GIL waits, %s waited for a CPU: %s the waiters had none, %s their "
		     "holder\n",
		w, all, own, held);
}

/* Several processes: one line each, most waited-for first. */
static void process_table(FILE *out, const struct gt_summary *s, int top)
{
	static const char *const head[] = {"PROCESS", "PID", "THREADS", "WAIT TOTAL",
					   "HOLD TOTAL", "GIL HELD", "CONTENDED", "LIFE"};
	enum { NCOL = 8 };
	size_t width[NCOL] = {24, 7, 7, 10, 10, 8, 9, 9};
	char c[NCOL][GT_THREAD_LABEL_MAX];
	for (int k = 0; k < NCOL; k++)
		snprintf(c[k], sizeof(c[k]), "%s", head[k]);
	fputc('\n', out);
	row(out, c, width, NCOL, 1);
	size_t shown = top && (size_t)top < s->nprocs ? (size_t)top : s->nprocs;
	for (size_t i = 0; i < shown; i++) {
		const struct gt_proc_summary *p = &s->procs[i];
		char name[GT_THREAD_LABEL_MAX];
		gt_proc_label(p, name, sizeof(name));
		gt_fmt_cut(c[0], sizeof(c[0]), name, width[0]);
		snprintf(c[1], sizeof(c[1]), "%u", p->pid);
		snprintf(c[2], sizeof(c[2]), "%zu", p->nthreads);
		gt_fmt_duration(c[3], sizeof(c[3]), p->wait_ns);
		gt_fmt_duration(c[4], sizeof(c[4]), p->hold_ns);
		if (p->gil) {
			gt_fmt_percent(c[5], sizeof(c[5]), p->gil->held_ratio);
			gt_fmt_percent(c[6], sizeof(c[6]), p->gil->contention_ratio);
		} else {
			snprintf(c[5], sizeof(c[5]), "-");
			snprintf(c[6], sizeof(c[6]), "-");
		}
		dur(c[7], sizeof(c[7]), p->wall_s);
		row(out, c, width, NCOL, 1);
	}
	if (shown < s->nprocs)
		fprintf(out, "  ... and %zu more processes (--top)\n", s->nprocs - shown);
	fputc('\n', out);
}

void gt_report_text(FILE *out, const struct gt_metrics *m, const struct gt_summary *s,
		    const struct gt_report_opts *o)
{
	char wall[32];
	dur(wall, sizeof(wall), s->wall_s);
	fprintf(out, "giltrace report: %s%s%s\n", o->trace_path ? o->trace_path : "-",
		o->process ? ", only process " : "", o->process ? o->process : "");
	char procs[48] = "";
	if (s->nprocs > 1)
		snprintf(procs, sizeof(procs), "%zu processes, ", s->nprocs);
	fprintf(out, "  CPython %s, %s%zu thread%s, wall time %s, %s recorder\n",
		m->python_version[0] ? m->python_version : "(unknown)", procs, m->nthreads,
		m->nthreads == 1 ? "" : "s", wall, m->recorder[0] ? m->recorder : "?");
	if (gt_metrics_layout_known(m) == 0)
		fprintf(out, "  no layout known for CPython %s: its GILs were found by their behaviour "
			     "alone, interpreters not named (docs/cpython-layouts.md)\n",
			m->python_version);
	if (m->run_start_ns && m->end_ns > m->run_start_ns) {
		char all[32];
		dur(all, sizeof(all), (double)(m->end_ns - m->run_start_ns) / 1e9);
		fprintf(out, "  the last %s of a %s recording: the earlier part was dropped "
			     "(giltrace run --keep / --max-size)\n",
			wall, all);
	}
	if (s->nprocs > 1) {
		/* One line per process; the GIL lines only for the worst. */
		process_table(out, s, o->top);
		if (s->ngils)
			gil_lines(out, s, &s->gils[0]);
	} else {
		for (size_t i = 0; i < s->ngils; i++)
			gil_lines(out, s, &s->gils[i]);
	}
	fprintf(out, "  releases: %llu forced, %llu voluntary, %llu at thread exit\n",
		(unsigned long long)m->forced, (unsigned long long)m->voluntary,
		(unsigned long long)m->thread_exits);
	cpu_wait_line(out, m, s);

	static const char *const head[] = {"THREAD", "PID",	"TID",	 "WAIT TOTAL", "NO CPU", "WAITS",
					   "P50",    "P99",	"LONGEST", "HOLD TOTAL", "FORCED", "CAUSED"};
	enum { NCOL = 12 };
	size_t width[NCOL] = {16, s->nprocs > 1 ? 7 : 0, 8, 10, s->split ? 9 : 0, 6, 9, 9, 9, 10, 6, 6};
	char c[NCOL][GT_THREAD_LABEL_MAX];
	size_t shown = o->top && (size_t)o->top < m->nthreads ? (size_t)o->top : m->nthreads;
	/* Python names are long ("ThreadPoolExecutor-0_12"): the column fits
	 * the longest shown. */
	for (size_t i = 0; i < shown; i++) {
		size_t w = gt_fmt_width(s->threads[i].t->name);
		if (w > width[0])
			width[0] = w < NAME_COLUMN_MAX ? w : NAME_COLUMN_MAX;
	}
	for (int k = 0; k < NCOL; k++)
		snprintf(c[k], sizeof(c[k]), "%s", head[k]);
	fputc('\n', out);
	row(out, c, width, NCOL, 1);
	for (size_t i = 0; i < shown; i++) {
		const struct gt_thread_summary *t = &s->threads[i];
		gt_fmt_cut(c[0], sizeof(c[0]), t->t->name[0] ? t->t->name : "?", NAME_COLUMN_MAX);
		snprintf(c[1], sizeof(c[1]), "%u", t->t->pid);
		snprintf(c[2], sizeof(c[2]), "%u", t->t->tid);
		gt_fmt_duration(c[3], sizeof(c[3]), t->t->wait_ns);
		gt_fmt_duration(c[4], sizeof(c[4]), t->t->wait_cpu_ns + t->t->wait_held_ns);
		snprintf(c[5], sizeof(c[5]), "%llu", (unsigned long long)t->t->waits);
		dur(c[6], sizeof(c[6]), t->wait_p50_s);
		dur(c[7], sizeof(c[7]), t->wait_p99_s);
		gt_fmt_duration(c[8], sizeof(c[8]), t->t->wait_max);
		gt_fmt_duration(c[9], sizeof(c[9]), t->t->hold_ns);
		snprintf(c[10], sizeof(c[10]), "%llu", (unsigned long long)t->t->forced);
		snprintf(c[11], sizeof(c[11]), "%llu", (unsigned long long)t->t->drop_requests);
		row(out, c, width, NCOL, 1);
	}
	if (shown < m->nthreads)
		fprintf(out, "  ... and %zu more threads (--top)\n", m->nthreads - shown);

	if (m->nconvoys) {
		static const char *const ch[] = {"CONVOY VICTIM", "TID", "CULPRIT", "TID",
						 "EPISODES", "DELAYED", "DELAY"};
		size_t cw[] = {16, 8, 16, 8, 8, 7, 9};
		for (size_t i = 0; i < m->nconvoys; i++) {
			size_t v = gt_fmt_width(gt_thread_label(m, m->convoys[i].victim, c[0], sizeof(c[0])));
			size_t u = gt_fmt_width(gt_thread_label(m, m->convoys[i].culprit, c[0], sizeof(c[0])));
			cw[0] = v > cw[0] ? (v < NAME_COLUMN_MAX ? v : NAME_COLUMN_MAX) : cw[0];
			cw[2] = u > cw[2] ? (u < NAME_COLUMN_MAX ? u : NAME_COLUMN_MAX) : cw[2];
		}
		fputc('\n', out);
		for (int k = 0; k < 7; k++)
			snprintf(c[k], sizeof(c[k]), "%s", ch[k]);
		row(out, c, cw, 7, 1);
		for (size_t i = 0; i < m->nconvoys; i++) {
			const struct gt_convoy_pair *p = &m->convoys[i];
			char label[GT_THREAD_LABEL_MAX];
			gt_fmt_cut(c[0], sizeof(c[0]), gt_thread_label(m, p->victim, label, sizeof(label)),
				   NAME_COLUMN_MAX);
			snprintf(c[1], sizeof(c[1]), "%u", p->victim);
			gt_fmt_cut(c[2], sizeof(c[2]), gt_thread_label(m, p->culprit, label, sizeof(label)),
				   NAME_COLUMN_MAX);
			snprintf(c[3], sizeof(c[3]), "%u", p->culprit);
			snprintf(c[4], sizeof(c[4]), "%llu", (unsigned long long)p->episodes);
			snprintf(c[5], sizeof(c[5]), "%llu", (unsigned long long)p->delayed);
			gt_fmt_duration(c[6], sizeof(c[6]), p->delay_ns);
			/* Name, tid, name, tid: left, right, left, right. */
			fputs("  ", out);
			for (int k = 0; k < 7; k++) {
				cell(out, c[k], cw[k], k == 1 || k >= 3);
				fputs(k < 6 ? " " : "\n", out);
			}
		}
	}
	fputc('\n', out);
	if (!s->nfindings)
		fputs("  no GIL problem found\n", out);
	for (size_t i = 0; i < s->nfindings; i++)
		fprintf(out, "  %s — see %s/metrics.md#%s\n", s->findings[i].text,
			o->docs ? o->docs : "docs",
			s->findings[i].anchor);
}
