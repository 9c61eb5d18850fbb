#!/usr/bin/env bash
# rd, find and ptov against their floors and peers, on a bigmem fixture with
# 1 GiB of present anonymous memory:
#   find   vs process_vm_readv of the same bytes (bench/readv_floor) and gdb's find
#   rd     vs the same floor (rd's text output makes it output-bound)
#   ptov   vs reading every pagemap entry of every mapping of every process
#          (bench/pagemap_floor), the plain way to answer it
#   rd -s  vs rd without -s: the cost of naming every value that points
#          into an ELF file (over the big range), and of loading the symbol
#          tables for a one-shot rd -s of libc's relocated data
# and the peak RSS of find and ptov. Prints README table rows; medians of
# interleaved rounds. The machine is shared with other work: numbers are
# indicative.
set -euo pipefail
build=${1:-build}
ms="$build/memscope"
tmp=$(mktemp -d)
coproc FIX { exec "$build/tests/fixtures/bigmem" 1024; }
# shellcheck disable=SC2034 # closed by the EXIT trap, which ends the fixture
fix_in=${FIX[1]}
trap 'exec {fix_in}>&-; wait 2>/dev/null; rm -rf "$tmp"' EXIT
read -r line <&"${FIX[0]}"
echo "$line" >"$tmp/fix.json"
field() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$tmp/fix.json" "$1"; }
pid=$(field pid)
start=$(printf '0x%x' "$(field touched)")
len=$(field touched_len)
rdlen=$((128 << 20))
# libc's first writable mapping: pointers into libc, named by rd -s
read -r libc_rw libc_rw_end < <(awk '/libc\.so/ && $2 ~ /^rw/ {split($1, r, "-"); print "0x" r[1], "0x" r[2]; exit}' "/proc/$pid/maps")
libc_words=$(((libc_rw_end - libc_rw) / 8))

