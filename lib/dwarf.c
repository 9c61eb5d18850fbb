/* SPDX-License-Identifier: MIT */
/*
 * The DWARF layer's symbols, lines, frames and variables. Sessions and
 * modules are in dwarf_session.c, values and location expressions in
 * dwarf_loc.c.
 */
#include <dwarf.h>
#include <elf.h>
#include <gelf.h>
#include <libiberty/demangle.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dwarf_impl.h"
#include "grow.h"

struct ms_error *ms_dwarf_error(const char *call)
{
	return ms_error_create(MS_ERROR_DWARF, "%s: %s", call, dwfl_errmsg(-1));
}

static size_t string_slot(const void *key)
{
	uintptr_t k = (uintptr_t)key;
	return (size_t)((k >> 3) ^ (k >> 12)) % 512;
}

const char *ms_dwarf_interned(struct ms_dwarf_session *s, const void *key)
{
	for (struct ms_dwarf_string *e = s->strings[string_slot(key)]; e; e = e->next)
		if (e->key == key)
			return e->text;
	return NULL;
}

const char *ms_dwarf_intern(struct ms_dwarf_session *s, const void *key, const char *text)
{
	size_t len = strlen(text);
	struct ms_dwarf_string *e = malloc(sizeof(*e) + len + 1);
	if (!e)
		return NULL;
	e->key = key;
	memcpy(e->text, text, len + 1);
	size_t slot = string_slot(key);
	e->next = s->strings[slot];
	s->strings[slot] = e;
	return e->text;
}

/* ---- symbols, demangling ---- */

/*
 * Rust's legacy mangling is Itanium's with a final "17h<16 hex digits>E"
 * path element; v0 names start with _R. gdb demangles those as Rust (no
 * hash), C++ names verbosely (std::basic_istream<char, ...>, not
 * std::istream), and so do we.
 */
static bool is_rust_symbol(const char *name)
{
	if (strncmp(name, "_R", 2) == 0)
		return true;
	size_t n = strlen(name);
	if (n < 21 || name[n - 1] != 'E' || strncmp(name + n - 20, "17h", 3) != 0)
		return false;
	for (size_t i = n - 17; i < n - 1; i++)
		if (!((name[i] >= '0' && name[i] <= '9') || (name[i] >= 'a' && name[i] <= 'f')))
			return false;
	return true;
}

static char *demangle_flags(const char *name, int flags)
{
	if (!name || (strncmp(name, "_Z", 2) != 0 && strncmp(name, "_R", 2) != 0))
		return NULL;
	if (is_rust_symbol(name))
		return cplus_demangle(name, DMGL_ANSI | DMGL_RUST | (flags & DMGL_PARAMS));
	return cplus_demangle(name, DMGL_ANSI | DMGL_VERBOSE | DMGL_AUTO | flags);
}

char *ms_dwarf_demangle(const char *name)
{
	return demangle_flags(name, 0);
}

/* An ELF symbol's name as gdb prints minimal symbols: demangled with parameters. */
static const char *demangled_symbol(struct ms_dwarf_session *s, const char *name)
{
	if (!name)
		return NULL;
	const void *key = name + 1; /* distinct from the key of the short form */
	const char *cached = ms_dwarf_interned(s, key);
	if (cached)
		return cached;
	char *d = demangle_flags(name, DMGL_PARAMS);
	const char *r = ms_dwarf_intern(s, key, d ? d : name);
	free(d);
	return r ? r : name;
}

static const char *demangled(struct ms_dwarf_session *s, const char *name)
{
	if (!name)
		return NULL;
	const char *cached = ms_dwarf_interned(s, name);
	if (cached)
		return cached;
	char *d = ms_dwarf_demangle(name);
	const char *r = ms_dwarf_intern(s, name, d ? d : name);
	free(d);
	return r ? r : name;
}

static int cmp_symentry(const void *a, const void *b)
{
	const struct ms_dwarf_symentry *x = a, *y = b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	return strcmp(x->name, y->name);
}

static int cmp_section(const void *a, const void *b)
{
	const uint64_t *x = a, *y = b;
	return x[0] < y[0] ? -1 : x[0] > y[0];
}

/* Of symbols sharing a name or an address: functions and objects, then global, then weak. */
static int symbol_rank(const struct ms_dwarf_symentry *e)
{
	int r = 0;
	if (e->type == STT_FUNC || e->type == STT_OBJECT || e->type == STT_GNU_IFUNC)
		r += 4;
	if (e->bind == STB_GLOBAL)
		r += 2;
	else if (e->bind == STB_WEAK)
		r += 1;
	return r;
}

/*
 * Of names at one address, the one a dump shows: a function or an object,
 * the public name (getpid, not __getpid), the better bound, the larger.
 */
static bool better_alias(const struct ms_dwarf_symentry *x, const struct ms_dwarf_symentry *y)
{
	int rx = symbol_rank(x), ry = symbol_rank(y);
	if (rx / 4 != ry / 4)
		return rx > ry;
	size_t ux = strspn(x->name, "_"), uy = strspn(y->name, "_");
	if (ux != uy)
		return ux < uy;
	if (rx != ry)
		return rx > ry;
	if (x->size != y->size)
		return x->size > y->size;
	return strcmp(x->name, y->name) < 0;
}

