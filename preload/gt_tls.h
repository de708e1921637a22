/* SPDX-License-Identifier: MIT */
/*
 * gt_tls.h — what each thread remembers between two hooked calls.
 *
 * initial-exec TLS: the library is always loaded at startup (LD_PRELOAD), and
 * the default global-dynamic model would cost a __tls_get_addr call on every
 * hooked function (see lttng-ust's malloc wrapper for the same reasoning).
 */
#ifndef GT_TLS_H
#define GT_TLS_H

#include <stdint.h>

struct gt_slot;

struct gt_tls {
	uint8_t busy;     /* set while giltrace itself runs: hooks pass through */
	uint8_t gil;      /* slot of the GIL of this thread's last GIL event */
	uint8_t waited;   /* has waited for that GIL since its last acquire */
	uint8_t released; /* its last GIL event was a release: a switch-mutex
			   * lock without the GIL mutex now is the handshake */
	uint8_t init_n;   /* create_gil init calls seen in a row (0..3) */
	uint8_t init_clock; /* clock of the condvar in that sequence */
	uint8_t has_slot;   /* slot is valid (0: none yet; see no_slot) */
	uint8_t no_slot;    /* no ring was free: this thread's events are lost */
	uint32_t tid;
	uint32_t timeouts;    /* timed waits that ran out in this wait */
	uint32_t seen_switch; /* GIL switch count when the last wait began */
	struct gt_slot *slot;
	void *init_obj[3];    /* mutex, switch mutex, cond of that sequence */
};

extern __thread struct gt_tls gt_tls __attribute__((tls_model("initial-exec")));

#endif
