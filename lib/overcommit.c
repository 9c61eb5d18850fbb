/* SPDX-License-Identifier: MIT */
#include "overcommit.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "proclist.h"
#include "procfs.h"
#include "grow.h"

const char *ms_overcommit_mode_name(unsigned mode)
{
	switch (mode) {
	case MS_OVERCOMMIT_GUESS:
		return "heuristic";
	case MS_OVERCOMMIT_ALWAYS:
		return "always";
	case MS_OVERCOMMIT_NEVER:
		return "strict";
	}
	return "unknown";
}

const char *ms_overcommit_mode_explain(unsigned mode)
{
	switch (mode) {
	case MS_OVERCOMMIT_GUESS:
		return "refuse only a single mapping larger than RAM + swap; what is already "
		       "committed is not checked";
	case MS_OVERCOMMIT_ALWAYS:
		return "never refuse: every mapping succeeds, the OOM killer deals with what "
		       "cannot be backed";
	case MS_OVERCOMMIT_NEVER:
		return "refuse a charged mapping once Committed_AS would reach CommitLimit, "
		       "less the reserves";
	}
	return "not a mode this kernel documents";
}

void ms_overcommit_compute(struct ms_overcommit *oc)
{
	/* vm_commit_limit(): the integer arithmetic of mm/util.c, in pages. */
	uint64_t allowed;
	unsigned shift = 0;
	while ((UINT64_C(1) << shift) < oc->page_size)
		shift++;
	if (oc->kbytes)
		allowed = shift >= 10 ? oc->kbytes >> (shift - 10) : oc->kbytes;
	else {
		uint64_t ram = oc->totalram_pages > oc->hugetlb_pages
				       ? oc->totalram_pages - oc->hugetlb_pages
				       : 0;
		allowed = ram * oc->ratio / 100;
	}
	oc->commit_limit = allowed + oc->swap_pages;
	oc->headroom = (int64_t)oc->commit_limit - (int64_t)oc->committed;

	/* mm_compute_batch(OVERCOMMIT_NEVER), mm/mm_init.c */
	uint64_t nr = oc->present_cpus ? oc->present_cpus : 1;
	uint64_t floor = nr * 2 > 32 ? nr * 2 : 32;
	uint64_t sized = oc->totalram_pages / nr / 256;
	if (sized > INT32_MAX)
		sized = INT32_MAX;
	oc->batch_strict = sized > floor ? sized : floor;
	oc->slack = nr * oc->batch_strict;
}

/* "0-3,8-11" */
static unsigned count_cpu_list(const char *s)
{
	unsigned n = 0;
	while (*s && *s != '\n') {
		char *end;
		unsigned long a = strtoul(s, &end, 10), b = a;
		if (end == s)
			break;
		s = end;
		if (*s == '-') {
			b = strtoul(s + 1, &end, 10);
			s = end;
		}
		if (b >= a)
			n += (unsigned)(b - a + 1);
		if (*s == ',')
			s++;
	}
	return n;
}

struct ms_error *ms_overcommit_read(const char *root, struct ms_overcommit *oc)
{
	memset(oc, 0, sizeof(*oc));
	oc->page_size = (uint64_t)sysconf(_SC_PAGESIZE);
	static const struct {
		const char *name;
		size_t off;
	} sysctls[] = {
		{"vm.overcommit_ratio", offsetof(struct ms_overcommit, ratio)},
		{"vm.overcommit_kbytes", offsetof(struct ms_overcommit, kbytes)},
		{"vm.admin_reserve_kbytes", offsetof(struct ms_overcommit, admin_reserve_kbytes)},
		{"vm.user_reserve_kbytes", offsetof(struct ms_overcommit, user_reserve_kbytes)},
	};
	uint64_t mode;
	struct ms_error *err = ms_sysctl_read_u64(root, "vm.overcommit_memory", &mode);
	if (err)
		return err;
	oc->mode = (unsigned)mode;
	for (size_t i = 0; i < sizeof(sysctls) / sizeof(sysctls[0]); i++) {
		uint64_t *field = (uint64_t *)((char *)oc + sysctls[i].off);
		err = ms_sysctl_read_u64(root, sysctls[i].name, field);
		if (err && err->errnum == ENOENT) {
			/* overcommit_kbytes (3.14) and the reserves (3.10) are newer */
			ms_error_destroy(err);
			err = NULL;
		}
		if (err)
			return err;
	}

