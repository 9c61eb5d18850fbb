/* SPDX-License-Identifier: MIT */
#include "procfs.h"
#include "grow.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

struct ms_error *ms_procfs_read(const char *path, char **buf_ret, size_t *len_ret)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ms_error_errno(errno, "%s", path);
	size_t cap = 4096, len = 0;
	char *buf = malloc(cap);
	if (!buf) {
		close(fd);
		return &ms_error_no_memory;
	}
	for (;;) {
		if (cap - len < 2) {
			char *bigger = realloc(buf, cap * 2);
			if (!bigger) {
				free(buf);
				close(fd);
				return &ms_error_no_memory;
			}
			buf = bigger;
			cap *= 2;
		}
		ssize_t n = read(fd, buf + len, cap - len - 1);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int saved = errno;
			free(buf);
			close(fd);
			return ms_error_errno(saved, "%s", path);
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	close(fd);
	buf[len] = '\0';
	*buf_ret = buf;
	if (len_ret)
		*len_ret = len;
	return NULL;
}

struct ms_error *ms_procfs_read_pid(pid_t pid, const char *name, char **buf_ret, size_t *len_ret)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
	struct ms_error *err = ms_procfs_read(path, buf_ret, len_ret);
	if (err && (err->errnum == ENOENT || err->errnum == ESRCH)) {
		ms_error_destroy(err);
		return ms_error_create(MS_ERROR_NOT_FOUND, "no process %d", (int)pid);
	}
	return err;
}

bool ms_procfs_try_read(const char *path, char **buf_ret)
{
	struct ms_error *err = ms_procfs_read(path, buf_ret, NULL);
	if (err) {
		ms_error_destroy(err);
		return false;
	}
	return true;
}

bool ms_procfs_field_u64(const char *text, const char *key, uint64_t *value_ret)
{
	size_t klen = strlen(key);
	for (const char *line = text; line && *line;) {
		if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
			char *end;
			errno = 0;
			unsigned long long v = strtoull(line + klen + 1, &end, 10);
			if (errno || end == line + klen + 1)
				return false;
			while (*end == ' ' || *end == '\t')
				end++;
			if (strncmp(end, "kB", 2) == 0)
				v *= 1024;
			*value_ret = v;
			return true;
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	return false;
}

struct ms_error *ms_procfs_read_s64(const char *path, int64_t *value_ret)
{
	char *buf;
	struct ms_error *err = ms_procfs_read(path, &buf, NULL);
	if (err)
		return err;
	char *end;
	errno = 0;
	long long v = strtoll(buf, &end, 10);
	if (errno || end == buf) {
		free(buf);
		return ms_error_create(MS_ERROR_FORMAT, "%s: not a number", path);
	}
	free(buf);
	*value_ret = v;
	return NULL;
}

struct ms_error *ms_procfs_read_u64(const char *path, uint64_t *value_ret)
{
	int64_t v;
	struct ms_error *err = ms_procfs_read_s64(path, &v);
	if (err)
		return err;
	if (v < 0)
		return ms_error_create(MS_ERROR_FORMAT, "%s: negative value %" PRId64, path, v);
	*value_ret = (uint64_t)v;
	return NULL;
}

struct ms_error *ms_procfs_write(const char *path, const char *value)
{
	int fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return ms_error_errno(errno, "%s", path);
	size_t len = strlen(value);
	ssize_t n = write(fd, value, len);
	int saved = errno;
	close(fd);
	if (n < 0)
		return ms_error_errno(saved, "%s", path);
	if ((size_t)n != len)
		return ms_error_create(MS_ERROR_OS, "%s: short write", path);
	return NULL;
}

bool ms_procfs_pid_exists(pid_t pid)
{
	char path[32];
	snprintf(path, sizeof(path), "/proc/%d", (int)pid);
	return access(path, F_OK) == 0;
}

/* Whether every thread of pid has exited (or pid is gone). */
static bool all_threads_dead(pid_t pid)
{
	pid_t *tids;
	size_t n;
	struct ms_error *err = ms_procfs_thread_ids(pid, &tids, &n);
	if (err) {
		ms_error_destroy(err);
		return !ms_procfs_pid_exists(pid);
	}
	bool dead = true;
	for (size_t i = 0; i < n && dead; i++) {
		char name[17], state = 0;
		if (ms_procfs_thread_stat(pid, tids[i], name, &state))
			dead = state == 'Z' || state == 'X';
	}
	free(tids);
	return dead;
}

bool ms_procfs_process_gone(pid_t pid, int wait_ms)
{
	for (int waited = 0;; waited++) {
		if (all_threads_dead(pid))
			return true;
		if (waited >= wait_ms)
			return false;
		struct timespec ts = {0, 1000000L};
		nanosleep(&ts, NULL);
	}
}

struct ms_error *ms_procfs_ids(const char *path, pid_t **ids_ret, size_t *count_ret)
{
	DIR *dir = opendir(path);
	if (!dir)
		return errno == ENOENT ? ms_error_create(MS_ERROR_NOT_FOUND, "%s: gone", path)
				       : ms_error_errno(errno, "%s", path);
	pid_t *ids = NULL;
	size_t n = 0, cap = 0;
	struct ms_error *err = NULL;
	struct dirent *de;
	while ((de = readdir(dir))) {
		char *end;
		long v = strtol(de->d_name, &end, 10);
		if (de->d_name[0] < '1' || de->d_name[0] > '9' || *end || v <= 0)
			continue;
		pid_t *grown = ms_grow(ids, n, &cap, sizeof(*grown), 64);
		if (!grown) {
			err = &ms_error_no_memory;
			break;
		}
		ids = grown;
		ids[n++] = (pid_t)v;
	}
	closedir(dir);
	if (err) {
		free(ids);
		return err;
	}
	*ids_ret = ids;
	*count_ret = n;
	return NULL;
}

struct ms_error *ms_procfs_thread_ids(pid_t pid, pid_t **tids_ret, size_t *count_ret)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	struct ms_error *err = ms_procfs_ids(path, tids_ret, count_ret);
	if (err && err->code == MS_ERROR_NOT_FOUND) {
		ms_error_destroy(err);
		return ms_error_create(MS_ERROR_NOT_FOUND, "no process %d", (int)pid);
	}
	return err;
}

bool ms_procfs_thread_stat(pid_t pid, pid_t tid, char name[17], char *state_ret)
{
	char path[64], *stat;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/stat", (int)pid, (int)tid);
	struct ms_error *err = ms_procfs_read(path, &stat, NULL);
	if (err) {
		ms_error_destroy(err);
		return false;
	}
	/* "tid (comm) S ...": comm may hold spaces and parentheses */
	char *open = strchr(stat, '('), *close = strrchr(stat, ')');
	if (open && close && close > open) {
		size_t n = (size_t)(close - open - 1);
		if (n > 16)
			n = 16;
		memcpy(name, open + 1, n);
		name[n] = '\0';
		if (close[1] == ' ')
			*state_ret = close[2];
	}
	free(stat);
	return true;
}
