/* SPDX-License-Identifier: MIT */
/*
 * The core-file backend of struct ms_target. Mappings are the PT_LOAD
 * segments named by NT_FILE (plus NT_FILE mappings that have no segment, as
 * in gdb's cores). Reads come from the core; where a file mapping's bytes
 * are not in it (the kernel keeps only the ELF header page of an unmodified
 * file mapping), from the mapped file on disk, once that file is known to be
 * the same: same GNU build-id in the core's copy of its ELF header and on
 * disk, or, without build-ids, not deleted, with a caution if it changed
 * after the core was written.
 */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <elfutils/libdwelf.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core.h"
#include "target_impl.h"

enum {
	CORE_PAGE = 4096,
	BUILD_ID_MAX = 64,
	MAX_OPEN_FILES = 256,	  /* mapped files kept open; others reopened per read */
	MAX_CHECKED_FILES = 4096, /* mapped files looked at on disk at all */
	MAX_ELF_PHNUM = 256,	  /* program headers looked at for a build-id */
	MAX_ELF_NOTES = 65536,	  /* note bytes looked at for a build-id */
};

static const uint64_t vsyscall_addr = 0xffffffffff600000ULL;

/* One distinct mapped file of the core (NT_FILE may name it many times). */
struct backing {
	const char *path;      /* as the core recorded it */
	const char *open_path; /* what is opened: -e EXE for the executable */
	bool deleted;
	bool mismatch; /* its build-id is not the one in the core */
	bool needed;   /* some of its mapped bytes are not in the core */
	bool usable;
	int fd;
	uint64_t size;
	char *why; /* why it is not used, for "not in the core file (...)" */
	unsigned char core_id[BUILD_ID_MAX]; /* its build-id, from the core's copy */
	size_t core_id_len;
	size_t first, count; /* its entries: order[first .. first + count) */
};

struct core_target {
	struct ms_core *core;
	unsigned flags;
	struct backing *backings;
	size_t nbackings;
	size_t *order;	       /* NT_FILE entry indices sorted by path */
	size_t *entry_backing; /* NT_FILE entry index -> backing index */
	char **cautions;
	size_t ncautions;
	size_t open_files;
	bool exe_mismatch; /* the executable's build-id is not the core's */
};

static void core_destroy(struct ms_target *t)
{
	struct core_target *ct = t->priv;
	if (!ct)
		return;
	for (size_t i = 0; i < ct->nbackings; i++) {
		if (ct->backings[i].fd >= 0)
			close(ct->backings[i].fd);
		free(ct->backings[i].why);
	}
	for (size_t i = 0; i < ct->ncautions; i++)
		free(ct->cautions[i]);
	free(ct->cautions);
	free(ct->backings);
	free(ct->order);
	free(ct->entry_backing);
	ms_core_destroy(ct->core);
	free(ct);
}

static struct ms_error *caution(struct core_target *ct, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static struct ms_error *caution(struct core_target *ct, const char *fmt, ...)
{
	char **grown = realloc(ct->cautions, (ct->ncautions + 1) * sizeof(*grown));
	if (!grown)
		return &ms_error_no_memory;
	ct->cautions = grown;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&ct->cautions[ct->ncautions], fmt, ap);
	va_end(ap);
	if (n < 0)
		return &ms_error_no_memory;
	ct->ncautions++;
	return NULL;
}

static const struct ms_core_file *entry(const struct core_target *ct, size_t i)
{
	size_t n;
	return &ms_core_files(ct->core, &n)[i];
}

/* ---- build-ids ---- */

typedef bool elf_reader(void *ctx, uint64_t offset, void *buf, size_t len);

