/* SPDX-License-Identifier: MIT */
#include "physmap.h"

#include <errno.h>
#include <fcntl.h>
#include <png.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "procfs.h"
#include "grow.h"

static const struct {
	const char *name;
	const char *description;
} categories[MS_PHYSMAP_NR_CATS] = {
	[MS_PHYSMAP_FREE] = {"free", "free, in the buddy allocator"},
	[MS_PHYSMAP_ANON] = {"anon", "anonymous memory of processes"},
	[MS_PHYSMAP_CACHE] = {"cache", "page cache and shmem"},
	[MS_PHYSMAP_THP] = {"thp", "transparent huge pages and large folios"},
	[MS_PHYSMAP_HUGETLB] = {"hugetlb", "hugetlbfs pages"},
	[MS_PHYSMAP_SLAB] = {"slab", "kernel slab caches"},
	[MS_PHYSMAP_PGTABLE] = {"pagetable", "page tables"},
	[MS_PHYSMAP_RESERVED] = {"reserved", "reserved (firmware, kernel image, memmap)"},
	[MS_PHYSMAP_OTHER] = {"other", "other kernel memory, or not yet initialised"},
	[MS_PHYSMAP_HOLE] = {"hole", "no RAM (hole in the physical address space)"},
};

const char *ms_physmap_cat_name(enum ms_physmap_cat cat)
{
	return cat < MS_PHYSMAP_NR_CATS ? categories[cat].name : "?";
}

const char *ms_physmap_cat_description(enum ms_physmap_cat cat)
{
	return cat < MS_PHYSMAP_NR_CATS ? categories[cat].description : "?";
}

#define BIT(n) (UINT64_C(1) << (n))

enum ms_physmap_cat ms_physmap_classify(uint64_t f)
{
	if (f & BIT(MS_KPF_NOPAGE))
		return MS_PHYSMAP_HOLE;
	if (f & BIT(MS_KPF_BUDDY))
		return MS_PHYSMAP_FREE;
	if (f & BIT(MS_KPF_RESERVED))
		return MS_PHYSMAP_RESERVED;
	if (f & BIT(MS_KPF_PGTABLE))
		return MS_PHYSMAP_PGTABLE;
	if (f & BIT(MS_KPF_SLAB))
		return MS_PHYSMAP_SLAB;
	if (f & BIT(MS_KPF_HUGE))
		return MS_PHYSMAP_HUGETLB;
	if (f & BIT(MS_KPF_THP))
		return MS_PHYSMAP_THP;
	if (f & BIT(MS_KPF_ANON))
		return MS_PHYSMAP_ANON;
	if (f & (BIT(MS_KPF_LRU) | BIT(MS_KPF_MMAP)))
		return MS_PHYSMAP_CACHE;
	return MS_PHYSMAP_OTHER;
}

struct ms_error *ms_physmap_parse_iomem(const char *text, size_t page_size,
					struct ms_physmap_range **ranges_ret, size_t *nr_ret)
{
	struct ms_physmap_range *ranges = NULL;
	size_t nr = 0;
	for (const char *line = text; line && *line;) {
		const char *nl = strchr(line, '\n');
		/* Top-level entries only: nested ones are indented. */
		if (line[0] != ' ' && strstr(line, " : System RAM") &&
		    (!nl || strstr(line, " : System RAM") < nl)) {
			unsigned long long start, end;
			if (sscanf(line, "%llx-%llx", &start, &end) == 2 && end > start) {
				/* Whole pages only, as the kernel's memblock rounds them. */
				uint64_t first = (start + page_size - 1) / page_size;
				uint64_t last = (end + 1) / page_size;
				if (last > first) {
					struct ms_physmap_range *bigger =
						realloc(ranges, (nr + 1) * sizeof(*ranges));
					if (!bigger) {
						free(ranges);
						return &ms_error_no_memory;
					}
					ranges = bigger;
					ranges[nr].start = first;
					ranges[nr].end = last;
					nr++;
				}
			}
		}
		line = nl ? nl + 1 : NULL;
	}
	*ranges_ret = ranges;
	*nr_ret = nr;
	return NULL;
}

void ms_physmap_deinit(struct ms_physmap *pm)
{
	if (!pm)
		return;
	free(pm->counts);
	free(pm->sections);
	free(pm->ram);
	memset(pm, 0, sizeof(*pm));
}

