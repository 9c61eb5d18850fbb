/* SPDX-License-Identifier: MIT */
/*
 * ps: crash's process list from user space, with where the memory goes:
 * RSS, PSS, shared and private, swap and transparent huge pages, from each
 * process's smaps_rollup. Processes that exit meanwhile are skipped.
 */
#include <fnmatch.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/proclist.h"
#include "../lib/sysmem.h"
#include "commands.h"
#include "../lib/grow.h"

enum sort_key { SORT_PID, SORT_RSS, SORT_PSS, SORT_SWAP, SORT_VSZ, SORT_THP, SORT_PRIVATE };

struct ps {
	struct cli_ctx *ctx;
	bool threads, kernel_only, user_only;
	enum sort_key sort;
	char **filters;
	int nfilters;
	uint64_t mem_total;
	struct ms_procinfo *rows;
	size_t nrows, cap;
	size_t denied, vanished;
};

/* crash's two-letter task states */
static const char *state_name(char s)
{
	switch (s) {
	case 'R':
		return "RU";
	case 'S':
		return "IN";
	case 'D':
		return "UN";
	case 'Z':
		return "ZO";
	case 'T':
		return "ST";
	case 't':
		return "TR";
	case 'X':
	case 'x':
		return "DE";
	case 'I':
		return "ID";
	case 'P':
		return "PA";
	case 'W':
		return "WA";
	case 'K':
		return "WA";
	default:
		return "??";
	}
}

static bool wanted(const struct ps *ps, const struct ms_procinfo *p)
{
	if (ps->kernel_only && !p->kernel_thread)
		return false;
	if (ps->user_only && p->kernel_thread)
		return false;
	if (!ps->nfilters)
		return true;
	for (int i = 0; i < ps->nfilters; i++) {
		const char *f = ps->filters[i];
		pid_t pid;
		if (cli_parse_pid(f, &pid)) {
			if (pid == p->pid || pid == p->tid)
				return true;
		} else if (fnmatch(f, p->comm, 0) == 0) {
			return true;
		}
	}
	return false;
}

static bool add_row(struct ps *ps, const struct ms_procinfo *p)
{
	struct ms_procinfo *grown = ms_grow(ps->rows, ps->nrows, &ps->cap, sizeof(*grown), 256);
	if (!grown)
		return false;
	ps->rows = grown;
	ps->rows[ps->nrows++] = *p;
	return true;
}

static uint64_t shared_of(const struct ms_procinfo *p)
{
	return p->rollup.shared_clean + p->rollup.shared_dirty;
}

static uint64_t private_of(const struct ms_procinfo *p)
{
	return p->rollup.private_clean + p->rollup.private_dirty;
}

static uint64_t rss_of(const struct ms_procinfo *p)
{
	return p->has_rollup ? p->rollup.rss : p->rss;
}

static uint64_t swap_of(const struct ms_procinfo *p)
{
	return p->has_rollup ? p->rollup.swap : p->swap;
}

static uint64_t sort_value(const struct ps *ps, const struct ms_procinfo *p)
{
	switch (ps->sort) {
	case SORT_RSS:
		return rss_of(p);
	case SORT_PSS:
		return p->rollup.pss;
	case SORT_SWAP:
		return swap_of(p);
	case SORT_VSZ:
		return p->vsz;
	case SORT_THP:
		return p->rollup.anon_huge;
	case SORT_PRIVATE:
		return private_of(p);
	default:
		return 0;
	}
}

static const struct ps *sorting;

static int row_cmp(const void *a, const void *b)
{
	const struct ms_procinfo *x = a, *y = b;
	uint64_t vx = sort_value(sorting, x), vy = sort_value(sorting, y);
	if (vx != vy)
		return vx > vy ? -1 : 1;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return x->tid < y->tid ? -1 : x->tid > y->tid;
}

