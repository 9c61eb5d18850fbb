/* SPDX-License-Identifier: MIT */
/*
 * thp: choice files, settings of three kernel generations, buddyinfo with
 * several nodes and zones, and the diagnosis of a recorded process (the
 * thpfix fixture's smaps and status, recorded on a 6.18 kernel).
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "procfs.h"
#include "thp.h"
#include "unit.h"

#define RHEL7	MS_TEST_DATA "/x86_64-3.10-rhel7"
#define NUMA2	MS_TEST_DATA "/x86_64-5.15-numa2"
#define LXCFS	MS_TEST_DATA "/container-lxcfs"
#define THISBOX MS_TEST_DATA "/x86_64-6.18-mthp"

/* where thpfix put its mappings in the recorded smaps */
#define HUGE	   UINT64_C(0x7fbe28200000)
#define PLAIN	   UINT64_C(0x7fbe28c00000)
#define SMALL	   UINT64_C(0x7fbe29600000)
#define NOHUGE	   UINT64_C(0x7fbe29a00000)
#define MISALIGNED UINT64_C(0x7fbe2a500000)

START_TEST(test_choice)
{
	char buf[16];
	ck_assert(ms_thp_choice("always [madvise] never\n", buf, sizeof(buf)));
	ck_assert_str_eq(buf, "madvise");
	ck_assert(ms_thp_choice("always defer defer+madvise [madvise] never", buf, sizeof(buf)));
	ck_assert_str_eq(buf, "madvise");
	ck_assert(ms_thp_choice("[always] madvise never", buf, sizeof(buf)));
	ck_assert_str_eq(buf, "always");
	ck_assert(ms_thp_choice("  1\n", buf, sizeof(buf))); /* a plain value */
	ck_assert_str_eq(buf, "1");
	ck_assert(!ms_thp_choice("always [madvise never", buf, sizeof(buf)));
	ck_assert(!ms_thp_choice("   \n", buf, sizeof(buf)));
	char small[4];
	ck_assert(ms_thp_choice("[defer+madvise]", small, sizeof(small)));
	ck_assert_str_eq(small, "def"); /* truncated, still terminated */
}
END_TEST

START_TEST(test_settings_mthp)
{
	struct ms_thp_settings s;
	ck_assert_ptr_null(ms_thp_settings_read(THISBOX, &s));
	ck_assert(s.supported);
	ck_assert_str_eq(s.enabled, "madvise");
	ck_assert_str_eq(s.defrag, "madvise");
	ck_assert_str_eq(s.shmem_enabled, "never");
	ck_assert_int_eq(s.use_zero_page, 1);
	ck_assert_int_eq(s.shrink_underused, 1);
	ck_assert_uint_eq(s.pmd_size, 2 << 20);
	ck_assert_uint_eq(s.nsizes, 9);
	ck_assert_uint_eq(s.sizes[0].size_kb, 8); /* sorted by size, numerically */
	ck_assert_str_eq(s.sizes[0].enabled, ""); /* 8kB has shmem_enabled only */
	ck_assert_str_eq(s.sizes[0].shmem_enabled, "never");
	ck_assert_uint_eq(s.sizes[8].size_kb, 2048);
	ck_assert_str_eq(s.sizes[8].enabled, "inherit");
	ck_assert_str_eq(ms_thp_size_mode(&s, &s.sizes[8]), "madvise");
	ck_assert_str_eq(ms_thp_size_mode(&s, &s.sizes[1]), "never");
	ck_assert_str_eq(ms_thp_pmd_mode(&s), "madvise");
	uint64_t v;
	ck_assert(ms_kvfile_get(s.sizes[8].stats, "anon_fault_alloc", &v));
	ck_assert(ms_kvfile_get(s.khugepaged, "max_ptes_none", &v));
	ck_assert_uint_eq(v, 511);
	ms_thp_settings_deinit(&s);
}
END_TEST

