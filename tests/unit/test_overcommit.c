/* SPDX-License-Identifier: MIT */
/*
 * overcommit: CommitLimit computed from recorded trees must equal the value
 * the kernel printed in the same tree; the what-if checks at their exact
 * boundaries; the charge rules; process info and committers from recorded
 * text.
 */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "overcommit.h"
#include "unit.h"

#define RHEL7	MS_TEST_DATA "/x86_64-3.10-rhel7"
#define NUMA2	MS_TEST_DATA "/x86_64-5.15-numa2"
#define LXCFS	MS_TEST_DATA "/container-lxcfs"
#define THISBOX MS_TEST_DATA "/x86_64-6.18-mthp"

static void check_tree(const char *root)
{
	struct ms_overcommit oc;
	ck_assert_ptr_null(ms_overcommit_read(root, &oc));
	ck_assert(oc.has_kernel_limit);
	/* the formula against what that kernel printed in the same snapshot */
	ck_assert_uint_eq(oc.commit_limit, oc.kernel_commit_limit);
}

START_TEST(test_limit_this_machine)
{
	check_tree(THISBOX);
}
END_TEST

START_TEST(test_limit_rhel7)
{
	struct ms_overcommit oc;
	check_tree(RHEL7);
	ck_assert_ptr_null(ms_overcommit_read(RHEL7, &oc));
	/* no Hugetlb line: the sysfs pools, 1024 x 2 MiB */
	ck_assert_uint_eq(oc.hugetlb_pages, 524288);
	ck_assert_uint_eq(oc.kbytes, 0); /* no overcommit_kbytes file on 3.10 */
	ck_assert_uint_eq(oc.commit_limit, (4066680 - 524288) * 50 / 100 + 2097151);
	ck_assert_uint_eq(oc.present_cpus, 8);
	ck_assert_uint_eq(oc.batch_strict, 4066680 / 8 / 256);
	ck_assert_uint_eq(oc.slack, 8 * (4066680 / 8 / 256));
	ck_assert_int_eq(oc.headroom, 3868347 - 9876544 / 4);
}
END_TEST

START_TEST(test_limit_kbytes)
{
	struct ms_overcommit oc;
	check_tree(NUMA2);
	ck_assert_ptr_null(ms_overcommit_read(NUMA2, &oc));
	ck_assert_uint_eq(oc.mode, MS_OVERCOMMIT_NEVER);
	/* overcommit_kbytes wins over the ratio and ignores hugetlb */
	ck_assert_uint_eq(oc.commit_limit, 33554432 / 4 + 4194300 / 4);
	ck_assert_uint_eq(oc.hugetlb_pages, 8388608 / 4);
	ck_assert_uint_eq(oc.present_cpus, 32);
}
END_TEST

START_TEST(test_limit_missing)
{
	struct ms_overcommit oc;
	ck_assert_ptr_null(ms_overcommit_read(LXCFS, &oc));
	ck_assert(!oc.has_kernel_limit);
	ck_assert(!oc.has_committed);
	ck_assert_uint_eq(oc.commit_limit, 1048576 * 50 / 100);
	ck_assert_uint_eq(oc.mode, MS_OVERCOMMIT_ALWAYS);
	struct ms_overcommit none;
	struct ms_error *err = ms_overcommit_read(MS_TEST_DATA "/no-such-tree", &none);
	ck_assert_ptr_nonnull(err);
	ms_error_destroy(err);
}
END_TEST

START_TEST(test_compute_small)
{
	struct ms_overcommit oc = {.ratio = 80,
				   .page_size = 4096,
				   .totalram_pages = 1000,
				   .hugetlb_pages = 100,
				   .swap_pages = 7,
				   .committed = 1000,
				   .present_cpus = 4};
	ms_overcommit_compute(&oc);
	ck_assert_uint_eq(oc.commit_limit, 900 * 80 / 100 + 7);
	ck_assert_int_eq(oc.headroom, 727 - 1000); /* over-committed: negative */
	ck_assert_uint_eq(oc.batch_strict, 32);	   /* the floor, max(2 * CPUs, 32) */
	oc.kbytes = 1023;			   /* >> 2: 255 pages */
	ms_overcommit_compute(&oc);
	ck_assert_uint_eq(oc.commit_limit, 255 + 7);
}
END_TEST

