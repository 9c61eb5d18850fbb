/* SPDX-License-Identifier: MIT */
/*
 * The interactive prompt: libedit for line editing, history and completion
 * of command names; Enter on an empty line repeats the last command, as in
 * gdb. Lines from a pipe are read plainly, without prompt or repetition, so
 * scripts behave the same everywhere.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <editline/readline.h>

#include "commands.h"

enum { MAX_ARGS = 128 };

/* Split a line into words; quotes group words, backslash escapes a character. */
static int split_words(char *line, char **argv)
{
	int argc = 0;
	char *src = line, *dst = line;
	while (*src && argc < MAX_ARGS - 1) {
		while (*src == ' ' || *src == '\t' || *src == '\n')
			src++;
		if (!*src || *src == '#')
			break;
		argv[argc++] = dst;
		char quote = 0;
		while (*src) {
			if (quote) {
				if (*src == quote) {
					quote = 0;
					src++;
					continue;
				}
			} else if (*src == '"' || *src == '\'') {
				quote = *src++;
				continue;
			} else if (*src == ' ' || *src == '\t' || *src == '\n') {
				break;
			}
			if (*src == '\\' && src[1])
				src++;
			*dst++ = *src++;
		}
		if (*src)
			src++;
		*dst++ = '\0';
	}
	argv[argc] = NULL;
	return argc;
}

static char *command_generator(const char *text, int state)
{
	static size_t next;
	if (state == 0)
		next = 0;
	size_t len = strlen(text);
	while (next < cli_command_count) {
		const char *name = cli_commands[next++].name;
		if (strncmp(name, text, len) == 0)
			return strdup(name);
	}
	return NULL;
}

static char **complete(const char *text, int start, int end)
{
	(void)end;
	if (start != 0)
		return NULL; /* only the command word is completed */
	return rl_completion_matches(text, command_generator);
}

static int run_line(struct cli_session *session, char *line)
{
	char *argv[MAX_ARGS];
	int argc = split_words(line, argv);
	if (argc == 0)
		return CLI_OK;
	return cli_dispatch(session, argc, argv);
}

int cli_repl(struct cli_session *session)
{
	session->interactive = true;
	bool tty = isatty(STDIN_FILENO);
	if (tty && !session->json) {
		struct cli_ctx ctx = {.session = session, .cmd = cli_find_command("sys")};
		cli_print_banner(&ctx);
		puts("");
		fflush(stdout);
	}
	int status = CLI_OK;
	if (!tty) {
		char *line = NULL;
		size_t cap = 0;
		while (!session->quit && getline(&line, &cap, stdin) >= 0) {
			status = run_line(session, line);
			fflush(stdout);
		}
		free(line);
		return status;
	}

	rl_readline_name = "memscope";
	rl_attempted_completion_function = complete;
	using_history();
	char *last = NULL;
	while (!session->quit) {
		cli_interrupted = 0;
		char *line = readline("memscope> ");
		if (!line && cli_interrupted) {
			/* Ctrl-C drops the line being typed, as in gdb; Ctrl-D leaves. */
			putchar('\n');
			continue;
		}
		if (!line) {
			putchar('\n');
			break;
		}
		char *p = line;
		while (*p == ' ' || *p == '\t')
			p++;
		if (!*p) {
			free(line);
			if (!last)
				continue;
			line = strdup(last);
			if (!line)
				break;
		} else {
			add_history(line);
			free(last);
			last = strdup(line);
		}
		status = run_line(session, line);
		free(line);
		fflush(stdout);
	}
	free(last);
	return CLI_OK;
}
