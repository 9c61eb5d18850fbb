/* SPDX-License-Identifier: MIT */
/*
 * memscope's entry point: global options (the target, --json), then either
 * one command or the interactive prompt.
 */
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/target.h"
#include "commands.h"

#ifndef MEMSCOPE_VERSION
#define MEMSCOPE_VERSION "0"
#endif

static void on_interrupt(int sig)
{
	(void)sig;
	cli_interrupted = 1;
}

static void usage(FILE *f)
{
	fputs("usage: memscope [-p PID | -c CORE [-e EXE]] [--json] COMMAND [ARGS...]\n"
	      "       memscope [-p PID | -c CORE [-e EXE]]          (interactive prompt)\n"
	      "\n"
	      "  -p, --pid PID     look at a live process\n"
	      "  -c, --core CORE   look at a core file\n"
	      "  -e, --exe EXE     the executable that produced CORE\n"
	      "      --json        print one JSON document per command\n"
	      "  -v, --verbose     say more (timings, skipped items)\n"
	      "      --help        this text; `memscope help` lists the commands\n"
	      "      --version     print the version\n",
	      f);
}

int main(int argc, char **argv)
{
	out_init();
	struct sigaction sa = {.sa_handler = on_interrupt};
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);

	static const struct option options[] = {
		{"pid", required_argument, NULL, 'p'}, {"core", required_argument, NULL, 'c'},
		{"exe", required_argument, NULL, 'e'}, {"json", no_argument, NULL, 'j'},
		{"verbose", no_argument, NULL, 'v'},   {"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},   {NULL, 0, NULL, 0},
	};
	struct cli_session session = {0};
	const char *pid_arg = NULL, *core = NULL, *exe = NULL;
	int c;
	/* '+': stop at the command word; what follows belongs to the command. */
	while ((c = getopt_long(argc, argv, "+p:c:e:v", options, NULL)) != -1) {
		switch (c) {
		case 'p':
			pid_arg = optarg;
			break;
		case 'c':
			core = optarg;
			break;
		case 'e':
			exe = optarg;
			break;
		case 'j':
			session.json = true;
			break;
		case 'v':
			session.verbose++;
			break;
		case 'h':
			usage(stdout);
			return CLI_OK;
		case 'V':
			printf("memscope %s\n", MEMSCOPE_VERSION);
			return CLI_OK;
		default:
			usage(stderr);
			return CLI_USAGE;
		}
	}
	if (pid_arg && core) {
		fputs("memscope: -p and -c are exclusive: a target is a process or a core file\n",
		      stderr);
		return CLI_USAGE;
	}
	if (exe && !core) {
		fputs("memscope: -e EXE goes with -c CORE\n", stderr);
		return CLI_USAGE;
	}
	pid_t pid = 0;
	if (pid_arg && !cli_parse_pid(pid_arg, &pid)) {
		fprintf(stderr, "memscope: invalid process id '%s'\n", pid_arg);
		return CLI_USAGE;
	}
	struct ms_error *err = NULL;
	if (pid_arg || core)
		err = cli_open_target(pid, core, exe, &session.target);
	if (err) {
		fprintf(stderr, "memscope: %s\n", err->message);
		ms_error_destroy(err);
		return CLI_FAILED;
	}

	int status;
	if (optind < argc)
		status = cli_dispatch(&session, argc - optind, argv + optind);
	else
		status = cli_repl(&session);
	ms_target_destroy(session.target);
	if (fflush(stdout) != 0 && status == CLI_OK)
		status = CLI_FAILED;
	return status;
}
