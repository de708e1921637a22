/* SPDX-License-Identifier: MIT */
/*
 * cmd_check.c — `giltrace check`: fail a CI job when GIL contention regresses.
 *
 * The metrics come from a trace (or from the JSON `report --json` wrote for
 * it) and are compared with a baseline JSON, with absolute limits, or both.
 * A metric regresses against its baseline when it grew by more than BOTH
 * its relative and its absolute tolerance, so a baseline near zero does not
 * flap on noise (docs/ci.md explains the defaults).
 */
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "format.h"
#include "report.h"

enum unit { U_RATIO, U_COUNT, U_US, U_RATE };

struct gate {
	const char *name; /* as in --max-NAME and --tolerance NAME=... */
	const char *key;  /* in report --json */
	enum unit unit;
	double rel, abs;  /* default tolerances; abs in the JSON's unit */
	int opt_in;       /* compared with the baseline only if asked to */
};

/* Every metric here is "higher is worse". */
static const struct gate gates[] = {
	/* Defaults measured, not guessed (docs/ci.md): reruns of the test
	 * workloads on a shared 2-vCPU VM; real regressions move these metrics
	 * by 100% and more. */
	{"contention-ratio", "contention_ratio", U_RATIO, 0.30, 0.05, 0},
	{"mean-waiters", "mean_waiters", U_COUNT, 0.35, 0.20, 0},
	{"wait-weighted-mean", "wait_weighted_mean_us", U_US, 0.40, 1000, 0},
	/* The plain mean and the tail are compared only when asked for
	 * (--tolerance or --max): the mean moves with the number of
	 * microsecond waits a run happens to have (a thread taking the GIL
	 * back just after a blocking call), and waits come in whole switch
	 * intervals, so p99 of a few hundred waits jumps between modes. */
	{"wait-mean", "wait_mean_us", U_US, 0.40, 1000, 1},
	{"wait-p99", "wait_p99_us", U_US, 0.50, 5000, 1},
	{"forced-per-s", "forced_per_s", U_RATE, 0.35, 10, 0},
	{"convoy-delay-ratio", "convoy_delay_ratio", U_RATIO, 0.35, 0.02, 0},
};
#define NGATES (sizeof(gates) / sizeof(gates[0]))

static const char check_usage[] =
	"usage: giltrace check FILE [--baseline BASE.json] [--max-METRIC VALUE]...\n"
	"                            [--tolerance METRIC=REL[,ABS]]... [--process PID|NAME]\n"
	"                            [--markdown]\n"
	"\n"
	"Compares the GIL metrics of FILE (a trace, or the JSON of giltrace report\n"
	"--json) with a baseline written by giltrace report --json, and/or with\n"
	"absolute limits. A metric regresses when it exceeds its --max, or when it\n"
	"grew past the baseline by more than both its relative and its absolute\n"
	"tolerance.\n"
	"\n"
	"metrics (default tolerances: relative, absolute):\n"
	"  contention-ratio    share of time with a thread waiting     (30%, 0.05)\n"
	"  mean-waiters        threads waiting, on average             (35%, 0.2)\n"
	"  wait-weighted-mean  mean wait, weighted by its length: the  (40%, 1ms)\n"
	"                      wait a waiting thread is typically in\n"
	"  wait-mean           mean length of a wait                   (40%, 1ms)\n"
	"  wait-p99            99th percentile of all waits            (50%, 5ms)\n"
	"                      wait-mean and wait-p99 only with --tolerance or --max:\n"
	"                      too noisy to compare by default\n"
	"  forced-per-s        forced releases per second              (35%, 10)\n"
	"  convoy-delay-ratio  share of time lost to convoys           (35%, 0.02)\n"
	"\n"
	"  --baseline FILE      the baseline (JSON from giltrace report --json)\n"
	"  --max-METRIC VALUE   an absolute limit, e.g. --max-contention-ratio 0.2,\n"
	"                       --max-wait-p99 5ms (ratios also as 20%; a duration\n"
	"                       needs its unit, a ratio above 1 needs %)\n"
	"  --tolerance METRIC=REL[,ABS]  e.g. wait-p99=50%,2ms\n"
	"  --process PID|NAME   gate only that process of FILE, or every process whose\n"
	"                       name or a word of whose command line is NAME (e.g.\n"
	"                       worker.py); its baseline: giltrace report --json\n"
	"                       --process NAME\n"
	"  --markdown           print the table as markdown (for a CI job summary)\n" GT_CONVOY_USAGE
	"  -h, --help           this help\n"
	"\n"
	"Exit status: 0 within limits, 1 a regression, 2 a usage or input error.\n"
	"See docs/ci.md.\n";

