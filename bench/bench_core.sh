#!/usr/bin/env bash
# Opening a large core: a kernel core of corefix with 2 GiB of written memory
# and 50 threads. memscope reads headers and notes only, never the segments,
# so opening it, listing its mappings and listing its threads should take
# milliseconds. Peers: gdb -batch on the same core (info threads), and the
# floor, bench/core_floor.c (reads the headers and notes, counts, nothing else).
# Needs root: core_pattern is set for the dump and restored at once.
set -euo pipefail
build=${1:-build}
memscope=$build/memscope
fixture=$build/tests/fixtures/corefix
size_mib=${CORE_BENCH_MIB:-2048}
if [ "$(id -u)" -ne 0 ]; then
	echo "| core: open a ${size_mib} MiB core | needs root | | | |"
	exit 0
fi
tmp=$(mktemp -d /var/tmp/memscope-bench-core.XXXXXX)
old_pattern=$(cat /proc/sys/kernel/core_pattern)
cleanup() {
	echo "$old_pattern" >/proc/sys/kernel/core_pattern
	[ -n "${fifo_pid:-}" ] && kill "$fifo_pid" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

mkfifo "$tmp/in"
sleep 3600 >"$tmp/in" &
fifo_pid=$!
(ulimit -c unlimited && exec "$fixture" -t 49 -m "$size_mib" -d "$tmp" <"$tmp/in" >"$tmp/fx.json") &
fx=$!
while [ ! -s "$tmp/fx.json" ]; do sleep 0.1; done
echo "$tmp/core.%p" >/proc/sys/kernel/core_pattern
kill -SEGV "$fx"
wait "$fx" 2>/dev/null || true
echo "$old_pattern" >/proc/sys/kernel/core_pattern
core=$tmp/core.$fx
[ -f "$core" ] || { echo "| core: the kernel wrote no core | | | | |"; exit 0; }
bytes=$(stat -c %s "$core")

median_ms() { # command... -> median wall time in ms over several runs
	hyperfine -N --warmup 2 --runs 15 --export-json "$tmp/h.json" "$*" >/dev/null 2>&1
	python3 -c "import json,sys; print('%.1f' % (json.load(open(sys.argv[1]))['results'][0]['median'] * 1000))" "$tmp/h.json"
}

ours=$(median_ms "$memscope -c $core info files")
ours_threads=$(median_ms "$memscope -c $core info threads")
total=$(python3 -c "print('%.1f' % ($ours + $ours_threads))")
gdb_ms=$(median_ms "gdb -batch -nx -c $core -ex 'info threads' $fixture")
floor=$(median_ms "$build/bench/core_floor $core")
gib=$(python3 -c "print('%.1f' % ($bytes / 2**30))")
ratio=$(python3 -c "print('%.2f' % ($total / $gdb_ms))")
fratio=$(python3 -c "print('%.1f' % ($total / $floor))")
echo "| core: open a ${gib} GiB kernel core (${size_mib} MiB written), list its mappings and 50 threads (\`info files\` + \`info threads\`), median | ${total} ms | gdb -batch \`info threads\`: ${gdb_ms} ms | ${ratio}x | instantaneous: no segment data read |"
echo "| core: the same, against the floor (read headers and notes, count) | ${total} ms | floor: ${floor} ms | ${fratio}x | two processes of a few ms |"
