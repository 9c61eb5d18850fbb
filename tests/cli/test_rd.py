"""rd: crash's read-memory command, checked against the values the fixtures
wrote, /proc/PID/mem, nm + /proc/PID/maps for symbols, and pagemap for pages
that must not be faulted in."""
import os
import signal
import struct
import subprocess
import tempfile
import time

import mstest
from memtruth import (load_base, mapped_path, nm_symbols, parse_rd, pm_present, printable,
                      read_mem, run_rss, sanitized, symbol_address)
from mstest import Fixture, memscope, memscope_json

PATTERN = 0x6d656d73636f7065
NOBODY = "65534"  # nobody/nogroup, by number for setpriv


def written_value(page, word):
    return PATTERN ^ (page << 32 | word)


def test_rd_64_is_the_fixture_pattern():
    with Fixture("memfix") as fx:
        base = fx["anon_written"]
        addr = base + 3 * mstest.PAGE + 64
        out = memscope("-p", fx.pid, "rd", hex(addr), 10).stdout
        rows = parse_rd(out, 8)
        assert len(rows) == 5, out
        mem = read_mem(fx.pid, addr, 80)
        for i, (a, vals, asc) in enumerate(rows):
            assert a == addr + 16 * i
            assert len(vals) == 2 and all(len(v) == 16 for v in vals), vals
            for k, v in enumerate(vals):
                assert int(v, 16) == written_value(3, 8 + 2 * i + k)
            assert asc == printable(mem[16 * i:16 * i + 16])
        mstest.assert_running_untraced(fx.pid)


def test_rd_widths_radix_and_layout_match_memory():
    with Fixture("memfix") as fx:
        addr = fx["anon_written"] + 5 * mstest.PAGE
        mem = read_mem(fx.pid, addr, 64)
        for width, bits in ((1, "-8"), (2, "-16"), (4, "-32"), (8, "-64")):
            count = 40 // width
            out = memscope("-p", fx.pid, "rd", bits, hex(addr), count).stdout
            rows = parse_rd(out, width)
            fmt = {1: "B", 2: "H", 4: "I", 8: "Q"}[width]
            want = struct.unpack(f"<{count}{fmt}", mem[:count * width])
            got = [int(v, 16) for _, vals, _ in rows for v in vals]
            assert got == list(want), (bits, out)
            # the last, short line still has its ASCII column where crash puts it
            assert rows[-1][2] == printable(mem[16 * (len(rows) - 1):count * width])
            # signed and unsigned decimal
            sfmt = fmt.lower() if fmt != "B" else "b"
            signed = struct.unpack(f"<{count}{sfmt}", mem[:count * width])
            out = memscope("-p", fx.pid, "rd", bits, "-d", hex(addr), count).stdout
            got = [int(v) for line in out.splitlines() for v in line.split(":", 1)[1].split()]
            assert got == list(signed), out
            out = memscope("-p", fx.pid, "rd", bits, "-D", hex(addr), count).stdout
            got = [int(v) for line in out.splitlines() for v in line.split(":", 1)[1].split()]
            assert got == list(want), out
        # -x: no ASCII column; -N: network byte order
        out = memscope("-p", fx.pid, "rd", "-32", "-x", "-N", hex(addr), 4).stdout
        got = [int(v, 16) for v in out.split(":", 1)[1].split()]
        assert got == list(struct.unpack(">4I", mem[:16])), out
        assert out.endswith(" \n") and "." not in out.split(":", 1)[1]


def test_rd_unaligned_offset_and_end():
    with Fixture("memfix") as fx:
        base = fx["anon_written"]
        mem = read_mem(fx.pid, base + 3, 64)
        out = memscope("-p", fx.pid, "rd", "-32", hex(base + 3), 4).stdout
        assert [int(v, 16) for _, vals, _ in parse_rd(out, 4) for v in vals] == \
            list(struct.unpack("<4I", mem[:16]))
        # -o OFFS adds to the address; -e END stops before END
        out = memscope("-p", fx.pid, "rd", "-o", "3", "-e", hex(base + 3 + 24), hex(base)).stdout
        assert [int(v, 16) for _, vals, _ in parse_rd(out, 8) for v in vals] == \
            list(struct.unpack("<3Q", mem[:24]))
        # -R: the values that end at ADDR
        out = memscope("-p", fx.pid, "rd", "-R", hex(base + 3 + 16), 3).stdout
        rows = parse_rd(out, 8)
        assert rows[0][0] == base + 3
        assert [int(v, 16) for _, vals, _ in rows for v in vals] == \
            list(struct.unpack("<3Q", mem[:24]))


