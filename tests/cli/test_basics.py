"""The command line, the prompt and the command table, end to end."""
import json
import os

import mstest
from mstest import Fixture, memscope, memscope_json


def test_help_lists_every_command():
    out = memscope("help").stdout
    for row in memscope_json("help"):
        assert f"  {row['name']}" in out
        assert memscope("help", row["name"]).stdout.startswith("usage: ")
        assert memscope(row["name"], "--help").stdout.startswith("usage: ")


def test_man_page_is_current():
    man = os.path.join(os.path.dirname(__file__), "..", "..", "docs", "memscope.1")
    with open(man) as f:
        committed = f.read()
    assert memscope("help", "--man").stdout == committed, \
        "docs/memscope.1 is stale: regenerate it with `build/memscope help --man > docs/memscope.1`"


def test_unknown_command_is_usage_error():
    p = memscope("frobnicate", check=False)
    assert p.returncode == 64
    assert p.stderr.strip() == "memscope: unknown command 'frobnicate' (try 'help')"


def test_bad_pid():
    p = memscope("-p", "abc", "sys", check=False)
    assert p.returncode == 64 and "invalid process id" in p.stderr
    p = memscope("-p", "999999999", "sys", check=False)
    assert p.returncode == 64
    # a pid that does not exist: find one
    pid = 4000000
    while os.path.exists(f"/proc/{pid}"):
        pid += 1
    p = memscope("-p", pid, "sys", check=False)
    assert p.returncode == 2 and p.stderr.strip() == f"memscope: no process {pid}", p.stderr


def test_sys_matches_kernel():
    info = memscope_json("sys")
    assert info["release"] == os.uname().release
    assert info["cpus"] == os.cpu_count()
    with open("/proc/meminfo") as f:
        total = int(f.readline().split()[1]) * 1024
    assert info["memory_bytes"] == total


def test_prompt_from_pipe():
    with Fixture("memfix") as fx:
        p = memscope("-p", fx.pid, input="sys\nhelp sys\nbogus\nquit\nsys\n")
        assert p.stdout.count("COMMAND: \"memfix\"") == 1, p.stdout
        assert "usage: sys" in p.stdout
        assert "unknown command 'bogus'" in p.stderr


def test_set_switches_target():
    with Fixture("memfix") as a, Fixture("memfix") as b:
        p = memscope("-p", a.pid, input=f"set\nset {b.pid}\nsys\nset 0\nset\n", check=False)
        assert f"PID: {a.pid}" in p.stdout
        assert p.stdout.count(f"PID: {b.pid}") == 3, p.stdout
        assert "invalid process id '0'" in p.stderr


def test_json_anywhere():
    a = memscope_json("sys")
    b = json.loads(memscope("sys", "--json").stdout)
    assert a["release"] == b["release"]


if __name__ == "__main__":
    mstest.main()
