/* SPDX-License-Identifier: MIT */
/*
 * A target is what memscope looks at: a live process or a core file. Commands
 * see only this interface (read memory, list mappings, list threads with
 * their registers), so a new kind of target plugs in as one more backend
 * (see target_impl.h) without touching them. Page-level detail for live
 * processes is in pagemap; freezing threads is in freeze.
 */
#ifndef MEMSCOPE_TARGET_H
#define MEMSCOPE_TARGET_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <sys/user.h>

#include "error.h"
#include "maps.h"

struct ms_target;

enum ms_target_kind {
	MS_TARGET_LIVE,
	MS_TARGET_CORE,
};

/* One thread, and its registers when the source has them. */
struct ms_thread {
	pid_t tid;
	char name[17]; /* as /proc names it; empty where the source keeps none (a core) */
	char state;    /* 'R', 'S', 'D', 'T', 'Z', ... or 0 if unknown */
	bool has_regs;
	struct user_regs_struct regs;
	bool has_fpregs;
	struct user_fpregs_struct fpregs;
	void *xstate; /* NT_X86_XSTATE bytes, malloc'd, or NULL */
	size_t xstate_size;
	bool has_siginfo;
	siginfo_t siginfo;
	int cursig;		   /* signal being delivered (prstatus pr_cursig) */
	uint64_t sigpend, sighold; /* pending and blocked signal masks */
};

struct ms_thread_list {
	struct ms_thread *threads;
	size_t count;
};

void ms_thread_list_destroy(struct ms_thread_list *list);
/*
 * The threads of live process pid as /proc lists them: ids, names and
 * states, no registers, the main thread first (what ms_target_threads gives
 * a live target without registers). Threads that exit meanwhile are left out.
 */
struct ms_error *ms_thread_list_read_pid(pid_t pid, struct ms_thread_list **threads_ret);

struct ms_error *ms_target_open_pid(pid_t pid, struct ms_target **target_ret);
/* exe may be NULL: then the path recorded in the core is tried. */
struct ms_error *ms_target_open_core(const char *core_path, const char *exe_path,
				     struct ms_target **target_ret);
void ms_target_destroy(struct ms_target *target);

enum ms_target_kind ms_target_kind(const struct ms_target *target);
/* The process id (for a core, the one recorded in it). */
pid_t ms_target_pid(const struct ms_target *target);
/*
 * For a live target opened by the id of a thread other than the main one:
 * that thread id (the target is its whole process, ms_target_pid). Else 0.
 */
pid_t ms_target_given_tid(const struct ms_target *target);
/*
 * For a live process whose main thread has exited while others run: its
 * process id (the target reads it through thread ms_target_pid). Else 0.
 */
pid_t ms_target_exited_leader(const struct ms_target *target);
/* The command name (comm), at most 16 bytes. */
const char *ms_target_comm(const struct ms_target *target);
/* The main executable's path, or NULL if unknown. */
const char *ms_target_exe(const struct ms_target *target);
/* "process 913" or "core file core.913", for messages. */
const char *ms_target_describe(const struct ms_target *target);
/* The core file's path, NULL for a live process. */
const char *ms_target_core_path(const struct ms_target *target);

enum ms_read_flags {
	/*
	 * Live processes: also read pages that are not present (never touched,
	 * swapped out, file pages not mapped yet). That faults them in: the
	 * target changes. Without it such a page is a fault with its reason.
	 */
	MS_READ_FAULT_IN = 1 << 0,
};

/*
 * Read len bytes at addr. On a fault, the bytes before the faulting address
 * are in buf, *done_ret (may be NULL) says how many, and the error names the
 * address and the reason (not mapped, not present, not in the core file).
 */
struct ms_error *ms_target_read(struct ms_target *target, uint64_t addr, void *buf, size_t len,
				unsigned flags, size_t *done_ret);

/*
 * The target's mappings. Cached: a live process's maps are read on the first
 * call and again after ms_target_refresh(). The target owns the result.
 */
struct ms_error *ms_target_maps(struct ms_target *target, enum ms_maps_detail detail,
				const struct ms_maps **maps_ret);
/* Forget cached state of a live process (its mappings may have changed). */
void ms_target_refresh(struct ms_target *target);

/*
 * The threads. For a core they come with registers. For a live process,
 * with_regs freezes the process just long enough to copy them (see freeze.h);
 * without it only ids, names and states are read from /proc.
 */
struct ms_error *ms_target_threads(struct ms_target *target, bool with_regs,
				   struct ms_thread_list **threads_ret);

/* The auxiliary vector (NT_AUXV or /proc/PID/auxv); caller frees. */
struct ms_error *ms_target_auxv(struct ms_target *target, void **auxv_ret, size_t *size_ret);

#endif
