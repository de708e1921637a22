/* SPDX-License-Identifier: MIT */
/*
 * sample_trace.h — a small, fully known GIL scenario encoded with gt_encoder.
 *
 * Two threads on one GIL with hand-picked timestamps, so every metric the
 * reader derives from it can be computed by hand (see the comment in
 * sample_trace.c). Used by the protoc golden test and the reader tests.
 */
#ifndef SAMPLE_TRACE_H
#define SAMPLE_TRACE_H

#include <stddef.h>
#include <stdint.h>

/* An encoder sink into a growing buffer (gt_enc_sink.write), for the tests
 * that encode their own traces. */
struct mem_trace {
	uint8_t *p;
	size_t len, cap;
};
int mem_trace_write(void *ctx, const void *data, size_t len);

/* Encodes the scenario; returns a malloc'd buffer (caller frees). */
uint8_t *sample_trace(int compress_level, size_t *len);

#define SAMPLE_PID 4242
#define SAMPLE_MAIN 4242
#define SAMPLE_WORKER 4243

/* A convoy, also fully known (see convoy_trace() in sample_trace.c). */
uint8_t *convoy_trace(int compress_level, size_t *len);

#define CONVOY_PID 5000
#define CONVOY_VICTIM 5001
#define CONVOY_CULPRIT 5002

#endif
