/* SPDX-License-Identifier: MIT */
/*
 * Physical to virtual for user memory: which processes map a physical page,
 * and at which virtual addresses. Every process's pagemap is scanned (only
 * its present pages, with PAGEMAP_SCAN), and the scan stops as soon as all
 * the mappings /proc/kpagecount counts are found. Also what the page is,
 * from /proc/kpageflags. Needs CAP_SYS_ADMIN: without it the kernel hides
 * PFNs. Walking one process's pages for display is pagemap's business.
 */
#ifndef MEMSCOPE_PTOV_H
#define MEMSCOPE_PTOV_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "maps.h"
#include "pagemap.h"

/* The kpageflags bits (enum ms_kpf, MS_KPF()) are pagemap's. */

struct ms_page_info {
	uint64_t pfn;
	uint64_t flags;	   /* MS_KPF() bits */
	uint64_t mapcount; /* /proc/kpagecount */
};

/* kpageflags and kpagecount of one page frame; MS_ERROR_NOT_FOUND past the last one. */
struct ms_error *ms_page_info_read(uint64_t pfn, struct ms_page_info *info);
/* The name of a kpageflags bit ("anon", "buddy", ...), or NULL if it has none. */
const char *ms_kpf_name(unsigned bit);
/* The names of the set bits, space-separated, into buf; returns the length. */
size_t ms_kpf_names(uint64_t flags, char *buf, size_t len);
/* What a page that nobody maps is used for, in a few words ("free (buddy allocator)"). */
const char *ms_kpf_describe(uint64_t flags);

struct ms_ptov_hit {
	pid_t pid;
	uint64_t vaddr; /* the virtual address of the physical address asked for */
	const struct ms_vma *vma;
	uint64_t entry; /* the pagemap entry */
};

typedef bool ms_ptov_hit_fn(void *arg, const struct ms_ptov_hit *hit);
typedef void ms_ptov_progress_fn(void *arg, size_t done, size_t total);

struct ms_ptov_params {
	uint64_t paddr;
	bool full_scan; /* do not stop when kpagecount's count is reached */
	volatile sig_atomic_t *stop;
	ms_ptov_progress_fn *progress;
};

struct ms_ptov_stats {
	struct ms_page_info page;
	size_t processes;	 /* listed in /proc */
	size_t scanned;		 /* whose pagemap was read */
	size_t vanished;	 /* exited while we looked */
	size_t denied;		 /* we may not read (not root) */
	uint64_t pages_read;	 /* pagemap entries compared */
	size_t mappings_skipped; /* that cannot hold the page (anonymous vs file) */
	size_t found;		 /* mappings found */
	bool complete;		 /* every process was looked at */
	bool stopped_early;	 /* all of kpagecount's mappings were found */
};

/*
 * Find every mapping of the page holding params->paddr, calling fn for each
 * in /proc order (fn returns false to stop). stats_ret is filled in either
 * case.
 */
struct ms_error *ms_ptov(const struct ms_ptov_params *params, ms_ptov_hit_fn *fn, void *arg,
			 struct ms_ptov_stats *stats_ret);

#endif
