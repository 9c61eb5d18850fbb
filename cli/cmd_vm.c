/* SPDX-License-Identifier: MIT */
/*
 * vm: a process's mappings as crash's `vm` prints them, and with -p the page
 * behind every virtual page (crash's `vm -p`), --ranges for runs of pages,
 * --summary for what each mapping holds. smaps (for the VM_* flags) is read
 * on a second thread while the pages are read ahead, since both walk the
 * page tables and neither needs the other's answer until it is printed.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/maps.h"
#include "../lib/maps_stream.h"
#include "../lib/pagemap.h"
#include "../lib/procfs.h"
#include "../lib/target.h"
#include "commands.h"

/* Read ahead at most this much while smaps is read: 8 MiB of entries. */
enum { AHEAD_RUNS = 16384, AHEAD_PAGES = 1 << 20, FILECACHE_BATCH = 1 << 16 };

struct vm_opts {
	bool pages, ranges, summary, all_pages;
};

/* hex, left-justified in width columns */
static inline char *put_hex_ljust(char *p, uint64_t v, size_t width)
{
	size_t n = out_hex(p, v);
	while (n < width)
		p[n++] = ' ';
	return p + n;
}

/*
 * What vm keeps of each mapping: a process may have 65530 of them, and the
 * full records (and smaps' text, 45 MB for so many) would not fit the
 * memory memscope allows itself. Names and VmFlags texts live in pools.
 */
struct pool {
	char *buf;
	size_t len, cap;
	uint32_t recent[8]; /* offsets of recent strings, to share repeats */
	unsigned next;
};

struct vm_map {
	uint64_t start, end, offset, inode;
	uint32_t prot, dev_major, dev_minor;
	uint32_t name; /* offset in the pool + 1; 0: none */
	uint8_t kind;
	bool deleted;
};

struct vm_maps {
	struct vm_map *v;
	size_t count, cap;
	struct pool names;
};

/* smaps' part: the VM_* flags and the counters vm uses */
struct vm_smap {
	uint64_t start, end, vm_flags, ksm, shared, anonymous;
	uint32_t vmflags; /* offset of the VmFlags text in the pool */
	bool thp_eligible;
};

struct vm_smaps {
	struct vm_smap *v;
	size_t count, cap;
	struct pool texts;
};

static struct ms_error *pool_add(struct pool *p, const char *s, uint32_t *off_ret)
{
	size_t n = strlen(s) + 1;
	for (unsigned i = 0; i < 8; i++) {
		uint32_t off = p->recent[i];
		if (off < p->len && strcmp(p->buf + off, s) == 0) {
			*off_ret = off;
			return NULL;
		}
	}
	if (p->len + n > p->cap) {
		size_t cap = p->cap ? p->cap * 2 : 4096;
		while (cap < p->len + n)
			cap *= 2;
		char *buf = realloc(p->buf, cap);
		if (!buf)
			return &ms_error_no_memory;
		p->buf = buf;
		p->cap = cap;
	}
	if (p->len + n > UINT32_MAX)
		return &ms_error_no_memory;
	memcpy(p->buf + p->len, s, n);
	*off_ret = (uint32_t)p->len;
	p->recent[p->next++ % 8] = (uint32_t)p->len;
	p->len += n;
	return NULL;
}

static void pool_free(struct pool *p)
{
	free(p->buf);
	memset(p, 0, sizeof(*p));
}

/* Grow an array of elements of size sz to hold one more. */
static struct ms_error *grow(void **v, size_t *cap, size_t count, size_t sz)
{
	if (count < *cap)
		return NULL;
	size_t n = *cap ? *cap * 2 : 256;
	void *p = realloc(*v, n * sz);
	if (!p)
		return &ms_error_no_memory;
	*v = p;
	*cap = n;
	return NULL;
}

static struct ms_error *keep_map(void *arg, const struct ms_vma *vma, bool *stop_ret)
{
	struct vm_maps *m = arg;
	(void)stop_ret;
	struct ms_error *err = grow((void **)&m->v, &m->cap, m->count, sizeof(*m->v));
	if (err)
		return err;
	struct vm_map *r = &m->v[m->count];
	*r = (struct vm_map){.start = vma->start,
			     .end = vma->end,
			     .offset = vma->offset,
			     .inode = vma->inode,
			     .prot = vma->prot,
			     .dev_major = vma->dev_major,
			     .dev_minor = vma->dev_minor,
			     .kind = (uint8_t)vma->kind,
			     .deleted = vma->deleted};
	if (vma->name) {
		uint32_t off;
		err = pool_add(&m->names, vma->name, &off);
		r->name = off + 1;
	}
	m->count++;
	return err;
}

static struct ms_error *load_maps(pid_t pid, struct vm_maps *m)
{
	return ms_maps_stream_each(pid, MS_MAPS_BASIC, keep_map, m);
}

