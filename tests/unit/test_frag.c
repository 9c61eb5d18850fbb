/* SPDX-License-Identifier: MIT */
/*
 * frag and compact: parsing recorded buddyinfo/pagetypeinfo/zoneinfo of other
 * kernels and configurations, the mm/vmstat.c indices against the kernel's
 * own debugfs output and hand-worked values, the allocation verdict, and the
 * proactive-compaction score.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compact.h"
#include "frag.h"
#include "procfs.h"
#include "unit.h"

static char *slurp(const char *dir, const char *name)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/%s/%s", MS_TEST_DATA, dir, name);
	char *text = NULL;
	struct ms_error *err = ms_procfs_read(path, &text, NULL);
	ck_assert_msg(err == NULL, "%s: %s", path, err ? err->message : "");
	return text;
}

/* Load a recorded set the way ms_frag_read does: zoneinfo, buddyinfo, pagetypeinfo. */
static void load(struct ms_frag *frag, const char *dir, bool zoneinfo, bool pagetypeinfo)
{
	ms_frag_init(frag);
	char *text;
	if (zoneinfo) {
		text = slurp(dir, "zoneinfo");
		ck_assert_ptr_null(ms_frag_parse_zoneinfo(frag, text));
		free(text);
	}
	text = slurp(dir, "buddyinfo");
	ck_assert_ptr_null(ms_frag_parse_buddyinfo(frag, text));
	free(text);
	if (pagetypeinfo) {
		text = slurp(dir, "pagetypeinfo");
		ck_assert_ptr_null(ms_frag_parse_pagetypeinfo(frag, text));
		free(text);
	}
}

static void assert_indices(const struct ms_frag *frag, int node, const char *zone, bool extfrag,
			   const char *expected)
{
	const struct ms_frag_zone *z = ms_frag_find_zone(frag, node, zone);
	ck_assert_ptr_nonnull(z);
	char line[256] = "";
	for (int o = 0; o < frag->nr_orders; o++) {
		char buf[16];
		ms_frag_zone_index(frag, z, o, extfrag, buf, sizeof(buf));
		if (o)
			strcat(line, " ");
		strcat(line, buf);
	}
	ck_assert_str_eq(line, expected);
}

START_TEST(test_recorded_kernel_indices)
{
	/* Free lists and the kernel's own debugfs indices, read at one moment. */
	struct ms_frag frag;
	load(&frag, "fc-6.18", true, true);
	char *u = slurp("fc-6.18", "unusable_index");
	char *e = slurp("fc-6.18", "extfrag_index");
	struct ms_frag_debugfs dbg = {0};
	ck_assert_ptr_null(ms_frag_debugfs_parse(u, &dbg.unusable, &dbg.nr_unusable));
	ck_assert_ptr_null(ms_frag_debugfs_parse(e, &dbg.extfrag, &dbg.nr_extfrag));
	ck_assert_uint_eq(dbg.nr_unusable, 3);
	char why[200] = "";
	ck_assert_msg(ms_frag_debugfs_matches(&frag, &dbg, why, sizeof(why)), "%s", why);
	/* one digit off must be caught */
	dbg.unusable[2].value[10][4] = dbg.unusable[2].value[10][4] == '9' ? '8' : '9';
	ck_assert(!ms_frag_debugfs_matches(&frag, &dbg, why, sizeof(why)));
	ck_assert_ptr_nonnull(strstr(why, "Normal order 10"));
	ms_frag_debugfs_deinit(&dbg);
	free(u);
	free(e);
	/* zoneinfo lists empty Movable and Device zones too */
	ck_assert_uint_eq(frag.nr_zones, 5);
	const struct ms_frag_zone *dev = ms_frag_find_zone(&frag, 0, "Device");
	ck_assert_ptr_nonnull(dev);
	ck_assert(!dev->populated);
	ck_assert_int_eq(dev->index, 4);
	ms_frag_deinit(&frag);
}
END_TEST