static struct ms_error *collect(struct ps *ps)
{
	pid_t *pids;
	size_t npids;
	struct ms_error *err = ms_proc_list(&pids, &npids);
	if (err)
		return err;
	for (size_t i = 0; i < npids && !cli_interrupted; i++) {
		struct ms_procinfo info;
		err = ms_proc_read(pids[i], 0, MS_PROC_STAT, &info);
		if (err && err->code == MS_ERROR_NOT_FOUND) {
			ms_error_destroy(err);
			err = NULL;
			ps->vanished++;
			continue;
		}
		if (err)
			break;
		bool any = wanted(ps, &info);
		pid_t *tids = NULL;
		size_t ntids = 0;
		if (ps->threads) {
			struct ms_error *terr = ms_proc_threads(pids[i], &tids, &ntids);
			if (terr) {
				ms_error_destroy(terr); /* gone meanwhile */
				continue;
			}
			for (size_t t = 0; t < ntids && !any; t++) {
				struct ms_procinfo ti = info;
				ti.tid = tids[t];
				any = wanted(ps, &ti);
			}
		}
		if (!any) {
			free(tids);
			continue;
		}
		/*
		 * smaps_rollup walks the page tables: only for processes we show.
		 * A process in the middle of exec or exit has no memory to show
		 * for a moment; it is listed without the breakdown.
		 */
		if (!info.kernel_thread) {
			struct ms_procinfo mem;
			struct ms_error *merr = ms_proc_read(pids[i], 0, MS_PROC_ROLLUP, &mem);
			if (!merr) {
				info.has_rollup = mem.has_rollup;
				info.rollup_denied = mem.rollup_denied;
				info.rollup = mem.rollup;
			}
			ms_error_destroy(merr);
		}
		if (info.rollup_denied)
			ps->denied++;
		if (!ps->threads) {
			if (!add_row(ps, &info))
				err = &ms_error_no_memory;
		}
		for (size_t t = 0; t < ntids && !err; t++) {
			struct ms_procinfo ti;
			struct ms_error *terr = ms_proc_read(pids[i], tids[t], MS_PROC_STAT, &ti);
			if (terr) {
				ms_error_destroy(terr);
				continue;
			}
			/* threads share their process's memory */
			ti.has_rollup = info.has_rollup;
			ti.rollup_denied = info.rollup_denied;
			ti.rollup = info.rollup;
			if (wanted(ps, &ti) || wanted(ps, &info))
				if (!add_row(ps, &ti))
					err = &ms_error_no_memory;
		}
		free(tids);
		if (err)
			break;
	}
	free(pids);
	return err;
}

static void kib(char *buf, uint64_t bytes, bool known)
{
	if (known)
		snprintf(buf, 24, "%" PRIu64, bytes / 1024);
	else
		snprintf(buf, 24, "-");
}

static void print_text(const struct ps *ps)
{
	printf("      PID    PPID  CPU  ST  %%MEM       VSZ       RSS       PSS    SHARED   PRIVATE"
	       "      SWAP       THP  COMM\n");
	for (size_t i = 0; i < ps->nrows; i++) {
		const struct ms_procinfo *p = &ps->rows[i];
		bool r = p->has_rollup;
		char vsz[24], rss[24], pss[24], shr[24], prv[24], swp[24], thp[24];
		kib(vsz, p->vsz, true);
		kib(rss, rss_of(p), true);
		kib(pss, p->rollup.pss, r || p->kernel_thread);
		kib(shr, shared_of(p), r || p->kernel_thread);
		kib(prv, private_of(p), r || p->kernel_thread);
		kib(swp, swap_of(p), true);
		kib(thp, p->rollup.anon_huge, r || p->kernel_thread);
		double pct = ps->mem_total ? 100.0 * (double)rss_of(p) / (double)ps->mem_total : 0;
		char comm[24];
		snprintf(comm, sizeof(comm), p->kernel_thread ? "[%s]" : "%s", p->comm);
		printf("%c%8d %7d %4d  %s %5.1f %9s %9s %9s %9s %9s %9s %9s  %s\n",
		       p->state == 'R' ? '>' : ' ', (int)p->tid, (int)p->ppid, p->cpu,
		       state_name(p->state), pct, vsz, rss, pss, shr, prv, swp, thp, comm);
	}
}

