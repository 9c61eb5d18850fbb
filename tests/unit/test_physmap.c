/* SPDX-License-Identifier: MIT */
/* physmap: page classification, /proc/iomem parsing, colours, the writers. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "physmap.h"
#include "unit.h"

#define F(bit) (UINT64_C(1) << (bit))

START_TEST(test_classify)
{
	ck_assert_int_eq(ms_physmap_classify(F(MS_KPF_BUDDY)), MS_PHYSMAP_FREE);
	/* first match wins: a free page with a stale flag is free */
	ck_assert_int_eq(ms_physmap_classify(F(MS_KPF_BUDDY) | F(MS_KPF_RESERVED)),
			 MS_PHYSMAP_FREE);
	ck_assert_int_eq(ms_physmap_classify(F(MS_KPF_NOPAGE)), MS_PHYSMAP_HOLE);
	ck_assert_int_eq(ms_physmap_classify(F(MS_KPF_RESERVED)), MS_PHYSMAP_RESERVED);
	ck_assert_int_eq(ms_physmap_classify(F(MS_KPF_PGTABLE)), MS_PHYSMAP_PGTABLE);
	ck_assert_int_eq(ms_physmap_classify(F(MS_KPF_SLAB)), MS_PHYSMAP_SLAB);
	ck_assert_int_eq(ms_physmap_classify(F(MS_KPF_HUGE) | F(15)), MS_PHYSMAP_HUGETLB);
	ck_assert_int_eq(ms_physmap_classify(F(MS_KPF_THP) | F(MS_KPF_ANON) | F(MS_KPF_LRU)),
			 MS_PHYSMAP_THP);
	ck_assert_int_eq(ms_physmap_classify(F(MS_KPF_ANON) | F(MS_KPF_LRU) | F(MS_KPF_MMAP)),
			 MS_PHYSMAP_ANON);
	ck_assert_int_eq(ms_physmap_classify(F(MS_KPF_LRU)), MS_PHYSMAP_CACHE);
	ck_assert_int_eq(ms_physmap_classify(F(MS_KPF_MMAP)), MS_PHYSMAP_CACHE);
	/* shmem: swap-backed, on the LRU, not anonymous */
	ck_assert_int_eq(ms_physmap_classify(F(MS_KPF_SWAPBACKED) | F(MS_KPF_LRU)),
			 MS_PHYSMAP_CACHE);
	ck_assert_int_eq(ms_physmap_classify(0), MS_PHYSMAP_OTHER);
	ck_assert_str_eq(ms_physmap_cat_name(MS_PHYSMAP_PGTABLE), "pagetable");
}
END_TEST

START_TEST(test_iomem)
{
	static const char iomem[] = "00000000-00000fff : Reserved\n"
				    "00001000-0009fbff : System RAM\n"
				    "000a0000-000bffff : PCI Bus 0000:00\n"
				    "00100000-bfffffff : System RAM\n"
				    "  01000000-01ffffff : Kernel code\n"
				    "  02000000-0220ffff : System RAM\n"
				    "c0000000-febfffff : PCI Bus 0000:00\n"
				    "100000000-63fffffff : System RAM\n";
	struct ms_physmap_range *r;
	size_t n;
	ck_assert_ptr_null(ms_physmap_parse_iomem(iomem, 4096, &r, &n));
	ck_assert_uint_eq(n, 3);
	/* 0x1000-0x9fbff: the last page is partial, so PFNs 1..0x9e */
	ck_assert_uint_eq(r[0].start, 1);
	ck_assert_uint_eq(r[0].end, 0x9f);
	ck_assert_uint_eq(r[1].start, 0x100);
	ck_assert_uint_eq(r[1].end, 0xc0000);
	ck_assert_uint_eq(r[2].start, 0x100000);
	ck_assert_uint_eq(r[2].end, 0x640000);
	free(r);
	/* what an unprivileged reader sees: addresses zeroed */
	ck_assert_ptr_null(
		ms_physmap_parse_iomem("00000000-00000000 : System RAM\n", 4096, &r, &n));
	ck_assert_uint_eq(n, 0);
	free(r);
}
END_TEST

