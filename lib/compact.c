/* SPDX-License-Identifier: MIT */
#include "compact.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "proclist.h"
#include "procfs.h"
#include "sysmem.h"

static bool wanted_counter(const char *name, size_t len)
{
	static const char *const prefixes[] = {"compact_", "pgmigrate_", "thp_migration_"};
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t n = strlen(prefixes[i]);
		if (len > n && strncmp(name, prefixes[i], n) == 0)
			return true;
	}
	return false;
}

static void pick_counters(const struct ms_kvfile *kv, struct ms_compact_counters *c)
{
	memset(c, 0, sizeof(*c));
	for (size_t i = 0; i < kv->count && c->n < MS_COMPACT_MAX_COUNTERS; i++) {
		const char *name = kv->items[i].key;
		size_t len = strlen(name);
		if (!wanted_counter(name, len) || len >= sizeof(c->name[0]))
			continue;
		memcpy(c->name[c->n], name, len + 1);
		c->value[c->n] = kv->items[i].value;
		c->n++;
	}
}

struct ms_error *ms_compact_parse_counters(const char *vmstat, struct ms_compact_counters *c)
{
	struct ms_kvfile *kv;
	struct ms_error *err = ms_kvfile_parse(vmstat, &kv);
	if (err) { /* no counters at all: none of compaction's either */
		ms_error_destroy(err);
		memset(c, 0, sizeof(*c));
		return NULL;
	}
	pick_counters(kv, c);
	ms_kvfile_destroy(kv);
	return NULL;
}

struct ms_error *ms_compact_read_counters(struct ms_compact_counters *c)
{
	struct ms_kvfile *kv;
	struct ms_error *err = ms_vmstat_read(NULL, &kv);
	if (err)
		return err;
	pick_counters(kv, c);
	ms_kvfile_destroy(kv);
	return NULL;
}

uint64_t ms_compact_counter(const struct ms_compact_counters *c, const char *name)
{
	for (int i = 0; i < c->n; i++)
		if (strcmp(c->name[i], name) == 0)
			return c->value[i];
	return 0;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct ms_error *ms_compact_run(int node, double *seconds_ret)
{
	char path[96];
	if (node >= 0)
		snprintf(path, sizeof(path), "/sys/devices/system/node/node%d/compact", node);
	else
		snprintf(path, sizeof(path), "/proc/sys/vm/compact_memory");
	double start = now();
	struct ms_error *err = ms_procfs_write(path, "1\n");
	*seconds_ret = now() - start;
	if (err) {
		int e = err->errnum;
		if (e == ENOENT) {
			ms_error_destroy(err);
			if (node >= 0 && access("/proc/sys/vm/compact_memory", F_OK) == 0)
				return ms_error_create(MS_ERROR_UNSUPPORTED,
						       "%s does not exist: no node %d, or a kernel "
						       "without NUMA (compact all nodes instead)",
						       path, node);
			return ms_error_create(MS_ERROR_UNSUPPORTED,
					       "%s does not exist: this kernel has no compaction "
					       "(CONFIG_COMPACTION)",
					       path);
		}
		if (e == EACCES || e == EPERM) {
			ms_error_destroy(err);
			return ms_error_create(MS_ERROR_PERMISSION, "writing %s needs root", path);
		}
	}
	return err;
}

int ms_compact_hpage_order(void)
{
	uint64_t size = 0;
	struct ms_error *err =
		ms_procfs_read_u64("/sys/kernel/mm/transparent_hugepage/hpage_pmd_size", &size);
	if (err) {
		ms_error_destroy(err);
		struct ms_meminfo mi;
		err = ms_meminfo_read(NULL, &mi);
		size = err ? 0 : mi.v[MS_MI_HUGEPAGESIZE];
		ms_error_destroy(err);
	}
	if (size == 0)
		return 9; /* PMD_SHIFT - PAGE_SHIFT on x86-64 */
	return (int)ms_sysmem_order(size);
}

unsigned ms_compact_zone_score(const struct ms_frag *frag, const struct ms_frag_zone *zone,
			       int hpage_order)
{
	return ms_frag_extfrag_for_order(frag, zone, hpage_order);
}

static uint64_t node_present_pages(const struct ms_frag *frag, int node)
{
	uint64_t pages = 0;
	for (size_t i = 0; i < frag->nr_zones; i++) {
		const struct ms_frag_zone *z = &frag->zones[i];
		if (z->node == node && z->present != MS_FRAG_UNKNOWN)
			pages += z->present;
	}
	return pages;
}

unsigned ms_compact_zone_score_weighted(const struct ms_frag *frag, const struct ms_frag_zone *zone,
					int hpage_order)
{
	uint64_t present = zone->present == MS_FRAG_UNKNOWN ? 0 : zone->present;
	uint64_t score = present * ms_compact_zone_score(frag, zone, hpage_order);
	return (unsigned)(score / (node_present_pages(frag, zone->node) + 1));
}

unsigned ms_compact_node_score(const struct ms_frag *frag, int node, int hpage_order)
{
	unsigned score = 0;
	for (size_t i = 0; i < frag->nr_zones; i++) {
		const struct ms_frag_zone *z = &frag->zones[i];
		/* populated_zone(): present pages, which buddyinfo lists */
		if (z->node == node && z->populated)
			score += ms_compact_zone_score_weighted(frag, z, hpage_order);
	}
	return score;
}

void ms_compact_score_wmarks(unsigned proactiveness, unsigned *low_ret, unsigned *high_ret)
{
	unsigned p = proactiveness > 100 ? 100 : proactiveness;
	unsigned low = 100 - p;
	if (low < 5)
		low = 5;
	*low_ret = low;
	*high_ret = low + 10 < 100 ? low + 10 : 100;
}

struct kswapd_scan {
	char want[32]; /* "kswapdN\n", as comm reads */
	bool known, running;
};

static struct ms_error *match_kswapd(void *arg, pid_t pid, const char *comm, bool *stop_ret)
{
	struct kswapd_scan *scan = arg;
	if (strcmp(comm, scan->want) != 0)
		return NULL;
	*stop_ret = true;
	struct ms_procinfo info;
	struct ms_error *err = ms_proc_read(pid, 0, MS_PROC_STAT, &info);
	if (err) {
		ms_error_destroy(err); /* gone meanwhile: unknown */
		return NULL;
	}
	scan->known = true;
	scan->running = info.state == 'R';
	return NULL;
}

bool ms_compact_kswapd_running(int node, bool *known_ret)
{
	struct kswapd_scan scan = {0};
	snprintf(scan.want, sizeof(scan.want), "kswapd%d\n", node);
	struct ms_error *err = ms_proc_each("comm", 0, match_kswapd, &scan, NULL);
	ms_error_destroy(err);
	*known_ret = scan.known;
	return scan.running;
}

void ms_compact_proactive(const struct ms_frag *frag, int node, unsigned proactiveness,
			  int hpage_order, struct ms_compact_proactive *p)
{
	memset(p, 0, sizeof(*p));
	p->node = node;
	p->hpage_order = hpage_order;
	p->proactiveness = proactiveness;
	p->score = ms_compact_node_score(frag, node, hpage_order);
	ms_compact_score_wmarks(proactiveness, &p->wmark_low, &p->wmark_high);
	p->kswapd_running = ms_compact_kswapd_running(node, &p->kswapd_known);
	/* should_proactive_compact_node() */
	p->would_compact = proactiveness && !p->kswapd_running && p->score > p->wmark_high;
}
