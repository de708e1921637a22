/* SPDX-License-Identifier: MIT */
/*
 * gt_schema.h — how giltrace's Perfetto traces are laid out: one definition
 * for the writer that encodes them (writer/gt_encoder.c) and the reader that
 * decodes them (analysis/trace_reader.c). docs/trace-format.md is the prose
 * version; tests/unit/test_schema.c checks both directions.
 *
 * Track uuids are keyed by pid so that traces of several processes can be
 * loaded together. Process and thread tracks are pid << 32 (| tid);
 * giltrace's own tracks stay below 2^32 — they are named on every
 * holder-track event, so a short varint matters: 20 bits of pid, then 8 bits
 * of GIL slot and 3 bits of track kind. Two values of the low 11 bits that
 * are no (slot, kind) pair name the metadata and convoy tracks.
 */
#ifndef GT_SCHEMA_H
#define GT_SCHEMA_H

#include "gt_types.h"

/* ---- tracks ---------------------------------------------------------------- */

enum gt_gil_track { GT_TRACK_HOLDER = 1, GT_TRACK_WAITERS, GT_TRACK_CONTENDED, GT_TRACK_INTERVAL };

#define GT_UUID_PID(pid) ((__u64)((pid) & 0xfffffu) << 11)
#define GT_UUID_LOW_MASK 0x7ffu
#define GT_UUID_LOW_META 0x7ffu    /* "giltrace": start and end records, GILs */
#define GT_UUID_LOW_CONVOYS 0x7feu /* "convoys", added by report --annotate */

static inline __u64 gt_uuid_process(__u32 pid) { return (__u64)pid << 32; }
static inline __u64 gt_uuid_thread(__u32 pid, __u32 tid) { return (__u64)pid << 32 | tid; }
static inline __u64 gt_uuid_gil(__u32 pid, unsigned slot, enum gt_gil_track kind)
{
	return GT_UUID_PID(pid) | (__u64)((slot & 0xffu) << 3) | (unsigned)kind;
}
static inline __u64 gt_uuid_meta(__u32 pid) { return GT_UUID_PID(pid) | GT_UUID_LOW_META; }
static inline __u64 gt_uuid_convoys(__u32 pid) { return GT_UUID_PID(pid) | GT_UUID_LOW_CONVOYS; }
/* A convoy victim's track: above 2^32 like thread tracks, with the top bit
 * set so that it can never be one. */
static inline __u64 gt_uuid_victim(__u32 pid, __u32 tid)
{
	return 1ull << 63 | gt_uuid_thread(pid, tid);
}

/* What a giltrace track uuid below 2^32 is. */
enum gt_uuid_kind { GT_UUID_OTHER = 0, GT_UUID_META, GT_UUID_CONVOYS, GT_UUID_GIL };

static inline enum gt_uuid_kind gt_uuid_decode(__u64 uuid, unsigned *slot,
					       enum gt_gil_track *kind)
{
	if (uuid >> 32)
		return GT_UUID_OTHER; /* a process's or thread's own */
	unsigned low = (unsigned)uuid & GT_UUID_LOW_MASK;
	if (low == GT_UUID_LOW_META)
		return GT_UUID_META;
	if (low == GT_UUID_LOW_CONVOYS)
		return GT_UUID_CONVOYS;
	unsigned k = low & 7u;
	if (k < GT_TRACK_HOLDER || k > GT_TRACK_INTERVAL)
		return GT_UUID_OTHER;
	*slot = low >> 3;
	*kind = (enum gt_gil_track)k;
	return GT_UUID_GIL;
}

/* Track names (the reader goes by uuid; the names are for people). */
#define GT_NAME_TRACK_HOLDER "GIL holder"
#define GT_NAME_TRACK_WAITERS "GIL waiters"
#define GT_NAME_TRACK_CONTENDED "GIL contended"
#define GT_NAME_TRACK_INTERVAL "GIL switch interval (us)"
#define GT_NAME_TRACK_META "giltrace"
#define GT_NAME_TRACK_CONVOYS "convoys"

/* A thread's name, as its track shows it: threading.Thread.name when the
 * writer could read it, else the OS name. Bytes of UTF-8, NUL included. */
#define GT_THREAD_NAME_MAX 64
/* When the two differ, the thread's TrackDescriptor.description is this
 * prefix and the OS name (/proc/PID/task/TID/comm). */
#define GT_THREAD_OS_NAME "OS thread name: "

/* ---- flows: a release with waiters to the acquire that follows it ------- */

static inline __u64 gt_flow_id(__u32 pid, unsigned slot, __u32 seq)
{
	return (__u64)pid << 40 | (__u64)slot << 32 | seq;
}

