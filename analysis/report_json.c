/* SPDX-License-Identifier: MIT */
/*
 * report_json.c — `report --json` and `report --markdown` (see report.h).
 *
 * The JSON is what `check` reads back as a baseline; its fields are listed
 * in docs/metrics.md#json and only ever added to within a schema_version.
 */
#include <jansson.h>
#include <string.h>

#include "format.h"
#include "gt_version.h"
#include "report.h"

/* Sets key to a number, or fails the whole object (checked at the end). */
static void num(json_t *o, const char *key, double v) { json_object_set_new(o, key, json_real(v)); }
static void integer(json_t *o, const char *key, uint64_t v)
{
	json_object_set_new(o, key, json_integer((json_int_t)v));
}
static void str(json_t *o, const char *key, const char *v)
{
	json_object_set_new(o, key, json_string(v ? v : ""));
}

/* A number that is right or absent: null when the waits are not split. */
static void num_if(json_t *o, const char *key, int known, double v)
{
	json_object_set_new(o, key, known ? json_real(v) : json_null());
}

static json_t *gil_json(const struct gt_gil_summary *g, int split)
{
	json_t *o = json_object();
	integer(o, "pid", g->g->pid);
	json_object_set_new(o, "interp_id",
			    g->g->interp_id >= 0 ? json_integer(g->g->interp_id) : json_null());
	integer(o, "gil", g->g->slot);
	json_t *ids = json_array(); /* its own and any sharing it */
	for (size_t i = 0; i < g->g->ninterps; i++)
		json_array_append_new(ids, json_integer(g->g->interps[i]));
	json_object_set_new(o, "interpreters", ids);
	num(o, "gil_held_ratio", g->held_ratio);
	num(o, "contention_ratio", g->contention_ratio);
	num(o, "mean_waiters", g->mean_waiters);
	num_if(o, "contention_ratio_excl_cpu", split, g->contention_ratio_excl);
	num_if(o, "mean_waiters_excl_cpu", split, g->mean_waiters_excl);
	num_if(o, "holder_no_cpu_s", split, (double)g->g->holder_off_ns / 1e9);
	num(o, "switches_per_s", g->switches_per_s);
	num(o, "switch_interval_s", g->interval_s);
	num(o, "switch_interval_other_share", g->interval_other_share);
	integer(o, "holds", g->g->holds);
	integer(o, "drop_requests", g->g->drop_requests);
	num(o, "hold_p50_us", g->hold_p50_s * 1e6);
	num(o, "hold_p99_us", g->hold_p99_s * 1e6);
	num(o, "hold_max_us", g->hold_max_s * 1e6);
	json_t *buckets = json_array();
	for (int b = 0; b < GT_HOLD_BUCKETS; b++) {
		json_t *x = json_object();
		num(x, "from_intervals", gt_hold_bucket_edges[b]);
		if (b + 1 < GT_HOLD_BUCKETS)
			num(x, "to_intervals", gt_hold_bucket_edges[b + 1]);
		else
			json_object_set_new(x, "to_intervals", json_null());
		integer(x, "holds", g->g->bucket_holds[b]);
		num(x, "held_s", (double)g->g->bucket_ns[b] / 1e9);
		json_array_append_new(buckets, x);
	}
	json_object_set_new(o, "hold_distribution", buckets);
	return o;
}

static json_t *proc_json(const struct gt_proc_summary *p)
{
	json_t *o = json_object();
	char label[GT_THREAD_LABEL_MAX];
	integer(o, "pid", p->pid);
	str(o, "name", gt_proc_label(p, label, sizeof(label)));
	str(o, "cmdline", p->p ? p->p->cmdline : "");
	str(o, "python_version", p->p ? p->p->python_version : "");
	integer(o, "threads", p->nthreads);
	num(o, "wall_s", p->wall_s);
	num(o, "wait_s", (double)p->wait_ns / 1e9);
	num(o, "hold_s", (double)p->hold_ns / 1e9);
	if (p->gil) {
		num(o, "gil_held_ratio", p->gil->held_ratio);
		num(o, "contention_ratio", p->gil->contention_ratio);
		num(o, "switches_per_s", p->gil->switches_per_s);
	}
	json_object_set_new(o, "complete", json_boolean(p->p && p->p->images &&
							 p->p->images_ended >= p->p->images));
	return o;
}

