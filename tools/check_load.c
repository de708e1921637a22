/* SPDX-License-Identifier: MIT */
/*
 * check_load.c — the gates of `giltrace check`, and a run's numbers for
 * them: read from the JSON of `report --json`, or from a trace through the
 * same JSON, so that check and report can never disagree (see check.h).
 */
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cli.h"
#include "report.h"

/* Every metric here is "higher is worse". Defaults measured, not guessed
 * (docs/ci.md): reruns of the test workloads on a shared 2-vCPU VM, idle
 * and beside a CPU hog per core; real regressions move these metrics by
 * 100% and more. The first four leave out the time a waiter, or the
 * holder it waited for, spent without a CPU (docs/metrics.md, "CPU
 * waits"): that moves with the machine's load, not with the program. */
const struct check_gate check_gates[] = {
	{"contention-ratio", "contention_ratio_excl_cpu", "contention_ratio", U_RATIO, 0.30, 0.05,
	 0},
	{"mean-waiters", "mean_waiters_excl_cpu", "mean_waiters", U_COUNT, 0.35, 0.20, 0},
	{"wait-weighted-median", "wait_weighted_median_excl_cpu_us", "wait_weighted_median_us", U_US,
	 0.40, 1000, 0},
	/* The time-weighted mean moves with a single very long wait (a thread
	 * that lost the race for the GIL ten times in a row, as happens now
	 * and then): by name only. */
	{"wait-weighted-mean", "wait_weighted_mean_excl_cpu_us", "wait_weighted_mean_us", U_US,
	 0.40, 1000, 1},
	/* The plain mean and the tail are compared only when asked for
	 * (--tolerance or --max): the mean moves with the number of
	 * microsecond waits a run happens to have (a thread taking the GIL
	 * back just after a blocking call), and waits come in whole switch
	 * intervals, so p99 of a few hundred waits jumps between modes. */
	{"wait-mean", "wait_mean_us", NULL, U_US, 0.40, 1000, 1},
	{"wait-p99", "wait_p99_us", NULL, U_US, 0.50, 5000, 1},
	{"forced-per-s", "forced_per_s", NULL, U_RATE, 0.35, 10, 0},
	{"convoy-delay-ratio", "convoy_delay_ratio", NULL, U_RATIO, 0.35, 0.02, 0},
	/* The first four with CPU waits in, by name (what --raw gates on). */
	{"raw-contention-ratio", "contention_ratio", NULL, U_RATIO, 0.30, 0.05, 1},
	{"raw-mean-waiters", "mean_waiters", NULL, U_COUNT, 0.35, 0.20, 1},
	{"raw-wait-weighted-median", "wait_weighted_median_us", NULL, U_US, 0.40, 1000, 1},
	{"raw-wait-weighted-mean", "wait_weighted_mean_us", NULL, U_US, 0.40, 1000, 1},
};
const size_t check_ngates = sizeof(check_gates) / sizeof(check_gates[0]);
_Static_assert(sizeof(check_gates) / sizeof(check_gates[0]) <= CHECK_MAX_GATES, "gates");

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

