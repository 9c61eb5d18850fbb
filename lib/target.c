/* SPDX-License-Identifier: MIT */
#include "target_impl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ms_error *ms_target_alloc(const struct ms_target_ops *ops, enum ms_target_kind kind,
				 struct ms_target **target_ret)
{
	struct ms_target *t = calloc(1, sizeof(*t));
	if (!t)
		return &ms_error_no_memory;
	t->ops = ops;
	t->kind = kind;
	*target_ret = t;
	return NULL;
}

void ms_target_destroy(struct ms_target *target)
{
	if (!target)
		return;
	if (target->ops->destroy)
		target->ops->destroy(target);
	ms_maps_destroy(target->maps);
	free(target->exe);
	free(target->core_path);
	free(target);
}

enum ms_target_kind ms_target_kind(const struct ms_target *target)
{
	return target->kind;
}

pid_t ms_target_pid(const struct ms_target *target)
{
	return target->pid;
}

pid_t ms_target_given_tid(const struct ms_target *target)
{
	return target->given_tid;
}

pid_t ms_target_exited_leader(const struct ms_target *target)
{
	return target->exited_leader;
}

const char *ms_target_comm(const struct ms_target *target)
{
	return target->comm;
}

const char *ms_target_exe(const struct ms_target *target)
{
	return target->exe;
}

const char *ms_target_describe(const struct ms_target *target)
{
	return target->describe;
}

const char *ms_target_core_path(const struct ms_target *target)
{
	return target->core_path;
}

struct ms_error *ms_target_read(struct ms_target *target, uint64_t addr, void *buf, size_t len,
				unsigned flags, size_t *done_ret)
{
	size_t done = 0;
	struct ms_error *err = target->ops->read(target, addr, buf, len, flags, &done);
	if (done_ret)
		*done_ret = done;
	return err;
}

struct ms_error *ms_target_maps(struct ms_target *target, enum ms_maps_detail detail,
				const struct ms_maps **maps_ret)
{
	if (target->maps && target->maps_detail >= detail) {
		*maps_ret = target->maps;
		return NULL;
	}
	struct ms_maps *maps;
	struct ms_error *err = target->ops->load_maps(target, detail, &maps);
	if (err)
		return err;
	ms_maps_destroy(target->maps);
	target->maps = maps;
	target->maps_detail = detail;
	*maps_ret = maps;
	return NULL;
}

void ms_target_refresh(struct ms_target *target)
{
	if (target->kind != MS_TARGET_LIVE)
		return;
	ms_maps_destroy(target->maps);
	target->maps = NULL;
}

struct ms_error *ms_target_threads(struct ms_target *target, bool with_regs,
				   struct ms_thread_list **threads_ret)
{
	return target->ops->threads(target, with_regs, threads_ret);
}

struct ms_error *ms_target_auxv(struct ms_target *target, void **auxv_ret, size_t *size_ret)
{
	return target->ops->auxv(target, auxv_ret, size_ret);
}

void ms_thread_list_destroy(struct ms_thread_list *list)
{
	if (!list)
		return;
	for (size_t i = 0; i < list->count; i++)
		free(list->threads[i].xstate);
	free(list->threads);
	free(list);
}