static struct ms_error *keep_smap(void *arg, const struct ms_vma *vma, bool *stop_ret)
{
	struct vm_smaps *m = arg;
	(void)stop_ret;
	struct ms_error *err = grow((void **)&m->v, &m->cap, m->count, sizeof(*m->v));
	if (err)
		return err;
	struct vm_smap *r = &m->v[m->count];
	*r = (struct vm_smap){
		.start = vma->start,
		.end = vma->end,
		.vm_flags = vma->vm_flags,
		.ksm = vma->usage.ksm,
		.shared = vma->usage.shared_clean + vma->usage.shared_dirty,
		.anonymous = vma->usage.anonymous,
		.thp_eligible = vma->usage.thp_eligible,
	};
	err = pool_add(&m->texts, vma->vmflags_text, &r->vmflags);
	m->count++;
	return err;
}

static struct ms_error *load_smaps(pid_t pid, struct vm_smaps *m)
{
	return ms_maps_stream_each(pid, MS_MAPS_SMAPS, keep_smap, m);
}

/* Mapping i as the library's struct (its name points into the pool). */
static void vma_of(const struct vm_maps *m, size_t i, struct ms_vma *vma)
{
	const struct vm_map *r = &m->v[i];
	memset(vma, 0, sizeof(*vma));
	vma->start = r->start;
	vma->end = r->end;
	vma->offset = r->offset;
	vma->inode = r->inode;
	vma->prot = r->prot;
	vma->dev_major = r->dev_major;
	vma->dev_minor = r->dev_minor;
	vma->kind = (enum ms_vma_kind)r->kind;
	vma->deleted = r->deleted;
	vma->name = r->name ? m->names.buf + r->name - 1 : NULL;
}

/* The mapping with smaps' flags and counters, if smaps has it unchanged. */
static bool vma_with_smaps(const struct vm_smaps *m, const struct ms_vma *vma, struct ms_vma *out)
{
	size_t lo = 0, hi = m->count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->v[mid].start < vma->start)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo == m->count || m->v[lo].start != vma->start || m->v[lo].end != vma->end)
		return false;
	const struct vm_smap *r = &m->v[lo];
	*out = *vma;
	out->has_smaps = true;
	out->vm_flags = r->vm_flags;
	out->usage.ksm = r->ksm;
	out->usage.shared_clean = r->shared;
	out->usage.anonymous = r->anonymous;
	out->usage.thp_eligible = r->thp_eligible;
	snprintf(out->vmflags_text, sizeof(out->vmflags_text), "%s", m->texts.buf + r->vmflags);
	return true;
}

struct vm_counts {
	uint64_t size, present, zero, thp, ksm, shared, swap, cached, untouched;
	bool cached_unknown, ksm_unknown;
};

struct vm_job {
	struct cli_ctx *ctx;
	struct json *j; /* NULL for text */
	struct vm_opts o;
	pid_t pid;
	struct vm_maps maps; /* from /proc/PID/maps */
	size_t page;
	bool root;

	/* smaps, read by the helper thread */
	pthread_t thread;
	bool thread_started;
	atomic_bool smaps_done;
	struct vm_smaps smaps;
	struct ms_error *smaps_err;

	struct ms_pagemap pm;
	bool pm_open;
	struct ms_kpage kp;
	struct ms_page_walk *walk;
	struct ms_swaps *swaps;
	bool ksm_active;

	/* the walk across mappings, and runs read ahead */
	struct ms_page_queue *queue;
	bool held;  /* the queue's head run is being used */
	size_t wv;  /* mapping the walk is in */
	bool wbusy; /* a walk of mapping wv is under way */
	struct ms_error *walk_err;

	struct out_buf out;
	struct vm_counts total;
	double t_smaps, t_ahead, t_start; /* -v timings */
	bool zero_known;		  /* the walk marks the zero page and PMD-mapped THP */
};

static void *smaps_thread(void *arg)
{
	struct vm_job *job = arg;
	double start = out_now();
	job->smaps_err = load_smaps(job->pid, &job->smaps);
	job->t_smaps = out_now() - start;
	atomic_store(&job->smaps_done, true);
	return NULL;
}

static struct ms_error *start_smaps(struct vm_job *job)
{
	int e = pthread_create(&job->thread, NULL, smaps_thread, job);
	if (e)
		return ms_error_errno(e, "pthread_create");
	job->thread_started = true;
	return NULL;
}

static struct ms_error *join_smaps(struct vm_job *job)
{
	if (job->thread_started) {
		pthread_join(job->thread, NULL);
		job->thread_started = false;
	}
	struct ms_error *err = job->smaps_err;
	job->smaps_err = NULL;
	return err;
}

/* The mapping with smaps' part in *buf, or NULL if smaps has no such mapping. */
static const struct ms_vma *smaps_of(const struct vm_job *job, const struct ms_vma *vma,
				     struct ms_vma *buf)
{
	return vma_with_smaps(&job->smaps, vma, buf) ? buf : NULL;
}

static bool skip_walk(enum ms_vma_kind kind)
{
	/* The vsyscall page is the kernel's, outside the process's page tables. */
	return kind == MS_VMA_VSYSCALL;
}

/*
 * vm -p needs every page's entry. --summary counts: PAGEMAP_SCAN's runs are
 * enough, and smaps counts the shared pages, unless kpageflags is to be
 * read (root, THP-eligible or mergeable mappings) or smaps lacks the mapping.
 */
