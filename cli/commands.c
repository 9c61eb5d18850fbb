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

	/* ---- backtraces and debugging: bt ---- */
	{
		.name = "bt",
		.aliases = "backtrace where",
		.fn = cmd_bt,
		.flags = CMD_TARGET,
		.usage = "bt [--full] [-n N] [--thread TID] [--debug-dir DIR] [-v] [full] [N]",
		.summary =
			"backtraces of every thread, with locals (gdb's thread apply all bt full)",
		.help = "Every thread's stack as gdb's `thread apply all bt` prints it: threads\n"
			"newest first, each frame as `#N  0xADDR in func (arg=val, ...) at\n"
			"file:line`, inlined calls as frames of their own, `from LIB` where there\n"
			"is no debug info, C++ and Rust names demangled, and gdb's entry values\n"
			"(`x=x@entry=5`). Debug info is found as libdwfl finds it: by build-id\n"
			"under /usr/lib/debug/.build-id, by .gnu_debuglink, and through "
			"debuginfod\n"
			"when DEBUGINFOD_URLS is set; modules without it are named on stderr and\n"
			"their frames use the ELF symbol table.\n"
			"\n"
			"A live process is stopped only while the registers and the live part of\n"
			"each stack (from the stack pointer to the end of its mapping, at most\n"
			"512 KiB per thread) are copied, then released; the stacks are walked\n"
			"from the copy afterwards. Reads outside the copied stacks (heap, "
			"globals,\n"
			"strings behind pointers) go to the running process after the release, so\n"
			"they can be newer than the stacks. A core file is read as it is.\n"
			"\n"
			"  --full, full     also print each frame's locals, as gdb's bt full\n"
			"  -n N, N          at most N frames per thread\n"
			"  --thread TID     only this thread\n"
			"  --debug-dir DIR  also look for separate debug info under DIR (colon-\n"
			"                   separated list; like gdb's debug-file-directory)\n"
			"  -v               say how long the process was stopped (also the\n"
			"                   global -v)\n"
			"\n"
			"Corrupt stacks end with `Backtrace stopped: REASON`; threads that exit\n"
			"while memscope looks are named on stderr and skipped.\n",
	},
	{
		.name = "thread",
		.fn = cmd_thread,
		.flags = CMD_TARGET,
		.usage = "thread apply all|TID bt [full]",
		.summary = "gdb's spelling of bt: thread apply all bt full",
		.help = "`thread apply all bt [full]` is `bt [--full]`; `thread apply TID bt`\n"
			"is `bt --thread TID`. Options after `bt` are bt's.\n",
	},

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
