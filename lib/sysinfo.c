/* SPDX-License-Identifier: MIT */
#include "sysinfo.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>

#include "procfs.h"
#include "sysmem.h"

struct ms_error *ms_sysinfo_read(struct ms_sysinfo *info)
{
	memset(info, 0, sizeof(*info));
	struct utsname u;
	if (uname(&u) == 0) {
		snprintf(info->nodename, sizeof(info->nodename), "%s", u.nodename);
		snprintf(info->release, sizeof(info->release), "%s", u.release);
		snprintf(info->version, sizeof(info->version), "%s", u.version);
		snprintf(info->machine, sizeof(info->machine), "%s", u.machine);
	}
	info->cpus = sysconf(_SC_NPROCESSORS_ONLN);

	struct ms_meminfo mi;
	struct ms_error *err = ms_meminfo_read(NULL, &mi);
	if (err && err->code != MS_ERROR_FORMAT)
		return err;
	info->mem_total = err ? 0 : mi.v[MS_MI_MEM_TOTAL]; /* no MemTotal line: shown as 0 */
	ms_error_destroy(err);

	char *buf;
	err = ms_procfs_read("/proc/uptime", &buf, NULL);
	if (err)
		return err;
	info->uptime = strtod(buf, NULL);
	free(buf);

	err = ms_procfs_read("/proc/loadavg", &buf, NULL);
	if (err)
		return err;
	if (sscanf(buf, "%lf %lf %lf %lu/%lu", &info->load[0], &info->load[1], &info->load[2],
		   &info->running, &info->tasks) != 5) {
		free(buf);
		return ms_error_create(MS_ERROR_FORMAT, "/proc/loadavg: unexpected format");
	}
	free(buf);

	if (ms_procfs_try_read("/proc/cpuinfo", &buf)) {
		char *mhz = strstr(buf, "cpu MHz");
		if (mhz && (mhz = strchr(mhz, ':')))
			info->cpu_mhz = strtod(mhz + 1, NULL);
		free(buf);
	}
	info->boot_time = (int64_t)time(NULL) - (int64_t)info->uptime;
	return NULL;
}
