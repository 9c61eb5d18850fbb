/* SPDX-License-Identifier: MIT */
/*
 * frame: one stack frame's line, as gdb prints it in a backtrace.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "frame.h"

void frame_format_arg(struct ms_dwarf_frame *f, struct ms_dwarf_variable *var,
		      const struct ms_format_options *opts, struct ms_strbuf *out)
{
	const char *name = var->name ? var->name : "?";
	struct ms_dwarf_value *v = ms_dwarf_variable_value(f, var);
	struct ms_error *eerr = NULL;
	struct ms_dwarf_value *entry = ms_dwarf_entry_value(f, var, &eerr);
	bool equal = v && entry && v->state == MS_DWARF_VALUE_OK && !v->known &&
		     v->size == entry->size && memcmp(v->bytes, entry->bytes, v->size) == 0;
	ms_strbuf_addf(out, "%s=", name);
	if (equal)
		ms_strbuf_addf(out, "%s@entry=", name);
	ms_format_value(v, opts, out);
	if (!equal && entry) {
		ms_strbuf_addf(out, ", %s@entry=", name);
		ms_format_value(entry, opts, out);
	} else if (!equal && eerr) {
		ms_strbuf_addf(out, ", %s@entry=<error: ", name);
		ms_format_error(eerr, out);
		ms_strbuf_add(out, ">");
	}
	ms_error_destroy(eerr);
	ms_dwarf_value_destroy(entry);
	ms_dwarf_value_destroy(v);
}

const char *frame_module_path(const struct ms_dwarf_frame *f, bool solib)
{
	struct ms_dwarf_module m;
	if (!ms_dwarf_module_at(f->session, f->activation ? f->pc : f->pc - 1, &m))
		return NULL;
	return solib ? m.solib : m.display;
}

void frame_format_line(struct ms_dwarf_frame *f, struct ms_strbuf *out)
{
	if (ms_dwarf_frame_show_address(f))
		ms_strbuf_addf(out, "0x%016" PRIx64 " in ", f->pc);
	ms_strbuf_addf(out, "%s (", f->name ? f->name : "??");
	struct ms_dwarf_variables vars = {0};
	struct ms_format_options args_opts = ms_format_defaults;
	args_opts.summary = true; /* gdb's print frame-arguments scalars */
	struct ms_error *err = ms_dwarf_frame_variables(f, MS_DWARF_PARAMS, &vars);
	if (err) {
		ms_error_destroy(err);
		vars.count = 0;
	}
	for (size_t i = 0; i < vars.count; i++) {
		if (i)
			ms_strbuf_add(out, ", ");
		frame_format_arg(f, &vars.vars[i], &args_opts, out);
	}
	free(vars.vars);
	ms_strbuf_add(out, ")");
	/* gdb: "from LIB" when there is no line, and only for shared libraries */
	const char *from = f->has_line ? NULL : frame_module_path(f, true);
	if (f->has_line)
		ms_strbuf_addf(out, " at %s:%d", f->line.file, f->line.line);
	else if (from)
		ms_strbuf_addf(out, " from %s", from);
}
