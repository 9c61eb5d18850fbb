/* SPDX-License-Identifier: MIT */
/*
 * ptov: crash's physical-to-virtual, for user memory: every process and
 * virtual address that maps a physical address, and what the page is.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/pagemap.h"
#include "../lib/proclist.h"
#include "../lib/ptov.h"
#include "commands.h"

struct ptov_out {
	struct cli_ctx *ctx;
	struct json *json;
	struct progress progress;
	bool progress_started;
	bool header_done;
	pid_t comm_pid;
	char comm[17];
};

static void on_progress(void *arg, size_t done, size_t total)
{
	struct ptov_out *o = arg;
	if (!o->progress_started) {
		progress_start(&o->progress, "ptov", total, false);
		o->progress_started = true;
	}
	progress_update(&o->progress, done);
}

static const char *comm_of(struct ptov_out *o, pid_t pid)
{
	if (o->comm_pid != pid) {
		struct ms_procinfo info;
		struct ms_error *err = ms_proc_read(pid, 0, MS_PROC_STAT, &info);
		if (err) {
			ms_error_destroy(err);
			snprintf(o->comm, sizeof(o->comm), "?");
		} else {
			snprintf(o->comm, sizeof(o->comm), "%s", info.comm);
		}
		o->comm_pid = pid;
	}
	return o->comm;
}

static bool on_hit(void *arg, const struct ms_ptov_hit *hit)
{
	struct ptov_out *o = arg;
	const struct ms_vma *vma = hit->vma;
	char perms[5] = "----";
	if (vma)
		ms_vma_perms(vma, perms);
	const char *name = !vma ? "?" : vma->name ? vma->name : "[anon]";
	if (o->json) {
		struct json *j = o->json;
		json_begin_object(j);
		json_kv_i64(j, "pid", hit->pid);
		json_kv_string(j, "comm", comm_of(o, hit->pid));
		json_kv_hex(j, "virtual", hit->vaddr);
		if (vma) {
			json_kv_hex(j, "vma_start", vma->start);
			json_kv_hex(j, "vma_end", vma->end);
			json_kv_string(j, "perms", perms);
			json_kv_string(j, "name", vma->name);
			json_kv_hex(j, "file_offset",
				    vma->offset + (hit->vaddr - vma->start) / ms_page_size() *
							  ms_page_size());
		}
		json_kv_bool(j, "exclusive", hit->entry & MS_PM_EXCLUSIVE);
		json_kv_bool(j, "file_or_shared", hit->entry & MS_PM_FILE);
		json_kv_bool(j, "memscope_itself", hit->pid == getpid());
		json_end_object(j);
		return true;
	}
	if (o->progress.active)
		fputs("\r\033[K", stderr);
	if (!o->header_done) {
		printf("\n    PID  COMMAND           VIRTUAL           PERMS  MAPPING\n");
		o->header_done = true;
	}
	char where[4200];
	if (vma && vma->kind == MS_VMA_FILE)
		snprintf(where, sizeof(where), "%s%s  offset 0x%" PRIx64, name,
			 vma->deleted ? " (deleted)" : "",
			 vma->offset + (hit->vaddr - vma->start) / ms_page_size() * ms_page_size());
	else
		snprintf(where, sizeof(where), "%s", name);
	/* memscope maps libraries too: its own mapping counts in the map count */
	printf("%7d  %-16s  %-16" PRIx64 "  %s   %s%s\n", (int)hit->pid, comm_of(o, hit->pid),
	       hit->vaddr, perms, where, hit->pid == getpid() ? "  (this memscope)" : "");
	return true;
}

