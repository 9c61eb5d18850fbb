/* SPDX-License-Identifier: MIT */
/*
 * Page-level views of a live process: /proc/PID/pagemap entries (present,
 * swapped, PFN, exclusive, soft-dirty, file/shared), the PAGEMAP_SCAN ioctl
 * where the kernel has it, the machine-wide /proc/kpageflags and
 * /proc/kpagecount, swap areas, and page cache residency (mincore). A page
 * walk turns these into runs of pages for the commands to print or count.
 * Which mapping a page belongs to is maps' business.
 * See the kernel's Documentation/admin-guide/mm/pagemap.rst.
 */
#ifndef MEMSCOPE_PAGEMAP_H
#define MEMSCOPE_PAGEMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "maps.h"

/* Bits of a pagemap entry. */
#define MS_PM_PFN_MASK		((UINT64_C(1) << 55) - 1)
#define MS_PM_SWAP_TYPE_MASK	UINT64_C(0x1f)
#define MS_PM_SWAP_OFFSET_SHIFT 5
#define MS_PM_SOFT_DIRTY	(UINT64_C(1) << 55)
#define MS_PM_EXCLUSIVE		(UINT64_C(1) << 56) /* mapped by exactly one process */
#define MS_PM_UFFD_WP		(UINT64_C(1) << 57)
#define MS_PM_GUARD		(UINT64_C(1) << 58) /* a guard region (MADV_GUARD_INSTALL) */
#define MS_PM_FILE		(UINT64_C(1) << 61) /* file page or shared anonymous */
#define MS_PM_SWAP		(UINT64_C(1) << 62)
#define MS_PM_PRESENT		(UINT64_C(1) << 63)

static inline uint64_t ms_pm_pfn(uint64_t e)
{
	return e & MS_PM_PFN_MASK;
}
static inline unsigned ms_pm_swap_type(uint64_t e)
{
	return (unsigned)(e & MS_PM_SWAP_TYPE_MASK);
}
static inline uint64_t ms_pm_swap_offset(uint64_t e)
{
	return (e & MS_PM_PFN_MASK) >> MS_PM_SWAP_OFFSET_SHIFT;
}

/* Bits of /proc/kpageflags (pagemap.rst), and the kernel-internal ones above 31. */
enum ms_kpf {
	MS_KPF_LOCKED = 0,
	MS_KPF_ERROR = 1,
	MS_KPF_REFERENCED = 2,
	MS_KPF_UPTODATE = 3,
	MS_KPF_DIRTY = 4,
	MS_KPF_LRU = 5,
	MS_KPF_ACTIVE = 6,
	MS_KPF_SLAB = 7,
	MS_KPF_WRITEBACK = 8,
	MS_KPF_RECLAIM = 9,
	MS_KPF_BUDDY = 10,
	MS_KPF_MMAP = 11,
	MS_KPF_ANON = 12,
	MS_KPF_SWAPCACHE = 13,
	MS_KPF_SWAPBACKED = 14,
	MS_KPF_COMPOUND_HEAD = 15,
	MS_KPF_COMPOUND_TAIL = 16,
	MS_KPF_HUGE = 17,
	MS_KPF_UNEVICTABLE = 18,
	MS_KPF_HWPOISON = 19,
	MS_KPF_NOPAGE = 20,
	MS_KPF_KSM = 21,
	MS_KPF_THP = 22,
	MS_KPF_OFFLINE = 23,
	MS_KPF_ZERO_PAGE = 24,
	MS_KPF_IDLE = 25,
	MS_KPF_PGTABLE = 26,
	/* kernel hacking assistance: subject to change */
	MS_KPF_RESERVED = 32,
	MS_KPF_MLOCKED = 33,
	MS_KPF_OWNER_2 = 34, /* PG_anon_exclusive on anonymous pages */
	MS_KPF_PRIVATE = 35,
	MS_KPF_PRIVATE_2 = 36,
	MS_KPF_OWNER_PRIVATE = 37,
	MS_KPF_ARCH = 38,
	MS_KPF_UNCACHED = 39,
	MS_KPF_SOFTDIRTY = 40,
	MS_KPF_ARCH_2 = 41,
	MS_KPF_ARCH_3 = 42,
};
#define MS_KPF(bit) (UINT64_C(1) << (bit))
/* The name of a kpageflags bit as pagemap.rst spells it ("COMPOUND_HEAD"), or NULL. */
const char *ms_kpageflag_name(unsigned bit);

