/* SPDX-License-Identifier: MIT */
#include "maps.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "procfs.h"
#include "grow.h"

struct ms_maps *ms_maps_create(void)
{
	return calloc(1, sizeof(struct ms_maps));
}

void ms_maps_destroy(struct ms_maps *maps)
{
	if (!maps)
		return;
	for (size_t i = 0; i < maps->count; i++)
		free(maps->vmas[i].name);
	free(maps->vmas);
	free(maps);
}

struct ms_error *ms_maps_append(struct ms_maps *maps, const struct ms_vma *vma)
{
	struct ms_vma *v = ms_grow(maps->vmas, maps->count, &maps->capacity, sizeof(*v), 64);
	if (!v)
		return &ms_error_no_memory;
	maps->vmas = v;
	struct ms_vma *dst = &maps->vmas[maps->count];
	*dst = *vma;
	if (vma->name) {
		dst->name = strdup(vma->name);
		if (!dst->name)
			return &ms_error_no_memory;
	}
	maps->count++;
	return NULL;
}

static int vma_cmp(const void *a, const void *b)
{
	const struct ms_vma *x = a, *y = b;
	return x->start < y->start ? -1 : x->start > y->start;
}

void ms_maps_sort(struct ms_maps *maps)
{
	if (maps->count < 2) /* an empty list has no array: qsort(NULL) is undefined */
		return;
	qsort(maps->vmas, maps->count, sizeof(*maps->vmas), vma_cmp);
}

