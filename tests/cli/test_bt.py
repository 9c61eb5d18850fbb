"""bt: every thread's backtrace, checked frame by frame and local by local
against gdb's `thread apply all bt full` on the same process or core.

gdb and memscope both attach with ptrace, so they never run on a process at
the same moment: gdb goes first, then memscope. The fixtures block every
thread in read(), so nothing moves in between.
"""
import os
import re
import shutil
import signal
import subprocess
import tempfile
import time

import mstest
from mstest import memscope, memscope_json

GDB_ENV = dict(os.environ, LC_ALL="C")


def settle(pid, timeout=10):
    """Wait until every thread (but churners) sits in read(), pause() or a futex: the
    fixture prints its line just before its own main thread blocks."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ok = True
        for tid in os.listdir(f"/proc/{pid}/task"):
            try:
                with open(f"/proc/{pid}/task/{tid}/comm") as f:
                    if f.read().startswith("churn"):
                        continue
                with open(f"/proc/{pid}/task/{tid}/syscall") as f:
                    nr = f.read().split()[0]
            except OSError:
                continue
            ok = ok and nr in ("0", "34", "202")  # read, pause, futex
        if ok:
            return
        time.sleep(0.005)
    raise AssertionError(f"process {pid} did not settle")


class Fixture(mstest.Fixture):
    """A btfix fixture, returned once all its threads are blocked."""

    def __init__(self, *args, **kw):
        super().__init__(*args, **kw)
        settle(self.pid)


def gdb_bt(*target, full=True, extra=()):
    """gdb's thread apply all bt [full] on a pid ("-p", pid) or (exe, core)."""
    cmd = ["gdb", "-nx", "-batch", "-ex", "set width 0", "-ex", "set height 0", *extra,
           "-ex", "thread apply all bt" + (" full" if full else ""), *map(str, target)]
    p = subprocess.run(cmd, capture_output=True, text=True, env=GDB_ENV, timeout=120,
                       errors="replace")
    return p.stdout


def parse(text):
    """{lwp: {"header": line, "frames": [[frame line, local lines...]], "tail": [lines]}}"""
    threads = {}
    cur = None
    for line in text.splitlines():
        m = re.match(r"^Thread \d+ \((?:Thread 0x[0-9a-f]+ \()?LWP (\d+)\)?.*:$", line)
        if m:
            cur = {"header": line, "frames": [], "tail": []}
            threads[int(m.group(1))] = cur
            continue
        if cur is None or not line.strip() or line.startswith("[Inferior"):
            continue
        if line.startswith("#"):
            cur["frames"].append([line])
        elif line.startswith("        ") or line in ("No locals.",
                                                   "No symbol table info available."):
            if cur["frames"]:
                cur["frames"][-1].append(line)
        else:
            cur["tail"].append(line)
    return threads


def assert_same_threads(gdb_text, ms_text, check_tail=True):
    g, m = parse(gdb_text), parse(ms_text)
    assert g, f"gdb printed no threads:\n{gdb_text[:2000]}"
    assert sorted(g) == sorted(m), f"threads differ: gdb {sorted(g)} memscope {sorted(m)}"
    for lwp in g:
        gt, mt = g[lwp], m[lwp]
        assert gt["header"] == mt["header"], f"header: gdb {gt['header']!r} memscope {mt['header']!r}"
        assert len(gt["frames"]) == len(mt["frames"]), \
            f"LWP {lwp}: {len(gt['frames'])} frames in gdb, {len(mt['frames'])} in memscope\n" \
            f"gdb:\n{chr(10).join(f[0] for f in gt['frames'])}\n" \
            f"memscope:\n{chr(10).join(f[0] for f in mt['frames'])}"
        for gf, mf in zip(gt["frames"], mt["frames"]):
            assert gf[0] == mf[0], f"LWP {lwp} frame:\n gdb      {gf[0]}\n memscope {mf[0]}"
            assert gf[1:] == mf[1:], \
                f"LWP {lwp} locals of {gf[0]}:\n gdb      {gf[1:]}\n memscope {mf[1:]}"
        if check_tail:
            assert gt["tail"] == mt["tail"], f"LWP {lwp}: gdb {gt['tail']} memscope {mt['tail']}"
    return g


def compare_live(name, *args, full=True):
    with Fixture(name, *args) as fx:
        want = gdb_bt("-p", fx.pid, full=full)
        mstest.assert_running_untraced(fx.pid)
        got = memscope("-p", fx.pid, "bt", *(["--full"] if full else [])).stdout
        mstest.assert_running_untraced(fx.pid)
        return assert_same_threads(want, got)


