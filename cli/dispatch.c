/* SPDX-License-Identifier: MIT */
/*
 * Running one command line: find the row, check its preconditions once,
 * hand it a context, print its error. Shared by the command line and the
 * prompt.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/core.h"
#include "../lib/procfs.h"
#include "../lib/target.h"
#include "commands.h"

volatile sig_atomic_t cli_interrupted;

bool cli_is_root(void)
{
	static int cached = -1;
	if (cached < 0) {
		char *status;
		cached = 0;
		if (ms_procfs_try_read("/proc/self/status", &status)) {
			const char *cap = strstr(status, "\nCapEff:");
			if (cap)
				cached =
					(strtoull(cap + 8, NULL, 16) >> 21) & 1; /* CAP_SYS_ADMIN */
			free(status);
		}
	}
	return cached;
}

bool cli_parse_pid(const char *s, pid_t *pid_ret)
{
	if (!s || !*s)
		return false;
	char *end;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || v <= 0 || v > 4194304) /* PID_MAX_LIMIT */
		return false;
	*pid_ret = (pid_t)v;
	return true;
}

static const char *ctx_name(const struct cli_ctx *ctx)
{
	return ctx && ctx->cmd ? ctx->cmd->name : NULL;
}

int cli_error(struct cli_ctx *ctx, struct ms_error *err)
{
	if (!err)
		return CLI_OK;
	fflush(stdout);
	const char *name = ctx_name(ctx);
	if (name)
		fprintf(stderr, "memscope: %s: %s\n", name, err->message);
	else
		fprintf(stderr, "memscope: %s\n", err->message);
	int status;
	switch (err->code) {
	case MS_ERROR_FAULT:
	case MS_ERROR_NOT_MAPPED:
	case MS_ERROR_EXITED:
		status = CLI_PARTIAL;
		break;
	case MS_ERROR_INVALID:
		status = CLI_USAGE;
		break;
	default:
		status = CLI_FAILED;
	}
	ms_error_destroy(err);
	return status;
}

struct ms_error *cli_explain_denied(struct ms_target *target, struct ms_error *err)
{
	if (!err || err->code != MS_ERROR_PERMISSION || ms_target_kind(target) != MS_TARGET_LIVE)
		return err;
	char *old = err->message;
	/* root refused is another user namespace, a security module or ptrace_scope */
	const char *hint = geteuid() == 0 ? "outside what this root may trace (another user "
					    "namespace, a security module, ptrace_scope)"
					  : "it belongs to another user, or is more privileged; "
					    "run as root";
	if (asprintf(&err->message, "cannot read process %d (%s): %s", (int)ms_target_pid(target),
		     old, hint) < 0) {
		err->message = old;
		return err;
	}
	free(old);
	return err;
}

int cli_usage(struct cli_ctx *ctx, const char *fmt, ...)
{
	fflush(stdout);
	const char *name = ctx_name(ctx);
	fprintf(stderr, "memscope: %s: ", name ? name : "usage");
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (ctx && ctx->cmd)
		fprintf(stderr, "usage: %s\n", ctx->cmd->usage);
	return CLI_USAGE;
}

