/* SPDX-License-Identifier: MIT */
/*
 * gt_err.h — one-line messages to the user, from code that runs in the
 * giltrace command (the run's writer and output checks as much as the
 * subcommands). The command defines it (tools/cli_common.c): "giltrace: "
 * and the message on stderr.
 */
#ifndef GT_ERR_H
#define GT_ERR_H

void gt_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