def test_bt_full_matches_gdb_O0():
    threads = compare_live("btfix-O0", 3)
    assert len(threads) == 4
    # the chain the fixture built, with the inlined call as its own frame
    worker = [t for t in threads.values() if "worker-0" in t["header"]][0]
    names = [re.search(r"(?:in )?(\S+) \(", f[0].split("  ", 1)[1]).group(1)
             for f in worker["frames"]]
    assert names[2:7] == ["block", "inl", "level2", "level1", "thread_main"], names


def test_bt_full_matches_gdb_O2():
    """No frame pointers, inlined calls, entry values (x=x@entry=V), registers."""
    threads = compare_live("btfix-O2", 2)
    text = "\n".join(f[0] for t in threads.values() for f in t["frames"])
    assert "@entry=" in text


def test_bt_matches_gdb_without_cfi():
    """No .eh_frame for the fixture's code: the frame-pointer chain is followed."""
    compare_live("btfix-nocfi", 2)


def test_bt_cxx_names_demangled():
    threads = compare_live("btfix-cc")
    text = "\n".join(f[0] for t in threads.values() for f in t["frames"])
    for name in ("app::detail::wait_forever<3>", "app::Box<long>::get", "app::Worker::run"):
        assert f" {name} (" in text, f"{name} missing:\n{text}"
    # a library without debug info: demangled with its parameters, "from" its path
    assert "getline(char*, long, char) () from /lib/x86_64-linux-gnu/libstdc++.so.6" in text
    # pthread_cond_wait's tail call, put back as gdb does
    assert " in __GI___futex_abstimed_wait_cancelable64 (" in text


def test_signal_handler_frame():
    """A thread blocked inside a signal handler: gdb's <signal handler called>."""
    for name in ("btfix-O0", "btfix-O2"):
        threads = compare_live(name, 1, "signal")
        sig = [t for t in threads.values() if '"signalled"' in t["header"]][0]
        lines = [f[0] for f in sig["frames"]]
        i = next(k for k, l in enumerate(lines) if l.endswith("<signal handler called>"))
        # (at -O2 the handler's call to block() is a jump: no on_usr1 frame)
        assert " interrupted (" in lines[i + 1], lines
        assert name == "btfix-O2" or " on_usr1 (" in lines[i - 1], lines


def test_bt_without_full_matches_gdb():
    compare_live("btfix-O2", 1, full=False)


def test_thread_apply_all_spelling():
    with Fixture("btfix-O0", 1) as fx:
        a = memscope("-p", fx.pid, "bt", "--full").stdout
        b = memscope("-p", fx.pid, "thread", "apply", "all", "bt", "full").stdout
        c = memscope("-p", fx.pid, input="thread apply all bt full\n").stdout
        assert a == b, "thread apply all bt full differs from bt --full"
        assert a.strip() in c


def test_limit_and_thread():
    with Fixture("btfix-O0", 2) as fx:
        # gdb numbers threads in the order /proc/PID/task lists them
        tids = [int(t) for t in os.listdir(f"/proc/{fx.pid}/task")]
        worker = tids[1]
        out = memscope("-p", fx.pid, "bt", "--thread", worker, "-n", 3).stdout
        t = parse(out)
        assert list(t) == [worker]
        # numbered as gdb numbers it among all threads
        assert t[worker]["header"].startswith("Thread 2 ("), t[worker]["header"]
        assert len(t[worker]["frames"]) == 3
        assert t[worker]["tail"] == ["(More stack frames follow...)"]
        p = memscope("-p", fx.pid, "bt", "--thread", 1, check=False)
        assert p.returncode == 2 and f"no thread 1 in process {fx.pid}" in p.stderr, p.stderr


