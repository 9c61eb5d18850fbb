/* SPDX-License-Identifier: MIT */
/*
 * maps_stream: this process's maps and smaps read piece by piece give the
 * same mappings as maps' whole-file reader, across many pieces.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "maps_stream.h"
#include "unit.h"

/* chunk: bytes a read asks for (0: the default) */
static void compare(enum ms_maps_detail detail, size_t chunk)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	enum { N = 3000 };
	/* alternate protections so that the mappings stay apart: about 3 MB of smaps */
	char *base = mmap(NULL, 2 * N * page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(base, MAP_FAILED);
	for (size_t i = 0; i < N; i++)
		ck_assert_int_eq(mprotect(base + 2 * i * page, page, PROT_READ | PROT_WRITE), 0);

	/*
	 * The readers' own buffers may add mappings, and merge with the ends of
	 * the test's: compare the test's mappings away from the ends.
	 */
	uint64_t lo = (uint64_t)(uintptr_t)base + 4 * page, hi = lo + (2 * N - 8) * page;
	struct ms_maps *whole;
	ck_assert_ptr_null(ms_maps_read_pid(getpid(), detail, &whole));
	size_t w = 0;
	while (w < whole->count && whole->vmas[w].start < lo)
		w++;
	struct ms_maps_stream *s;
	ck_assert_ptr_null(ms_maps_stream_open(getpid(), detail, &s));
	ms_maps_stream_set_chunk(s, chunk);
	size_t n = 0, batches = 0;
	const struct ms_maps *batch;
	for (;;) {
		ck_assert_ptr_null(ms_maps_stream_next(s, &batch));
		if (!batch)
			break;
		batches++;
		for (size_t i = 0; i < batch->count; i++) {
			const struct ms_vma *a = &batch->vmas[i];
			if (a->start < lo || a->end > hi)
				continue;
			ck_assert_uint_lt(w + n, whole->count);
			const struct ms_vma *b = &whole->vmas[w + n];
			ck_assert_uint_eq(a->start, b->start);
			ck_assert_uint_eq(a->end, b->end);
			ck_assert_uint_eq(a->prot, b->prot);
			ck_assert_uint_eq(a->has_smaps, b->has_smaps);
			ck_assert_uint_eq(a->vm_flags, b->vm_flags);
			ck_assert_str_eq(a->name ? a->name : "", b->name ? b->name : "");
			n++;
		}
	}
	ck_assert_uint_eq(n, 2 * N - 8);
	ck_assert_uint_gt(batches, 1);
	if (chunk && detail == MS_MAPS_SMAPS) /* a few mappings (~1 KiB each) a read */
		ck_assert_uint_gt(batches, N / 4);
	ms_maps_stream_close(s);
	ms_maps_destroy(whole);
	munmap(base, 2 * N * page);
}

START_TEST(test_stream_maps)
{
	compare(MS_MAPS_BASIC, 0);
}
END_TEST

START_TEST(test_stream_smaps)
{
	compare(MS_MAPS_SMAPS, 0);
}
END_TEST

START_TEST(test_stream_smaps_small_reads)
{
	/* a read of 4 KiB holds a few mappings of smaps: the same, in many batches */
	compare(MS_MAPS_SMAPS, 4096);
}
END_TEST

struct each_count {
	uint64_t lo, hi, last_start;
	size_t n, calls, stop_after;
	bool ordered;
};

static struct ms_error *count_vma(void *arg, const struct ms_vma *vma, bool *stop_ret)
{
	struct each_count *c = arg;
	c->ordered &= vma->start >= c->last_start;
	c->last_start = vma->start;
	c->calls++;
	if (vma->start >= c->lo && vma->end <= c->hi)
		c->n++;
	if (c->stop_after && c->calls == c->stop_after)
		*stop_ret = true;
	if (vma->start == c->hi)
		return ms_error_create(MS_ERROR_OTHER, "at hi");
	return NULL;
}

START_TEST(test_stream_each)
{
	/* every mapping once, in order, across many pieces; a stop ends it */
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	enum { N = 3000 };
	char *base = mmap(NULL, 2 * N * page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(base, MAP_FAILED);
	for (size_t i = 0; i < N; i++)
		ck_assert_int_eq(mprotect(base + 2 * i * page, page, PROT_READ | PROT_WRITE), 0);
	uint64_t lo = (uint64_t)(uintptr_t)base + 4 * page, hi = lo + (2 * N - 8) * page;
	struct each_count c = {.lo = lo, .hi = UINT64_MAX, .ordered = true};
	ck_assert_ptr_null(ms_maps_stream_each(getpid(), MS_MAPS_SMAPS, count_vma, &c));
	ck_assert(c.ordered);
	ck_assert_uint_ge(c.n, 2 * N - 8);
	size_t all = c.calls;
	c = (struct each_count){.lo = lo, .hi = UINT64_MAX, .ordered = true, .stop_after = 5};
	ck_assert_ptr_null(ms_maps_stream_each(getpid(), MS_MAPS_BASIC, count_vma, &c));
	ck_assert_uint_eq(c.calls, 5);
	/* the callback's error ends the walk and comes back */
	c = (struct each_count){.lo = lo, .hi = hi, .ordered = true};
	struct ms_error *err = ms_maps_stream_each(getpid(), MS_MAPS_BASIC, count_vma, &c);
	ck_assert_ptr_nonnull(err);
	ck_assert_str_eq(err->message, "at hi");
	ck_assert_uint_lt(c.calls, all);
	ms_error_destroy(err);
	munmap(base, 2 * N * page);
}
END_TEST

START_TEST(test_stream_no_process)
{
	struct ms_maps_stream *s;
	struct ms_error *err = ms_maps_stream_open(-1, MS_MAPS_BASIC, &s);
	ck_assert_ptr_nonnull(err);
	ms_error_destroy(err);
	ms_maps_stream_close(NULL);
}
END_TEST

int main(void)
{
	Suite *suite = suite_create("maps_stream");
	TCase *tc = tcase_create("core");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_stream_maps);
	tcase_add_test(tc, test_stream_smaps);
	tcase_add_test(tc, test_stream_smaps_small_reads);
	tcase_add_test(tc, test_stream_each);
	tcase_add_test(tc, test_stream_no_process);
	suite_add_tcase(suite, tc);
	return unit_run(suite);
}