	struct ms_meminfo mi;
	err = ms_meminfo_read(root, &mi);
	if (err)
		return err;
	oc->totalram_pages = mi.v[MS_MI_MEM_TOTAL] / oc->page_size;
	oc->swap_pages = mi.v[MS_MI_SWAP_TOTAL] / oc->page_size;
	oc->has_kernel_limit = ms_meminfo_has(&mi, MS_MI_COMMIT_LIMIT);
	oc->kernel_commit_limit = mi.v[MS_MI_COMMIT_LIMIT] / oc->page_size;
	oc->has_committed = ms_meminfo_has(&mi, MS_MI_COMMITTED_AS);
	oc->committed = mi.v[MS_MI_COMMITTED_AS] / oc->page_size;

	/* Hugetlb: is every pool; the sysfs pools or HugePages_Total otherwise. */
	if (ms_meminfo_has(&mi, MS_MI_HUGETLB)) {
		oc->hugetlb_pages = mi.v[MS_MI_HUGETLB] / oc->page_size;
	} else {
		uint64_t free_pages;
		err = ms_hugetlb_pages(root, &mi, oc->page_size, &oc->hugetlb_pages, &free_pages);
		if (err)
			return err;
	}

	char path[4096], *buf;
	oc->present_cpus = 0;
	if (ms_sysmem_path(root, "/sys/devices/system/cpu/present", path, sizeof(path)) &&
	    ms_procfs_try_read(path, &buf)) {
		oc->present_cpus = count_cpu_list(buf);
		free(buf);
	}
	if (!oc->present_cpus) {
		long n = sysconf(_SC_NPROCESSORS_CONF);
		oc->present_cpus = n > 0 ? (unsigned)n : 1;
	}
	ms_overcommit_compute(oc);
	return NULL;
}

/* ---- the process that would map ---- */

static uint64_t parse_limit(const char *limits, const char *name)
{
	const char *p = strstr(limits, name);
	if (!p)
		return UINT64_MAX;
	p += strlen(name);
	while (*p == ' ')
		p++;
	if (strncmp(p, "unlimited", 9) == 0)
		return UINT64_MAX;
	return strtoull(p, NULL, 10);
}

/* The user address space an mmap without a hint may use (TASK_SIZE). */
static uint64_t user_space_size(void)
{
	struct utsname u;
	if (uname(&u) == 0) {
		if (strcmp(u.machine, "x86_64") == 0)
			return (UINT64_C(1) << 47) - 4096; /* DEFAULT_MAP_WINDOW */
		if (strcmp(u.machine, "aarch64") == 0)
			return UINT64_C(1) << 48;
	}
	return 0;
}

/* The largest hole between mappings, above mmap_min_addr and below TASK_SIZE. */
static bool largest_gap(const char *maps, uint64_t *gap_ret, uint64_t *margin_ret)
{
	uint64_t top = user_space_size();
	if (!top)
		return false;
	uint64_t low = ms_sysctl_u64_or(NULL, "vm.mmap_min_addr", 65536), best = 0;
	uint64_t prev_end = low;
	for (const char *line = maps; *line;) {
		const char *end = strchr(line, '\n');
		if (!end)
			end = line + strlen(line);
		unsigned long long s, e;
		if (sscanf(line, "%llx-%llx", &s, &e) == 2 && s < top) {
			uint64_t start = s;
			/* the stack guard gap keeps 256 pages below [stack] free */
			const char *stack = memmem(line, (size_t)(end - line), "[stack]", 7);
			if (stack)
				start = start > (1u << 20) ? start - (1u << 20) : 0;
			if (start > prev_end && start - prev_end > best)
				best = start - prev_end;
			if (e > prev_end)
				prev_end = e;
		}
		line = *end ? end + 1 : end;
	}
	if (top > prev_end && top - prev_end > best)
		best = top - prev_end;
	*gap_ret = best;
	*margin_ret = low;
	return true;
}