def test_rd_json_values():
    with Fixture("memfix") as fx:
        addr = fx["anon_written"] + 7 * mstest.PAGE
        doc = memscope_json("-p", fx.pid, "rd", "-16", hex(addr), 9)
        mem = read_mem(fx.pid, addr, 18)
        assert doc["width"] == 16 and doc["bytes"] == 18
        assert [int(v["value"], 16) for v in doc["values"]] == list(struct.unpack("<9H", mem))
        assert [int(v["address"], 16) for v in doc["values"]] == [addr + 2 * i for i in range(9)]


def test_rd_stops_at_an_untouched_page_without_faulting_it_in():
    with Fixture("bigmem", 8) as fx:
        untouched = fx["untouched"]
        before = pm_present(fx.pid, untouched, 4)
        assert not any(before)
        p = memscope("-p", fx.pid, "rd", hex(untouched - 16), 4, check=False)
        assert p.returncode == 1, p
        rows = parse_rd(p.stdout, 8)
        mem = read_mem(fx.pid, untouched - 16, 16)
        assert [int(v, 16) for _, vals, _ in rows for v in vals] == list(struct.unpack("<2Q", mem))
        assert p.stderr.strip() == (
            f"memscope: rd: invalid user virtual address: {untouched:x}  type: \"64-bit UVADDR\": "
            "page never touched (use --fault-in to read it)"), p.stderr
        p = memscope("-p", fx.pid, "rd", "-a", hex(untouched + 100), check=False)
        assert p.returncode == 1 and "invalid user virtual address" in p.stderr, p
        assert pm_present(fx.pid, untouched, 4) == before
        mstest.assert_running_untraced(fx.pid)