double check_median(double *v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (isnan(v[i]))
			return NAN; /* not in every run: not compared */
	qsort(v, n, sizeof(*v), by_value);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* A metric of the JSON: a number >= 0, NaN when null or absent (the JSON of
 * an older giltrace, or waits not split); -1 when it is anything else. */
static int number(json_t *doc, const char *key, double *v)
{
	json_t *x = json_object_get(doc, key);
	if (!x || json_is_null(x)) {
		*v = NAN;
		return 0;
	}
	if (!json_is_number(x))
		return -1;
	*v = json_number_value(x);
	return isfinite(*v) && *v >= 0 ? 0 : -1;
}

static int from_json(json_t *doc, const char *path, struct check_run *r, char *err,
		     size_t errlen)
{
	json_t *sv = json_object_get(doc, "schema_version");
	if (!json_is_object(doc) || !json_is_integer(sv)) {
		snprintf(err, errlen, "%s: not the JSON of giltrace report --json", path);
		return -1;
	}
	if (json_integer_value(sv) != GT_REPORT_SCHEMA_VERSION) {
		snprintf(err, errlen, "%s: schema_version %lld, this giltrace reads %d", path,
			 (long long)json_integer_value(sv), GT_REPORT_SCHEMA_VERSION);
		return -1;
	}
	for (size_t g = 0; g < check_ngates; g++) {
		const struct check_gate *c = &check_gates[g];
		const char *bad = NULL;
		if (number(doc, c->key, &r->value[g]))
			bad = c->key;
		r->raw[g] = NAN;
		if (c->raw_key && number(doc, c->raw_key, &r->raw[g]))
			bad = c->raw_key;
		/* Absent (NaN): the JSON of an older giltrace, without the
		 * metric; the table says it was not compared. */
		if (bad) {
			snprintf(err, errlen, "%s: no number \"%s\" in it", path, bad);
			return -1;
		}
	}
	const char *split = json_string_value(json_object_get(doc, "cpu_split"));
	r->split = split && !strcmp(split, "on");
	snprintf(r->split_note, sizeof(r->split_note), "%s",
		 split ? split : "not recorded (the JSON of an older giltrace)");
	double share = NAN;
	number(doc, "cpu_wait_share", &share);
	r->cpu_wait_share = isnan(share) ? 0 : share;
	const char *p = json_string_value(json_object_get(doc, "process"));
	snprintf(r->proc, sizeof(r->proc), "%s", p ? p : "");
	json_t *ev = json_object_get(doc, "events_dropped");
	r->dropped = json_is_integer(ev) && json_integer_value(ev) > 0;
	r->incomplete = json_is_false(json_object_get(doc, "complete"));
	return 0;
}

static int load_json_file(const char *path, struct check_run *r, char *err, size_t errlen)
{
	json_error_t je;
	json_t *doc = json_load_file(path, 0, &je);
	if (!doc) {
		snprintf(err, errlen, "%s: %s (line %d)", path, je.text, je.line);
		return -1;
	}
	int rc = from_json(doc, path, r, err, errlen);
	json_decref(doc);
	return rc;
}

/* Does path hold JSON (rather than a protobuf trace)? */
static int looks_like_json(const char *path)
{
	FILE *f = fopen(path, "rb");
	if (!f)
		return 0;
	int c;
	while ((c = fgetc(f)) == ' ' || c == '\n' || c == '\r' || c == '\t')
		;
	fclose(f);
	return c == '{';
}

int check_load(const char *path, const char *process, const struct gt_convoy_opts *co,
	       struct check_run *r, char *err, size_t errlen)
{
	memset(r, 0, sizeof(*r));
	if (looks_like_json(path)) {
		if (process) {
			snprintf(err, errlen,
				 "%s is JSON: --process selects the processes of a trace (write "
				 "the JSON with giltrace report --json --process %s)",
				 path, process);
			return -1;
		}
		return load_json_file(path, r, err, errlen);
	}
	struct gt_metrics m;
	struct gt_summary s;
	char e2[400];
	if (gt_report_load_processes(path, &m, co, 0, process, e2, sizeof(e2))) {
		snprintf(err, errlen, "%s: %s", path, e2);
		gt_metrics_free(&m);
		return -1;
	}
	if (gt_summarize(&m, &s)) {
		snprintf(err, errlen, "out of memory");
		gt_metrics_free(&m);
		return -1;
	}
	/* The same numbers report --json writes, through the same JSON. */
	char *buf = NULL;
	size_t len = 0;
	FILE *mem = open_memstream(&buf, &len);
	struct gt_report_opts o = {.trace_path = path, .docs = gt_cli_docs(), .process = process};
	int rc = !mem || gt_report_json(mem, &m, &s, &o);
	if (mem)
		fclose(mem);
	gt_summary_free(&s);
	gt_metrics_free(&m);
	if (rc) {
		free(buf);
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	json_error_t je;
	json_t *doc = json_loadb(buf, len, 0, &je);
	free(buf);
	rc = doc ? from_json(doc, path, r, err, errlen) : -1;
	if (!doc)
		snprintf(err, errlen, "internal error: %s", je.text);
	json_decref(doc);
	if (!rc && process)
		snprintf(r->proc, sizeof(r->proc), "%s", process);
	return rc;
}