static unsigned walk_flags(const struct vm_job *job, const struct ms_vma *vma)
{
	if (!job->o.summary)
		return MS_WALK_ENTRIES;
	struct ms_vma buf;
	const struct ms_vma *s = smaps_of(job, vma, &buf);
	if (!s || (job->root && ms_page_kpf_marks_for(s, job->ksm_active)))
		return MS_WALK_ENTRIES;
	return 0;
}

/*
 * The next run of any mapping, from the walker: *tag_ret is the mapping's
 * index; *eof_ret once every mapping is walked.
 */
static struct ms_error *produce(struct vm_job *job, size_t *tag_ret, struct ms_page_run *run,
				bool *eof_ret)
{
	*eof_ret = false;
	while (job->wv < job->maps.count) {
		if (!job->wbusy) {
			struct ms_vma vma;
			vma_of(&job->maps, job->wv, &vma);
			if (skip_walk(vma.kind)) {
				job->wv++;
				continue;
			}
			ms_page_walk_start(job->walk, vma.start, vma.end, walk_flags(job, &vma));
			job->wbusy = true;
		}
		bool done;
		struct ms_error *err = ms_page_walk_next(job->walk, run, &done);
		if (err)
			return err;
		if (done) {
			job->wbusy = false;
			job->wv++;
			continue;
		}
		*tag_ret = job->wv;
		return NULL;
	}
	*eof_ret = true;
	return NULL;
}

/* Read ahead into the queue until smaps is in, the queue is full, or the end. */
static void read_ahead(struct vm_job *job)
{
	while (!job->walk_err && !atomic_load(&job->smaps_done) &&
	       !ms_page_queue_full(job->queue) && !cli_interrupted) {
		size_t tag;
		struct ms_page_run run;
		bool eof;
		struct ms_error *err = produce(job, &tag, &run, &eof);
		if (err) {
			job->walk_err = err;
			break;
		}
		if (eof)
			break;
		err = ms_page_queue_push(job->queue, tag, &run);
		if (err) {
			job->walk_err = err;
			break;
		}
	}
}

/* The next run of mapping i; *have_ret false once mapping i is over. */
static struct ms_error *next_run(struct vm_job *job, size_t i, struct ms_page_run *run,
				 bool *have_ret)
{
	*have_ret = false;
	if (job->held) {
		ms_page_queue_drop(job->queue);
		job->held = false;
	}
	size_t tag;
	if (ms_page_queue_peek(job->queue, &tag, run)) {
		if (tag == i) {
			job->held = true;
			*have_ret = true;
		}
		return NULL;
	}
	if (job->walk_err) {
		struct ms_error *err = job->walk_err;
		job->walk_err = NULL;
		return err;
	}
	if (cli_interrupted)
		return ms_error_create(MS_ERROR_INTERRUPTED, "interrupted");
	bool eof;
	struct ms_error *err = produce(job, &tag, run, &eof);
	if (err || eof)
		return err;
	if (tag == i) {
		*have_ret = true;
		return NULL;
	}
	/* the first run of a later mapping: keep it for then */
	return ms_page_queue_push(job->queue, tag, run);
}

/* ---- headers ---- */

struct vm_status {
	uint64_t rss, total_vm; /* bytes */
};

static struct ms_error *read_status(pid_t pid, struct vm_status *st)
{
	char *text;
	struct ms_error *err = ms_procfs_read_pid(pid, "status", &text, NULL);
	if (err)
		return err;
	bool ok = ms_procfs_field_u64(text, "VmSize", &st->total_vm) &&
		  ms_procfs_field_u64(text, "VmRSS", &st->rss);
	free(text);
	if (!ok) {
		if (ms_pid_gone(pid))
			return ms_error_create(MS_ERROR_EXITED, "process %d has exited", (int)pid);
		return ms_error_create(MS_ERROR_UNSUPPORTED,
				       "process %d is a kernel thread: it has no user memory",
				       (int)pid);
	}
	return NULL;
}

static void print_header(struct vm_job *job, struct ms_target *t, const struct vm_status *st)
{
	if (job->j) {
		struct json *j = job->j;
		json_kv_i64(j, "pid", job->pid);
		json_kv_string(j, "command", ms_target_comm(t));
		json_kv_u64(j, "rss_bytes", st->rss);
		json_kv_u64(j, "total_vm_bytes", st->total_vm);
		json_kv_u64(j, "page_size", job->page);
		if (job->o.pages || job->o.summary)
			json_kv_bool(j, "physical_addresses", job->root);
		return;
	}
	out_buf_printf(&job->out, "PID: %-8d COMMAND: \"%s\"\n", (int)job->pid, ms_target_comm(t));
	out_buf_printf(&job->out, "%8s  %10s\n", "RSS", "TOTAL_VM");
	out_buf_printf(&job->out, "%7" PRIu64 "k  %9" PRIu64 "k\n", st->rss / 1024,
		       st->total_vm / 1024);
	if ((job->o.pages || job->o.summary) && !job->root)
		out_buf_puts(&job->out,
			     "NOTE: physical addresses need CAP_SYS_ADMIN (root, outside "
			     "containers): present "
			     "pages show as \"present\"\n");
}

static const char *vma_file(const struct ms_vma *vma)
{
	return vma->name ? vma->name : "";
}

