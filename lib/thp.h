/* SPDX-License-Identifier: MIT */
/*
 * Transparent huge pages: the settings under
 * /sys/kernel/mm/transparent_hugepage (every per-size mTHP directory and
 * khugepaged included), who holds huge pages (AnonHugePages per process),
 * and what keeps one process from getting them: the setting, madvise flags,
 * prctl, VMA size and alignment, and whether a free PMD-order block exists
 * (counted on frag's reading of /proc/buddyinfo; the fragmentation model
 * proper is frag's). Counters come from sysmem's vmstat reader.
 */
#ifndef MEMSCOPE_THP_H
#define MEMSCOPE_THP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "frag.h"
#include "sysmem.h"

/* One hugepages-<size>kB directory. Absent files leave "" behind. */
struct ms_thp_size {
	uint64_t size_kb;
	char enabled[16];	 /* always / inherit / madvise / never, "" if absent */
	char shmem_enabled[16];	 /* always / inherit / within_size / advise / never */
	struct ms_kvfile *stats; /* stats/<name> files, NULL if none */
};

struct ms_thp_settings {
	bool supported; /* the directory exists (CONFIG_TRANSPARENT_HUGEPAGE) */
	char enabled[16];
	char defrag[24];
	char shmem_enabled[16];
	int use_zero_page;	      /* -1 when absent */
	int shrink_underused;	      /* -1 when absent */
	uint64_t pmd_size;	      /* hpage_pmd_size, bytes (2 MiB on x86_64) */
	struct ms_kvfile *khugepaged; /* khugepaged/<name> files */
	struct ms_thp_size *sizes;    /* sorted by size */
	size_t nsizes;
};

/*
 * The selected word of a sysfs choice file: "always [madvise] never" gives
 * "madvise". A file holding a single word (no brackets) gives that word.
 */
bool ms_thp_choice(const char *text, char *buf, size_t len);

struct ms_error *ms_thp_settings_read(const char *root, struct ms_thp_settings *s);
void ms_thp_settings_deinit(struct ms_thp_settings *s);
/* The anonymous-memory mode that applies to PMD-size pages (inherit resolved). */
const char *ms_thp_pmd_mode(const struct ms_thp_settings *s);
/* A size's mode with "inherit" resolved to the top-level setting. */
const char *ms_thp_size_mode(const struct ms_thp_settings *s, const struct ms_thp_size *size);
/* One line explaining a value of enabled or defrag. */
const char *ms_thp_explain_enabled(const char *mode);
const char *ms_thp_explain_defrag(const char *mode);

/* Free blocks of at least the PMD order, from /proc/buddyinfo. */
struct ms_thp_buddy {
	bool known;
	unsigned order;		 /* the PMD order (9 with 4 KiB pages and 2 MiB PMDs) */
	uint64_t free_blocks;	 /* blocks of that order or larger, every zone */
	uint64_t free_pmd_equiv; /* the same counted in PMD-size pieces */
};
struct ms_error *ms_thp_buddy_parse(const char *text, unsigned order, struct ms_thp_buddy *b);
struct ms_error *ms_thp_buddy_read(const char *root, unsigned order, struct ms_thp_buddy *b);
/* The same from free lists frag has read already. */
void ms_thp_buddy_from_frag(const struct ms_frag *frag, unsigned order, struct ms_thp_buddy *b);
/* The PMD order: log2 of the PMD size in base pages (9 with 4 KiB pages). */
unsigned ms_thp_pmd_order(const struct ms_thp_settings *s);

/* A process holding huge pages (smaps_rollup). */
struct ms_thp_user {
	pid_t pid;
	char comm[17];
	uint64_t anon_huge; /* AnonHugePages, bytes */
	uint64_t shmem_pmd; /* ShmemPmdMapped */
	uint64_t file_pmd;  /* FilePmdMapped */
	uint64_t anonymous; /* Anonymous */
};

struct ms_thp_users {
	struct ms_thp_user *list; /* the top ones, most AnonHugePages first */
	size_t count;
	size_t processes;
	size_t unreadable;
	uint64_t sum_anon_huge;
};
struct ms_error *ms_thp_top_users(size_t top, struct ms_thp_users *u);
void ms_thp_users_deinit(struct ms_thp_users *u);

/* What stands between a mapping and PMD-size huge pages. */
enum ms_thp_block {
	MS_THP_BLOCK_PRCTL = 1 << 0,	     /* PR_SET_THP_DISABLE (status THP_enabled: 0) */
	MS_THP_BLOCK_NEVER = 1 << 1,	     /* enabled (for the PMD size) is never */
	MS_THP_BLOCK_NEEDS_MADVISE = 1 << 2, /* madvise mode, no MADV_HUGEPAGE ("hg") */
	MS_THP_BLOCK_NOHUGEPAGE = 1 << 3,    /* MADV_NOHUGEPAGE ("nh") */
	MS_THP_BLOCK_TOO_SMALL = 1 << 4,     /* no PMD-aligned PMD-size range inside */
	MS_THP_BLOCK_SHMEM = 1 << 5,	     /* shared anonymous: shmem_enabled rules */
	MS_THP_BLOCK_SPECIAL = 1 << 6,	     /* PFN/IO/mixed map or hugetlb: not THP */
	MS_THP_BLOCK_FRAGMENTED = 1 << 7,    /* no free PMD-order block anywhere now */
};
/* A short name and a sentence for one block bit. */
const char *ms_thp_block_name(unsigned bit);
const char *ms_thp_block_explain(unsigned bit);

struct ms_thp_vma {
	uint64_t start, end;
	char perms[5];
	char *name; /* NULL for anonymous */
	uint64_t vm_flags;
	uint64_t anon_huge; /* AnonHugePages */
	uint64_t rss;
	uint64_t aligned_bytes; /* bytes of PMD-aligned PMD-size ranges inside */
	bool eligible;		/* the kernel's THPeligible */
	unsigned blocks;	/* enum ms_thp_block bits */
};

struct ms_thp_report {
	pid_t pid;
	char comm[17];
	int thp_enabled; /* status THP_enabled: 1, 0, or -1 when the kernel lacks it */
	uint64_t anon_huge;
	char pmd_mode[16];
	char defrag[24];
	struct ms_thp_buddy buddy;
	struct ms_thp_vma *vmas; /* anonymous mappings (private and shared) */
	size_t count;
	size_t file_vmas; /* file-backed mappings not examined */
	unsigned blocks;  /* union over the mappings */
};

/*
 * Examine pid's anonymous mappings with the settings s: the kernel's
 * THPeligible and AnonHugePages per mapping, and the reasons it gets no
 * PMD-size pages.
 */
struct ms_error *ms_thp_diagnose(pid_t pid, const struct ms_thp_settings *s,
				 struct ms_thp_report *r);
/* The same from recorded smaps/status/buddyinfo text (for tests). */
struct ms_error *ms_thp_diagnose_text(const char *smaps, const char *status, const char *buddyinfo,
				      const struct ms_thp_settings *s, struct ms_thp_report *r);
void ms_thp_report_deinit(struct ms_thp_report *r);

#endif
