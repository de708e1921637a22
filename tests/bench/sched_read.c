/* SPDX-License-Identifier: MIT */
/*
 * sched_read.c — what one run-delay read costs (preload/gt_sched.c reads
 * the same way: openat, pread, close, as raw system calls): ns per read of
 * the calling thread's /proc/thread-self/schedstat, and of another
 * thread's /proc/self/task/TID/schedstat while that thread runs. Prints
 * "self NS other NS". Used by tools/bench.py.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static atomic_int stop;
static atomic_long other_tid;

static void *spin(void *arg)
{
	(void)arg;
	atomic_store(&other_tid, syscall(SYS_gettid));
	while (!atomic_load(&stop))
		;
	return NULL;
}

static double now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static double per_read(const char *path, int n)
{
	char buf[96];
	double t0 = now_ns();
	for (int i = 0; i < n; i++) {
		long fd = syscall(SYS_openat, AT_FDCWD, path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			return -1;
		syscall(SYS_pread64, (int)fd, buf, sizeof(buf), 0L);
		syscall(SYS_close, (int)fd);
	}
	return (now_ns() - t0) / n;
}

int main(void)
{
	pthread_t t;
	char other[64];
	if (pthread_create(&t, NULL, spin, NULL))
		return 1;
	while (!atomic_load(&other_tid))
		;
	snprintf(other, sizeof(other), "/proc/self/task/%ld/schedstat", atomic_load(&other_tid));
	per_read("/proc/thread-self/schedstat", 2000); /* warm up */
	double self = per_read("/proc/thread-self/schedstat", 50000);
	double them = per_read(other, 50000);
	atomic_store(&stop, 1);
	pthread_join(t, NULL);
	printf("self %.0f other %.0f\n", self, them);
	return self < 0 || them < 0;
}
