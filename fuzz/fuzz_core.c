/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness for the core-file reader: every input is opened as a
 * core target (never reading the files it names), then its mappings,
 * threads, auxiliary vector, notes and every byte of every mapping are
 * asked for, as the commands would.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core.h"
#include "target.h"

enum { CHUNK = 64 * 1024, MAX_EXTENTS = 4096 };

static void walk(struct ms_target *t, const struct ms_vma *v, unsigned char *buf)
{
	for (uint64_t a = v->start; a < v->end;) {
		size_t len = v->end - a < CHUNK ? (size_t)(v->end - a) : CHUNK, done = 0;
		struct ms_error *err = ms_target_read(t, a, buf, len, 0, &done);
		ms_error_destroy(err);
		if (err || done < len)
			break;
		a += len;
	}
	unsigned n = 0;
	for (uint64_t a = v->start; a < v->end && n < MAX_EXTENTS; n++) {
		struct ms_core_extent e;
		struct ms_error *err = ms_target_core_extent(t, a, &e);
		if (err) {
			ms_error_destroy(err);
			break;
		}
		if (e.end <= a)
			abort(); /* an extent must make progress */
		a = e.end;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int fd = -1;
	static char path[64];
	static unsigned char *buf;
	if (fd < 0) {
		fd = memfd_create("core", MFD_CLOEXEC);
		buf = malloc(CHUNK);
		if (fd < 0 || !buf)
			abort();
		snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	}
	/* The input goes to a memfd, opened by path as a core file would be.
	 * If that fails (memory pressure), skip the input: it says nothing
	 * about the reader. */
	if (ftruncate(fd, 0) < 0 || (size && pwrite(fd, data, size, 0) != (ssize_t)size)) {
		perror("fuzz_core: writing the input to a memfd");
		return -1;
	}

	struct ms_target *t;
	struct ms_error *err = ms_target_open_core_flags(path, NULL, MS_CORE_NO_FILES, &t);
	if (err) {
		ms_error_destroy(err);
		return 0;
	}
	const struct ms_maps *maps;
	err = ms_target_maps(t, MS_MAPS_BASIC, &maps);
	if (!err) {
		for (size_t i = 0; i < maps->count; i++)
			walk(t, &maps->vmas[i], buf);
	}
	ms_error_destroy(err);

	struct ms_thread_list *threads;
	err = ms_target_threads(t, true, &threads);
	if (!err) {
		char sig[160];
		for (size_t i = 0; i < threads->count; i++)
			ms_core_describe_signal(&threads->threads[i].siginfo, true, sig,
						sizeof(sig));
		ms_thread_list_destroy(threads);
	}
	ms_error_destroy(err);

	void *auxv;
	size_t auxv_size;
	err = ms_target_auxv(t, &auxv, &auxv_size);
	if (!err)
		free(auxv);
	ms_error_destroy(err);

	size_t n;
	ms_target_core_cautions(t, &n);
	ms_target_destroy(t);
	return 0;
}
