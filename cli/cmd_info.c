/* SPDX-License-Identifier: MIT */
/*
 * info: gdb's `info threads`, `info registers`, `info auxv` and `info files`
 * on the target. On a core they show what the notes hold; on a live process
 * the threads are frozen just long enough to copy their registers.
 */
#include <elf.h>
#include <getopt.h>
#include <inttypes.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/core.h"
#include "../lib/dwarf.h"
#include "../lib/target.h"
#include "../lib/unwind.h"
#include "commands.h"
#include "frame.h"

enum reg_format { REG_INT, REG_ADDR, REG_FLAGS, REG_SEG };

struct reg {
	const char *name;
	size_t offset; /* in struct user_regs_struct */
	enum reg_format format;
	bool general; /* listed by a bare `info registers` */
};

#define R(n, f, g)                                                                                 \
	{                                                                                          \
#n, offsetof(struct user_regs_struct, n), f, g                                     \
	}
static const struct reg regs[] = {
	R(rax, REG_INT, true),	   R(rbx, REG_INT, true),     R(rcx, REG_INT, true),
	R(rdx, REG_INT, true),	   R(rsi, REG_INT, true),     R(rdi, REG_INT, true),
	R(rbp, REG_ADDR, true),	   R(rsp, REG_ADDR, true),    R(r8, REG_INT, true),
	R(r9, REG_INT, true),	   R(r10, REG_INT, true),     R(r11, REG_INT, true),
	R(r12, REG_INT, true),	   R(r13, REG_INT, true),     R(r14, REG_INT, true),
	R(r15, REG_INT, true),	   R(rip, REG_ADDR, true),    R(eflags, REG_FLAGS, true),
	R(cs, REG_SEG, true),	   R(ss, REG_SEG, true),      R(ds, REG_SEG, true),
	R(es, REG_SEG, true),	   R(fs, REG_SEG, true),      R(gs, REG_SEG, true),
	R(fs_base, REG_INT, true), R(gs_base, REG_INT, true), R(orig_rax, REG_INT, false),
};
#undef R

static uint64_t reg_value(const struct ms_thread *th, const struct reg *r)
{
	uint64_t v;
	memcpy(&v, (const char *)&th->regs + r->offset, sizeof(v));
	return v;
}

static void format_flags(char *buf, size_t size, uint64_t v)
{
	static const struct {
		int bit;
		const char *name;
	} flags[] = {{0, "CF"},	 {2, "PF"},   {4, "AF"},   {6, "ZF"},  {7, "SF"},  {8, "TF"},
		     {9, "IF"},	 {10, "DF"},  {11, "OF"},  {14, "NT"}, {16, "RF"}, {17, "VM"},
		     {18, "AC"}, {19, "VIF"}, {20, "VIP"}, {21, "ID"}};
	size_t n = (size_t)snprintf(buf, size, "[ ");
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++)
		if (v & (UINT64_C(1) << flags[i].bit) && n < size)
			n += (size_t)snprintf(buf + n, size - n, "%s ", flags[i].name);
	if (n < size)
		snprintf(buf + n, size - n, "]");
}

/* pointers (pc, sp, fp): what they point at, as gdb's "<name+offset>" */
static void print_reg(const char *name, uint64_t v, enum reg_format format,
		      struct ms_dwarf_session *session)
{
	char hexbuf[24], natural[64 + 256];
	snprintf(hexbuf, sizeof(hexbuf), "0x%" PRIx64, v);
	switch (format) {
	case REG_INT:
		snprintf(natural, sizeof(natural), "%" PRId64, (int64_t)v);
		break;
	case REG_ADDR: {
		uint64_t off = 0;
		const char *sym = session ? ms_dwarf_address_name(session, v, &off) : NULL;
		if (sym && off)
			snprintf(natural, sizeof(natural), "0x%" PRIx64 " <%.256s%+" PRId64 ">", v,
				 sym, (int64_t)off);
		else if (sym)
			snprintf(natural, sizeof(natural), "0x%" PRIx64 " <%.256s>", v, sym);
		else {
			snprintf(natural, sizeof(natural), "0x%" PRIx64, v);
		}
		break;
	}
	case REG_FLAGS:
		format_flags(natural, sizeof(natural), v);
		break;
	case REG_SEG:
		snprintf(natural, sizeof(natural), "%" PRId32, (int32_t)v);
		break;
	}
	printf("%-15s%-19s %s\n", name, hexbuf, natural);
}

