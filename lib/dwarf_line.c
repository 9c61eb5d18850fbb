/* SPDX-License-Identifier: MIT */
/*
 * Source lines as gdb sees them. libdw hands out every row of a unit's line
 * program; gdb keeps fewer. It drops a row that repeats the line of the row
 * before in the same file once that line has had a non-zero discriminator,
 * a non-statement row at an address where another file already had a
 * statement, rows of line 0; when the file changes it ends the previous
 * file's run with a line-0 marker that replaces that file's rows at the same
 * address. Each file of the unit gets its own table, sorted by address
 * (markers first). A pc's line is then the last row at or below it, over
 * all the unit's files, preferring a statement row at the same address.
 *
 * Which row is picked decides more than the line number: gdb prints a
 * frame's pc when the pc is not where that row starts (frame 0 sitting just
 * after a syscall inside a line, in the middle of it).
 */
#include <dwarf.h>
#include <gelf.h>
#include <stdlib.h>
#include <string.h>

#include "dwarf_impl.h"
#include "grow.h"

struct row {
	uint64_t addr; /* as in the debug info (before the module's bias) */
	int line;      /* 0: the end of a run */
	bool is_stmt;
	uint32_t order; /* for a stable sort */
};

struct subfile {
	const char *path; /* libdw's name for the file (the key) */
	struct row *rows;
	size_t n, cap;
};

struct ms_dwarf_linetable {
	struct ms_dwarf_linetable *next;
	Dwfl_Module *mod;
	Dwarf_Off cu_offset;
	struct subfile *subs; /* in gdb's search order once built */
	size_t nsubs;
};

static int subfile_of(struct ms_dwarf_linetable *t, const char *path)
{
	for (size_t i = 0; i < t->nsubs; i++)
		if (t->subs[i].path == path || strcmp(t->subs[i].path, path) == 0)
			return (int)i;
	struct subfile *grown = realloc(t->subs, (t->nsubs + 1) * sizeof(*grown));
	if (!grown)
		return -1;
	t->subs = grown;
	t->subs[t->nsubs] = (struct subfile){.path = path};
	return (int)t->nsubs++;
}

static bool push_row(struct subfile *sf, uint64_t addr, int line, bool is_stmt, uint32_t order)
{
	struct row *grown = ms_grow(sf->rows, sf->n, &sf->cap, sizeof(*grown), 16);
	if (!grown)
		return false;
	sf->rows = grown;
	sf->rows[sf->n++] = (struct row){addr, line, is_stmt, order};
	return true;
}

/*
 * The end of a file's run at addr: the file's rows at that same address go
 * (they would sort after the marker and seem to start there), and a marker
 * that would end nothing is not kept.
 */
static bool end_run(struct subfile *sf, uint64_t addr, uint32_t order)
{
	int last_line = 0;
	bool any = false;
	while (sf->n) {
		struct row *last = &sf->rows[sf->n - 1];
		last_line = last->line;
		any = true;
		if (last->addr != addr)
			break;
		sf->n--;
	}
	if (!any || last_line == 0)
		return true;
	return push_row(sf, addr, 0, true, order);
}

