/* SPDX-License-Identifier: MIT */
#include "pagemap.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "pagemap_compat.h"
#include "procfs.h"
#include "grow.h"

_Static_assert(sizeof(struct ms_pm_region) == sizeof(struct page_region),
	       "ms_pm_region mirrors the kernel's page_region");
_Static_assert(MS_PC_PRESENT == PAGE_IS_PRESENT && MS_PC_SWAPPED == PAGE_IS_SWAPPED &&
		       MS_PC_PFNZERO == PAGE_IS_PFNZERO && MS_PC_HUGE == PAGE_IS_HUGE &&
		       MS_PC_FILE == PAGE_IS_FILE && MS_PC_SOFT_DIRTY == PAGE_IS_SOFT_DIRTY,
	       "categories are the kernel's PAGE_IS_* bits");

size_t ms_page_size(void)
{
	static size_t size;
	if (!size)
		size = (size_t)sysconf(_SC_PAGESIZE);
	return size;
}

bool ms_pagemap_pfn_visible(void)
{
	static int cached = -1;
	if (cached >= 0)
		return cached;
	cached = 0;
	char *status;
	if (ms_procfs_try_read("/proc/self/status", &status)) {
		const char *cap = strstr(status, "\nCapEff:");
		if (cap) {
			unsigned long long eff = strtoull(cap + 8, NULL, 16);
			cached = (eff >> 21) & 1; /* CAP_SYS_ADMIN */
		}
		free(status);
	}
	if (!cached)
		return false;
	/*
	 * The capability must be the initial namespace's: root in a container
	 * still gets zeroed PFNs. A page of this stack tells.
	 */
	volatile char probe = 1;
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	uint64_t e = 0;
	if (fd >= 0) {
		size_t page = ms_page_size();
		if (pread(fd, &e, sizeof(e), (off_t)((uintptr_t)&probe / page * sizeof(e))) !=
		    (ssize_t)sizeof(e))
			e = 0;
		close(fd);
	}
	cached = (e & MS_PM_PRESENT) && ms_pm_pfn(e) != 0 && probe;
	return cached;
}

uint64_t ms_zero_pfn(void)
{
	static uint64_t pfn = UINT64_MAX;
	if (pfn != UINT64_MAX)
		return pfn;
	pfn = 0;
	if (!ms_pagemap_pfn_visible())
		return 0;
	size_t page = ms_page_size();
	volatile char *p = mmap(NULL, page, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return 0;
	(void)p[0]; /* a read fault maps the zero page */
	int fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	uint64_t e = 0;
	if (fd >= 0) {
		if (pread(fd, &e, sizeof(e), (off_t)((uintptr_t)p / page * sizeof(e))) ==
			    (ssize_t)sizeof(e) &&
		    (e & MS_PM_PRESENT))
			pfn = ms_pm_pfn(e);
		close(fd);
	}
	munmap((void *)p, page);
	return pfn;
}

bool ms_pid_gone(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT || errno == ESRCH;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return true;
	buf[n] = '\0';
	const char *close_paren = strrchr(buf, ')');
	if (!close_paren || close_paren[1] != ' ')
		return false;
	return close_paren[2] == 'Z' || close_paren[2] == 'X';
}

/* The smallest TASK_SIZE the architecture has (x86-64: 47-bit addresses). */
#if defined(__x86_64__)
#define MIN_TASK_SIZE ((UINT64_C(1) << 47) - 4096)
#else
#define MIN_TASK_SIZE 0
#endif

static struct ms_error *exited_error(pid_t pid)
{
	return ms_error_create(MS_ERROR_EXITED, "process %d exited", (int)pid);
}

struct ms_error *ms_pagemap_open(pid_t pid, struct ms_pagemap *pm)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	pm->pidfd = -1;
	pm->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (pm->fd < 0) {
		if (errno == ENOENT || errno == ESRCH)
			return ms_error_create(MS_ERROR_NOT_FOUND, "no process %d", (int)pid);
		return ms_error_errno(errno, "%s", path);
	}
	pm->pid = pid;
	pm->pfn_visible = ms_pagemap_pfn_visible();
	pm->scan = getenv("MEMSCOPE_NO_PAGEMAP_SCAN") ? 0 : -1;
#ifdef SYS_pidfd_open
	/* Fails for a thread id that is not a process: then /proc is asked. */
	pm->pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
#else
	pm->pidfd = -1;
#endif
	return NULL;
}

