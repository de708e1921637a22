/* SPDX-License-Identifier: MIT */
/*
 * gt_python.c — finds the interpreter without debug info (see gt_python.h).
 *
 * Only dynamic symbols and program headers are used: Debian's python3.11 is
 * stripped and non-PIE with libpython linked in, and exports just
 * Py_GetVersion, Py_Version and _PyRuntime, which is all we need.
 */
#define _GNU_SOURCE
#include "gt_python.h"

#include <dlfcn.h>
#include <elf.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gt_log.h"

struct gt_python gt_py;

/* Measured on pyenv builds 3.7.16-3.12.1 and Debian 3.11.2 with gdb/DWARF
 * and confirmed at run time (background: cpython-gil-internals.md §2.2). The
 * size check rejects configurations with another layout (pydebug, ...). */
static const struct gt_layout layouts[] = {
	{7, 1520, 1264, -1, -1, -1, -1, -1, "table"},
	{8, 1464, 1152, -1, -1, -1, -1, -1, "table"},
	{9, 656, 352, -1, -1, -1, -1, -1, "table"},
	{10, 672, 352, -1, -1, -1, -1, -1, "table"},
	{11, 166688, 360, 58936, -1, -1, -1, -1, "table"},
	{12, 459944, -1, 76392, -1, 1040, 8, 384, "table"},
};

/* 3.13 starts _PyRuntime with _Py_DebugOffsets (Include/internal/
 * pycore_runtime.h); these are the byte offsets of the fields we read in the
 * 3.13 definition of that struct. It changes between minor versions, so only
 * the versions listed here are parsed. */
struct debug_offsets_layout {
	int minor;
	unsigned version, free_threaded, interpreters_head;
	unsigned interp_id, interp_ceval_gil, interp_gil_state;
};
static const struct debug_offsets_layout debug_layouts[] = {
	{13, 8, 16, 40, 56, 112, 120},
};

static int find_text(struct dl_phdr_info *info, size_t size, void *data)
{
	(void)size;
	uintptr_t base = *(uintptr_t *)data;
	if (info->dlpi_addr != base)
		return 0;
	for (int i = 0; i < info->dlpi_phnum && gt_py.ntext < GT_PY_MAX_TEXT; i++) {
		const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
		if (ph->p_type != PT_LOAD || !(ph->p_flags & PF_X))
			continue;
		gt_py.text_lo[gt_py.ntext] = info->dlpi_addr + ph->p_vaddr;
		gt_py.text_hi[gt_py.ntext] = info->dlpi_addr + ph->p_vaddr + ph->p_memsz;
		gt_py.ntext++;
	}
	return 1;
}

static void parse_version(const char *s)
{
	int maj = 0, min = 0, mic = 0;
	if (sscanf(s, "%d.%d.%d", &maj, &min, &mic) >= 2) {
		gt_py.major = maj;
		gt_py.minor = min;
		gt_py.micro = mic;
	}
	snprintf(gt_py.version, sizeof(gt_py.version), "%d.%d.%d", gt_py.major, gt_py.minor,
		 gt_py.micro);
	if (strstr(s, "free-threading build"))
		gt_py.free_threaded = 1;
}

static void detect_layout(void)
{
	if (!gt_py.runtime || gt_py.major != 3)
		return;
	const uint8_t *rt = (const uint8_t *)gt_py.runtime;
	if (gt_py.minor >= 13) {
		if (memcmp(rt, "xdebugpy", 8))
			return;
		for (size_t i = 0; i < sizeof(debug_layouts) / sizeof(debug_layouts[0]); i++) {
			const struct debug_offsets_layout *d = &debug_layouts[i];
			if (d->minor != gt_py.minor)
				continue;
			uint64_t ver = *(const uint64_t *)(rt + d->version);
			if ((ver >> 24) != 3 || ((ver >> 16) & 0xff) != (uint64_t)gt_py.minor)
				return;
			if (*(const uint64_t *)(rt + d->free_threaded))
				gt_py.free_threaded = 1;
			struct gt_layout *l = &gt_py.layout;
			l->minor = gt_py.minor;
			l->runtime_size = 0;
			l->runtime_gil = -1;
			/* interpreters.main follows interpreters.head. */
			l->main_interp = -1;
			l->main_interp_ptr =
				(int64_t)*(const uint64_t *)(rt + d->interpreters_head) + 8;
			l->interp_gil = (int64_t)*(const uint64_t *)(rt + d->interp_gil_state);
			l->interp_id = (int64_t)*(const uint64_t *)(rt + d->interp_id);
			l->interp_ceval_gil = (int64_t)*(const uint64_t *)(rt + d->interp_ceval_gil);
			l->source = "_Py_DebugOffsets";
			gt_py.have_layout = 1;
			return;
		}
		return;
	}
	for (size_t i = 0; i < sizeof(layouts) / sizeof(layouts[0]); i++) {
		if (layouts[i].minor == gt_py.minor && layouts[i].runtime_size == gt_py.runtime_size) {
			gt_py.layout = layouts[i];
			gt_py.have_layout = 1;
			return;
		}
	}
}

void gt_python_detect(void)
{
	memset(&gt_py, 0, sizeof(gt_py));
	void *get_version = dlsym(RTLD_DEFAULT, "Py_GetVersion");
	if (!get_version)
		return;
	Dl_info info;
	if (!dladdr(get_version, &info) || !info.dli_fbase)
		return;
	gt_py.found = 1;
	snprintf(gt_py.object, sizeof(gt_py.object), "%s", info.dli_fname ? info.dli_fname : "?");
	/* dlpi_addr is the load bias; for the main program that is 0 when it is
	 * not PIE, which dli_fbase (the mapping address) is not. */
	struct link_map *lm = NULL;
	uintptr_t bias = (uintptr_t)info.dli_fbase;
	if (dladdr1(get_version, &info, (void **)&lm, RTLD_DL_LINKMAP) && lm)
		bias = lm->l_addr;
	dl_iterate_phdr(find_text, &bias);

	const unsigned long *hexversion = dlsym(RTLD_DEFAULT, "Py_Version");
	if (hexversion && (*hexversion >> 24) == 3) {
		char buf[32];
		snprintf(buf, sizeof(buf), "%lu.%lu.%lu", *hexversion >> 24,
			 (*hexversion >> 16) & 0xff, (*hexversion >> 8) & 0xff);
		parse_version(buf);
		/* Py_Version has no build flags; the version string does. */
		const char *(*fn)(void) = (const char *(*)(void))get_version;
		if (strstr(fn(), "free-threading build"))
			gt_py.free_threaded = 1;
	} else {
		/* Before 3.11: Py_GetVersion() only formats static strings and
		 * is safe before Py_Initialize. */
		const char *(*fn)(void) = (const char *(*)(void))get_version;
		parse_version(fn());
	}

	void *rt = dlsym(RTLD_DEFAULT, "_PyRuntime");
	if (rt) {
		const ElfW(Sym) *sym = NULL;
		gt_py.runtime = (uintptr_t)rt;
		if (dladdr1(rt, &info, (void **)&sym, RTLD_DL_SYMENT) && sym)
			gt_py.runtime_size = sym->st_size;
	}
	detect_layout();
	gt_log_debug("python %s in %s (%d text segments), _PyRuntime %#lx size %lu, layout %s",
		     gt_py.version, gt_py.object, gt_py.ntext, (unsigned long)gt_py.runtime,
		     (unsigned long)gt_py.runtime_size,
		     gt_py.have_layout ? gt_py.layout.source : "none");
}
