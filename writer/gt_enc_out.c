/* SPDX-License-Identifier: MIT */
/*
 * gt_enc_out.c — the encoder's output side: packets built on the stack (or
 * moved to the heap when they outgrow it), appended to chunks, chunks
 * deflated and handed to the sink; the pre-encoded fast path; and the small
 * helpers every packet uses (timestamps, debug annotations).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gt_deflate.h"

#include "gt_enc_internal.h"
#include "gt_perfetto_fields.h"

/* ---- output ------------------------------------------------------------- */

static void set_error(struct gt_enc *e, int err)
{
	if (!e->error)
		e->error = err;
}

static int sink_write(struct gt_enc *e, const void *data, size_t len)
{
	if (e->error)
		return e->error;
	int rc = e->sink.write(e->sink.ctx, data, len);
	if (rc)
		set_error(e, rc);
	else
		e->bytes_out += len;
	return rc;
}

int gt_enc_flush(struct gt_enc *e)
{
	if (!e->chunk_len || e->error) {
		e->chunk_len = 0;
		return e->error;
	}
	if (!e->opt.compress_level) {
		sink_write(e, e->chunk, e->chunk_len);
		e->chunk_len = 0;
		return e->error;
	}
	/* Deflate (zlib format, as Perfetto expects) into zout+16, then put
	 * the two headers (Trace.packet and TracePacket.compressed_packets) in
	 * front of it. libdeflate: about twice zlib's speed at level 1 on
	 * these chunks, and a better ratio. */
	const size_t head = 16;
	size_t clen = gt_deflate_compress(e->z, e->chunk, e->chunk_len, e->zout + head,
					  e->zout_cap - head);
	if (!clen) {
		set_error(e, -EIO);
		e->chunk_len = 0;
		return e->error;
	}
	uint8_t hdr[2 + 2 * GT_PB_VARINT_MAX + 2];
	size_t inner = 2 + gt_pb_varint_size(clen) + clen; /* field 50 = 2-byte tag */
	size_t n = 0;
	hdr[n++] = (PF_TRACE_PACKET << 3) | GT_PB_LEN;
	n += gt_pb_put_varint(hdr + n, inner);
	n += gt_pb_put_varint(hdr + n, (PF_PKT_COMPRESSED_PACKETS << 3) | GT_PB_LEN);
	n += gt_pb_put_varint(hdr + n, clen);
	memcpy(e->zout + head - n, hdr, n);
	sink_write(e, e->zout + head - n, n + clen);
	e->chunk_len = 0;
	return e->error;
}

/* A packet outgrew its buffer: continue it in the encoder's spill buffer,
 * twice as big as needed. Out of memory is the only way to lose a packet,
 * and it is an error of the whole trace, not a silent loss. */
static int pkt_grow(struct gt_pb *b, size_t n)
{
	struct gt_enc *e = b->ctx;
	size_t len = gt_pb_len(b);
	size_t want = 2 * (len + n);
	if (want > e->spill_cap) {
		uint8_t *nb = malloc(want);
		if (!nb) {
			set_error(e, -ENOMEM);
			return -1;
		}
		memcpy(nb, b->buf, len);
		free(e->spill);
		e->spill = nb;
		e->spill_cap = want;
	} else if (b->buf != e->spill) {
		memcpy(e->spill, b->buf, len); /* an earlier packet's spill fits */
	}
	b->buf = e->spill;
	b->p = b->buf + len;
	b->end = b->buf + e->spill_cap;
	return 0;
}

void gt_enc_pkt_init(struct gt_enc *e, struct gt_pb *b, uint8_t *buf, size_t size)
{
	gt_pb_init(b, buf, size);
	b->grow = pkt_grow;
	b->ctx = e;
}

/* Makes the chunk (and its compressed copy) big enough for one packet of
 * need bytes, which only a packet bigger than a whole chunk is not. */
