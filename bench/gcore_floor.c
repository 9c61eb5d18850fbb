/* SPDX-License-Identifier: MIT */
/*
 * gcore_floor PID FILE: the least work a core dump of PID must do: copy
 * the pages that hold data (present or swapped, not the zero page) of every
 * readable private mapping into a sparse FILE, one mapping after the other.
 * No freezing, no headers, no notes, no choice of mappings: a lower bound
 * for memscope gcore's wall time.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/uio.h>
#include <unistd.h>

struct pm_scan_arg {
	uint64_t size, flags, start, end, walk_end, vec, vec_len, max_pages;
	uint64_t category_inverted, category_mask, category_anyof_mask, return_mask;
};
struct page_region {
	uint64_t start, end, categories;
};
#define PAGEMAP_SCAN_IOCTL _IOWR('f', 16, struct pm_scan_arg)
#define PRESENT		   (1 << 3)
#define SWAPPED		   (1 << 4)
#define PFNZERO		   (1 << 5)

enum { BUF = 8 << 20, REGIONS = 512 };

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: gcore_floor PID FILE\n");
		return 2;
	}
	int pid = atoi(argv[1]);
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/maps", pid);
	FILE *maps = fopen(path, "r");
	snprintf(path, sizeof(path), "/proc/%d/pagemap", pid);
	int pm = open(path, O_RDONLY);
	int out = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0600);
	char *buf = malloc(BUF);
	if (!maps || pm < 0 || out < 0 || !buf) {
		perror("open");
		return 1;
	}
	static struct page_region regions[REGIONS];
	char line[4096];
	uint64_t base = 0;
	while (fgets(line, sizeof(line), maps)) {
		unsigned long long start, end;
		char perms[5];
		if (sscanf(line, "%llx-%llx %4s", &start, &end, perms) != 3)
			continue;
		if (perms[0] != 'r' || perms[3] != 'p') {
			base += end - start;
			continue;
		}
		uint64_t next = start;
		while (next < end) {
			struct pm_scan_arg arg = {
				.size = sizeof(arg),
				.start = next,
				.end = end,
				.vec = (uint64_t)(uintptr_t)regions,
				.vec_len = REGIONS,
				.category_inverted = PFNZERO,
				.category_mask = PFNZERO,
				.category_anyof_mask = PRESENT | SWAPPED,
				.return_mask = PRESENT | SWAPPED,
			};
			int n = ioctl(pm, PAGEMAP_SCAN_IOCTL, &arg);
			if (n < 0)
				break;
			for (int i = 0; i < n; i++) {
				for (uint64_t a = regions[i].start; a < regions[i].end;) {
					size_t len =
						regions[i].end - a < BUF ? regions[i].end - a : BUF;
					struct iovec local = {buf, len};
					struct iovec remote = {(void *)(uintptr_t)a, len};
					ssize_t got =
						process_vm_readv(pid, &local, 1, &remote, 1, 0);
					if (got <= 0) {
						a += 4096;
						continue;
					}
					if (pwrite(out, buf, (size_t)got,
						   (off_t)(base + a - start)) != got) {
						perror("pwrite");
						return 1;
					}
					a += (uint64_t)got;
				}
			}
			next = arg.walk_end > next ? arg.walk_end : end;
		}
		base += end - start;
	}
	if (ftruncate(out, (off_t)base) != 0) {
		perror("ftruncate");
		return 1;
	}
	close(out);
	return 0;
}
