#!/usr/bin/env bash
# vm -p and vm --summary on a process with 4 GiB of touched anonymous memory
# (1,048,576 pages), against the floor: bench/vm_floor, which only reads the
# same pagemap entries in large chunks and prints one hex pair per page.
# Wall times are hyperfine medians; output goes to /dev/null. Prints README
# table rows; notes (load average, raw numbers) go to stderr.
set -euo pipefail
build=${1:-build}
memscope=$build/memscope
floor=$build/bench/vm_floor
fixture=$build/tests/fixtures/memfix
mib=${BENCH_VM_MIB:-4096}
runs=${BENCH_RUNS:-15}

for tool in hyperfine python3; do
	command -v "$tool" >/dev/null || {
		echo "bench_vm: $tool is missing" >&2
		exit 1
	}
done

tmp=$(mktemp -d)
fixture_pid=
cleanup() {
	exec 3>&- 2>/dev/null || true
	if [ -n "$fixture_pid" ]; then
		kill "$fixture_pid" 2>/dev/null || true
		wait "$fixture_pid" 2>/dev/null || true
	fi
	rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

# The fixture lives while the fifo is held open.
mkfifo "$tmp/in"
"$fixture" --big "$mib" <"$tmp/in" >"$tmp/info" &
fixture_pid=$!
exec 3>"$tmp/in"
for _ in $(seq 600); do
	[ -s "$tmp/info" ] && break
	sleep 0.1
done
pid=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["pid"])' "$tmp/info")
pages=$((mib * 256))

echo "bench_vm: target pid $pid, $mib MiB touched; load average $(cut -d' ' -f1-3 /proc/loadavg)" >&2

hyperfine -N --warmup 3 --runs "$runs" --export-json "$tmp/h.json" \
	"$floor $pid" "$memscope vm -p $pid" "$memscope vm --summary $pid" >/dev/null 2>&1

maxrss() { # KiB, median of three runs
	for _ in 1 2 3; do
		/usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1
	done | sort -n | sed -n 2p
}
rss_p=$(maxrss "$memscope" vm -p "$pid")
rss_json=$(maxrss "$memscope" --json vm -p "$pid")
rss_sum=$(maxrss "$memscope" vm --summary "$pid")

python3 - "$tmp/h.json" "$pages" "$rss_p" "$rss_json" "$rss_sum" <<'EOF'
import json, sys
h = json.load(open(sys.argv[1]))["results"]
pages = int(sys.argv[2])
rss_p, rss_json, rss_sum = (int(x) for x in sys.argv[3:6])
med = [r["median"] * 1000 for r in h]
floor, vmp, summ = med
print(f"bench_vm: medians floor {floor:.1f} ms, vm -p {vmp:.1f} ms, vm --summary {summ:.1f} ms",
      file=sys.stderr)
what = f"{pages * 4 // 1024 // 1024} GiB touched ({pages:,} pages)"
print(f"| `vm -p`, {what}, to /dev/null | {vmp:.0f} ms | floor {floor:.0f} ms "
      f"| {vmp / floor:.2f}x | within 1.5x |")
print(f"| `vm --summary`, {what} | {summ:.0f} ms | floor {floor:.0f} ms "
      f"| {summ / floor:.2f}x | within 1.2x |")
print(f"| max RSS of memscope: `vm -p` / `--json vm -p` / `vm --summary`, {what} "
      f"| {rss_p / 1024:.1f} / {rss_json / 1024:.1f} / {rss_sum / 1024:.1f} MiB | | | < 64 MiB |")
EOF
