#!/usr/bin/env bash
# gcore of a process with 2 GiB of touched memory and 50 threads: how long
# the target is frozen, the wall time against the floor (copying the present
# pages into a sparse file, nothing else) and against gdb's gcore, and
# memscope's own peak memory. Prints README table rows; notes go to stderr.
# Medians of several runs, interleaved; every output file is removed (and
# synced away) before the next run so that writeback of one run does not
# slow the next.
#
# Wall times are taken in two states of the machine's free memory, because on
# a virtual machine with free page reporting (virtio-balloon) they differ by
# 2-3x: memory freed a moment ago is still backed by the host ("warm"), while
# memory freed a few seconds earlier has been given back to it and every page
# the page cache takes costs a host fault ("cold"). Left to chance, the state
# a run meets decides its time more than the program does.
set -euo pipefail
build=${1:-build}
memscope=${MEMSCOPE:-$build/memscope}
fixture=$build/tests/fixtures/gcorefix
floor=$build/bench/gcore_floor
fork_floor=$build/bench/fork_floor
runs=${GCORE_BENCH_RUNS:-7}
gdb_runs=${GCORE_BENCH_GDB_RUNS:-3}
mib=${GCORE_BENCH_MIB:-2048}
threads=${GCORE_BENCH_THREADS:-50}

dir=$(mktemp -d "${GCORE_BENCH_DIR:-/tmp}/memscope-bench-gcore.XXXXXX")
fixture_pid=
cleanup() {
	{ exec 3>&-; } 2>/dev/null || true
	[ -n "$fixture_pid" ] && kill "$fixture_pid" 2>/dev/null || true
	rm -rf "$dir"
}
trap cleanup EXIT

