/* SPDX-License-Identifier: MIT */
#include "frag.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "procfs.h"
#include "sysmem.h"

void ms_frag_init(struct ms_frag *frag)
{
	memset(frag, 0, sizeof(*frag));
	frag->pageblock_order = -1;
}

void ms_frag_deinit(struct ms_frag *frag)
{
	if (!frag)
		return;
	free(frag->zones);
	ms_frag_init(frag);
}

struct ms_frag_zone *ms_frag_find_zone(const struct ms_frag *frag, int node, const char *name)
{
	for (size_t i = 0; i < frag->nr_zones; i++)
		if (frag->zones[i].node == node && strcmp(frag->zones[i].name, name) == 0)
			return &frag->zones[i];
	return NULL;
}

static struct ms_error *find_or_add_zone(struct ms_frag *frag, int node, const char *name,
					 size_t *index_ret)
{
	struct ms_frag_zone *z = ms_frag_find_zone(frag, node, name);
	if (z) {
		*index_ret = (size_t)(z - frag->zones);
		return NULL;
	}
	struct ms_frag_zone *zones = realloc(frag->zones, (frag->nr_zones + 1) * sizeof(*zones));
	if (!zones)
		return &ms_error_no_memory;
	frag->zones = zones;
	z = &zones[frag->nr_zones];
	memset(z, 0, sizeof(*z));
	z->node = node;
	snprintf(z->name, sizeof(z->name), "%s", name);
	z->index = -1;
	z->pages_free = z->boost = z->min = z->low = z->high = z->promo = MS_FRAG_UNKNOWN;
	z->spanned = z->present = z->managed = z->cma = MS_FRAG_UNKNOWN;
	z->nr_free_cma = z->start_pfn = MS_FRAG_UNKNOWN;
	*index_ret = frag->nr_zones++;
	return NULL;
}

/* The next line of text, or NULL at the end; *len_ret excludes the newline. */
static const char *next_line(const char **cursor, size_t *len_ret)
{
	const char *line = *cursor;
	if (!line || !*line)
		return NULL;
	const char *nl = strchr(line, '\n');
	*len_ret = nl ? (size_t)(nl - line) : strlen(line);
	*cursor = nl ? nl + 1 : line + *len_ret;
	return line;
}

static const char *skip_space(const char *s, const char *end)
{
	while (s < end && (*s == ' ' || *s == '\t'))
		s++;
	return s;
}

/*
 * Parse "Node N, zone NAME" at the start of a line: the prefix shared by
 * buddyinfo, pagetypeinfo, zoneinfo and debugfs extfrag. A comma after the
 * zone name (pagetypeinfo) is consumed. Returns the rest of the line.
 */
static const char *parse_node_zone(const char *s, const char *end, int *node_ret, char *zone,
				   size_t zone_len)
{
	s = skip_space(s, end);
	if (end - s < 5 || strncmp(s, "Node", 4) != 0)
		return NULL;
	s = skip_space(s + 4, end);
	char *num_end;
	long node = strtol(s, &num_end, 10);
	if (num_end == s || num_end > end || node < 0 || node > 1 << 20)
		return NULL;
	s = num_end;
	if (s >= end || *s != ',')
		return NULL;
	s = skip_space(s + 1, end);
	if (end - s < 4 || strncmp(s, "zone", 4) != 0)
		return NULL;
	s = skip_space(s + 4, end);
	size_t n = 0;
	while (s + n < end && s[n] != ' ' && s[n] != '\t' && s[n] != ',')
		n++;
	if (n == 0 || n >= zone_len)
		return NULL;
	memcpy(zone, s, n);
	zone[n] = '\0';
	s += n;
	if (s < end && *s == ',')
		s++;
	*node_ret = (int)node;
	return s;
}

/*
 * Parse whitespace-separated counts up to end. A ">" before a number (the
 * kernel's cap on long free lists) is allowed when capped is non-NULL.
 * Returns how many were read, or -1 on anything else.
 */
static int parse_counts(const char *s, const char *end, uint64_t *out, bool *capped, int max)
{
	int n = 0;
	for (;;) {
		s = skip_space(s, end);
		if (s >= end || *s == '\r')
			break;
		bool cap = false;
		if (*s == '>' && capped) {
			cap = true;
			s++;
		}
		if (!isdigit((unsigned char)*s) || n >= max)
			return -1;
		char *num_end;
		errno = 0;
		unsigned long long v = strtoull(s, &num_end, 10);
		if (errno || num_end > end)
			return -1;
		out[n] = v;
		if (capped)
			capped[n] = cap;
		n++;
		s = num_end;
	}
	return n;
}

