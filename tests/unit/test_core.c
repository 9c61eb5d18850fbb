/* SPDX-License-Identifier: MIT */
/*
 * core: cores built here byte by byte (so every value is known) opened with
 * the reader and as a target: notes, segments, reads, faults, holes, the
 * fallback to mapped files and their build-id check.
 */
#include <check.h>
#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core.h"
#include "unit.h"

/* ---- a tiny core writer ---- */

struct seg {
	uint64_t vaddr, memsz, filesz;
	uint32_t flags;
	const void *data; /* filesz bytes, or NULL for a hole */
};

struct builder {
	unsigned char notes[16384];
	size_t notes_len;
	struct seg segs[8];
	size_t nsegs;
};

static void add_note(struct builder *b, const char *name, uint32_t type, const void *desc,
		     size_t len)
{
	uint32_t hdr[3] = {(uint32_t)strlen(name) + 1, (uint32_t)len, type};
	memcpy(b->notes + b->notes_len, hdr, sizeof(hdr));
	b->notes_len += sizeof(hdr);
	memcpy(b->notes + b->notes_len, name, hdr[0]);
	b->notes_len += (hdr[0] + 3) & ~3u;
	memcpy(b->notes + b->notes_len, desc, len);
	b->notes_len += (len + 3) & ~3u;
}

static void add_prstatus(struct builder *b, pid_t tid, uint64_t rip, short cursig)
{
	unsigned char d[336] = {0};
	memcpy(d + 12, &cursig, sizeof(cursig));
	uint64_t pend = 0x100, hold = 0x200;
	memcpy(d + 16, &pend, 8);
	memcpy(d + 24, &hold, 8);
	memcpy(d + 32, &tid, 4);
	struct user_regs_struct regs = {.rip = rip, .rsp = 0x7ff000, .rax = (uint64_t)tid};
	memcpy(d + 112, &regs, sizeof(regs));
	add_note(b, "CORE", NT_PRSTATUS, d, sizeof(d));
}

static void add_prpsinfo(struct builder *b, pid_t pid, const char *comm, const char *args)
{
	unsigned char d[136] = {0};
	d[1] = 'R';
	memcpy(d + 24, &pid, 4);
	memcpy(d + 40, comm, strlen(comm));
	memcpy(d + 56, args, strlen(args));
	add_note(b, "CORE", NT_PRPSINFO, d, sizeof(d));
}

/* NT_FILE with one entry per (start, end, offset in pages, name). */
static void add_file(struct builder *b, uint64_t page, size_t n, const uint64_t (*e)[3],
		     const char *const *names)
{
	unsigned char d[4096];
	size_t len = 0;
	uint64_t count = n;
	memcpy(d, &count, 8);
	memcpy(d + 8, &page, 8);
	len = 16;
	for (size_t i = 0; i < n; i++) {
		memcpy(d + len, e[i], 24);
		len += 24;
	}
	for (size_t i = 0; i < n; i++) {
		memcpy(d + len, names[i], strlen(names[i]) + 1);
		len += strlen(names[i]) + 1;
	}
	add_note(b, "CORE", NT_FILE, d, len);
}

static void add_seg(struct builder *b, uint64_t vaddr, uint64_t memsz, uint64_t filesz,
		    uint32_t flags, const void *data)
{
	b->segs[b->nsegs++] = (struct seg){vaddr, memsz, filesz, flags, data};
}