START_TEST(test_numa2_movable_parse)
{
	struct ms_frag frag;
	load(&frag, "numa2-movable", true, true);
	ck_assert_int_eq(frag.nr_orders, 11);
	ck_assert_int_eq(frag.pageblock_order, 9);
	ck_assert_uint_eq(frag.nr_zones, 10);
	int populated = 0;
	for (size_t i = 0; i < frag.nr_zones; i++)
		populated += frag.zones[i].populated;
	ck_assert_int_eq(populated, 6);
	ck_assert_int_eq(ms_frag_max_node(&frag), 1);

	const struct ms_frag_zone *n = ms_frag_find_zone(&frag, 0, "Normal");
	ck_assert_int_eq(n->index, 2);
	ck_assert_uint_eq(n->pages_free, 60171);
	ck_assert_uint_eq(ms_frag_zone_buddy_pages(&frag, n), 60134);
	ck_assert_uint_eq(n->pcp_count, 489);
	ck_assert_uint_eq(n->min, 4300);
	ck_assert_uint_eq(n->low, 5375);
	ck_assert_uint_eq(n->promo, 7525);
	ck_assert_uint_eq(n->boost, 0);
	ck_assert_int_eq(n->nr_protection, 5);
	ck_assert_int_eq(n->protection[3], 2048);
	ck_assert_uint_eq(n->start_pfn, 1048576);
	ck_assert_int_eq(n->nr_types, 5);
	ck_assert_str_eq(n->types[3].name, "HighAtomic");
	ck_assert_uint_eq(n->types[3].free[9], 1);
	/* the mixed-blocks table of CONFIG_PAGE_OWNER must not overwrite the counts */
	ck_assert_uint_eq(n->types[1].pageblocks, 7420);
	const struct ms_frag_zone *m = ms_frag_find_zone(&frag, 0, "Movable");
	ck_assert_int_eq(m->index, 3);
	ck_assert_uint_eq(m->types[4].pageblocks, 2);
	ck_assert_uint_eq(m->free[10], 480);
	ck_assert_int_eq(ms_frag_find_zone(&frag, 1, "Normal")->index, 2);
	ck_assert(!ms_frag_find_zone(&frag, 1, "DMA")->populated);
	ms_frag_deinit(&frag);
}
END_TEST

START_TEST(test_numa2_movable_indices)
{
	struct ms_frag frag;
	load(&frag, "numa2-movable", true, true);
	assert_indices(&frag, 1, "Normal", false,
		       "0.000 0.714 1.000 1.000 1.000 1.000 1.000 1.000 1.000 1.000 1.000");
	assert_indices(&frag, 1, "Normal", true,
		       "-1.000 -1.000 0.542 0.688 0.761 0.797 0.816 0.825 0.829 0.832 0.833");
	assert_indices(&frag, 0, "DMA32", false,
		       "0.000 0.069 0.169 0.295 0.448 0.586 0.738 0.862 0.944 1.000 1.000");
	assert_indices(&frag, 1, "Movable", true,
		       "-1.000 -1.000 -1.000 -1.000 -1.000 -1.000 -1.000 0.973 0.985 0.991 0.993");
	/* the kernel's column: "%2d.%03d" keeps a leading blank */
	char raw[16];
	struct ms_frag_contig info;
	ms_frag_contig_info(&frag, ms_frag_find_zone(&frag, 0, "DMA32"), 9, &info);
	ck_assert_uint_eq(info.free_pages, 4643);
	ck_assert_uint_eq(info.free_blocks_total, 866);
	ck_assert_uint_eq(info.free_blocks_suitable, 0);
	ms_frag_format_index(raw, sizeof(raw), ms_frag_fragmentation_index(9, &info), true);
	ck_assert_str_eq(raw, " 0.989");
	ms_frag_deinit(&frag);
}
END_TEST

static const struct ms_frag_zone_verdict *zone_verdict(const struct ms_frag_verdict *v, int node,
						       const char *zone)
{
	for (size_t i = 0; i < v->nr_zones; i++)
		if (v->zones[i].zone->node == node && strcmp(v->zones[i].zone->name, zone) == 0)
			return &v->zones[i];
	ck_abort_msg("no verdict for node %d zone %s", node, zone);
	return NULL;
}

