/* SPDX-License-Identifier: MIT */
/*
 * test_schema.c — the trace layout of model/gt_schema.h, both ways: every
 * uuid the encoder can make decodes to what made it and to nothing else,
 * flow ids never collide, and a trace the encoder writes reads back with the
 * identity it was given (GIL slots and their interpreters travel as data).
 */
#include <stdlib.h>
#include <string.h>

#include "gt_encoder.h"
#include "gt_schema.h"
#include "metrics.h"
#include "sample_trace.h"
#include "trace_reader.h"
#include "unittest.h"

static void uuids(void)
{
	static const uint32_t pids[] = {1, 4242, 0xfffff, 0x100001, 4194304};
	for (size_t p = 0; p < sizeof(pids) / sizeof(pids[0]); p++) {
		uint32_t pid = pids[p];
		unsigned slot = 99;
		enum gt_gil_track kind = 0;
		int bad = 0;
		for (unsigned s = 0; s < 256; s++) {
			for (unsigned k = GT_TRACK_HOLDER; k <= GT_TRACK_INTERVAL; k++) {
				uint64_t u = gt_uuid_gil(pid, s, (enum gt_gil_track)k);
				bad += gt_uuid_decode(u, &slot, &kind) != GT_UUID_GIL || slot != s ||
				       kind != k || u >> 32 || u == gt_uuid_meta(pid) ||
				       u == gt_uuid_convoys(pid);
			}
		}
		CHECK_U64(bad, 0);
		CHECK(gt_uuid_decode(gt_uuid_meta(pid), &slot, &kind) == GT_UUID_META);
		CHECK(gt_uuid_decode(gt_uuid_convoys(pid), &slot, &kind) == GT_UUID_CONVOYS);
		CHECK(gt_uuid_decode(gt_uuid_process(pid), &slot, &kind) == GT_UUID_OTHER);
		CHECK(gt_uuid_decode(gt_uuid_thread(pid, pid + 1), &slot, &kind) == GT_UUID_OTHER);
		CHECK(gt_uuid_decode(gt_uuid_victim(pid, pid + 1), &slot, &kind) == GT_UUID_OTHER);
		CHECK(gt_uuid_victim(pid, 7) != gt_uuid_thread(pid, 7));
	}
	/* Low bits that are no (slot, kind) pair: not a GIL track. */
	unsigned slot;
	enum gt_gil_track kind;
	CHECK(gt_uuid_decode(GT_UUID_PID(5) | 0, &slot, &kind) == GT_UUID_OTHER);
	CHECK(gt_uuid_decode(GT_UUID_PID(5) | (3 << 3) | 5, &slot, &kind) == GT_UUID_OTHER);
}

static void flows(void)
{
	/* Distinct for distinct (pid, slot, seq) in range. */
	CHECK(gt_flow_id(1, 0, 2) != gt_flow_id(1, 1, 2));
	CHECK(gt_flow_id(1, 0, 2) != gt_flow_id(2, 0, 2));
	CHECK(gt_flow_id(1, 255, 0xffffffffu) != gt_flow_id(2, 0, 0));
	CHECK(gt_flow_id(4194304, 63, 1) == ((uint64_t)4194304 << 40 | (uint64_t)63 << 32 | 1));
}

static void end_reasons(void)
{
	for (int i = GT_END_VOLUNTARY; i < GT_END_REASON_MAX; i++) {
		const char *a = gt_end_reason_name((enum gt_end_reason)i);
		CHECK(a[0] != 0);
		for (int j = GT_END_VOLUNTARY; j < i; j++)
			CHECK(strcmp(a, gt_end_reason_name((enum gt_end_reason)j)) != 0);
	}
	CHECK(gt_end_reason_name(GT_END_NONE)[0] == 0);
}

/* Three GILs: the main interpreter's, interpreter 7's in slot 5, and one
 * whose interpreter is unknown. */
static void identity_round_trip(void)
{
	struct mem_trace b = {0};
	struct gt_enc e;
	struct gt_enc_options opt = {.compress_level = 1, .chunk_size = 64 * 1024};
	CHECK(gt_enc_init(&e, &opt, (struct gt_enc_sink){mem_trace_write, &b}, 321) == 0);
	uint64_t t0 = 1000000000ull;
	gt_enc_process(&e, t0, "python3", NULL, 0);
	struct gt_enc_meta meta = {.python_version = "3.13.0", .recorder = "test"};
	gt_enc_meta(&e, t0, &meta);
	gt_enc_gil(&e, t0, 0, 0, 5000);
	gt_enc_gil(&e, t0, 5, 7, 5000);
	gt_enc_gil(&e, t0, 9, -1, 0);
	/* Interpreters 7 and 8 run under slot 5, 0 and 3 under slot 0 (a
	 * legacy subinterpreter); one said twice, one under no GIL declared. */
	gt_enc_interp(&e, t0, 7, 5);
	gt_enc_interp(&e, t0, 8, 5);
	gt_enc_interp(&e, t0, 3, 0);
	gt_enc_interp(&e, t0, 3, 0);
	gt_enc_interp(&e, t0, 4, 2);
	struct gt_enc_thread th;
	gt_enc_thread_start(&e, &th, 321, "MainThread", t0);
	struct gt_event ev = {.kind = GT_EV_ACQUIRE, .tid = 321, .gil = 5};
	gt_enc_event(&e, &th, &ev, t0 + 1000);
	ev.kind = GT_EV_RELEASE;
	ev.seq = 1;
	gt_enc_event(&e, &th, &ev, t0 + 3000);
	gt_enc_thread_end(&e, &th, t0 + 4000, GT_END_PROCESS_EXIT);
	meta.final = 1;
	gt_enc_meta(&e, t0 + 4000, &meta);
	CHECK(gt_enc_flush(&e) == 0);
	gt_enc_free(&e);

	struct gt_metrics m;
	struct gt_rd_summary sum;
	char err[256];
	gt_metrics_init(&m);
	struct gt_rd_callbacks cb = gt_metrics_callbacks(&m);
	CHECK(gt_read_trace_mem(b.p, b.len, &cb, &sum, err, sizeof(err)) == 0);
	gt_metrics_finish(&m, &sum);
	CHECK_U64(m.ngils, 3);
	for (size_t i = 0; i < m.ngils; i++) {
		const struct gt_gil_stats *g = &m.gils[i];
		if (g->slot == 5) {
			CHECK_U64(g->interp_id, 7);
			CHECK_U64(g->ninterps, 2);
			CHECK_U64(g->interps[0], 7);
			CHECK_U64(g->interps[1], 8);
			CHECK_U64(g->holds, 1);
			CHECK_U64(g->held_ns, 2000);
		} else {
			CHECK(g->slot == 0 || g->slot == 9);
			CHECK_U64(g->interp_id, g->slot ? -1 : 0);
			CHECK_U64(g->ninterps, g->slot ? 0 : 2);
			if (!g->slot) {
				CHECK_U64(g->interps[0], 0);
				CHECK_U64(g->interps[1], 3);
			}
			CHECK_U64(g->holds, 0);
		}
	}
	gt_metrics_free(&m);
	free(b.p);
}

int main(void)
{
	uuids();
	flows();
	end_reasons();
	identity_round_trip();
	return unittest_result("test_schema");
}
