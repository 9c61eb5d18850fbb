/* SPDX-License-Identifier: MIT */
/*
 * Debug files with their sections decompressed, kept by build-id.
 *
 * Distributions ship separate debug info with zlib-compressed sections
 * (Debian's libc6-dbg: 4 MB of them). libdw inflates every one of them when
 * it opens the file, which costs more than the whole rest of a backtrace.
 * Like gdb's index cache, the first use writes a decompressed copy under
 * the cache directory; later runs map that copy. The copy is checked
 * against the module's build-id before use, and any failure falls back to
 * the original file.
 */
#include <errno.h>
#include <fcntl.h>
#include <gelf.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dwarf_impl.h"

/* Copies to write when the session ends (the callback has no session). */
struct pending {
	struct pending *next;
	char *source, *path, *dir;
};
static struct pending *pending;

/* The cache directory, or NULL when caching is off. Caller frees. */
static char *cache_dir(void)
{
	const char *env = getenv("MEMSCOPE_CACHE_DIR");
	if (env)
		return *env && strcmp(env, "off") != 0 ? strdup(env) : NULL;
	char buf[4096];
	const char *xdg = getenv("XDG_CACHE_HOME");
	const char *home = getenv("HOME");
	if (xdg && *xdg)
		snprintf(buf, sizeof(buf), "%s/memscope/debug", xdg);
	else if (home && *home)
		snprintf(buf, sizeof(buf), "%s/.cache/memscope/debug", home);
	else
		return NULL;
	return strdup(buf);
}

static bool make_dirs(char *path)
{
	for (char *p = path + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = '\0';
		int r = mkdir(path, 0700);
		*p = '/';
		if (r != 0 && errno != EEXIST)
			return false;
	}
	return mkdir(path, 0700) == 0 || errno == EEXIST;
}

static bool has_compressed_sections(Elf *elf)
{
	for (Elf_Scn *scn = NULL; (scn = elf_nextscn(elf, scn));) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh))
			continue;
		const char *name = NULL;
		size_t shstrndx;
		if (elf_getshdrstrndx(elf, &shstrndx) == 0)
			name = elf_strptr(elf, shstrndx, sh.sh_name);
		if ((sh.sh_flags & SHF_COMPRESSED) || (name && strncmp(name, ".zdebug", 7) == 0))
			return true;
	}
	return false;
}

/* Whether the file's build-id note equals bits. */
static bool build_id_matches(int fd, const unsigned char *bits, int len)
{
	Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
	if (!elf)
		return false;
	bool ok = false;
	for (Elf_Scn *scn = NULL; !ok && (scn = elf_nextscn(elf, scn));) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_NOTE)
			continue;
		Elf_Data *data = elf_getdata(scn, NULL);
		size_t off = 0, name_off, desc_off;
		GElf_Nhdr nh;
		while (data && (off = gelf_getnote(data, off, &nh, &name_off, &desc_off)) > 0) {
			if (nh.n_type == NT_GNU_BUILD_ID && nh.n_namesz == 4 &&
			    memcmp((char *)data->d_buf + name_off, "GNU", 4) == 0 &&
			    nh.n_descsz == (GElf_Word)len &&
			    memcmp((char *)data->d_buf + desc_off, bits, (size_t)len) == 0) {
				ok = true;
				break;
			}
		}
	}
	elf_end(elf);
	return ok;
}

