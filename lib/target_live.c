/* SPDX-License-Identifier: MIT */
/*
 * The live-process backend of struct ms_target: memory through
 * /proc/PID/mem (checked against pagemap first, so reading never faults a
 * page in unless asked), mappings from /proc/PID/{maps,smaps}, threads from
 * /proc/PID/task and, with registers, from a brief freeze.
 *
 * Not process_vm_readv: it pins the pages it reads, and pinning an anonymous
 * page shared copy-on-write with a child makes the kernel unshare (copy) it,
 * which would change the target. /proc/PID/mem reads without pinning.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "freeze.h"
#include "pagemap.h"
#include "procfs.h"
#include "target_impl.h"

/* How many pages are checked in pagemap per batch (2 MiB of memory). */
enum { LIVE_READ_BATCH = 512 };

struct live_target {
	struct ms_pagemap pagemap;
	bool pagemap_open;
	int mem_fd; /* /proc/PID/mem, opened on the first read; -1 before */
};

static void live_destroy(struct ms_target *t)
{
	struct live_target *live = t->priv;
	if (live && live->pagemap_open)
		ms_pagemap_close(&live->pagemap);
	if (live && live->mem_fd >= 0)
		close(live->mem_fd);
	free(live);
}

static struct ms_error *open_mem(struct ms_target *t, struct live_target *live)
{
	if (live->mem_fd >= 0)
		return NULL;
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)t->pid);
	live->mem_fd = open(path, O_RDONLY | O_CLOEXEC);
	if (live->mem_fd >= 0)
		return NULL;
	if (errno == ENOENT || errno == ESRCH)
		return ms_error_create(MS_ERROR_EXITED, "process %d exited", (int)t->pid);
	return ms_error_errno(errno, "%s", path);
}

/* Why the page at addr, whose pagemap entry is not present, cannot be read. */
static struct ms_error *not_present_error(struct ms_target *t, uint64_t addr, uint64_t entry)
{
	const struct ms_maps *maps;
	struct ms_error *err = ms_target_maps(t, MS_MAPS_BASIC, &maps);
	if (err)
		return err;
	const struct ms_vma *vma = ms_maps_find(maps, addr);
	if (!vma) {
		err = ms_error_create(MS_ERROR_NOT_MAPPED, "0x%llx is not mapped in process %d",
				      (unsigned long long)addr, (int)t->pid);
		if (err != &ms_error_no_memory)
			err->address = addr;
		return err;
	}
	if (!(vma->prot & MS_PROT_READ))
		return ms_error_fault(addr, "mapping is not readable");
	/* a guard marker is a swap-type entry too: it must be told first */
	if (entry & MS_PM_GUARD)
		return ms_error_fault(addr, "guard page (MADV_GUARD_INSTALL): any access faults");
	if (entry & MS_PM_SWAP)
		return ms_error_fault(addr, "page is swapped out (use --fault-in to read it)");
	if (ms_vma_is_file(vma))
		return ms_error_fault(addr,
				      "file page not mapped in yet (use --fault-in to read it)");
	return ms_error_fault(addr, "page never touched (use --fault-in to read it)");
}

