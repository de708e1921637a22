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

/* Prints "giltrace: <message>" on stderr. */
void gt_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

int cmd_run(int argc, char **argv);
int cmd_report(int argc, char **argv);

#endif
