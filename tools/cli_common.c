/* SPDX-License-Identifier: MIT */
/* cli_common.c — option parsing the subcommands share (see cli.h). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "convoy.h"
#include "format.h"

int gt_cli_convoy_option(int argc, char **argv, int *i, struct gt_convoy_opts *o)
{
	const char *a = argv[*i];
	int which = !strcmp(a, "--convoy-delay") ? 1 : !strcmp(a, "--convoy-io") ? 2
		    : !strcmp(a, "--convoy-run") ? 3 : 0;
	if (!which)
		return 0;
	double v;
	if (*i + 1 >= argc || gt_parse_number(argv[*i + 1], &v) || v <= 0 ||
	    (which == 3 && (v != (double)(unsigned)v || v > 1e6))) {
		gt_err("%s needs a %s", a,
		       which == 3 ? "whole number of re-acquisitions (1 or more)"
				  : "positive number of switch intervals, e.g. 0.5");
		return -1;
	}
	(*i)++;
	if (which == 1)
		o->delay = v;
	else if (which == 2)
		o->io = v;
	else
		o->run = (unsigned)v;
	return 1;
}

int gt_cli_count(const char *s, int *out)
{
	char *end;
	long v = strtol(s, &end, 10);
	if (!*s || *end || v < 0 || v > 1000000)
		return -1;
	*out = (int)v;
	return 0;
}