static void json_mapping_fields(struct json *j, const struct ms_vma *vma, const struct ms_vma *s)
{
	char perms[5];
	ms_vma_perms(vma, perms);
	json_kv_hex(j, "start", vma->start);
	json_kv_hex(j, "end", vma->end);
	if (s) {
		json_kv_hex(j, "flags", s->vm_flags);
		json_kv_string(j, "vmflags", s->vmflags_text);
	} else {
		json_kv_null(j, "flags");
	}
	json_kv_string(j, "perms", perms);
	json_kv_hex(j, "offset", vma->offset);
	if (vma->name)
		json_kv_string(j, "file", vma->name);
	else
		json_kv_null(j, "file");
	if (vma->deleted)
		json_kv_bool(j, "deleted", true);
}

static void print_mapping_line(struct vm_job *job, const struct ms_vma *vma, const struct ms_vma *s,
			       bool column_header)
{
	struct out_buf *o = &job->out;
	if (column_header)
		out_buf_printf(o, "%12s %12s %8s %s\n", "START", "END", "FLAGS", "FILE");
	char flags[24];
	if (s)
		snprintf(flags, sizeof(flags), "%" PRIx64, s->vm_flags);
	else
		snprintf(flags, sizeof(flags), "?");
	out_buf_printf(o, "%12" PRIx64 " %12" PRIx64 " %8s %s%s\n", vma->start, vma->end, flags,
		       vma_file(vma), vma->deleted ? " (deleted)" : "");
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

/* What a page that has no page behind it is, for a line. */
enum page_state {
	ST_PRESENT,
	ST_SWAP,
	ST_FILE, /* file page not mapped in (crash: FILE: path OFFSET: x) */
	ST_NOT_MAPPED,
	ST_GUARD,
};

static enum page_state state_of(const struct ms_vma *vma, uint64_t entry, uint8_t mark)
{
	if (entry & MS_PM_PRESENT || (mark & MS_PAGE_PRESENT))
		return ST_PRESENT;
	/* guard markers carry the swap bit too */
	if ((entry & MS_PM_GUARD) || (mark & MS_PAGE_GUARD))
		return ST_GUARD;
	if (entry & MS_PM_SWAP)
		return ST_SWAP;
	if (vma->name && ms_vma_is_file(vma))
		return ST_FILE;
	return ST_NOT_MAPPED;
}

static const char *state_name(enum page_state st)
{
	static const char *const names[] = {"present", "swap", "file", "not_mapped", "guard"};
	return names[st];
}

static uint64_t file_offset(const struct ms_vma *vma, uint64_t vaddr)
{
	return vma->offset + (vaddr - vma->start);
}

/* A run of npages alike pages that are not present, from vaddr. */
static void print_absent(struct vm_job *job, const struct ms_vma *vma, enum page_state st,
			 uint64_t vaddr, size_t npages)
{
	if (job->j) {
		struct json *j = job->j;
		json_begin_object(j);
		json_kv_hex(j, "vaddr", vaddr);
		json_kv_string(j, "state", state_name(st));
		if (st == ST_FILE) {
			json_kv_string(j, "file", vma->name);
			json_kv_hex(j, "offset", file_offset(vma, vaddr));
		}
		json_kv_u64(j, "pages", npages);
		json_end_object(j);
		return;
	}
	struct out_buf *o = &job->out;
	char *p = out_buf_reserve(o, 64);
	p = put_hex_ljust(p, vaddr, 10);
	*p++ = ' ';
	*p++ = ' ';
	o->len = (size_t)(p - o->buf);
	switch (st) {
	case ST_FILE:
		out_buf_printf(o, "FILE: %s%s  OFFSET: %" PRIx64, vma->name,
			       vma->deleted ? " (deleted)" : "", file_offset(vma, vaddr));
		break;
	case ST_GUARD:
		out_buf_puts(o, "(guard page)");
		break;
	default:
		out_buf_puts(o, "(not mapped)");
		break;
	}
	if (npages > 1)
		out_buf_printf(o, "  [%zu pages, to %" PRIx64 "]", npages,
			       vaddr + npages * job->page);
	out_buf_puts(o, "\n");
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
	struct out_buf *o = &job->out;
	char *p = out_buf_reserve(o, 64);
	p = put_hex_ljust(p, vaddr, 10);
	o->len = (size_t)(p - o->buf);
	if (area)
		out_buf_printf(o, "  SWAP: %s  OFFSET: %" PRIu64, area->path, off);
	else
		out_buf_printf(o, "  SWAP: type %u  OFFSET: %" PRIu64, type, off);
	if (npages > 1)
		out_buf_printf(o, "  [%zu pages, to %" PRIx64 "]", npages,
			       vaddr + npages * job->page);
	out_buf_puts(o, "\n");
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

struct range {
	bool open;
	enum page_state st;
	uint64_t vaddr, npages;
	uint64_t entry; /* first page's */
	uint8_t mark;
	bool same_pfn; /* every page is the same physical page (the zero page) */
};

static bool range_extends(const struct vm_job *job, const struct range *r, enum page_state st,
			  uint64_t vaddr, uint64_t entry, uint8_t mark)
{
	if (!r->open || r->st != st || r->mark != mark || r->vaddr + r->npages * job->page != vaddr)
		return false;
	switch (st) {
	case ST_PRESENT:
		/* without PFNs, runs are of virtual pages alike */
		if (!job->root)
			return true;
		/* the small zero page backs many virtual pages at one PFN */
		if (r->same_pfn || ((mark & MS_PAGE_ZERO) && r->npages == 1 &&
				    ms_pm_pfn(entry) == ms_pm_pfn(r->entry)))
			return ms_pm_pfn(entry) == ms_pm_pfn(r->entry);
		return ms_pm_pfn(entry) == ms_pm_pfn(r->entry) + r->npages;
	case ST_SWAP:
		return ms_pm_swap_type(entry) == ms_pm_swap_type(r->entry) &&
		       ms_pm_swap_offset(entry) == ms_pm_swap_offset(r->entry) + r->npages;
	default:
		return true;
	}
}

static void range_flush(struct vm_job *job, const struct ms_vma *vma, struct range *r)
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
		if (r->st == ST_PRESENT) {
			if (job->root) {
				json_kv_hex(j, "paddr", ms_pm_pfn(r->entry) * job->page);
				json_kv_hex(j, "pend",
					    (ms_pm_pfn(r->entry) + (r->same_pfn ? 1 : r->npages)) *
						    job->page);
			} else {
				json_kv_null(j, "paddr");
			}
			json_marks(j, r->mark);
		} else if (r->st == ST_SWAP) {
			const struct ms_swap_area *a = ms_swaps_find(
				job->swaps, ms_pm_swap_type(r->entry), ms_pm_swap_offset(r->entry));
			if (a)
				json_kv_string(j, "device", a->path);
			else
				json_kv_null(j, "device");
			json_kv_u64(j, "swap_type", ms_pm_swap_type(r->entry));
			json_kv_u64(j, "swap_offset", ms_pm_swap_offset(r->entry));
		} else if (r->st == ST_FILE) {
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
	case ST_PRESENT:
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
	case ST_SWAP: {
		const struct ms_swap_area *a = ms_swaps_find(job->swaps, ms_pm_swap_type(r->entry),
							     ms_pm_swap_offset(r->entry));
		if (a)
			out_buf_printf(o, "SWAP: %s  OFFSET: %" PRIu64, a->path,
				       ms_pm_swap_offset(r->entry));
		else
			out_buf_printf(o, "SWAP: type %u  OFFSET: %" PRIu64,
				       ms_pm_swap_type(r->entry), ms_pm_swap_offset(r->entry));
		break;
	}
	case ST_FILE:
		out_buf_printf(o, "FILE: %s%s  OFFSET: %" PRIx64, vma->name,
			       vma->deleted ? " (deleted)" : "", file_offset(vma, r->vaddr));
		break;
	case ST_GUARD:
		out_buf_puts(o, "(guard page)");
		break;
	case ST_NOT_MAPPED:
		out_buf_puts(o, "(not mapped)");
		break;
	}
	out_buf_puts(o, "\n");
}

static void range_add(struct vm_job *job, const struct ms_vma *vma, struct range *r,
		      enum page_state st, uint64_t vaddr, uint64_t entry, uint8_t mark,
		      uint64_t npages)
{
	if (range_extends(job, r, st, vaddr, entry, mark)) {
		if (st == ST_PRESENT && job->root && ms_pm_pfn(entry) == ms_pm_pfn(r->entry))
			r->same_pfn = true;
		r->npages += npages;
		return;
	}
	range_flush(job, vma, r);
	*r = (struct range){.open = true,
			    .st = st,
			    .vaddr = vaddr,
			    .npages = npages,
			    .entry = entry,
			    .mark = mark};
}

/* ---- per-mapping page walk, shared by -p, --ranges and --summary ---- */

/* Marks that depend on the mapping: kpageflags where it is worth it, hugetlb. */
static struct ms_error *fix_marks(struct vm_job *job, const struct ms_vma *s,
				  struct ms_page_run *run, unsigned kpf_what)
{
	if (run->entries && kpf_what && job->root) {
		struct ms_error *err = ms_page_marks_from_kpf(&job->kp, run->entries, run->marks,
							      run->npages, kpf_what);
		if (err)
			return err;
	}
	if (s && (s->vm_flags & MS_VM_HUGETLB)) {
		if (run->marks) {
			for (size_t i = 0; i < run->npages; i++)
				if (run->marks[i] & MS_PAGE_THP)
					run->marks[i] = (uint8_t)((run->marks[i] & ~MS_PAGE_THP) |
								  MS_PAGE_HUGETLB);
		} else if (run->mark & MS_PAGE_THP) {
			run->mark = (uint8_t)((run->mark & ~MS_PAGE_THP) | MS_PAGE_HUGETLB);
		}
	}
	return NULL;
}

struct pending_absent {
	bool open;
	enum page_state st;
	uint64_t vaddr;
	size_t npages;
};

static void absent_flush(struct vm_job *job, const struct ms_vma *vma, struct pending_absent *a)
{
	if (a->open)
		print_absent(job, vma, a->st, a->vaddr, a->npages);
	a->open = false;
}

static void absent_add(struct vm_job *job, const struct ms_vma *vma, struct pending_absent *a,
		       enum page_state st, uint64_t vaddr, size_t npages)
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
	*a = (struct pending_absent){.open = true, .st = st, .vaddr = vaddr, .npages = npages};
}

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

