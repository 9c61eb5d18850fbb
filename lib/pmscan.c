/* SPDX-License-Identifier: MIT */
#include "pmscan.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Pagemap entries read per batch when the ioctl is missing (256 KiB). */
enum { FALLBACK_BATCH = 32768 };

/* The PAGEMAP_SCAN masks that select what scan->select asks for. */
static void fill_query(struct ms_pm_query *q, enum ms_pmscan_select select)
{
	q->category_mask = MS_PC_PRESENT;
	q->return_mask = MS_PC_PRESENT;
	if (select == MS_PMSCAN_PRESENT_ANON) {
		q->category_mask |= MS_PC_FILE;
		q->category_inverted = MS_PC_FILE;
	} else if (select == MS_PMSCAN_PRESENT_FILE) {
		q->category_mask |= MS_PC_FILE;
	}
}

struct ms_error *ms_pmscan_init(struct ms_pmscan *scan, struct ms_pagemap *pm,
				enum ms_pmscan_select select)
{
	memset(scan, 0, sizeof(*scan));
	scan->pm = pm;
	scan->select = select;
	scan->use_ioctl = ms_pagemap_has_scan(pm);
	if (!scan->use_ioctl) {
		scan->entries = malloc(FALLBACK_BATCH * sizeof(uint64_t));
		if (!scan->entries)
			return &ms_error_no_memory;
	}
	return NULL;
}

void ms_pmscan_deinit(struct ms_pmscan *scan)
{
	free(scan->entries);
	scan->entries = NULL;
}

static bool selected(const struct ms_pmscan *scan, uint64_t e)
{
	if (!(e & MS_PM_PRESENT))
		return false;
	if (scan->select == MS_PMSCAN_PRESENT_ANON)
		return !(e & MS_PM_FILE);
	if (scan->select == MS_PMSCAN_PRESENT_FILE)
		return e & MS_PM_FILE;
	return true;
}

static struct ms_error *next_ioctl(struct ms_pmscan *scan, uint64_t from, uint64_t to,
				   uint64_t *start_ret, uint64_t *end_ret, bool *found_ret)
{
	for (;;) {
		if (scan->have && scan->scan_to == to && from >= scan->scan_from) {
			while (scan->pos < scan->count && scan->vec[scan->pos].end <= from)
				scan->pos++;
			if (scan->pos < scan->count) {
				const struct ms_pm_region *r = &scan->vec[scan->pos];
				*start_ret = r->start > from ? r->start : from;
				*end_ret = r->end < to ? r->end : to;
				*found_ret = *start_ret < *end_ret;
				if (*found_ret)
					return NULL;
			}
			if (scan->walk_end >= to) {
				*found_ret = false;
				return NULL;
			}
			if (from < scan->walk_end)
				from = scan->walk_end;
		}
		size_t page = ms_page_size();
		struct ms_pm_query q = {
			.start = from / page * page,
			.end = (to + page - 1) / page * page,
		};
		fill_query(&q, scan->select);
		if (q.start >= q.end) {
			*found_ret = false;
			return NULL;
		}
		size_t n;
		uint64_t walk_end;
		struct ms_error *err =
			ms_pagemap_query(scan->pm, &q, scan->vec, MS_PMSCAN_VEC, &n, &walk_end);
		if (err)
			return err;
		scan->count = n;
		scan->pos = 0;
		scan->scan_from = from;
		scan->scan_to = to;
		/* No progress would loop forever; treat it as the end. */
		scan->walk_end = walk_end > q.start ? walk_end : q.end;
		scan->have = true;
	}
}

static struct ms_error *next_fallback(struct ms_pmscan *scan, uint64_t from, uint64_t to,
				      uint64_t *start_ret, uint64_t *end_ret, bool *found_ret)
{
	size_t page = ms_page_size();
	uint64_t addr = from / page * page;
	bool in_run = false;
	uint64_t run_start = 0;
	while (addr < to) {
		if (scan->stop && *scan->stop)
			return ms_error_create(MS_ERROR_INTERRUPTED, "interrupted");
		uint64_t npages = (to - addr + page - 1) / page;
		if (npages > FALLBACK_BATCH)
			npages = FALLBACK_BATCH;
		struct ms_error *err = ms_pagemap_read(scan->pm, addr, npages, scan->entries);
		if (err)
			return err;
		for (uint64_t i = 0; i < npages; i++, addr += page) {
			bool sel = selected(scan, scan->entries[i]);
			if (sel && !in_run) {
				in_run = true;
				run_start = addr;
			} else if (!sel && in_run) {
				goto done;
			}
		}
		if (in_run)
			break; /* hand out what we have; the rest comes next call */
	}
done:
	if (!in_run) {
		*found_ret = false;
		return NULL;
	}
	*start_ret = run_start > from ? run_start : from;
	*end_ret = addr < to ? addr : to;
	*found_ret = *start_ret < *end_ret;
	return NULL;
}

struct ms_error *ms_pmscan_next(struct ms_pmscan *scan, uint64_t from, uint64_t to,
				uint64_t *start_ret, uint64_t *end_ret, bool *found_ret)
{
	*found_ret = false;
	if (from >= to)
		return NULL;
	if (scan->use_ioctl)
		return next_ioctl(scan, from, to, start_ret, end_ret, found_ret);
	return next_fallback(scan, from, to, start_ret, end_ret, found_ret);
}

struct ms_error *ms_pmscan_skip(struct ms_pmscan *scan, uint64_t from, uint64_t to,
				uint64_t *next_ret, bool *found_ret)
{
	*found_ret = false;
	if (from >= to)
		return NULL;
	if (!scan->use_ioctl) {
		uint64_t rs, re;
		struct ms_error *err = next_fallback(scan, from, to, &rs, &re, found_ret);
		if (!err && *found_ret)
			*next_ret = rs;
		return err;
	}
	size_t page = ms_page_size();
	struct ms_pm_region r;
	struct ms_pm_query q = {
		.start = from / page * page,
		.end = (to + page - 1) / page * page,
		.max_pages = 1, /* stop at the first one */
	};
	fill_query(&q, scan->select);
	size_t n;
	uint64_t walk_end;
	struct ms_error *err = ms_pagemap_query(scan->pm, &q, &r, 1, &n, &walk_end);
	if (err)
		return err;
	if (n > 0) {
		*next_ret = r.start > from ? r.start : from;
		*found_ret = *next_ret < to;
	}
	return NULL;
}
