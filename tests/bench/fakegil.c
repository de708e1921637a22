/* SPDX-License-Identifier: MIT */
/*
 * fakegil.c — CPython's GIL protocol without CPython, for measuring giltrace.
 *
 * It exports Py_GetVersion (so libgiltrace.so takes it for an interpreter),
 * lays its GIL out like struct _gil_runtime_state (3.7+), creates it with
 * create_gil's four init calls and then takes and drops it with exactly the
 * pthread calls take_gil/drop_gil make (docs/design.md). With no Python
 * around it, the time per take/drop cycle with and without the library
 * preloaded gives giltrace's cost per GIL event, repeatably.
 *
 * Usage: fakegil [CYCLES] [THREADS] [SPIN] [BURSTS]
 *   prints "<ns per cycle> ns/cycle <cycles> cycles" on stdout. SPIN (default
 *   0) is busy work done without the GIL in each cycle, like the syscall a
 *   real program releases the GIL for; it sets the event rate. BURSTS > 0
 *   (one thread only): run BURSTS bursts of CYCLES cycles, 20 ms apart (time
 *   for giltrace's writer to drain), and print the median burst's time per
 *   cycle: the cost of recording without the writer ever falling behind.
 *   With THREADS > 1, threads contend: CPU-bound holders with a 5 ms switch
 *   interval and drop requests, as in CPython. FAKEGIL_CHECK_ERRNO=1 checks
 *   that creating, taking and dropping the GIL never change errno (exit
 *   status 3 if they did).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

const char *Py_GetVersion(void);
const char *Py_GetVersion(void) { return "3.11.0 (fakegil, not Python)"; }

static struct {
	unsigned long interval; /* µs */
	void *last_holder;
	atomic_int locked;
	unsigned long switch_number;
	pthread_cond_t cond;
	pthread_mutex_t mutex;
	pthread_cond_t switch_cond;
	pthread_mutex_t switch_mutex;
} gil = {.interval = 5000, .locked = -1};

static atomic_int drop_request;

/* FAKEGIL_CHECK_ERRNO=1: creating the GIL and every take and drop must
 * leave errno as they found it. Nothing in fakegil's loops sets errno
 * (glibc's pthread calls never do), so errno is set once before each
 * thread's loop and looked at after it: only giltrace's hooks (a message
 * written, a writer woken or started, a ring claimed) could have changed
 * it, and the loops themselves stay exactly what the benchmark measures.
 * A change is reported at exit, with status 3. */
static int check_errno;
static atomic_int errno_changed;
#define ERRNO_SENTINEL 4242

static void errno_before(void)
{
	if (check_errno)
		errno = ERRNO_SENTINEL;
}

static void errno_after(void)
{
	if (check_errno && errno != ERRNO_SENTINEL)
		errno_changed = 1;
}

static void create_gil(void)
{
	pthread_condattr_t attr;
	pthread_condattr_init(&attr);
	pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
	pthread_mutex_init(&gil.mutex, NULL);
	pthread_mutex_init(&gil.switch_mutex, NULL);
	pthread_cond_init(&gil.cond, &attr);
	pthread_cond_init(&gil.switch_cond, &attr);
	gil.locked = 0;
}

static void take_gil(void *me)
{
	pthread_mutex_lock(&gil.mutex);
	while (gil.locked) {
		unsigned long saved = gil.switch_number;
		struct timespec deadline;
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_nsec += (long)gil.interval * 1000;
		if (deadline.tv_nsec >= 1000000000) {
			deadline.tv_sec++;
			deadline.tv_nsec -= 1000000000;
		}
		int r = pthread_cond_timedwait(&gil.cond, &gil.mutex, &deadline);
		if (r == ETIMEDOUT && gil.locked && gil.switch_number == saved)
			drop_request = 1;
	}
	pthread_mutex_lock(&gil.switch_mutex);
	gil.locked = 1;
	if (gil.last_holder != me) {
		gil.last_holder = me;
		gil.switch_number++;
	}
	pthread_cond_signal(&gil.switch_cond);
	pthread_mutex_unlock(&gil.switch_mutex);
	drop_request = 0;
	pthread_mutex_unlock(&gil.mutex);
}

