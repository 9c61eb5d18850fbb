/* SPDX-License-Identifier: MIT */
/*
 * bt: every thread's backtrace as gdb's `thread apply all bt [full]` prints
 * it, from a live process (frozen only while registers and stacks are
 * copied) or a core file. Also `thread apply all bt [full]`, gdb's
 * spelling, at the prompt and on the command line.
 */
#include <getopt.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/dwarf.h"
#include "../lib/format_value.h"
#include "../lib/unwind.h"
#include "../lib/target.h"
#include "commands.h"
#include "frame.h"

struct bt {
	struct cli_ctx *ctx;
	struct ms_dwarf_session *session;
	bool full;
	bool json;
	struct ms_strbuf line, val;
	int status;
	/* modules without debug info, reported once each */
	Dwfl_Module *nodebug[256];
	const char *nodebug_name[256];
	size_t nnodebug;
};

static void note_module(struct bt *bt, const struct ms_dwarf_frame *f)
{
	if (!f->mod || f->has_scope)
		return;
	for (size_t i = 0; i < bt->nnodebug; i++)
		if (bt->nodebug[i] == f->mod)
			return;
	struct ms_dwarf_module m;
	if (!ms_dwarf_module_at(bt->session, f->pc - (f->activation ? 0 : 1), &m) || m.has_dwarf)
		return;
	if (bt->nnodebug < sizeof(bt->nodebug) / sizeof(bt->nodebug[0])) {
		bt->nodebug_name[bt->nnodebug] = m.display;
		bt->nodebug[bt->nnodebug++] = f->mod;
	}
}

static void json_var(struct json *j, struct ms_dwarf_variable *var, const char *text)
{
	json_begin_object(j);
	json_kv_string(j, "name", var->name ? var->name : "?");
	char *tn = ms_dwarf_variable_type_name(var);
	json_kv_string(j, "type", tn ? tn : "?");
	free(tn);
	json_kv_string(j, "value", text);
	json_end_object(j);
}

static void print_frame(struct bt *bt, struct ms_dwarf_frame *f, int level, bool sigframe)
{
	if (sigframe) {
		/* the frame the kernel built to call a signal handler, as gdb names it */
		if (bt->json) {
			struct json *j = &bt->ctx->json;
			json_begin_object(j);
			json_kv_i64(j, "level", level);
			json_kv_hex(j, "pc", f->pc);
			json_kv_string(j, "function", "<signal handler called>");
			json_kv_bool(j, "signal_frame", true);
			json_key(j, "args");
			json_begin_array(j);
			json_end_array(j);
			if (bt->full) {
				json_key(j, "locals");
				json_begin_array(j);
				json_end_array(j);
			}
			json_end_object(j);
		} else {
			printf("#%-2d <signal handler called>\n", level);
			if (bt->full)
				puts("No locals.");
		}
		return;
	}
	struct json *j = &bt->ctx->json;
	note_module(bt, f);
	if (!bt->json) {
		struct ms_strbuf *out = &bt->line;
		ms_strbuf_reset(out);
		ms_strbuf_addf(out, "#%-2d ", level);
		frame_format_line(f, out);
		fputs(ms_strbuf_text(out), stdout);
		fputc('\n', stdout);
	} else {
		json_begin_object(j);
		json_kv_i64(j, "level", level);
		json_kv_hex(j, "pc", f->pc);
		json_kv_string(j, "function", f->name ? f->name : "??");
		json_kv_bool(j, "inlined", f->inlined);
		if (f->has_line) {
			json_kv_string(j, "file", f->line.file);
			json_kv_i64(j, "line", f->line.line);
		}
		const char *m = frame_module_path(f, false);
		if (m)
			json_kv_string(j, "module", m);
		json_key(j, "args");
		json_begin_array(j);
		struct ms_dwarf_variables vars = {0};
		struct ms_format_options args_opts = ms_format_defaults;
		args_opts.summary = true;
		struct ms_error *err = ms_dwarf_frame_variables(f, MS_DWARF_PARAMS, &vars);
		if (err) {
			ms_error_destroy(err);
			vars.count = 0;
		}
		for (size_t i = 0; i < vars.count; i++) {
			ms_strbuf_reset(&bt->val);
			frame_format_arg(f, &vars.vars[i], &args_opts, &bt->val);
			/* the value text after "name=" */
			const char *text = ms_strbuf_text(&bt->val);
			const char *eq = strchr(text, '=');
			json_var(j, &vars.vars[i], eq ? eq + 1 : text);
		}
		free(vars.vars);
		json_end_array(j);
	}
	if (!bt->full) {
		if (bt->json)
			json_end_object(j);
		return;
	}
	if (bt->json) {
		json_key(j, "locals");
		json_begin_array(j);
	}
	if (!f->has_scope) {
		if (!bt->json)
			puts("No symbol table info available.");
	} else {
		struct ms_dwarf_variables vars = {0};
		struct ms_error *err = ms_dwarf_frame_variables(f, MS_DWARF_LOCALS, &vars);
		if (err) {
			ms_error_destroy(err);
			vars.count = 0;
			vars.vars = NULL;
		}
		if (!vars.count && !bt->json)
			puts("No locals.");
		for (size_t i = 0; i < vars.count; i++) {
			ms_strbuf_reset(&bt->val);
			struct ms_dwarf_value *v = ms_dwarf_variable_value(f, &vars.vars[i]);
			ms_format_value(v, &ms_format_defaults, &bt->val);
			ms_dwarf_value_destroy(v);
			if (bt->json)
				json_var(j, &vars.vars[i], ms_strbuf_text(&bt->val));
			else
				printf("        %s = %s\n", vars.vars[i].name,
				       ms_strbuf_text(&bt->val));
		}
		free(vars.vars);
	}
	if (bt->json) {
		json_end_array(j);
		json_end_object(j);
	}
}

