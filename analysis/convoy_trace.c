/* SPDX-License-Identifier: MIT */
/*
 * convoy_trace.c — the convoy episodes `report` found, written into the
 * trace as tracks of their own: a "convoys" track under the process, a track
 * per victim under it, a slice per episode, on a packet sequence of their
 * own appended to a complete trace (annotate.c). An analysis result, so not
 * part of the writer the traced processes load.
 */
#include "convoy_trace.h"

#include <stdio.h>

#include "gt_enc_internal.h"
#include "gt_perfetto_fields.h"

static void convoy_packet(struct gt_enc *e, struct gt_pb *b, uint8_t *buf, size_t size,
			  uint64_t ts, int first)
{
	gt_enc_pkt_init(e, b, buf, size);
	gt_enc_ts_absolute(b, ts);
	gt_pb_uint(b, PF_PKT_SEQUENCE_ID, GT_ANNOTATION_SEQ_ID);
	if (first)
		gt_pb_uint(b, PF_PKT_SEQUENCE_FLAGS, PF_SEQ_INCREMENTAL_STATE_CLEARED);
}

static void convoy_track(struct gt_enc *e, uint64_t ts, uint64_t uuid, uint64_t parent,
			 const char *name, const char *desc, int first)
{
	uint8_t buf[GT_ENC_PKT_MAX];
	struct gt_pb b;
	convoy_packet(e, &b, buf, sizeof(buf), ts, first);
	size_t td = gt_pb_begin(&b, PF_PKT_TRACK_DESCRIPTOR);
	gt_pb_uint(&b, PF_TD_UUID, uuid);
	gt_pb_uint(&b, PF_TD_PARENT_UUID, parent);
	gt_pb_string(&b, PF_TD_NAME, name);
	gt_pb_string(&b, PF_TD_DESCRIPTION, desc);
	gt_pb_end(&b, td);
	gt_enc_emit(e, &b);
}

void gt_enc_convoys(struct gt_enc *e, const struct gt_enc_convoy *c, size_t n)
{
	if (!n)
		return;
	uint64_t t0 = c[0].ts;
	for (size_t i = 1; i < n; i++)
		if (c[i].ts < t0)
			t0 = c[i].ts;
	convoy_track(e, t0, gt_uuid_convoys(e->pid), gt_uuid_process(e->pid), GT_NAME_TRACK_CONVOYS,
		     "Convoy episodes found by giltrace report (docs/metrics.md#convoy)", 1);
	for (size_t i = 0; i < n; i++) {
		int seen = 0;
		for (size_t j = 0; j < i && !seen; j++)
			seen = c[j].victim == c[i].victim;
		if (seen)
			continue;
		char name[64];
		snprintf(name, sizeof(name), "convoy victim %s %u", c[i].victim_name, c[i].victim);
		convoy_track(e, t0, gt_uuid_victim(e->pid, c[i].victim), gt_uuid_convoys(e->pid), name,
			     "Runs of re-acquisitions this thread waited for", 0);
	}
	for (size_t i = 0; i < n; i++) {
		uint8_t buf[GT_ENC_PKT_MAX];
		struct gt_pb b;
		char name[64];
		snprintf(name, sizeof(name), "convoy: waits for %s %u", c[i].culprit_name,
			 c[i].culprit);
		convoy_packet(e, &b, buf, sizeof(buf), c[i].ts, 0);
		size_t te = gt_pb_begin(&b, PF_PKT_TRACK_EVENT);
		gt_pb_uint(&b, PF_TE_TYPE, PF_TE_SLICE_BEGIN);
		gt_pb_uint(&b, PF_TE_TRACK_UUID, gt_uuid_victim(e->pid, c[i].victim));
		gt_pb_string(&b, PF_TE_NAME, name);
		gt_enc_an_uint_named(&b, "victim_tid", c[i].victim);
		gt_enc_an_uint_named(&b, "culprit_tid", c[i].culprit);
		gt_enc_an_uint_named(&b, "delayed_acquires", c[i].delayed);
		gt_enc_an_uint_named(&b, "delay_ns", c[i].delay_ns);
		gt_pb_end(&b, te);
		gt_enc_emit(e, &b);
		convoy_packet(e, &b, buf, sizeof(buf), c[i].end, 0);
		te = gt_pb_begin(&b, PF_PKT_TRACK_EVENT);
		gt_pb_uint(&b, PF_TE_TYPE, PF_TE_SLICE_END);
		gt_pb_uint(&b, PF_TE_TRACK_UUID, gt_uuid_victim(e->pid, c[i].victim));
		gt_pb_end(&b, te);
		gt_enc_emit(e, &b);
	}
}
