/* SPDX-License-Identifier: MIT */
/*
 * What physmap shares with compact (which draws memory before and after):
 * building a map with a progress bar, writing its pictures, its JSON.
 */
#ifndef MEMSCOPE_CMD_PHYSMAP_H
#define MEMSCOPE_CMD_PHYSMAP_H

#include "../lib/frag.h"
#include "../lib/physmap.h"
#include "commands.h"

struct ms_error *physmap_build(struct cli_ctx *ctx, const struct ms_frag *frag, int node,
			       uint64_t pages_per_cell, struct ms_physmap *pm);
/* what: words after the host name in the title ("before compaction"), or NULL. */
struct ms_error *physmap_write_files(const struct ms_physmap *pm, const char *svg, const char *png,
				     const char *what);
void physmap_title(const struct ms_physmap *pm, const char *what, char *buf, size_t len);
void physmap_write_json(struct json *j, const struct ms_physmap *pm);

#endif