static int one(struct cli_ctx *ctx, uint64_t paddr, bool full, bool first)
{
	struct ptov_out o = {.ctx = ctx, .json = ctx->session->json ? &ctx->json : NULL};
	struct ms_ptov_params params = {.paddr = paddr,
					.full_scan = full,
					.stop = &cli_interrupted,
					.progress = on_progress};
	struct ms_page_info page;
	struct ms_error *err = ms_page_info_read(paddr / ms_page_size(), &page);
	if (err) {
		if (o.json) { /* the document stays whole: this address gets its error */
			json_begin_object(o.json);
			json_kv_hex(o.json, "physical", paddr);
			json_kv_string(o.json, "error", err->message);
			json_end_object(o.json);
		}
		return cli_error(ctx, err);
	}
	char flags[512];
	ms_kpf_names(page.flags, flags, sizeof(flags));
	if (o.json) {
		struct json *j = o.json;
		json_begin_object(j);
		json_kv_hex(j, "physical", paddr);
		json_kv_hex(j, "pfn", page.pfn);
		json_kv_u64(j, "mapcount", page.mapcount);
		json_kv_hex(j, "kpageflags", page.flags);
		json_key(j, "flags");
		json_begin_array(j);
		for (unsigned b = 0; b < 64; b++)
			if (page.flags & MS_KPF(b)) {
				char unnamed[16];
				snprintf(unnamed, sizeof(unnamed), "bit%u", b);
				json_string(j, ms_kpf_name(b) ? ms_kpf_name(b) : unnamed);
			}
		json_end_array(j);
		json_kv_string(j, "what", ms_kpf_describe(page.flags));
		json_key(j, "mappings");
		json_begin_array(j);
	} else {
		if (!first)
			putchar('\n');
		printf("PHYSICAL          PFN           MAPCOUNT  FLAGS\n");
		printf("%-16" PRIx64 "  %-12" PRIx64 "  %-8" PRIu64 "  %s\n", paddr, page.pfn,
		       page.mapcount, *flags ? flags : "(none)");
		fflush(stdout);
	}
	struct ms_ptov_stats stats;
	err = ms_ptov(&params, on_hit, &o, &stats);
	if (o.progress_started)
		progress_end(&o.progress);
	if (o.json) {
		struct json *j = o.json;
		json_end_array(j);
		json_kv_u64(j, "found", stats.found);
		json_kv_u64(j, "processes", stats.processes);
		json_kv_u64(j, "scanned", stats.scanned);
		json_kv_u64(j, "unreadable", stats.denied);
		json_kv_u64(j, "vanished", stats.vanished);
		json_kv_u64(j, "pages_read", stats.pages_read);
		json_kv_u64(j, "mappings_skipped", stats.mappings_skipped);
		json_kv_bool(j, "complete", stats.complete);
		json_kv_bool(j, "stopped_early", stats.stopped_early);
		if (err) {
			json_key(j, "error");
			json_string(j, err->message);
		}
		json_end_object(j);
	} else if (!err && !stats.found) {
		printf("(not mapped by any process: %s)\n", ms_kpf_describe(page.flags));
	}
	if (err)
		return err->code == MS_ERROR_INTERRUPTED ? (ms_error_destroy(err), CLI_PARTIAL)
							 : cli_error(ctx, err);
	if (stats.denied) {
		cli_warn(ctx, "%zu process%s could not be read: their mappings are not shown",
			 stats.denied, stats.denied == 1 ? "" : "es");
		return CLI_PARTIAL;
	}
	return CLI_OK;
}

int cmd_ptov(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"all", no_argument, NULL, 'a'},
		{NULL, 0, NULL, 0},
	};
	bool full = false;
	int c;
	opterr = 0; /* our own message, once */
	while ((c = getopt_long(argc, argv, "a", longopts, NULL)) != -1) {
		if (c == 'a')
			full = true;
		else
			return cli_usage(ctx, "invalid option or missing value: %s",
					 argv[optind - 1]);
	}
	if (optind >= argc)
		return cli_usage(ctx, "a physical address is needed");
	uint64_t *addrs = calloc((size_t)(argc - optind), sizeof(*addrs));
	if (!addrs)
		return cli_error(ctx, &ms_error_no_memory);
	int n = 0;
	for (int i = optind; i < argc; i++) {
		if (!out_parse_addr(argv[i], &addrs[n])) {
			free(addrs);
			return cli_usage(ctx, "invalid physical address: %s (hexadecimal)",
					 argv[i]);
		}
		n++;
	}
	int status = CLI_OK;
	bool json = ctx->session->json;
	if (json && n > 1)
		json_begin_array(&ctx->json);
	for (int i = 0; i < n && !cli_interrupted; i++) {
		int s = one(ctx, addrs[i], full, i == 0);
		if (s > status)
			status = s;
	}
	if (json && n > 1)
		json_end_array(&ctx->json);
	if (json)
		json_finish(&ctx->json);
	free(addrs);
	return status;
}