START_TEST(test_numa2_movable_verdict)
{
	struct ms_frag frag;
	load(&frag, "numa2-movable", true, true);
	struct ms_frag_verdict v;
	ck_assert_ptr_null(ms_frag_verdict(&frag, 10, -1, 500, &v));
	ck_assert_int_eq(v.outcome, MS_FRAG_SUCCEEDS);
	ck_assert_int_eq(v.highest_zoneidx, 3); /* ZONE_MOVABLE */
	ck_assert_uint_eq(v.nr_zones, 6);
	/* DMA and DMA32: the lowmem reserve against movable allocations */
	const struct ms_frag_zone_verdict *dma = zone_verdict(&v, 0, "DMA");
	ck_assert_int_eq(dma->outcome, MS_FRAG_NO_MEMORY);
	ck_assert_uint_eq(dma->min_needed, 11 + 7671);
	ck_assert_int_eq(dma->usable_free, 3840 - 1023);
	ck_assert_int_eq(zone_verdict(&v, 0, "DMA32")->outcome, MS_FRAG_NO_MEMORY);
	/* Normal: plenty free, no order-10 block, fragmentation index 0.998 > 0.500 */
	const struct ms_frag_zone_verdict *nz = zone_verdict(&v, 0, "Normal");
	ck_assert_int_eq(nz->outcome, MS_FRAG_FRAGMENTED);
	ck_assert_int_eq(nz->fragindex, 998);
	/* free - (2^10 - 1) - the free HighAtomic block */
	ck_assert_int_eq(nz->usable_free, 60171 - 1023 - 512);
	ck_assert(nz->compaction_suitable);
	ck_assert_uint_eq(nz->compaction_needed, 5375 + 2048 + 2048);
	ck_assert_int_eq(zone_verdict(&v, 0, "Movable")->outcome, MS_FRAG_SUCCEEDS);
	ck_assert_int_eq(zone_verdict(&v, 1, "Normal")->outcome, MS_FRAG_NO_MEMORY);
	ms_frag_verdict_deinit(&v);

	ck_assert_ptr_null(ms_frag_verdict(&frag, 10, 1, 500, &v));
	ck_assert_int_eq(v.outcome, MS_FRAG_NO_MEMORY);
	ck_assert_uint_eq(v.nr_zones, 2);
	ms_frag_verdict_deinit(&v);

	ck_assert_ptr_null(ms_frag_verdict(&frag, 9, 0, 500, &v));
	ck_assert_int_eq(v.outcome, MS_FRAG_SUCCEEDS);
	nz = zone_verdict(&v, 0, "Normal");
	ck_assert_int_eq(nz->outcome, MS_FRAG_SUCCEEDS);
	ck_assert(nz->fast_path);
	ms_frag_verdict_deinit(&v);

	/* The only order-9 block left on a HighAtomic list: a movable allocation may
	 * not take it, so the zone has no suitable block although buddyinfo has one. */
	struct ms_frag_zone *z = ms_frag_find_zone(&frag, 0, "Normal");
	z->types[1].free[9] = 0;
	z->free[9] = 1;
	ck_assert_ptr_null(ms_frag_verdict(&frag, 9, 0, 500, &v));
	nz = zone_verdict(&v, 0, "Normal");
	ck_assert(!nz->suitable_block);
	ck_assert_int_eq(nz->outcome, MS_FRAG_FRAGMENTED);
	ms_frag_verdict_deinit(&v);

	struct ms_error *err = ms_frag_verdict(&frag, 11, -1, 500, &v);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(err->code, MS_ERROR_INVALID);
	ms_error_destroy(err);
	err = ms_frag_verdict(&frag, 3, 7, 500, &v);
	ck_assert_int_eq(err->code, MS_ERROR_NOT_FOUND);
	ms_error_destroy(err);
	ms_frag_deinit(&frag);
}
END_TEST