void ms_pagemap_close(struct ms_pagemap *pm)
{
	if (pm->fd >= 0)
		close(pm->fd);
	if (pm->pidfd >= 0)
		close(pm->pidfd);
	pm->fd = -1;
	pm->pidfd = -1;
}

bool ms_pagemap_gone(struct ms_pagemap *pm)
{
	if (pm->pidfd >= 0) {
		/* A pidfd polls readable once the process has exited. */
		struct pollfd p = {.fd = pm->pidfd, .events = POLLIN};
		int n = poll(&p, 1, 0);
		if (n >= 0)
			return n > 0;
	}
	return ms_pid_gone(pm->pid);
}

struct ms_error *ms_pagemap_read(struct ms_pagemap *pm, uint64_t vaddr, size_t npages,
				 uint64_t *entries)
{
	size_t page = ms_page_size();
	uint64_t first = vaddr / page;
	if (first > (uint64_t)INT64_MAX / sizeof(uint64_t))
		return ms_error_create(MS_ERROR_INVALID,
				       "0x%" PRIx64 " is beyond the address space of process %d",
				       vaddr, (int)pm->pid);
	off_t off = (off_t)(first * sizeof(uint64_t));
	size_t want = npages * sizeof(uint64_t), got = 0;
	while (got < want) {
		ssize_t n = pread(pm->fd, (char *)entries + got, want - got, off + (off_t)got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ESRCH)
				return exited_error(pm->pid);
			return ms_error_errno(errno, "/proc/%d/pagemap", (int)pm->pid);
		}
		if (n == 0) {
			/*
			 * An exited process's pagemap reads as end-of-file, and so
			 * does one that is exiting: its address space goes before
			 * its pidfd says so. Below the smallest user address space
			 * of the machine, end-of-file can mean nothing else.
			 */
			uint64_t at = (first + got / sizeof(uint64_t)) * page;
			if (ms_pagemap_gone(pm) || at < MIN_TASK_SIZE)
				return exited_error(pm->pid);
			/* So does anything past the user address space. */
			return ms_error_create(MS_ERROR_INVALID,
					       "0x%" PRIx64
					       " is beyond the user address space of process %d",
					       at, (int)pm->pid);
		}
		got += (size_t)n;
	}
	return NULL;
}

struct ms_error *ms_pagemap_query(struct ms_pagemap *pm, const struct ms_pm_query *query,
				  struct ms_pm_region *regions, size_t max, size_t *count_ret,
				  uint64_t *walk_end_ret)
{
	if (pm->scan == 0)
		return ms_error_create(MS_ERROR_UNSUPPORTED, "PAGEMAP_SCAN is not available");
	uint64_t start = query->start;
	struct pm_scan_arg arg = {
		.size = sizeof(arg),
		.start = query->start,
		.end = query->end,
		.vec = (uint64_t)(uintptr_t)regions,
		.vec_len = max,
		.max_pages = query->max_pages,
		.category_inverted = query->category_inverted,
		.category_mask = query->category_mask,
		.category_anyof_mask = query->category_anyof_mask,
		.return_mask = query->return_mask,
	};
	long n;
	do
		n = ioctl(pm->fd, PAGEMAP_SCAN, &arg);
	while (n < 0 && errno == EINTR);
	if (n < 0) {
		switch (errno) {
		case ENOTTY:
		case EOPNOTSUPP:
			pm->scan = 0;
			return ms_error_create(MS_ERROR_UNSUPPORTED,
					       "PAGEMAP_SCAN: not supported by this kernel");
		case ESRCH:
			return exited_error(pm->pid);
		case EFAULT:
			return ms_error_create(MS_ERROR_INVALID,
					       "0x%" PRIx64
					       " is beyond the user address space of process %d",
					       start, (int)pm->pid);
		default:
			return ms_error_errno(errno, "PAGEMAP_SCAN on /proc/%d/pagemap",
					      (int)pm->pid);
		}
	}
	pm->scan = 1;
	*count_ret = (size_t)n;
	*walk_end_ret = arg.walk_end;
	return NULL;
}

