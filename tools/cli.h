/* SPDX-License-Identifier: MIT */
/*
 * cli.h — what the subcommands share: exit codes and error reporting.
 *
 * Exit codes: 0 success, 1 a check found a regression, 2 a usage or input
 * error. `giltrace run` exits with the traced command's status instead.
 */
#ifndef CLI_H
#define CLI_H

#define GT_EXIT_OK 0
#define GT_EXIT_REGRESSION 1
#define GT_EXIT_USAGE 2

#include "gt_err.h" /* gt_err(): "giltrace: <message>" on stderr */

int cmd_run(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_check(int argc, char **argv);

struct gt_convoy_opts;
/* --convoy-delay X, --convoy-io X, --convoy-run N at argv[*i]: 1 if taken
 * (and *i advanced past its value), 0 if argv[*i] is not one of them, -1
 * after printing the error for a bad value. */
int gt_cli_convoy_option(int argc, char **argv, int *i, struct gt_convoy_opts *o);
/* A whole number 0..1000000; 0 or -1. */
int gt_cli_count(const char *s, int *out);

#define GT_CONVOY_USAGE \
	"      --convoy-delay X  a re-acquisition is delayed if it waits >= X switch\n" \
	"                        intervals (default 0.5)\n" \
	"      --convoy-io X     ... after a blocking call of <= X intervals (default 1)\n" \
	"      --convoy-run N    delayed re-acquisitions in a row that make a convoy\n" \
	"                        episode (default 3); see docs/metrics.md#convoy\n"

#endif
