"""Shared by the core-file tests: truth about a corefix process taken before
it is dumped (from /proc, read here), truth about a core file from readelf and
gdb, and the checks of memscope's view of the core against them."""
import os
import re
import struct
import subprocess
import tempfile
import time

import mstest
from mstest import memscope, memscope_json

REG_ARGS = ["rdi", "rsi", "rdx", "r10", "r8", "r9"]


def syscall_state(pid, tid):
    """(nr, [6 args], sp, pc) from /proc/PID/task/TID/syscall, or None."""
    with open(f"/proc/{pid}/task/{tid}/syscall") as f:
        parts = f.read().split()
    if len(parts) != 9:
        return None
    nums = [int(x, 0) for x in parts]
    return nums[0], nums[1:7], nums[7], nums[8]


def wait_blocked(fx, timeout=10):
    """Wait until every thread of the fixture sits in read(2)."""
    deadline = time.monotonic() + timeout
    tids = [fx.pid] + [t["tid"] for t in fx["threads"]]
    while True:
        states = {tid: syscall_state(fx.pid, tid) for tid in tids}
        if all(s and s[0] == 0 for s in states.values()):
            return states
        if time.monotonic() > deadline:
            raise AssertionError(f"fixture threads not blocked in read: {states}")
        time.sleep(0.02)


def capture(fx):
    """What the process holds, read from /proc while it waits."""
    pid, page = fx.pid, fx["page_size"]
    truth = {"threads": wait_blocked(fx), "maps": mstest.maps(pid)}
    with open(f"/proc/{pid}/auxv", "rb") as f:
        raw = f.read()
    truth["auxv"] = list(struct.iter_unpack("<QQ", raw))
    truth["mem"] = {}
    for name, pages in [("anon_written", 32), ("anon_shared", 4), ("file_written", 8),
                        ("file_shared", 4), ("file_private", 8), ("anon_dontdump", 4)]:
        truth["mem"][name] = mstest.read_mem(pid, fx[name], pages * page)
    text = [m for m in truth["maps"] if m[2] == "r-xp" and m[4].endswith("/corefix")][0]
    truth["text"] = (text[0], mstest.read_mem(pid, text[0], page))
    return truth


def readelf_loads(core):
    """PT_LOAD program headers as readelf prints them."""
    out = subprocess.run(["readelf", "-lW", core], capture_output=True, text=True,
                         check=True).stdout
    loads = []
    for line in out.splitlines():
        m = re.match(r"\s+LOAD\s+(0x[0-9a-f]+)\s+(0x[0-9a-f]+)\s+0x[0-9a-f]+\s+(0x[0-9a-f]+)"
                     r"\s+(0x[0-9a-f]+)\s+([RWE ]+?)\s+0x[0-9a-f]+$", line)
        if m:
            off, vaddr, filesz, memsz = (int(m.group(i), 16) for i in range(1, 5))
            loads.append({"offset": off, "vaddr": vaddr, "filesz": filesz, "memsz": memsz,
                          "flags": m.group(5).replace(" ", "")})
    assert loads, f"readelf found no LOAD segments in {core}:\n{out[:2000]}"
    return loads


def readelf_notes(core):
    """The notes' types in file order, as readelf names them."""
    out = subprocess.run(["readelf", "-nW", core], capture_output=True, text=True,
                         check=True).stdout
    return re.findall(r"^\s+(?:CORE|LINUX|GNU|GDB)\s+0x[0-9a-f]+\s+(NT_\w+|Unknown)", out,
                      re.M)


def gdb_rips(core, exe):
    """(thread count, {lwp: rip}, {lwp: "<symbol+offset>"}) from gdb -batch on the core."""
    p = subprocess.run(["gdb", "-batch", "-nx", "-ex", "set pagination off",
                        "-ex", "info threads", "-ex", "thread apply all info registers rip",
                        "-c", core, exe], capture_output=True, text=True, timeout=120)
    rips, syms, lwp = {}, {}, None
    for line in p.stdout.splitlines():
        m = re.search(r"\(LWP (\d+)\)", line)
        if m and line.startswith("Thread "):
            lwp = int(m.group(1))
        m = re.match(r"rip\s+0x([0-9a-f]+)\s+0x[0-9a-f]+(?: (<.*>))?$", line)
        if m and lwp is not None:
            rips[lwp] = int(m.group(1), 16)
            syms[lwp] = m.group(2)
            lwp = None
    threads = len(re.findall(r"^[* ] \d+\s+(?:Thread|LWP)", p.stdout, re.M))
    assert rips, f"gdb printed no registers:\n{p.stdout[-2000:]}\n{p.stderr[-2000:]}"
    return threads, rips, syms