struct ms_error *ms_pagemap_scan(struct ms_pagemap *pm, uint64_t start, uint64_t end,
				 uint64_t anyof, uint64_t return_mask, struct ms_pm_region *regions,
				 size_t max, size_t *count_ret, uint64_t *walk_end_ret)
{
	struct ms_pm_query query = {
		.start = start,
		.end = end,
		.category_anyof_mask = anyof,
		.return_mask = return_mask,
	};
	return ms_pagemap_query(pm, &query, regions, max, count_ret, walk_end_ret);
}

bool ms_pagemap_has_scan(struct ms_pagemap *pm)
{
	if (pm->scan < 0) {
		/* An empty range tells whether the ioctl exists. */
		struct ms_pm_region r;
		size_t n;
		uint64_t walk_end;
		uint64_t page = ms_page_size();
		struct ms_error *err = ms_pagemap_scan(pm, page, page, MS_PC_PRESENT, MS_PC_PRESENT,
						       &r, 1, &n, &walk_end);
		if (err) {
			if (err->code != MS_ERROR_EXITED)
				pm->scan = 0;
			ms_error_destroy(err);
		}
	}
	return pm->scan == 1;
}

/* ---- kpageflags, kpagecount ---- */

static const char *const kpf_names[] = {
	[MS_KPF_LOCKED] = "LOCKED",
	[MS_KPF_ERROR] = "ERROR",
	[MS_KPF_REFERENCED] = "REFERENCED",
	[MS_KPF_UPTODATE] = "UPTODATE",
	[MS_KPF_DIRTY] = "DIRTY",
	[MS_KPF_LRU] = "LRU",
	[MS_KPF_ACTIVE] = "ACTIVE",
	[MS_KPF_SLAB] = "SLAB",
	[MS_KPF_WRITEBACK] = "WRITEBACK",
	[MS_KPF_RECLAIM] = "RECLAIM",
	[MS_KPF_BUDDY] = "BUDDY",
	[MS_KPF_MMAP] = "MMAP",
	[MS_KPF_ANON] = "ANON",
	[MS_KPF_SWAPCACHE] = "SWAPCACHE",
	[MS_KPF_SWAPBACKED] = "SWAPBACKED",
	[MS_KPF_COMPOUND_HEAD] = "COMPOUND_HEAD",
	[MS_KPF_COMPOUND_TAIL] = "COMPOUND_TAIL",
	[MS_KPF_HUGE] = "HUGE",
	[MS_KPF_UNEVICTABLE] = "UNEVICTABLE",
	[MS_KPF_HWPOISON] = "HWPOISON",
	[MS_KPF_NOPAGE] = "NOPAGE",
	[MS_KPF_KSM] = "KSM",
	[MS_KPF_THP] = "THP",
	[MS_KPF_OFFLINE] = "OFFLINE",
	[MS_KPF_ZERO_PAGE] = "ZERO_PAGE",
	[MS_KPF_IDLE] = "IDLE",
	[MS_KPF_PGTABLE] = "PGTABLE",
	[MS_KPF_RESERVED] = "RESERVED",
	[MS_KPF_MLOCKED] = "MLOCKED",
	[MS_KPF_OWNER_2] = "OWNER_2",
	[MS_KPF_PRIVATE] = "PRIVATE",
	[MS_KPF_PRIVATE_2] = "PRIVATE_2",
	[MS_KPF_OWNER_PRIVATE] = "OWNER_PRIVATE",
	[MS_KPF_ARCH] = "ARCH",
	[MS_KPF_UNCACHED] = "UNCACHED",
	[MS_KPF_SOFTDIRTY] = "SOFTDIRTY",
	[MS_KPF_ARCH_2] = "ARCH_2",
	[MS_KPF_ARCH_3] = "ARCH_3",
};

const char *ms_kpageflag_name(unsigned bit)
{
	if (bit >= sizeof(kpf_names) / sizeof(kpf_names[0]))
		return NULL;
	return kpf_names[bit];
}

void ms_kpage_init(struct ms_kpage *kp)
{
	kp->flags_fd = -1;
	kp->count_fd = -1;
}

