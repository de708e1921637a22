/* SPDX-License-Identifier: MIT */
/*
 * gt_log.c — where the library's messages go (see gt_log.h).
 *
 * Never into the program's own output unasked: a traced program's stderr is
 * part of what it does (test suites compare it, pipelines parse it). Under
 * `giltrace run` a message goes into the session pool and the giltrace
 * process prints it; otherwise GILTRACE_LOG decides, and by default a
 * message reaches stderr only when stderr is a terminal, where a person
 * reads it.
 */
#define _GNU_SOURCE
#include "gt_log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gt_config.h"
#include "gt_procfs.h"
#include "gt_ring.h"
#include "gt_shm_msg.h"
#include "gt_tracer.h"

#define PREFIX "giltrace: "

/* Messages held until they can go where they belong: the constructor's,
 * until it knows where that is, and the writer thread's (its descriptor
 * table of its own has no stderr), until a thread of the program finishes
 * the trace and releases them. */
static struct {
	int on;
	atomic_flag lock;
	size_t len;
	char buf[2048];
} held = {.lock = ATOMIC_FLAG_INIT};
static __thread int defer_mine;

static void write_all(int fd, const char *buf, size_t len)
{
	for (size_t off = 0; off < len;) {
		ssize_t w = write(fd, buf + off, len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		off += (size_t)w;
	}
}

/* Is stderr this process's controlling terminal, where a person reads it?
 * Not merely "a tty": a program's fd 2 may be a pty master it drives, whose
 * other side is some program's input. */
static int stderr_is_the_terminal(void)
{
	struct stat st;
	if (fstat(STDERR_FILENO, &st) || !S_ISCHR(st.st_mode))
		return 0;
	long long tty = gt_procfs_stat_number("/proc/self/stat", 7);
	return tty > 0 && (unsigned long long)tty == (uint32_t)st.st_rdev;
}

/* Puts one message (text without prefix or newline) where it belongs. */
static void deliver(const char *text, size_t len)
{
	if (gt_pool.shared) {
		gt_shm_msg_put(gt_pool.v.hdr, (uint32_t)gt_proc.pid, text, (uint32_t)len);
		gt_ring_wake_writer();
		return;
	}
	if (gt_cfg.session_pid && !gt_proc.eligible)
		return; /* under giltrace run, a process that does not trace */
	int fd = -1;
	if (gt_cfg.log == GT_LOG_STDERR || (gt_cfg.log == GT_LOG_TTY && stderr_is_the_terminal()))
		fd = STDERR_FILENO;
	else if (gt_cfg.log == GT_LOG_FILE) /* open for this message only */
		fd = open(gt_cfg.log_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
	if (fd < 0)
		return;
	char line[600];
	int n = gt_cfg.log == GT_LOG_FILE
			? snprintf(line, sizeof(line), "giltrace[%d]: %.*s\n", gt_proc.pid, (int)len, text)
			: snprintf(line, sizeof(line), PREFIX "%.*s\n", (int)len, text);
	if (n > 0)
		write_all(fd, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
	if (fd != STDERR_FILENO)
		close(fd);
}

static void vlog(const char *fmt, va_list ap)
{
	int saved = errno;
	char text[512];
	int m = vsnprintf(text, sizeof(text), fmt, ap);
	if (m <= 0) {
		errno = saved;
		return;
	}
	size_t len = (size_t)m < sizeof(text) ? (size_t)m : sizeof(text) - 1;
	if (!held.on && !defer_mine) {
		deliver(text, len);
		errno = saved;
		return;
	}
	while (atomic_flag_test_and_set_explicit(&held.lock, memory_order_acquire))
		;
	if (held.len + len + 1 <= sizeof(held.buf)) {
		memcpy(held.buf + held.len, text, len);
		held.len += len;
		held.buf[held.len++] = 0;
	}
	atomic_flag_clear_explicit(&held.lock, memory_order_release);
	errno = saved;
}

void gt_log_hold(void) { held.on = 1; }

void gt_log_defer_mine(void) { defer_mine = 1; }

void gt_log_release(void)
{
	char copy[sizeof(held.buf)];
	while (atomic_flag_test_and_set_explicit(&held.lock, memory_order_acquire))
		;
	held.on = 0;
	size_t n = held.len;
	memcpy(copy, held.buf, n);
	held.len = 0;
	atomic_flag_clear_explicit(&held.lock, memory_order_release);
	for (size_t at = 0; at < n;) {
		size_t len = strlen(copy + at);
		deliver(copy + at, len);
		at += len + 1;
	}
}

void gt_log_discard(void)
{
	while (atomic_flag_test_and_set_explicit(&held.lock, memory_order_acquire))
		;
	held.on = 0;
	held.len = 0;
	atomic_flag_clear_explicit(&held.lock, memory_order_release);
}

void gt_log_error(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
}

void gt_log_info(const char *fmt, ...)
{
	if (gt_cfg.quiet)
		return;
	va_list ap;
	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
}

void gt_log_debug(const char *fmt, ...)
{
	if (!gt_cfg.debug)
		return;
	va_list ap;
	va_start(ap, fmt);
	vlog(fmt, ap);
	va_end(ap);
}
