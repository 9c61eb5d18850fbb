/* SPDX-License-Identifier: MIT */
/*
 * compact: run the kernel's compaction (all nodes or one), time it, and show
 * what it changed: free blocks per order, the indices, huge-page-sized
 * blocks gained, the vmstat counters; and whether kcompactd would compact on
 * its own. Optionally pictures of physical memory before and after.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/compact.h"
#include "../lib/frag.h"
#include "../lib/sysmem.h"
#include "cmd_physmap.h"
#include "commands.h"
#include "zones.h"

static uint64_t hpage_blocks(const struct ms_frag *frag, const struct ms_frag_zone *z, int order)
{
	struct ms_frag_contig info;
	ms_frag_contig_info(frag, z, order, &info);
	return info.free_blocks_suitable;
}

static bool wanted(const struct ms_frag_zone *z, int node)
{
	return z->populated && (node < 0 || z->node == node);
}

enum { LABEL_WIDTH = 15 };

static void json_zone_state(struct json *j, const char *key, const struct ms_frag *frag,
			    const struct ms_frag_zone *z, int hpage_order)
{
	json_key(j, key);
	json_begin_object(j);
	zones_json_blocks(j, "free_blocks", frag, z->free);
	zones_json_index(j, frag, z, false, NULL);
	zones_json_index(j, frag, z, true, NULL);
	json_kv_u64(j, "hpage_blocks", hpage_blocks(frag, z, hpage_order));
	json_end_object(j);
}

int cmd_compact(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option options[] = {
		{"node", required_argument, NULL, 'n'},
		{"svg-before", required_argument, NULL, 'b'},
		{"svg-after", required_argument, NULL, 'a'},
		{NULL, 0, NULL, 0},
	};
	int node = -1, c;
	const char *svg_before = NULL, *svg_after = NULL;
	while ((c = getopt_long(argc, argv, "n:", options, NULL)) != -1) {
		switch (c) {
		case 'n':
			if (!zones_parse_int(optarg, 1 << 20, &node))
				return cli_usage(ctx, "invalid node '%s'", optarg);
			break;
		case 'b':
			svg_before = optarg;
			break;
		case 'a':
			svg_after = optarg;
			break;
		default:
			return cli_usage(ctx, "unknown option");
		}
	}
	if (optind < argc)
		return cli_usage(ctx, "unexpected argument '%s'", argv[optind]);

	struct ms_frag before, after;
	ms_frag_init(&before);
	ms_frag_init(&after);
	struct ms_physmap pm = {0};
	int status = CLI_OK;
	struct ms_compact_counters cb, ca;
	struct ms_error *err = ms_frag_read(&before);
	if (err)
		goto fail;
	if (!zones_node_known(ctx, &before, node, &status))
		goto out;
	int hpage_order = ms_compact_hpage_order();
	if (hpage_order >= before.nr_orders)
		hpage_order = before.nr_orders - 1;
	unsigned proactiveness =
		(unsigned)ms_sysctl_u64_or(NULL, "vm.compaction_proactiveness", 20);
	if (svg_before) {
		err = physmap_build(ctx, &before, node, 0, &pm);
		if (!err)
			err = physmap_write_files(&pm, svg_before, NULL, "before compaction");
		ms_physmap_deinit(&pm);
		if (err)
			goto fail;
		/* the picture took a while: take the free lists again, right before */
		ms_frag_deinit(&before);
		ms_frag_init(&before);
		err = ms_frag_read(&before);
		if (err)
			goto fail;
	}
	int max_node = ms_frag_max_node(&before);
	unsigned scores_before[64] = {0};
	for (int n = 0; n <= max_node && n < 64; n++)
		scores_before[n] = ms_compact_node_score(&before, n, hpage_order);
	err = ms_compact_read_counters(&cb);
	if (err)
		goto fail;
	double seconds;
	err = ms_compact_run(node, &seconds);
	if (err)
		goto fail;
	err = ms_compact_read_counters(&ca);
	if (!err)
		err = ms_frag_read(&after);
	if (err)
		goto fail;
	if (svg_after) {
		err = physmap_build(ctx, &after, node, 0, &pm);
		if (!err)
			err = physmap_write_files(&pm, svg_after, NULL, "after compaction");
		ms_physmap_deinit(&pm);
		if (err)
			goto fail;
	}
	char trigger[96];
	if (node >= 0)
		snprintf(trigger, sizeof(trigger), "/sys/devices/system/node/node%d/compact", node);
	else
		snprintf(trigger, sizeof(trigger), "/proc/sys/vm/compact_memory");
	uint64_t hb = 0, ha = 0;
	for (size_t i = 0; i < before.nr_zones; i++) {
		const struct ms_frag_zone *z = &before.zones[i];
		if (!wanted(z, node))
			continue;
		hb += hpage_blocks(&before, z, hpage_order);
		const struct ms_frag_zone *za = ms_frag_find_zone(&after, z->node, z->name);
		if (za)
			ha += hpage_blocks(&after, za, hpage_order);
	}
	size_t page_size = (size_t)sysconf(_SC_PAGESIZE);
	char hsize[32];
	out_size(hsize, (UINT64_C(1) << hpage_order) * page_size);

	if (ctx->session->json) {
		struct json *j = &ctx->json;
		json_begin_object(j);
		if (node >= 0)
			json_kv_i64(j, "node", node);
		else
			json_kv_null(j, "node");
		json_kv_string(j, "trigger", trigger);
		json_kv_double(j, "seconds", seconds);
		json_kv_i64(j, "hpage_order", hpage_order);
		json_kv_u64(j, "hpage_blocks_before", hb);
		json_kv_u64(j, "hpage_blocks_after", ha);
		json_kv_i64(j, "hpage_blocks_gained", (int64_t)ha - (int64_t)hb);
		json_key(j, "zones");
		json_begin_array(j);
		for (size_t i = 0; i < before.nr_zones; i++) {
			const struct ms_frag_zone *z = &before.zones[i];
			const struct ms_frag_zone *za = ms_frag_find_zone(&after, z->node, z->name);
			if (!wanted(z, node) || !za)
				continue;
			json_begin_object(j);
			json_kv_i64(j, "node", z->node);
			json_kv_string(j, "zone", z->name);
			json_zone_state(j, "before", &before, z, hpage_order);
			json_zone_state(j, "after", &after, za, hpage_order);
			json_end_object(j);
		}
		json_end_array(j);
		json_key(j, "counters");
		json_begin_object(j);
		for (int i = 0; i < ca.n; i++) {
			uint64_t was = ms_compact_counter(&cb, ca.name[i]);
			json_key(j, ca.name[i]);
			json_begin_object(j);
			json_kv_u64(j, "before", was);
			json_kv_u64(j, "after", ca.value[i]);
			json_kv_i64(j, "delta", (int64_t)(ca.value[i] - was));
			json_end_object(j);
		}
		json_end_object(j);
		json_kv_string(j, "kcompactd_model", MS_COMPACT_MODEL_VERSION);
		json_key(j, "kcompactd");
		json_begin_array(j);
		for (int n = 0; n <= max_node; n++) {
			if (node >= 0 && n != node)
				continue;
			struct ms_compact_proactive p;
			ms_compact_proactive(&after, n, proactiveness, hpage_order, &p);
			json_begin_object(j);
			json_kv_i64(j, "node", n);
			json_kv_u64(j, "score_before", n < 64 ? scores_before[n] : 0);
			json_kv_u64(j, "score", p.score);
			json_kv_u64(j, "proactiveness", p.proactiveness);
			json_kv_u64(j, "wmark_low", p.wmark_low);
			json_kv_u64(j, "wmark_high", p.wmark_high);
			if (p.kswapd_known)
				json_kv_bool(j, "kswapd_running", p.kswapd_running);
			json_kv_bool(j, "would_compact", p.would_compact);
			json_end_object(j);
		}
		json_end_array(j);
		if (svg_before)
			json_kv_string(j, "svg_before", svg_before);
		if (svg_after)
			json_kv_string(j, "svg_after", svg_after);
		json_end_object(j);
		json_finish(j);
		goto out;
	}

	if (node >= 0)
		printf("Compacted node %d in %.3f s (%s).\n\n", node, seconds, trigger);
	else
		printf("Compacted all nodes in %.3f s (%s).\n\n", seconds, trigger);
	for (size_t i = 0; i < before.nr_zones; i++) {
		const struct ms_frag_zone *z = &before.zones[i];
		const struct ms_frag_zone *za = ms_frag_find_zone(&after, z->node, z->name);
		if (!wanted(z, node) || !za)
			continue;
		printf("Node %d, zone %s\n", z->node, z->name);
		zones_print_orders(LABEL_WIDTH, "order", &before);
		zones_print_blocks(LABEL_WIDTH, "blocks before", &before, z->free);
		zones_print_blocks(LABEL_WIDTH, "blocks after", &after, za->free);
		zones_print_index(LABEL_WIDTH, "unusable before", &before, z, false);
		zones_print_index(LABEL_WIDTH, "unusable after", &after, za, false);
		zones_print_index(LABEL_WIDTH, "fragidx before", &before, z, true);
		zones_print_index(LABEL_WIDTH, "fragidx after", &after, za, true);
		putchar('\n');
	}
	printf("Free huge-page-sized blocks (order %d, %s; a larger free block counts as "
	       "several): %" PRIu64 " before, %" PRIu64 " after (%+" PRId64 ").\n",
	       hpage_order, hsize, hb, ha, (int64_t)ha - (int64_t)hb);
	printf("Counters moved (/proc/vmstat):");
	int moved = 0;
	for (int i = 0; i < ca.n; i++) {
		uint64_t was = ms_compact_counter(&cb, ca.name[i]);
		if (ca.value[i] != was)
			printf("%s %s %+" PRId64, moved++ ? "," : "", ca.name[i],
			       (int64_t)(ca.value[i] - was));
	}
	printf("%s\n", moved ? "." : " none.");
	printf("\nkcompactd (proactive compaction, computed as mm/compaction.c of %s does):\n",
	       MS_COMPACT_MODEL_VERSION);
	for (int n = 0; n <= max_node; n++) {
		if (node >= 0 && n != node)
			continue;
		struct ms_compact_proactive p;
		ms_compact_proactive(&after, n, proactiveness, hpage_order, &p);
		printf("  node %d: fragmentation score %u (was %u); compaction_proactiveness %u: "
		       "kcompactd starts above %u and stops at %u.\n",
		       n, p.score, n < 64 ? scores_before[n] : 0, p.proactiveness, p.wmark_high,
		       p.wmark_low);
		if (!p.proactiveness)
			printf("  It would not act on its own: proactive compaction is off "
			       "(compaction_proactiveness 0).\n");
		else if (p.kswapd_running)
			printf("  It would not act on its own now: kswapd%d is running.\n", n);
		else if (p.would_compact)
			printf("  It would compact this node on its own now (score %u > %u).\n",
			       p.score, p.wmark_high);
		else
			printf("  It would not act on its own now (score %u <= %u); kswapd also "
			       "wakes it after reclaiming for a high-order allocation.\n",
			       p.score, p.wmark_high);
	}
	if (svg_before)
		printf("\nWrote %s (before)", svg_before);
	if (svg_after)
		printf("%sWrote %s (after)", svg_before ? ", " : "\n", svg_after);
	if (svg_before || svg_after)
		printf(".\n");
	goto out;
fail:
	status = cli_error(ctx, err);
out:
	ms_physmap_deinit(&pm);
	ms_frag_deinit(&before);
	ms_frag_deinit(&after);
	return status;
}
