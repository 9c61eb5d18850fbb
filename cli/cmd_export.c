/* SPDX-License-Identifier: MIT */
/*
 * export --prometheus [FILE]: the figures of overcommit, kmem and thp in the
 * Prometheus text exposition format, for node_exporter's textfile
 * collector. A file is written whole or not at all (a temporary file in the
 * same directory, renamed over it), so the collector never reads half.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/frag.h"
#include "../lib/overcommit.h"
#include "../lib/sysmem.h"
#include "../lib/thp.h"
#include "commands.h"
#include "../lib/grow.h"

#define MAX_LABELS 3

struct sample {
	const char *label_keys[MAX_LABELS];
	char *label_values[MAX_LABELS];
	int nlabels;
	bool is_float;
	int64_t i;
	double f;
};

struct family {
	const char *name;
	const char *help;
	const char *type; /* gauge, counter */
	struct sample *samples;
	size_t count, capacity;
};

struct exposition {
	struct family *families;
	size_t count, capacity;
	bool oom;
};

static struct family *family(struct exposition *x, const char *name, const char *type,
			     const char *help)
{
	for (size_t i = 0; i < x->count; i++)
		if (strcmp(x->families[i].name, name) == 0)
			return &x->families[i];
	struct family *grown = ms_grow(x->families, x->count, &x->capacity, sizeof(*grown), 32);
	if (!grown) {
		x->oom = true;
		return NULL;
	}
	x->families = grown;
	struct family *f = &x->families[x->count++];
	*f = (struct family){.name = name, .help = help, .type = type};
	return f;
}

/* Add one sample; labels are key, value pairs ending with NULL. */
static void add(struct exposition *x, const char *name, const char *type, const char *help,
		bool is_float, int64_t i, double d, ...)
{
	struct family *f = family(x, name, type, help);
	if (!f)
		return;
	struct sample *grown = ms_grow(f->samples, f->count, &f->capacity, sizeof(*grown), 8);
	if (!grown) {
		x->oom = true;
		return;
	}
	f->samples = grown;
	struct sample *s = &f->samples[f->count++];
	memset(s, 0, sizeof(*s));
	s->is_float = is_float;
	s->i = i;
	s->f = d;
	va_list ap;
	va_start(ap, d);
	const char *key;
	while ((key = va_arg(ap, const char *)) && s->nlabels < MAX_LABELS) {
		const char *value = va_arg(ap, const char *);
		s->label_keys[s->nlabels] = key;
		if (!(s->label_values[s->nlabels] = strdup(value)))
			x->oom = true;
		s->nlabels++;
	}
	va_end(ap);
}

#define FGAUGE(x, name, help, v, ...) add(x, name, "gauge", help, true, 0, (v), __VA_ARGS__)
#define GAUGE(x, name, help, v, ...)                                                               \
	add(x, name, "gauge", help, false, (int64_t)(v), 0, __VA_ARGS__)
#define COUNTER(x, name, help, v, ...)                                                             \
	add(x, name, "counter", help, false, (int64_t)(v), 0, __VA_ARGS__)

static void exposition_deinit(struct exposition *x)
{
	for (size_t i = 0; i < x->count; i++) {
		for (size_t j = 0; j < x->families[i].count; j++)
			for (int k = 0; k < x->families[i].samples[j].nlabels; k++)
				free(x->families[i].samples[j].label_values[k]);
		free(x->families[i].samples);
	}
	free(x->families);
}

/* A state set: one sample per possible value, 1 for the selected one. */
static void state_set(struct exposition *x, const char *name, const char *help,
		      const char *const *states, const char *selected, const char *key2,
		      const char *value2)
{
	bool seen = false;
	for (const char *const *s = states; *s; s++) {
		bool on = strcmp(*s, selected) == 0;
		seen |= on;
		if (key2)
			GAUGE(x, name, help, on, key2, value2, "mode", *s, NULL);
		else
			GAUGE(x, name, help, on, "mode", *s, NULL);
	}
	if (!seen && selected[0]) { /* a value this code does not know yet */
		if (key2)
			GAUGE(x, name, help, 1, key2, value2, "mode", selected, NULL);
		else
			GAUGE(x, name, help, 1, "mode", selected, NULL);
	}
}

