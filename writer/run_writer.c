/* SPDX-License-Identifier: MIT */
/*
 * run_writer.c — `giltrace run` drains the session pool of its run (see
 * run_writer.h).
 *
 * One pass visits every process entry in use: a new one gets its drain
 * (and, lazily, its file); each open drain takes its threads' new events;
 * an image that said it finished, whose exec() went through, or that is
 * gone, gets its trace completed; an entry whose process can no longer
 * write into it is given back. Between passes giltrace sleeps on the pool's
 * futex word, which recorders bump when a ring fills or a process changes
 * state, and SIGCHLD (the command's exit) pokes.
 */
#define _GNU_SOURCE
#include "run_writer.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gt_err.h"
#include "gt_clock.h"
#include "gt_shm_msg.h"
#include "gt_wake.h"

#define CALIBRATE_NS 2000000ull

enum rp_state { RP_NONE = 0, RP_OPEN, RP_CLOSED };

struct run_proc {
	enum rp_state st;
	uint32_t pid;
	int pidfd; /* -1: use kill(pid, 0) */
	struct gt_drain drain;
};

/* ---- settings ----------------------------------------------------------- */

/* A GILTRACE_* size, checked as the recorder would check it. */
static unsigned env_uint(const char *name, unsigned def, unsigned min, unsigned max)
{
	const char *s = getenv(name);
	if (!s)
		return def;
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (!*s || *end || errno || s[0] == '-' || v < min || v > max) {
		gt_err("%s=%s is not a whole number from %u to %u; using %u", name, s, min, max, def);
		return def;
	}
	return (unsigned)v;
}

int run_writer_create(struct run_writer *w, struct run_output *out)
{
	memset(w, 0, sizeof(*w));
	w->out = out;
	w->memfd = -1;
	w->sink = (struct run_sink){.out = out, .fd = -1};
	unsigned ring = env_uint("GILTRACE_RING_EVENTS", 65536, 1024, 1u << 22);
	if (ring & (ring - 1)) {
		unsigned p = 1024;
		while (p < ring)
			p <<= 1;
		gt_err("GILTRACE_RING_EVENTS=%u is not a power of two; using %u", ring, p);
		ring = p;
	}
	unsigned nslots = env_uint("GILTRACE_MAX_THREADS", 1024, 1, 65536);
	unsigned nprocs = env_uint("GILTRACE_MAX_PROCESSES", 256, 1, 65536);
	unsigned level = env_uint("GILTRACE_COMPRESS", 1, 0, 12);
	unsigned flush = env_uint("GILTRACE_FLUSH_MS", 100, 1, 10000);

	/* The program inherits our address-space limit (ulimit -v), and the
	 * pool, reserved not committed, counts against it: keep its room. */
	struct rlimit rl;
	if (!getrlimit(RLIMIT_AS, &rl) && rl.rlim_cur != RLIM_INFINITY &&
	    gt_shm_fit(nprocs, &nslots, &ring, gt_shm_budget(rl.rlim_cur)))
		gt_err("an address-space limit (ulimit -v) leaves room for %u threads' rings of %u "
		       "events",
		       nslots, ring);
	w->size = gt_shm_size(nprocs, nslots, ring);
	w->memfd = memfd_create(GT_SHM_MEMFD_NAME, MFD_CLOEXEC);
	if (w->memfd < 0 || ftruncate(w->memfd, (off_t)w->size)) {
		gt_err("cannot create the trace buffers: %s", strerror(errno));
		return -1;
	}
	w->map = mmap(NULL, w->size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, w->memfd,
		      0);
	if (w->map == MAP_FAILED) {
		w->map = NULL;
		gt_err("cannot map the trace buffers: %s", strerror(errno));
		return -1;
	}
	gt_shm_lay_out(w->map, nprocs, nslots, ring, (int32_t)level, flush);
	/* The run's identity: a process that finds our pid reused by another
	 * giltrace later must not join that one. */
	uint64_t id = 0;
	if (getrandom(&id, sizeof(id), 0) != sizeof(id))
		id = (uint64_t)time(NULL) << 20 ^ (uint64_t)getpid();
	((struct gt_shm_hdr *)w->map)->session = id;
	gt_shm_view(&w->v, w->map);
	w->procs = calloc(nprocs, sizeof(*w->procs));
	if (!w->procs || gt_drain_pool_init(&w->pool, &w->v)) {
		gt_err("out of memory");
		return -1;
	}
	/* Every recorder's TSC ticks convert through giltrace's own mapping
	 * of the same clock, anchored now. */
	gt_clock_start_converter();
	return 0;
}