struct ms_error *ms_frag_parse_buddyinfo(struct ms_frag *frag, const char *text)
{
	const char *cursor = text;
	const char *line;
	size_t len;
	int lines = 0;
	while ((line = next_line(&cursor, &len))) {
		const char *end = line + len;
		if (skip_space(line, end) == end)
			continue;
		int node;
		char zone[16];
		const char *rest = parse_node_zone(line, end, &node, zone, sizeof(zone));
		if (!rest)
			return ms_error_create(MS_ERROR_FORMAT, "buddyinfo: unexpected line '%.*s'",
					       (int)(len > 60 ? 60 : len), line);
		uint64_t counts[MS_FRAG_MAX_ORDERS];
		int n = parse_counts(rest, end, counts, NULL, MS_FRAG_MAX_ORDERS);
		if (n <= 0)
			return ms_error_create(MS_ERROR_FORMAT,
					       "buddyinfo: node %d zone %s: bad free counts", node,
					       zone);
		if (frag->nr_orders && n != frag->nr_orders)
			return ms_error_create(MS_ERROR_FORMAT,
					       "buddyinfo: node %d zone %s has %d orders, not %d",
					       node, zone, n, frag->nr_orders);
		frag->nr_orders = n;
		size_t zi;
		struct ms_error *err = find_or_add_zone(frag, node, zone, &zi);
		if (err)
			return err;
		struct ms_frag_zone *z = &frag->zones[zi];
		z->populated = true;
		memcpy(z->free, counts, (size_t)n * sizeof(counts[0]));
		lines++;
	}
	if (!lines)
		return ms_error_create(MS_ERROR_FORMAT, "buddyinfo: no zones");
	return NULL;
}

static struct ms_frag_type *zone_type(struct ms_frag_zone *z, const char *name)
{
	for (int i = 0; i < z->nr_types; i++)
		if (strcmp(z->types[i].name, name) == 0)
			return &z->types[i];
	if (z->nr_types >= MS_FRAG_MAX_TYPES)
		return NULL;
	struct ms_frag_type *t = &z->types[z->nr_types++];
	memset(t, 0, sizeof(*t));
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->pageblocks = MS_FRAG_UNKNOWN;
	return t;
}

/* Split a header's words ("Unmovable Movable ...") into names[]. */
static int split_words(const char *s, const char *end, char names[][24], int max)
{
	int n = 0;
	for (;;) {
		s = skip_space(s, end);
		if (s >= end || *s == '\r')
			break;
		size_t w = 0;
		while (s + w < end && s[w] != ' ' && s[w] != '\t' && s[w] != '\r')
			w++;
		if (n >= max || w >= 24)
			return -1;
		memcpy(names[n], s, w);
		names[n][w] = '\0';
		n++;
		s += w;
	}
	return n;
}

static bool starts_with(const char *line, const char *end, const char *prefix)
{
	size_t n = strlen(prefix);
	return (size_t)(end - line) >= n && strncmp(line, prefix, n) == 0;
}