START_TEST(test_colours)
{
	uint8_t rgb[3];
	ms_physmap_rgb(196, rgb);
	ck_assert(rgb[0] == 255 && rgb[1] == 0 && rgb[2] == 0);
	ms_physmap_rgb(15, rgb);
	ck_assert(rgb[0] == 255 && rgb[1] == 255 && rgb[2] == 255);
	ms_physmap_rgb(232, rgb);
	ck_assert(rgb[0] == 8 && rgb[1] == 8 && rgb[2] == 8);
	/* every category has its own colour, and free has two */
	unsigned seen[MS_PHYSMAP_NR_CATS + 1];
	for (int k = 0; k < MS_PHYSMAP_NR_CATS; k++)
		seen[k] = ms_physmap_colour((enum ms_physmap_cat)k, true);
	seen[MS_PHYSMAP_NR_CATS] = ms_physmap_colour(MS_PHYSMAP_FREE, false);
	for (int a = 0; a <= MS_PHYSMAP_NR_CATS; a++)
		for (int b = a + 1; b <= MS_PHYSMAP_NR_CATS; b++)
			ck_assert_uint_ne(seen[a], seen[b]);
}
END_TEST

/* A small hand-made map: a zone of 5 cells after a hole cell. */
static void make_map(struct ms_physmap *pm)
{
	memset(pm, 0, sizeof(*pm));
	pm->pages_per_cell = 4;
	pm->page_size = 4096;
	pm->start_pfn = 0;
	pm->end_pfn = 24;
	pm->nr_cells = 6;
	pm->counts = calloc(6, sizeof(*pm->counts));
	pm->counts[0][MS_PHYSMAP_HOLE] = 4;
	pm->counts[1][MS_PHYSMAP_FREE] = 4;
	pm->counts[2][MS_PHYSMAP_FREE] = 3;
	pm->counts[2][MS_PHYSMAP_ANON] = 1;
	pm->counts[3][MS_PHYSMAP_SLAB] = 2;
	pm->counts[3][MS_PHYSMAP_CACHE] = 2;
	pm->counts[4][MS_PHYSMAP_THP] = 4;
	pm->counts[5][MS_PHYSMAP_RESERVED] = 4;
	for (size_t c = 0; c < 6; c++)
		for (int k = 0; k < MS_PHYSMAP_NR_CATS; k++)
			pm->totals[k] += pm->counts[c][k];
	pm->nr_sections = 2;
	pm->sections = calloc(2, sizeof(*pm->sections));
	pm->sections[0] = (struct ms_physmap_section){
		.node = -1, .start_pfn = 0, .end_pfn = 4, .first_cell = 0, .nr_cells = 1};
	pm->sections[1] = (struct ms_physmap_section){.node = 0,
						      .zone = "Normal",
						      .start_pfn = 4,
						      .end_pfn = 24,
						      .first_cell = 1,
						      .nr_cells = 5};
}

START_TEST(test_cells_and_writers)
{
	struct ms_physmap pm;
	make_map(&pm);
	ck_assert_int_eq(ms_physmap_cell_main(&pm, 2), MS_PHYSMAP_FREE);
	ck_assert(!ms_physmap_cell_whole(&pm, 2));
	ck_assert(ms_physmap_cell_whole(&pm, 1));
	/* a tie goes to the earlier category: cache before slab */
	ck_assert_int_eq(ms_physmap_cell_main(&pm, 3), MS_PHYSMAP_CACHE);

	char svg[] = "/tmp/memscope-test-XXXXXX.svg", png[] = "/tmp/memscope-test-XXXXXX.png";
	int fd = mkstemps(svg, 4);
	close(fd);
	fd = mkstemps(png, 4);
	close(fd);
	ck_assert_ptr_null(ms_physmap_write_svg(&pm, svg, "a <test> & \"map\""));
	ck_assert_ptr_null(ms_physmap_write_png(&pm, png, "a test map"));
	char buf[64] = "";
	FILE *f = fopen(svg, "r");
	ck_assert_ptr_nonnull(fgets(buf, sizeof(buf), f));
	fclose(f);
	ck_assert_ptr_nonnull(strstr(buf, "<?xml"));
	f = fopen(png, "rb");
	ck_assert_uint_eq(fread(buf, 1, 8, f), 8);
	fclose(f);
	ck_assert(memcmp(buf, "\x89PNG\r\n\x1a\n", 8) == 0);
	unlink(svg);
	unlink(png);
	struct ms_error *err = ms_physmap_write_svg(&pm, "/nonexistent/dir/x.svg", "t");
	ck_assert_int_eq(err->code, MS_ERROR_OS);
	ms_error_destroy(err);
	ms_physmap_deinit(&pm);
}
END_TEST

static Suite *physmap_suite(void)
{
	Suite *s = suite_create("physmap");
	TCase *tc = tcase_create("core");
	tcase_add_test(tc, test_classify);
	tcase_add_test(tc, test_iomem);
	tcase_add_test(tc, test_colours);
	tcase_add_test(tc, test_cells_and_writers);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return unit_run(physmap_suite());
}