/* Registers from the FXSAVE area that `info registers NAME` accepts. */
static bool fp_reg(const struct ms_thread *th, const char *name, unsigned char out[16],
		   size_t *size_ret)
{
	if (!th->has_fpregs)
		return false;
	const struct user_fpregs_struct *fp = &th->fpregs;
	unsigned idx;
	char tail;
	if (sscanf(name, "xmm%u%c", &idx, &tail) == 1 && idx < 16) {
		memcpy(out, &fp->xmm_space[idx * 4], 16);
		*size_ret = 16;
		return true;
	}
	uint64_t v;
	if (strcmp(name, "mxcsr") == 0)
		v = fp->mxcsr;
	else if (strcmp(name, "fctrl") == 0)
		v = fp->cwd;
	else if (strcmp(name, "fstat") == 0)
		v = fp->swd;
	else if (strcmp(name, "ftag") == 0)
		v = fp->ftw;
	else if (strcmp(name, "fop") == 0)
		v = fp->fop;
	else
		return false;
	memcpy(out, &v, sizeof(v));
	*size_ret = sizeof(v);
	return true;
}

static void hex128(char *buf, const unsigned char v[16])
{
	int start = 15;
	while (start > 0 && v[start] == 0)
		start--;
	char *p = buf + sprintf(buf, "0x%x", v[start]);
	for (int i = start - 1; i >= 0; i--)
		p += sprintf(p, "%02x", v[i]);
}

static const struct reg *find_reg(const char *name)
{
	if (name[0] == '$')
		name++;
	for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
		if (strcmp(regs[i].name, name) == 0)
			return &regs[i];
	if (strcmp(name, "pc") == 0)
		return find_reg("rip");
	if (strcmp(name, "sp") == 0)
		return find_reg("rsp");
	if (strcmp(name, "fp") == 0)
		return find_reg("rbp");
	return NULL;
}

static const struct ms_thread *pick_thread(const struct ms_thread_list *list, pid_t tid)
{
	if (!tid)
		return list->count ? &list->threads[0] : NULL;
	for (size_t i = 0; i < list->count; i++)
		if (list->threads[i].tid == tid)
			return &list->threads[i];
	return NULL;
}

static void json_thread_regs(struct json *j, const struct ms_thread *th)
{
	json_key(j, "registers");
	json_begin_object(j);
	for (size_t i = 0; i < sizeof(regs) / sizeof(regs[0]); i++)
		json_kv_hex(j, regs[i].name, reg_value(th, &regs[i]));
	json_end_object(j);
}

static void json_signal(struct json *j, const struct ms_thread *th)
{
	char buf[128];
	json_key(j, "signal");
	if (!th->cursig && !(th->has_siginfo && th->siginfo.si_signo)) {
		json_null(j);
		return;
	}
	json_begin_object(j);
	json_kv_i64(j, "number",
		    th->has_siginfo && th->siginfo.si_signo ? th->siginfo.si_signo : th->cursig);
	json_kv_i64(j, "code", th->siginfo.si_code);
	json_kv_string(j, "description",
		       ms_core_describe_signal(&th->siginfo, th->has_siginfo, buf, sizeof(buf)));
	if (th->has_siginfo)
		json_kv_hex(j, "address", (uint64_t)(uintptr_t)th->siginfo.si_addr);
	json_end_object(j);
}

/*
 * The threads with their innermost frames, as bt finds them: a live process
 * is frozen once (registers, signal state and the top of each stack copied),
 * and each stack is walked a few frames up, far enough for the entry values
 * of frame #0's arguments.
 */
