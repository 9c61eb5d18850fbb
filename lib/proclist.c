/* SPDX-License-Identifier: MIT */
#include "proclist.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "procfs.h"

/* PF_KTHREAD in include/linux/sched.h */
#define KTHREAD_FLAG 0x00200000u

static int pid_cmp(const void *a, const void *b)
{
	pid_t x = *(const pid_t *)a, y = *(const pid_t *)b;
	return x < y ? -1 : x > y;
}

/* ps lists by id */
static void sort_ids(pid_t *ids, size_t n)
{
	if (n > 1) /* an empty list has no array: qsort(NULL) is undefined */
		qsort(ids, n, sizeof(*ids), pid_cmp);
}

struct ms_error *ms_proc_list(pid_t **pids_ret, size_t *count_ret)
{
	struct ms_error *err = ms_procfs_ids("/proc", pids_ret, count_ret);
	if (!err)
		sort_ids(*pids_ret, *count_ret);
	return err;
}

struct ms_error *ms_proc_threads(pid_t pid, pid_t **tids_ret, size_t *count_ret)
{
	struct ms_error *err = ms_procfs_thread_ids(pid, tids_ret, count_ret);
	if (!err)
		sort_ids(*tids_ret, *count_ret);
	return err;
}

static struct ms_error *read_file(pid_t pid, pid_t tid, const char *name, char **buf_ret)
{
	if (!tid || tid == pid)
		return ms_procfs_read_pid(pid, name, buf_ret, NULL);
	char sub[48];
	snprintf(sub, sizeof(sub), "task/%d/%s", (int)tid, name);
	return ms_procfs_read_pid(pid, sub, buf_ret, NULL);
}

static bool parse_stat(const char *text, struct ms_procinfo *info)
{
	const char *open = strchr(text, '('), *close = strrchr(text, ')');
	if (!open || !close || close < open || close[1] != ' ')
		return false;
	size_t n = (size_t)(close - open - 1);
	if (n > 16)
		n = 16;
	memcpy(info->comm, open + 1, n);
	info->comm[n] = '\0';
	/* fields from 3 (state) on, numbered as in proc(5) */
	const char *p = close + 2;
	unsigned long long field[53] = {0};
	info->state = *p;
	p++;
	for (int i = 4; i <= 52 && *p; i++) {
		while (*p == ' ')
			p++;
		char *end;
		field[i] = strtoull(p, &end, 10);
		if (end == p) {
			/* negative numbers (priority, nice) parse as signed */
			long long s = strtoll(p, &end, 10);
			if (end == p)
				break;
			field[i] = (unsigned long long)s;
		}
		p = end;
	}
	info->ppid = (pid_t)field[4];
	info->kernel_thread = (field[9] & KTHREAD_FLAG) != 0;
	info->threads = (int)field[20];
	info->vsz = field[23];
	info->cpu = (int)field[39];
	return true;
}

bool ms_proc_parse_rollup(const char *text, struct ms_vma_usage *u)
{
	memset(u, 0, sizeof(*u));
	bool any = false;
	for (const char *line = text; *line;) {
		const char *end = strchr(line, '\n');
		if (!end)
			end = line + strlen(line);
		/* the counters as smaps' parser reads them: maps' one table */
		if (ms_vma_usage_parse_line(u, line, (size_t)(end - line)) &&
		    strncmp(line, "Rss:", 4) == 0)
			any = true;
		line = *end ? end + 1 : end;
	}
	return any;
}

struct ms_error *ms_proc_read(pid_t pid, pid_t tid, unsigned what, struct ms_procinfo *info)
{
	memset(info, 0, sizeof(*info));
	info->pid = pid;
	info->tid = tid ? tid : pid;
	char *text;
	struct ms_error *err;
	if (what & MS_PROC_STAT) {
		err = read_file(pid, tid, "stat", &text);
		if (err)
			return err;
		bool ok = parse_stat(text, info);
		free(text);
		if (!ok)
			return ms_error_create(MS_ERROR_FORMAT, "/proc/%d/stat: cannot parse",
					       (int)pid);
		err = read_file(pid, tid, "status", &text);
		if (err)
			return err;
		uint64_t uid = 0;
		const char *line = strstr(text, "\nUid:");
		if (line)
			uid = strtoull(line + 5, NULL, 10);
		info->uid = (uid_t)uid;
		ms_procfs_field_u64(text, "VmRSS", &info->rss);
		ms_procfs_field_u64(text, "RssAnon", &info->rss_anon);
		ms_procfs_field_u64(text, "RssFile", &info->rss_file);
		ms_procfs_field_u64(text, "RssShmem", &info->rss_shmem);
		ms_procfs_field_u64(text, "VmSwap", &info->swap);
		free(text);
	}
	if ((what & MS_PROC_ROLLUP) && !info->kernel_thread) {
		err = read_file(pid, 0, "smaps_rollup", &text);
		if (err) {
			if (err->code == MS_ERROR_PERMISSION) {
				ms_error_destroy(err);
				info->rollup_denied = true;
				return NULL;
			}
			return err;
		}
		info->has_rollup = ms_proc_parse_rollup(text, &info->rollup);
		free(text);
	}
	return NULL;
}

struct ms_error *ms_proc_each(const char *name, unsigned flags, ms_proc_each_fn *fn, void *arg,
			      size_t *unreadable_ret)
{
	pid_t *pids;
	size_t n;
	struct ms_error *err = ms_proc_list(&pids, &n);
	if (err)
		return err;
	pid_t self = getpid();
	bool stop = false;
	for (size_t i = 0; i < n && !err && !stop; i++) {
		if ((flags & MS_PROC_EACH_OTHERS) && pids[i] == self)
			continue;
		char *text;
		struct ms_error *e = ms_procfs_read_pid(pids[i], name, &text, NULL);
		if (e) {
			/* gone meanwhile, or another user's process without root */
			if (e->code != MS_ERROR_NOT_FOUND && unreadable_ret)
				++*unreadable_ret;
			ms_error_destroy(e);
			continue;
		}
		err = fn(arg, pids[i], text, &stop);
		free(text);
	}
	free(pids);
	return err;
}

bool ms_proc_comm(pid_t pid, char comm[17])
{
	char *text;
	comm[0] = '\0';
	struct ms_error *err = ms_procfs_read_pid(pid, "comm", &text, NULL);
	if (err) {
		ms_error_destroy(err);
		return false;
	}
	text[strcspn(text, "\n")] = '\0';
	snprintf(comm, 17, "%s", text);
	free(text);
	return true;
}

void ms_proc_status_name(const char *status, char comm[17])
{
	comm[0] = '\0';
	const char *name = strstr(status, "Name:");
	if (!name)
		return;
	name += 5;
	while (*name == ' ' || *name == '\t')
		name++;
	size_t n = strcspn(name, "\n");
	if (n > 16)
		n = 16;
	memcpy(comm, name, n);
	comm[n] = '\0';
}

bool ms_proc_alive(pid_t pid)
{
	char *text;
	struct ms_error *err = read_file(pid, 0, "stat", &text);
	if (err) {
		bool gone = err->code == MS_ERROR_NOT_FOUND;
		ms_error_destroy(err);
		return !gone;
	}
	struct ms_procinfo info = {0};
	bool parsed = parse_stat(text, &info);
	free(text);
	if (!parsed)
		return true;
	/* a process on its way out has lost its memory before it is a zombie */
	return info.state != 'Z' && info.state != 'X' && (info.vsz || info.kernel_thread);
}