/* Write the core to a temporary file; returns its path (static buffer). */
static const char *write_core(const struct builder *b)
{
	static char path[64];
	strcpy(path, "/tmp/memscope-unit-core-XXXXXX");
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	size_t nph = 1 + b->nsegs;
	Elf64_Ehdr eh = {.e_type = ET_CORE,
			 .e_machine = EM_X86_64,
			 .e_version = EV_CURRENT,
			 .e_phoff = sizeof(Elf64_Ehdr),
			 .e_ehsize = sizeof(Elf64_Ehdr),
			 .e_phentsize = sizeof(Elf64_Phdr),
			 .e_phnum = (uint16_t)nph};
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	ck_assert_int_eq(pwrite(fd, &eh, sizeof(eh), 0), sizeof(eh));
	uint64_t off = sizeof(eh) + nph * sizeof(Elf64_Phdr);
	Elf64_Phdr note = {
		.p_type = PT_NOTE, .p_offset = off, .p_filesz = b->notes_len, .p_align = 4};
	ck_assert_int_eq(pwrite(fd, &note, sizeof(note), sizeof(eh)), sizeof(note));
	ck_assert_int_eq(pwrite(fd, b->notes, b->notes_len, (off_t)off), b->notes_len);
	off = (off + b->notes_len + 4095) & ~UINT64_C(4095);
	for (size_t i = 0; i < b->nsegs; i++) {
		const struct seg *s = &b->segs[i];
		Elf64_Phdr ph = {.p_type = PT_LOAD,
				 .p_flags = s->flags,
				 .p_offset = off,
				 .p_vaddr = s->vaddr,
				 .p_filesz = s->filesz,
				 .p_memsz = s->memsz,
				 .p_align = 4096};
		ck_assert_int_eq(pwrite(fd, &ph, sizeof(ph),
					(off_t)(sizeof(eh) + (i + 1) * sizeof(Elf64_Phdr))),
				 sizeof(ph));
		if (s->data)
			ck_assert_int_eq(pwrite(fd, s->data, s->filesz, (off_t)off), s->filesz);
		off += (s->filesz + 4095) & ~UINT64_C(4095);
	}
	ck_assert_int_eq(ftruncate(fd, (off_t)off), 0);
	close(fd);
	return path;
}

static unsigned char page_a[8192], page_b[4096];

static void fill(void)
{
	for (size_t i = 0; i < sizeof(page_a); i++)
		page_a[i] = (unsigned char)(i * 13 + 1);
	for (size_t i = 0; i < sizeof(page_b); i++)
		page_b[i] = (unsigned char)(i * 7 + 5);
}

/* ---- the reader ---- */

