/* SPDX-License-Identifier: MIT */
/*
 * gt_pb.h — minimal protobuf wire-format writer and reader.
 *
 * Header-only so the encoder, the reader and the tests share one definition of
 * the wire format. The writer is bounds-checked: a writer with a `grow`
 * function asks it for room (the encoder moves a packet that outgrows its
 * stack buffer to the heap, so no packet is ever cut short); without one, or
 * if growing fails, running out of room sets `overflow` and stops writing
 * instead of corrupting memory. Nested messages reserve one length byte and
 * move the body in the rare case it grows past 127 bytes.
 */
#ifndef GT_PB_H
#define GT_PB_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

enum { GT_PB_VARINT = 0, GT_PB_I64 = 1, GT_PB_LEN = 2, GT_PB_I32 = 5 };
#define GT_PB_VARINT_MAX 10

struct gt_pb {
	uint8_t *buf; /* start of the buffer */
	uint8_t *p;   /* next byte to write */
	uint8_t *end; /* one past the last usable byte */
	int overflow; /* set once anything did not fit */
	/* Optional: make room for n more bytes (moving buf, p and end; marks
	 * are offsets, so they stay valid). 0 on success. */
	int (*grow)(struct gt_pb *b, size_t n);
	void *ctx; /* for grow */
};

static inline void gt_pb_init(struct gt_pb *b, void *buf, size_t size)
{
	b->buf = b->p = (uint8_t *)buf;
	b->end = b->buf + size;
	b->overflow = 0;
	b->grow = NULL;
	b->ctx = NULL;
}

static inline size_t gt_pb_len(const struct gt_pb *b) { return (size_t)(b->p - b->buf); }

static inline int gt_pb_room(struct gt_pb *b, size_t n)
{
	if (__builtin_expect(!b->overflow && (size_t)(b->end - b->p) >= n, 1))
		return 1;
	if (!b->overflow && b->grow && !b->grow(b, n))
		return 1;
	b->overflow = 1;
	return 0;
}

/* Encodes v at dst (which must have GT_PB_VARINT_MAX bytes); returns the
 * number of bytes written. */
static inline size_t gt_pb_put_varint(uint8_t *dst, uint64_t v)
{
	size_t n = 0;
	while (v >= 0x80) {
		dst[n++] = (uint8_t)(v | 0x80);
		v >>= 7;
	}
	dst[n++] = (uint8_t)v;
	return n;
}