# Interleaved rounds: each round runs every command once, so that load from
# other work on the machine falls on all of them alike; medians per command.
# Commands are given as lines of JSON arrays; prints one median (s) per line.
rounds() { # runs < commands
	python3 -c '
import json, subprocess, sys, time, statistics
runs = int(sys.argv[1])
cmds = [json.loads(l) for l in sys.stdin if l.strip()]
times = [[] for _ in cmds]
for c in cmds:  # warm-up
    subprocess.run(c, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
for _ in range(runs):
    for i, c in enumerate(cmds):
        t = time.perf_counter()
        subprocess.run(c, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        times[i].append(time.perf_counter() - t)
for t in times:
    print(statistics.median(t))
' "$1"
}
j() { python3 -c 'import json,sys; print(json.dumps(sys.argv[1:]))' "$@"; }
# peak RSS in KiB of one run (output discarded), by GNU time: a child of a
# small process, so the peak is memscope's own
peak() {
	/usr/bin/time -f %M -o "$tmp/rss" "$@" >/dev/null 2>&1 || true
	tail -1 "$tmp/rss"
}

{ read -r find_s; read -r findc_s; read -r floor_s; read -r rd_s; read -r rdfloor_s; read -r rdraw_s; } < <(rounds 10 <<CMDS
$(j "$ms" -p "$pid" find -s "$start" -l "$len" 0xdeadbeefcafebabe)
$(j "$ms" -p "$pid" find -c -s "$start" -l "$len" no-such-string-here)
$(j "$build/bench/readv_floor" "$pid" "$start" "$len")
$(j "$ms" -p "$pid" rd -64 "$start" $((rdlen / 8)))
$(j "$build/bench/readv_floor" "$pid" "$start" "$rdlen")
$(j "$ms" -p "$pid" rd -r /dev/null "$start" "$len")
CMDS
)
{ read -r rds_s; read -r rdplain_s; read -r rdslibc_s; read -r rdlibc_s; } < <(rounds 10 <<CMDS
$(j "$ms" -p "$pid" rd -s "$start" $((rdlen / 8)))
$(j "$ms" -p "$pid" rd -64 "$start" $((rdlen / 8)))
$(j "$ms" -p "$pid" rd -s "$libc_rw" "$libc_words")
$(j "$ms" -p "$pid" rd -64 "$libc_rw" "$libc_words")
CMDS
)
{ read -r find2_s; read -r gdb_s; } < <(rounds 3 <<CMDS
$(j "$ms" -p "$pid" find -s "$start" -l "$len" 0xdeadbeefcafebabe)
$(j gdb -batch -nx -p "$pid" -ex "find /g $start, +$len, 0xdeadbeefcafebabe")
CMDS
)
find_rss=$(peak "$ms" -p "$pid" find -s "$start" -l "$len" 0xdeadbeefcafebabe)

if [ "$(id -u)" -eq 0 ]; then
	# a page of the fixture: its PFN from pagemap
	pfn=$(python3 - "$pid" "$(field touched)" <<'PY'
import struct, sys
pid, addr = int(sys.argv[1]), int(sys.argv[2]) + 12345 * 4096
with open(f"/proc/{pid}/pagemap", "rb") as f:
    f.seek(addr // 4096 * 8)
    print(struct.unpack("<Q", f.read(8))[0] & ((1 << 55) - 1))
PY
)
	paddr=$(printf '%x' $((pfn * $(getconf PAGESIZE))))
	nproc_all=$(ls -d /proc/[0-9]* | wc -l)
	{ read -r ptov_s; read -r ptovall_s; read -r pmfloor_s; } < <(rounds 10 <<CMDS
$(j "$ms" ptov "$paddr")
$(j "$ms" ptov --all "$paddr")
$(j "$build/bench/pagemap_floor" "$pfn")
CMDS
)
	ptov_rss=$(peak "$ms" ptov --all "$paddr")
else
	ptov_s=0 ptovall_s=0 pmfloor_s=0 ptov_rss=0 nproc_all=0
fi

python3 - "$find_s" "$findc_s" "$floor_s" "$gdb_s" "$rd_s" "$rdfloor_s" "$find_rss" \
	"$ptov_s" "$ptovall_s" "$pmfloor_s" "$ptov_rss" "$len" "$rdlen" "$nproc_all" "$find2_s" \
	"$rds_s" "$rdplain_s" "$rdslibc_s" "$rdlibc_s" "$libc_words" "$rdraw_s" <<'PY'
import sys
(find, findc, floor, gdb, rd, rdfloor, find_rss, ptov, ptovall, pmfloor, ptov_rss,
 length, rdlen, nprocs, find2, rds, rdplain, rdslibc, rdlibc,
 libc_words, rdraw) = (float(x) for x in sys.argv[1:22])
gib = length / 2**30
gbs = lambda sec, n=length: f"{n / sec / 1e9:.1f} GB/s"
print(f"| find, 64-bit value over {gib:.0f} GiB of present memory, median | {find*1000:.0f} ms, "
      f"{gbs(find)} | process_vm_readv of the same bytes (floor) {floor*1000:.0f} ms, {gbs(floor)} "
      f"| {find/floor:.2f}x | >= 2 GB/s |")
print(f"| find -c, a string over {gib:.0f} GiB, median | {findc*1000:.0f} ms, {gbs(findc)} "
      f"| same floor {floor*1000:.0f} ms | {findc/floor:.2f}x | >= 2 GB/s |")
print(f"| find, same value and range as gdb, median | {find2*1000:.0f} ms | gdb -p find /g "
      f"(attach included) {gdb*1000:.0f} ms | {find2/gdb:.2f}x | faster than gdb |")
print(f"| rd -r (raw copy) of {gib:.0f} GiB to /dev/null, median | {rdraw*1000:.0f} ms, "
      f"{gbs(rdraw)} | process_vm_readv of the same bytes (floor) {floor*1000:.0f} ms, "
      f"{gbs(floor)} | {rdraw/floor:.2f}x | >= 2 GB/s |")
print(f"| rd -64 of {rdlen / 2**20:.0f} MiB to /dev/null, median | {rd*1000:.0f} ms, "
      f"{gbs(rd, rdlen)} ({rdlen / 16 * 71 / rd / 1e9:.1f} GB/s of text) "
      f"| process_vm_readv of the same bytes (floor) {rdfloor*1000:.0f} ms | {rd/rdfloor:.1f}x "
      f"| output-bound |")
print(f"| rd -s of {rdlen / 2**20:.0f} MiB (values in no ELF file) to /dev/null, median "
      f"| {rds*1000:.0f} ms | rd -64 of the same {rdplain*1000:.0f} ms | {rds/rdplain:.2f}x "
      f"| close to 1x |")
print(f"| rd -s of libc's relocated data ({libc_words:.0f} words, mostly symbols), one-shot, "
      f"median | {rdslibc*1000:.1f} ms | rd -64 of the same {rdlibc*1000:.1f} ms "
      f"| {rdslibc/rdlibc:.1f}x | < 10 ms |")
print(f"| peak RSS of find over {gib:.0f} GiB | {find_rss/1024:.1f} MiB | | | < 64 MiB |")
if ptov:
    print(f"| ptov of a fixture page, stops at kpagecount, {nprocs:.0f} processes, median "
          f"| {ptov*1000:.0f} ms | | | < 1 s |")
    print(f"| ptov --all, every present page of {nprocs:.0f} processes, median "
          f"| {ptovall*1000:.0f} ms | every pagemap entry of every mapping (floor) "
          f"{pmfloor*1000:.0f} ms | {ptovall/pmfloor:.2f}x | < 1 s |")
    print(f"| peak RSS of ptov --all | {ptov_rss/1024:.1f} MiB | | | < 64 MiB |")
PY
