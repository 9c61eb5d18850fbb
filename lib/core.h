/* SPDX-License-Identifier: MIT */
/*
 * ELF core files. The reader (ms_core_*) parses the ELF header, the program
 * headers and the notes of an x86-64 Linux core (NT_PRSTATUS, NT_PRPSINFO,
 * NT_SIGINFO, NT_AUXV, NT_FILE, NT_FPREGSET, NT_X86_XSTATE), trusting no
 * offset, size or count in the file, and reads the bytes the core holds; it
 * reads no segment data when opening, so opening a large core is cheap.
 * Making a core a target (mappings joined with NT_FILE, reads that fall back
 * to the mapped files on disk, which page comes from where) is the core
 * backend's (target_core.c), whose extra functions are declared at the end.
 * Writing cores is gcore's business.
 */
#ifndef MEMSCOPE_CORE_H
#define MEMSCOPE_CORE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#include "error.h"
#include "target.h"

struct ms_core;

/* Note types (include/uapi/linux/elf.h); the name says which namespace. */
enum ms_core_note_type {
	MS_NT_PRSTATUS = 1,	    /* "CORE" */
	MS_NT_FPREGSET = 2,	    /* "CORE" */
	MS_NT_PRPSINFO = 3,	    /* "CORE" */
	MS_NT_AUXV = 6,		    /* "CORE" */
	MS_NT_SIGINFO = 0x53494749, /* "CORE" */
	MS_NT_FILE = 0x46494c45,    /* "CORE" */
	MS_NT_X86_XSTATE = 0x202,   /* "LINUX" */
	MS_NT_GNU_BUILD_ID = 3,	    /* "GNU", in ELF files */
};

/* Notes are read whole at open; more than this is refused as implausible. */
enum { MS_CORE_MAX_NOTES = 1 << 28 };

/* A PT_LOAD segment: memory [vaddr, vaddr + memsz), of which the first filesz
 * bytes are in the core at offset. */
struct ms_core_segment {
	uint64_t vaddr, memsz;
	uint64_t offset, filesz;
	uint32_t flags; /* PF_R | PF_W | PF_X */
	unsigned index; /* position among the program headers */
};

/* A note, as found in the file; desc points into the reader's copy. */
struct ms_core_note {
	uint32_t type;
	const char *name; /* NUL-terminated, "" when namesz is 0 */
	const void *desc; /* descsz bytes */
	size_t descsz;
	uint64_t offset; /* file offset of the note header */
};

/* An NT_FILE entry: [start, end) maps path from byte offset. */
struct ms_core_file {
	uint64_t start, end;
	uint64_t offset;
	char *path;   /* " (deleted)" stripped */
	bool deleted; /* the kernel marked the file as unlinked */
};

/* NT_PRPSINFO. */
struct ms_core_process {
	bool valid; /* the core had an NT_PRPSINFO note */
	pid_t pid, ppid, pgrp, sid;
	uint32_t uid, gid;
	char state;    /* pr_sname: 'R', 'S', 'D', 'T', 'Z', ... */
	char comm[17]; /* pr_fname */
	char args[81]; /* pr_psargs: the command line, arguments separated by spaces */
};

enum ms_core_open_flags {
	/* Read only the header and program headers: no notes (for callers
	 * that want segments only, e.g. a checksum of what was written). */
	MS_CORE_HEADERS_ONLY = 1 << 0,
};

/*
 * Open and check a core file: ELF64 little-endian x86-64 ET_CORE, program
 * headers in the file, PT_LOAD segments within the file and not
 * overlapping, notes well formed, at least one thread. Errors are
 * MS_ERROR_FORMAT with one line naming the file and the problem.
 */
struct ms_error *ms_core_open(const char *path, unsigned flags, struct ms_core **core_ret);
void ms_core_destroy(struct ms_core *core);

const char *ms_core_path(const struct ms_core *core);
uint64_t ms_core_size(const struct ms_core *core);
/* When the core was written (its modification time). */
struct timespec ms_core_mtime(const struct ms_core *core);

/* PT_LOAD segments of non-zero size, sorted by address. */
const struct ms_core_segment *ms_core_segments(const struct ms_core *core, size_t *count_ret);
/* The segment containing addr, or NULL. */
const struct ms_core_segment *ms_core_segment_find(const struct ms_core *core, uint64_t addr);
/* The first segment ending above addr (containing it or after it), or NULL. */
const struct ms_core_segment *ms_core_segment_next(const struct ms_core *core, uint64_t addr);

/* Every note, in file order. */
const struct ms_core_note *ms_core_notes(const struct ms_core *core, size_t *count_ret);
/* Threads in note order (the first is the one that received the signal, in
 * kernel cores). xstate points into the core's memory: do not free. */
