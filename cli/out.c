/* SPDX-License-Identifier: MIT */
#include "out.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static char stdout_buffer[1 << 20];

void out_init(void)
{
	setvbuf(stdout, stdout_buffer, _IOFBF, sizeof(stdout_buffer));
}

bool out_colour(void)
{
	static int cached = -1;
	if (cached < 0) {
		const char *no = getenv("NO_COLOR");
		cached = isatty(STDOUT_FILENO) && !(no && *no);
	}
	return cached;
}

const char out_hex_pairs[512] = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
				"202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
				"404142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f"
				"606162636465666768696a6b6c6d6e6f707172737475767778797a7b7c7d7e7f"
				"808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"
				"a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf"
				"c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf"
				"e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfeff";

size_t out_hex_pad(char *buf, uint64_t v, int width)
{
	char tmp[16];
	size_t n = out_hex(tmp, v);
	size_t pad = width > 0 && (size_t)width > n ? (size_t)width - n : 0;
	memset(buf, '0', pad);
	memcpy(buf + pad, tmp, n);
	return pad + n;
}

const char *out_size(char *buf, uint64_t bytes)
{
	static const char *const units[] = {"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB"};
	if (bytes < 1024) {
		snprintf(buf, 32, "%" PRIu64 " B", bytes);
		return buf;
	}
	double v = (double)bytes;
	int u = 0;
	while (v >= 1024 && u < 6) {
		v /= 1024;
		u++;
	}
	snprintf(buf, 32, "%.1f %s", v, units[u]);
	return buf;
}

bool out_parse_size(const char *s, uint64_t *bytes_ret)
{
	if (!s || !*s)
		return false;
	char *end;
	errno = 0;
	double v;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		unsigned long long h = strtoull(s, &end, 16);
		v = (double)h;
		if (!errno && *end == '\0') {
			*bytes_ret = h;
			return true;
		}
	} else {
		v = strtod(s, &end);
	}
	if (errno || end == s || v < 0)
		return false;
	double mult = 1;
	switch (tolower((unsigned char)*end)) {
	case '\0':
		break;
	case 'k':
		mult = 1024.0;
		break;
	case 'm':
		mult = 1024.0 * 1024;
		break;
	case 'g':
		mult = 1024.0 * 1024 * 1024;
		break;
	case 't':
		mult = 1024.0 * 1024 * 1024 * 1024;
		break;
	default:
		return false;
	}
	if (*end) {
		end++;
		if (tolower((unsigned char)*end) == 'i')
			end++;
		if (tolower((unsigned char)*end) == 'b')
			end++;
		if (*end)
			return false;
	}
	double bytes = v * mult;
	if (bytes >= 18446744073709551616.0)
		return false;
	*bytes_ret = (uint64_t)llround(bytes);
	return true;
}

bool out_parse_addr(const char *s, uint64_t *addr_ret)
{
	if (!s || !*s)
		return false;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	if (!isxdigit((unsigned char)*s))
		return false;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 16);
	if (errno || *end)
		return false;
	*addr_ret = v;
	return true;
}

bool out_parse_count(const char *s, uint64_t *count_ret)
{
	if (!s || !*s || *s == '-')
		return false;
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 0);
	if (errno || *end)
		return false;
	*count_ret = v;
	return true;
}

/* ---- the fast text buffer ---- */

void out_buf_flush(struct out_buf *o)
{
	if (!o->len)
		return;
	fflush(stdout);
	const char *p = o->buf;
	size_t left = o->len;
	while (left && !o->error) {
		ssize_t n = write(STDOUT_FILENO, p, left);
		if (n < 0) {
			if (errno != EINTR)
				o->error = errno;
			continue;
		}
		p += n;
		left -= (size_t)n;
	}
	o->len = 0;
}

void out_buf_printf(struct out_buf *o, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	char *p = out_buf_reserve(o, 1024);
	int n = vsnprintf(p, sizeof(o->buf) - o->len, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(o->buf) - o->len) {
		/* longer than what is left (a very long path): go through stdio */
		out_buf_flush(o);
		va_start(ap, fmt);
		vfprintf(stdout, fmt, ap);
		va_end(ap);
		fflush(stdout);
		return;
	}
	o->len += (size_t)n;
}

void out_buf_puts(struct out_buf *o, const char *s)
{
	size_t n = strlen(s);
	if (n > sizeof(o->buf) / 2) {
		out_buf_flush(o);
		fputs(s, stdout);
		fflush(stdout);
		return;
	}
	memcpy(out_buf_reserve(o, n), s, n);
	o->len += n;
}

double out_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- JSON ---- */

void json_init(struct json *j, FILE *f)
{
	memset(j, 0, sizeof(*j));
	j->f = f;
	j->first[0] = true;
}

static void json_before_value(struct json *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (!j->first[j->depth])
		putc(',', j->f);
	j->first[j->depth] = false;
}

static void json_open(struct json *j, char c)
{
	json_before_value(j);
	putc(c, j->f);
	if (j->depth < 63)
		j->depth++;
	j->first[j->depth] = true;
}

static void json_close(struct json *j, char c)
{
	if (j->depth > 0)
		j->depth--;
	putc(c, j->f);
}

void json_begin_object(struct json *j)
{
	json_open(j, '{');
}
void json_end_object(struct json *j)
{
	json_close(j, '}');
}
void json_begin_array(struct json *j)
{
	json_open(j, '[');
}
void json_end_array(struct json *j)
{
	json_close(j, ']');
}

