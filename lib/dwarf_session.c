/* SPDX-License-Identifier: MIT */
/*
 * The DWARF layer's sessions: reporting a target's modules to libdwfl,
 * opening their files, reading target memory, and the dynamic linker's
 * names for the modules. A live process's modules come from the target's
 * own mappings, so they are read once; a core file's from libdwfl's core
 * reporting.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core.h"
#include "dwarf_impl.h"
#include "target.h"

/* A file or the vdso as the live process maps it: what find_elf needs to open it. */
struct ms_dwarf_mapped {
	struct ms_dwarf_session *session;
	char *name; /* the path, " (deleted)" stripped */
	uint64_t start, end, inode;
	bool deleted, vdso;
};

/* ---- a live process's modules ---- */

/* The vdso's ELF image, read without faulting its pages in. */
static Elf *vdso_elf(struct ms_dwarf_session *s, const struct ms_dwarf_mapped *m)
{
	size_t len = m->end - m->start, done = 0;
	if (s->vdso_image || !(s->vdso_image = malloc(len)))
		return NULL;
	struct ms_error *err = ms_target_read(s->target, m->start, s->vdso_image, len, 0, &done);
	ms_error_destroy(err);
	if (done < 64)
		return NULL;
	/*
	 * Pages of the vdso the target never used are not present, and
	 * reading them would fault them in. A process on this machine has the
	 * kernel's one vdso image, which is ours too: use our copy when what
	 * could be read matches it.
	 */
	size_t own_len;
	const void *own = ms_maps_own_vdso(&own_len);
	if (done < len && own && own_len == len && memcmp(own, s->vdso_image, done) == 0) {
		memcpy(s->vdso_image, own, own_len);
		done = own_len;
	}
	return elf_memory(s->vdso_image, done);
}

static int find_mapped_elf(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
			   char **file_name, Elf **elfp)
{
	(void)mod;
	(void)modname;
	(void)base;
	const struct ms_dwarf_mapped *m = *userdata;
	if (!m)
		return -1;
	if (m->vdso) {
		*elfp = vdso_elf(m->session, m);
		return -1;
	}
	struct ms_vma vma = {
		.start = m->start,
		.end = m->end,
		.inode = m->inode,
		.name = m->name,
		.deleted = m->deleted,
		.kind = MS_VMA_FILE,
	};
	return ms_vma_open_file(m->session->pid, &vma, file_name);
}

static bool same_file(const struct ms_vma *a, const struct ms_vma *b)
{
	return a->inode == b->inode && a->dev_major == b->dev_major &&
	       a->dev_minor == b->dev_minor && strcmp(a->name, b->name) == 0;
}

static bool is_mapped_file(const struct ms_vma *v)
{
	return v->kind == MS_VMA_FILE && v->name && v->name[0] == '/' &&
	       (v->inode || v->dev_major || v->dev_minor);
}

/* Report the file mapped by vmas[first..last] (or the vdso) as one module. */
static struct ms_error *report_mapped(struct ms_dwarf_session *s, const struct ms_maps *maps,
				      size_t first, size_t last)
{
	const struct ms_vma *v = &maps->vmas[first];
	struct ms_dwarf_mapped *m = &s->mapped[s->nmapped];
	*m = (struct ms_dwarf_mapped){
		.session = s,
		.name = strdup(v->name),
		.start = v->start,
		.end = v->end,
		.inode = v->inode,
		.deleted = v->deleted,
		.vdso = v->kind == MS_VMA_VDSO,
	};
	if (!m->name)
		return &ms_error_no_memory;
	s->nmapped++;
	uint64_t high = maps->vmas[last].end;
	/*
	 * The .bss past the file's end is anonymous memory right after the
	 * data mapping: the module covers it, as a core's does (symbols only
	 * ever name what lies in the file's sections).
	 */
	const struct ms_vma *next = last + 1 < maps->count ? &maps->vmas[last + 1] : NULL;
	if (!m->vdso && next && next->kind == MS_VMA_ANON && next->start == high &&
	    !(next->prot & MS_PROT_SHARED) && (maps->vmas[last].prot & MS_PROT_WRITE))
		high = next->end;
	Dwfl_Module *mod = dwfl_report_module(s->dwfl, m->name, v->start, high);
	if (!mod)
		return ms_dwarf_error("dwfl_report_module");
	void **userdata;
	dwfl_module_info(mod, &userdata, NULL, NULL, NULL, NULL, NULL, NULL);
	*userdata = m;
	return NULL;
}

