/* SPDX-License-Identifier: MIT */
/*
 * test_reader.c — the reader and metrics against hand-computed answers, and
 * against every kind of bad input (truncated at each byte, bytes flipped,
 * empty, foreign). Bad input must give an error message, never a crash or a
 * silently wrong answer.
 */
#include <stdlib.h>
#include <string.h>

#include "gt_encoder.h"
#include "metrics.h"
#include "sample_trace.h"
#include "trace_reader.h"
#include "unittest.h"

#define US 1000ull

static int load(const uint8_t *t, size_t len, struct gt_metrics *m, char *err, size_t errlen)
{
	struct gt_rd_summary sum;
	gt_metrics_init(m);
	struct gt_rd_callbacks cb = gt_metrics_callbacks(m);
	int rc = gt_read_trace_mem(t, len, &cb, &sum, err, errlen);
	if (!rc)
		gt_metrics_finish(m, &sum);
	return rc;
}

static const struct gt_thread_stats *thread(const struct gt_metrics *m, uint32_t tid)
{
	for (size_t i = 0; i < m->nthreads; i++)
		if (m->threads[i].tid == tid)
			return &m->threads[i];
	return NULL;
}

static void known_answers(int level)
{
	size_t len;
	uint8_t *t = sample_trace(level, &len);
	struct gt_metrics m;
	char err[256];
	CHECK(t != NULL);
	int rc = load(t, len, &m, err, sizeof(err));
	if (rc)
		fprintf(stderr, "sample (level %d): %s\n", level, err);
	CHECK(rc == 0);
	CHECK_U64(m.wall_ns, 10000 * US);
	CHECK(m.has_start && m.has_end);
	CHECK_STR(m.python_version, "3.11.7");
	CHECK_U64(m.ngils, 1);
	if (m.ngils == 1) {
		const struct gt_gil_stats *g = &m.gils[0];
		CHECK_U64(g->held_ns, 8450 * US);
		CHECK_U64(g->contended_ns, 5100 * US);
		CHECK_U64(g->wait_ns, 5100 * US);
		CHECK_U64(g->switches, 2);
		CHECK_U64(g->drop_requests, 1);
		CHECK_U64(g->holds, 3);
		double other = 1;
		CHECK_U64(gt_metrics_main_interval_us(g, &other), 5000);
		CHECK(other == 0);
	}
	CHECK_U64(m.forced, 1);
	CHECK_U64(m.voluntary, 2);
	CHECK_U64(m.thread_exits, 0);
	CHECK_U64(m.nthreads, 2);
	const struct gt_thread_stats *main_t = thread(&m, SAMPLE_MAIN);
	const struct gt_thread_stats *worker = thread(&m, SAMPLE_WORKER);
	CHECK(main_t && worker);
	if (main_t && worker) {
		CHECK_STR(main_t->name, "MainThread");
		CHECK_STR(worker->name, "worker");
		CHECK_U64(main_t->wait_ns, 5100 * US);
		CHECK_U64(main_t->waits, 1);
		CHECK_U64(main_t->wait_max, 5100 * US);
		CHECK_U64(main_t->timeouts, 1);
		CHECK_U64(main_t->hold_ns, 2900 * US);
		CHECK_U64(main_t->holds, 2);
		CHECK_U64(main_t->drop_requests, 1);
		CHECK_U64(main_t->forced, 0);
		CHECK_U64(worker->hold_ns, 5550 * US);
		CHECK_U64(worker->forced, 1);
		CHECK_U64(worker->waits, 0);
		/* Worst waiter first. */
		CHECK(m.threads[0].tid == SAMPLE_MAIN);
	}
	gt_metrics_free(&m);
	free(t);
}

/* Cut the uncompressed sample at every length: each prefix either reads
 * (when it ends on a packet boundary; then without an end record) or fails
 * with a message. */
static void truncations(void)
{
	size_t len;
	uint8_t *t = sample_trace(0, &len);
	int ok = 0, failed = 0;
	for (size_t n = 0; n < len; n++) {
		struct gt_metrics m;
		char err[256] = "";
		uint8_t *copy = malloc(n ? n : 1);
		memcpy(copy, t, n);
		if (load(copy, n, &m, err, sizeof(err))) {
			CHECK(err[0] != 0);
			failed++;
		} else {
			CHECK(!m.has_end || n == len);
			ok++;
		}
		gt_metrics_free(&m);
		free(copy);
	}
	CHECK(failed > 0 && ok > 0);
	free(t);
}

/* Flip each byte of the compressed sample in turn. */
/* Everything the reports print, in one line: two loads agree when their
 * fingerprints do. */