struct ms_error *ms_mm_info_parse(const char *status, const char *limits, const char *maps,
				  struct ms_mm_info *mm)
{
	memset(mm, 0, sizeof(*mm));
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t v;
	ms_proc_status_name(status, mm->comm);
	if (!ms_procfs_field_u64(status, "VmSize", &v))
		return ms_error_create(MS_ERROR_INVALID,
				       "%s has no user address space "
				       "(a kernel thread?)",
				       mm->comm[0] ? mm->comm : "the process");
	mm->total_vm = v / page;
	if (ms_procfs_field_u64(status, "VmData", &v))
		mm->data_vm = v / page;
	const char *cap = strstr(status, "\nCapEff:");
	if (cap)
		mm->cap_sys_admin = (strtoull(cap + 8, NULL, 16) >> 21) & 1;
	mm->rlimit_as = limits ? parse_limit(limits, "Max address space") : UINT64_MAX;
	mm->rlimit_data = limits ? parse_limit(limits, "Max data size") : UINT64_MAX;
	if (maps)
		mm->gap_known = largest_gap(maps, &mm->largest_gap, &mm->gap_margin);
	return NULL;
}

struct ms_error *ms_mm_info_read(pid_t pid, struct ms_mm_info *mm)
{
	pid_t p = pid > 0 ? pid : getpid();
	char *status = NULL, *limits = NULL, *maps = NULL;
	struct ms_error *err = ms_procfs_read_pid(p, "status", &status, NULL);
	if (err)
		goto out;
	err = ms_procfs_read_pid(p, "limits", &limits, NULL);
	if (err)
		goto out;
	/* maps of another user's process needs ptrace rights: then no gap */
	struct ms_error *merr = ms_procfs_read_pid(p, "maps", &maps, NULL);
	if (merr) {
		ms_error_destroy(merr);
		maps = NULL;
	}
	err = ms_mm_info_parse(status, limits, maps, mm);
	if (!err)
		mm->pid = p;
out:
	free(maps);
	free(limits);
	free(status);
	return err;
}

/* ---- would this mmap succeed ---- */

const char *ms_whatif_verdict_name(enum ms_whatif_verdict v)
{
	switch (v) {
	case MS_WHATIF_OK:
		return "succeeds";
	case MS_WHATIF_INVALID:
		return "invalid";
	case MS_WHATIF_TOO_LARGE:
		return "larger than the address space";
	case MS_WHATIF_NO_GAP:
		return "no free address range";
	case MS_WHATIF_RLIMIT_AS:
		return "RLIMIT_AS";
	case MS_WHATIF_RLIMIT_DATA:
		return "RLIMIT_DATA";
	case MS_WHATIF_HEURISTIC:
		return "more than RAM + swap";
	case MS_WHATIF_COMMIT_LIMIT:
		return "over the commit limit";
	}
	return "?";
}

