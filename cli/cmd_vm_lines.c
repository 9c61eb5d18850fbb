/* SPDX-License-Identifier: MIT */
/*
 * vm's lines: a mapping's (as crash's vm prints it), and with -p a line per
 * page (runs of pages with no page behind them folded into one line unless
 * --all-pages), with --ranges a line per run of contiguous pages. The same
 * in JSON. The walk hands over one run of pages at a time.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "cmd_vm.h"

/* hex, left-justified in width columns */
static inline char *put_hex_ljust(char *p, uint64_t v, size_t width)
{
	size_t n = out_hex(p, v);
	while (n < width)
		p[n++] = ' ';
	return p + n;
}

/* ---- mappings, and texts vm on a core and vtop print the same way ---- */

void vm_mapping_header(struct out_buf *o)
{
	static const char fmt[] = "%12s %12s %8s %s\n";
	if (o)
		out_buf_printf(o, fmt, "START", "END", "FLAGS", "FILE");
	else
		printf(fmt, "START", "END", "FLAGS", "FILE");
}

void vm_mapping_line(struct out_buf *o, const struct ms_vma *vma, const char *flags)
{
	static const char fmt[] = "%12" PRIx64 " %12" PRIx64 " %8s %s%s\n";
	const char *name = vma->name ? vma->name : "";
	const char *deleted = vma->deleted ? " (deleted)" : "";
	if (o)
		out_buf_printf(o, fmt, vma->start, vma->end, flags, name, deleted);
	else
		printf(fmt, vma->start, vma->end, flags, name, deleted);
}

void vm_json_mapping(struct json *j, const struct ms_vma *vma, const uint64_t *flags,
		     const char *vmflags, bool perms_known)
{
	json_kv_hex(j, "start", vma->start);
	json_kv_hex(j, "end", vma->end);
	if (flags)
		json_kv_hex(j, "flags", *flags);
	else
		json_kv_null(j, "flags");
	if (vmflags)
		json_kv_string(j, "vmflags", vmflags);
	if (perms_known) {
		char perms[5];
		ms_vma_perms(vma, perms);
		json_kv_string(j, "perms", perms);
	} else {
		json_kv_null(j, "perms");
	}
	json_kv_hex(j, "offset", vma->offset);
	if (vma->name)
		json_kv_string(j, "file", vma->name);
	else
		json_kv_null(j, "file");
	if (vma->deleted)
		json_kv_bool(j, "deleted", true);
}

static uint64_t file_offset(const struct ms_vma *vma, uint64_t vaddr)
{
	return vma->offset + (vaddr - vma->start);
}

void vm_file_text(struct out_buf *o, const struct ms_vma *vma, uint64_t vaddr)
{
	static const char fmt[] = "FILE: %s%s  OFFSET: %" PRIx64;
	const char *deleted = vma->deleted ? " (deleted)" : "";
	if (o)
		out_buf_printf(o, fmt, vma->name, deleted, file_offset(vma, vaddr));
	else
		printf(fmt, vma->name, deleted, file_offset(vma, vaddr));
}

void vm_swap_text(struct out_buf *o, const struct ms_swap_area *area, uint64_t entry)
{
	unsigned type = ms_pm_swap_type(entry);
	uint64_t off = ms_pm_swap_offset(entry);
	if (o && area)
		out_buf_printf(o, "SWAP: %s  OFFSET: %" PRIu64, area->path, off);
	else if (o)
		out_buf_printf(o, "SWAP: type %u  OFFSET: %" PRIu64, type, off);
	else if (area)
		printf("SWAP: %s  OFFSET: %" PRIu64, area->path, off);
	else
		printf("SWAP: type %u  OFFSET: %" PRIu64, type, off);
}

void vm_print_mapping(struct vm_job *job, const struct ms_vma *vma, const struct ms_vma *s,
		      bool first)
{
	if (job->j) {
		vm_json_mapping(job->j, vma, s ? &s->vm_flags : NULL, s ? s->vmflags_text : NULL,
				true);
		return;
	}
	if (job->o.summary)
		return;
	struct out_buf *o = &job->out;
	char flags[24];
	if (s)
		snprintf(flags, sizeof(flags), "%" PRIx64, s->vm_flags);
	else
		snprintf(flags, sizeof(flags), "?");
	if (!job->o.pages) {
		vm_mapping_line(o, vma, flags);
		return;
	}
	if (!first)
		out_buf_puts(o, "\n");
	vm_mapping_header(o);
	vm_mapping_line(o, vma, flags);
	if (job->o.ranges)
		out_buf_printf(o, "%-25s  %8s  %s\n", "VIRTUAL", "PAGES", "PHYSICAL");
	else
		out_buf_puts(o, "VIRTUAL     PHYSICAL\n");
}

