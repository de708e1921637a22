/* SPDX-License-Identifier: MIT */
/*
 * run_summary.c — what `giltrace run` says once the command has ended:
 * where each trace went, then the root trace's summary (the report's, from
 * the bytes read as they were written), with the convoy tracks added.
 */
#define _GNU_SOURCE
#include "run_summary.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

/* How a process image ended, when that is worth a word. */
static const char *ending(const struct run_trace *t)
{
	switch (t->how) {
	case GT_DRAIN_GONE:
		return "was killed: its part of the trace ends where giltrace saw it gone";
	case GT_DRAIN_RUNNING:
		return "was still running when the command ended: its part of the trace ends "
		       "there";
	default:
		return NULL;
	}
}

/* --keep / --max-size: the errno that lost the parts, or 0. */
static int ring_error(const struct run_writer *w)
{
	return w->ring_on ? (w->ring.error ? w->ring.error : w->ring_error) : 0;
}

/* Says what the run wrote: the trace, how many processes are in it, and
 * what went wrong for any of them (also with -q: one line unless something
 * did). Returns 1 if the trace holds at least one process. */
static int list_traces(const struct run_writer *w, int quiet, int rc)
{
	const struct run_sink *s = &w->sink;
	if (ring_error(w) && !s->error) {
		gt_err("the trace is lost: its parts could not be kept in %s: %s", w->ring.dir,
		       strerror(ring_error(w)));
		return 0;
	}
	size_t n = 0;
	for (size_t i = 0; i < w->ntraces; i++)
		n += run_writer_in_trace(w, &w->traces[i]);
	if (!n || (!s->error && !s->path[0])) /* nothing reached the file */
		return 0;
	if (s->error == ESTALE) {
		gt_err("the trace is lost: %s was removed or replaced while giltrace wrote it",
		       s->path);
		return 0;
	}
	if (s->error) {
		gt_err("cannot write the trace%s%s: %s", s->path[0] ? " to " : "", s->path,
		       strerror(s->error));
		return 0;
	}

	for (size_t i = 0; i < w->ntraces; i++) {
		const struct run_trace *t = &w->traces[i];
		if (!run_writer_in_trace(w, t))
			continue;
		if (t->result.dropped)
			gt_err("process %u: %llu of %llu GIL events were dropped (a ring was full or "
			       "no ring was free); see GILTRACE_RING_EVENTS and GILTRACE_MAX_THREADS",
			       t->pid, (unsigned long long)t->result.dropped,
			       (unsigned long long)(t->result.dropped + t->result.events));
		/* Helpers that outlive the command (multiprocessing's resource
		 * tracker) are worth a word, but -q promised one line. */
		/* The command itself dying of a signal (Ctrl-C, kill) is what
		 * its exit status says; under giltrace run no handler of ours
		 * delays its death, and giltrace ends its part. */
		if (t->pid == (uint32_t)w->root && t->how == GT_DRAIN_GONE && rc > 128) {
			const char *sig = sigabbrev_np(rc - 128);
			if (!quiet)
				gt_err("process %u died of SIG%s: its part of the trace ends there",
				       t->pid, sig ? sig : "?");
		} else if (ending(t) && (!quiet || t->how == GT_DRAIN_GONE)) {
			gt_err("process %u %s", t->pid, ending(t));
		}
	}
	char procs[48] = "";
	if (n > 1)
		snprintf(procs, sizeof(procs), "%zu processes%s", n, quiet ? "" : "; ");
	if (quiet)
		fprintf(stderr, "giltrace: trace written to %s%s%s%s\n", s->path, n > 1 ? " (" : "",
			procs, n > 1 ? ")" : "");
	else
		fprintf(stderr, "giltrace: trace written to %s (%sopen it in https://ui.perfetto.dev)\n",
			s->path, procs);
	return 1;
}


static int tee_feed(void *ctx, const void *data, size_t len)
{
	struct streamed *s = ctx;
	if (s->st && !s->failed && gt_rd_stream_feed(s->st, data, len))
		s->failed = 1;
	return 0;
}

