"""info threads and info registers: the frame each thread stands in, and the
names after pointer registers, checked against gdb's own `info threads` and
`info registers` on the same process and on a core of it.

gdb goes first, then memscope: both attach with ptrace. The btfix fixtures
block every thread in read() or pause(), so nothing moves in between.
"""
import os
import re
import subprocess
import tempfile

import mstest
from mstest import memscope, memscope_json
from test_bt import GDB_ENV, Fixture

POINTERS = ("rip", "rbp", "rsp")


def gdb(*target, commands):
    cmd = ["gdb", "-nx", "-batch", "-ex", "set width 0", "-ex", "set height 0"]
    for c in commands:
        cmd += ["-ex", c]
    p = subprocess.run([*cmd, *map(str, target)], capture_output=True, text=True,
                       env=GDB_ENV, timeout=120, errors="replace")
    return p.stdout


THREAD_ROW = re.compile(r'^[* ] (\d+) +(?:Thread 0x[0-9a-f]+ \()?LWP (\d+)\)?(?: "[^"]*")? +(.*)$')


def frames(text):
    """{lwp: frame text} from info threads."""
    rows = {}
    for line in text.splitlines():
        m = THREAD_ROW.match(line)
        if m:
            rows[int(m.group(2))] = m.group(3).rstrip()
    return rows


def registers(text):
    """{lwp: [register lines]} from `thread apply all info registers R...` or
    memscope's `info registers -a R...`, spaces collapsed."""
    regs, cur = {}, None
    for line in text.splitlines():
        m = re.match(r"^Thread \d+ \((?:Thread 0x[0-9a-f]+ \()?LWP (\d+)\)?.*:$", line)
        if m:
            cur = regs.setdefault(int(m.group(1)), [])
        elif cur is not None and line.split(" ", 1)[0] in POINTERS:
            cur.append(" ".join(line.split()))
    return regs


def assert_same(want, got, what):
    assert want, f"gdb printed no {what}"
    assert sorted(want) == sorted(got), f"threads differ: gdb {sorted(want)} memscope {sorted(got)}"
    for lwp in want:
        assert want[lwp] == got[lwp], f"LWP {lwp} {what}:\n gdb      {want[lwp]}\n memscope {got[lwp]}"


def compare(target, ms_target):
    text = gdb(*target, commands=["info threads",
                                  "thread apply all info registers " + " ".join(POINTERS)])
    want_frames, want_regs = frames(text), registers(text)
    if target[0] == "-p":
        mstest.assert_running_untraced(target[1])
    got_frames = frames(memscope(*ms_target, "info", "threads").stdout)
    got_regs = registers(memscope(*ms_target, "info", "registers", "-a", *POINTERS).stdout)
    if target[0] == "-p":
        mstest.assert_running_untraced(target[1])
    assert_same(want_frames, got_frames, "frame")
    assert_same(want_regs, got_regs, "registers")
    return got_frames, got_regs


def compare_fixture(name, *args):
    exe = os.path.join(mstest.FIXTURES, name)
    with tempfile.TemporaryDirectory() as tmp:
        core = os.path.join(tmp, "core")
        with Fixture(name, *args) as fx:
            live = compare(("-p", fx.pid), ("-p", fx.pid))
            memscope("gcore", "-o", core, fx.pid)
            mstest.assert_running_untraced(fx.pid)
        dead = compare((exe, core), ("-c", core))
    return live, dead


def test_O0_matches_gdb():
    (frames0, regs), _ = compare_fixture("btfix-O0", 3)
    # libc's debug info names read() as gdb does, not by its ELF symbol
    text = "\n".join(frames0.values())
    assert "@@GLIBC" not in text and " at " in text, text


def test_O2_matches_gdb():
    """Inlined calls, entry values, no frame pointer."""
    compare_fixture("btfix-O2", 2)


def test_signal_and_nocfi_match_gdb():
    compare_fixture("btfix-O2", 1, "signal")
    compare_fixture("btfix-nocfi", 2)


def test_cxx_matches_gdb():
    compare_fixture("btfix-cc")


def test_json_frame_is_the_text():
    with Fixture("btfix-O0", 1) as fx:
        rows = frames(memscope("-p", fx.pid, "info", "threads").stdout)
        doc = memscope_json("-p", fx.pid, "info", "threads")
        mstest.assert_running_untraced(fx.pid)
    assert {t["tid"]: t["frame"] for t in doc} == rows
    for t in doc:
        assert t["function"] and t["function"] in t["frame"], t
        if "line" in t:
            assert t["frame"].endswith(f" at {t['file']}:{t['line']}"), t


if __name__ == "__main__":
    mstest.main()