/* ---- vm -p: one line per page ---- */

static const char *const mark_names[] = {
	"present", "swapped", "zero", "thp", "hugetlb", "ksm", "shared", "guard",
};

static char *put_mark_list(char *p, uint8_t m)
{
	bool first = true;
	for (unsigned b = 2; b < 8; b++) {
		if (!(m & (1u << b)))
			continue;
		if (first) {
			*p++ = ' ';
			*p++ = ' ';
		} else {
			*p++ = ' ';
		}
		size_t n = strlen(mark_names[b]);
		memcpy(p, mark_names[b], n);
		p += n;
		first = false;
	}
	return p;
}

static void json_marks(struct json *j, uint8_t m)
{
	if (!(m & ~(MS_PAGE_PRESENT | MS_PAGE_SWAPPED)))
		return;
	json_key(j, "marks");
	json_begin_array(j);
	for (unsigned b = 2; b < 8; b++)
		if (m & (1u << b))
			json_string(j, mark_names[b]);
	json_end_array(j);
}

static enum vm_page_state state_of(const struct ms_vma *vma, uint64_t entry, uint8_t mark)
{
	if (entry & MS_PM_PRESENT || (mark & MS_PAGE_PRESENT))
		return VM_ST_PRESENT;
	/* guard markers carry the swap bit too */
	if ((entry & MS_PM_GUARD) || (mark & MS_PAGE_GUARD))
		return VM_ST_GUARD;
	if (entry & MS_PM_SWAP)
		return VM_ST_SWAP;
	if (vma->name && ms_vma_is_file(vma))
		return VM_ST_FILE;
	return VM_ST_NOT_MAPPED;
}

static const char *state_name(enum vm_page_state st)
{
	static const char *const names[] = {"present", "swap", "file", "not_mapped", "guard"};
	return names[st];
}

/* A page line's start: the address, left-justified, and two spaces. */
static void line_start(struct out_buf *o, uint64_t vaddr)
{
	char *p = out_buf_reserve(o, 64);
	p = put_hex_ljust(p, vaddr, 10);
	*p++ = ' ';
	*p++ = ' ';
	o->len = (size_t)(p - o->buf);
}

/* Its end: the pages the line stands for, when more than one. */
static void line_end(struct vm_job *job, uint64_t vaddr, size_t npages)
{
	if (npages > 1)
		out_buf_printf(&job->out, "  [%zu pages, to %" PRIx64 "]", npages,
			       vaddr + npages * job->page);
	out_buf_puts(&job->out, "\n");
}

/* A run of npages alike pages that are not present, from vaddr. */
static void print_absent(struct vm_job *job, const struct ms_vma *vma, enum vm_page_state st,
			 uint64_t vaddr, size_t npages)
{
	if (job->j) {
		struct json *j = job->j;
		json_begin_object(j);
		json_kv_hex(j, "vaddr", vaddr);
		json_kv_string(j, "state", state_name(st));
		if (st == VM_ST_FILE) {
			json_kv_string(j, "file", vma->name);
			json_kv_hex(j, "offset", file_offset(vma, vaddr));
		}
		json_kv_u64(j, "pages", npages);
		json_end_object(j);
		return;
	}
	struct out_buf *o = &job->out;
	line_start(o, vaddr);
	switch (st) {
	case VM_ST_FILE:
		vm_file_text(o, vma, vaddr);
		break;
	case VM_ST_GUARD:
		out_buf_puts(o, "(guard page)");
		break;
	default:
		out_buf_puts(o, "(not mapped)");
		break;
	}
	line_end(job, vaddr, npages);
}

