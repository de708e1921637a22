/* SPDX-License-Identifier: MIT */
/*
 * test_window.c — a trace cut into parts (giltrace run --keep) reads the
 * same whichever parts are kept.
 *
 * Thread A takes the GIL at 10 µs, B starts waiting at 20 (contention
 * begins), the cut comes at 40, A releases at 50 and B takes over (a flow
 * from A's release), B releases at 60, the process ends at 70. Kept whole
 * (part 1 + part 2), every slice is as recorded; kept from the cut (part
 * 2's head + part 2), the slices under way begin at 40, the contention span
 * too, the run's window record and the start record say when recording
 * began, and nothing is left unmatched or open.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gt_encoder.h"
#include "metrics.h"
#include "sample_trace.h"
#include "trace_reader.h"
#include "unittest.h"

#define T(us) (1000000000ull + (uint64_t)(us) * 1000u)
#define PID 888
#define TA 889
#define TB 890

struct parts {
	struct mem_trace body1, head2, body2;
	struct mem_trace *to;
};

static int to_part(void *ctx, const void *data, size_t len)
{
	struct parts *p = ctx;
	return mem_trace_write(p->to, data, len);
}

static void event(struct gt_enc *e, struct gt_enc_thread *th, uint8_t kind, uint64_t ts,
		  uint32_t peer, uint32_t seq, uint32_t count, uint8_t flags)
{
	struct gt_event x = {.kind = kind, .tid = th->tid, .peer = peer, .seq = seq,
			     .count = count, .flags = flags};
	gt_enc_event(e, th, &x, ts);
}

static void encode(struct parts *p)
{
	struct gt_enc e;
	struct gt_enc_thread a, b;
	struct gt_enc_options opt = {.compress_level = 1, .chunk_size = 64 * 1024,
				     .keep_preamble = 1};
	p->to = &p->body1;
	CHECK(gt_enc_init(&e, &opt, (struct gt_enc_sink){to_part, p}, PID) == 0);
	gt_enc_process(&e, T(0), "svc", NULL, 0);
	gt_enc_gil(&e, T(0), 0, 0, 5000);
	struct gt_enc_meta start = {.python_version = "3.12.1", .recorder = "preload"};
	gt_enc_meta(&e, T(0), &start);
	gt_enc_thread_start(&e, &a, TA, "a", T(1));
	gt_enc_thread_start(&e, &b, TB, "b", T(1));
	event(&e, &a, GT_EV_ACQUIRE, T(10), 0, 0, 0, 0);
	event(&e, &b, GT_EV_WAIT, T(20), TA, 0, 1, 0);

	/* The cut at 40 (gt_drain_cut()'s three phases). */
	gt_enc_thread_settle(&e, &a);
	gt_enc_thread_settle(&e, &b);
	gt_enc_cut_flows(&e);
	gt_enc_flush(&e);
	p->to = &p->head2;
	uint32_t seq_ids = 100;
	CHECK(gt_enc_run_window((struct gt_enc_sink){to_part, p}, &seq_ids, T(40), T(0)) == 0);
	gt_enc_preamble(&e);
	start.run_start = T(0);
	gt_enc_meta(&e, T(40), &start);
	gt_enc_thread_resume(&e, &a, T(40));
	gt_enc_thread_resume(&e, &b, T(40));
	gt_enc_flush(&e);
	p->to = &p->body2;
	gt_enc_thread_restate(&e, &a, T(40));
	gt_enc_thread_restate(&e, &b, T(40));

	event(&e, &a, GT_EV_RELEASE, T(50), 0, 1, 1, 0);
	event(&e, &b, GT_EV_CONTENDED_SINCE, T(20), 0, 0, 0, 0);
	event(&e, &b, GT_EV_ACQUIRE, T(50), TA, 1, 0, GT_F_WAITED | GT_F_CONTENTION_END | GT_F_FLOW_IN);
	event(&e, &b, GT_EV_RELEASE, T(60), 0, 2, 0, 0);
	gt_enc_thread_end(&e, &a, T(70), GT_END_PROCESS_EXIT);
	gt_enc_thread_end(&e, &b, T(70), GT_END_PROCESS_EXIT);
	struct gt_enc_meta end = {.final = 1, .events = 6};
	gt_enc_meta(&e, T(70), &end);
	CHECK(gt_enc_flush(&e) == 0);
	gt_enc_free(&e);
}

struct seen {
	struct gt_rd_slice s[16];
	int n;
	uint64_t run_start;
};

