/* SPDX-License-Identifier: MIT */
/*
 * The C++ standard library as gdb shows it. gdb loads libstdc++'s Python
 * pretty-printers with the library, so `bt full` shows a std::string as
 * "text", a std::vector as "std::vector of length 3, capacity 4 = {...}",
 * a std::map as "std::map with 2 elements = {[k] = v, ...}". These are the
 * same views, read from the objects' layout (GCC's libstdc++, the new
 * string ABI): a type whose members are not where the printer expects them
 * is printed raw.
 */
#include <dwarf.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "format_impl.h"

enum kind { NONE, STRING, VECTOR, MAP, SET, UNIQUE_PTR, SHARED_PTR };

/* The class's name with its namespaces, without template arguments. */
static bool qualified_name(Dwarf_Die *type, char *buf, size_t size)
{
	const char *name = dwarf_diename(type);
	if (!name)
		return false;
	Dwarf_Die *scopes = NULL;
	int n = dwarf_getscopes_die(type, &scopes);
	size_t len = 0;
	buf[0] = '\0';
	for (int i = n - 1; i >= 1; i--) {
		int tag = dwarf_tag(&scopes[i]);
		if (tag != DW_TAG_namespace && tag != DW_TAG_structure_type &&
		    tag != DW_TAG_class_type)
			continue;
		const char *part = dwarf_diename(&scopes[i]);
		int w = snprintf(buf + len, size - len,
				 "%s::", part ? part : "(anonymous namespace)");
		if (w < 0 || (size_t)w >= size - len) {
			free(scopes);
			return false;
		}
		len += (size_t)w;
	}
	free(scopes);
	size_t base = strcspn(name, "<");
	if (len + base >= size)
		return false;
	memcpy(buf + len, name, base);
	buf[len + base] = '\0';
	return true;
}

static enum kind kind_of(Dwarf_Die *type)
{
	const char *name = dwarf_diename(type);
	/* a cheap test first: every thread's frames ask for every struct */
	if (!name || dwarf_hasattr(type, DW_AT_declaration))
		return NONE;
	static const struct {
		const char *prefix;
		const char *qualified;
		enum kind kind;
	} known[] = {
		{"basic_string<char,", "std::__cxx11::basic_string", STRING},
		{"vector<", "std::vector", VECTOR},
		{"map<", "std::map", MAP},
		{"multimap<", "std::multimap", MAP},
		{"set<", "std::set", SET},
		{"multiset<", "std::multiset", SET},
		{"unique_ptr<", "std::unique_ptr", UNIQUE_PTR},
		{"shared_ptr<", "std::shared_ptr", SHARED_PTR},
		{"weak_ptr<", "std::weak_ptr", SHARED_PTR},
	};
	for (size_t i = 0; i < sizeof(known) / sizeof(known[0]); i++) {
		if (strncmp(name, known[i].prefix, strlen(known[i].prefix)) != 0)
			continue;
		char q[256];
		if (!qualified_name(type, q, sizeof(q)) || strcmp(q, known[i].qualified) != 0)
			return NONE;
		/* vector<bool> is bits, with a printer of its own: raw here */
		if (known[i].kind == VECTOR && strncmp(name, "vector<bool,", 12) == 0)
			return NONE;
		return known[i].kind;
	}
	return NONE;
}

bool ms_format_cxx_applies(Dwarf_Die *type)
{
	return kind_of(type) != NONE;
}

/* ---- reading the objects ---- */

static bool type_of(Dwarf_Die *die, Dwarf_Die *ret)
{
	Dwarf_Attribute attr;
	return dwarf_formref_die(dwarf_attr_integrate(die, DW_AT_type, &attr), ret) != NULL;
}