const struct ms_vma *ms_maps_next(const struct ms_maps *maps, uint64_t addr)
{
	size_t lo = 0, hi = maps->count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (maps->vmas[mid].end <= addr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < maps->count ? &maps->vmas[lo] : NULL;
}

const struct ms_vma *ms_maps_find(const struct ms_maps *maps, uint64_t addr)
{
	const struct ms_vma *v = ms_maps_next(maps, addr);
	return v && v->start <= addr ? v : NULL;
}

void ms_vma_perms(const struct ms_vma *vma, char buf[5])
{
	buf[0] = vma->prot & MS_PROT_READ ? 'r' : '-';
	buf[1] = vma->prot & MS_PROT_WRITE ? 'w' : '-';
	buf[2] = vma->prot & MS_PROT_EXEC ? 'x' : '-';
	buf[3] = vma->prot & MS_PROT_SHARED ? 's' : 'p';
	buf[4] = '\0';
}

enum ms_vma_kind ms_vma_kind_of(const char *name)
{
	if (!name || !*name)
		return MS_VMA_ANON;
	if (name[0] != '[')
		return MS_VMA_FILE;
	if (strcmp(name, "[heap]") == 0)
		return MS_VMA_HEAP;
	if (strncmp(name, "[stack", 6) == 0)
		return MS_VMA_STACK;
	if (strcmp(name, "[vdso]") == 0)
		return MS_VMA_VDSO;
	if (strncmp(name, "[vvar", 5) == 0)
		return MS_VMA_VVAR;
	if (strcmp(name, "[vsyscall]") == 0)
		return MS_VMA_VSYSCALL;
	return MS_VMA_SPECIAL;
}

/* The two-letter VmFlags mnemonics of fs/proc/task_mmu.c, by bit. */
static const struct {
	char name[3];
	uint64_t bit;
} vm_flag_names[] = {
	{"rd", MS_VM_READ},	  {"wr", MS_VM_WRITE},	     {"ex", MS_VM_EXEC},
	{"sh", MS_VM_SHARED},	  {"mr", MS_VM_MAYREAD},     {"mw", MS_VM_MAYWRITE},
	{"me", MS_VM_MAYEXEC},	  {"ms", MS_VM_MAYSHARE},    {"gd", MS_VM_GROWSDOWN},
	{"pf", MS_VM_PFNMAP},	  {"lo", MS_VM_LOCKED},	     {"io", MS_VM_IO},
	{"sr", MS_VM_SEQ_READ},	  {"rr", MS_VM_RAND_READ},   {"dc", MS_VM_DONTCOPY},
	{"de", MS_VM_DONTEXPAND}, {"lf", MS_VM_LOCKONFAULT}, {"ac", MS_VM_ACCOUNT},
	{"nr", MS_VM_NORESERVE},  {"ht", MS_VM_HUGETLB},     {"sf", MS_VM_SYNC},
	{"ar", MS_VM_ARCH_1},	  {"wf", MS_VM_WIPEONFORK},  {"dd", MS_VM_DONTDUMP},
	{"sd", MS_VM_SOFTDIRTY},  {"mm", MS_VM_MIXEDMAP},    {"hg", MS_VM_HUGEPAGE},
	{"nh", MS_VM_NOHUGEPAGE}, {"mg", MS_VM_MERGEABLE},   {"um", MS_VM_UFFD_MISSING},
	{"uw", MS_VM_UFFD_WP},
};

uint64_t ms_vm_flags_from_text(const char *text)
{
	uint64_t flags = 0;
	const char *p = text;
	while (*p && *p != '\n') {
		while (*p == ' ')
			p++;
		if (!p[0] || p[0] == '\n' || !p[1])
			break;
		for (size_t i = 0; i < sizeof(vm_flag_names) / sizeof(vm_flag_names[0]); i++) {
			if (p[0] == vm_flag_names[i].name[0] && p[1] == vm_flag_names[i].name[1]) {
				flags |= vm_flag_names[i].bit;
				break;
			}
		}
		while (*p && *p != ' ' && *p != '\n')
			p++;
	}
	return flags;
}

/* Parse one maps header line; name points into line and is copied by append. */
static bool parse_header(char *line, struct ms_vma *vma)
{
	unsigned long long start, end, offset, inode;
	char perms[5];
	unsigned major, minor;
	int consumed = 0;
	if (sscanf(line, "%llx-%llx %4s %llx %x:%x %llu%n", &start, &end, perms, &offset, &major,
		   &minor, &inode, &consumed) != 7)
		return false;
	memset(vma, 0, sizeof(*vma));
	vma->start = start;
	vma->end = end;
	vma->offset = offset;
	vma->dev_major = major;
	vma->dev_minor = minor;
	vma->inode = inode;
	if (perms[0] == 'r')
		vma->prot |= MS_PROT_READ;
	if (perms[1] == 'w')
		vma->prot |= MS_PROT_WRITE;
	if (perms[2] == 'x')
		vma->prot |= MS_PROT_EXEC;
	if (perms[3] == 's')
		vma->prot |= MS_PROT_SHARED;
	char *name = line + consumed;
	while (*name == ' ' || *name == '\t')
		name++;
	if (*name) {
		size_t len = strlen(name);
		static const char deleted[] = " (deleted)";
		if (len > sizeof(deleted) - 1 &&
		    strcmp(name + len - (sizeof(deleted) - 1), deleted) == 0) {
			name[len - (sizeof(deleted) - 1)] = '\0';
			vma->deleted = true;
		}
		vma->name = name;
	}
	vma->kind = ms_vma_kind_of(vma->name);
	return true;
}

/* The counter named by key[0..klen), its value at value (in kB). */
static bool usage_field(struct ms_vma_usage *usage, const char *key, size_t klen, const char *value)
{
	static const struct {
		const char *key;
		size_t off;
	} fields[] = {
#define F(k, m) {k, offsetof(struct ms_vma_usage, m)}
		F("Rss", rss),
		F("Pss", pss),
		F("Shared_Clean", shared_clean),
		F("Shared_Dirty", shared_dirty),
		F("Private_Clean", private_clean),
		F("Private_Dirty", private_dirty),
		F("Referenced", referenced),
		F("Anonymous", anonymous),
		F("KSM", ksm),
		F("LazyFree", lazyfree),
		F("AnonHugePages", anon_huge),
		F("ShmemPmdMapped", shmem_pmd),
		F("FilePmdMapped", file_pmd),
		F("Shared_Hugetlb", shared_hugetlb),
		F("Private_Hugetlb", private_hugetlb),
		F("Swap", swap),
		F("SwapPss", swap_pss),
		F("Locked", locked),
#undef F
	};
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		if (strlen(fields[i].key) == klen && strncmp(key, fields[i].key, klen) == 0) {
			uint64_t kb = strtoull(value, NULL, 10);
			*(uint64_t *)((char *)usage + fields[i].off) = kb * 1024;
			return true;
		}
	}
	return false;
}

bool ms_vma_usage_parse_line(struct ms_vma_usage *usage, const char *line, size_t len)
{
	const char *colon = memchr(line, ':', len);
	return colon && usage_field(usage, line, (size_t)(colon - line), colon + 1);
}

