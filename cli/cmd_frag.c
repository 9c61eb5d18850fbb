/* SPDX-License-Identifier: MIT */
/*
 * frag: the page allocator's free lists per node and zone, the kernel's
 * fragmentation indices, and whether an order-N allocation would succeed.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/frag.h"
#include "../lib/sysmem.h"
#include "commands.h"
#include "zones.h"

#define EXTFRAG_DIR "/sys/kernel/debug/extfrag"

/* "4K", "1.5M", "3.0G": free memory per order in a 7-wide column. */
static const char *short_size(char *buf, size_t len, uint64_t bytes)
{
	static const char units[] = "BKMGTP";
	if (bytes == 0) {
		snprintf(buf, len, "0");
		return buf;
	}
	double v = (double)bytes;
	int u = 0;
	while (v >= 1024 && u < 5) {
		v /= 1024;
		u++;
	}
	if (v >= 100 || v == (double)(uint64_t)v)
		snprintf(buf, len, "%.0f%c", v, units[u]);
	else
		snprintf(buf, len, "%.1f%c", v, units[u]);
	return buf;
}

/* MemFree of the machine, or of one node (sysmem reads its "Node N " lines). */
static bool mem_free(int node, uint64_t *bytes)
{
	char path[80];
	if (node < 0)
		snprintf(path, sizeof(path), "/proc/meminfo");
	else
		snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/meminfo", node);
	struct ms_kvfile *kv;
	struct ms_error *err = ms_kvfile_read(NULL, path, &kv);
	if (err) {
		ms_error_destroy(err);
		return false;
	}
	bool ok = ms_kvfile_get(kv, "MemFree", bytes) && (node < 0 || kv->node == node);
	ms_kvfile_destroy(kv);
	return ok;
}

struct free_summary {
	uint64_t buddy, counters, pcp, cma, highatomic; /* pages */
	bool have_counters;
	uint64_t memfree; /* bytes */
	bool have_memfree;
};

static void summarize(const struct ms_frag *frag, int node, struct free_summary *s)
{
	memset(s, 0, sizeof(*s));
	s->have_counters = frag->have_zoneinfo;
	for (size_t i = 0; i < frag->nr_zones; i++) {
		const struct ms_frag_zone *z = &frag->zones[i];
		if (node >= 0 && z->node != node)
			continue;
		if (z->populated)
			s->buddy += ms_frag_zone_buddy_pages(frag, z);
		if (z->have_zoneinfo) {
			if (z->pages_free != MS_FRAG_UNKNOWN)
				s->counters += z->pages_free;
			s->pcp += z->pcp_count;
			if (z->nr_free_cma != MS_FRAG_UNKNOWN)
				s->cma += z->nr_free_cma;
		}
		for (int t = 0; t < z->nr_types; t++)
			if (strcmp(z->types[t].name, "HighAtomic") == 0)
				for (int o = 0; o < frag->nr_orders; o++)
					s->highatomic += z->types[t].free[o] << o;
	}
	s->have_memfree = mem_free(node, &s->memfree);
}

static const char *outcome_key(enum ms_frag_outcome o)
{
	switch (o) {
	case MS_FRAG_SUCCEEDS:
		return "succeeds";
	case MS_FRAG_NO_MEMORY:
		return "fails_no_memory";
	case MS_FRAG_FRAGMENTED:
		return "fails_fragmented";
	case MS_FRAG_INELIGIBLE:
		return "not_eligible";
	}
	return "?";
}

/* The cross-check against debugfs: read it and the free lists close together. */
struct crosscheck {
	bool available;
	bool matches;
	char reason[200];
};

static struct ms_error *crosscheck(struct ms_frag *frag, struct crosscheck *cc)
{
	memset(cc, 0, sizeof(*cc));
	for (int attempt = 0; attempt < 5; attempt++) {
		struct ms_frag_debugfs dbg;
		struct ms_error *err = ms_frag_debugfs_read(EXTFRAG_DIR, &dbg);
		if (err) {
			snprintf(cc->reason, sizeof(cc->reason), "%s", err->message);
			ms_error_destroy(err);
			return NULL;
		}
		cc->available = true;
		/* Free lists move all the time: re-read them right after debugfs. */
		err = ms_frag_read_buddyinfo(NULL, frag);
		if (err) {
			ms_frag_debugfs_deinit(&dbg);
			return err;
		}
		cc->matches = ms_frag_debugfs_matches(frag, &dbg, cc->reason, sizeof(cc->reason));
		ms_frag_debugfs_deinit(&dbg);
		if (cc->matches)
			return NULL;
	}
	return NULL;
}

