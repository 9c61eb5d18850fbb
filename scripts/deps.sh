#!/bin/sh
# Install the Debian packages memscope needs to build, test and benchmark.
# As root, missing packages are installed with apt-get; otherwise the
# missing ones are listed with the command to install them.
# bt: g++ builds the C++ fixture; libiberty-dev is the GNU demangler (C++ and
# Rust, as gdb demangles); libdebuginfod1 lets libdwfl ask debuginfod servers;
# debuginfod (a server) and libc6-dbg (libc's debug info) are for the tests.
set -eu

packages="build-essential clang meson ninja-build pkg-config
libelf-dev libdw-dev libcapstone-dev libedit-dev check
elfutils gdb python3 libxml2-utils libpng-dev zlib1g-dev pngcheck
clang-format hyperfine procps util-linux file time
g++ libiberty-dev libdebuginfod1 debuginfod libc6-dbg binutils
bc pyflakes3 shellcheck"

missing=""
for p in $packages; do
	status=$(dpkg-query -W -f='${Status}' "$p" 2>/dev/null || true)
	case "$status" in
	*"install ok installed"*) ;;
	*) missing="$missing $p" ;;
	esac
done

if [ -z "$missing" ]; then
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "memscope: missing packages:$missing" >&2
	echo "install them as root with: apt-get install$missing" >&2
	exit 1
fi

echo "memscope: installing:$missing"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing
