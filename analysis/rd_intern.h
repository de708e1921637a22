/* SPDX-License-Identifier: MIT */
/*
 * rd_intern.h — a trace sequence's interned strings, for the reader.
 *
 * Perfetto interns event names, annotation names and annotation strings per
 * sequence: an id stands for a string until the sequence clears its
 * incremental state. giltrace interns a handful per thread, plus one holder
 * name per thread name the thread ever had, so a thread renamed a thousand
 * times has a thousand. The tables are hash maps that grow, over one string
 * arena that grows: nothing is ever dropped (memory grows with the input,
 * which bounds it).
 */
#ifndef RD_INTERN_H
#define RD_INTERN_H

#include <stddef.h>
#include <stdint.h>

struct rd_intern_entry {
	uint64_t iid;
	uint32_t off;  /* into the arena */
	uint8_t key;   /* the caller's: e.g. which known annotation name */
	uint8_t used;
};

struct rd_intern {
	struct rd_intern_entry *v;
	uint32_t n, cap; /* cap: 0 or a power of two */
};

struct rd_arena {
	char *s;
	size_t used, cap;
};

/* Defines (or redefines) iid as str[0..len). 0, or -1 out of memory. */
int rd_intern_put(struct rd_intern *t, struct rd_arena *a, uint64_t iid, const void *str,
		  size_t len, uint8_t key);
const struct rd_intern_entry *rd_intern_find(const struct rd_intern *t, uint64_t iid);
static inline const char *rd_intern_str(const struct rd_arena *a, const struct rd_intern_entry *e)
{
	return e ? a->s + e->off : NULL;
}
/* Forgets every entry, keeping the memory. */
void rd_intern_clear(struct rd_intern *t);
void rd_intern_free(struct rd_intern *t);

#endif
