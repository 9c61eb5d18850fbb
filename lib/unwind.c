/* SPDX-License-Identifier: MIT */
/*
 * Snapshots of live stacks and the libdwfl walk over them.
 *
 * Why our own dwfl_attach_state callbacks rather than
 * dwfl_linux_proc_attach: libdwfl's live attach keeps every thread stopped
 * for the whole walk (it reads registers and memory through ptrace as it
 * goes), which is what makes eu-stack stop a process for tens of
 * milliseconds. Copying registers and stacks while frozen, then walking the
 * copy, bounds the stop to a few system calls per thread. Cores use the same
 * callbacks over the core's registers and memory, so both kinds of target
 * unwind the same way.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "freeze.h"
#include "procfs.h"
#include "unwind.h"

enum {
	DEFAULT_STACK_CAP = 512 << 10,
	/* all threads together; past it each thread still gets its top 64 KiB */
	TOTAL_STACK_CAP = 64 << 20,
	MIN_STACK_COPY = 64 << 10,
	RED_ZONE = 128,
	DEFAULT_MAX_FRAMES = 4096,
};

struct stack_copy {
	uint64_t start;
	size_t len;
	uint8_t *data;
};

struct ms_unwind_snapshot {
	struct ms_target *target;
	struct ms_thread_list *threads;
	struct stack_copy *stacks; /* one per thread */
	double frozen;
	size_t bytes;
	pid_t *gone;
	size_t ngone;
	pid_t *listed;
	size_t nlisted;
};

/* ---- the snapshot ---- */

struct ms_error *ms_unwind_snapshot_take(struct ms_target *target,
					 const struct ms_unwind_options *opts,
					 struct ms_unwind_snapshot **snap_ret)
{
	pid_t pid = ms_target_pid(target);
	size_t cap = opts && opts->stack_cap ? opts->stack_cap : DEFAULT_STACK_CAP;
	pid_t only = opts ? opts->tid : 0;
	struct ms_unwind_snapshot *snap = calloc(1, sizeof(*snap));
	if (!snap)
		return &ms_error_no_memory;
	snap->target = target;
	struct ms_freeze *freeze = NULL;
	pid_t *before = NULL;
	size_t nbefore = 0;

	/* Everything that can be read before the freeze is read before it. */
	const struct ms_maps *maps;
	ms_target_refresh(target);
	struct ms_error *err = ms_target_maps(target, MS_MAPS_BASIC, &maps);
	if (err)
		goto fail;
	err = ms_procfs_thread_ids(pid, &before, &nbefore);
	if (err)
		goto fail;

	err = ms_freeze_create(pid, &freeze);
	if (err)
		goto fail;
	size_t count = ms_freeze_count(freeze);
	snap->threads = calloc(1, sizeof(*snap->threads));
	snap->stacks = calloc(count ? count : 1, sizeof(*snap->stacks));
	if (snap->threads)
		snap->threads->threads = calloc(count ? count : 1, sizeof(struct ms_thread));
	if (!snap->threads || !snap->stacks || !snap->threads->threads) {
		err = &ms_error_no_memory;
		goto fail;
	}
	unsigned what = MS_CAPTURE_REGS | (opts && opts->fpregs ? MS_CAPTURE_FPREGS : 0);
	if (opts && opts->full_state)
		what = MS_CAPTURE_ALL;
	for (size_t i = 0; i < count; i++) {
		if (only && ms_freeze_tid(freeze, i) != only)
			continue;
		struct ms_thread *th = &snap->threads->threads[snap->threads->count];
		err = ms_freeze_capture(freeze, i, what, th);
		if (err) {
			/* Killed while stopped (SIGKILL ends a ptrace stop): skip it. */
			ms_error_destroy(err);
			err = NULL;
			continue;
		}
		struct stack_copy *sc = &snap->stacks[snap->threads->count];
		snap->threads->count++;
		uint64_t sp = th->regs.rsp;
		const struct ms_vma *vma = ms_maps_find(maps, sp);
		if (!vma)
			continue; /* not on a known mapping: read live later */
		uint64_t start =
			sp - RED_ZONE < vma->start || sp < RED_ZONE ? vma->start : sp - RED_ZONE;
		uint64_t end = vma->end;
		size_t this_cap = cap;
		if (snap->bytes >= TOTAL_STACK_CAP)
			this_cap = MIN_STACK_COPY;
		else if (this_cap > TOTAL_STACK_CAP - snap->bytes)
			this_cap = TOTAL_STACK_CAP - snap->bytes;
		if (this_cap < MIN_STACK_COPY)
			this_cap = MIN_STACK_COPY;
		if (end - start > this_cap)
			end = start + this_cap;
		sc->data = malloc(end - start);
		if (!sc->data)
			continue;
		struct iovec local = {.iov_base = sc->data, .iov_len = end - start};
		struct iovec remote = {.iov_base = (void *)(uintptr_t)start,
				       .iov_len = end - start};
		ssize_t n = process_vm_readv(pid, &local, 1, &remote, 1, 0);
		if (n <= 0) {
			free(sc->data);
			sc->data = NULL;
			continue;
		}
		sc->start = start;
		sc->len = (size_t)n;
		snap->bytes += (size_t)n;
	}
	ms_freeze_release(freeze);
	snap->frozen = ms_freeze_seconds(freeze);

