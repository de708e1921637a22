/* SPDX-License-Identifier: MIT */
/* cmd_report.c — `giltrace report FILE`: summarise a trace. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "report.h"

static const char report_usage[] =
	"usage: giltrace report FILE [--json | --markdown] [--top N] [--process PID|NAME]\n"
	"                            [--annotate]\n"
	"\n"
	"Summarises a giltrace trace: GIL held and contended time, switches, per\n"
	"thread waits and holds (worst first), convoys, and a verdict per problem\n"
	"found. Metric definitions: docs/metrics.md.\n"
	"\n"
	"      --json        the same as JSON (a baseline for giltrace check)\n"
	"      --markdown    a markdown summary, e.g. for a CI job summary\n"
	"      --top N       list at most N threads (default 20; 0 = all)\n"
	"      --process PID|NAME  only that process, or every process whose name or a\n"
	"                    word of whose command line is NAME (e.g. worker.py): every\n"
	"                    number as if the trace held nothing else\n"
	"      --annotate    also write the convoy episodes into the trace, as tracks\n"
	"                    for ui.perfetto.dev (giltrace run does this itself)\n" GT_CONVOY_USAGE
	"  -h, --help        this help\n"
	"\n"
	"Exit status: 0, or 2 if FILE cannot be read as a giltrace trace.\n";

int cmd_report(int argc, char **argv)
{
	const char *path = NULL;
	const char *process = NULL;
	int top = 20, json = 0, markdown = 0, annotate = 0, c;
	struct gt_convoy_opts convoy = GT_CONVOY_DEFAULTS;
	enum { OPT_TOP = GT_OPT_FIRST_FREE, OPT_JSON, OPT_MARKDOWN, OPT_ANNOTATE, OPT_PROCESS };
	static const struct option longopts[] = {
		{"top", required_argument, NULL, OPT_TOP},
		{"json", no_argument, NULL, OPT_JSON},
		{"markdown", no_argument, NULL, OPT_MARKDOWN},
		{"annotate", no_argument, NULL, OPT_ANNOTATE},
		{"process", required_argument, NULL, OPT_PROCESS},
		{"help", no_argument, NULL, 'h'},
		GT_CONVOY_LONGOPTS,
		{NULL, 0, NULL, 0},
	};
	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		int taken = gt_cli_convoy_option(c, optarg, &convoy);
		if (taken < 0)
			return GT_EXIT_USAGE;
		if (taken)
			continue;
		switch (c) {
		case 'h':
			gt_cli_help(report_usage);
			return GT_EXIT_OK;
		case OPT_TOP:
			if (gt_cli_count(optarg, &top)) {
				gt_err("report: --top needs a whole number");
				return GT_EXIT_USAGE;
			}
			break;
		case OPT_JSON:
			json = 1;
			break;
		case OPT_MARKDOWN:
			markdown = 1;
			break;
		case OPT_ANNOTATE:
			annotate = 1;
			break;
		case OPT_PROCESS:
			if (!optarg[0]) {
				gt_err("report: --process needs a pid or a name");
				return GT_EXIT_USAGE;
			}
			process = optarg;
			break;
		default:
			return gt_cli_bad_option("report", c, argv, longopts);
		}
	}
	for (int i = optind; i < argc; i++) {
		if (path) {
			gt_err("report: one trace at a time ('%s' and '%s')", path, argv[i]);
			return GT_EXIT_USAGE;
		}
		path = argv[i];
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
	if (process && !strcmp(path, "-")) {
		gt_err("report: --process needs a file, not stdin (the trace is read twice)");
		return GT_EXIT_USAGE;
	}
	if (process && annotate) {
		gt_err("report: --annotate writes every process's convoys: not with --process");
		return GT_EXIT_USAGE;
	}
	struct gt_metrics m;
	struct gt_summary s;
	char err[512];
	if (gt_report_load_processes(path, &m, &convoy, annotate, process, err, sizeof(err))) {
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
	struct gt_report_opts o = {.trace_path = path, .top = top, .docs = gt_cli_docs(),
				   .process = process};
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
