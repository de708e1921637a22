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

/* Options are parsed with getopt_long, alike in every subcommand: --opt=VALUE
 * and --opt VALUE, bundled short options (-qo FILE), "--" ends them. */
struct option;
struct gt_convoy_opts;

/* getopt_long codes of the options that are long only. */
enum { GT_OPT_CONVOY_DELAY = 1000, GT_OPT_CONVOY_IO, GT_OPT_CONVOY_RUN, GT_OPT_FIRST_FREE };
/* The convoy options' entries, for a subcommand's long-option table. */
#define GT_CONVOY_LONGOPTS                                                                 \
	{"convoy-delay", required_argument, NULL, GT_OPT_CONVOY_DELAY},                    \
	{"convoy-io", required_argument, NULL, GT_OPT_CONVOY_IO},                          \
	{"convoy-run", required_argument, NULL, GT_OPT_CONVOY_RUN}
/* Option code c with its argument: 1 if it is a convoy option (taken), 0 if
 * not, -1 after printing the error for a bad value. */
int gt_cli_convoy_option(int c, const char *arg, struct gt_convoy_opts *o);
/* getopt_long returned '?' or ':' for cmd: says so in one line (the option
 * as the user wrote it) and returns GT_EXIT_USAGE. */
int gt_cli_bad_option(const char *cmd, int c, char **argv, const struct option *longopts);
/* A whole number 0..1000000; 0 or -1. */
int gt_cli_count(const char *s, int *out);

/* cli_paths.c: the directory of giltrace's executable (0 or -1); the first
 * existing of places (formats taking that directory), resolved into out
 * (PATH_MAX bytes; 0 or -1); the directory of giltrace's documentation
 * (installed or in the source tree; "docs" if neither is found). */
int gt_cli_exe_dir(char *out, size_t n);
int gt_cli_find_beside(const char *const *places, size_t nplaces, char *out);
const char *gt_cli_docs(void);
/* Prints a help text on stdout, "docs/" in it replaced by where the docs
 * really are, so that every page it names can be opened as printed. */
void gt_cli_help(const char *text);

#define GT_CONVOY_USAGE \
	"      --convoy-delay X  a re-acquisition is delayed if it waits >= X switch\n" \
	"                        intervals (default 0.5)\n" \
	"      --convoy-io X     ... after a blocking call of <= X intervals (default 1)\n" \
	"      --convoy-run N    delayed re-acquisitions in a row that make a convoy\n" \
	"                        episode (default 3); see docs/metrics.md#convoy\n"

#endif
