/* SPDX-License-Identifier: MIT */
/*
 * A picture of physical memory: /proc/kpageflags walked over the machine's
 * (or one node's) PFN range and counted per cell (a pageblock, or N pages)
 * by what fills each page: free, anonymous, page cache, THP, slab, page
 * tables, reserved, holes. Also the SVG and PNG writers of that picture.
 * Zone spans come from frag (zoneinfo); the terminal rendering is the
 * front end's.
 */
#ifndef MEMSCOPE_PHYSMAP_H
#define MEMSCOPE_PHYSMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"
#include "frag.h"

/* kpageflags bits (include/uapi/linux/kernel-page-flags.h). */
enum {
	MS_KPF_LRU = 5,
	MS_KPF_SLAB = 7,
	MS_KPF_BUDDY = 10,
	MS_KPF_MMAP = 11,
	MS_KPF_ANON = 12,
	MS_KPF_SWAPBACKED = 14,
	MS_KPF_HUGE = 17,
	MS_KPF_NOPAGE = 20,
	MS_KPF_THP = 22,
	MS_KPF_PGTABLE = 26,
	MS_KPF_RESERVED = 32,
};

/*
 * What fills a page, first match wins in this order: hole (outside every
 * "System RAM" range of /proc/iomem, or KPF_NOPAGE), free (KPF_BUDDY),
 * reserved (KPF_RESERVED), page table (KPF_PGTABLE), slab (KPF_SLAB), hugetlb
 * (KPF_HUGE), THP (KPF_THP), anonymous (KPF_ANON), page cache (KPF_LRU or
 * KPF_MMAP, not anonymous: file pages and shmem), other (anything else: kernel
 * allocations without a telling flag, or memory not yet initialised).
 */
enum ms_physmap_cat {
	MS_PHYSMAP_FREE,
	MS_PHYSMAP_ANON,
	MS_PHYSMAP_CACHE,
	MS_PHYSMAP_THP,
	MS_PHYSMAP_HUGETLB,
	MS_PHYSMAP_SLAB,
	MS_PHYSMAP_PGTABLE,
	MS_PHYSMAP_RESERVED,
	MS_PHYSMAP_OTHER,
	MS_PHYSMAP_HOLE,
	MS_PHYSMAP_NR_CATS,
};

const char *ms_physmap_cat_name(enum ms_physmap_cat cat);
/* One line on what the category means, for legends. */
const char *ms_physmap_cat_description(enum ms_physmap_cat cat);
/* The category of a page that has a struct page (inside System RAM). */
enum ms_physmap_cat ms_physmap_classify(uint64_t kpageflags);

/* A run of PFNs [start, end). */
struct ms_physmap_range {
	uint64_t start, end;
};

/* /proc/iomem's top-level "System RAM" ranges as whole PFNs; root sees addresses. */
struct ms_error *ms_physmap_parse_iomem(const char *text, size_t page_size,
					struct ms_physmap_range **ranges_ret, size_t *nr_ret);

/* Consecutive cells belonging to one zone (or to none: node -1). */
struct ms_physmap_section {
	int node;
	char zone[16];
	uint64_t start_pfn, end_pfn; /* the cells' PFNs */
	/* the zone's own span (zoneinfo start_pfn, spanned): cells round it */
	uint64_t zone_start_pfn, zone_end_pfn;
	size_t first_cell, nr_cells;
};

struct ms_physmap {
	uint64_t pages_per_cell;
	size_t page_size;
	uint64_t start_pfn, end_pfn; /* start is a multiple of pages_per_cell */
	size_t nr_cells;
	uint32_t (*counts)[MS_PHYSMAP_NR_CATS]; /* per cell */
	uint64_t totals[MS_PHYSMAP_NR_CATS];
	size_t nr_sections;
	struct ms_physmap_section *sections;
	size_t nr_ram;
	struct ms_physmap_range *ram;
	double seconds; /* time spent reading kpageflags */
};

/*
 * "Node 0, zone DMA  PFN 0x1-0x1000  16.0 MiB", with the cells' range after
 * it where cells larger than the zone's alignment round it.
 */
void ms_physmap_section_label(const struct ms_physmap *pm, const struct ms_physmap_section *s,
			      char *buf, size_t len);

/* The most cells a map may have (memory for the counts stays under ~40 MiB). */
#define MS_PHYSMAP_MAX_CELLS (1u << 20)

struct ms_physmap_opts {
	uint64_t pages_per_cell; /* 0: one pageblock */
	int node;		 /* -1: every node */
	/* Called now and then with PFNs done of total; may be NULL. */
	void (*progress)(void *arg, uint64_t done, uint64_t total);
	void *progress_arg;
	volatile int *interrupted; /* stop early when it becomes non-zero; may be NULL */
};

/*
 * Build the map. frag supplies zone spans (zoneinfo) and the pageblock order;
 * RAM ranges are read from /proc/iomem. Needs root for kpageflags.
 */
struct ms_error *ms_physmap_build(const struct ms_frag *frag, const struct ms_physmap_opts *opts,
				  struct ms_physmap *pm);
void ms_physmap_deinit(struct ms_physmap *pm);

/* The category that fills most of a cell (ties: the earlier category). */
enum ms_physmap_cat ms_physmap_cell_main(const struct ms_physmap *pm, size_t cell);
/* Whether a cell is wholly of one category (a whole free cell is a usable huge block). */
bool ms_physmap_cell_whole(const struct ms_physmap *pm, size_t cell);

/*
 * Colours as xterm 256-colour indices, shared by the terminal map and the
 * pictures. "Free" has two: a wholly free cell and a cell mostly free.
 */
unsigned ms_physmap_colour(enum ms_physmap_cat cat, bool whole);
/* The RGB of an xterm 256-colour index. */
void ms_physmap_rgb(unsigned index, uint8_t rgb[3]);

/* The pictures: one row of cells per line, a labelled band per zone, a legend. */
struct ms_error *ms_physmap_write_svg(const struct ms_physmap *pm, const char *path,
				      const char *title);
struct ms_error *ms_physmap_write_png(const struct ms_physmap *pm, const char *path,
				      const char *title);

#endif
