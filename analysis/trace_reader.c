/* SPDX-License-Identifier: MIT */
/*
 * trace_reader.c — see trace_reader.h.
 *
 * Layers, bottom up: an input buffer that yields whole top-level packets
 * (and says precisely where a file is cut short); packet parsing into
 * per-sequence state; track events into per-(track, sequence) stacks of open
 * slices; completed slices out through the callbacks. Every length is checked
 * against what is left before it is used.
 */
#include "trace_reader.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <libdeflate.h>

#include "gt_encoder.h"
#include "gt_pb.h"
#include "gt_perfetto_fields.h"
#include "rd_intern.h"

#define MAX_PACKET (64u << 20)  /* bigger than anything giltrace writes */
#define MAX_INFLATED (16u << 20)
#define MAX_DEPTH 4
#define TRACK_CACHE 4 /* per sequence; a power of two */

/* ---- small hash maps ----------------------------------------------------- */

struct seq {
	uint32_t id;
	uint8_t used;
	uint8_t has_clock64;
	uint32_t default_clock;
	uint64_t default_track;
	uint64_t clock64;
	int64_t clock64_offset;
	/* Interned strings; annotation names carry their enum akey, resolved
	 * once. */
	struct rd_intern names, anames, astrs;
	struct rd_arena arena;
	/* The few tracks this sequence's events name (its thread's, its GIL's
	 * holder and waiters), as found in r->tracks at generation
	 * track_gen - 1 (0: nothing cached). */
	struct {
		uint64_t uuid;
		struct track *t;
	} tcache[TRACK_CACHE];
	size_t track_gen;
};

enum track_kind { TK_OTHER = 0, TK_PROCESS, TK_THREAD, TK_HOLDER, TK_WAITERS, TK_CONTENDED,
		  TK_INTERVAL, TK_META };

struct track {
	uint64_t uuid;
	uint8_t used;
	uint8_t kind;
	uint32_t pid, tid;
	int gil;
};

struct open_slice {
	uint64_t ts;
	uint8_t kind;
	int gil;
	uint32_t holder_tid, prev_holder;
	uint8_t flow_in;
};

struct stack {
	uint64_t uuid;
	uint32_t seq;
	uint8_t used;
	uint8_t depth;
	struct open_slice s[MAX_DEPTH];
};

struct map {
	void *slots;
	size_t cap, count, size; /* size = bytes per slot */
	size_t gen;              /* bumped when slots move (pointers go stale) */
};

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return x;
}

static void *slot_at(struct map *m, size_t i) { return (char *)m->slots + i * m->size; }

/* Open addressing; every slot type starts with its key and a used byte at
 * offset used_off. Returns the slot for key, creating it if create. */
typedef int (*key_eq_fn)(const void *slot, const void *key);
typedef void (*key_set_fn)(void *slot, const void *key);

struct map_ops {
	size_t used_off;
	key_eq_fn eq;
	key_set_fn set;
	uint64_t (*hash)(const void *key);
};

static void *map_get(struct map *m, const struct map_ops *ops, const void *key, int create);

static int map_grow(struct map *m, const struct map_ops *ops)
{
	struct map old = *m;
	size_t cap = old.cap ? old.cap * 2 : 64;
	m->slots = calloc(cap, m->size);
	if (!m->slots) {
		*m = old;
		return -1;
	}
	m->cap = cap;
	m->count = 0;
	m->gen++;
	for (size_t i = 0; i < old.cap; i++) {
		char *s = slot_at(&old, i);
		if (!s[ops->used_off])
			continue;
		/* Re-insert by copying the whole slot into its new place. */
		uint64_t h = ops->hash(s);
		for (size_t j = h & (cap - 1);; j = (j + 1) & (cap - 1)) {
			char *d = slot_at(m, j);
			if (!d[ops->used_off]) {
				memcpy(d, s, m->size);
				m->count++;
				break;
			}
		}
	}
	free(old.slots);
	return 0;
}

