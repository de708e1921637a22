/* SPDX-License-Identifier: MIT */
/* cli_common.c — option parsing the subcommands share (see cli.h). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "convoy.h"
#include "format.h"

int gt_cli_convoy_option(int c, const char *arg, struct gt_convoy_opts *o)
{
	if (c != GT_OPT_CONVOY_DELAY && c != GT_OPT_CONVOY_IO && c != GT_OPT_CONVOY_RUN)
		return 0;
	static const char *const names[] = {"--convoy-delay", "--convoy-io", "--convoy-run"};
	double v;
	if (gt_parse_number(arg, &v) || v <= 0 ||
	    (c == GT_OPT_CONVOY_RUN && (v != (double)(unsigned)v || v > 1e6))) {
		gt_err("%s needs a %s", names[c - GT_OPT_CONVOY_DELAY],
		       c == GT_OPT_CONVOY_RUN ? "whole number of re-acquisitions (1 or more)"
					      : "positive number of switch intervals, e.g. 0.5");
		return -1;
	}
	if (c == GT_OPT_CONVOY_DELAY)
		o->delay = v;
	else if (c == GT_OPT_CONVOY_IO)
		o->io = v;
	else
		o->run = (unsigned)v;
	return 1;
}

int gt_cli_bad_option(const char *cmd, int c, char **argv, const struct option *longopts)
{
	/* With opterr = 0, getopt leaves the wording to us: the offending
	 * word is the last one it looked at. */
	const char *word = argv[optind - 1];
	if (c == ':') {
		const char *name = NULL;
		for (const struct option *o = longopts; o->name; o++)
			if (o->val == optopt)
				name = o->name;
		if (optopt > 0 && optopt < 256 && word[0] == '-' && word[1] != '-')
			gt_err("%s: -%c needs a value (see giltrace %s --help)", cmd, optopt, cmd);
		else
			gt_err("%s: --%s needs a value (see giltrace %s --help)", cmd,
			       name ? name : word + 2, cmd);
	} else if (optopt > 0 && optopt < 256 && word[0] == '-' && word[1] != '-') {
		gt_err("%s: unknown option '-%c' (see giltrace %s --help)", cmd, optopt, cmd);
	} else {
		gt_err("%s: unknown option '%s' (see giltrace %s --help)", cmd, word, cmd);
	}
	return GT_EXIT_USAGE;
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
