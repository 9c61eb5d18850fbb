/* SPDX-License-Identifier: MIT */
/*
 * The plain way to answer ptov: read the pagemap entry of every page of every
 * mapping of every process (no PAGEMAP_SCAN, no early stop) and count the
 * entries whose PFN is the one asked for.
 *
 *   pagemap_floor PFN
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

enum { BATCH = 8192 };

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: pagemap_floor PFN\n");
		return 64;
	}
	uint64_t pfn = strtoull(argv[1], NULL, 0);
	long page = sysconf(_SC_PAGESIZE);
	static uint64_t entries[BATCH];
	unsigned long found = 0, pages = 0;
	DIR *proc = opendir("/proc");
	struct dirent *de;
	while (proc && (de = readdir(proc))) {
		if (de->d_name[0] < '1' || de->d_name[0] > '9')
			continue;
		char path[300];
		snprintf(path, sizeof(path), "/proc/%s/maps", de->d_name);
		FILE *maps = fopen(path, "r");
		snprintf(path, sizeof(path), "/proc/%s/pagemap", de->d_name);
		int fd = open(path, O_RDONLY);
		if (!maps || fd < 0) {
			if (maps)
				fclose(maps);
			if (fd >= 0)
				close(fd);
			continue;
		}
		unsigned long long lo, hi;
		char line[4400];
		while (fgets(line, sizeof(line), maps)) {
			if (sscanf(line, "%llx-%llx", &lo, &hi) != 2 || hi > (1ULL << 56))
				continue;
			for (unsigned long long a = lo; a < hi;) {
				size_t n = (size_t)((hi - a) / (unsigned long long)page);
				if (n > BATCH)
					n = BATCH;
				ssize_t got = pread(fd, entries, n * 8,
						    (off_t)(a / (unsigned long long)page * 8));
				if (got <= 0)
					break;
				for (size_t i = 0; i < (size_t)got / 8; i++)
					if ((entries[i] >> 63) &&
					    (entries[i] & ((1ULL << 55) - 1)) == pfn)
						found++;
				pages += (unsigned long)got / 8;
				a += n * (unsigned long long)page;
			}
		}
		fclose(maps);
		close(fd);
	}
	if (proc)
		closedir(proc);
	printf("%lu mappings, %lu pages read\n", found, pages);
	return 0;
}
