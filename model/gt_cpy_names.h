/* SPDX-License-Identifier: MIT */
/*
 * gt_cpy_names.h — the Python names of a process's threads, read from its
 * memory.
 *
 * Before 3.14 CPython never names its OS threads, and 3.14+ cuts the name to
 * 15 bytes: a user knows threads by threading.Thread.name. That name lives
 * in the Thread object, found from the main interpreter's sys.modules:
 * sys.modules["threading"].__dict__["_active"] maps each thread's ident
 * (pthread_self()) to its Thread, whose instance attribute "_name" is the
 * name (renames included: the `name` setter stores there). The recorder
 * knows each thread's ident, so the writer can match them.
 *
 * Everything is read through read_mem (process_vm_readv: never a fault),
 * without the GIL and without calling into Python, so a read can race the
 * program: every object is checked for shape before use, a lookup that
 * fails simply finds nothing, and the caller asks again later. The object
 * layouts (dicts, str, int, instance attributes) per minor version are in
 * gt_cpy_names.c, measured by tools/layouts/measure.py.
 */
#ifndef GT_CPY_NAMES_H
#define GT_CPY_NAMES_H

#include <stdint.h>

#include "gt_cpython.h"

/* Longest name kept, in bytes of UTF-8 (a longer one is cut at a character
 * boundary and ends with "..."). */
#define GT_CPY_NAME_MAX 64

/* What a lookup keeps between calls: where threading._active is, once
 * found, and the type a dict has in this process. */
struct gt_cpy_names {
	int minor;
	uint64_t modules_slot; /* &interp->modules (or imports.modules) */
	uint64_t active;       /* threading._active, 0 until found */
	uint64_t dict_type;    /* ob_type of sys.modules */
};

/* Called once per thread found: its ident and name (NUL-terminated). */
typedef void (*gt_cpy_name_fn)(void *ctx, uint64_t ident, const char *name);
/* Is this thread's name wanted? (Reading a name costs a few reads.) */
typedef int (*gt_cpy_want_fn)(void *ctx, uint64_t ident);

/* Is there an object layout for this minor version? */
int gt_cpy_names_supported(int minor);

/* Reads the (ident, name) of every thread of threading._active, or only of
 * those want (if not NULL) asks for, now. Returns how many were found, 0
 * if threading is not imported (yet), -1 if the memory did not look like
 * what the layout expects (try again later). */
int gt_cpy_thread_names(struct gt_cpy_names *st, const struct gt_cpy_mem *m, gt_cpy_want_fn want,
			gt_cpy_name_fn fn, void *ctx);

/* Offset of sys.modules inside PyInterpreterState for 3.6-3.12 (3.13+ say
 * it in _Py_DebugOffsets), -1 if unknown. */
int64_t gt_cpy_interp_modules(int minor);

#endif
