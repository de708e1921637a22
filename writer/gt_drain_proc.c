/* SPDX-License-Identifier: MIT */
/*
 * gt_drain_proc.c — what the drain learns about the traced process for its
 * trace: thread and process names and the whole command line from /proc,
 * the words for how each GIL was identified, and its start and end
 * records.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gt_drain_internal.h"
#include "gt_procfs.h"

/* Reads a small /proc file of the traced process; "" if it is gone. */
static ssize_t read_proc(const struct gt_drain *d, const char *what, char *out, size_t size)
{
	char path[96];
	snprintf(path, sizeof(path), "/proc/%u/%s", d->pid, what);
	ssize_t n = gt_procfs_read(path, out, size);
	if (n < 0)
		out[0] = 0;
	return n < 0 ? 0 : n;
}

void gt_drain_read_comm(const struct gt_drain *d, uint32_t tid, char out[16])
{
	char what[48];
	snprintf(what, sizeof(what), "task/%u/comm", tid);
	read_proc(d, what, out, 16);
	char *nl = strchr(out, '\n');
	if (nl)
		*nl = 0;
}

/* The traced process's whole command line (NUL-separated), however long:
 * malloc'd, NULL if unreadable. Once per trace. */
static char *read_cmdline(const struct gt_drain *d, size_t *len)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%u/cmdline", d->pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	size_t cap = 4096, n = 0;
	char *buf = malloc(cap + 1);
	while (buf) {
		if (n == cap) {
			char *bigger = realloc(buf, 2 * cap + 1);
			if (!bigger) {
				free(buf);
				buf = NULL;
				break;
			}
			buf = bigger;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (buf)
		buf[n] = 0;
	*len = n;
	return buf;
}

void gt_drain_start_trace(struct gt_drain *d, uint64_t ts)
{
	char name[16];
	gt_drain_read_comm(d, d->pid, name);
	size_t n = 0;
	char *cmdline = read_cmdline(d, &n);
	int argc = 0;
	for (size_t i = 0; cmdline && i < n; i += strlen(cmdline + i) + 1)
		argc++;
	const char **argv = argc ? malloc((size_t)argc * sizeof(*argv)) : NULL;
	argc = 0;
	for (size_t i = 0; argv && i < n; i += strlen(cmdline + i) + 1)
		argv[argc++] = cmdline + i;
	gt_enc_process(&d->enc, ts, name, argv, argc);
	free(argv);
	free(cmdline);
}

void gt_drain_describe_method(uint32_t method, char *out, unsigned long size)
{
	static const struct {
		uint32_t bit;
		const char *words;
	} parts[] = {
		{GT_ID_INIT_SEQUENCE, "create_gil init sequence from the interpreter"},
		{GT_ID_CALLER, "timed wait from the interpreter"},
		{GT_ID_STRUCT, "struct layout"},
		{GT_ID_RUNTIME, "_PyRuntime offsets"},
		{GT_ID_DEBUG_OFFSETS, "_Py_DebugOffsets"},
		{GT_ID_INTERP, "interp->ceval.gil"},
		{GT_ID_MISMATCH, "LAYOUT MISMATCH (observed objects used)"},
	};
	size_t n = 0;
	out[0] = 0;
	for (size_t i = 0; i < sizeof(parts) / sizeof(parts[0]); i++) {
		if (!(method & parts[i].bit))
			continue;
		int w = snprintf(out + n, size - n, "%s%s", n ? " + " : "", parts[i].words);
		if (w < 0 || (size_t)w >= size - n)
			break;
		n += (size_t)w;
	}
}

void gt_drain_describe_gils(const struct gt_drain *d, char *out, size_t size)
{
	const struct gt_shm_proc *e = gt_drain_entry(d);
	unsigned n = atomic_load_explicit(&e->ngils, memory_order_acquire);
	size_t len = 0;
	out[0] = 0;
	for (unsigned i = 0; i < n && len < size; i++) {
		char how[GT_METHOD_TEXT_MAX];
		gt_drain_describe_method(e->gils[i].method, how, sizeof(how));
		int w = snprintf(out + len, size - len, "%sGIL %u (interp %lld): %s", i ? "; " : "",
				 i, (long long)e->gils[i].interp_id, how);
		if (w < 0)
			break;
		len += (size_t)w;
	}
}

/* What the end record says of the split of waits (gt_shm.h, enum
 * gt_cpu_split), into buf; "" when no wait asked for it. */
static const char *cpu_split_text(const struct gt_shm_proc *p, char *buf, size_t n)
{
	uint32_t err = atomic_load_explicit(&p->cpu_split_errno, memory_order_relaxed);
	const char *name = err ? strerrorname_np((int)err) : NULL;
	switch (atomic_load_explicit(&p->cpu_split, memory_order_acquire)) {
	case GT_CPU_SPLIT_ON:
		return "on";
	case GT_CPU_SPLIT_OFF:
		return "off: GILTRACE_CPU_SPLIT=0";
	case GT_CPU_SPLIT_MISSING:
		snprintf(buf, n, "unavailable: no /proc/<tid>/schedstat (%s)", name ? name : "?");
		return buf;
	case GT_CPU_SPLIT_NOT_COUNTED:
		return "unavailable: the kernel does not count run delays (schedstat is 0 0 0)";
	case GT_CPU_SPLIT_FAILED:
		snprintf(buf, n, "stopped: reading /proc/<tid>/schedstat failed (%s)",
			 name ? name : "?");
		return buf;
	default:
		return "";
	}
}

void gt_drain_write_meta(struct gt_drain *d, uint64_t ts, int final, uint64_t run_start)
{
	char split[128];
	/* Room for every GIL's description: never cut short. */
	char method[GT_MAX_GILS * (48 + GT_METHOD_TEXT_MAX)];
	char version[sizeof(gt_drain_entry(d)->python_version)];
	gt_drain_describe_gils(d, method, sizeof(method));
	memcpy(version, gt_drain_entry(d)->python_version, sizeof(version));
	version[sizeof(version) - 1] = 0;
	struct gt_enc_meta m = {
		.python_version = version,
		.gil_method = method,
		.recorder = d->recorder == GT_RECORDER_BPF ? "bpf" : "preload",
		.clock = d->use_tsc ? "tsc" : "boottime",
		.events = d->events,
		.events_dropped = final ? gt_drain_dropped(d) : 0,
		.threads = d->nthreads,
		.gils_untraced = atomic_load(&gt_drain_entry(d)->gils_untraced),
		.cpu_split = cpu_split_text(gt_drain_entry(d), split, sizeof(split)),
		.final = final,
		.run_start = run_start,
	};
	gt_enc_meta(&d->enc, ts, &m);
}
