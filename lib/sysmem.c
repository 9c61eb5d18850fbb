/* SPDX-License-Identifier: MIT */
#include "sysmem.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "procfs.h"
#include "grow.h"

bool ms_sysmem_path(const char *root, const char *path, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s%s", root ? root : "", path);
	return n >= 0 && (size_t)n < len;
}

static struct ms_error *read_rooted(const char *root, const char *path, char **buf_ret)
{
	char full[4096];
	if (!ms_sysmem_path(root, path, full, sizeof(full)))
		return ms_error_create(MS_ERROR_INVALID, "path too long: %s%s", root, path);
	return ms_procfs_read(full, buf_ret, NULL);
}

void ms_kvfile_destroy(struct ms_kvfile *kv)
{
	if (!kv)
		return;
	for (size_t i = 0; i < kv->count; i++)
		free(kv->items[i].key);
	free(kv->items);
	free(kv);
}

static struct ms_error *kv_append(struct ms_kvfile *kv, const char *key, size_t klen,
				  uint64_t value, bool kb)
{
	struct ms_kv *items = ms_grow(kv->items, kv->count, &kv->capacity, sizeof(*items), 64);
	if (!items)
		return &ms_error_no_memory;
	kv->items = items;
	char *k = strndup(key, klen);
	if (!k)
		return &ms_error_no_memory;
	kv->items[kv->count++] = (struct ms_kv){.key = k, .value = value, .kb = kb};
	return NULL;
}

/*
 * One line: [Node N ]key[:] value [kB]. Returns false for other shapes
 * (blank lines, "Node 0, zone DMA" tables, words as values).
 */
static bool parse_line(const char *line, const char *end, int *node, const char **key, size_t *klen,
		       uint64_t *value, bool *kb)
{
	const char *p = line;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (end - p > 5 && strncmp(p, "Node ", 5) == 0 && isdigit((unsigned char)p[5])) {
		char *after;
		long n = strtol(p + 5, &after, 10);
		if (after < end && *after == ' ') {
			*node = (int)n;
			p = after;
			while (p < end && *p == ' ')
				p++;
		}
	}
	const char *k = p;
	while (p < end && *p != ':' && *p != ' ' && *p != '\t')
		p++;
	if (p == k)
		return false;
	*key = k;
	*klen = (size_t)(p - k);
	if (p < end && *p == ':')
		p++;
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	if (p == end || !isdigit((unsigned char)*p))
		return false;
	uint64_t v = 0;
	while (p < end && isdigit((unsigned char)*p)) {
		uint64_t d = (uint64_t)(*p - '0');
		if (v > (UINT64_MAX - d) / 10)
			return false;
		v = v * 10 + d;
		p++;
	}
	while (p < end && (*p == ' ' || *p == '\t'))
		p++;
	*kb = false;
	if (end - p >= 2 && p[0] == 'k' && p[1] == 'B') {
		*kb = true;
		p += 2;
		if (v > UINT64_MAX / 1024)
			return false;
		v *= 1024;
	}
	while (p < end && (*p == ' ' || *p == '\t' || *p == '\r'))
		p++;
	if (p != end)
		return false; /* "key 1 2 3" or "key 12 pages": not one number */
	*value = v;
	return true;
}

struct ms_error *ms_kvfile_parse(const char *text, struct ms_kvfile **kv_ret)
{
	struct ms_kvfile *kv = calloc(1, sizeof(*kv));
	if (!kv)
		return &ms_error_no_memory;
	kv->node = -1;
	struct ms_error *err = NULL;
	for (const char *line = text; *line;) {
		const char *end = strchr(line, '\n');
		const char *next = end ? end + 1 : line + strlen(line);
		if (!end)
			end = next;
		const char *key;
		size_t klen;
		uint64_t value;
		bool kb;
		int node = -1;
		if (parse_line(line, end, &node, &key, &klen, &value, &kb)) {
			if (node >= 0)
				kv->node = node;
			err = kv_append(kv, key, klen, value, kb);
			if (err)
				goto fail;
		} else if (end > line) {
			kv->skipped++;
		}
		line = next;
	}
	if (kv->count == 0) {
		err = ms_error_create(MS_ERROR_FORMAT, "no \"key: value\" lines");
		goto fail;
	}
	*kv_ret = kv;
	return NULL;
fail:
	ms_kvfile_destroy(kv);
	return err;
}

struct ms_error *ms_kvfile_read(const char *root, const char *path, struct ms_kvfile **kv_ret)
{
	char *buf;
	struct ms_error *err = read_rooted(root, path, &buf);
	if (err)
		return err;
	err = ms_kvfile_parse(buf, kv_ret);
	free(buf);
	if (err)
		return ms_error_prefix(err, "%s%s", root ? root : "", path);
	return NULL;
}

