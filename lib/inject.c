/* SPDX-License-Identifier: MIT */
#include "inject.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/user.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "pagemap.h"
#include "procfs.h"

#if !defined(__x86_64__)
#error "syscall injection is implemented for x86-64 only"
#endif

/* Newer than the C library's headers. */
#ifndef PTRACE_GET_RSEQ_CONFIGURATION
#define PTRACE_GET_RSEQ_CONFIGURATION 0x420f
#endif
#define MS_PTRACE_GET_SUD_CONFIG 0x4211

struct rseq_config {
	uint64_t rseq_abi_pointer;
	uint32_t rseq_abi_size;
	uint32_t signature;
	uint32_t flags;
	uint32_t pad;
};

struct sud_config {
	uint64_t mode;
	uint64_t selector;
	uint64_t offset;
	uint64_t len;
};

/* How long one stop may take to arrive. */
#define INJECT_WAIT_NS	 2000000000L
#define X86_64_USER_CS	 0x33
#define SYSCALL_INSN_LEN 2

enum { MAX_STASHED = 8 };

struct ms_inject {
	struct ms_freeze *freeze;
	size_t index;
	pid_t pid, tid;
	uint64_t syscall_addr;
	struct user_regs_struct saved;
	bool modified; /* registers changed: must be put back */
	int nstashed;
	int stashed_sig[MAX_STASHED];
	siginfo_t stashed_info[MAX_STASHED];
};

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* waitpid for one tracee with a deadline (SIGCHLD is blocked while frozen). */
static struct ms_error *wait_tracee(pid_t tid, int *status_ret)
{
	sigset_t chld;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	double deadline = now_seconds() + INJECT_WAIT_NS / 1e9;
	for (;;) {
		int status;
		pid_t r = waitpid(tid, &status, __WALL | WNOHANG);
		if (r == tid) {
			*status_ret = status;
			return NULL;
		}
		if (r < 0 && errno != EINTR) {
			if (errno == ECHILD)
				return ms_error_create(MS_ERROR_EXITED, "thread %d is gone",
						       (int)tid);
			return ms_error_errno(errno, "waitpid(%d)", (int)tid);
		}
		double left = deadline - now_seconds();
		if (left <= 0)
			return ms_error_create(MS_ERROR_OTHER,
					       "thread %d did not stop within %.0f s", (int)tid,
					       INJECT_WAIT_NS / 1e9);
		struct timespec ts = {.tv_sec = 0, .tv_nsec = 5000000L};
		sigtimedwait(&chld, NULL, &ts);
	}
}

struct ms_error *ms_inject_find_syscall(pid_t pid, const struct ms_maps *maps, uint64_t *addr_ret)
{
	struct ms_maps *own = NULL;
	struct ms_error *err;
	if (!maps) {
		err = ms_maps_read_pid(pid, MS_MAPS_BASIC, &own);
		if (err)
			return err;
		maps = own;
	}
	size_t page = ms_page_size();
	uint8_t *buf = malloc(page);
	char path[64], pm_path[64];
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	snprintf(pm_path, sizeof(pm_path), "/proc/%d/pagemap", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	int pm = open(pm_path, O_RDONLY | O_CLOEXEC);
	err = NULL;
	if (!buf || fd < 0 || pm < 0) {
		err = buf ? ms_error_errno(errno, "%s", fd < 0 ? path : pm_path)
			  : &ms_error_no_memory;
		goto out;
	}
	/*
	 * Pass 0: the vDSO; pass 1: any other executable, readable mapping.
	 * Only pages already present: reading (or later running) one that is
	 * not would map it into the target, a change it could see.
	 */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t v = 0; v < maps->count; v++) {
			const struct ms_vma *vma = &maps->vmas[v];
			if ((vma->kind == MS_VMA_VDSO) != (pass == 0))
				continue;
			if (!(vma->prot & MS_PROT_EXEC) || !(vma->prot & MS_PROT_READ))
				continue;
			for (uint64_t a = vma->start; a < vma->end; a += page) {
				uint64_t entry = 0;
				if (pread(pm, &entry, sizeof(entry), (off_t)(a / page * 8)) !=
					    (ssize_t)sizeof(entry) ||
				    !(entry & MS_PM_PRESENT))
					continue;
				if (pread(fd, buf, page, (off_t)a) != (ssize_t)page)
					continue;
				for (size_t k = 0; k + 1 < page; k++) {
					if (buf[k] == 0x0f && buf[k + 1] == 0x05) {
						*addr_ret = a + k;
						goto out;
					}
				}
			}
		}
	}
	err = ms_error_create(MS_ERROR_NOT_FOUND,
			      "no syscall instruction found in process %d's code", (int)pid);
