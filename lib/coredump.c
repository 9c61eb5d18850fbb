/* SPDX-License-Identifier: MIT */
#include "coredump.h"

#include <cpuid.h>
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/procfs.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "freeze.h"
#include "pagemap.h"
#include "procfs.h"
#include "target.h"

#ifndef NT_X86_XSTATE
#define NT_X86_XSTATE 0x202
#endif
#define MS_NT_X86_XSAVE_LAYOUT 0x205
#ifndef NT_FILE
#define NT_FILE 0x46494c45
#endif
#ifndef NT_SIGINFO
#define NT_SIGINFO 0x53494749
#endif

/* The kernel's sizes on x86-64: checked, since the notes are copied byte for byte. */
_Static_assert(sizeof(prstatus_t) == 336, "elf_prstatus is not the kernel's");
_Static_assert(sizeof(prpsinfo_t) == 136, "elf_prpsinfo is not the kernel's");
_Static_assert(sizeof(struct user_regs_struct) == sizeof(elf_gregset_t), "gregset");

/* How much memory is copied at once (memscope's own footprint stays small). */
enum { COPY_BUF_SIZE = 8 << 20, DATA_RANGES = 256 };

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* ---- which mappings, and how much of each ---- */

/*
 * Mappings the kernel always dumps whole: the gate area and special
 * mappings with a name of their own ([vdso], [vvar], [uprobes], ...), but not
 * the names the kernel gives plain memory ([heap], [stack], [anon:...]).
 */
static bool always_dumped(const struct ms_vma *vma)
{
	switch (vma->kind) {
	case MS_VMA_VDSO:
	case MS_VMA_VVAR:
	case MS_VMA_VSYSCALL:
		return true;
	case MS_VMA_SPECIAL:
		return strncmp(vma->name, "[anon:", 6) != 0 &&
		       strncmp(vma->name, "[anon_shmem:", 12) != 0;
	default:
		return false;
	}
}

/* Whether the mapping has a file behind it (vma->vm_file), shared memory included. */
static bool has_file(const struct ms_vma *vma)
{
	return vma->kind == MS_VMA_FILE ||
	       (vma->kind == MS_VMA_SPECIAL && strncmp(vma->name, "[anon_shmem:", 12) == 0);
}

static uint64_t vm_flags_of(const struct ms_vma *vma)
{
	if (vma->has_smaps)
		return vma->vm_flags;
	uint64_t f = 0;
	if (vma->prot & MS_PROT_READ)
		f |= MS_VM_READ;
	if (vma->prot & MS_PROT_WRITE)
		f |= MS_VM_WRITE;
	if (vma->prot & MS_PROT_EXEC)
		f |= MS_VM_EXEC;
	if (vma->prot & MS_PROT_SHARED)
		f |= MS_VM_SHARED | MS_VM_MAYSHARE;
	return f;
}

void ms_coredump_choose(const struct ms_vma *vma, uint64_t filter, bool all,
			const struct ms_vma_file_facts *facts, struct ms_dump_choice *c)
{
	uint64_t flags = vm_flags_of(vma);
	bool file = has_file(vma);
	bool shared = flags & MS_VM_SHARED;
	/* MAP_PRIVATE of /dev/zero is anonymous memory with a file attached */
	bool anonymous = !file || (!shared && vma->name && strcmp(vma->name, "/dev/zero") == 0);

	c->presence =
		shared ? MS_SNAPSHOT_SHARED : (anonymous ? MS_SNAPSHOT_ANON : MS_SNAPSHOT_ALL);
	if (always_dumped(vma)) {
		c->presence = MS_SNAPSHOT_ALL;
		c->size = MS_DUMP_WHOLE;
		c->rule = "always dumped (vdso, vvar, vsyscall)";
		return;
	}
	c->size = MS_DUMP_WHOLE;
	if (all) {
		if (flags & MS_VM_IO) {
			c->size = MS_DUMP_NONE;
			c->rule = "device memory (VM_IO)";
		} else {
			c->rule = "everything (-a)";
		}
		return;
	}
	if (flags & MS_VM_DONTDUMP) {
		c->size = MS_DUMP_NONE;
		c->rule = "excluded (MADV_DONTDUMP)";
		return;
	}
	if (flags & MS_VM_HUGETLB) {
		bool on = filter & (shared ? MS_DUMP_HUGETLB_SHARED : MS_DUMP_HUGETLB_PRIVATE);
		c->size = on ? MS_DUMP_WHOLE : MS_DUMP_NONE;
		c->rule =
			shared ? "hugetlb shared (filter bit 6)" : "hugetlb private (filter bit 5)";
		return;
	}
	if (flags & MS_VM_IO) {
		c->size = MS_DUMP_NONE;
		c->rule = "device memory (VM_IO)";
		return;
	}
	if (shared) {
		int unlinked = facts ? facts->unlinked : -1;
		if (unlinked < 0)
			unlinked = vma->deleted || !file;
		bool on = filter & (unlinked ? MS_DUMP_ANON_SHARED : MS_DUMP_MAPPED_SHARED);
		c->size = on ? MS_DUMP_WHOLE : MS_DUMP_NONE;
		c->rule = unlinked ? "shared memory (filter bit 1)"
				   : "shared file mapping (filter bit 3)";
		return;
	}
	bool written = vma->usage.anonymous || vma->usage.swap;
	if (written && (filter & MS_DUMP_ANON_PRIVATE)) {
		c->rule = file ? "private file mapping, written (filter bit 0)"
			       : "anonymous, written (filter bit 0)";
		return;
	}
	if (!file) {
		c->size = MS_DUMP_NONE;
		c->rule = written ? "anonymous (filter bit 0 off)" : "anonymous, never written";
		return;
	}
	if (filter & MS_DUMP_MAPPED_PRIVATE) {
		c->rule = "private file mapping (filter bit 2)";
		return;
	}
	if ((filter & MS_DUMP_ELF_HEADERS) && vma->offset == 0 && (flags & MS_VM_READ)) {
		int exec = facts ? facts->executable : -1;
		c->size = exec > 0 ? MS_DUMP_HEADER_PAGE : MS_DUMP_MAYBE_HEADER;
		c->rule = "ELF header page (filter bit 4)";
		return;
	}
	c->size = MS_DUMP_NONE;
	c->rule = "file contents (not dumped)";
}

/* ---- the plan: segments, offsets, sizes ---- */

struct segment {
	const struct ms_vma *vma;
	uint64_t filesz, offset;
	uint32_t pflags;
	enum ms_snapshot_presence presence;
	const char *rule;
	uint64_t checksum;
};

struct note_sizes {
	size_t count;
	uint64_t bytes;
};

