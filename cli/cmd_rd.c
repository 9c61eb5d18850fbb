/* SPDX-License-Identifier: MIT */
/*
 * rd: crash's read-memory command on a target's user memory. Streams: a
 * count of any size is read a chunk at a time and never held whole.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/pagemap.h"
#include "../lib/proclist.h"
#include "../lib/symbols.h"
#include "../lib/target.h"
#include "commands.h"
#include "memdump.h"

/* Bytes read per call while streaming. */
enum { RD_CHUNK = 1 << 20 };

/* The lowest address that is certainly not user space on x86-64 (47-bit). */
#define USER_TOP_47 UINT64_C(0x0000800000000000)

static bool is_hex(const char *s)
{
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		s += 2;
	if (!*s)
		return false;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f') ||
		      (*s >= 'A' && *s <= 'F')))
			return false;
	return true;
}

struct ms_error *cli_resolve_address(struct ms_target *target, struct ms_symbols **syms,
				     const char *text, uint64_t *addr_ret, bool *symbol_ret)
{
	if (symbol_ret)
		*symbol_ret = false;
	size_t len = strlen(text);
	char buf[512];
	if (len >= 2 && text[0] == '(' && text[len - 1] == ')' && len - 2 < sizeof(buf)) {
		memcpy(buf, text + 1, len - 2);
		buf[len - 2] = '\0';
		text = buf;
	}
	if (text[0] == '&')
		text++;
	if (is_hex(text)) {
		if (!out_parse_addr(text, addr_ret))
			return ms_error_create(MS_ERROR_INVALID, "invalid address: %s", text);
		return NULL;
	}
	if (!*text || text[0] == '-')
		return ms_error_create(MS_ERROR_INVALID, "invalid address: %s", text);
	if (!*syms) {
		struct ms_error *err = ms_symbols_create(target, syms);
		if (err)
			return err;
	}
	struct ms_symbol sym;
	struct ms_error *err = ms_symbols_lookup_name(*syms, text, &sym);
	if (err)
		return err;
	*addr_ret = sym.address;
	if (symbol_ret)
		*symbol_ret = true;
	return NULL;
}

uint64_t cli_user_top(struct ms_target *target)
{
	const struct ms_maps *maps;
	uint64_t top = USER_TOP_47;
	struct ms_error *err = ms_target_maps(target, MS_MAPS_BASIC, &maps);
	if (err) { /* the read that follows will say what is wrong */
		ms_error_destroy(err);
		return top;
	}
	for (size_t i = 0; i < maps->count; i++) /* 5-level paging puts mappings higher */
		if (maps->vmas[i].kind != MS_VMA_VSYSCALL && maps->vmas[i].end > top)
			top = maps->vmas[i].end;
	return top;
}

/* Parse a count: decimal, or hex with 0x, as crash's stol does. */
static bool parse_count(const char *s, uint64_t *v)
{
	if (!*s || *s == '-' || *s == '+')
		return false;
	char *end;
	errno = 0;
	unsigned long long x;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X'))
		x = strtoull(s + 2, &end, 16);
	else
		x = strtoull(s, &end, 10);
	if (errno || *end || end == s)
		return false;
	*v = x;
	return true;
}

struct rd_opts {
	unsigned width;
	enum memdump_radix radix;
	bool ascii_mode, no_ascii, symbolic, net, reverse, fault_in;
	const char *offset, *end, *raw_file, *addr_text, *count_text;
};

