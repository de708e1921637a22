/* SPDX-License-Identifier: MIT */
/*
 * gt_cpy_names.c — threading.Thread names read from a process's memory
 * (see gt_cpy_names.h): dict iteration, str and int decoding and instance
 * attributes, per CPython minor version from 3.6 to 3.15.
 *
 * The numbers are measure.py's "Objects" table (docs/cpython-layouts.md),
 * except PyDictKeysObject before 3.11, which no installed header declares
 * (Objects/dict-common.h): {refcnt, size, lookup, usable, nentries,
 * indices[]}, entries {hash, key, value} after size * index-width bytes.
 */
#include "gt_cpy_names.h"

#include <stdbool.h>
#include <string.h>

/* Where an instance keeps its attributes. */
enum inst_attrs {
	INST_DICTOFFSET, /* <= 3.10: a dict at obj + tp_dictoffset */
	INST_MANAGED_11, /* 3.11: dict at obj-24, else values at obj-32 */
	INST_MANAGED_12, /* 3.12: obj-24 holds a dict, or values - 1 (odd) */
	INST_INLINE,     /* 3.13+: dict at obj-24, else values at obj + tp_basicsize */
};

struct objects {
	int minor;
	int64_t interp_modules; /* PyInterpreterState's sys.modules, <= 3.12 */
	uint8_t keys_311;       /* the 3.11+ PyDictKeysObject */
	uint8_t values_hdr;     /* bytes before PyDictValues.values */
	uint8_t inst;           /* enum inst_attrs */
	uint8_t str_ascii_size, str_compact_size;
	uint8_t long_tag;       /* 3.12+: lv_tag, not ob_size */
	uint16_t cached_keys;   /* PyHeapTypeObject.ht_cached_keys (3.11+) */
};

static const struct objects rows[] = {
	{6, 16, 0, 0, INST_DICTOFFSET, 48, 72, 0, 0},
	{7, 40, 0, 0, INST_DICTOFFSET, 48, 72, 0, 0},
	{8, 56, 0, 0, INST_DICTOFFSET, 48, 72, 0, 0},
	{9, 856, 0, 0, INST_DICTOFFSET, 48, 72, 0, 0},
	{10, 856, 0, 0, INST_DICTOFFSET, 48, 72, 0, 0},
	{11, 888, 1, 0, INST_MANAGED_11, 48, 72, 0, 872},
	{12, 944, 1, 0, INST_MANAGED_12, 40, 56, 1, 880},
	{13, -1, 1, 8, INST_INLINE, 40, 56, 1, 880},
	{14, -1, 1, 8, INST_INLINE, 40, 56, 1, 880},
	{15, -1, 1, 8, INST_INLINE, 40, 56, 1, 888},
};

/* Offsets every version shares (measured from 3.6 to 3.15). */
enum {
	OB_TYPE = 8,
	DICT_KEYS = 32,
	DICT_VALUES = 40,
	TYPE_BASICSIZE = 32,
	TYPE_FLAGS = 168,
	TYPE_DICTOFFSET = 288,
	MODULE_DICT = 16,
	STR_LENGTH = 16,
	STR_STATE = 32,
	LONG_SIZE = 16,
	LONG_DIGITS = 24,
	TPFLAGS_INLINE_VALUES = 1 << 2,
	TPFLAGS_MANAGED_DICT = 1 << 4,
};

/* Shapes no real object has: a dict of more entries or a name longer is
 * taken for a torn read. */
#define MAX_ENTRIES (1u << 16)
#define MAX_STR 4096

static const struct objects *row_for(int minor)
{
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (rows[i].minor == minor)
			return &rows[i];
	return NULL;
}

int gt_cpy_names_supported(int minor) { return row_for(minor) != NULL; }

int64_t gt_cpy_interp_modules(int minor)
{
	const struct objects *o = row_for(minor);
	return o ? o->interp_modules : -1;
}

struct ctx {
	const struct gt_cpy_mem *m;
	const struct objects *o;
};

