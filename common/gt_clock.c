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
#include "gt_clock.h"

#include <fcntl.h>
#include <string.h>
#include <unistd.h>

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

static int tsc_is_trusted(void)
{
#ifdef GT_HAVE_TSC
	char buf[32] = {0};
	int fd = open("/sys/devices/system/clocksource/clocksource0/current_clocksource",
		      O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	return n >= 3 && !strncmp(buf, "tsc", 3) && (buf[3] == '\n' || buf[3] == 0);
#else
	return 0;
#endif
}

/* One (tsc, boottime) pair: the clock read bracketed by two TSC reads, best
 * of several tries, so the pair is within a few ns of simultaneous. */
static void sample(uint64_t *tsc, uint64_t *ns)
{
	uint64_t best = UINT64_MAX;
	for (int i = 0; i < 9; i++) {
		uint64_t t1 = gt_clock_now();
		uint64_t b = gt_clock_boottime_ns();
		uint64_t t2 = gt_clock_now();
		if (t2 - t1 < best) {
			best = t2 - t1;
			*tsc = t1 + (t2 - t1) / 2;
			*ns = b;
		}
	}
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

void gt_clock_adopt(int use_tsc, uint64_t anchor_ticks, uint64_t anchor_ns_, int64_t offset)
{
	gt_clock_use_tsc = use_tsc;
	nseg = 0;
	last_refine_ns = 0;
	anchor_tsc = anchor_ticks;
	anchor_ns = anchor_ns_;
	mono_offset = offset;
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
