/* SPDX-License-Identifier: MIT */
/*
 * gt_enc_events.c — a thread's GIL events as TrackEvents on its own sequence:
 * waits and holds on the thread track, holder slices and drop requests on
 * the GIL's holder track, the waiter count, contention spans, flows from a
 * release with waiters to the acquire it hands over to. A release is held
 * back until the thread's next event says whether it was forced.
 */
#include <string.h>

#include "gt_enc_internal.h"
#include "gt_perfetto_fields.h"

static void tmpl_done(struct gt_enc_thread *th, unsigned t, struct gt_pb *b)
{
	th->tmpl_len[t] = b->overflow ? 0 : (uint8_t)gt_pb_len(b);
}

/* Pre-encodes the TrackEvents of an uncontended release/acquire on gil: the
 * thread-track hold begin and end (per reason), and the holder-track begin
 * (named after the thread) and end. */
static void build_templates(struct gt_enc *e, struct gt_enc_thread *th, unsigned gil)
{
	struct gt_pb b;
	uint64_t holder = gt_uuid_gil(e->pid, gil, GT_TRACK_HOLDER);

	th->tmpl_gil = (uint8_t)gil;
	th->tmpl_name_iid = th->name_iid;
	th->seq_len = (uint8_t)gt_pb_put_varint(th->seq_bytes, th->seq_id);
	gt_pb_init(&b, th->tmpl[TMPL_HOLD_BEGIN], sizeof(th->tmpl[0]));
	gt_pb_uint(&b, PF_TE_TYPE, PF_TE_SLICE_BEGIN);
	gt_pb_uint(&b, PF_TE_NAME_IID, NAME_HOLD);
	tmpl_done(th, TMPL_HOLD_BEGIN, &b);
	gt_pb_init(&b, th->tmpl[TMPL_HOLDER_BEGIN], sizeof(th->tmpl[0]));
	gt_pb_uint(&b, PF_TE_TYPE, PF_TE_SLICE_BEGIN);
	gt_pb_uint(&b, PF_TE_TRACK_UUID, holder);
	gt_pb_uint(&b, PF_TE_NAME_IID, th->name_iid);
	tmpl_done(th, TMPL_HOLDER_BEGIN, &b);
	gt_pb_init(&b, th->tmpl[TMPL_HOLDER_END], sizeof(th->tmpl[0]));
	gt_pb_uint(&b, PF_TE_TYPE, PF_TE_SLICE_END);
	gt_pb_uint(&b, PF_TE_TRACK_UUID, holder);
	tmpl_done(th, TMPL_HOLDER_END, &b);
	for (int r = GT_END_VOLUNTARY; r < GT_END_REASON_MAX; r++) {
		gt_pb_init(&b, th->tmpl[TMPL_HOLD_END + r], sizeof(th->tmpl[0]));
		gt_pb_uint(&b, PF_TE_TYPE, PF_TE_SLICE_END);
		gt_enc_an_ended(&b, (enum gt_end_reason)r);
		tmpl_done(th, TMPL_HOLD_END + (unsigned)r, &b);
	}
}

static void templates_for(struct gt_enc *e, struct gt_enc_thread *th, unsigned gil)
{
	if (th->tmpl_gil != gil || th->tmpl_name_iid != th->name_iid)
		build_templates(e, th, gil);
}


static void waiters_counter(struct gt_enc *e, struct gt_pb *b, unsigned gil, uint32_t count)
{
	gt_pb_uint(b, PF_TE_EXTRA_COUNTER_UUIDS, gt_uuid_gil(e->pid, gil, GT_TRACK_WAITERS));
	gt_pb_uint(b, PF_TE_EXTRA_COUNTER_VALUES, count);
}

/* ---- events ------------------------------------------------------------- */

#define NO_CPU_WAIT (~(uint64_t)0)

/* cpu_wait: the holder's run delay while a thread waited (NO_CPU_WAIT:
 * not known). */