/* The GNU build-id of an ELF image read through rd, from its PT_NOTEs. */
static size_t image_build_id(elf_reader *rd, void *ctx, unsigned char id[BUILD_ID_MAX])
{
	Elf64_Ehdr eh;
	if (!rd(ctx, 0, &eh, sizeof(eh)) || memcmp(eh.e_ident, ELFMAG, SELFMAG) != 0 ||
	    eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_phentsize != sizeof(Elf64_Phdr) ||
	    eh.e_phnum == 0 || eh.e_phnum > MAX_ELF_PHNUM)
		return 0;
	Elf64_Phdr ph[MAX_ELF_PHNUM];
	if (!rd(ctx, eh.e_phoff, ph, eh.e_phnum * sizeof(Elf64_Phdr)))
		return 0;
	size_t len = 0;
	for (unsigned i = 0; i < eh.e_phnum && !len; i++) {
		if (ph[i].p_type != PT_NOTE || ph[i].p_filesz == 0 ||
		    ph[i].p_filesz > MAX_ELF_NOTES)
			continue;
		void *notes = malloc(ph[i].p_filesz);
		if (!notes)
			return 0;
		const void *found;
		size_t found_len;
		if (rd(ctx, ph[i].p_offset, notes, ph[i].p_filesz) &&
		    ms_core_find_build_id(notes, ph[i].p_filesz, ph[i].p_align, &found,
					  &found_len) &&
		    found_len <= BUILD_ID_MAX) {
			memcpy(id, found, found_len);
			len = found_len;
		}
		free(notes);
	}
	return len;
}

struct core_image {
	struct core_target *ct;
	const struct backing *b;
};

/* Read a mapped file's bytes at a file offset from the core's copy of them. */
static bool read_core_image(void *ctx, uint64_t offset, void *buf, size_t len)
{
	struct core_image *img = ctx;
	for (size_t k = 0; k < img->b->count; k++) {
		const struct ms_core_file *f = entry(img->ct, img->ct->order[img->b->first + k]);
		uint64_t size = f->end - f->start;
		if (offset < f->offset || offset - f->offset >= size ||
		    len > size - (offset - f->offset))
			continue;
		size_t done;
		struct ms_error *err = ms_core_read(img->ct->core, f->start + (offset - f->offset),
						    buf, len, &done);
		ms_error_destroy(err);
		return !err;
	}
	return false;
}

static size_t file_build_id(int fd, unsigned char id[BUILD_ID_MAX])
{
	elf_version(EV_CURRENT);
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf)
		return 0;
	const void *found;
	ssize_t n = dwelf_elf_gnu_build_id(elf, &found);
	size_t len = 0;
	if (n > 0 && n <= BUILD_ID_MAX) {
		memcpy(id, found, (size_t)n);
		len = (size_t)n;
	}
	elf_end(elf);
	return len;
}

static void hex(char *out, const unsigned char *id, size_t len)
{
	for (size_t i = 0; i < len && i < 8; i++)
		sprintf(out + 2 * i, "%02x", id[i]);
	if (len > 8)
		strcpy(out + 16, "...");
}

/* ---- the mapped files ---- */

static int path_cmp(const void *a, const void *b, void *arg)
{
	const struct core_target *ct = arg;
	const struct ms_core_file *x = entry(ct, *(const size_t *)a);
	const struct ms_core_file *y = entry(ct, *(const size_t *)b);
	int c = strcmp(x->path, y->path);
	if (c)
		return c;
	return (int)x->deleted - (int)y->deleted;
}

/* Whether every byte of [start, end) is in the core. */
static bool all_in_core(struct ms_core *core, uint64_t start, uint64_t end)
{
	uint64_t a = start;
	while (a < end) {
		const struct ms_core_segment *s = ms_core_segment_find(core, a);
		if (!s || a - s->vaddr >= s->filesz)
			return false;
		a = s->vaddr + s->filesz;
	}
	return true;
}