static void on_slice(void *ctx, const struct gt_rd_slice *s)
{
	struct seen *x = ctx;
	if (x->n < 16 && s->kind != GT_RD_DROP_REQUEST)
		x->s[x->n++] = *s;
}

static void on_meta(void *ctx, const struct gt_rd_meta *m)
{
	struct seen *x = ctx;
	if (!m->final && m->run_start)
		x->run_start = m->run_start;
}

static const struct gt_rd_slice *find(const struct seen *x, int kind, uint32_t tid)
{
	for (int i = 0; i < x->n; i++)
		if ((int)x->s[i].kind == kind && x->s[i].tid == tid)
			return &x->s[i];
	return NULL;
}

/* Reads the concatenation of the given parts. */
static void read_parts(struct seen *x, struct gt_rd_summary *sum, const struct mem_trace *p1,
		       const struct mem_trace *p2)
{
	struct mem_trace all = {0};
	mem_trace_write(&all, p1->p, p1->len);
	if (p2->len) /* (memcpy from NULL, even of nothing, is undefined) */
		mem_trace_write(&all, p2->p, p2->len);
	struct gt_rd_callbacks cb = {.ctx = x, .slice = on_slice, .meta = on_meta};
	char err[256] = "";
	memset(x, 0, sizeof(*x));
	memset(sum, 0, sizeof(*sum));
	int rc = gt_read_trace_mem(all.p, all.len, &cb, sum, err, sizeof(err));
	if (rc)
		fprintf(stderr, "read: %s\n", err);
	CHECK(rc == 0);
	free(all.p);
}

static void check_slice(const struct seen *x, int kind, uint32_t tid, uint64_t ts, uint64_t end)
{
	const struct gt_rd_slice *s = find(x, kind, tid);
	CHECK(s != NULL);
	if (!s)
		return;
	CHECK(s->ts == ts);
	CHECK(s->ts + s->dur == end);
}

int main(void)
{
	struct parts p = {0};
	encode(&p);
	CHECK(p.body1.len && p.head2.len && p.body2.len);
	struct seen x;
	struct gt_rd_summary sum;

	/* Everything kept: as recorded; the head is not in the file. */
	read_parts(&x, &sum, &p.body1, &p.body2);
	check_slice(&x, GT_RD_HOLD, TA, T(10), T(50));
	check_slice(&x, GT_RD_WAIT, TB, T(20), T(50));
	check_slice(&x, GT_RD_CONTENDED, TB, T(20), T(50));
	check_slice(&x, GT_RD_HOLD, TB, T(50), T(60));
	CHECK(find(&x, GT_RD_HOLD, TB)->flow_in);
	CHECK(!x.run_start);
	CHECK(!sum.unmatched_ends && !sum.open_slices);

	/* Kept from the cut: what was under way begins there. */
	struct mem_trace head_body = {0};
	mem_trace_write(&head_body, p.head2.p, p.head2.len);
	mem_trace_write(&head_body, p.body2.p, p.body2.len);
	read_parts(&x, &sum, &head_body, &(struct mem_trace){0});
	check_slice(&x, GT_RD_HOLD, TA, T(40), T(50));
	check_slice(&x, GT_RD_HOLDER, TA, T(40), T(50));
	check_slice(&x, GT_RD_WAIT, TB, T(40), T(50));
	check_slice(&x, GT_RD_CONTENDED, TB, T(40), T(50));
	check_slice(&x, GT_RD_HOLD, TB, T(50), T(60));
	CHECK(find(&x, GT_RD_WAIT, TB)->holder_tid == TA);
	CHECK(find(&x, GT_RD_HOLD, TB)->flow_in); /* the release came after the cut */
	CHECK(x.run_start == T(0));
	CHECK(!sum.unmatched_ends && !sum.open_slices);

	/* The report's view: 30 µs of a 70 µs recording. */
	struct gt_metrics m;
	gt_metrics_init(&m);
	struct gt_rd_callbacks cb = gt_metrics_callbacks(&m);
	char err[256];
	CHECK(gt_read_trace_mem(head_body.p, head_body.len, &cb, &sum, err, sizeof(err)) == 0);
	gt_metrics_finish(&m, &sum);
	CHECK(m.start_ns == T(40) && m.end_ns == T(70) && m.wall_ns == 30000);
	CHECK(m.run_start_ns == T(0) && m.window_ns == T(40));
	CHECK(m.nprocs == 1); /* the run's own record is no process */
	gt_metrics_free(&m);

	free(head_body.p);
	free(p.body1.p);
	free(p.head2.p);
	free(p.body2.p);
	return unittest_result("test_window");
}
