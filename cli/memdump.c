/* SPDX-License-Identifier: MIT */
#include "memdump.h"

#include <arpa/inet.h>
#include <inttypes.h>
#include <string.h>

#include "../lib/symbols.h"
#include "out.h"

/* Where the ASCII column starts, as crash computes it (16-digit addresses). */
static size_t ascii_start(unsigned width)
{
	switch (width) {
	case 1:
		return 51 + 16;
	case 2:
		return 43 + 16;
	case 4:
		return 39 + 16;
	default:
		return 37 + 16;
	}
}

/* width bytes of v as 2*width hex digits */
static inline void put_hex(char *p, uint64_t v, unsigned width)
{
	for (unsigned i = width; i-- > 0; p += 2)
		memcpy(p, &out_hex_pairs[((v >> (i * 8)) & 0xff) * 2], 2);
}

size_t memdump_addr(char *buf, uint64_t addr)
{
	unsigned digits = addr ? (unsigned)(64 - __builtin_clzll(addr) + 3) / 4 : 1;
	char tmp[16];
	put_hex(tmp, addr, 8);
	memset(buf, ' ', 16 - digits);
	memcpy(buf + 16 - digits, tmp + 16 - digits, digits);
	return 16;
}

static void flush_out(struct memdump *d)
{
	if (d->olen)
		fwrite(d->out, 1, d->olen, d->f);
	d->olen = 0;
}

void memdump_init(struct memdump *d, FILE *f, unsigned width, enum memdump_radix radix, bool ascii,
		  bool net_endian, struct ms_symbols *syms)
{
	memset(d, 0, sizeof(*d));
	d->f = f;
	d->width = width;
	d->radix = radix;
	d->ascii = ascii && radix == MEMDUMP_HEX && !syms;
	d->net_endian = net_endian;
	d->syms = width == 8 && radix == MEMDUMP_HEX ? syms : NULL;
	d->per_line = 16 / width;
}

static void end_line(struct memdump *d)
{
	if (d->ascii && d->nchars) {
		size_t col = ascii_start(d->width);
		while (d->hex_len < col && d->len < sizeof(d->line) - 40) {
			d->line[d->len++] = ' ';
			d->hex_len++;
		}
		d->line[d->len++] = ' ';
		d->line[d->len++] = ' ';
		memcpy(d->line + d->len, d->chars, d->nchars);
		d->len += d->nchars;
	}
	d->line[d->len++] = '\n';
	if (d->olen + d->len > sizeof(d->out))
		flush_out(d);
	memcpy(d->out + d->olen, d->line, d->len);
	d->olen += d->len;
	d->len = 0;
	d->entries = 0;
	d->nchars = 0;
	d->hex_len = 0;
}

static void put_value(struct memdump *d, uint64_t v)
{
	char *p = d->line + d->len;
	size_t n;
	if (d->syms) {
		struct ms_symbol sym;
		if (ms_symbols_lookup_addr(d->syms, v, &sym)) {
			char name[256];
			size_t k = ms_symbol_format(&sym, name, sizeof(name));
			if (k > sizeof(d->line) - d->len - 64)
				k = sizeof(d->line) - d->len - 64;
			memcpy(p, name, k);
			n = k;
			while (n < 16)
				p[n++] = ' ';
			p[n++] = ' ';
			d->len += n;
			d->hex_len += k + 1;
			return;
		}
	}
	switch (d->radix) {
	case MEMDUMP_HEX:
		put_hex(p, v, d->width);
		n = d->width * 2;
		p[n++] = ' ';
		d->hex_len += n;
		break;
	case MEMDUMP_SIGNED: {
		int64_t s = d->width == 1   ? (int8_t)v
			    : d->width == 2 ? (int16_t)v
			    : d->width == 4 ? (int32_t)v
					    : (int64_t)v;
		static const int w[] = {0, 3, 5, 0, 12, 0, 0, 0, 15};
		n = (size_t)snprintf(p, 32, "%*" PRId64 " ", w[d->width], s);
		break;
	}
	default: {
		static const int w[] = {0, 3, 5, 0, 12, 0, 0, 0, 20};
		n = (size_t)snprintf(p, 32, "%*" PRIu64 " ", w[d->width], v);
	}
	}
	d->len += n;
}