static const struct ms_frag_zone *zone_of_pfn(const struct ms_frag *frag, int node, uint64_t pfn)
{
	for (size_t i = 0; i < frag->nr_zones; i++) {
		const struct ms_frag_zone *z = &frag->zones[i];
		if (z->start_pfn == MS_FRAG_UNKNOWN || z->spanned == MS_FRAG_UNKNOWN ||
		    z->spanned == 0 || (node >= 0 && z->node != node))
			continue;
		if (pfn >= z->start_pfn && pfn < z->start_pfn + z->spanned)
			return z;
	}
	return NULL;
}

static struct ms_error *build_sections(const struct ms_frag *frag, int node, struct ms_physmap *pm)
{
	size_t cap = 0;
	for (size_t c = 0; c < pm->nr_cells; c++) {
		uint64_t first = pm->start_pfn + c * pm->pages_per_cell;
		uint64_t last = first + pm->pages_per_cell - 1;
		const struct ms_frag_zone *z = zone_of_pfn(frag, node, first);
		/* else the zone that starts first inside the cell */
		for (size_t i = 0; !z && i < frag->nr_zones; i++) {
			const struct ms_frag_zone *c = &frag->zones[i];
			if (c->start_pfn == MS_FRAG_UNKNOWN || c->spanned == MS_FRAG_UNKNOWN ||
			    !c->spanned || (node >= 0 && c->node != node))
				continue;
			if (c->start_pfn > first && c->start_pfn <= last)
				z = c;
		}
		int znode = z ? z->node : -1;
		const char *zname = z ? z->name : "";
		struct ms_physmap_section *s =
			pm->nr_sections ? &pm->sections[pm->nr_sections - 1] : NULL;
		if (s && s->node == znode && strcmp(s->zone, zname) == 0) {
			s->nr_cells++;
			s->end_pfn = last + 1;
			continue;
		}
		struct ms_physmap_section *bigger =
			ms_grow(pm->sections, pm->nr_sections, &cap, sizeof(*bigger), 8);
		if (!bigger)
			return &ms_error_no_memory;
		pm->sections = bigger;
		s = &pm->sections[pm->nr_sections++];
		memset(s, 0, sizeof(*s));
		s->node = znode;
		snprintf(s->zone, sizeof(s->zone), "%s", zname);
		s->start_pfn = first;
		s->end_pfn = last + 1;
		if (z) {
			s->zone_start_pfn = z->start_pfn;
			s->zone_end_pfn = z->start_pfn + z->spanned;
		}
		s->first_cell = c;
		s->nr_cells = 1;
	}
	return NULL;
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Count PFNs [start, end) that lie in no RAM range as holes, without reading them. */
static void count_holes(struct ms_physmap *pm, uint64_t start, uint64_t end)
{
	for (uint64_t pfn = start; pfn < end;) {
		size_t cell = (size_t)((pfn - pm->start_pfn) / pm->pages_per_cell);
		uint64_t cell_end = pm->start_pfn + (cell + 1) * pm->pages_per_cell;
		uint64_t stop = cell_end < end ? cell_end : end;
		pm->counts[cell][MS_PHYSMAP_HOLE] += (uint32_t)(stop - pfn);
		pfn = stop;
	}
}

#define CHUNK_PFNS (1u << 16) /* 512 KiB of kpageflags per read */

static struct ms_error *walk_range(int fd, struct ms_physmap *pm, uint64_t start, uint64_t end,
				   uint64_t *buf, const struct ms_physmap_opts *opts,
				   uint64_t *done, uint64_t total, int scale)
{
	uint64_t pfn = start;
	while (pfn < end) {
		if (opts->interrupted && *opts->interrupted)
			return ms_error_create(MS_ERROR_INTERRUPTED, "interrupted");
		size_t want = end - pfn < CHUNK_PFNS ? (size_t)(end - pfn) : CHUNK_PFNS;
		ssize_t n = pread(fd, buf, want * 8, (off_t)(pfn * 8));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return ms_error_errno(errno, "/proc/kpageflags at PFN 0x%llx",
					      (unsigned long long)pfn);
		}
		size_t got = (size_t)n / 8;
		if (got == 0) {
			/* Past the kernel's last memmap section: no struct pages. */
			count_holes(pm, pfn, end);
			*done += end - pfn;
			return NULL;
		}
		size_t i = 0;
		while (i < got) {
			size_t cell = (size_t)((pfn + i - pm->start_pfn) / pm->pages_per_cell);
			uint64_t cell_end = pm->start_pfn + (cell + 1) * pm->pages_per_cell;
			size_t stop =
				(size_t)(cell_end - pfn) < got ? (size_t)(cell_end - pfn) : got;
			uint32_t *counts = pm->counts[cell];
			for (; i < stop; i++)
				counts[ms_physmap_classify(buf[i])]++;
		}
		pfn += got;
		*done += got;
		if (opts->progress && scale)
			opts->progress(opts->progress_arg, *done * (uint64_t)scale, total);
	}
	return NULL;
}

