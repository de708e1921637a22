/* SPDX-License-Identifier: MIT */
/*
 * run_summary.h — `giltrace run`'s summary, read as the trace is written.
 */
#ifndef RUN_SUMMARY_H
#define RUN_SUMMARY_H

#include "report.h"
#include "run_output.h"
#include "run_writer.h"

/* The root's trace, read as giltrace writes it: the same reader and
 * metrics as `giltrace report`, fed the same bytes in the same order, so
 * the summary is ready the moment the command ends. */
struct streamed {
	struct gt_metrics m;
	struct gt_rd_callbacks cb;
	struct gt_rd_summary sum;
	struct gt_rd_stream *st;
	int failed;
	char err[512];
};

/* Tees the root trace's bytes into s (before the writer starts). */
void run_stream_start(struct streamed *s, struct run_writer *w,
		      const struct gt_convoy_opts *convoy);

/* `giltrace run --progress` (run_progress.c). */
struct run_progress_line {
	int tty, shown;
	uint64_t last_s;
};
void run_progress_start(struct run_progress_line *l, struct run_writer *w);
/* Erases the line (on a terminal) before anything else is printed. */
void run_progress_end(struct run_progress_line *l);

/* How `giltrace run` was asked to report. */
struct run_report_opts {
	int quiet, no_report, children;
	struct gt_convoy_opts convoy;
};

/* After the run: says where every trace went (or why there is none), then
 * prints the root's summary on stderr unless quiet or no_report, and adds
 * the convoy tracks. Returns rc, the command's status. */
int run_report(struct run_writer *w, struct run_output *out, const struct run_report_opts *o,
	       struct streamed *streamed, int rc);

#endif
