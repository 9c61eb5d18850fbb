/* SPDX-License-Identifier: MIT */
/*
 * Page walks over a range of a process, two ways. Scanning: PAGEMAP_SCAN
 * finds the pages that exist (present or swapped) and skips holes at
 * page-table speed, telling the zero page and PMD-mapped THP apart on the
 * way; pagemap is then read only where pages exist. Reading straight:
 * pagemap in large batches, which is cheaper where most pages exist; root
 * then tells the zero page by its PFN and a THP by 512 contiguous, aligned
 * PFNs whose first page kpageflags confirms. A walk starts reading straight
 * when it can tell those marks (root) and switches to scanning at the first
 * mostly empty batch; without PAGEMAP_SCAN it reads straight throughout.
 * Also the bounded run queue used to read ahead.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "pagemap.h"

enum {
	WALK_BATCH = 1 << 16,	/* pages per pagemap read: 512 KiB of entries */
	WALK_REGIONS = 1 << 12, /* regions per PAGEMAP_SCAN */
};

#define SCAN_ANYOF  (MS_PC_PRESENT | MS_PC_SWAPPED)
#define SCAN_RETURN (MS_PC_PRESENT | MS_PC_SWAPPED | MS_PC_PFNZERO | MS_PC_HUGE)

struct ms_page_walk {
	struct ms_pagemap *pm;
	struct ms_kpage kp;
	uint64_t zero_pfn; /* 0: unknown */
	uint64_t cur, end;
	unsigned flags;
	bool can_scan; /* PAGEMAP_SCAN works and is allowed */
	bool direct;   /* reading pagemap straight rather than scanning first */
	/* PAGEMAP_SCAN results covering [.., scanned_to) */
	struct ms_pm_region *regions;
	size_t nregions, ridx;
	uint64_t scanned_to;
	/* reading straight: a batch, handed out run by run */
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
	ms_kpage_init(&w->kp);
	w->zero_pfn = pm->pfn_visible ? ms_zero_pfn() : 0;
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
	ms_kpage_deinit(&walk->kp);
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
	walk->can_scan = !(flags & MS_WALK_NO_SCAN) && ms_pagemap_has_scan(walk->pm);
	/*
	 * Straight reads pay off on big ranges where entries are wanted
	 * anyway, and need root to tell the marks.
	 */
	walk->direct = !walk->can_scan || ((flags & MS_WALK_ENTRIES) && walk->zero_pfn &&
					   end - start >= (uint64_t)ms_page_size() * 512);
}

bool ms_page_walk_marks_known(struct ms_page_walk *walk)
{
	return ms_pagemap_has_scan(walk->pm) || walk->zero_pfn;
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
	/* the kernel sets the swap bit on guard markers too */
	if (e & MS_PM_GUARD)
		return MS_PAGE_GUARD;
	if (e & MS_PM_SWAP)
		return MS_PAGE_SWAPPED;
	return 0;
}

/*
 * Whether an entry stands for a page (or a guard). Holes may carry bits too:
 * soft-dirty in a VM_SOFTDIRTY mapping, uffd-wp markers.
 */