static void build_symbol_index(struct ms_dwarf_symidx *idx)
{
	Dwfl_Module *mod = idx->mod;
	idx->built = true;
	GElf_Addr bias;
	Elf *elf = dwfl_module_getelf(mod, &bias);
	size_t nsec = 0;
	if (elf && elf_getshdrnum(elf, &nsec) == 0 && nsec) {
		idx->sections = malloc(nsec * sizeof(*idx->sections));
		for (Elf_Scn *scn = NULL; idx->sections && (scn = elf_nextscn(elf, scn));) {
			GElf_Shdr sh;
			if (!gelf_getshdr(scn, &sh) || !(sh.sh_flags & SHF_ALLOC) || !sh.sh_size)
				continue;
			idx->sections[idx->nsections][0] = sh.sh_addr + bias;
			idx->sections[idx->nsections][1] = sh.sh_addr + bias + sh.sh_size;
			idx->nsections++;
		}
		if (idx->sections)
			qsort(idx->sections, idx->nsections, sizeof(*idx->sections), cmp_section);
	}
	int count = dwfl_module_getsymtab(mod);
	if (count <= 1)
		return;
	idx->e = malloc((size_t)count * sizeof(*idx->e));
	if (!idx->e)
		return;
	for (int i = 1; i < count; i++) {
		GElf_Sym sym;
		GElf_Addr addr;
		GElf_Word shndx;
		const char *name = dwfl_module_getsym_info(mod, i, &sym, &addr, &shndx, NULL, NULL);
		int type = GELF_ST_TYPE(sym.st_info);
		if (!name || !*name || shndx == SHN_UNDEF || shndx == SHN_ABS ||
		    shndx == SHN_COMMON || type == STT_SECTION || type == STT_FILE ||
		    type == STT_TLS)
			continue;
		idx->e[idx->n++] = (struct ms_dwarf_symentry){
			.addr = addr,
			.size = sym.st_size,
			.name = name,
			.type = (unsigned char)type,
			.bind = (unsigned char)GELF_ST_BIND(sym.st_info),
		};
	}
	qsort(idx->e, idx->n, sizeof(*idx->e), cmp_symentry);
	for (size_t i = 0, j; i < idx->n; i = j) {
		size_t best = i;
		for (j = i; j < idx->n && idx->e[j].addr == idx->e[i].addr; j++)
			if (better_alias(&idx->e[j], &idx->e[best]))
				best = j;
		for (size_t k = i; k < j; k++)
			idx->e[k].alias = (uint32_t)best;
	}
}

/* The module's entry; its symbols are read on first use (built false before). */
static struct ms_dwarf_symidx *module_index(struct ms_dwarf_session *s, Dwfl_Module *mod)
{
	/* a dump asks for the same module again and again */
	if (s->symidx_last < s->nsymidx && s->symidx[s->symidx_last].mod == mod)
		return &s->symidx[s->symidx_last];
	for (size_t i = 0; i < s->nsymidx; i++) {
		if (s->symidx[i].mod == mod) {
			s->symidx_last = i;
			return &s->symidx[i];
		}
	}
	struct ms_dwarf_symidx *grown = realloc(s->symidx, (s->nsymidx + 1) * sizeof(*grown));
	if (!grown)
		return NULL;
	s->symidx = grown;
	s->symidx_last = s->nsymidx++;
	struct ms_dwarf_symidx *idx = &s->symidx[s->symidx_last];
	*idx = (struct ms_dwarf_symidx){.mod = mod};
	Dwarf_Addr low, high;
	dwfl_module_info(mod, NULL, &low, &high, NULL, NULL, NULL, NULL);
	idx->low = low;
	idx->high = high;
	return idx;
}

/* The symbols of the module holding addr, or NULL. */
static struct ms_dwarf_symidx *symbol_index(struct ms_dwarf_session *s, uint64_t addr)
{
	if (addr < s->modules_low || addr >= s->modules_high)
		return NULL;
	struct ms_dwarf_symidx *last =
		s->symidx_last < s->nsymidx ? &s->symidx[s->symidx_last] : NULL;
	if (last && last->built && addr >= last->low && addr < last->high)
		return last;
	Dwfl_Module *mod = dwfl_addrmodule(s->dwfl, addr);
	struct ms_dwarf_symidx *idx = mod ? module_index(s, mod) : NULL;
	if (!idx || addr < idx->low || addr >= idx->high)
		return NULL;
	if (!idx->built)
		build_symbol_index(idx);
	return idx;
}

static void fill_symbol(const struct ms_dwarf_symidx *idx, size_t i, struct ms_dwarf_symbol *sym)
{
	const struct ms_dwarf_symentry *e = &idx->e[i];
	*sym = (struct ms_dwarf_symbol){
		.name = e->name,
		.address = e->addr,
		.size = e->size,
		.type = e->type,
		.bind = e->bind,
		.mod = idx->mod,
	};
}

/* The allocated section holding addr (the latest-starting of any that overlap), or -1. */
static ptrdiff_t section_at(const struct ms_dwarf_symidx *idx, uint64_t addr)
{
	size_t lo = 0, hi = idx->nsections;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (idx->sections[mid][0] <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t k = lo; k-- > 0;)
		if (addr < idx->sections[k][1])
			return (ptrdiff_t)k;
	return -1;
}

