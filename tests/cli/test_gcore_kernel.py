# exclusive: sets /proc/sys/kernel/core_pattern for a moment (restored in finally)
"""memscope gcore against the kernel's own core dump of the same process:
two copies of the fixture started alike without address randomization, one
dumped by memscope, the other killed with SIGABRT and dumped by the kernel.
Their program headers, notes and sizes must agree, and memscope's core must
take no more disk space than the kernel's."""
import os
import re
import resource
import shutil
import signal
import subprocess
import tempfile
import time

import elfcore
import mstest
from elfcore import Core
from mstest import memscope_json

PAGE = mstest.PAGE
FIXTURE = os.path.join(mstest.FIXTURES, "gcorefix")
ARGS = ["threads=3", "big=16"]


class Twin:
    """A copy of the fixture without ASLR; core=True lets it dump core."""

    def __init__(self, core=False):
        def limits():
            if core:
                resource.setrlimit(resource.RLIMIT_CORE,
                                   (resource.RLIM_INFINITY, resource.RLIM_INFINITY))
        self.proc = subprocess.Popen(["setarch", "-R", FIXTURE, *ARGS], stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE, preexec_fn=limits)
        mstest._procs.append(self.proc)
        import json
        self.info = json.loads(self.proc.stdout.readline())
        self.pid = self.info["pid"]


def kernel_core(tmp):
    with open("/proc/sys/kernel/core_pattern") as f:
        saved = f.read()
    try:
        with open("/proc/sys/kernel/core_pattern", "w") as f:
            f.write(os.path.join(tmp, "kcore.%p"))
        twin = Twin(core=True)
        twin.proc.send_signal(signal.SIGABRT)
        twin.proc.wait(timeout=60)
    finally:
        with open("/proc/sys/kernel/core_pattern", "w") as f:
            f.write(saved)
    path = os.path.join(tmp, f"kcore.{twin.pid}")
    for _ in range(100):
        if os.path.exists(path):
            break
        time.sleep(0.05)
    assert os.path.exists(path), "the kernel wrote no core"
    return twin, path


def gdb_warnings(core):
    p = subprocess.run(["gdb", "-batch", "-nx", "-ex", "info threads", FIXTURE, core],
                       capture_output=True, text=True, timeout=120)
    lines = [line for line in (p.stdout + p.stderr).splitlines() if "warning" in line]
    # the same warning for another process differs only in numbers and file names
    return {re.sub(r"\d+", "N", re.sub(r"gcorefix-\w+", "F", line)) for line in lines}


def test_gcore_agrees_with_the_kernels_core():
    mstest.require_root()
    tmp = tempfile.mkdtemp(prefix="memscope-kcore-")
    try:
        ours_twin = Twin()
        ours = os.path.join(tmp, "ours")
        memscope_json("gcore", "-o", ours, ours_twin.pid)
        mstest.assert_running_untraced(ours_twin.pid)
        twin, theirs = kernel_core(tmp)
        a, b = Core(ours), Core(theirs)

        def table(c):
            return [(s["vaddr"], s["memsz"], s["filesz"], s["flags"]) for s in c.loads]
        ta, tb = table(a), table(b)
        assert [t[:2] + t[3:] for t in ta] == [t[:2] + t[3:] for t in tb], "mappings differ"
        for x, y in zip(ta, tb):
            if x == y:
                continue
            # The one difference user space cannot avoid: the kernel dumps a
            # private anonymous mapping whole if it has an anon_vma, even one
            # inherited by merging and holding no page now; memscope sees only
            # pages. Such a mapping holds nothing but holes in the kernel's core.
            assert x[2] == 0 and y[2] == y[1], f"memscope {x} | kernel {y}"
            assert b.read(y[0], y[2]) == bytes(y[2]), f"{y[0]:#x} has data in the kernel's core"

        def notes(c):
            return [(n, t, len(d)) for n, t, d in c.notes]
        assert notes(a) == notes(b), (notes(a), notes(b))
        assert a.note(elfcore.NT_X86_XSAVE_LAYOUT, "LINUX") == \
            b.note(elfcore.NT_X86_XSAVE_LAYOUT, "LINUX")

        du = [os.stat(p).st_blocks * 512 for p in (ours, theirs)]
        assert du[0] <= du[1], f"memscope's core takes {du[0]} bytes, the kernel's {du[1]}"
        assert os.stat(ours).st_size <= os.stat(theirs).st_size

        # the pattern regions hold the same bytes in both
        for name in ("written", "sparse", "dontfork", "wipeonfork", "protnone", "big"):
            start, size = ours_twin.info["regions"][name]
            assert a.read(start, size) == b.read(start, size), name
        extra = gdb_warnings(ours) - gdb_warnings(theirs)
        assert not extra, f"gdb warns about memscope's core only: {extra}"
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


if __name__ == "__main__":
    mstest.main()
