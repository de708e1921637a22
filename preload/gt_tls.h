/* SPDX-License-Identifier: MIT */
/*
 * gt_tls.h — what each thread remembers between two hooked calls.
 *
 * initial-exec TLS: the library is always loaded at startup (LD_PRELOAD), and
 * the default global-dynamic model would cost a __tls_get_addr call on every
 * hooked function (see lttng-ust's malloc wrapper for the same reasoning).
 * The hot fields come first and are not char-typed, so that the compiler need
 * not assume a store to them changes the GIL table.
 */
#ifndef GT_TLS_H
#define GT_TLS_H

#include <stdatomic.h>
#include <stdint.h>

#include "gt_gil_state.h"

struct gt_event;

/* gt_tls.no_slot: 1 when no ring was free, or: */
#define GT_NO_SLOT_EXITED 2 /* the thread's exit is recorded */

struct gt_tls {
	struct gt_event *cur;    /* where this thread's next event goes */
	struct gt_event *lim;    /* cursor value at which gt_ring_slow() runs */
	uint64_t head;           /* events this thread has published */
	_Atomic uint64_t *headp; /* where they are published (its slot) */
	uint64_t nudged;         /* head when the writer was last woken */
	struct gt_sm_thread sm; /* tid and GIL state (model/gt_gil_sm.h) */
	uint32_t ring;        /* ring slot + 1; 0: none (yet) */
	uint8_t no_slot;      /* this thread's events are lost (see above) */
	uint8_t busy;         /* set while giltrace itself runs: hooks pass through */
	uint8_t init_n;       /* create_gil init calls seen in a row (0..3) */
	uint8_t init_clock;   /* clock of the condvar in that sequence */
	void *init_obj[3];    /* mutex, switch mutex, cond of that sequence */
};

extern __thread struct gt_tls gt_tls __attribute__((tls_model("initial-exec")));

#endif
