/* SPDX-License-Identifier: MIT */
/*
 * sysmem: the key/value parser on odd input, and meminfo, vmstat, sysctls and
 * hugetlb pools read from recorded trees of other kernels (tests/data).
 */
#include <check.h>
#include <stdlib.h>
#include <unistd.h>

#include "sysmem.h"
#include "unit.h"

#define RHEL7	MS_TEST_DATA "/x86_64-3.10-rhel7"
#define NUMA2	MS_TEST_DATA "/x86_64-5.15-numa2"
#define LXCFS	MS_TEST_DATA "/container-lxcfs"
#define THISBOX MS_TEST_DATA "/x86_64-6.18-mthp"

START_TEST(test_kv_shapes)
{
	struct ms_kvfile *kv;
	ck_assert_ptr_null(ms_kvfile_parse("MemTotal:       24731708 kB\n"
					   "HugePages_Total:       0\n"
					   "nr_free_pages 6069155\n"
					   "\n"
					   "Name:\tbash\n"
					   "Uid:\t0\t0\t0\t0\n"
					   "  indented:   12\r\n"
					   "Node 1 MemFree:  512 kB\n"
					   "no_newline_at_end 7",
					   &kv));
	uint64_t v;
	ck_assert(ms_kvfile_get(kv, "MemTotal", &v));
	ck_assert_uint_eq(v, UINT64_C(24731708) * 1024);
	ck_assert(ms_kvfile_get(kv, "HugePages_Total", &v));
	ck_assert_uint_eq(v, 0);
	ck_assert(ms_kvfile_get(kv, "nr_free_pages", &v));
	ck_assert_uint_eq(v, 6069155);
	ck_assert(ms_kvfile_get(kv, "indented", &v));
	ck_assert_uint_eq(v, 12);
	ck_assert(ms_kvfile_get(kv, "MemFree", &v));
	ck_assert_uint_eq(v, 512 * 1024);
	ck_assert_int_eq(kv->node, 1);
	ck_assert(ms_kvfile_get(kv, "no_newline_at_end", &v));
	ck_assert_uint_eq(v, 7);
	/* words and several numbers are not "key value": skipped, not misread */
	ck_assert(!ms_kvfile_get(kv, "Name", &v));
	ck_assert(!ms_kvfile_get(kv, "Uid", &v));
	ck_assert_uint_eq(kv->skipped, 2);
	ck_assert(!ms_kvfile_get(kv, "Absent", &v));
	ms_kvfile_destroy(kv);
}
END_TEST

START_TEST(test_kv_errors)
{
	struct ms_kvfile *kv = NULL;
	struct ms_error *err = ms_kvfile_parse("", &kv);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(err->code, MS_ERROR_FORMAT);
	ms_error_destroy(err);
	err = ms_kvfile_parse("just words\nmore words\n", &kv);
	ck_assert_ptr_nonnull(err);
	ms_error_destroy(err);
	/* a number too large for 64 bits is not a value */
	ck_assert_ptr_null(ms_kvfile_parse("big: 99999999999999999999999\nok: 1\n", &kv));
	uint64_t v;
	ck_assert(!ms_kvfile_get(kv, "big", &v));
	ck_assert(ms_kvfile_get(kv, "ok", &v));
	ms_kvfile_destroy(kv);
	/* kB that would overflow once multiplied */
	ck_assert_ptr_null(ms_kvfile_parse("huge: 18014398509481984 kB\nok: 1\n", &kv));
	ck_assert(!ms_kvfile_get(kv, "huge", &v));
	ms_kvfile_destroy(kv);
	ms_kvfile_destroy(NULL);
}
END_TEST

START_TEST(test_meminfo_rhel7)
{
	struct ms_meminfo mi;
	ck_assert_ptr_null(ms_meminfo_read(RHEL7, &mi));
	ck_assert_uint_eq(mi.v[MS_MI_MEM_TOTAL], UINT64_C(16266720) * 1024);
	ck_assert_uint_eq(mi.v[MS_MI_COMMIT_LIMIT], UINT64_C(15473388) * 1024);
	ck_assert_uint_eq(mi.v[MS_MI_HUGE_PAGES_TOTAL], 1024);
	ck_assert_uint_eq(mi.v[MS_MI_HUGEPAGESIZE], 2048 * 1024);
	/* 3.10 has no Hugetlb line (4.16): missing, not zero */
	ck_assert(!ms_meminfo_has(&mi, MS_MI_HUGETLB));
	ck_assert(!ms_meminfo_has(&mi, MS_MI_SHMEM_HUGE_PAGES));
	ck_assert(ms_meminfo_has(&mi, MS_MI_ANON_HUGE_PAGES));
	ck_assert_str_eq(ms_meminfo_key(MS_MI_COMMITTED_AS), "Committed_AS");
}
END_TEST

