/* SPDX-License-Identifier: MIT */
/* gt_out.c — the trace file of a process that writes its own (see gt_out.h). */
#define _GNU_SOURCE
#include "gt_out.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/close_range.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "gt_config.h"
#include "gt_procfs.h"
#include "gt_tracer.h"

struct gt_out gt_out = {.fd = -1, .cut_at = -1};

void gt_out_init(void)
{
	memset(&gt_out, 0, sizeof(gt_out));
	gt_out.fd = -1;
	gt_out.cut_at = -1;
}

/* ---- choosing and claiming the file ------------------------------------- */

/* trace.pftrace -> trace.<tag>.pftrace */
static int insert(const char *in, char *out, size_t size, const char *tag)
{
	const char *slash = strrchr(in, '/');
	const char *dot = strrchr(in, '.');
	if (!dot || (slash && dot < slash))
		dot = in + strlen(in);
	int w = snprintf(out, size, "%.*s.%s%s", (int)(dot - in), in, tag, dot);
	return w < 0 || (size_t)w >= size ? -ENAMETOOLONG : 0;
}

/* When this process started, in wall-clock ns, less one kernel tick (the
 * start time's resolution). */
static int64_t process_start_ns(void)
{
	long long ticks = gt_procfs_stat_number("/proc/self/stat", 22);
	long hz = sysconf(_SC_CLK_TCK);
	if (ticks < 0)
		return 0;
	if (hz <= 0)
		hz = 100;
	struct timespec boot, real;
	clock_gettime(CLOCK_BOOTTIME, &boot);
	clock_gettime(CLOCK_REALTIME, &real);
	int64_t boot_ns = (int64_t)boot.tv_sec * 1000000000 + boot.tv_nsec;
	int64_t real_ns = (int64_t)real.tv_sec * 1000000000 + real.tv_nsec;
	return real_ns - boot_ns + (ticks - 1) * (1000000000 / hz);
}

/* Opens and claims path. -EBUSY: another live process writes it; -EEXIST:
 * an earlier image of this process (it exec()ed itself) or another process
 * of this run wrote it since we started, and it must be kept — or, with
 * fresh, it exists at all. */
static int claim(const char *path, int keep_recent, int fresh)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY | (fresh ? O_EXCL : 0), 0644);
	if (fd < 0)
		return -errno;
	struct stat st;
	int rc = 0;
	if (fstat(fd, &st)) {
		rc = -errno;
	} else if (S_ISDIR(st.st_mode)) {
		rc = -EISDIR;
	} else if (S_ISREG(st.st_mode)) {
		if (flock(fd, LOCK_EX | LOCK_NB))
			rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
		else if (keep_recent && st.st_size > 0 &&
			 (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec >= process_start_ns())
			rc = -EEXIST;
		else if (ftruncate(fd, 0))
			rc = -errno;
	}
	if (rc) {
		close(fd);
		return rc;
	}
	gt_out.regular = S_ISREG(st.st_mode);
	gt_out.dev = st.st_dev;
	gt_out.ino = st.st_ino;
	return fd;
}

/* Candidate n for this process's file. The first process of a traced tree
 * takes the name itself; the others — forked children, programs started by
 * a traced process, a process that finds the name taken by a live one or
 * freshly written by another image of itself — insert their pid (then .2,
 * .3, ...). A name with %p is each process's own already: only numbers.
 * Not a lock alone: the first process's writer thread is stopped around
 * every fork(), and its lock goes with it for that moment. */
static int candidate(const char *base, int own, int first, int n, char *out, size_t size)
{
	char tag[32];
	if (n == 0) {
		if (!own && !first)
			return 1; /* skip */
		snprintf(out, size, "%s", base);
		return strlen(base) < size ? 0 : -ENAMETOOLONG;
	}
	if (own && n == 1)
		return 1;
	if (n == 1)
		snprintf(tag, sizeof(tag), "%d", gt_proc.pid);
	else if (own)
		snprintf(tag, sizeof(tag), "%d", n);
	else
		snprintf(tag, sizeof(tag), "%d.%d", gt_proc.pid, n);
	return insert(base, out, size, tag);
}

