/* SPDX-License-Identifier: MIT */
/* quit: leave the interactive prompt. */
#include "commands.h"

int cmd_quit(struct cli_ctx *ctx, int argc, char **argv)
{
	(void)argc;
	(void)argv;
	ctx->session->quit = true;
	return CLI_OK;
}
