/* SPDX-License-Identifier: MIT */
/*
 * The mappings (VMAs) of a target: parsed from /proc/PID/maps and, on
 * request, /proc/PID/smaps (kernel VM_* flags, RSS breakdown); a core file's
 * backend fills the same structure from PT_LOAD and NT_FILE. Page-level
 * detail is pagemap's business; this module only knows whole mappings.
 */
#ifndef MEMSCOPE_MAPS_H
#define MEMSCOPE_MAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "error.h"

enum ms_prot {
	MS_PROT_READ = 1 << 0,
	MS_PROT_WRITE = 1 << 1,
	MS_PROT_EXEC = 1 << 2,
	MS_PROT_SHARED = 1 << 3, /* 's' in maps; 'p' (private) otherwise */
};

/* The kernel's VM_* bits (include/linux/mm.h), recovered from smaps VmFlags. */
enum ms_vm_flag {
	MS_VM_READ = 0x1,
	MS_VM_WRITE = 0x2,
	MS_VM_EXEC = 0x4,
	MS_VM_SHARED = 0x8,
	MS_VM_MAYREAD = 0x10,
	MS_VM_MAYWRITE = 0x20,
	MS_VM_MAYEXEC = 0x40,
	MS_VM_MAYSHARE = 0x80,
	MS_VM_GROWSDOWN = 0x100,
	MS_VM_UFFD_MISSING = 0x200,
	MS_VM_PFNMAP = 0x400,
	MS_VM_UFFD_WP = 0x1000,
	MS_VM_LOCKED = 0x2000,
	MS_VM_IO = 0x4000,
	MS_VM_SEQ_READ = 0x8000,
	MS_VM_RAND_READ = 0x10000,
	MS_VM_DONTCOPY = 0x20000,
	MS_VM_DONTEXPAND = 0x40000,
	MS_VM_LOCKONFAULT = 0x80000,
	MS_VM_ACCOUNT = 0x100000,
	MS_VM_NORESERVE = 0x200000,
	MS_VM_HUGETLB = 0x400000,
	MS_VM_SYNC = 0x800000,
	MS_VM_ARCH_1 = 0x1000000,
	MS_VM_WIPEONFORK = 0x2000000,
	MS_VM_DONTDUMP = 0x4000000,
	MS_VM_SOFTDIRTY = 0x8000000,
	MS_VM_MIXEDMAP = 0x10000000,
	MS_VM_HUGEPAGE = 0x20000000,
	MS_VM_NOHUGEPAGE = 0x40000000,
	MS_VM_MERGEABLE = 0x80000000,
};

enum ms_vma_kind {
	MS_VMA_ANON,	 /* no name: anonymous memory */
	MS_VMA_FILE,	 /* a path */
	MS_VMA_HEAP,	 /* [heap] */
	MS_VMA_STACK,	 /* [stack] or [stack:tid] */
	MS_VMA_VDSO,	 /* [vdso] */
	MS_VMA_VVAR,	 /* [vvar], [vvar_vclock] */
	MS_VMA_VSYSCALL, /* [vsyscall] */
	MS_VMA_SPECIAL,	 /* any other bracketed name: [anon:x], [uprobes], ... */
};

/* smaps counters, in bytes; valid when has_smaps. */
struct ms_vma_usage {
	uint64_t rss, pss, shared_clean, shared_dirty, private_clean, private_dirty;
	uint64_t referenced, anonymous, ksm, lazyfree, anon_huge, shmem_pmd, file_pmd;
	uint64_t shared_hugetlb, private_hugetlb, swap, swap_pss, locked;
	unsigned thp_eligible; /* THPeligible: 0/1 */
};

struct ms_vma {
	uint64_t start, end; /* [start, end) */
	uint32_t prot;	     /* enum ms_prot */
	uint64_t offset;     /* file offset of start (pgoff << PAGE_SHIFT) */
	uint32_t dev_major, dev_minor;
	uint64_t inode;
	char *name;   /* path or [special] name; NULL for anonymous */
	bool deleted; /* the file was unlinked: " (deleted)" stripped from name */
	enum ms_vma_kind kind;
	bool has_smaps;
	uint64_t vm_flags;	/* enum ms_vm_flag bits; from smaps or from a core */
	char vmflags_text[128]; /* VmFlags as the kernel printed it */
	struct ms_vma_usage usage;
	/* Core files: where this mapping's bytes sit in the core. */
	uint64_t core_offset, core_filesz;
	bool prot_unknown; /* core files: known only from NT_FILE, prot not recorded */
};

struct ms_maps {
	struct ms_vma *vmas; /* sorted by start, non-overlapping */
	size_t count;
	size_t capacity;
};

enum ms_maps_detail {
	MS_MAPS_BASIC, /* /proc/PID/maps: cheap */
	MS_MAPS_SMAPS, /* /proc/PID/smaps: flags and usage; walks page tables */
};

struct ms_error *ms_maps_read_pid(pid_t pid, enum ms_maps_detail detail, struct ms_maps **maps_ret);
/* Parse maps or smaps text (from /proc or a recorded file). */
struct ms_error *ms_maps_parse(const char *text, struct ms_maps **maps_ret);

struct ms_maps *ms_maps_create(void);
void ms_maps_destroy(struct ms_maps *maps);
/* Append a copy of vma (name is duplicated); the caller keeps order or sorts. */
struct ms_error *ms_maps_append(struct ms_maps *maps, const struct ms_vma *vma);
void ms_maps_sort(struct ms_maps *maps);

/* The mapping containing addr, or NULL. */
const struct ms_vma *ms_maps_find(const struct ms_maps *maps, uint64_t addr);
/* The first mapping ending above addr (containing it or after it), or NULL. */
const struct ms_vma *ms_maps_next(const struct ms_maps *maps, uint64_t addr);

/* "r-xp" style permissions into buf[5]. */
void ms_vma_perms(const struct ms_vma *vma, char buf[5]);
/* VM_* bits from a VmFlags line ("rd wr mr mw me ac sd"). */
uint64_t ms_vm_flags_from_text(const char *text);
/*
 * One "Key: N kB" counter line of smaps or smaps_rollup (len bytes, no
 * newline needed) into usage; false if the line holds no such counter.
 */
bool ms_vma_usage_parse_line(struct ms_vma_usage *usage, const char *line, size_t len);
/* Classify a mapping by its name. */
enum ms_vma_kind ms_vma_kind_of(const char *name);

/*
 * Open the file live process pid maps at vma, making sure it is that file
 * (the same inode; regular files only, as a mapped device may hang on
 * open): by its path, by the same path under the process's root (another
 * mount namespace), then through /proc/PID/map_files (a deleted file; needs
 * privilege). path_ret (may be NULL) gets the path opened, malloc'd. -1 if
 * none can be.
 */
int ms_vma_open_file(pid_t pid, const struct ms_vma *vma, char **path_ret);

/*
 * memscope's own vDSO: the kernel maps one image into every process, so
 * the pages a target never touched can be read from ours instead of being
 * faulted in. Its address and the size of its mapping; NULL if none.
 */
const void *ms_maps_own_vdso(size_t *size_ret);
/* Whether the mapping is backed by a file (not anonymous, not special). */
static inline bool ms_vma_is_file(const struct ms_vma *vma)
{
	return vma->kind == MS_VMA_FILE;
}

#endif