bool ms_kvfile_get(const struct ms_kvfile *kv, const char *key, uint64_t *value_ret)
{
	if (!kv)
		return false;
	for (size_t i = 0; i < kv->count; i++) {
		if (strcmp(kv->items[i].key, key) == 0) {
			*value_ret = kv->items[i].value;
			return true;
		}
	}
	return false;
}

static const char *const meminfo_keys[MS_MI_COUNT] = {
	[MS_MI_MEM_TOTAL] = "MemTotal",
	[MS_MI_MEM_FREE] = "MemFree",
	[MS_MI_MEM_AVAILABLE] = "MemAvailable",
	[MS_MI_BUFFERS] = "Buffers",
	[MS_MI_CACHED] = "Cached",
	[MS_MI_SWAP_CACHED] = "SwapCached",
	[MS_MI_ANON_PAGES] = "AnonPages",
	[MS_MI_MAPPED] = "Mapped",
	[MS_MI_SHMEM] = "Shmem",
	[MS_MI_SLAB] = "Slab",
	[MS_MI_SRECLAIMABLE] = "SReclaimable",
	[MS_MI_SUNRECLAIM] = "SUnreclaim",
	[MS_MI_SWAP_TOTAL] = "SwapTotal",
	[MS_MI_SWAP_FREE] = "SwapFree",
	[MS_MI_COMMIT_LIMIT] = "CommitLimit",
	[MS_MI_COMMITTED_AS] = "Committed_AS",
	[MS_MI_ANON_HUGE_PAGES] = "AnonHugePages",
	[MS_MI_SHMEM_HUGE_PAGES] = "ShmemHugePages",
	[MS_MI_FILE_HUGE_PAGES] = "FileHugePages",
	[MS_MI_HUGE_PAGES_TOTAL] = "HugePages_Total",
	[MS_MI_HUGE_PAGES_FREE] = "HugePages_Free",
	[MS_MI_HUGE_PAGES_RSVD] = "HugePages_Rsvd",
	[MS_MI_HUGE_PAGES_SURP] = "HugePages_Surp",
	[MS_MI_HUGEPAGESIZE] = "Hugepagesize",
	[MS_MI_HUGETLB] = "Hugetlb",
};

const char *ms_meminfo_key(enum ms_meminfo_field field)
{
	return field < MS_MI_COUNT ? meminfo_keys[field] : "?";
}

void ms_meminfo_from_kv(const struct ms_kvfile *kv, struct ms_meminfo *mi)
{
	memset(mi, 0, sizeof(*mi));
	for (size_t i = 0; i < kv->count; i++) {
		for (int f = 0; f < MS_MI_COUNT; f++) {
			if (strcmp(kv->items[i].key, meminfo_keys[f]) == 0) {
				mi->v[f] = kv->items[i].value;
				mi->present |= UINT32_C(1) << f;
				break;
			}
		}
	}
}

struct ms_error *ms_meminfo_parse(const char *text, struct ms_meminfo *mi)
{
	struct ms_kvfile *kv;
	struct ms_error *err = ms_kvfile_parse(text, &kv);
	if (err)
		return err;
	ms_meminfo_from_kv(kv, mi);
	ms_kvfile_destroy(kv);
	if (!ms_meminfo_has(mi, MS_MI_MEM_TOTAL))
		return ms_error_create(MS_ERROR_FORMAT, "no MemTotal line");
	return NULL;
}

struct ms_error *ms_meminfo_read(const char *root, struct ms_meminfo *mi)
{
	char *buf;
	struct ms_error *err = read_rooted(root, "/proc/meminfo", &buf);
	if (err)
		return err;
	err = ms_meminfo_parse(buf, mi);
	free(buf);
	if (err)
		return ms_error_prefix(err, "%s/proc/meminfo", root ? root : "");
	return NULL;
}

struct ms_error *ms_vmstat_read(const char *root, struct ms_kvfile **kv_ret)
{
	return ms_kvfile_read(root, "/proc/vmstat", kv_ret);
}

struct ms_error *ms_sysctl_read_u64(const char *root, const char *name, uint64_t *value_ret)
{
	char rel[256];
	int n = snprintf(rel, sizeof(rel), "/proc/sys/%s", name);
	if (n < 0 || (size_t)n >= sizeof(rel))
		return ms_error_create(MS_ERROR_INVALID, "sysctl name too long: %s", name);
	for (char *p = rel + 10; *p; p++)
		if (*p == '.')
			*p = '/';
	char full[4096];
	if (!ms_sysmem_path(root, rel, full, sizeof(full)))
		return ms_error_create(MS_ERROR_INVALID, "path too long: %s", rel);
	return ms_procfs_read_u64(full, value_ret);
}

uint64_t ms_sysctl_u64_or(const char *root, const char *name, uint64_t fallback)
{
	uint64_t v;
	struct ms_error *err = ms_sysctl_read_u64(root, name, &v);
	if (err) {
		ms_error_destroy(err);
		return fallback;
	}
	return v;
}