const struct ms_thread *ms_core_threads(const struct ms_core *core, size_t *count_ret);
/* A copy of the threads for ms_target_threads(): the caller destroys it. */
struct ms_error *ms_core_thread_list(const struct ms_core *core, struct ms_thread_list **list_ret);
const struct ms_core_process *ms_core_process(const struct ms_core *core);
/* NT_AUXV bytes (pairs of 64-bit words), or NULL. */
const void *ms_core_auxv(const struct ms_core *core, size_t *size_ret);
/* The value of auxv entry type, if present. */
bool ms_core_auxv_get(const struct ms_core *core, uint64_t type, uint64_t *value_ret);
/* NT_FILE entries sorted by start; the page size it recorded (1 in gdb's). */
const struct ms_core_file *ms_core_files(const struct ms_core *core, size_t *count_ret);
/* The NT_FILE entry containing addr, or NULL. */
const struct ms_core_file *ms_core_file_find(const struct ms_core *core, uint64_t addr);
/* The first NT_FILE entry ending above addr (containing it or after it), or NULL. */
const struct ms_core_file *ms_core_file_next(const struct ms_core *core, uint64_t addr);

/* Read len bytes of the core file itself at offset; short files are errors. */
struct ms_error *ms_core_pread(struct ms_core *core, void *buf, size_t len, uint64_t offset);
/*
 * Read process memory, only what the core holds: a fault (with the address)
 * where a segment's bytes are not in the file, MS_ERROR_NOT_MAPPED where no
 * segment is. *done_ret gets the bytes read before the fault.
 */
struct ms_error *ms_core_read(struct ms_core *core, uint64_t addr, void *buf, size_t len,
			      size_t *done_ret);
/*
 * Whether the core file has data at offset or a hole (a page the kernel
 * skipped: never populated, or the zero page; it reads as zeros). *end_ret
 * gets where that run ends, at most limit.
 */
struct ms_error *ms_core_hole_at(struct ms_core *core, uint64_t offset, uint64_t limit,
				 bool *hole_ret, uint64_t *end_ret);

/* Parse the GNU build-id out of ELF notes (desc of PT_NOTE); false if none. */
bool ms_core_find_build_id(const void *notes, size_t size, uint64_t align, const void **id_ret,
			   size_t *len_ret);

/*
 * "11 (SIGSEGV)"; with full, also how it was sent: ", SEGV_MAPERR at 0x10" or
 * ", SI_USER from pid 913 uid 0". Returns buf.
 */
const char *ms_core_describe_signal(const siginfo_t *si, bool full, char *buf, size_t size);

/* ---- a core file as a target (target_core.c) ---- */

enum ms_core_target_flags {
	/* Never open the mapped files named by NT_FILE (fuzzing, tests). */
	MS_CORE_NO_FILES = 1 << 0,
};

struct ms_error *ms_target_open_core_flags(const char *core_path, const char *exe_path,
					   unsigned flags, struct ms_target **target_ret);

/* The core behind a target, or NULL for a live process. */
struct ms_core *ms_target_core(struct ms_target *target);

enum ms_core_source {
	MS_CORE_SRC_CORE,     /* in the core file at offset */
	MS_CORE_SRC_FILE,     /* not in the core; read from path at offset */
	MS_CORE_SRC_NONE,     /* in neither: not in the core file */
	MS_CORE_SRC_UNMAPPED, /* no mapping */
};

/* Where the bytes of [start, end) come from: one kind, one source. */
struct ms_core_extent {
	uint64_t start, end;
	enum ms_core_source source;
	bool hole;	  /* SRC_CORE: a hole in the core file, reads as zeros */
	uint64_t offset;  /* SRC_CORE: core offset of start; SRC_FILE: file offset */
	const char *path; /* SRC_FILE, and SRC_NONE of a file mapping */
	const char *why;  /* SRC_NONE of a file mapping: why the file is not used */
};

/*
 * Where the byte at addr comes from, and how far that stays true. Walk a
 * range with: for (a = start; a < end; a = ext.end) ms_target_core_extent(..).
 */
struct ms_error *ms_target_core_extent(struct ms_target *target, uint64_t addr,
				       struct ms_core_extent *extent_ret);

/*
 * Warnings found when the core was opened, one line each: mapped files that
 * differ from the ones the process had, are missing, or changed since.
 */
const char *const *ms_target_core_cautions(struct ms_target *target, size_t *count_ret);
/*
 * Whether the executable on disk (or -e EXE) has another build-id than the
 * one the core holds: then its symbols and debug info would lie.
 */
bool ms_target_core_exe_mismatch(const struct ms_target *target);

#endif
