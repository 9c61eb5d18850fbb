/* SPDX-License-Identifier: MIT */
/*
 * The DWARF layer and the value printer on this test's own globals: values
 * written here, printed as gdb prints them; symbols, lines and demangling.
 */
#include <check.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

#include "dwarf.h"
#include "format_value.h"
#include "unwind.h"
#include "unit.h"

struct tpoint {
	int x, y;
};
enum tcolour { T_RED, T_GREEN = 5 };
enum tflags { TF_A = 1, TF_B = 2, TF_C = 4 };
struct tbits {
	unsigned a : 3;
	int b : 4;
	unsigned c : 9;
};
union tunion {
	int i;
	float f;
};

int t_int = -42;
unsigned char t_uc = 200;
char t_chars[8] = "hi";
char t_text[40] = "abcdefghijklmnopqrstuvwxyz";
int t_rep[15] = {1, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 3};
int t_ten[11] = {9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 3};
int t_big[250];
struct tpoint t_pts[2] = {{1, 2}, {3, 4}};
enum tcolour t_col = T_GREEN;
enum tcolour t_col_bad = (enum tcolour)7;
enum tflags t_fl = TF_A | TF_C;
double t_d = 0.1;
float t_f = 2.5f;
const char *t_str = "hey \"you\"\n";
const char *t_null;
int *t_ptr = &t_int;
int *t_ptr_mid = &t_rep[2];
struct tbits t_bits = {5, -3, 300};
union tunion t_u = {.f = 1.0f};
bool t_bool = true;
long double t_ld = 1.5L;
unsigned long long t_ull = 18446744073709551615ULL;
void (*t_fn)(void);

static struct ms_dwarf_session *session;

static struct ms_error *self_read(void *arg, uint64_t addr, void *buf, size_t len)
{
	(void)arg;
	/* our own memory, through the kernel: unmapped addresses fail cleanly */
	struct iovec local = {.iov_base = buf, .iov_len = len};
	struct iovec remote = {.iov_base = (void *)(uintptr_t)addr, .iov_len = len};
	if (process_vm_readv(getpid(), &local, 1, &remote, 1, 0) != (ssize_t)len)
		return ms_error_fault(addr, NULL);
	return NULL;
}

static void setup(void)
{
	struct ms_dwarf_memory mem = {.read = self_read};
	ck_assert_ptr_null(ms_dwarf_session_create_pid(getpid(), NULL, &mem, &session));
}

static void teardown(void)
{
	ms_dwarf_session_destroy(session);
}

/* The global printed as gdb's `print NAME` shows its value. */
static char *show(const char *name)
{
	struct ms_dwarf_variable var;
	uint64_t addr;
	ck_assert_msg(ms_dwarf_global_variable(session, name, &var, &addr), "no global %s", name);
	Dwarf_Attribute attr;
	Dwarf_Die type;
	ck_assert_ptr_nonnull(dwarf_formref_die(dwarf_attr_integrate(&var.die, 0x49, &attr),
						&type)); /* DW_AT_type */
	struct ms_dwarf_value *v = ms_dwarf_value_at(session, &type, addr);
	struct ms_strbuf out = {0};
	ms_format_value(v, NULL, &out);
	ms_dwarf_value_destroy(v);
	char *text = strdup(ms_strbuf_text(&out));
	ms_strbuf_deinit(&out);
	return text;
}

#define ck_show(name, want)                                                                        \
	do {                                                                                       \
		char *got_ = show(name);                                                           \
		ck_assert_str_eq(got_, want);                                                      \
		free(got_);                                                                        \
	} while (0)

START_TEST(test_scalars)
{
	ck_show("t_int", "-42");
	ck_show("t_uc", "200 '\\310'");
	ck_show("t_d", "0.10000000000000001");
	ck_show("t_f", "2.5");
	ck_show("t_ld", "1.5");
	ck_show("t_bool", "true");
	ck_show("t_ull", "18446744073709551615");
	ck_show("t_col", "T_GREEN");
	ck_show("t_col_bad", "7");
	ck_show("t_fl", "(TF_A | TF_C)");
}
END_TEST

START_TEST(test_aggregates)
{
	ck_show("t_chars", "\"hi\\000\\000\\000\\000\\000\"");
	ck_show("t_text", "\"abcdefghijklmnopqrstuvwxyz\", '\\000' <repeats 13 times>");
	ck_show("t_rep", "{1, 9 <repeats 13 times>, 3}");
	ck_show("t_ten", "{9, 9, 9, 9, 9, 9, 9, 9, 9, 9, 3}");
	ck_show("t_pts", "{{x = 1, y = 2}, {x = 3, y = 4}}");
	ck_show("t_bits", "{a = 5, b = -3, c = 300}");
	ck_show("t_u", "{i = 1065353216, f = 1}");
	char *big = show("t_big");
	ck_assert_str_eq(big, "{0 <repeats 250 times>}");
	free(big);
}
END_TEST