static int parse_args(struct cli_ctx *ctx, int argc, char **argv, struct rd_opts *o)
{
	o->width = 8;
	o->radix = MEMDUMP_HEX;
	bool only_positional = false;
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!only_positional && strcmp(a, "--") == 0) {
			only_positional = true;
			continue;
		}
		if (only_positional || a[0] != '-' || a[1] == '\0') {
			if (!o->addr_text)
				o->addr_text = a;
			else if (!o->count_text)
				o->count_text = a;
			else
				return cli_usage(ctx, "too many arguments: %s", a);
			continue;
		}
		if (strcmp(a, "-8") == 0 || strcmp(a, "-16") == 0 || strcmp(a, "-32") == 0 ||
		    strcmp(a, "-64") == 0) {
			o->width = (unsigned)atoi(a + 1) / 8;
			o->ascii_mode = false;
			continue;
		}
		if (strcmp(a, "--fault-in") == 0) {
			o->fault_in = true;
			continue;
		}
		if (a[1] >= '0' && a[1] <= '9')
			return cli_usage(ctx,
					 "invalid count or width: %s (counts are positive; "
					 "widths are -8, -16, -32, -64)",
					 a);
		if (a[1] == '-')
			return cli_usage(ctx, "unknown option: %s", a);
		for (const char *c = a + 1; *c; c++) {
			const char **target = NULL;
			switch (*c) {
			case 'a':
				o->ascii_mode = true;
				break;
			case 'd':
				o->radix = MEMDUMP_SIGNED;
				break;
			case 'D':
				o->radix = MEMDUMP_UNSIGNED;
				break;
			case 'x':
				o->no_ascii = true;
				break;
			case 's':
				o->symbolic = true;
				break;
			case 'N':
				o->net = true;
				break;
			case 'R':
				o->reverse = true;
				break;
			case 'u':
				break; /* user addresses are all there is */
			case 'o':
				target = &o->offset;
				break;
			case 'e':
				target = &o->end;
				break;
			case 'r':
				target = &o->raw_file;
				break;
			case 'p':
				return cli_usage(ctx,
						 "-p: physical memory cannot be read from user "
						 "space; ptov PADDR tells who maps it");
			default:
				return cli_usage(ctx, "unknown option: -%c", *c);
			}
			if (target) {
				if (c[1])
					*target = c + 1;
				else if (i + 1 < argc)
					*target = argv[++i];
				else
					return cli_usage(ctx, "-%c needs a value", *c);
				break;
			}
		}
	}
	if (!o->addr_text)
		return cli_usage(ctx, "an address or symbol is needed");
	if (o->symbolic && o->width != 8)
		return cli_usage(ctx, "-s is only allowed with 64-bit display");
	if (o->net && o->width != 2 && o->width != 4)
		return cli_usage(ctx, "-N is only valid with -16 or -32");
	return CLI_OK;
}

/* crash's "invalid user virtual address" line, with our reason when it adds something. */
static int read_error(struct cli_ctx *ctx, struct ms_target *t, struct ms_error *err, uint64_t item,
		      unsigned width, uint64_t user_top)
{
	if (err->code != MS_ERROR_EXITED && ms_target_kind(t) == MS_TARGET_LIVE &&
	    !ms_proc_alive(ms_target_pid(t))) {
		/* a dead process's pagemap reads short, its memory fails: say what happened */
		ms_error_destroy(err);
		err = ms_error_create(MS_ERROR_EXITED, "process %d exited during the read",
				      (int)ms_target_pid(t));
	}
	if (err->code != MS_ERROR_FAULT && err->code != MS_ERROR_NOT_MAPPED)
		return cli_error(ctx, cli_explain_denied(t, err));
	char type[32];
	snprintf(type, sizeof(type), "%u-bit UVADDR", width * 8);
	const char *reason = NULL;
	if (err->code == MS_ERROR_FAULT) {
		const char *colon = strstr(err->message, ": ");
		reason = colon ? colon + 2 : NULL;
	}
	if (item >= user_top && err->code == MS_ERROR_NOT_MAPPED)
		reason = "a kernel address: only user memory can be read";
	fflush(stdout);
	if (reason)
		fprintf(stderr,
			"memscope: rd: invalid user virtual address: %" PRIx64
			"  type: \"%s\": %s\n",
			item, type, reason);
	else
		fprintf(stderr,
			"memscope: rd: invalid user virtual address: %" PRIx64 "  type: \"%s\"\n",
			item, type);
	ms_error_destroy(err);
	return CLI_PARTIAL;
}

static void json_values(struct json *j, uint64_t addr, const uint8_t *buf, size_t n,
			const struct rd_opts *o, struct ms_symbols *syms)
{
	for (size_t i = 0; i + o->width <= n; i += o->width) {
		uint64_t v = 0;
		memcpy(&v, buf + i, o->width);
		if (o->net && o->width == 2)
			v = (uint16_t)((v >> 8) | (v << 8));
		else if (o->net && o->width == 4)
			v = __builtin_bswap32((uint32_t)v);
		json_begin_object(j);
		json_kv_hex(j, "address", addr + i);
		if (o->radix == MEMDUMP_SIGNED) {
			int64_t s = o->width == 1   ? (int8_t)v
				    : o->width == 2 ? (int16_t)v
				    : o->width == 4 ? (int32_t)v
						    : (int64_t)v;
			json_kv_i64(j, "value", s);
		} else if (o->radix == MEMDUMP_UNSIGNED) {
			json_kv_u64(j, "value", v);
		} else {
			json_kv_hex(j, "value", v);
		}
		struct ms_symbol sym;
		if (syms && ms_symbols_lookup_addr(syms, v, &sym)) {
			char name[256];
			ms_symbol_format(&sym, name, sizeof(name));
			json_kv_string(j, "symbol", name);
			json_kv_string(j, "file", sym.file);
		}
		json_end_object(j);
	}
}

