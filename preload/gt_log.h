/* SPDX-License-Identifier: MIT */
/*
 * gt_log.h — one-line messages from the preload library.
 *
 * Under `giltrace run` they travel to the giltrace process, which prints
 * them; otherwise GILTRACE_LOG says where they go (by default stderr, but
 * only when it is a terminal: never into a program's captured output).
 * Formatted on the stack and written with write(2) or into the session's
 * message area: no stdio locks, no allocation, errno preserved, so they are
 * safe anywhere the library runs, including signal and atfork handlers.
 */
#ifndef GT_LOG_H
#define GT_LOG_H

void gt_log_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Suppressed by GILTRACE_QUIET=1. */
void gt_log_info(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Only with GILTRACE_DEBUG=1. */
void gt_log_debug(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* The constructor holds its messages until it knows where they go (in the
 * session, or this process's own policy), then releases them. */
void gt_log_hold(void);
void gt_log_release(void);
/* Drops what is held unsaid: an image that is not Python (a launcher's
 * helpers under plain LD_PRELOAD) leaves the words about the environment
 * to the interpreter that reads it, so a bad value is said once, not once
 * per `sed` of a wrapper script. */
void gt_log_discard(void);
/* The calling thread (the writer, in a descriptor table of its own) only
 * holds its messages; gt_log_release(), from a thread of the program,
 * delivers them. */
void gt_log_defer_mine(void);

#endif