START_TEST(test_pointers)
{
	char want[256], want_sym[256];
	/* clang names string literals (.str, shown as <str>); gcc does not */
	snprintf(want, sizeof(want), "%p \"hey \\\"you\\\"\\n\"", (const void *)t_str);
	snprintf(want_sym, sizeof(want_sym), "%p <str> \"hey \\\"you\\\"\\n\"",
		 (const void *)t_str);
	char *got = show("t_str");
	ck_assert_msg(strcmp(got, want) == 0 || strcmp(got, want_sym) == 0, "%s", got);
	free(got);
	ck_show("t_null", "0x0");
	ck_show("t_fn", "0x0");
	snprintf(want, sizeof(want), "%p <t_int>", (void *)t_ptr);
	ck_show("t_ptr", want);
	snprintf(want, sizeof(want), "%p <t_rep+8>", (void *)t_ptr_mid);
	ck_show("t_ptr_mid", want);
}
END_TEST

START_TEST(test_symbols_and_lines)
{
	uint64_t off = 99;
	const char *sym = ms_dwarf_symbol_at(session, (uint64_t)(uintptr_t)&t_rep[3], &off);
	ck_assert_str_eq(sym, "t_rep");
	ck_assert_uint_eq(off, 12);
	ck_assert_ptr_null(ms_dwarf_symbol_at(session, 8, NULL));
	struct ms_dwarf_line line;
	ck_assert(ms_dwarf_line_at(session, (uint64_t)(uintptr_t)&setup, &line));
	ck_assert_msg(strstr(line.file, "test_dwarf.c") != NULL, "%s", line.file);
	ck_assert_int_gt(line.line, 0);
	struct ms_dwarf_module mod;
	ck_assert(ms_dwarf_module_at(session, (uint64_t)(uintptr_t)&setup, &mod));
	ck_assert(mod.has_dwarf && mod.has_symtab);
}
END_TEST

static int line_of_probe;
__attribute__((noinline)) static int probe(int x)
{
	line_of_probe = __LINE__ + 1;
	return x * 3;
}

START_TEST(test_line_addresses)
{
	ck_assert_int_eq(probe(1), 3);
	uint64_t addrs[8];
	size_t n = ms_dwarf_line_addresses(session, "test_dwarf.c", line_of_probe, addrs, 8);
	ck_assert_uint_ge(n, 1);
	/* the address is inside probe(), on its lines (optimized code may put
	 * the next line's row at the same address) */
	struct ms_dwarf_line line;
	ck_assert(ms_dwarf_line_at(session, addrs[0], &line));
	ck_assert_int_ge(line.line, line_of_probe);
	ck_assert_int_le(line.line, line_of_probe + 1);
	uint64_t off;
	/* (gcc may have made it probe.constprop.0) */
	ck_assert_int_eq(strncmp(ms_dwarf_symbol_at(session, addrs[0], &off), "probe", 5), 0);
	ck_assert_uint_eq(ms_dwarf_line_addresses(session, "no_such_file.c", 1, addrs, 8), 0);
}
END_TEST

START_TEST(test_demangle)
{
	const char *cases[][2] = {
		{"_ZN2ns6WorkerIiE3runEi", "ns::Worker<int>::run"},
		{"_ZN2ns3addIiLi3EEET_S1_", "ns::add<int, 3>"},
		{"_ZN3std2rt10lang_start17h0123456789abcdefE", "std::rt::lang_start"},
		{"_RNvCs1234_7mycrate3foo", "mycrate::foo"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *d = ms_dwarf_demangle(cases[i][0]);
		ck_assert_ptr_nonnull(d);
		ck_assert_str_eq(d, cases[i][1]);
		free(d);
	}
	ck_assert_ptr_null(ms_dwarf_demangle("main"));
}
END_TEST

START_TEST(test_format_buffer)
{
	struct ms_strbuf b = {0};
	ck_assert_str_eq(ms_strbuf_text(&b), "");
	for (int i = 0; i < 1000; i++)
		ms_strbuf_addf(&b, "%d,", i);
	ck_assert_uint_gt(b.len, 3000);
	ms_strbuf_reset(&b);
	ms_strbuf_add(&b, "x");
	ck_assert_str_eq(ms_strbuf_text(&b), "x");
	ms_strbuf_deinit(&b);
	struct ms_error fault = {.code = MS_ERROR_FAULT, .address = 0x10};
	ms_format_error(&fault, &b);
	ck_assert_str_eq(ms_strbuf_text(&b), "Cannot access memory at address 0x10");
	ms_strbuf_deinit(&b);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dwarf");
	TCase *tc = tcase_create("dwarf");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_scalars);
	tcase_add_test(tc, test_aggregates);
	tcase_add_test(tc, test_pointers);
	tcase_add_test(tc, test_symbols_and_lines);
	tcase_add_test(tc, test_demangle);
	tcase_add_test(tc, test_line_addresses);
	tcase_add_test(tc, test_format_buffer);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
