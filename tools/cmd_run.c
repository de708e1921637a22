/* SPDX-License-Identifier: MIT */
/*
 * cmd_run.c — `giltrace run`: run a command with the preload recorder.
 *
 * The command runs as our child with libgiltrace.so appended to LD_PRELOAD
 * (entries already there keep their place, so an ASan runtime stays first).
 * Signals sent to giltrace are passed on; the terminal's own SIGINT/SIGQUIT
 * already reach the child through the process group. giltrace exits with the
 * command's status (128+N if a signal N killed it), then prints the summary
 * on stderr so the command's stdout stays its own.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "format.h"
#include "gt_procfs.h"
#include "run_summary.h"

static const char run_usage[] =
	"usage: giltrace run [-o FILE] [-q] [--no-report] [--no-children] [--progress]\n"
	"                    [--keep DURATION] [--max-size SIZE] [--] CMD [ARGS...]\n"
	"\n"
	"Runs CMD with giltrace's LD_PRELOAD recorder and writes a Perfetto trace of\n"
	"every GIL wait, hold and handoff, then prints a summary on stderr.\n"
	"\n"
	"  -o, --output FILE  trace file (default: giltrace-<pid>.pftrace); a %p in\n"
	"                     it becomes the pid. A regular file (created or\n"
	"                     truncated), a FIFO being read, or a device such as\n"
	"                     /dev/null (then no summary); never replaced\n"
	"  -q, --quiet        print one line, the trace's path (and how many\n"
	"                     processes it holds), not the summary\n"
	"      --no-report    only record: no summary and no convoy tracks (giltrace\n"
	"                     report --annotate FILE adds them later); the summary is\n"
	"                     read as the trace is written, so it costs the command\n"
	"                     next to nothing either way\n"
	"      --no-children  trace only CMD's own process and the children it\n"
	"                     fork()s, not the programs they execute. By default every\n"
	"                     CPython process CMD starts is traced (fork, spawn,\n"
	"                     forkserver, subprocess, through shell scripts), all in\n"
	"                     FILE, each under its own pid (--children is accepted)\n"
	"      --progress     a status line on stderr while CMD runs: time, events,\n"
	"                     trace size, processes, drops (redrawn each second on a\n"
	"                     terminal, where CMD's own output may overwrite it; a\n"
	"                     line every 10 s elsewhere)\n"
	"      --keep DURATION  keep only the last DURATION of the run in FILE (e.g.\n"
	"                     10m, 2h; at least 4s): the trace is written in parts\n"
	"                     beside FILE and the older ones dropped, so a service can\n"
	"                     run under giltrace all day. FILE covers DURATION to a\n"
	"                     quarter more, and is written when CMD ends\n"
	"      --max-size SIZE  keep FILE under SIZE (e.g. 500M, 2G; at least 1M): the\n"
	"                     oldest parts go first, as with --keep (both may be given:\n"
	"                     the tighter wins)\n"
	"  -h, --help         this help\n"
	"\n"
	"Convoy episodes found in the trace are written into it as tracks.\n" GT_CONVOY_USAGE
	"\n"
	"Exit status: CMD's own (128+N if signal N ended it); 2 if giltrace could not\n"
	"run it or cannot write FILE (said before CMD starts).\n";

static pid_t child = -1;
static struct run_writer writer;

static void on_child(int sig)
{
	(void)sig;
	run_writer_poke(&writer);
}

/* Is pid the command or one of its descendants? (Async-signal-safe: read
 * and parse /proc/PID/stat up the parent chain.) */
static int in_the_run(pid_t pid)
{
	for (int depth = 0; depth < 64 && pid > 1 && pid != getpid(); depth++) {
		if (pid == child)
			return 1;
		char path[48];
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
		pid = (pid_t)gt_procfs_stat_number(path, 4); /* the parent */
	}
	return 0;
}

/* Pass signals on to the command, except those that reached it already:
 * the terminal's (Ctrl-C, Ctrl-\\, a hangup: sent by the kernel to the whole
 * foreground process group, the command's too), and those the command or
 * a descendant sent (killpg(0, ...) reaches us as a member of its group).
 * A signal someone else sends to the whole group (kill -- -PGID) cannot be
 * told from one sent to giltrace alone; docs/design.md says what to do. */
static void forward(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	int saved = errno;
	if (child > 0 && !(si && si->si_code == SI_KERNEL) &&
	    !(si && si->si_code == SI_USER && in_the_run(si->si_pid)))
		kill(child, sig);
	errno = saved;
}

/* libgiltrace.so beside this executable, or under its install prefix. */
static int find_library(char *out)
{
	const char *env = getenv("GILTRACE_LIB");
	if (env && *env) {
		if (access(env, R_OK)) {
			gt_err("GILTRACE_LIB=%s: %s", env, strerror(errno));
			return -1;
		}
		snprintf(out, PATH_MAX, "%s", env);
		return 0;
	}
	static const char *const places[] = {"%s/libgiltrace.so", "%s/../lib/giltrace/libgiltrace.so",
					     "%s/../lib/libgiltrace.so"};
	char exe[PATH_MAX];
	if (gt_cli_exe_dir(exe, sizeof(exe))) {
		gt_err("cannot find my own executable: %s", strerror(errno));
		return -1;
	}
	if (!gt_cli_find_beside(places, sizeof(places) / sizeof(places[0]), out))
		return 0;
	gt_err("cannot find libgiltrace.so next to %s or in ../lib/giltrace (set GILTRACE_LIB)",
	       exe);
	return -1;
}

