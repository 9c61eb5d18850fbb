/* SPDX-License-Identifier: MIT */
/*
 * THE command table. One row per command: name, other names, function,
 * preconditions, usage, a one-line summary and the help text that `help
 * NAME`, `NAME --help` and the man page show. Keep rows in the order `help`
 * should list them.
 */
#include "commands.h"

#include <string.h>

const struct command cli_commands[] = {
	/* ---- process memory: vm, vtop, rd, find, ps, ptov ---- */
	/* vm, vtop */
	{
		.name = "vm",
		.fn = cmd_vm,
		.flags = CMD_TARGET | CMD_PID_ARG,
		.usage = "vm [-p] [--ranges] [--summary] [--all-pages] [PID]",
		.summary = "a process's mappings, and the physical page behind each virtual page",
		.help = "As crash's vm: a header with the process's PID, COMMAND, RSS and "
			"TOTAL_VM\n"
			"(from /proc/PID/status), then one line per mapping: START END FLAGS "
			"FILE.\n"
			"FLAGS are the kernel's VM_* bits in hex, recovered from the VmFlags line "
			"of\n"
			"/proc/PID/smaps. Unlike crash, there are no kernel addresses (task, mm,\n"
			"pgd, vma): memscope reads /proc, not kernel memory, and does not make\n"
			"them up.\n"
			"\n"
			"  -p           after each mapping, crash's VIRTUAL PHYSICAL lines: the\n"
			"               physical address of each present page; \"FILE: path  "
			"OFFSET:\n"
			"               hex\" for a file page not mapped in; \"SWAP: device  "
			"OFFSET:\n"
			"               n\" for a swapped page (device from /proc/swaps); \"(not\n"
			"               mapped)\" for a page never touched. A run of such pages "
			"is\n"
			"               one line with its count. Marks after the address: thp "
			"(part\n"
			"               of a transparent huge page), hugetlb, zero (the shared "
			"zero\n"
			"               page: no memory of its own), ksm (merged by KSM), shared\n"
			"               (mapped more than once, by another process usually; as\n"
			"               root, memscope's own mapping of a library is left out),\n"
			"               guard.\n"
			"  --all-pages  with -p, every page on its own line, as crash prints "
			"them.\n"
			"  --ranges     with -p, runs of pages contiguous in virtual and physical\n"
			"               memory with the same marks, as the kernel's page-types "
			"-l.\n"
			"  --summary    per mapping and in total, how much is present, zero page,\n"
			"               THP, KSM, shared, swapped, cached (file pages in the page\n"
			"               cache but not mapped by this process, from mincore) and\n"
			"               untouched: how much of a mapping is real memory.\n"
			"\n"
			"PID defaults to the target (-p PID before the command). --json gives one\n"
			"document, streamed page by page. Holes are skipped with the PAGEMAP_SCAN\n"
			"ioctl (Linux 6.7+), which also tells the zero page and PMD-mapped THP\n"
			"apart without privileges; where most pages exist, pagemap is read\n"
			"straight in large batches, and root tells the zero page by its PFN and a\n"
			"THP by 512 aligned, contiguous PFNs that kpageflags confirms. Without\n"
			"CAP_SYS_ADMIN the kernel hides physical addresses: present pages show as\n"
			"\"present\", and KSM counts come from smaps. As root, kpageflags is also\n"
			"read where THP mapped by PTEs or KSM pages can be (THP-eligible and\n"
			"mergeable mappings): big ordinary mappings cost one pagemap read.\n"
			"Swap devices are named by the row of /proc/swaps with the swap type's\n"
			"index; if an earlier swap area was switched off while later ones stayed\n"
			"on, the kernel's numbering has a gap /proc/swaps does not show, and a\n"
			"page whose offset does not fit is shown as \"SWAP: type N\".\n"
			"If the process exits during the walk, what was read is printed, then an\n"
			"error; the exit status is 1.\n"
			"\n"
			"On a core file (memscope -c CORE vm): the mappings from the core's\n"
			"segments and NT_FILE note (FLAGS: the read, write and execute bits, all\n"
			"a core records; ? for a mapping the core names but has no segment\n"
			"for), IN CORE instead of RSS (the bytes the core holds), and with -p,\n"
			"where each page's bytes are: \"in core at OFFSET\" (a hole of zeros\n"
			"where the page was never touched), \"FILE: path  OFFSET: hex\" when they\n"
			"are read from the mapped file, \"(not in core)\" when they are in\n"
			"neither. --ranges and --all-pages as above; --summary counts the same.\n",
	},
	{
		.name = "vtop",
		.fn = cmd_vtop,
		.flags = CMD_TARGET | CMD_LIVE | CMD_PID_ARG,
		.usage = "vtop [-c PID] [-u] ADDR...",
		.summary = "translate a user virtual address to its physical page, with everything "
			   "known about it",
		.help = "As crash's vtop for a user address: VIRTUAL and PHYSICAL (with the "
			"offset\n"
			"within the page kept for unaligned addresses), then the page's pagemap "
			"bits\n"
			"(present, swapped, file or shared-anonymous, exclusive, soft-dirty, "
			"uffd-wp,\n"
			"guard), its kpageflags by name (all the KPF_* bits of the kernel's\n"
			"pagemap.rst), its map count (kpagecount), whether it is the head or a "
			"tail\n"
			"of a THP and the 2 MiB frame it lies in, and the mapping that holds it,\n"
			"with the file offset. A page never touched prints crash's \"(not "
			"mapped)\",\n"
			"a page of an inaccessible mapping (PROT_NONE, guard) \"(not "
			"accessible)\",\n"
			"a file page not mapped in \"FILE: path  OFFSET: hex\" and a swapped page\n"
			"\"SWAP: device  OFFSET: n\".\n"
			"\n"
			"  -c PID   the process (crash's spelling); else the target or -p PID.\n"
			"  -u       the address is a user address (the only kind: accepted for "
			"crash\n"
			"           habits).\n"
			"\n"
			"An address in no mapping, a kernel address or one beyond the user "
			"address\n"
			"space is an error. Without CAP_SYS_ADMIN the physical address, "
			"kpageflags\n"
			"and map count are hidden by the kernel: memscope says so and shows the\n"
			"rest (PAGEMAP_SCAN still tells THP and the zero page).\n",
	},
	/* rd, find, ps, ptov */
	{
		.name = "rd",
		.fn = cmd_rd,
		.flags = CMD_TARGET,
		.usage = "rd [-8|-16|-32|-64] [-a] [-d|-D|-x] [-s] [-N] [-R] [-o OFFS] [-e "
			 "END] [-r FILE] [--fault-in] ADDR|SYMBOL [COUNT]",
		.summary = "read memory, as crash's rd",
		.help = "Display the target's memory at ADDR (hexadecimal, with or without\n"
			"0x) or at a SYMBOL of its ELF files (NAME, FILE:NAME, either with\n"
			"+OFFSET). COUNT values are shown (default 1), 16 bytes a line with\n"
			"an ASCII column, as crash prints them. Any COUNT works: memory is\n"
			"read and printed a chunk at a time.\n"
			"\n"
			"  -8, -16, -32, -64  value size in bits (default 64)\n"
			"  -a          ASCII: printable text; without COUNT, up to the\n"
			"              first character that is not printable\n"
			"  -d, -D      signed, unsigned decimal instead of hexadecimal\n"
			"  -x          no ASCII column\n"
			"  -s          values that point into a mapped ELF file shown as\n"
			"              symbol+offset (64-bit display only)\n"
			"  -N          16- and 32-bit values in network byte order\n"
			"  -R          display COUNT values ending at ADDR\n"
			"  -o OFFS     add OFFS to the start address\n"
			"  -e END      display up to END (exclusive) instead of COUNT\n"
			"  -r FILE     copy COUNT bytes (or up to END) raw into FILE\n"
			"  --fault-in  also read pages that are not present (never\n"
			"              touched, swapped out, file pages not mapped yet);\n"
			"              this changes the target\n"
			"\n"
			"Pages that are not present are never read unless --fault-in is\n"
			"given. What was readable is printed; an address that cannot be\n"
			"read ends the command with crash's message (invalid user virtual\n"
			"address: ADDR  type: \"64-bit UVADDR\") and the reason, exit 1.\n",
	},
	{
		.name = "find",
		.fn = cmd_find,
		.flags = CMD_TARGET,
		.usage = "find [-s START] [-e END | -l LEN] [-m MASK] [-w|-h|-b] [-c] [-x N] "
			 "[--max N] [--fault-in] VALUE...  |  find [/sn] START, +LEN|END, "
			 "VAL...",
		.summary = "search memory for values or strings (gdb's find, crash's search flags)",
		.help = "Search the target's readable mappings for any of the VALUEs:\n"
			"64-bit values at 8-byte aligned addresses by default, as crash's\n"
			"search does. A VALUE is hexadecimal or a symbol (its address). Each\n"
			"hit is printed as ADDRESS: VALUE and where it lies: symbol+offset\n"
			"(file) in an ELF file, or the mapping and the offset in it.\n"
			"\n"
			"  -s START    start at START (address or symbol; default: the\n"
			"              lowest mapping)\n"
			"  -e END      stop at END (exclusive)\n"
			"  -l LEN      search LEN bytes from START (4096, 0x1000, 2M, 1G)\n"
			"  -m MASK     ignore the bits set in MASK when comparing\n"
			"  -w, -h, -b  32-, 16-, 8-bit values (aligned to their size)\n"
			"  -c          the VALUEs are strings, found at any address; 56\n"
			"              characters from each hit are shown\n"
			"  -x N        show N values before and after each hit\n"
			"  --max N     stop after N hits\n"
			"  --fault-in  also read pages that are not present (changes the\n"
			"              target)\n"
			"\n"
			"gdb's form, used when the arguments contain a comma or start with\n"
			"/: find [/sn] START, +LEN, VAL [, VAL...] or find [/sn] START, END,\n"
			"VAL... searches for the sequence of values at any address, END\n"
			"inclusive. s is the size of each value (b, h, w, g), n the most\n"
			"hits to print. Numbers are decimal unless 0x; \"strings\" (with their\n"
			"NUL, as in C; {char[N]}\"...\" for the first N bytes only) and 'c'\n"
			"characters take C escapes; a cast such as (char) or (long) sets one\n"
			"value's size; a literal without a size is 4 bytes if it fits, else\n"
			"8, as in C. Ends with gdb's \"N patterns found.\" line.\n"
			"\n"
			"Only present pages are read unless --fault-in is given. gdb's form\n"
			"searches never-touched anonymous memory as the zeros gdb reads\n"
			"there, without touching it. What was not searched (swapped out;\n"
			"with crash's flags, never touched too) is said on stderr, and gdb's\n"
			"form then exits 1. -v also tells how much was searched.\n",
	},
	{
		.name = "ps",
		.fn = cmd_ps,
		.usage = "ps [-k|-u] [-L] [--sort pid|rss|pss|swap|vsz|thp|private] "
			 "[PID|COMMAND...]",
		.summary = "processes and where their memory goes, as crash's ps",
		.help = "One line per process, as crash's ps: PID, PPID, CPU, state (RU IN\n"
			"UN ZO ST TR DE ID), %MEM, VSZ and RSS, then the memory breakdown\n"
			"from smaps_rollup: PSS (RSS with shared pages divided among their\n"
			"users), SHARED and PRIVATE resident memory, SWAP and THP (anonymous\n"
			"huge pages). Sizes are in KiB. '>' marks running tasks. Kernel\n"
			"threads show as [name].\n"
			"\n"
			"  PID|COMMAND  only these processes (COMMAND may be a glob: 'tmux*')\n"
			"  -k, -u       kernel threads only, user processes only\n"
			"  -L           also list each thread (its memory is its process's)\n"
			"  --sort KEY   largest first by rss, pss, swap, vsz, thp or private\n"
			"\n"
			"Without root, other users' processes show RSS, VSZ and SWAP but '-'\n"
			"for the breakdown, and the command says how many (exit status 1).\n"
			"Processes that exit meanwhile are left out.\n",
	},
	{
		.name = "ptov",
		.fn = cmd_ptov,
		.flags = CMD_ROOT,
		.usage = "ptov [--all] PADDR...",
		.summary = "which processes map a physical address, and at which virtual addresses",
		.help = "For each physical address (hexadecimal), print its page frame, how\n"
			"many mappings the kernel counts (/proc/kpagecount), its page flags\n"
			"(/proc/kpageflags) by name, then every process and virtual address\n"
			"that maps it, with the mapping's permissions and file. A page nobody\n"
			"maps is described instead (free, slab, page table, page cache...).\n"
			"\n"
			"Every process's pagemap is scanned, present pages only\n"
			"(PAGEMAP_SCAN); the scan stops when all the mappings the kernel\n"
			"counts are found (--all scans everything anyway). A progress bar\n"
			"shows on a terminal. Needs root: the kernel hides physical\n"
			"addresses from others.\n",
	},

	/* ---- system memory: overcommit, frag, compact, thp, kmem, physmap, export ---- */
	/* overcommit, kmem, thp, export, demo */
	{
		.name = "overcommit",
		.fn = cmd_overcommit,
		.flags = CMD_PID_ARG,
		.usage =
			"overcommit [--top N] | overcommit --what-if SIZE [--shared] [--noreserve] "
			"[--readonly] [--pid PID]",
		.summary = "commit accounting as the kernel does it; would an mmap succeed now",
		.help = "Without --what-if: the overcommit mode (0 heuristic, 1 always, 2 "
			"strict),\n"
			"each explained in one line; overcommit_ratio, overcommit_kbytes and the\n"
			"admin and user reserves; CommitLimit computed with the kernel's formula\n"
			"(RAM less hugetlb pages, times the ratio or overcommit_kbytes, plus "
			"swap)\n"
			"next to the CommitLimit the kernel reports; Committed_AS and the "
			"headroom.\n"
			"With --top N, the top committers: per process, the sum of the sizes of "
			"its\n"
			"mappings that carry VM_ACCOUNT (\"ac\" in /proc/PID/smaps VmFlags), "
			"which\n"
			"is what that process added to Committed_AS, and its shared anonymous\n"
			"mappings (charged once per shmem object, so possibly shared).\n"
			"\n"
			"With --what-if SIZE: would mmap(NULL, SIZE, ...) succeed now, and why. "
			"It\n"
			"follows the kernel's order: length checks, a free address range, "
			"RLIMIT_AS\n"
			"and RLIMIT_DATA (may_expand_vm), then whether the mapping is charged at "
			"all\n"
			"(private writable: yes; private read-only: no; MAP_NORESERVE: no in "
			"modes\n"
			"0 and 1, yes in mode 2; shared anonymous: yes, as a shmem object; a "
			"shared\n"
			"mapping of a file: never) and the check of the mode: mode 0 refuses only "
			"a\n"
			"single mapping larger than RAM + swap, mode 1 never refuses, mode 2\n"
			"refuses once Committed_AS plus the mapping is not below CommitLimit less\n"
			"the admin reserve (for processes without CAP_SYS_ADMIN) and less\n"
			"min(VmSize/32, user_reserve_kbytes) of the calling process. Near the\n"
			"limit the answer is marked borderline: the kernel reads a per-CPU\n"
			"counter that may lag Committed_AS by up to CPUs x batch pages. When it\n"
			"fails on the commit limit, the top 5 committers follow.\n"
			"Exit status: 0 when the mapping would succeed, 1 when it would fail.\n"
			"\n"
			"  --what-if SIZE  bytes, or with a suffix: 4096, 64M, 1.5G, 2T\n"
			"  --shared        MAP_SHARED|MAP_ANONYMOUS instead of MAP_PRIVATE\n"
			"  --noreserve     add MAP_NORESERVE\n"
			"  --readonly      PROT_READ only (private mappings are then not charged)\n"
			"  --pid PID       the process that would call mmap (its size, limits,\n"
			"                  address space and capabilities); default: -p PID, or\n"
			"                  this memscope process\n"
			"  --top N         list the N processes holding the most commit (reads\n"
			"                  every process's smaps: slower the more memory is "
			"mapped;\n"
			"                  0: none, not even after a failed what-if)\n",
	},
	{
		.name = "kmem",
		.fn = cmd_kmem,
		.usage = "kmem -i",
		.summary = "memory summary as crash's kmem -i",
		.help = "PAGES, TOTAL and PERCENTAGE rows for TOTAL MEM, FREE, USED, SHARED,\n"
			"BUFFERS, CACHED, SLAB, TOTAL HUGE, HUGE FREE, TOTAL SWAP, SWAP USED,\n"
			"SWAP FREE, COMMIT LIMIT and COMMITTED, laid out as crash prints them,\n"
			"taken from /proc/meminfo (MemTotal, MemFree, Shmem, Buffers, Cached,\n"
			"Slab, SwapTotal, SwapFree, CommitLimit, Committed_AS) and the hugetlb\n"
			"pools of every size. SHARED is Shmem: crash counts pages mapped more "
			"than\n"
			"once by walking the kernel's page array, which /proc does not offer.\n"
			"Percentages are truncated, as crash does. A line missing from meminfo is\n"
			"shown as 0 with a warning.\n"
			"\n"
			"  -i  general memory usage (the only kmem flag: the others need the\n"
			"      kernel's own data structures)\n",
	},
	{
		.name = "thp",
		.fn = cmd_thp,
		.flags = CMD_PID_ARG,
		.usage = "thp [--top N] | thp --pid PID [--all]",
		.summary = "transparent huge pages: settings, counters, users, and why not",
		.help = "The settings under /sys/kernel/mm/transparent_hugepage (enabled, defrag,\n"
			"use_zero_page, shmem_enabled, every per-size hugepages-<size>kB "
			"directory\n"
			"with its enabled, shmem_enabled and stats, and khugepaged), the thp_* "
			"and\n"
			"compact_* counters of /proc/vmstat, the huge pages in use (meminfo), the\n"
			"free buddy blocks of at least the PMD order (/proc/buddyinfo), and with\n"
			"--top N the processes holding the most huge pages (AnonHugePages,\n"
			"ShmemPmdMapped and FilePmdMapped of /proc/PID/smaps_rollup).\n"
			"\n"
			"With --pid PID (or -p PID): the process's anonymous mappings, each with "
			"its\n"
			"AnonHugePages, the kernel's THPeligible, its madvise flags (\"hg\", "
			"\"nh\"\n"
			"in VmFlags) and what keeps it from PMD-size huge pages: prctl\n"
			"(PR_SET_THP_DISABLE: THP_enabled 0 in status), the setting (never, or\n"
			"madvise without MADV_HUGEPAGE), MADV_NOHUGEPAGE, too small or misaligned\n"
			"(no PMD-aligned PMD-size range inside), shared anonymous memory (follows\n"
			"shmem_enabled), special mappings, and fragmentation (no free block\n"
			"of the PMD order in any zone); and frag's verdict for a PMD-order\n"
			"allocation now: succeeds, fails for lack of memory, or fails for\n"
			"fragmentation.\n"
			"\n"
			"  --pid PID  examine this process\n"
			"  --all      with --pid, also list mappings too small for a huge page\n"
			"  --top N    list the N processes holding the most huge pages (reads "
			"every\n"
			"             process's smaps_rollup: slower the more memory is mapped)\n",
	},
	{
		.name = "export",
		.fn = cmd_export,
		.usage = "export --prometheus [FILE]",
		.summary = "the system memory figures for Prometheus",
		.help = "The figures of overcommit, kmem -i, thp and frag (free blocks per order,\n"
			"the unusable-free and fragmentation indices per node, zone and order,\n"
			"from /proc/buddyinfo) in the Prometheus text exposition\n"
			"format (HELP and TYPE lines, names prefixed memscope_, labels for kinds,\n"
			"sizes, modes, nodes, zones and orders), on stdout or written to FILE for\n"
			"node_exporter's textfile collector (give it a .prom name in the\n"
			"collector's directory). The file is written to a temporary file beside\n"
			"it and renamed over it, so the collector never reads half a file; it is\n"
			"made readable by everyone. Run it from cron or a systemd timer.\n"
			"With --json: the same samples as JSON, or what was written.\n"
			"\n"
			"  --prometheus  the text exposition format (the only format so far)\n"
			"  FILE          write here atomically instead of to stdout (- is "
			"stdout)\n",
	},
	{
		.name = "demo",
		.fn = cmd_demo,
		.usage = "demo firsttouch [--pages N]",
		.summary = "guided demo: an anonymous page's first read and first write",
		.help = "firsttouch: a child process maps N anonymous pages (MAP_PRIVATE,\n"
			"PROT_READ|PROT_WRITE; default 16) and, on memscope's command, reads page\n"
			"0, writes page 0, writes page 1 and unmaps them. Between the steps\n"
			"memscope reads the child's pagemap, smaps and status and shows each\n"
			"page go from not present to the shared zero page (on the read) to a page\n"
			"of its own (on the write), the mapping's RSS and the process's RssAnon\n"
			"growing only on writes, and the commit charged in full at mmap\n"
			"(Committed_AS, and \"ac\" in the mapping's VmFlags). As root the PFNs "
			"and\n"
			"/proc/kpageflags confirm the zero page; without root the PFN is hidden\n"
			"and the pagemap's exclusive bit tells the two apart.\n"
			"\n"
			"  --pages N  the size of the mapping in pages (2 to 65536)\n",
	},
	/* frag, compact, physmap */
	{
		.name = "frag",
		.fn = cmd_frag,
		.usage = "frag [--order N] [--node N]",
		.summary = "free lists, fragmentation indices, and whether an order-N allocation "
			   "succeeds",
		.help = "Per node and zone: free blocks of each order (/proc/buddyinfo), the free\n"
			"memory they hold, the kernel's unusable-free index and fragmentation "
			"index\n"
			"for every order computed as mm/vmstat.c does (integer arithmetic, "
			"printed\n"
			"as /sys/kernel/debug/extfrag prints them: -1.000 means an allocation of\n"
			"that order would not fail), free blocks per migrate type and pageblocks "
			"per\n"
			"type (/proc/pagetypeinfo, root only), the zone watermarks and lowmem\n"
			"reserves (/proc/zoneinfo). The free memory on the buddy lists is shown "
			"next\n"
			"to the zones' counters and MemFree, with the difference: per-CPU lists,\n"
			"CMA, HighAtomic reserves and memory not yet given to the page allocator\n"
			"make them differ. When debugfs is mounted and readable, the indices are\n"
			"checked against the kernel's own, digit for digit; otherwise the output\n"
			"says why that cross-check is impossible.\n"
			"\n"
			"The verdict is for a movable allocation (user memory, THP) of order N:\n"
			"it succeeds now when a zone it may use keeps its min watermark plus the\n"
			"lowmem reserve after the allocation and has a free block of order N or\n"
			"more on a list it may take from; otherwise it fails for lack of memory\n"
			"(reclaim is needed: the watermark fails, too little is free for\n"
			"compaction, or the fragmentation index is at most vm.extfrag_threshold)\n"
			"or for fragmentation (compaction would help).\n"
			"\n"
			"--order N   the verdict for order N (0 to the kernel's largest order); "
			"the\n"
			"            exit status is then 0 if it would succeed now and 1 if not.\n"
			"            Without it, the verdict is for the pageblock (huge page) "
			"order.\n"
			"--node N    only node N.\n",
	},
	{
		.name = "compact",
		.fn = cmd_compact,
		.flags = CMD_ROOT,
		.usage = "compact [--node N] [--svg-before FILE] [--svg-after FILE]",
		.summary = "run memory compaction and show what it changed",
		.help = "Compact all nodes (writes 1 to /proc/sys/vm/compact_memory) or one\n"
			"(/sys/devices/system/node/nodeN/compact), time it, and print, per zone,\n"
			"the free blocks of each order and the unusable-free and fragmentation\n"
			"indices before and after, how many free huge-page-sized (order-9 on\n"
			"x86-64) blocks were gained, and how the compact_* and pgmigrate_*\n"
			"counters of /proc/vmstat moved. Then whether kcompactd would compact the\n"
			"node on its own: the node's fragmentation score against the watermarks\n"
			"derived from vm.compaction_proactiveness, as mm/compaction.c computes\n"
			"them. Compaction is machine-wide and needs root.\n"
			"\n"
			"--node N            compact node N only.\n"
			"--svg-before FILE   draw physical memory (as physmap) before compacting.\n"
			"--svg-after FILE    and after.\n",
	},
	{
		.name = "physmap",
		.fn = cmd_physmap,
		.flags = CMD_ROOT,
		.usage = "physmap [--svg FILE] [--png FILE] [--pages-per-cell N] [--node N]",
		.summary = "a map of physical memory: what fills each pageblock",
		.help = "Walk /proc/kpageflags over all of physical memory (or one node) and\n"
			"count, per cell of one pageblock (2 MiB on x86-64) or N pages, what "
			"fills\n"
			"its pages, first match wins: hole (outside every System RAM range of\n"
			"/proc/iomem, or no struct page), free (KPF_BUDDY), reserved, page table\n"
			"(KPF_PGTABLE), slab, hugetlb (KPF_HUGE), thp (KPF_THP), anon (KPF_ANON),\n"
			"cache (KPF_LRU or KPF_MMAP: page cache and shmem), other (no telling\n"
			"flag: kernel allocations, memory not yet initialised). Each cell is\n"
			"coloured by what fills most of it; a wholly free cell (a free huge page)\n"
			"is bright green, a mostly free one pale. Zones start on their own line\n"
			"with their node, name and PFN range; a legend gives the totals. On a\n"
			"terminal the map uses 256 colours and its full width; otherwise one\n"
			"letter per cell. --json gives per-cell counts for runs of equal cells.\n"
			"Needs root.\n"
			"\n"
			"--svg FILE            also write the picture as SVG.\n"
			"--png FILE            and as PNG.\n"
			"--pages-per-cell N    N pages per cell instead of a pageblock.\n"
			"--node N              only node N.\n",
	},

	/* ---- core dumps: gcore ---- */
	{
		.name = "gcore",
		.aliases = "generate-core-file",
		.fn = cmd_gcore,
		.flags = CMD_TARGET | CMD_LIVE | CMD_PID_ARG,
		.usage = "gcore [-o FILE] [-a] [--dry-run] [--verify] [--frozen | --fork-frozen] "
			 "[PID]",
		.summary = "write a core file of a live process, stopping it for milliseconds",
		.help = "Write an ELF core file of a running process, as gdb's gcore does, but\n"
			"with the notes, mappings and holes the kernel's own core dump would\n"
			"have, and without stopping the process for the length of the dump.\n"
			"Every thread is frozen just long enough to copy its registers and to\n"
			"make the process fork (a system call run inside it): the stopped\n"
			"child's copy-on-write memory is then dumped while the process runs\n"
			"on. The child is killed and reaped afterwards (a second freeze of\n"
			"well under a millisecond), so the process sees no new child and no\n"
			"signal. Regions fork does not copy (MADV_DONTFORK, MADV_WIPEONFORK)\n"
			"are read while frozen; shared memory is read after the release. Where\n"
			"fork cannot be used (a seccomp filter, the kernel refusing the fork)\n"
			"the process stays frozen for the whole dump, and memscope says so.\n"
			"\n"
			"With more than one thread, and as root, the fork is made first, with\n"
			"only the forking thread stopped (the fork's copy of the page tables\n"
			"is most of a freeze: some 25 ms for 2 GiB). Then every thread is\n"
			"frozen, and the pages the others changed meanwhile are found by\n"
			"comparing the two processes' physical pages (pagemap) and copied\n"
			"from the frozen process; pages dropped meanwhile are left out, and\n"
			"private memory mapped meanwhile is dumped by its own flags. A change\n"
			"that cannot be mended so (file or shared memory mapped meanwhile, a\n"
			"page swapped out, more than 64 MiB changed) gives that child up for\n"
			"a fork made frozen. Threads that fault on memory wait for the fork\n"
			"to end either way; the others run on.\n"
			"\n"
			"Mappings are chosen as the kernel chooses them: the process's\n"
			"/proc/PID/coredump_filter, MADV_DONTDUMP, device memory, the first\n"
			"page of ELF files, vdso and vvar. Pages never touched are holes of a\n"
			"sparse file. The file appears only when complete, mode 0600; Ctrl-C,\n"
			"SIGTERM or even SIGKILL of memscope leave the process running and\n"
			"untouched and no partial file. Free space is checked first.\n"
			"\n"
			"  -o FILE     the core file (default core.PID); replaced if it exists\n"
			"  -a          dump every mapping, ignoring coredump_filter and\n"
			"              MADV_DONTDUMP (device memory is never read)\n"
			"  --dry-run   print the size it would write (apparent and on disk)\n"
			"  --verify    read the core back and compare threads, registers,\n"
			"              auxv and a checksum of every region with the snapshot\n"
			"  --frozen    no fork snapshot: keep the process frozen while dumping\n"
			"  --fork-frozen  make the fork with every thread frozen, never first\n"
			"  PID         the process (default: the session's, -p PID)\n"
			"\n"
			"As generate-core-file [FILE] (gdb's name) it dumps the session's\n"
			"process into FILE.\n",
	},
	{
		.name = "info",
		.fn = cmd_info,
		.flags = CMD_TARGET,
		.usage = "info threads | info registers [-t TID | -a] [REG...] | info auxv | "
			 "info files",
		.summary = "threads, registers, auxiliary vector and mappings, as gdb's info "
			   "shows them",
		.help = "gdb's info subcommands on the target (-p PID or -c CORE). On a live\n"
			"process the threads are frozen just long enough to copy their\n"
			"registers (and, for info threads, the top of their stacks).\n"
			"\n"
			"info threads      every thread: id, LWP, name and where it stands: its\n"
			"                  frame #0 as bt prints it (function and arguments from\n"
			"                  the debug info, file:line, or the library without it).\n"
			"                  With --json also its signal state and registers.\n"
			"info registers    the general registers of the first thread (on a core\n"
			"                  file, the one that received the signal), as gdb prints\n"
			"                  them (rip, rbp and rsp followed by the function or "
			"data\n"
			"                  symbol they point into); name registers to see only\n"
			"                  those: rip, orig_rax, xmm0-xmm15, mxcsr, fctrl,\n"
			"                  fstat ...\n"
			"  -t, --thread TID  the registers of thread TID\n"
			"  -a, --all         the registers of every thread\n"
			"info auxv         the auxiliary vector the kernel gave the program.\n"
			"info files        core files: each mapping and where its bytes are: in\n"
			"                  the core (at which offset), in the mapped file on disk\n"
			"                  (the kernel leaves unmodified file pages out of a "
			"core),\n"
			"                  or nowhere (not in the core file). Also `info "
			"target`.\n",
	},

	/* ---- backtraces and debugging: bt ---- */
	{
		.name = "bt",
		.aliases = "backtrace where",
		.fn = cmd_bt,
		.flags = CMD_TARGET,
		.usage = "bt [--full] [-n N] [--thread TID] [--debug-dir DIR] [-v] [full] [N]",
		.summary =
			"backtraces of every thread, with locals (gdb's thread apply all bt full)",
		.help = "Every thread's stack as gdb's `thread apply all bt` prints it: threads\n"
			"newest first, each frame as `#N  0xADDR in func (arg=val, ...) at\n"
			"file:line`, inlined calls as frames of their own, `from LIB` where there\n"
			"is no debug info, C++ and Rust names demangled, and gdb's entry values\n"
			"(`x=x@entry=5`). Debug info is found as libdwfl finds it: by build-id\n"
			"under /usr/lib/debug/.build-id, by .gnu_debuglink, and through "
			"debuginfod\n"
			"when DEBUGINFOD_URLS is set; modules without it are named on stderr and\n"
			"their frames use the ELF symbol table.\n"
			"\n"
			"A live process is stopped only while the registers and the live part of\n"
			"each stack (from the stack pointer to the end of its mapping, at most\n"
			"512 KiB per thread) are copied, then released; the stacks are walked\n"
			"from the copy afterwards. Reads outside the copied stacks (heap, "
			"globals,\n"
			"strings behind pointers) go to the running process after the release, so\n"
			"they can be newer than the stacks. A core file is read as it is.\n"
			"\n"
			"  --full, full     also print each frame's locals, as gdb's bt full\n"
			"  -n N, N          at most N frames per thread\n"
			"  --thread TID     only this thread\n"
			"  --debug-dir DIR  also look for separate debug info under DIR (colon-\n"
			"                   separated list; like gdb's debug-file-directory)\n"
			"  -v               say how long the process was stopped (also the\n"
			"                   global -v)\n"
			"\n"
			"Corrupt stacks end with `Backtrace stopped: REASON`; threads that exit\n"
			"while memscope looks are named on stderr and skipped.\n",
	},
	{
		.name = "thread",
		.fn = cmd_thread,
		.flags = CMD_TARGET,
		.usage = "thread apply all|TID bt [full]",
		.summary = "gdb's spelling of bt: thread apply all bt full",
		.help = "`thread apply all bt [full]` is `bt [--full]`; `thread apply TID bt`\n"
			"is `bt --thread TID`. Options after `bt` are bt's.\n",
	},

	/* ---- the session ---- */
	{
		.name = "set",
		.fn = cmd_set,
		.usage = "set [PID | -c CORE [-e EXE]]",
		.summary = "show or change the target (crash's context)",
		.help = "Without arguments, show the current target. With a PID, look at that\n"
			"process from now on; with -c CORE (and -e EXE), at a core file. The\n"
			"global options -p and -c set the first target; this changes it at\n"
			"the prompt, as crash's `set PID` changes its context.\n",
	},
	{
		.name = "sys",
		.fn = cmd_sys,
		.usage = "sys",
		.summary = "the machine at a glance, as crash's banner",
		.help = "Kernel release and version, machine, CPUs, memory, uptime, load\n"
			"average and task count, as crash prints them when it starts. With a\n"
			"target, also its PID and command.\n",
	},
	{
		.name = "help",
		.aliases = "h",
		.fn = cmd_help,
		.usage = "help [COMMAND]",
		.summary = "list the commands, or explain one",
		.help = "Without an argument, list every command with a one-line summary.\n"
			"With a command name, print its usage and description.\n",
	},
	{
		.name = "quit",
		.aliases = "q exit",
		.fn = cmd_quit,
		.flags = CMD_PROMPT,
		.usage = "quit",
		.summary = "leave the interactive prompt",
		.help = "Leave the prompt (Ctrl-D does the same).\n",
	},
};

const size_t cli_command_count = sizeof(cli_commands) / sizeof(cli_commands[0]);

const struct command *cli_find_command(const char *name)
{
	size_t len = strlen(name);
	for (size_t i = 0; i < cli_command_count; i++) {
		const struct command *cmd = &cli_commands[i];
		if (strcmp(cmd->name, name) == 0)
			return cmd;
		for (const char *a = cmd->aliases; a && *a;) {
			size_t alen = strcspn(a, " ");
			if (alen == len && strncmp(a, name, len) == 0)
				return cmd;
			a += alen;
			while (*a == ' ')
				a++;
		}
	}
	return NULL;
}
