/* SPDX-License-Identifier: MIT */
/*
 * Fork first, freeze after: what the target changed in between.
 *
 * The fork's copy of the page tables is most of a freeze (some 50 ns a page,
 * 25 ms for 2 GiB of 4 KiB pages). With more than one thread,
 * ms_snapshot_create makes the fork while only the forking thread is
 * stopped, then freezes every thread. What the others changed in between is
 * found here, page by page, from the two processes' pagemaps: a page the
 * target maps at the same physical address (or swap slot) as the child holds
 * the same bytes in both, whatever mapping holds it in the child. A page the
 * target maps elsewhere (copied on write since, or new) is copied from the
 * frozen target into the spill file ("patches"); a page the target dropped
 * since (MADV_DONTNEED, munmap and mmap again) is left out ("drops"). So
 * private anonymous memory may be mapped, moved and grown in between. File
 * and shared mappings must be the child's very own (their unmapped pages are
 * read through the mapping); where they are not, or a page was swapped out
 * in between, or too much changed, the early child is given up and the
 * caller forks again with every thread frozen. Physical addresses in pagemap need
 * CAP_SYS_ADMIN.
 *
 * The child's smaps says which mappings are dumped (MADV_DONTDUMP). For
 * the private mappings made since, or made just before and written since,
 * the frozen target's smaps is read instead, up to the last of them. smaps
 * walks the page tables of every mapping it shows: 2 GiB of 4 KiB pages
 * below them add some 15 ms to the freeze, the price of not dumping a
 * short-lived MADV_DONTDUMP buffer (a key, say) made in between.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "grow.h"
#include "maps_stream.h"
#include "pagemap.h"
#include "procfs.h"
#include "snapshot_impl.h"

/* pagemap entries compared per read: 512 KiB of each process's, 256 MiB of memory */
enum { PATCH_CHUNK = 65536 };
/* Each half's target and child entries. */
enum { PATCH_BUF_ENTRIES = 4 * PATCH_CHUNK };
/*
 * The child's entries are read before the freeze and kept, 4 bytes a page, up
 * to this many pages (16 MiB for 16 GiB of private memory); beyond that they
 * are read during the freeze.
 */
enum { PATCH_CACHE_MAX = 4 << 20 };
/*
 * More changed than this (copied while frozen, some 30 ms) and a fork made
 * frozen is the shorter stop.
 */
#define PATCH_MAX_BYTES (UINT64_C(64) << 20)

/* One of the child's mappings whose entries are kept (packed). */
struct ms_snap_cached {
	uint64_t start, end;
	uint32_t *packed;
};

/* An entry in 32 bits: present, swap, file, and a frame or swap entry below 2^29. */
#define PACK_PRESENT (UINT32_C(1) << 31)
#define PACK_SWAP    (UINT32_C(1) << 30)
#define PACK_FILE    (UINT32_C(1) << 29)
#define PACK_VALUE   (PACK_FILE - 1)

static bool pack(uint64_t e, uint32_t *out)
{
	uint64_t value = e & MS_PM_PFN_MASK;
	if (!(e & (MS_PM_PRESENT | MS_PM_SWAP)))
		value = 0;
	if (value > PACK_VALUE)
		return false;
	*out = (uint32_t)value | (e & MS_PM_PRESENT ? PACK_PRESENT : 0) |
	       (e & MS_PM_SWAP ? PACK_SWAP : 0) | (e & MS_PM_FILE ? PACK_FILE : 0);
	return true;
}

static uint64_t unpack(uint32_t p)
{
	return (p & PACK_VALUE) | (p & PACK_PRESENT ? MS_PM_PRESENT : 0) |
	       (p & PACK_SWAP ? MS_PM_SWAP : 0) | (p & PACK_FILE ? MS_PM_FILE : 0);
}

enum verdict {
	SAME,	   /* the child reads what the frozen target holds */
	CHANGED,   /* copy it from the target */
	DROPPED,   /* the target has no page there now: leave the child's out */
	UNMENDABLE /* give the early child up */
};

static const uint64_t HAS_PAGE = MS_PM_PRESENT | MS_PM_SWAP;

/*
 * A page of private anonymous memory (the child's, at that address, in any
 * mapping). The target's zero pages are no page (see no_zero_pages).
 */
