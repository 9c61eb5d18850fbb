#!/usr/bin/env bash
# physmap over all of RAM against the floor: a plain read of /proc/kpageflags
# over the same PFN range (bench/kpageflags_floor). And frag, whose target is
# 20 ms, against reading the three /proc files it parses. Needs root.
# Prints README table rows; medians of hyperfine runs. The machine may be
# shared: numbers are indicative.
set -euo pipefail
build=${1:-build}
ms="$build/memscope"
floor="$build/bench/kpageflags_floor"
if [ "$(id -u)" -ne 0 ]; then
	echo "| physmap: needs root | | | | |"
	exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
read -r start end < <("$ms" --json physmap | python3 -c \
	'import json,sys; d=json.load(sys.stdin); print(int(d["start_pfn"],16), int(d["end_pfn"],16))')
gib=$(python3 -c "print(f'{($end - $start) * $(getconf PAGESIZE) / 2**30:.0f}')")

median() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["results"][0]["median"])' "$1"; }

hyperfine -N --warmup 2 --runs 15 --export-json "$tmp/pm.json" "$ms physmap" >/dev/null 2>&1
hyperfine -N --warmup 2 --runs 15 --export-json "$tmp/floor.json" "$floor $start $end" >/dev/null 2>&1
hyperfine -N --warmup 3 --runs 50 --export-json "$tmp/frag.json" "$ms frag" >/dev/null 2>&1
hyperfine -N --warmup 3 --runs 50 --export-json "$tmp/cat.json" \
	"cat /proc/buddyinfo /proc/zoneinfo /proc/pagetypeinfo" >/dev/null 2>&1

python3 - "$(median "$tmp/pm.json")" "$(median "$tmp/floor.json")" \
	"$(median "$tmp/frag.json")" "$(median "$tmp/cat.json")" "$gib" <<'PY'
import sys
pm, floor, frag, cat, gib = (float(x) for x in sys.argv[1:6])
print(f"| physmap, all of RAM ({gib:.0f} GiB of PFNs), median | {pm*1000:.0f} ms "
      f"| read of /proc/kpageflags (floor) {floor*1000:.0f} ms | {pm/floor:.2f}x | <= 1.5x |")
print(f"| frag (buddyinfo, zoneinfo, pagetypeinfo, indices, verdict), median | {frag*1000:.1f} ms "
      f"| cat of the three files {cat*1000:.1f} ms | {frag/cat:.1f}x | < 20 ms |")
PY
