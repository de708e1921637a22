/* SPDX-License-Identifier: MIT */
/*
 * trace_reader.h — reads giltrace's Perfetto traces back.
 *
 * A streaming, bounds-checked decoder: it reads the file packet by packet
 * (inflating compressed chunks), keeps per-sequence state (interning,
 * incremental clock, defaults), pairs each track's BEGIN/END into complete
 * slices and hands them to callbacks. Memory is proportional to the number of
 * threads and tracks, not to the length of the trace. Malformed input never
 * crashes it: every failure becomes one error message.
 *
 * It reads what gt_encoder writes (both recorders) and relies on the track
 * uuid layout documented in docs/trace-format.md.
 */
#ifndef TRACE_READER_H
#define TRACE_READER_H

#include <stddef.h>
#include <stdint.h>

enum gt_rd_kind {
	GT_RD_WAIT = 1,     /* "GIL wait" on a thread track */
	GT_RD_HOLD,         /* "GIL hold" on a thread track */
	GT_RD_HOLDER,       /* a slice on a GIL's holder track */
	GT_RD_CONTENDED,    /* a span on a GIL's contended track */
	GT_RD_DROP_REQUEST, /* instant on a GIL's holder track */
};

/* A completed slice (or instant, dur 0). */
struct gt_rd_slice {
	enum gt_rd_kind kind;
	uint32_t pid;
	uint32_t tid;      /* thread whose sequence wrote it */
	int gil;           /* GIL slot, -1 if unknown */
	uint64_t ts, dur;  /* CLOCK_BOOTTIME ns */
	int open;          /* still open at the end of the trace */
	/* Annotations (0 / empty when absent). */
	uint32_t holder_tid;   /* wait: who held the GIL when it began */
	uint32_t timeouts;     /* wait: timed waits that ran out */
	uint32_t requested_by; /* drop request: the waiter that asked */
	uint32_t prev_holder;  /* holder slice: the thread it switched from */
	int ended;             /* enum gt_end_reason, 0 = not said */
	int flow_out, flow_in; /* hold: ends / begins a handoff flow */
	/* Run delays, ns, when the recorder read them (has_*): wait, its own
	 * and its holders' while it waited; hold, the holder's while a
	 * thread waited (docs/metrics.md, "CPU waits"). */
	int has_cpu_wait, has_holder_cpu_wait;
	uint64_t cpu_wait, holder_cpu_wait;
};

struct gt_rd_thread {
	uint32_t pid, tid;
	const char *name;    /* its Python name, or else its OS name */
	const char *os_name; /* its OS name when that differs, else "" */
};

/* A process descriptor: its name and command line (arguments joined by
 * spaces, cut to fit). Strings live until the next callback. */
struct gt_rd_process {
	uint32_t pid;
	const char *name;
	const char *cmdline;
};

struct gt_rd_gil {
	uint32_t pid;
	unsigned slot;
	int64_t interp_id; /* -1: not known (a GIL's track, before its record) */
};

/* "giltrace start" / "giltrace end" metadata. Strings live until the next
 * callback. */
struct gt_rd_meta {
	int final;
	/* The run's record at the head of a window (GT_NAME_WINDOW): only ts
	 * (where the kept part begins) and run_start are set; pid is 0. */
	int window;
	uint32_t pid;
	uint64_t ts;
	const char *giltrace_version, *recorder, *clock, *python_version, *gil_method, *notes;
	/* end only: "on" when waits are split into waiting for the GIL and for
	 * a CPU, else why not; NULL when not said (no wait, older trace) */
	const char *cpu_split;
	uint64_t trace_format, events, events_dropped, threads;
	uint64_t gils_untraced; /* GILs beyond the recorder's table, not traced */
	/* A start record that opens the last part of a longer recording
	 * (giltrace run --keep / --max-size): when recording began. The
	 * reader clips what the process has before ts to ts. */
	uint64_t run_start;
};

struct gt_rd_counter {
	uint32_t pid;
	uint32_t tid; /* thread whose sequence said it; 0: the metadata sequence */
	int gil;
	int is_interval; /* switch interval track (µs); else waiters */
	uint64_t ts;
	int64_t value;
};

struct gt_rd_callbacks {
	void *ctx;
	void (*thread)(void *ctx, const struct gt_rd_thread *t);
	void (*gil)(void *ctx, const struct gt_rd_gil *g);
	void (*slice)(void *ctx, const struct gt_rd_slice *s);
	void (*counter)(void *ctx, const struct gt_rd_counter *c);
	void (*meta)(void *ctx, const struct gt_rd_meta *m);
	void (*process)(void *ctx, const struct gt_rd_process *p); /* may be NULL */
	/* Interpreter g->interp_id runs under GIL g->slot (an "interpreter"
	 * record); may be NULL. */
	void (*interp)(void *ctx, const struct gt_rd_gil *g);
};

/* What the reader noticed but could read past. */
struct gt_rd_summary {
	uint64_t packets;
	uint64_t bytes;
	uint64_t first_ts, last_ts; /* over all events */
	uint64_t unmatched_ends;    /* END with nothing open */
	uint64_t open_slices;       /* still open at the end */
	int has_start, has_end;     /* giltrace metadata records seen */
	int annotated;              /* convoy tracks written by giltrace are in it */
};

/* Reads path (or stdin for "-"). Returns 0, or -1 with a one-line message
 * (no trailing newline) in err. */
int gt_read_trace(const char *path, const struct gt_rd_callbacks *cb, struct gt_rd_summary *sum,
		  char *err, size_t errlen);
/* The same, pushed in pieces of any size as they are written (a writer
 * tees its output here, so that its reading is done when the trace is):
 * open, feed (0, or -1 once the trace is found bad: err says why; later
 * feeds are ignored), end (checks the trace is complete, hands out what is
 * still open, frees; 0 or -1). Reading a file is exactly this. */
struct gt_rd_stream;
struct gt_rd_stream *gt_rd_stream_open(const struct gt_rd_callbacks *cb,
				       struct gt_rd_summary *sum, char *err, size_t errlen);
int gt_rd_stream_feed(struct gt_rd_stream *st, const void *data, size_t n);
int gt_rd_stream_end(struct gt_rd_stream *st);
/* The same from memory (used by the fuzzer and unit tests). */
int gt_read_trace_mem(const void *data, size_t len, const struct gt_rd_callbacks *cb,
		      struct gt_rd_summary *sum, char *err, size_t errlen);

#endif