/* The last symbol at or below addr (the last name at that address), or -1. */
static ptrdiff_t last_at_or_below(const struct ms_dwarf_symidx *idx, uint64_t addr)
{
	size_t lo = 0, hi = idx->n;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (idx->e[mid].addr <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return (ptrdiff_t)lo - 1;
}

/* gdb's choice: a symbol whose size covers addr, else the nearest one without a size. */
static ptrdiff_t covering_symbol(const struct ms_dwarf_symidx *idx, uint64_t addr)
{
	if (idx->nsections && section_at(idx, addr) < 0)
		return -1;
	ptrdiff_t i = last_at_or_below(idx, addr), zero_sized = -1;
	while (i >= 0 && idx->e[i].size == 0) {
		if (zero_sized < 0)
			zero_sized = i;
		i--;
	}
	if (i >= 0 && addr < idx->e[i].addr + idx->e[i].size) {
		/* of names at that address, the one gdb shows (_rtld_global, not _rtld_local) */
		const struct ms_dwarf_symentry *a = &idx->e[idx->e[i].alias];
		return a->size && addr < a->addr + a->size ? (ptrdiff_t)idx->e[i].alias : i;
	}
	return zero_sized;
}

/*
 * A dump's choice: the nearest symbol at or below addr in the same section
 * (outside every section, one whose size covers addr).
 */
static ptrdiff_t nearest_symbol(const struct ms_dwarf_symidx *idx, uint64_t addr)
{
	ptrdiff_t i = last_at_or_below(idx, addr);
	if (i < 0)
		return -1;
	ptrdiff_t best = idx->e[i].alias;
	const struct ms_dwarf_symentry *e = &idx->e[best];
	ptrdiff_t sec = idx->nsections ? section_at(idx, addr) : -1;
	if (sec >= 0 ? e->addr < idx->sections[sec][0] : !(e->size && addr < e->addr + e->size))
		return -1;
	return best;
}

bool ms_dwarf_symbol_lookup(struct ms_dwarf_session *s, uint64_t addr,
			    enum ms_dwarf_symbol_match match, struct ms_dwarf_symbol *sym_ret)
{
	struct ms_dwarf_symidx *idx = symbol_index(s, addr);
	if (!idx || !idx->n)
		return false;
	ptrdiff_t i = match == MS_DWARF_SYMBOL_NEAREST ? nearest_symbol(idx, addr)
						       : covering_symbol(idx, addr);
	if (i < 0)
		return false;
	fill_symbol(idx, (size_t)i, sym_ret);
	return true;
}

const char *ms_dwarf_symbol_at(struct ms_dwarf_session *s, uint64_t addr, uint64_t *offset_ret)
{
	struct ms_dwarf_symbol sym;
	if (!ms_dwarf_symbol_lookup(s, addr, MS_DWARF_SYMBOL_COVERING, &sym))
		return NULL;
	if (offset_ret)
		*offset_ret = addr - sym.address;
	const char *name = sym.name;
	/* gdb drops the dot of compiler-made local names (clang's .str): so do we */
	if (name[0] == '.' && name[1])
		name++;
	/* and the ".N" GCC appends to a function's static ("spin.0" is <spin>) */
	bool local_data = sym.bind == STB_LOCAL && sym.type == STT_OBJECT;
	const char *dot = local_data ? strrchr(name, '.') : NULL;
	if (dot && dot > name && dot[1] && strspn(dot + 1, "0123456789") == strlen(dot + 1)) {
		const char *cached = ms_dwarf_interned(s, dot);
		if (!cached) {
			char buf[512];
			snprintf(buf, sizeof(buf), "%.*s", (int)(dot - name), name);
			cached = ms_dwarf_intern(s, dot, buf);
		}
		if (cached)
			return cached;
	}
	return demangled_symbol(s, name);
}

bool ms_dwarf_symbol_named_at(struct ms_dwarf_session *s, uint64_t addr, const char *name)
{
	struct ms_dwarf_symidx *idx = symbol_index(s, addr);
	if (!idx)
		return false;
	size_t len = strlen(name);
	for (ptrdiff_t i = last_at_or_below(idx, addr); i >= 0 && idx->e[i].addr == addr; i--) {
		/* a versioned definition counts by its name: clock_nanosleep@@GLIBC_2.17 */
		const char *e = idx->e[i].name;
		if (strncmp(e, name, len) == 0 && (e[len] == '\0' || e[len] == '@'))
			return true;
	}
	return false;
}

struct name_query {
	struct ms_dwarf_session *s;
	const char *name;
	struct ms_dwarf_symbol *sym;
	bool found;
};

static int symbol_by_name_cb(Dwfl_Module *mod, void **ud, const char *n, Dwarf_Addr start,
			     void *arg)
{
	(void)ud;
	(void)n;
	(void)start;
	struct name_query *q = arg;
	struct ms_dwarf_symidx *idx = module_index(q->s, mod);
	if (idx && !idx->built)
		build_symbol_index(idx);
	ptrdiff_t best = -1;
	for (size_t i = 0; idx && i < idx->n; i++)
		if (strcmp(idx->e[i].name, q->name) == 0 &&
		    (best < 0 || symbol_rank(&idx->e[i]) > symbol_rank(&idx->e[best])))
			best = (ptrdiff_t)i;
	if (best < 0)
		return DWARF_CB_OK;
	fill_symbol(idx, (size_t)best, q->sym);
	q->found = true;
	return DWARF_CB_ABORT;
}

bool ms_dwarf_symbol_by_name(struct ms_dwarf_session *s, Dwfl_Module *mod, const char *name,
			     struct ms_dwarf_symbol *sym_ret)
{
	struct name_query q = {.s = s, .name = name, .sym = sym_ret};
	if (mod)
		symbol_by_name_cb(mod, NULL, NULL, 0, &q);
	else
		dwfl_getmodules(s->dwfl, symbol_by_name_cb, &q, 0);
	return q.found;
}

/* ---- source lines ---- */

/*
 * A source file named as gdb names it: the line table's directory joined to
 * the file name (what libdw gives), except that the CU's primary file keeps
 * the CU's own name when that joins to the same absolute path.
 */
static const char *relative_file(struct ms_dwarf_session *s, Dwarf_Die *cu, const char *file)
{
	(void)s;
	if (!file || file[0] != '/' || !cu)
		return file;
	Dwarf_Attribute attr;
	const char *comp_dir = dwarf_formstring(dwarf_attr(cu, DW_AT_comp_dir, &attr));
	const char *name = dwarf_diename(cu);
	if (!comp_dir || !name || name[0] == '/')
		return file;
	size_t n = strlen(comp_dir);
	if (strncmp(file, comp_dir, n) == 0 && file[n] == '/' && strcmp(file + n + 1, name) == 0)
		return name;
	return file;
}

Dwarf_Die *ms_dwarf_cu_at(struct ms_dwarf_session *s, Dwfl_Module *mod, Dwarf_Addr addr,
			  Dwarf_Addr *bias)
{
	(void)s;
	Dwarf_Die *cu = dwfl_module_addrdie(mod, addr, bias);
	if (cu)
		return cu;
	/*
	 * No .debug_aranges (clang does not write them) and libdw of this
	 * vintage does not build them from the units: ask each unit.
	 */
	cu = NULL;
	while ((cu = dwfl_module_nextcu(mod, cu, bias)))
		if (dwarf_haspc(cu, addr - *bias) == 1)
			return cu;
	return NULL;
}

bool ms_dwarf_line_at(struct ms_dwarf_session *s, uint64_t addr, struct ms_dwarf_line *line_ret)
{
	Dwfl_Module *mod = dwfl_addrmodule(s->dwfl, addr);
	Dwarf_Addr bias;
	Dwarf_Die *cu = mod ? ms_dwarf_cu_at(s, mod, addr, &bias) : NULL;
	const char *file;
	int lineno;
	Dwarf_Addr start;
	bool is_stmt;
	/* gdb's view of the unit's line table (dwarf_line.c), not libdw's rows */
	if (!cu || !ms_dwarf_line_lookup(s, mod, cu, addr - bias, &file, &lineno, &start, &is_stmt))
		return false;
	line_ret->file = relative_file(s, cu, file);
	line_ret->line = lineno;
	line_ret->row_addr = start + bias;
	line_ret->is_stmt = is_stmt;
	return true;
}

static bool path_ends_with(const char *path, const char *tail)
{
	size_t n = strlen(path), m = strlen(tail);
	if (m > n || strcmp(path + n - m, tail) != 0)
		return false;
	return m == n || path[n - m - 1] == '/' || tail[0] == '/';
}

struct line_query {
	const char *file;
	int line;
	uint64_t *addrs;
	size_t max, count;
};

static int line_module_cb(Dwfl_Module *mod, void **ud, const char *n, Dwarf_Addr start, void *arg)
{
	(void)ud;
	(void)n;
	(void)start;
	struct line_query *q = arg;
	Dwarf_Addr bias;
	Dwarf_Die *cu = NULL;
	while ((cu = dwfl_module_nextcu(mod, cu, &bias))) {
		Dwarf_Lines *lines;
		size_t nlines;
		if (dwarf_getsrclines(cu, &lines, &nlines) != 0)
			continue;
		int prev_line = -1;
		const char *prev_file = NULL;
		for (size_t i = 0; i < nlines; i++) {
			Dwarf_Line *l = dwarf_onesrcline(lines, i);
			int lineno;
			bool stmt = false, end = false;
			Dwarf_Addr addr;
			if (!l || dwarf_lineno(l, &lineno) != 0 ||
			    dwarf_linebeginstatement(l, &stmt) || dwarf_lineendsequence(l, &end) ||
			    dwarf_lineaddr(l, &addr))
				continue;
			const char *src = dwarf_linesrc(l, NULL, NULL);
			/* the first statement row of each run of the line */
			bool first = lineno != prev_line || src != prev_file;
			prev_line = end ? -1 : lineno;
			prev_file = src;
			if (end || !stmt || !first || lineno != q->line || !src ||
			    !path_ends_with(src, q->file))
				continue;
			if (q->count < q->max)
				q->addrs[q->count] = addr + bias;
			q->count++;
		}
	}
	return DWARF_CB_OK;
}

size_t ms_dwarf_line_addresses(struct ms_dwarf_session *s, const char *file, int line,
			       uint64_t *addrs, size_t max)
{
	struct line_query q = {.file = file, .line = line, .addrs = addrs, .max = max};
	dwfl_getmodules(s->dwfl, line_module_cb, &q, 0);
	return q.count;
}

/* ---- function names ---- */

bool ms_dwarf_lang_is_cplus(int lang)
{
	return lang == DW_LANG_C_plus_plus || lang == DW_LANG_C_plus_plus_03 ||
	       lang == DW_LANG_C_plus_plus_11 || lang == DW_LANG_C_plus_plus_14 ||
	       lang == DW_LANG_Rust || lang == DW_LANG_D;
}

/*
 * C++ without a linkage name (inlined, lambdas' operator()): the name with
 * the namespaces and classes it is declared in, from the declaration.
 */
static const char *qualified_name(struct ms_dwarf_session *s, Dwarf_Die *die)
{
	Dwarf_Die decl = *die, next;
	Dwarf_Attribute attr;
	for (int i = 0; i < 8; i++) {
		if (dwarf_formref_die(dwarf_attr(&decl, DW_AT_abstract_origin, &attr), &next) ||
		    dwarf_formref_die(dwarf_attr(&decl, DW_AT_specification, &attr), &next))
			decl = next;
		else
			break;
	}
	const char *name = dwarf_diename(&decl);
	if (!name)
		return NULL;
	const void *key = (const char *)decl.addr + 2;
	const char *cached = ms_dwarf_interned(s, key);
	if (cached)
		return cached;
	char buf[4096] = "";
	size_t len = 0;
	Dwarf_Die *scopes = NULL;
	int n = dwarf_getscopes_die(&decl, &scopes);
	/* Up to the first enclosing function: what is declared inside one is local. */
	int outer = 1;
	while (outer < n && (dwarf_tag(&scopes[outer]) == DW_TAG_namespace ||
			     dwarf_tag(&scopes[outer]) == DW_TAG_structure_type ||
			     dwarf_tag(&scopes[outer]) == DW_TAG_class_type ||
			     dwarf_tag(&scopes[outer]) == DW_TAG_union_type))
		outer++;
	for (int i = outer - 1; i >= 1; i--) {
		const char *part = dwarf_diename(&scopes[i]);
		if (!part && dwarf_tag(&scopes[i]) != DW_TAG_namespace)
			break; /* an unnamed class (a lambda's): gdb shows the bare name */
		len += (size_t)snprintf(buf + len, sizeof(buf) - len > 0 ? sizeof(buf) - len : 0,
					"%s::", part ? part : "(anonymous namespace)");
		if (len >= sizeof(buf))
			len = sizeof(buf) - 1;
	}
	if (n > 0)
		free(scopes);
	snprintf(buf + len, sizeof(buf) - len, "%s", name);
	const char *r = ms_dwarf_intern(s, key, buf);
	return r ? r : name;
}

const char *ms_dwarf_die_function_name(struct ms_dwarf_session *s, Dwarf_Die *die, int lang)
{
	Dwarf_Attribute attr;
	const char *linkage =
		dwarf_formstring(dwarf_attr_integrate(die, DW_AT_linkage_name, &attr));
	if (!linkage)
		linkage =
			dwarf_formstring(dwarf_attr_integrate(die, DW_AT_MIPS_linkage_name, &attr));
	if (ms_dwarf_lang_is_cplus(lang)) {
		if (linkage)
			return demangled(s, linkage);
		return qualified_name(s, die);
	}
	/* C keeps the linkage form (the asm name, e.g. __GI___libc_read). */
	if (linkage)
		return linkage;
	Dwarf_Attribute *name = dwarf_attr_integrate(die, DW_AT_name, &attr);
	return name ? dwarf_formstring(name) : NULL;
}

/* ---- frames ---- */

static int physical_scopes(Dwarf_Die *cudie, Dwarf_Addr pc, Dwarf_Die **scopes_ret)
{
	/*
	 * dwarf_getscopes continues from an inlined call into the inlined
	 * function's abstract definition (for name lookup); a backtrace wants
	 * the concrete nesting, callers of inlined calls included.
	 */
	Dwarf_Die *first = NULL;
	int n = dwarf_getscopes(cudie, pc, &first);
	if (n <= 0) {
		free(first);
		*scopes_ret = NULL;
		return n;
	}
	Dwarf_Die innermost = first[0];
	/*
	 * Sibling functions over the same addresses (assembler aliases): gdb's
	 * block lookup settles on the last of them.
	 */
	if (n == 2 && dwarf_tag(&innermost) == DW_TAG_subprogram) {
		Dwarf_Die sib = innermost;
		while (dwarf_siblingof(&sib, &sib) == 0)
			if (dwarf_tag(&sib) == DW_TAG_subprogram && dwarf_haspc(&sib, pc) == 1)
				innermost = sib;
	}
	free(first);
	*scopes_ret = NULL;
	n = dwarf_getscopes_die(&innermost, scopes_ret);
	if (n <= 0) {
		free(*scopes_ret);
		*scopes_ret = NULL;
	}
	return n;
}

int ms_dwarf_physical_scopes(struct ms_dwarf_session *s, Dwfl_Module *mod, Dwarf_Die *cudie,
			     Dwarf_Addr pc, Dwarf_Die **scopes_ret)
{
	size_t slot = (size_t)((pc ^ ((uintptr_t)mod >> 4)) % 1024);
	for (struct ms_dwarf_scopes *e = s->scopes[slot]; e; e = e->next) {
		if (e->mod == mod && e->pc == pc) {
			*scopes_ret = e->scopes;
			return e->n;
		}
	}
	struct ms_dwarf_scopes *e = calloc(1, sizeof(*e));
	if (!e)
		return -1;
	e->mod = mod;
	e->pc = pc;
	e->n = physical_scopes(cudie, pc, &e->scopes);
	e->next = s->scopes[slot];
	s->scopes[slot] = e;
	*scopes_ret = e->scopes;
	return e->n;
}

static const char *call_site_file(struct ms_dwarf_session *s, Dwarf_Die *cu, Dwarf_Die *inl,
				  int *line_ret)
{
	Dwarf_Attribute attr;
	Dwarf_Word file_idx = 0, line = 0;
	if (dwarf_formudata(dwarf_attr(inl, DW_AT_call_file, &attr), &file_idx) != 0)
		return NULL;
	dwarf_formudata(dwarf_attr(inl, DW_AT_call_line, &attr), &line);
	Dwarf_Files *files;
	size_t nfiles;
	if (dwarf_getsrcfiles(cu, &files, &nfiles) != 0 || file_idx >= nfiles)
		return NULL;
	const char *name = dwarf_filesrc(files, file_idx, NULL, NULL);
	*line_ret = (int)line;
	return relative_file(s, cu, name);
}

void ms_dwarf_frame_deinit(struct ms_dwarf_frame *frame)
{
	free(frame->blocks);
	frame->blocks = NULL;
	frame->nblocks = 0;
}

struct ms_error *ms_dwarf_frames_at(struct ms_dwarf_session *s, uint64_t pc, bool activation,
				    const struct ms_dwarf_regs *regs, int physical,
				    struct ms_dwarf_frame *frames, size_t max, size_t *count_ret)
{
	if (!max) {
		*count_ret = 0;
		return NULL;
	}
	uint64_t lookup = activation ? pc : pc - 1;
	struct ms_dwarf_frame base = {
		.session = s,
		.pc = pc,
		.activation = activation,
		.physical = physical,
	};
	if (regs)
		base.regs = *regs;
	base.mod = dwfl_addrmodule(s->dwfl, lookup);
	Dwarf_Die *cudie = base.mod ? ms_dwarf_cu_at(s, base.mod, lookup, &base.bias) : NULL;
	Dwarf_Die *scopes = NULL;
	int nscopes =
		cudie ? ms_dwarf_physical_scopes(s, base.mod, cudie, lookup - base.bias, &scopes)
		      : 0;
	if (nscopes <= 0) {
		/* No debug info for this pc: the ELF symbol names it. */
		frames[0] = base;
		frames[0].name = ms_dwarf_symbol_at(s, lookup, NULL);
		*count_ret = 1;
		return NULL;
	}
	base.cu = *cudie;
	base.lang = dwarf_srclang(cudie);
	if (base.lang < 0)
		base.lang = 0;

	/* The physical frame's subprogram: the outermost function scope. */
	Dwarf_Die function = {0};
	bool has_function = false;
	for (int i = nscopes - 1; i >= 0; i--) {
		if (dwarf_tag(&scopes[i]) == DW_TAG_subprogram) {
			function = scopes[i];
			has_function = true;
			break;
		}
	}

	size_t n = 0;
	int block_start = 0;
	struct ms_error *err = NULL;
	for (int i = 0; i < nscopes && n < max; i++) {
		int tag = dwarf_tag(&scopes[i]);
		if (tag != DW_TAG_subprogram && tag != DW_TAG_inlined_subroutine)
			continue;
		struct ms_dwarf_frame *f = &frames[n];
		*f = base;
		f->has_scope = true;
		f->scope = scopes[i];
		f->function = has_function ? function : scopes[i];
		f->inlined = tag == DW_TAG_inlined_subroutine;
		f->inline_callee = n > 0;
		f->nblocks = i - block_start;
		if (f->nblocks) {
			f->blocks = malloc((size_t)f->nblocks * sizeof(*f->blocks));
			if (!f->blocks) {
				err = &ms_error_no_memory;
				break;
			}
			memcpy(f->blocks, &scopes[block_start],
			       (size_t)f->nblocks * sizeof(Dwarf_Die));
		}
		f->name = ms_dwarf_die_function_name(s, &scopes[i], f->lang);
		if (n == 0) {
			f->has_line = ms_dwarf_line_at(s, lookup, &f->line);
		} else {
			/* The call site of the frame inlined into this one. */
			int line = 0;
			const char *file = call_site_file(s, cudie, &frames[n - 1].scope, &line);
			if (file) {
				f->has_line = true;
				f->line.file = file;
				f->line.line = line;
				f->line.row_addr = 0;
				f->line.is_stmt = true;
			}
		}
		block_start = i + 1;
		n++;
		if (tag == DW_TAG_subprogram)
			break;
	}
	for (size_t i = 0; i + 1 < n; i++)
		frames[i].outer = &frames[i + 1];
	if (err) {
		for (size_t i = 0; i < n; i++)
			ms_dwarf_frame_deinit(&frames[i]);
		return err;
	}
	if (n == 0) {
		frames[0] = base;
		frames[0].name = ms_dwarf_symbol_at(s, lookup, NULL);
		n = 1;
	}
	*count_ret = n;
	return NULL;
}

/* Where a function's code starts as gdb's block has it: low_pc, else its first range. */
static bool function_start(Dwarf_Die *die, Dwarf_Addr *pc_ret)
{
	if (dwarf_lowpc(die, pc_ret) == 0)
		return true;
	Dwarf_Addr base, start, end;
	if (dwarf_ranges(die, 0, &base, &start, &end) > 0) {
		*pc_ret = start;
		return true;
	}
	return false;
}

const char *ms_dwarf_address_name(struct ms_dwarf_session *s, uint64_t addr, uint64_t *offset_ret)
{
	const char *fname = NULL;
	uint64_t fstart = 0;
	Dwfl_Module *mod = dwfl_addrmodule(s->dwfl, addr);
	Dwarf_Addr bias = 0;
	Dwarf_Die *cudie = mod ? ms_dwarf_cu_at(s, mod, addr, &bias) : NULL;
	Dwarf_Die *scopes = NULL;
	int n = cudie ? ms_dwarf_physical_scopes(s, mod, cudie, addr - bias, &scopes) : 0;
	/* the innermost function that is not an inlined call (gdb's linkage block) */
	for (int i = 0; i < n; i++) {
		if (dwarf_tag(&scopes[i]) != DW_TAG_subprogram)
			continue;
		Dwarf_Addr start;
		if (function_start(&scopes[i], &start)) {
			int lang = dwarf_srclang(cudie);
			fname = ms_dwarf_die_function_name(s, &scopes[i], lang < 0 ? 0 : lang);
			fstart = start + bias;
		}
		break;
	}
	struct ms_dwarf_symbol sym;
	bool has_sym = ms_dwarf_symbol_lookup(s, addr, MS_DWARF_SYMBOL_COVERING, &sym);
	/* gdb drops a zero-sized symbol unless it is code */
	if (has_sym && !sym.size && sym.type != STT_FUNC && sym.type != STT_GNU_IFUNC)
		has_sym = false;
	if (fname && !(has_sym && sym.address == addr && fstart != addr)) {
		if (offset_ret)
			*offset_ret = addr - fstart;
		return fname;
	}
	return has_sym ? ms_dwarf_symbol_at(s, addr, offset_ret) : NULL;
}

bool ms_dwarf_frame_show_address(const struct ms_dwarf_frame *f)
{
	if (!f->has_line)
		return true;
	/* The outer frame of an inlined call shares the pc: gdb shows no address. */
	if (f->inline_callee)
		return false;
	if (!f->activation)
		return true;
	/* gdb: in the middle of a line, or on a row that is not a statement */
	return f->pc != f->line.row_addr || !f->line.is_stmt;
}

struct ms_error *ms_dwarf_frame_cfa(struct ms_dwarf_frame *f, uint64_t *cfa_ret);

/* ---- variables ---- */

static bool is_variable_die(Dwarf_Die *die, enum ms_dwarf_var_kind kind)
{
	int tag = dwarf_tag(die);
	if (kind == MS_DWARF_PARAMS)
		return tag == DW_TAG_formal_parameter;
	/* A label the compiler removed is an optimized-out local to gdb. */
	if (tag == DW_TAG_label)
		return !dwarf_hasattr(die, DW_AT_low_pc);
	return tag == DW_TAG_variable;
}

static struct ms_error *add_var(struct ms_dwarf_variables *v, size_t *cap, Dwarf_Die *die)
{
	struct ms_dwarf_variable *grown = ms_grow(v->vars, v->count, cap, sizeof(*grown), 8);
	if (!grown)
		return &ms_error_no_memory;
	v->vars = grown;
	struct ms_dwarf_variable *var = &v->vars[v->count++];
	var->die = *die;
	Dwarf_Attribute attr;
	var->name = dwarf_formstring(dwarf_attr_integrate(die, DW_AT_name, &attr));
	var->is_param = dwarf_tag(die) == DW_TAG_formal_parameter;
	return NULL;
}

/*
 * gdb's symbol-name hash (its dictionary's search-name hash for C): the
 * order of a lexical block's locals follows its hash buckets.
 */
static unsigned int hash_next(unsigned int h, char c)
{
	unsigned char u = (unsigned char)c;
	if (u >= 'A' && u <= 'Z')
		u = (unsigned char)(u - 'A' + 'a');
	return h * 67 + u - 113;
}

static unsigned int hash_iw(const char *s)
{
	unsigned int h = 0;
	while (*s && *s != '(') {
		while (*s == ' ' || *s == '\t' || *s == '\n')
			s++;
		if (*s && *s != '(') {
			h = hash_next(h, *s);
			s++;
		}
	}
	return h;
}

static unsigned int search_name_hash(const char *s0)
{
	const char *s = s0;
	if (*s == '_') {
		if (strncmp(s, "_ada_", 5) == 0)
			s += 5;
		else
			return hash_iw(s0);
	}
	unsigned int h = 0;
	while (*s) {
		switch (*s) {
		case '$':
		case '.':
		case 'X':
			if (s == s0)
				return hash_iw(s0);
			break;
		case ' ':
		case '(':
			return hash_iw(s0);
		case '_':
			if (s[1] == '_' && s != s0) {
				int c = s[2];
				if ((c < 'a' || c > 'z') && c != 'O')
					return h;
				h = 0;
				s += 2;
				continue;
			}
			break;
		case 'T':
			if (strcmp(s, "TKB") == 0)
				return h;
			break;
		}
		h = hash_next(h, *s);
		s++;
	}
	return h;
}

struct hashed_var {
	struct ms_dwarf_variable var;
	unsigned bucket;
	size_t order;
};

static int cmp_hashed(const void *a, const void *b)
{
	const struct hashed_var *x = a, *y = b;
	if (x->bucket != y->bucket)
		return x->bucket < y->bucket ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

static bool has_pc_bounds(Dwarf_Die *die)
{
	return dwarf_hasattr(die, DW_AT_low_pc) || dwarf_hasattr(die, DW_AT_ranges) ||
	       dwarf_hasattr(die, DW_AT_entry_pc);
}

static bool is_named_type_symbol(Dwarf_Die *die)
{
	switch (dwarf_tag(die)) {
	case DW_TAG_label:
	case DW_TAG_typedef:
	case DW_TAG_subprogram:
		return dwarf_diename(die) != NULL;
	case DW_TAG_structure_type:
	case DW_TAG_union_type:
	case DW_TAG_class_type:
	case DW_TAG_enumeration_type:
		return dwarf_diename(die) && !dwarf_hasattr(die, DW_AT_declaration);
	default:
		return false;
	}
}

static bool is_const_bytes(Dwarf_Die *die)
{
	Dwarf_Attribute attr;
	if (!dwarf_attr_integrate(die, DW_AT_const_value, &attr))
		return false;
	unsigned form = dwarf_whatform(&attr);
	return form == DW_FORM_block || form == DW_FORM_block1 || form == DW_FORM_block2 ||
	       form == DW_FORM_block4 || form == DW_FORM_exprloc || form == DW_FORM_string ||
	       form == DW_FORM_strp || form == DW_FORM_line_strp;
}

struct collect {
	enum ms_dwarf_var_kind kind;
	struct ms_dwarf_variables *v;
	size_t *cap;
	int symbols; /* everything gdb makes a symbol of in this block (for its hash) */
};

static struct ms_error *collect_children(struct collect *c, Dwarf_Die *scope, int depth);

/* Children of the abstract origin that the concrete DIE does not mention (gdb adds them). */
static struct ms_error *collect_abstract(struct collect *c, Dwarf_Die *scope, int depth)
{
	Dwarf_Attribute attr;
	Dwarf_Die origin;
	if (!dwarf_formref_die(dwarf_attr(scope, DW_AT_abstract_origin, &attr), &origin))
		return NULL;
	Dwarf_Off referenced[256];
	size_t nref = 0;
	Dwarf_Die child;
	if (dwarf_child(scope, &child) == 0) {
		do {
			int tag = dwarf_tag(&child);
			if (tag == DW_TAG_call_site || tag == DW_TAG_GNU_call_site)
				continue;
			Dwarf_Die o;
			if (dwarf_formref_die(dwarf_attr(&child, DW_AT_abstract_origin, &attr),
					      &o) &&
			    nref < 256)
				referenced[nref++] = dwarf_dieoffset(&o);
		} while (dwarf_siblingof(&child, &child) == 0);
	}
	if (dwarf_child(&origin, &child) != 0)
		return NULL;
	do {
		Dwarf_Off off = dwarf_dieoffset(&child);
		bool seen = false;
		for (size_t i = 0; i < nref && !seen; i++)
			seen = referenced[i] == off;
		if (seen)
			continue;
		int tag = dwarf_tag(&child);
		if (tag == DW_TAG_lexical_block) {
			struct ms_error *err = collect_children(c, &child, depth + 1);
			if (err)
				return err;
			continue;
		}
		if (is_named_type_symbol(&child))
			c->symbols++;
		if (!is_variable_die(&child, c->kind) || !dwarf_diename(&child) ||
		    dwarf_hasattr(&child, DW_AT_declaration))
			continue;
		c->symbols++;
		struct ms_error *err = add_var(c->v, c->cap, &child);
		if (err)
			return err;
	} while (dwarf_siblingof(&child, &child) == 0);
	return NULL;
}

static struct ms_error *collect_children(struct collect *c, Dwarf_Die *scope, int depth)
{
	if (depth > 16)
		return NULL;
	Dwarf_Die child;
	struct ms_error *err;
	if (dwarf_child(scope, &child) == 0) {
		do {
			int tag = dwarf_tag(&child);
			/* A block without addresses: gdb reads its children into this block. */
			if (tag == DW_TAG_lexical_block && !has_pc_bounds(&child)) {
				err = collect_children(c, &child, depth + 1);
				if (err)
					return err;
				continue;
			}
			if (is_named_type_symbol(&child))
				c->symbols++;
			if (tag == DW_TAG_enumeration_type) {
				Dwarf_Die e;
				if (dwarf_child(&child, &e) == 0)
					do
						c->symbols += dwarf_tag(&e) == DW_TAG_enumerator;
					while (dwarf_siblingof(&e, &e) == 0);
			}
			if (tag == DW_TAG_variable || tag == DW_TAG_formal_parameter) {
				Dwarf_Attribute attr;
				if (dwarf_attr_integrate(&child, DW_AT_name, &attr))
					c->symbols++;
			}
			if (!is_variable_die(&child, c->kind))
				continue;
			Dwarf_Attribute attr;
			if (!dwarf_attr_integrate(&child, DW_AT_name, &attr))
				continue;
			/* A declaration inside a function (extern int x;) is not a local;
			 * nor, for gdb, is a constant folded into bytes (a float, say). */
			if (dwarf_hasattr(&child, DW_AT_declaration) ||
			    (c->kind == MS_DWARF_LOCALS && is_const_bytes(&child)))
				continue;
			err = add_var(c->v, c->cap, &child);
			if (err)
				return err;
		} while (dwarf_siblingof(&child, &child) == 0);
	}
	return collect_abstract(c, scope, depth);
}

/* Append the variables of one scope; lexical blocks come out in gdb's hash order. */
static struct ms_error *scope_variables(Dwarf_Die *scope, enum ms_dwarf_var_kind kind, bool hashed,
					struct ms_dwarf_variables *v, size_t *cap)
{
	size_t first = v->count;
	struct collect c = {.kind = kind, .v = v, .cap = cap};
	struct ms_error *err = collect_children(&c, scope, 0);
	if (err)
		return err;
	size_t n = v->count - first;
	if (!hashed || n < 2)
		return NULL;
	unsigned nbuckets = (unsigned)(c.symbols / 5 + 1);
	struct hashed_var *h = malloc(n * sizeof(*h));
	if (!h)
		return &ms_error_no_memory;
	for (size_t i = 0; i < n; i++) {
		h[i].var = v->vars[first + i];
		h[i].bucket = search_name_hash(h[i].var.name) % nbuckets;
		h[i].order = i;
	}
	qsort(h, n, sizeof(*h), cmp_hashed);
	for (size_t i = 0; i < n; i++)
		v->vars[first + i] = h[i].var;
	free(h);
	return NULL;
}

struct ms_error *ms_dwarf_frame_variables(struct ms_dwarf_frame *f, enum ms_dwarf_var_kind kind,
					  struct ms_dwarf_variables *vars_ret)
{
	struct ms_dwarf_variables v = {0};
	size_t cap = 0;
	struct ms_error *err = NULL;
	if (!f->has_scope)
		goto out;
	if (kind == MS_DWARF_LOCALS) {
		for (int i = 0; i < f->nblocks && !err; i++)
			err = scope_variables(&f->blocks[i], kind, true, &v, &cap);
	}
	if (!err)
		err = scope_variables(&f->scope, kind, false, &v, &cap);
out:
	if (err) {
		free(v.vars);
		return err;
	}
	*vars_ret = v;
	return NULL;
}

struct global_lookup {
	const char *name;
	struct ms_dwarf_variable *var;
	uint64_t addr;
	bool found;
};

static bool global_in_cu(Dwarf_Die *cu, Dwarf_Addr bias, struct global_lookup *g)
{
	Dwarf_Die child;
	if (dwarf_child(cu, &child) != 0)
		return false;
	do {
		if (dwarf_tag(&child) != DW_TAG_variable)
			continue;
		Dwarf_Attribute attr;
		const char *name =
			dwarf_formstring(dwarf_attr_integrate(&child, DW_AT_name, &attr));
		if (!name || strcmp(name, g->name) != 0)
			continue;
		Dwarf_Op *ops;
		size_t nops;
		if (!dwarf_attr(&child, DW_AT_location, &attr) ||
		    dwarf_getlocation(&attr, &ops, &nops) != 0 || nops != 1)
			continue;
		Dwarf_Addr addr;
		Dwarf_Attribute indexed;
		if (ops[0].atom == DW_OP_addr)
			addr = ops[0].number;
		else if ((ops[0].atom == DW_OP_addrx || ops[0].atom == DW_OP_GNU_addr_index) &&
			 dwarf_getlocation_attr(&attr, &ops[0], &indexed) == 0 &&
			 dwarf_formaddr(&indexed, &addr) == 0)
			;
		else
			continue;
		g->var->die = child;
		g->var->name = name;
		g->var->is_param = false;
		g->addr = addr + bias;
		g->found = true;
		return true;
	} while (dwarf_siblingof(&child, &child) == 0);
	return false;
}

static int global_module_cb(Dwfl_Module *mod, void **ud, const char *n, Dwarf_Addr start, void *arg)
{
	(void)ud;
	(void)n;
	(void)start;
	struct global_lookup *g = arg;
	Dwarf_Addr bias;
	Dwarf_Die *cu = NULL;
	while ((cu = dwfl_module_nextcu(mod, cu, &bias)))
		if (global_in_cu(cu, bias, g))
			return DWARF_CB_ABORT;
	return DWARF_CB_OK;
}

bool ms_dwarf_global_variable(struct ms_dwarf_session *s, const char *name,
			      struct ms_dwarf_variable *var_ret, uint64_t *addr_ret)
{
	struct global_lookup g = {.name = name, .var = var_ret};
	dwfl_getmodules(s->dwfl, global_module_cb, &g, 0);
	if (g.found)
		*addr_ret = g.addr;
	return g.found;
}
