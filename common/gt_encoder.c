/* SPDX-License-Identifier: MIT */
/*
 * gt_encoder.c — GIL events to Perfetto TracePackets (see gt_encoder.h and
 * docs/trace-format.md).
 *
 * Size matters here: the worst case is one packet per GIL event at millions of
 * events per second. So event packets lean on the sequence's defaults (thread
 * track, incremental clock), interned names and annotation values, and whole
 * chunks are deflated, which turns the repetitive event stream into a few
 * bytes per event.
 */
#include "gt_encoder.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <libdeflate.h>

#include "gt_pb.h"
#include "gt_perfetto_fields.h"
#include "gt_version.h"

/* Interned ids, the same on every thread sequence (see intern_table()). */
enum { NAME_WAIT = 1, NAME_HOLD, NAME_DROP_REQUEST, NAME_CONTENDED, NAME_THREAD_FIRST = 8 };
enum { AN_HOLDER = 1, AN_TIMEOUTS, AN_ENDED, AN_REQUESTED_BY, AN_PREV_HOLDER };

const char *const gt_end_reason_names[GT_END_REASON_MAX] = {
	[GT_END_VOLUNTARY] = "voluntary",     [GT_END_FORCED] = "forced",
	[GT_END_THREAD_EXIT] = "thread exit", [GT_END_PROCESS_EXIT] = "process exit",
	[GT_END_ABANDONED] = "abandoned",
};

#define META_SEQ_ID 1u
/* A packet is built on the stack in a buffer this size, which fits every
 * event packet; one that outgrows it (a long command line, many GILs' worth
 * of metadata) moves to the heap (pkt_grow()). */
#define PKT_MAX 1024

/* uuids are keyed by pid so traces of several processes can be loaded
 * together. Process and thread tracks are pid << 32 (| tid); giltrace's own
 * tracks stay below 2^32 — they are named on every holder-track event, so a
 * short varint matters: 20 bits of pid, then 8 bits of GIL slot and 3 bits
 * of track kind (docs/trace-format.md, "Tracks"). */
#define UUID_PID(pid) ((uint64_t)((pid) & 0xfffffu) << 11)
uint64_t gt_uuid_process(uint32_t pid) { return (uint64_t)pid << 32; }
uint64_t gt_uuid_thread(uint32_t pid, uint32_t tid) { return ((uint64_t)pid << 32) | tid; }
uint64_t gt_uuid_gil(uint32_t pid, unsigned slot, enum gt_gil_track kind)
{
	return UUID_PID(pid) | ((slot & 0xffu) << 3) | (unsigned)kind;
}
uint64_t gt_uuid_meta(uint32_t pid) { return UUID_PID(pid) | 0x7ff; }
uint64_t gt_flow_id(uint32_t pid, unsigned slot, uint32_t seq)
{
	return ((uint64_t)pid << 40) | ((uint64_t)slot << 32) | seq;
}

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
	size_t clen = libdeflate_zlib_compress(e->z, e->chunk, e->chunk_len, e->zout + head,
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

static void pkt_init(struct gt_enc *e, struct gt_pb *b, uint8_t *buf, size_t size)
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
		size_t zcap = libdeflate_zlib_compress_bound(e->z, need) + 32;
		uint8_t *z = realloc(e->zout, zcap);
		if (!z)
			return -ENOMEM;
		e->zout = z;
		e->zout_cap = zcap;
	}
	return 0;
}

/* Appends one finished TracePacket to the current chunk. */
static void emit(struct gt_enc *e, struct gt_pb *b)
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
	e->chunk_len += need;
	e->packets++;
}

/* The fast path: a packet made of a timestamp delta, the sequence id and a
 * pre-encoded TrackEvent, written straight into the chunk. This is what
 * almost every event of a busy thread becomes (build_templates()). */
enum {
	TMPL_HOLD_BEGIN,
	TMPL_HOLDER_BEGIN,
	TMPL_HOLDER_END,
	TMPL_HOLD_END, /* + enum gt_end_reason */
};

static int emit_fast(struct gt_enc *e, struct gt_enc_thread *th, uint64_t ts, unsigned t)
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

static void ts_absolute(struct gt_pb *b, uint64_t ts)
{
	gt_pb_uint(b, PF_PKT_TIMESTAMP, ts);
	gt_pb_uint(b, PF_PKT_TIMESTAMP_CLOCK_ID, PF_CLOCK_BOOTTIME);
}

/* Timestamp on the thread's incremental clock; a packet that would go back in
 * time (a contention episode's start) is written absolute, as Perfetto's own
 * SDK does, and leaves the incremental clock alone. */
static void ts_thread(struct gt_enc_thread *th, struct gt_pb *b, uint64_t ts)
{
	if (ts >= th->last_ts) {
		gt_pb_uint(b, PF_PKT_TIMESTAMP, ts - th->last_ts);
		th->last_ts = ts;
	} else {
		ts_absolute(b, ts);
	}
}

static void annotation_uint(struct gt_pb *b, unsigned name_iid, uint64_t v)
{
	size_t m = gt_pb_begin(b, PF_TE_DEBUG_ANNOTATIONS);
	gt_pb_uint(b, PF_DA_NAME_IID, name_iid);
	gt_pb_uint(b, PF_DA_UINT, v);
	gt_pb_end(b, m);
}

