/* SPDX-License-Identifier: MIT */
/*
 * What a target backend provides. Private to libmemscope: the commands use
 * target.h only. The live backend is target_live.c; a core file's backend
 * provides the same operations.
 */
#ifndef MEMSCOPE_TARGET_IMPL_H
#define MEMSCOPE_TARGET_IMPL_H

#include "target.h"

struct ms_target_ops {
	void (*destroy)(struct ms_target *target);
	struct ms_error *(*read)(struct ms_target *target, uint64_t addr, void *buf, size_t len,
				 unsigned flags, size_t *done_ret);
	struct ms_error *(*load_maps)(struct ms_target *target, enum ms_maps_detail detail,
				      struct ms_maps **maps_ret);
	struct ms_error *(*threads)(struct ms_target *target, bool with_regs,
				    struct ms_thread_list **threads_ret);
	struct ms_error *(*auxv)(struct ms_target *target, void **auxv_ret, size_t *size_ret);
};

struct ms_target {
	const struct ms_target_ops *ops;
	enum ms_target_kind kind;
	pid_t pid;
	pid_t given_tid;     /* a thread id given for its process, else 0 */
	pid_t exited_leader; /* the process, when read through pid: its main thread exited */
	char comm[17];
	char *exe;	 /* heap, or NULL */
	char *core_path; /* heap, cores only */
	char describe[300];
	struct ms_maps *maps; /* cache */
	enum ms_maps_detail maps_detail;
	void *priv; /* backend state */
};

/* Allocate a target with the common fields set; the backend fills priv. */
struct ms_error *ms_target_alloc(const struct ms_target_ops *ops, enum ms_target_kind kind,
				 struct ms_target **target_ret);

#endif