static struct ms_error *live_read(struct ms_target *t, uint64_t addr, void *buf, size_t len,
				  unsigned flags, size_t *done_ret)
{
	struct live_target *live = t->priv;
	size_t page = ms_page_size();
	uint64_t entries[LIVE_READ_BATCH];
	size_t done = 0;
	struct ms_error *err = NULL;

	if (!(flags & MS_READ_FAULT_IN) && !live->pagemap_open) {
		err = ms_pagemap_open(t->pid, &live->pagemap);
		if (err)
			goto out;
		live->pagemap_open = true;
	}
	while (done < len) {
		uint64_t a = addr + done;
		size_t chunk = len - done;
		if (a + chunk < a) {
			err = ms_error_fault(UINT64_MAX, "address range wraps around");
			goto out;
		}
		if (!(flags & MS_READ_FAULT_IN)) {
			uint64_t first = a / page;
			uint64_t last = (a + chunk - 1) / page;
			size_t npages = last - first + 1;
			if (npages > LIVE_READ_BATCH) {
				npages = LIVE_READ_BATCH;
				chunk = (first + npages) * page - a;
			}
			err = ms_pagemap_read(&live->pagemap, a, npages, entries);
			if (err)
				goto out;
			size_t ok = 0;
			while (ok < npages && (entries[ok] & MS_PM_PRESENT))
				ok++;
			if (ok == 0) {
				err = not_present_error(t, a, entries[0]);
				goto out;
			}
			if (ok < npages)
				chunk = (first + ok) * page - a;
		}
		err = open_mem(t, live);
		if (err)
			goto out;
		ssize_t n = pread(live->mem_fd, (char *)buf + done, chunk, (off_t)a);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == EIO || errno == EFAULT) {
				err = not_present_error(t, a, 0);
				if (err->code == MS_ERROR_FAULT) {
					ms_error_destroy(err);
					err = ms_error_fault(a, "not accessible");
				}
			} else if (errno == ESRCH) {
				err = ms_error_create(MS_ERROR_EXITED, "process %d exited",
						      (int)t->pid);
			} else {
				err = ms_error_errno(errno, "/proc/%d/mem", (int)t->pid);
			}
			goto out;
		}
		if (n == 0) {
			/* The address space is gone: the process exited. */
			if (ms_pid_gone(t->pid))
				err = ms_error_create(MS_ERROR_EXITED, "process %d exited",
						      (int)t->pid);
			else
				err = ms_error_fault(a, "not accessible");
			goto out;
		}
		done += (size_t)n;
	}
out:
	*done_ret = done;
	return err;
}

static struct ms_error *live_load_maps(struct ms_target *t, enum ms_maps_detail detail,
				       struct ms_maps **maps_ret)
{
	return ms_maps_read_pid(t->pid, detail, maps_ret);
}

struct ms_error *ms_thread_list_read_pid(pid_t pid, struct ms_thread_list **threads_ret)
{
	pid_t *tids;
	size_t n;
	struct ms_error *err = ms_procfs_thread_ids(pid, &tids, &n);
	if (err)
		return err;
	struct ms_thread_list *list = calloc(1, sizeof(*list));
	if (list)
		list->threads = calloc(n ? n : 1, sizeof(*list->threads));
	if (!list || !list->threads) {
		free(tids);
		ms_thread_list_destroy(list);
		return &ms_error_no_memory;
	}
	for (size_t i = 0; i < n; i++) {
		struct ms_thread *th = &list->threads[list->count];
		memset(th, 0, sizeof(*th));
		th->tid = tids[i];
		if (!ms_procfs_thread_stat(pid, th->tid, th->name, &th->state))
			continue; /* the thread exited meanwhile */
		/* main thread first */
		if (th->tid == pid && list->count) {
			struct ms_thread tmp = list->threads[0];
			list->threads[0] = *th;
			*th = tmp;
		}
		list->count++;
	}
	free(tids);
	*threads_ret = list;
	return NULL;
}

static struct ms_error *live_threads(struct ms_target *t, bool with_regs,
				     struct ms_thread_list **threads_ret)
{
	if (!with_regs)
		return ms_thread_list_read_pid(t->pid, threads_ret);
	struct ms_freeze *freeze;
	struct ms_error *err = ms_freeze_create(t->pid, &freeze);
	if (err)
		return err;
	err = ms_freeze_capture_all(freeze, MS_CAPTURE_ALL, threads_ret);
	ms_freeze_destroy(freeze);
	return err;
}

static struct ms_error *live_auxv(struct ms_target *t, void **auxv_ret, size_t *size_ret)
{
	char *buf;
	size_t len;
	struct ms_error *err = ms_procfs_read_pid(t->pid, "auxv", &buf, &len);
	if (err)
		return err;
	*auxv_ret = buf;
	*size_ret = len;
	return NULL;
}

