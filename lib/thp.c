/* SPDX-License-Identifier: MIT */
#include "thp.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "maps.h"
#include "proclist.h"
#include "procfs.h"
#include "grow.h"

#define THP_DIR "/sys/kernel/mm/transparent_hugepage"

bool ms_thp_choice(const char *text, char *buf, size_t len)
{
	const char *open = strchr(text, '[');
	const char *start, *end;
	if (open) {
		start = open + 1;
		end = strchr(start, ']');
		if (!end)
			return false;
	} else {
		start = text;
		while (*start == ' ' || *start == '\t')
			start++;
		end = start;
		while (*end && !isspace((unsigned char)*end))
			end++;
		if (end == start)
			return false;
	}
	size_t n = (size_t)(end - start);
	if (n >= len)
		n = len - 1;
	memcpy(buf, start, n);
	buf[n] = '\0';
	return true;
}

static void read_choice(const char *path, char *buf, size_t len)
{
	char *text;
	buf[0] = '\0';
	if (!ms_procfs_try_read(path, &text)) /* absent: leave "" */
		return;
	if (!ms_thp_choice(text, buf, len))
		buf[0] = '\0';
	free(text);
}

static int read_int_or(const char *path, int dflt)
{
	int64_t v;
	struct ms_error *err = ms_procfs_read_s64(path, &v);
	if (err) {
		ms_error_destroy(err);
		return dflt;
	}
	return (int)v;
}

static int name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/*
 * Every file of dir holding one number, as a kvfile ("name value" lines);
 * NULL in *kv_ret when the directory is absent or holds none.
 */
static struct ms_error *read_number_dir(const char *dir, struct ms_kvfile **kv_ret)
{
	*kv_ret = NULL;
	DIR *d = opendir(dir);
	if (!d)
		return NULL;
	char **names = NULL;
	size_t n = 0, cap = 0;
	struct ms_error *err = NULL;
	struct dirent *de;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.')
			continue;
		char **p = ms_grow(names, n, &cap, sizeof(*p), 32);
		if (!p) {
			err = &ms_error_no_memory;
			goto out;
		}
		names = p;
		if (!(names[n] = strdup(de->d_name))) {
			err = &ms_error_no_memory;
			goto out;
		}
		n++;
	}
	if (n > 1)
		qsort(names, n, sizeof(*names), name_cmp);
	size_t tcap = 256, tlen = 0;
	char *text = malloc(tcap);
	if (!text) {
		err = &ms_error_no_memory;
		goto out;
	}
	text[0] = '\0';
	for (size_t i = 0; i < n; i++) {
		char path[4400];
		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		int64_t v;
		struct ms_error *e = ms_procfs_read_s64(path, &v);
		if (e) { /* a directory or a non-number: not a counter */
			ms_error_destroy(e);
			continue;
		}
		if (v < 0)
			continue;
		size_t need = strlen(names[i]) + 32;
		if (tlen + need >= tcap) {
			tcap = (tcap + need) * 2;
			char *t = realloc(text, tcap);
			if (!t) {
				free(text);
				err = &ms_error_no_memory;
				goto out;
			}
			text = t;
		}
		tlen += (size_t)snprintf(text + tlen, tcap - tlen, "%s %lld\n", names[i],
					 (long long)v);
	}
	if (tlen)
		err = ms_kvfile_parse(text, kv_ret);
	free(text);
out:
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	closedir(d);
	return err;
}

