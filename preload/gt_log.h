/* SPDX-License-Identifier: MIT */
/*
 * gt_log.h — one-line messages from the preload library on stderr.
 *
 * Written with write(2) from a stack buffer: no stdio locks, no allocation,
 * errno preserved, so they are safe anywhere the library runs, including
 * signal handlers and atfork handlers.
 */
#ifndef GT_LOG_H
#define GT_LOG_H

void gt_log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Suppressed by GILTRACE_QUIET=1. */
void gt_log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Only with GILTRACE_DEBUG=1. */
void gt_log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
