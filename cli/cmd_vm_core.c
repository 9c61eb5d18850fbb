/* SPDX-License-Identifier: MIT */
/*
 * vm on a core file: the mappings as crash's vm prints them, and with -p,
 * where each page's bytes are instead of a physical address: in the core (at
 * which offset, or as a hole of zeros), in the mapped file on disk, or
 * nowhere. The core backend (core.h) says where; this file only prints.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "../lib/core.h"
#include "../lib/maps.h"
#include "../lib/target.h"
#include "cmd_vm.h"
#include "commands.h"

enum { VM_PAGE = 4096 };

struct core_counts {
	uint64_t size, data, holes, file, none;
};

enum where { W_CORE, W_HOLE, W_FILE, W_NONE };

static enum where where_of(const struct ms_core_extent *e)
{
	switch (e->source) {
	case MS_CORE_SRC_CORE:
		return e->hole ? W_HOLE : W_CORE;
	case MS_CORE_SRC_FILE:
		return W_FILE;
	default:
		return W_NONE;
	}
}

static const char *where_name(enum where w)
{
	static const char *const names[] = {"core", "hole", "file", "none"};
	return names[w];
}

/* The kernel's VM_READ/WRITE/EXEC bits: all a core records of the flags. */
static uint64_t vma_flags(const struct ms_vma *v)
{
	return v->vm_flags & (MS_VM_READ | MS_VM_WRITE | MS_VM_EXEC);
}

static void print_mapping(const struct ms_vma *v, bool column_header)
{
	if (column_header)
		vm_mapping_header(NULL);
	char flags[24];
	if (v->prot_unknown)
		snprintf(flags, sizeof(flags), "?");
	else
		snprintf(flags, sizeof(flags), "%" PRIx64, vma_flags(v));
	vm_mapping_line(NULL, v, flags);
}

static void json_mapping(struct json *j, const struct ms_vma *v)
{
	uint64_t flags = vma_flags(v);
	vm_json_mapping(j, v, v->prot_unknown ? NULL : &flags, NULL, !v->prot_unknown);
	json_kv_hex(j, "core_offset", v->core_offset);
	json_kv_hex(j, "core_size", v->core_filesz);
}

/* One line (or JSON object) for npages pages from vaddr, all alike. */
static void print_run(struct cli_ctx *ctx, const struct ms_core_extent *e, uint64_t vaddr,
		      uint64_t end, uint64_t npages, bool ranges)
{
	enum where w = where_of(e);
	uint64_t off = e->offset + (vaddr - e->start);
	if (ctx->session->json) {
		struct json *j = &ctx->json;
		json_begin_object(j);
		json_kv_hex(j, "vaddr", vaddr);
		json_kv_string(j, "state", where_name(w));
		if (w == W_CORE || w == W_HOLE || w == W_FILE)
			json_kv_hex(j, "offset", off);
		if (w == W_FILE)
			json_kv_string(j, "file", e->path);
		if (w == W_NONE && e->why)
			json_kv_string(j, "why", e->why);
		if (npages > 1)
			json_kv_u64(j, "pages", npages);
		json_end_object(j);
		return;
	}
	if (ranges)
		printf("%12" PRIx64 "-%-12" PRIx64 " %9" PRIu64 "  ", vaddr, end, npages);
	else
		printf("%-10" PRIx64 "  ", vaddr);
	switch (w) {
	case W_CORE:
		if (ranges)
			printf("in core at offset %" PRIx64 "-%" PRIx64, off, off + (end - vaddr));
		else
			printf("in core at offset %" PRIx64, off);
		break;
	case W_HOLE:
		printf("in core at offset %" PRIx64 ": a hole, zeros (never touched)", off);
		break;
	case W_FILE:
		printf("FILE: %s  OFFSET: %" PRIx64, e->path, off);
		break;
	case W_NONE:
		if (e->why)
			printf("(not in core: %s)", e->why);
		else
			printf("(not in core)");
		break;
	}
	if (!ranges && npages > 1)
		printf("  [%" PRIu64 " pages, to %" PRIx64 "]", npages, end);
	putchar('\n');
}

static void count(struct core_counts *c, enum where w, uint64_t bytes)
{
	uint64_t *slot[] = {&c->data, &c->holes, &c->file, &c->none};
	*slot[w] += bytes;
}

/* The pages of one mapping, extent by extent (each extent is one source). */
static struct ms_error *walk(struct cli_ctx *ctx, struct ms_target *t, const struct ms_vma *v,
			     bool pages, bool ranges, bool all_pages, struct core_counts *c)
{
	c->size = v->end - v->start;
	for (uint64_t a = v->start; a < v->end && !cli_interrupted;) {
		struct ms_core_extent e;
		struct ms_error *err = ms_target_core_extent(t, a, &e);
		if (err)
			return err;
		uint64_t end = e.end < v->end ? e.end : v->end;
		enum where w = where_of(&e);
		count(c, w, end - a);
		if (pages) {
			/* real cores switch source at page boundaries; a hand-made one
			 * may not, and then a line starts mid-page, where the change is */
			uint64_t n = (end - (a & ~(uint64_t)(VM_PAGE - 1)) + VM_PAGE - 1) / VM_PAGE;
			if (ranges || (!all_pages && w != W_CORE)) {
				print_run(ctx, &e, a, end, n, ranges);
			} else {
				uint64_t p = a;
				for (uint64_t i = 0; i < n && !cli_interrupted; i++) {
					uint64_t next = (p & ~(uint64_t)(VM_PAGE - 1)) + VM_PAGE;
					print_run(ctx, &e, p, next < end ? next : end, 1, false);
					p = next;
				}
			}
		}
		a = end;
	}
	return NULL;
}

