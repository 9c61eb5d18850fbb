/* SPDX-License-Identifier: MIT */
/*
 * Page-level views of a live process: /proc/PID/pagemap entries (present,
 * swapped, PFN, exclusive, soft-dirty, file/shared), the PAGEMAP_SCAN ioctl
 * where the kernel has it, and the machine-wide /proc/kpageflags and
 * /proc/kpagecount. Which mapping a page belongs to is maps' business.
 * See the kernel's Documentation/admin-guide/mm/pagemap.rst.
 */
#ifndef MEMSCOPE_PAGEMAP_H
#define MEMSCOPE_PAGEMAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

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

/* An open /proc/PID/pagemap. */
struct ms_pagemap {
	int fd;
	pid_t pid;
	bool pfn_visible; /* PFNs are real (CAP_SYS_ADMIN), not zeroed by the kernel */
};

struct ms_error *ms_pagemap_open(pid_t pid, struct ms_pagemap *pm);
void ms_pagemap_close(struct ms_pagemap *pm);
/*
 * Read the entries of npages pages starting at the page containing vaddr.
 * A process that exited gives MS_ERROR_EXITED.
 */
struct ms_error *ms_pagemap_read(struct ms_pagemap *pm, uint64_t vaddr, size_t npages,
				 uint64_t *entries);

/* Whether this process may see PFNs and kpageflags (CAP_SYS_ADMIN). */
bool ms_pagemap_pfn_visible(void);
/* The page size of the machine. */
size_t ms_page_size(void);

#endif