static void print_json(struct ps *ps)
{
	struct json *j = &ps->ctx->json;
	json_begin_object(j);
	json_key(j, "processes");
	json_begin_array(j);
	uint64_t total_rss = 0, total_pss = 0, total_swap = 0;
	for (size_t i = 0; i < ps->nrows; i++) {
		const struct ms_procinfo *p = &ps->rows[i];
		json_begin_object(j);
		json_kv_i64(j, "pid", p->tid);
		if (ps->threads)
			json_kv_i64(j, "tgid", p->pid);
		json_kv_i64(j, "ppid", p->ppid);
		json_kv_i64(j, "uid", p->uid);
		json_kv_i64(j, "cpu", p->cpu);
		char st[2] = {p->state, 0};
		json_kv_string(j, "state", st);
		json_kv_string(j, "st", state_name(p->state));
		json_kv_string(j, "comm", p->comm);
		json_kv_bool(j, "kernel_thread", p->kernel_thread);
		json_kv_u64(j, "vsz", p->vsz);
		json_kv_u64(j, "rss", rss_of(p));
		json_kv_u64(j, "swap", swap_of(p));
		json_kv_double(j, "mem_percent",
			       ps->mem_total ? 100.0 * (double)rss_of(p) / (double)ps->mem_total
					     : 0);
		json_kv_bool(j, "detail", p->has_rollup);
		if (p->has_rollup) {
			json_kv_u64(j, "pss", p->rollup.pss);
			json_kv_u64(j, "shared", shared_of(p));
			json_kv_u64(j, "private", private_of(p));
			json_kv_u64(j, "thp", p->rollup.anon_huge);
			json_kv_u64(j, "shared_clean", p->rollup.shared_clean);
			json_kv_u64(j, "shared_dirty", p->rollup.shared_dirty);
			json_kv_u64(j, "private_clean", p->rollup.private_clean);
			json_kv_u64(j, "private_dirty", p->rollup.private_dirty);
			json_kv_u64(j, "anonymous", p->rollup.anonymous);
			json_kv_u64(j, "swap_pss", p->rollup.swap_pss);
			json_kv_u64(j, "shmem_pmd", p->rollup.shmem_pmd);
			json_kv_u64(j, "file_pmd", p->rollup.file_pmd);
			json_kv_u64(j, "locked", p->rollup.locked);
		} else {
			json_kv_null(j, "pss");
			json_kv_null(j, "shared");
			json_kv_null(j, "private");
			json_kv_null(j, "thp");
		}
		json_end_object(j);
		if (p->tid == p->pid) {
			total_rss += rss_of(p);
			total_pss += p->rollup.pss;
			total_swap += swap_of(p);
		}
	}
	json_end_array(j);
	json_kv_u64(j, "count", ps->nrows);
	json_kv_u64(j, "unreadable", ps->denied);
	json_kv_u64(j, "memory_total", ps->mem_total);
	json_kv_u64(j, "rss_total", total_rss);
	json_kv_u64(j, "pss_total", total_pss);
	json_kv_u64(j, "swap_total", total_swap);
	json_end_object(j);
	json_finish(j);
}

int cmd_ps(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"threads", no_argument, NULL, 'L'},
		{"sort", required_argument, NULL, 'S'},
		{NULL, 0, NULL, 0},
	};
	struct ps ps = {.ctx = ctx};
	int c;
	opterr = 0; /* our own message, once */
	while ((c = getopt_long(argc, argv, "LkuGS:", longopts, NULL)) != -1) {
		switch (c) {
		case 'L':
			ps.threads = true;
			break;
		case 'k':
			ps.kernel_only = true;
			break;
		case 'u':
			ps.user_only = true;
			break;
		case 'G':
			ps.threads = false; /* thread-group leaders: the default */
			break;
		case 'S': {
			static const char *const keys[] = {"pid", "rss", "pss",	   "swap",
							   "vsz", "thp", "private"};
			bool ok = false;
			for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
				if (strcmp(optarg, keys[i]) == 0) {
					ps.sort = (enum sort_key)i;
					ok = true;
				}
			if (!ok)
				return cli_usage(
					ctx, "--sort takes pid, rss, pss, swap, vsz, thp, private");
			break;
		}
		default:
			return cli_usage(ctx, "invalid option or missing value: %s",
					 argv[optind - 1]);
		}
	}
	if (ps.kernel_only && ps.user_only)
		return cli_usage(ctx, "-k and -u are exclusive");
	ps.filters = argv + optind;
	ps.nfilters = argc - optind;
	struct ms_meminfo mi;
	struct ms_error *merr = ms_meminfo_read(NULL, &mi);
	if (!merr)
		ps.mem_total = mi.v[MS_MI_MEM_TOTAL];
	ms_error_destroy(merr); /* without it %MEM shows 0.0 */
	struct ms_error *err = collect(&ps);
	if (err) {
		free(ps.rows);
		return cli_error(ctx, err);
	}
	sorting = &ps;
	if (ps.nrows > 1)
		qsort(ps.rows, ps.nrows, sizeof(*ps.rows), row_cmp);
	if (ctx->session->json)
		print_json(&ps);
	else
		print_text(&ps);
	int status = CLI_OK;
	if (ps.nfilters && !ps.nrows) {
		cli_warn(ctx, "no process matches");
		status = CLI_PARTIAL;
	}
	if (ps.denied) {
		cli_warn(ctx,
			 "%zu process%s could not be read in detail (PSS, shared, private, THP "
			 "need root or the same user): shown as -",
			 ps.denied, ps.denied == 1 ? "" : "es");
		status = CLI_PARTIAL;
	}
	free(ps.rows);
	return status;
}
