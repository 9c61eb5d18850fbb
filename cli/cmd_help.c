/* SPDX-License-Identifier: MIT */
/*
 * help: the command list, one command's description, or (--man) the whole
 * table as a troff man page, so docs/memscope.1 never drifts from the code.
 */
#include <stdio.h>
#include <string.h>

#include "commands.h"

static void print_list(struct cli_ctx *ctx)
{
	if (ctx->session->json) {
		struct json *j = &ctx->json;
		json_begin_array(j);
		for (size_t i = 0; i < cli_command_count; i++) {
			const struct command *c = &cli_commands[i];
			json_begin_object(j);
			json_kv_string(j, "name", c->name);
			json_kv_string(j, "usage", c->usage);
			json_kv_string(j, "summary", c->summary);
			json_end_object(j);
		}
		json_end_array(j);
		json_finish(j);
		return;
	}
	puts("memscope commands (help COMMAND for details):\n");
	for (size_t i = 0; i < cli_command_count; i++)
		printf("  %-12s %s\n", cli_commands[i].name, cli_commands[i].summary);
}

static void print_one(const struct command *c)
{
	printf("usage: %s\n\n%s.\n\n%s", c->usage, c->summary, c->help);
	if (c->aliases)
		printf("\nAlso called: %s\n", c->aliases);
}

/* Escape a line for troff: leading dots/quotes and backslashes. */
static void man_text(const char *text)
{
	bool bol = true;
	for (const char *p = text; *p; p++) {
		if (bol && (*p == '.' || *p == '\''))
			fputs("\\&", stdout);
		if (*p == '\\')
			fputs("\\e", stdout);
		else if (*p == '-')
			fputs("\\-", stdout);
		else
			putchar(*p);
		bol = *p == '\n';
	}
	if (!bol)
		putchar('\n');
}

static void print_man(void)
{
	puts(".TH MEMSCOPE 1 \"\" \"memscope\" \"User Commands\"\n"
	     ".SH NAME\n"
	     "memscope \\- see and debug the memory of Linux processes and of the machine\n"
	     ".SH SYNOPSIS\n"
	     ".B memscope\n"
	     "[\\fB\\-p\\fR \\fIPID\\fR | \\fB\\-c\\fR \\fICORE\\fR [\\fB\\-e\\fR \\fIEXE\\fR]] "
	     "[\\fB\\-\\-json\\fR] \\fICOMMAND\\fR [\\fIARGS\\fR...]\n"
	     ".br\n"
	     ".B memscope\n"
	     "[\\fB\\-p\\fR \\fIPID\\fR | \\fB\\-c\\fR \\fICORE\\fR [\\fB\\-e\\fR \\fIEXE\\fR]]\n"
	     ".SH DESCRIPTION\n"
	     "memscope shows which physical page backs each virtual page of a process, reads\n"
	     "and searches its memory, dumps it to a core file, prints the backtraces of its\n"
	     "threads, and explains the kernel's memory state (overcommit, fragmentation,\n"
	     "compaction, transparent huge pages), from user space and without kernel debuginfo.\n"
	     "With a command it runs that command and exits; without one it opens an\n"
	     "interactive prompt where the same commands are typed, with history and\n"
	     "completion, and Enter on an empty line repeats the last command.\n"
	     ".SH OPTIONS\n"
	     ".TP\n\\fB\\-p\\fR, \\fB\\-\\-pid\\fR \\fIPID\\fR\nLook at a live process.\n"
	     ".TP\n\\fB\\-c\\fR, \\fB\\-\\-core\\fR \\fICORE\\fR\nLook at a core file.\n"
	     ".TP\n\\fB\\-e\\fR, \\fB\\-\\-exe\\fR \\fIEXE\\fR\nThe executable that produced "
	     "CORE.\n"
	     ".TP\n\\fB\\-\\-json\\fR\nPrint one JSON document per command (accepted after the "
	     "command word too).\n"
	     ".TP\n\\fB\\-v\\fR, \\fB\\-\\-verbose\\fR\nSay more: timings, skipped items.\n"
	     ".SH COMMANDS");
	for (size_t i = 0; i < cli_command_count; i++) {
		const struct command *c = &cli_commands[i];
		printf(".SS %s\n.nf\n", c->name);
		man_text(c->usage);
		puts(".fi");
		man_text(c->summary);
		puts(".PP\n.nf");
		man_text(c->help);
		puts(".fi");
		if (c->aliases) {
			printf(".PP\nAlso called: ");
			man_text(c->aliases);
		}
	}
	puts(".SH EXIT STATUS\n"
	     "0 success; 1 partial results (some pages, threads or addresses could not be read), "
	     "or\n"
	     "\"no\" from a yes/no command (\\fBovercommit \\-\\-what\\-if\\fR, \\fBfrag "
	     "\\-\\-order\\fR);\n"
	     "2 failure; 64 usage error.\n"
	     ".SH PRIVILEGES\n"
	     "Physical addresses, page flags and page counts need CAP_SYS_ADMIN: without it the\n"
	     "kernel hides them, and memscope says so instead of printing zeros.\n"
	     ".SH SEE ALSO\n"
	     "crash(8), gdb(1), eu-stack(1), proc(5)");
}

int cmd_help(struct cli_ctx *ctx, int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "--man") == 0) {
		print_man();
		return CLI_OK;
	}
	if (argc < 2) {
		print_list(ctx);
		return CLI_OK;
	}
	const struct command *c = cli_find_command(argv[1]);
	if (!c)
		return cli_usage(ctx, "no command '%s'", argv[1]);
	if (ctx->session->json) {
		struct json *j = &ctx->json;
		json_begin_object(j);
		json_kv_string(j, "name", c->name);
		json_kv_string(j, "usage", c->usage);
		json_kv_string(j, "summary", c->summary);
		json_kv_string(j, "help", c->help);
		json_end_object(j);
		json_finish(j);
		return CLI_OK;
	}
	print_one(c);
	return CLI_OK;
}
