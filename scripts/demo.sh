#!/bin/sh
# make run: start the bundled demo process and show its memory the way
# crash's `vm -p` does, from user space.
set -eu
build=${1:-build}
fifo=$(mktemp -u)
mkfifo "$fifo"
# The demo lives while its stdin is open; closing the fifo ends it.
"$build/tests/fixtures/memfix" <"$fifo" >"$fifo.out" &
demo=$!
exec 3>"$fifo"
trap 'exec 3>&-; kill $demo 2>/dev/null || true; wait $demo 2>/dev/null || true; rm -f "$fifo" "$fifo.out"' EXIT INT TERM
while [ ! -s "$fifo.out" ]; do sleep 0.05; done
echo "demo process: pid $demo"
echo "\$ memscope sys"
"$build/memscope" -p "$demo" sys
