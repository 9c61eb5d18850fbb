/* SPDX-License-Identifier: MIT */
#include "format_impl.h"

#include <dwarf.h>
#include <float.h>
#include <inttypes.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const struct ms_format_options ms_format_defaults = {
	.repeat_threshold = 10,
	.print_max = 200,
	.summary = false,
};

enum { MAX_DEPTH = 24 };

/* ---- string buffer ---- */

void ms_strbuf_addn(struct ms_strbuf *b, const char *text, size_t n)
{
	if (b->failed)
		return;
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 64;
		while (cap < b->len + n + 1)
			cap *= 2;
		char *s = realloc(b->s, cap);
		if (!s) {
			b->failed = true;
			return;
		}
		b->s = s;
		b->cap = cap;
	}
	memcpy(b->s + b->len, text, n);
	b->len += n;
	b->s[b->len] = '\0';
}

void ms_strbuf_add(struct ms_strbuf *b, const char *text)
{
	ms_strbuf_addn(b, text, strlen(text));
}

void ms_strbuf_addf(struct ms_strbuf *b, const char *fmt, ...)
{
	char small[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		ms_strbuf_addn(b, small, (size_t)n);
		return;
	}
	char *big = malloc((size_t)n + 1);
	if (!big) {
		b->failed = true;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(big, (size_t)n + 1, fmt, ap);
	va_end(ap);
	ms_strbuf_addn(b, big, (size_t)n);
	free(big);
}

void ms_strbuf_reset(struct ms_strbuf *b)
{
	b->len = 0;
	b->failed = false;
	if (b->s)
		b->s[0] = '\0';
}

void ms_strbuf_deinit(struct ms_strbuf *b)
{
	free(b->s);
	memset(b, 0, sizeof(*b));
}

const char *ms_strbuf_text(const struct ms_strbuf *b)
{
	return b->s ? b->s : "";
}

void ms_format_error(const struct ms_error *err, struct ms_strbuf *out)
{
	if (err && (err->code == MS_ERROR_FAULT || err->code == MS_ERROR_NOT_MAPPED))
		ms_strbuf_addf(out, "Cannot access memory at address 0x%" PRIx64, err->address);
	else
		ms_strbuf_add(out, err ? err->message : "unknown error");
}

/* ---- characters and strings ---- */

static void emit_char_body(struct ms_strbuf *out, unsigned c, char quote)
{
	switch (c) {
	case '\a':
		ms_strbuf_add(out, "\\a");
		return;
	case '\b':
		ms_strbuf_add(out, "\\b");
		return;
	case '\f':
		ms_strbuf_add(out, "\\f");
		return;
	case '\n':
		ms_strbuf_add(out, "\\n");
		return;
	case '\r':
		ms_strbuf_add(out, "\\r");
		return;
	case '\t':
		ms_strbuf_add(out, "\\t");
		return;
	case '\v':
		ms_strbuf_add(out, "\\v");
		return;
	case '\\':
		ms_strbuf_add(out, "\\\\");
		return;
	}
	if (c == (unsigned char)quote) {
		char s[3] = {'\\', quote, 0};
		ms_strbuf_add(out, s);
		return;
	}
	if (c >= 0x20 && c < 0x7f) {
		char s[2] = {(char)c, 0};
		ms_strbuf_add(out, s);
		return;
	}
	ms_strbuf_addf(out, "\\%03o", c & 0xff);
}

static void emit_char_literal(struct ms_strbuf *out, unsigned c)
{
	ms_strbuf_add(out, "'");
	emit_char_body(out, c, '\'');
	ms_strbuf_add(out, "'");
}

/*
 * A run of characters as gdb prints strings: quoted segments, runs longer
 * than the threshold as 'c' <repeats N times>, at most print_max
 * characters, "..." when cut (or when more is known to follow).
 */
static void emit_string(struct fmt *f, const uint8_t *s, size_t len, bool more)
{
	if (len == 0) {
		ms_strbuf_add(f->out, more ? "\"\"..." : "\"\"");
		return;
	}
	int threshold = f->o->repeat_threshold;
	size_t things = 0, i = 0;
	bool in_quote = false, first = true;
	while (i < len && things < (size_t)f->o->print_max) {
		size_t run = 1;
		while (i + run < len && s[i + run] == s[i])
			run++;
		if (run > (size_t)threshold) {
			if (in_quote) {
				ms_strbuf_add(f->out, "\"");
				in_quote = false;
			}
			if (!first)
				ms_strbuf_add(f->out, ", ");
			emit_char_literal(f->out, s[i]);
			ms_strbuf_addf(f->out, " <repeats %zu times>", run);
			i += run;
			things += (size_t)threshold;
		} else {
			if (!in_quote) {
				if (!first)
					ms_strbuf_add(f->out, ", ");
				ms_strbuf_add(f->out, "\"");
				in_quote = true;
			}
			emit_char_body(f->out, s[i], '"');
			i++;
			things++;
		}
		first = false;
	}
	if (in_quote)
		ms_strbuf_add(f->out, "\"");
	if (i < len || more)
		ms_strbuf_add(f->out, "...");
}

/* ---- types ---- */

static bool strip(Dwarf_Die *type, Dwarf_Die *ret)
{
	return ms_dwarf_type_strip(type, ret);
}

static bool type_of(Dwarf_Die *die, Dwarf_Die *ret)
{
	Dwarf_Attribute attr;
	return dwarf_formref_die(dwarf_attr_integrate(die, DW_AT_type, &attr), ret) != NULL;
}

static uint64_t udata(Dwarf_Die *die, unsigned name, uint64_t dflt)
{
	Dwarf_Attribute attr;
	Dwarf_Word v;
	if (dwarf_formudata(dwarf_attr_integrate(die, name, &attr), &v) == 0)
		return v;
	return dflt;
}

static int encoding(Dwarf_Die *base)
{
	return (int)udata(base, DW_AT_encoding, 0);
}

static bool is_char_type(Dwarf_Die *type)
{
	Dwarf_Die t;
	if (!strip(type, &t) || dwarf_tag(&t) != DW_TAG_base_type)
		return false;
	int enc = encoding(&t);
	return udata(&t, DW_AT_byte_size, 0) == 1 &&
	       (enc == DW_ATE_signed_char || enc == DW_ATE_unsigned_char);
}

static bool is_scalar(Dwarf_Die *type)
{
	Dwarf_Die t;
	if (!strip(type, &t))
		return true;
	/* References are looked through, as gdb does for frame arguments. */
	while (dwarf_tag(&t) == DW_TAG_reference_type ||
	       dwarf_tag(&t) == DW_TAG_rvalue_reference_type) {
		Dwarf_Die inner;
		if (!type_of(&t, &inner) || !strip(&inner, &t))
			return true;
	}
	int tag = dwarf_tag(&t);
	return tag != DW_TAG_structure_type && tag != DW_TAG_class_type &&
	       tag != DW_TAG_union_type && tag != DW_TAG_array_type;
}

static uint64_t get_uint(const uint8_t *p, size_t size)
{
	uint64_t v = 0;
	memcpy(&v, p, size < 8 ? size : 8);
	return v;
}

static int64_t get_sint(const uint8_t *p, size_t size)
{
	uint64_t v = get_uint(p, size);
	if (size < 8 && size > 0 && (v >> (size * 8 - 1)) & 1)
		v |= ~UINT64_C(0) << (size * 8);
	return (int64_t)v;
}

static bool all_known(const uint8_t *known, size_t n)
{
	if (!known)
		return true;
	for (size_t i = 0; i < n; i++)
		if (!known[i])
			return false;
	return true;
}

static bool any_known(const uint8_t *known, size_t n)
{
	if (!known)
		return true;
	for (size_t i = 0; i < n; i++)
		if (known[i])
			return true;
	return false;
}

/* ---- the printer ---- */

static void print_rec(struct fmt *f, Dwarf_Die *type, struct slice *s, int depth, bool top);
static bool has_printer(Dwarf_Die *type);

static void print_address(struct fmt *f, uint64_t addr, bool annotate)
{
	ms_strbuf_addf(f->out, "0x%" PRIx64, addr);
	if (!annotate || !addr)
		return;
	uint64_t off = 0;
	const char *sym = ms_dwarf_symbol_at(f->session, addr, &off);
	if (!sym)
		return;
	if (off)
		ms_strbuf_addf(f->out, " <%s+%" PRIu64 ">", sym, off);
	else
		ms_strbuf_addf(f->out, " <%s>", sym);
}

static void print_float(struct fmt *f, const uint8_t *p, size_t size)
{
	char buf[64];
	if (size == 4) {
		float v;
		memcpy(&v, p, 4);
		uint32_t bits;
		memcpy(&bits, p, 4);
		if (isnan(v)) {
			ms_strbuf_addf(f->out, "%snan(0x%" PRIx32 ")", bits >> 31 ? "-" : "",
				       bits & 0x7fffff);
			return;
		}
		if (isinf(v)) {
			ms_strbuf_add(f->out, v < 0 ? "-inf" : "inf");
			return;
		}
		snprintf(buf, sizeof(buf), "%.9g", (double)v);
	} else if (size == 8) {
		double v;
		uint64_t bits;
		memcpy(&v, p, 8);
		memcpy(&bits, p, 8);
		if (isnan(v)) {
			ms_strbuf_addf(f->out, "%snan(0x%" PRIx64 ")", bits >> 63 ? "-" : "",
				       bits & ((UINT64_C(1) << 52) - 1));
			return;
		}
		if (isinf(v)) {
			ms_strbuf_add(f->out, v < 0 ? "-inf" : "inf");
			return;
		}
		snprintf(buf, sizeof(buf), "%.17g", v);
	} else if (size == 16 || size == 10) {
		long double v = 0;
		memcpy(&v, p, 10);
		if (isnan(v)) {
			uint64_t mant;
			memcpy(&mant, p, 8);
			ms_strbuf_addf(f->out, "%snan(0x%" PRIx64 ")", (p[9] & 0x80) ? "-" : "",
				       mant & ((UINT64_C(1) << 62) - 1));
			return;
		}
		if (isinf(v)) {
			ms_strbuf_add(f->out, v < 0 ? "-inf" : "inf");
			return;
		}
		snprintf(buf, sizeof(buf), "%.21Lg", v);
	} else {
		ms_strbuf_add(f->out, "<invalid float value>");
		return;
	}
	ms_strbuf_add(f->out, buf);
}

static void print_int128(struct fmt *f, const uint8_t *p, bool is_signed)
{
	unsigned __int128 v;
	memcpy(&v, p, 16);
	bool neg = is_signed && (v >> 127);
	if (neg)
		v = -v;
	char buf[48];
	int i = (int)sizeof(buf) - 1;
	buf[i] = '\0';
	do {
		buf[--i] = (char)('0' + (int)(v % 10));
		v /= 10;
	} while (v);
	if (neg)
		buf[--i] = '-';
	ms_strbuf_add(f->out, buf + i);
}

static void print_base(struct fmt *f, Dwarf_Die *t, struct slice *s)
{
	int enc = encoding(t);
	size_t size = (size_t)s->size;
	const char *name = dwarf_diename(t);
	switch (enc) {
	case DW_ATE_boolean: {
		uint64_t v = get_uint(s->bytes, size);
		if (v == 0)
			ms_strbuf_add(f->out, "false");
		else if (v == 1)
			ms_strbuf_add(f->out, "true");
		else
			ms_strbuf_addf(f->out, "%" PRIu64, v);
		return;
	}
	case DW_ATE_float:
		print_float(f, s->bytes, size);
		return;
	case DW_ATE_complex_float: {
		print_float(f, s->bytes, size / 2);
		ms_strbuf_add(f->out, " + ");
		print_float(f, s->bytes + size / 2, size / 2);
		ms_strbuf_add(f->out, "i");
		return;
	}
	case DW_ATE_signed_char:
	case DW_ATE_unsigned_char:
		if (size == 1) {
			if (enc == DW_ATE_signed_char)
				ms_strbuf_addf(f->out, "%d ", (int)(int8_t)s->bytes[0]);
			else
				ms_strbuf_addf(f->out, "%u ", (unsigned)s->bytes[0]);
			emit_char_literal(f->out, s->bytes[0]);
			return;
		}
		break;
	case DW_ATE_UTF: {
		uint64_t v = get_uint(s->bytes, size);
		ms_strbuf_addf(f->out, "%" PRIu64 " %s'", v,
			       size == 1   ? "u8"
			       : size == 2 ? "u"
					   : "U");
		if (v < 0x80)
			emit_char_body(f->out, (unsigned)v, '\'');
		else
			ms_strbuf_addf(f->out, "\\%o", (unsigned)v);
		ms_strbuf_add(f->out, "'");
		return;
	}
	default:
		break;
	}
	bool is_signed = enc == DW_ATE_signed || enc == DW_ATE_signed_char;
	if (size == 16) {
		print_int128(f, s->bytes, is_signed);
		return;
	}
	if (is_signed)
		ms_strbuf_addf(f->out, "%" PRId64, get_sint(s->bytes, size));
	else
		ms_strbuf_addf(f->out, "%" PRIu64, get_uint(s->bytes, size));
	if (name && strcmp(name, "wchar_t") == 0) {
		int64_t v = get_sint(s->bytes, size);
		ms_strbuf_add(f->out, " L'");
		if (v >= 0 && v < 0x80)
			emit_char_body(f->out, (unsigned)v, '\'');
		else
			ms_strbuf_addf(f->out, "\\%o", (unsigned)v);
		ms_strbuf_add(f->out, "'");
	}
}

static void print_enum(struct fmt *f, Dwarf_Die *t, struct slice *s)
{
	size_t size = (size_t)s->size;
	Dwarf_Die under;
	bool is_signed = false;
	if (type_of(t, &under) && strip(&under, &under))
		is_signed = encoding(&under) == DW_ATE_signed;
	int64_t sv = get_sint(s->bytes, size);
	uint64_t uv = get_uint(s->bytes, size);
	uint64_t val = is_signed ? (uint64_t)sv : uv;
	uint64_t mask = size >= 8 ? ~UINT64_C(0) : (UINT64_C(1) << (size * 8)) - 1;
	Dwarf_Die e;
	bool flag_enum = true;
	uint64_t seen = 0;
	if (dwarf_child(t, &e) == 0) {
		do {
			if (dwarf_tag(&e) != DW_TAG_enumerator)
				continue;
			Dwarf_Attribute attr;
			Dwarf_Sword ev;
			Dwarf_Word eu;
			uint64_t v;
			Dwarf_Attribute *a = dwarf_attr(&e, DW_AT_const_value, &attr);
			if (dwarf_formudata(a, &eu) == 0)
				v = eu;
			else if (dwarf_formsdata(a, &ev) == 0)
				v = (uint64_t)ev;
			else
				continue;
			if ((v & mask) == (val & mask)) {
				ms_strbuf_add(f->out, dwarf_diename(&e));
				return;
			}
			/* gdb: a flag enum's values are single, distinct bits (or 0). */
			if ((is_signed && (int64_t)v < 0) || (v & seen & mask) ||
			    __builtin_popcountll(v & mask) > 1)
				flag_enum = false;
			seen |= v & mask;
		} while (dwarf_siblingof(&e, &e) == 0);
	}
	if (!flag_enum || val == 0) {
		if (is_signed)
			ms_strbuf_addf(f->out, "%" PRId64, sv);
		else
			ms_strbuf_addf(f->out, "%" PRIu64, uv);
		return;
	}
	ms_strbuf_add(f->out, "(");
	bool first = true;
	uint64_t left = val;
	if (dwarf_child(t, &e) == 0) {
		do {
			if (dwarf_tag(&e) != DW_TAG_enumerator)
				continue;
			Dwarf_Attribute attr;
			Dwarf_Word v;
			if (dwarf_formudata(dwarf_attr(&e, DW_AT_const_value, &attr), &v) != 0 ||
			    !v)
				continue;
			if ((left & v) == v) {
				ms_strbuf_addf(f->out, "%s%s", first ? "" : " | ",
					       dwarf_diename(&e));
				left &= ~v;
				first = false;
			}
		} while (dwarf_siblingof(&e, &e) == 0);
	}
	if (left)
		ms_strbuf_addf(f->out, "%sunknown: 0x%" PRIx64, first ? "" : " | ", left);
	ms_strbuf_add(f->out, ")");
}

/* Read a C string at addr: up to print_max bytes or the first NUL. */
static void print_c_string(struct fmt *f, uint64_t addr)
{
	size_t max = (size_t)f->o->print_max;
	uint8_t buf[4096];
	if (max > sizeof(buf) - 1)
		max = sizeof(buf) - 1;
	size_t got = 0;
	struct ms_error *err = NULL;
	uint64_t fail_at = 0;
	bool nul = false;
	while (got < max + 1 && !nul) {
		/* stop at page ends so that an unmapped next page only ends the string */
		uint64_t a = addr + got;
		size_t chunk = 4096 - (size_t)(a & 4095);
		if (chunk > max + 1 - got)
			chunk = max + 1 - got;
		err = ms_dwarf_read(f->session, a, buf + got, chunk);
		if (err) {
			/* retry byte by byte up to the fault */
			ms_error_destroy(err);
			err = NULL;
			size_t k;
			for (k = 0; k < chunk; k++) {
				err = ms_dwarf_read(f->session, a + k, buf + got + k, 1);
				if (err)
					break;
			}
			for (size_t j = 0; j < k; j++)
				if (buf[got + j] == 0) {
					nul = true;
					k = j;
					ms_error_destroy(err);
					err = NULL;
					break;
				}
			got += k;
			if (err)
				fail_at = a + k;
			break;
		}
		for (size_t j = 0; j < chunk; j++) {
			if (buf[got + j] == 0) {
				nul = true;
				chunk = j;
				break;
			}
		}
		got += chunk;
	}
	if (err && got == 0) {
		ms_strbuf_add(f->out, " <error: ");
		struct ms_error fake = {.code = MS_ERROR_FAULT, .address = fail_at};
		ms_format_error(&fake, f->out);
		ms_strbuf_add(f->out, ">");
		ms_error_destroy(err);
		return;
	}
	ms_strbuf_add(f->out, " ");
	bool more = !nul && got > max;
	if (got > max)
		got = max;
	emit_string(f, buf, got, more && !err);
	if (err) {
		ms_strbuf_add(f->out, "<error: ");
		struct ms_error fake = {.code = MS_ERROR_FAULT, .address = fail_at};
		ms_format_error(&fake, f->out);
		ms_strbuf_add(f->out, ">");
		ms_error_destroy(err);
	}
}

static void print_pointer(struct fmt *f, Dwarf_Die *t, struct slice *s, int depth)
{
	uint64_t addr = get_uint(s->bytes, (size_t)s->size);
	Dwarf_Die target, st;
	bool has_target = type_of(t, &target);
	int tag = dwarf_tag(t);
	if (tag == DW_TAG_reference_type || tag == DW_TAG_rvalue_reference_type) {
		/* a printer takes the referenced object as it is, without its address */
		Dwarf_Die rt;
		bool printed = has_target && strip(&target, &rt) && ms_format_cxx_applies(&rt);
		if (!printed)
			ms_strbuf_addf(f->out, "@0x%" PRIx64 ": ", addr);
		if (has_target) {
			struct ms_dwarf_value *v = ms_dwarf_value_at(f->session, &target, addr);
			if (!v) {
				ms_strbuf_add(f->out, "<error: out of memory>");
				return;
			}
			if (v->state == MS_DWARF_VALUE_ERROR) {
				ms_strbuf_add(f->out, "<error: ");
				ms_format_error(v->error, f->out);
				ms_strbuf_add(f->out, ">");
			} else {
				struct slice sub = {.bytes = v->bytes,
						    .size = v->size,
						    .in_memory = true,
						    .address = addr};
				print_rec(f, &target, &sub, depth + 1, false);
			}
			ms_dwarf_value_destroy(v);
		}
		return;
	}
	bool is_fn = has_target && strip(&target, &st) && dwarf_tag(&st) == DW_TAG_subroutine_type;
	(void)is_fn;
	print_address(f, addr, true);
	if (addr && has_target && is_char_type(&target))
		print_c_string(f, addr);
}

static void print_array(struct fmt *f, Dwarf_Die *t, struct slice *s, int depth);

static void print_struct(struct fmt *f, Dwarf_Die *t, struct slice *s, int depth)
{
	Dwarf_Die m;
	bool first = true;
	ms_strbuf_add(f->out, "{");
	if (dwarf_child(t, &m) == 0) {
		do {
			int tag = dwarf_tag(&m);
			if (tag != DW_TAG_member && tag != DW_TAG_inheritance)
				continue;
			/* static members (declarations) are not stored in the object */
			if (tag == DW_TAG_member && dwarf_hasattr(&m, DW_AT_declaration))
				continue;
			Dwarf_Die mt;
			if (!type_of(&m, &mt))
				continue;
			uint64_t off = udata(&m, DW_AT_data_member_location, 0);
			uint64_t msize = 0;
			ms_dwarf_type_size(&mt, &msize);
			if (!first)
				ms_strbuf_add(f->out, ", ");
			first = false;
			const char *name = dwarf_diename(&m);
			if (tag == DW_TAG_inheritance) {
				char *tn = ms_dwarf_type_name(&mt);
				ms_strbuf_addf(f->out, "<%s> = ", tn ? tn : "?");
				free(tn);
			} else if (name) {
				ms_strbuf_addf(f->out, "%s = ", name);
			}
			Dwarf_Attribute attr;
			bool bitfield = dwarf_attr(&m, DW_AT_bit_size, &attr) != NULL;
			if (bitfield) {
				uint64_t bits = udata(&m, DW_AT_bit_size, 0);
				uint64_t bitpos;
				if (dwarf_hasattr(&m, DW_AT_data_bit_offset)) {
					bitpos = udata(&m, DW_AT_data_bit_offset, 0);
				} else {
					/* DWARF 2: bit_offset counts from the storage unit's MSB */
					uint64_t unit = udata(&m, DW_AT_byte_size, msize) * 8;
					bitpos = off * 8 + unit - udata(&m, DW_AT_bit_offset, 0) -
						 bits;
				}
				uint64_t first_byte = bitpos / 8;
				uint64_t nbytes = (bitpos % 8 + bits + 7) / 8;
				if (first_byte + nbytes > s->size || bits == 0 || bits > 64) {
					ms_strbuf_add(f->out, "<invalid bitfield>");
					continue;
				}
				if (!all_known(s->known ? s->known + first_byte : NULL, nbytes)) {
					ms_strbuf_add(f->out, "<optimized out>");
					continue;
				}
				unsigned __int128 raw = 0;
				memcpy(&raw, s->bytes + first_byte, nbytes > 16 ? 16 : nbytes);
				uint64_t v = (uint64_t)(raw >> (bitpos % 8));
				if (bits < 64)
					v &= (UINT64_C(1) << bits) - 1;
				Dwarf_Die st;
				bool is_signed = false;
				if (strip(&mt, &st)) {
					int enc = dwarf_tag(&st) == DW_TAG_base_type ? encoding(&st)
										     : 0;
					is_signed =
						enc == DW_ATE_signed || enc == DW_ATE_signed_char;
				}
				if (is_signed && bits < 64 && (v >> (bits - 1)) & 1)
					v |= ~UINT64_C(0) << bits;
				uint8_t tmp[8];
				memcpy(tmp, &v, 8);
				struct slice sub = {.bytes = tmp, .size = msize ? msize : 8};
				if (sub.size > 8)
					sub.size = 8;
				print_rec(f, &mt, &sub, depth + 1, false);
				continue;
			}
			if (off > s->size || msize > s->size - off) {
				ms_strbuf_add(f->out, "<invalid member>");
				continue;
			}
			struct slice sub = {
				.bytes = s->bytes + off,
				.known = s->known ? s->known + off : NULL,
				.synthetic = s->synthetic ? s->synthetic + off : NULL,
				.size = msize,
				.in_memory = s->in_memory,
				.address = s->address + off,
			};
			print_rec(f, &mt, &sub, depth + 1, false);
		} while (dwarf_siblingof(&m, &m) == 0);
	}
	if (first)
		ms_strbuf_add(f->out, "<No data fields>");
	ms_strbuf_add(f->out, "}");
}

/* The element counts of an array's dimensions, outermost first. */
static int array_dims(Dwarf_Die *t, uint64_t *dims, int max)
{
	Dwarf_Die sub;
	int n = 0;
	if (dwarf_child(t, &sub) != 0)
		return 0;
	do {
		if (dwarf_tag(&sub) != DW_TAG_subrange_type || n >= max)
			continue;
		Dwarf_Attribute attr;
		Dwarf_Word count, upper;
		if (dwarf_formudata(dwarf_attr(&sub, DW_AT_count, &attr), &count) == 0)
			dims[n++] = count;
		else if (dwarf_formudata(dwarf_attr(&sub, DW_AT_upper_bound, &attr), &upper) == 0 &&
			 upper != (Dwarf_Word)-1)
			dims[n++] = upper + 1;
		else
			dims[n++] = 0; /* flexible array member */
	} while (dwarf_siblingof(&sub, &sub) == 0);
	return n;
}

static bool same_element(struct slice *s, uint64_t a, uint64_t b, uint64_t esize)
{
	if (memcmp(s->bytes + a, s->bytes + b, esize) != 0)
		return false;
	if (s->known) {
		bool ka = all_known(s->known + a, esize), kb = all_known(s->known + b, esize);
		if (ka != kb)
			return false;
		if (!ka && !kb)
			return !any_known(s->known + a, esize) && !any_known(s->known + b, esize);
	}
	return true;
}

static void print_elements(struct fmt *f, Dwarf_Die *elem, const uint64_t *dims, int ndims,
			   struct slice *s, int depth)
{
	uint64_t count = dims[0];
	uint64_t esize = count ? s->size / count : 0;
	/* A char array at the innermost dimension prints as a string. */
	if (ndims == 1 && is_char_type(elem) && all_known(s->known, s->size) && !s->synthetic) {
		size_t len = (size_t)count;
		if (len > 0 && s->bytes[len - 1] == 0)
			len--;
		emit_string(f, s->bytes, len, false);
		return;
	}
	ms_strbuf_add(f->out, "{");
	uint64_t things = 0, i = 0;
	int threshold = f->o->repeat_threshold;
	while (i < count && things < (uint64_t)f->o->print_max) {
		uint64_t reps = 1;
		while (i + reps < count && same_element(s, i * esize, (i + reps) * esize, esize))
			reps++;
		if (i)
			ms_strbuf_add(f->out, ", ");
		struct slice sub = {
			.bytes = s->bytes + i * esize,
			.known = s->known ? s->known + i * esize : NULL,
			.synthetic = s->synthetic ? s->synthetic + i * esize : NULL,
			.size = esize,
			.in_memory = s->in_memory,
			.address = s->address + i * esize,
		};
		if (ndims > 1)
			print_elements(f, elem, dims + 1, ndims - 1, &sub, depth + 1);
		else
			print_rec(f, elem, &sub, depth + 1, false);
		if (reps > (uint64_t)threshold) {
			ms_strbuf_addf(f->out, " <repeats %" PRIu64 " times>", reps);
			i += reps;
			things += (uint64_t)threshold;
		} else {
			i++;
			things++;
		}
	}
	if (i < count)
		ms_strbuf_add(f->out, "...");
	ms_strbuf_add(f->out, "}");
}

static void print_array(struct fmt *f, Dwarf_Die *t, struct slice *s, int depth)
{
	Dwarf_Die elem;
	if (!type_of(t, &elem)) {
		ms_strbuf_add(f->out, "{}");
		return;
	}
	uint64_t dims[8];
	int ndims = array_dims(t, dims, 8);
	if (ndims == 0 || s->size == 0) {
		/* flexible or zero-length: gdb shows the address of its storage */
		if (s->in_memory)
			ms_strbuf_addf(f->out, "0x%" PRIx64, s->address);
		else
			ms_strbuf_add(f->out, "{}");
		return;
	}
	print_elements(f, &elem, dims, ndims, s, depth);
}

static void print_rec(struct fmt *f, Dwarf_Die *type, struct slice *s, int depth, bool top)
{
	if (depth > MAX_DEPTH) {
		ms_strbuf_add(f->out, "...");
		return;
	}
	Dwarf_Die t;
	if (!type || !strip(type, &t)) {
		ms_strbuf_add(f->out, "void");
		return;
	}
	int tag = dwarf_tag(&t);
	/* libstdc++'s printers, as gdb runs them (in summary mode too) */
	if ((tag == DW_TAG_structure_type || tag == DW_TAG_class_type) &&
	    all_known(s->known, (size_t)s->size) && ms_format_cxx_applies(&t) &&
	    ms_format_cxx(f, &t, s, depth))
		return;
	if (f->o->summary && top && !is_scalar(&t) && !has_printer(&t)) {
		ms_strbuf_add(f->out, "...");
		return;
	}
	bool aggregate = tag == DW_TAG_structure_type || tag == DW_TAG_class_type ||
			 tag == DW_TAG_union_type || tag == DW_TAG_array_type;
	if (!aggregate) {
		if (s->synthetic && any_known(s->synthetic, (size_t)s->size)) {
			ms_strbuf_add(f->out, "<synthetic pointer>");
			/* A reference shows what it refers to, as gdb does. */
			bool ref =
				tag == DW_TAG_reference_type || tag == DW_TAG_rvalue_reference_type;
			if (ref && top && f->value && f->value->has_implicit_target &&
			    f->value->frame) {
				struct ms_dwarf_variable var = {.die = f->value->implicit_target};
				struct ms_dwarf_value *target =
					ms_dwarf_variable_value(f->value->frame, &var);
				ms_strbuf_add(f->out, ": ");
				ms_format_value(target, f->o, f->out);
				ms_dwarf_value_destroy(target);
			}
			return;
		}
		if (!all_known(s->known, (size_t)s->size)) {
			ms_strbuf_add(f->out, "<optimized out>");
			return;
		}
	}
	switch (tag) {
	case DW_TAG_base_type:
		print_base(f, &t, s);
		return;
	case DW_TAG_enumeration_type:
		print_enum(f, &t, s);
		return;
	case DW_TAG_pointer_type:
	case DW_TAG_reference_type:
	case DW_TAG_rvalue_reference_type:
		print_pointer(f, &t, s, depth);
		return;
	case DW_TAG_structure_type:
	case DW_TAG_class_type:
	case DW_TAG_union_type:
		/* Only declared here (its library has no debug info). */
		if (dwarf_hasattr(&t, DW_AT_declaration)) {
			ms_strbuf_add(f->out, "<incomplete type>");
			return;
		}
		print_struct(f, &t, s, depth);
		return;
	case DW_TAG_array_type:
		print_array(f, &t, s, depth);
		return;
	case DW_TAG_subroutine_type: {
		char *tn = ms_dwarf_type_name(&t);
		ms_strbuf_addf(f->out, "{%s} ", tn ? tn : "?");
		free(tn);
		print_address(f, s->address, true);
		return;
	}
	case DW_TAG_ptr_to_member_type:
		ms_strbuf_addf(f->out, "0x%" PRIx64, get_uint(s->bytes, (size_t)s->size));
		return;
	default:
		ms_strbuf_addf(f->out, "0x%" PRIx64, get_uint(s->bytes, (size_t)s->size));
	}
}

/* A pretty-printer for the type, or for what the reference refers to. */
static bool has_printer(Dwarf_Die *type)
{
	Dwarf_Die t = *type, inner;
	while (dwarf_tag(&t) == DW_TAG_reference_type ||
	       dwarf_tag(&t) == DW_TAG_rvalue_reference_type) {
		if (!type_of(&t, &inner) || !strip(&inner, &t))
			return false;
	}
	int tag = dwarf_tag(&t);
	return (tag == DW_TAG_structure_type || tag == DW_TAG_class_type) &&
	       ms_format_cxx_applies(&t);
}

void ms_format_slice(struct fmt *f, Dwarf_Die *type, struct slice *s, int depth)
{
	print_rec(f, type, s, depth, false);
}

void ms_format_chars(struct fmt *f, const uint8_t *s, size_t len, bool more)
{
	emit_string(f, s, len, more);
}

void ms_format_value(struct ms_dwarf_value *v, const struct ms_format_options *o,
		     struct ms_strbuf *out)
{
	if (!o)
		o = &ms_format_defaults;
	if (!v) {
		ms_strbuf_add(out, "<error: out of memory>");
		return;
	}
	/* Frame arguments: aggregates are "..." whatever their state, as in gdb,
	 * unless a pretty-printer has something to say. */
	Dwarf_Die st;
	if (o->summary && v->has_type && strip(&v->type, &st) && !is_scalar(&st) &&
	    !(v->state == MS_DWARF_VALUE_OK && has_printer(&st))) {
		ms_strbuf_add(out, "...");
		return;
	}
	if (v->state == MS_DWARF_VALUE_OPTIMIZED_OUT) {
		ms_strbuf_add(out, "<optimized out>");
		return;
	}
	if (v->state == MS_DWARF_VALUE_ERROR) {
		ms_strbuf_add(out, "<error: ");
		ms_format_error(v->error, out);
		ms_strbuf_add(out, ">");
		return;
	}
	struct fmt f = {.session = v->session, .value = v, .o = o, .out = out, .lang = v->lang};
	struct slice s = {
		.bytes = v->bytes,
		.known = v->known,
		.synthetic = v->synthetic,
		.size = v->size,
		.in_memory = v->in_memory,
		.address = v->address,
	};
	print_rec(&f, v->has_type ? &v->type : NULL, &s, 0, true);
}
