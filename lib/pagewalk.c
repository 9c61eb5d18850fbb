/* SPDX-License-Identifier: MIT */
/*
 * Page walks over a range of a process: PAGEMAP_SCAN finds the pages that
 * exist (present or swapped) and skips holes at page-table speed, telling
 * the zero page and PMD-mapped THP apart on the way; pagemap is read in
 * large batches only where pages exist. Without PAGEMAP_SCAN, pagemap is
 * read in batches everywhere. kpageflags is read only on request, per run
 * of contiguous PFNs. Also the bounded run queue used to read ahead.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "pagemap.h"

enum {
	WALK_BATCH = 1 << 16,	/* pages per pagemap read: 512 KiB of entries */
	WALK_REGIONS = 1 << 12, /* regions per PAGEMAP_SCAN */
};

#define SCAN_ANYOF  (MS_PC_PRESENT | MS_PC_SWAPPED)
#define SCAN_RETURN (MS_PC_PRESENT | MS_PC_SWAPPED | MS_PC_PFNZERO | MS_PC_HUGE)

struct ms_page_walk {
	struct ms_pagemap *pm;
	uint64_t cur, end;
	unsigned flags;
	bool scanned;
	/* PAGEMAP_SCAN results covering [.., scanned_to) */
	struct ms_page_region *regions;
	size_t nregions, ridx;
	uint64_t scanned_to;
	/* without PAGEMAP_SCAN: a batch read, handed out run by run */
	uint64_t batch_start;
	size_t batch_len, batch_pos;
	uint64_t *entries;
	uint8_t *marks;
};

struct ms_error *ms_page_walk_create(struct ms_pagemap *pm, struct ms_page_walk **walk_ret)
{
	struct ms_page_walk *w = calloc(1, sizeof(*w));
	if (!w)
		return &ms_error_no_memory;
	w->pm = pm;
	w->regions = malloc(WALK_REGIONS * sizeof(*w->regions));
	w->entries = malloc(WALK_BATCH * sizeof(*w->entries));
	w->marks = malloc(WALK_BATCH);
	if (!w->regions || !w->entries || !w->marks) {
		ms_page_walk_destroy(w);
		return &ms_error_no_memory;
	}
	*walk_ret = w;
	return NULL;
}

void ms_page_walk_destroy(struct ms_page_walk *walk)
{
	if (!walk)
		return;
	free(walk->regions);
	free(walk->entries);
	free(walk->marks);
	free(walk);
}

void ms_page_walk_start(struct ms_page_walk *walk, uint64_t start, uint64_t end, unsigned flags)
{
	walk->cur = start;
	walk->end = end;
	walk->flags = flags;
	walk->nregions = walk->ridx = 0;
	walk->scanned_to = start;
	walk->batch_len = walk->batch_pos = 0;
	walk->scanned = !(flags & MS_WALK_NO_SCAN) && ms_pagemap_has_scan(walk->pm);
}

bool ms_page_walk_scanned(const struct ms_page_walk *walk)
{
	return walk->scanned;
}

static uint8_t marks_of_categories(uint64_t c)
{
	uint8_t m = 0;
	if (c & MS_PC_PRESENT) {
		m |= MS_PAGE_PRESENT;
		if (c & MS_PC_PFNZERO)
			m |= MS_PAGE_ZERO;
		else if (c & MS_PC_HUGE)
			m |= MS_PAGE_THP;
	}
	return m;
}

/* The marks of one page from its entry; cat carries ZERO/THP from the scan. */
static inline uint8_t marks_of_entry(uint64_t e, uint8_t cat)
{
	if (e & MS_PM_PRESENT) {
		uint8_t m = MS_PAGE_PRESENT | (cat & (MS_PAGE_ZERO | MS_PAGE_THP));
		if (!(e & MS_PM_EXCLUSIVE) && !(m & MS_PAGE_ZERO))
			m |= MS_PAGE_SHARED;
		return m;
	}
	if (e & MS_PM_SWAP)
		return MS_PAGE_SWAPPED;
	if (e & MS_PM_GUARD)
		return MS_PAGE_GUARD;
	return 0;
}

static void set_hole(struct ms_page_run *run, uint64_t start, uint64_t end)
{
	size_t page = ms_page_size();
	run->start = start;
	run->npages = (size_t)((end - start) / page);
	run->entries = NULL;
	run->marks = NULL;
	run->mark = 0;
}

