/* SPDX-License-Identifier: MIT */
/*
 * find: memory search. crash's search flags (find -s START -l LEN -w VALUE...),
 * and gdb's form (find /w START, +LEN, VAL...) when the arguments contain a
 * comma or begin with /. Every hit is printed with where it lies: the symbol
 * of the ELF file, or the mapping and the offset in it.
 */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/pagemap.h"
#include "../lib/search.h"
#include "../lib/symbols.h"
#include "../lib/target.h"
#include "commands.h"
#include "memdump.h"

/* crash prints this many characters of a string hit. */
enum { CHARS_CONTEXT = 56 };

struct pattern {
	uint8_t bytes[MS_SEARCH_MAX_LEN];
	uint8_t mask[8];
	size_t len;
	char *label; /* crash's "(symbol)" after a value typed as a symbol; heap or NULL */
};

struct find {
	struct cli_ctx *ctx;
	struct ms_target *target;
	struct ms_symbols *syms;
	bool gdb_form;
	bool strings; /* -c */
	unsigned width;
	int context; /* -x N */
	bool has_mask;
	uint64_t mask;
	uint64_t start, end; /* end 0: to the top */
	bool fault_in;
	uint64_t max_hits;
	struct pattern *pats;
	size_t npats;
	struct json *json;
	bool tty;
	struct progress progress;
	bool progress_started;
};

static void free_patterns(struct find *f)
{
	for (size_t i = 0; i < f->npats; i++)
		free(f->pats[i].label);
	free(f->pats);
}

static struct pattern *add_pattern(struct find *f)
{
	if (f->npats >= MS_SEARCH_MAX_PATTERNS)
		return NULL;
	struct pattern *grown = realloc(f->pats, (f->npats + 1) * sizeof(*grown));
	if (!grown)
		return NULL;
	f->pats = grown;
	struct pattern *p = &f->pats[f->npats++];
	memset(p, 0, sizeof(*p));
	return p;
}

/* ---- where a hit is ---- */

static const char *base_name(const char *path)
{
	const char *slash = strrchr(path, '/');
	return slash ? slash + 1 : path;
}

static void describe(struct find *f, const struct ms_vma *vma, uint64_t addr, char *buf, size_t len)
{
	struct ms_symbol sym;
	if (f->syms && ms_symbols_lookup_addr(f->syms, addr, &sym)) {
		char name[256];
		ms_symbol_format(&sym, name, sizeof(name));
		snprintf(buf, len, "%s (%s)", name, base_name(sym.file));
		return;
	}
	if (!vma) {
		snprintf(buf, len, "[unmapped]");
	} else if (vma->kind == MS_VMA_FILE) {
		snprintf(buf, len, "%s+0x%" PRIx64, base_name(vma->name),
			 addr - vma->start + vma->offset);
	} else {
		snprintf(buf, len, "%s+0x%" PRIx64, vma->name ? vma->name : "[anon]",
			 addr - vma->start);
	}
}

static void json_location(struct find *f, const struct ms_vma *vma, uint64_t addr)
{
	struct json *j = f->json;
	struct ms_symbol sym;
	if (f->syms && ms_symbols_lookup_addr(f->syms, addr, &sym)) {
		char name[256];
		ms_symbol_format(&sym, name, sizeof(name));
		json_kv_string(j, "symbol", name);
		json_kv_string(j, "file", sym.file);
	} else {
		json_kv_null(j, "symbol");
	}
	json_key(j, "mapping");
	if (!vma) {
		json_null(j);
		return;
	}
	char perms[5];
	ms_vma_perms(vma, perms);
	json_begin_object(j);
	json_kv_hex(j, "start", vma->start);
	json_kv_hex(j, "end", vma->end);
	json_kv_string(j, "perms", perms);
	json_kv_hex(j, "offset", vma->offset + (addr - vma->start));
	json_kv_string(j, "name", vma->name);
	json_end_object(j);
}

/* ---- printing hits ---- */

static void clear_progress(struct find *f)
{
	if (f->progress.active) {
		fputs("\r\033[K", stderr);
		f->progress.last_draw = 0;
	}
}

