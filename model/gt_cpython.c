/* SPDX-License-Identifier: MIT */
/*
 * gt_cpython.c — the per-version layout rows and the code that applies them
 * to a live interpreter through read_mem (see gt_cpython.h).
 *
 * Every number here was measured by tools/layouts/measure.py from each
 * interpreter's own headers and binary; docs/cpython-layouts.md keeps the
 * measurements. A row is used only when the build matches it exactly (the
 * size of _PyRuntime for 3.7-3.12, the interpreter's own _Py_DebugOffsets
 * for 3.13+), so a configuration nobody measured (pydebug, a patched
 * vendor build) falls back to behavioural identification instead of
 * reading the wrong memory.
 */
#include "gt_cpython.h"

#include <string.h>

/* The mirror must be CPython's struct: these are the offsets measure.py
 * printed for every version from 3.7 to 3.15 on x86-64 glibc (other ABIs
 * size the pthread types differently; the mirror follows them, but nothing
 * was measured there). */
#if defined(__x86_64__) && defined(__GLIBC__)
_Static_assert(offsetof(struct gt_cpy_gil_mirror, locked) == 16, "gil.locked");
_Static_assert(GT_CPY_GIL_COND == 32, "gil.cond");
_Static_assert(GT_CPY_GIL_MUTEX == 80, "gil.mutex");
_Static_assert(GT_CPY_GIL_SWITCH_COND == 120, "gil.switch_cond");
_Static_assert(GT_CPY_GIL_SWITCH_MUTEX == 168, "gil.switch_mutex");
_Static_assert(sizeof(struct gt_cpy_gil_mirror) == 208, "gil.size");
#endif

/* 3.7-3.12: offsets inside _PyRuntimeState and PyInterpreterState, keyed
 * by sizeof(_PyRuntimeState). Both pyenv's builds and Debian's stripped
 * 3.11.2 measure the same for their minor version. */
#define ROW(m, size, rt_gil, main, i_gil, i_id, i_ceval_gil, head, next)                 \
	{.minor = m, .runtime_size = size, .runtime_gil = rt_gil, .main_interp = main,     \
	 .main_interp_ptr = -1, .interp_gil = i_gil, .interp_id = i_id,                    \
	 .interp_ceval_gil = i_ceval_gil, .interp_modules = -1, .interps_head = head,      \
	 .interp_next = next, .mirror_fits = 1, .confirms = GT_ID_RUNTIME, .source = "table"}
static const struct gt_cpy_layout rows[] = {
	/* minor, sizeof(_PyRuntimeState), _PyRuntime.ceval.gil,
	 * ._main_interpreter, PyInterpreterState._gil, .id, .ceval.gil,
	 * _PyRuntime.interpreters.head, PyInterpreterState.next */
	ROW(7, 1520, 1264, -1, -1, -1, -1, -1, -1),
	ROW(8, 1464, 1152, -1, -1, -1, -1, -1, -1),
	ROW(9, 656, 352, -1, -1, -1, -1, -1, -1),
	ROW(10, 672, 352, -1, -1, -1, -1, -1, -1),
	ROW(11, 166688, 360, 58936, -1, -1, -1, -1, -1),
	ROW(12, 459944, -1, 76392, 1040, 8, 384, 40, 0),
};
#undef ROW

/* 3.13+: _PyRuntime starts with _Py_DebugOffsets, the interpreter's own
 * description of its structs. Only where each field sits inside that
 * struct is per minor version (it grows between versions). */
struct debug_row {
	int minor;
	unsigned version, free_threaded, runtime_size, interpreters_head;
	unsigned interp_size, interp_id, interp_ceval_gil, interp_gil, interp_gil_locked;
	unsigned main_after_head; /* interpreters.main - interpreters.head */
	unsigned interp_modules, interp_next;
};
static const struct debug_row debug_rows[] = {
	{13, 8, 16, 24, 40, 48, 56, 112, 120, 136, 8, 88, 64},
	{14, 8, 16, 24, 40, 48, 56, 120, 128, 144, 8, 96, 64},
	{15, 8, 16, 24, 40, 48, 56, 120, 128, 144, 8, 96, 64},
};

int gt_cpy_read_self(void *ctx, uint64_t addr, void *buf, size_t len)
{
	(void)ctx;
	if (!addr)
		return -1;
	memcpy(buf, (const void *)(uintptr_t)addr, len);
	return 0;
}

static int rd64(const struct gt_cpy_mem *m, uint64_t addr, uint64_t *v)
{
	return m->read(m->ctx, addr, v, sizeof(*v));
}

