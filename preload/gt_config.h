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
	int session_pid;       /* GILTRACE_SESSION=PID:FD:ID: `giltrace run`'s pool, */
	int session_fd;        /* in that process's descriptor table (0 if */
	unsigned long long session_id; /* none), and the run's id */
	int children;          /* GILTRACE_CHILDREN: trace exec'd descendants */
	unsigned ring_events;  /* GILTRACE_RING_EVENTS: per-thread ring size */
	unsigned max_threads;  /* GILTRACE_MAX_THREADS: rings available */
	int compress;          /* GILTRACE_COMPRESS: zlib level, 0 = off */
	unsigned flush_ms;     /* GILTRACE_FLUSH_MS: writer period */
	int quiet;             /* GILTRACE_QUIET */
	int debug;             /* GILTRACE_DEBUG */
	int disable;           /* GILTRACE_DISABLE: pass everything through */
	int no_tsc;            /* GILTRACE_CLOCK=boottime: never read the TSC */
	int cpu_split;         /* GILTRACE_CPU_SPLIT: read run delays (default 1) */
	int log;               /* GILTRACE_LOG: where messages go (enum gt_log_to) */
	char log_path[PATH_MAX]; /* GILTRACE_LOG=PATH (absolute) */
};

/* Where the library's messages go when no `giltrace run` relays them. */
enum gt_log_to {
	GT_LOG_TTY = 0, /* default: stderr if it is a terminal, else nowhere */
	GT_LOG_STDERR,  /* always stderr */
	GT_LOG_FILE,    /* appended to log_path */
	GT_LOG_NONE,
};

extern struct gt_config gt_cfg;

#define GT_DEFAULT_OUTPUT "giltrace-%p.pftrace"

/* own_pool: this process writes its own trace (no session): the output,
 * ring and writer settings matter. */
void gt_config_load(int own_pool);
/* The settings that decide what the rest of the load does and where its
 * messages go (GILTRACE_DISABLE, _QUIET, _DEBUG, _LOG, _SESSION, _ROOT_PID,
 * _CHILDREN); gt_config_load() reads the others. */
void gt_config_load_early(void);

/* path made absolute against the current directory; 0 or -errno. */
int gt_config_absolute(const char *path, char *out, unsigned long size);
/* Expands %p (pid) and %% in the template; returns 0 or -ENAMETOOLONG. */
int gt_config_expand(const char *tmpl, int pid, char *out, unsigned long size);

#endif
