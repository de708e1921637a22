/* SPDX-License-Identifier: MIT */
/*
 * gt_writer.c — drains the per-thread rings into the Perfetto encoder.
 *
 * Each cycle (every GILTRACE_FLUSH_MS, or sooner when a producer nudges
 * because its ring is filling) visits every slot in use, converts the new
 * events' timestamps and feeds them to that thread's encoder state. A thread
 * that exited is finished and its ring given back. The encoded chunks go to
 * the file about once a second, so a killed program leaves a trace that is
 * valid up to its last chunk.
 *
 * All memory is allocated in gt_writer_prepare(); a cycle allocates nothing,
 * so finishing the trace from a signal handler or an atfork-ed child cannot
 * deadlock on malloc.
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
#include <sys/file.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "gt_clock.h"
#include "gt_config.h"
#include "gt_encoder.h"
#include "gt_gil.h"
#include "gt_log.h"
#include "gt_python.h"
#include "gt_ring.h"
#include "gt_tls.h"

_Atomic int gt_writer_running;

/* A release is settled as voluntary once this much time passed without the
 * handshake that would make it forced (which follows within microseconds). */
#define SETTLE_NS 50000000ull
#define DISK_FLUSH_NS 1000000000ull
#define NAME_REFRESH_NS 1000000000ull
/* Baseline for the first TSC rate estimate. Short, because the rings fill
 * while the writer waits: 2 ms gives ~20 ppm (0.1 µs on a 5 ms switch
 * interval), and the rate is re-measured over the whole run each second. */
#define CALIBRATE_NS 2000000ull

struct wslot {
	struct gt_enc_thread th;
	uint64_t name_checked_ns;
};

static struct {
	pthread_t thread;
	_Atomic uint32_t wake;  /* futex: bumped by producers */
	_Atomic int sleeping;
	_Atomic int stop_req;
	_Atomic int finish_req;
	_Atomic uint32_t done;  /* futex: set when the trace is complete */
	uint64_t end_ticks;
	int fd;
	int prepared;
	int finished;           /* the trace is complete: never restart */
	int started_trace;      /* process descriptor written */
	int calibrated;
	int write_errno;
	char path[PATH_MAX];
	struct gt_enc enc;
	struct wslot *slots;
	unsigned gils_declared;
	uint64_t start_ns;
	uint64_t last_disk_ns;
	uint64_t events;
	uint64_t dropped; /* from slots already released */
	uint32_t threads;
} W = {.fd = -1};

static long futex(_Atomic uint32_t *word, int op, uint32_t val, const struct timespec *ts)
{
	return syscall(SYS_futex, (uint32_t *)word, op, val, ts, NULL, 0);
}

void gt_writer_nudge(void)
{
	if (atomic_load_explicit(&W.sleeping, memory_order_relaxed)) {
		atomic_fetch_add(&W.wake, 1);
		futex(&W.wake, FUTEX_WAKE_PRIVATE, 1, NULL);
	}
}

const char *gt_writer_path(void) { return W.path; }

/* ---- output ------------------------------------------------------------- */

static void start_trace(uint64_t ts);
static void write_meta(uint64_t ts, int final);

