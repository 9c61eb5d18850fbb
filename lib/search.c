/* SPDX-License-Identifier: MIT */
#include "search.h"

#include <stdlib.h>
#include <string.h>

#include "pagemap.h"
#include "pmscan.h"
#include "proclist.h"
#include "target.h"

/* Bytes read per call: large enough to amortise the reads, small enough to stay in cache. */
enum { CHUNK = 2 << 20 };

/* A page that faults this many times in a row ends its run (I/O mappings, races). */
enum { MAX_FAULT_STREAK = 16 };

struct search {
	struct ms_target *target;
	const struct ms_search_params *p;
	const struct ms_maps *maps;
	ms_search_hit_fn *fn;
	void *arg;
	struct ms_search_stats stats;
	size_t align, maxlen;
	bool words;	   /* every pattern is one aligned value of width align */
	bool zero_matches; /* some pattern matches bytes that are all zero */
	uint64_t word_value[MS_SEARCH_MAX_PATTERNS], word_mask[MS_SEARCH_MAX_PATTERNS];
	uint8_t *buf;	    /* CHUNK + carry */
	size_t carry;	    /* bytes kept at buf from the previous read */
	uint64_t carry_end; /* the address just past them */
	const struct ms_vma *vma;
	uint64_t total, done;
	bool stopped; /* the callback or max_hits ended the search */
};

static uint64_t load_le(const uint8_t *b, size_t n)
{
	uint64_t v = 0;
	memcpy(&v, b, n); /* x86-64 and every target we read are little-endian */
	return v;
}

static bool report(struct search *s, uint64_t addr, size_t pattern, const uint8_t *data,
		   size_t avail)
{
	const struct ms_vma *vma = s->vma;
	if (addr < vma->start) /* a match that began in the mapping before */
		vma = ms_maps_find(s->maps, addr);
	struct ms_search_hit hit = {
		.address = addr, .pattern = pattern, .vma = vma, .data = data, .avail = avail};
	s->stats.hits++;
	if (!s->fn(s->arg, &hit) || (s->p->max_hits && s->stats.hits >= s->p->max_hits)) {
		s->stopped = true;
		return false;
	}
	return true;
}

/*
 * Aligned values: one compare per word. Values straddling a read never
 * match (they would be unaligned), so no carry is needed.
 */
#define SCAN_WORDS(TYPE, LANE)                                                                     \
	static void scan_words_##TYPE(struct search *s, const uint8_t *buf, size_t len,            \
				      uint64_t base)                                               \
	{                                                                                          \
		const size_t w = sizeof(TYPE);                                                     \
		size_t first = (size_t)((w - base % w) % w);                                       \
		size_t np = s->p->npatterns;                                                       \
		if (np == 1) {                                                                     \
			TYPE m = (TYPE)s->word_mask[0], v = (TYPE)(s->word_value[0] | m);          \
			size_t i = first;                                                          \
			/* 64 bytes at a time, compared as vectors, one branch; the few */         \
			/* blocks with a hit are looked at value by value below */                 \
			/* lanes of at most 32 bits: SSE2 compares those natively; a */            \
			/* value matches only where all its lanes do */                            \
			typedef LANE vec __attribute__((vector_size(16), aligned(1)));             \
			vec vm, vv;                                                                \
			for (size_t k = 0; k < 16; k += w) {                                       \
				memcpy((char *)&vm + k, &m, w);                                    \
				memcpy((char *)&vv + k, &v, w);                                    \
			}                                                                          \
			for (; i + 64 <= len; i += 64) {                                           \
				const vec *x = (const vec *)(buf + i);                             \
				vec hit = ((x[0] | vm) == vv) | ((x[1] | vm) == vv) |              \
					  ((x[2] | vm) == vv) | ((x[3] | vm) == vv);               \
				uint64_t any[2];                                                   \
				memcpy(any, &hit, 16);                                             \
				if (!(any[0] | any[1]))                                            \
					continue;                                                  \
				for (size_t k = 0; k < 64; k += w) {                               \
					TYPE y;                                                    \
					memcpy(&y, buf + i + k, w);                                \
					if ((TYPE)(y | m) == v &&                                  \
					    !report(s, base + i + k, 0, buf + i + k, len - i - k)) \
						return;                                            \
				}                                                                  \
			}                                                                          \
			for (; i + w <= len; i += w) {                                             \
				TYPE x;                                                            \
				memcpy(&x, buf + i, w);                                            \
				if ((TYPE)(x | m) == v &&                                          \
				    !report(s, base + i, 0, buf + i, len - i))                     \
					return;                                                    \
			}                                                                          \
			return;                                                                    \
		}                                                                                  \
		for (size_t i = first; i + w <= len; i += w) {                                     \
			TYPE x;                                                                    \
			memcpy(&x, buf + i, w);                                                    \
			for (size_t k = 0; k < np; k++) {                                          \
				TYPE m = (TYPE)s->word_mask[k];                                    \
				if ((TYPE)(x | m) == (TYPE)(s->word_value[k] | m) &&               \
				    !report(s, base + i, k, buf + i, len - i))                     \
					return;                                                    \
			}                                                                          \
		}                                                                                  \
	}