struct ms_error *ms_frag_parse_pagetypeinfo(struct ms_frag *frag, const char *text)
{
	enum { NONE, FREE, BLOCKS, MIXED } section = NONE;
	char block_names[MS_FRAG_MAX_TYPES][24];
	int nr_block_names = 0;
	int nr_orders = 0;
	const char *cursor = text;
	const char *line;
	size_t len;
	bool any = false;
	while ((line = next_line(&cursor, &len))) {
		const char *end = line + len;
		const char *s = skip_space(line, end);
		if (s == end)
			continue;
		if (starts_with(s, end, "Page block order:")) {
			frag->pageblock_order = atoi(s + strlen("Page block order:"));
			continue;
		}
		if (starts_with(s, end, "Pages per block:"))
			continue;
		if (starts_with(s, end, "Free pages count per migrate type at order")) {
			uint64_t orders[MS_FRAG_MAX_ORDERS];
			nr_orders = parse_counts(
				s + strlen("Free pages count per migrate type at order"), end,
				orders, NULL, MS_FRAG_MAX_ORDERS);
			if (nr_orders <= 0)
				return ms_error_create(MS_ERROR_FORMAT,
						       "pagetypeinfo: bad order header");
			section = FREE;
			continue;
		}
		if (starts_with(s, end, "Number of blocks type")) {
			nr_block_names = split_words(s + strlen("Number of blocks type"), end,
						     block_names, MS_FRAG_MAX_TYPES);
			if (nr_block_names <= 0)
				return ms_error_create(MS_ERROR_FORMAT,
						       "pagetypeinfo: bad block count header");
			section = BLOCKS;
			continue;
		}
		if (starts_with(s, end, "Number of mixed blocks")) {
			section = MIXED; /* CONFIG_PAGE_OWNER's extra table: not needed */
			continue;
		}
		int node;
		char zname[16];
		const char *rest = parse_node_zone(s, end, &node, zname, sizeof(zname));
		if (!rest)
			return ms_error_create(MS_ERROR_FORMAT,
					       "pagetypeinfo: unexpected line '%.*s'",
					       (int)(len > 60 ? 60 : len), line);
		if (section == MIXED)
			continue;
		size_t zi;
		struct ms_error *err = find_or_add_zone(frag, node, zname, &zi);
		if (err)
			return err;
		struct ms_frag_zone *z = &frag->zones[zi];
		if (section == FREE) {
			rest = skip_space(rest, end);
			if (!starts_with(rest, end, "type"))
				return ms_error_create(MS_ERROR_FORMAT,
						       "pagetypeinfo: node %d zone %s: no type",
						       node, zname);
			rest = skip_space(rest + 4, end);
			char tname[24];
			size_t w = 0;
			while (rest + w < end && rest[w] != ' ' && rest[w] != '\t')
				w++;
			if (w == 0 || w >= sizeof(tname))
				return ms_error_create(MS_ERROR_FORMAT,
						       "pagetypeinfo: node %d zone %s: bad type",
						       node, zname);
			memcpy(tname, rest, w);
			tname[w] = '\0';
			struct ms_frag_type *t = zone_type(z, tname);
			if (!t)
				return ms_error_create(MS_ERROR_FORMAT,
						       "pagetypeinfo: too many migrate types");
			int n = parse_counts(rest + w, end, t->free, t->capped, MS_FRAG_MAX_ORDERS);
			if (n != nr_orders)
				return ms_error_create(MS_ERROR_FORMAT,
						       "pagetypeinfo: node %d zone %s type %s: %d "
						       "counts for %d orders",
						       node, zname, tname, n, nr_orders);
		} else if (section == BLOCKS) {
			uint64_t counts[MS_FRAG_MAX_TYPES];
			int n = parse_counts(rest, end, counts, NULL, MS_FRAG_MAX_TYPES);
			if (n != nr_block_names)
				return ms_error_create(MS_ERROR_FORMAT,
						       "pagetypeinfo: node %d zone %s: %d block "
						       "counts for %d types",
						       node, zname, n, nr_block_names);
			for (int i = 0; i < n; i++) {
				struct ms_frag_type *t = zone_type(z, block_names[i]);
				if (!t)
					return ms_error_create(
						MS_ERROR_FORMAT,
						"pagetypeinfo: too many migrate types");
				t->pageblocks = counts[i];
			}
		} else {
			return ms_error_create(MS_ERROR_FORMAT,
					       "pagetypeinfo: zone line before any header");
		}
		any = true;
	}
	if (!any)
		return ms_error_create(MS_ERROR_FORMAT, "pagetypeinfo: no zones");
	if (frag->nr_orders == 0)
		frag->nr_orders = nr_orders;
	frag->have_pagetypeinfo = true;
	return NULL;
}

static bool word_is(const char *s, const char *end, const char *word, const char **after)
{
	size_t n = strlen(word);
	if ((size_t)(end - s) < n || strncmp(s, word, n) != 0)
		return false;
	if (s + n < end && s[n] != ' ' && s[n] != '\t')
		return false;
	*after = s + n;
	return true;
}

static bool parse_u64(const char *s, const char *end, uint64_t *v)
{
	s = skip_space(s, end);
	if (s >= end || !isdigit((unsigned char)*s))
		return false;
	char *num_end;
	errno = 0;
	unsigned long long x = strtoull(s, &num_end, 10);
	if (errno || num_end > end)
		return false;
	*v = x;
	return true;
}