static bool rd(const struct ctx *c, uint64_t addr, void *buf, size_t len)
{
	return addr && !c->m->read(c->m->ctx, addr, buf, len);
}

static bool rd64(const struct ctx *c, uint64_t addr, uint64_t *v) { return rd(c, addr, v, 8); }

/* ---- str ----------------------------------------------------------------- */

static size_t put_utf8(char *out, uint32_t cp)
{
	if (cp < 0x80) {
		out[0] = (char)cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = (char)(0xc0 | cp >> 6);
		out[1] = (char)(0x80 | (cp & 0x3f));
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = (char)(0xe0 | cp >> 12);
		out[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		out[2] = (char)(0x80 | (cp & 0x3f));
		return 3;
	}
	out[0] = (char)(0xf0 | cp >> 18);
	out[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
	out[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
	out[3] = (char)(0x80 | (cp & 0x3f));
	return 4;
}

/* A compact str as UTF-8 into out (8 <= cap <= GT_CPY_NAME_MAX): its
 * length in bytes, or -1 if addr is not one. Cut with "..." if it does not
 * fit. */
static int read_str(const struct ctx *c, uint64_t addr, char *out, size_t cap)
{
	uint64_t length;
	uint32_t state;
	if (!rd64(c, addr + STR_LENGTH, &length) || !rd(c, addr + STR_STATE, &state, 4))
		return -1;
	unsigned kind = (state >> 2) & 7, compact = (state >> 5) & 1, ascii = (state >> 6) & 1;
	if (!compact || (kind != 1 && kind != 2 && kind != 4) || (ascii && kind != 1) ||
	    length > MAX_STR)
		return -1;
	uint8_t raw[GT_CPY_NAME_MAX * 4];
	uint64_t data = addr + (ascii ? c->o->str_ascii_size : c->o->str_compact_size);
	uint64_t want = length < cap ? length : cap; /* no more than can be shown */
	if (want && !rd(c, data, raw, want * kind))
		return -1;
	size_t n = 0;
	for (uint64_t i = 0; i < want; i++) {
		uint32_t cp = kind == 1 ? raw[i] : kind == 2 ? ((uint16_t *)raw)[i] : ((uint32_t *)raw)[i];
		if (cp > 0x10ffff || cp == 0)
			return -1;
		char enc[4];
		size_t k = put_utf8(enc, cp);
		if (n + k + 4 > cap || (i + 1 == want && want < length)) {
			memcpy(out + n, "...", 3);
			n += 3;
			break;
		}
		memcpy(out + n, enc, k);
		n += k;
	}
	out[n] = 0;
	return (int)n;
}

static bool str_is(const struct ctx *c, uint64_t addr, const char *want)
{
	char s[32];
	return read_str(c, addr, s, sizeof(s)) >= 0 && !strcmp(s, want);
}

/* A non-negative int that fits 64 bits (a thread ident). */
static bool read_ulong(const struct ctx *c, uint64_t addr, uint64_t *v)
{
	uint64_t size;
	uint32_t digits[3];
	if (!rd64(c, addr + LONG_SIZE, &size))
		return false;
	uint64_t n = size;
	if (c->o->long_tag) { /* lv_tag: digits << 3 | sign (0 +, 1 zero, 2 -) */
		if ((size & 3) == 2)
			return false;
		n = size >> 3;
	} else if ((int64_t)size < 0) {
		return false;
	}
	if (n > 3 || (n && !rd(c, addr + LONG_DIGITS, digits, n * 4)))
		return false;
	*v = 0;
	for (uint64_t i = n; i-- > 0;)
		*v = *v << 30 | (digits[i] & 0x3fffffff);
	return true;
}

/* ---- dicts --------------------------------------------------------------- */

/* One key table: where its entries are and how they look. */
struct keys {
	uint64_t entries, n;
	unsigned entry_size, key_off, value_off;
};

static bool read_keys(const struct ctx *c, uint64_t addr, struct keys *k)
{
	uint8_t h[40];
	if (!rd(c, addr, h, sizeof(h)))
		return false;
	if (c->o->keys_311) {
		uint8_t log2_size = h[8], log2_index = h[9], kind = h[10];
		uint64_t n;
		memcpy(&n, h + 24, 8);
		if (log2_size > 30 || log2_index > 33 || kind > 2)
			return false;
		k->entries = addr + 32 + (1ull << log2_index);
		k->n = n <= (1ull << log2_size) ? n : MAX_ENTRIES + 1;
		/* General tables keep {hash, key, value}; str-keyed ones {key, value}. */
		k->entry_size = kind == 0 ? 24 : 16;
		k->key_off = kind == 0 ? 8 : 0;
		k->value_off = kind == 0 ? 16 : 8;
	} else {
		uint64_t size, n;
		memcpy(&size, h + 8, 8);
		memcpy(&n, h + 32, 8);
		if (!size || size > MAX_ENTRIES * 2ull || (size & (size - 1)))
			return false;
		unsigned width = size <= 0xff ? 1 : size <= 0xffff ? 2 : 4;
		k->entries = addr + 40 + size * width;
		k->n = n <= size ? n : MAX_ENTRIES + 1;
		k->entry_size = 24;
		k->key_off = 8;
		k->value_off = 16;
	}
	return k->n <= MAX_ENTRIES;
}

/* Calls fn(key, value) for every live entry (values from the split table
 * at values when it is not 0) until fn returns true. */
typedef bool (*entry_fn)(const struct ctx *c, uint64_t key, uint64_t value, void *arg);

static bool each_entry(const struct ctx *c, const struct keys *k, uint64_t values, entry_fn fn,
		       void *arg)
{
	uint8_t buf[64 * 24];
	uint64_t vals[64];
	unsigned per = 64; /* entries per read, whatever their size */
	for (uint64_t i = 0; i < k->n; i += per) {
		unsigned batch = k->n - i < per ? (unsigned)(k->n - i) : per;
		if (!rd(c, k->entries + i * k->entry_size, buf, (size_t)batch * k->entry_size))
			return false;
		if (values && !rd(c, values + i * 8, vals, (size_t)batch * 8))
			return false;
		for (unsigned j = 0; j < batch; j++) {
			uint64_t key, value;
			memcpy(&key, buf + j * k->entry_size + k->key_off, 8);
			memcpy(&value, buf + j * k->entry_size + k->value_off, 8);
			if (values)
				value = vals[j];
			if (key && value && fn(c, key, value, arg))
				return true;
		}
	}
	return false;
}

struct find {
	const char *name;
	uint64_t value;
};

static bool match(const struct ctx *c, uint64_t key, uint64_t value, void *arg)
{
	struct find *f = arg;
	if (!str_is(c, key, f->name))
		return false;
	f->value = value;
	return true;
}

/* d[name] for a str-keyed dict at addr (combined or split); 0 if absent. */
static uint64_t dict_get(const struct ctx *c, uint64_t addr, const char *name)
{
	uint64_t keys_addr, values;
	struct keys k;
	struct find f = {name, 0};
	if (!rd64(c, addr + DICT_KEYS, &keys_addr) || !rd64(c, addr + DICT_VALUES, &values) ||
	    !read_keys(c, keys_addr, &k))
		return 0;
	each_entry(c, &k, values ? values + c->o->values_hdr : 0, match, &f);
	return f.value;
}

/* An attribute kept in a split table: keys shared by the type. */
static uint64_t values_get(const struct ctx *c, uint64_t type, uint64_t values, const char *name)
{
	uint64_t keys_addr;
	struct keys k;
	struct find f = {name, 0};
	if (!rd64(c, type + c->o->cached_keys, &keys_addr) || !read_keys(c, keys_addr, &k))
		return 0;
	each_entry(c, &k, values + c->o->values_hdr, match, &f);
	return f.value;
}

/* obj.__dict__[name], wherever this version keeps instance attributes. */
static uint64_t attr_get(const struct ctx *c, uint64_t obj, const char *name)
{
	uint64_t type, flags, basicsize, dictoffset, slot;
	if (!rd64(c, obj + OB_TYPE, &type) || !rd64(c, type + TYPE_FLAGS, &flags) ||
	    !rd64(c, type + TYPE_BASICSIZE, &basicsize) ||
	    !rd64(c, type + TYPE_DICTOFFSET, &dictoffset))
		return 0;
	if (c->o->inst == INST_DICTOFFSET || !(flags & TPFLAGS_MANAGED_DICT)) {
		if ((int64_t)dictoffset <= 0 || dictoffset > 4096 || !rd64(c, obj + dictoffset, &slot))
			return 0;
		return slot ? dict_get(c, slot, name) : 0;
	}
	if (!rd64(c, obj - 24, &slot))
		return 0;
	switch (c->o->inst) {
	case INST_MANAGED_11:
		if (slot)
			return dict_get(c, slot, name);
		return rd64(c, obj - 32, &slot) && slot ? values_get(c, type, slot, name) : 0;
	case INST_MANAGED_12:
		if (slot & 1)
			return values_get(c, type, slot + 1, name);
		return slot ? dict_get(c, slot, name) : 0;
	default: { /* INST_INLINE */
		if (slot)
			return dict_get(c, slot, name);
		uint8_t valid;
		if (!(flags & TPFLAGS_INLINE_VALUES) || basicsize > 4096 ||
		    !rd(c, obj + basicsize + 3, &valid, 1) || !valid)
			return 0;
		return values_get(c, type, obj + basicsize, name);
	}
	}
}

/* ---- threading._active ---------------------------------------------------- */

struct visit {
	gt_cpy_want_fn want;
	gt_cpy_name_fn fn;
	void *ctx;
	int found;
};

static bool one_thread(const struct ctx *c, uint64_t key, uint64_t thread, void *arg)
{
	struct visit *v = arg;
	uint64_t ident, name_obj;
	char name[GT_CPY_NAME_MAX];
	if (read_ulong(c, key, &ident) && (!v->want || v->want(v->ctx, ident)) &&
	    (name_obj = attr_get(c, thread, "_name")) &&
	    read_str(c, name_obj, name, sizeof(name)) > 0) {
		v->fn(v->ctx, ident, name);
		v->found++;
	}
	return false;
}

static uint64_t find_active(const struct ctx *c, struct gt_cpy_names *st)
{
	uint64_t modules, type, threading, md;
	if (!rd64(c, st->modules_slot, &modules) || !rd64(c, modules + OB_TYPE, &type))
		return 0;
	if (!(threading = dict_get(c, modules, "threading")) || !rd64(c, threading + MODULE_DICT, &md))
		return 0;
	uint64_t active = md ? dict_get(c, md, "_active") : 0, t;
	if (!active || !rd64(c, active + OB_TYPE, &t) || t != type)
		return 0;
	st->dict_type = type;
	return active;
}

int gt_cpy_thread_names(struct gt_cpy_names *st, const struct gt_cpy_mem *m, gt_cpy_want_fn want,
			gt_cpy_name_fn fn, void *ctx)
{
	struct ctx c = {m, row_for(st->minor)};
	if (!c.o || !st->modules_slot)
		return -1;
	uint64_t type;
	/* threading._active is never replaced, only changed in place: found
	 * once, it only needs to still be a dict. */
	if (st->active && (!rd64(&c, st->active + OB_TYPE, &type) || type != st->dict_type))
		st->active = 0;
	if (!st->active && !(st->active = find_active(&c, st)))
		return 0;
	uint64_t keys_addr, values;
	struct keys k;
	if (!rd64(&c, st->active + DICT_KEYS, &keys_addr) ||
	    !rd64(&c, st->active + DICT_VALUES, &values) || values || !read_keys(&c, keys_addr, &k))
		return -1;
	struct visit v = {want, fn, ctx, 0};
	each_entry(&c, &k, 0, one_thread, &v);
	return v.found;
}
