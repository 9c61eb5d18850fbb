/* SPDX-License-Identifier: MIT */
/*
 * The floor for `vm -p`: the least work that gives a physical address per
 * virtual page. Read /proc/PID/maps, read each mapping's pagemap entries in
 * large chunks, print "VIRTUAL PHYSICAL" in hex for each page. Nothing
 * else: no flags, no marks, no runs.
 *
 *   vm_floor PID
 */
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { CHUNK = 1 << 16 };

static char out[1 << 20];
static size_t outlen;

static void flush(void)
{
	for (size_t done = 0; done < outlen;) {
		ssize_t n = write(STDOUT_FILENO, out + done, outlen - done);
		if (n <= 0)
			exit(2);
		done += (size_t)n;
	}
	outlen = 0;
}

/* the same hex writer as memscope's vm: two digits at a time */
static char pairs[512];

static inline size_t hex(char *p, uint64_t v)
{
	size_t n = v ? (size_t)(64 - __builtin_clzll(v) + 3) / 4 : 1;
	size_t i = n;
	while (i >= 2) {
		i -= 2;
		memcpy(p + i, pairs + 2 * (v & 0xff), 2);
		v >>= 8;
	}
	if (i)
		p[0] = pairs[2 * (v & 0xf) + 1];
	return n;
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: vm_floor PID\n");
		return 64;
	}
	char path[64];
	snprintf(path, sizeof(path), "/proc/%s/maps", argv[1]);
	FILE *maps = fopen(path, "r");
	snprintf(path, sizeof(path), "/proc/%s/pagemap", argv[1]);
	int fd = open(path, O_RDONLY);
	if (!maps || fd < 0) {
		perror(path);
		return 2;
	}
	for (int i = 0; i < 256; i++) {
		pairs[2 * i] = "0123456789abcdef"[i >> 4];
		pairs[2 * i + 1] = "0123456789abcdef"[i & 15];
	}
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	uint64_t *entries = malloc(CHUNK * sizeof(*entries));
	char line[4096];
	while (fgets(line, sizeof(line), maps)) {
		unsigned long long start, end;
		if (sscanf(line, "%llx-%llx", &start, &end) != 2 || start >> 63)
			continue;
		for (uint64_t a = start; a < end;) {
			size_t n = (size_t)((end - a) / page);
			if (n > CHUNK)
				n = CHUNK;
			ssize_t got = pread(fd, entries, n * 8, (off_t)(a / page * 8));
			if (got <= 0)
				break;
			n = (size_t)got / 8;
			for (size_t i = 0; i < n; i++, a += page) {
				if (outlen > sizeof(out) - 64)
					flush();
				char *p = out + outlen;
				p += hex(p, a);
				*p++ = ' ';
				p += hex(p, (entries[i] & ((UINT64_C(1) << 55) - 1)) * page);
				*p++ = '\n';
				outlen = (size_t)(p - out);
			}
		}
	}
	flush();
	return 0;
}