static void *map_get(struct map *m, const struct map_ops *ops, const void *key, int create)
{
	if (create && (m->count + 1) * 4 > m->cap * 3 && map_grow(m, ops))
		return NULL;
	if (!m->cap)
		return NULL;
	uint64_t h = ops->hash(key);
	for (size_t j = h & (m->cap - 1);; j = (j + 1) & (m->cap - 1)) {
		char *s = slot_at(m, j);
		if (!s[ops->used_off]) {
			if (!create)
				return NULL;
			memset(s, 0, m->size);
			ops->set(s, key);
			s[ops->used_off] = 1;
			m->count++;
			return s;
		}
		if (ops->eq(s, key))
			return s;
	}
}

static uint64_t seq_hash(const void *k) { return mix(*(const uint32_t *)k); }
static int seq_eq(const void *s, const void *k) { return ((const struct seq *)s)->id == *(const uint32_t *)k; }
static void seq_set(void *s, const void *k) { ((struct seq *)s)->id = *(const uint32_t *)k; }
static const struct map_ops seq_ops = {offsetof(struct seq, used), seq_eq, seq_set, seq_hash};

static uint64_t track_hash(const void *k) { return mix(*(const uint64_t *)k); }
static int track_eq(const void *s, const void *k) { return ((const struct track *)s)->uuid == *(const uint64_t *)k; }
static void track_set(void *s, const void *k) { ((struct track *)s)->uuid = *(const uint64_t *)k; }
static const struct map_ops track_ops = {offsetof(struct track, used), track_eq, track_set, track_hash};

struct stack_key {
	uint64_t uuid;
	uint32_t seq;
};
static uint64_t stack_hash(const void *k)
{
	const struct stack_key *sk = k;
	return mix(sk->uuid ^ ((uint64_t)sk->seq << 40) ^ sk->seq);
}
static int stack_eq(const void *s, const void *k)
{
	const struct stack *st = s;
	const struct stack_key *sk = k;
	return st->uuid == sk->uuid && st->seq == sk->seq;
}
static void stack_set(void *s, const void *k)
{
	struct stack *st = s;
	const struct stack_key *sk = k;
	st->uuid = sk->uuid;
	st->seq = sk->seq;
}
static const struct map_ops stack_ops = {offsetof(struct stack, used), stack_eq, stack_set, stack_hash};

/* ---- reader state -------------------------------------------------------- */

struct rd {
	const struct gt_rd_callbacks *cb;
	struct gt_rd_summary *sum;
	char *err;
	size_t errlen;
	int failed;
	uint64_t packet_offset; /* file offset of the packet being parsed */
	struct map seqs, tracks, stacks;
	struct seq *last_seq; /* of the last packet, valid at seqs.gen == last_seq_gen - 1 */
	size_t last_seq_gen;
	uint8_t *inflated;
	size_t inflated_cap;
	struct libdeflate_decompressor *inflater;
	int giltrace_seen;      /* metadata or GIL tracks */
};

