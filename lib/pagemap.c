/* SPDX-License-Identifier: MIT */
#include "pagemap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "procfs.h"

size_t ms_page_size(void)
{
	static size_t size;
	if (!size)
		size = (size_t)sysconf(_SC_PAGESIZE);
	return size;
}

bool ms_pagemap_pfn_visible(void)
{
	static int cached = -1;
	if (cached < 0) {
		char *status;
		cached = 0;
		if (!ms_procfs_read("/proc/self/status", &status, NULL)) {
			const char *cap = strstr(status, "\nCapEff:");
			if (cap) {
				unsigned long long eff = strtoull(cap + 8, NULL, 16);
				cached = (eff >> 21) & 1; /* CAP_SYS_ADMIN */
			}
			free(status);
		}
	}
	return cached;
}

struct ms_error *ms_pagemap_open(pid_t pid, struct ms_pagemap *pm)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/pagemap", (int)pid);
	pm->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (pm->fd < 0) {
		if (errno == ENOENT || errno == ESRCH)
			return ms_error_create(MS_ERROR_NOT_FOUND, "no process %d", (int)pid);
		return ms_error_errno(errno, "%s", path);
	}
	pm->pid = pid;
	pm->pfn_visible = ms_pagemap_pfn_visible();
	return NULL;
}

void ms_pagemap_close(struct ms_pagemap *pm)
{
	if (pm->fd >= 0)
		close(pm->fd);
	pm->fd = -1;
}

struct ms_error *ms_pagemap_read(struct ms_pagemap *pm, uint64_t vaddr, size_t npages,
				 uint64_t *entries)
{
	size_t page = ms_page_size();
	off_t off = (off_t)(vaddr / page * sizeof(uint64_t));
	size_t want = npages * sizeof(uint64_t), got = 0;
	while (got < want) {
		ssize_t n = pread(pm->fd, (char *)entries + got, want - got, off + (off_t)got);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ESRCH)
				return ms_error_create(MS_ERROR_EXITED, "process %d exited",
						       (int)pm->pid);
			return ms_error_errno(errno, "/proc/%d/pagemap", (int)pm->pid);
		}
		if (n == 0) {
			/* An exited process's pagemap reads as end-of-file. */
			if (!ms_procfs_pid_exists(pm->pid))
				return ms_error_create(MS_ERROR_EXITED, "process %d exited",
						       (int)pm->pid);
			return ms_error_create(MS_ERROR_OS,
					       "/proc/%d/pagemap: short read at 0x%llx",
					       (int)pm->pid, (unsigned long long)vaddr);
		}
		got += (size_t)n;
	}
	return NULL;
}