static json_t *thread_json(const struct gt_thread_summary *t, int split)
{
	json_t *o = json_object();
	integer(o, "pid", t->t->pid);
	integer(o, "tid", t->t->tid);
	str(o, "name", t->t->name);
	if (t->t->os_name[0])
		str(o, "os_name", t->t->os_name);
	num(o, "wait_s", (double)t->t->wait_ns / 1e9);
	integer(o, "wait_count", t->t->waits);
	num(o, "wait_ratio", t->wait_ratio);
	num(o, "wait_p50_us", t->wait_p50_s * 1e6);
	num(o, "wait_p90_us", t->wait_p90_s * 1e6);
	num(o, "wait_p99_us", t->wait_p99_s * 1e6);
	num(o, "wait_max_us", t->wait_max_s * 1e6);
	num_if(o, "wait_cpu_s", split, (double)t->t->wait_cpu_ns / 1e9);
	num_if(o, "wait_holder_no_cpu_s", split, (double)t->t->wait_held_ns / 1e9);
	num(o, "hold_s", (double)t->t->hold_ns / 1e9);
	integer(o, "hold_count", t->t->holds);
	integer(o, "forced_releases", t->t->forced);
	integer(o, "forced_caused", t->t->drop_requests);
	return o;
}

int gt_report_json(FILE *out, const struct gt_metrics *m, const struct gt_summary *s,
		   const struct gt_report_opts *o)
{
	json_t *r = json_object();
	integer(r, "schema_version", GT_REPORT_SCHEMA_VERSION);
	str(r, "trace", o->trace_path);
	if (o->process) /* the processes it covers (--process) */
		str(r, "process", o->process);
	str(r, "giltrace_version", GT_VERSION);
	str(r, "python_version", m->python_version);
	/* How each GIL was found, and whether a layout confirmed it. */
	json_object_set_new(r, "gil_method", m->gil_method ? json_string(m->gil_method) : json_null());
	int known = gt_metrics_layout_known(m);
	json_object_set_new(r, "layout_known", known < 0 ? json_null() : json_boolean(known));
	str(r, "recorder", m->recorder);
	str(r, "clock", m->clock);
	json_object_set_new(r, "complete", json_boolean(s->complete));
	integer(r, "events", m->events);
	integer(r, "events_dropped", m->events_dropped);
	num(r, "wall_s", s->wall_s);
	/* The trace is the last wall_s of a longer recording (--keep). */
	if (m->run_start_ns && m->end_ns > m->run_start_ns)
		num(r, "recorded_s", (double)(m->end_ns - m->run_start_ns) / 1e9);
	num(r, "gil_held_ratio", s->gil_held_ratio);
	num(r, "contention_ratio", s->contention_ratio);
	num(r, "mean_waiters", s->mean_waiters);
	num(r, "switches_per_s", s->switches_per_s);
	num(r, "switch_interval_s", s->switch_interval_s);
	integer(r, "forced_releases", m->forced);
	integer(r, "voluntary_releases", m->voluntary);
	integer(r, "thread_exit_releases", m->thread_exits);
	integer(r, "drop_requests", s->drop_requests);
	num(r, "forced_per_s", s->forced_per_s);
	num(r, "wait_mean_us", s->wait_mean_s * 1e6);
	num(r, "wait_weighted_mean_us", s->wait_weighted_mean_s * 1e6);
	num(r, "wait_weighted_median_us", s->wait_weighted_median_s * 1e6);
	num(r, "wait_p50_us", s->wait_p50_s * 1e6);
	num(r, "wait_p90_us", s->wait_p90_s * 1e6);
	num(r, "wait_p99_us", s->wait_p99_s * 1e6);
	num(r, "wait_max_us", s->wait_max_s * 1e6);
	num(r, "convoy_delay_s", s->convoy_delay_s);
	num(r, "convoy_delay_ratio", s->convoy_delay_ratio);
	/* CPU waits (docs/metrics.md): what check gates on by default. */
	str(r, "cpu_split", s->split ? "on" : s->split_note);
	num_if(r, "contention_ratio_excl_cpu", s->split, s->contention_ratio_excl);
	num_if(r, "mean_waiters_excl_cpu", s->split, s->mean_waiters_excl);
	num_if(r, "wait_weighted_mean_excl_cpu_us", s->split, s->wait_weighted_mean_excl_s * 1e6);
	num_if(r, "wait_weighted_median_excl_cpu_us", s->split,
	       s->wait_weighted_median_excl_s * 1e6);
	num_if(r, "wait_cpu_s", s->split, s->wait_cpu_s);
	num_if(r, "wait_holder_no_cpu_s", s->split, s->wait_held_s);
	num_if(r, "cpu_wait_share", s->split, s->cpu_wait_share);

	json_t *gils = json_array();
	for (size_t i = 0; i < s->ngils; i++)
		json_array_append_new(gils, gil_json(&s->gils[i], s->split));
	json_object_set_new(r, "gils", gils);
	json_t *threads = json_array();
	for (size_t i = 0; i < m->nthreads; i++)
		json_array_append_new(threads, thread_json(&s->threads[i], s->split));
	json_object_set_new(r, "threads", threads);
	json_t *procs = json_array();
	for (size_t i = 0; i < s->nprocs; i++)
		json_array_append_new(procs, proc_json(&s->procs[i]));
	json_object_set_new(r, "processes", procs);
	json_t *convoys = json_array();
	for (size_t i = 0; i < m->nconvoys; i++) {
		const struct gt_convoy_pair *p = &m->convoys[i];
		char a[GT_THREAD_LABEL_MAX], b[GT_THREAD_LABEL_MAX];
		json_t *x = json_object();
		integer(x, "victim_tid", p->victim);
		str(x, "victim_name", gt_thread_label(m, p->victim, a, sizeof(a)));
		integer(x, "culprit_tid", p->culprit);
		str(x, "culprit_name", gt_thread_label(m, p->culprit, b, sizeof(b)));
		integer(x, "episodes", p->episodes);
		integer(x, "delayed_acquires", p->delayed);
		num(x, "delay_s", (double)p->delay_ns / 1e9);
		json_array_append_new(convoys, x);
	}
	json_object_set_new(r, "convoys", convoys);
	json_t *th = json_object();
	num(th, "delay_intervals", m->convoy_opts.delay);
	num(th, "io_intervals", m->convoy_opts.io);
	integer(th, "run", m->convoy_opts.run);
	json_object_set_new(r, "convoy_thresholds", th);
	json_t *verdicts = json_array();
	for (size_t i = 0; i < s->nfindings; i++) {
		json_t *x = json_object();
		str(x, "kind", s->findings[i].anchor);
		str(x, "text", s->findings[i].text);
		json_array_append_new(verdicts, x);
	}
	json_object_set_new(r, "verdicts", verdicts);

	int rc = json_dumpf(r, out, JSON_INDENT(2) | JSON_REAL_PRECISION(9) | JSON_PRESERVE_ORDER);
	fputc('\n', out);
	json_decref(r);
	return rc ? -1 : 0;
}

