"""bt on real programs, not only the project's fixtures: Debian's own
/usr/bin/python3 (no debug info for python, libc's from libc6-dbg), cat
blocked on a pipe, sleep, and an everyday -O2 C++ program with std::thread.
Each is compared frame by frame and local by local with gdb's `thread apply
all bt full`, live and on cores written by gdb's generate-core-file and by
memscope gcore.

gdb and memscope never trace the process at the same moment: gdb runs,
detaches, then memscope. Every thread is blocked in a system call that does
not move between the two (no timeouts that count down).
"""
import os
import re
import shutil
import subprocess
import tempfile
import time

import mstest
import test_bt as btcmp
from mstest import memscope

PYTHON = "/usr/bin/python3"

# The main thread blocks in select() with no timeout; the others in a
# sleep, an Event and a Queue (futex waits), as a threaded service would.
PY_THREADS = r"""
import queue, select, threading, time
ev, q = threading.Event(), queue.Queue()
def sleeper():
    time.sleep(100000)
for f in (sleeper, ev.wait, q.get):
    threading.Thread(target=f, daemon=True).start()
print("ready", flush=True)
select.select([], [], [])
"""

# read, poll, select, pselect6, futex, clock_nanosleep, nanosleep, pause
BLOCKING = {"0", "7", "23", "270", "202", "230", "35", "34"}


def settle(pid, nthreads, timeout=20):
    """Wait until the process has nthreads threads, all blocked in a system call."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        tids = os.listdir(f"/proc/{pid}/task")
        ok = len(tids) == nthreads
        for tid in tids:
            try:
                with open(f"/proc/{pid}/task/{tid}/syscall") as f:
                    ok = ok and f.read().split()[0] in BLOCKING
            except OSError:
                ok = False
        if ok:
            time.sleep(0.05)  # past the last instructions before the call
            return
        time.sleep(0.01)
    raise AssertionError(f"process {pid} did not settle")


class Program:
    """A Debian program run for the test; killed when the test ends."""

    def __init__(self, cmd, nthreads=1, ready=None, stdin=subprocess.PIPE):
        if not os.path.exists(cmd[0]):
            raise mstest.Skip(f"{cmd[0]} is not installed")
        self.proc = subprocess.Popen(cmd, stdin=stdin, stdout=subprocess.PIPE,
                                     stderr=subprocess.DEVNULL)
        mstest._procs.append(self.proc)
        self.pid = self.proc.pid
        if ready:
            line = self.proc.stdout.readline().decode()
            assert line.strip() == ready, f"{cmd[0]} said {line!r}"
        settle(self.pid, nthreads)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def gdb_text(*target, full=True):
    """gdb's backtraces, less its warnings about the core (not part of bt)."""
    text = btcmp.gdb_bt(*target, full=full)
    return "\n".join(l for l in text.splitlines() if not l.startswith("warning: "))


def compare(want, got):
    """Same threads, headers, frames, locals and trailers; returns gdb's threads."""
    return btcmp.assert_same_threads(want, got)


def gcores(pid, tmp):
    """(kind, path) of a core of pid written by gdb and one written by memscope."""
    by_gdb = os.path.join(tmp, "core.gdb")
    subprocess.run(["gdb", "-nx", "-batch", "-ex", f"generate-core-file {by_gdb}", "-p",
                    str(pid)], capture_output=True, timeout=120, check=True)
    by_ms = os.path.join(tmp, "core.ms")
    memscope("-p", pid, "gcore", "-o", by_ms)
    mstest.assert_running_untraced(pid)
    return [("gdb", by_gdb), ("memscope", by_ms)]


def check_live_and_cores(prog, exe, full=True):
    """bt --full against gdb on the live process and on both kinds of core."""
    results = {}
    want = gdb_text("-p", prog.pid, full=full)
    mstest.assert_running_untraced(prog.pid)
    got = memscope("-p", prog.pid, "bt", *(["--full"] if full else [])).stdout
    mstest.assert_running_untraced(prog.pid)
    results["live"] = (compare(want, got), got)
    with tempfile.TemporaryDirectory() as tmp:
        for kind, core in gcores(prog.pid, tmp):
            want = gdb_text(exe, core, full=full)
            got = memscope("-c", core, "bt", *(["--full"] if full else [])).stdout
            results[kind] = (compare(want, got), got)
    return results


def frame_lines(text):
    return [l for l in text.splitlines() if l.startswith("#")]


def test_python3_select_shows_pc_as_gdb():
    """Frame 0 sits just after the syscall, inside line 69 of select.c: gdb prints
    the pc there (find_pc_line's row starts before it), and memscope must too."""
    with Program([PYTHON, "-c", PY_THREADS], nthreads=4, ready="ready") as prog:
        results = check_live_and_cores(prog, PYTHON)
    for kind, (_, text) in results.items():
        top = [l for l in frame_lines(text) if l.startswith("#0 ")]
        assert len(top) == 4, (kind, top)
        select = [l for l in top if " __GI___select (" in l]
        assert select and re.match(r"#0  0x[0-9a-f]{16} in __GI___select \(nfds=0, ", select[0]), \
            (kind, select)
        assert select[0].endswith("select.c:69"), (kind, select)