/*
 * A live process's modules from the target's mappings, grouped as
 * libdwfl's dwfl_linux_proc_report groups /proc/PID/maps: the mappings of
 * one file make one module, whatever anonymous mappings lie between them.
 */
static struct ms_error *report_live(struct ms_dwarf_session *s)
{
	const struct ms_maps *maps;
	struct ms_error *err = ms_target_maps(s->target, MS_MAPS_BASIC, &maps);
	if (err)
		return err;
	s->mapped = calloc(maps->count ? maps->count : 1, sizeof(*s->mapped));
	if (!s->mapped)
		return &ms_error_no_memory;
	s->callbacks.find_elf = find_mapped_elf;
	s->dwfl = dwfl_begin(&s->callbacks);
	if (!s->dwfl)
		return ms_dwarf_error("dwfl_begin");
	dwfl_report_begin(s->dwfl);
	size_t first = 0, last = 0;
	bool open_group = false;
	for (size_t i = 0; i < maps->count && !err; i++) {
		const struct ms_vma *v = &maps->vmas[i];
		if (v->kind == MS_VMA_VDSO) {
			if (open_group)
				err = report_mapped(s, maps, first, last);
			open_group = false;
			if (!err)
				err = report_mapped(s, maps, i, i);
			continue;
		}
		if (!is_mapped_file(v))
			continue;
		if (open_group && same_file(&maps->vmas[first], v)) {
			last = i;
			continue;
		}
		if (open_group)
			err = report_mapped(s, maps, first, last);
		first = last = i;
		open_group = true;
	}
	if (!err && open_group)
		err = report_mapped(s, maps, first, last);
	if (err)
		return err;
	if (dwfl_report_end(s->dwfl, NULL, NULL) != 0)
		return ms_dwarf_error("dwfl_report_end");
	return NULL;
}

/* ---- a core file's modules ---- */

/* As libdwfl finds them: NT_FILE, the build-ids in memory, the executable given. */
static struct ms_error *report_core(struct ms_dwarf_session *s, const char *core_path,
				    const char *exe)
{
	elf_version(EV_CURRENT);
	s->core_fd = open(core_path, O_RDONLY | O_CLOEXEC);
	if (s->core_fd < 0)
		return ms_error_errno(errno, "%s", core_path);
	s->core_elf = elf_begin(s->core_fd, ELF_C_READ_MMAP, NULL);
	GElf_Ehdr ehdr;
	if (!s->core_elf || !gelf_getehdr(s->core_elf, &ehdr) || ehdr.e_type != ET_CORE)
		return ms_error_create(MS_ERROR_FORMAT, "%s is not a core file", core_path);
	s->callbacks.find_elf = dwfl_build_id_find_elf;
	s->dwfl = dwfl_begin(&s->callbacks);
	if (!s->dwfl)
		return ms_dwarf_error("dwfl_begin");
	dwfl_report_begin(s->dwfl);
	if (dwfl_core_file_report(s->dwfl, s->core_elf, exe) < 0)
		return ms_dwarf_error("dwfl_core_file_report");
	if (dwfl_report_end(s->dwfl, NULL, NULL) != 0)
		return ms_dwarf_error("dwfl_report_end");
	return NULL;
}

/* ---- sessions ---- */

static struct ms_error *session_alloc(const struct ms_dwarf_options *opts,
				      const struct ms_dwarf_memory *mem,
				      struct ms_dwarf_session **s_ret)
{
	struct ms_dwarf_session *s = calloc(1, sizeof(*s));
	if (!s)
		return &ms_error_no_memory;
	s->core_fd = -1;
	if (mem)
		s->mem = *mem;
	/*
	 * libdwfl's search path: the empty first entry is the module's own
	 * directory, then .debug beside it, then the debug directories (each
	 * also searched by build-id under .build-id/).
	 */
	const char *dirs = opts && opts->debug_dirs ? opts->debug_dirs : "";
	size_t len = strlen(dirs) + 64;
	s->debuginfo_path = malloc(len);
	if (!s->debuginfo_path) {
		free(s);
		return &ms_error_no_memory;
	}
	snprintf(s->debuginfo_path, len, ":.debug:%s%s/usr/lib/debug", dirs, *dirs ? ":" : "");
	*s_ret = s;
	return NULL;
}

