/* SPDX-License-Identifier: MIT */
/*
 * Freezing a live process: every thread held in a ptrace interrupt-stop
 * (PTRACE_SEIZE + PTRACE_INTERRUPT), racing thread creation correctly, so
 * that registers and memory can be copied consistently; then released
 * exactly as found, with any signal that arrived meanwhile re-delivered.
 * What to do while frozen (copy stacks, inject a fork) is the caller's.
 *
 * Safety: a ptrace interrupt-stop ends when the tracer goes away, so even a
 * SIGKILLed memscope leaves the target running. SIGINT/SIGTERM/SIGHUP are
 * held back while frozen and act after the release.
 */
#ifndef MEMSCOPE_FREEZE_H
#define MEMSCOPE_FREEZE_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "error.h"
#include "target.h"

struct ms_freeze;

/*
 * Stop every thread of pid. Threads that exit meanwhile are dropped; threads
 * created meanwhile are caught (PTRACE_O_TRACECLONE). Fails if the process
 * cannot be traced (permission, already traced) or a thread does not stop
 * within a second (uninterruptible sleep), releasing whatever it stopped.
 */
struct ms_error *ms_freeze_create(pid_t pid, struct ms_freeze **freeze_ret);
/*
 * Stop one thread of pid only (tid, or if tid is 0 the first live thread,
 * the main thread preferred): enough to run an injected system call while the
 * other threads keep running. Same guarantees as ms_freeze_create otherwise.
 */
struct ms_error *ms_freeze_create_thread(pid_t pid, pid_t tid, struct ms_freeze **freeze_ret);
/* Release (if not yet) and free. Accepts NULL. */
void ms_freeze_destroy(struct ms_freeze *freeze);
/* Let every thread run again, exactly as before. Idempotent. */
void ms_freeze_release(struct ms_freeze *freeze);
/*
 * Let every thread but thread keep run again now (the rest at
 * ms_freeze_release): the others need not wait while an injector puts that
 * one back. Signals stay held back until ms_freeze_release.
 */
void ms_freeze_release_others(struct ms_freeze *freeze, size_t keep);

size_t ms_freeze_count(const struct ms_freeze *freeze);
pid_t ms_freeze_tid(const struct ms_freeze *freeze, size_t i);
/* The stop status of thread i as waitpid() gave it (for injectors). */
int ms_freeze_status(const struct ms_freeze *freeze, size_t i);
/*
 * The signal thread i was about to receive when it stopped (re-delivered on
 * release), or 0. A thread with one is in a signal-delivery-stop, not an
 * interrupt-stop: injectors leave it alone.
 */
int ms_freeze_pending_signal(const struct ms_freeze *freeze, size_t i);
/* The thread's state letter from /proc just before the freeze ('S', 'R', ...). */
char ms_freeze_state(const struct ms_freeze *freeze, size_t i);
/* The PTRACE_O_* options the threads were seized with (to restore after changing them). */
unsigned ms_freeze_ptrace_options(const struct ms_freeze *freeze);
/* The process id the freeze is about. */
pid_t ms_freeze_pid(const struct ms_freeze *freeze);

enum ms_capture {
	MS_CAPTURE_REGS = 1 << 0,    /* general registers */
	MS_CAPTURE_FPU = 1 << 1,     /* FPU registers and the XSAVE area */
	MS_CAPTURE_SIGNALS = 1 << 2, /* siginfo, pending and blocked masks */
	MS_CAPTURE_ALL = 7,
	/* Only the legacy FPU/SSE area (PTRACE_GETFPREGS): x87 and xmm0-15,
	 * one system call, without the XSAVE area of MS_CAPTURE_FPU. */
	MS_CAPTURE_FPREGS = 1 << 3,
};

/*
 * Copy thread i's id, name and state (as seen just before the freeze) and
 * what `what` asks for. Each piece costs system calls while the target is
 * frozen: ask only for what is needed.
 */
struct ms_error *ms_freeze_capture(struct ms_freeze *freeze, size_t i, unsigned what,
				   struct ms_thread *thread);
/* Capture all threads into a list (the main thread first). */
struct ms_error *ms_freeze_capture_all(struct ms_freeze *freeze, unsigned what,
				       struct ms_thread_list **list_ret);

/*
 * Whether an interrupting signal (SIGINT, SIGTERM, SIGHUP, SIGQUIT) arrived
 * and is being held back by a freeze: long work done while frozen polls
 * this to stop early. Nothing is consumed.
 */
bool ms_freeze_interrupt_pending(void);

/* Seconds the process has been (or was) frozen. */
double ms_freeze_seconds(const struct ms_freeze *freeze);

#endif