static enum verdict compare_anon(uint64_t t, uint64_t c)
{
	const uint64_t key = HAS_PAGE | MS_PM_PFN_MASK;
	if (!(t & HAS_PAGE))
		return c & HAS_PAGE ? DROPPED : SAME;
	if ((t & key) == (c & key)) {
		/*
		 * One page, or one swap slot. A page the child maps too is
		 * mapped twice: one the target alone maps is another page at
		 * the frame the child's was at when its entries were kept.
		 */
		if ((t & MS_PM_PRESENT) && (t & MS_PM_EXCLUSIVE))
			return CHANGED;
		return SAME;
	}
	if (t & MS_PM_SWAP)
		return UNMENDABLE; /* reading it would swap it in */
	return CHANGED;
}

/* A page of a private file mapping the child has too. */
static enum verdict compare_file(uint64_t t, uint64_t c)
{
	/* no page, or a page of the file: reads the file there */
	bool t_file = !(t & HAS_PAGE) || (t & MS_PM_FILE);
	bool c_file = !(c & HAS_PAGE) || (c & MS_PM_FILE);
	if (t_file && c_file)
		return SAME;
	enum verdict v = compare_anon(t, c);
	return v == DROPPED ? UNMENDABLE : v; /* the target reads the file there now */
}

/*
 * The kernel's own pages (vdso, vvar, vsyscall): the same in every process,
 * and mapped in a child only once it touches them.
 */
static bool kernel_pages(const struct ms_vma *v)
{
	return v->kind == MS_VMA_VDSO || v->kind == MS_VMA_VVAR || v->kind == MS_VMA_VSYSCALL;
}

static bool same_name(const struct ms_vma *a, const struct ms_vma *b)
{
	if (!a->name || !b->name)
		return a->name == b->name;
	return strcmp(a->name, b->name) == 0;
}

static bool same_mapping(const struct ms_vma *a, const struct ms_vma *b)
{
	return a->start == b->start && a->end == b->end && a->prot == b->prot &&
	       a->offset == b->offset && a->dev_major == b->dev_major &&
	       a->dev_minor == b->dev_minor && a->inode == b->inode && same_name(a, b);
}

/* Copy [addr, addr + len) from the frozen target into the spill file. */
static struct ms_error *copy_patch(struct ms_snapshot *s, const struct ms_snapshot_options *o,
				   uint64_t addr, uint64_t len, bool *mendable)
{
	struct ms_error *err = ms_snap_open_spill(s, o->temp_dir);
	while (!err && len) {
		size_t n = len < SNAP_BUF_SIZE ? (size_t)len : SNAP_BUF_SIZE;
		ssize_t got = ms_snap_read_memory(s->pid, &s->target_mem_fd, addr, s->buf, n);
		if (got != (ssize_t)n) {
			*mendable = false; /* present in its page tables, yet unreadable */
			return NULL;
		}
		if (pwrite(s->spill_fd, s->buf, n, (off_t)s->spill_size) != (ssize_t)n)
			return ms_error_errno(errno, "writing the spill file");
		err = ms_snap_add_extent(&s->patches, &s->npatches, &s->cap_patches, addr, n,
					 s->spill_size);
		s->spill_size += n;
		s->patched_bytes += n;
		addr += n;
		len -= n;
	}
	return err;
}

static struct ms_error *read_entries(int fd, pid_t pid, uint64_t addr, size_t n, uint64_t *out)
{
	size_t want = n * sizeof(*out), done = 0;
	off_t at = (off_t)(addr / ms_page_size() * sizeof(*out));
	while (done < want) {
		ssize_t r = pread(fd, (char *)out + done, want - done, at + (off_t)done);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return ms_error_errno(r < 0 ? errno : EIO, "/proc/%d/pagemap", (int)pid);
		done += (size_t)r;
	}
	return NULL;
}

/* The child's kept entries from address a on, if they cover [a, end); else NULL. */
static const uint32_t *kept_entries(const struct ms_snapshot *s, uint64_t a, uint64_t end)
{
	for (size_t i = 0; i < s->ncached; i++) {
		const struct ms_snap_cached *k = &s->cached[i];
		if (a >= k->start && end <= k->end)
			return k->packed + (a - k->start) / ms_page_size();
	}
	return NULL;
}