enum { LABEL_WIDTH = 11 };

static void print_zone_text(const struct ms_frag *frag, const struct ms_frag_zone *z,
			    size_t page_size)
{
	char a[32], b[32], c[32];
	printf("Node %d, zone %s", z->node, z->name);
	if (z->have_zoneinfo && z->present != MS_FRAG_UNKNOWN && z->managed != MS_FRAG_UNKNOWN)
		printf("  (present %s, managed %s, free %s)", out_size(a, z->present * page_size),
		       out_size(b, z->managed * page_size),
		       out_size(c, ms_frag_zone_buddy_pages(frag, z) * page_size));
	putchar('\n');
	zones_print_orders(LABEL_WIDTH, "order", frag);
	zones_print_blocks(LABEL_WIDTH, "free blocks", frag, z->free);
	zones_row_label(LABEL_WIDTH, "free memory");
	for (int o = 0; o < frag->nr_orders; o++)
		printf("%7s", short_size(a, sizeof(a), (z->free[o] << o) * page_size));
	putchar('\n');
	zones_print_index(LABEL_WIDTH, "unusable", frag, z, false);
	zones_print_index(LABEL_WIDTH, "fragindex", frag, z, true);
	for (int t = 0; t < z->nr_types; t++) {
		const struct ms_frag_type *ty = &z->types[t];
		zones_row_label(LABEL_WIDTH, ty->name);
		for (int o = 0; o < frag->nr_orders; o++) {
			snprintf(a, sizeof(a), "%s%" PRIu64, ty->capped[o] ? ">" : "", ty->free[o]);
			printf("%7s", a);
		}
		putchar('\n');
	}
	if (z->nr_types) {
		printf("  pageblocks:");
		for (int t = 0; t < z->nr_types; t++)
			if (z->types[t].pageblocks != MS_FRAG_UNKNOWN)
				printf(" %s %" PRIu64 "%s", z->types[t].name,
				       z->types[t].pageblocks, t + 1 < z->nr_types ? "," : "");
		putchar('\n');
	}
	if (z->have_zoneinfo && z->min != MS_FRAG_UNKNOWN) {
		printf("  watermarks: min %" PRIu64 ", low %" PRIu64 ", high %" PRIu64 " pages",
		       z->min, z->low, z->high);
		if (z->boost != MS_FRAG_UNKNOWN && z->boost)
			printf(" (boosted by %" PRIu64 ")", z->boost);
		if (z->nr_protection) {
			printf("; lowmem reserve (");
			for (int i = 0; i < z->nr_protection; i++)
				printf("%s%" PRId64, i ? ", " : "", z->protection[i]);
			putchar(')');
		}
		putchar('\n');
	}
	putchar('\n');
}

static void print_verdict_text(const struct ms_frag *frag, const struct ms_frag_verdict *v,
			       size_t page_size)
{
	char a[32];
	printf("An order-%d allocation (%s, movable: user memory or THP) ", v->order,
	       out_size(a, (UINT64_C(1) << v->order) * page_size));
	switch (v->outcome) {
	case MS_FRAG_SUCCEEDS:
		printf("succeeds now.\n");
		break;
	case MS_FRAG_NO_MEMORY:
		printf("fails now for lack of free memory: reclaim must free pages first.\n");
		break;
	case MS_FRAG_FRAGMENTED:
		printf("fails now for fragmentation: enough memory is free, but not in blocks "
		       "this large; compaction would help (memscope compact).\n");
		break;
	case MS_FRAG_INELIGIBLE:
		break;
	}
	for (size_t i = 0; i < v->nr_zones; i++) {
		const struct ms_frag_zone_verdict *zv = &v->zones[i];
		const struct ms_frag_zone *z = zv->zone;
		printf("  Node %d %-8s ", z->node, z->name);
		switch (zv->outcome) {
		case MS_FRAG_INELIGIBLE:
			printf("not used for this allocation (above its highest zone)\n");
			continue;
		case MS_FRAG_SUCCEEDS:
			printf("succeeds: %" PRId64 " usable free pages > min watermark %" PRIu64
			       " + lowmem reserve %" PRIu64 ", a free block of order >= %d%s\n",
			       zv->usable_free, zv->min_needed - zv->reserve, zv->reserve, v->order,
			       zv->fast_path ? "" : "; below the low watermark, kswapd is woken");
			continue;
		case MS_FRAG_NO_MEMORY:
			if (zv->usable_free <= (int64_t)zv->min_needed)
				printf("fails: %" PRId64
				       " usable free pages <= min watermark %" PRIu64
				       " + lowmem reserve %" PRIu64 "\n",
				       zv->usable_free, zv->min_needed - zv->reserve, zv->reserve);
			else if (!zv->compaction_suitable)
				printf("fails: no free block of order >= %d, and too little free "
				       "memory for compaction (needs > %" PRIu64 " pages)\n",
				       v->order, zv->compaction_needed);
			else {
				char idx[16];
				ms_frag_format_index(idx, sizeof(idx), zv->fragindex, true);
				printf("fails: no free block of order >= %d; fragmentation index "
				       "%s <= extfrag_threshold %" PRIu64
				       ": the kernel reclaims rather than compacts\n",
				       v->order, idx, v->extfrag_threshold);
			}
			continue;
		case MS_FRAG_FRAGMENTED: {
			char idx[16];
			ms_frag_format_index(idx, sizeof(idx), zv->fragindex, true);
			printf("fails: %" PRId64
			       " pages free above the watermarks but no free block "
			       "of order >= %d (fragmentation index %s)\n",
			       zv->usable_free, v->order, idx);
			continue;
		}
		}
	}
	if (!frag->have_pagetypeinfo)
		printf("  (without /proc/pagetypeinfo, readable by root only, blocks on the "
		       "HighAtomic and Isolate lists count as usable)\n");
	if (!frag->have_zoneinfo)
		printf("  (without /proc/zoneinfo the watermarks are unknown and taken as 0)\n");
}

