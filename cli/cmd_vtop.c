/* SPDX-License-Identifier: MIT */
/*
 * vtop: one user virtual address of a live process, translated to its
 * physical page and described with everything the kernel tells user space
 * about that page (pagemap, PAGEMAP_SCAN, kpageflags, kpagecount), as
 * crash's `vtop -c PID ADDR` prints it from kernel memory.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/maps.h"
#include "../lib/maps_stream.h"
#include "../lib/pagemap.h"
#include "../lib/selfshare.h"
#include "../lib/target.h"
#include "cmd_vm.h"
#include "commands.h"

struct vtop_job {
	struct cli_ctx *ctx;
	struct json *j;
	struct ms_target *t;
	pid_t pid;
	size_t page;
	struct ms_pagemap pm;
	bool pm_open;
	struct ms_kpage kp;
	struct ms_swaps *swaps;
	bool swaps_read;
	size_t printed;
	struct ms_self_share *self; /* memscope's own mappings */
	bool self_maps;		    /* memscope maps the page at hand too */
	struct ms_vma vma;	    /* the mapping of the address at hand */
	char vma_name[4096 + 16];
};

enum vtop_state {
	VT_PRESENT,
	VT_SWAP,
	VT_FILE,
	VT_NOT_MAPPED,
	VT_NOT_ACCESSIBLE,
};

static const char *const state_names[] = {"present", "swap", "file", "not_mapped",
					  "not_accessible"};

static const struct {
	uint64_t bit;
	const char *name;
} pm_bits[] = {
	{MS_PM_PRESENT, "present"},	  {MS_PM_SWAP, "swapped"},
	{MS_PM_FILE, "file/shared-anon"}, {MS_PM_EXCLUSIVE, "exclusive"},
	{MS_PM_SOFT_DIRTY, "soft-dirty"}, {MS_PM_UFFD_WP, "uffd-wp"},
	{MS_PM_GUARD, "guard"},
};

static const char *pm_json_name(uint64_t bit)
{
	if (bit == MS_PM_FILE)
		return "file";
	if (bit == MS_PM_SWAP)
		return "swapped";
	return NULL;
}

static const struct ms_swap_area *find_swap(struct vtop_job *job, uint64_t entry)
{
	if (!job->swaps_read) {
		job->swaps_read = true;
		struct ms_error *err = ms_swaps_read(&job->swaps);
		if (err) {
			ms_error_destroy(err);
			job->swaps = NULL;
		}
	}
	return ms_swaps_find(job->swaps, ms_pm_swap_type(entry), ms_pm_swap_offset(entry));
}

struct mapping_search {
	uint64_t addr;
	struct ms_vma *vma;
	char *name;
	size_t name_len;
	bool found;
};

static struct ms_error *match_mapping(void *arg, const struct ms_vma *v, bool *stop_ret)
{
	struct mapping_search *ms = arg;
	if (v->end <= ms->addr)
		return NULL;
	*stop_ret = true; /* the first mapping ending above addr holds it, or none does */
	if (v->start > ms->addr)
		return NULL;
	*ms->vma = *v;
	if (v->name) {
		snprintf(ms->name, ms->name_len, "%s", v->name);
		ms->vma->name = ms->name;
	}
	ms->found = true;
	return NULL;
}

/*
 * The mapping holding addr, from smaps read a piece at a time (a process
 * may have tens of thousands of mappings): copied into *vma, its name into
 * name[]. *found_ret false if none holds it.
 */
static struct ms_error *find_mapping(pid_t pid, uint64_t addr, struct ms_vma *vma, char *name,
				     size_t name_len, bool *found_ret)
{
	struct mapping_search ms = {.addr = addr, .vma = vma, .name = name, .name_len = name_len};
	struct ms_error *err = ms_maps_stream_each(pid, MS_MAPS_SMAPS, match_mapping, &ms);
	*found_ret = ms.found;
	return err;
}

