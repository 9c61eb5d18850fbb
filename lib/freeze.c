/* SPDX-License-Identifier: MIT */
#include "freeze.h"

#include <elf.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "procfs.h"

#ifndef NT_X86_XSTATE
#define NT_X86_XSTATE 0x202
#endif

/* A stop must arrive within this long, or the thread is in uninterruptible sleep. */
#define FREEZE_STOP_TIMEOUT_NS 1000000000L

struct frozen_thread {
	pid_t tid;
	bool seized;
	bool stopped;
	bool gone;
	bool detached;	 /* let go early by ms_freeze_release_others() */
	int status;	 /* waitpid status of the stop */
	int pending_sig; /* a signal caught in signal-delivery-stop, re-sent on release */
	char state;	 /* from /proc before the freeze */
	char name[17];
};

struct ms_freeze {
	pid_t pid;
	struct frozen_thread *threads;
	size_t count, capacity;
	bool released;
	pid_t only_tid; /* ms_freeze_create_thread: seize only this thread */
	double start, end;
	sigset_t saved_mask;
};

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct frozen_thread *find_thread(struct ms_freeze *f, pid_t tid)
{
	for (size_t i = 0; i < f->count; i++)
		if (f->threads[i].tid == tid)
			return &f->threads[i];
	return NULL;
}

static struct frozen_thread *add_thread(struct ms_freeze *f, pid_t tid)
{
	if (f->count == f->capacity) {
		size_t cap = f->capacity ? f->capacity * 2 : 16;
		struct frozen_thread *t = realloc(f->threads, cap * sizeof(*t));
		if (!t)
			return NULL;
		f->threads = t;
		f->capacity = cap;
	}
	struct frozen_thread *t = &f->threads[f->count++];
	memset(t, 0, sizeof(*t));
	t->tid = tid;
	return t;
}

/* Whether tid's tracer is this process (a clone child auto-attached). */
static bool thread_traced_by_us(pid_t pid, pid_t tid)
{
	char path[64], *status;
	uint64_t tracer = 0;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)pid, (int)tid);
	struct ms_error *err = ms_procfs_read(path, &status, NULL);
	if (err) {
		ms_error_destroy(err);
		return false;
	}
	ms_procfs_field_u64(status, "TracerPid", &tracer);
	free(status);
	return tracer == (uint64_t)getpid();
}

/* Seize and interrupt every listed thread not yet seized; returns how many were new. */
static struct ms_error *seize_new_threads(struct ms_freeze *f, size_t *new_ret)
{
	pid_t *tids;
	size_t ntids, fresh = 0;
	struct ms_error *err = ms_procfs_thread_ids(f->pid, &tids, &ntids);
	if (err)
		return err;
	for (size_t i = 0; i < ntids; i++) {
		pid_t tid = tids[i];
		if (find_thread(f, tid))
			continue;
		if (f->only_tid && tid != f->only_tid)
			continue;
		struct frozen_thread *t = add_thread(f, tid);
		if (!t) {
			err = &ms_error_no_memory;
			break;
		}
		ms_procfs_thread_stat(f->pid, tid, t->name, &t->state);
		if (t->state == 'Z' || t->state == 'X') {
			/* a thread that exited (a main thread after pthread_exit): nothing to stop */
			t->gone = true;
			continue;
		}
		if (ptrace(PTRACE_SEIZE, tid, 0, (void *)(long)ms_freeze_ptrace_options(f)) < 0) {
			if (errno == ESRCH) {
				t->gone = true;
				continue;
			}
			int saved = errno;
			if (saved == EPERM && thread_traced_by_us(f->pid, tid)) {
				/*
				 * A thread just cloned by one already seized: PTRACE_O_TRACECLONE
				 * made it ours before its clone event was read. It reports a
				 * stop of its own.
				 */
				t->seized = true;
				fresh++;
				continue;
			}
			if (saved == EPERM) {
				char *status;
				uint64_t tracer = 0;
				struct ms_error *serr =
					ms_procfs_read_pid(f->pid, "status", &status, NULL);
				if (!serr) {
					ms_procfs_field_u64(status, "TracerPid", &tracer);
					free(status);
				}
				ms_error_destroy(serr);
				if (tracer)
					err = ms_error_create(
						MS_ERROR_PERMISSION,
						"process %d is already traced by process %llu",
						(int)f->pid, (unsigned long long)tracer);
				else
					err = ms_error_create(MS_ERROR_PERMISSION,
							      "cannot trace process %d: %s",
							      (int)f->pid, strerror(saved));
			} else {
				err = ms_error_errno(saved, "ptrace(PTRACE_SEIZE, %d)", (int)tid);
			}
			break;
		}
		t->seized = true;
		if (ptrace(PTRACE_INTERRUPT, tid, 0, 0) < 0 && errno != ESRCH) {
			err = ms_error_errno(errno, "ptrace(PTRACE_INTERRUPT, %d)", (int)tid);
			break;
		}
		fresh++;
	}
	free(tids);
	*new_ret = fresh;
	return err;
}

