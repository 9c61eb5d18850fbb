/* SPDX-License-Identifier: MIT */
/*
 * Memory compaction: triggering it (the compact_memory sysctl or a node's
 * compact file), the compact_* and pgmigrate_* counters it moves, and the
 * kernel's proactive-compaction model: a node's fragmentation score against
 * the watermarks derived from compaction_proactiveness, which decide whether
 * kcompactd compacts on its own. The free lists themselves are frag's.
 */
#ifndef MEMSCOPE_COMPACT_H
#define MEMSCOPE_COMPACT_H

#include <stdbool.h>
#include <stdint.h>

#include "error.h"
#include "frag.h"

/* The kernel version whose formulas the model follows (mm/compaction.c). */
#define MS_COMPACT_MODEL_VERSION "Linux 5.9 to 6.18"

#define MS_COMPACT_MAX_COUNTERS 32

/* A snapshot of the /proc/vmstat counters compaction moves. */
struct ms_compact_counters {
	int n;
	char name[MS_COMPACT_MAX_COUNTERS][40];
	uint64_t value[MS_COMPACT_MAX_COUNTERS];
};

/* compact_*, pgmigrate_* and thp_migration_* from vmstat text. */
struct ms_error *ms_compact_parse_counters(const char *vmstat, struct ms_compact_counters *c);
struct ms_error *ms_compact_read_counters(struct ms_compact_counters *c);
/* A counter's value, or 0 when the kernel does not have it. */
uint64_t ms_compact_counter(const struct ms_compact_counters *c, const char *name);

/*
 * Compact every zone of one node (node >= 0, /sys/devices/system/node/nodeN/
 * compact) or of all nodes (/proc/sys/vm/compact_memory). The write returns
 * when the kernel has finished; *seconds_ret is how long it took.
 */
struct ms_error *ms_compact_run(int node, double *seconds_ret);

/* COMPACTION_HPAGE_ORDER: the THP (PMD) order the score is measured against. */
int ms_compact_hpage_order(void);

/* fragmentation_score_zone(): extfrag_for_order() at the huge page order, 0..100. */
unsigned ms_compact_zone_score(const struct ms_frag *frag, const struct ms_frag_zone *zone,
			       int hpage_order);
/* fragmentation_score_zone_weighted(): scaled by the zone's share of the node. */
unsigned ms_compact_zone_score_weighted(const struct ms_frag *frag, const struct ms_frag_zone *zone,
					int hpage_order);
/* fragmentation_score_node(): the sum over the node's populated zones. */
unsigned ms_compact_node_score(const struct ms_frag *frag, int node, int hpage_order);
/* fragmentation_score_wmark(): the low and high watermarks of the score. */
void ms_compact_score_wmarks(unsigned proactiveness, unsigned *low_ret, unsigned *high_ret);

/* Whether the node's kswapd is running now (kswapd_is_running()); false if unknown. */
bool ms_compact_kswapd_running(int node, bool *known_ret);

/* Everything that decides whether kcompactd compacts a node on its own. */
struct ms_compact_proactive {
	int node;
	int hpage_order;
	unsigned proactiveness; /* vm.compaction_proactiveness */
	unsigned score;
	unsigned wmark_low, wmark_high;
	bool kswapd_running, kswapd_known;
	bool would_compact; /* should_proactive_compact_node() */
};

void ms_compact_proactive(const struct ms_frag *frag, int node, unsigned proactiveness,
			  int hpage_order, struct ms_compact_proactive *p);

#endif
