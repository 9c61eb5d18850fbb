/* SPDX-License-Identifier: MIT */
#include "ptov.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "pagemap.h"
#include "pmscan.h"
#include "proclist.h"

/* Pagemap entries read at once within a present run (64 KiB). */
enum { ENTRY_BATCH = 8192 };

static const char *const kpf_names[64] = {
	[MS_KPF_LOCKED] = "locked",
	[1] = "error",
	[MS_KPF_REFERENCED] = "referenced",
	[MS_KPF_UPTODATE] = "uptodate",
	[MS_KPF_DIRTY] = "dirty",
	[MS_KPF_LRU] = "lru",
	[MS_KPF_ACTIVE] = "active",
	[MS_KPF_SLAB] = "slab",
	[MS_KPF_WRITEBACK] = "writeback",
	[MS_KPF_RECLAIM] = "reclaim",
	[MS_KPF_BUDDY] = "buddy",
	[MS_KPF_MMAP] = "mmap",
	[MS_KPF_ANON] = "anon",
	[MS_KPF_SWAPCACHE] = "swapcache",
	[MS_KPF_SWAPBACKED] = "swapbacked",
	[MS_KPF_COMPOUND_HEAD] = "compound_head",
	[MS_KPF_COMPOUND_TAIL] = "compound_tail",
	[MS_KPF_HUGE] = "huge",
	[MS_KPF_UNEVICTABLE] = "unevictable",
	[MS_KPF_HWPOISON] = "hwpoison",
	[MS_KPF_NOPAGE] = "nopage",
	[MS_KPF_KSM] = "ksm",
	[MS_KPF_THP] = "thp",
	[MS_KPF_OFFLINE] = "offline",
	[MS_KPF_ZERO_PAGE] = "zero_page",
	[MS_KPF_IDLE] = "idle",
	[MS_KPF_PGTABLE] = "pgtable",
	[MS_KPF_RESERVED] = "reserved",
	[MS_KPF_MLOCKED] = "mlocked",
	[34] = "mappedtodisk",
	[35] = "private",
	[36] = "private_2",
	[37] = "owner_private",
	[38] = "arch",
	[39] = "uncached",
	[40] = "softdirty",
	[41] = "arch_2",
	[42] = "arch_3",
};

const char *ms_kpf_name(unsigned bit)
{
	return bit < 64 ? kpf_names[bit] : NULL;
}

size_t ms_kpf_names(uint64_t flags, char *buf, size_t len)
{
	size_t n = 0;
	if (len)
		buf[0] = '\0';
	for (unsigned bit = 0; bit < 64; bit++) {
		if (!(flags & MS_KPF(bit)))
			continue;
		char unnamed[16];
		const char *name = kpf_names[bit];
		if (!name) {
			snprintf(unnamed, sizeof(unnamed), "bit%u", bit);
			name = unnamed;
		}
		int w = snprintf(buf + n, len > n ? len - n : 0, "%s%s", n ? " " : "", name);
		if (w < 0)
			break;
		n += (size_t)w;
	}
	return n < len ? n : (len ? len - 1 : 0);
}

const char *ms_kpf_describe(uint64_t f)
{
	if (f & MS_KPF(MS_KPF_NOPAGE))
		return "no page here (a hole in physical memory)";
	if (f & MS_KPF(MS_KPF_HWPOISON))
		return "poisoned (hardware memory error)";
	if (f & MS_KPF(MS_KPF_OFFLINE))
		return "offline (ballooned or hot-removed)";
	if (f & MS_KPF(MS_KPF_BUDDY))
		return "free (in the buddy allocator)";
	if (f & MS_KPF(MS_KPF_SLAB))
		return "kernel slab memory";
	if (f & MS_KPF(MS_KPF_PGTABLE))
		return "a page table";
	if (f & MS_KPF(MS_KPF_ZERO_PAGE))
		return "the shared zero page";
	if (f & MS_KPF(MS_KPF_RESERVED))
		return "reserved (kernel image, firmware, or boot allocations)";
	if (f & MS_KPF(MS_KPF_HUGE))
		return "a hugetlbfs page";
	if (f & MS_KPF(MS_KPF_ANON))
		return f & MS_KPF(MS_KPF_SWAPCACHE) ? "anonymous memory in the swap cache"
						    : "anonymous memory";
	if (f & MS_KPF(MS_KPF_LRU))
		return f & MS_KPF(MS_KPF_SWAPBACKED) ? "shared memory (shmem/tmpfs)"
						     : "page cache (file data)";
	if (!f)
		return "in use by the kernel (no flags)";
	return "in use by the kernel";
}

