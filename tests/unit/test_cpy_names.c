/* SPDX-License-Identifier: MIT */
/*
 * test_cpy_names.c — thread names (model/gt_cpy_names.h) from fake heaps.
 *
 * For each way CPython has kept objects (3.10: old dict keys and an instance
 * dict at tp_dictoffset; 3.11: values before the object; 3.12: a tagged
 * pointer; 3.13+: inline values), a heap is built object by object:
 * sys.modules -> threading -> _active -> Thread -> _name, with str keys of
 * each kind and idents of one, two and three digits. Then what must not
 * work: threading not imported, a Thread without a name, a corrupted heap
 * and random bytes (no name, no crash: run under ASan too), and the filter.
 * Real interpreters are checked by tests/integration/test_names.py.
 */
#include <stdlib.h>
#include <string.h>

#include "gt_cpy_names.h"
#include "unittest.h"

/* One region of fake memory at BASE; objects are allocated upwards. */
#define BASE 0x100000ull
#define SIZE (1u << 16)
static unsigned char heap[SIZE];
static uint64_t top;
static int minor;

static int fake_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	(void)ctx;
	if (addr < BASE || addr + len > BASE + SIZE || addr + len < addr)
		return -1;
	memcpy(buf, heap + (addr - BASE), len);
	return 0;
}
static const struct gt_cpy_mem mem = {fake_read, 0};

static uint64_t alloc(size_t n)
{
	uint64_t a = top;
	top += (n + 15) & ~(size_t)15;
	if (top > BASE + SIZE)
		abort();
	return a;
}
static void put64(uint64_t addr, uint64_t v) { memcpy(heap + (addr - BASE), &v, 8); }
static void put(uint64_t addr, const void *p, size_t n) { memcpy(heap + (addr - BASE), p, n); }

static int new_layout(void) { return minor >= 12; } /* str and int headers */

/* A compact str: ASCII, or kind 2 (UCS-2) for anything else given here as
 * code points. */
static uint64_t str_obj(const char *ascii)
{
	size_t n = strlen(ascii), hdr = new_layout() ? 40 : 48;
	uint64_t o = alloc(hdr + n + 1);
	put64(o + 16, n);
	uint32_t state = 1u << 2 | 1u << 5 | 1u << 6; /* kind 1, compact, ascii */
	put(o + 32, &state, 4);
	put(o + hdr, ascii, n + 1);
	return o;
}

static uint64_t ucs2_obj(const uint16_t *cp, size_t n)
{
	size_t hdr = new_layout() ? 56 : 72;
	uint64_t o = alloc(hdr + 2 * n + 2);
	put64(o + 16, n);
	uint32_t state = 2u << 2 | 1u << 5; /* kind 2, compact */
	put(o + 32, &state, 4);
	put(o + hdr, cp, 2 * n);
	return o;
}

static uint64_t int_obj(uint64_t v)
{
	uint32_t d[3];
	unsigned n = 0;
	for (uint64_t x = v; x; x >>= 30)
		d[n++] = (uint32_t)(x & 0x3fffffff);
	uint64_t o = alloc(24 + 12);
	put64(o + 16, new_layout() ? (uint64_t)n << 3 | (n ? 0 : 1) : n);
	put(o + 24, d, 4 * n);
	return o;
}

/* A dict's keys: n entries, str-keyed (kind 1) or general (kind 0). */
static uint64_t keys_obj(const uint64_t *k, const uint64_t *v, unsigned n, int general)
{
	unsigned size = 8;
	while (size < n * 2)
		size *= 2;
	if (minor <= 10) {
		uint64_t o = alloc(40 + size + 24 * n);
		put64(o + 8, size);
		put64(o + 32, n);
		for (unsigned i = 0; i < n; i++) {
			put64(o + 40 + size + 24 * i + 8, k[i]);
			put64(o + 40 + size + 24 * i + 16, v ? v[i] : 0);
		}
		return o;
	}
	unsigned log2 = 0, es = general ? 24 : 16;
	while ((1u << log2) < size)
		log2++;
	uint64_t o = alloc(32 + size + es * n);
	heap[o - BASE + 8] = (unsigned char)log2;
	heap[o - BASE + 9] = (unsigned char)log2; /* one byte per index */
	heap[o - BASE + 10] = general ? 0 : (v ? 1 : 2);
	put64(o + 24, n);
	for (unsigned i = 0; i < n; i++) {
		put64(o + 32 + size + es * i + (general ? 8 : 0), k[i]);
		put64(o + 32 + size + es * i + (general ? 16 : 8), v ? v[i] : 0);
	}
	return o;
}