struct walk_job {
	struct ms_physmap *pm;
	int fd;
	const struct ms_physmap_opts *opts;
	uint64_t from, to; /* cell-aligned PFNs */
	int scale;	   /* progress: non-zero for the one job that reports */
	struct ms_error *err;
};

/* Walk [from, to): RAM ranges are read, the gaps between them are holes. */
static void *walk_job_run(void *arg)
{
	struct walk_job *job = arg;
	struct ms_physmap *pm = job->pm;
	uint64_t *buf = malloc(CHUNK_PFNS * 8);
	if (!buf) {
		job->err = &ms_error_no_memory;
		return NULL;
	}
	uint64_t done = 0, total = pm->end_pfn - pm->start_pfn;
	uint64_t pfn = job->from;
	for (size_t i = 0; i <= pm->nr_ram && !job->err && pfn < job->to; i++) {
		uint64_t rs = i < pm->nr_ram ? pm->ram[i].start : job->to;
		uint64_t re = i < pm->nr_ram ? pm->ram[i].end : job->to;
		if (re > job->to)
			re = job->to;
		if (rs > job->to)
			rs = job->to;
		if (rs > pfn) {
			count_holes(pm, pfn, rs);
			done += rs - pfn;
			pfn = rs;
		}
		if (re > pfn) {
			job->err = walk_range(job->fd, pm, pfn, re, buf, job->opts, &done, total,
					      job->scale);
			pfn = re;
		}
	}
	free(buf);
	return NULL;
}

struct ms_error *ms_physmap_build(const struct ms_frag *frag, const struct ms_physmap_opts *opts,
				  struct ms_physmap *pm)
{
	memset(pm, 0, sizeof(*pm));
	pm->page_size = (size_t)sysconf(_SC_PAGESIZE);
	uint64_t ppc = opts->pages_per_cell;
	if (ppc == 0)
		ppc = UINT64_C(1) << (frag->pageblock_order > 0 ? frag->pageblock_order : 9);
	pm->pages_per_cell = ppc;

	char *iomem;
	struct ms_error *err = ms_procfs_read("/proc/iomem", &iomem, NULL);
	if (err)
		return err;
	err = ms_physmap_parse_iomem(iomem, pm->page_size, &pm->ram, &pm->nr_ram);
	free(iomem);
	if (err)
		return err;
	if (pm->nr_ram == 0) {
		ms_physmap_deinit(pm);
		return ms_error_create(MS_ERROR_PERMISSION,
				       "/proc/iomem shows no System RAM addresses (needs root)");
	}

	/* The PFN range: every zone span and RAM range (of the node). */
	uint64_t lo = UINT64_MAX, hi = 0;
	for (size_t i = 0; i < frag->nr_zones; i++) {
		const struct ms_frag_zone *z = &frag->zones[i];
		if (z->start_pfn == MS_FRAG_UNKNOWN || z->spanned == MS_FRAG_UNKNOWN ||
		    z->spanned == 0 || (opts->node >= 0 && z->node != opts->node))
			continue;
		if (z->start_pfn < lo)
			lo = z->start_pfn;
		if (z->start_pfn + z->spanned > hi)
			hi = z->start_pfn + z->spanned;
	}
	if (opts->node < 0) {
		for (size_t i = 0; i < pm->nr_ram; i++) {
			if (pm->ram[i].start < lo)
				lo = pm->ram[i].start;
			if (pm->ram[i].end > hi)
				hi = pm->ram[i].end;
		}
		lo = 0; /* the whole machine starts at physical address 0 */
	}
	if (hi <= lo) {
		ms_physmap_deinit(pm);
		return ms_error_create(MS_ERROR_NOT_FOUND, "node %d has no memory", opts->node);
	}
	pm->start_pfn = lo / ppc * ppc;
	pm->end_pfn = (hi + ppc - 1) / ppc * ppc;
	uint64_t cells = (pm->end_pfn - pm->start_pfn) / ppc;
	if (cells > MS_PHYSMAP_MAX_CELLS) {
		uint64_t min_ppc = (pm->end_pfn - pm->start_pfn + MS_PHYSMAP_MAX_CELLS - 1) /
				   MS_PHYSMAP_MAX_CELLS;
		ms_physmap_deinit(pm);
		return ms_error_create(MS_ERROR_INVALID,
				       "%llu cells is too many: use --pages-per-cell %llu or more",
				       (unsigned long long)cells, (unsigned long long)min_ppc);
	}
	pm->nr_cells = (size_t)cells;
	pm->counts = calloc(pm->nr_cells, sizeof(*pm->counts));
	if (!pm->counts) {
		ms_physmap_deinit(pm);
		return &ms_error_no_memory;
	}
	err = build_sections(frag, opts->node, pm);
	if (err) {
		ms_physmap_deinit(pm);
		return err;
	}

