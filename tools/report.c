/* SPDX-License-Identifier: MIT */
/* report.c — see report.h; metric definitions in docs/metrics.md. */
#include "report.h"

#include <string.h>

#include "format.h"

int gt_report_load(const char *path, struct gt_metrics *m, char *err, size_t errlen)
{
	struct gt_rd_summary sum;
	gt_metrics_init(m);
	struct gt_rd_callbacks cb = gt_metrics_callbacks(m);
	if (gt_read_trace(path, &cb, &sum, err, errlen))
		return -1;
	if (m->oom) {
		snprintf(err, errlen, "out of memory reading %s", path);
		return -1;
	}
	gt_metrics_finish(m, &sum);
	return 0;
}

static double ratio(uint64_t a, uint64_t b) { return b ? (double)a / (double)b : 0.0; }

/* Pads s on the right (left = 0) or left (left = 1) to width columns. */
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

static void gil_line(FILE *out, const struct gt_metrics *m, const struct gt_gil_stats *g, int several)
{
	char held[16], cont[16], mean[32], interval[32];
	gt_fmt_percent(held, sizeof(held), ratio(g->held_ns, m->wall_ns));
	gt_fmt_percent(cont, sizeof(cont), ratio(g->contended_ns, m->wall_ns));
	snprintf(mean, sizeof(mean), "%.2f", ratio(g->wait_ns, m->wall_ns));
	if (g->interval_us)
		gt_fmt_duration(interval, sizeof(interval), (uint64_t)g->interval_us * 1000);
	else
		snprintf(interval, sizeof(interval), "unknown");
	double switches = m->wall_ns ? (double)g->switches * 1e9 / (double)m->wall_ns : 0;
	if (several)
		fprintf(out, "  GIL of interpreter %lld:\n", (long long)g->interp_id);
	fprintf(out, "  GIL held %s of the time, contended (a thread waiting) %s, %s threads "
		     "waiting on average\n",
		held, cont, mean);
	fprintf(out, "  %.0f switches/s, switch interval %s, %llu drop requests\n", switches,
		interval, (unsigned long long)g->drop_requests);
}

void gt_report_text(FILE *out, const struct gt_metrics *m, const struct gt_report_opts *o)
{
	char wall[32];
	gt_fmt_duration(wall, sizeof(wall), m->wall_ns);
	fprintf(out, "giltrace report: %s\n", o->trace_path ? o->trace_path : "-");
	fprintf(out, "  CPython %s, %zu thread%s, wall time %s, %s recorder\n",
		m->python_version[0] ? m->python_version : "(unknown)", m->nthreads,
		m->nthreads == 1 ? "" : "s", wall, m->recorder[0] ? m->recorder : "?");
	for (size_t i = 0; i < m->ngils; i++)
		gil_line(out, m, &m->gils[i], m->ngils > 1);
	fprintf(out, "  releases: %llu forced, %llu voluntary, %llu at thread exit\n",
		(unsigned long long)m->forced, (unsigned long long)m->voluntary,
		(unsigned long long)m->thread_exits);
	if (m->events_dropped)
		fprintf(out, "  warning: %llu events were dropped while recording; totals are "
			     "lower bounds\n",
			(unsigned long long)m->events_dropped);
	if (!m->has_end)
		fprintf(out, "  warning: the trace has no end record (the program was killed?); "
			     "%llu slices were cut off\n",
			(unsigned long long)m->open_slices);

	static const char *const head[] = {"THREAD", "TID", "WAIT TOTAL", "WAITS", "LONGEST",
					   "HOLD TOTAL", "FORCED"};
	static const size_t width[] = {16, 8, 11, 7, 10, 11, 7};
	fputs("\n  ", out);
	for (int c = 0; c < 7; c++) {
		cell(out, head[c], width[c], c > 1);
		fputs(c < 6 ? " " : "\n", out);
	}
	size_t shown = o->top && (size_t)o->top < m->nthreads ? (size_t)o->top : m->nthreads;
	for (size_t i = 0; i < shown; i++) {
		const struct gt_thread_stats *t = &m->threads[i];
		char c[7][32];
		snprintf(c[0], sizeof(c[0]), "%s", t->name[0] ? t->name : "?");
		snprintf(c[1], sizeof(c[1]), "%u", t->tid);
		gt_fmt_duration(c[2], sizeof(c[2]), t->wait_ns);
		snprintf(c[3], sizeof(c[3]), "%llu", (unsigned long long)t->waits);
		gt_fmt_duration(c[4], sizeof(c[4]), t->wait_max);
		gt_fmt_duration(c[5], sizeof(c[5]), t->hold_ns);
		snprintf(c[6], sizeof(c[6]), "%llu", (unsigned long long)t->forced);
		fputs("  ", out);
		for (int k = 0; k < 7; k++) {
			cell(out, c[k], width[k], k > 1);
			fputs(k < 6 ? " " : "\n", out);
		}
	}
	if (shown < m->nthreads)
		fprintf(out, "  ... and %zu more threads (--top)\n", m->nthreads - shown);
}
