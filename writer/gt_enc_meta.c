/* SPDX-License-Identifier: MIT */
/*
 * gt_enc_meta.c — what a trace says about its processes rather than their
 * threads: the process descriptor, each GIL's tracks and identity, the
 * switch-interval counter track, the start and end records, and the run's
 * own window record (giltrace run --keep). Thread sequences are in
 * gt_encoder.c, events in gt_enc_events.c (see gt_encoder.h and
 * docs/trace-format.md).
 */
#include "gt_enc_internal.h"

#include <stdio.h>
#include <string.h>

#include "gt_pb.h"
#include "gt_perfetto_fields.h"
#include "gt_version.h"

int gt_enc_run_window(struct gt_enc_sink sink, uint32_t *seq_ids, uint64_t ts, uint64_t run_start)
{
	uint8_t buf[512], out[600];
	struct gt_pb b;
	size_t n = 0;
	uint32_t seq = gt_enc_next_seq(seq_ids);

	gt_pb_init(&b, buf, sizeof(buf));
	gt_enc_ts_absolute(&b, ts);
	gt_pb_uint(&b, PF_PKT_SEQUENCE_ID, seq);
	gt_pb_uint(&b, PF_PKT_SEQUENCE_FLAGS, PF_SEQ_INCREMENTAL_STATE_CLEARED);
	size_t td = gt_pb_begin(&b, PF_PKT_TRACK_DESCRIPTOR);
	gt_pb_uint(&b, PF_TD_UUID, gt_uuid_meta(0));
	gt_pb_string(&b, PF_TD_NAME, GT_NAME_TRACK_META " run");
	gt_pb_string(&b, PF_TD_DESCRIPTION, "the run of giltrace run; the trace keeps its last part");
	gt_pb_end(&b, td);
	out[n++] = (PF_TRACE_PACKET << 3) | GT_PB_LEN;
	n += gt_pb_put_varint(out + n, gt_pb_len(&b));
	memcpy(out + n, buf, gt_pb_len(&b));
	n += gt_pb_len(&b);

	gt_pb_init(&b, buf, sizeof(buf));
	gt_enc_ts_absolute(&b, ts);
	gt_pb_uint(&b, PF_PKT_SEQUENCE_ID, seq);
	size_t te = gt_pb_begin(&b, PF_PKT_TRACK_EVENT);
	gt_pb_uint(&b, PF_TE_TYPE, PF_TE_INSTANT);
	gt_pb_uint(&b, PF_TE_TRACK_UUID, gt_uuid_meta(0));
	gt_pb_string(&b, PF_TE_NAME, GT_NAME_WINDOW);
	gt_enc_an_uint_named(&b, GT_AN_RUN_START, run_start);
	gt_pb_end(&b, te);
	out[n++] = (PF_TRACE_PACKET << 3) | GT_PB_LEN;
	n += gt_pb_put_varint(out + n, gt_pb_len(&b));
	memcpy(out + n, buf, gt_pb_len(&b));
	n += gt_pb_len(&b);
	return sink.write(sink.ctx, out, n);
}

void gt_enc_process(struct gt_enc *e, uint64_t ts, const char *name, const char *const *argv,
		    int argc)
{
	uint8_t buf[GT_ENC_PKT_MAX];
	struct gt_pb b;

	/* The metadata sequence: absolute timestamps only, no interning. */
	e->capturing = 1;
	gt_enc_pkt_init(e, &b, buf, sizeof(buf));
	gt_enc_ts_absolute(&b, ts);
	gt_pb_uint(&b, PF_PKT_SEQUENCE_ID, e->meta_seq_id);
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
	gt_enc_emit(e, &b);

	gt_enc_pkt_init(e, &b, buf, sizeof(buf));
	gt_enc_ts_absolute(&b, ts);
	gt_pb_uint(&b, PF_PKT_SEQUENCE_ID, e->meta_seq_id);
	td = gt_pb_begin(&b, PF_PKT_TRACK_DESCRIPTOR);
	gt_pb_uint(&b, PF_TD_UUID, gt_uuid_meta(e->pid));
	gt_pb_uint(&b, PF_TD_PARENT_UUID, gt_uuid_process(e->pid));
	gt_pb_string(&b, PF_TD_NAME, GT_NAME_TRACK_META);
	gt_pb_string(&b, PF_TD_DESCRIPTION, "giltrace session metadata");
	gt_pb_end(&b, td);
	gt_enc_emit(e, &b);
	e->capturing = 0;
}

