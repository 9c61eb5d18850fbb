/* SPDX-License-Identifier: MIT */
/*
 * freeze: a process whose threads are created and exit all the time, frozen
 * and released over and over. Every freeze must succeed, hold every live
 * thread of the process in a ptrace stop (read back from /proc), and leave
 * every thread untraced and running when released.
 */
#include <check.h>
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "freeze.h"
#include "unit.h"

/* Seconds of freezing and releasing per test: enough for thousands of rounds. */
#define HAMMER_SECONDS 3.0

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void *short_lived(void *arg)
{
	return arg;
}

/* A thread that creates a thread that exits at once: twice the churn per clone. */
static void *spawner(void *arg)
{
	pthread_t t;
	if (pthread_create(&t, NULL, short_lived, NULL) == 0)
		pthread_detach(t);
	return arg;
}

static void *churn(void *arg)
{
	void *(*fn)(void *) = arg;
	for (;;) {
		pthread_t t;
		if (pthread_create(&t, NULL, fn, NULL) == 0)
			pthread_join(t, NULL);
	}
	return NULL;
}

static void *blocked(void *arg)
{
	int fd = *(int *)arg;
	char c;
	while (read(fd, &c, 1) != 0)
		;
	return NULL;
}

/* A process with four blocked threads and three that keep creating threads. */
static pid_t start_churner(void)
{
	int ready[2];
	ck_assert_int_eq(pipe(ready), 0);
	pid_t pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		static int never[2];
		if (pipe(never))
			_exit(1);
		pthread_t t;
		for (int i = 0; i < 4; i++)
			pthread_create(&t, NULL, blocked, &never[0]);
		pthread_create(&t, NULL, churn, short_lived);
		pthread_create(&t, NULL, churn, short_lived);
		pthread_create(&t, NULL, churn, spawner);
		if (write(ready[1], "x", 1) != 1)
			_exit(1);
		for (;;)
			pause();
	}
	close(ready[1]);
	char c;
	ck_assert_int_eq(read(ready[0], &c, 1), 1);
	close(ready[0]);
	return pid;
}

static void stop_churner(pid_t pid)
{
	kill(pid, SIGKILL);
	int status;
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
}

/* State letter and tracer of a thread; false if it is gone. */
static bool thread_status(pid_t pid, pid_t tid, char *state, long *tracer)
{
	char path[96], line[256];
	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)pid, (int)tid);
	FILE *f = fopen(path, "r");
	if (!f)
		return false;
	*state = 0;
	*tracer = -1;
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, "State:", 6) == 0)
			*state = line[7];
		else if (strncmp(line, "TracerPid:", 10) == 0)
			*tracer = strtol(line + 10, NULL, 10);
	}
	fclose(f);
	return *state != 0;
}

/* The thread ids /proc/PID/task lists now, read here (not by lib/procfs). */
static pid_t *list_tasks(pid_t pid, size_t *count_ret)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	ck_assert_ptr_nonnull(d);
	pid_t *tids = NULL;
	size_t n = 0, cap = 0;
	struct dirent *de;
	while ((de = readdir(d))) {
		pid_t tid = (pid_t)atoi(de->d_name);
		if (tid <= 0)
			continue;
		if (n == cap) {
			cap = cap ? 2 * cap : 64;
			tids = realloc(tids, cap * sizeof(*tids));
			ck_assert_ptr_nonnull(tids);
		}
		tids[n++] = tid;
	}
	closedir(d);
	*count_ret = n;
	return tids;
}

static bool frozen_has(const struct ms_freeze *f, pid_t tid)
{
	for (size_t i = 0; i < ms_freeze_count(f); i++)
		if (ms_freeze_tid(f, i) == tid)
			return true;
	return false;
}

/*
 * While frozen: every thread held is in a ptrace stop, traced by us, and
 * every thread of the process that is still alive is held.
 */