static void annotation_ended(struct gt_pb *b, enum gt_end_reason why)
{
	size_t m = gt_pb_begin(b, PF_TE_DEBUG_ANNOTATIONS);
	gt_pb_uint(b, PF_DA_NAME_IID, AN_ENDED);
	gt_pb_uint(b, PF_DA_STRING_IID, (uint64_t)why);
	gt_pb_end(b, m);
}

static void annotation_str(struct gt_pb *b, const char *name, const char *v)
{
	size_t m = gt_pb_begin(b, PF_TE_DEBUG_ANNOTATIONS);
	gt_pb_string(b, PF_DA_NAME, name);
	gt_pb_string(b, PF_DA_STRING, v);
	gt_pb_end(b, m);
}

static void annotation_uint_named(struct gt_pb *b, const char *name, uint64_t v)
{
	size_t m = gt_pb_begin(b, PF_TE_DEBUG_ANNOTATIONS);
	gt_pb_string(b, PF_DA_NAME, name);
	gt_pb_uint(b, PF_DA_UINT, v);
	gt_pb_end(b, m);
}

static void waiters_counter(struct gt_enc *e, struct gt_pb *b, unsigned gil, uint32_t count)
{
	gt_pb_uint(b, PF_TE_EXTRA_COUNTER_UUIDS, gt_uuid_gil(e->pid, gil, GT_TRACK_WAITERS));
	gt_pb_uint(b, PF_TE_EXTRA_COUNTER_VALUES, count);
}

/* Starts a thread-sequence packet with a track event; returns the event mark. */
static size_t thread_event_begin(struct gt_pb *b, struct gt_enc_thread *th, uint64_t ts,
				 unsigned type)
{
	ts_thread(th, b, ts);
	gt_pb_uint(b, PF_PKT_SEQUENCE_ID, th->seq_id);
	size_t m = gt_pb_begin(b, PF_PKT_TRACK_EVENT);
	gt_pb_uint(b, PF_TE_TYPE, type);
	return m;
}

static void interned(struct gt_pb *b, uint32_t field, uint64_t iid, const char *s)
{
	size_t m = gt_pb_begin(b, field);
	gt_pb_uint(b, PF_INTERNED_IID, iid);
	gt_pb_string(b, PF_INTERNED_NAME, s);
	gt_pb_end(b, m);
}

/* The name a thread's slices carry on the "GIL holder" track. */
static void holder_name(char *out, size_t n, const struct gt_enc_thread *th)
{
	snprintf(out, n, "%s %u", th->name[0] ? th->name : "thread", th->tid);
}

static void tmpl_done(struct gt_enc_thread *th, unsigned t, struct gt_pb *b)
{
	th->tmpl_len[t] = b->overflow ? 0 : (uint8_t)gt_pb_len(b);
}

/* Pre-encodes the TrackEvents of an uncontended release/acquire on gil: the
 * thread-track hold begin and end (per reason), and the holder-track begin
 * (named after the thread) and end. */
static void build_templates(struct gt_enc *e, struct gt_enc_thread *th, unsigned gil)
{
	struct gt_pb b;
	uint64_t holder = gt_uuid_gil(e->pid, gil, GT_TRACK_HOLDER);

	th->tmpl_gil = (uint8_t)gil;
	th->tmpl_name_iid = th->name_iid;
	th->seq_len = (uint8_t)gt_pb_put_varint(th->seq_bytes, th->seq_id);
	gt_pb_init(&b, th->tmpl[TMPL_HOLD_BEGIN], sizeof(th->tmpl[0]));
	gt_pb_uint(&b, PF_TE_TYPE, PF_TE_SLICE_BEGIN);
	gt_pb_uint(&b, PF_TE_NAME_IID, NAME_HOLD);
	tmpl_done(th, TMPL_HOLD_BEGIN, &b);
	gt_pb_init(&b, th->tmpl[TMPL_HOLDER_BEGIN], sizeof(th->tmpl[0]));
	gt_pb_uint(&b, PF_TE_TYPE, PF_TE_SLICE_BEGIN);
	gt_pb_uint(&b, PF_TE_TRACK_UUID, holder);
	gt_pb_uint(&b, PF_TE_NAME_IID, th->name_iid);
	tmpl_done(th, TMPL_HOLDER_BEGIN, &b);
	gt_pb_init(&b, th->tmpl[TMPL_HOLDER_END], sizeof(th->tmpl[0]));
	gt_pb_uint(&b, PF_TE_TYPE, PF_TE_SLICE_END);
	gt_pb_uint(&b, PF_TE_TRACK_UUID, holder);
	tmpl_done(th, TMPL_HOLDER_END, &b);
	for (int r = GT_END_VOLUNTARY; r < GT_END_REASON_MAX; r++) {
		gt_pb_init(&b, th->tmpl[TMPL_HOLD_END + r], sizeof(th->tmpl[0]));
		gt_pb_uint(&b, PF_TE_TYPE, PF_TE_SLICE_END);
		annotation_ended(&b, (enum gt_end_reason)r);
		tmpl_done(th, TMPL_HOLD_END + (unsigned)r, &b);
	}
}

static void templates_for(struct gt_enc *e, struct gt_enc_thread *th, unsigned gil)
{
	if (th->tmpl_gil != gil || th->tmpl_name_iid != th->name_iid)
		build_templates(e, th, gil);
}

/* ---- setup -------------------------------------------------------------- */

