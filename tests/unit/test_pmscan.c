/* SPDX-License-Identifier: MIT */
/*
 * pmscan: runs of present pages in our own memory, with PAGEMAP_SCAN and with
 * the batched pagemap reads old kernels get (MEMSCOPE_NO_PAGEMAP_SCAN=1),
 * checked against mincore().
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "pmscan.h"

enum { NPAGES = 64 };

static size_t page;
static uint8_t *region;
static struct ms_pagemap pm;

/* present: pages 0-3, 10, 20-39 (and 63, the last) */
static const int present[] = {0,  1,  2,  3,  10, 20, 21, 22, 23, 24, 25, 26, 27,
			      28, 29, 30, 31, 32, 33, 34, 35, 36, 37, 38, 39, 63};

static void setup(void)
{
	page = (size_t)sysconf(_SC_PAGESIZE);
	region = mmap(NULL, NPAGES * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		      0);
	ck_assert_ptr_ne(region, MAP_FAILED);
	madvise(region, NPAGES * page, MADV_NOHUGEPAGE);
	for (size_t i = 0; i < sizeof(present) / sizeof(present[0]); i++)
		region[present[i] * page] = 1;
	ck_assert_ptr_null(ms_pagemap_open(getpid(), &pm));
}

static void teardown(void)
{
	ms_pagemap_close(&pm);
	munmap(region, NPAGES * page);
}

static void check_runs(void)
{
	unsigned char vec[NPAGES];
	ck_assert_int_eq(mincore(region, NPAGES * page, vec), 0);
	struct ms_pmscan scan;
	ck_assert_ptr_null(ms_pmscan_init(&scan, &pm, MS_PMSCAN_PRESENT));
	uint64_t lo = (uintptr_t)region, hi = lo + NPAGES * page;
	bool seen[NPAGES] = {false};
	uint64_t pos = lo, rs, re;
	bool found;
	for (;;) {
		ck_assert_ptr_null(ms_pmscan_next(&scan, pos, hi, &rs, &re, &found));
		if (!found)
			break;
		ck_assert_uint_ge(rs, pos);
		ck_assert_uint_gt(re, rs);
		for (uint64_t a = rs; a < re; a += page)
			seen[(a - lo) / page] = true;
		pos = re;
	}
	for (int i = 0; i < NPAGES; i++)
		ck_assert_msg(seen[i] == (vec[i] & 1), "page %d: scan %d, mincore %d", i, seen[i],
			      vec[i] & 1);
	/* skip: the first present page at or after a point, nothing further */
	uint64_t next;
	ck_assert_ptr_null(ms_pmscan_skip(&scan, lo + 4 * page, hi, &next, &found));
	ck_assert(found);
	ck_assert_uint_eq(next, lo + 10 * page);
	ck_assert_ptr_null(ms_pmscan_skip(&scan, lo + 40 * page, lo + 63 * page, &next, &found));
	ck_assert(!found);
	/* an unaligned start inside a present page is that page */
	ck_assert_ptr_null(ms_pmscan_skip(&scan, lo + 20 * page + 5, hi, &next, &found));
	ck_assert(found);
	ck_assert_uint_eq(next, lo + 20 * page + 5);
	ms_pmscan_deinit(&scan);
}

START_TEST(test_runs_with_ioctl)
{
	if (!ms_pagemap_has_scan(&pm))
		return; /* an old kernel: the other test covers it */
	check_runs();
}
END_TEST

START_TEST(test_runs_without_ioctl)
{
	/* pagemap reads the switch when it is opened: this runs in its own process */
	setenv("MEMSCOPE_NO_PAGEMAP_SCAN", "1", 1);
	ms_pagemap_close(&pm);
	ck_assert_ptr_null(ms_pagemap_open(getpid(), &pm));
	ck_assert(!ms_pagemap_has_scan(&pm));
	check_runs();
}
END_TEST

int main(void)
{
	Suite *s = suite_create("pmscan");
	TCase *tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_runs_with_ioctl);
	tcase_add_test(tc, test_runs_without_ioctl);
	suite_add_tcase(s, tc);
	SRunner *sr = srunner_create(s);
	srunner_set_fork_status(sr, CK_FORK);
	srunner_run_all(sr, CK_NORMAL);
	int failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