def test_json_is_the_text():
    with Fixture("btfix-O0", 1) as fx:
        doc = memscope_json("-p", fx.pid, "bt", "--full")
        text = parse(memscope("-p", fx.pid, "bt", "--full").stdout)
    assert doc["pid"] == fx.pid and doc["frozen_ms"] >= 0
    by_tid = {t["tid"]: t for t in doc["threads"]}
    assert sorted(by_tid) == sorted(text)
    for tid, t in by_tid.items():
        frames = text[tid]["frames"]
        assert len(t["frames"]) == len(frames)
        for jf, tf in zip(t["frames"], frames):
            assert f" {jf['function']} (" in tf[0]
            if "file" in jf:
                assert tf[0].endswith(f" at {jf['file']}:{jf['line']}")
            for a in jf["args"]:
                assert f"{a['name']}={a['value']}" in tf[0]
            locs = [f"        {v['name']} = {v['value']}" for v in jf["locals"]]
            assert locs == [l for l in tf[1:] if l.startswith("        ")]
    level2 = [f for t in doc["threads"] for f in t["frames"] if f["function"] == "level2"][0]
    types = {v["name"]: v["type"] for v in level2["locals"]}
    assert types["arr"] == "int [16]" and types["gp"] == "int *"
    assert types["grid"] == "int [2][3]" and types["fl"] == "enum flags"
    assert types["longp"] == "const char *"


def test_values_against_fixture():
    """Independent of gdb: values the fixture wrote."""
    with Fixture("btfix-O0", 1) as fx:
        out = memscope("-p", fx.pid, "bt", "--full").stdout
    lv = {}
    for line in out.splitlines():
        m = re.match(r"^        (\w+) = (.*)$", line)
        if m:
            lv.setdefault(m.group(1), m.group(2))
    assert lv["gp"] == f"0x{fx['global_counter']:x} <global_counter>"
    assert lv["mid"].endswith("<global_array+8>")
    assert lv["ten"] == "{7, 7, 7, 7, 7, 7, 7, 7, 7, 7, 1, 2}"
    assert lv["eleven"] == "{7 <repeats 11 times>, 2}"
    assert lv["many"].endswith("199...}")
    assert lv["grid"] == "{{1, 2, 3}, {4, 5, 6}}"
    assert lv["buf"] == "\"hello\", '\\000' <repeats 26 times>"
    assert lv["mixed"] == "\"ab\\n\", 'x' <repeats 12 times>, \"cd\\\"\\000\""
    assert lv["full"] == '"abcd"'
    assert lv["fl"] == "(F_A | F_C)" and lv["fl_unknown"] == "(F_B | unknown: 0x8)"
    assert lv["fl_zero"] == "0" and lv["col_bad"] == "42" and lv["sg"] == "NEG"
    assert lv["bad"] == "0x10 <error: Cannot access memory at address 0x10>"
    assert lv["longp"].startswith("0x") and " <long_text> \"0123" in lv["longp"]
    assert lv["longp"].endswith('ghij"...')
    assert lv["rep"].endswith("\"xy\", 'a' <repeats 24 times>, \"z\"")
    assert lv["dnan"] == "nan(0x8000000000000)" and lv["dinf"] == "-inf"
    assert lv["fneg"] == "-0" and lv["third"] == "0.33333333333333331"
    assert lv["uc"] == "200 '\\310'" and lv["sc"] == "-1 '\\377'" and lv["yes"] == "true"
    assert lv["copy"].startswith("{tag = 97 'a', flag = 5, mode = 17, delta = -3,")
    assert lv["o"] == "{origin = {x = 5, y = 6}, {l = 4702394921427289928, bytes = \"HGFEDCBA\"}, ok = false}"


def make_core(fx, path):
    subprocess.run(["gdb", "-nx", "-batch", "-ex", f"generate-core-file {path}", "-p",
                    str(fx.pid)], capture_output=True, timeout=120, check=True)
    assert os.path.exists(path)


def core_supported(core):
    p = memscope("-c", core, "sys", check=False)
    return "not supported" not in p.stderr


def test_core_matches_gdb():
    exe = os.path.join(mstest.FIXTURES, "btfix-O2")
    with tempfile.TemporaryDirectory() as tmp:
        core = os.path.join(tmp, "core")
        with Fixture("btfix-O2", 2) as fx:
            make_core(fx, core)
        if not core_supported(core):
            raise mstest.Skip("core files are not a target yet on this branch")
        want = gdb_bt(exe, core)
        got = memscope("-c", core, "bt", "--full").stdout
        assert_same_threads(want, got)
        got = memscope("-c", core, "-e", exe, "bt").stdout
        assert_same_threads(gdb_bt(exe, core, full=False), got)


def core_of_a_copy(tmp, name):
    """A copy of btfix-O0 named name in tmp, and a core of it: (exe, core)."""
    exe, core = os.path.join(tmp, name), os.path.join(tmp, "core")
    shutil.copy(os.path.join(mstest.FIXTURES, "btfix-O0"), exe)
    with Fixture(exe, 1) as fx:
        make_core(fx, core)
    return exe, core