int gt_enc_init(struct gt_enc *e, const struct gt_enc_options *opt, struct gt_enc_sink sink,
		uint32_t pid)
{
	memset(e, 0, sizeof(*e));
	e->sink = sink;
	e->opt = *opt;
	e->pid = pid;
	e->next_seq_id = META_SEQ_ID + 1;
	if (e->opt.chunk_size < 4096)
		e->opt.chunk_size = 4096;
	if (e->opt.chunk_size > 480 * 1024) /* Perfetto wants < 512 KB per chunk */
		e->opt.chunk_size = 480 * 1024;
	e->chunk_cap = e->opt.chunk_size;
	e->chunk = malloc(e->chunk_cap);
	if (!e->chunk)
		return -ENOMEM;
	if (e->opt.compress_level) {
		e->z = libdeflate_alloc_compressor(e->opt.compress_level);
		if (!e->z) {
			gt_enc_free(e);
			return -ENOMEM;
		}
		e->zout_cap = libdeflate_zlib_compress_bound(e->z, e->chunk_cap) + 32;
		e->zout = malloc(e->zout_cap);
		if (!e->zout) {
			gt_enc_free(e);
			return -ENOMEM;
		}
	}
	return 0;
}

void gt_enc_free(struct gt_enc *e)
{
	if (e->z)
		libdeflate_free_compressor(e->z);
	free(e->zout);
	free(e->chunk);
	free(e->spill);
	e->spill = NULL;
	e->z = NULL;
	e->zout = NULL;
	e->chunk = NULL;
}

void gt_enc_process(struct gt_enc *e, uint64_t ts, const char *name, const char *const *argv,
		    int argc)
{
	uint8_t buf[PKT_MAX];
	struct gt_pb b;

	/* The metadata sequence: absolute timestamps only, no interning. */
	pkt_init(e, &b, buf, sizeof(buf));
	ts_absolute(&b, ts);
	gt_pb_uint(&b, PF_PKT_SEQUENCE_ID, META_SEQ_ID);
	gt_pb_uint(&b, PF_PKT_SEQUENCE_FLAGS, PF_SEQ_INCREMENTAL_STATE_CLEARED);
	size_t td = gt_pb_begin(&b, PF_PKT_TRACK_DESCRIPTOR);
	gt_pb_uint(&b, PF_TD_UUID, gt_uuid_process(e->pid));
	size_t pd = gt_pb_begin(&b, PF_TD_PROCESS);
	gt_pb_uint(&b, PF_PROC_PID, e->pid);
	for (int i = 0; argv && i < argc && argv[i]; i++)
		gt_pb_string(&b, PF_PROC_CMDLINE, argv[i]);
	if (name && *name)
		gt_pb_string(&b, PF_PROC_NAME, name);
	gt_pb_end(&b, pd);
	gt_pb_end(&b, td);
	emit(e, &b);

	pkt_init(e, &b, buf, sizeof(buf));
	ts_absolute(&b, ts);
	gt_pb_uint(&b, PF_PKT_SEQUENCE_ID, META_SEQ_ID);
	td = gt_pb_begin(&b, PF_PKT_TRACK_DESCRIPTOR);
	gt_pb_uint(&b, PF_TD_UUID, gt_uuid_meta(e->pid));
	gt_pb_uint(&b, PF_TD_PARENT_UUID, gt_uuid_process(e->pid));
	gt_pb_string(&b, PF_TD_NAME, "giltrace");
	gt_pb_string(&b, PF_TD_DESCRIPTION, "giltrace session metadata");
	gt_pb_end(&b, td);
	emit(e, &b);
}

static void gil_track(struct gt_enc *e, uint64_t ts, unsigned slot, enum gt_gil_track kind,
		      const char *what, const char *desc, int counter)
{
	uint8_t buf[PKT_MAX];
	struct gt_pb b;
	char name[64];
	int64_t interp = e->gils[slot].interp_id;

	if (interp > 0)
		snprintf(name, sizeof(name), "%s (interp %lld)", what, (long long)interp);
	else
		snprintf(name, sizeof(name), "%s", what);
	pkt_init(e, &b, buf, sizeof(buf));
	ts_absolute(&b, ts);
	gt_pb_uint(&b, PF_PKT_SEQUENCE_ID, META_SEQ_ID);
	size_t td = gt_pb_begin(&b, PF_PKT_TRACK_DESCRIPTOR);
	gt_pb_uint(&b, PF_TD_UUID, gt_uuid_gil(e->pid, slot, kind));
	gt_pb_uint(&b, PF_TD_PARENT_UUID, gt_uuid_process(e->pid));
	gt_pb_string(&b, PF_TD_NAME, name);
	gt_pb_string(&b, PF_TD_DESCRIPTION, desc);
	if (counter) {
		size_t c = gt_pb_begin(&b, PF_TD_COUNTER);
		if (counter == PF_COUNTER_UNIT_COUNT)
			gt_pb_uint(&b, PF_COUNTER_UNIT, PF_COUNTER_UNIT_COUNT);
		gt_pb_end(&b, c);
	}
	gt_pb_end(&b, td);
	emit(e, &b);
}

static void interval_track(struct gt_enc *e, uint64_t ts, unsigned slot);

