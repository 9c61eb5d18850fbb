/* SPDX-License-Identifier: MIT */
/*
 * Thread stacks: a frozen snapshot of a live process (registers and the live
 * part of every stack, copied while all threads are stopped, then released
 * at once), and the walk of each thread's stack with libdwfl's CFI unwinder
 * over a register set and a memory reader of ours. The walk runs offline,
 * after the release, from the copy; reads outside the copied stacks go to
 * the process itself (or the core file). What the frames mean (names,
 * lines, variables) is dwarf.h's; freezing is freeze.h's.
 */
#ifndef MEMSCOPE_UNWIND_H
#define MEMSCOPE_UNWIND_H

#include <elfutils/libdwfl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "dwarf.h"
#include "error.h"
#include "target.h"

struct ms_unwind_snapshot;

struct ms_unwind_options {
	/* Bytes of each stack copied, from sp (less the red zone) up to the end
	 * of its mapping; 0: the default (512 KiB). All threads together copy
	 * at most 64 MiB (then 64 KiB each). */
	size_t stack_cap;
	/* Only this thread (0: all). */
	pid_t tid;
	/* Also copy the SSE registers (for -O2 locals kept in xmm registers). */
	bool fpregs;
	/* Capture all ms_target_threads does (FPU and XSAVE area, signal
	 * state), for callers that list the threads as well as walk them. */
	bool full_state;
};

/*
 * Freeze pid, copy its threads' registers and stacks, release it. Threads
 * that exit meanwhile are left out (see ms_unwind_snapshot_gone). The
 * target is used for its mappings (read before the freeze) and, later, for
 * reads outside the copies.
 */
struct ms_error *ms_unwind_snapshot_take(struct ms_target *target,
					 const struct ms_unwind_options *opts,
					 struct ms_unwind_snapshot **snap_ret);
void ms_unwind_snapshot_destroy(struct ms_unwind_snapshot *snap);
/* The threads as captured (main thread first). */
const struct ms_thread_list *ms_unwind_snapshot_threads(const struct ms_unwind_snapshot *snap);
/* Seconds the process was stopped. */
double ms_unwind_snapshot_frozen(const struct ms_unwind_snapshot *snap);
/* Bytes of stack copied, all threads together. */
size_t ms_unwind_snapshot_bytes(const struct ms_unwind_snapshot *snap);
/* Every thread listed just before the freeze (main thread included). */
size_t ms_unwind_snapshot_listed(const struct ms_unwind_snapshot *snap, const pid_t **tids_ret);
/* Threads listed before the freeze that were gone when it came. */
size_t ms_unwind_snapshot_gone(const struct ms_unwind_snapshot *snap, const pid_t **tids_ret);
/* A reader over the copies, falling back to the live process. */
struct ms_dwarf_memory ms_unwind_snapshot_memory(struct ms_unwind_snapshot *snap);

/* One physical frame: its pc and the registers the unwinder recovered. */
struct ms_unwind_frame {
	uint64_t pc;
	bool activation; /* pc is exact (innermost or interrupted), else a return address */
	bool tailcall;	 /* put back from the call-site chain: no stack frame of its own */
	bool signal;	 /* the kernel's signal frame (the handler returns into it) */
	struct ms_dwarf_regs regs;
};

struct ms_unwind_thread {
	pid_t tid;
	char name[17];
	uint64_t thread_pointer; /* fs_base: glibc's pthread_t */
	struct ms_unwind_frame *frames;
	size_t count;
	/* Why the walk ended early ("previous frame inner to this frame
	 * (corrupt stack?)", "Cannot access memory at address 0x..."), or NULL. */
	char *stopped;
	bool truncated; /* stopped by the frame limit */
};

struct ms_unwind_result {
	struct ms_unwind_thread *threads;
	size_t count;
};

/*
 * Walk the stacks of threads (with registers) over the session's modules
 * and memory, at most max_frames frames each (0: 4096).
 */
struct ms_error *ms_unwind_threads(struct ms_dwarf_session *session,
				   const struct ms_thread_list *threads, pid_t pid,
				   size_t max_frames, struct ms_unwind_result **result_ret);
void ms_unwind_result_destroy(struct ms_unwind_result *result);

/*
 * Put back the frames tail calls left out (see ms_dwarf_tailcalls), as gdb
 * shows them. Their registers are the caller's, their pc the jump's.
 */
struct ms_error *ms_unwind_add_tailcalls(struct ms_dwarf_session *session,
					 struct ms_unwind_thread *thread);

/*
 * The logical frames of a walked thread (dwarf.h's: an inlined call is a
 * frame of its own), innermost first, linked through caller and outer so
 * that values and entry values can be asked for. A physical frame the DWARF
 * layer cannot describe is left out, as a backtrace leaves it. Free with
 * ms_unwind_frames_destroy.
 */
struct ms_error *ms_unwind_logical_frames(struct ms_dwarf_session *session,
					  const struct ms_unwind_thread *thread,
					  struct ms_dwarf_frame **frames_ret, size_t *count_ret);
void ms_unwind_frames_destroy(struct ms_dwarf_frame *frames, size_t count);

#endif
