/* SPDX-License-Identifier: MIT */
/*
 * overcommit: the commit accounting as the kernel does it, and
 * overcommit --what-if SIZE: would that mmap succeed now, and why.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/overcommit.h"
#include "../lib/procfs.h"
#include "../lib/target.h"
#include "commands.h"

struct oc_opts {
	bool what_if;
	uint64_t size;
	unsigned flags;
	pid_t pid;
	size_t top;
	bool top_given;
};

/* Committers when a what-if fails on the commit limit and --top was not given. */
enum { WHATIF_AUTO_TOP = 5 };

static const char *rule_name(enum ms_charge_rule r)
{
	switch (r) {
	case MS_CHARGE_PRIVATE_WRITABLE:
		return "private-writable";
	case MS_CHARGE_PRIVATE_READONLY:
		return "private-readonly";
	case MS_CHARGE_NORESERVE:
		return "noreserve";
	case MS_CHARGE_NORESERVE_STRICT:
		return "noreserve-ignored";
	case MS_CHARGE_SHARED_ANON:
		return "shared-anonymous";
	}
	return "?";
}

static const char *rule_explain(enum ms_charge_rule r)
{
	switch (r) {
	case MS_CHARGE_PRIVATE_WRITABLE:
		return "a private writable mapping is charged in full when it is made "
		       "(accountable_mapping: VM_WRITE without VM_SHARED or VM_NORESERVE)";
	case MS_CHARGE_PRIVATE_READONLY:
		return "a private read-only mapping is not charged (no VM_WRITE); "
		       "mprotect to writable charges it then";
	case MS_CHARGE_NORESERVE:
		return "MAP_NORESERVE sets VM_NORESERVE in modes 0 and 1: not charged";
	case MS_CHARGE_NORESERVE_STRICT:
		return "mode 2 ignores MAP_NORESERVE: charged like any private writable mapping";
	case MS_CHARGE_SHARED_ANON:
		return "a shared anonymous mapping is a shmem object, charged in full when it "
		       "is created (shmem_acct_size); a shared mapping of a file is never "
		       "charged";
	}
	return "";
}

static void describe_mapping(char *buf, size_t len, const struct ms_whatif *w)
{
	snprintf(buf, len, "mmap(NULL, %" PRIu64 ", %s, %s%s)", w->size,
		 (w->flags & MS_MAP_READONLY) ? "PROT_READ" : "PROT_READ|PROT_WRITE",
		 (w->flags & MS_MAP_SHARED) ? "MAP_SHARED|MAP_ANONYMOUS"
					    : "MAP_PRIVATE|MAP_ANONYMOUS",
		 (w->flags & MS_MAP_NORESERVE) ? "|MAP_NORESERVE" : "");
}

/* One sentence: why the verdict is what it is. */
static void explain_verdict(char *buf, size_t len, const struct ms_overcommit *oc,
			    const struct ms_mm_info *mm, const struct ms_whatif *w)
{
	char a[32], b[32];
	switch (w->verdict) {
	case MS_WHATIF_INVALID:
		snprintf(buf, len, "a zero length is EINVAL");
		return;
	case MS_WHATIF_TOO_LARGE:
		snprintf(buf, len, "larger than the user address space (%s): ENOMEM",
			 out_size(a, w->user_space));
		return;
	case MS_WHATIF_NO_GAP:
		snprintf(buf, len,
			 "process %d has no free address range that large (the largest is "
			 "%s): ENOMEM",
			 (int)mm->pid, out_size(a, mm->largest_gap));
		return;
	case MS_WHATIF_RLIMIT_AS:
		snprintf(buf, len, "VmSize %s + the mapping exceeds RLIMIT_AS %s: ENOMEM",
			 out_size(a, mm->total_vm * oc->page_size), out_size(b, mm->rlimit_as));
		return;
	case MS_WHATIF_RLIMIT_DATA:
		snprintf(buf, len, "VmData %s + the mapping exceeds RLIMIT_DATA %s: ENOMEM",
			 out_size(a, mm->data_vm * oc->page_size), out_size(b, mm->rlimit_data));
		return;
	case MS_WHATIF_HEURISTIC:
		snprintf(buf, len,
			 "%" PRIu64 " pages > RAM + swap = %" PRIu64
			 " pages: mode 0 refuses a single mapping that large (ENOMEM)",
			 w->pages, w->heuristic_limit);
		return;
	case MS_WHATIF_COMMIT_LIMIT:
		snprintf(buf, len,
			 "Committed_AS %" PRIu64 " + %" PRIu64 " = %" PRIu64
			 " pages is not below the %" PRId64 " allowed (ENOMEM)",
			 oc->committed, w->pages, w->committed_after, w->allowed);
		return;
	case MS_WHATIF_OK:
		break;
	}
	if (!w->charged)
		snprintf(buf, len, "not charged, so no commit check applies");
	else if (oc->mode == MS_OVERCOMMIT_ALWAYS)
		snprintf(buf, len, "mode 1 never refuses");
	else if (oc->mode == MS_OVERCOMMIT_GUESS)
		snprintf(buf, len,
			 "%" PRIu64 " pages <= RAM + swap = %" PRIu64
			 " pages: mode 0 refuses only a single mapping larger than that",
			 w->pages, w->heuristic_limit);
	else
		snprintf(buf, len,
			 "Committed_AS %" PRIu64 " + %" PRIu64 " = %" PRIu64
			 " pages is below the %" PRId64 " allowed",
			 oc->committed, w->pages, w->committed_after, w->allowed);
}