static struct ms_error *check_address(struct vtop_job *job, uint64_t addr,
				      const struct ms_vma **vma_ret)
{
	bool found;
	struct ms_error *err = find_mapping(job->pid, addr, &job->vma, job->vma_name,
					    sizeof(job->vma_name), &found);
	if (err)
		return err;
	const struct ms_vma *vma = found ? &job->vma : NULL;
	if (vma && vma->kind == MS_VMA_VSYSCALL)
		return ms_error_create(MS_ERROR_INVALID,
				       "0x%" PRIx64
				       " is in the [vsyscall] page: a kernel page that "
				       "is in no process's page tables",
				       addr);
	if (vma) {
		*vma_ret = vma;
		return NULL;
	}
	if (addr >> 63)
		return ms_error_create(MS_ERROR_INVALID,
				       "0x%" PRIx64 " is a kernel address: vtop translates user "
				       "addresses of a process",
				       addr);
	/* pagemap ends where the process's address space does */
	uint64_t entry;
	err = ms_pagemap_read(&job->pm, addr, 1, &entry);
	if (err)
		return err;
	err = ms_error_create(MS_ERROR_NOT_MAPPED, "0x%" PRIx64 " is not mapped in process %d",
			      addr, (int)job->pid);
	if (err != &ms_error_no_memory)
		err->address = addr;
	return err;
}

static enum vtop_state state_of(const struct ms_vma *vma, uint64_t entry)
{
	if (entry & MS_PM_PRESENT)
		return VT_PRESENT;
	if (!(entry & MS_PM_GUARD) && (entry & MS_PM_SWAP))
		return VT_SWAP;
	if ((entry & MS_PM_GUARD) || !(vma->prot & (MS_PROT_READ | MS_PROT_WRITE | MS_PROT_EXEC)))
		return VT_NOT_ACCESSIBLE;
	if (vma->name && ms_vma_is_file(vma))
		return VT_FILE;
	return VT_NOT_MAPPED;
}

static void print_kpf_names(FILE *f, uint64_t kpf)
{
	for (unsigned b = 0; b < 64; b++) {
		if (!(kpf & MS_KPF(b)))
			continue;
		const char *name = ms_kpageflag_name(b);
		if (name)
			fprintf(f, " %s", name);
		else
			fprintf(f, " BIT%u", b);
	}
}

static bool is_thp(const struct ms_page_detail *info)
{
	if (info->have_kpf)
		return (info->kpf & MS_KPF(MS_KPF_THP)) && !(info->kpf & MS_KPF(MS_KPF_ZERO_PAGE));
	return info->have_categories && (info->categories & MS_PC_HUGE) &&
	       !(info->categories & MS_PC_PFNZERO);
}

static bool is_zero(const struct ms_page_detail *info)
{
	return (info->have_kpf && (info->kpf & MS_KPF(MS_KPF_ZERO_PAGE))) ||
	       (info->have_categories && (info->categories & MS_PC_PFNZERO));
}

static void text_compound(struct vtop_job *job, const struct ms_page_detail *info,
			  const struct ms_vma *s)
{
	size_t page = job->page;
	uint64_t pfn = ms_pm_pfn(info->entry);
	bool pmd = info->have_categories && (info->categories & MS_PC_HUGE);
	const char *kind = "compound page";
	if (info->have_kpf && (info->kpf & MS_KPF(MS_KPF_HUGE)))
		kind = "hugetlb page";
	else if (info->have_kpf && (info->kpf & MS_KPF(MS_KPF_ZERO_PAGE)))
		kind = "huge zero page";
	else if (is_thp(info))
		kind = "THP";
	if (s && (s->vm_flags & MS_VM_HUGETLB))
		kind = "hugetlb page";
	if (info->in_folio) {
		char size[32];
		out_size(size, info->nr_pages * page);
		bool head = pfn == info->head_pfn;
		printf("         THP: %s %s", head ? "head page of a" : "tail page of a", size);
		printf(" %s%s\n", kind, pmd ? ", mapped by a PMD" : ", mapped by PTEs");
		printf("       FRAME: %" PRIx64 "-%" PRIx64 "  (head PFN %" PRIx64 ", page %" PRIu64
		       " of %" PRIu64 ")\n",
		       info->head_pfn * page, (info->head_pfn + info->nr_pages) * page,
		       info->head_pfn, pfn - info->head_pfn, info->nr_pages);
	} else if (pmd) {
		uint64_t vstart = info->vaddr & ~(uint64_t)(2 * 1024 * 1024 - 1);
		printf("         THP: %s mapped by a PMD (2 MiB: virtual %" PRIx64 "-%" PRIx64
		       ")\n",
		       kind, vstart, vstart + 2 * 1024 * 1024);
	} else {
		printf("         THP: no\n");
	}
}