struct frames0 {
	struct ms_dwarf_session *session;
	struct ms_unwind_snapshot *snap;
	struct ms_thread_list *core_threads;
	const struct ms_thread_list *threads;
	struct ms_unwind_result *res;
};

enum { FRAME0_DEPTH = 4 };

static struct ms_error *frames0_take(struct ms_target *t, struct frames0 *f)
{
	struct ms_error *err;
	if (ms_target_kind(t) == MS_TARGET_LIVE) {
		struct ms_unwind_options uopts = {.full_state = true};
		err = ms_unwind_snapshot_take(t, &uopts, &f->snap);
		if (err)
			return err;
		f->threads = ms_unwind_snapshot_threads(f->snap);
		struct ms_dwarf_memory mem = ms_unwind_snapshot_memory(f->snap);
		err = ms_dwarf_session_create(t, NULL, &mem, &f->session);
	} else {
		err = ms_target_threads(t, true, &f->core_threads);
		if (err)
			return err;
		f->threads = f->core_threads;
		err = ms_dwarf_session_create(t, NULL, NULL, &f->session);
	}
	if (err) {
		/* the threads can still be listed, their frames as gdb without symbols */
		ms_error_destroy(err);
		return NULL;
	}
	err = ms_unwind_threads(f->session, f->threads, ms_target_pid(t), FRAME0_DEPTH, &f->res);
	if (err) {
		ms_error_destroy(err);
		return NULL;
	}
	for (size_t i = 0; i < f->res->count; i++) {
		err = ms_unwind_add_tailcalls(f->session, &f->res->threads[i]);
		if (err)
			return err;
	}
	return NULL;
}

static void frames0_release(struct frames0 *f)
{
	fflush(stdout); /* before the session's end writes any debug cache */
	ms_unwind_result_destroy(f->res);
	ms_dwarf_session_destroy(f->session);
	ms_unwind_snapshot_destroy(f->snap);
	ms_thread_list_destroy(f->core_threads);
}

/*
 * Frame #0 of thread th as bt prints it after "#0  " into out; its frame in
 * frame_ret (for JSON) if one was found, to be destroyed by the caller.
 */
static void frame0_text(struct frames0 *f, const struct ms_thread *th, struct ms_strbuf *out,
			struct ms_dwarf_frame **frames_ret, size_t *nframes_ret)
{
	*frames_ret = NULL;
	*nframes_ret = 0;
	const struct ms_unwind_thread *ut = NULL;
	for (size_t i = 0; f->res && i < f->res->count && !ut; i++)
		if (f->res->threads[i].tid == th->tid)
			ut = &f->res->threads[i];
	struct ms_dwarf_frame *frames = NULL;
	size_t n = 0;
	if (ut && ut->count) {
		struct ms_error *err = ms_unwind_logical_frames(f->session, ut, &frames, &n);
		if (err) {
			ms_error_destroy(err);
			n = 0;
		}
	}
	if (!n) {
		ms_strbuf_addf(out, "0x%016" PRIx64 " in ?? ()", (uint64_t)th->regs.rip);
		free(frames);
		return;
	}
	if (ut->frames[0].signal)
		ms_strbuf_add(out, "<signal handler called>");
	else
		frame_format_line(&frames[0], out);
	*frames_ret = frames;
	*nframes_ret = n;
}

