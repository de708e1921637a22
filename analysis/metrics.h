/* SPDX-License-Identifier: MIT */
/*
 * metrics.h — GIL metrics computed from a trace (definitions: docs/metrics.md).
 *
 * Fed by trace_reader's callbacks; every aggregate is order-independent or
 * per-thread, so slices can arrive in file order. Memory grows with threads
 * and GILs only.
 */
#ifndef METRICS_H
#define METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "convoy.h"
#include "gt_schema.h"
#include "histogram.h"
#include "trace_reader.h"

struct gt_thread_stats {
	uint32_t pid, tid;
	char name[GT_THREAD_NAME_MAX]; /* Python name, or else OS name */
	char os_name[16];              /* the OS name, when it differs */
	uint64_t first_ts, last_ts;  /* first and last GIL event of the thread */
	uint64_t wait_ns, waits, wait_max, timeouts;
	uint64_t hold_ns, holds;
	/* CPU waits (docs/metrics.md): its own run delay during its waits,
	 * its holders' that kept it waiting, and its waits less both. */
	uint64_t wait_cpu_ns, wait_held_ns, wait_excl_ns;
	uint64_t forced;        /* holds that ended in a forced release */
	uint64_t drop_requests; /* forced releases this thread caused */
	uint64_t open;          /* slices cut off by the end of the trace */
	struct gt_hist *wait_hist; /* allocated on the first wait */
	struct gt_convoy_state convoy;
	/* The switch interval this thread's own sequence last said, for GIL
	 * interval_gil (-1: none yet; the GIL's declared one applies). */
	int interval_gil;
	uint32_t interval_us;
};

/* Distinct switch intervals a GIL's held time is told apart by; held time
 * under any further one is summed in held_other_interval_ns. */
#define GT_INTERVALS_KEPT 4

/* Holds, by their length in switch intervals: < 0.1, 0.1-0.5, 0.5-1, 1-2, >= 2. */
#define GT_HOLD_BUCKETS 5
extern const double gt_hold_bucket_edges[GT_HOLD_BUCKETS + 1]; /* in intervals; last = inf */

/* The convoys of one (victim, culprit) pair. */
struct gt_convoy_pair {
	uint32_t pid, victim, culprit;
	uint64_t episodes, delayed, delay_ns;
};

struct gt_gil_stats {
	uint32_t pid;
	unsigned slot;
	int64_t interp_id; /* -1 if unknown */
	/* The interpreters that run under it, sorted: its own and any that
	 * share it (legacy subinterpreters); empty if none is known. */
	int64_t *interps;
	size_t ninterps, interps_cap;
	uint64_t held_ns, holds, contended_ns, wait_ns, switches, drop_requests;
	/* CPU waits: its waits less their CPU waits; its holders' run delay
	 * while a thread waited (the contention with no Python running). */
	uint64_t wait_excl_ns, holder_off_ns;
	uint64_t first_ts, last_ts;
	uint32_t interval_us; /* declared when the GIL was created, 0 = unknown */
	struct {
		uint32_t us;
		uint64_t held_ns;
	} by_interval[GT_INTERVALS_KEPT]; /* held time by the interval in force */
	uint64_t held_other_interval_ns;
	struct gt_hist hold_hist;
	uint64_t bucket_holds[GT_HOLD_BUCKETS], bucket_ns[GT_HOLD_BUCKETS];
};

/* The main interpreter's GIL: interpreter 0, or where no interpreter is
 * known (3.6, a version with no layout), the process's first GIL. */
static inline int gt_gil_is_main(const struct gt_gil_stats *g)
{
	return g->interp_id == 0 || (g->interp_id < 0 && g->slot == 0);
}

/* One process of the trace (every image of its pid). */
struct gt_proc_stats {
	uint32_t pid;
	char name[64], cmdline[256], python_version[32];
	int has_start, has_end;
	unsigned images, images_ended; /* start and end records (exec()s add) */
	uint64_t start_ns, end_ns, wall_ns;
	uint64_t run_start_ns; /* its trace is the last part from start_ns of
				* a recording that began then (0: all of it) */
	uint64_t events, events_dropped, gils_untraced;
	char cpu_split[128]; /* its end record's word on split waits ("" none) */
};