static void end_hold(struct gt_enc *e, struct gt_enc_thread *th, uint64_t ts, unsigned gil,
		     enum gt_end_reason why, uint32_t flow_seq, int flow, uint64_t cpu_wait)
{
	uint8_t buf[GT_ENC_PKT_MAX];
	struct gt_pb b;

	templates_for(e, th, gil);
	if (!flow && cpu_wait == NO_CPU_WAIT && gt_enc_emit_fast(e, th, ts, TMPL_HOLD_END + why) &&
	    gt_enc_emit_fast(e, th, ts, TMPL_HOLDER_END)) {
		th->in_hold = 0;
		return;
	}

	gt_enc_pkt_init(e, &b, buf, sizeof(buf));
	size_t m = gt_enc_thread_event_begin(&b, th, ts, PF_TE_SLICE_END);
	gt_enc_an_ended(&b, why);
	if (cpu_wait != NO_CPU_WAIT)
		gt_enc_an_uint(&b, AN_CPU_WAIT, cpu_wait);
	if (flow)
		gt_pb_fixed64(&b, PF_TE_FLOW_IDS, gt_flow_id(e->pid, gil, flow_seq));
	gt_pb_end(&b, m);
	gt_enc_emit(e, &b);

	gt_enc_pkt_init(e, &b, buf, sizeof(buf));
	m = gt_enc_thread_event_begin(&b, th, ts, PF_TE_SLICE_END);
	gt_pb_uint(&b, PF_TE_TRACK_UUID, gt_uuid_gil(e->pid, gil, GT_TRACK_HOLDER));
	if (cpu_wait != NO_CPU_WAIT) /* on both: the GIL's tracks are read alone */
		gt_enc_an_uint(&b, AN_CPU_WAIT, cpu_wait);
	gt_pb_end(&b, m);
	gt_enc_emit(e, &b);
	th->in_hold = 0;
}

/* sched: the event ending the wait has a GT_EV_SCHED before it, whose run
 * delays the wait carries. */
static void end_wait(struct gt_enc *e, struct gt_enc_thread *th, uint64_t ts, uint32_t timeouts,
		     uint32_t waiters, enum gt_end_reason why, int sched)
{
	uint8_t buf[GT_ENC_PKT_MAX];
	struct gt_pb b;

	gt_enc_pkt_init(e, &b, buf, sizeof(buf));
	size_t m = gt_enc_thread_event_begin(&b, th, ts, PF_TE_SLICE_END);
	gt_enc_an_uint(&b, AN_TIMEOUTS, timeouts);
	if (sched && th->sched_valid) {
		gt_enc_an_uint(&b, AN_CPU_WAIT, th->sched_own);
		if (th->sched_held != NO_CPU_WAIT)
			gt_enc_an_uint(&b, AN_HOLDER_CPU_WAIT, th->sched_held);
	}
	if (why)
		gt_enc_an_ended(&b, why);
	waiters_counter(e, &b, th->gil, waiters);
	gt_pb_end(&b, m);
	gt_enc_emit(e, &b);
	th->in_wait = 0;
}

static void settle(struct gt_enc *e, struct gt_enc_thread *th, enum gt_end_reason why)
{
	if (!th->pending)
		return;
	th->pending = 0;
	/* A thread's very last release has no handshake even with a drop
	 * request pending (CPython passes no thread state): it is the exit. */
	if (th->pending_forced && why != GT_END_THREAD_EXIT)
		why = GT_END_FORCED;
	end_hold(e, th, th->pending_ts, th->pending_gil, why, th->pending_seq,
		 th->pending_count > 0, th->pending_cpu_wait);
}

void gt_enc_thread_settle(struct gt_enc *e, struct gt_enc_thread *th)
{
	settle(e, th, GT_END_VOLUNTARY);
}