START_TEST(test_open_and_notes)
{
	fill();
	struct builder b = {0};
	add_prstatus(&b, 100, 0x401000, SIGBUS);
	add_prpsinfo(&b, 100, "prog-with-a-long-name", "prog -x  ");
	siginfo_t si = {.si_signo = SIGBUS, .si_code = BUS_ADRERR};
	si.si_addr = (void *)0x1234;
	add_note(&b, "CORE", NT_SIGINFO, &si, sizeof(si));
	add_prstatus(&b, 101, 0x402000, 0);
	unsigned char fp[512] = {0};
	fp[160] = 0xab;
	add_note(&b, "CORE", NT_FPREGSET, fp, sizeof(fp));
	unsigned char xs[832] = {0};
	add_note(&b, "LINUX", NT_X86_XSTATE, xs, sizeof(xs));
	add_note(&b, "OTHER", NT_PRSTATUS, fp, 16); /* another namespace: ignored */
	uint64_t auxv[] = {AT_ENTRY, 0x401000, AT_PAGESZ, 4096, AT_NULL, 0};
	add_note(&b, "CORE", NT_AUXV, auxv, sizeof(auxv));
	add_seg(&b, 0x600000, 0x2000, 0x2000, PF_R | PF_W, page_a);
	add_seg(&b, 0x400000, 0x3000, 0x1000, PF_R | PF_X, page_b);
	const char *path = write_core(&b);

	struct ms_core *core;
	ck_assert_ptr_null(ms_core_open(path, 0, &core));
	size_t n;
	const struct ms_core_segment *segs = ms_core_segments(core, &n);
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(segs[0].vaddr, 0x400000); /* sorted by address */
	ck_assert_uint_eq(segs[0].index, 2);
	ck_assert_uint_eq(segs[1].filesz, 0x2000);
	ck_assert_ptr_eq(ms_core_segment_find(core, 0x402fff), &segs[0]);
	ck_assert_ptr_null(ms_core_segment_find(core, 0x403000));
	ck_assert_ptr_eq(ms_core_segment_next(core, 0x403000), &segs[1]);
	ck_assert_ptr_null(ms_core_segment_next(core, 0x602000));

	const struct ms_thread *th = ms_core_threads(core, &n);
	ck_assert_uint_eq(n, 2);
	ck_assert_int_eq(th[0].tid, 100);
	ck_assert_uint_eq(th[0].regs.rip, 0x401000);
	ck_assert_uint_eq(th[0].regs.rax, 100);
	ck_assert_int_eq(th[0].cursig, SIGBUS);
	ck_assert_uint_eq(th[0].sigpend, 0x100);
	ck_assert_uint_eq(th[0].sighold, 0x200);
	ck_assert(th[0].has_siginfo && !th[0].has_fpregs && !th[0].xstate);
	ck_assert_int_eq(th[0].state, 'R');
	ck_assert_str_eq(th[0].name, ""); /* a core keeps no thread names */
	ck_assert(!th[1].has_siginfo && th[1].has_fpregs);
	ck_assert_uint_eq(th[1].fpregs.xmm_space[0], 0xab);
	ck_assert_uint_eq(th[1].xstate_size, sizeof(xs));
	ck_assert_int_eq(th[1].state, 0);

	const struct ms_core_process *p = ms_core_process(core);
	ck_assert(p->valid);
	ck_assert_str_eq(p->comm, "prog-with-a-long");
	ck_assert_str_eq(p->args, "prog -x");
	uint64_t v;
	ck_assert(ms_core_auxv_get(core, AT_PAGESZ, &v) && v == 4096);
	ck_assert(!ms_core_auxv_get(core, AT_BASE, &v));
	const struct ms_core_note *notes = ms_core_notes(core, &n);
	ck_assert_uint_eq(n, 8);
	ck_assert_str_eq(notes[6].name, "OTHER");

	char buf[160];
	ck_assert_str_eq(ms_core_describe_signal(&th[0].siginfo, true, buf, sizeof(buf)),
			 "7 (SIGBUS), BUS_ADRERR at 0x1234");
	siginfo_t kill = {.si_signo = SIGTERM, .si_code = SI_USER};
	kill.si_pid = 55;
	ck_assert_str_eq(ms_core_describe_signal(&kill, true, buf, sizeof(buf)),
			 "15 (SIGTERM), SI_USER from pid 55 uid 0");
	ck_assert_str_eq(ms_core_describe_signal(&kill, false, buf, sizeof(buf)), "15 (SIGTERM)");
	ck_assert_str_eq(ms_core_describe_signal(&kill, true, buf, 6), "15 (S");

	struct ms_thread_list *list;
	ck_assert_ptr_null(ms_core_thread_list(core, &list));
	ck_assert_uint_eq(list->count, 2);
	ck_assert_ptr_ne(list->threads[1].xstate, th[1].xstate); /* a copy */
	ms_thread_list_destroy(list);
	ms_core_destroy(core);
	unlink(path);
}
END_TEST