static int dump_raw(struct cli_ctx *ctx, struct ms_target *t, uint64_t addr, uint64_t bytes,
		    unsigned flags, const char *path, uint8_t *buf)
{
	FILE *f = fopen(path, "wb");
	if (!f)
		return cli_error(ctx, ms_error_errno(errno, "cannot open output file: %s", path));
	uint64_t copied = 0;
	struct ms_error *err = NULL;
	while (copied < bytes && !cli_interrupted) {
		size_t want = bytes - copied > RD_CHUNK ? RD_CHUNK : (size_t)(bytes - copied);
		size_t got = 0;
		err = ms_target_read(t, addr + copied, buf, want, flags, &got);
		if (got && fwrite(buf, 1, got, f) != got) {
			ms_error_destroy(err);
			err = ms_error_errno(errno, "cannot write to: %s", path);
		}
		copied += got;
		if (err)
			break;
	}
	if (fclose(f) != 0 && !err)
		err = ms_error_errno(errno, "cannot write to: %s", path);
	if (ctx->session->json) {
		json_begin_object(&ctx->json);
		json_kv_hex(&ctx->json, "address", addr);
		json_kv_u64(&ctx->json, "bytes", copied);
		json_kv_string(&ctx->json, "file", path);
		json_end_object(&ctx->json);
		json_finish(&ctx->json);
	} else {
		printf("%" PRIu64 " bytes copied from 0x%" PRIx64 " to %s\n", copied, addr, path);
	}
	if (err)
		return read_error(ctx, t, err, addr + copied, 1, cli_user_top(t));
	return CLI_OK;
}

