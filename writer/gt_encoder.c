/* SPDX-License-Identifier: MIT */
/*
 * gt_encoder.c — the encoder's setup and its threads: each thread's sequence
 * (clock snapshot, defaults, interned names), renames, and its state said
 * again at a window's cut. The process's and GILs' descriptors and the
 * start and end records are in gt_enc_meta.c, events in gt_enc_events.c,
 * the output side in gt_enc_out.c (see gt_encoder.h and
 * docs/trace-format.md).
 *
 * Size matters here: the worst case is one packet per GIL event at millions of
 * events per second. So event packets lean on the sequence's defaults (thread
 * track, incremental clock), interned names and annotation values, and whole
 * chunks are deflated, which turns the repetitive event stream into a few
 * bytes per event.
 */
#include "gt_enc_internal.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "gt_deflate.h"

#include "gt_pb.h"
#include "gt_perfetto_fields.h"
#include "gt_version.h"

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

/* ---- setup -------------------------------------------------------------- */

uint32_t gt_enc_next_seq(uint32_t *next)
{
	uint32_t id = (*next)++;
	if (id == GT_ANNOTATION_SEQ_ID || !id) /* the convoy tracks' own; 0 is none */
		id = (*next)++;
	return id;
}

uint32_t gt_enc_new_seq(struct gt_enc *e)
{
	return gt_enc_next_seq(e->opt.seq_ids ? e->opt.seq_ids : &e->next_seq_id);
}