static struct ms_error *group_files(struct core_target *ct)
{
	size_t n;
	const struct ms_core_file *files = ms_core_files(ct->core, &n);
	if (!n)
		return NULL;
	ct->order = calloc(n, sizeof(*ct->order));
	ct->entry_backing = calloc(n, sizeof(*ct->entry_backing));
	ct->backings = calloc(n, sizeof(*ct->backings));
	if (!ct->order || !ct->entry_backing || !ct->backings)
		return &ms_error_no_memory;
	for (size_t i = 0; i < n; i++)
		ct->order[i] = i;
	qsort_r(ct->order, n, sizeof(*ct->order), path_cmp, ct);
	for (size_t k = 0; k < n; k++) {
		size_t i = ct->order[k];
		if (k == 0 || path_cmp(&ct->order[k - 1], &ct->order[k], ct) != 0) {
			struct backing *b = &ct->backings[ct->nbackings++];
			b->path = b->open_path = files[i].path;
			b->deleted = files[i].deleted;
			b->fd = -1;
			b->first = k;
		}
		struct backing *b = &ct->backings[ct->nbackings - 1];
		b->count++;
		ct->entry_backing[i] = ct->nbackings - 1;
		if (!all_in_core(ct->core, files[i].start, files[i].end))
			b->needed = true;
	}
	return NULL;
}

static struct ms_error *set_why(struct backing *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static struct ms_error *set_why(struct backing *b, const char *fmt, ...)
{
	free(b->why);
	b->why = NULL;
	va_list ap;
	va_start(ap, fmt);
	int n = vasprintf(&b->why, fmt, ap);
	va_end(ap);
	return n < 0 ? &ms_error_no_memory : NULL;
}

static bool newer(struct timespec a, struct timespec b)
{
	return a.tv_sec > b.tv_sec || (a.tv_sec == b.tv_sec && a.tv_nsec > b.tv_nsec);
}

/* Decide whether b's file on disk may stand in for what the core lacks. */
static struct ms_error *check_backing(struct core_target *ct, struct backing *b, bool from_user)
{
	struct ms_error *err;
	/*
	 * A file deleted before the dump is gone, or replaced by another one
	 * under the same name; shared memory shows as deleted files too.
	 */
	if (b->deleted && !from_user) {
		if (strcmp(b->path, "/dev/zero") == 0 || strncmp(b->path, "/SYSV", 5) == 0 ||
		    strncmp(b->path, "/memfd:", 7) == 0)
			return set_why(b, "shared memory that was not dumped");
		return set_why(b, "%s was deleted before the core was written", b->path);
	}
	int fd = open(b->open_path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd < 0) {
		int e = errno;
		err = set_why(b, "%s: %s", b->open_path, strerror(e));
		return err ? err
			   : caution(ct,
				     "%s: %s: its pages that are not in the core cannot be read",
				     b->open_path, strerror(e));
	}
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		err = set_why(b, "%s is not a regular file", b->open_path);
		return err ? err
			   : caution(ct,
				     "%s is not a regular file: its pages that are not "
				     "in the core cannot be read",
				     b->open_path);
	}
	unsigned char file_id[BUILD_ID_MAX];
	const unsigned char *core_id = b->core_id;
	size_t core_len = b->core_id_len;
	size_t file_len = core_len ? file_build_id(fd, file_id) : 0;
	if (core_len && file_len) {
		if (core_len != file_len || memcmp(core_id, file_id, core_len) != 0) {
			char a[24], f[24];
			hex(a, core_id, core_len);
			hex(f, file_id, file_len);
			close(fd);
			b->mismatch = true;
			err = set_why(b,
				      "%s is not the file that was mapped (build-id %s, the core "
				      "has %s)",
				      b->open_path, f, a);
			return err ? err : caution(ct, "%s", b->why);
		}
	} else if (newer(st.st_mtim, ms_core_mtime(ct->core))) {
		err = caution(ct,
			      "%s changed after the core was written and has no build-id to "
			      "check: bytes read from it may differ",
			      b->open_path);
		if (err) {
			close(fd);
			return err;
		}
	}
	b->size = (uint64_t)st.st_size;
	for (size_t k = 0; k < b->count; k++) {
		const struct ms_core_file *f = entry(ct, ct->order[b->first + k]);
		if (f->offset >= (b->size + CORE_PAGE - 1) / CORE_PAGE * CORE_PAGE) {
			err = caution(ct,
				      "%s is shorter (%" PRIu64 " bytes) than its mapping at "
				      "0x%" PRIx64 " (offset 0x%" PRIx64 ")",
				      b->open_path, b->size, f->start, f->offset);
			if (err) {
				close(fd);
				return err;
			}
			break;
		}
	}
	b->usable = true;
	if (ct->open_files < MAX_OPEN_FILES) {
		b->fd = fd;
		ct->open_files++;
	} else {
		close(fd);
	}
	return NULL;
}

