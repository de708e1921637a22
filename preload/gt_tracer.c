/* SPDX-License-Identifier: MIT */
/*
 * gt_tracer.c — start, fork, thread exit and finish (see gt_tracer.h).
 *
 * Policy (docs/design.md, "Processes"): the process `giltrace run` starts is
 * traced, and so is every child it fork()s that keeps running Python (the
 * interpreter re-creates its GIL in the child, which starts a new trace in
 * a file of its own). Programs it exec()s are traced only with
 * GILTRACE_CHILDREN=1; the exec()ing image's trace is completed first.
 */
#define _GNU_SOURCE
#include "gt_tracer.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "gt_clock.h"
#include "gt_config.h"
#include "gt_gil.h"
#include "gt_log.h"
#include "gt_python.h"
#include "gt_real.h"
#include "gt_ring.h"
#include "gt_signals.h"
#include "gt_tls.h"
#include "gt_writer.h"

#define GT_EXPORT __attribute__((visibility("default")))
#define FINISH_TIMEOUT_MS 10000

_Atomic int gt_state;
struct gt_process gt_proc;

static pthread_key_t thread_key;
static int have_thread_key;
static _Atomic int start_lock;

/* ---- threads ------------------------------------------------------------ */

/* pthread key destructor: runs in the exiting thread. */
static void thread_exit(void *arg)
{
	if (gt_tls.ring != (uint32_t)(uintptr_t)arg)
		return; /* a stale key value inherited through fork */
	int saved = errno;
	gt_hooks_thread_exit();
	gt_hooks_record_exit();
	gt_ring_thread_exit();
	errno = saved;
}

void gt_tracer_bind_thread(void *slot)
{
	/* Keys below PTHREAD_KEY_2NDLEVEL_SIZE (ours is created first thing)
	 * need no allocation in pthread_setspecific. */
	if (have_thread_key)
		pthread_setspecific(thread_key, slot);
}

/* ---- output naming ------------------------------------------------------ */

/* trace.pftrace -> trace.<pid>.pftrace */
static int with_pid(char *out, size_t size, int pid)
{
	char *slash = strrchr(out, '/');
	char *dot = strrchr(out, '.');
	if (!dot || (slash && dot < slash))
		dot = out + strlen(out);
	char tail[PATH_MAX];
	snprintf(tail, sizeof(tail), "%s", dot);
	if ((size_t)(dot - out) + strlen(tail) + 16 > size)
		return -ENAMETOOLONG;
	snprintf(dot, size - (size_t)(dot - out), ".%d%s", pid, tail);
	return 0;
}

/* Where this process writes: the name itself for the process `giltrace
 * run` started (or, with plain LD_PRELOAD, whichever process claims it
 * first), trace.<pid>.pftrace for the others unless the name has %p. */
static int output_path(char *out, size_t size, int *exclusive, int *is_root)
{
	int pid = gt_proc.pid;
	*is_root = !gt_proc.forked_child && (!gt_cfg.root_pid || gt_cfg.root_pid == pid);
	/* `giltrace run` removed the file before starting us; if it exists
	 * again, this is the same process after exec(). */
	*exclusive = *is_root && gt_cfg.root_pid != 0;
	if (gt_config_expand(gt_cfg.output, pid, out, size))
		return -ENAMETOOLONG;
	if (*is_root || strstr(gt_cfg.output, "%p"))
		return 0;
	return with_pid(out, size, pid);
}

/* ---- start -------------------------------------------------------------- */

/* What a writer needs to know about this process, in the rings' header. */
static void publish_identity(void)
{
	struct gt_shm_hdr *h = gt_pool.v.hdr;
	snprintf(h->python_version, sizeof(h->python_version), "%s", gt_py.version);
	h->pid = (uint32_t)gt_proc.pid;
	h->use_tsc = gt_clock_use_tsc;
	h->anchor_ticks = gt_clock_anchor();
	h->anchor_ns = gt_clock_anchor_ns();
	h->monotonic_offset = gt_clock_monotonic_offset();
	h->compress = gt_cfg.compress;
	h->flush_ms = gt_cfg.flush_ms;
}

/* Opens this process's own trace file (no `giltrace run` writing it). */
static int open_own_trace(char *path, size_t size)
{
	int exclusive, is_root, rc = output_path(path, size, &exclusive, &is_root);
	if (rc)
		return rc;
	rc = gt_writer_prepare(path, exclusive);
	if (rc == -EBUSY && !strstr(gt_cfg.output, "%p") && !(rc = with_pid(path, size, gt_proc.pid)))
		rc = gt_writer_prepare(path, 0); /* another process writes it */
	if (rc == -EEXIST) {
		/* The same pid started a second trace (exec of itself). */
		char alt[PATH_MAX];
		for (int n = 1; n < 100 && rc == -EEXIST; n++) {
			snprintf(alt, sizeof(alt), "%s.%d", path, n);
			rc = gt_writer_prepare(alt, 1);
		}
	}
	return rc;
}

