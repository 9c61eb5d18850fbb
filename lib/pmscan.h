/* SPDX-License-Identifier: MIT */
/*
 * Runs of present pages in a live process: the PAGEMAP_SCAN ioctl of
 * /proc/PID/pagemap (Linux 6.7+) where the kernel has it, batched pagemap
 * reads otherwise. Readers and scanners use it to touch only memory that is
 * really there and to skip holes of any size fast. Decoding single pagemap
 * entries is pagemap's business; which mapping a run belongs to is maps'.
 */
#ifndef MEMSCOPE_PMSCAN_H
#define MEMSCOPE_PMSCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <signal.h>
#include <stdint.h>

#include "error.h"
#include "pagemap.h"

/* Which present pages a scan returns. */
enum ms_pmscan_select {
	MS_PMSCAN_PRESENT,	/* every present page */
	MS_PMSCAN_PRESENT_ANON, /* present, private anonymous (pagemap's file bit clear) */
	MS_PMSCAN_PRESENT_FILE, /* present, file-backed or shared anonymous */
};

enum { MS_PMSCAN_VEC = 512 };

struct ms_pmscan {
	struct ms_pagemap *pm; /* not owned */
	enum ms_pmscan_select select;
	bool use_ioctl; /* PAGEMAP_SCAN works here */
	/* regions of the last scan, covering [scan_from, walk_end) of a scan up to scan_to */
	struct ms_pm_region vec[MS_PMSCAN_VEC];
	size_t count, pos;
	uint64_t scan_from, scan_to, walk_end;
	bool have;
	uint64_t *entries;	     /* fallback: a batch of pagemap entries */
	volatile sig_atomic_t *stop; /* may be set by the caller; polled between batches */
};

/* Scan the process behind pm (which stays open and owned by the caller). */
struct ms_error *ms_pmscan_init(struct ms_pmscan *scan, struct ms_pagemap *pm,
				enum ms_pmscan_select select);
void ms_pmscan_deinit(struct ms_pmscan *scan);

/*
 * The first run [*start_ret, *end_ret) of selected pages that lies in
 * [from, to), clipped to it; *found_ret is false when there is none. Calls
 * with increasing from over the same to are cheap (results are batched). A
 * run may come back in pieces.
 */
struct ms_error *ms_pmscan_next(struct ms_pmscan *scan, uint64_t from, uint64_t to,
				uint64_t *start_ret, uint64_t *end_ret, bool *found_ret);

/*
 * The first selected page at or after from and below to, without looking
 * further: the way to jump over a hole without walking the memory after it.
 */
struct ms_error *ms_pmscan_skip(struct ms_pmscan *scan, uint64_t from, uint64_t to,
				uint64_t *next_ret, bool *found_ret);

#endif