static void print_swap(struct vm_job *job, uint64_t vaddr, uint64_t entry, size_t npages)
{
	unsigned type = ms_pm_swap_type(entry);
	uint64_t off = ms_pm_swap_offset(entry);
	const struct ms_swap_area *area = ms_swaps_find(job->swaps, type, off);
	if (job->j) {
		struct json *j = job->j;
		json_begin_object(j);
		json_kv_hex(j, "vaddr", vaddr);
		json_kv_string(j, "state", "swap");
		if (area)
			json_kv_string(j, "device", area->path);
		else
			json_kv_null(j, "device");
		json_kv_u64(j, "swap_type", type);
		json_kv_u64(j, "swap_offset", off);
		if (npages > 1)
			json_kv_u64(j, "pages", npages);
		json_end_object(j);
		return;
	}
	line_start(&job->out, vaddr);
	vm_swap_text(&job->out, area, entry);
	line_end(job, vaddr, npages);
}

static inline void print_present(struct vm_job *job, uint64_t vaddr, uint64_t entry, uint8_t mark)
{
	if (job->j) {
		/*
		 * The members are written in one piece: a million pages would
		 * otherwise cost a million rounds of fprintf. The writer only
		 * needs to know where the object begins and ends.
		 */
		struct json *j = job->j;
		json_begin_object(j);
		char buf[160], *p = buf;
		memcpy(p, "\"vaddr\":\"0x", 11);
		p += 11;
		p += out_hex(p, vaddr);
		static const char state[] = "\",\"state\":\"present\",\"paddr\":";
		memcpy(p, state, sizeof(state) - 1);
		p += sizeof(state) - 1;
		if (job->root) {
			*p++ = '"';
			*p++ = '0';
			*p++ = 'x';
			p += out_hex(p, ms_pm_pfn(entry) * job->page);
			*p++ = '"';
		} else {
			memcpy(p, "null", 4);
			p += 4;
		}
		fwrite(buf, 1, (size_t)(p - buf), j->f);
		if (mark & ~(MS_PAGE_PRESENT | MS_PAGE_SWAPPED)) {
			j->first[j->depth] = false; /* members were written: a comma comes next */
			json_marks(j, mark);
		}
		json_end_object(j);
		return;
	}
	struct out_buf *o = &job->out;
	char *p = out_buf_reserve(o, 96);
	p = put_hex_ljust(p, vaddr, 10);
	*p++ = ' ';
	*p++ = ' ';
	if (job->root) {
		p += out_hex(p, ms_pm_pfn(entry) * job->page);
	} else {
		memcpy(p, "present", 7);
		p += 7;
	}
	if (mark & ~(MS_PAGE_PRESENT | MS_PAGE_SWAPPED))
		p = put_mark_list(p, mark);
	*p++ = '\n';
	o->len = (size_t)(p - o->buf);
}

/*
 * Text lines for the present pages at the start of entries[0..n), as
 * print_present() writes them; returns how many. Consecutive virtual
 * addresses differ by a page: their hex is carried forward by incrementing
 * digits instead of being converted afresh for each line.
 */
static size_t print_present_run(struct vm_job *job, uint64_t vaddr, const uint64_t *entries,
				const uint8_t *marks, size_t n)
{
	struct out_buf *o = &job->out;
	size_t page = job->page;
	char vtext[24];
	size_t vlen = out_hex(vtext, vaddr);
	/* the digit a page adds to: page sizes are powers of 16 or of 2 */
	unsigned shift = (unsigned)__builtin_ctzll(page);
	size_t step_digit = shift / 4;
	unsigned step = 1u << (shift % 4);
	size_t k = 0;
	for (; k < n && (entries[k] & MS_PM_PRESENT); k++) {
		if (o->len + 128 > sizeof(o->buf))
			out_buf_flush(o);
		char *p = o->buf + o->len;
		memcpy(p, vtext, 16);
		p += vlen;
		for (size_t w = vlen; w < 10; w++)
			*p++ = ' ';
		*p++ = ' ';
		*p++ = ' ';
		if (job->root) {
			p += out_hex(p, ms_pm_pfn(entries[k]) * page);
		} else {
			memcpy(p, "present", 7);
			p += 7;
		}
		if (marks[k] & ~(MS_PAGE_PRESENT | MS_PAGE_SWAPPED))
			p = put_mark_list(p, marks[k]);
		*p++ = '\n';
		o->len = (size_t)(p - o->buf);
		/* the next page's address */
		vaddr += page;
		bool carry = vlen <= step_digit;
		for (size_t i = vlen - step_digit, add = step; !carry && add;) {
			char c = vtext[--i];
			unsigned d = (unsigned)(c <= '9' ? c - '0' : c - 'a' + 10) + (unsigned)add;
			vtext[i] = "0123456789abcdef"[d & 15];
			add = d >> 4;
			if (add && i == 0)
				carry = true;
		}
		if (carry)
			vlen = out_hex(vtext, vaddr);
	}
	return k;
}

