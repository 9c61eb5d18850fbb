/* SPDX-License-Identifier: MIT */
/*
 * THE command table. One row per command: name, other names, function,
 * preconditions, usage, a one-line summary and the help text that `help
 * NAME`, `NAME --help` and the man page show. Keep rows in the order `help`
 * should list them.
 */
#include "commands.h"

#include <string.h>

const struct command cli_commands[] = {
	/* ---- process memory: vm, vtop, rd, find, ps, ptov ---- */

	/* ---- system memory: overcommit, frag, compact, thp, kmem, physmap, export ---- */

	/* ---- core dumps: gcore ---- */
	{
		.name = "info",
		.fn = cmd_info,
		.flags = CMD_TARGET,
		.usage = "info threads | info registers [-t TID | -a] [REG...] | info auxv | "
			 "info files",
		.summary = "threads, registers, auxiliary vector and mappings, as gdb's info "
			   "shows them",
		.help = "gdb's info subcommands on the target (-p PID or -c CORE). On a live\n"
			"process the threads are frozen just long enough to copy their\n"
			"registers.\n"
			"\n"
			"info threads      every thread: id, LWP, name and where it stands (pc).\n"
			"                  With --json also its signal state and registers.\n"
			"info registers    the general registers of the first thread (on a core\n"
			"                  file, the one that received the signal), as gdb prints\n"
			"                  them; name registers to see only those: rip, orig_rax,\n"
			"                  xmm0-xmm15, mxcsr, fctrl, fstat ...\n"
			"  -t, --thread TID  the registers of thread TID\n"
			"  -a, --all         the registers of every thread\n"
			"info auxv         the auxiliary vector the kernel gave the program.\n"
			"info files        core files: each mapping and where its bytes are: in\n"
			"                  the core (at which offset), in the mapped file on disk\n"
			"                  (the kernel leaves unmodified file pages out of a "
			"core),\n"
			"                  or nowhere (not in the core file). Also `info "
			"target`.\n",
	},

	/* ---- backtraces and debugging: bt ---- */

	/* ---- the session ---- */
	{
		.name = "set",
		.fn = cmd_set,
		.usage = "set [PID | -c CORE [-e EXE]]",
		.summary = "show or change the target (crash's context)",
		.help = "Without arguments, show the current target. With a PID, look at that\n"
			"process from now on; with -c CORE (and -e EXE), at a core file. The\n"
			"global options -p and -c set the first target; this changes it at\n"
			"the prompt, as crash's `set PID` changes its context.\n",
	},
	{
		.name = "sys",
		.fn = cmd_sys,
		.usage = "sys",
		.summary = "the machine at a glance, as crash's banner",
		.help = "Kernel release and version, machine, CPUs, memory, uptime, load\n"
			"average and task count, as crash prints them when it starts. With a\n"
			"target, also its PID and command.\n",
	},
	{
		.name = "help",
		.aliases = "h",
		.fn = cmd_help,
		.usage = "help [COMMAND]",
		.summary = "list the commands, or explain one",
		.help = "Without an argument, list every command with a one-line summary.\n"
			"With a command name, print its usage and description.\n",
	},
	{
		.name = "quit",
		.aliases = "q exit",
		.fn = cmd_quit,
		.flags = CMD_PROMPT,
		.usage = "quit",
		.summary = "leave the interactive prompt",
		.help = "Leave the prompt (Ctrl-D does the same).\n",
	},
};

const size_t cli_command_count = sizeof(cli_commands) / sizeof(cli_commands[0]);

const struct command *cli_find_command(const char *name)
{
	size_t len = strlen(name);
	for (size_t i = 0; i < cli_command_count; i++) {
		const struct command *cmd = &cli_commands[i];
		if (strcmp(cmd->name, name) == 0)
			return cmd;
		for (const char *a = cmd->aliases; a && *a;) {
			size_t alen = strcspn(a, " ");
			if (alen == len && strncmp(a, name, len) == 0)
				return cmd;
			a += alen;
			while (*a == ' ')
				a++;
		}
	}
	return NULL;
}