void cli_warn(struct cli_ctx *ctx, const char *fmt, ...)
{
	fflush(stdout);
	const char *name = ctx_name(ctx);
	fprintf(stderr, "memscope: %s%s", name ? name : "", name ? ": " : "");
	va_list ap;
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* A thread id stands for its process: say which, once per opening. */
static void note_thread_given(const struct ms_target *t)
{
	pid_t tid = ms_target_given_tid(t), leader = ms_target_exited_leader(t);
	if (tid && !leader)
		fprintf(stderr, "memscope: %d is a thread of process %d: showing the process\n",
			(int)tid, (int)ms_target_pid(t));
	if (leader)
		fprintf(stderr,
			"memscope: the main thread of process %d has exited: reading the "
			"process through its thread %d\n",
			(int)leader, (int)ms_target_pid(t));
}

struct ms_error *cli_target(struct cli_ctx *ctx, pid_t pid, struct ms_target **target_ret)
{
	if (pid > 0) {
		if (ctx->session->target &&
		    ms_target_kind(ctx->session->target) == MS_TARGET_LIVE &&
		    ms_target_pid(ctx->session->target) == pid) {
			*target_ret = ctx->session->target;
			return NULL;
		}
		ms_target_destroy(ctx->arg_target);
		ctx->arg_target = NULL;
		struct ms_error *err = ms_target_open_pid(pid, &ctx->arg_target);
		if (err)
			return err;
		note_thread_given(ctx->arg_target);
		*target_ret = ctx->arg_target;
		return NULL;
	}
	if (!ctx->session->target)
		return ms_error_create(MS_ERROR_INVALID,
				       "no target: give a PID, or run memscope -p PID %s ...",
				       ctx->cmd->name);
	*target_ret = ctx->session->target;
	return NULL;
}

struct ms_error *cli_open_target(pid_t pid, const char *core, const char *exe,
				 struct ms_target **target_ret)
{
	if (!core) {
		struct ms_error *err = ms_target_open_pid(pid, target_ret);
		if (!err)
			note_thread_given(*target_ret);
		return err;
	}
	struct ms_error *err = ms_target_open_core(core, exe, target_ret);
	if (err)
		return err;
	size_t n;
	const char *const *cautions = ms_target_core_cautions(*target_ret, &n);
	for (size_t i = 0; i < n && i < 5; i++)
		fprintf(stderr, "memscope: warning: %s\n", cautions[i]);
	if (n > 5)
		fprintf(stderr, "memscope: warning: ... and %zu more mapped files like these\n",
			n - 5);
	return NULL;
}

/* Remove every "--json" from argv (it is global wherever it appears). */
static int strip_json(int argc, char **argv, bool *json)
{
	int n = 0;
	for (int i = 0; i < argc; i++) {
		if (i > 0 && strcmp(argv[i], "--json") == 0) {
			*json = true;
			continue;
		}
		argv[n++] = argv[i];
	}
	argv[n] = NULL;
	return n;
}

int cli_dispatch(struct cli_session *session, int argc, char **argv)
{
	const struct command *cmd = cli_find_command(argv[0]);
	fflush(stdout); /* keep stdout and stderr in order when both are piped */
	if (!cmd) {
		fprintf(stderr, "memscope: unknown command '%s' (try 'help')\n", argv[0]);
		return CLI_USAGE;
	}
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--") == 0)
			break;
		if (strcmp(argv[i], "--help") == 0) {
			char *help_argv[] = {"help", (char *)cmd->name, NULL};
			struct cli_ctx hctx = {.session = session, .cmd = cli_find_command("help")};
			optind = 0;
			return cmd_help(&hctx, 2, help_argv);
		}
	}
	bool json = session->json;
	argc = strip_json(argc, argv, &json);
	bool saved_json = session->json;
	session->json = json;

	struct cli_ctx ctx = {.session = session, .cmd = cmd};
	int status;
	if ((cmd->flags & CMD_PROMPT) && !session->interactive) {
		status = cli_usage(&ctx, "only makes sense at the interactive prompt");
		goto out;
	}
	if ((cmd->flags & CMD_ROOT) && !cli_is_root()) {
		fprintf(stderr,
			"memscope: %s: needs root (CAP_SYS_ADMIN); run it as root: sudo memscope",
			cmd->name);
		for (int i = 0; i < argc; i++)
			fprintf(stderr, " %s", argv[i]);
		fprintf(stderr, "%s\n", session->json ? " --json" : "");
		status = CLI_FAILED;
		goto out;
	}
	if ((cmd->flags & CMD_TARGET) && !(cmd->flags & CMD_PID_ARG) && !session->target) {
		fprintf(stderr,
			"memscope: %s: needs a target: memscope -p PID %s ... or memscope -c CORE "
			"%s ...\n",
			cmd->name, cmd->name, cmd->name);
		status = CLI_USAGE;
		goto out;
	}
	if ((cmd->flags & CMD_LIVE) && session->target &&
	    ms_target_kind(session->target) != MS_TARGET_LIVE) {
		fprintf(stderr, "memscope: %s: needs a live process, not a core file\n", cmd->name);
		status = CLI_FAILED;
		goto out;
	}
	if (session->json)
		json_init(&ctx.json, stdout);
	cli_interrupted = 0;
	optind = 0; /* glibc: restart getopt for this argv */
	opterr = 1;
	status = cmd->fn(&ctx, argc, argv);
	fflush(stdout);
	if (cli_interrupted && status == CLI_OK)
		status = CLI_PARTIAL;
	ms_target_destroy(ctx.arg_target);
	if (session->target)
		ms_target_refresh(session->target);
out:
	session->json = saved_json;
	return status;
}
