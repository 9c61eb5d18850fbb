"""find: crash's search flags and gdb's find form, checked against the values
the fixtures wrote, a scan of /proc/PID/mem done here, gdb's own find on the
same range, and pagemap for pages that must not be faulted in."""
import os
import re
import signal
import struct
import subprocess
import tempfile

import mstest
from memtruth import (pm_present, read_mem, run_rss, sanitized, scan,
                      symbol_address)
from mstest import Fixture, memscope, memscope_json

MASK64 = (1 << 64) - 1
HIT = re.compile(r"^([0-9a-f]+): ([0-9a-f]+)(?: \((.*)\))?  (.*)$")


def hits_of(text):
    out = []
    for line in text.splitlines():
        m = HIT.match(line)
        assert m, f"not a hit line: {line!r}"
        out.append((int(m.group(1), 16), int(m.group(2), 16), m.group(3), m.group(4)))
    return out


def test_find_a_value_the_fixture_wrote_exactly_once():
    with Fixture("bigmem", 8) as fx:
        i = 123457
        value = (i * fx["mult"]) & MASK64
        out = memscope("-p", fx.pid, "find", hex(value)).stdout
        hits = hits_of(out)
        assert [(a, v) for a, v, _, _ in hits] == [(fx["touched"] + 8 * i, value)], out
        assert hits[0][3] == f"[anon]+{fx['touched'] + 8 * i - mapping_start(fx):#x}", out
        mstest.assert_running_untraced(fx.pid)


def mapping_start(fx):
    for s, e, _, _, _ in mstest.maps(fx.pid):
        if s <= fx["touched"] < e:
            return s
    raise AssertionError("touched not mapped")


def test_find_widths_and_masks_match_a_scan_of_memory():
    with Fixture("memfix") as fx:
        start = fx["anon_written"]
        length = 16 * mstest.PAGE
        data = read_mem(fx.pid, start, length)
        pattern = fx["pattern"]
        cases = [
            ([], 8, [pattern ^ (3 << 32 | 17), pattern ^ (9 << 32 | 500)], 0),
            (["-m", "ffffffff"], 8, [(pattern ^ (5 << 32)) & ~0xffffffff & MASK64], 0xffffffff),
            (["-w"], 4, [pattern & 0xffffffff ^ 7], 0),
            (["-w", "-m", "ff"], 4, [(pattern >> 32 ^ 2) & 0xffffff00], 0xff),
            (["-h"], 2, [0x7065 ^ 3], 0),
            (["-b"], 1, [0x6d], 0),
        ]
        for opts, width, values, mask in cases:
            want = scan(data, start, values, width, mask)
            assert want, (opts, "the truth itself found nothing")
            args = ["-p", fx.pid, "find", "-s", hex(start), "-l", length, *opts,
                    *[hex(v) for v in values]]
            got = hits_of(memscope(*args).stdout)
            assert [a for a, _, _, _ in got] == want, (opts, len(got), len(want))
            for a, v, _, _ in got:  # the value shown is what memory holds
                off = a - start
                assert v == int.from_bytes(data[off:off + width], "little"), (opts, hex(a))


def test_find_strings_across_read_boundaries():
    with Fixture("bigmem", 8) as fx:
        needle = fx["needle"]
        out = memscope("-p", fx.pid, "find", "-c", needle).stdout
        found = []
        for line in out.splitlines():
            addr = int(line.split(":", 1)[0], 16)
            # every hit really is the needle, and shows what follows it
            assert read_mem(fx.pid, addr, len(needle)) == needle.encode(), line
            assert line.split(": ", 1)[1].startswith(needle), line
            found.append(addr)
        # the one across the 2 MiB boundary (where reads are cut) is among them
        for a in fx["needles"]:
            assert a in found, (hex(a), out)
        # crash's -c ignores alignment; -s/-l bound it to the region
        out = memscope("-p", fx.pid, "find", "-c", "-s", hex(fx["touched"]), "-l",
                       fx["touched_len"], needle, "no-such-string-anywhere").stdout
        assert [int(l.split(":")[0], 16) for l in out.splitlines()] == fx["needles"]