static void parse_protection(struct ms_frag_zone *z, const char *s, const char *end)
{
	s = skip_space(s, end);
	if (s < end && *s == '(')
		s++;
	z->nr_protection = 0;
	while (s < end && z->nr_protection < MS_FRAG_MAX_ZONES) {
		s = skip_space(s, end);
		char *num_end;
		long long v = strtoll(s, &num_end, 10);
		if (num_end == s || num_end > end)
			break;
		z->protection[z->nr_protection++] = v;
		s = num_end;
		s = skip_space(s, end);
		if (s < end && *s == ',')
			s++;
		else
			break;
	}
}

struct ms_error *ms_frag_parse_zoneinfo(struct ms_frag *frag, const char *text)
{
	static const struct {
		const char *key;
		size_t offset;
	} fields[] = {
		{"boost", offsetof(struct ms_frag_zone, boost)},
		{"min", offsetof(struct ms_frag_zone, min)},
		{"low", offsetof(struct ms_frag_zone, low)},
		{"high", offsetof(struct ms_frag_zone, high)},
		{"promo", offsetof(struct ms_frag_zone, promo)},
		{"spanned", offsetof(struct ms_frag_zone, spanned)},
		{"present", offsetof(struct ms_frag_zone, present)},
		{"managed", offsetof(struct ms_frag_zone, managed)},
		{"cma", offsetof(struct ms_frag_zone, cma)},
		{"nr_free_cma", offsetof(struct ms_frag_zone, nr_free_cma)},
		{"start_pfn:", offsetof(struct ms_frag_zone, start_pfn)},
	};
	const char *cursor = text;
	const char *line;
	size_t len;
	size_t cur = SIZE_MAX;
	int last_node = -1, next_index = 0;
	while ((line = next_line(&cursor, &len))) {
		const char *end = line + len;
		const char *s = skip_space(line, end);
		if (s == end)
			continue;
		if (starts_with(s, end, "Node")) {
			int node;
			char zname[16];
			if (!parse_node_zone(s, end, &node, zname, sizeof(zname)))
				return ms_error_create(MS_ERROR_FORMAT,
						       "zoneinfo: unexpected line '%.*s'",
						       (int)(len > 60 ? 60 : len), line);
			struct ms_error *err = find_or_add_zone(frag, node, zname, &cur);
			if (err)
				return err;
			if (node != last_node) {
				last_node = node;
				next_index = 0;
			}
			struct ms_frag_zone *z = &frag->zones[cur];
			z->index = next_index++;
			z->have_zoneinfo = true;
			z->pcp_count = 0;
			continue;
		}
		if (cur == SIZE_MAX)
			continue; /* nothing before the first zone matters */
		struct ms_frag_zone *z = &frag->zones[cur];
		const char *after;
		uint64_t v;
		if (word_is(s, end, "pages", &after)) {
			after = skip_space(after, end);
			if (word_is(after, end, "free", &after) && parse_u64(after, end, &v))
				z->pages_free = v;
			continue;
		}
		if (word_is(s, end, "protection:", &after)) {
			parse_protection(z, after, end);
			continue;
		}
		if (word_is(s, end, "count:", &after)) {
			if (parse_u64(after, end, &v))
				z->pcp_count += v;
			continue;
		}
		for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
			if (word_is(s, end, fields[i].key, &after) && parse_u64(after, end, &v)) {
				*(uint64_t *)((char *)z + fields[i].offset) = v;
				break;
			}
		}
	}
	if (cur == SIZE_MAX)
		return ms_error_create(MS_ERROR_FORMAT, "zoneinfo: no zones");
	frag->have_zoneinfo = true;
	return NULL;
}

struct ms_error *ms_frag_read_buddyinfo(const char *root, struct ms_frag *frag)
{
	char path[4096], *text;
	if (!ms_sysmem_path(root, "/proc/buddyinfo", path, sizeof(path)))
		return ms_error_create(MS_ERROR_INVALID, "path too long");
	struct ms_error *err = ms_procfs_read(path, &text, NULL);
	if (err)
		return err;
	err = ms_frag_parse_buddyinfo(frag, text);
	free(text);
	return err;
}