static struct ms_error *collect_overcommit(struct exposition *x)
{
	struct ms_overcommit oc;
	struct ms_error *err = ms_overcommit_read(NULL, &oc);
	if (err)
		return err;
	int64_t pg = (int64_t)oc.page_size;
	GAUGE(x, "memscope_overcommit_mode",
	      "vm.overcommit_memory: 0 heuristic, 1 always, 2 strict.", oc.mode, NULL);
	GAUGE(x, "memscope_overcommit_ratio",
	      "vm.overcommit_ratio: percent of RAM less hugetlb counted in CommitLimit.", oc.ratio,
	      NULL);
	GAUGE(x, "memscope_overcommit_fixed_limit_bytes",
	      "vm.overcommit_kbytes in bytes; when non-zero it replaces the ratio.",
	      oc.kbytes * 1024, NULL);
	GAUGE(x, "memscope_admin_reserve_bytes",
	      "vm.admin_reserve_kbytes: kept back from processes without CAP_SYS_ADMIN in mode 2.",
	      oc.admin_reserve_kbytes * 1024, NULL);
	GAUGE(x, "memscope_user_reserve_bytes",
	      "vm.user_reserve_kbytes: the most a process keeps back from itself in mode 2.",
	      oc.user_reserve_kbytes * 1024, NULL);
	const char *help = "CommitLimit: as /proc/meminfo reports it (kernel) and as "
			   "vm_commit_limit() computes it from the sysctls (computed).";
	if (oc.has_kernel_limit)
		GAUGE(x, "memscope_commit_limit_bytes", help, (int64_t)oc.kernel_commit_limit * pg,
		      "source", "kernel", NULL);
	GAUGE(x, "memscope_commit_limit_bytes", help, (int64_t)oc.commit_limit * pg, "source",
	      "computed", NULL);
	if (oc.has_committed)
		GAUGE(x, "memscope_committed_as_bytes",
		      "Committed_AS: memory promised to mappings that are charged.",
		      (int64_t)oc.committed * pg, NULL);
	GAUGE(x, "memscope_commit_headroom_bytes",
	      "CommitLimit less Committed_AS; negative when over-committed. Enforced in mode 2 "
	      "only.",
	      oc.headroom * pg, NULL);
	return NULL;
}