static void on_progress(void *arg, uint64_t done, uint64_t total)
{
	struct find *f = arg;
	if (!f->progress_started) {
		progress_start(&f->progress, "find", total, true);
		f->progress_started = true;
	}
	progress_update(&f->progress, done);
}

/* crash -x: count values before and after, quietly skipping what cannot be read. */
static void context_dump(struct find *f, uint64_t addr, int count, bool json)
{
	unsigned w = f->width;
	uint8_t buf[8];
	struct memdump dump;
	memdump_init(&dump, stdout, w, MEMDUMP_HEX, true, false, NULL);
	for (int i = 0; i < count; i++, addr += w) {
		size_t got = 0;
		struct ms_error *err = ms_target_read(f->target, addr, buf, w, 0, &got);
		ms_error_destroy(err);
		if (got < w)
			continue;
		if (json) {
			uint64_t v = 0;
			memcpy(&v, buf, w);
			json_begin_object(f->json);
			json_kv_hex(f->json, "address", addr);
			json_kv_hex(f->json, "value", v);
			json_end_object(f->json);
		} else {
			memdump_feed(&dump, addr, buf, w);
		}
	}
	if (!json)
		memdump_finish(&dump);
}

static bool on_hit(void *arg, const struct ms_search_hit *hit)
{
	struct find *f = arg;
	const struct pattern *pat = &f->pats[hit->pattern];
	char where[512];
	uint64_t value = 0;
	if (!f->strings && !f->gdb_form)
		memcpy(&value, hit->data, f->width);
	/* a string hit shows what follows it, as crash does */
	char text[CHARS_CONTEXT + 1];
	size_t tlen = 0;
	if (f->strings) {
		uint8_t more[CHARS_CONTEXT];
		const uint8_t *src = hit->data;
		size_t avail = hit->avail;
		if (avail < CHARS_CONTEXT) {
			size_t got = 0;
			ms_error_destroy(ms_target_read(f->target, hit->address, more,
							CHARS_CONTEXT, 0, &got));
			if (got > avail) {
				src = more;
				avail = got;
			}
		}
		tlen = avail < CHARS_CONTEXT ? avail : CHARS_CONTEXT;
		for (size_t i = 0; i < tlen; i++)
			text[i] = src[i] >= 0x20 && src[i] < 0x7f ? (char)src[i] : '.';
		text[tlen] = '\0';
	}
	if (f->json) {
		struct json *j = f->json;
		json_begin_object(j);
		json_kv_hex(j, "address", hit->address);
		json_kv_u64(j, "pattern", hit->pattern);
		if (f->strings) {
			json_kv_string(j, "text", text);
		} else if (!f->gdb_form) {
			json_kv_hex(j, "value", value);
			if (pat->label)
				json_kv_string(j, "label", pat->label);
		}
		json_location(f, hit->vma, hit->address);
		if (f->context) {
			json_key(j, "before");
			json_begin_array(j);
			context_dump(f, hit->address - (uint64_t)f->context * f->width, f->context,
				     true);
			json_end_array(j);
			json_key(j, "after");
			json_begin_array(j);
			context_dump(f, hit->address + f->width, f->context, true);
			json_end_array(j);
		}
		json_end_object(j);
		return true;
	}
	clear_progress(f);
	describe(f, hit->vma, hit->address, where, sizeof(where));
	if (f->gdb_form) {
		printf("0x%" PRIx64 "  %s\n", hit->address, where);
	} else if (f->strings) {
		printf("%" PRIx64 ": %s  %s\n", hit->address, text, where);
	} else if (f->context) {
		context_dump(f, hit->address - (uint64_t)f->context * f->width, f->context, false);
		char head[24];
		size_t n = memdump_addr(head, hit->address);
		printf("%.*s:  %" PRIx64 "%s%s%s  %s\n", (int)n, head, value,
		       pat->label ? " (" : "", pat->label ? pat->label : "", pat->label ? ")" : "",
		       where);
		context_dump(f, hit->address + f->width, f->context, false);
		putchar('\n');
	} else {
		printf("%" PRIx64 ": %" PRIx64 "%s%s%s  %s\n", hit->address, value,
		       pat->label ? " (" : "", pat->label ? pat->label : "", pat->label ? ")" : "",
		       where);
	}
	if (f->tty)
		fflush(stdout);
	return true;
}