struct plan {
	struct segment *segments;
	size_t nsegments;
	uint64_t phnum; /* PT_NOTE + the segments */
	uint64_t notes_offset, notes_size, data_offset, file_size;
	size_t nnotes;
	bool xsave_layout;
	char *file_note; /* NT_FILE contents */
	size_t file_note_size;
	uint64_t data_bytes; /* known after a presence pass */
};

static void plan_deinit(struct plan *p)
{
	free(p->segments);
	free(p->file_note);
	memset(p, 0, sizeof(*p));
}

static uint64_t note_size(const char *name, uint64_t desc)
{
	return sizeof(Elf64_Nhdr) + ((strlen(name) + 1 + 3) & ~3UL) + ((desc + 3) & ~3UL);
}

static struct ms_vma_file_facts file_facts(struct ms_snapshot *s, const struct ms_vma *vma)
{
	struct ms_vma_file_facts f = {.unlinked = -1, .executable = -1};
	if (!has_file(vma))
		return f;
	struct stat st;
	char path[4200];
	pid_t pids[2] = {ms_snapshot_source_pid(s), ms_snapshot_process(s)->pid};
	for (int i = 0; i < 2; i++) {
		snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", (int)pids[i],
			 (unsigned long long)vma->start, (unsigned long long)vma->end);
		if (stat(path, &st) == 0)
			goto found;
	}
	if (vma->kind == MS_VMA_FILE && !vma->deleted) {
		snprintf(path, sizeof(path), "/proc/%d/root%s", (int)ms_snapshot_process(s)->pid,
			 vma->name);
		if (stat(path, &st) == 0 || stat(vma->name, &st) == 0)
			goto found;
	}
	if (vma->deleted)
		f.unlinked = 1;
	return f;
found:
	f.unlinked = st.st_nlink == 0;
	f.executable = (st.st_mode & 0111) != 0;
	return f;
}

/*
 * Whether a file mapping (at file offset 0) starts with the ELF magic. The
 * file itself is read where it can be opened; the process's memory
 * otherwise, but never a live process's: that would fault the page in.
 */
static bool starts_with_elf_magic(struct ms_snapshot *s, const struct ms_vma *vma)
{
	unsigned char magic[SELFMAG];
	char path[4200];
	pid_t pids[2] = {ms_snapshot_source_pid(s), ms_snapshot_process(s)->pid};
	for (int i = 0; i < 3; i++) {
		if (i < 2)
			snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", (int)pids[i],
				 (unsigned long long)vma->start, (unsigned long long)vma->end);
		else if (vma->kind == MS_VMA_FILE && !vma->deleted)
			snprintf(path, sizeof(path), "/proc/%d/root%s", (int)pids[1], vma->name);
		else
			break;
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		ssize_t n = pread(fd, magic, SELFMAG, 0);
		close(fd);
		if (n == SELFMAG)
			return memcmp(magic, ELFMAG, SELFMAG) == 0;
	}
	if (ms_snapshot_live(s))
		return true; /* an estimate: assume the page */
	size_t done = 0;
	struct ms_error *e = ms_snapshot_read(s, vma, vma->start, magic, SELFMAG, &done);
	bool elf = !e && memcmp(magic, ELFMAG, SELFMAG) == 0;
	ms_error_destroy(e);
	return elf;
}

/* "\012" in /proc/PID/maps stands for a newline in the path. */
static size_t unescape_path(char *dst, const char *src)
{
	size_t n = 0;
	while (*src) {
		if (src[0] == '\\' && src[1] == '0' && src[2] == '1' && src[3] == '2') {
			dst[n++] = '\n';
			src += 4;
		} else {
			dst[n++] = *src++;
		}
	}
	dst[n] = '\0';
	return n;
}

/*
 * NT_FILE: count, page size, then (start, end, file offset in pages) for
 * each file mapping, then their NUL-terminated paths, as d_path() gives them.
 */
static struct ms_error *build_file_note(const struct ms_maps *maps, struct plan *p)
{
	/*
	 * The kernel gives up on the note (and writes none) when its first
	 * guess at the size, 64 bytes a mapping, reaches this limit.
	 */
	uint64_t limit = 4 << 20;
	struct ms_error *err =
		ms_procfs_read_u64("/proc/sys/kernel/core_file_note_size_limit", &limit);
	ms_error_destroy(err); /* older kernels: the fixed 4 MiB */
	if ((uint64_t)maps->count * 64 >= limit)
		return NULL;
	size_t count = 0, names = 0;
	for (size_t i = 0; i < maps->count; i++) {
		const struct ms_vma *v = &maps->vmas[i];
		if (!has_file(v))
			continue;
		count++;
		names += (v->kind == MS_VMA_FILE ? strlen(v->name) : 9) + sizeof(" (deleted)");
	}
	size_t size = (2 + 3 * count) * sizeof(uint64_t) + names;
	char *buf = calloc(1, size ? size : 1);
	if (!buf)
		return &ms_error_no_memory;
	uint64_t *w = (uint64_t *)buf;
	w[0] = count;
	w[1] = ms_page_size();
	char *name = buf + (2 + 3 * count) * sizeof(uint64_t);
	size_t k = 0;
	for (size_t i = 0; i < maps->count; i++) {
		const struct ms_vma *v = &maps->vmas[i];
		if (!has_file(v))
			continue;
		w[2 + 3 * k] = v->start;
		w[3 + 3 * k] = v->end;
		w[4 + 3 * k] = v->offset / ms_page_size();
		k++;
		if (v->kind == MS_VMA_FILE) {
			name += unescape_path(name, v->name);
			if (v->deleted) {
				memcpy(name, " (deleted)", 10);
				name += 10;
			}
		} else {
			/* named shared anonymous memory: its file is the kernel's /dev/zero */
			memcpy(name, "/dev/zero (deleted)", 19);
			name += 19;
		}
		*name++ = '\0';
	}
	p->file_note = buf;
	p->file_note_size = (size_t)(name - buf);
	return NULL;
}

/* An XSAVE area size for threads captured without one (estimates). */
static size_t xstate_size_estimate(void)
{
	unsigned a, b, c, d;
	if (!__get_cpuid_count(0xd, 0, &a, &b, &c, &d))
		return 0;
	return c;
}

bool ms_coredump_kernel_has_xsave_layout(void)
{
	struct utsname u;
	unsigned major = 0, minor = 0;
	if (uname(&u) != 0 || sscanf(u.release, "%u.%u", &major, &minor) != 2)
		return false;
	return major > 6 || (major == 6 && minor >= 12);
}