struct ms_error *ms_thp_settings_read(const char *root, struct ms_thp_settings *s)
{
	memset(s, 0, sizeof(*s));
	s->use_zero_page = s->shrink_underused = -1;
	char dir[4096], path[4400];
	if (!ms_sysmem_path(root, THP_DIR, dir, sizeof(dir)))
		return ms_error_create(MS_ERROR_INVALID, "path too long");
	uint64_t *kbs;
	size_t n;
	struct ms_error *err = ms_sysmem_hugepage_sizes(dir, &kbs, &n);
	if (err) {
		if (err->errnum != ENOENT)
			return err;
		ms_error_destroy(err);
		return NULL; /* a kernel without THP: supported stays false */
	}
	s->supported = true;
#define P(name) (snprintf(path, sizeof(path), "%s/%s", dir, name), path)
	read_choice(P("enabled"), s->enabled, sizeof(s->enabled));
	read_choice(P("defrag"), s->defrag, sizeof(s->defrag));
	read_choice(P("shmem_enabled"), s->shmem_enabled, sizeof(s->shmem_enabled));
	s->use_zero_page = read_int_or(P("use_zero_page"), -1);
	s->shrink_underused = read_int_or(P("shrink_underused"), -1);
	int64_t pmd;
	err = ms_procfs_read_s64(P("hpage_pmd_size"), &pmd);
	if (err) {
		ms_error_destroy(err);
		pmd = 2 << 20;
	}
	s->pmd_size = (uint64_t)pmd;
	err = read_number_dir(P("khugepaged"), &s->khugepaged);
	if (err)
		goto fail;
	if (n && !(s->sizes = calloc(n, sizeof(*s->sizes)))) {
		err = &ms_error_no_memory;
		goto fail;
	}
	for (size_t k = 0; k < n; k++) {
		struct ms_thp_size *sz = &s->sizes[s->nsizes++];
		sz->size_kb = kbs[k];
		snprintf(path, sizeof(path), "%s/hugepages-%" PRIu64 "kB/enabled", dir, kbs[k]);
		read_choice(path, sz->enabled, sizeof(sz->enabled));
		snprintf(path, sizeof(path), "%s/hugepages-%" PRIu64 "kB/shmem_enabled", dir,
			 kbs[k]);
		read_choice(path, sz->shmem_enabled, sizeof(sz->shmem_enabled));
		snprintf(path, sizeof(path), "%s/hugepages-%" PRIu64 "kB/stats", dir, kbs[k]);
		err = read_number_dir(path, &sz->stats);
		if (err)
			goto fail;
	}
#undef P
	free(kbs);
	return NULL;
fail:
	free(kbs);
	ms_thp_settings_deinit(s);
	return err;
}

void ms_thp_settings_deinit(struct ms_thp_settings *s)
{
	ms_kvfile_destroy(s->khugepaged);
	for (size_t i = 0; i < s->nsizes; i++)
		ms_kvfile_destroy(s->sizes[i].stats);
	free(s->sizes);
	memset(s, 0, sizeof(*s));
}

const char *ms_thp_size_mode(const struct ms_thp_settings *s, const struct ms_thp_size *size)
{
	if (!size->enabled[0])
		return "";
	if (strcmp(size->enabled, "inherit") == 0)
		return s->enabled;
	return size->enabled;
}

const char *ms_thp_pmd_mode(const struct ms_thp_settings *s)
{
	for (size_t i = 0; i < s->nsizes; i++)
		if (s->sizes[i].size_kb * 1024 == s->pmd_size && s->sizes[i].enabled[0])
			return ms_thp_size_mode(s, &s->sizes[i]);
	return s->enabled; /* before mTHP (6.8) the top level was the PMD setting */
}

const char *ms_thp_explain_enabled(const char *mode)
{
	if (strcmp(mode, "always") == 0)
		return "every anonymous mapping may get huge pages";
	if (strcmp(mode, "madvise") == 0)
		return "only mappings marked with madvise(MADV_HUGEPAGE)";
	if (strcmp(mode, "never") == 0)
		return "no huge pages on fault (MADV_COLLAPSE still works)";
	if (strcmp(mode, "inherit") == 0)
		return "as the top-level enabled";
	return "";
}

const char *ms_thp_explain_defrag(const char *mode)
{
	if (strcmp(mode, "always") == 0)
		return "a fault without a free huge page stalls in direct reclaim and compaction";
	if (strcmp(mode, "defer") == 0)
		return "wake kswapd/kcompactd and fall back to small pages now";
	if (strcmp(mode, "defer+madvise") == 0)
		return "direct compaction for MADV_HUGEPAGE mappings, defer for the others";
	if (strcmp(mode, "madvise") == 0)
		return "direct compaction only for MADV_HUGEPAGE mappings";
	if (strcmp(mode, "never") == 0)
		return "no reclaim or compaction for huge pages: fall back at once";
	return "";
}