static void fingerprint(const struct gt_metrics *m, char *out, size_t n)
{
	size_t k = (size_t)snprintf(out, n, "wall %llu start %d end %d threads %zu gils %zu "
				   "forced %llu voluntary %llu exits %llu dropped %llu open %llu",
				   (unsigned long long)m->wall_ns, m->has_start, m->has_end,
				   m->nthreads, m->ngils, (unsigned long long)m->forced,
				   (unsigned long long)m->voluntary,
				   (unsigned long long)m->thread_exits,
				   (unsigned long long)m->events_dropped,
				   (unsigned long long)m->open_slices);
	for (size_t i = 0; i < m->ngils && k < n; i++) {
		const struct gt_gil_stats *g = &m->gils[i];
		k += (size_t)snprintf(out + k, n - k, " | gil %lld held %llu/%llu cont %llu wait %llu "
				      "sw %llu drop %llu",
				      (long long)g->interp_id, (unsigned long long)g->held_ns,
				      (unsigned long long)g->holds, (unsigned long long)g->contended_ns,
				      (unsigned long long)g->wait_ns, (unsigned long long)g->switches,
				      (unsigned long long)g->drop_requests);
	}
	for (size_t i = 0; i < m->nthreads && k < n; i++) {
		const struct gt_thread_stats *t = &m->threads[i];
		k += (size_t)snprintf(out + k, n - k, " | %u %s wait %llu/%llu max %llu hold %llu/%llu "
				      "forced %llu caused %llu",
				      t->tid, t->name, (unsigned long long)t->wait_ns,
				      (unsigned long long)t->waits, (unsigned long long)t->wait_max,
				      (unsigned long long)t->hold_ns, (unsigned long long)t->holds,
				      (unsigned long long)t->forced,
				      (unsigned long long)t->drop_requests);
	}
}

/* Every byte of a compressed trace flipped in turn: the reader either says
 * the trace is corrupt or gives exactly the answer of the intact trace
 * (the byte did not matter). Never a different answer: the chunks' zlib
 * checksums and the framing's lengths catch what would change one. */
static void corruptions(void)
{
	size_t len;
	uint8_t *t = sample_trace(1, &len);
	struct gt_metrics m;
	char err[256] = "", want[4096], got[4096];
	CHECK(load(t, len, &m, err, sizeof(err)) == 0);
	fingerprint(&m, want, sizeof(want));
	gt_metrics_free(&m);
	size_t same = 0, failed = 0;
	for (size_t i = 0; i < len; i++) {
		uint8_t *copy = malloc(len);
		memcpy(copy, t, len);
		copy[i] ^= 0x5a;
		err[0] = 0;
		if (load(copy, len, &m, err, sizeof(err))) {
			CHECK(err[0] != 0);
			failed++;
		} else {
			fingerprint(&m, got, sizeof(got));
			if (strcmp(got, want)) {
				fprintf(stderr, "byte %zu flipped: a different answer\n  %s\n  %s\n", i,
					got, want);
				CHECK(0);
			}
			same++;
		}
		gt_metrics_free(&m);
		free(copy);
	}
	CHECK(failed > len / 2); /* most bytes matter */
	free(t);
}

/* The trace pushed into a stream in pieces of every size gives exactly the
 * answer of reading it whole: `giltrace run` can read as it writes. */
static void pieces(void)
{
	size_t len;
	uint8_t *t = sample_trace(1, &len);
	struct gt_metrics m;
	char err[256] = "", want[4096], got[4096];
	CHECK(load(t, len, &m, err, sizeof(err)) == 0);
	fingerprint(&m, want, sizeof(want));
	gt_metrics_free(&m);
	static const size_t sizes[] = {1, 2, 3, 7, 64, 1000, 4096, 1u << 20};
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		struct gt_rd_summary sum;
		gt_metrics_init(&m);
		struct gt_rd_callbacks cb = gt_metrics_callbacks(&m);
		struct gt_rd_stream *st = gt_rd_stream_open(&cb, &sum, err, sizeof(err));
		CHECK(st != NULL);
		for (size_t off = 0; st && off < len; off += sizes[k]) {
			size_t n = len - off < sizes[k] ? len - off : sizes[k];
			CHECK(gt_rd_stream_feed(st, t + off, n) == 0);
		}
		CHECK(st && gt_rd_stream_end(st) == 0);
		gt_metrics_finish(&m, &sum);
		fingerprint(&m, got, sizeof(got));
		if (strcmp(got, want))
			fprintf(stderr, "pieces of %zu: %s\n  want %s\n", sizes[k], got, want);
		CHECK(!strcmp(got, want));
		gt_metrics_free(&m);
		/* Cut short anywhere: an error that says where, never an answer. */
		gt_metrics_init(&m);
		cb = gt_metrics_callbacks(&m);
		st = gt_rd_stream_open(&cb, &sum, err, sizeof(err));
		gt_rd_stream_feed(st, t, len / 2);
		CHECK(gt_rd_stream_end(st) != 0 && strstr(err, "truncated trace") != NULL);
		gt_metrics_free(&m);
	}
	free(t);
}

static void expect_error(const void *data, size_t len, const char *want)
{
	struct gt_metrics m;
	char err[256] = "";
	CHECK(load(data, len, &m, err, sizeof(err)) != 0);
	if (!strstr(err, want)) {
		fprintf(stderr, "error \"%s\" does not say \"%s\"\n", err, want);
		CHECK(0);
	}
	gt_metrics_free(&m);
}

static void bad_inputs(void)
{
	expect_error("", 0, "empty");
	/* Text is not protobuf. */
	const char *text = "hello, this is not a trace\n";
	expect_error(text, strlen(text), "not a");
	/* Valid Perfetto framing, but nothing of giltrace: one packet with a
	 * timestamp only. */
	const uint8_t foreign[] = {0x0a, 0x02, 0x40, 0x01};
	expect_error(foreign, sizeof(foreign), "not a giltrace trace");
	/* A compressed chunk that does not inflate. */
	const uint8_t badz[] = {0x0a, 0x06, 0x92, 0x03, 0x03, 0x01, 0x02, 0x03};
	expect_error(badz, sizeof(badz), "does not inflate");
}

int main(void)
{
	known_answers(0);
	known_answers(1);
	truncations();
	corruptions();
	pieces();
	bad_inputs();
	return unittest_result("test_reader");
}
