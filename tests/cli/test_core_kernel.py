"""Cores written by the kernel, as memscope's target.
# exclusive: sets /proc/sys/kernel/core_pattern (machine-wide) for a moment,
# and restores it, with RLIMIT_CORE, in finally.
"""
import os
import resource
import shutil
import signal
import tempfile
import time

import corecheck
import mstest
from mstest import Fixture, memscope

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
        assert truth["coredump_filter"] & 0x33 == 0x33, "needs the default coredump_filter"
        info = corecheck.open_core(core)
        assert info["pid"] == fx.pid and info["threads"] == 4
        assert info["signal"].startswith("11 (SIGSEGV), SI_USER from pid ")
        threads = corecheck.check_threads(core, fx, truth)
        # the thread that received the signal comes first
        assert threads[0]["tid"] == fx.pid and threads[0]["signal"]["number"] == 11
        corecheck.check_auxv(core, truth)
        corecheck.check_memory(core, fx, truth)
        corecheck.check_kernel_layout(core, fx, truth, threads)
        corecheck.check_vm(core, fx, truth)
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
