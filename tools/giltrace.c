/* SPDX-License-Identifier: MIT */
/*
 * giltrace.c — the `giltrace` command: dispatches to a subcommand.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "gt_version.h"

static const char usage[] =
	"usage: giltrace <command> [options]\n"
	"\n"
	"Shows how the threads of an unmodified CPython program contend for the GIL.\n"
	"\n"
	"commands:\n"
	"  run [-o FILE] [-q] [--no-children] -- CMD [ARGS...]\n"
	"                     run CMD with the GIL recorder; write a Perfetto trace and\n"
	"                     print a summary\n"
	"  report FILE [--json | --markdown] [--top N] [--annotate]\n"
	"                     summarise a trace: metrics, convoys, verdicts\n"
	"  check FILE --baseline BASE.json | --max-METRIC VALUE ...\n"
	"                     exit 1 if GIL contention regressed (for CI)\n"
	"\n"
	"options:\n"
	"  -h, --help         this help (also: giltrace <command> --help)\n"
	"  -V, --version      print the version\n"
	"\n"
	"Open traces in https://ui.perfetto.dev. Documentation: docs/ (README.md,\n"
	"metrics.md, ci.md, configuration.md, trace-format.md) and man giltrace.\n";

void gt_err(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("giltrace: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(usage, stderr);
		return GT_EXIT_USAGE;
	}
	const char *cmd = argv[1];
	if (!strcmp(cmd, "-h") || !strcmp(cmd, "--help") || !strcmp(cmd, "help")) {
		gt_cli_help(usage);
		return GT_EXIT_OK;
	}
	if (!strcmp(cmd, "-V") || !strcmp(cmd, "--version")) {
		printf("giltrace %s (trace format %d)\n", GT_VERSION, GT_TRACE_FORMAT);
		return GT_EXIT_OK;
	}
	if (!strcmp(cmd, "run"))
		return cmd_run(argc - 1, argv + 1);
	if (!strcmp(cmd, "report"))
		return cmd_report(argc - 1, argv + 1);
	if (!strcmp(cmd, "check"))
		return cmd_check(argc - 1, argv + 1);
	gt_err("unknown command '%s' (see giltrace --help)", cmd);
	return GT_EXIT_USAGE;
}
