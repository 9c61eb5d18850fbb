/* SPDX-License-Identifier: MIT */
#include "symbols.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dwarf.h"
#include "maps.h"
#include "target.h"
#include "grow.h"

struct ms_symbols {
	struct ms_target *target;
	const struct ms_maps *maps;
	struct ms_dwarf_session *session; /* NULL if the modules could not be reported */
	struct ms_error *error;		  /* then, why */
	/* the module of the last symbol found, for a dump's many lookups */
	Dwfl_Module *last_mod;
	const char *last_file;
	uint64_t last_bias;
};

struct ms_error *ms_symbols_create(struct ms_target *target, struct ms_symbols **syms_ret)
{
	const struct ms_maps *maps;
	struct ms_error *err = ms_target_maps(target, MS_MAPS_BASIC, &maps);
	if (err)
		return err;
	struct ms_symbols *s = calloc(1, sizeof(*s));
	if (!s)
		return &ms_error_no_memory;
	s->target = target;
	s->maps = maps;
	/* Only symbol tables are asked for: no debug info, no cache to write. */
	struct ms_dwarf_options opts = {.symbols_only = true};
	s->error = ms_dwarf_session_create(target, &opts, NULL, &s->session);
	if (s->error == &ms_error_no_memory) {
		free(s);
		return &ms_error_no_memory;
	}
	*syms_ret = s;
	return NULL;
}

void ms_symbols_destroy(struct ms_symbols *syms)
{
	if (!syms)
		return;
	ms_dwarf_session_destroy(syms->session);
	ms_error_destroy(syms->error);
	free(syms);
}

/*
 * The module's file as the target's mappings name it (libdwfl names a
 * core's executable by its short name), the vdso "[vdso]".
 */
static const char *module_file(struct ms_symbols *s, Dwfl_Module *mod, uint64_t *start_ret)
{
	Dwarf_Addr start;
	const char *name = dwfl_module_info(mod, NULL, &start, NULL, NULL, NULL, NULL, NULL);
	const struct ms_vma *vma = ms_maps_find(s->maps, start);
	if (start_ret)
		*start_ret = start;
	if (vma && (vma->kind == MS_VMA_FILE || vma->kind == MS_VMA_VDSO) && vma->name)
		return vma->kind == MS_VMA_VDSO ? "[vdso]" : vma->name;
	return name ? name : "?";
}

static void fill(struct ms_symbols *s, const struct ms_dwarf_symbol *d, struct ms_symbol *out)
{
	if (d->mod != s->last_mod) {
		GElf_Addr bias = 0;
		dwfl_module_getelf(d->mod, &bias);
		s->last_mod = d->mod;
		s->last_file = module_file(s, d->mod, NULL);
		s->last_bias = bias;
	}
	out->name = d->name;
	out->address = d->address;
	out->size = d->size;
	out->offset = 0;
	out->file = s->last_file;
	out->bias = s->last_bias;
	out->type = d->type;
	out->bind = d->bind;
}

bool ms_symbols_lookup_addr(struct ms_symbols *s, uint64_t addr, struct ms_symbol *sym_ret)
{
	struct ms_dwarf_symbol d;
	if (!s->session || !ms_dwarf_symbol_lookup(s->session, addr, MS_DWARF_SYMBOL_NEAREST, &d))
		return false;
	fill(s, &d, sym_ret);
	sym_ret->offset = addr - d.address;
	return true;
}

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

/* "libc" matches libc.so.6 and libc-2.31.so; a path or a full file name matches itself. */
static bool file_matches(const char *path, const char *want)
{
	if (strcmp(path, want) == 0)
		return true;
	const char *base = base_name(path);
	if (strcmp(base, want) == 0)
		return true;
	size_t n = strlen(want);
	return strchr(want, '/') == NULL && strncmp(base, want, n) == 0 &&
	       (base[n] == '.' || base[n] == '-');
}