static int widen_bounds(Dwfl_Module *mod, void **ud, const char *name, Dwarf_Addr start, void *arg)
{
	(void)ud;
	(void)name;
	(void)start;
	struct ms_dwarf_session *s = arg;
	Dwarf_Addr low, high;
	dwfl_module_info(mod, NULL, &low, &high, NULL, NULL, NULL, NULL);
	if (low < s->modules_low)
		s->modules_low = low;
	if (high > s->modules_high)
		s->modules_high = high;
	return DWARF_CB_OK;
}

static struct ms_error *read_target(void *arg, uint64_t addr, void *buf, size_t len)
{
	return ms_target_read(arg, addr, buf, len, 0, NULL);
}

struct ms_error *ms_dwarf_session_create(struct ms_target *target,
					 const struct ms_dwarf_options *opts,
					 const struct ms_dwarf_memory *mem,
					 struct ms_dwarf_session **session_ret)
{
	struct ms_dwarf_memory own = {.read = read_target, .arg = target};
	struct ms_dwarf_session *s;
	struct ms_error *err = session_alloc(opts, mem ? mem : &own, &s);
	if (err)
		return err;
	s->target = target;
	s->callbacks.find_debuginfo =
		opts && opts->symbols_only ? dwfl_build_id_find_debuginfo : ms_dwarf_find_debuginfo;
	s->callbacks.debuginfo_path = &s->debuginfo_path;
	if (ms_target_kind(target) == MS_TARGET_LIVE) {
		s->pid = ms_target_pid(target);
		err = report_live(s);
	} else {
		/*
		 * libdwfl takes an executable it is given as it is: one with
		 * another build-id than the core's would name every frame wrong.
		 * Without it, libdwfl finds files by NT_FILE and checks them.
		 */
		err = report_core(s, ms_target_core_path(target),
				  ms_target_core_exe_mismatch(target) ? NULL
								      : ms_target_exe(target));
	}
	if (err) {
		ms_dwarf_session_destroy(s);
		return err;
	}
	/* most values a dump asks about are in no module: answered without libdwfl */
	s->modules_low = UINT64_MAX;
	dwfl_getmodules(s->dwfl, widen_bounds, s, 0);
	*session_ret = s;
	return NULL;
}

struct ms_error *ms_dwarf_session_create_pid(pid_t pid, const struct ms_dwarf_options *opts,
					     const struct ms_dwarf_memory *mem,
					     struct ms_dwarf_session **session_ret)
{
	struct ms_target *target;
	struct ms_error *err = ms_target_open_pid(pid, &target);
	if (err)
		return err;
	err = ms_dwarf_session_create(target, opts, mem, session_ret);
	if (err) {
		ms_target_destroy(target);
		return err;
	}
	(*session_ret)->own_target = target;
	return NULL;
}

void ms_dwarf_session_destroy(struct ms_dwarf_session *s)
{
	if (!s)
		return;
	ms_dwarf_cache_flush();
	if (s->dwfl)
		dwfl_end(s->dwfl);
	if (s->core_elf)
		elf_end(s->core_elf);
	if (s->core_fd >= 0)
		close(s->core_fd);
	/* after dwfl_end: its ELF handles refer to these */
	free(s->vdso_image);
	for (size_t i = 0; i < s->nmapped; i++)
		free(s->mapped[i].name);
	free(s->mapped);
	ms_target_destroy(s->own_target);
	for (size_t i = 0; i < 512; i++) {
		struct ms_dwarf_string *e = s->strings[i];
		while (e) {
			struct ms_dwarf_string *next = e->next;
			free(e);
			e = next;
		}
	}
	for (size_t i = 0; i < 1024; i++) {
		struct ms_dwarf_site *site = s->sites[i];
		while (site) {
			struct ms_dwarf_site *next = site->next;
			free(site);
			site = next;
		}
	}
	for (size_t i = 0; i < 1024; i++) {
		struct ms_dwarf_scopes *e = s->scopes[i];
		while (e) {
			struct ms_dwarf_scopes *next = e->next;
			free(e->scopes);
			free(e);
			e = next;
		}
	}
	ms_dwarf_linetables_destroy(s);
	for (size_t i = 0; i < s->nlinknames; i++)
		free(s->linknames[i].name);
	free(s->linknames);
	for (size_t i = 0; i < s->nsymidx; i++) {
		free(s->symidx[i].e);
		free(s->symidx[i].sections);
	}
	free(s->symidx);
	free(s->debuginfo_path);
	free(s);
}