struct ms_error *ms_frag_read(struct ms_frag *frag)
{
	char *text = NULL;
	struct ms_error *err = ms_procfs_read("/proc/zoneinfo", &text, NULL);
	if (!err) {
		err = ms_frag_parse_zoneinfo(frag, text);
		free(text);
		if (err)
			return err;
	} else if (err->errnum == ENOENT || err->errnum == EACCES) {
		ms_error_destroy(err); /* the verdict says what it lacks */
	} else {
		return err;
	}
	err = ms_frag_read_buddyinfo(NULL, frag);
	if (err)
		return err;
	err = ms_procfs_read("/proc/pagetypeinfo", &text, NULL);
	if (err) {
		if (err->errnum == EACCES || err->errnum == EPERM || err->errnum == ENOENT) {
			ms_error_destroy(err);
			return NULL;
		}
		return err;
	}
	err = ms_frag_parse_pagetypeinfo(frag, text);
	free(text);
	return err;
}

uint64_t ms_frag_zone_buddy_pages(const struct ms_frag *frag, const struct ms_frag_zone *zone)
{
	uint64_t pages = 0;
	for (int o = 0; o < frag->nr_orders; o++)
		pages += zone->free[o] << o;
	return pages;
}

int ms_frag_max_node(const struct ms_frag *frag)
{
	int max = -1;
	for (size_t i = 0; i < frag->nr_zones; i++)
		if (frag->zones[i].node > max)
			max = frag->zones[i].node;
	return max;
}

/* The kernel's integer arithmetic, step by step (mm/vmstat.c). */

void ms_frag_contig_info(const struct ms_frag *frag, const struct ms_frag_zone *zone,
			 int suitable_order, struct ms_frag_contig *info)
{
	info->free_pages = 0;
	info->free_blocks_total = 0;
	info->free_blocks_suitable = 0;
	for (int order = 0; order < frag->nr_orders; order++) {
		uint64_t blocks = zone->free[order];
		info->free_blocks_total += blocks;
		info->free_pages += blocks << order;
		if (order >= suitable_order)
			info->free_blocks_suitable += blocks << (order - suitable_order);
	}
}

int ms_frag_unusable_index(int order, const struct ms_frag_contig *info)
{
	if (info->free_pages == 0)
		return 1000;
	return (int)((info->free_pages - (info->free_blocks_suitable << order)) * 1000ULL /
		     info->free_pages);
}

int ms_frag_fragmentation_index(int order, const struct ms_frag_contig *info)
{
	uint64_t requested = UINT64_C(1) << order;
	if (order >= MS_FRAG_MAX_ORDERS)
		return 0;
	if (!info->free_blocks_total)
		return 0;
	if (info->free_blocks_suitable)
		return -1000;
	/* Unsigned like the kernel's: a result below zero wraps, and the int cast
	 * brings it back as the kernel's return does. */
	uint64_t r =
		1000 - (1000 + info->free_pages * 1000ULL / requested) / info->free_blocks_total;
	return (int)(int64_t)r;
}

unsigned ms_frag_extfrag_for_order(const struct ms_frag *frag, const struct ms_frag_zone *zone,
				   int order)
{
	struct ms_frag_contig info;
	ms_frag_contig_info(frag, zone, order, &info);
	if (info.free_pages == 0)
		return 0;
	return (unsigned)((info.free_pages - (info.free_blocks_suitable << order)) * 100 /
			  info.free_pages);
}

void ms_frag_format_index(char *buf, size_t len, int index, bool extfrag)
{
	snprintf(buf, len, extfrag ? "%2d.%03d" : "%d.%03d", index / 1000, index % 1000);
}

int ms_frag_zone_index(const struct ms_frag *frag, const struct ms_frag_zone *zone, int order,
		       bool extfrag, char *buf, size_t len)
{
	struct ms_frag_contig info;
	ms_frag_contig_info(frag, zone, order, &info);
	int index = extfrag ? ms_frag_fragmentation_index(order, &info)
			    : ms_frag_unusable_index(order, &info);
	char tmp[16];
	ms_frag_format_index(tmp, sizeof(tmp), index, extfrag);
	const char *t = tmp;
	while (*t == ' ')
		t++;
	snprintf(buf, len, "%s", t);
	return index;
}

/* ---- the allocation verdict ---- */

const char *ms_frag_outcome_name(enum ms_frag_outcome outcome)
{
	switch (outcome) {
	case MS_FRAG_SUCCEEDS:
		return "succeeds";
	case MS_FRAG_NO_MEMORY:
		return "fails: not enough free memory";
	case MS_FRAG_FRAGMENTED:
		return "fails: fragmented";
	case MS_FRAG_INELIGIBLE:
		return "not used";
	}
	return "?";
}

