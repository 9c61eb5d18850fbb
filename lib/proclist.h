/* SPDX-License-Identifier: MIT */
/*
 * The processes and threads of the machine as /proc lists them, and what
 * each one uses: state, CPU, sizes from stat/status (readable by anyone) and
 * the RSS/PSS/swap/THP breakdown from smaps_rollup (needs the right to trace
 * it). Processes come and go while we look: one that vanished is reported as
 * MS_ERROR_NOT_FOUND so callers can skip it. One process's mappings are
 * maps' business.
 */
#ifndef MEMSCOPE_PROCLIST_H
#define MEMSCOPE_PROCLIST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "maps.h"

struct ms_procinfo {
	pid_t pid; /* the process (thread group) */
	pid_t tid; /* the thread (== pid for the process itself) */
	pid_t ppid;
	uid_t uid;
	char comm[17];
	char state; /* 'R', 'S', 'D', 'Z', 'T', 't', 'X', 'I', ... */
	int cpu;    /* last CPU it ran on */
	int threads;
	bool kernel_thread;
	/* from stat and status, in bytes */
	uint64_t vsz, rss, rss_anon, rss_file, rss_shmem, swap;
	/* from smaps_rollup, in bytes: rss, pss, shared_*, private_*, swap, anon_huge... */
	bool has_rollup;
	bool rollup_denied; /* smaps_rollup exists but we may not read it */
	struct ms_vma_usage rollup;
};

enum ms_proc_what {
	MS_PROC_STAT = 1 << 0,	 /* stat and status */
	MS_PROC_ROLLUP = 1 << 1, /* smaps_rollup (walks the page tables: slower) */
};

/* The ids in /proc (processes), or in /proc/PID/task (its threads), sorted. */
struct ms_error *ms_proc_list(pid_t **pids_ret, size_t *count_ret);
struct ms_error *ms_proc_threads(pid_t pid, pid_t **tids_ret, size_t *count_ret);

/*
 * Read what `what` asks about thread tid of process pid (tid 0: the process).
 * MS_ERROR_NOT_FOUND if it is gone. A smaps_rollup we may not read is not an
 * error: has_rollup stays false and rollup_denied is set.
 */
struct ms_error *ms_proc_read(pid_t pid, pid_t tid, unsigned what, struct ms_procinfo *info);

/* Whether the process still runs (exists and is not a zombie). */
bool ms_proc_alive(pid_t pid);

/* Parse smaps_rollup (or smaps) counters into usage; false if it has none. */
bool ms_proc_parse_rollup(const char *text, struct ms_vma_usage *usage);

/*
 * One process's /proc/PID/<name> text, for ms_proc_each(). Return an error
 * to end the walk with it, or set *stop_ret to end it early without one.
 */
typedef struct ms_error *ms_proc_each_fn(void *arg, pid_t pid, const char *text, bool *stop_ret);

enum ms_proc_each_flags {
	MS_PROC_EACH_OTHERS = 1 << 0, /* leave out the calling process */
};

/*
 * Read /proc/PID/<name> of every process, in pid order, and hand its text
 * to fn. A process that exits meanwhile is skipped; one whose file may not
 * be read (another user's, without root) is skipped and counted in
 * *unreadable_ret (may be NULL).
 */
struct ms_error *ms_proc_each(const char *name, unsigned flags, ms_proc_each_fn *fn, void *arg,
			      size_t *unreadable_ret);

/* The process's name from /proc/PID/comm; false (comm "") if it is gone. */
bool ms_proc_comm(pid_t pid, char comm[17]);
/* The Name: field of /proc/PID/status text into comm (at most 16 bytes). */
void ms_proc_status_name(const char *status, char comm[17]);

#endif
