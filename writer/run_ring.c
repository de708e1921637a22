/* SPDX-License-Identifier: MIT */
/* run_ring.c — a trace that keeps the last part of a run (see run_ring.h). */
#define _GNU_SOURCE
#include "run_ring.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gt_err.h"

/* An unlinked file in dir: O_TMPFILE where the file system has it, else a
 * name of our own made and removed at once. */
static int temp_file(const char *dir)
{
	int fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (fd >= 0 || (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL))
		return fd;
	char path[PATH_MAX];
	if (snprintf(path, sizeof(path), "%s/.giltrace-part-XXXXXX", dir) >= (int)sizeof(path)) {
		errno = ENAMETOOLONG;
		return -1;
	}
	fd = mkostemp(path, O_CLOEXEC);
	if (fd >= 0)
		unlink(path); /* ours: created just now */
	return fd;
}

static void close_part(struct run_ring_part *p)
{
	if (p->head_fd >= 0)
		close(p->head_fd);
	if (p->body_fd >= 0)
		close(p->body_fd);
	p->head_fd = p->body_fd = -1;
}

/* A new newest part beginning at now_ns; the first has no head. */
static int add_part(struct run_ring *r, uint64_t now_ns)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 8;
		struct run_ring_part *np = realloc(r->parts, cap * sizeof(*np));
		if (!np) {
			errno = ENOMEM;
			return -1;
		}
		r->parts = np;
		r->cap = cap;
	}
	struct run_ring_part p = {.head_fd = -1, .body_fd = -1, .start_ns = now_ns,
				  .id = r->dropped_parts + r->n};
	if ((r->n && (p.head_fd = temp_file(r->dir)) < 0) || (p.body_fd = temp_file(r->dir)) < 0) {
		int err = errno;
		close_part(&p);
		errno = err;
		return -1;
	}
	r->parts[r->n++] = p;
	return 0;
}

int run_ring_init(struct run_ring *r, const struct run_output *o, uint64_t keep_ns,
		  uint64_t max_bytes, uint64_t now_ns)
{
	memset(r, 0, sizeof(*r));
	r->keep_ns = keep_ns;
	r->max_bytes = max_bytes;
	r->part_ns = keep_ns ? keep_ns / 4 : 0;
	r->part_bytes = max_bytes ? max_bytes / 4 : 0;
	r->run_start_ns = now_ns;
	/* Beside the trace (the space its user chose for it), unless the
	 * trace goes to a FIFO or a device: then where temporary files go. */
	const char *tmp = getenv("TMPDIR");
	if (o->kind == RUN_OUT_FILE) {
		snprintf(r->dir, sizeof(r->dir), "%s", o->root_fd >= 0 ? o->root_path : o->tmpl);
		char *slash = strrchr(r->dir, '/');
		if (slash)
			*(slash == r->dir ? slash + 1 : slash) = 0;
	} else {
		snprintf(r->dir, sizeof(r->dir), "%s", tmp && *tmp ? tmp : "/tmp");
	}
	if (add_part(r, now_ns)) {
		gt_err("cannot keep the trace's parts in %s: %s", r->dir, strerror(errno));
		return -1;
	}
	return 0;
}

/* Appends len bytes at *at of fd; 0 or an errno (*at counts what went). */
static int append(int fd, const char *b, size_t len, uint64_t *at)
{
	while (len) {
		ssize_t n = pwrite(fd, b, len, (off_t)*at);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? errno : EIO;
		*at += (uint64_t)n;
		b += n;
		len -= (size_t)n;
	}
	return 0;
}

static void drop_oldest(struct run_ring *r, size_t drop);

int run_ring_write(void *ctx, const void *data, size_t len)
{
	struct run_ring *r = ctx;
	if (r->error)
		return -r->error;
	for (int tries = 0;; tries++) {
		struct run_ring_part *p = r->to_head ? &r->parts[r->n - 1] : &r->parts[r->cur];
		int fd = r->to_head ? p->head_fd : p->body_fd;
		uint64_t *at = r->to_head ? &p->head_bytes : &p->body_bytes;
		uint64_t before = *at;
		int err = append(fd, data, len, at);
		if (!err)
			return 0;
		/* A full disk: the oldest parts make room, if there are some
		 * besides the one being written (the trace then keeps less than
		 * asked, which is said once). The piece is written again whole. */
		if ((err == ENOSPC || err == EDQUOT) && tries < 8 && r->cur > 0 &&
		    !ftruncate(fd, (off_t)before)) {
			*at = before;
			if (!r->said_full++)
				gt_err("the disk is full: the trace keeps less than --keep / --max-size "
				       "ask (its oldest parts make room)");
			drop_oldest(r, 1);
			continue;
		}
		r->error = err;
		return -err;
	}
}