static uint64_t dict_type;

static uint64_t dict_obj(const uint64_t *k, const uint64_t *v, unsigned n, int general)
{
	uint64_t d = alloc(48);
	put64(d + 8, dict_type);
	put64(d + 32, keys_obj(k, v, n, general));
	return d;
}

/* A Thread, with its attributes where this version keeps them. */
static uint64_t thread_obj(const uint64_t *k, const uint64_t *v, unsigned n)
{
	uint64_t type = alloc(1024);
	uint64_t flags = minor >= 11 ? 1u << 4 : 0;
	if (minor >= 13)
		flags |= 1u << 2;
	put64(type + 168, flags);
	put64(type + 32, 16);
	if (minor <= 10) {
		put64(type + 288, 16);
		uint64_t o = alloc(24);
		put64(o + 8, type);
		put64(o + 16, dict_obj(k, v, n, 0));
		return o;
	}
	put64(type + 288, (uint64_t)-1);
	put64(type + (minor == 11 ? 872 : minor >= 15 ? 888 : 880), keys_obj(k, NULL, n, 0));
	/* The pre-header: 3.11 values at -32, dict (or 3.12's tagged values)
	 * at -24; 3.13+ inline values after the 16-byte object. */
	uint64_t values = minor <= 12 ? alloc(8 * n + 8) : 0;
	uint64_t pre = alloc(32), o = alloc(minor <= 12 ? 16 : 16 + 8 + 8 * n);
	if (minor == 11)
		put64(pre, values);
	else if (minor == 12)
		put64(pre + 8, values - 1); /* tagged */
	if (minor >= 13) {
		values = o + 16;
		heap[values - BASE + 3] = 1; /* valid */
	}
	put64(o + 8, type);
	for (unsigned i = 0; i < n; i++)
		put64(values + (minor >= 13 ? 8 : 0) + 8 * i, v[i]);
	return o;
}

struct seen {
	int n;
	uint64_t ident[4];
	char name[4][GT_CPY_NAME_MAX];
};

static void on_name(void *ctx, uint64_t ident, const char *name)
{
	struct seen *s = ctx;
	if (s->n < 4) {
		s->ident[s->n] = ident;
		snprintf(s->name[s->n], sizeof(s->name[0]), "%s", name);
	}
	s->n++;
}

static int want_second(void *ctx, uint64_t ident)
{
	(void)ctx;
	return ident == 0x7f0012345678ull;
}

/* Builds the heap for this minor; returns &interp->modules. */
static uint64_t build(int with_threading, int named)
{
	memset(heap, 0, sizeof(heap));
	top = BASE + 16;
	dict_type = alloc(16);
	uint64_t attr_k[3] = {str_obj("_target"), str_obj("_name"), str_obj("_daemonic")};
	static const uint16_t wide[] = {'w', 0xfc, ' ', 0x540d};
	uint64_t t1v[3] = {str_obj("f"), str_obj("MainThread"), str_obj("x")};
	uint64_t t2v[3] = {str_obj("f"), ucs2_obj(wide, 4), str_obj("x")};
	uint64_t t1 = thread_obj(attr_k, t1v, named ? 3 : 1);
	uint64_t t2 = thread_obj(attr_k, t2v, 3);
	uint64_t act_k[2] = {int_obj(42), int_obj(0x7f0012345678ull)};
	uint64_t act_v[2] = {t1, t2};
	uint64_t active = dict_obj(act_k, act_v, 2, 1);
	uint64_t md_k[2] = {str_obj("__name__"), str_obj("_active")};
	uint64_t md_v[2] = {str_obj("threading"), active};
	uint64_t module = alloc(24);
	put64(module + 16, dict_obj(md_k, md_v, 2, 0));
	uint64_t mod_k[2] = {str_obj("sys"), str_obj(with_threading ? "threading" : "thread")};
	uint64_t mod_v[2] = {alloc(16), module};
	uint64_t slot = alloc(8);
	put64(slot, dict_obj(mod_k, mod_v, 2, 0));
	return slot;
}

