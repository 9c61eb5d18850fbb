/* SPDX-License-Identifier: MIT */
/*
 * Memory search over any target: values of 1, 2, 4 or 8 bytes at aligned
 * addresses with a don't-care mask (crash's search), and byte strings or
 * value sequences at any address (gdb's find). Memory is read only through
 * ms_target_read(); on a live process only present pages are read unless
 * MS_READ_FAULT_IN is asked for, and holes are skipped with PAGEMAP_SCAN.
 * Parsing what the user typed and printing hits is the front end's job.
 */
#ifndef MEMSCOPE_SEARCH_H
#define MEMSCOPE_SEARCH_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "maps.h"

struct ms_target;

enum {
	MS_SEARCH_MAX_PATTERNS = 256,
	MS_SEARCH_MAX_LEN = 4096, /* bytes in one pattern */
};

struct ms_search_pattern {
	const uint8_t *bytes; /* what to find, in target byte order */
	const uint8_t *mask;  /* per byte, bits set are ignored; NULL: compare all */
	size_t len;
};

struct ms_search_hit {
	uint64_t address;
	size_t pattern; /* index into the patterns */
	const struct ms_vma *vma;
	const uint8_t *data; /* the bytes found, and what follows them in memory */
	size_t avail;	     /* readable bytes at data, at least the pattern's length */
};

/* Called for each hit in address order; return false to stop the search. */
typedef bool ms_search_hit_fn(void *arg, const struct ms_search_hit *hit);
/* Called now and then with bytes of the range dealt with so far. */
typedef void ms_search_progress_fn(void *arg, uint64_t done, uint64_t total);

struct ms_search_params {
	uint64_t start, end; /* [start, end); end 0 means the top of the address space */
	size_t align;	     /* hits only at multiples of this (1 or 0: anywhere) */
	const struct ms_search_pattern *patterns;
	size_t npatterns;
	unsigned read_flags; /* enum ms_read_flags */
	/*
	 * Search never-touched pages of private anonymous mappings as the zeros
	 * they read as (gdb's find reads them), without faulting them in.
	 * Pages swapped out or guarded stay unsearched (bytes_not_present).
	 */
	bool untouched_as_zeros;
	uint64_t max_hits;	     /* stop after this many; 0 = no limit */
	volatile sig_atomic_t *stop; /* polled; when set the search ends, MS_ERROR_INTERRUPTED */
	ms_search_progress_fn *progress;
};

struct ms_search_stats {
	uint64_t bytes_searched;    /* read and compared */
	uint64_t bytes_zero;	    /* never touched: searched as zeros, not read */
	uint64_t bytes_not_present; /* mapped but not read: not present, or not in the core */
	uint64_t bytes_unreadable;  /* in mappings that cannot be read (---p, [vvar], I/O) */
	uint64_t mappings;	    /* mappings searched, wholly or in part */
	uint64_t hits;
};

/*
 * Search the target's readable mappings within [start, end). Hits go to fn
 * as they are found. Faults skip the page and go on; a target that exits
 * ends the search with MS_ERROR_EXITED (the hits so far were delivered).
 * stats_ret (may be NULL) is filled in either case.
 */
struct ms_error *ms_search(struct ms_target *target, const struct ms_search_params *params,
			   ms_search_hit_fn *fn, void *arg, struct ms_search_stats *stats_ret);

#endif
