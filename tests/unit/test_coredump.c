/* SPDX-License-Identifier: MIT */
/*
 * coredump: which mappings go into a core and how much of each, as the
 * kernel's vma_dump_size() decides, from smaps text of known mappings.
 */
#include <check.h>
#include <stdlib.h>

#include "coredump.h"
#include "maps.h"
#include "unit.h"

static const char smaps_text[] =
	/* 0: anonymous, written */
	"7f0000000000-7f0000010000 rw-p 00000000 00:00 0 \n"
	"Anonymous:            8 kB\n"
	"VmFlags: rd wr mr mw me ac \n"
	/* 1: anonymous, never written */
	"7f0000010000-7f0000020000 rw-p 00000000 00:00 0 \n"
	"Anonymous:            0 kB\n"
	"VmFlags: rd wr mr mw me ac \n"
	/* 2: written but MADV_DONTDUMP */
	"7f0000020000-7f0000030000 rw-p 00000000 00:00 0 \n"
	"Anonymous:           64 kB\n"
	"VmFlags: rd wr mr mw me ac dd \n"
	/* 3: shared anonymous memory */
	"7f0000030000-7f0000040000 rw-s 00000000 00:01 7   /dev/zero (deleted)\n"
	"Anonymous:            0 kB\n"
	"VmFlags: rd wr sh mr mw me ms \n"
	/* 4: a shared file */
	"7f0000040000-7f0000050000 rw-s 00000000 fd:00 9   /srv/data\n"
	"VmFlags: rd wr sh mr mw me ms \n"
	/* 5: an ELF file's first mapping */
	"7f0000050000-7f0000060000 r--p 00000000 fd:00 10  /usr/lib/libx.so\n"
	"Anonymous:            0 kB\n"
	"VmFlags: rd mr mw me \n"
	/* 6: its text */
	"7f0000060000-7f0000070000 r-xp 00010000 fd:00 10  /usr/lib/libx.so\n"
	"Anonymous:            0 kB\n"
	"VmFlags: rd ex mr mw me \n"
	/* 7: its data, written (copy-on-write) */
	"7f0000070000-7f0000072000 rw-p 00020000 fd:00 10  /usr/lib/libx.so\n"
	"Anonymous:            4 kB\n"
	"VmFlags: rd wr mr mw me ac \n"
	/* 8: device memory */
	"7f0000080000-7f0000090000 rw-s 00000000 00:06 11  /dev/mem\n"
	"VmFlags: rd wr sh mr mw me ms io pf dd \n"
	/* 9: vvar: device-like, but always dumped */
	"7f00000a0000-7f00000a4000 r--p 00000000 00:00 0   [vvar]\n"
	"VmFlags: rd mr pf io de dd \n"
	/* 10: vdso */
	"7f00000a4000-7f00000a6000 r-xp 00000000 00:00 0   [vdso]\n"
	"VmFlags: rd ex mr mw me de \n"
	/* 11: hugetlb, private and shared */
	"7f0000200000-7f0000400000 rw-p 00000000 00:10 12  /anon_hugepage (deleted)\n"
	"VmFlags: rd wr mr mw me de ht \n"
	"7f0000400000-7f0000600000 rw-s 00000000 00:10 13  /anon_hugepage (deleted)\n"
	"VmFlags: rd wr sh mr mw me ms de ht \n"
	/* 13: a named anonymous region, never written */
	"7f0000600000-7f0000610000 rw-p 00000000 00:00 0   [anon:arena]\n"
	"Anonymous:            0 kB\n"
	"VmFlags: rd wr mr mw me ac \n"
	/* 14: MAP_PRIVATE of /dev/zero, written */
	"7f0000610000-7f0000620000 rw-p 00000000 00:05 4   /dev/zero\n"
	"Anonymous:            4 kB\n"
	"VmFlags: rd wr mr mw me ac \n"
	/* 15: the vsyscall page */
	"ffffffffff600000-ffffffffff601000 --xp 00000000 00:00 0 [vsyscall]\n";

static struct ms_maps *maps;

static void setup(void)
{
	ck_assert_ptr_null(ms_maps_parse(smaps_text, &maps));
	ck_assert_uint_eq(maps->count, 16);
}

static void teardown(void)
{
	ms_maps_destroy(maps);
}

static enum ms_dump_size size_of(size_t i, uint64_t filter, bool all, int unlinked, int exec)
{
	struct ms_vma_file_facts facts = {.unlinked = unlinked, .executable = exec};
	struct ms_dump_choice c;
	ms_coredump_choose(&maps->vmas[i], filter, all, &facts, &c);
	ck_assert_ptr_nonnull(c.rule);
	return c.size;
}

