/* SPDX-License-Identifier: MIT */
/*
 * rd_intern.c — see rd_intern.h. Open addressing with linear probing, kept
 * at most half full; ids are hashed because giltrace's are small and dense.
 */
#include "rd_intern.h"

#include <stdlib.h>
#include <string.h>

static uint64_t mix(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdull;
	x ^= x >> 33;
	return x;
}

static struct rd_intern_entry *slot(const struct rd_intern *t, uint64_t iid)
{
	uint32_t mask = t->cap - 1;
	for (uint32_t j = (uint32_t)mix(iid) & mask;; j = (j + 1) & mask)
		if (!t->v[j].used || t->v[j].iid == iid)
			return &t->v[j];
}

static int grow(struct rd_intern *t)
{
	uint32_t cap = t->cap ? t->cap * 2 : 16;
	struct rd_intern old = *t;
	t->v = calloc(cap, sizeof(*t->v));
	if (!t->v) {
		*t = old;
		return -1;
	}
	t->cap = cap;
	for (uint32_t i = 0; i < old.cap; i++)
		if (old.v[i].used)
			*slot(t, old.v[i].iid) = old.v[i];
	free(old.v);
	return 0;
}

static int arena_add(struct rd_arena *a, const void *str, size_t len, uint32_t *off)
{
	if (a->used + len + 1 > a->cap) {
		size_t cap = a->cap ? a->cap : 1024;
		while (a->used + len + 1 > cap)
			cap *= 2;
		if (cap > UINT32_MAX)
			return -1;
		char *s = realloc(a->s, cap);
		if (!s)
			return -1;
		a->s = s;
		a->cap = cap;
	}
	memcpy(a->s + a->used, str, len);
	a->s[a->used + len] = 0;
	*off = (uint32_t)a->used;
	a->used += len + 1;
	return 0;
}

int rd_intern_put(struct rd_intern *t, struct rd_arena *a, uint64_t iid, const void *str,
		  size_t len, uint8_t key)
{
	if ((t->n + 1) * 2 > t->cap && grow(t))
		return -1;
	uint32_t off;
	if (arena_add(a, str, len, &off))
		return -1;
	struct rd_intern_entry *e = slot(t, iid);
	if (!e->used)
		t->n++;
	*e = (struct rd_intern_entry){iid, off, key, 1};
	return 0;
}

const struct rd_intern_entry *rd_intern_find(const struct rd_intern *t, uint64_t iid)
{
	if (!t->n)
		return NULL;
	const struct rd_intern_entry *e = slot(t, iid);
	return e->used ? e : NULL;
}

void rd_intern_clear(struct rd_intern *t)
{
	if (t->n)
		memset(t->v, 0, t->cap * sizeof(*t->v));
	t->n = 0;
}

void rd_intern_free(struct rd_intern *t)
{
	free(t->v);
	*t = (struct rd_intern){0};
}