int run_writer_keep(struct run_writer *w, uint64_t keep_ns, uint64_t max_bytes)
{
	if (run_ring_init(&w->ring, w->out, keep_ns, max_bytes, gt_clock_boottime_ns()))
		return -1;
	w->ring_on = 1;
	return 0;
}

int run_writer_in_trace(const struct run_writer *w, const struct run_trace *t)
{
	return !t->result.discarded && (!w->ring_on || run_ring_kept(&w->ring, t->part));
}

void run_writer_child_env(struct run_writer *w, pid_t giltrace_pid)
{
	char v[64];
	snprintf(v, sizeof(v), "%d:%d:%llx", (int)giltrace_pid, w->memfd,
		 (unsigned long long)w->v.hdr->session);
	setenv("GILTRACE_SESSION", v, 1);
}

void run_writer_poke(struct run_writer *w)
{
	if (w->map)
		gt_wake_kick(w->v.hdr);
}

/* ---- messages ----------------------------------------------------------- */

static int said_before(struct run_writer *w, const char *text, uint32_t len)
{
	for (size_t i = 0; i < w->nsaid; i++)
		if (strlen(w->said[i]) == len && !memcmp(w->said[i], text, len))
			return 1;
	char **more = realloc(w->said, (w->nsaid + 1) * sizeof(*more));
	if (more) {
		w->said = more;
		if ((w->said[w->nsaid] = strndup(text, len)))
			w->nsaid++;
	}
	return 0;
}

/* What the traced processes asked to say: each distinct message once
 * (several processes of a run often have the same to say). */
static void relay_messages(struct run_writer *w)
{
	uint32_t len;
	const struct gt_shm_msg *m;
	while ((m = gt_shm_msg_next(w->v.hdr, &w->msg_cursor, &len))) {
		if (said_before(w, m->text, len))
			continue;
		if (m->pid == (uint32_t)w->root)
			fprintf(stderr, "giltrace: %.*s\n", (int)len, m->text);
		else
			fprintf(stderr, "giltrace: process %u: %.*s\n", m->pid, (int)len, m->text);
	}
}

/* ---- one process image -------------------------------------------------- */

static int process_gone(const struct run_proc *rp)
{
	if (rp->pidfd >= 0) {
		struct pollfd p = {rp->pidfd, POLLIN, 0};
		return poll(&p, 1, 0) > 0;
	}
	return kill((pid_t)rp->pid, 0) && errno == ESRCH;
}

/* Has an exec() replaced the image of entry i? Its process is gone, a
 * newer image of the same pid has an entry, or the pool is no longer
 * mapped where that image had it. */
static int image_replaced(struct run_writer *w, uint32_t i)
{
	const struct gt_shm_proc *e = &w->v.procs[i];
	uint32_t high = atomic_load(&w->v.hdr->proc_high);
	for (uint32_t j = 0; j < high; j++) {
		uint32_t st = atomic_load_explicit(&w->v.procs[j].state, memory_order_acquire);
		if (j != i && st >= GT_PROC_TRACING && w->v.procs[j].pid == e->pid)
			return 1;
	}
	char path[64], want[32], line[512];
	snprintf(path, sizeof(path), "/proc/%u/maps", e->pid);
	snprintf(want, sizeof(want), "%llx-", (unsigned long long)e->map_base);
	FILE *f = fopen(path, "re");
	if (!f)
		return 1;
	int mapped = 0;
	while (!mapped && fgets(line, sizeof(line), f))
		mapped = !strncmp(line, want, strlen(want));
	fclose(f);
	return !mapped;
}

/* Now, in the clock entry e's recorder uses. */
static uint64_t ticks_now(const struct gt_shm_proc *e)
{
	return e->use_tsc ? gt_clock_tsc() : gt_clock_boottime_ns();
}