	int fd = open("/proc/kpageflags", O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		int e = errno;
		ms_physmap_deinit(pm);
		if (e == EACCES || e == EPERM)
			return ms_error_create(MS_ERROR_PERMISSION,
					       "reading /proc/kpageflags needs root");
		return ms_error_errno(e, "/proc/kpageflags");
	}
	/* Reading kpageflags is the kernel's work, one PFN at a time: split the
	 * range at cell boundaries over the CPUs (at most 4), each thread counting
	 * only its own cells. */
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	int nthreads = cpus > 4 ? 4 : cpus < 1 ? 1 : (int)cpus;
	if (pm->nr_cells < (size_t)nthreads * 64)
		nthreads = 1;
	struct walk_job jobs[4];
	pthread_t threads[4];
	double start = now();
	for (int t = 0; t < nthreads; t++) {
		jobs[t] = (struct walk_job){
			.pm = pm,
			.fd = fd,
			.opts = opts,
			.from = pm->start_pfn +
				pm->nr_cells * (size_t)t / (size_t)nthreads * pm->pages_per_cell,
			.to = pm->start_pfn + pm->nr_cells * (size_t)(t + 1) / (size_t)nthreads *
						      pm->pages_per_cell,
			.scale = t == 0 ? nthreads : 0,
		};
	}
	int started = 1;
	for (int t = 1; t < nthreads; t++) {
		if (pthread_create(&threads[t], NULL, walk_job_run, &jobs[t]) != 0)
			break;
		started++;
	}
	/* what could not get a thread is done here, after the first part */
	walk_job_run(&jobs[0]);
	for (int t = started; t < nthreads; t++)
		walk_job_run(&jobs[t]);
	for (int t = 1; t < started; t++)
		pthread_join(threads[t], NULL);
	pm->seconds = now() - start;
	close(fd);
	err = NULL;
	for (int t = 0; t < nthreads; t++) {
		if (!err)
			err = jobs[t].err;
		else
			ms_error_destroy(jobs[t].err);
	}
	if (err) {
		ms_physmap_deinit(pm);
		return err;
	}
	for (size_t c = 0; c < pm->nr_cells; c++)
		for (int k = 0; k < MS_PHYSMAP_NR_CATS; k++)
			pm->totals[k] += pm->counts[c][k];
	return NULL;
}

enum ms_physmap_cat ms_physmap_cell_main(const struct ms_physmap *pm, size_t cell)
{
	int best = 0;
	for (int k = 1; k < MS_PHYSMAP_NR_CATS; k++)
		if (pm->counts[cell][k] > pm->counts[cell][best])
			best = k;
	return (enum ms_physmap_cat)best;
}

bool ms_physmap_cell_whole(const struct ms_physmap *pm, size_t cell)
{
	return pm->counts[cell][ms_physmap_cell_main(pm, cell)] == pm->pages_per_cell;
}

unsigned ms_physmap_colour(enum ms_physmap_cat cat, bool whole)
{
	switch (cat) {
	case MS_PHYSMAP_FREE:
		return whole ? 46 : 28; /* bright green; darker green when partly used */
	case MS_PHYSMAP_ANON:
		return 203;
	case MS_PHYSMAP_CACHE:
		return 75;
	case MS_PHYSMAP_THP:
		return 171;
	case MS_PHYSMAP_HUGETLB:
		return 97;
	case MS_PHYSMAP_SLAB:
		return 214;
	case MS_PHYSMAP_PGTABLE:
		return 226;
	case MS_PHYSMAP_RESERVED:
		return 242;
	case MS_PHYSMAP_OTHER:
		return 250;
	case MS_PHYSMAP_HOLE:
	case MS_PHYSMAP_NR_CATS:
		break;
	}
	return 235;
}

void ms_physmap_rgb(unsigned index, uint8_t rgb[3])
{
	static const uint8_t base[16][3] = {
		{0, 0, 0},	 {128, 0, 0},	{0, 128, 0},   {128, 128, 0},
		{0, 0, 128},	 {128, 0, 128}, {0, 128, 128}, {192, 192, 192},
		{128, 128, 128}, {255, 0, 0},	{0, 255, 0},   {255, 255, 0},
		{0, 0, 255},	 {255, 0, 255}, {0, 255, 255}, {255, 255, 255},
	};
	if (index < 16) {
		memcpy(rgb, base[index], 3);
	} else if (index < 232) {
		static const uint8_t level[6] = {0, 95, 135, 175, 215, 255};
		unsigned i = index - 16;
		rgb[0] = level[i / 36];
		rgb[1] = level[i / 6 % 6];
		rgb[2] = level[i % 6];
	} else {
		uint8_t v = (uint8_t)(8 + (index - 232) * 10);
		rgb[0] = rgb[1] = rgb[2] = v;
	}
}