static void json_compound(struct vtop_job *job, const struct ms_page_detail *info)
{
	struct json *j = job->j;
	uint64_t pfn = ms_pm_pfn(info->entry);
	bool pmd = info->have_categories && (info->categories & MS_PC_HUGE);
	json_kv_bool(j, "thp", is_thp(info));
	if (info->have_categories)
		json_kv_bool(j, "pmd_mapped", pmd);
	else
		json_kv_null(j, "pmd_mapped");
	if (info->in_folio) {
		json_key(j, "compound");
		json_begin_object(j);
		json_kv_bool(j, "head", pfn == info->head_pfn);
		json_kv_hex(j, "head_pfn", info->head_pfn);
		json_kv_u64(j, "pages", info->nr_pages);
		json_kv_u64(j, "index", pfn - info->head_pfn);
		json_kv_hex(j, "frame_start", info->head_pfn * job->page);
		json_kv_hex(j, "frame_end", (info->head_pfn + info->nr_pages) * job->page);
		json_end_object(j);
	} else {
		json_kv_null(j, "compound");
	}
}

static void print_one_text(struct vtop_job *job, uint64_t addr, const struct ms_vma *vma,
			   const struct ms_page_detail *info)
{
	size_t page = job->page;
	uint64_t in_page = addr % page;
	uint64_t e = info->entry;
	enum vtop_state st = state_of(vma, e);
	bool root = job->pm.pfn_visible;
	printf("VIRTUAL     PHYSICAL\n");
	printf("%-10" PRIx64 "  ", addr);
	switch (st) {
	case VT_PRESENT:
		if (root)
			printf("%" PRIx64 "\n", ms_pm_pfn(e) * page + in_page);
		else
			printf("(present: the physical address needs CAP_SYS_ADMIN)\n");
		break;
	case VT_SWAP:
		vm_swap_text(NULL, find_swap(job, e), e);
		putchar('\n');
		break;
	case VT_FILE:
		vm_file_text(NULL, vma, addr);
		putchar('\n');
		break;
	case VT_NOT_MAPPED:
		printf("(not mapped)\n");
		break;
	case VT_NOT_ACCESSIBLE:
		printf("(not accessible)\n");
		break;
	}
	printf("\n     PAGEMAP: %016" PRIx64 " ", e);
	bool any = false;
	for (size_t i = 0; i < sizeof(pm_bits) / sizeof(pm_bits[0]); i++) {
		if (e & pm_bits[i].bit) {
			printf(" %s", pm_bits[i].name);
			any = true;
		}
	}
	if (!any)
		printf(" none (no page-table entry)");
	if (st == VT_PRESENT && !root)
		printf("  (PFN hidden: needs CAP_SYS_ADMIN)");
	printf("\n");
	if (st == VT_PRESENT) {
		if (root)
			printf("         PFN: %" PRIx64 "\n", ms_pm_pfn(e));
		if (info->have_kpf) {
			printf("  KPAGEFLAGS: %016" PRIx64 " ", info->kpf);
			print_kpf_names(stdout, info->kpf);
			printf("\n");
			printf("   MAP COUNT: %" PRIu64 "%s%s\n", info->mapcount,
			       is_zero(info) ? " (the zero page is not counted)" : "",
			       job->self_maps ? " (one of them memscope's own)" : "");
		} else {
			printf("  KPAGEFLAGS: (needs CAP_SYS_ADMIN)\n");
			printf("   MAP COUNT: (needs CAP_SYS_ADMIN; pagemap says %s%s)\n",
			       (e & MS_PM_EXCLUSIVE) ? "mapped once" : "mapped more than once",
			       job->self_maps ? ", memscope's own mapping included" : "");
		}
		const struct ms_vma *s = vma->has_smaps ? vma : NULL;
		if (is_zero(info))
			printf("   ZERO PAGE: yes (reads as zeros; no memory of its own)\n");
		if (info->have_kpf && (info->kpf & MS_KPF(MS_KPF_KSM)))
			printf("         KSM: yes (merged with identical pages)\n");
		text_compound(job, info, s);
	} else if (st == VT_SWAP) {
		printf("        SWAP: type %u offset %" PRIu64 "\n", ms_pm_swap_type(e),
		       ms_pm_swap_offset(e));
	} else if (e & MS_PM_GUARD) {
		printf("       GUARD: a guard region (MADV_GUARD_INSTALL): any access faults\n");
	}
	char perms[5], flags[24];
	ms_vma_perms(vma, perms);
	snprintf(flags, sizeof(flags), "%" PRIx64, vma->vm_flags);
	putchar('\n');
	vm_mapping_header(NULL);
	vm_mapping_line(NULL, vma, flags);
	printf("       PERMS: %s\n", perms);
	if (ms_vma_is_file(vma))
		printf(" FILE OFFSET: %" PRIx64 "\n", vma->offset + (addr - vma->start));
}

