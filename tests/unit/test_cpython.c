/* SPDX-License-Identifier: MIT */
/*
 * test_cpython.c — the layout module (model/gt_cpython.h) against fake
 * address spaces: a _PyRuntime, interpreters and GIL structs laid out at the
 * offsets tools/layouts/measure.py measured, read only through the module's
 * read_mem callback. Checks what it confirms, what it flags as a mismatch,
 * and that unreadable, foreign or implausible memory gives no layout and no
 * crash. The real interpreters are checked by test_interp (every GIL of
 * every interpreter of the matrix confirmed, none mismatched).
 */
#include <stdlib.h>
#include <string.h>

#include "gt_cpython.h"
#include "unittest.h"

/* A sparse address space of a few zero-filled regions. */
struct region {
	uint64_t addr;
	size_t len;
	unsigned char *bytes;
};
static struct region space[8];
static int nspace;
static int reads_failed;

static int fake_read(void *ctx, uint64_t addr, void *buf, size_t len)
{
	(void)ctx;
	for (int i = 0; i < nspace; i++) {
		struct region *r = &space[i];
		if (addr >= r->addr && addr + len <= r->addr + r->len) {
			memcpy(buf, r->bytes + (addr - r->addr), len);
			return 0;
		}
	}
	reads_failed++;
	return -1;
}
static const struct gt_cpy_mem mem = {fake_read, 0};

static void reset(void)
{
	for (int i = 0; i < nspace; i++)
		free(space[i].bytes);
	nspace = 0;
	reads_failed = 0;
}

static void map(uint64_t addr, size_t len)
{
	space[nspace++] = (struct region){addr, len, calloc(1, len)};
}

static void *at(uint64_t addr)
{
	for (int i = 0; i < nspace; i++)
		if (addr >= space[i].addr && addr < space[i].addr + space[i].len)
			return space[i].bytes + (addr - space[i].addr);
	abort();
}

static void put64(uint64_t addr, uint64_t v)
{
	memcpy(at(addr), &v, 8);
}

/* A GIL struct at base, as create_gil leaves it before its last store. */
static void put_gil(uint64_t base, unsigned long interval, int locked)
{
	struct gt_cpy_gil_mirror *g = at(base);
	g->interval = interval;
	g->locked = locked;
}

static void identify(const struct gt_cpy_build *b, const struct gt_cpy_layout *l, uint64_t base,
		     struct gt_cpy_gil *g)
{
	gt_cpy_identify(&mem, b, l, base + 32, base + 80, base + 120, base + 168, g);
}

#define RT 0x100000ull
#define HEAP 0x800000ull