def test_python3_main_executable_has_no_from():
    """gdb never says `from` for the main executable (python3 -> python3.11), on a core
    as live; shared libraries are named as the dynamic linker lists them."""
    with Program([PYTHON, "-c", PY_THREADS], nthreads=4, ready="ready") as prog:
        results = check_live_and_cores(prog, PYTHON, full=False)
    for kind, (_, text) in results.items():
        frames = frame_lines(text)
        assert any(" in _PyEval_EvalFrameDefault () " in l + " " for l in frames), (kind, frames)
        assert not [l for l in frames if " from " in l and "python3" in l], kind


def test_python3_core_by_gdb_without_executable():
    """No -e: the core's own file notes lead to /usr/bin/python3.11."""
    with Program([PYTHON, "-c", PY_THREADS], nthreads=4, ready="ready") as prog, \
            tempfile.TemporaryDirectory() as tmp:
        core = gcores(prog.pid, tmp)[1][1]
        want = gdb_text(PYTHON, core)
        got = memscope("-c", core, "bt", "--full")
        compare(want, got.stdout)
        assert "no debug info for /usr/bin/python3.11" in got.stderr, got.stderr


def test_cat_blocked_on_a_pipe():
    cat = shutil.which("cat") or "/usr/bin/cat"
    r, w = os.pipe()
    try:
        with Program([cat], stdin=r) as prog:
            results = check_live_and_cores(prog, cat)
    finally:
        os.close(r)
        os.close(w)
    for kind, (_, text) in results.items():
        frames = frame_lines(text)
        assert re.match(r"#0  0x[0-9a-f]{16} in __GI___libc_read \(fd=0, ", frames[0]), \
            (kind, frames[0])
        # cat has no debug info and no symbols: ?? frames, never "from cat"
        assert any(re.match(r"#\d+ +0x[0-9a-f]{16} in \?\? \(\)$", l) for l in frames), kind


def test_sleep():
    with Program(["/usr/bin/sleep", "100000"]) as prog:
        results = check_live_and_cores(prog, "/usr/bin/sleep")
    for kind, (_, text) in results.items():
        assert "__GI___clock_nanosleep (" in text, kind


# A call into libc from an inlined function, to a versioned symbol
# (clock_nanosleep@@GLIBC_2.17): the entry values come from the caller's call
# site, found by the callee's name without its version.
NAP_C = r"""
#include <stdio.h>
#include <time.h>
static inline __attribute__((always_inline)) int nap(long s)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += s;
	return clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}
__attribute__((noinline)) int wait_long(long s) { return nap(s); }
int main(void)
{
	puts("ready");
	fflush(stdout);
	return wait_long(100000);
}
"""


def test_entry_values_through_a_versioned_libc_symbol():
    with tempfile.TemporaryDirectory() as tmp:
        src, exe = os.path.join(tmp, "nap.c"), os.path.join(tmp, "nap")
        with open(src, "w") as f:
            f.write(NAP_C)
        subprocess.run(["gcc", "-O2", "-g", "-o", exe, src], check=True)
        with Program([exe], ready="ready") as prog:
            results = check_live_and_cores(prog, exe)
    for kind, (_, text) in results.items():
        top = frame_lines(text)[0]
        assert "__GI___clock_nanosleep (clock_id=clock_id@entry=1, flags=flags@entry=1," in top, \
            (kind, top)


def test_cxx_std_thread_O2():
    """std::thread workers of an -O2 -g program, waiting on a condition variable."""
    exe = os.path.join(mstest.FIXTURES, "btfix-stl")
    with mstest.Fixture("btfix-stl") as fx:
        settle(fx.pid, 4)
        prog = type("P", (), {"pid": fx.pid})
        results = check_live_and_cores(prog, exe)
    for kind, (_, text) in results.items():
        frames = frame_lines(text)
        assert sum(" wait_job (" in l for l in frames) == 3, (kind, frames)
        assert any(" from /lib/x86_64-linux-gnu/libstdc++.so.6" in l for l in frames), kind
        # libstdc++'s pretty-printers, which gdb loads with the library
        assert "tags=std::map with 2 elements = {...})" in text, kind
        assert "        tags = std::map with 2 elements = {[1] = \"one\", [2] = 'x' <repeats 40 times>}" \
            in text, kind
        assert "        words = std::vector of length 2, capacity 2 = {\"alpha\", \"beta\"}" in text, kind
        assert "        seen = std::set with 3 elements = {[0] = 1, [1] = 2, [2] = 3}" in text, kind
        assert re.search(r"        owned = std::unique_ptr<Job> = \{get\(\) = 0x[0-9a-f]+\}\n", text), kind


if __name__ == "__main__":
    mstest.main()