static struct ms_error *collect_kmem(struct exposition *x)
{
	struct ms_meminfo mi;
	struct ms_error *err = ms_meminfo_read(NULL, &mi);
	if (err)
		return err;
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE), huge_total, huge_free;
	err = ms_hugetlb_pages(NULL, &mi, page, &huge_total, &huge_free);
	if (err)
		return err;
	const char *help = "Memory by kind, as crash's kmem -i (from /proc/meminfo): total, "
			   "free, used (total - free), shared (Shmem), buffers, cached, slab.";
	static const struct {
		const char *kind;
		enum ms_meminfo_field f;
	} kinds[] = {{"total", MS_MI_MEM_TOTAL}, {"free", MS_MI_MEM_FREE}, {"shared", MS_MI_SHMEM},
		     {"buffers", MS_MI_BUFFERS}, {"cached", MS_MI_CACHED}, {"slab", MS_MI_SLAB}};
	for (size_t i = 0; i < sizeof(kinds) / sizeof(kinds[0]); i++) {
		if (!ms_meminfo_has(&mi, kinds[i].f))
			continue;
		GAUGE(x, "memscope_memory_bytes", help, mi.v[kinds[i].f], "kind", kinds[i].kind,
		      NULL);
		if (i == 1)
			GAUGE(x, "memscope_memory_bytes", help,
			      mi.v[MS_MI_MEM_TOTAL] - mi.v[MS_MI_MEM_FREE], "kind", "used", NULL);
	}
	help = "Hugetlb pools of every size: total and free.";
	GAUGE(x, "memscope_hugetlb_bytes", help, huge_total * page, "kind", "total", NULL);
	GAUGE(x, "memscope_hugetlb_bytes", help, huge_free * page, "kind", "free", NULL);
	help = "Swap: total, used and free.";
	GAUGE(x, "memscope_swap_bytes", help, mi.v[MS_MI_SWAP_TOTAL], "kind", "total", NULL);
	GAUGE(x, "memscope_swap_bytes", help, mi.v[MS_MI_SWAP_TOTAL] - mi.v[MS_MI_SWAP_FREE],
	      "kind", "used", NULL);
	GAUGE(x, "memscope_swap_bytes", help, mi.v[MS_MI_SWAP_FREE], "kind", "free", NULL);
	help = "Memory in transparent huge pages: anonymous (AnonHugePages), shmem "
	       "(ShmemHugePages) and file (FileHugePages).";
	GAUGE(x, "memscope_thp_bytes", help, mi.v[MS_MI_ANON_HUGE_PAGES], "kind", "anon", NULL);
	GAUGE(x, "memscope_thp_bytes", help, mi.v[MS_MI_SHMEM_HUGE_PAGES], "kind", "shmem", NULL);
	GAUGE(x, "memscope_thp_bytes", help, mi.v[MS_MI_FILE_HUGE_PAGES], "kind", "file", NULL);
	return NULL;
}

/* buddy: the free lists, or NULL when /proc/buddyinfo could not be read. */
static struct ms_error *collect_thp(struct exposition *x, const struct ms_frag *buddy)
{
	struct ms_thp_settings s;
	struct ms_error *err = ms_thp_settings_read(NULL, &s);
	if (err)
		return err;
	GAUGE(x, "memscope_thp_supported", "1 when the kernel has transparent huge pages.",
	      s.supported, NULL);
	if (s.supported) {
		static const char *const enabled[] = {"always", "madvise", "never", NULL};
		static const char *const size_enabled[] = {"always", "inherit", "madvise", "never",
							   NULL};
		static const char *const defrag[] = {"always",	"defer", "defer+madvise",
						     "madvise", "never", NULL};
		static const char *const shmem[] = {"always", "within_size", "advise", "never",
						    "deny",   "force",	     NULL};
		static const char *const size_shmem[] = {"always", "inherit", "within_size",
							 "advise", "never",   NULL};
		state_set(x, "memscope_thp_enabled",
			  "transparent_hugepage/enabled: 1 for the selected mode.", enabled,
			  s.enabled, NULL, NULL);
		state_set(x, "memscope_thp_defrag",
			  "transparent_hugepage/defrag: 1 for the selected mode.", defrag, s.defrag,
			  NULL, NULL);
		if (s.shmem_enabled[0])
			state_set(x, "memscope_thp_shmem_enabled",
				  "transparent_hugepage/shmem_enabled: 1 for the selected mode.",
				  shmem, s.shmem_enabled, NULL, NULL);
		if (s.use_zero_page >= 0)
			GAUGE(x, "memscope_thp_use_zero_page",
			      "transparent_hugepage/use_zero_page.", s.use_zero_page, NULL);
		GAUGE(x, "memscope_thp_pmd_size_bytes", "transparent_hugepage/hpage_pmd_size.",
		      s.pmd_size, NULL);
		for (size_t i = 0; i < s.nsizes; i++) {
			const struct ms_thp_size *z = &s.sizes[i];
			char size[32];
			snprintf(size, sizeof(size), "%" PRIu64 "kB", z->size_kb);
			if (z->enabled[0])
				state_set(x, "memscope_mthp_enabled",
					  "hugepages-<size>/enabled for anonymous memory: 1 for "
					  "the selected mode.",
					  size_enabled, z->enabled, "size", size);
			if (z->shmem_enabled[0])
				state_set(
					x, "memscope_mthp_shmem_enabled",
					"hugepages-<size>/shmem_enabled: 1 for the selected mode.",
					size_shmem, z->shmem_enabled, "size", size);
			for (size_t k = 0; z->stats && k < z->stats->count; k++) {
				const struct ms_kv *kv = &z->stats->items[k];
				if (strncmp(kv->key, "nr_", 3) == 0)
					GAUGE(x, "memscope_mthp_folios",
					      "hugepages-<size>/stats/nr_*: folios of that size "
					      "now.",
					      kv->value, "size", size, "stat", kv->key + 3, NULL);
				else
					COUNTER(x, "memscope_mthp_events_total",
						"hugepages-<size>/stats: events since boot.",
						kv->value, "size", size, "event", kv->key, NULL);
			}
		}
		for (size_t k = 0; s.khugepaged && k < s.khugepaged->count; k++) {
			const struct ms_kv *kv = &s.khugepaged->items[k];
			if (strcmp(kv->key, "full_scans") == 0)
				COUNTER(x, "memscope_khugepaged_full_scans_total",
					"khugepaged/full_scans.", kv->value, NULL);
			else if (strcmp(kv->key, "pages_collapsed") == 0)
				COUNTER(x, "memscope_khugepaged_pages_collapsed_total",
					"khugepaged/pages_collapsed.", kv->value, NULL);
			else
				GAUGE(x, "memscope_khugepaged_setting",
				      "khugepaged tunables (pages_to_scan, scan_sleep_millisecs, "
				      "...).",
				      kv->value, "name", kv->key, NULL);
		}
		if (buddy) {
			struct ms_thp_buddy b;
			ms_thp_buddy_from_frag(buddy, ms_thp_pmd_order(&s), &b);
			GAUGE(x, "memscope_free_pmd_blocks",
			      "Free buddy blocks of at least the PMD order, every zone "
			      "(/proc/buddyinfo).",
			      b.free_blocks, NULL);
		}
	}
	ms_thp_settings_deinit(&s);