static int from_debug_offsets(const struct gt_cpy_mem *m, const struct gt_cpy_build *b,
			      const struct debug_row *d, struct gt_cpy_layout *l)
{
	char cookie[8];
	uint64_t ver, ft, size, head, isize, id, ceval_gil, gil, locked, modules, next;
	uint64_t rt = b->runtime;
	if (m->read(m->ctx, rt, cookie, sizeof(cookie)) || memcmp(cookie, "xdebugpy", 8))
		return -1;
	if (rd64(m, rt + d->version, &ver) || rd64(m, rt + d->free_threaded, &ft) ||
	    rd64(m, rt + d->runtime_size, &size) || rd64(m, rt + d->interpreters_head, &head) ||
	    rd64(m, rt + d->interp_size, &isize) || rd64(m, rt + d->interp_id, &id) ||
	    rd64(m, rt + d->interp_ceval_gil, &ceval_gil) || rd64(m, rt + d->interp_gil, &gil) ||
	    rd64(m, rt + d->interp_gil_locked, &locked) || rd64(m, rt + d->interp_modules, &modules) ||
	    rd64(m, rt + d->interp_next, &next))
		return -1;
	/* Another minor version's table read with this row would give
	 * nonsense: the version field must say this minor, and the runtime's
	 * size must be the symbol's (when the symbol's size is known). */
	if ((ver >> 24) != 3 || ((ver >> 16) & 0xff) != (uint64_t)b->minor)
		return -1;
	if (b->runtime_size && size != b->runtime_size)
		return -1;
	/* Every field read later must lie inside its struct: the in-process
	 * reader copies without asking the kernel. */
	const uint64_t sane = 1u << 20; /* structs of < 1 MB */
	if (head + 16 > size || isize > sane || id + 8 > isize || ceval_gil + 8 > isize ||
	    gil + sizeof(struct gt_cpy_gil_mirror) > isize)
		return -1;
	*l = (struct gt_cpy_layout){
		.minor = b->minor,
		.runtime_size = size,
		.runtime_gil = -1,
		.main_interp = -1,
		.main_interp_ptr = (int64_t)(head + d->main_after_head),
		.interp_gil = (int64_t)gil,
		.interp_id = (int64_t)id,
		.interp_ceval_gil = (int64_t)ceval_gil,
		.interp_modules = modules + 8 <= isize ? (int64_t)modules : -1,
		.interps_head = (int64_t)head,
		.interp_next = next + 8 <= isize ? (int64_t)next : -1,
		/* The interpreter's word on where `locked` is. */
		.mirror_fits = locked >= gil &&
			       locked - gil == offsetof(struct gt_cpy_gil_mirror, locked),
		.free_threaded = ft != 0,
		.confirms = GT_ID_DEBUG_OFFSETS,
		.source = "_Py_DebugOffsets",
	};
	return 0;
}

int gt_cpy_layout_find(const struct gt_cpy_mem *m, const struct gt_cpy_build *b,
		       struct gt_cpy_layout *l)
{
	memset(l, 0, sizeof(*l));
	if (!b->runtime || b->major != 3)
		return -1;
	if (b->minor >= 13) {
		for (size_t i = 0; i < sizeof(debug_rows) / sizeof(debug_rows[0]); i++)
			if (debug_rows[i].minor == b->minor)
				return from_debug_offsets(m, b, &debug_rows[i], l);
		return -1;
	}
	for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
		if (rows[i].minor == b->minor && rows[i].runtime_size == b->runtime_size) {
			*l = rows[i];
			return 0;
		}
	}
	return -1;
}

/* Does the live object at base look like the mirror says a GIL does? */
static int plausible(const struct gt_cpy_mem *m, const struct gt_cpy_layout *l, uint64_t base,
		     uint32_t *interval_us)
{
	struct {
		unsigned long interval;
		void *last_holder;
		int locked;
	} head;
	if (m->read(m->ctx, base, &head, sizeof(head)))
		return 0;
	/* locked is -1 until create_gil's last store, then 0 or 1. */
	if (head.locked < -1 || head.locked > 1)
		return 0;
	if (l && !l->mirror_fits)
		return 0;
	/* Already set: the interpreter initialises the interval before it
	 * creates the GIL. */
	*interval_us = gt_cpy_interval_us(head.interval);
	return 1;
}

