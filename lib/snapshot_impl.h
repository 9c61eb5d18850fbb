/* SPDX-License-Identifier: MIT */
/*
 * Private to the snapshot (snapshot*.c): its inside, and the helpers its
 * files share.
 */
#ifndef MEMSCOPE_SNAPSHOT_IMPL_H
#define MEMSCOPE_SNAPSHOT_IMPL_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "maps.h"
#include "snapshot.h"

/* How much is copied per system call, and held by memscope at once. */
enum { SNAP_BUF_SIZE = 4 << 20, SNAP_SCAN_REGIONS = 512 };

struct ms_snap_cached;

struct spill_extent {
	uint64_t addr, len, offset; /* bytes at addr are at offset in the spill file */
};

struct ms_snapshot {
	pid_t pid;
	pid_t child;	       /* the fork, 0 if none */
	pid_t child_in_target; /* its pid in the target's pid namespace */
	bool live;	       /* ms_snapshot_create_unfrozen: nothing frozen */
	bool finished;
	struct ms_freeze *freeze; /* held only while frozen */
	double frozen_seconds;
	char no_fork_reason[256];
	struct ms_snapshot_process proc;
	struct ms_thread_list *threads;
	struct ms_maps *maps; /* at the freeze, with smaps detail merged in */
	uint64_t syscall_addr;
	pid_t inject_tid;
	pid_t child_in_making; /* the fork, before it is known to have worked */
	/* children killed before the end (given up, or after an error): reaped at the end */
	struct ms_snap_unreaped {
		pid_t pid, in_target; /* in_target: in the target's pid namespace */
	} unreaped[2];
	size_t nunreaped;
	const struct ms_maps *pre; /* smaps before the freeze, while making */
	/* fork first (snapshot_patch.c): a child forked before the freeze, held */
	pid_t early_child, early_child_in_target;
	bool forked_first;	       /* the child is that early one */
	struct ms_maps *early_maps;    /* its mappings */
	struct ms_maps *new_detail;    /* the target's smaps of mappings made or changed since */
	double fork_stop_seconds;      /* how long the forking thread was stopped for it */
	char early_reason[256];	       /* why there was none, or why it was given up */
	struct ms_snap_cached *cached; /* its pagemap, read before the freeze */
	size_t ncached, cap_cached;
	uint64_t *patch_buf; /* the comparison's buffers, allocated before the freeze */
	/* pages the target changed between that fork and the freeze, in the spill file */
	struct spill_extent *patches; /* sorted by address */
	size_t npatches, cap_patches;
	/* pages the child has and the target dropped in between: left out */
	struct spill_extent *drops; /* sorted; offset = addr (no bytes kept) */
	size_t ndrops, cap_drops;
	uint64_t patched_bytes;
	/* regions copied while frozen */
	int spill_fd;
	uint64_t spill_size;
	struct spill_extent *extents;
	size_t nextents, cap_extents;
	/* readers */
	int pagemap_fd, target_pagemap_fd;
	int mem_fd, target_mem_fd; /* /proc/PID/mem of the source, of the target */
	int shared_fd;
	uint64_t shared_vma_start;
	int file_fd; /* the file of a private file mapping (frozen target only) */
	uint64_t file_vma_start;
	uint8_t *buf;
	char **warnings;
	size_t nwarnings;
	/* timing of the frozen steps */
	struct {
		const char *name;
		double seconds;
	} steps[12];
	size_t nsteps;
	double step_start;
};

/* The file of regions copied while frozen, opened on first need in dir. */
struct ms_error *ms_snap_open_spill(struct ms_snapshot *s, const char *dir);
/* Append [addr, addr + len) at offset to a sorted list, merged with the last if adjacent. */
struct ms_error *ms_snap_add_extent(struct spill_extent **list, size_t *n, size_t *cap,
				    uint64_t addr, uint64_t len, uint64_t offset);
/* Read another process's memory through /proc/PID/mem (*mem_fd: opened on first use). */
ssize_t ms_snap_read_memory(pid_t pid, int *mem_fd, uint64_t addr, void *buf, size_t len);
/* Whether vma was copied aside whole, and is read from the spill file. */
bool ms_snap_spilled(const struct ms_snapshot *s, const struct ms_vma *vma);
/* The mapping of maps with vma's very range, or NULL. */
const struct ms_vma *ms_snap_find_exact(const struct ms_maps *maps, const struct ms_vma *vma);
/* Whether a region is dumped at all (not VM_IO, not MADV_DONTDUMP unless kept). */
bool ms_snap_worth_spilling(const struct ms_snapshot_options *o, const struct ms_vma *detail);
/* Runs of pages present or swapped (with no_zero: not the zero page) in [start, end). */
struct ms_error *ms_snap_scan_present(int fd, pid_t pid, uint64_t start, uint64_t end, bool no_zero,
				      struct ms_snapshot_range *out, size_t max, size_t *count_ret,
				      uint64_t *next_ret);
/*
 * With every thread frozen after an early fork: compare the target's pages
 * with the early child's and copy the changed ones into the spill file;
 * meanwhile(arg) runs on this thread while a helper compares half of them.
 * *mendable_ret false (why says why): the child cannot stand for the target.
 */
typedef struct ms_error *ms_snap_meanwhile_fn(void *arg);
struct ms_error *ms_snap_patch(struct ms_snapshot *s, const struct ms_snapshot_options *o,
			       const struct ms_maps *given, ms_snap_meanwhile_fn *meanwhile,
			       void *arg, bool *mendable_ret, char *why, size_t why_len);
/*
 * While frozen, into new_detail: the target's smaps of the private mappings
 * it made, or wrote pages of where the child has none, between an early
 * fork and the freeze; the child's smaps (flags: MADV_DONTDUMP) may not be
 * the target's there. smaps is read up to the last of them only.
 */
struct ms_error *ms_snap_detail_of_new(struct ms_snapshot *s, const struct ms_maps *given);
/* Before the freeze: keep the early child's pagemap entries (it is stopped). */
struct ms_error *ms_snap_patch_prepare(struct ms_snapshot *s);
/* Whether the target changed pages of v after the early fork. */
bool ms_snap_patched(const struct ms_snapshot *s, const struct ms_vma *v);
/* Forget the changed pages and the kept entries. */
void ms_snap_drop_patches(struct ms_snapshot *s);
/*
 * ranges[0..*count_ret): the child's data pages in [start, *next_ret), sorted.
 * Take out what the target dropped and add what it changed, merged; at most
 * max, *next_ret lowered to where the ranges left out begin.
 */
struct ms_error *ms_snap_patch_ranges(const struct ms_snapshot *s, uint64_t start,
				      struct ms_snapshot_range *ranges, size_t max,
				      size_t *count_ret, uint64_t *next_ret);
/* Where the bytes at addr come from, up to *until_ret (*offset_ret: in the spill file). */
enum ms_snap_cover { MS_SNAP_CHILD, MS_SNAP_PATCH, MS_SNAP_DROP };
enum ms_snap_cover ms_snap_cover_at(const struct ms_snapshot *s, uint64_t addr, uint64_t *until_ret,
				    uint64_t *offset_ret);
/* Close the timing of one frozen step. */
void ms_snap_step_done(struct ms_snapshot *s, const char *name);

#endif
