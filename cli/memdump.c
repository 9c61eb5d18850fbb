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

size_t memdump_addr(char *buf, uint64_t addr)
{
	char hex[16];
	size_t n = out_hex(hex, addr);
	size_t pad = n < 16 ? 16 - n : 0;
	memset(buf, ' ', pad);
	memcpy(buf + pad, hex, n);
	return pad + n;
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
	fwrite(d->line, 1, d->len, d->f);
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
		n = out_hex_pad(p, v, (int)d->width * 2);
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

void memdump_feed(struct memdump *d, uint64_t addr, const uint8_t *buf, size_t n)
{
	for (size_t i = 0; i + d->width <= n; i += d->width, addr += d->width) {
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