int gt_enc_init(struct gt_enc *e, const struct gt_enc_options *opt, struct gt_enc_sink sink,
		uint32_t pid)
{
	memset(e, 0, sizeof(*e));
	e->sink = sink;
	e->opt = *opt;
	e->pid = pid;
	e->next_seq_id = 1;
	e->meta_seq_id = gt_enc_new_seq(e);
	if (e->opt.chunk_size < 4096)
		e->opt.chunk_size = 4096;
	if (e->opt.chunk_size > 480 * 1024) /* Perfetto wants < 512 KB per chunk */
		e->opt.chunk_size = 480 * 1024;
	e->chunk_cap = e->opt.chunk_size;
	e->chunk = malloc(e->chunk_cap);
	if (!e->chunk)
		return -ENOMEM;
	if (e->opt.compress_level) {
		e->z = gt_deflate_alloc(e->opt.compress_level);
		if (!e->z) { /* no compressor (said where it failed): plain packets */
			e->opt.compress_level = 0;
			return 0;
		}
		e->zout_cap = gt_deflate_bound(e->z, e->chunk_cap) + 32;
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
		gt_deflate_free(e->z);
	free(e->zout);
	free(e->chunk);
	free(e->spill);
	free(e->pre);
	e->pre = NULL;
	e->pre_len = e->pre_cap = 0;
	e->spill = NULL;
	e->z = NULL;
	e->zout = NULL;
	e->chunk = NULL;
}

static void thread_descriptor(struct gt_enc *e, struct gt_enc_thread *th, uint64_t ts)
{
	uint8_t buf[GT_ENC_PKT_MAX];
	struct gt_pb b;

	gt_enc_pkt_init(e, &b, buf, sizeof(buf));
	gt_enc_ts_thread(th, &b, ts);
	gt_pb_uint(&b, PF_PKT_SEQUENCE_ID, th->seq_id);
	size_t td = gt_pb_begin(&b, PF_PKT_TRACK_DESCRIPTOR);
	gt_pb_uint(&b, PF_TD_UUID, gt_uuid_thread(e->pid, th->tid));
	size_t t = gt_pb_begin(&b, PF_TD_THREAD);
	gt_pb_uint(&b, PF_THREAD_PID, e->pid);
	gt_pb_uint(&b, PF_THREAD_TID, th->tid);
	if (th->name[0])
		gt_pb_string(&b, PF_THREAD_NAME, th->name);
	gt_pb_end(&b, t);
	if (th->os_name[0] && strcmp(th->os_name, th->name)) {
		char desc[sizeof(GT_THREAD_OS_NAME) + sizeof(th->os_name)];
		snprintf(desc, sizeof(desc), "%s%s", GT_THREAD_OS_NAME, th->os_name);
		gt_pb_string(&b, PF_TD_DESCRIPTION, desc);
	}
	gt_pb_end(&b, td);
	gt_enc_emit(e, &b);
}

/* A sequence's state said from scratch at ts: clears incremental state,
 * anchors the incremental clock 64 to BOOTTIME, sets the defaults (clock
 * 64, this thread's track) and interns every name the sequence uses. The
 * first packet of every thread sequence, and again at a window cut. */
static void restate(struct gt_enc *e, struct gt_enc_thread *th, uint64_t ts)
{
	uint8_t buf[GT_ENC_PKT_MAX];
	struct gt_pb b;
	char hname[GT_THREAD_NAME_MAX + 16];

	holder_name(hname, sizeof(hname), th);
	gt_enc_pkt_init(e, &b, buf, sizeof(buf));
	gt_enc_ts_absolute(&b, ts);
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
	gt_pb_uint(&b, PF_TE_DEFAULTS_TRACK_UUID, gt_uuid_thread(e->pid, th->tid));
	gt_pb_end(&b, ted);
	gt_pb_end(&b, d);
	size_t in = gt_pb_begin(&b, PF_PKT_INTERNED_DATA);
	interned(&b, PF_INTERN_EVENT_NAMES, NAME_WAIT, GT_NAME_WAIT);
	interned(&b, PF_INTERN_EVENT_NAMES, NAME_HOLD, GT_NAME_HOLD);
	interned(&b, PF_INTERN_EVENT_NAMES, NAME_DROP_REQUEST, GT_NAME_DROP_REQUEST);
	interned(&b, PF_INTERN_EVENT_NAMES, NAME_CONTENDED, GT_NAME_CONTENDED);
	interned(&b, PF_INTERN_EVENT_NAMES, NAME_CPU_WAIT, GT_NAME_CPU_WAIT);
	interned(&b, PF_INTERN_EVENT_NAMES, th->name_iid, hname);
	interned(&b, PF_INTERN_ANNOTATION_NAMES, AN_HOLDER, GT_AN_HOLDER);
	interned(&b, PF_INTERN_ANNOTATION_NAMES, AN_TIMEOUTS, GT_AN_TIMEOUTS);
	interned(&b, PF_INTERN_ANNOTATION_NAMES, AN_ENDED, GT_AN_ENDED);
	interned(&b, PF_INTERN_ANNOTATION_NAMES, AN_REQUESTED_BY, GT_AN_REQUESTED_BY);
	interned(&b, PF_INTERN_ANNOTATION_NAMES, AN_PREV_HOLDER, GT_AN_PREV_HOLDER);
	interned(&b, PF_INTERN_ANNOTATION_NAMES, AN_CPU_WAIT, GT_AN_CPU_WAIT);
	interned(&b, PF_INTERN_ANNOTATION_NAMES, AN_HOLDER_CPU_WAIT, GT_AN_HOLDER_CPU_WAIT);
	for (int r = GT_END_VOLUNTARY; r < GT_END_REASON_MAX; r++)
		interned(&b, PF_INTERN_ANNOTATION_STRINGS, (uint64_t)r, gt_end_reason_name((enum gt_end_reason)r));
	gt_pb_end(&b, in);
	gt_enc_emit(e, &b);
	th->last_ts = ts;
}

void gt_enc_thread_start(struct gt_enc *e, struct gt_enc_thread *th, uint32_t tid,
			 const char *name, uint64_t ts)
{
	memset(th, 0, sizeof(*th));
	th->tid = tid;
	th->seq_id = gt_enc_new_seq(e);
	th->first_ts = ts;
	th->name_iid = NAME_THREAD_FIRST;
	th->tmpl_gil = 0xff; /* none built yet */
	th->interval_gil = 0xff; /* the GILs' declared intervals apply */
	snprintf(th->name, sizeof(th->name), "%s", name ? name : "");
	snprintf(th->os_name, sizeof(th->os_name), "%.15s", th->name);
	restate(e, th, ts);
	thread_descriptor(e, th, ts);
	th->started = 1;
}

void gt_enc_thread_restate(struct gt_enc *e, struct gt_enc_thread *th, uint64_t ts)
{
	if (th->started)
		restate(e, th, ts > th->last_ts ? ts : th->last_ts);
}

void gt_enc_thread_resume(struct gt_enc *e, struct gt_enc_thread *th, uint64_t ts)
{
	uint8_t buf[GT_ENC_PKT_MAX];
	struct gt_pb b;

	if (!th->started)
		return;
	if (ts < th->last_ts)
		ts = th->last_ts;
	restate(e, th, ts);
	thread_descriptor(e, th, ts);
	/* What the sequence said last of the switch interval, said again. */
	if (th->interval_gil != 0xff)
		gt_enc_say_interval(e, th, th->interval_gil, ts, th->interval_us);
	/* The slices under way: begun at the window's start. */
	if (th->in_wait) {
		gt_enc_pkt_init(e, &b, buf, sizeof(buf));
		size_t m = gt_enc_thread_event_begin(&b, th, ts, PF_TE_SLICE_BEGIN);
		gt_pb_uint(&b, PF_TE_NAME_IID, NAME_WAIT);
		gt_enc_an_uint(&b, AN_HOLDER, th->wait_peer);
		gt_pb_end(&b, m);
		gt_enc_emit(e, &b);
	}
	if (th->in_hold) {
		gt_enc_thread_slice(e, th, ts, PF_TE_SLICE_BEGIN, NAME_HOLD);
		gt_enc_pkt_init(e, &b, buf, sizeof(buf));
		size_t m = gt_enc_thread_event_begin(&b, th, ts, PF_TE_SLICE_BEGIN);
		gt_pb_uint(&b, PF_TE_TRACK_UUID, gt_uuid_gil(e->pid, th->gil, GT_TRACK_HOLDER));
		gt_pb_uint(&b, PF_TE_NAME_IID, th->name_iid);
		gt_pb_end(&b, m);
		gt_enc_emit(e, &b);
	}
}

void gt_enc_thread_rename(struct gt_enc *e, struct gt_enc_thread *th, const char *name,
			  const char *os_name, uint64_t ts)
{
	uint8_t buf[GT_ENC_PKT_MAX];
	struct gt_pb b;
	char hname[GT_THREAD_NAME_MAX + 16];

	if (!os_name)
		os_name = th->os_name;
	if (!th->started ||
	    (!strncmp(th->name, name, sizeof(th->name) - 1) && !strcmp(th->os_name, os_name)))
		return;
	snprintf(th->name, sizeof(th->name), "%s", name);
	if (os_name != th->os_name)
		snprintf(th->os_name, sizeof(th->os_name), "%s", os_name);
	if (ts < th->last_ts)
		ts = th->last_ts;
	thread_descriptor(e, th, ts);
	/* New holds get the new name; a hold already open keeps the old one. */
	th->name_iid++;
	holder_name(hname, sizeof(hname), th);
	gt_enc_pkt_init(e, &b, buf, sizeof(buf));
	gt_enc_ts_thread(th, &b, ts);
	gt_pb_uint(&b, PF_PKT_SEQUENCE_ID, th->seq_id);
	size_t in = gt_pb_begin(&b, PF_PKT_INTERNED_DATA);
	interned(&b, PF_INTERN_EVENT_NAMES, th->name_iid, hname);
	gt_pb_end(&b, in);
	gt_enc_emit(e, &b);
}