/* An open /proc/PID/pagemap. */
struct ms_pagemap {
	int fd;
	pid_t pid;
	bool pfn_visible; /* PFNs are real (CAP_SYS_ADMIN), not zeroed by the kernel */
	int scan;	  /* PAGEMAP_SCAN works: 1 yes, 0 no, -1 not tried yet */
	int pidfd;	  /* to notice the process exiting; -1 if unavailable */
};

struct ms_error *ms_pagemap_open(pid_t pid, struct ms_pagemap *pm);
void ms_pagemap_close(struct ms_pagemap *pm);
/*
 * Read the entries of npages pages starting at the page containing vaddr.
 * A process that exited gives MS_ERROR_EXITED; an address beyond the
 * process's address space gives MS_ERROR_INVALID.
 */
struct ms_error *ms_pagemap_read(struct ms_pagemap *pm, uint64_t vaddr, size_t npages,
				 uint64_t *entries);

/* PAGEMAP_SCAN categories, as the kernel's PAGE_IS_* bits. */
enum ms_page_category {
	MS_PC_FILE = 1 << 2,
	MS_PC_PRESENT = 1 << 3,
	MS_PC_SWAPPED = 1 << 4, /* also guard and uffd-wp markers */
	MS_PC_PFNZERO = 1 << 5, /* the zero page or the huge zero page */
	MS_PC_HUGE = 1 << 6,	/* mapped by a PMD: THP or hugetlb */
	MS_PC_SOFT_DIRTY = 1 << 7,
};

struct ms_pm_region {
	uint64_t start, end, categories;
};

/* What a PAGEMAP_SCAN asks: the kernel's pm_scan_arg less the buffers. */
struct ms_pm_query {
	uint64_t start, end;
	uint64_t category_mask;	      /* pages must have all of these ... */
	uint64_t category_inverted;   /* ... with these bits inverted first */
	uint64_t category_anyof_mask; /* and at least one of these */
	uint64_t return_mask;	      /* categories reported per region */
	uint64_t max_pages;	      /* stop after this many pages; 0: no limit */
};

/*
 * PAGEMAP_SCAN for query: the matching runs into regions (at most max).
 * *walk_end_ret is where the kernel stopped (query->end, unless regions or
 * max_pages ran out). A kernel without the ioctl gives MS_ERROR_UNSUPPORTED
 * (and pm->scan becomes 0).
 */
struct ms_error *ms_pagemap_query(struct ms_pagemap *pm, const struct ms_pm_query *query,
				  struct ms_pm_region *regions, size_t max, size_t *count_ret,
				  uint64_t *walk_end_ret);
/* The common case: runs in [start, end) having any of anyof, reporting return_mask. */
struct ms_error *ms_pagemap_scan(struct ms_pagemap *pm, uint64_t start, uint64_t end,
				 uint64_t anyof, uint64_t return_mask, struct ms_pm_region *regions,
				 size_t max, size_t *count_ret, uint64_t *walk_end_ret);
/* Whether PAGEMAP_SCAN works on this pagemap (tried once, then remembered). */
bool ms_pagemap_has_scan(struct ms_pagemap *pm);

/*
 * The PFN of the shared zero page, learnt once from a page of this process
 * that was only read (root only; 0 if unknown). Architectures with several
 * zero pages (MIPS, s390) would need kpageflags instead.
 */
uint64_t ms_zero_pfn(void);
/* Whether this process may see PFNs and kpageflags (CAP_SYS_ADMIN). */
bool ms_pagemap_pfn_visible(void);
/* The page size of the machine. */
size_t ms_page_size(void);
/*
 * Whether a process is gone: no /proc entry, or a zombie (its memory is
 * already released).
 */
bool ms_pid_gone(pid_t pid);
/* The same for the process of an open pagemap (cheap: polls a pidfd). */
bool ms_pagemap_gone(struct ms_pagemap *pm);

