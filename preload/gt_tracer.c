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
#include "gt_procfs.h"
#include "gt_python.h"
#include "gt_real.h"
#include "gt_ring.h"
#include "gt_sched.h"
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

/* ---- start -------------------------------------------------------------- */

/* What a writer needs to know about this process, in its entry. */
static void publish_identity(struct gt_shm_proc *p)
{
	snprintf(p->python_version, sizeof(p->python_version), "%s", gt_py.version);
	p->py_minor = gt_py.major == 3 ? (uint32_t)gt_py.minor : 0;
	gt_cpy_walk_of(&gt_py.build, gt_py.have_layout ? &gt_py.layout : NULL, &p->interps);
	p->use_tsc = gt_clock_use_tsc;
	p->anchor_ticks = gt_clock_anchor();
	p->anchor_ns = gt_clock_anchor_ns();
	p->monotonic_offset = gt_clock_monotonic_offset();
}

void gt_tracer_start(void)
{
	int expected = 0;
	if (atomic_load(&gt_state) != GT_OFF ||
	    !atomic_compare_exchange_strong(&start_lock, &expected, 1))
		return;
	gt_proc.gil_seen = 1;
	gt_clock_init(!gt_cfg.no_tsc);
	struct gt_shm_proc *p = gt_pool_claim_proc(gt_proc.forked_child ? GT_PROC_FORKED : 0);
	int rc = p ? 0 : -ENOSPC;
	if (p) {
		publish_identity(p);
		gt_gil_publish_all();
		if (gt_pool.shared)
			gt_writer_prepare_external();
		else if ((rc = gt_writer_prepare()))
			gt_log_error("cannot prepare the trace: %s; not tracing", strerror(-rc));
	}
	if (rc) {
		atomic_store(&gt_state, GT_DONE);
		return; /* start_lock stays: no second try in this image */
	}
	gt_signals_install(!gt_pool.shared);
	atomic_store(&gt_state, GT_TRACING);
	/* Release: a writer that sees TRACING sees the identity above. */
	atomic_store_explicit(&p->state, GT_PROC_TRACING, memory_order_release);
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

/* Under `giltrace run` the process records into the run's shared pool. If
 * that run is over (a daemon that outlived it starts Python later), it is
 * not traced: nobody would name or read its trace. If it cannot join for
 * another reason (another user's giltrace, after a setuid), it writes its
 * own trace, as with plain LD_PRELOAD. Returns 0 if it is to be traced. */
static int join_session(void)
{
	int rc = gt_pool_join(gt_cfg.session_pid, gt_cfg.session_fd, gt_cfg.session_id);
	if (rc == -ESRCH)
		return -1;
	if (rc)
		gt_log_error("cannot join giltrace's session (%s); this process writes its own "
			     "trace",
			     strerror(-rc));
	return 0;
}

static __attribute__((constructor(101))) void gt_init(void)
{
	int saved = errno;
	gt_tls.busy = 1;
	gt_log_hold(); /* until we know where messages go */
	gt_real_resolve();
	gt_config_load_early();
	gt_sched_init(gt_cfg.cpu_split);
	gt_proc.pid = (int)getpid();
	gt_proc.is_root = !gt_cfg.root_pid || gt_cfg.root_pid == gt_proc.pid;
	int wanted = !gt_cfg.disable && (gt_proc.is_root || gt_cfg.children);
	if (wanted) {
		gt_python_detect();
		/* "Not Python" is said at exit, not now: a launcher (a pyenv
		 * shim, a shell script) exec()s its way to the interpreter under
		 * the same pid, and only an image that really ends should speak
		 * (programs that close stderr at exit, as coreutils do, stay
		 * silent). Under `giltrace run`, giltrace says it. */
		if (!gt_py.found) {
			if (!gt_cfg.session_pid)
				gt_proc.no_trace_reason = "no CPython interpreter in this process";
		} else {
			if (gt_cfg.session_pid && join_session()) {
				/* the run is over: pass everything through */
			} else if (gt_py.free_threaded) {
				if (gt_proc.is_root)
					gt_log_info("CPython %s is a free-threading build: it has no "
						    "GIL to trace; nothing is traced",
						    gt_py.version);
			} else {
				gt_config_load(!gt_pool.shared);
				if (!gt_pool.base &&
				    gt_pool_init(gt_cfg.max_threads, gt_cfg.ring_events)) {
					gt_log_error("cannot reserve trace buffers; nothing is traced");
				} else if (!pthread_key_create(&thread_key, thread_exit)) {
					have_thread_key = 1;
					pthread_atfork(before_fork, in_parent, in_child);
					gt_proc.eligible = 1;
					if (gt_py.minor >= 7 && !gt_py.have_layout)
						gt_log_info(
							"CPython %s: no layout known for this build; "
							"its GILs are found by their behaviour alone, "
							"without interpreter ids (docs/cpython-layouts.md)",
							gt_py.version);
				}
			}
		}
	}
	if (gt_py.found)
		gt_log_release();
	else
		gt_log_discard();
	gt_tls.busy = 0;
	errno = saved;
}

/* Was our parent started with this library preloaded too? Then it, or
 * the Python it becomes, has the say: a launcher script (a pyenv shim) runs
 * helper processes on its way to the interpreter, and each of them saying
 * "not Python" would bury the one line that matters. Reads the parent's
 * environment as it was at its exec. */
int gt_parent_preloaded(void)
{
	char path[64], buf[8192];
	snprintf(path, sizeof(path), "/proc/%d/environ", (int)getppid());
	ssize_t n = gt_procfs_read(path, buf, sizeof(buf));
	if (n <= 0)
		return 0;
	for (char *p = buf; p < buf + n; p += strlen(p) + 1)
		if (!strncmp(p, "LD_PRELOAD=", 11) && strstr(p, "libgiltrace"))
			return 1;
	return 0;
}

/* The process ends without a trace to show: say why, once. */
static void say_why_not_traced(void)
{
	if (gt_proc.no_trace_reason && gt_proc.is_root && getpid() == gt_proc.pid &&
	    !gt_parent_preloaded()) {
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