/* The child's entries for [a, a + n pages): kept, or read now (none where it maps nothing). */
static struct ms_error *child_entries(struct ms_snapshot *s, int child_pagemap, uint64_t a,
				      size_t n, uint64_t *c)
{
	const uint32_t *p = kept_entries(s, a, a + n * ms_page_size());
	if (!p)
		return read_entries(child_pagemap, s->early_child, a, n, c);
	for (size_t j = 0; j < n; j++)
		c[j] = unpack(p[j]);
	return NULL;
}

struct ms_error *ms_snap_patch_prepare(struct ms_snapshot *s)
{
	size_t page = ms_page_size(), kept = 0;
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)s->early_child);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ms_error_errno(errno, "%s", path);
	/*
	 * The comparison's buffers, touched now: their 512 page faults would
	 * add to the freeze (more where freed memory went back to a hypervisor).
	 */
	s->patch_buf = malloc(PATCH_BUF_ENTRIES * sizeof(*s->patch_buf));
	if (s->patch_buf)
		memset(s->patch_buf, 0, PATCH_BUF_ENTRIES * sizeof(*s->patch_buf));
	uint64_t *buf = s->patch_buf; /* its first PATCH_CHUNK entries, meanwhile */
	struct ms_error *err = buf ? NULL : &ms_error_no_memory;
	for (size_t i = 0; !err && i < s->early_maps->count; i++) {
		const struct ms_vma *v = &s->early_maps->vmas[i];
		size_t pages = (size_t)((v->end - v->start) / page);
		if (v->kind == MS_VMA_VSYSCALL || (v->prot & MS_PROT_SHARED) ||
		    kept + pages > PATCH_CACHE_MAX)
			continue;
		struct ms_snap_cached *grown =
			ms_grow(s->cached, s->ncached, &s->cap_cached, sizeof(*grown), 16);
		uint32_t *packed = grown ? malloc(pages * sizeof(*packed)) : NULL;
		if (!packed) {
			if (grown)
				s->cached = grown;
			err = &ms_error_no_memory;
			break;
		}
		s->cached = grown;
		bool fits = true;
		for (size_t done = 0; fits && !err && done < pages;) {
			size_t n = pages - done < PATCH_CHUNK ? pages - done : PATCH_CHUNK;
			err = read_entries(fd, s->early_child, v->start + done * page, n, buf);
			for (size_t j = 0; !err && fits && j < n; j++)
				fits = pack(buf[j], &packed[done + j]);
			done += n;
		}
		if (err || !fits) {
			free(packed); /* a frame or swap slot too high to pack: read when frozen */
			continue;
		}
		s->cached[s->ncached++] = (struct ms_snap_cached){v->start, v->end, packed};
		kept += pages;
	}
	close(fd);
	return err;
}

/*
 * The comparison is split in two halves by pages, one on a helper thread,
 * as reading 2 GiB of pagemap takes the kernel some 8 ms: the frozen time.
 */
struct span {
	uint64_t start, end;
	bool file; /* a private file mapping (the child has it too) */
};

struct half {
	struct ms_snapshot *s;
	int child_pagemap;
	const struct span *spans;
	size_t nspans;
	uint64_t *t, *c; /* PATCH_CHUNK entries each */
	/* pages changed (to copy) and dropped, in address order */
	struct spill_extent *changed, *dropped;
	size_t nchanged, cap_changed, ndropped, cap_dropped;
	bool mendable;
	char why[256];
	struct ms_error *err;
	uint64_t zero_pfn;
	struct ms_kpage kp;
};

/*
 * The target's pages that only read zeros (the zero page, or the huge zero
 * page a read fault maps in a THP mapping) hold no data and the kernel
 * leaves them out of its core: here they are no page, where the child has
 * another entry. The huge zero page is a page table's worth of consecutive
 * frames at an address so aligned, and is told by kpageflags, read once for
 * each such run.
 */
