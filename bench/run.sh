#!/usr/bin/env bash
# make bench: run every bench/bench_*.sh against the same build and print the
# README's performance table. Each script prints table rows:
#   | what | memscope | peer | ratio | target |
# and may print notes on stderr. Run on an otherwise idle machine.
set -euo pipefail
build=${1:-build}
here=$(cd "$(dirname "$0")" && pwd)
export MEMSCOPE="$build/memscope" MEMSCOPE_BUILD="$build" MEMSCOPE_NO_PROGRESS=1
cpu=$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ *//')
echo "date: $(date -u +%Y-%m-%d), machine: $(nproc) CPUs ($cpu), $(free -g | awk '/Mem:/{print $2}') GiB, kernel $(uname -r)"
echo "command: make bench"
echo
echo "| what | memscope | peer | ratio | target |"
echo "| --- | --- | --- | --- | --- |"
for script in "$here"/bench_*.sh; do
	[ -e "$script" ] || continue
	bash "$script" "$build" || echo "| $(basename "$script"): failed | | | | |"
done