Dwfl *ms_dwarf_session_dwfl(struct ms_dwarf_session *s)
{
	return s->dwfl;
}

/* ---- memory ---- */

/* Read what the module's file holds at addr (read-only data a core omits). */
static size_t read_from_module_file(struct ms_dwarf_session *s, uint64_t addr, void *buf,
				    size_t len)
{
	Dwfl_Module *mod = dwfl_addrmodule(s->dwfl, addr);
	if (!mod)
		return 0;
	GElf_Addr bias;
	Elf *elf = dwfl_module_getelf(mod, &bias);
	if (!elf)
		return 0;
	size_t nphdr;
	if (elf_getphdrnum(elf, &nphdr) != 0)
		return 0;
	size_t rawsize;
	char *raw = elf_rawfile(elf, &rawsize);
	if (!raw)
		return 0;
	uint64_t vaddr = addr - bias;
	for (size_t i = 0; i < nphdr; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(elf, i, &ph) || ph.p_type != PT_LOAD)
			continue;
		if (vaddr < ph.p_vaddr || vaddr >= ph.p_vaddr + ph.p_filesz)
			continue;
		/* Writable segments change at run time: their file bytes are not the truth. */
		if (ph.p_flags & PF_W)
			return 0;
		uint64_t off = ph.p_offset + (vaddr - ph.p_vaddr);
		size_t n = len;
		if (n > ph.p_vaddr + ph.p_filesz - vaddr)
			n = (size_t)(ph.p_vaddr + ph.p_filesz - vaddr);
		if (off >= rawsize)
			return 0;
		if (n > rawsize - off)
			n = (size_t)(rawsize - off);
		memcpy(buf, raw + off, n);
		return n;
	}
	return 0;
}

struct ms_error *ms_dwarf_read(struct ms_dwarf_session *s, uint64_t addr, void *buf, size_t len)
{
	if (!len)
		return NULL;
	struct ms_error *err =
		s->mem.read ? s->mem.read(s->mem.arg, addr, buf, len) : ms_error_fault(addr, NULL);
	if (!err)
		return NULL;
	/* Byte ranges the reader lacks may still be in a module's file. */
	size_t done = 0;
	while (done < len) {
		size_t n = read_from_module_file(s, addr + done, (char *)buf + done, len - done);
		if (!n)
			break;
		done += n;
	}
	if (done == len) {
		ms_error_destroy(err);
		return NULL;
	}
	return err;
}

/* ---- modules ---- */

/*
 * The dynamic linker's names for the loaded objects: /proc/PID/maps gives
 * the resolved path (/usr/lib/...), gdb prints the link_map's l_name
 * (/lib/...). Found through AT_PHDR, the main program's PT_DYNAMIC, DT_DEBUG
 * and r_debug.r_map. Missing pieces only mean the maps names are used.
 */
static bool read_quiet(struct ms_dwarf_session *s, uint64_t addr, void *buf, size_t len)
{
	struct ms_error *err = ms_dwarf_read(s, addr, buf, len);
	ms_error_destroy(err);
	return err == NULL;
}