/* 3.7-3.11: the one GIL inside _PyRuntime, row found by the symbol's size. */
static void runtime_gil(void)
{
	reset();
	map(RT, 166688);
	map(HEAP, 4096);
	struct gt_cpy_build b = {.major = 3, .minor = 11, .runtime = RT, .runtime_size = 166688};
	struct gt_cpy_layout l;
	CHECK(gt_cpy_layout_find(&mem, &b, &l) == 0);
	CHECK_STR(l.source, "table");
	put_gil(RT + 360, 5000, -1);
	struct gt_cpy_gil g;
	identify(&b, &l, RT + 360, &g);
	CHECK_U64(g.method, GT_ID_STRUCT | GT_ID_RUNTIME);
	CHECK_U64(g.base, RT + 360);
	CHECK_U64(g.interp_id, 0);
	CHECK_U64(g.interval_us, 5000);

	/* A GIL-shaped struct elsewhere: the observation stands, flagged,
	 * and it is not said to be the main interpreter's. */
	put_gil(HEAP, 5000, 1);
	identify(&b, &l, HEAP, &g);
	CHECK_U64(g.method, GT_ID_STRUCT | GT_ID_MISMATCH);
	CHECK_U64(g.interp_id, -1);
	/* The objects are not where the struct puts them: not a GIL struct. */
	gt_cpy_identify(&mem, &b, &l, RT + 392, RT + 360 + 88, 0, 0, &g);
	CHECK_U64(g.method, 0);
	CHECK_U64(g.base, 0);
	/* The live object is not a GIL (locked is -1, 0 or 1). */
	put_gil(RT + 360, 5000, 7);
	identify(&b, &l, RT + 360, &g);
	CHECK_U64(g.method, 0);
	/* Unreadable: nothing confirmed, and the read was refused (no crash). */
	identify(&b, &l, 0x40000000, &g);
	CHECK_U64(g.method, 0);
	CHECK(reads_failed > 0);
	/* An interval past 2^32 µs (sys.setswitchinterval(5000)) saturates. */
	put_gil(RT + 360, 5000000000ul, 0);
	identify(&b, &l, RT + 360, &g);
	CHECK_U64(g.interval_us, UINT32_MAX);

	/* Another configuration (pydebug's runtime is larger): no row, and
	 * the struct alone still confirms what it can. */
	b.runtime_size = 170000;
	CHECK(gt_cpy_layout_find(&mem, &b, &l) == -1);
	put_gil(RT + 360, 5000, 0);
	identify(&b, NULL, RT + 360, &g);
	CHECK_U64(g.method, GT_ID_STRUCT);
	CHECK_U64(g.interp_id, -1);
	/* 3.6 has no GIL struct; 3.16 no row yet, but its GIL struct is
	 * still recognised; a free-threaded build has no GIL to find. */
	b = (struct gt_cpy_build){.major = 3, .minor = 6, .runtime = RT, .runtime_size = 166688};
	identify(&b, NULL, RT + 360, &g);
	CHECK_U64(g.method, 0);
	b.minor = 16;
	CHECK(gt_cpy_layout_find(&mem, &b, &l) == -1);
	identify(&b, NULL, RT + 360, &g);
	CHECK_U64(g.method, GT_ID_STRUCT);
	b.free_threaded = 1;
	identify(&b, NULL, RT + 360, &g);
	CHECK_U64(g.method, 0);
}

/* 3.12: each interpreter embeds its GIL; ceval.gil says which it uses. */
static void interp_gil_312(void)
{
	reset();
	map(RT, 459944);
	map(HEAP, 8192);
	struct gt_cpy_build b = {.major = 3, .minor = 12, .runtime = RT, .runtime_size = 459944};
	struct gt_cpy_layout l;
	CHECK(gt_cpy_layout_find(&mem, &b, &l) == 0);
	uint64_t main_interp = RT + 76392, base = main_interp + 1040;
	put_gil(base, 5000, -1);
	put64(main_interp + 8, 0);
	put64(main_interp + 384, base);
	struct gt_cpy_gil g;
	identify(&b, &l, base, &g);
	CHECK_U64(g.method, GT_ID_STRUCT | GT_ID_RUNTIME);
	CHECK_U64(g.interp, main_interp);
	CHECK_U64(g.interp_id, 0);
	CHECK_U64(gt_cpy_check_interp(&mem, &l, &g), GT_ID_INTERP);
	/* Its list of interpreters: interpreters.head at 40, next first. */
	struct gt_cpy_walk w;
	CHECK(gt_cpy_walk_of(&b, &l, &w) == 0);
	CHECK_U64(w.head, RT + 40);
	CHECK_U64(w.next, 0);
	put64(RT + 40, main_interp);
	struct gt_cpy_interp one;
	CHECK(gt_cpy_interps(&mem, &w, &one, 1) == 1);
	CHECK_U64(one.id, 0);
	CHECK_U64(one.gil, base);

	/* A subinterpreter with its own GIL, on the heap. */
	uint64_t sub = HEAP, sub_base = sub + 1040;
	put_gil(sub_base, 1000, -1);
	put64(sub + 8, 3);
	put64(sub + 384, sub_base);
	identify(&b, &l, sub_base, &g);
	CHECK_U64(g.method, GT_ID_STRUCT);
	CHECK_U64(g.interp_id, 3);
	CHECK_U64(g.interval_us, 1000);
	CHECK_U64(gt_cpy_check_interp(&mem, &l, &g), GT_ID_INTERP);
	/* ... that uses the main GIL after all. */
	put64(sub + 384, base);
	CHECK_U64(gt_cpy_check_interp(&mem, &l, &g), GT_ID_MISMATCH);
	/* A heap interpreter must have an id above 0 ... */
	put64(sub + 8, 0);
	identify(&b, &l, sub_base, &g);
	CHECK_U64(g.method, GT_ID_STRUCT | GT_ID_MISMATCH);
	/* ... and the main one must have id 0. */
	put64(main_interp + 8, 2);
	identify(&b, &l, base, &g);
	CHECK_U64(g.method, GT_ID_STRUCT | GT_ID_MISMATCH);
}

