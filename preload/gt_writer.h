/* SPDX-License-Identifier: MIT */
/*
 * gt_writer.h — who turns this process's rings into its trace file.
 *
 * Under `giltrace run`, the giltrace process (the rings are shared). Else a
 * writer thread, which runs with every signal blocked, never touches the
 * interpreter, and is stopped before fork() (so a forking program sees only
 * its own threads — CPython 3.12+ warns when it forks with threads) and
 * restarted lazily afterwards. Finishing the trace works with or without it
 * running.
 */
#ifndef GT_WRITER_H
#define GT_WRITER_H

#include <stdatomic.h>
#include <stdint.h>

extern _Atomic int gt_writer_running;

/* Allocates the writer's state and opens the output; 0 or -errno. */
int gt_writer_prepare(const char *path, int exclusive);
/* The rings are shared with `giltrace run`, which writes the trace: no
 * thread, no file here; finishing only tells it we are done. */
void gt_writer_prepare_external(void);
int gt_writer_start(void);
/* fork() handlers. prepare: lock out starts and stops until the parent or
 * child handler runs; with stop, also stop the thread. */
void gt_writer_fork_prepare(int stop);
void gt_writer_fork_parent(void);
/* Drains everything, closes open slices at end_ticks, writes the metadata
 * and closes the file. Waits at most timeout_ms for a running writer. */
void gt_writer_finish(uint64_t end_ticks, unsigned timeout_ms);
/* Forked child: forget the parent's file, encoder and locks. */
void gt_writer_forget(void);
const char *gt_writer_path(void);

#endif