/* ---- slices and instants --------------------------------------------------- */

#define GT_NAME_WAIT "GIL wait"         /* thread track */
#define GT_NAME_HOLD "GIL hold"         /* thread track */
#define GT_NAME_DROP_REQUEST "drop request" /* instant, holder track */
#define GT_NAME_CONTENDED "contended"   /* contended track */
/* Thread track, inside a GIL wait: the thread was runnable but had no CPU
 * (the run delay the kernel counted up to a wake-up, placed just before
 * it; see docs/metrics.md, "CPU waits"). */
#define GT_NAME_CPU_WAIT "waiting for a CPU"
#define GT_NAME_START "giltrace start"  /* instant, metadata track */
#define GT_NAME_END "giltrace end"      /* instant, metadata track */
/* instant on the run's own metadata track (gt_uuid_meta(0), no process):
 * the trace is the last part, from here, of a recording that began at
 * GT_AN_RUN_START (giltrace run --keep / --max-size). */
#define GT_NAME_WINDOW "giltrace window"
/* Instant on the metadata track when a GIL is declared, its identity as
 * data: GT_AN_GIL, GT_AN_INTERP_ID (absent if unknown). */
#define GT_NAME_GIL "GIL"
/* Instant on the metadata track when the writer first sees an interpreter
 * in the process's list of interpreters: GT_AN_INTERP_ID runs under the GIL
 * of slot GT_AN_GIL (its own, or the main one's for a subinterpreter that
 * shares it). */
#define GT_NAME_INTERP "interpreter"

/* ---- debug annotations ----------------------------------------------------- */

#define GT_AN_HOLDER "holder_tid"     /* wait begin, drop request */
#define GT_AN_TIMEOUTS "timeouts"     /* wait end */
#define GT_AN_ENDED "ended"           /* hold end, abandoned wait end */
#define GT_AN_REQUESTED_BY "requested_by" /* drop request */
#define GT_AN_PREV_HOLDER "prev_holder"   /* holder slice after a switch */
/* Run delays, ns (only when the recorder read them): wait end, the waiter's
 * own during the wait; hold end, the holder's while a thread waited. */
#define GT_AN_CPU_WAIT "cpu_wait_ns"
/* wait end: the GIL's holders' run delay during the wait (absent if
 * unknown) */
#define GT_AN_HOLDER_CPU_WAIT "holder_cpu_wait_ns"
#define GT_AN_GIL "gil"               /* GIL and interpreter instants: the slot */
#define GT_AN_INTERP_ID "interp_id"   /* GIL and interpreter instants */
/* Start and end records. */
#define GT_AN_VERSION "giltrace_version"
#define GT_AN_FORMAT "trace_format"
#define GT_AN_RECORDER "recorder"
#define GT_AN_CLOCK "clock"
#define GT_AN_PYTHON "python_version"
#define GT_AN_METHOD "gil_method"
#define GT_AN_NOTES "notes"
#define GT_AN_EVENTS "events"             /* end only */
#define GT_AN_DROPPED "events_dropped"    /* end only */
#define GT_AN_THREADS "threads"           /* end only */
#define GT_AN_UNTRACED "gils_untraced"    /* end only, when not 0 */
/* end only, when a wait was recorded: whether waits are split into
 * waiting for the GIL and for a CPU ("on"), or why not */
#define GT_AN_CPU_SPLIT "cpu_split"
/* start only, when the trace is the last part of a longer recording
 * (giltrace run --keep / --max-size): when recording began, ns BOOTTIME. */
#define GT_AN_RUN_START "run_start"

/* How a hold (or an abandoned wait) ended: GT_AN_ENDED's value. */
enum gt_end_reason {
	GT_END_NONE = 0,
	GT_END_VOLUNTARY,    /* released with nobody forcing it */
	GT_END_FORCED,       /* a drop request made it (FORCE_SWITCHING) */
	GT_END_THREAD_EXIT,  /* the thread exited holding it */
	GT_END_PROCESS_EXIT, /* the trace ended with it held */
	GT_END_ABANDONED,    /* a wait given up (finalisation) */
	GT_END_REASON_MAX
};

static inline const char *gt_end_reason_name(enum gt_end_reason r)
{
	switch (r) {
	case GT_END_VOLUNTARY:
		return "voluntary";
	case GT_END_FORCED:
		return "forced";
	case GT_END_THREAD_EXIT:
		return "thread exit";
	case GT_END_PROCESS_EXIT:
		return "process exit";
	case GT_END_ABANDONED:
		return "abandoned";
	default:
		return "";
	}
}

/* Packet sequence of the annotations `giltrace report --annotate` appends. */
#define GT_ANNOTATION_SEQ_ID 0x7fff0001u

#endif
