/* SPDX-License-Identifier: MIT */
/*
 * report.h — renders a trace's metrics for people and for programs.
 *
 * Text (one screen, for a terminal), JSON (for `check` baselines and
 * scripts; schema in docs/metrics.md#json) and markdown (for a CI job
 * summary). `giltrace run` prints the same text report as `giltrace report`.
 */
#ifndef REPORT_H
#define REPORT_H

#include <stdio.h>

#include "metrics.h"
#include "summary.h"

#define GT_REPORT_SCHEMA_VERSION 1

struct gt_report_opts {
	const char *trace_path;
	int top;          /* threads listed; 0 = all */
	const char *docs; /* where metrics.md is (NULL: "docs"): verdicts link there */
	const char *process; /* the report covers only these (--process), or NULL */
};

/* Reads path into m (initialised here, with these convoy thresholds; NULL
 * for the defaults). keep_episodes: list every convoy episode (to annotate
 * the trace). Returns 0 or -1 with a one-line message in err. */
int gt_report_load(const char *path, struct gt_metrics *m, const struct gt_convoy_opts *convoy,
		   int keep_episodes, char *err, size_t errlen);

/* The same for some of the trace's processes only (report_select.c): which
 * is a pid, or a name that selects every process whose name is it, or a
 * word of whose command line is it or ends in /it ("worker.py",
 * "gunicorn"); NULL: all. Every metric is then computed as if the trace
 * held only those. -1 with a message if none matches. */
int gt_report_load_processes(const char *path, struct gt_metrics *m,
			     const struct gt_convoy_opts *convoy, int keep_episodes,
			     const char *which, char *err, size_t errlen);

void gt_report_text(FILE *out, const struct gt_metrics *m, const struct gt_summary *s,
		    const struct gt_report_opts *o);
/* 0, or -1 if the JSON could not be built or written. */
int gt_report_json(FILE *out, const struct gt_metrics *m, const struct gt_summary *s,
		   const struct gt_report_opts *o);
void gt_report_markdown(FILE *out, const struct gt_metrics *m, const struct gt_summary *s,
			const struct gt_report_opts *o);

/* Appends the convoy episodes in m (loaded with keep_episodes) to the trace
 * at path as tracks of their own. Returns the number written (0 if there
 * were none, or the trace already has them), or -1 with err set. */
long gt_report_annotate(const char *path, const struct gt_metrics *m, char *err, size_t errlen);

#endif
