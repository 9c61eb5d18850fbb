/* SPDX-License-Identifier: MIT */
/*
 * Private to the DWARF layer (dwarf.c, dwarf_loc.c): the session's inside
 * and helpers the two halves share.
 */
#ifndef MEMSCOPE_DWARF_IMPL_H
#define MEMSCOPE_DWARF_IMPL_H

#include "dwarf.h"

struct ms_dwarf_string {
	struct ms_dwarf_string *next;
	const void *key;
	char text[];
};

struct ms_dwarf_symentry {
	uint64_t addr, size;
	const char *name;
	bool local_data; /* a file-local object (GCC names static locals "x.0") */
};

/* A module's ELF symbols sorted by address, then name (gdb's minimal symbols). */
struct ms_dwarf_symidx {
	Dwfl_Module *mod;
	struct ms_dwarf_symentry *e;
	size_t n;
	uint64_t (*sections)[2]; /* allocated sections: symbols only describe these */
	size_t nsections;
};

/* The scopes at one pc of one module, kept: every thread parked in the same
 * place asks for the same ones. */
struct ms_dwarf_scopes {
	struct ms_dwarf_scopes *next;
	Dwfl_Module *mod;
	Dwarf_Addr pc;
	Dwarf_Die *scopes;
	int n;
};

/* A shared object as the dynamic linker lists it (r_debug's link_map). */
struct ms_dwarf_linkname {
	uint64_t ld; /* l_ld: its dynamic section, inside its mapping */
	char *name;  /* l_name: the path gdb prints ("/lib/x86_64-linux-gnu/libc.so.6") */
};

/* The call site returning to one address, kept (found or not). */
struct ms_dwarf_site {
	struct ms_dwarf_site *next;
	uint64_t ret_pc;
	bool found;
	Dwfl_Module *mod;
	Dwarf_Addr bias;
	Dwarf_Die site;
};

/* A unit's line table as gdb builds it (dwarf_line.c). */
struct ms_dwarf_linetable;
enum { MS_DWARF_LINETABLE_SLOTS = 256 };

struct ms_dwarf_session {
	Dwfl *dwfl;
	pid_t pid; /* live processes; 0 for cores */
	bool linknames_read;
	uint64_t vdso; /* AT_SYSINFO_EHDR */
	struct ms_dwarf_linkname *linknames;
	size_t nlinknames;
	Dwfl_Callbacks callbacks;
	char *debuginfo_path;
	struct ms_dwarf_memory mem;
	int core_fd;
	Elf *core_elf;
	/* interned strings (demangled names, file names), keyed by their source */
	struct ms_dwarf_string *strings[512];
	struct ms_dwarf_symidx *symidx;
	size_t nsymidx;
	struct ms_dwarf_scopes *scopes[1024];
	struct ms_dwarf_site *sites[1024];
	struct ms_dwarf_linetable *linetables[MS_DWARF_LINETABLE_SLOTS];
};

/* A string owned by the session, looked up by key (any stable pointer). */
const char *ms_dwarf_intern(struct ms_dwarf_session *s, const void *key, const char *text);
const char *ms_dwarf_interned(struct ms_dwarf_session *s, const void *key);

/* An error from libdw/libdwfl, naming the call that failed. */
struct ms_error *ms_dwarf_error(const char *call);

/* C++, Rust or D: names are qualified and demangled. */
bool ms_dwarf_lang_is_cplus(int lang);

/* The function's name as gdb prints it (C: linkage name, C++/Rust: demangled). */
const char *ms_dwarf_die_function_name(struct ms_dwarf_session *s, Dwarf_Die *die, int lang);

/*
 * The scopes holding pc (module-relative), innermost first, following the
 * concrete DIE tree (an inlined call's caller comes after it). The session
 * owns the array.
 */
int ms_dwarf_physical_scopes(struct ms_dwarf_session *s, Dwfl_Module *mod, Dwarf_Die *cudie,
			     Dwarf_Addr pc, Dwarf_Die **scopes_ret);

/* The compilation unit holding addr (dwfl_module_addrdie, or each unit asked). */
Dwarf_Die *ms_dwarf_cu_at(struct ms_dwarf_session *s, Dwfl_Module *mod, Dwarf_Addr addr,
			  Dwarf_Addr *bias);
/* The DW_TAG_call_site whose return address is ret_pc (absolute), with its module. */
bool ms_dwarf_call_site_at(struct ms_dwarf_session *s, uint64_t ret_pc, Dwfl_Module **mod_ret,
			   Dwarf_Addr *bias_ret, Dwarf_Die *site_ret);
/* Whether one of the ELF symbols at addr is called name. */
bool ms_dwarf_symbol_named_at(struct ms_dwarf_session *s, uint64_t addr, const char *name);

/*
 * The line-table row gdb finds for pc (module-relative) in the unit cu: the
 * file (libdw's path), the line, where the row starts and whether it is a
 * statement. False when the unit has no line for pc.
 */
bool ms_dwarf_line_lookup(struct ms_dwarf_session *s, Dwfl_Module *mod, Dwarf_Die *cu,
			  Dwarf_Addr pc, const char **path_ret, int *line_ret,
			  Dwarf_Addr *start_ret, bool *is_stmt_ret);
void ms_dwarf_linetables_destroy(struct ms_dwarf_session *s);

/*
 * libdwfl's standard debug-info search, then the decompressed copy kept by
 * build-id (dwarf_cache.c), written on first use. MEMSCOPE_CACHE_DIR names
 * the directory ("off": no cache); default $XDG_CACHE_HOME/memscope/debug.
 */
int ms_dwarf_find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
			    const char *file_name, const char *debuglink_file,
			    GElf_Word debuglink_crc, char **debuginfo_file_name);
/* Write the copies found missing during the session. */
void ms_dwarf_cache_flush(void);

#endif