/* ---- vm -p --ranges: runs of contiguous pages ---- */

static bool range_extends(const struct vm_job *job, const struct vm_range *r, enum vm_page_state st,
			  uint64_t vaddr, uint64_t entry, uint8_t mark)
{
	if (!r->open || r->st != st || r->mark != mark || r->vaddr + r->npages * job->page != vaddr)
		return false;
	switch (st) {
	case VM_ST_PRESENT:
		/* without PFNs, runs are of virtual pages alike */
		if (!job->root)
			return true;
		/* the small zero page backs many virtual pages at one PFN */
		if (r->same_pfn || ((mark & MS_PAGE_ZERO) && r->npages == 1 &&
				    ms_pm_pfn(entry) == ms_pm_pfn(r->entry)))
			return ms_pm_pfn(entry) == ms_pm_pfn(r->entry);
		return ms_pm_pfn(entry) == ms_pm_pfn(r->entry) + r->npages;
	case VM_ST_SWAP:
		return ms_pm_swap_type(entry) == ms_pm_swap_type(r->entry) &&
		       ms_pm_swap_offset(entry) == ms_pm_swap_offset(r->entry) + r->npages;
	default:
		return true;
	}
}

static void range_flush(struct vm_job *job, const struct ms_vma *vma, struct vm_range *r)
{
	if (!r->open)
		return;
	r->open = false;
	uint64_t end = r->vaddr + r->npages * job->page;
	if (job->j) {
		struct json *j = job->j;
		json_begin_object(j);
		json_kv_hex(j, "vaddr", r->vaddr);
		json_kv_hex(j, "vend", end);
		json_kv_u64(j, "pages", r->npages);
		json_kv_string(j, "state", state_name(r->st));
		if (r->st == VM_ST_PRESENT) {
			if (job->root) {
				json_kv_hex(j, "paddr", ms_pm_pfn(r->entry) * job->page);
				json_kv_hex(j, "pend",
					    (ms_pm_pfn(r->entry) + (r->same_pfn ? 1 : r->npages)) *
						    job->page);
			} else {
				json_kv_null(j, "paddr");
			}
			json_marks(j, r->mark);
		} else if (r->st == VM_ST_SWAP) {
			const struct ms_swap_area *a = ms_swaps_find(
				job->swaps, ms_pm_swap_type(r->entry), ms_pm_swap_offset(r->entry));
			if (a)
				json_kv_string(j, "device", a->path);
			else
				json_kv_null(j, "device");
			json_kv_u64(j, "swap_type", ms_pm_swap_type(r->entry));
			json_kv_u64(j, "swap_offset", ms_pm_swap_offset(r->entry));
		} else if (r->st == VM_ST_FILE) {
			json_kv_string(j, "file", vma->name);
			json_kv_hex(j, "offset", file_offset(vma, r->vaddr));
		}
		json_end_object(j);
		return;
	}
	struct out_buf *o = &job->out;
	char *p = out_buf_reserve(o, 128);
	size_t n = out_hex(p, r->vaddr);
	p[n++] = '-';
	n += out_hex(p + n, end);
	while (n < 25)
		p[n++] = ' ';
	o->len += n;
	out_buf_printf(o, "  %8" PRIu64 "  ", r->npages);
	switch (r->st) {
	case VM_ST_PRESENT:
		p = out_buf_reserve(o, 96);
		if (job->root) {
			p += out_hex(p, ms_pm_pfn(r->entry) * job->page);
			*p++ = '-';
			p += out_hex(p, (ms_pm_pfn(r->entry) + (r->same_pfn ? 1 : r->npages)) *
						job->page);
			if (r->same_pfn) {
				memcpy(p, " (one page)", 11);
				p += 11;
			}
		} else {
			memcpy(p, "present", 7);
			p += 7;
		}
		p = put_mark_list(p, r->mark);
		o->len = (size_t)(p - o->buf);
		break;
	case VM_ST_SWAP:
		vm_swap_text(o,
			     ms_swaps_find(job->swaps, ms_pm_swap_type(r->entry),
					   ms_pm_swap_offset(r->entry)),
			     r->entry);
		break;
	case VM_ST_FILE:
		vm_file_text(o, vma, r->vaddr);
		break;
	case VM_ST_GUARD:
		out_buf_puts(o, "(guard page)");
		break;
	case VM_ST_NOT_MAPPED:
		out_buf_puts(o, "(not mapped)");
		break;
	}
	out_buf_puts(o, "\n");
}