void gt_tracer_start(void)
{
	int expected = 0;
	if (atomic_load(&gt_state) != GT_OFF ||
	    !atomic_compare_exchange_strong(&start_lock, &expected, 1))
		return;
	gt_proc.gil_seen = 1;
	gt_clock_init(!gt_cfg.no_tsc);
	publish_identity();
	char path[PATH_MAX] = "";
	int rc = 0;
	if (gt_pool.shared)
		gt_writer_prepare_external();
	else
		rc = open_own_trace(path, sizeof(path));
	if (rc) {
		gt_log_error("cannot write the trace %s: %s; not tracing", path, strerror(-rc));
		atomic_store(&gt_state, GT_DONE);
		return;
	}
	gt_signals_install();
	atomic_store(&gt_state, GT_TRACING);
	/* Release: a writer that sees TRACING sees the identity above. */
	atomic_store_explicit(&gt_pool.v.hdr->proc_state, GT_SHM_TRACING, memory_order_release);
	gt_ring_wake_writer();
	if (gt_writer_start())
		gt_log_error("cannot start the trace writer thread; the trace is written at exit");
	atomic_store(&start_lock, 0);
}

/* ---- finish ------------------------------------------------------------- */

void gt_finish(void)
{
	/* A vfork()ed child shares our memory but is not us. */
	if (getpid() != gt_proc.pid)
		return;
	int expected = GT_TRACING;
	if (!atomic_compare_exchange_strong(&gt_state, &expected, GT_FINISHING))
		return;
	int was_busy = gt_tls.busy;
	gt_tls.busy = 1;
	gt_writer_finish(gt_clock_now(), FINISH_TIMEOUT_MS);
	gt_tls.busy = was_busy;
	atomic_store(&gt_state, GT_DONE);
}

/* ---- fork --------------------------------------------------------------- */

/* CPython 3.12+ counts the OS threads at fork() and warns if there are
 * several: stop the writer so that a program forking with one thread of its
 * own gets no warning because of ours. Older versions do not look. */
static void before_fork(void)
{
	gt_writer_fork_prepare(getpid() == gt_proc.pid && gt_py.major == 3 && gt_py.minor >= 12);
}

static void in_parent(void) { gt_writer_fork_parent(); }

static void in_child(void)
{
	/* Only this thread exists here. Its TLS still describes the parent's
	 * rings and GILs; the interpreter re-creates the GIL at the same
	 * addresses right after fork (PyOS_AfterFork_Child), which starts a
	 * fresh trace for the child. */
	if (have_thread_key)
		pthread_setspecific(thread_key, NULL);
	int was_busy = gt_tls.busy;
	memset(&gt_tls, 0, sizeof(gt_tls));
	gt_tls.busy = (uint8_t)was_busy;
	int traced = atomic_load(&gt_state) != GT_OFF;
	gt_proc.pid = (int)syscall(SYS_getpid);
	gt_proc.forked_child = 1;
	if (!traced && !gt_proc.gil_seen) {
		gt_writer_fork_parent(); /* nothing to forget; just the lock */
		return;
	}
	gt_proc.gil_seen = 0;
	atomic_store(&gt_state, GT_OFF);
	atomic_store(&start_lock, 0);
	gt_gil_reset();
	gt_pool_reset();
	gt_writer_forget();
}

/* ---- construction and exit ---------------------------------------------- */

/* `giltrace run` passes a memfd to record into, so that it can write the
 * trace itself and this process gains no thread. Only the process it
 * started uses it, and only if the descriptor is still that memfd (a
 * launcher script between giltrace and Python might have reused it). */
static int shared_rings_fd(void)
{
	int fd = gt_cfg.shm_fd;
	if (fd < 0 || !gt_cfg.root_pid || gt_cfg.root_pid != gt_proc.pid)
		return -1;
	char link[64], target[64];
	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	ssize_t n = readlink(link, target, sizeof(target) - 1);
	if (n <= 0)
		return -1;
	target[n] = 0;
	return strncmp(target, "/memfd:" GT_SHM_MEMFD_NAME " ", strlen(GT_SHM_MEMFD_NAME) + 8) ? -1
												 : fd;
}

static int reserve_rings(void)
{
	int fd = shared_rings_fd();
	if (fd >= 0) {
		int rc = gt_pool_init(gt_cfg.max_threads, gt_cfg.ring_events, fd);
		/* Out of the program's sight: its descriptors and environment
		 * are its own (Python copies environ after this runs). */
		close(fd);
		unsetenv("GILTRACE_SHM_FD");
		if (!rc)
			return 0;
		gt_log_error("cannot share trace buffers with giltrace (%s); writing the trace "
			     "from this process",
			     strerror(-rc));
	}
	return gt_pool_init(gt_cfg.max_threads, gt_cfg.ring_events, -1);
}