median() { sort -g | awk '{a[NR]=$1} END {if (NR % 2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }
now() { date +%s.%N; }

# Make the fixture write every page of its big region again: a process at
# work has writable page tables, which fork must write-protect (a repeated
# dump of an idle process finds them read-only already and forks faster).
touch_fixture() {
	local before
	before=$(grep -c touched "$dir/info" || true)
	echo touch >&3
	for _ in $(seq 600); do
		[ "$(grep -c touched "$dir/info" || true)" -gt "$before" ] && return
		sleep 0.05
	done
	echo "the fixture did not answer" >&2
	exit 1
}

# Start the fixture with its stdin held open on fd 3; $1: extra arguments.
start_fixture() {
	{ exec 3>&-; } 2>/dev/null || true
	[ -n "$fixture_pid" ] && kill "$fixture_pid" 2>/dev/null || true
	rm -f "$dir/in"
	mkfifo "$dir/in"
	"$fixture" threads="$threads" big="$mib" "$@" <"$dir/in" >"$dir/info" &
	exec 3>"$dir/in"
	for _ in $(seq 600); do
		[ -s "$dir/info" ] && break
		sleep 0.1
	done
	fixture_pid=$(sed -n 's/^{"pid": \([0-9]*\),.*/\1/p' "$dir/info")
	[ -n "$fixture_pid" ] || { echo "the fixture did not start" >&2; exit 1; }
}

fresh() { rm -f "$dir"/core* "$dir"/floor.out; sync; }

# How long freed memory takes to reach the host: the kernel's page reporting
# waits 2 s after a free before it reports.
settle=${GCORE_BENCH_SETTLE:-4}

# $1: warm or cold. The previous run's file is removed just before the timed
# run (warm) or that long before it (cold).
prepare() {
	fresh
	[ "$1" = cold ] && sleep "$settle"
	return 0
}

# $1: warm or cold; more arguments go to gcore. Prints: frozen ms, wall s,
# method, and how long the fork made first stopped its thread (0: none).
run_memscope() {
	local state=$1
	shift
	touch_fixture
	prepare "$state"
	/usr/bin/time -f "%M" -o "$dir/rss" "$memscope" --json gcore "$@" -o "$dir/core" "$fixture_pid" \
		>"$dir/out.json"
	python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(d["frozen_ms"], d["seconds"], d["method"], d.get("fork_thread_stopped_ms", 0))' \
		"$dir/out.json"
}

run_floor() {
	prepare "$1"
	local t0 t1
	t0=$(now)
	"$floor" "$fixture_pid" "$dir/floor.out"
	t1=$(now)
	echo "$t1 - $t0" | bc -l
}

# gdb's gcore keeps the process stopped for as long as it is attached: watch
# TracerPid to see how long that is.
run_gdb() {
	fresh
	local t0 t1 first='' last=''
	t0=$(now)
	gcore -o "$dir/core.gdb" "$fixture_pid" >/dev/null 2>&1 &
	local g=$!
	while kill -0 "$g" 2>/dev/null; do
		if ! grep -q '^TracerPid:[[:space:]]*0$' "/proc/$fixture_pid/status"; then
			[ -z "$first" ] && first=$(now)
			last=$(now)
		fi
		sleep 0.01
	done
	wait "$g"
	t1=$(now)
	echo "$(echo "$t1 - $t0" | bc -l) $(echo "${last:-0} - ${first:-0}" | bc -l)"
}

start_fixture
run_floor warm >/dev/null # so that the first warm run finds freed page cache
ms_frozen=() ms_forkstop=() rss=()
declare -A ms_wall fl_wall
for i in $(seq "$runs"); do
	for state in warm cold; do
		read -r f w m k < <(run_memscope "$state")
		[ "$m" = fork ] || echo "bench_gcore: run $i dumped without a fork snapshot" >&2
		ms_frozen+=("$f") ms_forkstop+=("$k") rss+=("$(cat "$dir/rss")")
		ms_wall[$state]+="$w "
		fl_wall[$state]+="$(run_floor "$state") "
	done
done
# the fork made with every thread frozen (--fork-frozen): what fork first saves
classic_frozen=()
for i in $(seq "$runs"); do
	read -r f _ _ _ < <(run_memscope warm --fork-frozen)
	classic_frozen+=("$f")
done
gdb_wall=() gdb_frozen=()
if command -v gcore >/dev/null; then
	for i in $(seq "$gdb_runs"); do
		read -r w f < <(run_gdb)
		gdb_wall+=("$w") gdb_frozen+=("$f")
	done
fi
fresh

# the floor of the frozen time: a bare fork of as much freshly written memory
forkf=$("$fork_floor" "$mib" "$runs")
frozen=$(printf '%s\n' "${ms_frozen[@]}" | median)
forkstop=$(printf '%s\n' "${ms_forkstop[@]}" | median)
classic=$(printf '%s\n' "${classic_frozen[@]}" | median)
wall=$(printf '%s\n' ${ms_wall[warm]} | median)
maxrss=$(printf '%s\n' "${rss[@]}" | sort -n | tail -1)

# the same with transparent huge pages: fork copies 1,024 page-table entries, not 524,288
start_fixture thp
thp_frozen=()
for i in $(seq "$runs"); do
	read -r f _ _ _ < <(run_memscope warm)
	thp_frozen+=("$f")
done
fresh
thpf=$(printf '%s\n' "${thp_frozen[@]}" | median)

what="gcore, ${mib} MiB touched, ${threads} threads"
if [ ${#gdb_wall[@]} -gt 0 ]; then
	gw=$(printf '%s\n' "${gdb_wall[@]}" | median)
	gf=$(printf '%s\n' "${gdb_frozen[@]}" | median)
	printf '| %s: target frozen, median of %d | %.1f ms | gdb gcore: %.2f s | %.3fx | <= 30 ms |\n' \
		"$what" "${#ms_frozen[@]}" "$frozen" "$gf" "$(echo "$frozen / 1000 / $gf" | bc -l)"
else
	printf '| %s: target frozen, median of %d | %.1f ms | (no gdb) | | <= 30 ms |\n' \
		"$what" "${#ms_frozen[@]}" "$frozen"
fi
printf '| %s: target frozen, median | %.1f ms | bare fork() of as much written memory: %.1f ms | %.2fx | <= 30 ms |\n' \
	"$what" "$frozen" "$forkf" "$(echo "$frozen / $forkf" | bc -l)"
printf '| %s: target frozen, fork made frozen (--fork-frozen), median of %d | %.1f ms | bare fork(): %.1f ms | %.2fx | |\n' \
	"$what" "$runs" "$classic" "$forkf" "$(echo "$classic / $forkf" | bc -l)"
printf '| %s: the forking thread alone stopped for the fork made first, median | %.1f ms | bare fork(): %.1f ms | %.2fx | |\n' \
	"$what" "$forkstop" "$forkf" "$(echo "$forkstop / $forkf" | bc -l)"
printf '| %s, huge pages: target frozen, median | %.1f ms | | | <= 30 ms |\n' "$what" "$thpf"
# each memscope run against the floor run right after it, in the same state:
# the machine's memory bandwidth drifts between runs more than the two differ
for state in warm cold; do
	case $state in
	warm) how="freed memory still backed by the host" ;;
	cold) how="freed memory given back to the host first" ;;
	esac
	w=$(printf '%s\n' ${ms_wall[$state]} | median)
	flw=$(printf '%s\n' ${fl_wall[$state]} | median)
	printf '| %s: wall time (%s), median of %d | %.2f s | floor (sparse copy of the present pages): %.2f s | %.2fx | <= 1.2x |\n' \
		"$what" "$how" "$runs" "$w" "$flw" "$(echo "$w / $flw" | bc -l)"
	read -ra a <<<"${ms_wall[$state]}"
	read -ra b <<<"${fl_wall[$state]}"
	paired=$(for i in "${!a[@]}"; do echo "${a[$i]} / ${b[$i]}" | bc -l; done | median)
	printf '| %s: the same, each run against the floor run right after it, median of the %d ratios | | | %.2fx | <= 1.2x |\n' \
		"$what" "$runs" "$paired"
done
if [ ${#gdb_wall[@]} -gt 0 ]; then
	printf '| %s: wall time (warm), median | %.2f s | gdb gcore: %.2f s | %.2fx | <= 1x |\n' \
		"$what" "$wall" "$gw" "$(echo "$wall / $gw" | bc -l)"
fi
printf '| %s: memscope max resident memory | %.1f MiB | | | < 64 MiB |\n' "$what" \
	"$(echo "$maxrss / 1024" | bc -l)"

{
	echo "bench_gcore: memscope frozen ms: ${ms_frozen[*]}"
	echo "bench_gcore: forking thread stopped ms: ${ms_forkstop[*]}; --fork-frozen frozen ms: ${classic_frozen[*]}"
	echo "bench_gcore: memscope wall s, warm: ${ms_wall[warm]}; cold: ${ms_wall[cold]}"
	echo "bench_gcore: floor wall s, warm: ${fl_wall[warm]}; cold: ${fl_wall[cold]}"
	echo "bench_gcore: gdb wall s: ${gdb_wall[*]:-}; gdb frozen s: ${gdb_frozen[*]:-}"
	echo "bench_gcore: huge pages frozen ms: ${thp_frozen[*]}"
	echo "bench_gcore: load average $(cut -d' ' -f1-3 /proc/loadavg) (the machine is shared: indicative numbers)"
} >&2
