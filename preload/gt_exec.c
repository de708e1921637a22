/* SPDX-License-Identifier: MIT */
/*
 * gt_exec.c — the exec() family: where a process image's trace ends.
 *
 * exec replaces the image without running destructors or atexit handlers,
 * so the trace must be ended before the call. But exec fails often (a
 * missing program, a PATH search that tries several directories) and the
 * process then carries on: so ending is provisional, and taken back when
 * the call returns (gt_writer.c).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "gt_clock.h"
#include "gt_real.h"
#include "gt_tls.h"
#include "gt_tracer.h"
#include "gt_writer.h"

#define GT_EXPORT __attribute__((visibility("default")))

/* exec replaces the image without running destructors: the trace ends
 * where exec begins. If exec fails, nothing changes: the trace goes on
 * (gt_writer.c takes its end back). A vfork()ed child shares our memory
 * but is not us: it leaves everything alone. */
static void exec_begin(void)
{
	if (!gt_tracing() || (int)syscall(SYS_getpid) != gt_proc.pid)
		return;
	int saved = errno;
	int was_busy = gt_tls.busy;
	gt_tls.busy = 1;
	gt_writer_exec_begin(gt_clock_now());
	gt_tls.busy = (uint8_t)was_busy;
	errno = saved;
}

static void exec_failed(void)
{
	if (!gt_tracing() || (int)syscall(SYS_getpid) != gt_proc.pid)
		return;
	int saved = errno;
	gt_writer_exec_failed();
	errno = saved;
}

#define EXEC_AROUND(call)                                                                  \
	do {                                                                               \
		exec_begin();                                                              \
		int rc_ = (call);                                                          \
		exec_failed();                                                             \
		return rc_;                                                                \
	} while (0)

GT_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	EXEC_AROUND(gt_real.execve(path, argv, envp));
}

GT_EXPORT int execv(const char *path, char *const argv[])
{
	EXEC_AROUND(gt_real.execv(path, argv));
}

GT_EXPORT int execvp(const char *file, char *const argv[])
{
	EXEC_AROUND(gt_real.execvp(file, argv));
}

GT_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	EXEC_AROUND(gt_real.execvpe(file, argv, envp));
}

GT_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	EXEC_AROUND(gt_real.fexecve(fd, argv, envp));
}

/* glibc's execl* call its internal execve, not ours: they are rebuilt on
 * the vector forms. The argument list ends with a null pointer (then, for
 * execle, the environment). */
#define COLLECT_ARGS(first, ap, argv, n)                                                   \
	size_t n = 1;                                                                      \
	va_start(ap, first);                                                               \
	while (va_arg(ap, const char *))                                                   \
		n++;                                                                       \
	va_end(ap);                                                                        \
	const char *argv[n + 1];                                                           \
	argv[0] = first;                                                                   \
	va_start(ap, first);                                                               \
	for (size_t i_ = 1; i_ <= n; i_++)                                                 \
		argv[i_] = va_arg(ap, const char *)

GT_EXPORT int execl(const char *path, const char *arg, ...)
{
	va_list ap;
	COLLECT_ARGS(arg, ap, argv, n);
	va_end(ap);
	return execv(path, (char *const *)argv);
}

GT_EXPORT int execlp(const char *file, const char *arg, ...)
{
	va_list ap;
	COLLECT_ARGS(arg, ap, argv, n);
	va_end(ap);
	return execvp(file, (char *const *)argv);
}

GT_EXPORT int execle(const char *path, const char *arg, ...)
{
	va_list ap;
	COLLECT_ARGS(arg, ap, argv, n);
	char *const *envp = va_arg(ap, char *const *);
	va_end(ap);
	return execve(path, (char *const *)argv, envp);
}
