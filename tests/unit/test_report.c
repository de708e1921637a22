/* SPDX-License-Identifier: MIT */
/*
 * test_report.c — convoys, the summary, the report formats and the trace
 * annotation against the hand-computed convoy scenario (sample_trace.c).
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "metrics.h"
#include "report.h"
#include "sample_trace.h"
#include "summary.h"
#include "trace_reader.h"
#include "unittest.h"

#define US 1000ull
#define NEAR(a, b, tol) CHECK(fabs((double)(a) - (double)(b)) <= (tol))

static int load_mem(const uint8_t *t, size_t len, struct gt_metrics *m,
		    const struct gt_convoy_opts *o)
{
	struct gt_rd_summary sum;
	char err[256];
	gt_metrics_init(m);
	if (o)
		m->convoy_opts = *o;
	m->keep_episodes = 1;
	struct gt_rd_callbacks cb = gt_metrics_callbacks(m);
	int rc = gt_read_trace_mem(t, len, &cb, &sum, err, sizeof(err));
	if (rc)
		fprintf(stderr, "load: %s\n", err);
	else
		gt_metrics_finish(m, &sum);
	return rc;
}

static void convoy_known_answers(int level)
{
	size_t len;
	uint8_t *t = convoy_trace(level, &len);
	struct gt_metrics m;
	CHECK(t && !load_mem(t, len, &m, NULL));
	CHECK_U64(m.nconvoys, 1);
	CHECK_U64(m.nepisodes, 1);
	if (m.nconvoys == 1 && m.nepisodes == 1) {
		const struct gt_convoy_pair *p = &m.convoys[0];
		CHECK_U64(p->victim, CONVOY_VICTIM);
		CHECK_U64(p->culprit, CONVOY_CULPRIT);
		CHECK_U64(p->episodes, 1);
		CHECK_U64(p->delayed, 4);
		CHECK_U64(p->delay_ns, 20080 * US);
		CHECK_U64(m.episodes[0].ts, 1000000000ull + 1000 * US);
		CHECK_U64(m.episodes[0].end, 1000000000ull + 24020 * US);
	}
	CHECK_U64(m.forced, 4);
	CHECK_U64(m.voluntary, 6);
	CHECK_U64(m.ngils, 1);
	if (m.ngils == 1) {
		const struct gt_gil_stats *g = &m.gils[0];
		CHECK_U64(g->bucket_holds[0], 5);
		CHECK_U64(g->bucket_ns[0], 420 * US);
		CHECK_U64(g->bucket_holds[3], 5);
		CHECK_U64(g->bucket_ns[3], 29290 * US);
		CHECK_U64(g->bucket_holds[1] + g->bucket_holds[2] + g->bucket_holds[4], 0);
		CHECK_U64(g->switches, 9);
	}

	struct gt_summary s;
	CHECK(!gt_summarize(&m, &s));
	NEAR(s.wall_s, 0.030, 1e-9);
	NEAR(s.gil_held_ratio, 29710.0 / 30000, 1e-9);
	NEAR(s.contention_ratio, 20080.0 / 30000, 1e-9);
	NEAR(s.mean_waiters, 20080.0 / 30000, 1e-9);
	NEAR(s.switches_per_s, 9 / 0.030, 1e-6);
	NEAR(s.switch_interval_s, 0.005, 1e-12);
	NEAR(s.forced_per_s, 4 / 0.030, 1e-6);
	NEAR(s.convoy_delay_ratio, 20080.0 / 30000, 1e-9);
	/* Quantiles come from a log-linear histogram: within 3%. */
	NEAR(s.wait_p99_s, 0.00502, 0.00502 * 0.03);
	const struct gt_thread_summary *v = &s.threads[0]; /* worst waiter first */
	CHECK_U64(v->t->tid, CONVOY_VICTIM);
	NEAR(v->wait_ratio, 20080.0 / 24100, 1e-9);
	NEAR(v->wait_p50_s, 0.00502, 0.00502 * 0.03);
	CHECK_U64(v->t->drop_requests, 4);
	CHECK_U64(s.threads[1].t->forced, 4);
	/* The verdict names the victim, the share of its life and the culprit. */
	CHECK(s.nfindings >= 1);
	if (s.nfindings >= 1) {
		CHECK_STR(s.findings[0].anchor, "convoy");
		CHECK(strstr(s.findings[0].text, "io-echo waited 83.3% of its life") != NULL);
		CHECK(strstr(s.findings[0].text, "cpu-0") != NULL);
	}

	/* JSON: the documented fields, with the same numbers. */
	char *buf = NULL;
	size_t blen = 0;
	FILE *mem = open_memstream(&buf, &blen);
	struct gt_report_opts o = {.trace_path = "convoy.pftrace"};
	CHECK(!gt_report_json(mem, &m, &s, &o));
	fclose(mem);
	json_error_t je;
	json_t *doc = json_loadb(buf, blen, 0, &je);
	CHECK(doc != NULL);
	if (doc) {
		CHECK(json_integer_value(json_object_get(doc, "schema_version")) == 1);
		NEAR(json_real_value(json_object_get(doc, "wall_s")), 0.030, 1e-9);
		NEAR(json_real_value(json_object_get(doc, "contention_ratio")), 20080.0 / 30000,
		     1e-8);
		NEAR(json_real_value(json_object_get(doc, "switch_interval_s")), 0.005, 1e-12);
		json_t *th = json_array_get(json_object_get(doc, "threads"), 0);
		CHECK(json_integer_value(json_object_get(th, "tid")) == CONVOY_VICTIM);
		CHECK_STR(json_string_value(json_object_get(th, "name")), "io-echo");
		CHECK(json_integer_value(json_object_get(th, "wait_count")) == 4);
		NEAR(json_real_value(json_object_get(th, "wait_s")), 0.02008, 1e-9);
		NEAR(json_real_value(json_object_get(th, "wait_max_us")), 5020, 1e-6);
		json_t *c = json_array_get(json_object_get(doc, "convoys"), 0);
		CHECK(json_integer_value(json_object_get(c, "victim_tid")) == CONVOY_VICTIM);
		CHECK(json_integer_value(json_object_get(c, "culprit_tid")) == CONVOY_CULPRIT);
		CHECK(json_integer_value(json_object_get(c, "episodes")) == 1);
		CHECK(json_integer_value(json_object_get(c, "delayed_acquires")) == 4);
		NEAR(json_real_value(json_object_get(c, "delay_s")), 0.02008, 1e-9);
		json_decref(doc);
	}
	free(buf);

	buf = NULL;
	mem = open_memstream(&buf, &blen);
	gt_report_markdown(mem, &m, &s, &o);
	fclose(mem);
	CHECK(strstr(buf, "| io-echo (5001) | cpu-0 (5002) | 1 | 4 | 20.1 ms |") != NULL);
	free(buf);
	gt_summary_free(&s);
	gt_metrics_free(&m);
	free(t);
}