static bool parse_offset(const char *s, uint64_t *v)
{
	if (!*s)
		return false;
	char *end;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 0);
	if (errno || *end || *s == '-')
		return false;
	*v = x;
	return true;
}

struct module_list {
	struct ms_symbols *syms;
	struct module_entry {
		Dwfl_Module *mod;
		uint64_t start;
		const char *file;
	} * e;
	size_t n, cap;
	bool failed;
};

static int add_module(Dwfl_Module *mod, void **ud, const char *name, Dwarf_Addr start, void *arg)
{
	(void)ud;
	(void)name;
	(void)start;
	struct module_list *l = arg;
	struct module_entry *grown = ms_grow(l->e, l->n, &l->cap, sizeof(*grown), 32);
	if (!grown) {
		l->failed = true;
		return DWARF_CB_ABORT;
	}
	l->e = grown;
	struct module_entry *e = &l->e[l->n++];
	e->mod = mod;
	e->file = module_file(l->syms, mod, &e->start);
	return DWARF_CB_OK;
}

static int cmp_module(const void *a, const void *b)
{
	const struct module_entry *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

struct ms_error *ms_symbols_lookup_name(struct ms_symbols *s, const char *spec,
					struct ms_symbol *sym_ret)
{
	struct module_list mods = {.syms = s};
	char *copy = strdup(spec);
	if (!copy)
		return &ms_error_no_memory;
	struct ms_error *err = NULL;
	uint64_t offset = 0;
	char *plus = strrchr(copy, '+');
	if (plus && plus != copy && parse_offset(plus + 1, &offset))
		*plus = '\0';
	char *name = copy, *file = NULL;
	char *colon = strchr(copy, ':');
	if (colon && colon[1] != ':' && colon != copy) {
		*colon = '\0';
		file = copy;
		name = colon + 1;
	}
	if (!*name) {
		err = ms_error_create(MS_ERROR_INVALID, "invalid symbol '%s'", spec);
		goto out;
	}
	if (!s->session) {
		err = ms_error_create(MS_ERROR_NOT_FOUND, "symbol not found: %s (%s)", spec,
				      s->error->message);
		goto out;
	}
	dwfl_getmodules(ms_dwarf_session_dwfl(s->session), add_module, &mods, 0);
	if (mods.failed) {
		err = &ms_error_no_memory;
		goto out;
	}
	qsort(mods.e, mods.n, sizeof(*mods.e), cmp_module);
	const char *exe = ms_target_exe(s->target);
	/* two passes: the main executable, then everything else in address order */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < mods.n; i++) {
			bool is_exe = exe && strcmp(mods.e[i].file, exe) == 0;
			if ((pass == 0) != is_exe || (file && !file_matches(mods.e[i].file, file)))
				continue;
			struct ms_dwarf_symbol d;
			if (!ms_dwarf_symbol_by_name(s->session, mods.e[i].mod, name, &d))
				continue;
			fill(s, &d, sym_ret);
			sym_ret->address += offset;
			sym_ret->offset = offset;
			goto out;
		}
	}
	err = ms_error_create(MS_ERROR_NOT_FOUND, "symbol not found: %s", spec);
out:
	free(mods.e);
	free(copy);
	return err;
}

size_t ms_symbol_format(const struct ms_symbol *sym, char *buf, size_t len)
{
	if (!len)
		return 0;
	/* by hand: a dump formats a name per value, and snprintf would take most of its time */
	char tail[24], *t = tail + sizeof(tail);
	for (uint64_t v = sym->offset; v; v /= 10)
		*--t = (char)('0' + v % 10);
	if (sym->offset)
		*--t = '+';
	size_t ntail = (size_t)(tail + sizeof(tail) - t), nname = strlen(sym->name);
	size_t n = nname < len - 1 ? nname : len - 1;
	size_t m = ntail < len - 1 - n ? ntail : len - 1 - n;
	memcpy(buf, sym->name, n);
	memcpy(buf + n, t, m);
	buf[n + m] = '\0';
	return n + m;
}