static const struct ms_target_ops live_ops = {
	.destroy = live_destroy,
	.read = live_read,
	.load_maps = live_load_maps,
	.threads = live_threads,
	.auxv = live_auxv,
};

/* include/linux/sched.h: the task is a kernel thread */
#define PF_KTHREAD 0x00200000u

/*
 * A thread still running in process pid, whose main thread has exited
 * (pthread_exit): the leader's /proc files show no memory any more, those of
 * a live thread show the process's. 0 if every thread has exited.
 */
static pid_t live_thread_of(pid_t pid)
{
	pid_t *tids, live = 0;
	size_t n;
	struct ms_error *err = ms_procfs_thread_ids(pid, &tids, &n);
	if (err) {
		ms_error_destroy(err);
		return 0;
	}
	for (size_t i = 0; i < n && !live; i++) {
		char name[17], state = 0;
		if (tids[i] != pid && ms_procfs_thread_stat(pid, tids[i], name, &state) &&
		    state != 'Z' && state != 'X')
			live = tids[i];
	}
	free(tids);
	return live;
}

struct ms_error *ms_target_open_pid(pid_t pid, struct ms_target **target_ret)
{
	if (pid <= 0)
		return ms_error_create(MS_ERROR_INVALID, "invalid process id %d", (int)pid);
	/*
	 * /proc/TID answers for any thread: memory belongs to the whole
	 * process, and a core or a thread list names the process (its
	 * thread-group id), as the kernel and gdb do.
	 */
	pid_t given_tid = 0;
	char path[64], *status;
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	if (ms_procfs_try_read(path, &status)) {
		uint64_t tgid = 0;
		if (ms_procfs_field_u64(status, "Tgid", &tgid) && tgid && tgid != (uint64_t)pid) {
			given_tid = pid;
			pid = (pid_t)tgid;
		}
		free(status);
	} /* else reading comm, next, says what is wrong */
	char *comm;
	struct ms_error *err = ms_procfs_read_pid(pid, "comm", &comm, NULL);
	if (err)
		return err;
	/*
	 * A zombie has no memory left to look at, a kernel thread never had
	 * any; a main thread that exited before the others leaves its process
	 * to be read through one of them.
	 */
	pid_t exited_leader = 0;
	char *stat;
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (ms_procfs_try_read(path, &stat)) {
		char *close = strrchr(stat, ')');
		char state = 0;
		unsigned flags = 0;
		if (close)
			sscanf(close + 1, " %c %*d %*d %*d %*d %*d %u", &state, &flags);
		free(stat);
		pid_t live = state == 'Z' ? live_thread_of(pid) : 0;
		if (state == 'Z' && !live) {
			free(comm);
			return ms_error_create(MS_ERROR_EXITED, "process %d has exited (zombie)",
					       (int)pid);
		}
		if (live) {
			exited_leader = pid;
			pid = live;
		}
		if (flags & PF_KTHREAD) {
			free(comm);
			return ms_error_create(
				MS_ERROR_UNSUPPORTED,
				"process %d is a kernel thread: it has no user memory", (int)pid);
		}
	}
	struct ms_target *t;
	err = ms_target_alloc(&live_ops, MS_TARGET_LIVE, &t);
	if (err) {
		free(comm);
		return err;
	}
	struct live_target *live = calloc(1, sizeof(*live));
	t->priv = live;
	if (live)
		live->mem_fd = -1;
	if (!t->priv) {
		free(comm);
		ms_target_destroy(t);
		return &ms_error_no_memory;
	}
	t->pid = pid;
	t->given_tid = given_tid;
	t->exited_leader = exited_leader;
	comm[strcspn(comm, "\n")] = '\0';
	snprintf(t->comm, sizeof(t->comm), "%s", comm);
	free(comm);
	char exe[4096];
	snprintf(path, sizeof(path), "/proc/%d/exe", (int)pid);
	ssize_t n = readlink(path, exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = '\0';
		t->exe = strdup(exe);
	}
	snprintf(t->describe, sizeof(t->describe), "process %d", (int)pid);
	*target_ret = t;
	return NULL;
}
