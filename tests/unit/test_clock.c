/* SPDX-License-Identifier: MIT */
/*
 * test_clock.c — recorder ticks convert to CLOCK_BOOTTIME on every CPU.
 *
 * Whatever gt_clock_init() decided (the TSC, because the kernel uses it or
 * because it agreed with the kernel's clock on every CPU; or BOOTTIME
 * itself), a tick read on any CPU this test may run on must convert to
 * within a few microseconds of what clock_gettime(CLOCK_BOOTTIME) said at
 * the same moment: that is what lets a trace line up with other Perfetto
 * traces, and what a wrongly trusted TSC would break.
 */
#define _GNU_SOURCE
#include <sched.h>
#include <stdlib.h>
#include <time.h>

#include "gt_clock.h"
#include "unittest.h"

#define SLACK_NS 20000 /* a preemption between the two reads, at worst */

static void sleep_ms(long ms)
{
	struct timespec ts = {0, ms * 1000000L};
	nanosleep(&ts, NULL);
}

/* The tick and BOOTTIME read back to back, tightest of a few. */
static void pair(uint64_t *ticks, uint64_t *ns)
{
	uint64_t best = UINT64_MAX;
	for (int i = 0; i < 20; i++) {
		uint64_t b0 = gt_clock_boottime_ns();
		uint64_t t = gt_clock_now();
		uint64_t b1 = gt_clock_boottime_ns();
		if (b1 - b0 < best) {
			best = b1 - b0;
			*ticks = t;
			*ns = b0 + (b1 - b0) / 2;
		}
	}
}

static void converts_on_every_cpu(void)
{
	cpu_set_t allowed, one;
	CHECK(!sched_getaffinity(0, sizeof(allowed), &allowed));
	int cpus = 0;
	for (int cpu = 0; cpu < CPU_SETSIZE; cpu++) {
		if (!CPU_ISSET(cpu, &allowed))
			continue;
		CPU_ZERO(&one);
		CPU_SET(cpu, &one);
		CHECK(!sched_setaffinity(0, sizeof(one), &one));
		uint64_t t = 0, ns = 0;
		pair(&t, &ns);
		int64_t off = (int64_t)(gt_clock_to_ns(t) - ns);
		if (off > SLACK_NS || off < -SLACK_NS)
			fprintf(stderr, "cpu %d: tick converts %lld ns away from BOOTTIME (%s)\n", cpu,
				(long long)off, gt_clock_name());
		CHECK(off <= SLACK_NS && off >= -SLACK_NS);
		cpus++;
	}
	CHECK(sched_setaffinity(0, sizeof(allowed), &allowed) == 0);
	CHECK(cpus > 0);
}

int main(void)
{
	/* BOOTTIME itself: ticks are nanoseconds. */
	gt_clock_init(0);
	CHECK(!gt_clock_use_tsc);
	CHECK_STR(gt_clock_name(), "boottime");
	CHECK(gt_clock_calibrate(0));
	converts_on_every_cpu();

	/* The TSC where it can be trusted: measured against BOOTTIME over a
	 * short run, then compared on each CPU. */
	gt_clock_init(1);
	fprintf(stderr, "test_clock: recorder clock %s\n", gt_clock_name());
	sleep_ms(30);
	CHECK(gt_clock_calibrate(20000000));
	converts_on_every_cpu();
	return unittest_result("test_clock");
}