static void json_committers(struct json *j, const struct ms_committers *c)
{
	json_key(j, "top_committers");
	json_begin_object(j);
	json_kv_string(j, "what",
		       "per process, the sum of the sizes of its mappings with "
		       "VM_ACCOUNT (\"ac\" in smaps VmFlags)");
	json_kv_u64(j, "processes", c->processes);
	json_kv_u64(j, "unreadable", c->unreadable);
	json_kv_u64(j, "sum_bytes", c->sum);
	json_key(j, "list");
	json_begin_array(j);
	for (size_t i = 0; i < c->count; i++) {
		json_begin_object(j);
		json_kv_i64(j, "pid", c->list[i].pid);
		json_kv_string(j, "comm", c->list[i].comm);
		json_kv_u64(j, "committed_bytes", c->list[i].committed);
		json_kv_u64(j, "shared_anon_bytes", c->list[i].shared_anon);
		json_kv_u64(j, "total_vm_bytes", c->list[i].total_vm);
		json_end_object(j);
	}
	json_end_array(j);
	json_end_object(j);
}

static void print_committers(struct cli_ctx *ctx, const struct ms_committers *c,
			     const struct ms_overcommit *oc)
{
	char a[32], b[32], d[32];
	printf("\nTop committers (per process: the sizes of its mappings with VM_ACCOUNT, "
	       "\"ac\" in smaps VmFlags)\n");
	printf("  %7s  %-16s %12s %12s %12s\n", "PID", "COMMAND", "COMMITTED", "SHARED-ANON",
	       "VIRTUAL");
	for (size_t i = 0; i < c->count; i++)
		printf("  %7d  %-16s %12s %12s %12s\n", (int)c->list[i].pid, c->list[i].comm,
		       out_size(a, c->list[i].committed), out_size(b, c->list[i].shared_anon),
		       out_size(d, c->list[i].total_vm));
	printf("  %zu processes hold %s of private commitments; Committed_AS is %s (the rest is "
	       "shmem objects and the kernel's own)\n",
	       c->processes, out_size(a, c->sum), out_size(b, oc->committed * oc->page_size));
	if (c->unreadable)
		cli_warn(ctx, "%zu processes not readable (permission denied%s): left out",
			 c->unreadable, cli_is_root() ? "" : "; root can read them");
}

