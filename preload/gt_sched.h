/* SPDX-License-Identifier: MIT */
/*
 * gt_sched.h — a thread's run delay: how long the kernel kept it runnable
 * but off a CPU (the second field of /proc/<tid>/schedstat, in ns).
 *
 * The hooks read it at the contended edges of the GIL only (a wait's start
 * and each of its wake-ups, an acquire others wait behind, a release with
 * waiters; model/gt_gil_sm.h, "CPU waits"), never on the uncontended path.
 * Each read opens, reads and closes the file with raw system calls: the
 * program never sees a descriptor of ours outside that moment, no other
 * preload intercepts it, and errno is kept.
 */
#ifndef GT_SCHED_H
#define GT_SCHED_H

#include <stdatomic.h>
#include <stdint.h>

/* Reads may be tried: GILTRACE_CPU_SPLIT is not 0, and no read has found
 * schedstat missing, not counting, or failing. */
extern atomic_int gt_sched_on;

/* Decides gt_sched_on from the configuration (constructor). */
void gt_sched_init(int enabled);
/* The calling thread's run delay, or a thread's of this process (tid);
 * GT_SM_NO_RD if unknown (and then gt_sched_on is 0 from now on, said once
 * on stderr and in the trace). */
uint64_t gt_sched_self(void);
uint64_t gt_sched_thread(uint32_t tid);
/* A wait begins and gt_sched_on is 0: the trace says why it is not split. */
void gt_sched_unsplit_wait(void);

#endif
