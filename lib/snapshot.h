/* SPDX-License-Identifier: MIT */
/*
 * A consistent copy of a live process to read at leisure: its threads'
 * registers and its memory as they were at one instant. The process is frozen
 * for milliseconds while it is made to fork (injected system call): the
 * stopped child's copy-on-write address space is the snapshot, and the
 * target runs on. What fork does not copy (MADV_DONTFORK, MADV_WIPEONFORK) is
 * copied aside while frozen. Where fork cannot be used the target stays frozen
 * until the snapshot is finished. Which pages hold data (and which are holes)
 * is answered here too; what a core file contains is coredump's business.
 */
#ifndef MEMSCOPE_SNAPSHOT_H
#define MEMSCOPE_SNAPSHOT_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "maps.h"
#include "target.h"

struct ms_snapshot;

struct ms_snapshot_options {
	bool no_fork;	      /* stay frozen: no fork snapshot */
	bool fork_frozen;     /* fork with every thread frozen, not first (snapshot_patch.c) */
	bool keep_dontdump;   /* copy MADV_DONTDUMP regions aside too (they are dumped) */
	const char *temp_dir; /* where regions copied while frozen are kept (a file) */
	/* The target's smaps, read just before (saves reading it twice), or NULL. */
	const struct ms_maps *pre_smaps;
	/* Polled between steps; a set flag makes the snapshot give up cleanly. */
	const volatile sig_atomic_t *interrupted;
};

/* Process-wide facts the core's notes need, read from /proc around the freeze. */
struct ms_snapshot_process {
	pid_t pid, ppid, pgrp, sid;
	uint32_t uid, gid;
	char state; /* letter from /proc/PID/stat */
	int nice;
	uint64_t flags; /* task flags (stat field 9) */
	char comm[17];
	char *cmdline; /* raw, NUL-separated */
	size_t cmdline_len;
	void *auxv;
	size_t auxv_size;
	uint64_t coredump_filter;
	/* clock ticks (USER_HZ): the group's totals and its waited-for children's */
	uint64_t utime, stime, cutime, cstime;
	uint64_t starttime; /* clock ticks after boot: tells this process from a later one */
	/* the ids as the process sees them (its pid namespace), as the kernel writes them */
	pid_t core_pid, core_ppid, core_pgrp, core_sid;
};

struct ms_error *ms_snapshot_create(pid_t pid, const struct ms_snapshot_options *options,
				    struct ms_snapshot **snapshot_ret);

/*
 * A view of the live process without freezing or forking, for estimates: the
 * mappings and thread ids are read once, memory is not consistent, threads
 * have no registers.
 */
struct ms_error *ms_snapshot_create_unfrozen(pid_t pid, struct ms_snapshot **snapshot_ret);

/*
 * Let go: release the target if it is still frozen, kill the snapshot
 * process and reap it on the target's behalf (a second, one-thread freeze
 * of well under a millisecond), so the target is left with no new child and
 * no signal. *reap_seconds_ret (may be NULL) gets that second freeze's
 * length. Idempotent. Errors are returned but everything is still undone.
 */
struct ms_error *ms_snapshot_finish(struct ms_snapshot *snapshot, double *reap_seconds_ret);
/* Finish (if not yet) and free. Accepts NULL. */
void ms_snapshot_destroy(struct ms_snapshot *snapshot);

/* Whether this is the unfrozen view of ms_snapshot_create_unfrozen(). */
bool ms_snapshot_live(const struct ms_snapshot *snapshot);
/* Whether the snapshot is a forked copy (else the target is held frozen). */
bool ms_snapshot_forked(const struct ms_snapshot *snapshot);
/* Why there is no fork snapshot, or "" if there is one. */
const char *ms_snapshot_no_fork_reason(const struct ms_snapshot *snapshot);
/* The snapshot process (the fork), or the target itself when frozen. */
pid_t ms_snapshot_source_pid(const struct ms_snapshot *snapshot);
/*
 * With the fork made first (before the freeze): how long it stopped the
 * forking thread alone; 0 when the fork was made frozen.
 */
double ms_snapshot_fork_stop_seconds(const struct ms_snapshot *snapshot);
/* Bytes the target changed between that fork and the freeze, copied aside. */
uint64_t ms_snapshot_patched_bytes(const struct ms_snapshot *snapshot);
/* Why the fork was not made first, or was given up ("" if it was used). */
const char *ms_snapshot_fork_first_reason(const struct ms_snapshot *snapshot);
/* Seconds the target was frozen for the snapshot (so far, if still frozen). */
double ms_snapshot_frozen_seconds(const struct ms_snapshot *snapshot);

const struct ms_snapshot_process *ms_snapshot_process(const struct ms_snapshot *snapshot);
/* Threads with registers, FPU/XSAVE state and signal masks; the main thread first. */
const struct ms_thread_list *ms_snapshot_threads(const struct ms_snapshot *snapshot);
/* A thread's id in the process's own pid namespace (tid if not nested). */
pid_t ms_snapshot_core_tid(const struct ms_snapshot *snapshot, pid_t tid);
/* Per-thread CPU time in clock ticks, read from /proc (0 if the thread is gone). */
void ms_snapshot_thread_times(const struct ms_snapshot *snapshot, pid_t tid, uint64_t *utime,
			      uint64_t *stime);
/*
 * The target's mappings at the freeze, with smaps detail (VM flags, usage).
 * Mappings fork left out or wiped are flagged MS_VM_DONTCOPY / MS_VM_WIPEONFORK.
 */
const struct ms_maps *ms_snapshot_maps(const struct ms_snapshot *snapshot);

/*
 * Where the frozen time went: step i's name and how long it took, or NULL
 * past the last step.
 */
const char *ms_snapshot_step(const struct ms_snapshot *snapshot, size_t i, double *seconds_ret);

/* Things worth telling the user (regions read after the release, ...), or NULL. */
const char *ms_snapshot_warning(const struct ms_snapshot *snapshot, size_t i);

/* How the data pages of a mapping are told from the holes. */
enum ms_snapshot_presence {
	/* private anonymous memory: pages present or swapped, not the zero page */
	MS_SNAPSHOT_ANON,
	/* every page (file pages are read from the page cache) */
	MS_SNAPSHOT_ALL,
	/* shared memory: pages the shared object holds */
	MS_SNAPSHOT_SHARED,
};

struct ms_snapshot_range {
	uint64_t start, end;
};

/*
 * Runs of data pages of vma within [start, end): at most max runs into
 * ranges, *count_ret of them; *next_ret is where to continue (end when done).
 */
struct ms_error *ms_snapshot_data(struct ms_snapshot *snapshot, const struct ms_vma *vma,
				  enum ms_snapshot_presence how, uint64_t start, uint64_t end,
				  struct ms_snapshot_range *ranges, size_t max, size_t *count_ret,
				  uint64_t *next_ret);

/*
 * Read len bytes at addr (inside vma) from the snapshot. *done_ret gets how
 * many were read before the first unreadable page (the error then says why).
 */
struct ms_error *ms_snapshot_read(struct ms_snapshot *snapshot, const struct ms_vma *vma,
				  uint64_t addr, void *buf, size_t len, size_t *done_ret);

#endif
