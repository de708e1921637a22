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
#include "report.h"
#include "run_writer.h"

static const char run_usage[] =
	"usage: giltrace run [-o FILE] [-q] [--no-report] [--children] [--] CMD [ARGS...]\n"
	"\n"
	"Runs CMD with giltrace's LD_PRELOAD recorder and writes a Perfetto trace of\n"
	"every GIL wait, hold and handoff, then prints a summary on stderr.\n"
	"\n"
	"  -o, --output FILE  trace file (default: giltrace-<pid>.pftrace); a %p in\n"
	"                     it becomes the pid\n"
	"  -q, --quiet        print only the trace's path, not the summary\n"
	"      --no-report    only record: do not read the trace back for the summary\n"
	"                     and the convoy tracks (for long runs; giltrace report\n"
	"                     --annotate FILE adds them later)\n"
	"      --children     also trace programs CMD executes (each gets its own\n"
	"                     FILE.<pid>.pftrace); fork()ed children always are\n"
	"  -h, --help         this help\n"
	"\n"
	"Convoy episodes found in the trace are written into it as tracks.\n" GT_CONVOY_USAGE
	"\n"
	"Exit status: CMD's own (128+N if signal N ended it); 2 if giltrace could not\n"
	"run it.\n";

static pid_t child = -1;
static struct run_writer writer;

static void on_child(int sig)
{
	(void)sig;
	run_writer_poke(&writer);
}

/* Pass signals on, except the ones the terminal already sent the child
 * (same process group): those arrive with si_code SI_KERNEL. */
static void forward(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	if (child > 0 && !(si && si->si_code == SI_KERNEL && (sig == SIGINT || sig == SIGQUIT)))
		kill(child, sig);
}

/* libgiltrace.so beside this executable, or under its install prefix. */
static int find_library(char *out, size_t n)
{
	const char *env = getenv("GILTRACE_LIB");
	if (env && *env) {
		if (access(env, R_OK)) {
			gt_err("GILTRACE_LIB=%s: %s", env, strerror(errno));
			return -1;
		}
		snprintf(out, n, "%s", env);
		return 0;
	}
	char exe[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (len <= 0) {
		gt_err("cannot find my own executable: %s", strerror(errno));
		return -1;
	}
	exe[len] = 0;
	char *slash = strrchr(exe, '/');
	if (slash)
		*slash = 0;
	static const char *const places[] = {"%s/libgiltrace.so", "%s/../lib/giltrace/libgiltrace.so",
					     "%s/../lib/libgiltrace.so"};
	for (size_t i = 0; i < sizeof(places) / sizeof(places[0]); i++) {
		char cand[PATH_MAX + 64];
		snprintf(cand, sizeof(cand), places[i], exe);
		if (!access(cand, R_OK) && realpath(cand, out))
			return 0;
	}
	gt_err("cannot find libgiltrace.so next to %s or in ../lib/giltrace (set GILTRACE_LIB)",
	       exe);
	return -1;
}

/* Fails early, with the reason, if the trace could not be written. */
static int check_output(const char *path)
{
	if (strstr(path, "%p")) {
		char dir[PATH_MAX];
		snprintf(dir, sizeof(dir), "%s", path);
		char *slash = strrchr(dir, '/');
		if (slash)
			*slash = 0;
		else
			snprintf(dir, sizeof(dir), ".");
		if (access(dir, W_OK)) {
			gt_err("cannot write a trace in %s: %s", dir, strerror(errno));
			return -1;
		}
		return 0;
	}
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0) {
		gt_err("cannot write %s: %s", path, strerror(errno));
		return -1;
	}
	close(fd);
	/* The recorder creates it again with O_EXCL: if the file exists once
	 * more, the traced process exec()ed itself and must not overwrite it. */
	unlink(path);
	return 0;
}

static void expand_pid(const char *tmpl, pid_t pid, char *out, size_t n)
{
	size_t o = 0;
	for (const char *p = tmpl; *p && o + 12 < n; p++) {
		if (p[0] == '%' && p[1] == 'p') {
			o += (size_t)snprintf(out + o, n - o, "%d", (int)pid);
			p++;
		} else if (p[0] == '%' && p[1] == '%') {
			out[o++] = '%';
			p++;
		} else {
			out[o++] = *p;
		}
	}
	out[o] = 0;
}

/* Traces of fork()ed children: <stem>.<pid>.pftrace next to the main one. */
static void list_children(const char *path)
{
	char dir[PATH_MAX], stem[PATH_MAX];
	snprintf(dir, sizeof(dir), "%s", path);
	char *slash = strrchr(dir, '/');
	const char *base = slash ? slash + 1 : path;
	if (slash)
		*slash = 0;
	else
		snprintf(dir, sizeof(dir), ".");
	snprintf(stem, sizeof(stem), "%s", base);
	char *dot = strrchr(stem, '.');
	if (dot)
		*dot = 0;
	DIR *d = opendir(dir);
	if (!d)
		return;
	struct dirent *e;
	size_t stem_len = strlen(stem);
	while ((e = readdir(d))) {
		const char *n = e->d_name;
		if (strncmp(n, stem, stem_len) || n[stem_len] != '.' || !strcmp(n, base))
			continue;
		const char *p = n + stem_len + 1;
		if (*p < '0' || *p > '9')
			continue;
		while (*p >= '0' && *p <= '9')
			p++;
		if (strcmp(p, dot ? base + (dot - stem) : ""))
			continue;
		fprintf(stderr, "giltrace: a child process's trace: %s/%s\n", dir, n);
	}
	closedir(d);
}