START_TEST(test_settings_old)
{
	struct ms_thp_settings s;
	ck_assert_ptr_null(ms_thp_settings_read(RHEL7, &s));
	ck_assert(s.supported);
	ck_assert_str_eq(s.enabled, "always");
	ck_assert_str_eq(s.shmem_enabled, ""); /* 3.10 has none */
	ck_assert_int_eq(s.shrink_underused, -1);
	ck_assert_uint_eq(s.pmd_size, 2 << 20); /* no hpage_pmd_size file: the x86 size */
	ck_assert_uint_eq(s.nsizes, 0);
	ck_assert_str_eq(ms_thp_pmd_mode(&s), "always");
	uint64_t v;
	/* khugepaged/defrag was "[yes] no" then: not a number, left out */
	ck_assert(!ms_kvfile_get(s.khugepaged, "defrag", &v));
	ck_assert(ms_kvfile_get(s.khugepaged, "pages_collapsed", &v));
	ck_assert_uint_eq(v, 120);
	ms_thp_settings_deinit(&s);

	ck_assert_ptr_null(ms_thp_settings_read(NUMA2, &s));
	ck_assert_str_eq(s.defrag, "madvise");
	ck_assert_str_eq(s.shmem_enabled, "never");
	ck_assert(ms_kvfile_get(s.khugepaged, "defrag", &v));
	ck_assert_uint_eq(v, 1);
	ms_thp_settings_deinit(&s);

	ck_assert_ptr_null(ms_thp_settings_read(LXCFS, &s)); /* no THP at all */
	ck_assert(!s.supported);
	ms_thp_settings_deinit(&s);
}
END_TEST

START_TEST(test_buddy)
{
	struct ms_thp_buddy b;
	ck_assert_ptr_null(ms_thp_buddy_read(NUMA2, 9, &b));
	ck_assert(b.known);
	/* node 0: DMA 1+3, DMA32 2+706, Normal 0; node 1: Normal 2+1 */
	ck_assert_uint_eq(b.free_blocks, 4 + 708 + 3);
	ck_assert_uint_eq(b.free_pmd_equiv, (1 + 6) + (2 + 1412) + (2 + 2));
	ck_assert_ptr_null(ms_thp_buddy_read(RHEL7, 9, &b));
	ck_assert_uint_eq(b.free_blocks, 4);
	ck_assert_ptr_null(ms_thp_buddy_read(RHEL7, 0, &b));
	ck_assert_uint_gt(b.free_blocks, 4);
	/* a zone with fewer orders printed (another MAX_ORDER) */
	ck_assert_ptr_null(ms_thp_buddy_parse("Node 0, zone   Normal  5 4 3\n", 1, &b));
	ck_assert_uint_eq(b.free_blocks, 7);
	ck_assert_uint_eq(b.free_pmd_equiv, 4 + 6);
	struct ms_error *err = ms_thp_buddy_parse("nothing here\n", 9, &b);
	ck_assert_ptr_nonnull(err);
	ms_error_destroy(err);
	err = ms_thp_buddy_read(LXCFS, 9, &b); /* no buddyinfo in a container */
	ck_assert_ptr_nonnull(err);
	ms_error_destroy(err);
	/* the same count from free lists frag has read */
	struct ms_frag frag;
	ms_frag_init(&frag);
	ck_assert_ptr_null(ms_frag_read_buddyinfo(NUMA2, &frag));
	ms_thp_buddy_from_frag(&frag, 9, &b);
	ck_assert(b.known);
	ck_assert_uint_eq(b.free_blocks, 4 + 708 + 3);
	ck_assert_uint_eq(b.free_pmd_equiv, (1 + 6) + (2 + 1412) + (2 + 2));
	ms_thp_buddy_from_frag(&frag, 12, &b); /* beyond the last order: none */
	ck_assert_uint_eq(b.free_blocks, 0);
	ms_frag_deinit(&frag);
	struct ms_thp_settings s = {.pmd_size = 2 << 20};
	ck_assert_uint_eq(ms_thp_pmd_order(&s), 9);
}
END_TEST

static char *slurp(const char *path)
{
	char *text;
	struct ms_error *err = ms_procfs_read(path, &text, NULL);
	ck_assert_ptr_null(err);
	return text;
}

static const struct ms_thp_vma *vma_at(const struct ms_thp_report *r, uint64_t start)
{
	for (size_t i = 0; i < r->count; i++)
		if (r->vmas[i].start == start)
			return &r->vmas[i];
	ck_abort_msg("no mapping at %#llx", (unsigned long long)start);
	return NULL;
}

