/* SPDX-License-Identifier: MIT */
/*
 * gt_encoder.h — turns GIL events into a Perfetto protobuf trace.
 *
 * One encoder per traced process. Each thread gets its own packet sequence
 * (its own interning and incremental timestamps), so a thread's events can be
 * encoded in order without looking at other threads. Per-GIL tracks (holder,
 * waiters, contention) are written by whichever thread's sequence the event
 * belongs to; Perfetto merges them by timestamp. Output goes through a sink
 * in chunks that are optionally deflate-compressed (TracePacket field 50).
 *
 * Timestamps passed in are nanoseconds on CLOCK_BOOTTIME (the caller converts
 * its recorder clock). The encoder allocates after gt_enc_init() only for a
 * packet that outgrows its stack buffer or a chunk. The layout (uuids, names,
 * annotation keys) is model/gt_schema.h.
 * See docs/trace-format.md for what is written.
 */
#ifndef GT_ENCODER_H
#define GT_ENCODER_H

#include <stddef.h>
#include <stdint.h>

#include "gt_event.h"
#include "gt_schema.h" /* uuids, names, enum gt_end_reason */

struct gt_deflate;

struct gt_enc_sink {
	/* Writes all of data or fails; returns 0 or a negative errno. */
	int (*write)(void *ctx, const void *data, size_t len);
	void *ctx;
};

struct gt_enc_options {
	int compress_level;        /* 0 = plain packets, 1..12 = deflate level */
	size_t chunk_size;         /* bytes of packets per compressed chunk */
	int64_t monotonic_offset;  /* BOOTTIME - MONOTONIC in ns, for the snapshot */
	/* Where sequence ids come from when several encoders write one trace
	 * (giltrace run: every process of the run in one file); NULL: this
	 * encoder's own count. Ids must never repeat within a file. */
	uint32_t *seq_ids;
	/* Keep a copy of the process's descriptors (process, GIL tracks and
	 * identities) for gt_enc_preamble(): a trace cut into windows
	 * (giltrace run --keep) declares them again in each window's head. */
	int keep_preamble;
};

/* Per-thread encoder state. The caller owns the storage (the preload writer
 * keeps one per ring slot) and zeroes it before gt_enc_thread_start(). */
struct gt_enc_thread {
	uint32_t tid;
	uint32_t seq_id;  /* trusted_packet_sequence_id */
	uint64_t last_ts; /* timestamp of the last packet on the sequence */
	uint64_t first_ts;
	uint8_t started;
	uint8_t in_wait;
	uint8_t in_hold;
	uint8_t gil;      /* GIL of the open wait or hold */
	uint32_t wait_peer; /* the open wait's holder_tid */
	uint32_t name_iid;
	char name[GT_THREAD_NAME_MAX];
	char os_name[16]; /* said beside name when they differ */
	/* A release is held back until the thread's next event tells whether
	 * it was forced (handshake follows) or ended the thread. */
	uint8_t pending;
	uint8_t pending_forced;
	uint8_t pending_gil;
	uint32_t pending_count;
	uint32_t pending_seq;
	uint64_t pending_ts;
	uint64_t contended_since; /* from the last GT_EV_CONTENDED_SINCE */
	/* From a GT_EV_SCHED, for the event that follows it: run delays (ns)
	 * of the thread and of its holders (~0: unknown). */
	uint8_t sched_valid;
	uint64_t sched_own, sched_held;
	uint64_t pending_cpu_wait; /* the held-back release's (~0: none) */
	/* The switch interval this sequence last said for GIL interval_gil
	 * (0xff: none yet). */
	uint8_t interval_gil;
	uint32_t interval_us;
	/* Pre-encoded TrackEvent bodies of the packets an uncontended
	 * release/acquire writes, for GIL tmpl_gil (see build_templates()). */
	uint8_t tmpl_gil;
	uint32_t tmpl_name_iid; /* the holder name these templates use */
	uint8_t seq_bytes[5], seq_len;
	uint8_t tmpl_len[GT_END_REASON_MAX + 3];
	uint8_t tmpl[GT_END_REASON_MAX + 3][24];
};

struct gt_enc_gil {
	uint8_t declared;
	uint8_t interval_declared;
	int64_t interp_id;
	uint32_t interval_us;
	/* The highest release number encoded, and its value at the last
	 * window cut: a flow from a release before the cut is not ended after
	 * it (the window with its start may be dropped). */
	uint32_t rel_seq, cut_seq;
	uint8_t cut;
};

struct gt_enc {
	struct gt_enc_sink sink;
	struct gt_enc_options opt;
	uint32_t pid;
	uint32_t next_seq_id;
	uint32_t meta_seq_id; /* the process's metadata sequence */
	uint8_t *chunk;
	size_t chunk_len;
	size_t chunk_cap;
	uint8_t *zout;
	size_t zout_cap;
	struct gt_deflate *z; /* the compressor (gt_deflate.h), NULL: plain */
	uint8_t *spill; /* packets that outgrow their stack buffer (pkt_grow()) */
	size_t spill_cap;
	struct gt_enc_gil gils[GT_MAX_GILS];
	int error;             /* first sink or compression error, sticky */
	uint64_t bytes_out;    /* bytes handed to the sink */
	uint64_t packets;      /* packets encoded */
	uint64_t packets_lost; /* packets lost for want of memory (error set too) */
	uint8_t *pre;          /* opt.keep_preamble: the descriptors' packets, framed */
	size_t pre_len, pre_cap;
	int capturing;         /* what is emitted now belongs to the preamble */
};

