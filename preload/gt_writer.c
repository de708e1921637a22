/* SPDX-License-Identifier: MIT */
/*
 * gt_writer.c — where this process's trace gets written (see gt_writer.h).
 *
 * Under `giltrace run` the giltrace process drains the rings (they are in a
 * memfd it shares with us) and this file only tells it when we are done.
 * Otherwise — plain LD_PRELOAD, or a forked child — a writer thread of ours
 * runs common/gt_drain.c: every GILTRACE_FLUSH_MS, or sooner when a
 * producer nudges because its ring is filling.
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
#include <string.h>
#include <sys/file.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "gt_clock.h"
#include "gt_config.h"
#include "gt_drain.h"
#include "gt_log.h"
#include "gt_ring.h"
#include "gt_tls.h"

_Atomic int gt_writer_running;

/* Baseline for the first TSC rate estimate. Short, because the rings fill
 * while the writer waits: 2 ms gives ~20 ppm (0.1 µs on a 5 ms switch
 * interval), and the rate is re-measured over the whole run each second. */
#define CALIBRATE_NS 2000000ull

static struct {
	pthread_t thread;
	_Atomic int stop_req;
	_Atomic int finish_req;
	_Atomic uint32_t done; /* futex: set when the trace is complete */
	uint64_t end_ticks;
	int prepared;
	int external; /* giltrace run writes the trace */
	int finished; /* the trace is complete: never restart */
	char path[PATH_MAX];
	struct gt_drain drain;
} W;

static long futex(_Atomic uint32_t *word, int op, uint32_t val, const struct timespec *ts)
{
	return syscall(SYS_futex, (uint32_t *)word, op, val, ts, NULL, 0);
}

const char *gt_writer_path(void) { return W.path; }

/* ---- output ------------------------------------------------------------- */

/* Claims the output file. With exclusive, it must not exist yet (`giltrace
 * run` created it; if it is there, this is the same pid after exec). Without,
 * an advisory lock decides: another live process writing to the same name
 * (a child started with the same GILTRACE_OUTPUT) holds it, and this one
 * must not truncate that trace: -EBUSY, the caller picks another name. The
 * lock goes with the descriptor, which is close-on-exec. */
static int open_output(const char *path, int exclusive)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | (exclusive ? O_EXCL : 0), 0644);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB)) {
		int err = errno == EWOULDBLOCK ? EBUSY : errno;
		close(fd);
		return -err;
	}
	if (ftruncate(fd, 0)) {
		int err = errno;
		close(fd);
		return -err;
	}
	return fd;
}

int gt_writer_prepare(const char *path, int exclusive)
{
	snprintf(W.path, sizeof(W.path), "%s", path);
	int fd = open_output(W.path, exclusive);
	if (fd < 0)
		return fd;
	int rc = gt_drain_open(&W.drain, &gt_pool.v, fd);
	if (rc)
		return rc;
	W.prepared = 1;
	return 0;
}

void gt_writer_prepare_external(void)
{
	W.external = 1;
	W.prepared = 1;
	atomic_store(&gt_writer_running, 1); /* nothing to start, ever */
}

/* ---- the thread --------------------------------------------------------- */

static void sleep_ms(unsigned ms)
{
	struct gt_shm_hdr *h = gt_pool.v.hdr;
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	uint32_t seen = atomic_load(&h->wake);
	atomic_store(&h->sleeping, 1);
	if (!atomic_load(&W.stop_req) && !atomic_load(&W.finish_req))
		futex(&h->wake, FUTEX_WAIT, seen, &ts);
	atomic_store(&h->sleeping, 0);
}

static void finish_now(void)
{
	struct gt_drain_result r;
	gt_drain_close(&W.drain, W.end_ticks, &r);
	if (r.error) {
		gt_log_error("writing %s failed: %s; the trace is incomplete", W.path,
			     strerror(r.error));
		return;
	}
	if (r.dropped)
		gt_log_error("%llu of %llu GIL events were dropped (a ring was full or no ring "
			     "was free); see GILTRACE_RING_EVENTS and GILTRACE_MAX_THREADS",
			     (unsigned long long)r.dropped, (unsigned long long)(r.dropped + r.events));
	if (!gt_cfg.root_pid)
		gt_log_info("wrote %s (%llu GIL events, %u threads)", W.path,
			    (unsigned long long)r.events, r.threads);
}

