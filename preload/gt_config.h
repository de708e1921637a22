/* SPDX-License-Identifier: MIT */
/*
 * gt_config.h — GILTRACE_* environment variables, parsed once.
 *
 * gt_config_load() runs in the library constructor, before the program has
 * threads; afterwards the struct is only read. A bad value gets one line on
 * stderr and the documented default (docs/configuration.md).
 */
#ifndef GT_CONFIG_H
#define GT_CONFIG_H

#include <limits.h>

struct gt_config {
	char output[PATH_MAX]; /* GILTRACE_OUTPUT: path template, %p = pid */
	int root_pid;          /* GILTRACE_ROOT_PID: set by `giltrace run` */
	int shm_fd;            /* GILTRACE_SHM_FD: `giltrace run`'s rings, -1 if none */
	int children;          /* GILTRACE_CHILDREN: trace exec'd descendants */
	unsigned ring_events;  /* GILTRACE_RING_EVENTS: per-thread ring size */
	unsigned max_threads;  /* GILTRACE_MAX_THREADS: rings available */
	int compress;          /* GILTRACE_COMPRESS: zlib level, 0 = off */
	unsigned flush_ms;     /* GILTRACE_FLUSH_MS: writer period */
	int quiet;             /* GILTRACE_QUIET */
	int debug;             /* GILTRACE_DEBUG */
	int disable;           /* GILTRACE_DISABLE: pass everything through */
	int no_tsc;            /* GILTRACE_CLOCK=boottime: never read the TSC */
};

extern struct gt_config gt_cfg;

#define GT_DEFAULT_OUTPUT "giltrace-%p.pftrace"

void gt_config_load(void);

/* Expands %p (pid) and %% in the template; returns 0 or -ENAMETOOLONG. */
int gt_config_expand(const char *tmpl, int pid, char *out, unsigned long size);

#endif
