/* SPDX-License-Identifier: MIT */
/*
 * trace_reader.c — see trace_reader.h: the input buffer that yields whole
 * top-level packets (and says precisely where a file is cut short), handed
 * to rd_packet.c (the layers: rd_internal.h).
 */
#include "trace_reader.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <libdeflate.h>

#include "gt_pb.h"
#include "gt_perfetto_fields.h"
#include "rd_internal.h"

/* ---- top level ----------------------------------------------------------- */

static void rd_free(struct rd *r)
{
	for (size_t i = 0; i < r->seqs.cap; i++) {
		struct seq *s = rd_slot_at(&r->seqs, i);
		if (s->used)
			rd_seq_free(s);
	}
	free(r->seqs.slots);
	free(r->tracks.slots);
	free(r->stacks.slots);
	free(r->windows);
	free(r->inflated);
	if (r->inflater)
		libdeflate_free_decompressor(r->inflater);
}

/* Slices still open when the trace ends (the program was killed, or the
 * file is incomplete): hand them out as open, ending at the last event. */
static void flush_open(struct rd *r)
{
	for (size_t i = 0; i < r->stacks.cap; i++) {
		struct stack *st = rd_slot_at(&r->stacks, i);
		if (!st->used)
			continue;
		struct track *t = rd_map_get(&r->tracks, &rd_track_ops, &st->uuid, 0);
		while (t && st->depth) {
			struct open_slice *o = &st->s[--st->depth];
			r->sum->open_slices++;
			if (!o->kind)
				continue;
			uint32_t tid = t->tid;
			if (t->kind != TK_THREAD) {
				uint32_t id = st->seq;
				struct seq *s = rd_map_get(&r->seqs, &rd_seq_ops, &id, 0);
				struct track *own =
					s ? rd_map_get(&r->tracks, &rd_track_ops, &s->default_track, 0) : NULL;
				tid = own && own->kind == TK_THREAD ? own->tid : 0;
			}
			rd_emit_slice(r, (enum gt_rd_kind)o->kind, t, tid, o, r->sum->last_ts, NULL, 0, 1);
		}
	}
}

static void rd_init(struct rd *r, const struct gt_rd_callbacks *cb, struct gt_rd_summary *sum,
		    char *err, size_t errlen)
{
	memset(r, 0, sizeof(*r));
	memset(sum, 0, sizeof(*sum));
	r->cb = cb;
	r->sum = sum;
	r->err = err;
	r->errlen = errlen;
	r->seqs.size = sizeof(struct seq);
	r->tracks.size = sizeof(struct track);
	r->stacks.size = sizeof(struct stack);
	if (errlen)
		err[0] = 0;
}

static int finish(struct rd *r)
{
	if (!r->failed && !r->giltrace_seen)
		rd_fail(r, "not a giltrace trace: no giltrace tracks or metadata in it");
	if (!r->failed)
		flush_open(r);
	return r->failed ? -1 : 0;
}

/* Reads a varint from buf[0..n); returns bytes used, 0 if it needs more
 * bytes than n, -1 if malformed. */
static int peek_varint(const uint8_t *buf, size_t n, uint64_t *v)
{
	*v = 0;
	for (int i = 0; i < 10; i++) {
		if ((size_t)i >= n)
			return 0;
		*v |= (uint64_t)(buf[i] & 0x7f) << (7 * i);
		if (!(buf[i] & 0x80))
			return i + 1;
	}
	return -1;
}

/* ---- the stream: bytes pushed in, whole packets parsed ------------------- */

/* Bytes arrive in pieces of any size (a file read, a writer's chunk); each
 * top-level packet is parsed once it is whole, and what is left over waits
 * for the next piece. */
struct gt_rd_stream {
	struct rd r;
	uint8_t *buf;
	size_t cap, start, end; /* unparsed bytes: buf[start..end) */
	uint64_t base;          /* stream offset of buf[0] */
};

struct gt_rd_stream *gt_rd_stream_open(const struct gt_rd_callbacks *cb,
				       struct gt_rd_summary *sum, char *err, size_t errlen)
{
	struct gt_rd_stream *st = calloc(1, sizeof(*st));
	if (!st) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	rd_init(&st->r, cb, sum, err, errlen);
	return st;
}

/* The next packet's header at buf[start]: 1 whole (tag and length set), 0
 * not all there yet, -1 bad. */
