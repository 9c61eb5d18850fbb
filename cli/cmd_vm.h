/* SPDX-License-Identifier: MIT */
/*
 * What vm's files share. cmd_vm.c reads a live process's mappings and walks
 * their pages run by run; cmd_vm_lines.c turns each run into the lines of
 * -p, --all-pages and --ranges; cmd_vm_summary.c counts runs for --summary
 * and prints the counts. The mapping line and the texts of a file or swap
 * page are the same in vm on a core (cmd_vm_core.c) and in vtop.
 */
#ifndef MEMSCOPE_CMD_VM_H
#define MEMSCOPE_CMD_VM_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "../lib/maps.h"
#include "../lib/pagemap.h"
#include "../lib/selfshare.h"
#include "commands.h"

struct vm_opts {
	bool pages, ranges, summary, all_pages;
};

/*
 * What vm keeps of each mapping: a process may have 65530 of them, and the
 * full records (and smaps' text, 45 MB for so many) would not fit the
 * memory memscope allows itself. Names and VmFlags texts live in pools.
 */
struct vm_pool {
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
	struct vm_pool names;
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
	struct vm_pool texts;
};

/* --summary's columns, in pages */
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
	struct ms_self_share *self; /* memscope's own mappings, to leave out of "shared" */
	uint64_t shared_uncertain;  /* without root: shared pages memscope maps too */
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

/* ---- cmd_vm_lines.c: a mapping's line, its pages' lines ---- */

/* What a page is, for a line. */
enum vm_page_state {
	VM_ST_PRESENT,
	VM_ST_SWAP,
	VM_ST_FILE, /* file page not mapped in (crash: FILE: path OFFSET: x) */
	VM_ST_NOT_MAPPED,
	VM_ST_GUARD,
};

/* --ranges: the run of contiguous pages being gathered */
struct vm_range {
	bool open;
	enum vm_page_state st;
	uint64_t vaddr, npages;
	uint64_t entry; /* first page's */
	uint8_t mark;
	bool same_pfn; /* every page is the same physical page (the zero page) */
};

/* -p: pages without a page behind them, gathered into one line */
struct vm_absent {
	bool open;
	enum vm_page_state st;
	uint64_t vaddr;
	size_t npages;
};

/* Where a mapping's page lines stand between runs. */
struct vm_lines {
	struct vm_range range;
	struct vm_absent absent;
};

/* The mapping's line (and with -p the page lines' column header), or its JSON members. */
void vm_print_mapping(struct vm_job *job, const struct ms_vma *vma, const struct ms_vma *s,
		      bool first);
/* The lines of one run of the mapping's pages; vm_lines_end after the last. */
void vm_lines_run(struct vm_job *job, const struct ms_vma *vma, const struct ms_page_run *run,
		  struct vm_lines *l);
void vm_lines_end(struct vm_job *job, const struct ms_vma *vma, struct vm_lines *l);
/* The line of a mapping in no page table (the vsyscall page). */
void vm_lines_not_accessible(struct vm_job *job, const struct ms_vma *vma, uint64_t npages);

/*
 * Shared with vm on a core and vtop. o NULL: through stdio. A mapping's
 * line, START END FLAGS FILE, flags its FLAGS column ("?" when unknown),
 * and the column header over such lines.
 */
void vm_mapping_header(struct out_buf *o);
void vm_mapping_line(struct out_buf *o, const struct ms_vma *vma, const char *flags);
/*
 * A mapping's JSON members: flags NULL when unknown, vmflags (smaps'
 * VmFlags) NULL to leave out, perms null unless perms_known.
 */
void vm_json_mapping(struct json *j, const struct ms_vma *vma, const uint64_t *flags,
		     const char *vmflags, bool perms_known);
/* "FILE: path  OFFSET: x" for a file page of vma not mapped in at vaddr. */
void vm_file_text(struct out_buf *o, const struct ms_vma *vma, uint64_t vaddr);
/* "SWAP: device  OFFSET: n" (area NULL: the swap type instead). */
void vm_swap_text(struct out_buf *o, const struct ms_swap_area *area, uint64_t entry);

/* ---- cmd_vm_summary.c: --summary ---- */

/* Counting one mapping: its page-cache view when it maps a file. */
struct vm_tally {
	bool file, fc_ok, ksm_from_smaps;
	bool shared_from_smaps; /* not where memscope maps the file too */
	struct ms_filecache fc;
	uint8_t *vec;
};

void vm_summary_begin(struct vm_job *job, const struct ms_vma *vma, const struct ms_vma *s,
		      struct vm_counts *c, struct vm_tally *t);
void vm_summary_run(struct vm_job *job, const struct ms_page_run *run, struct vm_counts *c,
		    struct vm_tally *t);
/* After the last run: what smaps counts better than pagemap. */
void vm_summary_end(struct vm_job *job, const struct ms_vma *s, struct vm_counts *c,
		    struct vm_tally *t);
/* The column header, a mapping's counts (added to the total), the total. */
void vm_summary_header(struct vm_job *job);
void vm_summary_print(struct vm_job *job, const struct ms_vma *vma, const struct vm_counts *c);
void vm_summary_total(struct vm_job *job);

#endif