START_TEST(test_whatif_mode0)
{
	struct ms_overcommit oc;
	ck_assert_ptr_null(ms_overcommit_read(THISBOX, &oc));
	ck_assert_uint_eq(oc.mode, MS_OVERCOMMIT_GUESS);
	uint64_t limit = oc.totalram_pages + oc.swap_pages;
	struct ms_whatif w;
	ms_overcommit_whatif(&oc, NULL, limit * 4096, 0, &w);
	ck_assert(w.ok);
	ck_assert(w.charged);
	ck_assert_int_eq(w.rule, MS_CHARGE_PRIVATE_WRITABLE);
	ms_overcommit_whatif(&oc, NULL, limit * 4096 + 1, 0, &w); /* rounds up a page */
	ck_assert(!w.ok);
	ck_assert_int_eq(w.verdict, MS_WHATIF_HEURISTIC);
	ck_assert_uint_eq(w.pages, limit + 1);
	ms_overcommit_whatif(&oc, NULL, limit * 4096 + 1, MS_MAP_NORESERVE, &w);
	ck_assert(w.ok);
	ck_assert(!w.charged);
	ms_overcommit_whatif(&oc, NULL, limit * 4096 + 1, MS_MAP_READONLY, &w);
	ck_assert(w.ok);
	ms_overcommit_whatif(&oc, NULL, limit * 4096 + 1, MS_MAP_SHARED, &w);
	ck_assert(!w.ok); /* shmem is charged too */
	ck_assert_int_eq(w.rule, MS_CHARGE_SHARED_ANON);
	ms_overcommit_whatif(&oc, NULL, limit * 4096 + 1, MS_MAP_SHARED | MS_MAP_NORESERVE, &w);
	ck_assert(w.ok);
	ms_overcommit_whatif(&oc, NULL, 0, 0, &w);
	ck_assert_int_eq(w.verdict, MS_WHATIF_INVALID);
	ms_overcommit_whatif(&oc, NULL, UINT64_MAX, MS_MAP_NORESERVE, &w);
	ck_assert_int_eq(w.verdict, MS_WHATIF_TOO_LARGE);
	if (w.user_space) {
		ms_overcommit_whatif(&oc, NULL, w.user_space + 4096, MS_MAP_NORESERVE, &w);
		ck_assert_int_eq(w.verdict, MS_WHATIF_TOO_LARGE);
	}
	oc.mode = MS_OVERCOMMIT_ALWAYS;
	ms_overcommit_whatif(&oc, NULL, limit * 4096 * 4, 0, &w);
	ck_assert(w.ok);
	ck_assert(w.charged);
}
END_TEST

START_TEST(test_whatif_mode2)
{
	struct ms_overcommit oc;
	ck_assert_ptr_null(ms_overcommit_read(NUMA2, &oc));
	ck_assert_uint_eq(oc.committed, 30123456 / 4);
	struct ms_mm_info mm = {.pid = 1234,
				.total_vm = 3200000,
				.rlimit_as = UINT64_MAX,
				.rlimit_data = UINT64_MAX};
	/* allowed = 9437183 - 2048 (admin) - min(3200000 / 32, 32768) (user) */
	int64_t allowed = 9437183 - 2048 - 32768;
	uint64_t max_ok = (uint64_t)allowed - oc.committed - 1;
	struct ms_whatif w;
	ms_overcommit_whatif(&oc, &mm, max_ok * 4096, 0, &w);
	ck_assert(w.ok);
	ck_assert_int_eq(w.allowed, allowed);
	ck_assert_uint_eq(w.admin_reserve, 2048);
	ck_assert_uint_eq(w.user_reserve, 32768);
	ck_assert(w.borderline); /* at the limit: within the per-CPU slack */
	ms_overcommit_whatif(&oc, &mm, (max_ok + 1) * 4096, 0, &w);
	ck_assert(!w.ok);
	ck_assert_int_eq(w.verdict, MS_WHATIF_COMMIT_LIMIT);
	/* MAP_NORESERVE is ignored in mode 2 */
	ms_overcommit_whatif(&oc, &mm, (max_ok + 1) * 4096, MS_MAP_NORESERVE, &w);
	ck_assert(!w.ok);
	ck_assert_int_eq(w.rule, MS_CHARGE_NORESERVE_STRICT);
	ms_overcommit_whatif(&oc, &mm, (max_ok + 1) * 4096, MS_MAP_READONLY, &w);
	ck_assert(w.ok);
	/* CAP_SYS_ADMIN: no admin reserve */
	mm.cap_sys_admin = true;
	ms_overcommit_whatif(&oc, &mm, (max_ok + 1) * 4096, 0, &w);
	ck_assert(w.ok);
	ck_assert_uint_eq(w.admin_reserve, 0);
	ms_overcommit_whatif(&oc, &mm, (max_ok + 2049) * 4096, 0, &w);
	ck_assert(!w.ok);
	/* a small process keeps back total_vm / 32 only */
	mm.total_vm = 3200;
	ms_overcommit_whatif(&oc, &mm, 4096, 0, &w);
	ck_assert_uint_eq(w.user_reserve, 100);
	ck_assert(!w.borderline);
	/* no process: no user reserve, and the admin reserve applies */
	ms_overcommit_whatif(&oc, NULL, 4096, 0, &w);
	ck_assert_uint_eq(w.user_reserve, 0);
	ck_assert_uint_eq(w.admin_reserve, 2048);
}
END_TEST