def test_core_without_executable():
    with tempfile.TemporaryDirectory() as tmp:
        exe, core = core_of_a_copy(tmp, "btfix-gone")
        os.unlink(exe)
        if not core_supported(core):
            raise mstest.Skip("core files are not a target yet on this branch")
        p = memscope("-c", core, "bt", check=False)
        assert p.returncode in (0, 1), p.stderr
        # libc's frames still resolve; the executable's cannot, and that is said
        assert "__GI___libc_read" in p.stdout
        assert "?? ()" in p.stdout
        assert "btfix-gone" in p.stderr, p.stderr


def test_core_whose_executable_was_replaced():
    """Another build of the program under the same name: its symbols would
    name every frame wrong, so none of them is used (gdb's frames with the
    right file are the truth)."""
    with tempfile.TemporaryDirectory() as tmp:
        exe, core = core_of_a_copy(tmp, "btfix-swapped")
        shutil.copy(exe, exe + ".orig")
        shutil.copy(os.path.join(mstest.FIXTURES, "btfix-O2"), exe)
        p = memscope("-c", core, "bt", check=False)
        assert p.returncode in (0, 1), p.stderr
        assert "is not the file that was mapped" in p.stderr, p.stderr
        assert "__GI___libc_read" in p.stdout and "?? ()" in p.stdout, p.stdout
        for name in ("block", "level1", "level2", "main (", "repeated_text"):
            assert f" in {name}" not in p.stdout, (name, p.stdout)
        # the right file, given with -e: gdb's functions, frame by frame (gdb
        # reads the string msg points to as "" from its own core: not compared)
        def functions(text):
            return [m[1] for m in re.finditer(r"^#\d+ +(?:0x[0-9a-f]+ in )?(\S+) \(", text, re.M)]
        want = gdb_bt(exe + ".orig", core, full=False)
        want = want[want.index("\nThread "):]  # after the frame gdb shows on loading
        got = memscope("-c", core, "-e", exe + ".orig", "bt").stdout
        assert "level2" in functions(got) and functions(got) == functions(want), \
            (functions(got), functions(want))


def split_debug(tmp, how):
    """A stripped copy of btfix-O2 and its debug info, found by build-id or debuglink."""
    src = os.path.join(mstest.FIXTURES, "btfix-O2")
    exe = os.path.join(tmp, "btfix-stripped")
    debug = os.path.join(tmp, "btfix-stripped.debug")
    subprocess.run(["objcopy", "--only-keep-debug", src, debug], check=True)
    subprocess.run(["objcopy", "--strip-all", src, exe], check=True)
    debug_dir = os.path.join(tmp, "debug")
    if how == "build-id":
        notes = subprocess.run(["readelf", "-n", src], capture_output=True, text=True).stdout
        bid = re.search(r"Build ID: ([0-9a-f]+)", notes).group(1)
        d = os.path.join(debug_dir, ".build-id", bid[:2])
        os.makedirs(d)
        shutil.move(debug, os.path.join(d, bid[2:] + ".debug"))
    else:
        subprocess.run(["objcopy", f"--add-gnu-debuglink={debug}", exe], check=True,
                       cwd=tmp)
        os.makedirs(debug_dir)
    return exe, debug_dir


def test_separate_debug_by_build_id():
    with tempfile.TemporaryDirectory() as tmp:
        exe, debug_dir = split_debug(tmp, "build-id")
        with Fixture(exe, 1) as fx:
            want = gdb_bt("-p", fx.pid, extra=(
                "-iex", f"set debug-file-directory {debug_dir}:/usr/lib/debug"))
            got = memscope("-p", fx.pid, "bt", "--full", "--debug-dir", debug_dir)
            assert "level2 (" in got.stdout
            assert_same_threads(want, got.stdout)
            # without the directory: said on stderr, frames still printed
            bare = memscope("-p", fx.pid, "bt")
            assert f"no debug info for {exe}" in bare.stderr, bare.stderr
            assert "__GI___libc_read" in bare.stdout
            mstest.assert_running_untraced(fx.pid)


def test_separate_debug_by_debuglink():
    with tempfile.TemporaryDirectory() as tmp:
        exe, _ = split_debug(tmp, "debuglink")
        with Fixture(exe, 1) as fx:
            want = gdb_bt("-p", fx.pid)
            got = memscope("-p", fx.pid, "bt", "--full").stdout
            assert "level2 (" in got
            assert_same_threads(want, got)