void ms_kpage_deinit(struct ms_kpage *kp)
{
	if (kp->flags_fd >= 0)
		close(kp->flags_fd);
	if (kp->count_fd >= 0)
		close(kp->count_fd);
	ms_kpage_init(kp);
}

static struct ms_error *kpage_read(int *fd, const char *path, uint64_t pfn, size_t n, uint64_t *out)
{
	if (*fd < 0) {
		*fd = open(path, O_RDONLY | O_CLOEXEC);
		if (*fd < 0) {
			if (errno == EACCES || errno == EPERM)
				return ms_error_create(MS_ERROR_PERMISSION,
						       "%s: needs CAP_SYS_ADMIN", path);
			return ms_error_errno(errno, "%s", path);
		}
	}
	if (pfn > (uint64_t)INT64_MAX / sizeof(uint64_t))
		return ms_error_create(MS_ERROR_INVALID, "%s: PFN 0x%" PRIx64 " out of range", path,
				       pfn);
	size_t want = n * sizeof(uint64_t), got = 0;
	off_t off = (off_t)(pfn * sizeof(uint64_t));
	while (got < want) {
		ssize_t r = pread(*fd, (char *)out + got, want - got, off + (off_t)got);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return ms_error_errno(errno, "%s at PFN 0x%" PRIx64, path, pfn);
		}
		if (r == 0) {
			/* past the end of memory: no such page */
			memset((char *)out + got, 0, want - got);
			break;
		}
		got += (size_t)r;
	}
	return NULL;
}

struct ms_error *ms_kpage_flags(struct ms_kpage *kp, uint64_t pfn, size_t n, uint64_t *flags)
{
	return kpage_read(&kp->flags_fd, "/proc/kpageflags", pfn, n, flags);
}

struct ms_error *ms_kpage_count(struct ms_kpage *kp, uint64_t pfn, size_t n, uint64_t *counts)
{
	return kpage_read(&kp->count_fd, "/proc/kpagecount", pfn, n, counts);
}

/* ---- swap areas ---- */

void ms_swaps_destroy(struct ms_swaps *swaps)
{
	if (!swaps)
		return;
	for (size_t i = 0; i < swaps->count; i++)
		free(swaps->areas[i].path);
	free(swaps->areas);
	free(swaps);
}

/* Undo seq_file's octal escapes (" " is written as \040). */
static void unescape_octal(char *s)
{
	char *d = s;
	for (; *s; s++) {
		if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' && s[2] <= '7' &&
		    s[3] >= '0' && s[3] <= '7') {
			*d++ = (char)((s[1] - '0') << 6 | (s[2] - '0') << 3 | (s[3] - '0'));
			s += 3;
		} else {
			*d++ = *s;
		}
	}
	*d = '\0';
}

struct ms_error *ms_swaps_parse(const char *text, struct ms_swaps **swaps_ret)
{
	struct ms_swaps *swaps = calloc(1, sizeof(*swaps));
	if (!swaps)
		return &ms_error_no_memory;
	size_t cap = 0;
	uint64_t page_kb = ms_page_size() / 1024;
	const char *line = strchr(text, '\n'); /* skip the title line */
	while (line && *++line) {
		const char *eol = strchr(line, '\n');
		size_t len = eol ? (size_t)(eol - line) : strlen(line);
		char buf[4096 + 128];
		if (len >= sizeof(buf))
			len = sizeof(buf) - 1;
		memcpy(buf, line, len);
		buf[len] = '\0';
		line = eol;
		/* The path may hold spaces: the four other fields are the last ones. */
		char *fields[4];
		char *end = buf + strlen(buf);
		int nf = 0;
		while (nf < 4) {
			while (end > buf && (end[-1] == ' ' || end[-1] == '\t'))
				*--end = '\0';
			char *f = end;
			while (f > buf && f[-1] != ' ' && f[-1] != '\t')
				f--;
			if (f == end)
				break;
			fields[3 - nf++] = f;
			end = f;
		}
		while (end > buf && (end[-1] == ' ' || end[-1] == '\t'))
			*--end = '\0';
		if (nf < 4 || end == buf)
			continue;
		struct ms_swap_area *a = ms_grow(swaps->areas, swaps->count, &cap, sizeof(*a), 4);
		if (!a) {
			ms_swaps_destroy(swaps);
			return &ms_error_no_memory;
		}
		swaps->areas = a;
		struct ms_swap_area *area = &swaps->areas[swaps->count];
		memset(area, 0, sizeof(*area));
		unescape_octal(buf);
		area->path = strdup(buf);
		if (!area->path) {
			ms_swaps_destroy(swaps);
			return &ms_error_no_memory;
		}
		snprintf(area->kind, sizeof(area->kind), "%s", fields[0]);
		area->size_pages = strtoull(fields[1], NULL, 10) / page_kb;
		area->used_pages = strtoull(fields[2], NULL, 10) / page_kb;
		area->priority = (int)strtol(fields[3], NULL, 10);
		area->type = (unsigned)swaps->count;
		swaps->count++;
	}
	*swaps_ret = swaps;
	return NULL;
}

