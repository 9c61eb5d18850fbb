/* SPDX-License-Identifier: MIT */
/* maps: parsing recorded maps/smaps text, lookup, VmFlags decoding. */
#include <check.h>
#include <stdlib.h>

#include "maps.h"
#include "unit.h"

static const char smaps_text[] =
	"55a7fcc7b000-55a7fcd4c000 r-xp 00000000 fd:00 1234   /usr/sbin/sshd\n"
	"Size:                836 kB\n"
	"Rss:                 600 kB\n"
	"AnonHugePages:         0 kB\n"
	"THPeligible:    0\n"
	"VmFlags: rd ex mr mw me sd \n"
	"7f0000000000-7f0000200000 rw-p 00000000 00:00 0 \n"
	"Size:               2048 kB\n"
	"Rss:                2048 kB\n"
	"AnonHugePages:      2048 kB\n"
	"VmFlags: rd wr mr mw me ac sd hg \n"
	"7f0000400000-7f0000401000 rw-s 00001000 00:05 99   /memfd:x (deleted)\n"
	"VmFlags: rd wr sh mr mw me ms sd \n"
	"7ffd00000000-7ffd00021000 rw-p 00000000 00:00 0    [stack]\n";

START_TEST(test_parse_smaps)
{
	struct ms_maps *maps;
	ck_assert_ptr_null(ms_maps_parse(smaps_text, &maps));
	ck_assert_uint_eq(maps->count, 4);
	const struct ms_vma *v = &maps->vmas[0];
	ck_assert_str_eq(v->name, "/usr/sbin/sshd");
	ck_assert_uint_eq(v->kind, MS_VMA_FILE);
	ck_assert_uint_eq(v->usage.rss, 600 * 1024);
	/* the example from crash's vm output: 8000875 less the old VM_DENYWRITE */
	ck_assert_uint_eq(v->vm_flags, 0x8000075);
	ck_assert_uint_eq(maps->vmas[1].usage.anon_huge, 2048 * 1024);
	ck_assert(maps->vmas[1].vm_flags & MS_VM_HUGEPAGE);
	ck_assert(maps->vmas[2].deleted);
	ck_assert_str_eq(maps->vmas[2].name, "/memfd:x");
	ck_assert_uint_eq(maps->vmas[2].offset, 0x1000);
	ck_assert(maps->vmas[2].prot & MS_PROT_SHARED);
	ck_assert_uint_eq(maps->vmas[3].kind, MS_VMA_STACK);
	ck_assert(!maps->vmas[3].has_smaps);
	ms_maps_destroy(maps);
}
END_TEST

START_TEST(test_find)
{
	struct ms_maps *maps;
	ck_assert_ptr_null(ms_maps_parse(smaps_text, &maps));
	ck_assert_ptr_null(ms_maps_find(maps, 0x1000));
	ck_assert_ptr_eq(ms_maps_find(maps, 0x55a7fcc7b000), &maps->vmas[0]);
	ck_assert_ptr_eq(ms_maps_find(maps, 0x55a7fcd4bfff), &maps->vmas[0]);
	ck_assert_ptr_null(ms_maps_find(maps, 0x55a7fcd4c000));
	ck_assert_ptr_eq(ms_maps_next(maps, 0x55a7fcd4c000), &maps->vmas[1]);
	ck_assert_ptr_null(ms_maps_next(maps, 0x7ffd00021000));
	ms_maps_destroy(maps);
}
END_TEST

START_TEST(test_usage_line)
{
	/* a counter line read in place: its length bounds it, not a newline */
	struct ms_vma_usage u = {0};
	static const char text[] = "Pss_Anon:   356 kB\nPss:   483 kB\nVmFlags: rd wr\n";
	ck_assert(!ms_vma_usage_parse_line(&u, text, 18)); /* Pss_Anon is not kept */
	ck_assert(ms_vma_usage_parse_line(&u, text + 19, 13));
	ck_assert_uint_eq(u.pss, 483 * 1024);
	ck_assert_uint_eq(u.rss, 0);
	ck_assert(!ms_vma_usage_parse_line(&u, text + 33, 14));
	ck_assert(!ms_vma_usage_parse_line(&u, "Rss 12 kB", 9)); /* no colon */
}
END_TEST

START_TEST(test_bad_line)
{
	struct ms_maps *maps = NULL;
	struct ms_error *err = ms_maps_parse("zzzz-1 r\n", &maps);
	/* 'z' is not a header; no mapping at all is fine */
	ck_assert_ptr_null(err);
	ms_maps_destroy(maps);
	err = ms_maps_parse("1000-2000 rw\n", &maps);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(err->code, MS_ERROR_FORMAT);
	ms_error_destroy(err);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("maps");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_parse_smaps);
	tcase_add_test(tc, test_find);
	tcase_add_test(tc, test_usage_line);
	tcase_add_test(tc, test_bad_line);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