void gt_enc_gil(struct gt_enc *e, uint64_t ts, unsigned slot, int64_t interp_id,
		uint32_t interval_us)
{
	if (slot >= GT_MAX_GILS || e->gils[slot].declared)
		return;
	e->gils[slot].declared = 1;
	e->gils[slot].interp_id = interp_id;
	gil_track(e, ts, slot, GT_TRACK_HOLDER, "GIL holder",
		  "Which thread holds this GIL; instants mark drop requests", 0);
	gil_track(e, ts, slot, GT_TRACK_WAITERS, "GIL waiters",
		  "Threads waiting for this GIL", PF_COUNTER_UNIT_COUNT);
	gil_track(e, ts, slot, GT_TRACK_CONTENDED, "GIL contended",
		  "Spans during which at least one thread waited for this GIL", 0);
	if (!interval_us)
		return;
	uint8_t buf[PKT_MAX];
	struct gt_pb b;
	interval_track(e, ts, slot);
	e->gils[slot].interval_us = interval_us;
	pkt_init(e, &b, buf, sizeof(buf));
	ts_absolute(&b, ts);
	gt_pb_uint(&b, PF_PKT_SEQUENCE_ID, META_SEQ_ID);
	size_t m = gt_pb_begin(&b, PF_PKT_TRACK_EVENT);
	gt_pb_uint(&b, PF_TE_TYPE, PF_TE_COUNTER);
	gt_pb_uint(&b, PF_TE_TRACK_UUID, gt_uuid_gil(e->pid, slot, GT_TRACK_INTERVAL));
	gt_pb_uint(&b, PF_TE_COUNTER_VALUE, interval_us);
	gt_pb_end(&b, m);
	emit(e, &b);
}

static void thread_descriptor(struct gt_enc *e, struct gt_enc_thread *th, uint64_t ts)
{
	uint8_t buf[PKT_MAX];
	struct gt_pb b;

	pkt_init(e, &b, buf, sizeof(buf));
	ts_thread(th, &b, ts);
	gt_pb_uint(&b, PF_PKT_SEQUENCE_ID, th->seq_id);
	size_t td = gt_pb_begin(&b, PF_PKT_TRACK_DESCRIPTOR);
	gt_pb_uint(&b, PF_TD_UUID, gt_uuid_thread(e->pid, th->tid));
	size_t t = gt_pb_begin(&b, PF_TD_THREAD);
	gt_pb_uint(&b, PF_THREAD_PID, e->pid);
	gt_pb_uint(&b, PF_THREAD_TID, th->tid);
	if (th->name[0])
		gt_pb_string(&b, PF_THREAD_NAME, th->name);
	gt_pb_end(&b, t);
	gt_pb_end(&b, td);
	emit(e, &b);
}

void gt_enc_thread_start(struct gt_enc *e, struct gt_enc_thread *th, uint32_t tid,
			 const char *name, uint64_t ts)
{
	uint8_t buf[PKT_MAX];
	struct gt_pb b;
	char hname[48];

	memset(th, 0, sizeof(*th));
	th->tid = tid;
	th->seq_id = e->next_seq_id++;
	th->first_ts = ts;
	th->last_ts = ts;
	th->name_iid = NAME_THREAD_FIRST;
	th->tmpl_gil = 0xff; /* none built yet */
	th->interval_gil = 0xff; /* the GILs' declared intervals apply */
	snprintf(th->name, sizeof(th->name), "%s", name ? name : "");
	holder_name(hname, sizeof(hname), th);

	/* The sequence's first packet: clears incremental state, anchors the
	 * incremental clock 64 to BOOTTIME, sets the defaults (clock 64, this
	 * thread's track) and interns every name the sequence uses. */
	pkt_init(e, &b, buf, sizeof(buf));
	ts_absolute(&b, ts);
	gt_pb_uint(&b, PF_PKT_SEQUENCE_ID, th->seq_id);
	gt_pb_uint(&b, PF_PKT_SEQUENCE_FLAGS,
		   PF_SEQ_INCREMENTAL_STATE_CLEARED | PF_SEQ_NEEDS_INCREMENTAL_STATE);
	size_t cs = gt_pb_begin(&b, PF_PKT_CLOCK_SNAPSHOT);
	size_t c = gt_pb_begin(&b, PF_SNAPSHOT_CLOCKS);
	gt_pb_uint(&b, PF_CLOCK_ID, PF_CLOCK_BOOTTIME);
	gt_pb_uint(&b, PF_CLOCK_TIMESTAMP, ts);
	gt_pb_end(&b, c);
	if (e->opt.monotonic_offset > 0 && (uint64_t)e->opt.monotonic_offset < ts) {
		c = gt_pb_begin(&b, PF_SNAPSHOT_CLOCKS);
		gt_pb_uint(&b, PF_CLOCK_ID, PF_CLOCK_MONOTONIC);
		gt_pb_uint(&b, PF_CLOCK_TIMESTAMP, ts - (uint64_t)e->opt.monotonic_offset);
		gt_pb_end(&b, c);
	}
	c = gt_pb_begin(&b, PF_SNAPSHOT_CLOCKS);
	gt_pb_uint(&b, PF_CLOCK_ID, PF_CLOCK_SEQ_FIRST);
	gt_pb_uint(&b, PF_CLOCK_TIMESTAMP, ts);
	gt_pb_uint(&b, PF_CLOCK_IS_INCREMENTAL, 1);
	gt_pb_end(&b, c);
	gt_pb_end(&b, cs);
	size_t d = gt_pb_begin(&b, PF_PKT_DEFAULTS);
	gt_pb_uint(&b, PF_DEFAULTS_CLOCK_ID, PF_CLOCK_SEQ_FIRST);
	size_t ted = gt_pb_begin(&b, PF_DEFAULTS_TRACK_EVENT);
	gt_pb_uint(&b, PF_TE_DEFAULTS_TRACK_UUID, gt_uuid_thread(e->pid, tid));
	gt_pb_end(&b, ted);
	gt_pb_end(&b, d);
	size_t in = gt_pb_begin(&b, PF_PKT_INTERNED_DATA);
	interned(&b, PF_INTERN_EVENT_NAMES, NAME_WAIT, "GIL wait");
	interned(&b, PF_INTERN_EVENT_NAMES, NAME_HOLD, "GIL hold");
	interned(&b, PF_INTERN_EVENT_NAMES, NAME_DROP_REQUEST, "drop request");
	interned(&b, PF_INTERN_EVENT_NAMES, NAME_CONTENDED, "contended");
	interned(&b, PF_INTERN_EVENT_NAMES, th->name_iid, hname);
	interned(&b, PF_INTERN_ANNOTATION_NAMES, AN_HOLDER, "holder_tid");
	interned(&b, PF_INTERN_ANNOTATION_NAMES, AN_TIMEOUTS, "timeouts");
	interned(&b, PF_INTERN_ANNOTATION_NAMES, AN_ENDED, "ended");
	interned(&b, PF_INTERN_ANNOTATION_NAMES, AN_REQUESTED_BY, "requested_by");
	interned(&b, PF_INTERN_ANNOTATION_NAMES, AN_PREV_HOLDER, "prev_holder");
	for (int r = GT_END_VOLUNTARY; r < GT_END_REASON_MAX; r++)
		interned(&b, PF_INTERN_ANNOTATION_STRINGS, (uint64_t)r, gt_end_reason_names[r]);
	gt_pb_end(&b, in);
	emit(e, &b);

	thread_descriptor(e, th, ts);
	th->started = 1;
}

