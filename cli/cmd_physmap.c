/* SPDX-License-Identifier: MIT */
/*
 * physmap: a map of physical memory from /proc/kpageflags, one cell per
 * pageblock (or per N pages), coloured by what fills it; on the terminal, in
 * SVG and in PNG.
 */
#include "cmd_physmap.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "zones.h"

static const char letters[MS_PHYSMAP_NR_CATS] = {
	[MS_PHYSMAP_FREE] = 'F',    [MS_PHYSMAP_ANON] = 'a',	 [MS_PHYSMAP_CACHE] = 'c',
	[MS_PHYSMAP_THP] = 'T',	    [MS_PHYSMAP_HUGETLB] = 'H',	 [MS_PHYSMAP_SLAB] = 's',
	[MS_PHYSMAP_PGTABLE] = 'p', [MS_PHYSMAP_RESERVED] = 'r', [MS_PHYSMAP_OTHER] = 'o',
	[MS_PHYSMAP_HOLE] = '.',
};

static char cell_letter(const struct ms_physmap *pm, size_t cell)
{
	enum ms_physmap_cat cat = ms_physmap_cell_main(pm, cell);
	if (cat == MS_PHYSMAP_FREE && !ms_physmap_cell_whole(pm, cell))
		return 'f';
	return letters[cat];
}

static unsigned cell_colour(const struct ms_physmap *pm, size_t cell)
{
	return ms_physmap_colour(ms_physmap_cell_main(pm, cell), ms_physmap_cell_whole(pm, cell));
}

static int terminal_width(void)
{
	struct winsize ws;
	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
		return ws.ws_col;
	const char *cols = getenv("COLUMNS");
	if (cols && atoi(cols) > 0)
		return atoi(cols);
	return 80;
}

static void section_title(const struct ms_physmap *pm, const struct ms_physmap_section *s)
{
	char label[160];
	ms_physmap_section_label(pm, s, label, sizeof(label));
	printf("%s\n", label);
}

/* Two cells per character: the upper half block in the top cell's colour
 * over the bottom cell's colour. */
static void print_section_colour(const struct ms_physmap *pm, const struct ms_physmap_section *s,
				 size_t width)
{
	size_t rows = (s->nr_cells + width - 1) / width;
	for (size_t r = 0; r < rows; r += 2) {
		fputs("  ", stdout);
		int fg = -1, bg = -1;
		for (size_t col = 0; col < width; col++) {
			size_t top = r * width + col, bottom = (r + 1) * width + col;
			if (top >= s->nr_cells)
				break;
			int f = (int)cell_colour(pm, s->first_cell + top);
			int b = bottom < s->nr_cells ? (int)cell_colour(pm, s->first_cell + bottom)
						     : -2;
			if (f != fg) {
				printf("\033[38;5;%dm", f);
				fg = f;
			}
			if (b != bg) {
				if (b == -2)
					fputs("\033[49m", stdout);
				else
					printf("\033[48;5;%dm", b);
				bg = b;
			}
			fputs("\u2580", stdout);
		}
		fputs("\033[0m\n", stdout);
	}
}

static void print_section_plain(const struct ms_physmap *pm, const struct ms_physmap_section *s,
				size_t width)
{
	for (size_t i = 0; i < s->nr_cells; i++) {
		if (i % width == 0)
			fputs("  ", stdout);
		putchar(cell_letter(pm, s->first_cell + i));
		if (i % width == width - 1 || i + 1 == s->nr_cells)
			putchar('\n');
	}
}

static void print_legend(const struct ms_physmap *pm, bool colour)
{
	uint64_t all = pm->end_pfn - pm->start_pfn;
	printf("Legend (%s):\n", colour ? "colour of what fills most of a cell"
					: "letter of what fills most of a cell");
	for (int k = 0; k < MS_PHYSMAP_NR_CATS; k++) {
		enum ms_physmap_cat cat = (enum ms_physmap_cat)k;
		char size[32];
		out_size(size, pm->totals[k] * pm->page_size);
		double pct = all ? 100.0 * (double)pm->totals[k] / (double)all : 0;
		if (colour)
			printf("  \033[38;5;%um\u2588\033[0m", ms_physmap_colour(cat, true));
		else
			printf("  %c", letters[k]);
		printf(" %-10s %10s %5.1f%%  %s\n", ms_physmap_cat_name(cat), size, pct,
		       ms_physmap_cat_description(cat));
		if (cat == MS_PHYSMAP_FREE) {
			if (colour)
				printf("  \033[38;5;%um\u2588\033[0m",
				       ms_physmap_colour(cat, false));
			else
				printf("  f");
			printf(" %-10s %10s %6s  %s\n", "", "", "",
			       "mostly free, but part of the cell is in use");
		}
	}
}