/* Without PAGEMAP_SCAN: hand out the batch as runs of holes and of pages. */
static struct ms_error *next_fallback(struct ms_page_walk *w, struct ms_page_run *run)
{
	size_t page = ms_page_size();
	if (w->batch_pos == w->batch_len) {
		size_t n = (size_t)((w->end - w->cur) / page);
		if (n > WALK_BATCH)
			n = WALK_BATCH;
		struct ms_error *err = ms_pagemap_read(w->pm, w->cur, n, w->entries);
		if (err)
			return err;
		w->batch_start = w->cur;
		w->batch_len = n;
		w->batch_pos = 0;
	}
	size_t i = w->batch_pos, j = i;
	uint64_t start = w->batch_start + i * page;
	if (w->entries[i] == 0) {
		while (j < w->batch_len && w->entries[j] == 0)
			j++;
		set_hole(run, start, start + (j - i) * page);
	} else {
		while (j < w->batch_len && w->entries[j] != 0) {
			w->marks[j] = marks_of_entry(w->entries[j], 0);
			j++;
		}
		run->start = start;
		run->npages = j - i;
		run->entries = w->entries + i;
		run->marks = w->marks + i;
		run->mark = 0;
	}
	w->batch_pos = j;
	w->cur = start + (j - i) * page;
	return NULL;
}

static struct ms_error *next_scanned(struct ms_page_walk *w, struct ms_page_run *run)
{
	size_t page = ms_page_size();
	while (w->ridx == w->nregions) {
		if (w->cur < w->scanned_to) {
			set_hole(run, w->cur, w->scanned_to);
			w->cur = w->scanned_to;
			return NULL;
		}
		size_t n;
		uint64_t walk_end;
		struct ms_error *err =
		    ms_pagemap_scan(w->pm, w->cur, w->end, SCAN_ANYOF, SCAN_RETURN, w->regions,
				    WALK_REGIONS, &n, &walk_end);
		if (err)
			return err;
		/*
		 * An exited process has no mappings left: its scan finds
		 * nothing, as it would for memory never touched.
		 */
		if (n == 0 && ms_pagemap_gone(w->pm))
			return ms_error_create(MS_ERROR_EXITED, "process %d exited",
					       (int)w->pm->pid);
		if (walk_end <= w->cur || walk_end > w->end)
			walk_end = n ? w->regions[n - 1].end : w->end;
		w->nregions = n;
		w->ridx = 0;
		w->scanned_to = walk_end;
	}
	const struct ms_page_region *r = &w->regions[w->ridx];
	if (w->cur < r->start) {
		set_hole(run, w->cur, r->start);
		w->cur = r->start;
		return NULL;
	}
	uint8_t cat = marks_of_categories(r->categories);
	bool need_entries = (w->flags & MS_WALK_ENTRIES) || !(r->categories & MS_PC_PRESENT);
	if (!need_entries) {
		run->start = w->cur;
		run->npages = (size_t)((r->end - w->cur) / page);
		run->entries = NULL;
		run->marks = NULL;
		run->mark = cat;
		w->cur = r->end;
		w->ridx++;
		return NULL;
	}
	size_t n = (size_t)((r->end - w->cur) / page);
	if (n > WALK_BATCH)
		n = WALK_BATCH;
	struct ms_error *err = ms_pagemap_read(w->pm, w->cur, n, w->entries);
	if (err)
		return err;
	for (size_t i = 0; i < n; i++)
		w->marks[i] = marks_of_entry(w->entries[i], cat);
	run->start = w->cur;
	run->npages = n;
	run->entries = w->entries;
	run->marks = w->marks;
	run->mark = 0;
	w->cur += n * page;
	if (w->cur >= r->end)
		w->ridx++;
	return NULL;
}

struct ms_error *ms_page_walk_next(struct ms_page_walk *walk, struct ms_page_run *run,
				   bool *done_ret)
{
	if (walk->cur >= walk->end) {
		*done_ret = true;
		return NULL;
	}
	*done_ret = false;
	if (walk->scanned) {
		struct ms_error *err = next_scanned(walk, run);
		if (!err || err->code != MS_ERROR_UNSUPPORTED)
			return err;
		ms_error_destroy(err);
		walk->scanned = false;
	}
	return next_fallback(walk, run);
}

/* ---- kpageflags marks ---- */

unsigned ms_page_kpf_marks_for(const struct ms_vma *vma, bool ksm_active, bool scanned)
{
	unsigned what = 0;
	bool anon = !ms_vma_is_file(vma) || (vma->usage.anonymous > 0);
	if (anon && vma->has_smaps &&
	    (vma->usage.thp_eligible || (vma->vm_flags & MS_VM_HUGEPAGE)) &&
	    !(vma->vm_flags & MS_VM_HUGETLB))
		what |= MS_KPF_MARK_THP;
	if (ksm_active && (!vma->has_smaps || (vma->vm_flags & MS_VM_MERGEABLE)))
		what |= MS_KPF_MARK_KSM;
	if (!scanned)
		what |= MS_KPF_MARK_ZERO | MS_KPF_MARK_THP;
	return what;
}