void gt_enc_thread_rename(struct gt_enc *e, struct gt_enc_thread *th, const char *name,
			  uint64_t ts)
{
	uint8_t buf[PKT_MAX];
	struct gt_pb b;
	char hname[48];

	if (!th->started || !strncmp(th->name, name, sizeof(th->name) - 1))
		return;
	snprintf(th->name, sizeof(th->name), "%s", name);
	if (ts < th->last_ts)
		ts = th->last_ts;
	thread_descriptor(e, th, ts);
	/* New holds get the new name; a hold already open keeps the old one. */
	th->name_iid++;
	holder_name(hname, sizeof(hname), th);
	pkt_init(e, &b, buf, sizeof(buf));
	ts_thread(th, &b, ts);
	gt_pb_uint(&b, PF_PKT_SEQUENCE_ID, th->seq_id);
	size_t in = gt_pb_begin(&b, PF_PKT_INTERNED_DATA);
	interned(&b, PF_INTERN_EVENT_NAMES, th->name_iid, hname);
	gt_pb_end(&b, in);
	emit(e, &b);
}

/* ---- events ------------------------------------------------------------- */

static void end_hold(struct gt_enc *e, struct gt_enc_thread *th, uint64_t ts, unsigned gil,
		     enum gt_end_reason why, uint32_t flow_seq, int flow)
{
	uint8_t buf[PKT_MAX];
	struct gt_pb b;

	templates_for(e, th, gil);
	if (!flow && emit_fast(e, th, ts, TMPL_HOLD_END + why) &&
	    emit_fast(e, th, ts, TMPL_HOLDER_END)) {
		th->in_hold = 0;
		return;
	}

	pkt_init(e, &b, buf, sizeof(buf));
	size_t m = thread_event_begin(&b, th, ts, PF_TE_SLICE_END);
	annotation_ended(&b, why);
	if (flow)
		gt_pb_fixed64(&b, PF_TE_FLOW_IDS, gt_flow_id(e->pid, gil, flow_seq));
	gt_pb_end(&b, m);
	emit(e, &b);

	pkt_init(e, &b, buf, sizeof(buf));
	m = thread_event_begin(&b, th, ts, PF_TE_SLICE_END);
	gt_pb_uint(&b, PF_TE_TRACK_UUID, gt_uuid_gil(e->pid, gil, GT_TRACK_HOLDER));
	gt_pb_end(&b, m);
	emit(e, &b);
	th->in_hold = 0;
}

static void end_wait(struct gt_enc *e, struct gt_enc_thread *th, uint64_t ts, uint32_t timeouts,
		     uint32_t waiters, enum gt_end_reason why)
{
	uint8_t buf[PKT_MAX];
	struct gt_pb b;

	pkt_init(e, &b, buf, sizeof(buf));
	size_t m = thread_event_begin(&b, th, ts, PF_TE_SLICE_END);
	annotation_uint(&b, AN_TIMEOUTS, timeouts);
	if (why)
		annotation_ended(&b, why);
	waiters_counter(e, &b, th->gil, waiters);
	gt_pb_end(&b, m);
	emit(e, &b);
	th->in_wait = 0;
}