static int show_settings(struct cli_ctx *ctx, const struct ms_overcommit *oc,
			 const struct ms_committers *c)
{
	uint64_t pg = oc->page_size;
	char a[32], b[32];
	if (ctx->session->json) {
		struct json *j = &ctx->json;
		json_begin_object(j);
		json_kv_u64(j, "mode", oc->mode);
		json_kv_string(j, "mode_name", ms_overcommit_mode_name(oc->mode));
		json_kv_string(j, "explanation", ms_overcommit_mode_explain(oc->mode));
		json_key(j, "modes");
		json_begin_array(j);
		for (unsigned m = 0; m < 3; m++) {
			json_begin_object(j);
			json_kv_u64(j, "mode", m);
			json_kv_string(j, "name", ms_overcommit_mode_name(m));
			json_kv_string(j, "explanation", ms_overcommit_mode_explain(m));
			json_end_object(j);
		}
		json_end_array(j);
		json_kv_u64(j, "overcommit_ratio", oc->ratio);
		json_kv_u64(j, "overcommit_kbytes", oc->kbytes);
		json_kv_u64(j, "admin_reserve_kbytes", oc->admin_reserve_kbytes);
		json_kv_u64(j, "user_reserve_kbytes", oc->user_reserve_kbytes);
		json_kv_u64(j, "page_size", pg);
		json_key(j, "commit_limit");
		json_begin_object(j);
		json_kv_string(j, "basis", oc->kbytes ? "overcommit_kbytes" : "overcommit_ratio");
		json_kv_u64(j, "ram_pages", oc->totalram_pages);
		json_kv_u64(j, "hugetlb_pages", oc->hugetlb_pages);
		json_kv_u64(j, "swap_pages", oc->swap_pages);
		json_kv_u64(j, "computed_pages", oc->commit_limit);
		json_kv_u64(j, "computed_bytes", oc->commit_limit * pg);
		if (oc->has_kernel_limit) {
			json_kv_u64(j, "kernel_pages", oc->kernel_commit_limit);
			json_kv_u64(j, "kernel_bytes", oc->kernel_commit_limit * pg);
			json_kv_bool(j, "match", oc->kernel_commit_limit == oc->commit_limit);
		} else {
			json_kv_null(j, "kernel_pages");
		}
		json_end_object(j);
		json_kv_u64(j, "committed_as_pages", oc->committed);
		json_kv_u64(j, "committed_as_bytes", oc->committed * pg);
		json_kv_i64(j, "headroom_pages", oc->headroom);
		json_kv_i64(j, "headroom_bytes", oc->headroom * (int64_t)pg);
		json_kv_u64(j, "counter_slack_pages", oc->slack);
		if (c)
			json_committers(j, c);
		json_end_object(j);
		json_finish(j);
		return CLI_OK;
	}
	printf("Overcommit mode %u (%s): %s.\n", oc->mode, ms_overcommit_mode_name(oc->mode),
	       ms_overcommit_mode_explain(oc->mode));
	for (unsigned m = 0; m < 3; m++)
		printf("  %c %u %-9s  %s\n", m == oc->mode ? '*' : ' ', m,
		       ms_overcommit_mode_name(m), ms_overcommit_mode_explain(m));

	printf("\nSettings (/proc/sys/vm)\n");
	printf("  overcommit_ratio      %10" PRIu64 " %%   %s\n", oc->ratio,
	       oc->kbytes ? "(not used: overcommit_kbytes is set)" : "of RAM less hugetlb pages");
	printf("  overcommit_kbytes     %10" PRIu64 " kB  %s\n", oc->kbytes,
	       oc->kbytes ? "replaces the ratio" : "(0: the ratio is used)");
	printf("  admin_reserve_kbytes  %10" PRIu64 " kB  kept back from processes without "
	       "CAP_SYS_ADMIN in mode 2\n",
	       oc->admin_reserve_kbytes);
	printf("  user_reserve_kbytes   %10" PRIu64 " kB  each process keeps min(its size/32, "
	       "this) back in mode 2\n",
	       oc->user_reserve_kbytes);

	printf("\nCommitLimit (mm/util.c vm_commit_limit, in %" PRIu64 "-byte pages)\n", pg);
	if (oc->kbytes) {
		printf("  overcommit_kbytes          %12" PRIu64 "  %10s\n",
		       oc->commit_limit - oc->swap_pages,
		       out_size(a, (oc->commit_limit - oc->swap_pages) * pg));
	} else {
		printf("  RAM (MemTotal)             %12" PRIu64 "  %10s\n", oc->totalram_pages,
		       out_size(a, oc->totalram_pages * pg));
		printf("  - hugetlb pages            %12" PRIu64 "  %10s\n", oc->hugetlb_pages,
		       out_size(a, oc->hugetlb_pages * pg));
		uint64_t part = oc->commit_limit - oc->swap_pages;
		printf("  x overcommit_ratio %3" PRIu64 "%%    %12" PRIu64 "  %10s\n", oc->ratio,
		       part, out_size(a, part * pg));
	}
	printf("  + swap (SwapTotal)         %12" PRIu64 "  %10s\n", oc->swap_pages,
	       out_size(a, oc->swap_pages * pg));
	printf("  = CommitLimit, computed    %12" PRIu64 "  %10s\n", oc->commit_limit,
	       out_size(a, oc->commit_limit * pg));
	if (oc->has_kernel_limit)
		printf("    CommitLimit, kernel      %12" PRIu64 "  %10s  %s\n",
		       oc->kernel_commit_limit, out_size(a, oc->kernel_commit_limit * pg),
		       oc->kernel_commit_limit == oc->commit_limit ? "(the same)"
								   : "(differs: see below)");
	else
		printf("    CommitLimit, kernel      (not in /proc/meminfo)\n");
	printf("  Committed_AS               %12" PRIu64 "  %10s  %.1f%% of CommitLimit\n",
	       oc->committed, out_size(a, oc->committed * pg),
	       oc->commit_limit ? 100.0 * (double)oc->committed / (double)oc->commit_limit : 0.0);
	char head[40];
	snprintf(head, sizeof(head), "%s%s", oc->headroom < 0 ? "-" : "",
		 out_size(b, (uint64_t)(oc->headroom < 0 ? -oc->headroom : oc->headroom) * pg));
	printf("  Headroom                   %12" PRId64 "  %10s  %s\n", oc->headroom, head,
	       oc->mode == MS_OVERCOMMIT_NEVER ? "(enforced: mode 2)"
					       : "(not enforced in this mode)");
	if (oc->has_kernel_limit && oc->kernel_commit_limit != oc->commit_limit)
		cli_warn(ctx, "the kernel's CommitLimit differs from the formula: memory or swap "
			      "changed between the reads, or this kernel computes it differently");
	if (c)
		print_committers(ctx, c, oc);
	else
		printf("\n(--top N lists the processes holding the most commit; it reads every "
		       "process's smaps, which takes longer the more memory is mapped)\n");
	return CLI_OK;
}

