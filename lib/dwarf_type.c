/* SPDX-License-Identifier: MIT */
/*
 * Types: stripping typedefs and qualifiers, sizes, and names as C and C++
 * declare them ("const char *", "int (*)[4]", "app::Box<long>").
 */
#include <dwarf.h>
#include <stdlib.h>
#include <string.h>

#include "dwarf_impl.h"

/* ---- types ---- */

bool ms_dwarf_type_strip(Dwarf_Die *type, Dwarf_Die *ret)
{
	Dwarf_Die t = *type;
	for (int depth = 0; depth < 64; depth++) {
		int tag = dwarf_tag(&t);
		if (tag != DW_TAG_typedef && tag != DW_TAG_const_type &&
		    tag != DW_TAG_volatile_type && tag != DW_TAG_restrict_type &&
		    tag != DW_TAG_atomic_type) {
			*ret = t;
			return true;
		}
		Dwarf_Attribute attr;
		if (!dwarf_formref_die(dwarf_attr_integrate(&t, DW_AT_type, &attr), &t))
			return false; /* const void */
	}
	return false;
}

bool ms_dwarf_type_size(Dwarf_Die *type, uint64_t *size_ret)
{
	Dwarf_Word size;
	Dwarf_Die t;
	if (!ms_dwarf_type_strip(type, &t))
		return false;
	int tag = dwarf_tag(&t);
	if (tag == DW_TAG_pointer_type || tag == DW_TAG_reference_type ||
	    tag == DW_TAG_rvalue_reference_type || tag == DW_TAG_ptr_to_member_type) {
		Dwarf_Attribute attr;
		if (dwarf_formudata(dwarf_attr(&t, DW_AT_byte_size, &attr), &size) != 0)
			size = 8;
		*size_ret = size;
		return true;
	}
	if (dwarf_aggregate_size(&t, &size) != 0)
		return false;
	*size_ret = size;
	return true;
}

struct strbuf {
	char *s;
	size_t len, cap;
};

static void sb_add(struct strbuf *b, const char *text)
{
	size_t n = strlen(text);
	if (b->len + n + 1 > b->cap) {
		size_t cap = (b->len + n + 1) * 2;
		char *s = realloc(b->s, cap);
		if (!s)
			return;
		b->s = s;
		b->cap = cap;
	}
	memcpy(b->s + b->len, text, n + 1);
	b->len += n;
}

static void sb_insert(struct strbuf *b, size_t at, const char *text)
{
	size_t n = strlen(text);
	sb_add(b, text); /* grow */
	if (b->len < n)
		return;
	memmove(b->s + at + n, b->s + at, b->len - n - at);
	memcpy(b->s + at, text, n);
}

/*
 * C declarator syntax: the base name on the left, the declarator (pointers,
 * arrays, functions) wrapped around a hole. prefix/suffix build "int (*)[4]".
 */
static void type_name_rec(Dwarf_Die *type, struct strbuf *prefix, struct strbuf *suffix, int depth);

static void params_text(Dwarf_Die *fn, struct strbuf *out)
{
	sb_add(out, "(");
	Dwarf_Die child;
	bool first = true, any = false;
	if (dwarf_child(fn, &child) == 0) {
		do {
			int tag = dwarf_tag(&child);
			if (tag == DW_TAG_unspecified_parameters) {
				sb_add(out, first ? "..." : ", ...");
				any = true;
				continue;
			}
			if (tag != DW_TAG_formal_parameter)
				continue;
			Dwarf_Attribute attr;
			Dwarf_Die pt;
			if (!first)
				sb_add(out, ", ");
			first = false;
			any = true;
			if (dwarf_formref_die(dwarf_attr_integrate(&child, DW_AT_type, &attr),
					      &pt)) {
				char *n = ms_dwarf_type_name(&pt);
				sb_add(out, n ? n : "?");
				free(n);
			}
		} while (dwarf_siblingof(&child, &child) == 0);
	}
	if (!any && dwarf_hasattr(fn, DW_AT_prototyped))
		sb_add(out, "void");
	sb_add(out, ")");
}

/* C++: the namespaces and classes a type is declared in ("app::detail::"). */
static void add_scope_prefix(Dwarf_Die *type, struct strbuf *prefix)
{
	Dwarf_Die *scopes = NULL;
	int n = dwarf_getscopes_die(type, &scopes);
	for (int i = n - 1; i >= 1; i--) {
		int tag = dwarf_tag(&scopes[i]);
		if (tag != DW_TAG_namespace && tag != DW_TAG_structure_type &&
		    tag != DW_TAG_class_type && tag != DW_TAG_union_type)
			continue;
		const char *name = dwarf_diename(&scopes[i]);
		sb_add(prefix, name ? name : "(anonymous namespace)");
		sb_add(prefix, "::");
	}
	if (n > 0)
		free(scopes);
}