static int cmp_row(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	if (x->addr != y->addr)
		return x->addr < y->addr ? -1 : 1;
	if ((x->line == 0) != (y->line == 0))
		return x->line == 0 ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

/* The lowest address the unit covers (UINT64_MAX: none). */
static uint64_t unit_low(Dwarf_Die *cu)
{
	Dwarf_Addr base, start, end, low = UINT64_MAX;
	ptrdiff_t off = 0;
	while ((off = dwarf_ranges(cu, off, &base, &start, &end)) > 0)
		if (start < low)
			low = start;
	return low;
}

/* The unit's line program: its header's numbers and its opcodes. */
struct program {
	const uint8_t *p, *end;
	int version;
	uint8_t addr_size;
	uint8_t min_inst, max_ops, default_stmt, line_range, opcode_base;
	int8_t line_base;
	const uint8_t *std_lengths; /* opcode_base - 1 of them */
};

static bool read_bytes(struct program *pr, void *out, size_t n)
{
	if ((size_t)(pr->end - pr->p) < n)
		return false;
	memcpy(out, pr->p, n);
	pr->p += n;
	return true;
}

static uint64_t read_uleb(struct program *pr)
{
	uint64_t v = 0;
	for (int shift = 0; pr->p < pr->end; shift += 7) {
		uint8_t b = *pr->p++;
		if (shift < 64)
			v |= (uint64_t)(b & 0x7f) << shift;
		if (!(b & 0x80))
			break;
	}
	return v;
}

static int64_t read_sleb(struct program *pr)
{
	int64_t v = 0;
	int shift = 0;
	uint8_t b = 0;
	while (pr->p < pr->end) {
		b = *pr->p++;
		if (shift < 64)
			v |= (int64_t)((uint64_t)(b & 0x7f) << shift);
		shift += 7;
		if (!(b & 0x80))
			break;
	}
	if (shift < 64 && (b & 0x40))
		v |= -((int64_t)1 << shift);
	return v;
}

/*
 * libdw sorts a unit's rows by address, which loses what gdb's reading
 * depends on (the order of rows at one address, where a file changed, the
 * discriminator's history): the header's numbers are read here so that the
 * opcodes can be replayed in order. File names stay libdw's.
 */
static bool program_open(Dwarf_Die *cu, struct program *pr)
{
	Dwarf_Attribute attr;
	Dwarf_Word offset;
	if (dwarf_formudata(dwarf_attr(cu, DW_AT_stmt_list, &attr), &offset) != 0)
		return false;
	Elf *elf = dwarf_getelf(dwarf_cu_getdwarf(cu->cu));
	size_t shstrndx;
	if (!elf || elf_getshdrstrndx(elf, &shstrndx) != 0)
		return false;
	Elf_Data *data = NULL;
	for (Elf_Scn *scn = NULL; (scn = elf_nextscn(elf, scn));) {
		GElf_Shdr sh;
		const char *name;
		if (!gelf_getshdr(scn, &sh) || !(name = elf_strptr(elf, shstrndx, sh.sh_name)) ||
		    strcmp(name, ".debug_line") != 0)
			continue;
		/* libdw inflated it when it read the unit's lines; if not, do it here */
		if ((sh.sh_flags & SHF_COMPRESSED) && elf_compress(scn, 0, 0) < 0)
			return false;
		data = elf_getdata(scn, NULL);
		break;
	}
	if (!data || !data->d_buf || offset >= data->d_size)
		return false;
	pr->p = (const uint8_t *)data->d_buf + offset;
	pr->end = (const uint8_t *)data->d_buf + data->d_size;
	uint32_t len32;
	uint64_t unit_len;
	size_t offset_size = 4;
	if (!read_bytes(pr, &len32, 4))
		return false;
	unit_len = len32;
	if (len32 == 0xffffffff) {
		if (!read_bytes(pr, &unit_len, 8))
			return false;
		offset_size = 8;
	}
	if (unit_len > (uint64_t)(pr->end - pr->p))
		return false;
	pr->end = pr->p + unit_len;
	uint16_t version;
	if (!read_bytes(pr, &version, 2) || version < 2 || version > 5)
		return false;
	pr->version = version;
	pr->addr_size = 8;
	if (version >= 5) {
		uint8_t seg;
		if (!read_bytes(pr, &pr->addr_size, 1) || !read_bytes(pr, &seg, 1))
			return false;
	}
	uint64_t header_len = 0;
	if (!read_bytes(pr, &header_len, offset_size) || header_len > (uint64_t)(pr->end - pr->p))
		return false;
	const uint8_t *program = pr->p + header_len;
	pr->max_ops = 1;
	if (!read_bytes(pr, &pr->min_inst, 1) ||
	    (version >= 4 && !read_bytes(pr, &pr->max_ops, 1)) ||
	    !read_bytes(pr, &pr->default_stmt, 1) || !read_bytes(pr, &pr->line_base, 1) ||
	    !read_bytes(pr, &pr->line_range, 1) || !read_bytes(pr, &pr->opcode_base, 1) ||
	    !pr->line_range || !pr->max_ops || !pr->opcode_base ||
	    (size_t)(pr->end - pr->p) < (size_t)pr->opcode_base - 1 || program > pr->end)
		return false;
	pr->std_lengths = pr->p;
	pr->p = program;
	return pr->addr_size == 8 || pr->addr_size == 4;
}

/* gdb's line-program state machine, one sequence at a time. */
struct machine {
	struct ms_dwarf_linetable *t;
	uint32_t order;
	bool failed;
	/* the DWARF registers */
	uint64_t addr;
	unsigned op_index;
	int line;
	bool is_stmt;
	unsigned disc;
	/* what gdb tracks besides */
	int cur_sub;  /* the file being read */
	int last_sub; /* the file a line was last recorded for, -1 none */
	int last_line;
	bool discriminated; /* the line has had a non-zero discriminator */
	uint64_t last_addr;
	bool stmt_at_addr;
	bool recording; /* false in a sequence of code the linker discarded */
};

static void machine_start(struct machine *m, int file1_sub, bool default_stmt)
{
	struct ms_dwarf_linetable *t = m->t;
	uint32_t order = m->order;
	bool failed = m->failed;
	*m = (struct machine){.t = t,
			      .order = order,
			      .failed = failed,
			      .line = 1,
			      .is_stmt = default_stmt,
			      .cur_sub = file1_sub,
			      .last_sub = -1,
			      .recording = true};
}

static void machine_row(struct machine *m, bool end)
{
	if (m->op_index == 0 || end) {
		bool changed = m->last_sub != m->cur_sub;
		bool ignore = (changed && !end && m->last_addr == m->addr && !m->is_stmt &&
			       m->stmt_at_addr) ||
			      (!end && m->line == 0);
		if (((changed && !ignore) || end) && m->last_sub >= 0 && m->recording &&
		    !end_run(&m->t->subs[m->last_sub], m->addr, m->order++))
			m->failed = true;
		if (!end && !ignore) {
			bool same = m->cur_sub == m->last_sub && m->line == m->last_line;
			if ((!same || !m->discriminated) && m->recording && m->cur_sub >= 0 &&
			    !push_row(&m->t->subs[m->cur_sub], m->addr, m->line, m->is_stmt,
				      m->order++))
				m->failed = true;
			m->last_sub = m->cur_sub;
			m->last_line = m->line;
		}
	}
	if (m->last_addr != m->addr) {
		m->stmt_at_addr = false;
		m->last_addr = m->addr;
	}
	m->stmt_at_addr |= m->is_stmt;
}

static void advance_line(struct machine *m, int64_t delta)
{
	m->line += (int)delta;
	if (delta != 0)
		m->discriminated = m->disc != 0;
}

static int file_sub(struct ms_dwarf_linetable *t, Dwarf_Files *files, size_t nfiles, uint64_t idx)
{
	const char *name = idx < nfiles ? dwarf_filesrc(files, idx, NULL, NULL) : NULL;
	return name ? subfile_of(t, name) : -1;
}

static bool build(struct ms_dwarf_linetable *t, Dwarf_Die *cu)
{
	Dwarf_Files *files;
	size_t nfiles;
	struct program pr;
	if (dwarf_getsrcfiles(cu, &files, &nfiles) != 0 || !program_open(cu, &pr))
		return false;
	uint64_t low = unit_low(cu);
	int file1 = file_sub(t, files, nfiles, 1);
	struct machine m = {.t = t};
	machine_start(&m, file1, pr.default_stmt);
	while (pr.p < pr.end && !m.failed) {
		uint8_t op = *pr.p++;
		if (op >= pr.opcode_base) {
			unsigned adj = (unsigned)(op - pr.opcode_base);
			unsigned adv = adj / pr.line_range;
			m.addr += (uint64_t)((m.op_index + adv) / pr.max_ops) * pr.min_inst;
			m.op_index = (m.op_index + adv) % pr.max_ops;
			advance_line(&m, pr.line_base + (int)(adj % pr.line_range));
			machine_row(&m, false);
			m.disc = 0;
			continue;
		}
		switch (op) {
		case 0: { /* extended opcode */
			uint64_t len = read_uleb(&pr);
			if (!len || len > (uint64_t)(pr.end - pr.p))
				return false;
			const uint8_t *next = pr.p + len;
			uint8_t sub = *pr.p++;
			if (sub == DW_LNE_end_sequence) {
				machine_row(&m, true);
				machine_start(&m, file1, pr.default_stmt);
			} else if (sub == DW_LNE_set_address) {
				uint64_t a = 0;
				if (!read_bytes(&pr, &a, pr.addr_size))
					return false;
				if ((a == 0 && a < low) || a >= UINT64_MAX - 1)
					m.recording = false;
				m.addr = a;
				m.op_index = 0;
			} else if (sub == DW_LNE_set_discriminator) {
				m.disc = (unsigned)read_uleb(&pr);
				m.discriminated |= m.disc != 0;
			}
			pr.p = next;
			break;
		}
		case DW_LNS_copy:
			machine_row(&m, false);
			m.disc = 0;
			break;
		case DW_LNS_advance_pc: {
			uint64_t adv = read_uleb(&pr);
			m.addr += (m.op_index + adv) / pr.max_ops * pr.min_inst;
			m.op_index = (unsigned)((m.op_index + adv) % pr.max_ops);
			break;
		}
		case DW_LNS_advance_line:
			advance_line(&m, read_sleb(&pr));
			break;
		case DW_LNS_set_file:
			/* gdb 13 takes the file being left as the last one recorded */
			m.last_sub = m.cur_sub;
			m.discriminated = m.disc != 0;
			m.cur_sub = file_sub(t, files, nfiles, read_uleb(&pr));
			break;
		case DW_LNS_negate_stmt:
			m.is_stmt = !m.is_stmt;
			break;
		case DW_LNS_const_add_pc: {
			unsigned adv = (255u - pr.opcode_base) / pr.line_range;
			m.addr += (uint64_t)((m.op_index + adv) / pr.max_ops) * pr.min_inst;
			m.op_index = (m.op_index + adv) % pr.max_ops;
			break;
		}
		case DW_LNS_fixed_advance_pc: {
			uint16_t adv;
			if (!read_bytes(&pr, &adv, 2))
				return false;
			m.addr += adv;
			m.op_index = 0;
			break;
		}
		default:
			/* set_column, set_isa and unknown ones: skip their operands */
			for (unsigned i = 0; i < pr.std_lengths[op - 1]; i++)
				read_uleb(&pr);
			break;
		}
	}
	if (m.failed)
		return false;
	for (size_t i = 0; i < t->nsubs; i++)
		if (t->subs[i].n)
			qsort(t->subs[i].rows, t->subs[i].n, sizeof(struct row), cmp_row);
	Dwarf_Attribute attr;
	const char *comp_dir = dwarf_formstring(dwarf_attr(cu, DW_AT_comp_dir, &attr));
	const char *cu_name = dwarf_diename(cu);
	/*
	 * gdb searches the unit's primary file first, then the others newest
	 * first; the order only breaks ties between files.
	 */
	size_t primary = t->nsubs;
	for (size_t i = 0; i < t->nsubs && cu_name; i++) {
		const char *p = t->subs[i].path;
		size_t n = comp_dir ? strlen(comp_dir) : 0;
		if (strcmp(p, cu_name) == 0 || (comp_dir && strncmp(p, comp_dir, n) == 0 &&
						p[n] == '/' && strcmp(p + n + 1, cu_name) == 0)) {
			primary = i;
			break;
		}
	}
	struct subfile *ordered = malloc((t->nsubs ? t->nsubs : 1) * sizeof(*ordered));
	if (!ordered)
		return false;
	size_t k = 0;
	if (primary < t->nsubs)
		ordered[k++] = t->subs[primary];
	for (size_t i = t->nsubs; i-- > 0;)
		if (i != primary)
			ordered[k++] = t->subs[i];
	free(t->subs);
	t->subs = ordered;
	return true;
}

static void table_free(struct ms_dwarf_linetable *t)
{
	for (size_t i = 0; i < t->nsubs; i++)
		free(t->subs[i].rows);
	free(t->subs);
	free(t);
}

void ms_dwarf_linetables_destroy(struct ms_dwarf_session *s)
{
	for (size_t i = 0; i < MS_DWARF_LINETABLE_SLOTS; i++) {
		struct ms_dwarf_linetable *t = s->linetables[i];
		while (t) {
			struct ms_dwarf_linetable *next = t->next;
			table_free(t);
			t = next;
		}
		s->linetables[i] = NULL;
	}
}

static struct ms_dwarf_linetable *linetable(struct ms_dwarf_session *s, Dwfl_Module *mod,
					    Dwarf_Die *cu)
{
	Dwarf_Off off = dwarf_dieoffset(cu);
	size_t slot = (size_t)((off ^ ((uintptr_t)mod >> 4)) % MS_DWARF_LINETABLE_SLOTS);
	for (struct ms_dwarf_linetable *t = s->linetables[slot]; t; t = t->next)
		if (t->mod == mod && t->cu_offset == off)
			return t;
	struct ms_dwarf_linetable *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->mod = mod;
	t->cu_offset = off;
	if (!build(t, cu)) {
		/* no table (or no memory): remembered as empty */
		for (size_t i = 0; i < t->nsubs; i++)
			free(t->subs[i].rows);
		free(t->subs);
		t->subs = NULL;
		t->nsubs = 0;
	}
	t->next = s->linetables[slot];
	s->linetables[slot] = t;
	return t;
}

bool ms_dwarf_line_lookup(struct ms_dwarf_session *s, Dwfl_Module *mod, Dwarf_Die *cu,
			  Dwarf_Addr pc, const char **path_ret, int *line_ret,
			  Dwarf_Addr *start_ret, bool *is_stmt_ret)
{
	struct ms_dwarf_linetable *t = linetable(s, mod, cu);
	if (!t)
		return false;
	const struct row *best = NULL;
	const struct subfile *best_sf = NULL;
	for (size_t i = 0; i < t->nsubs; i++) {
		const struct subfile *sf = &t->subs[i];
		/* the first row past pc */
		size_t lo = 0, hi = sf->n;
		while (lo < hi) {
			size_t mid = (lo + hi) / 2;
			if (sf->rows[mid].addr <= pc)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo == 0)
			continue;
		const struct row *prev = &sf->rows[lo - 1];
		if (!prev->line || (best && prev->addr <= best->addr))
			continue;
		/* a statement row at the same address wins over a non-statement one */
		const struct row *r = prev;
		while (r > sf->rows && (r - 1)->addr == r->addr && (r - 1)->line != 0 &&
		       !r->is_stmt)
			r--;
		best = r->is_stmt ? r : prev;
		best_sf = sf;
	}
	if (!best)
		return false;
	*path_ret = best_sf->path;
	*line_ret = best->line;
	*start_ret = best->addr;
	*is_stmt_ret = best->is_stmt;
	return true;
}
