/* SPDX-License-Identifier: MIT */
/* gt_config.c — see gt_config.h. */
#include "gt_config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gt_log.h"

struct gt_config gt_cfg = {
	.output = GT_DEFAULT_OUTPUT,
	.ring_events = 65536,
	.max_threads = 1024,
	.compress = 1,
	.flush_ms = 100,
	.shm_fd = -1,
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

void gt_config_load(void)
{
	int saved = errno;
	/* Quiet and debug first: they govern the messages below. */
	parse_bool("GILTRACE_QUIET", &gt_cfg.quiet);
	parse_bool("GILTRACE_DEBUG", &gt_cfg.debug);
	parse_bool("GILTRACE_DISABLE", &gt_cfg.disable);
	parse_bool("GILTRACE_CHILDREN", &gt_cfg.children);

	const char *out = getenv("GILTRACE_OUTPUT");
	if (out) {
		char probe[PATH_MAX];
		if (!*out || gt_config_expand(out, 1, probe, sizeof(probe)))
			gt_log_error("GILTRACE_OUTPUT is empty or too long; using %s",
				     GT_DEFAULT_OUTPUT);
		else
			snprintf(gt_cfg.output, sizeof(gt_cfg.output), "%s", out);
	}
	unsigned root = 0;
	parse_uint("GILTRACE_ROOT_PID", &root, 1, 0x7fffffff);
	gt_cfg.root_pid = (int)root;
	unsigned shm_fd = (unsigned)-1;
	parse_uint("GILTRACE_SHM_FD", &shm_fd, 0, 1u << 20);
	gt_cfg.shm_fd = (int)shm_fd;

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
	const char *clock = getenv("GILTRACE_CLOCK");
	if (clock && !strcmp(clock, "boottime"))
		gt_cfg.no_tsc = 1;
	else if (clock && strcmp(clock, "auto"))
		gt_log_error("GILTRACE_CLOCK=%s is not auto or boottime; using auto", clock);
	errno = saved;
}