/* ---- free PMD-order blocks ---- */

void ms_thp_buddy_from_frag(const struct ms_frag *frag, unsigned order, struct ms_thp_buddy *b)
{
	memset(b, 0, sizeof(*b));
	b->order = order;
	for (size_t i = 0; i < frag->nr_zones; i++) {
		const struct ms_frag_zone *z = &frag->zones[i];
		if (!z->populated)
			continue;
		for (int o = (int)order; o < frag->nr_orders; o++) {
			b->free_blocks += z->free[o];
			b->free_pmd_equiv += z->free[o] << (o - (int)order);
		}
	}
	b->known = true;
}

struct ms_error *ms_thp_buddy_parse(const char *text, unsigned order, struct ms_thp_buddy *b)
{
	memset(b, 0, sizeof(*b));
	b->order = order;
	struct ms_frag frag;
	ms_frag_init(&frag);
	struct ms_error *err = ms_frag_parse_buddyinfo(&frag, text);
	if (!err)
		ms_thp_buddy_from_frag(&frag, order, b);
	ms_frag_deinit(&frag);
	return err;
}

struct ms_error *ms_thp_buddy_read(const char *root, unsigned order, struct ms_thp_buddy *b)
{
	memset(b, 0, sizeof(*b));
	b->order = order;
	struct ms_frag frag;
	ms_frag_init(&frag);
	struct ms_error *err = ms_frag_read_buddyinfo(root, &frag);
	if (!err)
		ms_thp_buddy_from_frag(&frag, order, b);
	ms_frag_deinit(&frag);
	return err;
}

/* ---- who holds huge pages ---- */

static int user_cmp(const void *a, const void *b)
{
	const struct ms_thp_user *x = a, *y = b;
	uint64_t xs = x->anon_huge + x->shmem_pmd + x->file_pmd;
	uint64_t ys = y->anon_huge + y->shmem_pmd + y->file_pmd;
	if (xs != ys)
		return xs < ys ? 1 : -1;
	return (x->pid > y->pid) - (x->pid < y->pid);
}

void ms_thp_users_deinit(struct ms_thp_users *u)
{
	free(u->list);
	memset(u, 0, sizeof(*u));
}

struct users_scan {
	struct ms_thp_users *u;
	size_t cap;
};

static struct ms_error *add_user(void *arg, pid_t pid, const char *rollup, bool *stop_ret)
{
	struct users_scan *scan = arg;
	struct ms_thp_users *u = scan->u;
	(void)stop_ret;
	struct ms_vma_usage usage;
	if (!ms_proc_parse_rollup(rollup, &usage))
		return NULL; /* kernel thread: an empty rollup */
	u->processes++;
	u->sum_anon_huge += usage.anon_huge;
	if (!usage.anon_huge && !usage.shmem_pmd && !usage.file_pmd)
		return NULL;
	struct ms_thp_user *l = ms_grow(u->list, u->count, &scan->cap, sizeof(*l), 32);
	if (!l)
		return &ms_error_no_memory;
	u->list = l;
	u->list[u->count++] = (struct ms_thp_user){.pid = pid,
						   .anon_huge = usage.anon_huge,
						   .shmem_pmd = usage.shmem_pmd,
						   .file_pmd = usage.file_pmd,
						   .anonymous = usage.anonymous};
	return NULL;
}

struct ms_error *ms_thp_top_users(size_t top, struct ms_thp_users *u)
{
	memset(u, 0, sizeof(*u));
	struct users_scan scan = {.u = u};
	struct ms_error *err = ms_proc_each("smaps_rollup", 0, add_user, &scan, &u->unreadable);
	if (err) {
		ms_thp_users_deinit(u);
		return err;
	}
	if (u->count > 1)
		qsort(u->list, u->count, sizeof(*u->list), user_cmp);
	if (u->count > top)
		u->count = top;
	for (size_t i = 0; i < u->count; i++)
		ms_proc_comm(u->list[i].pid, u->list[i].comm); /* gone meanwhile: no name */
	return NULL;
}