def test_find_context_lines_are_memory():
    with Fixture("memfix") as fx:
        start = fx["anon_written"]
        target = start + 2 * mstest.PAGE + 8 * 40
        value = fx["pattern"] ^ (2 << 32 | 40)
        out = memscope("-p", fx.pid, "find", "-x", 3, "-s", hex(start), "-l", 65536,
                       hex(value)).stdout
        lines = out.splitlines()
        # 3 values before (2 lines), the hit, 3 after (2 lines), a blank line
        assert len(lines) == 6 and lines[-1] == "", out
        assert lines[2].startswith(f"{target:16x}:  {value:x}  "), out
        before = [int(v, 16) for l in lines[:2] for v in l.split(":", 1)[1].split()[:2]
                  if len(v) == 16]
        after = [int(v, 16) for l in lines[3:5] for v in l.split(":", 1)[1].split()[:2]
                 if len(v) == 16]
        mem = read_mem(fx.pid, target - 24, 56)
        words = [int.from_bytes(mem[i:i + 8], "little") for i in range(0, 56, 8)]
        assert before == words[:3] and after == words[4:], out
        doc = memscope_json("-p", fx.pid, "find", "-x", 2, "-s", hex(start), "-l", 65536,
                            hex(value))
        hit = doc["hits"][0]
        assert [int(v["value"], 16) for v in hit["before"]] == words[1:3]
        assert [int(v["value"], 16) for v in hit["after"]] == words[4:6]


def gdb_find(pid, expr):
    """gdb's own find (numbers only: gdb puts strings in the target's memory)."""
    p = subprocess.run(["gdb", "-batch", "-nx", "-p", str(pid), "-ex", f"find {expr}"],
                       capture_output=True, text=True, timeout=120)
    lines = (p.stdout + p.stderr).splitlines()
    hits = [int(l.split()[0], 16) for l in lines if re.match(r"^0x[0-9a-f]+( |$)", l)
            and " in " not in l]
    summary = [l for l in lines if "found." in l]
    return hits, summary


def test_find_gdb_form_agrees_with_gdb():
    with Fixture("bigmem", 8) as fx:
        t, n = fx["touched"], fx["touched_len"]
        value = (77777 * fx["mult"]) & MASK64
        for expr in (f"/g {t:#x}, +{n}, {value:#x}",
                     f"{t:#x}, {t + n - 1:#x}, (char)0x15, (short)0x4a7c",
                     f"/b {t:#x}, +{n}, 0x15, 0x7c, 0x4a, 0x7f",
                     f"/3 {t:#x}, +{n}, (char)0x15, (short)0x4a7c"):
            want, summary = gdb_find(fx.pid, expr)
            mstest.assert_running_untraced(fx.pid)
            out = memscope("-p", fx.pid, "find", *expr.split()).stdout
            lines = out.splitlines()
            got = [int(l.split()[0], 16) for l in lines[:-1]]
            assert got == want and want, (expr, got[:5], want[:5])
            assert lines[-1] == summary[0], (lines[-1], summary)
        # strings: gdb's C string has its NUL; {char[N]} drops it
        needle = fx["needle"]
        out = memscope("-p", fx.pid, "find", f"{t:#x},", f"+{n},",
                       f'{{char[{len(needle)}]}}"{needle}"').stdout
        assert [int(l.split()[0], 16) for l in out.splitlines()[:-1]] == fx["needles"], out
        assert out.splitlines()[-1] == "3 patterns found."
        out = memscope("-p", fx.pid, "find", f'{t:#x}, +{n}, "{needle}"').stdout
        assert out == "Pattern not found.\n", out  # the needles have no NUL after them
        mstest.assert_running_untraced(fx.pid)


