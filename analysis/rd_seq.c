/* SPDX-License-Identifier: MIT */
/*
 * rd_seq.c — the reader's per-sequence state and track descriptors: errors,
 * interned strings, defaults, clock snapshots, and which of giltrace's tracks
 * (model/gt_schema.h) a descriptor declares.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gt_pb.h"
#include "gt_perfetto_fields.h"
#include "rd_internal.h"

int rd_fail(struct rd *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
int rd_fail(struct rd *r, const char *fmt, ...)
{
	if (!r->failed) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(r->err, r->errlen, fmt, ap);
		va_end(ap);
		r->failed = 1;
	}
	return -1;
}

int rd_corrupt(struct rd *r, const char *what)
{
	return rd_fail(r, "corrupt trace: %s in the packet at byte %llu", what,
		    (unsigned long long)r->packet_offset);
}

uint8_t rd_akey_of(const void *name, size_t len)
{
	for (int k = 1; k < AK_MAX; k++)
		if (strlen(akey_names[k]) == len && !memcmp(akey_names[k], name, len))
			return (uint8_t)k;
	return AK_NONE;
}

const char *rd_intern_get(const struct seq *s, const struct rd_intern *t, uint64_t iid)
{
	return rd_intern_str(&s->arena, rd_intern_find(t, iid));
}

/* The sequence cleared its incremental state: its interned strings are
 * gone (the memory is kept for the next ones). */
void rd_seq_clear_interned(struct seq *s)
{
	rd_intern_clear(&s->names);
	rd_intern_clear(&s->anames);
	rd_intern_clear(&s->astrs);
	s->arena.used = 0;
}

void rd_seq_free(struct seq *s)
{
	rd_intern_free(&s->names);
	rd_intern_free(&s->anames);
	rd_intern_free(&s->astrs);
	free(s->arena.s);
}

int rd_parse_interned(struct rd *r, struct seq *s, const uint8_t *p, size_t n)
{
	struct gt_pbr in, e;
	struct gt_pbr_field f, g;
	gt_pbr_init(&in, p, n);
	while (gt_pbr_next(&in, &f)) {
		struct rd_intern *t;
		if (f.num == PF_INTERN_EVENT_NAMES)
			t = &s->names;
		else if (f.num == PF_INTERN_ANNOTATION_NAMES)
			t = &s->anames;
		else if (f.num == PF_INTERN_ANNOTATION_STRINGS)
			t = &s->astrs;
		else
			continue;
		if (f.wire != GT_PB_LEN)
			return rd_corrupt(r, "interned entry is not a message");
		uint64_t iid = 0;
		const uint8_t *str = NULL;
		size_t len = 0;
		gt_pbr_init(&e, f.data, f.len);
		while (gt_pbr_next(&e, &g)) {
			if (g.num == PF_INTERNED_IID && g.wire == GT_PB_VARINT)
				iid = g.v;
			else if (g.num == PF_INTERNED_NAME && g.wire == GT_PB_LEN)
				str = g.data, len = g.len;
		}
		if (e.bad)
			return rd_corrupt(r, "bad interned entry");
		if (iid && str &&
		    rd_intern_put(t, &s->arena, iid, str, len,
				  t == &s->anames ? rd_akey_of(str, len) : AK_NONE))
			return rd_fail(r, "out of memory");
	}
	return in.bad ? rd_corrupt(r, "bad interned data") : 0;
}

/* ---- sequences, clocks, descriptors -------------------------------------- */

struct seq *rd_get_seq(struct rd *r, uint32_t id)
{
	/* Packets of one sequence come in runs (a whole chunk, usually). */
	if (r->last_seq_gen == r->seqs.gen + 1 && r->last_seq->id == id)
		return r->last_seq;
	struct seq *s = rd_map_get(&r->seqs, &rd_seq_ops, &id, 1);
	if (!s) {
		rd_fail(r, "out of memory");
		return NULL;
	}
	r->last_seq = s;
	r->last_seq_gen = r->seqs.gen + 1;
	return s;
}