static void print_counts_text(const struct core_counts *c)
{
	printf(" %9" PRIu64 "k %9" PRIu64 "k %9" PRIu64 "k %9" PRIu64 "k %9" PRIu64 "k",
	       c->size >> 10, c->data >> 10, c->holes >> 10, c->file >> 10, c->none >> 10);
}

static void json_counts(struct json *j, const struct core_counts *c)
{
	json_kv_u64(j, "size_bytes", c->size);
	json_kv_u64(j, "in_core_bytes", c->data);
	json_kv_u64(j, "hole_bytes", c->holes);
	json_kv_u64(j, "from_file_bytes", c->file);
	json_kv_u64(j, "not_in_core_bytes", c->none);
}

int cli_vm_core(struct cli_ctx *ctx, struct ms_target *t, bool pages, bool ranges, bool summary,
		bool all_pages)
{
	const struct ms_maps *maps;
	struct ms_error *err = ms_target_maps(t, MS_MAPS_BASIC, &maps);
	if (err)
		return cli_error(ctx, err);
	/* TOTAL_VM as the kernel counts it; IN CORE: the bytes the core holds
	 * (holes aside), the nearest a core comes to the RSS at the dump */
	uint64_t total_vm = 0, in_core = 0;
	for (size_t i = 0; i < maps->count; i++) {
		const struct ms_vma *v = &maps->vmas[i];
		total_vm += v->end - v->start;
	}
	struct ms_core *core = ms_target_core(t);
	size_t nsegs;
	const struct ms_core_segment *segs = ms_core_segments(core, &nsegs);
	for (size_t i = 0; i < nsegs; i++) {
		uint64_t off = segs[i].offset, end = off + segs[i].filesz;
		while (off < end) {
			bool hole;
			uint64_t next;
			err = ms_core_hole_at(core, off, end, &hole, &next);
			if (err)
				return cli_error(ctx, err);
			if (!hole)
				in_core += next - off;
			off = next;
		}
	}
	struct json *j = ctx->session->json ? &ctx->json : NULL;
	if (j) {
		json_begin_object(j);
		json_kv_i64(j, "pid", ms_target_pid(t));
		json_kv_string(j, "command", ms_target_comm(t));
		json_kv_string(j, "dumpfile", ms_target_core_path(t));
		json_kv_u64(j, "in_core_bytes", in_core);
		json_kv_u64(j, "total_vm_bytes", total_vm);
		json_kv_u64(j, "page_size", VM_PAGE);
		json_key(j, "mappings");
		json_begin_array(j);
	} else {
		printf("PID: %-8d COMMAND: \"%s\"  DUMPFILE: %s\n", (int)ms_target_pid(t),
		       ms_target_comm(t), ms_target_core_path(t));
		printf("%8s  %10s\n", "IN CORE", "TOTAL_VM");
		printf("%7" PRIu64 "k  %9" PRIu64 "k\n", in_core >> 10, total_vm >> 10);
		if (summary)
			printf("%12s %12s %10s %10s %10s %10s %10s %s\n", "START", "END", "SIZE",
			       "IN CORE", "HOLES", "FROM FILE", "NOT IN", "FILE");
		else if (!pages)
			vm_mapping_header(NULL);
	}
	struct core_counts total = {0};
	for (size_t i = 0; i < maps->count && !err && !cli_interrupted; i++) {
		const struct ms_vma *v = &maps->vmas[i];
		struct core_counts c = {0};
		if (j) {
			json_begin_object(j);
			json_mapping(j, v);
			if (pages) {
				json_key(j, "pages");
				json_begin_array(j);
			}
		} else if (pages) {
			print_mapping(v, true);
			if (ranges)
				printf("%-25s %9s  %s\n", "VIRTUAL", "PAGES", "WHERE");
			else
				printf("%-10s  %s\n", "VIRTUAL", "WHERE");
		} else if (!summary) {
			print_mapping(v, false);
		}
		if (pages || summary)
			err = walk(ctx, t, v, pages, ranges, all_pages, &c);
		if (j) {
			if (pages)
				json_end_array(j);
			if (summary && !err)
				json_counts(j, &c);
			json_end_object(j);
		} else if (pages) {
			putchar('\n');
		} else if (summary && !err) {
			printf("%12" PRIx64 " %12" PRIx64, v->start, v->end);
			print_counts_text(&c);
			printf(" %s%s\n", v->name ? v->name : "", v->deleted ? " (deleted)" : "");
		}
		total.size += c.size;
		total.data += c.data;
		total.holes += c.holes;
		total.file += c.file;
		total.none += c.none;
	}
	if (j) {
		json_end_array(j);
		if (summary && !err) {
			json_key(j, "total");
			json_begin_object(j);
			json_counts(j, &total);
			json_end_object(j);
		}
		if (err)
			json_kv_string(j, "error", err->message);
		json_end_object(j);
		json_finish(j);
	} else if (summary && !err) {
		printf("%12s %12s", "TOTAL", "");
		print_counts_text(&total);
		printf("\n\nIN CORE: bytes the core holds; HOLES: pages the core skipped (never\n"
		       "touched, or the zero page: they read as zeros); FROM FILE: not in the "
		       "core,\n"
		       "read from the mapped file; NOT IN: in neither (left out of the dump).\n");
	}
	return err ? cli_error(ctx, err) : CLI_OK;
}