static struct ms_error *read_u64_at(const char *path, uint64_t index, uint64_t *v, bool *eof)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ms_error_errno(errno, "%s", path);
	ssize_t n;
	do
		n = pread(fd, v, sizeof(*v), (off_t)(index * sizeof(*v)));
	while (n < 0 && errno == EINTR);
	int saved = errno;
	close(fd);
	if (n < 0)
		return ms_error_errno(saved, "%s", path);
	*eof = n != sizeof(*v);
	return NULL;
}

struct ms_error *ms_page_info_read(uint64_t pfn, struct ms_page_info *info)
{
	memset(info, 0, sizeof(*info));
	info->pfn = pfn;
	if (pfn > (UINT64_MAX >> 4) / sizeof(uint64_t))
		return ms_error_create(MS_ERROR_NOT_FOUND, "no page frame %#llx",
				       (unsigned long long)pfn);
	bool eof;
	struct ms_error *err = read_u64_at("/proc/kpageflags", pfn, &info->flags, &eof);
	if (err)
		return err;
	if (eof)
		return ms_error_create(MS_ERROR_NOT_FOUND,
				       "no page frame %#llx: beyond the end of physical memory",
				       (unsigned long long)pfn);
	err = read_u64_at("/proc/kpagecount", pfn, &info->mapcount, &eof);
	if (err)
		return err;
	if (eof)
		info->mapcount = 0;
	return NULL;
}

struct ptov {
	const struct ms_ptov_params *p;
	ms_ptov_hit_fn *fn;
	void *arg;
	struct ms_ptov_stats *stats;
	uint64_t pfn;
	enum ms_pmscan_select select;
	uint64_t want; /* stop after this many mappings; 0: never */
	uint64_t *entries;
	bool done;
};

/* Errors that mean "this process is gone" or "not ours to read": skip it. */
static bool skip_error(struct ptov *pt, struct ms_error *err)
{
	if (err->code == MS_ERROR_NOT_FOUND || err->code == MS_ERROR_EXITED)
		pt->stats->vanished++;
	else if (err->code == MS_ERROR_PERMISSION)
		pt->stats->denied++;
	else
		return false;
	ms_error_destroy(err);
	return true;
}

/* Compare one batch of pagemap entries from a; sets *any_present. */
static struct ms_error *scan_batch(struct ptov *pt, struct ms_pagemap *pm,
				   const struct ms_maps *maps, uint64_t a, size_t n,
				   bool *any_present)
{
	size_t page = ms_page_size();
	uint64_t offset = pt->p->paddr % page;
	struct ms_error *err = ms_pagemap_read(pm, a, n, pt->entries);
	if (err)
		return err;
	pt->stats->pages_read += n;
	bool any = false;
	for (size_t i = 0; i < n; i++) {
		uint64_t e = pt->entries[i];
		if (!(e & MS_PM_PRESENT))
			continue;
		any = true;
		if (ms_pm_pfn(e) != pt->pfn)
			continue;
		uint64_t va = a + i * page;
		struct ms_ptov_hit hit = {.pid = pm->pid,
					  .vaddr = va + offset,
					  .vma = ms_maps_find(maps, va),
					  .entry = e};
		pt->stats->found++;
		if (!pt->fn(pt->arg, &hit)) {
			pt->done = true;
			break;
		}
		if (pt->want && pt->stats->found >= pt->want) {
			pt->stats->stopped_early = true;
			pt->done = true;
			break;
		}
	}
	*any_present = any;
	return NULL;
}

/*
 * Whether a mapping can hold the page at all: an anonymous page lives only in
 * private mappings; a page-cache or shmem page never in private anonymous
 * memory (heap, stack, anonymous mmap).
 */
static bool may_map(const struct ptov *pt, const struct ms_vma *vma)
{
	bool shared = vma->prot & MS_PROT_SHARED;
	if (pt->select == MS_PMSCAN_PRESENT_ANON)
		return !shared;
	if (pt->select == MS_PMSCAN_PRESENT_FILE)
		return shared || vma->kind == MS_VMA_FILE;
	return true;
}

