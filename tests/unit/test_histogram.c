/* SPDX-License-Identifier: MIT */
/* test_histogram.c — quantiles within the promised 3% of exact ones. */
#include <stdlib.h>

#include "histogram.h"
#include "unittest.h"

static int within(uint64_t got, uint64_t want, double tol)
{
	double d = (double)got - (double)want;
	return (d < 0 ? -d : d) <= tol * (double)want + 1;
}

/* Quantiles of time: a hundred 5 ms waits and one of 60 ms hold 560 ms;
 * the 60 ms one is 11% of it, so the median is 5 ms, and the 95th
 * percentile of time is in the long wait. Nine 10 µs waits and one 10 ms
 * wait: the long one holds 99% of the time, so the median is 10 ms. */
static void time_quantiles(void)
{
	struct gt_time_hist *h = calloc(1, sizeof(*h));
	CHECK_U64(gt_time_hist_quantile(h, 0.5), 0);
	for (int i = 0; i < 100; i++)
		gt_time_hist_add(h, 5000000);
	gt_time_hist_add(h, 60000000);
	CHECK_U64(h->total, 560000000);
	CHECK(within(gt_time_hist_quantile(h, 0.5), 5000000, 0.03));
	CHECK(within(gt_time_hist_quantile(h, 0.95), 60000000, 0.03));
	free(h);
	h = calloc(1, sizeof(*h));
	for (int i = 0; i < 9; i++)
		gt_time_hist_add(h, 10000);
	gt_time_hist_add(h, 10000000);
	CHECK(within(gt_time_hist_quantile(h, 0.5), 10000000, 0.03));
	free(h);
}

int main(void)
{
	time_quantiles();
	struct gt_hist *h = calloc(1, sizeof(*h));
	CHECK_U64(gt_hist_quantile(h, 0.5), 0);
	/* 1..100000 µs uniformly: p50 = 50 ms, p90 = 90 ms, p99 = 99 ms. */
	for (uint64_t i = 1; i <= 100000; i++)
		gt_hist_add(h, i * 1000);
	CHECK_U64(h->n, 100000);
	CHECK_U64(h->max, 100000000);
	CHECK(within(gt_hist_quantile(h, 0.50), 50000000, 0.03));
	CHECK(within(gt_hist_quantile(h, 0.90), 90000000, 0.03));
	CHECK(within(gt_hist_quantile(h, 0.99), 99000000, 0.03));
	CHECK_U64(gt_hist_quantile(h, 1.0), 100000000);
	/* Small values are exact. */
	struct gt_hist *s = calloc(1, sizeof(*s));
	for (int i = 0; i < 10; i++)
		gt_hist_add(s, 7);
	CHECK_U64(gt_hist_quantile(s, 0.5), 7);
	/* Huge values do not fall off the end. */
	gt_hist_add(s, UINT64_MAX);
	CHECK_U64(gt_hist_quantile(s, 1.0), UINT64_MAX);
	free(h);
	free(s);
	return unittest_result("test_histogram");
}
