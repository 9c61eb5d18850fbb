"""A small test harness for memscope's end-to-end tests.

Each tests/cli/test_*.py defines functions named test_*; `mstest.main()` runs
them and prints one line each: `ok - NAME`, `not ok - NAME # why` or
`skip - NAME # why`. Helpers here start fixtures (and always stop them), run
memscope, and read the kernel's files independently of memscope: the truth
memscope is checked against.
"""
import atexit
import json
import os
import signal
import struct
import subprocess
import sys
import time
import traceback

MEMSCOPE = os.environ.get("MEMSCOPE", "build/memscope")
BUILD = os.environ.get("MEMSCOPE_BUILD", "build")
FIXTURES = os.path.join(BUILD, "tests", "fixtures")
PAGE = os.sysconf("SC_PAGE_SIZE")
IS_ROOT = os.geteuid() == 0

_procs = []


class Skip(Exception):
    """Raised by a test that cannot run here; the reason is printed."""


def _cleanup():
    for p in _procs:
        if p.poll() is None:
            try:
                p.kill()
            except OSError:
                pass
            try:
                p.wait(timeout=5)
            except subprocess.TimeoutExpired:
                pass
    _procs.clear()


atexit.register(_cleanup)
signal.signal(signal.SIGTERM, lambda *a: (_cleanup(), sys.exit(1)))


def as_user(user, cmd):
    """cmd run as an unprivileged user (a name or a uid), with that user's group."""
    import pwd
    pw = pwd.getpwnam(user) if isinstance(user, str) and not user.isdigit() \
        else pwd.getpwuid(int(user))
    return ["setpriv", f"--reuid={pw.pw_uid}", f"--regid={pw.pw_gid}", "--clear-groups", *cmd]


class Fixture:
    """A fixture process. Its first stdout line is JSON describing it; it
    lives while its stdin is open, so it dies with the test."""

    def __init__(self, name, *args, env=None, user=None, timeout=30):
        path = os.path.join(FIXTURES, name)
        cmd = [path, *map(str, args)]
        if user:
            cmd = as_user(user, cmd)
        self.proc = subprocess.Popen(cmd, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                     env=env)
        _procs.append(self.proc)
        line = self._readline(timeout)
        if not line:
            self.stop()
            raise AssertionError(f"fixture {name} printed nothing (exit {self.proc.poll()})")
        self.info = json.loads(line)
        self.pid = self.info.get("pid", self.proc.pid)

    def _readline(self, timeout):
        import select
        deadline = time.monotonic() + timeout
        buf = b""
        fd = self.proc.stdout.fileno()
        while not buf.endswith(b"\n"):
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([fd], [], [], left)
            if not r:
                return None
            chunk = os.read(fd, 1)
            if not chunk:
                return None
            buf += chunk
        return buf.decode()

    def readline(self, timeout=30):
        line = self._readline(timeout)
        return json.loads(line) if line else None

    def send(self, text):
        self.proc.stdin.write(text.encode())
        self.proc.stdin.flush()

    def __getitem__(self, key):
        return self.info[key]

    def alive(self):
        return self.proc.poll() is None

    def stop(self):
        if self.proc.poll() is None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def memscope(*args, check=True, input=None, timeout=120, env=None, user=None):
    """Run memscope; returns CompletedProcess (text). check: exit 0 expected.
    Sanitizer reports in stderr always fail the test."""
    cmd = [MEMSCOPE, *map(str, args)]
    if user:
        cmd = as_user(user, cmd)
    e = dict(os.environ)
    if env:
        e.update(env)
    p = subprocess.run(cmd, capture_output=True, text=True, input=input, timeout=timeout,
                       env=e, errors="replace")
    if "Sanitizer" in p.stderr or "runtime error:" in p.stderr:
        raise AssertionError(f"sanitizer report from {cmd}:\n{p.stderr[-4000:]}")
    if check and p.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} exited {p.returncode}:\n{p.stderr[-2000:]}")
    return p


def memscope_json(*args, **kw):
    p = memscope("--json", *args, **kw)
    try:
        return json.loads(p.stdout)
    except json.JSONDecodeError as e:
        raise AssertionError(f"not JSON ({e}): {p.stdout[:500]}")


# ---- independent truth: the kernel's own files ----

def pagemap(pid, vaddr, npages):
    """The raw 64-bit pagemap entries of npages pages from vaddr."""
    with open(f"/proc/{pid}/pagemap", "rb") as f:
        f.seek(vaddr // PAGE * 8)
        data = f.read(npages * 8)
    return list(struct.unpack(f"<{len(data) // 8}Q", data))


PM_PRESENT = 1 << 63
PM_SWAP = 1 << 62
PM_FILE = 1 << 61
PM_EXCLUSIVE = 1 << 56
PM_SOFT_DIRTY = 1 << 55
PFN_MASK = (1 << 55) - 1


def kpageflags(pfn):
    with open("/proc/kpageflags", "rb") as f:
        f.seek(pfn * 8)
        return struct.unpack("<Q", f.read(8))[0]


def kpagecount(pfn):
    with open("/proc/kpagecount", "rb") as f:
        f.seek(pfn * 8)
        return struct.unpack("<Q", f.read(8))[0]


def maps(pid):
    """[(start, end, perms, offset, name)] from /proc/PID/maps."""
    out = []
    with open(f"/proc/{pid}/maps") as f:
        for line in f:
            parts = line.split(None, 5)
            start, end = (int(x, 16) for x in parts[0].split("-"))
            name = parts[5].strip() if len(parts) > 5 else ""
            out.append((start, end, parts[1], int(parts[2], 16), name))
    return out


def read_mem(pid, addr, size):
    with open(f"/proc/{pid}/mem", "rb") as f:
        f.seek(addr)
        return f.read(size)


def proc_status(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            k, _, v = line.partition(":")
            out[k] = v.strip()
    return out


def assert_running_untraced(pid):
    """The target must be neither stopped nor traced after memscope ran."""
    st = proc_status(pid)
    assert st["TracerPid"] == "0", f"process {pid} still traced by {st['TracerPid']}"
    for _ in range(50):
        state = proc_status(pid)["State"]
        if not state.startswith(("t", "T")):
            return
        time.sleep(0.01)
    raise AssertionError(f"process {pid} left stopped: {state}")


def require_root():
    if not IS_ROOT:
        raise Skip("needs root")


# ---- running tests ----

def main():
    args = sys.argv[1:]
    keyword = None
    if len(args) >= 2 and args[0] == "-k":
        keyword = args[1]
    module = sys.modules["__main__"]
    tests = [(n, f) for n, f in vars(module).items()
             if n.startswith("test_") and callable(f)]
    failed = 0
    for name, fn in tests:
        if keyword and keyword not in name:
            continue
        start = time.monotonic()
        try:
            fn()
            print(f"ok - {name} # {time.monotonic() - start:.2f}s")
        except Skip as e:
            print(f"skip - {name} # {e}")
        except Exception as e:  # noqa: BLE001 - report every failure the same way
            failed += 1
            msg = str(e).splitlines()[0] if str(e) else type(e).__name__
            print(f"not ok - {name} # {msg[:300]}")
            traceback.print_exc(file=sys.stdout)
        finally:
            _cleanup()
        sys.stdout.flush()
    sys.exit(1 if failed else 0)