static void json_index_arrays(struct json *j, const struct ms_frag *frag,
			      const struct ms_frag_zone *z, bool extfrag)
{
	int values[MS_FRAG_MAX_ORDERS];
	zones_json_index(j, frag, z, extfrag, values);
	json_key(j, extfrag ? "fragmentation_index_thousandths" : "unusable_index_thousandths");
	json_begin_array(j);
	for (int o = 0; o < frag->nr_orders; o++)
		json_i64(j, values[o]);
	json_end_array(j);
}

static void json_u64_or_null(struct json *j, const char *key, uint64_t v)
{
	if (v == MS_FRAG_UNKNOWN)
		json_kv_null(j, key);
	else
		json_kv_u64(j, key, v);
}

static void print_zone_json(struct json *j, const struct ms_frag *frag,
			    const struct ms_frag_zone *z, size_t page_size)
{
	json_begin_object(j);
	json_kv_i64(j, "node", z->node);
	json_kv_string(j, "zone", z->name);
	json_kv_i64(j, "index", z->index);
	zones_json_blocks(j, "free_blocks", frag, z->free);
	json_key(j, "free_bytes");
	json_begin_array(j);
	for (int o = 0; o < frag->nr_orders; o++)
		json_u64(j, (z->free[o] << o) * page_size);
	json_end_array(j);
	json_kv_u64(j, "buddy_free_pages", ms_frag_zone_buddy_pages(frag, z));
	json_index_arrays(j, frag, z, false);
	json_index_arrays(j, frag, z, true);
	if (z->have_zoneinfo) {
		json_u64_or_null(j, "pages_free", z->pages_free);
		json_u64_or_null(j, "min", z->min);
		json_u64_or_null(j, "low", z->low);
		json_u64_or_null(j, "high", z->high);
		json_u64_or_null(j, "boost", z->boost);
		json_u64_or_null(j, "promo", z->promo);
		json_u64_or_null(j, "spanned", z->spanned);
		json_u64_or_null(j, "present", z->present);
		json_u64_or_null(j, "managed", z->managed);
		json_u64_or_null(j, "cma", z->cma);
		json_u64_or_null(j, "start_pfn", z->start_pfn);
		json_kv_u64(j, "pcp_pages", z->pcp_count);
		json_key(j, "lowmem_reserve");
		json_begin_array(j);
		for (int i = 0; i < z->nr_protection; i++)
			json_i64(j, z->protection[i]);
		json_end_array(j);
	}
	if (z->nr_types) {
		json_key(j, "migrate_types");
		json_begin_array(j);
		for (int t = 0; t < z->nr_types; t++) {
			const struct ms_frag_type *ty = &z->types[t];
			json_begin_object(j);
			json_kv_string(j, "type", ty->name);
			zones_json_blocks(j, "free_blocks", frag, ty->free);
			json_key(j, "capped");
			json_begin_array(j);
			for (int o = 0; o < frag->nr_orders; o++)
				json_bool(j, ty->capped[o]);
			json_end_array(j);
			json_u64_or_null(j, "pageblocks", ty->pageblocks);
			json_end_object(j);
		}
		json_end_array(j);
	}
	json_end_object(j);
}