static __attribute__((constructor(101))) void gt_init(void)
{
	int saved = errno;
	gt_tls.busy = 1;
	gt_real_resolve();
	gt_config_load();
	gt_proc.pid = (int)getpid();
	gt_proc.is_root = !gt_cfg.root_pid || gt_cfg.root_pid == gt_proc.pid;
	int wanted = !gt_cfg.disable && (gt_proc.is_root || gt_cfg.children);
	if (wanted) {
		gt_python_detect();
		/* "Not Python" is said at exit, not now: a launcher (a pyenv
		 * shim, a shell script) exec()s its way to the interpreter under
		 * the same pid, and only an image that really ends should speak
		 * (programs that close stderr at exit, as coreutils do, stay
		 * silent). */
		if (!gt_py.found) {
			/* Under `giltrace run`, giltrace says it (see gt_fini). */
			if (!gt_cfg.root_pid)
				gt_proc.no_trace_reason = "no CPython interpreter in this process";
		} else if (gt_py.free_threaded) {
			if (gt_proc.is_root)
				gt_log_info("CPython %s is a free-threading build: it has no GIL to "
					    "trace; nothing is traced",
					    gt_py.version);
		} else if (reserve_rings()) {
			gt_log_error("cannot reserve trace buffers; nothing is traced");
		} else if (!pthread_key_create(&thread_key, thread_exit)) {
			have_thread_key = 1;
			pthread_atfork(before_fork, in_parent, in_child);
			gt_proc.eligible = 1;
		}
	}
	gt_tls.busy = 0;
	errno = saved;
}

/* Was our parent started with this library preloaded too? Then it, or
 * the Python it becomes, has the say: a launcher script (a pyenv shim) runs
 * helper processes on its way to the interpreter, and each of them saying
 * "not Python" would bury the one line that matters. Reads the parent's
 * environment as it was at its exec. */
static int parent_preloaded(void)
{
	char path[64], buf[8192];
	snprintf(path, sizeof(path), "/proc/%d/environ", (int)getppid());
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	for (char *p = buf; p < buf + n; p += strlen(p) + 1)
		if (!strncmp(p, "LD_PRELOAD=", 11) && strstr(p, "libgiltrace"))
			return 1;
	return 0;
}

/* The process ends without a trace to show: say why, once. */
static void say_why_not_traced(void)
{
	if (gt_proc.no_trace_reason && gt_proc.is_root && getpid() == gt_proc.pid &&
	    !parent_preloaded()) {
		gt_log_info("%s; nothing was traced", gt_proc.no_trace_reason);
		gt_proc.no_trace_reason = NULL;
	}
}

static __attribute__((destructor(101))) void gt_fini(void)
{
	int saved = errno;
	say_why_not_traced();
	if (gt_proc.eligible && getpid() == gt_proc.pid) {
		if (atomic_load(&gt_state) == GT_OFF && !gt_proc.gil_seen && !gt_proc.forked_child &&
		    gt_proc.is_root) {
			if (gt_py.minor == 6)
				gt_log_info("CPython 3.6 never created its GIL (it does when a "
					    "second thread starts); nothing was traced");
			else
				gt_log_info("the CPython %s in this process never started; "
					    "nothing was traced",
					    gt_py.version);
		}
		gt_finish();
	}
	errno = saved;
}

/* _exit() skips destructors; os._exit() in a multiprocessing or forked
 * child is the common way a traced child ends. */
GT_EXPORT void _exit(int status)
{
	say_why_not_traced();
	gt_finish();
	gt_real.exit_(status);
	__builtin_unreachable();
}

GT_EXPORT void _Exit(int status)
{
	say_why_not_traced();
	gt_finish();
	gt_real.Exit(status);
	__builtin_unreachable();
}

/* exec replaces the image without running destructors: complete the trace
 * first. If exec fails, the rest of this image's run is not traced. */
GT_EXPORT int execve(const char *path, char *const argv[], char *const envp[])
{
	gt_finish();
	return gt_real.execve(path, argv, envp);
}

GT_EXPORT int execv(const char *path, char *const argv[])
{
	gt_finish();
	return gt_real.execv(path, argv);
}

GT_EXPORT int execvp(const char *file, char *const argv[])
{
	gt_finish();
	return gt_real.execvp(file, argv);
}

GT_EXPORT int execvpe(const char *file, char *const argv[], char *const envp[])
{
	gt_finish();
	return gt_real.execvpe(file, argv, envp);
}

GT_EXPORT int fexecve(int fd, char *const argv[], char *const envp[])
{
	gt_finish();
	return gt_real.fexecve(fd, argv, envp);
}
