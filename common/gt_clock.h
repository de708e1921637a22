/* SPDX-License-Identifier: MIT */
/*
 * gt_clock.h — event timestamps: cheap to take, exact to convert.
 *
 * The hot path reads the TSC (~10-12 ns, a third to a half of a vDSO
 * clock_gettime) when it can be trusted: the kernel's clocksource is "tsc",
 * or the CPU declares an invariant TSC and its ticks agree with
 * CLOCK_BOOTTIME on every CPU the process may run on (checked once at start;
 * many VMs keep the TSC out of the clocksource list yet build kvm-clock on
 * it). The writer maps ticks to CLOCK_BOOTTIME nanoseconds with a rate it
 * measures against clock_gettime, so the trace lines up with other Perfetto
 * traces. Without a trusted TSC, ticks are BOOTTIME ns already.
 * Used by the recorder (hot path) and by whichever writer converts.
 */
#ifndef GT_CLOCK_H
#define GT_CLOCK_H

#include <stdint.h>
#include <time.h>
#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define GT_HAVE_TSC 1
#endif

extern int gt_clock_use_tsc;

static inline uint64_t gt_clock_boottime_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_BOOTTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* The TSC itself (only when gt_clock_use_tsc). */
static inline uint64_t gt_clock_tsc(void)
{
#ifdef GT_HAVE_TSC
	return __rdtsc();
#else
	return 0;
#endif
}

/* The recorder clock (hot path). */
static inline uint64_t gt_clock_now(void)
{
	if (__builtin_expect(gt_clock_use_tsc, 1))
		return gt_clock_tsc();
	return gt_clock_boottime_ns();
}

/* Decides the clock (the TSC if allowed and the kernel trusts it) and takes
 * the anchor sample (tracer start). */
void gt_clock_init(int allow_tsc);
/* Another process (`giltrace run` draining traced programs) converts the
 * TSC ticks of every recorder that uses them: its own TSC reads are the same
 * clock, so it anchors and calibrates its own mapping (ticks of recorders
 * on CLOCK_BOOTTIME need none). */
void gt_clock_start_converter(void);
/* Measures the rate once at least min_ns have passed since the anchor;
 * afterwards refines it about once a second. Returns 1 once ticks can be
 * converted. Only the writer (or the finisher when no writer runs) calls. */
int gt_clock_calibrate(uint64_t min_ns);
uint64_t gt_clock_to_ns(uint64_t ticks);
/* When tracing started (the anchor), in recorder ticks. */
uint64_t gt_clock_anchor(void);
/* The same moment in CLOCK_BOOTTIME ns (exact: it was measured). */
uint64_t gt_clock_anchor_ns(void);
/* CLOCK_BOOTTIME minus CLOCK_MONOTONIC at the anchor, in ns. */
int64_t gt_clock_monotonic_offset(void);
const char *gt_clock_name(void);

#endif
