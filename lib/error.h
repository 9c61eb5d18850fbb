/* SPDX-License-Identifier: MIT */
/*
 * Errors of libmemscope. A function that can fail returns a struct ms_error *,
 * NULL meaning success; the caller owns a returned error and frees it with
 * ms_error_destroy(). The library never prints: turning an error into a line
 * on stderr and an exit status is the front end's job.
 */
#ifndef MEMSCOPE_ERROR_H
#define MEMSCOPE_ERROR_H

#include <stdarg.h>
#include <stdint.h>

enum ms_error_code {
	MS_ERROR_OTHER,
	MS_ERROR_NO_MEMORY,
	MS_ERROR_OS,	      /* a system call failed: errnum and path are set */
	MS_ERROR_FAULT,	      /* target memory could not be read: address is set */
	MS_ERROR_NOT_MAPPED,  /* address lies in no mapping: address is set */
	MS_ERROR_INVALID,     /* bad argument or value from the user */
	MS_ERROR_NOT_FOUND,   /* no such process, thread, symbol, file */
	MS_ERROR_PERMISSION,  /* needs privileges the caller lacks */
	MS_ERROR_FORMAT,      /* malformed input file (core, ELF, /proc text) */
	MS_ERROR_DWARF,	      /* libdw/libdwfl/libelf reported an error */
	MS_ERROR_UNSUPPORTED, /* the kernel or target lacks a needed feature */
	MS_ERROR_INTERRUPTED, /* stopped by a signal (Ctrl-C, SIGTERM) */
	MS_ERROR_EXITED,      /* the target process went away mid-way */
};

struct ms_error {
	enum ms_error_code code;
	int errnum;	  /* errno for MS_ERROR_OS, else 0 */
	uint64_t address; /* for MS_ERROR_FAULT and MS_ERROR_NOT_MAPPED */
	char *message;	  /* one line, no trailing newline */
};

/* Returned when allocating an error would itself fail; never freed. */
extern struct ms_error ms_error_no_memory;

struct ms_error *ms_error_create(enum ms_error_code code, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
struct ms_error *ms_error_vcreate(enum ms_error_code code, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* "<what>: <strerror(errnum)>"; what usually names the path or call. */
struct ms_error *ms_error_errno(int errnum, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* "could not read memory at 0x<address>" plus an optional reason. */
struct ms_error *ms_error_fault(uint64_t address, const char *reason);
/* Prefix an error's message with context ("vm: ..."); returns err. */
struct ms_error *ms_error_prefix(struct ms_error *err, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void ms_error_destroy(struct ms_error *err);

#endif
