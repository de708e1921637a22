/* SPDX-License-Identifier: MIT */
/*
 * sample_trace.c — the scenario, in µs after T0 = 1 s, per thread:
 *
 *   main (4242):   acquire 0; release 1000 (no waiter); wait 2000 (holder
 *                  4243, 1 waiter); drop request 7000 (holder 4243);
 *                  acquire 7100 (1 timeout, contention since 2000, flow in,
 *                  a switch from 4243); release 9000 (no waiter);
 *                  still alive at the end, 10000.
 *   worker (4243): acquire 1500 (a switch from 4242); release 7050 (1 waiter,
 *                  flow out), forced; exits 8000.
 *
 * CPU waits (the kernel's run delays, as the recorder reads them): main
 * waits 300 for a CPU after its timed wait runs out (6700..7000) and 50
 * after the signal (7050..7100), 350 in all; the worker, holding the GIL
 * with main waiting, is runnable without a CPU for 1000, of which 40 after
 * main's drop request kept main waiting.
 *
 * Hand-computed metrics: wall 10000 (start record 0, end record 10000);
 * holds: main 1000 + 1900 = 2900, worker 5550, held 8450 = 84.5%;
 * contended 2000..7100 = 5100 = 51%; main waited once for 5100 with one
 * timeout and caused one drop request; worker suffered 1 forced release;
 * 2 switches; releases: 1 forced, 2 voluntary, 0 at thread exit. Without
 * CPU waits: main's wait 5100 - 350 - 40 = 4710; contended 5100 - 1000,
 * over the program's own time 10000 - 1000.
 */
#include "sample_trace.h"

#include <stdlib.h>
#include <string.h>

#include "gt_encoder.h"

int mem_trace_write(void *ctx, const void *data, size_t len)
{
	struct mem_trace *b = ctx;
	if (b->len + len > b->cap) {
		size_t cap = (b->len + len) * 2;
		uint8_t *p = realloc(b->p, cap);
		if (!p)
			return -1;
		b->p = p;
		b->cap = cap;
	}
	memcpy(b->p + b->len, data, len);
	b->len += len;
	return 0;
}

static void ev1(struct gt_enc *e, struct gt_enc_thread *th, uint8_t kind, uint64_t ts,
		uint32_t peer, uint32_t count, uint32_t seq, uint32_t arg, uint16_t flags);

#define T(us) (1000000000ull + (uint64_t)(us) * 1000u)

static void ev(struct gt_enc *e, struct gt_enc_thread *th, uint8_t kind, uint64_t ts,
	       uint64_t t0, uint32_t peer, uint32_t count, uint32_t seq, uint32_t arg, uint16_t flags)
{
	struct gt_event x;
	/* An episode's start travels in a companion record, as the recorder
	 * writes it. */
	if (flags & GT_F_CONTENTION_END) {
		memset(&x, 0, sizeof(x));
		x.kind = GT_EV_CONTENDED_SINCE;
		x.tid = th->tid;
		gt_enc_event(e, th, &x, t0);
	}
	ev1(e, th, kind, ts, peer, count, seq, arg, flags);
}

static void ev1(struct gt_enc *e, struct gt_enc_thread *th, uint8_t kind, uint64_t ts,
		uint32_t peer, uint32_t count, uint32_t seq, uint32_t arg, uint16_t flags)
{
	struct gt_event x;
	memset(&x, 0, sizeof(x));
	x.kind = kind;
	x.tid = th->tid;
	x.peer = peer;
	x.count = count;
	x.seq = seq;
	x.arg = arg;
	x.flags = flags;
	gt_enc_event(e, th, &x, ts);
}

