/* SPDX-License-Identifier: MIT */
/*
 * Values as gdb prints them: integers, chars (97 'a'), floats with the
 * shortest round-trip precision of their format, pointers with the symbol
 * they point to (<sym+off>) and the string behind char pointers, arrays
 * with runs folded (<repeats N times>) and cut at 200 elements, structs and
 * unions nested, enums by name (flag enums as (A | B)), bitfields,
 * <optimized out> and <error: Cannot access memory at address 0x...>, and
 * C++ standard-library objects as libstdc++'s printers show them in gdb
 * (format_cxx.c).
 * The values come from dwarf.h; this module only formats them, into a
 * growing string buffer.
 */
#ifndef MEMSCOPE_FORMAT_VALUE_H
#define MEMSCOPE_FORMAT_VALUE_H

#include <stdbool.h>
#include <stddef.h>

#include "dwarf.h"

struct ms_strbuf {
	char *s;
	size_t len, cap;
	bool failed; /* an allocation failed: s holds what fitted */
};

void ms_strbuf_add(struct ms_strbuf *b, const char *text);
void ms_strbuf_addn(struct ms_strbuf *b, const char *text, size_t n);
void ms_strbuf_addf(struct ms_strbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void ms_strbuf_reset(struct ms_strbuf *b);
void ms_strbuf_deinit(struct ms_strbuf *b);
/* The text so far ("" when empty). */
const char *ms_strbuf_text(const struct ms_strbuf *b);

struct ms_format_options {
	int repeat_threshold; /* runs longer than this fold (gdb: 10) */
	int print_max;	      /* elements and characters printed at most (gdb: 200) */
	bool summary;	      /* frame arguments: aggregates print as "..." */
};

/* gdb's defaults. */
extern const struct ms_format_options ms_format_defaults;

/* Append the value as gdb prints it. */
void ms_format_value(struct ms_dwarf_value *value, const struct ms_format_options *opts,
		     struct ms_strbuf *out);
/* The message gdb gives for an error ("Cannot access memory at address 0x10"). */
void ms_format_error(const struct ms_error *err, struct ms_strbuf *out);

#endif