static void check_frozen(pid_t pid, const struct ms_freeze *f)
{
	long self = (long)syscall(SYS_gettid);
	char state;
	long tracer;
	ck_assert_int_ge(ms_freeze_count(f), 1);
	ck_assert_int_eq(ms_freeze_tid(f, 0), pid);
	for (size_t i = 0; i < ms_freeze_count(f); i++) {
		pid_t tid = ms_freeze_tid(f, i);
		/* a held thread cannot exit (SIGKILL aside): its stop holds it */
		ck_assert_msg(thread_status(pid, tid, &state, &tracer), "held thread %d is gone",
			      (int)tid);
		ck_assert_msg(state == 't' && tracer == self,
			      "held thread %d: state %c, tracer %ld (we are %ld)", (int)tid, state,
			      tracer, self);
	}
	size_t ntasks;
	pid_t *tasks = list_tasks(pid, &ntasks);
	for (size_t i = 0; i < ntasks; i++) {
		pid_t tid = tasks[i];
		if (frozen_has(f, tid))
			continue;
		if (!thread_status(pid, tid, &state, &tracer))
			continue; /* exited before the freeze and reaped since */
		ck_assert_msg(state == 'Z' || state == 'X',
			      "thread %d of %d is running during the freeze (state %c, tracer %ld)",
			      (int)tid, (int)pid, state, tracer);
	}
	free(tasks);
}

/*
 * After the release: no thread held is stopped (a stop ends at once), and no
 * thread of the process at all is still traced by us.
 */
static void check_released(pid_t pid, pid_t *tids, size_t n)
{
	long self = (long)syscall(SYS_gettid);
	char state;
	long tracer;
	for (size_t i = 0; i < n; i++) {
		for (int tries = 0;; tries++) {
			if (!thread_status(pid, tids[i], &state, &tracer))
				break;
			ck_assert_msg(tracer == 0, "thread %d still traced by %ld", (int)tids[i],
				      tracer);
			if (state != 't' && state != 'T')
				break;
			ck_assert_msg(tries < 100, "thread %d left stopped (%c)", (int)tids[i],
				      state);
			usleep(1000);
		}
	}
	size_t ntasks;
	pid_t *tasks = list_tasks(pid, &ntasks);
	for (size_t i = 0; i < ntasks; i++)
		if (thread_status(pid, tasks[i], &state, &tracer))
			ck_assert_msg(tracer != self, "thread %d (%c) left traced by us",
				      (int)tasks[i], state);
	free(tasks);
}

static void hammer(bool thread_only)
{
	pid_t pid = start_churner();
	size_t rounds = 0, caught = 0;
	pid_t *tids = NULL;
	size_t cap = 0;
	double end = now() + HAMMER_SECONDS;
	while (now() < end) {
		struct ms_freeze *f = NULL;
		struct ms_error *err = thread_only ? ms_freeze_create_thread(pid, 0, &f)
						   : ms_freeze_create(pid, &f);
		ck_assert_msg(!err, "round %zu: %s", rounds, err ? err->message : "");
		size_t n = ms_freeze_count(f);
		if (thread_only)
			ck_assert_int_eq(n, 1);
		else
			check_frozen(pid, f);
		if (n > cap) {
			cap = n * 2;
			tids = realloc(tids, cap * sizeof(*tids));
			ck_assert_ptr_nonnull(tids);
		}
		for (size_t i = 0; i < n; i++)
			tids[i] = ms_freeze_tid(f, i);
		ms_freeze_destroy(f);
		check_released(pid, tids, n);
		rounds++;
		caught += n > 8; /* main, four blocked, three churners: and one more */
	}
	free(tids);
	stop_churner(pid);
	/* enough rounds to have met threads being born and dying mid-freeze */
	ck_assert_msg(rounds >= 100, "only %zu rounds", rounds);
	ck_assert_msg(thread_only || caught > 0, "no short-lived thread caught in %zu rounds",
		      rounds);
}

START_TEST(test_freeze_under_thread_churn)
{
	hammer(false);
}
END_TEST

START_TEST(test_freeze_one_thread_under_thread_churn)
{
	hammer(true);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("freeze");
	TCase *tc = tcase_create("churn");
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_freeze_under_thread_churn);
	tcase_add_test(tc, test_freeze_one_thread_under_thread_churn);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