	snap->listed = malloc((nbefore ? nbefore : 1) * sizeof(*snap->listed));
	if (snap->listed) {
		memcpy(snap->listed, before, nbefore * sizeof(*before));
		snap->nlisted = nbefore;
	}
	/* Threads that were listed but never stopped exited meanwhile. */
	for (size_t i = 0; i < nbefore; i++) {
		if (only && before[i] != only)
			continue;
		bool found = false;
		for (size_t j = 0; j < count && !found; j++)
			found = ms_freeze_tid(freeze, j) == before[i];
		if (!found)
			before[snap->ngone++] = before[i];
	}
	snap->gone = before;
	before = NULL;
	ms_freeze_destroy(freeze);
	*snap_ret = snap;
	return NULL;
fail:
	ms_freeze_destroy(freeze);
	free(before);
	ms_unwind_snapshot_destroy(snap);
	return err;
}

void ms_unwind_snapshot_destroy(struct ms_unwind_snapshot *snap)
{
	if (!snap)
		return;
	if (snap->threads && snap->stacks)
		for (size_t i = 0; i < snap->threads->count; i++)
			free(snap->stacks[i].data);
	free(snap->stacks);
	ms_thread_list_destroy(snap->threads);
	free(snap->gone);
	free(snap->listed);
	free(snap);
}

const struct ms_thread_list *ms_unwind_snapshot_threads(const struct ms_unwind_snapshot *snap)
{
	return snap->threads;
}

double ms_unwind_snapshot_frozen(const struct ms_unwind_snapshot *snap)
{
	return snap->frozen;
}

size_t ms_unwind_snapshot_bytes(const struct ms_unwind_snapshot *snap)
{
	return snap->bytes;
}

size_t ms_unwind_snapshot_listed(const struct ms_unwind_snapshot *snap, const pid_t **tids_ret)
{
	*tids_ret = snap->listed;
	return snap->nlisted;
}

size_t ms_unwind_snapshot_gone(const struct ms_unwind_snapshot *snap, const pid_t **tids_ret)
{
	*tids_ret = snap->gone;
	return snap->ngone;
}

static struct ms_error *snapshot_read(void *arg, uint64_t addr, void *buf, size_t len)
{
	struct ms_unwind_snapshot *snap = arg;
	for (size_t i = 0; i < snap->threads->count; i++) {
		const struct stack_copy *sc = &snap->stacks[i];
		if (sc->data && addr >= sc->start && addr - sc->start < sc->len &&
		    len <= sc->len - (addr - sc->start)) {
			memcpy(buf, sc->data + (addr - sc->start), len);
			return NULL;
		}
	}
	return ms_target_read(snap->target, addr, buf, len, 0, NULL);
}

struct ms_dwarf_memory ms_unwind_snapshot_memory(struct ms_unwind_snapshot *snap)
{
	return (struct ms_dwarf_memory){.read = snapshot_read, .arg = snap};
}

/* ---- the walk ---- */

struct walk {
	struct ms_dwarf_session *session;
	const struct ms_thread_list *threads;
	size_t next;
	size_t max_frames;
	struct ms_unwind_result *result;
	struct ms_unwind_thread *cur;
	uint64_t bad_addr;
	bool bad_read;
	char *stop;
};

static pid_t next_thread(Dwfl *dwfl, void *arg, void **thread_argp)
{
	(void)dwfl;
	struct walk *w = arg;
	while (w->next < w->threads->count) {
		const struct ms_thread *th = &w->threads->threads[w->next++];
		if (!th->has_regs)
			continue;
		*thread_argp = (void *)th;
		return th->tid;
	}
	return 0;
}

