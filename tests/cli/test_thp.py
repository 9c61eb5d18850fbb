"""thp against /sys/kernel/mm/transparent_hugepage, /proc/vmstat and the
smaps of the thpfix fixture, all read here."""
import glob
import os
import re

import mstest
from mstest import Fixture, memscope, memscope_json

THP = "/sys/kernel/mm/transparent_hugepage"
NOBODY = "65534"


def choice(path):
    with open(path) as f:
        text = f.read()
    m = re.search(r"\[([^\]]+)\]", text)
    return m.group(1) if m else text.strip()


def vmstat():
    with open("/proc/vmstat") as f:
        return {k: int(v) for k, v in (line.split() for line in f)}


def require_thp():
    if not os.path.isdir(THP):
        raise mstest.Skip("no transparent huge pages in this kernel")


def pmd_mode():
    """The mode for PMD-size pages, "inherit" resolved, read here."""
    size = int(open(f"{THP}/hpage_pmd_size").read()) // 1024
    path = f"{THP}/hugepages-{size}kB/enabled"
    if os.path.exists(path):
        mode = choice(path)
        if mode != "inherit":
            return mode
    return choice(f"{THP}/enabled")


def smaps_vmas(pid):
    """{start: {"AnonHugePages": bytes, "THPeligible": n, "VmFlags": [...]}}"""
    out, cur = {}, None
    with open(f"/proc/{pid}/smaps") as f:
        for line in f:
            m = re.match(r"^([0-9a-f]+)-([0-9a-f]+) (\S+)", line)
            if m:
                cur = out.setdefault(int(m.group(1), 16), {"end": int(m.group(2), 16),
                                                           "perms": m.group(3)})
            elif line.startswith("VmFlags:"):
                cur["VmFlags"] = line.split()[1:]
            else:
                k, _, v = line.partition(":")
                parts = v.split()
                if parts:
                    cur[k] = int(parts[0]) * (1024 if parts[1:] == ["kB"] else 1)
    return out


def test_settings_against_sysfs():
    require_thp()
    before = vmstat()
    doc = memscope_json("thp", "--top", "0")
    after = vmstat()
    s = doc["settings"]
    assert s["enabled"] == choice(f"{THP}/enabled")
    assert s["defrag"] == choice(f"{THP}/defrag")
    if os.path.exists(f"{THP}/shmem_enabled"):
        assert s["shmem_enabled"] == choice(f"{THP}/shmem_enabled")
    assert s["use_zero_page"] == int(open(f"{THP}/use_zero_page").read())
    assert s["pmd_size"] == int(open(f"{THP}/hpage_pmd_size").read())
    assert s["pmd_enabled"] == pmd_mode()
    dirs = sorted(glob.glob(f"{THP}/hugepages-*kB"),
                  key=lambda d: int(re.search(r"(\d+)kB$", d).group(1)))
    assert [z["size_kb"] for z in s["sizes"]] == \
        [int(re.search(r"(\d+)kB$", d).group(1)) for d in dirs]
    for z, d in zip(s["sizes"], dirs):
        if os.path.exists(f"{d}/enabled"):
            assert z["enabled"] == choice(f"{d}/enabled")
        else:
            assert z["enabled"] is None
        if os.path.exists(f"{d}/shmem_enabled"):
            assert z["shmem_enabled"] == choice(f"{d}/shmem_enabled")
        stats = sorted(os.listdir(f"{d}/stats")) if os.path.isdir(f"{d}/stats") else []
        assert sorted(z["stats"]) == stats
        for name in ("nr_anon", "split"):
            if name in stats:
                assert z["stats"][name] >= 0
    for name in os.listdir(f"{THP}/khugepaged"):
        text = open(f"{THP}/khugepaged/{name}").read().strip()
        if text.isdigit() and name not in ("full_scans", "pages_collapsed"):
            assert s["khugepaged"][name] == int(text), name
    # counters: every thp_* and compact_* of vmstat, between two reads
    assert sorted(doc["counters"]) == sorted(k for k in before if k.startswith("thp_"))
    assert sorted(doc["compaction"]) == sorted(k for k in before if k.startswith("compact_"))
    for k, v in doc["counters"].items():
        assert before[k] <= v <= after[k], k


