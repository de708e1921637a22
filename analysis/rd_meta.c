/* SPDX-License-Identifier: MIT */
/*
 * rd_meta.c — the instants on a process's metadata track: each GIL's
 * identity, the interpreters that share a GIL, the start and end records,
 * and the window a kept part of a longer recording begins (whose slices
 * the reader clips to it).
 */
#include <stdlib.h>
#include <string.h>

#include "rd_internal.h"

enum { MS_VERSION, MS_RECORDER, MS_CLOCK, MS_PYTHON, MS_METHOD, MS_NOTES, MS_CPU_SPLIT };
enum { MN_FORMAT, MN_EVENTS, MN_DROPPED, MN_THREADS, MN_UNTRACED, MN_RUN_START };
_Static_assert(AK_CPU_SPLIT - AK_VERSION == MS_CPU_SPLIT && AK_RUN_START - AK_FORMAT == MN_RUN_START,
	       "enum akey lists the metadata in the order of MS_* and MN_*");

/* Process pid's trace is a window of a longer recording from ts on. */
static int window_at(struct rd *r, uint32_t pid, uint64_t ts)
{
	for (size_t i = 0; i < r->nwindows; i++)
		if (r->windows[i].pid == pid) {
			r->windows[i].ts = ts;
			return 0;
		}
	struct rd_window *w = realloc(r->windows, (r->nwindows + 1) * sizeof(*w));
	if (!w)
		return -1;
	r->windows = w;
	r->windows[r->nwindows++] = (struct rd_window){pid, ts};
	return 0;
}

/* Where pid's window begins (0: it has none). Slices come in runs of one
 * process: the last answer is kept. */
uint64_t rd_window_of(struct rd *r, uint32_t pid)
{
	if (r->win_last < r->nwindows && r->windows[r->win_last].pid == pid)
		return r->windows[r->win_last].ts;
	for (size_t i = 0; i < r->nwindows; i++)
		if (r->windows[i].pid == pid) {
			r->win_last = i;
			return r->windows[i].ts;
		}
	return 0;
}

int rd_meta_instant(struct rd *r, const struct track *t, uint64_t ts, const char *name,
		    const struct annotations *a)
{
	if (!strcmp(name, GT_NAME_GIL)) {
		if (a->gil >= 0 && a->gil < GT_MAX_GILS && r->cb->gil) {
			struct gt_rd_gil g = {t->pid, (unsigned)a->gil, a->interp_id};
			r->cb->gil(r->cb->ctx, &g);
		}
	} else if (!strcmp(name, GT_NAME_INTERP)) {
		if (a->gil >= 0 && a->gil < GT_MAX_GILS && a->interp_id >= 0 && r->cb->interp) {
			struct gt_rd_gil g = {t->pid, (unsigned)a->gil, a->interp_id};
			r->cb->interp(r->cb->ctx, &g);
		}
	} else if (!strcmp(name, GT_NAME_WINDOW)) {
		struct gt_rd_meta m = {.window = 1, .pid = t->pid, .ts = ts,
				       .run_start = a->num[MN_RUN_START]};
		if (r->cb->meta)
			r->cb->meta(r->cb->ctx, &m);
	} else if (!strcmp(name, GT_NAME_START) || !strcmp(name, GT_NAME_END)) {
		/* The strings whole, however long (two records a trace). */
		size_t total = 0;
		for (int i = 0; i <= MS_CPU_SPLIT; i++)
			total += a->str_len[i] + 1;
		char *text = malloc(total), *at = text;
		const char *str[MS_CPU_SPLIT + 1] = {0};
		if (!text)
			return rd_fail(r, "out of memory");
		for (int i = 0; i <= MS_CPU_SPLIT; i++) {
			if (!a->str[i])
				continue;
			memcpy(at, a->str[i], a->str_len[i]);
			at[a->str_len[i]] = 0;
			str[i] = at;
			at += a->str_len[i] + 1;
		}
		int m_final = !strcmp(name, GT_NAME_END);
		struct gt_rd_meta m = {
			.final = m_final,
			.pid = t->pid,
			.ts = ts,
			.giltrace_version = str[MS_VERSION],
			.recorder = str[MS_RECORDER],
			.clock = str[MS_CLOCK],
			.python_version = str[MS_PYTHON],
			.gil_method = str[MS_METHOD],
			.notes = str[MS_NOTES],
			.cpu_split = str[MS_CPU_SPLIT],
			.trace_format = a->num[MN_FORMAT],
			.events = a->num[MN_EVENTS],
			.events_dropped = a->num[MN_DROPPED],
			.threads = a->num[MN_THREADS],
			.gils_untraced = a->num[MN_UNTRACED],
			.run_start = m_final ? 0 : a->num[MN_RUN_START],
		};
		if (m.final)
			r->sum->has_end = 1;
		else
			r->sum->has_start = 1;
		if (m.run_start && window_at(r, t->pid, ts)) {
			free(text);
			return rd_fail(r, "out of memory");
		}
		if (r->cb->meta)
			r->cb->meta(r->cb->ctx, &m);
		free(text);
	}
	return 0;
}
