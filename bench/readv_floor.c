/* SPDX-License-Identifier: MIT */
/*
 * The floor for rd and find: read LEN bytes of process PID from START with
 * process_vm_readv, 2 MiB at a time, and do nothing with them.
 *
 *   readv_floor PID START LEN
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/uio.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: readv_floor PID START LEN\n");
		return 64;
	}
	pid_t pid = (pid_t)strtol(argv[1], NULL, 10);
	unsigned long long start = strtoull(argv[2], NULL, 0), len = strtoull(argv[3], NULL, 0);
	size_t chunk = 2u << 20;
	char *buf = malloc(chunk);
	if (!buf)
		return 1;
	unsigned long long done = 0;
	while (done < len) {
		size_t n = len - done < chunk ? (size_t)(len - done) : chunk;
		struct iovec local = {buf, n};
		struct iovec remote = {(void *)(uintptr_t)(start + done), n};
		ssize_t got = process_vm_readv(pid, &local, 1, &remote, 1, 0);
		if (got <= 0) {
			perror("process_vm_readv");
			return 1;
		}
		done += (unsigned long long)got;
	}
	free(buf);
	return 0;
}
