"""Core files as a target: broken cores fail with one line, the generated core
reads as its generator wrote it, and gdb's cores of a live fixture show the
threads, registers, auxiliary vector and mappings that /proc, readelf and gdb
show. Kernel cores are in test_core_kernel.py (it changes core_pattern)."""
import glob
import os
import re
import shutil
import subprocess
import sys
import tempfile

import corecheck
import mstest
from mstest import Fixture, memscope, memscope_json

HERE = os.path.dirname(os.path.abspath(__file__))
CORES = os.path.join(HERE, "..", "data", "cores")
sys.path.insert(0, CORES)
import gen  # noqa: E402  the generator of the corpus: what the good core holds

GOOD = os.path.join(CORES, "good", "base.core")


def test_corpus_is_current():
    """The committed corpus is what gen.py writes."""
    for name, data in gen.bad_cores().items():
        with open(os.path.join(CORES, "bad", name + ".core"), "rb") as f:
            assert f.read() == data, f"bad/{name}.core is stale: run tests/data/cores/gen.py"
    with open(GOOD, "rb") as f:
        assert f.read() == gen.build()


def test_bad_cores_fail_with_one_line():
    bad = sorted(glob.glob(os.path.join(CORES, "bad", "*.core")))
    assert len(bad) >= 60
    for core in bad:
        for cmd in (["sys"], ["info", "files"], []):
            p = memscope("-c", core, *cmd, check=False, input="info threads\n")
            lines = p.stderr.splitlines()
            assert p.returncode == 2, (core, cmd, p.returncode, p.stderr)
            assert len(lines) == 1 and lines[0].startswith(f"memscope: {core}: "), \
                (core, p.stderr)
            assert p.stdout == "", (core, p.stdout)


def test_fuzz_crashers_stay_fixed():
    """Inputs that once crashed the reader: they open or fail cleanly."""
    for core in sorted(glob.glob(os.path.join(CORES, "fuzz", "*"))):
        p = memscope("-c", core, "info", "files", check=False)
        if p.returncode:
            assert p.returncode == 2 and len(p.stderr.splitlines()) == 1, (core, p.stderr)
            continue
        for cmd in (["info", "threads"], ["info", "registers", "-a"], ["info", "auxv"],
                    ["sys"]):
            p = memscope("-c", core, *cmd, check=False)
            assert p.returncode in (0, 1, 2), (core, cmd, p.returncode)


def test_errors_opening():
    p = memscope("-c", "/nonexistent/core", "sys", check=False)
    assert p.returncode == 2 and p.stderr == "memscope: /nonexistent/core: no such core file\n"
    p = memscope("-c", CORES, "sys", check=False)
    assert p.returncode == 2 and "is a directory" in p.stderr and len(p.stderr.splitlines()) == 1
    p = memscope("-c", GOOD, "-e", "/nonexistent/exe", "sys", check=False)
    assert p.returncode == 2 and p.stderr.startswith("memscope: /nonexistent/exe: ")
    p = memscope("-e", "/bin/true", "sys", check=False)
    assert p.returncode == 64
    p = memscope("-c", GOOD, "vtop-of-nothing", check=False)
    assert p.returncode == 64


def test_unprivileged():
    """A core the user may not read is one line; one they may read works, and
    the files it maps are read as that user."""
    tmp = tempfile.mkdtemp(prefix="memscope-core-")
    try:
        os.chmod(tmp, 0o755)
        secret = os.path.join(tmp, "secret.core")
        shutil.copy(GOOD, secret)
        os.chmod(secret, 0o600)
        p = memscope("-c", secret, "sys", user="nobody", check=False)
        assert p.returncode == 2 and p.stderr == f"memscope: {secret}: Permission denied\n", \
            p.stderr
        shared = os.path.join(tmp, "shared.core")
        shutil.copy(GOOD, shared)
        os.chmod(shared, 0o644)
        info = memscope_json("-c", shared, "sys", user="nobody")
        assert info["pid"] == gen.PID and info["threads"] == 2
    finally:
        shutil.rmtree(tmp)