void gt_enc_say_interval(struct gt_enc *e, struct gt_enc_thread *th, unsigned gil, uint64_t ts,
			 uint32_t us)
{
	uint8_t buf[GT_ENC_PKT_MAX];
	struct gt_pb b;

	gt_enc_interval_track(e, ts, gil);
	th->interval_gil = (uint8_t)gil;
	th->interval_us = us;
	gt_enc_pkt_init(e, &b, buf, sizeof(buf));
	size_t m = gt_enc_thread_event_begin(&b, th, ts, PF_TE_COUNTER);
	gt_pb_uint(&b, PF_TE_TRACK_UUID, gt_uuid_gil(e->pid, gil, GT_TRACK_INTERVAL));
	gt_pb_uint(&b, PF_TE_COUNTER_VALUE, us);
	gt_pb_end(&b, m);
	gt_enc_emit(e, &b);
}

/* The switch interval in force for this thread's waits and holds on gil,
 * said on the thread's own sequence whenever it differs from what the
 * sequence said last (or, before that, from the GIL's declared interval):
 * a reader that applies each thread's counters to that thread's slices gets
 * every hold's interval in time order, however the threads' packets are
 * interleaved in the file. */
static void gil_interval(struct gt_enc *e, struct gt_enc_thread *th, unsigned gil, uint64_t ts,
			 uint32_t us)
{
	uint32_t known = th->interval_gil == gil ? th->interval_us : e->gils[gil].interval_us;

	if (us && us != known)
		gt_enc_say_interval(e, th, gil, ts, us);
}

static void on_wait(struct gt_enc *e, struct gt_enc_thread *th, const struct gt_event *ev,
		    uint64_t ts)
{
	uint8_t buf[GT_ENC_PKT_MAX];
	struct gt_pb b;

	settle(e, th, GT_END_VOLUNTARY);
	if (th->in_wait) /* a lost acquire; keep the slices balanced */
		end_wait(e, th, ts, 0, ev->count, GT_END_ABANDONED, 0);
	gil_interval(e, th, ev->gil, ts, ev->arg);
	th->gil = ev->gil;
	gt_enc_pkt_init(e, &b, buf, sizeof(buf));
	size_t m = gt_enc_thread_event_begin(&b, th, ts, PF_TE_SLICE_BEGIN);
	gt_pb_uint(&b, PF_TE_NAME_IID, NAME_WAIT);
	gt_enc_an_uint(&b, AN_HOLDER, ev->peer);
	waiters_counter(e, &b, ev->gil, ev->count);
	gt_pb_end(&b, m);
	gt_enc_emit(e, &b);
	th->in_wait = 1;
	th->wait_peer = ev->peer;
}

static void contended_span(struct gt_enc *e, struct gt_enc_thread *th, unsigned gil, uint64_t t0,
			   uint64_t t1)
{
	uint8_t buf[GT_ENC_PKT_MAX];
	struct gt_pb b;
	uint64_t uuid = gt_uuid_gil(e->pid, gil, GT_TRACK_CONTENDED);

	if (t0 > t1)
		t0 = t1;
	gt_enc_pkt_init(e, &b, buf, sizeof(buf));
	size_t m = gt_enc_thread_event_begin(&b, th, t0, PF_TE_SLICE_BEGIN);
	gt_pb_uint(&b, PF_TE_TRACK_UUID, uuid);
	gt_pb_uint(&b, PF_TE_NAME_IID, NAME_CONTENDED);
	gt_pb_end(&b, m);
	gt_enc_emit(e, &b);

	gt_enc_pkt_init(e, &b, buf, sizeof(buf));
	m = gt_enc_thread_event_begin(&b, th, t1, PF_TE_SLICE_END);
	gt_pb_uint(&b, PF_TE_TRACK_UUID, uuid);
	gt_pb_end(&b, m);
	gt_enc_emit(e, &b);
}

