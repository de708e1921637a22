/* SPDX-License-Identifier: MIT */
/*
 * gt_hook_table.h — every libc function giltrace interposes on or forwards
 * to, declared once. From this table come the real-function table
 * (gt_real.h), its resolver and its bootstrap entries (gt_real.c), and the
 * library's exports (exports.map.in, run through the C preprocessor at build
 * time): adding a hook is a line here plus the hook itself.
 *
 * GT_HOOKS(X) calls X(field, symbol, ret, params, args, version, need, boot,
 * exported) for each function with a real counterpart:
 *   field     its member in struct gt_real
 *   version   GT_V_ANY (whatever dlsym finds) or GT_V_COND (the condvar
 *             ABI CPython uses; see gt_real.c)
 *   need      GT_REQUIRED (missing: the library cannot work, it says so and
 *             aborts) or GT_OPTIONAL (missing: calls fail with ENOSYS)
 *   boot      how the function is reached before gt_real_resolve() has run:
 *             GT_BOOT_ALIAS (glibc's own alias, no dlsym: what dlsym may
 *             itself lock) or GT_BOOT_RESOLVE (resolve first)
 *   exported  GT_EXPORTED (interposed: our definition is exported) or
 *             GT_FORWARD_ONLY (only called, never interposed)
 * GT_HOOKS_NORETURN(X) the same for functions that do not return, and
 * GT_HOOKS_EXPORT_ONLY(Y) calls Y(symbol) for exported hooks that are built
 * on other real functions (the execl family, bsd_signal).
 */
#ifndef GT_HOOK_TABLE_H
#define GT_HOOK_TABLE_H

#define GT_HOOKS(X)                                                                          \
	X(mutex_lock, pthread_mutex_lock, int, (pthread_mutex_t * m), (m), GT_V_ANY,          \
	  GT_REQUIRED, GT_BOOT_ALIAS, GT_EXPORTED)                                               \
	X(mutex_unlock, pthread_mutex_unlock, int, (pthread_mutex_t * m), (m), GT_V_ANY,      \
	  GT_REQUIRED, GT_BOOT_ALIAS, GT_FORWARD_ONLY)                                           \
	X(mutex_init, pthread_mutex_init, int,                                                 \
	  (pthread_mutex_t * m, const pthread_mutexattr_t *a), (m, a), GT_V_ANY, GT_REQUIRED,  \
	  GT_BOOT_ALIAS, GT_EXPORTED)                                                            \
	X(mutex_destroy, pthread_mutex_destroy, int, (pthread_mutex_t * m), (m), GT_V_ANY,    \
	  GT_REQUIRED, GT_BOOT_ALIAS, GT_EXPORTED)                                               \
	X(cond_init, pthread_cond_init, int, (pthread_cond_t * c, const pthread_condattr_t *a), \
	  (c, a), GT_V_COND, GT_REQUIRED, GT_BOOT_RESOLVE, GT_EXPORTED)                          \
	X(cond_destroy, pthread_cond_destroy, int, (pthread_cond_t * c), (c), GT_V_COND,      \
	  GT_REQUIRED, GT_BOOT_RESOLVE, GT_EXPORTED)                                             \
	X(cond_timedwait, pthread_cond_timedwait, int,                                         \
	  (pthread_cond_t * c, pthread_mutex_t * m, const struct timespec *t), (c, m, t),     \
	  GT_V_COND, GT_REQUIRED, GT_BOOT_RESOLVE, GT_EXPORTED)                                  \
	X(cond_signal, pthread_cond_signal, int, (pthread_cond_t * c), (c), GT_V_COND,        \
	  GT_REQUIRED, GT_BOOT_RESOLVE, GT_EXPORTED)                                             \
	X(sigaction, sigaction, int,                                                           \
	  (int s, const struct sigaction *a, struct sigaction *o), (s, a, o), GT_V_ANY,        \
	  GT_REQUIRED, GT_BOOT_RESOLVE, GT_EXPORTED)                                             \
	X(signal, signal, sighandler_t, (int s, sighandler_t h), (s, h), GT_V_ANY,            \
	  GT_REQUIRED, GT_BOOT_RESOLVE, GT_EXPORTED)                                             \
	X(sysv_signal, sysv_signal, sighandler_t, (int s, sighandler_t h), (s, h), GT_V_ANY,  \
	  GT_REQUIRED, GT_BOOT_RESOLVE, GT_EXPORTED)                                             \
	X(execve, execve, int, (const char *p, char *const a[], char *const e[]), (p, a, e),  \
	  GT_V_ANY, GT_OPTIONAL, GT_BOOT_RESOLVE, GT_EXPORTED)                                   \
	X(execv, execv, int, (const char *p, char *const a[]), (p, a), GT_V_ANY, GT_OPTIONAL,  \
	  GT_BOOT_RESOLVE, GT_EXPORTED)                                                          \
	X(execvp, execvp, int, (const char *p, char *const a[]), (p, a), GT_V_ANY,            \
	  GT_OPTIONAL, GT_BOOT_RESOLVE, GT_EXPORTED)                                             \
	X(execvpe, execvpe, int, (const char *p, char *const a[], char *const e[]),           \
	  (p, a, e), GT_V_ANY, GT_OPTIONAL, GT_BOOT_RESOLVE, GT_EXPORTED)                        \
	X(fexecve, fexecve, int, (int fd, char *const a[], char *const e[]), (fd, a, e),      \
	  GT_V_ANY, GT_OPTIONAL, GT_BOOT_RESOLVE, GT_EXPORTED)

#define GT_HOOKS_NORETURN(X)                                                                 \
	X(exit_, _exit, void, (int status), (status), GT_V_ANY, GT_REQUIRED, GT_BOOT_RESOLVE,   \
	  GT_EXPORTED)                                                                           \
	X(Exit, _Exit, void, (int status), (status), GT_V_ANY, GT_REQUIRED, GT_BOOT_RESOLVE,    \
	  GT_EXPORTED)

#define GT_HOOKS_EXPORT_ONLY(Y) Y(bsd_signal) Y(execl) Y(execle) Y(execlp)

#endif
