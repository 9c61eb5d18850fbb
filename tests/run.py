#!/usr/bin/env python3
"""Run memscope's tests and print `N passed, N failed`.

Unit suites (Check executables under BUILD/tests/unit) run once per build
directory given with --unit. End-to-end tests (tests/cli/test_*.py) run once
per memscope binary given with --memscope LABEL=PATH. A test file whose first
lines contain `# exclusive` changes machine-wide state (sysctls, swap) and
runs alone; the others run in parallel.
"""
import argparse
import concurrent.futures
import os
import re
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
FILE_TIMEOUT = 600


def run_unit(build, path):
    name = f"[unit {os.path.basename(build)}] {os.path.basename(path)}"
    try:
        proc = subprocess.run([path], capture_output=True, text=True, timeout=FILE_TIMEOUT,
                              env=dict(os.environ, CK_FORK="yes"))
    except subprocess.TimeoutExpired:
        return [(name, False, "timed out")], ""
    out = proc.stdout + proc.stderr
    m = re.search(r"Checks: (\d+), Failures: (\d+), Errors: (\d+)", out)
    results = []
    if not m:
        results.append((name, proc.returncode == 0, "no Check summary"))
    else:
        total, failures, errors = (int(x) for x in m.groups())
        bad = failures + errors
        for i in range(total - bad):
            results.append((f"{name} #{i + 1}", True, ""))
        for line in out.splitlines():
            if ":F:" in line or ":E:" in line:
                results.append((f"{name} {line.split(':')[3] if line.count(':') > 3 else ''}",
                                False, line))
        while sum(1 for r in results if not r[1]) < bad:
            results.append((name, False, "failure"))
        if proc.returncode != 0 and bad == 0:
            results.append((name, False, f"exit status {proc.returncode}"))
    return results, (out if any(not ok for _, ok, _ in results) else "")


def run_cli(label, binary, build, path, keyword):
    env = dict(os.environ)
    env["MEMSCOPE"] = os.path.abspath(binary)
    env["MEMSCOPE_BUILD"] = os.path.abspath(build)
    env["MEMSCOPE_VARIANT"] = label
    env["MEMSCOPE_NO_PROGRESS"] = "1"
    env.setdefault("ASAN_OPTIONS", "detect_leaks=1:abort_on_error=0:exitcode=99")
    env.setdefault("UBSAN_OPTIONS", "print_stacktrace=1:halt_on_error=1:exitcode=98")
    env["PYTHONPATH"] = os.path.join(HERE, "cli")
    cmd = [sys.executable, path]
    if keyword:
        cmd += ["-k", keyword]
    base = f"[{label}] {os.path.basename(path)}"
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=FILE_TIMEOUT, env=env)
    except subprocess.TimeoutExpired as e:
        return [(base, False, "timed out")], (e.stdout or b"").decode(errors="replace") if isinstance(e.stdout, bytes) else (e.stdout or "")
    results = []
    for line in proc.stdout.splitlines():
        m = re.match(r"^(ok|not ok|skip) - (\S+)(?: # (.*))?$", line)
        if m:
            status, name, why = m.groups()
            if status == "skip":
                results.append((f"{base}::{name}", None, why or ""))
            else:
                results.append((f"{base}::{name}", status == "ok", why or ""))
    if proc.returncode != 0 and all(ok is not False for _, ok, _ in results):
        results.append((base, False, f"exit status {proc.returncode}"))
    if not results:
        results.append((base, False, "no results"))
    failed = any(ok is False for _, ok, _ in results)
    return results, (proc.stdout + proc.stderr if failed else "")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default="build", help="build directory holding the fixtures")
    ap.add_argument("--memscope", action="append", default=[], help="LABEL=PATH")
    ap.add_argument("--unit", action="append", default=[], help="build dir whose unit suites run")
    ap.add_argument("-j", type=int, default=os.cpu_count() or 2)
    ap.add_argument("-k", default=None, help="only test functions whose name contains this")
    ap.add_argument("files", nargs="*", help="only these test files")
    args = ap.parse_args()

    jobs = []
    for build in args.unit:
        unit_dir = os.path.join(build, "tests", "unit")
        if os.path.isdir(unit_dir) and not args.files and not args.k:
            for f in sorted(os.listdir(unit_dir)):
                p = os.path.join(unit_dir, f)
                if f.startswith("test_") and os.access(p, os.X_OK) and os.path.isfile(p):
                    jobs.append((False, run_unit, (build, p)))
    cli_dir = os.path.join(HERE, "cli")
    files = args.files or [os.path.join(cli_dir, f) for f in sorted(os.listdir(cli_dir))
                           if f.startswith("test_") and f.endswith(".py")]
    for spec in args.memscope:
        label, _, binary = spec.partition("=")
        for f in files:
            with open(f) as fh:
                head = fh.read(400)
            exclusive = "# exclusive" in head
            jobs.append((exclusive, run_cli, (label, binary, args.build, f, args.k)))

    passed = failed = skipped = 0
    start = time.monotonic()

    def report(results, log):
        nonlocal passed, failed, skipped
        for name, ok, why in results:
            if ok is None:
                skipped += 1
                print(f"SKIP {name}: {why}")
            elif ok:
                passed += 1
                print(f"PASS {name}")
            else:
                failed += 1
                print(f"FAIL {name}: {why}")
        if log:
            print("---- output ----")
            print(log.rstrip())
            print("----------------")
        sys.stdout.flush()

    parallel = [j for j in jobs if not j[0]]
    alone = [j for j in jobs if j[0]]
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.j)) as pool:
        for results, log in pool.map(lambda j: j[1](*j[2]), parallel):
            report(results, log)
    for _, fn, fargs in alone:
        report(*fn(*fargs))

    elapsed = time.monotonic() - start
    print(f"({skipped} skipped, {elapsed:.0f}s)")
    print(f"{passed} passed, {failed} failed")
    return 1 if failed or passed == 0 else 0


if __name__ == "__main__":
    sys.exit(main())