def open_core(core, *extra):
    """memscope -c CORE sys, which must work without warnings; returns sys."""
    p = memscope("--json", "-c", core, *extra, "sys")
    assert p.stderr == "", f"unexpected warnings: {p.stderr}"
    import json
    return json.loads(p.stdout)


def check_threads(core, fx, truth):
    """Threads and registers against /proc's view of each blocked syscall,
    readelf's NT_PRSTATUS count and gdb's rip of every thread."""
    threads = memscope_json("-c", core, "info", "threads")
    tids = {t["tid"] for t in threads}
    assert tids == set(truth["threads"]), (tids, set(truth["threads"]))
    notes = readelf_notes(core)
    assert notes.count("NT_PRSTATUS") == len(threads)
    for t in threads:
        nr, args, sp, pc = truth["threads"][t["tid"]]
        regs = {k: int(v, 16) for k, v in t["registers"].items()}
        assert regs["orig_rax"] == nr, (t["tid"], regs["orig_rax"], nr)
        assert [regs[r] for r in REG_ARGS] == args, (t["tid"], regs, args)
        assert regs["rsp"] == sp and regs["rip"] == pc, (t["tid"], regs, sp, pc)
        assert int(t["pc"], 16) == pc and int(t["sp"], 16) == sp
        assert t["fpregs"] is True and t["xstate_size"] >= 576
    for w in fx["threads"]:
        regs = memscope_json("-c", core, "info", "registers", "-t", w["tid"], "xmm0", "rdx")
        assert regs[0]["registers"]["xmm0"] == w["xmm0"], (regs, w)
        assert int(regs[0]["registers"]["rdx"], 16) == w["rdx"]
        text = memscope("-c", core, "info", "registers", "-t", w["tid"], "rdx").stdout
        assert re.fullmatch(rf"rdx\s+{hex(w['rdx'])}\s+{w['rdx']}\n", text), text
    n, rips, syms = gdb_rips(core, os.path.join(mstest.FIXTURES, "corefix"))
    assert n == len(threads), (n, len(threads))
    assert rips == {t["tid"]: int(t["pc"], 16) for t in threads}, rips
    # the workers stand in the fixture's blocked_read, which has no aliases
    for w in fx["threads"]:
        assert [t["function"] for t in threads if t["tid"] == w["tid"]] == ["blocked_read"]
        text = memscope("-c", core, "info", "registers", "-t", w["tid"], "rip").stdout
        assert syms[w["tid"]] and text.rstrip().endswith(syms[w["tid"]]), (text, syms)
    return threads


def check_auxv(core, truth):
    auxv = memscope_json("-c", core, "info", "auxv")
    assert [(a["type"], int(a["value"], 16)) for a in auxv] == truth["auxv"]
    execfn = [a for a in auxv if a["name"] == "AT_EXECFN"][0]
    assert execfn["string"].endswith("/corefix"), execfn


def check_segments(core):
    """Every PT_LOAD readelf lists is a mapping, in the core where readelf
    says, and every other mapping comes from NT_FILE only."""
    files = memscope_json("-c", core, "info", "files")
    loads = readelf_loads(core)
    segs = [m for m in files["mappings"] if m["segment"]]
    assert len(segs) == len(loads) == files["segments"]
    for m, l in zip(segs, sorted(loads, key=lambda x: x["vaddr"])):
        assert (int(m["start"], 16), int(m["end"], 16)) == (l["vaddr"], l["vaddr"] + l["memsz"])
        assert int(m["core_size"], 16) == l["filesz"], (m, l)
        if l["filesz"]:
            assert int(m["core_offset"], 16) == l["offset"], (m, l)
        perms = ("r" if "R" in l["flags"] else "-") + ("w" if "W" in l["flags"] else "-") + \
            ("x" if "E" in l["flags"] else "-")
        assert m["perms"] == perms, (m, l)
        first = m["extents"][0]
        if l["filesz"]:
            assert first["source"] == "core" and int(first["offset"], 16) == l["offset"]
        else:
            assert first["source"] != "core"
    return files


def mapping_at(files, addr):
    for m in files["mappings"]:
        if int(m["start"], 16) <= addr < int(m["end"], 16):
            return m
    raise AssertionError(f"no mapping at {addr:#x}")