/* ---- crash's form ---- */

static int value_pattern(struct find *f, const char *text)
{
	uint64_t v;
	bool symbolic = false;
	struct ms_error *err = cli_resolve_address(f->target, &f->syms, text, &v, &symbolic);
	if (err) {
		if (err->code == MS_ERROR_NOT_FOUND) {
			ms_error_destroy(err);
			return cli_usage(f->ctx, "invalid value: %s (hexadecimal, or a symbol)",
					 text);
		}
		return cli_error(f->ctx, cli_explain_denied(f->target, err));
	}
	unsigned w = f->width;
	if (w < 8 && v >> (w * 8)) {
		const char *opt = w == 4 ? "-w" : w == 2 ? "-h" : "-b";
		return cli_usage(f->ctx, "value too large for %s option: %" PRIx64, opt, v);
	}
	struct pattern *p = add_pattern(f);
	if (!p)
		return cli_usage(f->ctx, "at most %d values", MS_SEARCH_MAX_PATTERNS);
	memcpy(p->bytes, &v, w);
	memcpy(p->mask, &f->mask, w);
	p->len = w;
	if (symbolic && !f->has_mask && !(p->label = strdup(text)))
		return cli_error(f->ctx, &ms_error_no_memory);
	return CLI_OK;
}

static int parse_crash(struct find *f, int argc, char **argv)
{
	static const struct option longopts[] = {
		{"fault-in", no_argument, NULL, 'F'},
		{"max", required_argument, NULL, 'n'},
		{NULL, 0, NULL, 0},
	};
	const char *start = NULL, *end = NULL, *len = NULL, *mask = NULL, *ctxs = NULL;
	int c;
	f->width = 8;
	opterr = 0; /* our own message, once */
	while ((c = getopt_long(argc, argv, "s:e:l:m:whbgcx:n:ukKVptT", longopts, NULL)) != -1) {
		switch (c) {
		case 's':
			start = optarg;
			break;
		case 'e':
			end = optarg;
			break;
		case 'l':
			len = optarg;
			break;
		case 'm':
			mask = optarg;
			break;
		case 'w':
			f->width = 4;
			break;
		case 'h':
			f->width = 2;
			break;
		case 'b':
			f->width = 1;
			break;
		case 'g':
			f->width = 8;
			break;
		case 'c':
			f->strings = true;
			break;
		case 'x':
			ctxs = optarg;
			break;
		case 'n':
			if (!out_parse_count(optarg, &f->max_hits) || !f->max_hits)
				return cli_usage(f->ctx, "invalid --max: %s", optarg);
			break;
		case 'F':
			f->fault_in = true;
			break;
		case 'u':
			break; /* user memory is all there is */
		case 'k':
		case 'K':
		case 'V':
		case 'p':
		case 't':
		case 'T':
			return cli_usage(f->ctx,
					 "-%c: kernel and physical memory cannot be searched from "
					 "user space; find searches the target's memory",
					 c);
		default:
			return cli_usage(f->ctx, "invalid option or missing value: %s",
					 argv[optind - 1]);
		}
	}
	if (optind >= argc)
		return cli_usage(f->ctx, "nothing to search for");
	if (end && len)
		return cli_usage(f->ctx, "-e and -l are exclusive");
	if (mask) {
		if (f->strings)
			cli_warn(f->ctx, "mask ignored on string search");
		else if (!out_parse_addr(mask, &f->mask))
			return cli_usage(f->ctx, "invalid mask: %s", mask);
		else
			f->has_mask = true;
	}
	if (ctxs) {
		if (f->strings)
			return cli_usage(f->ctx, "-x option is not allowed with -c");
		char *e;
		errno = 0;
		long n = strtol(ctxs, &e, 10);
		long max = (long)(ms_page_size() / f->width);
		if (errno || *e || n < 0)
			return cli_usage(f->ctx, "invalid context count: %s", ctxs);
		if (n > max)
			return cli_usage(f->ctx, "context value %ld is too large: maximum is %ld",
					 n, max);
		f->context = (int)n;
	}
	struct ms_error *err;
	if (start) {
		err = cli_resolve_address(f->target, &f->syms, start, &f->start, NULL);
		if (err)
			return cli_error(f->ctx, err);
		if (!f->strings && f->start % f->width) {
			f->start -= f->start % f->width;
			cli_warn(f->ctx, "rounding down start address to: %" PRIx64, f->start);
		}
	}
	if (end) {
		err = cli_resolve_address(f->target, &f->syms, end, &f->end, NULL);
		if (err)
			return cli_error(f->ctx, err);
		if (f->end <= f->start)
			return cli_usage(f->ctx,
					 "ending address %" PRIx64
					 " is below starting address %" PRIx64,
					 f->end, f->start);
	}
	if (len) {
		uint64_t n;
		if (!out_parse_size(len, &n) || !n)
			return cli_usage(f->ctx, "invalid length: %s", len);
		if (f->start + n < f->start)
			return cli_usage(f->ctx, "start + length overflows: %s", len);
		f->end = f->start + n;
	}
	for (int i = optind; i < argc; i++) {
		if (f->strings) {
			size_t n = strlen(argv[i]);
			if (!n)
				continue;
			if (n > MS_SEARCH_MAX_LEN)
				return cli_usage(f->ctx, "string too long (at most %d bytes)",
						 MS_SEARCH_MAX_LEN);
			struct pattern *p = add_pattern(f);
			if (!p)
				return cli_usage(f->ctx, "at most %d strings",
						 MS_SEARCH_MAX_PATTERNS);
			memcpy(p->bytes, argv[i], n);
			p->len = n;
			continue;
		}
		int status = value_pattern(f, argv[i]);
		if (status != CLI_OK)
			return status;
	}
	if (!f->npats)
		return cli_usage(f->ctx, "nothing to search for");
	return CLI_OK;
}