int rd_parse_defaults(struct rd *r, struct seq *s, const uint8_t *p, size_t n)
{
	struct gt_pbr d, t;
	struct gt_pbr_field f, g;
	gt_pbr_init(&d, p, n);
	while (gt_pbr_next(&d, &f)) {
		if (f.num == PF_DEFAULTS_CLOCK_ID && f.wire == GT_PB_VARINT) {
			s->default_clock = (uint32_t)f.v;
		} else if (f.num == PF_DEFAULTS_TRACK_EVENT && f.wire == GT_PB_LEN) {
			gt_pbr_init(&t, f.data, f.len);
			while (gt_pbr_next(&t, &g))
				if (g.num == PF_TE_DEFAULTS_TRACK_UUID && g.wire == GT_PB_VARINT)
					s->default_track = g.v;
			if (t.bad)
				return rd_corrupt(r, "bad track event defaults");
		}
	}
	return d.bad ? rd_corrupt(r, "bad packet defaults") : 0;
}

int rd_parse_snapshot(struct rd *r, struct seq *s, const uint8_t *p, size_t n)
{
	struct gt_pbr cs, c;
	struct gt_pbr_field f, g;
	uint64_t boot = 0, v64 = 0;
	int have_boot = 0, have64 = 0;
	gt_pbr_init(&cs, p, n);
	while (gt_pbr_next(&cs, &f)) {
		if (f.num != PF_SNAPSHOT_CLOCKS || f.wire != GT_PB_LEN)
			continue;
		uint64_t id = 0, ts = 0;
		gt_pbr_init(&c, f.data, f.len);
		while (gt_pbr_next(&c, &g)) {
			if (g.num == PF_CLOCK_ID)
				id = g.v;
			else if (g.num == PF_CLOCK_TIMESTAMP)
				ts = g.v;
		}
		if (c.bad)
			return rd_corrupt(r, "bad clock");
		if (id == PF_CLOCK_BOOTTIME)
			boot = ts, have_boot = 1;
		else if (id == PF_CLOCK_SEQ_FIRST)
			v64 = ts, have64 = 1;
	}
	if (cs.bad)
		return rd_corrupt(r, "bad clock snapshot");
	if (have64) {
		s->clock64 = v64;
		s->clock64_offset = have_boot ? (int64_t)(boot - v64) : 0;
		s->has_clock64 = 1;
	}
	return 0;
}

void rd_copy_text(char *out, size_t size, const uint8_t *data, size_t len)
{
	size_t l = len < size - 1 ? len : size - 1;
	/* Never cut a UTF-8 character in two. */
	while (l < len && l && (data[l] & 0xc0) == 0x80)
		l--;
	memcpy(out, data, l);
	out[l] = 0;
}