START_TEST(test_meminfo_lxcfs)
{
	struct ms_meminfo mi;
	ck_assert_ptr_null(ms_meminfo_read(LXCFS, &mi));
	ck_assert_uint_eq(mi.v[MS_MI_MEM_TOTAL], UINT64_C(4194304) * 1024);
	ck_assert(!ms_meminfo_has(&mi, MS_MI_COMMIT_LIMIT));
	ck_assert(!ms_meminfo_has(&mi, MS_MI_COMMITTED_AS));
	ck_assert(!ms_meminfo_has(&mi, MS_MI_SRECLAIMABLE));
	ck_assert_uint_eq(mi.v[MS_MI_COMMIT_LIMIT], 0);
	/* no MemTotal is an error: nothing else makes sense without it */
	struct ms_error *err = ms_meminfo_parse("MemFree: 12 kB\n", &mi);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(err->code, MS_ERROR_FORMAT);
	ms_error_destroy(err);
}
END_TEST

START_TEST(test_node_meminfo)
{
	struct ms_kvfile *kv;
	ck_assert_ptr_null(ms_kvfile_read(NUMA2, "/sys/devices/system/node/node1/meminfo", &kv));
	ck_assert_int_eq(kv->node, 1);
	uint64_t v;
	ck_assert(ms_kvfile_get(kv, "MemTotal", &v));
	ck_assert_uint_eq(v, UINT64_C(32952608) * 1024);
	ck_assert(ms_kvfile_get(kv, "HugePages_Total", &v));
	ck_assert_uint_eq(v, 1024);
	ms_kvfile_destroy(kv);
}
END_TEST

START_TEST(test_vmstat)
{
	struct ms_kvfile *kv;
	uint64_t v;
	ck_assert_ptr_null(ms_vmstat_read(RHEL7, &kv));
	ck_assert(ms_kvfile_get(kv, "thp_split", &v)); /* the 3.10 name */
	ck_assert_uint_eq(v, 20511);
	ck_assert(!ms_kvfile_get(kv, "thp_split_page", &v));
	ms_kvfile_destroy(kv);
	ck_assert_ptr_null(ms_vmstat_read(NUMA2, &kv));
	ck_assert(ms_kvfile_get(kv, "compact_daemon_wake", &v));
	ck_assert_uint_eq(v, 1023);
	ck_assert(ms_kvfile_get(kv, "numa_hit", &v));
	ck_assert_uint_eq(v, UINT64_C(88123141201));
	ms_kvfile_destroy(kv);
	ck_assert_ptr_null(ms_vmstat_read(LXCFS, &kv));
	ck_assert_uint_eq(kv->count, 2);
	ck_assert_uint_eq(kv->skipped, 1);
	ms_kvfile_destroy(kv);
	ck_assert_ptr_null(ms_vmstat_read(THISBOX, &kv));
	ck_assert(ms_kvfile_get(kv, "thp_fault_alloc", &v));
	ms_kvfile_destroy(kv);
}
END_TEST

START_TEST(test_sysctl)
{
	uint64_t v;
	ck_assert_ptr_null(ms_sysctl_read_u64(NUMA2, "vm.overcommit_kbytes", &v));
	ck_assert_uint_eq(v, 33554432);
	ck_assert_ptr_null(ms_sysctl_read_u64(NUMA2, "vm.overcommit_memory", &v));
	ck_assert_uint_eq(v, 2);
	struct ms_error *err = ms_sysctl_read_u64(RHEL7, "vm.overcommit_kbytes", &v);
	ck_assert_ptr_nonnull(err); /* absent on that kernel */
	ck_assert_int_eq(err->errnum, 2 /* ENOENT */);
	ms_error_destroy(err);
	/* with a fallback for what the kernel lacks */
	ck_assert_uint_eq(ms_sysctl_u64_or(NUMA2, "vm.overcommit_memory", 7), 2);
	ck_assert_uint_eq(ms_sysctl_u64_or(RHEL7, "vm.overcommit_kbytes", 7), 7);
}
END_TEST