static bool type_is(const struct ms_frag_type *t, const char *name)
{
	return strcmp(t->name, name) == 0;
}

/* Free pages on the HighAtomic lists: reserved for high-order atomic allocations. */
static uint64_t highatomic_free(const struct ms_frag *frag, const struct ms_frag_zone *z)
{
	uint64_t pages = 0;
	for (int i = 0; i < z->nr_types; i++)
		if (type_is(&z->types[i], "HighAtomic"))
			for (int o = 0; o < frag->nr_orders; o++)
				pages += z->types[i].free[o] << o;
	return pages;
}

/*
 * A free block of at least the order on a list a movable allocation may
 * take from: MIGRATE_PCPTYPES (Unmovable, Movable, Reclaimable) and CMA.
 */
static bool has_suitable_block(const struct ms_frag *frag, const struct ms_frag_zone *z, int order)
{
	for (int o = order; o < frag->nr_orders; o++) {
		if (!z->nr_types) {
			if (z->free[o])
				return true;
			continue;
		}
		for (int i = 0; i < z->nr_types; i++) {
			const struct ms_frag_type *t = &z->types[i];
			if ((type_is(t, "Unmovable") || type_is(t, "Movable") ||
			     type_is(t, "Reclaimable") || type_is(t, "CMA")) &&
			    t->free[o])
				return true;
		}
	}
	return false;
}

/* gfp_zone(GFP_HIGHUSER_MOVABLE) is ZONE_MOVABLE; without one, the node's top zone. */
static int highest_zoneidx(const struct ms_frag *frag, int node)
{
	int highest = -1;
	for (size_t i = 0; i < frag->nr_zones; i++) {
		const struct ms_frag_zone *z = &frag->zones[i];
		if (z->node != node || z->index < 0)
			continue;
		if (strcmp(z->name, "Movable") == 0)
			return z->index;
		if (strcmp(z->name, "Device") != 0 && z->index > highest)
			highest = z->index;
	}
	return highest;
}

static void zone_verdict(const struct ms_frag *frag, const struct ms_frag_zone *z, int order,
			 int highest, uint64_t threshold, struct ms_frag_zone_verdict *v)
{
	memset(v, 0, sizeof(*v));
	v->zone = z;
	struct ms_frag_contig info;
	ms_frag_contig_info(frag, z, order, &info);
	v->fragindex = ms_frag_fragmentation_index(order, &info);
	if (z->index >= 0 && highest >= 0 && z->index > highest) {
		v->outcome = MS_FRAG_INELIGIBLE;
		return;
	}
	bool have_wmarks = z->have_zoneinfo && z->pages_free != MS_FRAG_UNKNOWN &&
			   z->min != MS_FRAG_UNKNOWN && z->low != MS_FRAG_UNKNOWN;
	int64_t free_pages =
		have_wmarks ? (int64_t)z->pages_free : (int64_t)ms_frag_zone_buddy_pages(frag, z);
	uint64_t min = have_wmarks ? z->min : 0, low = have_wmarks ? z->low : 0;
	v->reserve = (highest >= 0 && highest < z->nr_protection && z->protection[highest] > 0)
			     ? (uint64_t)z->protection[highest]
			     : 0;
	/* __zone_watermark_unusable_free(): the order's own tail, and the
	 * HighAtomic reserve that an ordinary allocation may not touch. CMA is
	 * usable by movable allocations (ALLOC_CMA). */
	uint64_t atomic = highatomic_free(frag, z);
	int64_t usable = free_pages - (int64_t)((UINT64_C(1) << order) - 1) - (int64_t)atomic;
	v->usable_free = usable;
	v->min_needed = min + v->reserve;
	v->low_needed = low + v->reserve;
	bool min_ok = usable > (int64_t)v->min_needed;
	v->suitable_block = order == 0 || has_suitable_block(frag, z, order);
	if (min_ok && v->suitable_block) {
		v->outcome = MS_FRAG_SUCCEEDS;
		v->fast_path = usable > (int64_t)v->low_needed;
		return;
	}
	/* __compaction_suitable(): order-0 watermark plus compact_gap() = 2 << order
	 * free pages for migration targets; low watermark for costly orders. */
	v->compaction_needed =
		(order > MS_FRAG_COSTLY_ORDER ? low : min) + (UINT64_C(2) << order) + v->reserve;
	v->compaction_suitable = free_pages - (int64_t)atomic > (int64_t)v->compaction_needed;
	if (!min_ok || !v->compaction_suitable) {
		v->outcome = MS_FRAG_NO_MEMORY;
		return;
	}
	if (order > MS_FRAG_COSTLY_ORDER && v->fragindex >= 0 &&
	    (uint64_t)v->fragindex <= threshold) {
		v->below_threshold = true;
		v->outcome = MS_FRAG_NO_MEMORY;
		return;
	}
	v->outcome = MS_FRAG_FRAGMENTED;
}