int cmd_rd(struct cli_ctx *ctx, int argc, char **argv)
{
	struct rd_opts o = {0};
	int status = parse_args(ctx, argc, argv, &o);
	if (status != CLI_OK)
		return status;
	struct ms_target *t;
	struct ms_error *err = cli_target(ctx, 0, &t);
	if (err)
		return cli_error(ctx, err);
	struct ms_symbols *syms = NULL;
	uint8_t *buf = NULL;
	uint64_t addr, offset = 0, end = 0, count = 0;
	err = cli_resolve_address(t, &syms, o.addr_text, &addr, NULL);
	if (err) {
		status = cli_error(ctx, cli_explain_denied(t, err));
		goto out;
	}
	if (o.offset) {
		if (!parse_count(o.offset, &offset) && !out_parse_addr(o.offset, &offset)) {
			status = cli_usage(ctx, "invalid offset: %s", o.offset);
			goto out;
		}
		if (addr + offset < addr) {
			status = cli_usage(ctx, "address + offset overflows: %s", o.offset);
			goto out;
		}
		addr += offset;
	}
	if (o.end) {
		err = cli_resolve_address(t, &syms, o.end, &end, NULL);
		if (err) {
			status = cli_error(ctx, err);
			goto out;
		}
	}
	unsigned width = o.ascii_mode || o.raw_file ? 1 : o.width;
	bool unlimited = false;
	if (o.count_text) {
		if (!parse_count(o.count_text, &count) || count == 0) {
			status = cli_usage(ctx, "invalid count: %s (a positive number of %s)",
					   o.count_text, width == 1 ? "bytes" : "values");
			goto out;
		}
		if (o.end)
			cli_warn(ctx, "ending address ignored when count is specified");
	} else if (o.end) {
		if (end <= addr) {
			status = cli_usage(ctx, "invalid ending address: %" PRIx64, end);
			goto out;
		}
		count = (end - addr) / width;
		if (count == 0)
			count = 1;
	} else if (o.raw_file) {
		status = cli_usage(ctx, "-r needs a count or -e END");
		goto out;
	} else if (o.ascii_mode) {
		unlimited = true; /* up to the first character that is not printable */
		count = UINT64_MAX / 2;
	} else {
		count = 1;
	}
	if (count > UINT64_MAX / width) {
		status = cli_usage(ctx, "count too large: %s", o.count_text);
		goto out;
	}
	uint64_t bytes = count * width;
	if (o.reverse && count > 1) {
		if (addr < bytes - width) {
			status = cli_usage(ctx, "count too large for -R below %" PRIx64, addr);
			goto out;
		}
		addr -= bytes - width;
	}
	if (!unlimited && addr + (bytes - 1) < addr) {
		status = cli_usage(ctx, "address + count overflows the address space");
		goto out;
	}
	uint64_t user_top = cli_user_top(t);
	if (addr >= user_top) {
		const struct ms_maps *maps;
		const struct ms_vma *vma = NULL;
		struct ms_error *merr = ms_target_maps(t, MS_MAPS_BASIC, &maps);
		if (!merr)
			vma = ms_maps_find(maps, addr);
		ms_error_destroy(merr);
		if (!vma || !(vma->prot & MS_PROT_READ)) {
			err = vma ? ms_error_fault(addr, "mapping is not readable")
				  : ms_error_create(MS_ERROR_NOT_MAPPED, "kernel address");
			status = read_error(ctx, t, err, addr, width, user_top);
			goto out;
		}
	}
	if (o.symbolic && !syms) {
		err = ms_symbols_create(t, &syms);
		if (err) {
			status = cli_error(ctx, err);
			goto out;
		}
	}
	buf = malloc(RD_CHUNK);
	if (!buf) {
		status = cli_error(ctx, &ms_error_no_memory);
		goto out;
	}
	unsigned flags = o.fault_in ? MS_READ_FAULT_IN : 0;
	if (o.raw_file) {
		status = dump_raw(ctx, t, addr, bytes, flags, o.raw_file, buf);
		goto out;
	}

	struct json *j = ctx->session->json ? &ctx->json : NULL;
	struct memdump dump;
	struct memdump_ascii adump;
	memdump_init(&dump, stdout, width, o.radix, !o.no_ascii, o.net, o.symbolic ? syms : NULL);
	memdump_ascii_init(&adump, stdout, unlimited);
	if (j) {
		json_begin_object(j);
		json_kv_hex(j, "address", addr);
		json_kv_u64(j, "width", width * 8);
		json_key(j, o.ascii_mode ? "strings" : "values");
		json_begin_array(j);
	}
	/* -a as JSON: runs of printable characters, each with its address */
	char *run = NULL;
	size_t run_len = 0;
	uint64_t run_addr = 0;
	if (j && o.ascii_mode && !(run = malloc(RD_CHUNK))) {
		status = cli_error(ctx, &ms_error_no_memory);
		goto out;
	}
	uint64_t done = 0;
	bool stop = false;
	while (done < bytes && !stop && !cli_interrupted) {
		uint64_t left = bytes - done;
		size_t want = left > RD_CHUNK ? RD_CHUNK : (size_t)left;
		/* unlimited -a reads a page at a time: the string usually ends soon */
		if (unlimited && want > ms_page_size())
			want = ms_page_size() - (size_t)((addr + done) % ms_page_size());
		size_t got = 0;
		err = ms_target_read(t, addr + done, buf, want, flags, &got);
		size_t usable = got / width * width;
		uint64_t at = addr + done;
		if (o.ascii_mode && j) {
			for (size_t i = 0; i < usable && !stop; i++) {
				bool printable = buf[i] >= 0x20 && buf[i] < 0x7f;
				if (printable) {
					if (!run_len)
						run_addr = at + i;
					run[run_len++] = (char)buf[i];
				}
				if ((!printable || run_len == RD_CHUNK) && run_len) {
					json_begin_object(j);
					json_kv_hex(j, "address", run_addr);
					json_key(j, "text");
					json_string_len(j, run, run_len);
					json_end_object(j);
					run_len = 0;
				}
				if (!printable && unlimited)
					stop = true;
			}
		} else if (o.ascii_mode) {
			stop = !memdump_ascii_feed(&adump, at, buf, usable);
		} else if (j) {
			json_values(j, at, buf, usable, &o, o.symbolic ? syms : NULL);
		} else {
			memdump_feed(&dump, at, buf, usable);
		}
		done += usable;
		if (err)
			break;
	}
	if (run_len) {
		json_begin_object(j);
		json_kv_hex(j, "address", run_addr);
		json_key(j, "text");
		json_string_len(j, run, run_len);
		json_end_object(j);
	}
	free(run);
	memdump_finish(&dump);
	memdump_ascii_finish(&adump);
	if (err && unlimited && done > 0 && err->code == MS_ERROR_FAULT) {
		/* an ASCII run that reaches unreadable memory simply ends there */
		ms_error_destroy(err);
		err = NULL;
	}
	if (j) {
		json_end_array(j);
		json_kv_u64(j, "bytes", done);
		if (err) {
			json_key(j, "error");
			json_begin_object(j);
			json_kv_hex(j, "address", addr + done);
			json_kv_string(j, "message", err->message);
			json_end_object(j);
		}
		json_end_object(j);
		json_finish(j);
	}
	if (err)
		status = read_error(ctx, t, err, addr + done, width, user_top);
out:
	free(buf);
	ms_symbols_destroy(syms);
	return status;
}