/*
 * The user XSAVE features (XCR0): the kernel puts them in the first bytes
 * of the software-reserved area of the FXSAVE header for ptrace and cores.
 */
static uint64_t xsave_features(const struct ms_thread *t)
{
	uint64_t features = 0;
	if (t->xstate && t->xstate_size >= 472)
		memcpy(&features, (const char *)t->xstate + 464, sizeof(features));
	return features;
}

static size_t xsave_layout_size(uint64_t features)
{
	size_t n = 0;
	for (unsigned i = 2; i < 64; i++)
		n += (features >> i) & 1;
	return n * 16;
}

static struct ms_error *make_plan(struct ms_snapshot *s, bool all, struct plan *p)
{
	const struct ms_maps *maps = ms_snapshot_maps(s);
	const struct ms_snapshot_process *proc = ms_snapshot_process(s);
	const struct ms_thread_list *threads = ms_snapshot_threads(s);
	size_t page = ms_page_size();
	memset(p, 0, sizeof(*p));
	p->segments = calloc(maps->count ? maps->count : 1, sizeof(*p->segments));
	if (!p->segments)
		return &ms_error_no_memory;
	struct ms_error *err = build_file_note(maps, p);
	if (err)
		return err;

	/* notes: thread 0 carries the process-wide ones after its NT_PRSTATUS */
	uint64_t notes = 0;
	size_t nnotes = 0;
	size_t xest = xstate_size_estimate();
	for (size_t i = 0; i < threads->count; i++) {
		const struct ms_thread *t = &threads->threads[i];
		notes += note_size("CORE", sizeof(prstatus_t));
		nnotes++;
		if (i == 0) {
			notes += note_size("CORE", sizeof(prpsinfo_t));
			notes += note_size("CORE", sizeof(siginfo_t));
			notes += note_size("CORE", proc->auxv_size);
			nnotes += 3;
			if (p->file_note) {
				notes += note_size("CORE", p->file_note_size);
				nnotes++;
			}
		}
		if (t->has_fpregs || !t->has_regs) {
			notes += note_size("CORE", sizeof(struct user_fpregs_struct));
			nnotes++;
		}
		size_t xs = t->xstate ? t->xstate_size : (t->has_regs ? 0 : xest);
		if (xs) {
			notes += note_size("LINUX", xs);
			nnotes++;
		}
	}
	if (threads->count && ms_coredump_kernel_has_xsave_layout()) {
		uint64_t features = xsave_features(&threads->threads[0]);
		if (!features && !threads->threads[0].has_regs) {
			unsigned a, b, c, d;
			if (__get_cpuid_count(0xd, 0, &a, &b, &c, &d))
				features = a | ((uint64_t)d << 32);
		}
		if (features) {
			p->xsave_layout = true;
			notes += note_size("LINUX", xsave_layout_size(features));
			nnotes++;
		}
	}
	p->nnotes = nnotes;
	p->notes_size = notes;

	for (size_t i = 0; i < maps->count; i++) {
		const struct ms_vma *v = &maps->vmas[i];
		struct segment *seg = &p->segments[p->nsegments++];
		seg->vma = v;
		struct ms_vma_file_facts facts = file_facts(s, v);
		struct ms_dump_choice c;
		ms_coredump_choose(v, proc->coredump_filter, all, &facts, &c);
		seg->presence = c.presence;
		seg->rule = c.rule;
		switch (c.size) {
		case MS_DUMP_NONE:
			seg->filesz = 0;
			break;
		case MS_DUMP_WHOLE:
			seg->filesz = v->end - v->start;
			break;
		case MS_DUMP_HEADER_PAGE:
			seg->filesz = page;
			break;
		case MS_DUMP_MAYBE_HEADER: {
			bool elf = starts_with_elf_magic(s, v);
			seg->filesz = elf ? page : 0;
			if (!elf)
				seg->rule = "file contents, not ELF (not dumped)";
			break;
		}
		}
		seg->pflags = (v->prot & MS_PROT_READ ? PF_R : 0) |
			      (v->prot & MS_PROT_WRITE ? PF_W : 0) |
			      (v->prot & MS_PROT_EXEC ? PF_X : 0);
	}
	p->phnum = p->nsegments + 1;
	p->notes_offset = sizeof(Elf64_Ehdr) + p->phnum * sizeof(Elf64_Phdr);
	p->data_offset = (p->notes_offset + p->notes_size + page - 1) / page * page;
	uint64_t off = p->data_offset;
	for (size_t i = 0; i < p->nsegments; i++) {
		p->segments[i].offset = off;
		off += p->segments[i].filesz;
	}
	p->file_size = off;
	if (p->phnum >= PN_XNUM)
		p->file_size += sizeof(Elf64_Shdr);
	return NULL;
}

/* One range of a segment's data, [start, end) in the process. */
typedef struct ms_error *data_range_fn(void *arg, struct segment *seg, uint64_t start,
				       uint64_t end);

/*
 * Every range of data (holes excluded) in the plan's segments, as the dump
 * will find them. interrupted (may be NULL) is looked at between batches.
 */
static struct ms_error *each_data_range(struct ms_snapshot *s, struct plan *p,
					const volatile sig_atomic_t *interrupted, data_range_fn *fn,
					void *arg)
{
	struct ms_snapshot_range ranges[DATA_RANGES];
	for (size_t i = 0; i < p->nsegments; i++) {
		struct segment *seg = &p->segments[i];
		uint64_t next = seg->vma->start, end = seg->vma->start + seg->filesz;
		while (next < end) {
			size_t n;
			struct ms_error *err =
				ms_snapshot_data(s, seg->vma, seg->presence, next, end, ranges,
						 DATA_RANGES, &n, &next);
			if (err)
				return err;
			for (size_t k = 0; k < n; k++) {
				err = fn(arg, seg, ranges[k].start, ranges[k].end);
				if (err)
					return err;
			}
			if (interrupted && *interrupted)
				return ms_error_create(MS_ERROR_INTERRUPTED, "interrupted");
		}
	}
	return NULL;
}

static struct ms_error *add_data_bytes(void *arg, struct segment *seg, uint64_t start, uint64_t end)
{
	struct plan *p = arg;
	(void)seg;
	p->data_bytes += end - start;
	return NULL;
}

/* Count the data pages (holes excluded), as the dump will find them. */
static struct ms_error *count_data(struct ms_snapshot *s, struct plan *p,
				   const volatile sig_atomic_t *interrupted)
{
	p->data_bytes = 0;
	return each_data_range(s, p, interrupted, add_data_bytes, p);
}

/* ---- writing ---- */

struct writer {
	int fd;
	uint64_t off; /* notes: where the next one goes */
	struct ms_error *err;
};

