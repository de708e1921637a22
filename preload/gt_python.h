/* SPDX-License-Identifier: MIT */
/*
 * gt_python.h — what the library knows about the interpreter in this process.
 *
 * Found once, in the constructor, from dynamic symbols only (Py_GetVersion,
 * Py_Version, _PyRuntime), so it works on stripped distro builds: the object
 * that defines them, its executable segments (to recognise calls made by the
 * interpreter itself), the version, and the layout (model/gt_cpython.h)
 * that confirms each GIL the hooks find.
 */
#ifndef GT_PYTHON_H
#define GT_PYTHON_H

#include <stddef.h>
#include <stdint.h>

#include "gt_cpython.h"

#define GT_PY_MAX_TEXT 8

struct gt_python {
	int found;          /* an interpreter is linked into this process */
	int major, minor, micro;
	char version[32];   /* "3.11.7" */
	int free_threaded;  /* Py_GIL_DISABLED build: nothing to trace */
	char object[256];   /* file that holds the interpreter */
	int ntext;
	uintptr_t text_lo[GT_PY_MAX_TEXT], text_hi[GT_PY_MAX_TEXT];
	struct gt_cpy_build build; /* version and _PyRuntime, for the layout */
	int have_layout;
	struct gt_cpy_layout layout;
	/* Where the main interpreter's sys.modules is, for the writer's
	 * thread names: PyInterpreterState_Main() (3.8+) or _Head() (a getter
	 * of a static, safe to call from a hook) plus this offset (-1: none
	 * known for this build). */
	void *(*interp_main)(void);
	int64_t modules_off;
};

/* The layout module reads this process's own memory. */
static const struct gt_cpy_mem gt_py_mem = {gt_cpy_read_self, 0};

extern struct gt_python gt_py;

void gt_python_detect(void);
/* &interp->modules of the main interpreter, 0 if not known (yet). */
uint64_t gt_python_modules_slot(void);

/* Is ret (a return address) inside the interpreter's own code? */
static inline int gt_python_is_caller(const void *ret)
{
	uintptr_t a = (uintptr_t)ret;
	for (int i = 0; i < gt_py.ntext; i++)
		if (a >= gt_py.text_lo[i] && a < gt_py.text_hi[i])
			return 1;
	return 0;
}

#endif