uint8_t *sample_trace(int compress_level, size_t *len)
{
	struct mem_trace b = {0};
	struct gt_enc e;
	struct gt_enc_options opt = {.compress_level = compress_level, .chunk_size = 64 * 1024};
	struct gt_enc_sink s = {mem_trace_write, &b};
	if (gt_enc_init(&e, &opt, s, SAMPLE_PID))
		return NULL;
	const char *argv[] = {"python3", "sample.py"};
	gt_enc_process(&e, T(0), "python3", argv, 2);
	struct gt_enc_meta start = {.python_version = "3.11.7", .gil_method = "sample",
				    .recorder = "test", .clock = "boottime"};
	gt_enc_meta(&e, T(0), &start);
	gt_enc_gil(&e, T(0), 0, 0, 0);

	struct gt_enc_thread m, w;
	gt_enc_thread_start(&e, &m, SAMPLE_MAIN, "MainThread", T(0));
	gt_enc_thread_start(&e, &w, SAMPLE_WORKER, "worker", T(1500));

	ev(&e, &m, GT_EV_ACQUIRE, T(0), 0, 0, 0, 0, 0, 0);
	ev(&e, &m, GT_EV_RELEASE, T(1000), 0, 0, 0, 1, 0, 0);
	ev(&e, &w, GT_EV_ACQUIRE, T(1500), 0, SAMPLE_MAIN, 0, 1, 0, 0);
	ev(&e, &m, GT_EV_WAIT, T(2000), 0, SAMPLE_WORKER, 1, 0, 5000, 0);
	ev1(&e, &w, GT_EV_SCHED, 0, 0, 1000 * 1000, 0, 0, 0);
	ev(&e, &w, GT_EV_RELEASE, T(7050), 0, 0, 1, 2, 0, GT_F_DROP_PENDING);
	ev(&e, &w, GT_EV_FORCED, 0, 0, 0, 0, 0, 0, 0);
	ev1(&e, &m, GT_EV_CPU_WAIT, T(7000), 0, 300 * 1000, 0, 0, 0);
	ev(&e, &m, GT_EV_DROP_REQUEST, T(7000), 0, SAMPLE_WORKER, 1, 0, 0, 0);
	ev1(&e, &m, GT_EV_CPU_WAIT, T(7100), 0, 50 * 1000, 0, 0, 0);
	ev1(&e, &m, GT_EV_SCHED, 0, 40 * 1000, 350 * 1000, 0, 0, 0);
	ev(&e, &m, GT_EV_ACQUIRE, T(7100), T(2000), SAMPLE_WORKER, 0, 2, 1,
	   GT_F_WAITED | GT_F_CONTENTION_END | GT_F_FLOW_IN);
	ev(&e, &w, GT_EV_THREAD_EXIT, T(8000), 0, 0, 0, 0, 0, 0);
	ev(&e, &m, GT_EV_RELEASE, T(9000), 0, 0, 0, 3, 0, 0);
	gt_enc_thread_settle(&e, &m);
	gt_enc_thread_end(&e, &m, T(10000), GT_END_PROCESS_EXIT);
	gt_enc_thread_end(&e, &w, T(10000), GT_END_PROCESS_EXIT);
	struct gt_enc_meta end = start;
	end.final = 1;
	end.events = 15;
	end.cpu_split = "on";
	end.threads = 2;
	gt_enc_meta(&e, T(10000), &end);
	gt_enc_flush(&e);
	gt_enc_free(&e);
	*len = b.len;
	return b.p;
}

/*
 * convoy_trace: victim V (5001, "io-echo") and culprit C (5002, "cpu-0"),
 * switch interval 5000 µs; in µs after T0:
 *
 *   V acquires 0, releases 100 (its blocking call); C acquires 150.
 *   Round k = 0..3, B = 1000 + 6000 k: V starts waiting at B (holder C, a
 *   gap of 900 after its release); at B + 5000 its timed wait runs out
 *   (drop request); C releases at B + 5010, forced; V acquires at B + 5020
 *   (waited 5020, one timeout), releases at B + 5100; C acquires B + 5150.
 *   C releases at 30000 (voluntary); the trace ends at 30000.
 *
 * Hand-computed: one convoy episode, victim V, culprit C, 4 delayed
 * re-acquisitions, delay 4 x 5020 = 20080; it spans 1000..24020. V's life
 * 0..24100, so it waited 20080 / 24100 = 83.3% of it. Wall 30000;
 * contended 20080 (66.9%), mean waiters 0.669; holds: V 100 + 4 x 80 = 420
 * (5 holds under 0.1 interval), C 4 x 5860 + 5850 = 29290 (5 holds of 1-2
 * intervals); held 29710 (99.03%); 9 switches; 4 forced releases (C),
 * caused by V; 6 voluntary.
 */