int cmd_run(int argc, char **argv)
{
	const char *output = NULL;
	int quiet = 0, no_report = 0, children = 0, i;
	struct gt_convoy_opts convoy = GT_CONVOY_DEFAULTS;
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];
		int c = gt_cli_convoy_option(argc, argv, &i, &convoy);
		if (c < 0)
			return GT_EXIT_USAGE;
		if (c)
			continue;
		if (!strcmp(a, "--")) {
			i++;
			break;
		}
		if (a[0] != '-')
			break;
		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(run_usage, stdout);
			return GT_EXIT_OK;
		} else if (!strcmp(a, "-q") || !strcmp(a, "--quiet")) {
			quiet = 1;
		} else if (!strcmp(a, "--no-report")) {
			no_report = 1;
		} else if (!strcmp(a, "--children")) {
			children = 1;
		} else if (!strcmp(a, "-o") || !strcmp(a, "--output")) {
			if (i + 1 >= argc || !argv[i + 1][0]) {
				gt_err("run: %s needs a file name", a);
				return GT_EXIT_USAGE;
			}
			output = argv[++i];
		} else if (!strncmp(a, "--output=", 9) && a[9]) {
			output = a + 9;
		} else {
			gt_err("run: unknown option '%s' (see giltrace run --help)", a);
			return GT_EXIT_USAGE;
		}
	}
	if (i >= argc) {
		gt_err("run: no command given (usage: giltrace run [-o FILE] [-q] -- CMD [ARGS...])");
		return GT_EXIT_USAGE;
	}
	char lib[PATH_MAX];
	if (find_library(lib, sizeof(lib)))
		return GT_EXIT_USAGE;
	const char *tmpl = output ? output : "giltrace-%p.pftrace";
	if (check_output(tmpl))
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
	int rc = run_writer_create(&writer);
	if (rc) {
		gt_err("cannot create the trace buffers: %s", strerror(-rc));
		return GT_EXIT_USAGE;
	}
	/* The child waits on this pipe until the trace file exists (its name
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

	child = fork();
	if (child < 0) {
		gt_err("cannot fork: %s", strerror(errno));
		return GT_EXIT_USAGE;
	}
	if (child == 0) {
		char pid[16], byte;
		close(sync[1]);
		while (read(sync[0], &byte, 1) < 0 && errno == EINTR)
			;
		snprintf(pid, sizeof(pid), "%d", (int)getpid());
		setenv("LD_PRELOAD", preload, 1);
		setenv("GILTRACE_OUTPUT", tmpl, 1);
		setenv("GILTRACE_ROOT_PID", pid, 1);
		if (children)
			setenv("GILTRACE_CHILDREN", "1", 1);
		run_writer_child(&writer);
		sigprocmask(SIG_SETMASK, &old_mask, NULL);
		execvp(argv[i], argv + i);
		int err = errno;
		fprintf(stderr, "giltrace: cannot run %s: %s\n", argv[i], strerror(err));
		_exit(err == ENOENT ? 127 : 126);
	}
	free(preload);
	char path[PATH_MAX];
	expand_pid(tmpl, child, path, sizeof(path));
	/* Created now, before the child runs: a second image of the same
	 * process (exec of itself) then finds it taken and writes its own. */
	int out = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (out < 0) {
		gt_err("cannot write %s: %s", path, strerror(errno));
		kill(child, SIGKILL);
		waitpid(child, NULL, 0);
		return GT_EXIT_USAGE;
	}
	run_writer_output(&writer, out, path);
	close(sync[0]);
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
	sigprocmask(SIG_SETMASK, &old_mask, NULL);

	int status = -1;
	run_writer_run(&writer, child, &status);
	while (status == -1 && waitpid(child, &status, 0) < 0) {
		if (errno != EINTR) {
			gt_err("waiting for %s: %s", argv[i], strerror(errno));
			return GT_EXIT_USAGE;
		}
		status = -1;
	}
	rc = WIFEXITED(status) ? WEXITSTATUS(status)
			       : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : GT_EXIT_USAGE;

	if (!writer.finished) {
		/* A free-threading build or a 3.6 that never started a thread
		 * said so above; anything else was not CPython. */
		unlink(path);
		gt_err("no trace was written to %s: no CPython process with a GIL ran", path);
		return rc;
	}
	if (writer.result.error) {
		gt_err("writing %s failed: %s; the trace is incomplete", path,
		       strerror(writer.result.error));
		return rc;
	}
	if (writer.result.dropped)
		gt_err("%llu of %llu GIL events were dropped (a ring was full or no ring was "
		       "free); see GILTRACE_RING_EVENTS and GILTRACE_MAX_THREADS",
		       (unsigned long long)writer.result.dropped,
		       (unsigned long long)(writer.result.dropped + writer.result.events));
	fprintf(stderr, "giltrace: trace written to %s (open it in https://ui.perfetto.dev)\n",
		path);
	list_children(path);
	if (no_report)
		return rc;
	/* The convoys go into the trace, and the summary is the report's. */
	struct gt_metrics m;
	struct gt_summary sum;
	char err[512];
	if (gt_report_load(path, &m, &convoy, 1, err, sizeof(err)) || gt_summarize(&m, &sum)) {
		gt_err("%s: %s", path, err);
		gt_metrics_free(&m);
		return rc;
	}
	if (gt_report_annotate(path, &m, err, sizeof(err)) < 0)
		gt_err("%s", err);
	if (!quiet) {
		struct gt_report_opts o = {.trace_path = path, .top = 20};
		gt_report_text(stderr, &m, &sum, &o);
	}
	gt_summary_free(&sum);
	gt_metrics_free(&m);
	return rc;
}