static void print_one_json(struct vtop_job *job, uint64_t addr, const struct ms_vma *vma,
			   const struct ms_page_detail *info)
{
	struct json *j = job->j;
	size_t page = job->page;
	uint64_t e = info->entry;
	enum vtop_state st = state_of(vma, e);
	bool root = job->pm.pfn_visible;
	json_kv_string(j, "state", state_names[st]);
	if (st == VT_PRESENT && root) {
		json_kv_hex(j, "paddr", ms_pm_pfn(e) * page + addr % page);
		json_kv_hex(j, "pfn", ms_pm_pfn(e));
	} else {
		json_kv_null(j, "paddr");
		json_kv_null(j, "pfn");
	}
	json_kv_hex(j, "pagemap", e);
	json_key(j, "pagemap_bits");
	json_begin_object(j);
	for (size_t i = 0; i < sizeof(pm_bits) / sizeof(pm_bits[0]); i++) {
		const char *name = pm_json_name(pm_bits[i].bit);
		json_kv_bool(j, name ? name : pm_bits[i].name, (e & pm_bits[i].bit) != 0);
	}
	json_end_object(j);
	if (st == VT_PRESENT && info->have_kpf) {
		json_kv_hex(j, "kpageflags", info->kpf);
		json_key(j, "kpageflags_names");
		json_begin_array(j);
		for (unsigned b = 0; b < 64; b++) {
			if (!(info->kpf & MS_KPF(b)))
				continue;
			const char *name = ms_kpageflag_name(b);
			char buf[16];
			if (!name) {
				snprintf(buf, sizeof(buf), "BIT%u", b);
				name = buf;
			}
			json_string(j, name);
		}
		json_end_array(j);
		json_kv_u64(j, "map_count", info->mapcount);
	} else {
		json_kv_null(j, "kpageflags");
		json_kv_null(j, "map_count");
	}
	if (st == VT_PRESENT) {
		json_kv_bool(j, "zero_page", is_zero(info));
		json_kv_bool(j, "memscope_maps_it", job->self_maps);
		if (info->have_kpf)
			json_kv_bool(j, "ksm", (info->kpf & MS_KPF(MS_KPF_KSM)) != 0);
		json_compound(job, info);
	}
	if (st == VT_SWAP) {
		const struct ms_swap_area *a = find_swap(job, e);
		json_key(j, "swap");
		json_begin_object(j);
		if (a)
			json_kv_string(j, "device", a->path);
		else
			json_kv_null(j, "device");
		json_kv_u64(j, "type", ms_pm_swap_type(e));
		json_kv_u64(j, "offset", ms_pm_swap_offset(e));
		json_end_object(j);
	}
	char perms[5];
	ms_vma_perms(vma, perms);
	json_key(j, "mapping");
	json_begin_object(j);
	json_kv_hex(j, "start", vma->start);
	json_kv_hex(j, "end", vma->end);
	if (vma->has_smaps)
		json_kv_hex(j, "flags", vma->vm_flags);
	else
		json_kv_null(j, "flags");
	json_kv_string(j, "perms", perms);
	if (vma->name)
		json_kv_string(j, "file", vma->name);
	else
		json_kv_null(j, "file");
	if (ms_vma_is_file(vma))
		json_kv_hex(j, "file_offset", vma->offset + (addr - vma->start));
	json_end_object(j);
}