/* ---- gdb's form: find [/sn] START, +LEN|END, VAL [, VAL...] ---- */

static char *trim(char *s)
{
	while (isspace((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n && isspace((unsigned char)s[n - 1]))
		s[--n] = '\0';
	return s;
}

/* One C escape at *pp (after the backslash); advances *pp. */
static int unescape(const char **pp)
{
	const char *p = *pp;
	int c = (unsigned char)*p++;
	switch (c) {
	case 'n':
		c = '\n';
		break;
	case 't':
		c = '\t';
		break;
	case 'r':
		c = '\r';
		break;
	case 'a':
		c = '\a';
		break;
	case 'b':
		c = '\b';
		break;
	case 'f':
		c = '\f';
		break;
	case 'v':
		c = '\v';
		break;
	case 'e':
		c = 27;
		break;
	case 'x': {
		int v = 0, k = 0;
		while (k < 2 && isxdigit((unsigned char)*p)) {
			v = v * 16 + (isdigit((unsigned char)*p)
					      ? *p - '0'
					      : tolower((unsigned char)*p) - 'a' + 10);
			p++;
			k++;
		}
		c = v;
		break;
	}
	default:
		if (c >= '0' && c <= '7') {
			int v = c - '0', k = 1;
			while (k < 3 && *p >= '0' && *p <= '7') {
				v = v * 8 + (*p++ - '0');
				k++;
			}
			c = v & 0xff;
		}
	}
	*pp = p;
	return c;
}

/* Split on commas outside quotes. */
static size_t split_commas(char *s, char **parts, size_t max)
{
	size_t n = 0;
	char quote = 0;
	parts[n++] = s;
	for (char *p = s; *p; p++) {
		if (quote) {
			if (*p == '\\' && p[1])
				p++;
			else if (*p == quote)
				quote = 0;
		} else if (*p == '"' || *p == '\'') {
			quote = *p;
		} else if (*p == ',' && n < max) {
			*p = '\0';
			parts[n++] = p + 1;
		}
	}
	return n;
}

static bool gdb_number(const char *s, uint64_t *v)
{
	bool neg = *s == '-';
	if (neg || *s == '+')
		s++;
	if (!isdigit((unsigned char)*s))
		return false;
	char *end;
	errno = 0;
	unsigned long long x = strtoull(s, &end, 0);
	if (errno || *trim(end))
		return false;
	*v = neg ? (uint64_t)0 - x : x;
	return true;
}

/* A START or END: a number (gdb: decimal unless 0x) or a symbol. */
static int gdb_address(struct find *f, char *text, uint64_t *v)
{
	text = trim(text);
	if (gdb_number(text, v))
		return CLI_OK;
	struct ms_error *err = cli_resolve_address(f->target, &f->syms, text, v, NULL);
	if (err)
		return cli_error(f->ctx, err);
	return CLI_OK;
}

static int gdb_value(struct find *f, char *text, char size, struct pattern *p)
{
	text = trim(text);
	size_t cap = MS_SEARCH_MAX_LEN;
	/* {char[N]}"..." is the string's first N bytes, without the NUL C adds */
	long array = -1;
	if (strncmp(text, "{char[", 6) == 0) {
		char *e;
		array = strtol(text + 6, &e, 10);
		if (array <= 0 || strncmp(e, "]}", 2) != 0)
			return cli_usage(f->ctx, "invalid cast: %s (try {char[N]}\"...\")", text);
		text = trim(e + 2);
		if (*text != '"')
			return cli_usage(f->ctx, "{char[N]} goes before a string: %s", text);
	}
	if (*text == '"') {
		const char *s = text + 1;
		size_t start = p->len;
		while (*s && *s != '"') {
			int c = *s == '\\' ? (s++, unescape(&s)) : (unsigned char)*s++;
			if (p->len >= cap)
				return cli_usage(f->ctx, "pattern too long");
			p->bytes[p->len++] = (uint8_t)c;
		}
		if (*s != '"' || *trim((char *)s + 1))
			return cli_usage(f->ctx, "unterminated string: %s", text);
		/* a C string includes its NUL, as gdb searches it */
		size_t want = array > 0 ? (size_t)array : p->len - start + 1;
		if (start + want > cap)
			return cli_usage(f->ctx, "pattern too long");
		while (p->len < start + want)
			p->bytes[p->len++] = 0;
		p->len = start + want;
		return CLI_OK;
	}
	unsigned width = 0;
	if (*text == '(') {
		static const struct {
			const char *name;
			unsigned width;
		} casts[] = {{"char", 1},
			     {"unsigned char", 1},
			     {"int8_t", 1},
			     {"uint8_t", 1},
			     {"short", 2},
			     {"unsigned short", 2},
			     {"int16_t", 2},
			     {"uint16_t", 2},
			     {"int", 4},
			     {"unsigned", 4},
			     {"unsigned int", 4},
			     {"int32_t", 4},
			     {"uint32_t", 4},
			     {"long", 8},
			     {"unsigned long", 8},
			     {"long long", 8},
			     {"unsigned long long", 8},
			     {"int64_t", 8},
			     {"uint64_t", 8}};
		char *close = strchr(text, ')');
		if (!close)
			return cli_usage(f->ctx, "invalid value: %s", text);
		*close = '\0';
		char *type = trim(text + 1);
		for (size_t i = 0; i < sizeof(casts) / sizeof(casts[0]); i++)
			if (strcmp(type, casts[i].name) == 0)
				width = casts[i].width;
		if (!width)
			return cli_usage(f->ctx, "unknown type: (%s)", type);
		text = trim(close + 1);
	}
	uint64_t v;
	if (*text == '\'') {
		const char *s = text + 1;
		int c = *s == '\\' ? (s++, unescape(&s)) : (unsigned char)*s++;
		if (*s != '\'' || *trim((char *)s + 1))
			return cli_usage(f->ctx, "invalid character: %s", text);
		v = (uint64_t)c;
		if (!width && !size)
			width = 1;
	} else if (!gdb_number(text, &v)) {
		bool symbolic;
		struct ms_error *err =
			cli_resolve_address(f->target, &f->syms, text, &v, &symbolic);
		if (err)
			return cli_error(f->ctx, err);
		if (!width && !size)
			width = 8; /* an address */
	}
	if (size)
		width = size == 'b' ? 1 : size == 'h' ? 2 : size == 'w' ? 4 : 8;
	if (!width) /* a literal is an int if it fits, else a long, as in C */
		width = (int64_t)v >= INT32_MIN && (int64_t)v <= (int64_t)UINT32_MAX ? 4 : 8;
	if (p->len + width > cap)
		return cli_usage(f->ctx, "pattern too long");
	memcpy(p->bytes + p->len, &v, width);
	p->len += width;
	return CLI_OK;
}

static int parse_gdb(struct find *f, int argc, char **argv)
{
	size_t total = 1;
	for (int i = 1; i < argc; i++)
		total += strlen(argv[i]) + 1;
	char *line = calloc(1, total);
	if (!line)
		return cli_error(f->ctx, &ms_error_no_memory);
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--fault-in") == 0) {
			f->fault_in = true;
			continue;
		}
		strcat(line, argv[i]);
		strcat(line, " ");
	}
	int status = CLI_OK;
	char *s = trim(line);
	char size = 0;
	if (*s == '/') {
		for (s++; *s && !isspace((unsigned char)*s); s++) {
			if (isdigit((unsigned char)*s)) {
				char *e;
				f->max_hits = strtoull(s, &e, 10);
				s = e - 1;
			} else if (strchr("bhwg", *s)) {
				size = *s;
			} else {
				status = cli_usage(f->ctx, "invalid size or count in /%c", *s);
				goto out;
			}
		}
	}
	char *parts[MS_SEARCH_MAX_PATTERNS + 2];
	size_t n = split_commas(s, parts, sizeof(parts) / sizeof(parts[0]));
	if (n < 3) {
		status = cli_usage(f->ctx, "gdb's form is: find [/sn] START, +LEN|END, VAL...");
		goto out;
	}
	status = gdb_address(f, parts[0], &f->start);
	if (status != CLI_OK)
		goto out;
	char *second = trim(parts[1]);
	if (*second == '+') {
		uint64_t len;
		if (!gdb_number(second + 1, &len) || !len) {
			status = cli_usage(f->ctx, "invalid length: %s", second);
			goto out;
		}
		if (f->start + len < f->start) {
			status = cli_usage(f->ctx, "start + length overflows");
			goto out;
		}
		f->end = f->start + len;
	} else {
		uint64_t last;
		status = gdb_address(f, second, &last);
		if (status != CLI_OK)
			goto out;
		if (last < f->start) {
			status = cli_usage(f->ctx, "invalid search space, end preceeds start");
			goto out;
		}
		f->end = last + 1; /* gdb's END is inclusive */
	}
	struct pattern *p = add_pattern(f);
	if (!p) {
		status = cli_error(f->ctx, &ms_error_no_memory);
		goto out;
	}
	for (size_t i = 2; i < n && status == CLI_OK; i++)
		status = gdb_value(f, parts[i], size, p);
	if (status == CLI_OK && !p->len)
		status = cli_usage(f->ctx, "empty search pattern");
	f->width = 1;
out:
	free(line);
	return status;
}

