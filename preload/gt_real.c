/* SPDX-License-Identifier: MIT */
/*
 * gt_real.c — resolves the functions our hooks forward to.
 *
 * pthread_cond_* exist twice in glibc on x86_64: GLIBC_2.3.2 (the condvar
 * CPython and everything built since 2003 uses) and the GLIBC_2.2.5 compat
 * layout. Plain dlsym may hand back either depending on the glibc version, and
 * forwarding a new condvar to the old code corrupts it, so they are looked up
 * by version where the architecture has one.
 */
#define _GNU_SOURCE
#include "gt_real.h"

#include <dlfcn.h>
#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <stdatomic.h>
#include <stddef.h>
#include <unistd.h>

#include "gt_log.h"
#include "gt_tls.h"

#if defined(__x86_64__)
#define GT_COND_VERSION "GLIBC_2.3.2"
#elif defined(__i386__)
#define GT_COND_VERSION "GLIBC_2.3.2"
#else
#define GT_COND_VERSION NULL /* one condvar implementation only */
#endif

/* Before gt_real_resolve() has run, each pointer leads to a bootstrap entry
 * (gt_hook_table.h's boot column). GT_BOOT_ALIAS: glibc exports aliases of
 * the mutex functions under a non-default version, and the entry is that
 * alias, so that a mutex taken inside dlsym (malloc replacements such as
 * jemalloc do) reaches glibc. GT_BOOT_RESOLVE: resolve, then forward. */
#if !defined(__x86_64__)
#error "giltrace's dlsym bootstrap needs glibc's mutex aliases for this architecture"
#endif
#define BOOT(field, sym, ret, params, args, v, need, boot, exp) \
	BOOT_##boot(field, sym, ret, params, args)
#define BOOT_GT_BOOT_ALIAS(field, sym, ret, params, args)                                  \
	__asm__(".symver gt_boot_" #field ",__" #sym "@GLIBC_2.2.5");                       \
	extern ret gt_boot_##field params;
#define BOOT_GT_BOOT_RESOLVE(field, sym, ret, params, args)                                \
	static ret gt_boot_##field params                                                     \
	{                                                                                     \
		gt_real_resolve();                                                            \
		return gt_real.field args;                                                    \
	}
#define BOOT_NORETURN(field, sym, ret, params, args, v, need, boot, exp)                   \
	static ret gt_boot_##field params                                                     \
	{                                                                                     \
		gt_real_resolve();                                                            \
		gt_real.field args;                                                           \
		__builtin_unreachable();                                                      \
	}
GT_HOOKS(BOOT)
GT_HOOKS_NORETURN(BOOT_NORETURN)

#define BOOT_INIT(field, sym, ret, params, args, v, need, boot, exp) .field = gt_boot_##field,
struct gt_real gt_real = {GT_HOOKS(BOOT_INIT) GT_HOOKS_NORETURN(BOOT_INIT)};

static void *lookup(const char *name, const char *version)
{
	void *p = NULL;
	if (version)
		p = dlvsym(RTLD_NEXT, name, version);
	if (!p)
		p = dlsym(RTLD_NEXT, name);
	return p;
}

/* Optional functions this libc lacks (the exec variants; none on glibc)
 * fail the way a missing libc function would have: -1/ENOSYS. */
static int no_exec(void)
{
	errno = ENOSYS;
	return -1;
}

/* One table entry: found (by version if it has one), or for a required
 * function, remembered as missing; an optional one fails with ENOSYS. */
#define VERSION_GT_V_ANY NULL
#define VERSION_GT_V_COND GT_COND_VERSION
#define RESOLVE(field, sym, ret, params, args, v, need, boot, exp)                         \
	do {                                                                               \
		void *p_ = lookup(#sym, VERSION_##v);                                      \
		if (!p_ && need == GT_OPTIONAL)                                            \
			p_ = (void *)no_exec;                                              \
		if (p_)                                                                    \
			*(void **)&gt_real.field = p_;                                     \
		else                                                                       \
			missing = #sym;                                                    \
	} while (0);
enum { GT_REQUIRED, GT_OPTIONAL };

void gt_real_resolve(void)
{
	static atomic_int state; /* 0 = not yet, 1 = resolving, 2 = done */
	int expected = 0;

	if (atomic_load_explicit(&state, memory_order_acquire) == 2)
		return;
	if (!atomic_compare_exchange_strong(&state, &expected, 1)) {
		/* Another thread is resolving (or this one, re-entered through
		 * dlsym). Re-entry must not wait; other threads wait briefly. */
		if (gt_tls.busy)
			return;
		while (atomic_load_explicit(&state, memory_order_acquire) != 2)
			sched_yield();
		return;
	}
	int was_busy = gt_tls.busy;
	gt_tls.busy = 1;
	const char *missing = NULL;
	GT_HOOKS(RESOLVE)
	GT_HOOKS_NORETURN(RESOLVE)
	gt_tls.busy = was_busy;
	atomic_store_explicit(&state, 2, memory_order_release);
	if (missing) {
		/* Nothing sensible can be forwarded; this is the one place the
		 * library may stop the program (see docs/design.md). */
		gt_log_error("cannot find the real %s in libc; aborting", missing);
		abort();
	}
}
