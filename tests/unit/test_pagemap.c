/* SPDX-License-Identifier: MIT */
/*
 * pagemap: /proc/swaps parsing and swap-type lookup, kpageflags names, the
 * page walk over this process's own memory (checked against pagemap read
 * here), the run queue, and page cache residency of a temporary file.
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "pagemap.h"
#include "unit.h"

static const char swaps_text[] =
	"Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n"
	"/dev/vdb2                               partition\t8388604\t\t1024\t\t-2\n"
	"/var/lib/swap\\040file                   file\t\t1048572\t\t0\t\t-3\n";

START_TEST(test_swaps_parse)
{
	struct ms_swaps *s;
	ck_assert_ptr_null(ms_swaps_parse(swaps_text, &s));
	ck_assert_uint_eq(s->count, 2);
	ck_assert_str_eq(s->areas[0].path, "/dev/vdb2");
	ck_assert_str_eq(s->areas[0].kind, "partition");
	ck_assert_uint_eq(s->areas[0].size_pages, 8388604 / (ms_page_size() / 1024));
	ck_assert_uint_eq(s->areas[0].used_pages, 1024 / (ms_page_size() / 1024));
	ck_assert_int_eq(s->areas[0].priority, -2);
	ck_assert_str_eq(s->areas[1].path, "/var/lib/swap file");
	ck_assert_uint_eq(s->areas[1].type, 1);
	ms_swaps_destroy(s);
}
END_TEST

START_TEST(test_swaps_find)
{
	struct ms_swaps *s;
	ck_assert_ptr_null(ms_swaps_parse(swaps_text, &s));
	uint64_t pages1 = s->areas[1].size_pages;
	ck_assert_ptr_eq(ms_swaps_find(s, 0, 5), &s->areas[0]);
	ck_assert_ptr_eq(ms_swaps_find(s, 1, pages1), &s->areas[1]);
	/* an offset past the area's end is not on it */
	ck_assert_ptr_null(ms_swaps_find(s, 1, pages1 + 1));
	/* a type with no row: a gap in the kernel's numbering, unknown */
	ck_assert_ptr_null(ms_swaps_find(s, 3, 1));
	ms_swaps_destroy(s);

	/* one area: every swapped page is on it, whatever its type number */
	ck_assert_ptr_null(ms_swaps_parse("Filename Type Size Used Priority\n"
					  "/swapfile file 4096 0 -2\n",
					  &s));
	ck_assert_ptr_eq(ms_swaps_find(s, 2, 3), &s->areas[0]);
	ms_swaps_destroy(s);

	/* no swap at all */
	ck_assert_ptr_null(ms_swaps_parse("Filename Type Size Used Priority\n", &s));
	ck_assert_uint_eq(s->count, 0);
	ck_assert_ptr_null(ms_swaps_find(s, 0, 1));
	ms_swaps_destroy(s);
	ck_assert_ptr_null(ms_swaps_find(NULL, 0, 1));
}
END_TEST

START_TEST(test_kpf_names)
{
	ck_assert_str_eq(ms_kpageflag_name(MS_KPF_LOCKED), "LOCKED");
	ck_assert_str_eq(ms_kpageflag_name(MS_KPF_COMPOUND_TAIL), "COMPOUND_TAIL");
	ck_assert_str_eq(ms_kpageflag_name(MS_KPF_ZERO_PAGE), "ZERO_PAGE");
	ck_assert_str_eq(ms_kpageflag_name(MS_KPF_PGTABLE), "PGTABLE");
	ck_assert_str_eq(ms_kpageflag_name(MS_KPF_ARCH_3), "ARCH_3");
	for (unsigned b = 0; b <= MS_KPF_PGTABLE; b++)
		ck_assert_ptr_nonnull(ms_kpageflag_name(b));
	ck_assert_ptr_null(ms_kpageflag_name(27));
	ck_assert_ptr_null(ms_kpageflag_name(63));
}
END_TEST