START_TEST(test_read_and_faults)
{
	fill();
	struct builder b = {0};
	add_prstatus(&b, 7, 0, 0);
	add_seg(&b, 0x400000, 0x3000, 0x1000, PF_R, page_b);
	add_seg(&b, 0x403000, 0x2000, 0x2000, PF_R, page_a); /* adjacent */
	add_seg(&b, 0x500000, 0x2000, 0x2000, PF_R, NULL);   /* a hole in the file */
	const char *path = write_core(&b);
	struct ms_core *core;
	ck_assert_ptr_null(ms_core_open(path, 0, &core));
	unsigned char buf[0x3000];
	size_t done;
	ck_assert_ptr_null(ms_core_read(core, 0x400010, buf, 16, &done));
	ck_assert_uint_eq(done, 16);
	ck_assert_mem_eq(buf, page_b + 0x10, 16);
	/* the segment's part that is not in the core */
	struct ms_error *err = ms_core_read(core, 0x400ff0, buf, 0x20, &done);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(err->code, MS_ERROR_FAULT);
	ck_assert_uint_eq(err->address, 0x401000);
	ck_assert_uint_eq(done, 0x10);
	ck_assert_str_eq(err->message, "could not read memory at 0x401000: not in the core file");
	ms_error_destroy(err);
	/* across two segments */
	ck_assert_ptr_null(ms_core_read(core, 0x403000, buf, 0x2000, &done));
	ck_assert_mem_eq(buf, page_a, 0x2000);
	err = ms_core_read(core, 0x404ff8, buf, 16, &done);
	ck_assert_int_eq(err->code, MS_ERROR_NOT_MAPPED);
	ck_assert_uint_eq(err->address, 0x405000);
	ck_assert_uint_eq(done, 8);
	ms_error_destroy(err);
	err = ms_core_read(core, UINT64_MAX - 3, buf, 8, &done);
	ck_assert_ptr_nonnull(err);
	ms_error_destroy(err);
	/* holes: in the core, reading as zeros */
	const struct ms_core_segment *s = ms_core_segment_find(core, 0x500000);
	bool hole;
	uint64_t end;
	ck_assert_ptr_null(ms_core_hole_at(core, s->offset, s->offset + s->filesz, &hole, &end));
	ck_assert(hole);
	ck_assert_uint_eq(end, s->offset + s->filesz);
	memset(buf, 0xff, 16);
	ck_assert_ptr_null(ms_core_read(core, 0x501000, buf, 16, &done));
	ck_assert_uint_eq(buf[0] | buf[15], 0);
	s = ms_core_segment_find(core, 0x403000);
	ck_assert_ptr_null(ms_core_hole_at(core, s->offset, s->offset + s->filesz, &hole, &end));
	ck_assert(!hole);
	ms_core_destroy(core);
	unlink(path);
}
END_TEST

START_TEST(test_build_id_notes)
{
	unsigned char notes[64] = {0};
	uint32_t hdr[3] = {4, 4, 1}; /* a "GNU" note of another type first */
	memcpy(notes, hdr, 12);
	memcpy(notes + 12, "GNU", 4);
	uint32_t hdr2[3] = {4, 8, NT_GNU_BUILD_ID};
	memcpy(notes + 20, hdr2, 12);
	memcpy(notes + 32, "GNU", 4);
	memcpy(notes + 36, "\x01\x02\x03\x04\x05\x06\x07\x08", 8);
	const void *id;
	size_t len;
	ck_assert(ms_core_find_build_id(notes, 44, 4, &id, &len));
	ck_assert_uint_eq(len, 8);
	ck_assert_ptr_eq(id, notes + 36);
	ck_assert(!ms_core_find_build_id(notes, 40, 4, &id, &len)); /* cut short */
	hdr2[1] = 0xffffffff;
	memcpy(notes + 20, hdr2, 12);
	ck_assert(!ms_core_find_build_id(notes, 44, 4, &id, &len));
}
END_TEST

/* ---- as a target: mapped files ---- */

