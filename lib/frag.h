/* SPDX-License-Identifier: MIT */
/*
 * External fragmentation of the page allocator: /proc/buddyinfo,
 * /proc/pagetypeinfo and /proc/zoneinfo parsed per node and zone, the
 * unusable-free and fragmentation indices of mm/vmstat.c in the kernel's own
 * integer arithmetic, and whether an order-N allocation would succeed now.
 * Running compaction and the kcompactd model are compact's; meminfo and
 * vmstat belong to sysmem.
 */
#ifndef MEMSCOPE_FRAG_H
#define MEMSCOPE_FRAG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

#define MS_FRAG_MAX_ORDERS 16 /* NR_PAGE_ORDERS is 11 on x86-64, 14 on arm64 64K */
#define MS_FRAG_MAX_TYPES  12 /* migrate types in pagetypeinfo */
#define MS_FRAG_MAX_ZONES  8  /* MAX_NR_ZONES: lowmem_reserve entries */
#define MS_FRAG_UNKNOWN	   UINT64_MAX
/* PAGE_ALLOC_COSTLY_ORDER: above it the kernel consults the fragmentation index. */
#define MS_FRAG_COSTLY_ORDER 3

/* One migrate type's free lists in a zone (pagetypeinfo). */
struct ms_frag_type {
	char name[24];
	uint64_t free[MS_FRAG_MAX_ORDERS]; /* free blocks per order */
	bool capped[MS_FRAG_MAX_ORDERS];   /* the kernel stopped counting (">100000") */
	uint64_t pageblocks;		   /* MS_FRAG_UNKNOWN if not listed */
};

struct ms_frag_zone {
	int node;
	char name[16];
	int index;	/* the zone's index in its node (ZONE_DMA = 0), -1 if unknown */
	bool populated; /* listed in buddyinfo */
	uint64_t free[MS_FRAG_MAX_ORDERS]; /* buddyinfo: free blocks per order */

	/* pagetypeinfo (root only) */
	int nr_types;
	struct ms_frag_type types[MS_FRAG_MAX_TYPES];

	/* zoneinfo; MS_FRAG_UNKNOWN where the kernel does not print the field */
	bool have_zoneinfo;
	uint64_t pages_free; /* NR_FREE_PAGES */
	uint64_t boost, min, low, high, promo;
	uint64_t spanned, present, managed, cma;
	uint64_t nr_free_cma;
	uint64_t start_pfn;
	uint64_t pcp_count; /* pages on the per-CPU lists (pagesets count) */
	int nr_protection;
	int64_t protection[MS_FRAG_MAX_ZONES]; /* lowmem_reserve[] */
};

struct ms_frag {
	int nr_orders;	     /* NR_PAGE_ORDERS: buddyinfo's columns */
	int pageblock_order; /* -1 without pagetypeinfo */
	bool have_pagetypeinfo;
	bool have_zoneinfo;
	size_t nr_zones; /* every zone of zoneinfo, plus populated ones of buddyinfo */
	struct ms_frag_zone *zones;
};

void ms_frag_init(struct ms_frag *frag);
void ms_frag_deinit(struct ms_frag *frag);

/* Parsers for the text of each file (recorded files in tests, live ones in ms_frag_read). */
struct ms_error *ms_frag_parse_buddyinfo(struct ms_frag *frag, const char *text);
struct ms_error *ms_frag_parse_pagetypeinfo(struct ms_frag *frag, const char *text);
struct ms_error *ms_frag_parse_zoneinfo(struct ms_frag *frag, const char *text);

/* Read root's /proc/buddyinfo (root NULL: the live machine) into frag. */
struct ms_error *ms_frag_read_buddyinfo(const char *root, struct ms_frag *frag);
/*
 * Read the live files. pagetypeinfo is readable by root only; without it
 * have_pagetypeinfo stays false and that is not an error.
 */
struct ms_error *ms_frag_read(struct ms_frag *frag);

struct ms_frag_zone *ms_frag_find_zone(const struct ms_frag *frag, int node, const char *name);
/* Free pages on a zone's buddy lists: sum of free[o] << o. */
uint64_t ms_frag_zone_buddy_pages(const struct ms_frag *frag, const struct ms_frag_zone *zone);
/* The highest node number present, -1 if none. */
int ms_frag_max_node(const struct ms_frag *frag);

/* mm/vmstat.c's struct contig_page_info, filled as fill_contig_page_info() does. */
struct ms_frag_contig {
	uint64_t free_pages;
	uint64_t free_blocks_total;
	uint64_t free_blocks_suitable;
};

