/* SPDX-License-Identifier: MIT */
/*
 * rd_map.c — the reader's hash maps (sequences, tracks, stacks of open
 * slices): open addressing in one growing array per map, so that memory
 * follows the number of threads and tracks, not the trace's length.
 */
#include <stdlib.h>
#include <string.h>

#include "rd_internal.h"

uint64_t rd_mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return x;
}

void *rd_slot_at(struct map *m, size_t i) { return (char *)m->slots + i * m->size; }


static int map_grow(struct map *m, const struct map_ops *ops)
{
	struct map old = *m;
	size_t cap = old.cap ? old.cap * 2 : 64;
	m->slots = calloc(cap, m->size);
	if (!m->slots) {
		*m = old;
		return -1;
	}
	m->cap = cap;
	m->count = 0;
	m->gen++;
	for (size_t i = 0; i < old.cap; i++) {
		char *s = rd_slot_at(&old, i);
		if (!s[ops->used_off])
			continue;
		/* Re-insert by copying the whole slot into its new place. */
		uint64_t h = ops->hash(s);
		for (size_t j = h & (cap - 1);; j = (j + 1) & (cap - 1)) {
			char *d = rd_slot_at(m, j);
			if (!d[ops->used_off]) {
				memcpy(d, s, m->size);
				m->count++;
				break;
			}
		}
	}
	free(old.slots);
	return 0;
}

void *rd_map_get(struct map *m, const struct map_ops *ops, const void *key, int create)
{
	if (create && (m->count + 1) * 4 > m->cap * 3 && map_grow(m, ops))
		return NULL;
	if (!m->cap)
		return NULL;
	uint64_t h = ops->hash(key);
	for (size_t j = h & (m->cap - 1);; j = (j + 1) & (m->cap - 1)) {
		char *s = rd_slot_at(m, j);
		if (!s[ops->used_off]) {
			if (!create)
				return NULL;
			memset(s, 0, m->size);
			ops->set(s, key);
			s[ops->used_off] = 1;
			m->count++;
			return s;
		}
		if (ops->eq(s, key))
			return s;
	}
}

static uint64_t seq_hash(const void *k) { return rd_mix(*(const uint32_t *)k); }
static int seq_eq(const void *s, const void *k) { return ((const struct seq *)s)->id == *(const uint32_t *)k; }
static void seq_set(void *s, const void *k) { ((struct seq *)s)->id = *(const uint32_t *)k; }
const struct map_ops rd_seq_ops = {offsetof(struct seq, used), seq_eq, seq_set, seq_hash};

static uint64_t track_hash(const void *k) { return rd_mix(*(const uint64_t *)k); }
static int track_eq(const void *s, const void *k) { return ((const struct track *)s)->uuid == *(const uint64_t *)k; }
static void track_set(void *s, const void *k) { ((struct track *)s)->uuid = *(const uint64_t *)k; }
const struct map_ops rd_track_ops = {offsetof(struct track, used), track_eq, track_set, track_hash};


static uint64_t stack_hash(const void *k)
{
	const struct stack_key *sk = k;
	return rd_mix(sk->uuid ^ ((uint64_t)sk->seq << 40) ^ sk->seq);
}
static int stack_eq(const void *s, const void *k)
{
	const struct stack *st = s;
	const struct stack_key *sk = k;
	return st->uuid == sk->uuid && st->seq == sk->seq;
}
static void stack_set(void *s, const void *k)
{
	struct stack *st = s;
	const struct stack_key *sk = k;
	st->uuid = sk->uuid;
	st->seq = sk->seq;
}
const struct map_ops rd_stack_ops = {offsetof(struct stack, used), stack_eq, stack_set, stack_hash};