/* ---- pictures ---- */

/* Layout shared by SVG and PNG, in units of cells and text lines. */
#define PIC_COLUMNS 128

static unsigned cell_colour(const struct ms_physmap *pm, size_t cell)
{
	return ms_physmap_colour(ms_physmap_cell_main(pm, cell), ms_physmap_cell_whole(pm, cell));
}

static void format_size(char *buf, size_t len, uint64_t bytes)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	double v = (double)bytes;
	int u = 0;
	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	if (u == 0)
		snprintf(buf, len, "%llu B", (unsigned long long)bytes);
	else
		snprintf(buf, len, "%.1f %s", v, units[u]);
}

void ms_physmap_section_label(const struct ms_physmap *pm, const struct ms_physmap_section *s,
			      char *buf, size_t len)
{
	char size[32];
	if (s->node < 0) {
		format_size(size, sizeof(size), (s->end_pfn - s->start_pfn) * pm->page_size);
		snprintf(buf, len, "no zone  PFN 0x%llx-0x%llx  %s",
			 (unsigned long long)s->start_pfn, (unsigned long long)s->end_pfn, size);
		return;
	}
	format_size(size, sizeof(size), (s->zone_end_pfn - s->zone_start_pfn) * pm->page_size);
	int n = snprintf(buf, len, "Node %d, zone %s  PFN 0x%llx-0x%llx  %s", s->node, s->zone,
			 (unsigned long long)s->zone_start_pfn, (unsigned long long)s->zone_end_pfn,
			 size);
	if (n > 0 && (size_t)n < len &&
	    (s->start_pfn != s->zone_start_pfn || s->end_pfn != s->zone_end_pfn))
		snprintf(buf + n, len - (size_t)n, "  (cells 0x%llx-0x%llx)",
			 (unsigned long long)s->start_pfn, (unsigned long long)s->end_pfn);
}

/* Legend entries: every category present, with free split into whole and partial cells. */
struct legend_entry {
	unsigned colour;
	char text[96];
};

static size_t legend(const struct ms_physmap *pm, struct legend_entry *out)
{
	size_t n = 0;
	uint64_t all = pm->end_pfn - pm->start_pfn;
	for (int k = 0; k < MS_PHYSMAP_NR_CATS; k++) {
		if (!pm->totals[k])
			continue;
		char size[32];
		format_size(size, sizeof(size), pm->totals[k] * pm->page_size);
		double pct = all ? 100.0 * (double)pm->totals[k] / (double)all : 0;
		if (k == MS_PHYSMAP_FREE) {
			out[n].colour = ms_physmap_colour(MS_PHYSMAP_FREE, true);
			snprintf(out[n].text, sizeof(out[n].text),
				 "free: %s %.1f%% (bright: the whole cell is free)", size, pct);
			n++;
			out[n].colour = ms_physmap_colour(MS_PHYSMAP_FREE, false);
			snprintf(out[n].text, sizeof(out[n].text), "mostly free, partly used");
			n++;
			continue;
		}
		out[n].colour = ms_physmap_colour((enum ms_physmap_cat)k, true);
		snprintf(out[n].text, sizeof(out[n].text), "%s: %s %.1f%%",
			 ms_physmap_cat_name((enum ms_physmap_cat)k), size, pct);
		n++;
	}
	return n;
}

static void xml_escape(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '<':
			fputs("&lt;", f);
			break;
		case '>':
			fputs("&gt;", f);
			break;
		case '&':
			fputs("&amp;", f);
			break;
		case '"':
			fputs("&quot;", f);
			break;
		default:
			if ((unsigned char)*s >= 0x20 || *s == '\t')
				fputc(*s, f);
		}
	}
}

static struct ms_error *close_file(FILE *f, const char *path)
{
	bool bad = ferror(f);
	int e = errno;
	if (fclose(f) != 0 || bad)
		return ms_error_errno(bad ? e : errno, "%s", path);
	return NULL;
}

