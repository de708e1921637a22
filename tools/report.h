/* SPDX-License-Identifier: MIT */
/*
 * report.h — renders metrics for people (text) and programs.
 *
 * `giltrace run` prints the same text report as `giltrace report`.
 */
#ifndef REPORT_H
#define REPORT_H

#include <stdio.h>

#include "metrics.h"

struct gt_report_opts {
	const char *trace_path;
	int top;      /* threads listed; 0 = all */
};

void gt_report_text(FILE *out, const struct gt_metrics *m, const struct gt_report_opts *o);

/* Reads path into m (initialised here); returns 0 or -1 with err set. */
int gt_report_load(const char *path, struct gt_metrics *m, char *err, size_t errlen);

#endif
