/* SPDX-License-Identifier: MIT */
/*
 * vm --summary: what each mapping holds, counted from the walk's runs
 * (present, on the zero page, in huge pages, merged by KSM, shared, in swap,
 * in the page cache without being mapped, untouched), and the total.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_vm.h"

/* Page-cache residency is asked for this many pages at a time. */
enum { FILECACHE_BATCH = 1 << 16 };

/* Count the file pages of [vaddr, +npages) that sit in the page cache. */
static void count_cached(struct vm_job *job, struct ms_filecache *fc, bool fc_ok, uint64_t vaddr,
			 size_t npages, struct vm_counts *c, uint8_t *vec)
{
	if (!fc_ok) {
		c->cached_unknown = true;
		c->untouched += npages;
		return;
	}
	while (npages) {
		size_t n = npages > FILECACHE_BATCH ? FILECACHE_BATCH : npages;
		if (ms_filecache_resident(fc, vaddr, n, vec)) {
			c->cached_unknown = true;
			c->untouched += npages;
			return;
		}
		size_t resident = 0;
		for (size_t i = 0; i < n; i++)
			resident += vec[i];
		c->cached += resident;
		c->untouched += n - resident;
		vaddr += n * job->page;
		npages -= n;
	}
}

static void count_marked(struct vm_counts *c, uint8_t m, uint64_t n)
{
	if (m & MS_PAGE_PRESENT) {
		c->present += n;
		if (m & MS_PAGE_ZERO)
			c->zero += n;
		if (m & (MS_PAGE_THP | MS_PAGE_HUGETLB))
			c->thp += n;
		if (m & MS_PAGE_KSM)
			c->ksm += n;
		if (m & MS_PAGE_SHARED)
			c->shared += n;
	} else if (m & MS_PAGE_SWAPPED) {
		c->swap += n;
	}
}

static void json_counts(struct json *j, const struct vm_counts *c)
{
	json_kv_u64(j, "size", c->size);
	json_kv_u64(j, "present", c->present);
	json_kv_u64(j, "zero", c->zero);
	json_kv_u64(j, "thp", c->thp);
	if (c->ksm_unknown)
		json_kv_null(j, "ksm");
	else
		json_kv_u64(j, "ksm", c->ksm);
	json_kv_u64(j, "shared", c->shared);
	json_kv_u64(j, "swap", c->swap);
	if (c->cached_unknown)
		json_kv_null(j, "cached");
	else
		json_kv_u64(j, "cached", c->cached);
	json_kv_u64(j, "untouched", c->untouched);
}

static void text_count(struct out_buf *o, uint64_t pages, size_t page, bool unknown)
{
	if (unknown)
		out_buf_printf(o, " %9s", "?");
	else
		out_buf_printf(o, " %8" PRIu64 "k", pages * page / 1024);
}

static void text_counts(struct vm_job *job, const struct vm_counts *c)
{
	struct out_buf *o = &job->out;
	size_t pg = job->page;
	text_count(o, c->size, pg, false);
	text_count(o, c->present, pg, false);
	text_count(o, c->zero, pg, false);
	text_count(o, c->thp, pg, false);
	text_count(o, c->ksm, pg, c->ksm_unknown);
	text_count(o, c->shared, pg, false);
	text_count(o, c->swap, pg, false);
	text_count(o, c->cached, pg, c->cached_unknown);
	text_count(o, c->untouched, pg, false);
}

static void add_counts(struct vm_counts *t, const struct vm_counts *c)
{
	t->size += c->size;
	t->present += c->present;
	t->zero += c->zero;
	t->thp += c->thp;
	t->ksm += c->ksm;
	t->shared += c->shared;
	t->swap += c->swap;
	t->cached += c->cached;
	t->untouched += c->untouched;
	t->cached_unknown |= c->cached_unknown;
	t->ksm_unknown |= c->ksm_unknown;
}

static const char *summary_note =
	"PRESENT: pages in memory; ZERO: of them, mapped to the shared zero page (no memory of\n"
	"their own); THP, KSM, SHARED: present pages in transparent (or hugetlbfs) huge pages,\n"
	"merged by KSM, mapped more than once. SWAP: in swap. CACHED: file pages in the page cache "
	"that this\n"
	"process does not map. UNTOUCHED: the rest (never touched, dropped, or not cached).\n";