struct ms_error *ms_physmap_write_svg(const struct ms_physmap *pm, const char *path,
				      const char *title)
{
	const int cell = 6, line = 16, margin = 10;
	int cols = PIC_COLUMNS;
	int width = margin * 2 + cols * cell;
	if (width < 560)
		width = 560;
	struct legend_entry entries[MS_PHYSMAP_NR_CATS + 1];
	size_t nr_legend = legend(pm, entries);
	int height = margin + line + 4;
	for (size_t i = 0; i < pm->nr_sections; i++)
		height +=
			line +
			(int)((pm->sections[i].nr_cells + (size_t)cols - 1) / (size_t)cols) * cell +
			6;
	height += 6 + (int)nr_legend * line + margin;

	FILE *f = fopen(path, "w");
	if (!f)
		return ms_error_errno(errno, "%s", path);
	fprintf(f,
		"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" height=\"%d\" "
		"viewBox=\"0 0 %d %d\" font-family=\"monospace\" font-size=\"12\">\n"
		"<rect width=\"100%%\" height=\"100%%\" fill=\"#ffffff\"/>\n",
		width, height, width, height);
	int y = margin + 12;
	fprintf(f, "<text x=\"%d\" y=\"%d\" font-weight=\"bold\">", margin, y);
	xml_escape(f, title);
	fputs("</text>\n", f);
	y += 8;
	for (size_t i = 0; i < pm->nr_sections; i++) {
		const struct ms_physmap_section *s = &pm->sections[i];
		char label[160];
		ms_physmap_section_label(pm, s, label, sizeof(label));
		y += line - 4;
		fprintf(f, "<text x=\"%d\" y=\"%d\">", margin, y);
		xml_escape(f, label);
		fputs("</text>\n", f);
		y += 4;
		int rows = (int)((s->nr_cells + (size_t)cols - 1) / (size_t)cols);
		fprintf(f, "<g id=\"section%zu\" shape-rendering=\"crispEdges\">\n", i);
		for (int r = 0; r < rows; r++) {
			size_t first = s->first_cell + (size_t)r * (size_t)cols;
			size_t end = first + (size_t)cols;
			if (end > s->first_cell + s->nr_cells)
				end = s->first_cell + s->nr_cells;
			/* One rectangle per run of equal colour keeps the file small. */
			for (size_t c = first; c < end;) {
				unsigned colour = cell_colour(pm, c);
				size_t run = c + 1;
				while (run < end && cell_colour(pm, run) == colour)
					run++;
				uint8_t rgb[3];
				ms_physmap_rgb(colour, rgb);
				fprintf(f,
					"<rect x=\"%d\" y=\"%d\" width=\"%d\" height=\"%d\" "
					"fill=\"#%02x%02x%02x\"/>\n",
					margin + (int)(c - first) * cell, y + r * cell,
					(int)(run - c) * cell, cell, rgb[0], rgb[1], rgb[2]);
				c = run;
			}
		}
		/* The zone's outline: its boundary with the next zone. */
		int full = (int)(s->nr_cells / (size_t)cols),
		    rest = (int)(s->nr_cells % (size_t)cols);
		fprintf(f,
			"<path d=\"M%d %d h%d v%d h%d v%d h%d Z\" fill=\"none\" stroke=\"#000000\" "
			"stroke-width=\"1\"/>\n</g>\n",
			margin, y, cols * cell, full * cell, rest ? (rest - cols) * cell : 0,
			rest ? cell : 0, rest ? -rest * cell : -cols * cell);
		y += rows * cell + 6;
	}
	y += 6;
	for (size_t i = 0; i < nr_legend; i++) {
		uint8_t rgb[3];
		ms_physmap_rgb(entries[i].colour, rgb);
		fprintf(f,
			"<rect x=\"%d\" y=\"%d\" width=\"12\" height=\"12\" fill=\"#%02x%02x%02x\" "
			"stroke=\"#000000\" stroke-width=\"0.5\"/>\n",
			margin, y, rgb[0], rgb[1], rgb[2]);
		fprintf(f, "<text x=\"%d\" y=\"%d\">", margin + 18, y + 11);
		xml_escape(f, entries[i].text);
		fputs("</text>\n", f);
		y += line;
	}
	fputs("</svg>\n", f);
	return close_file(f, path);
}