out:
	free(buf);
	if (fd >= 0)
		close(fd);
	if (pm >= 0)
		close(pm);
	ms_maps_destroy(own);
	return err;
}

/* Through /proc/PID/mem: pinning (process_vm_readv) may copy a shared page. */
static bool read_memory(pid_t pid, uint64_t addr, void *out, size_t len)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return false;
	bool ok = pread(fd, out, len, (off_t)addr) == (ssize_t)len;
	close(fd);
	return ok;
}

bool ms_inject_thread_ok(struct ms_freeze *f, size_t i, char *why, size_t why_len)
{
	char dummy[8];
	if (!why) {
		why = dummy;
		why_len = sizeof(dummy);
	}
	pid_t pid = ms_freeze_pid(f), tid = ms_freeze_tid(f, i);
	int sig = ms_freeze_pending_signal(f, i);
	if (sig) {
		snprintf(why, why_len, "thread %d is taking signal %d", (int)tid, sig);
		return false;
	}
	char state = ms_freeze_state(f, i);
	if (state == 'T' || state == 't') {
		snprintf(why, why_len, "thread %d is stopped (job control)", (int)tid);
		return false;
	}
	int status = ms_freeze_status(f, i);
	/* a group-stop seen by a seizing tracer is an event stop too, by its own signal */
	if (!WIFSTOPPED(status) || (status >> 16) != PTRACE_EVENT_STOP ||
	    WSTOPSIG(status) != SIGTRAP) {
		snprintf(why, why_len, "thread %d is not in an interrupt stop", (int)tid);
		return false;
	}
	struct user_regs_struct regs;
	if (ptrace(PTRACE_GETREGS, tid, 0, &regs) < 0) {
		snprintf(why, why_len, "cannot read thread %d's registers: %s", (int)tid,
			 strerror(errno));
		return false;
	}
	if (regs.cs != X86_64_USER_CS) {
		snprintf(why, why_len, "thread %d runs 32-bit code", (int)tid);
		return false;
	}
	char path[64], *text;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)pid, (int)tid);
	struct ms_error *rerr = ms_procfs_read(path, &text, NULL);
	bool read = !rerr;
	ms_error_destroy(rerr);
	if (read) {
		uint64_t mode = 0;
		bool has = ms_procfs_field_u64(text, "Seccomp", &mode);
		free(text);
		if (has && mode) {
			snprintf(why, why_len, "thread %d has a seccomp %s", (int)tid,
				 mode == 1 ? "strict mode" : "filter");
			return false;
		}
	}
	struct sud_config sud;
	if (ptrace((enum __ptrace_request)MS_PTRACE_GET_SUD_CONFIG, tid, (void *)sizeof(sud),
		   &sud) == 0 &&
	    sud.mode) {
		snprintf(why, why_len, "thread %d uses syscall user dispatch", (int)tid);
		return false;
	}
	struct rseq_config rc;
	if (ptrace((enum __ptrace_request)PTRACE_GET_RSEQ_CONFIGURATION, tid, (void *)sizeof(rc),
		   &rc) > 0 &&
	    rc.rseq_abi_pointer) {
		/* struct rseq: cpu_id_start, cpu_id, then the rseq_cs pointer at 8 */
		uint64_t cs = 0, desc[4];
		if (read_memory(pid, rc.rseq_abi_pointer + 8, &cs, sizeof(cs)) && cs &&
		    read_memory(pid, cs, desc, sizeof(desc))) {
			/* struct rseq_cs: version+flags, start_ip, post_commit_offset, abort_ip */
			if (regs.rip - desc[1] < desc[2]) {
				snprintf(why, why_len, "thread %d is in a restartable sequence",
					 (int)tid);
				return false;
			}
		}
	}
	return true;
}