START_TEST(test_extfrag_threshold)
{
	/* 1000 free order-8 blocks and nothing larger: an order-9 request fails with
	 * fragmentation index 1000 - (1000 + 256000*1000/512)/1000 = 499. */
	struct ms_frag frag;
	ms_frag_init(&frag);
	ck_assert_ptr_null(ms_frag_parse_zoneinfo(&frag, "Node 0, zone   Normal\n"
							 "  pages free     256000\n"
							 "        min      1000\n"
							 "        low      1250\n"
							 "        high     1500\n"
							 "        present  1048576\n"
							 "        protection: (0, 0)\n"));
	ck_assert_ptr_null(
		ms_frag_parse_buddyinfo(&frag, "Node 0, zone   Normal 0 0 0 0 0 0 0 0 1000 0 0\n"));
	struct ms_frag_verdict v;
	ck_assert_ptr_null(ms_frag_verdict(&frag, 9, -1, 500, &v));
	ck_assert_int_eq(v.zones[0].fragindex, 499);
	ck_assert(v.zones[0].below_threshold);
	ck_assert_int_eq(v.outcome, MS_FRAG_NO_MEMORY);
	ck_assert(v.approximate); /* no pagetypeinfo */
	ms_frag_verdict_deinit(&v);
	ck_assert_ptr_null(ms_frag_verdict(&frag, 9, -1, 400, &v));
	ck_assert_int_eq(v.outcome, MS_FRAG_FRAGMENTED);
	ms_frag_verdict_deinit(&v);
	/* order 3 is not costly: the index is not consulted */
	ck_assert_ptr_null(ms_frag_verdict(&frag, 3, -1, 1000, &v));
	ck_assert_int_eq(v.outcome, MS_FRAG_SUCCEEDS);
	ms_frag_verdict_deinit(&v);
	ms_frag_deinit(&frag);
}
END_TEST

START_TEST(test_index_arithmetic)
{
	/* A lone free page asked for as order 1: the kernel's unsigned arithmetic
	 * wraps below zero and prints " 0.-500". */
	struct ms_frag_contig info = {
		.free_pages = 1, .free_blocks_total = 1, .free_blocks_suitable = 0};
	ck_assert_int_eq(ms_frag_fragmentation_index(1, &info), -500);
	char buf[16];
	ms_frag_format_index(buf, sizeof(buf), -500, true);
	ck_assert_str_eq(buf, " 0.-500");
	ms_frag_format_index(buf, sizeof(buf), -1000, true);
	ck_assert_str_eq(buf, "-1.000");
	ms_frag_format_index(buf, sizeof(buf), 1000, false);
	ck_assert_str_eq(buf, "1.000");
	struct ms_frag_contig none = {0};
	ck_assert_int_eq(ms_frag_unusable_index(3, &none), 1000);
	ck_assert_int_eq(ms_frag_fragmentation_index(3, &none), 0);
	info.free_blocks_suitable = 1;
	ck_assert_int_eq(ms_frag_fragmentation_index(0, &info), -1000);
}
END_TEST

START_TEST(test_numa8_capped)
{
	struct ms_frag frag;
	load(&frag, "numa8", false, true);
	ck_assert_uint_eq(frag.nr_zones, 10);
	ck_assert_int_eq(ms_frag_max_node(&frag), 7);
	const struct ms_frag_zone *z = ms_frag_find_zone(&frag, 0, "Normal");
	ck_assert_str_eq(z->types[1].name, "Movable");
	ck_assert(z->types[1].capped[1]);
	ck_assert_uint_eq(z->types[1].free[1], 100000);
	ck_assert(!z->types[1].capped[0]);
	ck_assert_uint_eq(z->types[1].free[0], 21088);
	ck_assert_uint_eq(z->free[1], 137818);
	ck_assert_uint_eq(ms_frag_find_zone(&frag, 7, "Normal")->types[0].pageblocks, 1262);
	ck_assert_uint_eq(ms_frag_find_zone(&frag, 2, "Normal")->free[10], 274);
	assert_indices(
		&frag, 1, "Normal", true,
		"-1.000 -1.000 -1.000 -1.000 -1.000 -1.000 -1.000 -1.000 -1.000 -1.000 0.987");
	assert_indices(&frag, 6, "Normal", false,
		       "0.000 0.046 0.192 0.380 0.718 0.812 0.845 0.875 0.913 0.933 0.943");
	ms_frag_deinit(&frag);
}
END_TEST

