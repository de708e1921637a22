/* SPDX-License-Identifier: MIT */
/*
 * gt_shm.h — the memory traced processes record into and a writer drains.
 *
 * One mapping, a "pool": a header, a table of process entries, one control
 * block per ring slot, then the rings. Two ways to have one:
 *
 *  - a session: `giltrace run` lays a pool out in a memfd before it starts
 *    the program, and every traced process of the run records into it —
 *    the one it started, the children that process fork()s (they inherit
 *    the mapping) and, with --children, the programs they execute (they map
 *    it again from /proc/<giltrace>/fd/N). giltrace drains all of them and
 *    writes every trace file itself, so no traced process gains a thread, a
 *    descriptor or an open file of ours, and a process killed even with
 *    SIGKILL leaves everything it recorded;
 *  - a private pool (plain LD_PRELOAD, or a process that could not join its
 *    session): anonymous memory of one process, drained by a writer thread
 *    of that process. It uses process entry 0 only.
 *
 * A process entry describes one process image from the first GIL it saw to
 * its end; a ring slot belongs to one thread of one entry. Both are claimed
 * with a CAS by the recorder and given back by the writer. Nothing here
 * holds a pointer: each side computes addresses from its own mapping.
 */
#ifndef GT_SHM_H
#define GT_SHM_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "gt_cpython.h"
#include "gt_event.h"
#include "gt_gil_method.h"

#define GT_SHM_MAGIC 0x67696c7472616365ull /* "giltrace" */
#define GT_SHM_VERSION 5
/* The name `giltrace run` gives the memfd (seen in /proc/PID/fd). */
#define GT_SHM_MEMFD_NAME "giltrace"
/* Bytes of the header's message area (see gt_shm_msg). */
#define GT_SHM_MSG_BYTES 16384

enum gt_slot_state {
	GT_SLOT_FREE = 0, /* available */
	GT_SLOT_CLAIMING, /* a thread is filling in tid and proc */
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
	uint32_t proc;      /* the process entry it belongs to */
	char exit_name[16]; /* the thread's name when it exited */
	uint64_t ident;     /* its pthread_self(): threading's key for it */
};

/* What a process entry is doing (gt_shm_proc.state). */
enum gt_proc_state {
	GT_PROC_FREE = 0, /* available */
	GT_PROC_CLAIMED,  /* the recorder is filling it in */
	GT_PROC_TRACING,  /* events flow; the identity fields are valid */
	GT_PROC_EXECING,  /* exec() called at end_ticks: ends there if it succeeds,
			   * back to TRACING if it fails */
	GT_PROC_FINISHED, /* the process completed its part at end_ticks */
};

/* Whether the recorder splits GIL waits into waiting for the GIL and for a
 * CPU (gt_shm_proc.cpu_split; preload/gt_sched.h). */
enum gt_cpu_split {
	GT_CPU_SPLIT_UNTRIED = 0, /* no contended wait yet */
	GT_CPU_SPLIT_ON,          /* every contended edge read its run delay */
	GT_CPU_SPLIT_OFF,         /* GILTRACE_CPU_SPLIT=0 */
	GT_CPU_SPLIT_MISSING,     /* no /proc/<tid>/schedstat (cpu_split_errno) */
	GT_CPU_SPLIT_NOT_COUNTED, /* schedstat says 0 0 0: the kernel does not count */
	GT_CPU_SPLIT_FAILED,      /* a read failed during the run (cpu_split_errno) */
};

enum gt_proc_flags {
	GT_PROC_FORKED = 1u << 0, /* a fork()ed child of a traced process */
};

/* A GIL's identity, as the writer needs it (gt_gil.h has the rest). */
struct gt_shm_gil {
	uint32_t method;      /* enum gt_gil_method bits */
	uint32_t interval_us; /* switch interval when registered, 0 if unknown */
	int64_t interp_id;    /* -1 if unknown */
	uint64_t base;        /* its struct _gil_runtime_state, 0 if unknown */
};