void physmap_write_json(struct json *j, const struct ms_physmap *pm)
{
	json_kv_u64(j, "page_size", pm->page_size);
	json_kv_u64(j, "pages_per_cell", pm->pages_per_cell);
	json_kv_hex(j, "start_pfn", pm->start_pfn);
	json_kv_hex(j, "end_pfn", pm->end_pfn);
	json_kv_u64(j, "cells", pm->nr_cells);
	json_kv_double(j, "read_seconds", pm->seconds);
	json_key(j, "categories");
	json_begin_array(j);
	for (int k = 0; k < MS_PHYSMAP_NR_CATS; k++)
		json_string(j, ms_physmap_cat_name((enum ms_physmap_cat)k));
	json_end_array(j);
	json_key(j, "totals");
	json_begin_object(j);
	for (int k = 0; k < MS_PHYSMAP_NR_CATS; k++)
		json_kv_u64(j, ms_physmap_cat_name((enum ms_physmap_cat)k), pm->totals[k]);
	json_end_object(j);
	json_key(j, "ram");
	json_begin_array(j);
	for (size_t i = 0; i < pm->nr_ram; i++) {
		json_begin_object(j);
		json_kv_hex(j, "start_pfn", pm->ram[i].start);
		json_kv_hex(j, "end_pfn", pm->ram[i].end);
		json_end_object(j);
	}
	json_end_array(j);
	json_key(j, "sections");
	json_begin_array(j);
	for (size_t i = 0; i < pm->nr_sections; i++) {
		const struct ms_physmap_section *s = &pm->sections[i];
		json_begin_object(j);
		if (s->node >= 0) {
			json_kv_i64(j, "node", s->node);
			json_kv_string(j, "zone", s->zone);
			json_kv_hex(j, "zone_start_pfn", s->zone_start_pfn);
			json_kv_hex(j, "zone_end_pfn", s->zone_end_pfn);
		} else {
			json_kv_null(j, "node");
			json_kv_null(j, "zone");
		}
		json_kv_hex(j, "start_pfn", s->start_pfn);
		json_kv_hex(j, "end_pfn", s->end_pfn);
		json_kv_u64(j, "first_cell", s->first_cell);
		json_kv_u64(j, "cells", s->nr_cells);
		json_end_object(j);
	}
	json_end_array(j);
	/* Runs of consecutive cells with the same counts: per-cell counts, once. */
	json_key(j, "ranges");
	json_begin_array(j);
	for (size_t c = 0; c < pm->nr_cells;) {
		size_t end = c + 1;
		while (end < pm->nr_cells &&
		       memcmp(pm->counts[end], pm->counts[c], sizeof(pm->counts[c])) == 0)
			end++;
		json_begin_object(j);
		json_kv_hex(j, "start_pfn", pm->start_pfn + c * pm->pages_per_cell);
		json_kv_hex(j, "end_pfn", pm->start_pfn + end * pm->pages_per_cell);
		json_kv_u64(j, "cells", end - c);
		json_kv_string(j, "main", ms_physmap_cat_name(ms_physmap_cell_main(pm, c)));
		json_key(j, "per_cell");
		json_begin_object(j);
		for (int k = 0; k < MS_PHYSMAP_NR_CATS; k++)
			if (pm->counts[c][k])
				json_kv_u64(j, ms_physmap_cat_name((enum ms_physmap_cat)k),
					    pm->counts[c][k]);
		json_end_object(j);
		json_end_object(j);
		c = end;
	}
	json_end_array(j);
}

static void progress_cb(void *arg, uint64_t done, uint64_t total)
{
	struct progress *p = arg;
	(void)total;
	progress_update(p, done);
}

void physmap_title(const struct ms_physmap *pm, const char *what, char *buf, size_t len)
{
	char host[65] = "";
	gethostname(host, sizeof(host) - 1);
	char date[32];
	time_t t = time(NULL);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M", localtime(&t));
	char size[32], cell[32];
	out_size(size, (pm->end_pfn - pm->start_pfn) * pm->page_size);
	out_size(cell, pm->pages_per_cell * pm->page_size);
	snprintf(buf, len, "Physical memory of %s%s%s, %s: %s in %zu cells of %s", host,
		 what ? " " : "", what ? what : "", date, size, pm->nr_cells, cell);
}