static void parse_smaps_field(struct ms_vma *vma, const char *line)
{
	const char *colon = strchr(line, ':');
	if (!colon)
		return;
	size_t klen = (size_t)(colon - line);
	if (klen == 7 && strncmp(line, "VmFlags", 7) == 0) {
		const char *v = colon + 1;
		while (*v == ' ')
			v++;
		snprintf(vma->vmflags_text, sizeof(vma->vmflags_text), "%s", v);
		size_t n = strlen(vma->vmflags_text);
		while (n && vma->vmflags_text[n - 1] == ' ')
			vma->vmflags_text[--n] = '\0';
		vma->vm_flags = ms_vm_flags_from_text(v);
		return;
	}
	if (klen == 11 && strncmp(line, "THPeligible", 11) == 0) {
		vma->usage.thp_eligible = (unsigned)strtoul(colon + 1, NULL, 10);
		return;
	}
	usage_field(&vma->usage, line, klen, colon + 1);
}

static bool is_header(const char *line)
{
	return (*line >= '0' && *line <= '9') || (*line >= 'a' && *line <= 'f');
}

struct ms_error *ms_maps_parse(const char *text, struct ms_maps **maps_ret)
{
	struct ms_maps *maps = ms_maps_create();
	if (!maps)
		return &ms_error_no_memory;
	char *copy = strdup(text);
	if (!copy) {
		ms_maps_destroy(maps);
		return &ms_error_no_memory;
	}
	struct ms_error *err = NULL;
	struct ms_vma cur;
	bool have = false;
	char *save = NULL;
	for (char *line = strtok_r(copy, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (is_header(line)) {
			if (have && (err = ms_maps_append(maps, &cur)))
				goto out;
			if (!parse_header(line, &cur)) {
				err = ms_error_create(MS_ERROR_FORMAT,
						      "unexpected maps line: %.80s", line);
				goto out;
			}
			have = true;
		} else if (have) {
			cur.has_smaps = true;
			parse_smaps_field(&cur, line);
		}
	}
	if (have)
		err = ms_maps_append(maps, &cur);
out:
	free(copy);
	if (err) {
		ms_maps_destroy(maps);
		return err;
	}
	ms_maps_sort(maps);
	*maps_ret = maps;
	return NULL;
}

struct ms_error *ms_maps_read_pid(pid_t pid, enum ms_maps_detail detail, struct ms_maps **maps_ret)
{
	char *text;
	struct ms_error *err =
		ms_procfs_read_pid(pid, detail == MS_MAPS_SMAPS ? "smaps" : "maps", &text, NULL);
	if (err)
		return err;
	err = ms_maps_parse(text, maps_ret);
	free(text);
	return err;
}

int ms_vma_open_file(pid_t pid, const struct ms_vma *vma, char **path_ret)
{
	char root[4200], map_files[64];
	snprintf(root, sizeof(root), "/proc/%d/root%s", (int)pid, vma->name ? vma->name : "");
	snprintf(map_files, sizeof(map_files), "/proc/%d/map_files/%" PRIx64 "-%" PRIx64, (int)pid,
		 vma->start, vma->end);
	bool named = vma->name && vma->name[0] == '/';
	const char *candidates[] = {named && !vma->deleted ? vma->name : NULL,
				    named && !vma->deleted ? root : NULL, map_files};
	for (size_t i = 0; i < sizeof(candidates) / sizeof(candidates[0]); i++) {
		struct stat st;
		if (!candidates[i] || stat(candidates[i], &st) != 0 || !S_ISREG(st.st_mode) ||
		    (vma->inode && (uint64_t)st.st_ino != vma->inode))
			continue;
		int fd = open(candidates[i], O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		if (fstat(fd, &st) != 0 || (vma->inode && (uint64_t)st.st_ino != vma->inode)) {
			close(fd);
			continue;
		}
		if (path_ret)
			*path_ret = strdup(candidates[i]);
		return fd;
	}
	return -1;
}

const void *ms_maps_own_vdso(size_t *size_ret)
{
	static const void *base;
	static size_t size;
	static bool looked;
	if (!looked) {
		looked = true;
		struct ms_maps *maps;
		struct ms_error *err = ms_maps_read_pid(getpid(), MS_MAPS_BASIC, &maps);
		if (!err) {
			for (size_t i = 0; i < maps->count; i++) {
				if (maps->vmas[i].kind == MS_VMA_VDSO) {
					base = (const void *)(uintptr_t)maps->vmas[i].start;
					size = maps->vmas[i].end - maps->vmas[i].start;
				}
			}
			ms_maps_destroy(maps);
		}
		ms_error_destroy(err);
	}
	*size_ret = size;
	return base;
}