static bool memory_read(Dwfl *dwfl, Dwarf_Addr addr, Dwarf_Word *result, void *arg)
{
	(void)dwfl;
	struct walk *w = arg;
	uint64_t word;
	struct ms_error *err = ms_dwarf_read(w->session, addr, &word, sizeof(word));
	if (err) {
		ms_error_destroy(err);
		w->bad_read = true;
		w->bad_addr = addr;
		return false;
	}
	*result = word;
	return true;
}

static void user_regs_to_dwarf(const struct user_regs_struct *r, Dwarf_Word *d)
{
	d[0] = r->rax;
	d[1] = r->rdx;
	d[2] = r->rcx;
	d[3] = r->rbx;
	d[4] = r->rsi;
	d[5] = r->rdi;
	d[6] = r->rbp;
	d[7] = r->rsp;
	d[8] = r->r8;
	d[9] = r->r9;
	d[10] = r->r10;
	d[11] = r->r11;
	d[12] = r->r12;
	d[13] = r->r13;
	d[14] = r->r14;
	d[15] = r->r15;
	d[16] = r->rip;
}

static bool set_initial_registers(Dwfl_Thread *thread, void *thread_arg)
{
	const struct ms_thread *th = thread_arg;
	Dwarf_Word regs[17];
	user_regs_to_dwarf(&th->regs, regs);
	if (!dwfl_thread_state_registers(thread, 0, 17, regs))
		return false;
	dwfl_thread_state_register_pc(thread, th->regs.rip);
	return true;
}

static const Dwfl_Thread_Callbacks callbacks = {
	.next_thread = next_thread,
	.memory_read = memory_read,
	.set_initial_registers = set_initial_registers,
};

static int frame_cb(Dwfl_Frame *state, void *arg)
{
	struct walk *w = arg;
	struct ms_unwind_thread *t = w->cur;
	Dwarf_Addr pc;
	bool activation;
	if (!dwfl_frame_pc(state, &pc, &activation))
		return DWARF_CB_ABORT;
	if (t->count >= w->max_frames) {
		t->truncated = true;
		return DWARF_CB_ABORT;
	}
	struct ms_unwind_frame *fr = realloc(t->frames, (t->count + 1) * sizeof(*fr));
	if (!fr)
		return DWARF_CB_ABORT;
	t->frames = fr;
	struct ms_unwind_frame *f = &t->frames[t->count];
	memset(f, 0, sizeof(*f));
	f->pc = pc;
	f->activation = activation;
	for (unsigned r = 0; r < MS_DWARF_NREGS; r++) {
		Dwarf_Word v;
		if (dwfl_frame_reg(state, r, &v) == 0) {
			f->regs.val[r] = v;
			f->regs.valid |= 1u << r;
		} else if (t->count > 0 && (t->frames[t->count - 1].regs.valid & (1u << r))) {
			/* Not described by the CFI: the same value as in the callee (gdb's rule). */
			f->regs.val[r] = t->frames[t->count - 1].regs.val[r];
			f->regs.valid |= 1u << r;
		}
	}
	f->regs.val[MS_DWARF_REG_RIP] = pc;
	f->regs.valid |= 1u << MS_DWARF_REG_RIP;
	if (t->count > 0) {
		struct ms_unwind_frame *inner = &t->frames[t->count - 1];
		f->regs.has_xmm = inner->regs.has_xmm;
		memcpy(f->regs.xmm, inner->regs.xmm, sizeof(f->regs.xmm));
		uint64_t sp = f->regs.val[MS_DWARF_REG_RSP],
			 isp = inner->regs.val[MS_DWARF_REG_RSP];
		bool both = (f->regs.valid & inner->regs.valid) & (1u << MS_DWARF_REG_RSP);
		if (both && sp < isp) {
			t->count++;
			w->stop = strdup("previous frame inner to this frame (corrupt stack?)");
			return DWARF_CB_ABORT;
		}
		if (both && sp == isp && pc == inner->pc) {
			w->stop = strdup("previous frame identical to this frame (corrupt stack?)");
			return DWARF_CB_ABORT;
		}
	}
	t->count++;
	return DWARF_CB_OK;
}

/* Whether the CFI covering pc says it is a signal frame ('S' augmentation). */
static bool is_signal_frame(struct ms_dwarf_session *session, uint64_t pc)
{
	Dwfl_Module *mod = dwfl_addrmodule(ms_dwarf_session_dwfl(session), pc);
	if (!mod)
		return false;
	Dwarf_Addr bias;
	Dwarf_CFI *cfis[2] = {dwfl_module_eh_cfi(mod, &bias), NULL};
	Dwarf_Addr biases[2] = {bias, 0};
	cfis[1] = dwfl_module_dwarf_cfi(mod, &biases[1]);
	for (int i = 0; i < 2; i++) {
		Dwarf_Frame *fr;
		if (!cfis[i] || dwarf_cfi_addrframe(cfis[i], pc - biases[i], &fr) != 0)
			continue;
		bool signalp = false;
		dwarf_frame_info(fr, NULL, NULL, &signalp);
		free(fr);
		return signalp;
	}
	return false;
}

/*
 * libdwfl marks both a signal frame and the handler below it as
 * activations; what matters is which frame is the signal frame, and that
 * the frame it interrupted has an exact pc.
 */
static void mark_signal_frames(struct ms_dwarf_session *session, struct ms_unwind_thread *t)
{
	for (size_t i = 0; i < t->count; i++) {
		struct ms_unwind_frame *f = &t->frames[i];
		f->signal = i > 0 && is_signal_frame(session, f->pc - 1);
		f->activation = i == 0 || t->frames[i - 1].signal;
	}
}

static int thread_cb(Dwfl_Thread *thread, void *arg)
{
	struct walk *w = arg;
	pid_t tid = dwfl_thread_tid(thread);
	const struct ms_thread *th = NULL;
	for (size_t i = 0; i < w->threads->count; i++)
		if (w->threads->threads[i].tid == tid)
			th = &w->threads->threads[i];
	struct ms_unwind_thread *t = &w->result->threads[w->result->count++];
	memset(t, 0, sizeof(*t));
	t->tid = tid;
	if (th) {
		memcpy(t->name, th->name, sizeof(t->name));
		t->thread_pointer = th->regs.fs_base;
	}
	w->cur = t;
	w->bad_read = false;
	w->stop = NULL;
	int r = dwfl_thread_getframes(thread, frame_cb, w);
	mark_signal_frames(w->session, t);
	if (t->count && th && th->has_fpregs) {
		t->frames[0].regs.has_xmm = true;
		memcpy(t->frames[0].regs.xmm, th->fpregs.xmm_space, sizeof(t->frames[0].regs.xmm));
		for (size_t i = 1; i < t->count; i++) {
			t->frames[i].regs.has_xmm = true;
			memcpy(t->frames[i].regs.xmm, th->fpregs.xmm_space,
			       sizeof(t->frames[i].regs.xmm));
		}
	}
	if (w->stop) {
		t->stopped = w->stop;
	} else if (r != 0 && !t->truncated) {
		/* libdwfl ends a walk at the outermost frame without error. */
		char buf[160];
		const char *why = dwfl_errmsg(-1);
		Dwfl_Module *mod = t->count ? dwfl_addrmodule(ms_dwarf_session_dwfl(w->session),
							      t->frames[t->count - 1].pc - 1)
					    : NULL;
		Dwarf_Addr bias;
		if (w->bad_read)
			snprintf(buf, sizeof(buf), "Cannot access memory at address 0x%llx",
				 (unsigned long long)w->bad_addr);
		else if (t->count && (!mod || (!dwfl_module_eh_cfi(mod, &bias) &&
					       !dwfl_module_dwarf_cfi(mod, &bias))))
			snprintf(buf, sizeof(buf), "no unwind information at 0x%llx (%s)",
				 (unsigned long long)t->frames[t->count - 1].pc, why);
		else
			snprintf(buf, sizeof(buf), "%s", why);
		t->stopped = strdup(buf);
	}
	return DWARF_CB_OK;
}

struct ms_error *ms_unwind_threads(struct ms_dwarf_session *session,
				   const struct ms_thread_list *threads, pid_t pid,
				   size_t max_frames, struct ms_unwind_result **result_ret)
{
	struct ms_unwind_result *res = calloc(1, sizeof(*res));
	if (!res)
		return &ms_error_no_memory;
	res->threads = calloc(threads->count ? threads->count : 1, sizeof(*res->threads));
	if (!res->threads) {
		free(res);
		return &ms_error_no_memory;
	}
	struct walk w = {
		.session = session,
		.threads = threads,
		.max_frames = max_frames ? max_frames : DEFAULT_MAX_FRAMES,
		.result = res,
	};
	Dwfl *dwfl = ms_dwarf_session_dwfl(session);
	if (!dwfl_attach_state(dwfl, NULL, pid, &callbacks, &w)) {
		struct ms_error *err =
			ms_error_create(MS_ERROR_DWARF, "dwfl_attach_state: %s", dwfl_errmsg(-1));
		ms_unwind_result_destroy(res);
		return err;
	}
	int r = dwfl_getthreads(dwfl, thread_cb, &w);
	if (r != 0 && r != DWARF_CB_ABORT && res->count == 0) {
		struct ms_error *err =
			ms_error_create(MS_ERROR_DWARF, "dwfl_getthreads: %s", dwfl_errmsg(-1));
		ms_unwind_result_destroy(res);
		return err;
	}
	*result_ret = res;
	return NULL;
}

