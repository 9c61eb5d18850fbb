"""Cores written by the kernel, as memscope's target.
# exclusive: sets /proc/sys/kernel/core_pattern (machine-wide) for a moment,
# and restores it, with RLIMIT_CORE, in finally.
"""
import os
import resource
import shutil
import signal
import subprocess
import tempfile
import time

import corecheck
import mstest
from mstest import Fixture, memscope, memscope_json

PATTERN = "/proc/sys/kernel/core_pattern"


def kernel_core(tmp, *args):
    """Start corefix, take the truth from /proc, kill it with SIGSEGV and
    return (fixture info, truth, core path). Only root may set core_pattern."""
    mstest.require_root()
    with open(PATTERN) as f:
        old_pattern = f.read().rstrip("\n")
    old_limit = resource.getrlimit(resource.RLIMIT_CORE)
    try:
        with open(PATTERN, "w") as f:
            f.write(os.path.join(tmp, "core.%p"))
        resource.setrlimit(resource.RLIMIT_CORE, (resource.RLIM_INFINITY,) * 2)
        with Fixture("corefix", *args, "-d", tmp) as fx:
            truth = corecheck.capture(fx)
            with open(f"/proc/{fx.pid}/coredump_filter") as f:
                truth["coredump_filter"] = int(f.read(), 16)
            os.kill(fx.pid, signal.SIGSEGV)
            fx.proc.wait(timeout=60)
            assert fx.proc.returncode == -signal.SIGSEGV, fx.proc.returncode
            info = fx.info
    finally:
        with open(PATTERN, "w") as f:
            f.write(old_pattern)
        resource.setrlimit(resource.RLIMIT_CORE, old_limit)
    core = os.path.join(tmp, f"core.{info['pid']}")
    for _ in range(100):
        if os.path.exists(core):
            break
        time.sleep(0.05)
    assert os.path.exists(core), f"the kernel wrote no core in {tmp}: {os.listdir(tmp)}"

    class Info(dict):
        pid = info["pid"]
    return Info(info), truth, core


def test_kernel_core():
    tmp = tempfile.mkdtemp(prefix="memscope-kcore-")
    try:
        fx, truth, core = kernel_core(tmp, "-t", 3)
        page = fx["page_size"]
        assert truth["coredump_filter"] & 0x33 == 0x33, "needs the default coredump_filter"
        info = corecheck.open_core(core)
        assert info["pid"] == fx.pid and info["threads"] == 4
        assert info["signal"].startswith("11 (SIGSEGV), SI_USER from pid ")
        threads = corecheck.check_threads(core, fx, truth)
        # the thread that received the signal comes first
        assert threads[0]["tid"] == fx.pid and threads[0]["signal"]["number"] == 11
        corecheck.check_auxv(core, truth)
        corecheck.check_memory(core, fx, truth)
        files = corecheck.check_segments(core)
        # the kernel's notes, in its order
        notes = corecheck.readelf_notes(core)
        assert notes[:5] == ["NT_PRSTATUS", "NT_PRPSINFO", "NT_SIGINFO", "NT_AUXV", "NT_FILE"]

        def sources(name, pages):
            return [(x[2], x[3].get("hole", False))
                    for x in corecheck.extent_sources(files, fx[name], pages * page)]
        # written anonymous memory: in the core, no holes
        assert sources("anon_written", 32) == [("core", False)]
        # never touched: in the core as a hole, and the core file is sparse
        untouched = corecheck.extent_sources(files, fx["anon_untouched"], 32 * page)
        assert any(src == "core" and e["hole"] and s <= fx["anon_untouched"] and
                   t >= fx["anon_untouched"] + 32 * page for s, t, src, e in untouched), untouched
        st = os.stat(core)
        assert st.st_blocks * 512 < st.st_size, "a kernel core is sparse"
        # MADV_DONTDUMP: a segment with nothing in the core
        m = corecheck.mapping_at(files, fx["anon_dontdump"])
        assert int(m["core_size"], 16) == 0 and sources("anon_dontdump", 4) == [("none", False)]
        # shared anonymous memory is dumped; shared and read-only file mappings are not:
        # they come from the files, which are the ones that were mapped
        assert sources("anon_shared", 4) == [("core", False)]
        assert sources("file_private", 8) == [("file", False)]
        assert sources("file_shared", 4) == [("file", False)]
        assert corecheck.mapping_at(files, fx["file_shared"])["name"] == fx["shared_file"]
        # a privately written file mapping is dumped whole
        assert sources("file_written", 8) == [("core", False)]
        # the ELF header page of libc is in the core, its text comes from the file
        libc = [m for m in files["mappings"] if m["name"] and "/libc.so" in m["name"]]
        assert libc[0]["extents"][0]["source"] == "core"
        assert int(libc[0]["core_size"], 16) == page
        assert any(e["source"] == "file" for m in libc for e in m["extents"])
        # names the core does not record, recovered from auxv and registers
        main_sp = int(threads[0]["sp"], 16)
        assert corecheck.mapping_at(files, main_sp)["name"] == "[stack]"
        vdso = [a for a in truth["auxv"] if a[0] == 33][0][1]
        assert corecheck.mapping_at(files, vdso)["name"] == "[vdso]"
        # every mapping of the process is one of the core's, with its file
        live = {(s, e, n) for s, e, _, _, n in truth["maps"] if n.startswith("/")}
        ours = {(int(m["start"], 16), int(m["end"], 16), m["name"]) for m in files["mappings"]
                if m["name"] and m["name"].startswith("/")}
        assert {(s, e, n.replace(" (deleted)", "")) for s, e, n in live} == ours
    finally:
        shutil.rmtree(tmp)


def test_kernel_core_interactive():
    """The prompt on a kernel core: sys, threads, registers."""
    tmp = tempfile.mkdtemp(prefix="memscope-kcore-")
    try:
        fx, truth, core = kernel_core(tmp, "-t", 1)
        p = memscope("-c", core, input="sys\ninfo threads\ninfo registers rip\nquit\n")
        assert f"DUMPFILE: {core}" in p.stdout and "SIGNAL: 11 (SIGSEGV)" in p.stdout
        assert p.stdout.count("LWP ") == 2
        pc = truth["threads"][fx.pid][3]
        assert f"rip            {pc:#x}" in p.stdout, p.stdout
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    mstest.main()
