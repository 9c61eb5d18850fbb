/* SPDX-License-Identifier: MIT */
/*
 * The page allocator's zones as frag, compact and physmap show them: a
 * zone's per-order rows in text, its per-order arrays in JSON, and the
 * check of a --node argument against the nodes that have memory. What the
 * numbers mean is lib/frag's; which rows a command shows is the command's.
 */
#ifndef MEMSCOPE_ZONES_H
#define MEMSCOPE_ZONES_H

#include "../lib/frag.h"
#include "commands.h"

/* A decimal --node or --order argument, 0 to max. */
bool zones_parse_int(const char *s, int max, int *value_ret);
/*
 * Whether node is -1 (every node) or a node with memory in frag; if not,
 * the usage error is printed and *status_ret set.
 */
bool zones_node_known(struct cli_ctx *ctx, const struct ms_frag *frag, int node, int *status_ret);

/*
 * Text rows: the label left-aligned in label_width columns after two
 * spaces, then one 7-column cell per order.
 */
void zones_row_label(int label_width, const char *label);
void zones_print_orders(int label_width, const char *label, const struct ms_frag *frag);
void zones_print_blocks(int label_width, const char *label, const struct ms_frag *frag,
			const uint64_t *blocks);
/* The unusable-free index, or with extfrag the fragmentation index, per order. */
void zones_print_index(int label_width, const char *label, const struct ms_frag *frag,
		       const struct ms_frag_zone *z, bool extfrag);

/* "key": [blocks per order] */
void zones_json_blocks(struct json *j, const char *key, const struct ms_frag *frag,
		       const uint64_t *blocks);
/*
 * "unusable_index" (or with extfrag "fragmentation_index"): the indices as
 * debugfs prints them; thousandths_ret (may be NULL) gets them as numbers.
 */
void zones_json_index(struct json *j, const struct ms_frag *frag, const struct ms_frag_zone *z,
		      bool extfrag, int thousandths_ret[MS_FRAG_MAX_ORDERS]);

#endif