static void *writer_main(void *arg)
{
	(void)arg;
	gt_tls.busy = 1; /* our own libc calls pass straight through the hooks */
	while (!atomic_load(&W.stop_req) && !atomic_load(&W.finish_req)) {
		if (!gt_drain_calibrate(&W.drain, CALIBRATE_NS)) {
			struct timespec pause = {0, 200000};
			nanosleep(&pause, NULL);
			continue;
		}
		/* A thread filling an eighth of its ring per cycle could outrun
		 * a full period (and wake-ups on a VM can be late): come back
		 * soon instead of waiting for a nudge. */
		sleep_ms(gt_drain_cycle(&W.drain) ? 1 : gt_cfg.flush_ms);
	}
	if (atomic_load(&W.finish_req)) {
		finish_now();
		atomic_store(&W.done, 1);
		futex(&W.done, FUTEX_WAKE_PRIVATE, 0x7fffffff, NULL);
	}
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
	if (!lifecycle_lock(0))
		return 0;
	if (atomic_load(&gt_writer_running) || W.finished) {
		lifecycle_unlock();
		return 0;
	}
	sigset_t all, old;
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old); /* the thread inherits it */
	atomic_store(&W.stop_req, 0);
	int rc = pthread_create(&W.thread, NULL, writer_main, NULL);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!rc)
		atomic_store(&gt_writer_running, 1);
	lifecycle_unlock();
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
	struct gt_shm_hdr *h = gt_pool.v.hdr;
	atomic_store(&W.stop_req, 1);
	atomic_fetch_add(&h->wake, 1);
	futex(&h->wake, FUTEX_WAKE, 1, NULL);
	pthread_join(W.thread, NULL);
	atomic_store(&gt_writer_running, 0);
}

void gt_writer_fork_parent(void)
{
	if (held_for_fork)
		lifecycle_unlock();
	held_for_fork = 0;
}

/* The process is done: the names of the threads still running go where a
 * writer in another process, which may come after we are gone, finds them. */
static void leave_names(void)
{
	struct gt_shm *v = &gt_pool.v;
	uint32_t high = atomic_load(&v->hdr->high);
	for (uint32_t i = 0; i < high; i++) {
		struct gt_slot *s = &v->slots[i];
		if (atomic_load(&s->state) != GT_SLOT_ACTIVE)
			continue;
		char path[64];
		snprintf(path, sizeof(path), "/proc/self/task/%u/comm", s->tid);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		char name[16] = {0};
		ssize_t n = read(fd, name, 15);
		close(fd);
		if (n > 0 && name[n - 1] == '\n')
			name[n - 1] = 0;
		if (n > 0)
			memcpy(s->exit_name, name, sizeof(name));
	}
}

void gt_writer_finish(uint64_t end_ticks, unsigned timeout_ms)
{
	if (!W.prepared)
		return;
	if (W.external) {
		struct gt_shm_hdr *h = gt_pool.v.hdr;
		if (W.finished)
			return;
		W.finished = 1;
		leave_names();
		h->end_ticks = end_ticks;
		/* Release: the writer that sees FINISHED sees end_ticks and every
		 * event published before. */
		atomic_store_explicit(&h->proc_state, GT_SHM_FINISHED, memory_order_release);
		atomic_fetch_add(&h->wake, 1);
		futex(&h->wake, FUTEX_WAKE, 1, NULL);
		return;
	}
	if (!lifecycle_lock(2000)) {
		gt_log_error("could not complete the trace %s (the writer is being started "
			     "or stopped)",
			     W.path);
		return;
	}
	W.finished = 1; /* no restart after this */
	W.end_ticks = end_ticks;
	if (!atomic_load(&gt_writer_running)) {
		finish_now();
		lifecycle_unlock();
		return;
	}
	struct gt_shm_hdr *h = gt_pool.v.hdr;
	atomic_store(&W.finish_req, 1);
	atomic_fetch_add(&h->wake, 1);
	futex(&h->wake, FUTEX_WAKE, 1, NULL);
	uint64_t deadline = gt_clock_boottime_ns() + (uint64_t)timeout_ms * 1000000u;
	while (!atomic_load(&W.done)) {
		uint64_t now = gt_clock_boottime_ns();
		if (now >= deadline) {
			gt_log_error("the trace writer did not finish within %u ms; %s may be "
				     "incomplete",
				     timeout_ms, W.path);
			lifecycle_unlock();
			return;
		}
		uint64_t left = deadline - now;
		struct timespec ts = {(time_t)(left / 1000000000u), (long)(left % 1000000000u)};
		futex(&W.done, FUTEX_WAIT_PRIVATE, 0, &ts);
	}
	/* Not joined: this may run in a signal handler or just before exit,
	 * and the thread has nothing left to do but return. */
	atomic_store(&gt_writer_running, 0);
	lifecycle_unlock();
}

void gt_writer_forget(void)
{
	if (W.prepared && !W.external)
		gt_drain_forget(&W.drain);
	memset(&W, 0, sizeof(W));
	atomic_store(&gt_writer_running, 0);
	held_for_fork = 0;
	lifecycle_unlock(); /* held by the prepare handler, in the parent's name */
}
