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
    /* process memory: rd, find, ps, ptov */
    {
	.name = "rd",
	.fn = cmd_rd,
	.flags = CMD_TARGET,
	.usage = "rd [-8|-16|-32|-64] [-a] [-d|-D|-x] [-s] [-N] [-R] [-o OFFS] [-e END] [-r FILE] "
		 "[--fault-in] ADDR|SYMBOL [COUNT]",
	.summary = "read memory, as crash's rd",
	.help = "Display the target's memory at ADDR (hexadecimal, with or without 0x) or at\n"
		"a SYMBOL of its ELF files (NAME, FILE:NAME, either with +OFFSET). COUNT\n"
		"values are shown (default 1), 16 bytes a line with an ASCII column, as\n"
		"crash prints them. Any COUNT works: memory is read and printed a chunk at\n"
		"a time.\n"
		"\n"
		"  -8, -16, -32, -64  value size in bits (default 64)\n"
		"  -a            ASCII: printable text; without COUNT, up to the first\n"
		"                character that is not printable\n"
		"  -d, -D        signed, unsigned decimal instead of hexadecimal\n"
		"  -x            no ASCII column\n"
		"  -s            show values that point into a mapped ELF file as\n"
		"                symbol+offset (64-bit display only)\n"
		"  -N            16- and 32-bit values in network byte order\n"
		"  -R            display COUNT values ending at ADDR\n"
		"  -o OFFS       add OFFS to the start address\n"
		"  -e END        display up to END (exclusive) instead of COUNT values\n"
		"  -r FILE       copy COUNT bytes (or up to END) raw into FILE\n"
		"  --fault-in    also read pages that are not present (never touched, swapped\n"
		"                out, file pages not mapped yet); this changes the target\n"
		"\n"
		"Pages that are not present are never read unless --fault-in is given. What\n"
		"was readable is printed; an address that cannot be read ends the command\n"
		"with crash's message (invalid user virtual address: ADDR  type: \"64-bit\n"
		"UVADDR\") and the reason, exit status 1.\n",
    },
    {
	.name = "find",
	.fn = cmd_find,
	.flags = CMD_TARGET,
	.usage = "find [-s START] [-e END | -l LEN] [-m MASK] [-w|-h|-b] [-c] [-x N] [--max N] "
		 "[--fault-in] VALUE...   |   find [/sn] START, +LEN|END, VAL...",
	.summary = "search memory for values or strings (gdb's find, crash's search flags)",
	.help = "Search the target's readable mappings for any of the VALUEs: 64-bit\n"
		"values at 8-byte aligned addresses by default, as crash's search does.\n"
		"A VALUE is hexadecimal or a symbol (its address). Each hit is printed as\n"
		"ADDRESS: VALUE and where it lies: symbol+offset (file) in an ELF file, or\n"
		"the mapping and the offset in it.\n"
		"\n"
		"  -s START      start at START (address or symbol; default: the lowest mapping)\n"
		"  -e END        stop at END (exclusive)\n"
		"  -l LEN        search LEN bytes from START (4096, 0x1000, 2M, 1G)\n"
		"  -m MASK       ignore the bits set in MASK when comparing\n"
		"  -w, -h, -b    32-, 16-, 8-bit values (aligned to their size)\n"
		"  -c            the VALUEs are strings, found at any address; 56 characters\n"
		"                from each hit are shown\n"
		"  -x N          show N values before and after each hit\n"
		"  --max N       stop after N hits\n"
		"  --fault-in    also read pages that are not present (changes the target)\n"
		"\n"
		"gdb's form, used when the arguments contain a comma or start with /:\n"
		"find [/sn] START, +LEN, VAL [, VAL...] or find [/sn] START, END, VAL...\n"
		"searches for the sequence of values at any address, END inclusive. s is\n"
		"the size of each value (b, h, w, g), n the most hits to print. Numbers are\n"
		"decimal unless 0x; \"strings\" (with their NUL, as in C; {char[N]}\"...\" for\n"
		"the first N bytes only) and 'c' characters take C escapes; a cast\n"
		"such as (char) or (long) sets one value's size; a literal without a size\n"
		"is 4 bytes if it fits, else 8, as in C. Ends with gdb's \"N patterns\n"
		"found.\" line.\n"
		"\n"
		"Only present pages are read unless --fault-in is given; -v tells how much\n"
		"memory was searched and skipped.\n",
    },
    {
	.name = "ps",
	.fn = cmd_ps,
	.usage = "ps [-k|-u] [-L] [--sort pid|rss|pss|swap|vsz|thp|private] [PID|COMMAND...]",
	.summary = "processes and where their memory goes, as crash's ps",
	.help = "One line per process, as crash's ps: PID, PPID, CPU, state (RU IN UN ZO\n"
		"ST TR DE ID), %MEM, VSZ and RSS, then the memory breakdown from\n"
		"smaps_rollup: PSS (RSS with shared pages divided among their users),\n"
		"SHARED and PRIVATE resident memory, SWAP and THP (anonymous huge pages).\n"
		"Sizes are in KiB. '>' marks running tasks. Kernel threads show as [name].\n"
		"\n"
		"  PID|COMMAND   only these processes (COMMAND may be a glob: 'tmux*')\n"
		"  -k, -u        kernel threads only, user processes only\n"
		"  -L            also list each thread (its memory is its process's)\n"
		"  --sort KEY    largest first by rss, pss, swap, vsz, thp or private\n"
		"\n"
		"Without root, other users' processes show RSS, VSZ and SWAP but '-' for\n"
		"the breakdown, and the command says how many (exit status 1). Processes\n"
		"that exit meanwhile are left out.\n",
    },
    {
	.name = "ptov",
	.fn = cmd_ptov,
	.flags = CMD_ROOT,
	.usage = "ptov [--all] PADDR...",
	.summary = "which processes map a physical address, and at which virtual addresses",
	.help = "For each physical address (hexadecimal), print its page frame, how many\n"
		"mappings the kernel counts (/proc/kpagecount), its page flags\n"
		"(/proc/kpageflags) by name, then every process and virtual address that\n"
		"maps it, with the mapping's permissions and file. A page nobody maps is\n"
		"described instead (free, slab, page table, page cache, ...).\n"
		"\n"
		"Every process's pagemap is scanned, present pages only (PAGEMAP_SCAN);\n"
		"the scan stops when all the mappings the kernel counts are found (--all\n"
		"scans everything anyway). A progress bar shows on a terminal. Needs root:\n"
		"the kernel hides physical addresses from others.\n",
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
