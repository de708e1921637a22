/* SPDX-License-Identifier: MIT */
/*
 * measure_layout.c — prints, as the compiler sees them in one CPython's own
 * internal headers, the offsets giltrace's layout rows are made of
 * (model/gt_cpython.c). Built and run once per interpreter by
 * tools/layouts/measure.py; never linked into giltrace.
 *
 * Output: "name value" lines. The GIL struct's fields come first (every
 * version from 3.7), then the rows for the minor version being measured.
 */
#define Py_BUILD_CORE 1
#include <Python.h>
#include <stddef.h>
#include <stdio.h>

#if PY_VERSION_HEX >= 0x030D0000
#include "internal/pycore_runtime.h"
#include "internal/pycore_interp.h"
#elif PY_VERSION_HEX >= 0x03090000
#include "internal/pycore_runtime.h"
#include "internal/pycore_pystate.h"
#include "internal/pycore_interp.h"
#elif PY_VERSION_HEX >= 0x03080000
#include "internal/pycore_pystate.h"
#else
#include "internal/pystate.h"
#endif
#if PY_VERSION_HEX >= 0x030E0000
#include "internal/pycore_debug_offsets.h"
#endif

#define P(name, v) printf("%s %llu\n", name, (unsigned long long)(v))

int main(void)
{
	printf("version %s\n", PY_VERSION);
	P("gil.interval", offsetof(struct _gil_runtime_state, interval));
	P("gil.last_holder", offsetof(struct _gil_runtime_state, last_holder));
	P("gil.locked", offsetof(struct _gil_runtime_state, locked));
	P("gil.switch_number", offsetof(struct _gil_runtime_state, switch_number));
	P("gil.cond", offsetof(struct _gil_runtime_state, cond));
	P("gil.mutex", offsetof(struct _gil_runtime_state, mutex));
	P("gil.switch_cond", offsetof(struct _gil_runtime_state, switch_cond));
	P("gil.switch_mutex", offsetof(struct _gil_runtime_state, switch_mutex));
	P("gil.size", sizeof(struct _gil_runtime_state));
	P("runtime.size", sizeof(_PyRuntimeState));
#if PY_VERSION_HEX < 0x030C0000
	P("runtime.gil", offsetof(_PyRuntimeState, ceval.gil));
#endif
#if PY_VERSION_HEX >= 0x030B0000
	P("runtime.main_interp", offsetof(_PyRuntimeState, _main_interpreter));
#endif
#if PY_VERSION_HEX >= 0x030C0000
	P("interp.gil", offsetof(PyInterpreterState, _gil));
	P("interp.id", offsetof(PyInterpreterState, id));
	P("interp.ceval_gil", offsetof(PyInterpreterState, ceval.gil));
	P("interp.size", sizeof(PyInterpreterState));
	P("runtime.interpreters_head", offsetof(_PyRuntimeState, interpreters.head));
	P("runtime.interpreters_main", offsetof(_PyRuntimeState, interpreters.main));
#endif
#if PY_VERSION_HEX >= 0x030D0000
	/* Where each field giltrace reads sits inside _Py_DebugOffsets. */
	P("debug.version", offsetof(_Py_DebugOffsets, version));
	P("debug.free_threaded", offsetof(_Py_DebugOffsets, free_threaded));
	P("debug.runtime_size", offsetof(_Py_DebugOffsets, runtime_state.size));
	P("debug.interpreters_head", offsetof(_Py_DebugOffsets, runtime_state.interpreters_head));
	P("debug.interp_size", offsetof(_Py_DebugOffsets, interpreter_state.size));
	P("debug.interp_id", offsetof(_Py_DebugOffsets, interpreter_state.id));
	P("debug.interp_ceval_gil", offsetof(_Py_DebugOffsets, interpreter_state.ceval_gil));
	P("debug.interp_gil", offsetof(_Py_DebugOffsets, interpreter_state.gil_runtime_state));
	P("debug.interp_gil_locked",
	  offsetof(_Py_DebugOffsets, interpreter_state.gil_runtime_state_locked));
#endif
	return 0;
}
