/* SPDX-License-Identifier: MIT */
/*
 * gt_signals.h — completing the trace when a signal ends the program.
 *
 * While a terminating signal (SIGINT, SIGTERM, SIGHUP) has its default
 * action, giltrace's own handler stands in for it: it completes the trace and
 * then re-raises the signal with the default action, so the program still
 * dies of that signal. The program never sees the stand-in: sigaction()
 * reports SIG_DFL for it, and a handler the program installs replaces it.
 */
#ifndef GT_SIGNALS_H
#define GT_SIGNALS_H

/* want: stand in at all, i.e. the process writes its own trace (not under
 * `giltrace run`, which finishes the trace of a process that died). */
void gt_signals_install(int want);

#endif
