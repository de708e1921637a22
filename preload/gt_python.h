/* SPDX-License-Identifier: MIT */
/*
 * gt_python.h — what the library knows about the interpreter in this process.
 *
 * Found once, in the constructor, from dynamic symbols only (Py_GetVersion,
 * Py_Version, _PyRuntime), so it works on stripped distro builds: the object
 * that defines them, its executable segments (to recognise calls made by the
 * interpreter itself), the version, and where the version-keyed layout says
 * the main interpreter's GIL lives.
 */
#ifndef GT_PYTHON_H
#define GT_PYTHON_H

#include <stddef.h>
#include <stdint.h>

/* Offsets that locate the GIL, per CPython minor version (docs/design.md
 * cites where each number was measured). -1 = does not apply. */
struct gt_layout {
	int minor;
	uint64_t runtime_size;    /* sizeof(_PyRuntime), the layout fingerprint */
	int64_t runtime_gil;      /* 3.7-3.11: the GIL struct inside _PyRuntime */
	int64_t main_interp;      /* main PyInterpreterState inside _PyRuntime */
	int64_t main_interp_ptr;  /* _PyRuntime.interpreters.main, if no main_interp */
	int64_t interp_gil;       /* 3.12+: PyInterpreterState._gil */
	int64_t interp_id;        /* PyInterpreterState.id */
	int64_t interp_ceval_gil; /* 3.12+: PyInterpreterState.ceval.gil */
	const char *source;       /* "table" or "_Py_DebugOffsets" */
};

#define GT_PY_MAX_TEXT 8

struct gt_python {
	int found;          /* an interpreter is linked into this process */
	int major, minor, micro;
	char version[32];   /* "3.11.7" */
	int free_threaded;  /* Py_GIL_DISABLED build: nothing to trace */
	char object[256];   /* file that holds the interpreter */
	int ntext;
	uintptr_t text_lo[GT_PY_MAX_TEXT], text_hi[GT_PY_MAX_TEXT];
	uintptr_t runtime;      /* &_PyRuntime, 0 if not exported */
	uint64_t runtime_size;  /* its dynsym st_size */
	int have_layout;
	struct gt_layout layout;
};

extern struct gt_python gt_py;

void gt_python_detect(void);

/* Is ret (a return address) inside the interpreter's own code? */
static inline int gt_python_is_caller(const void *ret)
{
	uintptr_t a = (uintptr_t)ret;
	for (int i = 0; i < gt_py.ntext; i++)
		if (a >= gt_py.text_lo[i] && a < gt_py.text_hi[i])
			return 1;
	return 0;
}

/* Offset of cond inside struct _gil_runtime_state (3.7+; §2.1 of the fact
 * sheet): interval, last_holder, locked, switch_number, then cond. */
#define GT_GIL_COND_OFF 32
#define GT_GIL_MUTEX_OFF 80
#define GT_GIL_SWITCH_COND_OFF 120
#define GT_GIL_SWITCH_MUTEX_OFF 168

#endif
