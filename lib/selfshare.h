/* SPDX-License-Identifier: MIT */
/*
 * memscope's own share of a target's pages. memscope links libc and a few
 * other libraries, so it maps page-cache pages its target maps too. While
 * memscope looks, a libc page that only the target uses is mapped twice,
 * and pagemap clears its exclusive bit: the page would be called shared
 * because memscope is looking at it. As root, kpagecount and memscope's own
 * pagemap tell such pages apart. Without root they cannot be told apart,
 * but they can be counted, to say so. Marking pages is pagemap's business;
 * this only takes memscope's own mappings back out.
 */
#ifndef MEMSCOPE_SELFSHARE_H
#define MEMSCOPE_SELFSHARE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "maps.h"
#include "pagemap.h"

struct ms_self_share;

/*
 * memscope's own file mappings, read now, for a target process. NULL in
 * *ret (and no error) when there is nothing to take out: the target is
 * memscope itself.
 */
struct ms_error *ms_self_share_create(pid_t target, struct ms_self_share **ret);
void ms_self_share_destroy(struct ms_self_share *ss);

/* Whether memscope maps the file of the target's mapping vma too. */
bool ms_self_share_maps_file(const struct ms_self_share *ss, const struct ms_vma *vma);

/*
 * Whether memscope maps the target's page at addr in vma (pagemap entry
 * entry) too: the same frame at the same file offset or, without PFNs, the
 * page cache's page in both.
 */
struct ms_error *ms_self_share_maps_page(struct ms_self_share *ss, const struct ms_vma *vma,
					 uint64_t addr, uint64_t entry, bool *ret);

/*
 * The pages of entries[0..n) (the target's pages from address start on,
 * within vma) marked MS_PAGE_SHARED that memscope maps too, at the same file
 * offset. With kp (root): the mark is cleared where kpagecount says 2 and
 * memscope's own pagemap has the same frame. Without (no PFNs), or if
 * kpagecount cannot be read: the marks stay, and the pages memscope maps
 * too are added to *uncertain_ret.
 */
struct ms_error *ms_self_share_unmark(struct ms_self_share *ss, struct ms_kpage *kp,
				      const struct ms_vma *vma, uint64_t start,
				      const uint64_t *entries, uint8_t *marks, size_t n,
				      uint64_t *uncertain_ret);

#endif /* MEMSCOPE_SELFSHARE_H */