struct ms_error *ms_frag_verdict(const struct ms_frag *frag, int order, int node,
				 uint64_t extfrag_threshold, struct ms_frag_verdict *verdict_ret)
{
	memset(verdict_ret, 0, sizeof(*verdict_ret));
	if (order < 0 || order >= frag->nr_orders)
		return ms_error_create(MS_ERROR_INVALID,
				       "order %d is out of range: this kernel has orders 0 to %d",
				       order, frag->nr_orders - 1);
	size_t n = 0;
	for (size_t i = 0; i < frag->nr_zones; i++)
		if (frag->zones[i].populated && (node < 0 || frag->zones[i].node == node))
			n++;
	if (n == 0)
		return ms_error_create(MS_ERROR_NOT_FOUND, "no node %d with memory", node);
	struct ms_frag_zone_verdict *zv = calloc(n, sizeof(*zv));
	if (!zv)
		return &ms_error_no_memory;
	verdict_ret->order = order;
	verdict_ret->node = node;
	verdict_ret->extfrag_threshold = extfrag_threshold;
	verdict_ret->approximate = !frag->have_pagetypeinfo || !frag->have_zoneinfo;
	verdict_ret->highest_zoneidx = -1;
	bool succeeds = false, fragmented = false;
	size_t k = 0;
	for (size_t i = 0; i < frag->nr_zones; i++) {
		const struct ms_frag_zone *z = &frag->zones[i];
		if (!z->populated || (node >= 0 && z->node != node))
			continue;
		int highest = highest_zoneidx(frag, z->node);
		if (verdict_ret->highest_zoneidx < 0)
			verdict_ret->highest_zoneidx = highest;
		zone_verdict(frag, z, order, highest, extfrag_threshold, &zv[k]);
		succeeds |= zv[k].outcome == MS_FRAG_SUCCEEDS;
		fragmented |= zv[k].outcome == MS_FRAG_FRAGMENTED;
		k++;
	}
	verdict_ret->zones = zv;
	verdict_ret->nr_zones = k;
	verdict_ret->outcome = succeeds	    ? MS_FRAG_SUCCEEDS
			       : fragmented ? MS_FRAG_FRAGMENTED
					    : MS_FRAG_NO_MEMORY;
	return NULL;
}

void ms_frag_verdict_deinit(struct ms_frag_verdict *verdict)
{
	if (!verdict)
		return;
	free(verdict->zones);
	memset(verdict, 0, sizeof(*verdict));
}

/* ---- the kernel's own numbers from debugfs ---- */

struct ms_error *ms_frag_debugfs_parse(const char *text, struct ms_frag_debugfs_row **rows_ret,
				       size_t *nr_ret)
{
	struct ms_frag_debugfs_row *rows = NULL;
	size_t nr = 0;
	const char *cursor = text;
	const char *line;
	size_t len;
	while ((line = next_line(&cursor, &len))) {
		const char *end = line + len;
		if (skip_space(line, end) == end)
			continue;
		struct ms_frag_debugfs_row row;
		memset(&row, 0, sizeof(row));
		const char *s = parse_node_zone(line, end, &row.node, row.zone, sizeof(row.zone));
		if (!s) {
			free(rows);
			return ms_error_create(MS_ERROR_FORMAT, "extfrag: unexpected line '%.*s'",
					       (int)(len > 60 ? 60 : len), line);
		}
		for (;;) {
			s = skip_space(s, end);
			if (s >= end)
				break;
			size_t w = 0;
			while (s + w < end && s[w] != ' ' && s[w] != '\t')
				w++;
			if (row.nr_orders >= MS_FRAG_MAX_ORDERS || w >= sizeof(row.value[0])) {
				free(rows);
				return ms_error_create(MS_ERROR_FORMAT, "extfrag: bad values");
			}
			memcpy(row.value[row.nr_orders], s, w);
			row.value[row.nr_orders][w] = '\0';
			row.nr_orders++;
			s += w;
		}
		struct ms_frag_debugfs_row *bigger = realloc(rows, (nr + 1) * sizeof(*rows));
		if (!bigger) {
			free(rows);
			return &ms_error_no_memory;
		}
		rows = bigger;
		rows[nr++] = row;
	}
	*rows_ret = rows;
	*nr_ret = nr;
	return NULL;
}