void gt_cpy_identify(const struct gt_cpy_mem *m, const struct gt_cpy_build *b,
		     const struct gt_cpy_layout *l, uint64_t cond, uint64_t mutex, uint64_t sc,
		     uint64_t sm, struct gt_cpy_gil *g)
{
	*g = (struct gt_cpy_gil){.interp_id = -1};
	uint64_t base = cond - GT_CPY_GIL_COND;
	if (b->major != 3 || b->minor < 7 || b->free_threaded || (l && l->free_threaded))
		return;
	if (mutex != base + GT_CPY_GIL_MUTEX || (sc && sc != base + GT_CPY_GIL_SWITCH_COND) ||
	    (sm && sm != base + GT_CPY_GIL_SWITCH_MUTEX))
		return;
	if (!plausible(m, l, base, &g->interval_us))
		return;
	g->method = GT_ID_STRUCT;
	g->base = base;
	if (!l)
		return;
	if (l->runtime_gil >= 0) {
		/* 3.7-3.11: one GIL, inside _PyRuntime (its interpreter is
		 * the main one, id 0, only if it is that GIL). */
		if (base == b->runtime + (uint64_t)l->runtime_gil) {
			g->interp_id = 0;
			g->method |= l->confirms;
		} else {
			g->method |= GT_ID_MISMATCH;
		}
		return;
	}
	if (l->interp_gil < 0)
		return;
	/* 3.12+: the GIL is embedded in its interpreter. The interpreter is
	 * the allocation the GIL lives in, so its id can be read even for a
	 * subinterpreter on the heap. */
	uint64_t interp = base - (uint64_t)l->interp_gil, main = 0, id;
	if (l->main_interp >= 0)
		main = b->runtime + (uint64_t)l->main_interp;
	else if (l->main_interp_ptr >= 0 && rd64(m, b->runtime + (uint64_t)l->main_interp_ptr, &main))
		main = 0;
	if (rd64(m, interp + (uint64_t)l->interp_id, &id)) {
		g->method |= GT_ID_MISMATCH;
		return;
	}
	g->interp = interp;
	g->interp_id = (int64_t)id;
	if (interp == main)
		g->method |= g->interp_id == 0 ? l->confirms : GT_ID_MISMATCH;
	else if (g->interp_id <= 0 || g->interp_id > (1 << 30))
		g->method |= GT_ID_MISMATCH; /* not a plausible subinterpreter */
}

uint32_t gt_cpy_check_interp(const struct gt_cpy_mem *m, const struct gt_cpy_layout *l,
			     const struct gt_cpy_gil *g)
{
	uint64_t ptr;
	if (!l || !g->interp || l->interp_ceval_gil < 0)
		return 0;
	if (rd64(m, g->interp + (uint64_t)l->interp_ceval_gil, &ptr))
		return GT_ID_MISMATCH;
	return ptr == g->base ? GT_ID_INTERP : GT_ID_MISMATCH;
}

int gt_cpy_walk_of(const struct gt_cpy_build *b, const struct gt_cpy_layout *l,
		   struct gt_cpy_walk *w)
{
	*w = (struct gt_cpy_walk){0};
	if (!l || !b->runtime || l->interps_head < 0 || l->interp_next < 0 || l->interp_id < 0 ||
	    l->interp_ceval_gil < 0 || l->interp_gil < 0)
		return -1;
	*w = (struct gt_cpy_walk){
		.head = b->runtime + (uint64_t)l->interps_head,
		.next = (uint32_t)l->interp_next,
		.id = (uint32_t)l->interp_id,
		.ceval_gil = (uint32_t)l->interp_ceval_gil,
		.gil = (uint32_t)l->interp_gil,
	};
	return 0;
}

int gt_cpy_interps(const struct gt_cpy_mem *m, const struct gt_cpy_walk *w,
		   struct gt_cpy_interp *out, int max)
{
	uint64_t interp, prev = UINT64_MAX;
	if (!w->head || rd64(m, w->head, &interp))
		return -1;
	int n = 0;
	for (; interp; n++) {
		uint64_t id, gil;
		/* Newest first, ids falling: a list that is not is being
		 * rewritten under us (a cycle) or is not the list. */
		if (n >= GT_CPY_MAX_INTERPS || rd64(m, interp + w->id, &id) ||
		    rd64(m, interp + w->ceval_gil, &gil) || id > (1u << 30) || id >= prev)
			return -1;
		prev = id;
		if (n < max)
			out[n] = (struct gt_cpy_interp){(int64_t)id, interp, gil};
		if (rd64(m, interp + w->next, &interp))
			return -1;
	}
	return n;
}
