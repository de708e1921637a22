/* SPDX-License-Identifier: MIT */
/*
 * cmd_check.c — `giltrace check`: fail a CI job when GIL contention regresses.
 *
 * The metrics come from traces (or from the JSON `report --json` wrote for
 * them; check_load.c) and are compared with a baseline, with absolute
 * limits, or both. Several runs on a side are compared by their medians. A
 * metric regresses against its baseline when it grew by more than BOTH its
 * relative and its absolute tolerance, so a baseline near zero does not
 * flap on noise (docs/ci.md explains the defaults).
 */
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cli.h"
#include "format.h"

#define gates check_gates
#define NGATES check_ngates

/* Above this share of its GIL waiting spent waiting for a CPU, a run is
 * said to have been starved of CPU (docs/metrics.md, "CPU waits"). */
#define STARVED_SHARE 0.10

static const char check_usage[] =
	"usage: giltrace check FILE... [--baseline BASE.json]... [--max-METRIC VALUE]...\n"
	"                               [--tolerance METRIC=REL[,ABS]]... [--process PID|NAME]\n"
	"                               [--raw] [--markdown]\n"
	"\n"
	"Compares the GIL metrics of FILE (a trace, or the JSON of giltrace report\n"
	"--json) with a baseline written by giltrace report --json, and/or with\n"
	"absolute limits. Several FILEs (runs of the same program) and several\n"
	"--baseline files are compared by their medians. A metric regresses when it\n"
	"exceeds its --max, or when it grew past the baseline by more than both its\n"
	"relative and its absolute tolerance.\n"
	"\n"
	"The first four leave out the time a waiting thread, or the holder it waited\n"
	"for, was runnable without a CPU: a busy CI runner does not make them grow\n"
	"(docs/metrics.md#cpu-waits).\n"
	"\n"
	"metrics (default tolerances: relative, absolute):\n"
	"  contention-ratio      share of time with a thread waiting   (30%, 0.05)\n"
	"  mean-waiters          threads waiting, on average           (35%, 0.2)\n"
	"  wait-weighted-median  the wait a waiting thread is          (40%, 1ms)\n"
	"                        typically in: the median of the time spent waiting\n"
	"  wait-weighted-mean    mean wait, weighted by its length     (40%, 1ms)\n"
	"  wait-mean             mean length of a wait                 (40%, 1ms)\n"
	"  wait-p99              99th percentile of all waits          (50%, 5ms)\n"
	"                        wait-weighted-mean, wait-mean and wait-p99 only with\n"
	"                        --tolerance or --max: too noisy to compare by default\n"
	"  forced-per-s          forced releases per second            (35%, 10)\n"
	"  convoy-delay-ratio    share of time lost to convoys         (35%, 0.02)\n"
	"  raw-contention-ratio, raw-mean-waiters, raw-wait-weighted-median,\n"
	"  raw-wait-weighted-mean  the first four with CPU waits in; only with\n"
	"                        --tolerance or --max\n"
	"\n"
	"  --baseline FILE      a baseline (JSON from giltrace report --json); repeat it\n"
	"                       for the median of several\n"
	"  --max-METRIC VALUE   an absolute limit, e.g. --max-contention-ratio 0.2,\n"
	"                       --max-wait-p99 5ms (ratios also as 20%; a duration\n"
	"                       needs its unit, a ratio above 1 needs %)\n"
	"  --tolerance METRIC=REL[,ABS]  e.g. wait-p99=50%,2ms\n"
	"  --process PID|NAME   gate only that process of FILE, or every process whose\n"
	"                       name or a word of whose command line is NAME (e.g.\n"
	"                       worker.py); its baseline: giltrace report --json\n"
	"                       --process NAME\n"
	"  --raw                gate the first four with CPU waits in, as measured\n"
	"  --markdown           print the table as markdown (for a CI job summary)\n" GT_CONVOY_USAGE
	"  -h, --help           this help\n"
	"\n"
	"Exit status: 0 within limits, 1 a regression, 2 a usage or input error.\n"
	"See docs/ci.md.\n";

/* One line of the table. */
static void row(int markdown, const char *name, const char *b, const char *c, const char *ch,
		const char *lim, const char *verdict)
{
	if (markdown)
		printf("| %s | %s | %s | %s | %s | %s |\n", name, b, c, ch, lim,
		       !strcmp(verdict, "REGRESSION") ? "**regression**" : verdict);
	else
		printf("  %-24s %10s %10s %9s %10s  %s\n", name, b, c, ch, lim, verdict);
}

