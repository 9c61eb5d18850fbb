/* SPDX-License-Identifier: MIT */
/* sys: crash's banner as a command (and the prompt's greeting). */
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "../lib/sysinfo.h"
#include "../lib/target.h"
#include "commands.h"

static void format_uptime(char *buf, size_t len, double seconds)
{
	uint64_t s = (uint64_t)seconds;
	uint64_t days = s / 86400;
	s %= 86400;
	if (days)
		snprintf(buf, len, "%" PRIu64 " days, %02" PRIu64 ":%02" PRIu64 ":%02" PRIu64, days,
			 s / 3600, s / 60 % 60, s % 60);
	else
		snprintf(buf, len, "%02" PRIu64 ":%02" PRIu64 ":%02" PRIu64, s / 3600, s / 60 % 60,
			 s % 60);
}

int cli_print_banner(struct cli_ctx *ctx)
{
	struct ms_sysinfo info;
	struct ms_error *err = ms_sysinfo_read(&info);
	if (err)
		return cli_error(ctx, err);
	const struct ms_target *t = ctx->session->target;
	char date[64], uptime[64], mem[32];
	time_t now = time(NULL);
	strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Z %Y", localtime(&now));
	format_uptime(uptime, sizeof(uptime), info.uptime);
	if (ctx->session->json) {
		struct json *j = &ctx->json;
		json_begin_object(j);
		json_kv_string(j, "nodename", info.nodename);
		json_kv_string(j, "release", info.release);
		json_kv_string(j, "version", info.version);
		json_kv_string(j, "machine", info.machine);
		json_kv_double(j, "cpu_mhz", info.cpu_mhz);
		json_kv_i64(j, "cpus", info.cpus);
		json_kv_u64(j, "memory_bytes", info.mem_total);
		json_kv_double(j, "uptime_seconds", info.uptime);
		json_key(j, "load_average");
		json_begin_array(j);
		for (int i = 0; i < 3; i++)
			json_double(j, info.load[i]);
		json_end_array(j);
		json_kv_u64(j, "tasks", info.tasks);
		if (t) {
			json_kv_i64(j, "pid", ms_target_pid(t));
			json_kv_string(j, "command", ms_target_comm(t));
			if (ms_target_core_path(t))
				json_kv_string(j, "dumpfile", ms_target_core_path(t));
		}
		json_end_object(j);
		json_finish(j);
		return CLI_OK;
	}
	if (t && ms_target_core_path(t))
		printf("    DUMPFILE: %s\n", ms_target_core_path(t));
	printf("        CPUS: %ld\n", info.cpus);
	printf("        DATE: %s\n", date);
	printf("      UPTIME: %s\n", uptime);
	printf("LOAD AVERAGE: %.2f, %.2f, %.2f\n", info.load[0], info.load[1], info.load[2]);
	printf("       TASKS: %lu\n", info.tasks);
	printf("    NODENAME: %s\n", info.nodename);
	printf("     RELEASE: %s\n", info.release);
	printf("     VERSION: %s\n", info.version);
	if (info.cpu_mhz > 0)
		printf("     MACHINE: %s  (%.0f Mhz)\n", info.machine, info.cpu_mhz);
	else
		printf("     MACHINE: %s\n", info.machine);
	printf("      MEMORY: %s\n", out_size(mem, info.mem_total));
	if (t) {
		printf("         PID: %d\n", (int)ms_target_pid(t));
		printf("     COMMAND: \"%s\"\n", ms_target_comm(t));
	}
	return CLI_OK;
}

int cmd_sys(struct cli_ctx *ctx, int argc, char **argv)
{
	(void)argv;
	if (argc > 1)
		return cli_usage(ctx, "takes no arguments");
	return cli_print_banner(ctx);
}