struct ms_error *ms_swaps_read(struct ms_swaps **swaps_ret)
{
	char *text;
	struct ms_error *err = ms_procfs_read("/proc/swaps", &text, NULL);
	if (err)
		return err;
	err = ms_swaps_parse(text, swaps_ret);
	free(text);
	return err;
}

const struct ms_swap_area *ms_swaps_find(const struct ms_swaps *swaps, unsigned type,
					 uint64_t offset)
{
	if (!swaps)
		return NULL;
	/* Offset 0 is the swap header; usable slots are 1..size (bad pages aside). */
	if (type < swaps->count && offset <= swaps->areas[type].size_pages)
		return &swaps->areas[type];
	/* With one area, every swapped page is on it, whatever its index. */
	if (swaps->count == 1 && offset <= swaps->areas[0].size_pages)
		return &swaps->areas[0];
	return NULL;
}

/* ---- page cache residency ---- */

#define HUGETLBFS_MAGIC_NUMBER 0x958458f6

struct ms_error *ms_filecache_open(pid_t pid, const struct ms_vma *vma, struct ms_filecache *fc)
{
	memset(fc, 0, sizeof(*fc));
	if (vma->vm_flags & (MS_VM_HUGETLB | MS_VM_PFNMAP | MS_VM_IO | MS_VM_MIXEDMAP))
		return ms_error_create(MS_ERROR_UNSUPPORTED, "not a page cache mapping");
	char path[96];
	snprintf(path, sizeof(path), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, (int)pid,
		 vma->start, vma->end);
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	struct stat st;
	if (fd < 0 && vma->name && vma->name[0] == '/' && !vma->deleted)
		fd = open(vma->name, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return ms_error_errno(errno, "%s", vma->name ? vma->name : path);
	/* Only plain files: mapping a device file runs its driver. */
	struct statfs sfs;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_ino != vma->inode ||
	    major(st.st_dev) != vma->dev_major || minor(st.st_dev) != vma->dev_minor ||
	    (fstatfs(fd, &sfs) == 0 && (unsigned long)sfs.f_type == HUGETLBFS_MAGIC_NUMBER)) {
		close(fd);
		return ms_error_create(MS_ERROR_UNSUPPORTED,
				       "%s: not the mapped file, or not a plain file",
				       vma->name ? vma->name : path);
	}
	size_t len = (size_t)(vma->end - vma->start);
	void *base = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, (off_t)vma->offset);
	int saved = errno;
	close(fd);
	if (base == MAP_FAILED)
		return ms_error_errno(saved, "mmap %s", vma->name ? vma->name : path);
	fc->base = base;
	fc->len = len;
	fc->vma_start = vma->start;
	return NULL;
}

void ms_filecache_close(struct ms_filecache *fc)
{
	if (fc->base)
		munmap(fc->base, fc->len);
	memset(fc, 0, sizeof(*fc));
}

struct ms_error *ms_filecache_resident(struct ms_filecache *fc, uint64_t vaddr, size_t npages,
				       uint8_t *vec)
{
	size_t page = ms_page_size();
	uint64_t off = vaddr - fc->vma_start;
	if (!fc->base || vaddr < fc->vma_start || off + npages * page > fc->len)
		return ms_error_create(MS_ERROR_INVALID, "page cache query outside the mapping");
	if (mincore((char *)fc->base + off, npages * page, vec) < 0)
		return ms_error_errno(errno, "mincore");
	for (size_t i = 0; i < npages; i++)
		vec[i] &= 1;
	return NULL;
}