def test_find_reports_symbols_and_mappings():
    with Fixture("symfix") as fx:
        pid = fx.pid
        counter = symbol_address(pid, "symfix_counter")
        ptrs = symbol_address(pid, "symfix_ptrs")
        out = memscope("-p", pid, "find", "symfix_counter").stdout
        hits = hits_of(out)
        assert (ptrs + 8, counter, "symfix_counter", "symfix_ptrs+8 (symfix)") in hits, out
        doc = memscope_json("-p", pid, "find", "-s", "symfix_ptrs", "-l", 32, "symfix_func")
        assert doc["count"] == 1
        hit = doc["hits"][0]
        assert int(hit["address"], 16) == ptrs and hit["symbol"] == "symfix_ptrs"
        assert hit["file"] == os.readlink(f"/proc/{pid}/exe")
        assert hit["mapping"]["name"] == hit["file"] and hit["mapping"]["perms"] == "rw-p"
        # a string in .rodata, found in gdb's form, named by nm's symbol
        out = memscope("-p", pid, "find", "&symfix_text, +64, \"SYMFIX-TEXT-CONSTANT\"").stdout
        assert out.splitlines()[0] == f"{fx['symfix_text']:#x}  symfix_text (symfix)", out


def test_find_reads_only_present_pages():
    with Fixture("bigmem", 8) as fx:
        u, ulen = fx["untouched"], fx["untouched_len"]
        npages = ulen // mstest.PAGE
        assert not any(pm_present(fx.pid, u, npages))
        out = memscope("-p", fx.pid, "find", "0").stdout  # zeros are everywhere
        assert all(not (u <= a < u + ulen) for a, _, _, _ in hits_of(out))
        doc = memscope_json("-p", fx.pid, "find", "-s", hex(u), "-l", ulen, "0")
        assert doc["count"] == 0 and doc["bytes_searched"] == 0
        assert doc["bytes_not_present"] == ulen
        assert not any(pm_present(fx.pid, u, npages)), "find faulted pages in"
        # asked to, it reads them (and so maps them)
        doc = memscope_json("-p", fx.pid, "find", "--fault-in", "--max", 3, "-s", hex(u),
                            "-l", ulen, "0")
        assert [int(h["address"], 16) for h in doc["hits"]] == [u, u + 8, u + 16]
        assert pm_present(fx.pid, u, 1) == [True]
        mstest.assert_running_untraced(fx.pid)


def test_find_gdb_form_reads_untouched_memory_as_zeros_without_touching_it():
    """gdb's find reads never-touched anonymous memory (as zeros, faulting it
    in); memscope's gdb form finds the same without faulting anything in,
    also across the edge of touched and untouched memory."""
    with Fixture("bigmem", 8) as fx:
        t, n, u = fx["touched"], fx["touched_len"], fx["untouched"]
        assert t + n == u  # one mapping: written, then never touched
        npages = fx["untouched_len"] // mstest.PAGE
        assert not any(pm_present(fx.pid, u, npages))
        last = read_mem(fx.pid, u - 4, 4)
        edge = ", ".join(f"{b:#x}" for b in last) + ", 0, 0, 0, 0"
        exprs = (f"/g {u:#x}, +0x20, 0",                    # zeros match zeros
                 f"/b {u - 0x100:#x}, +0x200, {edge}",       # straddles the edge
                 f"/g {u:#x}, +{npages * mstest.PAGE}, 0x1234")  # nothing there
        got = []
        for expr in exprs:
            p = memscope("-p", fx.pid, "find", *expr.split(), check=False)
            assert p.returncode == 0 and p.stderr == "", (expr, p.returncode, p.stderr)
            got.append(p.stdout.splitlines())
        assert not any(pm_present(fx.pid, u, npages)), "find faulted pages in"
        mstest.assert_running_untraced(fx.pid)
        # gdb, last: it faults the pages in
        for expr, lines in zip(exprs, got):
            want, summary = gdb_find(fx.pid, expr)
            assert [int(l.split()[0], 16) for l in lines[:-1]] == want, (expr, lines[:3], want[:3])
            assert lines[-1] == summary[0], (lines[-1], summary)
        assert got[1][0].split()[0] == f"{u - 4:#x}"


def test_find_crash_form_says_what_it_did_not_search():
    """crash's flags read present pages only: what was left is said."""
    with Fixture("bigmem", 8) as fx:
        u, ulen = fx["untouched"], fx["untouched_len"]
        p = memscope("-p", fx.pid, "find", "-s", hex(u), "-l", ulen, "0", check=False)
        assert p.returncode == 0 and p.stdout == "", (p.returncode, p.stdout[:200])
        assert "16.0 MiB in pages not present" in p.stderr and "--fault-in" in p.stderr
        assert not any(pm_present(fx.pid, u, 1)), "find faulted a page in"
        mstest.assert_running_untraced(fx.pid)


