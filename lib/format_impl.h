/* SPDX-License-Identifier: MIT */
/*
 * Private to the value printer (format_value.c) and its printers for C++
 * standard-library types (format_cxx.c): the state of one print and the
 * entry points the printers call back into.
 */
#ifndef MEMSCOPE_FORMAT_IMPL_H
#define MEMSCOPE_FORMAT_IMPL_H

#include "format_value.h"

struct fmt {
	struct ms_dwarf_session *session;
	struct ms_dwarf_value *value; /* the value being printed */
	const struct ms_format_options *o;
	struct ms_strbuf *out;
	int lang;
};

/* A slice of a value being printed. */
struct slice {
	const uint8_t *bytes;
	const uint8_t *known; /* NULL: all known */
	const uint8_t *synthetic;
	uint64_t size;
	bool in_memory;
	uint64_t address;
};

/* Print a slice of type (format_value.c's recursion). */
void ms_format_slice(struct fmt *f, Dwarf_Die *type, struct slice *s, int depth);
/* Characters as gdb prints a string of known length (more: "..." after). */
void ms_format_chars(struct fmt *f, const uint8_t *s, size_t len, bool more);

/*
 * gdb's pretty-printers for the C++ standard library (libstdc++'s, which gdb
 * loads with it): strings, vectors, maps and sets, unique_ptr and shared_ptr.
 * ms_format_cxx_applies says whether type (stripped) has one;
 * ms_format_cxx prints the slice with it (false: the object could not be
 * read as the printer expects, print it raw).
 */
bool ms_format_cxx_applies(Dwarf_Die *type);
bool ms_format_cxx(struct fmt *f, Dwarf_Die *type, struct slice *s, int depth);

#endif
