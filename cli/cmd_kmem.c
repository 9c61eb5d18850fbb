/* SPDX-License-Identifier: MIT */
/*
 * kmem -i: crash's memory summary, from /proc/meminfo and the hugetlb pools
 * instead of the kernel's own variables. Other kmem flags of crash walk
 * kernel data structures and are not offered.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../lib/sysmem.h"
#include "commands.h"

enum { OF_NONE, OF_MEM, OF_HUGE, OF_SWAP, OF_LIMIT };

struct kmem_row {
	const char *label; /* as crash prints it */
	const char *key;   /* JSON key */
	uint64_t pages;
	int of; /* what the percentage is of */
	bool blank_before;
};

/* The meminfo lines the summary is made of; a missing one is said, not hidden. */
static const enum ms_meminfo_field needed[] = {
	MS_MI_MEM_FREE, MS_MI_SHMEM,	  MS_MI_BUFFERS,      MS_MI_CACHED,
	MS_MI_SLAB,	MS_MI_SWAP_TOTAL, MS_MI_COMMIT_LIMIT, MS_MI_COMMITTED_AS,
};

/* crash's style: "23.6 GB", "816.3 MB", "2 GB", "0". */
static const char *crash_size(char *buf, size_t len, uint64_t bytes)
{
	static const char *const units[] = {"KB", "MB", "GB", "TB", "PB"};
	if (!bytes) {
		snprintf(buf, len, "0");
		return buf;
	}
	double v = (double)bytes / 1024;
	int u = 0;
	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (v == (double)(uint64_t)v)
		snprintf(buf, len, "%" PRIu64 " %s", (uint64_t)v, units[u]);
	else
		snprintf(buf, len, "%.1f %s", v, units[u]);
	return buf;
}

int cmd_kmem(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option options[] = {{"info", no_argument, NULL, 'i'},
						{NULL, 0, NULL, 0}};
	bool info = false;
	int c;
	while ((c = getopt_long(argc, argv, "+i", options, NULL)) != -1) {
		if (c == 'i')
			info = true;
		else
			return cli_usage(ctx, "unknown option");
	}
	if (optind < argc)
		return cli_usage(ctx, "unexpected argument '%s'", argv[optind]);
	if (!info)
		return cli_usage(ctx, "only -i is available: the other flags of crash's kmem "
				      "need the kernel's own data structures");

	struct ms_meminfo mi;
	struct ms_error *err = ms_meminfo_read(NULL, &mi);
	if (err)
		return cli_error(ctx, err);
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t huge_total, huge_free; /* every pool, as crash sums every hstate */
	err = ms_hugetlb_pages(NULL, &mi, page, &huge_total, &huge_free);
	if (err)
		return cli_error(ctx, err);

#define PG(f) (mi.v[f] / page)
	uint64_t total = PG(MS_MI_MEM_TOTAL), freep = PG(MS_MI_MEM_FREE);
	uint64_t swap_total = PG(MS_MI_SWAP_TOTAL), swap_free = PG(MS_MI_SWAP_FREE);
	struct kmem_row rows[] = {
		{"TOTAL MEM", "total_mem", total, OF_NONE, false},
		{"FREE", "free", freep, OF_MEM, false},
		{"USED", "used", total - freep, OF_MEM, false},
		{"SHARED", "shared", PG(MS_MI_SHMEM), OF_MEM, false},
		{"BUFFERS", "buffers", PG(MS_MI_BUFFERS), OF_MEM, false},
		{"CACHED", "cached", PG(MS_MI_CACHED), OF_MEM, false},
		{"SLAB", "slab", PG(MS_MI_SLAB), OF_MEM, false},
		{"TOTAL HUGE", "total_huge", huge_total, OF_NONE, true},
		{"HUGE FREE", "huge_free", huge_free, OF_HUGE, false},
		{"TOTAL SWAP", "total_swap", swap_total, OF_NONE, true},
		{"SWAP USED", "swap_used", swap_total - swap_free, OF_SWAP, false},
		{"SWAP FREE", "swap_free", swap_free, OF_SWAP, false},
		{"COMMIT LIMIT", "commit_limit", PG(MS_MI_COMMIT_LIMIT), OF_NONE, true},
		{"COMMITTED", "committed", PG(MS_MI_COMMITTED_AS), OF_LIMIT, false},
	};
#undef PG
	static const char *const of_names[] = {"", "TOTAL MEM", "TOTAL HUGE", "TOTAL SWAP",
					       "TOTAL LIMIT"};
	uint64_t of_totals[] = {0, total, huge_total, swap_total, rows[12].pages};
	size_t nrows = sizeof(rows) / sizeof(rows[0]);

	if (ctx->session->json) {
		struct json *j = &ctx->json;
		json_begin_object(j);
		json_kv_u64(j, "page_size", page);
		for (size_t i = 0; i < nrows; i++) {
			json_key(j, rows[i].key);
			json_begin_object(j);
			json_kv_u64(j, "pages", rows[i].pages);
			json_kv_u64(j, "bytes", rows[i].pages * page);
			if (rows[i].of != OF_NONE) {
				uint64_t t = of_totals[rows[i].of];
				json_kv_u64(j, "percent", t ? rows[i].pages * 100 / t : 0);
				json_kv_string(j, "of", of_names[rows[i].of]);
			}
			json_end_object(j);
		}
		json_key(j, "missing");
		json_begin_array(j);
		for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++)
			if (!ms_meminfo_has(&mi, needed[i]))
				json_string(j, ms_meminfo_key(needed[i]));
		json_end_array(j);
		json_end_object(j);
		json_finish(j);
		return CLI_OK;
	}
	printf("%14s %10s %12s   %s\n", "", "PAGES", "TOTAL", "PERCENTAGE");
	for (size_t i = 0; i < nrows; i++) {
		char size[32], pct[40];
		if (rows[i].blank_before)
			putchar('\n');
		if (rows[i].of == OF_NONE) {
			snprintf(pct, sizeof(pct), "    ----");
		} else {
			uint64_t t = of_totals[rows[i].of];
			snprintf(pct, sizeof(pct), "%3" PRIu64 "%% of %s",
				 t ? rows[i].pages * 100 / t : 0, of_names[rows[i].of]);
		}
		printf("%14s %10" PRIu64 " %12s  %s\n", rows[i].label, rows[i].pages,
		       crash_size(size, sizeof(size), rows[i].pages * page), pct);
	}
	for (size_t i = 0; i < sizeof(needed) / sizeof(needed[0]); i++)
		if (!ms_meminfo_has(&mi, needed[i]))
			cli_warn(ctx, "/proc/meminfo has no %s line: shown as 0",
				 ms_meminfo_key(needed[i]));
	return CLI_OK;
}
