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
#include <string.h>

#if PY_VERSION_HEX < 0x03070000
/* 3.6: public headers only (the GIL is statics; PyInterpreterState is public). */
#elif PY_VERSION_HEX >= 0x030D0000
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
#if PY_VERSION_HEX >= 0x030B0000
#include "internal/pycore_dict.h"
#else
#include "longintrepr.h"
#endif

#define P(name, v) printf("%s %llu\n", name, (unsigned long long)(v))

/* The objects a thread's Python name is read through (model/gt_cpy_names.c):
 * every version from 3.6. PyDictKeysObject is private before 3.11
 * (Objects/dict-common.h, not installed): those offsets are CPython's source. */
static void objects(void)
{
	P("obj.dict_keys", offsetof(PyDictObject, ma_keys));
	P("obj.dict_values", offsetof(PyDictObject, ma_values));
#if PY_VERSION_HEX >= 0x030B0000
	P("obj.keys_log2_size", offsetof(PyDictKeysObject, dk_log2_size));
	P("obj.keys_nentries", offsetof(PyDictKeysObject, dk_nentries));
	P("obj.keys_indices", offsetof(PyDictKeysObject, dk_indices));
	P("obj.values_values", offsetof(PyDictValues, values));
#endif
	P("obj.type_basicsize", offsetof(PyTypeObject, tp_basicsize));
	P("obj.type_flags", offsetof(PyTypeObject, tp_flags));
	P("obj.type_dictoffset", offsetof(PyTypeObject, tp_dictoffset));
#if PY_VERSION_HEX >= 0x030B0000
	P("obj.heaptype_cached_keys", offsetof(PyHeapTypeObject, ht_cached_keys));
#endif
	P("obj.module_dict", sizeof(PyObject)); /* PyModuleObject's md_dict, first */
	P("obj.str_length", offsetof(PyASCIIObject, length));
	P("obj.str_state", offsetof(PyASCIIObject, state));
	P("obj.str_ascii_size", sizeof(PyASCIIObject));
	P("obj.str_compact_size", sizeof(PyCompactUnicodeObject));
	/* The state bits: set one field at a time and see which bits move. */
	PyASCIIObject a;
	memset(&a, 0, sizeof(a));
	a.state.kind = 7;
	unsigned bits;
	memcpy(&bits, &a.state, sizeof(bits));
	P("obj.str_kind_bits", bits);
	memset(&a, 0, sizeof(a));
	a.state.compact = 1;
	memcpy(&bits, &a.state, sizeof(bits));
	P("obj.str_compact_bit", bits);
	memset(&a, 0, sizeof(a));
	a.state.ascii = 1;
	memcpy(&bits, &a.state, sizeof(bits));
	P("obj.str_ascii_bit", bits);
#if PY_VERSION_HEX >= 0x030C0000
	P("obj.long_tag", offsetof(PyLongObject, long_value.lv_tag));
	P("obj.long_digits", offsetof(PyLongObject, long_value.ob_digit));
#else
	P("obj.long_size", offsetof(PyVarObject, ob_size));
	P("obj.long_digits", offsetof(PyLongObject, ob_digit));
#endif
	P("obj.digit_bits", PyLong_SHIFT);
}

int main(void)
{
	printf("version %s\n", PY_VERSION);
	objects();
#if PY_VERSION_HEX < 0x03070000
	P("interp.modules", offsetof(PyInterpreterState, modules));
	return 0;
#else
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
	P("interp.modules", offsetof(PyInterpreterState, imports.modules));
#else
	P("interp.modules", offsetof(PyInterpreterState, modules));
#endif
#if PY_VERSION_HEX >= 0x030C0000
	P("interp.gil", offsetof(PyInterpreterState, _gil));
	P("interp.id", offsetof(PyInterpreterState, id));
	P("interp.next", offsetof(PyInterpreterState, next));
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
	P("debug.interp_next", offsetof(_Py_DebugOffsets, interpreter_state.next));
	P("debug.interp_ceval_gil", offsetof(_Py_DebugOffsets, interpreter_state.ceval_gil));
	P("debug.interp_gil", offsetof(_Py_DebugOffsets, interpreter_state.gil_runtime_state));
	P("debug.interp_modules", offsetof(_Py_DebugOffsets, interpreter_state.imports_modules));
	P("debug.interp_gil_locked",
	  offsetof(_Py_DebugOffsets, interpreter_state.gil_runtime_state_locked));
#endif
	return 0;
#endif
}
