#!/bin/sh
# Run the core reader's fuzzer for a bounded time: fuzz/run.sh FUZZER [SECONDS]
# The corpus grows in FUZZER's directory across runs, seeded from fuzz/seeds
# and the test cores; inputs that crash are written to crashes/ beside it and
# make this script fail. Keep each one as a regression test: copy it to
# tests/data/cores/bad/ (or good/ if it is a valid core) and fix the reader.
set -eu
fuzzer=$1
seconds=${2:-60}
here=$(dirname "$0")
dir=$(dirname "$fuzzer")
corpus=$dir/corpus
crashes=$dir/crashes
mkdir -p "$corpus" "$crashes"
cp "$here"/seeds/* "$here"/../tests/data/cores/good/*.core \
	"$here"/../tests/data/cores/bad/*.core "$corpus"/
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
status=0
"$fuzzer" -max_total_time="$seconds" -max_len=131072 -timeout=10 -rss_limit_mb=2048 \
	-dict="$here"/core.dict -artifact_prefix="$crashes"/ -print_final_stats=1 \
	"$corpus" || status=$?
found=$(find "$crashes" -type f | wc -l)
echo "fuzz: $(find "$corpus" -type f | wc -l) inputs in the corpus, $found crashing inputs in $crashes"
if [ "$status" -ne 0 ] || [ "$found" -ne 0 ]; then
	exit 1
fi