START_TEST(test_whatif_limits)
{
	struct ms_overcommit oc;
	ck_assert_ptr_null(ms_overcommit_read(THISBOX, &oc));
	struct ms_mm_info mm = {.total_vm = 200000,
				.data_vm = 100000,
				.rlimit_as = UINT64_C(1) << 30,
				.rlimit_data = UINT64_MAX,
				.gap_known = true,
				.largest_gap = UINT64_C(1) << 40};
	struct ms_whatif w;
	ms_overcommit_whatif(&oc, &mm, (262144 - 200000) * 4096, 0, &w);
	ck_assert(w.ok);
	ms_overcommit_whatif(&oc, &mm, (262144 - 200000 + 1) * 4096, 0, &w);
	ck_assert_int_eq(w.verdict, MS_WHATIF_RLIMIT_AS);
	mm.rlimit_as = UINT64_MAX;
	mm.rlimit_data = UINT64_C(1) << 30;
	ms_overcommit_whatif(&oc, &mm, (262144 - 100000 + 1) * 4096, 0, &w);
	ck_assert_int_eq(w.verdict, MS_WHATIF_RLIMIT_DATA);
	/* RLIMIT_DATA counts private writable mappings only */
	ms_overcommit_whatif(&oc, &mm, (262144 - 100000 + 1) * 4096, MS_MAP_SHARED, &w);
	ck_assert(w.ok);
	ms_overcommit_whatif(&oc, &mm, (UINT64_C(1) << 40) + 4096, MS_MAP_NORESERVE, &w);
	ck_assert_int_eq(w.verdict, MS_WHATIF_NO_GAP);
}
END_TEST

static const char status_text[] = "Name:\tpython3\n"
				  "Umask:\t0022\n"
				  "State:\tS (sleeping)\n"
				  "Pid:\t4242\n"
				  "VmPeak:\t   30000 kB\n"
				  "VmSize:\t   25600 kB\n"
				  "VmRSS:\t    9000 kB\n"
				  "VmData:\t    8192 kB\n"
				  "CapInh:\t0000000000000000\n"
				  "CapPrm:\t0000000000000000\n"
				  "CapEff:\t0000000000000000\n"
				  "THP_enabled:\t1\n";
static const char limits_text[] =
	"Limit                     Soft Limit           Hard Limit           Units     \n"
	"Max cpu time              unlimited            unlimited            seconds   \n"
	"Max data size             1073741824           unlimited            bytes     \n"
	"Max stack size            8388608              unlimited            bytes     \n"
	"Max address space         unlimited            unlimited            bytes     \n";
static const char maps_text[] =
	"00400000-00402000 r--p 00000000 fe:00 1 /usr/bin/python3\n"
	"7f0000000000-7f0000100000 rw-p 00000000 00:00 0 \n"
	"7ffff0000000-7ffff0021000 rw-p 00000000 00:00 0                          [stack]\n";