static void settle(struct gt_enc *e, struct gt_enc_thread *th, enum gt_end_reason why)
{
	if (!th->pending)
		return;
	th->pending = 0;
	/* A thread's very last release has no handshake even with a drop
	 * request pending (CPython passes no thread state): it is the exit. */
	if (th->pending_forced && why != GT_END_THREAD_EXIT)
		why = GT_END_FORCED;
	end_hold(e, th, th->pending_ts, th->pending_gil, why, th->pending_seq,
		 th->pending_count > 0);
}

void gt_enc_thread_settle(struct gt_enc *e, struct gt_enc_thread *th)
{
	settle(e, th, GT_END_VOLUNTARY);
}

/* The switch-interval counter track is declared on first use. */
static void interval_track(struct gt_enc *e, uint64_t ts, unsigned slot)
{
	if (e->gils[slot].interval_declared)
		return;
	e->gils[slot].interval_declared = 1;
	gil_track(e, ts, slot, GT_TRACK_INTERVAL, "GIL switch interval (us)",
		  "sys.getswitchinterval() in force, in microseconds", 1);
}

/* The switch interval in force for this thread's waits and holds on gil,
 * said on the thread's own sequence whenever it differs from what the
 * sequence said last (or, before that, from the GIL's declared interval):
 * a reader that applies each thread's counters to that thread's slices gets
 * every hold's interval in time order, however the threads' packets are
 * interleaved in the file. */
static void gil_interval(struct gt_enc *e, struct gt_enc_thread *th, unsigned gil, uint64_t ts,
			 uint32_t us)
{
	uint8_t buf[PKT_MAX];
	struct gt_pb b;
	uint32_t known = th->interval_gil == gil ? th->interval_us : e->gils[gil].interval_us;

	if (!us || us == known)
		return;
	interval_track(e, ts, gil);
	th->interval_gil = (uint8_t)gil;
	th->interval_us = us;
	pkt_init(e, &b, buf, sizeof(buf));
	size_t m = thread_event_begin(&b, th, ts, PF_TE_COUNTER);
	gt_pb_uint(&b, PF_TE_TRACK_UUID, gt_uuid_gil(e->pid, gil, GT_TRACK_INTERVAL));
	gt_pb_uint(&b, PF_TE_COUNTER_VALUE, us);
	gt_pb_end(&b, m);
	emit(e, &b);
}

static void on_wait(struct gt_enc *e, struct gt_enc_thread *th, const struct gt_event *ev,
		    uint64_t ts)
{
	uint8_t buf[PKT_MAX];
	struct gt_pb b;

	settle(e, th, GT_END_VOLUNTARY);
	if (th->in_wait) /* a lost acquire; keep the slices balanced */
		end_wait(e, th, ts, 0, ev->count, GT_END_ABANDONED);
	gil_interval(e, th, ev->gil, ts, ev->arg);
	th->gil = ev->gil;
	pkt_init(e, &b, buf, sizeof(buf));
	size_t m = thread_event_begin(&b, th, ts, PF_TE_SLICE_BEGIN);
	gt_pb_uint(&b, PF_TE_NAME_IID, NAME_WAIT);
	annotation_uint(&b, AN_HOLDER, ev->peer);
	waiters_counter(e, &b, ev->gil, ev->count);
	gt_pb_end(&b, m);
	emit(e, &b);
	th->in_wait = 1;
}

static void contended_span(struct gt_enc *e, struct gt_enc_thread *th, unsigned gil, uint64_t t0,
			   uint64_t t1)
{
	uint8_t buf[PKT_MAX];
	struct gt_pb b;
	uint64_t uuid = gt_uuid_gil(e->pid, gil, GT_TRACK_CONTENDED);

	if (t0 > t1)
		t0 = t1;
	pkt_init(e, &b, buf, sizeof(buf));
	size_t m = thread_event_begin(&b, th, t0, PF_TE_SLICE_BEGIN);
	gt_pb_uint(&b, PF_TE_TRACK_UUID, uuid);
	gt_pb_uint(&b, PF_TE_NAME_IID, NAME_CONTENDED);
	gt_pb_end(&b, m);
	emit(e, &b);

	pkt_init(e, &b, buf, sizeof(buf));
	m = thread_event_begin(&b, th, t1, PF_TE_SLICE_END);
	gt_pb_uint(&b, PF_TE_TRACK_UUID, uuid);
	gt_pb_end(&b, m);
	emit(e, &b);
}