/* Opens an instant on the process's metadata track (the GIL identities,
 * the start and end records): the packet in buf (growing past cap if
 * needed), the TrackEvent's offset returned for gt_pb_end(). */
static size_t meta_instant(struct gt_enc *e, struct gt_pb *b, uint8_t *buf, size_t cap,
			   uint64_t ts, const char *name)
{
	gt_enc_pkt_init(e, b, buf, cap);
	gt_enc_ts_absolute(b, ts);
	gt_pb_uint(b, PF_PKT_SEQUENCE_ID, e->meta_seq_id);
	size_t te = gt_pb_begin(b, PF_PKT_TRACK_EVENT);
	gt_pb_uint(b, PF_TE_TYPE, PF_TE_INSTANT);
	gt_pb_uint(b, PF_TE_TRACK_UUID, gt_uuid_meta(e->pid));
	gt_pb_string(b, PF_TE_NAME, name);
	return te;
}

static void gil_track(struct gt_enc *e, uint64_t ts, unsigned slot, enum gt_gil_track kind,
		      const char *what, const char *desc, int counter)
{
	uint8_t buf[GT_ENC_PKT_MAX];
	struct gt_pb b;
	char name[64];
	int64_t interp = e->gils[slot].interp_id;

	/* Named by interpreter wherever the layout knows it, the main one
	 * too: a process with subinterpreters shows "interp 0", "interp 1"...
	 * Where it does not (3.6, a version with no layout row), a second GIL
	 * is told apart by its slot and never given an interpreter's name. */
	if (interp >= 0)
		snprintf(name, sizeof(name), "%s (interp %lld)", what, (long long)interp);
	else if (slot > 0)
		snprintf(name, sizeof(name), "%s (GIL %u)", what, slot);
	else
		snprintf(name, sizeof(name), "%s", what);
	gt_enc_pkt_init(e, &b, buf, sizeof(buf));
	gt_enc_ts_absolute(&b, ts);
	gt_pb_uint(&b, PF_PKT_SEQUENCE_ID, e->meta_seq_id);
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
	gt_enc_emit(e, &b);
}


void gt_enc_interp(struct gt_enc *e, uint64_t ts, int64_t interp_id, unsigned slot)
{
	if (slot >= GT_MAX_GILS || !e->gils[slot].declared || interp_id < 0)
		return;
	uint8_t buf[GT_ENC_PKT_MAX];
	struct gt_pb b;
	e->capturing = 1; /* every part of a --keep recording says it */
	size_t te = meta_instant(e, &b, buf, sizeof(buf), ts, GT_NAME_INTERP);
	gt_enc_an_uint_named(&b, GT_AN_INTERP_ID, (uint64_t)interp_id);
	gt_enc_an_uint_named(&b, GT_AN_GIL, slot);
	gt_pb_end(&b, te);
	gt_enc_emit(e, &b);
	e->capturing = 0;
}

