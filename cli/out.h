/* SPDX-License-Identifier: MIT */
/*
 * Output for people and for scripts. Text goes to stdout through a large
 * buffer (commands that print a line per page must not pay a syscall per
 * line); JSON is written as a stream of events, so a document of millions
 * of entries is never held in memory. Progress bars go to stderr and only
 * when stderr is a terminal. Errors are printed by the dispatcher, not here.
 */
#ifndef MEMSCOPE_OUT_H
#define MEMSCOPE_OUT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

/* Set up stdout buffering once at start-up. */
void out_init(void);
/* Whether colour escapes may be written to stdout (a tty, NO_COLOR unset). */
bool out_colour(void);

/* "000102...ff": the two hex digits of every byte value, for writing hex in place. */
extern const char out_hex_pairs[512];

/*
 * Append the lower-case hex digits of v, no prefix, no padding; returns the
 * length. Two digits at a time: vm -p writes two numbers a page with it.
 */
static inline size_t out_hex(char *buf, uint64_t v)
{
	size_t n = v ? (size_t)(64 - __builtin_clzll(v) + 3) / 4 : 1;
	size_t i = n;
	while (i >= 2) {
		i -= 2;
		memcpy(buf + i, out_hex_pairs + 2 * (v & 0xff), 2);
		v >>= 8;
	}
	if (i)
		buf[0] = out_hex_pairs[2 * (v & 0xf) + 1];
	return n;
}
/* The same, left-padded with zeros to at least width digits. */
size_t out_hex_pad(char *buf, uint64_t v, int width);
/* Human-readable size: "4.0 KiB", "1.5 GiB"; buf holds at least 32 bytes. */
const char *out_size(char *buf, uint64_t bytes);
/* Parse "4096", "0x1000", "4k", "2M", "1G", "1.5G"; false on junk. */
bool out_parse_size(const char *s, uint64_t *bytes_ret);
/* Parse an address or number: hex with or without 0x, decimal with a "0d" prefix
 * is not needed; crash treats bare numbers as hex for addresses. */
bool out_parse_addr(const char *s, uint64_t *addr_ret);
/* Parse a decimal count (accepts 0x for hex). */
bool out_parse_count(const char *s, uint64_t *count_ret);

/*
 * A fast text buffer in front of stdout, for commands that print a line per
 * page. It is written straight to the file descriptor (after anything stdio
 * holds), so the text is copied once. Lines are written into it in place
 * (out_buf_reserve, then len += what was written) or with the calls below.
 */
struct out_buf {
	char buf[1 << 20];
	size_t len;
	int error; /* errno of a failed write */
};

void out_buf_flush(struct out_buf *o);
/* Room for n more bytes at the returned position (flushing first if need be). */
static inline char *out_buf_reserve(struct out_buf *o, size_t n)
{
	if (o->len + n > sizeof(o->buf))
		out_buf_flush(o);
	return o->buf + o->len;
}
void out_buf_printf(struct out_buf *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void out_buf_puts(struct out_buf *o, const char *s);

/*
 * Streaming JSON writer. Keys and values are written in order; commas and
 * nesting are tracked here. Strings are escaped (control characters, quotes,
 * invalid UTF-8 replaced by \ufffd).
 */
struct json {
	FILE *f;
	int depth;
	bool first[64]; /* no element written yet at this depth */
	bool after_key; /* a key was written; the next value belongs to it */
};

void json_init(struct json *j, FILE *f);
void json_begin_object(struct json *j);
void json_end_object(struct json *j);
void json_begin_array(struct json *j);
void json_end_array(struct json *j);
void json_key(struct json *j, const char *key);
void json_string(struct json *j, const char *s);
void json_string_len(struct json *j, const char *s, size_t len);
void json_u64(struct json *j, uint64_t v);
void json_i64(struct json *j, int64_t v);
void json_double(struct json *j, double v);
void json_bool(struct json *j, bool v);
void json_null(struct json *j);
/* An address as a "0x..." string: JSON numbers lose precision past 2^53. */
void json_hex(struct json *j, uint64_t v);
/* Finish the document with a newline. */
void json_finish(struct json *j);

/* key + value shorthands */
void json_kv_string(struct json *j, const char *key, const char *s);
void json_kv_u64(struct json *j, const char *key, uint64_t v);
void json_kv_i64(struct json *j, const char *key, int64_t v);
void json_kv_double(struct json *j, const char *key, double v);
void json_kv_bool(struct json *j, const char *key, bool v);
void json_kv_hex(struct json *j, const char *key, uint64_t v);
void json_kv_null(struct json *j, const char *key);

/*
 * Progress on stderr: "label [=====>     ]  42%  1.2 GiB/2.0 GiB  ETA 3s".
 * Silent unless stderr is a terminal; redraws at most ten times a second.
 */
struct progress {
	bool active;
	const char *label;
	uint64_t total;
	bool bytes; /* units are bytes (print sizes) rather than items */
	double start;
	double last_draw;
};

void progress_start(struct progress *p, const char *label, uint64_t total, bool bytes);
void progress_update(struct progress *p, uint64_t done);
void progress_end(struct progress *p);

/* Monotonic seconds. */
double out_now(void);

#endif
