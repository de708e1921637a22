/* SPDX-License-Identifier: MIT */
/*
 * gt_out.h — the trace file of a process that writes its own trace.
 *
 * Only with a private pool (plain LD_PRELOAD, see gt_writer.h). The rule is
 * that a descriptor of ours must never be one the program can close or
 * reuse: programs close every descriptor they did not open (daemons,
 * subprocess children with close_fds) and then open their own files, which
 * get the same numbers. So the file is written from the writer thread's own
 * descriptor table (close_range(CLOSE_RANGE_UNSHARE)), invisible to the
 * program; where that is impossible (no such kernel support, or no writer
 * thread running) it is opened for each write and closed right after. It
 * is claimed with an advisory lock, and reopened only if it is still the
 * same file (device and inode): a file removed or replaced meanwhile is
 * never written into.
 */
#ifndef GT_OUT_H
#define GT_OUT_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct gt_out {
	char path[PATH_MAX]; /* where the trace goes, once chosen */
	int fd;              /* -1 when not open in the current table */
	int own_table;       /* fd lives in the writer thread's own table */
	int opened;          /* the file was claimed once */
	int regular;         /* a regular file (can be cut) */
	dev_t dev;
	ino_t ino;
	uint64_t offset;     /* bytes written */
	int64_t cut_at;      /* cut the file here before the next write, or -1 */
};

extern struct gt_out gt_out;

void gt_out_init(void);
/* The drain's sink: claims the file on the first call. 0 or -errno. */
int gt_out_write(void *ctx, const void *data, size_t len);
/* The writer thread begins and ends: its own descriptor table. */
void gt_out_enter_own_table(void);
void gt_out_leave_own_table(void);
/* The trace is complete. */
void gt_out_close(void);
/* Where the trace's bytes end: written, less a cut still to be made. */
uint64_t gt_out_end(void);
/* Can bytes written be taken back (a regular file)? */
int gt_out_can_cut(void);
void gt_out_cut_before_next_write(uint64_t at);
/* Forked child: the parent's file is not ours. */
void gt_out_forget(void);

#endif
