/* SPDX-License-Identifier: MIT */
/*
 * idle_thread.c — a control for `make bench`: preloaded, it starts one
 * thread that only sleeps. Any process with a second thread loses the
 * kernel's and glibc's single-threaded fast paths (file lookups, cancellable
 * syscalls, malloc locking); the benchmark runs this beside giltrace so that
 * part of the cost of giltrace's writer thread can be told apart.
 */
#include <pthread.h>
#include <unistd.h>

static void *sleep_forever(void *arg)
{
	for (;;)
		pause();
	return arg;
}

__attribute__((constructor)) static void start(void)
{
	pthread_t t;
	pthread_create(&t, NULL, sleep_forever, NULL);
}