static inline size_t gt_pb_varint_size(uint64_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

static inline void gt_pb_varint(struct gt_pb *b, uint64_t v)
{
	if (gt_pb_room(b, gt_pb_varint_size(v)))
		b->p += gt_pb_put_varint(b->p, v);
}

static inline void gt_pb_tag(struct gt_pb *b, uint32_t field, unsigned wire)
{
	gt_pb_varint(b, ((uint64_t)field << 3) | wire);
}

static inline void gt_pb_uint(struct gt_pb *b, uint32_t field, uint64_t v)
{
	gt_pb_tag(b, field, GT_PB_VARINT);
	gt_pb_varint(b, v);
}

/* int64 fields encode negative values as 10-byte two's complement varints. */
static inline void gt_pb_int(struct gt_pb *b, uint32_t field, int64_t v)
{
	gt_pb_uint(b, field, (uint64_t)v);
}

static inline void gt_pb_fixed64(struct gt_pb *b, uint32_t field, uint64_t v)
{
	gt_pb_tag(b, field, GT_PB_I64);
	if (!gt_pb_room(b, 8))
		return;
	for (int i = 0; i < 8; i++)
		*b->p++ = (uint8_t)(v >> (8 * i));
}

static inline void gt_pb_bytes(struct gt_pb *b, uint32_t field, const void *data, size_t len)
{
	gt_pb_tag(b, field, GT_PB_LEN);
	gt_pb_varint(b, len);
	if (!gt_pb_room(b, len))
		return;
	memcpy(b->p, data, len);
	b->p += len;
}

static inline void gt_pb_string(struct gt_pb *b, uint32_t field, const char *s)
{
	gt_pb_bytes(b, field, s, strlen(s));
}

/* Starts a nested message; returns a mark for gt_pb_end(). */
static inline size_t gt_pb_begin(struct gt_pb *b, uint32_t field)
{
	gt_pb_tag(b, field, GT_PB_LEN);
	size_t mark = gt_pb_len(b);
	if (gt_pb_room(b, 1))
		*b->p++ = 0;
	return mark;
}

static inline void gt_pb_end(struct gt_pb *b, size_t mark)
{
	if (b->overflow)
		return;
	uint8_t *lenp = b->buf + mark;
	size_t body = (size_t)(b->p - lenp - 1);
	size_t need = gt_pb_varint_size(body);
	if (need > 1) {
		if (!gt_pb_room(b, need - 1))
			return;
		memmove(lenp + need, lenp + 1, body);
		b->p += need - 1;
	}
	gt_pb_put_varint(lenp, body);
}

/* ---- reader -------------------------------------------------------------- */

/* A cursor over a byte range. Every read is bounds-checked; a malformed input
 * sets `bad` and makes every later read return 0, so parsers can check once at
 * the end of a message. */
struct gt_pbr {
	const uint8_t *p;
	const uint8_t *end;
	int bad;
};

static inline void gt_pbr_init(struct gt_pbr *r, const void *data, size_t len)
{
	r->p = (const uint8_t *)data;
	r->end = r->p + len;
	r->bad = 0;
}

static inline int gt_pbr_more(const struct gt_pbr *r) { return !r->bad && r->p < r->end; }

static inline uint64_t gt_pbr_varint(struct gt_pbr *r)
{
	/* Most keys and many values fit in one byte. */
	if (r->p < r->end && !(*r->p & 0x80))
		return *r->p++;
	uint64_t v = 0;
	for (unsigned shift = 0; shift < 64; shift += 7) {
		if (r->p >= r->end) {
			r->bad = 1;
			return 0;
		}
		uint8_t byte = *r->p++;
		v |= (uint64_t)(byte & 0x7f) << shift;
		if (!(byte & 0x80))
			return v;
	}
	r->bad = 1;
	return 0;
}

static inline uint64_t gt_pbr_fixed(struct gt_pbr *r, unsigned n)
{
	if ((size_t)(r->end - r->p) < n) {
		r->bad = 1;
		r->p = r->end;
		return 0;
	}
	uint64_t v = 0;
	for (unsigned i = 0; i < n; i++)
		v |= (uint64_t)r->p[i] << (8 * i);
	r->p += n;
	return v;
}

/* One field: its number, wire type and value (varint/fixed value, or the
 * byte range of a length-delimited field). */
struct gt_pbr_field {
	uint32_t num;
	unsigned wire;
	uint64_t v;
	const uint8_t *data;
	size_t len;
};

/* Reads the next field; returns 0 at the end or on malformed input (check
 * r->bad to tell them apart). Unknown wire types and field 0 are malformed. */
static inline int gt_pbr_next(struct gt_pbr *r, struct gt_pbr_field *f)
{
	if (!gt_pbr_more(r))
		return 0;
	uint64_t key = gt_pbr_varint(r);
	f->num = (uint32_t)(key >> 3);
	f->wire = (unsigned)(key & 7);
	f->data = NULL;
	f->len = 0;
	f->v = 0;
	if (r->bad || f->num == 0 || (key >> 3) > 0x1fffffff) {
		r->bad = 1;
		return 0;
	}
	switch (f->wire) {
	case GT_PB_VARINT:
		f->v = gt_pbr_varint(r);
		break;
	case GT_PB_I64:
		f->v = gt_pbr_fixed(r, 8);
		break;
	case GT_PB_I32:
		f->v = gt_pbr_fixed(r, 4);
		break;
	case GT_PB_LEN: {
		uint64_t len = gt_pbr_varint(r);
		if (r->bad || len > (uint64_t)(r->end - r->p)) {
			r->bad = 1;
			return 0;
		}
		f->data = r->p;
		f->len = (size_t)len;
		r->p += len;
		break;
	}
	default:
		r->bad = 1;
		return 0;
	}
	return !r->bad;
}

#endif
