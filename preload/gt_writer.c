/* SPDX-License-Identifier: MIT */
/*
 * gt_writer.c — who completes this process's trace (see gt_writer.h).
 *
 * In a session (`giltrace run`) the giltrace process drains and writes;
 * gt_session.c only tells it where this process stands. With a private pool a writer thread
 * of ours runs writer/gt_drain.c every GILTRACE_FLUSH_MS, or sooner when a
 * producer nudges, and writes the file (gt_out.c) from a descriptor table of
 * its own. It never keeps the process alive: when every other thread has
 * exited it completes the trace and returns, which ends the process as the
 * last thread's exit would have.
 */
#define _GNU_SOURCE
#include "gt_writer.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "gt_clock.h"
#include "gt_config.h"
#include "gt_drain.h"
#include "gt_log.h"
#include "gt_out.h"
#include "gt_procfs.h"
#include "gt_ring.h"
#include "gt_session.h"
#include "gt_tls.h"
#include "gt_tracer.h"
#include "gt_wake.h"

_Atomic int gt_writer_running;
_Atomic int gt_writer_restart_due;

/* Baseline for the first TSC rate estimate. Short, because the rings fill
 * while the writer waits: 2 ms gives ~20 ppm (0.1 µs on a 5 ms switch
 * interval), and the rate is re-measured over the whole run each second. */
#define CALIBRATE_NS 2000000ull
#define TAIL_TIMEOUT_MS 10000u

static struct {
	pthread_t thread;
	_Atomic int stop_req;
	_Atomic int finish_req;
	_Atomic int tail_req;
	_Atomic uint32_t done;      /* futex: set when the trace is complete */
	_Atomic uint32_t tail_done; /* futex: set when the exec tail is written */
	uint64_t end_ticks;
	uint64_t tail_ticks;
	int prepared;
	int external; /* giltrace run writes the trace */
	int finished; /* the trace is complete: never restart */
	int calibrated;
	struct gt_drain_pool pool;
	struct gt_drain drain;
} W;

static long futex(_Atomic uint32_t *word, int op, uint32_t val, const struct timespec *ts)
{
	return syscall(SYS_futex, (uint32_t *)word, op, val, ts, NULL, 0);
}

/* ---- preparing ---------------------------------------------------------- */

int gt_writer_prepare(void)
{
	/* Allocated here (a hook, never a signal handler); the file itself is
	 * opened by whoever writes first, in its own descriptor table. */
	gt_out_init();
	int rc = gt_drain_pool_init(&W.pool, &gt_pool.v);
	if (!rc)
		rc = gt_drain_open(&W.drain, &W.pool, (uint32_t)gt_pool.proc, GT_RECORDER_PRELOAD,
				   (struct gt_enc_sink){gt_out_write, &gt_out}, 0);
	if (rc) {
		gt_drain_pool_free(&W.pool);
		return rc;
	}
	W.prepared = 1;
	return 0;
}

void gt_writer_prepare_external(void)
{
	W.external = 1;
	W.prepared = 1;
	atomic_store(&gt_writer_running, 1); /* nothing to start, ever */
}

/* ---- finishing ---------------------------------------------------------- */

static void report(const struct gt_drain_result *r)
{
	if (r->discarded)
		return;
	if (r->error) {
		gt_log_error("writing %s failed: %s; the trace is incomplete", gt_out.path,
			     r->error == ESTALE ? "it was removed or replaced meanwhile"
						: strerror(r->error));
		return;
	}
	if (r->dropped)
		gt_log_error("%llu of %llu GIL events were dropped (a ring was full or no ring "
			     "was free); see GILTRACE_RING_EVENTS and GILTRACE_MAX_THREADS",
			     (unsigned long long)r->dropped, (unsigned long long)(r->dropped + r->events));
	gt_log_info("wrote %s (%llu GIL events, %u thread%s)", gt_out.path,
		    (unsigned long long)r->events, r->threads, r->threads == 1 ? "" : "s");
}

static void calibrate(void)
{
	while (!W.calibrated)
		W.calibrated = gt_clock_calibrate(CALIBRATE_NS);
}

static void finish_now(void)
{
	struct gt_drain_result r;
	calibrate(); /* a very short run: measure the rate over 2 ms */
	gt_drain_close(&W.drain, W.end_ticks, GT_DRAIN_EXIT, 0, &r);
	gt_out_close();
	report(&r);
}

/* An exec() is about to replace this image: write the trace's end after
 * everything recorded, and arrange for it to be cut off again if the exec
 * fails and the process carries on. */