static void range_add(struct vm_job *job, const struct ms_vma *vma, struct vm_range *r,
		      enum vm_page_state st, uint64_t vaddr, uint64_t entry, uint8_t mark,
		      uint64_t npages)
{
	if (range_extends(job, r, st, vaddr, entry, mark)) {
		if (st == VM_ST_PRESENT && job->root && ms_pm_pfn(entry) == ms_pm_pfn(r->entry))
			r->same_pfn = true;
		r->npages += npages;
		return;
	}
	range_flush(job, vma, r);
	*r = (struct vm_range){.open = true,
			       .st = st,
			       .vaddr = vaddr,
			       .npages = npages,
			       .entry = entry,
			       .mark = mark};
}

static void absent_flush(struct vm_job *job, const struct ms_vma *vma, struct vm_absent *a)
{
	if (a->open)
		print_absent(job, vma, a->st, a->vaddr, a->npages);
	a->open = false;
}

static void absent_add(struct vm_job *job, const struct ms_vma *vma, struct vm_absent *a,
		       enum vm_page_state st, uint64_t vaddr, size_t npages)
{
	if (job->o.all_pages) {
		for (size_t k = 0; k < npages; k++)
			print_absent(job, vma, st, vaddr + k * job->page, 1);
		return;
	}
	if (a->open && a->st == st && a->vaddr + a->npages * job->page == vaddr) {
		a->npages += npages;
		return;
	}
	absent_flush(job, vma, a);
	*a = (struct vm_absent){.open = true, .st = st, .vaddr = vaddr, .npages = npages};
}

void vm_lines_not_accessible(struct vm_job *job, const struct ms_vma *vma, uint64_t npages)
{
	if (job->j) {
		json_begin_object(job->j);
		json_kv_hex(job->j, "vaddr", vma->start);
		json_kv_string(job->j, "state", "not_accessible");
		json_kv_u64(job->j, "pages", npages);
		json_end_object(job->j);
		return;
	}
	out_buf_printf(&job->out,
		       "%-10" PRIx64 "  (not accessible: the kernel's vsyscall page is in no "
		       "process page table)\n",
		       vma->start);
}

void vm_lines_run(struct vm_job *job, const struct ms_vma *vma, const struct ms_page_run *run,
		  struct vm_lines *l)
{
	if (!run->entries) {
		/* a hole, or (without entries) pages known by their marks */
		enum vm_page_state st = state_of(vma, 0, run->mark);
		if (job->o.ranges)
			range_add(job, vma, &l->range, st, run->start, 0, run->mark, run->npages);
		else
			absent_add(job, vma, &l->absent, st, run->start, run->npages);
		return;
	}
	for (size_t k = 0; k < run->npages; k++) {
		uint64_t e = run->entries[k];
		uint8_t m = run->marks[k];
		uint64_t va = run->start + k * job->page;
		if ((e & MS_PM_PRESENT) && !job->j && !job->o.ranges) {
			if (l->absent.open)
				absent_flush(job, vma, &l->absent);
			/* the common case, a line per present page: in one go */
			k += print_present_run(job, va, run->entries + k, run->marks + k,
					       run->npages - k) -
			     1;
			continue;
		}
		enum vm_page_state st = state_of(vma, e, m);
		if (job->o.ranges) {
			range_add(job, vma, &l->range, st, va, e, m, 1);
			continue;
		}
		if (st == VM_ST_PRESENT) {
			absent_flush(job, vma, &l->absent);
			print_present(job, va, e, m);
		} else if (st == VM_ST_SWAP) {
			absent_flush(job, vma, &l->absent);
			print_swap(job, va, e, 1);
		} else {
			absent_add(job, vma, &l->absent, st, va, 1);
		}
	}
}

void vm_lines_end(struct vm_job *job, const struct ms_vma *vma, struct vm_lines *l)
{
	range_flush(job, vma, &l->range);
	absent_flush(job, vma, &l->absent);
}