/* A data member by name, in the class or its bases (as gdb's val['name']). */
static bool member_rec(Dwarf_Die *type, const char *name, bool pointer, Dwarf_Die *type_ret,
		       uint64_t *off_ret, int depth)
{
	Dwarf_Die t, m;
	if (depth > 8 || !ms_dwarf_type_strip(type, &t) || dwarf_child(&t, &m) != 0)
		return false;
	do {
		int tag = dwarf_tag(&m);
		if (tag != DW_TAG_member && tag != DW_TAG_inheritance)
			continue;
		if (dwarf_hasattr(&m, DW_AT_declaration))
			continue;
		Dwarf_Attribute attr;
		Dwarf_Word off = 0;
		dwarf_formudata(dwarf_attr(&m, DW_AT_data_member_location, &attr), &off);
		Dwarf_Die mt;
		if (!type_of(&m, &mt))
			continue;
		if (tag == DW_TAG_member) {
			const char *n = dwarf_diename(&m);
			Dwarf_Die st;
			if (n && strcmp(n, name) == 0 &&
			    (!pointer || (ms_dwarf_type_strip(&mt, &st) &&
					  dwarf_tag(&st) == DW_TAG_pointer_type))) {
				*type_ret = mt;
				*off_ret = off;
				return true;
			}
		} else if (member_rec(&mt, name, pointer, type_ret, off_ret, depth + 1)) {
			*off_ret += off;
			return true;
		}
	} while (dwarf_siblingof(&m, &m) == 0);
	return false;
}

static bool member(Dwarf_Die *type, const char *name, Dwarf_Die *type_ret, uint64_t *off_ret,
		   int depth)
{
	return member_rec(type, name, false, type_ret, off_ret, depth);
}

/* The word at a member path ("_M_impl._M_start") of the slice. */
static bool word_at(Dwarf_Die *type, struct slice *s, const char *path, uint64_t *ret)
{
	char buf[128];
	snprintf(buf, sizeof(buf), "%s", path);
	Dwarf_Die t = *type, mt;
	uint64_t off = 0, moff;
	for (char *save = NULL, *part = strtok_r(buf, ".", &save); part;
	     part = strtok_r(NULL, ".", &save)) {
		if (!member(&t, part, &mt, &moff, 0))
			return false;
		off += moff;
		t = mt;
	}
	uint64_t size = 0;
	if (!ms_dwarf_type_size(&t, &size) || size == 0 || size > 8 || off + size > s->size)
		return false;
	*ret = 0;
	memcpy(ret, s->bytes + off, (size_t)size);
	return true;
}

/* The type given for the class's template parameter number index. */
static bool template_arg(Dwarf_Die *type, int index, Dwarf_Die *ret)
{
	Dwarf_Die c;
	if (dwarf_child(type, &c) != 0)
		return false;
	int i = 0;
	do {
		if (dwarf_tag(&c) != DW_TAG_template_type_parameter)
			continue;
		if (i++ == index)
			return type_of(&c, ret);
	} while (dwarf_siblingof(&c, &c) == 0);
	return false;
}

static uint64_t type_align(Dwarf_Die *type, int depth)
{
	Dwarf_Die t, m;
	uint64_t size = 0;
	if (depth > 16 || !ms_dwarf_type_strip(type, &t))
		return 1;
	Dwarf_Attribute attr;
	Dwarf_Word align;
	if (dwarf_formudata(dwarf_attr(&t, DW_AT_alignment, &attr), &align) == 0 && align)
		return align;
	switch (dwarf_tag(&t)) {
	case DW_TAG_structure_type:
	case DW_TAG_class_type:
	case DW_TAG_union_type: {
		uint64_t a = 1;
		if (dwarf_child(&t, &m) == 0) {
			do {
				Dwarf_Die mt;
				int tag = dwarf_tag(&m);
				if ((tag == DW_TAG_member || tag == DW_TAG_inheritance) &&
				    !dwarf_hasattr(&m, DW_AT_declaration) && type_of(&m, &mt)) {
					uint64_t ma = type_align(&mt, depth + 1);
					if (ma > a)
						a = ma;
				}
			} while (dwarf_siblingof(&m, &m) == 0);
		}
		return a;
	}
	case DW_TAG_array_type:
		return type_of(&t, &m) ? type_align(&m, depth + 1) : 1;
	default:
		ms_dwarf_type_size(&t, &size);
		return size && size <= 16 ? size : 1;
	}
}

