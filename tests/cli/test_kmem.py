"""kmem -i against /proc/meminfo and the hugetlb pools, read here."""
import glob
import os
import re

import mstest
from mstest import memscope, memscope_json
from test_overcommit import meminfo

PAGE = mstest.PAGE
ROWS = ["TOTAL MEM", "FREE", "USED", "SHARED", "BUFFERS", "CACHED", "SLAB", "TOTAL HUGE",
        "HUGE FREE", "TOTAL SWAP", "SWAP USED", "SWAP FREE", "COMMIT LIMIT", "COMMITTED"]


def hugetlb_pages():
    total = free = 0
    for d in glob.glob("/sys/kernel/mm/hugepages/hugepages-*kB"):
        per = int(re.search(r"(\d+)kB$", d).group(1)) * 1024 // PAGE
        with open(os.path.join(d, "nr_hugepages")) as f:
            total += int(f.read()) * per
        with open(os.path.join(d, "free_hugepages")) as f:
            free += int(f.read()) * per
    return total, free


def within(value, before, after, slack):
    lo, hi = sorted((before, after))
    return lo - slack <= value <= hi + slack


def test_json_against_meminfo():
    before = meminfo()
    doc = memscope_json("kmem", "-i")
    after = meminfo()
    assert doc["page_size"] == PAGE
    # fixed while the machine runs: to the page
    assert doc["total_mem"]["pages"] == before["MemTotal"] // PAGE
    assert doc["total_swap"]["pages"] == before["SwapTotal"] // PAGE
    assert doc["commit_limit"]["pages"] == before["CommitLimit"] // PAGE
    total, free = hugetlb_pages()
    assert doc["total_huge"]["pages"] == total
    assert doc["huge_free"]["pages"] == free
    # moving with the other processes: within what moved during the call
    slack = 32 << 20
    for key, field in (("free", "MemFree"), ("shared", "Shmem"), ("buffers", "Buffers"),
                       ("cached", "Cached"), ("slab", "Slab"), ("committed", "Committed_AS"),
                       ("swap_free", "SwapFree")):
        assert within(doc[key]["bytes"], before[field], after[field], slack), key
    used = before["MemTotal"] - doc["free"]["bytes"]
    assert doc["used"]["bytes"] == used
    for key in ("free", "used", "shared", "buffers", "cached", "slab"):
        row = doc[key]
        assert row["of"] == "TOTAL MEM"
        assert row["percent"] == row["pages"] * 100 // doc["total_mem"]["pages"]  # truncated
        assert row["bytes"] == row["pages"] * PAGE
    assert doc["committed"]["of"] == "TOTAL LIMIT"
    assert doc["missing"] == []


def test_text_layout_as_crash():
    mi = meminfo()
    out = memscope("kmem", "-i").stdout
    lines = out.splitlines()
    assert re.match(r"^\s+PAGES\s+TOTAL\s+PERCENTAGE$", lines[0])
    labels = [m.group(1) for m in re.finditer(r"^\s+([A-Z][A-Z ]+?)\s+(\d+)\s", out, re.M)]
    assert labels == ROWS
    blank = [i for i, line in enumerate(lines) if not line.strip()]
    assert len(blank) == 3  # TOTAL HUGE, TOTAL SWAP and COMMIT LIMIT groups
    total = re.search(r"TOTAL MEM\s+(\d+)\s+(.+?)\s+----", out)
    assert int(total.group(1)) == mi["MemTotal"] // PAGE
    # crash's size style: one decimal and GB/MB/KB units
    assert re.fullmatch(r"\d+(\.\d)? (KB|MB|GB|TB)", total.group(2))
    assert re.search(r"FREE\s+\d+\s+\S+ \S+\s+\d+% of TOTAL MEM", out)
    assert re.search(r"COMMITTED\s+\d+\s+.+\d+% of TOTAL LIMIT", out)
    assert re.search(r"HUGE FREE\s+\d+\s+.+\d+% of TOTAL HUGE", out)


def test_as_nobody():
    doc = memscope_json("kmem", "-i", user="65534")
    assert doc["total_mem"]["pages"] == meminfo()["MemTotal"] // PAGE


def test_bad_input():
    for args, text in ((["kmem"], "only -i"), (["kmem", "-s"], ""),
                       (["kmem", "-i", "extra"], "unexpected argument")):
        p = memscope(*args, check=False)
        assert p.returncode == 64, (args, p.returncode)
        assert text in p.stderr


if __name__ == "__main__":
    mstest.main()