/* Walk mapping i: print its pages (-p, --ranges) or count them (--summary). */
static struct ms_error *walk_mapping(struct vm_job *job, size_t i, const struct ms_vma *vma,
				     const struct ms_vma *s, struct vm_counts *c)
{
	size_t page = job->page;
	bool summary = job->o.summary;
	unsigned kpf_what = 0;
	if (job->root)
		kpf_what = ms_page_kpf_marks_for(s ? s : vma, job->ksm_active);
	memset(c, 0, sizeof(*c));
	c->size = (vma->end - vma->start) / page;

	bool file = summary && ms_vma_is_file(vma) && vma->name;
	struct ms_filecache fc;
	bool fc_ok = false;
	uint8_t *vec = NULL;
	if (file) {
		struct ms_error *e = ms_filecache_open(job->pid, s ? s : vma, &fc);
		if (e)
			ms_error_destroy(e);
		else
			fc_ok = true;
		vec = malloc(FILECACHE_BATCH);
		if (!vec)
			fc_ok = false;
	}
	/* per-page KSM needs kpageflags: else take the kernel's count */
	bool ksm_from_smaps = summary && !job->root;
	if (ksm_from_smaps && !(s && s->has_smaps))
		c->ksm_unknown = true;

	if (skip_walk(vma->kind)) {
		if (summary) {
			c->untouched = c->size;
		} else if (job->j) {
			json_begin_object(job->j);
			json_kv_hex(job->j, "vaddr", vma->start);
			json_kv_string(job->j, "state", "not_accessible");
			json_kv_u64(job->j, "pages", c->size);
			json_end_object(job->j);
		} else {
			out_buf_printf(&job->out,
				       "%-10" PRIx64
				       "  (not accessible: the kernel's vsyscall page is in no "
				       "process page table)\n",
				       vma->start);
		}
		if (file)
			free(vec);
		return NULL;
	}

	struct range r = {0};
	struct pending_absent a = {0};
	struct ms_error *err = NULL;
	for (;;) {
		struct ms_page_run run;
		bool have;
		err = next_run(job, i, &run, &have);
		if (err || !have)
			break;
		err = fix_marks(job, s, &run, kpf_what);
		if (err)
			break;
		if (!run.entries) {
			/* a hole, or (without entries) pages known by their marks */
			if (summary) {
				if (run.mark)
					count_marked(c, run.mark, run.npages);
				else if (file)
					count_cached(job, &fc, fc_ok, run.start, run.npages, c,
						     vec);
				else
					c->untouched += run.npages;
				continue;
			}
			enum page_state st = state_of(vma, 0, run.mark);
			if (job->o.ranges)
				range_add(job, vma, &r, st, run.start, 0, run.mark, run.npages);
			else
				absent_add(job, vma, &a, st, run.start, run.npages);
			continue;
		}
		for (size_t k = 0; k < run.npages; k++) {
			uint64_t e = run.entries[k];
			uint8_t m = run.marks[k];
			uint64_t va = run.start + k * page;
			if (summary) {
				if (m & (MS_PAGE_PRESENT | MS_PAGE_SWAPPED))
					count_marked(c, m, 1);
				else if (file)
					count_cached(job, &fc, fc_ok, va, 1, c, vec);
				else
					c->untouched++;
				continue;
			}
			if ((e & MS_PM_PRESENT) && !job->j && !job->o.ranges) {
				if (a.open)
					absent_flush(job, vma, &a);
				/* the common case, a line per present page: in one go */
				k += print_present_run(job, va, run.entries + k, run.marks + k,
						       run.npages - k) -
				     1;
				continue;
			}
			enum page_state st = state_of(vma, e, m);
			if (job->o.ranges) {
				range_add(job, vma, &r, st, va, e, m, 1);
				continue;
			}
			if (st == ST_PRESENT) {
				absent_flush(job, vma, &a);
				print_present(job, va, e, m);
			} else if (st == ST_SWAP) {
				absent_flush(job, vma, &a);
				print_swap(job, va, e, 1);
			} else {
				absent_add(job, vma, &a, st, va, 1);
			}
		}
	}
	if (!summary) {
		range_flush(job, vma, &r);
		absent_flush(job, vma, &a);
	} else if (s && s->has_smaps) {
		/* pages mapped more than once, as the exclusive bit says: smaps
		 * counts them without pagemap having to be read */
		c->shared = (s->usage.shared_clean + s->usage.shared_dirty) / page;
		if (ksm_from_smaps)
			c->ksm = s->usage.ksm / page;
	}
	if (file) {
		if (fc_ok)
			ms_filecache_close(&fc);
		free(vec);
	}
	return err;
}