/* The thresholds decide: a stricter delay or a longer run finds nothing. */
static void convoy_thresholds(void)
{
	size_t len;
	uint8_t *t = convoy_trace(1, &len);
	struct gt_convoy_opts longer = {0.5, 1.0, 5}, slower = {1.1, 1.0, 3},
			      shorter_io = {0.5, 0.1, 3};
	const struct gt_convoy_opts *opts[] = {&longer, &slower, &shorter_io};
	for (int i = 0; i < 3; i++) {
		struct gt_metrics m;
		CHECK(!load_mem(t, len, &m, opts[i]));
		CHECK_U64(m.nconvoys, 0);
		gt_metrics_free(&m);
	}
	/* The two-thread sample waits once: no convoy. */
	uint8_t *s = sample_trace(1, &len);
	struct gt_metrics m;
	CHECK(!load_mem(s, len, &m, NULL));
	CHECK_U64(m.nconvoys, 0);
	gt_metrics_free(&m);
	free(s);
	free(t);
}

/* Annotating appends the episodes once; the trace reads the same after. */
static void annotation(void)
{
	size_t len;
	uint8_t *t = convoy_trace(1, &len);
	char path[] = "/tmp/giltrace-annotate-XXXXXX";
	int fd = mkstemp(path);
	CHECK(fd >= 0 && write(fd, t, len) == (ssize_t)len);
	close(fd);
	struct gt_metrics m;
	char err[256];
	CHECK(!gt_report_load(path, &m, NULL, 1, err, sizeof(err)));
	CHECK(!m.annotated);
	CHECK(gt_report_annotate(path, &m, err, sizeof(err)) == 1);
	gt_metrics_free(&m);
	CHECK(!gt_report_load(path, &m, NULL, 1, err, sizeof(err)));
	CHECK(m.annotated);
	CHECK_U64(m.nconvoys, 1);
	CHECK_U64(m.forced, 4);
	CHECK(gt_report_annotate(path, &m, err, sizeof(err)) == 0);
	gt_metrics_free(&m);
	FILE *f = fopen(path, "rb");
	fseek(f, 0, SEEK_END);
	long grown = ftell(f);
	fclose(f);
	CHECK(grown > (long)len);
	unlink(path);
	free(t);
}

/* Nine waits of 10 µs and one of 10 ms: the plain mean is dragged down by
 * the many short ones (10090 / 10 = 1009 µs); the time-weighted mean is the
 * wait a waiting thread is in (9 x 10^2 + 10000^2) / 10090 = 9911.0 µs. */
