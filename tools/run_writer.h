/* SPDX-License-Identifier: MIT */
/*
 * run_writer.h — `giltrace run` writes the trace of the program it started.
 *
 * The recorder in the traced process records into rings in a memfd that
 * giltrace creates and the process inherits (GILTRACE_SHM_FD); giltrace
 * drains them with the same code a writer thread would run
 * (common/gt_drain.c). The traced program so gains no thread of ours, and a
 * program that is killed, even with SIGKILL, still leaves a complete trace.
 */
#ifndef RUN_WRITER_H
#define RUN_WRITER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "gt_drain.h"

struct run_writer {
	int memfd;
	int out_fd;
	const char *path;
	void *map;
	size_t map_size;
	struct gt_shm v;
	struct gt_drain drain;
	int tracing;  /* the drain is open */
	int finished; /* the trace is complete */
	struct gt_drain_result result;
};

/* Creates the memfd (close-on-exec). 0 or -errno. */
int run_writer_create(struct run_writer *w);
/* In the child, before exec: lets the memfd through and says where it is. */
void run_writer_child(struct run_writer *w);
/* The trace goes to out_fd (named path); w owns it from now on. */
void run_writer_output(struct run_writer *w, int out_fd, const char *path);
/* Drains until the process pid is done, then completes the trace. Returns
 * when pid has exited (its wait status in *status), or earlier if the
 * process finished its trace and then exec()ed (*status = -1: the caller
 * waits for it). */
void run_writer_run(struct run_writer *w, pid_t pid, int *status);
/* Wakes run_writer_run() (from the SIGCHLD handler; async-signal-safe). */
void run_writer_poke(struct run_writer *w);

#endif