struct gt_metrics {
	/* Session */
	uint64_t start_ns, end_ns, wall_ns;
	/* The trace keeps only the last part, from start_ns, of a recording
	 * that began at run_start_ns (giltrace run --keep / --max-size);
	 * 0: it holds everything recorded. */
	uint64_t run_start_ns, window_ns;
	char python_version[32], recorder[16], giltrace_version[32], clock[16];
	char *gil_method; /* how each GIL was found, whole; NULL if not said */
	uint64_t events, events_dropped;
	uint64_t gils_untraced; /* GILs the recorder had no room for */
	int has_start, has_end;
	uint64_t open_slices, unmatched_ends;
	/* Totals over every thread */
	uint64_t forced, voluntary, thread_exits, process_exits;
	/* Per thread and per GIL */
	struct gt_thread_stats *threads;
	size_t nthreads, threads_cap;
	uint32_t *index; /* open-addressing (pid,tid) -> threads[] + 1 */
	size_t index_cap;
	size_t last_thread; /* threads[] + 1 of the last lookup: slices come in runs */
	struct gt_gil_stats *gils;
	size_t ngils, gils_cap;
	struct gt_proc_stats *procs; /* in the order the trace names them */
	size_t nprocs, procs_cap;
	/* Every wait of every thread; the sum of their squares (ns^2, in a
	 * double: a 10 s wait squared overflows 64 bits) for the time-weighted
	 * mean. */
	struct gt_hist all_waits;
	double wait_sq_ns2;
	/* Every wait by its time, whole and without its CPU waits: for the
	 * time-weighted median (docs/metrics.md). */
	struct gt_time_hist wait_time, wait_excl_time;
	/* Waits are split into waiting for the GIL and for a CPU (every
	 * process says so and every wait carries it); else split_note says
	 * why not. The same sum of squares over the waits less their CPU
	 * waits; waits that ended without their run delays. */
	int split;
	char split_note[160];
	double wait_excl_sq_ns2;
	uint64_t waits_unsplit;
	/* Convoys (set the options after gt_metrics_init()). */
	struct gt_convoy_opts convoy_opts;
	struct gt_convoy_pair *convoys;
	size_t nconvoys, convoys_cap;
	int keep_episodes; /* also list every episode (for annotating the trace) */
	struct gt_convoy_episode *episodes;
	size_t nepisodes, episodes_cap;
	int annotated; /* the trace already has convoy tracks */
	int oom;
};

void gt_metrics_init(struct gt_metrics *m);
void gt_metrics_free(struct gt_metrics *m);
/* Callbacks to pass to gt_read_trace(); ctx is the gt_metrics. */
struct gt_rd_callbacks gt_metrics_callbacks(struct gt_metrics *m);
/* After reading: wall time, open convoy runs, sorting (worst waits first,
 * worst convoys first). */
void gt_metrics_finish(struct gt_metrics *m, const struct gt_rd_summary *sum);

struct gt_gil_stats *gt_metrics_gil(struct gt_metrics *m, uint32_t pid, unsigned slot);
/* Interpreter id runs under GIL g (kept once, sorted). */
void gt_metrics_gil_interp(struct gt_metrics *m, struct gt_gil_stats *g, int64_t id);
/* Did a layout of the interpreter's version confirm its GILs? 1 yes, 0 no
 * (a version or build with no row: found by behaviour alone, no interpreter
 * ids), -1 not known (no GIL, the trace does not say, 3.6, which has no GIL
 * struct for a layout to describe, or a row the interpreter contradicted:
 * gil_method says LAYOUT MISMATCH). */
int gt_metrics_layout_known(const struct gt_metrics *m);
/* After finish: a thread by tid (NULL if it never touched the GIL). */
const struct gt_thread_stats *gt_metrics_thread(const struct gt_metrics *m, uint32_t tid);
/* The switch interval a GIL's holds and waits are measured against when
 * nothing more precise is known: its declared one, or CPython's default. */
uint64_t gt_metrics_interval_ns(const struct gt_gil_stats *g);
/* The interval in force for most of the GIL's held time (µs, 0 = unknown),
 * and the share of held time under other intervals. */
uint32_t gt_metrics_main_interval_us(const struct gt_gil_stats *g, double *other_share);

/* A process by pid (NULL if the trace has no record of it). */
const struct gt_proc_stats *gt_metrics_proc(const struct gt_metrics *m, uint32_t pid);
/* metrics_procs.c, for metrics.c: a process's stats, created on first sight;
 * its descriptor and its start/end records; the trace-wide totals and
 * completeness, from every process, at the end. */
struct gt_proc_stats *gt_metrics_proc_of(struct gt_metrics *m, uint32_t pid);
void gt_metrics_on_process(void *ctx, const struct gt_rd_process *p);
void gt_metrics_proc_meta(struct gt_metrics *m, const struct gt_rd_meta *md);
void gt_metrics_finish_procs(struct gt_metrics *m);

/* For metrics.c and metrics_store.c: the growing array *arr (of *cap
 * elements of size bytes) has room for n + 1; 0 or -1. */
int gt_metrics_reserve(void **arr, size_t *cap, size_t n, size_t size);
/* The thread's stats, created on first sight (NULL out of memory). */
struct gt_thread_stats *gt_metrics_thread_of(struct gt_metrics *m, uint32_t pid, uint32_t tid);

#endif
