#!/bin/sh
# make run: start the bundled demo process and show its memory the way
# crash's `vm -p` and `vtop` do, from user space.
set -eu
build=${1:-build}
ms="$build/memscope"
fifo=$(mktemp -u)
mkfifo "$fifo"
# The demo lives while its stdin is open; closing the fifo ends it.
"$build/tests/fixtures/memfix" <"$fifo" >"$fifo.out" &
demo=$!
exec 3>"$fifo"
trap 'exec 3>&-; kill $demo 2>/dev/null || true; wait $demo 2>/dev/null || true; rm -f "$fifo" "$fifo.out"' EXIT INT TERM
while [ ! -s "$fifo.out" ]; do sleep 0.05; done
field() { sed -n "s/.*\"$1\": \\([0-9]*\\).*/\\1/p" "$fifo.out"; }
hex() { printf '%x' "$1"; }
written=$(hex "$(field anon_written)")
thp=$(hex "$(field thp)")

echo "The demo process (pid $demo) has, among others: 64 pages it wrote, 64 it never"
echo "touched, 16 it only read, and a 2 MiB transparent huge page (THP)."
echo
echo "vm -p prints each mapping (START END FLAGS FILE, FLAGS being the kernel's VM_*"
echo "bits), then the physical page behind each virtual page. Here is the mapping with"
echo "the demo's small regions: pages only read share the zero page, untouched ones"
echo "are one line with their count, written ones have pages of their own."
echo
echo "\$ memscope -p $demo vm -p      ($("$ms" -p "$demo" vm -p | wc -l) lines in all; this mapping's first ones:)"
"$ms" -p "$demo" vm -p | awk -v a="$written" '
	/^ *START/ { n = 0 }
	{ block[n++] = $0 }
	/^$/ { if (hit) exit; n = 0 }
	index($0, a " ") == 1 { hit = 1 }
	END { for (i = 0; i < n && i < 24; i++) print block[i]; if (n > 24) print "..." }'
echo
echo "--ranges folds contiguous pages into runs; the THP is 512 pages in a row:"
echo
echo "\$ memscope -p $demo vm -p --ranges | grep -A2 '^$thp-'"
"$ms" -p "$demo" vm -p --ranges | grep -A2 "^$thp-" || true
echo
echo "vtop explains one address: physical address, pagemap bits, kpageflags, map"
echo "count, and the mapping it lies in:"
echo
echo "\$ memscope -p $demo vtop $written"
"$ms" -p "$demo" vtop "$written"
