/* SPDX-License-Identifier: MIT */
/*
 * The floor for physmap: read /proc/kpageflags over a PFN range in large
 * chunks and do nothing with it but a checksum, so the reads are not
 * optimised away. Usage: kpageflags_floor START_PFN END_PFN
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: kpageflags_floor START_PFN END_PFN\n");
		return 64;
	}
	uint64_t start = strtoull(argv[1], NULL, 0), end = strtoull(argv[2], NULL, 0);
	int fd = open("/proc/kpageflags", O_RDONLY);
	if (fd < 0) {
		perror("/proc/kpageflags");
		return 2;
	}
	enum { CHUNK = 1 << 16 };
	static uint64_t buf[CHUNK];
	uint64_t sum = 0;
	for (uint64_t pfn = start; pfn < end;) {
		size_t want = end - pfn < CHUNK ? (size_t)(end - pfn) : CHUNK;
		ssize_t n = pread(fd, buf, want * 8, (off_t)(pfn * 8));
		if (n <= 0)
			break;
		for (ssize_t i = 0; i < n / 8; i++)
			sum += buf[i];
		pfn += (uint64_t)n / 8;
	}
	close(fd);
	return sum == 42; /* never true in practice; keeps the sum alive */
}
