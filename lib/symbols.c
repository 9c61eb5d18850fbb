/* SPDX-License-Identifier: MIT */
#include "symbols.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <inttypes.h>
#include <libelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

#include "maps.h"
#include "pagemap.h"
#include "target.h"

struct sym_entry {
	uint64_t value, size;
	const char *name;
	unsigned char type, bind;
};

struct load_seg {
	uint64_t offset, vaddr, filesz, memsz;
};

struct addr_range {
	uint64_t start, end;
};

struct elf_file {
	char *path; /* as the mapping names it */
	uint64_t inode;
	uint32_t dev_major, dev_minor;
	bool is_vdso;
	bool opened, failed, syms_loaded;
	int fd, debug_fd;
	Elf *elf, *debug_elf;
	void *image; /* vdso bytes copied from the target */
	struct load_seg *loads;
	size_t nloads;
	uint64_t load_end;	     /* highest p_vaddr + p_memsz */
	struct addr_range *sections; /* SHF_ALLOC sections, sorted */
	size_t nsections;
	struct sym_entry *syms; /* sorted by value, best name first at equal values */
	size_t nsyms;
};

struct ms_symbols {
	struct ms_target *target;
	const struct ms_maps *maps;
	struct elf_file *files;
	size_t nfiles, capfiles;
	int *vma_file; /* per mapping: file index, -1 none, -2 not looked at yet */
	uint64_t *vma_bias;
	size_t problems;
};

static void elf_init_once(void)
{
	static bool done;
	if (!done) {
		elf_version(EV_CURRENT);
		done = true;
	}
}

struct ms_error *ms_symbols_create(struct ms_target *target, struct ms_symbols **syms_ret)
{
	const struct ms_maps *maps;
	struct ms_error *err = ms_target_maps(target, MS_MAPS_BASIC, &maps);
	if (err)
		return err;
	elf_init_once();
	struct ms_symbols *s = calloc(1, sizeof(*s));
	if (!s)
		return &ms_error_no_memory;
	s->target = target;
	s->maps = maps;
	size_t n = maps->count ? maps->count : 1;
	s->vma_file = malloc(n * sizeof(*s->vma_file));
	s->vma_bias = calloc(n, sizeof(*s->vma_bias));
	if (!s->vma_file || !s->vma_bias) {
		ms_symbols_destroy(s);
		return &ms_error_no_memory;
	}
	for (size_t i = 0; i < n; i++)
		s->vma_file[i] = -2;
	*syms_ret = s;
	return NULL;
}

static void file_close(struct elf_file *f)
{
	if (f->debug_elf)
		elf_end(f->debug_elf);
	if (f->elf)
		elf_end(f->elf);
	if (f->debug_fd >= 0)
		close(f->debug_fd);
	if (f->fd >= 0)
		close(f->fd);
	free(f->image);
	free(f->loads);
	free(f->sections);
	free(f->syms);
	free(f->path);
}

void ms_symbols_destroy(struct ms_symbols *syms)
{
	if (!syms)
		return;
	for (size_t i = 0; i < syms->nfiles; i++)
		file_close(&syms->files[i]);
	free(syms->files);
	free(syms->vma_file);
	free(syms->vma_bias);
	free(syms);
}

size_t ms_symbols_problems(const struct ms_symbols *syms)
{
	return syms->problems;
}

