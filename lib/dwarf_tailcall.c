/* SPDX-License-Identifier: MIT */
/*
 * Tail calls. A function that ends in a jump to another leaves no frame:
 * the stack shows its caller calling a function it never called. The call
 * sites (DW_TAG_call_site with DW_AT_call_tail_call) say which jumps can
 * lead from the called function to the one found, and when that path is
 * known the missing frames are put back, as gdb does.
 */
#include <dwarf.h>
#include <stdlib.h>
#include <string.h>

#include "dwarf_impl.h"

enum { MAX_DEPTH = 8, MAX_PATHS = 16 };

/* The entry address of the function holding pc (DWARF, else the ELF symbol). */
static bool entry_of(struct ms_dwarf_session *s, uint64_t pc, uint64_t *entry, Dwarf_Die *fn,
		     bool *has_fn)
{
	*has_fn = false;
	Dwfl_Module *mod = dwfl_addrmodule(s->dwfl, pc);
	if (!mod)
		return false;
	Dwarf_Addr bias;
	Dwarf_Die *cu = ms_dwarf_cu_at(s, mod, pc, &bias);
	Dwarf_Die *scopes = NULL;
	int n = cu ? ms_dwarf_physical_scopes(s, mod, cu, pc - bias, &scopes) : 0;
	for (int i = n - 1; i >= 0; i--) {
		Dwarf_Addr low;
		if (dwarf_tag(&scopes[i]) == DW_TAG_subprogram &&
		    ms_dwarf_die_entry(&scopes[i], &low)) {
			*entry = low + bias;
			*fn = scopes[i];
			*has_fn = true;
			return true;
		}
	}
	uint64_t off;
	if (!ms_dwarf_symbol_at(s, pc, &off))
		return false;
	*entry = pc - off;
	return true;
}

/* Where a call site jumps: the callee DWARF defines, else the symbol of its name. */
static bool site_target(struct ms_dwarf_session *s, Dwarf_Die *site, Dwarf_Addr bias,
			uint64_t *target)
{
	if (ms_dwarf_call_site_target(site, bias, target))
		return true;
	Dwarf_Die origin;
	if (!ms_dwarf_call_site_origin(site, &origin))
		return false;
	Dwarf_Attribute la;
	const char *name = dwarf_formstring(dwarf_attr_integrate(&origin, DW_AT_linkage_name, &la));
	if (!name)
		name = dwarf_diename(&origin);
	struct ms_dwarf_symbol sym;
	if (!name || !ms_dwarf_symbol_by_name(s, NULL, name, &sym))
		return false;
	*target = sym.address;
	return true;
}

static uint64_t site_return_pc(Dwarf_Die *site, Dwarf_Addr bias)
{
	Dwarf_Attribute attr;
	Dwarf_Addr pc;
	Dwarf_Attribute *a = dwarf_attr(site, DW_AT_call_return_pc, &attr);
	if (!a)
		a = dwarf_attr(site, DW_AT_low_pc, &attr);
	if (!a || dwarf_formaddr(a, &pc) != 0)
		return 0;
	return pc + bias;
}

struct search {
	struct ms_dwarf_session *s;
	uint64_t goal;
	/* the path being walked: function entries and the tail-call site's pc in each */
	uint64_t fn[MAX_DEPTH], site_pc[MAX_DEPTH];
	int depth;
	uint64_t paths[MAX_PATHS][MAX_DEPTH];
	int lens[MAX_PATHS];
	int npaths;
	bool overflow;
};

static void walk(struct search *sr, uint64_t fn_entry);

