/* SPDX-License-Identifier: MIT */
/* cmd_report.c — `giltrace report FILE`: summarise a trace. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "report.h"

static const char report_usage[] =
	"usage: giltrace report FILE [--top N]\n"
	"\n"
	"Summarises a giltrace trace: GIL held and contended time, switches, and per\n"
	"thread waits and holds, worst first. Metric definitions: docs/metrics.md.\n"
	"\n"
	"  --top N     list at most N threads (default 20; 0 = all)\n"
	"  -h, --help  this help\n";

static int parse_count(const char *s, int *out)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (!*s || *end || v < 0 || v > 1000000)
		return -1;
	*out = (int)v;
	return 0;
}

int cmd_report(int argc, char **argv)
{
	const char *path = NULL;
	int top = 20;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(report_usage, stdout);
			return GT_EXIT_OK;
		} else if (!strcmp(a, "--top")) {
			if (i + 1 >= argc || parse_count(argv[i + 1], &top)) {
				gt_err("report: --top needs a whole number");
				return GT_EXIT_USAGE;
			}
			i++;
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
	struct gt_metrics m;
	char err[512];
	if (gt_report_load(path, &m, err, sizeof(err))) {
		gt_err("%s: %s", path, err);
		gt_metrics_free(&m);
		return GT_EXIT_USAGE;
	}
	struct gt_report_opts o = {.trace_path = path, .top = top};
	gt_report_text(stdout, &m, &o);
	gt_metrics_free(&m);
	return GT_EXIT_OK;
}