/* Write a decompressed copy of the open debug file fd to path. */
static bool write_decompressed(int fd, const char *path)
{
	char tmp[4200];
	snprintf(tmp, sizeof(tmp), "%s.%d.tmp", path, (int)getpid());
	int out = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (out < 0)
		return false;
	bool ok = false;
	/* copy, then decompress in place with libelf, which lays the file out anew */
	char buf[1 << 16];
	ssize_t n;
	off_t pos = 0;
	while ((n = pread(fd, buf, sizeof(buf), pos)) > 0) {
		if (write(out, buf, (size_t)n) != n)
			goto out;
		pos += n;
	}
	if (n < 0)
		goto out;
	Elf *elf = elf_begin(out, ELF_C_RDWR, NULL);
	if (!elf)
		goto out;
	bool changed = false;
	for (Elf_Scn *scn = NULL; (scn = elf_nextscn(elf, scn));) {
		GElf_Shdr sh;
		if (!gelf_getshdr(scn, &sh) || !(sh.sh_flags & SHF_COMPRESSED))
			continue;
		if (elf_compress(scn, 0, 0) < 0) {
			elf_end(elf);
			goto out;
		}
		changed = true;
	}
	ok = changed && elf_update(elf, ELF_C_WRITE) >= 0;
	elf_end(elf);
out:
	close(out);
	if (ok && rename(tmp, path) == 0)
		return true;
	unlink(tmp);
	return false;
}

/* The cache file for the module's build-id, or NULL; caller frees both. */
static char *cache_path(Dwfl_Module *mod, char **dir_ret, const unsigned char **bits_ret,
			int *len_ret)
{
	GElf_Addr vaddr;
	int len = dwfl_module_build_id(mod, bits_ret, &vaddr);
	char *dir = len > 0 ? cache_dir() : NULL;
	if (!dir)
		return NULL;
	size_t plen = strlen(dir) + 2 * (size_t)len + 16;
	char *path = malloc(plen);
	if (!path) {
		free(dir);
		return NULL;
	}
	int w = snprintf(path, plen, "%s/", dir);
	for (int i = 0; i < len; i++)
		w += snprintf(path + w, plen - (size_t)w, "%02x", (*bits_ret)[i]);
	snprintf(path + w, plen - (size_t)w, ".debug");
	*dir_ret = dir;
	*len_ret = len;
	return path;
}

int ms_dwarf_find_debuginfo(Dwfl_Module *mod, void **userdata, const char *modname, Dwarf_Addr base,
			    const char *file_name, const char *debuglink_file,
			    GElf_Word debuglink_crc, char **debuginfo_file_name)
{
	/*
	 * The cache is looked at first: libdwfl's own search may keep the ELF
	 * it opened (compressed) whatever descriptor is returned here.
	 */
	char *dir = NULL;
	const unsigned char *bits = NULL;
	int len = 0;
	char *path = cache_path(mod, &dir, &bits, &len);
	if (path) {
		int cached = open(path, O_RDONLY | O_CLOEXEC);
		if (cached >= 0 && build_id_matches(cached, bits, len)) {
			free(dir);
			*debuginfo_file_name = path;
			return cached;
		}
		if (cached >= 0)
			close(cached);
	}
	int fd = dwfl_standard_find_debuginfo(mod, userdata, modname, base, file_name,
					      debuglink_file, debuglink_crc, debuginfo_file_name);
	if (fd >= 0 && path && *debuginfo_file_name) {
		/* Decompressed for the next run, once this one is done. */
		Elf *elf = elf_begin(fd, ELF_C_READ_MMAP, NULL);
		bool compressed = elf && has_compressed_sections(elf);
		if (elf)
			elf_end(elf);
		struct pending *p = compressed ? malloc(sizeof(*p)) : NULL;
		if (p) {
			p->source = strdup(*debuginfo_file_name);
			p->path = path;
			p->dir = dir;
			p->next = pending;
			pending = p;
			if (p->source)
				return fd;
			pending = p->next;
			free(p);
		}
	}
	free(path);
	free(dir);
	return fd;
}

void ms_dwarf_cache_flush(void)
{
	while (pending) {
		struct pending *p = pending;
		pending = p->next;
		int fd = open(p->source, O_RDONLY | O_CLOEXEC);
		if (fd >= 0) {
			if (make_dirs(p->dir))
				write_decompressed(fd, p->path);
			close(fd);
		}
		free(p->source);
		free(p->path);
		free(p->dir);
		free(p);
	}
}