/* ---- the command ---- */

static void job_cleanup(struct vm_job *job)
{
	struct ms_error *err = join_smaps(job);
	ms_error_destroy(err);
	free(job->smaps.v);
	pool_free(&job->smaps.texts);
	free(job->maps.v);
	pool_free(&job->maps.names);
	ms_error_destroy(job->walk_err);
	ms_page_queue_destroy(job->queue);
	ms_page_walk_destroy(job->walk);
	ms_kpage_deinit(&job->kp);
	if (job->pm_open)
		ms_pagemap_close(&job->pm);
	ms_swaps_destroy(job->swaps);
}

static const char *summary_note =
	"PRESENT: pages in memory; ZERO: of them, mapped to the shared zero page (no memory of\n"
	"their own); THP, KSM, SHARED: present pages in transparent (or hugetlbfs) huge pages,\n"
	"merged by KSM, mapped more than once. SWAP: in swap. CACHED: file pages in the page cache "
	"that this\n"
	"process does not map. UNTOUCHED: the rest (never touched, dropped, or not cached).\n";

/*
 * Whether to read smaps on a second thread while the pages are read ahead:
 * with two CPUs or more. (On a loaded machine the two walks take turns, a
 * little slower than one after the other; with a CPU to spare, smaps' cost
 * disappears.) MEMSCOPE_READ_AHEAD=0/1 decides instead (tests).
 */
