/* SPDX-License-Identifier: MIT */
/*
 * gt_drain.h — turns a process's rings into its trace file.
 *
 * The writer's work, whoever does it: the writer thread of a traced process
 * (preload/gt_writer.c) or `giltrace run` draining the shared rings of the
 * program it started (tools/run_writer.c). Each cycle visits every slot in
 * use, converts the new events' timestamps and feeds them to that thread's
 * encoder state; a thread that exited is finished and its ring given back.
 * Chunks go to the file about once a second, so a killed program leaves a
 * trace that is valid up to its last chunk.
 *
 * All memory is allocated in gt_drain_open(); a cycle allocates nothing, so
 * finishing the trace from a signal handler or an atfork-ed child cannot
 * deadlock on malloc. The caller has set up the clock (gt_clock_init() or
 * gt_clock_adopt()).
 */
#ifndef GT_DRAIN_H
#define GT_DRAIN_H

#include <stdint.h>

#include "gt_encoder.h"
#include "gt_shm.h"

struct gt_drain_thread;

struct gt_drain {
	struct gt_shm v;
	int fd;
	int write_errno;
	int calibrated;
	struct gt_enc enc;
	struct gt_drain_thread *threads; /* one per slot */
	unsigned gils_declared;
	uint64_t start_ns;
	uint64_t last_disk_ns;
	uint64_t events;
	uint64_t dropped; /* from slots already given back */
	uint32_t nthreads;
};

/* What gt_drain_close() reports. */
struct gt_drain_result {
	uint64_t events;
	uint64_t dropped;
	uint32_t threads;
	int error; /* errno of a failed write, 0 if the trace is complete */
};

/* Starts the trace in fd (which it owns from now on) for the process whose
 * rings v describes; writes the process descriptor and the metadata at
 * once, so a process killed right away still leaves a trace that reads.
 * 0 or -errno (the fd is closed then). */
int gt_drain_open(struct gt_drain *d, const struct gt_shm *v, int fd);
/* Measures the clock rate once enough time has passed since the anchor;
 * until then a cycle must not convert. Returns 1 once it can. */
int gt_drain_calibrate(struct gt_drain *d, uint64_t min_ns);
/* One pass over the rings. Returns 1 if some thread produced a lot since
 * the last pass (come back soon). */
int gt_drain_cycle(struct gt_drain *d);
/* The end: drains everything, closes open slices at end_ticks, writes the
 * final metadata, flushes and closes the file. */
void gt_drain_close(struct gt_drain *d, uint64_t end_ticks, struct gt_drain_result *r);
/* Frees what gt_drain_open() allocated without writing (forked child). */
void gt_drain_forget(struct gt_drain *d);

/* Words for a GIL's identification method (enum gt_gil_method bits). */
void gt_drain_describe_method(uint32_t method, char *out, unsigned long size);

/* Gives a freed thread's ring pages back to the system. */
void gt_drain_release_ring(struct gt_event *ring, uint32_t ring_events);

#endif