def test_find_on_a_core_reads_the_mapped_files_too():
    """A core holds no page of libc's text: find reads it from the file, as rd
    does (and gdb's find)."""
    with Fixture("memfix") as fx, tempfile.TemporaryDirectory() as d:
        with open(f"/proc/{fx.pid}/maps") as f:
            text = next(int(l.split("-")[0], 16) for l in f
                        if "libc.so" in l and l.split()[1].startswith("r-x"))
        value = struct.unpack("<Q", read_mem(fx.pid, text + 8, 8))[0]
        core = os.path.join(d, "core")
        memscope("gcore", "-o", core, fx.pid)
        p = memscope("-c", core, "find", "-s", hex(text), "-l", "0x1000", hex(value),
                     check=False)
        assert p.returncode == 0, p.stderr
        assert f"{text + 8:x}:" in p.stdout, p.stdout
        p = memscope("-c", core, "find", f"/g {text:#x}, +0x1000, {value:#x}", check=False)
        assert p.returncode == 0 and f"{text + 8:#x}" in p.stdout, (p.stdout, p.stderr)


def test_find_bad_input_is_a_usage_error():
    with Fixture("memfix") as fx:
        a = hex(fx["anon_written"])
        for args, msg in (
                ((), "nothing to search for"),
                (("-s", a), "nothing to search for"),
                (("-s", a, "-e", a, "-l", "10", "1"), "-e and -l are exclusive"),
                (("-w", "123456789"), "value too large for -w option: 123456789"),
                (("-h", "10000"), "value too large for -h option"),
                (("-c", "-x", "2", "abc"), "-x option is not allowed with -c"),
                (("-x", "600", "1"), "context value 600 is too large: maximum is 512"),
                (("-x", "-1", "1"), "invalid context count"),
                (("-s", a, "-e", "1000", "1"), "is below starting address"),
                (("-s", "ffffffff81000000", "1"), "invalid user virtual address"),
                (("-k", "1"), "cannot be searched from user space"),
                (("-Q", "1"), "invalid option"),
                (("-m", "zz", "1"), "invalid mask"),
                (("xyz!",), "invalid value"),
                (("/g", a, "+10"), "gdb's form is"),
                ((f"{a}, +0, 1",), "invalid length"),
                ((f"{a}, 0x10, 1",), "end preceeds start"),
                ((f"{a}, +10, \"abc",), "unterminated string"),
                ((f"{a}, +10, (float)1",), "unknown type"),
                ((f"/q {a}, +10, 1",), "invalid size or count"),
        ):
            p = memscope("-p", fx.pid, "find", *args, check=False)
            assert p.returncode == 64, (args, p.returncode, p.stderr)
            assert msg in p.stderr, (args, p.stderr)
        p = memscope("-p", fx.pid, "find", "-s", "no_such_symbol", "1", check=False)
        assert p.returncode == 2 and "symbol not found" in p.stderr


def test_find_target_exits_during_the_search():
    with Fixture("bigmem", 64) as fx:
        # a byte found every few hundred bytes: the output pipe fills and
        # find waits on it, mid-search, while the target dies
        cmd = [mstest.MEMSCOPE, "-p", str(fx.pid), "find", "-b", "0"]
        p = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        p.stdout.read(1 << 16)
        os.kill(fx["child_pid"], signal.SIGKILL)
        fx.proc.kill()
        out, err = p.communicate(timeout=120)
        err = err.decode()
        assert "Sanitizer" not in err
        assert p.returncode == 1, (p.returncode, err)
        assert err.strip() in (f"memscope: find: process {fx.pid} exited",
                               f"memscope: find: process {fx.pid} exited during the search"), err


def test_find_memory_stays_small_on_a_large_target():
    with Fixture("bigmem", 256) as fx:
        status, err, rss = run_rss(["-p", fx.pid, "find", "-c", "no such string here"])
        assert status == 0, err
        if not sanitized():
            assert rss < 64 * 1024, f"find used {rss} KiB"


if __name__ == "__main__":
    mstest.main()