static int what_if(struct cli_ctx *ctx, const struct ms_overcommit *oc, const struct oc_opts *o,
		   const struct ms_committers *c)
{
	struct ms_mm_info mm;
	struct ms_error *err = ms_mm_info_read(o->pid, &mm);
	if (err)
		return cli_error(ctx, err);
	struct ms_whatif w;
	ms_overcommit_whatif(oc, &mm, o->size, o->flags, &w);
	/* refused for lack of commit: who holds it is the next question */
	struct ms_committers auto_c;
	bool auto_top = !c && !o->top_given && w.verdict == MS_WHATIF_COMMIT_LIMIT;
	if (auto_top) {
		err = ms_overcommit_committers(WHATIF_AUTO_TOP, &auto_c);
		if (err)
			return cli_error(ctx, err);
		c = &auto_c;
	}
	int status = w.ok ? CLI_OK : CLI_PARTIAL;
	char call[160], why[512], a[32], b[32];
	describe_mapping(call, sizeof(call), &w);
	explain_verdict(why, sizeof(why), oc, &mm, &w);
	uint64_t pg = oc->page_size;
	/* the five kinds of mapping, charged or not in the current mode */
	static const unsigned kinds[] = {0, MS_MAP_READONLY, MS_MAP_NORESERVE, MS_MAP_SHARED,
					 MS_MAP_SHARED | MS_MAP_NORESERVE};
	static const char *const kind_names[] = {"private writable", "private read-only",
						 "private MAP_NORESERVE", "shared anonymous",
						 "shared anonymous MAP_NORESERVE"};

	if (ctx->session->json) {
		struct json *j = &ctx->json;
		json_begin_object(j);
		json_kv_string(j, "call", call);
		json_kv_u64(j, "size", w.size);
		json_kv_u64(j, "pages", w.pages);
		json_kv_bool(j, "shared", w.flags & MS_MAP_SHARED);
		json_kv_bool(j, "noreserve", w.flags & MS_MAP_NORESERVE);
		json_kv_bool(j, "readonly", w.flags & MS_MAP_READONLY);
		json_kv_u64(j, "mode", oc->mode);
		json_kv_string(j, "mode_name", ms_overcommit_mode_name(oc->mode));
		json_kv_bool(j, "charged", w.charged);
		json_kv_string(j, "charge_rule", rule_name(w.rule));
		json_kv_string(j, "charge_explanation", rule_explain(w.rule));
		json_key(j, "process");
		json_begin_object(j);
		json_kv_i64(j, "pid", mm.pid);
		json_kv_string(j, "comm", mm.comm);
		json_kv_bool(j, "asked_for", o->pid > 0);
		json_kv_u64(j, "total_vm_pages", mm.total_vm);
		json_kv_u64(j, "data_vm_pages", mm.data_vm);
		json_kv_bool(j, "cap_sys_admin", mm.cap_sys_admin);
		if (mm.rlimit_as == UINT64_MAX)
			json_kv_null(j, "rlimit_as");
		else
			json_kv_u64(j, "rlimit_as", mm.rlimit_as);
		if (mm.rlimit_data == UINT64_MAX)
			json_kv_null(j, "rlimit_data");
		else
			json_kv_u64(j, "rlimit_data", mm.rlimit_data);
		if (mm.gap_known) {
			json_kv_u64(j, "largest_gap", mm.largest_gap);
			json_kv_u64(j, "gap_margin", mm.gap_margin);
		} else {
			json_kv_null(j, "largest_gap");
		}
		json_end_object(j);
		json_kv_u64(j, "heuristic_limit_pages", w.heuristic_limit);
		json_kv_u64(j, "commit_limit_pages", oc->commit_limit);
		json_kv_u64(j, "committed_pages", oc->committed);
		if (oc->mode == MS_OVERCOMMIT_NEVER && w.charged) {
			json_kv_u64(j, "admin_reserve_pages", w.admin_reserve);
			json_kv_u64(j, "user_reserve_pages", w.user_reserve);
			json_kv_i64(j, "allowed_pages", w.allowed);
			json_kv_u64(j, "committed_after_pages", w.committed_after);
			json_kv_u64(j, "counter_slack_pages", oc->slack);
		}
		json_kv_bool(j, "borderline", w.borderline);
		json_key(j, "charged_kinds");
		json_begin_array(j);
		for (size_t i = 0; i < 5; i++) {
			struct ms_whatif k;
			ms_overcommit_whatif(oc, NULL, pg, kinds[i], &k);
			json_begin_object(j);
			json_kv_string(j, "kind", kind_names[i]);
			json_kv_bool(j, "charged", k.charged);
			json_kv_string(j, "rule", rule_name(k.rule));
			json_end_object(j);
		}
		json_end_array(j);
		json_kv_string(j, "verdict", ms_whatif_verdict_name(w.verdict));
		json_kv_bool(j, "succeeds", w.ok);
		json_kv_string(j, "reason", why);
		if (c)
			json_committers(j, c);
		json_end_object(j);
		json_finish(j);
		goto out;
	}
	printf("What if: %s\n", call);
	printf("  by process %d (%s)%s: VmSize %s, %s\n", (int)mm.pid, mm.comm,
	       o->pid > 0 ? "" : ", this memscope (give --pid for another)",
	       out_size(a, mm.total_vm * pg),
	       mm.cap_sys_admin ? "has CAP_SYS_ADMIN" : "without CAP_SYS_ADMIN");
	printf("  size     %" PRIu64 " pages (%s)\n", w.pages, out_size(a, w.pages * pg));
	printf("  charged  %s: %s\n", w.charged ? "yes" : "no", rule_explain(w.rule));
	printf("  mode     %u (%s): %s\n", oc->mode, ms_overcommit_mode_name(oc->mode),
	       ms_overcommit_mode_explain(oc->mode));
	bool checked = w.verdict == MS_WHATIF_OK || w.verdict == MS_WHATIF_COMMIT_LIMIT;
	if (oc->mode == MS_OVERCOMMIT_NEVER && w.charged && checked) {
		printf("  check    CommitLimit              %12" PRIu64 " pages\n",
		       oc->commit_limit);
		printf("           - admin reserve          %12" PRIu64 " %s\n", w.admin_reserve,
		       mm.cap_sys_admin ? "(none: the process has CAP_SYS_ADMIN)"
					: "(admin_reserve_kbytes: no CAP_SYS_ADMIN)");
		printf("           - user reserve           %12" PRIu64 " min(VmSize/32 = %" PRIu64
		       ", user_reserve_kbytes)\n",
		       w.user_reserve, mm.total_vm / 32);
		printf("           = allowed                %12" PRId64 "\n", w.allowed);
		printf("           Committed_AS + mapping   %12" PRIu64 " = %" PRIu64 " + %" PRIu64
		       "\n",
		       w.committed_after, oc->committed, w.pages);
		if (w.borderline &&
		    (uint64_t)llabs((long long)w.committed_after - w.allowed) <= oc->slack)
			printf("           borderline: within %" PRIu64
			       " pages (%s) of the limit, the kernel's per-CPU counter may "
			       "still lag Committed_AS by that much: it can go either way\n",
			       oc->slack, out_size(b, oc->slack * pg));
	}
	if (w.borderline && mm.gap_known && w.pages * pg + mm.gap_margin > mm.largest_gap)
		printf("  borderline: within %s of the largest free address range (%s): the "
		       "kernel's search may refuse it\n",
		       out_size(a, mm.gap_margin), out_size(b, mm.largest_gap));
	printf("  verdict  %s: %s\n", w.ok ? "SUCCEEDS" : "FAILS", why);
	printf("\nCharged in mode %u:", oc->mode);
	for (size_t i = 0; i < 5; i++) {
		struct ms_whatif k;
		ms_overcommit_whatif(oc, NULL, pg, kinds[i], &k);
		printf("%s %s %s", i ? "," : "", kind_names[i], k.charged ? "yes" : "no");
	}
	printf("; a shared mapping of a file never.\n");
	if (c)
		print_committers(ctx, c, oc);
out:
	if (auto_top)
		ms_committers_deinit(&auto_c);
	return status;
}

