/* SPDX-License-Identifier: MIT */
/*
 * crash's rd layout: "ADDRESS:  values...   ascii" lines of 16 bytes, in
 * 8/16/32/64-bit hex, signed or unsigned decimal, or symbols, and the -a
 * ASCII form. Shared by rd and by find's context lines. The caller reads the
 * memory; this only formats it, fast, into stdout's buffer.
 */
#ifndef MEMSCOPE_MEMDUMP_H
#define MEMSCOPE_MEMDUMP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct ms_symbols;

enum memdump_radix {
	MEMDUMP_HEX,
	MEMDUMP_SIGNED,	  /* -d */
	MEMDUMP_UNSIGNED, /* -D */
};

struct memdump {
	FILE *f;
	unsigned width; /* bytes per value: 1, 2, 4, 8 */
	enum memdump_radix radix;
	bool ascii;		 /* the ASCII column (hex without -s or -x) */
	bool net_endian;	 /* -N: 16- and 32-bit values in network byte order */
	struct ms_symbols *syms; /* -s: values that point into ELF files as symbols */
	/* the line being built */
	char line[512];
	size_t len;
	unsigned entries, per_line;
	size_t hex_len; /* bytes of hex/symbol text on the line (crash's linelen) */
	char chars[33];
	size_t nchars;
	bool any; /* something was printed */
	/* whole lines wait here and go out in large writes */
	char out[1 << 16];
	size_t olen;
};

void memdump_init(struct memdump *d, FILE *f, unsigned width, enum memdump_radix radix, bool ascii,
		  bool net_endian, struct ms_symbols *syms);
/* Format the values in buf (n bytes, a multiple of width) read at addr. */
void memdump_feed(struct memdump *d, uint64_t addr, const uint8_t *buf, size_t n);
/* End the last line (padding the ASCII column) if one is open. */
void memdump_finish(struct memdump *d);

/* rd -a: printable runs, 60 characters a line; the state of a dump in progress. */
struct memdump_ascii {
	FILE *f;
	bool unlimited; /* stop at the first character that is not printable */
	unsigned on_line;
	bool any;
	bool stopped;
};

void memdump_ascii_init(struct memdump_ascii *a, FILE *f, bool unlimited);
/* Returns false once a non-printable character ends an unlimited dump. */
bool memdump_ascii_feed(struct memdump_ascii *a, uint64_t addr, const uint8_t *buf, size_t n);
void memdump_ascii_finish(struct memdump_ascii *a);

/* The address as crash prints it at the start of a line: hex, right-justified in 16. */
size_t memdump_addr(char *buf, uint64_t addr);

#endif
