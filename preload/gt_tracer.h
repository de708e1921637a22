/* SPDX-License-Identifier: MIT */
/*
 * gt_tracer.h — the tracer's lifecycle in one process.
 *
 * OFF until the first GIL is created (or found), TRACING while events are
 * recorded, FINISHING while the trace is being completed, DONE afterwards.
 * Every exit path of a process — return from main, exit(), _exit(), exec,
 * a terminating signal — ends in gt_finish(); a forked child starts over.
 */
#ifndef GT_TRACER_H
#define GT_TRACER_H

#include <stdatomic.h>

enum gt_run_state { GT_OFF = 0, GT_TRACING, GT_FINISHING, GT_DONE };

extern _Atomic int gt_state;

struct gt_process {
	int pid;          /* the process the state belongs to */
	int eligible;     /* this process is to be traced at all */
	int forked_child; /* created by fork() from a traced process */
	int gil_seen;
	int is_root;      /* the process `giltrace run` started (or any, by hand) */
	const char *no_trace_reason; /* said at exit (plain LD_PRELOAD) */
};
extern struct gt_process gt_proc;

static inline int gt_tracing(void)
{
	return atomic_load_explicit(&gt_state, memory_order_relaxed) == GT_TRACING;
}

/* Was our parent started with this library preloaded too (one process of
 * a traced tree, not its first)? Reads /proc: not for the hot path. */
int gt_parent_preloaded(void);
/* A GIL was registered: start tracing if not yet. */
void gt_tracer_start(void);
/* Complete the trace now (idempotent, bounded wait). */
void gt_finish(void);
/* The pthread key whose destructor reports thread exit. */
void gt_tracer_bind_thread(void *slot);
/* gt_hooks.c: a thread exits; settle a wait it leaves unfinished, then
 * record its exit. */
void gt_hooks_thread_exit(void);
void gt_hooks_record_exit(void);

#endif