static struct ms_error *vtop_one(struct vtop_job *job, uint64_t addr)
{
	const struct ms_vma *vma = NULL;
	struct ms_error *err = check_address(job, addr, &vma);
	if (err)
		return err;
	struct ms_page_detail info;
	err = ms_page_detail_get(&job->pm, &job->kp, addr, &info);
	if (!err)
		err = ms_self_share_maps_page(job->self, vma, addr - addr % job->page, info.entry,
					      &job->self_maps);
	if (err)
		return err;
	if (job->j) {
		print_one_json(job, addr, vma, &info);
	} else {
		if (job->printed)
			printf("\n");
		print_one_text(job, addr, vma, &info);
	}
	job->printed++;
	return NULL;
}

int cmd_vtop(struct cli_ctx *ctx, int argc, char **argv)
{
	pid_t pid = 0;
	int c;
	opterr = 0;
	while ((c = getopt(argc, argv, "+c:uk")) != -1) {
		switch (c) {
		case 'c':
			if (!cli_parse_pid(optarg, &pid))
				return cli_usage(ctx, "invalid process id '%s'", optarg);
			break;
		case 'u':
			break;
		case 'k':
			return cli_usage(ctx, "kernel addresses need kernel memory: memscope "
					      "translates user addresses only");
		case '?':
			if (optopt == 'c')
				return cli_usage(ctx, "-c needs a process id");
			return cli_usage(ctx, "unknown option '-%c'", optopt);
		default:
			return cli_usage(ctx, "unknown option");
		}
	}
	if (optind >= argc)
		return cli_usage(ctx, "needs an address");
	uint64_t *addrs = calloc((size_t)(argc - optind), sizeof(*addrs));
	if (!addrs)
		return cli_error(ctx, &ms_error_no_memory);
	size_t naddrs = 0;
	for (int i = optind; i < argc; i++) {
		if (!out_parse_addr(argv[i], &addrs[naddrs++])) {
			free(addrs);
			return cli_usage(ctx, "invalid address '%s'", argv[i]);
		}
	}

	struct vtop_job job = {.ctx = ctx, .page = ms_page_size()};
	job.j = ctx->session->json ? &ctx->json : NULL;
	ms_kpage_init(&job.kp);
	int status = CLI_OK;
	struct ms_error *err = cli_target(ctx, pid, &job.t);
	if (!err && ms_target_kind(job.t) != MS_TARGET_LIVE)
		err = ms_error_create(MS_ERROR_UNSUPPORTED,
				      "needs a live process, not a core file");
	if (!err) {
		job.pid = ms_target_pid(job.t);
		err = ms_pagemap_open(job.pid, &job.pm);
		job.pm_open = !err;
	}
	if (!err)
		err = ms_self_share_create(job.pid, &job.self);
	if (err) {
		free(addrs);
		if (job.pm_open)
			ms_pagemap_close(&job.pm);
		if (job.t)
			err = cli_explain_denied(job.t, err);
		int s = cli_error(ctx, err);
		return s == CLI_PARTIAL ? CLI_FAILED : s;
	}
	if (job.j)
		json_begin_array(job.j);
	for (size_t i = 0; i < naddrs; i++) {
		if (job.j) {
			json_begin_object(job.j);
			json_kv_hex(job.j, "vaddr", addrs[i]);
		}
		err = vtop_one(&job, addrs[i]);
		if (job.j) {
			if (err)
				json_kv_string(job.j, "error", err->message);
			json_end_object(job.j);
		}
		if (err) {
			int s = cli_error(ctx, err);
			if (s > status)
				status = s;
		}
	}
	if (job.j) {
		json_end_array(job.j);
		json_finish(job.j);
	}
	free(addrs);
	ms_swaps_destroy(job.swaps);
	ms_kpage_deinit(&job.kp);
	ms_self_share_destroy(job.self);
	ms_pagemap_close(&job.pm);
	return status;
}
