/* SPDX-License-Identifier: MIT */
/*
 * check.h — what `giltrace check` compares (the gates) and how a run's
 * numbers are loaded: shared by cmd_check.c (options and the table) and
 * check_load.c (traces and JSON files into numbers).
 */
#ifndef CHECK_H
#define CHECK_H

#include <stddef.h>

#include "convoy.h"

enum check_unit { U_RATIO, U_COUNT, U_US, U_RATE };

struct check_gate {
	const char *name; /* as in --max-NAME and --tolerance NAME=... */
	const char *key;  /* in report --json */
	/* The same metric with CPU waits included, where key leaves them out:
	 * compared instead when the waits are not split (an older baseline, a
	 * kernel without run delays) or with --raw. NULL: key is raw already. */
	const char *raw_key;
	enum check_unit unit;
	double rel, abs; /* default tolerances; abs in the JSON's unit */
	int opt_in;      /* compared with the baseline only if asked to */
};

extern const struct check_gate check_gates[];
extern const size_t check_ngates;
#define CHECK_MAX_GATES 16

/* One run's numbers: from a trace (through the JSON report --json would
 * write for it) or from that JSON. */
struct check_run {
	double value[CHECK_MAX_GATES]; /* by gate: key's value, NaN if absent */
	double raw[CHECK_MAX_GATES];   /* by gate: raw_key's (NaN if none) */
	int split;                     /* its waits are split (cpu_split "on") */
	char split_note[160];          /* else why not */
	double cpu_wait_share;         /* of its GIL waiting, waiting for a CPU */
	char proc[256];                /* the processes it covers, "" all */
	int dropped, incomplete;
};

/* Loads path (a trace, or JSON when it starts with '{'); process selects
 * processes of a trace (an error for JSON). 0, or -1 with err set. */
int check_load(const char *path, const char *process, const struct gt_convoy_opts *co,
	       struct check_run *r, char *err, size_t errlen);
/* check_values.c: a user's value for gate g in the JSON's unit (0, -1, or
 * a GT_PARSE_* code), and one line saying what is wrong with it; a value as
 * the table shows it; --tolerance METRIC=REL[,ABS] into rel/abs_tol/has_tol
 * by gate (0, or -1 after saying what is wrong). */
int check_parse_value(int g, const char *s, double *v);
void check_bad_value(const char *what, int g, const char *value, int rc);
void check_show(char *buf, size_t n, int g, double v);
int check_parse_tolerance(const char *t, double *rel, double *abs_tol, int *has_tol);

/* The median of n values (n >= 1; NaN if one is); the values are reordered. */
double check_median(double *v, size_t n);

#endif