/* /proc/kpageflags and /proc/kpagecount (root only). */
struct ms_kpage {
	int flags_fd, count_fd;
};
void ms_kpage_init(struct ms_kpage *kp);
void ms_kpage_deinit(struct ms_kpage *kp);
/* Read n consecutive entries from pfn; files are opened on first use. */
struct ms_error *ms_kpage_flags(struct ms_kpage *kp, uint64_t pfn, size_t n, uint64_t *flags);
struct ms_error *ms_kpage_count(struct ms_kpage *kp, uint64_t pfn, size_t n, uint64_t *counts);

/*
 * Swap areas from /proc/swaps. The swap type in a pagemap entry is the
 * kernel's index into swap_info[]; /proc/swaps lists the areas in
 * increasing index, skipping unused slots. So row i has type i, unless an
 * area enabled earlier was switched off while later ones stayed on; then
 * the numbering has a gap /proc/swaps does not show, and ms_swaps_find()
 * refuses offsets that do not fit the area.
 */
struct ms_swap_area {
	char *path;
	char kind[16]; /* "file", "partition" */
	uint64_t size_pages, used_pages;
	int priority;
	unsigned type; /* the swap_info index this row is taken to have */
};

struct ms_swaps {
	struct ms_swap_area *areas;
	size_t count;
};

struct ms_error *ms_swaps_read(struct ms_swaps **swaps_ret);
struct ms_error *ms_swaps_parse(const char *text, struct ms_swaps **swaps_ret);
void ms_swaps_destroy(struct ms_swaps *swaps);
/* The area holding swap entry (type, offset), or NULL if none fits. */
const struct ms_swap_area *ms_swaps_find(const struct ms_swaps *swaps, unsigned type,
					 uint64_t offset);

/*
 * Page cache residency of a file mapping's pages, for pages the process does
 * not map: the file is mapped (not read) into this process and asked with
 * mincore(). The file is opened through /proc/PID/map_files (root; works
 * for deleted files and shared memory) or by path if it is still the same
 * inode.
 */
struct ms_filecache {
	void *base;
	size_t len;
	uint64_t vma_start;
};
struct ms_error *ms_filecache_open(pid_t pid, const struct ms_vma *vma, struct ms_filecache *fc);
void ms_filecache_close(struct ms_filecache *fc);
/* vec[i] = 1 if the page at vaddr + i pages is in the page cache. */
struct ms_error *ms_filecache_resident(struct ms_filecache *fc, uint64_t vaddr, size_t npages,
				       uint8_t *vec);

/* What a page walk says about each page beyond its pagemap entry. */
enum ms_page_mark {
	MS_PAGE_PRESENT = 1 << 0,
	MS_PAGE_SWAPPED = 1 << 1, /* in swap (or a migration entry) */
	MS_PAGE_ZERO = 1 << 2,	  /* the shared zero page or the huge zero page */
	MS_PAGE_THP = 1 << 3,	  /* part of a transparent huge page */
	MS_PAGE_HUGETLB = 1 << 4, /* a hugetlbfs page */
	MS_PAGE_KSM = 1 << 5,	  /* merged by KSM */
	MS_PAGE_SHARED = 1 << 6,  /* mapped more than once (by another process, usually) */
	MS_PAGE_GUARD = 1 << 7,	  /* a guard region: access faults */
};

/*
 * A run of pages from a walk. entries is NULL for a run known only by its
 * marks (every page of the run is alike): then a run with no mark is a hole
 * (no page-table entry: never touched, or dropped). marks may be changed by
 * the caller (ms_page_marks_from_kpf).
 */
struct ms_page_run {
	uint64_t start; /* address of the first page */
	size_t npages;
	const uint64_t *entries; /* npages pagemap entries, or NULL */
	uint8_t *marks;		 /* npages marks, or NULL: each page has `mark` */
	uint8_t mark;
};

/* What a walk of one range should give. */
enum ms_walk_flags {
	/*
	 * Every present page's pagemap entry (PFN, exclusive bit). Without it,
	 * runs of present pages come as marks only where PAGEMAP_SCAN allows.
	 */
	MS_WALK_ENTRIES = 1 << 0,
	MS_WALK_NO_SCAN = 1 << 1, /* do not use PAGEMAP_SCAN (tests the fallback) */
};

