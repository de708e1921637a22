/* SPDX-License-Identifier: MIT */
/* cmd_report.c — `giltrace report FILE`: summarise a trace. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "report.h"

static const char report_usage[] =
	"usage: giltrace report FILE [--json | --markdown] [--top N] [--annotate]\n"
	"\n"
	"Summarises a giltrace trace: GIL held and contended time, switches, per\n"
	"thread waits and holds (worst first), convoys, and a verdict per problem\n"
	"found. Metric definitions: docs/metrics.md.\n"
	"\n"
	"      --json        the same as JSON (a baseline for giltrace check)\n"
	"      --markdown    a markdown summary, e.g. for a CI job summary\n"
	"      --top N       list at most N threads (default 20; 0 = all)\n"
	"      --annotate    also write the convoy episodes into the trace, as tracks\n"
	"                    for ui.perfetto.dev (giltrace run does this itself)\n" GT_CONVOY_USAGE
	"  -h, --help        this help\n"
	"\n"
	"Exit status: 0, or 2 if FILE cannot be read as a giltrace trace.\n";

int cmd_report(int argc, char **argv)
{
	const char *path = NULL;
	int top = 20, json = 0, markdown = 0, annotate = 0;
	struct gt_convoy_opts convoy = GT_CONVOY_DEFAULTS;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		int c = gt_cli_convoy_option(argc, argv, &i, &convoy);
		if (c < 0)
			return GT_EXIT_USAGE;
		if (c)
			continue;
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(report_usage, stdout);
			return GT_EXIT_OK;
		} else if (!strcmp(a, "--top")) {
			if (i + 1 >= argc || gt_cli_count(argv[i + 1], &top)) {
				gt_err("report: --top needs a whole number");
				return GT_EXIT_USAGE;
			}
			i++;
		} else if (!strcmp(a, "--json")) {
			json = 1;
		} else if (!strcmp(a, "--markdown")) {
			markdown = 1;
		} else if (!strcmp(a, "--annotate")) {
			annotate = 1;
		} else if (a[0] == '-' && a[1]) {
			gt_err("report: unknown option '%s' (see giltrace report --help)", a);
			return GT_EXIT_USAGE;
		} else if (path) {
			gt_err("report: one trace at a time ('%s' and '%s')", path, a);
			return GT_EXIT_USAGE;
		} else {
			path = a;
		}
	}
	if (!path) {
		gt_err("report: no trace given (usage: giltrace report FILE)");
		return GT_EXIT_USAGE;
	}
	if (json && markdown) {
		gt_err("report: --json or --markdown, not both");
		return GT_EXIT_USAGE;
	}
	if (annotate && !strcmp(path, "-")) {
		gt_err("report: --annotate needs a file, not stdin");
		return GT_EXIT_USAGE;
	}
	struct gt_metrics m;
	struct gt_summary s;
	char err[512];
	if (gt_report_load(path, &m, &convoy, annotate, err, sizeof(err))) {
		gt_err("%s: %s", path, err);
		gt_metrics_free(&m);
		return GT_EXIT_USAGE;
	}
	if (gt_summarize(&m, &s)) {
		gt_err("out of memory");
		gt_metrics_free(&m);
		return GT_EXIT_USAGE;
	}
	int rc = GT_EXIT_OK;
	struct gt_report_opts o = {.trace_path = path, .top = top};
	if (json)
		rc = gt_report_json(stdout, &m, &s, &o) ? GT_EXIT_USAGE : GT_EXIT_OK;
	else if (markdown)
		gt_report_markdown(stdout, &m, &s, &o);
	else
		gt_report_text(stdout, &m, &s, &o);
	if (annotate) {
		long n = gt_report_annotate(path, &m, err, sizeof(err));
		if (n < 0) {
			gt_err("%s", err);
			rc = GT_EXIT_USAGE;
		} else if (m.annotated) {
			fprintf(stderr, "giltrace: %s already has its convoy tracks\n", path);
		} else {
			fprintf(stderr, "giltrace: wrote %ld convoy episode%s into %s\n", n,
				n == 1 ? "" : "s", path);
		}
	}
	if (fflush(stdout) || ferror(stdout)) {
		gt_err("cannot write the report");
		rc = GT_EXIT_USAGE;
	}
	gt_summary_free(&s);
	gt_metrics_free(&m);
	return rc;
}