/* A whole line of plain hex with its ASCII column, straight into the output. */
static void fast_line(struct memdump *d, uint64_t addr, const uint8_t *buf)
{
	if (d->olen + 128 > sizeof(d->out))
		flush_out(d);
	char *p = d->out + d->olen;
	p += memdump_addr(p, addr);
	memcpy(p, ":  ", 3);
	p += 3;
	for (unsigned k = 0; k < d->per_line; k++) {
		uint64_t v = 0;
		memcpy(&v, buf + k * d->width, d->width);
		put_hex(p, v, d->width);
		p += d->width * 2;
		*p++ = ' ';
	}
	if (d->ascii) {
		*p++ = ' ';
		*p++ = ' ';
		for (unsigned k = 0; k < 16; k++) {
			uint8_t c = buf[k];
			*p++ = c >= 0x20 && c < 0x7f ? (char)c : '.';
		}
	}
	*p++ = '\n';
	d->olen = (size_t)(p - d->out);
	d->any = true;
}

void memdump_feed(struct memdump *d, uint64_t addr, const uint8_t *buf, size_t n)
{
	size_t i = 0;
	if (d->radix == MEMDUMP_HEX && !d->syms && !d->net_endian) {
		if (d->entries == 0)
			for (; i + 16 <= n; i += 16, addr += 16)
				fast_line(d, addr, buf + i);
	}
	for (; i + d->width <= n; i += d->width, addr += d->width) {
		if (d->entries == 0) {
			d->len = memdump_addr(d->line, addr);
			d->line[d->len++] = ':';
			d->line[d->len++] = ' ';
			d->line[d->len++] = ' ';
			d->hex_len = d->len;
		}
		uint64_t v = 0;
		memcpy(&v, buf + i, d->width);
		if (d->net_endian && d->width == 2)
			v = htons((uint16_t)v);
		else if (d->net_endian && d->width == 4)
			v = htonl((uint32_t)v);
		put_value(d, v);
		if (d->ascii) {
			for (unsigned k = 0; k < d->width; k++) {
				uint8_t c = buf[i + k];
				d->chars[d->nchars++] = c >= 0x20 && c < 0x7f ? (char)c : '.';
			}
		}
		d->any = true;
		if (++d->entries == d->per_line)
			end_line(d);
	}
}

void memdump_finish(struct memdump *d)
{
	if (d->entries)
		end_line(d);
	flush_out(d);
}

void memdump_ascii_init(struct memdump_ascii *a, FILE *f, bool unlimited)
{
	memset(a, 0, sizeof(*a));
	a->f = f;
	a->unlimited = unlimited;
}

bool memdump_ascii_feed(struct memdump_ascii *a, uint64_t addr, const uint8_t *buf, size_t n)
{
	for (size_t i = 0; i < n; i++, addr++) {
		uint8_t c = buf[i];
		if (c < 0x20 || c >= 0x7f) {
			if (a->unlimited) {
				a->stopped = true;
				return false;
			}
			a->on_line = 0;
			continue;
		}
		if (a->on_line % 60 == 0) {
			char head[24];
			if (a->any)
				putc('\n', a->f);
			size_t k = memdump_addr(head, addr);
			fwrite(head, 1, k, a->f);
			fputs(":  ", a->f);
			a->on_line = 0;
		}
		putc(c, a->f);
		a->on_line++;
		a->any = true;
	}
	return true;
}

void memdump_ascii_finish(struct memdump_ascii *a)
{
	if (a->any)
		putc('\n', a->f);
}
