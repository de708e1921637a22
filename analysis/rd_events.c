/* SPDX-License-Identifier: MIT */
/*
 * rd_events.c — track events: debug annotations decoded, slices pushed on
 * and popped off per-(track, sequence) stacks, completed slices, counters
 * and drop requests handed to the callbacks (the metadata track's
 * instants: rd_meta.c).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gt_pb.h"
#include "gt_perfetto_fields.h"
#include "rd_internal.h"


static int reason_from_name(const uint8_t *p, size_t n)
{
	for (int i = 1; i < GT_END_REASON_MAX; i++)
		if (strlen(gt_end_reason_name((enum gt_end_reason)i)) == n &&
		    !memcmp(gt_end_reason_name((enum gt_end_reason)i), p, n))
			return i;
	return 0;
}

static int parse_annotation(struct rd *r, struct seq *s, const uint8_t *p, size_t n,
			    struct annotations *a)
{
	struct gt_pbr d;
	struct gt_pbr_field f;
	int key = AK_NONE;
	uint64_t u = 0;
	const uint8_t *str = NULL;
	size_t slen = 0;
	int has_u = 0;

	gt_pbr_init(&d, p, n);
	while (gt_pbr_next(&d, &f)) {
		switch (f.num) {
		case PF_DA_NAME_IID: {
			const struct rd_intern_entry *e = rd_intern_find(&s->anames, f.v);
			key = e ? e->key : AK_NONE;
			break;
		}
		case PF_DA_NAME:
			if (f.wire == GT_PB_LEN)
				key = rd_akey_of(f.data, f.len);
			break;
		case PF_DA_UINT:
		case PF_DA_INT:
		case PF_DA_BOOL:
			u = f.v, has_u = 1;
			break;
		case PF_DA_STRING:
			if (f.wire == GT_PB_LEN)
				str = f.data, slen = f.len;
			break;
		case PF_DA_STRING_IID: {
			const char *v = rd_intern_get(s, &s->astrs, f.v);
			if (v)
				str = (const uint8_t *)v, slen = strlen(v);
			break;
		}
		default:
			break;
		}
	}
	if (d.bad)
		return rd_corrupt(r, "bad debug annotation");
	if (has_u) {
		switch (key) {
		case AK_HOLDER_TID:
			a->holder_tid = (uint32_t)u;
			break;
		case AK_TIMEOUTS:
			a->timeouts = (uint32_t)u;
			break;
		case AK_REQUESTED_BY:
			a->requested_by = (uint32_t)u;
			break;
		case AK_PREV_HOLDER:
			a->prev_holder = (uint32_t)u;
			break;
		case AK_GIL:
			a->gil = (int64_t)u;
			break;
		case AK_INTERP_ID:
			a->interp_id = (int64_t)u;
			break;
		case AK_CPU_WAIT:
			a->cpu_wait = u, a->has_cpu_wait = 1;
			break;
		case AK_HOLDER_CPU_WAIT:
			a->holder_cpu_wait = u, a->has_holder_cpu_wait = 1;
			break;
		case AK_FORMAT:
		case AK_EVENTS:
		case AK_DROPPED:
		case AK_THREADS:
		case AK_UNTRACED:
		case AK_RUN_START:
			a->num[key - AK_FORMAT] = u;
			break;
		default:
			break;
		}
		return 0;
	}
	if (!str)
		return 0;
	if (key == AK_ENDED) {
		a->ended = reason_from_name(str, slen);
	} else if (key >= AK_VERSION && key <= AK_CPU_SPLIT) {
		int i = key - AK_VERSION;
		a->str[i] = str;
		a->str_len[i] = slen;
	}
	return 0;
}

void rd_emit_slice(struct rd *r, enum gt_rd_kind kind, const struct track *t, uint32_t tid,
		       const struct open_slice *o, uint64_t end, const struct annotations *a,
		       int flow_out, int open)
{
	/* In a window, a contention span written when it ended may have
	 * begun before the window: only its part inside counts. */
	uint64_t from = r->nwindows ? rd_window_of(r, t->pid) : 0;
	if (from && end <= from)
		return;
	struct gt_rd_slice sl = {
		.kind = kind,
		.pid = t->pid,
		.tid = tid,
		.gil = t->gil >= 0 ? t->gil : o->gil,
		.ts = o->ts > from ? o->ts : from,
		.dur = end >= o->ts ? end - (o->ts > from ? o->ts : from) : 0,
		.open = open,
		.holder_tid = o->holder_tid,
		.timeouts = a ? a->timeouts : 0,
		.prev_holder = o->prev_holder,
		.ended = a ? a->ended : 0,
		.has_cpu_wait = a ? a->has_cpu_wait : 0,
		.has_holder_cpu_wait = a ? a->has_holder_cpu_wait : 0,
		.cpu_wait = a ? a->cpu_wait : 0,
		.holder_cpu_wait = a ? a->holder_cpu_wait : 0,
		.flow_out = flow_out,
		.flow_in = o->flow_in,
	};
	if (r->cb->slice)
		r->cb->slice(r->cb->ctx, &sl);
}