void ms_frag_contig_info(const struct ms_frag *frag, const struct ms_frag_zone *zone, int order,
			 struct ms_frag_contig *info);
/* unusable_free_index(): 0..1000, in thousandths. */
int ms_frag_unusable_index(int order, const struct ms_frag_contig *info);
/* __fragmentation_index(): -1000 (would not fail), else 0..1000 in thousandths. */
int ms_frag_fragmentation_index(int order, const struct ms_frag_contig *info);
/* extfrag_for_order(): percent of free memory in blocks smaller than the order. */
unsigned ms_frag_extfrag_for_order(const struct ms_frag *frag, const struct ms_frag_zone *zone,
				   int order);
/* An index as debugfs extfrag prints it: "%d.%03d" (unusable) or "%2d.%03d" (extfrag). */
void ms_frag_format_index(char *buf, size_t len, int index, bool extfrag);
/* A zone's index at an order, formatted as debugfs prints it but without leading
 * blanks; returns the index in thousandths. */
int ms_frag_zone_index(const struct ms_frag *frag, const struct ms_frag_zone *zone, int order,
		       bool extfrag, char *buf, size_t len);

/*
 * What an order-N allocation of user memory (a movable allocation:
 * GFP_HIGHUSER_MOVABLE, as page faults and THP ask for) would meet now, zone
 * by zone, following get_page_from_freelist()'s watermark check
 * (__zone_watermark_ok), compaction_suitable() and the extfrag_threshold test.
 */
enum ms_frag_outcome {
	MS_FRAG_SUCCEEDS,   /* a zone passes its watermark with a block of the order */
	MS_FRAG_NO_MEMORY,  /* fails for lack of free memory: reclaim is needed */
	MS_FRAG_FRAGMENTED, /* free memory is there but not contiguous: compaction helps */
	MS_FRAG_INELIGIBLE, /* the zone is above the allocation's highest zone */
};

struct ms_frag_zone_verdict {
	const struct ms_frag_zone *zone;
	enum ms_frag_outcome outcome;
	bool fast_path;	     /* passes the low watermark: no kswapd wake-up */
	int64_t usable_free; /* free pages less those this allocation may not use */
	uint64_t min_needed; /* min watermark + lowmem_reserve[highest zone] */
	uint64_t low_needed; /* low watermark + lowmem_reserve[highest zone] */
	uint64_t reserve;    /* lowmem_reserve[highest zone] */
	bool suitable_block; /* a free block of the order on a list it may use */
	bool compaction_suitable;
	uint64_t compaction_needed; /* watermark + compact_gap(order) + reserve */
	int fragindex;		    /* __fragmentation_index() */
	bool below_threshold;	    /* costly order with 0 <= fragindex <= extfrag_threshold */
};

struct ms_frag_verdict {
	int order;
	int node; /* -1: any node */
	int highest_zoneidx;
	uint64_t extfrag_threshold;
	enum ms_frag_outcome outcome;
	bool approximate; /* no pagetypeinfo: free lists of all migrate types counted */
	size_t nr_zones;
	struct ms_frag_zone_verdict *zones;
};

struct ms_error *ms_frag_verdict(const struct ms_frag *frag, int order, int node,
				 uint64_t extfrag_threshold, struct ms_frag_verdict *verdict_ret);
void ms_frag_verdict_deinit(struct ms_frag_verdict *verdict);
const char *ms_frag_outcome_name(enum ms_frag_outcome outcome);

/*
 * The kernel's own indices from debugfs (/sys/kernel/debug/extfrag), as the
 * strings it printed, for a cross-check. Absent debugfs gives
 * MS_ERROR_NOT_FOUND, an unreadable one MS_ERROR_PERMISSION.
 */
struct ms_frag_debugfs_row {
	int node;
	char zone[16];
	int nr_orders;
	char value[MS_FRAG_MAX_ORDERS][12];
};

struct ms_frag_debugfs {
	size_t nr_unusable, nr_extfrag;
	struct ms_frag_debugfs_row *unusable, *extfrag;
};

struct ms_error *ms_frag_debugfs_parse(const char *text, struct ms_frag_debugfs_row **rows_ret,
				       size_t *nr_ret);
struct ms_error *ms_frag_debugfs_read(const char *dir, struct ms_frag_debugfs *dbg);
void ms_frag_debugfs_deinit(struct ms_frag_debugfs *dbg);
/*
 * Whether every index computed from frag equals the kernel's, digit for
 * digit. *mismatch_ret (may be NULL) names the first difference.
 */
bool ms_frag_debugfs_matches(const struct ms_frag *frag, const struct ms_frag_debugfs *dbg,
			     char *mismatch, size_t len);

#endif