static bool is_gdb_form(int argc, char **argv)
{
	if (argc > 1 && argv[1][0] == '/')
		return true;
	for (int i = 1; i < argc; i++)
		if (strchr(argv[i], ','))
			return true;
	return false;
}

int cmd_find(struct cli_ctx *ctx, int argc, char **argv)
{
	struct find f = {.ctx = ctx};
	struct ms_error *err = cli_target(ctx, 0, &f.target);
	if (err)
		return cli_error(ctx, err);
	f.gdb_form = is_gdb_form(argc, argv);
	int status = f.gdb_form ? parse_gdb(&f, argc, argv) : parse_crash(&f, argc, argv);
	if (status != CLI_OK)
		goto out;
	uint64_t top = cli_user_top(f.target);
	const struct ms_maps *maps;
	err = ms_target_maps(f.target, MS_MAPS_BASIC, &maps);
	if (err) {
		status = cli_error(ctx, cli_explain_denied(f.target, err));
		goto out;
	}
	if (f.start >= top && !ms_maps_find(maps, f.start)) {
		status = cli_usage(ctx, "invalid user virtual address: %" PRIx64, f.start);
		goto out;
	}
	if (!f.syms) {
		err = ms_symbols_create(f.target, &f.syms);
		if (err) {
			status = cli_error(ctx, err);
			goto out;
		}
	}
	struct ms_search_pattern sp[MS_SEARCH_MAX_PATTERNS];
	for (size_t i = 0; i < f.npats; i++) {
		sp[i].bytes = f.pats[i].bytes;
		sp[i].len = f.pats[i].len;
		sp[i].mask = f.has_mask ? f.pats[i].mask : NULL;
	}
	struct ms_search_params params = {
		.start = f.start,
		.end = f.end,
		.align = f.gdb_form || f.strings ? 1 : f.width,
		.patterns = sp,
		.npatterns = f.npats,
		.read_flags = f.fault_in ? MS_READ_FAULT_IN : 0,
		/* gdb reads never-touched memory as zeros: its form gives its answer */
		.untouched_as_zeros = f.gdb_form && !f.fault_in,
		.max_hits = f.max_hits,
		.stop = &cli_interrupted,
		.progress = on_progress,
	};
	f.tty = isatty(STDOUT_FILENO);
	if (ctx->session->json) {
		f.json = &ctx->json;
		json_begin_object(f.json);
		json_key(f.json, "hits");
		json_begin_array(f.json);
	}
	struct ms_search_stats stats;
	err = ms_search(f.target, &params, on_hit, &f, &stats);
	if (f.progress_started)
		progress_end(&f.progress);
	if (f.json) {
		struct json *j = f.json;
		json_end_array(j);
		json_kv_u64(j, "count", stats.hits);
		json_kv_u64(j, "mappings", stats.mappings);
		json_kv_u64(j, "bytes_searched", stats.bytes_searched);
		json_kv_u64(j, "bytes_never_touched", stats.bytes_zero);
		json_kv_u64(j, "bytes_not_present", stats.bytes_not_present);
		json_kv_u64(j, "bytes_unreadable", stats.bytes_unreadable);
		if (err) {
			json_key(j, "error");
			json_string(j, err->message);
		}
		json_end_object(j);
		json_finish(j);
	} else if (f.gdb_form && (!err || err->code == MS_ERROR_INTERRUPTED)) {
		if (stats.hits)
			printf("%" PRIu64 " pattern%s found.\n", stats.hits,
			       stats.hits == 1 ? "" : "s");
		else
			printf("Pattern not found.\n");
	}
	if (ctx->session->verbose && !f.json) {
		char a[32], b[32], c[32], d[32];
		cli_warn(ctx,
			 "searched %s in %" PRIu64 " mappings, and %s never touched as zeros; "
			 "%s not present%s; %s unreadable",
			 out_size(a, stats.bytes_searched), stats.mappings,
			 out_size(d, stats.bytes_zero), out_size(b, stats.bytes_not_present),
			 f.fault_in ? "" : " (--fault-in reads it)",
			 out_size(c, stats.bytes_unreadable));
	}
	/*
	 * Pages not present and not searched: say so even without -v. gdb's
	 * find would read them (swapping them in), so its form of the command
	 * gives a partial answer then: exit 1.
	 */
	if (!err && stats.bytes_not_present && !f.fault_in) {
		char a[32];
		bool core = ms_target_kind(f.target) != MS_TARGET_LIVE;
		if (!ctx->session->verbose && !f.json && core)
			cli_warn(ctx, "%s neither in the core nor in a mapped file: not searched",
				 out_size(a, stats.bytes_not_present));
		else if (!ctx->session->verbose && !f.json)
			cli_warn(ctx,
				 "%s in pages not present (%s) not searched; --fault-in reads them",
				 out_size(a, stats.bytes_not_present),
				 f.gdb_form ? "swapped out, or file pages not cached"
					    : "never touched, or swapped out");
		if (f.gdb_form)
			status = CLI_PARTIAL;
	}
	if (err)
		status = err->code == MS_ERROR_INTERRUPTED
				 ? (ms_error_destroy(err), CLI_PARTIAL)
				 : cli_error(ctx, cli_explain_denied(f.target, err));
out:
	free_patterns(&f);
	ms_symbols_destroy(f.syms);
	return status;
}
