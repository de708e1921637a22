/* SPDX-License-Identifier: MIT */
/*
 * gt_shm.h — the memory a traced process records into and a writer drains.
 *
 * One mapping: a header, then one control block per ring slot, then the
 * rings. The recorder (libgiltrace.so) lays it out; the writer is either a
 * thread of the traced process (anonymous memory) or, under `giltrace run`,
 * the giltrace process itself (a memfd both map), so the traced program
 * gains no thread: a second thread alone makes glibc and the kernel leave
 * their single-threaded fast paths, which costs a syscall-heavy program more
 * than the recording does. Nothing here holds a pointer: each side computes
 * addresses from its own mapping.
 *
 * Everything a writer needs to know about the process (its GILs, Python
 * version, clock) is in the header, so the same drain code serves both.
 */
#ifndef GT_SHM_H
#define GT_SHM_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "gt_event.h"

#define GT_SHM_MAGIC 0x67696c7472616365ull /* "giltrace" */
#define GT_SHM_VERSION 1
/* The name `giltrace run` gives the memfd (seen in /proc/PID/fd). */
#define GT_SHM_MEMFD_NAME "giltrace"

enum gt_slot_state {
	GT_SLOT_FREE = 0, /* available */
	GT_SLOT_ACTIVE,   /* owned by a live thread */
	GT_SLOT_EXITED,   /* its thread has exited; the writer drains and frees */
};

/* One thread's ring: single producer (the thread), single consumer (the
 * writer). head and tail live on separate cache lines. */
struct gt_slot {
	/* Producer's line. */
	_Alignas(64) _Atomic uint64_t head; /* events published */
	_Atomic uint64_t dropped;           /* events lost to a full ring */
	/* Consumer's line. */
	_Alignas(64) _Atomic uint64_t tail; /* events consumed */
	/* Control, changes once per thread. */
	_Alignas(64) _Atomic uint32_t state;
	uint32_t tid;
	char exit_name[16]; /* the thread's name when it exited */
};

/* What the recording process is doing (gt_shm_hdr.proc_state). */
enum gt_shm_proc {
	GT_SHM_WAITING = 0, /* no GIL yet (not Python, or not started) */
	GT_SHM_TRACING,     /* events flow; the identity fields are valid */
	GT_SHM_FINISHED,    /* the process completed its part (end_ticks) */
};

/* How a GIL was found and what confirmed it (a bit set; see
 * gt_drain_describe_method() for the words used in the trace). */
enum gt_gil_method {
	GT_ID_INIT_SEQUENCE = 1u << 0, /* create_gil's init calls from the interpreter */
	GT_ID_CALLER = 1u << 1,        /* a timed wait from the interpreter's code */
	GT_ID_STRUCT = 1u << 2,        /* the four objects sit at the 3.7+ offsets */
	GT_ID_RUNTIME = 1u << 3,       /* _PyRuntime + version layout predicts it */
	GT_ID_DEBUG_OFFSETS = 1u << 4, /* 3.13+ _Py_DebugOffsets predicts it */
	GT_ID_INTERP = 1u << 5,        /* interp->ceval.gil points at it (3.12+) */
	GT_ID_MISMATCH = 1u << 6,      /* a prediction disagreed: observed wins */
};

/* A GIL's identity, as the writer needs it (gt_gil.h has the rest). */
struct gt_shm_gil {
	uint32_t method;      /* enum gt_gil_method bits */
	uint32_t interval_us; /* switch interval when registered, 0 if unknown */
	int64_t interp_id;    /* -1 if unknown */
};

struct gt_shm_hdr {
	uint64_t magic;
	uint32_t version;
	uint32_t nslots;
	uint32_t ring_events; /* a power of two */
	uint32_t pid;         /* the recording process */
	uint64_t size;        /* bytes of the whole mapping */
	_Atomic uint32_t high;           /* slots ever used: drain [0, high) */
	_Atomic uint32_t proc_state;     /* enum gt_shm_proc */
	_Atomic uint64_t no_slot_events; /* events of threads that found no ring */
	uint64_t end_ticks;              /* when the process finished */
	/* Writer wake-up (a futex word; shared across processes). */
	_Alignas(64) _Atomic uint32_t wake;
	_Atomic uint32_t sleeping;
	/* Set before proc_state becomes TRACING. */
	_Alignas(64) char python_version[32];
	int32_t use_tsc;       /* recorder clock: TSC ticks, else BOOTTIME ns */
	uint64_t anchor_ticks; /* when tracing started, in recorder ticks */
	uint64_t anchor_ns;    /* the same moment on CLOCK_BOOTTIME */
	int64_t monotonic_offset; /* BOOTTIME - MONOTONIC at the anchor */
	int32_t compress;      /* GILTRACE_COMPRESS, GILTRACE_FLUSH_MS: the */
	uint32_t flush_ms;     /* recorder's settings, for the writer */
	/* GILs are published by ngils (release) after their entry is set. */
	_Atomic uint32_t ngils;
	struct gt_shm_gil gils[GT_MAX_GILS];
};

/* Offsets of the parts, from the sizes alone. */
static inline size_t gt_shm_slots_off(void)
{
	return (sizeof(struct gt_shm_hdr) + 4095) & ~(size_t)4095;
}

static inline size_t gt_shm_rings_off(uint32_t nslots)
{
	size_t end = gt_shm_slots_off() + (size_t)nslots * sizeof(struct gt_slot);
	return (end + 4095) & ~(size_t)4095;
}

static inline size_t gt_shm_size(uint32_t nslots, uint32_t ring_events)
{
	return gt_shm_rings_off(nslots) + (size_t)nslots * ring_events * sizeof(struct gt_event);
}

/* A mapping, as seen by one side. */
struct gt_shm {
	struct gt_shm_hdr *hdr;
	struct gt_slot *slots;
	struct gt_event *rings; /* slot i's ring: rings + i * ring_events */
	uint32_t mask;          /* ring_events - 1 */
};

static inline void gt_shm_view(struct gt_shm *v, void *base)
{
	v->hdr = base;
	v->slots = (struct gt_slot *)((char *)base + gt_shm_slots_off());
	v->rings = (struct gt_event *)((char *)base + gt_shm_rings_off(v->hdr->nslots));
	v->mask = v->hdr->ring_events - 1;
}

static inline struct gt_event *gt_shm_ring(const struct gt_shm *v, uint32_t slot)
{
	return v->rings + (size_t)slot * (v->mask + 1);
}

#endif
