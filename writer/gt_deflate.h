/* SPDX-License-Identifier: MIT */
/*
 * gt_deflate.h — the compressor the encoder deflates chunks with
 * (libdeflate: zlib format, about twice zlib's speed at level 1), behind a
 * seam with two sides. The giltrace command links libdeflate
 * (gt_deflate_linked.c). The preload library loads it with dlopen() the
 * first time its own writer compresses (preload/gt_deflate_dl.c): under
 * `giltrace run` a traced process never compresses, so libdeflate never
 * enters it.
 */
#ifndef GT_DEFLATE_H
#define GT_DEFLATE_H

#include <stddef.h>

struct gt_deflate;

/* A compressor at level (1..12), or NULL (out of memory, or the preload
 * library could not load libdeflate: the encoder then writes plain). */
struct gt_deflate *gt_deflate_alloc(int level);
/* Most bytes compressing n bytes can give. */
size_t gt_deflate_bound(struct gt_deflate *z, size_t n);
/* zlib-format output of in[0..n) into out; its size, 0 if cap is short. */
size_t gt_deflate_compress(struct gt_deflate *z, const void *in, size_t n, void *out,
			   size_t cap);
void gt_deflate_free(struct gt_deflate *z);

#endif
