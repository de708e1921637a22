/* SPDX-License-Identifier: MIT */
/*
 * gt_drain.h — turns the rings of one traced process image into its trace.
 *
 * The writer's work, whoever does it: the writer thread of a process with a
 * private pool (preload/gt_writer.c) or `giltrace run` draining the shared
 * pool of a whole run, one gt_drain per process image (writer/run_writer.c).
 * A gt_drain_pool holds what is per ring slot on the consumer's side; each
 * gt_drain takes the slots whose owner is its process entry, converts the
 * new events' timestamps and feeds them to that thread's encoder state; a
 * thread that exited is finished and its ring given back.
 *
 * Output goes to a sink the caller supplies. A fork()ed child's trace is
 * held back (in the encoder's chunk) until the child has run a second
 * thread or for a second, or until its end: a child that only ran briefly
 * before exec()ing another program (subprocess's preexec_fn) leaves no trace
 * at all (gt_drain_close() with GT_DRAIN_EXEC).
 *
 * A cycle allocates nothing, so finishing a trace from a signal handler
 * cannot deadlock on malloc. Timestamps are converted with gt_clock_to_ns()
 * (the caller keeps the clock calibrated) when the process recorded TSC
 * ticks.
 */
#ifndef GT_DRAIN_H
#define GT_DRAIN_H

#include <stdint.h>

#include "gt_cpy_names.h"
#include "gt_encoder.h"
#include "gt_shm.h"

/* A ring slot's thread, as the encoder knows it. */
struct gt_drain_thread {
	struct gt_enc_thread th;
	uint64_t name_checked_ns; /* when its OS name was last read */
	char py_name[GT_THREAD_NAME_MAX]; /* threading.Thread.name, "" until read */
	int exited;               /* th's exit is encoded: the next event is a new thread's */
};

/* The consumer's side of a pool. */
struct gt_drain_pool {
	struct gt_shm v;
	struct gt_drain_thread *threads; /* one per slot */
	/* Sequence ids for every drain of the pool: giltrace run writes all
	 * of a run's processes into one trace, where no two may share one. */
	uint32_t seq_ids;
};

/* 0 or -ENOMEM. */
int gt_drain_pool_init(struct gt_drain_pool *p, const struct gt_shm *v);
void gt_drain_pool_free(struct gt_drain_pool *p);
/* Slot i's thread is gone: its ring and its state go back. */
void gt_drain_pool_free_slot(struct gt_drain_pool *p, uint32_t i);
/* Process entry proc is gone for good (dead, or its image replaced): gives
 * back every slot it still holds, then the entry itself. Its drain must be
 * closed (or never opened). */
void gt_drain_pool_release_proc(struct gt_drain_pool *p, uint32_t proc);

/* Which recorder filled the rings a drain reads: said in the trace's
 * metadata. The writer is the same for every recorder; the eBPF recorder
 * will feed it from its ring buffer. */
enum gt_recorder { GT_RECORDER_PRELOAD = 0, GT_RECORDER_BPF };

/* An interpreter said to run under the GIL of a slot. */
struct gt_drain_interp {
	int64_t id;
	unsigned slot;
};

struct gt_drain {
	struct gt_drain_pool *pool;
	uint32_t proc; /* process entry */
	enum gt_recorder recorder;
	uint32_t pid;
	int use_tsc;   /* its events are TSC ticks */
	int lazy;      /* a forked child: hold the trace back (see above) */
	struct gt_enc enc;
	unsigned gils_declared;
	uint64_t start_ns;
	uint64_t last_disk_ns;
	uint64_t events;
	uint64_t dropped; /* from slots already given back */
	uint32_t nthreads;
	int open;
	struct gt_cpy_names names; /* where its threads' Python names are */
	uint64_t names_ns;         /* when all were last looked up */
	uint64_t names_quick_ns;   /* when some were last looked up */
	int names_off;             /* its memory cannot be read: OS names only */
	/* Interpreters already said to share a GIL (gt_drain_interps.c),
	 * sorted. */
	struct gt_drain_interp *interps;
	size_t ninterps, interps_cap;
	struct gt_cpy_interp *walk; /* the list as last read */
	size_t walk_cap;
	int walk_n;                /* interpreters then (-1: unreadable) */
	uint64_t interps_ns;       /* when the list was last read */
	uint32_t interps_threads;  /* threads then: a new one reads it again */
	int interps_off;           /* the list cannot be read: not again */
	int cut_skip;              /* held back at the last cut (gt_drain_cut()) */
	uint64_t cut_ns;           /* the last cut, on the trace's clock */
};