def test_mapped_fifo_does_not_block():
    """A hostile core may name any path in NT_FILE: a FIFO is not waited on."""
    tmp = tempfile.mkdtemp(prefix="memscope-core-")
    try:
        fifo = os.path.join(tmp, "fifo")
        os.mkfifo(fifo)
        n = gen.good_notes()
        core = os.path.join(tmp, "fifo.core")
        with open(core, "wb") as f:
            f.write(gen.build(notes=n[:4] + [("CORE", gen.NT_FILE, gen.nt_file(
                [(gen.TEXT, gen.TEXT + gen.TEXT_SIZE, 0, fifo)]))] + n[5:]))
        p = memscope("-c", core, "sys", timeout=20)
        assert p.stderr == (f"memscope: warning: {fifo} is not a regular file: its pages "
                            "that are not in the core cannot be read\n"), p.stderr
        p = memscope("-c", fifo, "sys", check=False, timeout=20)
        assert p.returncode == 2 and p.stderr == f"memscope: {fifo}: not a regular file\n"
    finally:
        shutil.rmtree(tmp)


def test_good_core_as_generated():
    for core in (GOOD, os.path.join(CORES, "good", "align8.core")):
        p = memscope("--json", "-c", core, "sys")
        # the executable named by NT_FILE does not exist: said once, as a warning
        assert p.stderr == ("memscope: warning: /nonexistent/basecore: No such file or "
                            "directory: its pages that are not in the core cannot be read\n")
        import json
        info = json.loads(p.stdout)
        assert info["pid"] == gen.PID and info["command"] == gen.COMM
        assert info["args"] == gen.ARGS and info["exe"] == gen.EXE and info["threads"] == 2
        assert info["signal"] == "11 (SIGSEGV), SEGV_MAPERR at 0xdead"
        threads = memscope_json("-c", core, "info", "threads")
        assert [t["tid"] for t in threads] == gen.TIDS
        for i, t in enumerate(threads):
            want = gen.regs_of(i)
            assert {k: int(v, 16) for k, v in t["registers"].items()} == want
            regs = memscope_json("-c", core, "info", "registers", "-t", t["tid"], "xmm0",
                                 "mxcsr")[0]["registers"]
            assert int(regs["xmm0"], 16) == gen.XMM0[i] and int(regs["mxcsr"], 16) == 0x1F80
        assert threads[0]["signal"]["number"] == gen.SIGNO
        assert int(threads[0]["signal"]["address"], 16) == gen.FAULT_ADDR
        assert threads[1]["signal"] is None
        auxv = memscope_json("-c", core, "info", "auxv")
        assert [(a["name"], int(a["value"], 16)) for a in auxv] == \
            [("AT_PAGESZ", 4096), ("AT_ENTRY", gen.ENTRY), ("AT_NULL", 0)]


def test_good_core_mappings():
    files = corecheck.check_segments(GOOD)
    text = corecheck.mapping_at(files, gen.TEXT)
    assert text["name"] == gen.EXE and int(text["file_offset"], 16) == 0
    ext = corecheck.extent_sources(files, gen.TEXT, gen.TEXT_SIZE)
    assert [(s, t, src) for s, t, src, _ in ext] == [
        (gen.TEXT, gen.TEXT + gen.TEXT_FILESZ, "core"),
        (gen.TEXT + gen.TEXT_FILESZ, gen.TEXT + gen.TEXT_SIZE, "none")]
    assert ext[1][3]["why"] == "/nonexistent/basecore: No such file or directory"
    data = corecheck.extent_sources(files, gen.DATA, gen.DATA_SIZE)
    assert [(s, t, src) for s, t, src, _ in data] == [
        (gen.DATA, gen.DATA + gen.DATA_FILESZ, "core"),
        (gen.DATA + gen.DATA_FILESZ, gen.DATA + gen.DATA_SIZE, "none")]
    assert "why" not in data[1][3]
    stack = corecheck.mapping_at(files, gen.STACK)
    assert stack["name"] == "[stack]"  # holds the first thread's stack pointer
    text = memscope("-c", GOOD, "info", "files", check=False).stdout
    assert re.search(r"0x0000000000400400 0x0000000000402000 r-x  not in core "
                     r"\(/nonexistent/basecore: No such file or directory\)  "
                     r"/nonexistent/basecore", text), text