/* ---- what keeps a process from huge pages ---- */

static const struct {
	const char *name;
	const char *explain;
} blocks[] = {
	{"prctl", "THP disabled for the whole process with prctl(PR_SET_THP_DISABLE) "
		  "(status THP_enabled: 0); inherited across fork and exec"},
	{"never", "the PMD-size setting is never: no huge pages on fault"},
	{"needs-madvise", "the setting is madvise and this mapping has no MADV_HUGEPAGE "
			  "(no \"hg\" in VmFlags)"},
	{"nohugepage", "the mapping is marked MADV_NOHUGEPAGE (\"nh\" in VmFlags)"},
	{"too-small", "no PMD-aligned, PMD-size range fits inside the mapping"},
	{"shmem", "shared anonymous memory follows shmem_enabled, not enabled"},
	{"special", "a PFN, I/O, mixed or hugetlb mapping: never THP"},
	{"fragmented", "no free block of the PMD order in any zone now: faults fall back "
		       "unless defrag allows direct compaction"},
};

const char *ms_thp_block_name(unsigned bit)
{
	for (unsigned i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++)
		if (bit == 1u << i)
			return blocks[i].name;
	return "?";
}

const char *ms_thp_block_explain(unsigned bit)
{
	for (unsigned i = 0; i < sizeof(blocks) / sizeof(blocks[0]); i++)
		if (bit == 1u << i)
			return blocks[i].explain;
	return "";
}

void ms_thp_report_deinit(struct ms_thp_report *r)
{
	for (size_t i = 0; i < r->count; i++)
		free(r->vmas[i].name);
	free(r->vmas);
	memset(r, 0, sizeof(*r));
}

unsigned ms_thp_pmd_order(const struct ms_thp_settings *s)
{
	return ms_sysmem_order(s->pmd_size);
}

static uint64_t aligned_bytes(uint64_t start, uint64_t end, uint64_t pmd)
{
	uint64_t first = (start + pmd - 1) & ~(pmd - 1);
	uint64_t last = end & ~(pmd - 1);
	return last > first ? last - first : 0;
}