static int info_threads(struct cli_ctx *ctx, struct ms_target *t, int argc, char **argv)
{
	(void)argv;
	if (argc > 1)
		return cli_usage(ctx, "info threads takes no arguments");
	struct frames0 f = {0};
	struct ms_error *err = frames0_take(t, &f);
	if (err) {
		frames0_release(&f);
		return cli_error(ctx, err);
	}
	const struct ms_thread_list *list = f.threads;
	struct ms_strbuf line = {0};
	if (ctx->session->json) {
		struct json *j = &ctx->json;
		json_begin_array(j);
		for (size_t i = 0; i < list->count; i++) {
			const struct ms_thread *th = &list->threads[i];
			json_begin_object(j);
			json_kv_u64(j, "id", i + 1);
			json_kv_i64(j, "tid", th->tid);
			if (th->name[0])
				json_kv_string(j, "name", th->name);
			else /* a core keeps no thread names */
				json_kv_null(j, "name");
			if (th->state)
				json_kv_string(j, "state", (char[2]){th->state, 0});
			else
				json_kv_null(j, "state");
			if (th->has_regs) {
				json_kv_hex(j, "pc", th->regs.rip);
				json_kv_hex(j, "sp", th->regs.rsp);
				struct ms_dwarf_frame *frames;
				size_t n;
				ms_strbuf_reset(&line);
				frame0_text(&f, th, &line, &frames, &n);
				if (n && frames[0].name)
					json_kv_string(j, "function", frames[0].name);
				else
					json_kv_null(j, "function");
				if (n && frames[0].has_line) {
					json_kv_string(j, "file", frames[0].line.file);
					json_kv_i64(j, "line", frames[0].line.line);
				}
				json_kv_string(j, "frame", ms_strbuf_text(&line));
				ms_unwind_frames_destroy(frames, n);
			}
			json_kv_bool(j, "fpregs", th->has_fpregs);
			json_kv_u64(j, "xstate_size", th->xstate_size);
			json_kv_hex(j, "sigpend", th->sigpend);
			json_kv_hex(j, "sighold", th->sighold);
			json_signal(j, th);
			if (th->has_regs)
				json_thread_regs(j, th);
			json_end_object(j);
		}
		json_end_array(j);
		json_finish(j);
	} else {
		printf("  Id   Target Id                  Frame\n");
		for (size_t i = 0; i < list->count && !cli_interrupted; i++) {
			const struct ms_thread *th = &list->threads[i];
			char id[64];
			if (th->name[0])
				snprintf(id, sizeof(id), "LWP %d \"%s\"", (int)th->tid, th->name);
			else /* as gdb: a core has no thread names */
				snprintf(id, sizeof(id), "LWP %d", (int)th->tid);
			printf("%c %-4zu %-26s ", i == 0 ? '*' : ' ', i + 1, id);
			if (th->has_regs) {
				struct ms_dwarf_frame *frames;
				size_t n;
				ms_strbuf_reset(&line);
				frame0_text(&f, th, &line, &frames, &n);
				ms_unwind_frames_destroy(frames, n);
				fputs(ms_strbuf_text(&line), stdout);
			}
			putchar('\n');
		}
	}
	ms_strbuf_deinit(&line);
	frames0_release(&f);
	return CLI_OK;
}

