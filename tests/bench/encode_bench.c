/* SPDX-License-Identifier: MIT */
/*
 * encode_bench.c — the writer's cost per event, without a program around it.
 *
 * Feeds the encoder the event stream of an uncontended release/acquire loop
 * (the pipe loop's pattern, with realistic timestamp jitter) and reports ns
 * per event for encoding alone and with compression, and the bytes per event
 * that reach the file. Usage: encode_bench [EVENTS]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gt_encoder.h"

static size_t total;
static int count_sink(void *ctx, const void *data, size_t len)
{
	(void)ctx;
	(void)data;
	total += len;
	return 0;
}

static double now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static void run(int level, long n)
{
	struct gt_enc e;
	struct gt_enc_options o = {.compress_level = level, .chunk_size = 256 * 1024};
	struct gt_enc_sink s = {count_sink, NULL};
	struct gt_enc_thread th;
	struct gt_event ev;
	uint64_t ts = 1000000000ull, rng = 12345;

	total = 0;
	if (gt_enc_init(&e, &o, s, 1234))
		exit(1);
	gt_enc_process(&e, ts, "bench", NULL, 0);
	gt_enc_gil(&e, ts, 0, 0, 5000);
	gt_enc_thread_start(&e, &th, 1234, "bench", ts);
	memset(&ev, 0, sizeof(ev));
	ev.tid = 1234;
	double t0 = now_ns();
	for (long i = 0; i < n; i++) {
		rng = rng * 6364136223846793005ull + 1442695040888963407ull;
		ts += 150 + (rng >> 33) % 400; /* 150..550 ns apart */
		ev.kind = (i & 1) ? GT_EV_ACQUIRE : GT_EV_RELEASE;
		ev.seq = (uint32_t)(i / 2 + 1);
		gt_enc_event(&e, &th, &ev, ts);
	}
	gt_enc_thread_end(&e, &th, ts + 10, GT_END_PROCESS_EXIT);
	gt_enc_flush(&e);
	double dt = now_ns() - t0;
	printf("deflate level %d: %6.1f ns/event, %5.2f bytes/event\n", level, dt / (double)n,
	       (double)total / (double)n);
	gt_enc_free(&e);
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 4000000;
	run(0, n);
	run(1, n);
	return 0;
}