SCAN_WORDS(uint8_t, uint8_t)
SCAN_WORDS(uint16_t, uint16_t)
SCAN_WORDS(uint32_t, uint32_t)
SCAN_WORDS(uint64_t, uint32_t)

static bool matches_at(const struct ms_search_pattern *pat, const uint8_t *at)
{
	if (!pat->mask)
		return memcmp(at, pat->bytes, pat->len) == 0;
	for (size_t i = 0; i < pat->len; i++)
		if ((at[i] | pat->mask[i]) != (pat->bytes[i] | pat->mask[i]))
			return false;
	return true;
}

/* The next candidate at or after from for one pattern, or len if none. */
static size_t next_match(const struct search *s, size_t k, const uint8_t *buf, size_t len,
			 uint64_t base, size_t from)
{
	const struct ms_search_pattern *pat = &s->p->patterns[k];
	while (from + pat->len <= len) {
		size_t pos;
		if (!pat->mask) {
			const uint8_t *hit = memmem(buf + from, len - from, pat->bytes, pat->len);
			if (!hit)
				return len;
			pos = (size_t)(hit - buf);
		} else {
			pos = from;
			if (!matches_at(pat, buf + pos)) {
				from++;
				continue;
			}
		}
		if ((base + pos) % s->align == 0)
			return pos;
		from = pos + 1;
	}
	return len;
}

/*
 * Byte patterns anywhere: each pattern's next match, merged so hits come in
 * address order. Windows that lie wholly in the carried bytes were seen by
 * the previous call; new ones end past `fresh`.
 */
static void scan_bytes(struct search *s, const uint8_t *buf, size_t len, uint64_t base,
		       size_t fresh)
{
	size_t np = s->p->npatterns;
	size_t next[MS_SEARCH_MAX_PATTERNS];
	for (size_t k = 0; k < np; k++) {
		size_t plen = s->p->patterns[k].len;
		size_t from = fresh >= plen ? fresh - plen + 1 : 0;
		next[k] = next_match(s, k, buf, len, base, from);
	}
	for (;;) {
		size_t best = len, bk = 0;
		for (size_t k = 0; k < np; k++) {
			if (next[k] < best) {
				best = next[k];
				bk = k;
			}
		}
		if (best >= len)
			return;
		if (!report(s, base + best, bk, buf + best, len - best))
			return;
		next[bk] = next_match(s, bk, buf, len, base, best + 1);
	}
}

static void scan(struct search *s, const uint8_t *buf, size_t len, uint64_t base, size_t fresh)
{
	if (!s->words) {
		scan_bytes(s, buf, len, base, fresh);
		return;
	}
	switch (s->align) {
	case 1:
		scan_words_uint8_t(s, buf, len, base);
		break;
	case 2:
		scan_words_uint16_t(s, buf, len, base);
		break;
	case 4:
		scan_words_uint32_t(s, buf, len, base);
		break;
	default:
		scan_words_uint64_t(s, buf, len, base);
	}
}