START_TEST(test_old_kernel)
{
	struct ms_frag frag;
	load(&frag, "old-3.10", true, true);
	const struct ms_frag_zone *z = ms_frag_find_zone(&frag, 0, "Normal");
	ck_assert_uint_eq(z->managed, 11859912);
	ck_assert_uint_eq(z->boost, MS_FRAG_UNKNOWN);
	ck_assert_uint_eq(z->promo, MS_FRAG_UNKNOWN);
	ck_assert_uint_eq(z->cma, MS_FRAG_UNKNOWN);
	ck_assert_uint_eq(z->pcp_count, 18);
	ck_assert_int_eq(z->nr_protection, 4);
	ck_assert_str_eq(z->types[1].name, "Reclaimable");
	ck_assert_str_eq(z->types[3].name, "Reserve");
	ck_assert_uint_eq(z->types[2].pageblocks, 30821);
	ck_assert_uint_eq(ms_frag_find_zone(&frag, 1, "Normal")->start_pfn, 13107200);
	assert_indices(&frag, 0, "Normal", true,
		       "-1.000 -1.000 -1.000 -1.000 -1.000 -1.000 -1.000 0.986 0.993 0.997 0.999");
	struct ms_frag_verdict v;
	ck_assert_ptr_null(ms_frag_verdict(&frag, 7, -1, 500, &v));
	ck_assert_int_eq(v.highest_zoneidx, 2); /* no Movable zone listed: Normal */
	ck_assert_int_eq(zone_verdict(&v, 0, "DMA")->reserve, 64246);
	ck_assert_int_eq(zone_verdict(&v, 0, "DMA")->outcome, MS_FRAG_NO_MEMORY);
	/* 135295 free pages, none in a block of order 7 or more */
	ck_assert_int_eq(zone_verdict(&v, 0, "Normal")->outcome, MS_FRAG_FRAGMENTED);
	ck_assert_int_eq(zone_verdict(&v, 0, "DMA32")->outcome, MS_FRAG_SUCCEEDS);
	ck_assert_int_eq(v.outcome, MS_FRAG_SUCCEEDS);
	ms_frag_verdict_deinit(&v);
	/* node 1: above min, but below low + compact_gap: compaction would not run */
	ck_assert_ptr_null(ms_frag_verdict(&frag, 9, 1, 500, &v));
	ck_assert_int_eq(v.outcome, MS_FRAG_NO_MEMORY);
	ck_assert(!v.zones[0].compaction_suitable);
	ck_assert_uint_eq(v.zones[0].compaction_needed, 77787 + 1024);
	ms_frag_verdict_deinit(&v);
	ms_frag_deinit(&frag);
}
END_TEST

START_TEST(test_more_orders_and_highmem)
{
	struct ms_frag frag;
	load(&frag, "arm64-64k", false, false);
	ck_assert_int_eq(frag.nr_orders, 14);
	assert_indices(&frag, 0, "Normal", false,
		       "0.000 0.002 0.004 0.007 0.010 0.013 0.017 0.020 0.024 0.029 0.034 0.034 "
		       "0.054 0.054");
	struct ms_frag_verdict v;
	ck_assert_ptr_null(ms_frag_verdict(&frag, 13, -1, 500, &v));
	ck_assert_int_eq(v.outcome, MS_FRAG_SUCCEEDS);
	ck_assert(v.approximate);
	ms_frag_verdict_deinit(&v);
	ms_frag_deinit(&frag);

	load(&frag, "i386-highmem", true, false);
	ck_assert_int_eq(ms_frag_find_zone(&frag, 0, "HighMem")->index, 2);
	ck_assert_int_eq(ms_frag_find_zone(&frag, 0, "Movable")->index, 3);
	ck_assert_ptr_null(ms_frag_verdict(&frag, 0, -1, 500, &v));
	ck_assert_int_eq(v.highest_zoneidx, 3);
	ck_assert_int_eq(zone_verdict(&v, 0, "Normal")->outcome, MS_FRAG_NO_MEMORY);
	ck_assert_uint_eq(zone_verdict(&v, 0, "Normal")->min_needed, 3481 + 17666);
	ck_assert_int_eq(zone_verdict(&v, 0, "HighMem")->outcome, MS_FRAG_SUCCEEDS);
	ck_assert(zone_verdict(&v, 0, "HighMem")->fast_path); /* 4578 free > low 1181 */
	ms_frag_verdict_deinit(&v);
	assert_indices(&frag, 0, "HighMem", true,
		       "-1.000 -1.000 -1.000 -1.000 -1.000 0.930 0.965 0.983 0.991 0.996 0.998");
	ms_frag_deinit(&frag);
}
END_TEST

