/* SPDX-License-Identifier: MIT */
/*
 * The floor for opening a core: read the ELF header, the program headers and
 * the notes, count the threads (NT_PRSTATUS) and the PT_LOAD segments, print
 * the counts. No checks, no parsing beyond that: the least work that lists a
 * core's mappings and threads.
 */
#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	if (argc != 2)
		return 2;
	int fd = open(argv[1], O_RDONLY);
	Elf64_Ehdr eh;
	if (fd < 0 || pread(fd, &eh, sizeof(eh), 0) != sizeof(eh))
		return 1;
	Elf64_Phdr *ph = malloc(eh.e_phnum * sizeof(*ph));
	if (!ph || pread(fd, ph, eh.e_phnum * sizeof(*ph), (off_t)eh.e_phoff) < 0)
		return 1;
	unsigned loads = 0, threads = 0;
	for (unsigned i = 0; i < eh.e_phnum; i++) {
		if (ph[i].p_type == PT_LOAD)
			loads++;
		if (ph[i].p_type != PT_NOTE)
			continue;
		char *notes = malloc(ph[i].p_filesz);
		if (!notes || pread(fd, notes, ph[i].p_filesz, (off_t)ph[i].p_offset) < 0)
			return 1;
		for (size_t off = 0; off + 12 <= ph[i].p_filesz;) {
			Elf64_Nhdr n;
			memcpy(&n, notes + off, sizeof(n));
			if (n.n_type == NT_PRSTATUS)
				threads++;
			off += 12 + ((n.n_namesz + 3) & ~3u) + ((n.n_descsz + 3) & ~3u);
		}
		free(notes);
	}
	printf("%u segments, %u threads\n", loads, threads);
	return 0;
}
