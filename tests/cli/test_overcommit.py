"""overcommit and overcommit --what-if, against the kernel's own files and
real mmap attempts made by a child process (the mmaptry fixture). Mode 2 is
tested in test_overcommit_strict.py, which changes the sysctls."""
import os
import re

import mstest
from mstest import Fixture, memscope, memscope_json

PAGE = mstest.PAGE
NOBODY = "65534"


def sysctl(name):
    with open(f"/proc/sys/vm/{name}") as f:
        return int(f.read())


def meminfo():
    out = {}
    with open("/proc/meminfo") as f:
        for line in f:
            key, _, rest = line.partition(":")
            parts = rest.split()
            value = int(parts[0])
            out[key] = value * 1024 if len(parts) > 1 and parts[1] == "kB" else value
    return out


def commit_limit_pages():
    """vm_commit_limit(), recomputed here from meminfo and the sysctls."""
    mi = meminfo()
    kbytes = sysctl("overcommit_kbytes")
    if kbytes:
        allowed = kbytes >> (PAGE.bit_length() - 1 - 10)
    else:
        hugetlb = mi.get("Hugetlb", mi["HugePages_Total"] * mi["Hugepagesize"])
        allowed = (mi["MemTotal"] // PAGE - hugetlb // PAGE) * sysctl("overcommit_ratio") // 100
    return allowed + mi["SwapTotal"] // PAGE


def accounted_bytes(pid):
    """What a process adds to Committed_AS: its VMAs with VM_ACCOUNT ("ac")."""
    total = size = 0
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            m = re.match(r"^([0-9a-f]+)-([0-9a-f]+) ", line)
            if m:
                size = int(m.group(2), 16) - int(m.group(1), 16)
            elif line.startswith("VmFlags:") and "ac" in line.split()[1:]:
                total += size
    return total


class Trier(Fixture):
    """mmaptry: real mmap attempts on command."""

    def __init__(self, **kw):
        super().__init__("mmaptry", **kw)

    def map(self, size, flags="private"):
        self.send(f"map {size} {flags}\n")
        return self.readline()["ok"]

    def grow(self, size):
        self.send(f"grow {size}\n")
        return self.readline()


def what_if(size, flags, pid, user=None):
    args = ["--json", "overcommit", "--what-if", size, "--pid", pid, "--top", "0"]
    for f in flags.split(","):
        if f in ("shared", "noreserve", "readonly"):
            args.append("--" + f)
    p = memscope(*args, check=False, user=user)
    assert p.returncode in (0, 1), p.stderr
    import json
    doc = json.loads(p.stdout)
    assert (p.returncode == 0) == doc["succeeds"], "exit status and verdict disagree"
    return doc


def test_settings_match_kernel():
    before = meminfo()["Committed_AS"]
    doc = memscope_json("overcommit", "--top", "0")
    assert doc["mode"] == sysctl("overcommit_memory")
    assert doc["overcommit_ratio"] == sysctl("overcommit_ratio")
    assert doc["overcommit_kbytes"] == sysctl("overcommit_kbytes")
    assert doc["admin_reserve_kbytes"] == sysctl("admin_reserve_kbytes")
    assert doc["user_reserve_kbytes"] == sysctl("user_reserve_kbytes")
    assert doc["page_size"] == PAGE
    limit = doc["commit_limit"]
    mi = meminfo()
    assert limit["kernel_pages"] == mi["CommitLimit"] // PAGE
    assert limit["computed_pages"] == commit_limit_pages()
    assert limit["computed_pages"] == limit["kernel_pages"] and limit["match"]
    assert limit["ram_pages"] == mi["MemTotal"] // PAGE
    assert limit["swap_pages"] == mi["SwapTotal"] // PAGE
    # Committed_AS moves with every process on the machine (other tests' big
    # fixtures among them): a band around memscope's read, not a digit
    after = meminfo()["Committed_AS"]
    lo, hi = min(before, mi["Committed_AS"], after), max(before, mi["Committed_AS"], after)
    slack = 256 << 20
    assert lo - slack <= doc["committed_as_bytes"] <= hi + slack
    assert doc["headroom_pages"] == limit["computed_pages"] - doc["committed_as_pages"]
    assert [m["mode"] for m in doc["modes"]] == [0, 1, 2]


def test_text_shows_formula():
    out = memscope("overcommit", "--top", "0").stdout
    mode = sysctl("overcommit_memory")
    assert re.search(rf"^Overcommit mode {mode} \(", out, re.M)
    m = re.search(r"= CommitLimit, computed\s+(\d+)", out)
    assert m and int(m.group(1)) == commit_limit_pages()
    m = re.search(r"CommitLimit, kernel\s+(\d+)", out)
    assert m and int(m.group(1)) == meminfo()["CommitLimit"] // PAGE


def test_top_committers_sum_accounted_vmas():
    with Fixture("thpfix") as fx:
        truth = accounted_bytes(fx.pid)
        doc = memscope_json("overcommit", "--top", "100000")
        top = doc["top_committers"]
        row = [r for r in top["list"] if r["pid"] == fx.pid]
        assert row, f"fixture {fx.pid} missing from the committers"
        assert row[0]["committed_bytes"] == truth
        assert row[0]["comm"] == "thpfix"
        # 27 MiB of private writable mappings, at least
        assert truth >= 27 << 20
        listed = [r["committed_bytes"] for r in top["list"]]
        assert listed == sorted(listed, reverse=True)
        mstest.assert_running_untraced(fx.pid)


def test_what_if_mode0_against_real_mmap():
    if sysctl("overcommit_memory") != 0:
        raise mstest.Skip("the machine is not in mode 0 now")
    mi = meminfo()
    limit = (mi["MemTotal"] + mi["SwapTotal"]) // PAGE  # totalram + swap pages
    with Trier() as t:
        cases = []
        for size in (limit * PAGE, limit * PAGE + 1, (limit + 1) * PAGE, 1 << 30, 64 << 40):
            for flags in ("private", "private,noreserve", "private,readonly", "shared",
                          "shared,noreserve"):
                cases.append((size, flags))
        for size, flags in cases:
            doc = what_if(size, flags, t.pid)
            real = t.map(size, flags)
            assert doc["succeeds"] == real, \
                f"mmap({size}, {flags}): memscope says {doc['verdict']}, kernel says " \
                f"{'ok' if real else 'ENOMEM'}"
            if size > limit * PAGE and "noreserve" not in flags and "readonly" not in flags \
                    and size < 1 << 45:
                assert doc["verdict"] == "more than RAM + swap"
        mstest.assert_running_untraced(t.pid)


def test_what_if_address_space_against_real_mmap():
    """Past RAM + swap only MAP_NORESERVE gets through in mode 0: then the
    address space decides."""
    if sysctl("overcommit_memory") == 2:
        raise mstest.Skip("mode 2 now")
    with Trier() as t:
        gap = what_if(PAGE, "private,noreserve", t.pid)["process"]["largest_gap"]
        assert gap and gap > 1 << 40
        for size, expect in ((gap - (1 << 30), True), (gap + (1 << 30), False),
                             (200 << 40, False)):
            doc = what_if(size, "private,noreserve", t.pid)
            assert t.map(size, "private,noreserve") == expect
            assert doc["succeeds"] == expect, doc["reason"]
            assert not doc["borderline"]
        assert what_if(200 << 40, "private,noreserve", t.pid)["verdict"] == \
            "larger than the address space"
        # the last page before the end of the range: said to be borderline
        assert what_if(gap, "private,noreserve", t.pid)["borderline"]


def test_charged_kinds_follow_the_mode():
    doc = what_if("1M", "private", os.getpid())
    kinds = {k["kind"]: k["charged"] for k in doc["charged_kinds"]}
    strict = sysctl("overcommit_memory") == 2
    assert kinds == {
        "private writable": True,
        "private read-only": False,
        "private MAP_NORESERVE": strict,
        "shared anonymous": True,
        "shared anonymous MAP_NORESERVE": strict,
    }


def vmflags_at(pid, addr):
    with open(f"/proc/{pid}/smaps") as f:
        inside = False
        for line in f:
            m = re.match(r"^([0-9a-f]+)-([0-9a-f]+) ", line)
            if m:
                inside = int(m.group(1), 16) == addr
            elif inside and line.startswith("VmFlags:"):
                return line.split()[1:]
    raise AssertionError(f"no mapping at {addr:#x} in {pid}")


def test_charge_rule_against_the_kernel():
    """Whether memscope says a kind of mapping is charged, against what the
    kernel did: VM_ACCOUNT ("ac") on private mappings, and for a shared
    anonymous one (charged as a shmem object, no "ac") Committed_AS moving
    by its size."""
    size = 4 << 30
    with Trier() as t:
        for flags in ("private", "private,noreserve", "private,readonly"):
            said = what_if(size, flags, t.pid)["charged"]
            t.send(f"hold {size} {flags}\n")
            r = t.readline()
            assert r["ok"]
            assert said == ("ac" in vmflags_at(t.pid, r["addr"])), flags
            t.send("release\n")
            t.readline()
        for flags in ("shared", "shared,readonly", "shared,noreserve"):
            said = what_if(size, flags, t.pid)["charged"]
            before = meminfo()["Committed_AS"]
            t.send(f"hold {size} {flags}\n")
            assert t.readline()["ok"]
            grew = meminfo()["Committed_AS"] - before
            t.send("release\n")
            t.readline()
            # other processes move Committed_AS too: half the size decides
            assert said == (grew > size // 2), (flags, grew)


def test_what_if_process_facts():
    with Trier() as t:
        doc = what_if("4k", "private", t.pid)
        proc = doc["process"]
        st = mstest.proc_status(t.pid)
        assert proc["pid"] == t.pid and proc["comm"] == "mmaptry"
        assert proc["total_vm_pages"] == int(st["VmSize"].split()[0]) * 1024 // PAGE
        assert proc["cap_sys_admin"] == bool(int(st["CapEff"], 16) >> 21 & 1)
        assert doc["pages"] == 1 and doc["size"] == 4096


def test_what_if_text_and_exit_status():
    mi = meminfo()
    too_big = mi["MemTotal"] + mi["SwapTotal"] + (1 << 30)
    p = memscope("overcommit", "--what-if", "1G", "--top", "0", check=False)
    assert p.returncode == 0 and "verdict  SUCCEEDS" in p.stdout
    if sysctl("overcommit_memory") == 0:
        p = memscope("overcommit", "--what-if", too_big, "--top", "0", check=False)
        assert p.returncode == 1 and "verdict  FAILS" in p.stdout
        assert "RAM + swap" in p.stdout


def test_what_if_as_nobody():
    with Trier(user=NOBODY) as t:
        doc = what_if("1G", "private", t.pid, user=NOBODY)
        assert doc["process"]["cap_sys_admin"] is False
        assert doc["succeeds"] == t.map(1 << 30)
    if mstest.IS_ROOT:
        # another user's process: status and limits are readable, maps is not
        with Trier() as t:
            doc = what_if("1G", "private", t.pid, user=NOBODY)
            assert doc["process"]["largest_gap"] is None
            p = memscope("overcommit", "--top", "3", user=NOBODY)
            assert "not readable" in p.stderr


def test_bad_input():
    cases = [
        (["--what-if", "abc"], 64, "is not a size"),
        (["--what-if", "-5G"], 64, "negative"),
        (["--what-if", "0"], 64, "more than 0"),
        (["--what-if", "12Q"], 64, "is not a size"),
        (["--what-if", "1G", "--pid", "abc"], 64, "invalid process id"),
        (["--what-if", "1G", "--pid", "-3"], 64, "invalid process id"),
        (["--shared"], 64, "go with --what-if"),
        (["--top", "x"], 64, "invalid count"),
        (["extra"], 64, "unexpected argument"),
        (["--bogus"], 64, ""),
    ]
    for args, status, text in cases:
        p = memscope("overcommit", *args, check=False)
        assert p.returncode == status, (args, p.returncode, p.stderr)
        assert text in p.stderr, (args, p.stderr)
        assert p.stderr.startswith("memscope: overcommit: ") or "unrecognized" in p.stderr
    pid = 4000000
    while os.path.exists(f"/proc/{pid}"):
        pid += 1
    p = memscope("overcommit", "--what-if", "1G", "--pid", pid, check=False)
    assert p.returncode == 2 and p.stderr.strip() == f"memscope: overcommit: no process {pid}"
    # a kernel thread has no address space to map into
    p = memscope("overcommit", "--what-if", "1G", "--pid", 2, "--top", "0", check=False)
    assert p.returncode != 0 and "no user address space" in p.stderr


if __name__ == "__main__":
    mstest.main()