/* --keep's value: a duration with its unit, long enough for parts. Here
 * "10m" can only mean minutes (elsewhere a duration is of waits, where it
 * could be a mistyped "ms", and is refused). */
static int parse_keep(const char *s, uint64_t *ns)
{
	double sec;
	char minutes[64];
	const char *v = s;
	size_t n = strlen(s);
	if (n > 1 && n < sizeof(minutes) - 3 && s[n - 1] == 'm' &&
	    ((s[n - 2] >= '0' && s[n - 2] <= '9') || s[n - 2] == '.')) {
		snprintf(minutes, sizeof(minutes), "%sin", s);
		v = minutes;
	}
	int rc = gt_parse_duration(v, &sec);
	if (rc == GT_PARSE_NO_UNIT)
		gt_err("run: --keep %s has no unit: write %ss, %sm or %sh", s, s, s, s);
	else if (rc || sec > 1e9)
		gt_err("run: --keep needs a duration, e.g. 10m or 2h (got '%s')", s);
	else if (sec * 1e9 < (double)RUN_RING_MIN_NS)
		gt_err("run: --keep %s is too short: at least %llus", s,
		       (unsigned long long)(RUN_RING_MIN_NS / 1000000000ull));
	else {
		*ns = (uint64_t)(sec * 1e9);
		return 0;
	}
	return -1;
}

static int parse_max_size(const char *s, uint64_t *bytes)
{
	int rc = gt_parse_size(s, bytes);
	if (rc == GT_PARSE_NO_UNIT)
		gt_err("run: --max-size %s has no unit: write %sM or %sG", s, s, s);
	else if (rc)
		gt_err("run: --max-size needs a size, e.g. 500M or 2G (got '%s')", s);
	else if (*bytes < RUN_RING_MIN_BYTES)
		gt_err("run: --max-size %s is too small: at least 1M", s);
	else
		return 0;
	return -1;
}

