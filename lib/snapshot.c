/* SPDX-License-Identifier: MIT */
#include "snapshot.h"

#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "freeze.h"
#include "snapshot_impl.h"
#include "inject.h"
#include "pagemap.h"
#include "procfs.h"
#include "grow.h"

static void add_warning(struct ms_snapshot *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void add_warning(struct ms_snapshot *s, const char *fmt, ...)
{
	char **grown = realloc(s->warnings, (s->nwarnings + 1) * sizeof(*grown));
	if (!grown)
		return;
	s->warnings = grown;
	va_list ap;
	va_start(ap, fmt);
	if (vasprintf(&s->warnings[s->nwarnings], fmt, ap) >= 0)
		s->nwarnings++;
	va_end(ap);
}

static double now_seconds(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void ms_snap_step_done(struct ms_snapshot *s, const char *name)
{
	double t = now_seconds();
	if (s->nsteps < sizeof(s->steps) / sizeof(s->steps[0])) {
		s->steps[s->nsteps].name = name;
		s->steps[s->nsteps].seconds = t - s->step_start;
		s->nsteps++;
	}
	s->step_start = t;
}

const char *ms_snapshot_step(const struct ms_snapshot *s, size_t i, double *seconds_ret)
{
	if (i >= s->nsteps)
		return NULL;
	*seconds_ret = s->steps[i].seconds;
	return s->steps[i].name;
}

/* Whether a read worked; a failure is dropped (the caller has a fallback). */
static bool got(struct ms_error *err)
{
	bool ok = !err;
	ms_error_destroy(err);
	return ok;
}

/* ---- what /proc says about the process ---- */

/*
 * The last of the ids on a "NSpid:"-style line of a status file (the id in
 * the innermost pid namespace) into *id; returns how many there are.
 */
static int ns_last(const char *status, const char *key, pid_t *id)
{
	size_t klen = strlen(key);
	const char *line = status;
	while (line && *line) {
		if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
			const char *q = line + klen + 1;
			int levels = 0;
			for (;;) {
				while (*q == ' ' || *q == '\t')
					q++;
				if (*q < '0' || *q > '9')
					break;
				char *end;
				long v = strtol(q, &end, 10);
				*id = (pid_t)v;
				levels++;
				q = end;
			}
			return levels;
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return 0;
}

pid_t ms_snapshot_core_tid(const struct ms_snapshot *s, pid_t tid)
{
	char path[64], *status;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/status", (int)s->pid, (int)tid);
	pid_t id = tid;
	if (got(ms_procfs_read(path, &status, NULL))) {
		ns_last(status, "NSpid", &id);
		free(status);
	}
	return id;
}

static struct ms_error *read_process(pid_t pid, struct ms_snapshot_process *p)
{
	char *stat;
	struct ms_error *err = ms_procfs_read_pid(pid, "stat", &stat, NULL);
	if (err)
		return err;
	p->pid = pid;
	char *open = strchr(stat, '('), *close = strrchr(stat, ')');
	if (!open || !close || close < open) {
		free(stat);
		return ms_error_create(MS_ERROR_FORMAT, "/proc/%d/stat: unexpected format",
				       (int)pid);
	}
	size_t n = (size_t)(close - open - 1);
	memcpy(p->comm, open + 1, n > 16 ? 16 : n);
	p->comm[n > 16 ? 16 : n] = '\0';
	/* fields from 3 on: state ppid pgrp session tty tpgid flags ... */
	unsigned long long f[64] = {0};
	char state = 0;
	const char *q = close + 2;
	if (*q)
		state = *q++;
	int k = 4;
	while (*q && k < 60) {
		while (*q == ' ')
			q++;
		f[k++] = strtoull(q, (char **)&q, 10);
	}
	/* a negative nice reads as a huge unsigned number: cast back */
	p->state = state;
	p->ppid = (pid_t)f[4];
	p->pgrp = (pid_t)f[5];
	p->sid = (pid_t)f[6];
	p->flags = f[9];
	p->utime = f[14];
	p->stime = f[15];
	p->cutime = f[16];
	p->cstime = f[17];
	p->starttime = f[22];
	p->nice = (int)(long long)f[19];
	free(stat);

	p->core_pid = p->pid;
	p->core_ppid = p->ppid;
	p->core_pgrp = p->pgrp;
	p->core_sid = p->sid;
	char *status;
	if (got(ms_procfs_read_pid(pid, "status", &status, NULL))) {
		uint64_t v;
		if (ms_procfs_field_u64(status, "Uid", &v))
			p->uid = (uint32_t)v;
		if (ms_procfs_field_u64(status, "Gid", &v))
			p->gid = (uint32_t)v;
		/* In a pid namespace of its own, the kernel writes the ids it sees there. */
		int levels = ns_last(status, "NSpid", &p->core_pid);
		if (levels > 1) {
			ns_last(status, "NSpgid", &p->core_pgrp);
			ns_last(status, "NSsid", &p->core_sid);
			/* the parent, if it lives in the same namespace; 0 if outside */
			char *pstatus;
			pid_t ppid = 0;
			if (got(ms_procfs_read_pid(p->ppid, "status", &pstatus, NULL))) {
				if (ns_last(pstatus, "NSpid", &ppid) != levels)
					ppid = 0;
				free(pstatus);
			}
			p->core_ppid = ppid;
		}
		free(status);
	}
	err = ms_procfs_read_pid(pid, "cmdline", &p->cmdline, &p->cmdline_len);
	if (err)
		return err;
	char *auxv;
	err = ms_procfs_read_pid(pid, "auxv", &auxv, &p->auxv_size);
	if (err)
		return err;
	p->auxv = auxv;
	char *filter;
	p->coredump_filter = 0x33; /* the kernel's default */
	if (got(ms_procfs_read_pid(pid, "coredump_filter", &filter, NULL))) {
		p->coredump_filter = strtoull(filter, NULL, 16);
		free(filter);
	}
	return NULL;
}

/* Field n (1-based, from 3 on: after the command name) of a stat line. */
static uint64_t stat_field(const char *stat, int n)
{
	const char *q = strrchr(stat, ')');
	/* q + 1 is the space before field 3 */
	for (int k = 3; q && k <= n; k++)
		q = strchr(q + 1, ' ');
	return q ? strtoull(q + 1, NULL, 10) : 0;
}

void ms_snapshot_thread_times(const struct ms_snapshot *s, pid_t tid, uint64_t *utime,
			      uint64_t *stime)
{
	*utime = *stime = 0;
	char path[64], *stat;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)s->pid, (int)tid);
	if (!got(ms_procfs_read(path, &stat, NULL)))
		return;
	*utime = stat_field(stat, 14);
	*stime = stat_field(stat, 15);
	free(stat);
}

/* ---- which pages hold data ---- */

static int scan_works = -1; /* PAGEMAP_SCAN: unknown, no, yes */

static int open_pagemap(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	return open(path, O_RDONLY | O_CLOEXEC);
}

/* A struct ms_pagemap over an already open pagemap file (not owned). */
static struct ms_pagemap pagemap_of(int fd, pid_t pid)
{
	return (struct ms_pagemap){
		.fd = fd,
		.pid = pid,
		.pfn_visible = ms_pagemap_pfn_visible(),
		.scan = scan_works,
		.pidfd = -1,
	};
}

/*
 * Runs of pages present or swapped (and, with no_zero, not the shared zero
 * page) in [start, end), from an open pagemap.
 */
struct ms_error *ms_snap_scan_present(int fd, pid_t pid, uint64_t start, uint64_t end, bool no_zero,
				      struct ms_snapshot_range *out, size_t max, size_t *count_ret,
				      uint64_t *next_ret)
{
	size_t page = ms_page_size();
	if (max > SNAP_SCAN_REGIONS)
		max = SNAP_SCAN_REGIONS;
	struct ms_pagemap pm = pagemap_of(fd, pid);
	if (ms_pagemap_has_scan(&pm)) {
		scan_works = 1;
		struct ms_pm_region regions[SNAP_SCAN_REGIONS];
		struct ms_pm_query q = {
			.start = start,
			.end = end,
			.category_inverted = no_zero ? MS_PC_PFNZERO : 0,
			.category_mask = no_zero ? MS_PC_PFNZERO : 0,
			.category_anyof_mask = MS_PC_PRESENT | MS_PC_SWAPPED,
			.return_mask = MS_PC_PRESENT | MS_PC_SWAPPED,
		};
		size_t n;
		uint64_t walk_end;
		struct ms_error *err = ms_pagemap_query(&pm, &q, regions, max, &n, &walk_end);
		if (err)
			return err;
		size_t count = 0;
		for (size_t i = 0; i < n; i++) {
			/* merge what only differs in present/swapped */
			if (count && out[count - 1].end == regions[i].start) {
				out[count - 1].end = regions[i].end;
				continue;
			}
			out[count].start = regions[i].start;
			out[count].end = regions[i].end;
			count++;
		}
		*count_ret = count;
		*next_ret = walk_end > start ? walk_end : end;
		return NULL;
	}
	scan_works = 0;
	/*
	 * Older kernels: the entries themselves. The zero page is told by its
	 * frame (as root); the huge zero page is not told apart.
	 */
	uint64_t zero_pfn = no_zero ? ms_zero_pfn() : 0;
	uint64_t entries[SNAP_SCAN_REGIONS];
	size_t count = 0;
	uint64_t a = start;
	while (a < end && count < max) {
		size_t npages = (size_t)((end - a) / page);
		if (npages > SNAP_SCAN_REGIONS)
			npages = SNAP_SCAN_REGIONS;
		struct ms_error *err = ms_pagemap_read(&pm, a, npages, entries);
		if (err)
			return err;
		for (size_t i = 0; i < npages; i++) {
			uint64_t addr = a + i * page;
			if (!(entries[i] & (MS_PM_PRESENT | MS_PM_SWAP)))
				continue;
			if (zero_pfn && (entries[i] & MS_PM_PRESENT) &&
			    ms_pm_pfn(entries[i]) == zero_pfn)
				continue;
			if (count && out[count - 1].end == addr) {
				out[count - 1].end = addr + page;
				continue;
			}
			if (count == max) {
				*count_ret = count;
				*next_ret = addr;
				return NULL;
			}
			out[count].start = addr;
			out[count].end = addr + page;
			count++;
		}
		a += npages * page;
	}
	*count_ret = count;
	*next_ret = a < end ? a : end;
	return NULL;
}

/* ---- regions copied while frozen ---- */

struct ms_error *ms_snap_open_spill(struct ms_snapshot *s, const char *dir)
{
	if (s->spill_fd >= 0)
		return NULL;
	if (!dir || !*dir)
		dir = ".";
	s->spill_fd = open(dir, O_TMPFILE | O_RDWR | O_CLOEXEC, 0600);
	if (s->spill_fd >= 0)
		return NULL;
	/* filesystems without O_TMPFILE: a named file, unlinked at once */
	char path[4096];
	snprintf(path, sizeof(path), "%s/.memscope-spill-XXXXXX", dir);
	s->spill_fd = mkostemp(path, O_CLOEXEC);
	if (s->spill_fd < 0)
		return ms_error_errno(errno, "%s", path);
	unlink(path);
	return NULL;
}

struct ms_error *ms_snap_add_extent(struct spill_extent **list, size_t *n, size_t *cap,
				    uint64_t addr, uint64_t len, uint64_t offset)
{
	if (*n) {
		struct spill_extent *last = &(*list)[*n - 1];
		if (last->addr + last->len == addr && last->offset + last->len == offset) {
			last->len += len;
			return NULL;
		}
	}
	struct spill_extent *grown = ms_grow(*list, *n, cap, sizeof(*grown), 64);
	if (!grown)
		return &ms_error_no_memory;
	*list = grown;
	(*list)[(*n)++] = (struct spill_extent){addr, len, offset};
	return NULL;
}

/*
 * Read another process's memory through /proc/PID/mem (opened on first use
 * into *mem_fd). Not process_vm_readv: it pins pages, and pinning an
 * anonymous page that is shared copy-on-write (every page of a fork
 * snapshot; pages a target shares with its own children) makes the kernel
 * copy it first: reading a snapshot would double its memory, and reading a
 * target would change it. /proc/PID/mem also reads what the mapping's
 * protection forbids, as the kernel's own dumper does.
 */
ssize_t ms_snap_read_memory(pid_t pid, int *mem_fd, uint64_t addr, void *buf, size_t len)
{
	if (*mem_fd < 0) {
		char path[64];
		snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
		*mem_fd = open(path, O_RDONLY | O_CLOEXEC);
		if (*mem_fd < 0)
			return -1;
	}
	size_t done = 0;
	while (done < len) {
		ssize_t n = pread(*mem_fd, (char *)buf + done, len - done, (off_t)(addr + done));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return done ? (ssize_t)done : n;
		done += (size_t)n;
	}
	return (ssize_t)done;
}

/* Copy vma's data pages from the frozen target into the spill file. */
static struct ms_error *spill_vma(struct ms_snapshot *s, const struct ms_vma *vma)
{
	size_t page = ms_page_size();
	bool anon = !ms_vma_is_file(vma) && !(vma->prot & MS_PROT_SHARED);
	struct ms_snapshot_range ranges[64];
	uint64_t next = vma->start;
	while (next < vma->end) {
		size_t n = 0;
		if (anon) {
			struct ms_error *err =
				ms_snap_scan_present(s->target_pagemap_fd, s->pid, next, vma->end,
						     true, ranges, 64, &n, &next);
			if (err)
				return err;
		} else {
			ranges[0].start = next;
			ranges[0].end = vma->end;
			n = 1;
			next = vma->end;
		}
		for (size_t i = 0; i < n; i++) {
			for (uint64_t a = ranges[i].start; a < ranges[i].end;) {
				size_t len = SNAP_BUF_SIZE;
				if (ranges[i].end - a < len)
					len = (size_t)(ranges[i].end - a);
				ssize_t got = ms_snap_read_memory(s->pid, &s->target_mem_fd, a,
								  s->buf, len);
				if (got <= 0) {
					a += page; /* unreadable page: a hole */
					continue;
				}
				if (pwrite(s->spill_fd, s->buf, (size_t)got,
					   (off_t)s->spill_size) != got)
					return ms_error_errno(errno, "writing the spill file");
				struct ms_error *err = ms_snap_add_extent(
					&s->extents, &s->nextents, &s->cap_extents, a,
					(uint64_t)got, s->spill_size);
				if (err)
					return err;
				s->spill_size += (uint64_t)got;
				a += (uint64_t)got;
			}
		}
	}
	return NULL;
}

bool ms_snap_spilled(const struct ms_snapshot *s, const struct ms_vma *vma)
{
	for (size_t i = 0; i < s->nextents; i++)
		if (s->extents[i].addr >= vma->start && s->extents[i].addr < vma->end)
			return true;
	return false;
}

const struct ms_vma *ms_snap_find_exact(const struct ms_maps *maps, const struct ms_vma *vma)
{
	if (!maps)
		return NULL;
	const struct ms_vma *v = ms_maps_find(maps, vma->start);
	return v && v->start == vma->start && v->end == vma->end ? v : NULL;
}

/* Whether fork leaves vma out of (or empty in) the child, by its smaps flags. */
static bool fork_skips(const struct ms_vma *detail)
{
	return detail && (detail->vm_flags & (MS_VM_DONTCOPY | MS_VM_WIPEONFORK));
}

bool ms_snap_worth_spilling(const struct ms_snapshot_options *o, const struct ms_vma *detail)
{
	if (detail->vm_flags & MS_VM_IO)
		return false;
	if ((detail->vm_flags & MS_VM_DONTDUMP) && !o->keep_dontdump)
		return false;
	return true;
}

/* Regions fork left out that smaps did not announce: copy them now, still frozen. */
static struct ms_error *check_child(struct ms_snapshot *s, const struct ms_snapshot_options *o)
{
	struct ms_maps *child_maps;
	struct ms_error *err = ms_maps_read_pid(s->child_in_making, MS_MAPS_BASIC, &child_maps);
	if (err)
		return err;
	for (size_t i = 0; i < s->maps->count && !err; i++) {
		const struct ms_vma *v = &s->maps->vmas[i];
		if (ms_snap_find_exact(child_maps, v) || ms_snap_spilled(s, v))
			continue;
		const struct ms_vma *d = ms_snap_find_exact(s->pre, v);
		if (d && !ms_snap_worth_spilling(o, d))
			continue;
		if (!(err = ms_snap_open_spill(s, o->temp_dir)))
			err = spill_vma(s, v);
	}
	ms_maps_destroy(child_maps);
	return err;
}

/* ---- making the snapshot ---- */

/*
 * The threads' registers, in the freeze's order. The forking thread's are
 * copied before the fork; the others' while its fork runs (they are frozen
 * all along), as the fork's page-table copy is most of the frozen time.
 */
static struct ms_error *threads_alloc(struct ms_snapshot *s)
{
	size_t n = ms_freeze_count(s->freeze);
	s->threads = calloc(1, sizeof(*s->threads));
	if (!s->threads)
		return &ms_error_no_memory;
	s->threads->threads = calloc(n ? n : 1, sizeof(*s->threads->threads));
	if (!s->threads->threads)
		return &ms_error_no_memory;
	s->threads->count = n;
	return NULL;
}

static struct ms_error *capture_thread(struct ms_snapshot *s, size_t i)
{
	struct ms_thread *t = &s->threads->threads[i];
	if (t->has_regs)
		return NULL; /* copied already */
	return ms_freeze_capture(s->freeze, i, MS_CAPTURE_ALL, t);
}

static struct ms_error *capture_rest(void *arg)
{
	struct ms_snapshot *s = arg;
	for (size_t i = 0; i < s->threads->count; i++) {
		struct ms_error *err = capture_thread(s, i);
		if (err)
			return err;
	}
	return NULL;
}

/*
 * The pid a process of the target's pid namespace has there: the last of
 * its NSpid (0 if it is gone).
 */
static pid_t pid_in_target(pid_t child)
{
	char *status;
	pid_t in_target = 0;
	if (!got(ms_procfs_read_pid(child, "status", &status, NULL)))
		return 0;
	ns_last(status, "NSpid", &in_target);
	free(status);
	return in_target;
}

/*
 * Kill a child the target was made to fork, now or after an error, and
 * leave it to be reaped at the end (it is the target's child, not ours).
 * in_target: its pid in the target's pid namespace, if known (> 0).
 */
static void kill_held(struct ms_snapshot *s, pid_t child, pid_t in_target)
{
	if (in_target <= 0)
		in_target = pid_in_target(child);
	ms_inject_kill_child(child);
	if (in_target <= 0)
		return; /* reaped already (by the target's own wait) */
	if (s->nunreaped == sizeof(s->unreaped) / sizeof(s->unreaped[0])) {
		add_warning(s, "snapshot process %d is left a zombie child of process %d",
			    (int)child, (int)s->pid);
		return;
	}
	s->unreaped[s->nunreaped++] = (struct ms_snap_unreaped){child, in_target};
}

/*
 * Make the frozen target fork: a plain fork, except that there is no exit
 * signal (the target gets no SIGCHLD and its wait() does not see the
 * child), and that the file table and fs context are shared rather than
 * copied, so the child holds no extra reference to the target's files,
 * sockets or locks. The other threads are let go as soon as the fork is
 * done; this one once it is put back.
 */
static struct ms_error *inject_fork(struct ms_snapshot *s, const struct ms_snapshot_options *o,
				    size_t thread, pid_t *child_ret, int64_t *ret_ret)
{
	struct ms_inject *inj;
	struct ms_error *err = ms_inject_begin(s->freeze, thread, s->syscall_addr, &inj);
	if (err)
		return err;
	uint64_t args[6] = {CLONE_FILES | CLONE_FS, 0, 0, 0, 0, 0};
	err = ms_inject_syscall_meanwhile(inj, SYS_clone, args, ret_ret, child_ret, capture_rest,
					  s);
	ms_snap_step_done(s, "fork (other threads' registers meanwhile)");
	s->child_in_making = *child_ret;
	if (!err && *child_ret) {
		err = check_child(s, o);
		ms_snap_step_done(s, "check child");
		if (!err)
			ms_freeze_release_others(s->freeze, thread);
	}
	struct ms_error *end = ms_inject_end(inj);
	ms_snap_step_done(s, "put thread back");
	if (end && !err)
		err = end;
	else
		ms_error_destroy(end);
	if (err && *child_ret) {
		kill_held(s, *child_ret, (pid_t)*ret_ret);
		*child_ret = 0;
	}
	return err;
}

/* What fork will not copy, read while the target is frozen (once). */
static struct ms_error *spill_unforked(struct ms_snapshot *s, const struct ms_snapshot_options *o,
				       const struct ms_maps *given)
{
	for (size_t i = 0; i < s->maps->count; i++) {
		const struct ms_vma *v = &s->maps->vmas[i];
		const struct ms_vma *d = ms_snap_find_exact(given, v);
		if (!fork_skips(d) || !ms_snap_worth_spilling(o, d) || ms_snap_spilled(s, v))
			continue;
		struct ms_error *err = ms_snap_open_spill(s, o->temp_dir);
		if (!err)
			err = spill_vma(s, v);
		if (err)
			return err;
	}
	return NULL;
}

/* Below this much written private memory the fork is made frozen (it takes ~3 ms). */
#define FORK_FIRST_MIN_BYTES (UINT64_C(256) << 20)

/*
 * The fork of "fork first, freeze after" (see snapshot_patch.c): only the
 * forking thread is stopped, for as long as the fork takes; the child is
 * held as the classic fork's is. The target is put back as it was whatever
 * fails; an error only means the classic fork is used.
 */
static struct ms_error *fork_early(struct ms_snapshot *s)
{
	struct ms_freeze *f;
	struct ms_error *err = ms_freeze_create_thread(s->pid, 0, &f);
	if (err)
		return err;
	struct ms_maps *maps = NULL;
	pid_t child = 0;
	int64_t ret = 0;
	char why[256] = "";
	err = ms_maps_read_pid(s->pid, MS_MAPS_BASIC, &maps);
	if (!err)
		err = ms_inject_find_syscall(s->pid, maps, &s->syscall_addr);
	if (!err && !ms_inject_thread_ok(f, 0, why, sizeof(why)))
		err = ms_error_create(MS_ERROR_OTHER, "%s", why);
	if (!err) {
		s->inject_tid = ms_freeze_tid(f, 0);
		uint64_t args[6] = {CLONE_FILES | CLONE_FS, 0, 0, 0, 0, 0};
		err = ms_inject_call(f, 0, s->syscall_addr, SYS_clone, args, &ret, &child);
	}
	ms_freeze_release(f);
	s->fork_stop_seconds = ms_freeze_seconds(f);
	ms_freeze_destroy(f);
	ms_maps_destroy(maps);
	if (err && child) {
		kill_held(s, child, (pid_t)ret); /* still in its first stop, or dead */
		return err;
	}
	if (!err && (ret < 0 || !child))
		err = ms_error_create(MS_ERROR_OTHER, "the kernel refused to fork: %s",
				      ret < 0 ? strerror((int)-ret) : "no child");
	if (err)
		return err;
	s->early_child = child;
	s->early_child_in_target = (pid_t)ret;
	err = ms_inject_hold_child(child);
	if (!err)
		err = ms_maps_read_pid(child, MS_MAPS_BASIC, &s->early_maps);
	if (!err)
		err = ms_snap_patch_prepare(s);
	return err; /* the caller gives the child up on an error */
}

/* Give the early child up: killed at once, reaped at the end. */
static void abandon_early(struct ms_snapshot *s, const char *why)
{
	snprintf(s->early_reason, sizeof(s->early_reason), "%s", why);
	if (!s->early_child)
		return;
	kill_held(s, s->early_child, s->early_child_in_target);
	s->early_child = s->early_child_in_target = 0;
	ms_snap_drop_patches(s);
}

/*
 * Whether to fork before freezing. Worth it when the fork is long (it copies
 * an entry per 4 KiB page the process wrote, some 50 ns each) and the
 * comparison after it shorter (it reads an entry per page mapped, some 15 ns
 * each, on two threads), and when other threads are left running; possible as
 * root only.
 */
static bool fork_first_fits(const struct ms_snapshot *s, const struct ms_snapshot_options *o,
			    const struct ms_maps *given, char *why, size_t why_len)
{
	if (o->no_fork || o->fork_frozen) {
		snprintf(why, why_len, "asked to fork frozen");
		return false;
	}
	uint64_t written = 0, mapped = 0;
	for (size_t i = 0; given && i < given->count; i++) {
		const struct ms_vma *v = &given->vmas[i];
		if ((v->prot & MS_PROT_SHARED) || v->kind == MS_VMA_VSYSCALL)
			continue;
		mapped += v->end - v->start;
		written += v->usage.anonymous - v->usage.anon_huge;
	}
	if (written < FORK_FIRST_MIN_BYTES || mapped / 4 > written) {
		snprintf(why, why_len, "%llu MiB written in %llu MiB mapped: the fork is short",
			 (unsigned long long)(written >> 20), (unsigned long long)(mapped >> 20));
		return false;
	}
	if (!ms_pagemap_pfn_visible()) {
		snprintf(why, why_len, "pagemap shows no physical addresses (not root)");
		return false;
	}
	char *stat;
	if (!got(ms_procfs_read_pid(s->pid, "stat", &stat, NULL)))
		return false;
	uint64_t threads = stat_field(stat, 20);
	free(stat);
	if (threads < 2) {
		snprintf(why, why_len, "one thread: it would be stopped twice");
		return false;
	}
	return true;
}

/* Bytes of data the snapshot holds in anonymous mapping v. */
static uint64_t data_bytes(struct ms_snapshot *s, const struct ms_vma *v)
{
	struct ms_snapshot_range r[SNAP_SCAN_REGIONS];
	uint64_t total = 0;
	for (uint64_t a = v->start; a < v->end;) {
		size_t n = 0;
		uint64_t next = v->end;
		struct ms_error *err = ms_snapshot_data(s, v, MS_SNAPSHOT_ANON, a, v->end, r,
							SNAP_SCAN_REGIONS, &n, &next);
		if (err) {
			ms_error_destroy(err);
			return total ? total : ms_page_size(); /* dumped; the copy will tell */
		}
		for (size_t i = 0; i < n; i++)
			total += r[i].end - r[i].start;
		if (next <= a)
			break;
		a = next;
	}
	return total;
}

static struct ms_error *merge_detail(struct ms_snapshot *s, const struct ms_maps *detail,
				     const struct ms_maps *pre)
{
	for (size_t i = 0; i < s->maps->count; i++) {
		struct ms_vma *v = &s->maps->vmas[i];
		const struct ms_vma *d = ms_snap_find_exact(detail, v);
		const struct ms_vma *p = ms_snap_find_exact(pre, v);
		const struct ms_vma *t = ms_snap_find_exact(s->new_detail, v);
		const struct ms_vma *use = t ? t : d ? d : p;
		if (use) {
			v->has_smaps = true;
			v->vm_flags = use->vm_flags;
			memcpy(v->vmflags_text, use->vmflags_text, sizeof(v->vmflags_text));
			v->usage = use->usage;
		}
		if (s->child && !d && !s->forked_first) {
			/* fork left it out: MADV_DONTFORK */
			v->vm_flags |= MS_VM_DONTCOPY;
		}
		if (s->forked_first && !(v->prot & MS_PROT_SHARED)) {
			/*
			 * The child's counts are of before the freeze, and of its own
			 * mappings: what the target has written is what the snapshot holds.
			 */
			if (!ms_vma_is_file(v))
				v->usage.anonymous = data_bytes(s, v);
			else if (ms_snap_patched(s, v) && !v->usage.anonymous) {
				v->usage.anonymous = ms_page_size();
			}
		}
		if (ms_snap_spilled(s, v) && p) {
			/* the child's copy is empty: the target's counts are the truth */
			v->usage = p->usage;
			if (!v->usage.anonymous && !ms_vma_is_file(v))
				v->usage.anonymous = ms_page_size();
		}
	}
	return NULL;
}

struct ms_error *ms_snapshot_create(pid_t pid, const struct ms_snapshot_options *o,
				    struct ms_snapshot **snapshot_ret)
{
	struct ms_snapshot *s = calloc(1, sizeof(*s));
	if (!s)
		return &ms_error_no_memory;
	s->pid = pid;
	s->spill_fd = s->pagemap_fd = s->target_pagemap_fd = -1;
	s->mem_fd = s->target_mem_fd = s->shared_fd = s->file_fd = -1;
	struct ms_maps *pre = NULL, *detail = NULL;
	struct ms_error *err = NULL;
	s->buf = malloc(SNAP_BUF_SIZE);
	if (!s->buf) {
		err = &ms_error_no_memory;
		goto fail;
	}
	err = read_process(pid, &s->proc);
	if (err)
		goto fail;
	/* Which regions fork would miss is known only from smaps: read it first. */
	const struct ms_maps *given = o->pre_smaps;
	if (!given) {
		err = ms_maps_read_pid(pid, MS_MAPS_SMAPS, &pre);
		if (err)
			goto fail;
		given = pre;
	}
	s->target_pagemap_fd = open_pagemap(pid);
	if (s->target_pagemap_fd < 0) {
		err = ms_error_errno(errno, "/proc/%d/pagemap", (int)pid);
		goto fail;
	}
	if (o->interrupted && *o->interrupted) {
		err = ms_error_create(MS_ERROR_INTERRUPTED, "interrupted");
		goto fail;
	}

	if (fork_first_fits(s, o, given, s->early_reason, sizeof(s->early_reason))) {
		struct ms_error *e = fork_early(s);
		if (e) {
			abandon_early(s, e->message);
			ms_error_destroy(e);
		}
	}

	err = ms_freeze_create(pid, &s->freeze);
	if (err)
		goto fail;
	/* from the first interrupt: what the freeze read before that stopped nothing */
	s->step_start = now_seconds() - ms_freeze_seconds(s->freeze);
	ms_snap_step_done(s, "freeze threads");
	err = threads_alloc(s);
	if (err)
		goto fail;
	err = ms_maps_read_pid(pid, MS_MAPS_BASIC, &s->maps);
	if (err)
		goto fail;
	ms_snap_step_done(s, "read mappings");

	if (s->early_child) {
		err = spill_unforked(s, o, given);
		if (err)
			goto fail;
		ms_snap_step_done(s, "copy unforked regions");
		bool mendable = false;
		char why[256] = "";
		err = ms_snap_patch(s, o, given, capture_rest, s, &mendable, why, sizeof(why));
		if (err)
			goto fail;
		ms_snap_step_done(s, "copy registers and what changed since the fork");
		if (mendable) {
			err = ms_snap_detail_of_new(s, given);
			if (err)
				goto fail;
			ms_snap_step_done(s, "smaps of mappings made since the fork");
			s->forked_first = true;
			s->child = s->early_child;
			s->child_in_target = s->early_child_in_target;
			s->early_child = s->early_child_in_target = 0;
		} else {
			abandon_early(s, why);
		}
	}
	bool held = s->child != 0; /* the early child, held already */

	size_t thread = 0;
	bool can_fork = !o->no_fork && !s->child;
	if (o->no_fork)
		snprintf(s->no_fork_reason, sizeof(s->no_fork_reason), "asked not to fork");
	/* an early child given up: the system call it was made with is still there */
	const struct ms_vma *vdso = s->syscall_addr ? ms_maps_find(s->maps, s->syscall_addr) : NULL;
	if (can_fork && !(vdso && vdso->kind == MS_VMA_VDSO)) {
		struct ms_error *e = ms_inject_find_syscall(pid, s->maps, &s->syscall_addr);
		if (e) {
			snprintf(s->no_fork_reason, sizeof(s->no_fork_reason), "%s", e->message);
			ms_error_destroy(e);
			can_fork = false;
		}
	}
	if (can_fork && !ms_inject_pick_thread(s->freeze, &thread, s->no_fork_reason,
					       sizeof(s->no_fork_reason)))
		can_fork = false;

	if (!s->child) {
		ms_snap_step_done(s, "find syscall, thread");
		err = can_fork ? capture_thread(s, thread) : capture_rest(s);
		if (err)
			goto fail;
		ms_snap_step_done(s, can_fork ? "copy its registers" : "copy registers");
	}
	if (can_fork) {
		err = spill_unforked(s, o, given);
		if (err)
			goto fail;
		ms_snap_step_done(s, "copy unforked regions");
		int64_t ret = 0;
		pid_t child = 0;
		s->inject_tid = ms_freeze_tid(s->freeze, thread);
		s->pre = given;
		err = inject_fork(s, o, thread, &child, &ret);
		if (err) {
			/* the thread is back as it was: dump while frozen instead */
			snprintf(s->no_fork_reason, sizeof(s->no_fork_reason),
				 "injecting fork failed: %s", err->message);
			ms_error_destroy(err);
			err = NULL;
		} else if (ret < 0 || !child) {
			snprintf(s->no_fork_reason, sizeof(s->no_fork_reason),
				 "the kernel refused to fork process %d: %s", (int)pid,
				 ret < 0 ? strerror((int)-ret) : "no child");
		} else {
			s->child = child;
			/* what the target calls it: its pid namespace may not be ours */
			s->child_in_target = (pid_t)ret;
		}
	}
	if (!s->child && (err = capture_rest(s))) /* no fork: the rest, still frozen */
		goto fail;
	if (s->child) {
		ms_freeze_release(s->freeze);
		s->frozen_seconds = ms_freeze_seconds(s->freeze);
		ms_freeze_destroy(s->freeze);
		s->freeze = NULL;
		ms_snap_step_done(s, "release");
		err = held ? NULL : ms_inject_hold_child(s->child);
		if (err)
			goto fail; /* killed: reaped at the end */
		err = ms_maps_read_pid(s->child, MS_MAPS_SMAPS, &detail);
		if (err)
			goto fail;
		s->pagemap_fd = open_pagemap(s->child);
		if (s->pagemap_fd < 0) {
			err = ms_error_errno(errno, "/proc/%d/pagemap", (int)s->child);
			goto fail;
		}
		merge_detail(s, detail, given);
		/* A region wiped in the child that smaps did not show before the freeze. */
		for (size_t i = 0; i < s->maps->count; i++) {
			struct ms_vma *v = &s->maps->vmas[i];
			if ((v->vm_flags & MS_VM_WIPEONFORK) && !ms_snap_spilled(s, v) &&
			    ms_snap_worth_spilling(o, v)) {
				if (!(err = ms_snap_open_spill(s, o->temp_dir)))
					err = spill_vma(s, v);
				if (err)
					goto fail;
				add_warning(s,
					    "0x%llx-0x%llx (MADV_WIPEONFORK) became so during the "
					    "freeze: read after the target resumed",
					    (unsigned long long)v->start,
					    (unsigned long long)v->end);
			}
		}
	} else {
		/* No snapshot process: the target stays frozen while it is dumped. */
		err = ms_maps_read_pid(pid, MS_MAPS_SMAPS, &detail);
		if (err)
			goto fail;
		merge_detail(s, detail, NULL);
		s->pagemap_fd = dup(s->target_pagemap_fd);
	}
	ms_maps_destroy(pre);
	ms_maps_destroy(detail);
	s->pre = NULL;
	*snapshot_ret = s;
	return NULL;
fail:
	ms_maps_destroy(pre);
	ms_maps_destroy(detail);
	s->pre = NULL;
	ms_snapshot_destroy(s);
	return err;
}

struct ms_error *ms_snapshot_create_unfrozen(pid_t pid, struct ms_snapshot **snapshot_ret)
{
	struct ms_snapshot *s = calloc(1, sizeof(*s));
	if (!s)
		return &ms_error_no_memory;
	s->pid = pid;
	s->spill_fd = s->pagemap_fd = s->target_pagemap_fd = -1;
	s->mem_fd = s->target_mem_fd = s->shared_fd = s->file_fd = -1;
	snprintf(s->no_fork_reason, sizeof(s->no_fork_reason), "not frozen (an estimate)");
	struct ms_error *err = read_process(pid, &s->proc);
	if (!err)
		err = ms_maps_read_pid(pid, MS_MAPS_SMAPS, &s->maps);
	if (!err)
		err = ms_thread_list_read_pid(pid, &s->threads);
	if (!err) {
		s->target_pagemap_fd = open_pagemap(pid);
		s->pagemap_fd = open_pagemap(pid);
		if (s->pagemap_fd < 0 || s->target_pagemap_fd < 0)
			err = ms_error_errno(errno, "/proc/%d/pagemap", (int)pid);
	}
	if (err) {
		ms_snapshot_destroy(s);
		return err;
	}
	s->finished = true;
	s->live = true;
	*snapshot_ret = s;
	return NULL;
}

/* ---- letting go ---- */

/* Whether the target is still there (not gone, its pid not taken by another). */
static bool same_process(const struct ms_snapshot *s)
{
	char *stat;
	if (!got(ms_procfs_read_pid(s->pid, "stat", &stat, NULL)))
		return false;
	uint64_t start = stat_field(stat, 22);
	const char *close = strrchr(stat, ')');
	bool zombie = close && close[1] == ' ' && (close[2] == 'Z' || close[2] == 'X');
	bool threads = stat_field(stat, 20) > 1;
	free(stat);
	/* a zombie leader with threads left is still alive */
	return start == s->proc.starttime && (!zombie || threads);
}

/*
 * Reap a dead snapshot process (child, in_target in the target's pid
 * namespace) on the target's behalf: inject wait4 into it.
 */
static struct ms_error *reap_child(struct ms_snapshot *s, pid_t child, pid_t in_target,
				   double *seconds_ret)
{
	char last[256] = "no thread could be used";
	for (int attempt = 0; attempt < 4; attempt++) {
		if (!same_process(s))
			return NULL; /* the target is gone: its children go to init */
		if (attempt) {
			struct timespec ts = {0, 2000000L};
			nanosleep(&ts, NULL);
		}
		struct ms_freeze *f;
		struct ms_error *err =
			ms_freeze_create_thread(s->pid, attempt == 0 ? s->inject_tid : 0, &f);
		if (err) {
			/* exited (a zombie now): its children went to init or a subreaper */
			bool gone = err->code == MS_ERROR_EXITED && attempt > 0;
			snprintf(last, sizeof(last), "%s", err->message);
			ms_error_destroy(err);
			if (gone)
				return NULL;
			continue;
		}
		if (!ms_inject_thread_ok(f, 0, last, sizeof(last))) {
			ms_freeze_destroy(f);
			continue;
		}
		int64_t ret = -EAGAIN;
		uint64_t args[6] = {(uint64_t)in_target, 0, __WALL | WNOHANG, 0, 0, 0};
		err = ms_inject_call(f, 0, s->syscall_addr, SYS_wait4, args, &ret, NULL);
		ms_freeze_release(f);
		*seconds_ret += ms_freeze_seconds(f);
		ms_freeze_destroy(f);
		if (err) {
			snprintf(last, sizeof(last), "%s", err->message);
			ms_error_destroy(err);
			continue;
		}
		/* reaped, or the target reaped it itself (a wait with __WALL) */
		if (ret == in_target || ret == -ECHILD)
			return NULL;
		snprintf(last, sizeof(last), "wait4 returned %lld", (long long)ret);
	}
	return ms_error_create(MS_ERROR_OTHER,
			       "could not reap snapshot process %d (%s): it stays a zombie child "
			       "of process %d, invisible to its wait()",
			       (int)child, last, (int)s->pid);
}

struct ms_error *ms_snapshot_finish(struct ms_snapshot *s, double *reap_seconds_ret)
{
	double reap = 0;
	struct ms_error *err = NULL;
	if (!s || s->finished)
		goto out;
	s->finished = true;
	if (s->freeze) {
		ms_freeze_release(s->freeze);
		s->frozen_seconds = ms_freeze_seconds(s->freeze);
		ms_freeze_destroy(s->freeze);
		s->freeze = NULL;
	}
	/* an early child not yet taken or given up: an error came between */
	if (s->early_child)
		abandon_early(s, "not used");
	for (size_t i = 0; i < s->nunreaped; i++) {
		struct ms_error *e =
			reap_child(s, s->unreaped[i].pid, s->unreaped[i].in_target, &reap);
		if (e && !err)
			err = e;
		else
			ms_error_destroy(e);
	}
	s->nunreaped = 0;
	if (s->child) {
		/* readers first: an open /proc/CHILD/mem is fine, but be tidy */
		if (s->mem_fd >= 0)
			close(s->mem_fd);
		s->mem_fd = -1;
		ms_inject_kill_child(s->child);
		struct ms_error *e = reap_child(s, s->child, s->child_in_target, &reap);
		if (e && !err)
			err = e;
		else
			ms_error_destroy(e);
	}
out:
	if (reap_seconds_ret)
		*reap_seconds_ret = reap;
	return err;
}

void ms_snapshot_destroy(struct ms_snapshot *s)
{
	if (!s)
		return;
	ms_error_destroy(ms_snapshot_finish(s, NULL));
	ms_thread_list_destroy(s->threads);
	ms_maps_destroy(s->maps);
	free(s->proc.cmdline);
	free(s->proc.auxv);
	free(s->extents);
	ms_snap_drop_patches(s);
	ms_maps_destroy(s->early_maps);
	ms_maps_destroy(s->new_detail);
	free(s->buf);
	for (size_t i = 0; i < s->nwarnings; i++)
		free(s->warnings[i]);
	free(s->warnings);
	int fds[] = {s->spill_fd,  s->pagemap_fd, s->target_pagemap_fd, s->mem_fd, s->target_mem_fd,
		     s->shared_fd, s->file_fd};
	for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(s);
}

/* ---- accessors ---- */

bool ms_snapshot_live(const struct ms_snapshot *s)
{
	return s->live;
}

bool ms_snapshot_forked(const struct ms_snapshot *s)
{
	return s->child != 0;
}

const char *ms_snapshot_no_fork_reason(const struct ms_snapshot *s)
{
	return s->child ? "" : s->no_fork_reason;
}

pid_t ms_snapshot_source_pid(const struct ms_snapshot *s)
{
	return s->child ? s->child : s->pid;
}

double ms_snapshot_fork_stop_seconds(const struct ms_snapshot *s)
{
	return s->forked_first ? s->fork_stop_seconds : 0;
}

uint64_t ms_snapshot_patched_bytes(const struct ms_snapshot *s)
{
	return s->patched_bytes;
}

const char *ms_snapshot_fork_first_reason(const struct ms_snapshot *s)
{
	return s->early_reason;
}

double ms_snapshot_frozen_seconds(const struct ms_snapshot *s)
{
	return s->freeze ? ms_freeze_seconds(s->freeze) : s->frozen_seconds;
}

const struct ms_snapshot_process *ms_snapshot_process(const struct ms_snapshot *s)
{
	return &s->proc;
}

const struct ms_thread_list *ms_snapshot_threads(const struct ms_snapshot *s)
{
	return s->threads;
}

const struct ms_maps *ms_snapshot_maps(const struct ms_snapshot *s)
{
	return s->maps;
}

const char *ms_snapshot_warning(const struct ms_snapshot *s, size_t i)
{
	return i < s->nwarnings ? s->warnings[i] : NULL;
}

/* ---- reading ---- */

/* The shared memory object behind a shared mapping, if it can be opened (root). */
static int shared_object(struct ms_snapshot *s, const struct ms_vma *vma)
{
	if (s->shared_fd >= 0 && s->shared_vma_start == vma->start)
		return s->shared_fd;
	if (s->shared_fd >= 0)
		close(s->shared_fd);
	s->shared_vma_start = vma->start;
	char path[128];
	snprintf(path, sizeof(path), "/proc/%d/map_files/%llx-%llx", (int)ms_snapshot_source_pid(s),
		 (unsigned long long)vma->start, (unsigned long long)vma->end);
	s->shared_fd = open(path, O_RDONLY | O_CLOEXEC);
	return s->shared_fd;
}

struct ms_error *ms_snapshot_data(struct ms_snapshot *s, const struct ms_vma *vma,
				  enum ms_snapshot_presence how, uint64_t start, uint64_t end,
				  struct ms_snapshot_range *ranges, size_t max, size_t *count_ret,
				  uint64_t *next_ret)
{
	size_t page = ms_page_size();
	*count_ret = 0;
	*next_ret = end;
	if (start >= end || !max)
		return NULL;
	if (ms_snap_spilled(s, vma)) {
		size_t n = 0;
		for (size_t i = 0; i < s->nextents; i++) {
			const struct spill_extent *e = &s->extents[i];
			uint64_t a = e->addr > start ? e->addr : start;
			uint64_t b = e->addr + e->len < end ? e->addr + e->len : end;
			if (a >= b)
				continue;
			if (n == max) {
				*next_ret = a;
				break;
			}
			ranges[n].start = a;
			ranges[n].end = b;
			n++;
		}
		*count_ret = n;
		return NULL;
	}
	switch (how) {
	case MS_SNAPSHOT_ALL:
		ranges[0].start = start;
		ranges[0].end = end;
		*count_ret = 1;
		return NULL;
	case MS_SNAPSHOT_ANON: {
		struct ms_error *err =
			ms_snap_scan_present(s->pagemap_fd, ms_snapshot_source_pid(s), start, end,
					     true, ranges, max, count_ret, next_ret);
		if (err || (!s->npatches && !s->ndrops))
			return err;
		return ms_snap_patch_ranges(s, start, ranges, max, count_ret, next_ret);
	}
	case MS_SNAPSHOT_SHARED: {
		int fd = shared_object(s, vma);
		if (fd < 0) {
			/* Not root: what the target has mapped is what can be seen. */
			return ms_snap_scan_present(s->target_pagemap_fd, s->pid, start, end, false,
						    ranges, max, count_ret, next_ret);
		}
		off_t base = (off_t)vma->offset - (off_t)vma->start;
		size_t n = 0;
		uint64_t a = start;
		while (a < end && n < max) {
			off_t d = lseek(fd, base + (off_t)a, SEEK_DATA);
			if (d < 0)
				break; /* ENXIO: no data after a */
			uint64_t ds = ((uint64_t)(d - base)) / page * page;
			if (ds >= end)
				break;
			off_t h = lseek(fd, d, SEEK_HOLE);
			uint64_t he = h < 0 ? end : ((uint64_t)(h - base) + page - 1) / page * page;
			if (he > end)
				he = end;
			if (ds < a)
				ds = a;
			ranges[n].start = ds;
			ranges[n].end = he;
			n++;
			a = he;
		}
		*count_ret = n;
		*next_ret = a < end && n == max ? a : end;
		return NULL;
	}
	}
	return NULL;
}

static struct ms_error *read_source(struct ms_snapshot *s, uint64_t addr, void *buf, size_t len,
				    size_t *done_ret);
static struct ms_error *read_patched(struct ms_snapshot *s, uint64_t addr, void *buf, size_t len,
				     size_t *done_ret);

/* The file behind a private file mapping, for pages the target has not mapped. */
static int mapped_file(struct ms_snapshot *s, const struct ms_vma *vma)
{
	if (s->file_fd >= 0 && s->file_vma_start == vma->start)
		return s->file_fd;
	if (s->file_fd >= 0)
		close(s->file_fd);
	s->file_vma_start = vma->start;
	s->file_fd = ms_vma_open_file(s->pid, vma, NULL);
	return s->file_fd;
}

/*
 * Reading a frozen target (no fork snapshot): a page it has not mapped
 * would be faulted in by reading it through its memory, a change it could
 * see. Such pages of a private file mapping are read from the file, of the
 * vDSO from memscope's own; the pages it has, from its memory.
 */
static struct ms_error *read_target_gently(struct ms_snapshot *s, const struct ms_vma *vma,
					   uint64_t addr, void *buf, size_t len, size_t *done_ret)
{
	size_t page = ms_page_size();
	uint64_t entries[SNAP_SCAN_REGIONS];
	size_t done = 0;
	*done_ret = 0;
	while (done < len) {
		uint64_t a = addr + done;
		size_t npages = (len - done + page - 1) / page;
		if (npages > SNAP_SCAN_REGIONS)
			npages = SNAP_SCAN_REGIONS;
		if (pread(s->target_pagemap_fd, entries, npages * 8, (off_t)(a / page * 8)) !=
		    (ssize_t)(npages * 8))
			return read_source(s, addr, buf, len, done_ret);
		bool present = entries[0] & (MS_PM_PRESENT | MS_PM_SWAP);
		size_t run = 1;
		while (run < npages && !!(entries[run] & (MS_PM_PRESENT | MS_PM_SWAP)) == present)
			run++;
		size_t chunk = run * page;
		if (chunk > len - done)
			chunk = len - done;
		size_t got = 0;
		if (present) {
			struct ms_error *err = read_source(s, a, (char *)buf + done, chunk, &got);
			done += got;
			*done_ret = done;
			if (err)
				return err;
			continue;
		}
		if (vma->kind == MS_VMA_VDSO) {
			size_t size;
			const unsigned char *vdso = ms_maps_own_vdso(&size);
			if (!vdso || size != vma->end - vma->start)
				return ms_error_fault(a, "not mapped in");
			memcpy((char *)buf + done, vdso + (a - vma->start), chunk);
			done += chunk;
			*done_ret = done;
			continue;
		}
		int fd = mapped_file(s, vma);
		if (fd < 0) {
			/* no way around it: fault the pages in, as the kernel's dumper does */
			struct ms_error *err = read_source(s, a, (char *)buf + done, chunk, &got);
			done += got;
			*done_ret = done;
			if (err)
				return err;
			continue;
		}
		ssize_t n = pread(fd, (char *)buf + done, chunk,
				  (off_t)(vma->offset + (a - vma->start)));
		if (n > 0)
			done += (size_t)n;
		*done_ret = done;
		if (n < (ssize_t)chunk)
			return ms_error_fault(addr + done, "beyond the end of the file");
	}
	return NULL;
}

struct ms_error *ms_snapshot_read(struct ms_snapshot *s, const struct ms_vma *vma, uint64_t addr,
				  void *buf, size_t len, size_t *done_ret)
{
	*done_ret = 0;
	if (ms_snap_spilled(s, vma)) {
		size_t done = 0;
		while (done < len) {
			uint64_t a = addr + done;
			const struct spill_extent *e = NULL;
			for (size_t i = 0; i < s->nextents && !e; i++)
				if (a >= s->extents[i].addr &&
				    a < s->extents[i].addr + s->extents[i].len)
					e = &s->extents[i];
			if (!e)
				return ms_error_fault(a, "not copied");
			size_t chunk = (size_t)(e->addr + e->len - a);
			if (chunk > len - done)
				chunk = len - done;
			ssize_t n = pread(s->spill_fd, (char *)buf + done, chunk,
					  (off_t)(e->offset + (a - e->addr)));
			if (n <= 0)
				return ms_error_errno(n < 0 ? errno : EIO,
						      "reading the spill file");
			done += (size_t)n;
			*done_ret = done;
		}
		return NULL;
	}
	if ((vma->prot & MS_PROT_SHARED) && s->shared_fd >= 0 &&
	    s->shared_vma_start == vma->start) {
		ssize_t n =
			pread(s->shared_fd, buf, len, (off_t)(vma->offset + (addr - vma->start)));
		if (n < 0)
			return ms_error_errno(errno, "reading shared memory at 0x%llx",
					      (unsigned long long)addr);
		*done_ret = (size_t)n;
		return (size_t)n < len ? ms_error_fault(addr + (uint64_t)n, "beyond the end")
				       : NULL;
	}
	if (!s->child && !s->live && !(vma->prot & MS_PROT_SHARED) &&
	    (vma->kind == MS_VMA_FILE || vma->kind == MS_VMA_VDSO))
		return read_target_gently(s, vma, addr, buf, len, done_ret);
	if (s->npatches || s->ndrops)
		return read_patched(s, addr, buf, len, done_ret);
	return read_source(s, addr, buf, len, done_ret);
}

/* An early child's memory, with what the target changed or dropped since. */
static struct ms_error *read_patched(struct ms_snapshot *s, uint64_t addr, void *buf, size_t len,
				     size_t *done_ret)
{
	size_t done = 0;
	*done_ret = 0;
	while (done < len) {
		uint64_t a = addr + done, until, offset = 0;
		enum ms_snap_cover cover = ms_snap_cover_at(s, a, &until, &offset);
		size_t chunk = until - a < len - done ? (size_t)(until - a) : len - done;
		char *at = (char *)buf + done;
		if (cover == MS_SNAP_PATCH) {
			if (pread(s->spill_fd, at, chunk, (off_t)offset) != (ssize_t)chunk)
				return ms_error_errno(errno ? errno : EIO,
						      "reading the spill file");
		} else if (cover == MS_SNAP_DROP) {
			memset(at, 0, chunk);
		} else {
			size_t got = 0;
			struct ms_error *err = read_source(s, a, at, chunk, &got);
			if (err) {
				*done_ret = done + got;
				return err;
			}
		}
		done += chunk;
		*done_ret = done;
	}
	return NULL;
}

static struct ms_error *read_source(struct ms_snapshot *s, uint64_t addr, void *buf, size_t len,
				    size_t *done_ret)
{
	pid_t pid = ms_snapshot_source_pid(s);
	ssize_t n =
		ms_snap_read_memory(pid, s->child ? &s->mem_fd : &s->target_mem_fd, addr, buf, len);
	if (n < 0) {
		if (errno == ESRCH || (errno == ENOENT && !ms_procfs_pid_exists(pid)))
			return ms_error_create(MS_ERROR_EXITED, "process %d exited", (int)pid);
		/* EINVAL: above 2^63 (the vsyscall page), which pread cannot reach */
		if (errno != EIO && errno != EFAULT && errno != EINVAL)
			return ms_error_errno(errno, "/proc/%d/mem", (int)pid);
		return ms_error_fault(addr, "not accessible");
	}
	*done_ret = (size_t)n;
	return (size_t)n < len ? ms_error_fault(addr + (uint64_t)n, "not accessible") : NULL;
}