static int slice_kind(const struct track *t, const char *name)
{
	if (t->kind == TK_THREAD) {
		if (name && !strcmp(name, GT_NAME_WAIT))
			return GT_RD_WAIT;
		if (name && !strcmp(name, GT_NAME_HOLD))
			return GT_RD_HOLD;
		return 0;
	}
	if (t->kind == TK_HOLDER)
		return GT_RD_HOLDER;
	if (t->kind == TK_CONTENDED)
		return GT_RD_CONTENDED;
	return 0;
}

/* A track by uuid, for an event of sequence s: nearly every event names one
 * of a handful of tracks, so a small per-sequence cache answers most
 * lookups. Valid until the map moves its slots (a track, once known, stays
 * where it is otherwise); only tracks found are cached. */
struct track *rd_seq_track(struct rd *r, struct seq *s, uint64_t uuid)
{
	unsigned i = (unsigned)(rd_mix(uuid) & (TRACK_CACHE - 1));
	if (s->track_gen != r->tracks.gen + 1) {
		memset(s->tcache, 0, sizeof(s->tcache));
		s->track_gen = r->tracks.gen + 1;
	} else if (s->tcache[i].t && s->tcache[i].uuid == uuid) {
		return s->tcache[i].t;
	}
	struct track *t = rd_map_get(&r->tracks, &rd_track_ops, &uuid, 0);
	if (t) {
		s->tcache[i].uuid = uuid;
		s->tcache[i].t = t;
	}
	return t;
}