	struct ms_kvfile *vm;
	err = ms_vmstat_read(NULL, &vm);
	if (err)
		return err;
	for (size_t i = 0; i < vm->count; i++) {
		const struct ms_kv *kv = &vm->items[i];
		if (strncmp(kv->key, "thp_", 4) == 0)
			COUNTER(x, "memscope_thp_events_total",
				"/proc/vmstat thp_* events since boot.", kv->value, "event",
				kv->key + 4, NULL);
		else if (strncmp(kv->key, "compact_", 8) == 0)
			COUNTER(x, "memscope_compact_events_total",
				"/proc/vmstat compact_* events since boot.", kv->value, "event",
				kv->key + 8, NULL);
	}
	ms_kvfile_destroy(vm);
	return NULL;
}

/* frag's figures: free blocks per order and the indices of mm/vmstat.c, per zone. */
static void collect_frag(struct exposition *x, const struct ms_frag *frag)
{
	for (size_t z = 0; z < frag->nr_zones; z++) {
		const struct ms_frag_zone *zone = &frag->zones[z];
		if (!zone->populated)
			continue;
		char node[16];
		snprintf(node, sizeof(node), "%d", zone->node);
		for (int o = 0; o < frag->nr_orders; o++) {
			char order[16];
			snprintf(order, sizeof(order), "%d", o);
			GAUGE(x, "memscope_buddy_free_blocks",
			      "Free blocks of each order on a zone's buddy lists "
			      "(/proc/buddyinfo).",
			      zone->free[o], "node", node, "zone", zone->name, "order", order,
			      NULL);
			struct ms_frag_contig info;
			ms_frag_contig_info(frag, zone, o, &info);
			FGAUGE(x, "memscope_unusable_index",
			       "Unusable free space index of mm/vmstat.c: the share of free memory "
			       "in blocks too small for the order (0 to 1).",
			       ms_frag_unusable_index(o, &info) / 1000.0, "node", node, "zone",
			       zone->name, "order", order, NULL);
			FGAUGE(x, "memscope_fragmentation_index",
			       "Fragmentation index of mm/vmstat.c: towards 0 an allocation of the "
			       "order would fail for lack of memory, towards 1 for "
			       "fragmentation; -1 when it would not fail.",
			       ms_frag_fragmentation_index(o, &info) / 1000.0, "node", node, "zone",
			       zone->name, "order", order, NULL);
		}
	}
}