/* 3.13+: _Py_DebugOffsets at the start of _PyRuntime; where its fields sit
 * per minor version (measured). */
struct dbg {
	int minor;
	unsigned interp_ceval_gil, interp_gil, interp_gil_locked;
};
#define ISIZE 12000 /* sizeof(PyInterpreterState), as the fake says it */

static void write_debug_offsets(const struct dbg *d, uint64_t size, uint64_t head, int ft)
{
	memcpy(at(RT), "xdebugpy", 8);
	put64(RT + 8, 3ull << 24 | (uint64_t)d->minor << 16 | 2 << 8 | 0xf0);
	put64(RT + 16, (uint64_t)ft);
	put64(RT + 24, size);
	put64(RT + 40, head);
	put64(RT + 48, ISIZE);                        /* interpreter_state.size */
	put64(RT + 56, 7272);                        /* interpreter_state.id */
	put64(RT + d->interp_ceval_gil, 16);          /* .ceval_gil */
	put64(RT + d->interp_gil, 7752);              /* .gil_runtime_state */
	put64(RT + d->interp_gil_locked, 7752 + 16); /* .gil_runtime_state_locked */
}

static void debug_offsets(const struct dbg *d)
{
	reset();
	const uint64_t size = 300000, head = 632;
	map(RT, size);
	map(HEAP, 16384);
	write_debug_offsets(d, size, head, 0);
	uint64_t main_interp = HEAP, base = main_interp + 7752;
	put64(RT + head + 8, main_interp); /* interpreters.main */
	put64(main_interp + 7272, 0);
	put64(main_interp + 16, base);
	put_gil(base, 5000, -1);

	struct gt_cpy_build b = {.major = 3, .minor = d->minor, .runtime = RT, .runtime_size = size};
	struct gt_cpy_layout l;
	CHECK(gt_cpy_layout_find(&mem, &b, &l) == 0);
	CHECK_STR(l.source, "_Py_DebugOffsets");
	CHECK_U64(l.interp_gil, 7752);
	CHECK(l.mirror_fits);
	CHECK(!l.free_threaded);
	struct gt_cpy_gil g;
	identify(&b, &l, base, &g);
	CHECK_U64(g.method, GT_ID_STRUCT | GT_ID_DEBUG_OFFSETS);
	CHECK_U64(g.interp_id, 0);
	CHECK_U64(gt_cpy_check_interp(&mem, &l, &g), GT_ID_INTERP);

	/* A subinterpreter with its own GIL, on the heap. */
	const uint64_t sub = 0x900000, sub_base = sub + 7752;
	map(sub, ISIZE);
	put64(sub + 7272, 4);
	put64(sub + 16, sub_base);
	put_gil(sub_base, 5000, -1);
	identify(&b, &l, sub_base, &g);
	CHECK_U64(g.method, GT_ID_STRUCT);
	CHECK_U64(g.interp_id, 4);
	CHECK_U64(gt_cpy_check_interp(&mem, &l, &g), GT_ID_INTERP);
	/* The list of interpreters, newest first: sub (its own GIL), a
	 * legacy subinterpreter (id 3, sharing the main GIL), main. */
	put64(RT + 64, 7264); /* interpreter_state.next */
	CHECK(gt_cpy_layout_find(&mem, &b, &l) == 0);
	struct gt_cpy_walk w;
	CHECK(gt_cpy_walk_of(&b, &l, &w) == 0);
	CHECK_U64(w.head, RT + head);
	CHECK_U64(w.next, 7264);
	const uint64_t legacy = 0x980000;
	map(legacy, ISIZE);
	put64(legacy + 7272, 3);
	put64(legacy + 16, base);
	put64(RT + head, sub);
	put64(sub + 7264, legacy);
	put64(legacy + 7264, main_interp);
	struct gt_cpy_interp list[3];
	CHECK(gt_cpy_interps(&mem, &w, list, 3) == 3);
	CHECK_U64(list[0].id, 4);
	CHECK_U64(list[0].gil, sub_base);
	CHECK_U64(list[1].id, 3);
	CHECK_U64(list[1].gil, base);
	CHECK_U64(list[2].id, 0);
	CHECK_U64(list[2].addr, main_interp);
	CHECK_U64(list[2].gil, base);
	CHECK_U64(w.gil, 7752);
	CHECK(gt_cpy_interps(&mem, &w, list, 1) == 3); /* counted, one stored */
	CHECK_U64(list[0].id, 4);
	/* A list rewritten under the reader (a cycle), a next pointer into
	 * nothing, no head: no list. */
	put64(main_interp + 7264, sub);
	CHECK(gt_cpy_interps(&mem, &w, list, 3) == -1);
	CHECK(gt_cpy_interps(&mem, &w, NULL, 0) == -1); /* also with no room */
	put64(main_interp + 7264, 0x40000000);
	CHECK(gt_cpy_interps(&mem, &w, list, 3) == -1);
	put64(main_interp + 7264, 0);
	CHECK(gt_cpy_walk_of(&b, NULL, &w) == -1);
	CHECK_U64(w.head, 0);
	CHECK(gt_cpy_interps(&mem, &w, list, 3) == -1);
	/* interpreters.main unreadable: the main GIL is not confirmed. */
	put64(RT + head + 8, 0x40000000);
	identify(&b, &l, base, &g);
	CHECK_U64(g.method, GT_ID_STRUCT | GT_ID_MISMATCH);
	put64(RT + head + 8, main_interp);
	/* Offsets that would read past the interpreter's struct. */
	put64(RT + 48, 7752 + 100);
	CHECK(gt_cpy_layout_find(&mem, &b, &l) == -1);
	put64(RT + 48, ISIZE);

	/* The symbol's size unknown: still trusted (the version matches). */
	b.runtime_size = 0;
	CHECK(gt_cpy_layout_find(&mem, &b, &l) == 0);
	/* ... but a size that disagrees means another struct. */
	b.runtime_size = size + 8;
	CHECK(gt_cpy_layout_find(&mem, &b, &l) == -1);
	b.runtime_size = size;
	/* Another minor's table. */
	b.minor = d->minor == 13 ? 14 : 13;
	CHECK(gt_cpy_layout_find(&mem, &b, &l) == -1);
	b.minor = d->minor;
	/* The interpreter says `locked` is elsewhere (after the GIL's start,
	 * or before it): the mirror is wrong for it, so the struct is not
	 * confirmed. */
	put64(RT + d->interp_gil_locked, 7752 + 24);
	CHECK(gt_cpy_layout_find(&mem, &b, &l) == 0);
	CHECK(!l.mirror_fits);
	identify(&b, &l, base, &g);
	CHECK_U64(g.method, 0);
	put64(RT + d->interp_gil_locked, 7752 - 8);
	CHECK(gt_cpy_layout_find(&mem, &b, &l) == 0);
	identify(&b, &l, base, &g);
	CHECK_U64(g.method, 0);
	/* A free-threaded build: known as such, and no GIL struct to find. */
	write_debug_offsets(d, size, head, 1);
	CHECK(gt_cpy_layout_find(&mem, &b, &l) == 0);
	CHECK(l.free_threaded);
	identify(&b, &l, base, &g);
	CHECK_U64(g.method, 0);
	/* No cookie, or nothing readable there. */
	memcpy(at(RT), "ydebugpy", 8);
	CHECK(gt_cpy_layout_find(&mem, &b, &l) == -1);
	b.runtime = 0x40000000;
	CHECK(gt_cpy_layout_find(&mem, &b, &l) == -1);
}

static void read_self(void)
{
	uint64_t v = 0x1122334455667788ull, out = 0;
	CHECK(gt_cpy_read_self(NULL, (uint64_t)(uintptr_t)&v, &out, sizeof(out)) == 0);
	CHECK_U64(out, v);
	CHECK(gt_cpy_read_self(NULL, 0, &out, sizeof(out)) == -1);
}

int main(void)
{
	runtime_gil();
	interp_gil_312();
	static const struct dbg dbgs[] = {{13, 112, 120, 136}, {14, 120, 128, 144},
					  {15, 120, 128, 144}};
	for (size_t i = 0; i < sizeof(dbgs) / sizeof(dbgs[0]); i++)
		debug_offsets(&dbgs[i]);
	read_self();
	reset();
	return unittest_result("test_cpython");
}
