/* SPDX-License-Identifier: MIT */
/*
 * gt_sched.c — reads a thread's run delay from /proc (see gt_sched.h).
 *
 * Cost, measured (docs/performance.md): about 5 µs per read on an idle
 * 2-vCPU VM, most of it the open. A descriptor kept per thread would make
 * each read a 0.7 µs pread, but the program would see it (in /proc/self/fd,
 * to close_range(), to a dup2() onto its number): a read is done with the
 * descriptor opened and closed around it, at the lowest free number for a
 * few microseconds, as any library's transient file is.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "gt_gil_state.h" /* GT_SM_NO_RD */
#include "gt_log.h"
#include "gt_ring.h"
#include "gt_sched.h"

atomic_int gt_sched_on;
static int off_by_config;

void gt_sched_init(int enabled)
{
	gt_sched_on = enabled;
	off_by_config = !enabled;
}

/* This process's entry says how the split went; the first word wins
 * except that a failure overrides "on". */
static void set_state(uint32_t state, int err)
{
	struct gt_shm_proc *p = gt_pool_proc();
	if (!p)
		return;
	uint32_t cur = atomic_load_explicit(&p->cpu_split, memory_order_relaxed);
	if (cur == state || (cur != GT_CPU_SPLIT_UNTRIED && cur != GT_CPU_SPLIT_ON))
		return;
	atomic_store_explicit(&p->cpu_split_errno, (uint32_t)err, memory_order_relaxed);
	atomic_store_explicit(&p->cpu_split, state, memory_order_release);
}

static void give_up(uint32_t state, int err)
{
	static atomic_int said;
	gt_sched_on = 0;
	set_state(state, err);
	if (atomic_exchange(&said, 1))
		return;
	if (state == GT_CPU_SPLIT_MISSING)
		gt_log_info("no /proc/<tid>/schedstat (%s): GIL waits are not split into waiting "
			    "for the GIL and for a CPU",
			    strerrorname_np(err) ? strerrorname_np(err) : "?");
	else if (state == GT_CPU_SPLIT_NOT_COUNTED)
		gt_log_info("the kernel does not count run delays (schedstat is 0 0 0): GIL "
			    "waits are not split into waiting for the GIL and for a CPU");
	else
		gt_log_error("reading /proc/<tid>/schedstat failed (%s): GIL waits are split "
			     "no more from here on (the report leaves the split out)",
			     strerrorname_np(err) ? strerrorname_np(err) : "?");
}

/* "sum_exec_runtime run_delay pcount\n". Counted: the thread has been on a
 * CPU at least once (pcount); the kernel writes "0 0 0" when it keeps no
 * count. (sum_exec_runtime alone says nothing: another thread's reads 0
 * during its first time slice.) */
static uint64_t parse(const char *s, long n, int *counted)
{
	uint64_t f[3] = {0, 0, 0};
	int i = 0;
	for (long k = 0; k < n && i < 3; k++) {
		if (s[k] >= '0' && s[k] <= '9')
			f[i] = f[i] * 10 + (uint64_t)(s[k] - '0');
		else if (s[k] == ' ' || s[k] == '\n')
			i++;
		else
			return GT_SM_NO_RD;
	}
	*counted = f[2] != 0;
	return i >= 2 ? f[1] : GT_SM_NO_RD;
}

/* mine: the calling thread's own file, whose failure ends the split;
 * another thread's may be gone (its delay is then just unknown). */
static uint64_t read_path(const char *path, int mine)
{
	int saved = errno;
	char buf[96];
	long fd = syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
	long n = -1;
	int err = 0;
	if (fd < 0) {
		err = errno;
	} else {
		n = syscall(SYS_pread64, (int)fd, buf, sizeof(buf), 0);
		if (n < 0)
			err = errno;
		syscall(SYS_close, (int)fd);
	}
	errno = saved;
	if (n <= 0 && !mine)
		return GT_SM_NO_RD;
	if (n <= 0) {
		give_up(err == ENOENT ? GT_CPU_SPLIT_MISSING : GT_CPU_SPLIT_FAILED, err ? err : EIO);
		return GT_SM_NO_RD;
	}
	int counted = 0;
	uint64_t rd = parse(buf, n, &counted);
	if ((rd == GT_SM_NO_RD || !counted) && !mine)
		return GT_SM_NO_RD;
	if (rd == GT_SM_NO_RD || !counted) {
		give_up(rd == GT_SM_NO_RD ? GT_CPU_SPLIT_FAILED : GT_CPU_SPLIT_NOT_COUNTED, EPROTO);
		return GT_SM_NO_RD;
	}
	set_state(GT_CPU_SPLIT_ON, 0);
	return rd;
}

void gt_sched_unsplit_wait(void)
{
	if (off_by_config)
		set_state(GT_CPU_SPLIT_OFF, 0);
}

uint64_t gt_sched_self(void)
{
	return gt_sched_on ? read_path("/proc/thread-self/schedstat", 1) : GT_SM_NO_RD;
}

uint64_t gt_sched_thread(uint32_t tid)
{
	if (!gt_sched_on)
		return GT_SM_NO_RD;
	/* "/proc/self/task/<tid>/schedstat", without stdio. */
	char path[48] = "/proc/self/task/";
	char digits[12];
	int n = 0, at = 16;
	do
		digits[n++] = (char)('0' + tid % 10);
	while ((tid /= 10) && n < 11);
	while (n)
		path[at++] = digits[--n];
	const char tail[] = "/schedstat";
	for (unsigned i = 0; i < sizeof(tail); i++)
		path[at++] = tail[i];
	return read_path(path, 0);
}
