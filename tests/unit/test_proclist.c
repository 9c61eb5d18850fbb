/* SPDX-License-Identifier: MIT */
/* proclist and ptov's pure parts: smaps_rollup parsing, our own process, page flags. */
#include <check.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "proclist.h"
#include "ptov.h"
#include "unit.h"

START_TEST(test_parse_rollup)
{
	static const char text[] = "55a7fcc7b000-7ffd00021000 ---p 00000000 00:00 0    [rollup]\n"
				   "Rss:                1764 kB\n"
				   "Pss:                 483 kB\n"
				   "Pss_Anon:            356 kB\n"
				   "Shared_Clean:       1396 kB\n"
				   "Shared_Dirty:          4 kB\n"
				   "Private_Clean:        12 kB\n"
				   "Private_Dirty:       352 kB\n"
				   "AnonHugePages:      2048 kB\n"
				   "Swap:                 8 kB\n"
				   "SwapPss:              8 kB\n";
	struct ms_vma_usage u;
	ck_assert(ms_proc_parse_rollup(text, &u));
	ck_assert_uint_eq(u.rss, 1764 * 1024);
	ck_assert_uint_eq(u.pss, 483 * 1024); /* not Pss_Anon */
	ck_assert_uint_eq(u.shared_clean + u.shared_dirty, 1400 * 1024);
	ck_assert_uint_eq(u.private_dirty, 352 * 1024);
	ck_assert_uint_eq(u.anon_huge, 2048 * 1024);
	ck_assert_uint_eq(u.swap, 8 * 1024);
	ck_assert(!ms_proc_parse_rollup("", &u));
}
END_TEST

START_TEST(test_read_self)
{
	struct ms_procinfo info;
	ck_assert_ptr_null(ms_proc_read(getpid(), 0, MS_PROC_STAT | MS_PROC_ROLLUP, &info));
	ck_assert_int_eq(info.pid, getpid());
	ck_assert_int_eq(info.ppid, getppid());
	ck_assert_str_eq(info.comm, "test_proclist");
	ck_assert(!info.kernel_thread);
	ck_assert_uint_gt(info.vsz, 0);
	ck_assert(info.has_rollup);
	ck_assert_uint_gt(info.rollup.rss, 0);
	ck_assert(ms_proc_alive(getpid()));
	pid_t *pids;
	size_t n;
	ck_assert_ptr_null(ms_proc_list(&pids, &n));
	bool found = false;
	for (size_t i = 0; i < n; i++) {
		found |= pids[i] == getpid();
		if (i)
			ck_assert_int_lt(pids[i - 1], pids[i]);
	}
	ck_assert(found);
	free(pids);
	struct ms_error *err = ms_proc_read(999999999, 0, MS_PROC_STAT, &info);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(err->code, MS_ERROR_NOT_FOUND);
	ms_error_destroy(err);
}
END_TEST

struct each_state {
	pid_t last;
	size_t seen;
	bool found_self, sorted;
	pid_t stop_at;
};

static struct ms_error *each_comm(void *arg, pid_t pid, const char *text, bool *stop_ret)
{
	struct each_state *st = arg;
	st->sorted &= pid > st->last;
	st->last = pid;
	st->seen++;
	if (pid == getpid())
		st->found_self = strcmp(text, "test_proclist\n") == 0;
	if (pid == st->stop_at)
		*stop_ret = true;
	return NULL;
}

static struct ms_error *each_fail(void *arg, pid_t pid, const char *text, bool *stop_ret)
{
	(void)arg, (void)pid, (void)text, (void)stop_ret;
	return ms_error_create(MS_ERROR_OTHER, "stop here");
}

START_TEST(test_each)
{
	/* every process in pid order, each with its own file's text */
	struct each_state st = {.sorted = true};
	size_t unreadable = 0;
	ck_assert_ptr_null(ms_proc_each("comm", 0, each_comm, &st, &unreadable));
	ck_assert(st.sorted);
	ck_assert(st.found_self);
	ck_assert_uint_eq(unreadable, 0); /* comm is anyone's to read */
	size_t all = st.seen;
	ck_assert_uint_gt(all, 1);
	/* stopped early at the first process (pid 1) */
	st = (struct each_state){.sorted = true, .stop_at = 1};
	ck_assert_ptr_null(ms_proc_each("comm", 0, each_comm, &st, NULL));
	ck_assert_uint_eq(st.seen, 1);
	/* the callback's error ends the walk and comes back */
	struct ms_error *err = ms_proc_each("comm", 0, each_fail, NULL, NULL);
	ck_assert_ptr_nonnull(err);
	ck_assert_str_eq(err->message, "stop here");
	ms_error_destroy(err);
	/* without the calling process */
	st = (struct each_state){.sorted = true};
	ck_assert_ptr_null(ms_proc_each("comm", MS_PROC_EACH_OTHERS, each_comm, &st, NULL));
	ck_assert(!st.found_self);
	/* a file no process has: every one skipped, none unreadable */
	st = (struct each_state){.sorted = true};
	ck_assert_ptr_null(ms_proc_each("no-such-file", 0, each_comm, &st, &unreadable));
	ck_assert_uint_eq(st.seen, 0);
	ck_assert_uint_eq(unreadable, 0);

	char comm[17];
	ck_assert(ms_proc_comm(getpid(), comm));
	ck_assert_str_eq(comm, "test_proclist");
	ck_assert(!ms_proc_comm(999999999, comm));
	ck_assert_str_eq(comm, "");
	ms_proc_status_name("Name:\tsome-very-long-process-name\nUmask:\t0022\n", comm);
	ck_assert_str_eq(comm, "some-very-long-p"); /* 16 bytes, as the kernel keeps */
	ms_proc_status_name("Umask:\t0022\n", comm);
	ck_assert_str_eq(comm, "");
}
END_TEST

START_TEST(test_kpf_names)
{
	char buf[256];
	ms_kpf_names(MS_KPF(MS_KPF_ANON) | MS_KPF(MS_KPF_LRU) | MS_KPF(50), buf, sizeof(buf));
	ck_assert_str_eq(buf, "lru anon bit50");
	ck_assert_str_eq(ms_kpf_name(MS_KPF_BUDDY), "buddy");
	ck_assert_ptr_nonnull(strstr(ms_kpf_describe(MS_KPF(MS_KPF_BUDDY)), "free"));
	ck_assert_ptr_nonnull(strstr(ms_kpf_describe(MS_KPF(MS_KPF_ANON)), "anonymous"));
	/* a tiny buffer is cut, not overrun */
	char small[6];
	ms_kpf_names(MS_KPF(MS_KPF_UPTODATE) | MS_KPF(MS_KPF_SWAPBACKED), small, sizeof(small));
	ck_assert_uint_lt(strlen(small), sizeof(small));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("proclist");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_parse_rollup);
	tcase_add_test(tc, test_read_self);
	tcase_add_test(tc, test_each);
	tcase_add_test(tc, test_kpf_names);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