static void weighted_mean_wait(void)
{
	struct gt_metrics m;
	struct gt_summary s;
	struct gt_rd_summary sum = {.has_start = 1, .has_end = 1};
	gt_metrics_init(&m);
	struct gt_rd_callbacks cb = gt_metrics_callbacks(&m);
	struct gt_rd_thread th = {.pid = 1, .tid = 2, .name = "w"};
	cb.thread(cb.ctx, &th);
	uint64_t ts = 1000000000ull;
	for (int i = 0; i < 10; i++) {
		struct gt_rd_slice w = {.kind = GT_RD_WAIT, .pid = 1, .tid = 2, .gil = -1,
					.ts = ts, .dur = (i == 9 ? 10000 : 10) * US};
		cb.slice(cb.ctx, &w);
		ts += w.dur + 100 * US;
	}
	sum.first_ts = 1000000000ull;
	sum.last_ts = ts;
	gt_metrics_finish(&m, &sum);
	CHECK(!gt_summarize(&m, &s));
	NEAR(s.wait_mean_s, 1009e-6, 1e-12);
	NEAR(s.wait_weighted_mean_s, (9 * 100.0 + 1e8) / 10090 * 1e-6, 1e-12);
	gt_summary_free(&s);
	gt_metrics_free(&m);
}

/* What report --json writes for these metrics, parsed back (NULL if not). */
static json_t *json_of(const struct gt_metrics *m, const struct gt_summary *s)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *mem = open_memstream(&buf, &n);
	struct gt_report_opts o = {.trace_path = "sample"};
	int rc = !mem || gt_report_json(mem, m, s, &o);
	if (mem)
		fclose(mem);
	json_error_t je;
	json_t *doc = !rc && buf ? json_loads(buf, 0, &je) : NULL;
	free(buf);
	return doc;
}

/* CPU waits on the sample trace (sample_trace.c says how they were
 * computed by hand): main waited 5100 µs, 350 of them for a CPU, 40 for a
 * holder without one; the worker's hold had no CPU for 1000 µs of the 5100
 * contended. */
static void cpu_waits(void)
{
	size_t len;
	uint8_t *t = sample_trace(0, &len);
	struct gt_metrics m;
	struct gt_summary s;
	CHECK(t && !load_mem(t, len, &m, NULL));
	CHECK(m.split);
	const struct gt_thread_stats *main_th = gt_metrics_thread(&m, SAMPLE_MAIN);
	CHECK(main_th != NULL);
	if (main_th) {
		CHECK_U64(main_th->wait_ns, 5100 * US);
		CHECK_U64(main_th->wait_cpu_ns, 350 * US);
		CHECK_U64(main_th->wait_held_ns, 40 * US);
		CHECK_U64(main_th->wait_excl_ns, 4710 * US);
	}
	CHECK_U64(m.ngils, 1);
	if (m.ngils == 1)
		CHECK_U64(m.gils[0].holder_off_ns, 1000 * US);
	CHECK(!gt_summarize(&m, &s));
	NEAR(s.contention_ratio, 0.51, 1e-9);
	/* Per second of the program's own time: 10000 less the 1000 µs the
	 * holder had no CPU while main waited. */
	NEAR(s.contention_ratio_excl, 4100.0 / 9000, 1e-9);
	NEAR(s.mean_waiters_excl, 4710.0 / 9000, 1e-9);
	NEAR(s.wait_weighted_mean_excl_s, 4710e-6, 1e-12);
	NEAR(s.cpu_wait_share, 390.0 / 5100, 1e-9);
	/* The JSON says it all, for check to read back. */
	json_t *doc = json_of(&m, &s);
	CHECK(doc != NULL);
	CHECK_STR(json_string_value(json_object_get(doc, "cpu_split")), "on");
	NEAR(json_real_value(json_object_get(doc, "wait_weighted_mean_excl_cpu_us")), 4710, 1e-6);
	NEAR(json_real_value(json_object_get(doc, "contention_ratio_excl_cpu")), 4100.0 / 9000,
	     1e-9);
	json_decref(doc);
	gt_summary_free(&s);
	gt_metrics_free(&m);
	free(t);
}

/* A trace that does not say its waits are split (an older giltrace, or a
 * kernel without run delays): no split, and the JSON's numbers without CPU
 * waits are null, never a guess. */