def extent_sources(files, addr, size):
    """[(start, end, source, extent)] of the extents covering [addr, addr+size)."""
    out = []
    for e in mapping_at(files, addr)["extents"]:
        s, t = int(e["start"], 16), int(e["end"], 16)
        if t > addr and s < addr + size:
            out.append((s, t, e["source"], e))
    return out


def rd_raw(core, addr, size, *extra):
    """memscope rd -r: the bytes at addr as memscope reads them from the core."""
    with tempfile.NamedTemporaryFile() as f:
        p = memscope("-c", core, *extra, "rd", "-8", "-r", f.name, hex(addr), size,
                     check=False)
        return p, f.read()


def gdb_words(core, exe, addr, count):
    """x/COUNTgx ADDR from gdb on the core."""
    p = subprocess.run(["gdb", "-batch", "-nx", "-ex", f"x/{count}gx {addr:#x}",
                        "-c", core, exe], capture_output=True, text=True, timeout=120)
    words = re.findall(r"0x[0-9a-f]{16}", p.stdout.split(":", 1)[-1])
    assert len(words) >= count, p.stdout + p.stderr
    return [int(w, 16) for w in words[:count]]


def check_memory(core, fx, truth, dontdump_segment=True):
    """Every region the fixture wrote reads back from the core (or from the
    files it maps) as /proc/PID/mem showed it before the dump; what the core
    does not hold is said to be missing; gdb reads the same words."""
    page = fx["page_size"]
    for name in ("anon_written", "anon_shared", "file_written", "file_shared",
                 "file_private"):
        want = truth["mem"][name]
        p, got = rd_raw(core, fx[name], len(want))
        assert p.returncode == 0, (name, p.stderr)
        assert got == want, f"{name}: the core's bytes differ from the process's"
    p, got = rd_raw(core, fx["anon_untouched"], 32 * page)
    assert p.returncode == 0 and got == bytes(32 * page)
    # MADV_DONTDUMP: the kernel writes a segment without bytes, gdb none at all
    p = memscope("-c", core, "rd", hex(fx["anon_dontdump"]), check=False)
    assert p.returncode == 1, p.stderr
    if dontdump_segment:
        assert p.stderr.endswith(": not in the core file\n"), p.stderr
    else:
        assert p.stderr.startswith(f"memscope: rd: invalid user virtual address: "
                                   f"{fx['anon_dontdump']:x}"), p.stderr
    # the executable's text: from the file, as the process had it
    text = truth["text"]
    p, got = rd_raw(core, text[0], len(text[1]))
    assert p.returncode == 0 and got == text[1], p.stderr
    exe = os.path.join(mstest.FIXTURES, "corefix")
    for addr in (fx["anon_written"] + 8 * page, fx["file_private"], text[0]):
        words = gdb_words(core, exe, addr, 4)
        out = memscope_json("-c", core, "rd", "-64", hex(addr), 4)
        assert words == [int(v["value"], 16) for v in out["values"]], (hex(addr), words, out)
    # find: the first word of the written region, where the fixture put it
    first = struct.unpack_from("<Q", truth["mem"]["anon_written"])[0]
    hits = memscope("-c", core, "find", "--max", 1, hex(first)).stdout
    assert hits.startswith(f"{fx['anon_written']:x}:"), hits