void vm_summary_begin(struct vm_job *job, const struct ms_vma *vma, const struct ms_vma *s,
		      struct vm_counts *c, struct vm_tally *t)
{
	memset(t, 0, sizeof(*t));
	t->file = ms_vma_is_file(vma) && vma->name;
	if (t->file) {
		struct ms_error *e = ms_filecache_open(job->pid, s ? s : vma, &t->fc);
		if (e)
			ms_error_destroy(e);
		else
			t->fc_ok = true;
		t->vec = malloc(FILECACHE_BATCH);
		if (!t->vec) {
			if (t->fc_ok)
				ms_filecache_close(&t->fc);
			t->fc_ok = false;
		}
	}
	/* smaps would count memscope's own mapping of the file as a second one */
	t->shared_from_smaps = !ms_self_share_maps_file(job->self, vma);
	/* per-page KSM needs kpageflags: else take the kernel's count */
	t->ksm_from_smaps = !job->root;
	if (t->ksm_from_smaps && !(s && s->has_smaps))
		c->ksm_unknown = true;
}

void vm_summary_run(struct vm_job *job, const struct ms_page_run *run, struct vm_counts *c,
		    struct vm_tally *t)
{
	if (!run->entries) {
		if (run->mark)
			count_marked(c, run->mark, run->npages);
		else if (t->file)
			count_cached(job, &t->fc, t->fc_ok, run->start, run->npages, c, t->vec);
		else
			c->untouched += run->npages;
		return;
	}
	for (size_t k = 0; k < run->npages; k++) {
		uint8_t m = run->marks[k];
		if (m & (MS_PAGE_PRESENT | MS_PAGE_SWAPPED))
			count_marked(c, m, 1);
		else if (t->file)
			count_cached(job, &t->fc, t->fc_ok, run->start + k * job->page, 1, c,
				     t->vec);
		else
			c->untouched++;
	}
}

void vm_summary_end(struct vm_job *job, const struct ms_vma *s, struct vm_counts *c,
		    struct vm_tally *t)
{
	if (s && s->has_smaps) {
		/* pages mapped more than once, as the exclusive bit says: smaps
		 * counts them without pagemap having to be read */
		if (t->shared_from_smaps)
			c->shared = (s->usage.shared_clean + s->usage.shared_dirty) / job->page;
		if (t->ksm_from_smaps)
			c->ksm = s->usage.ksm / job->page;
	}
	if (t->fc_ok)
		ms_filecache_close(&t->fc);
	free(t->vec);
	t->vec = NULL;
	t->fc_ok = false;
}

void vm_summary_header(struct vm_job *job)
{
	if (job->j)
		return;
	out_buf_printf(&job->out, "%12s %12s %9s %9s %9s %9s %9s %9s %9s %9s %9s %s\n", "START",
		       "END", "SIZE", "PRESENT", "ZERO", "THP", "KSM", "SHARED", "SWAP", "CACHED",
		       "UNTOUCHED", "FILE");
}

void vm_summary_print(struct vm_job *job, const struct ms_vma *vma, const struct vm_counts *c)
{
	/* the vsyscall page is no mapping of the process: TOTAL_VM leaves it out too */
	if (vma->kind != MS_VMA_VSYSCALL)
		add_counts(&job->total, c);
	if (job->j) {
		json_key(job->j, "pages");
		json_begin_object(job->j);
		json_counts(job->j, c);
		json_end_object(job->j);
		return;
	}
	out_buf_printf(&job->out, "%12" PRIx64 " %12" PRIx64, vma->start, vma->end);
	text_counts(job, c);
	out_buf_printf(&job->out, " %s%s\n", vma->name ? vma->name : "",
		       vma->deleted ? " (deleted)" : "");
}

void vm_summary_total(struct vm_job *job)
{
	if (job->j) {
		json_key(job->j, "total");
		json_begin_object(job->j);
		json_counts(job->j, &job->total);
		json_end_object(job->j);
		return;
	}
	out_buf_printf(&job->out, "%12s %12s", "TOTAL", "");
	text_counts(job, &job->total);
	out_buf_puts(&job->out, "\n\n");
	out_buf_puts(&job->out, summary_note);
}
