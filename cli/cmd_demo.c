/* SPDX-License-Identifier: MIT */
/*
 * demo firsttouch: an anonymous mapping before and after its first read and
 * its first write, watched from outside. A forked child owns the mapping and
 * touches it on command; the parent reads the child's pagemap, smaps and
 * status between the steps (the child does nothing else, so its RSS moves
 * only with the touches): not present -> the shared zero page -> a page of
 * its own, and the commit charged at mmap against the RSS that grows on
 * write.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../lib/maps.h"
#include "../lib/overcommit.h"
#include "../lib/pagemap.h"
#include "../lib/procfs.h"
#include "../lib/sysmem.h"
#include "commands.h"

enum { DEMO_PAGES_SHOWN = 2 };

struct page_view {
	uint64_t entry;
	bool flags_known;
	uint64_t kflags;
};

struct probe {
	const char *step;
	const char *what;
	bool mapped;
	struct page_view page[DEMO_PAGES_SHOWN];
	bool vma_found;
	uint64_t vma_size, vma_rss;
	bool vma_charged;
	uint64_t rss_anon;
	uint64_t committed_as;
};

/*
 * The child: map, touch, unmap on command; exit when the pipe closes. Raw
 * system calls and no sanitizer instrumentation: a sanitizer's mmap wrapper
 * writes shadow memory, which would move the RSS the demo is about.
 */
__attribute__((no_sanitize("address", "undefined"))) static void child_main(int in, int out,
									    size_t pages)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	volatile char *p = NULL;
	uintptr_t ready = 0;
	char c;
	/* say when settled, so that "before" is not taken mid-start */
	if (syscall(SYS_write, out, &ready, sizeof(ready)) != (long)sizeof(ready))
		_exit(4);
	while (syscall(SYS_read, in, &c, 1) == 1) {
		switch (c) {
		case 'm':
			p = (volatile char *)syscall(SYS_mmap, NULL, pages * page,
						     PROT_READ | PROT_WRITE,
						     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			if (p == MAP_FAILED)
				_exit(3);
			/* keep (m)THP out of it: one fault, one base page */
			syscall(SYS_madvise, (void *)p, pages * page, MADV_NOHUGEPAGE);
			break;
		case 'r':
			(void)p[0];
			break;
		case 'w':
			p[0] = 1;
			break;
		case 'W':
			p[page] = 1;
			break;
		case 'u':
			syscall(SYS_munmap, (void *)p, pages * page);
			p = NULL;
			break;
		default:
			_exit(0);
		}
		uintptr_t addr = (uintptr_t)p;
		if (syscall(SYS_write, out, &addr, sizeof(addr)) != (long)sizeof(addr))
			_exit(4);
	}
	_exit(0);
}

static struct ms_error *take_probe(pid_t child, uint64_t addr, struct probe *pr)
{
	char *status;
	struct ms_error *err = ms_procfs_read_pid(child, "status", &status, NULL);
	if (err)
		return err;
	ms_procfs_field_u64(status, "RssAnon", &pr->rss_anon);
	free(status);
	struct ms_meminfo mi;
	if ((err = ms_meminfo_read(NULL, &mi)))
		return err;
	pr->committed_as = mi.v[MS_MI_COMMITTED_AS];
	if (!pr->mapped)
		return NULL;
	struct ms_pagemap pm;
	if ((err = ms_pagemap_open(child, &pm)))
		return err;
	uint64_t entries[DEMO_PAGES_SHOWN];
	err = ms_pagemap_read(&pm, addr, DEMO_PAGES_SHOWN, entries);
	ms_pagemap_close(&pm);
	if (err)
		return err;
	for (int i = 0; i < DEMO_PAGES_SHOWN; i++) {
		pr->page[i].entry = entries[i];
		uint64_t pfn = ms_pm_pfn(entries[i]);
		if ((entries[i] & MS_PM_PRESENT) && pm.pfn_visible && pfn) {
			struct ms_kpage kp;
			ms_kpage_init(&kp);
			err = ms_kpage_flags(&kp, pfn, 1, &pr->page[i].kflags);
			ms_kpage_deinit(&kp);
			if (err)
				return err;
			pr->page[i].flags_known = true;
		}
	}
	struct ms_maps *maps;
	if ((err = ms_maps_read_pid(child, MS_MAPS_SMAPS, &maps)))
		return err;
	const struct ms_vma *v = ms_maps_find(maps, addr);
	if (v) {
		pr->vma_found = true;
		pr->vma_size = v->end - v->start;
		pr->vma_rss = v->usage.rss;
		pr->vma_charged = v->vm_flags & MS_VM_ACCOUNT;
	}
	ms_maps_destroy(maps);
	return NULL;
}