int rd_parse_track_event(struct rd *r, struct seq *s, uint64_t ts, const uint8_t *p, size_t n)
{
	struct gt_pbr d;
	struct gt_pbr_field f;
	uint64_t type = 0, uuid = s->default_track, name_iid = 0, counter_uuid = 0;
	int64_t counter_value = 0, extra_value = 0;
	int has_counter = 0, has_extra = 0, flow_out = 0, flow_in = 0;
	const uint8_t *name_str = NULL;
	size_t name_len = 0;
	struct annotations a;
	memset(&a, 0, sizeof(a));
	a.gil = a.interp_id = -1;

	gt_pbr_init(&d, p, n);
	while (gt_pbr_next(&d, &f)) {
		switch (f.num) {
		case PF_TE_TYPE:
			type = f.v;
			break;
		case PF_TE_TRACK_UUID:
			uuid = f.v;
			break;
		case PF_TE_NAME_IID:
			name_iid = f.v;
			break;
		case PF_TE_NAME:
			if (f.wire == GT_PB_LEN)
				name_str = f.data, name_len = f.len;
			break;
		case PF_TE_DEBUG_ANNOTATIONS:
			if (f.wire != GT_PB_LEN || parse_annotation(r, s, f.data, f.len, &a))
				return rd_corrupt(r, "bad debug annotation");
			break;
		case PF_TE_COUNTER_VALUE:
			counter_value = (int64_t)f.v, has_counter = 1;
			break;
		case PF_TE_EXTRA_COUNTER_UUIDS:
			if (f.wire == GT_PB_VARINT && !counter_uuid)
				counter_uuid = f.v;
			break;
		case PF_TE_EXTRA_COUNTER_VALUES:
			if (f.wire == GT_PB_VARINT && !has_extra)
				extra_value = (int64_t)f.v, has_extra = 1;
			break;
		case PF_TE_FLOW_IDS:
			flow_out = 1;
			break;
		case PF_TE_TERMINATING_FLOW_IDS:
			flow_in = 1;
			break;
		default:
			break;
		}
	}
	if (d.bad)
		return rd_corrupt(r, "bad track event");
	if (r->failed)
		return -1;
	struct track *t = rd_seq_track(r, s, uuid);
	if (!t)
		return 0; /* not one of giltrace's tracks: ignore */
	if (ts && (!r->sum->first_ts || ts < r->sum->first_ts))
		r->sum->first_ts = ts;
	if (ts > r->sum->last_ts)
		r->sum->last_ts = ts;

	/* The thread this sequence belongs to. */
	uint32_t tid = t->tid;
	if (t->kind != TK_THREAD) {
		struct track *own = rd_seq_track(r, s, s->default_track);
		tid = own && own->kind == TK_THREAD ? own->tid : 0;
	}
	int gil_of_counter = -1;
	if (counter_uuid && has_extra) {
		struct track *ct = rd_seq_track(r, s, counter_uuid);
		if (ct && ct->kind == TK_WAITERS) {
			gil_of_counter = ct->gil;
			if (r->cb->counter) {
				struct gt_rd_counter c = {.pid = ct->pid, .tid = tid, .gil = ct->gil,
							  .ts = ts, .value = extra_value};
				r->cb->counter(r->cb->ctx, &c);
			}
		}
	}

	char namebuf[64];
	const char *name = NULL;
	if (name_iid)
		name = rd_intern_get(s, &s->names, name_iid);
	else if (name_str) {
		size_t l = name_len < sizeof(namebuf) - 1 ? name_len : sizeof(namebuf) - 1;
		memcpy(namebuf, name_str, l);
		namebuf[l] = 0;
		name = namebuf;
	}

	if (type == PF_TE_COUNTER) {
		if (has_counter && (t->kind == TK_INTERVAL || t->kind == TK_WAITERS) && r->cb->counter) {
			struct gt_rd_counter c = {.pid = t->pid, .tid = tid, .gil = t->gil,
						  .is_interval = t->kind == TK_INTERVAL, .ts = ts,
						  .value = counter_value};
			r->cb->counter(r->cb->ctx, &c);
		}
		return 0;
	}
	if (type == PF_TE_INSTANT) {
		if (t->kind == TK_META && name)
			return rd_meta_instant(r, t, ts, name, &a);
		if (t->kind == TK_HOLDER && name && !strcmp(name, GT_NAME_DROP_REQUEST) &&
		    r->cb->slice) {
			struct gt_rd_slice sl = {.kind = GT_RD_DROP_REQUEST, .pid = t->pid,
						 .tid = tid, .gil = t->gil, .ts = ts,
						 .holder_tid = a.holder_tid,
						 .requested_by = a.requested_by};
			r->cb->slice(r->cb->ctx, &sl);
		}
		return 0;
	}
	if (type != PF_TE_SLICE_BEGIN && type != PF_TE_SLICE_END)
		return 0;
	int kind = slice_kind(t, name);
	struct stack_key key = {uuid, s->id};
	struct stack *st = rd_map_get(&r->stacks, &rd_stack_ops, &key, type == PF_TE_SLICE_BEGIN);
	if (type == PF_TE_SLICE_BEGIN) {
		if (!st)
			return rd_fail(r, "out of memory");
		if (st->depth >= MAX_DEPTH)
			return rd_corrupt(r, "slices nested deeper than giltrace writes");
		struct open_slice *o = &st->s[st->depth++];
		o->ts = ts;
		o->kind = (uint8_t)kind;
		o->gil = gil_of_counter;
		o->holder_tid = a.holder_tid;
		o->prev_holder = a.prev_holder;
		o->flow_in = (uint8_t)flow_in;
		return 0;
	}
	if (!st || !st->depth) {
		r->sum->unmatched_ends++;
		return 0;
	}
	struct open_slice *o = &st->s[--st->depth];
	if (o->kind)
		rd_emit_slice(r, (enum gt_rd_kind)o->kind, t, tid, o, ts, &a, flow_out, 0);
	return 0;
}