START_TEST(test_default_filter)
{
	const uint64_t f = 0x33;
	ck_assert_int_eq(size_of(0, f, false, -1, -1), MS_DUMP_WHOLE);
	ck_assert_int_eq(size_of(1, f, false, -1, -1), MS_DUMP_NONE);
	ck_assert_int_eq(size_of(2, f, false, -1, -1), MS_DUMP_NONE);
	ck_assert_int_eq(size_of(3, f, false, 1, 0), MS_DUMP_WHOLE);
	ck_assert_int_eq(size_of(3, f, false, -1, -1), MS_DUMP_WHOLE); /* "(deleted)" */
	ck_assert_int_eq(size_of(4, f, false, 0, 0), MS_DUMP_NONE);
	ck_assert_int_eq(size_of(5, f, false, 0, 0), MS_DUMP_MAYBE_HEADER);
	ck_assert_int_eq(size_of(5, f, false, 0, 1), MS_DUMP_HEADER_PAGE);
	ck_assert_int_eq(size_of(6, f, false, 0, 1), MS_DUMP_NONE);
	ck_assert_int_eq(size_of(7, f, false, 0, 1), MS_DUMP_WHOLE);
	ck_assert_int_eq(size_of(8, f, false, 0, 0), MS_DUMP_NONE);
	ck_assert_int_eq(size_of(9, f, false, -1, -1), MS_DUMP_WHOLE);
	ck_assert_int_eq(size_of(10, f, false, -1, -1), MS_DUMP_WHOLE);
	ck_assert_int_eq(size_of(11, f, false, 1, 0), MS_DUMP_WHOLE);
	ck_assert_int_eq(size_of(12, f, false, 1, 0), MS_DUMP_NONE);
	ck_assert_int_eq(size_of(13, f, false, -1, -1), MS_DUMP_NONE);
	ck_assert_int_eq(size_of(14, f, false, 0, 0), MS_DUMP_WHOLE);
	ck_assert_int_eq(size_of(15, f, false, -1, -1), MS_DUMP_WHOLE);
}
END_TEST

START_TEST(test_filter_bits)
{
	/* nothing but the always-dumped */
	ck_assert_int_eq(size_of(0, 0, false, -1, -1), MS_DUMP_NONE);
	ck_assert_int_eq(size_of(3, 0, false, 1, 0), MS_DUMP_NONE);
	ck_assert_int_eq(size_of(5, 0, false, 0, 1), MS_DUMP_NONE);
	ck_assert_int_eq(size_of(10, 0, false, -1, -1), MS_DUMP_WHOLE);
	/* bit 2: private file mappings whole */
	ck_assert_int_eq(size_of(6, MS_DUMP_MAPPED_PRIVATE, false, 0, 1), MS_DUMP_WHOLE);
	/* bit 3: shared file mappings */
	ck_assert_int_eq(size_of(4, MS_DUMP_MAPPED_SHARED, false, 0, 0), MS_DUMP_WHOLE);
	/* bit 6: shared hugetlb */
	ck_assert_int_eq(size_of(12, MS_DUMP_HUGETLB_SHARED, false, 1, 0), MS_DUMP_WHOLE);
}
END_TEST

START_TEST(test_all)
{
	for (size_t i = 0; i < maps->count; i++) {
		enum ms_dump_size want = i == 8 ? MS_DUMP_NONE : MS_DUMP_WHOLE;
		ck_assert_int_eq(size_of(i, 0, true, 0, 0), want);
	}
}
END_TEST

START_TEST(test_presence)
{
	struct ms_dump_choice c;
	ms_coredump_choose(&maps->vmas[0], 0x33, false, NULL, &c);
	ck_assert_int_eq(c.presence, MS_SNAPSHOT_ANON);
	ms_coredump_choose(&maps->vmas[3], 0x33, false, NULL, &c);
	ck_assert_int_eq(c.presence, MS_SNAPSHOT_SHARED);
	ms_coredump_choose(&maps->vmas[7], 0x33, false, NULL, &c);
	ck_assert_int_eq(c.presence, MS_SNAPSHOT_ALL);
	/* private /dev/zero is anonymous memory: untouched pages are holes */
	ms_coredump_choose(&maps->vmas[14], 0x33, false, NULL, &c);
	ck_assert_int_eq(c.presence, MS_SNAPSHOT_ANON);
	ms_coredump_choose(&maps->vmas[10], 0x33, false, NULL, &c);
	ck_assert_int_eq(c.presence, MS_SNAPSHOT_ALL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("coredump");
	TCase *tc = tcase_create("rules");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_default_filter);
	tcase_add_test(tc, test_filter_bits);
	tcase_add_test(tc, test_all);
	tcase_add_test(tc, test_presence);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