static void print_thread(struct bt *bt, struct ms_unwind_thread *t, int number, size_t limit)
{
	struct json *j = &bt->ctx->json;
	if (bt->json) {
		json_begin_object(j);
		json_kv_i64(j, "number", number);
		json_kv_i64(j, "tid", t->tid);
		if (t->thread_pointer)
			json_kv_hex(j, "pthread", t->thread_pointer);
		if (t->name[0])
			json_kv_string(j, "name", t->name);
		json_key(j, "frames");
		json_begin_array(j);
	} else {
		printf("\nThread %d (", number);
		if (t->thread_pointer)
			printf("Thread 0x%" PRIx64 " (LWP %d)", t->thread_pointer, (int)t->tid);
		else
			printf("LWP %d", (int)t->tid);
		if (t->name[0])
			printf(" \"%s\"", t->name);
		puts("):");
	}
	struct ms_dwarf_frame *all = NULL;
	size_t nall = 0;
	struct ms_error *err = ms_unwind_logical_frames(bt->session, t, &all, &nall);
	if (err) {
		ms_error_destroy(err);
		bt->status = CLI_PARTIAL;
	}
	int level = 0;
	bool more = false, past_main = false;
	for (size_t k = 0; k < nall && !cli_interrupted && !past_main; k++) {
		if (limit && (size_t)level >= limit) {
			more = true;
			break;
		}
		print_frame(bt, &all[k], level, t->frames[all[k].physical].signal);
		level++;
		/* gdb's backtrace past-main off: the walk ends at main. */
		if (!all[k].inlined && all[k].name && strcmp(all[k].name, "main") == 0)
			past_main = true;
	}
	ms_unwind_frames_destroy(all, nall);
	if (bt->json) {
		json_end_array(j);
		if (t->stopped && !past_main)
			json_kv_string(j, "stopped", t->stopped);
		if (more || t->truncated)
			json_kv_bool(j, "more_frames", true);
		json_end_object(j);
		return;
	}
	if (more || t->truncated)
		puts("(More stack frames follow...)");
	if (t->stopped && !past_main)
		printf("Backtrace stopped: %s\n", t->stopped);
}

