/* SPDX-License-Identifier: MIT */
/* run_output.c — the files `giltrace run` writes into (see run_output.h). */
#define _GNU_SOURCE
#include "run_output.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gt_err.h"

/* %p -> pid, %% -> % */
static void expand(const char *tmpl, long pid, char *out, size_t n)
{
	size_t o = 0;
	for (const char *p = tmpl; *p && o + 24 < n; p++) {
		if (p[0] == '%' && p[1] == 'p') {
			o += (size_t)snprintf(out + o, n - o, "%ld", pid);
			p++;
		} else if (p[0] == '%' && p[1] == '%') {
			out[o++] = '%';
			p++;
		} else {
			out[o++] = *p;
		}
	}
	out[o] = 0;
}

/* Opens path for writing a trace: created if missing, never unlinked or
 * replaced; a regular file is claimed (a second writer gets -EBUSY) and
 * then truncated; a FIFO needs a reader. Sets *kind. */
static int open_trace_file(const char *path, enum run_out_kind *kind, int *created)
{
	struct stat st;
	*created = 0;
	int flags = O_WRONLY | O_CLOEXEC | O_NOCTTY;
	if (!stat(path, &st)) {
		if (S_ISDIR(st.st_mode))
			return -EISDIR;
		if (S_ISFIFO(st.st_mode))
			flags |= O_NONBLOCK; /* ENXIO at once if nobody reads */
		else if (!S_ISREG(st.st_mode) && !S_ISCHR(st.st_mode))
			return -EINVAL;
	} else if (errno != ENOENT) {
		return -errno;
	} else {
		flags |= O_CREAT | O_EXCL; /* then it is ours */
	}
	int fd = open(path, flags, 0644);
	if (fd < 0 && errno == EEXIST && (flags & O_EXCL)) {
		flags &= ~O_EXCL; /* a dangling symlink, or created meanwhile */
		fd = open(path, flags, 0644);
		flags &= ~O_CREAT;
	}
	if (fd < 0)
		return -errno;
	*created = !!(flags & O_CREAT);
	if (fstat(fd, &st)) {
		int err = errno;
		close(fd);
		return -err;
	}
	*kind = S_ISREG(st.st_mode) ? RUN_OUT_FILE : S_ISFIFO(st.st_mode) ? RUN_OUT_FIFO
									   : RUN_OUT_DEVICE;
	int rc = 0;
	if (*kind == RUN_OUT_FIFO) {
		if (fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK))
			rc = -errno;
	} else if (*kind == RUN_OUT_FILE) {
		if (flock(fd, LOCK_EX | LOCK_NB))
			rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
		else if (ftruncate(fd, 0))
			rc = -errno;
	}
	if (rc) {
		close(fd);
		return rc;
	}
	return fd;
}

static void say_cannot(const char *path, int err)
{
	const char *why = err == EBUSY	 ? "another giltrace is writing it"
			  : err == ENXIO ? "it is a FIFO that no process is reading"
			  : err == EINVAL
				  ? "it is not a regular file, a FIFO or a character device"
				  : strerror(err);
	gt_err("cannot write the trace to %s: %s", path, why);
}

static int open_root(struct run_output *o, const char *path)
{
	int fd = open_trace_file(path, &o->kind, &o->root_created);
	if (fd < 0) {
		say_cannot(path, -fd);
		return -1;
	}
	o->root_fd = fd;
	snprintf(o->root_path, sizeof(o->root_path), "%s", path);
	return 0;
}

int run_output_prepare(struct run_output *o, const char *arg)
{
	memset(o, 0, sizeof(*o));
	o->root_fd = -1;
	/* Absolute now, its directory resolved: the program may change its
	 * directory, and every trace of the run goes beside the first. */
	char dir[PATH_MAX], real[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", arg);
	char *slash = strrchr(dir, '/');
	const char *name = slash ? slash + 1 : arg;
	if (slash)
		*slash = 0;
	if (!*name || !strcmp(name, ".") || !strcmp(name, "..")) {
		gt_err("cannot write the trace to %s: Is a directory", arg);
		return -1;
	}
	if (!realpath(slash ? (dir[0] ? dir : "/") : ".", real)) {
		gt_err("cannot write the trace to %s: %s", arg, strerror(errno));
		return -1;
	}
	int n = snprintf(o->tmpl, sizeof(o->tmpl), "%s/%s", strcmp(real, "/") ? real : "", name);
	if (n < 0 || (size_t)n >= sizeof(o->tmpl) - 32) {
		gt_err("the trace's path is too long: %s", arg);
		return -1;
	}
	o->has_pid = strstr(o->tmpl, "%p") != NULL;
	if (!o->has_pid)
		return open_root(o, o->tmpl);
	/* The name needs the pid: check the directory now, open later. */
	const char *d = real;
	int err = access(d, W_OK) ? errno : 0;
	if (err) {
		gt_err("cannot write a trace in %s: %s", d, strerror(err));
		return -1;
	}
	return 0;
}

int run_output_open_root(struct run_output *o, pid_t pid)
{
	if (o->root_fd >= 0 || !o->has_pid)
		return 0;
	char path[PATH_MAX];
	expand(o->tmpl, pid, path, sizeof(path));
	return open_root(o, path);
}

void run_output_discard_root(struct run_output *o)
{
	if (o->root_fd < 0)
		return;
	struct stat st;
	if (o->root_created && !fstat(o->root_fd, &st) && S_ISREG(st.st_mode) && !st.st_size)
		unlink(o->root_path);
	close(o->root_fd);
	o->root_fd = -1;
}

void run_output_free(struct run_output *o)
{
	if (o->root_fd >= 0)
		close(o->root_fd);
	o->root_fd = -1;
}

/* ---- one trace's sink --------------------------------------------------- */

int run_sink_write(void *ctx, const void *data, size_t len)
{
	struct run_sink *s = ctx;
	if (s->error)
		return -s->error;
	if (s->fd < 0) {
		s->fd = s->out->root_fd;
		s->out->root_fd = -1;
		snprintf(s->path, sizeof(s->path), "%s", s->out->root_path);
		if (s->fd < 0) {
			s->error = -s->fd;
			s->fd = -1;
			return -s->error;
		}
		struct stat st;
		if (!fstat(s->fd, &st) && S_ISREG(st.st_mode)) {
			s->dev = st.st_dev;
			s->ino = st.st_ino;
		}
	}
	for (const char *p = data; len;) {
		ssize_t n = write(s->fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			s->error = n < 0 ? errno : EIO;
			return -s->error;
		}
		if (s->tee)
			s->tee(s->tee_ctx, p, (size_t)n);
		s->out->bytes += (uint64_t)n;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

void run_sink_close(struct run_sink *s)
{
	if (s->fd < 0)
		return;
	struct stat st;
	if (s->ino && !s->error &&
	    (stat(s->path, &st) || st.st_dev != s->dev || st.st_ino != s->ino))
		s->error = ESTALE;
	if (close(s->fd) && !s->error)
		s->error = errno;
	s->fd = -1;
}
