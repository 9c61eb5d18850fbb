/* SPDX-License-Identifier: MIT */
/*
 * The machine's memory counters as the kernel prints them: /proc/meminfo (and
 * a node's meminfo), /proc/vmstat, the vm sysctls and the hugetlb pools. One
 * tolerant parser reads every "Key: value [kB]" and "key value" file: keys
 * this code does not know are kept, and a missing key is reported missing,
 * never as zero. What the numbers mean is left to overcommit (commit
 * accounting), thp (huge pages) and frag (zones, buddy lists).
 *
 * Every reader takes a root: NULL or "" is the live machine, anything else is
 * a directory holding a recorded proc/ and sys/ tree (tests/data/...).
 */
#ifndef MEMSCOPE_SYSMEM_H
#define MEMSCOPE_SYSMEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* One "key value" pair. A "kB" unit is applied: value is then in bytes. */
struct ms_kv {
	char *key;
	uint64_t value;
	bool kb; /* the file said "kB" */
};

/* A parsed key/value file, in file order. */
struct ms_kvfile {
	struct ms_kv *items;
	size_t count;
	size_t capacity;
	int node;	/* "Node N" prefix of a node's meminfo, else -1 */
	size_t skipped; /* lines that were not "key value" (blank, headers) */
};

/*
 * Parse "Key: value [kB]" (meminfo, status), "key value" (vmstat) and
 * "Node N Key: value kB" (a node's meminfo) lines. Lines of another shape
 * are counted in skipped, not fatal; a file with no pair at all is.
 */
struct ms_error *ms_kvfile_parse(const char *text, struct ms_kvfile **kv_ret);
struct ms_error *ms_kvfile_read(const char *root, const char *path, struct ms_kvfile **kv_ret);
void ms_kvfile_destroy(struct ms_kvfile *kv);
/* The value of key (bytes if the file said kB); false if absent. */
bool ms_kvfile_get(const struct ms_kvfile *kv, const char *key, uint64_t *value_ret);

/* The meminfo fields memscope uses, by name; the rest stay in the kvfile. */
enum ms_meminfo_field {
	MS_MI_MEM_TOTAL,
	MS_MI_MEM_FREE,
	MS_MI_MEM_AVAILABLE,
	MS_MI_BUFFERS,
	MS_MI_CACHED,
	MS_MI_SWAP_CACHED,
	MS_MI_ANON_PAGES,
	MS_MI_MAPPED,
	MS_MI_SHMEM,
	MS_MI_SLAB,
	MS_MI_SRECLAIMABLE,
	MS_MI_SUNRECLAIM,
	MS_MI_SWAP_TOTAL,
	MS_MI_SWAP_FREE,
	MS_MI_COMMIT_LIMIT,
	MS_MI_COMMITTED_AS,
	MS_MI_ANON_HUGE_PAGES,
	MS_MI_SHMEM_HUGE_PAGES,
	MS_MI_FILE_HUGE_PAGES,
	MS_MI_HUGE_PAGES_TOTAL, /* a count of default-size huge pages */
	MS_MI_HUGE_PAGES_FREE,
	MS_MI_HUGE_PAGES_RSVD,
	MS_MI_HUGE_PAGES_SURP,
	MS_MI_HUGEPAGESIZE,
	MS_MI_HUGETLB, /* bytes in hugetlb pools of every size (4.16+) */
	MS_MI_COUNT,
};

struct ms_meminfo {
	uint64_t v[MS_MI_COUNT]; /* bytes, or counts for HugePages_* */
	uint32_t present;	 /* bit (1 << field) when the kernel printed it */
};

/* The key as the kernel spells it ("Committed_AS"). */
const char *ms_meminfo_key(enum ms_meminfo_field field);
static inline bool ms_meminfo_has(const struct ms_meminfo *mi, enum ms_meminfo_field f)
{
	return mi->present & (UINT32_C(1) << f);
}
void ms_meminfo_from_kv(const struct ms_kvfile *kv, struct ms_meminfo *mi);
/* Parse /proc/meminfo text; MemTotal is required. */
struct ms_error *ms_meminfo_parse(const char *text, struct ms_meminfo *mi);
struct ms_error *ms_meminfo_read(const char *root, struct ms_meminfo *mi);

/* /proc/vmstat: every counter, looked up by name with ms_kvfile_get. */
struct ms_error *ms_vmstat_read(const char *root, struct ms_kvfile **kv_ret);

/* A sysctl by its dotted name ("vm.overcommit_memory"). */
struct ms_error *ms_sysctl_read_u64(const char *root, const char *name, uint64_t *value_ret);
/* The same, or fallback when it cannot be read (an older kernel, a container). */
uint64_t ms_sysctl_u64_or(const char *root, const char *name, uint64_t fallback);

/* One hugetlb pool (/sys/kernel/mm/hugepages/hugepages-<size>kB). */
struct ms_hugetlb_pool {
	uint64_t size_kb;
	uint64_t nr, free, resv, surplus;
};

struct ms_hugetlb {
	struct ms_hugetlb_pool *pools; /* sorted by size */
	size_t count;
};

/*
 * The sizes (kB) of dir's "hugepages-<size>kB" directories, as hugetlb's
 * pools and THP's per-size settings are named, smallest first; *kb_ret is
 * NULL when there are none. An absent dir is an error with errno ENOENT.
 */
struct ms_error *ms_sysmem_hugepage_sizes(const char *dir, uint64_t **kb_ret, size_t *count_ret);

/* The pools; none (count 0) when the kernel has no hugetlb sysfs. */
struct ms_error *ms_hugetlb_read(const char *root, struct ms_hugetlb *h);
void ms_hugetlb_deinit(struct ms_hugetlb *h);
/* hugetlb_total_pages(): base pages held by every pool. */
uint64_t ms_hugetlb_total_pages(const struct ms_hugetlb *h, uint64_t page_size);
uint64_t ms_hugetlb_free_pages(const struct ms_hugetlb *h, uint64_t page_size);
/*
 * Base pages held by the hugetlb pools of every size, and free in them: the
 * sysfs pools, or meminfo's count of default-size pages (mi) without them.
 */
struct ms_error *ms_hugetlb_pages(const char *root, const struct ms_meminfo *mi, uint64_t page_size,
				  uint64_t *total_ret, uint64_t *free_ret);

/* The allocation order of bytes: the smallest N with 2^N base pages >= bytes. */
unsigned ms_sysmem_order(uint64_t bytes);

/* root + path into buf; false if it does not fit. */
bool ms_sysmem_path(const char *root, const char *path, char *buf, size_t len);

#endif
