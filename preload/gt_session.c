/* SPDX-License-Identifier: MIT */
/*
 * gt_session.c — telling `giltrace run` where this process stands.
 *
 * In a session the giltrace process drains this process's rings and writes
 * its trace; all it needs from here is the state of the process entry,
 * published with a release store (the writer that sees it sees end_ticks
 * and every event published before) and followed by a wake-up:
 * FINISHED at exit or a terminating signal — it takes no time, so it is
 * safe in a signal handler — and EXECING, then back to TRACING if exec()
 * returns.
 */
#define _GNU_SOURCE
#include "gt_session.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "gt_ring.h"

/* The names of this process's threads still running go where a writer in
 * another process, which may come after we are gone, finds them. */
static void leave_names(void)
{
	struct gt_shm *v = &gt_pool.v;
	uint32_t high = atomic_load(&v->hdr->high);
	for (uint32_t i = 0; i < high; i++) {
		struct gt_slot *s = &v->slots[i];
		if (atomic_load(&s->state) != GT_SLOT_ACTIVE || s->proc != (uint32_t)gt_pool.proc)
			continue;
		char path[64];
		snprintf(path, sizeof(path), "/proc/self/task/%u/comm", s->tid);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		char name[16] = {0};
		ssize_t n = read(fd, name, 15);
		close(fd);
		if (n > 0 && name[n - 1] == '\n')
			name[n - 1] = 0;
		if (n > 0)
			memcpy(s->exit_name, name, sizeof(name));
	}
}

/* Tells the session's writer (release: it sees end_ticks and every event
 * published before). */
static void set_state(uint32_t state, const uint64_t *ticks)
{
	struct gt_shm_proc *p = gt_pool_proc();
	if (!p)
		return;
	if (ticks)
		p->end_ticks = *ticks;
	atomic_store_explicit(&p->state, state, memory_order_release);
	gt_ring_kick_writer();
}

void gt_session_finish(uint64_t end_ticks)
{
	leave_names();
	set_state(GT_PROC_FINISHED, &end_ticks);
}

void gt_session_exec_begin(uint64_t ticks)
{
	/* If exec succeeds, these threads are gone before giltrace looks. */
	leave_names();
	set_state(GT_PROC_EXECING, &ticks);
}

void gt_session_exec_failed(void) { set_state(GT_PROC_TRACING, NULL); }
