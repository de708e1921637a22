/* SPDX-License-Identifier: MIT */
/*
 * check_values.c — the values a user gives `giltrace check` for a gate
 * (--max-METRIC, --tolerance) and how the table shows a gate's values: each
 * in the gate's own unit (ratio, count, duration, rate).
 */
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "cli.h"
#include "format.h"

static int find_gate(const char *name, size_t len)
{
	for (size_t g = 0; g < check_ngates; g++)
		if (strlen(check_gates[g].name) == len && !strncmp(check_gates[g].name, name, len))
			return (int)g;
	return -1;
}

/* A user's value for gate g, in the JSON's unit: 0, -1, or a
 * GT_PARSE_* code. */
int check_parse_value(int g, const char *s, double *v)
{
	int rc;
	if (check_gates[g].unit == U_US) {
		double sec;
		if ((rc = gt_parse_duration(s, &sec)))
			return rc;
		*v = sec * 1e6;
		return sec < 0 ? -1 : 0;
	}
	if (check_gates[g].unit == U_RATIO)
		return (rc = gt_parse_ratio(s, v)) ? rc : *v < 0 ? -1 : 0;
	return gt_parse_number(s, v) || *v < 0 ? -1 : 0;
}

/* One line saying what is wrong with VALUE given to WHAT for gate g. */
void check_bad_value(const char *what, int g, const char *value, int rc)
{
	if (rc == GT_PARSE_NO_UNIT)
		gt_err("check: %s %s has no unit: write %sms, %ss or %sus", what, value, value,
		       value, value);
	else if (rc == GT_PARSE_ABOVE_ONE)
		gt_err("check: %s %s is above 1: write %s%% for a percentage (a ratio is from "
		       "0 to 1)",
		       what, value, value);
	else
		gt_err("check: %s needs a %s (got '%s')", what,
		       check_gates[g].unit == U_US	  ? "duration, e.g. 5ms"
		       : check_gates[g].unit == U_RATIO ? "ratio, e.g. 0.2 or 20%"
						  : "number",
		       value);
}

void check_show(char *buf, size_t n, int g, double v)
{
	switch (check_gates[g].unit) {
	case U_RATIO:
		snprintf(buf, n, "%.3f", v);
		break;
	case U_US:
		gt_fmt_duration(buf, n, (uint64_t)(v * 1e3 + 0.5));
		break;
	case U_COUNT:
		snprintf(buf, n, "%.2f", v);
		break;
	case U_RATE:
		snprintf(buf, n, "%.1f", v);
		break;
	}
}

/* --tolerance METRIC=REL[,ABS]: 0, or -1 after saying what is wrong. */
int check_parse_tolerance(const char *t, double *rel, double *abs_tol, int *has_tol)
{
	const char *eq = strchr(t, '=');
	int g = eq ? find_gate(t, (size_t)(eq - t)) : -1;
	char relv[64] = "", absv[64] = "";
	const char *comma = eq ? strchr(eq + 1, ',') : NULL;
	if (eq) {
		size_t rl = comma ? (size_t)(comma - eq - 1) : strlen(eq + 1);
		snprintf(relv, sizeof(relv), "%.*s", (int)(rl < 63 ? rl : 63), eq + 1);
		if (comma)
			snprintf(absv, sizeof(absv), "%s", comma + 1);
	}
	char what[192];
	int rc_rel = g < 0 ? -1 : gt_parse_ratio(relv, &rel[g]);
	int rc_abs = g < 0 || !comma ? 0 : check_parse_value(g, absv, &abs_tol[g]);
	if (rc_rel == GT_PARSE_ABOVE_ONE) {
		snprintf(what, sizeof(what), "--tolerance %s: the relative part", t);
		check_bad_value(what, g, relv, rc_rel);
		return -1;
	}
	if (rc_abs == GT_PARSE_NO_UNIT || rc_abs == GT_PARSE_ABOVE_ONE) {
		snprintf(what, sizeof(what), "--tolerance %s: the absolute part", t);
		check_bad_value(what, g, absv, rc_abs);
		return -1;
	}
	if (g < 0 || rc_rel || rel[g] < 0 || rc_abs) {
		gt_err("check: --tolerance needs METRIC=REL[,ABS], e.g. wait-p99=50%%,2ms (got '%s')",
		       t);
		return -1;
	}
	has_tol[g] = 1;
	return 0;
}

