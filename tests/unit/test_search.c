/* SPDX-License-Identifier: MIT */
/* search: values, masks, widths, strings across read boundaries, on our own memory. */
#include <check.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "search.h"
#include "target.h"
#include "unit.h"

enum { MIB = 1 << 20, REGION = 6 * MIB, MAX_HITS = 64 };

static struct ms_target *self;
static uint8_t *region;

struct hits {
	uint64_t addr[MAX_HITS];
	size_t pattern[MAX_HITS];
	size_t n;
};

static bool collect(void *arg, const struct ms_search_hit *hit)
{
	struct hits *h = arg;
	ck_assert_uint_ge(hit->avail, 1);
	if (h->n < MAX_HITS) {
		h->addr[h->n] = hit->address;
		h->pattern[h->n] = hit->pattern;
	}
	h->n++;
	return true;
}

static void setup(void)
{
	ck_assert_ptr_null(ms_target_open_pid(getpid(), &self));
	region = mmap(NULL, REGION, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(region, MAP_FAILED);
	memset(region, 0x11, REGION);
}

static void teardown(void)
{
	munmap(region, REGION);
	ms_target_destroy(self);
}

static struct ms_error *run(struct ms_search_pattern *pats, size_t n, size_t align, struct hits *h,
			    struct ms_search_stats *st)
{
	struct ms_search_params p = {
		.start = (uintptr_t)region,
		.end = (uintptr_t)region + REGION,
		.align = align,
		.patterns = pats,
		.npatterns = n,
	};
	memset(h, 0, sizeof(*h));
	ms_target_refresh(self);
	return ms_search(self, &p, collect, h, st);
}

START_TEST(test_value_64_aligned)
{
	uint64_t v = UINT64_C(0x1122334455667788);
	memcpy(region + 8 * 1000, &v, 8);
	memcpy(region + 3 * MIB + 8, &v, 8);
	memcpy(region + 5 * MIB + 3, &v, 8); /* unaligned: not a hit */
	struct ms_search_pattern pat = {.bytes = (uint8_t *)&v, .len = 8};
	struct hits h;
	struct ms_search_stats st;
	ck_assert_ptr_null(run(&pat, 1, 8, &h, &st));
	ck_assert_uint_eq(h.n, 2);
	ck_assert_uint_eq(h.addr[0], (uintptr_t)region + 8000);
	ck_assert_uint_eq(h.addr[1], (uintptr_t)region + 3 * MIB + 8);
	ck_assert_uint_eq(st.bytes_searched, REGION);
	ck_assert_uint_eq(st.hits, 2);
}
END_TEST

START_TEST(test_mask_and_widths)
{
	uint32_t a = 0xabcd1234, b = 0xabcd9999;
	memcpy(region + 4 * 10, &a, 4);
	memcpy(region + 4 * 20, &b, 4);
	uint32_t want = 0xabcd0000, mask = 0x0000ffff;
	struct ms_search_pattern pat = {
		.bytes = (uint8_t *)&want, .mask = (uint8_t *)&mask, .len = 4};
	struct hits h;
	ck_assert_ptr_null(run(&pat, 1, 4, &h, NULL));
	ck_assert_uint_eq(h.n, 2);
	ck_assert_uint_eq(h.addr[1], (uintptr_t)region + 80);
	uint16_t s = 0x1234;
	struct ms_search_pattern p16 = {.bytes = (uint8_t *)&s, .len = 2};
	ck_assert_ptr_null(run(&p16, 1, 2, &h, NULL));
	ck_assert_uint_eq(h.n, 1);
	ck_assert_uint_eq(h.addr[0], (uintptr_t)region + 40);
	uint8_t c = 0xcd;
	struct ms_search_pattern p8 = {.bytes = &c, .len = 1};
	ck_assert_ptr_null(run(&p8, 1, 1, &h, NULL));
	ck_assert_uint_eq(h.n, 2);
}
END_TEST

START_TEST(test_strings_across_reads_in_order)
{
	/* the engine reads 2 MiB at a time: put matches across those boundaries */
	const char *needle = "NEEDLE-ACROSS-A-BOUNDARY";
	size_t n = strlen(needle);
	memcpy(region + 2 * MIB - 7, needle, n);
	memcpy(region + 4 * MIB - 1, needle, n);
	memcpy(region + 100, "other", 5);
	struct ms_search_pattern pats[2] = {
		{.bytes = (const uint8_t *)needle, .len = n},
		{.bytes = (const uint8_t *)"other", .len = 5},
	};
	struct hits h;
	ck_assert_ptr_null(run(pats, 2, 1, &h, NULL));
	ck_assert_uint_eq(h.n, 3);
	ck_assert_uint_eq(h.addr[0], (uintptr_t)region + 100);
	ck_assert_uint_eq(h.pattern[0], 1);
	ck_assert_uint_eq(h.addr[1], (uintptr_t)region + 2 * MIB - 7);
	ck_assert_uint_eq(h.addr[2], (uintptr_t)region + 4 * MIB - 1);
	ck_assert_uint_eq(h.pattern[2], 0);
}
END_TEST

START_TEST(test_skips_pages_not_present)
{
	/* drop the middle megabyte: it reads as zeros, but must not be read at all */
	madvise(region + 2 * MIB, MIB, MADV_DONTNEED);
	uint8_t zero8[8] = {0};
	struct ms_search_pattern pat = {.bytes = zero8, .len = 8};
	struct hits h;
	struct ms_search_stats st;
	ck_assert_ptr_null(run(&pat, 1, 8, &h, &st));
	ck_assert_uint_eq(h.n, 0);
	ck_assert_uint_eq(st.bytes_not_present, MIB);
	ck_assert_uint_eq(st.bytes_searched, REGION - MIB);
	/* and it is still not there */
	unsigned char vec[256];
	ck_assert_int_eq(mincore(region + 2 * MIB, MIB, vec), 0);
	for (size_t i = 0; i < 256; i++)
		ck_assert_uint_eq(vec[i] & 1, 0);
	/* asked to, it reads them (and faults them in) */
	struct ms_search_params p = {.start = (uintptr_t)region + 2 * MIB,
				     .end = (uintptr_t)region + 3 * MIB,
				     .align = 8,
				     .patterns = &pat,
				     .npatterns = 1,
				     .read_flags = MS_READ_FAULT_IN,
				     .max_hits = 5};
	memset(&h, 0, sizeof(h));
	ck_assert_ptr_null(ms_search(self, &p, collect, &h, &st));
	ck_assert_uint_eq(h.n, 5);
}
END_TEST

START_TEST(test_bad_params)
{
	struct hits h;
	struct ms_error *err = run(NULL, 0, 8, &h, NULL);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(err->code, MS_ERROR_INVALID);
	ms_error_destroy(err);
	uint8_t b[1] = {0};
	struct ms_search_pattern pat = {.bytes = b, .len = 0};
	err = run(&pat, 1, 1, &h, NULL);
	ck_assert_ptr_nonnull(err);
	ms_error_destroy(err);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("search");
	TCase *tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_value_64_aligned);
	tcase_add_test(tc, test_mask_and_widths);
	tcase_add_test(tc, test_strings_across_reads_in_order);
	tcase_add_test(tc, test_skips_pages_not_present);
	tcase_add_test(tc, test_bad_params);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