def test_symbols_without_debug_info():
    """Debug info stripped, symbol table kept: names from the ELF symtab, as gdb."""
    with tempfile.TemporaryDirectory() as tmp:
        exe = os.path.join(tmp, "btfix-nodebug")
        subprocess.run(["objcopy", "--strip-debug",
                        os.path.join(mstest.FIXTURES, "btfix-O0"), exe], check=True)
        with Fixture(exe, 1) as fx:
            want = gdb_bt("-p", fx.pid)
            got = memscope("-p", fx.pid, "bt", "--full")
            assert_same_threads(want, got.stdout)
            assert " in level2 ()" in got.stdout
            assert f"no debug info for {exe}" in got.stderr


def test_corrupt_stack_stops_cleanly():
    with Fixture("btfix-O0", 1, "corrupt") as fx:
        want = parse(gdb_bt("-p", fx.pid))
        p = memscope("-p", fx.pid, "bt", "--full")
        got = parse(p.stdout)
        mstest.assert_running_untraced(fx.pid)
    lwp = [k for k, t in got.items() if '"smashed"' in t["header"]][0]
    g, m = want[lwp]["frames"], got[lwp]["frames"]
    # every frame up to the smashed return address is gdb's
    n = next(i for i, f in enumerate(g) if " in ?? ()" in f[0]) + 1
    assert [f[0] for f in m[:n]] == [f[0] for f in g[:n]]
    assert " in smashed () at " in m[n - 2][0] and m[n - 1][0].startswith(f"#{n - 1}  0x0000000000000020 in ?? ()")
    assert len(got[lwp]["tail"]) == 1 and got[lwp]["tail"][0].startswith("Backtrace stopped: ")
    # the other threads are whole
    for k in want:
        if k != lwp:
            assert [f[0] for f in want[k]["frames"]] == [f[0] for f in got[k]["frames"]]


def test_threads_exiting_during_the_walk():
    with Fixture("btfix-O0", 2, "churn") as fx:
        said = 0
        for _ in range(30):
            p = memscope("-p", fx.pid, "bt")
            said += "exited during the walk" in p.stderr
            t = parse(p.stdout)
            workers = [x for x in t.values() if "worker-" in x["header"]]
            assert len(workers) == 2
            for w in workers:
                assert "thread_main" in "".join(f[0] for f in w["frames"])
        mstest.assert_running_untraced(fx.pid)
        assert fx.alive()