int cmd_overcommit(struct cli_ctx *ctx, int argc, char **argv)
{
	enum { OPT_SHARED = 256, OPT_NORESERVE, OPT_READONLY, OPT_PID, OPT_TOP, OPT_WHATIF };
	static const struct option options[] = {
		{"what-if", required_argument, NULL, OPT_WHATIF},
		{"shared", no_argument, NULL, OPT_SHARED},
		{"noreserve", no_argument, NULL, OPT_NORESERVE},
		{"readonly", no_argument, NULL, OPT_READONLY},
		{"pid", required_argument, NULL, OPT_PID},
		{"top", required_argument, NULL, OPT_TOP},
		{NULL, 0, NULL, 0},
	};
	struct oc_opts o = {0};
	int c;
	uint64_t n;
	while ((c = getopt_long(argc, argv, "+", options, NULL)) != -1) {
		switch (c) {
		case OPT_WHATIF:
			if (optarg[0] == '-')
				return cli_usage(ctx, "size '%s' is negative", optarg);
			if (!out_parse_size(optarg, &o.size))
				return cli_usage(ctx,
						 "'%s' is not a size (bytes, or with a suffix: "
						 "4096, 64M, 1.5G, 2T)",
						 optarg);
			if (!o.size)
				return cli_usage(ctx, "the size must be more than 0 (mmap of 0 "
						      "bytes is EINVAL)");
			o.what_if = true;
			break;
		case OPT_SHARED:
			o.flags |= MS_MAP_SHARED;
			break;
		case OPT_NORESERVE:
			o.flags |= MS_MAP_NORESERVE;
			break;
		case OPT_READONLY:
			o.flags |= MS_MAP_READONLY;
			break;
		case OPT_PID:
			if (!cli_parse_pid(optarg, &o.pid))
				return cli_usage(ctx, "invalid process id '%s'", optarg);
			break;
		case OPT_TOP:
			if (!out_parse_count(optarg, &n) || n > 100000)
				return cli_usage(ctx, "invalid count '%s'", optarg);
			o.top = (size_t)n;
			o.top_given = true;
			break;
		default:
			return CLI_USAGE;
		}
	}
	if (optind < argc)
		return cli_usage(ctx, "unexpected argument '%s'", argv[optind]);
	if (!o.what_if && (o.flags || o.pid))
		return cli_usage(ctx, "--shared, --noreserve, --readonly and --pid go with "
				      "--what-if SIZE");
	if ((o.flags & MS_MAP_SHARED) && (o.flags & MS_MAP_READONLY))
		o.flags &= ~(unsigned)MS_MAP_READONLY; /* shmem is charged whatever the prot */
	if (o.what_if && !o.pid && ctx->session->target &&
	    ms_target_kind(ctx->session->target) == MS_TARGET_LIVE)
		o.pid = ms_target_pid(ctx->session->target);
	if (o.pid && !ms_procfs_pid_exists(o.pid)) {
		fprintf(stderr, "memscope: overcommit: no process %d\n", (int)o.pid);
		return CLI_FAILED;
	}

	struct ms_overcommit oc;
	struct ms_error *err = ms_overcommit_read(NULL, &oc);
	if (err)
		return cli_error(ctx, err);
	struct ms_committers committers, *cp = NULL;
	if (o.top) {
		err = ms_overcommit_committers(o.top, &committers);
		if (err)
			return cli_error(ctx, err);
		cp = &committers;
	}
	int status = o.what_if ? what_if(ctx, &oc, &o, cp) : show_settings(ctx, &oc, cp);
	if (cp)
		ms_committers_deinit(cp);
	return status;
}