static void tail_now(void)
{
	calibrate();
	if (gt_drain_flush(&W.drain) || !gt_out_can_cut())
		return; /* nothing on disk yet (a forked child), or a pipe */
	/* After an earlier failed exec with nothing written since, the old
	 * tail is still to be cut: the new one replaces it. */
	uint64_t at = gt_out_end();
	if (!gt_drain_write_tail(&W.drain, W.tail_ticks))
		gt_out_cut_before_next_write(at);
}

/* ---- the thread --------------------------------------------------------- */

static void sleep_ms(unsigned ms)
{
	struct gt_shm_hdr *h = gt_pool.v.hdr;
	uint32_t seen = gt_wake_sample(h);
	/* Requests are made before a kick: seen after the sample, they are
	 * not slept through. */
	if (!atomic_load(&W.stop_req) && !atomic_load(&W.finish_req) && !atomic_load(&W.tail_req))
		gt_wake_sleep(h, seen, ms);
}

/* Is this thread the process's last one that has not exited? The main
 * thread may have called pthread_exit() (a program doing so from main, or
 * a Python thread that fork()ed and then returned in the child): then the
 * process ends with the last thread, which must not be us waiting forever.
 * 1: alone; 2: the main thread is gone but others run; 0: otherwise. */
static int alone(void)
{
	char buf[1024];
	if (gt_procfs_read("/proc/self/stat", buf, sizeof(buf)) <= 0)
		return 0;
	const char *state = gt_procfs_stat_field(buf, 3);
	const char *threads = gt_procfs_stat_field(buf, 20);
	if (!state || !threads || (*state != 'Z' && *state != 'X'))
		return 0;
	/* The zombie main thread still counts, and so do we. */
	return strtol(threads, NULL, 10) <= 2 ? 1 : 2;
}

static void *writer_main(void *arg)
{
	(void)arg;
	gt_tls.busy = 1; /* our own libc calls pass straight through the hooks */
	gt_out_enter_own_table();
	gt_log_defer_mine(); /* no stderr here: a program thread says it */
	while (!atomic_load(&W.stop_req) && !atomic_load(&W.finish_req)) {
		if (!W.calibrated && !(W.calibrated = gt_clock_calibrate(CALIBRATE_NS))) {
			struct timespec pause = {0, 200000};
			nanosleep(&pause, NULL);
			continue;
		}
		if (atomic_load(&W.tail_req)) {
			tail_now();
			atomic_store(&W.tail_req, 0);
			atomic_store(&W.tail_done, 1);
			futex(&W.tail_done, FUTEX_WAKE_PRIVATE, 0x7fffffff, NULL);
		}
		/* A thread filling an eighth of its ring per cycle could outrun
		 * a full period (and wake-ups on a VM can be late): come back
		 * soon instead of waiting for a nudge. */
		int busy = gt_drain_cycle(&W.drain);
		int a = alone();
		if (a == 1) {
			int expected = GT_TRACING;
			if (atomic_compare_exchange_strong(&gt_state, &expected, GT_FINISHING)) {
				W.finished = 1;
				W.end_ticks = gt_clock_now();
				finish_now();
				atomic_store(&gt_state, GT_DONE);
			}
			/* Returning as the last thread ends the process with
			 * status 0, as the last thread's pthread_exit() would. */
			return NULL;
		}
		unsigned ms = busy == 1 || a == 2 ? 1 : gt_cfg.flush_ms;
		if (busy == GT_DRAIN_SOON && ms > GT_DRAIN_SOON_MS)
			ms = GT_DRAIN_SOON_MS;
		sleep_ms(ms);
	}
	if (atomic_load(&W.finish_req)) {
		finish_now();
		atomic_store(&W.done, 1);
		futex(&W.done, FUTEX_WAKE_PRIVATE, 0x7fffffff, NULL);
	}
	gt_out_leave_own_table();
	return NULL;
}

/* Starting, stopping and finishing exclude each other: after a fork several
 * threads may try to restart the writer at once, and a second writer on the
 * same file would interleave its chunks. Never taken on the hot path. Start
 * only tries (someone else is doing it); stop and finish wait, boundedly, so
 * that a finish from a signal handler that interrupted a start cannot hang. */
static atomic_flag lifecycle = ATOMIC_FLAG_INIT;

static int lifecycle_lock(unsigned timeout_ms)
{
	uint64_t deadline = gt_clock_boottime_ns() + (uint64_t)timeout_ms * 1000000u;
	while (atomic_flag_test_and_set_explicit(&lifecycle, memory_order_acquire)) {
		if (gt_clock_boottime_ns() >= deadline)
			return 0;
		sched_yield();
	}
	return 1;
}

static void lifecycle_unlock(void)
{
	atomic_flag_clear_explicit(&lifecycle, memory_order_release);
}

