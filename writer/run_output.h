/* SPDX-License-Identifier: MIT */
/*
 * run_output.h — the files `giltrace run` writes its traces into.
 *
 * -o names the run's trace, which holds every traced process: a regular
 * file (created or truncated), a FIFO someone reads, or a character device
 * such as /dev/null. It is made absolute and opened — never unlinked or
 * replaced — before the program starts (with %p, once the command's pid is
 * known), so a bad path is one error line and exit 2, and claimed with an
 * advisory lock, so two runs given the same -o cannot both believe they
 * wrote it: the second says so and exits 2 before running anything.
 */
#ifndef RUN_OUTPUT_H
#define RUN_OUTPUT_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

enum run_out_kind { RUN_OUT_FILE, RUN_OUT_FIFO, RUN_OUT_DEVICE };

struct run_output {
	char tmpl[PATH_MAX];   /* absolute -o, %p not yet expanded */
	int has_pid;           /* tmpl has %p */
	enum run_out_kind kind;
	int root_fd;           /* the first trace's file, until its trace takes it */
	int root_created;      /* giltrace created that file (it did not exist) */
	char root_path[PATH_MAX];
	uint64_t bytes;        /* written so far, every trace of the run */
};

/* Checks -o (arg) and, unless it has %p, opens and claims it. Prints the
 * reason and returns -1 if the trace could not be written. */
int run_output_prepare(struct run_output *o, const char *arg);
/* For a name with %p: opens the first trace's file for process pid. */
int run_output_open_root(struct run_output *o, pid_t pid);
/* No trace went into the first trace's file: remove it if giltrace
 * created it (never a path that was there before). */
void run_output_discard_root(struct run_output *o);
void run_output_free(struct run_output *o);

/* Where the trace goes: the -o file, taken on the first write (a run whose
 * processes never wrote leaves it to run_output_discard_root()). The sink
 * of every process's gt_drain. */
struct run_sink {
	struct run_output *out;
	int fd;         /* -1 until the first write */
	int error;      /* errno of the open or a write; ESTALE: the file was
			 * removed or replaced while giltrace wrote it */
	dev_t dev;      /* the file written, to tell it from one put in its */
	ino_t ino;      /* place meanwhile */
	char path[PATH_MAX];
	/* Optional: also handed every byte written, in order (giltrace run
	 * reads the root's trace as it writes it). Its result is ignored. */
	int (*tee)(void *ctx, const void *data, size_t len);
	void *tee_ctx;
};

int run_sink_write(void *ctx, const void *data, size_t len);
/* Closes the file; a regular file no longer at its path (removed, or
 * replaced by the program) sets error to ESTALE. */
void run_sink_close(struct run_sink *s);

#endif