/* Print an object of type at addr, read from the target, through the printers. */
static void print_at(struct fmt *f, Dwarf_Die *type, uint64_t addr, int depth)
{
	struct ms_dwarf_value *v = ms_dwarf_value_at(f->session, type, addr);
	if (!v) {
		ms_strbuf_add(f->out, "<error: out of memory>");
		return;
	}
	if (v->state == MS_DWARF_VALUE_ERROR) {
		ms_strbuf_add(f->out, "<error: ");
		ms_format_error(v->error, f->out);
		ms_strbuf_add(f->out, ">");
	} else {
		struct slice sub = {
			.bytes = v->bytes, .size = v->size, .in_memory = true, .address = addr};
		ms_format_slice(f, type, &sub, depth + 1);
	}
	ms_dwarf_value_destroy(v);
}

/* ---- the printers ---- */

static bool print_string(struct fmt *f, Dwarf_Die *type, struct slice *s)
{
	uint64_t p, len;
	if (!word_at(type, s, "_M_dataplus._M_p", &p) ||
	    !word_at(type, s, "_M_string_length", &len))
		return false;
	/* a string of known length: print_max characters at most, then "..." */
	size_t n = len > (uint64_t)f->o->print_max ? (size_t)f->o->print_max : (size_t)len;
	uint8_t *buf = malloc(n ? n : 1);
	if (!buf)
		return false;
	struct ms_error *err = ms_dwarf_read(f->session, p, buf, n);
	if (err) {
		ms_strbuf_add(f->out, "<error: ");
		ms_format_error(err, f->out);
		ms_strbuf_add(f->out, ">");
		ms_error_destroy(err);
	} else {
		ms_format_chars(f, buf, n, len > n);
	}
	free(buf);
	return true;
}

/* gdb's children: " = {a, b}" (array), " = {[k] = v}" (map), " = {[0] = a}" (others). */
struct children {
	struct fmt *f;
	int count; /* items so far (a map's key and value are two) */
	bool stopped;
};

static bool child_next(struct children *c)
{
	if (c->stopped)
		return false;
	if (c->count >= c->f->o->print_max) {
		c->stopped = true;
		ms_strbuf_add(c->f->out, "...");
		return false;
	}
	ms_strbuf_add(c->f->out, c->count == 0 ? " = {" : ", ");
	if (c->f->o->summary) {
		/* frame arguments: that there are children is all */
		c->stopped = true;
		ms_strbuf_add(c->f->out, "...");
		return false;
	}
	return true;
}

static void children_end(struct children *c)
{
	if (c->count || c->stopped)
		ms_strbuf_add(c->f->out, "}");
}

static bool print_vector(struct fmt *f, Dwarf_Die *type, struct slice *s, int depth)
{
	uint64_t start, finish, end, esize = 0;
	Dwarf_Die elem;
	if (!word_at(type, s, "_M_impl._M_start", &start) ||
	    !word_at(type, s, "_M_impl._M_finish", &finish) ||
	    !word_at(type, s, "_M_impl._M_end_of_storage", &end) || !template_arg(type, 0, &elem) ||
	    !ms_dwarf_type_size(&elem, &esize) || !esize || finish < start || end < start)
		return false;
	uint64_t n = (finish - start) / esize;
	ms_strbuf_addf(f->out, "std::vector of length %" PRIu64 ", capacity %" PRIu64, n,
		       (end - start) / esize);
	struct children c = {.f = f};
	for (uint64_t i = 0; i < n && child_next(&c); i++, c.count++)
		print_at(f, &elem, start + i * esize, depth);
	children_end(&c);
	return true;
}

/* The nodes of a red-black tree in order (libstdc++'s _Rb_tree). */
struct rbtree {
	struct ms_dwarf_session *session;
	uint64_t header, node;
	uint64_t left; /* offsets in _Rb_tree_node_base */
	uint64_t count, seen;
};

static bool read_word(struct ms_dwarf_session *s, uint64_t addr, uint64_t *ret)
{
	struct ms_error *err = ms_dwarf_read(s, addr, ret, 8);
	ms_error_destroy(err);
	return err == NULL;
}

