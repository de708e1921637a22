/* SPDX-License-Identifier: MIT */
/*
 * gt_enc_internal.h — what the encoder's files share: interned ids, the
 * packet helpers, the fast path's templates. Not the encoder's API
 * (gt_encoder.h); analysis/convoy_trace.c builds its packets with these too.
 */
#ifndef GT_ENC_INTERNAL_H
#define GT_ENC_INTERNAL_H

#include "gt_encoder.h"
#include "gt_pb.h"

/* Interned ids, the same on every thread sequence (gt_enc_thread_start()). */
enum {
	NAME_WAIT = 1, NAME_HOLD, NAME_DROP_REQUEST, NAME_CONTENDED, NAME_CPU_WAIT,
	NAME_THREAD_FIRST = 8
};
enum {
	AN_HOLDER = 1, AN_TIMEOUTS, AN_ENDED, AN_REQUESTED_BY, AN_PREV_HOLDER, AN_CPU_WAIT,
	AN_HOLDER_CPU_WAIT
};

/* A new trusted_packet_sequence_id (opt.seq_ids, or the encoder's own).
 * The first is the metadata sequence (e->meta_seq_id): process, GIL
 * tracks, start and end records. */
uint32_t gt_enc_new_seq(struct gt_enc *e);
/* The next id from the counter *next (skipping 0 and the annotation's). */
uint32_t gt_enc_next_seq(uint32_t *next);
/* A packet is built on the stack in a buffer this size, which fits every
 * event packet; one that outgrows it (a long command line, many GILs' worth
 * of metadata) moves to the heap (gt_enc_pkt_init()). */
#define GT_ENC_PKT_MAX 1024

/* The pre-encoded TrackEvents of an uncontended release/acquire. */
enum {
	TMPL_HOLD_BEGIN,
	TMPL_HOLDER_BEGIN,
	TMPL_HOLDER_END,
	TMPL_HOLD_END, /* + enum gt_end_reason */
};

/* Starts a packet in buf (size bytes), growing onto the heap if needed. */
void gt_enc_pkt_init(struct gt_enc *e, struct gt_pb *b, uint8_t *buf, size_t size);
/* Appends a finished packet to the current chunk. */
void gt_enc_emit(struct gt_enc *e, struct gt_pb *b);
/* Writes template t of th at ts straight into the chunk; 0 if it cannot. */
int gt_enc_emit_fast(struct gt_enc *e, struct gt_enc_thread *th, uint64_t ts, unsigned t);
/* Timestamps: absolute (BOOTTIME), or on th's incremental clock. */
void gt_enc_ts_absolute(struct gt_pb *b, uint64_t ts);
void gt_enc_ts_thread(struct gt_enc_thread *th, struct gt_pb *b, uint64_t ts);
/* Debug annotations: by interned name, or by name. */
void gt_enc_an_uint(struct gt_pb *b, unsigned name_iid, uint64_t v);
void gt_enc_an_ended(struct gt_pb *b, enum gt_end_reason why);
void gt_enc_an_str(struct gt_pb *b, const char *name, const char *v);
void gt_enc_an_uint_named(struct gt_pb *b, const char *name, uint64_t v);
/* Starts a thread-sequence packet with a track event; returns its mark. */
size_t gt_enc_thread_event_begin(struct gt_pb *b, struct gt_enc_thread *th, uint64_t ts,
				 unsigned type);
/* A slice begin named name_iid, or an end (name_iid 0), on th's own track. */
void gt_enc_thread_slice(struct gt_enc *e, struct gt_enc_thread *th, uint64_t ts, unsigned type,
			 unsigned name_iid);
/* Says on th's sequence that gil's switch interval is us from ts on. */
void gt_enc_say_interval(struct gt_enc *e, struct gt_enc_thread *th, unsigned gil, uint64_t ts,
			 uint32_t us);
/* Declares GIL slot's switch-interval counter track, once. */
void gt_enc_interval_track(struct gt_enc *e, uint64_t ts, unsigned slot);

#endif
