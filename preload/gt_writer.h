/* SPDX-License-Identifier: MIT */
/*
 * gt_writer.h — who completes this process's trace.
 *
 * In a session (`giltrace run`), the giltrace process: this only tells it
 * where the process stands. With a private pool, a writer thread of ours,
 * which runs with every signal blocked, never touches the interpreter,
 * writes from a descriptor table of its own (gt_out.h), ends when it is the
 * last thread left, and is stopped before fork() (so a forking program
 * sees only its own threads — CPython 3.12+ warns when it forks with
 * threads) and restarted lazily afterwards. Finishing the trace works with
 * or without it running.
 */
#ifndef GT_WRITER_H
#define GT_WRITER_H

#include <stdatomic.h>
#include <stdint.h>

extern _Atomic int gt_writer_running;
/* The writer thread was stopped for a fork() and is to be started again,
 * from a hook that holds no GIL mutex (gt_writer_start() creates a thread:
 * not while other threads wait for the GIL). */
extern _Atomic int gt_writer_restart_due;

/* Private pool: allocates the writer's state for this process's entry
 * (the file is opened by the first write); 0 or -errno. */
int gt_writer_prepare(void);
/* The pool is a session's: `giltrace run` writes the trace. */
void gt_writer_prepare_external(void);
int gt_writer_start(void);
/* fork() handlers. prepare: lock out starts and stops until the parent or
 * child handler runs; with stop, also stop the thread. */
void gt_writer_fork_prepare(int stop);
void gt_writer_fork_parent(void);
/* Drains everything, closes open slices at end_ticks, writes the metadata
 * and closes the file. Waits at most timeout_ms for a running writer. */
void gt_writer_finish(uint64_t end_ticks, unsigned timeout_ms);
/* exec() is about to replace this image: the trace ends at ticks if it
 * succeeds. If it fails, gt_writer_exec_failed() and the trace goes on. */
void gt_writer_exec_begin(uint64_t ticks);
void gt_writer_exec_failed(void);
/* Forked child: forget the parent's file, encoder and locks. */
void gt_writer_forget(void);

#endif