START_TEST(test_mm_info)
{
	struct ms_mm_info mm;
	ck_assert_ptr_null(ms_mm_info_parse(status_text, limits_text, maps_text, &mm));
	ck_assert_str_eq(mm.comm, "python3");
	ck_assert_uint_eq(mm.total_vm, 25600 / 4);
	ck_assert_uint_eq(mm.data_vm, 8192 / 4);
	ck_assert(!mm.cap_sys_admin);
	ck_assert_uint_eq(mm.rlimit_data, UINT64_C(1073741824));
	ck_assert_uint_eq(mm.rlimit_as, UINT64_MAX);
	if (mm.gap_known) /* x86_64: the hole above the program */
		ck_assert_uint_eq(mm.largest_gap, UINT64_C(0x7f0000000000) - 0x402000);
	ck_assert_ptr_null(ms_mm_info_parse(
		"Name:\tbash\nCapEff:\t000001ffffffffff\nVmSize: 8 kB\n", NULL, NULL, &mm));
	ck_assert(mm.cap_sys_admin);
	struct ms_error *err = ms_mm_info_parse("Name:\tkthreadd\n", NULL, NULL, &mm);
	ck_assert_ptr_nonnull(err); /* a kernel thread has no VmSize */
	ck_assert_int_eq(err->code, MS_ERROR_INVALID);
	ms_error_destroy(err);
	/* the calling process, live */
	ck_assert_ptr_null(ms_mm_info_read(0, &mm));
	ck_assert_int_eq(mm.pid, getpid());
	ck_assert_uint_gt(mm.total_vm, 0);
}
END_TEST

static const char smaps_text[] =
	"00400000-00401000 r-xp 00000000 fe:00 12   /usr/bin/prog\n"
	"Size:                  4 kB\n"
	"VmFlags: rd ex mr mw me \n"
	"00600000-00601000 r--p 00000000 fe:00 12   /usr/bin/prog\n"
	"Size:                  4 kB\n"
	"VmFlags: rd mr mw me ac \n"
	"7f0000000000-7f0000800000 rw-p 00000000 00:00 0 \n"
	"Size:               8192 kB\n"
	"AnonHugePages:      2048 kB\n"
	"VmFlags: rd wr mr mw me ac hg \n"
	"7f0001000000-7f0002000000 rw-p 00000000 00:00 0 \n"
	"Size:              16384 kB\n"
	"VmFlags: rd wr mr mw me nr \n"
	"7f0003000000-7f0003100000 rw-s 00000000 00:01 77   /dev/zero (deleted)\n"
	"Size:               1024 kB\n"
	"VmFlags: rd wr sh mr mw me ms \n"
	"7f0004000000-7f0004100000 rw-s 00000000 00:01 78   /dev/zero (deleted)\n"
	"Size:               1024 kB\n"
	"VmFlags: rd wr sh mr mw me ms nr \n"
	"7f0005000000-7f0005001000 rw-s 00000000 00:01 79   /memfd:x (deleted)\n"
	"VmFlags: rd wr sh mr mw me ms \n";

START_TEST(test_committer)
{
	struct ms_committer c;
	ms_committer_from_smaps(smaps_text, &c);
	/* the relro page and the 8 MiB heap-like mapping carry "ac" */
	ck_assert_uint_eq(c.committed, 4096 + (8 << 20));
	/* /dev/zero without "nr"; not the noreserve one, not the memfd */
	ck_assert_uint_eq(c.shared_anon, 1 << 20);
	ck_assert_uint_eq(c.total_vm, 4096 * 3 + (8 << 20) + (16 << 20) + (2 << 20));
	ms_committer_from_smaps("", &c);
	ck_assert_uint_eq(c.committed, 0);
	ck_assert_uint_eq(c.total_vm, 0);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("overcommit");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_limit_this_machine);
	tcase_add_test(tc, test_limit_rhel7);
	tcase_add_test(tc, test_limit_kbytes);
	tcase_add_test(tc, test_limit_missing);
	tcase_add_test(tc, test_compute_small);
	tcase_add_test(tc, test_whatif_mode0);
	tcase_add_test(tc, test_whatif_mode2);
	tcase_add_test(tc, test_whatif_limits);
	tcase_add_test(tc, test_mm_info);
	tcase_add_test(tc, test_committer);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
