/* SPDX-License-Identifier: MIT */
/* sys: crash's banner as a command (and the prompt's greeting). */
#include <inttypes.h>
#include <stdio.h>
#include <time.h>

#include "../lib/core.h"
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

/* A core file: what the dump says, not this machine (crash's way with dumps). */
static int print_core_banner(struct cli_ctx *ctx, struct ms_target *t, struct ms_core *core)
{
	const struct ms_core_process *p = ms_core_process(core);
	size_t nthreads;
	const struct ms_thread *threads = ms_core_threads(core, &nthreads);
	struct timespec mtime = ms_core_mtime(core);
	time_t when = mtime.tv_sec;
	char date[64], size[32], sig[160] = "";
	strftime(date, sizeof(date), "%a %b %e %H:%M:%S %Z %Y", localtime(&when));
	out_size(size, ms_core_size(core));
	const struct ms_thread *th = &threads[0];
	/* a live dump (gcore) records signal 0: no signal */
	if ((th->has_siginfo && th->siginfo.si_signo) || th->cursig) {
		siginfo_t si = th->siginfo;
		if (!th->has_siginfo)
			si.si_signo = th->cursig;
		ms_core_describe_signal(&si, th->has_siginfo, sig, sizeof(sig));
	}
	if (ctx->session->json) {
		struct json *j = &ctx->json;
		json_begin_object(j);
		json_kv_string(j, "dumpfile", ms_core_path(core));
		json_kv_u64(j, "size", ms_core_size(core));
		json_kv_i64(j, "date", (int64_t)when);
		json_kv_string(j, "machine", "x86_64");
		json_kv_i64(j, "pid", ms_target_pid(t));
		json_kv_string(j, "command", ms_target_comm(t));
		if (ms_target_exe(t))
			json_kv_string(j, "exe", ms_target_exe(t));
		else
			json_kv_null(j, "exe");
		if (p->valid)
			json_kv_string(j, "args", p->args);
		json_kv_u64(j, "threads", nthreads);
		if (sig[0])
			json_kv_string(j, "signal", sig);
		else
			json_kv_null(j, "signal");
		json_end_object(j);
		json_finish(j);
		return CLI_OK;
	}
	printf("    DUMPFILE: %s  [%s]\n", ms_core_path(core), size);
	printf("        DATE: %s\n", date);
	printf("     MACHINE: x86_64\n");
	printf("         PID: %d\n", (int)ms_target_pid(t));
	printf("     COMMAND: \"%s\"\n", ms_target_comm(t));
	if (ms_target_exe(t))
		printf("         EXE: %s\n", ms_target_exe(t));
	if (p->valid && p->args[0])
		printf("        ARGS: %s\n", p->args);
	printf("     THREADS: %zu\n", nthreads);
	if (sig[0])
		printf("      SIGNAL: %s\n", sig);
	return CLI_OK;
}

int cli_print_banner(struct cli_ctx *ctx)
{
	if (ctx->session->target && ms_target_core(ctx->session->target))
		return print_core_banner(ctx, ctx->session->target,
					 ms_target_core(ctx->session->target));

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
		}
		json_end_object(j);
		json_finish(j);
		return CLI_OK;
	}
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