unsigned ms_sysmem_order(uint64_t bytes)
{
	uint64_t pages = bytes / (uint64_t)sysconf(_SC_PAGESIZE);
	unsigned order = 0;
	while (order < 63 && (UINT64_C(1) << order) < pages)
		order++;
	return order;
}

static int u64_cmp(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

struct ms_error *ms_sysmem_hugepage_sizes(const char *dir, uint64_t **kb_ret, size_t *count_ret)
{
	*kb_ret = NULL;
	*count_ret = 0;
	DIR *d = opendir(dir);
	if (!d)
		return ms_error_errno(errno, "%s", dir);
	uint64_t *kbs = NULL;
	size_t n = 0, cap = 0;
	struct ms_error *err = NULL;
	struct dirent *de;
	while ((de = readdir(d))) {
		unsigned long long kb;
		char tail[4];
		if (sscanf(de->d_name, "hugepages-%llu%3s", &kb, tail) != 2 ||
		    strcmp(tail, "kB") != 0)
			continue;
		uint64_t *grown = ms_grow(kbs, n, &cap, sizeof(*grown), 16);
		if (!grown) {
			err = &ms_error_no_memory;
			break;
		}
		kbs = grown;
		kbs[n++] = kb;
	}
	closedir(d);
	if (err) {
		free(kbs);
		return err;
	}
	if (n > 1)
		qsort(kbs, n, sizeof(*kbs), u64_cmp);
	*kb_ret = kbs;
	*count_ret = n;
	return NULL;
}

struct ms_error *ms_hugetlb_read(const char *root, struct ms_hugetlb *h)
{
	memset(h, 0, sizeof(*h));
	char dir[4096];
	if (!ms_sysmem_path(root, "/sys/kernel/mm/hugepages", dir, sizeof(dir)))
		return ms_error_create(MS_ERROR_INVALID, "path too long");
	uint64_t *kbs;
	size_t n;
	struct ms_error *err = ms_sysmem_hugepage_sizes(dir, &kbs, &n);
	if (err) {
		if (err->errnum != ENOENT)
			return err;
		ms_error_destroy(err); /* no hugetlb sysfs: no pools */
		return NULL;
	}
	if (n && !(h->pools = calloc(n, sizeof(*h->pools)))) {
		free(kbs);
		return &ms_error_no_memory;
	}
	h->count = n;
	static const char *const names[] = {"nr_hugepages", "free_hugepages", "resv_hugepages",
					    "surplus_hugepages"};
	for (size_t k = 0; k < n; k++) {
		struct ms_hugetlb_pool *pool = &h->pools[k];
		pool->size_kb = kbs[k];
		uint64_t *fields[] = {&pool->nr, &pool->free, &pool->resv, &pool->surplus};
		for (size_t i = 0; i < 4; i++) {
			char path[4400];
			snprintf(path, sizeof(path), "%s/hugepages-%" PRIu64 "kB/%s", dir, kbs[k],
				 names[i]);
			struct ms_error *e = ms_procfs_read_u64(path, fields[i]);
			if (e) /* an older kernel without this file: leave 0 */
				ms_error_destroy(e);
		}
	}
	free(kbs);
	return NULL;
}

void ms_hugetlb_deinit(struct ms_hugetlb *h)
{
	free(h->pools);
	h->pools = NULL;
	h->count = 0;
}

uint64_t ms_hugetlb_total_pages(const struct ms_hugetlb *h, uint64_t page_size)
{
	uint64_t total = 0;
	for (size_t i = 0; i < h->count; i++)
		total += h->pools[i].nr * (h->pools[i].size_kb * 1024 / page_size);
	return total;
}

uint64_t ms_hugetlb_free_pages(const struct ms_hugetlb *h, uint64_t page_size)
{
	uint64_t total = 0;
	for (size_t i = 0; i < h->count; i++)
		total += h->pools[i].free * (h->pools[i].size_kb * 1024 / page_size);
	return total;
}

struct ms_error *ms_hugetlb_pages(const char *root, const struct ms_meminfo *mi, uint64_t page_size,
				  uint64_t *total_ret, uint64_t *free_ret)
{
	struct ms_hugetlb h;
	struct ms_error *err = ms_hugetlb_read(root, &h);
	if (err)
		return err;
	if (h.count) {
		*total_ret = ms_hugetlb_total_pages(&h, page_size);
		*free_ret = ms_hugetlb_free_pages(&h, page_size);
	} else {
		uint64_t per = mi->v[MS_MI_HUGEPAGESIZE] / page_size;
		*total_ret = mi->v[MS_MI_HUGE_PAGES_TOTAL] * per;
		*free_ret = mi->v[MS_MI_HUGE_PAGES_FREE] * per;
	}
	ms_hugetlb_deinit(&h);
	return NULL;
}
