/* SPDX-License-Identifier: MIT */
/* symbols: names and addresses in our own process, checked against the linker's view. */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <unistd.h>

#include "symbols.h"
#include "target.h"
#include "unit.h"

/* in .bss and .data of this executable */
uint64_t unit_bss_array[32];
uint64_t unit_data_value = 42;

__attribute__((noinline)) int unit_function(int x)
{
	return x * 3;
}

static struct ms_target *self;
static struct ms_symbols *syms;

static void setup(void)
{
	ck_assert_ptr_null(ms_target_open_pid(getpid(), &self));
	ck_assert_ptr_null(ms_symbols_create(self, &syms));
}

static void teardown(void)
{
	ms_symbols_destroy(syms);
	ms_target_destroy(self);
}

START_TEST(test_name_to_address)
{
	struct ms_symbol sym;
	ck_assert_ptr_null(ms_symbols_lookup_name(syms, "unit_function", &sym));
	ck_assert_uint_eq(sym.address, (uintptr_t)&unit_function);
	ck_assert_str_eq(sym.name, "unit_function");
	ck_assert_ptr_null(ms_symbols_lookup_name(syms, "unit_data_value+4", &sym));
	ck_assert_uint_eq(sym.address, (uintptr_t)&unit_data_value + 4);
	ck_assert_ptr_null(ms_symbols_lookup_name(syms, "unit_bss_array+0x10", &sym));
	ck_assert_uint_eq(sym.address, (uintptr_t)&unit_bss_array[2]);
	/* a shared library, by file name and by its short name */
	ck_assert_ptr_null(ms_symbols_lookup_name(syms, "libc.so.6:getpid", &sym));
	ck_assert_uint_eq(sym.address, (uintptr_t)&getpid);
	ck_assert_ptr_null(ms_symbols_lookup_name(syms, "libc:getpid", &sym));
	ck_assert_uint_eq(sym.address, (uintptr_t)&getpid);
	struct ms_error *err = ms_symbols_lookup_name(syms, "no_such_symbol_anywhere", &sym);
	ck_assert_ptr_nonnull(err);
	ck_assert_int_eq(err->code, MS_ERROR_NOT_FOUND);
	ms_error_destroy(err);
}
END_TEST

START_TEST(test_address_to_name)
{
	struct ms_symbol sym;
	ck_assert(ms_symbols_lookup_addr(syms, (uintptr_t)&unit_function + 5, &sym));
	ck_assert_str_eq(sym.name, "unit_function");
	ck_assert_uint_eq(sym.offset, 5);
	char buf[64];
	ms_symbol_format(&sym, buf, sizeof(buf));
	ck_assert_str_eq(buf, "unit_function+5");
	ck_assert(ms_symbols_lookup_addr(syms, (uintptr_t)&unit_bss_array[7], &sym));
	ck_assert_str_eq(sym.name, "unit_bss_array");
	ck_assert_uint_eq(sym.offset, 56);
	ck_assert(ms_symbols_lookup_addr(syms, (uintptr_t)&unit_data_value, &sym));
	ck_assert_str_eq(sym.name, "unit_data_value");
	ck_assert_uint_eq(sym.offset, 0);
	ms_symbol_format(&sym, buf, sizeof(buf));
	ck_assert_str_eq(buf, "unit_data_value");
	ck_assert(ms_symbols_lookup_addr(syms, (uintptr_t)&getpid, &sym));
	ck_assert_uint_eq(sym.offset, 0);
	ck_assert_ptr_nonnull(strstr(sym.file, "libc"));
	/* heap memory is in no ELF file */
	void *heap = malloc(16);
	ck_assert(!ms_symbols_lookup_addr(syms, (uintptr_t)heap, &sym));
	free(heap);
}
END_TEST

START_TEST(test_vdso)
{
	uintptr_t base = getauxval(AT_SYSINFO_EHDR);
	if (!base)
		return;
	struct ms_symbol sym;
	ck_assert_ptr_null(ms_symbols_lookup_name(syms, "[vdso]:__vdso_clock_gettime", &sym));
	ck_assert_uint_gt(sym.address, base);
	ck_assert_uint_lt(sym.address, base + 0x10000);
	ck_assert(ms_symbols_lookup_addr(syms, sym.address + 1, &sym));
	ck_assert_uint_eq(sym.offset, 1);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("symbols");
	TCase *tc = tcase_create("core");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_name_to_address);
	tcase_add_test(tc, test_address_to_name);
	tcase_add_test(tc, test_vdso);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