static void read_linknames(struct ms_dwarf_session *s)
{
	s->linknames_read = true;
	/* the auxiliary vector: /proc/PID/auxv, or a core's NT_AUXV */
	void *auxv;
	size_t auxv_size;
	struct ms_error *err = ms_target_auxv(s->target, &auxv, &auxv_size);
	if (err) {
		ms_error_destroy(err);
		return;
	}
	uint64_t phdr = 0, phnum = 0;
	for (size_t off = 0; off + 16 <= auxv_size; off += 16) {
		uint64_t av[2];
		memcpy(av, (const char *)auxv + off, sizeof(av));
		if (av[0] == AT_NULL)
			break;
		if (av[0] == AT_PHDR)
			phdr = av[1];
		else if (av[0] == AT_PHNUM)
			phnum = av[1];
		else if (av[0] == AT_SYSINFO_EHDR)
			s->vdso = av[1];
	}
	free(auxv);
	if (!phdr || !phnum || phnum > 256)
		return;
	Elf64_Phdr ph[256];
	if (!read_quiet(s, phdr, ph, phnum * sizeof(ph[0])))
		return;
	uint64_t bias = 0, dynamic = 0;
	for (uint64_t i = 0; i < phnum; i++)
		if (ph[i].p_type == PT_PHDR)
			bias = phdr - ph[i].p_vaddr;
	for (uint64_t i = 0; i < phnum; i++)
		if (ph[i].p_type == PT_DYNAMIC)
			dynamic = ph[i].p_vaddr + bias;
	if (!dynamic)
		return;
	uint64_t r_debug = 0;
	for (int i = 0; i < 512; i++) {
		Elf64_Dyn d;
		if (!read_quiet(s, dynamic + (uint64_t)i * sizeof(d), &d, sizeof(d)))
			return;
		if (d.d_tag == DT_NULL)
			break;
		if (d.d_tag == DT_DEBUG)
			r_debug = d.d_un.d_ptr;
	}
	uint64_t map = 0;
	if (!r_debug || !read_quiet(s, r_debug + 8, &map, sizeof(map)))
		return;
	for (int n = 0; map && n < 4096; n++) {
		struct {
			uint64_t l_addr, l_name, l_ld, l_next, l_prev;
		} lm;
		if (!read_quiet(s, map, &lm, sizeof(lm)))
			return;
		char name[4096];
		size_t len = 0;
		/* in pieces that stay inside a page: the next one may be unmapped */
		bool nul = false;
		while (lm.l_name && !nul && len < sizeof(name) - 1) {
			uint64_t a = lm.l_name + len;
			size_t chunk = 4096 - (size_t)(a & 4095);
			if (chunk > sizeof(name) - 1 - len)
				chunk = sizeof(name) - 1 - len;
			if (!read_quiet(s, a, &name[len], chunk))
				break;
			size_t n = strnlen(&name[len], chunk);
			nul = n < chunk;
			len += n;
		}
		name[len] = '\0';
		/* gdb leaves the vDSO out of its shared libraries */
		Dwfl_Module *vdso = s->vdso ? dwfl_addrmodule(s->dwfl, s->vdso) : NULL;
		if (len && !(vdso && dwfl_addrmodule(s->dwfl, lm.l_ld) == vdso)) {
			struct ms_dwarf_linkname *g =
				realloc(s->linknames, (s->nlinknames + 1) * sizeof(*g));
			if (!g)
				return;
			s->linknames = g;
			g[s->nlinknames].ld = lm.l_ld;
			g[s->nlinknames].name = strdup(name);
			if (g[s->nlinknames].name)
				s->nlinknames++;
		}
		map = lm.l_next;
	}
}

bool ms_dwarf_module_at(struct ms_dwarf_session *s, uint64_t addr,
			struct ms_dwarf_module *module_ret)
{
	Dwfl_Module *mod = dwfl_addrmodule(s->dwfl, addr);
	if (!mod)
		return false;
	Dwarf_Addr start, end;
	const char *mainfile = NULL, *debugfile = NULL;
	const char *name =
		dwfl_module_info(mod, NULL, &start, &end, NULL, NULL, &mainfile, &debugfile);
	/* past the last module libdwfl still answers with it */
	if (addr < start || addr >= end)
		return false;
	memset(module_ret, 0, sizeof(*module_ret));
	module_ret->mod = mod;
	module_ret->name = name;
	module_ret->start = start;
	module_ret->end = end;
	Dwarf_Addr bias;
	module_ret->has_dwarf = dwfl_module_getdwarf(mod, &bias) != NULL;
	dwfl_module_info(mod, NULL, NULL, NULL, NULL, NULL, &mainfile, &debugfile);
	module_ret->debug_file = debugfile;
	module_ret->has_symtab = dwfl_module_getsymtab(mod) > 0;
	module_ret->display = module_ret->name;
	if (!s->linknames_read)
		read_linknames(s);
	for (size_t i = 0; i < s->nlinknames; i++) {
		if (s->linknames[i].ld >= start && s->linknames[i].ld < end) {
			module_ret->display = s->linknames[i].name;
			module_ret->solib = s->linknames[i].name;
		}
	}
	/* the file it was read from: a core reports some modules by their soname */
	if (mainfile && module_ret->display == module_ret->name)
		module_ret->display = mainfile;
	return true;
}