static void emit(struct writer *w, const void *data, size_t len)
{
	if (w->err || !len)
		return;
	const char *p = data;
	size_t done = 0;
	while (done < len) {
		ssize_t n = pwrite(w->fd, p + done, len - done, (off_t)(w->off + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			w->err = ms_error_errno(n < 0 ? errno : EIO, "writing the core file");
			return;
		}
		done += (size_t)n;
	}
	w->off += len;
}

static void emit_note(struct writer *w, const char *name, uint32_t type, const void *desc,
		      size_t size)
{
	static const char zeros[4];
	Elf64_Nhdr h = {
		.n_namesz = (Elf64_Word)(strlen(name) + 1),
		.n_descsz = (Elf64_Word)size,
		.n_type = type,
	};
	emit(w, &h, sizeof(h));
	emit(w, name, h.n_namesz);
	emit(w, zeros, ((h.n_namesz + 3) & ~3U) - h.n_namesz);
	emit(w, desc, size);
	emit(w, zeros, ((size + 3) & ~3UL) - size);
}

static struct timeval ticks_to_timeval(uint64_t ticks)
{
	long hz = sysconf(_SC_CLK_TCK);
	if (hz <= 0)
		hz = 100;
	uint64_t usec = ticks * 1000000 / (uint64_t)hz;
	return (struct timeval){.tv_sec = (time_t)(usec / 1000000),
				.tv_usec = (suseconds_t)(usec % 1000000)};
}

static void fill_prstatus(struct ms_snapshot *s, const struct ms_thread *t, int signo,
			  prstatus_t *pr)
{
	const struct ms_snapshot_process *proc = ms_snapshot_process(s);
	memset(pr, 0, sizeof(*pr));
	pr->pr_info.si_signo = signo;
	pr->pr_cursig = (short)signo;
	pr->pr_sigpend = t->sigpend;
	pr->pr_sighold = t->sighold;
	pr->pr_pid = t->tid == proc->pid ? proc->core_pid : ms_snapshot_core_tid(s, t->tid);
	pr->pr_ppid = proc->core_ppid;
	pr->pr_pgrp = proc->core_pgrp;
	pr->pr_sid = proc->core_sid;
	uint64_t ut, st;
	if (t->tid == proc->pid) {
		/* the group leader's record holds the whole group's time */
		ut = proc->utime;
		st = proc->stime;
	} else {
		ms_snapshot_thread_times(s, t->tid, &ut, &st);
	}
	pr->pr_utime = ticks_to_timeval(ut);
	pr->pr_stime = ticks_to_timeval(st);
	pr->pr_cutime = ticks_to_timeval(proc->cutime);
	pr->pr_cstime = ticks_to_timeval(proc->cstime);
	if (t->has_regs)
		memcpy(&pr->pr_reg, &t->regs, sizeof(pr->pr_reg));
	pr->pr_fpvalid = t->has_fpregs;
}

static void fill_prpsinfo(const struct ms_snapshot_process *proc, prpsinfo_t *ps)
{
	memset(ps, 0, sizeof(*ps));
	/* the kernel's numbering: the index of the state's bit, "RSDTZW" */
	static const char letters[] = "RSDTZW";
	int state;
	switch (proc->state) {
	case 'R':
		state = 0;
		break;
	case 'S':
		state = 1;
		break;
	case 'D':
	case 'I':
		state = 2;
		break;
	case 'T':
	case 't':
		state = 3;
		break;
	case 'Z':
		state = 4;
		break;
	default:
		state = 0;
	}
	ps->pr_state = (char)state;
	ps->pr_sname = letters[state];
	ps->pr_zomb = ps->pr_sname == 'Z';
	ps->pr_nice = (char)proc->nice;
	ps->pr_flag = proc->flags;
	ps->pr_uid = proc->uid;
	ps->pr_gid = proc->gid;
	ps->pr_pid = proc->core_pid;
	ps->pr_ppid = proc->core_ppid;
	ps->pr_pgrp = proc->core_pgrp;
	ps->pr_sid = proc->core_sid;
	memcpy(ps->pr_fname, proc->comm, sizeof(ps->pr_fname));
	size_t len = proc->cmdline_len;
	if (len >= sizeof(ps->pr_psargs))
		len = sizeof(ps->pr_psargs) - 1;
	for (size_t i = 0; i < len; i++)
		ps->pr_psargs[i] = proc->cmdline[i] ? proc->cmdline[i] : ' ';
	ps->pr_psargs[len] = '\0';
}

/* NT_X86_XSAVE_LAYOUT: type, size, offset, flags of each extended XSAVE feature. */
static void emit_xsave_layout(struct writer *w, uint64_t features)
{
	uint32_t records[64][4];
	size_t n = 0;
	for (unsigned i = 2; i < 64; i++) {
		if (!((features >> i) & 1))
			continue;
		unsigned a = 0, b = 0, c = 0, d = 0;
		__get_cpuid_count(0xd, i, &a, &b, &c, &d);
		records[n][0] = i;
		records[n][1] = a;
		records[n][2] = b;
		records[n][3] = 0;
		n++;
	}
	emit_note(w, "LINUX", MS_NT_X86_XSAVE_LAYOUT, records, n * 16);
}

static void write_notes(struct ms_snapshot *s, struct plan *p, struct writer *w)
{
	const struct ms_snapshot_process *proc = ms_snapshot_process(s);
	const struct ms_thread_list *threads = ms_snapshot_threads(s);
	/* a live dump has no signal behind it, unless thread 0 was taking one */
	const struct ms_thread *first = threads->count ? &threads->threads[0] : NULL;
	int signo = first && first->has_siginfo ? first->cursig : 0;
	size_t xest = xstate_size_estimate();
	for (size_t i = 0; i < threads->count; i++) {
		const struct ms_thread *t = &threads->threads[i];
		prstatus_t pr;
		fill_prstatus(s, t, signo, &pr);
		emit_note(w, "CORE", NT_PRSTATUS, &pr, sizeof(pr));
		if (i == 0) {
			prpsinfo_t ps;
			fill_prpsinfo(proc, &ps);
			emit_note(w, "CORE", NT_PRPSINFO, &ps, sizeof(ps));
			siginfo_t si;
			memset(&si, 0, sizeof(si));
			if (t->has_siginfo)
				si = t->siginfo;
			emit_note(w, "CORE", NT_SIGINFO, &si, sizeof(si));
			emit_note(w, "CORE", NT_AUXV, proc->auxv, proc->auxv_size);
			if (p->file_note)
				emit_note(w, "CORE", NT_FILE, p->file_note, p->file_note_size);
		}
		if (t->has_fpregs || !t->has_regs)
			emit_note(w, "CORE", NT_FPREGSET, &t->fpregs, sizeof(t->fpregs));
		if (t->xstate) {
			emit_note(w, "LINUX", NT_X86_XSTATE, t->xstate, t->xstate_size);
		} else if (!t->has_regs && xest) {
			/* an estimate's placeholder: sizes only */
			w->off += note_size("LINUX", xest);
		}
	}
	if (p->xsave_layout) {
		uint64_t features = first ? xsave_features(first) : 0;
		if (!features) {
			unsigned a, b, c, d;
			if (__get_cpuid_count(0xd, 0, &a, &b, &c, &d))
				features = a | ((uint64_t)d << 32);
		}
		emit_xsave_layout(w, features);
	}
}

static void write_headers(struct plan *p, struct writer *w)
{
	Elf64_Ehdr eh;
	memset(&eh, 0, sizeof(eh));
	memcpy(eh.e_ident, ELFMAG, SELFMAG);
	eh.e_ident[EI_CLASS] = ELFCLASS64;
	eh.e_ident[EI_DATA] = ELFDATA2LSB;
	eh.e_ident[EI_VERSION] = EV_CURRENT;
	eh.e_ident[EI_OSABI] = ELFOSABI_NONE;
	eh.e_type = ET_CORE;
	eh.e_machine = EM_X86_64;
	eh.e_version = EV_CURRENT;
	eh.e_phoff = sizeof(Elf64_Ehdr);
	eh.e_ehsize = sizeof(Elf64_Ehdr);
	eh.e_phentsize = sizeof(Elf64_Phdr);
	eh.e_phnum = p->phnum >= PN_XNUM ? PN_XNUM : (Elf64_Half)p->phnum;
	Elf64_Shdr sh;
	memset(&sh, 0, sizeof(sh));
	if (p->phnum >= PN_XNUM) {
		/* extended numbering: the real count is in section header 0 */
		eh.e_shoff = p->file_size - sizeof(Elf64_Shdr);
		eh.e_shentsize = sizeof(Elf64_Shdr);
		eh.e_shnum = 1;
		sh.sh_size = 1;
		sh.sh_info = (Elf64_Word)p->phnum;
	}
	w->off = 0;
	emit(w, &eh, sizeof(eh));
	Elf64_Phdr note = {
		.p_type = PT_NOTE,
		.p_offset = p->notes_offset,
		.p_filesz = p->notes_size,
		.p_align = 4,
	};
	emit(w, &note, sizeof(note));
	for (size_t i = 0; i < p->nsegments; i++) {
		const struct segment *seg = &p->segments[i];
		Elf64_Phdr ph = {
			.p_type = PT_LOAD,
			.p_flags = seg->pflags,
			.p_offset = seg->offset,
			.p_vaddr = seg->vma->start,
			.p_filesz = seg->filesz,
			.p_memsz = seg->vma->end - seg->vma->start,
			.p_align = ms_page_size(),
		};
		emit(w, &ph, sizeof(ph));
	}
	if (p->phnum >= PN_XNUM) {
		w->off = eh.e_shoff;
		emit(w, &sh, sizeof(sh));
	}
}

/*
 * A checksum of a region's bytes that holes do not change: the sum over its
 * non-zero pages of a hash of (page index, contents).
 */
static uint64_t page_hash(uint64_t index, const unsigned char *data, size_t len)
{
	const uint64_t m = 0x9e3779b97f4a7c15ULL;
	uint64_t h[4] = {index * m + 1, index ^ m, ~index, index + 0x632be59bd9b4e019ULL};
	uint64_t any = 0;
	for (size_t i = 0; i + 32 <= len; i += 32) {
		uint64_t x[4];
		memcpy(x, data + i, sizeof(x));
		for (int k = 0; k < 4; k++) {
			any |= x[k];
			h[k] = (h[k] ^ x[k]) * m;
			h[k] ^= h[k] >> 32;
		}
	}
	if (!any)
		return 0;
	uint64_t r = h[0] ^ (h[1] * 3) ^ (h[2] * 5) ^ (h[3] * 7);
	return (r ^ (r >> 29)) * m;
}

static uint64_t region_checksum_update(uint64_t sum, uint64_t first_page, const unsigned char *data,
				       size_t len)
{
	size_t page = ms_page_size();
	for (size_t i = 0; i < len; i += page)
		sum += page_hash(first_page + i / page, data + i, len - i < page ? len - i : page);
	return sum;
}

/*
 * The copy runs as a pipeline: this thread reads the snapshot into one
 * buffer while a writer thread writes the previous ones to the file, so
 * reading and writing (both memory copies in the kernel) overlap.
 */
enum { PIPE_BUFFERS = 3, PIPE_BUF_SIZE = 4 << 20 };

struct pipe_job {
	unsigned char *buf;
	uint64_t offset;
	size_t len;
};

struct write_pipe {
	pthread_t thread;
	bool started;
	pthread_mutex_t lock;
	pthread_cond_t changed;
	int fd;
	unsigned char *buffers[PIPE_BUFFERS];
	unsigned char *free_list[PIPE_BUFFERS];
	size_t nfree;
	struct pipe_job jobs[PIPE_BUFFERS];
	size_t job_head, njobs;
	bool closing;
	int error; /* errno of a failed write, 0 */
};

static void *pipe_writer(void *arg)
{
	struct write_pipe *p = arg;
	pthread_mutex_lock(&p->lock);
	for (;;) {
		while (!p->njobs && !p->closing)
			pthread_cond_wait(&p->changed, &p->lock);
		if (!p->njobs)
			break;
		struct pipe_job job = p->jobs[p->job_head];
		pthread_mutex_unlock(&p->lock);
		struct writer w = {.fd = p->fd, .off = job.offset};
		int error = 0;
		if (!p->error) {
			emit(&w, job.buf, job.len);
			if (w.err) {
				error = w.err->errnum ? w.err->errnum : EIO;
				ms_error_destroy(w.err);
			}
		}
		pthread_mutex_lock(&p->lock);
		if (error && !p->error)
			p->error = error;
		p->job_head = (p->job_head + 1) % PIPE_BUFFERS;
		p->njobs--;
		p->free_list[p->nfree++] = job.buf;
		pthread_cond_broadcast(&p->changed);
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

static struct ms_error *pipe_start(struct write_pipe *p, int fd)
{
	memset(p, 0, sizeof(*p));
	p->fd = fd;
	for (size_t i = 0; i < PIPE_BUFFERS; i++) {
		p->buffers[i] = malloc(PIPE_BUF_SIZE);
		if (!p->buffers[i])
			return &ms_error_no_memory;
		p->free_list[p->nfree++] = p->buffers[i];
	}
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->changed, NULL);
	int e = pthread_create(&p->thread, NULL, pipe_writer, p);
	if (e)
		return ms_error_errno(e, "pthread_create");
	p->started = true;
	return NULL;
}

/* A buffer to fill; waits for the writer to give one back. */
static unsigned char *pipe_get(struct write_pipe *p)
{
	pthread_mutex_lock(&p->lock);
	while (!p->nfree)
		pthread_cond_wait(&p->changed, &p->lock);
	unsigned char *buf = p->free_list[--p->nfree];
	pthread_mutex_unlock(&p->lock);
	return buf;
}

static void pipe_put(struct write_pipe *p, unsigned char *buf, uint64_t offset, size_t len)
{
	pthread_mutex_lock(&p->lock);
	if (len) {
		size_t tail = (p->job_head + p->njobs) % PIPE_BUFFERS;
		p->jobs[tail] = (struct pipe_job){buf, offset, len};
		p->njobs++;
	} else {
		p->free_list[p->nfree++] = buf;
	}
	pthread_cond_broadcast(&p->changed);
	pthread_mutex_unlock(&p->lock);
}

/* Wait for every write; returns the first write error. */
static struct ms_error *pipe_finish(struct write_pipe *p)
{
	if (p->started) {
		pthread_mutex_lock(&p->lock);
		p->closing = true;
		pthread_cond_broadcast(&p->changed);
		pthread_mutex_unlock(&p->lock);
		pthread_join(p->thread, NULL);
		pthread_mutex_destroy(&p->lock);
		pthread_cond_destroy(&p->changed);
		p->started = false;
	}
	for (size_t i = 0; i < PIPE_BUFFERS; i++) {
		free(p->buffers[i]);
		p->buffers[i] = NULL;
	}
	return p->error ? ms_error_errno(p->error, "writing the core file") : NULL;
}

static int pipe_error(struct write_pipe *p)
{
	pthread_mutex_lock(&p->lock);
	int e = p->error;
	pthread_mutex_unlock(&p->lock);
	return e;
}

struct copier {
	struct ms_snapshot *s;
	struct write_pipe pipe;
	const struct ms_gcore_options *o;
	bool checksums;
	uint64_t done, total;
	double last_progress;
};

/* Asked to stop: by the caller's flag, or by a signal a freeze holds back. */
static bool interrupted(const struct ms_gcore_options *o)
{
	return (o->interrupted && *o->interrupted) || ms_freeze_interrupt_pending();
}

/* A data range into the core file (a data_range_fn on a struct copier). */
static struct ms_error *copy_range(void *arg, struct segment *seg, uint64_t a, uint64_t b)
{
	struct copier *c = arg;
	size_t page = ms_page_size();
	while (a < b) {
		if (interrupted(c->o))
			return ms_error_create(MS_ERROR_INTERRUPTED, "interrupted");
		if (pipe_error(&c->pipe))
			return ms_error_errno(pipe_error(&c->pipe), "writing the core file");
		size_t len = PIPE_BUF_SIZE;
		if (b - a < len)
			len = (size_t)(b - a);
		unsigned char *buf = pipe_get(&c->pipe);
		size_t got = 0;
		struct ms_error *err = ms_snapshot_read(c->s, seg->vma, a, buf, len, &got);
		if (err) {
			if (err->code != MS_ERROR_FAULT) {
				pipe_put(&c->pipe, buf, 0, 0);
				return err;
			}
			ms_error_destroy(err);
			got -= got % page;
		}
		if (c->checksums && got)
			seg->checksum = region_checksum_update(
				seg->checksum, (a - seg->vma->start) / page, buf, got);
		pipe_put(&c->pipe, buf, seg->offset + (a - seg->vma->start), got);
		c->done += got;
		/* an unreadable page is left a hole, as the kernel leaves it */
		a += got < len ? got + page : got;
		if (c->o->progress) {
			double t = now_seconds();
			if (t - c->last_progress > 0.05 || a >= b) {
				c->o->progress(c->o->progress_arg, c->done, c->total);
				c->last_progress = t;
			}
		}
	}
	return NULL;
}

static struct ms_error *write_data(struct copier *c, struct plan *p)
{
	/* copy_range looks at the interruption itself, page by page */
	return each_data_range(c->s, p, NULL, copy_range, c);
}

/* ---- the output file ---- */

struct output {
	char dir[4096];
	int fd;
	char temp_path[4200]; /* where O_TMPFILE is not supported, else "" */
};

static struct ms_error *output_open(const char *path, struct output *out)
{
	out->fd = -1;
	out->temp_path[0] = '\0';
	char copy[4096];
	snprintf(copy, sizeof(copy), "%s", path);
	snprintf(out->dir, sizeof(out->dir), "%s", dirname(copy));
	struct stat st;
	if (stat(out->dir, &st) != 0)
		return ms_error_errno(errno, "%s", out->dir);
	if (!S_ISDIR(st.st_mode))
		return ms_error_errno(ENOTDIR, "%s", out->dir);
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return ms_error_errno(EISDIR, "%s", path);
	/* an unnamed file: a crash or kill leaves nothing behind */
	out->fd = open(out->dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (out->fd >= 0)
		return NULL;
	if (errno != EOPNOTSUPP && errno != EISDIR && errno != EINVAL)
		return ms_error_errno(errno, "%s", out->dir);
	snprintf(copy, sizeof(copy), "%s", path);
	snprintf(out->temp_path, sizeof(out->temp_path), "%s/.%s.XXXXXX", out->dir, basename(copy));
	out->fd = mkostemp(out->temp_path, O_CLOEXEC);
	if (out->fd < 0)
		return ms_error_errno(errno, "%s", out->temp_path);
	return NULL;
}

static struct ms_error *output_commit(struct output *out, const char *path)
{
	if (out->temp_path[0]) {
		if (rename(out->temp_path, path) != 0)
			return ms_error_errno(errno, "%s", path);
		out->temp_path[0] = '\0';
		return NULL;
	}
	char proc[64];
	snprintf(proc, sizeof(proc), "/proc/self/fd/%d", out->fd);
	if (linkat(AT_FDCWD, proc, AT_FDCWD, path, AT_SYMLINK_FOLLOW) == 0)
		return NULL;
	if (errno != EEXIST)
		return ms_error_errno(errno, "%s", path);
	/* replace an existing file atomically: link under a temporary name, rename */
	char tmp[4200];
	for (int i = 0; i < 100; i++) {
		snprintf(tmp, sizeof(tmp), "%s/.memscope-core-%d-%d", out->dir, (int)getpid(), i);
		if (linkat(AT_FDCWD, proc, AT_FDCWD, tmp, AT_SYMLINK_FOLLOW) == 0) {
			if (rename(tmp, path) != 0) {
				int saved = errno;
				unlink(tmp);
				return ms_error_errno(saved, "%s", path);
			}
			return NULL;
		}
		if (errno != EEXIST)
			return ms_error_errno(errno, "%s", tmp);
	}
	return ms_error_errno(EEXIST, "%s", path);
}

static void output_abandon(struct output *out)
{
	if (out->temp_path[0])
		unlink(out->temp_path);
	out->temp_path[0] = '\0';
	if (out->fd >= 0)
		close(out->fd);
	out->fd = -1;
}

static uint64_t disk_estimate(const struct plan *p)
{
	return p->data_offset + p->data_bytes;
}

static struct ms_error *check_space(const char *dir, uint64_t need, uint64_t *free_ret)
{
	struct statvfs v;
	if (statvfs(dir, &v) != 0)
		return ms_error_errno(errno, "%s", dir);
	uint64_t avail = (uint64_t)v.f_bavail * v.f_frsize;
	*free_ret = avail;
	if (need > avail) {
		char a[32], b[32];
		snprintf(a, sizeof(a), "%.1f MiB", need / 1048576.0);
		snprintf(b, sizeof(b), "%.1f MiB", avail / 1048576.0);
		return ms_error_errno(ENOSPC, "%s has %s free, the core needs %s", dir, b, a);
	}
	return NULL;
}

static void add_result_warning(struct ms_gcore_result *r, const char *text)
{
	char **grown = realloc(r->warnings, (r->nwarnings + 1) * sizeof(*grown));
	if (!grown)
		return;
	r->warnings = grown;
	r->warnings[r->nwarnings] = strdup(text);
	if (r->warnings[r->nwarnings])
		r->nwarnings++;
}

void ms_gcore_result_deinit(struct ms_gcore_result *r)
{
	for (size_t i = 0; i < r->nwarnings; i++)
		free(r->warnings[i]);
	free(r->warnings);
	free(r->verify_error);
	memset(r, 0, sizeof(*r));
}

static struct ms_error *verify_core(const char *path, struct ms_snapshot *s, struct plan *p,
				    struct ms_gcore_result *r);

static void fill_result_plan(struct ms_gcore_result *r, const struct plan *p, struct ms_snapshot *s)
{
	r->threads = ms_snapshot_threads(s)->count;
	r->segments = p->nsegments;
	r->notes = p->nnotes;
	r->file_size = p->file_size;
	r->data_bytes = p->data_bytes;
	r->disk_size = disk_estimate(p);
}

static void phase_done(struct ms_gcore_result *r, const char *name, double *since)
{
	double t = now_seconds();
	if (r->nphases < sizeof(r->phases) / sizeof(r->phases[0])) {
		r->phases[r->nphases].name = name;
		r->phases[r->nphases].seconds = t - *since;
		r->nphases++;
	}
	*since = t;
}

/*
 * Whether err is what reading a process that died gives (its /proc files
 * gone, ptrace refused, its memory unreadable), not the output's (a full
 * disk) nor the user's.
 */
static bool fails_when_gone(const struct ms_error *err)
{
	if (err->code == MS_ERROR_INTERRUPTED || err->code == MS_ERROR_NOT_FOUND)
		return false;
	if (err->code == MS_ERROR_EXITED)
		return err->errnum != 0; /* else it says so already */
	switch (err->errnum) {
	case 0: /* a stop not reached, a short read */
	case ESRCH:
	case ENOENT:
	case EIO:
	case EFAULT:
	case ECHILD:
		return true;
	default:
		return false;
	}
}

struct ms_error *ms_coredump_gcore(pid_t pid, const struct ms_gcore_options *o,
				   struct ms_gcore_result *r)
{
	double start = now_seconds(), since = start;
	memset(r, 0, sizeof(*r));
	struct ms_snapshot *live = NULL, *snap = NULL;
	struct plan plan = {0}, estimate = {0};
	struct output out = {.fd = -1};
	struct copier c = {.o = o};
	struct ms_error *err = NULL;

	/* First an estimate from the running process: is there room, is it worth it? */
	err = ms_snapshot_create_unfrozen(pid, &live);
	if (err)
		goto out;
	err = make_plan(live, o->all, &estimate);
	if (!err)
		err = count_data(live, &estimate, o->interrupted);
	if (err)
		goto out;
	fill_result_plan(r, &estimate, live);
	if (o->dry_run) {
		char copy[4096];
		snprintf(copy, sizeof(copy), "%s", o->path);
		struct statvfs v;
		if (statvfs(dirname(copy), &v) == 0)
			r->free_bytes = (uint64_t)v.f_bavail * v.f_frsize;
		goto out;
	}
	err = output_open(o->path, &out);
	if (err)
		goto out;
	err = check_space(out.dir, disk_estimate(&estimate), &r->free_bytes);
	if (err)
		goto out;

	struct ms_snapshot_options so = {
		.no_fork = o->no_fork,
		.fork_frozen = o->fork_frozen,
		.keep_dontdump = o->all,
		.temp_dir = out.dir,
		.pre_smaps = ms_snapshot_maps(live),
		.interrupted = o->interrupted,
	};
	phase_done(r, "estimate", &since);
	err = ms_snapshot_create(pid, &so, &snap);
	phase_done(r, "snapshot", &since);
	if (err)
		goto out;
	r->forked = ms_snapshot_forked(snap);
	r->fork_stop_seconds = ms_snapshot_fork_stop_seconds(snap);
	r->patched_bytes = ms_snapshot_patched_bytes(snap);
	snprintf(r->fork_first_reason, sizeof(r->fork_first_reason), "%s",
		 ms_snapshot_fork_first_reason(snap));
	snprintf(r->no_fork_reason, sizeof(r->no_fork_reason), "%s",
		 ms_snapshot_no_fork_reason(snap));
	for (size_t i = 0; ms_snapshot_warning(snap, i); i++)
		add_result_warning(r, ms_snapshot_warning(snap, i));
	for (size_t i = 0; i < sizeof(r->steps) / sizeof(r->steps[0]); i++) {
		r->steps[i].name = ms_snapshot_step(snap, i, &r->steps[i].seconds);
		if (!r->steps[i].name)
			break;
		r->nsteps++;
	}
	ms_snapshot_destroy(live);
	live = NULL;

	err = make_plan(snap, o->all, &plan);
	phase_done(r, "plan", &since);
	if (!err)
		err = count_data(snap, &plan, o->interrupted);
	if (err)
		goto out;
	fill_result_plan(r, &plan, snap);
	err = check_space(out.dir, disk_estimate(&plan), &r->free_bytes);
	if (err)
		goto out;

	if (ftruncate(out.fd, (off_t)plan.file_size) != 0) {
		err = ms_error_errno(errno, "%s", o->path);
		goto out;
	}
	struct writer w = {.fd = out.fd};
	write_headers(&plan, &w);
	w.off = plan.notes_offset;
	write_notes(snap, &plan, &w);
	if (!w.err && w.off != plan.notes_offset + plan.notes_size)
		w.err = ms_error_create(MS_ERROR_OTHER, "notes took %llu bytes, not %llu",
					(unsigned long long)(w.off - plan.notes_offset),
					(unsigned long long)plan.notes_size);
	if ((err = w.err))
		goto out;

	c.s = snap;
	c.total = plan.data_bytes;
	c.checksums = o->verify;
	err = pipe_start(&c.pipe, out.fd);
	if (!err)
		err = write_data(&c, &plan);
	struct ms_error *perr = pipe_finish(&c.pipe);
	phase_done(r, "copy", &since);
	if (!err)
		err = perr;
	else
		ms_error_destroy(perr);
	if (err)
		goto out;
	r->data_bytes = c.done;

	/* The snapshot has served: let the target go entirely before anything else. */
	err = ms_snapshot_finish(snap, &r->reap_seconds);
	phase_done(r, "finish", &since);
	r->frozen_seconds = ms_snapshot_frozen_seconds(snap);
	if (err) {
		add_result_warning(r, err->message);
		ms_error_destroy(err);
		err = NULL;
	}
	err = output_commit(&out, o->path);
	phase_done(r, "commit", &since);
	if (err)
		goto out;
	struct stat st;
	if (fstat(out.fd, &st) == 0)
		r->disk_size = (uint64_t)st.st_blocks * 512;
	r->seconds = now_seconds() - start;
	if (o->verify) {
		struct ms_error *v = verify_core(o->path, snap, &plan, r);
		if (v) {
			r->verify_error = strdup(v->message);
			ms_error_destroy(v);
		}
	}
out:
	if (snap) {
		double extra = 0;
		struct ms_error *fin = ms_snapshot_finish(snap, &extra);
		r->reap_seconds += extra;
		r->frozen_seconds = ms_snapshot_frozen_seconds(snap);
		if (fin && !err)
			err = fin;
		else
			ms_error_destroy(fin);
	}
	/* whatever read failed first, a target that died meanwhile is the reason */
	if (err && fails_when_gone(err) && ms_procfs_process_gone(pid, 50)) {
		ms_error_destroy(err);
		err = ms_error_create(MS_ERROR_EXITED, "process %d exited", (int)pid);
	}
	ms_error_destroy(pipe_finish(&c.pipe));
	output_abandon(&out);
	plan_deinit(&plan);
	plan_deinit(&estimate);
	ms_snapshot_destroy(snap);
	ms_snapshot_destroy(live);
	if (!r->seconds)
		r->seconds = now_seconds() - start;
	return err;
}

/* ---- reading it back ---- */

static bool same_regs(const struct ms_thread *a, const struct ms_thread *b)
{
	return a->has_regs && b->has_regs && memcmp(&a->regs, &b->regs, sizeof(a->regs)) == 0;
}

static struct ms_error *verify_core(const char *path, struct ms_snapshot *s, struct plan *p,
				    struct ms_gcore_result *r)
{
	struct ms_target *core;
	struct ms_error *err = ms_target_open_core(path, NULL, &core);
	if (err)
		return err;
	struct ms_thread_list *threads = NULL;
	unsigned char *buf = NULL;
	const struct ms_thread_list *want = ms_snapshot_threads(s);
	err = ms_target_threads(core, true, &threads);
	if (err)
		goto out;
	if (threads->count != want->count) {
		err = ms_error_create(MS_ERROR_FORMAT, "%zu threads in the core, %zu dumped",
				      threads->count, want->count);
		goto out;
	}
	for (size_t i = 0; i < want->count; i++) {
		const struct ms_thread *got = NULL;
		for (size_t k = 0; k < threads->count && !got; k++)
			if (threads->threads[k].tid == want->threads[i].tid)
				got = &threads->threads[k];
		if (!got || !same_regs(got, &want->threads[i])) {
			err = ms_error_create(MS_ERROR_FORMAT,
					      "thread %d's registers differ in the core",
					      (int)want->threads[i].tid);
			goto out;
		}
	}
	void *auxv;
	size_t auxv_size;
	err = ms_target_auxv(core, &auxv, &auxv_size);
	if (err)
		goto out;
	const struct ms_snapshot_process *proc = ms_snapshot_process(s);
	bool auxv_ok = auxv_size == proc->auxv_size && !memcmp(auxv, proc->auxv, auxv_size);
	free(auxv);
	if (!auxv_ok) {
		err = ms_error_create(MS_ERROR_FORMAT, "the auxiliary vector differs");
		goto out;
	}
	size_t page = ms_page_size();
	buf = malloc(COPY_BUF_SIZE);
	if (!buf) {
		err = &ms_error_no_memory;
		goto out;
	}
	for (size_t i = 0; i < p->nsegments; i++) {
		const struct segment *seg = &p->segments[i];
		uint64_t sum = 0;
		for (uint64_t a = 0; a < seg->filesz;) {
			size_t len = COPY_BUF_SIZE;
			if (seg->filesz - a < len)
				len = (size_t)(seg->filesz - a);
			size_t done = 0;
			struct ms_error *e =
				ms_target_read(core, seg->vma->start + a, buf, len, 0, &done);
			for (size_t at = done; e && at < len; at += page) {
				/* a page the reader cannot give (a hole to it): zeros, then go on */
				ms_error_destroy(e);
				e = NULL;
				memset(buf + at, 0, page < len - at ? page : len - at);
				if (at + page < len)
					e = ms_target_read(core, seg->vma->start + a + at + page,
							   buf + at + page, len - at - page, 0,
							   &done);
				if (!e)
					break;
				at += done;
			}
			ms_error_destroy(e);
			sum = region_checksum_update(sum, a / page, buf, len);
			a += len;
		}
		if (sum != seg->checksum) {
			err = ms_error_create(MS_ERROR_FORMAT,
					      "0x%llx-0x%llx differs from the snapshot",
					      (unsigned long long)seg->vma->start,
					      (unsigned long long)seg->vma->end);
			goto out;
		}
		r->verified_regions++;
	}
	r->verified = true;
out:
	free(buf);
	ms_thread_list_destroy(threads);
	ms_target_destroy(core);
	return err;
}