static int fail(struct rd *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(struct rd *r, const char *fmt, ...)
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

static int corrupt(struct rd *r, const char *what)
{
	return fail(r, "corrupt trace: %s in the packet at byte %llu", what,
		    (unsigned long long)r->packet_offset);
}

/* ---- interning ----------------------------------------------------------- */

/* The debug annotations giltrace writes, by name (docs/trace-format.md). An
 * interned name is resolved to one of these once, not on every event. */
enum akey {
	AK_NONE,
	AK_HOLDER_TID, AK_TIMEOUTS, AK_REQUESTED_BY, AK_PREV_HOLDER, AK_ENDED, AK_GIL,
	AK_INTERP_ID,
	AK_FORMAT, AK_EVENTS, AK_DROPPED, AK_THREADS, AK_UNTRACED, /* = MN_* + AK_FORMAT */
	AK_VERSION, AK_RECORDER, AK_CLOCK, AK_PYTHON, AK_METHOD, AK_NOTES, /* MS_* */
	AK_MAX
};

static const char *const akey_names[AK_MAX] = {
	[AK_HOLDER_TID] = GT_AN_HOLDER, [AK_TIMEOUTS] = GT_AN_TIMEOUTS,
	[AK_REQUESTED_BY] = GT_AN_REQUESTED_BY, [AK_PREV_HOLDER] = GT_AN_PREV_HOLDER,
	[AK_ENDED] = GT_AN_ENDED, [AK_GIL] = GT_AN_GIL, [AK_INTERP_ID] = GT_AN_INTERP_ID,
	[AK_FORMAT] = GT_AN_FORMAT, [AK_EVENTS] = GT_AN_EVENTS, [AK_DROPPED] = GT_AN_DROPPED,
	[AK_THREADS] = GT_AN_THREADS, [AK_UNTRACED] = GT_AN_UNTRACED,
	[AK_VERSION] = GT_AN_VERSION, [AK_RECORDER] = GT_AN_RECORDER, [AK_CLOCK] = GT_AN_CLOCK,
	[AK_PYTHON] = GT_AN_PYTHON, [AK_METHOD] = GT_AN_METHOD, [AK_NOTES] = GT_AN_NOTES,
};

static uint8_t akey_of(const void *name, size_t len)
{
	for (int k = 1; k < AK_MAX; k++)
		if (strlen(akey_names[k]) == len && !memcmp(akey_names[k], name, len))
			return (uint8_t)k;
	return AK_NONE;
}

static const char *intern_get(const struct seq *s, const struct rd_intern *t, uint64_t iid)
{
	return rd_intern_str(&s->arena, rd_intern_find(t, iid));
}

/* The sequence cleared its incremental state: its interned strings are
 * gone (the memory is kept for the next ones). */
static void seq_clear_interned(struct seq *s)
{
	rd_intern_clear(&s->names);
	rd_intern_clear(&s->anames);
	rd_intern_clear(&s->astrs);
	s->arena.used = 0;
}

static void seq_free(struct seq *s)
{
	rd_intern_free(&s->names);
	rd_intern_free(&s->anames);
	rd_intern_free(&s->astrs);
	free(s->arena.s);
}

static int parse_interned_entries(struct rd *r, struct seq *s, const uint8_t *p, size_t n)
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
			return corrupt(r, "interned entry is not a message");
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
			return corrupt(r, "bad interned entry");
		if (iid && str &&
		    rd_intern_put(t, &s->arena, iid, str, len,
				  t == &s->anames ? akey_of(str, len) : AK_NONE))
			return fail(r, "out of memory");
	}
	return in.bad ? corrupt(r, "bad interned data") : 0;
}

/* ---- sequences, clocks, descriptors -------------------------------------- */

static struct seq *get_seq(struct rd *r, uint32_t id)
{
	/* Packets of one sequence come in runs (a whole chunk, usually). */
	if (r->last_seq_gen == r->seqs.gen + 1 && r->last_seq->id == id)
		return r->last_seq;
	struct seq *s = map_get(&r->seqs, &seq_ops, &id, 1);
	if (!s) {
		fail(r, "out of memory");
		return NULL;
	}
	r->last_seq = s;
	r->last_seq_gen = r->seqs.gen + 1;
	return s;
}

static int parse_defaults(struct rd *r, struct seq *s, const uint8_t *p, size_t n)
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
				return corrupt(r, "bad track event defaults");
		}
	}
	return d.bad ? corrupt(r, "bad packet defaults") : 0;
}

static int parse_snapshot(struct rd *r, struct seq *s, const uint8_t *p, size_t n)
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
			return corrupt(r, "bad clock");
		if (id == PF_CLOCK_BOOTTIME)
			boot = ts, have_boot = 1;
		else if (id == PF_CLOCK_SEQ_FIRST)
			v64 = ts, have64 = 1;
	}
	if (cs.bad)
		return corrupt(r, "bad clock snapshot");
	if (have64) {
		s->clock64 = v64;
		s->clock64_offset = have_boot ? (int64_t)(boot - v64) : 0;
		s->has_clock64 = 1;
	}
	return 0;
}

