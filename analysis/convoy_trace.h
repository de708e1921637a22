/* SPDX-License-Identifier: MIT */
/*
 * convoy_trace.h — convoy episodes written into a trace (convoy_trace.c).
 */
#ifndef CONVOY_TRACE_H
#define CONVOY_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "gt_encoder.h"

/* A convoy episode (convoy.h), as the annotation writes it. */
struct gt_enc_convoy {
	uint32_t victim, culprit;
	const char *victim_name, *culprit_name;
	uint64_t ts, end;
	uint32_t delayed;
	uint64_t delay_ns;
};

/* Writes the episodes (of process e's pid, in time order) on the sequence
 * GT_ANNOTATION_SEQ_ID: for appending to a complete trace. */
void gt_enc_convoys(struct gt_enc *e, const struct gt_enc_convoy *c, size_t n);

#endif
