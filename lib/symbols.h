/* SPDX-License-Identifier: MIT */
/*
 * ELF symbols of a target for memory views (rd -s, find, info): address ->
 * "symbol+offset" with the file it is in, and "FILE:NAME+OFF" -> address.
 * A thin layer over the DWARF layer's session (dwarf.h), which reports the
 * target's modules, finds their symbol tables (a separate debug file by
 * build-id counts) and chooses the symbol; this module adds the names
 * as the mappings give them and the spellings the commands accept.
 */
#ifndef MEMSCOPE_SYMBOLS_H
#define MEMSCOPE_SYMBOLS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

struct ms_target;
struct ms_symbols;

struct ms_symbol {
	const char *name;   /* as the symbol table spells it; owned by the ms_symbols object */
	uint64_t address;   /* where the symbol is in the target (load bias applied) */
	uint64_t size;	    /* st_size, 0 if unknown */
	uint64_t offset;    /* for address lookups: the looked-up address - address */
	const char *file;   /* the file as the mappings name it, "[vdso]" for the vdso */
	uint64_t bias;	    /* the file's load bias in the target */
	unsigned char type; /* STT_FUNC, STT_OBJECT, ... */
	unsigned char bind; /* STB_GLOBAL, STB_WEAK, STB_LOCAL */
};

/*
 * A symbol table for target, filled lazily: a module's file is opened and
 * its symbols read the first time an address or a name needs them. Never
 * faults a page in, never stops the target. A target whose modules cannot
 * be reported still gets an object, which finds nothing. The target must
 * outlive the object, and its mappings must not be refreshed meanwhile.
 */
struct ms_error *ms_symbols_create(struct ms_target *target, struct ms_symbols **syms_ret);
void ms_symbols_destroy(struct ms_symbols *syms);

/*
 * The symbol at or before addr in the ELF file mapped at addr (or in the
 * .bss that follows such a mapping), as MS_DWARF_SYMBOL_NEAREST chooses it.
 * False when addr is in no ELF file or before its first symbol; files that
 * cannot be read count as having no symbols.
 */
bool ms_symbols_lookup_addr(struct ms_symbols *syms, uint64_t addr, struct ms_symbol *sym_ret);

/*
 * A symbol by name, "NAME", "FILE:NAME" (FILE is a path or a file name such as
 * libc.so.6) or either followed by "+OFFSET" (decimal or 0x hex). The main
 * executable is searched first, then the other files in address order;
 * sym_ret->address includes the offset. MS_ERROR_NOT_FOUND if none matches.
 */
struct ms_error *ms_symbols_lookup_name(struct ms_symbols *syms, const char *spec,
					struct ms_symbol *sym_ret);

/* "name" or "name+offset" (decimal, as crash and gdb print it) into buf. */
size_t ms_symbol_format(const struct ms_symbol *sym, char *buf, size_t len);

#endif
