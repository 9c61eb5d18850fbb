/* SPDX-License-Identifier: MIT */
/*
 * vm: a process's mappings as crash's `vm` prints them, and with -p the page
 * behind every virtual page (crash's `vm -p`), --ranges for runs of pages,
 * --summary for what each mapping holds. smaps (for the VM_* flags) is read
 * on a second thread while the pages are read ahead, since both walk the
 * page tables and neither needs the other's answer until it is printed.
 * This file reads the mappings and walks their pages; cmd_vm_lines.c prints
 * the pages, cmd_vm_summary.c counts them; a core file is cmd_vm_core.c's.
 */
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
#include "../lib/selfshare.h"
#include "../lib/target.h"
#include "cmd_vm.h"
#include "commands.h"
#include "../lib/grow.h"

/* Read ahead at most this much while smaps is read: 8 MiB of entries. */
enum { AHEAD_RUNS = 16384, AHEAD_PAGES = 1 << 20 };

static struct ms_error *pool_add(struct vm_pool *p, const char *s, uint32_t *off_ret)
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

static void pool_free(struct vm_pool *p)
{
	free(p->buf);
	memset(p, 0, sizeof(*p));
}

/* Grow an array of elements of size sz to hold one more. */

static struct ms_error *keep_map(void *arg, const struct ms_vma *vma, bool *stop_ret)
{
	struct vm_maps *m = arg;
	(void)stop_ret;
	struct vm_map *grown = ms_grow(m->v, m->count, &m->cap, sizeof(*grown), 256);
	if (!grown)
		return &ms_error_no_memory;
	m->v = grown;
	struct ms_error *err = NULL;
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
	struct vm_smap *grown = ms_grow(m->v, m->count, &m->cap, sizeof(*grown), 256);
	if (!grown)
		return &ms_error_no_memory;
	m->v = grown;
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
	struct ms_error *err = pool_add(&m->texts, vma->vmflags_text, &r->vmflags);
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
 * read (root, THP-eligible or mergeable mappings), smaps lacks the mapping,
 * or memscope maps the same file (its own mapping is to be left out).
 */
static unsigned walk_flags(const struct vm_job *job, const struct ms_vma *vma)
{
	if (!job->o.summary || ms_self_share_maps_file(job->self, vma))
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

/* ---- per-mapping page walk, shared by -p, --ranges and --summary ---- */

/*
 * Marks that depend on the mapping: kpageflags where it is worth it, hugetlb,
 * and not "shared" where the other mapping is memscope's own.
 */
static struct ms_error *fix_marks(struct vm_job *job, const struct ms_vma *vma,
				  const struct ms_vma *s, struct ms_page_run *run,
				  unsigned kpf_what)
{
	if (run->entries && kpf_what && job->root) {
		struct ms_error *err = ms_page_marks_from_kpf(&job->kp, run->entries, run->marks,
							      run->npages, kpf_what);
		if (err)
			return err;
	}
	if (run->entries && ms_self_share_maps_file(job->self, vma)) {
		struct ms_error *err = ms_self_share_unmark(
			job->self, job->root ? &job->kp : NULL, vma, run->start, run->entries,
			run->marks, run->npages, &job->shared_uncertain);
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

/* Walk mapping i: print its pages (-p, --ranges) or count them (--summary). */
static struct ms_error *walk_mapping(struct vm_job *job, size_t i, const struct ms_vma *vma,
				     const struct ms_vma *s, struct vm_counts *c)
{
	bool summary = job->o.summary;
	unsigned kpf_what = 0;
	if (job->root)
		kpf_what = ms_page_kpf_marks_for(s ? s : vma, job->ksm_active);
	memset(c, 0, sizeof(*c));
	c->size = (vma->end - vma->start) / job->page;
	struct vm_tally tally;
	if (summary)
		vm_summary_begin(job, vma, s, c, &tally);
	if (skip_walk(vma->kind)) {
		if (summary) {
			c->untouched = c->size;
			vm_summary_end(job, NULL, c, &tally);
		} else {
			vm_lines_not_accessible(job, vma, c->size);
		}
		return NULL;
	}
	struct vm_lines lines = {0};
	struct ms_error *err = NULL;
	for (;;) {
		struct ms_page_run run;
		bool have;
		err = next_run(job, i, &run, &have);
		if (err || !have)
			break;
		err = fix_marks(job, vma, s, &run, kpf_what);
		if (err)
			break;
		if (summary)
			vm_summary_run(job, &run, c, &tally);
		else
			vm_lines_run(job, vma, &run, &lines);
	}
	if (summary)
		vm_summary_end(job, s, c, &tally);
	else
		vm_lines_end(job, vma, &lines);
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
	ms_self_share_destroy(job->self);
	if (job->pm_open)
		ms_pagemap_close(&job->pm);
	ms_swaps_destroy(job->swaps);
}

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
		err = ms_self_share_create(job->pid, &job->self);
		if (err)
			return fail(ctx, err);
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
		vm_summary_header(job);
	} else if (!job->o.pages) {
		vm_mapping_header(&job->out);
	}

	int status = CLI_OK;
	struct ms_error *walk_err = NULL;
	for (size_t i = 0; i < job->maps.count && !walk_err; i++) {
		struct ms_vma vma_buf, s_buf;
		vma_of(&job->maps, i, &vma_buf);
		const struct ms_vma *vma = &vma_buf;
		const struct ms_vma *s = smaps_of(job, vma, &s_buf);
		if (j)
			json_begin_object(j);
		vm_print_mapping(job, vma, s, i == 0);
		if (walk) {
			struct vm_counts c;
			if (j && job->o.pages) {
				json_key(j, "pages");
				json_begin_array(j);
			}
			walk_err = walk_mapping(job, i, vma, s, &c);
			if (j && job->o.pages)
				json_end_array(j);
			if (job->o.summary && !walk_err)
				vm_summary_print(job, vma, &c);
		}
		if (j)
			json_end_object(j);
	}
	if (j) {
		json_end_array(j);
		if (job->o.summary && !walk_err)
			vm_summary_total(job);
		if ((!job->root || job->shared_uncertain) && walk)
			json_kv_u64(j, "shared_uncertain_pages", job->shared_uncertain);
		if (walk_err)
			json_kv_string(j, "error", walk_err->message);
		json_end_object(j);
		json_finish(j);
	} else {
		if (job->o.summary && !walk_err)
			vm_summary_total(job);
		if (walk && !job->zero_known && !job->root)
			out_buf_puts(&job->out,
				     "NOTE: without PAGEMAP_SCAN (Linux 6.7) or root, the zero "
				     "page and THP are not marked\n");
		if (job->shared_uncertain)
			out_buf_printf(&job->out,
				       "NOTE: %" PRIu64 " pages counted as shared are mapped by "
				       "memscope too (its libraries); whether anyone else maps "
				       "them needs CAP_SYS_ADMIN\n",
				       job->shared_uncertain);
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
