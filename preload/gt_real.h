/* SPDX-License-Identifier: MIT */
/*
 * gt_real.h — the real libc functions behind every hook (one member per
 * entry of gt_hook_table.h).
 *
 * Each pointer starts out at a bootstrap function, so a hook that runs before
 * gt_real_resolve() (another library's constructor, or malloc → mutex inside
 * dlsym) still reaches glibc: the mutex calls go straight to glibc's exported
 * __pthread_mutex_* aliases, everything else resolves first.
 */
#ifndef GT_REAL_H
#define GT_REAL_H

#include <pthread.h>
#include <signal.h>
#include <time.h>

#include "gt_hook_table.h"

#define GT_REAL_FIELD(field, sym, ret, params, args, v, need, boot, exp) ret(*field) params;
struct gt_real {
	GT_HOOKS(GT_REAL_FIELD)
	GT_HOOKS_NORETURN(GT_REAL_FIELD)
};
#undef GT_REAL_FIELD

extern struct gt_real gt_real;

/* Resolves every pointer once; safe to call from any hook, any thread. */
void gt_real_resolve(void);

#endif