struct ms_page_walk;

struct ms_error *ms_page_walk_create(struct ms_pagemap *pm, struct ms_page_walk **walk_ret);
void ms_page_walk_destroy(struct ms_page_walk *walk);
/* Start walking [start, end) (page-aligned). */
void ms_page_walk_start(struct ms_page_walk *walk, uint64_t start, uint64_t end, unsigned flags);
/*
 * The next run, in address order; *done_ret true once the range is over
 * (run is then unset). Runs are valid until the next call. Memory stays
 * bounded whatever the range's size. A process that exits mid-way gives
 * MS_ERROR_EXITED.
 */
struct ms_error *ms_page_walk_next(struct ms_page_walk *walk, struct ms_page_run *run,
				   bool *done_ret);
/*
 * Whether walks mark the zero page and PMD-mapped THP: with PAGEMAP_SCAN,
 * or as root (by PFN and kpageflags).
 */
bool ms_page_walk_marks_known(struct ms_page_walk *walk);

/* Marks that kpageflags adds (root only); see ms_page_marks_from_kpf(). */
enum ms_kpf_marks {
	MS_KPF_MARK_THP = 1 << 0,  /* THP mapped by PTEs (a split or partly mapped THP) */
	MS_KPF_MARK_KSM = 1 << 1,  /* KSM pages */
	MS_KPF_MARK_ZERO = 1 << 2, /* the zero pages */
};

/*
 * Which kpageflags marks a mapping deserves beyond what the walk found:
 * THP mapped by PTEs only in anonymous THP-eligible mappings, KSM only in
 * mergeable ones of a process with KSM pages (ksm_active). So a big
 * ordinary mapping costs no kpageflags read at all.
 */
unsigned ms_page_kpf_marks_for(const struct ms_vma *vma, bool ksm_active);

/*
 * Add what kpageflags says (enum ms_kpf_marks in what) to the marks of the
 * present pages of entries[0..n). Reads kpageflags once per run of
 * contiguous PFNs.
 */
struct ms_error *ms_page_marks_from_kpf(struct ms_kpage *kp, const uint64_t *entries,
					uint8_t *marks, size_t n, unsigned what);

/*
 * A bounded queue of copied runs, to read a process's pages ahead while
 * the caller waits for something else (smaps). Single-threaded.
 */
struct ms_page_queue;

struct ms_error *ms_page_queue_create(size_t max_runs, size_t max_pages,
				      struct ms_page_queue **queue_ret);
void ms_page_queue_destroy(struct ms_page_queue *queue);
/* Whether another push would go over the bounds. */
bool ms_page_queue_full(const struct ms_page_queue *queue);
bool ms_page_queue_empty(const struct ms_page_queue *queue);
/* Append a copy of run, tagged (a mapping index, say). */
struct ms_error *ms_page_queue_push(struct ms_page_queue *queue, size_t tag,
				    const struct ms_page_run *run);
/* Look at the oldest run without removing it; false if empty. */
bool ms_page_queue_peek(struct ms_page_queue *queue, size_t *tag_ret, struct ms_page_run *run);
/* Remove the oldest run (the one peek showed). */
void ms_page_queue_drop(struct ms_page_queue *queue);

/* Whether the process has KSM-merged pages (/proc/PID/ksm_stat; true if unknown). */
bool ms_pid_ksm_active(pid_t pid);

/* Everything about one page, for vtop. */
struct ms_page_detail {
	uint64_t vaddr;
	uint64_t entry;		     /* pagemap entry */
	bool have_categories;	     /* PAGEMAP_SCAN answered */
	uint64_t categories;	     /* enum ms_page_category */
	bool have_kpf;		     /* kpageflags and kpagecount were read (root) */
	uint64_t kpf, mapcount;	     /* of the page */
	bool in_folio;		     /* part of a compound page (THP, hugetlb, large folio) */
	uint64_t head_pfn, nr_pages; /* the compound page */
};

struct ms_error *ms_page_detail_get(struct ms_pagemap *pm, struct ms_kpage *kp, uint64_t vaddr,
				    struct ms_page_detail *info);

#endif