void gt_enc_gil(struct gt_enc *e, uint64_t ts, unsigned slot, int64_t interp_id,
		uint32_t interval_us)
{
	if (slot >= GT_MAX_GILS || e->gils[slot].declared)
		return;
	e->gils[slot].declared = 1;
	e->gils[slot].interp_id = interp_id;
	e->capturing = 1;
	gil_track(e, ts, slot, GT_TRACK_HOLDER, GT_NAME_TRACK_HOLDER,
		  "Which thread holds this GIL; instants mark drop requests", 0);
	gil_track(e, ts, slot, GT_TRACK_WAITERS, GT_NAME_TRACK_WAITERS,
		  "Threads waiting for this GIL", PF_COUNTER_UNIT_COUNT);
	gil_track(e, ts, slot, GT_TRACK_CONTENDED, GT_NAME_TRACK_CONTENDED,
		  "Spans during which at least one thread waited for this GIL", 0);
	/* The GIL's identity as data (the track names say it for people). */
	uint8_t buf[GT_ENC_PKT_MAX];
	struct gt_pb b;
	size_t te = meta_instant(e, &b, buf, sizeof(buf), ts, GT_NAME_GIL);
	gt_enc_an_uint_named(&b, GT_AN_GIL, slot);
	if (interp_id >= 0)
		gt_enc_an_uint_named(&b, GT_AN_INTERP_ID, (uint64_t)interp_id);
	gt_pb_end(&b, te);
	gt_enc_emit(e, &b);
	if (!interval_us) {
		e->capturing = 0;
		return;
	}
	gt_enc_interval_track(e, ts, slot);
	e->capturing = 1;
	e->gils[slot].interval_us = interval_us;
	gt_enc_pkt_init(e, &b, buf, sizeof(buf));
	gt_enc_ts_absolute(&b, ts);
	gt_pb_uint(&b, PF_PKT_SEQUENCE_ID, e->meta_seq_id);
	size_t m = gt_pb_begin(&b, PF_PKT_TRACK_EVENT);
	gt_pb_uint(&b, PF_TE_TYPE, PF_TE_COUNTER);
	gt_pb_uint(&b, PF_TE_TRACK_UUID, gt_uuid_gil(e->pid, slot, GT_TRACK_INTERVAL));
	gt_pb_uint(&b, PF_TE_COUNTER_VALUE, interval_us);
	gt_pb_end(&b, m);
	gt_enc_emit(e, &b);
	e->capturing = 0;
}

/* The switch-interval counter track is declared on first use. */
void gt_enc_interval_track(struct gt_enc *e, uint64_t ts, unsigned slot)
{
	if (e->gils[slot].interval_declared)
		return;
	e->gils[slot].interval_declared = 1;
	e->capturing = 1;
	gil_track(e, ts, slot, GT_TRACK_INTERVAL, GT_NAME_TRACK_INTERVAL,
		  "sys.getswitchinterval() in force, in microseconds", 1);
	e->capturing = 0;
}

void gt_enc_meta(struct gt_enc *e, uint64_t ts, const struct gt_enc_meta *m)
{
	uint8_t buf[GT_ENC_PKT_MAX];
	struct gt_pb b;
	size_t te = meta_instant(e, &b, buf, sizeof(buf), ts, m->final ? GT_NAME_END : GT_NAME_START);
	gt_enc_an_str(&b, GT_AN_VERSION, GT_VERSION);
	gt_enc_an_uint_named(&b, GT_AN_FORMAT, GT_TRACE_FORMAT);
	if (m->recorder)
		gt_enc_an_str(&b, GT_AN_RECORDER, m->recorder);
	if (m->clock)
		gt_enc_an_str(&b, GT_AN_CLOCK, m->clock);
	if (m->python_version)
		gt_enc_an_str(&b, GT_AN_PYTHON, m->python_version);
	if (m->gil_method)
		gt_enc_an_str(&b, GT_AN_METHOD, m->gil_method);
	if (m->notes && *m->notes)
		gt_enc_an_str(&b, GT_AN_NOTES, m->notes);
	if (m->run_start)
		gt_enc_an_uint_named(&b, GT_AN_RUN_START, m->run_start);
	if (m->final) {
		gt_enc_an_uint_named(&b, GT_AN_EVENTS, m->events);
		gt_enc_an_uint_named(&b, GT_AN_DROPPED, m->events_dropped);
		gt_enc_an_uint_named(&b, GT_AN_THREADS, m->threads);
		if (m->gils_untraced)
			gt_enc_an_uint_named(&b, GT_AN_UNTRACED, m->gils_untraced);
		if (m->cpu_split && *m->cpu_split)
			gt_enc_an_str(&b, GT_AN_CPU_SPLIT, m->cpu_split);
	}
	gt_pb_end(&b, te);
	gt_enc_emit(e, &b);
}