def test_rd_on_a_guard_page_says_guard_page():
    with Fixture("memfix") as fx:
        if not fx["guard_ok"]:
            raise mstest.Skip("no MADV_GUARD_INSTALL in this kernel")
        g = fx["guard"] + mstest.PAGE
        # pagemap says guard marker (bit 58), read here
        with open(f"/proc/{fx.pid}/pagemap", "rb") as f:
            f.seek(g // mstest.PAGE * 8)
            assert struct.unpack("<Q", f.read(8))[0] >> 58 & 1
        p = memscope("-p", fx.pid, "rd", hex(g - 16), 4, check=False)
        assert p.returncode == 1 and "guard page" in p.stderr, p.stderr
        assert "swapped" not in p.stderr and "--fault-in" not in p.stderr, p.stderr
        mstest.assert_running_untraced(fx.pid)


def test_rd_fault_in_reads_and_maps_the_page():
    with Fixture("bigmem", 8) as fx:
        page = fx["untouched"] + 5 * mstest.PAGE
        assert pm_present(fx.pid, page, 1) == [False]
        out = memscope("-p", fx.pid, "rd", "--fault-in", hex(page), 2).stdout
        assert [v for _, vals, _ in parse_rd(out, 8) for v in vals] == ["0" * 16] * 2
        assert pm_present(fx.pid, page, 1) == [True]


def test_rd_unmapped_and_kernel_addresses():
    with Fixture("memfix") as fx:
        maps = mstest.maps(fx.pid)
        hole = next(e for (_, e, _, _, _), (s, _, _, _, _) in zip(maps, maps[1:]) if s > e)
        p = memscope("-p", fx.pid, "rd", hex(hole), 100, check=False)
        assert p.returncode == 1
        assert p.stderr.strip() == \
            f"memscope: rd: invalid user virtual address: {hole:x}  type: \"64-bit UVADDR\""
        assert p.stdout == ""
        p = memscope("-p", fx.pid, "rd", "-32", "ffffffff81000000", check=False)
        assert p.returncode == 1
        assert p.stderr.startswith("memscope: rd: invalid user virtual address: ffffffff81000000"
                                   "  type: \"32-bit UVADDR\": a kernel address"), p.stderr


def test_rd_bad_input_is_a_usage_error():
    with Fixture("memfix") as fx:
        a = hex(fx["anon_written"])
        for args, msg in (
                ((a, "-5"), "invalid count or width: -5"),
                ((a, "0"), "invalid count: 0"),
                ((a, "abc"), "invalid count: abc"),
                ((a, "99999999999999999999999"), "invalid count"),
                ((a, "0x4000000000000000"), "count too large"),
                (("-s", "-32", a), "-s is only allowed with 64-bit display"),
                (("-N", a), "-N is only valid with -16 or -32"),
                (("-q", a), "unknown option: -q"),
                ((), "an address or symbol is needed"),
                (("fffffffffffffff0", "4"), "overflows"),
                ((a, "1", "2"), "too many arguments"),
                (("-e", "10", a), "invalid ending address"),
        ):
            p = memscope("-p", fx.pid, "rd", *args, check=False)
            assert p.returncode == 64, (args, p.returncode, p.stderr)
            assert msg in p.stderr and "usage: rd" in p.stderr, (args, p.stderr)
        p = memscope("-p", fx.pid, "rd", "no_such_symbol_here", check=False)
        assert p.returncode == 2 and "symbol not found: no_such_symbol_here" in p.stderr
        p = memscope("rd", a, check=False)
        assert p.returncode == 64 and "needs a target" in p.stderr


def test_rd_exited_and_zombie_processes():
    fx = Fixture("memfix")
    pid = fx.pid
    fx.proc.kill()
    time.sleep(0.2)
    try:
        p = memscope("-p", pid, "rd", hex(fx["anon_written"]), check=False)
        assert p.returncode == 2 and "has exited (zombie)" in p.stderr, p.stderr
    finally:
        fx.proc.wait()
    p = memscope("-p", pid, "rd", hex(fx["anon_written"]), check=False)
    assert p.returncode == 2 and p.stderr.strip() == f"memscope: no process {pid}", p.stderr


def check_symfix_symbols(target, pid, fx):
    """SYMBOL, SYMBOL+OFFSET, -s and FILE:SYMBOL on symfix, live or in a core
    (target: the global options naming it), against nm and the live
    process's maps."""
    # SYMBOL as the address: where nm + the load address from maps put it
    rows = parse_rd(memscope(*target, "rd", "symfix_counter").stdout, 8)
    assert rows[0][0] == symbol_address(pid, "symfix_counter")
    assert int(rows[0][1][0], 16) == 0x5359534649580001
    rows = parse_rd(memscope(*target, "rd", "symfix_bss+24").stdout, 8)
    assert rows[0][0] == symbol_address(pid, "symfix_bss") + 24
    assert int(rows[0][1][0], 16) == 0x4253530000000003
    # -s: pointers shown as the symbols nm names at those addresses
    out = memscope(*target, "rd", "-s", "symfix_ptrs", 4).stdout
    shown = [t for line in out.splitlines() for t in line.split(":", 1)[1].split()]
    assert shown[0] == "symfix_func" and shown[1] == "symfix_counter", out
    assert shown[3] == "symfix_bss+24", out
    libc = mapped_path(pid, fx["getpid"])
    _, by_value = nm_symbols(libc, dynamic=True)
    assert shown[2] in by_value[fx["getpid"] - load_base(pid, libc)], (shown, libc)
    # FILE:SYMBOL in a shared library
    doc = memscope_json(*target, "rd", "libc.so.6:getpid")
    assert int(doc["address"], 16) == fx["getpid"]


def test_rd_symbols_match_nm_and_maps():
    with Fixture("symfix") as fx:
        pid = fx.pid
        assert symbol_address(pid, "symfix_counter") == fx["symfix_counter"]
        check_symfix_symbols(["-p", pid], pid, fx)
        # -a: text up to the first character that is not printable
        out = memscope("-p", pid, "rd", "-a", "symfix_text").stdout
        assert out == f"{fx['symfix_text']:16x}:  SYMFIX-TEXT-CONSTANT\n", out
        mstest.assert_running_untraced(pid)


def test_rd_symbols_on_a_core():
    """The same symbols in gdb's core of symfix, and find's names for a hit."""
    with Fixture("symfix") as fx, tempfile.TemporaryDirectory() as tmp:
        pid = fx.pid
        core = os.path.join(tmp, "symfix.core")
        p = subprocess.run(["gdb", "-batch", "-nx", "-p", str(pid), "-ex", f"gcore {core}"],
                           capture_output=True, text=True, timeout=120)
        assert os.path.exists(core), p.stdout[-2000:] + p.stderr[-2000:]
        check_symfix_symbols(["-c", core], pid, fx)
        # a hit's symbol, and its file as the core's NT_FILE names it
        doc = memscope_json("-c", core, "find", "-s", "symfix_ptrs", "-l", 32, "symfix_func")
        assert doc["count"] == 1 and doc["hits"][0]["symbol"] == "symfix_ptrs", doc
        assert doc["hits"][0]["file"] == os.readlink(f"/proc/{pid}/exe"), doc
        mstest.assert_running_untraced(pid)


def test_rd_huge_count_streams_in_little_memory():
    with Fixture("bigmem", 64) as fx:
        touched = fx["touched"]
        status, err, rss = run_rss(["-p", fx.pid, "rd", hex(touched), 0x7fffffffffff])
        assert status == 1, err
        # everything touched was printed, then the first untouched page stopped it
        assert f"invalid user virtual address: {fx['untouched']:x}" in err, err
        if not sanitized():
            assert rss < 64 * 1024, f"rd used {rss} KiB"
        # raw copy of the same bytes, compared with /proc/PID/mem
        path = f"/tmp/memscope-rd-{os.getpid()}.bin"
        try:
            out = memscope("-p", fx.pid, "rd", "-r", path, hex(touched + 4096),
                           3 * 1024 * 1024).stdout
            assert out.strip() == f"3145728 bytes copied from {hex(touched + 4096)} to {path}"
            with open(path, "rb") as f:
                assert f.read() == read_mem(fx.pid, touched + 4096, 3 * 1024 * 1024)
        finally:
            if os.path.exists(path):
                os.unlink(path)


def test_rd_target_exits_during_the_read():
    with Fixture("bigmem", 64) as fx:
        cmd = [mstest.MEMSCOPE, "-p", str(fx.pid), "rd", hex(fx["touched"]),
               str(fx["touched_len"] // 8)]
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        p.stdout.read(1 << 16)  # it now waits on the full pipe, mid-read
        os.kill(fx["child_pid"], signal.SIGKILL)
        fx.proc.kill()
        fx.proc.wait()
        out, err = p.communicate(timeout=60)
        err = err.decode()
        assert p.returncode == 1, (p.returncode, err)
        assert f"process {fx.pid} exited" in err or "no process" in err, err
        assert "Sanitizer" not in err


def test_rd_and_find_without_root():
    """Without root: one's own processes read as well (PFNs are hidden, not
    needed); another user's process is refused with a clear error."""
    if not mstest.IS_ROOT:
        raise mstest.Skip("needs root to run as another user")
    with Fixture("memfix", user=NOBODY) as own, Fixture("memfix") as roots:
        addr = own["anon_written"]
        out = memscope("-p", own.pid, "rd", hex(addr), 2, user=NOBODY).stdout
        got = [int(v, 16) for _, vals, _ in parse_rd(out, 8) for v in vals]
        assert got == [written_value(0, 0), written_value(0, 1)], out
        p = memscope("-p", own.pid, "rd", hex(own["anon_untouched"]), user=NOBODY, check=False)
        assert p.returncode == 1 and "page never touched" in p.stderr, p.stderr
        out = memscope("-p", own.pid, "find", "-c", f"MEMSCOPE-NEEDLE-{own.pid}",
                       user=NOBODY).stdout
        assert f"{own['needle']:x}: MEMSCOPE-NEEDLE-{own.pid}" in out, out
        p = memscope("-p", roots.pid, "rd", hex(roots["anon_written"]), user=NOBODY,
                     check=False)
        assert p.returncode == 2 and "Permission denied" in p.stderr, p.stderr
        assert p.stderr.count("\n") == 1, p.stderr


if __name__ == "__main__":
    mstest.main()
