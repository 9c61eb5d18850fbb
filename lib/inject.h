/* SPDX-License-Identifier: MIT */
/*
 * Running one system call inside a frozen process (x86-64): a stopped thread
 * is pointed at a `syscall` instruction the process already has (in its
 * vDSO), run for exactly that instruction, and put back exactly as it was,
 * syscall-restart state included. Nothing is written to the target's memory.
 * Stopping the threads is freeze's business; what to call (fork for a
 * snapshot, wait4 to reap it) is the caller's.
 */
#ifndef MEMSCOPE_INJECT_H
#define MEMSCOPE_INJECT_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "freeze.h"
#include "maps.h"

struct ms_inject;

/*
 * Find a `syscall` instruction (0f 05) in pid's executable memory, the vDSO
 * first. maps may be NULL (then /proc/PID/maps is read).
 */
struct ms_error *ms_inject_find_syscall(pid_t pid, const struct ms_maps *maps, uint64_t *addr_ret);

/*
 * Whether thread i of a freeze can safely run an injected system call: a
 * 64-bit thread in an interrupt-stop (not about to take a signal, not
 * group-stopped), without a seccomp filter or syscall user dispatch, not in an
 * rseq critical section. If not, *why_ret (may be NULL) says why.
 */
bool ms_inject_thread_ok(struct ms_freeze *freeze, size_t i, char *why, size_t why_len);

/*
 * Pick the best thread for injection (one blocked in a system call is
 * preferred: it is not in the middle of anything). Returns false with a
 * reason if no thread will do.
 */
bool ms_inject_pick_thread(struct ms_freeze *freeze, size_t *index_ret, char *why, size_t why_len);

/* Save thread i's registers; nothing is changed yet. */
struct ms_error *ms_inject_begin(struct ms_freeze *freeze, size_t i, uint64_t syscall_addr,
				 struct ms_inject **inject_ret);

/*
 * Run system call nr with up to six arguments in the thread. *ret_ret gets
 * the raw return value (negative errno on failure). If the call created a
 * process (fork, clone), *child_ret (may be NULL, then it is killed) gets its
 * pid, else 0: it is traced by the caller and will stop before running any
 * code; pass it to ms_inject_hold_child() soon. On an error it is killed
 * already, and *child_ret still names it: dead, it is the target's child to
 * reap.
 */
struct ms_error *ms_inject_syscall(struct ms_inject *inject, long nr, const uint64_t args[6],
				   int64_t *ret_ret, pid_t *child_ret);

/*
 * Work for the caller to do while the system call runs in the target (the
 * other threads are still frozen): it overlaps the call instead of adding
 * to the time the target is stopped. An error it returns is the call's,
 * once the thread is back at the call's end.
 */
typedef struct ms_error *ms_inject_meanwhile_fn(void *arg);

/* ms_inject_syscall, with meanwhile(arg) run once the call has started. */
struct ms_error *ms_inject_syscall_meanwhile(struct ms_inject *inject, long nr,
					     const uint64_t args[6], int64_t *ret_ret,
					     pid_t *child_ret, ms_inject_meanwhile_fn *meanwhile,
					     void *arg);

/*
 * Wait for a process created by an injected call to reach its first stop
 * (before any of its code runs) and make the kernel kill it if the caller
 * dies (PTRACE_O_EXITKILL). On failure it is killed (and is the target's to
 * reap).
 */
struct ms_error *ms_inject_hold_child(pid_t child);

/*
 * Kill a child that an injected call made (traced by the caller) and wait
 * until it is dead: a zombie for the target to reap, not yet reaped.
 */
void ms_inject_kill_child(pid_t child);

/*
 * Put the thread back exactly as it was (registers, an interrupted system
 * call's restart, ptrace options; a signal that arrived meanwhile is sent
 * again) and free. The thread stays stopped until the freeze is released.
 * Accepts NULL.
 */
struct ms_error *ms_inject_end(struct ms_inject *inject);

/*
 * The whole of it for one call in thread i of a freeze: begin, the system
 * call (as ms_inject_syscall), and the thread put back, whatever failed.
 */
struct ms_error *ms_inject_call(struct ms_freeze *freeze, size_t i, uint64_t syscall_addr, long nr,
				const uint64_t args[6], int64_t *ret_ret, pid_t *child_ret);

#endif
