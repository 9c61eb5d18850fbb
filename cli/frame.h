/* SPDX-License-Identifier: MIT */
/*
 * One stack frame as gdb prints it on a line: "0x... in name (args) at
 * file:line" or "from LIB", shared by the commands that show frames (bt's
 * lines after "#N", info threads' frame column). The frames themselves, their
 * names, lines and values are the DWARF layer's; formatting a value is
 * format_value.h's.
 */
#ifndef MEMSCOPE_CLI_FRAME_H
#define MEMSCOPE_CLI_FRAME_H

#include <stdbool.h>

#include "../lib/dwarf.h"
#include "../lib/format_value.h"

/* name=value of a parameter, with gdb's entry-value forms (x=x@entry=5, x=6, x@entry=5). */
void frame_format_arg(struct ms_dwarf_frame *f, struct ms_dwarf_variable *var,
		      const struct ms_format_options *opts, struct ms_strbuf *out);

/*
 * The file the frame's code is in (solib false), or the shared library gdb
 * says the frame is "from" (solib true: NULL for the executable and the vDSO).
 */
const char *frame_module_path(const struct ms_dwarf_frame *f, bool solib);

/*
 * The frame as gdb prints it after "#N  " in a backtrace and in info
 * threads: the pc when gdb shows it, the function, its arguments, and where
 * it is (file:line, or the library without debug info).
 */
void frame_format_line(struct ms_dwarf_frame *f, struct ms_strbuf *out);

#endif