static void print_verdict_json(struct json *j, const struct ms_frag_verdict *v)
{
	json_key(j, "verdict");
	json_begin_object(j);
	json_kv_i64(j, "order", v->order);
	json_kv_string(j, "outcome", outcome_key(v->outcome));
	json_kv_u64(j, "extfrag_threshold", v->extfrag_threshold);
	json_kv_i64(j, "highest_zone_index", v->highest_zoneidx);
	json_kv_bool(j, "approximate", v->approximate);
	json_key(j, "zones");
	json_begin_array(j);
	for (size_t i = 0; i < v->nr_zones; i++) {
		const struct ms_frag_zone_verdict *zv = &v->zones[i];
		json_begin_object(j);
		json_kv_i64(j, "node", zv->zone->node);
		json_kv_string(j, "zone", zv->zone->name);
		json_kv_string(j, "outcome", outcome_key(zv->outcome));
		if (zv->outcome != MS_FRAG_INELIGIBLE) {
			json_kv_i64(j, "usable_free_pages", zv->usable_free);
			json_kv_u64(j, "min_needed", zv->min_needed);
			json_kv_u64(j, "low_needed", zv->low_needed);
			json_kv_u64(j, "lowmem_reserve", zv->reserve);
			json_kv_bool(j, "suitable_block", zv->suitable_block);
			json_kv_bool(j, "fast_path", zv->fast_path);
			json_kv_bool(j, "compaction_suitable", zv->compaction_suitable);
			json_kv_i64(j, "fragmentation_index", zv->fragindex);
			json_kv_bool(j, "below_extfrag_threshold", zv->below_threshold);
		}
		json_end_object(j);
	}
	json_end_array(j);
	json_end_object(j);
}