int cmd_bt(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option options[] = {
		{"full", no_argument, NULL, 'f'},
		{"thread", required_argument, NULL, 't'},
		{"debug-dir", required_argument, NULL, 'd'},
		{"verbose", no_argument, NULL, 'v'},
		{NULL, 0, NULL, 0},
	};
	struct bt bt = {.ctx = ctx, .json = ctx->session->json};
	uint64_t limit = 0;
	pid_t only = 0;
	const char *debug_dirs = NULL;
	int verbose = ctx->session->verbose;
	int c;
	while ((c = getopt_long(argc, argv, "fn:t:v", options, NULL)) != -1) {
		switch (c) {
		case 'f':
			bt.full = true;
			break;
		case 'n':
			if (!out_parse_count(optarg, &limit) || !limit)
				return cli_usage(ctx, "-n wants a positive number of frames");
			break;
		case 't':
			if (!cli_parse_pid(optarg, &only))
				return cli_usage(ctx, "--thread wants a thread id");
			break;
		case 'd':
			debug_dirs = optarg;
			break;
		case 'v':
			verbose++;
			break;
		default:
			return CLI_USAGE;
		}
	}
	/* gdb's own spellings: bt full, bt N */
	for (int i = optind; i < argc; i++) {
		if (strcmp(argv[i], "full") == 0 || strcmp(argv[i], "-full") == 0)
			bt.full = true;
		else if (out_parse_count(argv[i], &limit) && limit)
			;
		else
			return cli_usage(ctx, "unexpected argument '%s'", argv[i]);
	}

	struct ms_target *target = ctx->session->target;
	struct ms_dwarf_options dopts = {.debug_dirs = debug_dirs};
	struct ms_unwind_snapshot *snap = NULL;
	struct ms_thread_list *core_threads = NULL;
	const struct ms_thread_list *threads;
	struct ms_unwind_result *res = NULL;
	pid_t *core_order = NULL;
	size_t ncore_order = 0;
	struct ms_error *err;
	double t0 = out_now();
	pid_t pid = ms_target_pid(target);
	bool live = ms_target_kind(target) == MS_TARGET_LIVE;

	if (live) {
		struct ms_unwind_options uopts = {.tid = only, .fpregs = bt.full};
		err = ms_unwind_snapshot_take(target, &uopts, &snap);
		if (err)
			return cli_error(ctx, err);
		threads = ms_unwind_snapshot_threads(snap);
		if (only && threads->count == 0) {
			ms_unwind_snapshot_destroy(snap);
			return cli_error(ctx, ms_error_create(MS_ERROR_NOT_FOUND,
							      "no thread %d in process %d",
							      (int)only, (int)pid));
		}
		struct ms_dwarf_memory mem = ms_unwind_snapshot_memory(snap);
		err = ms_dwarf_session_create(target, &dopts, &mem, &bt.session);
	} else {
		err = ms_dwarf_session_create(target, &dopts, NULL, &bt.session);
		if (!err)
			err = ms_target_threads(target, true, &core_threads);
		threads = core_threads;
	}
	if (err)
		goto out;
	if (!live) {
		ncore_order = core_threads->count;
		core_order = calloc(ncore_order ? ncore_order : 1, sizeof(*core_order));
		if (!core_order) {
			err = &ms_error_no_memory;
			goto out;
		}
		for (size_t i = 0; i < ncore_order; i++)
			core_order[i] = core_threads->threads[i].tid;
	}
	if (!live && only) {
		/* keep the one thread asked for */
		size_t n = 0;
		for (size_t i = 0; i < core_threads->count; i++)
			if (core_threads->threads[i].tid == only)
				core_threads->threads[n++] = core_threads->threads[i];
		core_threads->count = n;
		if (!n) {
			err = ms_error_create(MS_ERROR_NOT_FOUND, "no thread %d in %s", (int)only,
					      ms_target_describe(target));
			goto out;
		}
	}
	err = ms_unwind_threads(bt.session, threads, pid, 0, &res);
	if (err)
		goto out;
	for (size_t i = 0; i < res->count && !err; i++)
		err = ms_unwind_add_tailcalls(bt.session, &res->threads[i]);
	if (err)
		goto out;

	/*
	 * gdb's thread numbers: for a process, the order it found them in
	 * (the order of /proc/PID/task: the main thread, then by creation,
	 * which is not by thread id once ids wrap around); for a core, the
	 * order of its notes. Printed newest first.
	 */
	size_t n = res->count;
	int *number = calloc(n ? n : 1, sizeof(*number));
	size_t *order = calloc(n ? n : 1, sizeof(*order));
	if (!number || !order) {
		free(number);
		free(order);
		err = &ms_error_no_memory;
		goto out;
	}
	if (live) {
		/* where each thread was listed; those found later come after, as found */
		const pid_t *listed;
		size_t nlisted = ms_unwind_snapshot_listed(snap, &listed);
		for (size_t i = 0; i < n; i++) {
			order[i] = nlisted + 1 + i;
			for (size_t k = 0; k < nlisted; k++)
				if (listed[k] == res->threads[i].tid)
					order[i] = k + 1;
			if (res->threads[i].tid == pid)
				order[i] = 0;
		}
		/*
		 * Ranked among every thread listed, not only those shown: bt
		 * --thread numbers its one thread as gdb numbers it among all.
		 */
		for (size_t i = 0; i < n; i++) {
			number[i] = 1;
			for (size_t k = 0; k < nlisted; k++)
				number[i] += (listed[k] == pid ? 0 : k + 1) < order[i];
			for (size_t k = 0; k < n; k++)
				number[i] += order[k] > nlisted && order[k] < order[i];
		}
	} else {
		for (size_t i = 0; i < n; i++) {
			number[i] = (int)i + 1;
			for (size_t k = 0; k < ncore_order; k++)
				if (core_order[k] == res->threads[i].tid)
					number[i] = (int)k + 1;
		}
	}
	if (bt.json) {
		json_begin_object(&ctx->json);
		json_kv_string(&ctx->json, "target", ms_target_describe(target));
		json_kv_i64(&ctx->json, "pid", pid);
		if (snap)
			json_kv_double(&ctx->json, "frozen_ms",
				       ms_unwind_snapshot_frozen(snap) * 1e3);
		json_key(&ctx->json, "threads");
		json_begin_array(&ctx->json);
	}
	for (int want = INT32_MAX; !cli_interrupted;) {
		/* the next lower number */
		size_t pick = n;
		for (size_t i = 0; i < n; i++)
			if (number[i] < want && (pick == n || number[i] > number[pick]))
				pick = i;
		if (pick == n)
			break;
		want = number[pick];
		print_thread(&bt, &res->threads[pick], number[pick], (size_t)limit);
	}
	free(number);
	free(order);
	if (bt.json) {
		json_end_array(&ctx->json);
		json_key(&ctx->json, "exited");
		json_begin_array(&ctx->json);
	}
	if (snap) {
		const pid_t *gone;
		size_t ngone = ms_unwind_snapshot_gone(snap, &gone);
		for (size_t i = 0; i < ngone; i++) {
			if (bt.json)
				json_i64(&ctx->json, gone[i]);
			else
				cli_warn(ctx, "thread %d exited during the walk: skipped",
					 (int)gone[i]);
		}
	}
	if (bt.json) {
		json_end_array(&ctx->json);
		json_key(&ctx->json, "modules_without_debug_info");
		json_begin_array(&ctx->json);
	}
	for (size_t i = 0; i < bt.nnodebug; i++) {
		const char *name = bt.nodebug_name[i];
		if (bt.json)
			json_string(&ctx->json, name ? name : "?");
		else
			cli_warn(ctx, "no debug info for %s: names from its ELF symbol table",
				 name ? name : "?");
	}
	if (bt.json) {
		json_end_array(&ctx->json);
		json_end_object(&ctx->json);
		json_finish(&ctx->json);
	}
	if (verbose && snap) {
		fflush(stdout);
		fprintf(stderr,
			"memscope: bt: process %d frozen for %.3f ms (%zu threads, %zu KiB of "
			"stack copied); total %.1f ms\n",
			(int)pid, ms_unwind_snapshot_frozen(snap) * 1e3, threads->count,
			ms_unwind_snapshot_bytes(snap) >> 10, (out_now() - t0) * 1e3);
	}
out:
	fflush(stdout); /* before the session's end writes any debug cache */
	ms_unwind_result_destroy(res);
	free(core_order);
	ms_dwarf_session_destroy(bt.session);
	ms_unwind_snapshot_destroy(snap);
	ms_thread_list_destroy(core_threads);
	ms_strbuf_deinit(&bt.line);
	ms_strbuf_deinit(&bt.val);
	if (err)
		return cli_error(ctx, err);
	return bt.status;
}

