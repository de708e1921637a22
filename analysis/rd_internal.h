/* SPDX-License-Identifier: MIT */
/*
 * rd_internal.h — what the reader's files share (not its API: trace_reader.h).
 *
 * The reader's layers, bottom up: rd_map.c (hash maps of sequences, tracks
 * and open-slice stacks), trace_reader.c (the input buffer that yields whole
 * top-level packets, chunks inflated, packets parsed), rd_seq.c (sequences:
 * interned strings, defaults, clocks; track descriptors), rd_events.c (track
 * events into per-(track, sequence) stacks of open slices; completed slices
 * out through the callbacks). Every length is checked against what is left
 * before it is used.
 */
#ifndef RD_INTERNAL_H
#define RD_INTERNAL_H

#include <stddef.h>
#include <stdint.h>

#include "gt_event.h" /* GT_MAX_GILS */
#include "gt_schema.h"
#include "rd_intern.h"
#include "trace_reader.h"

#define MAX_PACKET (64u << 20)  /* bigger than anything giltrace writes */
#define MAX_INFLATED (16u << 20)
#define MAX_DEPTH 4
#define TRACK_CACHE 4 /* per sequence; a power of two */

struct seq {
	uint32_t id;
	uint8_t used;
	uint8_t has_clock64;
	uint32_t default_clock;
	uint64_t default_track;
	uint64_t clock64;
	int64_t clock64_offset;
	/* Interned strings; annotation names carry their enum akey, resolved
	 * once. */
	struct rd_intern names, anames, astrs;
	struct rd_arena arena;
	/* The few tracks this sequence's events name (its thread's, its GIL's
	 * holder and waiters), as found in r->tracks at generation
	 * track_gen - 1 (0: nothing cached). */
	struct {
		uint64_t uuid;
		struct track *t;
	} tcache[TRACK_CACHE];
	size_t track_gen;
};

enum track_kind { TK_OTHER = 0, TK_PROCESS, TK_THREAD, TK_HOLDER, TK_WAITERS, TK_CONTENDED,
		  TK_INTERVAL, TK_META };

struct track {
	uint64_t uuid;
	uint8_t used;
	uint8_t kind;
	uint32_t pid, tid;
	int gil;
};

struct open_slice {
	uint64_t ts;
	uint8_t kind;
	int gil;
	uint32_t holder_tid, prev_holder;
	uint8_t flow_in;
};

struct stack {
	uint64_t uuid;
	uint32_t seq;
	uint8_t used;
	uint8_t depth;
	struct open_slice s[MAX_DEPTH];
};

struct map {
	void *slots;
	size_t cap, count, size; /* size = bytes per slot */
	size_t gen;              /* bumped when slots move (pointers go stale) */
};

/* Open addressing; every slot type starts with its key and a used byte at
 * offset used_off. Returns the slot for key, creating it if create. */
typedef int (*key_eq_fn)(const void *slot, const void *key);
typedef void (*key_set_fn)(void *slot, const void *key);

struct map_ops {
	size_t used_off;
	key_eq_fn eq;
	key_set_fn set;
	uint64_t (*hash)(const void *key);
};


struct stack_key {
	uint64_t uuid;
	uint32_t seq;
};

void *rd_slot_at(struct map *m, size_t i);
void *rd_map_get(struct map *m, const struct map_ops *ops, const void *key, int create);
uint64_t rd_mix(uint64_t x);
extern const struct map_ops rd_seq_ops, rd_track_ops, rd_stack_ops;

struct rd {
	const struct gt_rd_callbacks *cb;
	struct gt_rd_summary *sum;
	char *err;
	size_t errlen;
	int failed;
	uint64_t packet_offset; /* file offset of the packet being parsed */
	struct map seqs, tracks, stacks;
	struct seq *last_seq; /* of the last packet, valid at seqs.gen == last_seq_gen - 1 */
	size_t last_seq_gen;
	uint8_t *inflated;
	size_t inflated_cap;
	struct libdeflate_decompressor *inflater;
	int giltrace_seen;      /* metadata or GIL tracks */
	/* Processes whose start record opens a window of a longer recording
	 * (run_start): nothing of theirs is before it (rd_emit_slice()). */
	struct rd_window {
		uint32_t pid;
		uint64_t ts;
	} *windows;
	size_t nwindows, win_last;
};


