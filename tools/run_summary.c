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

#include "cli.h"

/* How a trace's process ended, for its line. */
static const char *ending(const struct run_trace *t)
{
	switch (t->how) {
	case GT_DRAIN_GONE:
		return " (the process was killed: its trace ends where giltrace saw it gone)";
	case GT_DRAIN_RUNNING:
		return " (the process was still running when the command ended: its trace "
		       "ends there)";
	default:
		return "";
	}
}

/* Says where every trace went (quiet: the root's, and how many others, on
 * one line); returns the first traced process's, or NULL if it left none. */
static const struct run_trace *list_traces(const struct run_writer *w, int quiet)
{
	size_t others = 0;
	const struct run_trace *root = NULL;
	for (size_t i = 0; i < w->ntraces; i++)
		if (w->traces[i].root)
			root = &w->traces[i];
	for (size_t i = 0; i < w->ntraces; i++) {
		const struct run_trace *t = &w->traces[i];
		if (t->result.discarded)
			continue;
		if (t->error == ESTALE) {
			gt_err("the trace of process %u is lost: %s was removed or replaced while "
			       "giltrace wrote it",
			       t->pid, t->path);
			continue;
		}
		if (t->error) {
			gt_err("cannot write the trace of process %u%s%s: %s", t->pid,
			       t->path[0] ? " to " : "", t->path, strerror(t->error));
			continue;
		}
		if (t->result.dropped)
			gt_err("%s: %llu of %llu GIL events were dropped (a ring was full or no "
			       "ring was free); see GILTRACE_RING_EVENTS and GILTRACE_MAX_THREADS",
			       t->path, (unsigned long long)t->result.dropped,
			       (unsigned long long)(t->result.dropped + t->result.events));
		if (t == root && quiet)
			continue; /* said last, with the count of the others */
		if (t == root)
			fprintf(stderr,
				"giltrace: trace written to %s (open it in https://ui.perfetto.dev)%s\n",
				t->path, ending(t));
		else if (quiet)
			others++;
		else
			fprintf(stderr, "giltrace: process %u's trace: %s%s\n", t->pid, t->path,
				ending(t));
	}
	if (quiet && root && !root->error && !root->result.discarded)
		fprintf(stderr, "giltrace: trace written to %s%s%s%.0zu%s\n", root->path,
			ending(root), others ? " (and " : "", others,
			others == 1 ? " other process's beside it)"
			: others    ? " other processes' beside it)"
				    : "");
	else if (quiet && others)
		fprintf(stderr, "giltrace: %zu traces written beside %s\n", others,
			w->traces[0].path);
	return root && !root->error ? root : NULL;
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
	w->root_tee = tee_feed;
	w->root_tee_ctx = s;
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

int run_report(struct run_writer *w, struct run_output *out, const struct run_report_opts *o,
	       struct streamed *streamed, int rc)
{
	const struct run_trace *root = list_traces(w, o->quiet);
	if (!root)
		run_output_discard_root(out); /* the first process left no trace */
	if (!w->ntraces) {
		/* A free-threading build or a 3.6 that never started a thread
		 * said so above. */
		if (getenv("GILTRACE_DISABLE") && strcmp(getenv("GILTRACE_DISABLE"), "0"))
			gt_err("no trace was written to %s: GILTRACE_DISABLE is set, nothing was "
			       "traced",
			       out->root_path);
		else if (!atomic_load(&w->v.hdr->pythons))
			gt_err("no trace was written to %s: the command ran no CPython "
			       "interpreter%s",
			       out->root_path,
			       o->children ? "" : " (the programs it runs are traced with --children)");
		else
			gt_err("no trace was written to %s: CPython ran but took no GIL",
			       out->root_path);
		run_output_discard_root(out);
		return rc;
	}
	if (!root || o->no_report)
		return rc;
	if (out->kind != RUN_OUT_FILE) {
		gt_err("%s is not a regular file: no summary (giltrace report reads a trace "
		       "from a file)",
		       root->path);
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
		if (gt_report_load(root->path, &m, &o->convoy, 1, err, sizeof(err))) {
			gt_err("%s: %s", root->path, err);
			gt_metrics_free(&m);
			return rc;
		}
	}
	if (gt_summarize(&m, &sum)) {
		gt_err("out of memory");
		gt_metrics_free(&m);
		return rc;
	}
	if (gt_report_annotate(root->path, &m, err, sizeof(err)) < 0)
		gt_err("%s", err);
	if (!o->quiet) {
		struct gt_report_opts ro = {.trace_path = root->path, .top = 20, .docs = gt_cli_docs()};
		gt_report_text(stderr, &m, &sum, &ro);
	}
	gt_summary_free(&sum);
	gt_metrics_free(&m);
	return rc;
}

