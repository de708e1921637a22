/* SPDX-License-Identifier: MIT */
/*
 * gt_deflate_dl.c — gt_deflate.h for the preload library: libdeflate is
 * loaded with dlopen() when this process's own writer first compresses
 * (gt_writer_prepare(), from a hook, never a signal handler), so that a
 * process traced under `giltrace run`, which never compresses, never maps
 * it. Without libdeflate the writer writes plain packets and says why once.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stddef.h>

#include "gt_deflate.h"
#include "gt_log.h"

static struct {
	int tried;
	void *(*alloc)(int);
	size_t (*bound)(void *, size_t);
	size_t (*compress)(void *, const void *, size_t, void *, size_t);
	void (*free_)(void *);
} D;

static int load(void)
{
	if (D.tried)
		return D.alloc != NULL;
	D.tried = 1;
	void *h = dlopen("libdeflate.so.0", RTLD_NOW | RTLD_LOCAL);
	if (h) {
		*(void **)&D.alloc = dlsym(h, "libdeflate_alloc_compressor");
		*(void **)&D.bound = dlsym(h, "libdeflate_zlib_compress_bound");
		*(void **)&D.compress = dlsym(h, "libdeflate_zlib_compress");
		*(void **)&D.free_ = dlsym(h, "libdeflate_free_compressor");
	}
	if (!D.alloc || !D.bound || !D.compress || !D.free_) {
		D.alloc = NULL;
		gt_log_error("cannot load libdeflate (%s): the trace is written uncompressed",
			     h ? "a function is missing" : dlerror());
		return 0;
	}
	return 1;
}

struct gt_deflate *gt_deflate_alloc(int level)
{
	return load() ? D.alloc(level) : NULL;
}

size_t gt_deflate_bound(struct gt_deflate *z, size_t n) { return D.bound(z, n); }

size_t gt_deflate_compress(struct gt_deflate *z, const void *in, size_t n, void *out,
			   size_t cap)
{
	return D.compress(z, in, n, out, cap);
}

void gt_deflate_free(struct gt_deflate *z) { D.free_(z); }