static struct ms_error *scan_process(struct ptov *pt, pid_t pid)
{
	struct ms_maps *maps;
	struct ms_error *err = ms_maps_read_pid(pid, MS_MAPS_BASIC, &maps);
	if (err)
		return skip_error(pt, err) ? NULL : err;
	if (!maps->count) { /* a kernel thread, or a zombie: no memory */
		ms_maps_destroy(maps);
		return NULL;
	}
	struct ms_pagemap pm;
	err = ms_pagemap_open(pid, &pm);
	if (err) {
		ms_maps_destroy(maps);
		return skip_error(pt, err) ? NULL : err;
	}
	struct ms_pmscan scan;
	err = ms_pmscan_init(&scan, &pm, pt->select);
	if (err)
		goto out;
	scan.stop = pt->p->stop;
	pt->stats->scanned++;
	/*
	 * Mapping by mapping: dense memory is cheapest read straight from
	 * pagemap; a batch with nothing present means a hole, which
	 * PAGEMAP_SCAN jumps over however large it is (a terabyte of
	 * reservation costs one call).
	 */
	size_t page = ms_page_size();
	for (size_t v = 0; v < maps->count && !pt->done && !err; v++) {
		const struct ms_vma *vma = &maps->vmas[v];
		if (vma->kind == MS_VMA_VSYSCALL)
			continue; /* beyond the page tables pagemap covers */
		if (!may_map(pt, vma)) {
			pt->stats->mappings_skipped++;
			continue;
		}
		for (uint64_t pos = vma->start, hi = vma->end; pos < hi && !pt->done;) {
			if (pt->p->stop && *pt->p->stop) {
				err = ms_error_create(MS_ERROR_INTERRUPTED, "interrupted");
				break;
			}
			size_t n = (size_t)((hi - pos) / page);
			if (n > ENTRY_BATCH)
				n = ENTRY_BATCH;
			bool any;
			err = scan_batch(pt, &pm, maps, pos, n, &any);
			if (err)
				break;
			pos += n * page;
			if (!any && pos < hi) {
				uint64_t next;
				bool found;
				err = ms_pmscan_skip(&scan, pos, hi, &next, &found);
				if (err || !found)
					break;
				if (next > pos)
					pos = next / page * page;
			}
		}
	}
	ms_pmscan_deinit(&scan);
	if (err && skip_error(pt, err)) {
		pt->stats->scanned--;
		err = NULL;
	}
out:
	ms_pagemap_close(&pm);
	ms_maps_destroy(maps);
	return err;
}

struct ms_error *ms_ptov(const struct ms_ptov_params *params, ms_ptov_hit_fn *fn, void *arg,
			 struct ms_ptov_stats *stats_ret)
{
	struct ms_ptov_stats stats = {0};
	struct ptov pt = {.p = params, .fn = fn, .arg = arg, .stats = &stats};
	pid_t *pids = NULL;
	size_t npids = 0;
	pt.pfn = params->paddr / ms_page_size();
	struct ms_error *err = NULL;
	if (!ms_pagemap_pfn_visible()) {
		err = ms_error_create(MS_ERROR_PERMISSION,
				      "physical addresses are hidden without CAP_SYS_ADMIN");
		goto out;
	}
	err = ms_page_info_read(pt.pfn, &stats.page);
	if (err)
		goto out;
	uint64_t f = stats.page.flags;
	if (f & MS_KPF(MS_KPF_NOPAGE)) {
		stats.complete = true;
		goto out;
	}
	/* pagemap's file bit is clear exactly for anonymous pages and special ones (zero page) */
	if (f & MS_KPF(MS_KPF_ZERO_PAGE))
		pt.select = MS_PMSCAN_PRESENT;
	else if (f & MS_KPF(MS_KPF_ANON))
		pt.select = MS_PMSCAN_PRESENT_ANON;
	else if (f & (MS_KPF(MS_KPF_LRU) | MS_KPF(MS_KPF_MMAP)))
		pt.select = MS_PMSCAN_PRESENT_FILE;
	else
		pt.select = MS_PMSCAN_PRESENT;
	/*
	 * kpagecount is exact for small pages; for large folios it may be an
	 * average, and the zero pages are not counted at all.
	 */
	bool exact = !(f & (MS_KPF(MS_KPF_COMPOUND_HEAD) | MS_KPF(MS_KPF_COMPOUND_TAIL) |
			    MS_KPF(MS_KPF_THP) | MS_KPF(MS_KPF_HUGE) | MS_KPF(MS_KPF_ZERO_PAGE)));
	if (!params->full_scan && exact) {
		if (stats.page.mapcount == 0 && !(f & MS_KPF(MS_KPF_MMAP))) {
			stats.complete = true; /* nobody maps it: nothing to scan */
			goto out;
		}
		pt.want = stats.page.mapcount;
	}
	pt.entries = malloc(ENTRY_BATCH * sizeof(uint64_t));
	if (!pt.entries) {
		err = &ms_error_no_memory;
		goto out;
	}
	err = ms_proc_list(&pids, &npids);
	if (err)
		goto out;
	stats.processes = npids;
	size_t i;
	for (i = 0; i < npids && !pt.done; i++) {
		if (params->progress)
			params->progress(arg, i, npids);
		err = scan_process(&pt, pids[i]);
		if (err)
			break;
	}
	if (params->progress)
		params->progress(arg, i, npids);
	stats.complete = !err && (i == npids || stats.stopped_early) && !stats.denied;
out:
	free(pids);
	free(pt.entries);
	if (stats_ret)
		*stats_ret = stats;
	return err;
}