static int sink_write(void *ctx, const void *data, size_t len)
{
	(void)ctx;
	const char *p = data;
	while (len) {
		ssize_t n = write(W.fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			W.write_errno = n < 0 ? errno : EIO;
			return -W.write_errno;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Claims the output file. With exclusive, it must not exist yet (`giltrace
 * run` removed it; if it is back, this is the same pid after exec). Without,
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
	W.fd = open_output(W.path, exclusive);
	if (W.fd < 0) {
		int err = W.fd;
		W.fd = -1;
		return err;
	}
	W.slots = calloc(gt_pool.nslots, sizeof(*W.slots));
	struct gt_enc_options opt = {
		.compress_level = gt_cfg.compress,
		.chunk_size = 256 * 1024,
		.monotonic_offset = gt_clock_monotonic_offset(),
	};
	struct gt_enc_sink sink = {sink_write, NULL};
	if (!W.slots || gt_enc_init(&W.enc, &opt, sink, (uint32_t)getpid())) {
		free(W.slots);
		W.slots = NULL;
		close(W.fd);
		W.fd = -1;
		return -ENOMEM;
	}
	W.prepared = 1;
	/* The header goes out now, so that even a process killed before the
	 * writer's first cycle leaves a trace that reads. The session starts
	 * when tracing did (the clock anchor), not when the writer first ran. */
	W.start_ns = gt_clock_anchor_ns();
	start_trace(W.start_ns);
	write_meta(W.start_ns, 0);
	gt_enc_flush(&W.enc);
	W.last_disk_ns = W.start_ns;
	return 0;
}

/* ---- one cycle ---------------------------------------------------------- */

static void read_comm(uint32_t tid, char out[16])
{
	char path[64];
	out[0] = 0;
	snprintf(path, sizeof(path), "/proc/self/task/%u/comm", tid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = read(fd, out, 15);
	close(fd);
	if (n <= 0)
		return;
	out[n] = 0;
	char *nl = strchr(out, '\n');
	if (nl)
		*nl = 0;
}

static void start_trace(uint64_t ts)
{
	char name[16], cmdline[4096];
	const char *argv[64];
	int argc = 0;

	read_comm((uint32_t)getpid(), name);
	int fd = open("/proc/self/cmdline", O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		ssize_t n = read(fd, cmdline, sizeof(cmdline) - 1);
		close(fd);
		if (n > 0) {
			cmdline[n] = 0;
			for (char *p = cmdline; p < cmdline + n && argc < 64; p += strlen(p) + 1)
				argv[argc++] = p;
		}
	}
	gt_enc_process(&W.enc, ts, name, argv, argc);
	W.started_trace = 1;
}

static void describe_gils(char *out, size_t size)
{
	unsigned n = atomic_load(&gt_ngils);
	size_t len = 0;
	out[0] = 0;
	for (unsigned i = 0; i < n && len < size; i++) {
		char how[256];
		gt_gil_method_describe(gt_gils[i].method, how, sizeof(how));
		int w = snprintf(out + len, size - len, "%sGIL %u (interp %lld): %s", i ? "; " : "",
				 i, (long long)gt_gils[i].interp_id, how);
		if (w < 0)
			break;
		len += (size_t)w;
	}
}

static uint64_t dropped_total(void)
{
	uint64_t d = W.dropped + atomic_load(&gt_pool.no_slot_events);
	uint32_t high = atomic_load(&gt_pool.high);
	for (uint32_t i = 0; i < high; i++)
		d += atomic_load_explicit(&gt_pool.slots[i].dropped, memory_order_relaxed);
	return d;
}

static void write_meta(uint64_t ts, int final)
{
	char method[1024];
	describe_gils(method, sizeof(method));
	struct gt_enc_meta m = {
		.python_version = gt_py.version,
		.gil_method = method,
		.recorder = "preload",
		.clock = gt_clock_name(),
		.events = W.events,
		.events_dropped = final ? dropped_total() : 0,
		.threads = W.threads,
		.final = final,
	};
	gt_enc_meta(&W.enc, ts, &m);
}

static void declare_gils(uint64_t ts)
{
	unsigned n = atomic_load_explicit(&gt_ngils, memory_order_acquire);
	for (; W.gils_declared < n; W.gils_declared++)
		gt_enc_gil(&W.enc, ts, W.gils_declared, gt_gils[W.gils_declared].interp_id,
			   gt_gils[W.gils_declared].interval_us);
}

static void finish_slot(struct gt_slot *s, struct wslot *w, uint64_t now_ns)
{
	if (s->exit_name[0])
		gt_enc_thread_rename(&W.enc, &w->th, s->exit_name, w->th.last_ts);
	gt_enc_thread_end(&W.enc, &w->th, w->th.last_ts > now_ns ? w->th.last_ts : now_ns,
			  GT_END_THREAD_EXIT);
	W.dropped += atomic_load(&s->dropped);
	memset(w, 0, sizeof(*w));
	gt_pool_release(s);
}

/* Returns the number of events drained. */
static uint64_t drain_slot(struct gt_slot *s, struct wslot *w, uint64_t now_ns, int final)
{
	/* Acquire: a slot seen EXITED has all of its events published. */
	uint32_t state = atomic_load_explicit(&s->state, memory_order_acquire);
	if (state == GT_SLOT_FREE)
		return 0;
	uint64_t head = atomic_load_explicit(&s->head, memory_order_acquire);
	uint64_t tail = atomic_load_explicit(&s->tail, memory_order_relaxed);
	if (!w->th.started) {
		char name[16];
		uint64_t first = tail < head ? gt_clock_to_ns(s->ev[tail & gt_pool.mask].ts) : now_ns;
		read_comm(s->tid, name);
		gt_enc_thread_start(&W.enc, &w->th, s->tid, name, first);
		w->name_checked_ns = now_ns;
		W.threads++;
	}
	uint64_t drained = head - tail;
	for (; tail < head; tail++) {
		const struct gt_event *ev = &s->ev[tail & gt_pool.mask];
		gt_enc_event(&W.enc, &w->th, ev, gt_clock_to_ns(ev->ts));
		W.events++;
	}
	/* Release: the producer may reuse these entries now. */
	atomic_store_explicit(&s->tail, tail, memory_order_release);

	if (w->th.pending && (final || now_ns > w->th.pending_ts + SETTLE_NS))
		gt_enc_thread_settle(&W.enc, &w->th);
	if (state == GT_SLOT_EXITED) {
		finish_slot(s, w, now_ns);
		return drained;
	}
	/* Names change (threading workers often name themselves right after
	 * they start): look again now and then, and one last time at the end
	 * for threads still running then. */
	if (final || now_ns > w->name_checked_ns + NAME_REFRESH_NS) {
		char name[16];
		read_comm(s->tid, name);
		if (name[0])
			gt_enc_thread_rename(&W.enc, &w->th, name, now_ns);
		w->name_checked_ns = now_ns;
	}
	return drained;
}

/* Returns 1 if some thread produced a lot since the last cycle. */
static int cycle(int final)
{
	uint64_t now_ns = gt_clock_to_ns(gt_clock_now());
	declare_gils(W.start_ns);
	uint32_t high = atomic_load_explicit(&gt_pool.high, memory_order_acquire);
	int busy = 0;
	for (uint32_t i = 0; i < high; i++)
		if (drain_slot(&gt_pool.slots[i], &W.slots[i], now_ns, final) > gt_pool.mask / 8)
			busy = 1;
	if (now_ns > W.last_disk_ns + DISK_FLUSH_NS) {
		gt_enc_flush(&W.enc);
		W.last_disk_ns = now_ns;
	}
	return busy;
}

/* The end of the trace: runs in the writer thread or, when none is running,
 * in the thread that finishes the trace. */
static void final_cycle(uint64_t end_ticks)
{
	/* A very short run: measure the rate over at least 2 ms. */
	while (!W.calibrated && !(W.calibrated = gt_clock_calibrate(2000000)))
		;
	cycle(1);
	uint64_t end_ns = gt_clock_to_ns(end_ticks);
	uint32_t high = atomic_load(&gt_pool.high);
	for (uint32_t i = 0; i < high; i++) {
		struct gt_enc_thread *th = &W.slots[i].th;
		if (!th->started)
			continue;
		if (end_ns < th->last_ts)
			end_ns = th->last_ts;
		gt_enc_thread_end(&W.enc, th, end_ns, GT_END_PROCESS_EXIT);
	}
	write_meta(end_ns, 1);
	gt_enc_flush(&W.enc);
	uint64_t dropped = dropped_total();
	if (W.write_errno || W.enc.error) {
		gt_log_error("writing %s failed: %s; the trace is incomplete", W.path,
			     strerror(W.write_errno ? W.write_errno : EIO));
	} else {
		if (dropped)
			gt_log_error("%llu of %llu GIL events were dropped (a ring was full or "
				     "no ring was free); see GILTRACE_RING_EVENTS and "
				     "GILTRACE_MAX_THREADS",
				     (unsigned long long)dropped,
				     (unsigned long long)(dropped + W.events));
		if (!gt_cfg.root_pid)
			gt_log_info("wrote %s (%llu GIL events, %u threads)", W.path,
				    (unsigned long long)W.events, W.threads);
	}
	if (W.fd >= 0)
		close(W.fd);
	W.fd = -1;
}

/* ---- the thread --------------------------------------------------------- */

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	uint32_t seen = atomic_load(&W.wake);
	atomic_store(&W.sleeping, 1);
	if (!atomic_load(&W.stop_req) && !atomic_load(&W.finish_req))
		futex(&W.wake, FUTEX_WAIT_PRIVATE, seen, &ts);
	atomic_store(&W.sleeping, 0);
}

static void *writer_main(void *arg)
{
	(void)arg;
	gt_tls.busy = 1; /* our own libc calls pass straight through the hooks */
	while (!atomic_load(&W.stop_req) && !atomic_load(&W.finish_req)) {
		if (!W.calibrated && !(W.calibrated = gt_clock_calibrate(CALIBRATE_NS))) {
			struct timespec pause = {0, 200000};
			nanosleep(&pause, NULL);
			continue;
		}
		/* A thread filling an eighth of its ring per cycle could outrun
		 * a full period (and wake-ups on a VM can be late): come back
		 * soon instead of waiting for a nudge. */
		sleep_ms(cycle(0) ? 1 : gt_cfg.flush_ms);
	}
	if (atomic_load(&W.finish_req)) {
		final_cycle(W.end_ticks);
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
	if (atomic_load(&gt_writer_running) || !W.prepared)
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
	if (!held_for_fork || !stop || !atomic_load(&gt_writer_running))
		return;
	atomic_store(&W.stop_req, 1);
	atomic_fetch_add(&W.wake, 1);
	futex(&W.wake, FUTEX_WAKE_PRIVATE, 1, NULL);
	pthread_join(W.thread, NULL);
	atomic_store(&gt_writer_running, 0);
}

void gt_writer_fork_parent(void)
{
	if (held_for_fork)
		lifecycle_unlock();
	held_for_fork = 0;
}

void gt_writer_finish(uint64_t end_ticks, unsigned timeout_ms)
{
	if (!W.prepared)
		return;
	if (!lifecycle_lock(2000)) {
		gt_log_error("could not complete the trace %s (the writer is being started "
			     "or stopped)",
			     W.path);
		return;
	}
	W.finished = 1; /* no restart after this */
	W.end_ticks = end_ticks;
	if (!atomic_load(&gt_writer_running)) {
		final_cycle(end_ticks);
		lifecycle_unlock();
		return;
	}
	atomic_store(&W.finish_req, 1);
	atomic_fetch_add(&W.wake, 1);
	futex(&W.wake, FUTEX_WAKE_PRIVATE, 1, NULL);
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
	if (W.fd >= 0)
		close(W.fd);
	if (W.prepared) {
		gt_enc_free(&W.enc);
		free(W.slots);
	}
	memset(&W, 0, sizeof(W));
	W.fd = -1;
	atomic_store(&gt_writer_running, 0);
	held_for_fork = 0;
	lifecycle_unlock(); /* held by the prepare handler, in the parent's name */
}
