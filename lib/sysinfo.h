/* SPDX-License-Identifier: MIT */
/*
 * The machine at a glance: kernel release, CPUs, memory, uptime, load and
 * task count, as crash prints in its banner and `sys`. Detailed memory
 * accounting (meminfo, zones, fragmentation) belongs to sysmem.
 */
#ifndef MEMSCOPE_SYSINFO_H
#define MEMSCOPE_SYSINFO_H

#include <stdint.h>

#include "error.h"

struct ms_sysinfo {
	char nodename[65];
	char release[65];
	char version[65];
	char machine[65];
	long cpus;	       /* online CPUs */
	uint64_t mem_total;    /* bytes, MemTotal */
	double uptime;	       /* seconds */
	double load[3];	       /* 1, 5, 15 minute load averages */
	unsigned long tasks;   /* scheduling entities (threads), as crash counts */
	unsigned long running; /* runnable now */
	double cpu_mhz;	       /* from /proc/cpuinfo, 0 if unknown */
	int64_t boot_time;     /* seconds since the epoch */
};

struct ms_error *ms_sysinfo_read(struct ms_sysinfo *info);

#endif