struct ms_error *ms_page_marks_from_kpf(struct ms_kpage *kp, const uint64_t *entries,
					uint8_t *marks, size_t n, unsigned what)
{
	enum { CHUNK = 512 };
	uint64_t flags[CHUNK];
	size_t i = 0;
	while (i < n) {
		if (!(entries[i] & MS_PM_PRESENT)) {
			i++;
			continue;
		}
		uint64_t pfn = ms_pm_pfn(entries[i]);
		size_t j = i + 1;
		while (j < n && j - i < CHUNK && (entries[j] & MS_PM_PRESENT) &&
		       ms_pm_pfn(entries[j]) == pfn + (j - i))
			j++;
		struct ms_error *err = ms_kpage_flags(kp, pfn, j - i, flags);
		if (err)
			return err;
		for (size_t k = i; k < j; k++) {
			uint64_t f = flags[k - i];
			uint8_t m = marks[k];
			if ((what & MS_KPF_MARK_ZERO) && (f & MS_KPF(MS_KPF_ZERO_PAGE)))
				m = (uint8_t)((m | MS_PAGE_ZERO) & ~(MS_PAGE_SHARED | MS_PAGE_THP));
			if ((what & MS_KPF_MARK_THP) && (f & MS_KPF(MS_KPF_THP)) &&
			    !(m & MS_PAGE_ZERO))
				m |= MS_PAGE_THP;
			if ((what & MS_KPF_MARK_KSM) && (f & MS_KPF(MS_KPF_KSM)))
				m |= MS_PAGE_KSM;
			marks[k] = m;
		}
		i = j;
	}
	return NULL;
}

/* ---- the read-ahead queue ---- */

struct queued_run {
	size_t tag;
	struct ms_page_run run;
	uint64_t *entries; /* owned copies */
	uint8_t *marks;
};

struct ms_page_queue {
	struct queued_run *runs; /* ring */
	size_t cap, head, count;
	size_t max_pages, pages;
};

struct ms_error *ms_page_queue_create(size_t max_runs, size_t max_pages,
				      struct ms_page_queue **queue_ret)
{
	struct ms_page_queue *q = calloc(1, sizeof(*q));
	if (!q)
		return &ms_error_no_memory;
	q->runs = calloc(max_runs ? max_runs : 1, sizeof(*q->runs));
	if (!q->runs) {
		free(q);
		return &ms_error_no_memory;
	}
	q->cap = max_runs ? max_runs : 1;
	q->max_pages = max_pages;
	*queue_ret = q;
	return NULL;
}

static void queued_free(struct ms_page_queue *q, struct queued_run *r)
{
	if (r->entries)
		q->pages -= r->run.npages;
	free(r->entries);
	free(r->marks);
	memset(r, 0, sizeof(*r));
}

void ms_page_queue_destroy(struct ms_page_queue *queue)
{
	if (!queue)
		return;
	while (queue->count)
		ms_page_queue_drop(queue);
	free(queue->runs);
	free(queue);
}

bool ms_page_queue_full(const struct ms_page_queue *queue)
{
	return queue->count == queue->cap || queue->pages + WALK_BATCH > queue->max_pages;
}

bool ms_page_queue_empty(const struct ms_page_queue *queue)
{
	return queue->count == 0;
}

struct ms_error *ms_page_queue_push(struct ms_page_queue *queue, size_t tag,
				    const struct ms_page_run *run)
{
	if (queue->count == queue->cap)
		return ms_error_create(MS_ERROR_OTHER, "page queue full");
	struct queued_run *q = &queue->runs[(queue->head + queue->count) % queue->cap];
	memset(q, 0, sizeof(*q));
	q->tag = tag;
	q->run = *run;
	if (run->entries) {
		q->entries = malloc(run->npages * sizeof(*q->entries));
		q->marks = malloc(run->npages);
		if (!q->entries || !q->marks) {
			free(q->entries);
			free(q->marks);
			return &ms_error_no_memory;
		}
		memcpy(q->entries, run->entries, run->npages * sizeof(*q->entries));
		memcpy(q->marks, run->marks, run->npages);
		q->run.entries = q->entries;
		q->run.marks = q->marks;
		queue->pages += run->npages;
	}
	queue->count++;
	return NULL;
}

bool ms_page_queue_peek(struct ms_page_queue *queue, size_t *tag_ret, struct ms_page_run *run)
{
	if (!queue->count)
		return false;
	struct queued_run *q = &queue->runs[queue->head];
	*tag_ret = q->tag;
	*run = q->run;
	return true;
}

void ms_page_queue_drop(struct ms_page_queue *queue)
{
	if (!queue->count)
		return;
	queued_free(queue, &queue->runs[queue->head]);
	queue->head = (queue->head + 1) % queue->cap;
	queue->count--;
}