def test_vm_on_good_core():
    loads = corecheck.readelf_loads(GOOD)
    vm = memscope_json("-c", GOOD, "vm", "-p")
    assert vm["total_vm_bytes"] == gen.TEXT_SIZE + gen.DATA_SIZE + gen.STACK_SIZE
    assert vm["in_core_bytes"] == gen.TEXT_FILESZ + gen.DATA_FILESZ + gen.STACK_FILESZ
    text, data, stack = vm["mappings"]
    assert (text["file"], text["flags"], data["flags"]) == (gen.EXE, "0x5", "0x3")
    assert text["pages"] == [
        {"vaddr": hex(gen.TEXT), "state": "core", "offset": hex(loads[0]["offset"])},
        {"vaddr": hex(gen.TEXT + gen.TEXT_FILESZ), "state": "none", "pages": 2,
         "why": "/nonexistent/basecore: No such file or directory"}]
    assert data["pages"][1] == {"vaddr": hex(gen.DATA + gen.DATA_FILESZ), "state": "none",
                                "pages": 3}
    summary = memscope_json("-c", GOOD, "vm", "--summary")["total"]
    assert summary == {"size_bytes": 0x6000, "in_core_bytes": 0xC00, "hole_bytes": 0,
                       "from_file_bytes": 0, "not_in_core_bytes": 0x6000 - 0xC00}


def test_prompt_on_core():
    p = memscope("-c", GOOD, input="sys\ninfo threads\nset\nquit\n", check=False)
    assert p.returncode == 0, p.stderr
    assert "DUMPFILE: " + GOOD in p.stdout and 'COMMAND: "basecore"' in p.stdout
    assert re.search(r"\* 1\s+LWP 4242\s+0x0000000000400010", p.stdout), p.stdout
    assert "CORE: " + GOOD in p.stdout
    p = memscope(input=f"set -c {GOOD}\ninfo registers rip\n", check=False)
    assert re.search(r"^rip\s+0x400010\s+0x400010$", p.stdout, re.M), p.stdout


def test_live_registers_match_proc():
    """info registers on a live process: the same values /proc shows, and
    the process keeps running untraced."""
    with Fixture("corefix", "-d", tempfile.gettempdir()) as fx:
        truth = corecheck.wait_blocked(fx)
        for w in fx["threads"]:
            regs = memscope_json("-p", fx.pid, "info", "registers", "-t", w["tid"],
                                 *corecheck.REG_ARGS, "rip", "rsp", "orig_rax", "xmm0")
            r = regs[0]["registers"]
            nr, args, sp, pc = truth[w["tid"]]
            assert [int(r[k], 16) for k in corecheck.REG_ARGS] == args
            assert (int(r["rip"], 16), int(r["rsp"], 16), int(r["orig_rax"], 16)) == (pc, sp, nr)
            assert r["xmm0"] == w["xmm0"]
        threads = memscope_json("-p", fx.pid, "info", "threads")
        assert {t["tid"] for t in threads} == set(truth)
        mstest.assert_running_untraced(fx.pid)


def gdb_gcore(pid, path):
    p = subprocess.run(["gdb", "-batch", "-nx", "-p", str(pid), "-ex", f"gcore {path}"],
                       capture_output=True, text=True, timeout=120)
    assert os.path.exists(path), p.stdout + p.stderr
    mstest.assert_running_untraced(pid)