static void one_version(int m)
{
	minor = m;
	int failures = unittest_failures;
	struct gt_cpy_names st = {.minor = m, .modules_slot = build(1, 1)};
	struct seen s = {0};
	CHECK_U64(gt_cpy_thread_names(&st, &mem, NULL, on_name, &s), 2);
	CHECK_U64(s.ident[0], 42);
	CHECK_STR(s.name[0], "MainThread");
	CHECK_U64(s.ident[1], 0x7f0012345678ull);
	CHECK_STR(s.name[1], "w\xc3\xbc \xe5\x90\x8d");
	CHECK(st.active != 0);

	/* Found once, _active is not searched for again; the filter asks for
	 * one thread only. */
	struct seen f = {0};
	CHECK_U64(gt_cpy_thread_names(&st, &mem, want_second, on_name, &f), 1);
	CHECK_STR(f.name[0], "w\xc3\xbc \xe5\x90\x8d");

	/* A Thread whose _name is not (yet) there: no name for it. */
	st = (struct gt_cpy_names){.minor = m, .modules_slot = build(1, 0)};
	s = (struct seen){0};
	CHECK_U64(gt_cpy_thread_names(&st, &mem, NULL, on_name, &s), 1);
	CHECK_U64(s.ident[0], 0x7f0012345678ull);

	/* threading not imported: nothing, and not an error. */
	st = (struct gt_cpy_names){.minor = m, .modules_slot = build(0, 1)};
	CHECK_U64(gt_cpy_thread_names(&st, &mem, NULL, on_name, &s), 0);
	CHECK(!st.active);

	/* _active no longer a dict (freed, reused): forgotten, searched again. */
	st = (struct gt_cpy_names){.minor = m, .modules_slot = build(1, 1)};
	s = (struct seen){0};
	gt_cpy_thread_names(&st, &mem, NULL, on_name, &s);
	uint64_t active = st.active;
	put64(active + 8, 0xdead);
	s = (struct seen){0};
	CHECK_U64(gt_cpy_thread_names(&st, &mem, NULL, on_name, &s), 0);
	CHECK(!st.active);
	put64(active + 8, dict_type);
	if (unittest_failures != failures)
		fprintf(stderr, "(the failures above are 3.%d's)\n", m);

	/* Every byte of the heap garbled in turn, then random heaps: whatever
	 * comes back, no crash, no read outside the reads' buffers (ASan). */
	for (uint64_t a = BASE; a < top; a += 8) {
		uint64_t slot = build(1, 1), old;
		memcpy(&old, heap + (a - BASE), 8);
		put64(a, old ^ 0x5a5a5a5a5a5a5a5aull);
		st = (struct gt_cpy_names){.minor = m, .modules_slot = slot};
		s = (struct seen){0};
		gt_cpy_thread_names(&st, &mem, NULL, on_name, &s);
	}
	srand(1234);
	for (int r = 0; r < 200; r++) {
		for (size_t i = 0; i < sizeof(heap); i++)
			heap[i] = (unsigned char)rand();
		st = (struct gt_cpy_names){.minor = m, .modules_slot = BASE + 8 * (uint64_t)(rand() % 64)};
		gt_cpy_thread_names(&st, &mem, NULL, on_name, &s);
	}
}

int main(void)
{
	for (int m = 6; m <= 15; m++)
		CHECK(gt_cpy_names_supported(m));
	CHECK(!gt_cpy_names_supported(5));
	CHECK(!gt_cpy_names_supported(16));
	CHECK_U64(gt_cpy_interp_modules(6), 16);
	CHECK_U64(gt_cpy_interp_modules(12), 944);
	CHECK(gt_cpy_interp_modules(13) < 0); /* _Py_DebugOffsets says */
	static const int versions[] = {6, 10, 11, 12, 13, 15};
	for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++)
		one_version(versions[i]);
	return unittest_result("test_cpy_names");
}
