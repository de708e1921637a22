/* SPDX-License-Identifier: MIT */
/*
 * test_encoder.c — nothing the encoder is given is lost on the way to the
 * reader: metadata describing every GIL a process can have, a command line
 * of any length, a thread renamed hundreds of times (each name is a new
 * interned string), all read back by giltrace's own reader.
 */
#include <stdlib.h>
#include <string.h>

#include "gt_drain.h"
#include "gt_encoder.h"
#include "metrics.h"
#include "sample_trace.h"
#include "trace_reader.h"
#include "unittest.h"

#define T(us) (1000000000ull + (uint64_t)(us) * 1000u)
#define PID 777

static void event(struct gt_enc *e, struct gt_enc_thread *th, uint8_t kind, uint64_t ts,
		  uint32_t peer, uint32_t seq)
{
	struct gt_event x = {.kind = kind, .tid = th->tid, .peer = peer, .seq = seq};
	gt_enc_event(e, th, &x, ts);
}

static int read_back(const struct mem_trace *b, struct gt_metrics *m, struct gt_rd_summary *sum)
{
	char err[256];
	gt_metrics_init(m);
	struct gt_rd_callbacks cb = gt_metrics_callbacks(m);
	int rc = gt_read_trace_mem(b->p, b->len, &cb, sum, err, sizeof(err));
	if (rc)
		fprintf(stderr, "read back: %s\n", err);
	else
		gt_metrics_finish(m, sum);
	return rc;
}

/* The longest method description fits its buffer, so the metadata of every
 * GIL can be written whole. */
static void method_text(void)
{
	char how[GT_METHOD_TEXT_MAX];
	gt_drain_describe_method(~0u, how, sizeof(how));
	CHECK(strlen(how) + 1 < sizeof(how));
	CHECK(strstr(how, "LAYOUT MISMATCH") != NULL); /* the last part: nothing cut */
}

/* 64 GILs' worth of identification text and a 100 kB command line: both
 * packets are far bigger than the encoder's stack buffers, and the end
 * record (which says the trace is complete) must still be there. */
static void big_packets(int level)
{
	struct mem_trace b = {0};
	struct gt_enc e;
	struct gt_enc_options opt = {.compress_level = level, .chunk_size = 64 * 1024};
	CHECK(gt_enc_init(&e, &opt, (struct gt_enc_sink){mem_trace_write, &b}, PID) == 0);
	static char arg[100000];
	memset(arg, 'x', sizeof(arg) - 1);
	const char *argv[] = {"python3", arg};
	gt_enc_process(&e, T(0), "python3", argv, 2);
	static char method[GT_MAX_GILS * 300];
	size_t n = 0;
	for (int i = 0; i < GT_MAX_GILS; i++) {
		char how[GT_METHOD_TEXT_MAX];
		gt_drain_describe_method(~0u, how, sizeof(how));
		n += (size_t)snprintf(method + n, sizeof(method) - n, "%sGIL %d (interp %d): %s",
				      i ? "; " : "", i, i, how);
	}
	struct gt_enc_meta meta = {.python_version = "3.13.0", .gil_method = method,
				   .recorder = "test", .clock = "boottime"};
	gt_enc_meta(&e, T(0), &meta);
	gt_enc_gil(&e, T(0), 0, 0, 5000);
	struct gt_enc_thread th;
	gt_enc_thread_start(&e, &th, PID, "MainThread", T(0));
	event(&e, &th, GT_EV_ACQUIRE, T(10), 0, 0);
	event(&e, &th, GT_EV_RELEASE, T(20), 0, 1);
	gt_enc_thread_end(&e, &th, T(30), GT_END_PROCESS_EXIT);
	meta.final = 1;
	meta.threads = 1;
	meta.events = 2;
	gt_enc_meta(&e, T(30), &meta);
	CHECK(gt_enc_flush(&e) == 0);
	CHECK_U64(e.packets_lost, 0);
	gt_enc_free(&e);

	struct gt_metrics m;
	struct gt_rd_summary sum;
	CHECK(read_back(&b, &m, &sum) == 0);
	CHECK(sum.has_start && sum.has_end);
	CHECK(m.gil_method && !strcmp(m.gil_method, method));
	CHECK_U64(m.nthreads, 1);
	gt_metrics_free(&m);
	free(b.p);
}

/* A thread renamed 300 times: every hold is read back, under each name. */
static void many_renames(int level)
{
	struct mem_trace b = {0};
	struct gt_enc e;
	struct gt_enc_options opt = {.compress_level = level, .chunk_size = 64 * 1024};
	CHECK(gt_enc_init(&e, &opt, (struct gt_enc_sink){mem_trace_write, &b}, PID) == 0);
	gt_enc_process(&e, T(0), "python3", NULL, 0);
	struct gt_enc_meta meta = {.python_version = "3.12.1", .gil_method = "test",
				   .recorder = "test", .clock = "boottime"};
	gt_enc_meta(&e, T(0), &meta);
	gt_enc_gil(&e, T(0), 0, 0, 5000);
	struct gt_enc_thread th;
	gt_enc_thread_start(&e, &th, PID, "MainThread", T(0));
	enum { RENAMES = 300 };
	for (int i = 0; i < RENAMES; i++) {
		char name[16];
		snprintf(name, sizeof(name), "name-%d", i);
		gt_enc_thread_rename(&e, &th, name, NULL, T(100 * i));
		event(&e, &th, GT_EV_ACQUIRE, T(100 * i + 10), PID, (uint32_t)i);
		event(&e, &th, GT_EV_RELEASE, T(100 * i + 60), 0, (uint32_t)i + 1);
	}
	gt_enc_thread_end(&e, &th, T(100 * RENAMES), GT_END_PROCESS_EXIT);
	meta.final = 1;
	gt_enc_meta(&e, T(100 * RENAMES), &meta);
	CHECK(gt_enc_flush(&e) == 0);
	gt_enc_free(&e);

	struct gt_metrics m;
	struct gt_rd_summary sum;
	CHECK(read_back(&b, &m, &sum) == 0);
	CHECK_U64(m.nthreads, 1);
	CHECK(m.ngils == 1);
	if (m.ngils == 1) {
		CHECK_U64(m.gils[0].holds, RENAMES);
		CHECK_U64(m.gils[0].held_ns, RENAMES * 50000ull);
	}
	if (m.nthreads == 1)
		CHECK_STR(m.threads[0].name, "name-299");
	gt_metrics_free(&m);
	free(b.p);
}

int main(void)
{
	method_text();
	big_packets(0);
	big_packets(1);
	many_renames(0);
	many_renames(1);
	return unittest_result("test_encoder");
}
