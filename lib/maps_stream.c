/* SPDX-License-Identifier: MIT */
#include "maps_stream.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

enum { STREAM_CHUNK = 256 * 1024 };

struct ms_maps_stream {
	int fd;
	pid_t pid;
	char path[64];
	bool eof;
	size_t chunk; /* bytes asked of each read */
	char *buf;
	size_t len, cap;
	struct ms_maps *batch;
};

struct ms_error *ms_maps_stream_open(pid_t pid, enum ms_maps_detail detail,
				     struct ms_maps_stream **stream_ret)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid,
		 detail == MS_MAPS_SMAPS ? "smaps" : "maps");
	struct ms_maps_stream *s = calloc(1, sizeof(*s));
	if (!s)
		return &ms_error_no_memory;
	s->fd = open(path, O_RDONLY | O_CLOEXEC);
	if (s->fd < 0) {
		int e = errno;
		free(s);
		if (e == ENOENT || e == ESRCH)
			return ms_error_create(MS_ERROR_NOT_FOUND, "no process %d", (int)pid);
		return ms_error_errno(e, "%s", path);
	}
	s->pid = pid;
	s->chunk = STREAM_CHUNK;
	memcpy(s->path, path, sizeof(s->path));
	*stream_ret = s;
	return NULL;
}

void ms_maps_stream_set_chunk(struct ms_maps_stream *stream, size_t bytes)
{
	stream->chunk = bytes ? bytes : STREAM_CHUNK;
}

void ms_maps_stream_close(struct ms_maps_stream *stream)
{
	if (!stream)
		return;
	close(stream->fd);
	ms_maps_destroy(stream->batch);
	free(stream->buf);
	free(stream);
}

/*
 * Where the last mapping in buf[0..len) begins: a line starting with a
 * lower-case hex digit (smaps' field names start with capitals). 0 if none.
 */
static size_t last_record(const char *buf, size_t len)
{
	for (size_t i = len; i-- > 1;) {
		char c = buf[i];
		if (buf[i - 1] == '\n' && ((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return i;
	}
	return 0;
}

struct ms_error *ms_maps_stream_next(struct ms_maps_stream *stream, const struct ms_maps **maps_ret)
{
	struct ms_maps_stream *s = stream;
	ms_maps_destroy(s->batch);
	s->batch = NULL;
	*maps_ret = NULL;
	size_t cut = 0;
	/* read until a complete mapping is in, or the end */
	while (!s->eof && !(cut = last_record(s->buf, s->len))) {
		if (s->cap - s->len < s->chunk + 1) {
			size_t cap = s->cap ? s->cap * 2 : 2 * s->chunk;
			char *buf = realloc(s->buf, cap);
			if (!buf)
				return &ms_error_no_memory;
			s->buf = buf;
			s->cap = cap;
		}
		ssize_t n = read(s->fd, s->buf + s->len, s->chunk);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			if (errno == ESRCH)
				return ms_error_create(MS_ERROR_EXITED, "process %d exited",
						       (int)s->pid);
			return ms_error_errno(errno, "%s", s->path);
		}
		if (n == 0)
			s->eof = true;
		s->len += (size_t)n;
	}
	if (s->eof)
		cut = s->len; /* the last mapping is complete too */
	if (cut == 0)
		return NULL;
	/* parse [0, cut) as a string, then keep the rest for next time */
	char keep = 0;
	if (cut < s->len) {
		keep = s->buf[cut];
	} else if (s->len == s->cap) {
		char *buf = realloc(s->buf, s->cap + 1);
		if (!buf)
			return &ms_error_no_memory;
		s->buf = buf;
		s->cap++;
	}
	s->buf[cut] = '\0';
	char *text = s->buf;
	struct ms_error *err = ms_maps_parse(text, &s->batch);
	if (cut < s->len)
		s->buf[cut] = keep;
	memmove(s->buf, s->buf + cut, s->len - cut);
	s->len -= cut;
	if (err)
		return err;
	*maps_ret = s->batch;
	return NULL;
}

struct ms_error *ms_maps_stream_each(pid_t pid, enum ms_maps_detail detail, ms_maps_each_fn *fn,
				     void *arg)
{
	struct ms_maps_stream *stream;
	struct ms_error *err = ms_maps_stream_open(pid, detail, &stream);
	if (err)
		return err;
	bool stop = false;
	while (!err && !stop) {
		const struct ms_maps *batch;
		err = ms_maps_stream_next(stream, &batch);
		if (err || !batch)
			break;
		for (size_t i = 0; i < batch->count && !stop && !err; i++)
			err = fn(arg, &batch->vmas[i], &stop);
	}
	ms_maps_stream_close(stream);
	return err;
}
