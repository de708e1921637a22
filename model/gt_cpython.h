/* SPDX-License-Identifier: MIT */
/*
 * gt_cpython.h — where CPython keeps its GILs, for any recorder.
 *
 * The layout knowledge giltrace has of each CPython minor version, and the
 * code that applies it to a live interpreter. Memory is only ever read
 * through a caller's read_mem callback, so the same code serves the preload
 * library (a plain copy in its own address space) and an attaching recorder
 * (process_vm_readv on another process). Nothing here calls into Python.
 *
 * What the layout does is *confirm*: a recorder first sees a GIL by what its
 * pthread objects do (create_gil's init calls, timed waits from the
 * interpreter's code), then asks gt_cpy_identify() whether the layout
 * predicts an object at that place, which interpreter owns it and what its
 * switch interval is. Where the layout disagrees, the observation wins and
 * the trace says GT_ID_MISMATCH. Every number below is measured by
 * tools/layouts/measure.py, and the measurements are in docs/cpython-layouts.md.
 */
#ifndef GT_CPYTHON_H
#define GT_CPYTHON_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "gt_gil_method.h"

/* Copies len bytes at addr (in the traced process) into buf; 0 on success,
 * -1 if that memory cannot be read. */
typedef int (*gt_cpy_read_fn)(void *ctx, uint64_t addr, void *buf, size_t len);

struct gt_cpy_mem {
	gt_cpy_read_fn read;
	void *ctx;
};

/* struct _gil_runtime_state (Include/internal/pycore_gil.h), 3.7 to 3.15,
 * default (GIL) builds: the objects the recorders watch are found by offsetof
 * on this mirror, never by numbers written out. The field order and types
 * are CPython's; measure.py checks each offset against every interpreter's
 * own headers, and gt_cpy_identify() checks the live object. 3.6 keeps
 * these as separate statics (no struct), and free-threaded builds put an
 * int `enabled` first (they are never identified: no GIL to trace). */
struct gt_cpy_gil_mirror {
	unsigned long interval;     /* switch interval, µs */
	void *last_holder;          /* PyThreadState* */
	int locked;                 /* -1 before create_gil, then 0/1 */
	unsigned long switch_number;
	pthread_cond_t cond;
	pthread_mutex_t mutex;
	pthread_cond_t switch_cond;
	pthread_mutex_t switch_mutex;
};

#define GT_CPY_GIL_COND offsetof(struct gt_cpy_gil_mirror, cond)
#define GT_CPY_GIL_MUTEX offsetof(struct gt_cpy_gil_mirror, mutex)
#define GT_CPY_GIL_SWITCH_COND offsetof(struct gt_cpy_gil_mirror, switch_cond)
#define GT_CPY_GIL_SWITCH_MUTEX offsetof(struct gt_cpy_gil_mirror, switch_mutex)

/* Offsets locating the GILs of one interpreter build; -1 = not in this
 * version. Filled from a per-version row (3.7-3.12, fingerprinted by the
 * size of _PyRuntime) or from the interpreter's own _Py_DebugOffsets
 * (3.13+). */
struct gt_cpy_layout {
	int minor;
	uint64_t runtime_size;    /* sizeof(_PyRuntimeState) */
	int64_t runtime_gil;      /* 3.7-3.11: the one GIL, inside _PyRuntime */
	int64_t main_interp;      /* main PyInterpreterState inside _PyRuntime */
	int64_t main_interp_ptr;  /* _PyRuntime.interpreters.main (3.13+) */
	int64_t interp_gil;       /* 3.12+: PyInterpreterState._gil */
	int64_t interp_id;        /* PyInterpreterState.id */
	int64_t interp_ceval_gil; /* 3.12+: PyInterpreterState.ceval.gil */
	int64_t interp_modules;   /* PyInterpreterState's sys.modules (3.13+;
				   * before: gt_cpy_interp_modules()) */
	int64_t interps_head;     /* 3.12+: _PyRuntime.interpreters.head */
	int64_t interp_next;      /* 3.12+: PyInterpreterState.next */
	int mirror_fits;          /* the interpreter's own offsets agree with
				   * struct gt_cpy_gil_mirror (3.13+: where
				   * `locked` is; rows: measured) */
	int free_threaded;        /* Py_GIL_DISABLED build */
	uint32_t confirms;        /* GT_ID_RUNTIME or GT_ID_DEBUG_OFFSETS */
	const char *source;       /* "table" or "_Py_DebugOffsets" */
};