/* One side of the comparison: its runs' numbers, and the value of each
 * gate there (the median over its runs). */
struct side {
	struct check_run *runs;
	size_t n;
	double v[CHECK_MAX_GATES];
	int raw;       /* CPU waits are in the first four (not split, or --raw) */
	int unsplit;   /* ... because some run's waits are not split */
	const char *note; /* that run's reason */
	double cpu_share; /* median share of GIL waiting spent waiting for a CPU */
};

static int load_side(struct side *sd, char **paths, size_t n, const char *process,
		     const struct gt_convoy_opts *co, const char *what)
{
	char err[600];
	sd->runs = calloc(n, sizeof(*sd->runs));
	sd->n = n;
	if (!sd->runs) {
		gt_err("check: out of memory");
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		if (check_load(paths[i], process, co, &sd->runs[i], err, sizeof(err))) {
			gt_err("check: %s%s", what, err);
			return -1;
		}
		if (!sd->runs[i].split && !sd->unsplit) {
			sd->unsplit = 1;
			sd->note = sd->runs[i].split_note;
		}
	}
	return 0;
}

/* The medians, with CPU waits in (raw) or out. */
static void medians(struct side *sd, int raw)
{
	double *x = calloc(sd->n, sizeof(*x));
	if (!x)
		abort(); /* a handful of doubles */
	sd->raw = raw;
	for (size_t g = 0; g < NGATES; g++) {
		int use_raw = raw && gates[g].raw_key;
		for (size_t i = 0; i < sd->n; i++)
			x[i] = use_raw ? sd->runs[i].raw[g] : sd->runs[i].value[g];
		sd->v[g] = check_median(x, sd->n);
	}
	for (size_t i = 0; i < sd->n; i++)
		x[i] = sd->runs[i].cpu_wait_share;
	sd->cpu_share = check_median(x, sd->n);
	free(x);
}

/* What the table's reader must know besides it. */
static void notes(const struct side *cur, const struct side *base, int force_raw, const char *pre)
{
	int dropped = 0, incomplete = 0;
	for (size_t i = 0; i < cur->n; i++)
		dropped |= cur->runs[i].dropped, incomplete |= cur->runs[i].incomplete;
	if (dropped)
		printf("%swarning: events were dropped while recording; the metrics are lower "
		       "bounds\n",
		       pre);
	if (incomplete)
		printf("%swarning: a trace has no end record (the program was killed?)\n", pre);
	if (!force_raw && cur->unsplit)
		printf("%snote: waits were not split into waiting for the GIL and for a CPU (%s): "
		       "the metrics include CPU waits%s\n",
		       pre, cur->note, base ? " on both sides" : "");
	else if (!force_raw && base && base->unsplit)
		printf("%snote: the baseline's waits are not split (%s): it is compared with its "
		       "CPU waits in (docs/ci.md#busy-runners-and-baselines)\n",
		       pre, base->note);
	if (cur->cpu_share >= STARVED_SHARE &&
	    (!base || cur->cpu_share >= base->cpu_share + STARVED_SHARE / 2)) {
		char c[16], b[16];
		gt_fmt_percent(c, sizeof(c), cur->cpu_share);
		if (base)
			gt_fmt_percent(b, sizeof(b), base->cpu_share);
		printf("%snote: this run was CPU-starved: %s of its GIL waiting was waiting for a "
		       "CPU%s%s%s; %s\n",
		       pre, c, base ? " (the baseline: " : "", base ? b : "", base ? ")" : "",
		       cur->raw ? "the metrics include it" : "the gated metrics leave it out");
	}
	if (!base)
		return;
	/* Apples and oranges: a whole run against one process, or two
	 * different processes. */
	const char *bp = base->runs[0].proc, *cp = cur->runs[0].proc;
	if (strcmp(bp, cp))
		printf("%swarning: the baseline covers %s%s, this run %s%s\n", pre,
		       bp[0] ? "process " : "every process", bp, cp[0] ? "process " : "every process",
		       cp);
}