int gt_writer_start(void)
{
	if (atomic_load(&gt_writer_running) || !W.prepared || W.external)
		return 0;
	int saved = errno;
	if (!lifecycle_lock(0))
		return 0;
	if (atomic_load(&gt_writer_running) || W.finished) {
		lifecycle_unlock();
		errno = saved;
		return 0;
	}
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old); /* the thread inherits it */
	atomic_store(&W.stop_req, 0);
	int rc = pthread_create(&W.thread, NULL, writer_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!rc) {
		atomic_store(&gt_writer_running, 1);
		atomic_store(&gt_writer_restart_due, 0);
	}
	lifecycle_unlock();
	errno = saved;
	return -rc;
}

/* Around fork() the lifecycle lock is held from the prepare handler to the
 * parent/child handlers: no thread can restart the writer in between (the
 * child would otherwise inherit a writer half-started, or the lock held). */
static int held_for_fork;

void gt_writer_fork_prepare(int stop)
{
	held_for_fork = lifecycle_lock(10000);
	if (!held_for_fork || !stop || W.external || !atomic_load(&gt_writer_running))
		return;
	atomic_store(&W.stop_req, 1);
	gt_ring_kick_writer();
	pthread_join(W.thread, NULL);
	atomic_store(&gt_writer_running, 0);
	atomic_store(&gt_writer_restart_due, 1);
}

void gt_writer_fork_parent(void)
{
	if (held_for_fork)
		lifecycle_unlock();
	held_for_fork = 0;
}

/* Asks the writer thread for something and waits for it, at most
 * timeout_ms. 1 if it was done. */
static int ask_and_wait(_Atomic int *req, _Atomic uint32_t *done, unsigned timeout_ms)
{
	atomic_store(done, 0);
	atomic_store(req, 1);
	gt_ring_kick_writer();
	uint64_t deadline = gt_clock_boottime_ns() + (uint64_t)timeout_ms * 1000000u;
	while (!atomic_load(done)) {
		uint64_t now = gt_clock_boottime_ns();
		if (now >= deadline)
			return 0;
		uint64_t left = deadline - now;
		struct timespec ts = {(time_t)(left / 1000000000u), (long)(left % 1000000000u)};
		futex(done, FUTEX_WAIT_PRIVATE, 0, &ts);
	}
	return 1;
}

void gt_writer_finish(uint64_t end_ticks, unsigned timeout_ms)
{
	if (!W.prepared)
		return;
	if (W.external) {
		if (!W.finished)
			gt_session_finish(end_ticks);
		W.finished = 1;
		return;
	}
	if (!lifecycle_lock(2000)) {
		gt_log_error("could not complete the trace %s (the writer is being started "
			     "or stopped)",
			     gt_out.path);
		return;
	}
	W.finished = 1; /* no restart after this */
	W.end_ticks = end_ticks;
	if (!atomic_load(&gt_writer_running)) {
		finish_now();
	} else if (!ask_and_wait(&W.finish_req, &W.done, timeout_ms)) {
		gt_log_error("the trace writer did not finish within %u ms; %s may be incomplete",
			     timeout_ms, gt_out.path);
	} else {
		/* Not joined: this may run in a signal handler or just before
		 * exit, and the thread has nothing left to do but return. */
		atomic_store(&gt_writer_running, 0);
	}
	gt_log_release(); /* what the writer thread had to say */
	lifecycle_unlock();
}

void gt_writer_exec_begin(uint64_t ticks)
{
	if (!W.prepared || W.finished)
		return;
	if (W.external) {
		gt_session_exec_begin(ticks);
		return;
	}
	if (!lifecycle_lock(2000))
		return;
	W.tail_ticks = ticks;
	if (!atomic_load(&gt_writer_running))
		tail_now();
	else
		ask_and_wait(&W.tail_req, &W.tail_done, TAIL_TIMEOUT_MS);
	gt_log_release();
	lifecycle_unlock();
}

void gt_writer_exec_failed(void)
{
	/* Private pool: the tail is cut off before the next write. */
	if (W.external && !W.finished)
		gt_session_exec_failed();
}

void gt_writer_forget(void)
{
	atomic_store(&gt_writer_restart_due, 0); /* the child starts its own */
	if (W.prepared && !W.external) {
		gt_drain_forget(&W.drain);
		gt_drain_pool_free(&W.pool);
		gt_out_forget();
	}
	memset(&W, 0, sizeof(W));
	atomic_store(&gt_writer_running, 0);
	held_for_fork = 0;
	lifecycle_unlock(); /* held by the prepare handler, in the parent's name */
}
