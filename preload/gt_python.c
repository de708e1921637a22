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

#include "gt_cpy_names.h"
#include "gt_log.h"

struct gt_python gt_py;

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

	gt_py.build.major = gt_py.major;
	gt_py.build.minor = gt_py.minor;
	gt_py.build.free_threaded = gt_py.free_threaded;
	void *rt = dlsym(RTLD_DEFAULT, "_PyRuntime");
	if (rt) {
		const ElfW(Sym) *sym = NULL;
		gt_py.build.runtime = (uintptr_t)rt;
		if (dladdr1(rt, &info, (void **)&sym, RTLD_DL_SYMENT) && sym)
			gt_py.build.runtime_size = sym->st_size;
	}
	gt_py.have_layout = gt_cpy_layout_find(&gt_py_mem, &gt_py.build, &gt_py.layout) == 0;
	if (gt_py.layout.free_threaded)
		gt_py.free_threaded = 1;
	gt_py.interp_main = (void *(*)(void))dlsym(RTLD_DEFAULT, "PyInterpreterState_Main");
	if (!gt_py.interp_main)
		gt_py.interp_main = (void *(*)(void))dlsym(RTLD_DEFAULT, "PyInterpreterState_Head");
	/* 3.7+ builds the rows do not fingerprint (pydebug...) may lay the
	 * interpreter out differently: no names there. 3.6 has no row to
	 * match, and the names reader checks every object's shape anyway. */
	if (gt_py.minor >= 13)
		gt_py.modules_off = gt_py.have_layout ? gt_py.layout.interp_modules : -1;
	else
		gt_py.modules_off = gt_py.have_layout || gt_py.minor == 6 ?
					    gt_cpy_interp_modules(gt_py.minor) : -1;
	gt_log_debug("python %s in %s (%d text segments), _PyRuntime %#llx size %llu, layout %s",
		     gt_py.version, gt_py.object, gt_py.ntext,
		     (unsigned long long)gt_py.build.runtime,
		     (unsigned long long)gt_py.build.runtime_size,
		     gt_py.have_layout ? gt_py.layout.source : "none");
}

uint64_t gt_python_modules_slot(void)
{
	if (!gt_py.interp_main || gt_py.modules_off < 0)
		return 0;
	void *interp = gt_py.interp_main();
	return interp ? (uint64_t)(uintptr_t)interp + (uint64_t)gt_py.modules_off : 0;
}