/* Open the file a mapping names, making sure it is the one mapped. */
static int open_mapped(struct ms_symbols *s, const struct ms_vma *vma)
{
	char alt[4200], map_files[64];
	const char *candidates[3] = {vma->name, NULL, NULL};
	size_t n = 1;
	if (ms_target_kind(s->target) == MS_TARGET_LIVE) {
		int pid = (int)ms_target_pid(s->target);
		/* the process may live in another mount namespace, or the file be gone */
		snprintf(alt, sizeof(alt), "/proc/%d/root%s", pid, vma->name);
		candidates[n++] = alt;
		snprintf(map_files, sizeof(map_files), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64,
			 pid, vma->start, vma->end);
		candidates[n++] = map_files;
	}
	for (size_t i = 0; i < n; i++) {
		if (vma->deleted && i == 0)
			continue;
		int fd = open(candidates[i], O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		struct stat st;
		if (vma->inode && (fstat(fd, &st) < 0 || (uint64_t)st.st_ino != vma->inode)) {
			close(fd);
			continue;
		}
		return fd;
	}
	return -1;
}

static int range_cmp(const void *a, const void *b)
{
	const struct addr_range *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

/* Program headers and section ranges: enough to place the file, no symbols yet. */
static bool read_headers(struct elf_file *f)
{
	GElf_Ehdr eh;
	if (elf_kind(f->elf) != ELF_K_ELF || !gelf_getehdr(f->elf, &eh))
		return false;
	size_t nph;
	if (elf_getphdrnum(f->elf, &nph) != 0)
		return false;
	f->loads = calloc(nph ? nph : 1, sizeof(*f->loads));
	if (!f->loads)
		return false;
	for (size_t i = 0; i < nph; i++) {
		GElf_Phdr ph;
		if (!gelf_getphdr(f->elf, (int)i, &ph) || ph.p_type != PT_LOAD)
			continue;
		f->loads[f->nloads++] =
			(struct load_seg){ph.p_offset, ph.p_vaddr, ph.p_filesz, ph.p_memsz};
		if (ph.p_vaddr + ph.p_memsz > f->load_end)
			f->load_end = ph.p_vaddr + ph.p_memsz;
	}
	size_t nsec = 0;
	if (elf_getshdrnum(f->elf, &nsec) == 0 && nsec) {
		f->sections = calloc(nsec, sizeof(*f->sections));
		if (!f->sections)
			return false;
		for (Elf_Scn *scn = elf_nextscn(f->elf, NULL); scn;
		     scn = elf_nextscn(f->elf, scn)) {
			GElf_Shdr sh;
			if (!gelf_getshdr(scn, &sh) || !(sh.sh_flags & SHF_ALLOC) || !sh.sh_size)
				continue;
			f->sections[f->nsections++] =
				(struct addr_range){sh.sh_addr, sh.sh_addr + sh.sh_size};
		}
		qsort(f->sections, f->nsections, sizeof(*f->sections), range_cmp);
	}
	return f->nloads > 0;
}

/* The size of our own vdso image, from its ELF headers (it is wholly in memory). */
static size_t own_vdso_size(const uint8_t *image)
{
	Elf64_Ehdr eh;
	memcpy(&eh, image, sizeof(eh));
	if (memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 || eh.e_ident[EI_CLASS] != ELFCLASS64)
		return 0;
	size_t end = eh.e_shoff + (size_t)eh.e_shnum * eh.e_shentsize;
	for (size_t i = 0; i < eh.e_phnum; i++) {
		Elf64_Phdr ph;
		memcpy(&ph, image + eh.e_phoff + i * eh.e_phentsize, sizeof(ph));
		if (ph.p_type == PT_LOAD && ph.p_offset + ph.p_filesz > end)
			end = ph.p_offset + ph.p_filesz;
	}
	return end;
}

static bool file_open(struct ms_symbols *s, struct elf_file *f, const struct ms_vma *vma)
{
	if (f->opened)
		return !f->failed;
	f->opened = true;
	f->failed = true;
	if (f->is_vdso) {
		size_t len = vma->end - vma->start;
		f->image = malloc(len);
		if (!f->image)
			return false;
		size_t done = 0;
		struct ms_error *err =
			ms_target_read(s->target, vma->start, f->image, len, 0, &done);
		ms_error_destroy(err);
		if (done < 64)
			return false;
		/*
		 * Pages of the vdso the target never used are not present, and
		 * reading them would fault them in. A live target on this machine
		 * has the kernel's one vdso image, which is ours too: use our copy
		 * when what could be read matches it.
		 */
		const uint8_t *own = (const uint8_t *)getauxval(AT_SYSINFO_EHDR);
		if (done < len && own && ms_target_kind(s->target) == MS_TARGET_LIVE) {
			size_t own_len = own_vdso_size(own);
			if (own_len >= done && own_len <= len && memcmp(own, f->image, done) == 0) {
				memcpy(f->image, own, own_len);
				done = own_len;
			}
		}
		f->elf = elf_memory(f->image, done);
	} else {
		f->fd = open_mapped(s, vma);
		if (f->fd < 0)
			return false;
		f->elf = elf_begin(f->fd, ELF_C_READ_MMAP, NULL);
	}
	if (!f->elf || !read_headers(f))
		return false;
	f->failed = false;
	return true;
}

/* The file behind mapping i (or, for .bss, the file mapped just before it). */
static int vma_file(struct ms_symbols *s, size_t i);

static int file_index(struct ms_symbols *s, const struct ms_vma *vma)
{
	bool vdso = vma->kind == MS_VMA_VDSO;
	for (size_t i = 0; i < s->nfiles; i++) {
		struct elf_file *f = &s->files[i];
		if (vdso ? f->is_vdso
			 : (!f->is_vdso && f->inode == vma->inode &&
			    f->dev_major == vma->dev_major && f->dev_minor == vma->dev_minor &&
			    strcmp(f->path, vma->name) == 0))
			return (int)i;
	}
	if (s->nfiles == s->capfiles) {
		size_t cap = s->capfiles ? s->capfiles * 2 : 16;
		struct elf_file *grown = realloc(s->files, cap * sizeof(*grown));
		if (!grown)
			return -1;
		s->files = grown;
		s->capfiles = cap;
	}
	struct elf_file *f = &s->files[s->nfiles];
	memset(f, 0, sizeof(*f));
	f->fd = f->debug_fd = -1;
	f->is_vdso = vdso;
	f->path = strdup(vdso ? "[vdso]" : vma->name);
	if (!f->path)
		return -1;
	f->inode = vma->inode;
	f->dev_major = vma->dev_major;
	f->dev_minor = vma->dev_minor;
	return (int)s->nfiles++;
}

/* The load bias that puts file offset vma->offset at vma->start. */
static bool vma_bias(const struct elf_file *f, const struct ms_vma *vma, uint64_t *bias_ret)
{
	uint64_t page = ms_page_size();
	for (size_t i = 0; i < f->nloads; i++) {
		const struct load_seg *l = &f->loads[i];
		uint64_t lo = l->offset / page * page;
		uint64_t hi = l->offset + (l->filesz ? l->filesz : 1);
		if (vma->offset >= lo && vma->offset < hi) {
			*bias_ret = vma->start - vma->offset - (l->vaddr - l->offset);
			return true;
		}
	}
	return false;
}

static int vma_file(struct ms_symbols *s, size_t i)
{
	if (s->vma_file[i] != -2)
		return s->vma_file[i];
	const struct ms_vma *vma = &s->maps->vmas[i];
	s->vma_file[i] = -1;
	if (vma->kind == MS_VMA_FILE || vma->kind == MS_VMA_VDSO) {
		int fi = file_index(s, vma);
		if (fi < 0)
			return -1;
		struct elf_file *f = &s->files[fi];
		bool was_opened = f->opened;
		if (!file_open(s, f, vma)) {
			if (!was_opened && !f->is_vdso)
				s->problems++;
			return -1;
		}
		if (!vma_bias(f, vma, &s->vma_bias[i]))
			return -1;
		s->vma_file[i] = fi;
	} else if (vma->kind == MS_VMA_ANON && i > 0 && s->maps->vmas[i - 1].end == vma->start &&
		   !(vma->prot & MS_PROT_SHARED)) {
		/* .bss past the file's end is anonymous, right after the data mapping */
		int fi = vma_file(s, i - 1);
		if (fi >= 0 && vma->start - s->vma_bias[i - 1] < s->files[fi].load_end) {
			s->vma_file[i] = fi;
			s->vma_bias[i] = s->vma_bias[i - 1];
		}
	}
	return s->vma_file[i];
}

/* ---- symbol tables ---- */

static int rank(const struct sym_entry *e)
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

static int sym_cmp(const void *a, const void *b)
{
	const struct sym_entry *x = a, *y = b;
	if (x->value != y->value)
		return x->value < y->value ? -1 : 1;
	/* functions and objects first; among aliases the public name (getpid, not __getpid) */
	int tx = rank(x) / 4, ty = rank(y) / 4;
	if (tx != ty)
		return ty - tx;
	size_t ux = strspn(x->name, "_"), uy = strspn(y->name, "_");
	if (ux != uy)
		return ux < uy ? -1 : 1;
	int rx = rank(x), ry = rank(y);
	if (rx != ry)
		return ry - rx;
	if (x->size != y->size)
		return x->size > y->size ? -1 : 1;
	return strcmp(x->name, y->name);
}

static Elf_Scn *find_section(Elf *elf, GElf_Word type)
{
	for (Elf_Scn *scn = elf_nextscn(elf, NULL); scn; scn = elf_nextscn(elf, scn)) {
		GElf_Shdr sh;
		if (gelf_getshdr(scn, &sh) && sh.sh_type == type && sh.sh_size)
			return scn;
	}
	return NULL;
}

/* The GNU build-id as hex, or false. */
static bool build_id(Elf *elf, char *hex, size_t len)
{
	for (Elf_Scn *scn = elf_nextscn(elf, NULL); scn; scn = elf_nextscn(elf, scn)) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		Elf_Data *data = elf_getdata(scn, NULL);
		if (!data)
			continue;
		size_t off = 0, name_off, desc_off;
		GElf_Nhdr nh;
		while ((off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
			if (nh.n_type != NT_GNU_BUILD_ID || nh.n_namesz != 4 ||
			    memcmp((char *)data->d_buf + name_off, "GNU", 4) != 0)
				continue;
			const unsigned char *d = (const unsigned char *)data->d_buf + desc_off;
			if (nh.n_descsz * 2 + 1 > len || nh.n_descsz < 2)
				return false;
			for (size_t i = 0; i < nh.n_descsz; i++)
				snprintf(hex + 2 * i, 3, "%02x", d[i]);
			return true;
		}
	}
	return false;
}

/* A .symtab in /usr/lib/debug/.build-id/xx/rest.debug, if installed. */
static Elf_Scn *debug_symtab(struct elf_file *f)
{
	char id[130], path[300];
	if (!build_id(f->elf, id, sizeof(id)))
		return NULL;
	snprintf(path, sizeof(path), "/usr/lib/debug/.build-id/%.2s/%s.debug", id, id + 2);
	f->debug_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (f->debug_fd < 0)
		return NULL;
	f->debug_elf = elf_begin(f->debug_fd, ELF_C_READ_MMAP, NULL);
	if (!f->debug_elf)
		return NULL;
	return find_section(f->debug_elf, SHT_SYMTAB);
}

static bool load_symbols(struct elf_file *f)
{
	if (f->syms_loaded)
		return f->nsyms > 0;
	f->syms_loaded = true;
	Elf *elf = f->elf;
	Elf_Scn *scn = find_section(elf, SHT_SYMTAB);
	if (!scn && !f->is_vdso && (scn = debug_symtab(f)))
		elf = f->debug_elf;
	if (!scn) {
		elf = f->elf;
		scn = find_section(elf, SHT_DYNSYM);
	}
	if (!scn)
		return false;
	GElf_Shdr sh;
	Elf_Data *data = elf_getdata(scn, NULL);
	if (!gelf_getshdr(scn, &sh) || !data || !sh.sh_entsize)
		return false;
	size_t n = sh.sh_size / sh.sh_entsize;
	f->syms = calloc(n ? n : 1, sizeof(*f->syms));
	if (!f->syms)
		return false;
	for (size_t i = 0; i < n; i++) {
		GElf_Sym sym;
		if (!gelf_getsym(data, (int)i, &sym))
			continue;
		unsigned type = GELF_ST_TYPE(sym.st_info);
		if (sym.st_shndx == SHN_UNDEF || sym.st_shndx == SHN_ABS ||
		    sym.st_shndx == SHN_COMMON || type == STT_SECTION || type == STT_FILE ||
		    type == STT_TLS)
			continue;
		const char *name = elf_strptr(elf, sh.sh_link, sym.st_name);
		if (!name || !*name)
			continue;
		f->syms[f->nsyms++] =
			(struct sym_entry){sym.st_value, sym.st_size, name, (unsigned char)type,
					   (unsigned char)GELF_ST_BIND(sym.st_info)};
	}
	qsort(f->syms, f->nsyms, sizeof(*f->syms), sym_cmp);
	return f->nsyms > 0;
}

static const struct addr_range *section_of(const struct elf_file *f, uint64_t vaddr)
{
	size_t lo = 0, hi = f->nsections;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (f->sections[mid].start <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return NULL;
	const struct addr_range *r = &f->sections[lo - 1];
	return vaddr < r->end ? r : NULL;
}

static void fill(struct ms_symbol *out, const struct elf_file *f, const struct sym_entry *e,
		 uint64_t bias)
{
	out->name = e->name;
	out->address = e->value + bias;
	out->size = e->size;
	out->offset = 0;
	out->file = f->path;
	out->bias = bias;
	out->type = e->type;
	out->bind = e->bind;
}

bool ms_symbols_lookup_addr(struct ms_symbols *s, uint64_t addr, struct ms_symbol *sym_ret)
{
	const struct ms_vma *vma = ms_maps_find(s->maps, addr);
	if (!vma)
		return false;
	size_t i = (size_t)(vma - s->maps->vmas);
	int fi = vma_file(s, i);
	if (fi < 0)
		return false;
	struct elf_file *f = &s->files[fi];
	if (!load_symbols(f))
		return false;
	uint64_t vaddr = addr - s->vma_bias[i];
	size_t lo = 0, hi = f->nsyms;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (f->syms[mid].value <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == 0)
		return false;
	/* the best-ranked name among those at this value comes first */
	uint64_t value = f->syms[lo - 1].value;
	while (lo > 1 && f->syms[lo - 2].value == value)
		lo--;
	const struct sym_entry *e = &f->syms[lo - 1];
	const struct addr_range *sec = section_of(f, vaddr);
	if (sec ? e->value < sec->start : !(e->size && vaddr < e->value + e->size))
		return false;
	fill(sym_ret, f, e, s->vma_bias[i]);
	sym_ret->offset = vaddr - e->value;
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

static const struct sym_entry *find_in_file(const struct elf_file *f, const char *name)
{
	const struct sym_entry *best = NULL;
	for (size_t i = 0; i < f->nsyms; i++) {
		const struct sym_entry *e = &f->syms[i];
		if (strcmp(e->name, name) != 0)
			continue;
		if (!best || rank(e) > rank(best))
			best = e;
	}
	return best;
}

struct ms_error *ms_symbols_lookup_name(struct ms_symbols *s, const char *spec,
					struct ms_symbol *sym_ret)
{
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
	const char *exe = ms_target_exe(s->target);
	/* two passes: the main executable, then everything else in address order */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < s->maps->count; i++) {
			const struct ms_vma *vma = &s->maps->vmas[i];
			if (vma->kind != MS_VMA_FILE && vma->kind != MS_VMA_VDSO)
				continue;
			bool is_exe = exe && vma->name && strcmp(vma->name, exe) == 0;
			if ((pass == 0) != is_exe)
				continue;
			if (file &&
			    !file_matches(vma->kind == MS_VMA_VDSO ? "[vdso]" : vma->name, file))
				continue;
			int fi = vma_file(s, i);
			if (fi < 0)
				continue;
			struct elf_file *f = &s->files[fi];
			/* each file once: at its first mapping with a bias */
			bool seen = false;
			for (size_t j = 0; j < i && !seen; j++)
				seen = s->vma_file[j] == fi;
			if (seen || !load_symbols(f))
				continue;
			const struct sym_entry *e = find_in_file(f, name);
			if (!e)
				continue;
			fill(sym_ret, f, e, s->vma_bias[i]);
			sym_ret->address += offset;
			sym_ret->offset = offset;
			goto out;
		}
	}
	err = ms_error_create(MS_ERROR_NOT_FOUND, "symbol not found: %s", spec);
out:
	free(copy);
	return err;
}

size_t ms_symbol_format(const struct ms_symbol *sym, char *buf, size_t len)
{
	int n;
	if (sym->offset)
		n = snprintf(buf, len, "%s+%" PRIu64, sym->name, sym->offset);
	else
		n = snprintf(buf, len, "%s", sym->name);
	if (n < 0)
		return 0;
	return (size_t)n < len ? (size_t)n : (len ? len - 1 : 0);
}