void run_stream_start(struct streamed *s, struct run_writer *w,
			 const struct gt_convoy_opts *convoy)
{
	gt_metrics_init(&s->m);
	s->m.convoy_opts = *convoy;
	s->m.keep_episodes = 1;
	s->cb = gt_metrics_callbacks(&s->m);
	s->st = gt_rd_stream_open(&s->cb, &s->sum, s->err, sizeof(s->err));
	w->sink.tee = tee_feed;
	w->sink.tee_ctx = s;
}

/* The metrics of what was streamed: 0, or -1 if they cannot stand for the
 * file (the stream broke off or failed; the file is read instead). */
static int stream_end(struct streamed *s)
{
	if (!s->st)
		return -1;
	int rc = gt_rd_stream_end(s->st);
	s->st = NULL;
	if (rc || s->failed)
		return -1;
	gt_metrics_finish(&s->m, &s->sum);
	return s->m.oom ? -1 : 0;
}

/* The convoy tracks go into the trace, unless they would take it past
 * --max-size: then they are taken off again (giltrace wrote those bytes). */
static void annotate(const struct run_writer *w, const char *path, const struct gt_metrics *m)
{
	char err[512];
	struct stat st;
	off_t before = stat(path, &st) ? -1 : st.st_size;
	if (gt_report_annotate(path, m, err, sizeof(err)) < 0) {
		gt_err("%s", err);
		return;
	}
	uint64_t max = w->ring_on ? w->ring.max_bytes : 0;
	if (!max || before < 0 || stat(path, &st) || (uint64_t)st.st_size <= max)
		return;
	if (truncate(path, before))
		gt_err("%s: the convoy tracks take it past --max-size: %s", path, strerror(errno));
	else
		gt_err("the convoy tracks would take the trace past --max-size: not written "
		       "(giltrace report --annotate %s adds them)",
		       path);
}

int run_report(struct run_writer *w, struct run_output *out, const struct run_report_opts *o,
	       struct streamed *streamed, int rc)
{
	int written = list_traces(w, o->quiet, rc);
	if (!written)
		run_output_discard_root(out); /* no process left anything */
	if (!written && !w->sink.error && !ring_error(w)) {
		/* A free-threading build or a 3.6 that never started a thread
		 * said so above. */
		size_t ran = 0;
		for (size_t i = 0; i < w->ntraces; i++)
			ran += !w->traces[i].result.discarded;
		if (ran)
			gt_err("no trace was written to %s: every traced process ended in a part of "
			       "the run that --keep / --max-size dropped",
			       out->root_path);
		else if (getenv("GILTRACE_DISABLE") && strcmp(getenv("GILTRACE_DISABLE"), "0"))
			gt_err("no trace was written to %s: GILTRACE_DISABLE is set, nothing was "
			       "traced",
			       out->root_path);
		else if (!atomic_load(&w->v.hdr->pythons))
			gt_err("no trace was written to %s: the command ran no CPython "
			       "interpreter%s",
			       out->root_path,
			       o->children ? "" : " (--no-children: the programs it ran were not traced)");
		else
			gt_err("no trace was written to %s: CPython ran but took no GIL",
			       out->root_path);
		run_output_discard_root(out);
		return rc;
	}
	const char *path = w->sink.path;
	if (!written || o->no_report)
		return rc;
	if (out->kind != RUN_OUT_FILE) {
		gt_err("%s is not a regular file: no summary (giltrace report reads a trace "
		       "from a file)",
		       path);
		return rc;
	}
	/* The convoys go into the trace, and the summary is the report's:
	 * from what was read while it was written, or else from the file. */
	struct gt_metrics m;
	struct gt_summary sum;
	char err[512];
	if (!stream_end(streamed)) {
		m = streamed->m;
		gt_metrics_init(&streamed->m);
	} else {
		gt_metrics_free(&streamed->m);
		if (gt_report_load(path, &m, &o->convoy, 1, err, sizeof(err))) {
			gt_err("%s: %s", path, err);
			gt_metrics_free(&m);
			return rc;
		}
	}
	if (gt_summarize(&m, &sum)) {
		gt_err("out of memory");
		gt_metrics_free(&m);
		return rc;
	}
	annotate(w, path, &m);
	if (!o->quiet) {
		struct gt_report_opts ro = {.trace_path = path, .top = 20, .docs = gt_cli_docs()};
		gt_report_text(stderr, &m, &sum, &ro);
	}
	gt_summary_free(&sum);
	gt_metrics_free(&m);
	return rc;
}

