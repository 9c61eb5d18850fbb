/* SPDX-License-Identifier: MIT */
/*
 * The DWARF layer: what the program's debug information says about an
 * address. A session (over a live process or a core file) knows the loaded
 * modules and finds their debug info as libdwfl does (build-id under the
 * debug directories, .gnu_debuglink, debuginfod when DEBUGINFOD_URLS is
 * set); it answers symbols, source lines, the inline chain at a pc, the
 * parameters and locals of a frame, their types, and their values through
 * a location-expression evaluator (registers, CFA, pieces, entry values).
 * Walking the stack is unwind.h's job; printing values is format_value.h's.
 *
 * Reading memory is the caller's: a session is handed a reader (a frozen
 * copy of the stacks, a core file, a live process), and falls back to the
 * modules' ELF files for read-only file contents a core does not hold.
 * Everything here is x86-64 (DWARF registers 0-16).
 */
#ifndef MEMSCOPE_DWARF_H
#define MEMSCOPE_DWARF_H

#include <elfutils/libdw.h>
#include <elfutils/libdwfl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

struct ms_dwarf_session;

/* Where target memory comes from. read fills all of buf or fails. */
struct ms_dwarf_memory {
	struct ms_error *(*read)(void *arg, uint64_t addr, void *buf, size_t len);
	void *arg;
};

struct ms_dwarf_options {
	/* Colon-separated debug directories searched by build-id and
	 * .gnu_debuglink, before the default /usr/lib/debug. NULL: default. */
	const char *debug_dirs;
	/*
	 * Only ELF symbols will be asked for: a separate debug file is looked
	 * for by build-id in the debug directories only (no .gnu_debuglink,
	 * no debuginfod, no decompressed copy), which keeps a one-shot lookup
	 * cheap.
	 */
	bool symbols_only;
};

struct ms_target;

/*
 * A session over a target's modules. A live process's are its mappings (the
 * target's, read once): their files are opened as the process maps them,
 * and the vdso is read without faulting pages in. A core file's are what
 * libdwfl's core reporting finds (NT_FILE, build-ids, the executable). mem
 * NULL: the target's own reads, which never fault pages in. The target must
 * outlive the session and keep its mappings meanwhile.
 */
struct ms_error *ms_dwarf_session_create(struct ms_target *target,
					 const struct ms_dwarf_options *opts,
					 const struct ms_dwarf_memory *mem,
					 struct ms_dwarf_session **session_ret);
/* The same over a live process of its own (opened now). */
struct ms_error *ms_dwarf_session_create_pid(pid_t pid, const struct ms_dwarf_options *opts,
					     const struct ms_dwarf_memory *mem,
					     struct ms_dwarf_session **session_ret);
void ms_dwarf_session_destroy(struct ms_dwarf_session *session);

Dwfl *ms_dwarf_session_dwfl(struct ms_dwarf_session *session);

/*
 * Read target memory: the session's reader, then, for addresses it cannot
 * give, the file contents of the module mapped there. A failure is
 * MS_ERROR_FAULT naming the first address that could not be read.
 */
struct ms_error *ms_dwarf_read(struct ms_dwarf_session *session, uint64_t addr, void *buf,
			       size_t len);

/* ---- modules and symbols ---- */

struct ms_dwarf_module {
	Dwfl_Module *mod;
	const char *name;	/* as reported: the mapped file's path */
	const char *display;	/* as the dynamic linker names it, else its file */
	const char *solib;	/* a shared library (the link map's name, gdb's "from"),
				   NULL for the executable, the vDSO or if unknown */
	uint64_t start, end;	/* address range */
	bool has_dwarf;		/* debug info found */
	bool has_symtab;	/* at least an ELF symbol table */
	const char *debug_file; /* where the debug info came from, or NULL */
};

/* The module mapped at addr; false if none. */
bool ms_dwarf_module_at(struct ms_dwarf_session *session, uint64_t addr,
			struct ms_dwarf_module *module_ret);

/* An ELF symbol as its module's symbol table has it (gdb's minimal symbol). */
struct ms_dwarf_symbol {
	const char *name;	  /* as the table spells it; lives as long as the session */
	uint64_t address, size;	  /* in the target (load bias applied) */
	unsigned char type, bind; /* STT_*, STB_* */
	Dwfl_Module *mod;
};

/*
 * Which symbol an address is in. COVERING is gdb's, for code: addr inside
 * one of its module's sections, the nearest symbol at or below it whose
 * size covers it, else the nearest one without a size. NEAREST is a memory
 * dump's "name+offset" (crash's rd -s): the nearest symbol at or below addr
 * in the same section (outside every section, one whose size covers it),
 * and of aliases the public name of a function or an object.
 */
enum ms_dwarf_symbol_match {
	MS_DWARF_SYMBOL_COVERING,
	MS_DWARF_SYMBOL_NEAREST,
};

/* The ELF symbol addr is in, chosen as match says. False if none. */
bool ms_dwarf_symbol_lookup(struct ms_dwarf_session *session, uint64_t addr,
			    enum ms_dwarf_symbol_match match, struct ms_dwarf_symbol *sym_ret);