static void open_proc(struct run_writer *w, uint32_t i)
{
	struct run_proc *rp = &w->procs[i];
	const struct gt_shm_proc *e = &w->v.procs[i];
	memset(rp, 0, sizeof(*rp));
	rp->pid = e->pid;
	rp->pidfd = (int)syscall(SYS_pidfd_open, (pid_t)e->pid, 0);
	/* Every process of the run, one trace: each under its own pid, on
	 * sequences of its own (the pool hands out their ids). */
	struct gt_enc_sink sink = {run_sink_write, &w->sink};
	if (w->ring_on)
		sink = (struct gt_enc_sink){run_ring_write, &w->ring};
	if (gt_drain_open(&rp->drain, &w->pool, i, GT_RECORDER_PRELOAD, sink, w->ring_on)) {
		gt_err("out of memory: process %u is not traced", e->pid);
		rp->st = RP_CLOSED;
		return;
	}
	rp->st = RP_OPEN;
}

static void close_proc(struct run_writer *w, uint32_t i, uint64_t end_ticks, enum gt_drain_end how)
{
	struct run_proc *rp = &w->procs[i];
	struct run_trace t = {.pid = rp->pid, .how = how};
	gt_drain_close(&rp->drain, end_ticks, how, 1, &t.result);
	if (w->ring_on)
		t.part = run_ring_part_now(&w->ring);
	w->events_done += t.result.events;
	w->dropped_done += t.result.dropped;
	rp->st = RP_CLOSED;
	struct run_trace *more = realloc(w->traces, (w->ntraces + 1) * sizeof(*more));
	if (more) {
		w->traces = more;
		w->traces[w->ntraces++] = t;
	}
}

static void release_proc(struct run_writer *w, uint32_t i)
{
	struct run_proc *rp = &w->procs[i];
	if (rp->pidfd >= 0)
		close(rp->pidfd);
	memset(rp, 0, sizeof(*rp));
	gt_drain_pool_release_proc(&w->pool, i);
}

/* One pass over the entries; returns 1 if a thread produced a lot, else
 * GT_DRAIN_SOON if a drain asked to come back soon. */
static int pass(struct run_writer *w, int final)
{
	int busy = 0;
	uint32_t high = atomic_load_explicit(&w->v.hdr->proc_high, memory_order_acquire);
	for (uint32_t i = 0; i < high; i++) {
		const struct gt_shm_proc *e = &w->v.procs[i];
		struct run_proc *rp = &w->procs[i];
		/* Acquire: pairs with the recorder's release of each state. */
		uint32_t st = atomic_load_explicit(&e->state, memory_order_acquire);
		if (st < GT_PROC_TRACING)
			continue;
		if (rp->st == RP_NONE)
			open_proc(w, i);
		if (rp->st == RP_OPEN) {
			int b = gt_drain_cycle(&rp->drain);
			if (b == 1 || (b && !busy))
				busy = b;
			/* Liveness first, then the state: a process seen gone has
			 * said its last word (it may have finished meanwhile). */
			int gone = process_gone(rp);
			st = atomic_load_explicit(&e->state, memory_order_acquire);
			if (st == GT_PROC_FINISHED)
				close_proc(w, i, e->end_ticks, GT_DRAIN_EXIT);
			else if (st == GT_PROC_EXECING && (gone || image_replaced(w, i)))
				close_proc(w, i, e->end_ticks, GT_DRAIN_EXEC);
			else if (gone)
				close_proc(w, i, ticks_now(e), GT_DRAIN_GONE);
			else if (final)
				close_proc(w, i, ticks_now(e), GT_DRAIN_RUNNING);
		}
		/* Give the entry back once nothing can write into it any more:
		 * a process still finishing (daemon threads) still may. */
		if (rp->st == RP_CLOSED &&
		    (process_gone(rp) || (st == GT_PROC_EXECING && image_replaced(w, i))))
			release_proc(w, i);
	}
	return busy;
}

/* Every open drain through one phase of a cut. */
static void cut_phase(struct run_writer *w, enum gt_drain_cut phase)
{
	uint32_t high = atomic_load_explicit(&w->v.hdr->proc_high, memory_order_acquire);
	for (uint32_t i = 0; i < high; i++)
		if (w->procs[i].st == RP_OPEN)
			gt_drain_cut(&w->procs[i].drain, phase, w->ring.run_start_ns);
}