static void on_acquire(struct gt_enc *e, struct gt_enc_thread *th, const struct gt_event *ev,
		       uint64_t ts)
{
	uint8_t buf[PKT_MAX];
	struct gt_pb b;

	settle(e, th, GT_END_VOLUNTARY);
	if (th->in_hold) /* a lost release; keep the slices balanced */
		end_hold(e, th, ts, th->gil, GT_END_VOLUNTARY, 0, 0);
	if (th->in_wait)
		end_wait(e, th, ts, ev->arg, ev->count, 0);
	if (ev->flags & GT_F_CONTENTION_END)
		contended_span(e, th, ev->gil, th->contended_since, ts);
	th->gil = ev->gil;
	th->in_hold = 1;
	templates_for(e, th, ev->gil);

	if (!(ev->flags & GT_F_FLOW_IN) && emit_fast(e, th, ts, TMPL_HOLD_BEGIN)) {
	} else {
		pkt_init(e, &b, buf, sizeof(buf));
		size_t m = thread_event_begin(&b, th, ts, PF_TE_SLICE_BEGIN);
		gt_pb_uint(&b, PF_TE_NAME_IID, NAME_HOLD);
		if (ev->flags & GT_F_FLOW_IN)
			gt_pb_fixed64(&b, PF_TE_TERMINATING_FLOW_IDS,
				      gt_flow_id(e->pid, ev->gil, ev->seq));
		gt_pb_end(&b, m);
		emit(e, &b);
	}

	/* A switch: the GIL comes from another thread. Said on the holder
	 * slice so that switches can be counted without ordering all
	 * threads' events. */
	int is_switch = ev->peer && ev->peer != th->tid;
	if (!is_switch && emit_fast(e, th, ts, TMPL_HOLDER_BEGIN))
		return;
	pkt_init(e, &b, buf, sizeof(buf));
	size_t m = thread_event_begin(&b, th, ts, PF_TE_SLICE_BEGIN);
	gt_pb_uint(&b, PF_TE_TRACK_UUID, gt_uuid_gil(e->pid, ev->gil, GT_TRACK_HOLDER));
	gt_pb_uint(&b, PF_TE_NAME_IID, th->name_iid);
	if (is_switch)
		annotation_uint(&b, AN_PREV_HOLDER, ev->peer);
	gt_pb_end(&b, m);
	emit(e, &b);
}

static void on_drop_request(struct gt_enc *e, struct gt_enc_thread *th, const struct gt_event *ev,
			    uint64_t ts)
{
	uint8_t buf[PKT_MAX];
	struct gt_pb b;

	pkt_init(e, &b, buf, sizeof(buf));
	size_t m = thread_event_begin(&b, th, ts, PF_TE_INSTANT);
	gt_pb_uint(&b, PF_TE_TRACK_UUID, gt_uuid_gil(e->pid, ev->gil, GT_TRACK_HOLDER));
	gt_pb_uint(&b, PF_TE_NAME_IID, NAME_DROP_REQUEST);
	annotation_uint(&b, AN_REQUESTED_BY, th->tid);
	annotation_uint(&b, AN_HOLDER, ev->peer);
	gt_pb_end(&b, m);
	emit(e, &b);
}

void gt_enc_event(struct gt_enc *e, struct gt_enc_thread *th, const struct gt_event *ev,
		  uint64_t ts)
{
	if (!th->started || ev->gil >= GT_MAX_GILS)
		return;
	if (ev->kind == GT_EV_CONTENDED_SINCE) { /* the past: not clamped */
		th->contended_since = ts;
		return;
	}
	if (ts < th->last_ts) /* never let a thread's own slices go backwards */
		ts = th->last_ts;
	switch (ev->kind) {
	case GT_EV_WAIT:
		on_wait(e, th, ev, ts);
		break;
	case GT_EV_ACQUIRE:
		on_acquire(e, th, ev, ts);
		break;
	case GT_EV_RELEASE:
		settle(e, th, GT_END_VOLUNTARY);
		if (!th->in_hold)
			break; /* never saw the acquire (tracing began mid-hold) */
		gil_interval(e, th, ev->gil, ts, ev->arg); /* before the hold ends */
		th->pending = 1;
		th->pending_forced = (ev->flags & GT_F_DROP_PENDING) != 0;
		th->pending_gil = ev->gil;
		th->pending_ts = ts;
		th->pending_seq = ev->seq;
		th->pending_count = ev->count;
		break;
	case GT_EV_FORCED:
		if (th->pending) {
			th->pending_forced = 1;
			settle(e, th, GT_END_FORCED);
		}
		break;
	case GT_EV_DROP_REQUEST:
		on_drop_request(e, th, ev, ts);
		break;
	case GT_EV_ABANDON:
		settle(e, th, GT_END_VOLUNTARY);
		if (th->in_wait)
			end_wait(e, th, ts, ev->arg, ev->count, GT_END_ABANDONED);
		if (ev->flags & GT_F_CONTENTION_END)
			contended_span(e, th, ev->gil, th->contended_since, ts);
		break;
	case GT_EV_THREAD_EXIT:
		gt_enc_thread_end(e, th, ts, GT_END_THREAD_EXIT);
		break;
	default:
		break;
	}
}

void gt_enc_thread_end(struct gt_enc *e, struct gt_enc_thread *th, uint64_t ts,
		       enum gt_end_reason why)
{
	if (!th->started)
		return;
	if (ts < th->last_ts)
		ts = th->last_ts;
	/* A thread's last release is how it left the GIL at exit. */
	settle(e, th, why == GT_END_THREAD_EXIT ? GT_END_THREAD_EXIT : GT_END_VOLUNTARY);
	if (th->in_wait)
		end_wait(e, th, ts, 0, 0, why);
	if (th->in_hold)
		end_hold(e, th, ts, th->gil, why, 0, 0);
}