/* A 5x7 bitmap font for the PNG's labels: upper case, digits, a little punctuation. */
static const struct {
	char c;
	uint8_t rows[7];
} font[] = {
	{'A', {0x0E, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11}},
	{'B', {0x1E, 0x11, 0x11, 0x1E, 0x11, 0x11, 0x1E}},
	{'C', {0x0E, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0E}},
	{'D', {0x1E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x1E}},
	{'E', {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x1F}},
	{'F', {0x1F, 0x10, 0x10, 0x1E, 0x10, 0x10, 0x10}},
	{'G', {0x0E, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0F}},
	{'H', {0x11, 0x11, 0x11, 0x1F, 0x11, 0x11, 0x11}},
	{'I', {0x0E, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0E}},
	{'J', {0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0C}},
	{'K', {0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11}},
	{'L', {0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1F}},
	{'M', {0x11, 0x1B, 0x15, 0x15, 0x11, 0x11, 0x11}},
	{'N', {0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11}},
	{'O', {0x0E, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}},
	{'P', {0x1E, 0x11, 0x11, 0x1E, 0x10, 0x10, 0x10}},
	{'Q', {0x0E, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0D}},
	{'R', {0x1E, 0x11, 0x11, 0x1E, 0x14, 0x12, 0x11}},
	{'S', {0x0F, 0x10, 0x10, 0x0E, 0x01, 0x01, 0x1E}},
	{'T', {0x1F, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04}},
	{'U', {0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0E}},
	{'V', {0x11, 0x11, 0x11, 0x11, 0x11, 0x0A, 0x04}},
	{'W', {0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0A}},
	{'X', {0x11, 0x11, 0x0A, 0x04, 0x0A, 0x11, 0x11}},
	{'Y', {0x11, 0x11, 0x0A, 0x04, 0x04, 0x04, 0x04}},
	{'Z', {0x1F, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1F}},
	{'0', {0x0E, 0x11, 0x13, 0x15, 0x19, 0x11, 0x0E}},
	{'1', {0x04, 0x0C, 0x04, 0x04, 0x04, 0x04, 0x0E}},
	{'2', {0x0E, 0x11, 0x01, 0x02, 0x04, 0x08, 0x1F}},
	{'3', {0x1F, 0x02, 0x04, 0x02, 0x01, 0x11, 0x0E}},
	{'4', {0x02, 0x06, 0x0A, 0x12, 0x1F, 0x02, 0x02}},
	{'5', {0x1F, 0x10, 0x1E, 0x01, 0x01, 0x11, 0x0E}},
	{'6', {0x06, 0x08, 0x10, 0x1E, 0x11, 0x11, 0x0E}},
	{'7', {0x1F, 0x01, 0x02, 0x04, 0x08, 0x08, 0x08}},
	{'8', {0x0E, 0x11, 0x11, 0x0E, 0x11, 0x11, 0x0E}},
	{'9', {0x0E, 0x11, 0x11, 0x0F, 0x01, 0x02, 0x0C}},
	{',', {0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x08}},
	{'.', {0x00, 0x00, 0x00, 0x00, 0x00, 0x0C, 0x0C}},
	{'-', {0x00, 0x00, 0x00, 0x1F, 0x00, 0x00, 0x00}},
	{':', {0x00, 0x0C, 0x0C, 0x00, 0x0C, 0x0C, 0x00}},
	{'(', {0x02, 0x04, 0x08, 0x08, 0x08, 0x04, 0x02}},
	{')', {0x08, 0x04, 0x02, 0x02, 0x02, 0x04, 0x08}},
	{'%', {0x18, 0x19, 0x02, 0x04, 0x08, 0x13, 0x03}},
	{'/', {0x00, 0x01, 0x02, 0x04, 0x08, 0x10, 0x00}},
	{'_', {0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x1F}},
	{'+', {0x00, 0x04, 0x04, 0x1F, 0x04, 0x04, 0x00}},
};

struct canvas {
	int width, height;
	uint8_t *pixels; /* RGB */
};

static void fill(struct canvas *cv, int x, int y, int w, int h, const uint8_t rgb[3])
{
	for (int j = y; j < y + h && j < cv->height; j++)
		for (int i = x; i < x + w && i < cv->width; i++)
			if (i >= 0 && j >= 0)
				memcpy(&cv->pixels[((size_t)j * (size_t)cv->width + (size_t)i) * 3],
				       rgb, 3);
}

static void draw_text(struct canvas *cv, int x, int y, const char *s)
{
	static const uint8_t black[3] = {0, 0, 0};
	for (; *s; s++, x += 6) {
		char c = *s >= 'a' && *s <= 'z' ? (char)(*s - 'a' + 'A') : *s;
		for (size_t g = 0; g < sizeof(font) / sizeof(font[0]); g++) {
			if (font[g].c != c)
				continue;
			for (int r = 0; r < 7; r++)
				for (int b = 0; b < 5; b++)
					if (font[g].rows[r] & (0x10 >> b))
						fill(cv, x + b, y + r, 1, 1, black);
			break;
		}
	}
}

