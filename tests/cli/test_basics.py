"""The command line, the prompt and the command table, end to end."""
import json
import os
import re
import subprocess
import tempfile

import elfcore
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


def test_thread_id_stands_for_its_process():
    """-p TID of a thread other than the main one: the process, as the kernel
    names it (Tgid), in vm's header and in a core's NT_PRPSINFO."""
    code = ("import threading, time; "
            "[threading.Thread(target=time.sleep, args=(60,)).start() for _ in range(2)]; "
            "print(flush=True); time.sleep(60)")
    proc = subprocess.Popen(["/usr/bin/python3", "-c", code], stdout=subprocess.PIPE)
    try:
        proc.stdout.readline()  # the threads run
        pid = proc.pid
        tids = sorted(int(t) for t in os.listdir(f"/proc/{pid}/task"))
        tid = [t for t in tids if t != pid][0]
        with open(f"/proc/{tid}/status") as f:
            tgid = int([line.split()[1] for line in f if line.startswith("Tgid:")][0])
        assert tgid == pid
        p = memscope("-p", tid, "vm")
        assert p.stdout.startswith(f"PID: {pid} "), p.stdout[:80]
        assert f"{tid} is a thread of process {pid}" in p.stderr, p.stderr
        with tempfile.TemporaryDirectory() as d:
            path = os.path.join(d, "core")
            memscope("-p", tid, "gcore", "-o", path)
            core = elfcore.Core(path)
            ps = [elfcore.parse_prpsinfo(desc) for name, typ, desc in core.notes if typ == 3]
            assert [x["pid"] for x in ps] == [pid], ps
        mstest.assert_running_untraced(pid)
    finally:
        proc.kill()
        proc.wait()


LEADER_EXITS_C = r"""
#include <pthread.h>
#include <stdio.h>
#include <unistd.h>
static void *run(void *a) { (void)a; pause(); return NULL; }
int main(void)
{
	pthread_t t;
	pthread_create(&t, NULL, run, NULL);
	puts("ready");
	fflush(stdout);
	pthread_exit(NULL); /* the process lives on in its other thread */
}
"""


def test_process_whose_main_thread_exited():
    """The leader is a zombie while a thread runs: /proc/PID shows no memory
    any more, the live thread's entries do; memscope reads through it."""
    with tempfile.TemporaryDirectory() as d:
        src, exe = os.path.join(d, "leader.c"), os.path.join(d, "leader")
        with open(src, "w") as f:
            f.write(LEADER_EXITS_C)
        subprocess.run(["gcc", "-g", "-pthread", "-o", exe, src], check=True)
        proc = subprocess.Popen([exe], stdout=subprocess.PIPE)
        try:
            assert proc.stdout.readline() == b"ready\n"
            pid = proc.pid
            for _ in range(200):  # until the leader is a zombie (read here)
                with open(f"/proc/{pid}/stat") as f:
                    if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                        break
            live = [int(t) for t in os.listdir(f"/proc/{pid}/task") if int(t) != pid][0]
            p = memscope("-p", pid, "vm")
            assert f"main thread of process {pid} has exited" in p.stderr, p.stderr
            with open(f"/proc/{live}/maps") as f:
                starts = {l.split("-")[0].lstrip("0") for l in f}
            got = {m[1].lstrip("0") for m in re.finditer(r"^ *([0-9a-f]{8,}) [0-9a-f]+ ",
                                                         p.stdout, re.M)}
            assert got and got <= starts, (got - starts)
            out = memscope("-p", pid, "bt").stdout
            assert f"(LWP {live})" in out and " in run (" in out, out
            mstest.assert_running_untraced(live)
        finally:
            proc.kill()
            proc.wait()


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


def test_every_command_gives_one_json_document():
    """--json on every command of the table: one valid JSON document on stdout,
    for a live process and for a core of it. compact changes the machine and
    has its own exclusive test; quit has nothing to say."""
    import tempfile
    skip = {"compact", "quit"}
    with Fixture("memfix") as fx, tempfile.TemporaryDirectory() as d:
        addr = f"{fx['anon_written']:x}"
        core = os.path.join(d, "core")
        runs = {
            "vm": [["-p", fx.pid, "vm", "-p"], ["-c", core, "vm", "-p"]],
            "vtop": [["-p", fx.pid, "vtop", addr]],
            "rd": [["-p", fx.pid, "rd", addr, "4"], ["-c", core, "rd", addr, "4"]],
            "find": [["-p", fx.pid, "find", "-c", f"MEMSCOPE-NEEDLE-{fx.pid}"]],
            "ps": [["ps", fx.pid]],
            "ptov": [["ptov", "1000"]],
            "overcommit": [["overcommit"]],
            "kmem": [["kmem", "-i"]],
            "thp": [["thp"]],
            "export": [["export", "--prometheus", os.path.join(d, "m.prom")]],
            "demo": [["demo", "firsttouch"]],
            "frag": [["frag"]],
            "physmap": [["physmap", "--pages-per-cell", "4096"]],
            "gcore": [["gcore", "-o", core, fx.pid]],
            "info": [["-p", fx.pid, "info", "threads"], ["-c", core, "info", "files"]],
            "bt": [["-p", fx.pid, "bt"], ["-c", core, "bt"]],
            "thread": [["-p", fx.pid, "thread", "apply", "all", "bt"]],
            "set": [["-p", fx.pid, "set"]],
            "sys": [["sys"], ["-c", core, "sys"]],
            "help": [["help"], ["help", "vm"]],
        }
        names = [row["name"] for row in memscope_json("help")]
        assert set(names) - skip == set(runs), set(names) ^ set(runs)
        names.remove("gcore")
        for name in ["gcore", *names]:  # gcore writes the core the -c runs read
            for args in runs.get(name, []):
                if name in ("ptov", "physmap") and not mstest.IS_ROOT:
                    continue
                i = 2 if args[0] in ("-p", "-c") else 0
                p = memscope(*args[:i], "--json", *args[i:], check=False)
                assert p.returncode in (0, 1), (args, p.returncode, p.stderr)
                try:
                    json.loads(p.stdout)
                except json.JSONDecodeError as e:
                    raise AssertionError(f"{args}: not one JSON document ({e}): {p.stdout[:300]}")
        mstest.assert_running_untraced(fx.pid)


def test_json_anywhere():
    a = memscope_json("sys")
    b = json.loads(memscope("sys", "--json").stdout)
    assert a["release"] == b["release"]


if __name__ == "__main__":
    mstest.main()