int rd_parse_descriptor(struct rd *r, const uint8_t *p, size_t n)
{
	struct gt_pbr d, sub;
	struct gt_pbr_field f, g;
	uint64_t uuid = 0;
	uint32_t pid = 0, tid = 0;
	int is_thread = 0, is_process = 0, is_counter = 0;
	char tname[GT_THREAD_NAME_MAX] = "", os_name[16] = "";
	char pname[64] = "", cmdline[256] = "";
	size_t cmdlen = 0;

	uint64_t parent = 0;
	gt_pbr_init(&d, p, n);
	while (gt_pbr_next(&d, &f)) {
		if (f.num == PF_TD_UUID && f.wire == GT_PB_VARINT) {
			uuid = f.v;
		} else if (f.num == PF_TD_PARENT_UUID && f.wire == GT_PB_VARINT) {
			parent = f.v;
		} else if (f.num == PF_TD_COUNTER) {
			is_counter = 1;
		} else if (f.num == PF_TD_DESCRIPTION && f.wire == GT_PB_LEN &&
			   f.len > sizeof(GT_THREAD_OS_NAME) - 1 &&
			   !memcmp(f.data, GT_THREAD_OS_NAME, sizeof(GT_THREAD_OS_NAME) - 1)) {
			size_t l = f.len - (sizeof(GT_THREAD_OS_NAME) - 1);
			l = l < sizeof(os_name) - 1 ? l : sizeof(os_name) - 1;
			memcpy(os_name, f.data + sizeof(GT_THREAD_OS_NAME) - 1, l);
			os_name[l] = 0;
		} else if ((f.num == PF_TD_THREAD || f.num == PF_TD_PROCESS) && f.wire == GT_PB_LEN) {
			gt_pbr_init(&sub, f.data, f.len);
			while (gt_pbr_next(&sub, &g)) {
				if (g.num == 1 && g.wire == GT_PB_VARINT) /* pid in both */
					pid = (uint32_t)g.v;
				else if (f.num == PF_TD_THREAD && g.num == PF_THREAD_TID &&
					 g.wire == GT_PB_VARINT)
					tid = (uint32_t)g.v;
				else if (f.num == PF_TD_PROCESS && g.num == PF_PROC_NAME &&
					 g.wire == GT_PB_LEN)
					rd_copy_text(pname, sizeof(pname), g.data, g.len);
				else if (f.num == PF_TD_PROCESS && g.num == PF_PROC_CMDLINE &&
					 g.wire == GT_PB_LEN && cmdlen + 2 < sizeof(cmdline)) {
					if (cmdlen)
						cmdline[cmdlen++] = ' ';
					rd_copy_text(cmdline + cmdlen, sizeof(cmdline) - cmdlen, g.data,
						     g.len);
					cmdlen += strlen(cmdline + cmdlen);
				}
				else if (f.num == PF_TD_THREAD && g.num == PF_THREAD_NAME &&
					 g.wire == GT_PB_LEN) {
					rd_copy_text(tname, sizeof(tname), g.data, g.len);
				}
			}
			if (sub.bad)
				return rd_corrupt(r, "bad thread or process descriptor");
			if (f.num == PF_TD_THREAD)
				is_thread = 1;
			else
				is_process = 1;
		}
	}
	if (d.bad)
		return rd_corrupt(r, "bad track descriptor");
	if (!uuid)
		return 0;
	struct track *t = rd_map_get(&r->tracks, &rd_track_ops, &uuid, 1);
	if (!t)
		return rd_fail(r, "out of memory");
	/* giltrace's own tracks hang off their process's (pid << 32). */
	t->pid = pid ? pid : (uint32_t)(parent >> 32);
	t->gil = -1;
	if (is_thread) {
		if (!tid)
			return rd_corrupt(r, "thread descriptor without a tid");
		t->kind = TK_THREAD;
		t->tid = tid;
		if (r->cb->thread) {
			struct gt_rd_thread th = {t->pid, tid, tname, os_name};
			r->cb->thread(r->cb->ctx, &th);
		}
		return 0;
	}
	if (is_process) {
		t->kind = TK_PROCESS;
		if (r->cb->process && pid) {
			struct gt_rd_process pr = {pid, pname, cmdline};
			r->cb->process(r->cb->ctx, &pr);
		}
		return 0;
	}
	/* giltrace's own tracks: model/gt_schema.h. */
	unsigned slot = 0;
	enum gt_gil_track kind = GT_TRACK_HOLDER;
	switch (gt_uuid_decode(uuid, &slot, &kind)) {
	case GT_UUID_META:
		t->kind = TK_META;
		r->giltrace_seen = 1;
		return 0;
	case GT_UUID_CONVOYS: /* added by report --annotate or run */
		r->sum->annotated = 1;
		return 0;
	case GT_UUID_GIL:
		break;
	default:
		return 0;
	}
	static const uint8_t kinds[] = {[GT_TRACK_HOLDER] = TK_HOLDER,
					[GT_TRACK_WAITERS] = TK_WAITERS,
					[GT_TRACK_CONTENDED] = TK_CONTENDED,
					[GT_TRACK_INTERVAL] = TK_INTERVAL};
	t->gil = (int)slot;
	t->kind = kinds[kind];
	if ((t->kind == TK_WAITERS || t->kind == TK_INTERVAL) && !is_counter)
		return rd_corrupt(r, "a GIL counter track without a counter descriptor");
	r->giltrace_seen = 1;
	/* The GIL exists; which interpreter it belongs to comes as data in
	 * its GT_NAME_GIL instant (traces of format 1 have none: unknown). */
	if (t->kind == TK_HOLDER && r->cb->gil) {
		struct gt_rd_gil g2 = {t->pid, slot, -1};
		r->cb->gil(r->cb->ctx, &g2);
	}
	return 0;
}