static const char *page_state(char *buf, size_t len, const struct page_view *p, bool pfn_visible)
{
	uint64_t e = p->entry;
	if (!(e & MS_PM_PRESENT)) {
		snprintf(buf, len, "%s", (e & MS_PM_SWAP) ? "swapped out" : "not present");
		return buf;
	}
	if (!pfn_visible) {
		/*
		 * Without CAP_SYS_ADMIN the PFN reads as 0, but the exclusive bit
		 * is still there: the zero page is never exclusively mapped.
		 */
		snprintf(buf, len, "%s (PFN hidden)",
			 (e & MS_PM_EXCLUSIVE) ? "own page" : "shared: zero page");
		return buf;
	}
	bool zero = p->flags_known && ((p->kflags & MS_KPF(MS_KPF_ZERO_PAGE)) != 0);
	snprintf(buf, len, "%s pfn %#" PRIx64 "%s", zero ? "zero page," : "own page,", ms_pm_pfn(e),
		 (e & MS_PM_EXCLUSIVE) ? " excl" : "");
	return buf;
}

static void json_page(struct json *j, const struct page_view *p, bool pfn_visible)
{
	uint64_t e = p->entry;
	json_begin_object(j);
	json_kv_hex(j, "entry", e);
	json_kv_bool(j, "present", e & MS_PM_PRESENT);
	json_kv_bool(j, "swapped", e & MS_PM_SWAP);
	json_kv_bool(j, "exclusive", e & MS_PM_EXCLUSIVE);
	if ((e & MS_PM_PRESENT) && pfn_visible) {
		json_kv_u64(j, "pfn", ms_pm_pfn(e));
		if (p->flags_known) {
			json_kv_bool(j, "zero_page", (p->kflags & MS_KPF(MS_KPF_ZERO_PAGE)) != 0);
			json_kv_bool(j, "anon", (p->kflags & MS_KPF(MS_KPF_ANON)) != 0);
		}
	} else {
		json_kv_null(j, "pfn");
	}
	json_end_object(j);
}

