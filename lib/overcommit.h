/* SPDX-License-Identifier: MIT */
/*
 * The kernel's commit accounting, computed as the kernel computes it:
 * vm_commit_limit() (mm/util.c), the mode 0/1/2 checks of
 * __vm_enough_memory(), which mappings are charged at all (accountable_mapping
 * in mm/vma.c, shmem_acct_size in mm/shmem.c, the MAP_NORESERVE rule of
 * do_mmap), the address-space and data limits of may_expand_vm(), and who
 * holds the commitments (VM_ACCOUNT mappings per process). Reading the raw
 * counters is sysmem's job; this module only interprets them.
 */
#ifndef MEMSCOPE_OVERCOMMIT_H
#define MEMSCOPE_OVERCOMMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"
#include "sysmem.h"

enum ms_overcommit_mode {
	MS_OVERCOMMIT_GUESS = 0,  /* heuristic */
	MS_OVERCOMMIT_ALWAYS = 1, /* never refuse */
	MS_OVERCOMMIT_NEVER = 2,  /* strict accounting */
};

/* The inputs, as the kernel has them, and what follows from them. In pages. */
struct ms_overcommit {
	unsigned mode;		       /* vm.overcommit_memory */
	uint64_t ratio;		       /* vm.overcommit_ratio, percent */
	uint64_t kbytes;	       /* vm.overcommit_kbytes; when non-zero it wins */
	uint64_t admin_reserve_kbytes; /* vm.admin_reserve_kbytes */
	uint64_t user_reserve_kbytes;  /* vm.user_reserve_kbytes */
	uint64_t page_size;

	uint64_t totalram_pages; /* MemTotal */
	uint64_t hugetlb_pages;	 /* hugetlb_total_pages(): every pool, in base pages */
	uint64_t swap_pages;	 /* SwapTotal (total_swap_pages) */
	unsigned present_cpus;	 /* num_present_cpus(), for the counter's batch */

	/* vm_commit_limit(), computed here from the inputs above. */
	uint64_t commit_limit;
	/* What /proc/meminfo says. */
	bool has_kernel_limit;
	uint64_t kernel_commit_limit; /* CommitLimit */
	bool has_committed;
	uint64_t committed; /* Committed_AS (an exact sum of the per-CPU counter) */
	/* commit_limit - committed; negative when over-committed. */
	int64_t headroom;
	/*
	 * The check reads the counter's global part only: per-CPU deltas of up
	 * to vm_committed_as_batch pages each are not in it. batch_strict is
	 * the batch in mode 2 (mm_compute_batch), slack = present_cpus * it.
	 */
	uint64_t batch_strict;
	uint64_t slack;
};

/* One line saying what a mode does. */
const char *ms_overcommit_mode_name(unsigned mode);
const char *ms_overcommit_mode_explain(unsigned mode);

/* Fill the derived fields (commit_limit, headroom, batch, slack) from the inputs. */
void ms_overcommit_compute(struct ms_overcommit *oc);
/* Read everything from the live machine (root NULL) or a recorded tree. */
struct ms_error *ms_overcommit_read(const char *root, struct ms_overcommit *oc);

/* The process that would call mmap: what the kernel's checks look at. */
struct ms_mm_info {
	pid_t pid;
	char comm[17];
	uint64_t total_vm; /* pages (VmSize) */
	uint64_t data_vm;  /* pages (VmData) */
	bool cap_sys_admin;
	uint64_t rlimit_as;   /* bytes, soft limit; UINT64_MAX when unlimited */
	uint64_t rlimit_data; /* bytes, soft limit; UINT64_MAX when unlimited */
	bool gap_known;
	uint64_t largest_gap; /* bytes: the largest free range of the address space */
	/*
	 * How much of that range the kernel's search may still refuse: a range
	 * next to the bottom of the address space comes out up to about one
	 * mmap_min_addr short (measured on 6.18). Sizes in that band are
	 * borderline.
	 */
	uint64_t gap_margin;
};

/* /proc/PID/status, limits and maps of pid (0: the calling process). */
struct ms_error *ms_mm_info_read(pid_t pid, struct ms_mm_info *mm);
/* The same from recorded text (status and limits; maps may be NULL). */
struct ms_error *ms_mm_info_parse(const char *status, const char *limits, const char *maps,
				  struct ms_mm_info *mm);