static void on_acquire(struct gt_enc *e, struct gt_enc_thread *th, const struct gt_event *ev,
		       uint64_t ts)
{
	uint8_t buf[GT_ENC_PKT_MAX];
	struct gt_pb b;

	settle(e, th, GT_END_VOLUNTARY);
	if (th->in_hold) /* a lost release; keep the slices balanced */
		end_hold(e, th, ts, th->gil, GT_END_VOLUNTARY, 0, 0, NO_CPU_WAIT);
	/* (Release numbers wrap after 2^32 handoffs; a flow across a cut
	 * right then only loses its arrow.) */
	const struct gt_enc_gil *g = &e->gils[ev->gil];
	int flow_in = (ev->flags & GT_F_FLOW_IN) && (!g->cut || (int32_t)(ev->seq - g->cut_seq) > 0);
	if (th->in_wait)
		end_wait(e, th, ts, ev->arg, ev->count, 0, 1);
	if (ev->flags & GT_F_CONTENTION_END)
		contended_span(e, th, ev->gil, th->contended_since, ts);
	th->gil = ev->gil;
	th->in_hold = 1;
	templates_for(e, th, ev->gil);

	if (!flow_in && gt_enc_emit_fast(e, th, ts, TMPL_HOLD_BEGIN)) {
	} else {
		gt_enc_pkt_init(e, &b, buf, sizeof(buf));
		size_t m = gt_enc_thread_event_begin(&b, th, ts, PF_TE_SLICE_BEGIN);
		gt_pb_uint(&b, PF_TE_NAME_IID, NAME_HOLD);
		if (flow_in)
			gt_pb_fixed64(&b, PF_TE_TERMINATING_FLOW_IDS,
				      gt_flow_id(e->pid, ev->gil, ev->seq));
		gt_pb_end(&b, m);
		gt_enc_emit(e, &b);
	}

	/* A switch: the GIL comes from another thread. Said on the holder
	 * slice so that switches can be counted without ordering all
	 * threads' events. */
	int is_switch = ev->peer && ev->peer != th->tid;
	if (!is_switch && gt_enc_emit_fast(e, th, ts, TMPL_HOLDER_BEGIN))
		return;
	gt_enc_pkt_init(e, &b, buf, sizeof(buf));
	size_t m = gt_enc_thread_event_begin(&b, th, ts, PF_TE_SLICE_BEGIN);
	gt_pb_uint(&b, PF_TE_TRACK_UUID, gt_uuid_gil(e->pid, ev->gil, GT_TRACK_HOLDER));
	gt_pb_uint(&b, PF_TE_NAME_IID, th->name_iid);
	if (is_switch)
		gt_enc_an_uint(&b, AN_PREV_HOLDER, ev->peer);
	gt_pb_end(&b, m);
	gt_enc_emit(e, &b);
}

static void on_drop_request(struct gt_enc *e, struct gt_enc_thread *th, const struct gt_event *ev,
			    uint64_t ts)
{
	uint8_t buf[GT_ENC_PKT_MAX];
	struct gt_pb b;

	gt_enc_pkt_init(e, &b, buf, sizeof(buf));
	size_t m = gt_enc_thread_event_begin(&b, th, ts, PF_TE_INSTANT);
	gt_pb_uint(&b, PF_TE_TRACK_UUID, gt_uuid_gil(e->pid, ev->gil, GT_TRACK_HOLDER));
	gt_pb_uint(&b, PF_TE_NAME_IID, NAME_DROP_REQUEST);
	gt_enc_an_uint(&b, AN_REQUESTED_BY, th->tid);
	gt_enc_an_uint(&b, AN_HOLDER, ev->peer);
	gt_pb_end(&b, m);
	gt_enc_emit(e, &b);
}

/* A wake-up's wait for a CPU (d ns, ending at ts): a slice inside the
 * thread's GIL wait, never before what its sequence said last. */
static void cpu_wait_slice(struct gt_enc *e, struct gt_enc_thread *th, uint64_t ts, uint64_t d)
{
	uint64_t t0 = ts > d ? ts - d : 0;

	if (!th->in_wait)
		return;
	gt_enc_thread_slice(e, th, t0 < th->last_ts ? th->last_ts : t0, PF_TE_SLICE_BEGIN,
			    NAME_CPU_WAIT);
	gt_enc_thread_slice(e, th, ts, PF_TE_SLICE_END, 0);
}