int cmd_run(int argc, char **argv)
{
	const char *output = NULL;
	int quiet = 0, no_report = 0, children = 1, progress = 0, c;
	uint64_t keep_ns = 0, max_bytes = 0;
	struct gt_convoy_opts convoy = GT_CONVOY_DEFAULTS;
	enum { OPT_NO_REPORT = GT_OPT_FIRST_FREE, OPT_CHILDREN, OPT_NO_CHILDREN, OPT_PROGRESS,
	       OPT_KEEP, OPT_MAX_SIZE };
	static const struct option longopts[] = {
		{"output", required_argument, NULL, 'o'},
		{"quiet", no_argument, NULL, 'q'},
		{"no-report", no_argument, NULL, OPT_NO_REPORT},
		{"children", no_argument, NULL, OPT_CHILDREN},
		{"no-children", no_argument, NULL, OPT_NO_CHILDREN},
		{"progress", no_argument, NULL, OPT_PROGRESS},
		{"keep", required_argument, NULL, OPT_KEEP},
		{"max-size", required_argument, NULL, OPT_MAX_SIZE},
		{"help", no_argument, NULL, 'h'},
		GT_CONVOY_LONGOPTS,
		{NULL, 0, NULL, 0},
	};
	/* "+": the command's own options are not ours, so parsing stops at
	 * the first word that is not an option ("--" is optional). */
	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, "+:o:qh", longopts, NULL)) != -1) {
		int taken = gt_cli_convoy_option(c, optarg, &convoy);
		if (taken < 0)
			return GT_EXIT_USAGE;
		if (taken)
			continue;
		switch (c) {
		case 'h':
			gt_cli_help(run_usage);
			return GT_EXIT_OK;
		case 'q':
			quiet = 1;
			break;
		case OPT_NO_REPORT:
			no_report = 1;
			break;
		case OPT_PROGRESS:
			progress = 1;
			break;
		case OPT_NO_CHILDREN:
			children = 0;
			break;
		case OPT_KEEP:
			if (parse_keep(optarg, &keep_ns))
				return GT_EXIT_USAGE;
			break;
		case OPT_MAX_SIZE:
			if (parse_max_size(optarg, &max_bytes))
				return GT_EXIT_USAGE;
			break;
		case OPT_CHILDREN:
			children = 1;
			break;
		case 'o':
			if (!optarg[0]) {
				gt_err("run: -o needs a file name");
				return GT_EXIT_USAGE;
			}
			output = optarg;
			break;
		default:
			return gt_cli_bad_option("run", c, argv, longopts);
		}
	}
	int i = optind;
	if (i >= argc) {
		gt_err("run: no command given (usage: giltrace run [-o FILE] [-q] -- CMD [ARGS...])");
		return GT_EXIT_USAGE;
	}
	char lib[PATH_MAX];
	if (find_library(lib))
		return GT_EXIT_USAGE;
	struct run_output out;
	if (run_output_prepare(&out, output ? output : "giltrace-%p.pftrace"))
		return GT_EXIT_USAGE;

	const char *old = getenv("LD_PRELOAD");
	char *preload;
	if (old && *old) {
		if (asprintf(&preload, "%s:%s", old, lib) < 0)
			return GT_EXIT_USAGE;
	} else {
		preload = strdup(lib);
	}
	if (!preload) {
		gt_err("out of memory");
		return GT_EXIT_USAGE;
	}
	if (run_writer_create(&writer, &out)) {
		run_output_discard_root(&out);
		return GT_EXIT_USAGE;
	}
	if ((keep_ns || max_bytes) && run_writer_keep(&writer, keep_ns, max_bytes)) {
		run_output_discard_root(&out); /* created a moment ago, empty */
		return GT_EXIT_USAGE;
	}
	struct streamed streamed = {.st = NULL};
	if (!no_report)
		run_stream_start(&streamed, &writer, &convoy);
	/* The child waits on this pipe until its trace file exists (its name
	 * may hold the child's pid). */
	int sync[2];
	if (pipe2(sync, O_CLOEXEC)) {
		gt_err("cannot create a pipe: %s", strerror(errno));
		return GT_EXIT_USAGE;
	}
	/* Block the signals we forward until the child's pid is known. */
	sigset_t fwd, old_mask;
	sigemptyset(&fwd);
	int fwd_sigs[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2};
	for (size_t s = 0; s < sizeof(fwd_sigs) / sizeof(fwd_sigs[0]); s++)
		sigaddset(&fwd, fwd_sigs[s]);
	sigaddset(&fwd, SIGCHLD);
	sigprocmask(SIG_BLOCK, &fwd, &old_mask);

	pid_t me = getpid();
	child = fork();
	if (child < 0) {
		gt_err("cannot fork: %s", strerror(errno));
		return GT_EXIT_USAGE;
	}
	if (child == 0) {
		char pid[16], byte;
		close(sync[1]);
		if (read(sync[0], &byte, 1) != 1)
			_exit(GT_EXIT_USAGE); /* giltrace could not open the trace */
		snprintf(pid, sizeof(pid), "%d", (int)getpid());
		setenv("LD_PRELOAD", preload, 1);
		/* Only a process that cannot join the session writes its own
		 * trace with it; absolute, as every name of the run. */
		setenv("GILTRACE_OUTPUT", out.tmpl, 1);
		setenv("GILTRACE_ROOT_PID", pid, 1);
		if (children)
			setenv("GILTRACE_CHILDREN", "1", 1);
		run_writer_child_env(&writer, me);
		sigprocmask(SIG_SETMASK, &old_mask, NULL);
		execvp(argv[i], argv + i);
		int err = errno;
		fprintf(stderr, "giltrace: cannot run %s: %s\n", argv[i], strerror(err));
		_exit(err == ENOENT ? 127 : 126);
	}
	free(preload);
	close(sync[0]);
	if (run_output_open_root(&out, child)) {
		close(sync[1]);
		waitpid(child, NULL, 0);
		return GT_EXIT_USAGE;
	}
	if (write(sync[1], "", 1) != 1)
		gt_err("cannot start %s: %s", argv[i], strerror(errno));
	close(sync[1]);

	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = forward;
	sa.sa_flags = SA_SIGINFO | SA_RESTART;
	for (size_t s = 0; s < sizeof(fwd_sigs) / sizeof(fwd_sigs[0]); s++)
		sigaction(fwd_sigs[s], &sa, NULL);
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_child;
	sa.sa_flags = SA_NOCLDSTOP;
	sigaction(SIGCHLD, &sa, NULL);
	/* A reader of our stderr or of the FIFO we write may go away (| head):
	 * that must not end giltrace before the command, whose exit status
	 * we owe. (The command was forked with the default disposition.) */
	signal(SIGPIPE, SIG_IGN);
	sigprocmask(SIG_SETMASK, &old_mask, NULL);

	int status = -1;
	struct run_progress_line line = {0};
	if (progress)
		run_progress_start(&line, &writer);
	run_writer_run(&writer, child, &status);
	run_progress_end(&line);
	int rc = status == -1		 ? GT_EXIT_USAGE
		 : WIFEXITED(status)	 ? WEXITSTATUS(status)
		 : WIFSIGNALED(status) ? 128 + WTERMSIG(status)
					 : GT_EXIT_USAGE;
	struct run_report_opts ro = {quiet, no_report, children, convoy};
	rc = run_report(&writer, &out, &ro, &streamed, rc);
	if (streamed.st) /* not needed after all (no root trace, not a file) */
		gt_rd_stream_end(streamed.st);
	gt_metrics_free(&streamed.m);
	run_writer_free(&writer);
	run_output_free(&out);
	return rc;
}
