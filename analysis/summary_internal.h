/* SPDX-License-Identifier: MIT */
/*
 * summary_internal.h — what summary.c and summary_procs.c share.
 */
#ifndef SUMMARY_INTERNAL_H
#define SUMMARY_INTERNAL_H

#include "summary.h"

/* Fills s->procs (after s->gils and s->threads); 0 or -1 out of memory. */
int gt_summary_procs(const struct gt_metrics *m, struct gt_summary *s);
/* A process's lifetime in seconds, or whole if the trace does not say. */
double gt_summary_proc_wall(const struct gt_metrics *m, uint32_t pid, double whole);

#endif
