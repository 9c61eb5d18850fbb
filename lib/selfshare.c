/* SPDX-License-Identifier: MIT */
#include "selfshare.h"

#include <stdlib.h>
#include <unistd.h>

/* memscope's own pagemap entries read at once. */
enum { OWN_BATCH = 512 };

struct ms_self_share {
	struct ms_maps *own; /* memscope's mappings, read once */
	struct ms_pagemap pm;
	size_t page;
	/* a window of own pagemap entries, valid within one unmark call */
	uint64_t win_start; /* address of win[0]; 0: empty */
	size_t win_len;
	uint64_t win[OWN_BATCH];
};

struct ms_error *ms_self_share_create(pid_t target, struct ms_self_share **ret)
{
	*ret = NULL;
	pid_t self = getpid();
	if (target == self)
		return NULL;
	struct ms_self_share *ss = calloc(1, sizeof(*ss));
	if (!ss)
		return &ms_error_no_memory;
	ss->page = ms_page_size();
	struct ms_error *err = ms_maps_read_pid(self, MS_MAPS_BASIC, &ss->own);
	if (!err)
		err = ms_pagemap_open(self, &ss->pm);
	if (err) {
		ms_maps_destroy(ss->own);
		free(ss);
		return err;
	}
	*ret = ss;
	return NULL;
}

void ms_self_share_destroy(struct ms_self_share *ss)
{
	if (!ss)
		return;
	ms_pagemap_close(&ss->pm);
	ms_maps_destroy(ss->own);
	free(ss);
}

static bool same_file(const struct ms_vma *a, const struct ms_vma *b)
{
	return a->inode == b->inode && a->dev_major == b->dev_major && a->dev_minor == b->dev_minor;
}

bool ms_self_share_maps_file(const struct ms_self_share *ss, const struct ms_vma *vma)
{
	if (!ss || !vma->inode)
		return false;
	for (size_t i = 0; i < ss->own->count; i++)
		if (same_file(&ss->own->vmas[i], vma))
			return true;
	return false;
}

/* memscope's own mapping of file offset off of vma's file, or NULL. */
static const struct ms_vma *own_mapping(const struct ms_self_share *ss, const struct ms_vma *vma,
					uint64_t off)
{
	if (!vma->inode) /* anonymous: no file to share */
		return NULL;
	for (size_t i = 0; i < ss->own->count; i++) {
		const struct ms_vma *o = &ss->own->vmas[i];
		if (same_file(o, vma) && off >= o->offset && off - o->offset < o->end - o->start)
			return o;
	}
	return NULL;
}

/* memscope's own pagemap entry at addr in o, read a window at a time. */
static struct ms_error *own_entry(struct ms_self_share *ss, const struct ms_vma *o, uint64_t addr,
				  uint64_t *e)
{
	if (!ss->win_start || addr < ss->win_start ||
	    (addr - ss->win_start) / ss->page >= ss->win_len) {
		size_t n = OWN_BATCH;
		if ((o->end - addr) / ss->page < n)
			n = (o->end - addr) / ss->page;
		struct ms_error *err = ms_pagemap_read(&ss->pm, addr, n, ss->win);
		if (err)
			return err;
		ss->win_start = addr;
		ss->win_len = n;
	}
	*e = ss->win[(addr - ss->win_start) / ss->page];
	return NULL;
}

/* ms_self_share_maps_page() through the window of own entries read last */
static struct ms_error *maps_page(struct ms_self_share *ss, const struct ms_vma *vma, uint64_t addr,
				  uint64_t entry, bool *ret)
{
	*ret = false;
	if (!(entry & MS_PM_PRESENT))
		return NULL;
	uint64_t off = vma->offset + (addr - vma->start);
	const struct ms_vma *o = own_mapping(ss, vma, off);
	if (!o)
		return NULL;
	uint64_t e;
	struct ms_error *err = own_entry(ss, o, o->start + (off - o->offset), &e);
	if (err || !(e & MS_PM_PRESENT))
		return err;
	if (ms_pm_pfn(entry))
		*ret = ms_pm_pfn(e) == ms_pm_pfn(entry);
	else /* no PFNs: both map the page cache's page (neither a private copy) */
		*ret = (e & MS_PM_FILE) && (entry & MS_PM_FILE);
	return NULL;
}

struct ms_error *ms_self_share_maps_page(struct ms_self_share *ss, const struct ms_vma *vma,
					 uint64_t addr, uint64_t entry, bool *ret)
{
	*ret = false;
	if (!ss)
		return NULL;
	ss->win_start = 0; /* memscope may have touched more of its libraries */
	return maps_page(ss, vma, addr, entry, ret);
}

struct ms_error *ms_self_share_unmark(struct ms_self_share *ss, struct ms_kpage *kp,
				      const struct ms_vma *vma, uint64_t start,
				      const uint64_t *entries, uint8_t *marks, size_t n,
				      uint64_t *uncertain_ret)
{
	/* memscope may have touched more of its libraries since the last call */
	ss->win_start = 0;
	for (size_t i = 0; i < n; i++) {
		if (!(marks[i] & MS_PAGE_SHARED))
			continue;
		bool mine;
		struct ms_error *err = maps_page(ss, vma, start + i * ss->page, entries[i], &mine);
		if (err)
			return err;
		if (!mine)
			continue;
		if (!kp) {
			++*uncertain_ret;
			continue;
		}
		uint64_t count;
		err = ms_kpage_count(kp, ms_pm_pfn(entries[i]), 1, &count);
		if (err && err->code == MS_ERROR_PERMISSION) {
			/* PFNs shown but kpagecount refused (a container): count it */
			ms_error_destroy(err);
			kp = NULL;
			++*uncertain_ret;
			continue;
		}
		if (err)
			return err;
		if (count == 2) /* the target's mapping and memscope's */
			marks[i] &= (uint8_t)~MS_PAGE_SHARED;
	}
	return NULL;
}