static bool all_stopped(const struct ms_freeze *f)
{
	for (size_t i = 0; i < f->count; i++)
		if (f->threads[i].seized && !f->threads[i].stopped && !f->threads[i].gone)
			return false;
	return true;
}

/* Take one wait event for any tracee. */
static void handle_event(struct ms_freeze *f, pid_t tid, int status)
{
	struct frozen_thread *t = find_thread(f, tid);
	if (!t) {
		/* A thread created under PTRACE_O_TRACECLONE: already ours. */
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/task/%d", (int)f->pid, (int)tid);
		if (access(path, F_OK) != 0)
			return;
		t = add_thread(f, tid);
		if (!t)
			return;
		t->seized = true;
		ms_procfs_thread_stat(f->pid, tid, t->name, &t->state);
	}
	if (WIFEXITED(status) || WIFSIGNALED(status)) {
		t->gone = true;
		return;
	}
	if (!WIFSTOPPED(status))
		return;
	int event = status >> 16;
	t->stopped = true;
	t->status = status;
	if (event == PTRACE_EVENT_CLONE) {
		unsigned long child = 0;
		if (ptrace(PTRACE_GETEVENTMSG, tid, 0, &child) == 0 && child &&
		    !find_thread(f, (pid_t)child)) {
			struct frozen_thread *c = add_thread(f, (pid_t)child);
			if (c)
				c->seized = true;
		}
	} else if (event == 0) {
		/* signal-delivery-stop: the signal is ours to re-deliver */
		t->pending_sig = WSTOPSIG(status);
	}
}

static struct ms_error *wait_for_stops(struct ms_freeze *f)
{
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	double deadline = now_seconds() + FREEZE_STOP_TIMEOUT_NS / 1e9;
	while (!all_stopped(f)) {
		int status;
		pid_t tid = waitpid(-1, &status, __WALL | WNOHANG);
		if (tid > 0) {
			handle_event(f, tid, status);
			continue;
		}
		if (tid < 0 && errno != EINTR && errno != ECHILD)
			return ms_error_errno(errno, "waitpid");
		double left = deadline - now_seconds();
		if (left <= 0)
			break;
		struct timespec ts = {.tv_sec = 0,
				      .tv_nsec = left > 0.01 ? 10000000L : (long)(left * 1e9)};
		sigtimedwait(&chld, NULL, &ts);
	}
	for (size_t i = 0; i < f->count; i++) {
		struct frozen_thread *t = &f->threads[i];
		if (t->seized && !t->stopped && !t->gone) {
			char path[64];
			snprintf(path, sizeof(path), "/proc/%d/task/%d", (int)f->pid, (int)t->tid);
			if (access(path, F_OK) != 0) {
				t->gone = true;
				continue;
			}
			return ms_error_create(MS_ERROR_OTHER,
					       "thread %d of process %d did not stop within a "
					       "second (uninterruptible sleep?)",
					       (int)t->tid, (int)f->pid);
		}
	}
	return NULL;
}

static struct ms_error *freeze_create(pid_t pid, pid_t only_tid, struct ms_freeze **freeze_ret);

struct ms_error *ms_freeze_create(pid_t pid, struct ms_freeze **freeze_ret)
{
	return freeze_create(pid, 0, freeze_ret);
}

/* A live (not zombie) thread of pid, the main thread preferred; 0 if none. */
static pid_t pick_live_thread(pid_t pid)
{
	pid_t *tids, best = 0;
	size_t n;
	struct ms_error *err = ms_procfs_thread_ids(pid, &tids, &n);
	if (err) {
		ms_error_destroy(err);
		return 0;
	}
	for (size_t i = 0; i < n && best != pid; i++) {
		char name[17], state = 0;
		ms_procfs_thread_stat(pid, tids[i], name, &state);
		if (!state || state == 'Z' || state == 'X')
			continue;
		if (!best || tids[i] == pid)
			best = tids[i];
	}
	free(tids);
	return best;
}