static int firsttouch(struct cli_ctx *ctx, size_t pages)
{
	static const struct {
		char cmd;
		const char *step, *what;
	} steps[] = {
		{0, "before", "before mmap"},
		{'m', "mmap", "mmap"},
		{'r', "read", "read page 0"},
		{'w', "write", "write page 0"},
		{'W', "write-untouched", "write page 1"},
		{'u', "munmap", "munmap"},
	};
	enum { NSTEPS = sizeof(steps) / sizeof(steps[0]) };
	struct probe probes[NSTEPS];
	memset(probes, 0, sizeof(probes));
	int to_child[2], from_child[2];
	if (pipe2(to_child, O_CLOEXEC) != 0)
		return cli_error(ctx, ms_error_errno(errno, "pipe"));
	if (pipe2(from_child, O_CLOEXEC) != 0) {
		close(to_child[0]);
		close(to_child[1]);
		return cli_error(ctx, ms_error_errno(errno, "pipe"));
	}
	fflush(stdout);
	fflush(stderr);
	pid_t child = fork();
	if (child < 0) {
		int e = errno;
		close(to_child[0]);
		close(to_child[1]);
		close(from_child[0]);
		close(from_child[1]);
		return cli_error(ctx, ms_error_errno(e, "fork"));
	}
	if (child == 0) {
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		close(to_child[1]);
		close(from_child[0]);
		child_main(to_child[0], from_child[1], pages);
	}
	close(to_child[0]);
	close(from_child[1]);

	struct ms_error *err = NULL;
	uint64_t addr = 0;
	for (size_t i = 0; i < NSTEPS; i++) {
		/* step 0 waits for the child's "ready", the others for its reply */
		uintptr_t reply;
		if ((steps[i].cmd && write(to_child[1], &steps[i].cmd, 1) != 1) ||
		    read(from_child[0], &reply, sizeof(reply)) != sizeof(reply)) {
			err = ms_error_create(MS_ERROR_OTHER,
					      "the demo process %d stopped answering "
					      "(could not mmap?)",
					      (int)child);
			break;
		}
		if (steps[i].cmd == 'm')
			addr = reply;
		probes[i].step = steps[i].step;
		probes[i].what = steps[i].what;
		probes[i].mapped = addr && steps[i].cmd != 'u' && i > 0;
		if ((err = take_probe(child, addr, &probes[i])))
			break;
	}
	close(to_child[1]); /* the child exits on end of file */
	close(from_child[0]);
	int wstatus;
	if (err)
		kill(child, SIGKILL);
	waitpid(child, &wstatus, 0);
	if (err)
		return cli_error(ctx, err);

	uint64_t page = ms_page_size();
	bool pfn_visible = ms_pagemap_pfn_visible();
	unsigned mode = (unsigned)ms_sysctl_u64_or(NULL, "vm.overcommit_memory", 0);
	uint64_t zero_pfn = 0;
	if (probes[2].page[0].flags_known && (probes[2].page[0].kflags & MS_KPF(MS_KPF_ZERO_PAGE)))
		zero_pfn = ms_pm_pfn(probes[2].page[0].entry);
	char a[32], b[32], d[32], e[32];

	if (ctx->session->json) {
		struct json *j = &ctx->json;
		json_begin_object(j);
		json_kv_i64(j, "child_pid", child);
		json_kv_hex(j, "address", addr);
		json_kv_u64(j, "pages", pages);
		json_kv_u64(j, "page_size", page);
		json_kv_bool(j, "pfn_visible", pfn_visible);
		json_kv_u64(j, "overcommit_mode", mode);
		if (zero_pfn)
			json_kv_u64(j, "zero_pfn", zero_pfn);
		else
			json_kv_null(j, "zero_pfn");
		json_key(j, "steps");
		json_begin_array(j);
		for (size_t i = 0; i < NSTEPS; i++) {
			const struct probe *p = &probes[i];
			json_begin_object(j);
			json_kv_string(j, "step", p->step);
			json_kv_string(j, "what", p->what);
			json_kv_bool(j, "mapped", p->mapped);
			json_key(j, "pages");
			json_begin_array(j);
			for (int k = 0; p->mapped && k < DEMO_PAGES_SHOWN; k++)
				json_page(j, &p->page[k], pfn_visible);
			json_end_array(j);
			if (p->vma_found) {
				json_kv_u64(j, "mapping_size", p->vma_size);
				json_kv_u64(j, "mapping_rss_bytes", p->vma_rss);
				json_kv_bool(j, "mapping_charged", p->vma_charged);
			} else {
				json_kv_null(j, "mapping_size");
			}
			json_kv_u64(j, "rss_anon_bytes", p->rss_anon);
			json_kv_u64(j, "committed_as_bytes", p->committed_as);
			json_end_object(j);
		}
		json_end_array(j);
		json_end_object(j);
		json_finish(j);
		return CLI_OK;
	}

	printf("First touch of anonymous memory: mmap(NULL, %zu pages = %s, PROT_READ|PROT_WRITE, "
	       "MAP_PRIVATE|MAP_ANONYMOUS)\n"
	       "in a child process (pid %d) that touches it on command; memscope reads its "
	       "pagemap, smaps and status between the steps.\n\n",
	       pages, out_size(a, pages * page), (int)child);
	printf("%-14s %-34s %-28s %12s %10s %10s\n", "STEP", "PAGE 0", "PAGE 1", "MAPPING RSS",
	       "RssAnon", "CHARGED");
	const struct probe *base = &probes[0];
	for (size_t i = 0; i < NSTEPS; i++) {
		const struct probe *p = &probes[i];
		char s0[64] = "-", s1[64] = "-", rss[32] = "-", charged[32] = "-";
		if (p->mapped) {
			page_state(s0, sizeof(s0), &p->page[0], pfn_visible);
			page_state(s1, sizeof(s1), &p->page[1], pfn_visible);
			if (p->vma_found) {
				out_size(rss, p->vma_rss);
				/* what this mapping added to Committed_AS: VM_ACCOUNT x size */
				out_size(charged, p->vma_charged ? p->vma_size : 0);
			}
		}
		int64_t dr = (int64_t)p->rss_anon - (int64_t)base->rss_anon;
		char rr[40];
		snprintf(rr, sizeof(rr), "%s%s", dr < 0 ? "-" : "+",
			 out_size(d, (uint64_t)(dr < 0 ? -dr : dr)));
		printf("%-14s %-34s %-28s %12s %10s %10s\n", p->what, s0, s1, rss, rr, charged);
	}
	int64_t dc = (int64_t)probes[1].committed_as - (int64_t)base->committed_as;
	const struct probe *m = &probes[1];
	printf("\n- mmap gave addresses only: no page is present, RSS did not move, but the "
	       "mapping was charged %s to Committed_AS at once (%s in smaps VmFlags; the "
	       "machine-wide Committed_AS moved by %s%s meanwhile, other processes included).\n",
	       out_size(a, m->vma_charged ? m->vma_size : 0),
	       m->vma_charged ? "\"ac\"" : "no \"ac\": not charged", dc < 0 ? "-" : "+",
	       out_size(b, (uint64_t)(dc < 0 ? -dc : dc)));
	printf("- The first read mapped the kernel's shared zero page%s: present, but no memory "
	       "of its own, so RSS stayed.\n",
	       zero_pfn ? (snprintf(e, sizeof(e), " (pfn %#" PRIx64 ")", zero_pfn), e)
			: (pfn_visible ? "" : " (PFNs need root to confirm it)"));
	printf("- The first write replaced it with a page of its own, zero-filled: RSS grew by "
	       "one page (%s). Page 1, written without a read, went straight to its own page.\n",
	       out_size(a, page));
	printf("- Commit counts what was promised (the whole mapping, at mmap); RSS counts what "
	       "is backed (page by page, on first write).\n");
	printf("- Overcommit mode %u (%s): %s.\n", mode, ms_overcommit_mode_name(mode),
	       ms_overcommit_mode_explain(mode));
	return CLI_OK;
}

int cmd_demo(struct cli_ctx *ctx, int argc, char **argv)
{
	enum { OPT_PAGES = 256 };
	static const struct option options[] = {
		{"pages", required_argument, NULL, OPT_PAGES},
		{NULL, 0, NULL, 0},
	};
	uint64_t pages = 16;
	int c;
	/* no '+': options may follow the demo's name (GNU argument permutation) */
	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		if (c != OPT_PAGES)
			return CLI_USAGE;
		if (!out_parse_count(optarg, &pages) || pages < 2 || pages > 65536)
			return cli_usage(ctx, "--pages wants a count from 2 to 65536, not '%s'",
					 optarg);
	}
	if (optind >= argc)
		return cli_usage(ctx, "which demo? (firsttouch)");
	if (strcmp(argv[optind], "firsttouch") != 0)
		return cli_usage(ctx, "no demo '%s' (there is: firsttouch)", argv[optind]);
	if (optind + 1 < argc)
		return cli_usage(ctx, "unexpected argument '%s'", argv[optind + 1]);
	return firsttouch(ctx, (size_t)pages);
}