uint8_t *convoy_trace(int compress_level, size_t *len)
{
	struct mem_trace b = {0};
	struct gt_enc e;
	struct gt_enc_options opt = {.compress_level = compress_level, .chunk_size = 64 * 1024};
	struct gt_enc_sink s = {mem_trace_write, &b};
	if (gt_enc_init(&e, &opt, s, CONVOY_PID))
		return NULL;
	const char *argv[] = {"python3", "convoy.py"};
	gt_enc_process(&e, T(0), "python3", argv, 2);
	struct gt_enc_meta start = {.python_version = "3.12.1", .gil_method = "sample",
				    .recorder = "test", .clock = "boottime"};
	gt_enc_meta(&e, T(0), &start);
	gt_enc_gil(&e, T(0), 0, 0, 5000);

	struct gt_enc_thread v, c;
	gt_enc_thread_start(&e, &v, CONVOY_VICTIM, "io-echo", T(0));
	gt_enc_thread_start(&e, &c, CONVOY_CULPRIT, "cpu-0", T(150));
	uint32_t seq = 0;
	ev(&e, &v, GT_EV_ACQUIRE, T(0), 0, 0, 0, 0, 0, 0);
	ev(&e, &v, GT_EV_RELEASE, T(100), 0, 0, 0, ++seq, 0, 0);
	ev(&e, &c, GT_EV_ACQUIRE, T(150), 0, CONVOY_VICTIM, 0, seq, 0, 0);
	for (int k = 0; k < 4; k++) {
		uint64_t B = 1000 + 6000u * (uint64_t)k;
		ev(&e, &v, GT_EV_WAIT, T(B), 0, CONVOY_CULPRIT, 1, 0, 5000, 0);
		ev(&e, &v, GT_EV_DROP_REQUEST, T(B + 5000), 0, CONVOY_CULPRIT, 1, 0, 0, 0);
		ev(&e, &c, GT_EV_RELEASE, T(B + 5010), 0, 0, 1, ++seq, 0, GT_F_DROP_PENDING);
		ev(&e, &c, GT_EV_FORCED, 0, 0, 0, 0, 0, 0, 0);
		ev(&e, &v, GT_EV_ACQUIRE, T(B + 5020), T(B), CONVOY_CULPRIT, 0, seq, 1,
		   GT_F_WAITED | GT_F_CONTENTION_END | GT_F_FLOW_IN);
		ev(&e, &v, GT_EV_RELEASE, T(B + 5100), 0, 0, 0, ++seq, 0, 0);
		ev(&e, &c, GT_EV_ACQUIRE, T(B + 5150), 0, CONVOY_VICTIM, 0, seq, 0, 0);
	}
	ev(&e, &c, GT_EV_RELEASE, T(30000), 0, 0, 0, ++seq, 0, 0);
	gt_enc_thread_settle(&e, &v);
	gt_enc_thread_settle(&e, &c);
	gt_enc_thread_end(&e, &v, T(30000), GT_END_PROCESS_EXIT);
	gt_enc_thread_end(&e, &c, T(30000), GT_END_PROCESS_EXIT);
	struct gt_enc_meta end = start;
	end.final = 1;
	end.events = 40;
	end.threads = 2;
	gt_enc_meta(&e, T(30000), &end);
	gt_enc_flush(&e);
	gt_enc_free(&e);
	*len = b.len;
	return b.p;
}
