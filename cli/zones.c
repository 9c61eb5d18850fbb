/* SPDX-License-Identifier: MIT */
#include "zones.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

bool zones_parse_int(const char *s, int max, int *value_ret)
{
	char *end;
	errno = 0;
	long x = strtol(s, &end, 10);
	if (errno || end == s || *end || x < 0 || x > max)
		return false;
	*value_ret = (int)x;
	return true;
}

bool zones_node_known(struct cli_ctx *ctx, const struct ms_frag *frag, int node, int *status_ret)
{
	if (node < 0)
		return true;
	for (size_t i = 0; i < frag->nr_zones; i++)
		if (frag->zones[i].node == node && frag->zones[i].populated)
			return true;
	*status_ret = cli_usage(ctx, "unknown node %d (nodes with memory: 0 to %d)", node,
				ms_frag_max_node(frag));
	return false;
}

void zones_row_label(int label_width, const char *label)
{
	printf("  %-*s", label_width, label);
}

void zones_print_orders(int label_width, const char *label, const struct ms_frag *frag)
{
	zones_row_label(label_width, label);
	for (int o = 0; o < frag->nr_orders; o++)
		printf("%7d", o);
	putchar('\n');
}

void zones_print_blocks(int label_width, const char *label, const struct ms_frag *frag,
			const uint64_t *blocks)
{
	zones_row_label(label_width, label);
	for (int o = 0; o < frag->nr_orders; o++)
		printf("%7" PRIu64, blocks[o]);
	putchar('\n');
}

void zones_print_index(int label_width, const char *label, const struct ms_frag *frag,
		       const struct ms_frag_zone *z, bool extfrag)
{
	char buf[16];
	zones_row_label(label_width, label);
	for (int o = 0; o < frag->nr_orders; o++) {
		ms_frag_zone_index(frag, z, o, extfrag, buf, sizeof(buf));
		printf("%7s", buf);
	}
	putchar('\n');
}

void zones_json_blocks(struct json *j, const char *key, const struct ms_frag *frag,
		       const uint64_t *blocks)
{
	json_key(j, key);
	json_begin_array(j);
	for (int o = 0; o < frag->nr_orders; o++)
		json_u64(j, blocks[o]);
	json_end_array(j);
}

void zones_json_index(struct json *j, const struct ms_frag *frag, const struct ms_frag_zone *z,
		      bool extfrag, int thousandths_ret[MS_FRAG_MAX_ORDERS])
{
	char buf[16];
	json_key(j, extfrag ? "fragmentation_index" : "unusable_index");
	json_begin_array(j);
	for (int o = 0; o < frag->nr_orders; o++) {
		int v = ms_frag_zone_index(frag, z, o, extfrag, buf, sizeof(buf));
		if (thousandths_ret)
			thousandths_ret[o] = v;
		json_string(j, buf);
	}
	json_end_array(j);
}