static int info_registers(struct cli_ctx *ctx, struct ms_target *t, int argc, char **argv)
{
	static const struct option options[] = {
		{"thread", required_argument, NULL, 't'},
		{"all", no_argument, NULL, 'a'},
		{NULL, 0, NULL, 0},
	};
	pid_t tid = 0;
	bool all = false;
	int c;
	while ((c = getopt_long(argc, argv, "+t:a", options, NULL)) != -1) {
		switch (c) {
		case 't':
			if (!cli_parse_pid(optarg, &tid))
				return cli_usage(ctx, "invalid thread id '%s'", optarg);
			break;
		case 'a':
			all = true;
			break;
		default:
			return CLI_USAGE;
		}
	}
	for (int i = optind; i < argc; i++) {
		unsigned char tmp[16];
		size_t sz;
		struct ms_thread none = {.has_fpregs = true};
		if (!find_reg(argv[i]) &&
		    !fp_reg(&none, argv[i][0] == '$' ? argv[i] + 1 : argv[i], tmp, &sz))
			return cli_usage(ctx, "invalid register '%s'", argv[i]);
	}
	struct ms_thread_list *list;
	struct ms_error *err = ms_target_threads(t, true, &list);
	if (err)
		return cli_error(ctx, err);
	int status = CLI_OK;
	size_t first = 0, last = list->count;
	if (!all) {
		const struct ms_thread *th = pick_thread(list, tid);
		if (!th) {
			ms_thread_list_destroy(list);
			return cli_error(ctx,
					 ms_error_create(MS_ERROR_NOT_FOUND, "no thread %d in %s",
							 (int)tid, ms_target_describe(t)));
		}
		first = (size_t)(th - list->threads);
		last = first + 1;
	}
	struct ms_dwarf_session *session = NULL;
	if (!ctx->session->json) {
		err = ms_dwarf_session_create(t, NULL, NULL, &session);
		ms_error_destroy(err); /* without it, no names after the pointers */
	}
	struct json *j = &ctx->json;
	if (ctx->session->json)
		json_begin_array(j);
	for (size_t k = first; k < last; k++) {
		const struct ms_thread *th = &list->threads[k];
		if (ctx->session->json) {
			json_begin_object(j);
			json_kv_i64(j, "tid", th->tid);
		} else if (all) {
			printf("%sThread %zu (LWP %d):\n", k > first ? "\n" : "", k + 1,
			       (int)th->tid);
		}
		if (!th->has_regs) {
			if (ctx->session->json) {
				json_kv_null(j, "registers");
				json_end_object(j);
			} else {
				printf("(registers not available)\n");
			}
			status = CLI_PARTIAL;
			continue;
		}
		if (ctx->session->json) {
			json_key(j, "registers");
			json_begin_object(j);
		}
		for (int i = optind; i < argc || (i == optind && optind == argc); i++) {
			if (i == argc) { /* no names: the general registers */
				for (size_t r = 0; r < sizeof(regs) / sizeof(regs[0]); r++) {
					if (!regs[r].general)
						continue;
					if (ctx->session->json)
						json_kv_hex(j, regs[r].name,
							    reg_value(th, &regs[r]));
					else
						print_reg(regs[r].name, reg_value(th, &regs[r]),
							  regs[r].format, session);
				}
				break;
			}
			const char *name = argv[i][0] == '$' ? argv[i] + 1 : argv[i];
			const struct reg *r = find_reg(name);
			if (r) {
				if (ctx->session->json)
					json_kv_hex(j, name, reg_value(th, r));
				else
					print_reg(name, reg_value(th, r), r->format, session);
				continue;
			}
			unsigned char v[16] = {0};
			size_t sz;
			if (!fp_reg(th, name, v, &sz)) {
				if (ctx->session->json)
					json_kv_null(j, name);
				else
					printf("%-15s(not in the %s)\n", name,
					       ms_target_kind(t) == MS_TARGET_CORE ? "core"
										   : "thread");
				status = CLI_PARTIAL;
				continue;
			}
			char buf[48];
			hex128(buf, v);
			if (ctx->session->json)
				json_kv_string(j, name, buf);
			else if (sz == 16)
				printf("%-15s%s\n", name, buf);
			else {
				uint64_t word;
				memcpy(&word, v, sizeof(word));
				print_reg(name, word, REG_INT, NULL);
			}
		}
		if (ctx->session->json) {
			json_end_object(j);
			json_end_object(j);
		}
	}
	if (ctx->session->json) {
		json_end_array(j);
		json_finish(j);
	}
	fflush(stdout); /* before the session's end writes any debug cache */
	ms_dwarf_session_destroy(session);
	ms_thread_list_destroy(list);
	return status;
}

struct auxv_type {
	uint64_t type;
	const char *name;
	const char *what;
	enum { AUX_DEC, AUX_HEX, AUX_STR } format;
};