START_TEST(test_bad_input)
{
	struct ms_frag frag;
	ms_frag_init(&frag);
	struct ms_error *err = ms_frag_parse_buddyinfo(&frag, "");
	ck_assert_int_eq(err->code, MS_ERROR_FORMAT);
	ms_error_destroy(err);
	err = ms_frag_parse_buddyinfo(&frag, "Node 0, zone DMA 1 2 x\n");
	ck_assert_int_eq(err->code, MS_ERROR_FORMAT);
	ms_error_destroy(err);
	err = ms_frag_parse_buddyinfo(&frag, "Node 0, zone DMA 1 2 3\nNode 0, zone Normal 1 2\n");
	ck_assert_int_eq(err->code, MS_ERROR_FORMAT);
	ck_assert_ptr_nonnull(strstr(err->message, "has 2 orders, not 3"));
	ms_error_destroy(err);
	ms_frag_deinit(&frag);
	ms_frag_init(&frag);
	err = ms_frag_parse_pagetypeinfo(
		&frag, "Free pages count per migrate type at order 0 1 2\n"
		       "Node    0, zone      DMA, type    Unmovable      0      0\n");
	ck_assert_int_eq(err->code, MS_ERROR_FORMAT);
	ms_error_destroy(err);
	err = ms_frag_parse_zoneinfo(&frag, "nothing here\n");
	ck_assert_int_eq(err->code, MS_ERROR_FORMAT);
	ms_error_destroy(err);
	ms_frag_deinit(&frag);
}
END_TEST

START_TEST(test_compaction_score)
{
	struct ms_frag frag;
	load(&frag, "numa2-movable", true, false);
	ck_assert_uint_eq(ms_compact_zone_score(&frag, ms_frag_find_zone(&frag, 0, "DMA"), 9), 6);
	ck_assert_uint_eq(ms_compact_zone_score(&frag, ms_frag_find_zone(&frag, 0, "DMA32"), 9),
			  100);
	ck_assert_uint_eq(ms_compact_zone_score(&frag, ms_frag_find_zone(&frag, 0, "Normal"), 9),
			  98);
	/* 4194304 * 98 / (6029166 + 1) */
	ck_assert_uint_eq(
		ms_compact_zone_score_weighted(&frag, ms_frag_find_zone(&frag, 0, "Normal"), 9),
		68);
	ck_assert_uint_eq(ms_compact_node_score(&frag, 0, 9), 80);
	ck_assert_uint_eq(ms_compact_node_score(&frag, 1, 9), 99);
	unsigned lo, hi;
	ms_compact_score_wmarks(20, &lo, &hi);
	ck_assert_uint_eq(lo, 80);
	ck_assert_uint_eq(hi, 90);
	ms_compact_score_wmarks(97, &lo, &hi);
	ck_assert_uint_eq(lo, 5);
	ck_assert_uint_eq(hi, 15);
	ms_compact_score_wmarks(0, &lo, &hi);
	ck_assert_uint_eq(lo, 100);
	ck_assert_uint_eq(hi, 100);
	ms_frag_deinit(&frag);

	struct ms_compact_counters c;
	ck_assert_ptr_null(ms_compact_parse_counters("nr_free_pages 5\n"
						     "pgmigrate_success 6605\n"
						     "compact_migrate_scanned 1190399\n"
						     "compact_daemon_wake 3\n"
						     "thp_migration_fail 1\n"
						     "thp_fault_alloc 9\n",
						     &c));
	ck_assert_int_eq(c.n, 4);
	ck_assert_uint_eq(ms_compact_counter(&c, "compact_migrate_scanned"), 1190399);
	ck_assert_uint_eq(ms_compact_counter(&c, "thp_fault_alloc"), 0);
}
END_TEST

static Suite *frag_suite(void)
{
	Suite *s = suite_create("frag");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_recorded_kernel_indices);
	tcase_add_test(tc, test_numa2_movable_parse);
	tcase_add_test(tc, test_numa2_movable_indices);
	tcase_add_test(tc, test_numa2_movable_verdict);
	tcase_add_test(tc, test_extfrag_threshold);
	tcase_add_test(tc, test_index_arithmetic);
	tcase_add_test(tc, test_numa8_capped);
	tcase_add_test(tc, test_old_kernel);
	tcase_add_test(tc, test_more_orders_and_highmem);
	tcase_add_test(tc, test_bad_input);
	tcase_add_test(tc, test_compaction_score);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(frag_suite());
}
