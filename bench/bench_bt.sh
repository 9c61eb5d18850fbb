#!/usr/bin/env bash
# bt on a 50-thread process (btfix-O2 50: every thread blocked 8 frames deep
# under inlined calls, libc with debug info) and on its core, against
# eu-stack (names only; and with -s -i, the same lines and inlined frames bt
# prints) and gdb's thread apply all bt full. Medians of hyperfine runs; the
# frozen time is what `bt -v` reports. memscope keeps decompressed copies of
# compressed debug files: "warm" runs use them, "cold" runs start from an
# empty cache. The machine may be shared: numbers are indicative.
set -euo pipefail
build=${1:-build}
ms="$(realpath "$build/memscope")"
fixture="$(realpath "$build/tests/fixtures/btfix-O2")"
tmp=$(mktemp -d)
pipe_pid=""
cleanup() {
	[ -n "$pipe_pid" ] && kill "$pipe_pid" 2>/dev/null || true
	pkill -P $$ -x sleep 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

# The fixture lives while its stdin (a sleep) is open.
sleep 100000 | "$fixture" 50 >"$tmp/fx.out" &
pipe_pid=$!
for _ in $(seq 200); do
	[ -s "$tmp/fx.out" ] && break
	sleep 0.05
done
pid=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "$tmp/fx.out")

median() { python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["results"][0]["median"])' "$1"; }
hf() { # name runs command...
	local name=$1 runs=$2
	shift 2
	hyperfine -N --warmup 1 --runs "$runs" --export-json "$tmp/$name.json" "$@" >/dev/null 2>&1
	median "$tmp/$name.json"
}

export MEMSCOPE_CACHE_DIR="$tmp/cache"
"$ms" -p "$pid" bt >/dev/null # fill the cache
bt_warm=$(hf bt_warm 20 "$ms -p $pid bt")
bt_cold=$(hyperfine -N --runs 10 --prepare "rm -rf $tmp/cold" --export-json "$tmp/bt_cold.json" \
	"env MEMSCOPE_CACHE_DIR=$tmp/cold $ms -p $pid bt" >/dev/null 2>&1 && median "$tmp/bt_cold.json")
eu=$(hf eu 20 "eu-stack -p $pid")
eu_si=$(hf eu_si 10 "eu-stack -s -i -p $pid")
full=$(hf full 20 "$ms -p $pid bt --full")
gdb_full=$(hf gdb_full 5 "gdb -nx -batch -ex 'thread apply all bt full' -p $pid")
frozen=$(for _ in $(seq 21); do "$ms" -p "$pid" bt -v 2>&1 >/dev/null |
	sed -n 's/.*frozen for \([0-9.]*\) ms.*/\1/p'; done | sort -n | sed -n 11p)

# The core, written by gdb; read by memscope when core files are a target.
gdb -nx -batch -ex "generate-core-file $tmp/core" -p "$pid" >/dev/null 2>&1
core_rows=""
if "$ms" -c "$tmp/core" bt >/dev/null 2>&1; then
	c_bt=$(hf c_bt 20 "$ms -c $tmp/core -e $fixture bt")
	c_eu=$(hf c_eu 20 "eu-stack --core $tmp/core -e $fixture")
	c_full=$(hf c_full 20 "$ms -c $tmp/core -e $fixture bt --full")
	c_gdb=$(hf c_gdb 5 "gdb -nx -batch -ex 'thread apply all bt full' $fixture $tmp/core")
	core_rows="$c_bt $c_eu $c_full $c_gdb"
fi

python3 - "$bt_warm" "$bt_cold" "$eu" "$eu_si" "$full" "$gdb_full" "$frozen" $core_rows <<'PY'
import sys
v = [float(x) for x in sys.argv[1:8]]
bt_warm, bt_cold, eu, eu_si, full, gdb_full, frozen = v
ms = lambda s: f"{s * 1000:.0f} ms"
print(f"| bt, 50-thread process (warm debug cache), median | {ms(bt_warm)} | eu-stack -p {ms(eu)} "
      f"| {bt_warm / eu:.2f}x | <= 1x |")
print(f"| bt, 50-thread process (cold: inflating libc's debug info), median | {ms(bt_cold)} "
      f"| eu-stack -s -i -p (lines, inlines) {ms(eu_si)} | {bt_cold / eu_si:.2f}x | |")
print(f"| bt --full, 50-thread process, median | {ms(full)} "
      f"| gdb thread apply all bt full {ms(gdb_full)} | {full / gdb_full:.3f}x | <= 0.2x |")
print(f"| bt, time the 50-thread process is stopped (bt -v), median of 21 | {frozen:.2f} ms "
      f"| | | <= 5 ms |")
if len(sys.argv) > 8:
    c_bt, c_eu, c_full, c_gdb = (float(x) for x in sys.argv[8:12])
    print(f"| bt, core of the 50-thread process, median | {ms(c_bt)} | eu-stack --core {ms(c_eu)} "
          f"| {c_bt / c_eu:.2f}x | <= 1x |")
    print(f"| bt --full, core of the 50-thread process, median | {ms(c_full)} "
          f"| gdb thread apply all bt full {ms(c_gdb)} | {c_full / c_gdb:.3f}x | <= 0.2x |")
else:
    print("| bt on a core: core files are not a target on this build | | | | |")
PY
