/* SPDX-License-Identifier: MIT */
/*
 * thp: transparent huge page settings, counters and users; thp --pid PID:
 * what keeps that process from getting huge pages.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "../lib/frag.h"
#include "../lib/procfs.h"
#include "../lib/target.h"
#include "../lib/thp.h"
#include "commands.h"

static bool has_prefix(const char *s, const char *prefix)
{
	return strncmp(s, prefix, strlen(prefix)) == 0;
}

static void json_kvfile(struct json *j, const char *key, const struct ms_kvfile *kv,
			const char *prefix)
{
	json_key(j, key);
	json_begin_object(j);
	for (size_t i = 0; kv && i < kv->count; i++)
		if (!prefix || has_prefix(kv->items[i].key, prefix))
			json_kv_u64(j, kv->items[i].key, kv->items[i].value);
	json_end_object(j);
}

static void json_blocks(struct json *j, const char *key, unsigned blocks)
{
	json_key(j, key);
	json_begin_array(j);
	for (unsigned bit = 1; bit && bit <= MS_THP_BLOCK_FRAGMENTED; bit <<= 1)
		if (blocks & bit)
			json_string(j, ms_thp_block_name(bit));
	json_end_array(j);
}

static void json_settings(struct json *j, const struct ms_thp_settings *s)
{
	json_key(j, "settings");
	json_begin_object(j);
	json_kv_string(j, "enabled", s->enabled);
	json_kv_string(j, "enabled_explanation", ms_thp_explain_enabled(s->enabled));
	json_kv_string(j, "pmd_enabled", ms_thp_pmd_mode(s));
	json_kv_string(j, "defrag", s->defrag);
	json_kv_string(j, "defrag_explanation", ms_thp_explain_defrag(s->defrag));
	json_kv_string(j, "shmem_enabled", s->shmem_enabled);
	if (s->use_zero_page >= 0)
		json_kv_i64(j, "use_zero_page", s->use_zero_page);
	else
		json_kv_null(j, "use_zero_page");
	if (s->shrink_underused >= 0)
		json_kv_i64(j, "shrink_underused", s->shrink_underused);
	else
		json_kv_null(j, "shrink_underused");
	json_kv_u64(j, "pmd_size", s->pmd_size);
	json_kv_u64(j, "pmd_order", ms_thp_pmd_order(s));
	json_key(j, "sizes");
	json_begin_array(j);
	for (size_t i = 0; i < s->nsizes; i++) {
		const struct ms_thp_size *z = &s->sizes[i];
		json_begin_object(j);
		json_kv_u64(j, "size_kb", z->size_kb);
		if (z->enabled[0]) {
			json_kv_string(j, "enabled", z->enabled);
			json_kv_string(j, "effective", ms_thp_size_mode(s, z));
		} else {
			json_kv_null(j, "enabled");
			json_kv_null(j, "effective");
		}
		if (z->shmem_enabled[0])
			json_kv_string(j, "shmem_enabled", z->shmem_enabled);
		else
			json_kv_null(j, "shmem_enabled");
		json_kvfile(j, "stats", z->stats, NULL);
		json_end_object(j);
	}
	json_end_array(j);
	json_kvfile(j, "khugepaged", s->khugepaged, NULL);
	json_end_object(j);
}

static void print_settings(const struct ms_thp_settings *s)
{
	char a[32];
	printf("Transparent huge pages: PMD size %s (order %u)\n", out_size(a, s->pmd_size),
	       ms_thp_pmd_order(s));
	printf("  enabled          %-14s %s\n", s->enabled, ms_thp_explain_enabled(s->enabled));
	printf("  defrag           %-14s %s\n", s->defrag, ms_thp_explain_defrag(s->defrag));
	if (s->use_zero_page >= 0)
		printf("  use_zero_page    %-14d %s\n", s->use_zero_page,
		       s->use_zero_page ? "a read fault maps the shared huge zero page"
					: "a read fault allocates a huge page");
	printf("  shmem_enabled    %-14s for tmpfs and shared anonymous memory\n",
	       s->shmem_enabled[0] ? s->shmem_enabled : "-");
	if (s->shrink_underused >= 0)
		printf("  shrink_underused %-14d %s\n", s->shrink_underused,
		       s->shrink_underused ? "split huge pages that are mostly zero under "
					     "memory pressure"
					   : "keep underused huge pages whole");
	if (s->nsizes) {
		printf("\n  %-10s %-8s %-9s %-11s %12s %14s %8s %8s\n", "SIZE", "ENABLED",
		       "EFFECTIVE", "SHMEM", "FAULT_ALLOC", "FAULT_FALLBACK", "NR_ANON", "SPLIT");
		for (size_t i = 0; i < s->nsizes; i++) {
			const struct ms_thp_size *z = &s->sizes[i];
			uint64_t fa = 0, ff = 0, na = 0, sp = 0;
			ms_kvfile_get(z->stats, "anon_fault_alloc", &fa);
			ms_kvfile_get(z->stats, "anon_fault_fallback", &ff);
			ms_kvfile_get(z->stats, "nr_anon", &na);
			ms_kvfile_get(z->stats, "split", &sp);
			char size[24];
			snprintf(size, sizeof(size), "%" PRIu64 "kB", z->size_kb);
			printf("  %-10s %-8s %-9s %-11s %12" PRIu64 " %14" PRIu64 " %8" PRIu64
			       " %8" PRIu64 "\n",
			       size, z->enabled[0] ? z->enabled : "-",
			       z->enabled[0] ? ms_thp_size_mode(s, z) : "-",
			       z->shmem_enabled[0] ? z->shmem_enabled : "-", fa, ff, na, sp);
		}
	}
	if (s->khugepaged) {
		printf("\n  khugepaged:");
		for (size_t i = 0; i < s->khugepaged->count; i++)
			printf("%s %s %" PRIu64, i % 4 == 0 && i ? "\n             " : "",
			       s->khugepaged->items[i].key, s->khugepaged->items[i].value);
		putchar('\n');
	}
}

static void print_counters(const char *title, const struct ms_kvfile *vm, const char *prefix)
{
	printf("\n%s\n", title);
	size_t col = 0;
	for (size_t i = 0; vm && i < vm->count; i++) {
		if (!has_prefix(vm->items[i].key, prefix))
			continue;
		printf("  %-32s %12" PRIu64 "%s", vm->items[i].key, vm->items[i].value,
		       col % 2 ? "\n" : "");
		col++;
	}
	if (col % 2)
		putchar('\n');
}

static const char *vma_label(const struct ms_thp_vma *v)
{
	return v->name ? v->name : "[anon]";
}

/*
 * frag's verdict for a PMD-order movable allocation (what a THP fault asks
 * for): succeeds, fails for lack of memory, or fails for fragmentation.
 * NULL when frag cannot tell (its files unreadable).
 */
