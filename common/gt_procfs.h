/* SPDX-License-Identifier: MIT */
/*
 * gt_procfs.h — reading the little /proc files giltrace needs.
 *
 * Open, read, close: a descriptor of ours lives only for the read.
 * Async-signal-safe (no stdio, no allocation), so usable from a signal
 * handler, an atfork handler or a hook.
 */
#ifndef GT_PROCFS_H
#define GT_PROCFS_H

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <unistd.h>

/* Reads a small /proc file whole, NUL-terminated; the bytes read, or -1. */
static inline ssize_t gt_procfs_read(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, size - 1);
	close(fd);
	if (n < 0)
		return -1;
	buf[n] = 0;
	return n;
}

/* In the text of a /proc/PID/stat, field n as numbered in proc(5) (3 is the
 * state, 4 the ppid, 7 tty_nr, 20 num_threads, 22 starttime), or NULL.
 * The command name (field 2) may hold spaces and parentheses: fields are
 * counted from its last ')'. */
static inline const char *gt_procfs_stat_field(const char *stat, int n)
{
	const char *p = strrchr(stat, ')');
	if (!p || n < 3)
		return NULL;
	for (int field = 2; *p; p++)
		if (*p == ' ' && ++field == n)
			return p[1] ? p + 1 : NULL;
	return NULL;
}

/* Field n (>= 4) of /proc/<path>/stat as a number; -1 if unreadable. */
static inline long long gt_procfs_stat_number(const char *stat_path, int n)
{
	char buf[1024];
	if (gt_procfs_read(stat_path, buf, sizeof(buf)) <= 0)
		return -1;
	const char *f = gt_procfs_stat_field(buf, n);
	return f ? strtoll(f, NULL, 10) : -1;
}

#endif