def test_interrupted_memscope_leaves_target_running():
    with Fixture("btfix-O2", 50) as fx:
        for sig in (signal.SIGINT, signal.SIGTERM):
            for delay in (0, 0.001, 0.003, 0.01, 0.03):
                p = subprocess.Popen([mstest.MEMSCOPE, "-p", str(fx.pid), "bt", "--full"],
                                     stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
                time.sleep(delay)
                p.send_signal(sig)
                p.wait(timeout=60)
                mstest.assert_running_untraced(fx.pid)
        p = subprocess.Popen([mstest.MEMSCOPE, "-p", str(fx.pid), "bt", "--full"],
                             stdout=subprocess.DEVNULL)
        time.sleep(0.002)
        p.kill()
        p.wait()
        mstest.assert_running_untraced(fx.pid)
        assert fx.alive()


def test_target_exiting_midway():
    for delay in (0, 0.002, 0.01, 0.05):
        fx = Fixture("btfix-O2", 50)
        p = subprocess.Popen([mstest.MEMSCOPE, "-p", str(fx.pid), "bt", "--full"],
                             stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        time.sleep(delay)
        fx.proc.kill()
        fx.proc.wait()
        _, err = p.communicate(timeout=60)
        assert p.returncode in (0, 1, 2), (p.returncode, err)
        assert "Sanitizer" not in err and "runtime error" not in err, err


def test_frozen_time_reported():
    with Fixture("btfix-O2", 50) as fx:
        p = memscope("-p", fx.pid, "bt", "-v")
        m = re.search(r"process \d+ frozen for ([0-9.]+) ms \((\d+) threads", p.stderr)
        assert m, p.stderr
        assert int(m.group(2)) == 51
        assert float(m.group(1)) < 1000


def test_bad_input():
    p = memscope("-p", "4194303", "bt", check=False)
    assert p.returncode == 2 and "no process" in p.stderr
    p = memscope("bt", check=False)
    assert p.returncode == 64 and "needs a target" in p.stderr
    with Fixture("btfix-O0", 1) as fx:
        p = memscope("-p", fx.pid, "bt", "-n", "0", check=False)
        assert p.returncode == 64
        p = memscope("-p", fx.pid, "bt", "bogus", check=False)
        assert p.returncode == 64 and "unexpected argument 'bogus'" in p.stderr
        p = memscope("-p", fx.pid, "thread", "apply", "all", "info", check=False)
        assert p.returncode == 64
    with tempfile.NamedTemporaryFile() as f:
        f.write(b"not a core file")
        f.flush()
        p = memscope("-c", f.name, "bt", check=False)
        assert p.returncode == 2


def test_unprivileged_user_is_told():
    with Fixture("btfix-O0", 1) as fx:
        p = memscope("-p", fx.pid, "bt", check=False, user="nobody")
        assert p.returncode == 2, p.stderr
        assert "cannot trace process" in p.stderr or "Permission denied" in p.stderr, p.stderr
        assert len(p.stderr.strip().splitlines()) == 1
        mstest.assert_running_untraced(fx.pid)


def test_unprivileged_user_on_own_process():
    with Fixture("btfix-O0", 1, user="nobody") as fx:
        want = gdb_bt("-p", fx.pid)
        got = memscope("-p", fx.pid, "bt", "--full", user="nobody")
        assert_same_threads(want, got.stdout)


def test_decompressed_debug_cache():
    """Compressed debug files are kept decompressed by build-id; same answer."""
    libc = subprocess.run(["readelf", "-n", "/lib/x86_64-linux-gnu/libc.so.6"],
                          capture_output=True, text=True).stdout
    bid = re.search(r"Build ID: ([0-9a-f]+)", libc).group(1)
    with tempfile.TemporaryDirectory() as tmp, Fixture("btfix-O2", 1) as fx:
        off = memscope("-p", fx.pid, "bt", "--full", env={"MEMSCOPE_CACHE_DIR": "off"}).stdout
        env = {"MEMSCOPE_CACHE_DIR": os.path.join(tmp, "c")}
        first = memscope("-p", fx.pid, "bt", "--full", env=env).stdout
        cached = os.path.join(tmp, "c", bid + ".debug")
        debug = f"/usr/lib/debug/.build-id/{bid[:2]}/{bid[2:]}.debug"
        sections = subprocess.run(["readelf", "-S", "-W", debug], capture_output=True,
                                  text=True).stdout if os.path.exists(debug) else ""
        m = re.search(r"\.debug_info\s+PROGBITS\s+\S+\s+\S+\s+\S+\s+\S+\s+(\S+)", sections)
        if not m or "C" not in m.group(1):
            raise mstest.Skip("libc's debug info is not installed compressed here")
        assert os.path.exists(cached), os.listdir(os.path.join(tmp, "c"))
        second = memscope("-p", fx.pid, "bt", "--full", env=env).stdout
        assert off == first == second


def test_debuginfod():
    """Debug info served by a debuginfod server (DEBUGINFOD_URLS), found by build-id."""
    if not shutil.which("debuginfod"):
        raise mstest.Skip("no debuginfod server installed")
    with tempfile.TemporaryDirectory() as tmp:
        exe, debug_dir = split_debug(tmp, "build-id")
        served = os.path.join(tmp, "served")
        os.makedirs(served)
        for root, _, files in os.walk(debug_dir):
            for f in files:
                shutil.copy(os.path.join(root, f), os.path.join(served, "btfix.debug"))
        import socket
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            port = s.getsockname()[1]
        server = subprocess.Popen(["debuginfod", "-p", str(port), "-d",
                                   os.path.join(tmp, "db.sqlite"), "-F", served],
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            env = {"DEBUGINFOD_URLS": f"http://127.0.0.1:{port}",
                   "DEBUGINFOD_CACHE_PATH": os.path.join(tmp, "client"),
                   "MEMSCOPE_CACHE_DIR": "off"}
            with Fixture(exe, 1) as fx:
                want = memscope("-p", fx.pid, "bt", "--full", "--debug-dir", debug_dir).stdout
                got = ""
                for _ in range(100):  # the server indexes the directory first
                    got = memscope("-p", fx.pid, "bt", "--full", env=env).stdout
                    if "level2 (" in got:
                        break
                    shutil.rmtree(os.path.join(tmp, "client"), ignore_errors=True)
                    time.sleep(0.1)
                assert "level2 (" in got, got
                assert got == want
        finally:
            server.terminate()
            server.wait(timeout=10)


if __name__ == "__main__":
    mstest.main()