/* A minimal ELF file with a build-id note in its first page. */
static void write_elf(const char *path, unsigned char id_byte, size_t size)
{
	unsigned char *img = calloc(1, size);
	Elf64_Ehdr *eh = (Elf64_Ehdr *)img;
	memcpy(eh->e_ident, ELFMAG, SELFMAG);
	eh->e_ident[EI_CLASS] = ELFCLASS64;
	eh->e_ident[EI_DATA] = ELFDATA2LSB;
	eh->e_ident[EI_VERSION] = EV_CURRENT;
	eh->e_type = ET_DYN;
	eh->e_machine = EM_X86_64;
	eh->e_version = EV_CURRENT;
	eh->e_phoff = sizeof(*eh);
	eh->e_ehsize = sizeof(*eh);
	eh->e_phentsize = sizeof(Elf64_Phdr);
	eh->e_phnum = 1;
	Elf64_Phdr *ph = (Elf64_Phdr *)(img + sizeof(*eh));
	ph->p_type = PT_NOTE;
	ph->p_offset = 0x100;
	ph->p_filesz = 16 + 20;
	ph->p_align = 4;
	uint32_t hdr[3] = {4, 20, NT_GNU_BUILD_ID};
	memcpy(img + 0x100, hdr, 12);
	memcpy(img + 0x10c, "GNU", 4);
	memset(img + 0x110, id_byte, 20);
	for (size_t i = 0x1000; i < size; i++)
		img[i] = (unsigned char)(i >> 4);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, img, size), (ssize_t)size);
	close(fd);
	free(img);
}

/* A core whose NT_FILE maps lib at 0x10000 (3 pages, only the ELF header
 * page in the core), as the kernel writes it; gdb's page size of 1 if asked. */
static const char *core_with_lib(const char *lib, unsigned char id_byte, bool gdb_style)
{
	static unsigned char header[4096];
	write_elf("/tmp/memscope-unit-hdr", id_byte, 4096);
	int fd = open("/tmp/memscope-unit-hdr", O_RDONLY);
	ck_assert_int_eq(read(fd, header, sizeof(header)), sizeof(header));
	close(fd);
	unlink("/tmp/memscope-unit-hdr");
	struct builder b = {0};
	add_prstatus(&b, 9, 0x11000, 0);
	uint64_t page = gdb_style ? 1 : 4096;
	uint64_t e[2][3] = {{0x10000, 0x13000, 0}, {0x20000, 0x21000, 0x3000 / page}};
	const char *names[] = {lib, lib};
	add_file(&b, page, 2, e, names);
	uint64_t auxv[] = {AT_ENTRY, 0x11000, AT_NULL, 0};
	add_note(&b, "CORE", NT_AUXV, auxv, sizeof(auxv));
	add_seg(&b, 0x10000, 0x3000, 0x1000, PF_R | PF_X, header);
	return write_core(&b);
}

START_TEST(test_target_reads_mapped_file)
{
	const char *lib = "/tmp/memscope-unit-lib.so";
	write_elf(lib, 0x11, 0x3000 + 100); /* the last page is partly past the end */
	for (int gdb_style = 0; gdb_style < 2; gdb_style++) {
		const char *path = core_with_lib(lib, 0x11, gdb_style);
		struct ms_target *t;
		ck_assert_ptr_null(ms_target_open_core(path, NULL, &t));
		size_t n;
		ms_target_core_cautions(t, &n);
		ck_assert_uint_eq(n, 0);
		ck_assert_str_eq(ms_target_exe(t), lib);
		unsigned char buf[0x100];
		size_t done;
		/* from the core, then from the file, in one read */
		ck_assert_ptr_null(ms_target_read(t, 0x10ff8, buf, 16, 0, &done));
		ck_assert_uint_eq(buf[8], (unsigned char)(0x1000 >> 4));
		struct ms_core_extent e;
		ck_assert_ptr_null(ms_target_core_extent(t, 0x10000, &e));
		ck_assert_int_eq(e.source, MS_CORE_SRC_CORE);
		ck_assert_uint_eq(e.end, 0x11000);
		ck_assert_ptr_null(ms_target_core_extent(t, 0x11800, &e));
		ck_assert_int_eq(e.source, MS_CORE_SRC_FILE);
		ck_assert_uint_eq(e.offset, 0x1800);
		ck_assert_uint_eq(e.end, 0x13000);
		ck_assert_str_eq(e.path, lib);
		/* a mapping with no segment (gdb leaves some out): from the file,
		 * zeros after its end within the last page */
		ck_assert_ptr_null(ms_target_read(t, 0x20000 + 96, buf, 8, 0, &done));
		ck_assert_uint_eq(buf[3], (unsigned char)((0x3000 + 99) >> 4));
		ck_assert_uint_eq(buf[4], 0);
		ck_assert_ptr_null(ms_target_core_extent(t, 0x21000, &e));
		ck_assert_int_eq(e.source, MS_CORE_SRC_UNMAPPED);
		ck_assert_uint_eq(e.end, UINT64_MAX);
		struct ms_error *err = ms_target_read(t, 0x20ff8, buf, 16, 0, &done);
		ck_assert_int_eq(err->code, MS_ERROR_NOT_MAPPED);
		ck_assert_uint_eq(done, 8);
		ms_error_destroy(err);
		const struct ms_maps *maps;
		ck_assert_ptr_null(ms_target_maps(t, MS_MAPS_BASIC, &maps));
		ck_assert_uint_eq(maps->count, 2);
		ck_assert(!maps->vmas[0].prot_unknown && maps->vmas[1].prot_unknown);
		ck_assert_uint_eq(maps->vmas[1].offset, 0x3000);
		ck_assert_str_eq(maps->vmas[1].name, lib);
		ms_target_destroy(t);
		unlink(path);
	}
	unlink(lib);
}
END_TEST