/* Walk [p, p + n pages) of this process and check each page against pagemap. */
static void walk_and_check(char *p, size_t n, unsigned flags, size_t *present_ret, size_t *zero_ret)
{
	size_t page = ms_page_size();
	struct ms_pagemap pm;
	ck_assert_ptr_null(ms_pagemap_open(getpid(), &pm));
	struct ms_page_walk *walk;
	ck_assert_ptr_null(ms_page_walk_create(&pm, &walk));
	uint64_t *truth = calloc(n, sizeof(*truth));
	ck_assert_ptr_null(ms_pagemap_read(&pm, (uint64_t)(uintptr_t)p, n, truth));
	ms_page_walk_start(walk, (uint64_t)(uintptr_t)p, (uint64_t)(uintptr_t)p + n * page, flags);
	uint64_t next = (uint64_t)(uintptr_t)p;
	size_t present = 0, zero = 0;
	for (;;) {
		struct ms_page_run run;
		bool done;
		ck_assert_ptr_null(ms_page_walk_next(walk, &run, &done));
		if (done)
			break;
		ck_assert_uint_eq(run.start, next);
		ck_assert_uint_gt(run.npages, 0);
		for (size_t k = 0; k < run.npages; k++) {
			size_t i = (size_t)((run.start - (uint64_t)(uintptr_t)p) / page) + k;
			uint8_t m = run.marks ? run.marks[k] : run.mark;
			bool is_present = (truth[i] & MS_PM_PRESENT) != 0;
			ck_assert_int_eq(!!(m & MS_PAGE_PRESENT), is_present);
			if (run.entries)
				ck_assert_uint_eq(run.entries[k] & ~MS_PM_PFN_MASK,
						  truth[i] & ~MS_PM_PFN_MASK);
			else if (!run.mark)
				ck_assert(!(truth[i] & (MS_PM_PRESENT | MS_PM_SWAP))); /* a hole */
			present += is_present;
			zero += !!(m & MS_PAGE_ZERO);
		}
		next = run.start + run.npages * page;
	}
	ck_assert_uint_eq(next, (uint64_t)(uintptr_t)p + n * page);
	free(truth);
	ms_page_walk_destroy(walk);
	ms_pagemap_close(&pm);
	*present_ret = present;
	*zero_ret = zero;
}