static void no_zero_pages(struct half *h, uint64_t a, size_t n)
{
	size_t page = ms_page_size(), run = page / sizeof(uint64_t);
	const uint64_t key = HAS_PAGE | MS_PM_PFN_MASK;
	size_t first = (size_t)(a / page); /* run is a power of two: masks, not divisions */
	for (size_t i = 0; i < n; i++) {
		uint64_t t = h->t[i], pfn = ms_pm_pfn(t);
		if (!(t & MS_PM_PRESENT) || (t & key) == (h->c[i] & key))
			continue; /* what the child has too is the same either way */
		if (pfn == h->zero_pfn) {
			h->t[i] = 0;
			continue;
		}
		if (((first + i) & (run - 1)) || (pfn & (run - 1)) || i + run > n)
			continue;
		uint64_t last = h->t[i + run - 1];
		if (!(last & MS_PM_PRESENT) || ms_pm_pfn(last) != pfn + run - 1)
			continue;
		uint64_t flags;
		struct ms_error *err = ms_kpage_flags(&h->kp, pfn, 1, &flags);
		if (err) {
			/* zeros copied would be dumped as data: a fork made frozen instead */
			snprintf(h->why, sizeof(h->why), "%s", err->message);
			ms_error_destroy(err);
			h->mendable = false;
			return;
		}
		if (flags & MS_KPF(MS_KPF_ZERO_PAGE))
			memset(&h->t[i], 0, run * sizeof(*h->t));
		i += run - 1;
	}
}

static void compare_span(struct half *h, const struct span *sp)
{
	size_t page = ms_page_size(), run = page / sizeof(uint64_t);
	enum verdict (*compare)(uint64_t, uint64_t) = sp->file ? compare_file : compare_anon;
	for (uint64_t a = sp->start; a < sp->end && h->mendable && !h->err;) {
		size_t n = (size_t)((sp->end - a) / page);
		if (n > PATCH_CHUNK) {
			/* end where a huge page may begin, so none is cut in two */
			n = PATCH_CHUNK - (size_t)(a / page % run);
		}
		h->err = read_entries(h->s->target_pagemap_fd, h->s->pid, a, n, h->t);
		if (!h->err)
			h->err = child_entries(h->s, h->child_pagemap, a, n, h->c);
		if (!h->err)
			no_zero_pages(h, a, n);
		for (size_t i = 0; i < n && h->mendable && !h->err;) {
			enum verdict vd = compare(h->t[i], h->c[i]);
			if (vd == SAME) {
				i++;
				continue;
			}
			if (vd == UNMENDABLE) {
				snprintf(h->why, sizeof(h->why),
					 "page 0x%llx was swapped out or dropped after the fork",
					 (unsigned long long)(a + i * page));
				h->mendable = false;
				return;
			}
			size_t j = i + 1;
			while (j < n && compare(h->t[j], h->c[j]) == vd)
				j++;
			if (vd == CHANGED)
				h->err = ms_snap_add_extent(&h->changed, &h->nchanged,
							    &h->cap_changed, a + i * page,
							    (j - i) * page, a + i * page);
			else
				h->err = ms_snap_add_extent(&h->dropped, &h->ndropped,
							    &h->cap_dropped, a + i * page,
							    (j - i) * page, a + i * page);
			i = j;
		}
		a += n * page;
	}
}

static void *compare_half(void *arg)
{
	struct half *h = arg;
	for (size_t i = 0; i < h->nspans && h->mendable && !h->err; i++)
		compare_span(h, &h->spans[i]);
	return NULL;
}

/*
 * The target's mappings to compare, page by page, cut in two halves of as
 * many pages (*cut: where the second begins). *mendable false: one cannot be.
 */
