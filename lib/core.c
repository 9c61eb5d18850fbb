/* SPDX-License-Identifier: MIT */
/*
 * The ELF core reader. Headers are parsed by hand with pread rather than
 * through libelf: every field is checked against the file size before it is
 * used, allocations are bounded by the file size (and notes by
 * MS_CORE_MAX_NOTES), and the errors say which field of which header is
 * wrong. Segment data is never read at open.
 */
#include "core.h"
#include "grow.h"

#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/procfs.h>
#include <sys/stat.h>
#include <unistd.h>

/* The x86-64 layouts of the kernel's struct elf_prstatus and elf_prpsinfo. */
enum {
	PRSTATUS_SIZE = 336,
	PRSTATUS_SIGNO = 0,
	PRSTATUS_CODE = 4,
	PRSTATUS_ERRNO = 8,
	PRSTATUS_CURSIG = 12,
	PRSTATUS_SIGPEND = 16,
	PRSTATUS_SIGHOLD = 24,
	PRSTATUS_PID = 32,
	PRSTATUS_REG = 112,
	PRSTATUS_REG_SIZE = 27 * 8,
	PRPSINFO_SIZE = 136,
	PRPSINFO_SNAME = 1,
	PRPSINFO_UID = 16,
	PRPSINFO_GID = 20,
	PRPSINFO_PID = 24,
	PRPSINFO_PPID = 28,
	PRPSINFO_PGRP = 32,
	PRPSINFO_SID = 36,
	PRPSINFO_FNAME = 40,
	PRPSINFO_PSARGS = 56,
	SIGINFO_SIZE = 128,
	FPREGSET_SIZE = 512,
	XSTATE_MIN_SIZE = 512 + 64, /* legacy area + XSAVE header */
	NOTE_HEADER_SIZE = 12,
	NT_FILE_HEADER_SIZE = 16,
	NT_FILE_ENTRY_SIZE = 24,
};

_Static_assert(sizeof(struct user_regs_struct) == PRSTATUS_REG_SIZE, "x86-64 registers");
_Static_assert(sizeof(struct user_fpregs_struct) == FPREGSET_SIZE, "x86-64 FPU registers");
_Static_assert(sizeof(siginfo_t) == SIGINFO_SIZE, "siginfo_t");
#ifdef __x86_64__
_Static_assert(offsetof(struct elf_prstatus, pr_reg) == PRSTATUS_REG, "elf_prstatus");
_Static_assert(offsetof(struct elf_prstatus, pr_pid) == PRSTATUS_PID, "elf_prstatus");
_Static_assert(sizeof(struct elf_prstatus) == PRSTATUS_SIZE, "elf_prstatus");
_Static_assert(offsetof(struct elf_prpsinfo, pr_fname) == PRPSINFO_FNAME, "elf_prpsinfo");
_Static_assert(sizeof(struct elf_prpsinfo) == PRPSINFO_SIZE, "elf_prpsinfo");
#endif

struct ms_core {
	int fd;
	char *path;
	uint64_t size;
	struct timespec mtime;
	struct ms_core_segment *segs;
	size_t nsegs;
	unsigned char *note_data; /* every PT_NOTE's bytes, one after the other */
	struct ms_core_note *notes;
	size_t nnotes;
	struct ms_thread *threads;
	size_t nthreads;
	struct ms_core_process proc;
	const unsigned char *auxv;
	size_t auxv_size;
	struct ms_core_file *files;
	size_t nfiles;
};