static struct ms_error *check_files(struct ms_target *t, struct core_target *ct,
				    const char *exe_path)
{
	struct backing *exe = NULL;
	uint64_t entry_addr;
	if (ms_core_auxv_get(ct->core, AT_ENTRY, &entry_addr)) {
		const struct ms_core_file *f = ms_core_file_find(ct->core, entry_addr);
		if (f) {
			size_t n;
			exe = &ct->backings[ct->entry_backing[f - ms_core_files(ct->core, &n)]];
		}
	}
	const char *exe_name = exe_path ? exe_path : exe ? exe->path : NULL;
	if (exe_name) {
		t->exe = strdup(exe_name);
		if (!t->exe)
			return &ms_error_no_memory;
	}
	if (exe_path) {
		if (!exe) {
			struct ms_error *err =
				caution(ct,
					"%s: the core does not say where the executable was mapped "
					"(no NT_FILE entry holds AT_ENTRY): it is not read",
					exe_path);
			if (err)
				return err;
		} else {
			exe->open_path = exe_path;
			exe->needed = true;
		}
	}
	size_t checked = 0;
	for (size_t i = 0; i < ct->nbackings; i++) {
		struct backing *b = &ct->backings[i];
		if (!b->needed)
			continue;
		struct ms_error *err;
		if (checked++ >= MAX_CHECKED_FILES && b != exe) {
			err = set_why(b, "more than %d mapped files: this one is not read",
				      MAX_CHECKED_FILES);
		} else {
			struct core_image img = {.ct = ct, .b = b};
			b->core_id_len = image_build_id(read_core_image, &img, b->core_id);
			if (ct->flags & MS_CORE_NO_FILES)
				err = set_why(b, "mapped files are not read");
			else
				err = check_backing(ct, b, b == exe && exe_path);
		}
		if (err)
			return err;
	}
	ct->exe_mismatch = exe && exe->mismatch;
	return NULL;
}