static struct ms_error *plan_spans(struct ms_snapshot *s, const struct ms_snapshot_options *o,
				   const struct ms_maps *given, struct span **spans_ret,
				   size_t *nspans_ret, size_t *cut_ret, bool *mendable, char *why,
				   size_t why_len)
{
	size_t n = 0, cap = 0;
	struct span *spans = NULL;
	uint64_t total = 0;
	for (size_t i = 0; i < s->maps->count; i++) {
		const struct ms_vma *v = &s->maps->vmas[i];
		if (kernel_pages(v) || ms_snap_spilled(s, v))
			continue; /* the same pages everywhere; copied while frozen */
		const struct ms_vma *d = ms_snap_find_exact(given, v);
		if (d && !ms_snap_worth_spilling(o, d))
			continue; /* not dumped */
		bool shared = v->prot & MS_PROT_SHARED, file = !shared && ms_vma_is_file(v);
		const struct ms_vma *cv = ms_snap_find_exact(s->early_maps, v);
		if ((shared || file) && !(cv && same_mapping(cv, v))) {
			snprintf(why, why_len, "0x%llx-0x%llx (%s) was mapped after the fork",
				 (unsigned long long)v->start, (unsigned long long)v->end,
				 v->name ? v->name : "shared memory");
			*mendable = false;
			free(spans);
			return NULL;
		}
		if (shared)
			continue; /* one object for both */
		struct span *grown = ms_grow(spans, n, &cap, sizeof(*grown), 32);
		if (!grown) {
			free(spans);
			return &ms_error_no_memory;
		}
		spans = grown;
		spans[n++] = (struct span){v->start, v->end, file};
		total += v->end - v->start;
	}
	/* cut the span that holds the middle byte at a page boundary */
	uint64_t half = total / 2 / ms_page_size() * ms_page_size(), seen = 0;
	size_t cut = n;
	for (size_t i = 0; i < n; i++) {
		uint64_t len = spans[i].end - spans[i].start;
		if (seen + len <= half) {
			seen += len;
			continue;
		}
		uint64_t at = spans[i].start + (half - seen);
		cut = i;
		if (at > spans[i].start) {
			struct span *grown = ms_grow(spans, n, &cap, sizeof(*grown), 32);
			if (!grown) {
				free(spans);
				return &ms_error_no_memory;
			}
			spans = grown;
			memmove(&spans[i + 1], &spans[i], (n - i) * sizeof(*spans));
			n++;
			spans[i].end = at;
			spans[i + 1].start = at;
			cut = i + 1;
		}
		break;
	}
	*spans_ret = spans;
	*nspans_ret = n;
	*cut_ret = cut;
	return NULL;
}

struct ms_error *ms_snap_patch(struct ms_snapshot *s, const struct ms_snapshot_options *o,
			       const struct ms_maps *given, ms_snap_meanwhile_fn *meanwhile,
			       void *arg, bool *mendable_ret, char *why, size_t why_len)
{
	*mendable_ret = true;
	struct span *spans = NULL;
	size_t nspans = 0, cut = 0;
	struct ms_error *err =
		plan_spans(s, o, given, &spans, &nspans, &cut, mendable_ret, why, why_len);
	if (err || !*mendable_ret)
		return err;
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)s->early_child);
	int child_pagemap = open(path, O_RDONLY | O_CLOEXEC);
	uint64_t *entries = s->patch_buf;
	struct half h[2];
	uint64_t zero_pfn = ms_zero_pfn(); /* learnt once: before the helper thread */
	for (int i = 0; i < 2; i++) {
		h[i] = (struct half){.s = s,
				     .child_pagemap = child_pagemap,
				     .spans = i ? spans + cut : spans,
				     .nspans = i ? nspans - cut : cut,
				     .t = entries + (size_t)(2 * i) * PATCH_CHUNK,
				     .c = entries + (size_t)(2 * i + 1) * PATCH_CHUNK,
				     .mendable = true,
				     .zero_pfn = zero_pfn};
		ms_kpage_init(&h[i].kp);
	}
	if (child_pagemap < 0 || !entries) {
		err = child_pagemap < 0 ? ms_error_errno(errno, "%s", path) : &ms_error_no_memory;
		goto out;
	}
	pthread_t helper;
	bool helped = pthread_create(&helper, NULL, compare_half, &h[0]) == 0;
	err = meanwhile ? meanwhile(arg) : NULL;
	if (!helped)
		compare_half(&h[0]);
	compare_half(&h[1]);
	if (helped)
		pthread_join(helper, NULL);
	for (int i = 0; i < 2 && !err; i++) {
		if (h[i].err) {
			err = h[i].err;
			h[i].err = NULL;
		} else if (!h[i].mendable && *mendable_ret) {
			*mendable_ret = false;
			snprintf(why, why_len, "%s", h[i].why);
		}
	}
	uint64_t changed = 0;
	for (int i = 0; i < 2; i++)
		for (size_t r = 0; r < h[i].nchanged; r++)
			changed += h[i].changed[r].len;
	if (!err && *mendable_ret && changed > PATCH_MAX_BYTES) {
		snprintf(why, why_len, "%llu MiB changed after the fork: more than a fork takes",
			 (unsigned long long)(changed >> 20));
		*mendable_ret = false;
	}
	/* in address order: the first half is the lower */
	for (int i = 0; i < 2 && !err && *mendable_ret; i++) {
		for (size_t r = 0; r < h[i].nchanged && !err && *mendable_ret; r++) {
			const struct spill_extent *e = &h[i].changed[r];
			err = copy_patch(s, o, e->addr, e->len, mendable_ret);
			if (!*mendable_ret)
				snprintf(why, why_len, "page 0x%llx could not be read",
					 (unsigned long long)e->addr);
		}
		for (size_t r = 0; r < h[i].ndropped && !err; r++)
			err = ms_snap_add_extent(&s->drops, &s->ndrops, &s->cap_drops,
						 h[i].dropped[r].addr, h[i].dropped[r].len,
						 h[i].dropped[r].addr);
	}