/*
 * The symbol called name in mod, or with mod NULL in the first module that
 * has one; of several, a global function or object first. False if none.
 */
bool ms_dwarf_symbol_by_name(struct ms_dwarf_session *session, Dwfl_Module *mod, const char *name,
			     struct ms_dwarf_symbol *sym_ret);

/*
 * The symbol at addr (MS_DWARF_SYMBOL_COVERING) named as gdb prints it:
 * demangled with its parameters (C++ and Rust), GCC's ".N" of static
 * locals dropped; with the offset of addr from it. NULL if none. The
 * string lives as long as the session.
 */
const char *ms_dwarf_symbol_at(struct ms_dwarf_session *session, uint64_t addr,
			       uint64_t *offset_ret);
/*
 * An address named as gdb's "<name+offset>" after a pointer value (info
 * registers): the function addr is in, as its frame would be named (the
 * DWARF subprogram, not an inlined call in it; the offset from where its
 * code starts), unless an ELF symbol starts at addr and the function does
 * not; then, or without debug info, the ELF symbol covering addr as
 * ms_dwarf_symbol_at names it, a zero-sized one only if it is a function.
 * NULL if none. The string lives as long as the session.
 */
const char *ms_dwarf_address_name(struct ms_dwarf_session *session, uint64_t addr,
				  uint64_t *offset_ret);
/*
 * Demangle a C++ or Rust linkage name without parameters ("ns::f<int>"), as
 * gdb names functions; caller frees; NULL if the name is not mangled.
 */
char *ms_dwarf_demangle(const char *name);

/*
 * Frames a chain of tail calls left out between a frame (its pc, and
 * whether the pc is exact) and its caller (the return address): the pcs of
 * the jumps, innermost first, at most max, as gdb's tail-call frames. 0
 * when the caller called this frame's function directly or the path is not
 * known.
 */
size_t ms_dwarf_tailcalls(struct ms_dwarf_session *session, uint64_t callee_pc, bool activation,
			  uint64_t caller_pc, uint64_t *pcs, size_t max);

/*
 * Source position of addr: the line-table row holding it, chosen as gdb
 * chooses it (over the rows gdb keeps of the unit's line program).
 */
struct ms_dwarf_line {
	const char *file; /* as gdb names it: relative to the compilation directory */
	int line;
	uint64_t row_addr; /* where that row starts */
	bool is_stmt;	   /* the row is a statement */
};
bool ms_dwarf_line_at(struct ms_dwarf_session *session, uint64_t addr,
		      struct ms_dwarf_line *line_ret);

/*
 * Where source line `line` of `file` starts, for `break FILE:LINE`: the
 * addresses of the statement rows for that line (one per inlined or
 * duplicated copy), in every module. file matches a path's trailing
 * components ("btfix.c", "fixtures/btfix.c"). Fills at most max, returns
 * how many there are.
 */
size_t ms_dwarf_line_addresses(struct ms_dwarf_session *session, const char *file, int line,
			       uint64_t *addrs, size_t max);

/* ---- registers and frames ---- */

enum {
	MS_DWARF_NREGS = 17, /* x86-64 DWARF registers rax..r15, rip */
	MS_DWARF_REG_RBP = 6,
	MS_DWARF_REG_RSP = 7,
	MS_DWARF_REG_RIP = 16,
};

/* Register values of one physical frame; valid has bit N for register N. */
struct ms_dwarf_regs {
	uint64_t val[MS_DWARF_NREGS];
	uint32_t valid;
	/* xmm0-15 (DWARF 17-32): caller-saved, so every frame sees the innermost values */
	bool has_xmm;
	uint8_t xmm[16][16];
};

/*
 * One frame as a debugger shows it: a function, or an inlined call inside
 * one (several logical frames share one physical frame, innermost first).
 * The frames of a thread form an array, innermost first; entry values are
 * found through the physical caller. The caller sets caller (and outer for
 * the outermost logical frame of a physical frame) before asking for values.
 */
struct ms_dwarf_frame {
	struct ms_dwarf_session *session;
	uint64_t pc;	 /* the physical frame's pc */
	bool activation; /* pc is exact (innermost or signal frame), else a return address */
	struct ms_dwarf_regs regs;
	int physical; /* index of the physical frame, 0 = innermost */

	Dwfl_Module *mod;
	Dwarf_Addr bias;
	bool has_scope;	    /* debug info describes this function */
	Dwarf_Die scope;    /* DW_TAG_subprogram or DW_TAG_inlined_subroutine */
	Dwarf_Die function; /* the physical frame's subprogram (frame base) */
	Dwarf_Die cu;
	bool inlined;	    /* scope is an inlined call */
	bool inline_callee; /* a frame inlined into this one is the next inner frame */
	Dwarf_Die *blocks;  /* lexical blocks inside scope that hold the pc, innermost first */
	int nblocks;
	int lang; /* DW_LANG_* of the CU, 0 if none */

	const char *name; /* as gdb prints it, or NULL (??) */
	bool has_line;
	struct ms_dwarf_line line;