static bool read_ahead_pays(void)
{
	const char *force = getenv("MEMSCOPE_READ_AHEAD");
	if (force)
		return strcmp(force, "0") != 0;
	cpu_set_t set;
	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		return CPU_COUNT(&set) >= 2;
	return sysconf(_SC_NPROCESSORS_ONLN) >= 2;
}

/* An error before anything was printed: nothing was shown, so it failed. */
static int fail(struct cli_ctx *ctx, struct ms_error *err)
{
	int status = cli_error(ctx, err);
	return status == CLI_PARTIAL ? CLI_FAILED : status;
}

static int run_vm(struct vm_job *job, struct ms_target *t)
{
	struct cli_ctx *ctx = job->ctx;
	struct vm_status st;
	struct ms_error *err = read_status(job->pid, &st);
	if (err)
		return fail(ctx, cli_explain_denied(t, err));
	err = load_maps(job->pid, &job->maps);
	if (err)
		return fail(ctx, cli_explain_denied(t, err));
	bool walk = job->o.pages || job->o.summary;
	if (walk) {
		err = ms_pagemap_open(job->pid, &job->pm);
		if (err)
			return fail(ctx, cli_explain_denied(t, err));
		job->pm_open = true;
		err = ms_page_walk_create(&job->pm, &job->walk);
		if (!err)
			err = ms_page_queue_create(AHEAD_RUNS, AHEAD_PAGES, &job->queue);
		/*
		 * vm -p reads pages ahead while smaps is read; the summary
		 * needs smaps first, to know what to read.
		 */
		bool ahead = job->o.pages && read_ahead_pays();
		if (!err && ahead)
			err = start_smaps(job);
		if (err)
			return fail(ctx, cli_explain_denied(t, err));
		job->root = job->pm.pfn_visible;
		job->zero_known = ms_page_walk_marks_known(job->walk);
		job->ksm_active = ms_pid_ksm_active(job->pid);
		if (job->o.pages) {
			err = ms_swaps_read(&job->swaps);
			if (err) {
				ms_error_destroy(err); /* no swap names: types are shown */
				job->swaps = NULL;
			}
		}
		if (ahead) {
			double t_ahead = out_now();
			read_ahead(job);
			job->t_ahead = out_now() - t_ahead;
			err = join_smaps(job);
		} else {
			double start = out_now();
			err = load_smaps(job->pid, &job->smaps);
			job->t_smaps = out_now() - start;
		}
	} else {
		err = load_smaps(job->pid, &job->smaps);
	}
	if (err)
		return fail(ctx, cli_explain_denied(t, err));

	struct json *j = job->j;
	if (j)
		json_begin_object(j);
	print_header(job, t, &st);
	if (j) {
		json_key(j, "mappings");
		json_begin_array(j);
	} else if (job->o.summary) {
		out_buf_printf(&job->out, "%12s %12s %9s %9s %9s %9s %9s %9s %9s %9s %9s %s\n",
			       "START", "END", "SIZE", "PRESENT", "ZERO", "THP", "KSM", "SHARED",
			       "SWAP", "CACHED", "UNTOUCHED", "FILE");
	} else if (!job->o.pages) {
		out_buf_printf(&job->out, "%12s %12s %8s %s\n", "START", "END", "FLAGS", "FILE");
	}

	int status = CLI_OK;
	struct ms_error *walk_err = NULL;
	for (size_t i = 0; i < job->maps.count && !walk_err; i++) {
		struct ms_vma vma_buf, s_buf;
		vma_of(&job->maps, i, &vma_buf);
		const struct ms_vma *vma = &vma_buf;
		const struct ms_vma *s = smaps_of(job, vma, &s_buf);
		if (j) {
			json_begin_object(j);
			json_mapping_fields(j, vma, s);
		} else if (job->o.pages) {
			if (i)
				out_buf_puts(&job->out, "\n");
			print_mapping_line(job, vma, s, true);
			if (job->o.ranges)
				out_buf_printf(&job->out, "%-25s  %8s  %s\n", "VIRTUAL", "PAGES",
					       "PHYSICAL");
			else
				out_buf_puts(&job->out, "VIRTUAL     PHYSICAL\n");
		} else if (!job->o.summary) {
			print_mapping_line(job, vma, s, false);
		}
		if (walk) {
			struct vm_counts c;
			if (j && job->o.pages) {
				json_key(j, "pages");
				json_begin_array(j);
			}
			walk_err = walk_mapping(job, i, vma, s, &c);
			if (j && job->o.pages)
				json_end_array(j);
			if (job->o.summary && !walk_err) {
				add_counts(&job->total, &c);
				if (j) {
					json_key(j, "pages");
					json_begin_object(j);
					json_counts(j, &c);
					json_end_object(j);
				} else {
					out_buf_printf(&job->out, "%12" PRIx64 " %12" PRIx64,
						       vma->start, vma->end);
					text_counts(job, &c);
					out_buf_printf(&job->out, " %s%s\n", vma_file(vma),
						       vma->deleted ? " (deleted)" : "");
				}
			}
		}
		if (j)
			json_end_object(j);
	}
	if (j) {
		json_end_array(j);
		if (job->o.summary && !walk_err) {
			json_key(j, "total");
			json_begin_object(j);
			json_counts(j, &job->total);
			json_end_object(j);
		}
		if (walk_err)
			json_kv_string(j, "error", walk_err->message);
		json_end_object(j);
		json_finish(j);
	} else {
		if (job->o.summary && !walk_err) {
			out_buf_printf(&job->out, "%12s %12s", "TOTAL", "");
			text_counts(job, &job->total);
			out_buf_puts(&job->out, "\n\n");
			out_buf_puts(&job->out, summary_note);
		}
		if (walk && !job->zero_known && !job->root)
			out_buf_puts(&job->out,
				     "NOTE: without PAGEMAP_SCAN (Linux 6.7) or root, the zero "
				     "page and THP are not marked\n");
		out_buf_flush(&job->out);
	}
	if (walk && ctx->session->verbose) {
		char ahead[96] = ", no read-ahead";
		if (job->t_ahead > 0)
			snprintf(ahead, sizeof(ahead), " while pages were read ahead for %.1f ms",
				 job->t_ahead * 1e3);
		fprintf(stderr,
			"memscope: vm: smaps %.1f ms%s, total %.1f ms; PAGEMAP_SCAN %s, "
			"kpageflags %s\n",
			job->t_smaps * 1e3, ahead, (out_now() - job->t_start) * 1e3,
			ms_pagemap_has_scan(&job->pm) ? "yes" : "no",
			job->root ? "readable" : "hidden");
	}
	if (walk_err) {
		/* what was read is printed: the result is partial */
		bool partial = walk_err->code == MS_ERROR_INTERRUPTED;
		status = cli_error(ctx, walk_err);
		if (partial)
			status = CLI_PARTIAL;
	} else if (job->out.error)
		status = cli_error(ctx, ms_error_errno(job->out.error, "writing the output"));
	return status;
}