static void progress(struct search *s, uint64_t bytes)
{
	s->done += bytes;
	if (s->p->progress)
		s->p->progress(s->arg, s->done, s->total);
}

/* Keep the last maxlen - 1 bytes scanned for a match that straddles the next ones. */
static void keep_carry(struct search *s, size_t have, uint64_t end)
{
	size_t keep = s->maxlen > 1 ? s->maxlen - 1 : 0;
	if (keep > have)
		keep = have;
	memmove(s->buf, s->buf + have - keep, keep);
	s->carry = keep;
	s->carry_end = end;
}

static void scan_zero_bytes(struct search *s, uint64_t pos, uint64_t len)
{
	while (len && !s->stopped) {
		size_t n = len > CHUNK ? CHUNK : (size_t)len;
		memset(s->buf + s->carry, 0, n);
		scan(s, s->buf, s->carry + n, pos - s->carry, s->carry);
		keep_carry(s, s->carry + n, pos + n);
		pos += n;
		len -= n;
	}
}

/*
 * Search [pos, pos + len) of never-touched memory as zeros. Unless a pattern
 * matches zeros, only its edges can hold a match (one that starts in the
 * memory before or ends in the memory after): those are scanned, the middle
 * is jumped over.
 */
static void scan_zeros(struct search *s, uint64_t pos, uint64_t len)
{
	uint64_t edge = s->maxlen > 1 ? s->maxlen - 1 : 0;
	s->stats.bytes_zero += len;
	progress(s, len);
	if (s->zero_matches || len <= 2 * edge) {
		scan_zero_bytes(s, pos, len);
		return;
	}
	scan_zero_bytes(s, pos, edge);
	memset(s->buf, 0, edge);
	s->carry = edge;
	s->carry_end = pos + len;
}

/*
 * How much of the not-present memory at pos, below next, is never-touched
 * (0 if pos itself is swapped out or guarded), and where what follows a
 * swapped or guarded run at pos starts again (*marker_end_ret).
 */
static struct ms_error *untouched_run(struct ms_pagemap *pm, uint64_t pos, uint64_t next,
				      uint64_t *len_ret, uint64_t *marker_end_ret)
{
	struct ms_pm_region r;
	size_t n;
	uint64_t walk_end;
	struct ms_error *err =
		ms_pagemap_scan(pm, pos, next, MS_PC_SWAPPED, MS_PC_SWAPPED, &r, 1, &n, &walk_end);
	if (err)
		return err;
	*len_ret = n ? r.start - pos : next - pos;
	*marker_end_ret = n ? r.end : pos;
	return NULL;
}

/*
 * Search [lo, hi). Reading goes on until a page cannot be read; then, when
 * present pages can be told from the others (skip), the search jumps to the
 * next present one, else to the next page. Dense memory so costs one pass of
 * pagemap (the target's read checks it), and holes of any size one ioctl.
 */
