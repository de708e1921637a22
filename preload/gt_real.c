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

/* glibc exports aliases of the mutex functions under a non-default version;
 * the table points at them until dlsym has answered, so that a mutex taken
 * inside dlsym (malloc replacements such as jemalloc do) reaches glibc. */
#if defined(__x86_64__)
__asm__(".symver gt_boot_mutex_lock,__pthread_mutex_lock@GLIBC_2.2.5");
__asm__(".symver gt_boot_mutex_unlock,__pthread_mutex_unlock@GLIBC_2.2.5");
__asm__(".symver gt_boot_mutex_init,__pthread_mutex_init@GLIBC_2.2.5");
__asm__(".symver gt_boot_mutex_destroy,__pthread_mutex_destroy@GLIBC_2.2.5");
extern int gt_boot_mutex_lock(pthread_mutex_t *);
extern int gt_boot_mutex_unlock(pthread_mutex_t *);
extern int gt_boot_mutex_init(pthread_mutex_t *, const pthread_mutexattr_t *);
extern int gt_boot_mutex_destroy(pthread_mutex_t *);
#else
#error "giltrace's dlsym bootstrap needs glibc's mutex aliases for this architecture"
#endif

static int boot_cond_init(pthread_cond_t *c, const pthread_condattr_t *a)
{
	gt_real_resolve();
	return gt_real.cond_init(c, a);
}
static int boot_cond_destroy(pthread_cond_t *c)
{
	gt_real_resolve();
	return gt_real.cond_destroy(c);
}
static int boot_cond_timedwait(pthread_cond_t *c, pthread_mutex_t *m, const struct timespec *t)
{
	gt_real_resolve();
	return gt_real.cond_timedwait(c, m, t);
}
static int boot_cond_signal(pthread_cond_t *c)
{
	gt_real_resolve();
	return gt_real.cond_signal(c);
}
static int boot_sigaction(int s, const struct sigaction *a, struct sigaction *o)
{
	gt_real_resolve();
	return gt_real.sigaction(s, a, o);
}
static sighandler_t boot_signal(int s, sighandler_t h)
{
	gt_real_resolve();
	return gt_real.signal(s, h);
}
static sighandler_t boot_sysv_signal(int s, sighandler_t h)
{
	gt_real_resolve();
	return gt_real.sysv_signal(s, h);
}
static void boot_exit(int status)
{
	gt_real_resolve();
	gt_real.exit_(status);
	__builtin_unreachable();
}
static void boot_Exit(int status)
{
	gt_real_resolve();
	gt_real.Exit(status);
	__builtin_unreachable();
}
static int boot_execve(const char *p, char *const a[], char *const e[])
{
	gt_real_resolve();
	return gt_real.execve(p, a, e);
}
static int boot_execv(const char *p, char *const a[])
{
	gt_real_resolve();
	return gt_real.execv(p, a);
}
static int boot_execvp(const char *p, char *const a[])
{
	gt_real_resolve();
	return gt_real.execvp(p, a);
}
static int boot_execvpe(const char *p, char *const a[], char *const e[])
{
	gt_real_resolve();
	return gt_real.execvpe(p, a, e);
}
static int boot_fexecve(int fd, char *const a[], char *const e[])
{
	gt_real_resolve();
	return gt_real.fexecve(fd, a, e);
}

struct gt_real gt_real = {
	.mutex_lock = gt_boot_mutex_lock,
	.mutex_unlock = gt_boot_mutex_unlock,
	.mutex_init = gt_boot_mutex_init,
	.mutex_destroy = gt_boot_mutex_destroy,
	.cond_init = boot_cond_init,
	.cond_destroy = boot_cond_destroy,
	.cond_timedwait = boot_cond_timedwait,
	.cond_signal = boot_cond_signal,
	.sigaction = boot_sigaction,
	.signal = boot_signal,
	.sysv_signal = boot_sysv_signal,
	.exit_ = boot_exit,
	.Exit = boot_Exit,
	.execve = boot_execve,
	.execv = boot_execv,
	.execvp = boot_execvp,
	.execvpe = boot_execvpe,
	.fexecve = boot_fexecve,
};

static void *lookup(const char *name, const char *version)
{
	void *p = NULL;
	if (version)
		p = dlvsym(RTLD_NEXT, name, version);
	if (!p)
		p = dlsym(RTLD_NEXT, name);
	return p;
}

/* exec variants glibc lacks (none on glibc) fail the way a missing libc
 * function would have: -1/ENOSYS. */
static int no_exec(void)
{
	errno = ENOSYS;
	return -1;
}

#define RESOLVE(field, name, version)                                                    \
	do {                                                                               \
		void *p_ = lookup(name, version);                                          \
		if (p_)                                                                    \
			*(void **)&gt_real.field = p_;                                     \
		else                                                                       \
			missing = name;                                                    \
	} while (0)
#define RESOLVE_OPTIONAL(field, name)                                                    \
	do {                                                                               \
		void *p_ = lookup(name, NULL);                                             \
		*(void **)&gt_real.field = p_ ? p_ : (void *)no_exec;                      \
	} while (0)

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
	RESOLVE(mutex_lock, "pthread_mutex_lock", NULL);
	RESOLVE(mutex_unlock, "pthread_mutex_unlock", NULL);
	RESOLVE(mutex_init, "pthread_mutex_init", NULL);
	RESOLVE(mutex_destroy, "pthread_mutex_destroy", NULL);
	RESOLVE(cond_init, "pthread_cond_init", GT_COND_VERSION);
	RESOLVE(cond_destroy, "pthread_cond_destroy", GT_COND_VERSION);
	RESOLVE(cond_timedwait, "pthread_cond_timedwait", GT_COND_VERSION);
	RESOLVE(cond_signal, "pthread_cond_signal", GT_COND_VERSION);
	RESOLVE(sigaction, "sigaction", NULL);
	RESOLVE(signal, "signal", NULL);
	RESOLVE(sysv_signal, "sysv_signal", NULL);
	RESOLVE(exit_, "_exit", NULL);
	RESOLVE(Exit, "_Exit", NULL);
	RESOLVE_OPTIONAL(execve, "execve");
	RESOLVE_OPTIONAL(execv, "execv");
	RESOLVE_OPTIONAL(execvp, "execvp");
	RESOLVE_OPTIONAL(execvpe, "execvpe");
	RESOLVE_OPTIONAL(fexecve, "fexecve");
	gt_tls.busy = was_busy;
	atomic_store_explicit(&state, 2, memory_order_release);
	if (missing) {
		/* Nothing sensible can be forwarded; this is the one place the
		 * library may stop the program (see docs/design.md). */
		gt_log_error("cannot find the real %s in libc; aborting", missing);
		abort();
	}
}