static int chunk_fit(struct gt_enc *e, size_t need)
{
	if (need <= e->chunk_cap)
		return 0;
	gt_enc_flush(e);
	uint8_t *c = realloc(e->chunk, need);
	if (!c)
		return -ENOMEM;
	e->chunk = c;
	e->chunk_cap = need;
	if (e->z) {
		size_t zcap = gt_deflate_bound(e->z, need) + 32;
		uint8_t *z = realloc(e->zout, zcap);
		if (!z)
			return -ENOMEM;
		e->zout = z;
		e->zout_cap = zcap;
	}
	return 0;
}

/* A copy of a framed packet for gt_enc_preamble(). Out of memory loses
 * the copy, which is an error of the trace: a window's head would lack it. */
static void keep(struct gt_enc *e, const uint8_t *p, size_t n)
{
	if (e->pre_len + n > e->pre_cap) {
		size_t cap = 2 * (e->pre_len + n) + 1024;
		uint8_t *np = realloc(e->pre, cap);
		if (!np) {
			set_error(e, -ENOMEM);
			return;
		}
		e->pre = np;
		e->pre_cap = cap;
	}
	memcpy(e->pre + e->pre_len, p, n);
	e->pre_len += n;
}

/* Appends one finished TracePacket to the current chunk. */
void gt_enc_emit(struct gt_enc *e, struct gt_pb *b)
{
	if (b->overflow) { /* out of memory (pkt_grow() said so) */
		e->packets_lost++;
		return;
	}
	size_t len = gt_pb_len(b);
	size_t need = 1 + gt_pb_varint_size(len) + len;
	if (e->chunk_len + need > e->chunk_cap)
		gt_enc_flush(e);
	if (need > e->chunk_cap && chunk_fit(e, need)) {
		set_error(e, -ENOMEM);
		e->packets_lost++;
		return;
	}
	uint8_t *p = e->chunk + e->chunk_len;
	*p++ = (PF_TRACE_PACKET << 3) | GT_PB_LEN;
	p += gt_pb_put_varint(p, len);
	memcpy(p, b->buf, len);
	if (e->capturing && e->opt.keep_preamble)
		keep(e, e->chunk + e->chunk_len, need);
	e->chunk_len += need;
	e->packets++;
}

/* The descriptors said again, as they were (absolute timestamps, a
 * sequence of their own that interns nothing): plain packets after the
 * chunk so far. */
void gt_enc_preamble(struct gt_enc *e)
{
	gt_enc_flush(e);
	if (e->pre_len)
		sink_write(e, e->pre, e->pre_len);
}

/* The fast path: a packet made of a timestamp delta, the sequence id and a
 * pre-encoded TrackEvent, written straight into the chunk. This is what
 * almost every event of a busy thread becomes (build_templates()). */

int gt_enc_emit_fast(struct gt_enc *e, struct gt_enc_thread *th, uint64_t ts, unsigned t)
{
	if (ts < th->last_ts || th->tmpl_len[t] == 0)
		return 0;
	uint8_t delta[GT_PB_VARINT_MAX];
	size_t dlen = gt_pb_put_varint(delta, ts - th->last_ts);
	size_t body = 1 + dlen + 1 + th->seq_len + 2 + th->tmpl_len[t];
	size_t need = 2 + body; /* body < 128: a one-byte length */
	if (e->chunk_len + need > e->chunk_cap)
		gt_enc_flush(e);
	uint8_t *p = e->chunk + e->chunk_len;
	*p++ = (PF_TRACE_PACKET << 3) | GT_PB_LEN;
	*p++ = (uint8_t)body;
	*p++ = (PF_PKT_TIMESTAMP << 3) | GT_PB_VARINT;
	memcpy(p, delta, dlen), p += dlen;
	*p++ = (PF_PKT_SEQUENCE_ID << 3) | GT_PB_VARINT;
	memcpy(p, th->seq_bytes, th->seq_len), p += th->seq_len;
	*p++ = (PF_PKT_TRACK_EVENT << 3) | GT_PB_LEN;
	*p++ = th->tmpl_len[t];
	memcpy(p, th->tmpl[t], th->tmpl_len[t]);
	e->chunk_len += need;
	e->packets++;
	th->last_ts = ts;
	return 1;
}