static struct ms_error *search_run(struct search *s, uint64_t lo, uint64_t hi,
				   struct ms_pmscan *skip, struct ms_pagemap *zeros_pm)
{
	size_t page = ms_page_size();
	if (s->carry && s->carry_end != lo)
		s->carry = 0;
	unsigned streak = 0;
	uint64_t pos = lo;
	while (pos < hi && !s->stopped) {
		if (s->p->stop && *s->p->stop)
			return ms_error_create(MS_ERROR_INTERRUPTED, "interrupted");
		size_t want = hi - pos > CHUNK ? CHUNK : (size_t)(hi - pos);
		size_t got = 0;
		struct ms_error *err = ms_target_read(s->target, pos, s->buf + s->carry, want,
						      s->p->read_flags, &got);
		if (err && err->code != MS_ERROR_FAULT && err->code != MS_ERROR_NOT_MAPPED)
			return err;
		if (got) {
			streak = 0;
			scan(s, s->buf, s->carry + got, pos - s->carry, s->carry);
			s->stats.bytes_searched += got;
			progress(s, got);
		}
		pos += got;
		if (err) {
			ms_error_destroy(err);
			/* skip what failed; the next read starts afresh */
			uint64_t next = (pos / page + 1) * page;
			if (skip) {
				uint64_t rs;
				bool found;
				err = ms_pmscan_skip(skip, pos, hi, &rs, &found);
				if (err)
					return err;
				if (!found)
					next = hi;
				else if (rs > next)
					next = rs;
			}
			if (next > hi)
				next = hi;
			if (zeros_pm) {
				/* never-touched pages read as zeros: search them so */
				if (got) /* what was read before the fault goes on into them */
					keep_carry(s, s->carry + got, pos);
				uint64_t zlen, marker_end;
				err = untouched_run(zeros_pm, pos, next, &zlen, &marker_end);
				if (err)
					return err;
				if (zlen) {
					scan_zeros(s, pos, zlen);
					pos += zlen;
					streak = 0;
					continue;
				}
				if (marker_end > pos && marker_end < next)
					next = marker_end; /* zeros may follow the swapped run */
			}
			if (++streak >= MAX_FAULT_STREAK)
				next = hi;
			s->stats.bytes_not_present += next - pos;
			progress(s, next - pos);
			pos = next;
			s->carry = 0;
			continue;
		}
		keep_carry(s, s->carry + got, pos);
	}
	return NULL;
}

static struct ms_error *search_vma(struct search *s, const struct ms_vma *vma, uint64_t lo,
				   uint64_t hi, struct ms_pagemap *pm, bool *pm_open)
{
	bool live = ms_target_kind(s->target) == MS_TARGET_LIVE;
	if (!live || (s->p->read_flags & MS_READ_FAULT_IN)) {
		if (!live && !ms_vma_is_file(vma) && vma->core_filesz < vma->end - vma->start) {
			/*
			 * what the core did not dump cannot be read, unless the
			 * mapped file has it (the target reads that, as rd does)
			 */
			uint64_t dumped = vma->start + vma->core_filesz;
			if (dumped < hi) {
				uint64_t from = dumped > lo ? dumped : lo;
				s->stats.bytes_not_present += hi - from;
				progress(s, hi - from);
				hi = from;
			}
		}
		return search_run(s, lo, hi, NULL, NULL);
	}
	if (!*pm_open) {
		struct ms_error *err = ms_pagemap_open(ms_target_pid(s->target), pm);
		if (err)
			return err;
		*pm_open = true;
	}
	struct ms_pmscan scan;
	struct ms_error *err = ms_pmscan_init(&scan, pm, MS_PMSCAN_PRESENT);
	if (err)
		return err;
	scan.stop = s->p->stop;
	/* only private anonymous memory is known to be zeros where never touched */
	bool zeros = s->p->untouched_as_zeros && !ms_vma_is_file(vma) &&
		     !(vma->prot & MS_PROT_SHARED) && ms_pagemap_has_scan(pm);
	err = search_run(s, lo, hi, &scan, zeros ? pm : NULL);
	ms_pmscan_deinit(&scan);
	return err;
}

static bool searchable(const struct ms_vma *vma)
{
	return (vma->prot & MS_PROT_READ) && vma->kind != MS_VMA_VVAR &&
	       vma->kind != MS_VMA_VSYSCALL && !(vma->vm_flags & (MS_VM_IO | MS_VM_PFNMAP));
}