uint64_t run_ring_part_now(const struct run_ring *r) { return r->parts[r->cur].id; }

int run_ring_kept(const struct run_ring *r, uint64_t part) { return part >= r->parts[0].id; }

uint64_t run_ring_size(const struct run_ring *r)
{
	uint64_t n = r->n ? r->parts[0].head_bytes : 0;
	for (size_t i = 0; i < r->n; i++)
		n += r->parts[i].body_bytes;
	return n;
}

int run_ring_due(const struct run_ring *r, uint64_t now_ns)
{
	const struct run_ring_part *p = &r->parts[r->n - 1];
	if (now_ns < r->retry_ns)
		return 0;
	return (r->part_ns && now_ns >= p->start_ns + r->part_ns) ||
	       (r->part_bytes && p->body_bytes >= r->part_bytes);
}

int run_ring_cut_begin(struct run_ring *r, uint64_t now_ns)
{
	if (add_part(r, now_ns)) {
		/* Said once; tried again a second later, meanwhile the newest
		 * part grows. */
		if (!r->said++)
			gt_err("cannot start a new part of the trace in %s (the trace keeps more "
			       "than asked until it can): %s",
			       r->dir, strerror(errno));
		r->retry_ns = now_ns + 1000000000ull;
		return -1;
	}
	return 0;
}

void run_ring_cut_head(struct run_ring *r) { r->to_head = 1; }

/* Closes (and so frees) the oldest drop parts. */
static void drop_oldest(struct run_ring *r, size_t drop)
{
	for (size_t i = 0; i < drop; i++)
		close_part(&r->parts[i]);
	memmove(r->parts, r->parts + drop, (r->n - drop) * sizeof(*r->parts));
	r->n -= drop;
	r->cur -= drop;
	r->dropped_parts += drop;
}

/* Drops the oldest parts the limits no longer need at now_ns: one whose
 * successor began at least the kept duration ago, or whose bytes make the
 * trace outgrow its size. The newest part stays. */
static void trim(struct run_ring *r, uint64_t now_ns)
{
	size_t drop = 0;
	uint64_t size = run_ring_size(r);
	while (r->n - drop >= 2) {
		const struct run_ring_part *p = &r->parts[drop], *next = p + 1;
		int old = r->keep_ns && next->start_ns + r->keep_ns <= now_ns;
		int big = r->max_bytes && size > r->max_bytes;
		if (!old && !big)
			break;
		size -= p->head_bytes + p->body_bytes;
		size += next->head_bytes;
		drop++;
	}
	drop_oldest(r, drop);
}

void run_ring_cut_end(struct run_ring *r, uint64_t now_ns)
{
	r->to_head = 0;
	r->cur = r->n - 1;
	trim(r, now_ns);
}

static int copy_out(int fd, uint64_t len, struct run_sink *s, char *buf, size_t cap)
{
	for (uint64_t off = 0; off < len;) {
		size_t want = len - off < cap ? (size_t)(len - off) : cap;
		ssize_t n = pread(fd, buf, want, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? errno : EIO;
		int rc = run_sink_write(s, buf, (size_t)n);
		if (rc)
			return -rc;
		off += (uint64_t)n;
	}
	return 0;
}

int run_ring_emit(struct run_ring *r, struct run_sink *s, uint64_t end_ns)
{
	if (r->error)
		return r->error;
	trim(r, end_ns);
	uint64_t size = run_ring_size(r);
	size_t cap = 1 << 20;
	char *buf = malloc(cap);
	if (!buf)
		return ENOMEM;
	/* Each part is given back once copied: on a file system with little
	 * room left, -o needs the size of the trace plus one part, not twice
	 * the trace. */
	int rc = 0;
	for (size_t i = 0; i < r->n; i++) {
		struct run_ring_part *p = &r->parts[i];
		if (!rc && !i)
			rc = copy_out(p->head_fd, p->head_bytes, s, buf, cap);
		if (!rc)
			rc = copy_out(p->body_fd, p->body_bytes, s, buf, cap);
		close_part(p);
	}
	free(buf);
	if (!rc && r->max_bytes && size > r->max_bytes)
		gt_err("the trace is %llu bytes, more than --max-size: its newest part alone "
		       "is that big",
		       (unsigned long long)size);
	return rc;
}

void run_ring_free(struct run_ring *r)
{
	for (size_t i = 0; i < r->n; i++)
		close_part(&r->parts[i]);
	free(r->parts);
	memset(r, 0, sizeof(*r));
}