static struct ms_error *diagnose(const char *smaps, const char *status,
				 const struct ms_thp_settings *s, struct ms_thp_report *r)
{
	struct ms_maps *maps;
	struct ms_error *err = ms_maps_parse(smaps, &maps);
	if (err)
		return err;
	uint64_t v;
	r->thp_enabled = -1;
	if (status && ms_procfs_field_u64(status, "THP_enabled", &v))
		r->thp_enabled = v != 0;
	const char *pmd = ms_thp_pmd_mode(s);
	snprintf(r->pmd_mode, sizeof(r->pmd_mode), "%s", pmd);
	snprintf(r->defrag, sizeof(r->defrag), "%s", s->defrag);
	r->vmas = calloc(maps->count ? maps->count : 1, sizeof(*r->vmas));
	if (!r->vmas) {
		ms_maps_destroy(maps);
		return &ms_error_no_memory;
	}
	uint64_t pmd_size = s->pmd_size ? s->pmd_size : 2 << 20;
	for (size_t i = 0; i < maps->count; i++) {
		const struct ms_vma *m = &maps->vmas[i];
		bool anon =
			m->kind == MS_VMA_ANON || m->kind == MS_VMA_HEAP || m->kind == MS_VMA_STACK;
		bool shared_anon = (m->prot & MS_PROT_SHARED) && m->name &&
				   (strncmp(m->name, "/dev/zero", 9) == 0 ||
				    strncmp(m->name, "[anon_shmem", 11) == 0);
		if (!anon && !shared_anon) {
			if (m->kind == MS_VMA_FILE)
				r->file_vmas++;
			continue;
		}
		/* PROT_NONE: guard pages and reservations never fault anything in */
		if (!(m->prot & (MS_PROT_READ | MS_PROT_WRITE | MS_PROT_EXEC)))
			continue;
		struct ms_thp_vma *t = &r->vmas[r->count];
		t->start = m->start;
		t->end = m->end;
		ms_vma_perms(m, t->perms);
		if (m->name && !(t->name = strdup(m->name))) {
			ms_maps_destroy(maps);
			return &ms_error_no_memory;
		}
		r->count++;
		t->vm_flags = m->vm_flags;
		t->anon_huge = m->usage.anon_huge;
		t->rss = m->usage.rss;
		t->eligible = m->usage.thp_eligible != 0;
		t->aligned_bytes = aligned_bytes(m->start, m->end, pmd_size);
		r->anon_huge += t->anon_huge;

		unsigned b = 0;
		if (r->thp_enabled == 0)
			b |= MS_THP_BLOCK_PRCTL;
		if (m->vm_flags & (MS_VM_PFNMAP | MS_VM_IO | MS_VM_MIXEDMAP | MS_VM_HUGETLB))
			b |= MS_THP_BLOCK_SPECIAL;
		if (m->vm_flags & MS_VM_NOHUGEPAGE)
			b |= MS_THP_BLOCK_NOHUGEPAGE;
		if (shared_anon) {
			b |= MS_THP_BLOCK_SHMEM;
		} else if (strcmp(pmd, "never") == 0) {
			b |= MS_THP_BLOCK_NEVER;
		} else if (strcmp(pmd, "madvise") == 0 && !(m->vm_flags & MS_VM_HUGEPAGE)) {
			b |= MS_THP_BLOCK_NEEDS_MADVISE;
		}
		if (!t->aligned_bytes)
			b |= MS_THP_BLOCK_TOO_SMALL;
		t->blocks = b;
		r->blocks |= b;
	}
	ms_maps_destroy(maps);
	/* Fragmentation matters only where nothing else already says no. */
	if (r->buddy.known && r->buddy.free_blocks == 0) {
		for (size_t i = 0; i < r->count; i++) {
			if (!r->vmas[i].blocks) {
				r->vmas[i].blocks |= MS_THP_BLOCK_FRAGMENTED;
				r->blocks |= MS_THP_BLOCK_FRAGMENTED;
			}
		}
	}
	return NULL;
}

struct ms_error *ms_thp_diagnose_text(const char *smaps, const char *status, const char *buddyinfo,
				      const struct ms_thp_settings *s, struct ms_thp_report *r)
{
	memset(r, 0, sizeof(*r));
	if (buddyinfo) {
		struct ms_error *err =
			ms_thp_buddy_parse(buddyinfo, ms_thp_pmd_order(s), &r->buddy);
		if (err)
			return err;
	}
	if (status)
		ms_proc_status_name(status, r->comm);
	struct ms_error *err = diagnose(smaps, status, s, r);
	if (err)
		ms_thp_report_deinit(r);
	return err;
}

struct ms_error *ms_thp_diagnose(pid_t pid, const struct ms_thp_settings *s,
				 struct ms_thp_report *r)
{
	char *smaps = NULL, *status = NULL, *buddy = NULL;
	struct ms_error *err = ms_procfs_read_pid(pid, "status", &status, NULL);
	if (err)
		goto out;
	err = ms_procfs_read_pid(pid, "smaps", &smaps, NULL);
	if (err)
		goto out;
	if (!smaps[0]) {
		err = ms_error_create(MS_ERROR_INVALID,
				      "process %d has no user address space (a kernel thread?)",
				      (int)pid);
		goto out;
	}
	struct ms_error *berr = ms_procfs_read("/proc/buddyinfo", &buddy, NULL);
	if (berr) {
		ms_error_destroy(berr);
		buddy = NULL;
	}
	err = ms_thp_diagnose_text(smaps, status, buddy, s, r);
	if (!err)
		r->pid = pid;
out:
	free(buddy);
	free(smaps);
	free(status);
	return err;
}