/* A thread's name for a table that shows its tid beside it. */
static const char *name_of(const struct gt_metrics *m, uint32_t tid)
{
	const struct gt_thread_stats *t = gt_metrics_thread(m, tid);
	return t && t->name[0] ? t->name : "?";
}

void gt_report_markdown(FILE *out, const struct gt_metrics *m, const struct gt_summary *s,
			const struct gt_report_opts *o)
{
	char a[32], b[32], c[32], d[32];
	fprintf(out, "### giltrace: `%s`%s%s%s\n\n", o->trace_path ? o->trace_path : "-",
		o->process ? ", only process `" : "", o->process ? o->process : "",
		o->process ? "`" : "");
	gt_fmt_duration(a, sizeof(a), (uint64_t)(s->wall_s * 1e9));
	fprintf(out, "CPython %s, %zu threads, wall time %s",
		m->python_version[0] ? m->python_version : "(unknown)", m->nthreads, a);
	if (m->run_start_ns && m->end_ns > m->run_start_ns) {
		gt_fmt_duration(b, sizeof(b), m->end_ns - m->run_start_ns);
		fprintf(out, " (the last part of a %s recording)", b);
	}
	fputs(".\n\n", out);
	fputs("| metric | value |\n|---|---:|\n", out);
	gt_fmt_percent(a, sizeof(a), s->gil_held_ratio);
	fprintf(out, "| GIL held | %s |\n", a);
	gt_fmt_percent(a, sizeof(a), s->contention_ratio);
	fprintf(out, "| contended (≥ 1 waiter) | %s |\n", a);
	fprintf(out, "| threads waiting, mean | %.2f |\n", s->mean_waiters);
	fprintf(out, "| switches per second | %.0f |\n", s->switches_per_s);
	fprintf(out, "| forced releases per second | %.1f |\n", s->forced_per_s);
	gt_fmt_duration(a, sizeof(a), (uint64_t)(s->wait_p99_s * 1e9));
	fprintf(out, "| wait p99 | %s |\n", a);
	gt_fmt_duration(a, sizeof(a), (uint64_t)(s->convoy_delay_s * 1e9));
	fprintf(out, "| convoy delay | %s |\n", a);
	if (s->split) {
		gt_fmt_percent(a, sizeof(a), s->cpu_wait_share);
		fprintf(out, "| GIL waiting that was waiting for a CPU | %s |\n", a);
		gt_fmt_percent(a, sizeof(a), s->contention_ratio_excl);
		fprintf(out, "| contended, without CPU waits | %s |\n", a);
		gt_fmt_duration(a, sizeof(a), (uint64_t)(s->wait_weighted_median_excl_s * 1e9));
		fprintf(out, "| weighted median wait, without CPU waits | %s |\n", a);
	}
	fputc('\n', out);

	if (s->nprocs > 1) {
		fputs("| process | pid | threads | wait total | GIL held | contended |\n"
		      "|---|---:|---:|---:|---:|---:|\n",
		      out);
		for (size_t i = 0; i < s->nprocs; i++) {
			const struct gt_proc_summary *p = &s->procs[i];
			char label[GT_THREAD_LABEL_MAX];
			gt_fmt_duration(a, sizeof(a), p->wait_ns);
			gt_fmt_percent(b, sizeof(b), p->gil ? p->gil->held_ratio : 0);
			gt_fmt_percent(c, sizeof(c), p->gil ? p->gil->contention_ratio : 0);
			fprintf(out, "| %s | %u | %zu | %s | %s | %s |\n",
				gt_proc_label(p, label, sizeof(label)), p->pid, p->nthreads, a,
				p->gil ? b : "-", p->gil ? c : "-");
		}
		fputc('\n', out);
	}
	fputs("| thread | tid | wait total | waits | p50 | p99 | longest | hold total | forced |\n"
	      "|---|---:|---:|---:|---:|---:|---:|---:|---:|\n",
	      out);
	size_t shown = o->top && (size_t)o->top < m->nthreads ? (size_t)o->top : m->nthreads;
	for (size_t i = 0; i < shown; i++) {
		const struct gt_thread_summary *t = &s->threads[i];
		gt_fmt_duration(a, sizeof(a), t->t->wait_ns);
		gt_fmt_duration(b, sizeof(b), (uint64_t)(t->wait_p50_s * 1e9));
		gt_fmt_duration(c, sizeof(c), (uint64_t)(t->wait_p99_s * 1e9));
		gt_fmt_duration(d, sizeof(d), t->t->wait_max);
		char hold[32];
		gt_fmt_duration(hold, sizeof(hold), t->t->hold_ns);
		fprintf(out, "| %s | %u | %s | %llu | %s | %s | %s | %s | %llu |\n",
			t->t->name[0] ? t->t->name : "?", t->t->tid, a,
			(unsigned long long)t->t->waits, b, c, d, hold,
			(unsigned long long)t->t->forced);
	}
	if (m->nconvoys) {
		fputs("\n| convoy victim | culprit | episodes | delayed re-acquisitions | delay |\n"
		      "|---|---|---:|---:|---:|\n",
		      out);
		for (size_t i = 0; i < m->nconvoys; i++) {
			const struct gt_convoy_pair *p = &m->convoys[i];
			gt_fmt_duration(c, sizeof(c), p->delay_ns);
			fprintf(out, "| %s (%u) | %s (%u) | %llu | %llu | %s |\n",
				name_of(m, p->victim), p->victim, name_of(m, p->culprit), p->culprit,
				(unsigned long long)p->episodes, (unsigned long long)p->delayed, c);
		}
	}
	fputc('\n', out);
	if (!s->nfindings)
		fputs("No GIL problem found.\n", out);
	for (size_t i = 0; i < s->nfindings; i++)
		fprintf(out, "- %s ([why](%s/metrics.md#%s))\n", s->findings[i].text,
			o->docs ? o->docs : "docs",
			s->findings[i].anchor);
}