static inline bool is_page(uint64_t e)
{
	return e & (MS_PM_PRESENT | MS_PM_SWAP | MS_PM_GUARD);
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

/*
 * Root, reading straight: the zero page by PFN, THP (or hugetlb) where a
 * 2 MiB-aligned block of 512 pages has contiguous PFNs from a 512-aligned
 * one and kpageflags says its first page is huge. Anything else a PMD can
 * map would not pass.
 */
static struct ms_error *mark_direct(struct ms_page_walk *w, uint64_t start, size_t n)
{
	size_t page = ms_page_size();
	enum { BLOCK = 512 };
	size_t i = (size_t)((BLOCK - start / page % BLOCK) % BLOCK);
	for (; i + BLOCK <= n; i += BLOCK) {
		const uint64_t *e = w->entries + i;
		uint64_t pfn = ms_pm_pfn(e[0]);
		if (!(e[0] & MS_PM_PRESENT) || pfn % BLOCK || pfn == 0)
			continue;
		size_t k = 1;
		while (k < BLOCK && (e[k] & MS_PM_PRESENT) && ms_pm_pfn(e[k]) == pfn + k)
			k++;
		if (k < BLOCK)
			continue;
		uint64_t flags;
		struct ms_error *err = ms_kpage_flags(&w->kp, pfn, 1, &flags);
		if (err)
			return err;
		if (!(flags & (MS_KPF(MS_KPF_THP) | MS_KPF(MS_KPF_HUGE))))
			continue;
		bool zero = flags & MS_KPF(MS_KPF_ZERO_PAGE);
		for (k = 0; k < BLOCK; k++)
			w->marks[i + k] = zero ? MS_PAGE_PRESENT | MS_PAGE_ZERO
					       : (uint8_t)(w->marks[i + k] | MS_PAGE_THP);
	}
	return NULL;
}

/* Reading straight: hand out the batch as runs of holes and of pages. */
static struct ms_error *next_direct(struct ms_page_walk *w, struct ms_page_run *run)
{
	size_t page = ms_page_size();
	if (w->batch_pos == w->batch_len) {
		/* batches end 2 MiB-aligned, so THP blocks are never cut */
		size_t n = (size_t)((w->end - w->cur) / page);
		size_t room = WALK_BATCH - (size_t)(w->cur / page % 512);
		if (n > room)
			n = room;
		struct ms_error *err = ms_pagemap_read(w->pm, w->cur, n, w->entries);
		if (err)
			return err;
		size_t used = 0;
		uint64_t zero = w->zero_pfn ? MS_PM_PRESENT | w->zero_pfn : 0;
		for (size_t i = 0; i < n; i++) {
			uint64_t e = w->entries[i];
			w->marks[i] = zero && (e & (MS_PM_PRESENT | MS_PM_PFN_MASK)) == zero
					      ? MS_PAGE_PRESENT | MS_PAGE_ZERO
					      : marks_of_entry(e, 0);
			used += is_page(e);
		}
		if (w->zero_pfn) {
			err = mark_direct(w, w->cur, n);
			if (err)
				return err;
		}
		w->batch_start = w->cur;
		w->batch_len = n;
		w->batch_pos = 0;
		/* mostly holes: scanning skips them faster from here on */
		if (w->can_scan && used * 8 < n)
			w->direct = false;
	}
	size_t i = w->batch_pos, j = i;
	uint64_t start = w->batch_start + i * page;
	if (!is_page(w->entries[i])) {
		while (j < w->batch_len && !is_page(w->entries[j]))
			j++;
		set_hole(run, start, start + (j - i) * page);
	} else {
		while (j < w->batch_len && is_page(w->entries[j]))
			j++;
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
	const struct ms_pm_region *r = &w->regions[w->ridx];
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
	/* a batch read straight is handed out to its end, whatever comes next */
	if (walk->direct || walk->batch_pos < walk->batch_len)
		return next_direct(walk, run);
	struct ms_error *err = next_scanned(walk, run);
	if (!err || err->code != MS_ERROR_UNSUPPORTED)
		return err;
	ms_error_destroy(err);
	walk->can_scan = false;
	walk->direct = true;
	return next_direct(walk, run);
}

/* ---- kpageflags marks ---- */

unsigned ms_page_kpf_marks_for(const struct ms_vma *vma, bool ksm_active)
{
	unsigned what = 0;
	bool anon = !ms_vma_is_file(vma);
	if (anon && vma->has_smaps &&
	    (vma->usage.thp_eligible || (vma->vm_flags & MS_VM_HUGEPAGE)) &&
	    !(vma->vm_flags & MS_VM_HUGETLB))
		what |= MS_KPF_MARK_THP;
	if (ksm_active && (!vma->has_smaps || (vma->vm_flags & MS_VM_MERGEABLE)))
		what |= MS_KPF_MARK_KSM;
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

/*
 * Runs are copied into one arena, allocated once: runs are pushed while
 * reading ahead and then taken out in order, and the arena starts over
 * whenever the queue is empty, so it never needs to wrap around.
 */
struct queued_run {
	size_t tag;
	struct ms_page_run run;
};

struct ms_page_queue {
	struct queued_run *runs; /* ring */
	size_t cap, head, count;
	size_t max_pages, used; /* arena pages handed out */
	uint64_t *entries;	/* arena: max_pages entries */
	uint8_t *marks;		/* and as many marks */
	size_t arena_len;
};

struct ms_error *ms_page_queue_create(size_t max_runs, size_t max_pages,
				      struct ms_page_queue **queue_ret)
{
	struct ms_page_queue *q = calloc(1, sizeof(*q));
	if (!q)
		return &ms_error_no_memory;
	q->cap = max_runs ? max_runs : 1;
	q->max_pages = max_pages;
	q->runs = calloc(q->cap, sizeof(*q->runs));
	q->arena_len = max_pages * (sizeof(uint64_t) + 1);
	void *arena = mmap(NULL, q->arena_len, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (!q->runs || arena == MAP_FAILED) {
		free(q->runs);
		if (arena != MAP_FAILED)
			munmap(arena, q->arena_len);
		free(q);
		return &ms_error_no_memory;
	}
	/* fewer page faults while filling it */
	madvise(arena, q->arena_len, MADV_HUGEPAGE);
	q->entries = arena;
	q->marks = (uint8_t *)arena + max_pages * sizeof(uint64_t);
	*queue_ret = q;
	return NULL;
}

void ms_page_queue_destroy(struct ms_page_queue *queue)
{
	if (!queue)
		return;
	munmap(queue->entries, queue->arena_len);
	free(queue->runs);
	free(queue);
}

bool ms_page_queue_full(const struct ms_page_queue *queue)
{
	return queue->count == queue->cap || queue->used + WALK_BATCH > queue->max_pages;
}

bool ms_page_queue_empty(const struct ms_page_queue *queue)
{
	return queue->count == 0;
}

struct ms_error *ms_page_queue_push(struct ms_page_queue *queue, size_t tag,
				    const struct ms_page_run *run)
{
	if (queue->count == queue->cap ||
	    (run->entries && queue->used + run->npages > queue->max_pages))
		return ms_error_create(MS_ERROR_OTHER, "page queue full");
	struct queued_run *q = &queue->runs[(queue->head + queue->count) % queue->cap];
	q->tag = tag;
	q->run = *run;
	if (run->entries) {
		uint64_t *e = queue->entries + queue->used;
		uint8_t *m = queue->marks + queue->used;
		memcpy(e, run->entries, run->npages * sizeof(*e));
		memcpy(m, run->marks, run->npages);
		q->run.entries = e;
		q->run.marks = m;
		queue->used += run->npages;
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
	queue->head = (queue->head + 1) % queue->cap;
	if (--queue->count == 0)
		queue->head = queue->used = 0;
}