/* The newest part of the ring is full: the next begins now. Each drain
 * takes the cut's time on its own events' clock and drains what was
 * recorded up to it; an event timestamped before the cut but published
 * after the drain looked (its thread was preempted in between) is moved
 * to the cut. */
static void cut(struct run_writer *w)
{
	uint64_t now = gt_clock_boottime_ns();
	if (!run_ring_due(&w->ring, now))
		return;
	if (run_ring_cut_begin(&w->ring, now))
		return;
	cut_phase(w, GT_CUT_CLOSE);
	run_ring_cut_head(&w->ring);
	gt_enc_run_window((struct gt_enc_sink){run_ring_write, &w->ring}, &w->pool.seq_ids, now,
			  w->ring.run_start_ns);
	cut_phase(w, GT_CUT_HEAD);
	run_ring_cut_end(&w->ring, now);
	cut_phase(w, GT_CUT_OPEN);
}

/* The progress line's numbers, about once a second. */
static void tick(struct run_writer *w, uint64_t start, uint64_t *last)
{
	uint64_t now = gt_clock_boottime_ns();
	if (!w->on_tick || now < *last + 1000000000ull)
		return;
	*last = now;
	struct run_progress p = {.elapsed_ns = now - start,
				 .events = w->events_done,
				 .dropped = w->dropped_done,
				 .bytes = w->ring_on ? run_ring_size(&w->ring) : w->out->bytes,
				 .ring = w->ring_on};
	uint32_t high = atomic_load_explicit(&w->v.hdr->proc_high, memory_order_acquire);
	for (uint32_t i = 0; i < high; i++) {
		if (w->procs[i].st != RP_OPEN)
			continue;
		p.events += w->procs[i].drain.events;
		p.dropped += gt_drain_dropped(&w->procs[i].drain);
		p.traced++;
	}
	w->on_tick(w->on_tick_ctx, &p);
}

void run_writer_run(struct run_writer *w, pid_t root, int *status)
{
	w->root = root;
	*status = -1;
	uint64_t start = gt_clock_boottime_ns(), last = start;
	for (;;) {
		uint32_t seen = gt_wake_sample(w->v.hdr);
		int busy = 0;
		/* Before the first rate measurement nothing can be converted. */
		w->calibrated = gt_clock_calibrate(CALIBRATE_NS);
		if (w->calibrated)
			busy = pass(w, 0);
		if (w->calibrated && w->ring_on)
			cut(w);
		relay_messages(w);
		tick(w, start, &last);
		pid_t r = waitpid(root, status, WNOHANG);
		if (r == root || (r < 0 && errno != EINTR)) {
			if (r < 0)
				*status = -1;
			while (!gt_clock_calibrate(CALIBRATE_NS))
				gt_wake_sleep(w->v.hdr, gt_wake_sample(w->v.hdr), 1);
			pass(w, 1);
			relay_messages(w);
			/* Every process's trace is complete: the file is. */
			if (w->ring_on)
				w->ring_error = run_ring_emit(&w->ring, &w->sink,
							      gt_clock_boottime_ns());
			run_sink_close(&w->sink);
			return;
		}
		unsigned ms = busy == 1 || !w->calibrated ? 1 : w->v.hdr->flush_ms;
		if (busy == GT_DRAIN_SOON && ms > GT_DRAIN_SOON_MS)
			ms = GT_DRAIN_SOON_MS;
		gt_wake_sleep(w->v.hdr, seen, ms);
	}
}

void run_writer_free(struct run_writer *w)
{
	uint32_t n = w->v.hdr ? w->v.hdr->nprocs : 0;
	for (uint32_t i = 0; w->procs && i < n; i++) {
		if (w->procs[i].st == RP_OPEN)
			gt_drain_forget(&w->procs[i].drain);
		if (w->procs[i].pidfd > 0)
			close(w->procs[i].pidfd);
	}
	free(w->procs);
	gt_drain_pool_free(&w->pool);
	for (size_t i = 0; i < w->nsaid; i++)
		free(w->said[i]);
	free(w->said);
	free(w->traces);
	if (w->ring_on)
		run_ring_free(&w->ring);
	if (w->map)
		munmap(w->map, w->size);
	if (w->memfd >= 0)
		close(w->memfd);
	memset(w, 0, sizeof(*w));
	w->memfd = -1;
}