static const struct auxv_type auxv_types[] = {
	{AT_NULL, "AT_NULL", "end of the vector", AUX_HEX},
	{AT_IGNORE, "AT_IGNORE", "ignored entry", AUX_HEX},
	{AT_EXECFD, "AT_EXECFD", "file descriptor of the program", AUX_DEC},
	{AT_PHDR, "AT_PHDR", "program headers of the program", AUX_HEX},
	{AT_PHENT, "AT_PHENT", "size of a program header", AUX_DEC},
	{AT_PHNUM, "AT_PHNUM", "number of program headers", AUX_DEC},
	{AT_PAGESZ, "AT_PAGESZ", "page size", AUX_DEC},
	{AT_BASE, "AT_BASE", "load address of the interpreter", AUX_HEX},
	{AT_FLAGS, "AT_FLAGS", "flags", AUX_HEX},
	{AT_ENTRY, "AT_ENTRY", "entry point of the program", AUX_HEX},
	{AT_NOTELF, "AT_NOTELF", "the program is not ELF", AUX_DEC},
	{AT_UID, "AT_UID", "real user id", AUX_DEC},
	{AT_EUID, "AT_EUID", "effective user id", AUX_DEC},
	{AT_GID, "AT_GID", "real group id", AUX_DEC},
	{AT_EGID, "AT_EGID", "effective group id", AUX_DEC},
	{AT_PLATFORM, "AT_PLATFORM", "platform name", AUX_STR},
	{AT_HWCAP, "AT_HWCAP", "CPU capabilities", AUX_HEX},
	{AT_CLKTCK, "AT_CLKTCK", "clock ticks per second", AUX_DEC},
	{AT_SECURE, "AT_SECURE", "started setuid-like", AUX_DEC},
	{AT_BASE_PLATFORM, "AT_BASE_PLATFORM", "base platform name", AUX_STR},
	{AT_RANDOM, "AT_RANDOM", "address of 16 random bytes", AUX_HEX},
	{AT_HWCAP2, "AT_HWCAP2", "more CPU capabilities", AUX_HEX},
	{AT_EXECFN, "AT_EXECFN", "file name of the program", AUX_STR},
	{AT_SYSINFO_EHDR, "AT_SYSINFO_EHDR", "ELF header of the vDSO", AUX_HEX},
	{AT_MINSIGSTKSZ, "AT_MINSIGSTKSZ", "smallest signal stack size", AUX_HEX},
	{27, "AT_RSEQ_FEATURE_SIZE", "rseq feature size", AUX_DEC},
	{28, "AT_RSEQ_ALIGN", "rseq alignment", AUX_DEC},
	{29, "AT_HWCAP3", "more CPU capabilities", AUX_HEX},
	{30, "AT_HWCAP4", "more CPU capabilities", AUX_HEX},
};

/* A NUL-terminated string from target memory, cut at len - 1 bytes. */
static bool read_string(struct ms_target *t, uint64_t addr, char *buf, size_t len)
{
	size_t done = 0;
	struct ms_error *err = ms_target_read(t, addr, buf, len - 1, 0, &done);
	ms_error_destroy(err);
	if (done == 0)
		return false;
	buf[done] = '\0';
	return memchr(buf, '\0', done + 1) != NULL;
}

static int info_auxv(struct cli_ctx *ctx, struct ms_target *t, int argc, char **argv)
{
	(void)argv;
	if (argc > 1)
		return cli_usage(ctx, "info auxv takes no arguments");
	void *auxv;
	size_t size;
	struct ms_error *err = ms_target_auxv(t, &auxv, &size);
	if (err)
		return cli_error(ctx, err);
	struct json *j = &ctx->json;
	if (ctx->session->json)
		json_begin_array(j);
	const uint64_t *v = auxv;
	for (size_t i = 0; (i + 2) * 8 <= size; i += 2) {
		uint64_t type = v[i], value = v[i + 1];
		const struct auxv_type *at = NULL;
		for (size_t k = 0; k < sizeof(auxv_types) / sizeof(auxv_types[0]); k++)
			if (auxv_types[k].type == type)
				at = &auxv_types[k];
		char str[256];
		bool has_str =
			at && at->format == AUX_STR && read_string(t, value, str, sizeof(str));
		if (ctx->session->json) {
			json_begin_object(j);
			json_kv_u64(j, "type", type);
			if (at)
				json_kv_string(j, "name", at->name);
			else
				json_kv_null(j, "name");
			json_kv_hex(j, "value", value);
			if (has_str)
				json_kv_string(j, "string", str);
			json_end_object(j);
		} else {
			printf("%-4" PRIu64 " %-20s %-32s ", type, at ? at->name : "?",
			       at ? at->what : "");
			if (at && at->format == AUX_DEC)
				printf("%" PRIu64 "\n", value);
			else if (has_str)
				printf("0x%" PRIx64 " \"%s\"\n", value, str);
			else
				printf("0x%" PRIx64 "\n", value);
		}
		if (type == AT_NULL)
			break;
	}
	if (ctx->session->json) {
		json_end_array(j);
		json_finish(j);
	}
	free(auxv);
	return CLI_OK;
}

