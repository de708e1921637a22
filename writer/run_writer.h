/* SPDX-License-Identifier: MIT */
/*
 * run_writer.h — `giltrace run` writes the traces of every process it traces.
 *
 * giltrace lays out a session pool (common/gt_shm.h) in a memfd before it
 * starts the command; every traced process of the run records into it (the
 * command's process, the children it fork()s, with --children the programs
 * they exec()) and giltrace drains it with the same code a writer thread
 * would run (writer/gt_drain.c) into one trace, where each process image
 * has its own pid, sequences and metadata records. The traced
 * programs so gain no thread, no descriptor and no file of ours, and a
 * process that is killed, even with SIGKILL, still leaves everything it
 * recorded. The end of each image is told through its pool entry (exit,
 * exec, a failed exec going back to tracing), or seen by giltrace: a
 * process gone without a word (pidfd), an exec() that replaced the image
 * (its mapping of the pool is gone).
 */
#ifndef RUN_WRITER_H
#define RUN_WRITER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "gt_drain.h"
#include "run_output.h"
#include "run_ring.h"

/* One process image the run traced (or that left nothing). */
struct run_trace {
	uint32_t pid;
	enum gt_drain_end how;  /* how the image ended */
	struct gt_drain_result result;
	int error;              /* errno: the trace could not be written */
	uint64_t part;          /* with a ring, the part its end went into */
};

struct run_proc;

/* How the run is going, for a progress line. */
struct run_progress {
	uint64_t elapsed_ns;
	uint64_t events;  /* recorded so far, all processes */
	uint64_t dropped; /* lost so far */
	uint64_t bytes;   /* of traces written so far (with a ring: kept) */
	int ring;         /* --keep / --max-size: bytes are what is kept */
	uint32_t traced;  /* processes being traced now */
};

struct run_writer {
	int memfd;
	void *map;
	size_t size;
	struct gt_shm v;
	struct gt_drain_pool pool;
	struct run_proc *procs; /* one per pool entry */
	struct run_output *out;
	pid_t root;
	int calibrated;
	uint32_t msg_cursor;
	char **said;            /* messages printed (each is said once) */
	size_t nsaid;
	struct run_sink sink;   /* the trace, every process's */
	struct run_trace *traces;
	size_t ntraces;
	/* Optional: called about once a second while the command runs. */
	void (*on_tick)(void *ctx, const struct run_progress *p);
	void *on_tick_ctx;
	uint64_t events_done, dropped_done; /* of the traces already closed */
	/* --keep / --max-size: the trace is written in parts, the last ones
	 * kept (run_writer_keep()). */
	struct run_ring ring;
	int ring_on;
	int ring_error;         /* errno of writing the kept parts into -o */
};

/* Reads the GILTRACE_* sizes (one line per bad value), creates the memfd
 * (close-on-exec) and lays the pool out. 0, or -1 after saying why. */
int run_writer_create(struct run_writer *w, struct run_output *out);
/* Keep only the last keep_ns of the run and at most max_bytes (0: no
 * limit): before run_writer_run(). 0, or -1 after saying why. */
int run_writer_keep(struct run_writer *w, uint64_t keep_ns, uint64_t max_bytes);
/* After run_writer_run(): is t's process in the trace? (With --keep, it
 * may have ended in a part that was dropped.) */
int run_writer_in_trace(const struct run_writer *w, const struct run_trace *t);
/* In the child, before exec: GILTRACE_SESSION (where to find the pool). */
void run_writer_child_env(struct run_writer *w, pid_t giltrace_pid);
/* Drains until the process root has exited (its wait status in *status,
 * -1 if it could not be waited for), then completes every trace: those of
 * processes still running end there. */
void run_writer_run(struct run_writer *w, pid_t root, int *status);
/* Wakes run_writer_run() (from the SIGCHLD handler; async-signal-safe). */
void run_writer_poke(struct run_writer *w);
void run_writer_free(struct run_writer *w);

#endif
