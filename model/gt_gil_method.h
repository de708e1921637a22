/* SPDX-License-Identifier: MIT */
/*
 * gt_gil_method.h — how a GIL was found and what confirmed it.
 *
 * A bit set carried with each GIL from the recorder (which observes) and
 * the layout module (which confirms, gt_cpython.h) to the trace, where
 * gt_drain_describe_method() turns it into words.
 */
#ifndef GT_GIL_METHOD_H
#define GT_GIL_METHOD_H

enum gt_gil_method {
	GT_ID_INIT_SEQUENCE = 1u << 0, /* create_gil's init calls from the interpreter */
	GT_ID_CALLER = 1u << 1,        /* a timed wait from the interpreter's code */
	GT_ID_STRUCT = 1u << 2,        /* the objects sit where the GIL struct has them */
	GT_ID_RUNTIME = 1u << 3,       /* _PyRuntime + version layout predicts it */
	GT_ID_DEBUG_OFFSETS = 1u << 4, /* 3.13+ _Py_DebugOffsets predicts it */
	GT_ID_INTERP = 1u << 5,        /* interp->ceval.gil points at it (3.12+) */
	GT_ID_MISMATCH = 1u << 6,      /* a prediction disagreed: observed wins */
};

#endif