/* One traced process image. The recorder fills it in while CLAIMED and
 * publishes it with the release store of TRACING; afterwards it changes
 * only the state, end_ticks, the GIL list and the counters. */
struct gt_shm_proc {
	_Alignas(64) _Atomic uint32_t state; /* enum gt_proc_state */
	uint32_t pid;
	uint32_t flags;     /* enum gt_proc_flags */
	_Atomic uint32_t gils_untraced; /* GILs created once gils[] was full */
	_Atomic uint32_t cpu_split;     /* enum gt_cpu_split */
	_Atomic uint32_t cpu_split_errno;
	uint64_t map_base;  /* where the pool is mapped in it: tells its image
			     * from the next one after exec() */
	uint64_t end_ticks; /* set before FINISHED or EXECING */
	_Atomic uint64_t no_slot_events; /* events of threads that found no ring */
	char python_version[32];
	int32_t use_tsc;          /* recorder clock: TSC ticks, else BOOTTIME ns */
	uint32_t py_minor;        /* CPython's minor version, 0 if unknown */
	/* Where the main interpreter keeps sys.modules (&interp->modules), 0
	 * until known: the writer reads thread names from there
	 * (model/gt_cpy_names.h). Set once, when a thread starts. */
	_Atomic uint64_t py_modules_slot;
	/* Where its list of interpreters is (3.12+; head 0 if unknown): the
	 * writer reads which interpreters run under which GIL. */
	struct gt_cpy_walk interps;
	uint64_t anchor_ticks;    /* when tracing started, in recorder ticks */
	uint64_t anchor_ns;       /* the same moment on CLOCK_BOOTTIME */
	int64_t monotonic_offset; /* BOOTTIME - MONOTONIC at the anchor */
	/* GILs are published by ngils (release) after their entry is set. */
	_Atomic uint32_t ngils;
	struct gt_shm_gil gils[GT_MAX_GILS];
};

/* A message from a recorder to the writer's user (see gt_shm_msg_*). */
struct gt_shm_msg {
	_Atomic uint32_t ready; /* 0 until text is complete: then its length */
	uint32_t pid;
	char text[]; /* not NUL-terminated; the record is padded to 8 bytes */
};

struct gt_shm_hdr {
	uint64_t magic;
	uint32_t version;
	uint32_t nslots;
	uint32_t ring_events; /* a power of two */
	uint32_t nprocs;      /* process entries */
	uint64_t size;        /* bytes of the whole mapping */
	uint64_t session;     /* a session's random id (GILTRACE_SESSION): a pid
			       * reused by another giltrace is not this run */
	int32_t compress;     /* GILTRACE_COMPRESS, GILTRACE_FLUSH_MS: the */
	uint32_t flush_ms;    /* settings of whoever laid the pool out */
	_Atomic uint32_t high;      /* slots ever used: drain [0, high) */
	_Atomic uint32_t proc_high; /* process entries ever used */
	_Atomic uint32_t procs_refused; /* processes that found no free entry */
	_Atomic uint32_t pythons;       /* CPython processes that joined the run */
	/* Writer wake-up (a futex word; shared across processes). */
	_Alignas(64) _Atomic uint32_t wake;
	_Atomic uint32_t sleeping;
	/* Messages: records appended by reserving space (msg_end), writing
	 * them and setting ready last; the writer prints them in order. */
	_Alignas(64) _Atomic uint32_t msg_end;
	_Atomic uint32_t msg_lost;
	_Alignas(8) char msgs[GT_SHM_MSG_BYTES];
};

/* Offsets of the parts, from the sizes alone. */
static inline size_t gt_shm_align(size_t n) { return (n + 4095) & ~(size_t)4095; }

static inline size_t gt_shm_procs_off(void) { return gt_shm_align(sizeof(struct gt_shm_hdr)); }

static inline size_t gt_shm_slots_off(uint32_t nprocs)
{
	return gt_shm_align(gt_shm_procs_off() + (size_t)nprocs * sizeof(struct gt_shm_proc));
}