START_TEST(test_diagnose_recorded)
{
	struct ms_thp_settings s;
	ck_assert_ptr_null(ms_thp_settings_read(THISBOX, &s));
	char *smaps = slurp(THISBOX "/proc/thpfix/smaps");
	char *status = slurp(THISBOX "/proc/thpfix/status");
	char *buddy = slurp(THISBOX "/proc/buddyinfo");
	struct ms_thp_report r;
	ck_assert_ptr_null(ms_thp_diagnose_text(smaps, status, buddy, &s, &r));
	ck_assert_str_eq(r.comm, "thpfix");
	ck_assert_int_eq(r.thp_enabled, 1);
	ck_assert_uint_eq(r.anon_huge, 8 << 20);
	const struct ms_thp_vma *v = vma_at(&r, HUGE);
	ck_assert_uint_eq(v->anon_huge, 8 << 20);
	ck_assert(v->eligible);
	ck_assert_uint_eq(v->blocks, 0);
	ck_assert_uint_eq(v->aligned_bytes, 8 << 20);
	ck_assert_uint_eq(vma_at(&r, PLAIN)->blocks, MS_THP_BLOCK_NEEDS_MADVISE);
	ck_assert(!vma_at(&r, PLAIN)->eligible);
	ck_assert_uint_eq(vma_at(&r, SMALL)->blocks, MS_THP_BLOCK_TOO_SMALL);
	ck_assert_uint_eq(vma_at(&r, NOHUGE)->blocks,
			  MS_THP_BLOCK_NOHUGEPAGE | MS_THP_BLOCK_NEEDS_MADVISE);
	ck_assert_uint_eq(vma_at(&r, MISALIGNED)->blocks, MS_THP_BLOCK_TOO_SMALL);
	ck_assert_uint_eq(vma_at(&r, MISALIGNED)->aligned_bytes, 0);
	for (size_t i = 0; i < r.count; i++) /* PROT_NONE holes are left out */
		ck_assert_str_ne(r.vmas[i].perms, "---p");
	ms_thp_report_deinit(&r);

	/* the same process under an "always" kernel with no free PMD block */
	struct ms_thp_settings old;
	ck_assert_ptr_null(ms_thp_settings_read(RHEL7, &old));
	ck_assert_ptr_null(ms_thp_diagnose_text(
		smaps, status, "Node 0, zone Normal 9 9 9 9 9 9 9 9 9 0 0\n", &old, &r));
	ck_assert_uint_eq(vma_at(&r, PLAIN)->blocks, MS_THP_BLOCK_FRAGMENTED);
	ck_assert_uint_eq(vma_at(&r, HUGE)->blocks, MS_THP_BLOCK_FRAGMENTED);
	ck_assert_uint_eq(vma_at(&r, NOHUGE)->blocks, MS_THP_BLOCK_NOHUGEPAGE);
	ms_thp_report_deinit(&r);
	ms_thp_settings_deinit(&old);

	/* prctl(PR_SET_THP_DISABLE) */
	char *status_prctl = slurp(THISBOX "/proc/thpfix/status-prctl");
	ck_assert_ptr_null(ms_thp_diagnose_text(smaps, status_prctl, NULL, &s, &r));
	ck_assert_int_eq(r.thp_enabled, 0);
	ck_assert(vma_at(&r, HUGE)->blocks & MS_THP_BLOCK_PRCTL);
	ck_assert(!r.buddy.known);
	ms_thp_report_deinit(&r);

	/* a status without THP_enabled (before 6.2): unknown, not "enabled" */
	ck_assert_ptr_null(ms_thp_diagnose_text(smaps, "Name:\tx\n", NULL, &s, &r));
	ck_assert_int_eq(r.thp_enabled, -1);
	ms_thp_report_deinit(&r);

	free(status_prctl);
	free(buddy);
	free(status);
	free(smaps);
	ms_thp_settings_deinit(&s);
}
END_TEST

START_TEST(test_block_names)
{
	ck_assert_str_eq(ms_thp_block_name(MS_THP_BLOCK_PRCTL), "prctl");
	ck_assert_str_eq(ms_thp_block_name(MS_THP_BLOCK_FRAGMENTED), "fragmented");
	ck_assert_str_eq(ms_thp_block_name(3), "?");
	ck_assert(strstr(ms_thp_block_explain(MS_THP_BLOCK_NEEDS_MADVISE), "MADV_HUGEPAGE"));
	ck_assert_str_eq(ms_thp_explain_enabled("bogus"), "");
}
END_TEST

int main(void)
{
	Suite *s = suite_create("thp");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_choice);
	tcase_add_test(tc, test_settings_mthp);
	tcase_add_test(tc, test_settings_old);
	tcase_add_test(tc, test_buddy);
	tcase_add_test(tc, test_diagnose_recorded);
	tcase_add_test(tc, test_block_names);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