def test_buddy_against_buddyinfo():
    require_thp()
    doc = memscope_json("thp", "--top", "0")
    order = doc["buddy"]["order"]
    assert 1 << order == doc["settings"]["pmd_size"] // mstest.PAGE
    free = 0
    with open("/proc/buddyinfo") as f:
        for line in f:
            counts = [int(x) for x in line.split()[4:]]
            free += sum(counts[order:])
    # free lists move as other processes allocate: the same order of size
    assert abs(doc["buddy"]["free_blocks"] - free) <= max(16, free // 10)


def test_top_users_against_smaps_rollup():
    require_thp()
    if pmd_mode() == "never":
        raise mstest.Skip("THP disabled for PMD-size pages here")
    with Fixture("thpfix") as fx:
        with open(f"/proc/{fx.pid}/smaps_rollup") as f:
            truth = int(re.search(r"^AnonHugePages:\s+(\d+) kB", f.read(), re.M).group(1))
        doc = memscope_json("thp", "--top", "100000")
        rows = [r for r in doc["top"]["list"] if r["pid"] == fx.pid]
        if truth == 0:
            assert not rows
            raise mstest.Skip("the fixture got no huge page (no free 2 MiB block?)")
        assert rows and rows[0]["anon_huge_bytes"] == truth * 1024
        assert rows[0]["comm"] == "thpfix"
        listed = [r["anon_huge_bytes"] + r["shmem_pmd_bytes"] + r["file_pmd_bytes"]
                  for r in doc["top"]["list"]]
        assert listed == sorted(listed, reverse=True)
        mstest.assert_running_untraced(fx.pid)


def expected_blocks(fx, start, vma, mode):
    """What keeps this mapping from PMD-size pages, derived here."""
    flags = vma["VmFlags"]
    blocks = set()
    if "nh" in flags:
        blocks.add("nohugepage")
    if mode == "never":
        blocks.add("never")
    elif mode == "madvise" and "hg" not in flags:
        blocks.add("needs-madvise")
    pmd = 2 << 20
    first = (start + pmd - 1) // pmd * pmd
    if first + pmd > vma["end"]:
        blocks.add("too-small")
    return blocks


def test_pid_reasons_against_smaps():
    require_thp()
    mode = pmd_mode()
    with Fixture("thpfix") as fx:
        truth = smaps_vmas(fx.pid)
        doc = memscope_json("thp", "--pid", fx.pid)
        proc = doc["process"]
        assert proc["pid"] == fx.pid and proc["comm"] == "thpfix"
        assert proc["thp_enabled"] is True
        vmas = {int(v["start"], 16): v for v in proc["vmas"]}
        for name in ("huge", "plain", "small", "nohuge", "misaligned"):
            start = fx[name]
            v, t = vmas[start], truth[start]
            assert int(v["end"], 16) == t["end"], name
            assert v["anon_huge_bytes"] == t["AnonHugePages"], name
            assert v["eligible"] == bool(t["THPeligible"]), name
            assert v["madv_hugepage"] == ("hg" in t["VmFlags"])
            want = expected_blocks(fx, start, t, mode)
            got = set(v["blocks"]) - {"fragmented"}
            assert got == want, (name, got, want)
        assert proc["anon_huge_bytes"] == sum(t.get("AnonHugePages", 0) for s, t in
                                              truth.items() if s in vmas)
        # frag's verdict for a PMD-order allocation rides along
        assert proc["pmd_allocation_now"] in ("succeeds", "fails: not enough free memory",
                                              "fails: fragmented")
        # PROT_NONE holes are not candidates
        assert all(v["perms"] != "---p" for v in proc["vmas"])
        if mode != "never" and truth[fx["huge"]]["AnonHugePages"]:
            assert vmas[fx["huge"]]["blocks"] == []
        mstest.assert_running_untraced(fx.pid)
        text = memscope("thp", "--pid", fx.pid, "--all").stdout
        assert f"Process {fx.pid} (thpfix)" in text
        assert re.search(rf"^\s+{fx['small']:x}\s.*too-small", text, re.M)


def test_prctl_disable():
    require_thp()
    with Fixture("thpfix", "prctl") as fx:
        assert mstest.proc_status(fx.pid)["THP_enabled"] == "0"
        doc = memscope_json("thp", "--pid", fx.pid)
        proc = doc["process"]
        assert proc["thp_enabled"] is False
        assert proc["anon_huge_bytes"] == 0
        for v in proc["vmas"]:
            assert "prctl" in v["blocks"]
        assert "prctl" in proc["explanations"]


def test_global_pid_and_nobody():
    require_thp()
    with Fixture("thpfix", user=NOBODY) as fx:
        doc = memscope_json("-p", fx.pid, "thp", user=NOBODY)
        assert doc["process"]["pid"] == fx.pid
    if mstest.IS_ROOT:
        with Fixture("thpfix") as fx:
            p = memscope("thp", "--pid", fx.pid, user=NOBODY, check=False)
            assert p.returncode == 2
            assert p.stderr.startswith("memscope: thp: ") and "ermission denied" in p.stderr
            mstest.assert_running_untraced(fx.pid)


def test_bad_input():
    for args, status, text in ((["--pid", "abc"], 64, "invalid process id"),
                               (["--pid", "0"], 64, "invalid process id"),
                               (["--top", "-1"], 64, "invalid count"),
                               (["extra"], 64, "unexpected argument")):
        p = memscope("thp", *args, check=False)
        assert p.returncode == status, (args, p.returncode, p.stderr)
        assert text in p.stderr
    pid = 4000000
    while os.path.exists(f"/proc/{pid}"):
        pid += 1
    p = memscope("thp", "--pid", pid, check=False)
    assert p.returncode == 2 and p.stderr.strip() == f"memscope: thp: no process {pid}"
    p = memscope("thp", "--pid", 2, check=False)  # kthreadd
    assert p.returncode != 0 and "no user address space" in p.stderr


if __name__ == "__main__":
    mstest.main()