static const char *pmd_allocation(unsigned order, enum ms_frag_outcome *outcome_ret)
{
	struct ms_frag frag;
	ms_frag_init(&frag);
	const char *what = NULL;
	uint64_t threshold = ms_sysctl_u64_or(NULL, "vm.extfrag_threshold", 500);
	struct ms_error *err = ms_frag_read(&frag);
	if (!err) {
		struct ms_frag_verdict v;
		err = ms_frag_verdict(&frag, (int)order, -1, threshold, &v);
		if (!err) {
			*outcome_ret = v.outcome;
			what = ms_frag_outcome_name(v.outcome);
			ms_frag_verdict_deinit(&v);
		}
	}
	ms_error_destroy(err);
	ms_frag_deinit(&frag);
	return what;
}

static void report_pid(struct cli_ctx *ctx, const struct ms_thp_report *rp, bool all)
{
	const struct ms_thp_report r = *rp;
	char a[32], b[32];
	enum ms_frag_outcome outcome = MS_FRAG_SUCCEEDS;
	const char *alloc = pmd_allocation(r.buddy.order, &outcome);
	if (ctx->session->json) {
		struct json *j = &ctx->json;
		json_key(j, "process");
		json_begin_object(j);
		json_kv_i64(j, "pid", r.pid);
		json_kv_string(j, "comm", r.comm);
		if (r.thp_enabled >= 0)
			json_kv_bool(j, "thp_enabled", r.thp_enabled);
		else
			json_kv_null(j, "thp_enabled");
		json_kv_u64(j, "anon_huge_bytes", r.anon_huge);
		json_kv_string(j, "pmd_enabled", r.pmd_mode);
		json_kv_string(j, "defrag", r.defrag);
		json_kv_u64(j, "file_vmas", r.file_vmas);
		if (alloc)
			json_kv_string(j, "pmd_allocation_now", alloc);
		else
			json_kv_null(j, "pmd_allocation_now");
		json_blocks(j, "blocks", r.blocks);
		json_key(j, "vmas");
		json_begin_array(j);
		for (size_t i = 0; i < r.count; i++) {
			const struct ms_thp_vma *v = &r.vmas[i];
			json_begin_object(j);
			json_kv_hex(j, "start", v->start);
			json_kv_hex(j, "end", v->end);
			json_kv_u64(j, "size", v->end - v->start);
			json_kv_string(j, "perms", v->perms);
			if (v->name)
				json_kv_string(j, "name", v->name);
			else
				json_kv_null(j, "name");
			json_kv_u64(j, "anon_huge_bytes", v->anon_huge);
			json_kv_u64(j, "rss_bytes", v->rss);
			json_kv_bool(j, "eligible", v->eligible);
			json_kv_bool(j, "madv_hugepage", v->vm_flags & MS_VM_HUGEPAGE);
			json_kv_bool(j, "madv_nohugepage", v->vm_flags & MS_VM_NOHUGEPAGE);
			json_kv_u64(j, "aligned_bytes", v->aligned_bytes);
			json_blocks(j, "blocks", v->blocks);
			json_end_object(j);
		}
		json_end_array(j);
		json_key(j, "explanations");
		json_begin_object(j);
		for (unsigned bit = 1; bit <= MS_THP_BLOCK_FRAGMENTED; bit <<= 1)
			if (r.blocks & bit)
				json_kv_string(j, ms_thp_block_name(bit),
					       ms_thp_block_explain(bit));
		json_end_object(j);
		json_end_object(j);
		return;
	}
	printf("Process %d (%s): AnonHugePages %s in %zu anonymous mappings\n", (int)r.pid, r.comm,
	       out_size(a, r.anon_huge), r.count);
	printf("  PMD-size setting %s, defrag %s, THP_enabled %s, free blocks of order >= %u: ",
	       r.pmd_mode, r.defrag,
	       r.thp_enabled < 0   ? "unknown (kernel before 6.2?)"
	       : r.thp_enabled > 0 ? "1"
				   : "0 (prctl PR_SET_THP_DISABLE)",
	       r.buddy.order);
	if (r.buddy.known)
		printf("%" PRIu64 "\n", r.buddy.free_blocks);
	else
		printf("unknown\n");
	if (alloc)
		printf("  An order-%u movable allocation (a THP fault) now: %s%s\n", r.buddy.order,
		       alloc,
		       outcome == MS_FRAG_FRAGMENTED
			       ? " (compaction would help: defrag decides whether a fault waits "
				 "for it)"
			       : "");
	printf("\n  %-14s %-14s %10s %10s %-4s %-8s  %s\n", "START", "END", "SIZE", "ANONHUGE",
	       "ELIG", "MADVISE", "WHY NO HUGE PAGES / NAME");
	size_t shown = 0;
	bool not_yet = false;
	for (size_t i = 0; i < r.count; i++) {
		const struct ms_thp_vma *v = &r.vmas[i];
		/* by default, the mappings that could hold a huge page or hold one */
		if (!all && !v->aligned_bytes && !v->anon_huge)
			continue;
		shown++;
		char why[160] = "";
		size_t n = 0;
		for (unsigned bit = 1; bit <= MS_THP_BLOCK_FRAGMENTED; bit <<= 1)
			if (v->blocks & bit)
				n += (size_t)snprintf(why + n, sizeof(why) - n, "%s%s",
						      n ? "," : "", ms_thp_block_name(bit));
		if (!n && !v->anon_huge) {
			snprintf(why, sizeof(why), "eligible, not yet");
			not_yet = true;
		} else if (!n) {
			snprintf(why, sizeof(why), "-");
		}
		printf("  %-14" PRIx64 " %-14" PRIx64 " %10s %10s %-4s %-8s  %s %s\n", v->start,
		       v->end, out_size(a, v->end - v->start), out_size(b, v->anon_huge),
		       v->eligible ? "yes" : "no",
		       (v->vm_flags & MS_VM_HUGEPAGE)	  ? "huge"
		       : (v->vm_flags & MS_VM_NOHUGEPAGE) ? "nohuge"
							  : "-",
		       why, vma_label(v));
	}
	if (shown < r.count)
		printf("  (%zu smaller mappings without huge pages not shown: --all shows them)\n",
		       r.count - shown);
	if (r.blocks) {
		printf("\n  Reasons:\n");
		for (unsigned bit = 1; bit <= MS_THP_BLOCK_FRAGMENTED; bit <<= 1)
			if (r.blocks & bit)
				printf("    %-14s %s\n", ms_thp_block_name(bit),
				       ms_thp_block_explain(bit));
	}
	if (not_yet)
		printf("  \"eligible, not yet\": the kernel allows huge pages there (THPeligible "
		       "1) but "
		       "none is mapped: not touched yet, or touched before it became eligible "
		       "(khugepaged collapses it later)\n");
}