enum ms_map_flags {
	MS_MAP_SHARED = 1 << 0,	   /* MAP_SHARED | MAP_ANONYMOUS (shmem behind it) */
	MS_MAP_NORESERVE = 1 << 1, /* MAP_NORESERVE */
	MS_MAP_READONLY = 1 << 2,  /* PROT_READ only */
};

enum ms_whatif_verdict {
	MS_WHATIF_OK,
	MS_WHATIF_INVALID,	/* EINVAL: size 0 */
	MS_WHATIF_TOO_LARGE,	/* larger than the user address space */
	MS_WHATIF_NO_GAP,	/* no free range that large in the process */
	MS_WHATIF_RLIMIT_AS,	/* may_expand_vm: RLIMIT_AS */
	MS_WHATIF_RLIMIT_DATA,	/* may_expand_vm: RLIMIT_DATA */
	MS_WHATIF_HEURISTIC,	/* mode 0: more than RAM + swap */
	MS_WHATIF_COMMIT_LIMIT, /* mode 2: over the limit less reserves */
};

/* Why a mapping is or is not charged. */
enum ms_charge_rule {
	MS_CHARGE_PRIVATE_WRITABLE, /* accountable_mapping(): charged */
	MS_CHARGE_PRIVATE_READONLY, /* no VM_WRITE: not charged (until mprotect) */
	MS_CHARGE_NORESERVE,	    /* MAP_NORESERVE honoured in modes 0 and 1 */
	MS_CHARGE_NORESERVE_STRICT, /* MAP_NORESERVE ignored in mode 2: charged */
	MS_CHARGE_SHARED_ANON,	    /* shmem object: charged whole at mmap */
};

struct ms_whatif {
	uint64_t size;	/* bytes asked */
	uint64_t pages; /* PAGE_ALIGN(size) in pages */
	unsigned flags; /* enum ms_map_flags */
	bool charged;	/* goes through __vm_enough_memory */
	enum ms_charge_rule rule;
	enum ms_whatif_verdict verdict;
	bool ok;
	/* mode 0 */
	uint64_t heuristic_limit; /* totalram + swap pages */
	/* mode 2 */
	uint64_t admin_reserve; /* pages taken off, 0 for CAP_SYS_ADMIN */
	uint64_t user_reserve;	/* min(total_vm / 32, user_reserve_kbytes) pages */
	int64_t allowed;	/* commit_limit - reserves */
	uint64_t committed_after;
	/* within the counter's slack of the limit, or near the end of the largest free
	 * range: may go either way */
	bool borderline;
	uint64_t user_space; /* bytes of user address space (TASK_SIZE) */
};

/*
 * Would mmap(NULL, size, ...) with flags succeed now in the process mm
 * describes, in the mode and with the counters of oc? Mirrors the order of
 * the kernel's checks in do_mmap and mmap_region.
 */
void ms_overcommit_whatif(const struct ms_overcommit *oc, const struct ms_mm_info *mm,
			  uint64_t size, unsigned flags, struct ms_whatif *w);
const char *ms_whatif_verdict_name(enum ms_whatif_verdict v);

/* A process's commitments, from its smaps. */
struct ms_committer {
	pid_t pid;
	char comm[17];
	uint64_t committed;   /* bytes: sum of the sizes of VMAs with VM_ACCOUNT ("ac") */
	uint64_t shared_anon; /* bytes: shared anonymous VMAs without "nr" (shmem-charged) */
	uint64_t total_vm;    /* bytes: every VMA */
};

/* Sum one process's smaps text. */
void ms_committer_from_smaps(const char *smaps, struct ms_committer *c);

struct ms_committers {
	struct ms_committer *list; /* the top ones, largest committed first */
	size_t count;
	size_t processes;  /* processes read */
	size_t unreadable; /* processes whose smaps could not be read (permissions) */
	uint64_t sum;	   /* committed summed over every process read */
};

/* The top processes by committed bytes (top 0: only the totals). */
struct ms_error *ms_overcommit_committers(size_t top, struct ms_committers *c);
void ms_committers_deinit(struct ms_committers *c);

#endif