static int first_open(void)
{
	char base[PATH_MAX], cand[PATH_MAX];
	if (gt_config_expand(gt_cfg.output, gt_proc.pid, base, sizeof(base)))
		return -ENAMETOOLONG;
	snprintf(gt_out.path, sizeof(gt_out.path), "%s", base); /* for messages */
	/* A FIFO or a device (/dev/null) is shared as it is: no lock, no
	 * other name (which would be a new file beside the device). */
	struct stat st;
	if (!stat(base, &st) && !S_ISREG(st.st_mode) && !S_ISDIR(st.st_mode)) {
		snprintf(gt_out.path, sizeof(gt_out.path), "%s", base);
		int fd = claim(base, 0, 0);
		gt_out.opened = fd >= 0;
		return fd;
	}
	int own = strstr(gt_cfg.output, "%p") != NULL;
	int first = !own && !gt_proc.forked_child && !gt_parent_preloaded();
	int rc = -EEXIST;
	for (int n = 0; n < 100 && (rc == -EEXIST || rc == -EBUSY); n++) {
		int c = candidate(base, own, first, n, cand, sizeof(cand));
		if (c < 0)
			return c;
		/* The name itself may be truncated (an earlier run's trace); a
		 * name derived from it is only ever a new file. */
		if (!c)
			rc = claim(cand, 1, strcmp(cand, base) != 0);
	}
	if (rc < 0)
		return rc;
	snprintf(gt_out.path, sizeof(gt_out.path), "%s", cand);
	gt_out.opened = 1;
	return rc;
}

/* The same file again (after the writer thread was restarted, or for the
 * next write without a table of our own): only if it is still ours. */
static int reopen(void)
{
	int fd = open(gt_out.path, O_WRONLY | O_CLOEXEC | O_NOCTTY);
	if (fd < 0)
		return errno == ENOENT ? -ESTALE : -errno;
	struct stat st;
	int rc = 0;
	if (fstat(fd, &st) || st.st_dev != gt_out.dev || st.st_ino != gt_out.ino ||
	    (gt_out.regular && (uint64_t)st.st_size != gt_out.offset))
		rc = -ESTALE; /* not the file we were writing, or not only ours */
	else if (gt_out.regular && flock(fd, LOCK_EX | LOCK_NB))
		rc = -ESTALE; /* someone else took it over meanwhile */
	else if (gt_out.regular && lseek(fd, (off_t)gt_out.offset, SEEK_SET) < 0)
		rc = -errno;
	if (rc) {
		close(fd);
		return rc;
	}
	return fd;
}

/* ---- writing ------------------------------------------------------------ */

int gt_out_write(void *ctx, const void *data, size_t len)
{
	(void)ctx;
	if (gt_out.fd < 0) {
		int fd = gt_out.opened ? reopen() : first_open();
		if (fd < 0)
			return fd;
		gt_out.fd = fd;
	}
	int rc = 0;
	if (gt_out.cut_at >= 0) {
		/* An exec() that failed: its tail goes, the trace goes on. */
		if (ftruncate(gt_out.fd, gt_out.cut_at) ||
		    lseek(gt_out.fd, gt_out.cut_at, SEEK_SET) < 0)
			rc = -errno;
		gt_out.offset = (uint64_t)gt_out.cut_at;
		gt_out.cut_at = -1;
	}
	for (const char *p = data; !rc && len;) {
		ssize_t n = write(gt_out.fd, p, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			rc = n < 0 ? -errno : -EIO;
			break;
		}
		p += n;
		len -= (size_t)n;
		gt_out.offset += (uint64_t)n;
	}
	if (!gt_out.own_table) {
		/* The program's table: hold nothing between writes. */
		close(gt_out.fd);
		gt_out.fd = -1;
	}
	return rc;
}

void gt_out_enter_own_table(void)
{
	/* A descriptor table of this thread's own, starting empty: what the
	 * program does with its descriptors cannot reach ours, and we hold no
	 * copy of its (a pipe it closes still sees EOF). */
	if (!syscall(SYS_close_range, 0, ~0u, CLOSE_RANGE_UNSHARE)) {
		gt_out.own_table = 1;
	} else if (!unshare(CLONE_FILES)) {
		struct rlimit rl;
		int max = !getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < 65536 ? (int)rl.rlim_cur
										 : 65536;
		for (int fd = 0; fd < max; fd++)
			close(fd);
		gt_out.own_table = 1;
	}
	gt_out.fd = -1; /* whatever was open belonged to another table */
}

void gt_out_leave_own_table(void)
{
	if (gt_out.fd >= 0 && gt_out.own_table)
		close(gt_out.fd);
	gt_out.fd = -1;
	gt_out.own_table = 0;
}

void gt_out_close(void)
{
	if (gt_out.fd >= 0)
		close(gt_out.fd);
	gt_out.fd = -1;
}

uint64_t gt_out_end(void)
{
	return gt_out.cut_at >= 0 ? (uint64_t)gt_out.cut_at : gt_out.offset;
}

int gt_out_can_cut(void) { return gt_out.regular; }

void gt_out_cut_before_next_write(uint64_t at) { gt_out.cut_at = (int64_t)at; }

void gt_out_forget(void)
{
	/* The parent's descriptor lived in its writer's table, or (without
	 * one) was closed after each write: nothing of it is in ours. */
	gt_out_init();
}