void gt_enc_meta(struct gt_enc *e, uint64_t ts, const struct gt_enc_meta *m)
{
	uint8_t buf[PKT_MAX];
	struct gt_pb b;

	pkt_init(e, &b, buf, sizeof(buf));
	ts_absolute(&b, ts);
	gt_pb_uint(&b, PF_PKT_SEQUENCE_ID, META_SEQ_ID);
	size_t te = gt_pb_begin(&b, PF_PKT_TRACK_EVENT);
	gt_pb_uint(&b, PF_TE_TYPE, PF_TE_INSTANT);
	gt_pb_uint(&b, PF_TE_TRACK_UUID, gt_uuid_meta(e->pid));
	gt_pb_string(&b, PF_TE_NAME, m->final ? "giltrace end" : "giltrace start");
	annotation_str(&b, "giltrace_version", GT_VERSION);
	annotation_uint_named(&b, "trace_format", GT_TRACE_FORMAT);
	if (m->recorder)
		annotation_str(&b, "recorder", m->recorder);
	if (m->clock)
		annotation_str(&b, "clock", m->clock);
	if (m->python_version)
		annotation_str(&b, "python_version", m->python_version);
	if (m->gil_method)
		annotation_str(&b, "gil_method", m->gil_method);
	if (m->notes && *m->notes)
		annotation_str(&b, "notes", m->notes);
	if (m->final) {
		annotation_uint_named(&b, "events", m->events);
		annotation_uint_named(&b, "events_dropped", m->events_dropped);
		annotation_uint_named(&b, "threads", m->threads);
		if (m->gils_untraced)
			annotation_uint_named(&b, "gils_untraced", m->gils_untraced);
	}
	gt_pb_end(&b, te);
	emit(e, &b);
}

/* ---- convoy annotation --------------------------------------------------- */

uint64_t gt_uuid_convoys(uint32_t pid) { return UUID_PID(pid) | 0x7fe; }

/* A victim's track: above 2^32 like thread tracks, but with the top bit set
 * so that it can never be one. */
static uint64_t uuid_victim(uint32_t pid, uint32_t tid)
{
	return (1ull << 63) | gt_uuid_thread(pid, tid);
}

static void convoy_packet(struct gt_enc *e, struct gt_pb *b, uint8_t *buf, size_t size,
			  uint64_t ts, int first)
{
	pkt_init(e, b, buf, size);
	ts_absolute(b, ts);
	gt_pb_uint(b, PF_PKT_SEQUENCE_ID, GT_ANNOTATION_SEQ_ID);
	if (first)
		gt_pb_uint(b, PF_PKT_SEQUENCE_FLAGS, PF_SEQ_INCREMENTAL_STATE_CLEARED);
}

static void convoy_track(struct gt_enc *e, uint64_t ts, uint64_t uuid, uint64_t parent,
			 const char *name, const char *desc, int first)
{
	uint8_t buf[PKT_MAX];
	struct gt_pb b;
	convoy_packet(e, &b, buf, sizeof(buf), ts, first);
	size_t td = gt_pb_begin(&b, PF_PKT_TRACK_DESCRIPTOR);
	gt_pb_uint(&b, PF_TD_UUID, uuid);
	gt_pb_uint(&b, PF_TD_PARENT_UUID, parent);
	gt_pb_string(&b, PF_TD_NAME, name);
	gt_pb_string(&b, PF_TD_DESCRIPTION, desc);
	gt_pb_end(&b, td);
	emit(e, &b);
}

void gt_enc_convoys(struct gt_enc *e, const struct gt_enc_convoy *c, size_t n)
{
	if (!n)
		return;
	uint64_t t0 = c[0].ts;
	for (size_t i = 1; i < n; i++)
		if (c[i].ts < t0)
			t0 = c[i].ts;
	convoy_track(e, t0, gt_uuid_convoys(e->pid), gt_uuid_process(e->pid), "convoys",
		     "Convoy episodes found by giltrace report (docs/metrics.md#convoy)", 1);
	for (size_t i = 0; i < n; i++) {
		int seen = 0;
		for (size_t j = 0; j < i && !seen; j++)
			seen = c[j].victim == c[i].victim;
		if (seen)
			continue;
		char name[64];
		snprintf(name, sizeof(name), "convoy victim %s %u", c[i].victim_name, c[i].victim);
		convoy_track(e, t0, uuid_victim(e->pid, c[i].victim), gt_uuid_convoys(e->pid), name,
			     "Runs of re-acquisitions this thread waited for", 0);
	}
	for (size_t i = 0; i < n; i++) {
		uint8_t buf[PKT_MAX];
		struct gt_pb b;
		char name[64];
		snprintf(name, sizeof(name), "convoy: waits for %s %u", c[i].culprit_name,
			 c[i].culprit);
		convoy_packet(e, &b, buf, sizeof(buf), c[i].ts, 0);
		size_t te = gt_pb_begin(&b, PF_PKT_TRACK_EVENT);
		gt_pb_uint(&b, PF_TE_TYPE, PF_TE_SLICE_BEGIN);
		gt_pb_uint(&b, PF_TE_TRACK_UUID, uuid_victim(e->pid, c[i].victim));
		gt_pb_string(&b, PF_TE_NAME, name);
		annotation_uint_named(&b, "victim_tid", c[i].victim);
		annotation_uint_named(&b, "culprit_tid", c[i].culprit);
		annotation_uint_named(&b, "delayed_acquires", c[i].delayed);
		annotation_uint_named(&b, "delay_ns", c[i].delay_ns);
		gt_pb_end(&b, te);
		emit(e, &b);
		convoy_packet(e, &b, buf, sizeof(buf), c[i].end, 0);
		te = gt_pb_begin(&b, PF_PKT_TRACK_EVENT);
		gt_pb_uint(&b, PF_TE_TYPE, PF_TE_SLICE_END);
		gt_pb_uint(&b, PF_TE_TRACK_UUID, uuid_victim(e->pid, c[i].victim));
		gt_pb_end(&b, te);
		emit(e, &b);
	}
}
