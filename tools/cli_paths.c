/* SPDX-License-Identifier: MIT */
/*
 * cli_paths.c — where giltrace's own files are, found from its executable:
 * the recorder library (for run) and the documentation its messages point
 * at, whether giltrace runs from its build tree or from an install prefix.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

int gt_cli_exe_dir(char *out, size_t n)
{
	char exe[PATH_MAX];
	ssize_t len = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (len <= 0)
		return -1;
	exe[len] = 0;
	char *slash = strrchr(exe, '/');
	if (slash)
		*slash = 0;
	snprintf(out, n, "%s", exe);
	return 0;
}

/* The first of places (each a format taking the executable's directory)
 * that exists, resolved, into out; -1 if none does. */
int gt_cli_find_beside(const char *const *places, size_t nplaces, char *out)
{
	char dir[PATH_MAX];
	if (gt_cli_exe_dir(dir, sizeof(dir)))
		return -1;
	for (size_t i = 0; i < nplaces; i++) {
		char cand[PATH_MAX + 64];
		snprintf(cand, sizeof(cand), places[i], dir);
		if (!access(cand, R_OK) && realpath(cand, out))
			return 0;
	}
	return -1;
}

const char *gt_cli_docs(void)
{
	/* Installed (make install: share/doc/giltrace), or the source tree's
	 * docs/ beside the build directory. GILTRACE_DOCS says it instead
	 * (install time: the man pages name where the docs will be). */
	static const char *const places[] = {"%s/../share/doc/giltrace/metrics.md",
					     "%s/../docs/metrics.md"};
	static char dir[PATH_MAX];
	const char *env = getenv("GILTRACE_DOCS");
	if (env && *env)
		return env;
	if (!dir[0]) {
		if (gt_cli_find_beside(places, sizeof(places) / sizeof(places[0]), dir))
			snprintf(dir, sizeof(dir), "docs/metrics.md");
		char *slash = strrchr(dir, '/');
		*slash = 0;
	}
	return dir;
}

void gt_cli_help(const char *text)
{
	const char *docs = gt_cli_docs();
	for (const char *p; (p = strstr(text, "docs/"));) {
		fwrite(text, 1, (size_t)(p - text), stdout);
		printf("%s/", docs);
		text = p + 5;
	}
	fputs(text, stdout);
}
