/* SPDX-License-Identifier: MIT */
/* histogram.c — see histogram.h. */
#include "histogram.h"

/* Values below 2^SUB_BITS get a bucket each; above, a bucket spans 1/32 of
 * its power of two. */
static unsigned bucket_of(uint64_t v)
{
	if (v < (1u << GT_HIST_SUB_BITS))
		return (unsigned)v;
	unsigned msb = 63u - (unsigned)__builtin_clzll(v);
	unsigned shift = msb - GT_HIST_SUB_BITS;
	unsigned sub = (unsigned)(v >> shift) & ((1u << GT_HIST_SUB_BITS) - 1);
	return ((shift + 1) << GT_HIST_SUB_BITS) + sub;
}

/* The middle of bucket b. */
static uint64_t value_of(unsigned b)
{
	if (b < (1u << GT_HIST_SUB_BITS))
		return b;
	unsigned shift = (b >> GT_HIST_SUB_BITS) - 1;
	uint64_t sub = b & ((1u << GT_HIST_SUB_BITS) - 1);
	uint64_t lo = ((1ull << GT_HIST_SUB_BITS) | sub) << shift;
	return lo + ((1ull << shift) >> 1);
}

void gt_hist_add(struct gt_hist *h, uint64_t v)
{
	unsigned b = bucket_of(v);
	if (b >= GT_HIST_BUCKETS)
		b = GT_HIST_BUCKETS - 1;
	h->counts[b]++;
	h->n++;
	if (v > h->max)
		h->max = v;
}

uint64_t gt_hist_quantile(const struct gt_hist *h, double q)
{
	if (!h->n)
		return 0;
	if (q >= 1.0)
		return h->max;
	uint64_t rank = (uint64_t)(q * (double)h->n);
	if (rank >= h->n)
		rank = h->n - 1;
	uint64_t seen = 0;
	for (unsigned b = 0; b < GT_HIST_BUCKETS; b++) {
		seen += h->counts[b];
		if (seen > rank) {
			uint64_t v = value_of(b);
			return v < h->max ? v : h->max;
		}
	}
	return h->max;
}

void gt_time_hist_add(struct gt_time_hist *h, uint64_t v)
{
	unsigned b = bucket_of(v);
	if (b >= GT_HIST_BUCKETS)
		b = GT_HIST_BUCKETS - 1;
	h->sums[b] += v;
	h->total += v;
	if (v > h->max)
		h->max = v;
}

uint64_t gt_time_hist_quantile(const struct gt_time_hist *h, double q)
{
	if (!h->total)
		return 0;
	double want = q * (double)h->total;
	uint64_t seen = 0;
	for (unsigned b = 0; b < GT_HIST_BUCKETS; b++) {
		seen += h->sums[b];
		if (h->sums[b] && (double)seen >= want) {
			uint64_t v = value_of(b);
			return v < h->max ? v : h->max;
		}
	}
	return h->max;
}