START_TEST(test_walk_own_memory)
{
	size_t page = ms_page_size();
	size_t n = 300;
	char *p = mmap(NULL, n * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(p, MAP_FAILED);
	/* written: 0-9, 100-199; read only (zero page): 250-259; the rest untouched */
	for (size_t i = 0; i < 10; i++)
		p[i * page] = 1;
	for (size_t i = 100; i < 200; i++)
		p[i * page] = 1;
	volatile char sum = 0;
	for (size_t i = 250; i < 260; i++)
		sum = (char)(sum + p[i * page]);
	(void)sum;
	size_t present, zero;
	walk_and_check(p, n, MS_WALK_ENTRIES, &present, &zero);
	ck_assert_uint_eq(present, 120);
	struct ms_pagemap pm;
	ck_assert_ptr_null(ms_pagemap_open(getpid(), &pm));
	bool scan = ms_pagemap_has_scan(&pm);
	ms_pagemap_close(&pm);
	if (scan)
		ck_assert_uint_eq(zero, 10); /* PAGEMAP_SCAN tells the zero page */
	walk_and_check(p, n, MS_WALK_ENTRIES | MS_WALK_NO_SCAN, &present, &zero);
	ck_assert_uint_eq(present, 120);
	walk_and_check(p, n, 0, &present, &zero);
	ck_assert_uint_eq(present, 120);
	munmap(p, n * page);
}
END_TEST

START_TEST(test_read_beyond_user_space)
{
	struct ms_pagemap pm;
	ck_assert_ptr_null(ms_pagemap_open(getpid(), &pm));
	uint64_t e;
	struct ms_error *err = ms_pagemap_read(&pm, UINT64_C(0xffffffffff600000), 1, &e);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(err->code, MS_ERROR_INVALID);
	ms_error_destroy(err);
	ck_assert(!ms_pagemap_gone(&pm));
	ms_pagemap_close(&pm);
	err = ms_pagemap_open(-5, &pm);
	ck_assert_ptr_nonnull(err);
	ms_error_destroy(err);
}
END_TEST

START_TEST(test_queue)
{
	struct ms_page_queue *q;
	ck_assert_ptr_null(ms_page_queue_create(3, 1 << 20, &q));
	ck_assert(ms_page_queue_empty(q));
	uint64_t entries[4] = {1, 2, 3, 4};
	uint8_t marks[4] = {1, 1, 1, 1};
	struct ms_page_run run = {.start = 0x1000, .npages = 4, .entries = entries, .marks = marks};
	ck_assert_ptr_null(ms_page_queue_push(q, 7, &run));
	struct ms_page_run hole = {.start = 0x5000, .npages = 100};
	ck_assert_ptr_null(ms_page_queue_push(q, 8, &hole));
	entries[0] = 99; /* the queue holds a copy */
	ck_assert_ptr_null(ms_page_queue_push(q, 9, &hole));
	ck_assert(ms_page_queue_full(q));
	struct ms_error *err = ms_page_queue_push(q, 10, &hole);
	ck_assert_ptr_nonnull(err);
	ms_error_destroy(err);
	size_t tag;
	struct ms_page_run got;
	ck_assert(ms_page_queue_peek(q, &tag, &got));
	ck_assert_uint_eq(tag, 7);
	ck_assert_uint_eq(got.entries[0], 1);
	ck_assert_uint_eq(got.npages, 4);
	ms_page_queue_drop(q);
	ck_assert(ms_page_queue_peek(q, &tag, &got));
	ck_assert_uint_eq(tag, 8);
	ck_assert_ptr_null(got.entries);
	ms_page_queue_drop(q);
	ck_assert(!ms_page_queue_full(q));
	ms_page_queue_destroy(q); /* with one run left in it */
}
END_TEST

START_TEST(test_filecache)
{
	size_t page = ms_page_size();
	char path[] = "/tmp/memscope-unit-XXXXXX";
	int fd = mkstemp(path);
	ck_assert_int_ge(fd, 0);
	char *buf = calloc(1, page);
	for (int i = 0; i < 8; i++)
		ck_assert_int_eq(write(fd, buf, page), (ssize_t)page);
	free(buf);
	fdatasync(fd);
	/* pages 4-7 out of the page cache */
	posix_fadvise(fd, (off_t)(4 * page), (off_t)(4 * page), POSIX_FADV_DONTNEED);
	struct stat st;
	ck_assert_int_eq(fstat(fd, &st), 0);
	struct ms_vma vma = {
		.start = 0x100000,
		.end = 0x100000 + 8 * page,
		.name = path,
		.kind = MS_VMA_FILE,
		.inode = st.st_ino,
		.dev_major = major(st.st_dev),
		.dev_minor = minor(st.st_dev),
	};
	struct ms_filecache fc;
	ck_assert_ptr_null(ms_filecache_open(getpid(), &vma, &fc));
	uint8_t vec[8];
	ck_assert_ptr_null(ms_filecache_resident(&fc, vma.start, 8, vec));
	for (int i = 0; i < 4; i++)
		ck_assert_uint_eq(vec[i], 1);
	struct ms_error *err = ms_filecache_resident(&fc, vma.start + 4 * page, 8, vec);
	ck_assert_ptr_nonnull(err); /* past the mapping */
	ms_error_destroy(err);
	ms_filecache_close(&fc);
	/* another inode under the same name is not the mapped file */
	vma.inode++;
	err = ms_filecache_open(getpid(), &vma, &fc);
	ck_assert_ptr_nonnull(err);
	ms_error_destroy(err);
	close(fd);
	unlink(path);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pagemap");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_swaps_parse);
	tcase_add_test(tc, test_swaps_find);
	tcase_add_test(tc, test_kpf_names);
	tcase_add_test(tc, test_walk_own_memory);
	tcase_add_test(tc, test_read_beyond_user_space);
	tcase_add_test(tc, test_queue);
	tcase_add_test(tc, test_filecache);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
