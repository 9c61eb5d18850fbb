/* SPDX-License-Identifier: MIT */
#include "freeze.h"

#include <elf.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "procfs.h"
#include "grow.h"

#ifndef NT_X86_XSTATE
#define NT_X86_XSTATE 0x202
#endif

/* A stop must arrive within this long, or the thread is in uninterruptible sleep. */
#define FREEZE_STOP_TIMEOUT_NS 1000000000L
/* Listings of the threads before giving up on a process whose threads never settle. */
#define FREEZE_MAX_ROUNDS 100000

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
	/* names and states read just before the freeze began (see freeze_create) */
	struct frozen_thread *before;
	size_t nbefore;
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
	struct frozen_thread *grown =
		ms_grow(f->threads, f->count, &f->capacity, sizeof(*grown), 16);
	if (!grown)
		return NULL;
	f->threads = grown;
	struct frozen_thread *t = &f->threads[f->count++];
	memset(t, 0, sizeof(*t));
	t->tid = tid;
	return t;
}

/* What a thread is when PTRACE_SEIZE refuses it (EPERM). */
enum refusal {
	REFUSED_GONE,	/* exiting or exited: nothing to stop */
	REFUSED_OURS,	/* already traced by this thread (a clone child auto-attached) */
	REFUSED_TRACED, /* traced by another process */
	REFUSED_DENIED, /* not traced: permission, or a state that passes */
};

/*
 * Why tid was refused, from its own status (not the main thread's: that one
 * is ours once seized). The tracer shown is the tracing thread's id.
 */
static enum refusal why_refused(pid_t pid, pid_t tid, uint64_t *tracer_ret)
{
	char path[64], *status;
	uint64_t tracer = 0;
	*tracer_ret = 0;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)pid, (int)tid);
	struct ms_error *err = ms_procfs_read(path, &status, NULL);
	if (err) {
		ms_error_destroy(err);
		return REFUSED_GONE;
	}
	ms_procfs_field_u64(status, "TracerPid", &tracer);
	const char *state = strstr(status, "\nState:");
	char letter = 0;
	if (state) {
		state += strlen("\nState:");
		while (*state == ' ' || *state == '\t')
			state++;
		letter = *state;
	}
	free(status);
	*tracer_ret = tracer;
	if (tracer == (uint64_t)syscall(SYS_gettid))
		return REFUSED_OURS; /* even a zombie of ours: its exit is ours to reap */
	/* PTRACE_SEIZE refuses a thread that is exiting but not yet gone */
	if (letter == 'Z' || letter == 'X' || !letter)
		return REFUSED_GONE;
	return tracer ? REFUSED_TRACED : REFUSED_DENIED;
}

/*
 * Seize and interrupt thread t. One that cannot be found is gone, or not yet
 * fully created (listed before it can be looked up): the next listing tells.
 */
static struct ms_error *seize_thread(struct ms_freeze *f, struct frozen_thread *t)
{
	for (int attempt = 0;; attempt++) {
		if (ptrace(PTRACE_SEIZE, t->tid, 0, (void *)(long)ms_freeze_ptrace_options(f)) == 0)
			break;
		if (errno == ESRCH) {
			t->gone = true;
			return NULL;
		}
		if (errno != EPERM)
			return ms_error_errno(errno, "ptrace(PTRACE_SEIZE, %d)", (int)t->tid);
		uint64_t tracer;
		switch (why_refused(f->pid, t->tid, &tracer)) {
		case REFUSED_GONE:
			t->gone = true;
			return NULL;
		case REFUSED_OURS:
			/*
			 * Created by a thread already seized: PTRACE_O_TRACECLONE made
			 * it ours before its clone event was read. It reports a stop
			 * (or its exit) of its own.
			 */
			t->seized = true;
			return NULL;
		case REFUSED_TRACED:
			return ms_error_create(MS_ERROR_PERMISSION,
					       "process %d is already traced by process %llu",
					       (int)f->pid, (unsigned long long)tracer);
		case REFUSED_DENIED:
			/* a tracer that was just leaving, or an exit not yet shown: look twice */
			if (attempt < 2)
				continue;
			return ms_error_create(MS_ERROR_PERMISSION, "cannot trace process %d: %s",
					       (int)f->pid, strerror(EPERM));
		}
	}
	t->seized = true;
	if (ptrace(PTRACE_INTERRUPT, t->tid, 0, 0) < 0 && errno != ESRCH)
		return ms_error_errno(errno, "ptrace(PTRACE_INTERRUPT, %d)", (int)t->tid);
	return NULL;
}

/*
 * A thread's name and state: as read before the freeze began, for a thread
 * listed then (may_reuse: not an id seen gone since), else read now.
 */
static void thread_stat(const struct ms_freeze *f, pid_t tid, bool may_reuse, char name[17],
			char *state)
{
	for (size_t i = 0; may_reuse && i < f->nbefore; i++) {
		if (f->before[i].tid == tid) {
			memcpy(name, f->before[i].name, sizeof(f->before[i].name));
			*state = f->before[i].state;
			return;
		}
	}
	ms_procfs_thread_stat(f->pid, tid, name, state);
}

/*
 * Every thread's name and state, read before the clock of the freeze starts:
 * a read takes some microseconds, and made between one interrupt and the next
 * it would keep the threads stopped first waiting for the last.
 */
