#!/usr/bin/env bash
# vm -p and vm --summary on a process with 4 GiB of touched anonymous memory
# (1,048,576 pages), against the floor: bench/vm_floor, which only reads the
# same pagemap entries in large chunks and prints one hex pair per page.
# Wall times are medians of interleaved rounds; output goes to /dev/null. Prints README
# table rows; notes (load average, raw numbers) go to stderr.
set -euo pipefail
build=${1:-build}
memscope=$build/memscope
floor=$build/bench/vm_floor
fixture=$build/tests/fixtures/memfix
mib=${BENCH_VM_MIB:-4096}
runs=${BENCH_RUNS:-15}

command -v python3 >/dev/null || {
	echo "bench_vm: python3 is missing" >&2
	exit 1
}

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

# Interleaved rounds (floor, vm -p, vm --summary, again and again): load
# from elsewhere on the shared machine falls on all three alike.
python3 - "$runs" "$floor $pid" "$memscope vm -p $pid" "$memscope vm --summary $pid" \
	>"$tmp/medians" <<'EOF'
import statistics, subprocess, sys, time
runs, cmds = int(sys.argv[1]), [c.split() for c in sys.argv[2:]]
times = [[] for _ in cmds]
for r in range(runs + 3):  # three rounds of warm-up
    for i, c in enumerate(cmds):
        t = time.perf_counter()
        subprocess.run(c, stdout=subprocess.DEVNULL, check=True)
        if r >= 3:
            times[i].append(time.perf_counter() - t)
print(" ".join(f"{statistics.median(t) * 1000:.2f}" for t in times))
EOF

maxrss() { # KiB, median of three runs
	for _ in 1 2 3; do
		/usr/bin/time -f %M "$@" 2>&1 >/dev/null | tail -1
	done | sort -n | sed -n 2p
}
rss_p=$(maxrss "$memscope" vm -p "$pid")
rss_json=$(maxrss "$memscope" --json vm -p "$pid")
rss_sum=$(maxrss "$memscope" vm --summary "$pid")

python3 - "$(cat "$tmp/medians")" "$pages" "$rss_p" "$rss_json" "$rss_sum" <<'EOF'
import sys
floor, vmp, summ = (float(x) for x in sys.argv[1].split())
pages = int(sys.argv[2])
rss_p, rss_json, rss_sum = (int(x) for x in sys.argv[3:6])
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
