/* SPDX-License-Identifier: MIT */
/*
 * Writing an ELF core file of a live process the way the kernel writes its
 * own (fs/binfmt_elf.c, fs/coredump.c): the same notes in the same order,
 * the same choice of mappings (coredump_filter, VM_DONTDUMP, VM_IO, the ELF
 * header page, vDSO/vvar), pages never populated left as holes of a sparse
 * file. The consistent copy it reads from is snapshot's; reading core files
 * back is the core-file target's.
 */
#ifndef MEMSCOPE_COREDUMP_H
#define MEMSCOPE_COREDUMP_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "maps.h"
#include "snapshot.h"

/* The bits of /proc/PID/coredump_filter (MMF_DUMP_*). */
enum ms_coredump_filter {
	MS_DUMP_ANON_PRIVATE = 1 << 0,
	MS_DUMP_ANON_SHARED = 1 << 1,
	MS_DUMP_MAPPED_PRIVATE = 1 << 2,
	MS_DUMP_MAPPED_SHARED = 1 << 3,
	MS_DUMP_ELF_HEADERS = 1 << 4,
	MS_DUMP_HUGETLB_PRIVATE = 1 << 5,
	MS_DUMP_HUGETLB_SHARED = 1 << 6,
	MS_DUMP_DAX_PRIVATE = 1 << 7,
	MS_DUMP_DAX_SHARED = 1 << 8,
};

/* How much of a mapping the kernel puts in a core (vma_dump_size()). */
enum ms_dump_size {
	MS_DUMP_NONE,
	MS_DUMP_WHOLE,
	MS_DUMP_HEADER_PAGE,  /* the first page: an executable file's ELF header */
	MS_DUMP_MAYBE_HEADER, /* the first page if it starts with the ELF magic */
};

/* Facts about a mapped file the rules need; -1 where unknown. */
struct ms_vma_file_facts {
	int unlinked;	/* the file has no links left (shared memory, deleted files) */
	int executable; /* any execute permission bit */
};

struct ms_dump_choice {
	enum ms_dump_size size;
	enum ms_snapshot_presence presence; /* how data is told from holes */
	const char *rule;		    /* why, in a few words */
};

/*
 * The kernel's choice for one mapping. vma needs smaps detail (VM flags,
 * Anonymous): a mapping with anonymous pages stands for one with an
 * anon_vma. all: dump every mapping (but device memory) whatever the filter.
 */
void ms_coredump_choose(const struct ms_vma *vma, uint64_t filter, bool all,
			const struct ms_vma_file_facts *facts, struct ms_dump_choice *choice);

/* Whether the running kernel appends NT_X86_XSAVE_LAYOUT after the threads (6.12). */
bool ms_coredump_kernel_has_xsave_layout(void);

struct ms_gcore_options {
	const char *path; /* the core file to write */
	bool all;	  /* -a: every mapping, ignoring coredump_filter and MADV_DONTDUMP */
	bool no_fork;	  /* dump while frozen, without the fork snapshot */
	bool fork_frozen; /* fork with every thread frozen, never before the freeze */
	bool dry_run;	  /* only say what would be written */
	bool verify;	  /* read the core back and compare */
	const volatile sig_atomic_t *interrupted;
	void (*progress)(void *arg, uint64_t done, uint64_t total);
	void *progress_arg;
};

struct ms_gcore_result {
	bool forked;
	char no_fork_reason[256];
	double frozen_seconds; /* the target frozen for the snapshot */
	/* the fork made first: how long it stopped the forking thread alone, and the
	   bytes the other threads changed before the freeze (copied while frozen) */
	double fork_stop_seconds;
	uint64_t patched_bytes;
	char fork_first_reason[256]; /* why the fork was not made first, or "" */
	double reap_seconds;	     /* ... and again to reap the snapshot process */
	double seconds;		     /* the whole dump */
	size_t threads, segments, notes;
	uint64_t file_size;  /* apparent size */
	uint64_t disk_size;  /* blocks on disk (estimated for a dry run) */
	uint64_t data_bytes; /* bytes of memory written (holes excluded) */
	uint64_t free_bytes; /* space left on the file system before writing */
	bool verified;
	size_t verified_regions;
	char *verify_error; /* reading the core back found this wrong (the core is kept) */
	char **warnings;
	size_t nwarnings;
	/* where the whole time went: estimate, snapshot, plan, copy, finish, commit */
	struct {
		const char *name; /* static */
		double seconds;
	} phases[8];
	size_t nphases;
	/* where the frozen time went */
	struct {
		const char *name; /* static */
		double seconds;
	} steps[12];
	size_t nsteps;
};

/*
 * Dump process pid into options->path (replaced if it exists). The file
 * appears only when complete; an error or interruption leaves no file and
 * the target as it was. *result is filled in either way (as far as known)
 * and must be released with ms_gcore_result_deinit().
 */
struct ms_error *ms_coredump_gcore(pid_t pid, const struct ms_gcore_options *options,
				   struct ms_gcore_result *result);
void ms_gcore_result_deinit(struct ms_gcore_result *result);

#endif