struct ms_error *physmap_build(struct cli_ctx *ctx, const struct ms_frag *frag, int node,
			       uint64_t pages_per_cell, struct ms_physmap *pm)
{
	(void)ctx;
	struct progress prog;
	struct ms_physmap_opts opts = {
		.pages_per_cell = pages_per_cell,
		.node = node,
		.progress = progress_cb,
		.progress_arg = &prog,
		.interrupted = &cli_interrupted,
	};
	uint64_t pages = 0;
	for (size_t i = 0; i < frag->nr_zones; i++)
		if (frag->zones[i].spanned != MS_FRAG_UNKNOWN &&
		    (node < 0 || frag->zones[i].node == node))
			pages += frag->zones[i].spanned;
	progress_start(&prog, "kpageflags", pages, false);
	struct ms_error *err = ms_physmap_build(frag, &opts, pm);
	progress_end(&prog);
	return err;
}

struct ms_error *physmap_write_files(const struct ms_physmap *pm, const char *svg, const char *png,
				     const char *what)
{
	char title[256];
	physmap_title(pm, what, title, sizeof(title));
	struct ms_error *err = NULL;
	if (svg)
		err = ms_physmap_write_svg(pm, svg, title);
	if (!err && png)
		err = ms_physmap_write_png(pm, png, title);
	return err;
}

static bool parse_num(const char *s, uint64_t max, uint64_t *v)
{
	char *end;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 0);
	if (errno || end == s || *end || *s == '-' || x > max)
		return false;
	*v = x;
	return true;
}

int cmd_physmap(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option options[] = {
		{"svg", required_argument, NULL, 's'},
		{"png", required_argument, NULL, 'g'},
		{"pages-per-cell", required_argument, NULL, 'c'},
		{"node", required_argument, NULL, 'n'},
		{NULL, 0, NULL, 0},
	};
	const char *svg = NULL, *png = NULL;
	uint64_t ppc = 0, node64;
	int node = -1, c;
	while ((c = getopt_long(argc, argv, "", options, NULL)) != -1) {
		switch (c) {
		case 's':
			svg = optarg;
			break;
		case 'g':
			png = optarg;
			break;
		case 'c':
			if (!parse_num(optarg, UINT32_MAX, &ppc) || ppc == 0)
				return cli_usage(ctx, "invalid --pages-per-cell '%s'", optarg);
			break;
		case 'n':
			if (!parse_num(optarg, 1 << 20, &node64))
				return cli_usage(ctx, "invalid node '%s'", optarg);
			node = (int)node64;
			break;
		default:
			return cli_usage(ctx, "unknown option");
		}
	}
	if (optind < argc)
		return cli_usage(ctx, "unexpected argument '%s'", argv[optind]);

	struct ms_frag frag;
	ms_frag_init(&frag);
	struct ms_physmap pm = {0};
	int status = CLI_OK;
	struct ms_error *err = ms_frag_read(&frag);
	if (err) {
		status = cli_error(ctx, err);
		goto out;
	}
	if (!zones_node_known(ctx, &frag, node, &status))
		goto out;
	err = physmap_build(ctx, &frag, node, ppc, &pm);
	if (err) {
		status = cli_error(ctx, err);
		goto out;
	}
	err = physmap_write_files(&pm, svg, png, NULL);
	if (err) {
		status = cli_error(ctx, err);
		goto out;
	}
	if (ctx->session->json) {
		struct json *j = &ctx->json;
		json_begin_object(j);
		if (node >= 0)
			json_kv_i64(j, "node", node);
		if (svg)
			json_kv_string(j, "svg", svg);
		if (png)
			json_kv_string(j, "png", png);
		physmap_write_json(j, &pm);
		json_end_object(j);
		json_finish(j);
		goto out;
	}
	char size[32], cell[32];
	printf("Physical memory: PFN 0x%" PRIx64 "-0x%" PRIx64 " (%s), %zu cells of %" PRIu64
	       " pages (%s), kpageflags read in %.2f s\n\n",
	       pm.start_pfn, pm.end_pfn, out_size(size, (pm.end_pfn - pm.start_pfn) * pm.page_size),
	       pm.nr_cells, pm.pages_per_cell, out_size(cell, pm.pages_per_cell * pm.page_size),
	       pm.seconds);
	bool colour = out_colour();
	int width = terminal_width() - 2;
	if (width < 16)
		width = 16;
	for (size_t i = 0; i < pm.nr_sections; i++) {
		section_title(&pm, &pm.sections[i]);
		if (colour)
			print_section_colour(&pm, &pm.sections[i], (size_t)width);
		else
			print_section_plain(&pm, &pm.sections[i], (size_t)width);
	}
	putchar('\n');
	print_legend(&pm, colour);
	if (svg)
		printf("Wrote %s\n", svg);
	if (png)
		printf("Wrote %s\n", png);
	if (cli_interrupted)
		status = CLI_PARTIAL;
out:
	ms_physmap_deinit(&pm);
	ms_frag_deinit(&frag);
	return status;
}
