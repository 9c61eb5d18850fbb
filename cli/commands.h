/* SPDX-License-Identifier: MIT */
/*
 * The command table and what a command is handed when it runs. One table
 * serves the one-shot command line and the interactive prompt; the
 * dispatcher checks each row's preconditions once, so commands do not.
 * Each command lives in its own cmd_<name>.c.
 */
#ifndef MEMSCOPE_COMMANDS_H
#define MEMSCOPE_COMMANDS_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "../lib/error.h"
#include "out.h"

struct ms_target;

/* Exit statuses (elfutils' convention). */
enum cli_status {
	CLI_OK = 0,
	CLI_PARTIAL = 1, /* some results missing, or a "no" answer for yes/no commands */
	CLI_FAILED = 2,
	CLI_USAGE = 64,
};

/* Preconditions on a command row, checked by the dispatcher. */
enum cli_flags {
	CMD_TARGET = 1 << 0,  /* needs a target (-p PID or -c CORE) */
	CMD_LIVE = 1 << 1,    /* the target must be a live process */
	CMD_ROOT = 1 << 2,    /* needs root (CAP_SYS_ADMIN) */
	CMD_PID_ARG = 1 << 3, /* may name its own process in its arguments: the target
				 check is done by cli_target() instead */
	CMD_PROMPT = 1 << 4,  /* only meaningful at the interactive prompt */
};

struct cli_session {
	struct ms_target *target; /* from -p/-c, or set at the prompt; may be NULL */
	bool json;		  /* --json: one JSON document per command */
	bool interactive;	  /* running at the prompt */
	bool quit;		  /* `quit` was entered at the prompt */
	int verbose;
};

/* What a running command sees. */
struct cli_ctx {
	struct cli_session *session;
	const struct command *cmd;
	struct json json;	      /* initialised on stdout when session->json */
	struct ms_target *arg_target; /* opened by cli_target() for a PID argument */
};

typedef int cli_fn(struct cli_ctx *ctx, int argc, char **argv);

struct command {
	const char *name;
	const char *aliases; /* space-separated other names, or NULL */
	cli_fn *fn;
	unsigned flags;	     /* enum cli_flags */
	const char *usage;   /* "vm [-p] [--ranges] [--summary] [PID]" */
	const char *summary; /* one line for `help` */
	const char *help;    /* paragraphs for `help NAME`, options one per line */
};

extern const struct command cli_commands[];
extern const size_t cli_command_count;

const struct command *cli_find_command(const char *name);
/* Run one command line (argv[0] is the command word); returns its status. */
int cli_dispatch(struct cli_session *session, int argc, char **argv);

/*
 * Print "memscope: CMD: message" for err, free it, and return the exit
 * status its code deserves (faults and unmapped addresses are partial
 * results, 1; everything else 2).
 */
int cli_error(struct cli_ctx *ctx, struct ms_error *err);
/* Print a usage error with the command's usage line; returns CLI_USAGE. */
int cli_usage(struct cli_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Print a one-line warning to stderr, prefixed like errors. */
void cli_warn(struct cli_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/*
 * The target a command works on: a live process opened for pid when pid > 0,
 * else the session's target. Errors if there is none. For CMD_PID_ARG rows.
 */
struct ms_error *cli_target(struct cli_ctx *ctx, pid_t pid, struct ms_target **target_ret);
/*
 * Open the session's target (-p PID, -c CORE [-e EXE], set): a core file
 * when core is set, else process pid. What could not be checked in a core
 * (its mapped files) is said as warnings on stderr.
 */
struct ms_error *cli_open_target(pid_t pid, const char *core, const char *exe,
				 struct ms_target **target_ret);
/* Parse a PID argument; false if s is not a positive decimal number. */
bool cli_parse_pid(const char *s, pid_t *pid_ret);

/* Set by SIGINT/SIGTERM handlers; long loops poll it and stop cleanly. */
extern volatile sig_atomic_t cli_interrupted;
/* Whether the effective user may read physical addresses (CAP_SYS_ADMIN). */
bool cli_is_root(void);

/* The banner printed when the prompt opens, also `sys`. */
int cli_print_banner(struct cli_ctx *ctx);

/* The interactive prompt; returns the exit status of the session. */
int cli_repl(struct cli_session *session);

/* Commands (one cmd_<name>.c each), grouped as in the table. */

/* process memory */
/* vm, vtop */
cli_fn cmd_vm;
cli_fn cmd_vtop;
/* rd, find, ps, ptov */
cli_fn cmd_rd;
cli_fn cmd_find;
cli_fn cmd_ps;
cli_fn cmd_ptov;
struct ms_symbols;
/*
 * An address typed by the user: hex (with or without 0x), or a symbol of the
 * target's ELF files, "SYMBOL", "FILE:SYMBOL", either with "+OFFSET", maybe
 * in parentheses or after '&'. *syms is created on first need (the caller
 * destroys it). symbol_ret (may be NULL) tells whether a symbol was used.
 */
struct ms_error *cli_resolve_address(struct ms_target *target, struct ms_symbols **syms,
				     const char *text, uint64_t *addr_ret, bool *symbol_ret);
/* A permission error on a live target, said in words a user can act on. */
struct ms_error *cli_explain_denied(struct ms_target *target, struct ms_error *err);
/* The first address above the target's user space (47- or 57-bit). */
uint64_t cli_user_top(struct ms_target *target);

/* system memory */
cli_fn cmd_overcommit;
cli_fn cmd_kmem;
cli_fn cmd_thp;
cli_fn cmd_export;
cli_fn cmd_demo;
cli_fn cmd_compact;
cli_fn cmd_frag;
cli_fn cmd_physmap;

/* core dumps */
cli_fn cmd_info;
/* vm on a core file (cmd_vm_core.c): where each page's bytes are. */
int cli_vm_core(struct cli_ctx *ctx, struct ms_target *target, bool pages, bool ranges,
		bool summary, bool all_pages);
cli_fn cmd_gcore;

/* backtraces and debugging */
cli_fn cmd_bt;
cli_fn cmd_thread;

/* the session */
cli_fn cmd_help;
cli_fn cmd_quit;
cli_fn cmd_set;
cli_fn cmd_sys;

#endif
