/* SPDX-License-Identifier: MIT */
/*
 * gcore (gdb's generate-core-file): an ELF core of a live process that stops
 * it only for the milliseconds of a fork snapshot. The dump runs in a worker
 * process: if memscope itself is killed, even with SIGKILL, the worker is
 * told (parent-death signal) and undoes everything: the target is released,
 * the snapshot process killed and reaped, the partial file gone.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../lib/coredump.h"
#include "../lib/target.h"
#include "commands.h"

struct gcore_args {
	pid_t pid;
	char path[4096];
	struct ms_gcore_options options;
};

struct progress_state {
	struct progress bar;
	bool started;
};

static void on_progress(void *arg, uint64_t done, uint64_t total)
{
	struct progress_state *p = arg;
	if (!p->started) {
		progress_start(&p->bar, "gcore", total, true);
		p->started = true;
	}
	progress_update(&p->bar, done);
}

static const char *plural(size_t n)
{
	return n == 1 ? "" : "s";
}

static void format_ms(char *buf, size_t len, double seconds)
{
	if (seconds < 1)
		snprintf(buf, len, "%.1f ms", seconds * 1e3);
	else
		snprintf(buf, len, "%.2f s", seconds);
}

static void print_json(struct cli_ctx *ctx, const struct gcore_args *a,
		       const struct ms_gcore_result *r, bool ok)
{
	struct json *j = &ctx->json;
	json_begin_object(j);
	json_kv_string(j, "file", a->path);
	json_kv_i64(j, "pid", a->pid);
	json_kv_bool(j, "written", ok && !a->options.dry_run);
	json_kv_bool(j, "dry_run", a->options.dry_run);
	json_kv_u64(j, "threads", r->threads);
	json_kv_u64(j, "segments", r->segments);
	json_kv_u64(j, "notes", r->notes);
	json_kv_u64(j, "file_bytes", r->file_size);
	json_kv_u64(j, "disk_bytes", r->disk_size);
	json_kv_u64(j, "data_bytes", r->data_bytes);
	json_kv_u64(j, "free_bytes", r->free_bytes);
	if (!a->options.dry_run) {
		json_kv_string(j, "method", r->forked ? "fork" : "frozen");
		if (!r->forked)
			json_kv_string(j, "no_fork_reason", r->no_fork_reason);
		json_kv_double(j, "frozen_ms", r->frozen_seconds * 1e3);
		json_kv_double(j, "reap_frozen_ms", r->reap_seconds * 1e3);
		if (r->forked) {
			json_kv_bool(j, "fork_first", r->fork_stop_seconds > 0);
			if (r->fork_stop_seconds > 0) {
				json_kv_double(j, "fork_thread_stopped_ms",
					       r->fork_stop_seconds * 1e3);
				json_kv_u64(j, "changed_bytes_copied", r->patched_bytes);
			} else {
				json_kv_string(j, "fork_first_reason", r->fork_first_reason);
			}
		}
		json_kv_double(j, "seconds", r->seconds);
		json_key(j, "frozen_steps_ms");
		json_begin_object(j);
		for (size_t i = 0; i < r->nsteps; i++)
			json_kv_double(j, r->steps[i].name, r->steps[i].seconds * 1e3);
		json_end_object(j);
		if (a->options.verify) {
			json_kv_bool(j, "verified", r->verified);
			if (r->verify_error)
				json_kv_string(j, "verify_error", r->verify_error);
			json_kv_u64(j, "verified_regions", r->verified_regions);
		}
	}
	json_key(j, "warnings");
	json_begin_array(j);
	for (size_t i = 0; i < r->nwarnings; i++)
		json_string(j, r->warnings[i]);
	json_end_array(j);
	json_end_object(j);
	json_finish(j);
}

static void print_text(struct cli_ctx *ctx, const struct gcore_args *a,
		       const struct ms_gcore_result *r)
{
	char fsize[32], dsize[32], data[32], freeb[32];
	out_size(fsize, r->file_size);
	out_size(dsize, r->disk_size);
	out_size(data, r->data_bytes);
	out_size(freeb, r->free_bytes);
	if (a->options.dry_run) {
		printf("Would write %s: %s, %s on disk (%s free)\n", a->path, fsize, dsize, freeb);
		printf("  %zu thread%s, %zu mapping%s, %zu notes, %s of memory\n", r->threads,
		       plural(r->threads), r->segments, plural(r->segments), r->notes, data);
		return;
	}
	printf("Saved corefile %s\n", a->path);
	printf("  %zu thread%s, %zu mapping%s, %zu notes; %s, %s on disk\n", r->threads,
	       plural(r->threads), r->segments, plural(r->segments), r->notes, fsize, dsize);
	char frozen[32], reap[32], total[32];
	format_ms(frozen, sizeof(frozen), r->frozen_seconds);
	format_ms(reap, sizeof(reap), r->reap_seconds);
	format_ms(total, sizeof(total), r->seconds);
	if (r->forked && r->fork_stop_seconds > 0) {
		char stop[32], changed[32];
		format_ms(stop, sizeof(stop), r->fork_stop_seconds);
		out_size(changed, r->patched_bytes);
		printf("  target frozen %s (fork snapshot, forked first: one thread stopped %s for "
		       "the fork, %s changed meanwhile) + %s (reaping it); dump took %s\n",
		       frozen, stop, changed, reap, total);
	} else if (r->forked) {
		printf("  target frozen %s (fork snapshot) + %s (reaping it); dump took %s\n",
		       frozen, reap, total);
		if (ctx->session->verbose && r->fork_first_reason[0])
			printf("  forked frozen: %s\n", r->fork_first_reason);
	} else
		printf("  target frozen %s, for the whole dump (%s)\n", frozen, r->no_fork_reason);
	if (ctx->session->verbose && r->nphases) {
		printf("  time:");
		for (size_t i = 0; i < r->nphases; i++)
			printf("%s %s %.1f ms", i ? "," : "", r->phases[i].name,
			       r->phases[i].seconds * 1e3);
		printf("\n");
	}
	if (ctx->session->verbose && r->nsteps) {
		printf("  frozen time:");
		for (size_t i = 0; i < r->nsteps; i++)
			printf("%s %s %.2f ms", i ? "," : "", r->steps[i].name,
			       r->steps[i].seconds * 1e3);
		printf("\n");
	}
	if (a->options.verify && r->verified)
		printf("  verified: threads, registers, auxv and %zu regions match\n",
		       r->verified_regions);
}

static int run_gcore(struct cli_ctx *ctx, struct gcore_args *a)
{
	struct progress_state progress = {0};
	if (!ctx->session->json) {
		a->options.progress = on_progress;
		a->options.progress_arg = &progress;
	}
	a->options.interrupted = &cli_interrupted;
	struct ms_gcore_result r;
	struct ms_error *err = ms_coredump_gcore(a->pid, &a->options, &r);
	if (progress.started)
		progress_end(&progress.bar);
	int status = CLI_OK;
	if (!a->options.dry_run && !err && !r.forked)
		cli_warn(ctx, "no fork snapshot (%s): process %d was frozen for the whole dump",
			 r.no_fork_reason, (int)a->pid);
	for (size_t i = 0; i < r.nwarnings; i++)
		cli_warn(ctx, "%s", r.warnings[i]);
	if (err && err->code == MS_ERROR_INTERRUPTED) {
		ms_error_destroy(err);
		cli_warn(ctx, "interrupted: no core written, process %d left running", (int)a->pid);
		status = CLI_FAILED;
	} else if (err) {
		status = cli_error(ctx, err);
	} else {
		if (r.verify_error) {
			/* the core is written; reading it back disagrees */
			cli_warn(ctx, "verify: %s", r.verify_error);
			status = CLI_FAILED;
		}
		if (ctx->session->json)
			print_json(ctx, a, &r, true);
		else
			print_text(ctx, a, &r);
	}
	ms_gcore_result_deinit(&r);
	return status;
}