static int find_gate(const char *name, size_t len)
{
	for (size_t g = 0; g < NGATES; g++)
		if (strlen(gates[g].name) == len && !strncmp(gates[g].name, name, len))
			return (int)g;
	return -1;
}

/* A user's value for gate g, in the JSON's unit: 0, -1, or a
 * GT_PARSE_* code. */
static int parse_value(int g, const char *s, double *v)
{
	int rc;
	if (gates[g].unit == U_US) {
		double sec;
		if ((rc = gt_parse_duration(s, &sec)))
			return rc;
		*v = sec * 1e6;
		return sec < 0 ? -1 : 0;
	}
	if (gates[g].unit == U_RATIO)
		return (rc = gt_parse_ratio(s, v)) ? rc : *v < 0 ? -1 : 0;
	return gt_parse_number(s, v) || *v < 0 ? -1 : 0;
}

/* One line saying what is wrong with VALUE given to WHAT for gate g. */
static void bad_value(const char *what, int g, const char *value, int rc)
{
	if (rc == GT_PARSE_NO_UNIT)
		gt_err("check: %s %s has no unit: write %sms, %ss or %sus", what, value, value,
		       value, value);
	else if (rc == GT_PARSE_ABOVE_ONE)
		gt_err("check: %s %s is above 1: write %s%% for a percentage (a ratio is from "
		       "0 to 1)",
		       what, value, value);
	else
		gt_err("check: %s needs a %s (got '%s')", what,
		       gates[g].unit == U_US	  ? "duration, e.g. 5ms"
		       : gates[g].unit == U_RATIO ? "ratio, e.g. 0.2 or 20%"
						  : "number",
		       value);
}

static void show(char *buf, size_t n, int g, double v)
{
	switch (gates[g].unit) {
	case U_RATIO:
		snprintf(buf, n, "%.3f", v);
		break;
	case U_US:
		gt_fmt_duration(buf, n, (uint64_t)(v * 1e3 + 0.5));
		break;
	case U_COUNT:
		snprintf(buf, n, "%.2f", v);
		break;
	case U_RATE:
		snprintf(buf, n, "%.1f", v);
		break;
	}
}

/* Reads the gate metrics of a report JSON, and which processes it covers
 * (its "process", "" for all) into proc. */
static int from_json(json_t *doc, const char *path, double *v, char *proc, size_t procn,
		     char *err, size_t errlen)
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
	for (size_t g = 0; g < NGATES; g++) {
		json_t *x = json_object_get(doc, gates[g].key);
		if (!json_is_number(x)) {
			snprintf(err, errlen, "%s: no number \"%s\" in it", path, gates[g].key);
			return -1;
		}
		v[g] = json_number_value(x);
		if (!isfinite(v[g]) || v[g] < 0) {
			snprintf(err, errlen, "%s: \"%s\" is %g", path, gates[g].key, v[g]);
			return -1;
		}
	}
	const char *p = json_string_value(json_object_get(doc, "process"));
	snprintf(proc, procn, "%s", p ? p : "");
	return 0;
}