struct ms_error *ms_freeze_create_thread(pid_t pid, pid_t tid, struct ms_freeze **freeze_ret)
{
	if (!tid)
		tid = pick_live_thread(pid);
	if (!tid)
		return ms_error_create(MS_ERROR_EXITED, "process %d has no live thread", (int)pid);
	return freeze_create(pid, tid, freeze_ret);
}

static struct ms_error *freeze_create(pid_t pid, pid_t only_tid, struct ms_freeze **freeze_ret)
{
	struct ms_freeze *f = calloc(1, sizeof(*f));
	if (!f)
		return &ms_error_no_memory;
	f->pid = pid;
	f->only_tid = only_tid;

	/* Hold back interrupting signals (and SIGCHLD, which we wait for) while frozen. */
	sigset_t block;
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGQUIT);
	sigaddset(&block, SIGCHLD);
	sigprocmask(SIG_BLOCK, &block, &f->saved_mask);
	f->start = now_seconds();

	struct ms_error *err;
	for (;;) {
		size_t fresh = 0;
		err = seize_new_threads(f, &fresh);
		if (err)
			goto fail;
		err = wait_for_stops(f);
		if (err)
			goto fail;
		if (!fresh)
			break;
	}
	size_t live = 0;
	for (size_t i = 0; i < f->count; i++)
		live += f->threads[i].stopped && !f->threads[i].gone;
	if (!live) {
		err = ms_error_create(MS_ERROR_EXITED, "process %d exited", (int)pid);
		goto fail;
	}
	/* Keep only stopped threads, main thread first. */
	size_t n = 0;
	for (size_t i = 0; i < f->count; i++)
		if (f->threads[i].stopped && !f->threads[i].gone)
			f->threads[n++] = f->threads[i];
	f->count = n;
	for (size_t i = 1; i < f->count; i++) {
		if (f->threads[i].tid == pid) {
			struct frozen_thread tmp = f->threads[0];
			f->threads[0] = f->threads[i];
			f->threads[i] = tmp;
		}
	}
	*freeze_ret = f;
	return NULL;
fail:
	ms_freeze_destroy(f);
	return err;
}

void ms_freeze_release(struct ms_freeze *f)
{
	if (!f || f->released)
		return;
	for (size_t i = 0; i < f->count; i++) {
		struct frozen_thread *t = &f->threads[i];
		if (!t->seized || t->gone || t->detached)
			continue;
		if (t->stopped) {
			ptrace(PTRACE_DETACH, t->tid, 0, (void *)(long)t->pending_sig);
			continue;
		}
		/*
		 * Seized but its stop never came: it will stop when it wakes, so
		 * wait for that a little longer and let it go. If it never comes,
		 * the kernel detaches it when memscope exits.
		 */
		int status;
		for (int tries = 0; tries < 100; tries++) {
			pid_t r = waitpid(t->tid, &status, __WALL | WNOHANG);
			if (r == t->tid) {
				if (WIFSTOPPED(status)) {
					int sig = (status >> 16) == 0 ? WSTOPSIG(status) : 0;
					ptrace(PTRACE_DETACH, t->tid, 0, (void *)(long)sig);
				}
				break;
			}
			if (r < 0)
				break;
			struct timespec ts = {.tv_sec = 0, .tv_nsec = 10000000L};
			nanosleep(&ts, NULL);
		}
	}
	f->released = true;
	f->end = now_seconds();
	/* Reap nothing else: SIGCHLD stays pending for our own children, if any. */
	sigprocmask(SIG_SETMASK, &f->saved_mask, NULL);
}

void ms_freeze_release_others(struct ms_freeze *f, size_t keep)
{
	if (!f || f->released)
		return;
	for (size_t i = 0; i < f->count; i++) {
		struct frozen_thread *t = &f->threads[i];
		if (i == keep || !t->seized || t->gone || !t->stopped || t->detached)
			continue;
		ptrace(PTRACE_DETACH, t->tid, 0, (void *)(long)t->pending_sig);
		t->detached = true;
	}
}

void ms_freeze_destroy(struct ms_freeze *f)
{
	if (!f)
		return;
	ms_freeze_release(f);
	free(f->threads);
	free(f);
}

size_t ms_freeze_count(const struct ms_freeze *f)
{
	return f->count;
}

pid_t ms_freeze_tid(const struct ms_freeze *f, size_t i)
{
	return f->threads[i].tid;
}

int ms_freeze_status(const struct ms_freeze *f, size_t i)
{
	return f->threads[i].status;
}