/* Metadata written at the start and at the end of the trace. */
struct gt_enc_meta {
	const char *python_version; /* e.g. "3.11.7" */
	const char *gil_method;     /* how the GIL was identified */
	const char *recorder;       /* "preload" or "bpf" */
	const char *clock;          /* recorder clock, e.g. "tsc" */
	const char *notes;          /* free text (warnings), may be NULL */
	uint64_t events;            /* events recorded */
	uint64_t events_dropped;    /* events lost: rings full, no slot */
	uint32_t threads;           /* threads seen */
	uint32_t gils_untraced;     /* GILs created beyond GT_MAX_GILS: not traced */
	const char *cpu_split;      /* end only: "on", or why waits are not split */
	int final;                  /* 1 for the end-of-trace record */
	/* A start record that opens a window of a longer recording (giltrace
	 * run --keep): when recording began. 0: the trace starts with it. */
	uint64_t run_start;
};

int gt_enc_init(struct gt_enc *e, const struct gt_enc_options *opt, struct gt_enc_sink sink,
		uint32_t pid);
void gt_enc_free(struct gt_enc *e);

/* Process descriptor; write before anything else. argv may be NULL. */
void gt_enc_process(struct gt_enc *e, uint64_t ts, const char *name, const char *const *argv,
		    int argc);

/* Interpreter interp_id runs under the GIL of slot (declared before),
 * which is another interpreter's: once per interpreter, kept in the
 * preamble. */
void gt_enc_interp(struct gt_enc *e, uint64_t ts, int64_t interp_id, unsigned slot);
/* Declares a GIL's tracks; write before the first event that uses slot.
 * interval_us: its switch interval, 0 if not known yet. */
void gt_enc_gil(struct gt_enc *e, uint64_t ts, unsigned slot, int64_t interp_id,
		uint32_t interval_us);

void gt_enc_thread_start(struct gt_enc *e, struct gt_enc_thread *th, uint32_t tid,
			 const char *name, uint64_t ts);
/* The thread's name (its Python name, or else its OS name) or its OS name
 * (NULL: unchanged) changed: re-describe the thread and name later holds
 * after the new name. */
void gt_enc_thread_rename(struct gt_enc *e, struct gt_enc_thread *th, const char *name,
			  const char *os_name, uint64_t ts);
/* One event of th, in the thread's order. ts is ev->ts converted to ns. */
void gt_enc_event(struct gt_enc *e, struct gt_enc_thread *th, const struct gt_event *ev,
		  uint64_t ts);
/* Settles a held-back release once no handshake can follow any more. */
void gt_enc_thread_settle(struct gt_enc *e, struct gt_enc_thread *th);
/* Closes whatever the thread has open at ts (thread or process exit). */
void gt_enc_thread_end(struct gt_enc *e, struct gt_enc_thread *th, uint64_t ts,
		       enum gt_end_reason why);

void gt_enc_meta(struct gt_enc *e, uint64_t ts, const struct gt_enc_meta *m);

/* Cutting a trace into windows that can each begin the file (giltrace run
 * --keep keeps the last few; see writer/run_ring.h). At a cut at ts, after
 * every pending release is settled and the chunk flushed into the old
 * window:
 *  - the new window's head, used only if the window before it is dropped:
 *    gt_enc_preamble(), a start record with run_start, then
 *    gt_enc_thread_resume() for each live thread: its sequence's state
 *    anew, its descriptor, its switch interval and the slices it has open,
 *    begun at ts;
 *  - then, into the new window itself, gt_enc_thread_restate() for each
 *    live thread: its sequence's incremental state cleared and said again
 *    at ts, so that what follows reads the same with or without the old
 *    window. Events a thread timestamped before ts but the writer saw
 *    after the cut are moved to ts (a thread's slices never go back). */
void gt_enc_preamble(struct gt_enc *e);
/* The run's own record at the head of each window (plain packets on a
 * sequence of their own, from seq_ids): the trace is the last part, from
 * ts, of a recording that began at run_start. Said even when no process
 * was running at ts. 0 or the sink's error. */
int gt_enc_run_window(struct gt_enc_sink sink, uint32_t *seq_ids, uint64_t ts,
		      uint64_t run_start);
/* At the cut, with the releases settled: flows do not cross it. */
void gt_enc_cut_flows(struct gt_enc *e);
void gt_enc_thread_resume(struct gt_enc *e, struct gt_enc_thread *th, uint64_t ts);
void gt_enc_thread_restate(struct gt_enc *e, struct gt_enc_thread *th, uint64_t ts);

/* Hands everything encoded so far to the sink. Returns e->error. */
int gt_enc_flush(struct gt_enc *e);

#endif