bool ms_inject_pick_thread(struct ms_freeze *f, size_t *index_ret, char *why, size_t why_len)
{
	size_t n = ms_freeze_count(f);
	bool found = false;
	char first_why[256] = "";
	for (size_t i = 0; i < n; i++) {
		char reason[256];
		if (!ms_inject_thread_ok(f, i, reason, sizeof(reason))) {
			if (!first_why[0])
				snprintf(first_why, sizeof(first_why), "%s", reason);
			/* a process-wide refusal holds for every thread */
			if (strstr(reason, "seccomp") || strstr(reason, "32-bit"))
				break;
			continue;
		}
		struct user_regs_struct regs;
		bool in_syscall = ptrace(PTRACE_GETREGS, ms_freeze_tid(f, i), 0, &regs) == 0 &&
				  (int64_t)regs.orig_rax >= 0;
		if (!found || in_syscall) {
			*index_ret = i;
			found = true;
		}
		if (in_syscall)
			return true;
	}
	if (!found && why)
		snprintf(why, why_len, "%s", first_why[0] ? first_why : "no thread to use");
	return found;
}

struct ms_error *ms_inject_begin(struct ms_freeze *f, size_t i, uint64_t syscall_addr,
				 struct ms_inject **inject_ret)
{
	struct ms_inject *inj = calloc(1, sizeof(*inj));
	if (!inj)
		return &ms_error_no_memory;
	inj->freeze = f;
	inj->index = i;
	inj->pid = ms_freeze_pid(f);
	inj->tid = ms_freeze_tid(f, i);
	inj->syscall_addr = syscall_addr;
	if (ptrace(PTRACE_GETREGS, inj->tid, 0, &inj->saved) < 0) {
		struct ms_error *err =
			ms_error_errno(errno, "ptrace(PTRACE_GETREGS, %d)", (int)inj->tid);
		free(inj);
		return err;
	}
	*inject_ret = inj;
	return NULL;
}

/* A signal arrived while the thread ran for us: keep it to send again at the end. */
static void stash_signal(struct ms_inject *inj, int sig)
{
	if (inj->nstashed >= MAX_STASHED)
		return;
	siginfo_t info;
	memset(&info, 0, sizeof(info));
	if (ptrace(PTRACE_GETSIGINFO, inj->tid, 0, &info) < 0) {
		info.si_signo = sig;
		info.si_code = SI_TKILL;
	}
	inj->stashed_sig[inj->nstashed] = sig;
	inj->stashed_info[inj->nstashed] = info;
	inj->nstashed++;
}

/*
 * Resume with `request` until the thread reaches the next syscall stop (or,
 * with want_event_stop, an interrupt stop), stepping over whatever else
 * happens meanwhile: signals are stashed, new processes recorded.
 */
struct meanwhile {
	ms_inject_meanwhile_fn *fn;
	void *arg;
	struct ms_error *err;
};

