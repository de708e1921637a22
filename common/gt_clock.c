/* SPDX-License-Identifier: MIT */
/*
 * gt_clock.c — TSC to CLOCK_BOOTTIME conversion (see gt_clock.h).
 *
 * The mapping is piecewise linear: a segment starts at the moment its rate was
 * measured and is never changed afterwards. Every event converted before a
 * segment existed is older than the segment's start (it was recorded before
 * the writer looked at the clock), so converting an event never depends on
 * when it was converted, and the mapping stays monotonic and continuous. The
 * rate is always measured over the whole run so far, so it only improves.
 */
#define _GNU_SOURCE
#include "gt_clock.h"

#include <fcntl.h>
#include <sched.h>
#include <string.h>
#include <unistd.h>
#ifdef GT_HAVE_TSC
#include <cpuid.h>
#endif

int gt_clock_use_tsc;

struct segment {
	uint64_t tsc;
	uint64_t ns;
	uint64_t mult; /* ns per tick, 32.32 fixed point */
};

#define NSEG 16
static struct segment segs[NSEG]; /* ring, newest at (nseg - 1) % NSEG */
static unsigned nseg;
static uint64_t anchor_tsc, anchor_ns, last_refine_ns;
static int64_t mono_offset;

/* One (tsc, boottime) pair on the current CPU: the clock read bracketed by
 * two TSC reads, best of several tries, so the pair is within a few ns of
 * simultaneous. */
static void sample(uint64_t *tsc, uint64_t *ns)
{
	uint64_t best = UINT64_MAX;
	for (int i = 0; i < 9; i++) {
		uint64_t t1 = gt_clock_tsc();
		uint64_t b = gt_clock_boottime_ns();
		uint64_t t2 = gt_clock_tsc();
		if (t2 - t1 < best) {
			best = t2 - t1;
			*tsc = t1 + (t2 - t1) / 2;
			*ns = b;
		}
	}
}