void ms_overcommit_whatif(const struct ms_overcommit *oc, const struct ms_mm_info *mm,
			  uint64_t size, unsigned flags, struct ms_whatif *w)
{
	memset(w, 0, sizeof(*w));
	uint64_t page = oc->page_size;
	w->size = size;
	w->flags = flags;
	w->user_space = user_space_size();
	w->heuristic_limit = oc->totalram_pages + oc->swap_pages;

	/* Which rule charges it (do_mmap's MAP_NORESERVE, accountable_mapping, shmem). */
	bool noreserve = (flags & MS_MAP_NORESERVE) && oc->mode != MS_OVERCOMMIT_NEVER;
	if (flags & MS_MAP_SHARED) {
		w->rule = noreserve ? MS_CHARGE_NORESERVE : MS_CHARGE_SHARED_ANON;
		w->charged = !noreserve;
	} else if (flags & MS_MAP_READONLY) {
		w->rule = MS_CHARGE_PRIVATE_READONLY;
		w->charged = false;
	} else if (noreserve) {
		w->rule = MS_CHARGE_NORESERVE;
		w->charged = false;
	} else {
		w->rule = (flags & MS_MAP_NORESERVE) ? MS_CHARGE_NORESERVE_STRICT
						     : MS_CHARGE_PRIVATE_WRITABLE;
		w->charged = true;
	}

	/* do_mmap: a zero length is EINVAL, PAGE_ALIGN must not wrap, len <= TASK_SIZE. */
	if (size == 0) {
		w->verdict = MS_WHATIF_INVALID;
		return;
	}
	if (size > UINT64_MAX - (page - 1)) {
		w->verdict = MS_WHATIF_TOO_LARGE;
		return;
	}
	w->pages = (size + page - 1) / page;
	uint64_t bytes = w->pages * page;
	if (w->user_space && bytes > w->user_space) {
		w->verdict = MS_WHATIF_TOO_LARGE;
		return;
	}
	/* get_unmapped_area */
	if (mm && mm->gap_known && bytes > mm->largest_gap) {
		w->verdict = MS_WHATIF_NO_GAP;
		return;
	}
	/* mmap_region: may_expand_vm */
	if (mm) {
		if (mm->rlimit_as != UINT64_MAX && mm->total_vm + w->pages > mm->rlimit_as / page) {
			w->verdict = MS_WHATIF_RLIMIT_AS;
			return;
		}
		bool data = !(flags & (MS_MAP_SHARED | MS_MAP_READONLY));
		if (data && mm->rlimit_data != UINT64_MAX &&
		    mm->data_vm + w->pages > mm->rlimit_data / page) {
			w->verdict = MS_WHATIF_RLIMIT_DATA;
			return;
		}
	}
	if (mm && mm->gap_known && bytes + mm->gap_margin > mm->largest_gap)
		w->borderline = true;
	if (!w->charged) {
		w->ok = true;
		return;
	}
	/* __vm_enough_memory(mm, pages, cap_sys_admin) */
	switch (oc->mode) {
	case MS_OVERCOMMIT_ALWAYS:
		w->ok = true;
		return;
	case MS_OVERCOMMIT_GUESS:
		if (w->pages > w->heuristic_limit) {
			w->verdict = MS_WHATIF_HEURISTIC;
			return;
		}
		w->ok = true;
		return;
	default:
		break;
	}
	int64_t allowed = (int64_t)oc->commit_limit;
	unsigned shift = 0;
	while ((UINT64_C(1) << shift) < page)
		shift++;
	if (!(mm && mm->cap_sys_admin))
		w->admin_reserve = oc->admin_reserve_kbytes >> (shift - 10);
	allowed -= (int64_t)w->admin_reserve;
	if (mm) {
		uint64_t reserve = oc->user_reserve_kbytes >> (shift - 10);
		w->user_reserve = mm->total_vm / 32 < reserve ? mm->total_vm / 32 : reserve;
		allowed -= (int64_t)w->user_reserve;
	}
	w->allowed = allowed;
	w->committed_after = oc->committed + w->pages;
	/* vm_acct_memory(pages) first, then percpu_counter_read_positive() < allowed */
	w->ok = (int64_t)w->committed_after < allowed;
	int64_t distance = (int64_t)w->committed_after - allowed;
	if (distance < 0)
		distance = -distance;
	w->borderline |= (uint64_t)distance <= oc->slack;
	if (!w->ok)
		w->verdict = MS_WHATIF_COMMIT_LIMIT;
}