void ms_unwind_result_destroy(struct ms_unwind_result *res)
{
	if (!res)
		return;
	for (size_t i = 0; i < res->count; i++) {
		free(res->threads[i].frames);
		free(res->threads[i].stopped);
	}
	free(res->threads);
	free(res);
}

struct ms_error *ms_unwind_add_tailcalls(struct ms_dwarf_session *session,
					 struct ms_unwind_thread *t)
{
	for (size_t i = 0; i + 1 < t->count; i++) {
		uint64_t pcs[8];
		size_t n = ms_dwarf_tailcalls(session, t->frames[i].pc, t->frames[i].activation,
					      t->frames[i + 1].pc, pcs, 8);
		if (!n)
			continue;
		struct ms_unwind_frame *grown = realloc(t->frames, (t->count + n) * sizeof(*grown));
		if (!grown)
			return &ms_error_no_memory;
		t->frames = grown;
		memmove(&t->frames[i + 1 + n], &t->frames[i + 1],
			(t->count - i - 1) * sizeof(*grown));
		for (size_t k = 0; k < n; k++) {
			struct ms_unwind_frame *f = &t->frames[i + 1 + k];
			*f = t->frames[i + 1 + n];
			f->pc = pcs[k];
			f->activation = false;
			f->tailcall = true;
			f->signal = false;
			f->regs.val[MS_DWARF_REG_RIP] = pcs[k];
		}
		t->count += n;
		i += n;
	}
	return NULL;
}

enum { FRAMES_PER_PHYSICAL = 32 };

struct ms_error *ms_unwind_logical_frames(struct ms_dwarf_session *session,
					  const struct ms_unwind_thread *t,
					  struct ms_dwarf_frame **frames_ret, size_t *count_ret)
{
	/*
	 * Every logical frame first, then the links: entry values look
	 * through a frame's callers (tail calls and entry values nest), and
	 * the array moves while it grows.
	 */
	struct ms_dwarf_frame *all = NULL;
	size_t nall = 0, cap = 0;
	size_t *group = calloc(t->count + 1, sizeof(*group)); /* first logical frame of each */
	struct ms_dwarf_frame tmp[FRAMES_PER_PHYSICAL];
	struct ms_error *err = group ? NULL : &ms_error_no_memory;
	for (size_t i = 0; !err && i < t->count; i++) {
		group[i] = nall;
		const struct ms_unwind_frame *uf = &t->frames[i];
		size_t n = 0;
		struct ms_error *ferr =
			ms_dwarf_frames_at(session, uf->pc, uf->activation, &uf->regs, (int)i, tmp,
					   FRAMES_PER_PHYSICAL, &n);
		if (ferr) {
			ms_error_destroy(ferr);
			n = 0;
		}
		if (nall + n > cap) {
			size_t ncap = (nall + n) * 2;
			struct ms_dwarf_frame *grown = realloc(all, ncap * sizeof(*grown));
			if (!grown) {
				for (size_t k = 0; k < n; k++)
					ms_dwarf_frame_deinit(&tmp[k]);
				err = &ms_error_no_memory;
				break;
			}
			all = grown;
			cap = ncap;
		}
		memcpy(&all[nall], tmp, n * sizeof(tmp[0]));
		nall += n;
		group[i + 1] = nall;
	}
	if (err) {
		ms_unwind_frames_destroy(all, nall);
		free(group);
		return err;
	}
	for (size_t i = 0; i < t->count; i++) {
		size_t lo = group[i], hi = group[i + 1];
		struct ms_dwarf_frame *caller = i + 1 < t->count && group[i + 2] > group[i + 1]
							? &all[group[i + 2] - 1]
							: NULL;
		for (size_t k = lo; k < hi; k++) {
			all[k].outer = k + 1 < hi ? &all[k + 1] : NULL;
			all[k].caller = caller;
		}
	}
	free(group);
	*frames_ret = all;
	*count_ret = nall;
	return NULL;
}

void ms_unwind_frames_destroy(struct ms_dwarf_frame *frames, size_t count)
{
	for (size_t k = 0; k < count; k++)
		ms_dwarf_frame_deinit(&frames[k]);
	free(frames);
}