def check_kernel_layout(core, fx, truth, threads):
    """What the kernel dumps and what it leaves out (memscope gcore must do
    the same), as memscope's info files shows it."""
    page = fx["page_size"]
    files = check_segments(core)
    # the kernel's notes, in its order
    notes = readelf_notes(core)
    assert notes[:5] == ["NT_PRSTATUS", "NT_PRPSINFO", "NT_SIGINFO", "NT_AUXV", "NT_FILE"]

    def sources(name, pages):
        return [(x[2], x[3].get("hole", False))
                for x in extent_sources(files, fx[name], pages * page)]
    # written anonymous memory: in the core, no holes
    assert sources("anon_written", 32) == [("core", False)]
    # never touched: in the core as a hole, and the core file is sparse
    untouched = extent_sources(files, fx["anon_untouched"], 32 * page)
    assert any(src == "core" and e["hole"] and s <= fx["anon_untouched"] and
               t >= fx["anon_untouched"] + 32 * page for s, t, src, e in untouched), untouched
    st = os.stat(core)
    assert st.st_blocks * 512 < st.st_size, "a kernel core is sparse"
    # MADV_DONTDUMP: a segment with nothing in the core
    m = mapping_at(files, fx["anon_dontdump"])
    assert int(m["core_size"], 16) == 0 and sources("anon_dontdump", 4) == [("none", False)]
    # shared anonymous memory is dumped; shared and read-only file mappings are not:
    # they come from the files, which are the ones that were mapped
    assert sources("anon_shared", 4) == [("core", False)]
    assert sources("file_private", 8) == [("file", False)]
    assert sources("file_shared", 4) == [("file", False)]
    assert mapping_at(files, fx["file_shared"])["name"] == fx["shared_file"]
    # a privately written file mapping is dumped whole
    assert sources("file_written", 8) == [("core", False)]
    # the ELF header page of libc is in the core, its text comes from the file
    libc = [m for m in files["mappings"] if m["name"] and "/libc.so" in m["name"]]
    assert libc[0]["extents"][0]["source"] == "core"
    assert int(libc[0]["core_size"], 16) == page
    assert any(e["source"] == "file" for m in libc for e in m["extents"])
    # names the core does not record, recovered from auxv and registers
    main_sp = int(threads[0]["sp"], 16)
    assert mapping_at(files, main_sp)["name"] == "[stack]"
    vdso = [a for a in truth["auxv"] if a[0] == 33][0][1]
    assert mapping_at(files, vdso)["name"] == "[vdso]"
    # every mapping of the process is one of the core's, with its file
    live = {(s, e, n) for s, e, _, _, n in truth["maps"] if n.startswith("/")}
    ours = {(int(m["start"], 16), int(m["end"], 16), m["name"]) for m in files["mappings"]
            if m["name"] and m["name"].startswith("/")}
    assert {(s, e, n.replace(" (deleted)", "")) for s, e, n in live} == ours
    return files


def holes_truth(core, offset, size):
    """Bytes of [offset, offset + size) of the core file that are holes, by
    SEEK_DATA/SEEK_HOLE, asked here of the file system."""
    fd = os.open(core, os.O_RDONLY)
    try:
        holes, pos, end = 0, offset, offset + size
        while pos < end:
            try:
                data = os.lseek(fd, pos, os.SEEK_DATA)
            except OSError:  # ENXIO: no data up to the end of the file
                data = end
            data = min(data, end)
            holes += data - pos
            if data >= end:
                break
            pos = min(os.lseek(fd, data, os.SEEK_HOLE), end)
        return holes
    finally:
        os.close(fd)


def check_vm(core, fx, truth):
    """vm on a core: the mappings, IN CORE and TOTAL_VM, and where each page
    is, against readelf's segments, /proc's maps and the file system's holes."""
    page = fx["page_size"]
    loads = readelf_loads(core)
    vm = memscope_json("-c", core, "vm", "--summary")
    assert vm["pid"] == fx.pid and vm["dumpfile"] == core
    assert vm["total_vm_bytes"] == sum(e - s for s, e, _, _, _ in truth["maps"])
    data = sum(l["filesz"] - holes_truth(core, l["offset"], l["filesz"]) for l in loads)
    assert vm["in_core_bytes"] == vm["total"]["in_core_bytes"] == data
    assert vm["total"]["hole_bytes"] == sum(l["filesz"] for l in loads) - data

    def seg_of(addr):
        return [l for l in loads if l["vaddr"] <= addr < l["vaddr"] + l["memsz"]][0]
    pages = memscope_json("-c", core, "vm", "-p", "--all-pages")
    by_vaddr = {}
    for m in pages["mappings"]:
        for pg in m["pages"]:
            by_vaddr[int(pg["vaddr"], 16)] = pg
    for i in range(32):
        a = fx["anon_written"] + i * page
        s = seg_of(a)
        assert by_vaddr[a] == {"vaddr": hex(a), "state": "core",
                               "offset": hex(s["offset"] + a - s["vaddr"])}, by_vaddr[a]
        u = fx["anon_untouched"] + i * page
        assert by_vaddr[u]["state"] == "hole"
        assert holes_truth(core, int(by_vaddr[u]["offset"], 16), page) == page
    for i in range(8):
        f = fx["file_private"] + i * page
        assert by_vaddr[f] == {"vaddr": hex(f), "state": "file", "offset": hex(i * page),
                               "file": fx["file"]}, by_vaddr[f]
    assert by_vaddr[fx["anon_dontdump"]]["state"] == "none"
    text = memscope("-c", core, "vm", "-p").stdout
    a = fx["anon_written"]
    assert f"{a:<10x}  in core at offset {seg_of(a)['offset'] + a - seg_of(a)['vaddr']:x}\n" \
        in text, text
    assert f"{fx['file_private']:<10x}  FILE: {fx['file']}  OFFSET: 0  [8 pages, to " in text