/* ---- packet helpers ----------------------------------------------------- */

void gt_enc_ts_absolute(struct gt_pb *b, uint64_t ts)
{
	gt_pb_uint(b, PF_PKT_TIMESTAMP, ts);
	gt_pb_uint(b, PF_PKT_TIMESTAMP_CLOCK_ID, PF_CLOCK_BOOTTIME);
}


/* Timestamp on the thread's incremental clock; a packet that would go back in
 * time (a contention episode's start) is written absolute, as Perfetto's own
 * SDK does, and leaves the incremental clock alone. */
void gt_enc_ts_thread(struct gt_enc_thread *th, struct gt_pb *b, uint64_t ts)
{
	if (ts >= th->last_ts) {
		gt_pb_uint(b, PF_PKT_TIMESTAMP, ts - th->last_ts);
		th->last_ts = ts;
	} else {
		gt_enc_ts_absolute(b, ts);
	}
}


void gt_enc_an_uint(struct gt_pb *b, unsigned name_iid, uint64_t v)
{
	size_t m = gt_pb_begin(b, PF_TE_DEBUG_ANNOTATIONS);
	gt_pb_uint(b, PF_DA_NAME_IID, name_iid);
	gt_pb_uint(b, PF_DA_UINT, v);
	gt_pb_end(b, m);
}


void gt_enc_an_ended(struct gt_pb *b, enum gt_end_reason why)
{
	size_t m = gt_pb_begin(b, PF_TE_DEBUG_ANNOTATIONS);
	gt_pb_uint(b, PF_DA_NAME_IID, AN_ENDED);
	gt_pb_uint(b, PF_DA_STRING_IID, (uint64_t)why);
	gt_pb_end(b, m);
}


void gt_enc_an_str(struct gt_pb *b, const char *name, const char *v)
{
	size_t m = gt_pb_begin(b, PF_TE_DEBUG_ANNOTATIONS);
	gt_pb_string(b, PF_DA_NAME, name);
	gt_pb_string(b, PF_DA_STRING, v);
	gt_pb_end(b, m);
}


void gt_enc_an_uint_named(struct gt_pb *b, const char *name, uint64_t v)
{
	size_t m = gt_pb_begin(b, PF_TE_DEBUG_ANNOTATIONS);
	gt_pb_string(b, PF_DA_NAME, name);
	gt_pb_uint(b, PF_DA_UINT, v);
	gt_pb_end(b, m);
}


/* Starts a thread-sequence packet with a track event; returns the event mark. */
size_t gt_enc_thread_event_begin(struct gt_pb *b, struct gt_enc_thread *th, uint64_t ts,
				 unsigned type)
{
	gt_enc_ts_thread(th, b, ts);
	gt_pb_uint(b, PF_PKT_SEQUENCE_ID, th->seq_id);
	size_t m = gt_pb_begin(b, PF_PKT_TRACK_EVENT);
	gt_pb_uint(b, PF_TE_TYPE, type);
	return m;
}

void gt_enc_thread_slice(struct gt_enc *e, struct gt_enc_thread *th, uint64_t ts, unsigned type,
			 unsigned name_iid)
{
	uint8_t buf[GT_ENC_PKT_MAX];
	struct gt_pb b;
	gt_enc_pkt_init(e, &b, buf, sizeof(buf));
	size_t m = gt_enc_thread_event_begin(&b, th, ts, type);
	if (name_iid)
		gt_pb_uint(&b, PF_TE_NAME_IID, name_iid);
	gt_pb_end(&b, m);
	gt_enc_emit(e, &b);
}