/* _Rb_tree_node_base: color, then parent, left and right pointers. */
enum { RB_PARENT = 8, RB_LEFT = 16, RB_RIGHT = 24, RB_STORAGE = 32 };

static bool rbtree_next(struct rbtree *t)
{
	if (t->seen == 0)
		return read_word(t->session, t->header + RB_LEFT, &t->node);
	uint64_t right, node = t->node;
	if (!read_word(t->session, node + RB_RIGHT, &right))
		return false;
	if (right) {
		node = right;
		for (int i = 0; i < 4096; i++) {
			uint64_t left;
			if (!read_word(t->session, node + RB_LEFT, &left))
				return false;
			if (!left)
				break;
			node = left;
		}
	} else {
		uint64_t parent;
		if (!read_word(t->session, node + RB_PARENT, &parent))
			return false;
		for (int i = 0; i < 4096; i++) {
			uint64_t pr;
			if (!read_word(t->session, parent + RB_RIGHT, &pr))
				return false;
			if (node != pr)
				break;
			node = parent;
			if (!read_word(t->session, parent + RB_PARENT, &parent))
				return false;
		}
		if (!read_word(t->session, node + RB_RIGHT, &right))
			return false;
		if (right != parent)
			node = parent;
	}
	t->node = node;
	return true;
}

static bool print_tree(struct fmt *f, Dwarf_Die *type, struct slice *s, int depth, bool map)
{
	Dwarf_Die key, val;
	uint64_t count, hdr_off = 0;
	Dwarf_Die hdr_type;
	if (!word_at(type, s, "_M_t._M_impl._M_node_count", &count) ||
	    !member(type, "_M_t", &hdr_type, &hdr_off, 0) || !template_arg(type, 0, &key) ||
	    (map && !template_arg(type, 1, &val)))
		return false;
	uint64_t impl_off, header_off;
	Dwarf_Die t1, t2;
	if (!member(&hdr_type, "_M_impl", &t1, &impl_off, 0) ||
	    !member(&t1, "_M_header", &t2, &header_off, 0))
		return false;
	if (!s->in_memory)
		return false; /* the tree's header links back into the object */
	char q[64];
	Dwarf_Die t;
	if (!ms_dwarf_type_strip(type, &t) || !qualified_name(&t, q, sizeof(q)))
		return false;
	ms_strbuf_addf(f->out, "%s with %" PRIu64 " element%s", q, count, count == 1 ? "" : "s");
	struct rbtree tree = {.session = f->session,
			      .header = s->address + hdr_off + impl_off + header_off,
			      .count = count};
	uint64_t ksize = 0, second = 0;
	ms_dwarf_type_size(&key, &ksize);
	if (map) {
		uint64_t a = type_align(&val, 0);
		second = (ksize + a - 1) / a * a;
	}
	struct children c = {.f = f};
	for (uint64_t i = 0; i < count && child_next(&c); i++) {
		if (!rbtree_next(&tree)) {
			ms_strbuf_add(f->out, "<error: Cannot access memory>");
			break;
		}
		tree.seen++;
		uint64_t at = tree.node + RB_STORAGE;
		if (map) {
			ms_strbuf_add(f->out, "[");
			print_at(f, &key, at, depth);
			ms_strbuf_add(f->out, "] = ");
			c.count++;
			if (c.count >= f->o->print_max) {
				c.stopped = true;
				ms_strbuf_add(f->out, "...");
				break;
			}
			print_at(f, &val, at + second, depth);
			c.count++;
		} else {
			ms_strbuf_addf(f->out, "[%" PRIu64 "] = ", i);
			print_at(f, &key, at, depth);
			c.count++;
		}
	}
	children_end(&c);
	return true;
}

/* The name gdb gives a template argument's type. */
static void add_type_name(struct fmt *f, Dwarf_Die *type)
{
	char *tn = ms_dwarf_type_name(type);
	ms_strbuf_add(f->out, tn ? tn : "?");
	free(tn);
}

