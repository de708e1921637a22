/* SPDX-License-Identifier: MIT */
/* gt_config.c — see gt_config.h. */
#include "gt_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gt_log.h"

struct gt_config gt_cfg = {
	.output = GT_DEFAULT_OUTPUT,
	.ring_events = 65536,
	.max_threads = 1024,
	.compress = 1,
	.flush_ms = 100,
};

/* Strict: the whole string must be a decimal number within [min, max]. */
static void parse_uint(const char *name, unsigned *out, unsigned min, unsigned max)
{
	const char *s = getenv(name);
	if (!s)
		return;
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (!*s || *end || errno || s[0] == '-' || v < min || v > max) {
		gt_log_error("%s=%s is not a whole number from %u to %u; using %u", name, s, min,
			     max, *out);
		return;
	}
	*out = (unsigned)v;
}

static void parse_bool(const char *name, int *out)
{
	unsigned v = (unsigned)*out;
	parse_uint(name, &v, 0, 1);
	*out = (int)v;
}

int gt_config_expand(const char *tmpl, int pid, char *out, unsigned long size)
{
	size_t n = 0;
	for (const char *p = tmpl; *p; p++) {
		char num[16];
		const char *piece = num;
		if (p[0] == '%' && p[1] == 'p') {
			snprintf(num, sizeof(num), "%d", pid);
			p++;
		} else if (p[0] == '%' && p[1] == '%') {
			num[0] = '%', num[1] = 0;
			p++;
		} else {
			num[0] = *p, num[1] = 0;
		}
		size_t len = strlen(piece);
		if (n + len + 1 > size)
			return -ENAMETOOLONG;
		memcpy(out + n, piece, len);
		n += len;
	}
	out[n] = 0;
	return 0;
}

/* GILTRACE_SESSION=PID:FD:ID (ID in hex) */
static void parse_session(void)
{
	const char *s = getenv("GILTRACE_SESSION");
	if (!s)
		return;
	int pid, fd, end = 0;
	unsigned long long id;
	if (sscanf(s, "%d:%d:%llx%n", &pid, &fd, &id, &end) != 3 || s[end] || pid <= 0 ||
	    fd < 0) {
		gt_log_error("GILTRACE_SESSION=%s is not PID:FD:ID; writing the trace from this "
			     "process",
			     s);
		return;
	}
	gt_cfg.session_pid = pid;
	gt_cfg.session_fd = fd;
	gt_cfg.session_id = id;
}

static void parse_log(void)
{
	const char *s = getenv("GILTRACE_LOG");
	if (!s || !*s || !strcmp(s, "tty"))
		return;
	if (!strcmp(s, "stderr")) {
		gt_cfg.log = GT_LOG_STDERR;
	} else if (!strcmp(s, "none")) {
		gt_cfg.log = GT_LOG_NONE;
	} else if (gt_config_absolute(s, gt_cfg.log_path, sizeof(gt_cfg.log_path))) {
		gt_log_error("GILTRACE_LOG=%s is too long; using tty", s);
	} else {
		gt_cfg.log = GT_LOG_FILE;
	}
}

int gt_config_absolute(const char *path, char *out, unsigned long size)
{
	/* The directory resolved (no "..", no relative part), the name kept:
	 * it may not exist yet, or be a symlink to follow when opened. */
	char dir[PATH_MAX], real[PATH_MAX];
	const char *slash = strrchr(path, '/');
	const char *name = slash ? slash + 1 : path;
	if (slash && (size_t)(slash - path) >= sizeof(dir))
		return -ENAMETOOLONG;
	if (slash)
		snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
	else
		snprintf(dir, sizeof(dir), ".");
	if (!realpath(dir[0] ? dir : "/", real))
		return -errno;
	int n = snprintf(out, size, "%s/%s", strcmp(real, "/") ? real : "", name);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

void gt_config_load_early(void)
{
	int saved = errno;
	/* Quiet, debug and log first: they govern the messages below. */
	parse_bool("GILTRACE_QUIET", &gt_cfg.quiet);
	parse_bool("GILTRACE_DEBUG", &gt_cfg.debug);
	parse_log();
	parse_bool("GILTRACE_DISABLE", &gt_cfg.disable);
	parse_bool("GILTRACE_CHILDREN", &gt_cfg.children);
	gt_cfg.cpu_split = 1;
	parse_bool("GILTRACE_CPU_SPLIT", &gt_cfg.cpu_split);
	unsigned root = 0;
	parse_uint("GILTRACE_ROOT_PID", &root, 1, 0x7fffffff);
	gt_cfg.root_pid = (int)root;
	parse_session();
	errno = saved;
}

/* The output template, made absolute: a traced process that changes its
 * directory and then forks must write its children's traces beside its
 * own. Descendants that exec() get the absolute name too (only a relative
 * GILTRACE_OUTPUT is rewritten, and only giltrace's own variable). */
static void parse_output(void)
{
	const char *out = getenv("GILTRACE_OUTPUT");
	char probe[PATH_MAX], abs[PATH_MAX];
	if (out && (!*out || gt_config_expand(out, 1, probe, sizeof(probe)))) {
		gt_log_error("GILTRACE_OUTPUT is empty or too long; using %s", GT_DEFAULT_OUTPUT);
		out = NULL;
	}
	if (gt_config_absolute(out ? out : GT_DEFAULT_OUTPUT, abs, sizeof(abs)) ||
	    gt_config_expand(abs, 1, probe, sizeof(probe))) {
		snprintf(gt_cfg.output, sizeof(gt_cfg.output), "%s", out ? out : GT_DEFAULT_OUTPUT);
		return;
	}
	snprintf(gt_cfg.output, sizeof(gt_cfg.output), "%s", abs);
	if (out && out[0] != '/')
		setenv("GILTRACE_OUTPUT", abs, 1);
}

void gt_config_load(int own_pool)
{
	int saved = errno;
	const char *clock = getenv("GILTRACE_CLOCK");
	if (clock && !strcmp(clock, "boottime"))
		gt_cfg.no_tsc = 1;
	else if (clock && strcmp(clock, "auto"))
		gt_log_error("GILTRACE_CLOCK=%s is not auto or boottime; using auto", clock);
	if (!own_pool) {
		/* A session's pool: giltrace chose (and checked) these. */
		errno = saved;
		return;
	}
	parse_output();
	parse_uint("GILTRACE_RING_EVENTS", &gt_cfg.ring_events, 1024, 1u << 22);
	if (gt_cfg.ring_events & (gt_cfg.ring_events - 1)) {
		unsigned p = 1024;
		while (p < gt_cfg.ring_events)
			p <<= 1;
		gt_log_error("GILTRACE_RING_EVENTS=%u is not a power of two; using %u",
			     gt_cfg.ring_events, p);
		gt_cfg.ring_events = p;
	}
	parse_uint("GILTRACE_MAX_THREADS", &gt_cfg.max_threads, 1, 65536);
	unsigned level = (unsigned)gt_cfg.compress;
	parse_uint("GILTRACE_COMPRESS", &level, 0, 12);
	gt_cfg.compress = (int)level;
	parse_uint("GILTRACE_FLUSH_MS", &gt_cfg.flush_ms, 1, 10000);
	errno = saved;
}