int cmd_thp(struct cli_ctx *ctx, int argc, char **argv)
{
	enum { OPT_PID = 256, OPT_TOP, OPT_ALL };
	static const struct option options[] = {
		{"pid", required_argument, NULL, OPT_PID},
		{"top", required_argument, NULL, OPT_TOP},
		{"all", no_argument, NULL, OPT_ALL},
		{NULL, 0, NULL, 0},
	};
	pid_t pid = 0;
	size_t top = 0;
	bool all = false;
	uint64_t n;
	int c;
	while ((c = getopt_long(argc, argv, "+", options, NULL)) != -1) {
		switch (c) {
		case OPT_PID:
			if (!cli_parse_pid(optarg, &pid))
				return cli_usage(ctx, "invalid process id '%s'", optarg);
			break;
		case OPT_TOP:
			if (!out_parse_count(optarg, &n) || n > 100000)
				return cli_usage(ctx, "invalid count '%s'", optarg);
			top = (size_t)n;
			break;
		case OPT_ALL:
			all = true;
			break;
		default:
			return CLI_USAGE;
		}
	}
	if (optind < argc)
		return cli_usage(ctx, "unexpected argument '%s'", argv[optind]);
	if (!pid && ctx->session->target && ms_target_kind(ctx->session->target) == MS_TARGET_LIVE)
		pid = ms_target_pid(ctx->session->target);
	if (pid && !ms_procfs_pid_exists(pid)) {
		fprintf(stderr, "memscope: thp: no process %d\n", (int)pid);
		return CLI_FAILED;
	}

	struct ms_thp_settings s;
	struct ms_error *err = ms_thp_settings_read(NULL, &s);
	if (err)
		return cli_error(ctx, err);
	if (!s.supported) {
		ms_thp_settings_deinit(&s);
		if (ctx->session->json) {
			json_begin_object(&ctx->json);
			json_kv_bool(&ctx->json, "supported", false);
			json_end_object(&ctx->json);
			json_finish(&ctx->json);
		} else {
			printf("This kernel has no transparent huge pages "
			       "(/sys/kernel/mm/transparent_hugepage is absent).\n");
		}
		return CLI_OK;
	}
	struct ms_kvfile *vm = NULL;
	struct ms_meminfo mi;
	struct ms_thp_buddy buddy;
	struct ms_thp_users users = {0};
	struct ms_thp_report report = {0};
	int status = CLI_OK;
	if ((err = ms_vmstat_read(NULL, &vm)) || (err = ms_meminfo_read(NULL, &mi)))
		goto fail;
	err = ms_thp_buddy_read(NULL, ms_thp_pmd_order(&s), &buddy);
	if (err) { /* shown as unknown */
		ms_error_destroy(err);
		err = NULL;
	}
	if (!pid && top && (err = ms_thp_top_users(top, &users)))
		goto fail;
	if (pid && (err = ms_thp_diagnose(pid, &s, &report)))
		goto fail;

	char a[32], b[32], d[32], e[32];
	if (ctx->session->json) {
		struct json *j = &ctx->json;
		json_begin_object(j);
		json_kv_bool(j, "supported", true);
		json_settings(j, &s);
		json_kvfile(j, "counters", vm, "thp_");
		json_kvfile(j, "compaction", vm, "compact_");
		json_key(j, "meminfo");
		json_begin_object(j);
		json_kv_u64(j, "anon_huge_pages_bytes", mi.v[MS_MI_ANON_HUGE_PAGES]);
		json_kv_u64(j, "shmem_huge_pages_bytes", mi.v[MS_MI_SHMEM_HUGE_PAGES]);
		json_kv_u64(j, "file_huge_pages_bytes", mi.v[MS_MI_FILE_HUGE_PAGES]);
		json_end_object(j);
		json_key(j, "buddy");
		json_begin_object(j);
		json_kv_u64(j, "order", buddy.order);
		if (buddy.known)
			json_kv_u64(j, "free_blocks", buddy.free_blocks);
		else
			json_kv_null(j, "free_blocks");
		json_end_object(j);
		if (pid) {
			report_pid(ctx, &report, all);
		} else if (!top) {
			json_kv_null(j, "top");
		} else {
			json_key(j, "top");
			json_begin_object(j);
			json_kv_u64(j, "processes", users.processes);
			json_kv_u64(j, "unreadable", users.unreadable);
			json_kv_u64(j, "sum_anon_huge_bytes", users.sum_anon_huge);
			json_key(j, "list");
			json_begin_array(j);
			for (size_t i = 0; i < users.count; i++) {
				const struct ms_thp_user *u = &users.list[i];
				json_begin_object(j);
				json_kv_i64(j, "pid", u->pid);
				json_kv_string(j, "comm", u->comm);
				json_kv_u64(j, "anon_huge_bytes", u->anon_huge);
				json_kv_u64(j, "shmem_pmd_bytes", u->shmem_pmd);
				json_kv_u64(j, "file_pmd_bytes", u->file_pmd);
				json_kv_u64(j, "anonymous_bytes", u->anonymous);
				json_end_object(j);
			}
			json_end_array(j);
			json_end_object(j);
		}
		json_end_object(j);
		json_finish(j);
		goto out;
	}
	if (pid) {
		report_pid(ctx, &report, all);
		goto out;
	}
	print_settings(&s);
	print_counters("Counters (/proc/vmstat thp_*)", vm, "thp_");
	print_counters("Compaction (/proc/vmstat compact_*)", vm, "compact_");
	printf("\nIn use: AnonHugePages %s, ShmemHugePages %s, FileHugePages %s; free blocks of "
	       "order >= %u: %s\n",
	       out_size(a, mi.v[MS_MI_ANON_HUGE_PAGES]), out_size(b, mi.v[MS_MI_SHMEM_HUGE_PAGES]),
	       out_size(d, mi.v[MS_MI_FILE_HUGE_PAGES]), buddy.order,
	       buddy.known ? (snprintf(e, sizeof(e), "%" PRIu64, buddy.free_blocks), e)
			   : "unknown");
	if (top) {
		printf("\nTop processes by huge pages (smaps_rollup)\n");
		printf("  %7s  %-16s %12s %12s %12s %12s\n", "PID", "COMMAND", "ANONHUGE",
		       "SHMEMPMD", "FILEPMD", "ANONYMOUS");
		for (size_t i = 0; i < users.count; i++) {
			const struct ms_thp_user *u = &users.list[i];
			printf("  %7d  %-16s %12s %12s %12s %12s\n", (int)u->pid, u->comm,
			       out_size(a, u->anon_huge), out_size(b, u->shmem_pmd),
			       out_size(d, u->file_pmd), out_size(e, u->anonymous));
		}
		if (!users.count)
			printf("  (no process maps a huge page)\n");
		if (users.unreadable)
			cli_warn(ctx, "%zu processes not readable (permission denied%s): left out",
				 users.unreadable, cli_is_root() ? "" : "; root can read them");
	} else {
		printf("\n(--top N lists the processes holding the most huge pages; it reads every "
		       "process's smaps_rollup, which takes longer the more memory is mapped)\n");
	}
	goto out;
fail:
	status = cli_error(ctx, err);
out:
	ms_thp_report_deinit(&report);
	ms_thp_users_deinit(&users);
	ms_kvfile_destroy(vm);
	ms_thp_settings_deinit(&s);
	return status;
}