static void type_name_rec(Dwarf_Die *type, struct strbuf *prefix, struct strbuf *suffix, int depth)
{
	if (depth > 32) {
		sb_add(prefix, "?");
		return;
	}
	Dwarf_Attribute attr;
	Dwarf_Die inner;
	bool has_inner = type && dwarf_formref_die(dwarf_attr(type, DW_AT_type, &attr), &inner);
	if (!type) {
		sb_add(prefix, "void");
		return;
	}
	int tag = dwarf_tag(type);
	const char *name = dwarf_diename(type);
	switch (tag) {
	case DW_TAG_base_type:
	case DW_TAG_typedef:
	case DW_TAG_unspecified_type:
		sb_add(prefix, name ? name : "?");
		return;
	case DW_TAG_structure_type:
	case DW_TAG_class_type:
	case DW_TAG_union_type:
	case DW_TAG_enumeration_type: {
		Dwarf_Die cu;
		int lang = dwarf_diecu(type, &cu, NULL, NULL) ? dwarf_srclang(&cu) : 0;
		if (!ms_dwarf_lang_is_cplus(lang))
			sb_add(prefix, tag == DW_TAG_union_type		? "union "
				       : tag == DW_TAG_enumeration_type ? "enum "
									: "struct ");
		else if (name)
			add_scope_prefix(type, prefix);
		sb_add(prefix, name ? name : "{...}");
		return;
	}
	case DW_TAG_const_type:
	case DW_TAG_volatile_type: {
		const char *q = tag == DW_TAG_const_type ? "const" : "volatile";
		Dwarf_Die stripped;
		bool pointer_like = has_inner && ms_dwarf_type_strip(&inner, &stripped) &&
				    dwarf_tag(&inner) == DW_TAG_pointer_type;
		if (pointer_like) {
			type_name_rec(&inner, prefix, suffix, depth + 1);
			sb_add(prefix, " ");
			sb_add(prefix, q);
		} else {
			sb_add(prefix, q);
			sb_add(prefix, " ");
			type_name_rec(has_inner ? &inner : NULL, prefix, suffix, depth + 1);
		}
		return;
	}
	case DW_TAG_pointer_type:
	case DW_TAG_reference_type:
	case DW_TAG_rvalue_reference_type: {
		const char *op = tag == DW_TAG_pointer_type	? "*"
				 : tag == DW_TAG_reference_type ? "&"
								: "&&";
		Dwarf_Die st;
		bool wrap = has_inner && ms_dwarf_type_strip(&inner, &st) &&
			    (dwarf_tag(&inner) == DW_TAG_array_type ||
			     dwarf_tag(&inner) == DW_TAG_subroutine_type);
		type_name_rec(has_inner ? &inner : NULL, prefix, suffix, depth + 1);
		if (wrap) {
			sb_add(prefix, " (");
			sb_add(prefix, op);
			sb_insert(suffix, 0, ")");
		} else {
			if (prefix->len && prefix->s[prefix->len - 1] != '*' &&
			    prefix->s[prefix->len - 1] != '&')
				sb_add(prefix, " ");
			sb_add(prefix, op);
		}
		return;
	}
	case DW_TAG_array_type: {
		struct strbuf dims = {0};
		Dwarf_Die sub;
		if (dwarf_child(type, &sub) == 0) {
			do {
				if (dwarf_tag(&sub) != DW_TAG_subrange_type)
					continue;
				Dwarf_Word count = 0, upper = 0;
				char buf[32];
				if (dwarf_formudata(dwarf_attr(&sub, DW_AT_count, &attr), &count) ==
				    0)
					snprintf(buf, sizeof(buf), "[%llu]",
						 (unsigned long long)count);
				else if (dwarf_formudata(dwarf_attr(&sub, DW_AT_upper_bound, &attr),
							 &upper) == 0)
					snprintf(buf, sizeof(buf), "[%llu]",
						 (unsigned long long)upper + 1);
				else
					snprintf(buf, sizeof(buf), "[]");
				sb_add(&dims, buf);
			} while (dwarf_siblingof(&sub, &sub) == 0);
		}
		if (dims.s)
			sb_insert(suffix, 0, dims.s);
		free(dims.s);
		type_name_rec(has_inner ? &inner : NULL, prefix, suffix, depth + 1);
		return;
	}
	case DW_TAG_subroutine_type: {
		struct strbuf params = {0};
		params_text(type, &params);
		if (params.s)
			sb_insert(suffix, 0, params.s);
		free(params.s);
		type_name_rec(has_inner ? &inner : NULL, prefix, suffix, depth + 1);
		return;
	}
	default:
		sb_add(prefix, name ? name : "?");
	}
}

char *ms_dwarf_type_name(Dwarf_Die *type)
{
	struct strbuf prefix = {0}, suffix = {0};
	type_name_rec(type, &prefix, &suffix, 0);
	if (suffix.s && suffix.len) {
		if (suffix.s[0] == '[' || suffix.s[0] == '(')
			sb_add(&prefix, " ");
		sb_add(&prefix, suffix.s);
	}
	free(suffix.s);
	if (!prefix.s)
		return strdup("?");
	return prefix.s;
}

char *ms_dwarf_variable_type_name(struct ms_dwarf_variable *var)
{
	Dwarf_Attribute attr;
	Dwarf_Die type;
	if (!dwarf_formref_die(dwarf_attr_integrate(&var->die, DW_AT_type, &attr), &type))
		return strdup("void");
	return ms_dwarf_type_name(&type);
}