	struct ms_dwarf_frame *caller; /* the next outer physical frame, or NULL */
	struct ms_dwarf_frame *outer;  /* the next outer logical frame, or NULL */
	/* private: */
	bool cfa_done, has_cfa;
	uint64_t cfa;
};

/*
 * The logical frames at one physical frame: fills frames (capacity max,
 * innermost first) and says how many. Line numbers, names and inline call
 * sites are resolved as gdb resolves them.
 */
struct ms_error *ms_dwarf_frames_at(struct ms_dwarf_session *session, uint64_t pc, bool activation,
				    const struct ms_dwarf_regs *regs, int physical,
				    struct ms_dwarf_frame *frames, size_t max, size_t *count_ret);
/* Free what ms_dwarf_frames_at allocated in one frame. */
void ms_dwarf_frame_deinit(struct ms_dwarf_frame *frame);
/* Whether gdb would print the pc before the function name. */
bool ms_dwarf_frame_show_address(const struct ms_dwarf_frame *frame);

/* The canonical frame address (the caller's sp before the call), from CFI. */
struct ms_error *ms_dwarf_frame_cfa(struct ms_dwarf_frame *frame, uint64_t *cfa_ret);

/* ---- variables ---- */

struct ms_dwarf_variable {
	Dwarf_Die die; /* the concrete DIE (holds the location) */
	const char *name;
	bool is_param;
};

struct ms_dwarf_variables {
	struct ms_dwarf_variable *vars;
	size_t count;
};

enum ms_dwarf_var_kind {
	MS_DWARF_PARAMS = 1,
	MS_DWARF_LOCALS = 2,
};

/*
 * The frame's parameters, or its locals in the order gdb prints them (the
 * innermost block first). Caller frees vars.
 */
struct ms_error *ms_dwarf_frame_variables(struct ms_dwarf_frame *frame, enum ms_dwarf_var_kind kind,
					  struct ms_dwarf_variables *vars_ret);

/*
 * A global (or file-static) variable by name, searched in every module's
 * debug info: its DIE and address. For `print NAME` without a frame.
 */
bool ms_dwarf_global_variable(struct ms_dwarf_session *session, const char *name,
			      struct ms_dwarf_variable *var_ret, uint64_t *addr_ret);

/* ---- types and values ---- */

/* The variable's type named as C declares it; caller frees. */
char *ms_dwarf_variable_type_name(struct ms_dwarf_variable *var);

/* Strip typedefs and qualifiers; false if die has no type (void). */
bool ms_dwarf_type_strip(Dwarf_Die *type, Dwarf_Die *ret);
/* The type named as C declares it ("const char *", "struct rec", "int [16]"). */
char *ms_dwarf_type_name(Dwarf_Die *type);
/* Size in bytes; false if unknown. */
bool ms_dwarf_type_size(Dwarf_Die *type, uint64_t *size_ret);

enum ms_dwarf_value_state {
	MS_DWARF_VALUE_OK,
	MS_DWARF_VALUE_OPTIMIZED_OUT, /* no location here */
	MS_DWARF_VALUE_ERROR,	      /* reading failed: error says why */
};

/*
 * A value: its type, its bytes (target order), which bytes are known, and
 * whether it lives in memory (then address is set). Values read from
 * memory are read whole when created.
 */
struct ms_dwarf_value {
	struct ms_dwarf_session *session;
	bool has_type;
	Dwarf_Die type;
	enum ms_dwarf_value_state state;
	struct ms_error *error;
	uint64_t size;
	uint8_t *bytes;
	uint8_t *known;	    /* per byte: 1 known, 0 optimized out; NULL: all known */
	uint8_t *synthetic; /* per byte: an implicit pointer; NULL: none */
	bool in_memory;
	uint64_t address;
	int lang;
	/* An implicit pointer (DW_OP_implicit_pointer) points at this variable,
	 * read in frame (valid as long as the frame is). */
	bool has_implicit_target;
	Dwarf_Die implicit_target;
	struct ms_dwarf_frame *frame;
};

struct ms_dwarf_value *ms_dwarf_value_create(struct ms_dwarf_session *session, Dwarf_Die *type);
void ms_dwarf_value_destroy(struct ms_dwarf_value *value);
/* A value of type read from memory at address (errors become the value's state). */
struct ms_dwarf_value *ms_dwarf_value_at(struct ms_dwarf_session *session, Dwarf_Die *type,
					 uint64_t address);

/* The variable's value in frame (never NULL; errors are in its state). */
struct ms_dwarf_value *ms_dwarf_variable_value(struct ms_dwarf_frame *frame,
					       struct ms_dwarf_variable *var);
/*
 * A parameter's value at function entry, through the caller's call-site
 * information (DW_AT_call_value), as gdb's `x@entry`. NULL when there is
 * none (no call site, not a register or stack parameter); *error_ret gets
 * an error worth showing when one was found but could not be evaluated.
 */
struct ms_dwarf_value *ms_dwarf_entry_value(struct ms_dwarf_frame *frame,
					    struct ms_dwarf_variable *var,
					    struct ms_error **error_ret);

#endif
