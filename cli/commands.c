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
    /* core dumps */
    {
	.name = "gcore",
	.aliases = "generate-core-file",
	.fn = cmd_gcore,
	.flags = CMD_TARGET | CMD_LIVE | CMD_PID_ARG,
	.usage = "gcore [-o FILE] [-a] [--dry-run] [--verify] [--frozen] [PID]",
	.summary = "write a core file of a live process, stopping it for milliseconds",
	.help = "Write an ELF core file of a running process, as gdb's gcore does, but\n"
		"with the notes, mappings and holes the kernel's own core dump would\n"
		"have, and without stopping the process for the length of the dump.\n"
		"Every thread is frozen just long enough to copy its registers and to\n"
		"make the process fork (a system call run inside it): the stopped\n"
		"child's copy-on-write memory is then dumped while the process runs\n"
		"on. The child is killed and reaped afterwards (a second freeze of\n"
		"well under a millisecond), so the process sees no new child and no\n"
		"signal. Regions fork does not copy (MADV_DONTFORK, MADV_WIPEONFORK)\n"
		"are read while frozen; shared memory is read after the release. Where\n"
		"fork cannot be used (a seccomp filter, the kernel refusing the fork)\n"
		"the process stays frozen for the whole dump, and memscope says so.\n"
		"\n"
		"Mappings are chosen as the kernel chooses them: the process's\n"
		"/proc/PID/coredump_filter, MADV_DONTDUMP, device memory, the first\n"
		"page of ELF files, vdso and vvar. Pages never touched are holes of a\n"
		"sparse file. The file appears only when complete, mode 0600; Ctrl-C,\n"
		"SIGTERM or even SIGKILL of memscope leave the process running and\n"
		"untouched and no partial file. Free space is checked first.\n"
		"\n"
		"  -o FILE     the core file (default core.PID); replaced if it exists\n"
		"  -a          dump every mapping, ignoring coredump_filter and\n"
		"              MADV_DONTDUMP (device memory is never read)\n"
		"  --dry-run   print the size it would write (apparent and on disk)\n"
		"  --verify    read the core back and compare threads, registers,\n"
		"              auxv and a checksum of every region with the snapshot\n"
		"  --frozen    no fork snapshot: keep the process frozen while dumping\n"
		"  PID         the process (default: the session's, -p PID)\n"
		"\n"
		"As generate-core-file [FILE] (gdb's name) it dumps the session's\n"
		"process into FILE.\n",
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
