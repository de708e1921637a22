/* SPDX-License-Identifier: MIT */
/*
 * run_output.h — the files `giltrace run` writes its traces into.
 *
 * -o names the first traced process's trace: a regular file (created or
 * truncated), a FIFO someone reads, or a character device such as
 * /dev/null. It is made absolute and opened — never unlinked or replaced —
 * before the program starts, so a bad path is one error line and exit 2,
 * and claimed with an advisory lock, so two runs given the same -o cannot
 * both believe they wrote it. Every other traced process (fork()ed
 * children, exec()ed programs with --children) gets <stem>.<pid><ext>
 * beside it (.<pid>.2 and so on for a second image of the same pid), or its
 * own expansion of %p; on a device they share the device; on a FIFO they are
 * not written (said once), since one FIFO carries one trace.
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
	char **used;           /* paths given out in this run */
	size_t nused;
	uint64_t bytes;        /* written so far, every trace of the run */
};

/* Checks -o (arg) and, unless it has %p, opens and claims it. Prints the
 * reason and returns -1 if the trace could not be written. */
int run_output_prepare(struct run_output *o, const char *arg);
/* For a name with %p: opens the first trace's file for process pid. */
int run_output_open_root(struct run_output *o, pid_t pid);
/* Opens the trace file of another process; path receives its name.
 * Returns the descriptor or -errno (-ENOTSUP: the output is a FIFO). */
int run_output_open_other(struct run_output *o, uint32_t pid, char *path, size_t size);
/* No trace went into the first trace's file: remove it if giltrace
 * created it (never a path that was there before). */
void run_output_discard_root(struct run_output *o);
void run_output_free(struct run_output *o);

/* Where one process image's trace goes: opened on the first write (a
 * forked child's may never be). The sink of its gt_drain. */
struct run_sink {
	struct run_output *out;
	uint32_t pid;
	int root;       /* the first traced image of the command's process */
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