int cmd_vm(struct cli_ctx *ctx, int argc, char **argv)
{
	enum { OPT_RANGES = 256, OPT_SUMMARY, OPT_ALL_PAGES };
	static const struct option options[] = {
		{"ranges", no_argument, NULL, OPT_RANGES},
		{"summary", no_argument, NULL, OPT_SUMMARY},
		{"all-pages", no_argument, NULL, OPT_ALL_PAGES},
		{NULL, 0, NULL, 0},
	};
	struct vm_opts o = {0};
	int c;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "+p", options, NULL)) != -1) {
		switch (c) {
		case 'p':
			o.pages = true;
			break;
		case OPT_RANGES:
			o.ranges = o.pages = true;
			break;
		case OPT_SUMMARY:
			o.summary = true;
			break;
		case OPT_ALL_PAGES:
			o.all_pages = o.pages = true;
			break;
		default:
			return cli_usage(ctx, "unknown option '%s'", argv[optind - 1]);
		}
	}
	if (o.summary && o.pages)
		return cli_usage(ctx, "--summary does not go with -p, --ranges or --all-pages");
	if (o.ranges && o.all_pages)
		return cli_usage(ctx, "--ranges and --all-pages exclude each other");
	pid_t pid = 0;
	if (optind < argc) {
		if (!cli_parse_pid(argv[optind], &pid))
			return cli_usage(ctx, "invalid process id '%s'", argv[optind]);
		optind++;
	}
	if (optind < argc)
		return cli_usage(ctx, "unexpected argument '%s'", argv[optind]);

	struct ms_target *t;
	struct ms_error *err = cli_target(ctx, pid, &t);
	if (err)
		return fail(ctx, err);
	if (ms_target_kind(t) != MS_TARGET_LIVE)
		return cli_vm_core(ctx, t, o.pages, o.ranges, o.summary, o.all_pages);

	struct vm_job *job = calloc(1, sizeof(*job));
	if (!job)
		return cli_error(ctx, &ms_error_no_memory);
	job->ctx = ctx;
	job->j = ctx->session->json ? &ctx->json : NULL;
	job->o = o;
	job->pid = ms_target_pid(t);
	job->page = ms_page_size();
	job->pm.fd = -1;
	job->pm.pidfd = -1;
	ms_kpage_init(&job->kp);
	atomic_init(&job->smaps_done, false);
	job->t_start = out_now();
	int status = run_vm(job, t);
	job_cleanup(job);
	free(job);
	return status;
}
