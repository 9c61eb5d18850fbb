/* SPDX-License-Identifier: MIT */
/*
 * Small helpers for the kernel's text files under /proc and /sys: read a
 * whole file, find a "Key: value" field, read one number. Interpreting what
 * the fields mean is left to the modules that own them (maps, sysmem, ...).
 */
#ifndef MEMSCOPE_PROCFS_H
#define MEMSCOPE_PROCFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

/*
 * Read all of a (pseudo) file into a NUL-terminated heap buffer. Works for
 * /proc files whose size reads as 0. *len_ret (may be NULL) excludes the NUL.
 */
struct ms_error *ms_procfs_read(const char *path, char **buf_ret, size_t *len_ret);
/* The same for /proc/PID/<name>; a vanished process gives MS_ERROR_NOT_FOUND. */
struct ms_error *ms_procfs_read_pid(pid_t pid, const char *name, char **buf_ret, size_t *len_ret);
/* The same for a file whose absence is no error: false (nothing to free) if unreadable. */
bool ms_procfs_try_read(const char *path, char **buf_ret);

/*
 * Find "key:" at the start of a line of text and parse the number after it.
 * A "kB" suffix is honoured: the value comes back in bytes. Returns false if
 * the key is absent.
 */
bool ms_procfs_field_u64(const char *text, const char *key, uint64_t *value_ret);
/* Read a file holding one unsigned integer (a sysctl, a sysfs knob). */
struct ms_error *ms_procfs_read_u64(const char *path, uint64_t *value_ret);
/* Read a file holding one signed integer. */
struct ms_error *ms_procfs_read_s64(const char *path, int64_t *value_ret);
/* Write a string to a sysctl or sysfs file. */
struct ms_error *ms_procfs_write(const char *path, const char *value);

/* Whether /proc/PID exists (the process is alive or a zombie). */
bool ms_procfs_pid_exists(pid_t pid);
/*
 * Whether process pid is gone, or dead (every thread a zombie: a tracer may
 * hold them), waiting up to wait_ms for a dying one to get there: after a
 * read failed, whether its exit is the reason.
 */
bool ms_procfs_process_gone(pid_t pid, int wait_ms);

/*
 * The numeric entries of a /proc directory (the processes in /proc, a
 * process's threads in /proc/PID/task) in the kernel's order. Caller frees.
 * MS_ERROR_NOT_FOUND if the directory is gone.
 */
struct ms_error *ms_procfs_ids(const char *dir, pid_t **ids_ret, size_t *count_ret);
/*
 * The ids of process pid's threads, as /proc/PID/task lists them (the
 * kernel's order: creation order). Caller frees. "no process PID"
 * (MS_ERROR_NOT_FOUND) if it is gone.
 */
struct ms_error *ms_procfs_thread_ids(pid_t pid, pid_t **tids_ret, size_t *count_ret);
/*
 * A thread's name (comm, NUL-terminated) and state letter from
 * /proc/PID/task/TID/stat; false, leaving both alone, if it is gone.
 */
bool ms_procfs_thread_stat(pid_t pid, pid_t tid, char name[17], char *state_ret);

#endif