static uint64_t wide(uint32_t lo, uint32_t hi) { return lo | (uint64_t)hi << 32; }

void gt_enc_event(struct gt_enc *e, struct gt_enc_thread *th, const struct gt_event *ev,
		  uint64_t ts)
{
	if (!th->started || ev->gil >= GT_MAX_GILS)
		return;
	if (ev->kind == GT_EV_CONTENDED_SINCE) { /* the past: not clamped */
		th->contended_since = ts;
		return;
	}
	if (ev->kind == GT_EV_SCHED) { /* for the event that follows */
		th->sched_valid = 1;
		th->sched_own = wide(ev->count, ev->seq);
		th->sched_held = wide(ev->peer, ev->arg);
		return;
	}
	if (ts < th->last_ts) /* never let a thread's own slices go backwards */
		ts = th->last_ts;
	switch (ev->kind) {
	case GT_EV_WAIT:
		on_wait(e, th, ev, ts);
		break;
	case GT_EV_ACQUIRE:
		on_acquire(e, th, ev, ts);
		break;
	case GT_EV_RELEASE:
		settle(e, th, GT_END_VOLUNTARY);
		if (!th->in_hold)
			break; /* never saw the acquire (tracing began mid-hold) */
		gil_interval(e, th, ev->gil, ts, ev->arg); /* before the hold ends */
		th->pending = 1;
		th->pending_forced = (ev->flags & GT_F_DROP_PENDING) != 0;
		th->pending_gil = ev->gil;
		th->pending_ts = ts;
		th->pending_seq = ev->seq;
		th->pending_count = ev->count;
		th->pending_cpu_wait = th->sched_valid ? th->sched_own : NO_CPU_WAIT;
		if ((int32_t)(ev->seq - e->gils[ev->gil].rel_seq) > 0)
			e->gils[ev->gil].rel_seq = ev->seq;
		break;
	case GT_EV_FORCED:
		if (th->pending) {
			th->pending_forced = 1;
			settle(e, th, GT_END_FORCED);
		}
		break;
	case GT_EV_DROP_REQUEST:
		on_drop_request(e, th, ev, ts);
		break;
	case GT_EV_ABANDON:
		settle(e, th, GT_END_VOLUNTARY);
		if (th->in_wait)
			end_wait(e, th, ts, ev->arg, ev->count, GT_END_ABANDONED, 1);
		if (ev->flags & GT_F_CONTENTION_END)
			contended_span(e, th, ev->gil, th->contended_since, ts);
		break;
	case GT_EV_THREAD_EXIT:
		gt_enc_thread_end(e, th, ts, GT_END_THREAD_EXIT);
		break;
	case GT_EV_CPU_WAIT:
		cpu_wait_slice(e, th, ts, wide(ev->count, ev->seq));
		break;
	default:
		break;
	}
	th->sched_valid = 0;
}

void gt_enc_cut_flows(struct gt_enc *e)
{
	for (unsigned g = 0; g < GT_MAX_GILS; g++) {
		e->gils[g].cut_seq = e->gils[g].rel_seq;
		e->gils[g].cut = 1;
	}
}

void gt_enc_thread_end(struct gt_enc *e, struct gt_enc_thread *th, uint64_t ts,
		       enum gt_end_reason why)
{
	if (!th->started)
		return;
	if (ts < th->last_ts)
		ts = th->last_ts;
	/* A thread's last release is how it left the GIL at exit. */
	settle(e, th, why == GT_END_THREAD_EXIT ? GT_END_THREAD_EXIT : GT_END_VOLUNTARY);
	if (th->in_wait)
		end_wait(e, th, ts, 0, 0, why, 0);
	if (th->in_hold)
		end_hold(e, th, ts, th->gil, why, 0, 0, NO_CPU_WAIT);
}