/* thread apply all bt [full] / thread apply TID... bt [full]: gdb's spelling. */
int cmd_thread(struct cli_ctx *ctx, int argc, char **argv)
{
	if (argc < 4 || strcmp(argv[1], "apply") != 0)
		return cli_usage(ctx, "only `thread apply all bt [full]` is supported");
	int i = 2;
	pid_t tid = 0;
	if (strcmp(argv[i], "all") == 0) {
		i++;
	} else {
		if (!cli_parse_pid(argv[i], &tid))
			return cli_usage(ctx, "thread apply wants 'all' or a thread id");
		i++;
	}
	if (i >= argc || (strcmp(argv[i], "bt") != 0 && strcmp(argv[i], "backtrace") != 0 &&
			  strcmp(argv[i], "where") != 0))
		return cli_usage(ctx, "only `thread apply all bt [full]` is supported");
	char *bt_argv[64];
	char tidbuf[32];
	int n = 0;
	bt_argv[n++] = "bt";
	if (tid) {
		snprintf(tidbuf, sizeof(tidbuf), "--thread=%d", (int)tid);
		bt_argv[n++] = tidbuf;
	}
	for (i++; i < argc && n < 63; i++)
		bt_argv[n++] = argv[i];
	bt_argv[n] = NULL;
	optind = 0;
	return cmd_bt(ctx, n, bt_argv);
}
