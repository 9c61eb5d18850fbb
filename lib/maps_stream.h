/* SPDX-License-Identifier: MIT */
/*
 * A process's /proc/PID/maps or smaps read a piece at a time: each piece is
 * parsed by maps' own parser into a small batch of mappings, so a process
 * with tens of thousands of mappings (45 MB of smaps) costs little memory.
 * What to keep of each mapping is the caller's choice.
 */
#ifndef MEMSCOPE_MAPS_STREAM_H
#define MEMSCOPE_MAPS_STREAM_H

#include <sys/types.h>

#include "error.h"
#include "maps.h"

struct ms_maps_stream;

struct ms_error *ms_maps_stream_open(pid_t pid, enum ms_maps_detail detail,
				     struct ms_maps_stream **stream_ret);
/*
 * The next batch of mappings, in address order; *maps_ret is NULL at the
 * end. A batch is valid until the next call.
 */
struct ms_error *ms_maps_stream_next(struct ms_maps_stream *stream,
				     const struct ms_maps **maps_ret);
void ms_maps_stream_close(struct ms_maps_stream *stream);
/*
 * Read this many bytes at a time (0: the default, 256 KiB). The kernel
 * makes the text of as many mappings as a read holds, and for smaps that
 * walks their page tables: a small read stops the walk near where the
 * caller stops.
 */
void ms_maps_stream_set_chunk(struct ms_maps_stream *stream, size_t bytes);

/*
 * One mapping for ms_maps_stream_each(), valid only during the call. Return
 * an error to end the walk with it, or set *stop_ret to end it early.
 */
typedef struct ms_error *ms_maps_each_fn(void *arg, const struct ms_vma *vma, bool *stop_ret);
/* Every mapping of pid, in address order, streamed. */
struct ms_error *ms_maps_stream_each(pid_t pid, enum ms_maps_detail detail, ms_maps_each_fn *fn,
				     void *arg);

#endif
