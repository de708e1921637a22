/* SPDX-License-Identifier: MIT */
/*
 * rd_packet.c — one top-level TracePacket: compressed chunks inflated and
 * read as packet streams of their own, the rest dispatched by field to the
 * sequence, descriptor and event layers (rd_internal.h).
 */
#include <stdlib.h>
#include <string.h>
#include <libdeflate.h>

#include "gt_pb.h"
#include "gt_perfetto_fields.h"
#include "rd_internal.h"

/* A compressed_packets chunk: zlib format, one shot (libdeflate, about
 * twice as fast as zlib's streaming inflate here); the buffer doubles until
 * the chunk fits, up to a bound no chunk of ours comes near (giltrace writes
 * at most 480 KiB per chunk). */
static int inflate_chunk(struct rd *r, const uint8_t *p, size_t n)
{
	if (!r->inflater && !(r->inflater = libdeflate_alloc_decompressor()))
		return rd_fail(r, "out of memory");
	if (!r->inflated) {
		r->inflated_cap = 1u << 20;
		r->inflated = malloc(r->inflated_cap);
		if (!r->inflated)
			return rd_fail(r, "out of memory");
	}
	size_t out = 0, used = 0;
	for (;;) {
		enum libdeflate_result rc = libdeflate_zlib_decompress_ex(
			r->inflater, p, n, r->inflated, r->inflated_cap, &used, &out);
		if (rc == LIBDEFLATE_SUCCESS)
			break;
		if (rc != LIBDEFLATE_INSUFFICIENT_SPACE)
			return rd_corrupt(r, "compressed chunk does not inflate");
		if (r->inflated_cap >= MAX_INFLATED)
			return rd_corrupt(r, "compressed chunk inflates past 16 MiB");
		uint8_t *bigger = realloc(r->inflated, r->inflated_cap * 2);
		if (!bigger)
			return rd_fail(r, "out of memory");
		r->inflated = bigger;
		r->inflated_cap *= 2;
	}
	/* Parse from a private copy: nested parsing reuses nothing, but keep
	 * the buffer owned for the duration. */
	uint8_t *buf = r->inflated;
	r->inflated = NULL;
	size_t cap = r->inflated_cap;
	int res = rd_parse_stream(r, buf, out, 1);
	if (!r->inflated) {
		r->inflated = buf;
		r->inflated_cap = cap;
	} else {
		free(buf);
	}
	return res;
}

int rd_parse_packet(struct rd *r, const uint8_t *p, size_t n, int depth)
{
	struct gt_pbr d;
	struct gt_pbr_field f;
	uint64_t ts = 0, flags = 0;
	uint32_t seq_id = 0, clock_id = 0;
	int has_ts = 0, has_clock = 0;
	const uint8_t *interned = NULL, *defaults = NULL, *snapshot = NULL, *event = NULL,
		      *desc = NULL, *compressed = NULL;
	size_t interned_n = 0, defaults_n = 0, snapshot_n = 0, event_n = 0, desc_n = 0,
	       compressed_n = 0;

	gt_pbr_init(&d, p, n);
	while (gt_pbr_next(&d, &f)) {
		int len = f.wire == GT_PB_LEN;
		switch (f.num) {
		case PF_PKT_TIMESTAMP:
			ts = f.v, has_ts = 1;
			break;
		case PF_PKT_TIMESTAMP_CLOCK_ID:
			clock_id = (uint32_t)f.v, has_clock = 1;
			break;
		case PF_PKT_SEQUENCE_ID:
			seq_id = (uint32_t)f.v;
			break;
		case PF_PKT_SEQUENCE_FLAGS:
			flags = f.v;
			break;
		case PF_PKT_INTERNED_DATA:
			if (len)
				interned = f.data, interned_n = f.len;
			break;
		case PF_PKT_DEFAULTS:
			if (len)
				defaults = f.data, defaults_n = f.len;
			break;
		case PF_PKT_CLOCK_SNAPSHOT:
			if (len)
				snapshot = f.data, snapshot_n = f.len;
			break;
		case PF_PKT_TRACK_EVENT:
			if (len)
				event = f.data, event_n = f.len;
			break;
		case PF_PKT_TRACK_DESCRIPTOR:
			if (len)
				desc = f.data, desc_n = f.len;
			break;
		case PF_PKT_COMPRESSED_PACKETS:
			if (len)
				compressed = f.data, compressed_n = f.len;
			break;
		default:
			break;
		}
	}
	if (d.bad)
		return depth ? rd_corrupt(r, "bad packet inside a compressed chunk")
			     : rd_corrupt(r, "bad packet");
	r->sum->packets++;
	if (compressed) {
		if (depth)
			return rd_corrupt(r, "compressed chunk inside a compressed chunk");
		return inflate_chunk(r, compressed, compressed_n);
	}
	struct seq *s = rd_get_seq(r, seq_id);
	if (!s)
		return -1;
	if (flags & PF_SEQ_INCREMENTAL_STATE_CLEARED) {
		struct seq keep = *s;
		memset(s, 0, sizeof(*s));
		s->id = keep.id;
		s->used = 1;
		s->names = keep.names, s->anames = keep.anames, s->astrs = keep.astrs;
		s->arena = keep.arena;
		rd_seq_clear_interned(s);
	}
	if (interned && rd_parse_interned(r, s, interned, interned_n))
		return -1;
	if (defaults && rd_parse_defaults(r, s, defaults, defaults_n))
		return -1;
	if (snapshot && rd_parse_snapshot(r, s, snapshot, snapshot_n))
		return -1;
	uint32_t clock = has_clock ? clock_id : s->default_clock ? s->default_clock : PF_CLOCK_BOOTTIME;
	if (has_ts && clock == PF_CLOCK_SEQ_FIRST) {
		if (!s->has_clock64)
			return rd_corrupt(r, "incremental timestamp before any clock snapshot");
		s->clock64 += ts;
		ts = s->clock64 + (uint64_t)s->clock64_offset;
	} else if (has_ts && clock != PF_CLOCK_BOOTTIME) {
		return 0; /* a clock giltrace does not write */
	}
	if (desc && rd_parse_descriptor(r, desc, desc_n))
		return -1;
	if (event && rd_parse_track_event(r, s, ts, event, event_n))
		return -1;
	return r->failed ? -1 : 0;
}

/* A run of Trace.packet fields (a whole file, or an inflated chunk). */
int rd_parse_stream(struct rd *r, const uint8_t *p, size_t n, int depth)
{
	struct gt_pbr d;
	struct gt_pbr_field f;
	gt_pbr_init(&d, p, n);
	while (gt_pbr_next(&d, &f)) {
		if (f.num != PF_TRACE_PACKET || f.wire != GT_PB_LEN)
			return rd_corrupt(r, "not a TracePacket");
		if (rd_parse_packet(r, f.data, f.len, depth))
			return -1;
	}
	if (d.bad)
		return depth ? rd_corrupt(r, "bad packet framing inside a compressed chunk")
			     : rd_fail(r, "truncated or corrupt trace: bad packet framing");
	return 0;
}