int cmd_frag(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option options[] = {
		{"order", required_argument, NULL, 'o'},
		{"node", required_argument, NULL, 'n'},
		{NULL, 0, NULL, 0},
	};
	int order = -1, node = -1, c;
	while ((c = getopt_long(argc, argv, "o:n:", options, NULL)) != -1) {
		switch (c) {
		case 'o':
			if (!zones_parse_int(optarg, 1 << 20, &order))
				return cli_usage(ctx, "invalid order '%s'", optarg);
			break;
		case 'n':
			if (!zones_parse_int(optarg, 1 << 20, &node))
				return cli_usage(ctx, "invalid node '%s'", optarg);
			break;
		default:
			return cli_usage(ctx, "unknown option");
		}
	}
	if (optind < argc)
		return cli_usage(ctx, "unexpected argument '%s'", argv[optind]);

	struct ms_frag frag;
	ms_frag_init(&frag);
	struct ms_frag_verdict verdict = {0};
	int status = CLI_OK;
	struct ms_error *err = ms_frag_read(&frag);
	if (err) {
		status = cli_error(ctx, err);
		goto out;
	}
	if (order >= frag.nr_orders) {
		status = cli_usage(ctx, "order %d is out of range: this kernel has orders 0 to %d",
				   order, frag.nr_orders - 1);
		goto out;
	}
	if (!zones_node_known(ctx, &frag, node, &status))
		goto out;
	struct crosscheck cc;
	err = crosscheck(&frag, &cc);
	if (err) {
		status = cli_error(ctx, err);
		goto out;
	}
	uint64_t threshold = ms_sysctl_u64_or(NULL, "vm.extfrag_threshold", 500);
	int verdict_order =
		order >= 0 ? order : (frag.pageblock_order > 0 ? frag.pageblock_order : 9);
	if (verdict_order >= frag.nr_orders)
		verdict_order = frag.nr_orders - 1;
	err = ms_frag_verdict(&frag, verdict_order, node, threshold, &verdict);
	if (err) {
		status = cli_error(ctx, err);
		goto out;
	}
	size_t page_size = (size_t)sysconf(_SC_PAGESIZE);
	struct free_summary fs;
	summarize(&frag, node, &fs);

	if (ctx->session->json) {
		struct json *j = &ctx->json;
		json_begin_object(j);
		json_kv_u64(j, "page_size", page_size);
		json_kv_i64(j, "nr_orders", frag.nr_orders);
		json_kv_i64(j, "pageblock_order", frag.pageblock_order);
		json_kv_bool(j, "pagetypeinfo", frag.have_pagetypeinfo);
		if (!frag.have_pagetypeinfo)
			json_kv_string(j, "pagetypeinfo_missing",
				       "/proc/pagetypeinfo is readable by root only");
		json_kv_u64(j, "extfrag_threshold", threshold);
		json_key(j, "zones");
		json_begin_array(j);
		for (size_t i = 0; i < frag.nr_zones; i++) {
			const struct ms_frag_zone *z = &frag.zones[i];
			if (z->populated && (node < 0 || z->node == node))
				print_zone_json(j, &frag, z, page_size);
		}
		json_end_array(j);
		json_key(j, "free_memory");
		json_begin_object(j);
		json_kv_u64(j, "buddy_bytes", fs.buddy * page_size);
		if (fs.have_counters)
			json_kv_u64(j, "zone_counter_bytes", fs.counters * page_size);
		if (fs.have_memfree) {
			json_kv_u64(j, "memfree_bytes", fs.memfree);
			json_kv_i64(j, "memfree_minus_buddy_bytes",
				    (int64_t)fs.memfree - (int64_t)(fs.buddy * page_size));
		}
		json_kv_u64(j, "pcp_bytes", fs.pcp * page_size);
		json_kv_u64(j, "free_cma_bytes", fs.cma * page_size);
		if (frag.have_pagetypeinfo)
			json_kv_u64(j, "highatomic_free_bytes", fs.highatomic * page_size);
		json_end_object(j);
		json_key(j, "debugfs");
		json_begin_object(j);
		json_kv_bool(j, "available", cc.available);
		if (cc.available)
			json_kv_bool(j, "matches", cc.matches);
		if (!cc.matches)
			json_kv_string(j, "reason", cc.reason);
		json_end_object(j);
		print_verdict_json(j, &verdict);
		json_end_object(j);
		json_finish(j);
	} else {
		for (size_t i = 0; i < frag.nr_zones; i++) {
			const struct ms_frag_zone *z = &frag.zones[i];
			if (z->populated && (node < 0 || z->node == node))
				print_zone_text(&frag, z, page_size);
		}
		if (!frag.have_pagetypeinfo)
			printf("Migrate types and pageblocks: /proc/pagetypeinfo is readable by "
			       "root "
			       "only.\n");
		char a[32], b[32], d[32];
		printf("Free memory: %s on the buddy lists", out_size(a, fs.buddy * page_size));
		if (fs.have_counters)
			printf(", %s by the zones' counters", out_size(b, fs.counters * page_size));
		if (fs.have_memfree) {
			int64_t diff = (int64_t)fs.memfree - (int64_t)(fs.buddy * page_size);
			printf(", MemFree %s: %s%s %s the buddy lists", out_size(d, fs.memfree),
			       diff < 0 ? "-" : "",
			       out_size(a, (uint64_t)(diff < 0 ? -diff : diff)),
			       diff < 0 ? "below" : "beyond");
		}
		printf(".\n");
		printf("  per-CPU lists hold %s more (counted in neither)",
		       out_size(a, fs.pcp * page_size));
		if (fs.cma)
			printf("; free CMA %s", out_size(a, fs.cma * page_size));
		if (fs.highatomic)
			printf("; HighAtomic reserve %s free",
			       out_size(a, fs.highatomic * page_size));
		printf(".\n");
		if (fs.have_memfree && fs.have_counters &&
		    fs.memfree >
			    fs.counters * page_size + fs.counters * page_size / 100 + (64u << 20))
			printf("  MemFree counts %s that no zone's free lists hold: memory the "
			       "kernel has not yet handed to the page allocator (deferred "
			       "initialisation, ballooning).\n",
			       out_size(a, fs.memfree - fs.counters * page_size));
		if (cc.available && cc.matches)
			printf("Indices: equal to the kernel's %s/{unusable_index,extfrag_index}, "
			       "digit for digit.\n",
			       EXTFRAG_DIR);
		else if (cc.available)
			printf("Indices: differ from the kernel's debugfs (%s); the free lists "
			       "kept changing between reads.\n",
			       cc.reason);
		else
			printf("Indices: computed as mm/vmstat.c does; no cross-check with the "
			       "kernel: %s.\n",
			       cc.reason);
		putchar('\n');
		print_verdict_text(&frag, &verdict, page_size);
	}
	if (order >= 0 && verdict.outcome != MS_FRAG_SUCCEEDS)
		status = CLI_PARTIAL; /* the exit status contract: 1 when it would fail */
out:
	ms_frag_verdict_deinit(&verdict);
	ms_frag_deinit(&frag);
	return status;
}