/* Length of a valid UTF-8 sequence at s (at most n bytes), 0 if invalid. */
static size_t utf8_valid_len(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t min;
	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0) {
		len = 2;
		min = 0x80;
	} else if ((s[0] & 0xf0) == 0xe0) {
		len = 3;
		min = 0x800;
	} else if ((s[0] & 0xf8) == 0xf0) {
		len = 4;
		min = 0x10000;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	uint32_t cp = s[0] & (0x7f >> len);
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

static void json_write_string(FILE *f, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	putc('"', f);
	for (size_t i = 0; i < n;) {
		unsigned char c = p[i];
		if (c == '"' || c == '\\') {
			putc('\\', f);
			putc(c, f);
			i++;
		} else if (c < 0x20 || c == 0x7f) {
			switch (c) {
			case '\n':
				fputs("\\n", f);
				break;
			case '\t':
				fputs("\\t", f);
				break;
			case '\r':
				fputs("\\r", f);
				break;
			default:
				fprintf(f, "\\u%04x", c);
			}
			i++;
		} else if (c < 0x80) {
			putc(c, f);
			i++;
		} else {
			size_t len = utf8_valid_len(p + i, n - i);
			if (len) {
				fwrite(p + i, 1, len, f);
				i += len;
			} else {
				fputs("\\ufffd", f);
				i++;
			}
		}
	}
	putc('"', f);
}

void json_key(struct json *j, const char *key)
{
	json_before_value(j);
	json_write_string(j->f, key, strlen(key));
	putc(':', j->f);
	j->after_key = true;
}

void json_string_len(struct json *j, const char *s, size_t len)
{
	json_before_value(j);
	json_write_string(j->f, s, len);
}

void json_string(struct json *j, const char *s)
{
	if (!s) {
		json_null(j);
		return;
	}
	json_string_len(j, s, strlen(s));
}

void json_u64(struct json *j, uint64_t v)
{
	json_before_value(j);
	fprintf(j->f, "%" PRIu64, v);
}

void json_i64(struct json *j, int64_t v)
{
	json_before_value(j);
	fprintf(j->f, "%" PRId64, v);
}

void json_double(struct json *j, double v)
{
	json_before_value(j);
	if (isfinite(v)) {
		/* the shortest of %.15g / %.17g that reads back exactly */
		char buf[32];
		snprintf(buf, sizeof(buf), "%.15g", v);
		if (strtod(buf, NULL) != v)
			snprintf(buf, sizeof(buf), "%.17g", v);
		fputs(buf, j->f);
	} else
		fputs("null", j->f);
}

void json_bool(struct json *j, bool v)
{
	json_before_value(j);
	fputs(v ? "true" : "false", j->f);
}

void json_null(struct json *j)
{
	json_before_value(j);
	fputs("null", j->f);
}

void json_hex(struct json *j, uint64_t v)
{
	json_before_value(j);
	fprintf(j->f, "\"0x%" PRIx64 "\"", v);
}

void json_finish(struct json *j)
{
	putc('\n', j->f);
	fflush(j->f);
}

void json_kv_string(struct json *j, const char *key, const char *s)
{
	json_key(j, key);
	json_string(j, s);
}

void json_kv_u64(struct json *j, const char *key, uint64_t v)
{
	json_key(j, key);
	json_u64(j, v);
}

void json_kv_i64(struct json *j, const char *key, int64_t v)
{
	json_key(j, key);
	json_i64(j, v);
}

void json_kv_double(struct json *j, const char *key, double v)
{
	json_key(j, key);
	json_double(j, v);
}

void json_kv_bool(struct json *j, const char *key, bool v)
{
	json_key(j, key);
	json_bool(j, v);
}

void json_kv_hex(struct json *j, const char *key, uint64_t v)
{
	json_key(j, key);
	json_hex(j, v);
}

void json_kv_null(struct json *j, const char *key)
{
	json_key(j, key);
	json_null(j);
}

/* ---- progress ---- */

void progress_start(struct progress *p, const char *label, uint64_t total, bool bytes)
{
	memset(p, 0, sizeof(*p));
	p->active = isatty(STDERR_FILENO) && !getenv("MEMSCOPE_NO_PROGRESS");
	p->label = label;
	p->total = total;
	p->bytes = bytes;
	p->start = out_now();
}

void progress_update(struct progress *p, uint64_t done)
{
	if (!p->active)
		return;
	double now = out_now();
	if (now - p->last_draw < 0.1 && done < p->total)
		return;
	p->last_draw = now;
	double frac = p->total ? (double)done / (double)p->total : 0;
	if (frac > 1)
		frac = 1;
	enum { WIDTH = 30 };
	char bar[WIDTH + 1];
	int fill = (int)(frac * WIDTH);
	for (int i = 0; i < WIDTH; i++)
		bar[i] = i < fill ? '=' : (i == fill ? '>' : ' ');
	bar[WIDTH] = '\0';
	double elapsed = now - p->start;
	double eta = frac > 0 ? elapsed / frac - elapsed : 0;
	char a[32], b[32];
	if (p->bytes)
		fprintf(stderr, "\r%s [%s] %3d%%  %s/%s  ETA %.0fs ", p->label, bar,
			(int)(frac * 100), out_size(a, done), out_size(b, p->total), eta);
	else
		fprintf(stderr, "\r%s [%s] %3d%%  %" PRIu64 "/%" PRIu64 "  ETA %.0fs ", p->label,
			bar, (int)(frac * 100), done, p->total, eta);
}

void progress_end(struct progress *p)
{
	if (!p->active)
		return;
	fputs("\r\033[K", stderr);
	p->active = false;
}
