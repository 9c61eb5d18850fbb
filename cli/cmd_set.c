/* SPDX-License-Identifier: MIT */
/*
 * set: show or change the session's target, as crash's `set PID` changes
 * the context. `set -c CORE [-e EXE]` switches to a core file.
 */
#include <getopt.h>
#include <stdio.h>

#include "../lib/target.h"
#include "commands.h"

static void show(struct cli_ctx *ctx)
{
	const struct ms_target *t = ctx->session->target;
	if (ctx->session->json) {
		struct json *j = &ctx->json;
		json_begin_object(j);
		if (t) {
			json_kv_i64(j, "pid", ms_target_pid(t));
			json_kv_string(j, "command", ms_target_comm(t));
			json_kv_string(j, "kind",
				       ms_target_kind(t) == MS_TARGET_LIVE ? "process" : "core");
			if (ms_target_core_path(t))
				json_kv_string(j, "dumpfile", ms_target_core_path(t));
		}
		json_end_object(j);
		json_finish(j);
		return;
	}
	if (!t) {
		puts("no target (set PID, or set -c CORE)");
		return;
	}
	printf("    PID: %d\nCOMMAND: \"%s\"\n", (int)ms_target_pid(t), ms_target_comm(t));
	if (ms_target_core_path(t))
		printf("   CORE: %s\n", ms_target_core_path(t));
}

int cmd_set(struct cli_ctx *ctx, int argc, char **argv)
{
	static const struct option options[] = {
		{"core", required_argument, NULL, 'c'},
		{"exe", required_argument, NULL, 'e'},
		{NULL, 0, NULL, 0},
	};
	const char *core = NULL, *exe = NULL;
	int c;
	while ((c = getopt_long(argc, argv, "c:e:", options, NULL)) != -1) {
		switch (c) {
		case 'c':
			core = optarg;
			break;
		case 'e':
			exe = optarg;
			break;
		default:
			return cli_usage(ctx, "unknown option");
		}
	}
	if (exe && !core)
		return cli_usage(ctx, "-e EXE goes with -c CORE");
	if (optind + 1 < argc || (core && optind < argc))
		return cli_usage(ctx, "too many arguments");
	if (!core && optind == argc) {
		show(ctx);
		return CLI_OK;
	}
	pid_t pid = 0;
	if (!core && !cli_parse_pid(argv[optind], &pid))
		return cli_usage(ctx, "invalid process id '%s'", argv[optind]);
	struct ms_target *target;
	struct ms_error *err = cli_open_target(pid, core, exe, &target);
	if (err)
		return cli_error(ctx, err);
	ms_target_destroy(ctx->session->target);
	ctx->session->target = target;
	show(ctx);
	return CLI_OK;
}