out:
	for (int i = 0; i < 2; i++) {
		ms_kpage_deinit(&h[i].kp);
		ms_error_destroy(h[i].err);
		free(h[i].changed);
		free(h[i].dropped);
	}
	free(spans);
	free(s->patch_buf);
	s->patch_buf = NULL;
	if (child_pagemap >= 0)
		close(child_pagemap);
	return err;
}

void ms_snap_drop_patches(struct ms_snapshot *s)
{
	for (size_t i = 0; i < s->ncached; i++)
		free(s->cached[i].packed);
	free(s->cached);
	s->cached = NULL;
	s->ncached = s->cap_cached = 0;
	free(s->patches);
	s->patches = NULL;
	s->npatches = s->cap_patches = 0;
	free(s->drops);
	s->drops = NULL;
	s->ndrops = s->cap_drops = 0;
	s->patched_bytes = 0;
	free(s->patch_buf);
	s->patch_buf = NULL;
}

/* The first of list[0..n) (sorted, disjoint) that ends after addr. */
static size_t first_after(const struct spill_extent *list, size_t n, uint64_t addr)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (list[mid].addr + list[mid].len <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

struct ms_error *ms_snap_patch_ranges(const struct ms_snapshot *s, uint64_t start,
				      struct ms_snapshot_range *ranges, size_t max,
				      size_t *count_ret, uint64_t *next_ret)
{
	uint64_t limit = *next_ret;
	size_t p = first_after(s->patches, s->npatches, start), pe = p;
	while (pe < s->npatches && s->patches[pe].addr < limit)
		pe++;
	size_t d = first_after(s->drops, s->ndrops, start), de = d;
	while (de < s->ndrops && s->drops[de].addr < limit)
		de++;
	if (p == pe && d == de)
		return NULL;
	size_t n = *count_ret;
	struct ms_snapshot_range *kept = malloc((n + (de - d) + 1) * sizeof(*kept));
	struct ms_snapshot_range *merged = malloc((n + (de - d) + (pe - p) + 1) * sizeof(*merged));
	if (!kept || !merged) {
		free(kept);
		free(merged);
		return &ms_error_no_memory;
	}
	/* the child's ranges less what the target dropped */
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		uint64_t a = ranges[i].start, b = ranges[i].end;
		for (size_t j = first_after(s->drops, s->ndrops, a); j < de && a < b; j++) {
			const struct spill_extent *x = &s->drops[j];
			if (x->addr >= b)
				break;
			if (x->addr > a)
				kept[k++] = (struct ms_snapshot_range){a, x->addr};
			if (x->addr + x->len > a)
				a = x->addr + x->len;
		}
		if (a < b)
			kept[k++] = (struct ms_snapshot_range){a, b};
	}
	/* and with what it changed */
	size_t m = 0, i = 0;
	while (i < k || p < pe) {
		struct ms_snapshot_range r;
		if (p == pe || (i < k && kept[i].start <= s->patches[p].addr)) {
			r = kept[i++];
		} else {
			const struct spill_extent *e = &s->patches[p++];
			r.start = e->addr > start ? e->addr : start;
			r.end = e->addr + e->len < limit ? e->addr + e->len : limit;
		}
		if (m && r.start <= merged[m - 1].end) {
			if (r.end > merged[m - 1].end)
				merged[m - 1].end = r.end;
			continue;
		}
		merged[m++] = r;
	}
	size_t keep = m < max ? m : max;
	memcpy(ranges, merged, keep * sizeof(*ranges));
	*count_ret = keep;
	if (keep < m)
		*next_ret = merged[keep].start;
	free(kept);
	free(merged);
	return NULL;
}