static void print_perms(const struct ms_vma *v)
{
	if (v->prot_unknown) {
		fputs("???", stdout);
		return;
	}
	putchar(v->prot & MS_PROT_READ ? 'r' : '-');
	putchar(v->prot & MS_PROT_WRITE ? 'w' : '-');
	putchar(v->prot & MS_PROT_EXEC ? 'x' : '-');
}

static const char *source_name(enum ms_core_source s)
{
	switch (s) {
	case MS_CORE_SRC_CORE:
		return "core";
	case MS_CORE_SRC_FILE:
		return "file";
	case MS_CORE_SRC_NONE:
		return "none";
	default:
		return "unmapped";
	}
}

/* Each mapping of a core, split where the source of its bytes changes. */
static int info_files(struct cli_ctx *ctx, struct ms_target *t, int argc, char **argv)
{
	(void)argv;
	if (argc > 1)
		return cli_usage(ctx, "info files takes no arguments");
	struct ms_core *core = ms_target_core(t);
	if (!core)
		return cli_error(ctx, ms_error_create(MS_ERROR_INVALID,
						      "info files describes a core file; for a "
						      "live process use vm"));
	const struct ms_maps *maps;
	struct ms_error *err = ms_target_maps(t, MS_MAPS_BASIC, &maps);
	if (err)
		return cli_error(ctx, err);
	struct json *j = &ctx->json;
	size_t nsegs, nfiles, nthreads;
	ms_core_segments(core, &nsegs);
	ms_core_files(core, &nfiles);
	ms_core_threads(core, &nthreads);
	if (ctx->session->json) {
		json_begin_object(j);
		json_kv_string(j, "core", ms_core_path(core));
		json_kv_u64(j, "size", ms_core_size(core));
		json_kv_u64(j, "segments", nsegs);
		json_kv_u64(j, "threads", nthreads);
		json_key(j, "mappings");
		json_begin_array(j);
	} else {
		char size[32];
		printf("Core file %s: %s, %zu segments, %zu mapped files, %zu threads\n",
		       ms_core_path(core), out_size(size, ms_core_size(core)), nsegs, nfiles,
		       nthreads);
		printf("%-18s %-18s %-4s %s\n", "START", "END", "PERM", "WHERE THE BYTES ARE");
	}
	for (size_t i = 0; i < maps->count && !cli_interrupted; i++) {
		const struct ms_vma *v = &maps->vmas[i];
		if (ctx->session->json) {
			json_begin_object(j);
			json_kv_hex(j, "start", v->start);
			json_kv_hex(j, "end", v->end);
			if (v->prot_unknown) {
				json_kv_null(j, "perms");
			} else {
				char perms[5];
				ms_vma_perms(v, perms);
				perms[3] = '\0';
				json_kv_string(j, "perms", perms);
			}
			json_kv_bool(j, "segment", !v->prot_unknown);
			json_kv_hex(j, "core_offset", v->core_offset);
			json_kv_hex(j, "core_size", v->core_filesz);
			if (v->name)
				json_kv_string(j, "name", v->name);
			else
				json_kv_null(j, "name");
			if (v->kind == MS_VMA_FILE)
				json_kv_hex(j, "file_offset", v->offset);
			json_key(j, "extents");
			json_begin_array(j);
		}
		for (uint64_t a = v->start; a < v->end;) {
			struct ms_core_extent e;
			err = ms_target_core_extent(t, a, &e);
			if (err)
				break;
			uint64_t end = e.end < v->end ? e.end : v->end;
			uint64_t holes = e.hole ? end - a : 0;
			/* text: one line per run in the core, with how much of it is holes */
			while (!ctx->session->json && e.source == MS_CORE_SRC_CORE &&
			       end < v->end) {
				struct ms_core_extent n;
				err = ms_target_core_extent(t, end, &n);
				if (err || n.source != MS_CORE_SRC_CORE)
					break;
				uint64_t next = n.end < v->end ? n.end : v->end;
				if (n.hole)
					holes += next - end;
				end = next;
			}
			if (err)
				break;
			if (ctx->session->json) {
				json_begin_object(j);
				json_kv_hex(j, "start", a);
				json_kv_hex(j, "end", end);
				json_kv_string(j, "source", source_name(e.source));
				if (e.source == MS_CORE_SRC_CORE) {
					json_kv_hex(j, "offset", e.offset);
					json_kv_bool(j, "hole", e.hole);
				} else if (e.source == MS_CORE_SRC_FILE) {
					json_kv_string(j, "path", e.path);
					json_kv_hex(j, "offset", e.offset);
				} else if (e.why) {
					json_kv_string(j, "why", e.why);
				}
				json_end_object(j);
			} else {
				printf("0x%016" PRIx64 " 0x%016" PRIx64 " ", a, end);
				print_perms(v);
				char size[32];
				if (e.source == MS_CORE_SRC_CORE && holes == end - a)
					printf("  in core at 0x%" PRIx64 " (a hole: zeros)",
					       e.offset);
				else if (e.source == MS_CORE_SRC_CORE && holes)
					printf("  in core at 0x%" PRIx64 " (%s of holes)", e.offset,
					       out_size(size, holes));
				else if (e.source == MS_CORE_SRC_CORE)
					printf("  in core at 0x%" PRIx64, e.offset);
				else if (e.source == MS_CORE_SRC_FILE)
					printf("  from file at 0x%" PRIx64, e.offset);
				else if (e.why)
					printf("  not in core (%s)", e.why);
				else
					printf("  not in core");
				if (v->name)
					printf("  %s", v->name);
				putchar('\n');
			}
			a = end;
		}
		if (err)
			break;
		if (ctx->session->json) {
			json_end_array(j);
			json_end_object(j);
		}
	}
	if (ctx->session->json) {
		json_end_array(j);
		json_end_object(j);
		json_finish(j);
	}
	return err ? cli_error(ctx, err) : CLI_OK;
}

int cmd_info(struct cli_ctx *ctx, int argc, char **argv)
{
	if (argc < 2)
		return cli_usage(ctx, "info what? threads, registers, auxv or files");
	struct ms_target *t;
	struct ms_error *err = cli_target(ctx, 0, &t);
	if (err)
		return cli_error(ctx, err);
	const char *what = argv[1];
	size_t len = strlen(what);
	static const struct {
		const char *name;
		size_t min; /* shortest accepted abbreviation, as gdb allows */
		int (*fn)(struct cli_ctx *, struct ms_target *, int, char **);
	} subs[] = {
		{"threads", 2, info_threads}, {"registers", 1, info_registers},
		{"auxv", 2, info_auxv},	      {"files", 3, info_files},
		{"target", 3, info_files},
	};
	for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++)
		if (len >= subs[i].min && strncmp(subs[i].name, what, len) == 0)
			return subs[i].fn(ctx, t, argc - 1, argv + 1);
	return cli_usage(ctx, "unknown info subcommand '%s': threads, registers, auxv or files",
			 what);
}