/* ---- who holds the commitments ---- */

static bool has_flag(const char *flags, const char *end, const char *flag)
{
	for (const char *p = flags; p + 2 <= end; p++) {
		if (p[0] == flag[0] && p[1] == flag[1] && (p == flags || p[-1] == ' ') &&
		    (p + 2 == end || p[2] == ' ' || p[2] == '\n'))
			return true;
	}
	return false;
}

void ms_committer_from_smaps(const char *smaps, struct ms_committer *c)
{
	uint64_t size = 0;
	bool shared_anon = false;
	c->committed = c->shared_anon = c->total_vm = 0;
	for (const char *line = smaps; *line;) {
		const char *end = strchr(line, '\n');
		if (!end)
			end = line + strlen(line);
		/* headers start with a lower-case hex address; fields with a capital */
		if ((*line >= '0' && *line <= '9') || (*line >= 'a' && *line <= 'f')) {
			unsigned long long s, e;
			char perms[5] = "";
			int name_at = 0;
			size = 0;
			shared_anon = false;
			if (sscanf(line, "%llx-%llx %4s %*s %*s %*s %n", &s, &e, perms, &name_at) >=
			    3) {
				size = e > s ? e - s : 0;
				const char *name = name_at ? line + name_at : end;
				if (name > end)
					name = end;
				if (perms[3] == 's' && (strncmp(name, "/dev/zero", 9) == 0 ||
							strncmp(name, "[anon_shmem", 11) == 0 ||
							strncmp(name, "/SYSV", 5) == 0))
					shared_anon = true;
				c->total_vm += size;
			}
		} else if (strncmp(line, "VmFlags:", 8) == 0) {
			if (has_flag(line + 8, end, "ac"))
				c->committed += size;
			else if (shared_anon && !has_flag(line + 8, end, "nr"))
				c->shared_anon += size;
			size = 0;
		}
		line = *end ? end + 1 : end;
	}
}

static int committer_cmp(const void *a, const void *b)
{
	const struct ms_committer *x = a, *y = b;
	if (x->committed != y->committed)
		return x->committed < y->committed ? 1 : -1;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

void ms_committers_deinit(struct ms_committers *c)
{
	free(c->list);
	memset(c, 0, sizeof(*c));
}

struct committers_scan {
	struct ms_committers *c;
	size_t cap;
};

static struct ms_error *add_committer(void *arg, pid_t pid, const char *smaps, bool *stop_ret)
{
	struct committers_scan *scan = arg;
	struct ms_committers *c = scan->c;
	(void)stop_ret;
	struct ms_committer one = {.pid = pid};
	ms_committer_from_smaps(smaps, &one);
	if (!one.total_vm)
		return NULL; /* kernel thread */
	c->processes++;
	c->sum += one.committed;
	struct ms_committer *l = ms_grow(c->list, c->count, &scan->cap, sizeof(*l), 64);
	if (!l)
		return &ms_error_no_memory;
	c->list = l;
	c->list[c->count++] = one;
	return NULL;
}

struct ms_error *ms_overcommit_committers(size_t top, struct ms_committers *c)
{
	memset(c, 0, sizeof(*c));
	struct committers_scan scan = {.c = c};
	struct ms_error *err =
		ms_proc_each("smaps", MS_PROC_EACH_OTHERS, add_committer, &scan, &c->unreadable);
	if (err) {
		ms_committers_deinit(c);
		return err;
	}
	if (c->count > 1)
		qsort(c->list, c->count, sizeof(*c->list), committer_cmp);
	if (c->count > top)
		c->count = top;
	for (size_t i = 0; i < c->count; i++)
		ms_proc_comm(c->list[i].pid, c->list[i].comm);
	return NULL;
}