static struct ms_error *run_until(struct ms_inject *inj, int request, bool want_event_stop,
				  pid_t *child_ret, struct meanwhile *meanwhile)
{
	int sig = 0;
	for (int rounds = 0; rounds < 64; rounds++) {
		if (ptrace((enum __ptrace_request)request, inj->tid, 0, (void *)(long)sig) < 0)
			return ms_error_errno(errno, "ptrace(%d, %d)", request, (int)inj->tid);
		sig = 0;
		if (meanwhile && meanwhile->fn) {
			meanwhile->err = meanwhile->fn(meanwhile->arg);
			meanwhile->fn = NULL;
		}
		int status;
		struct ms_error *err = wait_tracee(inj->tid, &status);
		if (err)
			return err;
		if (WIFEXITED(status) || WIFSIGNALED(status))
			return ms_error_create(MS_ERROR_EXITED, "thread %d of process %d exited",
					       (int)inj->tid, (int)inj->pid);
		if (!WIFSTOPPED(status))
			continue;
		int stopsig = WSTOPSIG(status), event = status >> 16;
		if (stopsig == (SIGTRAP | 0x80)) {
			if (!want_event_stop)
				return NULL;
			continue;
		}
		switch (event) {
		case 0:
			/* a signal-delivery-stop: suppress now, send again at the end */
			stash_signal(inj, stopsig);
			break;
		case PTRACE_EVENT_STOP:
			if (want_event_stop && stopsig == SIGTRAP)
				return NULL;
			break;
		case PTRACE_EVENT_CLONE:
		case PTRACE_EVENT_FORK:
		case PTRACE_EVENT_VFORK: {
			unsigned long child = 0;
			if (ptrace(PTRACE_GETEVENTMSG, inj->tid, 0, &child) == 0 && child_ret)
				*child_ret = (pid_t)child;
			break;
		}
		case PTRACE_EVENT_EXIT:
			return ms_error_create(MS_ERROR_EXITED, "process %d is exiting",
					       (int)inj->pid);
		default:
			break;
		}
	}
	return ms_error_create(MS_ERROR_OTHER, "thread %d did not reach the expected stop",
			       (int)inj->tid);
}

void ms_inject_kill_child(pid_t child)
{
	kill(child, SIGKILL);
	for (;;) {
		int status;
		pid_t r = waitpid(child, &status, __WALL);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || WIFEXITED(status) || WIFSIGNALED(status))
			break;
	}
}

struct ms_error *ms_inject_hold_child(pid_t child)
{
	int status;
	struct ms_error *err = wait_tracee(child, &status);
	if (err) {
		ms_inject_kill_child(child);
		return err;
	}
	if (!WIFSTOPPED(status))
		return ms_error_create(MS_ERROR_EXITED, "the new process %d died at once",
				       (int)child);
	if (ptrace(PTRACE_SETOPTIONS, child, 0, (void *)(long)PTRACE_O_EXITKILL) < 0) {
		int saved = errno;
		ms_inject_kill_child(child);
		return ms_error_errno(saved, "ptrace(PTRACE_SETOPTIONS, %d)", (int)child);
	}
	return NULL;
}

struct ms_error *ms_inject_syscall(struct ms_inject *inj, long nr, const uint64_t args[6],
				   int64_t *ret_ret, pid_t *child_ret)
{
	return ms_inject_syscall_meanwhile(inj, nr, args, ret_ret, child_ret, NULL, NULL);
}