static void drop_gil(void *me)
{
	gil.last_holder = me;
	pthread_mutex_lock(&gil.mutex);
	gil.locked = 0;
	pthread_cond_signal(&gil.cond);
	pthread_mutex_unlock(&gil.mutex);
	if (drop_request) {
		pthread_mutex_lock(&gil.switch_mutex);
		if (gil.last_holder == me) {
			drop_request = 0;
			pthread_cond_wait(&gil.switch_cond, &gil.switch_mutex);
		}
		pthread_mutex_unlock(&gil.switch_mutex);
	}
}

static long cycles;
static long spin_work;

static void work(void)
{
	for (volatile long i = 0; i < spin_work; i++)
		;
}

/* Contended mode: hold the GIL and "compute" until asked to drop it. */
static void *worker(void *arg)
{
	errno_before();
	take_gil(arg);
	for (long i = 0; i < cycles; i++) {
		volatile unsigned spin = 0;
		while (!drop_request && spin < 100000)
			spin++;
		drop_gil(arg);
		take_gil(arg);
	}
	drop_gil(arg);
	errno_after();
	return NULL;
}

static double now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static int run_bursts(int bursts)
{
	double *ns = calloc((size_t)bursts, sizeof(*ns));
	struct timespec pause = {0, 20000000};
	int me;
	if (!ns)
		return 1;
	errno_before();
	take_gil(&me);
	for (int b = 0; b < bursts; b++) {
		double t0 = now_ns();
		for (long i = 0; i < cycles; i++) {
			drop_gil(&me);
			work();
			take_gil(&me);
		}
		ns[b] = (now_ns() - t0) / (double)cycles;
		errno_after();
		nanosleep(&pause, NULL);
		errno_before();
	}
	drop_gil(&me);
	errno_after();
	qsort(ns, (size_t)bursts, sizeof(*ns), by_value);
	printf("%.2f ns/cycle %ld cycles\n", ns[bursts / 2], cycles * bursts);
	free(ns);
	return 0;
}

int main(int argc, char **argv)
{
	cycles = argc > 1 ? atol(argv[1]) : 2000000;
	int threads = argc > 2 ? atoi(argv[2]) : 1;
	spin_work = argc > 3 ? atol(argv[3]) : 0;
	int bursts = argc > 4 ? atoi(argv[4]) : 0;
	if (cycles <= 0 || threads <= 0 || threads > 64 || spin_work < 0) {
		fprintf(stderr, "usage: fakegil [CYCLES] [THREADS] [SPIN]\n");
		return 2;
	}
	const char *ce = getenv("FAKEGIL_CHECK_ERRNO");
	check_errno = ce && *ce == '1';
	errno_before();
	create_gil();
	errno_after();
	int rc = 0;
	if (bursts > 0 && threads == 1) {
		rc = run_bursts(bursts);
		goto out;
	}
	double t0 = now_ns();
	if (threads == 1) {
		int me;
		errno_before();
		take_gil(&me);
		for (long i = 0; i < cycles; i++) { /* an uncontended release/acquire */
			drop_gil(&me);
			work();
			take_gil(&me);
		}
		drop_gil(&me);
		errno_after();
	} else {
		pthread_t t[64];
		int ids[64];
		for (int i = 0; i < threads; i++)
			pthread_create(&t[i], NULL, worker, &ids[i]);
		for (int i = 0; i < threads; i++)
			pthread_join(t[i], NULL);
	}
	double dt = now_ns() - t0;
	printf("%.2f ns/cycle %ld cycles\n", dt / (double)cycles / threads, cycles * threads);
out:
	if (errno_changed) {
		fprintf(stderr, "fakegil: a hook changed errno\n");
		return 3;
	}
	return rc;
}