int ms_freeze_pending_signal(const struct ms_freeze *f, size_t i)
{
	return f->threads[i].pending_sig;
}

char ms_freeze_state(const struct ms_freeze *f, size_t i)
{
	return f->threads[i].state;
}

unsigned ms_freeze_ptrace_options(const struct ms_freeze *f)
{
	/* One thread alone need not follow thread creation: nothing else is stopped. */
	return f->only_tid ? 0 : PTRACE_O_TRACECLONE;
}

pid_t ms_freeze_pid(const struct ms_freeze *f)
{
	return f->pid;
}

bool ms_freeze_interrupt_pending(void)
{
	sigset_t pending;
	if (sigpending(&pending) != 0)
		return false;
	return sigismember(&pending, SIGINT) == 1 || sigismember(&pending, SIGTERM) == 1 ||
	       sigismember(&pending, SIGHUP) == 1 || sigismember(&pending, SIGQUIT) == 1;
}

double ms_freeze_seconds(const struct ms_freeze *f)
{
	return (f->released ? f->end : now_seconds()) - f->start;
}

static uint64_t parse_sigmask(const char *status, const char *key)
{
	const char *p = strstr(status, key);
	if (!p)
		return 0;
	return strtoull(p + strlen(key), NULL, 16);
}

struct ms_error *ms_freeze_capture(struct ms_freeze *f, size_t i, unsigned what,
				   struct ms_thread *thread)
{
	const struct frozen_thread *t = &f->threads[i];
	memset(thread, 0, sizeof(*thread));
	thread->tid = t->tid;
	memcpy(thread->name, t->name, sizeof(thread->name));
	thread->state = t->state;
	if (what & MS_CAPTURE_REGS) {
		if (ptrace(PTRACE_GETREGS, t->tid, 0, &thread->regs) < 0)
			return ms_error_errno(errno, "ptrace(PTRACE_GETREGS, %d)", (int)t->tid);
		thread->has_regs = true;
	}
	if ((what & MS_CAPTURE_FPREGS) && !(what & MS_CAPTURE_FPU)) {
		if (ptrace(PTRACE_GETFPREGS, t->tid, 0, &thread->fpregs) == 0)
			thread->has_fpregs = true;
	}
	if (what & MS_CAPTURE_FPU) {
		if (ptrace(PTRACE_GETFPREGS, t->tid, 0, &thread->fpregs) == 0)
			thread->has_fpregs = true;
		/* The XSAVE area is a few KiB; its size depends on the CPU. */
		size_t cap = 1 << 14;
		void *buf = malloc(cap);
		if (!buf)
			return &ms_error_no_memory;
		struct iovec iov = {.iov_base = buf, .iov_len = cap};
		if (ptrace(PTRACE_GETREGSET, t->tid, (void *)(long)NT_X86_XSTATE, &iov) == 0) {
			void *exact = realloc(buf, iov.iov_len);
			thread->xstate = exact ? exact : buf;
			thread->xstate_size = iov.iov_len;
		} else {
			free(buf);
		}
	}
	if (what & MS_CAPTURE_SIGNALS) {
		if (t->pending_sig && ptrace(PTRACE_GETSIGINFO, t->tid, 0, &thread->siginfo) == 0) {
			thread->has_siginfo = true;
			thread->cursig = t->pending_sig;
		}
		char path[64], *status;
		snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)f->pid, (int)t->tid);
		struct ms_error *serr = ms_procfs_read(path, &status, NULL);
		if (!serr) {
			thread->sigpend = parse_sigmask(status, "\nSigPnd:");
			thread->sighold = parse_sigmask(status, "\nSigBlk:");
			free(status);
		}
		ms_error_destroy(serr);
	}
	return NULL;
}

struct ms_error *ms_freeze_capture_all(struct ms_freeze *f, unsigned what,
				       struct ms_thread_list **list_ret)
{
	struct ms_thread_list *list = calloc(1, sizeof(*list));
	if (!list)
		return &ms_error_no_memory;
	list->threads = calloc(f->count ? f->count : 1, sizeof(*list->threads));
	if (!list->threads) {
		free(list);
		return &ms_error_no_memory;
	}
	for (size_t i = 0; i < f->count; i++) {
		struct ms_error *err = ms_freeze_capture(f, i, what, &list->threads[list->count]);
		if (err) {
			ms_thread_list_destroy(list);
			return err;
		}
		list->count++;
	}
	*list_ret = list;
	return NULL;
}