struct ms_error *ms_inject_syscall_meanwhile(struct ms_inject *inj, long nr, const uint64_t args[6],
					     int64_t *ret_ret, pid_t *child_ret,
					     ms_inject_meanwhile_fn *fn, void *arg)
{
	struct meanwhile meanwhile = {.fn = fn, .arg = arg};
	if (child_ret)
		*child_ret = 0;
	long opts = PTRACE_O_TRACESYSGOOD | PTRACE_O_TRACECLONE | PTRACE_O_TRACEFORK |
		    PTRACE_O_TRACEVFORK;
	if (ptrace(PTRACE_SETOPTIONS, inj->tid, 0, (void *)opts) < 0)
		return ms_error_errno(errno, "ptrace(PTRACE_SETOPTIONS, %d)", (int)inj->tid);
	struct user_regs_struct regs = inj->saved;
	regs.rip = inj->syscall_addr;
	regs.rax = (unsigned long long)nr;
	/* -1: the kernel must not treat this as an interrupted call to restart */
	regs.orig_rax = ~0ULL;
	regs.rdi = args[0];
	regs.rsi = args[1];
	regs.rdx = args[2];
	regs.r10 = args[3];
	regs.r8 = args[4];
	regs.r9 = args[5];
	inj->modified = true;
	if (ptrace(PTRACE_SETREGS, inj->tid, 0, &regs) < 0)
		return ms_error_errno(errno, "ptrace(PTRACE_SETREGS, %d)", (int)inj->tid);

	pid_t child = 0;
	struct ms_error *err = run_until(inj, PTRACE_SYSCALL, false, &child, NULL);
	if (err)
		goto out;
	struct user_regs_struct at;
	if (ptrace(PTRACE_GETREGS, inj->tid, 0, &at) < 0) {
		err = ms_error_errno(errno, "ptrace(PTRACE_GETREGS, %d)", (int)inj->tid);
		goto out;
	}
	if (at.orig_rax != (unsigned long long)nr ||
	    at.rip != inj->syscall_addr + SYSCALL_INSN_LEN) {
		err = ms_error_create(
			MS_ERROR_OTHER, "thread %d entered system call %lld at 0x%llx, not %ld",
			(int)inj->tid, (long long)at.orig_rax, (unsigned long long)at.rip, nr);
		goto out;
	}
	err = run_until(inj, PTRACE_SYSCALL, false, &child, &meanwhile);
	if (!err) {
		err = meanwhile.err;
		meanwhile.err = NULL;
	}
	if (err)
		goto out;
	if (ptrace(PTRACE_GETREGS, inj->tid, 0, &at) < 0) {
		err = ms_error_errno(errno, "ptrace(PTRACE_GETREGS, %d)", (int)inj->tid);
		goto out;
	}
	*ret_ret = (int64_t)at.rax;
out:
	ms_error_destroy(meanwhile.err);
	if (child && (err || !child_ret)) {
		/* not wanted: it dies before running anything (a zombie of the target's) */
		ms_inject_kill_child(child);
	}
	if (child_ret)
		*child_ret = child;
	return err;
}

struct ms_error *ms_inject_end(struct ms_inject *inj)
{
	if (!inj)
		return NULL;
	struct ms_error *err = NULL;
	if (inj->modified) {
		/*
		 * Bring the thread back into an interrupt-stop inside the kernel's
		 * signal handling, the very place the freeze stopped it: with the
		 * original registers set there, an interrupted system call is
		 * restarted by the kernel itself when the thread resumes.
		 */
		if (ptrace(PTRACE_INTERRUPT, inj->tid, 0, 0) < 0 && errno != ESRCH)
			err = ms_error_errno(errno, "ptrace(PTRACE_INTERRUPT, %d)", (int)inj->tid);
		if (!err)
			err = run_until(inj, PTRACE_CONT, true, NULL, NULL);
		if (!err && ptrace(PTRACE_SETREGS, inj->tid, 0, &inj->saved) < 0)
			err = ms_error_errno(errno, "ptrace(PTRACE_SETREGS, %d)", (int)inj->tid);
	}
	ptrace(PTRACE_SETOPTIONS, inj->tid, 0, (void *)(long)ms_freeze_ptrace_options(inj->freeze));
	for (int k = 0; k < inj->nstashed; k++) {
		/* the original siginfo where the kernel allows it, else a plain tgkill */
		if (syscall(SYS_rt_tgsigqueueinfo, inj->pid, inj->tid, inj->stashed_sig[k],
			    &inj->stashed_info[k]) < 0)
			syscall(SYS_tgkill, inj->pid, inj->tid, inj->stashed_sig[k]);
	}
	free(inj);
	return err;
}

struct ms_error *ms_inject_call(struct ms_freeze *freeze, size_t i, uint64_t syscall_addr, long nr,
				const uint64_t args[6], int64_t *ret_ret, pid_t *child_ret)
{
	struct ms_inject *inj;
	struct ms_error *err = ms_inject_begin(freeze, i, syscall_addr, &inj);
	if (err)
		return err;
	err = ms_inject_syscall(inj, nr, args, ret_ret, child_ret);
	struct ms_error *end = ms_inject_end(inj);
	if (end && !err)
		return end;
	ms_error_destroy(end);
	return err;
}