static bool debugfs_mounted(void)
{
	char *mounts;
	if (!ms_procfs_try_read("/proc/self/mounts", &mounts))
		return false;
	bool found = strstr(mounts, " /sys/kernel/debug debugfs ") != NULL;
	free(mounts);
	return found;
}

static struct ms_error *read_debugfs_file(const char *dir, const char *name,
					  struct ms_frag_debugfs_row **rows, size_t *nr)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	char *text;
	struct ms_error *err = ms_procfs_read(path, &text, NULL);
	if (err) {
		int e = err->errnum;
		ms_error_destroy(err);
		if (e == EACCES || e == EPERM)
			return ms_error_create(MS_ERROR_PERMISSION, "reading %s needs root", path);
		if (e == ENOENT && strcmp(dir, "/sys/kernel/debug/extfrag") == 0)
			return ms_error_create(MS_ERROR_NOT_FOUND, "%s",
					       debugfs_mounted()
						       ? "this kernel has no debugfs extfrag "
							 "(needs CONFIG_COMPACTION)"
						       : "debugfs is not mounted (mount -t debugfs "
							 "none /sys/kernel/debug)");
		return ms_error_errno(e, "%s", path);
	}
	err = ms_frag_debugfs_parse(text, rows, nr);
	free(text);
	return err;
}

struct ms_error *ms_frag_debugfs_read(const char *dir, struct ms_frag_debugfs *dbg)
{
	memset(dbg, 0, sizeof(*dbg));
	struct ms_error *err =
		read_debugfs_file(dir, "unusable_index", &dbg->unusable, &dbg->nr_unusable);
	if (!err)
		err = read_debugfs_file(dir, "extfrag_index", &dbg->extfrag, &dbg->nr_extfrag);
	if (err)
		ms_frag_debugfs_deinit(dbg);
	return err;
}

void ms_frag_debugfs_deinit(struct ms_frag_debugfs *dbg)
{
	if (!dbg)
		return;
	free(dbg->unusable);
	free(dbg->extfrag);
	memset(dbg, 0, sizeof(*dbg));
}

static const struct ms_frag_debugfs_row *find_row(const struct ms_frag_debugfs_row *rows, size_t nr,
						  const struct ms_frag_zone *z)
{
	for (size_t i = 0; i < nr; i++)
		if (rows[i].node == z->node && strcmp(rows[i].zone, z->name) == 0)
			return &rows[i];
	return NULL;
}

bool ms_frag_debugfs_matches(const struct ms_frag *frag, const struct ms_frag_debugfs *dbg,
			     char *mismatch, size_t len)
{
	for (size_t i = 0; i < frag->nr_zones; i++) {
		const struct ms_frag_zone *z = &frag->zones[i];
		if (!z->populated)
			continue;
		for (int which = 0; which < 2; which++) {
			const struct ms_frag_debugfs_row *row =
				which ? find_row(dbg->extfrag, dbg->nr_extfrag, z)
				      : find_row(dbg->unusable, dbg->nr_unusable, z);
			const char *file = which ? "extfrag_index" : "unusable_index";
			if (!row || row->nr_orders != frag->nr_orders) {
				if (mismatch)
					snprintf(mismatch, len, "%s: node %d zone %s missing", file,
						 z->node, z->name);
				return false;
			}
			for (int o = 0; o < frag->nr_orders; o++) {
				char m[16];
				ms_frag_zone_index(frag, z, o, which, m, sizeof(m));
				if (strcmp(m, row->value[o]) != 0) {
					if (mismatch)
						snprintf(mismatch, len,
							 "%s: node %d zone %s order %d: %s here, "
							 "%s in debugfs",
							 file, z->node, z->name, o, m,
							 row->value[o]);
					return false;
				}
			}
		}
	}
	return true;
}