static int parse_descriptor(struct rd *r, const uint8_t *p, size_t n)
{
	struct gt_pbr d, sub;
	struct gt_pbr_field f, g;
	uint64_t uuid = 0;
	uint32_t pid = 0, tid = 0;
	int is_thread = 0, is_process = 0, is_counter = 0;
	char tname[16] = "";

	uint64_t parent = 0;
	gt_pbr_init(&d, p, n);
	while (gt_pbr_next(&d, &f)) {
		if (f.num == PF_TD_UUID && f.wire == GT_PB_VARINT) {
			uuid = f.v;
		} else if (f.num == PF_TD_PARENT_UUID && f.wire == GT_PB_VARINT) {
			parent = f.v;
		} else if (f.num == PF_TD_COUNTER) {
			is_counter = 1;
		} else if ((f.num == PF_TD_THREAD || f.num == PF_TD_PROCESS) && f.wire == GT_PB_LEN) {
			gt_pbr_init(&sub, f.data, f.len);
			while (gt_pbr_next(&sub, &g)) {
				if (g.num == 1 && g.wire == GT_PB_VARINT) /* pid in both */
					pid = (uint32_t)g.v;
				else if (f.num == PF_TD_THREAD && g.num == PF_THREAD_TID &&
					 g.wire == GT_PB_VARINT)
					tid = (uint32_t)g.v;
				else if (f.num == PF_TD_THREAD && g.num == PF_THREAD_NAME &&
					 g.wire == GT_PB_LEN) {
					size_t l = g.len < 15 ? g.len : 15;
					memcpy(tname, g.data, l);
					tname[l] = 0;
				}
			}
			if (sub.bad)
				return corrupt(r, "bad thread or process descriptor");
			if (f.num == PF_TD_THREAD)
				is_thread = 1;
			else
				is_process = 1;
		}
	}
	if (d.bad)
		return corrupt(r, "bad track descriptor");
	if (!uuid)
		return 0;
	struct track *t = map_get(&r->tracks, &track_ops, &uuid, 1);
	if (!t)
		return fail(r, "out of memory");
	/* giltrace's own tracks hang off their process's (pid << 32). */
	t->pid = pid ? pid : (uint32_t)(parent >> 32);
	t->gil = -1;
	if (is_thread) {
		if (!tid)
			return corrupt(r, "thread descriptor without a tid");
		t->kind = TK_THREAD;
		t->tid = tid;
		if (r->cb->thread) {
			struct gt_rd_thread th = {t->pid, tid, tname};
			r->cb->thread(r->cb->ctx, &th);
		}
		return 0;
	}
	if (is_process) {
		t->kind = TK_PROCESS;
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
		return corrupt(r, "a GIL counter track without a counter descriptor");
	r->giltrace_seen = 1;
	/* The GIL exists; which interpreter it belongs to comes as data in
	 * its GT_NAME_GIL instant (traces of format 1 have none: interp 0). */
	if (t->kind == TK_HOLDER && r->cb->gil) {
		struct gt_rd_gil g2 = {t->pid, slot, 0};
		r->cb->gil(r->cb->ctx, &g2);
	}
	return 0;
}

/* ---- track events -------------------------------------------------------- */

struct annotations {
	uint32_t holder_tid, timeouts, requested_by, prev_holder;
	int ended;
	int64_t gil, interp_id; /* GT_NAME_GIL: -1 if not said */
	/* metadata: strings as found in the packet (not NUL-terminated; the
	 * packet outlives the annotations), numbers */
	const uint8_t *str[8];
	size_t str_len[8];
	uint64_t num[8];
};

enum { MS_VERSION, MS_RECORDER, MS_CLOCK, MS_PYTHON, MS_METHOD, MS_NOTES };
enum { MN_FORMAT, MN_EVENTS, MN_DROPPED, MN_THREADS, MN_UNTRACED };
_Static_assert(AK_NOTES - AK_VERSION == MS_NOTES && AK_UNTRACED - AK_FORMAT == MN_UNTRACED,
	       "enum akey lists the metadata in the order of MS_* and MN_*");

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
				key = akey_of(f.data, f.len);
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
			const char *v = intern_get(s, &s->astrs, f.v);
			if (v)
				str = (const uint8_t *)v, slen = strlen(v);
			break;
		}
		default:
			break;
		}
	}
	if (d.bad)
		return corrupt(r, "bad debug annotation");
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
		case AK_FORMAT:
		case AK_EVENTS:
		case AK_DROPPED:
		case AK_THREADS:
		case AK_UNTRACED:
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
	} else if (key >= AK_VERSION && key <= AK_NOTES) {
		int i = key - AK_VERSION;
		a->str[i] = str;
		a->str_len[i] = slen;
	}
	return 0;
}

