/* SPDX-License-Identifier: MIT */
/*
 * gt_session.h — this process's state, for the `giltrace run` that writes
 * its trace (see gt_session.c).
 */
#ifndef GT_SESSION_H
#define GT_SESSION_H

#include <stdint.h>

/* The process completed its part at end_ticks. */
void gt_session_finish(uint64_t end_ticks);
/* exec() begins at ticks; gt_session_exec_failed() if it returns. */
void gt_session_exec_begin(uint64_t ticks);
void gt_session_exec_failed(void);

#endif