/* What identifies one interpreter build: found from its ELF symbols
 * (dynamic ones suffice: stripped distro builds export _PyRuntime). */
struct gt_cpy_build {
	int major, minor;
	int free_threaded;     /* the version string says "free-threading build" */
	uint64_t runtime;      /* &_PyRuntime, 0 if not exported */
	uint64_t runtime_size; /* its st_size, 0 if unknown */
};

/* sys.setswitchinterval() accepts any positive interval: one beyond
 * 2^32 µs (71 minutes) is reported as the largest that fits. */
static inline uint32_t gt_cpy_interval_us(unsigned long us)
{
	return us <= UINT32_MAX ? (uint32_t)us : UINT32_MAX;
}

/* Fills *l for build b; 0 on success, -1 if no row fits (unknown version,
 * another configuration such as pydebug, unreadable or foreign
 * _Py_DebugOffsets). l->free_threaded is set whenever it can be known. */
int gt_cpy_layout_find(const struct gt_cpy_mem *m, const struct gt_cpy_build *b,
		       struct gt_cpy_layout *l);

/* One GIL, as the layout sees it. */
struct gt_cpy_gil {
	uint64_t base;        /* the struct _gil_runtime_state, 0 if not one */
	uint64_t interp;      /* its PyInterpreterState (3.12+), 0 if unknown */
	int64_t interp_id;    /* -1 if unknown */
	uint32_t interval_us; /* switch interval read from it, 0 if unknown */
	uint32_t method;      /* GT_ID_STRUCT | confirms | GT_ID_MISMATCH */
};

/* Is the GIL whose pthread objects were seen at these addresses (sc and sm
 * 0 if not seen) the struct the mirror describes, and what does the layout
 * (NULL if none) say about it? Reads the live object through m. */
void gt_cpy_identify(const struct gt_cpy_mem *m, const struct gt_cpy_build *b,
		     const struct gt_cpy_layout *l, uint64_t cond, uint64_t mutex, uint64_t sc,
		     uint64_t sm, struct gt_cpy_gil *g);

/* 3.12+: once the GIL has been taken, interp->ceval.gil must point at it.
 * Returns GT_ID_INTERP, GT_ID_MISMATCH, or 0 when it cannot be checked. */
uint32_t gt_cpy_check_interp(const struct gt_cpy_mem *m, const struct gt_cpy_layout *l,
			     const struct gt_cpy_gil *g);

/* Where the list of live interpreters is, for gt_cpy_interps(): the
 * address of _PyRuntime.interpreters.head and offsets inside
 * PyInterpreterState. Plain numbers, so that a recorder can hand them to
 * its writer (the preload library's shared memory). */
struct gt_cpy_walk {
	uint64_t head;      /* &_PyRuntime.interpreters.head, 0 if unknown */
	uint32_t next, id, ceval_gil;
	uint32_t gil;       /* PyInterpreterState._gil: its own GIL */
};

/* Fills *w for build b under layout l (NULL: none); 0, or -1 if the
 * version keeps no per-interpreter GILs or its list is not known. */
int gt_cpy_walk_of(const struct gt_cpy_build *b, const struct gt_cpy_layout *l,
		   struct gt_cpy_walk *w);

/* One live interpreter: its id and the GIL it runs under
 * (interp->ceval.gil: its own, or the main interpreter's for one created
 * with the legacy configuration, which shares it). */
struct gt_cpy_interp {
	int64_t id;
	uint64_t addr; /* the PyInterpreterState */
	uint64_t gil;  /* the struct _gil_runtime_state it runs under */
};

#define GT_CPY_MAX_INTERPS 4096 /* a longer list is taken for a corrupt one */

/* Reads the list of live interpreters into out (up to max); returns how
 * many there are (more than max: only max were stored), or -1 if it cannot
 * be read or makes no sense (a cycle, an implausible id). The list changes
 * while it is read: m must be a reader that never faults
 * (process_vm_readv), never gt_cpy_read_self. */
int gt_cpy_interps(const struct gt_cpy_mem *m, const struct gt_cpy_walk *w,
		   struct gt_cpy_interp *out, int max);

/* A read_mem for the calling process's own memory (the preload library):
 * a plain copy, so only ever given addresses the layout derived from
 * objects the interpreter really uses. */
int gt_cpy_read_self(void *ctx, uint64_t addr, void *buf, size_t len);

#endif