static struct ms_error *check_params(const struct ms_search_params *p, struct search *s)
{
	if (!p->npatterns || p->npatterns > MS_SEARCH_MAX_PATTERNS)
		return ms_error_create(MS_ERROR_INVALID, "between 1 and %d values to search for",
				       MS_SEARCH_MAX_PATTERNS);
	s->align = p->align ? p->align : 1;
	s->words = s->align == 1 || s->align == 2 || s->align == 4 || s->align == 8;
	for (size_t k = 0; k < p->npatterns; k++) {
		const struct ms_search_pattern *pat = &p->patterns[k];
		if (!pat->len || pat->len > MS_SEARCH_MAX_LEN)
			return ms_error_create(MS_ERROR_INVALID,
					       "a search pattern must be 1 to %d bytes",
					       MS_SEARCH_MAX_LEN);
		if (pat->len > s->maxlen)
			s->maxlen = pat->len;
		if (pat->len != s->align)
			s->words = false;
	}
	/* one byte anywhere without a mask is memchr's job, done by memmem */
	if (s->words && s->align == 1) {
		bool masked = false;
		for (size_t k = 0; k < p->npatterns; k++)
			masked |= p->patterns[k].mask != NULL;
		s->words = masked || p->npatterns > 1;
	}
	if (s->words) {
		for (size_t k = 0; k < p->npatterns; k++) {
			const struct ms_search_pattern *pat = &p->patterns[k];
			s->word_value[k] = load_le(pat->bytes, pat->len);
			s->word_mask[k] = pat->mask ? load_le(pat->mask, pat->len) : 0;
		}
		s->maxlen = 1; /* aligned values never straddle two reads */
	}
	for (size_t k = 0; k < p->npatterns && !s->zero_matches; k++) {
		const struct ms_search_pattern *pat = &p->patterns[k];
		bool zero = true;
		for (size_t i = 0; i < pat->len && zero; i++)
			zero = (pat->bytes[i] & ~(pat->mask ? pat->mask[i] : 0)) == 0;
		s->zero_matches = zero;
	}
	if (p->end && p->end <= p->start)
		return ms_error_create(MS_ERROR_INVALID, "empty search range");
	return NULL;
}

struct ms_error *ms_search(struct ms_target *target, const struct ms_search_params *params,
			   ms_search_hit_fn *fn, void *arg, struct ms_search_stats *stats_ret)
{
	struct search s = {.target = target, .p = params, .fn = fn, .arg = arg};
	struct ms_pagemap pm = {.fd = -1};
	bool pm_open = false;
	struct ms_error *err = check_params(params, &s);
	if (err)
		goto out;
	const struct ms_maps *maps;
	err = ms_target_maps(target, MS_MAPS_BASIC, &maps);
	if (err)
		goto out;
	s.maps = maps;
	uint64_t start = params->start, end = params->end ? params->end : UINT64_MAX;
	for (size_t i = 0; i < maps->count; i++) {
		const struct ms_vma *v = &maps->vmas[i];
		if (v->end > start && v->start < end && searchable(v))
			s.total += (v->end < end ? v->end : end) -
				   (v->start > start ? v->start : start);
	}
	s.buf = malloc(CHUNK + MS_SEARCH_MAX_LEN);
	if (!s.buf) {
		err = &ms_error_no_memory;
		goto out;
	}
	for (const struct ms_vma *v = ms_maps_next(maps, start); v && v < maps->vmas + maps->count;
	     v++) {
		if (v->start >= end || s.stopped)
			break;
		uint64_t lo = v->start > start ? v->start : start;
		uint64_t hi = v->end < end ? v->end : end;
		if (!searchable(v)) {
			s.stats.bytes_unreadable += hi - lo;
			continue;
		}
		s.vma = v;
		s.stats.mappings++;
		err = search_vma(&s, v, lo, hi, &pm, &pm_open);
		if (err)
			break;
	}
out:
	if (err && err->code != MS_ERROR_EXITED && err->code != MS_ERROR_INTERRUPTED &&
	    ms_target_kind(target) == MS_TARGET_LIVE && !ms_proc_alive(ms_target_pid(target))) {
		/* a dead process's pagemap reads short, its memory fails: say what happened */
		ms_error_destroy(err);
		err = ms_error_create(MS_ERROR_EXITED, "process %d exited during the search",
				      (int)ms_target_pid(target));
	}
	if (pm_open)
		ms_pagemap_close(&pm);
	free(s.buf);
	if (stats_ret)
		*stats_ret = s.stats;
	return err;
}