def test_gdb_core():
    tmp = tempfile.mkdtemp(prefix="memscope-core-")
    try:
        with Fixture("corefix", "-t", 4, "-d", tmp) as fx:
            truth = corecheck.capture(fx)
            core = os.path.join(tmp, "gdb.core")
            gdb_gcore(fx.pid, core)
            info = corecheck.open_core(core)
            assert info["pid"] == fx.pid and info["command"] == "corefix"
            assert info["exe"] == os.path.realpath(os.path.join(mstest.FIXTURES, "corefix"))
            assert info["threads"] == 5
            corecheck.check_threads(core, fx, truth)
            corecheck.check_auxv(core, truth)
            corecheck.check_memory(core, fx, truth, dontdump_segment=False)
            files = corecheck.check_segments(core)
            # every file mapping of the process is a mapping of the core
            named = {(s, e, name) for s, e, _, _, name in truth["maps"] if name.startswith("/")}
            ours = {(int(m["start"], 16), int(m["end"], 16), m["name"])
                    for m in files["mappings"] if m["name"] and m["name"].startswith("/")}
            assert {n for n in named if not n[2].startswith("/dev/zero")} <= ours
            # gdb leaves out read-only file mappings: their bytes come from the files
            src = corecheck.extent_sources(files, fx["file_private"], 8 * fx["page_size"])
            assert [x[2] for x in src] == ["file"] and src[0][3]["path"] == fx["file"]
    finally:
        shutil.rmtree(tmp)


def test_memscope_gcore_core():
    """memscope's own cores: the same truths as the kernel's, and the same
    layout (what is dumped, what is left out, holes)."""
    tmp = tempfile.mkdtemp(prefix="memscope-core-")
    try:
        with Fixture("corefix", "-t", 3, "-d", tmp) as fx:
            truth = corecheck.capture(fx)
            core = os.path.join(tmp, "ms.core")
            memscope("gcore", "-o", core, fx.pid)
            mstest.assert_running_untraced(fx.pid)
            info = corecheck.open_core(core)
            assert info["pid"] == fx.pid and info["threads"] == 4 and info["signal"] is None
            threads = corecheck.check_threads(core, fx, truth)
            corecheck.check_auxv(core, truth)
            corecheck.check_memory(core, fx, truth)
            corecheck.check_kernel_layout(core, fx, truth, threads)
            corecheck.check_vm(core, fx, truth)
    finally:
        shutil.rmtree(tmp)


def test_changed_and_missing_files():
    """A mapped file that changed or vanished after the dump is said so;
    an executable that is not the one that ran is refused."""
    tmp = tempfile.mkdtemp(prefix="memscope-core-")
    try:
        with Fixture("corefix", "-t", 1, "-d", tmp) as fx:
            corecheck.wait_blocked(fx)
            core = os.path.join(tmp, "gdb.core")
            gdb_gcore(fx.pid, core)
            exe = os.path.join(mstest.FIXTURES, "corefix")
            corecheck.open_core(core, "-e", exe)  # the right one: no warning
            p = memscope("-c", core, "-e", os.path.join(mstest.FIXTURES, "memfix"), "sys")
            assert re.fullmatch(r"memscope: warning: \S+/memfix is not the file that was "
                                r"mapped \(build-id [0-9a-f.]+, the core has [0-9a-f.]+\)\n",
                                p.stderr), p.stderr
            files = memscope_json("-c", core, "-e", os.path.join(mstest.FIXTURES, "memfix"),
                                  "info", "files", check=False)
            text = [m for m in files["mappings"] if m["perms"] is None and
                    m["name"] and m["name"].endswith("/corefix")]
            assert text and all(e["source"] == "none" and "build-id" in e["why"]
                                for m in text for e in m["extents"]), text
            os.utime(fx["file"], (os.stat(core).st_mtime + 10,) * 2)
            p = memscope("-c", core, "sys")
            assert p.stderr == (f"memscope: warning: {fx['file']} changed after the core was "
                                "written and has no build-id to check: bytes read from it "
                                "may differ\n"), p.stderr
            os.unlink(fx["file"])
            p = memscope("-c", core, "sys")
            assert p.stderr == (f"memscope: warning: {fx['file']}: No such file or directory: "
                                "its pages that are not in the core cannot be read\n"), p.stderr
    finally:
        shutil.rmtree(tmp)


if __name__ == "__main__":
    mstest.main()