/* ---- one page, in full ---- */

bool ms_pid_ksm_active(pid_t pid)
{
	char path[64], *text;
	snprintf(path, sizeof(path), "/proc/%d/ksm_stat", (int)pid);
	if (!ms_procfs_try_read(path, &text))
		return true; /* no ksm_stat: cannot rule KSM out */
	uint64_t merging;
	bool active = true;
	if (ms_procfs_field_u64(text, "ksm_merging_pages", &merging))
		active = merging > 0;
	free(text);
	return active;
}

struct ms_error *ms_page_detail_get(struct ms_pagemap *pm, struct ms_kpage *kp, uint64_t vaddr,
				    struct ms_page_detail *info)
{
	size_t page = ms_page_size();
	memset(info, 0, sizeof(*info));
	info->vaddr = vaddr;
	struct ms_error *err = ms_pagemap_read(pm, vaddr, 1, &info->entry);
	if (err)
		return err;
	uint64_t base = vaddr / page * page;
	if (ms_pagemap_has_scan(pm)) {
		struct ms_pm_region r;
		size_t n;
		uint64_t walk_end;
		err = ms_pagemap_scan(pm, base, base + page, MS_PC_PRESENT | MS_PC_SWAPPED,
				      MS_PC_PRESENT | MS_PC_SWAPPED | MS_PC_PFNZERO | MS_PC_HUGE |
					      MS_PC_FILE,
				      &r, 1, &n, &walk_end);
		if (err)
			return err;
		info->have_categories = true;
		info->categories = n ? r.categories : 0;
	}
	if (!(info->entry & MS_PM_PRESENT) || !pm->pfn_visible || !kp)
		return NULL;
	uint64_t pfn = ms_pm_pfn(info->entry);
	err = ms_kpage_flags(kp, pfn, 1, &info->kpf);
	if (!err)
		err = ms_kpage_count(kp, pfn, 1, &info->mapcount);
	if (err) {
		if (err->code == MS_ERROR_PERMISSION) {
			ms_error_destroy(err);
			return NULL;
		}
		return err;
	}
	info->have_kpf = true;
	if (!(info->kpf & (MS_KPF(MS_KPF_COMPOUND_HEAD) | MS_KPF(MS_KPF_COMPOUND_TAIL))))
		return NULL;
	/*
	 * Find the compound page around pfn: the head is at most 511 pages
	 * back for a 2 MiB page (further for 1 GiB hugetlb pages, which are
	 * walked back in steps), and the tails follow it.
	 */
	enum { SPAN = 512 };
	uint64_t flags[SPAN];
	uint64_t head = pfn;
	if (!(info->kpf & MS_KPF(MS_KPF_COMPOUND_HEAD))) {
		bool found = false, stop = false;
		uint64_t hi = pfn; /* pages [lo, hi) are looked at */
		for (int step = 0; step < 512 && !found && !stop && hi > 0; step++) {
			uint64_t lo = hi > SPAN ? hi - SPAN : 0;
			err = ms_kpage_flags(kp, lo, (size_t)(hi - lo), flags);
			if (err)
				return err;
			for (uint64_t p = hi; p-- > lo;) {
				uint64_t f = flags[p - lo];
				if (f & MS_KPF(MS_KPF_COMPOUND_HEAD)) {
					head = p;
					found = true;
					break;
				}
				if (!(f & MS_KPF(MS_KPF_COMPOUND_TAIL))) {
					stop = true;
					break;
				}
			}
			hi = lo;
		}
		if (!found)
			return NULL; /* the page changed under us */
	}
	uint64_t count = 1;
	for (int step = 0; step < 512; step++) {
		err = ms_kpage_flags(kp, head + count, SPAN, flags);
		if (err)
			return err;
		size_t i = 0;
		while (i < SPAN && (flags[i] & MS_KPF(MS_KPF_COMPOUND_TAIL)) &&
		       !(flags[i] & MS_KPF(MS_KPF_COMPOUND_HEAD)))
			i++;
		count += i;
		if (i < SPAN)
			break;
	}
	info->in_folio = true;
	info->head_pfn = head;
	info->nr_pages = count;
	return NULL;
}
