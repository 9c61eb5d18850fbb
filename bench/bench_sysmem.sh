#!/usr/bin/env bash
# overcommit, kmem -i, thp and export (target: each under 20 ms) against the
# peers that print the same kind of figures (free, vmstat -s) and the floor:
# cat of the files the command parses. Medians of hyperfine runs; the
# machine may be shared with other work, so the numbers are indicative.
set -euo pipefail
build=${1:-build}
ms="$build/memscope"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
thp=/sys/kernel/mm/transparent_hugepage

run() { # name, command...
	local name=$1
	shift
	hyperfine -N --warmup 3 --runs 40 --export-json "$tmp/$name.json" "$@" >/dev/null 2>&1
}
median() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["results"][0]["median"])' "$tmp/$1.json"; }

run oc "$ms overcommit"
run octop "$ms overcommit --top 10"
run whatif "$ms overcommit --what-if 1G"
run oc_cat "cat /proc/meminfo /proc/sys/vm/overcommit_memory /proc/sys/vm/overcommit_ratio /proc/sys/vm/overcommit_kbytes /proc/sys/vm/admin_reserve_kbytes /proc/sys/vm/user_reserve_kbytes"
run kmem "$ms kmem -i"
run free "free"
run thp "$ms thp"
run thptop "$ms thp --top 10"
if [ -d "$thp" ]; then
	# every file thp --top 0 reads: the settings, every per-size stats file, vmstat
	find "$thp" -type f >"$tmp/thpfiles"
	echo /proc/vmstat /proc/meminfo /proc/buddyinfo | tr ' ' '\n' >>"$tmp/thpfiles"
	run thp_cat "xargs -a $tmp/thpfiles cat"
else
	run thp_cat "cat /proc/vmstat /proc/meminfo /proc/buddyinfo"
fi
run vmstat "vmstat -s"
# the floor of the per-process scans: every process's smaps (smaps_rollup) read once
echo 'cat /proc/[0-9]*/smaps >/dev/null 2>&1 || true' >"$tmp/smaps.sh"
echo 'cat /proc/[0-9]*/smaps_rollup >/dev/null 2>&1 || true' >"$tmp/rollup.sh"
run smaps_cat "bash $tmp/smaps.sh"
run rollup_cat "bash $tmp/rollup.sh"
run export "$ms export --prometheus $tmp/memscope.prom"

python3 - "$tmp" <<'PY'
import json, os, sys
tmp = sys.argv[1]
m = {n[:-5]: json.load(open(os.path.join(tmp, n)))["results"][0]["median"] * 1000
     for n in os.listdir(tmp) if n.endswith(".json")}
def row(what, mine, peer_name, peer, target="< 20 ms"):
    print(f"| {what}, median | {m[mine]:.1f} ms | {peer_name} {m[peer]:.1f} ms "
          f"| {m[mine] / m[peer]:.1f}x | {target} |")
row("overcommit (sysctls, CommitLimit formula, headroom)", "oc",
    "cat of meminfo and the 5 sysctls", "oc_cat")
row("overcommit --what-if 1G", "whatif", "cat of meminfo and the 5 sysctls", "oc_cat")
row("overcommit --top 10 (and every process's smaps)", "octop",
    "cat of every /proc/PID/smaps", "smaps_cat", "none: grows with mapped memory")
row("kmem -i", "kmem", "free", "free")
row("thp (settings, every per-size stats file, counters, buddyinfo)", "thp",
    "cat of every THP file, vmstat, meminfo, buddyinfo", "thp_cat")
row("thp --top 10 (and every process's smaps_rollup)", "thptop",
    "cat of every /proc/PID/smaps_rollup", "rollup_cat", "none: grows with mapped memory")
row("export --prometheus FILE (overcommit, kmem, thp, frag)", "export", "vmstat -s", "vmstat")
PY