/* Read from a usable mapped file; bytes past its end in its last page are 0. */
static struct ms_error *read_backing(struct core_target *ct, struct backing *b, uint64_t addr,
				     uint64_t offset, void *buf, size_t len, size_t *done_ret)
{
	*done_ret = 0;
	int fd = b->fd;
	if (fd < 0) {
		fd = open(b->open_path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
		if (fd < 0)
			return ms_error_errno(errno, "%s", b->open_path);
	}
	struct ms_error *err = NULL;
	uint64_t page_end = (b->size + CORE_PAGE - 1) / CORE_PAGE * CORE_PAGE;
	size_t done = 0;
	while (done < len) {
		uint64_t off = offset + done;
		if (off >= page_end) {
			char reason[64 + 4096];
			snprintf(reason, sizeof(reason),
				 "not in the core file, and past the end of %s", b->open_path);
			err = ms_error_fault(addr + done, reason);
			break;
		}
		if (off >= b->size) {
			size_t zeros = len - done;
			if (zeros > page_end - off)
				zeros = (size_t)(page_end - off);
			memset((char *)buf + done, 0, zeros);
			done += zeros;
			continue;
		}
		size_t want = len - done;
		if (want > b->size - off)
			want = (size_t)(b->size - off);
		ssize_t n = pread(fd, (char *)buf + done, want, (off_t)off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			err = ms_error_errno(errno, "%s", b->open_path);
			break;
		}
		if (n == 0) { /* the file shrank: behave as past its end */
			b->size = off;
			page_end = (b->size + CORE_PAGE - 1) / CORE_PAGE * CORE_PAGE;
			continue;
		}
		done += (size_t)n;
	}
	if (fd != b->fd)
		close(fd);
	*done_ret = done;
	(void)ct;
	return err;
}

struct ms_error *ms_target_core_extent(struct ms_target *t, uint64_t addr,
				       struct ms_core_extent *ext)
{
	memset(ext, 0, sizeof(*ext));
	ext->start = addr;
	if (t->kind != MS_TARGET_CORE)
		return ms_error_create(MS_ERROR_INVALID, "%s is not a core file", t->describe);
	struct core_target *ct = t->priv;
	const struct ms_core_segment *s = ms_core_segment_find(ct->core, addr);
	if (s && addr - s->vaddr < s->filesz) {
		ext->source = MS_CORE_SRC_CORE;
		ext->offset = s->offset + (addr - s->vaddr);
		uint64_t limit = s->offset + s->filesz, end;
		struct ms_error *err =
			ms_core_hole_at(ct->core, ext->offset, limit, &ext->hole, &end);
		if (err)
			return err;
		ext->end = addr + (end - ext->offset);
		return NULL;
	}
	const struct ms_core_file *f = ms_core_file_find(ct->core, addr);
	if (!s && !f) {
		ext->source = MS_CORE_SRC_UNMAPPED;
		const struct ms_core_segment *ns = ms_core_segment_next(ct->core, addr);
		const struct ms_core_file *nf = ms_core_file_next(ct->core, addr);
		ext->end = UINT64_MAX;
		if (ns && ns->vaddr < ext->end)
			ext->end = ns->vaddr;
		if (nf && nf->start < ext->end)
			ext->end = nf->start;
		return NULL;
	}
	uint64_t limit = s ? s->vaddr + s->memsz : UINT64_MAX;
	if (!s) {
		const struct ms_core_segment *ns = ms_core_segment_next(ct->core, addr);
		if (ns)
			limit = ns->vaddr;
	}
	ext->source = MS_CORE_SRC_NONE;
	ext->end = limit;
	if (!f)
		return NULL;
	size_t n;
	struct backing *b = &ct->backings[ct->entry_backing[f - ms_core_files(ct->core, &n)]];
	if (f->end < ext->end)
		ext->end = f->end;
	ext->path = b->open_path;
	ext->offset = f->offset + (addr - f->start);
	if (!b->usable) {
		ext->why = b->why;
		return NULL;
	}
	uint64_t page_end = (b->size + CORE_PAGE - 1) / CORE_PAGE * CORE_PAGE;
	if (ext->offset >= page_end) {
		ext->why = "past the end of the file";
		return NULL;
	}
	ext->source = MS_CORE_SRC_FILE;
	if (page_end - ext->offset < ext->end - addr)
		ext->end = addr + (page_end - ext->offset);
	return NULL;
}

static struct ms_error *core_read(struct ms_target *t, uint64_t addr, void *buf, size_t len,
				  unsigned flags, size_t *done_ret)
{
	(void)flags;
	struct core_target *ct = t->priv;
	size_t done = 0;
	struct ms_error *err = NULL;
	while (done < len) {
		uint64_t a = addr + done;
		if (a < addr) {
			err = ms_error_fault(a, "address range wraps around");
			break;
		}
		/* what the core holds; where it stops, the mapped file, if it can be */
		size_t got = 0;
		err = ms_core_read(ct->core, a, (char *)buf + done, len - done, &got);
		done += got;
		if (!err || (err->code != MS_ERROR_NOT_MAPPED && err->code != MS_ERROR_FAULT))
			break;
		ms_error_destroy(err);
		err = NULL;
		a = addr + done;
		if (a < addr)
			continue; /* wrapped: said above */
		struct ms_core_extent ext;
		size_t chunk = len - done;
		err = ms_target_core_extent(t, a, &ext);
		if (err)
			break;
		if (ext.source == MS_CORE_SRC_UNMAPPED) {
			err = ms_error_create(MS_ERROR_NOT_MAPPED,
					      "0x%" PRIx64 " is not mapped in core file %s", a,
					      ms_core_path(ct->core));
			if (err != &ms_error_no_memory)
				err->address = a;
			break;
		}
		if (ext.source == MS_CORE_SRC_NONE) {
			if (ext.why) {
				char reason[4200];
				snprintf(reason, sizeof(reason), "not in the core file (%s)",
					 ext.why);
				err = ms_error_fault(a, reason);
			} else {
				err = ms_error_fault(a, "not in the core file");
			}
			break;
		}
		if (chunk > ext.end - a)
			chunk = (size_t)(ext.end - a);
		const struct ms_core_file *f = ms_core_file_find(ct->core, a);
		size_t n;
		struct backing *b =
			&ct->backings[ct->entry_backing[f - ms_core_files(ct->core, &n)]];
		err = read_backing(ct, b, a, ext.offset, (char *)buf + done, chunk, &got);
		done += got;
		if (err)
			break;
	}
	*done_ret = done;
	return err;
}

static struct ms_error *core_load_maps(struct ms_target *t, enum ms_maps_detail detail,
				       struct ms_maps **maps_ret)
{
	(void)detail;
	struct core_target *ct = t->priv;
	struct ms_core *core = ct->core;
	struct ms_maps *maps = ms_maps_create();
	if (!maps)
		return &ms_error_no_memory;
	struct ms_error *err = NULL;
	uint64_t vdso = 0, sp = 0;
	bool has_vdso = ms_core_auxv_get(core, AT_SYSINFO_EHDR, &vdso);
	size_t nthreads, nsegs, nfiles;
	const struct ms_thread *threads = ms_core_threads(core, &nthreads);
	for (size_t i = 0; i < nthreads; i++) {
		if (threads[i].tid == t->pid || (i == 0 && !sp))
			sp = threads[i].regs.rsp;
	}
	const struct ms_core_segment *segs = ms_core_segments(core, &nsegs);
	for (size_t i = 0; i < nsegs && !err; i++) {
		const struct ms_core_segment *s = &segs[i];
		struct ms_vma v = {
			.start = s->vaddr,
			.end = s->vaddr + s->memsz,
			.core_offset = s->offset,
			.core_filesz = s->filesz,
		};
		if (s->flags & PF_R) {
			v.prot |= MS_PROT_READ;
			v.vm_flags |= MS_VM_READ;
		}
		if (s->flags & PF_W) {
			v.prot |= MS_PROT_WRITE;
			v.vm_flags |= MS_VM_WRITE;
		}
		if (s->flags & PF_X) {
			v.prot |= MS_PROT_EXEC;
			v.vm_flags |= MS_VM_EXEC;
		}
		const struct ms_core_file *f = ms_core_file_find(core, s->vaddr);
		if (f) {
			v.name = f->path;
			v.deleted = f->deleted;
			v.offset = f->offset + (s->vaddr - f->start);
			v.kind = MS_VMA_FILE;
		} else if (has_vdso && vdso == s->vaddr) {
			v.name = "[vdso]";
			v.kind = MS_VMA_VDSO;
		} else if (s->vaddr == vsyscall_addr) {
			v.name = "[vsyscall]";
			v.kind = MS_VMA_VSYSCALL;
		} else if (sp >= s->vaddr && sp - s->vaddr < s->memsz) {
			v.name = "[stack]";
			v.kind = MS_VMA_STACK;
		}
		err = ms_maps_append(maps, &v);
	}
	/* Mapped files without a segment (gdb leaves out what it does not dump). */
	const struct ms_core_file *files = ms_core_files(core, &nfiles);
	for (size_t i = 0; i < nfiles && !err; i++) {
		uint64_t a = files[i].start;
		while (a < files[i].end && !err) {
			const struct ms_core_segment *s = ms_core_segment_next(core, a);
			if (s && s->vaddr <= a) {
				a = s->vaddr + s->memsz;
				continue;
			}
			uint64_t end = s && s->vaddr < files[i].end ? s->vaddr : files[i].end;
			struct ms_vma v = {
				.start = a,
				.end = end,
				.name = files[i].path,
				.deleted = files[i].deleted,
				.offset = files[i].offset + (a - files[i].start),
				.kind = MS_VMA_FILE,
				.prot_unknown = true,
			};
			err = ms_maps_append(maps, &v);
			a = end;
		}
	}
	if (err) {
		ms_maps_destroy(maps);
		return err;
	}
	if (maps->count)
		ms_maps_sort(maps);
	*maps_ret = maps;
	return NULL;
}

static struct ms_error *core_threads(struct ms_target *t, bool with_regs,
				     struct ms_thread_list **threads_ret)
{
	(void)with_regs;
	struct core_target *ct = t->priv;
	return ms_core_thread_list(ct->core, threads_ret);
}

static struct ms_error *core_auxv(struct ms_target *t, void **auxv_ret, size_t *size_ret)
{
	struct core_target *ct = t->priv;
	size_t size;
	const void *auxv = ms_core_auxv(ct->core, &size);
	if (!auxv)
		return ms_error_create(MS_ERROR_NOT_FOUND, "%s has no auxiliary vector (NT_AUXV)",
				       t->describe);
	void *copy = malloc(size ? size : 1);
	if (!copy)
		return &ms_error_no_memory;
	memcpy(copy, auxv, size);
	*auxv_ret = copy;
	*size_ret = size;
	return NULL;
}

static const struct ms_target_ops core_ops = {
	.destroy = core_destroy,
	.read = core_read,
	.load_maps = core_load_maps,
	.threads = core_threads,
	.auxv = core_auxv,
};

struct ms_error *ms_target_open_core_flags(const char *core_path, const char *exe_path,
					   unsigned flags, struct ms_target **target_ret)
{
	struct ms_target *t = NULL;
	struct core_target *ct = NULL;
	struct ms_error *err = NULL;
	if (exe_path && !(flags & MS_CORE_NO_FILES) && access(exe_path, R_OK) < 0)
		return ms_error_errno(errno, "%s", exe_path);
	err = ms_target_alloc(&core_ops, MS_TARGET_CORE, &t);
	if (err)
		return err;
	ct = calloc(1, sizeof(*ct));
	if (!ct) {
		err = &ms_error_no_memory;
		goto out;
	}
	t->priv = ct;
	ct->flags = flags;
	err = ms_core_open(core_path, 0, &ct->core);
	if (err)
		goto out;
	const struct ms_core_process *p = ms_core_process(ct->core);
	size_t nthreads;
	const struct ms_thread *threads = ms_core_threads(ct->core, &nthreads);
	t->pid = p->valid ? p->pid : threads[0].tid;
	snprintf(t->comm, sizeof(t->comm), "%s", p->comm);
	t->core_path = strdup(core_path);
	if (!t->core_path) {
		err = &ms_error_no_memory;
		goto out;
	}
	snprintf(t->describe, sizeof(t->describe), "core file %s", core_path);
	err = group_files(ct);
	if (!err)
		err = check_files(t, ct, exe_path);
	if (err)
		goto out;
	*target_ret = t;
	t = NULL;
out:
	ms_target_destroy(t);
	return err;
}

struct ms_error *ms_target_open_core(const char *core_path, const char *exe_path,
				     struct ms_target **target_ret)
{
	return ms_target_open_core_flags(core_path, exe_path, 0, target_ret);
}

struct ms_core *ms_target_core(struct ms_target *t)
{
	if (t->kind != MS_TARGET_CORE)
		return NULL;
	return ((struct core_target *)t->priv)->core;
}

bool ms_target_core_exe_mismatch(const struct ms_target *t)
{
	return t->kind == MS_TARGET_CORE && ((const struct core_target *)t->priv)->exe_mismatch;
}

const char *const *ms_target_core_cautions(struct ms_target *t, size_t *count_ret)
{
	*count_ret = 0;
	if (t->kind != MS_TARGET_CORE)
		return NULL;
	struct core_target *ct = t->priv;
	*count_ret = ct->ncautions;
	return (const char *const *)ct->cautions;
}