static struct ms_error *bad(const struct ms_core *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static struct ms_error *bad(const struct ms_core *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	struct ms_error *err = ms_error_vcreate(MS_ERROR_FORMAT, fmt, ap);
	va_end(ap);
	return ms_error_prefix(err, "%s", c->path);
}

static uint16_t get16(const unsigned char *p)
{
	uint16_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

static uint32_t get32(const unsigned char *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

static uint64_t get64(const unsigned char *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

/* [off, off + len) lies within a file of size bytes. */
static bool in_file(uint64_t size, uint64_t off, uint64_t len)
{
	return off <= size && len <= size - off;
}

struct ms_error *ms_core_pread(struct ms_core *c, void *buf, size_t len, uint64_t offset)
{
	if (!in_file(c->size, offset, len))
		return bad(c,
			   "truncated: %zu bytes at offset 0x%" PRIx64
			   " lie past the end of the file (%" PRIu64 " bytes)",
			   len, offset, c->size);
	size_t done = 0;
	while (done < len) {
		ssize_t n = pread(c->fd, (char *)buf + done, len - done, (off_t)(offset + done));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return ms_error_errno(errno, "%s: read at offset 0x%" PRIx64, c->path,
					      offset + done);
		}
		if (n == 0)
			return bad(c, "the file shrank while being read (at offset 0x%" PRIx64 ")",
				   offset + done);
		done += (size_t)n;
	}
	return NULL;
}

static const char *machine_name(unsigned machine)
{
	switch (machine) {
	case EM_386:
		return "i386";
	case EM_ARM:
		return "arm";
	case EM_AARCH64:
		return "aarch64";
	case EM_PPC:
		return "ppc";
	case EM_PPC64:
		return "ppc64";
	case EM_S390:
		return "s390";
	case EM_RISCV:
		return "riscv";
	case EM_MIPS:
		return "mips";
	case EM_SPARCV9:
		return "sparc64";
	case EM_LOONGARCH:
		return "loongarch";
	default:
		return "unknown";
	}
}

static const char *type_name(unsigned type)
{
	switch (type) {
	case ET_NONE:
		return "ET_NONE";
	case ET_REL:
		return "ET_REL, an object file";
	case ET_EXEC:
		return "ET_EXEC, an executable";
	case ET_DYN:
		return "ET_DYN, a shared object or PIE executable";
	default:
		return "unknown";
	}
}

static struct ms_error *check_ident(struct ms_core *c, const unsigned char *e, size_t have)
{
	if (have < SELFMAG || memcmp(e, ELFMAG, SELFMAG) != 0)
		return bad(c, "not an ELF file");
	if (have < EI_NIDENT)
		return bad(c,
			   "truncated: the file ends inside the ELF identification "
			   "(%zu of %d bytes)",
			   have, EI_NIDENT);
	if (e[EI_CLASS] == ELFCLASS32)
		return bad(c, "32-bit core files are not supported (ELFCLASS32): memscope "
			      "reads x86-64 cores");
	if (e[EI_CLASS] != ELFCLASS64)
		return bad(c, "bad ELF class %u", e[EI_CLASS]);
	if (e[EI_DATA] == ELFDATA2MSB)
		return bad(c, "big-endian core files are not supported: memscope reads x86-64 "
			      "cores");
	if (e[EI_DATA] != ELFDATA2LSB)
		return bad(c, "bad ELF data encoding %u", e[EI_DATA]);
	if (e[EI_VERSION] != EV_CURRENT)
		return bad(c, "bad ELF version %u", e[EI_VERSION]);
	if (have < sizeof(Elf64_Ehdr))
		return bad(c, "truncated: the file ends inside the ELF header (%zu of %zu bytes)",
			   have, sizeof(Elf64_Ehdr));
	return NULL;
}

/* The number of program headers, following PN_XNUM to section header 0. */
static struct ms_error *program_header_count(struct ms_core *c, const Elf64_Ehdr *eh,
					     uint64_t *count_ret)
{
	if (eh->e_phnum != PN_XNUM) {
		*count_ret = eh->e_phnum;
		return NULL;
	}
	if (eh->e_shoff == 0)
		return bad(c,
			   "e_phnum is PN_XNUM but there is no section header to hold the count");
	if (eh->e_shentsize != sizeof(Elf64_Shdr))
		return bad(c, "e_phnum is PN_XNUM but the section header size is %u, not %zu",
			   eh->e_shentsize, sizeof(Elf64_Shdr));
	if (!in_file(c->size, eh->e_shoff, sizeof(Elf64_Shdr)))
		return bad(c,
			   "truncated: section header 0 (for PN_XNUM) at offset 0x%" PRIx64
			   " lies past the end of the file (%" PRIu64 " bytes)",
			   (uint64_t)eh->e_shoff, c->size);
	Elf64_Shdr sh;
	struct ms_error *err = ms_core_pread(c, &sh, sizeof(sh), eh->e_shoff);
	if (err)
		return err;
	*count_ret = sh.sh_info;
	return NULL;
}

static int segment_vaddr_cmp(const void *a, const void *b)
{
	const struct ms_core_segment *x = a, *y = b;
	return x->vaddr < y->vaddr ? -1 : x->vaddr > y->vaddr;
}

static int segment_offset_cmp(const void *a, const void *b)
{
	const struct ms_core_segment *x = a, *y = b;
	return x->offset < y->offset ? -1 : x->offset > y->offset;
}

struct note_range {
	uint64_t offset, size, align;
	unsigned index;
};

static struct ms_error *read_program_headers(struct ms_core *c, const Elf64_Ehdr *eh,
					     struct note_range **notes_ret, size_t *nnotes_ret)
{
	uint64_t phnum = 0;
	struct ms_error *err = program_header_count(c, eh, &phnum);
	if (err)
		return err;
	if (phnum == 0)
		return bad(c, "no program headers: a core file has at least notes and segments");
	if (eh->e_phentsize != sizeof(Elf64_Phdr))
		return bad(c, "bad program header size %u (e_phentsize), expected %zu",
			   eh->e_phentsize, sizeof(Elf64_Phdr));
	if (eh->e_phoff < sizeof(Elf64_Ehdr))
		return bad(c,
			   "program headers at offset 0x%" PRIx64
			   " overlap the ELF header (e_phoff)",
			   (uint64_t)eh->e_phoff);
	if (phnum > c->size / sizeof(Elf64_Phdr) ||
	    !in_file(c->size, eh->e_phoff, phnum * sizeof(Elf64_Phdr)))
		return bad(c,
			   "truncated: %" PRIu64 " program headers at offset 0x%" PRIx64
			   " (e_phoff) run past the end of the file (%" PRIu64 " bytes)",
			   phnum, (uint64_t)eh->e_phoff, c->size);
	size_t bytes = (size_t)phnum * sizeof(Elf64_Phdr);
	Elf64_Phdr *ph = malloc(bytes);
	struct note_range *notes = NULL;
	if (!ph)
		return &ms_error_no_memory;
	err = ms_core_pread(c, ph, bytes, eh->e_phoff);
	if (err)
		goto out;
	size_t nloads = 0, nnotes = 0;
	for (uint64_t i = 0; i < phnum; i++) {
		if (ph[i].p_type == PT_LOAD && ph[i].p_memsz)
			nloads++;
		else if (ph[i].p_type == PT_NOTE)
			nnotes++;
	}
	c->segs = calloc(nloads ? nloads : 1, sizeof(*c->segs));
	notes = calloc(nnotes ? nnotes : 1, sizeof(*notes));
	if (!c->segs || !notes) {
		err = &ms_error_no_memory;
		goto out;
	}
	uint64_t note_total = 0;
	for (uint64_t i = 0; i < phnum; i++) {
		const Elf64_Phdr *p = &ph[i];
		if (p->p_type == PT_NOTE) {
			if (!in_file(c->size, p->p_offset, p->p_filesz)) {
				err = bad(c,
					  "truncated: notes (program header %" PRIu64
					  ") at offset 0x%" PRIx64 ", 0x%" PRIx64
					  " bytes, run past the end of the file (%" PRIu64
					  " bytes)",
					  i, (uint64_t)p->p_offset, (uint64_t)p->p_filesz, c->size);
				goto out;
			}
			note_total += p->p_filesz;
			if (note_total > MS_CORE_MAX_NOTES) {
				err = bad(c, "notes of more than %d MiB: refusing to load them",
					  MS_CORE_MAX_NOTES >> 20);
				goto out;
			}
			notes[(*nnotes_ret)++] = (struct note_range){
				.offset = p->p_offset,
				.size = p->p_filesz,
				.align = p->p_align == 8 ? 8 : 4,
				.index = (unsigned)i,
			};
			continue;
		}
		if (p->p_type != PT_LOAD || p->p_memsz == 0)
			continue;
		if (p->p_filesz > p->p_memsz) {
			err = bad(c,
				  "segment %" PRIu64 " at 0x%" PRIx64 ": p_filesz 0x%" PRIx64
				  " is larger than p_memsz 0x%" PRIx64,
				  i, (uint64_t)p->p_vaddr, (uint64_t)p->p_filesz,
				  (uint64_t)p->p_memsz);
			goto out;
		}
		if (p->p_memsz > UINT64_MAX - p->p_vaddr) {
			err = bad(c,
				  "segment %" PRIu64 " at 0x%" PRIx64 ": p_memsz 0x%" PRIx64
				  " wraps around the address space",
				  i, (uint64_t)p->p_vaddr, (uint64_t)p->p_memsz);
			goto out;
		}
		if (!in_file(c->size, p->p_offset, p->p_filesz)) {
			err = bad(c,
				  "truncated: segment %" PRIu64 " at 0x%" PRIx64 " has 0x%" PRIx64
				  " bytes at offset 0x%" PRIx64
				  " (p_offset, p_filesz), past the end of the file (%" PRIu64
				  " bytes)",
				  i, (uint64_t)p->p_vaddr, (uint64_t)p->p_filesz,
				  (uint64_t)p->p_offset, c->size);
			goto out;
		}
		c->segs[c->nsegs++] = (struct ms_core_segment){
			.vaddr = p->p_vaddr,
			.memsz = p->p_memsz,
			.offset = p->p_offset,
			.filesz = p->p_filesz,
			.flags = p->p_flags,
			.index = (unsigned)i,
		};
	}
	/* Segments must not share bytes of the file... */
	qsort(c->segs, c->nsegs, sizeof(*c->segs), segment_offset_cmp);
	const struct ms_core_segment *prev = NULL;
	for (size_t i = 0; i < c->nsegs; i++) {
		const struct ms_core_segment *s = &c->segs[i];
		if (!s->filesz)
			continue;
		if (prev && s->offset < prev->offset + prev->filesz) {
			err = bad(c,
				  "segments %u and %u overlap in the file at offset 0x%" PRIx64
				  " (p_offset, p_filesz)",
				  prev->index, s->index, s->offset);
			goto out;
		}
		prev = s;
	}
	/* ...nor addresses. */
	qsort(c->segs, c->nsegs, sizeof(*c->segs), segment_vaddr_cmp);
	for (size_t i = 1; i < c->nsegs; i++) {
		const struct ms_core_segment *a = &c->segs[i - 1], *b = &c->segs[i];
		if (b->vaddr < a->vaddr + a->memsz) {
			err = bad(c,
				  "segments %u and %u overlap at 0x%" PRIx64 " (p_vaddr, p_memsz)",
				  a->index, b->index, b->vaddr);
			goto out;
		}
	}
	*notes_ret = notes;
	notes = NULL;
out:
	free(notes);
	free(ph);
	return err;
}

/* Split the notes of one PT_NOTE into c->notes. */
static struct ms_error *split_notes(struct ms_core *c, const unsigned char *data,
				    const struct note_range *range, size_t *cap)
{
	uint64_t size = range->size, align = range->align, pos = 0;
	while (pos < size) {
		uint64_t at = range->offset + pos;
		if (size - pos < NOTE_HEADER_SIZE)
			return bad(c,
				   "truncated note at offset 0x%" PRIx64 ": %" PRIu64
				   " bytes left in the notes, a note header "
				   "needs %d",
				   at, size - pos, NOTE_HEADER_SIZE);
		uint32_t namesz = get32(data + pos), descsz = get32(data + pos + 4);
		uint32_t type = get32(data + pos + 8);
		uint64_t name_at = pos + NOTE_HEADER_SIZE;
		if (namesz > size - name_at)
			return bad(c,
				   "note at offset 0x%" PRIx64 " (type 0x%x): name size %" PRIu32
				   " (namesz) runs past the end of the notes",
				   at, type, namesz);
		uint64_t desc_at = name_at + ((namesz + align - 1) & ~(align - 1));
		if (desc_at > size && descsz == 0)
			desc_at = size; /* the padding of a last, empty note may be missing */
		if (desc_at > size || descsz > size - desc_at)
			return bad(c,
				   "note at offset 0x%" PRIx64
				   " (type 0x%x): descriptor size %" PRIu32
				   " (descsz) runs past the end of the notes",
				   at, type, descsz);
		const char *name = "";
		if (namesz) {
			if (data[name_at + namesz - 1] != '\0')
				return bad(c,
					   "note at offset 0x%" PRIx64
					   " (type 0x%x): name is not NUL-terminated",
					   at, type);
			name = (const char *)data + name_at;
		}
		struct ms_core_note *n = ms_grow(c->notes, c->nnotes, cap, sizeof(*n), 32);
		if (!n)
			return &ms_error_no_memory;
		c->notes = n;
		c->notes[c->nnotes++] = (struct ms_core_note){
			.type = type,
			.name = name,
			.desc = data + desc_at,
			.descsz = descsz,
			.offset = at,
		};
		uint64_t next = desc_at + ((descsz + align - 1) & ~(align - 1));
		pos = next > size ? size : next; /* the last note's padding may be missing */
	}
	return NULL;
}

static const char *note_type_name(uint32_t type)
{
	switch (type) {
	case MS_NT_PRSTATUS:
		return "NT_PRSTATUS";
	case MS_NT_FPREGSET:
		return "NT_FPREGSET";
	case MS_NT_PRPSINFO:
		return "NT_PRPSINFO";
	case MS_NT_AUXV:
		return "NT_AUXV";
	case MS_NT_SIGINFO:
		return "NT_SIGINFO";
	case MS_NT_FILE:
		return "NT_FILE";
	case MS_NT_X86_XSTATE:
		return "NT_X86_XSTATE";
	default:
		return "note";
	}
}

static struct ms_error *bad_size(struct ms_core *c, const struct ms_core_note *n,
				 const char *expect)
{
	return bad(c, "%s note at offset 0x%" PRIx64 ": descriptor of %zu bytes, expected %s",
		   note_type_name(n->type), n->offset, n->descsz, expect);
}

static struct ms_error *duplicate(struct ms_core *c, const struct ms_core_note *n)
{
	return bad(c, "a second %s note at offset 0x%" PRIx64 ": there is one per process",
		   note_type_name(n->type), n->offset);
}

static struct ms_error *orphan(struct ms_core *c, const struct ms_core_note *n)
{
	return bad(c,
		   "%s note at offset 0x%" PRIx64 " comes before any NT_PRSTATUS: whose thread "
		   "is it?",
		   note_type_name(n->type), n->offset);
}

static void copy_string(char *dst, size_t dst_size, const unsigned char *src, size_t src_len)
{
	size_t n = strnlen((const char *)src, src_len);
	if (n >= dst_size)
		n = dst_size - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

static struct ms_error *parse_prstatus(struct ms_core *c, const struct ms_core_note *n, size_t *cap)
{
	if (n->descsz < PRSTATUS_SIZE)
		return bad_size(c, n, "336 (x86-64 struct elf_prstatus)");
	const unsigned char *d = n->desc;
	pid_t tid = (pid_t)get32(d + PRSTATUS_PID);
	struct ms_thread *t = ms_grow(c->threads, c->nthreads, cap, sizeof(*t), 8);
	if (!t)
		return &ms_error_no_memory;
	c->threads = t;
	struct ms_thread *th = &c->threads[c->nthreads++];
	memset(th, 0, sizeof(*th));
	th->tid = tid;
	th->has_regs = true;
	memcpy(&th->regs, d + PRSTATUS_REG, PRSTATUS_REG_SIZE);
	th->cursig = (int16_t)get16(d + PRSTATUS_CURSIG);
	th->sigpend = get64(d + PRSTATUS_SIGPEND);
	th->sighold = get64(d + PRSTATUS_SIGHOLD);
	/* pr_info has the signal's number, code and errno; NT_SIGINFO, when
	 * present, replaces it with the whole siginfo. */
	th->siginfo.si_signo = (int)get32(d + PRSTATUS_SIGNO);
	th->siginfo.si_code = (int)get32(d + PRSTATUS_CODE);
	th->siginfo.si_errno = (int)get32(d + PRSTATUS_ERRNO);
	return NULL;
}

static struct ms_error *parse_prpsinfo(struct ms_core *c, const struct ms_core_note *n)
{
	if (c->proc.valid)
		return duplicate(c, n);
	if (n->descsz < PRPSINFO_SIZE)
		return bad_size(c, n, "136 (x86-64 struct elf_prpsinfo)");
	const unsigned char *d = n->desc;
	struct ms_core_process *p = &c->proc;
	p->valid = true;
	p->state = (char)d[PRPSINFO_SNAME];
	p->uid = get32(d + PRPSINFO_UID);
	p->gid = get32(d + PRPSINFO_GID);
	p->pid = (pid_t)get32(d + PRPSINFO_PID);
	p->ppid = (pid_t)get32(d + PRPSINFO_PPID);
	p->pgrp = (pid_t)get32(d + PRPSINFO_PGRP);
	p->sid = (pid_t)get32(d + PRPSINFO_SID);
	copy_string(p->comm, sizeof(p->comm), d + PRPSINFO_FNAME, 16);
	copy_string(p->args, sizeof(p->args), d + PRPSINFO_PSARGS, 80);
	for (size_t n = strlen(p->args); n > 0 && p->args[n - 1] == ' '; n--)
		p->args[n - 1] = '\0'; /* the kernel turns the last NUL into a space */
	return NULL;
}

static int file_cmp(const void *a, const void *b)
{
	const struct ms_core_file *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

static struct ms_error *parse_file_note(struct ms_core *c, const struct ms_core_note *n)
{
	if (c->files)
		return duplicate(c, n);
	const unsigned char *d = n->desc;
	size_t size = n->descsz;
	if (size < NT_FILE_HEADER_SIZE)
		return bad_size(c, n, "at least 16 (count and page size)");
	uint64_t count = get64(d), page = get64(d + 8);
	if (count > (size - NT_FILE_HEADER_SIZE) / NT_FILE_ENTRY_SIZE)
		return bad(c,
			   "NT_FILE note at offset 0x%" PRIx64 ": %" PRIu64
			   " entries do not fit in its %zu bytes",
			   n->offset, count, size);
	if (page == 0 || (page & (page - 1)) || page > (UINT64_C(1) << 30))
		return bad(c, "NT_FILE note at offset 0x%" PRIx64 ": bad page size %" PRIu64,
			   n->offset, page);
	c->files = calloc(count ? count : 1, sizeof(*c->files));
	if (!c->files)
		return &ms_error_no_memory;
	const unsigned char *names = d + NT_FILE_HEADER_SIZE + count * NT_FILE_ENTRY_SIZE;
	const unsigned char *end = d + size;
	for (uint64_t i = 0; i < count; i++) {
		const unsigned char *e = d + NT_FILE_HEADER_SIZE + i * NT_FILE_ENTRY_SIZE;
		uint64_t start = get64(e), stop = get64(e + 8), pgoff = get64(e + 16);
		if (stop <= start)
			return bad(c,
				   "NT_FILE note at offset 0x%" PRIx64 ": entry %" PRIu64
				   " ends (0x%" PRIx64 ") before it starts (0x%" PRIx64 ")",
				   n->offset, i, stop, start);
		if (pgoff > UINT64_MAX / page)
			return bad(c,
				   "NT_FILE note at offset 0x%" PRIx64 ": entry %" PRIu64
				   " has file offset %" PRIu64 " pages of %" PRIu64
				   " bytes: beyond 2^64",
				   n->offset, i, pgoff, page);
		const unsigned char *nul = memchr(names, '\0', (size_t)(end - names));
		if (!nul)
			return bad(c,
				   "NT_FILE note at offset 0x%" PRIx64 ": %" PRIu64
				   " entries but only %" PRIu64 " file names",
				   n->offset, count, i);
		struct ms_core_file *f = &c->files[c->nfiles];
		size_t len = (size_t)(nul - names);
		static const char deleted[] = " (deleted)";
		if (len >= sizeof(deleted) - 1 && memcmp(names + len - (sizeof(deleted) - 1),
							 deleted, sizeof(deleted) - 1) == 0) {
			f->deleted = true;
			len -= sizeof(deleted) - 1;
		}
		f->path = strndup((const char *)names, len);
		if (!f->path)
			return &ms_error_no_memory;
		f->start = start;
		f->end = stop;
		f->offset = pgoff * page;
		c->nfiles++;
		names = nul + 1;
	}
	qsort(c->files, c->nfiles, sizeof(*c->files), file_cmp);
	for (size_t i = 1; i < c->nfiles; i++)
		if (c->files[i].start < c->files[i - 1].end)
			return bad(c,
				   "NT_FILE note at offset 0x%" PRIx64
				   ": mappings overlap at 0x%" PRIx64,
				   n->offset, c->files[i].start);
	return NULL;
}

static int tid_cmp(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
	return x < y ? -1 : x > y;
}

/* Two NT_PRSTATUS notes for one thread: sorted, not pairwise (a hostile core
 * may hold hundreds of thousands of them). */
static struct ms_error *check_unique_threads(struct ms_core *c)
{
	pid_t *tids = malloc(c->nthreads * sizeof(*tids));
	if (!tids)
		return &ms_error_no_memory;
	for (size_t i = 0; i < c->nthreads; i++)
		tids[i] = c->threads[i].tid;
	qsort(tids, c->nthreads, sizeof(*tids), tid_cmp);
	struct ms_error *err = NULL;
	for (size_t i = 1; i < c->nthreads && !err; i++)
		if (tids[i] == tids[i - 1])
			err = bad(c, "two NT_PRSTATUS notes for thread %d", (int)tids[i]);
	free(tids);
	return err;
}

static struct ms_error *interpret_notes(struct ms_core *c)
{
	size_t cap = 0;
	struct ms_thread *cur = NULL;
	struct ms_error *err;
	for (size_t i = 0; i < c->nnotes; i++) {
		const struct ms_core_note *n = &c->notes[i];
		if (strcmp(n->name, "CORE") == 0) {
			switch (n->type) {
			case MS_NT_PRSTATUS:
				err = parse_prstatus(c, n, &cap);
				if (err)
					return err;
				cur = &c->threads[c->nthreads - 1];
				break;
			case MS_NT_PRPSINFO:
				err = parse_prpsinfo(c, n);
				if (err)
					return err;
				break;
			case MS_NT_FPREGSET:
				if (!cur)
					return orphan(c, n);
				if (n->descsz < FPREGSET_SIZE)
					return bad_size(c, n, "512 (x86-64 FXSAVE area)");
				memcpy(&cur->fpregs, n->desc, FPREGSET_SIZE);
				cur->has_fpregs = true;
				break;
			case MS_NT_SIGINFO:
				if (!cur)
					return orphan(c, n);
				if (n->descsz < SIGINFO_SIZE)
					return bad_size(c, n, "128 (siginfo_t)");
				memcpy(&cur->siginfo, n->desc, SIGINFO_SIZE);
				cur->has_siginfo = true;
				break;
			case MS_NT_AUXV:
				if (c->auxv)
					return duplicate(c, n);
				if (n->descsz % 16)
					return bad_size(c, n,
							"a multiple of 16 (type, value pairs)");
				c->auxv = n->desc;
				c->auxv_size = n->descsz;
				break;
			case MS_NT_FILE:
				err = parse_file_note(c, n);
				if (err)
					return err;
				break;
			}
		} else if (strcmp(n->name, "LINUX") == 0 && n->type == MS_NT_X86_XSTATE) {
			if (!cur)
				return orphan(c, n);
			if (n->descsz < XSTATE_MIN_SIZE)
				return bad_size(c, n, "at least 576 (XSAVE area)");
			cur->xstate = (void *)n->desc;
			cur->xstate_size = n->descsz;
		}
	}
	if (!c->nthreads)
		return bad(c, "no NT_PRSTATUS note: the core file has no threads");
	err = check_unique_threads(c);
	if (err)
		return err;
	for (size_t i = 0; i < c->nthreads; i++) {
		struct ms_thread *th = &c->threads[i];
		if (c->proc.valid && th->tid == c->proc.pid)
			th->state = c->proc.state;
	}
	return NULL;
}

static struct ms_error *read_notes(struct ms_core *c, const struct note_range *ranges,
				   size_t nranges)
{
	uint64_t total = 0;
	for (size_t i = 0; i < nranges; i++)
		total += ranges[i].size;
	c->note_data = malloc(total ? total : 1);
	if (!c->note_data)
		return &ms_error_no_memory;
	size_t cap = 0;
	uint64_t at = 0;
	for (size_t i = 0; i < nranges; i++) {
		struct ms_error *err =
			ms_core_pread(c, c->note_data + at, ranges[i].size, ranges[i].offset);
		if (!err)
			err = split_notes(c, c->note_data + at, &ranges[i], &cap);
		if (err)
			return err;
		at += ranges[i].size;
	}
	return interpret_notes(c);
}

struct ms_error *ms_core_open(const char *path, unsigned flags, struct ms_core **core_ret)
{
	struct ms_core *c = calloc(1, sizeof(*c));
	if (!c)
		return &ms_error_no_memory;
	c->fd = -1;
	struct note_range *ranges = NULL;
	size_t nranges = 0;
	struct ms_error *err = NULL;
	c->path = strdup(path);
	if (!c->path) {
		err = &ms_error_no_memory;
		goto out;
	}
	c->fd = open(path,
		     O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY); /* a FIFO must not block */
	if (c->fd < 0) {
		err = errno == ENOENT
			      ? ms_error_create(MS_ERROR_NOT_FOUND, "%s: no such core file", path)
			      : ms_error_errno(errno, "%s", path);
		goto out;
	}
	struct stat st;
	if (fstat(c->fd, &st) < 0) {
		err = ms_error_errno(errno, "%s", path);
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		err = ms_error_create(MS_ERROR_INVALID, "%s: is a directory, not a core file",
				      path);
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		err = bad(c, "not a regular file");
		goto out;
	}
	c->size = (uint64_t)st.st_size;
	c->mtime = st.st_mtim;
	if (c->size == 0) {
		err = bad(c, "empty file, not a core file");
		goto out;
	}
	unsigned char ident[sizeof(Elf64_Ehdr)];
	size_t have = c->size < sizeof(ident) ? (size_t)c->size : sizeof(ident);
	err = ms_core_pread(c, ident, have, 0);
	if (!err)
		err = check_ident(c, ident, have);
	if (err)
		goto out;
	Elf64_Ehdr eh;
	memcpy(&eh, ident, sizeof(eh));
	if (eh.e_type != ET_CORE) {
		err = bad(c, "not a core file (ELF type %s)", type_name(eh.e_type));
		goto out;
	}
	if (eh.e_machine != EM_X86_64) {
		err = bad(c,
			  "core file of another machine (e_machine %u, %s): memscope reads "
			  "x86-64 cores",
			  eh.e_machine, machine_name(eh.e_machine));
		goto out;
	}
	err = read_program_headers(c, &eh, &ranges, &nranges);
	if (err)
		goto out;
	if (!(flags & MS_CORE_HEADERS_ONLY)) {
		if (!nranges) {
			err = bad(c, "no notes (PT_NOTE): the core file has no threads");
			goto out;
		}
		err = read_notes(c, ranges, nranges);
		if (err)
			goto out;
	}
	*core_ret = c;
	c = NULL;
out:
	free(ranges);
	ms_core_destroy(c);
	return err;
}

void ms_core_destroy(struct ms_core *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	for (size_t i = 0; i < c->nfiles; i++)
		free(c->files[i].path);
	free(c->files);
	free(c->threads);
	free(c->notes);
	free(c->note_data);
	free(c->segs);
	free(c->path);
	free(c);
}

const char *ms_core_path(const struct ms_core *c)
{
	return c->path;
}

uint64_t ms_core_size(const struct ms_core *c)
{
	return c->size;
}

struct timespec ms_core_mtime(const struct ms_core *c)
{
	return c->mtime;
}

const struct ms_core_segment *ms_core_segments(const struct ms_core *c, size_t *count_ret)
{
	*count_ret = c->nsegs;
	return c->segs;
}

const struct ms_core_segment *ms_core_segment_next(const struct ms_core *c, uint64_t addr)
{
	size_t lo = 0, hi = c->nsegs;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->segs[mid].vaddr + c->segs[mid].memsz <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < c->nsegs ? &c->segs[lo] : NULL;
}

const struct ms_core_segment *ms_core_segment_find(const struct ms_core *c, uint64_t addr)
{
	const struct ms_core_segment *s = ms_core_segment_next(c, addr);
	return s && s->vaddr <= addr ? s : NULL;
}

const struct ms_core_note *ms_core_notes(const struct ms_core *c, size_t *count_ret)
{
	*count_ret = c->nnotes;
	return c->notes;
}

const struct ms_thread *ms_core_threads(const struct ms_core *c, size_t *count_ret)
{
	*count_ret = c->nthreads;
	return c->threads;
}

struct ms_error *ms_core_thread_list(const struct ms_core *c, struct ms_thread_list **list_ret)
{
	struct ms_thread_list *list = calloc(1, sizeof(*list));
	if (!list)
		return &ms_error_no_memory;
	list->threads = calloc(c->nthreads ? c->nthreads : 1, sizeof(*list->threads));
	if (!list->threads) {
		free(list);
		return &ms_error_no_memory;
	}
	for (size_t i = 0; i < c->nthreads; i++) {
		struct ms_thread *th = &list->threads[i];
		*th = c->threads[i];
		th->xstate = NULL;
		if (c->threads[i].xstate) {
			th->xstate = malloc(th->xstate_size);
			if (!th->xstate) {
				ms_thread_list_destroy(list);
				return &ms_error_no_memory;
			}
			memcpy(th->xstate, c->threads[i].xstate, th->xstate_size);
		}
		list->count++;
	}
	*list_ret = list;
	return NULL;
}

const struct ms_core_process *ms_core_process(const struct ms_core *c)
{
	return &c->proc;
}

const void *ms_core_auxv(const struct ms_core *c, size_t *size_ret)
{
	*size_ret = c->auxv_size;
	return c->auxv;
}

bool ms_core_auxv_get(const struct ms_core *c, uint64_t type, uint64_t *value_ret)
{
	for (size_t off = 0; off + 16 <= c->auxv_size; off += 16) {
		uint64_t t = get64(c->auxv + off);
		if (t == AT_NULL)
			break;
		if (t == type) {
			*value_ret = get64(c->auxv + off + 8);
			return true;
		}
	}
	return false;
}

const struct ms_core_file *ms_core_files(const struct ms_core *c, size_t *count_ret)
{
	*count_ret = c->nfiles;
	return c->files;
}

const struct ms_core_file *ms_core_file_next(const struct ms_core *c, uint64_t addr)
{
	size_t lo = 0, hi = c->nfiles;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (c->files[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < c->nfiles ? &c->files[lo] : NULL;
}

const struct ms_core_file *ms_core_file_find(const struct ms_core *c, uint64_t addr)
{
	const struct ms_core_file *f = ms_core_file_next(c, addr);
	return f && f->start <= addr ? f : NULL;
}

struct ms_error *ms_core_read(struct ms_core *c, uint64_t addr, void *buf, size_t len,
			      size_t *done_ret)
{
	size_t done = 0;
	struct ms_error *err = NULL;
	while (done < len) {
		uint64_t a = addr + done;
		if (a < addr) {
			err = ms_error_fault(a, "address range wraps around");
			break;
		}
		const struct ms_core_segment *s = ms_core_segment_find(c, a);
		if (!s) {
			err = ms_error_create(MS_ERROR_NOT_MAPPED,
					      "0x%" PRIx64 " is not mapped in core file %s", a,
					      c->path);
			if (err != &ms_error_no_memory)
				err->address = a;
			break;
		}
		uint64_t rel = a - s->vaddr;
		if (rel >= s->filesz) {
			err = ms_error_fault(a, "not in the core file");
			break;
		}
		size_t chunk = len - done;
		if (chunk > s->filesz - rel)
			chunk = (size_t)(s->filesz - rel);
		err = ms_core_pread(c, (char *)buf + done, chunk, s->offset + rel);
		if (err)
			break;
		done += chunk;
	}
	if (done_ret)
		*done_ret = done;
	return err;
}

struct ms_error *ms_core_hole_at(struct ms_core *c, uint64_t offset, uint64_t limit, bool *hole_ret,
				 uint64_t *end_ret)
{
	*hole_ret = false;
	*end_ret = limit;
	if (offset >= limit)
		return NULL;
	off_t data = lseek(c->fd, (off_t)offset, SEEK_DATA);
	if (data < 0) {
		if (errno == ENXIO) { /* no data from here to the end of the file */
			*hole_ret = true;
			return NULL;
		}
		if (errno == EINVAL || errno == EOPNOTSUPP)
			return NULL; /* no hole support: all data */
		return ms_error_errno(errno, "%s: lseek(SEEK_DATA)", c->path);
	}
	if ((uint64_t)data > offset) {
		*hole_ret = true;
		if ((uint64_t)data < limit)
			*end_ret = (uint64_t)data;
		return NULL;
	}
	off_t hole = lseek(c->fd, (off_t)offset, SEEK_HOLE);
	if (hole < 0)
		return ms_error_errno(errno, "%s: lseek(SEEK_HOLE)", c->path);
	/* a run always moves on, even if the file changes under us */
	if ((uint64_t)hole > offset && (uint64_t)hole < limit)
		*end_ret = (uint64_t)hole;
	return NULL;
}

bool ms_core_find_build_id(const void *notes, size_t size, uint64_t align, const void **id_ret,
			   size_t *len_ret)
{
	const unsigned char *d = notes;
	if (align != 8)
		align = 4;
	size_t pos = 0;
	while (size - pos >= NOTE_HEADER_SIZE) {
		uint32_t namesz = get32(d + pos), descsz = get32(d + pos + 4);
		uint32_t type = get32(d + pos + 8);
		size_t name_at = pos + NOTE_HEADER_SIZE;
		if (namesz > size - name_at)
			return false;
		size_t desc_at = name_at + (size_t)((namesz + align - 1) & ~(align - 1));
		if (desc_at > size || descsz > size - desc_at)
			return false;
		if (type == MS_NT_GNU_BUILD_ID && namesz == 4 &&
		    memcmp(d + name_at, "GNU", 4) == 0 && descsz > 0) {
			*id_ret = d + desc_at;
			*len_ret = descsz;
			return true;
		}
		size_t next = desc_at + (size_t)((descsz + align - 1) & ~(align - 1));
		if (next > size)
			return false;
		pos = next;
	}
	return false;
}

static const char *si_code_name(int signo, int code)
{
	switch (code) {
	case SI_USER:
		return "SI_USER";
	case SI_KERNEL:
		return "SI_KERNEL";
	case SI_QUEUE:
		return "SI_QUEUE";
	case SI_TIMER:
		return "SI_TIMER";
	case SI_MESGQ:
		return "SI_MESGQ";
	case SI_ASYNCIO:
		return "SI_ASYNCIO";
	case SI_SIGIO:
		return "SI_SIGIO";
	case SI_TKILL:
		return "SI_TKILL";
	}
	static const char *const segv[] = {
		"SEGV_MAPERR",	"SEGV_ACCERR",	"SEGV_BNDERR",	"SEGV_PKUERR",	"SEGV_ACCADI",
		"SEGV_ADIDERR", "SEGV_ADIPERR", "SEGV_MTEAERR", "SEGV_MTESERR", "SEGV_CPERR"};
	static const char *const bus[] = {"BUS_ADRALN", "BUS_ADRERR", "BUS_OBJERR", "BUS_MCEERR_AR",
					  "BUS_MCEERR_AO"};
	static const char *const ill[] = {"ILL_ILLOPC", "ILL_ILLOPN", "ILL_ILLADR",
					  "ILL_ILLTRP", "ILL_PRVOPC", "ILL_PRVREG",
					  "ILL_COPROC", "ILL_BADSTK", "ILL_BADIADDR"};
	static const char *const fpe[] = {"FPE_INTDIV", "FPE_INTOVF",  "FPE_FLTDIV", "FPE_FLTOVF",
					  "FPE_FLTUND", "FPE_FLTRES",  "FPE_FLTINV", "FPE_FLTSUB",
					  "FPE_FLTUNK", "FPE_CONDTRAP"};
	static const char *const trap[] = {"TRAP_BRKPT",  "TRAP_TRACE", "TRAP_BRANCH",
					   "TRAP_HWBKPT", "TRAP_UNK",	"TRAP_PERF"};
#define PICK(table)                                                                                \
	return code >= 1 && (size_t)code <= sizeof(table) / sizeof(table[0]) ? table[code - 1]     \
									     : NULL
	switch (signo) {
	case SIGSEGV:
		PICK(segv);
	case SIGBUS:
		PICK(bus);
	case SIGILL:
		PICK(ill);
	case SIGFPE:
		PICK(fpe);
	case SIGTRAP:
		PICK(trap);
	}
#undef PICK
	return NULL;
}

const char *ms_core_describe_signal(const siginfo_t *si, bool full, char *buf, size_t size)
{
	const char *abbrev = si->si_signo > 0 ? sigabbrev_np(si->si_signo) : NULL;
	int n = abbrev ? snprintf(buf, size, "%d (SIG%s)", si->si_signo, abbrev)
		       : snprintf(buf, size, "%d", si->si_signo);
	if (!full || n < 0 || (size_t)n >= size)
		return buf;
	const char *code = si_code_name(si->si_signo, si->si_code);
	char *p = buf + n;
	size_t left = size - (size_t)n;
	bool fault = si->si_code > 0 &&
		     (si->si_signo == SIGSEGV || si->si_signo == SIGBUS || si->si_signo == SIGILL ||
		      si->si_signo == SIGFPE || si->si_signo == SIGTRAP);
	if (code)
		n = snprintf(p, left, ", %s", code);
	else
		n = snprintf(p, left, ", code %d", si->si_code);
	if (n < 0 || (size_t)n >= left)
		return buf;
	p += n;
	left -= (size_t)n;
	if (fault)
		snprintf(p, left, " at 0x%" PRIxPTR, (uintptr_t)si->si_addr);
	else if (si->si_code == SI_USER || si->si_code == SI_TKILL || si->si_code == SI_QUEUE)
		snprintf(p, left, " from pid %d uid %u", (int)si->si_pid, (unsigned)si->si_uid);
	return buf;
}
