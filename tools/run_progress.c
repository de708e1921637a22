/* SPDX-License-Identifier: MIT */
/*
 * run_progress.c — `giltrace run --progress`: one status line while the
 * command runs (time, events, trace size, processes, drops).
 *
 * Opt-in, because the command shares giltrace's terminal: a line redrawn in
 * place ("\r...") is overwritten by whatever the program prints, and what
 * is left of it then garbles the program's output on screen. Asked for, it
 * is redrawn once a second on a terminal and erased at the end; elsewhere (a
 * CI log) it is a plain line every ten seconds.
 */
#include "run_summary.h"

#include <stdio.h>
#include <unistd.h>

#include "format.h"

static void tick(void *ctx, const struct run_progress *p)
{
	struct run_progress_line *l = ctx;
	uint64_t s = p->elapsed_ns / 1000000000u;
	if (!l->tty && (s < 10 || s < l->last_s + 10))
		return;
	l->last_s = s;
	char t[32], ev[32], size[32], drop[48] = "";
	gt_fmt_duration(t, sizeof(t), s * 1000000000u);
	gt_fmt_count(ev, sizeof(ev), p->events);
	gt_fmt_bytes(size, sizeof(size), p->bytes);
	if (p->dropped) {
		char d[32];
		gt_fmt_count(d, sizeof(d), p->dropped);
		snprintf(drop, sizeof(drop), ", %s dropped", d);
	}
	fprintf(stderr, "%sgiltrace: recording for %s: %s events, %s %s, %u process%s%s%s",
		l->tty ? "\r" : "", t, ev, size, p->ring ? "kept" : "written", p->traced,
		p->traced == 1 ? "" : "es", drop,
		l->tty ? "\033[K" : "\n");
	fflush(stderr);
	l->shown = 1;
}

void run_progress_start(struct run_progress_line *l, struct run_writer *w)
{
	l->tty = isatty(2);
	w->on_tick = tick;
	w->on_tick_ctx = l;
}

void run_progress_end(struct run_progress_line *l)
{
	if (l->tty && l->shown)
		fputs("\r\033[K", stderr);
}
