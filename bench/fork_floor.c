/* SPDX-License-Identifier: MIT */
/*
 * fork_floor MIB RUNS: how long a bare fork() of a process with MIB of
 * freshly written memory (4 KiB pages) takes, median of RUNS, in ms. The
 * page-table copy is most of the time memscope gcore keeps its target frozen:
 * this is the floor of that time on this machine.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: fork_floor MIB RUNS\n");
		return 2;
	}
	size_t len = (size_t)atol(argv[1]) << 20;
	int runs = atoi(argv[2]);
	if (runs < 1 || runs > 100)
		runs = 5;
	volatile char *p =
		mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("mmap");
		return 1;
	}
	madvise((void *)p, len, MADV_NOHUGEPAGE);
	double t[100];
	for (int r = 0; r < runs; r++) {
		for (size_t i = 0; i < len; i += 4096)
			p[i]++;
		double start = now();
		pid_t c = fork();
		if (c == 0)
			_exit(0);
		t[r] = (now() - start) * 1e3;
		waitpid(c, NULL, 0);
	}
	qsort(t, (size_t)runs, sizeof(t[0]), cmp);
	printf("%.2f\n", runs % 2 ? t[runs / 2] : (t[runs / 2 - 1] + t[runs / 2]) / 2);
	return 0;
}
