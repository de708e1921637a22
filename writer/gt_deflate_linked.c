/* SPDX-License-Identifier: MIT */
/*
 * gt_deflate_linked.c — gt_deflate.h on libdeflate, linked (the command and
 * the tests).
 */
#include <libdeflate.h>

#include "gt_deflate.h"

struct gt_deflate *gt_deflate_alloc(int level)
{
	return (struct gt_deflate *)libdeflate_alloc_compressor(level);
}

size_t gt_deflate_bound(struct gt_deflate *z, size_t n)
{
	return libdeflate_zlib_compress_bound((struct libdeflate_compressor *)z, n);
}

size_t gt_deflate_compress(struct gt_deflate *z, const void *in, size_t n, void *out,
			   size_t cap)
{
	return libdeflate_zlib_compress((struct libdeflate_compressor *)z, in, n, out, cap);
}

void gt_deflate_free(struct gt_deflate *z)
{
	libdeflate_free_compressor((struct libdeflate_compressor *)z);
}