#ifdef GT_HAVE_TSC
static int clocksource_is_tsc(void)
{
	char buf[32] = {0};
	int fd = open("/sys/devices/system/clocksource/clocksource0/current_clocksource",
		      O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n >= 3 && !strncmp(buf, "tsc", 3) && (buf[3] == '\n' || buf[3] == 0);
}

/* The CPU says its TSC ticks at a constant rate in every power state
 * (CPUID 0x80000007, EDX bit 8: "invariant TSC"). */
static int tsc_invariant(void)
{
	unsigned a, b, c, d;
	if (!__get_cpuid(0x80000000, &a, &b, &c, &d) || a < 0x80000007)
		return 0;
	__get_cpuid(0x80000007, &a, &b, &c, &d);
	return (d >> 8) & 1;
}

static int run_on(int cpu)
{
	cpu_set_t one;
	CPU_ZERO(&one);
	CPU_SET(cpu, &one);
	return sched_setaffinity(0, sizeof(one), &one);
}

/* How far (ns) a TSC may stray from the line CLOCK_BOOTTIME draws through
 * another CPU's: more than a clock read's uncertainty, far less than any
 * GIL wait worth seeing. */
#define TSC_AGREEMENT_NS 2000

/*
 * Many VMs keep the TSC out of the kernel's clocksource (the ones giltrace
 * is developed on boot with tsc=unstable and use kvm-clock) although their
 * CLOCK_BOOTTIME is computed from the TSC all the same. What giltrace needs
 * is that TSC ticks convert to what CLOCK_BOOTTIME would have said, whichever
 * CPU read them. So: from the first CPU this thread may run on, hop to each
 * other one and back, and check that each CPU's (TSC, BOOTTIME) pair lies on
 * the line through the first CPU's pairs before and after it. The thread's
 * affinity is restored; the whole check takes a few hundred microseconds,
 * once per process (a forked child inherits the answer).
 */
static int tsc_agrees_on_every_cpu(void)
{
	static int answer = -1;
	if (answer >= 0)
		return answer;
	cpu_set_t allowed;
	if (sched_getaffinity(0, sizeof(allowed), &allowed))
		return answer = 0;
	int first = 0;
	while (first < CPU_SETSIZE && !CPU_ISSET(first, &allowed))
		first++;
	int ok = first < CPU_SETSIZE && !run_on(first);
	uint64_t t0 = 0, n0 = 0, t, n, t1, n1;
	if (ok)
		sample(&t0, &n0);
	for (int cpu = first + 1; cpu < CPU_SETSIZE && ok; cpu++) {
		if (!CPU_ISSET(cpu, &allowed))
			continue;
		ok = !run_on(cpu);
		if (ok)
			sample(&t, &n);
		ok = ok && !run_on(first);
		if (!ok)
			break;
		sample(&t1, &n1);
		if (t1 <= t0 || n1 <= n0 || n < n0 || n > n1) {
			ok = 0;
			break;
		}
		/* Where the first CPU's line puts BOOTTIME n, in ticks. */
		double per_ns = (double)(t1 - t0) / (double)(n1 - n0);
		double expect = (double)t0 + (double)(n - n0) * per_ns;
		double off_ns = ((double)t - expect) / per_ns;
		ok = off_ns < TSC_AGREEMENT_NS && off_ns > -TSC_AGREEMENT_NS;
		t0 = t1, n0 = n1;
	}
	sched_setaffinity(0, sizeof(allowed), &allowed);
	return answer = ok;
}
#endif

/* The TSC is used when the kernel itself uses it, or when it is invariant
 * and checked to agree with the kernel's clock on every CPU. */
static int tsc_is_trusted(void)
{
#ifdef GT_HAVE_TSC
	return clocksource_is_tsc() || (tsc_invariant() && tsc_agrees_on_every_cpu());
#else
	return 0;
#endif
}

void gt_clock_init(int allow_tsc)
{
	struct timespec m;
	gt_clock_use_tsc = allow_tsc && tsc_is_trusted();
	nseg = 0;
	last_refine_ns = 0;
	if (gt_clock_use_tsc) {
		sample(&anchor_tsc, &anchor_ns);
	} else {
		anchor_ns = anchor_tsc = gt_clock_boottime_ns();
	}
	clock_gettime(CLOCK_MONOTONIC, &m);
	mono_offset = (int64_t)(gt_clock_boottime_ns() -
				((uint64_t)m.tv_sec * 1000000000u + (uint64_t)m.tv_nsec));
}

void gt_clock_start_converter(void)
{
	struct timespec m;
#ifdef GT_HAVE_TSC
	gt_clock_use_tsc = 1;
	sample(&anchor_tsc, &anchor_ns);
#else
	gt_clock_use_tsc = 0;
	anchor_ns = anchor_tsc = gt_clock_boottime_ns();
#endif
	nseg = 0;
	last_refine_ns = 0;
	clock_gettime(CLOCK_MONOTONIC, &m);
	mono_offset = (int64_t)(gt_clock_boottime_ns() -
				((uint64_t)m.tv_sec * 1000000000u + (uint64_t)m.tv_nsec));
}

static uint64_t convert(const struct segment *s, uint64_t t)
{
	if (t >= s->tsc)
		return s->ns + (uint64_t)(((unsigned __int128)(t - s->tsc) * s->mult) >> 32);
	uint64_t back = (uint64_t)(((unsigned __int128)(s->tsc - t) * s->mult) >> 32);
	return back < s->ns ? s->ns - back : 0;
}

int gt_clock_calibrate(uint64_t min_ns)
{
	if (!gt_clock_use_tsc)
		return 1;
	uint64_t t, b;
	sample(&t, &b);
	if (b - anchor_ns < min_ns || t <= anchor_tsc)
		return nseg > 0;
	if (nseg && b - last_refine_ns < 1000000000u)
		return 1;
	uint64_t mult = (uint64_t)(((unsigned __int128)(b - anchor_ns) << 32) / (t - anchor_tsc));
	struct segment s = {anchor_tsc, anchor_ns, mult};
	if (nseg) {
		s.tsc = t;
		s.ns = convert(&segs[(nseg - 1) % NSEG], t);
	}
	segs[nseg % NSEG] = s;
	nseg++;
	last_refine_ns = b;
	return 1;
}

uint64_t gt_clock_to_ns(uint64_t ticks)
{
	if (!gt_clock_use_tsc || !nseg)
		return ticks;
	unsigned kept = nseg < NSEG ? nseg : NSEG;
	for (unsigned i = 0; i < kept; i++) {
		const struct segment *s = &segs[(nseg - 1 - i) % NSEG];
		if (ticks >= s->tsc || i == kept - 1)
			return convert(s, ticks);
	}
	return ticks; /* not reached */
}

uint64_t gt_clock_anchor(void) { return anchor_tsc; }

uint64_t gt_clock_anchor_ns(void) { return anchor_ns; }

int64_t gt_clock_monotonic_offset(void) { return mono_offset; }

const char *gt_clock_name(void) { return gt_clock_use_tsc ? "tsc" : "boottime"; }