static void emit_slice(struct rd *r, enum gt_rd_kind kind, const struct track *t, uint32_t tid,
		       const struct open_slice *o, uint64_t end, const struct annotations *a,
		       int flow_out, int open)
{
	struct gt_rd_slice sl = {
		.kind = kind,
		.pid = t->pid,
		.tid = tid,
		.gil = t->gil >= 0 ? t->gil : o->gil,
		.ts = o->ts,
		.dur = end >= o->ts ? end - o->ts : 0,
		.open = open,
		.holder_tid = o->holder_tid,
		.timeouts = a ? a->timeouts : 0,
		.prev_holder = o->prev_holder,
		.ended = a ? a->ended : 0,
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
static struct track *seq_track(struct rd *r, struct seq *s, uint64_t uuid)
{
	unsigned i = (unsigned)(mix(uuid) & (TRACK_CACHE - 1));
	if (s->track_gen != r->tracks.gen + 1) {
		memset(s->tcache, 0, sizeof(s->tcache));
		s->track_gen = r->tracks.gen + 1;
	} else if (s->tcache[i].t && s->tcache[i].uuid == uuid) {
		return s->tcache[i].t;
	}
	struct track *t = map_get(&r->tracks, &track_ops, &uuid, 0);
	if (t) {
		s->tcache[i].uuid = uuid;
		s->tcache[i].t = t;
	}
	return t;
}

static int parse_track_event(struct rd *r, struct seq *s, uint64_t ts, const uint8_t *p, size_t n)
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
				return corrupt(r, "bad debug annotation");
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
		return corrupt(r, "bad track event");
	if (r->failed)
		return -1;
	struct track *t = seq_track(r, s, uuid);
	if (!t)
		return 0; /* not one of giltrace's tracks: ignore */
	if (ts && (!r->sum->first_ts || ts < r->sum->first_ts))
		r->sum->first_ts = ts;
	if (ts > r->sum->last_ts)
		r->sum->last_ts = ts;

	/* The thread this sequence belongs to. */
	uint32_t tid = t->tid;
	if (t->kind != TK_THREAD) {
		struct track *own = seq_track(r, s, s->default_track);
		tid = own && own->kind == TK_THREAD ? own->tid : 0;
	}
	int gil_of_counter = -1;
	if (counter_uuid && has_extra) {
		struct track *ct = seq_track(r, s, counter_uuid);
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
		name = intern_get(s, &s->names, name_iid);
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
		if (t->kind == TK_META && name && !strcmp(name, GT_NAME_GIL)) {
			if (a.gil >= 0 && a.gil < GT_MAX_GILS && r->cb->gil) {
				struct gt_rd_gil g = {t->pid, (unsigned)a.gil,
						      a.interp_id >= 0 ? a.interp_id : 0};
				r->cb->gil(r->cb->ctx, &g);
			}
		} else if (t->kind == TK_META && name &&
		    (!strcmp(name, GT_NAME_START) || !strcmp(name, GT_NAME_END))) {
			/* The strings whole, however long (two records a trace). */
			size_t total = 0;
			for (int i = 0; i <= MS_NOTES; i++)
				total += a.str_len[i] + 1;
			char *text = malloc(total), *at = text;
			const char *str[MS_NOTES + 1] = {0};
			if (!text)
				return fail(r, "out of memory");
			for (int i = 0; i <= MS_NOTES; i++) {
				if (!a.str[i])
					continue;
				memcpy(at, a.str[i], a.str_len[i]);
				at[a.str_len[i]] = 0;
				str[i] = at;
				at += a.str_len[i] + 1;
			}
			struct gt_rd_meta m = {
				.final = !strcmp(name, GT_NAME_END),
				.pid = t->pid,
				.ts = ts,
				.giltrace_version = str[MS_VERSION],
				.recorder = str[MS_RECORDER],
				.clock = str[MS_CLOCK],
				.python_version = str[MS_PYTHON],
				.gil_method = str[MS_METHOD],
				.notes = str[MS_NOTES],
				.trace_format = a.num[MN_FORMAT],
				.events = a.num[MN_EVENTS],
				.events_dropped = a.num[MN_DROPPED],
				.threads = a.num[MN_THREADS],
				.gils_untraced = a.num[MN_UNTRACED],
			};
			if (m.final)
				r->sum->has_end = 1;
			else
				r->sum->has_start = 1;
			if (r->cb->meta)
				r->cb->meta(r->cb->ctx, &m);
			free(text);
		} else if (t->kind == TK_HOLDER && name && !strcmp(name, GT_NAME_DROP_REQUEST) &&
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
	struct stack *st = map_get(&r->stacks, &stack_ops, &key, type == PF_TE_SLICE_BEGIN);
	if (type == PF_TE_SLICE_BEGIN) {
		if (!st)
			return fail(r, "out of memory");
		if (st->depth >= MAX_DEPTH)
			return corrupt(r, "slices nested deeper than giltrace writes");
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
		emit_slice(r, (enum gt_rd_kind)o->kind, t, tid, o, ts, &a, flow_out, 0);
	return 0;
}

/* ---- packets ------------------------------------------------------------- */

static int parse_stream(struct rd *r, const uint8_t *p, size_t n, int depth);

/* A compressed_packets chunk: zlib format, one shot (libdeflate, about
 * twice as fast as zlib's streaming inflate here); the buffer doubles until
 * the chunk fits, up to a bound no chunk of ours comes near (giltrace writes
 * at most 480 KiB per chunk). */
static int inflate_chunk(struct rd *r, const uint8_t *p, size_t n)
{
	if (!r->inflater && !(r->inflater = libdeflate_alloc_decompressor()))
		return fail(r, "out of memory");
	if (!r->inflated) {
		r->inflated_cap = 1u << 20;
		r->inflated = malloc(r->inflated_cap);
		if (!r->inflated)
			return fail(r, "out of memory");
	}
	size_t out = 0, used = 0;
	for (;;) {
		enum libdeflate_result rc = libdeflate_zlib_decompress_ex(
			r->inflater, p, n, r->inflated, r->inflated_cap, &used, &out);
		if (rc == LIBDEFLATE_SUCCESS)
			break;
		if (rc != LIBDEFLATE_INSUFFICIENT_SPACE)
			return corrupt(r, "compressed chunk does not inflate");
		if (r->inflated_cap >= MAX_INFLATED)
			return corrupt(r, "compressed chunk inflates past 16 MiB");
		uint8_t *bigger = realloc(r->inflated, r->inflated_cap * 2);
		if (!bigger)
			return fail(r, "out of memory");
		r->inflated = bigger;
		r->inflated_cap *= 2;
	}
	/* Parse from a private copy: nested parsing reuses nothing, but keep
	 * the buffer owned for the duration. */
	uint8_t *buf = r->inflated;
	r->inflated = NULL;
	size_t cap = r->inflated_cap;
	int res = parse_stream(r, buf, out, 1);
	if (!r->inflated) {
		r->inflated = buf;
		r->inflated_cap = cap;
	} else {
		free(buf);
	}
	return res;
}

static int parse_packet(struct rd *r, const uint8_t *p, size_t n, int depth)
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
		return depth ? corrupt(r, "bad packet inside a compressed chunk")
			     : corrupt(r, "bad packet");
	r->sum->packets++;
	if (compressed) {
		if (depth)
			return corrupt(r, "compressed chunk inside a compressed chunk");
		return inflate_chunk(r, compressed, compressed_n);
	}
	struct seq *s = get_seq(r, seq_id);
	if (!s)
		return -1;
	if (flags & PF_SEQ_INCREMENTAL_STATE_CLEARED) {
		struct seq keep = *s;
		memset(s, 0, sizeof(*s));
		s->id = keep.id;
		s->used = 1;
		s->names = keep.names, s->anames = keep.anames, s->astrs = keep.astrs;
		s->arena = keep.arena;
		seq_clear_interned(s);
	}
	if (interned && parse_interned_entries(r, s, interned, interned_n))
		return -1;
	if (defaults && parse_defaults(r, s, defaults, defaults_n))
		return -1;
	if (snapshot && parse_snapshot(r, s, snapshot, snapshot_n))
		return -1;
	uint32_t clock = has_clock ? clock_id : s->default_clock ? s->default_clock : PF_CLOCK_BOOTTIME;
	if (has_ts && clock == PF_CLOCK_SEQ_FIRST) {
		if (!s->has_clock64)
			return corrupt(r, "incremental timestamp before any clock snapshot");
		s->clock64 += ts;
		ts = s->clock64 + (uint64_t)s->clock64_offset;
	} else if (has_ts && clock != PF_CLOCK_BOOTTIME) {
		return 0; /* a clock giltrace does not write */
	}
	if (desc && parse_descriptor(r, desc, desc_n))
		return -1;
	if (event && parse_track_event(r, s, ts, event, event_n))
		return -1;
	return r->failed ? -1 : 0;
}

/* A run of Trace.packet fields (a whole file, or an inflated chunk). */
static int parse_stream(struct rd *r, const uint8_t *p, size_t n, int depth)
{
	struct gt_pbr d;
	struct gt_pbr_field f;
	gt_pbr_init(&d, p, n);
	while (gt_pbr_next(&d, &f)) {
		if (f.num != PF_TRACE_PACKET || f.wire != GT_PB_LEN)
			return corrupt(r, "not a TracePacket");
		if (parse_packet(r, f.data, f.len, depth))
			return -1;
	}
	if (d.bad)
		return depth ? corrupt(r, "bad packet framing inside a compressed chunk")
			     : fail(r, "truncated or corrupt trace: bad packet framing");
	return 0;
}

/* ---- top level ----------------------------------------------------------- */

static void rd_free(struct rd *r)
{
	for (size_t i = 0; i < r->seqs.cap; i++) {
		struct seq *s = slot_at(&r->seqs, i);
		if (s->used)
			seq_free(s);
	}
	free(r->seqs.slots);
	free(r->tracks.slots);
	free(r->stacks.slots);
	free(r->inflated);
	if (r->inflater)
		libdeflate_free_decompressor(r->inflater);
}

/* Slices still open when the trace ends (the program was killed, or the
 * file is incomplete): hand them out as open, ending at the last event. */
static void flush_open(struct rd *r)
{
	for (size_t i = 0; i < r->stacks.cap; i++) {
		struct stack *st = slot_at(&r->stacks, i);
		if (!st->used)
			continue;
		struct track *t = map_get(&r->tracks, &track_ops, &st->uuid, 0);
		while (t && st->depth) {
			struct open_slice *o = &st->s[--st->depth];
			r->sum->open_slices++;
			if (!o->kind)
				continue;
			uint32_t tid = t->tid;
			if (t->kind != TK_THREAD) {
				uint32_t id = st->seq;
				struct seq *s = map_get(&r->seqs, &seq_ops, &id, 0);
				struct track *own =
					s ? map_get(&r->tracks, &track_ops, &s->default_track, 0) : NULL;
				tid = own && own->kind == TK_THREAD ? own->tid : 0;
			}
			emit_slice(r, (enum gt_rd_kind)o->kind, t, tid, o, r->sum->last_ts, NULL, 0, 1);
		}
	}
}

static void rd_init(struct rd *r, const struct gt_rd_callbacks *cb, struct gt_rd_summary *sum,
		    char *err, size_t errlen)
{
	memset(r, 0, sizeof(*r));
	memset(sum, 0, sizeof(*sum));
	r->cb = cb;
	r->sum = sum;
	r->err = err;
	r->errlen = errlen;
	r->seqs.size = sizeof(struct seq);
	r->tracks.size = sizeof(struct track);
	r->stacks.size = sizeof(struct stack);
	if (errlen)
		err[0] = 0;
}

static int finish(struct rd *r)
{
	if (!r->failed && !r->giltrace_seen)
		fail(r, "not a giltrace trace: no giltrace tracks or metadata in it");
	if (!r->failed)
		flush_open(r);
	return r->failed ? -1 : 0;
}

/* Reads a varint from buf[0..n); returns bytes used, 0 if it needs more
 * bytes than n, -1 if malformed. */
static int peek_varint(const uint8_t *buf, size_t n, uint64_t *v)
{
	*v = 0;
	for (int i = 0; i < 10; i++) {
		if ((size_t)i >= n)
			return 0;
		*v |= (uint64_t)(buf[i] & 0x7f) << (7 * i);
		if (!(buf[i] & 0x80))
			return i + 1;
	}
	return -1;
}

/* The file is read in pieces; each top-level packet must be whole before it
 * is parsed. */
static int read_stream(struct rd *r, int fd)
{
	size_t cap = 1u << 20, start = 0, end = 0;
	uint64_t base = 0; /* file offset of buf[0] */
	int eof = 0;
	uint8_t *buf = malloc(cap);
	if (!buf)
		return fail(r, "out of memory");
	for (;;) {
		/* Header: tag + length. */
		uint64_t tag = 0, len = 0;
		int ht, hl = 0;
		for (;;) {
			ht = peek_varint(buf + start, end - start, &tag);
			if (ht > 0)
				hl = peek_varint(buf + start + ht, end - start - (size_t)ht, &len);
			if (ht < 0 || hl < 0) {
				free(buf);
				return fail(r, "not a Perfetto trace: bad protobuf at byte %llu",
					    (unsigned long long)(base + start));
			}
			if ((ht > 0 && hl > 0) || eof)
				break;
			if (start && end - start < 32) { /* keep the partial header */
				memmove(buf, buf + start, end - start);
				base += start, end -= start, start = 0;
			}
			ssize_t got = read(fd, buf + end, cap - end);
			if (got < 0 && errno == EINTR)
				continue;
			if (got < 0) {
				free(buf);
				return fail(r, "cannot read the trace: %s", strerror(errno));
			}
			if (got == 0)
				eof = 1;
			end += (size_t)got;
			r->sum->bytes += (uint64_t)got;
		}
		if (start == end && eof)
			break;
		if (ht <= 0 || hl <= 0) {
			free(buf);
			return fail(r, "truncated trace: it ends inside a packet header at byte %llu",
				    (unsigned long long)(base + start));
		}
		if (tag != ((PF_TRACE_PACKET << 3) | GT_PB_LEN)) {
			free(buf);
			return fail(r, "not a Perfetto trace: unexpected field at byte %llu",
				    (unsigned long long)(base + start));
		}
		if (len > MAX_PACKET) {
			free(buf);
			return fail(r, "not a giltrace trace: a %llu-byte packet at byte %llu",
				    (unsigned long long)len, (unsigned long long)(base + start));
		}
		size_t need = (size_t)ht + (size_t)hl + (size_t)len;
		if (end - start < need) {
			memmove(buf, buf + start, end - start);
			base += start, end -= start, start = 0;
			if (need > cap) {
				uint8_t *bigger = realloc(buf, need);
				if (!bigger) {
					free(buf);
					return fail(r, "out of memory");
				}
				buf = bigger, cap = need;
			}
			while (end < need && !eof) {
				ssize_t got = read(fd, buf + end, cap - end);
				if (got < 0 && errno == EINTR)
					continue;
				if (got < 0) {
					free(buf);
					return fail(r, "cannot read the trace: %s", strerror(errno));
				}
				if (got == 0)
					eof = 1;
				end += (size_t)got;
				r->sum->bytes += (uint64_t)got;
			}
			if (end < need) {
				free(buf);
				return fail(r, "truncated trace: the packet at byte %llu needs %llu "
					       "bytes, the file has %llu more",
					    (unsigned long long)base, (unsigned long long)need,
					    (unsigned long long)end);
			}
		}
		r->packet_offset = base + start;
		if (parse_packet(r, buf + start + ht + hl, (size_t)len, 0)) {
			free(buf);
			return -1;
		}
		start += need;
		if (start == end && eof)
			break;
	}
	free(buf);
	return 0;
}

int gt_read_trace(const char *path, const struct gt_rd_callbacks *cb, struct gt_rd_summary *sum,
		  char *err, size_t errlen)
{
	struct rd r;
	rd_init(&r, cb, sum, err, errlen);
	int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : STDIN_FILENO;
	if (fd < 0) {
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	int rc = read_stream(&r, fd);
	if (fd != STDIN_FILENO)
		close(fd);
	if (!rc && !sum->bytes)
		rc = fail(&r, "empty file: no trace was ever written into it (its process "
			      "was killed before its first write, or it is not a trace)");
	if (!rc)
		rc = finish(&r);
	rd_free(&r);
	return rc;
}

int gt_read_trace_mem(const void *data, size_t len, const struct gt_rd_callbacks *cb,
		      struct gt_rd_summary *sum, char *err, size_t errlen)
{
	struct rd r;
	rd_init(&r, cb, sum, err, errlen);
	sum->bytes = len;
	int rc;
	if (!len)
		rc = fail(&r, "empty trace");
	else
		rc = parse_stream(&r, data, len, 0);
	if (rc && r.failed && !strncmp(err, "corrupt trace: not a TracePacket", 32))
		snprintf(err, errlen, "not a Perfetto trace");
	if (!rc)
		rc = finish(&r);
	rd_free(&r);
	return rc;
}