/*
 * Run the dump in a child process that outlives memscope long enough to
 * undo everything if memscope is killed: it gets SIGTERM when its parent
 * dies and treats it as Ctrl-C.
 */
static int run_in_worker(struct cli_ctx *ctx, struct gcore_args *a)
{
	fflush(stdout);
	fflush(stderr);
	pid_t parent = getpid();
	pid_t worker = fork();
	if (worker < 0)
		return run_gcore(ctx, a);
	if (worker == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (getppid() != parent)
			cli_interrupted = 1;
		int status = run_gcore(ctx, a);
		fflush(stdout);
		fflush(stderr);
		/* at the prompt, leave the terminal's state to the parent's line editor */
		if (ctx->session->interactive)
			_exit(status);
		exit(status);
	}
	int status;
	for (;;) {
		pid_t r = waitpid(worker, &status, 0);
		if (r == worker)
			break;
		if (r < 0 && errno != EINTR)
			return CLI_FAILED;
		/* Ctrl-C or SIGTERM here: pass it on and wait for the clean-up */
		if (cli_interrupted)
			kill(worker, SIGTERM);
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	fprintf(stderr, "memscope: %s: the dump died (signal %d)\n", ctx->cmd->name,
		WIFSIGNALED(status) ? WTERMSIG(status) : 0);
	return CLI_FAILED;
}

int cmd_gcore(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option options[] = {
		{"output", required_argument, NULL, 'o'},
		{"all", no_argument, NULL, 'a'},
		{"dry-run", no_argument, NULL, 'n'},
		{"verify", no_argument, NULL, 'V'},
		{"frozen", no_argument, NULL, 'F'},
		{"fork-frozen", no_argument, NULL, 'K'},
		{NULL, 0, NULL, 0},
	};
	/* gdb's form: generate-core-file [FILE], for the session's process */
	bool gdb_form = strcmp(argv[0], "generate-core-file") == 0;
	struct gcore_args a;
	memset(&a, 0, sizeof(a));
	const char *output = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "+o:a", options, NULL)) != -1) {
		switch (c) {
		case 'o':
			output = optarg;
			break;
		case 'a':
			a.options.all = true;
			break;
		case 'n':
			a.options.dry_run = true;
			break;
		case 'V':
			a.options.verify = true;
			break;
		case 'F':
			a.options.no_fork = true;
			break;
		case 'K':
			a.options.fork_frozen = true;
			break;
		default:
			return cli_usage(ctx, "unknown option");
		}
	}
	pid_t pid = 0;
	if (optind < argc) {
		if (gdb_form) {
			if (output)
				return cli_usage(ctx,
						 "give the file either with -o or as an argument");
			output = argv[optind++];
		} else if (!cli_parse_pid(argv[optind++], &pid)) {
			return cli_usage(ctx, "invalid process id '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		return cli_usage(ctx, "unexpected argument '%s'", argv[optind]);
	if (output && !*output)
		return cli_usage(ctx, "empty file name");

	struct ms_target *target;
	struct ms_error *err = cli_target(ctx, pid, &target);
	if (err)
		return cli_error(ctx, err);
	if (ms_target_kind(target) != MS_TARGET_LIVE) {
		fprintf(stderr, "memscope: %s: needs a live process, not a core file\n",
			ctx->cmd->name);
		return CLI_FAILED;
	}
	a.pid = ms_target_pid(target);
	if (a.pid == getpid())
		return cli_usage(ctx, "cannot dump memscope itself");
	if (output)
		snprintf(a.path, sizeof(a.path), "%s", output);
	else
		snprintf(a.path, sizeof(a.path), "core.%d", (int)a.pid);
	a.options.path = a.path;
	if (a.options.dry_run)
		return run_gcore(ctx, &a);
	return run_in_worker(ctx, &a);
}
