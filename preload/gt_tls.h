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

struct gt_event;

/* gt_tls.gstate: the GIL slot of this thread's last GIL event, and: */
#define GT_TS_GIL_MASK 0xffu
#define GT_TS_WAITED (1u << 8)   /* has waited for that GIL since its last acquire */
#define GT_TS_RELEASED (1u << 9) /* its last GIL event was a release: a
				  * switch-mutex lock without the GIL mutex
				  * now is the forced-switch handshake */

/* gt_tls.no_slot: 1 when no ring was free, or: */
#define GT_NO_SLOT_EXITED 2 /* the thread's exit is recorded */

struct gt_tls {
	struct gt_event *cur;    /* where this thread's next event goes */
	struct gt_event *lim;    /* cursor value at which gt_ring_slow() runs */
	uint64_t head;           /* events this thread has published */
	_Atomic uint64_t *headp; /* where they are published (its slot) */
	uint64_t nudged;         /* head when the writer was last woken */
	uint32_t tid;
	uint32_t gstate;      /* GT_TS_* */
	uint32_t timeouts;    /* timed waits that ran out in this wait */
	uint32_t seen_switch; /* GIL switch count when the last wait began */
	uint32_t ring;        /* ring slot + 1; 0: none (yet) */
	uint8_t no_slot;      /* this thread's events are lost (see above) */
	uint8_t busy;         /* set while giltrace itself runs: hooks pass through */
	uint8_t init_n;       /* create_gil init calls seen in a row (0..3) */
	uint8_t init_clock;   /* clock of the condvar in that sequence */
	void *init_obj[3];    /* mutex, switch mutex, cond of that sequence */
};

extern __thread struct gt_tls gt_tls __attribute__((tls_model("initial-exec")));

#endif
