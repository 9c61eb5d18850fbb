"""ps: processes and their memory, checked against /proc/PID/smaps_rollup,
stat and status read here, and /proc/PID/task for threads."""
import json
import os
import subprocess

import mstest
from mstest import Fixture, memscope, memscope_json

KB = 1024
# nobody/nogroup by number: setpriv takes the same number for uid and gid
NOBODY = "65534"


def rollup(pid):
    out = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            parts = line.split()
            if len(parts) == 3 and parts[2] == "kB":
                out[parts[0].rstrip(":")] = int(parts[1]) * KB
    return out


def row_of(doc, pid):
    rows = [r for r in doc["processes"] if r["pid"] == pid]
    assert len(rows) == 1, (pid, rows)
    return rows[0]


def check_against_rollup(row, truth):
    # what other processes cannot change: exact
    assert row["rss"] == truth["Rss"], (row["rss"], truth["Rss"])
    assert row["swap"] == truth["Swap"]
    assert row["thp"] == truth["AnonHugePages"]
    assert row["private_dirty"] == truth["Private_Dirty"]
    assert row["shared"] + row["private"] == truth["Rss"]
    # clean file pages turn from private to shared while memscope maps the
    # same libraries, and PSS divides them by one more: bounded by those pages
    clean = truth["Shared_Clean"] + truth["Private_Clean"]
    assert abs(row["private"] - (truth["Private_Clean"] + truth["Private_Dirty"])) <= clean
    assert abs(row["pss"] - truth["Pss"]) <= clean // 2 + 4 * KB, (row["pss"], truth["Pss"])


def test_ps_matches_smaps_rollup():
    with Fixture("bigmem", 32) as fx:
        doc = memscope_json("ps", fx.pid, check=False)
        truth = rollup(fx.pid)
        row = row_of(doc, fx.pid)
        assert row["detail"] and row["comm"] == "bigmem" and not row["kernel_thread"]
        check_against_rollup(row, truth)
        with open(f"/proc/{fx.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        assert row["ppid"] == int(fields[1]) and row["vsz"] == int(fields[20])
        # idle in read(); just after starting it may still have been running
        assert row["state"] in "RS" and row["st"] == {"R": "RU", "S": "IN"}[row["state"]]
        assert row["rss"] >= 32 << 20
        # the text line says the same, in KiB
        p = memscope("ps", fx.pid, check=False)
        lines = p.stdout.splitlines()
        assert lines[0].split() == ["PID", "PPID", "CPU", "ST", "%MEM", "VSZ", "RSS", "PSS",
                                    "SHARED", "PRIVATE", "SWAP", "THP", "COMM"]
        cols = lines[1].split()
        assert int(cols[0]) == fx.pid and cols[3] in ("IN", "RU") and cols[-1] == "bigmem"
        assert int(cols[5]) == row["vsz"] // KB and int(cols[6]) == truth["Rss"] // KB
        mstest.assert_running_untraced(fx.pid)


def test_ps_counts_transparent_huge_pages():
    with open("/sys/kernel/mm/transparent_hugepage/enabled") as f:
        if "[never]" in f.read():
            raise mstest.Skip("THP disabled")
    with Fixture("bigmem", 32, "thp") as fx:
        truth = rollup(fx.pid)
        if not truth["AnonHugePages"]:
            raise mstest.Skip("no huge page was given to the fixture")
        row = row_of(memscope_json("ps", fx.pid, check=False), fx.pid)
        assert row["thp"] == truth["AnonHugePages"]


def test_ps_lists_every_process_and_kernel_thread():
    before = {int(d) for d in os.listdir("/proc") if d.isdigit()}
    doc = memscope_json("ps", check=False)
    after = {int(d) for d in os.listdir("/proc") if d.isdigit()}
    pids = {r["pid"] for r in doc["processes"]}
    # a process that was there before and after was there all along: listed
    missing = (before & after) - pids
    assert len(missing) <= 1, missing  # (one pid reused meanwhile, at most)
    kthreads = {r["pid"] for r in doc["processes"] if r["kernel_thread"]}
    assert 2 in kthreads  # kthreadd
    k = memscope("ps", "-k", check=False).stdout.splitlines()[1:]
    assert k and all(l.split()[-1].startswith("[") for l in k)
    u = memscope_json("ps", "-u", check=False)
    assert u["processes"] and not any(r["kernel_thread"] for r in u["processes"])


def test_ps_filters_by_pid_and_command():
    with Fixture("symfix") as a, Fixture("memfix") as b:
        doc = memscope_json("ps", a.pid, "memfi*", check=False)
        pids = [r["pid"] for r in doc["processes"]]
        assert a.pid in pids and b.pid in pids, pids
        for r in doc["processes"]:  # other memfix processes may run too
            assert r["pid"] == a.pid or r["comm"].startswith("memfi"), r
        p = memscope("ps", "no-such-command-xyz", check=False)
        assert p.returncode == 1 and "no process matches" in p.stderr


def test_ps_threads():
    with Fixture("symfix") as fx:
        doc = memscope_json("ps", "-L", fx.pid, check=False)
        tids = sorted(r["pid"] for r in doc["processes"])
        assert tids == sorted(int(t) for t in os.listdir(f"/proc/{fx.pid}/task"))
        assert set(fx["tids"]) < set(tids)
        assert all(r["tgid"] == fx.pid for r in doc["processes"])
        # threads share the process's memory
        assert len({r["rss"] for r in doc["processes"]}) == 1


def test_ps_sorts():
    doc = memscope_json("ps", "--sort", "rss", check=False)
    rss = [r["rss"] for r in doc["processes"]]
    assert rss == sorted(rss, reverse=True)


def test_ps_without_root_shows_what_it_can():
    if not mstest.IS_ROOT:
        raise mstest.Skip("needs root to run as another user")
    with Fixture("bigmem", 8) as mine, Fixture("bigmem", 8, user=NOBODY) as theirs:
        p = memscope("--json", "ps", mine.pid, theirs.pid, user=NOBODY, check=False)
        assert p.returncode == 1, p
        assert "1 process could not be read in detail" in p.stderr, p.stderr
        doc = json.loads(p.stdout)
        root_row, own_row = row_of(doc, mine.pid), row_of(doc, theirs.pid)
        # another user's process: what status says, and no breakdown (null, not 0)
        assert not root_row["detail"] and root_row["pss"] is None
        status = mstest.proc_status(mine.pid)
        assert root_row["rss"] == int(status["VmRSS"].split()[0]) * KB
        # its own: the whole breakdown
        assert own_row["detail"]
        check_against_rollup(own_row, rollup(theirs.pid))
        text = memscope("ps", mine.pid, user=NOBODY, check=False).stdout
        assert text.splitlines()[1].split()[7:10] == ["-", "-", "-"], text


def test_ps_survives_processes_that_come_and_go():
    churn = subprocess.Popen(["sh", "-c", "while :; do /bin/true & /bin/true; done"])
    try:
        for _ in range(5):
            p = memscope("ps", check=False)
            assert p.returncode in (0, 1), p
            for line in p.stderr.splitlines():
                assert "could not be read in detail" in line, p.stderr
    finally:
        churn.kill()
        churn.wait()


def test_ps_bad_input():
    for args, msg in ((("--sort", "bogus"), "--sort takes"),
                      (("-k", "-u"), "exclusive"),
                      (("-Z",), "invalid option")):
        p = memscope("ps", *args, check=False)
        assert p.returncode == 64 and msg in p.stderr, (args, p.stderr)


if __name__ == "__main__":
    mstest.main()