static void print_get(struct fmt *f, Dwarf_Die *ptr_type, uint64_t ptr, int depth)
{
	struct children c = {.f = f};
	if (child_next(&c)) {
		ms_strbuf_add(f->out, "get() = ");
		uint8_t bytes[8];
		memcpy(bytes, &ptr, 8);
		struct slice sub = {.bytes = bytes, .size = 8};
		ms_format_slice(f, ptr_type, &sub, depth + 1);
		c.count++;
	}
	children_end(&c);
}

static bool print_unique_ptr(struct fmt *f, Dwarf_Die *type, struct slice *s, int depth)
{
	Dwarf_Die arg, t1, t2, ptr_type;
	uint64_t o1, o2, o3, ptr = 0;
	/*
	 * GCC 9 on: _M_t (__uniq_ptr_data) ._M_t (a tuple) and, in the tuple's
	 * bases, the _M_head_impl that holds the pointer (the deleter's is
	 * another, empty one).
	 */
	if (!template_arg(type, 0, &arg) || !member(type, "_M_t", &t1, &o1, 0) ||
	    !member(&t1, "_M_t", &t2, &o2, 0) ||
	    !member_rec(&t2, "_M_head_impl", true, &ptr_type, &o3, 0) || o1 + o2 + o3 + 8 > s->size)
		return false;
	memcpy(&ptr, s->bytes + o1 + o2 + o3, 8);
	ms_strbuf_add(f->out, "std::unique_ptr<");
	add_type_name(f, &arg);
	ms_strbuf_add(f->out, ">");
	print_get(f, &ptr_type, ptr, depth);
	return true;
}

static bool print_shared_ptr(struct fmt *f, Dwarf_Die *type, struct slice *s, int depth)
{
	Dwarf_Die arg, ptr_type;
	uint64_t ptr, pi, off;
	if (!template_arg(type, 0, &arg) || !word_at(type, s, "_M_ptr", &ptr) ||
	    !word_at(type, s, "_M_refcount._M_pi", &pi) ||
	    !member(type, "_M_ptr", &ptr_type, &off, 0))
		return false;
	char q[64];
	Dwarf_Die t;
	if (!ms_dwarf_type_strip(type, &t) || !qualified_name(&t, q, sizeof(q)))
		return false;
	ms_strbuf_addf(f->out, "%s<", q);
	add_type_name(f, &arg);
	ms_strbuf_add(f->out, "> (");
	if (!pi) {
		ms_strbuf_add(f->out, "empty");
	} else {
		/* _Sp_counted_base: vtable, then _M_use_count and _M_weak_count */
		int32_t counts[2];
		struct ms_error *err = ms_dwarf_read(f->session, pi + 8, counts, sizeof(counts));
		if (err) {
			ms_error_destroy(err);
			return false;
		}
		if (counts[0] == 0)
			ms_strbuf_addf(f->out, "expired, weak count %d", counts[1]);
		else
			ms_strbuf_addf(f->out, "use count %d, weak count %d", counts[0],
				       counts[1] - 1);
	}
	ms_strbuf_add(f->out, ")");
	print_get(f, &ptr_type, ptr, depth);
	return true;
}

bool ms_format_cxx(struct fmt *f, Dwarf_Die *type, struct slice *s, int depth)
{
	size_t mark = f->out->len;
	bool ok;
	switch (kind_of(type)) {
	case STRING:
		ok = print_string(f, type, s);
		break;
	case VECTOR:
		ok = print_vector(f, type, s, depth);
		break;
	case MAP:
		ok = print_tree(f, type, s, depth, true);
		break;
	case SET:
		ok = print_tree(f, type, s, depth, false);
		break;
	case UNIQUE_PTR:
		ok = print_unique_ptr(f, type, s, depth);
		break;
	case SHARED_PTR:
		ok = print_shared_ptr(f, type, s, depth);
		break;
	default:
		ok = false;
	}
	if (!ok && f->out->len > mark) {
		/* undo a partial print: the caller prints the object raw */
		f->out->len = mark;
		if (f->out->s)
			f->out->s[mark] = '\0';
	}
	return ok;
}
