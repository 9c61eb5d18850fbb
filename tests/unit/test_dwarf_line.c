/* SPDX-License-Identifier: MIT */
/*
 * The line tables dwarf_line.c builds, unit by unit, against gdb's own
 * (`maint info line-table`) for libc's debug info: every table, every row,
 * every is-stmt flag. Built with dwarf_line.c itself, to see its tables.
 */
#include <check.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../lib/dwarf_line.c"
#include "unit.h"

struct tables {
	char **t;
	size_t n, cap;
};

static void add_table(struct tables *ts, char *text)
{
	if (ts->n == ts->cap) {
		ts->cap = ts->cap ? ts->cap * 2 : 1024;
		ts->t = realloc(ts->t, ts->cap * sizeof(*ts->t));
		ck_assert_ptr_nonnull(ts->t);
	}
	ts->t[ts->n++] = text;
}

static int cmp_text(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One table as text: "LINE ADDR STMT" rows, END for line 0. */
static void append(char **buf, size_t *len, size_t *cap, const char *row)
{
	size_t n = strlen(row);
	if (*len + n + 1 > *cap) {
		*cap = (*len + n + 1) * 2;
		*buf = realloc(*buf, *cap);
		ck_assert_ptr_nonnull(*buf);
	}
	memcpy(*buf + *len, row, n + 1);
	*len += n;
}

static void ours(const char *path, struct tables *ts)
{
	int fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	Dwarf *dw = dwarf_begin(fd, DWARF_C_READ);
	ck_assert_ptr_nonnull(dw);
	Dwarf_Off off = 0, next;
	size_t hsize;
	while (dwarf_nextcu(dw, off, &next, &hsize, NULL, NULL, NULL) == 0) {
		Dwarf_Die cu;
		if (dwarf_offdie(dw, off + hsize, &cu)) {
			struct ms_dwarf_linetable t = {0};
			build(&t, &cu);
			for (size_t i = 0; i < t.nsubs; i++) {
				char *buf = NULL, row[64];
				size_t len = 0, cap = 0;
				for (size_t k = 0; k < t.subs[i].n; k++) {
					struct row *r = &t.subs[i].rows[k];
					if (r->line)
						snprintf(row, sizeof(row), "%d 0x%lx %s\n", r->line,
							 (unsigned long)r->addr,
							 r->is_stmt ? "Y" : "");
					else
						snprintf(row, sizeof(row), "END 0x%lx Y\n",
							 (unsigned long)r->addr);
					append(&buf, &len, &cap, row);
				}
				if (buf)
					add_table(ts, buf);
				free(t.subs[i].rows);
			}
			free(t.subs);
		}
		off = next;
	}
	dwarf_end(dw);
	close(fd);
}

static void gdbs(const char *path, struct tables *ts)
{
	char cmd[4096];
	snprintf(cmd, sizeof(cmd),
		 "gdb -nx -batch -ex 'maint expand-symtabs' -ex 'maint info line-table' '%s' "
		 "2>/dev/null",
		 path);
	FILE *p = popen(cmd, "r");
	ck_assert_ptr_nonnull(p);
	char line[512], *buf = NULL;
	size_t len = 0, cap = 0;
	bool in_table = false;
	while (fgets(line, sizeof(line), p)) {
		unsigned idx;
		char lineno[32], addr[32], stmt[8] = "";
		if (strncmp(line, "linetable:", 10) == 0 || strncmp(line, "objfile:", 8) == 0 ||
		    strncmp(line, "symtab:", 7) == 0 ||
		    strncmp(line, "compunit_symtab:", 16) == 0) {
			if (buf)
				add_table(ts, buf);
			buf = NULL;
			len = cap = 0;
			in_table = strncmp(line, "linetable:", 10) == 0;
			continue;
		}
		int n = sscanf(line, "%u %31s %31s %7s", &idx, lineno, addr, stmt);
		if (!in_table || n < 3 || strncmp(addr, "0x", 2) != 0)
			continue;
		char row[96];
		bool end = strcmp(lineno, "END") == 0;
		snprintf(row, sizeof(row), "%s 0x%lx %s\n", lineno, strtoul(addr, NULL, 16),
			 end || (n == 4 && strcmp(stmt, "Y") == 0) ? "Y" : "");
		append(&buf, &len, &cap, row);
	}
	if (buf)
		add_table(ts, buf);
	pclose(p);
}

START_TEST(test_libc_tables_are_gdbs)
{
	const char *debug = getenv("MS_TEST_LIBC_DEBUG");
	char path[512];
	if (!debug) {
		/* libc6-dbg: /usr/lib/debug/.build-id/xx/yyy.debug */
		FILE *p = popen("readelf -n /lib/x86_64-linux-gnu/libc.so.6 2>/dev/null | "
				"sed -n 's/.*Build ID: //p'",
				"r");
		char id[128] = "";
		if (p && fgets(id, sizeof(id), p))
			id[strcspn(id, "\n")] = '\0';
		if (p)
			pclose(p);
		snprintf(path, sizeof(path), "/usr/lib/debug/.build-id/%.2s/%s.debug", id,
			 id[0] ? id + 2 : "");
		debug = path;
	}
	if (access(debug, R_OK) != 0 || system("gdb --version >/dev/null 2>&1") != 0) {
		fprintf(stderr, "skipped: no libc debug info or no gdb\n");
		return;
	}
	struct tables mine = {0}, theirs = {0};
	ours(debug, &mine);
	gdbs(debug, &theirs);
	ck_assert_uint_gt(theirs.n, 100);
	qsort(mine.t, mine.n, sizeof(*mine.t), cmp_text);
	qsort(theirs.t, theirs.n, sizeof(*theirs.t), cmp_text);
	size_t differ = 0;
	for (size_t i = 0, k = 0; i < mine.n || k < theirs.n;) {
		int c = i == mine.n ? 1 : k == theirs.n ? -1 : strcmp(mine.t[i], theirs.t[k]);
		if (c == 0) {
			i++, k++;
			continue;
		}
		if (differ++ < 2)
			fprintf(stderr, "%s table differs:\n%.400s\n", c < 0 ? "our" : "gdb's",
				c < 0 ? mine.t[i] : theirs.t[k]);
		if (c < 0)
			i++;
		else
			k++;
	}
	ck_assert_uint_eq(differ, 0);
	ck_assert_uint_eq(mine.n, theirs.n);
	for (size_t i = 0; i < mine.n; i++)
		free(mine.t[i]);
	for (size_t i = 0; i < theirs.n; i++)
		free(theirs.t[i]);
	free(mine.t);
	free(theirs.t);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("dwarf_line");
	TCase *tc = tcase_create("gdb");
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_libc_tables_are_gdbs);
	suite_add_tcase(s, tc);
	return unit_run(s);
}