START_TEST(test_target_refuses_other_file)
{
	const char *lib = "/tmp/memscope-unit-other.so";
	write_elf(lib, 0x22, 0x3000);
	const char *path = core_with_lib(lib, 0x11, false);
	struct ms_target *t;
	ck_assert_ptr_null(ms_target_open_core(path, NULL, &t));
	size_t n;
	const char *const *cautions = ms_target_core_cautions(t, &n);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(cautions[0], "/tmp/memscope-unit-other.so is not the file that was "
				      "mapped (build-id 2222222222222222..., the core has "
				      "1111111111111111...)");
	unsigned char buf[16];
	size_t done;
	struct ms_error *err = ms_target_read(t, 0x11000, buf, 16, 0, &done);
	ck_assert_int_eq(err->code, MS_ERROR_FAULT);
	ck_assert_ptr_nonnull(strstr(err->message, "not in the core file (/tmp/memscope-unit-"
						   "other.so is not the file that was mapped"));
	ms_error_destroy(err);
	ms_target_destroy(t);
	/* -e names the right file: accepted */
	const char *right = "/tmp/memscope-unit-right.so";
	write_elf(right, 0x11, 0x4000);
	ck_assert_ptr_null(ms_target_open_core(path, right, &t));
	cautions = ms_target_core_cautions(t, &n);
	ck_assert_msg(n == 0, "%s", n ? cautions[0] : "");
	ck_assert_str_eq(ms_target_exe(t), right);
	ck_assert_ptr_null(ms_target_read(t, 0x11000, buf, 16, 0, &done));
	ms_target_destroy(t);
	/* and files are not read at all when asked not to */
	ck_assert_ptr_null(ms_target_open_core_flags(path, NULL, MS_CORE_NO_FILES, &t));
	err = ms_target_read(t, 0x11000, buf, 16, 0, &done);
	ck_assert_str_eq(err->message,
			 "could not read memory at 0x11000: not in the core file (mapped files "
			 "are not read)");
	ms_error_destroy(err);
	ms_target_destroy(t);
	unlink(path);
	unlink(lib);
	unlink(right);
}
END_TEST

static Suite *core_suite(void)
{
	Suite *s = suite_create("core");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_open_and_notes);
	tcase_add_test(tc, test_read_and_faults);
	tcase_add_test(tc, test_build_id_notes);
	tcase_add_test(tc, test_target_reads_mapped_file);
	tcase_add_test(tc, test_target_refuses_other_file);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(core_suite());
}