static struct ms_error *write_png_file(const struct canvas *cv, const char *path, const char *title)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return ms_error_errno(errno, "%s", path);
	png_bytep *rows = malloc((size_t)cv->height * sizeof(*rows));
	if (!rows) {
		fclose(f);
		return &ms_error_no_memory;
	}
	for (int y = 0; y < cv->height; y++)
		rows[y] = (png_bytep)&cv->pixels[(size_t)y * (size_t)cv->width * 3];
	png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
	png_infop info = png ? png_create_info_struct(png) : NULL;
	if (!png || !info) {
		png_destroy_write_struct(&png, &info);
		free(rows);
		fclose(f);
		return ms_error_create(MS_ERROR_OTHER, "png_create_write_struct failed");
	}
	if (setjmp(png_jmpbuf(png))) {
		png_destroy_write_struct(&png, &info);
		free(rows);
		fclose(f);
		return ms_error_create(MS_ERROR_OS, "%s: libpng could not write the picture", path);
	}
	png_init_io(png, f);
	png_set_IHDR(png, info, (png_uint_32)cv->width, (png_uint_32)cv->height, 8,
		     PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
		     PNG_FILTER_TYPE_DEFAULT);
	png_text text = {.compression = PNG_TEXT_COMPRESSION_NONE,
			 .key = (png_charp) "Title",
			 .text = (png_charp)title};
	png_set_text(png, info, &text, 1);
	png_set_rows(png, info, rows);
	png_write_png(png, info, PNG_TRANSFORM_IDENTITY, NULL);
	png_destroy_write_struct(&png, &info);
	free(rows);
	return close_file(f, path);
}

struct ms_error *ms_physmap_write_png(const struct ms_physmap *pm, const char *path,
				      const char *title)
{
	const int cell = 5, line = 12, margin = 8;
	int cols = PIC_COLUMNS;
	struct legend_entry entries[MS_PHYSMAP_NR_CATS + 1];
	size_t nr_legend = legend(pm, entries);
	struct canvas cv;
	cv.width = margin * 2 + cols * cell;
	int text_width = margin * 2 + 6 * (int)strlen(title);
	if (cv.width < text_width)
		cv.width = text_width;
	cv.height = margin + line + 2;
	for (size_t i = 0; i < pm->nr_sections; i++)
		cv.height +=
			line +
			(int)((pm->sections[i].nr_cells + (size_t)cols - 1) / (size_t)cols) * cell +
			6;
	cv.height += 4 + (int)nr_legend * line + margin;
	cv.pixels = malloc((size_t)cv.width * (size_t)cv.height * 3);
	if (!cv.pixels)
		return &ms_error_no_memory;
	memset(cv.pixels, 0xff, (size_t)cv.width * (size_t)cv.height * 3);
	static const uint8_t black[3] = {0, 0, 0};
	int y = margin;
	draw_text(&cv, margin, y, title);
	y += line + 2;
	for (size_t i = 0; i < pm->nr_sections; i++) {
		const struct ms_physmap_section *s = &pm->sections[i];
		char label[160];
		ms_physmap_section_label(pm, s, label, sizeof(label));
		draw_text(&cv, margin, y + 2, label);
		y += line;
		int rows = (int)((s->nr_cells + (size_t)cols - 1) / (size_t)cols);
		/* frame: one pixel around the section's cells */
		fill(&cv, margin - 1, y - 1, cols * cell + 2, rows * cell + 2, black);
		for (size_t c = 0; c < s->nr_cells; c++) {
			uint8_t rgb[3];
			ms_physmap_rgb(cell_colour(pm, s->first_cell + c), rgb);
			fill(&cv, margin + (int)(c % (size_t)cols) * cell,
			     y + (int)(c / (size_t)cols) * cell, cell, cell, rgb);
		}
		/* after the last cell the frame's inside is background again */
		size_t rest = s->nr_cells % (size_t)cols;
		if (rest) {
			static const uint8_t white[3] = {255, 255, 255};
			fill(&cv, margin + (int)rest * cell, y + (rows - 1) * cell,
			     (cols - (int)rest) * cell, cell, white);
		}
		y += rows * cell + 6;
	}
	y += 4;
	for (size_t i = 0; i < nr_legend; i++) {
		uint8_t rgb[3];
		ms_physmap_rgb(entries[i].colour, rgb);
		fill(&cv, margin, y, 9, 9, black);
		fill(&cv, margin + 1, y + 1, 7, 7, rgb);
		draw_text(&cv, margin + 14, y + 1, entries[i].text);
		y += line;
	}
	struct ms_error *err = write_png_file(&cv, path, title);
	free(cv.pixels);
	return err;
}