static int load_json_file(const char *path, double *v, char *proc, size_t procn, char *err,
			  size_t errlen)
{
	json_error_t je;
	json_t *doc = json_load_file(path, 0, &je);
	if (!doc) {
		snprintf(err, errlen, "%s: %s (line %d)", path, je.text, je.line);
		return -1;
	}
	int rc = from_json(doc, path, v, proc, procn, err, errlen);
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

static int load_current(const char *path, const char *process, const struct gt_convoy_opts *co,
			double *v, char *proc, size_t procn, int *warn_dropped,
			int *warn_incomplete, char *err, size_t errlen)
{
	if (looks_like_json(path)) {
		if (process) {
			snprintf(err, errlen,
				 "%s is JSON: --process selects the processes of a trace (write "
				 "the JSON with giltrace report --json --process %s)",
				 path, process);
			return -1;
		}
		return load_json_file(path, v, proc, procn, err, errlen);
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
	*warn_dropped = m.events_dropped > 0;
	*warn_incomplete = !m.has_end;
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
	rc = doc ? from_json(doc, path, v, proc, procn, err, errlen) : -1;
	if (!doc)
		snprintf(err, errlen, "internal error: %s", je.text);
	json_decref(doc);
	return rc;
}

int cmd_check(int argc, char **argv)
{
	const char *path = NULL, *baseline = NULL, *process = NULL;
	int markdown = 0;
	double max[NGATES], rel[NGATES], abs_tol[NGATES];
	int has_max[NGATES] = {0}, has_tol[NGATES] = {0};
	struct gt_convoy_opts co = GT_CONVOY_DEFAULTS;
	for (size_t g = 0; g < NGATES; g++)
		rel[g] = gates[g].rel, abs_tol[g] = gates[g].abs;
	/* --max-METRIC for every gate, then the fixed options. */
	enum { OPT_MARKDOWN = GT_OPT_FIRST_FREE, OPT_BASELINE, OPT_TOLERANCE, OPT_PROCESS, OPT_MAX };
	static char max_names[NGATES][48];
	static struct option longopts[NGATES + 9];
	size_t n = 0;
	for (size_t g = 0; g < NGATES; g++) {
		snprintf(max_names[g], sizeof(max_names[g]), "max-%s", gates[g].name);
		longopts[n++] = (struct option){max_names[g], required_argument, NULL,
						OPT_MAX + (int)g};
	}
	longopts[n++] = (struct option){"markdown", no_argument, NULL, OPT_MARKDOWN};
	longopts[n++] = (struct option){"baseline", required_argument, NULL, OPT_BASELINE};
	longopts[n++] = (struct option){"tolerance", required_argument, NULL, OPT_TOLERANCE};
	longopts[n++] = (struct option){"process", required_argument, NULL, OPT_PROCESS};
	longopts[n++] = (struct option){"help", no_argument, NULL, 'h'};
	const struct option convoy_opts[] = {GT_CONVOY_LONGOPTS};
	for (size_t k = 0; k < 3; k++)
		longopts[n++] = convoy_opts[k];
	longopts[n] = (struct option){NULL, 0, NULL, 0};
	opterr = 0;
	optind = 0;
	int opt;
	while ((opt = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		int c = opt;
		int taken = gt_cli_convoy_option(c, optarg, &co);
		if (taken < 0)
			return GT_EXIT_USAGE;
		if (taken)
			continue;
		if (c >= OPT_MAX && c < OPT_MAX + (int)NGATES) {
			int g = c - OPT_MAX;
			int rc = parse_value(g, optarg, &max[g]);
			if (rc) {
				char what[64];
				snprintf(what, sizeof(what), "--max-%s", gates[g].name);
				bad_value(what, g, optarg, rc);
				return GT_EXIT_USAGE;
			}
			has_max[g] = 1;
		} else if (c == 'h') {
			gt_cli_help(check_usage);
			return GT_EXIT_OK;
		} else if (c == OPT_MARKDOWN) {
			markdown = 1;
		} else if (c == OPT_BASELINE) {
			baseline = optarg;
		} else if (c == OPT_PROCESS) {
			if (!optarg[0]) {
				gt_err("check: --process needs a pid or a name");
				return GT_EXIT_USAGE;
			}
			process = optarg;
		} else if (c == OPT_TOLERANCE) {
			const char *t = optarg;
			const char *eq = strchr(t, '=');
			int g = eq ? find_gate(t, (size_t)(eq - t)) : -1;
			char relv[64] = "", absv[64] = "";
			const char *comma = eq ? strchr(eq + 1, ',') : NULL;
			if (eq) {
				size_t rl = comma ? (size_t)(comma - eq - 1) : strlen(eq + 1);
				snprintf(relv, sizeof(relv), "%.*s", (int)(rl < 63 ? rl : 63), eq + 1);
				if (comma)
					snprintf(absv, sizeof(absv), "%s", comma + 1);
			}
			char what[192];
			int rc_rel = g < 0 ? -1 : gt_parse_ratio(relv, &rel[g]);
			int rc_abs = g < 0 || !comma ? 0 : parse_value(g, absv, &abs_tol[g]);
			if (rc_rel == GT_PARSE_ABOVE_ONE) {
				snprintf(what, sizeof(what), "--tolerance %s: the relative part", t);
				bad_value(what, g, relv, rc_rel);
				return GT_EXIT_USAGE;
			}
			if (rc_abs == GT_PARSE_NO_UNIT || rc_abs == GT_PARSE_ABOVE_ONE) {
				snprintf(what, sizeof(what), "--tolerance %s: the absolute part", t);
				bad_value(what, g, absv, rc_abs);
				return GT_EXIT_USAGE;
			}
			if (g < 0 || rc_rel || rel[g] < 0 || rc_abs) {
				gt_err("check: --tolerance needs METRIC=REL[,ABS], e.g. "
				       "wait-p99=50%%,2ms (got '%s')",
				       t);
				return GT_EXIT_USAGE;
			}
			has_tol[g] = 1;
		} else {
			return gt_cli_bad_option("check", c, argv, longopts);
		}
	}
	for (int i = optind; i < argc; i++) {
		if (path) {
			gt_err("check: one trace at a time ('%s' and '%s')", path, argv[i]);
			return GT_EXIT_USAGE;
		}
		path = argv[i];
	}
	int any_max = 0;
	for (size_t g = 0; g < NGATES; g++)
		any_max |= has_max[g];
	if (!path) {
		gt_err("check: no trace given (usage: giltrace check FILE --baseline BASE.json)");
		return GT_EXIT_USAGE;
	}
	if (!baseline && !any_max) {
		gt_err("check: nothing to check against: give --baseline or a --max-METRIC limit");
		return GT_EXIT_USAGE;
	}
	double cur[NGATES], base[NGATES];
	char err[600], base_proc[256] = "", cur_proc[256] = "";
	int dropped = 0, incomplete = 0;
	if (baseline && load_json_file(baseline, base, base_proc, sizeof(base_proc), err,
				       sizeof(err))) {
		gt_err("check: baseline %s", err);
		return GT_EXIT_USAGE;
	}
	if (load_current(path, process, &co, cur, cur_proc, sizeof(cur_proc), &dropped,
			 &incomplete, err, sizeof(err))) {
		gt_err("check: %s", err);
		return GT_EXIT_USAGE;
	}
	if (process)
		snprintf(cur_proc, sizeof(cur_proc), "%s", process);

	int regressions = 0;
	if (markdown)
		fputs("| metric | baseline | current | change | limit | verdict |\n"
		      "|---|---:|---:|---:|---:|---|\n",
		      stdout);
	else
		printf("giltrace check: %s%s%s%s%s\n\n  %-19s %10s %10s %9s %10s  %s\n", path,
		       cur_proc[0] ? ", process " : "", cur_proc, baseline ? " against " : "",
		       baseline ? baseline : "", "METRIC", "BASELINE", "CURRENT", "CHANGE", "LIMIT",
		       "VERDICT");
	for (size_t g = 0; g < NGATES; g++) {
		char b[32] = "-", c[32], ch[32] = "-", lim[32] = "-";
		const char *verdict = "ok";
		double limit = INFINITY;
		show(c, sizeof(c), (int)g, cur[g]);
		if (baseline) {
			show(b, sizeof(b), (int)g, base[g]);
			if (base[g] > 0)
				snprintf(ch, sizeof(ch), "%+.0f%%", (cur[g] / base[g] - 1) * 100);
			else if (cur[g] > 0)
				snprintf(ch, sizeof(ch), "new");
			else
				snprintf(ch, sizeof(ch), "0");
		}
		if (baseline && (!gates[g].opt_in || has_tol[g])) {
			double allowed = fmax(abs_tol[g], rel[g] * base[g]);
			limit = base[g] + allowed;
			if (cur[g] < base[g] - allowed)
				verdict = "better";
		} else if (baseline && !has_max[g]) {
			verdict = "info";
		}
		if (has_max[g] && max[g] < limit)
			limit = max[g];
		if (isfinite(limit))
			show(lim, sizeof(lim), (int)g, limit);
		if (cur[g] > limit) {
			verdict = "REGRESSION";
			regressions++;
		}
		if (markdown)
			printf("| %s | %s | %s | %s | %s | %s |\n", gates[g].name, b, c, ch, lim,
			       !strcmp(verdict, "REGRESSION") ? "**regression**" : verdict);
		else
			printf("  %-19s %10s %10s %9s %10s  %s\n", gates[g].name, b, c, ch, lim,
			       verdict);
	}
	const char *pre = markdown ? "\n" : "\n  ";
	if (dropped)
		printf("%swarning: events were dropped while recording; the metrics are lower "
		       "bounds\n",
		       pre);
	if (incomplete)
		printf("%swarning: the trace has no end record (the program was killed?)\n", pre);
	/* Apples and oranges: a whole run against one process, or two
	 * different processes. */
	if (baseline && strcmp(base_proc, cur_proc))
		printf("%swarning: the baseline covers %s%s, this run %s%s\n", pre,
		       base_proc[0] ? "process " : "every process", base_proc,
		       cur_proc[0] ? "process " : "every process", cur_proc);
	printf("%s%s\n", pre,
	       regressions ? "GIL contention regressed (see docs/ci.md)" : "within limits");
	fflush(stdout);
	return regressions ? GT_EXIT_REGRESSION : GT_EXIT_OK;
}
