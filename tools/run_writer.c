/* SPDX-License-Identifier: MIT */
/*
 * run_writer.c — `giltrace run` drains the traced program's rings (see
 * run_writer.h).
 *
 * The handshake is all in the memfd's header: giltrace sizes the memfd to
 * one page and sleeps on the header's futex word; the recorder grows it to
 * its full size, lays it out (magic last) and, once it has a GIL, marks it
 * TRACING; at exit, exec or a terminating signal it marks it FINISHED. Each
 * step wakes the futex, and so does SIGCHLD, so giltrace notices promptly
 * whichever comes first.
 */
#define _GNU_SOURCE
#include "run_writer.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/futex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "gt_clock.h"

#define CALIBRATE_NS 2000000ull

int run_writer_create(struct run_writer *w)
{
	memset(w, 0, sizeof(*w));
	w->out_fd = -1;
	w->memfd = memfd_create(GT_SHM_MEMFD_NAME, MFD_CLOEXEC);
	if (w->memfd < 0)
		return -errno;
	/* One page to start with: the header, whose futex we sleep on until
	 * the recorder has laid the rest out. */
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	void *p = MAP_FAILED;
	if (!ftruncate(w->memfd, (off_t)page))
		p = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, w->memfd, 0);
	if (p == MAP_FAILED) {
		int err = errno;
		close(w->memfd);
		w->memfd = -1;
		return -err;
	}
	w->map = p;
	w->map_size = page;
	return 0;
}

void run_writer_child(struct run_writer *w)
{
	char fd[16];
	if (w->memfd < 0)
		return;
	fcntl(w->memfd, F_SETFD, 0); /* inherited across exec */
	snprintf(fd, sizeof(fd), "%d", w->memfd);
	setenv("GILTRACE_SHM_FD", fd, 1);
}

void run_writer_output(struct run_writer *w, int out_fd, const char *path)
{
	w->out_fd = out_fd;
	w->path = path;
}

static struct gt_shm_hdr *hdr(struct run_writer *w) { return w->map; }

void run_writer_poke(struct run_writer *w)
{
	if (!w->map)
		return;
	atomic_fetch_add(&hdr(w)->wake, 1);
	syscall(SYS_futex, (uint32_t *)&hdr(w)->wake, FUTEX_WAKE, 1, NULL, NULL, 0);
}

/* Sleeps until poked or ms have passed. */
static void sleep_ms(struct run_writer *w, uint32_t seen, unsigned ms)
{
	struct gt_shm_hdr *h = hdr(w);
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	atomic_store(&h->sleeping, 1);
	syscall(SYS_futex, (uint32_t *)&h->wake, FUTEX_WAIT, seen, &ts, NULL, 0);
	atomic_store(&h->sleeping, 0);
}

/* The recorder has laid the memfd out: map all of it. */
static int map_all(struct run_writer *w)
{
	struct gt_shm_hdr *h = hdr(w);
	if (h->magic != GT_SHM_MAGIC)
		return 0;
	atomic_thread_fence(memory_order_acquire);
	size_t size = h->size;
	struct stat st;
	if (h->version != GT_SHM_VERSION || fstat(w->memfd, &st) || (uint64_t)st.st_size < size ||
	    size != gt_shm_size(h->nslots, h->ring_events)) {
		fprintf(stderr, "giltrace: the recorder's buffers are not what this giltrace "
				"expects (a different version of libgiltrace.so?); no trace\n");
		return -1;
	}
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, w->memfd, 0);
	if (p == MAP_FAILED) {
		fprintf(stderr, "giltrace: cannot map the recorder's buffers: %s\n", strerror(errno));
		return -1;
	}
	munmap(w->map, w->map_size);
	w->map = p;
	w->map_size = size;
	gt_shm_view(&w->v, p);
	return 1;
}

static int start(struct run_writer *w)
{
	struct gt_shm_hdr *h = hdr(w);
	gt_clock_adopt(h->use_tsc, h->anchor_ticks, h->anchor_ns, h->monotonic_offset);
	int rc = gt_drain_open(&w->drain, &w->v, w->out_fd);
	w->out_fd = -1; /* the drain owns (or closed) it */
	if (rc) {
		fprintf(stderr, "giltrace: cannot write %s: %s\n", w->path, strerror(-rc));
		return -1;
	}
	w->tracing = 1;
	return 0;
}

static void finish(struct run_writer *w, uint64_t end_ticks)
{
	gt_drain_close(&w->drain, end_ticks, &w->result);
	w->tracing = 0;
	w->finished = 1;
}

void run_writer_run(struct run_writer *w, pid_t pid, int *status)
{
	int mapped = 0, broken = 0;
	*status = -1;
	for (;;) {
		struct gt_shm_hdr *h = hdr(w);
		uint32_t seen = atomic_load(&h->wake);
		int busy = 0;
		if (!mapped && !broken) {
			int m = map_all(w);
			mapped = m > 0;
			broken = m < 0;
			h = hdr(w);
		}
		uint32_t state =
			mapped ? atomic_load_explicit(&h->proc_state, memory_order_acquire) : 0;
		if (mapped && !w->tracing && !w->finished && state >= GT_SHM_TRACING &&
		    start(w))
			broken = 1, mapped = 0;
		if (w->tracing && gt_drain_calibrate(&w->drain, CALIBRATE_NS))
			busy = gt_drain_cycle(&w->drain);
		if (w->tracing && state == GT_SHM_FINISHED) {
			finish(w, h->end_ticks);
			return; /* the process may go on (exec): the caller waits */
		}
		pid_t r = waitpid(pid, status, WNOHANG);
		if (r == pid || (r < 0 && errno != EINTR)) {
			/* Gone without saying it finished (SIGKILL, a crash): the
			 * rings hold everything it recorded. */
			if (w->tracing)
				finish(w, gt_clock_now());
			if (r < 0)
				*status = -1;
			return;
		}
		*status = -1;
		/* Before the first rate measurement nothing drains: look again
		 * soon, the rings are filling. */
		unsigned ms = busy || (w->tracing && !w->drain.calibrated) ? 1
			      : w->tracing ? w->v.hdr->flush_ms : 1000;
		sleep_ms(w, seen, ms ? ms : 100);
	}
}