static void read_before(struct ms_freeze *f)
{
	pid_t *tids;
	size_t ntids;
	struct ms_error *err = ms_procfs_thread_ids(f->pid, &tids, &ntids);
	if (err) {
		ms_error_destroy(err); /* the freeze itself reports it */
		return;
	}
	f->before = calloc(ntids ? ntids : 1, sizeof(*f->before));
	for (size_t i = 0; f->before && i < ntids; i++) {
		struct frozen_thread *b = &f->before[f->nbefore++];
		b->tid = tids[i];
		ms_procfs_thread_stat(f->pid, tids[i], b->name, &b->state);
	}
	free(tids);
}

/*
 * Seize and interrupt every listed thread not yet seized; returns how many
 * threads were new (the caller lists again until none is) and how many were
 * listed.
 */
static struct ms_error *seize_new_threads(struct ms_freeze *f, size_t *new_ret, size_t *listed_ret)
{
	pid_t *tids;
	size_t ntids, fresh = 0;
	struct ms_error *err = ms_procfs_thread_ids(f->pid, &tids, &ntids);
	if (err)
		return err;
	*listed_ret = ntids;
	for (size_t i = 0; i < ntids && !err; i++) {
		pid_t tid = tids[i];
		if (f->only_tid && tid != f->only_tid)
			continue;
		struct frozen_thread *t = find_thread(f, tid);
		if (t && !t->gone)
			continue;
		char name[17] = "", state = 0;
		thread_stat(f, tid, !t, name, &state);
		if (t) {
			/*
			 * Listed again after it seemed gone: still exiting (a zombie),
			 * or alive (its id reused by a new thread, or a thread that
			 * could not be looked up yet): then it is a thread to stop.
			 */
			if (!state || state == 'Z' || state == 'X')
				continue;
			memset(t, 0, sizeof(*t));
			t->tid = tid;
		} else {
			t = add_thread(f, tid);
			if (!t) {
				err = &ms_error_no_memory;
				break;
			}
		}
		memcpy(t->name, name, sizeof(t->name));
		t->state = state;
		/*
		 * Whatever becomes of it, a thread not seen stopped before may
		 * have created others since the listing, and exited: list again.
		 */
		fresh++;
		if (state == 'Z' || state == 'X') {
			/* a thread that exited (a main thread after pthread_exit): nothing to stop */
			t->gone = true;
			continue;
		}
		err = seize_thread(f, t);
	}
	free(tids);
	*new_ret = fresh;
	return err;
}

/* The kernel's count of pid's threads (exited ones not yet reaped included). */
static bool thread_count(pid_t pid, uint64_t *count_ret)
{
	char *status;
	struct ms_error *err = ms_procfs_read_pid(pid, "status", &status, NULL);
	if (err) {
		ms_error_destroy(err);
		return false;
	}
	bool ok = ms_procfs_field_u64(status, "Threads", count_ret);
	free(status);
	return ok;
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
	bool exited = WIFEXITED(status) || WIFSIGNALED(status);
	if (!t) {
		/* A thread created under PTRACE_O_TRACECLONE: already ours. */
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/task/%d", (int)f->pid, (int)tid);
		if (exited || access(path, F_OK) != 0)
			return;
		t = add_thread(f, tid);
		if (!t)
			return;
		t->seized = true;
		ms_procfs_thread_stat(f->pid, tid, t->name, &t->state);
	}
	if (exited) {
		t->gone = true;
		return;
	}
	if (!WIFSTOPPED(status))
		return;
	if (t->gone) {
		/* Only a live thread stops: a new one with the id of one gone. */
		memset(t, 0, sizeof(*t));
		t->tid = tid;
		t->seized = true;
		ms_procfs_thread_stat(f->pid, tid, t->name, &t->state);
	}
	int event = status >> 16;
	t->stopped = true;
	t->status = status;
	if (event == PTRACE_EVENT_CLONE) {
		unsigned long child = 0;
		if (ptrace(PTRACE_GETEVENTMSG, tid, 0, &child) == 0 && child) {
			struct frozen_thread *c = find_thread(f, (pid_t)child);
			if (c && c->gone) {
				/* seen before it could be looked up, or an id reused */
				memset(c, 0, sizeof(*c));
				c->tid = (pid_t)child;
			} else if (!c) {
				c = add_thread(f, (pid_t)child);
			}
			if (c && !c->seized) {
				c->seized = true;
				ms_procfs_thread_stat(f->pid, c->tid, c->name, &c->state);
			}
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
	if (!only_tid)
		read_before(f);
	f->start = now_seconds();

	/*
	 * Until a listing shows nothing new. A listing of /proc/PID/task can
	 * end early when a thread exits under it, so one that shows nothing new
	 * is believed only if it holds as many threads as the kernel counted
	 * just before: then every thread was listed, every one is stopped (or
	 * an exited one that stays exited) and none can start another.
	 */
	struct ms_error *err;
	for (unsigned rounds = 0;; rounds++) {
		uint64_t counted = 0;
		bool have_count = !only_tid && thread_count(pid, &counted);
		size_t fresh = 0, listed = 0;
		err = seize_new_threads(f, &fresh, &listed);
		if (err)
			goto fail;
		err = wait_for_stops(f);
		if (err)
			goto fail;
		if (!fresh && (!have_count || listed >= counted))
			break;
		if (rounds >= FREEZE_MAX_ROUNDS) {
			err = ms_error_create(MS_ERROR_OTHER,
					      "the threads of process %d kept changing: "
					      "could not stop them all",
					      (int)pid);
			goto fail;
		}
	}
	free(f->before);
	f->before = NULL;
	f->nbefore = 0;
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
	free(f->before);
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