START_TEST(test_order)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	ck_assert_uint_eq(ms_sysmem_order(page), 0);
	ck_assert_uint_eq(ms_sysmem_order(page - 1), 0);
	ck_assert_uint_eq(ms_sysmem_order(2 * page), 1);
	ck_assert_uint_eq(ms_sysmem_order(3 * page), 2); /* rounds up */
	ck_assert_uint_eq(ms_sysmem_order(512 * page), 9);
}
END_TEST

START_TEST(test_hugepage_sizes)
{
	/* hugetlb's pools and THP's sizes, smallest first, other entries left out */
	uint64_t *kbs;
	size_t n;
	ck_assert_ptr_null(ms_sysmem_hugepage_sizes(NUMA2 "/sys/kernel/mm/hugepages", &kbs, &n));
	ck_assert_uint_eq(n, 2);
	ck_assert_uint_eq(kbs[0], 2048);
	ck_assert_uint_eq(kbs[1], 1048576);
	free(kbs);
	ck_assert_ptr_null(ms_sysmem_hugepage_sizes(
		MS_TEST_DATA "/x86_64-6.18-mthp/sys/kernel/mm/transparent_hugepage", &kbs, &n));
	ck_assert_uint_eq(n, 9);
	for (size_t i = 1; i < n; i++)
		ck_assert_uint_lt(kbs[i - 1], kbs[i]);
	ck_assert_uint_eq(kbs[0], 8);
	free(kbs);
	struct ms_error *err = ms_sysmem_hugepage_sizes(LXCFS "/sys/kernel/mm/hugepages", &kbs, &n);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(err->errnum, 2 /* ENOENT */);
	ck_assert_ptr_null(kbs);
	ms_error_destroy(err);
}
END_TEST

START_TEST(test_hugetlb_pools)
{
	struct ms_hugetlb h;
	ck_assert_ptr_null(ms_hugetlb_read(NUMA2, &h));
	ck_assert_uint_eq(h.count, 2);
	ck_assert_uint_eq(h.pools[0].size_kb, 2048); /* sorted by size */
	ck_assert_uint_eq(h.pools[1].size_kb, 1048576);
	ck_assert_uint_eq(h.pools[1].nr, 4);
	ck_assert_uint_eq(h.pools[1].free, 2);
	/* 2048 x 512 + 4 x 262144 base pages = meminfo's Hugetlb 8388608 kB / 4 */
	ck_assert_uint_eq(ms_hugetlb_total_pages(&h, 4096), 2097152);
	ck_assert_uint_eq(ms_hugetlb_free_pages(&h, 4096), 2048 * 512 + 2 * 262144);
	ms_hugetlb_deinit(&h);
	ck_assert_ptr_null(ms_hugetlb_read(LXCFS, &h)); /* no sysfs: no pools, no error */
	ck_assert_uint_eq(h.count, 0);
	ms_hugetlb_deinit(&h);

	/* totals: the pools where sysfs has them, meminfo's default size without */
	struct ms_meminfo mi;
	ck_assert_ptr_null(ms_meminfo_parse("MemTotal: 8388608 kB\nHugePages_Total: 10\n"
					    "HugePages_Free: 3\nHugepagesize: 2048 kB\n",
					    &mi));
	uint64_t total, free_pages;
	ck_assert_ptr_null(ms_hugetlb_pages(NUMA2, &mi, 4096, &total, &free_pages));
	ck_assert_uint_eq(total, 2097152);
	ck_assert_uint_eq(free_pages, 2048 * 512 + 2 * 262144);
	ck_assert_ptr_null(ms_hugetlb_pages(LXCFS, &mi, 4096, &total, &free_pages));
	ck_assert_uint_eq(total, 10 * 512);
	ck_assert_uint_eq(free_pages, 3 * 512);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("sysmem");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_kv_shapes);
	tcase_add_test(tc, test_kv_errors);
	tcase_add_test(tc, test_meminfo_rhel7);
	tcase_add_test(tc, test_meminfo_lxcfs);
	tcase_add_test(tc, test_node_meminfo);
	tcase_add_test(tc, test_vmstat);
	tcase_add_test(tc, test_sysctl);
	tcase_add_test(tc, test_order);
	tcase_add_test(tc, test_hugepage_sizes);
	tcase_add_test(tc, test_hugetlb_pools);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
