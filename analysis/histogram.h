/* SPDX-License-Identifier: MIT */
/*
 * histogram.h — fixed-size log-linear histogram of durations (ns).
 *
 * 32 sub-buckets per power of two: any quantile is within ~3% of the exact
 * value, in 8 KiB per histogram whatever the number of samples, which is what
 * keeps `report` flat in memory on arbitrarily long traces.
 */
#ifndef HISTOGRAM_H
#define HISTOGRAM_H

#include <stdint.h>

#define GT_HIST_SUB_BITS 5
#define GT_HIST_BUCKETS (64 << GT_HIST_SUB_BITS)

struct gt_hist {
	uint64_t n;
	uint64_t max;
	uint32_t counts[GT_HIST_BUCKETS];
};

void gt_hist_add(struct gt_hist *h, uint64_t v);
/* q in [0, 1]; 0 for an empty histogram. The result never exceeds max. */
uint64_t gt_hist_quantile(const struct gt_hist *h, double q);

/* The same buckets, each holding the sum of its durations: quantiles of
 * the time rather than of the count. Its median is the wait a thread that
 * is waiting at a random moment is in, typically: like the time-weighted
 * mean (docs/metrics.md), but one very long wait among a hundred ordinary
 * ones does not move it. 16 KiB. */
struct gt_time_hist {
	uint64_t total; /* ns, all values */
	uint64_t max;
	uint64_t sums[GT_HIST_BUCKETS];
};

void gt_time_hist_add(struct gt_time_hist *h, uint64_t v);
/* The smallest value such that the values up to it hold a share q of the
 * total; 0 for an empty histogram. */
uint64_t gt_time_hist_quantile(const struct gt_time_hist *h, double q);

#endif
