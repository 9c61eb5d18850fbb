/* SPDX-License-Identifier: MIT */
/*
 * inject: a system call run inside a frozen child, which must go on exactly
 * as before: its interrupted read() restarted, its result unchanged.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "freeze.h"
#include "inject.h"
#include "unit.h"

struct child {
	pid_t pid;
	int to_child, from_child;
};

/* A child blocked in read(): it echoes back the byte it reads, plus one. */
static struct child start_child(void)
{
	int in[2], out[2];
	ck_assert_int_eq(pipe(in), 0);
	ck_assert_int_eq(pipe(out), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		close(in[1]);
		close(out[0]);
		unsigned char c;
		ssize_t n = read(in[0], &c, 1);
		c = n == 1 ? (unsigned char)(c + 1) : 0;
		if (write(out[1], &c, 1) != 1)
			_exit(3);
		_exit(n == 1 ? 0 : 2);
	}
	close(in[0]);
	close(out[1]);
	usleep(50000); /* let it block in read() */
	return (struct child){pid, in[1], out[0]};
}

static void finish_child(struct child *c)
{
	unsigned char b = 41, r = 0;
	ck_assert_int_eq(write(c->to_child, &b, 1), 1);
	ck_assert_int_eq(read(c->from_child, &r, 1), 1);
	ck_assert_uint_eq(r, 42);
	int status;
	ck_assert_int_eq(waitpid(c->pid, &status, 0), c->pid);
	ck_assert(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	close(c->to_child);
	close(c->from_child);
}

START_TEST(test_getpid_inside)
{
	struct child c = start_child();
	struct ms_freeze *f;
	ck_assert_ptr_null(ms_freeze_create(c.pid, &f));
	size_t i;
	char why[256];
	ck_assert_msg(ms_inject_pick_thread(f, &i, why, sizeof(why)), "%s", why);
	uint64_t addr;
	ck_assert_ptr_null(ms_inject_find_syscall(c.pid, NULL, &addr));
	struct ms_inject *inj;
	ck_assert_ptr_null(ms_inject_begin(f, i, addr, &inj));
	uint64_t args[6] = {0};
	int64_t ret = 0;
	pid_t child = 1;
	ck_assert_ptr_null(ms_inject_syscall(inj, SYS_getpid, args, &ret, &child));
	ck_assert_int_eq(ret, c.pid);
	ck_assert_int_eq(child, 0);
	ck_assert_ptr_null(ms_inject_syscall(inj, SYS_getppid, args, &ret, NULL));
	ck_assert_int_eq(ret, getpid());
	/* an error comes back as a negative errno */
	args[0] = (uint64_t)-1;
	ck_assert_ptr_null(ms_inject_syscall(inj, SYS_close, args, &ret, NULL));
	ck_assert_int_eq(ret, -EBADF);
	ck_assert_ptr_null(ms_inject_end(inj));
	ms_freeze_destroy(f);
	finish_child(&c);
}
END_TEST

START_TEST(test_fork_inside)
{
	struct child c = start_child();
	struct ms_freeze *f;
	ck_assert_ptr_null(ms_freeze_create(c.pid, &f));
	size_t i;
	ck_assert(ms_inject_pick_thread(f, &i, NULL, 0));
	uint64_t addr;
	ck_assert_ptr_null(ms_inject_find_syscall(c.pid, NULL, &addr));
	struct ms_inject *inj;
	ck_assert_ptr_null(ms_inject_begin(f, i, addr, &inj));
	uint64_t args[6] = {0}; /* clone(0): a fork with no exit signal */
	int64_t ret = 0;
	pid_t grandchild = 0;
	ck_assert_ptr_null(ms_inject_syscall(inj, SYS_clone, args, &ret, &grandchild));
	ck_assert_int_gt(ret, 0);
	ck_assert_int_eq(ret, grandchild);
	ck_assert_ptr_null(ms_inject_end(inj));
	ms_freeze_release(f);
	ck_assert_ptr_null(ms_inject_hold_child(grandchild));
	/* the new process is held stopped; kill it, then reap it in the child's place */
	kill(grandchild, SIGKILL);
	int status;
	ck_assert_int_eq(waitpid(grandchild, &status, __WALL), grandchild);
	ms_freeze_destroy(f);
	ck_assert_ptr_null(ms_freeze_create_thread(c.pid, 0, &f));
	ck_assert(ms_inject_thread_ok(f, 0, NULL, 0));
	ck_assert_ptr_null(ms_inject_begin(f, 0, addr, &inj));
	uint64_t wargs[6] = {(uint64_t)grandchild, 0, __WALL | WNOHANG, 0, 0, 0};
	ck_assert_ptr_null(ms_inject_syscall(inj, SYS_wait4, wargs, &ret, NULL));
	ck_assert_int_eq(ret, grandchild);
	ck_assert_ptr_null(ms_inject_end(inj));
	ms_freeze_destroy(f);
	finish_child(&c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("inject");
	TCase *tc = tcase_create("live");
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_getpid_inside);
	tcase_add_test(tc, test_fork_inside);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