int cmd_check(int argc, char **argv)
{
	const char *process = NULL;
	char **paths = calloc((size_t)argc + 1, sizeof(*paths));
	char **bases = calloc((size_t)argc + 1, sizeof(*bases));
	size_t npaths = 0, nbases = 0;
	int markdown = 0, force_raw = 0;
	double max[CHECK_MAX_GATES], rel[CHECK_MAX_GATES], abs_tol[CHECK_MAX_GATES];
	int has_max[CHECK_MAX_GATES] = {0}, has_tol[CHECK_MAX_GATES] = {0};
	struct gt_convoy_opts co = GT_CONVOY_DEFAULTS;
	if (!paths || !bases) {
		gt_err("check: out of memory");
		return GT_EXIT_USAGE;
	}
	for (size_t g = 0; g < NGATES; g++)
		rel[g] = gates[g].rel, abs_tol[g] = gates[g].abs;
	/* --max-METRIC for every gate, then the fixed options. */
	enum {
		OPT_MARKDOWN = GT_OPT_FIRST_FREE,
		OPT_BASELINE,
		OPT_TOLERANCE,
		OPT_PROCESS,
		OPT_RAW,
		OPT_MAX
	};
	static char max_names[CHECK_MAX_GATES][48];
	static struct option longopts[CHECK_MAX_GATES + 10];
	size_t n = 0;
	for (size_t g = 0; g < NGATES; g++) {
		snprintf(max_names[g], sizeof(max_names[g]), "max-%s", gates[g].name);
		longopts[n++] = (struct option){max_names[g], required_argument, NULL,
						OPT_MAX + (int)g};
	}
	longopts[n++] = (struct option){"markdown", no_argument, NULL, OPT_MARKDOWN};
	longopts[n++] = (struct option){"baseline", required_argument, NULL, OPT_BASELINE};
	longopts[n++] = (struct option){"tolerance", required_argument, NULL, OPT_TOLERANCE};
	longopts[n++] = (struct option){"process", required_argument, NULL, OPT_PROCESS};
	longopts[n++] = (struct option){"raw", no_argument, NULL, OPT_RAW};
	longopts[n++] = (struct option){"help", no_argument, NULL, 'h'};
	const struct option convoy_opts[] = {GT_CONVOY_LONGOPTS};
	for (size_t k = 0; k < 3; k++)
		longopts[n++] = convoy_opts[k];
	longopts[n] = (struct option){NULL, 0, NULL, 0};
	opterr = 0;
	optind = 0;
	int opt;
	while ((opt = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
		int c = opt;
		int taken = gt_cli_convoy_option(c, optarg, &co);
		if (taken < 0)
			return GT_EXIT_USAGE;
		if (taken)
			continue;
		if (c >= OPT_MAX && c < OPT_MAX + (int)NGATES) {
			int g = c - OPT_MAX;
			int rc = check_parse_value(g, optarg, &max[g]);
			if (rc) {
				char what[64];
				snprintf(what, sizeof(what), "--max-%s", gates[g].name);
				check_bad_value(what, g, optarg, rc);
				return GT_EXIT_USAGE;
			}
			has_max[g] = 1;
		} else if (c == 'h') {
			gt_cli_help(check_usage);
			return GT_EXIT_OK;
		} else if (c == OPT_MARKDOWN) {
			markdown = 1;
		} else if (c == OPT_RAW) {
			force_raw = 1;
		} else if (c == OPT_BASELINE) {
			bases[nbases++] = optarg;
		} else if (c == OPT_PROCESS) {
			if (!optarg[0]) {
				gt_err("check: --process needs a pid or a name");
				return GT_EXIT_USAGE;
			}
			process = optarg;
		} else if (c == OPT_TOLERANCE) {
			if (check_parse_tolerance(optarg, rel, abs_tol, has_tol))
				return GT_EXIT_USAGE;
		} else {
			return gt_cli_bad_option("check", c, argv, longopts);
		}
	}
	for (int i = optind; i < argc; i++)
		paths[npaths++] = argv[i];
	int any_max = 0;
	for (size_t g = 0; g < NGATES; g++)
		any_max |= has_max[g];
	if (!npaths) {
		gt_err("check: no trace given (usage: giltrace check FILE --baseline BASE.json)");
		return GT_EXIT_USAGE;
	}
	if (!nbases && !any_max) {
		gt_err("check: nothing to check against: give --baseline or a --max-METRIC limit");
		return GT_EXIT_USAGE;
	}
	struct side base = {0}, cur = {0};
	if ((nbases && load_side(&base, bases, nbases, NULL, &co, "baseline ")) ||
	    load_side(&cur, paths, npaths, process, &co, ""))
		return GT_EXIT_USAGE;
	/* Like with like: CPU waits in on both sides if the current runs'
	 * are not split; an unsplit baseline alone is compared as it is. */
	medians(&cur, force_raw || cur.unsplit);
	if (nbases)
		medians(&base, force_raw || cur.unsplit || base.unsplit);
	const char *cur_proc = cur.runs[0].proc;

	int regressions = 0, missing = 0;
	char runs[80] = "";
	if (npaths > 1 || nbases > 1)
		snprintf(runs, sizeof(runs), " (medians: %zu run%s, %zu baseline%s)", npaths,
			 npaths > 1 ? "s" : "", nbases, nbases == 1 ? "" : "s");
	if (markdown)
		fputs("| metric | baseline | current | change | limit | verdict |\n"
		      "|---|---:|---:|---:|---:|---|\n",
		      stdout);
	else
		printf("giltrace check: %s%s%s%s%s%s%s%s\n\n  %-24s %10s %10s %9s %10s  %s\n",
		       paths[0], npaths > 1 ? " ..." : "", cur_proc[0] ? ", process " : "", cur_proc,
		       nbases ? " against " : "", nbases ? bases[0] : "", nbases > 1 ? " ..." : "", runs,
		       "METRIC", "BASELINE",
		       "CURRENT", "CHANGE", "LIMIT", "VERDICT");
	for (size_t g = 0; g < NGATES; g++) {
		char b[32] = "-", c[32], ch[32] = "-", lim[32] = "-";
		const char *verdict = "ok";
		double limit = INFINITY;
		/* The raw-* gates are not shown unless asked for. */
		if (gates[g].opt_in && !strncmp(gates[g].name, "raw-", 4) && !has_tol[g] &&
		    !has_max[g])
			continue;
		check_show(c, sizeof(c), (int)g, cur.v[g]);
		if (isnan(cur.v[g]) || (nbases && isnan(base.v[g]) && !has_max[g])) {
			/* A JSON of an older giltrace, without this metric. */
			if (nbases && !isnan(base.v[g]))
				check_show(b, sizeof(b), (int)g, base.v[g]);
			missing++;
			row(markdown, gates[g].name, b, isnan(cur.v[g]) ? "-" : c, "-", "-", "n/a");
			continue;
		}
		if (nbases && !isnan(base.v[g])) {
			check_show(b, sizeof(b), (int)g, base.v[g]);
			if (base.v[g] > 0)
				snprintf(ch, sizeof(ch), "%+.0f%%", (cur.v[g] / base.v[g] - 1) * 100);
			else if (cur.v[g] > 0)
				snprintf(ch, sizeof(ch), "new");
			else
				snprintf(ch, sizeof(ch), "0");
		}
		if (nbases && !isnan(base.v[g]) && (!gates[g].opt_in || has_tol[g])) {
			double allowed = fmax(abs_tol[g], rel[g] * base.v[g]);
			limit = base.v[g] + allowed;
			if (cur.v[g] < base.v[g] - allowed)
				verdict = "better";
		} else if (nbases && !has_max[g]) {
			verdict = "info";
		}
		if (has_max[g] && max[g] < limit)
			limit = max[g];
		if (isfinite(limit))
			check_show(lim, sizeof(lim), (int)g, limit);
		if (cur.v[g] > limit) {
			verdict = "REGRESSION";
			regressions++;
		}
		/* Which version of the metric was compared, when not the usual. */
		char name[48];
		snprintf(name, sizeof(name), "%s%s", gates[g].name,
			 gates[g].raw_key && cur.raw ? " (raw)" : "");
		row(markdown, name, b, c, ch, lim, verdict);
	}
	const char *pre = markdown ? "\n" : "\n  ";
	if (missing)
		printf("%snote: n/a: a JSON of an older giltrace lacks the metric: not compared "
		       "(re-record the baseline)\n",
		       pre);
	notes(&cur, nbases ? &base : NULL, force_raw, pre);
	printf("%s%s\n", pre,
	       regressions ? "GIL contention regressed (see docs/ci.md)" : "within limits");
	fflush(stdout);
	free(cur.runs);
	free(base.runs);
	free(paths);
	free(bases);
	return regressions ? GT_EXIT_REGRESSION : GT_EXIT_OK;
}