static void write_label_value(FILE *f, const char *v)
{
	for (; *v; v++) {
		if (*v == '\\')
			fputs("\\\\", f);
		else if (*v == '"')
			fputs("\\\"", f);
		else if (*v == '\n')
			fputs("\\n", f);
		else
			fputc(*v, f);
	}
}

static void write_exposition(FILE *f, const struct exposition *x)
{
	for (size_t i = 0; i < x->count; i++) {
		const struct family *fam = &x->families[i];
		fprintf(f, "# HELP %s ", fam->name);
		for (const char *p = fam->help; *p; p++) { /* HELP escapes \ and newline */
			if (*p == '\\')
				fputs("\\\\", f);
			else if (*p == '\n')
				fputs("\\n", f);
			else
				fputc(*p, f);
		}
		fprintf(f, "\n# TYPE %s %s\n", fam->name, fam->type);
		for (size_t j = 0; j < fam->count; j++) {
			const struct sample *s = &fam->samples[j];
			fputs(fam->name, f);
			if (s->nlabels) {
				fputc('{', f);
				for (int k = 0; k < s->nlabels; k++) {
					fprintf(f, "%s%s=\"", k ? "," : "", s->label_keys[k]);
					write_label_value(f, s->label_values[k]);
					fputc('"', f);
				}
				fputc('}', f);
			}
			if (s->is_float)
				fprintf(f, " %.15g\n", s->f);
			else
				fprintf(f, " %" PRId64 "\n", s->i);
		}
	}
}

/* Write to a temporary file beside path, then rename it over path. */
static struct ms_error *write_atomically(const char *path, const struct exposition *x,
					 long *bytes_ret)
{
	size_t len = strlen(path);
	char *tmp = malloc(len + 16);
	if (!tmp)
		return &ms_error_no_memory;
	snprintf(tmp, len + 16, "%s.tmp.XXXXXX", path);
	struct ms_error *err = NULL;
	int fd = mkstemp(tmp);
	if (fd < 0) {
		err = ms_error_errno(errno, "%s", tmp);
		free(tmp);
		return err;
	}
	FILE *f = fdopen(fd, "w");
	if (!f) {
		err = ms_error_errno(errno, "%s", tmp);
		close(fd);
		goto fail;
	}
	write_exposition(f, x);
	/* node_exporter runs as another user: the file must be world-readable */
	if (fflush(f) != 0 || fchmod(fd, 0644) != 0 || fsync(fd) != 0) {
		err = ms_error_errno(errno, "%s", tmp);
		fclose(f);
		goto fail;
	}
	*bytes_ret = ftell(f);
	if (fclose(f) != 0) {
		err = ms_error_errno(errno, "%s", tmp);
		goto fail;
	}
	if (rename(tmp, path) != 0) {
		err = ms_error_errno(errno, "rename to %s", path);
		goto fail;
	}
	free(tmp);
	return NULL;
fail:
	unlink(tmp);
	free(tmp);
	return err;
}