static void cpu_waits_unknown(void)
{
	struct gt_metrics m;
	struct gt_summary s;
	struct gt_rd_summary sum = {.has_start = 1, .has_end = 1};
	gt_metrics_init(&m);
	struct gt_rd_callbacks cb = gt_metrics_callbacks(&m);
	struct gt_rd_slice w = {.kind = GT_RD_WAIT, .pid = 1, .tid = 2, .gil = -1,
				.ts = 1000000000ull, .dur = 10 * US};
	cb.slice(cb.ctx, &w);
	struct gt_rd_meta end = {.final = 1, .pid = 1, .ts = 1000000000ull + 20 * US,
				 .cpu_split = "unavailable: the kernel does not count run delays"};
	cb.meta(cb.ctx, &end);
	sum.first_ts = 1000000000ull;
	sum.last_ts = end.ts;
	gt_metrics_finish(&m, &sum);
	CHECK(!m.split);
	CHECK(strstr(m.split_note, "does not count") != NULL);
	CHECK(!gt_summarize(&m, &s));
	json_t *doc = json_of(&m, &s);
	CHECK(doc && json_is_null(json_object_get(doc, "wait_weighted_mean_excl_cpu_us")));
	json_decref(doc);
	gt_summary_free(&s);
	gt_metrics_free(&m);
}

/* The busy verdict: a tenth of the waiting was for a CPU, and that was 1%
 * of the wall time. A few microseconds of it in a program that barely
 * waits say nothing of the machine. */
static int busy_said(uint64_t wait_us, uint64_t cpu_us)
{
	struct gt_metrics m;
	struct gt_summary s;
	struct gt_rd_summary sum = {.has_start = 1, .has_end = 1};
	gt_metrics_init(&m);
	struct gt_rd_callbacks cb = gt_metrics_callbacks(&m);
	const uint64_t t0 = 1000000000ull;
	struct gt_rd_slice w = {.kind = GT_RD_WAIT, .pid = 1, .tid = 2, .gil = -1, .ts = t0,
				.dur = wait_us * US, .has_cpu_wait = 1, .cpu_wait = cpu_us * US,
				.has_holder_cpu_wait = 1};
	cb.slice(cb.ctx, &w);
	struct gt_rd_meta end = {.final = 1, .pid = 1, .ts = t0 + 10000 * US, .cpu_split = "on"};
	cb.meta(cb.ctx, &end);
	sum.first_ts = t0;
	sum.last_ts = end.ts;
	gt_metrics_finish(&m, &sum);
	CHECK(m.split);
	CHECK(!gt_summarize(&m, &s));
	int said = 0;
	for (size_t i = 0; i < s.nfindings; i++)
		said |= !strcmp(s.findings[i].anchor, "busy");
	gt_summary_free(&s);
	gt_metrics_free(&m);
	return said;
}

static void busy_verdict(void)
{
	CHECK(busy_said(1000, 500));  /* 5% of the 10 ms wall */
	CHECK(!busy_said(10, 5));     /* half of the waiting, 0.05% of the wall */
	CHECK(!busy_said(5000, 400)); /* 8% of the waiting */
}

/* Whether a layout confirmed the GILs, from the end record's gil_method:
 * a version with no row (3.16 one day) says so; 3.6 and traces that do not
 * say are unknown, never "no". */
static void layout_known(void)
{
	static const struct {
		const char *version, *method;
		int want;
	} cases[] = {
		{"3.14.10", "GIL 0 (interp 0): create_gil init sequence from the interpreter + "
			    "struct layout + _Py_DebugOffsets + interp->ceval.gil", 1},
		{"3.11.2", "GIL 0 (interp 0): create_gil init sequence from the interpreter + "
			   "struct layout + _PyRuntime offsets", 1},
		{"3.16.0", "GIL 0 (interp -1): create_gil init sequence from the interpreter + "
			   "struct layout", 0},
		{"3.12.1", "GIL 0 (interp -1): create_gil init sequence from the interpreter + "
			   "struct layout + LAYOUT MISMATCH (observed objects used)", -1},
		{"3.6.15", "GIL 0 (interp -1): create_gil init sequence from the interpreter", -1},
		{"3.14.10", NULL, -1},
		{"", "GIL 0 (interp -1): create_gil init sequence from the interpreter", -1},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct gt_metrics m;
		gt_metrics_init(&m);
		snprintf(m.python_version, sizeof(m.python_version), "%s", cases[i].version);
		m.gil_method = cases[i].method ? strdup(cases[i].method) : NULL;
		CHECK(gt_metrics_gil(&m, 1, 0) != NULL);
		CHECK_U64(gt_metrics_layout_known(&m), cases[i].want);
		gt_metrics_free(&m);
	}
}

int main(void)
{
	layout_known();
	busy_verdict();
	cpu_waits();
	cpu_waits_unknown();
	weighted_mean_wait();
	convoy_known_answers(0);
	convoy_known_answers(1);
	convoy_thresholds();
	annotation();
	return unittest_result("test_report");
}