/* How a process image ended, for gt_drain_close(). */
enum gt_drain_end {
	GT_DRAIN_EXIT = 0, /* it finished its trace (exit, _exit, signal) */
	GT_DRAIN_EXEC,     /* exec() replaced it */
	GT_DRAIN_GONE,     /* it died without finishing (SIGKILL, a crash) */
	GT_DRAIN_RUNNING,  /* still running when the writer had to stop */
};

/* What gt_drain_close() reports. */
struct gt_drain_result {
	uint64_t events;
	uint64_t dropped;
	uint32_t threads;
	int error;     /* errno of a failed write, 0 if the trace is complete */
	int discarded; /* nothing was written: a fork()ed child that exec()ed */
};

/* Starts the trace of process entry proc (TRACING or later) into sink:
 * encodes the process descriptor and the metadata, which the first cycle
 * hands to the sink (unless the process is a forked child, see above).
 * keep_preamble: the trace will be cut into windows (gt_drain_cut()).
 * Allocates; never calls the sink. 0 or -errno. */
int gt_drain_open(struct gt_drain *d, struct gt_drain_pool *pool, uint32_t proc,
		  enum gt_recorder recorder, struct gt_enc_sink sink, int keep_preamble);
/* A window cut now (giltrace run --keep, writer/run_ring.h), in three
 * phases, each done for every drain before the next, the sink pointed at:
 * run_start: when the recording began (said at the head). CLOSE the old
 * window (the cut's time taken on the clock of the
 * process's events; what the rings hold up to it drained, what is later
 * left there; releases settled; the chunk flushed into it); the
 * new window's HEAD (gt_enc_preamble(), a start record saying when the
 * recording began, each live thread resumed with its open slices); OPEN
 * the new window (each live thread's sequence restated). A drain whose
 * trace is still held back at CLOSE sits the cut out: its chunk goes on
 * into the new window whole. */
enum gt_drain_cut { GT_CUT_CLOSE, GT_CUT_HEAD, GT_CUT_OPEN };
void gt_drain_cut(struct gt_drain *d, enum gt_drain_cut phase, uint64_t run_start);
/* One pass over the process's rings. Returns 1 if some thread produced a
 * lot since the last pass (come back at once), GT_DRAIN_SOON if a young
 * thread's Python name is still to be read (come back within
 * GT_DRAIN_SOON_MS), else 0. */
#define GT_DRAIN_SOON 2
#define GT_DRAIN_SOON_MS 10
int gt_drain_cycle(struct gt_drain *d);
/* The end: drains everything, closes open slices at end_ticks, writes the
 * final metadata and hands the rest to the sink (or, for a forked child
 * that exec()ed early, nothing). Slots of threads that exited are given
 * back; the others stay the process's until gt_drain_pool_release_proc().
 * Frees what gt_drain_open() allocated only if may_free (not in a signal
 * handler). */
void gt_drain_close(struct gt_drain *d, uint64_t end_ticks, enum gt_drain_end how,
		    int may_free, struct gt_drain_result *r);
/* Drains and hands everything recorded so far to the sink. Returns 0, the
 * sink's error, or 1 if the trace is still held back (a forked child that
 * has not yet shown it is worth a trace: nothing written at all). */
int gt_drain_flush(struct gt_drain *d);
/* Right after gt_drain_flush() returned 0: writes the end of the trace as
 * gt_drain_close() would at end_ticks, without changing the drain's state,
 * so that the caller can cut those bytes off again and carry on (an exec()
 * that may fail). 0, -ENOMEM or the sink's error. Allocates. */
int gt_drain_write_tail(struct gt_drain *d, uint64_t end_ticks);
/* Events lost so far (full rings, threads that found no ring). */
uint64_t gt_drain_dropped(const struct gt_drain *d);
/* Frees what gt_drain_open() allocated without writing (forked child). */
void gt_drain_forget(struct gt_drain *d);

/* Words for a GIL's identification method (enum gt_gil_method bits): every
 * method at once fits in GT_METHOD_TEXT_MAX bytes. */
#define GT_METHOD_TEXT_MAX 256
void gt_drain_describe_method(uint32_t method, char *out, unsigned long size);

/* Gives a freed thread's ring pages back to the system. */
void gt_drain_release_ring(struct gt_event *ring, uint32_t ring_events);

#endif