/* Every tail-call site under die (blocks and inlined calls included). */
static void tail_sites(struct search *sr, Dwarf_Die *die, Dwarf_Addr bias, int level)
{
	Dwarf_Die child;
	if (level > 16 || dwarf_child(die, &child) != 0)
		return;
	do {
		int tag = dwarf_tag(&child);
		if (tag == DW_TAG_call_site || tag == DW_TAG_GNU_call_site) {
			if (!dwarf_hasattr(&child, DW_AT_call_tail_call) &&
			    !dwarf_hasattr(&child, DW_AT_GNU_tail_call))
				continue;
			uint64_t target;
			if (!site_target(sr->s, &child, bias, &target))
				continue;
			sr->site_pc[sr->depth - 1] = site_return_pc(&child, bias);
			walk(sr, target);
		} else if (tag == DW_TAG_lexical_block || tag == DW_TAG_inlined_subroutine) {
			tail_sites(sr, &child, bias, level + 1);
		}
	} while (dwarf_siblingof(&child, &child) == 0 && !sr->overflow);
}

static void walk(struct search *sr, uint64_t fn_entry)
{
	if (fn_entry == sr->goal) {
		if (sr->npaths == MAX_PATHS) {
			sr->overflow = true;
			return;
		}
		/* the functions passed through, with the pc of the jump in each */
		for (int i = 0; i < sr->depth; i++)
			sr->paths[sr->npaths][i] = sr->site_pc[i];
		sr->lens[sr->npaths++] = sr->depth;
		return;
	}
	if (sr->depth == MAX_DEPTH)
		return;
	for (int i = 0; i < sr->depth; i++)
		if (sr->fn[i] == fn_entry)
			return; /* a cycle */
	Dwfl_Module *mod = dwfl_addrmodule(sr->s->dwfl, fn_entry);
	if (!mod)
		return;
	uint64_t entry;
	Dwarf_Die fn;
	bool has_fn;
	if (!entry_of(sr->s, fn_entry, &entry, &fn, &has_fn) || !has_fn)
		return;
	Dwarf_Addr bias;
	if (!ms_dwarf_cu_at(sr->s, mod, fn_entry, &bias))
		return;
	sr->fn[sr->depth++] = fn_entry;
	tail_sites(sr, &fn, bias, 0);
	sr->depth--;
}

size_t ms_dwarf_tailcalls(struct ms_dwarf_session *s, uint64_t callee_pc, bool activation,
			  uint64_t caller_pc, uint64_t *pcs, size_t max)
{
	uint64_t callee;
	Dwarf_Die fn;
	bool has_fn;
	if (!entry_of(s, activation ? callee_pc : callee_pc - 1, &callee, &fn, &has_fn))
		return 0;
	/* The call the caller made, at its return address. */
	Dwfl_Module *mod;
	Dwarf_Addr bias;
	Dwarf_Die site;
	bool found = ms_dwarf_call_site_at(s, caller_pc, &mod, &bias, &site);
	uint64_t target;
	if (!found || !site_target(s, &site, bias, &target) || target == callee)
		return 0;
	struct search *sr = calloc(1, sizeof(*sr));
	if (!sr)
		return 0;
	sr->s = s;
	sr->goal = callee;
	walk(sr, target);
	size_t count = 0;
	if (sr->npaths > 0 && !sr->overflow) {
		/* As gdb: what all paths agree on, from the caller's side and from the callee's. */
		int prefix = sr->lens[0], suffix = sr->lens[0];
		for (int p = 1; p < sr->npaths; p++) {
			int k = 0;
			while (k < prefix && k < sr->lens[p] && sr->paths[p][k] == sr->paths[0][k])
				k++;
			prefix = k;
			k = 0;
			while (k < suffix && k < sr->lens[p] &&
			       sr->paths[p][sr->lens[p] - 1 - k] ==
				       sr->paths[0][sr->lens[0] - 1 - k])
				k++;
			suffix = k;
		}
		if (prefix + suffix > sr->lens[0])
			suffix = sr->lens[0] - prefix;
		/* innermost first: the callee's side, then the caller's */
		for (int k = 0; k < suffix && count < max; k++)
			pcs[count++] = sr->paths[0][sr->lens[0] - suffix + (suffix - 1 - k)];
		for (int k = prefix - 1; k >= 0 && count < max; k--)
			pcs[count++] = sr->paths[0][k];
	}
	free(sr);
	return count;
}