enum ms_snap_cover ms_snap_cover_at(const struct ms_snapshot *s, uint64_t addr, uint64_t *until_ret,
				    uint64_t *offset_ret)
{
	uint64_t until = UINT64_MAX;
	size_t p = first_after(s->patches, s->npatches, addr);
	if (p < s->npatches) {
		const struct spill_extent *e = &s->patches[p];
		if (e->addr <= addr) {
			*until_ret = e->addr + e->len;
			*offset_ret = e->offset + (addr - e->addr);
			return MS_SNAP_PATCH;
		}
		until = e->addr;
	}
	size_t d = first_after(s->drops, s->ndrops, addr);
	if (d < s->ndrops) {
		const struct spill_extent *e = &s->drops[d];
		if (e->addr <= addr) {
			*until_ret = e->addr + e->len < until ? e->addr + e->len : until;
			return MS_SNAP_DROP;
		}
		if (e->addr < until)
			until = e->addr;
	}
	*until_ret = until;
	return MS_SNAP_CHILD;
}

/* Read a few mappings of smaps at a time: the walk ends near the last wanted. */
enum { DETAIL_CHUNK = 4096 };

bool ms_snap_patched(const struct ms_snapshot *s, const struct ms_vma *v)
{
	size_t i = first_after(s->patches, s->npatches, v->start);
	return i < s->npatches && s->patches[i].addr < v->end;
}

/* Whether the child has a page in v (true if its entries were not kept). */
static bool child_has_pages(const struct ms_snapshot *s, const struct ms_vma *v)
{
	const uint32_t *p = kept_entries(s, v->start, v->end);
	if (!p)
		return true;
	size_t n = (size_t)((v->end - v->start) / ms_page_size());
	for (size_t j = 0; j < n; j++)
		if (p[j] & (PACK_PRESENT | PACK_SWAP))
			return true;
	return false;
}

/*
 * Whether the child's smaps of private anonymous mapping v may not be the
 * target's at the freeze: it has none (made since), or it had no page there
 * and the target has written some since (a mapping made just before the
 * fork, whose flags, MADV_DONTDUMP, may have been set just after it).
 */
static bool needs_target_detail(const struct ms_snapshot *s, const struct ms_maps *given,
				const struct ms_vma *v)
{
	if ((v->prot & MS_PROT_SHARED) || ms_vma_is_file(v) || kernel_pages(v) ||
	    ms_snap_find_exact(s->new_detail, v))
		return false;
	if (!ms_snap_find_exact(s->early_maps, v)) {
		/*
		 * Made since, unless it is one fork does not copy (its smaps from
		 * before is used). A mapping made since may well have the same
		 * bounds as one unmapped before the fork: its flags are not those.
		 */
		const struct ms_vma *before = ms_snap_find_exact(given, v);
		return !before || !(before->vm_flags & MS_VM_DONTCOPY);
	}
	return ms_snap_patched(s, v) && !child_has_pages(s, v);
}

struct ms_error *ms_snap_detail_of_new(struct ms_snapshot *s, const struct ms_maps *given)
{
	uint64_t last = 0; /* where the last wanted begins */
	bool any = false;
	for (size_t i = 0; i < s->maps->count; i++) {
		if (needs_target_detail(s, given, &s->maps->vmas[i])) {
			any = true;
			last = s->maps->vmas[i].start;
		}
	}
	if (!any)
		return NULL;
	if (!s->new_detail && !(s->new_detail = ms_maps_create()))
		return &ms_error_no_memory;
	struct ms_maps_stream *stream;
	struct ms_error *err = ms_maps_stream_open(s->pid, MS_MAPS_SMAPS, &stream);
	if (err)
		return err;
	ms_maps_stream_set_chunk(stream, DETAIL_CHUNK);
	size_t at = 0; /* both in address order: a cursor into s->maps */
	for (bool done = false; !done && !err;) {
		const struct ms_maps *batch;
		err = ms_maps_stream_next(stream, &batch);
		if (err || !batch)
			break;
		for (size_t k = 0; k < batch->count && !done && !err; k++) {
			const struct ms_vma *d = &batch->vmas[k];
			while (at < s->maps->count && s->maps->vmas[at].start < d->start)
				at++;
			const struct ms_vma *v = at < s->maps->count ? &s->maps->vmas[at] : NULL;
			if (v && v->start == d->start && v->end == d->end &&
			    needs_target_detail(s, given, v))
				err = ms_maps_append(s->new_detail, d);
			done = d->start >= last;
		}
	}
	ms_maps_stream_close(stream);
	return err;
}