/* Sets the error (the first one wins); returns -1. */
int rd_fail(struct rd *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* "corrupt trace: <what> in the packet at byte N"; returns -1. */
int rd_corrupt(struct rd *r, const char *what);

/* The debug annotations giltrace writes, by name (docs/trace-format.md). An
 * interned name is resolved to one of these once, not on every event. */
enum akey {
	AK_NONE,
	AK_HOLDER_TID, AK_TIMEOUTS, AK_REQUESTED_BY, AK_PREV_HOLDER, AK_ENDED, AK_GIL,
	AK_INTERP_ID, AK_CPU_WAIT, AK_HOLDER_CPU_WAIT,
	AK_FORMAT, AK_EVENTS, AK_DROPPED, AK_THREADS, AK_UNTRACED, AK_RUN_START, /* MN_* */
	AK_VERSION, AK_RECORDER, AK_CLOCK, AK_PYTHON, AK_METHOD, AK_NOTES, AK_CPU_SPLIT, /* MS_* */
	AK_MAX
};

static const char *const akey_names[AK_MAX] = {
	[AK_HOLDER_TID] = GT_AN_HOLDER, [AK_TIMEOUTS] = GT_AN_TIMEOUTS,
	[AK_REQUESTED_BY] = GT_AN_REQUESTED_BY, [AK_PREV_HOLDER] = GT_AN_PREV_HOLDER,
	[AK_ENDED] = GT_AN_ENDED, [AK_GIL] = GT_AN_GIL, [AK_INTERP_ID] = GT_AN_INTERP_ID,
	[AK_CPU_WAIT] = GT_AN_CPU_WAIT, [AK_HOLDER_CPU_WAIT] = GT_AN_HOLDER_CPU_WAIT,
	[AK_FORMAT] = GT_AN_FORMAT, [AK_EVENTS] = GT_AN_EVENTS, [AK_DROPPED] = GT_AN_DROPPED,
	[AK_THREADS] = GT_AN_THREADS, [AK_UNTRACED] = GT_AN_UNTRACED,
	[AK_RUN_START] = GT_AN_RUN_START,
	[AK_VERSION] = GT_AN_VERSION, [AK_RECORDER] = GT_AN_RECORDER, [AK_CLOCK] = GT_AN_CLOCK,
	[AK_PYTHON] = GT_AN_PYTHON, [AK_METHOD] = GT_AN_METHOD, [AK_NOTES] = GT_AN_NOTES,
	[AK_CPU_SPLIT] = GT_AN_CPU_SPLIT,
};

uint8_t rd_akey_of(const void *name, size_t len);

/* rd_seq.c */
const char *rd_intern_get(const struct seq *s, const struct rd_intern *t, uint64_t iid);
void rd_seq_clear_interned(struct seq *s);
void rd_seq_free(struct seq *s);
int rd_parse_interned(struct rd *r, struct seq *s, const uint8_t *p, size_t n);
struct seq *rd_get_seq(struct rd *r, uint32_t id);
int rd_parse_defaults(struct rd *r, struct seq *s, const uint8_t *p, size_t n);
int rd_parse_snapshot(struct rd *r, struct seq *s, const uint8_t *p, size_t n);
/* data (len bytes, not NUL-terminated) into out, cut at a character. */
void rd_copy_text(char *out, size_t size, const uint8_t *data, size_t len);
int rd_parse_descriptor(struct rd *r, const uint8_t *p, size_t n);

/* rd_packet.c: one packet (depth counts nested compressed chunks), and a
 * run of length-delimited packets */
int rd_parse_packet(struct rd *r, const uint8_t *p, size_t n, int depth);
int rd_parse_stream(struct rd *r, const uint8_t *p, size_t n, int depth);

/* rd_events.c */
struct annotations {
	uint32_t holder_tid, timeouts, requested_by, prev_holder;
	int ended;
	int has_cpu_wait, has_holder_cpu_wait;
	uint64_t cpu_wait, holder_cpu_wait; /* ns */
	int64_t gil, interp_id; /* GT_NAME_GIL: -1 if not said */
	/* metadata: strings as found in the packet (not NUL-terminated; the
	 * packet outlives the annotations), numbers */
	const uint8_t *str[8];
	size_t str_len[8];
	uint64_t num[8];
};

struct track *rd_seq_track(struct rd *r, struct seq *s, uint64_t uuid);

/* rd_meta.c: an instant on a metadata track, named name; 0 or an error. */
int rd_meta_instant(struct rd *r, const struct track *t, uint64_t ts, const char *name,
		    const struct annotations *a);
/* Where pid's window begins (0: it has none). */
uint64_t rd_window_of(struct rd *r, uint32_t pid);
int rd_parse_track_event(struct rd *r, struct seq *s, uint64_t ts, const uint8_t *p, size_t n);
void rd_emit_slice(struct rd *r, enum gt_rd_kind kind, const struct track *t, uint32_t tid,
		   const struct open_slice *o, uint64_t end, const struct annotations *a,
		   int flow_out, int open);

#endif