static inline size_t gt_shm_rings_off(uint32_t nprocs, uint32_t nslots)
{
	return gt_shm_align(gt_shm_slots_off(nprocs) + (size_t)nslots * sizeof(struct gt_slot));
}

static inline size_t gt_shm_size(uint32_t nprocs, uint32_t nslots, uint32_t ring_events)
{
	return gt_shm_rings_off(nprocs, nslots) +
	       (size_t)nslots * ring_events * sizeof(struct gt_event);
}

/* A mapping, as seen by one side. */
struct gt_shm {
	struct gt_shm_hdr *hdr;
	struct gt_shm_proc *procs;
	struct gt_slot *slots;
	struct gt_event *rings; /* slot i's ring: rings + i * ring_events */
	uint32_t mask;          /* ring_events - 1 */
};

static inline void gt_shm_view(struct gt_shm *v, void *base)
{
	v->hdr = (struct gt_shm_hdr *)base;
	v->procs = (struct gt_shm_proc *)((char *)base + gt_shm_procs_off());
	v->slots = (struct gt_slot *)((char *)base + gt_shm_slots_off(v->hdr->nprocs));
	v->rings = (struct gt_event *)((char *)base +
				       gt_shm_rings_off(v->hdr->nprocs, v->hdr->nslots));
	v->mask = v->hdr->ring_events - 1;
}

static inline struct gt_event *gt_shm_ring(const struct gt_shm *v, uint32_t slot)
{
	return v->rings + (size_t)slot * (v->mask + 1);
}

/* Shrinks a pool to at most budget bytes of address space: fewer rings
 * first (down to 8), then shorter ones (down to 1024 events). Returns 1 if
 * it had to. For a process with an address-space limit (ulimit -v), where
 * the reservation counts although nothing of it is committed: the program
 * must keep the room it had. */
static inline int gt_shm_fit(uint32_t nprocs, uint32_t *nslots, uint32_t *ring_events,
			     uint64_t budget)
{
	int shrunk = 0;
	while (gt_shm_size(nprocs, *nslots, *ring_events) > budget) {
		if (*nslots > 8)
			*nslots = *nslots / 2 > 8 ? *nslots / 2 : 8;
		else if (*ring_events > 1024)
			*ring_events /= 2;
		else
			break;
		shrunk = 1;
	}
	return shrunk;
}

/* The share of an address-space limit a pool may take (an eighth). */
static inline uint64_t gt_shm_budget(uint64_t as_limit) { return as_limit / 8; }

/* Writes a fresh pool's header into zeroed memory of gt_shm_size() bytes
 * (every slot and entry FREE); the magic is stored last, with release. */
static inline void gt_shm_lay_out(void *base, uint32_t nprocs, uint32_t nslots,
				  uint32_t ring_events, int32_t compress, uint32_t flush_ms)
{
	struct gt_shm_hdr *h = (struct gt_shm_hdr *)base;
	h->version = GT_SHM_VERSION;
	h->nslots = nslots;
	h->ring_events = ring_events;
	h->nprocs = nprocs;
	h->size = gt_shm_size(nprocs, nslots, ring_events);
	h->compress = compress;
	h->flush_ms = flush_ms;
	atomic_thread_fence(memory_order_release);
	h->magic = GT_SHM_MAGIC;
}

/* Is base (of size bytes) a pool this code understands? */
static inline int gt_shm_valid(const void *base, size_t size)
{
	const struct gt_shm_hdr *h = (const struct gt_shm_hdr *)base;
	return size >= sizeof(*h) && h->magic == GT_SHM_MAGIC && h->version == GT_SHM_VERSION &&
	       h->ring_events >= 2 && !(h->ring_events & (h->ring_events - 1)) && h->nprocs &&
	       h->size == gt_shm_size(h->nprocs, h->nslots, h->ring_events) && h->size <= size;
}

#endif