int cmd_export(struct cli_ctx *ctx, int argc, char **argv)
{
	enum { OPT_PROMETHEUS = 256 };
	static const struct option options[] = {
		{"prometheus", no_argument, NULL, OPT_PROMETHEUS},
		{NULL, 0, NULL, 0},
	};
	bool prometheus = false;
	int c;
	while ((c = getopt_long(argc, argv, "+", options, NULL)) != -1) {
		if (c == OPT_PROMETHEUS)
			prometheus = true;
		else
			return CLI_USAGE;
	}
	if (!prometheus)
		return cli_usage(ctx, "say the format: --prometheus (the only one so far)");
	if (argc - optind > 1)
		return cli_usage(ctx, "one file at most");
	const char *path = optind < argc ? argv[optind] : NULL;
	if (path && (!path[0] || strcmp(path, "-") == 0))
		path = NULL;
	if (path) {
		struct stat st;
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
			return cli_usage(ctx,
					 "'%s' is a directory: name the file (for the textfile "
					 "collector, DIR/memscope.prom)",
					 path);
	}

	struct exposition x = {0};
	/*
	 * One reading of buddyinfo serves thp's free PMD blocks and frag's
	 * indices; zoneinfo and pagetypeinfo (which walks every free list under
	 * the zone lock) are left to frag itself.
	 */
	struct ms_frag frag;
	ms_frag_init(&frag);
	struct ms_error *buddy_err = ms_frag_read_buddyinfo(NULL, &frag);
	struct ms_error *err;
	int status = CLI_OK;
	if ((err = collect_overcommit(&x)) || (err = collect_kmem(&x)) ||
	    (err = collect_thp(&x, buddy_err ? NULL : &frag)))
		goto fail;
	if (buddy_err) {
		err = buddy_err;
		buddy_err = NULL;
		goto fail;
	}
	collect_frag(&x, &frag);
	if (x.oom) {
		err = &ms_error_no_memory;
		goto fail;
	}
	size_t samples = 0;
	for (size_t i = 0; i < x.count; i++)
		samples += x.families[i].count;
	if (path) {
		long bytes = 0;
		if ((err = write_atomically(path, &x, &bytes)))
			goto fail;
		if (ctx->session->json) {
			json_begin_object(&ctx->json);
			json_kv_string(&ctx->json, "file", path);
			json_kv_u64(&ctx->json, "families", x.count);
			json_kv_u64(&ctx->json, "samples", samples);
			json_kv_i64(&ctx->json, "bytes", bytes);
			json_end_object(&ctx->json);
			json_finish(&ctx->json);
		} else {
			printf("wrote %zu metrics (%zu samples, %ld bytes) to %s\n", x.count,
			       samples, bytes, path);
		}
	} else if (ctx->session->json) {
		struct json *j = &ctx->json;
		json_begin_object(j);
		json_key(j, "families");
		json_begin_array(j);
		for (size_t i = 0; i < x.count; i++) {
			const struct family *fam = &x.families[i];
			json_begin_object(j);
			json_kv_string(j, "name", fam->name);
			json_kv_string(j, "type", fam->type);
			json_kv_string(j, "help", fam->help);
			json_key(j, "samples");
			json_begin_array(j);
			for (size_t k = 0; k < fam->count; k++) {
				const struct sample *s = &fam->samples[k];
				json_begin_object(j);
				json_key(j, "labels");
				json_begin_object(j);
				for (int l = 0; l < s->nlabels; l++)
					json_kv_string(j, s->label_keys[l], s->label_values[l]);
				json_end_object(j);
				if (s->is_float)
					json_kv_double(j, "value", s->f);
				else
					json_kv_i64(j, "value", s->i);
				json_end_object(j);
			}
			json_end_array(j);
			json_end_object(j);
		}
		json_end_array(j);
		json_end_object(j);
		json_finish(j);
	} else {
		write_exposition(stdout, &x);
	}
	goto out;
fail:
	status = cli_error(ctx, err);
out:
	ms_error_destroy(buddy_err);
	ms_frag_deinit(&frag);
	exposition_deinit(&x);
	return status;
}