static int packet_header(struct gt_rd_stream *st, int *ht, int *hl, uint64_t *len)
{
	uint64_t tag = 0;
	size_t n = st->end - st->start;
	*hl = 0;
	*ht = peek_varint(st->buf + st->start, n, &tag);
	if (*ht > 0)
		*hl = peek_varint(st->buf + st->start + *ht, n - (size_t)*ht, len);
	if (*ht < 0 || *hl < 0)
		return rd_fail(&st->r, "not a Perfetto trace: bad protobuf at byte %llu",
			       (unsigned long long)(st->base + st->start));
	if (*ht == 0 || *hl == 0)
		return 0;
	if (tag != ((PF_TRACE_PACKET << 3) | GT_PB_LEN))
		return rd_fail(&st->r, "not a Perfetto trace: unexpected field at byte %llu",
			       (unsigned long long)(st->base + st->start));
	if (*len > MAX_PACKET)
		return rd_fail(&st->r, "not a giltrace trace: a %llu-byte packet at byte %llu",
			       (unsigned long long)*len,
			       (unsigned long long)(st->base + st->start));
	return 1;
}

int gt_rd_stream_feed(struct gt_rd_stream *st, const void *data, size_t n)
{
	if (st->r.failed)
		return -1;
	if (st->start) { /* keep only what is unparsed */
		memmove(st->buf, st->buf + st->start, st->end - st->start);
		st->base += st->start, st->end -= st->start, st->start = 0;
	}
	if (st->end + n > st->cap) {
		size_t cap = st->cap ? st->cap : 1u << 20;
		while (cap < st->end + n)
			cap *= 2;
		uint8_t *bigger = realloc(st->buf, cap);
		if (!bigger)
			return rd_fail(&st->r, "out of memory");
		st->buf = bigger, st->cap = cap;
	}
	memcpy(st->buf + st->end, data, n);
	st->end += n;
	st->r.sum->bytes += n;
	for (;;) {
		int ht, hl;
		uint64_t len;
		int h = packet_header(st, &ht, &hl, &len);
		if (h <= 0)
			return h;
		size_t need = (size_t)ht + (size_t)hl + (size_t)len;
		if (st->end - st->start < need)
			return 0;
		st->r.packet_offset = st->base + st->start;
		if (rd_parse_packet(&st->r, st->buf + st->start + ht + hl, (size_t)len, 0))
			return -1;
		st->start += need;
	}
}

int gt_rd_stream_end(struct gt_rd_stream *st)
{
	struct rd *r = &st->r;
	if (!r->failed && st->start < st->end) {
		int ht, hl;
		uint64_t len;
		if (packet_header(st, &ht, &hl, &len) == 0)
			rd_fail(r, "truncated trace: it ends inside a packet header at byte %llu",
				(unsigned long long)(st->base + st->start));
		else if (!r->failed)
			rd_fail(r, "truncated trace: the packet at byte %llu needs %llu bytes, the "
				   "file has %llu more",
				(unsigned long long)(st->base + st->start),
				(unsigned long long)((size_t)ht + (size_t)hl + len),
				(unsigned long long)(st->end - st->start));
	}
	if (!r->failed && !r->sum->bytes)
		rd_fail(r, "empty file: no trace was ever written into it (its process was "
			   "killed before its first write, or it is not a trace)");
	int rc = r->failed ? -1 : finish(r);
	rd_free(r);
	free(st->buf);
	free(st);
	return rc;
}

/* The file, read in pieces into a stream. */
static int read_fd(struct gt_rd_stream *st, int fd)
{
	const size_t size = 1u << 20;
	uint8_t *piece = malloc(size);
	int rc = piece ? 0 : rd_fail(&st->r, "out of memory");
	while (!rc) {
		ssize_t got = read(fd, piece, size);
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			rc = rd_fail(&st->r, "cannot read the trace: %s", strerror(errno));
		else if (got == 0)
			break;
		else
			rc = gt_rd_stream_feed(st, piece, (size_t)got);
	}
	free(piece);
	return rc;
}

int gt_read_trace(const char *path, const struct gt_rd_callbacks *cb, struct gt_rd_summary *sum,
		  char *err, size_t errlen)
{
	int fd = strcmp(path, "-") ? open(path, O_RDONLY | O_CLOEXEC) : STDIN_FILENO;
	if (fd < 0) {
		memset(sum, 0, sizeof(*sum));
		snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
		return -1;
	}
	struct gt_rd_stream *st = gt_rd_stream_open(cb, sum, err, errlen);
	if (!st) {
		if (fd != STDIN_FILENO)
			close(fd);
		return -1;
	}
	read_fd(st, fd);
	if (fd != STDIN_FILENO)
		close(fd);
	return gt_rd_stream_end(st);
}

int gt_read_trace_mem(const void *data, size_t len, const struct gt_rd_callbacks *cb,
		      struct gt_rd_summary *sum, char *err, size_t errlen)
{
	struct rd r;
	rd_init(&r, cb, sum, err, errlen);
	sum->bytes = len;
	int rc;
	if (!len)
		rc = rd_fail(&r, "empty trace");
	else
		rc = rd_parse_stream(&r, data, len, 0);
	if (rc && r.failed && !strncmp(err, "corrupt trace: not a TracePacket", 32))
		snprintf(err, errlen, "not a Perfetto trace");
	if (!rc)
		rc = finish(&r);
	rd_free(&r);
	return rc;
}
