/* SPDX-License-Identifier: MIT */
/*
 * summary.h — the headline numbers of a trace, and what they say is wrong.
 *
 * Everything `report` prints in any format and everything `check` gates on
 * is derived here, once, from the metrics (definitions: docs/metrics.md), so
 * the text, JSON and markdown outputs and the CI gate cannot disagree.
 */
#ifndef SUMMARY_H
#define SUMMARY_H

#include <stddef.h>
#include <stdint.h>

#include "metrics.h"

struct gt_gil_summary {
	const struct gt_gil_stats *g;
	double held_ratio, contention_ratio, mean_waiters, switches_per_s;
	double interval_s;           /* in force for most of the held time; 0 = unknown */
	double interval_other_share; /* share of held time under other intervals */
	double hold_p50_s, hold_p99_s, hold_max_s;
	/* Without CPU waits (docs/metrics.md, "CPU waits"; meaningful when
	 * the summary's split is set): contention less the time its holder
	 * had no CPU, waiting threads less their CPU waits; and the share of
	 * contended time the holder had no CPU. */
	double contention_ratio_excl, mean_waiters_excl, holder_off_share;
};

struct gt_thread_summary {
	const struct gt_thread_stats *t;
	double life_s, wait_ratio; /* wait / (first to last GIL event) */
	double wait_p50_s, wait_p90_s, wait_p99_s, wait_max_s;
};

/* One process of the trace (giltrace run puts every process of a run in
 * one trace). Ratios are of the process's own lifetime. */
struct gt_proc_summary {
	uint32_t pid;
	const struct gt_proc_stats *p;    /* NULL: no record of it in the trace */
	const struct gt_gil_summary *gil; /* its main interpreter's GIL, NULL if none */
	size_t nthreads;
	uint64_t wait_ns, hold_ns;        /* over its threads */
	double wall_s;
};

/* A process as people know it: its command line with the directories of
 * paths left out ("python3.12 pool.py spawn"), else its name, else "?". */
const char *gt_proc_label(const struct gt_proc_summary *p, char *buf, size_t n);


struct gt_finding {
	char text[320];
	const char *anchor; /* docs/metrics.md#anchor */
};

struct gt_summary {
	/* Headline numbers: of the main interpreter's GIL (the first, if the
	 * trace does not say which; with several processes, of the process
	 * whose main GIL was contended longest), except where they sum over
	 * threads. */
	double wall_s, gil_held_ratio, contention_ratio, mean_waiters, switches_per_s;
	double switch_interval_s; /* 0 = unknown */
	double forced_per_s, convoy_delay_s, convoy_delay_ratio;
	double wait_mean_s, wait_p50_s, wait_p90_s, wait_p99_s, wait_max_s; /* all waits */
	double wait_weighted_mean_s; /* sum of squares / sum: see docs/metrics.md */
	double wait_weighted_median_s; /* the median of the time spent waiting */
	/* CPU waits: whether waits are split (else split_note says why not),
	 * the headline numbers without them, the waiters' own run delay and
	 * their holders' over all waits, and both as a share of all waiting. */
	int split;
	const char *split_note;
	double contention_ratio_excl, mean_waiters_excl, wait_weighted_mean_excl_s;
	double wait_weighted_median_excl_s;
	double wait_cpu_s, wait_held_s, cpu_wait_share;
	uint64_t drop_requests;
	int complete; /* has an end record */
	int oom;      /* a verdict was lost for want of memory (gt_summarize fails) */
	size_t ngils;
	struct gt_gil_summary *gils; /* main GIL first */
	struct gt_thread_summary *threads; /* m->threads' order: worst waits first */
	size_t nprocs;
	struct gt_proc_summary *procs;     /* most waited-for first */
	size_t nfindings, findings_cap;
	struct gt_finding *findings; /* as many as there are (a verdict per process) */
};

/* Fills s from finished metrics; 0, or -1 if out of memory. */
int gt_summarize(const struct gt_metrics *m, struct gt_summary *s);
void gt_summary_free(struct gt_summary *s);

/* "name" or "tid N" for a thread of the trace. */
/* A thread as findings name it: its name, with its tid if another thread
 * has the same name ("tid N" if it has none). */
#define GT_THREAD_LABEL_MAX (GT_THREAD_NAME_MAX + 24)
const char *gt_thread_label(const struct gt_metrics *m, uint32_t tid, char *buf, size_t n);

#endif
